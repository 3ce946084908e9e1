# The dashboard's tests. dashboard.routes (python3 standard library) checks the
# asset and history routes of `visionbench serve` without a browser.
# dashboard.e2e.* drive Debian's chromium with playwright-core (tests/dashboard/e2e.mjs);
# they build the dashboard with npm, skip (77) without Node.js, chromium or the
# shared data, share the build tree's web/ folder and run one at a time.
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND)
  add_test(NAME dashboard.routes
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_SOURCE_DIR}/tests/dashboard/test_routes.py)
  set_tests_properties(dashboard.routes PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                       LABELS dashboard TIMEOUT 60)
endif()
foreach(case main failed_model cancelled restart api_key)
  add_test(NAME dashboard.e2e.${case} COMMAND ${CMAKE_SOURCE_DIR}/tests/dashboard/run_e2e.sh ${case})
  set_tests_properties(dashboard.e2e.${case} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                       LABELS "dashboard;slow" TIMEOUT 420 RESOURCE_LOCK visionbench_dashboard_e2e)
endforeach()

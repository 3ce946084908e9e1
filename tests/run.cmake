# Tests of `visionbench run` on the shared models and datasets: a full two-model
# run, a model that crashes, runs out of memory, times out or does not load, a
# run killed while its model runs, the bad-inputs images, option errors, a
# classifier and the JSON schema check. The
# crash, oom and hang cases use test hooks read by the run module's child
# (src/run/child.c).
add_executable(check_run_json ${CMAKE_SOURCE_DIR}/tests/run/check_run_json.c)
target_link_libraries(check_run_json PRIVATE PkgConfig::JANSSON)

foreach(case full crash oom timeout killed bad_model bad_images options classifier class_map
             schema_rejects)
  add_test(NAME run.${case}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/run/run_case.sh ${case}
                   $<TARGET_FILE:check_run_json> ${CMAKE_SOURCE_DIR}/docs/run-schema.json)
  set_tests_properties(run.${case} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                       LABELS run TIMEOUT 600)
endforeach()
set_tests_properties(run.full PROPERTIES LABELS "run;slow" TIMEOUT 1200)

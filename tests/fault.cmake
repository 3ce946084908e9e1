# Fault injection (option VB_FAULT_INJECTION): every program is linked with
# `ld --wrap` wrappers (tests/fault/fault.c) that fail the Nth allocation or
# file access on request, and the fault tests sweep N over each loader and
# over one small `visionbench run`. Configure with -DVB_SANITIZE=ON as well,
# so that LeakSanitizer checks every error path for leaks.
option(VB_FAULT_INJECTION "Link with wrappers that fail the Nth allocation or file access" OFF)

if(VB_FAULT_INJECTION)
  add_library(vb_fault STATIC ${CMAKE_SOURCE_DIR}/tests/fault/fault.c)
  target_include_directories(vb_fault PUBLIC ${CMAKE_SOURCE_DIR}/tests)
  set(vb_wrapped malloc calloc realloc aligned_alloc posix_memalign strdup strndup
      open fopen read pread fread)
  set(vb_wrap_options "")
  foreach(fn ${vb_wrapped})
    list(APPEND vb_wrap_options "LINKER:--wrap=${fn}")
  endforeach()
  target_link_options(visionbench_lib INTERFACE ${vb_wrap_options})
  target_link_libraries(visionbench_lib PUBLIC vb_fault)

  add_executable(fault_sweep ${CMAKE_SOURCE_DIR}/tests/fault/fault_sweep.c)
  target_include_directories(fault_sweep PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR})
  target_compile_definitions(fault_sweep PRIVATE _POSIX_C_SOURCE=200809L)
  target_link_libraries(fault_sweep PRIVATE visionbench_lib)
  foreach(case onnx image png csv coco yolo voc results)
    add_test(NAME fault.${case} COMMAND fault_sweep ${case})
    set_tests_properties(fault.${case} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                         SKIP_RETURN_CODE 77 LABELS fault)
  endforeach()

  # The sampled sweep over `visionbench run` takes about a minute (run_sweep.sh).
  add_test(NAME fault.run COMMAND bash ${CMAKE_SOURCE_DIR}/tests/fault/run_sweep.sh)
  set_tests_properties(fault.run PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                       LABELS "fault;slow" TIMEOUT 1800)
endif()

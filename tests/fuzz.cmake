# Regression tests for inputs the fuzzers found: every fuzz/regressions/TARGET
# folder of .hex files is replayed through fuzz/fuzz_TARGET.c by a plain
# executable (fuzz/regress_main.c), so the normal and sanitizer builds check
# them without clang or libFuzzer.
file(GLOB vb_fuzz_regression_dirs LIST_DIRECTORIES true ${CMAKE_SOURCE_DIR}/fuzz/regressions/*)
foreach(dir ${vb_fuzz_regression_dirs})
  if(NOT IS_DIRECTORY ${dir})
    continue()
  endif()
  get_filename_component(target ${dir} NAME)
  add_executable(fuzz_regress_${target} ${CMAKE_SOURCE_DIR}/fuzz/fuzz_${target}.c
                 ${CMAKE_SOURCE_DIR}/fuzz/regress_main.c)
  target_include_directories(fuzz_regress_${target} PRIVATE ${CMAKE_SOURCE_DIR}/fuzz)
  target_compile_definitions(fuzz_regress_${target} PRIVATE _GNU_SOURCE)
  target_link_libraries(fuzz_regress_${target} PRIVATE visionbench_lib)
  add_test(NAME fuzz.regress.${target} COMMAND fuzz_regress_${target} ${dir})
  set_tests_properties(fuzz.regress.${target} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                       LABELS fuzz)
endforeach()

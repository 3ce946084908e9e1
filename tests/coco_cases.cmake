# COCO evaluation reference cases: two CTest tests per case folder under
# ${VB_SHARED_DIR}/coco-cases. coco.CASE evaluates in-process and
# coco_cli.CASE runs `visionbench eval --json`; both compare with the
# pycocotools numbers in the case's expected.json to 1e-9.

add_executable(coco_case ${CMAKE_SOURCE_DIR}/tests/coco/coco_case.c)
target_include_directories(coco_case PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(coco_case PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(coco_case PRIVATE visionbench_lib)

file(GLOB VB_COCO_CASES LIST_DIRECTORIES true ${VB_SHARED_DIR}/coco-cases/*)
list(FILTER VB_COCO_CASES INCLUDE REGEX "/[^/.]+$")
set(VB_COCO_CASE_FOUND FALSE)
foreach(case_dir ${VB_COCO_CASES})
  if(IS_DIRECTORY ${case_dir} AND EXISTS ${case_dir}/expected.json)
    get_filename_component(case_name ${case_dir} NAME)
    add_test(NAME coco.${case_name} COMMAND coco_case ${case_dir})
    set_tests_properties(coco.${case_name} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                         SKIP_RETURN_CODE 77 LABELS coco)
    set(report ${CMAKE_CURRENT_BINARY_DIR}/coco_cli_${case_name}.json)
    add_test(NAME coco_cli.${case_name}
             COMMAND sh -c "\"$0\" eval --gt \"$1/gt.json\" --dets \"$1/dets.json\" --bootstrap 0 --json \"$2\" >/dev/null && \"$3\" \"$1\" \"$2\""
                     $<TARGET_FILE:visionbench> ${case_dir} ${report} $<TARGET_FILE:coco_case>)
    set_tests_properties(coco_cli.${case_name} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                         SKIP_RETURN_CODE 77 LABELS coco)
    set(VB_COCO_CASE_FOUND TRUE)
  endif()
endforeach()
if(NOT VB_COCO_CASE_FOUND)
  add_test(NAME coco.cases_absent
           COMMAND sh -c "echo 'skipped: no COCO cases in ${VB_SHARED_DIR}/coco-cases'; exit 77")
  set_tests_properties(coco.cases_absent PROPERTIES SKIP_RETURN_CODE 77 LABELS coco)
endif()

# The COCO evaluation benchmark; bench/bench_coco.sh builds and runs it.
add_executable(bench_coco ${CMAKE_SOURCE_DIR}/bench/bench_coco.c)
target_include_directories(bench_coco PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(bench_coco PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(bench_coco PRIVATE visionbench_lib)

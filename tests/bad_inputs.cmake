# One CTest test per file of the shared bad-input set (images, CSV, COCO
# JSON, YOLO case folders). Each runs the module's unit test executable on
# that case only, so a failure names the file. The cases are found when CMake
# configures; without the shared folder none are registered and the unit
# tests, which cover the same cases, report themselves as skipped.
set(VB_BAD_INPUTS_DIR ${VB_SHARED_DIR}/datasets/bad-inputs)

function(vb_add_bad_input_tests kind pattern executable)
  file(GLOB cases RELATIVE ${VB_BAD_INPUTS_DIR}/${kind} ${VB_BAD_INPUTS_DIR}/${kind}/${pattern})
  foreach(case_name ${cases})
    set(test_name bad_input.${kind}.${case_name})
    add_test(NAME ${test_name} COMMAND ${executable} ${case_name})
    set_tests_properties(${test_name} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                         SKIP_RETURN_CODE 77 LABELS bad_input)
  endforeach()
endfunction()

vb_add_bad_input_tests(images "*" test_image_decode)
vb_add_bad_input_tests(csv "*.csv" test_dataset_csv)
vb_add_bad_input_tests(coco "*.json" test_dataset_coco)
vb_add_bad_input_tests(yolo "*" test_dataset_yolo)

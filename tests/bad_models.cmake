# CLI tests of `visionbench inspect` on broken model files: each must exit
# with status 1 and one error line naming the problem, never crash. The
# files are generated at test time into the build tree by make_bad_models
# (the truncated ones from a copy of yolov8n.onnx in ${VB_SHARED_DIR}).

add_executable(make_bad_models ${CMAKE_SOURCE_DIR}/tests/bad_models/make_bad_models.c)
target_include_directories(make_bad_models PRIVATE ${CMAKE_SOURCE_DIR}/tests)
target_compile_definitions(make_bad_models PRIVATE _POSIX_C_SOURCE=200809L)

set(VB_BAD_MODELS_DIR ${CMAKE_BINARY_DIR}/bad_models)
add_test(NAME bad_models.generate
         COMMAND make_bad_models ${VB_BAD_MODELS_DIR} ${VB_SHARED_DIR}/models/yolov8n.onnx)
set_tests_properties(bad_models.generate PROPERTIES FIXTURES_SETUP vb_bad_models LABELS cli)

# Each case: file name, expected exit status, pattern the output must match.
set(VB_BAD_MODEL_CASES
  "empty|empty.onnx|1|is empty"
  "jpeg|jpeg.onnx|1|is a JPEG image, not an ONNX model"
  "huge_dim|huge_dim.onnx|1|tensor 'huge'.*4398046511104"
  "missing_external|missing_external.onnx|1|tensor 'weights'.*missing_weights.bin.*not found"
  "truncated_10|truncated_10.onnx|1|truncated at byte 10 "
  "truncated_1000|truncated_1000.onnx|1|truncated at byte 1000 "
  "truncated_half|truncated_half.onnx|1|truncated at byte"
  "truncated_last|truncated_last.onnx|1|truncated at byte"
  "good|good.onnx|0|x +float32 +\\[1, 3, height, width\\]"
)
foreach(case ${VB_BAD_MODEL_CASES})
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 case_name)
  list(GET fields 1 case_file)
  list(GET fields 2 case_status)
  list(SUBLIST fields 3 -1 pattern_parts)
  string(REPLACE ";" "|" case_pattern "${pattern_parts}")
  add_test(NAME bad_models.${case_name}
           COMMAND sh ${CMAKE_SOURCE_DIR}/tests/bad_models/expect_inspect.sh
                   $<TARGET_FILE:visionbench> ${VB_BAD_MODELS_DIR}/${case_file} ${case_status}
                   "${case_pattern}")
  set_tests_properties(bad_models.${case_name} PROPERTIES FIXTURES_REQUIRED vb_bad_models
                       SKIP_RETURN_CODE 77 ENVIRONMENT "${VB_TEST_ENV}" LABELS cli)
endforeach()

# With the open dimensions fixed by --shape, the engine loads the model and
# inspect reports its FLOPs estimate.
add_test(NAME bad_models.good_flops
         COMMAND sh ${CMAKE_SOURCE_DIR}/tests/bad_models/expect_inspect.sh
                 $<TARGET_FILE:visionbench> ${VB_BAD_MODELS_DIR}/good.onnx 0
                 "^FLOPs: [0-9]+ " --shape 1,3,32,32)
set_tests_properties(bad_models.good_flops PROPERTIES FIXTURES_REQUIRED vb_bad_models
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${VB_TEST_ENV}" LABELS cli)

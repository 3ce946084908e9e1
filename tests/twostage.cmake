# Two-stage detectors: data-dependent output lengths, If subgraphs,
# NonMaxSuppression and RoiAlign. The detections must match ONNX Runtime's
# as sets: same count and labels, boxes and scores within 1e-4 of the
# reference's largest value. Skipped (77) without the shared models.
add_executable(vb_compare_detections ${CMAKE_SOURCE_DIR}/tests/models/compare_detections.c)
target_link_libraries(vb_compare_detections PRIVATE ${MATH_LIBRARY})

add_test(NAME model.fasterrcnn
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/models/run_twostage.sh fasterrcnn_mobilenet_v3_320
                 $<TARGET_FILE:vb_compare_detections>)
set_tests_properties(model.fasterrcnn PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                     SKIP_RETURN_CODE 77 LABELS models)

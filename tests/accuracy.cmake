# End-to-end accuracy of the pretrained detectors of the model zoo (yolox_nano
# and FastestDet, both with COCO weights) on the shared street datasets:
# decode every image, preprocess with the family's recipe, run the engine,
# decode, NMS and evaluate with COCOeval. Each test checks a
# clearly non-zero car AP50 and draws ground truth (green) and detections
# with score >= 0.3 (red) on a few images into build/accuracy_png/NAME/.
# A missing model or dataset folder skips the test (exit 77).

add_executable(vb_accuracy ${CMAKE_SOURCE_DIR}/tests/accuracy/accuracy.c)
target_compile_definitions(vb_accuracy PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(vb_accuracy PRIVATE visionbench_lib)

# Each case: test name, model file, dataset folder, classes kept, minimum car AP50.
set(VB_ACCURACY_CASES
  "yolox_coco128|yolox_nano.onnx|coco128-street|car,truck,bus,motorcycle|0.1"
  "yolox_kaggle|yolox_nano.onnx|kaggle-car-video|car|0.5"
  "fastestdet_kaggle|FastestDet.onnx|kaggle-car-video|car|0.5"
)
foreach(case ${VB_ACCURACY_CASES})
  string(REPLACE "|" ";" fields "${case}")
  list(GET fields 0 case_name)
  list(GET fields 1 case_model)
  list(GET fields 2 case_dataset)
  list(GET fields 3 case_classes)
  list(GET fields 4 case_min_ap50)
  add_test(NAME accuracy.${case_name}
           COMMAND vb_accuracy ${VB_SHARED_DIR}/models/${case_model}
                   ${VB_SHARED_DIR}/datasets/${case_dataset} ${case_classes} ${case_min_ap50}
                   ${CMAKE_BINARY_DIR}/accuracy_png/${case_name} 4)
  set_tests_properties(accuracy.${case_name} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                       SKIP_RETURN_CODE 77 LABELS "accuracy;slow")
endforeach()

# Model equivalence tests: each shared model runs through `visionbench infer`
# and every output must match ONNX Runtime's reference within
# max|ours - ref| / max|ref| <= 1e-4, with 1 and 2 threads agreeing within
# 1e-6, once with the SIMD kernels and once without. Also the error cases of
# `visionbench infer`. Skipped (77) without the shared models.
add_executable(vb_compare_f32 ${CMAKE_SOURCE_DIR}/tests/models/compare_f32.c)
target_link_libraries(vb_compare_f32 PRIVATE ${MATH_LIBRARY})

foreach(model yolov5n yolov8n yolox_nano efficientnet_b0 FastestDet)
  add_test(NAME model.${model}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/models/run_model.sh ${model}
                   $<TARGET_FILE:vb_compare_f32>)
  set_tests_properties(model.${model} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                       SKIP_RETURN_CODE 77 LABELS models)
endforeach()

# The same comparison on the portable C kernels only (VB_NO_SIMD=1 is
# `visionbench infer --no-simd`), so the path without AVX2 or AVX-512 is
# checked on whole models too.
foreach(model yolov5n yolov8n yolox_nano efficientnet_b0 FastestDet)
  add_test(NAME model.nosimd.${model}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/models/run_model.sh ${model}
                   $<TARGET_FILE:vb_compare_f32>)
  set_tests_properties(model.nosimd.${model} PROPERTIES
                       ENVIRONMENT "${VB_TEST_ENV};VB_NO_SIMD=1"
                       SKIP_RETURN_CODE 77 LABELS models)
endforeach()

foreach(case unknown_op input_size tiny_model_runs shape_rank shape_fixed shape_syntax
             shared_input_size)
  add_test(NAME cli.infer.${case}
           COMMAND bash ${CMAKE_SOURCE_DIR}/tests/models/cli_infer_errors.sh ${case})
  set_tests_properties(cli.infer.${case} PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                       SKIP_RETURN_CODE 77 LABELS cli)
endforeach()

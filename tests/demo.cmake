# `visionbench demo` end to end: a short run on 8 generated scenes with every
# bundled model, which must all finish with status ok, and `visionbench synth`
# run twice giving identical files.
add_test(NAME demo.short
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/demo/demo_case.sh short)
add_test(NAME demo.synth_cli
         COMMAND bash ${CMAKE_SOURCE_DIR}/tests/demo/demo_case.sh synth_cli)
set_tests_properties(demo.short demo.synth_cli PROPERTIES ENVIRONMENT "${VB_TEST_ENV}"
                     SKIP_RETURN_CODE 77 LABELS demo TIMEOUT 600)

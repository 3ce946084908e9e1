# The ONNX backend node tests (Debian package libonnx-testdata): every test whose ops
# the engine claims must pass unless tests/onnx_node_skips.txt lists it with a reason.
# Skipped (exit 77) when the package is not installed.
add_executable(onnx_node_tests ${CMAKE_SOURCE_DIR}/tests/conformance/onnx_node_tests.c)
target_compile_definitions(onnx_node_tests PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(onnx_node_tests PRIVATE visionbench_lib)
add_test(NAME onnx.node COMMAND onnx_node_tests)
set_tests_properties(onnx.node PROPERTIES ENVIRONMENT "${VB_TEST_ENV}" SKIP_RETURN_CODE 77
                     LABELS conformance)

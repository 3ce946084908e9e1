# Kernel micro-benchmarks: built on request only (cmake --build <dir> --target bench_conv).
add_executable(bench_conv EXCLUDE_FROM_ALL ${CMAKE_SOURCE_DIR}/bench/bench_conv.c)
target_compile_definitions(bench_conv PRIVATE _POSIX_C_SOURCE=200809L)
target_link_libraries(bench_conv PRIVATE visionbench_lib)

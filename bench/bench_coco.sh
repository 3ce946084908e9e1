#!/bin/sh
# Builds bench_coco (Release) and times the COCO evaluation on the 500-image
# reference case; docs/benchmarks.md records its output.
# Usage: bench/bench_coco.sh [CASE_DIR] [RUNS]
# BUILD_DIR selects the build folder (default build-bench).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
case_dir=${1:-$root/../shared/coco-cases/s21_big_500img}
runs=${2:-51}
build=${BUILD_DIR:-$root/build-bench}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$build" --target bench_coco -j2 >/dev/null
"$build/bench_coco" "$case_dir" "$runs"

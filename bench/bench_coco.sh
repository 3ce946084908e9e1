#!/bin/sh
# Builds bench_coco in build-bench/ (Release) and times the COCO evaluation
# on the 500-image reference case; the output goes to docs/benchmarks.md.
# Usage: bench/bench_coco.sh [CASE_DIR] [RUNS]
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
case_dir=${1:-$root/../shared/coco-cases/s21_big_500img}
runs=${2:-21}
cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$root/build-bench" --target bench_coco -j2 >/dev/null
"$root/build-bench/bench_coco" "$case_dir" "$runs"

#!/usr/bin/env bash
# Runs a two-stage detector (boxes, labels, scores outputs of data-dependent
# length) through `visionbench infer` at 1 and 2 threads and compares each
# run with ONNX Runtime's reference as a set of detections.
# Usage: run_twostage.sh NAME COMPARE_DETECTIONS  (VB_CLI, VB_SHARED_DIR from CTest)
set -euo pipefail
name=$1
compare=$2
models=${VB_SHARED_DIR:-}/models
if [ ! -f "$models/$name.onnx" ]; then
  echo "skipped: $models/$name.onnx not found (set VB_SHARED_DIR)"
  exit 77
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

for threads in 1 2; do
  "$VB_CLI" infer --model "$models/$name.onnx" --input "$models/$name.input.f32" \
    --threads "$threads" --runs 2 --dump "$out/t$threads"
  "$compare" 1e-4 "$out/t$threads/" "$models/$name.out"
done

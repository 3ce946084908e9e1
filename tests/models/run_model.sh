#!/usr/bin/env bash
# Runs one shared model through `visionbench infer` at 1 and 2 threads and
# compares every output with ONNX Runtime's reference tensors.
# Usage: run_model.sh NAME COMPARE_F32  (VB_CLI and VB_SHARED_DIR from CTest)
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
    --threads "$threads" --dump "$out/t$threads"
done

# Reference output K is NAME.outK.f32, or its parts NAME.outK.partP.f32 in order.
k=0
while :; do
  refs=()
  if [ -f "$models/$name.out$k.f32" ]; then
    refs=("$models/$name.out$k.f32")
  else
    p=0
    while [ -f "$models/$name.out$k.part$p.f32" ]; do
      refs+=("$models/$name.out$k.part$p.f32")
      p=$((p + 1))
    done
  fi
  [ "${#refs[@]}" -gt 0 ] || break
  "$compare" --tol 1e-4 "$out/t1/$k.f32" "${refs[@]}"
  "$compare" --tol 1e-6 "$out/t2/$k.f32" "$out/t1/$k.f32"
  k=$((k + 1))
done
if [ "$k" -eq 0 ]; then
  echo "no reference outputs for $name in $models"
  exit 1
fi
dumped=$(find "$out/t1" -name '*.f32' | wc -l)
if [ "$dumped" -ne "$k" ]; then
  echo "$name: visionbench wrote $dumped outputs but there are $k reference outputs"
  exit 1
fi

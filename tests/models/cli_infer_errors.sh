#!/usr/bin/env bash
# Checks that `visionbench infer` rejects bad input with a non-zero exit and
# one line "visionbench: error: ..." that contains an expected phrase.
# Usage: cli_infer_errors.sh CASE  (VB_CLI, and VB_SHARED_DIR for the cases
# that use the shared models)
set -uo pipefail
case_name=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Writes a minimal ONNX model, y = OP(x) with x and y float32 [4], opset 17.
# The protobuf bytes are spelled out; lengths assume a 3-byte op name.
write_tiny_model() {
  local op=$1 path=$2
  [ "${#op}" -eq 3 ] || { echo "write_tiny_model: op name must have 3 letters"; exit 1; }
  local type='\x12\x0a\x0a\x08\x08\x01\x12\x04\x0a\x02\x08\x04'  # float32 [4]
  local node="\x0a\x10\x0a\x01x\x12\x01y\x1a\x03bar\x22\x03$op"
  local graph="$node\x12\x01g\x5a\x0f\x0a\x01x$type\x62\x0f\x0a\x01y$type"
  printf "\x08\x08\x3a\x37$graph\x42\x02\x10\x11" > "$path"
}

# Runs infer with the given arguments and checks the failure and message.
expect_error() {
  local phrase=$1
  shift
  "$VB_CLI" infer "$@" > "$work/stdout" 2> "$work/stderr"
  local rc=$?
  if [ "$rc" -eq 0 ]; then
    echo "FAIL: infer $* exited with 0; expected an error containing '$phrase'"
    return 1
  fi
  if [ "$(wc -l < "$work/stderr")" -ne 1 ] || ! grep -q '^visionbench: error: ' "$work/stderr"; then
    echo "FAIL: expected one 'visionbench: error:' line, got:"
    cat "$work/stderr"
    return 1
  fi
  if ! grep -qF -- "$phrase" "$work/stderr"; then
    echo "FAIL: the error does not contain '$phrase':"
    cat "$work/stderr"
    return 1
  fi
  echo "ok (exit $rc): $(cat "$work/stderr")"
}

need_shared() {
  models=${VB_SHARED_DIR:-}/models
  if [ ! -f "$models/efficientnet_b0.onnx" ]; then
    echo "skipped: $models/efficientnet_b0.onnx not found (set VB_SHARED_DIR)"
    exit 77
  fi
}

case "$case_name" in
  unknown_op)
    write_tiny_model Foo "$work/foo.onnx"
    head -c 16 /dev/zero > "$work/in.f32"
    expect_error "op 'Foo' (node 'bar', opset 17) is not supported" \
      --model "$work/foo.onnx" --input "$work/in.f32"
    ;;
  input_size)
    write_tiny_model Abs "$work/abs.onnx"
    head -c 12 /dev/zero > "$work/in.f32"
    expect_error "has 12 bytes but input 'x' of shape 4 (float32) needs 16 bytes" \
      --model "$work/abs.onnx" --input "$work/in.f32"
    ;;
  tiny_model_runs)
    # The hand-written model itself must load and run, or the cases above prove nothing.
    write_tiny_model Abs "$work/abs.onnx"
    printf '\x00\x00\x80\xbf\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x40\xc0' > "$work/in.f32"
    "$VB_CLI" infer --model "$work/abs.onnx" --input "$work/in.f32" --dump "$work/out" || exit 1
    expected=$(printf '\x00\x00\x80\x3f\x00\x00\x00\x40\x00\x00\x00\x00\x00\x00\x40\x40' | od -An -tx1)
    [ "$(od -An -tx1 < "$work/out/0.f32")" = "$expected" ] || { echo "FAIL: wrong Abs output"; exit 1; }
    echo "ok: tiny model runs"
    ;;
  shape_rank)
    need_shared
    expect_error "has rank 3 but the model declares rank 4" \
      --model "$models/efficientnet_b0.onnx" --input "$models/efficientnet_b0.input.f32" --shape 1,3,224
    ;;
  shape_fixed)
    need_shared
    expect_error "dimension 2 is fixed at 224" \
      --model "$models/efficientnet_b0.onnx" --input "$models/efficientnet_b0.input.f32" --shape 1,3,256,256
    ;;
  shape_syntax)
    write_tiny_model Abs "$work/abs.onnx"
    expect_error "is not a list of non-negative integers" \
      --model "$work/abs.onnx" --input "$work/in.f32" --shape 1,x,3
    ;;
  shared_input_size)
    need_shared
    expect_error "needs 602112 bytes" \
      --model "$models/efficientnet_b0.onnx" --input "$models/yolox_nano.input.f32"
    ;;
  *)
    echo "unknown case '$case_name'"
    exit 2
    ;;
esac

#!/usr/bin/env bash
# One case of tests/demo.cmake; VB_CLI and VB_SOURCE_DIR come from CTest.
set -euo pipefail
case_name=$1
work=$(mktemp -d /tmp/vb_demo_test.XXXXXX)
trap 'rm -rf "$work"' EXIT

case "$case_name" in
short)
    # The demo exits 0 only when every model finished; the run JSON must
    # also show status "ok" for the run and for each bundled model.
    expected=$(ls "$VB_SOURCE_DIR"/models/*.onnx | wc -l)
    if [ "$expected" -eq 0 ]; then
        echo "no bundled models in $VB_SOURCE_DIR/models"
        exit 1
    fi
    "$VB_CLI" demo --out "$work/scenes" --count 8 --models "$VB_SOURCE_DIR/models" --no-db
    ok=$(grep -c '"status": "ok"' "$work/scenes/run.json" || true)
    echo "status ok entries: $ok, expected $expected models plus the run"
    [ "$ok" -eq $((expected + 1)) ]
    # A second run reuses the generated scenes.
    "$VB_CLI" demo --out "$work/scenes" --count 8 --models "$VB_SOURCE_DIR/models" --no-db \
        2>"$work/second.err" >/dev/null
    grep -q "using the 8 demo scenes" "$work/second.err"
    ;;
synth_cli)
    "$VB_CLI" synth --out "$work/a" --count 4 --seed 9 --size 200x150
    "$VB_CLI" synth --out "$work/b" --count 4 --seed 9 --size 200x150
    (cd "$work/a" && sha256sum gt.csv gt.json images/*.png) >"$work/a.sum"
    (cd "$work/b" && sha256sum gt.csv gt.json images/*.png) >"$work/b.sum"
    cmp "$work/a.sum" "$work/b.sum"
    [ "$(wc -l <"$work/a.sum")" -eq 6 ]
    # Invalid values are usage errors (exit 2).
    set +e
    "$VB_CLI" synth --out "$work/c" --size 10x10
    [ $? -eq 2 ] || exit 1
    "$VB_CLI" synth --out "$work/c" --count 0
    [ $? -eq 2 ] || exit 1
    ;;
*)
    echo "unknown case $case_name"
    exit 2
    ;;
esac

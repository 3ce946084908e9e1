#!/bin/sh
# Runs `visionbench inspect MODEL` and checks its exit status and output.
# Usage: expect_inspect.sh CLI MODEL STATUS PATTERN [INSPECT OPTIONS...]
# STATUS 0: stdout must match PATTERN (grep -E).
# STATUS 1: stderr must be exactly one line, "visionbench: error: ..." matching PATTERN.
# Exits 77 (skipped) when MODEL was not generated, e.g. without the shared models.
cli=$1
model=$2
want=$3
pattern=$4
shift 4

if [ ! -e "$model" ]; then
    echo "skipped: $model was not generated"
    exit 77
fi

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
"$cli" inspect "$model" "$@" >"$out" 2>"$err"
rc=$?
echo "exit status $rc; stderr:"
cat "$err"

if [ "$rc" -ne "$want" ]; then
    echo "FAIL: expected exit status $want"
    exit 1
fi
if [ "$want" -eq 0 ]; then
    if ! grep -Eq -- "$pattern" "$out"; then
        echo "FAIL: stdout does not match '$pattern':"
        cat "$out"
        exit 1
    fi
    exit 0
fi
if [ "$(wc -l <"$err")" -ne 1 ]; then
    echo "FAIL: expected exactly one line on stderr"
    exit 1
fi
if ! grep -Eq -- "^visionbench: error: .*($pattern)" "$err"; then
    echo "FAIL: the error does not start with 'visionbench: error:' or does not match '$pattern'"
    exit 1
fi
exit 0

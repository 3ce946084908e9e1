#!/usr/bin/env bash
# Checks `visionbench run --db` end to end. A run on two images of
# coco128-street is stored in a new SQLite file, and in PostgreSQL when
# VB_TEST_POSTGRES_URL is set, and `visionbench history` must list it. A bad
# URL must stop the run before any model runs.
set -euo pipefail

street="${VB_SHARED_DIR:-}/datasets/coco128-street"
model="${VB_SHARED_DIR:-}/models/FastestDet.onnx"
if [ ! -f "$street/gt.csv" ] || [ ! -f "$model" ]; then
  echo "skipped: shared dataset coco128-street or FastestDet.onnx not found (set VB_SHARED_DIR)"
  exit 77
fi
work=$(mktemp -d /tmp/visionbench-run-db.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}

# Two images and their boxes.
mkdir "$work/images"
head -n 1 "$street/gt.csv" > "$work/gt.csv"
for name in $(tail -n +2 "$street/gt.csv" | cut -d, -f1 | sort -u | head -n 2); do
  cp "$street/images/$name" "$work/images/"
  grep "^$name," "$street/gt.csv" >> "$work/gt.csv"
done
run_with_db() {
  "$VB_CLI" run --images "$work/images" --gt "$work/gt.csv" --model "fdet=$model" \
    --warmup 0 --bootstrap 0 --no-progress --db "$1" > "$work/stdout" 2> "$work/stderr"
}

# check_store URL SHOWN: stores one run in URL (shown as SHOWN, the password
# hidden) and finds it with history.
check_store() {
  local url=$1 shown=$2
  if ! run_with_db "$url"; then
    fail "run --db $shown exited with an error"
    cat "$work/stderr"
    return
  fi
  grep -qF " stored in $shown" "$work/stderr" || fail "no 'stored in $shown' line on stderr"
  local id
  id=$(sed -n 's/^visionbench: run \([0-9a-f-]\{36\}\) stored in .*/\1/p' "$work/stderr")
  "$VB_CLI" history --db "$url" --model fdet --limit 1 --json > "$work/history.json" ||
    fail "history --db $shown exited with an error"
  grep -q "\"id\": \"$id\"" "$work/history.json" || fail "history does not list run $id"
  grep -q '"status": "ok"' "$work/history.json" || fail "run $id is not ok in history"
}

check_store "sqlite:$work/runs.db" "sqlite:$work/runs.db"
if [ -n "${VB_TEST_POSTGRES_URL:-}" ]; then
  shown=$(printf '%s' "$VB_TEST_POSTGRES_URL" | sed 's|://\([^:/@]*\):[^@/]*@|://\1:***@|')
  check_store "$VB_TEST_POSTGRES_URL" "$shown"
  password=$(printf '%s' "$VB_TEST_POSTGRES_URL" | sed -n 's|^[a-z]*://[^:/@]*:\([^@/]*\)@.*|\1|p')
  if [ -n "$password" ] && grep -qF -- "$password" "$work/stderr"; then
    fail "the password is shown on stderr"
  fi
fi

# A bad URL fails before any model runs: nothing on stdout, exit status 1.
status=0
run_with_db "mysql://root:s3cret@127.0.0.1/x" || status=$?
[ "$status" -eq 1 ] || fail "a bad --db URL exited with $status, expected 1"
if [ -s "$work/stdout" ]; then
  fail "a bad --db URL still ran the models"
fi
grep -q "^visionbench: error: --db: database mysql://root:\*\*\*@127.0.0.1/x: unsupported" \
  "$work/stderr" || fail "unexpected error for a bad --db URL: $(cat "$work/stderr")"

[ "$failures" -eq 0 ] || exit 1
echo "ok"

#!/usr/bin/env bash
# `sluice plan` is stable (same text for the same inputs, wherever the project lives) and
# writes nothing; --json is valid JSON with the partitions.
source "$(dirname "$0")/lib.sh"
cp -r "$ROOT/examples/quickstart" "$WORK/qs"
rm -rf "$WORK/qs/data" "$WORK/qs"/mart.db*
"$WORK/qs/generate.sh"
expect_exit 0 "$SLUICE" plan "$WORK/qs/job.yaml" -w 2
if diff -u "$ROOT/tests/e2e/golden/plan_quickstart.txt" "$WORK/out"; then pass "plan matches golden"; else
  fail "plan output changed (update tests/e2e/golden/plan_quickstart.txt if intended)"; fi
[ ! -e "$WORK/qs/mart.db" ] && pass "plan wrote nothing" || fail "plan created the target database"
expect_exit 0 "$SLUICE" plan "$WORK/qs/job.yaml" -w 2 --json
expect_contains "$WORK/out" '"partitions": 16'
expect_contains "$WORK/out" '"strategy": "file"'
expect_exit 0 "$SLUICE" run "$WORK/qs/job.yaml" --dry-run -w 2
expect_contains "$WORK/out" "stream orders"
[ ! -e "$WORK/qs/mart.db" ] && pass "--dry-run wrote nothing" || fail "--dry-run created the target database"
expect_exit 0 "$SLUICE" validate "$WORK/qs/job.yaml"
expect_contains "$WORK/out" "ok"
for cmd in run plan validate copy; do
  expect_exit 0 "$SLUICE" "$cmd" --help
  expect_contains "$WORK/out" "Usage"
done
finish

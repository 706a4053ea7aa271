#!/usr/bin/env bash
# A plain re-run of an append job that would load every row again: `plan` and `run` warn once,
# naming the earlier run; --yes and settings.allow_rerun silence it; a key, replace or a
# resume do not warn. (SQLite target, CSV source.)
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/job/data"
printf 'id,v\n1,a\n2,b\n3,c\n' > "$WORK/job/data/items.csv"
sqlite3 "$WORK/job/out.db" "CREATE TABLE items (id INTEGER, v TEXT); CREATE TABLE keyed (id INTEGER PRIMARY KEY, v TEXT)"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: nightly
source: {files: {path: data/items.csv, format: csv, columns: {id: bigint}}}
target: {connection: "sqlite://$WORK/job/out.db", table: items}
YAML
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml"
if grep -q "already loaded" "$WORK/out" "$WORK/err"; then fail "warned before any run"; else pass "no warning before the first run"; fi
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none
first=$(sqlite3 "$WORK/job/out.db" "SELECT run_id FROM sluice_runs WHERE job = 'nightly'")
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml"
expect_contains "$WORK/out" "warning: run $first"
expect_contains "$WORK/out" "has no primary key: running again loads every row a second time"
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml" --yes
if grep -q "already loaded" "$WORK/out"; then fail "plan --yes still warns"; else pass "plan --yes: no warning"; fi
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none
expect_contains "$WORK/err" "sluice: warning: stream nightly: run $first"
[ "$(grep -c 'already loaded' "$WORK/err")" = 1 ] && pass "warned once" || fail "warned $(grep -c 'already loaded' "$WORK/err") times"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none --set settings.allow_rerun=true
if grep -q "already loaded" "$WORK/err"; then fail "allow_rerun still warns"; else pass "settings.allow_rerun: no warning"; fi
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none --set target.table=keyed
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml" --set target.table=keyed
if grep -q "already loaded" "$WORK/out"; then fail "a keyed target warns"; else pass "a target with a key: no warning"; fi
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml" --set target.mode=replace
if grep -q "already loaded" "$WORK/out"; then fail "replace warns"; else pass "replace: no warning"; fi
finish

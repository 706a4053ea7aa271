#!/usr/bin/env bash
# `sluice copy` takes the job options that make sense for one table (--set settings.*,
# --max-rejects, --rejects, --on-error) and prints the job file it runs (--print-job), which
# validates and loads exactly what the copy loads.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/a" "$WORK/b"
cd "$WORK"
printf 'id,name,amount\n1,a,1.5\n2,b,oops\n3,"c, d",2.5\n4,e,4\n' > "$WORK/items.csv"
sqlite3 "$WORK/a/out.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, amount REAL)"
sqlite3 "$WORK/b/out.db" "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, amount REAL)"
copy_args=("$WORK/items.csv" "sqlite://out.db" --table items --max-rejects 5 --rejects rj --on-error continue
           --set settings.retry.attempts=2 --progress none)

# --print-job: the job file, with every option in it; nothing is copied.
(cd "$WORK/a" && expect_exit 0 "$SLUICE" copy "${copy_args[@]}" --print-job)
cp "$WORK/out" "$WORK/a/job.yaml"
expect_contains "$WORK/a/job.yaml" "max_rejects: 5"
expect_contains "$WORK/a/job.yaml" "on_error: continue"
expect_contains "$WORK/a/job.yaml" "attempts: 2"
expect_contains "$WORK/a/job.yaml" "rejects: $WORK/a/rj"
expect_contains "$WORK/a/job.yaml" "connection: sqlite://$WORK/a/out.db"
[ "$(sqlite3 "$WORK/a/out.db" "select count(*) from items")" = 0 ] && pass "--print-job copied nothing" \
  || fail "--print-job copied rows"

# The printed job validates and runs, from another directory, to the same result as the copy.
expect_exit 0 "$SLUICE" validate "$WORK/a/job.yaml"
expect_contains "$WORK/out" "is valid (1 stream(s)"
expect_exit 0 "$SLUICE" run "$WORK/a/job.yaml" --progress none
(cd "$WORK/b" && expect_exit 0 "$SLUICE" copy "${copy_args[@]}")
a=$(sqlite3 "$WORK/a/out.db" "select id, name, amount from items order by id")
b=$(sqlite3 "$WORK/b/out.db" "select id, name, amount from items order by id")
[ -n "$a" ] && [ "$a" = "$b" ] && pass "printed job and copy load the same rows" || fail "job: '$a', copy: '$b'"
[ "$(sqlite3 "$WORK/b/out.db" "select count(*) from items")" = 3 ] && pass "3 good rows loaded" || fail "expected 3 rows"
# --max-rejects and --rejects took effect: the bad row was set aside in rj/ of the working directory.
[ "$(grep -c oops "$WORK/b/rj/items.jsonl")" = 1 ] && pass "copy wrote the reject to --rejects" || fail "no reject in $WORK/b/rj"
[ "$(grep -c oops "$WORK/a/rj/items.jsonl")" = 1 ] && pass "the job wrote the reject to the same place" || fail "no reject in $WORK/a/rj"

# Without --max-rejects the bad row fails the partition (max_rejects: 0).
sqlite3 "$WORK/b/out.db" "DELETE FROM items"
(cd "$WORK/b" && expect_exit 1 "$SLUICE" copy "$WORK/items.csv" "sqlite://out.db" --table items --progress none)
expect_contains "$WORK/err" "max_rejects"

# --set reaches settings only, and its values are checked like a job file's.
expect_exit 2 "$SLUICE" copy "$WORK/items.csv" "sqlite://out.db" --table items --set target.mode=replace
expect_contains "$WORK/err" "--set target.mode=replace: copy accepts --set settings.KEY=VALUE only"
expect_exit 2 "$SLUICE" copy "$WORK/items.csv" "sqlite://out.db" --table items --set settings.max_rejects=many
expect_contains "$WORK/err" "sluice: error: --set settings.max_rejects=many: settings.max_rejects: expected a non-negative integer"
expect_exit 2 "$SLUICE" copy "$WORK/items.csv" "sqlite://out.db" --table items --on-error sometimes
expect_exit 0 "$SLUICE" copy --help
for flag in --set --max-rejects --rejects --on-error --print-job --create-schema; do
  expect_contains "$WORK/out" "$flag"
done
finish

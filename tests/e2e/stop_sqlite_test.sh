#!/usr/bin/env bash
# SIGINT mid-run: exit 4, run stopped, no partial partition visible; --resume completes exactly.
# `sluice stop RUN` from another shell does the same. 3,600,000 rows, so that the load still runs
# when the stop arrives (1,200,000 loaded in 0.85 s, before a `sluice stop` process got there).
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/job/data"
for f in 1 2 3 4 5 6; do
  awk -v f="$f" 'BEGIN { print "id,name"; for (i = 1; i <= 600000; i++) printf "%d,n%d\n", f * 1000000 + i, i }' \
    > "$WORK/job/data/p$f.csv"
done
cat > "$WORK/job/job.yaml" <<'YAML'
version: 1
name: stoppable
source:
  files: {path: data/*.csv, format: csv, columns: {id: bigint, name: text}}
  partition: {strategy: file, chunk_rows: 2000}
target: {connection: "sqlite://out.db", table: t}
settings: {workers: 2, queue_batches: 1, batch_rows: 500}
YAML
state="sqlite://$WORK/job/out.db"

# Rows present must always be whole partitions: every committed partition's rows, nothing else.
check_whole_partitions() {
  local rows committed
  rows=$(sqlite3 "$WORK/job/out.db" "select count(*) from t")
  committed=$(sqlite3 "$WORK/job/out.db" "select coalesce(sum(rows), 0) from sluice_partitions p join sluice_runs r using (run_id) where p.status = 'committed' and r.superseded_by is null")
  [ "$rows" = "$committed" ] && pass "$1: $rows rows = sum of committed partitions" || fail "$1: $rows rows but committed partitions hold $committed"
}

wait_for_rows() {  # wait until some partition committed, so the stop lands mid-run
  for _ in $(seq 1 200); do
    n=$(sqlite3 "$WORK/job/out.db" "select count(*) from sluice_partitions where status = 'committed'" 2>/dev/null || echo 0)
    [ "${n:-0}" -gt 0 ] && return 0
    sleep 0.05
  done
}

# 1. SIGINT
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_rows
kill -INT "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "SIGINT: exit 4" || { fail "SIGINT: exit $code"; cat "$WORK/run.err"; }
status=$(sqlite3 "$WORK/job/out.db" "select status from sluice_runs order by started_at desc limit 1")
[ "$status" = stopped ] && pass "SIGINT: run status stopped" || fail "SIGINT: run status '$status'"
check_whole_partitions "after SIGINT"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none
[ "$(sqlite3 "$WORK/job/out.db" "select count(*) || ' ' || count(distinct id) from t")" = "3600000 3600000" ] \
  && pass "resume after SIGINT: exactly 3600000 rows" || fail "resume after SIGINT: wrong rows"

# 2. sluice stop RUN from another shell
rm -f "$WORK"/job/out.db*
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_rows
run_id=$(sqlite3 "$WORK/job/out.db" "select run_id from sluice_runs where status = 'running' limit 1")
expect_exit 0 "$SLUICE" stop "$run_id" --state "$state"
expect_contains "$WORK/out" "asked run $run_id to stop"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "sluice stop: exit 4" || { fail "sluice stop: exit $code"; cat "$WORK/run.err"; }
check_whole_partitions "after sluice stop"
expect_exit 0 "$SLUICE" status "$run_id" --state "$state"
expect_contains "$WORK/out" "stopped"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none
[ "$(sqlite3 "$WORK/job/out.db" "select count(*) || ' ' || count(distinct id) from t")" = "3600000 3600000" ] \
  && pass "resume after sluice stop: exactly 3600000 rows" || fail "resume after stop: wrong rows"
expect_exit 0 "$SLUICE" runs --state "$state" --json
expect_contains "$WORK/out" '"status": "succeeded"'
finish

#!/usr/bin/env bash
# Stopping a PostgreSQL load: SIGINT → exit 4, run `stopped`, only whole partitions visible,
# --resume completes exactly; `sluice stop RUN` from another shell does the same; a second SIGINT
# aborts at once and still leaves no half partition. In mode replace, readers keep seeing the old
# table after the stop, and --resume skips the partitions already in the staging table.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src -c "CREATE TABLE events AS SELECT g::int8 AS id, md5(g::text) AS note, g % 7 AS kind FROM generate_series(1, 600000) g" \
  -c "ALTER TABLE events ADD PRIMARY KEY (id)" -c "ANALYZE events"
expected=$(table_digest src events id)
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: pg_stop
source: {connection: "$PG_BASE/src", table: events, partition: {strategy: key_range, column: id, chunk_rows: 5000}}
target: {connection: "$PG_BASE/dst", table: events}
settings: {workers: 2, queue_batches: 1, batch_rows: 1000}
YAML

# Rows present must always be whole partitions: the committed partitions' rows, nothing else.
check_whole_partitions() {
  local rows committed
  rows=$(psql_db dst -c "SELECT count(*) FROM events")
  committed=$(psql_db dst -c "SELECT coalesce(sum(p.rows), 0) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE p.status = 'committed' AND r.superseded_by IS NULL")
  [ "$rows" = "$committed" ] && pass "$1: $rows rows = sum of committed partitions" || fail "$1: $rows rows but committed partitions hold $committed"
}

wait_for_commit() {  # until a partition committed, so the stop lands mid-run
  for _ in $(seq 1 200); do
    n=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE status = 'committed'" 2>/dev/null || echo 0)
    [ "${n:-0}" -gt 0 ] && return 0
    sleep 0.05
  done
}

last_status() { psql_db dst -c "SELECT status FROM sluice.runs ORDER BY started_at DESC LIMIT 1"; }

resume_exactly() {  # LABEL
  expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none
  [ "$(table_digest dst events id)" = "$expected" ] && pass "$1: resume is exact" || fail "$1: resume differs from the source"
}

reset_target() { psql_db dst -c "DROP TABLE IF EXISTS events" -c "DROP SCHEMA IF EXISTS sluice CASCADE"; }

# 1. SIGINT: graceful stop.
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_commit
kill -INT "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "SIGINT: exit 4" || { fail "SIGINT: exit $code"; cat "$WORK/run.err"; }
[ "$(last_status)" = stopped ] && pass "SIGINT: run stopped" || fail "SIGINT: run $(last_status)"
[ "$(psql_db dst -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sluice/%'")" = 0 ] \
  && pass "SIGINT: no session left open" || fail "SIGINT: sessions left open"
check_whole_partitions "after SIGINT"
resume_exactly "SIGINT"

# 2. `sluice stop RUN` from another shell.
reset_target
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_commit
run_id=$(psql_db dst -c "SELECT run_id FROM sluice.runs WHERE status = 'running' LIMIT 1")
expect_exit 0 "$SLUICE" stop "$run_id" --job "$WORK/job/job.yaml"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "sluice stop: exit 4" || { fail "sluice stop: exit $code"; cat "$WORK/run.err"; }
expect_exit 0 "$SLUICE" status "$run_id" --job "$WORK/job/job.yaml" --json
expect_contains "$WORK/out" '"status": "stopped"'
check_whole_partitions "after sluice stop"
resume_exactly "sluice stop"

# 3. Two SIGINTs: abort at once, still nothing half-written.
reset_target
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_commit
kill -INT "$pid"; sleep 0.05; kill -INT "$pid" 2>/dev/null || true
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "double SIGINT: exit 4" || { fail "double SIGINT: exit $code"; cat "$WORK/run.err"; }
check_whole_partitions "after double SIGINT"
resume_exactly "double SIGINT"

# 4. Mode replace: stop, the old table is untouched, resume continues from the staging table.
reset_target
psql_db dst -c "CREATE TABLE events (id int8 PRIMARY KEY, note text, kind int)" -c "INSERT INTO events VALUES (-1, 'old', 0)"
sed 's/table: events}$/table: events, mode: replace}/' "$WORK/job/job.yaml" > "$WORK/job/replace.yaml"
grep -q 'mode: replace' "$WORK/job/replace.yaml" || fail "replace job not written"
"$SLUICE" run "$WORK/job/replace.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_for_commit
kill -INT "$pid"
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 4 ] && pass "replace SIGINT: exit 4" || { fail "replace SIGINT: exit $code"; cat "$WORK/run.err"; }
[ "$(psql_db dst -c "SELECT count(*) || ' ' || min(note) FROM events")" = "1 old" ] \
  && pass "replace: readers still see the old table" || fail "replace: the old table changed before the swap"
staged=$(psql_db dst -c "SELECT count(*) FROM events__sluice_new")
committed=$(psql_db dst -c "SELECT coalesce(sum(rows), 0) FROM sluice.partitions WHERE status = 'committed'")
[ "$staged" = "$committed" ] && pass "replace: staging holds the $committed rows of the committed partitions" \
  || fail "replace: staging has $staged rows, committed partitions $committed"
expect_exit 0 "$SLUICE" run "$WORK/job/replace.yaml" --resume --progress none
done_before=$(sed -nE 's/.*: ([0-9]+) of [0-9]+ partition\(s\) already committed.*/\1/p' "$WORK/err")
[ "${done_before:-0}" -gt 0 ] && pass "replace: resume skipped $done_before committed partitions" \
  || fail "replace: resume skipped none ($(head -1 "$WORK/err"))"
[ "$(table_digest dst events id)" = "$expected" ] && pass "replace: resume is exact" || fail "replace: resume differs from the source"
[ "$(psql_db dst -c "SELECT to_regclass('events__sluice_new') IS NULL")" = t ] && pass "replace: staging table gone" \
  || fail "replace: staging table left behind"
finish

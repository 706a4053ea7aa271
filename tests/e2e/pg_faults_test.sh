#!/usr/bin/env bash
# Server faults mid-run: pg_terminate_backend of a worker's connection, and a PostgreSQL restart.
# The run succeeds by retrying the partition; the retries are visible in the ledger.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, note text);
INSERT INTO events SELECT g, repeat('x', 200) FROM generate_series(1, 400000) g;
ANALYZE events;
SQL
expected=$(table_digest src events id)
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: pg_faults
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: public.events, partition: {strategy: key_range, column: id, chunk_rows: 20000}}
target: {connection: dst, table: public.events}
settings: {workers: 2, batch_rows: 1000, queue_batches: 1, retry: {attempts: 12, initial: 100ms, max: 2s}}
YAML

wait_committed() {  # N: wait until N partitions committed
  for _ in $(seq 1 400); do
    n=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE status = 'committed'" 2>/dev/null || echo 0)
    [ "${n:-0}" -ge "$1" ] && return 0
    sleep 0.05
  done
}

# 1. Terminate the backends of the running copy (source and target sides).
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_committed 2
# Between two partitions no COPY may be running: try again until one is caught.
for _ in $(seq 1 100); do
  killed=$(psql_db postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name LIKE 'sluice/pg_faults%' AND query ILIKE 'COPY%' AND pid <> pg_backend_pid()")
  [ "$killed" -ge 1 ] && break
  sleep 0.02
done
set +e; wait "$pid"; code=$?; set -e
[ "$killed" -ge 1 ] && pass "terminated $killed sluice backend(s)" || fail "found no sluice backend to terminate"
[ "$code" = 0 ] && pass "run survived pg_terminate_backend" || { fail "exit $code after pg_terminate_backend"; cat "$WORK/run.err"; }
retried=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE attempts > 1")
[ "$retried" -ge 1 ] && pass "ledger shows $retried retried partition(s)" || fail "no partition with attempts > 1"
[ "$(table_digest dst events id)" = "$expected" ] && pass "target exact after retries" || fail "target differs after retries"

# 2. Restart the server mid-run.
psql_db dst -c "DROP TABLE events" -c "DROP SCHEMA sluice CASCADE"
"$SLUICE" run "$WORK/job/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
wait_committed 2
pg_restart
set +e; wait "$pid"; code=$?; set -e
[ "$code" = 0 ] && pass "run survived a server restart" || { fail "exit $code after restart"; cat "$WORK/run.err"; }
retried=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE attempts > 1")
[ "$retried" -ge 1 ] && pass "ledger shows $retried retried partition(s) after the restart" || fail "no retried partition after restart"
[ "$(table_digest dst events id)" = "$expected" ] && pass "target exact after restart" || fail "target differs after restart"
finish

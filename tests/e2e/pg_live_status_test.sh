#!/usr/bin/env bash
# `sluice status RUN` while a run loads shows each running partition's rows read, rows written
# (not committed yet) and bytes, flushed to the ledger every few seconds; after a kill -9 and a
# --resume it shows what each invocation did, and the run's totals cover both.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src -c "CREATE TABLE events AS SELECT g::int8 AS id, md5(g::text) AS note FROM generate_series(1, 30000) g" \
  -c "ALTER TABLE events ADD PRIMARY KEY (id)" -c "ANALYZE events"
expected=$(table_digest src events id)
# A slow target: every row waits a little in a trigger, so partitions run for seconds.
psql_db dst -c "CREATE TABLE events (id int8, note text)" \
  -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.0002); RETURN NEW; END \$\$" \
  -c "CREATE TRIGGER slow BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION slow()"
cat > "$WORK/job.yaml" <<YAML
version: 1
name: live_status
source: {connection: "$PG_BASE/src", table: events, partition: {strategy: key_range, column: id, chunk_rows: 5000}}
target: {connection: "$PG_BASE/dst", table: events}
settings: {workers: 2, batch_rows: 500, queue_batches: 1}
YAML

status_json() { "$SLUICE" status "$run_id" --job "$WORK/job.yaml" --json 2>/dev/null; }
field() {  # PYTHON-EXPRESSION over `s` (the status JSON) on stdin
  python3 -c "import json, sys; s = json.load(sys.stdin); print($1)"
}

"$SLUICE" run "$WORK/job.yaml" --progress none >"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
run_id=""
for _ in $(seq 1 200); do
  run_id=$(psql_db dst -c "SELECT run_id FROM sluice.runs LIMIT 1" 2>/dev/null || true)
  [ -n "$run_id" ] && break
  sleep 0.05
done
[ -n "$run_id" ] && pass "the run is in the ledger" || fail "no run in the ledger"

# 1. Live: a running partition reports rows read, rows written and bytes before it commits.
live=""
for _ in $(seq 1 100); do
  live=$(status_json | field "next((p for p in s['partitions'] if p['status'] == 'running' and p['rows_read'] > 0 and p['rows'] > 0 and p['bytes'] > 0), '')" || true)
  [ -n "$live" ] && break
  sleep 0.1
done
[ -n "$live" ] && pass "status shows a running partition's live counts: $live" || fail "no live counts in status"
[ "$(status_json | field "s['rows_read'] > 0 and s['bytes_read'] > 0")" = True ] \
  && pass "the running run's totals are live" || fail "the running run's totals stay 0"
expect_exit 0 "$SLUICE" status "$run_id" --job "$WORK/job.yaml"
expect_contains "$WORK/out" "in flight:"

# 2. kill -9 once a partition committed; --resume finishes.
for _ in $(seq 1 300); do
  [ "$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE status = 'committed'")" -gt 0 ] && break
  sleep 0.05
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
committed_first=$(psql_db dst -c "SELECT coalesce(sum(rows), 0) FROM sluice.partitions WHERE status = 'committed'")
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
[ "$(table_digest dst events id)" = "$expected" ] && pass "resume is exact" || fail "resume differs from the source"

status_json >"$WORK/status.json"
same() { [ "$2" = "$3" ] && pass "$1: $2" || fail "$1: got '$2', expected '$3'"; }
same "invocations" "$(field "len(s['invocations'])" <"$WORK/status.json")" 2
same "first invocation never ended" "$(field "s['invocations'][0]['status'] + '|' + s['invocations'][0]['finished_at']" <"$WORK/status.json")" "|"
same "first invocation's committed rows" "$(field "s['invocations'][0]['rows_committed']" <"$WORK/status.json")" "$committed_first"
same "second invocation" "$(field "s['invocations'][1]['status']" <"$WORK/status.json")" succeeded
same "second invocation wrote the rest" "$(field "s['invocations'][1]['rows_written']" <"$WORK/status.json")" "$((30000 - committed_first))"
same "the invocations' committed rows add up" "$(field "sum(i['rows_committed'] for i in s['invocations'])" <"$WORK/status.json")" 30000
same "the run's written rows cover both" "$(field "s['rows_written']" <"$WORK/status.json")" 30000
same "every committed partition's rows read" "$(field "sum(p['rows_read'] for p in s['partitions'])" <"$WORK/status.json")" 30000
# Bytes written: at least the values (8-byte id + 32-byte md5 text) of every row, in every
# committed partition, whichever invocation committed it.
same "bytes written cover every value" "$(field "s['bytes_written'] >= 40 * 30000 and all(p['bytes_written'] >= 40 * p['rows'] > 0 for p in s['partitions'] if p['status'] == 'committed')" <"$WORK/status.json")" True
expect_exit 0 "$SLUICE" status "$run_id" --job "$WORK/job.yaml"
expect_contains "$WORK/out" "ended without a summary"
expect_contains "$WORK/out" "#2"
finish

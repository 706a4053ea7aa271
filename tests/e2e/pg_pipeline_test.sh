#!/usr/bin/env bash
# Multi-stream pipelines (issue 12): a stream that runs `after:` another is planned when that
# one has finished, so staging -> mart works in one job on an empty target, reads what the
# staging stream wrote in this run (not the table as it was at the start), survives kill -9
# with its planned partitions kept, and is skipped, then resumed, when its upstream fails.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src -c "CREATE TABLE orders (id bigint PRIMARY KEY, customer text, amount numeric(12,2), status text)" \
            -c "INSERT INTO orders SELECT g, 'c' || (g % 97), (g % 1000) / 7.0, CASE WHEN g % 11 = 0 THEN 'void' ELSE 'ok' END
                FROM generate_series(1, 6000) g"
mkdir -p "$WORK/job"
write_job() {  # NAME MART_TABLE MART_CREATE
  cat > "$WORK/job/$1.yaml" <<YAML
version: 1
name: $1
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
streams:
  - name: stage
    source: {connection: src, table: orders, partition: {strategy: key_range, column: id, chunk_rows: 1500}}
    target: {connection: dst, table: staging.orders, mode: replace, create_schema: true}
  - name: mart
    after: [stage]
    source: {connection: dst, table: staging.orders, partition: {strategy: key_range, column: id, chunk_rows: 1000}}
    transform:
      filter: status <> 'void'
      columns: {id: id, customer: upper(customer), amount_cents: (amount * 100)::bigint}
    target: {connection: dst, table: $2, create: $3, create_schema: true}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
}
oracle() {  # the mart's rows computed from the source by PostgreSQL itself
  psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(ROW(id, upper(customer), (amount * 100)::bigint)::text, '|' ORDER BY id))
                  FROM orders WHERE status <> 'void'"
}
mart_digest() {  # TABLE
  psql_db dst -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(ROW(id, customer, amount_cents)::text, '|' ORDER BY id)), '-') FROM $1"
}
write_job pipeline mart.orders if_missing

# `plan` on the empty target: the mart's source is not there yet, which is not an error.
expect_exit 0 "$SLUICE" plan "$WORK/job/pipeline.yaml"
expect_contains "$WORK/out" "not planned yet: source table staging.orders does not exist"
expect_contains "$WORK/out" "after: stage (planned again when they finish"

# One run on the empty target: staging is created, then the mart reads it.
expect_exit 0 "$SLUICE" run "$WORK/job/pipeline.yaml" --progress none
[ "$(mart_digest mart.orders)" = "$(oracle)" ] && pass "staging -> mart in one run on an empty target" \
  || fail "mart after the first run: $(mart_digest mart.orders), want $(oracle)"

# The mart's filter runs in the source, so status, which only the filter reads, stays there.
expect_exit 0 "$SLUICE" plan "$WORK/job/pipeline.yaml"
expect_contains "$WORK/out" "reads 3 of 4 columns (id, customer, amount)"

# The source grows past the old key range and loses rows: the mart's partitions must be cut
# from the staging table this run wrote, not from the one the run started with.
psql_db src -c "DELETE FROM orders WHERE id % 5 = 0" \
            -c "INSERT INTO orders SELECT g, 'n' || g, g / 3.0, 'ok' FROM generate_series(6001, 15000) g"
psql_db dst -c "TRUNCATE mart.orders"
expect_exit 0 "$SLUICE" run "$WORK/job/pipeline.yaml" --progress none --yes
[ "$(mart_digest mart.orders)" = "$(oracle)" ] && pass "the mart reads what stage wrote in this run" \
  || fail "mart after the source changed: $(mart_digest mart.orders), want $(oracle)"

# kill -9 while the mart loads (a statement trigger slows each partition), then --resume: the
# mart keeps the partitions it planned (none added, none loaded twice) and ends exact.
psql_db dst -c "CREATE TABLE mart.slow (id bigint PRIMARY KEY, customer text, amount_cents bigint)" \
            -c "CREATE FUNCTION mart.nap() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.4); RETURN NULL; END \$\$" \
            -c "CREATE TRIGGER nap AFTER INSERT ON mart.slow FOR EACH STATEMENT EXECUTE FUNCTION mart.nap()"
write_job slow mart.slow never
"$SLUICE" run "$WORK/job/slow.yaml" --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 300); do
  done_parts=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id)
                              WHERE r.job = 'slow' AND p.stream = 'mart' AND p.status = 'committed'" 2>/dev/null || echo 0)
  [ "${done_parts:-0}" -ge 2 ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
planned=$(psql_db dst -c "SELECT count(*) || '/' || max(partition_id) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'slow' AND stream = 'mart'")
committed=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'slow' AND stream = 'mart' AND p.status = 'committed'")
[ "$committed" -ge 1 ] && [ "$committed" -lt "${planned%/*}" ] && pass "killed mid-mart ($committed of ${planned%/*} partitions committed)" \
  || fail "the kill did not land mid-mart: $committed of $planned committed"
expect_exit 0 "$SLUICE" run "$WORK/job/slow.yaml" --resume --progress none
[ "$(mart_digest mart.slow)" = "$(oracle)" ] && pass "kill -9 mid-mart, --resume: exact" \
  || fail "mart.slow after resume: $(mart_digest mart.slow), want $(oracle)"
after=$(psql_db dst -c "SELECT count(*) || '/' || max(partition_id) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'slow' AND stream = 'mart'")
[ "$after" = "$planned" ] && pass "the resume kept the mart's planned partitions ($after)" \
  || fail "the resume re-planned the mart: partitions $planned before, $after after"

# The upstream fails: the mart is skipped and loads nothing; fixed, --resume runs both.
psql_db dst -c "DROP TABLE mart.orders" -c "ALTER TABLE staging.orders ADD CONSTRAINT cheap CHECK (amount < 100000)"
psql_db src -c "UPDATE orders SET amount = 999999 WHERE id = 14999"
write_job failing mart.orders if_missing
expect_exit 1 "$SLUICE" run "$WORK/job/failing.yaml" --progress none
expect_contains "$WORK/out" "not started: stream stage did not succeed"
[ "$(psql_db dst -c "SELECT to_regclass('mart.orders') IS NULL")" = t ] && pass "the skipped mart created nothing" \
  || fail "the skipped mart touched its target"
psql_db src -c "UPDATE orders SET amount = 1 WHERE id = 14999"
expect_exit 0 "$SLUICE" run "$WORK/job/failing.yaml" --resume --progress none
[ "$(mart_digest mart.orders)" = "$(oracle)" ] && pass "after the fix, --resume ran stage and the mart" \
  || fail "mart after the resume: $(mart_digest mart.orders), want $(oracle)"
finish

#!/usr/bin/env bash
# A --restart that stops before it reaches a stream leaves that stream's rows from the
# abandoned run in place; the --resume that finishes the restart must undo them before the
# stream loads again. Run 1: stream a loads, stream b (after a) commits some partitions and
# fails on a refused row. Run 2 (--restart): a fails (a constraint added meanwhile), so b is
# skipped and never prepared. Run 2 resumed: every table equals its source (count + ordered
# md5) — without the undo, b would hold run 1's partitions twice. Targets have no primary key,
# so nothing but the undo prevents the duplicates.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src <<'SQL'
CREATE TABLE a (id int PRIMARY KEY, v text);
INSERT INTO a SELECT g, 'a' || g FROM generate_series(1, 1000) g;
CREATE TABLE b (id int PRIMARY KEY, qty int);
INSERT INTO b SELECT g, CASE WHEN g = 9500 THEN -1 ELSE g % 50 END FROM generate_series(1, 10000) g;
SQL
psql_db dst -c "CREATE TABLE a (id int, v text)" -c "CREATE TABLE b (id int, qty int CHECK (qty >= 0))"
cat > "$WORK/job.yaml" <<YAML
version: 1
name: restart_resume
streams:
  - name: a
    source: {connection: "$PG_BASE/src", table: a}
    target: {connection: "$PG_BASE/dst", table: a, create: never}
  - name: b
    after: [a]
    source: {connection: "$PG_BASE/src", table: b, partition: {strategy: key_range, chunk_rows: 1000}}
    target: {connection: "$PG_BASE/dst", table: b, create: never}
settings: {workers: 2, on_error: continue, min_rows_for_parallel: 0, rejects: $WORK/rejects,
           retry: {attempts: 1}}
YAML
same() {  # TABLE LABEL
  [ "$(table_digest src "$1" id)" = "$(table_digest dst "$1" id)" ] && pass "$2: $1 equals the source" \
    || fail "$2: $1 is $(table_digest dst "$1" id), the source $(table_digest src "$1" id)"
}

expect_exit 3 "$SLUICE" run "$WORK/job.yaml" --progress none
first=$(psql_db dst -c "SELECT run_id FROM sluice.runs ORDER BY started_at LIMIT 1")
b_rows=$(psql_db dst -c "SELECT count(*) FROM b")
[ "$b_rows" -gt 0 ] && [ "$b_rows" -lt 10000 ] && pass "run 1: b committed $b_rows rows, then failed" \
  || fail "run 1: b holds $b_rows rows"

psql_db src -c "UPDATE b SET qty = 1 WHERE id = 9500"
psql_db dst -c "ALTER TABLE a ADD CONSTRAINT refuse_all CHECK (id < 0) NOT VALID"
expect_exit 1 "$SLUICE" run "$WORK/job.yaml" --restart --yes --progress none
expect_contains "$WORK/out" "skipped"
[ "$(psql_db dst -c "SELECT count(*) FROM b")" = "$b_rows" ] \
  && pass "restart stopped before b: run 1's rows of b are still there" || fail "restart: b changed"

psql_db dst -c "ALTER TABLE a DROP CONSTRAINT refuse_all"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
same a "resume of the restart"
same b "resume of the restart"
[ "$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE run_id = '$first' AND status = 'committed'")" = 0 ] \
  && pass "the abandoned run has no committed partition left" || fail "the abandoned run still has committed partitions"

# Resuming again is refused (the run succeeded) and changes nothing.
expect_exit 2 "$SLUICE" run "$WORK/job.yaml" --resume "$(psql_db dst -c "SELECT run_id FROM sluice.runs ORDER BY started_at DESC LIMIT 1")" --progress none
same b "after a second resume"
finish

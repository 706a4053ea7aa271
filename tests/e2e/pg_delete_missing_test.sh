#!/usr/bin/env bash
# target.delete_missing with mode: upsert on PostgreSQL: a full snapshot's missing keys are
# deleted (hard) or flagged in deleted_at (soft), per partition's key range and per tenant,
# against an oracle: the target equals the source's rows (+ for soft, the flagged rows of keys
# that left), other tenants' rows and rows outside the source's tenants untouched, a key that
# comes back is alive again, and the summary counts the deleted rows.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE db"
psql_db db <<'SQL'
CREATE TABLE src (country text NOT NULL, id int8 NOT NULL, name text, PRIMARY KEY (country, id));
INSERT INTO src SELECT c, g, c || g FROM unnest(ARRAY['ke', 'tz']) c, generate_series(1, 3000) g;
CREATE TABLE hard (country text, id int8, name text, PRIMARY KEY (country, id));
CREATE TABLE soft (country text, id int8, name text, deleted_at timestamptz, PRIMARY KEY (country, id));
-- Rows of a country the job does not load: never touched.
INSERT INTO hard VALUES ('ug', 1, 'ug1'), ('ug', 2, 'ug2');
INSERT INTO soft VALUES ('ug', 1, 'ug1', NULL), ('ug', 2, 'ug2', NULL);
SQL
job() {  # TABLE MODE
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "$PG_BASE/db", table: src, partition: {strategy: key_range, chunk_rows: 700}}
tenants: {values: {column: country, list: [ke, tz]}}
target: {connection: "$PG_BASE/db", table: $1, mode: upsert, key: [country, id], delete_missing: $2}
settings: {workers: 3, min_rows_for_parallel: 100}
YAML
}
job hard hard
job soft soft
last_deleted() { tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["deleted"])'; }
check() {  # WHAT
  local want got
  want=$(psql_db db -c "SELECT md5(string_agg(country || id || name, '|' ORDER BY country, id)) FROM (SELECT * FROM src UNION ALL SELECT country, id, name FROM hard WHERE country = 'ug') x")
  got=$(psql_db db -c "SELECT md5(string_agg(country || id || name, '|' ORDER BY country, id)) FROM hard")
  [ "$want" = "$got" ] && pass "$1: hard equals the source (+ the untouched country)" || fail "$1: hard differs from the source"
  want=$(psql_db db -c "SELECT md5(string_agg(country || id || name, '|' ORDER BY country, id)) FROM (SELECT * FROM src UNION ALL SELECT country, id, name FROM soft WHERE country = 'ug') x")
  got=$(psql_db db -c "SELECT md5(string_agg(country || id || name, '|' ORDER BY country, id)) FROM soft WHERE deleted_at IS NULL")
  [ "$want" = "$got" ] && pass "$1: soft's live rows equal the source" || fail "$1: soft's live rows differ from the source"
  [ "$(psql_db db -c "SELECT count(*) FROM soft WHERE country = 'ug' AND deleted_at IS NULL")" = 2 ] \
    && pass "$1: a country outside the job is untouched" || fail "$1: the other country's rows changed"
}

expect_exit 0 "$SLUICE" run "$WORK/hard.yaml" --progress none
expect_exit 0 "$SLUICE" run "$WORK/soft.yaml" --progress none
check "first load"
expect_exit 0 "$SLUICE" plan "$WORK/hard.yaml"
expect_contains "$WORK/out" "by key [country, id]"

# Keys leave the source in every partition's range, one in each tenant's first and last
# partition's edges too; some come back later.
psql_db db -c "DELETE FROM src WHERE id % 97 = 0 OR id IN (1, 3000) OR (country = 'tz' AND id BETWEEN 1400 AND 1450)"
gone=$(psql_db db -c "SELECT 6000 - count(*) FROM src")
expect_exit 0 "$SLUICE" run "$WORK/hard.yaml" --progress none --yes
[ "$(last_deleted)" = "$gone" ] && pass "hard: the summary counts $gone deleted rows" || fail "hard: deleted $(last_deleted), expected $gone"
expect_exit 0 "$SLUICE" run "$WORK/soft.yaml" --progress none --yes
[ "$(last_deleted)" = "$gone" ] && pass "soft: the summary counts $gone flagged rows" || fail "soft: flagged $(last_deleted), expected $gone"
[ "$(psql_db db -c "SELECT count(*) FROM soft WHERE deleted_at IS NOT NULL")" = "$gone" ] && pass "soft: $gone rows flagged, none deleted" || fail "soft: wrong flagged count"
check "after deletes"
[ "$(psql_db db -c "SELECT sum(rows_deleted) FROM sluice.partitions WHERE run_id = (SELECT run_id FROM sluice.runs WHERE job = 'hard' ORDER BY started_at DESC LIMIT 1)")" = "$gone" ] \
  && pass "the ledger records the deleted rows per partition" || fail "the ledger's rows_deleted do not add up"

# Keys come back; a run of the same snapshot again deletes nothing more.
psql_db db -c "INSERT INTO src SELECT c, g, 'back' || g FROM unnest(ARRAY['ke', 'tz']) c, generate_series(1, 3000) g WHERE g % 97 = 0"
expect_exit 0 "$SLUICE" run "$WORK/soft.yaml" --progress none --yes
[ "$(psql_db db -c "SELECT count(*) FROM soft WHERE name LIKE 'back%' AND deleted_at IS NULL")" = 60 ] \
  && pass "soft: keys that came back are alive again" || fail "soft: returning keys still flagged"
expect_exit 0 "$SLUICE" run "$WORK/hard.yaml" --progress none --yes
expect_exit 0 "$SLUICE" run "$WORK/hard.yaml" --progress none --yes
[ "$(last_deleted)" = 0 ] && pass "the same snapshot again deletes nothing" || fail "a repeated snapshot deleted $(last_deleted)"
check "after keys came back"

# Refusals: with incremental, with a non-upsert mode, with a file source.
sed 's/^target:/incremental: {cursor: [id]}\ntarget:/' "$WORK/hard.yaml" > "$WORK/incr.yaml"
expect_exit 2 "$SLUICE" validate "$WORK/incr.yaml"
expect_contains "$WORK/err" "delete_missing needs a full snapshot"
sed 's/mode: upsert/mode: append/' "$WORK/hard.yaml" > "$WORK/append.yaml"
expect_exit 2 "$SLUICE" validate "$WORK/append.yaml"
expect_contains "$WORK/err" "delete_missing goes with mode: upsert"
finish

#!/usr/bin/env bash
# `sluice copy` into PostgreSQL, through the whole engine:
# 1. every partition strategy with 1, 2 and 4 workers on awkward tables gives exactly the source;
# 2. every type round-trips exactly PG→PG (pass-through and decoded), PG→SQLite→PG and CSV→PG;
# 3. connection and schema errors name the stream and what to fix, exit 1, commit nothing.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
cd "$WORK"  # copy writes its reject files under the current directory

same_rows() {  # LABEL SRC_TABLE DST_TABLE [DST_DB]
  local want got order=id
  [ "$2" = alltypes ] || order="id, v"  # NULL keys need a tie-breaker for a stable order
  want=$(table_digest src "$2" "$order")
  got=$(table_digest "${4:-dst}" "$3" "$order")
  [ "$want" = "$got" ] && pass "$1" || fail "$1: target '$got', source '$want'"
}

# 1. Strategies × workers on keys with gaps and negatives, 99/1 skew, NULL keys, no rows, one row.
psql_db src -c "SELECT setseed(0.17)" -c "
  CREATE TABLE gaps AS SELECT (g * 7 - 9000)::int8 AS id, md5(g::text) AS v FROM generate_series(1, 6000) g WHERE g % 5 <> 0;
  CREATE TABLE skew AS SELECT CASE WHEN g % 100 = 0 THEN 10000000000 + g ELSE g END::int8 AS id, g::text AS v FROM generate_series(1, 6000) g;
  CREATE TABLE nulls AS SELECT CASE WHEN g % 13 = 0 THEN NULL ELSE g END::int8 AS id, g::text AS v FROM generate_series(1, 6000) g;
  CREATE TABLE empty (id int8, v text);
  CREATE TABLE single AS SELECT -1::int8 AS id, 'one'::text AS v;
  ANALYZE"
for table in gaps skew nulls empty single; do
  for strategy in key_range ctid hash offset none auto; do
    for workers in 1 2 4; do
      target="${table}_${strategy}_$workers"
      column=id; [ "$strategy" = ctid ] || [ "$strategy" = none ] || [ "$strategy" = auto ] && column=""
      expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" --table "$table" --target-table "$target" \
        -w "$workers" --chunk-rows 1000 --min-rows-for-parallel 0 --partition "$strategy" \
        ${column:+--partition-column "$column"} --progress none || continue
      same_rows "$table, $strategy, $workers worker(s)" "$table" "$target"
    done
  done
done

# 2. Every type, with NULLs, extremes, infinities, empty strings and non-ASCII text.
psql_db src -f "$ROOT/tests/e2e/data/all_types.sql"
columns_only() { sed -n '/^CREATE TABLE/,/);$/p' "$ROOT/tests/e2e/data/all_types.sql"; }

expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" --table alltypes --progress none
expect_contains "$WORK/out" "pass-through"
same_rows "every type PG→PG (pass-through)" alltypes alltypes

# consistent: true reads through the decoding path (pass-through readers cannot share the snapshot).
cat > "$WORK/decoded.yaml" <<YAML
version: 1
name: decoded
source: {connection: "$PG_BASE/src", table: alltypes, consistent: true}
target: {connection: "$PG_BASE/dst", table: alltypes_decoded}
YAML
expect_exit 0 "$SLUICE" run "$WORK/decoded.yaml" --progress none
if grep -q "pass-through" "$WORK/out"; then fail "consistent copy used pass-through"; else pass "consistent copy decoded"; fi
same_rows "every type PG→PG (decoded)" alltypes alltypes_decoded

psql_db postgres -c "CREATE DATABASE back" -c "CREATE DATABASE fromcsv"
columns_only | psql_db back
columns_only | psql_db fromcsv
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "sqlite://$WORK/mid.db" --table alltypes --progress none
expect_exit 0 "$SLUICE" copy "sqlite://$WORK/mid.db" "$PG_BASE/back" --table alltypes --progress none
same_rows "every type PG→SQLite→PG" alltypes alltypes back

psql_db src -c "\\copy alltypes TO '$WORK/alltypes.csv' CSV HEADER"
expect_exit 0 "$SLUICE" copy "$WORK/alltypes.csv" "$PG_BASE/fromcsv" --table alltypes --progress none
same_rows "every type CSV→PG" alltypes alltypes fromcsv

# 3. Errors: exit 1, a message naming the stream and the fix, passwords masked, nothing committed.
expect_exit 1 "$SLUICE" copy "postgresql://$PGUSER:wrong-secret@127.0.0.1:$PGPORT/src" "$PG_BASE/dst" --table gaps \
  --target-table err_password --progress none
expect_contains "$WORK/err" "stream gaps"
expect_contains "$WORK/err" "password authentication failed"
grep -q "wrong-secret" "$WORK/err" "$WORK/out" && fail "password printed" || pass "password masked"

expect_exit 1 "$SLUICE" copy "$PG_BASE/src" "postgresql://u:hunter2@no-such-host.invalid/x" --table gaps --progress none
expect_contains "$WORK/err" "stream gaps"
expect_contains "$WORK/err" "no-such-host.invalid"
grep -q "hunter2" "$WORK/err" "$WORK/out" && fail "password printed" || pass "password masked"

expect_exit 1 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" --table no_such_table --progress none
expect_contains "$WORK/err" "stream no_such_table"
expect_contains "$WORK/err" "does not exist"

# A target column whose type cannot hold the source values: nothing of the stream commits.
psql_db dst -c "CREATE TABLE mismatch (id int8, v int4)"
expect_exit 1 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" --table gaps --target-table mismatch -w 2 \
  --chunk-rows 1000 --min-rows-for-parallel 0 --progress none
expect_contains "$WORK/err" "stream gaps"
expect_contains "$WORK/err" "max_rejects"
[ "$(psql_db dst -c "SELECT count(*) FROM mismatch")" = 0 ] && pass "type mismatch: nothing committed" \
  || fail "type mismatch: rows committed"

psql_db postgres -c "CREATE ROLE reader LOGIN PASSWORD 'reader-pw'"
psql_db dst -c "CREATE TABLE locked (id int8, v text)"
expect_exit 1 "$SLUICE" copy "$PG_BASE/src" "postgresql://reader:reader-pw@127.0.0.1:$PGPORT/dst" --table gaps \
  --target-table locked --progress none
expect_contains "$WORK/err" "stream gaps"
expect_contains "$WORK/err" "permission denied"
[ "$(psql_db dst -c "SELECT count(*) FROM locked")" = 0 ] && pass "permission denied: nothing committed" \
  || fail "permission denied: rows committed"
finish

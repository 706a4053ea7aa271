#!/usr/bin/env bash
# 15 tenant schemas of skewed sizes, one broken: with --ignore-errors the other 14 load, exit 3,
# the broken tenant has zero rows in the target; after fixing it, --resume loads only that tenant.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
tenants="afg bgd syr tur ken eth som sdn yem irq lbn jor pak cod ukr"
sql=""
i=0
for t in $tenants; do
  i=$((i + 1))
  rows=$(( i * i * 400 ))   # skewed: 400 .. 90,000 rows
  sql+="CREATE SCHEMA $t; CREATE TABLE $t.sales (id bigint PRIMARY KEY, amount numeric(10,2), note text);
        INSERT INTO $t.sales SELECT g, (g % 1000) / 10.0, 'n' || g FROM generate_series(1, $rows) g;"
done
psql_db src -c "$sql"
# The broken tenant: some amounts do not fit the target's numeric(10,2) CHECK.
psql_db src -c "UPDATE syr.sales SET amount = -1 WHERE id % 500 = 0"
psql_db dst -c "CREATE TABLE sales (id bigint, amount numeric(10,2) CHECK (amount >= 0), note text, country text NOT NULL, PRIMARY KEY (country, id))"
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: mart
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: sales, partition: {strategy: key_range, column: id, chunk_rows: 5000}}
tenants: {schemas: [$(echo $tenants | sed 's/ /, /g')], as_column: country}
target: {connection: dst, table: public.sales, create: never}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
expect_exit 3 "$SLUICE" run "$WORK/job/job.yaml" --ignore-errors --progress none
expect_contains "$WORK/out" "tenant syr"
expect_contains "$WORK/err" "partial"
[ "$(psql_db dst -c "SELECT count(*) FROM sales WHERE country = 'syr'")" = 0 ] && pass "broken tenant has zero rows" || fail "broken tenant left rows behind"
loaded=$(psql_db dst -c "SELECT count(DISTINCT country) FROM sales")
[ "$loaded" = 14 ] && pass "the other 14 tenants loaded" || fail "$loaded tenants loaded"
for t in $tenants; do
  [ "$t" = syr ] && continue
  want=$(psql_db src -c "SELECT count(*) FROM $t.sales"); got=$(psql_db dst -c "SELECT count(*) FROM sales WHERE country = '$t'")
  [ "$want" = "$got" ] || fail "tenant $t: $got rows, expected $want"
done

# Fix the tenant, resume: only syr loads.
psql_db src -c "UPDATE syr.sales SET amount = 1 WHERE amount < 0"
before=$(psql_db dst -c "SELECT count(*) FROM sales")
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress json
loaded_rows=$(grep -o '"event":"partition_committed"[^}]*' "$WORK/out" | grep -vc '"tenant":"syr"' || true)
[ "$loaded_rows" = 0 ] && pass "resume loaded only tenant syr" || fail "resume loaded $loaded_rows partition(s) of other tenants"
after=$(psql_db dst -c "SELECT count(*) FROM sales")
syr=$(psql_db src -c "SELECT count(*) FROM syr.sales")
[ $((after - before)) = "$syr" ] && pass "resume added exactly syr's $syr rows" || fail "resume added $((after - before)) rows, expected $syr"
[ "$(psql_db dst -c "SELECT count(*) FROM (SELECT country, id FROM sales GROUP BY 1, 2 HAVING count(*) > 1) d")" = 0 ] && pass "no duplicates" || fail "duplicates"
finish

#!/usr/bin/env bash
# Bad rows are set aside, not lost: a CSV with N known-bad rows among good ones, and a
# PostgreSQL source whose rows violate a target constraint -> exactly the N rows in the reject
# file and the rejects table, every good row loaded.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
mkdir -p "$WORK/job/data"

# 1. CSV: 11 bad rows (6 bad numbers, 4 bad dates, 1 ragged) among 20,000.
awk 'BEGIN { print "id,amount,day";
  for (i = 1; i <= 20000; i++) {
    if (i % 3001 == 0) printf "%d,not-a-number,2025-01-01\n", i;
    else if (i % 4999 == 0) printf "%d,1.5,2025-13-45\n", i;
    else if (i == 777) printf "%d,1.5\n", i;
    else printf "%d,%d.25,2025-01-%02d\n", i, i, 1 + i % 28 } }' > "$WORK/job/data/in.csv"
bad_csv=$(awk -F, 'NR > 1 && ($2 == "not-a-number" || $3 == "2025-13-45" || NF != 3)' "$WORK/job/data/in.csv" | wc -l)
cat > "$WORK/job/csv.yaml" <<YAML
version: 1
name: csv_rejects
source:
  files: {path: data/in.csv, format: csv, columns: {id: bigint, amount: "numeric(12,2)", day: date}}
target: {connection: "$PG_BASE/dst", table: public.csv_in}
settings: {max_rejects: 100, rejects: rejects/}
YAML
expect_exit 0 "$SLUICE" run "$WORK/job/csv.yaml" --progress none
got=$(wc -l < "$WORK/job/rejects/csv_rejects.jsonl")
[ "$got" = "$bad_csv" ] && pass "CSV: $got rows in the reject file" || fail "CSV: $got rejected rows in the file, expected $bad_csv"
[ "$(psql_db dst -c "SELECT count(*) FROM csv_in")" = $((20000 - bad_csv)) ] && pass "CSV: every good row loaded" || fail "CSV: wrong good-row count"
[ "$(psql_db dst -c "SELECT count(*) FROM sluice.rejects WHERE stream = 'csv_rejects'")" = "$bad_csv" ] && pass "CSV: $bad_csv rows in sluice.rejects" || fail "CSV: rejects table count"

# 2. PostgreSQL source rows that violate the target's constraints (found by bisection): 20
# break a CHECK, 1 a primary key already in the target.
psql_db src -c "CREATE TABLE items (id bigint PRIMARY KEY, qty int, code text)
  ; INSERT INTO items SELECT g, CASE WHEN g % 2500 = 0 THEN -5 ELSE g % 100 END, 'c' || g FROM generate_series(1, 50000) g"
psql_db dst -c "CREATE TABLE items (id bigint PRIMARY KEY, qty int CHECK (qty >= 0), code text)
  ; INSERT INTO items VALUES (12345, 1, 'already here')"
bad_pg=$(( $(psql_db src -c "SELECT count(*) FROM items WHERE qty < 0 OR id = 12345") ))
cat > "$WORK/job/pg.yaml" <<YAML
version: 1
name: pg_rejects
source: {connection: "$PG_BASE/src", table: items, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
target: {connection: "$PG_BASE/dst", table: public.items, create: never}
settings: {max_rejects: 100, rejects: rejects/, workers: 2, min_rows_for_parallel: 0}
YAML
expect_exit 0 "$SLUICE" run "$WORK/job/pg.yaml" --progress none
got=$(wc -l < "$WORK/job/rejects/pg_rejects.jsonl")
[ "$got" = "$bad_pg" ] && pass "PG: exactly $got refused rows in the reject file" || fail "PG: $got rows in the reject file, expected $bad_pg"
expect_contains "$WORK/job/rejects/pg_rejects.jsonl" "23514"
expect_contains "$WORK/job/rejects/pg_rejects.jsonl" "23505"
expect_contains "$WORK/job/rejects/pg_rejects.jsonl" '"position":"id=12345"'
[ "$(psql_db dst -c "SELECT count(*) FROM items")" = $((50000 - bad_pg + 1)) ] && pass "PG: every good row loaded" || fail "PG: wrong good-row count"
[ "$(psql_db dst -c "SELECT count(*) FROM sluice.rejects WHERE stream = 'pg_rejects'")" = "$bad_pg" ] && pass "PG: $bad_pg rows in sluice.rejects" || fail "PG: rejects table count"
finish

#!/usr/bin/env bash
# transform: over a PostgreSQL source, against an oracle PostgreSQL computes from the same
# expressions: the loaded rows equal the oracle's (count + ordered md5), the target's earlier
# rows stay untouched, rows whose expression fails are rejects naming the column, filtered rows
# are counted; the filter pushed down to the source and the same filter evaluated in sluice
# (push_down: false) load identical tables; kill -9 + --resume is exact and now() is the run's
# start in every partition, resumed or not. A lookup maps status to the dimension's current
# surrogate key, loaded once per run (a NULL or unknown status gets NULL).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE db"
psql_db db <<'SQL'
CREATE SCHEMA src;
CREATE SCHEMA mart;
CREATE TABLE src.orders (id int8 PRIMARY KEY, status text, amount numeric(12, 2), qty int4, note text,
                         code text, created_at timestamp, score float8, blob bytea, wide text);
INSERT INTO src.orders
  SELECT g,
         (ARRAY['open', 'Shipped', 'cancelled', 'straße', NULL])[g % 5 + 1],
         CASE WHEN g % 11 = 0 THEN NULL ELSE ((g * 37) % 2000 - 300) / 7.0 END,
         g % 4,
         CASE WHEN g % 13 = 0 THEN 'keep ' || g WHEN g % 3 = 0 THEN NULL ELSE 'n''' || g END,
         CASE WHEN g % 97 = 0 THEN 'x' || g ELSE (g % 1000 - 500)::text END,
         '2026-01-01'::timestamp + g * interval '37 minutes',
         CASE WHEN g % 17 = 0 THEN 'NaN'::float8 ELSE g / 3.0 END,
         decode(repeat('ab', 300), 'hex'), repeat('w', 500)
  FROM generate_series(1, 12000) g;
-- Earlier rows of other runs, on ids the source never has: a load must leave them as they are.
CREATE TABLE mart.orders_tx (id int8 PRIMARY KEY, status_uc text, amount_x numeric, per_item numeric, label text,
                             code_num int4, loaded_at timestamptz, big boolean, day timestamp, status_sk int4);
-- A dimension with history: only the current row of a code is the one to take.
CREATE TABLE mart.dim_status (status_code text, status_sk int4, is_current boolean);
INSERT INTO mart.dim_status VALUES ('open', 1, true), ('Shipped', 2, false), ('Shipped', 3, true),
  ('straße', 4, true), ('cancelled', 5, true), ('unused', 6, true);
INSERT INTO mart.orders_tx (id, status_uc, label) SELECT -g, 'EARLIER', 'earlier ' || g FROM generate_series(1, 50) g;
CREATE TABLE mart.earlier AS SELECT * FROM mart.orders_tx;
CREATE TABLE mart.orders_local (LIKE mart.orders_tx INCLUDING ALL);
INSERT INTO mart.orders_local SELECT * FROM mart.earlier;
SQL

FILTER="(status <> 'cancelled' AND amount > 0 AND created_at >= '2026-01-02') OR note LIKE 'keep%' OR status IS NULL AND score > 3000"
job() {  # FILE TABLE PUSH_DOWN
  cat > "$1" <<YAML
version: 1
name: $(basename "$1" .yaml)
source:
  connection: "$PG_BASE/db"
  table: src.orders
  partition: {chunk_rows: 1000}
transform:
  push_down: $3
  columns:
    id: id
    status_uc: upper(status)
    amount_x: amount * 1.1
    per_item: "CASE WHEN qty = 0 THEN NULL ELSE amount / qty END"
    label: "coalesce(note, 'none') || '-' || id"
    code_num: code::int
    loaded_at: now()
    big: amount BETWEEN 100 AND 200 OR score = 'NaN'
    day: created_at::date
  filter: "$FILTER"
lookup:
  status_sk: {from: mart.dim_status, match: {status: status_code}, take: status_sk, filter: is_current}
target: {connection: "$PG_BASE/db", table: $2, key: [id]}
settings: {max_rejects: 1000, rejects: rejects/, min_rows_for_parallel: 0}
YAML
}
job "$WORK/pushed.yaml" mart.orders_tx true
job "$WORK/local.yaml" mart.orders_local false

# The oracle: the same expressions in PostgreSQL, rows whose code is not an integer left out.
psql_db db <<SQL
CREATE TABLE mart.expected AS
  SELECT id, upper(status) AS status_uc, amount * 1.1 AS amount_x,
         CASE WHEN qty = 0 THEN NULL ELSE amount / qty END AS per_item,
         coalesce(note, 'none') || '-' || id AS label, code::int AS code_num,
         amount BETWEEN 100 AND 200 OR score = 'NaN' AS big, created_at::date::timestamp AS day,
         d.status_sk
  FROM src.orders o LEFT JOIN mart.dim_status d ON d.status_code = o.status AND d.is_current
  WHERE ($FILTER) AND code ~ '^-?[0-9]+$';
SQL
expected=$(table_digest db mart.expected id)
kept=$(psql_db db -c "SELECT count(*) FROM src.orders WHERE $FILTER")
bad=$(psql_db db -c "SELECT count(*) FROM src.orders WHERE ($FILTER) AND code !~ '^-?[0-9]+$'")
total=$(psql_db db -c "SELECT count(*) FROM src.orders")
loaded() {  # TABLE: the loaded rows without the time column, as the oracle has them
  table_digest db "(SELECT id, status_uc, amount_x, per_item, label, code_num, big, day, status_sk FROM $1 WHERE id > 0)" id
}

"$SLUICE" plan "$WORK/pushed.yaml" > "$WORK/plan.txt"
expect_contains "$WORK/plan.txt" "amount_x decimal = amount * 1.1"
expect_contains "$WORK/plan.txt" "pushed down: the source reads WHERE"
# Projection push-down: blob and wide, which no expression reads, stay in the source.
expect_contains "$WORK/plan.txt" "reads 8 of 10 columns (id, status, amount, qty, note, code, created_at, score)"
expect_contains "$WORK/plan.txt" "lookup status_sk = mart.dim_status.status_sk WHERE status = status_code AND is_current"
"$SLUICE" plan "$WORK/local.yaml" > "$WORK/plan_local.txt"
expect_contains "$WORK/plan_local.txt" "(evaluated in sluice)"

expect_exit 0 "$SLUICE" run "$WORK/pushed.yaml" --progress json
[ "$(loaded mart.orders_tx)" = "$expected" ] && pass "pushed-down filter: the rows equal the oracle's" \
  || fail "pushed: $(loaded mart.orders_tx) != oracle $expected"
summary=$(grep '"run_finished"' "$WORK/out")
echo "$summary" | grep -q "\"read\":$kept," && pass "pushed down: only the $kept kept rows were read" \
  || fail "pushed down read: $summary"
echo "$summary" | grep -q "\"rejected\":$bad," && pass "$bad rows whose code is not an integer are rejects" \
  || fail "rejects: $summary"
expect_contains "$WORK/rejects/pushed.jsonl" "transform column code_num (code::int)"

expect_exit 0 "$SLUICE" run "$WORK/local.yaml" --progress json
[ "$(loaded mart.orders_local)" = "$expected" ] && pass "filter evaluated in sluice: the rows equal the oracle's" \
  || fail "local: $(loaded mart.orders_local) != oracle $expected"
summary=$(grep '"run_finished"' "$WORK/out")
echo "$summary" | grep -q "\"filtered\":$((total - kept))," && pass "$((total - kept)) rows filtered in sluice, counted" \
  || fail "filtered count: $summary"
for t in orders_tx orders_local; do
  [ "$(table_digest db "(SELECT * FROM mart.$t WHERE id < 0)" id)" = "$(table_digest db mart.earlier id)" ] \
    && pass "$t: earlier rows untouched" || fail "$t: earlier rows changed"
  one=$(psql_db db -c "SELECT count(DISTINCT loaded_at) FROM mart.$t WHERE id > 0")
  [ "$one" = 1 ] && pass "$t: now() is one time, the run's start" || fail "$t: $one distinct now() values"
done

# kill -9 at random moments and resume: exact, and now() still the one start time of the run.
for trial in 1 2 3; do
  psql_db db -c "DELETE FROM mart.orders_tx WHERE id > 0" -c "SET client_min_messages = warning" -c "DROP SCHEMA sluice CASCADE"
  kill_run_after "$((RANDOM % 300 + 20))" "$WORK/pushed.yaml"
  last=$(psql_db db -c "SELECT status FROM sluice.runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)
  if [ "$last" != succeeded ]; then  # else killed after the run finished: nothing to resume
    set +e; "$SLUICE" run "$WORK/pushed.yaml" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
    [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  fi
  [ "$(loaded mart.orders_tx)" = "$expected" ] && pass "trial $trial: kill -9 + resume is exact" \
    || fail "trial $trial: $(loaded mart.orders_tx) != $expected"
  starts=$(psql_db db -c "SELECT count(DISTINCT loaded_at) FROM mart.orders_tx WHERE id > 0")
  [ "$starts" = 1 ] && pass "trial $trial: now() is the run's start in resumed partitions too" \
    || fail "trial $trial: $starts distinct now() values"
done
finish

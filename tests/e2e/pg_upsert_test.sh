#!/usr/bin/env bash
# mode: upsert into PostgreSQL, incremental, against an oracle computed in SQL apart from
# sluice: the target must hold, per key, the latest source row by cursor (duplicate keys in
# one window, ties broken by the second cursor column), and the rows of keys the source never
# had untouched. Counts of inserted / updated / unchanged / superseded rows are checked
# against the oracle's; W=4 and W=1 give the same table; kill -9 + --resume is exact.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE db"
psql_db db <<'SQL'
CREATE SCHEMA src;
CREATE SCHEMA mart;
-- A change log: many rows per id; the latest by (updated_at, seq) is the truth.
CREATE TABLE src.changes (seq int8 PRIMARY KEY, id int8 NOT NULL, updated_at timestamptz,
                          name text, price numeric(12, 2), tags text[], doc json);
INSERT INTO src.changes
  SELECT g, (g * 7919) % 2000 + 100, '2026-11-01 00:00:00+00'::timestamptz + (g % 40) * interval '1 second',
         'n' || g, (g % 1000) / 7.0, ARRAY['t' || (g % 3)], json_build_object('g', g)
  FROM generate_series(1, 6000) g;
-- Rows with no cursor, on ids of their own (on_null: include merges them in every run).
INSERT INTO src.changes SELECT g, g, NULL, 'nocursor', 1, NULL, NULL FROM generate_series(900001, 900010) g;
-- The target: other column order, an extra column with a default, and earlier rows, some on
-- keys the source has (updated by the run) and some on keys it never had (left untouched).
CREATE TABLE mart.dim (price numeric(12, 2), doc json, id int8 PRIMARY KEY, tags text[], name text,
                       updated_at timestamptz, seq int8, loaded_by text DEFAULT 'sluice');
INSERT INTO mart.dim (id, name, price, updated_at, seq, loaded_by)
  SELECT g, 'old' || g, 0, '2020-01-01', -g, 'earlier' FROM generate_series(1, 300) g;
CREATE TABLE mart.baseline AS SELECT * FROM mart.dim;
CREATE TABLE mart.dim1 (LIKE mart.dim INCLUDING ALL);
INSERT INTO mart.dim1 SELECT * FROM mart.baseline;
SQL

job() {  # FILE TABLE WORKERS
  cat > "$1" <<YAML
version: 1
name: $(basename "$1" .yaml)
source:
  connection: "$PG_BASE/db"
  table: src.changes
  partition: {chunk_rows: 1500}
incremental: {cursor: [updated_at, seq], on_null: include}
target: {connection: "$PG_BASE/db", table: $2, mode: upsert, key: [id]}
settings: {workers: $3, min_rows_for_parallel: 1000, batch_rows: 400}
YAML
}
job "$WORK/up4.yaml" mart.dim 4
job "$WORK/up1.yaml" mart.dim1 1

# The oracle: the latest change per id, plus the earlier rows of ids the source never had.
oracle() {
  psql_db db -c "WITH latest AS (SELECT DISTINCT ON (id) id, name, price, updated_at, seq, tags, doc::text AS doc
                   FROM src.changes ORDER BY id, updated_at DESC NULLS LAST, seq DESC),
                 want AS (SELECT * FROM latest UNION ALL
                          SELECT id, name, price, updated_at, seq, tags, doc::text FROM mart.baseline
                          WHERE id NOT IN (SELECT id FROM src.changes))
                 SELECT count(*) || ' ' || md5(string_agg(w::text, '|' ORDER BY id)) FROM want w"
}
loaded() {  # TABLE
  psql_db db -c "SELECT count(*) || ' ' || md5(string_agg(w::text, '|' ORDER BY id))
                 FROM (SELECT id, name, price, updated_at, seq, tags, doc::text AS doc FROM $1) w"
}
same_as_oracle() {  # WHAT TABLE
  local want got; want=$(oracle); got=$(loaded "$2")
  [ "$want" = "$got" ] && pass "$1: $2 equals the oracle ($got)" || fail "$1: $2 is $got, oracle $want"
}
untouched() {  # TABLE
  local bad
  bad=$(psql_db db -c "SELECT count(*) FROM mart.baseline b JOIN $1 t USING (id)
                        WHERE b.id NOT IN (SELECT id FROM src.changes)
                          AND (t.name, t.loaded_by) IS DISTINCT FROM (b.name, b.loaded_by)")
  [ "$bad" = 0 ] && pass "$1: rows of keys the source never had are untouched" || fail "$1: $bad earlier row(s) changed"
}
mark_of() {  # JOB -> "'ts', seq" or empty
  "$SLUICE" checkpoints "$1" --json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m[0]["cursor"][0] + "|" + m[0]["cursor"][1] if m else "")'
}
# What the next run of JOB must count, from the source, the target and the mark alone:
# "inserted updated unchanged superseded".
expected_counts() {  # JOB TABLE
  local mark window
  mark=$(mark_of "$1")
  if [ -n "$mark" ]; then
    window="(updated_at, seq) > ('${mark%%|*}'::timestamptz, ${mark##*|}) OR updated_at IS NULL"
  else
    window="true"
  fi
  psql_db db -c "WITH w AS (SELECT * FROM src.changes WHERE $window),
                 l AS (SELECT DISTINCT ON (id) * FROM w ORDER BY id, updated_at DESC NULLS LAST, seq DESC)
                 SELECT count(*) FILTER (WHERE t.id IS NULL) || ' ' ||
                        count(*) FILTER (WHERE t.id IS NOT NULL AND (t.name, t.price, t.updated_at, t.seq, t.tags, t.doc::text)
                                         IS DISTINCT FROM (l.name, l.price, l.updated_at, l.seq, l.tags, l.doc::text)) || ' ' ||
                        count(*) FILTER (WHERE t.id IS NOT NULL AND (t.name, t.price, t.updated_at, t.seq, t.tags, t.doc::text)
                                         IS NOT DISTINCT FROM (l.name, l.price, l.updated_at, l.seq, l.tags, l.doc::text)) || ' ' ||
                        ((SELECT count(*) FROM w) - count(*))
                 FROM l LEFT JOIN $2 t USING (id)"
}
last_counts() {
  tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"]; print(r["inserted"], r["updated"], r["unchanged"], r["superseded"])'
}
run_checked() {  # WHAT JOB TABLE
  local want got
  want=$(expected_counts "$2" "$3")
  expect_exit 0 "$SLUICE" run "$2" --progress none --yes
  got=$(last_counts)
  [ "$want" = "$got" ] && pass "$1: counts inserted/updated/unchanged/superseded = $got" || fail "$1: counts $got, oracle $want"
  same_as_oracle "$1" "$3"
  untouched "$3"
}

# 1. First runs, 4 workers and 1: every key once, duplicates resolved by the cursor.
expect_exit 0 "$SLUICE" plan "$WORK/up4.yaml"
expect_contains "$WORK/out" "key_range"
run_checked "first run, W=4" "$WORK/up4.yaml" mart.dim
run_checked "first run, W=1" "$WORK/up1.yaml" mart.dim1

# 2. Changes: new ids, new versions of old ones (several per id, ties on updated_at broken by
#    seq), and re-sent rows identical to what the target holds except the cursor.
psql_db db <<'SQL'
INSERT INTO src.changes
  SELECT 10000 + g, CASE WHEN g <= 500 THEN 5000 + g ELSE (g * 31) % 2000 + 100 END,
         '2026-11-02 00:00:00+00'::timestamptz + (g % 5) * interval '1 microsecond',
         'v2-' || (g % 4), g % 9, ARRAY['x'], json_build_object('v', 2)
  FROM generate_series(1, 1500) g;
SQL
run_checked "second run, W=4" "$WORK/up4.yaml" mart.dim
run_checked "second run, W=1" "$WORK/up1.yaml" mart.dim1

# 3. Nothing new: only the NULL-cursor rows are merged again, and they change nothing.
run_checked "run with nothing new" "$WORK/up4.yaml" mart.dim
[ "$(last_counts)" = "0 0 10 0" ] && pass "nothing new: the 10 NULL-cursor rows are unchanged" || fail "nothing new counted $(last_counts)"

# 4. kill -9 in the middle of a run, then --resume: still exactly the oracle.
psql_db db -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.0005); RETURN NEW; END \$\$" \
  -c "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON mart.dim FOR EACH ROW EXECUTE FUNCTION slow()"
psql_db db -c "INSERT INTO src.changes SELECT 20000 + g, (g * 13) % 4000 + 100, '2026-11-03'::timestamptz + g * interval '1 ms',
                 'v3', g, NULL, NULL FROM generate_series(1, 6000) g"
"$SLUICE" run "$WORK/up4.yaml" --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(psql_db db -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.status = 'running' AND p.status = 'committed'")" -gt 0 ] && break
  sleep 0.05
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
psql_db db -c "DROP TRIGGER slow ON mart.dim"
expect_exit 0 "$SLUICE" run "$WORK/up4.yaml" --resume --progress none
same_as_oracle "kill -9 and --resume" mart.dim
untouched mart.dim
inserted=$(psql_db db -c "SELECT sum(rows_inserted) || ' ' || sum(rows_updated) FROM sluice.partitions p JOIN sluice.runs r USING (run_id)
                          WHERE r.run_id = (SELECT run_id FROM sluice.runs WHERE job = 'up4' ORDER BY started_at DESC LIMIT 1)")
[ -n "${inserted%% *}" ] && pass "the ledger keeps each partition's inserted/updated counts ($inserted)" || fail "no merge counts in the ledger"
run_checked "after the resume, W=1 catches up" "$WORK/up1.yaml" mart.dim1
[ "$(loaded mart.dim)" = "$(loaded mart.dim1)" ] && pass "W=4 and W=1 hold the same rows" || fail "W=4 and W=1 differ"

# 5. A full refresh merges everything again: nothing changes.
expect_exit 0 "$SLUICE" run "$WORK/up4.yaml" --full-refresh --progress none --yes
read -r ins upd unch sup <<<"$(last_counts)"
[ "$ins $upd" = "0 0" ] && pass "full refresh: nothing inserted or updated ($unch unchanged, $sup superseded)" || fail "full refresh changed rows: $ins $upd"
same_as_oracle "full refresh" mart.dim

# 6. lookback: late rows with a cursor below the mark (within the lookback) are merged; a late
#    row older than the key's row in the target does not overwrite it.
sed -i 's/incremental: {cursor: \[updated_at, seq\], on_null: include}/incremental: {cursor: [updated_at, seq], on_null: include, lookback: 1h}/' "$WORK/up4.yaml"
grep -q "lookback: 1h" "$WORK/up4.yaml" || fail "the test did not add lookback to the job"
psql_db db -c "INSERT INTO src.changes SELECT 30000 + g, 8000 + g, (SELECT max(updated_at) FROM src.changes) - interval '10 minutes',
                 'late', 7, NULL, NULL FROM generate_series(1, 20) g" \
  -c "INSERT INTO src.changes SELECT 30100, id, updated_at - interval '1 second', 'stale', 0, NULL, NULL
        FROM mart.dim WHERE updated_at > (SELECT max(updated_at) FROM src.changes) - interval '30 minutes' AND id < 900000 ORDER BY id LIMIT 1"
stale_id=$(psql_db db -c "SELECT id FROM src.changes WHERE seq = 30100")
expect_exit 0 "$SLUICE" run "$WORK/up4.yaml" --progress none --yes
[ "$(psql_db db -c "SELECT count(*) FROM mart.dim WHERE name = 'late'")" = 20 ] && pass "lookback: 20 late rows merged" || fail "lookback: late rows missing"
[ "$(psql_db db -c "SELECT name FROM mart.dim WHERE id = $stale_id")" != stale ] && pass "lookback: an older row did not overwrite a newer one" || fail "lookback: the stale row won"
read -r ins upd unch sup <<<"$(last_counts)"
[ "$ins $upd" = "20 0" ] && pass "lookback: 20 inserted, rows read again unchanged ($unch)" || fail "lookback counts: $ins inserted, $upd updated"
same_as_oracle "lookback" mart.dim

# 7. Refusals, before anything loads.
psql_db db -c "CREATE TABLE mart.nokey (id int8, name text, price numeric(12,2), updated_at timestamptz, seq int8, tags text[], doc json)"
sed 's/table: mart.dim,/table: mart.nokey,/' "$WORK/up4.yaml" > "$WORK/nokey.yaml"
expect_exit 1 "$SLUICE" run "$WORK/nokey.yaml" --progress none
expect_contains "$WORK/err" "needs a primary key or unique index on its key"
[ "$(psql_db db -c "SELECT count(*) FROM mart.nokey")" = 0 ] && pass "nothing loaded without a unique key" || fail "rows loaded into mart.nokey"
sed 's/partition: {chunk_rows: 1500}/partition: {column: seq}/' "$WORK/up4.yaml" > "$WORK/badcol.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/badcol.yaml"
expect_contains "$WORK/err" "partition.column seq is not in target.key [id]"
sed 's/partition: {chunk_rows: 1500}/partition: {strategy: ctid}/' "$WORK/up4.yaml" > "$WORK/ctid.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/ctid.yaml"
expect_contains "$WORK/err" "strategy ctid cuts across keys"

# 8. sluice creates the table: the key becomes its primary key; a second run is all unchanged.
sed -e 's/table: mart.dim,/table: mart.fresh,/' -e 's/name: up4/name: fresh/' -e 's/, on_null: include//' \
    -e 's/incremental: .*/incremental: {cursor: [updated_at, seq], on_null: skip}/' "$WORK/up4.yaml" > "$WORK/fresh.yaml"
grep -q "on_null: skip" "$WORK/fresh.yaml" || fail "the test did not rewrite the incremental block"
expect_exit 0 "$SLUICE" run "$WORK/fresh.yaml" --progress none
[ "$(psql_db db -c "SELECT string_agg(a.attname, ',') FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey) WHERE i.indrelid = 'mart.fresh'::regclass AND i.indisprimary")" = id ] \
  && pass "a created upsert target gets the key as primary key" || fail "mart.fresh has no primary key on id"
finish

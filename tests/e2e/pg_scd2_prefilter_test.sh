#!/usr/bin/env bash
# mode scd2 into PostgreSQL, check strategy, PostgreSQL source (raw pass-through): unchanged rows
# are left out of staging by comparing bytes with the current versions (pg_scd2_filter.hpp).
# The same runs go into a second target with that filter off (SLUICE_SCD2_FILTER_BYTES=0: the
# partitions are staged whole) and the two must agree, also when a resumed run's partitions
# overflow the filter's memory budget; each run is also checked against an
# oracle in SQL: counts of new / changed / unchanged / deleted keys from the source and the
# history before the run, current versions = the source, deleted keys flagged, and the rows of
# unchanged keys exactly as before. Tracked values sit at the edges of their types (NULL vs '',
# extreme integers, infinities, empty bytea, a 1 microsecond change). A run killed (kill -9)
# and resumed ends the same.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE db"
psql_db postgres -c "ALTER DATABASE db SET log_statement = 'all'"  # shows which plan ran
psql_db db <<'SQL'
CREATE SCHEMA src;
CREATE SCHEMA mart;
CREATE TABLE src.dim (id bigint PRIMARY KEY, t text, v varchar(20), i int, s smallint, b boolean, u uuid,
                      d date, ts timestamptz, tsn timestamp, by bytea, note text);
INSERT INTO src.dim SELECT g,
  CASE g % 7 WHEN 0 THEN NULL WHEN 1 THEN '' WHEN 2 THEN 'ünï ' || g ELSE 't' || g END,
  CASE WHEN g % 11 = 0 THEN NULL ELSE left('v' || g, 20) END,
  CASE g % 5 WHEN 0 THEN -2147483648 WHEN 1 THEN 2147483647 WHEN 2 THEN NULL ELSE g END,
  CASE g % 3 WHEN 0 THEN -32768 WHEN 1 THEN 32767 ELSE NULL END,
  CASE g % 3 WHEN 0 THEN true WHEN 1 THEN false ELSE NULL END,
  CASE WHEN g % 13 = 0 THEN NULL ELSE md5(g::text)::uuid END,
  CASE g % 4 WHEN 0 THEN 'infinity'::date WHEN 1 THEN '-infinity'::date WHEN 2 THEN '0001-01-01'::date
             ELSE '2026-01-01'::date + g END,
  CASE g % 4 WHEN 0 THEN 'infinity'::timestamptz WHEN 1 THEN '4713-01-01 00:00:00+00 BC'::timestamptz
             WHEN 2 THEN NULL ELSE '2026-01-01 00:00:00+00'::timestamptz + g * interval '1 microsecond' END,
  '2026-01-01'::timestamp + g * interval '1 second',
  CASE g % 6 WHEN 0 THEN NULL WHEN 1 THEN ''::bytea ELSE decode(md5(g::text), 'hex') END,
  'note ' || g
FROM generate_series(1, 4000) g;
-- The targets: another column order, an extra column, and history from earlier runs: keys 1-100
-- have a closed version and a current one equal to the source but without a hash (made by
-- hand), keys 900001-900020 (which the source lacks) a current version, deleted for even keys.
CREATE TABLE mart.h_filtered (scd2_hash text, by bytea, tsn timestamp, ts timestamptz, d date, u uuid, b boolean,
  s smallint, i int, v varchar(20), t text, note text, id bigint NOT NULL, loaded_by text DEFAULT 'sluice',
  valid_from timestamptz NOT NULL, valid_to timestamptz, is_current boolean NOT NULL DEFAULT true,
  is_deleted boolean NOT NULL DEFAULT false);
INSERT INTO mart.h_filtered (id, t, i, valid_from, valid_to, is_current, loaded_by)
  SELECT id, 'old', 1, '2020-01-01', '2021-01-01', false, 'earlier' FROM src.dim WHERE id <= 100;
INSERT INTO mart.h_filtered (id, t, v, i, s, b, u, d, ts, tsn, by, note, valid_from, loaded_by)
  SELECT id, t, v, i, s, b, u, d, ts, tsn, by, note, '2021-01-01', 'earlier' FROM src.dim WHERE id <= 100;
INSERT INTO mart.h_filtered (id, t, valid_from, valid_to, is_current, is_deleted, loaded_by)
  SELECT g, 'gone ' || g, '2021-01-01', NULL, true, g % 2 = 0, 'earlier' FROM generate_series(900001, 900020) g;
CREATE UNIQUE INDEX ON mart.h_filtered (id, valid_from);
CREATE UNIQUE INDEX ON mart.h_filtered (id) WHERE is_current;
CREATE TABLE mart.h_whole (LIKE mart.h_filtered INCLUDING ALL);
INSERT INTO mart.h_whole SELECT * FROM mart.h_filtered;
SQL

job() {  # NAME TABLE WORKERS
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "$PG_BASE/db", table: src.dim, partition: {chunk_rows: 700}}
target:
  connection: "$PG_BASE/db"
  table: $2
  mode: scd2
  key: [id]
  scd2: {tracked: [t, v, i, s, b, u, d, ts, tsn, by], hard_deletes: new_record}
settings: {workers: $3, min_rows_for_parallel: 100, batch_rows: 300}
YAML
}
job filtered mart.h_filtered 3
job whole mart.h_whole 3
tracked="t, v, i, s, b, u, d, ts, tsn, by"

# What the next run into TABLE must count: "inserted updated deleted unchanged". A key whose
# current version is a deletion and that comes back is updated (it has a history), not new.
expected_counts() {  # TABLE
  psql_db db -c "WITH c AS (SELECT * FROM $1 WHERE is_current AND NOT is_deleted)
    SELECT (SELECT count(*) FROM src.dim s WHERE NOT EXISTS (SELECT 1 FROM $1 h WHERE h.id = s.id AND h.is_current)) || ' ' ||
           ((SELECT count(*) FROM src.dim s JOIN c USING (id) WHERE (s.t, s.v, s.i, s.s, s.b, s.u, s.d, s.ts, s.tsn, s.by)
              IS DISTINCT FROM (c.t, c.v, c.i, c.s, c.b, c.u, c.d, c.ts, c.tsn, c.by)) +
            (SELECT count(*) FROM src.dim s JOIN $1 h ON h.id = s.id AND h.is_current AND h.is_deleted)) || ' ' ||
           (SELECT count(*) FROM c WHERE NOT EXISTS (SELECT 1 FROM src.dim s WHERE s.id = c.id)) || ' ' ||
           (SELECT count(*) FROM src.dim s JOIN c USING (id) WHERE (s.t, s.v, s.i, s.s, s.b, s.u, s.d, s.ts, s.tsn, s.by)
              IS NOT DISTINCT FROM (c.t, c.v, c.i, c.s, c.b, c.u, c.d, c.ts, c.tsn, c.by))"
}
last_counts() {
  tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"]; print(r["inserted"], r["updated"], r["deleted"], r["unchanged"])'
}
# The keys the run must leave alone: unchanged ones (their whole history, hash and times included).
keep_unchanged() {  # TABLE
  psql_db db -c "DROP TABLE IF EXISTS mart.before" -c "CREATE TABLE mart.before AS SELECT h.* FROM $1 h
    WHERE h.id IN (SELECT c.id FROM $1 c JOIN src.dim s USING (id) WHERE c.is_current AND NOT c.is_deleted
                   AND (s.t, s.v, s.i, s.s, s.b, s.u, s.d, s.ts, s.tsn, s.by)
                   IS NOT DISTINCT FROM (c.t, c.v, c.i, c.s, c.b, c.u, c.d, c.ts, c.tsn, c.by))"
}
check_table() {  # WHAT TABLE
  local bad
  bad=$(psql_db db -c "SELECT
    (SELECT count(*) FROM ((SELECT id, $tracked FROM src.dim EXCEPT ALL
                            SELECT id, $tracked FROM $2 WHERE is_current AND NOT is_deleted)
                           UNION ALL (SELECT id, $tracked FROM $2 WHERE is_current AND NOT is_deleted
                                      EXCEPT ALL SELECT id, $tracked FROM src.dim)) d) || ' ' ||
    (SELECT count(*) FROM $2 h WHERE h.is_current AND h.is_deleted AND EXISTS (SELECT 1 FROM src.dim s WHERE s.id = h.id)) || ' ' ||
    (SELECT count(*) FROM (SELECT id FROM $2 GROUP BY id HAVING count(*) FILTER (WHERE is_current) <> 1) m) || ' ' ||
    (SELECT count(*) FROM ((SELECT * FROM mart.before EXCEPT ALL SELECT h.* FROM $2 h WHERE h.id IN (SELECT id FROM mart.before))
                           UNION ALL (SELECT h.* FROM $2 h WHERE h.id IN (SELECT id FROM mart.before)
                                      EXCEPT ALL SELECT * FROM mart.before)) u)")
  [ "$bad" = "0 0 0 0" ] && pass "$1: current versions = the source, deleted keys flagged, one current row per key, unchanged keys untouched" ||
    fail "$1: $2: current versions off by / live keys flagged deleted / keys without one current row / unchanged keys' rows changed: $bad"
}
run_checked() {  # WHAT NAME TABLE [env...]
  local what=$1 name=$2 table=$3 want got
  shift 3
  want=$(expected_counts "$table")
  keep_unchanged "$table"
  expect_exit 0 env "$@" "$SLUICE" run "$WORK/$name.yaml" --progress none --yes
  got=$(last_counts)
  [ "$want" = "$got" ] && pass "$what: $table counts inserted/updated/deleted/unchanged = $got" ||
    fail "$what: $table counted $got, the oracle $want"
  check_table "$what" "$table"
}
# Both targets' histories, run times aside (each job has its own).
same_histories() {  # WHAT
  local a b
  a=$(table_digest db "(SELECT id, $tracked, note, is_current, is_deleted, valid_to IS NULL AS open, scd2_hash FROM mart.h_filtered)" "t::text")
  b=$(table_digest db "(SELECT id, $tracked, note, is_current, is_deleted, valid_to IS NULL AS open, scd2_hash FROM mart.h_whole)" "t::text")
  [ "$a" = "$b" ] && pass "$1: filtered and whole staging give the same history ($a)" || fail "$1: filtered $a, whole $b"
}
# Partitions that read the current versions of TABLE (not the check on no rows at the start).
prefiltered() {  # TABLE
  grep "COPY (SELECT x.\"id\", x.\"t\".* FROM $1 x" "$WORK/pg/server.log" | grep -vc '1 = 0' || true
}

# 1. The first load, then a run that changes nothing: every row is dropped before staging.
run_checked "first run" filtered mart.h_filtered
run_checked "first run" whole mart.h_whole SLUICE_SCD2_FILTER_BYTES=0
expect_contains "$WORK/out" "pass-through"
same_histories "first run"
before=$(prefiltered '"mart"."h_filtered"')
run_checked "nothing changed" filtered mart.h_filtered
[ "$(last_counts)" = "0 0 0 4000" ] && pass "nothing changed: 4000 unchanged" || fail "nothing changed counted $(last_counts)"
[ "$(prefiltered '"mart"."h_filtered"')" -gt "$before" ] && pass "the filtered job read the current versions before staging" ||
  fail "the filtered job never read the current versions: the filter did not run"
[ "$(prefiltered '"mart"."h_whole"')" = 0 ] && pass "a budget of 0 stages partitions whole" ||
  fail "the job with SLUICE_SCD2_FILTER_BYTES=0 still filtered"
run_checked "nothing changed" whole mart.h_whole SLUICE_SCD2_FILTER_BYTES=0

# 2. Changes at the edges of each tracked type (one column per key), an untracked column that
#    changes alone, deleted keys and new ones.
change() {  # SEED
  psql_db db <<SQL
UPDATE src.dim SET
  t = CASE WHEN id % 10 = 3 THEN CASE WHEN t IS NULL THEN '' WHEN t = '' THEN NULL ELSE t || 'x' END ELSE t END,
  v = CASE WHEN id % 10 = 4 THEN CASE WHEN v IS NULL THEN 'w' ELSE NULL END ELSE v END,
  i = CASE WHEN id % 10 = 6 THEN CASE WHEN i IS NULL THEN 0 WHEN i = 2147483647 THEN -2147483648 ELSE i + $1 END ELSE i END,
  b = CASE WHEN id % 20 = 8 THEN NOT coalesce(b, false) ELSE b END,
  ts = CASE WHEN id % 20 = 18 THEN coalesce(ts, 'infinity') + interval '1 microsecond' ELSE ts END,
  by = CASE WHEN id % 10 = 9 THEN CASE WHEN by IS NULL THEN ''::bytea ELSE by || '\\x00'::bytea END ELSE by END,
  note = CASE WHEN id % 10 = 5 THEN note || ' edited' ELSE note END
WHERE id % 10 IN (3, 4, 5, 6, 9) OR id % 20 IN (8, 18);
DELETE FROM src.dim WHERE id % 50 = 7 + $1;
INSERT INTO src.dim (id, t, i, by) SELECT 100000 * $1 + g, 'new', g, ''::bytea FROM generate_series(1, 60) g;
SQL
}
change 1
run_checked "changed run" filtered mart.h_filtered
run_checked "changed run" whole mart.h_whole SLUICE_SCD2_FILTER_BYTES=0
same_histories "changed run"

# 3. Deleted keys come back, more change; the filtered job is killed mid-run and resumed.
psql_db db -c "INSERT INTO src.dim (id, t) SELECT g, 'back' FROM generate_series(1, 4000) g WHERE g % 50 = 8 ON CONFLICT DO NOTHING"
change 2
keep_unchanged mart.h_filtered
psql_db db -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.002); RETURN NEW; END \$\$" \
  -c "CREATE TRIGGER slow BEFORE INSERT OR UPDATE ON mart.h_filtered FOR EACH ROW EXECUTE FUNCTION slow()"
"$SLUICE" run "$WORK/filtered.yaml" --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(psql_db db -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'filtered' AND r.status = 'running' AND p.status = 'committed'")" -gt 0 ] && break
  sleep 0.05
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
psql_db db -c "DROP TRIGGER slow ON mart.h_filtered"
# The resumed partitions overflow a 1-byte budget: they are staged whole after all.
expect_exit 0 env SLUICE_SCD2_FILTER_BYTES=1 "$SLUICE" run "$WORK/filtered.yaml" --progress none --resume
check_table "killed and resumed" mart.h_filtered
run_checked "changed run" whole mart.h_whole SLUICE_SCD2_FILTER_BYTES=0
same_histories "killed and resumed"
finish

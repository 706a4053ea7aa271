#!/usr/bin/env bash
# MariaDB target against a real mariadbd: PostgreSQL values at their edges land exactly
# (expected values written here; text and bytes compared by md5 computed by each server), an
# append next to earlier rows of a table with its own column order leaves them untouched, a
# replace keeps the table's indexes and views, kill -9 + --resume is exact (append and
# replace), refused values become rejects, the INSERT fallback without LOCAL INFILE, MariaDB
# to MariaDB, upserts (counts, last row of a key wins), and --restart refusing to leave rows
# it cannot take back.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
psql_db postgres -c "CREATE DATABASE src"
maria sluice_test "CREATE DATABASE dst"
SRC="$PG_BASE/src"
DST="$MARIADB_BASE/dst"
cd "$WORK"

# --- PostgreSQL values at their edges -------------------------------------------------------
psql_db src <<'SQL'
CREATE TABLE edge (id int PRIMARY KEY, b bool, i2 smallint, i4 int, i8 bigint, f4 real, f8 float8,
  n numeric(65,30), n2 numeric(12,2), t text, bin bytea, d date, ts timestamp(6), tz timestamptz,
  tm time, j json, u uuid, iv interval, arr int[]);
INSERT INTO edge VALUES
 (1, true, -32768, -2147483648, -9223372036854775808, 3.4028235e38, 1.7976931348623157e308,
  '12345678901234567890123456789012345.123456789012345678901234567890', -9999999999.99,
  E'tab\there\nnl \\ back ''q'' \u00e9 \U0001F600', '\x00ff5c0a09', '1000-01-01',
  '9999-12-31 23:59:59.999999', '2024-06-01 12:00:00.5+02', '23:59:59.999999', '{"k": [1, 2.50, "x"]}',
  'ffffffff-ffff-ffff-ffff-ffffffffffff', '1 year 2 days 03:04:05', '{1,NULL,3}'),
 (2, false, 32767, 2147483647, 9223372036854775807, 1.17549435e-38, 2.2250738585072014e-308, 0, 0.01,
  '', '\x', '2024-02-29', '1970-01-01 00:00:00', '1970-01-01 00:00:00+00', '00:00:00', '[]',
  '00000000-0000-0000-0000-000000000000', '0', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table edge --progress none
got=$(maria dst "SELECT id, b, i2, i4, i8, f4 + 0e0, f8, n, n2, d, ts, tz, tm, j, u, iv, arr, IF(t IS NULL, 'null', 'set') FROM edge ORDER BY id" | tr '\t' '|')
want='1|1|-32768|-2147483648|-9223372036854775808|3.4028234663852886e38|1.7976931348623157e308|12345678901234567890123456789012345.123456789012345678901234567890|-9999999999.99|1000-01-01|9999-12-31 23:59:59.999999|2024-06-01 10:00:00.500000|23:59:59.999999|{"k": [1, 2.50, "x"]}|ffffffff-ffff-ffff-ffff-ffffffffffff|1 year 2 days 03:04:05|{1,NULL,3}|set
2|0|32767|2147483647|9223372036854775807|1.1754943508222875e-38|2.2250738585072014e-308|0.000000000000000000000000000000|0.01|2024-02-29|1970-01-01 00:00:00.000000|1970-01-01 00:00:00.000000|00:00:00.000000|[]|00000000-0000-0000-0000-000000000000|00:00:00|{}|set
3|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|null'
[ "$got" = "$want" ] && pass "PostgreSQL values at their edges land exactly in MariaDB" || { fail "edge values differ"; diff <(echo "$want") <(echo "$got") || true; }
for c in t bin; do
  [ "$(maria dst "SELECT GROUP_CONCAT(COALESCE(MD5($c), '-') ORDER BY id) FROM edge")" = "$(psql_db src -c "SELECT string_agg(coalesce(md5($c), '-'), ',' ORDER BY id) FROM edge")" ] \
    && pass "column $c is byte-exact (tabs, newlines, backslashes, quotes, 4-byte UTF-8, NUL bytes)" || fail "column $c differs"
done
types=$(maria dst "SELECT GROUP_CONCAT(COLUMN_TYPE ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = 'dst' AND TABLE_NAME = 'edge'")
[ "$types" = "int(11),tinyint(1),smallint(6),int(11),bigint(20),float,double,decimal(65,30),decimal(12,2),longtext,longblob,date,datetime(6),datetime(6),time(6),longtext,char(36),longtext,longtext" ] \
  && pass "created column types: $types" || fail "created column types: $types"

# --- append next to earlier rows, columns in another order ----------------------------------
psql_db src <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, tenant int, note text, amount numeric(12,2), at timestamp(6));
INSERT INTO events SELECT g, g % 15, repeat(md5(g::text), 1 + g % 3) || CASE WHEN g % 97 = 0 THEN E'\t\\' ELSE '' END,
  (g % 100000) / 100.0, '2025-01-01'::timestamp + g * interval '1.5 second' FROM generate_series(1, 200000) g;
SQL
pg_digest() {  # [WHERE]
  psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(md5(concat_ws(',', id, tenant, note, amount, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'))), '' ORDER BY id)) FROM events ${1:-}"
}
maria_digest() {  # TABLE [WHERE]
  maria dst "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(MD5(CONCAT_WS(',', id, tenant, note, amount, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'))) ORDER BY id SEPARATOR ''))) FROM $1 ${2:-}"
}
expected=$(pg_digest)
maria dst "CREATE TABLE kept (note varchar(200), extra varchar(10) DEFAULT 'dflt', at datetime(6), id bigint PRIMARY KEY, amount decimal(12,2), tenant int, KEY by_tenant (tenant)); INSERT INTO kept (id, note, extra) VALUES (-1, 'earlier', 'mine')"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table kept --chunk-rows 30000 --min-rows-for-parallel 1 -w 2 --progress none
[ "$(maria_digest kept 'WHERE id > 0')" = "$expected" ] && pass "append by column name into a table of another column order is exact" || fail "kept: $(maria_digest kept 'WHERE id > 0') != $expected"
[ "$(maria dst "SELECT CONCAT(note, '/', extra) FROM kept WHERE id = -1")" = "earlier/mine" ] && [ "$(maria dst "SELECT COUNT(*) FROM kept WHERE extra = 'dflt'")" = 200000 ] \
  && pass "the earlier row is untouched; the column the source lacks takes its default" || fail "earlier row or default changed"
grep -q "exactly once" <("$SLUICE" copy "$SRC" "$DST" --table events --target-table kept --dry-run 2>&1) && pass "plan says exactly once" || fail "plan lacks the delivery note"

# --- replace keeps the table's indexes and its views ------------------------------------------
maria dst "CREATE VIEW kept_view AS SELECT id, note FROM kept WHERE tenant = 3"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table kept --mode replace --chunk-rows 30000 --min-rows-for-parallel 1 -w 2 --progress none
[ "$(maria_digest kept)" = "$expected" ] && pass "replace publishes exactly the source" || fail "replace: $(maria_digest kept)"
[ "$(maria dst "SELECT COUNT(*) FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = 'dst' AND TABLE_NAME = 'kept' AND INDEX_NAME = 'by_tenant'")" != 0 ] \
  && [ "$(maria dst "SELECT COUNT(*) FROM kept_view")" = "$(psql_db src -c "SELECT count(*) FROM events WHERE tenant = 3")" ] \
  && pass "the replaced table keeps its index, and its view reads the new rows" || fail "index or view lost"
[ "$(maria dst "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = 'dst' AND TABLE_NAME LIKE '%sluice_new' OR TABLE_NAME LIKE '%sluice_old'")" = 0 ] \
  && pass "no staging table left behind" || fail "staging tables left"

# --- refused values become rejects --------------------------------------------------------------
maria dst "CREATE TABLE narrow (id bigint PRIMARY KEY, note varchar(40) NOT NULL, amount decimal(6,2))"
psql_db src -c "CREATE TABLE wide AS SELECT g AS id, CASE WHEN g % 1000 = 0 THEN repeat('x', 41) ELSE 'ok' || g END AS note, CASE WHEN g = 777 THEN 12345.67 ELSE 1.5 END AS amount FROM generate_series(1, 20000) g" \
  -c "ALTER TABLE wide ADD PRIMARY KEY (id)"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table wide --target-table narrow --max-rejects 50 --rejects "$WORK/rejects" --progress none
[ "$(maria dst "SELECT CONCAT(COUNT(*), ' ', SUM(id)) FROM narrow")" = "$(psql_db src -c "SELECT count(*) || ' ' || sum(id) FROM wide WHERE id % 1000 <> 0 AND id <> 777")" ] \
  && pass "the 21 refused rows are set aside, every other row loads" || fail "narrow: $(maria dst "SELECT COUNT(*) FROM narrow")"
[ "$(cat "$WORK"/rejects/*.jsonl | wc -l)" = 21 ] && grep -q "Data truncated" "$WORK"/rejects/*.jsonl && grep -q "Out of range" "$WORK"/rejects/*.jsonl \
  && pass "the reject file names each refused row and MariaDB's reason" || { fail "rejects"; cat "$WORK"/rejects/*.jsonl | head -3; }

# --- without LOCAL INFILE: multi-row INSERTs ------------------------------------------------------
maria dst "SET GLOBAL local_infile = 0"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table by_insert --chunk-rows 50000 --min-rows-for-parallel 1 -w 2 --progress none
maria dst "SET GLOBAL local_infile = 1"
[ "$(maria_digest by_insert)" = "$expected" ] && pass "a server refusing LOCAL INFILE is loaded by INSERT, exactly" || fail "by_insert: $(maria_digest by_insert)"

# --- MariaDB to MariaDB -----------------------------------------------------------------------
expect_exit 0 "$SLUICE" copy "$DST" "$MARIADB_BASE/sluice_test" --table kept --target-table copied --chunk-rows 40000 --min-rows-for-parallel 1 -w 2 --progress none
[ "$(maria sluice_test "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(MD5(CONCAT_WS(',', id, tenant, note, amount, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'))) ORDER BY id SEPARATOR ''))) FROM copied")" = "$expected" ] \
  && pass "MariaDB to MariaDB is exact" || fail "MariaDB to MariaDB differs"

# --- upsert: changed rows update, identical rows stay, the last row of a key wins ------------
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table merged --mode upsert --key id --chunk-rows 40000 --min-rows-for-parallel 1 -w 2 --progress none
[ "$(maria_digest merged)" = "$expected" ] && pass "upsert into a new table is exact" || fail "merged: $(maria_digest merged)"
psql_db src -c "UPDATE events SET note = note || '!' WHERE id % 50 = 0" -c "INSERT INTO events SELECT g, 1, 'late', 1.00, '2030-01-01' FROM generate_series(200001, 200500) g"
expected=$(pg_digest)
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table merged --mode upsert --key id --chunk-rows 40000 --min-rows-for-parallel 1 -w 2 --progress json
counts=$(grep '"run_finished"' "$WORK/out" | python3 -c 'import json, sys; r = json.load(sys.stdin)["rows"]; print(r["inserted"], r["updated"], r["unchanged"], r["superseded"])')
[ "$counts" = "500 4000 196000 0" ] && pass "upsert counts: 500 inserted, 4000 updated, 196000 unchanged" || fail "upsert counts: $counts"
[ "$(maria_digest merged)" = "$expected" ] && pass "the merged table equals the changed source" || fail "merged after changes differs"
cat > "$WORK/dups.yaml" <<YAML
version: 1
name: maria_dups
connections: {src: "$SRC", dst: "$DST"}
source: {connection: src, query: "SELECT id % 1000 AS id, note FROM events ORDER BY events.id", partition: {strategy: none}}
target: {connection: dst, table: dups, mode: upsert, key: [id]}
YAML
expect_exit 0 "$SLUICE" run "$WORK/dups.yaml" --progress none
[ "$(maria dst "SELECT MD5(GROUP_CONCAT(CONCAT(id, ':', note) ORDER BY id)) FROM dups")" = "$(psql_db src -c "SELECT md5(string_agg(id || ':' || note, ',' ORDER BY id)) FROM (SELECT DISTINCT ON (id % 1000) id % 1000 AS id, note FROM events ORDER BY id % 1000, events.id DESC) d")" ] \
  && pass "of a key's rows in one partition the last read wins" || fail "dups: the wrong row won"

# --- kill -9 and --resume ---------------------------------------------------------------------
cat > "$WORK/job.yaml" <<YAML
version: 1
name: maria_target_crash
connections: {src: "$SRC", dst: "$DST"}
source: {connection: src, table: events, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
target: {connection: dst, table: crash}
settings: {workers: 2}
YAML
sed 's/table: crash}$/table: crash, mode: replace}/' "$WORK/job.yaml" > "$WORK/replace.yaml"
start=$(date +%s%N)
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(maria_digest crash)" = "$expected" ] && pass "uninterrupted load is exact (${full_ms} ms)" || fail "uninterrupted load differs"
for trial in $(seq 1 "${SLUICE_CRASH_TRIALS:-6}"); do
  job="$WORK/job.yaml"
  if [ $((trial % 2)) = 0 ]; then job="$WORK/replace.yaml"; else maria dst "DROP TABLE IF EXISTS crash"; fi
  runs_before=$(sqlite3 "$WORK/maria_target_crash.sluice.db" "SELECT COUNT(*) FROM sluice_runs")
  kill_run_after $(( (RANDOM % 90 + 5) * full_ms / 100 )) "$job"
  committed=$(maria dst "SELECT COUNT(*) FROM sluice_partition_marks WHERE job = 'maria_target_crash'" 2>/dev/null || echo -)
  # The ledger keeps earlier runs: only a run this trial started can have finished (a kill before
  # the run's row exists leaves an earlier, succeeded run latest, and --resume then starts afresh).
  if [ "$(sqlite3 "$WORK/maria_target_crash.sluice.db" "SELECT COUNT(*) FROM sluice_runs")" -gt "$runs_before" ] \
    && [ "$(sqlite3 "$WORK/maria_target_crash.sluice.db" "SELECT status FROM sluice_runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null)" = succeeded ]; then
    [ "$(maria_digest crash)" = "$expected" ] && pass "trial $trial: killed after the run finished; exact" || fail "trial $trial: finished run differs"
    continue
  fi
  set +e; "$SLUICE" run "$job" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
  [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  got=$(maria_digest crash)
  [ "$got" = "$expected" ] && pass "trial $trial ($(basename "$job" .yaml)): killed with $committed partition mark(s) in the target; resume is exact" \
    || fail "trial $trial: '$got' != '$expected'"
done

# --- --restart cannot take rows back: it refuses and loses nothing ---------------------------
maria dst "DROP TABLE IF EXISTS crash"
for _ in 1 2 3 4 5; do
  kill_run_after $(( full_ms / 2 )) "$WORK/job.yaml"
  [ "$(maria dst "SELECT COUNT(*) FROM sluice_partition_marks WHERE job = 'maria_target_crash'")" -gt 0 ] && break
done
before=$(maria dst "SELECT COUNT(*) FROM crash")
expect_exit 2 "$SLUICE" run "$WORK/job.yaml" --restart --progress none || true
grep -q "use --resume to finish" "$WORK/err" && [ "$(maria dst "SELECT COUNT(*) FROM crash")" = "$before" ] \
  && pass "--restart refuses, naming --resume, and the $before rows stay as they were" || { fail "restart"; cat "$WORK/err"; }
set +e; "$SLUICE" run "$WORK/job.yaml" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
[ "$code" = 0 ] && [ "$(maria_digest crash)" = "$expected" ] && pass "--resume after the refused restart is exact" || { fail "resume after restart: exit $code, $(maria_digest crash)"; cat "$WORK/err"; }

# --- kill -9 while replace waits to publish: the old table stays whole, --resume publishes ---
maria dst "INSERT INTO crash (id) VALUES (-1)"   # the old table differs from the source by this row
old=$(maria_digest crash)
maria dst "START TRANSACTION; SELECT COUNT(*) FROM crash; DO SLEEP(6); COMMIT" >/dev/null &
holder=$!
sleep 0.3
"$SLUICE" run "$WORK/replace.yaml" --progress none >/dev/null 2>&1 &
run=$!
waiting=""
for _ in $(seq 1 250); do
  waiting=$(maria sluice_test "SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE INFO LIKE 'RENAME TABLE%'")
  [ "$waiting" != 0 ] && break
  sleep 0.02
done
kill -9 "$run" 2>/dev/null || true; wait "$run" 2>/dev/null || true
wait "$holder" || true
[ "$waiting" != 0 ] && [ "$(maria_digest crash)" = "$old" ] && pass "killed inside the publish (RENAME waiting on a lock): the old table is whole" \
  || fail "publish kill: waiting=$waiting, $(maria_digest crash) != $old"
set +e; "$SLUICE" run "$WORK/replace.yaml" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
[ "$code" = 0 ] && [ "$(maria_digest crash)" = "$expected" ] && pass "--resume then publishes exactly the source" || { fail "resume after a publish kill: exit $code"; cat "$WORK/err"; }

# --- two processes on one job: the second is refused, the first loads exactly ----------------
sed -e 's/^name: maria_target_crash$/name: maria_two/' -e 's/table: crash}$/table: two}/' "$WORK/job.yaml" > "$WORK/two.yaml"
"$SLUICE" run "$WORK/two.yaml" --progress none >"$WORK/first.out" 2>&1 &
first=$!
for _ in $(seq 1 200); do [ -n "$(maria dst "SHOW TABLES LIKE 'two'")" ] && break; sleep 0.02; done
expect_exit 2 "$SLUICE" run "$WORK/two.yaml" --progress none || true
grep -q "is being run right now" "$WORK/err" && pass "a second process on the job is refused while the first runs" || { fail "second process"; cat "$WORK/err"; }
set +e; wait "$first"; code=$?; set -e
[ "$code" = 0 ] && [ "$(maria_digest two)" = "$expected" ] && pass "the first process's load is exact" || { fail "first process: exit $code"; cat "$WORK/first.out"; }

# --- errors ------------------------------------------------------------------------------------
expect_exit 1 "$SLUICE" copy "$SRC" "$DST" --table events --target-table kept_view --progress none || true
grep -q "is a view" "$WORK/err" && pass "a view as target is refused" || { fail "view target"; cat "$WORK/err"; }
maria dst "CREATE TABLE audited LIKE kept; CREATE TABLE audit_log (n int); CREATE TRIGGER audited_ins AFTER INSERT ON audited FOR EACH ROW INSERT INTO audit_log VALUES (1); INSERT INTO audited (id, note) VALUES (1, 'mine')"
expect_exit 1 "$SLUICE" copy "$SRC" "$DST" --table events --target-table audited --mode replace --progress none || true
grep -q "would lose what depends on it" "$WORK/err" && [ "$(maria dst "SELECT note FROM audited")" = mine ] \
  && pass "replace of a table with a trigger is refused before loading; the table is untouched" || { fail "replace with trigger"; cat "$WORK/err"; }
expect_exit 2 "$SLUICE" copy "$SRC" "mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT/" --table events --target-table dst.x --progress none || true
grep -q "must name a database" "$WORK/err" && pass "a target URL without a database is refused (the marks live there)" || { fail "URL without database"; cat "$WORK/err"; }
maria dst "CREATE TABLE nokey (id bigint, tenant int, note text, amount decimal(12,2), at datetime(6))"
expect_exit 1 "$SLUICE" copy "$SRC" "$DST" --table events --target-table nokey --mode upsert --key id --progress none || true
grep -q "must be the table's primary key or a UNIQUE index" "$WORK/err" && [ "$(maria dst "SELECT COUNT(*) FROM nokey")" = 0 ] \
  && pass "an upsert by a key without a unique index is refused before loading" || { fail "upsert without unique key"; cat "$WORK/err"; }
finish

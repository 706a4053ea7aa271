#!/usr/bin/env bash
# ODBC source through real drivers against real servers: psqlODBC (PostgreSQL), MariaDB
# Connector/ODBC and the SQLite ODBC driver, into PostgreSQL. Each type at its edges (oracle:
# the source's own output, or values written here), each partition strategy exact against the
# source (count + md5 of the ordered rows), a target holding earlier rows, long values past
# every declared length, rejects, kill -9 + resume, and the errors a user meets.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
psql_db postgres -c "CREATE DATABASE dst"
DST="$PG_BASE/dst"
PG_ODBC="odbc://Driver={PostgreSQL Unicode};Server=127.0.0.1;Port=$PGPORT;Database=postgres;Uid=$PGUSER;Pwd=$PGPASSWORD"
MARIA_ODBC="odbc://Driver={MariaDB Unicode};Socket=$MARIADB_SOCKET;Database=sluice_test;Uid=$MARIADB_USER;Pwd=$MARIADB_PASSWORD"
SQLITE_ODBC="odbc://Driver=SQLite3;Database=$WORK/src.db"

# --- psqlODBC: PostgreSQL types at their edges, values longer than any declared length -------
psql_db postgres <<'SQL'
CREATE TABLE ptypes (id int PRIMARY KEY, i2 smallint, i4 int, i8 bigint, b bool, r real, d float8,
  n numeric, n2 numeric(10,2), t text, v varchar(20), c char(3), by bytea, dt date, tm time, ts timestamp,
  u uuid, j jsonb, long_t text, arr int[]);
INSERT INTO ptypes VALUES
 (1, -32768, -2147483648, -9223372036854775808, true, 3.4028235e38, 1.7976931348623157e308,
  -1234567890123456789012345678901234567890.12345678901234567890, -12.50, E'h\u00e9llo \U0001F600 ''q'' \\', 'x', 'ab',
  '\x00ff27', '2024-02-29', '23:59:59.999999', '2000-01-01 00:00:00.000001', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  jsonb_build_object('k', repeat('j', 1000)), repeat(E'\u00e9', 20000) || 'Z', ARRAY[1, NULL, 3]),
 (2, 32767, 2147483647, 9223372036854775807, false, 1.17549435e-38, 2.2250738585072014e-308, 'NaN', 0,
  '', '', '', '', '0001-01-01', '00:00:00', '1970-01-01 00:00:00', '00000000-0000-0000-0000-000000000000',
  '[]', '', '{}'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
SQL
expect_exit 0 "$SLUICE" copy "$PG_ODBC" "$DST" --table ptypes --progress none
want=$(psql_db postgres -F '|' -c "SELECT * FROM ptypes ORDER BY id")
got=$(psql_db dst -F '|' -c "SELECT * FROM ptypes ORDER BY id")
[ "$got" = "$want" ] && pass "every PostgreSQL type through psqlODBC lands as the source prints it" \
  || { fail "psqlODBC types differ"; diff <(echo "$want") <(echo "$got") | cut -c1-300 || true; }
[ "$(psql_db dst -c "SELECT length(long_t), length(j::text) FROM ptypes WHERE id = 1")" = "20001|1009" ] \
  && pass "values past the driver's declared lengths (text 8190, unknown 255) arrive whole" || fail "long values cut"
types=$(psql_db dst -c "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'ptypes'::regclass AND attnum > 0")
[ "$types" = "integer,smallint,integer,bigint,boolean,real,double precision,numeric,numeric,text,character varying,text,bytea,date,time without time zone,timestamp without time zone,uuid,text,text,text" ] \
  && pass "target types: $types" || fail "target types: $types"

# --- partition strategies through psqlODBC: each exact ---------------------------------------
psql_db postgres <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, tenant int, note text, amount numeric(12,2), at timestamp);
INSERT INTO events SELECT g * 7, g % 15, CASE WHEN g % 11 <> 0 THEN repeat(md5(g::text), 1 + g % 3) END,
  g * 1.25, '2025-01-01'::timestamp + g * interval '1.000123 second' FROM generate_series(1, 120000) g;
CREATE TABLE dense (id int PRIMARY KEY, note varchar(20));
INSERT INTO dense SELECT g, 'n' || g FROM generate_series(1, 100000) g;
SQL
expected=$(table_digest postgres events id)
cat > "$WORK/strategies.yaml" <<YAML
version: 1
name: odbc_strategies
connections: {src: "$PG_ODBC", dst: "$DST"}
streams:
  - {name: walk, source: {connection: src, table: events, partition: {strategy: key_range, chunk_rows: 17000}}, target: {connection: dst, table: ev_walk}}
  - {name: auto, source: {connection: src, table: public.events, partition: {chunk_rows: 30000, min_rows_for_parallel: 1000}}, target: {connection: dst, table: ev_auto}}
  - {name: none, source: {connection: src, table: events, partition: {strategy: none}}, target: {connection: dst, table: ev_none}}
  - {name: query, source: {connection: src, query: "SELECT id, tenant, note, amount, at FROM events WHERE tenant < 5", partition: {strategy: key_range, column: id, chunk_rows: 10000}}, target: {connection: dst, table: ev_query}}
  - {name: dense, source: {connection: src, table: dense, partition: {strategy: key_range, chunk_rows: 25000}}, target: {connection: dst, table: dense}}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" plan "$WORK/strategies.yaml"
grep -q "walk" "$WORK/out" && grep -q "sparse" "$WORK/out" && pass "plan cuts an ODBC source and says how" || { fail "plan output"; cat "$WORK/out"; }
expect_exit 0 "$SLUICE" run "$WORK/strategies.yaml" --progress none
for t in ev_walk ev_auto ev_none; do
  [ "$(table_digest dst $t id)" = "$expected" ] && pass "$t equals the source" || fail "$t: $(table_digest dst $t id) != $expected"
done
[ "$(table_digest dst ev_query id)" = "$(table_digest postgres "(SELECT * FROM events WHERE tenant < 5)" id)" ] \
  && pass "a partitioned query equals its rows" || fail "ev_query differs"
[ "$(table_digest dst dense id)" = "$(table_digest postgres dense id)" ] && pass "dense keys cut evenly and exactly" || fail "dense differs"
parts=$(psql_db dst -c "SELECT string_agg(stream || '=' || n, ' ' ORDER BY stream) FROM (SELECT stream, count(*) AS n FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'odbc_strategies' GROUP BY stream) s")
for want in "walk=8" "auto=4" "none=1" "dense=4"; do
  echo " $parts " | grep -q " $want " && pass "partitions: $want" || fail "partitions: expected $want in '$parts'"
done
expect_exit 2 "$SLUICE" copy "$PG_ODBC" "$DST" --table events --partition hash --progress none || true
grep -q "generic SQL has no hash" "$WORK/err" && pass "hash is refused with the reason" || { fail "hash"; cat "$WORK/err"; }

# --- a target that holds earlier rows: appended to, earlier rows untouched ------------------
psql_db dst -c "CREATE TABLE kept AS SELECT * FROM ev_none WHERE false" -c "INSERT INTO kept VALUES (-5, 1, 'earlier', 1.00, '2020-01-01')"
expect_exit 0 "$SLUICE" copy "$PG_ODBC" "$DST" --table events --target-table kept --chunk-rows 30000 --min-rows-for-parallel 1 --progress none
[ "$(table_digest dst "(SELECT * FROM kept WHERE id > 0)" id)" = "$expected" ] && [ "$(psql_db dst -c "SELECT note FROM kept WHERE id = -5")" = earlier ] \
  && pass "append next to an earlier row: the source exactly, the earlier row untouched" || fail "append into a table with rows differs"

# --- MariaDB Connector/ODBC -------------------------------------------------------------------
maria sluice_test <<'SQL'
CREATE TABLE mtypes (id int PRIMARY KEY, ubig bigint unsigned, ti tinyint, su smallint unsigned, iu int unsigned,
  b1 bit(1), d double, n decimal(30,9), v varchar(20), vb varbinary(10), dt date, ts datetime(6), lt longtext)
  CHARACTER SET utf8mb4;
INSERT INTO mtypes VALUES
 (1, 18446744073709551615, -128, 65535, 4294967295, 1, 1.7976931348623157e308, -123456789012345678901.123456789,
  'x', X'00FF27', '2024-02-29', '9999-12-31 23:59:59.999999', CONCAT(REPEAT('x', 70000), 'Z')),
 (2, 0, 127, 0, 0, 0, 2.2250738585072014e-308, 0, '', '', '1000-01-01', '1000-01-01 00:00:00', ''),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE mtypes SET v = CONCAT('h', CHAR(0xC3A9 USING utf8mb4), ' ', CHAR(0xF09F9880 USING utf8mb4)) WHERE id = 1;
CREATE TABLE mevents (id int PRIMARY KEY, note varchar(64), amount decimal(12,2));
INSERT INTO mevents SELECT seq, MD5(seq), seq * 1.25 FROM seq_1_to_50000;
SQL
expect_exit 0 "$SLUICE" copy "$MARIA_ODBC" "$DST" --table mtypes --progress none
got=$(psql_db dst -F '|' -c "SELECT id, ubig, ti, su, iu, b1, d, n, v, vb, dt, ts, length(lt), right(lt, 1) FROM mtypes ORDER BY id")
want='1|18446744073709551615|-128|65535|4294967295|t|1.7976931348623157e+308|-123456789012345678901.123456789|hé 😀|\x00ff27|2024-02-29|9999-12-31 23:59:59.999999|70001|Z
2|0|127|0|0|f|2.2250738585072014e-308|0.000000000||\x|1000-01-01|1000-01-01 00:00:00|0|
3|||||||||||||'
[ "$got" = "$want" ] && pass "MariaDB types through Connector/ODBC land exactly" || { fail "MariaDB types differ"; diff <(echo "$want") <(echo "$got") || true; }
expect_exit 0 "$SLUICE" copy "$MARIA_ODBC" "$DST" --table mevents --partition key_range --chunk-rows 12000 -w 2 --progress none
[ "$(psql_db dst -c "SELECT count(*) || ' ' || md5(string_agg(concat_ws(',', id, note, amount), '|' ORDER BY id)) FROM mevents")" = \
  "$(maria sluice_test "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(CONCAT_WS(',', id, note, amount) ORDER BY id SEPARATOR '|'))) FROM mevents")" ] \
  && pass "MariaDB through ODBC in key ranges equals the source" || fail "mevents differs"

# What the drivers would change on the way, and does not: MariaDB FLOAT with every digit (its
# driver prints 6), text with a NUL kept whole for the target to judge (its UTF-16 conversion
# would cut it), ENUMs unpadded.
maria sluice_test <<'SQL'
CREATE TABLE edge (id int PRIMARY KEY, f float, t varchar(10), e enum('a','bbb')) CHARACTER SET utf8mb4;
INSERT INTO edge VALUES (1, 123456.7, 'plain', 'a'), (2, 3.4e38, CONCAT('a', CHAR(0), 'b'), 'bbb'),
  (3, -1.17549435e-38, 'three', 'bbb');
SQL
expect_exit 0 "$SLUICE" copy "$MARIA_ODBC" "$DST" --table edge --max-rejects 5 --rejects "$WORK/edge_rejects" --progress none
[ "$(psql_db dst -F '|' -c "SELECT id, f, t, e || '|' FROM edge ORDER BY id")" = "1|123456.7|plain|a|
3|-1.1754944e-38|three|bbb|" ] && grep -rqF '"t":"a\u0000b"' "$WORK/edge_rejects" && pass "MariaDB FLOAT keeps its digits; a NUL in text is a reject, not a cut value" \
  || { fail "MariaDB edge values: $(psql_db dst -F '|' -c "SELECT * FROM edge")"; cat "$WORK"/edge_rejects/* || true; }

# --- SQLite ODBC driver: declared types bind nothing, so a bad value is a reject -------------
sqlite3 "$WORK/src.db" <<'SQL'
CREATE TABLE items (id integer PRIMARY KEY, qty int, price real, name varchar(5), raw blob, day date);
WITH RECURSIVE g(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM g WHERE x < 3000)
INSERT INTO items SELECT x, x * 3, x / 4.0, 'n' || x, randomblob(8), '2024-01-01' FROM g;
UPDATE items SET qty = 'notanint' WHERE id = 1500;
UPDATE items SET name = 'a name far longer than five characters ' || hex(zeroblob(500)) WHERE id = 7;
UPDATE items SET qty = 9223372036854775807 WHERE id = 8;
SQL
expect_exit 0 "$SLUICE" copy "$SQLITE_ODBC" "$DST" --table items --partition key_range --chunk-rows 1000 -w 2 --max-rejects 5 --rejects "$WORK/rejects" --progress none
[ "$(psql_db dst -c "SELECT count(*) || ' ' || sum(id) || ' ' || max(length(name)) || ' ' || max(qty) FROM items")" = \
  "$(sqlite3 "$WORK/src.db" "SELECT count(*) || ' ' || sum(id) || ' ' || max(length(name)) || ' ' || max(qty) FROM items WHERE id <> 1500")" ] \
  && pass "SQLite through ODBC: every good row, a value past its declared length whole, int64 in an INT column" \
  || fail "items: $(psql_db dst -c "SELECT count(*) || ' ' || sum(id) || ' ' || max(length(name)) || ' ' || max(qty) FROM items")"
grep -rq 'items id=1500' "$WORK/rejects" && grep -rq 'notanint' "$WORK/rejects" && pass "the bad value is a reject naming its key and value" \
  || { fail "reject file lacks the row"; cat "$WORK"/rejects/* || true; }
[ "$(psql_db dst -c "SELECT md5(string_agg(encode(raw, 'hex'), ',' ORDER BY id)) FROM items")" = \
  "$(sqlite3 "$WORK/src.db" "SELECT lower(hex(raw)) FROM items WHERE id <> 1500 ORDER BY id" | paste -sd, | tr -d '\n' | md5sum | cut -d' ' -f1)" ] \
  && pass "blobs are byte-exact" || fail "blobs differ"

sqlite3 "$WORK/src.db" "CREATE TABLE mixed (id integer, v text); INSERT INTO mixed VALUES (1, 'a'), (2, 'b'), ('abc', 'c')"
expect_exit 1 "$SLUICE" copy "$SQLITE_ODBC" "$DST" --table mixed --partition key_range --partition-column id --chunk-rows 1 --progress none || true
grep -q "not 64-bit integers" "$WORK/err" && pass "key_range on a key holding text: a clear refusal" || { fail "mixed key"; cat "$WORK/err"; }

# --- a data source name from odbc.ini, user and password in the URL --------------------------
cat > "$WORK/odbc.ini" <<INI
[pgdsn]
Driver = PostgreSQL Unicode
Servername = 127.0.0.1
Port = $PGPORT
Database = postgres
INI
export ODBCINI="$WORK/odbc.ini"
expect_exit 0 "$SLUICE" copy "odbc://$PGUSER:$PGPASSWORD@pgdsn" "$DST" --table dense --target-table dense_dsn --progress none
[ "$(table_digest dst dense_dsn id)" = "$(table_digest postgres dense id)" ] && pass "odbc://user:password@DSN reads the data source of odbc.ini" || fail "DSN copy differs"

# --- errors a user meets ------------------------------------------------------------------------
expect_exit 2 "$SLUICE" copy "odbc://nosuchdsn" "$DST" --table dense --progress none || true
grep -q "odbcinst -q -s" "$WORK/err" && pass "an unknown DSN says how to list them" || { fail "unknown DSN"; cat "$WORK/err"; }
expect_exit 2 "$SLUICE" copy "odbc://Driver={NoSuchDriver};Server=x;Pwd=hidden-pw" "$DST" --table dense --progress none || true
grep -q "odbcinst -q -d" "$WORK/err" && ! grep -q "hidden-pw" "$WORK/err" && pass "an unknown driver is a configuration error with the way to list drivers" || { fail "unknown driver"; cat "$WORK/err"; }
expect_exit 1 "$SLUICE" copy "odbc://$PGUSER:wrong-secret@pgdsn" "$DST" --table dense --progress none || true
grep -q "check the user and password" "$WORK/err" && grep -q "28000" "$WORK/err" && ! grep -q "wrong-secret" "$WORK/err" \
  && pass "a wrong password is named (28000, not retried), and masked" || { fail "wrong password"; cat "$WORK/err"; }
expect_exit 1 "$SLUICE" copy "$PG_ODBC" "$DST" --table no_such_table --progress none || true
grep -q "no_such_table does not exist" "$WORK/err" && ! grep -q "$PGPASSWORD" "$WORK/err" && pass "a missing table is named, the password masked" || { fail "missing table"; cat "$WORK/err"; }
expect_exit 2 "$SLUICE" copy "odbc://?Driver=x" "$DST" --table dense --progress none || true
grep -q "no data source name" "$WORK/err" && pass "an ODBC URL without a data source is refused" || { fail "bad URL"; cat "$WORK/err"; }

# --- kill -9 during an ODBC-sourced load, then resume: exactly the source --------------------
cat > "$WORK/crash.yaml" <<YAML
version: 1
name: odbc_crash
connections: {src: "$PG_ODBC", dst: "$DST"}
source: {connection: src, table: events, partition: {strategy: key_range, chunk_rows: 8000}}
target: {connection: dst, table: ev_crash}
settings: {workers: 2}
YAML
start=$(date +%s%N)
expect_exit 0 "$SLUICE" run "$WORK/crash.yaml" --progress none
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for trial in 1 2 3; do
  psql_db dst -c "DROP TABLE IF EXISTS ev_crash" -c "DELETE FROM sluice.partitions WHERE run_id IN (SELECT run_id FROM sluice.runs WHERE job = 'odbc_crash')" \
    -c "DELETE FROM sluice.runs WHERE job = 'odbc_crash'" >/dev/null 2>&1 || true
  delay_ms=$(( (RANDOM % 80 + 10) * full_ms / 100 ))
  kill_run_after "$delay_ms" "$WORK/crash.yaml"
  if [ "$(psql_db dst -c "SELECT status FROM sluice.runs WHERE job = 'odbc_crash' ORDER BY started_at DESC LIMIT 1")" = succeeded ]; then
    [ "$(table_digest dst ev_crash id)" = "$expected" ] && pass "trial $trial: killed after the run finished; exact" || fail "trial $trial: finished run differs"
    continue
  fi
  set +e; "$SLUICE" run "$WORK/crash.yaml" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
  [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  [ "$(table_digest dst ev_crash id)" = "$expected" ] && pass "trial $trial: killed after ${delay_ms} ms, resume is exact" \
    || fail "trial $trial: $(table_digest dst ev_crash id) != $expected"
done
finish

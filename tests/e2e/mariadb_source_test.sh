#!/usr/bin/env bash
# MariaDB source against a real mariadbd: every type at its edges into PostgreSQL (expected
# values written here, not computed by sluice), each partition strategy exact against the
# source (count + md5 of the ordered rows computed by MariaDB itself), a target holding
# earlier rows, tenants whose tables differ, incremental cursors, consistent snapshots,
# rejects and zero dates, and the errors a user meets (password, table, URL, server).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
psql_db postgres -c "CREATE DATABASE dst"
DST="$PG_BASE/dst"
SRC="$MARIADB_BASE/sluice_test"

# --- types at their edges -----------------------------------------------------------------
maria sluice_test <<'SQL'
SET sql_mode = '';
CREATE TABLE types (id int PRIMARY KEY, f float, d double, b5 bit(5), b1 bit(1), b64 bit(64),
  t time(6), dt datetime(6), ts timestamp(6) NULL, j json, ubig bigint unsigned, y year,
  e enum('small','large'), s set('x','y'), vb varbinary(10), dd date, big decimal(65,30),
  ti tinyint, tu tinyint unsigned, su smallint unsigned, mi mediumint, iu int unsigned,
  txt longtext, c char(3), u uuid);
INSERT INTO types VALUES
 (1, 3.4028235e38, 0.1, b'10101', 1, b'1111111111111111111111111111111111111111111111111111111111111111',
  '12:34:56.123456', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '{"a": [1, 2.50]}',
  18446744073709551615, 2155, 'large', 'x,y', X'00FF27', '1000-01-01',
  12345678901234567890.123456789012345678901234567890, -128, 255, 65535, -8388608, 4294967295,
  'h\u00e9llo ''q'' \\ ok', 'ab', '123e4567-e89b-12d3-a456-426614174000'),
 (2, 1.17549435e-38, 2.2250738585072014e-308, 0, 0, 0, '00:00:00', '1000-01-01 00:00:00',
  '1970-01-01 00:00:01', '[]', 0, 1901, 'small', '', '', '2024-02-29', -1, 127, 0, 0, 8388607, 0, '', '',
  NULL),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL);
UPDATE types SET txt = CONCAT('h', CHAR(0xC3A9 USING utf8mb4), 'llo ''q'' \\ ', CHAR(0xF09F9880 USING utf8mb4)) WHERE id = 1;
SQL
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table types --progress none
got=$(psql_db dst -F '|' -c "SELECT * FROM types ORDER BY id")
want='1|3.4028235e+38|0.1|21|t|18446744073709551615|12:34:56.123456|9999-12-31 23:59:59.999999|2038-01-19 03:14:07.999999+00|{"a": [1, 2.50]}|18446744073709551615|2155|large|x,y|\x00ff27|1000-01-01|12345678901234567890.123456789012345678901234567890|-128|255|65535|-8388608|4294967295|héllo '"'"'q'"'"' \ 😀|ab |123e4567-e89b-12d3-a456-426614174000
2|1.1754944e-38|2.2250738585072014e-308|0|f|0|00:00:00|1000-01-01 00:00:00|1970-01-01 00:00:01+00|[]|0|1901|small||\x|2024-02-29|-1.000000000000000000000000000000|127|0|0|8388607|0||   |
3||||||||||||||||||||||||'
[ "$got" = "$want" ] && pass "every MariaDB type lands exactly" || { fail "types differ"; diff <(echo "$want") <(echo "$got") || true; }
[ "$(maria sluice_test "SELECT MD5(txt) FROM types WHERE id = 1")" = "$(psql_db dst -c "SELECT md5(txt) FROM types WHERE id = 1")" ] \
  && pass "utf8mb4 text (4-byte characters) is byte-exact" || fail "utf8mb4 text differs"
types=$(psql_db dst -c "SELECT string_agg(format_type(atttypid, atttypmod), ',' ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'types'::regclass AND attnum > 0")
[ "$types" = "integer,real,double precision,bigint,boolean,numeric(20,0),time(6) without time zone,timestamp without time zone,timestamp with time zone,json,numeric(20,0),smallint,text,text,bytea,date,numeric(65,30),smallint,smallint,integer,integer,bigint,text,character(3),uuid" ] \
  && pass "target types: $types" || fail "target types: $types"

# --- partition strategies: each exact -------------------------------------------------------
maria sluice_test <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, tenant int, note varchar(100), amount decimal(12,2),
  at datetime(6), code varchar(20) NOT NULL, KEY by_code (code));
INSERT INTO events SELECT seq * 7, seq % 15, IF(seq % 11 = 0, NULL, REPEAT(MD5(seq), 1 + seq % 3)),
  seq * 1.25, '2025-01-01' + INTERVAL seq SECOND + INTERVAL seq % 1000 MICROSECOND, CONCAT('c', seq % 9973)
  FROM seq_1_to_120000;
CREATE TABLE dense (id int PRIMARY KEY, note varchar(20));
INSERT INTO dense SELECT seq, CONCAT('n', seq) FROM seq_1_to_100000;
SQL
maria_digest() {  # TABLE [WHERE]
  maria sluice_test "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', COALESCE(MD5(GROUP_CONCAT(CONCAT_WS(',', id, tenant, note, amount, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s.%f'), code) ORDER BY id SEPARATOR '|')), '-')) FROM $1 ${2:-}"
}
pg_digest() {  # TABLE [WHERE]
  psql_db dst -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(concat_ws(',', id, tenant, note, amount, to_char(at, 'YYYY-MM-DD HH24:MI:SS.US'), code), '|' ORDER BY id)), '-') FROM $1 ${2:-}"
}
expected=$(maria_digest events)
cat > "$WORK/strategies.yaml" <<YAML
version: 1
name: maria_strategies
connections: {src: "$SRC", dst: "$DST"}
streams:
  - {name: walk, source: {connection: src, table: events, partition: {strategy: key_range, chunk_rows: 17000}}, target: {connection: dst, table: ev_walk}}
  - {name: text_key, source: {connection: src, table: sluice_test.events, partition: {strategy: key_range, column: code, chunk_rows: 25000}}, target: {connection: dst, table: ev_text}}
  - {name: hash, source: {connection: src, table: events, partition: {strategy: hash, column: id, hash_partitions: 5}}, target: {connection: dst, table: ev_hash}}
  - {name: offset, source: {connection: src, table: events, partition: {strategy: offset, column: id, chunk_rows: 40000}}, target: {connection: dst, table: ev_offset}}
  - {name: auto, source: {connection: src, table: events, partition: {chunk_rows: 30000, min_rows_for_parallel: 1000}}, target: {connection: dst, table: ev_auto}}
  - {name: none, source: {connection: src, table: events, partition: {strategy: none}}, target: {connection: dst, table: ev_none}}
  - {name: query, source: {connection: src, query: "SELECT id, tenant, note, amount, at, code FROM events WHERE tenant < 5", partition: {strategy: key_range, column: id, chunk_rows: 10000}}, target: {connection: dst, table: ev_query}}
  - {name: dense, source: {connection: src, table: dense, partition: {strategy: key_range, chunk_rows: 25000}}, target: {connection: dst, table: dense}}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" plan "$WORK/strategies.yaml"
grep -q "walk" "$WORK/out" && pass "plan lists the streams" || fail "plan output lacks streams"
expect_exit 0 "$SLUICE" run "$WORK/strategies.yaml" --progress none
for t in ev_walk ev_text ev_hash ev_offset ev_auto ev_none; do
  [ "$(pg_digest $t)" = "$expected" ] && pass "$t equals the source" || fail "$t: $(pg_digest $t) != $expected"
done
[ "$(pg_digest ev_query)" = "$(maria_digest events 'WHERE tenant < 5')" ] && pass "a partitioned query equals its rows" || fail "ev_query differs"
[ "$(psql_db dst -c "SELECT count(*) || ' ' || sum(id) FROM dense")" = "100000 5000050000" ] && pass "dense keys cut evenly and exactly" || fail "dense differs"
parts=$(psql_db dst -c "SELECT string_agg(stream || '=' || n, ' ' ORDER BY stream) FROM (SELECT stream, count(*) AS n FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = 'maria_strategies' GROUP BY stream) s")
echo "partitions per stream: $parts"
for want in "walk=8" "hash=5" "offset=3" "none=1" "dense=4" "auto=4"; do
  echo " $parts " | grep -q " $want " && pass "partitions: $want" || fail "partitions: expected $want in '$parts'"
done
echo " $parts " | grep -Eq " text_key=[3-6] " && pass "text keys cut into several ranges" || fail "text_key partitions: $parts"

# --- keys MariaDB orders in its own way ---------------------------------------------------------
maria sluice_test <<'SQL'
CREATE TABLE yearly (id int PRIMARY KEY, y year, KEY (y));
INSERT INTO yearly SELECT seq, IF(seq <= 1000, 0, 1900 + seq - 1000) FROM seq_1_to_1255;
CREATE TABLE binkey (k varbinary(16) PRIMARY KEY, n int);
INSERT INTO binkey SELECT UNHEX(MD5(seq)), seq FROM seq_1_to_5000;
CREATE TABLE enumkey (id int PRIMARY KEY AUTO_INCREMENT, k enum('z','y','x') NOT NULL, KEY (k));
INSERT INTO enumkey (k) SELECT ELT(1 + seq % 3, 'z', 'y', 'x') FROM seq_1_to_3000;
SQL
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table yearly --partition key_range --partition-column y --chunk-rows 50 -w 2 --progress none
[ "$(psql_db dst -c "SELECT count(*) || ' ' || sum(id) || ' ' || sum(y) FROM yearly")" = "$(maria sluice_test "SELECT CONCAT(COUNT(*), ' ', SUM(id), ' ', SUM(y)) FROM yearly")" ] \
  && pass "key_range on a YEAR column (walked, never a two-digit year literal) is exact" || fail "yearly differs"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table binkey --partition key_range --chunk-rows 700 -w 2 --progress none
[ "$(psql_db dst -c "SELECT count(*) || ' ' || sum(n) || ' ' || md5(string_agg(encode(k, 'hex'), ',' ORDER BY k)) FROM binkey")" = "$(maria sluice_test "SELECT CONCAT(COUNT(*), ' ', SUM(n), ' ', MD5(GROUP_CONCAT(LOWER(HEX(k)) ORDER BY k))) FROM binkey")" ] \
  && pass "key_range on binary keys (bounds kept as hex) is exact" || fail "binkey differs"
expect_exit 2 "$SLUICE" copy "$SRC" "$DST" --table enumkey --partition key_range --partition-column k --progress none || true
grep -q "key_range needs" "$WORK/err" && pass "key_range on an ENUM is refused (MariaDB orders it by position, compares it as text)" || { fail "enum key"; cat "$WORK/err"; }

# --- a target that holds earlier rows: appended to, earlier rows untouched ------------------
psql_db dst -c "CREATE TABLE kept AS SELECT * FROM ev_none WHERE false" -c "INSERT INTO kept VALUES (-5, 1, 'earlier', 1.00, '2020-01-01', 'x')"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table events --target-table kept --chunk-rows 30000 --min-rows-for-parallel 1 --progress none
[ "$(pg_digest kept 'WHERE id > 0')" = "$expected" ] && [ "$(psql_db dst -c "SELECT note FROM kept WHERE id = -5")" = earlier ] \
  && pass "append next to an earlier row: the source exactly, the earlier row untouched" || fail "append into a table with rows differs"

# --- tenants: one database each, tables that differ -----------------------------------------
maria sluice_test <<'SQL'
CREATE DATABASE t_afg; CREATE DATABASE t_bgd;
CREATE TABLE t_afg.orders (id int PRIMARY KEY, city varchar(20), amount decimal(8,2));
CREATE TABLE t_bgd.orders (amount decimal(8,2), id int PRIMARY KEY, shoe varchar(5));
INSERT INTO t_afg.orders SELECT seq, CONCAT('kabul', seq), seq / 4 FROM seq_1_to_3000;
INSERT INTO t_bgd.orders SELECT seq / 8, seq, 'x' FROM seq_1_to_2000;
SQL
cat > "$WORK/tenants.yaml" <<YAML
version: 1
name: maria_tenants
connections: {src: "$SRC", dst: "$DST"}
source: {connection: src, table: orders}
tenants: {schemas: [t_afg, t_bgd], as_column: country}
target: {connection: dst, table: orders}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" run "$WORK/tenants.yaml" --progress none
got=$(psql_db dst -c "SELECT country || ':' || count(*) || ':' || sum(amount) || ':' || count(city) FROM orders GROUP BY country ORDER BY country" | tr '\n' ' ')
want_afg="t_afg:3000:$(maria t_afg "SELECT SUM(amount) FROM orders"):3000"
want_bgd="t_bgd:2000:$(maria t_bgd "SELECT SUM(amount) FROM orders"):0"
[ "$got" = "$want_afg $want_bgd " ] && pass "tenants by database, columns matched by name: $got" || fail "tenants: '$got' != '$want_afg $want_bgd '"

# --- incremental: the second run reads only the new rows ------------------------------------
maria sluice_test "CREATE TABLE changes (id int PRIMARY KEY, updated_at timestamp(6) NOT NULL, v varchar(10)); INSERT INTO changes SELECT seq, '2025-01-01' + INTERVAL seq MINUTE, 'a' FROM seq_1_to_5000"
cat > "$WORK/inc.yaml" <<YAML
version: 1
name: maria_incremental
connections: {src: "$SRC", dst: "$DST"}
source: {connection: src, table: changes, partition: {chunk_rows: 1000, min_rows_for_parallel: 1}}
incremental: {cursor: [updated_at, id]}
target: {connection: dst, table: changes}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" run "$WORK/inc.yaml" --progress none
maria sluice_test "INSERT INTO changes SELECT seq, '2025-01-01' + INTERVAL 5000 MINUTE, 'b' FROM seq_5001_to_5400"
expect_exit 0 "$SLUICE" run "$WORK/inc.yaml" --progress json
grep -q '"rows_written":400' "$WORK/out" && pass "the second incremental run loads only the 400 new rows" || fail "second run: $(grep -o '"rows_written":[0-9]*' "$WORK/out" | tail -1)"
[ "$(psql_db dst -c "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || max(updated_at) FROM changes")" = "5400 5400 2025-01-04 11:20:00+00" ] \
  && pass "incremental target equals the source, no row twice" || fail "incremental target differs"

# incremental.lookback: the window starts an hour before the mark (computed by MariaDB); the
# upsert makes the rows read again change nothing.
sed -e 's/name: maria_incremental/name: maria_lookback/' -e 's/incremental: {cursor: \[updated_at, id\]}/incremental: {cursor: [updated_at], lookback: 1h}/' \
  -e 's/target: {connection: dst, table: changes}/target: {connection: dst, table: changes_lb, mode: upsert, key: [id]}/' "$WORK/inc.yaml" > "$WORK/lookback.yaml"
expect_exit 0 "$SLUICE" run "$WORK/lookback.yaml" --progress none
maria sluice_test "INSERT INTO changes SELECT seq, '2025-01-04 11:00:00', 'late' FROM seq_5401_to_5410"
expect_exit 0 "$SLUICE" run "$WORK/lookback.yaml" --progress none
[ "$(psql_db dst -c "SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || count(*) FILTER (WHERE v = 'late') FROM changes_lb")" = "5410 5410 10" ] \
  && pass "lookback re-reads the last hour: late rows land, none twice" || fail "lookback: $(psql_db dst -c "SELECT count(*) FROM changes_lb")"

# --- consistent: one snapshot for every reader ---------------------------------------------
cat > "$WORK/consistent.yaml" <<YAML
version: 1
name: maria_consistent
connections: {src: "$SRC", dst: "$DST"}
source: {connection: src, table: events, consistent: true, partition: {chunk_rows: 20000, min_rows_for_parallel: 1}}
target: {connection: dst, table: ev_consistent}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" run "$WORK/consistent.yaml" --progress none
[ "$(pg_digest ev_consistent)" = "$expected" ] && pass "consistent: true reads every slice exactly" || fail "ev_consistent differs"
# Transfers between low and high ids keep the total: slices read at different moments would
# see some transfers half (one side in an earlier slice, the other in a later one).
maria sluice_test <<'SQL'
CREATE TABLE accounts (id int PRIMARY KEY, bal bigint NOT NULL);
INSERT INTO accounts SELECT seq, 100 FROM seq_1_to_200000;
DELIMITER //
CREATE PROCEDURE churn(n int) BEGIN
  DECLARE i int DEFAULT 0;
  WHILE i < n DO
    START TRANSACTION;
    UPDATE accounts SET bal = bal - 7 WHERE id = 1 + (i * 7919) % 100000;
    UPDATE accounts SET bal = bal + 7 WHERE id = 200000 - (i * 104729) % 100000;
    COMMIT;
    SET i = i + 1;
  END WHILE;
END//
DELIMITER ;
SQL
for mode in true false; do
  sed -e "s/table: events, consistent: true/table: accounts, consistent: $mode/" -e "s/ev_consistent/acc_$mode/" \
    -e 's/chunk_rows: 20000/chunk_rows: 25000/' "$WORK/consistent.yaml" > "$WORK/acc_$mode.yaml"
  maria sluice_test "CALL churn(1000000)" >/dev/null 2>&1 &
  churn=$!
  sleep 0.3
  expect_exit 0 "$SLUICE" run "$WORK/acc_$mode.yaml" --progress none
  kill "$churn" 2>/dev/null || true; wait "$churn" 2>/dev/null || true
done
maria sluice_test "KILL QUERY (SELECT ID FROM information_schema.PROCESSLIST WHERE INFO LIKE 'CALL churn%' LIMIT 1)" >/dev/null 2>&1 || true
[ "$(psql_db dst -c "SELECT count(*) || ' ' || sum(bal) FROM acc_true")" = "200000 20000000" ] \
  && pass "consistent: true under concurrent transfers: the total is exact" || fail "consistent read saw transfers half: $(psql_db dst -c "SELECT sum(bal) FROM acc_true")"
echo "(without consistent: the total read was $(psql_db dst -c "SELECT sum(bal) FROM acc_false"), 20000000 when no transfer fell between slices)"

# --- rejects: TIME past a day, zero dates ---------------------------------------------------
maria sluice_test "SET sql_mode = ''; CREATE TABLE odd (id int PRIMARY KEY, t time, d date, dt datetime); INSERT INTO odd VALUES (1, '100:00:00', '2024-01-01', '2024-01-01 10:00:00'), (2, '10:00:00', '0000-00-00', '2024-00-10 00:00:00'), (3, '-01:00:00', '2024-05-00', NULL), (4, '23:59:59', '2024-12-31', '2024-12-31 23:59:59')"
expect_exit 0 "$SLUICE" copy "$SRC" "$DST" --table odd --max-rejects 5 --rejects "$WORK/rejects" --progress none
[ "$(psql_db dst -c "SELECT string_agg(id || ':' || coalesce(t::text, '-') || ':' || coalesce(d::text, 'null') || ':' || coalesce(dt::text, 'null'), ' ' ORDER BY id) FROM odd")" = "2:10:00:00:null:null 4:23:59:59:2024-12-31:2024-12-31 23:59:59" ] \
  && pass "zero dates load as NULL; TIME outside a day is rejected" || fail "odd: $(psql_db dst -c "SELECT * FROM odd")"
grep -rq '838 hours' "$WORK/rejects" && grep -rq 'odd id=1' "$WORK/rejects" && pass "the reject names the row's key and says why" || { fail "reject file lacks the reason"; cat "$WORK"/rejects/* || true; }
psql_db dst -c "DROP TABLE odd"
expect_exit 0 "$SLUICE" copy "$SRC?zero_dates=reject" "$DST" --table odd --max-rejects 5 --rejects "$WORK/rejects2" --progress none
[ "$(psql_db dst -c "SELECT string_agg(id::text, ' ' ORDER BY id) FROM odd")" = "4" ] && grep -rq 'zero date' "$WORK/rejects2" \
  && pass "zero_dates=reject sets zero dates aside" || fail "zero_dates=reject: $(psql_db dst -c "SELECT id FROM odd")"

# --- into SQLite -----------------------------------------------------------------------------
expect_exit 0 "$SLUICE" copy "$SRC" "sqlite://$WORK/out.db" --table events --chunk-rows 30000 --min-rows-for-parallel 1 --progress none
[ "$(sqlite3 "$WORK/out.db" "SELECT count(*) || ' ' || sum(id) || ' ' || count(note) FROM events")" = "$(maria sluice_test "SELECT CONCAT(COUNT(*), ' ', SUM(id), ' ', COUNT(note)) FROM events")" ] \
  && pass "MariaDB into SQLite" || fail "SQLite copy differs"

# --- errors ----------------------------------------------------------------------------------
expect_exit 1 "$SLUICE" copy "mysql://$MARIADB_USER:wrong-secret-42@127.0.0.1:$MARIADB_PORT/sluice_test" "$DST" --table events --progress none
grep -q "Access denied" "$WORK/err" && ! grep -q "wrong-secret-42" "$WORK/err" "$WORK/out" \
  && pass "a wrong password: access denied, the password never printed" || { fail "wrong password"; cat "$WORK/err"; }
expect_exit 1 "$SLUICE" copy "$SRC" "$DST" --table evnets --progress none
grep -q "evnets does not exist" "$WORK/err" && grep -q "events" "$WORK/err" && pass "a missing table names the tables there" || { fail "missing table"; cat "$WORK/err"; }
expect_exit 2 "$SLUICE" copy "$SRC?sslmode=require" "$DST" --table events --progress none
grep -q "unknown option 'sslmode'" "$WORK/err" && pass "an unknown URL option is a usage error" || { fail "unknown option"; cat "$WORK/err"; }
expect_exit 1 "$SLUICE" copy "mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:1/sluice_test?connect_timeout=2" "$DST" --table events --progress none
grep -q "connecting to MariaDB at 127.0.0.1:1" "$WORK/err" && pass "an unreachable server is named" || { fail "unreachable"; cat "$WORK/err"; }
expect_exit 1 "$SLUICE" copy "$MARIADB_BASE/no_such_db" "$DST" --table events --progress none
grep -qi "unknown database" "$WORK/err" && pass "an unknown database is named" || { fail "unknown database"; cat "$WORK/err"; }
finish

#!/usr/bin/env bash
# mode: upsert into SQLite from a SQLite change log, incremental, against an oracle computed by
# sqlite3 apart from sluice: per key the latest row by cursor, earlier rows of keys the source
# never had untouched, counts of inserted / updated / unchanged / superseded rows as the
# oracle says, W=4 equal to W=1, and kill -9 + --resume exact.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
sqlite3 src.db <<'SQL'
CREATE TABLE changes (seq INTEGER PRIMARY KEY, id INTEGER NOT NULL, updated_at TEXT, name TEXT, price REAL);
CREATE INDEX changes_id ON changes (id);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 6000)
INSERT INTO changes SELECT i, (i * 7919) % 2000 + 100, printf('2026-11-01 10:00:%02d', i % 40), 'n' || i, (i % 1000) / 8.0 FROM g;
SQL
for t in dim dim1; do
  sqlite3 "$t.db" <<'SQL'
CREATE TABLE dim (price REAL, name TEXT, id INTEGER PRIMARY KEY, updated_at TEXT, seq INTEGER, loaded_by TEXT DEFAULT 'sluice');
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300)
INSERT INTO dim (id, name, price, updated_at, seq, loaded_by) SELECT i, 'old' || i, 0, '2020-01-01', -i, 'earlier' FROM g;
SQL
done
cp dim.db baseline.db
job() {  # NAME DB WORKERS
  cat > "$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "sqlite://src.db", table: changes, partition: {chunk_rows: 1500}}
incremental: {cursor: [updated_at, seq]}
target: {connection: "sqlite://$2", table: dim, mode: upsert, key: [id]}
settings: {workers: $3, min_rows_for_parallel: 1000, batch_rows: 300}
YAML
}
job up4 dim.db 4
job up1 dim1.db 1

oracle() {
  sqlite3 src.db "ATTACH 'baseline.db' AS b;
    WITH latest AS (SELECT id, name, price, updated_at, seq FROM (SELECT *, row_number() OVER (PARTITION BY id
                      ORDER BY updated_at DESC NULLS LAST, seq DESC) AS rn FROM changes) WHERE rn = 1),
         want AS (SELECT * FROM latest UNION ALL
                  SELECT id, name, price, updated_at, seq FROM b.dim WHERE id NOT IN (SELECT id FROM changes))
    SELECT count(*), group_concat(id || ':' || name || ':' || price || ':' || updated_at || ':' || seq, '|')
    FROM (SELECT * FROM want ORDER BY id)" | md5sum
}
loaded() {  # DB
  sqlite3 "$1" "SELECT count(*), group_concat(id || ':' || name || ':' || price || ':' || updated_at || ':' || seq, '|')
                FROM (SELECT * FROM dim ORDER BY id)" | md5sum
}
same_as_oracle() {  # WHAT DB
  [ "$(oracle)" = "$(loaded "$2")" ] && pass "$1: $2 equals the oracle" || fail "$1: $2 differs from the oracle ($(sqlite3 "$2" 'SELECT count(*) FROM dim') rows)"
}
untouched() {  # DB
  local bad
  bad=$(sqlite3 "$1" "ATTACH 'src.db' AS s; ATTACH 'baseline.db' AS b;
          SELECT count(*) FROM b.dim o JOIN main.dim t USING (id) WHERE o.id NOT IN (SELECT id FROM s.changes)
            AND (t.name IS NOT o.name OR t.loaded_by IS NOT o.loaded_by)")
  [ "$bad" = 0 ] && pass "$1: rows of keys the source never had are untouched" || fail "$1: $bad earlier row(s) changed"
}
# What the next run must count, from the source, the target and the mark alone.
expected_counts() {  # JOB DB
  local mark window
  mark=$("$SLUICE" checkpoints "$1.yaml" --json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(m[0]["cursor"][0] + "|" + m[0]["cursor"][1] if m else "")')
  window="1"
  [ -n "$mark" ] && window="(updated_at > '${mark%%|*}' OR (updated_at = '${mark%%|*}' AND seq > ${mark##*|}))"
  sqlite3 src.db "ATTACH '$2' AS t;
    WITH w AS (SELECT * FROM changes WHERE $window),
         l AS (SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY id ORDER BY updated_at DESC, seq DESC) AS rn FROM w) WHERE rn = 1)
    SELECT CAST(total(d.id IS NULL) AS INTEGER) || ' ' ||
           CAST(total(d.id IS NOT NULL AND (d.name IS NOT l.name OR d.price IS NOT l.price OR d.updated_at IS NOT l.updated_at OR d.seq IS NOT l.seq)) AS INTEGER) || ' ' ||
           CAST(total(d.id IS NOT NULL AND d.name IS l.name AND d.price IS l.price AND d.updated_at IS l.updated_at AND d.seq IS l.seq) AS INTEGER) || ' ' ||
           ((SELECT count(*) FROM w) - count(*))
    FROM l LEFT JOIN t.dim d ON d.id = l.id"
}
last_counts() {
  tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; r=json.load(sys.stdin)["rows"]; print(r["inserted"], r["updated"], r["unchanged"], r["superseded"])'
}
run_checked() {  # WHAT JOB DB
  local want got
  want=$(expected_counts "$2" "$3")
  expect_exit 0 "$SLUICE" run "$2.yaml" --progress none --yes
  got=$(last_counts)
  [ "$want" = "$got" ] && pass "$1: counts inserted/updated/unchanged/superseded = $got" || fail "$1: counts $got, oracle $want"
  same_as_oracle "$1" "$3"
  untouched "$3"
}

run_checked "first run, W=4" up4 dim.db
run_checked "first run, W=1" up1 dim1.db
sqlite3 src.db "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1500)
  INSERT INTO changes SELECT 10000 + i, CASE WHEN i <= 500 THEN 5000 + i ELSE (i * 31) % 2000 + 100 END,
    '2026-11-02 00:00:0' || (i % 5), 'v2-' || (i % 4), i % 9 FROM g;"
run_checked "second run, W=4" up4 dim.db
run_checked "second run, W=1" up1 dim1.db

# kill -9 while partitions commit, then --resume.
sqlite3 src.db "WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 60000)
  INSERT INTO changes SELECT 20000 + i, (i * 13) % 40000 + 100, printf('2026-11-03 %02d:%02d:%02d', i / 3600, i / 60 % 60, i % 60), 'v3', i FROM g;"
"$SLUICE" run up4.yaml --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(sqlite3 dim.db "SELECT count(*) FROM sluice_partitions WHERE status = 'committed' AND run_id = (SELECT run_id FROM sluice_runs WHERE status = 'running')" 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.02
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
expect_exit 0 "$SLUICE" run up4.yaml --resume --progress none
same_as_oracle "kill -9 and --resume" dim.db
untouched dim.db
run_checked "W=1 catches up" up1 dim1.db
[ "$(loaded dim.db)" = "$(loaded dim1.db)" ] && pass "W=4 and W=1 hold the same rows" || fail "W=4 and W=1 differ"

# Nothing new: nothing changes; a full refresh merges all again and changes nothing.
run_checked "nothing new" up4 dim.db
[ "$(last_counts)" = "0 0 0 0" ] && pass "nothing new: nothing merged" || fail "nothing new counted $(last_counts)"
expect_exit 0 "$SLUICE" run up4.yaml --full-refresh --progress none --yes
read -r ins upd unch sup <<<"$(last_counts)"
[ "$ins $upd" = "0 0" ] && pass "full refresh: nothing inserted or updated ($unch unchanged, $sup superseded)" || fail "full refresh changed rows: $ins $upd"
same_as_oracle "full refresh" dim.db
# append with key and lookback: rows read again are not loaded twice, late ones are.
cat > app.yaml <<'YAML'
version: 1
name: app
source: {connection: "sqlite://src.db", table: changes, partition: {chunk_rows: 20000}}
incremental: {cursor: [updated_at, seq], lookback: 1h}
target: {connection: "sqlite://log.db", table: log, mode: append, key: [seq]}
settings: {workers: 2, min_rows_for_parallel: 1000}
YAML
source_digest() { sqlite3 src.db "SELECT count(*), group_concat(seq || ':' || id || ':' || updated_at, '|') FROM (SELECT * FROM changes ORDER BY seq)" | md5sum; }
log_digest() { sqlite3 log.db "SELECT count(*), group_concat(seq || ':' || id || ':' || updated_at, '|') FROM (SELECT * FROM log ORDER BY seq)" | md5sum; }
expect_exit 0 "$SLUICE" run app.yaml --progress none
[ "$(source_digest)" = "$(log_digest)" ] && pass "append with key: the first run loads every row" || fail "append with key: first run differs"
top=$(sqlite3 src.db "SELECT max(updated_at) FROM changes")
sqlite3 src.db "INSERT INTO changes VALUES (90001, 1, datetime('$top', '-20 minutes'), 'late', 1), (90002, 2, datetime('$top', '-50 minutes'), 'late', 1)"
expect_exit 0 "$SLUICE" run app.yaml --progress none
[ "$(source_digest)" = "$(log_digest)" ] && pass "append with key + lookback: late rows loaded, rows read again not duplicated" \
  || fail "append with key + lookback: log has $(sqlite3 log.db 'SELECT count(*) FROM log') rows, source $(sqlite3 src.db 'SELECT count(*) FROM changes')"
read -r ins upd unch sup <<<"$(last_counts)"
[ "$ins $upd" = "2 0" ] && [ "$unch" -gt 0 ] && pass "append with key + lookback: 2 inserted, $unch read again and left alone" || fail "append counts: $ins $upd $unch"
[ "$(sqlite3 log.db "SELECT group_concat(name) FROM pragma_table_info('log') WHERE pk > 0")" = seq ] \
  && pass "a created append-with-key target gets the key as primary key" || fail "log has no primary key on seq"
# delete_missing on a full snapshot, per partition's key range: hard deletes, soft flags, and
# a key that comes back is alive again; the summary counts the deleted rows.
sqlite3 src.db "CREATE TABLE snap (id INTEGER PRIMARY KEY, name TEXT);
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 5000) INSERT INTO snap SELECT i, 's' || i FROM g;"
sqlite3 snap.db "CREATE TABLE hard (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE soft (id INTEGER PRIMARY KEY, name TEXT, deleted_at TEXT);"
for t in hard soft; do
  cat > "snap_$t.yaml" <<YAML
version: 1
name: snap_$t
source: {connection: "sqlite://src.db", table: snap, partition: {strategy: key_range, chunk_rows: 900}}
target: {connection: "sqlite://snap.db", table: $t, mode: upsert, key: [id], delete_missing: $t}
settings: {workers: 2, min_rows_for_parallel: 100}
YAML
  expect_exit 0 "$SLUICE" run "snap_$t.yaml" --progress none
done
last_deleted() { tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["deleted"])'; }
sqlite3 src.db "DELETE FROM snap WHERE id % 89 = 0 OR id IN (1, 5000)"
gone=$(sqlite3 src.db "SELECT 5000 - count(*) FROM snap")
for t in hard soft; do
  expect_exit 0 "$SLUICE" run "snap_$t.yaml" --progress none --yes
  [ "$(last_deleted)" = "$gone" ] && pass "delete_missing $t: $gone rows counted deleted" || fail "delete_missing $t: counted $(last_deleted), expected $gone"
done
snap_digest() { sqlite3 src.db "SELECT group_concat(id || name, '|') FROM (SELECT * FROM snap ORDER BY id)" | md5sum; }
[ "$(snap_digest)" = "$(sqlite3 snap.db "SELECT group_concat(id || name, '|') FROM (SELECT * FROM hard ORDER BY id)" | md5sum)" ] \
  && pass "delete_missing hard: the target equals the snapshot" || fail "delete_missing hard: target differs"
[ "$(snap_digest)" = "$(sqlite3 snap.db "SELECT group_concat(id || name, '|') FROM (SELECT * FROM soft WHERE deleted_at IS NULL ORDER BY id)" | md5sum)" ] \
  && [ "$(sqlite3 snap.db "SELECT count(*) FROM soft WHERE deleted_at IS NOT NULL")" = "$gone" ] \
  && pass "delete_missing soft: live rows equal the snapshot, $gone flagged" || fail "delete_missing soft: wrong rows"
sqlite3 src.db "INSERT INTO snap VALUES (89, 'back')"
expect_exit 0 "$SLUICE" run snap_soft.yaml --progress none --yes
[ "$(sqlite3 snap.db "SELECT name || ':' || coalesce(deleted_at, 'alive') FROM soft WHERE id = 89")" = "back:alive" ] \
  && pass "delete_missing soft: a key that came back is alive again" || fail "delete_missing soft: id 89 is $(sqlite3 snap.db "SELECT name, deleted_at FROM soft WHERE id = 89")"
finish

#!/usr/bin/env bash
# incremental: on a SQLite source fanned out over tenants, against an oracle (a trigger keeps
# every version of every row in `history`): marks per tenant, ties at the boundary, and a
# failed tenant (under on_error: continue) moves no mark until --resume loads it.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
sqlite3 src.db <<'SQL'
CREATE TABLE events (id INTEGER PRIMARY KEY, country TEXT, updated_at TEXT, note TEXT);
CREATE TABLE history (id INTEGER, country TEXT, updated_at TEXT, note TEXT);
CREATE TRIGGER keep_i AFTER INSERT ON events BEGIN INSERT INTO history VALUES (NEW.id, NEW.country, NEW.updated_at, NEW.note); END;
CREATE TRIGGER keep_u AFTER UPDATE ON events BEGIN INSERT INTO history VALUES (NEW.id, NEW.country, NEW.updated_at, NEW.note); END;
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 3000)
INSERT INTO events SELECT i, CASE i % 2 WHEN 0 THEN 'a' ELSE 'b' END,
  printf('2026-11-01 10:00:%02d.%06d', i % 30, i % 7), 'v1' FROM g;
SQL
sqlite3 out.db "CREATE TABLE events (id INTEGER, country TEXT, updated_at TEXT, note TEXT)"
cat > job.yaml <<'YAML'
version: 1
name: incr_sqlite
source: {connection: "sqlite://src.db", table: events}
tenants: {values: {column: country, list: [a, b]}}
incremental: {cursor: [updated_at, id]}
target: {connection: "sqlite://out.db", table: events}
settings: {workers: 2, on_error: continue}
YAML
same_as_oracle() {
  local want got
  want=$(sqlite3 src.db "SELECT count(*), sum(id), group_concat(x, '|') FROM (SELECT id, id || updated_at || note AS x FROM history ORDER BY id, updated_at, note)" | md5sum)
  got=$(sqlite3 out.db "SELECT count(*), sum(id), group_concat(x, '|') FROM (SELECT id, id || updated_at || note AS x FROM events ORDER BY id, updated_at, note)" | md5sum)
  [ "$want" = "$got" ] && pass "$1: target holds exactly every version" \
    || fail "$1: target $(sqlite3 out.db 'SELECT count(*) FROM events') rows, oracle $(sqlite3 src.db 'SELECT count(*) FROM history')"
}
marks() { "$SLUICE" checkpoints job.yaml --json | python3 -c 'import json,sys; print(" ".join(m["tenant"] + "=" + ",".join(m["cursor"]) for m in json.load(sys.stdin)))'; }

expect_exit 0 "$SLUICE" run job.yaml --progress none
same_as_oracle "first run"
max_of() { sqlite3 src.db "SELECT updated_at || ',' || id FROM events WHERE country = '$1' ORDER BY updated_at DESC, id DESC LIMIT 1"; }
want="a=$(max_of a) b=$(max_of b)"
[ "$(marks)" = "$want" ] && pass "one mark per tenant: $(marks)" || fail "marks '$(marks)', expected '$want'"

# Ties at each tenant's mark, new rows, updates; b brings a row the target refuses.
mark_a=$(max_of a); mark_b=$(max_of b)
sqlite3 src.db "INSERT INTO events VALUES (3002, 'a', '${mark_a%,*}', 'tie');
  INSERT INTO events VALUES (3001, 'b', '${mark_b%,*}', 'tie');
  INSERT INTO events VALUES (3003, 'b', '2026-11-01 10:00:30.000000', 'bad');
  INSERT INTO events VALUES (3004, 'a', '2026-11-01 10:00:31.000000', 'new');
  UPDATE events SET updated_at = '2026-11-01 10:00:40.000000', note = 'v2' WHERE id IN (10, 11);"
sqlite3 out.db "CREATE TRIGGER refuse BEFORE INSERT ON events WHEN NEW.note = 'bad' BEGIN SELECT RAISE(ABORT, 'bad row'); END;"
before=$(marks)
expect_exit 3 "$SLUICE" run job.yaml --progress none
[ "$(marks)" = "$before" ] && pass "a partial run moves no mark" || fail "marks moved to $(marks)"
[ "$(sqlite3 out.db "SELECT count(*) FROM events WHERE id IN (3002, 3004) OR (id = 10 AND note = 'v2')")" = 3 ] \
  && pass "tenant a loaded while b failed" || fail "tenant a's new rows are missing"
sqlite3 out.db "DROP TRIGGER refuse"
expect_exit 0 "$SLUICE" run job.yaml --resume --progress none
same_as_oracle "after --resume loaded the failed tenant"
want="a=2026-11-01 10:00:40.000000,10 b=2026-11-01 10:00:40.000000,11"
[ "$(marks)" = "$want" ] && pass "both marks moved with the succeeded run: $(marks)" || fail "marks '$(marks)', expected '$want'"
expect_exit 0 "$SLUICE" run job.yaml --progress none
same_as_oracle "a run with nothing new"

# --full-refresh reads every row once, whatever the marks, and leaves them where it ended.
sqlite3 out.db "DELETE FROM events"
marks_before=$(marks)
expect_exit 0 "$SLUICE" run job.yaml --full-refresh --progress none --yes
[ "$(sqlite3 out.db 'SELECT count(*) FROM events')" = "$(sqlite3 src.db 'SELECT count(*) FROM events')" ] \
  && pass "--full-refresh read every current row" || fail "--full-refresh loaded $(sqlite3 out.db 'SELECT count(*) FROM events') rows"
[ "$(marks)" = "$marks_before" ] && pass "--full-refresh set the marks at the maximum" || fail "marks $(marks)"
finish

#!/usr/bin/env bash
# incremental: {files: new | changed} on a CSV drop directory into SQLite: each file loads once,
# a new file loads alone, a touched file (same content) is not loaded again, a changed file is
# reported and left alone with files: new and loaded again with files: changed (into an
# upsert, which then updates its rows), a failed run records no file, and --reset forgets them.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
mkdir drop
csv() {  # FILE FROM TO [NAME]
  { echo "id,name"; for i in $(seq "$2" "$3"); do echo "$i,${4:-n}$i"; done; } > "drop/$1"
}
csv a.csv 1 100
csv b.csv 101 250
cat > job.yaml <<'YAML'
version: 1
name: drop
source: {files: "drop/*.csv", format: csv}
incremental: {files: new}
target: {connection: "sqlite://out.db", table: items}
settings: {workers: 2}
YAML
count() { sqlite3 out.db "SELECT count(*) || ' ' || count(DISTINCT id) FROM items"; }

expect_exit 0 "$SLUICE" run job.yaml --progress none
[ "$(count)" = "250 250" ] && pass "first run loads both files" || fail "first run: $(count)"
expect_exit 0 "$SLUICE" run job.yaml --progress none
[ "$(count)" = "250 250" ] && pass "a run with no new file loads nothing" || fail "second run: $(count)"

csv c.csv 251 300
touch -d '2030-01-01' drop/a.csv   # touched, content unchanged
expect_exit 0 "$SLUICE" plan job.yaml
expect_contains "$WORK/out" "incremental files: 1 new, 0 changed, 2 loaded before and unchanged"
expect_exit 0 "$SLUICE" run job.yaml --progress none
[ "$(count)" = "300 300" ] && pass "only the new file loads; a touched file does not load again" || fail "third run: $(count)"

# A file rewritten after it was loaded: reported, not loaded again with files: new.
csv b.csv 101 260 v2-
expect_exit 0 "$SLUICE" run job.yaml --progress none
[ "$(count)" = "300 300" ] && pass "a changed file is not loaded again with files: new" || fail "changed file loaded: $(count)"
expect_exit 0 "$SLUICE" plan job.yaml
expect_contains "$WORK/out" "drop/b.csv changed since a run loaded it"

# files: changed into an upsert: the changed file loads again and updates its rows.
sed -e 's/files: new/files: changed/' -e 's/table: items}/table: items, mode: upsert, key: [id]}/' job.yaml > changed.yaml
sqlite3 out.db "CREATE UNIQUE INDEX items_id ON items (id)"
expect_exit 0 "$SLUICE" run changed.yaml --progress none
[ "$(count)" = "300 300" ] && [ "$(sqlite3 out.db "SELECT name FROM items WHERE id = 150")" = "v2-150" ] \
  && pass "files: changed loads the changed file again (an upsert: its rows updated, none twice)" || fail "files: changed: $(count), id 150 = $(sqlite3 out.db "SELECT name FROM items WHERE id = 150")"
expect_exit 0 "$SLUICE" run changed.yaml --progress none
[ "$(tail -n 1 "$SLUICE_SUMMARY_JSON" | python3 -c 'import json,sys; print(json.load(sys.stdin)["rows"]["read"])')" = 0 ] \
  && pass "once loaded again, the changed file is recorded: the next run reads nothing" || fail "the changed file was read again"

# A failed run records no file: the next run loads it.
csv d.csv 301 320
sqlite3 out.db "CREATE TRIGGER refuse BEFORE INSERT ON items WHEN NEW.id IN (310, '310') BEGIN SELECT RAISE(ABORT, 'no'); END;"
expect_exit 1 "$SLUICE" run job.yaml --progress none
sqlite3 out.db "DROP TRIGGER refuse"
expect_exit 0 "$SLUICE" run job.yaml --progress none --restart
[ "$(sqlite3 out.db "SELECT count(*) || ' ' || count(DISTINCT id) FROM items WHERE CAST(id AS INTEGER) BETWEEN 301 AND 320")" = "20 20" ] \
  && pass "the file of a failed run is not recorded: the next run loads it, once" || fail "d.csv after a failed run: $(sqlite3 out.db "SELECT count(*) FROM items WHERE CAST(id AS INTEGER) BETWEEN 301 AND 320")"

# --reset forgets the files: the next run reads every file again.
expect_exit 0 "$SLUICE" checkpoints job.yaml
expect_contains "$WORK/out" "file(s) loaded (incremental files)"
expect_exit 0 "$SLUICE" checkpoints job.yaml --reset drop
expect_exit 0 "$SLUICE" plan job.yaml
expect_contains "$WORK/out" "incremental files: 4 new, 0 changed, 0 loaded before"

# Refusals: files: with a cursor; files: on a database source.
sed 's/incremental: {files: new}/incremental: {files: new, cursor: [id]}/' job.yaml > both.yaml
expect_exit 2 "$SLUICE" validate both.yaml
expect_contains "$WORK/err" "cursor goes with cursor:"
finish

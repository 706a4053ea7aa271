#!/usr/bin/env bash
# A table sluice creates in PostgreSQL from one source table with a one-column integer primary
# key (here SQLite) gets that key after the data: one index build instead of row-by-row
# maintenance. Checked: the keys exist after a run (a composite one with a keyword column is
# created with the table), a row without a key is still a rejected row, kill -9 at random
# moments then --resume gives exactly the source and the key, a table the user created is never
# given one, and a table two streams load has its key from the start (clashes are rejects).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE dst"
DB="$WORK/src.db"
sqlite3 "$DB" <<'SQL'
CREATE TABLE events (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, note TEXT);
WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 150000)
INSERT INTO events SELECT i, i % 17, 'note ' || hex(randomblob(1 + i % 20)) FROM g;
CREATE TABLE pairs ("user" TEXT, b INTEGER, v TEXT, PRIMARY KEY ("user", b));
INSERT INTO pairs VALUES ('ann', 1, 'x'), ('ann', 2, 'y'), ('bob', 1, 'z'), (NULL, 3, 'no key');
SQL
# The oracle, from SQLite itself: count and md5 of the rows in key order, as psql prints them.
sqlite_digest() {  # QUERY
  local rows; rows=$(sqlite3 -separator '|' "$DB" "$1")
  echo "$(printf '%s\n' "$rows" | grep -c .) $(printf '%s\n' "$rows" | md5sum | cut -d' ' -f1)"
}
pg_digest() {  # QUERY
  local rows; rows=$(psql_db dst -F '|' -c "$1")
  echo "$(printf '%s\n' "$rows" | grep -c .) $(printf '%s\n' "$rows" | md5sum | cut -d' ' -f1)"
}
expected=$(sqlite_digest "SELECT id, tenant, note FROM events ORDER BY id")
key_of() {  # TABLE -> the primary key's columns, as the catalog has them
  psql_db dst -c "SELECT string_agg(a.attname, ',' ORDER BY k.n) FROM pg_constraint c
    CROSS JOIN unnest(c.conkey) WITH ORDINALITY k(attnum, n)
    JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.attnum
    WHERE c.conrelid = '$1'::regclass AND c.contype = 'p'"
}
unfinished() { psql_db dst -c "SELECT count(*) FROM sluice.copy_unfinished" 2>/dev/null || echo 0; }

mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: key_after
connections: {src: "sqlite://$DB", dst: "$PG_BASE/dst"}
streams:
  - name: events
    source: {connection: src, table: events, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
    target: {connection: dst, table: public.events}
  - name: pairs
    source: {connection: src, table: pairs}
    target: {connection: dst, table: public.pairs}
settings: {workers: 2, max_rejects: 5}
YAML

# 1. Uninterrupted: the keys are there, the keyless row is a reject (within max_rejects),
# nothing is left marked.
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none || true
[ "$(pg_digest "SELECT id, tenant, note FROM events ORDER BY id")" = "$expected" ] \
  && pass "events: exact" || fail "events differ from the source"
[ "$(key_of events)" = "id" ] && pass "events has its primary key (id)" || fail "events key: '$(key_of events)'"
[ "$(key_of pairs)" = "user,b" ] && pass "pairs has its composite key (\"user\", b)" || fail "pairs key: '$(key_of pairs)'"
[ "$(psql_db dst -c "SELECT string_agg(\"user\" || b || v, ',' ORDER BY 1) FROM pairs")" = "ann1x,ann2y,bob1z" ] \
  && pass "pairs: the keyed rows loaded" || fail "pairs rows: $(psql_db dst -c 'SELECT * FROM pairs')"
expect_contains "$WORK/job/rejects/pairs.jsonl" "null value in column"
[ "$(unfinished)" = 0 ] && pass "no table is left marked unfinished" || fail "$(unfinished) table(s) still marked"

# 2. kill -9 at a random moment, then --resume: exactly the source, and the key.
start=$(date +%s%N)
psql_db dst -c "DROP TABLE events, pairs" -c "DROP SCHEMA sluice CASCADE"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none || true
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
for trial in $(seq 1 "${SLUICE_CRASH_TRIALS:-6}"); do
  psql_db dst -c "DROP TABLE IF EXISTS events, pairs" -c "DROP SCHEMA IF EXISTS sluice CASCADE"
  delay_ms=$(( (RANDOM % 95 + 3) * full_ms / 100 ))
  kill_run_after "$delay_ms" "$WORK/job/job.yaml"
  state="key $(key_of events 2>/dev/null || echo -), marked $(unfinished)"
  last=$(psql_db dst -c "SELECT status FROM sluice.runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)
  if [ -n "$last" ] && [ "$last" != running ]; then
    pass "trial $trial: killed after the run ended ($last)"
  else
    set +e; "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
    [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  fi
  got=$(pg_digest "SELECT id, tenant, note FROM events ORDER BY id")
  if [ "$got" = "$expected" ] && [ "$(key_of events)" = id ] && [ "$(key_of pairs)" = "user,b" ] &&
     [ "$(unfinished)" = 0 ]; then
    pass "trial $trial: killed after ${delay_ms} ms ($state); resumed: exact, keys built"
  else
    fail "trial $trial: killed after ${delay_ms} ms ($state): '$got' vs '$expected', keys '$(key_of events)' '$(key_of pairs)', marked $(unfinished)"
  fi
done

# 3. A table the user created (no key) stays as the user made it; earlier rows stay.
psql_db dst -c "DROP TABLE events, pairs" -c "DROP SCHEMA sluice CASCADE" \
  -c "CREATE TABLE events (id bigint, tenant bigint, note text)" -c "INSERT INTO events VALUES (-1, 0, 'earlier')"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none || true
[ -z "$(key_of events)" ] && pass "the user's table got no key" || fail "the user's table got key '$(key_of events)'"
[ "$(psql_db dst -c "SELECT count(*) FROM events WHERE id = -1 AND note = 'earlier'")" = 1 ] &&
  [ "$(psql_db dst -c "SELECT count(*) FROM events")" = 150001 ] \
  && pass "the earlier row is untouched and every source row appended" || fail "user table: $(psql_db dst -c 'SELECT count(*) FROM events')"

# 4. Two streams of one job loading one table: neither source's key vouches for the other's
# rows, so the key is there from the start and a clash is a rejected row, not a failed build.
sqlite3 "$DB" "CREATE TABLE more (id INTEGER PRIMARY KEY, tenant INTEGER NOT NULL, note TEXT);
  INSERT INTO more VALUES (1, 0, 'clash'), (2, 0, 'clash'), (150001, 0, 'new')"
cat > "$WORK/job/two.yaml" <<YAML
version: 1
name: two_into_one
connections: {src: "sqlite://$DB", dst: "$PG_BASE/dst"}
streams:
  - name: events
    source: {connection: src, table: events, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
    target: {connection: dst, table: public.events}
  - name: more
    source: {connection: src, table: more}
    target: {connection: dst, table: Events}
settings: {workers: 2, max_rejects: 5}
YAML
psql_db dst -c "DROP TABLE events" -c "DROP SCHEMA sluice CASCADE"
expect_exit 0 "$SLUICE" run "$WORK/job/two.yaml" --progress none || true
[ "$(key_of events)" = id ] && [ "$(psql_db dst -c "SELECT count(*) FROM events")" = 150001 ] \
  && pass "two streams into one table: key from the start, 150,001 rows" \
  || fail "two streams: key '$(key_of events)', $(psql_db dst -c 'SELECT count(*) FROM events') rows"
# The streams load at the same time: a clash is rejected from whichever stream came second.
[ "$(cat "$WORK"/job/rejects/*.jsonl | grep -c 'duplicate key value')" = 2 ] \
  && pass "the two clashing rows are rejected rows" || fail "rejects: $(cat "$WORK"/job/rejects/*.jsonl)"
finish

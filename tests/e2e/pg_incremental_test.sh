#!/usr/bin/env bash
# incremental: on PostgreSQL, against an oracle: a trigger in the source records every version
# of every row in `history`, and after each run the target (append) must hold exactly those
# versions: nothing lost at a tied boundary, nothing loaded twice, kill -9 + --resume exact
# with the window stored with the run, a failed run moves no mark, NULL cursors refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src <<'SQL'
CREATE TABLE events (id int8 PRIMARY KEY, updated_at timestamptz, note text);
CREATE TABLE history (id int8, updated_at timestamptz, note text);
CREATE FUNCTION keep() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN INSERT INTO history VALUES (NEW.id, NEW.updated_at, NEW.note); RETURN NEW; END $$;
CREATE TRIGGER keep AFTER INSERT OR UPDATE ON events FOR EACH ROW EXECUTE FUNCTION keep();
-- 5000 rows on 50 distinct timestamps with microseconds: every timestamp is shared by 100 ids.
INSERT INTO events SELECT g, '2026-11-01 10:00:00.000001+00'::timestamptz + (g % 50) * interval '1.000001 second', 'v1'
  FROM generate_series(1, 5000) g;
SQL
# Versions of one id arrive in later runs: the target keeps them all (no primary key).
psql_db dst -c "CREATE TABLE events (id int8, updated_at timestamptz, note text)"
cat > "$WORK/job.yaml" <<YAML
version: 1
name: incr
source:
  connection: "$PG_BASE/src"
  table: events
  partition: {strategy: key_range, column: id, chunk_rows: 2000}
incremental: {cursor: [updated_at, id]}
target: {connection: "$PG_BASE/dst", table: events}
settings: {workers: 2, min_rows_for_parallel: 1000, batch_rows: 500}
YAML
oracle() { psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(h::text, '|' ORDER BY id, updated_at, note)) FROM history h"; }
loaded() { psql_db dst -c "SELECT count(*) || ' ' || md5(string_agg(e::text, '|' ORDER BY id, updated_at, note)) FROM events e"; }
same_as_oracle() {
  local want got; want=$(oracle); got=$(loaded)
  [ "$want" = "$got" ] && pass "$1: target holds exactly every version ($got)" || fail "$1: target $got, oracle $want"
}
mark() { "$SLUICE" checkpoints "$WORK/job.yaml" --json | python3 -c 'import json,sys; m=json.load(sys.stdin); print(",".join(m[0]["cursor"]) if m else "none")'; }

# 1. First run: every row.
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
same_as_oracle "first run"
first_mark=$(mark)
want_mark=$(psql_db src -c "SELECT updated_at::text || ',' || id FROM events ORDER BY updated_at DESC, id DESC LIMIT 1")
[ "$first_mark" = "$want_mark" ] && pass "mark at the source's max, microseconds kept: $first_mark" || fail "mark $first_mark, expected $want_mark"

# 2. Ties at the boundary (same timestamp as the mark, larger ids), new rows, and updates.
psql_db src -c "INSERT INTO events SELECT g, (SELECT max(updated_at) FROM events), 'tie' FROM generate_series(5001, 5100) g" \
  -c "INSERT INTO events SELECT g, clock_timestamp(), 'new' FROM generate_series(5101, 7000) g" \
  -c "UPDATE events SET updated_at = clock_timestamp(), note = 'v2' WHERE id % 97 = 0 AND id <= 5000"
expect_exit 0 "$SLUICE" plan "$WORK/job.yaml"
expect_contains "$WORK/out" "after (${first_mark/,/, })"
expect_contains "$WORK/out" "2,051 row(s)"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
same_as_oracle "second run (ties, new rows, updates)"

# 3. Nothing new: loads nothing, the mark stays.
before=$(mark)
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none --yes
same_as_oracle "run with nothing new"
[ "$(mark)" = "$before" ] && pass "the mark stays when nothing is new" || fail "mark moved to $(mark)"

# 4. kill -9 mid-run, rows arrive, --resume reads the stored window, the next run the rest.
psql_db dst -c "CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN PERFORM pg_sleep(0.0002); RETURN NEW; END \$\$" \
  -c "CREATE TRIGGER slow BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION slow()"
psql_db src -c "INSERT INTO events SELECT g, clock_timestamp(), 'batch3' FROM generate_series(7001, 27000) g"
mark_before_kill=$(mark)
"$SLUICE" run "$WORK/job.yaml" --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(psql_db dst -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.status = 'running' AND p.status = 'committed'")" -gt 0 ] && break
  sleep 0.05
done
kill -9 "$pid"; wait "$pid" 2>/dev/null || true
[ "$(mark)" = "$mark_before_kill" ] && pass "a killed run moved no mark" || fail "the killed run moved the mark"
psql_db dst -c "DROP TRIGGER slow ON events"
psql_db src -c "INSERT INTO events SELECT g, clock_timestamp(), 'late' FROM generate_series(27001, 27010) g"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
[ "$(psql_db dst -c "SELECT count(*) FROM events WHERE note = 'late'")" = 0 ] \
  && pass "--resume read the stored window, not the rows that came after it" || fail "--resume read past its window"
[ "$(psql_db dst -c "SELECT count(*) - count(DISTINCT (id, updated_at)) FROM events")" = 0 ] \
  && pass "no version loaded twice after kill -9 + --resume" || fail "duplicates after --resume"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none --yes
same_as_oracle "kill -9, --resume, then the next run"

# 5. A NULL cursor fails the plan, naming the count, and loads nothing; fixed, it loads.
psql_db src -c "INSERT INTO events VALUES (30000, NULL, 'null-cursor')"
expect_exit 1 "$SLUICE" run "$WORK/job.yaml" --progress none --yes
expect_contains "$WORK/err" "1 row(s) have a NULL in the incremental cursor (updated_at, id)"
psql_db src -c "UPDATE events SET updated_at = clock_timestamp() WHERE id = 30000"
psql_db src -c "DELETE FROM history WHERE updated_at IS NULL"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none --yes
same_as_oracle "after the NULL cursor was fixed"

# 6. checkpoints: rewind by hand for a backfill of the last rows, and reset.
expect_exit 0 "$SLUICE" checkpoints "$WORK/job.yaml"
expect_contains "$WORK/out" "incr"
expect_exit 0 "$SLUICE" checkpoints "$WORK/job.yaml" --set "incr=[\"$(psql_db src -c "SELECT updated_at::text FROM events WHERE id = 27010")\", \"27009\"]"
psql_db dst -c "DELETE FROM events WHERE id IN (27010, 30000)"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none --yes
same_as_oracle "after rewinding the mark past two rows"
expect_exit 0 "$SLUICE" checkpoints "$WORK/job.yaml" --reset
expect_contains "$WORK/out" "deleted 1 mark(s)"
finish

#!/usr/bin/env bash
# kill -9 of `sluice run -w 2` at a random moment of a multi-partition PostgreSQL copy, then
# --resume: the target equals the source exactly (count + md5 of the ordered rows), every time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, tenant int, note text, amount numeric(12,2), at timestamptz);
SELECT setseed(0.42);
INSERT INTO events SELECT g, g % 15, repeat(md5(g::text), 1 + g % 3), (random() * 1000)::numeric(12,2),
  '2025-01-01'::timestamptz + g * interval '1 second' FROM generate_series(1, 300000) g;
ANALYZE events;
SQL
expected=$(table_digest src events id)
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: pg_crash
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: public.events, partition: {strategy: key_range, column: id, chunk_rows: 15000}}
target: {connection: dst, table: public.events}
settings: {workers: 2}
YAML

start=$(date +%s%N)
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(table_digest dst events id)" = "$expected" ] && pass "uninterrupted copy is exact (${full_ms} ms)" || fail "uninterrupted copy differs"

# Even trials replace the full table the previous trial left (mode replace): the kill may land
# while loading the staging table, building its indexes or swapping it in.
sed 's/table: public.events}$/table: public.events, mode: replace}/' "$WORK/job/job.yaml" > "$WORK/job/replace.yaml"
grep -q 'mode: replace' "$WORK/job/replace.yaml" || fail "replace job not written"
trials=${SLUICE_CRASH_TRIALS:-10}
for trial in $(seq 1 "$trials"); do
  job="$WORK/job/job.yaml"
  if [ $((trial % 2)) = 0 ]; then
    job="$WORK/job/replace.yaml"
    psql_db dst -c "DROP SCHEMA IF EXISTS sluice CASCADE"
  else
    psql_db dst -c "DROP TABLE IF EXISTS events" -c "DROP SCHEMA IF EXISTS sluice CASCADE"
  fi
  delay_ms=$(( (RANDOM % 90 + 5) * full_ms / 100 ))
  kill_run_after "$delay_ms" "$job"
  committed=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE status = 'committed'" 2>/dev/null || echo "-")
  last_status=$(psql_db dst -c "SELECT status FROM sluice.runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)
  if [ "$last_status" = succeeded ]; then  # killed after the end: nothing to resume
    [ "$(table_digest dst events id)" = "$expected" ] && pass "trial $trial: killed after the run finished; exact" \
      || fail "trial $trial: finished run differs"
    continue
  fi
  # One resume, no second chance: a resume that fails is the bug this test exists to catch.
  set +e; "$SLUICE" run "$job" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
  [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  got=$(table_digest dst events id)
  [ "$got" = "$expected" ] && pass "trial $trial ($(basename "$job" .yaml)): killed after ${delay_ms} ms with $committed partition(s) committed; resume is exact" \
    || fail "trial $trial: target '$got' != source '$expected'"
done
finish

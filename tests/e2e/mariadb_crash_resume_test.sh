#!/usr/bin/env bash
# kill -9 of `sluice run -w 2` at a random moment of a multi-partition MariaDB -> PostgreSQL
# copy (append and replace), then --resume: the target equals the source exactly (count + md5
# of the rows' md5s in key order, computed by MariaDB and by PostgreSQL), every time.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
source "$(dirname "$0")/mariadb_lib.sh"
psql_db postgres -c "CREATE DATABASE dst"
maria sluice_test <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, tenant int, note text, amount decimal(12,2), at timestamp(6) NULL);
INSERT INTO events SELECT seq * 3, seq % 15, REPEAT(MD5(seq), 1 + seq % 3), seq % 100000 / 100,
  '2025-01-01' + INTERVAL seq SECOND FROM seq_1_to_300000;
SQL
expected=$(maria sluice_test "SET SESSION group_concat_max_len = 1073741824; SELECT CONCAT(COUNT(*), ' ', MD5(GROUP_CONCAT(MD5(CONCAT_WS(',', id, tenant, note, amount, DATE_FORMAT(at, '%Y-%m-%d %H:%i:%s'))) ORDER BY id SEPARATOR ''))) FROM events")
digest() {
  psql_db dst -c "SELECT count(*) || ' ' || md5(string_agg(md5(concat_ws(',', id, tenant, note, amount, to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'))), '' ORDER BY id)) FROM events" 2>/dev/null || echo "-"
}
cat > "$WORK/job.yaml" <<YAML
version: 1
name: maria_crash
connections: {src: "$MARIADB_BASE/sluice_test", dst: "$PG_BASE/dst"}
source: {connection: src, table: events, partition: {strategy: key_range, column: id, chunk_rows: 15000}}
target: {connection: dst, table: public.events}
settings: {workers: 2}
YAML
sed 's/table: public.events}$/table: public.events, mode: replace}/' "$WORK/job.yaml" > "$WORK/replace.yaml"
grep -q 'mode: replace' "$WORK/replace.yaml" || fail "replace job not written"

start=$(date +%s%N)
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$(digest)" = "$expected" ] && pass "uninterrupted copy is exact (${full_ms} ms)" || fail "uninterrupted copy: $(digest) != $expected"

trials=${SLUICE_CRASH_TRIALS:-6}
for trial in $(seq 1 "$trials"); do
  job="$WORK/job.yaml"
  if [ $((trial % 2)) = 0 ]; then
    job="$WORK/replace.yaml"   # replaces the full table the previous trial left
    psql_db dst -c "DROP SCHEMA IF EXISTS sluice CASCADE"
  else
    psql_db dst -c "DROP TABLE IF EXISTS events" -c "DROP SCHEMA IF EXISTS sluice CASCADE"
  fi
  delay_ms=$(( (RANDOM % 90 + 5) * full_ms / 100 ))
  kill_run_after "$delay_ms" "$job"
  committed=$(psql_db dst -c "SELECT count(*) FROM sluice.partitions WHERE status = 'committed'" 2>/dev/null || echo "-")
  last_status=$(psql_db dst -c "SELECT status FROM sluice.runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)
  if [ "$last_status" = succeeded ]; then
    [ "$(digest)" = "$expected" ] && pass "trial $trial: killed after the run finished; exact" || fail "trial $trial: finished run differs"
    continue
  fi
  set +e; "$SLUICE" run "$job" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
  [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  got=$(digest)
  [ "$got" = "$expected" ] && pass "trial $trial ($(basename "$job" .yaml)): killed after ${delay_ms} ms with $committed partition(s) committed; resume is exact" \
    || fail "trial $trial: target '$got' != source '$expected'"
done

# The server dies mid-read: the partition fails with a connection error (retried, then the run
# fails); --resume once it is back loads exactly the rest.
psql_db dst -c "DROP TABLE IF EXISTS events" -c "DROP SCHEMA IF EXISTS sluice CASCADE"
"$SLUICE" run "$WORK/job.yaml" --progress none --set settings.retry.attempts=1 >"$WORK/out" 2>"$WORK/err" &
run=$!
sleep "$(awk -v ms="$full_ms" 'BEGIN { printf "%.3f", ms * 0.4 / 1000 }')"
kill -9 "$(cat "$WORK/mariadb/mariadbd.pid")"
set +e; wait "$run"; code=$?; set -e
"$MARIADB_SERVER" start "$WORK/mariadb" >/dev/null
if [ "$code" = 0 ]; then
  pass "the run finished before the server died"
else
  grep -Eq "MariaDB|connecting" "$WORK/err" && pass "a server that dies mid-read fails the run (exit $code), naming MariaDB" || { fail "server death: exit $code"; cat "$WORK/err"; }
  expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
fi
[ "$(digest)" = "$expected" ] && pass "after the server came back, the resumed target is exact" || fail "after server death: $(digest) != $expected"
finish

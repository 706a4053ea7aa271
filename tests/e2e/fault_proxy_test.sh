#!/usr/bin/env bash
# The fault-injecting proxy (tests/support/fault-proxy) itself, driven with psql: a COMMIT whose
# reply it drops leaves the client with a lost connection although the row is committed; disarmed,
# sessions work; app=, nth=, cut-after-bytes, refuse and many concurrent connections behave.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

PROXY_CTL="$WORK/proxy.ctl"
PROXY_LOG="$WORK/proxy.log"
/usr/bin/python3 "$ROOT/tests/support/fault-proxy" --upstream "127.0.0.1:$PGPORT" \
  --port-file "$WORK/proxy.port" --control "$PROXY_CTL" --log "$PROXY_LOG" \
  >/dev/null 2>"$WORK/proxy.err" &
proxy_pid=$!
trap 'kill "$proxy_pid" 2>/dev/null || true; "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
[ -s "$WORK/proxy.port" ] || { cat "$WORK/proxy.err"; fail "proxy did not start"; finish; }
PROXY_PORT=$(cat "$WORK/proxy.port")

arm() { printf '%s\n' "$@" >"$PROXY_CTL"; }
faults() { grep -c "FAULT $1" "$PROXY_LOG" || true; }

# via_proxy APP: psql through the proxy with application_name APP, SQL on stdin (psql sends each
# statement as its own simple Query, as libpq's PQexec does for sluice).
via_proxy() {
  PGAPPNAME="$1" psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PROXY_PORT" -d postgres
}
rows() { psql_db postgres -c "SELECT count(*) FROM t WHERE id = $1"; }
lost_connection() {  # FILE: libpq's words for a connection that went away
  grep -qE "closed the connection unexpectedly|connection to server was lost|server closed" "$1"
}

psql_db postgres -c "CREATE TABLE t (id int)"

# 1. No control file: plain forwarding (through SSLRequest -> 'N' and SCRAM authentication).
out=$(printf 'BEGIN;\nINSERT INTO t VALUES (1);\nCOMMIT;\nSELECT count(*) FROM t;\n' | via_proxy plain 2>&1) \
  && [ "$out" = 1 ] && pass "unarmed proxy forwards a session" || fail "unarmed session failed: $out"

# 2. cut-after-commit: psql loses the connection, yet the row is committed.
arm "fault=cut-after-commit" "app=fault-test/*"
set +e
printf 'BEGIN;\nINSERT INTO t VALUES (2);\nCOMMIT;\n' | via_proxy fault-test/a >"$WORK/cut.out" 2>&1
code=$?
set -e
[ "$code" != 0 ] && lost_connection "$WORK/cut.out" && pass "psql reports a lost connection after COMMIT (exit $code)" \
  || { fail "psql did not lose the connection (exit $code)"; cat "$WORK/cut.out"; }
[ "$(rows 2)" = 1 ] && pass "the cut COMMIT committed: row 2 is in the table" || fail "row 2 missing after the cut COMMIT"
expect_contains "$PROXY_LOG" "reply=COMMIT"
[ "$(faults cut-after-commit)" = 1 ] && pass "one cut-after-commit logged" || fail "expected 1 FAULT line"

# 3. app= filters: another application_name commits normally. END counts as COMMIT.
out=$(printf 'BEGIN;\nINSERT INTO t VALUES (3);\nEND;\nSELECT 7;\n' | via_proxy other 2>&1) && [ "$out" = 7 ] \
  && pass "a non-matching application_name is not cut" || fail "non-matching session failed: $out"
set +e
printf 'begin;\ninsert into t values (4);\n  end ;\n' | via_proxy fault-test/b >"$WORK/end.out" 2>&1
code=$?
set -e
[ "$code" != 0 ] && [ "$(rows 4)" = 1 ] && pass "a lower-case 'end' is cut after committing" \
  || { fail "'end' not cut (exit $code, rows $(rows 4))"; cat "$WORK/end.out"; }

# 4. nth=2: the first matching COMMIT passes, the second is cut, the third passes.
arm "fault=cut-after-commit" "nth=2"
results=""
for id in 5 6 7; do
  if printf 'BEGIN;\nINSERT INTO t VALUES (%s);\nCOMMIT;\n' "$id" | via_proxy nth >/dev/null 2>&1; then
    results="$results ok"; else results="$results cut"; fi
done
[ "$results" = " ok cut ok" ] && pass "nth=2 cuts only the second COMMIT" || fail "nth=2 gave:$results"
[ "$(psql_db postgres -c "SELECT count(*) FROM t WHERE id IN (5, 6, 7)")" = 3 ] \
  && pass "all three nth commits are in the table" || fail "nth commits missing"

# 5. Disarmed by the control file: sessions work again.
arm "fault=none"
out=$(printf 'BEGIN;\nINSERT INTO t VALUES (8);\nCOMMIT;\nSELECT 8;\n' | via_proxy fault-test/c 2>&1) \
  && [ "$out" = 8 ] && pass "disarmed proxy forwards COMMIT replies" || fail "disarmed session failed: $out"

# 6. Many concurrent connections, one of them cut (once=1): the others finish, every row lands.
arm "fault=cut-after-commit" "once=1"
for id in $(seq 100 119); do
  ( printf 'BEGIN;\nINSERT INTO t VALUES (%s);\nSELECT pg_sleep(0.2);\nCOMMIT;\n' "$id" \
      | via_proxy "fault-test/par$id" >/dev/null 2>&1 && echo ok || echo cut ) >"$WORK/par.$id" &
done
wait_for=$(jobs -p | grep -v "^$proxy_pid$" || true)
for p in $wait_for; do wait "$p" || true; done
cut=$(cat "$WORK"/par.* | grep -c cut || true)
[ "$cut" = 1 ] && pass "20 concurrent sessions, exactly one cut" || fail "$cut of 20 concurrent sessions cut"
[ "$(psql_db postgres -c "SELECT count(*) FROM t WHERE id BETWEEN 100 AND 119")" = 20 ] \
  && pass "all 20 concurrent commits are in the table" || fail "concurrent commits missing"

# 7. cut-after-bytes and refuse.
arm "fault=cut-after-bytes" "bytes=4000"
set +e
printf "SELECT length('%s');\n" "$(head -c 20000 /dev/zero | tr '\0' x)" | via_proxy bytes >"$WORK/bytes.out" 2>&1
code=$?
set -e
[ "$code" != 0 ] && [ "$(faults cut-after-bytes)" = 1 ] && pass "cut-after-bytes cuts a long query" \
  || { fail "cut-after-bytes (exit $code)"; cat "$WORK/bytes.out"; }
grep -q "FAULT cut-after-bytes.*after=4000" "$PROXY_LOG" && pass "cut after exactly 4000 bytes" || fail "byte count not logged"
arm "fault=refuse"
set +e
echo "SELECT 1;" | via_proxy refused >"$WORK/refuse.out" 2>&1
code=$?
set -e
[ "$code" != 0 ] && [ "$(faults refuse)" -ge 1 ] && pass "refuse closes the connection" || fail "refuse (exit $code)"
rm -f "$PROXY_CTL"
out=$(echo "SELECT 9;" | via_proxy plain 2>&1) && [ "$out" = 9 ] \
  && pass "removing the control file disarms" || fail "session after removing the control file: $out"
# 8. sluice's own traffic (binary COPY, parameterized ledger queries) passes through unarmed, and
# an armed proxy sees and cuts its COMMITs. What sluice then does is for the engine's tests.
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src -c "CREATE TABLE events (id bigint PRIMARY KEY, note text)" \
  -c "INSERT INTO events SELECT g, md5(g::text) FROM generate_series(1, 20000) g"
via_url="postgresql://$PGUSER:$PGPASSWORD@127.0.0.1:$PROXY_PORT/dst"
if expect_exit 0 timeout 120 "$SLUICE" copy "$PG_BASE/src" "$via_url" --table events --progress none; then
  [ "$(table_digest dst events id)" = "$(table_digest src events id)" ] \
    && pass "sluice copy through the unarmed proxy is exact" || fail "copy through the proxy differs"
fi
psql_db dst -c "DROP TABLE events" -c "DROP SCHEMA IF EXISTS sluice CASCADE"
# sluice names connections sluice/<job>/<partition> and sluice/<job>/ledger: [!l]* picks the
# data partitions' connections only.
arm "fault=cut-after-commit" "app=sluice/copy_events/[!l]*" "once=1"
set +e
timeout 120 "$SLUICE" copy "$PG_BASE/src" "$via_url" --table events --progress none >"$WORK/copy.out" 2>&1
code=$?
set -e
[ "$code" != 124 ] && pass "sluice copy ended (exit $code) after a cut COMMIT" || fail "sluice copy hung after a cut COMMIT"
echo "note: after the cut, sluice copy exited $code: $(tail -n 1 "$WORK/copy.out")"
grep -q "FAULT cut-after-commit.*app='sluice/copy_events/[^l].* reply=COMMIT$" "$PROXY_LOG" \
  && pass "the proxy cut a sluice COMMIT" || { fail "no sluice COMMIT was cut"; cat "$PROXY_LOG"; }
rm -f "$PROXY_CTL"
kill -0 "$proxy_pid" 2>/dev/null && pass "proxy still running" || { fail "proxy died"; cat "$WORK/proxy.err"; }
finish

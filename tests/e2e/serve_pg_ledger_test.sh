#!/usr/bin/env bash
# `sluice serve` over a PostgreSQL ledger whose server goes away: the connections the server
# keeps between requests die with it (a restart, the server's backends terminated), and the
# API answers the next request from a new connection instead of failing it; while PostgreSQL
# is down, /readyz is 503 naming the ledger (password masked) and reads are 503, never a crash;
# once it is back, everything answers again. With a second (SQLite) ledger, reads answer from
# the ledger that answers and name the one that does not. Every answer is checked against the OpenAPI document.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE dst"
mkdir -p "$WORK/jobs"
printf 'id,name\n1,a\n2,b\n3,c\n' > "$WORK/jobs/small.csv"
cat > "$WORK/jobs/small.yaml" <<YAML
version: 1
name: small
source: {files: {path: small.csv, format: csv, columns: {id: bigint, name: text}}}
target: {connection: "$PG_BASE/dst", table: small}
YAML
cat > "$WORK/jobs/local.yaml" <<YAML
version: 1
name: local
source: {files: {path: small.csv, format: csv, columns: {id: bigint, name: text}}}
target: {connection: "sqlite://local.db", table: small}
YAML
"$SLUICE" serve --jobs "$WORK/jobs" --bind 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
API="http://127.0.0.1:$(cat "$WORK/port")"
curl -s -o "$WORK/openapi.json" "$API/api/openapi.json"
call() {  # METHOD PATH [CURL ARGS] -> body in $WORK/body, status echoed; checked against the document
  local method=$1 path=$2 code; shift 2
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' --max-time 20 -X "$method" -H 'Content-Type: application/json' "$@" "$API$path")
  "$ROOT/tests/support/openapi-check" "$WORK/openapi.json" "$method" "$path" "$code" "$WORK/body" 2>> "$WORK/openapi.failed" || true
  echo "$code"
}
: > "$WORK/openapi.failed"

[ "$(call POST /api/jobs/small/runs -d '{}')" = 202 ] || { fail "start"; cat "$WORK/body"; }
run=$(python3 -c "import json; print(json.load(open('$WORK/body'))['run_id'])")
curl -sN --max-time 60 "$API/api/runs/$run/events" > "$WORK/events"
[ "$(call GET "/api/runs/$run")" = 200 ] && grep -q '"status":"succeeded"' "$WORK/body" && pass "a run through the API, recorded in the PostgreSQL ledger" || { fail "run"; cat "$WORK/body"; }
[ "$(call POST /api/jobs/local/runs -d '{}')" = 202 ] || { fail "start local"; cat "$WORK/body"; }
local_run=$(python3 -c "import json; print(json.load(open('$WORK/body'))['run_id'])")
curl -sN --max-time 60 "$API/api/runs/$local_run/events" > /dev/null
[ "$(call GET "/api/runs?limit=1")" = 200 ] && first=$(python3 -c "import json; d = json.load(open('$WORK/body')); print(d['total'], d['runs'][0]['run_id'])") \
  && [ "$(call GET "/api/runs?limit=1&offset=1")" = 200 ] && second=$(python3 -c "import json; d = json.load(open('$WORK/body')); print(d['total'], d['runs'][0]['run_id'])") \
  && [ "$first" = "2 $local_run" ] && [ "$second" = "2 $run" ] \
  && pass "runs of two ledgers (PostgreSQL, SQLite) are paged as one list, newest first" || fail "paging two ledgers: '$first' '$second'"

# The backends of the server's kept connections are terminated: the next requests still answer.
psql_db postgres -c "SELECT count(pg_terminate_backend(pid, 5000)) FROM pg_stat_activity WHERE application_name = 'sluice/serve'" > "$WORK/killed"
[ "$(cat "$WORK/killed")" -ge 1 ] || fail "no kept connection to terminate"
[ "$(call GET /api/runs)" = 200 ] && [ "$(call GET "/api/runs/$run")" = 200 ] && [ "$(call GET /metrics)" = 200 ] \
  && pass "after its $(cat "$WORK/killed") kept connection(s) were terminated, the API answers from new ones" || { fail "after terminate"; cat "$WORK/body"; }

# PostgreSQL down: 503 naming the ledger, password masked; the server lives on.
"$PG_SERVER" stop "$WORK/pg" >/dev/null
[ "$(call GET /readyz)" = 503 ] && grep -q '"ok":false' "$WORK/body" && ! grep -q "$PGPASSWORD" "$WORK/body" \
  && pass "PostgreSQL down: readyz 503 naming the ledger, password masked" || { fail "readyz down"; cat "$WORK/body"; }
code=$(call GET /api/runs)
[ "$code" = 200 ] && grep -q "$local_run" "$WORK/body" && grep -q '"unavailable":\[{"error"' "$WORK/body" && ! grep -q "$PGPASSWORD" "$WORK/body" \
  && pass "PostgreSQL down: GET /api/runs lists the SQLite ledger's runs and names the ledger that did not answer" || { fail "runs down: $code"; cat "$WORK/body"; }
code=$(call GET "/api/runs/$run")
[ "$code" = 503 ] && ! grep -q "$PGPASSWORD" "$WORK/body" && pass "PostgreSQL down: its run is 503, password masked" || { fail "run down: $code"; cat "$WORK/body"; }
[ "$(call GET /metrics)" = 200 ] && grep -q '^sluice_ledger_up{ledger="postgresql://.*"} 0$' "$WORK/body" && grep -q '^sluice_ledger_up{ledger="sqlite://.*"} 1$' "$WORK/body" \
  && grep -q '^sluice_rows_written_total{job="small"} 3$' "$WORK/body" \
  && grep -q '^sluice_bytes_written_total{job="small"} 27$' "$WORK/body" \
  && pass "PostgreSQL down: /metrics shows that ledger down and keeps its runs' counts (3 rows, 27 bytes: three 8-byte ids, three 1-byte names)" \
  || { fail "metrics down"; grep "ledger_up\|_written" "$WORK/body"; }
[ "$(call GET /healthz)" = 200 ] && pass "PostgreSQL down: the server itself is healthy" || fail "healthz while PostgreSQL is down"

# Back on the same port: everything answers again.
PG_PORT=$PGPORT "$PG_SERVER" start "$WORK/pg" >/dev/null
[ "$(call GET /readyz)" = 200 ] && [ "$(call GET "/api/runs/$run")" = 200 ] && grep -q '"status":"succeeded"' "$WORK/body" \
  && pass "PostgreSQL back: ready, and the run is read again" || { fail "after restart"; cat "$WORK/body"; }
[ ! -s "$WORK/openapi.failed" ] && pass "every answer matches the OpenAPI document" || { fail "OpenAPI mismatches:"; cat "$WORK/openapi.failed"; }
kill -TERM "$server"
set +e; wait "$server"; code=$?; set -e
[ "$code" = 0 ] && pass "SIGTERM ends the server" || fail "server exit $code"
finish

#!/usr/bin/env bash
# `sluice serve` driven over HTTP with curl: jobs listed (a broken one with its error, no
# password anywhere), a run started through the API loads exactly and its event stream ends
# with run_finished, a second start of a running job is 409 naming the run, a stop through the
# API ends the run `stopped` with only whole partitions in the target, rejects and metrics from
# the ledger, bad requests answered 400/404 naming the field, tokens required off loopback and
# checked on every mutating call, and SIGTERM ends the server.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/jobs/data"
for f in 1 2 3 4 5 6; do
  awk -v f="$f" 'BEGIN { print "id,name,amount"; for (i = 1; i <= 60000; i++) printf "%d,name %d,%d.%02d\n", f * 1000000 + i, i, i % 977, i % 100 }' \
    > "$WORK/jobs/data/part_$f.csv"
done
printf 'id,name,amount\n1,ok,1.00\n2,bad,not-a-number\n3,ok,3.00\n' > "$WORK/jobs/data/small.csv"
cat > "$WORK/jobs/load.yaml" <<'YAML'
version: 1
name: load
source:
  files: {path: data/part_*.csv, format: csv, columns: {id: bigint, name: text, amount: "numeric(10,2)"}}
  partition: {strategy: file, chunk_rows: 3000}
target: {connection: "sqlite://out.db", table: t}
settings: {workers: 2}
YAML
cat > "$WORK/jobs/rejects.yaml" <<'YAML'
version: 1
name: rejects
source:
  files: {path: data/small.csv, format: csv, columns: {id: bigint, name: text, amount: "numeric(10,2)"}}
target: {connection: "sqlite://small.db", table: s}
settings: {max_rejects: 5}
YAML
cat > "$WORK/jobs/secret.yaml" <<'YAML'
version: 1
name: secret
source: {connection: "postgresql://app:topsecret-pw@127.0.0.1:1/nodb", table: t}
target: {connection: "sqlite://secret.db", table: t}
settings: {state: "sqlite://secret_state.db"}
YAML
printf 'version: 1\nname: broken\nstreams:\n  - name: x\n    sorce: {table: t}\n' > "$WORK/jobs/broken.yaml"

"$SLUICE" serve --jobs "$WORK/jobs" --bind 127.0.0.1:0 --port-file "$WORK/port" >"$WORK/serve.log" 2>&1 &
server=$!
trap 'kill "$server" ${server2:+"$server2"} 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
API="http://127.0.0.1:$(cat "$WORK/port")"
# Every answer `call` gets is checked against the server's OpenAPI document: route, method and
# status documented, the body matching its schema (mismatches are collected in openapi.failed).
call() {  # METHOD PATH [BODY] -> body in $WORK/body, status echoed
  local method=$1 path=$2 code; shift 2
  code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X "$method" -H 'Content-Type: application/json' "$@" "$API$path")
  echo "$method $path" >> "$WORK/openapi.checked"
  "$ROOT/tests/support/openapi-check" "$WORK/openapi.json" "$method" "$path" "$code" "$WORK/body" 2>> "$WORK/openapi.failed" || true
  echo "$code"
}
json() { python3 -c "import json,sys; d=json.load(open('$WORK/body')); print($1)"; }
wait_ended() {  # RUN: reads the run's event stream to its end, into $WORK/events
  curl -sN --max-time 120 "$API/api/runs/$1/events" > "$WORK/events"
}

curl -s -o "$WORK/openapi.json" -w '%{http_code}\n' "$API/api/openapi.json" > "$WORK/code"
[ "$(cat "$WORK/code")" = 200 ] && cmp -s "$WORK/openapi.json" "$ROOT/src/server/openapi.json" \
  && pass "GET /api/openapi.json serves the document" || fail "openapi.json: $(cat "$WORK/code")"
: > "$WORK/openapi.failed"
[ "$(call GET /healthz)" = 200 ] && pass "healthz" || fail "healthz"
[ "$(call GET /readyz)" = 200 ] && pass "readyz: every job's ledger is reachable" || { fail "readyz"; cat "$WORK/body"; }
[ "$(call GET /api/jobs)" = 200 ] || fail "GET /api/jobs"
[ "$(json "sorted(j['name'] for j in d)")" = "['broken', 'load', 'rejects', 'secret']" ] && pass "every job file is listed" || { fail "jobs"; cat "$WORK/body"; }
grep -q "broken.yaml" <<< "$(json "[j for j in d if j['name'] == 'broken'][0]['error']")" && pass "a job that does not parse shows its error, naming the file" || { fail "broken job error"; cat "$WORK/body"; }
! grep -q "topsecret-pw" "$WORK/body" && pass "no password in the job list" || fail "a password leaked in /api/jobs"

# --- a run through the API: exact, its event stream ends with run_finished ---------------------
# Small partitions: a run that lasts a few seconds, so that the second start meets it running.
[ "$(call POST /api/jobs/load/runs -d '{"set": {"source.partition.chunk_rows": 300}}')" = 202 ] || { fail "start load"; cat "$WORK/body"; }
run=$(json "d['run_id']")
[ "$(call POST /api/jobs/load/runs -d '{}')" = 409 ] && grep -q "$run" "$WORK/body" && pass "starting a running job again: 409 naming $run" || { fail "second start"; cat "$WORK/body"; }
wait_ended "$run"
tail -n 3 "$WORK/events" | grep -q '"event":"run_finished"' && grep -q '"status":"succeeded"' "$WORK/events" \
  && pass "the event stream ends with run_finished (succeeded)" || { fail "event stream end"; tail -5 "$WORK/events"; }
grep -q '"event":"partition_committed"' "$WORK/events" && pass "the event stream carries the engine's events" || fail "no partition events"
python3 -c "
import json, re, sys
events = [json.loads(l[6:]) for l in open('$WORK/events') if l.startswith('data: ')]
ok = all(re.fullmatch(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', e.get('at', '')) for e in events)
ok = ok and [e['at'] for e in events] == sorted(e['at'] for e in events)
sys.exit(0 if ok and events else 1)" && pass "every event says when it happened (at, RFC 3339, in order)" || fail "events without at, or out of order"
last_id=$(grep '^id: ' "$WORK/events" | tail -n 1 | cut -d' ' -f2)
[ "$(call GET "/api/runs/$run/events" -H "Last-Event-ID: $((last_id - 1))")" = 200 ] && grep -q '"event":"run_finished"' "$WORK/body" \
  && [ "$(call GET "/api/runs/$run/events" -H "Last-Event-ID: $last_id")" = 204 ] \
  && pass "Last-Event-ID resumes the stream; after the last event it is 204 (a browser stops reconnecting)" || { fail "Last-Event-ID"; cat "$WORK/body"; }
[ "$(sqlite3 "$WORK/jobs/out.db" "SELECT count(*) || ' ' || count(DISTINCT id) FROM t")" = "360000 360000" ] && pass "the API's run loaded every row once" || fail "target after the API run"
[ "$(call GET "/api/runs/$run")" = 200 ] && [ "$(json "d['status'] + ' ' + str(d['rows_written']) + ' ' + str(sum(p['rows'] for p in d['partitions'] if p['status'] == 'committed'))")" = "succeeded 360000 360000" ] \
  && pass "GET /api/runs/ID: status, rows and partitions from the ledger" || { fail "run detail"; head -c 400 "$WORK/body"; }
[ "$(json "d['streams'][0]['rows_written'], d['streams'][0]['by_status']['committed'] == len(d['partitions']), all(p['duration_s'] >= 0 and p['started_at'] <= p['finished_at'] for p in d['partitions'])")" = "360000 True True" ] \
  && pass "the run's stream totals and each partition's times" || { fail "stream totals / partition times"; head -c 600 "$WORK/body"; }

# --- stop through the API: the run ends stopped, the target holds whole partitions only --------
sqlite3 "$WORK/jobs/out.db" "DELETE FROM t"
# Small partitions, one worker: a run long enough to be stopped in the middle.
[ "$(call POST /api/jobs/load/runs -d '{"set": {"settings.workers": 1, "source.partition.chunk_rows": 100}}')" = 202 ] || { fail "start for stop"; cat "$WORK/body"; }
run2=$(json "d['run_id']")
# 64 event streams, the most the server keeps (each holds a thread): one more is refused, and
# the other calls are still answered at once.
for i in $(seq 1 64); do curl -sN --max-time 60 "$API/api/runs/$run2/events" > "$WORK/stream.$i" & done
for _ in $(seq 1 300); do grep -q "^sluice_server_event_streams 64$" <<< "$(curl -s "$API/metrics")" && break; sleep 0.1; done
grep -q "^sluice_server_event_streams 64$" <<< "$(curl -s "$API/metrics")" || fail "the 64 event streams did not all open within 30 s"
[ "$(call GET "/api/runs/$run2/events" --max-time 5)" = 503 ] && grep -q "64 event streams" "$WORK/body" \
  && [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$API/api/jobs")" = 200 ] \
  && pass "the 65th event stream: 503; the API still answers" || { fail "stream cap"; cat "$WORK/body"; }
[ "$(call POST "/api/runs/$run2/stop" -d '')" = 202 ] && pass "POST stop: 202" || { fail "stop"; cat "$WORK/body"; }
wait_ended "$run2"
wait $(jobs -p | grep -v "^$server\$") 2>/dev/null || true
[ "$(grep -l '"event":"run_finished"' "$WORK"/stream.* | wc -l)" = 64 ] && pass "each of the 64 streams ended with run_finished" || fail "streams without run_finished: $(grep -L run_finished "$WORK"/stream.* | wc -l)"
[ "$(call GET "/api/runs/$run2")" = 200 ] && status=$(json "d['status']") && committed=$(json "sum(p['rows'] for p in d['partitions'] if p['status'] == 'committed')")
[ "$status" = stopped ] && [ "$(sqlite3 "$WORK/jobs/out.db" "SELECT count(*) FROM t")" = "$committed" ] \
  && pass "stopped through the API: status stopped, the target holds exactly the $committed committed rows" || fail "stop: status $status, target $(sqlite3 "$WORK/jobs/out.db" "SELECT count(*) FROM t") vs committed $committed"
[ "$(call POST "/api/runs/$run2/stop" -d '')" = 409 ] && pass "stopping an ended run: 409" || fail "stop of an ended run: $(cat "$WORK/body")"
[ "$(call POST /api/jobs/load/runs -d '{"resume": true, "set": {"settings.workers": 1, "source.partition.chunk_rows": 100}}')" = 202 ] && wait_ended "$(json "d['run_id']")" || cat "$WORK/body"
[ "$(sqlite3 "$WORK/jobs/out.db" "SELECT count(*) || ' ' || count(DISTINCT id) FROM t")" = "360000 360000" ] && pass "resume through the API completes it exactly" || fail "resume via API"

# --- rejects, runs list, metrics ------------------------------------------------------------------
[ "$(call POST /api/jobs/rejects/runs -d '')" = 202 ] && rrun=$(json "d['run_id']") && wait_ended "$rrun"
[ "$(call GET "/api/runs/$rrun/rejects")" = 200 ] && [ "$(json "d['total']")" = 1 ] && grep -q "not-a-number" <<< "$(json "d['rejects'][0]['error']")" \
  && pass "GET rejects: the bad row and why" || { fail "rejects"; cat "$WORK/body"; }
[ "$(call GET "/api/runs?job=load&status=succeeded&limit=1")" = 200 ] && [ "$(json "len(d['runs']), d['total']")" = "1 2" ] \
  && pass "GET /api/runs filters by job and status and pages" || { fail "runs list"; cat "$WORK/body"; }
[ "$(call GET /metrics)" = 200 ] && grep -q '^sluice_runs{job="load",status="succeeded"} 2$' "$WORK/body" && grep -q '^sluice_rows_rejected_total{job="rejects"} 1$' "$WORK/body" \
  && pass "/metrics: runs by status and row counters from the ledger" || { fail "metrics"; cat "$WORK/body"; }

# --- bad requests ----------------------------------------------------------------------------------
[ "$(call POST /api/jobs/load/runs -d '{"resum": true}')" = 400 ] && [ "$(json "d['field']")" = resum ] && pass "unknown field: 400 naming it" || fail "unknown field"
[ "$(call POST /api/jobs/load/runs -d '{"resume": true')" = 400 ] && pass "bad JSON: 400" || fail "bad JSON"
[ "$(call POST /api/jobs/load/runs -d '{"resume": "yes"}')" = 400 ] && pass "a field of the wrong type: 400" || fail "wrong type"
[ "$(call POST /api/jobs/nosuch/runs -d '{}')" = 404 ] && pass "unknown job: 404" || fail "unknown job"
[ "$(call GET /api/runs/r-nosuch)" = 404 ] && pass "unknown run: 404" || fail "unknown run"
head -c 70000 /dev/zero | tr '\0' 'x' > "$WORK/big"
[ "$(call POST /api/jobs/load/runs --data-binary @"$WORK/big")" = 413 ] && pass "a body past 64 KiB: 413" || fail "body limit: $(cat "$WORK/body")"
code=$(call POST /api/jobs/secret/runs -d '{}')
[ "$code" != 202 ] && ! grep -q "topsecret-pw" "$WORK/body" && pass "a job that cannot start: $code, password masked" || { fail "secret job: $code"; cat "$WORK/body"; }

# Hostile requests: each a 4xx that says what is wrong, and the server still serves after them.
python3 -c "print('{\"set\": {\"x\": ' + '[' * 30000 + ']' * 30000 + '}}')" > "$WORK/deep"
[ "$(call POST /api/jobs/load/runs --data-binary @"$WORK/deep")" = 400 ] && grep -q '"field":"set.x"' "$WORK/body" \
  && pass "JSON nested 30000 deep: 400 naming the field" || { fail "deep JSON"; head -c 300 "$WORK/body"; }
printf '{"set": {"settings.work\xffers": 1}}' > "$WORK/badutf"
[ "$(call POST /api/jobs/load/runs --data-binary @"$WORK/badutf")" = 400 ] && pass "invalid UTF-8 in a field name: 400" || { fail "invalid UTF-8"; cat "$WORK/body"; }
head -c 10000 /dev/zero | tr '\0' ' ' > "$WORK/spaces"
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST --data-binary @"$WORK/spaces" "$API/api/jobs/load/runs")
[ "$code" = 415 ] && grep -q "Content-Type: application/json" "$WORK/body" && pass "a 10 KB form-encoded body: 415 saying to send JSON" || { fail "form body: $code"; cat "$WORK/body"; }
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X PUT "$API/api/jobs")
[ "${code:0:1}" = 4 ] && grep -q "PUT is not a method" "$WORK/body" && pass "PUT: $code naming the method" || { fail "PUT: $code"; cat "$WORK/body"; }
# Browsers turned on the server: a form or no-cors POST (not JSON), a page of another origin, a
# DNS name rebound to 127.0.0.1; none starts anything.
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X POST -H 'Content-Type: text/plain' -d '{}' "$API/api/jobs/load/runs")
[ "$code" = 415 ] && grep -q "application/json" "$WORK/body" && pass "a POST that is not JSON (a cross-site form or no-cors fetch): 415" || { fail "text/plain POST: $code"; cat "$WORK/body"; }
[ "$(call POST /api/jobs/load/runs -H 'Origin: http://evil.example' -d '{}')" = 403 ] && grep -q "evil.example" "$WORK/body" \
  && pass "a POST from another site's page: 403" || { fail "foreign Origin"; cat "$WORK/body"; }
[ "$(call GET /api/runs -H 'Host: evil.example')" = 403 ] && [ "$(call GET /api/jobs -H "Host: localhost:${API##*:}")" = 200 ] \
  && pass "a Host that is not a loopback name (DNS rebinding): 403; localhost: 200" || { fail "Host check"; cat "$WORK/body"; }
code=$(curl -s -o "$WORK/body" -w '%{http_code}' -X DELETE -H 'Content-Length: 0' "$API/api/runs/$rrun")
[ "$code" = 405 ] && pass "DELETE: 405" || { fail "DELETE: $code"; cat "$WORK/body"; }
[ "$(call POST "/api/jobs/..%2F..%2Fetc%2Fpasswd/runs" -d '{}')" = 404 ] && pass "a job name climbing out of the directory: 404" || fail "path traversal: $(cat "$WORK/body")"
for q in "limit=abc" "limit=5000" "offset=-1" "limit=10x" "limit=99999999999999999999"; do
  [ "$(call GET "/api/runs?$q")" = 400 ] && [ "$(call GET "/api/runs/$rrun/rejects?$q")" = 400 ] || fail "?$q: not 400 ($(cat "$WORK/body"))"
done
pass "bad paging parameters: 400 on runs and rejects"
[ "$(call GET /healthz)" = 200 ] && pass "the server still serves after the hostile requests" || fail "server down after hostile requests"
[ "$(call GET "/api/runs?limit=0")" = 400 ] && [ "$(json "d['field']")" = limit ] && pass "limit 0: 400 naming it" || fail "limit 0"
[ "$(call GET "/api/runs/r-nosuch/rejects")" = 404 ] && [ "$(call POST /api/runs/r-nosuch/stop -d '')" = 404 ] \
  && pass "rejects and stop of an unknown run: 404" || fail "unknown run rejects/stop"
[ ! -s "$WORK/openapi.failed" ] && pass "each of $(wc -l < "$WORK/openapi.checked") answers matches the OpenAPI document" \
  || { fail "answers that differ from the OpenAPI document:"; cat "$WORK/openapi.failed"; }
: > "$WORK/openapi.failed"

# --- tokens -----------------------------------------------------------------------------------------
expect_exit 2 "$SLUICE" serve --jobs "$WORK/jobs" --bind 0.0.0.0:0 || true
grep -q "give a token" "$WORK/err" && pass "binding beyond loopback without a token is refused" || { fail "no-token bind"; cat "$WORK/err"; }
# Bound beyond loopback (every address), reached through 127.0.0.1.
SLUICE_TOKEN=s3cret "$SLUICE" serve --jobs "$WORK/jobs" --bind 0.0.0.0:0 --port-file "$WORK/port2" >"$WORK/serve2.log" 2>&1 &
server2=$!
for _ in $(seq 1 100); do [ -s "$WORK/port2" ] && break; sleep 0.05; done
API2="http://127.0.0.1:$(cat "$WORK/port2")"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$API2/api/jobs/rejects/runs")" = 401 ] && pass "no token: 401" || fail "no token"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' -H 'Authorization: Bearer wrong' "$API2/api/jobs/rejects/runs")" = 401 ] && pass "a wrong token: 401" || fail "wrong token"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$API2/api/jobs")" = 200 ] && pass "reading needs no token" || fail "read with token server"
[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' -H 'Authorization: Bearer s3cret' "$API2/api/jobs/rejects/runs")" = 202 ] && pass "the token: 202" || fail "right token"
kill -TERM "$server2"; wait "$server2" || true

# --- schedules: --once runs what is due, once; a server runs it by itself ----------------------
mkdir -p "$WORK/sched"
cp "$WORK/jobs/data/small.csv" "$WORK/sched/small.csv"
cat > "$WORK/sched/yearly.yaml" <<'YAML'
version: 1
name: yearly
schedule: "0 0 1 1 *"
timezone: Pacific/Kiritimati
source:
  files: {path: small.csv, format: csv, columns: {id: bigint, name: text, amount: text}}
target: {connection: "sqlite://sched.db", table: s}
YAML
printf 'version: 1\nname: badcron\nschedule: "61 * * * *"\nsource: {files: {path: small.csv}}\ntarget: {connection: "sqlite://x.db", table: x}\n' > "$WORK/sched/badcron.yaml"
expect_exit 0 "$SLUICE" serve --jobs "$WORK/sched" --once
grep -q "job yearly: started run" "$WORK/err" && [ "$(sqlite3 "$WORK/sched/sched.db" "SELECT count(*) FROM s")" = 3 ] \
  && pass "--once runs a job whose window is due, and waits for it" || { fail "--once"; cat "$WORK/err"; }
expect_exit 0 "$SLUICE" serve --jobs "$WORK/sched" --once
grep -q "nothing is due" "$WORK/err" && [ "$(sqlite3 "$WORK/sched/sched.db" "SELECT count(*) FROM s")" = 3 ] \
  && pass "--once again: the window ran already, nothing runs" || { fail "--once twice"; cat "$WORK/err"; }
sqlite3 "$WORK/sched/sched.db" "DROP TABLE s; DELETE FROM sluice_runs; DELETE FROM sluice_partitions" 2>/dev/null || true
"$SLUICE" serve --jobs "$WORK/sched" --bind 127.0.0.1:0 --port-file "$WORK/port3" >"$WORK/serve3.log" 2>&1 &
server3=$!
for _ in $(seq 1 100); do [ "$(sqlite3 "$WORK/sched/sched.db" "SELECT count(*) FROM s" 2>/dev/null)" = 3 ] && break; sleep 0.1; done
[ "$(sqlite3 "$WORK/sched/sched.db" "SELECT count(*) FROM s" 2>/dev/null)" = 3 ] && pass "the server runs a due schedule by itself" || { fail "server schedule"; cat "$WORK/serve3.log"; }
curl -s "http://127.0.0.1:$(cat "$WORK/port3")/api/jobs" > "$WORK/body"
grep -q "minute '61'" <<< "$(json "[j for j in d if j['name'] == 'badcron'][0]['error']")" && pass "a bad schedule is the job's error, naming the field" || { fail "bad cron"; cat "$WORK/body"; }
kill -TERM "$server3"; wait "$server3" || true

kill -TERM "$server"
set +e; wait "$server"; code=$?; set -e
[ "$code" = 0 ] && pass "SIGTERM ends the server (exit 0)" || { fail "server exit $code"; cat "$WORK/serve.log"; }
finish

#!/usr/bin/env bash
# Distributed runs: `sluice run --distributed --no-work` records a run in a shared PostgreSQL
# ledger, and `sluice worker` processes load it together. Four workers on one job, with
# workers killed (SIGKILL) and paused past their lease (SIGSTOP) at random moments and
# replaced, as a Kubernetes Job would: the targets equal the source exactly every time
# (count + ordered md5), the rows earlier runs left in the append target are untouched, and
# the replace target is published once, whole. Then: a worker whose lease was taken over
# cannot commit (fencing); a stop reaches every worker; bad set-ups are refused clearly.
# More trials: SLUICE_DIST_TRIALS (make soak).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst" -c "CREATE DATABASE led"
tenants="t1 t2 t3 t4"
for t in $tenants; do
  n=$(( 20000 + ${t#t} * 7000 ))
  psql_db src <<SQL
CREATE SCHEMA $t;
-- Tenants differ: t2 has its columns in another order, t3 lacks "note", t4 has an extra one.
CREATE TABLE $t.events AS SELECT g AS id, g % 97 AS kind, md5('$t' || g) AS note,
  (g * 1.25)::numeric(12,2) AS amount FROM generate_series(1, $n) g;
SQL
done
psql_db src -c "ALTER TABLE t2.events RENAME TO e0; CREATE TABLE t2.events AS SELECT amount, note, kind, id FROM t2.e0; DROP TABLE t2.e0" \
  -c "ALTER TABLE t3.events DROP COLUMN note" -c "ALTER TABLE t4.events ADD COLUMN extra text DEFAULT 'x'"
for t in $tenants; do psql_db src -c "ALTER TABLE $t.events ADD PRIMARY KEY (id); ANALYZE $t.events"; done
psql_db src <<'SQL'
CREATE TABLE accounts (id bigint PRIMARY KEY, name text, balance numeric(14,2), opened date);
INSERT INTO accounts SELECT g, 'acct ' || g, (g % 1000) * 3.5, date '2020-01-01' + g % 1500 FROM generate_series(1, 120000) g;
ANALYZE accounts;
SQL
# The append target already holds rows of earlier loads (negative ids): they must stay.
psql_db dst <<'SQL'
CREATE TABLE events (tenant text NOT NULL, id bigint NOT NULL, kind int, note text, amount numeric(12,2),
  PRIMARY KEY (tenant, id));
INSERT INTO events SELECT 't' || (1 + g % 4), -g, 0, 'earlier', 0 FROM generate_series(1, 500) g;
SQL
earlier=$(table_digest dst "(SELECT * FROM events WHERE id < 0)" "tenant, id")
union=""
for t in $tenants; do
  note=note; [ "$t" = t3 ] && note="NULL::text"
  union+="${union:+ UNION ALL }SELECT '$t'::text AS tenant, id::bigint, kind::int, $note AS note, amount FROM $t.events"
done
expected_events=$(psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(t::text, '|' ORDER BY tenant, id)) FROM ($union) t")
expected_accounts=$(table_digest src accounts id)

mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: dist
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
streams:
  - name: events
    source: {connection: src, table: events, partition: {strategy: key_range, column: id, chunk_rows: 4000}}
    tenants: {schemas: [t1, t2, t3, t4], as_column: tenant}
    target: {connection: dst, table: public.events}
  - name: accounts
    source: {connection: src, table: public.accounts, partition: {strategy: key_range, column: id, chunk_rows: 6000}}
    target: {connection: dst, table: public.accounts, mode: replace}
settings: {workers: 2, lease_seconds: 4}
YAML
LEDGER_DB=led
LEDGER="$PG_BASE/$LEDGER_DB"
run_status() { psql_db "$LEDGER_DB" -c "SELECT status FROM sluice.runs WHERE run_id = '$1'"; }
latest_run() { psql_db "$LEDGER_DB" -c "SELECT run_id FROM sluice.runs ORDER BY started_at DESC LIMIT 1"; }
start_worker() {  # NAME: a worker in the background; its pid in $WORK/NAME.pid
  "$SLUICE" worker --state "$LEDGER" --job dist --slots 2 --wait 5 --progress none \
    >"$WORK/$1.out" 2>"$WORK/$1.err" &
  echo $! > "$WORK/$1.pid"
}
alive() { kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" | cut -c1)" != Z ]; }

# A run recorded for workers only, and nothing loaded until they come.
reset_targets() { psql_db dst -c "DELETE FROM events WHERE id > 0"; }
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
grep -q "$run" "$WORK/out" && pass "--no-work records run $run for the workers" || fail "no run id printed: $(cat "$WORK/out")"
[ "$(psql_db dst -c "SELECT count(*) FROM events WHERE id > 0")" = 0 ] && pass "nothing loads before a worker comes" \
  || fail "rows loaded without workers"
for w in 1 2 3 4; do start_worker "w$w"; done
for w in 1 2 3 4; do wait "$(cat "$WORK/w$w.pid")" || fail "worker w$w exited $?"; done
[ "$(run_status "$run")" = succeeded ] && pass "four workers finished the run" || fail "run is $(run_status "$run")"
[ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] && pass "events exact (tenants differing in columns)" \
  || fail "events differ: $(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id") != $expected_events"
[ "$(table_digest dst "(SELECT * FROM events WHERE id < 0)" "tenant, id")" = "$earlier" ] && pass "earlier rows untouched" || fail "earlier rows changed"
[ "$(table_digest dst accounts id)" = "$expected_accounts" ] && pass "accounts replaced exactly" || fail "accounts differ"
workers=$(psql_db led -c "SELECT count(DISTINCT worker) FROM sluice.partitions WHERE run_id = '$run'")
[ "$workers" -ge 2 ] && pass "$workers workers committed partitions" || fail "only $workers worker(s) loaded"
[ "$(psql_db led -c "SELECT count(*) FROM sluice.streams WHERE run_id = '$run' AND status = 'done' AND outcome = 'succeeded'")" = 2 ] \
  && pass "each stream completed once" || fail "streams: $(psql_db led -c "SELECT * FROM sluice.streams")"
expect_exit 0 "$SLUICE" status "$run" --state "$LEDGER"
grep -q "completed by" "$WORK/out" && grep -qE "committed +[0-9]+ .* [^ ]+:[0-9]+ *$" "$WORK/out" \
  && pass "status names the workers" || fail "status: $(head -12 "$WORK/out")"

# A coordinator retried by its scheduler (`run --distributed --resume`) joins the workers of the
# live run instead of refusing or starting a second one; with --no-work it leaves it to them.
reset_targets
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
start_worker j1
for _ in $(seq 1 300); do
  [ -n "$(psql_db led -c "SELECT 1 FROM sluice.partitions WHERE run_id = '$run' AND status <> 'pending' LIMIT 1")" ] && break
  sleep 0.02
done
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --resume --state "$LEDGER"
grep -q "leaving it to them" "$WORK/err" && [ "$(latest_run)" = "$run" ] && pass "--no-work --resume leaves the live run to its workers" \
  || fail "--no-work --resume: $(cat "$WORK/err")"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --resume --state "$LEDGER" --progress none
wait "$(cat "$WORK/j1.pid")" || fail "worker j1 exited $?"
grep -q "joining them" "$WORK/err" && [ "$(run_status "$run")" = succeeded ] \
  && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
  && pass "--distributed --resume joined the live run; exact" || fail "join: run $(run_status "$run"): $(cat "$WORK/err")"

# Chaos: workers killed or paused past their lease at random moments, and replaced. Odd
# trials keep the ledger in its own database (partition marks in the target, committed with
# the rows); even ones in the target, where the commit mark is the fenced ledger update.
trials=${SLUICE_DIST_TRIALS:-4}
for trial in $(seq 1 "$trials"); do
  LEDGER_DB=led; [ $((trial % 2)) = 0 ] && LEDGER_DB=dst
  LEDGER="$PG_BASE/$LEDGER_DB"
  reset_targets
  expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
  run=$(latest_run)
  for w in 1 2 3 4; do start_worker "t${trial}w$w"; done
  next=5 faults=""
  for round in 1 2 3; do
    sleep "0.$(( RANDOM % 9 + 1 ))"
    victim=$(( RANDOM % 4 + 1 ))
    pid=$(cat "$WORK/t${trial}w$victim.pid")
    alive "$pid" || continue
    # (It may end between the look and the signal: then there is nothing to do.)
    if [ $(( RANDOM % 2 )) = 0 ]; then
      kill -9 "$pid" 2>/dev/null || continue; faults+=" kill"
    else
      # Paused past its lease: its partitions are taken over; woken later, it must not commit.
      kill -STOP "$pid" 2>/dev/null || continue; faults+=" pause"
      ( sleep 6; kill -CONT "$pid" 2>/dev/null ) &
    fi
    start_worker "t${trial}w$next"
    cp "$WORK/t${trial}w$next.pid" "$WORK/t${trial}w$victim.pid"; next=$((next + 1))
  done
  for _ in $(seq 1 600); do
    s=$(run_status "$run"); [ "$s" != running ] && break; sleep 0.1
  done
  sleep 7  # paused workers wake and end (their commits fenced off)
  # A kill that lands while a worker publishes the replace leaves that stream to a --resume
  # (docs/distributed.md): nothing half-published, nothing lost.
  if [ "$(run_status "$run")" = failed ] && psql_db "$LEDGER_DB" -c "SELECT error FROM sluice.streams WHERE run_id = '$run'" | grep -q interrupted; then
    faults+=" (publish interrupted: resumed)"
    expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --state "$LEDGER" --progress none
  fi
  [ "$(run_status "$run")" = succeeded ] || fail "trial $trial (ledger in $LEDGER_DB): run is $(run_status "$run") (faults:$faults): $(psql_db "$LEDGER_DB" -c "SELECT error FROM sluice.runs WHERE run_id = '$run'"; psql_db "$LEDGER_DB" -c "SELECT stream, partition_id, attempts, error FROM sluice.partitions WHERE run_id = '$run' AND status <> 'committed'")"
  got=$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")
  [ "$got" = "$expected_events" ] && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] \
    && [ "$(table_digest dst "(SELECT * FROM events WHERE id < 0)" "tenant, id")" = "$earlier" ] \
    && pass "trial $trial (ledger in $LEDGER_DB, faults:$faults): both targets exact, earlier rows untouched" \
    || fail "trial $trial (faults:$faults): events '$got' != '$expected_events' or accounts differ"
done
pkill -f "worker --state $PG_BASE/" 2>/dev/null || true
LEDGER_DB=led
LEDGER="$PG_BASE/$LEDGER_DB"

# Fencing: a worker paused with a partition claimed loses it when its lease runs out; the
# partition is loaded by another, and the paused one, woken, cannot commit it.
reset_targets
sed 's/chunk_rows: 6000/chunk_rows: 40000/' "$WORK/job/job.yaml" > "$WORK/job/fence.yaml"
expect_exit 0 "$SLUICE" run "$WORK/job/fence.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
"$SLUICE" worker --state "$LEDGER" --slots 1 --wait 5 --progress json >"$WORK/slow.out" 2>"$WORK/slow.err" &
slow=$!
# Paused while it loads a partition (not between its COMMIT and the ledger's record of it),
# and not while it prepares or completes a stream: that holds the stream's lock in the
# ledger, and the others wait for it until it wakes (docs/distributed.md).
claimed=""
for _ in $(seq 1 1000); do
  part=$(psql_db led -c "SELECT stream || ' ' || partition_id FROM sluice.partitions WHERE run_id = '$run' AND status = 'running' AND worker LIKE '%:$slow' LIMIT 1")
  if [ -n "$part" ]; then
    kill -STOP "$slow"
    loading=$(psql_db dst -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'sluice~%' AND state IN ('active', 'idle in transaction') AND query NOT LIKE 'COMMIT%'")
    gate=$(psql_db led -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE '%/stream-gate %' AND state = 'idle in transaction'")
    still=$(psql_db led -c "SELECT 1 FROM sluice.partitions WHERE run_id = '$run' AND stream || ' ' || partition_id = '$part' AND status = 'running'")
    if [ "$loading" -ge 1 ] && [ "$gate" = 0 ] && [ -n "$still" ]; then claimed=$part; break; fi
    kill -CONT "$slow"
  fi
  sleep 0.01
done
[ -n "$claimed" ] && pass "paused worker $slow while it loads partition $claimed" || fail "worker never paused while loading a partition"
sleep 5  # past its 4 s lease
start_worker fast
# A paused process keeps its connections and its open transaction's row locks; the worker that
# takes a partition over ends the earlier holder's session, so it finishes while the first
# still sleeps.
fast=$(cat "$WORK/fast.pid")
for _ in $(seq 1 1200); do alive "$fast" || break; sleep 0.1; done
if alive "$fast"; then
  fail "the second worker is still waiting after 120 s: $(psql_db postgres -c "SELECT datname, application_name, wait_event_type, state, left(query, 80) FROM pg_stat_activity WHERE application_name LIKE 'sluice%'")"
  kill -CONT "$slow"  # let the run end (and the test report) rather than hang until ctest's timeout
fi
wait "$fast" || fail "second worker exited $?"
[ "$(run_status "$run")" = succeeded ] && pass "the run succeeded while the paused worker slept" || fail "run is $(run_status "$run")"
kill -CONT "$slow"
wait "$slow" || fail "paused worker exited $? after waking"
grep -q '"event":"partition_taken_over"' "$WORK/slow.out" && pass "the woken worker found its partition taken over" \
  || fail "the woken worker did not report the take-over: $(tail -5 "$WORK/slow.err"; grep -v '"progress"' "$WORK/slow.out" | tail -c 3000)"
[ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] \
  && pass "fencing: targets exact after the paused worker woke" || fail "fencing: targets differ"
if [ -n "$claimed" ]; then
  attempts=$(psql_db led -c "SELECT attempts || ' ' || worker FROM sluice.partitions WHERE run_id = '$run' AND stream || ' ' || partition_id = '$claimed' AND status = 'committed' AND worker NOT LIKE '%:$slow' AND attempts > 1")
  [ -n "$attempts" ] && pass "partition $claimed of the paused worker was taken over (attempts, worker: $attempts)" \
    || fail "partition $claimed was not taken over: $(psql_db led -c "SELECT * FROM sluice.partitions WHERE run_id = '$run' AND stream || ' ' || partition_id = '$claimed'")"
fi

# A worker paused while it holds a stream's lock (preparing or completing it). Within its lease
# it holds that stream up: the one waiting says whom it waits for, and a stop still ends it.
# Silent past its lease (its heartbeat stopped, as a paused or cut-off process's does), it loses
# the lock: the waiting worker ends its session, ends the sessions it had opened on the target
# for that stream's steps, and goes on; woken, the paused worker finds its steps fenced off.
# Paused while its gate session holds a stream's row lock: idle in a transaction that has an xid
# (the lock's), not between its BEGIN and the SELECT ... FOR UPDATE.
expect_event_naming_holder() {  # FILE EVENT WHAT: the first EVENT in FILE names the paused $holder
  local line
  line=$(grep "\"event\":\"$2\"" "$1" | head -1)
  grep -q "stream-gate [^\"]*:$holder\"" <<<"$line" && pass "$3: $(grep -o '"holder":"[^"]*"' <<<"$line")" \
    || fail "no $2 naming $holder: $(grep -v '"progress"' "$1" | tail -5; cat "$WORK/paused.txt"; grep -v '"progress"' "$WORK/holder.out")"
}
pause_gate_holder() {  # starts a worker on the latest run and pauses it while it holds a lock
  "$SLUICE" worker --state "$LEDGER" --slots 1 --wait 5 --progress json >"$WORK/holder.out" 2>"$WORK/holder.err" &
  holder=$!
  paused=""
  holds="SELECT 1 FROM pg_stat_activity WHERE application_name LIKE '%/stream-gate %:$holder' AND state = 'idle in transaction' AND backend_xid IS NOT NULL"
  for _ in $(seq 1 3000); do
    if [ -n "$(psql_db led -c "$holds")" ]; then
      kill -STOP "$holder"
      # Looked at again once paused: it may have let go between the look and the signal.
      if [ -n "$(psql_db led -c "$holds")" ]; then
        paused=1
        psql_db postgres -c "SELECT datname, application_name, state, backend_xid, left(query, 70) FROM pg_stat_activity WHERE application_name LIKE 'sluice%'" > "$WORK/paused.txt"
        break
      fi
      kill -CONT "$holder"
    fi
    alive "$holder" || break
    sleep 0.005
  done
  [ -n "$paused" ] || fail "the worker never held a stream's lock long enough to be paused there"
}
reset_targets
sed 's/lease_seconds: 4/lease_seconds: 60/' "$WORK/job/job.yaml" > "$WORK/job/long_lease.yaml"
expect_exit 0 "$SLUICE" run "$WORK/job/long_lease.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
pause_gate_holder
if [ -n "$paused" ]; then
  "$SLUICE" worker --state "$LEDGER" --slots 2 --wait 5 --progress json >"$WORK/waiter.out" 2>"$WORK/waiter.err" &
  waiter=$!
  for _ in $(seq 1 300); do grep -q '"event":"stream_waiting"' "$WORK/waiter.out" && break; sleep 0.1; done
  expect_event_naming_holder "$WORK/waiter.out" stream_waiting "the waiting worker names the paused holder"
  ! grep -q '"event":"stream_lock_taken"' "$WORK/waiter.out" && pass "within its lease, the holder keeps the lock" \
    || fail "the lock was taken within the 60 s lease"
  expect_exit 0 "$SLUICE" stop "$run" --state "$LEDGER"
  stopped_at=$(date +%s%N)
  for _ in $(seq 1 100); do alive "$waiter" || break; sleep 0.1; done
  ms=$(( ($(date +%s%N) - stopped_at) / 1000000 ))
  alive "$waiter" && fail "the waiting worker did not end within 10 s of the stop" || pass "a stop ended the waiting worker in $ms ms"
  kill -CONT "$holder"
  wait "$waiter" || true
  wait "$holder" || true
  [ "$(run_status "$run")" = stopped ] || fail "run is $(run_status "$run") after the stop"
  expect_exit 0 "$SLUICE" run "$WORK/job/long_lease.yaml" --resume --state "$LEDGER" --progress none
  [ "$(run_status "$run")" = succeeded ] && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
    && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] && pass "--resume after the stop is exact" \
    || fail "resume after the paused holder: run $(run_status "$run"), targets differ"
fi

reset_targets
psql_db dst -c "UPDATE accounts SET name = 'old' WHERE id = 1"  # the old table, told apart
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
pause_gate_holder
if [ -n "$paused" ]; then
  "$SLUICE" worker --state "$LEDGER" --slots 2 --wait 5 --progress json >"$WORK/taker.out" 2>"$WORK/taker.err" &
  taker=$!
  for _ in $(seq 1 600); do alive "$taker" || break; sleep 0.1; done
  if alive "$taker"; then
    fail "the second worker is still waiting after 60 s: $(grep -v '"progress"' "$WORK/taker.out" | tail -3)"
    kill -CONT "$holder"
  fi
  wait "$taker" || fail "the worker that took the lock exited $?: $(tail -3 "$WORK/taker.err")"
  expect_event_naming_holder "$WORK/taker.out" stream_lock_taken "the lock of the holder silent past its lease was taken"
  [ "$(run_status "$run")" = succeeded ] && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] \
    && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
    && pass "the run succeeded while the holder slept; both targets exact" \
    || fail "after the take-over: run $(run_status "$run"): $(psql_db led -c "SELECT stream, status, outcome, error FROM sluice.streams WHERE run_id = '$run'")"
  kill -CONT "$holder"
  for _ in $(seq 1 300); do alive "$holder" || break; sleep 0.1; done
  alive "$holder" && { fail "the woken holder did not end within 30 s"; kill -9 "$holder"; }
  wait "$holder" && holder_rc=0 || holder_rc=$?
  [ "$(table_digest dst accounts id)" = "$expected_accounts" ] && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
    && [ "$(table_digest dst "(SELECT * FROM events WHERE id < 0)" "tenant, id")" = "$earlier" ] \
    && [ "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname = 'accounts__sluice_new'")" = 0 ] \
    && [ "$(run_status "$run")" = succeeded ] \
    && pass "the woken holder (exit $holder_rc; $(grep -c '"event":"stream_lock_lost"' "$WORK/holder.out") stream_lock_lost) changed nothing: targets exact, earlier rows untouched, no staging table" \
    || fail "after the holder woke (exit $holder_rc): targets differ or staging left: $(grep -v '"progress"' "$WORK/holder.out" | tail -5; cat "$WORK/paused.txt"; table_digest dst accounts id; echo "$expected_accounts"; psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname = 'accounts__sluice_new'")"
fi

# A target that cannot fence a stream's steps (SQLite): a holder silent past its lease is
# waited for, never taken from, and the wait says so; woken, it goes on and the run is exact.
cat > "$WORK/job/lite.yaml" <<YAML
version: 1
name: lite
connections: {src: "$PG_BASE/src", lite: "sqlite://$WORK/lite.db"}
streams:
  - name: accounts
    source: {connection: src, table: public.accounts, partition: {strategy: key_range, column: id, chunk_rows: 6000}}
    target: {connection: lite, table: accounts, mode: replace}
settings: {workers: 2, lease_seconds: 3}
YAML
lite_digest="SELECT count(*) || ' ' || count(DISTINCT id) || ' ' || sum(id) || ' ' || sum(length(name))"
expected_lite=$(psql_db src -c "$lite_digest FROM accounts")
expect_exit 0 "$SLUICE" run "$WORK/job/lite.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
# SQLite's steps are quick: the file is held locked until the worker preparing the stream,
# which waits for it inside its gate section, has been paused there.
mkfifo "$WORK/lite.fifo"
sqlite3 "$WORK/lite.db" <"$WORK/lite.fifo" >"$WORK/lite.lock" &
file_lock=$!
exec 7>"$WORK/lite.fifo"
echo "BEGIN EXCLUSIVE; SELECT 'locked';" >&7
for _ in $(seq 1 100); do grep -q locked "$WORK/lite.lock" && break; sleep 0.05; done
pause_gate_holder
echo "COMMIT;" >&7
echo ".quit" >&7  # not EOF: the workers started meanwhile hold the FIFO open too
exec 7>&-
wait "$file_lock"
if [ -n "$paused" ]; then
  "$SLUICE" worker --state "$LEDGER" --slots 2 --wait 5 --progress json >"$WORK/lite.out" 2>"$WORK/lite.err" &
  waiter=$!
  for _ in $(seq 1 300); do grep -q '"event":"stream_waiting"' "$WORK/lite.out" && break; sleep 0.1; done
  expect_event_naming_holder "$WORK/lite.out" stream_waiting "a SQLite target's waiter names the holder"
  grep '"event":"stream_waiting"' "$WORK/lite.out" | head -1 | grep -q '"silent_seconds":' \
    && ! grep -q '"event":"stream_lock_taken"' "$WORK/lite.out" && alive "$waiter" \
    && pass "past its lease, the holder of a stream whose target has no fence keeps the lock, and the waiter says why" \
    || fail "the lock of an unfenced target's holder was taken, or the wait did not say it was silent: $(grep -v '"progress"' "$WORK/lite.out" | tail -3)"
  kill -CONT "$holder"
  wait "$waiter" || fail "the waiting worker exited $?: $(tail -3 "$WORK/lite.err")"
  wait "$holder" || fail "the woken holder exited $?: $(tail -3 "$WORK/holder.err")"
  [ "$(run_status "$run")" = succeeded ] && [ "$(sqlite3 "$WORK/lite.db" "$lite_digest FROM accounts")" = "$expected_lite" ] \
    && [ "$(sqlite3 "$WORK/lite.db" "SELECT count(*) FROM sqlite_master WHERE name = 'accounts__sluice_new'")" = 0 ] \
    && pass "woken, the holder went on: the SQLite target is exact, no staging table left" \
    || fail "SQLite target after the wait: run $(run_status "$run"), $(sqlite3 "$WORK/lite.db" "$lite_digest FROM accounts") vs $expected_lite"
fi

# A worker killed while it publishes the replace: its publish has built the staging table's
# index and waits to swap. The next worker puts the staging table back and publishes it; the
# old table stays whole until then.
reset_targets
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
psql_db dst -c "UPDATE accounts SET name = 'old' WHERE id = 1"  # the old table, told apart
old_accounts=$(table_digest dst accounts id)
# A reader of the old table holds up the swap (not the load, nor the index build).
psql_db dst -c "BEGIN; SELECT count(*) FROM accounts; SELECT pg_sleep(300)" >/dev/null 2>&1 &
holder=$!
start_worker p1
swap_waits() {
  psql_db dst -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'LOCK TABLE \"public\".\"accounts\" IN ACCESS EXCLUSIVE%' AND wait_event_type = 'Lock'"
}
for _ in $(seq 1 600); do [ "$(swap_waits)" -ge 1 ] && break; sleep 0.1; done
[ "$(swap_waits)" -ge 1 ] && [ "$(psql_db dst -c "SELECT count(*) FROM pg_index WHERE indrelid = 'accounts__sluice_new'::regclass")" -ge 1 ] \
  && pass "the worker is publishing accounts: staging indexed, the swap waits" \
  || fail "the publish never reached its swap: $(psql_db dst -c "SELECT wait_event_type, state, left(query, 80) FROM pg_stat_activity WHERE datname = 'dst'"; tail -3 "$WORK/p1.err")"
kill -9 "$(cat "$WORK/p1.pid")"
psql_db dst -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(300)%' AND pid <> pg_backend_pid()" >/dev/null
wait "$holder" 2>/dev/null || true
[ "$(table_digest dst accounts id)" = "$old_accounts" ] && pass "the old accounts stay whole after the kill" || fail "accounts changed by a dead publish"
sleep 5  # past the dead worker's lease
start_worker p2
wait "$(cat "$WORK/p2.pid")" || fail "worker p2 exited $?"
[ "$(run_status "$run")" = succeeded ] && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] \
  && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
  && pass "the next worker published the interrupted replace: run succeeded, both targets exact" \
  || fail "after the interrupted publish: run $(run_status "$run"): $(psql_db led -c "SELECT stream, outcome, error FROM sluice.streams WHERE run_id = '$run'"; tail -5 "$WORK/p2.err")"
[ "$(psql_db dst -c "SELECT count(*) FROM pg_indexes WHERE tablename = 'accounts'")" = 1 ] \
  && [ "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname = 'accounts__sluice_new'")" = 0 ] \
  && pass "accounts has its one primary key index; no staging table left" \
  || fail "accounts indexes: $(psql_db dst -c "SELECT indexname FROM pg_indexes WHERE tablename LIKE 'accounts%'")"

# A stop reaches every worker within a couple of seconds.
reset_targets
sed 's/chunk_rows: 4000/chunk_rows: 1000/' "$WORK/job/job.yaml" > "$WORK/job/stop.yaml"
expect_exit 0 "$SLUICE" run "$WORK/job/stop.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
for w in 1 2 3; do start_worker "s$w"; done
for _ in $(seq 1 300); do
  [ "$(psql_db led -c "SELECT count(*) FROM sluice.partitions WHERE run_id = '$run' AND status = 'committed'")" -ge 3 ] && break
  sleep 0.02
done
expect_exit 0 "$SLUICE" stop "$run" --state "$LEDGER"
stopped_at=$(date +%s%N)
for w in 1 2 3; do wait "$(cat "$WORK/s$w.pid")" || true; done
ms=$(( ($(date +%s%N) - stopped_at) / 1000000 ))
[ "$ms" -lt 4000 ] && pass "stop ended all three workers in $ms ms" || fail "workers took $ms ms to stop"
[ "$(run_status "$run")" = stopped ] && pass "the run is stopped" || fail "run is $(run_status "$run")"
expect_exit 0 "$SLUICE" run "$WORK/job/stop.yaml" --resume --state "$LEDGER" --progress none
[ "$(run_status "$run")" = succeeded ] && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
  && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] && pass "--resume of the stopped distributed run is exact" \
  || fail "resume: run $(run_status "$run"), targets differ"

# A failure under on_error: stop stops every worker and fails the run; once the cause is fixed,
# a --resume loads the failed partitions and the rest, exactly.
reset_targets
psql_db dst -c "ALTER TABLE events ADD CONSTRAINT no_t3_kind_13 CHECK (tenant <> 't3' OR kind <> 13)"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
for w in 1 2 3; do start_worker "f$w"; done
for w in 1 2 3; do wait "$(cat "$WORK/f$w.pid")" || true; done
[ "$(run_status "$run")" = failed ] && pass "a refused row failed the distributed run and stopped its workers" \
  || fail "run is $(run_status "$run")"
psql_db dst -c "ALTER TABLE events DROP CONSTRAINT no_t3_kind_13"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --state "$LEDGER" --progress none
[ "$(run_status "$run")" = succeeded ] && [ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")" = "$expected_events" ] \
  && [ "$(table_digest dst "(SELECT * FROM events WHERE id < 0)" "tenant, id")" = "$earlier" ] \
  && [ "$(table_digest dst accounts id)" = "$expected_accounts" ] && pass "--resume after the fix is exact" \
  || fail "resume after failure: run $(run_status "$run"), events $(table_digest dst "(SELECT * FROM events WHERE id > 0)" "tenant, id")"

# Refusals: a SQLite ledger, --no-work alone, a worker whose environment lacks the job's variable.
expect_exit 2 "$SLUICE" run "$WORK/job/job.yaml" --distributed --state "sqlite://$WORK/l.db"
grep -q "not PostgreSQL" "$WORK/err" && pass "a SQLite ledger is refused for --distributed" || fail "$(cat "$WORK/err")"
expect_exit 2 "$SLUICE" run "$WORK/job/job.yaml" --no-work
grep -q "needs --distributed" "$WORK/err" && pass "--no-work alone is refused" || fail "$(cat "$WORK/err")"
sed "s|\"$PG_BASE/src\"|\"\${SRC_URL}\"|" "$WORK/job/job.yaml" > "$WORK/job/env.yaml"
reset_targets
SRC_URL="$PG_BASE/src" expect_exit 0 "$SLUICE" run "$WORK/job/env.yaml" --distributed --no-work --state "$LEDGER" --yes
run=$(latest_run)
psql_db led -c "SELECT spec FROM sluice.runs WHERE run_id = '$run'" | grep -q 'SRC_URL' \
  && ! psql_db led -c "SELECT spec FROM sluice.runs WHERE run_id = '$run'" | grep -q "$PGPASSWORD@127.0.0.1:$PGPORT/src" \
  && pass "the recorded job keeps \${SRC_URL} unexpanded" || fail "spec: $(psql_db led -c "SELECT spec FROM sluice.runs WHERE run_id = '$run'")"
expect_exit 2 "$SLUICE" worker --state "$LEDGER" --job dist --wait 0
grep -q "SRC_URL" "$WORK/err" && pass "a worker without the job's variable says which" || fail "$(cat "$WORK/err")"
SRC_URL="$PG_BASE/src" expect_exit 0 "$SLUICE" worker --state "$LEDGER" --job dist --wait 0 --progress none
[ "$(run_status "$run")" = succeeded ] && pass "a worker with it finishes the run" || fail "run is $(run_status "$run")"
finish

#!/usr/bin/env bash
# Randomized fault test (issue 9, "make this class of bug hard to write again").
#
# One private PostgreSQL, then SLUICE_SOAK_TRIALS trials (default 6; `make soak` runs many more).
# Each trial draws, from its own seed, a job shape and one fault, runs the job, recovers as a
# user would (fix what was broken, then `sluice run JOB --resume` until it exits 0 or 3), and
# compares the target with an oracle computed in SQL on the source, not through sluice:
# per tenant, count + md5 of the rows in key order, columns chosen by name.
#
#   shape: tenants (2-4 schemas, columns in a different order per schema, `as_column`) or one
#          table; append, replace, upsert or scd2 (by key: earlier rows on the source's keys are
#          overwritten, others untouched); 1-4 workers; target with or without a primary key;
#          3-12 partitions per tenant; 5k-60k source rows; rows from "earlier runs" already in
#          the target (append: they must survive untouched; replace: they are replaced, except
#          for a tenant that stays failed under --ignore-errors, which keeps them);
#          on_error stop or continue (--ignore-errors).
#   fault: kill -9 of sluice at a random moment; pg_terminate_backend of every sluice session
#          of the job at a random moment; the fault proxy cutting the Nth data-partition COMMIT
#          after the server committed; a tenant whose schema lacks the table or a NOT NULL
#          column; a row a CHECK constraint refuses in one tenant; none.
#
# Replay: every trial prints its seed; SLUICE_SOAK_SEED=S SLUICE_SOAK_TRIALS=1 replays trial S
# (the job shape, the data and the fault are the same; the moment of a kill or terminate is
# drawn from the same seed but lands on a different instant of a different run).
# Environment: SLUICE_SOAK_TRIALS, SLUICE_SOAK_SEED (first trial's seed), SLUICE_SOAK_KEEP=1
# (keep each trial's job and outputs under $WORK even when it passes), SLUICE_SOAK_FAULTS (a
# space-separated subset of: none kill terminate cut check broken_table broken_column),
# SLUICE_SOAK_MODES (likewise, of: append replace upsert scd2).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"

TRIALS=${SLUICE_SOAK_TRIALS:-6}
# A fixed first seed by default, so the slice `make test` runs draws the same job shapes and
# faults every time (a failure there is a regression, not bad luck); `make soak` draws anew.
BASE_SEED=${SLUICE_SOAK_SEED:-1000}
RUN_TIMEOUT=${SLUICE_SOAK_RUN_TIMEOUT:-180}   # seconds for one sluice invocation: more is a hang
EARLIER_ID=1000000                            # ids above this are "earlier runs'" rows

psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst" -c "CREATE DATABASE state"

# --- The fault proxy: always running, disarmed unless a trial arms it.
echo "fault=none" > "$WORK/proxy.ctl"
/usr/bin/python3 "$ROOT/tests/support/fault-proxy" --upstream "127.0.0.1:$PGPORT" --port-file "$WORK/proxy.port" \
  --control "$WORK/proxy.ctl" --log "$WORK/proxy.log" >/dev/null 2>"$WORK/proxy.err" &
proxy_pid=$!
trap 'kill $proxy_pid 2>/dev/null || true; "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 200); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
[ -s "$WORK/proxy.port" ] || { cat "$WORK/proxy.err"; echo "FAIL: the fault proxy did not start"; exit 1; }
PROXY_BASE="postgresql://$PGUSER:$PGPASSWORD@127.0.0.1:$(cat "$WORK/proxy.port")"

# A row as text, columns chosen by name (tenant tables order their columns differently).
ROW="id || '|' || coalesce(a, '~') || '|' || coalesce(b::text, '~') || '|' || coalesce(c::text, '~')"
digest() {  # DB FROM WHERE: "count md5" of the rows in key order
  psql_db "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg($ROW, ',' ORDER BY id, $ROW)), '-') FROM $2 WHERE $3"
}
# The generator of every row, source or "earlier": G is the series value, SALT varies per tenant.
gen_cols() {  # SALT -> "a, b, c" expressions over g
  local s=$1
  echo "CASE WHEN g % 97 = 0 THEN E'tab\\there\\nnew line \\\\ back ''q'' $s' WHEN g % 89 = 0 THEN NULL
             WHEN g % 83 = 0 THEN 'ünïcödé-$s-' || g ELSE md5('$s' || g) END,
        CASE WHEN g % 71 = 0 THEN NULL ELSE ((g::bigint * 7919 + $s) % 1000000) / 100.0 END::numeric(12,2),
        CASE WHEN g % 61 = 0 THEN NULL ELSE timestamptz '2024-01-01 00:00:00+00' + (g::bigint * 37 + $s) * interval '1 second' END"
}

# Calibration: how long sluice takes per row here, so kills and terminates land mid-run.
psql_db src -c "CREATE TABLE calib (id bigint PRIMARY KEY, a text, b numeric(12,2), c timestamptz);
                INSERT INTO calib SELECT g, $(gen_cols 1) FROM generate_series(1, 30000) g; ANALYZE calib"
psql_db dst -c "CREATE TABLE calib (id bigint PRIMARY KEY, a text, b numeric(12,2), c timestamptz)"
cat > "$WORK/calib.yaml" <<YAML
version: 1
name: soak_calib
source: {connection: "$PG_BASE/src", table: calib, partition: {strategy: key_range, column: id, chunk_rows: 5000}}
target: {connection: "$PG_BASE/dst", table: calib, create: never}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
t0=$(date +%s%N)
expect_exit 0 timeout -k 5 "$RUN_TIMEOUT" "$SLUICE" run "$WORK/calib.yaml" --progress none || { finish; exit 1; }
calib_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
[ "$(digest dst calib true)" = "$(digest src calib true)" ] && pass "calibration copy exact (30000 rows in ${calib_ms} ms)" \
  || fail "calibration copy differs"
echo "soak: $TRIALS trial(s), first seed $BASE_SEED (replay one with SLUICE_SOAK_SEED=S SLUICE_SOAK_TRIALS=1)"

# The trial's random draws: a generator of our own, advanced in this shell only (bash reseeds
# $RANDOM in every subshell, so $(...) draws would not replay from the seed).
rng_state=1
rng_next() { rng_state=$(( (rng_state * 1103515245 + 12345) & 0x7fffffff )); }
rnd() {  # VAR LO HI: VAR = an integer in [LO, HI]
  rng_next
  printf -v "$1" '%d' $(( (rng_state >> 4) % ($3 - $2 + 1) + $2 ))
}
pick() {  # VAR ITEM...: VAR = one of the items
  local var=$1; shift
  rng_next
  local i=$(( (rng_state >> 4) % $# + 1 ))
  printf -v "$var" '%s' "${!i}"
}

# run_sluice OUTFILE ARGS...: one sluice invocation, bounded in time; sets $code (124/137: hang).
run_sluice() {
  local out=$1; shift
  set +e
  timeout -k 5 "$RUN_TIMEOUT" "$SLUICE" "$@" --progress none >"$out.out" 2>"$out.err"
  code=$?
  set -e
}

committed_now() {  # partitions of the job committed so far (0 before the ledger exists)
  psql_db "$ledger_db" -c "SELECT count(*) FROM sluice.partitions p JOIN sluice.runs r USING (run_id)
                  WHERE r.job = '$job' AND p.status = 'committed'" 2>/dev/null || echo 0
}

# run_with_fault OUTFILE FAULT AFTER_COMMITS DELAY_MS ARGS...: sluice in the background; once
# AFTER_COMMITS partitions committed (0: from the start), DELAY_MS later, either kill -9 it or
# terminate every backend of the job; sets $code and $fault_hit. The moment is drawn by
# progress, not by the clock alone, so the fault lands mid-run whatever this machine's speed.
run_with_fault() {
  local out=$1 fault=$2 after=$3 delay=$4; shift 4
  local tpid spid
  set +e
  timeout -k 5 "$RUN_TIMEOUT" "$SLUICE" "$@" --progress none >"$out.out" 2>"$out.err" &
  tpid=$!
  if [ "$after" -gt 0 ]; then
    while kill -0 "$tpid" 2>/dev/null && [ "$(committed_now)" -lt "$after" ]; do sleep 0.03; done
  fi
  sleep "$(awk -v ms="$delay" 'BEGIN { printf "%.3f", ms / 1000 }')"
  fault_hit=no
  if kill -0 "$tpid" 2>/dev/null; then
    if [ "$fault" = kill ]; then
      spid=$(pgrep -P "$tpid" || true)
      if [ -n "$spid" ]; then kill -9 "$spid" 2>/dev/null && fault_hit="yes (pid $spid)"; fi
    else
      # The first moment from here on when sluice holds sessions (between partitions it may
      # hold none for a few milliseconds), within 2 s.
      local n=0 tries=0
      while [ "$n" = 0 ] && [ "$tries" -lt 100 ] && kill -0 "$tpid" 2>/dev/null; do
        n=$(psql_db postgres -c "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
                                 WHERE application_name LIKE 'sluice/$job/%' AND pid <> pg_backend_pid()")
        tries=$((tries + 1))
        [ "$n" = 0 ] && sleep 0.02
      done
      [ "$n" = 0 ] || fault_hit="yes ($n session(s))"
    fi
  fi
  wait "$tpid"
  code=$?
  set -e
}

trial_fail() {  # MESSAGE: a difference from the oracle, with everything needed to replay it
  fail "trial $trial (seed $seed, $shape, fault $fault): $*"
  trial_ok=0
}

dump_trial() {
  echo "=============== trial $trial FAILED: seed $seed — replay: SLUICE_SOAK_SEED=$seed SLUICE_SOAK_TRIALS=1 bash $0 SLUICE ROOT"
  echo "--- shape: $shape; fault: $fault ($fault_detail)"
  echo "--- job file $jobfile"; cat "$jobfile"
  echo "--- exit codes: $codes"
  for f in "$tdir"/*.out "$tdir"/*.err; do echo "--- $(basename "$f")"; tail -n 30 "$f"; done
  echo "--- sluice.runs"
  psql_db "$ledger_db" -c "SELECT run_id, status, rows_read, rows_written, rows_rejected, left(coalesce(error, ''), 300)
                  FROM sluice.runs WHERE job = '$job' ORDER BY started_at" 2>&1 || true
  echo "--- sluice.partitions (tenant, status, attempts, rows, bounds)"
  psql_db "$ledger_db" -c "SELECT p.run_id, p.tenant, p.partition_id, p.status, p.attempts, p.rows, p.lower_bound, p.upper_bound,
                         left(coalesce(p.error, ''), 160)
                  FROM sluice.partitions p JOIN sluice.runs r USING (run_id) WHERE r.job = '$job'
                  ORDER BY r.started_at, p.tenant, p.partition_id" 2>&1 || true
  echo "--- target per tenant: count, min id, max id, count distinct id"
  psql_db dst -c "SELECT ${tcol:-''''}, count(*), min(id), max(id), count(DISTINCT id) FROM $tgt GROUP BY 1 ORDER BY 1" 2>&1 || true
  echo "--- proxy faults"; grep FAULT "$WORK/proxy.log" | tail -n 5 || true
  echo "==============="
}

total_start=$(date +%s)
trial_failures=0
for trial in $(seq 1 "$TRIALS"); do
  seed=$(( BASE_SEED + trial - 1 ))
  rng_state=$seed; rng_next; rng_next
  trial_start=$(date +%s%N)
  trial_ok=1
  job="soak_$seed"
  tgt="tgt_$seed"
  tdir="$WORK/t$seed"; mkdir -p "$tdir"
  jobfile="$tdir/job.yaml"
  codes=""
  fault_detail=""

  # ---------------------------------------------------------------- the job's shape
  pick ntenants 0 0 2 3 4               # 0: one table, no tenants
  modes=(append append replace upsert scd2)
  [ -n "${SLUICE_SOAK_MODES:-}" ] && read -r -a modes <<< "$SLUICE_SOAK_MODES"
  pick mode "${modes[@]}"
  rnd workers 1 4
  pick with_key yes no
  [ "$mode" = upsert ] && with_key=yes  # ON CONFLICT needs the key unique
  [ "$mode" = scd2 ] && with_key=no      # a history holds several rows per key: indexed below
  pick ignore yes no                    # on_error continue (--ignore-errors) or stop
  rnd total_rows 5000 60000
  rnd nparts 3 12
  rnd earlier 0 1500                    # rows of earlier runs per tenant (0: an empty target)
  pick ledger_db dst dst state          # state: settings.state in another database (target marks)
  tenants=()
  if [ "$ntenants" -gt 0 ]; then for i in $(seq 1 "$ntenants"); do tenants+=("s$i"); done; fi
  units=("${tenants[@]}"); [ "$ntenants" = 0 ] && units=(public)
  nunits=${#units[@]}
  declare -A rows=()
  maxrows=0
  for u in "${units[@]}"; do
    rnd pct 70 130
    rows[$u]=$(( total_rows / nunits * pct / 100 + 1 ))
    [ "${rows[$u]}" -gt "$maxrows" ] && maxrows=${rows[$u]}
  done
  chunk=$(( (maxrows + nparts - 1) / nparts ))

  # ---------------------------------------------------------------- the fault
  faults=(none kill kill terminate terminate cut cut check check broken_table broken_column)
  # SLUICE_SOAK_FAULTS="kill cut" draws from these faults only.
  [ -n "${SLUICE_SOAK_FAULTS:-}" ] && read -r -a faults <<< "$SLUICE_SOAK_FAULTS"
  pick fault "${faults[@]}"
  pick victim "${units[@]}"
  # A broken or refused tenant may stay so: the user accepts the partial run (tenants only).
  leave_broken=no
  if [ "$ntenants" -gt 0 ] && [ "$ignore" = yes ] && [[ $fault == check || $fault == broken_* ]]; then
    pick leave_broken yes no no
  fi
  rnd bad_row 1 "${rows[$victim]}"
  shape="tenants=$ntenants mode=$mode workers=$workers key=$with_key ignore_errors=$ignore rows=$total_rows chunk=$chunk earlier=$earlier ledger=$ledger_db"
  echo "--- trial $trial seed $seed: $shape fault=$fault victim=$victim leave_broken=$leave_broken"

  # ---------------------------------------------------------------- source
  psql_db src -c "DROP TABLE IF EXISTS public.item, public.item_hidden" 2>/dev/null
  for i in 1 2 3 4; do psql_db src -c "DROP SCHEMA IF EXISTS s$i CASCADE" >/dev/null 2>&1; done
  salt=0
  for u in "${units[@]}"; do
    salt=$((salt + 1))
    [ "$u" = public ] || psql_db src -c "CREATE SCHEMA $u"
    pick cols "a text, b numeric(12,2), c timestamptz" "c timestamptz, b numeric(12,2), a text" \
              "b numeric(12,2), a text, c timestamptz" "c timestamptz, a text, b numeric(12,2)"
    # ids 1..n with a few holes; the CHECK fault's row gets a = 'bad'.
    psql_db src -c "CREATE TABLE $u.item (id bigint PRIMARY KEY, $cols);
                    INSERT INTO $u.item (id, a, b, c) SELECT g, $(gen_cols "$salt") FROM generate_series(1, ${rows[$u]}) g
                      WHERE g % 53 <> 0 OR g = ${rows[$u]};
                    ANALYZE $u.item"
  done
  if [ "$fault" = check ]; then
    psql_db src -c "INSERT INTO $victim.item (id, a) VALUES ($bad_row, 'bad') ON CONFLICT (id) DO UPDATE SET a = 'bad'"
    fault_detail="row id $bad_row of $victim.item has a = 'bad'"
  fi

  # ---------------------------------------------------------------- target, with earlier rows
  tcol=""; [ "$ntenants" -gt 0 ] && tcol=country
  tcols="id bigint, a text NOT NULL, b numeric(12,2), c timestamptz"
  [ "$fault" = check ] && tcols="id bigint, a text NOT NULL CHECK (a <> 'bad'), b numeric(12,2), c timestamptz"
  # a is NOT NULL in the target only when the broken_column fault needs a NOT NULL column missing.
  if [ "$fault" != broken_column ]; then tcols=${tcols/a text NOT NULL/a text}; fi
  [ -n "$tcol" ] && pick tcols "country text NOT NULL, $tcols" "$tcols, country text NOT NULL"
  if [ "$with_key" = yes ]; then
    if [ -n "$tcol" ]; then tcols="$tcols, PRIMARY KEY (country, id)"; else tcols="$tcols, PRIMARY KEY (id)"; fi
  fi
  if [ "$mode" = scd2 ]; then
    # The history columns and indexes sluice would create; earlier rows are current versions.
    tcols="$tcols, valid_from timestamptz NOT NULL DEFAULT '2000-01-01', valid_to timestamptz,
           is_current boolean NOT NULL DEFAULT true, scd2_hash text DEFAULT 'earlier'"
  fi
  psql_db dst -c "CREATE TABLE $tgt ($tcols)"
  if [ "$mode" = scd2 ]; then
    psql_db dst -c "CREATE UNIQUE INDEX ON $tgt (${tcol:+$tcol, }id, valid_from);
                    CREATE UNIQUE INDEX ON $tgt (${tcol:+$tcol, }id) WHERE is_current"
  fi
  declare -A before=() closed=()
  if [ "$earlier" -gt 0 ]; then
    salt=100
    for u in "${units[@]}"; do
      salt=$((salt + 1))
      if [ "$mode" = append ]; then lo=$((EARLIER_ID + 1)); hi=$((EARLIER_ID + earlier)); else lo=1; hi=$earlier; fi
      # replace: "previous" rows share ids with the source but not its values.
      psql_db dst -c "INSERT INTO $tgt (id, a, b, c${tcol:+, $tcol})
                      SELECT g, coalesce(a, 'prev'), b, c${tcol:+, '$u'} FROM (SELECT g, $(gen_cols "$salt") FROM generate_series($lo, $hi) g) x(g, a, b, c)"
      if [ "$mode" = upsert ] || [ "$mode" = scd2 ]; then
        # upsert: rows on ids the source has (to be overwritten; the source's holes, g % 53 = 0,
        # left out so that the oracle stays the source), and rows above EARLIER_ID (untouched).
        # Nor ids above the source's last one.
        psql_db dst -c "DELETE FROM $tgt WHERE (id % 53 = 0 OR id > ${rows[$u]}) AND id <= $EARLIER_ID${tcol:+ AND $tcol = '$u'}"
        psql_db dst -c "INSERT INTO $tgt (id, a, b, c${tcol:+, $tcol})
                        SELECT g, coalesce(a, 'old'), b, c${tcol:+, '$u'} FROM (SELECT g, $(gen_cols "$((salt + 50))") FROM generate_series($((EARLIER_ID + 1)), $((EARLIER_ID + earlier))) g) x(g, a, b, c)"
      fi
    done
  fi
  for u in "${units[@]}"; do
    where=true; [ -n "$tcol" ] && where="country = '$u'"
    if [ "$mode" = scd2 ]; then
      closed[$u]=$(digest dst "$tgt" "$where AND id <= $EARLIER_ID")  # to be closed by new versions
    fi
    [ "$mode" = upsert ] || [ "$mode" = scd2 ] && where="$where AND id > $EARLIER_ID"
    before[$u]=$(digest dst "$tgt" "$where")
  done
  if [ "$fault" = broken_column ]; then
    # source NULLs of a would be refused by the NOT NULL target column: give them a value.
    for u in "${units[@]}"; do psql_db src -c "UPDATE $u.item SET a = 'was null' WHERE a IS NULL"; done
  fi

  # ---------------------------------------------------------------- break something
  case $fault in
    broken_table)  psql_db src -c "ALTER TABLE $victim.item RENAME TO item_hidden"; fault_detail="$victim.item missing" ;;
    broken_column) psql_db src -c "ALTER TABLE $victim.item RENAME COLUMN a TO a_hidden"; fault_detail="$victim.item lacks NOT NULL column a" ;;
  esac
  fix() {
    case $fault in
      broken_table)  psql_db src -c "ALTER TABLE $victim.item_hidden RENAME TO item" ;;
      broken_column) psql_db src -c "ALTER TABLE $victim.item RENAME COLUMN a_hidden TO a" ;;
      check)         psql_db src -c "UPDATE $victim.item SET a = 'fixed' WHERE id = $bad_row" ;;
    esac
  }

  # ---------------------------------------------------------------- the job
  url="$PG_BASE"; [ "$fault" = cut ] && url="$PROXY_BASE"
  {
    echo "version: 1"
    echo "name: $job"
    echo "source: {connection: \"$PG_BASE/src\", table: item, partition: {strategy: key_range, column: id, chunk_rows: $chunk}}"
    [ "$ntenants" -gt 0 ] && echo "tenants: {schemas: [$(IFS=,; echo "${tenants[*]}" | sed 's/,/, /g')], as_column: country}"
    key=""; [ "$mode" = upsert ] || [ "$mode" = scd2 ] && key=", key: [${tcol:+$tcol, }id]"
    echo "target: {connection: \"$url/dst\", table: $tgt, create: never, mode: $mode$key}"
    state=""; [ "$ledger_db" = state ] && state=", state: \"$PG_BASE/state\""
    echo "settings: {workers: $workers, min_rows_for_parallel: 0, retry: {attempts: 5, initial: 50ms, max: 500ms}$state}"
  } > "$jobfile"
  flags=(); [ "$ignore" = yes ] && flags=(--ignore-errors)

  # ---------------------------------------------------------------- first run, with the fault
  est_ms=$(( calib_ms * total_rows / 30000 + 15 * nparts * nunits / workers + 100 ))
  case $fault in
    kill|terminate)
      # Mostly by the clock, 0..the expected run time (polling the ledger is too slow to catch
      # a load of a second); one trial in four after 1..all partitions committed (the publish).
      rnd after 0 3
      if [ "$after" = 0 ]; then rnd after 1 $(( nparts * nunits )); rnd delay 0 40; else after=0; rnd delay 0 "$est_ms"; fi
      run_with_fault "$tdir/run0" "$fault" "$after" "$delay" run "$jobfile" "${flags[@]}"
      fault_detail="${delay} ms after $after partition(s) committed: hit $fault_hit" ;;
    cut)
      rnd nth 1 $(( nparts * nunits ))
      cuts_before=$(grep -c "FAULT cut-after-commit" "$WORK/proxy.log" || true)
      printf '%s\n' "fault=cut-after-commit" "app=sluice/$job/$job/*key_range*" "nth=$nth" > "$WORK/proxy.ctl"
      run_sluice "$tdir/run0" run "$jobfile" "${flags[@]}"
      echo "fault=none" > "$WORK/proxy.ctl"
      cuts=$(( $(grep -c "FAULT cut-after-commit" "$WORK/proxy.log" || true) - cuts_before ))
      fault_detail="COMMIT number $nth of the data partitions: $cuts cut" ;;
    *)
      run_sluice "$tdir/run0" run "$jobfile" "${flags[@]}" ;;
  esac
  codes="run=$code"
  first=$code
  [ "$code" = 124 ] && trial_fail "the first run hung (timeout after ${RUN_TIMEOUT}s)"

  # What the contract says the first run ends with, for the faults that are not a crash.
  want_first=""
  case $fault in
    none) want_first=0 ;;
    check|broken_table|broken_column) if [ "$ignore" = yes ]; then want_first=3; else want_first=1; fi ;;
  esac
  # A non-tenant broken source fails at plan time whatever on_error says.
  [ "$ntenants" = 0 ] && [[ $fault == broken_* ]] && want_first=1
  # A replace without tenants whose partition failed publishes nothing: the run changed no
  # table, so it failed (exit 1) even under --ignore-errors.
  [ "$ntenants" = 0 ] && [ "$mode" = replace ] && [ "$fault" = check ] && want_first=1
  if [ -n "$want_first" ] && [ "$first" != "$want_first" ]; then
    trial_fail "the first run exited $first, expected $want_first"
  fi

  # ---------------------------------------------------------------- recover as a user would
  final=$first
  last_status=$(psql_db "$ledger_db" -c "SELECT status FROM sluice.runs WHERE job = '$job' ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)
  if [ "$trial_ok" = 1 ] && [ "$first" != 0 ] && [ "$last_status" != succeeded ]; then
    if [ "$leave_broken" = yes ]; then
      # The user accepts the partial run; a scheduled --resume keeps the tenant failed.
      run_sluice "$tdir/resume1" run "$jobfile" --resume "${flags[@]}"
      codes="$codes resume(unfixed)=$code"
      final=$code
      [ "$code" = 3 ] || trial_fail "--resume with the tenant still broken exited $code, expected 3"
    else
      fix
      transient_left=1
      for attempt in 1 2 3; do
        run_sluice "$tdir/resume$attempt" run "$jobfile" --resume "${flags[@]}"
        codes="$codes resume$attempt=$code"
        final=$code
        if [ "$code" = 0 ] || [ "$code" = 3 ]; then break; fi
        if [ "$code" = 1 ] && [ "$transient_left" = 1 ]; then
          transient_left=0
          echo "  resume $attempt exited 1 (allowed once): $(tail -n 3 "$tdir/resume$attempt.err" | tr '\n' ' ')"
          continue
        fi
        trial_fail "--resume exited $code (attempt $attempt)"
        break
      done
      # Everything was fixed: the recovered run must succeed.
      [ "$trial_ok" = 1 ] && [ "$final" != 0 ] && trial_fail "after the fix the last --resume exited $final, expected 0"
    fi
  elif [ "$first" != 0 ] && [ "$last_status" = succeeded ]; then
    codes="$codes (the run had finished before the fault: nothing to resume)"
  fi
  echo "  fault: $fault ${fault_detail:+($fault_detail)}; exit codes: $codes"

  # ---------------------------------------------------------------- the oracle
  if [ "$trial_ok" = 1 ]; then
    for u in "${units[@]}"; do
      where=true; [ -n "$tcol" ] && where="country = '$u'"
      stays_failed=no; [ "$leave_broken" = yes ] && [ "$u" = "$victim" ] && stays_failed=yes
      want_src=$(digest src "$u.item" true 2>/dev/null || echo "(no source table)")
      if [ "$mode" = upsert ]; then
        got_old=$(digest dst "$tgt" "$where AND id > $EARLIER_ID")
        got_new=$(digest dst "$tgt" "$where AND id <= $EARLIER_ID")
        [ "$got_old" = "${before[$u]}" ] || trial_fail "$u: rows of keys the source lacks changed: got '$got_old', had '${before[$u]}'"
        # A tenant left failed keeps what its committed partitions merged (merges are not
        # undone): only the rows the source lacks are checked for it.
        if [ "$stays_failed" = no ]; then
          [ "$got_new" = "$want_src" ] || trial_fail "$u: merged rows '$got_new' != source '$want_src'"
        fi
      elif [ "$mode" = scd2 ]; then
        # History: the keys the source lacks untouched; on the source's keys, the current
        # versions are the source and the earlier versions are closed, each exactly once.
        got_old=$(digest dst "$tgt" "$where AND id > $EARLIER_ID")
        [ "$got_old" = "${before[$u]}" ] || trial_fail "$u: history of keys the source lacks changed: got '$got_old', had '${before[$u]}'"
        if [ "$stays_failed" = no ]; then
          got_new=$(digest dst "$tgt" "$where AND id <= $EARLIER_ID AND is_current")
          got_closed=$(digest dst "$tgt" "$where AND id <= $EARLIER_ID AND NOT is_current")
          [ "$got_new" = "$want_src" ] || trial_fail "$u: current versions '$got_new' != source '$want_src'"
          [ "$got_closed" = "${closed[$u]}" ] || trial_fail "$u: closed versions '$got_closed' != the earlier ones '${closed[$u]}'"
          bad=$(psql_db dst -c "SELECT count(*) FROM $tgt WHERE $where AND id <= $EARLIER_ID
                                  AND (is_current <> (valid_to IS NULL) OR (NOT is_current AND valid_from <> '2000-01-01'))")
          [ "$bad" = 0 ] || trial_fail "$u: $bad version(s) with inconsistent validity columns"
        fi
      elif [ "$mode" = append ]; then
        got_old=$(digest dst "$tgt" "$where AND id > $EARLIER_ID")
        got_new=$(digest dst "$tgt" "$where AND id <= $EARLIER_ID")
        [ "$got_old" = "${before[$u]}" ] || trial_fail "$u: earlier runs' rows changed: got '$got_old', had '${before[$u]}'"
        if [ "$stays_failed" = yes ]; then
          [ "$got_new" = "0 -" ] || trial_fail "$u (failed, left broken): holds rows of this run: '$got_new'"
        else
          [ "$got_new" = "$want_src" ] || trial_fail "$u: new rows '$got_new' != source once '$want_src'"
        fi
      else
        got=$(digest dst "$tgt" "$where")
        if [ "$stays_failed" = yes ]; then
          [ "$got" = "${before[$u]}" ] || trial_fail "$u (failed, left broken): replace did not keep its previous rows: got '$got', had '${before[$u]}'"
        else
          [ "$got" = "$want_src" ] || trial_fail "$u: replaced rows '$got' != source '$want_src'"
        fi
      fi
    done
    # Nothing else in the target (no tenant label sluice made up, no stray rows).
    if [ -n "$tcol" ]; then
      stray=$(psql_db dst -c "SELECT count(*) FROM $tgt WHERE country NOT IN ($(printf "'%s'," "${units[@]}" | sed 's/,$//'))")
      [ "$stray" = 0 ] || trial_fail "$stray row(s) with a tenant label outside the job's tenants"
    fi
    # A finished run leaves no staging table behind.
    if [ "$final" = 0 ]; then
      left=$(psql_db dst -c "SELECT string_agg(relname, ',') FROM pg_class WHERE relname LIKE '${tgt}\\_\\_%' AND relkind = 'r'")
      [ -z "$left" ] || trial_fail "staging table(s) left after a successful run: $left"
    fi
  fi

  ms=$(( ($(date +%s%N) - trial_start) / 1000000 ))
  if [ "$trial_ok" = 1 ]; then
    pass "trial $trial seed $seed ($fault, $mode, ${ntenants} tenant(s)): target equals the oracle (${ms} ms)"
    [ "${SLUICE_SOAK_KEEP:-0}" = 1 ] || rm -rf "$tdir"
    psql_db dst -c "DROP TABLE IF EXISTS $tgt" >/dev/null
  else
    trial_failures=$((trial_failures + 1))
    dump_trial
  fi
  unset rows before closed
done
total_s=$(( $(date +%s) - total_start ))
echo "soak: $TRIALS trial(s), $trial_failures failed, ${total_s} s (first seed $BASE_SEED)"
finish

# The body of sqlite_scd2_test.sh and pg_scd2_test.sh (sourced after lib.sh, and pg_lib.sh for
# TARGET_KIND=pg): mode scd2 against tests/support/scd2-oracle, a row-by-row reference of the
# rules in docs/job-file.md. 6 runs of seeded random changes (new keys, changes, late rows,
# ties on updated_at, deletions, keys that come back with an old or a new time, values that
# concatenate alike, NULLs, a run with no change) from a SQLite source; after every run the W=4
# target (many small partitions) and the W=1 target equal the oracle, for the timestamp
# strategy with hard_deletes: invalidate and the check strategy with new_record; the history
# invariants are checked apart; one run of each W=4 job is killed (kill -9) and resumed. Then
# mode upsert, with and without delete_missing: hard, from the same stream (upsert_scenario).
cd "$WORK"
ORACLE="$ROOT/tests/support/scd2-oracle"
SEED=${SLUICE_SCD2_SEED:-$((RANDOM % 1000))}
echo "seed $SEED (replay: SLUICE_SCD2_SEED=$SEED)"

# TARGET_KIND sqlite: each job writes dim in NAME.db, which holds its ledger too; pg: each job
# writes dim_NAME in the private server's postgres database (ledger schema sluice).
target_of() { [ "$TARGET_KIND" = pg ] && echo "{connection: \"$PG_BASE/postgres\", table: dim_$1" || echo "{connection: \"sqlite://$1.db\", table: dim"; }
query() {  # NAME SQL (the table is dim)
  if [ "$TARGET_KIND" = pg ]; then
    PGTZ=UTC psql_db postgres -F'|' -c "$(sed -E "s/\\bdim\\b/dim_$1/g" <<< "$2")"
  else
    sqlite3 "$1.db" "$2"
  fi
}
flag() { [ "$TARGET_KIND" = pg ] && echo "CASE WHEN $1 THEN 1 ELSE 0 END" || echo "$1"; }
job() {  # NAME WORKERS SCD2
  cat > "$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "sqlite://src.db", table: dim_src, partition: {chunk_rows: 60}}
target: $(target_of "$1"), mode: scd2, key: [id], scd2: $3}
settings: {workers: $2, min_rows_for_parallel: 50}
YAML
}
# The runs each target saw: every run its ledger recorded since the last call (a killed run that
# had finished, and the run after it, are two), at its own start time, with the source's rows.
record() {  # NAME
  touch "$1.runs"
  if [ "$TARGET_KIND" = pg ]; then
    PGTZ=UTC psql_db postgres -c "SELECT started_at FROM sluice.runs WHERE job = '$1' AND status = 'succeeded' ORDER BY started_at"
  else
    sqlite3 "$1.db" "SELECT started_at FROM sluice_runs WHERE status = 'succeeded' ORDER BY started_at"
  fi | "$ORACLE" normalize > "$1.times"
  /usr/bin/python3 - "$1" <<'PY'
import json, sqlite3, sys
name = sys.argv[1]
seen = sum(1 for _ in open(name + ".runs"))
times = [line.strip() for line in open(name + ".times")]
rows = [list(r) for r in sqlite3.connect("src.db").execute("SELECT id, name, city, updated_at FROM dim_src")]
with open(name + ".runs", "a") as out:
    for t in times[seen:]:
        out.write(json.dumps({"time": t, "rows": rows}) + "\n")
PY
}
dump() {  # NAME DELETED_COLUMN
  query "$1" "SELECT id || '|' || coalesce(name, '~') || '|' || coalesce(city, '~') || '|' || updated_at || '|' ||
              valid_from || '|' || coalesce(CAST(valid_to AS TEXT), '~') || '|' || $(flag is_current) || '|' ||
              $( [ "$2" = 0 ] && echo 0 || flag "$2") FROM dim" | "$ORACLE" normalize
}
invariants() {  # NAME GAPS_ALLOWED
  local bad
  bad=$(query "$1" "
    SELECT (SELECT count(*) FROM (SELECT id FROM dim WHERE is_current GROUP BY id HAVING count(*) > 1) x)
         + (SELECT count(*) FROM dim WHERE is_current <> (valid_to IS NULL) OR valid_to <= valid_from)
         + (SELECT count(*) FROM (SELECT valid_from, lag(valid_to) OVER (PARTITION BY id ORDER BY valid_from) AS prev,
                                         row_number() OVER (PARTITION BY id ORDER BY valid_from) AS n FROM dim) x
            WHERE n > 1 AND (prev IS NULL OR prev > valid_from OR ($2 = 0 AND prev < valid_from)))
         + (SELECT count(*) FROM dim a JOIN dim b ON a.id = b.id AND a.valid_from < b.valid_from
            WHERE (a.name IS NOT DISTINCT FROM b.name AND a.city IS NOT DISTINCT FROM b.city) <> (a.scd2_hash = b.scd2_hash))")
  [ "$bad" = 0 ] && pass "$1: history invariants hold" || fail "$1: $bad violation(s) of the history invariants"
}
same_as_oracle() {  # NAME STRATEGY HARD_DELETES DELETED_COLUMN RUN
  "$ORACLE" expect "$1.runs" "$2" "$3" > "$1.want"
  dump "$1" "$4" > "$1.got"
  if cmp -s "$1.want" "$1.got"; then
    pass "run $5: $1 equals the oracle ($(wc -l < "$1.got") versions)"
  else
    fail "run $5: $1 differs from the oracle (seed $SEED): $(diff "$1.want" "$1.got" | head -n 6 | tr '\n' ' ')"
  fi
}

run_job() {  # RUN NAME [kill]: runs NAME.yaml; with kill, kills it (kill -9) mid-run and resumes it
  if [ "${3:-}" = kill ]; then
    kill_run_after "$((5 + SEED % 90))" "$2.yaml"
    # --resume continues the killed run at its own start time; when the kill came before the
    # run was recorded or after it finished, it starts a new run (both are recorded).
    "$SLUICE" run "$2.yaml" --resume --progress none >/dev/null 2>"$2.err" ||
      fail "run $1: --resume of $2 failed: $(tail -n 2 "$2.err")"
  else
    "$SLUICE" run "$2.yaml" --progress none >/dev/null 2>"$2.err" || fail "run $1: $2 failed: $(tail -n 2 "$2.err")"
  fi
}

scenario() {  # STRATEGY HARD_DELETES SCD2_BLOCK DELETED_COLUMN
  local strategy=$1 deletes=$2 block=$3 deleted=$4 run name
  rm -f src.db ./*.runs ./*.times
  job "${strategy}4" 4 "$block"
  job "${strategy}1" 1 "$block"
  for run in 1 2 3 4 5 6; do
    "$ORACLE" change src.db "$SEED" "$run"
    for name in "${strategy}4" "${strategy}1"; do
      run_job "$run" "$name" "$([ "$run" = 4 ] && [ "$name" = "${strategy}4" ] && echo kill)"
      record "$name"
      same_as_oracle "$name" "$strategy" "$deletes" "$deleted" "$run"
    done
  done
  invariants "${strategy}4" "$([ "$deletes" = invalidate ] && echo 1 || echo 0)"
  invariants "${strategy}1" "$([ "$deletes" = invalidate ] && echo 1 || echo 0)"
}

# mode upsert from the same change stream: after run r the target holds, per key, the source's
# row of the last run that had the key (a fold of the snapshots computed here, apart from
# sluice), and with delete_missing: hard exactly the source's rows.
upsert_job() {  # NAME WORKERS EXTRA
  cat > "$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "sqlite://src.db", table: dim_src, partition: {chunk_rows: 60}}
target: $(target_of "$1"), mode: upsert, key: [id]$3}
settings: {workers: $2, min_rows_for_parallel: 50}
YAML
}
upsert_expect() {  # NAME DELETE_MISSING: fold this run's source into NAME.state, print it
  /usr/bin/python3 - "$1" "$2" <<'PY'
import json, os, sqlite3, sys
name, hard = sys.argv[1], sys.argv[2] == "hard"
state = {} if hard or not os.path.exists(name + ".state") else json.load(open(name + ".state"))
for r in sqlite3.connect("src.db").execute("SELECT id, name, city, updated_at FROM dim_src"):
    state[str(r[0])] = ["~" if v is None else str(v) for v in r[1:]]
json.dump(state, open(name + ".state", "w"))
for key, values in state.items():
    print("|".join([key] + values))
PY
}
upsert_scenario() {  # DELETE_MISSING: "" or hard
  local dm=$1 run name extra=""
  [ -n "$dm" ] && extra=", delete_missing: $dm"
  rm -f src.db ./*.state
  upsert_job "upsert${dm}4" 4 "$extra"
  upsert_job "upsert${dm}1" 1 "$extra"
  for run in 1 2 3 4 5 6; do
    "$ORACLE" change src.db "$SEED" "$run"
    for name in "upsert${dm}4" "upsert${dm}1"; do
      run_job "$run" "$name" "$([ "$run" = 3 ] && [ "$name" = "upsert${dm}4" ] && echo kill)"
      upsert_expect "$name" "$dm" | "$ORACLE" normalize > "$name.want"
      query "$name" "SELECT id || '|' || coalesce(name, '~') || '|' || coalesce(city, '~') || '|' ||
                     coalesce(updated_at, '~') FROM dim" | "$ORACLE" normalize > "$name.got"
      if cmp -s "$name.want" "$name.got"; then
        pass "run $run: $name equals the fold of the snapshots ($(wc -l < "$name.got") rows)"
      else
        fail "run $run: $name differs from the fold (seed $SEED): $(diff "$name.want" "$name.got" | head -n 6 | tr '\n' ' ')"
      fi
    done
  done
}

scenario timestamp invalidate "{tracked: [name, city], updated_at: updated_at, hard_deletes: invalidate}" 0
scenario check new_record "{tracked: [name, city], hard_deletes: new_record}" is_deleted
upsert_scenario ""
upsert_scenario hard
finish

#!/usr/bin/env bash
# kill -9 at a random moment of a multi-partition CSV -> SQLite load, then --resume: the target
# holds every source row exactly once, every time. Also: a plain re-run refuses while the run
# is unfinished, and names --resume / --restart. Even trials use mode replace over the previous
# trial's full table: the resume must neither empty the committed rows nor keep the old ones.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/job/data"
for f in 1 2 3 4; do
  awk -v f="$f" 'BEGIN { print "id,name,amount"; for (i = 1; i <= 40000; i++) printf "%d,name %d,%d.%02d\n", f * 1000000 + i, i, i % 977, i % 100 }' \
    > "$WORK/job/data/part_$f.csv"
done
expected_count=160000
expected_sum=$(awk -F, 'FNR > 1 { s += $1 } END { printf "%.0f", s }' "$WORK"/job/data/*.csv)
cat > "$WORK/job/job.yaml" <<'YAML'
version: 1
name: crash
source:
  files: {path: data/*.csv, format: csv, columns: {id: bigint, name: text, amount: "numeric(10,2)"}}
  partition: {strategy: file, chunk_rows: 4000}
target: {connection: "sqlite://out.db", table: t}
settings: {workers: 2}
YAML

check_exact() {  # LABEL
  local got
  got=$(sqlite3 "$WORK/job/out.db" "select count(*) || ' ' || count(distinct id) || ' ' || sum(id) from t")
  if [ "$got" = "$expected_count $expected_count $expected_sum" ]; then pass "$1: exact ($got)"; else
    fail "$1: target has '$got', expected '$expected_count $expected_count $expected_sum'"; fi
}

# Reference duration of one full load, to spread the kill moments over it.
start=$(date +%s%N)
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none
full_ms=$(( ($(date +%s%N) - start) / 1000000 ))
check_exact "uninterrupted run"
echo "one full load takes ${full_ms} ms"

trials=${SLUICE_CRASH_TRIALS:-5}
sed 's/table: t}$/table: t, mode: replace}/' "$WORK/job/job.yaml" > "$WORK/job/replace.yaml"
grep -q 'mode: replace' "$WORK/job/replace.yaml" || fail "replace job not written"
for trial in $(seq 1 "$trials"); do
  job="$WORK/job/job.yaml"
  if [ $((trial % 2)) = 0 ]; then
    job="$WORK/job/replace.yaml"  # over the full table the previous trial left
  else
    rm -f "$WORK"/job/out.db*
  fi
  delay_ms=$(( (RANDOM % 90 + 5) * full_ms / 100 ))
  kill_run_after "$delay_ms" "$job"
  # The kill may land after the run finished; then there is nothing to resume, and a resume
  # (or a plain run) would start a new run that appends the rows again.
  last_status=$(sqlite3 "$WORK/job/out.db" "select status from sluice_runs order by started_at desc limit 1" 2>/dev/null || true)
  if [ "$trial" = 1 ] && [ "$last_status" = running ]; then
    # A plain run must refuse while the killed run is unfinished.
    expect_exit 2 "$SLUICE" run "$WORK/job/job.yaml" --progress none
    expect_contains "$WORK/err" "--resume"; expect_contains "$WORK/err" "--restart"
  fi
  if [ "$last_status" = succeeded ]; then
    check_exact "trial $trial (killed after ${delay_ms} ms, after the run had finished)"
    continue
  fi
  # One resume, no second chance: a resume that fails is the bug this test exists to catch.
  set +e; "$SLUICE" run "$job" --resume --progress none >"$WORK/out" 2>"$WORK/err"; code=$?; set -e
  [ "$code" = 0 ] || { cat "$WORK/err"; fail "trial $trial: resume exited $code"; }
  check_exact "trial $trial (killed after ${delay_ms} ms)"
done
finish

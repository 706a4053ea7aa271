# Shared helpers for e2e scripts: `source lib.sh` after setting SLUICE and ROOT.
set -euo pipefail
SLUICE="$1"
ROOT="$2"
WORK="$(mktemp -d /tmp/sluice-e2e.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
failures=0
# Every run of every e2e test appends its summary here; finish() checks that each one
# reconciles (read = written + rejected + filtered + rolled back, per stream and tenant).
export SLUICE_SUMMARY_JSON="$WORK/summaries.jsonl"

fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
pass() { echo "ok: $*"; }

# expect_exit CODE CMD... : runs CMD, keeps stdout/stderr in $WORK/out and $WORK/err.
expect_exit() {
  local want="$1"; shift
  set +e
  "$@" >"$WORK/out" 2>"$WORK/err"
  local got=$?
  set -e
  if [ "$got" != "$want" ]; then
    fail "'$*' exited $got, expected $want"
    echo "--- stdout"; cat "$WORK/out"; echo "--- stderr"; cat "$WORK/err"
    return 1
  fi
}

expect_contains() {  # FILE TEXT
  if grep -qF -- "$2" "$1"; then pass "$(basename "$1") contains '$2'"; else
    fail "$(basename "$1") lacks '$2'"; echo "--- $1"; cat "$1"; fi
}

# kill_run_after MS JOB: starts `sluice run JOB` in the background and SIGKILLs it MS
# milliseconds later (it may have finished by then).
kill_run_after() {
  local ms="$1" job="$2" pid
  "$SLUICE" run "$job" --progress none >/dev/null 2>&1 &
  pid=$!
  sleep "$(awk -v ms="$ms" 'BEGIN { printf "%.3f", ms / 1000 }')"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# kill_run_when JOB CHECK...: starts `sluice run JOB` and kills it with SIGKILL as soon as the
# command CHECK succeeds (polled every 20 ms): a moment defined by the run's own state, which a
# faster build cannot outrun as it can a fixed delay. Returns 1 when the run ended first.
kill_run_when() {
  local job="$1" pid
  shift
  "$SLUICE" run "$job" --progress none >/dev/null 2>&1 &
  pid=$!
  # kill -0 also succeeds on a zombie: look at the process state instead.
  while [ -n "$(ps -o stat= -p "$pid" 2>/dev/null | grep -v Z)" ]; do
    if "$@" >/dev/null 2>&1; then
      kill -9 "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      return 0
    fi
    sleep 0.02
  done
  wait "$pid" 2>/dev/null || true
  return 1
}

finish() {
  if [ -s "$SLUICE_SUMMARY_JSON" ]; then
    if /usr/bin/python3 "$ROOT/tests/support/check-summaries" "$SLUICE_SUMMARY_JSON"; then
      pass "every run's counts reconcile"
    else
      fail "a run's counts do not reconcile"
    fi
  fi
  if [ "$failures" -gt 0 ]; then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}

#!/usr/bin/env bash
# The web dashboard of `sluice serve` in a real browser: headless Chromium driven by Playwright
# (tests/browser/dashboard.mjs) against a server with a token. The binary serves exactly the
# page of the source tree; a run's page reaches 100% and "succeeded" with its stream bar,
# partition timeline and rejected row; the slow run's page moves on by itself, and Stop on it,
# after the token dialog refused a wrong token and took the right one, leaves it stopped in the
# ledger; Resume continues it live; Start on the jobs list runs a job whose failed tenant's
# message shows; a made-up run's answer (routed) shows a retried partition and reads the ledger's
# older time form; the pages fit a phone; no script error or CSP refusal. Screenshots (laptop and
# phone) go next to the binary, in dashboard-screenshots/. Needs Node.js and npm (playwright-core
# is installed from tests/browser/package-lock.json next to the binary, once) and
# /usr/bin/chromium: scripts/install-deps. docs/dashboard.md.
source "$(dirname "$0")/lib.sh"
BUILD_DIR="$(cd "$(dirname "$SLUICE")" && pwd)"
CHROMIUM="${SLUICE_TEST_CHROMIUM:-/usr/bin/chromium}"
command -v node >/dev/null && command -v npm >/dev/null || { fail "node and npm are needed (scripts/install-deps)"; finish; }
[ -x "$CHROMIUM" ] || { fail "no Chromium at $CHROMIUM (scripts/install-deps installs it)"; finish; }

# --- playwright-core, installed next to the binary; again only when the lock changed ----------
MODULES="$BUILD_DIR/browser-test"
stamp="$(sha256sum "$ROOT/tests/browser/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$MODULES/.lock-sha256" 2>/dev/null)" != "$stamp" ] || [ ! -d "$MODULES/node_modules/playwright-core" ]; then
  rm -rf "$MODULES"
  mkdir -p "$MODULES"
  cp "$ROOT/tests/browser/package.json" "$ROOT/tests/browser/package-lock.json" "$MODULES/"
  # No browser download: the test drives the system's Chromium.
  if (cd "$MODULES" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) >"$WORK/npm.log" 2>&1; then
    echo "$stamp" > "$MODULES/.lock-sha256"
    pass "installed playwright-core into $MODULES"
  else
    fail "npm ci of tests/browser failed"; cat "$WORK/npm.log"; finish
  fi
fi

# --- the jobs ------------------------------------------------------------------------------------
J="$WORK/jobs"
mkdir -p "$J/data"
# ok: 4 files cut into 8 partitions, one bad row set aside as a reject; it succeeds.
for f in 1 2 3 4; do
  awk -v f="$f" 'BEGIN { print "id,name,amount"; for (i = 1; i <= 4000; i++) printf "%d,name %d,%d.%02d\n", f * 100000 + i, i, i % 977, i % 100 }' > "$J/data/ok_$f.csv"
done
sed -i '2000s/,[0-9.]*$/,not-a-number/' "$J/data/ok_3.csv"
cat > "$J/ok.yaml" <<'YAML'
version: 1
name: ok
source:
  files: {path: data/ok_*.csv, format: csv, columns: {id: bigint, name: text, amount: "numeric(10,2)"}}
  partition: {strategy: file, chunk_rows: 2000}
target: {connection: "sqlite://ok.db", table: t}
settings: {workers: 2, max_rejects: 5}
YAML
# slow: a view whose every row sums a 1000-row table, read on one worker in 150 partitions: about
# 20,000 rows/s on a fast machine (15 s for its 300,000 rows), so it runs for several seconds on any
# machine, and is stopped from the page long before its end.
sqlite3 "$J/slow_src.db" "CREATE TABLE base (id INTEGER PRIMARY KEY, name TEXT); CREATE TABLE pad (x INTEGER);
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 300000) INSERT INTO base SELECT i, 'n' || i FROM g;
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 1000) INSERT INTO pad SELECT i FROM g;
  CREATE VIEW slow AS SELECT id, name, (SELECT sum(x) FROM pad WHERE x <> base.id) AS pad_sum FROM base;"
cat > "$J/slow.yaml" <<'YAML'
version: 1
name: slow
source:
  connection: "sqlite://slow_src.db"
  table: slow
  partition: {strategy: key_range, column: id, chunk_rows: 2000}
target: {connection: "sqlite://slow.db", table: t}
settings: {workers: 1, queue_batches: 1, batch_rows: 500}
YAML
# tenants: tenant b's rows are refused by the target (a trigger), so b fails with that message
# while a loads: the run ends partial.
sqlite3 "$J/tenants_src.db" "CREATE TABLE events (id INTEGER PRIMARY KEY, country TEXT, note TEXT);
  WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < 2000)
  INSERT INTO events SELECT i, CASE i % 2 WHEN 0 THEN 'a' ELSE 'b' END, 'note ' || i FROM g;"
sqlite3 "$J/tenants_out.db" "CREATE TABLE events (id INTEGER, country TEXT, note TEXT);
  CREATE TRIGGER refuse_b BEFORE INSERT ON events WHEN NEW.country = 'b'
  BEGIN SELECT RAISE(ABORT, 'country b is closed for loading'); END;"
cat > "$J/tenants.yaml" <<'YAML'
version: 1
name: tenants
source: {connection: "sqlite://tenants_src.db", table: events}
tenants: {values: {column: country, list: [a, b]}}
target: {connection: "sqlite://tenants_out.db", table: events}
settings: {workers: 2, on_error: continue, retry: {attempts: 1}}
YAML
printf 'version: 1\nname: broken\nstreams:\n  - name: x\n    sorce: {table: t}\n' > "$J/broken.yaml"

# --- the server, with a token: the page must ask for it ----------------------------------------
TOKEN="dash-$RANDOM-$RANDOM"
"$SLUICE" serve --jobs "$J" --bind 127.0.0.1:0 --port-file "$WORK/port" --token "$TOKEN" >"$WORK/serve.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { fail "the server did not start"; cat "$WORK/serve.log"; finish; }
BASE="http://127.0.0.1:$(cat "$WORK/port")"
# The binary serves exactly the page of the source tree (the files compiled in, or for development
# those of $SLUICE_DASHBOARD_DIR when that is set): a stale binary would test another page.
PAGE_DIR="${SLUICE_DASHBOARD_DIR:-$ROOT/src/server/dashboard}"
for f in index.html app.js app.css; do
  route="/$f"; [ "$f" = index.html ] && route=/
  curl -s "$BASE$route" > "$WORK/served"
  cmp -s "$WORK/served" "$PAGE_DIR/$f" \
    || { fail "GET $route is not $PAGE_DIR/$f: rebuild $SLUICE (or set SLUICE_DASHBOARD_DIR=src/server/dashboard)"; finish; }
done
pass "the server serves the dashboard of $PAGE_DIR"

SHOTS="$BUILD_DIR/dashboard-screenshots"
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png
set +e
SLUICE_URL="$BASE" SLUICE_TOKEN="$TOKEN" SLUICE_SHOTS="$SHOTS" SLUICE_BROWSER_MODULES="$MODULES/node_modules" \
  SLUICE_CHROMIUM="$CHROMIUM" SLUICE_JOBS_DIR="$J" \
  timeout 240 node "$ROOT/tests/browser/dashboard.mjs"
code=$?
set -e
if [ "$code" != 0 ]; then
  fail "the browser test exited $code"
  echo "--- server log"; tail -n 30 "$WORK/serve.log"
fi

kill -TERM "$server"
set +e; wait "$server"; scode=$?; set -e
[ "$scode" = 0 ] && pass "SIGTERM ends the server (exit 0)" || { fail "server exit $scode"; tail -n 20 "$WORK/serve.log"; }
finish

#!/usr/bin/env bash
# Exactly-once when the ledger lives elsewhere (settings.state): each partition's mark commits
# with its rows in the target's own sluice.partition_marks / sluice_partition_marks, and the
# ledger follows from those marks. Checked against an oracle computed from the source:
#  - a COMMIT whose reply is lost (fault proxy) is not loaded twice, without a key;
#  - a ledger that missed a commit (crash between the target's COMMIT and the ledger's
#    update) is caught up on --resume instead of loading the partition again;
#  - a partition whose rows and mark left the target (a rollback that committed there before
#    the ledger heard of it) is loaded again on --resume;
#  - a failed tenant in a SQLite target with the ledger in another file: rolled back in the
#    target and the ledger, and --resume loads it once;
#  - `plan` says exactly once for these streams.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
digest() {  # DB TABLE (rows of (id, v) in id order)
  psql_db "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(id || ':' || v, ',' ORDER BY id)), '-') FROM $2"
}
same() {  # LABEL GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
STATE="sqlite://$WORK/state.db"
ledger() { sqlite3 "$WORK/state.db" "$@"; }

# --- 1. Lost COMMIT reply on a target that is not the ledger's database.
psql_db src -c "CREATE TABLE ev (id bigint PRIMARY KEY, v text); INSERT INTO ev SELECT g, 'v' || g FROM generate_series(1, 40000) g"
psql_db dst -c "CREATE TABLE ev (id bigint, v text)"   # no key: a second load would be silent
start_fault_proxy
mkdir -p "$WORK/job"
cat > "$WORK/job/lost.yaml" <<YAML
version: 1
name: lost
source: {connection: "$PG_BASE/src", table: ev, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
target: {connection: "$PROXY/dst", table: ev, create: never}
settings: {workers: 2, min_rows_for_parallel: 0, state: "$STATE", retry: {attempts: 4, initial: 100ms, max: 1s}}
YAML
expect_exit 0 "$SLUICE" plan "$WORK/job/lost.yaml"
expect_contains "$WORK/out" "exactly once: the ledger is in sqlite://"
printf '%s\n' "fault=cut-after-commit" "app=sluice/lost/lost/*" "nth=2" > "$WORK/proxy.ctl"
expect_exit 0 "$SLUICE" run "$WORK/job/lost.yaml" --progress none
cuts=$(grep -c "FAULT cut-after-commit" "$WORK/proxy.log" || true)
[ "$cuts" = 1 ] && pass "the proxy cut one COMMIT reply" || { fail "proxy cut $cuts COMMIT replies"; cat "$WORK/proxy.log"; }
same "lost COMMIT reply, ledger elsewhere: every row once" "$(digest dst ev)" "$(digest src ev)"
same "the target holds one mark per partition" \
  "$(psql_db dst -c "SELECT count(*) FROM sluice.partition_marks WHERE stream = 'lost'")" 4
same "the ledger agrees" "$(ledger "SELECT count(*) FROM sluice_partitions WHERE stream = 'lost' AND status = 'committed'")" 4
echo "fault=none" > "$WORK/proxy.ctl"

# --- 2. The ledger and the target disagree after a crash; --resume takes the target's word.
psql_db src -c "CREATE TABLE r (id bigint PRIMARY KEY, v text); INSERT INTO r SELECT g, 'r' || g FROM generate_series(1, 40000) g"
psql_db dst -c "CREATE TABLE r (id bigint, v text CHECK (v <> 'bad'))"
psql_db src -c "UPDATE r SET v = 'bad' WHERE id = 39999"   # the last partition fails
cat > "$WORK/job/r.yaml" <<YAML
version: 1
name: r
source: {connection: "$PG_BASE/src", table: r, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
target: {connection: "$PG_BASE/dst", table: r, create: never}
settings: {workers: 1, min_rows_for_parallel: 0, state: "$STATE"}
YAML
expect_exit 3 "$SLUICE" run "$WORK/job/r.yaml" --ignore-errors --progress none
same "three partitions committed before the failure" \
  "$(ledger "SELECT count(*) FROM sluice_partitions WHERE stream = 'r' AND status = 'committed'")" 3
# Partition 1: committed in the target, but the ledger never heard (crash before its update).
ledger "UPDATE sluice_partitions SET status = 'running', rows = 0 WHERE stream = 'r' AND partition_id = 1"
# Partition 2: a rollback deleted its rows and mark in the target; the ledger update was lost.
psql_db dst -c "DELETE FROM r WHERE xmin::text::bigint = (SELECT split_part(undo, ':', 2)::bigint % 4294967296
                  FROM sluice.partition_marks WHERE stream = 'r' AND partition_id = 2);
                DELETE FROM sluice.partition_marks WHERE stream = 'r' AND partition_id = 2"
psql_db src -c "UPDATE r SET v = 'fixed' WHERE id = 39999"
expect_exit 0 "$SLUICE" run "$WORK/job/r.yaml" --resume --progress json
expect_contains "$WORK/out" '"event":"ledger_caught_up"'
same "resume after the ledger and target disagreed: every row once" "$(digest dst r)" "$(digest src r)"

# --- 3. SQLite target, ledger in another file: a failed tenant rolls back in both.
for t in t1 t2; do
  psql_db src -c "CREATE SCHEMA $t; CREATE TABLE $t.s (id bigint PRIMARY KEY, v text);
                  INSERT INTO $t.s SELECT g, '$t-' || g FROM generate_series(1, 6000) g"
done
psql_db src -c "UPDATE t2.s SET v = NULL WHERE id = 5500"
sqlite3 "$WORK/t.db" "CREATE TABLE s (id INTEGER NOT NULL, v TEXT NOT NULL, country TEXT NOT NULL, PRIMARY KEY (country, id));
                      INSERT INTO s VALUES (100001, 'old', 't1'), (100001, 'old', 't2')"
cat > "$WORK/job/s.yaml" <<YAML
version: 1
name: s
source: {connection: "$PG_BASE/src", table: s, partition: {strategy: key_range, column: id, chunk_rows: 2000}}
tenants: {schemas: [t1, t2], as_column: country}
target: {connection: "sqlite://$WORK/t.db", table: s, create: never}
settings: {workers: 1, min_rows_for_parallel: 0, state: "$STATE"}
YAML
expect_exit 3 "$SLUICE" run "$WORK/job/s.yaml" --ignore-errors --progress none
same "failed tenant's rows gone, its earlier row kept" "$(sqlite3 "$WORK/t.db" "SELECT count(*) FROM s WHERE country = 't2'")" 1
same "its marks gone from the target" \
  "$(sqlite3 "$WORK/t.db" "SELECT count(*) FROM sluice_partition_marks WHERE stream = 's' AND tenant = 't2'")" 0
same "its partitions no longer committed in the ledger" \
  "$(ledger "SELECT count(*) FROM sluice_partitions WHERE stream = 's' AND tenant = 't2' AND status = 'committed'")" 0
psql_db src -c "UPDATE t2.s SET v = 'fixed' WHERE id = 5500"
expect_exit 0 "$SLUICE" run "$WORK/job/s.yaml" --resume --progress none
same "resume loads t2 once" "$(sqlite3 "$WORK/t.db" "SELECT count(*) || ' ' || count(DISTINCT id) FROM s WHERE country = 't2'")" "6001 6001"
same "t1 loaded once" "$(sqlite3 "$WORK/t.db" "SELECT count(*) FROM s WHERE country = 't1'")" 6001

finish

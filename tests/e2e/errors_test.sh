#!/usr/bin/env bash
# Contract errors: malformed rows, invalid job files and missing variables give the exit code
# and the message of DESIGN.md, and lose nothing.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/job/data"
printf 'id,name,amount\n1,a,1.5\n2,b,oops\n3,"c, d",2.5\n4,e\n5,f,3\n' > "$WORK/job/data/in.csv"
cat > "$WORK/job/job.yaml" <<'YAML'
version: 1
name: bad_rows
source:
  files: {path: data/*.csv, format: csv, columns: {id: bigint, name: text, amount: float64}}
target: {connection: "sqlite://out.db", table: t}
YAML

# Default max_rejects: 0 -> the partition fails, nothing is committed, the message says where.
expect_exit 1 "$SLUICE" run "$WORK/job/job.yaml" --progress none
expect_contains "$WORK/err" "stream bad_rows"
expect_contains "$WORK/err" "in.csv:3"
expect_contains "$WORK/err" "max_rejects"
# The refused rows are in the reject file although their partition rolled back.
expect_contains "$WORK/out" "2 rejected row(s) written to $WORK/job/rejects/bad_rows.jsonl: 0 set aside by committed partitions, 2 from partitions that failed"
expect_contains "$WORK/job/rejects/bad_rows.jsonl" '"rolled_back":true'
rows=$(sqlite3 "$WORK/job/out.db" "select count(*) from t" 2>/dev/null || echo 0)
[ "$rows" = 0 ] && pass "nothing committed" || fail "$rows rows committed after a failed partition"

# A resume must not continue the run into another table: its committed rows went elsewhere.
expect_exit 2 "$SLUICE" run "$WORK/job/job.yaml" --progress none --resume --set target.table=t2
expect_contains "$WORK/err" 'the job changed since it started (stream bad_rows: target.table was "t", now "t2")'

# With room for rejects: good rows load, bad rows land in the reject file (after the two
# the failed run left, marked rolled_back).
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --progress none --resume --set settings.max_rejects=10
rows=$(sqlite3 "$WORK/job/out.db" "select count(*) from t")
[ "$rows" = 3 ] && pass "3 good rows loaded" || fail "$rows rows loaded, expected 3"
rejected=$(grep -vc '"rolled_back":true' "$WORK/job/rejects/bad_rows.jsonl")
[ "$rejected" = 2 ] && pass "2 rows set aside in the reject file" || fail "$rejected rows set aside in the reject file"
[ "$(wc -l < "$WORK/job/rejects/bad_rows.jsonl")" = 4 ] && pass "and the 2 of the failed run" || fail "reject file has $(wc -l < "$WORK/job/rejects/bad_rows.jsonl") lines, expected 4"
expect_contains "$WORK/job/rejects/bad_rows.jsonl" "oops"
expect_contains "$WORK/job/rejects/bad_rows.jsonl" '"row":"2,b,oops"'
expect_contains "$WORK/job/rejects/bad_rows.jsonl" '"sqlstate":"22000"'
expect_contains "$WORK/job/rejects/bad_rows.jsonl" '"run":"r'

# No job file: exit 2 with the usage.
expect_exit 2 "$SLUICE" run --resume --progress none
expect_contains "$WORK/err" "JOB is required"

# A transform that names a column the source lacks is refused at the expression's column,
# with the column it most likely meant, before a run is recorded.
printf 'transform: {filter: "amuont > 0"}\n' | cat "$WORK/job/job.yaml" - > "$WORK/job/transform.yaml"
expect_exit 2 "$SLUICE" run "$WORK/job/transform.yaml" --progress none
expect_contains "$WORK/err" "transform.yaml:6:22: transform.filter: unknown column amuont; did you mean 'amount'?"

# Modes and targets this build cannot write are refused by plan and validate, before a run
# is recorded.
sed 's/table: t}/table: t, mode: scd2, key: [id], create: replace}/' "$WORK/job/job.yaml" > "$WORK/job/scd2.yaml"
expect_exit 2 "$SLUICE" validate "$WORK/job/scd2.yaml"
expect_contains "$WORK/err" "scd2.yaml:5:1: target.create: replace empties the table, so a mode scd2 into it"
# scd2 into an existing table without the history columns: validate names them, run refuses
# before loading anything.
sed 's/table: t}/table: t, mode: scd2, key: [id]}/' "$WORK/job/job.yaml" > "$WORK/job/scd2_existing.yaml"
expect_exit 1 "$SLUICE" validate "$WORK/job/scd2_existing.yaml"
expect_contains "$WORK/err" "target table t lacks the history column(s) valid_from, valid_to, is_current, scd2_hash that mode scd2 keeps"
expect_exit 1 "$SLUICE" run "$WORK/job/scd2_existing.yaml" --progress none
expect_contains "$WORK/err" "mode scd2 into t: the table lacks the history column(s) valid_from, valid_to, is_current, scd2_hash"
sed 's|sqlite://out.db|odbc://u:secret@WarehouseDSN|' "$WORK/job/job.yaml" > "$WORK/job/odbc.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/job/odbc.yaml"
expect_contains "$WORK/err" "no target connector for 'odbc://u:***@WarehouseDSN'"
sed 's|sqlite://out.db|mysql://u:secret@db/mart|; s/table: t}/table: t, mode: scd2, key: [id]}/' "$WORK/job/job.yaml" > "$WORK/job/mysql.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/job/mysql.yaml"
expect_contains "$WORK/err" "target.mode scd2 into MariaDB is not in this build"
grep -q secret "$WORK/err" && fail "the password was printed" || pass "the password was not printed"

# A run that failed before committing anything does not block the next one.
sed 's/name: bad_rows/name: no_commit/; s/table: t}/table: narrow}/' "$WORK/job/job.yaml" > "$WORK/job/narrow.yaml"
sqlite3 "$WORK/job/out.db" "CREATE TABLE narrow (id integer)"
expect_exit 1 "$SLUICE" run "$WORK/job/narrow.yaml" --progress none --set settings.max_rejects=10
expect_contains "$WORK/err" "name"
sqlite3 "$WORK/job/out.db" "DROP TABLE narrow"
expect_exit 0 "$SLUICE" run "$WORK/job/narrow.yaml" --progress none --set settings.max_rejects=10
expect_contains "$WORK/err" "(failed); it committed nothing"

# Invalid job file: exit 2, file:line: field.
cat > "$WORK/job/typo.yaml" <<'YAML'
version: 1
name: typo
source:
  files: {path: data/*.csv, format: csv}
  partition: {strategy: auto, chunk_rowz: 10}
target: {connection: "sqlite://out.db", table: t}
YAML
expect_exit 2 "$SLUICE" run "$WORK/job/typo.yaml"
expect_contains "$WORK/err" "typo.yaml:5"
expect_contains "$WORK/err" "chunk_rows"

# Every problem of a job file at once, in line order, each with line and column; validate
# says only that (no "valid" beside it).
cat > "$WORK/job/typos.yaml" <<'YAML'
version: 1
name: typos
settings:
  workerz: 2
  on_error: stopp
source:
  files: {path: data/*.csv, formatt: csv}
  partition: {strategy: key_rang}
target: {connection: "sqlite://out.db", table: t, mode: upsret}
YAML
cat > "$WORK/want" <<'TXT'
sluice: error: typos.yaml:4:3: settings.workerz: unknown key; did you mean 'workers'? Allowed: workers, min_rows_for_parallel, chunk_rows, on_error, retry, max_rejects, rejects, state, batch_rows, queue_batches, allow_rerun, lease_seconds
sluice: error: typos.yaml:5:3: settings.on_error: unknown value 'stopp'; did you mean 'stop'? Allowed: stop, continue
sluice: error: typos.yaml:7:29: source.files.formatt: unknown key; did you mean 'format'? Allowed: path, format, csv, columns, infer_types
sluice: error: typos.yaml:8:15: source.partition.strategy: unknown value 'key_rang'; did you mean 'key_range'? Allowed: auto, none, key_range, hash, ctid, offset, file, tenant
sluice: error: typos.yaml:9:51: target.mode: unknown value 'upsret'; did you mean 'upsert'? Allowed: append, replace, upsert, scd2
TXT
for cmd in validate plan run; do
  (cd "$WORK/job" && expect_exit 2 "$SLUICE" "$cmd" typos.yaml)
  if diff -u "$WORK/want" "$WORK/err"; then pass "$cmd lists all five problems in line order"; else fail "$cmd: problems differ"; fi
  [ ! -s "$WORK/out" ] && pass "$cmd printed nothing on stdout" || fail "$cmd printed: $(cat "$WORK/out")"
done
# A valid file: validate says ok and nothing else is an error.
expect_exit 0 "$SLUICE" validate "$WORK/job/job.yaml"
expect_contains "$WORK/out" "ok: $WORK/job/job.yaml is valid (1 stream(s))"
[ ! -s "$WORK/err" ] && pass "valid job: no error output" || fail "valid job wrote to stderr: $(cat "$WORK/err")"

# ${VAR} inside flow maps, as the docs write every block; a problem after it keeps its column.
cat > "$WORK/job/flowvar.yaml" <<'YAML'
version: 1
name: flowvar
connections: {out: ${SLUICE_E2E_OUT}}
source: {files: {path: data/*.csv, format: csv, columns: {id: bigint, name: text, amount: float64}}}
target: {connection: ${SLUICE_E2E_OUT}, table: flow}
settings: {max_rejects: 10}
YAML
SLUICE_E2E_OUT="sqlite://flow.db" expect_exit 0 "$SLUICE" validate "$WORK/job/flowvar.yaml"
expect_contains "$WORK/out" "is valid"
SLUICE_E2E_OUT="sqlite://flow.db" expect_exit 0 "$SLUICE" run "$WORK/job/flowvar.yaml" --progress none
[ "$(sqlite3 "$WORK/job/flow.db" "select count(*) from flow")" = 3 ] && pass "\${VAR} in a flow map loads" || fail "flow-map variable job did not load"
sed -i 's/table: flow}/table: flow, create: sometimes}/' "$WORK/job/flowvar.yaml"
SLUICE_E2E_OUT="sqlite://flow.db" expect_exit 2 "$SLUICE" validate "$WORK/job/flowvar.yaml"
expect_contains "$WORK/err" "flowvar.yaml:5:54: target.create: unknown value 'sometimes'"

# A target column whose type narrows: validate warns with a sample's rejects.
sqlite3 "$WORK/job/out.db" "CREATE TABLE typed (id INTEGER, name TEXT, amount NUMERIC(3,1))"
sed 's/table: t}/table: typed}/' "$WORK/job/job.yaml" > "$WORK/job/typed.yaml"
printf 'id,name,amount\n1,a,1.5\n2,b,12345.5\n3,c,2.5\n' > "$WORK/job/data/in.csv"
expect_exit 0 "$SLUICE" validate "$WORK/job/typed.yaml"
expect_contains "$WORK/err" "sluice: warning: stream bad_rows: column amount narrows float64 -> NUMERIC(3,1): 1 of 3 sampled row(s) would be rejected (e.g. '12345.5')"
expect_contains "$WORK/out" "is valid (1 stream(s), 2 warning(s))"
expect_exit 0 "$SLUICE" plan "$WORK/job/typed.yaml"
expect_contains "$WORK/err" "column amount narrows float64 -> NUMERIC(3,1)"

# Missing ${VAR}: exit 2 naming the variable.
cat > "$WORK/job/env.yaml" <<'YAML'
version: 1
name: env
source:
  files: {path: data/*.csv, format: csv}
target: {connection: "${SLUICE_E2E_UNSET_URL}", table: t}
YAML
expect_exit 2 "$SLUICE" run "$WORK/job/env.yaml"
expect_contains "$WORK/err" "SLUICE_E2E_UNSET_URL"
expect_contains "$WORK/err" "env.yaml:5"

# Bad usage: exit 2.
expect_exit 2 "$SLUICE" run
expect_exit 2 "$SLUICE" frobnicate
expect_contains "$WORK/err" "unknown command 'frobnicate'"
# Missing job file: exit 2 with the path.
expect_exit 2 "$SLUICE" run "$WORK/nope.yaml"
expect_contains "$WORK/err" "nope.yaml"
finish

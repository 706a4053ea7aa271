#!/usr/bin/env bash
# File targets: PostgreSQL into a directory as CSV (gzip) and JSON lines (zstd), one file per
# partition. Checked against the source, independently of sluice: every CSV file read back by
# PostgreSQL's own `\copy ... CSV HEADER` gives the source's rows (count + ordered md5),
# edge values included (NULL vs empty string, quotes, newlines, `\.`, bytes, NaN, infinities,
# 20-digit decimals, JSON, arrays); the JSON lines hold every row once with decimals' exact
# digits. kill -9 at several moments and --resume: exactly one whole file per partition, the
# same rows; --restart removes the abandoned run's files; mode replace swaps the directory and
# a replace killed midway leaves the old files in place. Bad settings are refused.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src"
psql_db src <<'SQL'
CREATE TABLE t (id int PRIMARY KEY, s text, d numeric, f float8, b bytea, j jsonb, ts timestamptz, a text[]);
INSERT INTO t VALUES
  (1, '', 12345678901234567890.123456789, 1.5, '\x00ff', '{"a": [1, "x"]}', '2026-01-02 03:04:05.123456+00', '{1,NULL}'),
  (2, NULL, 'NaN', 'Infinity', NULL, NULL, NULL, NULL),
  (3, E'a,"b"\nc\r', -0.5, 1e300, '', '"s"', '-infinity', '{}'),
  (4, '\.', 0, '-Infinity', '\x', 'null', 'infinity', '{"a,b","c\"d"}'),
  (5, ' lead and trail ', -99999999999999999999.000000000001, 'NaN', '\x5c', '[]', '1999-12-31 23:59:59+00', '{""}');
INSERT INTO t SELECT g, 'row ' || g, g / 8.0, g * 0.25, NULL, NULL, timestamptz '2026-01-01' + g * interval '1 s', NULL
  FROM generate_series(6, 200000) g;
ANALYZE t;
SQL
OUT="$WORK/exported"
JOUT=$OUT  # the JSON stream's directory: shared with the CSV one when appending
job() {  # MODE -> $WORK/job.yaml
  cat > "$WORK/job.yaml" <<YAML
version: 1
name: to_files
streams:
  - name: as_csv
    source: {connection: "$PG_BASE/src", table: t, partition: {chunk_rows: 20000}}
    target: {path: $OUT, table: t, format: csv, compression: gzip, mode: $1}
  - name: as_json
    source: {connection: "$PG_BASE/src", table: t, partition: {chunk_rows: 25000}}
    target: {path: $JOUT, format: jsonl, compression: zstd, mode: $1}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
}
want=$(table_digest src t id)
want_json=$(psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(id || '|' || coalesce(d::text, 'null'), ',' ORDER BY id)) FROM t")

# The CSV files, each loaded by psql's \copy on its own (each has a header), against the source.
check_csv() {  # LABEL
  psql_db src -c "DROP TABLE IF EXISTS back" -c "CREATE TABLE back (LIKE t)"
  local f n=0
  for f in "$OUT"/t-*.csv.gz; do
    psql_db src -c "\\copy back FROM PROGRAM 'zcat $f' CSV HEADER"
    n=$((n + 1))
  done
  [ "$(table_digest src back id)" = "$want" ] && pass "$1: $n CSV files read back by \\copy equal the source" \
    || fail "$1: CSV read back differs: $(table_digest src back id) vs $want"
}
# The JSON lines: every row once, decimals with their exact digits (numbers parsed as text).
check_json() {  # LABEL
  local got
  got=$(zstdcat "$JOUT"/as_json-*.jsonl.zst | /usr/bin/python3 -c '
import hashlib, json, sys
rows = []
for line in sys.stdin:
    o = json.loads(line, parse_float=str, parse_int=str)
    d = o["d"]
    rows.append((int(o["id"]), "null" if d is None else d))
rows.sort()
print(len(rows), hashlib.md5(",".join("%d|%s" % r for r in rows).encode()).hexdigest())')
  [ "$got" = "$want_json" ] && pass "$1: JSON lines hold every row once, decimals exact" \
    || fail "$1: JSON lines: $got vs $want_json"
}
one_file_per_partition() {  # LABEL RUN
  local csv json
  csv=$(find "$OUT" -maxdepth 1 -name "t-$2-p*.csv.gz" | wc -l)
  json=$(find "$JOUT" -maxdepth 1 -name "as_json-$2-p*.jsonl.zst" | wc -l)
  local want_csv want_jsonl
  want_csv=$(sqlite3 "$OUT.sluice.db" "SELECT count(*) FROM sluice_partitions WHERE run_id = '$2' AND stream = 'as_csv'")
  want_jsonl=$(sqlite3 "$OUT.sluice.db" "SELECT count(*) FROM sluice_partitions WHERE run_id = '$2' AND stream = 'as_json'")
  [ "$csv" = "$want_csv" ] && [ "$json" = "$want_jsonl" ] && pass "$1: one file per partition ($csv + $json)" \
    || fail "$1: $csv CSV and $json JSON files for $want_csv + $want_jsonl partitions"
  [ -z "$(find "$OUT" -name '.sluice-tmp' -o -name '*.sluice-new')" ] && pass "$1: no temporary file left" \
    || fail "$1: temporary files left: $(find "$OUT" -name '.sluice-tmp*')"
}
last_run() { sqlite3 "$OUT.sluice.db" "SELECT run_id FROM sluice_runs ORDER BY started_at DESC LIMIT 1"; }

job append
expect_exit 0 "$SLUICE" plan "$WORK/job.yaml"
expect_contains "$WORK/out" "exactly once: each partition writes one file named by the run and the partition"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
check_csv "append"
check_json "append"
one_file_per_partition "append" "$(last_run)"
rm -rf "$OUT" "$OUT".sluice.db*

# kill -9 at several moments, then --resume: each partition's file once, whole.
for ms in 100 250 500; do
  kill_run_after "$ms" "$WORK/job.yaml"
  partial=$( (find "$OUT" -name '*.gz' -o -name '*.zst' 2>/dev/null || true) | wc -l)
  if [ "$(sqlite3 "$OUT.sluice.db" "SELECT status FROM sluice_runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)" = succeeded ]; then
    pass "the run finished before the kill after $ms ms"  # a --resume would be a new run
    rm -rf "$OUT" "$OUT".sluice.db*
    continue
  fi
  expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
  check_csv "kill -9 after $ms ms ($partial files then) + resume"
  check_json "kill -9 after $ms ms + resume"
  one_file_per_partition "kill -9 after $ms ms + resume" "$(last_run)"
  rm -rf "$OUT" "$OUT".sluice.db*
done

# --restart after a kill: the abandoned run's files go, the new run's are complete. The kill
# comes once the run has committed a file, whatever the machine's speed.
some_file_committed() {
  [ "$(sqlite3 "$OUT.sluice.db" "SELECT count(*) FROM sluice_partitions WHERE status = 'committed'")" -ge 1 ]
}
kill_run_when "$WORK/job.yaml" some_file_committed || fail "restart: the run finished before a file was committed"
abandoned=$(last_run)
[ -n "$(find "$OUT" -name "*-$abandoned-p*")" ] && pass "restart: the killed run $abandoned left files" \
  || fail "restart: the killed run left no file to remove"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --restart --yes --progress none
[ -z "$(find "$OUT" -name "*-$abandoned-p*")" ] && pass "restart: no file of the abandoned run $abandoned" \
  || fail "restart: files of $abandoned left"
check_csv "restart"
check_json "restart"
rm -rf "$OUT" "$OUT".sluice.db*

# mode replace swaps the whole directory: it takes one stream only.
job replace
expect_exit 2 "$SLUICE" plan "$WORK/job.yaml"
expect_contains "$WORK/err" "so no other stream may write into it"

# mode replace: a second run swaps the directory (only its files remain); a replace killed
# midway leaves the previous files in place until a --resume publishes.
JOUT="$WORK/exported_json"
job replace
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
first=$(last_run)
first_files=$(find "$OUT" -maxdepth 1 -name "*-$first-p*" | wc -l)
touch "$OUT/not-sluices.txt"
psql_db src -c "UPDATE t SET s = 'changed' WHERE id = 7"
want=$(table_digest src t id)
kill_run_after 300 "$WORK/job.yaml"
if [ "$(sqlite3 "$OUT.sluice.db" "SELECT status FROM sluice_runs ORDER BY started_at DESC LIMIT 1" 2>/dev/null || true)" = succeeded ]; then
  pass "the replace finished before the kill"
  expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
else
  # The swap is atomic per stream: the CSV stream may have published before the JSON one
  # finished (then the run is not done yet either). Never a mix, never a partial set.
  old=$(find "$OUT" -maxdepth 1 -name "*-$first-p*" | wc -l)
  new=$(find "$OUT" -maxdepth 1 -name '*.gz' ! -name "*-$first-p*" | wc -l)
  if [ "$old" -eq "$first_files" ] && [ "$new" -eq 0 ] && [ -e "$OUT/not-sluices.txt" ]; then
    pass "replace killed midway: the directory still holds the previous run's files only"
  elif [ "$old" -eq 0 ] && [ "$new" -eq "$first_files" ] && [ ! -e "$OUT/not-sluices.txt" ]; then
    pass "replace killed after its stream's swap: the directory holds the new files only, all $new"
  else
    fail "replace killed midway left $old previous and $new new files: $(ls "$OUT")"
  fi
  expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
fi
[ -z "$(find "$OUT" -maxdepth 1 -name "*-$first-p*")" ] && [ ! -e "$OUT/not-sluices.txt" ] \
  && pass "replace: the directory was swapped whole" || fail "replace: old files left: $(ls "$OUT")"
check_csv "replace after a kill + resume"
check_json "replace after a kill + resume"
[ ! -e "$OUT.sluice-new" ] && pass "replace: no staging directory left" || fail "replace: $OUT.sluice-new left"
# A crash after the exchange, before the run was marked succeeded: the staging directory holds
# the superseded files. The --resume must not exchange them back.
published=$(last_run)
mkdir "$OUT.sluice-new"
cp "$OUT"/t-*.csv.gz "$OUT.sluice-new/"
for f in "$OUT.sluice-new"/t-*.csv.gz; do mv "$f" "${f/$published/r19990101-000000-0000}"; done
sqlite3 "$OUT.sluice.db" "UPDATE sluice_runs SET status = 'failed', finished_at = NULL WHERE run_id = '$published'"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --resume --progress none
[ -z "$(find "$OUT" -name '*r19990101*')" ] && [ ! -e "$OUT.sluice-new" ] \
  && pass "resume after a crash past the exchange: the published files stay, the old ones go" \
  || fail "resume after the exchange brought old files back: $(ls "$OUT")"
check_csv "resume after a crash past the exchange"

# Two streams writing files of one name into one directory are refused.
JOUT=$OUT
job append
sed -i 's#target: {path: \(.*\), format: jsonl#target: {path: \1, table: t, format: jsonl#' "$WORK/job.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/job.yaml"
expect_contains "$WORK/err" "would both write"

# Refusals: format on a database target (file:line), a merge into files, an unknown format.
cat > "$WORK/bad.yaml" <<YAML
version: 1
name: bad
source: {connection: "$PG_BASE/src", table: t}
target: {connection: "$PG_BASE/src", table: t2, format: csv}
YAML
expect_exit 2 "$SLUICE" validate "$WORK/bad.yaml"
expect_contains "$WORK/err" "bad.yaml:4:"
expect_contains "$WORK/err" "format: is for file targets"
sed -i "s#connection: \"$PG_BASE/src\", table: t2, format: csv#path: $WORK/o2, mode: upsert, key: [id]#" "$WORK/bad.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/bad.yaml"
expect_contains "$WORK/err" "a file target is appended to"
sed -i "s#mode: upsert, key: \[id\]#format: parquet#" "$WORK/bad.yaml"
expect_exit 2 "$SLUICE" validate "$WORK/bad.yaml"
expect_contains "$WORK/err" "parquet"

# sluice copy into a directory.
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$WORK/copied" --table t --format jsonl --compression gzip -w 2 --progress none
[ "$(zcat "$WORK"/copied/t-*.jsonl.gz | wc -l)" = 200000 ] && pass "copy into a directory: 200000 JSON lines" \
  || fail "copy into a directory: $(zcat "$WORK"/copied/t-*.jsonl.gz | wc -l) lines"
finish

#!/usr/bin/env bash
# transform: on CSV files into SQLite: source_file() and source_line() name each row's origin,
# a row an expression cannot compute fails its partition under max_rejects: 0 (the message
# names the column, the expression and the line), a resume with a changed transform is refused
# (committed rows were computed by the old one), and with room for rejects the good rows load.
source "$(dirname "$0")/lib.sh"
mkdir -p "$WORK/job/data"
printf 'id,amount,city\n1,10.50,berlin\n2,0,paris\n3,abc,rome\n4,-2,\n' > "$WORK/job/data/a.csv"
printf 'id,amount,city\n5,7,oslo\n6,1e2,lima\n' > "$WORK/job/data/b.csv"
cat > "$WORK/job/job.yaml" <<'YAML'
version: 1
name: tx_files
source: {files: {path: data/*.csv, format: csv}}
transform:
  columns:
    id: id::int
    per_unit: 100 / amount::numeric
    city: upper(coalesce(city, 'unknown'))
    origin: source_file() || ':' || source_line()
  filter: "id::int <> 2"
target: {connection: "sqlite://out.db", table: t}
settings: {workers: 1}
YAML
expect_exit 1 "$SLUICE" run "$WORK/job/job.yaml" --progress none
expect_contains "$WORK/err" "transform column per_unit (100 / amount::numeric): amount::numeric: 'abc' is not a valid decimal"
expect_contains "$WORK/err" "first at row 4"
# The job changed: the rows b.csv committed were computed by the old transform.
expect_exit 2 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none --set 'transform.columns.city=lower(city)'
expect_contains "$WORK/err" "the job changed since it started"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --resume --progress none --set settings.max_rejects=5
got=$(sqlite3 "$WORK/job/out.db" "SELECT group_concat(id || '|' || per_unit || '|' || city || '|' || substr(origin, length(origin) - 6), ' ') FROM (SELECT * FROM t ORDER BY id)")
# Decimal division at PostgreSQL's scale (SELECT 100 / 7::numeric gives 14.2857142857142857).
want="1|9.5238095238095238|BERLIN|a.csv:2 4|-50.0000000000000000|UNKNOWN|a.csv:5 5|14.2857142857142857|OSLO|b.csv:2 6|1.00000000000000000000|LIMA|b.csv:3"
[ "$got" = "$want" ] && pass "rows computed, origins named" || fail "got '$got', want '$want'"
expect_contains "$WORK/job/rejects/tx_files.jsonl" '"position":"row 4"'

# A lookup of a table another stream of the job loads must wait for it (after:), or it could
# read the dimension half loaded; its filter is checked when the job is planned.
printf 'code,sk\nBERLIN,1\n' > "$WORK/job/dim.csv"
cat > "$WORK/job/two.yaml" <<'YAML'
version: 1
name: two
connections: {out: "sqlite://two.db"}
streams:
  - name: dim
    source: {files: {path: dim.csv, format: csv}}
    target: {connection: out, table: dim_city}
  - name: facts
    source: {files: {path: data/a.csv, format: csv}}
    lookup:
      city_sk: {from: dim_city, match: {city: code}, take: sk}
    target: {connection: out, table: facts}
YAML
expect_exit 2 "$SLUICE" plan "$WORK/job/two.yaml"
expect_contains "$WORK/err" "lookup city_sk: stream dim loads dim_city in this job: add after: [dim]"
sed -i 's/    target: {connection: out, table: facts}/    target: {connection: out, table: facts}\n    after: [dim]/' "$WORK/job/two.yaml"
sed 's/take: sk}/take: sk, filter: "sk >"}/' "$WORK/job/two.yaml" > "$WORK/job/two_bad.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/job/two_bad.yaml"
expect_contains "$WORK/err" "lookup city_sk: filter sk >"
expect_exit 0 "$SLUICE" run "$WORK/job/two.yaml" --progress none --set settings.max_rejects=5
[ "$(sqlite3 "$WORK/job/two.db" "SELECT count(city_sk) FROM facts")" = 0 ] && pass "lower-case cities find no upper-case code: NULL" \
  || fail "lookup matched across case"
finish

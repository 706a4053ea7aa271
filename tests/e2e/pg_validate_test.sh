#!/usr/bin/env bash
# validate and plan against PostgreSQL: narrowing target columns are warned about with the
# rejects a sample would have; a target schema that does not exist is an error with "did you
# mean" unless create_schema: true; a column mismatch names what differs.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src -c "CREATE TABLE items AS SELECT g::int8 AS id, repeat('x', 1 + g % 8) AS code,
                  (g * 100.25)::numeric(12,2) AS amount, (g::int8 * 1000000) AS big
                FROM generate_series(1, 2000) g"
psql_db dst -c "CREATE SCHEMA mart" -c "CREATE TABLE mart.items (id int8, code varchar(5), amount numeric(6,2), big int4)"
cd "$WORK"
cat > "$WORK/job.yaml" <<YAML
version: 1
name: narrow
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: items}
target: {connection: dst, table: mart.items}
YAML

# Narrowing columns are warned about, with the share of 1000 sampled rows each would reject.
expect_exit 0 "$SLUICE" validate "$WORK/job.yaml"
# codes 'x' * (1 + g % 8): lengths 6, 7, 8 do not fit varchar(5): 3 of every 8 rows.
expect_contains "$WORK/err" "sluice: warning: stream narrow: column code narrows text -> character varying(5): 375 of 1000 sampled row(s) would be rejected (e.g. 'xxxxxx')"
# amount g * 100.25 over 9999.99 from g = 100 on (with the long codes before: 937 rows).
expect_contains "$WORK/err" "sluice: warning: stream narrow: column amount narrows numeric(12,2) -> numeric(6,2): 901 of 1000 sampled row(s) would be rejected (e.g. '10025.00')"
# big = g * 1e6 over 2^31 - 1 from g = 2148 on: none of the first 1000.
expect_contains "$WORK/err" "sluice: warning: stream narrow: column big narrows bigint -> integer: none of 1000 sampled row(s) would be rejected"
expect_contains "$WORK/err" "sluice: warning: stream narrow: 937 of 1000 sampled row(s) would be rejected in all"
expect_contains "$WORK/out" "ok: $WORK/job.yaml is valid (1 stream(s), 4 warning(s))"
expect_exit 0 "$SLUICE" plan "$WORK/job.yaml"
expect_contains "$WORK/err" "column code narrows text -> character varying(5): 375 of 1000"
expect_exit 0 "$SLUICE" plan "$WORK/job.yaml" --json
[ "$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["warnings"]))' "$WORK/out")" = 4 ] \
  && pass "plan --json carries the 4 narrowing warnings" || fail "plan --json lacks the narrowing warnings"
[ "$(psql_db dst -c "SELECT count(*) FROM mart.items")" = 0 ] && pass "validate and plan wrote nothing" || fail "rows written"

# A misspelt target schema: an error with the closest existing schema, not a new schema.
expect_exit 2 "$SLUICE" validate "$WORK/job.yaml" --set target.table=mrat.items
expect_contains "$WORK/err" "target.table: schema 'mrat' of mrat.items does not exist; did you mean 'mart'? Existing schemas: mart, public"
expect_exit 2 "$SLUICE" run "$WORK/job.yaml" --set target.table=mrat.items --progress none
expect_contains "$WORK/err" "did you mean 'mart'?"
[ "$(psql_db dst -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'mrat'")" = 0 ] && pass "no schema mrat created" \
  || fail "schema mrat was created"
# With create_schema: true it is created.
expect_exit 0 "$SLUICE" validate "$WORK/job.yaml" --set target.table=fresh.items --set target.create_schema=true
expect_contains "$WORK/out" "target fresh.items will be created"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --set target.table=fresh.items --set target.create_schema=true --progress none
[ "$(psql_db dst -c "SELECT count(*) FROM fresh.items")" = 2000 ] && pass "create_schema: true created the schema" \
  || fail "fresh.items not loaded"

# A column mismatch names what differs, not both column lists.
psql_db dst -c "CREATE TABLE mart.other (id int8, code text, city text)"
expect_exit 1 "$SLUICE" validate "$WORK/job.yaml" --set target.table=mart.other
expect_contains "$WORK/err" "target table mart.other has no columns amount, big (source vs target: not in the target: amount, big; not in the source: city)"
expect_exit 1 "$SLUICE" run "$WORK/job.yaml" --set target.table=mart.other --progress none
expect_contains "$WORK/err" "(source vs target: not in the target: amount, big; not in the source: city)"
finish

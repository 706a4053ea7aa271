#!/usr/bin/env bash
# Tenants whose tables differ (issue 9, items 1, 2, 9, 10): columns map by name, a column a
# tenant lacks loads as NULL, an extra one is left out; a tenant that cannot be planned (no
# table, no schema, lacking a NOT NULL column, a type that cannot convert) fails alone and is
# named: --ignore-errors loads the others (exit 3), on_error: stop loads nothing (exit 1).
# Every tenant's rows are checked against an oracle computed in SQL from its source.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
rows="SELECT g, 'given' || g, 'family' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'city' || (g % 13) END,
      date '2000-01-01' + g FROM generate_series(1, 1800) g"
psql_db src <<SQL
CREATE SCHEMA p1; CREATE TABLE p1.person (id bigint PRIMARY KEY, given text, family text, city text, born date);
INSERT INTO p1.person $rows;
CREATE SCHEMA p2; CREATE TABLE p2.person (id bigint PRIMARY KEY, city text, family text, given text, born date);
INSERT INTO p2.person (id, given, family, city, born) $rows;
UPDATE p2.person SET given = 'p2-' || given;
CREATE SCHEMA p3; CREATE TABLE p3.person (id bigint PRIMARY KEY, given text, family text, born date);
INSERT INTO p3.person SELECT id, given, family, born FROM p1.person WHERE id <= 900;
CREATE SCHEMA p4; CREATE TABLE p4.person (id bigint PRIMARY KEY, given text, family text, city text, born date, shoe int);
INSERT INTO p4.person SELECT *, id % 45 FROM p1.person;
CREATE SCHEMA p5;
CREATE SCHEMA p7; CREATE TABLE p7.person (id bigint PRIMARY KEY, given text, city text, born date);
INSERT INTO p7.person SELECT id, given, city, born FROM p1.person;
CREATE SCHEMA p8; CREATE TABLE p8.person (id bigint PRIMARY KEY, given text, family text, city text, born integer);
INSERT INTO p8.person SELECT id, given, family, city, 7 FROM p1.person;
SQL
psql_db dst <<SQL
CREATE TABLE people (country text NOT NULL, id bigint, given text, family text NOT NULL, city text, born date,
                     PRIMARY KEY (country, id));
-- rows an earlier run loaded: they must stay exactly as they are
INSERT INTO people SELECT 'p1', 100000 + g, 'old' || g, 'old', NULL, NULL FROM generate_series(1, 50) g;
INSERT INTO people SELECT 'zz', g, 'old' || g, 'old', 'x', date '1999-12-31' FROM generate_series(1, 50) g;
SQL
earlier=$(psql_db dst -c "SELECT count(*) || md5(string_agg(t::text, '|' ORDER BY country, id)) FROM people t")

# The oracle: a tenant's rows as the target should hold them, columns chosen by name.
source_digest() {  # SCHEMA CITY_EXPR
  psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(ROW(id, given, family, $2, born)::text, '|' ORDER BY id))
                  FROM $1.person"
}
target_digest() {  # DB TABLE COUNTRY
  psql_db "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(ROW(id, given, family, city, born)::text, '|' ORDER BY id)), '-')
                   FROM $2 WHERE country = '$3' AND id < 100000"
}

mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: hetero
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: person, partition: {strategy: key_range, column: id, chunk_rows: 500}}
tenants: {schemas: [p1, p2, p3, p4, p5, p6, p7, p8], as_column: country}
target: {connection: dst, table: people, create: never}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML

# plan names the failed tenants and each tenant's column differences, and exits 0.
expect_exit 0 "$SLUICE" plan "$WORK/job/job.yaml"
expect_contains "$WORK/out" "tenant p3: ~"
expect_contains "$WORK/out" "lacks city (loaded as NULL)"
expect_contains "$WORK/out" "extra shoe (not loaded)"
expect_contains "$WORK/out" "tenant p5: FAILED"
expect_contains "$WORK/out" "tenant schema p6 does not exist"
expect_contains "$WORK/out" "tenant p7 lacks column family, which is NOT NULL"
expect_contains "$WORK/out" "tenant p8: column born is int32"

# on_error: stop fails before loading anything, naming a tenant.
expect_exit 1 "$SLUICE" run "$WORK/job/job.yaml" --progress none
expect_contains "$WORK/err" "tenant p5"
expect_contains "$WORK/err" "nothing was loaded"
[ "$(psql_db dst -c "SELECT count(*) || md5(string_agg(t::text, '|' ORDER BY country, id)) FROM people t")" = "$earlier" ] \
  && pass "on_error: stop loaded nothing" || fail "on_error: stop changed the target"

# --ignore-errors: the healthy tenants load, the broken ones are named, exit 3.
expect_exit 3 "$SLUICE" run "$WORK/job/job.yaml" --ignore-errors --progress none
for t in p5 p6 p7 p8; do expect_contains "$WORK/out" "tenant $t of stream"; done
expect_contains "$WORK/err" "partial"
check_tenant() {  # COUNTRY WANT
  local got; got=$(target_digest dst people "$1")
  [ "$got" = "$2" ] && pass "tenant $1 loaded exactly (${got%% *} rows)" || fail "tenant $1: got '$got', want '$2'"
}
check_tenant p1 "$(source_digest p1 city)"
check_tenant p2 "$(source_digest p2 city)"                # by name, not by position
check_tenant p3 "$(source_digest p3 NULL::text)"          # lacks city: NULL
check_tenant p4 "$(source_digest p4 city)"                # extra shoe: left out
for t in p5 p6 p7 p8; do check_tenant "$t" "0 -"; done
[ "$(psql_db dst -c "SELECT count(*) || md5(string_agg(t::text, '|' ORDER BY country, id)) FROM people t WHERE country = 'zz' OR id >= 100000")" = "$earlier" ] \
  && pass "earlier runs' rows untouched" || fail "earlier runs' rows changed"

# Schema-qualified table with tenants.schemas would read one table for every tenant: refused.
sed 's/table: person,/table: p1.person,/' "$WORK/job/job.yaml" > "$WORK/job/qualified.yaml"
expect_exit 2 "$SLUICE" validate "$WORK/job/qualified.yaml"
expect_contains "$WORK/err" "qualified.yaml:4"
expect_contains "$WORK/err" "schema-qualified"

# create: if_missing from tenants that differ: the union of their columns in first-seen order,
# keyed by (country, id) so that every tenant's id 1 fits (item 10).
cat > "$WORK/job/create.yaml" <<YAML
version: 1
name: hetero_create
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: person, partition: {strategy: key_range, column: id, chunk_rows: 500}}
tenants: {schemas: [p2, p3, p4], as_column: country}
target: {connection: dst, table: created.people, create: if_missing}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
# A schema that does not exist is refused (a typo would silently become a new schema)...
expect_exit 2 "$SLUICE" run "$WORK/job/create.yaml" --progress none
expect_contains "$WORK/err" "create.yaml:6:1: target.table: schema 'created' of created.people does not exist"
expect_contains "$WORK/err" "target.create_schema: true"
# ...unless the job asks for it.
sed -i 's/create: if_missing}/create: if_missing, create_schema: true}/' "$WORK/job/create.yaml"
expect_exit 0 "$SLUICE" run "$WORK/job/create.yaml" --progress none
cols=$(psql_db dst -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns
                       WHERE table_schema = 'created' AND table_name = 'people'")
[ "$cols" = "id,city,family,given,born,shoe,country" ] && pass "created from the union of the tenants' columns" || fail "created columns: $cols"
pk=$(psql_db dst -c "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'created.people'::regclass AND contype = 'p'")
[ "$pk" = "PRIMARY KEY (country, id)" ] && pass "created key is (country, id)" || fail "created key: $pk"
check_created() {  # COUNTRY WANT
  local got; got=$(target_digest dst created.people "$1")
  [ "$got" = "$2" ] && pass "created: tenant $1 exact" || fail "created: tenant $1: got '$got', want '$2'"
}
check_created p2 "$(source_digest p2 city)"
check_created p3 "$(source_digest p3 NULL::text)"
check_created p4 "$(source_digest p4 city)"

# Without a tenant column, p1 (same columns as the target, in order) may pass COPY bytes
# through; p2 (another order) must not: its rows go through the by-name mapping.
psql_db dst -c "CREATE TABLE flat (id bigint, given text, family text, city text, born date)"
cat > "$WORK/job/flat.yaml" <<YAML
version: 1
name: hetero_flat
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
source: {connection: src, table: person}
tenants: {schemas: [p1, p2]}
target: {connection: dst, table: flat, create: never}
settings: {workers: 2}
YAML
expect_exit 0 "$SLUICE" run "$WORK/job/flat.yaml" --progress none
want=$(psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(r, '|' ORDER BY r)) FROM (
         SELECT ROW(id, given, family, city, born)::text r FROM p1.person UNION ALL
         SELECT ROW(id, given, family, city, born)::text FROM p2.person) x")
got=$(psql_db dst -c "SELECT count(*) || ' ' || md5(string_agg(ROW(id, given, family, city, born)::text, '|' ORDER BY ROW(id, given, family, city, born)::text)) FROM flat")
[ "$got" = "$want" ] && pass "pass-through only where the mapping is the identity" || fail "flat: got '$got', want '$want'"
finish

#!/usr/bin/env bash
# `after:` between tenant streams is per tenant (issue 9, item 9): partners -> interventions,
# tenant p3 fails in partners (a CHECK refuses a row), p4 cannot even be planned: with
# --ignore-errors interventions still loads p1 and p2, and fails p3 and p4 as "not started",
# named in the summary. A stream without tenants failing still skips its dependents.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
sql=""
for t in p1 p2 p3; do
  sql+="CREATE SCHEMA $t;
        CREATE TABLE $t.partner (id bigint PRIMARY KEY, name text);
        INSERT INTO $t.partner SELECT g, 'partner' || g FROM generate_series(1, 1200) g;
        CREATE TABLE $t.intervention (id bigint PRIMARY KEY, partner_id bigint, kind text);
        INSERT INTO $t.intervention SELECT g, g % 1200 + 1, 'kind' || (g % 5) FROM generate_series(1, 3000) g;"
done
sql+="CREATE SCHEMA p4; CREATE TABLE p4.intervention (id bigint PRIMARY KEY, partner_id bigint, kind text);
      INSERT INTO p4.intervention VALUES (1, 1, 'x');"
psql_db src -c "$sql"
psql_db src -c "UPDATE p3.partner SET name = 'BAD' WHERE id = 1100"
psql_db dst -c "CREATE TABLE partners (country text, id bigint, name text CHECK (name <> 'BAD'), PRIMARY KEY (country, id))" \
            -c "CREATE TABLE interventions (country text, id bigint, partner_id bigint, kind text, PRIMARY KEY (country, id))"
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: mart_after
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
streams:
  - name: partners
    source: {connection: src, table: partner, partition: {strategy: key_range, column: id, chunk_rows: 400}}
    tenants: {schemas: [p1, p2, p3, p4], as_column: country}
    target: {connection: dst, table: partners, create: never}
  - name: interventions
    after: [partners]
    source: {connection: src, table: intervention, partition: {strategy: key_range, column: id, chunk_rows: 1000}}
    tenants: {schemas: [p1, p2, p3, p4], as_column: country}
    target: {connection: dst, table: interventions, create: never}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
expect_exit 3 "$SLUICE" run "$WORK/job/job.yaml" --ignore-errors --progress none
expect_contains "$WORK/out" "tenant p3 of stream interventions failed: not started: tenant p3 failed in stream partners"
expect_contains "$WORK/out" "tenant p4 of stream interventions failed: not started: tenant p4 failed in stream partners"
for t in p1 p2; do
  want=$(psql_db src -c "SELECT count(*) || ' ' || md5(string_agg(ROW(id, partner_id, kind)::text, '|' ORDER BY id)) FROM $t.intervention")
  got=$(psql_db dst -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(ROW(id, partner_id, kind)::text, '|' ORDER BY id)), '-') FROM interventions WHERE country = '$t'")
  [ "$got" = "$want" ] && pass "interventions of $t loaded exactly" || fail "interventions of $t: got '$got', want '$want'"
done
for t in p3 p4; do
  [ "$(psql_db dst -c "SELECT count(*) FROM interventions WHERE country = '$t'")" = 0 ] \
    && pass "interventions of $t not started" || fail "interventions of $t loaded although $t failed in partners"
done

# A dependency without tenants that fails still skips the whole downstream stream.
psql_db dst -c "TRUNCATE partners, interventions" -c "CREATE TABLE lookup (id bigint PRIMARY KEY, name text CHECK (name <> 'BAD'))"
cat > "$WORK/job/plain.yaml" <<YAML
version: 1
name: mart_after_plain
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
streams:
  - name: lookup
    source: {connection: src, table: p3.partner}
    target: {connection: dst, table: lookup, create: never}
  - name: interventions
    after: [lookup]
    source: {connection: src, table: intervention}
    tenants: {schemas: [p1, p2], as_column: country}
    target: {connection: dst, table: interventions, create: never}
settings: {workers: 2}
YAML
expect_exit 1 "$SLUICE" run "$WORK/job/plain.yaml" --ignore-errors --progress none
expect_contains "$WORK/out" "not started: stream lookup did not succeed"
[ "$(psql_db dst -c "SELECT count(*) FROM interventions")" = 0 ] && pass "dependents of a failed plain stream skipped" || fail "interventions loaded after lookup failed"
finish

#!/usr/bin/env bash
# Streams from a pattern: `source: {table: "public.*", exclude: [...]}` becomes one stream per
# matching table (mixed-case names, a view, the same name in another schema left out), each into
# `target.table` with * replaced by its name, exact (count + ordered md5 per table); `after:`
# naming the pattern stream waits for all of its tables; a pattern that matches nothing and a
# target without * are exit 2 before anything runs; a SQLite source expands the same way.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
psql_db src <<'SQL'
CREATE TABLE public.orders (id int8 PRIMARY KEY, note text);
INSERT INTO public.orders SELECT g, 'o' || g FROM generate_series(1, 3000) g;
CREATE TABLE public."LineItems" (id int8 PRIMARY KEY, qty int4);
INSERT INTO public."LineItems" SELECT g, g % 7 FROM generate_series(1, 500) g;
CREATE VIEW public.big_orders AS SELECT * FROM public.orders WHERE id > 2500;
CREATE TABLE public.skip_audit (id int8);
CREATE SCHEMA other;
CREATE TABLE other.orders (id int8);
SQL
psql_db dst -c "CREATE SCHEMA staging" -c "CREATE TABLE staging.earlier (id int8)" -c "INSERT INTO staging.earlier VALUES (42)"
cat > "$WORK/job.yaml" <<YAML
version: 1
name: patterns
connections: {src: "$PG_BASE/src", dst: "$PG_BASE/dst"}
streams:
  - name: raw
    source: {connection: src, table: "public.*", exclude: ["skip_*"]}
    target: {connection: dst, table: "staging.*"}
  - name: after_raw
    source: {connection: src, table: other.orders}
    target: {connection: dst, table: staging.other_orders}
    after: [raw]
YAML
"$SLUICE" plan "$WORK/job.yaml" > "$WORK/plan.txt"
expect_contains "$WORK/plan.txt" "stream raw.orders:"
expect_contains "$WORK/plan.txt" "stream raw.LineItems:"
expect_contains "$WORK/plan.txt" "stream raw.big_orders:"
expect_contains "$WORK/plan.txt" "after: raw.LineItems, raw.big_orders, raw.orders"
expect_contains "$WORK/plan.txt" "order: raw.LineItems, raw.big_orders, raw.orders -> after_raw"
grep -q "skip_audit" "$WORK/plan.txt" && fail "an excluded table was planned" || pass "excluded table left out"
expect_exit 0 "$SLUICE" run "$WORK/job.yaml" --progress none
for pair in 'public.orders staging.orders' 'public."LineItems" staging."LineItems"' 'public.big_orders staging.big_orders'; do
  set -- $pair
  [ "$(table_digest src "$1" id)" = "$(table_digest dst "$2" id)" ] && pass "$1 copied exactly to $2" \
    || fail "$2 differs from $1"
done
[ "$(psql_db dst -c "SELECT count(*) FROM staging.earlier")" = 1 ] && pass "other tables of the target untouched" \
  || fail "staging.earlier changed"
[ "$(psql_db dst -c "SELECT count(*) FROM pg_tables WHERE tablename = 'skip_audit'")" = 0 ] && pass "nothing loaded for the excluded table" \
  || fail "skip_audit was loaded"

# Mistakes are exit 2 before a run is recorded.
sed 's/table: "staging.\*"/table: staging.one/' "$WORK/job.yaml" > "$WORK/no_star.yaml"
expect_exit 2 "$SLUICE" run "$WORK/no_star.yaml" --progress none
expect_contains "$WORK/err" "target.table: the source is a pattern (public.*), so each table needs a target table of its own"
sed 's/table: "public.\*"/table: "public.nothing_*"/' "$WORK/job.yaml" > "$WORK/none.yaml"
expect_exit 2 "$SLUICE" plan "$WORK/none.yaml"
expect_contains "$WORK/err" "no table of the source matches public.nothing_*"

# sluice copy --schema: every table and view of the schema, into the same schema of the target.
psql_db postgres -c "CREATE DATABASE copydb"
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/copydb" --schema public --progress none
for t in orders '"LineItems"' big_orders skip_audit; do
  [ "$(table_digest src "public.$t" 1)" = "$(table_digest copydb "public.$t" 1)" ] && pass "copy --schema: public.$t exact" \
    || fail "copy --schema: public.$t differs"
done
[ "$(psql_db copydb -c "SELECT count(*) FROM pg_tables WHERE schemaname = 'other'")" = 0 ] && pass "copy --schema: other schemas left out" \
  || fail "copy --schema copied another schema"
# --table globs, repeatable, into a pattern of the target.
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/copydb" --table 'public.ord*' --table 'public.Line*' \
  --target-table 'globbed.*' --progress none
[ "$(table_digest copydb globbed.orders id)" = "$(table_digest src public.orders id)" ] && pass "copy --table glob: orders" \
  || fail "copy --table glob: orders differs"
[ "$(table_digest copydb 'globbed."LineItems"' id)" = "$(table_digest src 'public."LineItems"' id)" ] && pass "copy --table glob: LineItems" \
  || fail "copy --table glob: LineItems differs"
expect_exit 2 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/copydb" --table "public.*" --target-table one --progress none
expect_contains "$WORK/err" "--target-table: copying many tables needs a pattern with *"

# SQLite: the same expansion over its tables.
sqlite3 "$WORK/src.db" "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO a VALUES (1, 'x'), (2, 'y');
  CREATE TABLE B (id INTEGER PRIMARY KEY); INSERT INTO B VALUES (7);"
cat > "$WORK/lite.yaml" <<YAML
version: 1
name: lite
source: {connection: "sqlite://$WORK/src.db", table: ["*"]}
target: {connection: "sqlite://$WORK/out.db", table: "copy_*"}
YAML
expect_exit 0 "$SLUICE" run "$WORK/lite.yaml" --progress none
[ "$(sqlite3 "$WORK/out.db" "SELECT group_concat(v) FROM copy_a; SELECT count(*) FROM copy_B")" = "$(printf 'x,y\n1')" ] \
  && pass "SQLite tables expanded and copied" || fail "SQLite pattern copy: $(sqlite3 "$WORK/out.db" .tables)"
finish

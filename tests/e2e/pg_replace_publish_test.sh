#!/usr/bin/env bash
# mode: replace into PostgreSQL keeps everything about the target but its rows:
#  - swap (nothing depends on the target): owner, table and column comments, triggers with
#    their enabled state, RLS (ENABLE/FORCE) and its policies, publications (with a column
#    list and row filter), replica identity, grants and indexes survive two runs;
#  - a view depends on the target: TRUNCATE + INSERT ... SELECT in one transaction, the table
#    (and its oid, triggers, policies) stays, the view keeps working, triggers do not fire;
#  - other tables' foreign keys reference it: rows are merged by the referenced key, so the
#    referencing rows (ON DELETE CASCADE and NO ACTION) survive; a publish the foreign keys
#    refuse fails, leaves the old table untouched and the staging table for --resume;
#  - `plan` says which way each replace publishes;
#  - a replace whose partition fails still publishes nothing.
# Data is checked against the source: count + md5 of the rows in key order.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
same() {  # LABEL GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
# Everything about a table but its rows (and, for the swap, its oid).
definition() {  # TABLE
  psql_db dst -c "SELECT concat_ws(E'\n',
      'owner ' || pg_get_userbyid(c.relowner),
      'comment ' || obj_description(c.oid, 'pg_class'),
      'column comments ' || (SELECT string_agg(a.attname || '=' || col_description(c.oid, a.attnum), ',' ORDER BY a.attnum)
                               FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0),
      'rls ' || c.relrowsecurity || ' force ' || c.relforcerowsecurity,
      'replica identity ' || c.relreplident::text,
      'acl ' || c.relacl::text,
      (SELECT string_agg(pg_get_triggerdef(t.oid) || ' enabled=' || t.tgenabled::text, E'\n' ORDER BY t.tgname)
         FROM pg_trigger t WHERE t.tgrelid = c.oid AND NOT t.tgisinternal),
      (SELECT string_agg(format('policy %s %s %s %s using=%s check=%s', policyname, permissive, roles, cmd, qual, with_check),
                         E'\n' ORDER BY policyname) FROM pg_policies WHERE schemaname = 'public' AND tablename = '$1'),
      (SELECT string_agg(format('publication %s cols=%s filter=%s', pubname, attnames, rowfilter), E'\n' ORDER BY pubname)
         FROM pg_publication_tables WHERE schemaname = 'public' AND tablename = '$1'),
      (SELECT string_agg(indexdef, E'\n' ORDER BY indexname) FROM pg_indexes WHERE schemaname = 'public' AND tablename = '$1'),
      (SELECT string_agg(conname || ' ' || pg_get_constraintdef(oid), E'\n' ORDER BY conname) FROM pg_constraint WHERE conrelid = c.oid))
    FROM pg_class c WHERE c.oid = 'public.$1'::regclass"
}
job() {  # NAME TABLE
  cat > "$WORK/$1.yaml" <<YAML
version: 1
name: $1
source: {connection: "$PG_BASE/src", table: $2, partition: {strategy: key_range, column: id, chunk_rows: 10000}}
target: {connection: "$PG_BASE/dst", table: $2, mode: replace}
settings: {workers: 2, min_rows_for_parallel: 0}
YAML
}
psql_db dst -c "CREATE ROLE mart_owner NOLOGIN; CREATE ROLE reader NOLOGIN; CREATE ROLE analyst NOLOGIN;
                CREATE TABLE audit (what text);
                CREATE FUNCTION note_audit() RETURNS trigger LANGUAGE plpgsql AS
                  \$\$BEGIN INSERT INTO audit VALUES (TG_TABLE_NAME || ' ' || TG_OP); RETURN NULL; END\$\$"

# Every target gets the same decorations: owner, comments, two triggers (one disabled), RLS with
# a permissive and a restrictive policy, grants, an explicit publication with a column list and a
# row filter, and replica identity FULL.
decorate() {  # TABLE
  psql_db dst -c "SET client_min_messages = error; ALTER TABLE $1 OWNER TO mart_owner;
    COMMENT ON TABLE $1 IS 'the $1, loaded nightly'; COMMENT ON COLUMN $1.qty IS 'units on hand';
    CREATE TRIGGER ${1}_audit AFTER INSERT OR DELETE OR TRUNCATE ON $1 FOR EACH STATEMENT EXECUTE FUNCTION note_audit();
    CREATE TRIGGER ${1}_rows AFTER UPDATE ON $1 FOR EACH ROW EXECUTE FUNCTION note_audit();
    ALTER TABLE $1 DISABLE TRIGGER ${1}_rows;
    ALTER TABLE $1 ENABLE ROW LEVEL SECURITY; ALTER TABLE $1 FORCE ROW LEVEL SECURITY;
    CREATE POLICY ${1}_read ON $1 FOR SELECT TO reader USING (qty > 0);
    CREATE POLICY ${1}_limit ON $1 AS RESTRICTIVE FOR ALL TO reader, analyst USING (id < 1000000) WITH CHECK (qty >= 0);
    GRANT SELECT ON $1 TO reader; GRANT SELECT (id, name), UPDATE (qty) ON $1 TO analyst WITH GRANT OPTION;
    CREATE PUBLICATION ${1}_pub FOR TABLE $1 (id, name, qty) WHERE (id > 10) WITH (publish = 'insert');
    ALTER TABLE $1 REPLICA IDENTITY FULL"
}
psql_db dst -c "SET client_min_messages = error; CREATE PUBLICATION everything FOR ALL TABLES WITH (publish = 'insert')"

# --- 1. Swap: nothing depends on the target.
psql_db src -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int);
                INSERT INTO items SELECT g, 'item ' || g, g % 50 FROM generate_series(1, 30000) g"
psql_db dst -c "CREATE TABLE items (id bigint PRIMARY KEY, name text, qty int CHECK (qty >= 0));
                CREATE INDEX items_name ON items (name);
                INSERT INTO items SELECT g, 'old', 1 FROM generate_series(1, 500) g"
decorate items
before=$(definition items)
job items items
expect_exit 0 "$SLUICE" plan "$WORK/items.yaml"
expect_contains "$WORK/out" "publish: swap (DROP + RENAME) keeping indexes, constraints, grants, owner, comments, triggers, policies, publications"
for round in 1 2; do
  expect_exit 0 "$SLUICE" run "$WORK/items.yaml" --progress none
  same "swap round $round: data equals the source" "$(table_digest dst items id)" "$(table_digest src items id)"
  after=$(definition items)
  if [ "$after" = "$before" ]; then pass "swap round $round: owner, comments, triggers, RLS, policies, publications, grants, indexes kept"
  else fail "swap round $round changed the table's definition"; diff <(echo "$before") <(echo "$after") || true; fi
done
same "swap: no trigger fired" "$(psql_db dst -c "SELECT count(*) FROM audit")" 0
same "swap: owner" "$(psql_db dst -c "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = 'items'::regclass")" mart_owner
same "swap: 2 policies, RLS forced" "$(psql_db dst -c "SELECT count(*) || ' ' || bool_and(c.relforcerowsecurity) FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relname = 'items'")" "2 true"
same "swap: no staging table left" "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname LIKE '%sluice_new'")" 0

# --- 2. A view depends on the target: TRUNCATE + INSERT ... SELECT.
psql_db src -c "CREATE TABLE stock (id bigint PRIMARY KEY, name text, qty int);
                INSERT INTO stock SELECT g, 'stock ' || g, g % 7 FROM generate_series(1, 25000) g"
psql_db dst -c "CREATE TABLE stock (id bigint PRIMARY KEY, name text, qty int CHECK (qty >= 0));
                INSERT INTO stock SELECT g, 'old', 1 FROM generate_series(1, 900) g;
                CREATE VIEW stock_low AS SELECT id, qty FROM stock WHERE qty < 3"
decorate stock
before=$(definition stock)
oid=$(psql_db dst -c "SELECT 'stock'::regclass::oid")
job stock stock
expect_exit 0 "$SLUICE" plan "$WORK/stock.yaml"
expect_contains "$WORK/out" "publish: TRUNCATE + INSERT ... SELECT in one transaction, because view stock_low depends on it"
for round in 1 2; do
  expect_exit 0 "$SLUICE" run "$WORK/stock.yaml" --progress none
  same "view round $round: data equals the source" "$(table_digest dst stock id)" "$(table_digest src stock id)"
  same "view round $round: the view reads the new rows" "$(psql_db dst -c "SELECT count(*) FROM stock_low")" \
    "$(psql_db src -c "SELECT count(*) FROM stock WHERE qty < 3")"
  after=$(definition stock)
  if [ "$after" = "$before" ]; then pass "view round $round: the table's definition is untouched"
  else fail "view round $round changed the table's definition"; diff <(echo "$before") <(echo "$after") || true; fi
done
same "view: same table (oid)" "$(psql_db dst -c "SELECT 'stock'::regclass::oid")" "$oid"
same "view: the target's triggers did not fire" "$(psql_db dst -c "SELECT count(*) FROM audit")" 0
same "view: its triggers are enabled again" "$(psql_db dst -c "SELECT string_agg(tgname || '=' || tgenabled::text, ',' ORDER BY tgname) FROM pg_trigger WHERE tgrelid = 'stock'::regclass")" "stock_audit=O,stock_rows=D"
same "view: no staging table left" "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname LIKE '%sluice_new'")" 0

# A failing replace (a row the CHECK refuses) publishes nothing; --resume then does.
psql_db src -c "UPDATE stock SET qty = -1 WHERE id = 24000"
old=$(table_digest dst stock id)
expect_exit 1 "$SLUICE" run "$WORK/stock.yaml" --progress none
expect_contains "$WORK/out" "not published"
same "view: failed replace leaves the old table exactly as it was" "$(table_digest dst stock id)" "$old"
psql_db src -c "UPDATE stock SET qty = 5 WHERE id = 24000"
expect_exit 0 "$SLUICE" run "$WORK/stock.yaml" --resume --progress none
same "view: resumed replace publishes the source" "$(table_digest dst stock id)" "$(table_digest src stock id)"

# --- 3. Foreign keys of other tables reference the target: merge by the referenced key.
psql_db src -c "CREATE TABLE parent (id bigint PRIMARY KEY, name text, qty int);
                INSERT INTO parent SELECT g, 'new ' || g, g % 11 FROM generate_series(1, 20000) g"
psql_db dst -c "CREATE TABLE parent (id bigint PRIMARY KEY, name text, qty int CHECK (qty >= 0));
                INSERT INTO parent SELECT g, 'old ' || g, 1 FROM generate_series(1, 25000) g;
                CREATE TABLE child_cascade (id bigint PRIMARY KEY, parent_id bigint REFERENCES parent ON DELETE CASCADE);
                CREATE TABLE child_strict (id bigint PRIMARY KEY, parent_id bigint CONSTRAINT strict_fk REFERENCES parent);
                INSERT INTO child_cascade SELECT g, g FROM generate_series(1, 1000) g;
                INSERT INTO child_strict SELECT g, g * 3 FROM generate_series(1, 1000) g"
decorate parent
before=$(definition parent)
oid=$(psql_db dst -c "SELECT 'parent'::regclass::oid")
children=$(psql_db dst -c "SELECT md5(string_agg(id || ':' || parent_id, ',' ORDER BY id)) FROM (SELECT * FROM child_cascade UNION ALL SELECT * FROM child_strict) c")
job parent parent
expect_exit 0 "$SLUICE" plan "$WORK/parent.yaml"
expect_contains "$WORK/out" "matched on (id) in one transaction, because foreign key child_cascade_parent_id_fkey of child_cascade, foreign key strict_fk of child_strict depend on it"
for round in 1 2; do
  expect_exit 0 "$SLUICE" run "$WORK/parent.yaml" --progress none
  same "fk round $round: data equals the source" "$(table_digest dst parent id)" "$(table_digest src parent id)"
  same "fk round $round: referencing rows untouched" \
    "$(psql_db dst -c "SELECT md5(string_agg(id || ':' || parent_id, ',' ORDER BY id)) FROM (SELECT * FROM child_cascade UNION ALL SELECT * FROM child_strict) c")" "$children"
  after=$(definition parent)
  if [ "$after" = "$before" ]; then pass "fk round $round: the table's definition is untouched"
  else fail "fk round $round changed the table's definition"; diff <(echo "$before") <(echo "$after") || true; fi
done
same "fk: same table (oid)" "$(psql_db dst -c "SELECT 'parent'::regclass::oid")" "$oid"
same "fk: the target's triggers did not fire" "$(psql_db dst -c "SELECT count(*) FROM audit")" 0

# The new data lacks a key child_strict references: the foreign key refuses the publish, the
# old table stays as it was, the staging table stays for --resume.
psql_db src -c "DELETE FROM parent WHERE id = 2970; UPDATE parent SET name = 'newer' WHERE id = 5"
old=$(table_digest dst parent id)
expect_exit 1 "$SLUICE" run "$WORK/parent.yaml" --progress none
expect_contains "$WORK/err" "strict_fk"
same "fk: refused publish leaves the old table exactly as it was" "$(table_digest dst parent id)" "$old"
same "fk: refused publish keeps the staging table" "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname = 'parent__sluice_new'")" 1
psql_db dst -c "DELETE FROM child_strict WHERE parent_id = 2970"
expect_exit 0 "$SLUICE" run "$WORK/parent.yaml" --resume --progress none
same "fk: resumed publish equals the source" "$(table_digest dst parent id)" "$(table_digest src parent id)"
same "fk: no staging table left" "$(psql_db dst -c "SELECT count(*) FROM pg_class WHERE relname LIKE '%sluice_new'")" 0

# A key repeated in the new data cannot collapse into one row silently.
psql_db src -c "ALTER TABLE parent DROP CONSTRAINT parent_pkey; INSERT INTO parent VALUES (7, 'twin', 1)"
old=$(table_digest dst parent id)
expect_exit 1 "$SLUICE" run "$WORK/parent.yaml" --progress none --set source.partition.strategy=none
expect_contains "$WORK/err" "repeats a key"
same "fk: repeated key leaves the old table as it was" "$(table_digest dst parent id)" "$old"

# create: replace would rebuild the table: refused before loading while something depends on it.
sed -e 's/mode: replace/mode: replace, create: replace/' "$WORK/stock.yaml" > "$WORK/recreate.yaml"
sed -i -e 's/name: stock/name: recreate/' "$WORK/recreate.yaml"
expect_exit 0 "$SLUICE" plan "$WORK/recreate.yaml"
expect_contains "$WORK/out" "publish: refused"
expect_exit 1 "$SLUICE" run "$WORK/recreate.yaml" --progress none
expect_contains "$WORK/err" "view stock_low depends on it"
same "create: replace refused: the table is untouched" "$(table_digest dst stock id)" "$(table_digest src stock id)"
finish

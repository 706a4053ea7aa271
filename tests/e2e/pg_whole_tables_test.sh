#!/usr/bin/env bash
# chunk_rows auto across a job, and the load of a table's only partition. `sluice copy` of
# three tables with 2 workers keeps each table whole (plan says why) and loads each into the
# table it created with TRUNCATE + COPY FREEZE: every page of the targets is all-frozen
# afterwards (pg_visibility) and the rows equal the source's. Split by --chunk-rows, nothing
# is frozen. Hostile: a copy whose third table fails leaves the other two created but
# unfinished; someone inserts a row into one of them; the --restart undoes the first run's
# rows and loads the source again beside that row, which survives (a table that is not empty
# is never truncated), the one emptied by the undo is frozen again, and one that another session
# is reading is loaded with a plain COPY after a second's wait for the lock, not blocked.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst" -c "CREATE DATABASE split" -c "CREATE DATABASE host"
psql_db src <<'SQL'
CREATE TABLE big (id int PRIMARY KEY, v text, n numeric(12,3), ts timestamptz);
INSERT INTO big SELECT g, md5(g::text), g / 7.0, timestamptz '2026-01-01' + g * interval '1 s'
  FROM generate_series(1, 300000) g;
CREATE TABLE mid (id bigint PRIMARY KEY, big_id int NOT NULL REFERENCES big (id), note text);
INSERT INTO mid SELECT g, g % 300000 + 1, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note ' || g END
  FROM generate_series(1, 150000) g;
CREATE TABLE small (id int PRIMARY KEY, s text);
INSERT INTO small SELECT g, 's' || g FROM generate_series(1, 100) g;
CREATE TABLE bad (id int PRIMARY KEY, v text);
INSERT INTO bad SELECT g, 'not a number ' || g FROM generate_series(1, 10) g;
ANALYZE;
SQL
for db in dst split host; do psql_db "$db" -c "CREATE EXTENSION pg_visibility"; done

# Pages of TABLE in DB that are all-frozen, of all its pages: "N/M".
frozen() {  # DB TABLE
  psql_db "$1" -c "SELECT count(*) FILTER (WHERE all_frozen) || '/' || count(*) FROM pg_visibility_map('$2')"
}
all_frozen() {  # DB TABLE LABEL
  local f; f=$(frozen "$1" "$2")
  [ "${f%/*}" = "${f#*/}" ] && [ "${f#*/}" -gt 0 ] && pass "$3: $2 all-frozen ($f pages)" || fail "$3: $2 frozen pages $f"
}
same_rows() {  # DB TABLE KEY LABEL
  [ "$(table_digest src "$2" "$3")" = "$(table_digest "$1" "$2" "$3")" ] && pass "$4: $2 exact" \
    || fail "$4: $2 differs from the source"
}

THREE=(--table public.big --table public.mid --table public.small -w 2)
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" "${THREE[@]}" --dry-run
expect_contains "$WORK/out" "stream copy.big: strategy key_range, ~300,000 rows, 1 partition(s)"
expect_contains "$WORK/out" "chunk_rows auto: loaded whole"
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/dst" "${THREE[@]}" --progress none
for t in big:id mid:id small:id; do
  same_rows dst "${t%%:*}" "${t#*:}" "whole tables"
  all_frozen dst "${t%%:*}" "whole tables"
done
[ "$(psql_db dst -c "SELECT count(*) FROM pg_constraint WHERE contype IN ('p', 'f') AND connamespace = 'public'::regnamespace")" = 4 ] \
  && pass "keys added after the frozen load" || fail "keys missing after the load"

# Split by the user: several partitions per table share it, so none may truncate or freeze.
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/split" "${THREE[@]}" --chunk-rows 40000 --progress none
same_rows split big id "split"
[ "$(frozen split big | cut -d/ -f1)" = 0 ] && pass "split: big not frozen (8 partitions)" \
  || fail "split: big has frozen pages $(frozen split big)"

# The hostile shape. bad's target exists with an int column: its rows are refused, the copy
# fails (the others finish with --ignore-errors) and leaves big and small unfinished.
psql_db host -c "CREATE TABLE bad (id int PRIMARY KEY, v int)"
HOSTILE=(--table public.big --table public.mid --table public.small --table public.bad -w 2 --ignore-errors
         --rejects "$WORK/rejects" --progress none)
expect_exit 3 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/host" "${HOSTILE[@]}"
[ "$(psql_db host -c "SELECT count(*) FROM sluice.copy_unfinished")" = 3 ] && pass "big, mid and small are unfinished" \
  || fail "copy_unfinished: $(psql_db host -c "SELECT table_name FROM sluice.copy_unfinished")"
psql_db host -c "INSERT INTO small VALUES (-1, 'inserted by hand between the runs')"
psql_db host -c "ALTER TABLE bad ALTER v TYPE text"
# A reader holds big (ACCESS SHARE) through the whole --restart.
psql -X -q -d host -c "BEGIN" -c "SELECT count(*) FROM big" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
reader=$!
for _ in $(seq 1 50); do
  [ "$(psql_db host -c "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'")" = 1 ] && break
  sleep 0.1
done
expect_exit 0 "$SLUICE" copy "$PG_BASE/src" "$PG_BASE/host" "${HOSTILE[@]}" --restart --yes
kill "$reader" 2>/dev/null || true
psql_db postgres -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%'" >/dev/null
[ "$(psql_db host -c "SELECT s FROM small WHERE id = -1")" = "inserted by hand between the runs" ] \
  && pass "restart: the row inserted by hand survives" || fail "restart: the hand-inserted row is gone"
[ "$(table_digest host "(SELECT * FROM small WHERE id > 0) " id)" = "$(table_digest src small id)" ] \
  && pass "restart: small holds the source's rows once, beside it" || fail "restart: small's source rows differ"
[ "$(frozen host small | cut -d/ -f1)" = 0 ] && pass "restart: small, not empty, loaded without TRUNCATE" \
  || fail "restart: small was frozen: $(frozen host small)"
same_rows host big id "restart (read by another session meanwhile)"
[ "$(frozen host big | cut -d/ -f1)" = 0 ] && pass "restart: big, locked by a reader, loaded with a plain COPY" \
  || fail "restart: big was frozen under a reader: $(frozen host big)"
same_rows host mid id "restart"
all_frozen host mid "restart (emptied by the undo)"
same_rows host bad id "restart"
finish

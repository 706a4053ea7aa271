#!/usr/bin/env bash
# Compressed sources: a drop directory mixing plain, gzip (two members) and zstd CSV files, whose
# columns come in different orders, loads into SQLite exactly as the same files uncompressed do
# (count + ordered md5 against an oracle computed with sqlite3's own CSV import); plan says a
# compressed file is one partition; a kill -9 mid-run and --resume gives the same rows; a truncated
# .gz fails its partition with an error naming the file and leaves the rows of the others (and of
# earlier runs) as they were; JSON lines compress too.
source "$(dirname "$0")/lib.sh"
cd "$WORK"
mkdir drop plain
rows() {  # FROM TO ORDER: id,name,amount (or amount,id,name with ORDER=swapped)
  if [ "$3" = swapped ]; then echo "amount,id,name"; else echo "id,name,amount"; fi
  awk -v a="$1" -v b="$2" -v o="$3" 'BEGIN { for (i = a; i <= b; i++) {
    name = (i % 97 == 0) ? "\"multi\nline, " i "\"" : "n" i
    amount = (i % 13 == 0) ? "" : sprintf("%d.%02d", i % 5000, i % 100)
    if (o == "swapped") print amount "," i "," name; else print i "," name "," amount } }'
}
rows 1 40000 plain > plain/a.csv
rows 40001 90000 swapped > plain/b.csv
rows 90001 120000 plain > plain/c.csv
cp plain/a.csv drop/a.csv
{ head -n 20001 plain/b.csv | gzip; tail -n +20002 plain/b.csv | gzip; } > drop/b.csv.gz  # two members
zstd -q -c plain/c.csv > drop/c.csv.zst
[ "$(zcat drop/b.csv.gz | md5sum)" = "$(md5sum < plain/b.csv)" ] || fail "the test's own gzip file is wrong"

job() {  # NAME GLOB DB
  cat > "$1.yaml" <<YAML
version: 1
name: $1
source: {files: "$2", format: csv, partition: {chunk_rows: 8000}}
target: {connection: "sqlite://$3", table: items}
settings: {workers: 2, min_rows_for_parallel: 1000}
YAML
}
job compressed "drop/*" out.db
# The oracle: sqlite3 imports the uncompressed files itself (by header, so column order is its own).
for f in a b c; do
  sqlite3 oracle.db ".import --csv plain/$f.csv raw_$f"
  sqlite3 oracle.db "CREATE TABLE IF NOT EXISTS want (id INTEGER, name TEXT, amount TEXT);
                     INSERT INTO want SELECT CAST(id AS INTEGER), name, NULLIF(amount, '') FROM raw_$f"
done
digest() {  # DB TABLE: count and md5 of the rows in id order
  echo "$(sqlite3 "$1" "SELECT count(*) FROM $2") $(sqlite3 "$1" "SELECT id, name, CASE WHEN amount IS NULL THEN '~'
    ELSE printf('%.2f', amount) END FROM $2 ORDER BY CAST(id AS INTEGER)" | md5sum | cut -c1-32)"
}
want=$(digest oracle.db want)

expect_exit 0 "$SLUICE" plan compressed.yaml
expect_contains "$WORK/out" "b.csv.gz is gzip-compressed: one partition"
expect_contains "$WORK/out" "a.csv bytes ["
expect_exit 0 "$SLUICE" run compressed.yaml --progress none
got=$(digest out.db items)
[ "$got" = "$want" ] && pass "plain, gzip and zstd files load as their uncompressed content ($got)" || fail "loaded $got, oracle $want"

# kill -9 once a partition has committed, then --resume: exactly the files once.
job killed "drop/*" killed.db
sed -i 's/workers: 2/workers: 1/' killed.yaml
"$SLUICE" run killed.yaml --progress none >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 400); do
  [ "$(sqlite3 killed.db "SELECT count(*) FROM sluice_partitions WHERE status = 'committed'" 2>/dev/null || echo 0)" -gt 0 ] && break
  sleep 0.01
done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
if [ "$(sqlite3 killed.db "SELECT status FROM sluice_runs ORDER BY started_at DESC LIMIT 1")" = running ]; then
  expect_exit 0 "$SLUICE" run killed.yaml --progress none --resume
  what="killed and resumed"
else
  what="killed after it finished"
fi
got=$(digest killed.db items)
[ "$got" = "$want" ] && pass "$what: exactly the files' rows ($got)" || fail "$what: $got, oracle $want"

# A truncated .gz among good files: its partition fails naming the file; what was there stays.
job truncated "drop/*" truncated.db
sqlite3 truncated.db "CREATE TABLE items (id INTEGER, name TEXT, amount REAL); INSERT INTO items VALUES (-1, 'earlier', 1.5)"
head -c 200000 drop/b.csv.gz > drop/d.csv.gz
expect_exit 1 "$SLUICE" run truncated.yaml --progress none
expect_contains "$WORK/err" "cannot decompress"
expect_contains "$WORK/err" "d.csv.gz (gzip): the file ends in the middle of the compressed data"
[ "$(sqlite3 truncated.db "SELECT count(*) FROM items WHERE id = -1 AND name = 'earlier'")" = 1 ] &&
  pass "the earlier row is untouched" || fail "the earlier row changed"
[ "$(sqlite3 truncated.db "SELECT count(*) FROM items WHERE id BETWEEN 40001 AND 60000")" -le 20000 ] &&
  pass "no row of the truncated file is there twice" || fail "rows of the truncated file duplicated"
rm drop/d.csv.gz

# JSON lines, gzip-compressed: the format follows the name before .gz.
awk 'BEGIN { for (i = 1; i <= 5000; i++) printf "{\"id\": %d, \"city\": \"c%d\"}\n", i, i % 7 }' | gzip > events.jsonl.gz
cat > json.yaml <<YAML
version: 1
name: json
source: {files: "events.jsonl.gz"}
target: {connection: "sqlite://json.db", table: events}
YAML
expect_exit 0 "$SLUICE" run json.yaml --progress none
[ "$(sqlite3 json.db "SELECT count(*) || ' ' || sum(id) || ' ' || count(DISTINCT city) FROM events")" = "5000 12502500 7" ] &&
  pass "gzip-compressed JSON lines load" || fail "JSON lines: $(sqlite3 json.db "SELECT count(*), sum(id) FROM events")"
finish

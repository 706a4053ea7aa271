#!/usr/bin/env bash
# Rejected rows, end to end: the reject file and the ledger hold each refused row as a JSON
# object of its values (commas, quotes, newlines, JSON, bytes, NULL and the empty string stay
# unambiguous); `sluice rejects RUN` lists them (text, --csv, --json); `--export` writes a CSV
# that, once fixed, loads back through a CSV source so the target equals the (fixed) source.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pg_lib.sh"
psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst"
same() {  # LABEL GOT WANT
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1: got '$2', expected '$3'"; fi
}
digest() {  # DB
  psql_db "$1" -c "SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', id, coalesce(t, '<null>'), j::text, encode(b, 'hex'),
                   n::text, flag), ',' ORDER BY id)) FROM item"
}
psql_db src -c "CREATE TABLE item (id bigint PRIMARY KEY, t text, j jsonb, b bytea, n numeric(30,10), flag text);
  INSERT INTO item SELECT g, 'row ' || g, jsonb_build_object('k', g), decode(lpad(to_hex(g), 4, '0'), 'hex'),
                          g * 1.0000000001, 'ok' FROM generate_series(1, 3000) g;
  UPDATE item SET flag = 'bad', t = 'a, \"quoted\" value, with a
newline' WHERE id = 17;
  UPDATE item SET flag = 'bad', t = NULL, j = '{\"a\": [1, \"x,y\"]}' WHERE id = 1500;
  UPDATE item SET flag = 'bad', t = '', b = '\\x00ff'::bytea, n = 12345678901234567890.0123456789 WHERE id = 2999"
psql_db dst -c "CREATE TABLE item (id bigint PRIMARY KEY, t text, j jsonb, b bytea, n numeric(30,10),
                                   flag text CHECK (flag <> 'bad'))"
mkdir -p "$WORK/job"
cat > "$WORK/job/items.yaml" <<YAML
version: 1
name: items
source: {connection: "$PG_BASE/src", table: item, partition: {strategy: key_range, column: id, chunk_rows: 1000}}
target: {connection: "$PG_BASE/dst", table: item, create: never}
settings: {workers: 2, min_rows_for_parallel: 0, max_rejects: 10, rejects: "$WORK/rejects"}
YAML
expect_exit 0 "$SLUICE" run "$WORK/job/items.yaml" --progress none
run_id=$(psql_db dst -c "SELECT run_id FROM sluice.runs WHERE job = 'items'")
same "three rows set aside" "$(psql_db dst -c "SELECT count(*) FROM sluice.rejects WHERE run_id = '$run_id'")" 3

# The reject file: row is an object of the source's values, in column order.
row17=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r["row"]["id"] == 17:
        print(json.dumps(r["row"], sort_keys=False))' "$WORK/rejects/items.jsonl")
same "reject file row is a JSON object" "$row17" \
  '{"id": 17, "t": "a, \"quoted\" value, with a\nnewline", "j": "{\"k\": 17}", "b": "\\x0011", "n": "17.0000000017", "flag": "bad"}'
same "NULL is null, the empty string stays empty, bytes are hex" \
  "$(python3 -c '
import json, sys
rows = {json.loads(l)["row"]["id"]: json.loads(l)["row"] for l in open(sys.argv[1])}
print(rows[1500]["t"], repr(rows[2999]["t"]), rows[2999]["b"], rows[2999]["n"])' "$WORK/rejects/items.jsonl")" \
  "None '' \\x00ff 12345678901234567890.0123456789"

# Listings.
expect_exit 0 "$SLUICE" rejects "$run_id" --state "$PG_BASE/dst"
expect_contains "$WORK/out" "items partition 1 id=17"
expect_exit 0 "$SLUICE" rejects "$run_id" --state "$PG_BASE/dst" --json
same "--json: one object per row" "$(python3 -c '
import json, sys
print(sorted(json.loads(l)["row"]["id"] for l in open(sys.argv[1])))' "$WORK/out")" "[17, 1500, 2999]"
expect_exit 0 "$SLUICE" rejects "$run_id" --state "$PG_BASE/dst" --csv
same "--csv: header and three rows" "$(python3 -c '
import csv, sys
rows = list(csv.reader(open(sys.argv[1], newline="")))
print(rows[0], len(rows) - 1)' "$WORK/out")" "['stream', 'partition', 'tenant', 'position', 'error', 'sqlstate', 'row'] 3"
expect_exit 2 "$SLUICE" rejects no-such-run --state "$PG_BASE/dst"
expect_contains "$WORK/err" "no run no-such-run"

# Export, fix, load back: the target then equals the source with the same fix.
mkdir -p "$WORK/fix"
expect_exit 0 "$SLUICE" rejects "$run_id" --state "$PG_BASE/dst" --export "$WORK/fix/rejects.csv"
same "export header" "$(head -n 1 "$WORK/fix/rejects.csv")" '"id","t","j","b","n","flag"'
sed -i 's/"bad"$/"fixed"/' "$WORK/fix/rejects.csv"
cat > "$WORK/job/fix.yaml" <<YAML
version: 1
name: fix
source: {files: {path: "$WORK/fix/rejects.csv", format: csv}}
target: {connection: "$PG_BASE/dst", table: item, create: never}
YAML
expect_exit 0 "$SLUICE" run "$WORK/job/fix.yaml" --progress none
psql_db src -c "UPDATE item SET flag = 'fixed' WHERE flag = 'bad'"
same "fixed rejects loaded back: target equals the source" "$(digest dst)" "$(digest src)"

finish

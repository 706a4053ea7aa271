#!/usr/bin/python3
"""Row-by-row SCD type 2 loader in the seed style, kept as a benchmark peer of `mode: scd2`.

Applies a full snapshot of a source table to an SCD2 history table the way a hand-written
Python job would: a pool of threads, each taking one range of the key, reading its source rows
through a server-side cursor, and for every row asking the target for the key's current version
(one SELECT), then closing it and inserting the new version (UPDATE + INSERT) when the tracked
columns changed, or inserting a first version for a new key; one commit per chunk of rows. Keys
whose current version the snapshot no longer has are then closed one by one and get a version
flagged deleted (sluice's `hard_deletes: new_record`). Every new version starts at one run time,
the target's now() when the loader starts (sluice's check strategy).

The history table is sluice's: the source's columns plus valid_from, valid_to, is_current,
scd2_hash (md5 of the text of ROW(tracked columns), as PostgreSQL writes a row value) and
is_deleted. The hash is computed here in Python; the tracked columns must be text or integers.
The key is one integer column. --max-key limits the run to keys <= N (a sample of the key
space: the rest of the target is not touched). Run it with the system interpreter
(/usr/bin/python3), which has psycopg2 from the python3-psycopg2 package.
"""

import argparse
import hashlib
import sys
from concurrent.futures import ThreadPoolExecutor

import psycopg2


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="libpq URL of the source database")
    parser.add_argument("--target", required=True, help="libpq URL of the target database")
    parser.add_argument("--source-table", required=True)
    parser.add_argument("--target-table", required=True, help="the SCD2 history table")
    parser.add_argument("--key", default="id", help="the business key: one integer column")
    parser.add_argument("--tracked", required=True, help="comma-separated tracked columns")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=5000, help="rows per fetch and per commit")
    parser.add_argument("--max-key", type=int, help="only keys <= this (a sample; the rest is left alone)")
    return parser.parse_args()


def row_text(values):
    """The text PostgreSQL's record_out gives ROW(values)::text, for text and integer fields."""
    fields = []
    for value in values:
        if value is None:
            fields.append("")
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TypeError(f"tracked value {value!r}: only text and integer columns are supported")
        text = str(value)
        if text == "" or any(c in '"\\(),' or c in " \t\n\r\v\f" for c in text):
            text = '"' + text.replace("\\", "\\\\").replace('"', '""') + '"'
        fields.append(text)
    return "(" + ",".join(fields) + ")"


def row_hash(values):
    return hashlib.md5(row_text(values).encode("utf-8")).hexdigest()


class Loader:
    def __init__(self, args, columns, run_time):
        self.args = args
        self.columns = columns
        self.run_time = run_time
        self.key = args.key
        self.tracked = [c.strip() for c in args.tracked.split(",")]
        self.tracked_at = [columns.index(c) for c in self.tracked]
        self.key_at = columns.index(self.key)
        column_list = ", ".join(columns)
        table = args.target_table
        self.read = (f"SELECT {column_list} FROM {args.source_table} WHERE {self.key} BETWEEN %s AND %s "
                     f"ORDER BY {self.key}")
        self.current = (f"SELECT valid_from, scd2_hash, is_deleted FROM {table} "
                        f"WHERE {self.key} = %s AND is_current")
        self.close = f"UPDATE {table} SET valid_to = %s, is_current = false WHERE {self.key} = %s AND valid_from = %s"
        placeholders = ", ".join(["%s"] * (len(columns) + 5))
        self.insert = (f"INSERT INTO {table} ({column_list}, valid_from, valid_to, is_current, scd2_hash, is_deleted) "
                       f"VALUES ({placeholders})")
        self.alive = (f"SELECT {self.key} FROM {table} WHERE is_current AND NOT is_deleted "
                      f"AND {self.key} BETWEEN %s AND %s AND valid_from < %s")
        self.version = f"SELECT {column_list}, valid_from, scd2_hash FROM {table} WHERE {self.key} = %s AND is_current"

    def load_range(self, lo, hi):
        counts = {"read": 0, "unchanged": 0, "changed": 0, "new": 0, "deleted": 0}
        seen = set()
        source = psycopg2.connect(self.args.source, application_name="scd2_python_loader")
        target = psycopg2.connect(self.args.target, application_name="scd2_python_loader")
        try:
            with source.cursor(name="snapshot") as rows, target.cursor() as cur:
                rows.itersize = self.args.chunk_rows
                rows.execute(self.read, (lo, hi))
                pending = 0
                for row in rows:
                    key = row[self.key_at]
                    seen.add(key)
                    counts["read"] += 1
                    new_hash = row_hash([row[i] for i in self.tracked_at])
                    cur.execute(self.current, (key,))
                    current = cur.fetchone()
                    if current is None:
                        cur.execute(self.insert, (*row, self.run_time, None, True, new_hash, False))
                        counts["new"] += 1
                    elif current[2] or current[1] != new_hash:
                        cur.execute(self.close, (self.run_time, key, current[0]))
                        cur.execute(self.insert, (*row, self.run_time, None, True, new_hash, False))
                        counts["changed"] += 1
                    else:
                        counts["unchanged"] += 1
                    pending += 1
                    if pending == self.args.chunk_rows:
                        target.commit()
                        pending = 0
                target.commit()
                # Keys whose current version the snapshot no longer has: closed, then flagged deleted.
                cur.execute(self.alive, (lo, hi, self.run_time))
                gone = [k for (k,) in cur.fetchall() if k not in seen]
                for i, key in enumerate(gone, 1):
                    cur.execute(self.version, (key,))
                    old = cur.fetchone()
                    values, valid_from, old_hash = old[:len(self.columns)], old[-2], old[-1]
                    cur.execute(self.close, (self.run_time, key, valid_from))
                    cur.execute(self.insert, (*values, self.run_time, None, True, old_hash, True))
                    counts["deleted"] += 1
                    if i % self.args.chunk_rows == 0:
                        target.commit()
                target.commit()
        finally:
            source.close()
            target.close()
        return counts


def main():
    args = parse_args()
    conn = psycopg2.connect(args.source)
    with conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {args.source_table} LIMIT 0")
        columns = [d.name for d in cur.description]
        cur.execute(f"SELECT min({args.key}), max({args.key}) FROM {args.source_table}")
        lo, hi = cur.fetchone()
    conn.close()
    conn = psycopg2.connect(args.target)
    with conn, conn.cursor() as cur:
        cur.execute("SELECT now()")
        (run_time,) = cur.fetchone()
        cur.execute(f"SELECT min({args.key}), max({args.key}) FROM {args.target_table} WHERE is_current")
        tlo, thi = cur.fetchone()
    conn.close()
    bounds = [b for b in (lo, tlo) if b is not None]
    lo = min(bounds) if bounds else 0
    bounds = [b for b in (hi, thi) if b is not None]
    hi = max(bounds) if bounds else -1
    if args.max_key is not None:
        hi = min(hi, args.max_key)
    span = max(hi - lo + 1, 0)
    step = (span + args.threads - 1) // args.threads if span else 1
    ranges = [(lo + i * step, min(lo + (i + 1) * step - 1, hi)) for i in range(args.threads) if lo + i * step <= hi]
    loader = Loader(args, columns, run_time)
    total = {"read": 0, "unchanged": 0, "changed": 0, "new": 0, "deleted": 0}
    try:
        with ThreadPoolExecutor(max_workers=args.threads) as pool:
            for counts in pool.map(lambda r: loader.load_range(*r), ranges):
                for name, value in counts.items():
                    total[name] += value
    except Exception as error:
        print(f"scd2_python_loader: error: {error}", file=sys.stderr)
        return 1
    print("scd2_python_loader: " + ", ".join(f"{value} {name}" for name, value in total.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""The seed-style loader sluice replaces, kept as a benchmark peer.

Copies one table between two PostgreSQL databases the way the original multi-country loader
did: a pool of threads, each taking the next LIMIT/OFFSET chunk of the ordered source table,
fetching it whole into Python objects, and inserting it with psycopg2's execute_values, one
commit per chunk. Run it with the system interpreter (/usr/bin/python3), which has psycopg2
from the python3-psycopg2 package.
"""

import argparse
import sys
import threading

import psycopg2
import psycopg2.extras


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True, help="libpq URL of the source database")
    parser.add_argument("--target", required=True, help="libpq URL of the target database")
    parser.add_argument("--table", required=True, help="table to copy (same name in the target)")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--chunk-rows", type=int, default=50000)
    parser.add_argument("--page-size", type=int, default=1000, help="rows per INSERT statement")
    return parser.parse_args()


class Chunks:
    """Hands out chunk numbers to the threads, in order, until the table is exhausted."""

    def __init__(self, count):
        self._next = 0
        self._count = count
        self._lock = threading.Lock()

    def take(self):
        with self._lock:
            if self._next >= self._count:
                return None
            self._next += 1
            return self._next - 1


def copy_chunks(args, columns, order_by, chunks, errors):
    try:
        source = psycopg2.connect(args.source, application_name="python_loader")
        target = psycopg2.connect(args.target, application_name="python_loader")
        # jsonb stays text: the loader passes it through rather than parsing every document.
        psycopg2.extras.register_default_jsonb(conn_or_curs=source, loads=lambda text: text)
        column_list = ", ".join(columns)
        select = (f"SELECT {column_list} FROM {args.table} ORDER BY {order_by} "
                  f"LIMIT %s OFFSET %s")
        insert = f"INSERT INTO {args.table} ({column_list}) VALUES %s"
        with source, target:
            while (chunk := chunks.take()) is not None:
                with source.cursor() as cur:
                    cur.execute(select, (args.chunk_rows, chunk * args.chunk_rows))
                    rows = cur.fetchall()
                with target.cursor() as cur:
                    psycopg2.extras.execute_values(cur, insert, rows, page_size=args.page_size)
                target.commit()
    except Exception as error:  # reported by the main thread; the exit status says it failed
        errors.append(error)


def main():
    args = parse_args()
    with psycopg2.connect(args.source) as conn, conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {args.table} LIMIT 0")
        columns = [d.name for d in cur.description]
        cur.execute(f"SELECT count(*) FROM {args.table}")
        rows = cur.fetchone()[0]
    chunks = Chunks((rows + args.chunk_rows - 1) // args.chunk_rows)
    errors = []
    threads = [threading.Thread(target=copy_chunks, args=(args, columns, columns[0], chunks, errors))
               for _ in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        print(f"python_loader: error: {errors[0]}", file=sys.stderr)
        return 1
    print(f"python_loader: copied {rows} rows of {args.table}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

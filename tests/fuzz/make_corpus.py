#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets into tests/fuzz/corpus/<target>/.

The seeds are checked in; rerun this only to change them. Each seed starts with the option
bytes its target reads first (see the comment at the top of each *_fuzz.cpp), then the payload.
"""
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# --- csv_reader: dialect byte, chunk byte, shape byte, file --------------------------------
# dialect: bits 0-1 delimiter , ; \t |  bit 2 quote " or '  bit 3 escape \  bits 4-5 null marker
# chunk: index into {4096, 1, 2, 3, 7, 16, 64, 512}
# shape: bits 0-2 expected fields  bits 3-4 max record bytes  bits 5-7 records per range - 1
def csv(name, text, dialect=0, chunk=0, shape=0):
    write("csv_reader", name, bytes([dialect, chunk, shape]) + text.encode("utf-8", "surrogateescape"))


csv("simple", "id,name,amount\n1,alice,10.5\n2,bob,\n3,,7\n", shape=3)
csv("quoted", 'id,note\n1,"a, b"\n2,"say ""hi"""\n3,"two\nlines"\n4,""\n', chunk=2, shape=2 | (1 << 5))
csv("crlf_bom", "\ufeffid;name\r\n1;x\r\n\r\n2;y\r\n", dialect=1, chunk=3)
csv("ragged_and_bad", 'a,b\n1,2,3\n"open\n4,"x"y\n5,\xff\xfe\n6,7\n', shape=2 | (2 << 5))
csv("backslash_escape", "a\tb\n'it\\'s'\t\\N\n'x'\t'\\\\'\n", dialect=2 | 4 | 8 | (2 << 4), chunk=1)
csv("unclosed_long", '1,"' + "x" * 100 + "\n" * 3, shape=(1 << 3))
csv("empty", "")
csv("only_newlines", "\n\n\r\n\n", chunk=4)

# --- jsonl_source: flags byte, file ---------------------------------------------------------
# flags: bit 0 infer types  bits 1-2 declared columns (none; id; amount+at; a,b,c,d)
#        bits 3-4 batch rows {10000, 1, 3, 64}  bits 5-7 chunk rows - 1 for the cut
def jsonl(name, text, flags=0):
    write("jsonl_source", name, bytes([flags]) + text.encode("utf-8", "surrogateescape"))


jsonl("simple", '{"id": 1, "name": "a"}\n{"id": 2, "name": null}\n{"id": 3}\n', flags=1)
jsonl("declared_id", '{"id": 1}\n{"id": "2"}\n{"id": 9223372036854775808}\n{"id": 1.5}\n',
      flags=(1 << 1) | (1 << 3))
jsonl("decimals", '{"amount": 12345678901234567890.0123456789, "at": "2024-01-02T03:04:05Z"}\n'
      '{"amount": "1e5", "at": "not a time"}\n{"amount": -0.0000000001, "at": null}\n',
      flags=(2 << 1) | (2 << 3))
jsonl("mixed_types", '{"a": {"x": [1, 2]}, "b": true, "c": "2024-02-29", "d": 1e308}\n'
      '{"a": [], "b": "yes", "c": "2023-02-29", "d": "NaN"}\n', flags=(3 << 1) | 1)
jsonl("bad_lines", '{"id": 1}\nnot json\n[1, 2]\n\n   \n{"id": \n{"id": 2}\r\n"\xff"\n',
      flags=(2 << 5))
jsonl("nested_unicode", '{"s": "caf\\u00e9 \\ud83d\\ude00", "n": {"deep": {"er": [null, {}]}}}\n')
jsonl("no_trailing_newline", '{"k": 1}\n{"k": 2}', flags=1 | (1 << 3))

# --- job_parser: YAML text [\0 override]* --------------------------------------------------
write("job_parser", "full", """version: 1
name: events_mart
connections:
  src: ${SLUICE_FUZZ_URL}
  dwh: sqlite://mart.db
streams:
  - name: events
    source:
      connection: src
      table: public.events
      partition: {strategy: auto, column: id, chunk_rows: 50000}
    tenants:
      schemas: [afg, bgd, syr]
      as_column: country
    transform:
      columns: {id: id, amount_usd: "amount * 1.1", country: "upper(country)"}
      filter: "amount > 0"
    target:
      connection: dwh
      table: events
      create: if_missing
      mode: upsert
      key: [id]
    incremental: {cursor: [updated_at, id], settle: 5s, lookback: 1h, on_null: fail}
  - name: drops
    source:
      connection: dwh
      files: {path: "data/*.csv", format: csv, csv: {header: true, delimiter: ";", quote: "'", null: "\\\\N"}}
      columns: {id: bigint, amount: "numeric(12,2)"}
      infer_types: true
    target: {connection: dwh, table: drops, mode: replace}
    after: [events]
settings:
  workers: 4
  min_rows_for_parallel: 100000
  on_error: continue
  retry: {attempts: 5, initial: 200ms, max: 30s}
  max_rejects: 10
  rejects: rejects/
  state: sqlite:///tmp/ledger.db
""")
write("job_parser", "top_level_stream", """version: 1
source:
  connection: sqlite://in.db
  query: "SELECT * FROM t WHERE x > $1"
target: {connection: postgresql://u@h/db, table: mart.t, mode: scd2, key: [id],
         scd2: {tracked: [name], valid_from: vf, valid_to: vt, current: cur}}
""")
write("job_parser", "with_overrides", """version: 1
name: j
connections: {a: sqlite://a.db}
streams:
  - {name: s, source: {connection: a, table: t}, target: {connection: a, table: u}}
""" + "\0settings.workers=8\0streams.0.target.mode=replace\0streams.s.source.table=x\0streams.5.name=y")
write("job_parser", "errors", """version: 2
name: "bad name!"
connections: {a: "mysql://", b: ${SLUICE_FUZZ_UNSET}, c: "${SLUICE_FUZZ_EMPTY:-sqlite://x.db}"}
streams:
  - name: s
    source: {conection: a, table: t, partition: {chunk_rows: -1}}
    target: {connection: nowhere, table: t, mode: merge}
settings: {workers: many, retry: {initial: 10s, max: 1s}}
""")
write("job_parser", "anchors_and_tags", """version: !!int 1
x: &anchor {a: [1, 2, {b: *anchor}]}
streams: [*anchor, ~, !!binary aGVsbG8=, "$$dollar", '${'
""")
write("job_parser", "empty", "")

# --- pg_copy_decoder: flags byte, column count, type bytes, COPY stream ----------------------
# flags: bit 0 raw  bits 1-3 chunk {1, 2, 3, 5, 8, 17, 64, 1 MiB}  bits 4-5 max rows {1, 2, 7, 10000}
# type indexes (kTypes in pg_copy_decoder_fuzz.cpp): 0 bool 1 int2 2 int4 3 int8 4 float4
# 5 float8 6 numeric 7 numeric(12,2) 8 text 9 bytea 10 json 11 jsonb 12 date 13 time
# 14 timestamp 15 timestamptz 16 interval 17 uuid 18 int4[] 19 text[] 20 numeric[] 21 bool[]
# 22 float8[] 23 timestamp[] 24 date[] 25 interval[] 26 uuid[] 27 jsonb[] 28 int8[] ...
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">II", 0, 0)
TRAILER = struct.pack(">h", -1)


def field(b):
    return struct.pack(">i", -1) if b is None else struct.pack(">i", len(b)) + b


def tup(*fields):
    return struct.pack(">h", len(fields)) + b"".join(field(f) for f in fields)


def numeric(digits, weight, sign=0, dscale=0):
    return struct.pack(">hhHH", len(digits), weight, sign, dscale) + b"".join(
        struct.pack(">h", d) for d in digits)


def array(elem_oid, elems, dims=None):
    dims = dims or [(len(elems), 1)]
    has_null = int(any(e is None for e in elems))
    out = struct.pack(">iiI", len(dims), has_null, elem_oid)
    out += b"".join(struct.pack(">ii", n, lb) for n, lb in dims)
    return out + b"".join(field(e) for e in elems)


def copy(name, types, tuples, flags=0, header=HEADER, trailer=TRAILER):
    write("pg_copy_decoder", name, bytes([flags, len(types)] + types) + header + b"".join(tuples) + trailer)


i16 = lambda v: struct.pack(">h", v)
i32 = lambda v: struct.pack(">i", v)
i64 = lambda v: struct.pack(">q", v)
f64 = lambda v: struct.pack(">d", v)

copy("scalars", [0, 1, 2, 3, 5, 8, 12, 14],
     [tup(b"\x01", i16(-7), i32(42), i64(-(2 ** 63)), f64(1.5), b"h\xc3\xa9llo", i32(-10957), i64(0)),
      tup(None, None, None, None, None, None, None, None)], flags=(3 << 4))
copy("numerics", [6, 7, 20],
     [tup(numeric([1, 2345], 1, 0, 4), numeric([1234, 5000], 0, 0x4000, 2),
          array(1700, [numeric([], 0, 0xC000, 0), numeric([7], -2, 0, 8), None])),
      tup(numeric([9999] * 8, 40, 0, 0), numeric([], 0, 0xD000, 0), array(1700, []))],
     flags=(1 << 1) | (3 << 4))
copy("text_arrays_2d", [19, 18],
     [tup(array(25, [b"a", b"b,c", b'"q"', None], dims=[(2, 1), (2, 0)]), array(23, [i32(1), i32(-2)])),
      tup(array(25, []), array(23, [None], dims=[(1, -5)]))], flags=(2 << 1) | (1 << 4))
copy("time_types", [13, 15, 16, 17, 11],
     [tup(i64(86399999999), i64(-(2 ** 62)), i64(1) + i32(-3) + i32(14), bytes(range(16)), b"\x01{\"a\": [1]}"),
      tup(i64(0), i64(2 ** 62), i64(0) + i32(0) + i32(0), b"\xff" * 16, b"\x02{}")], flags=(3 << 4))
copy("raw_mode", [2, 8], [tup(i32(1), b"x"), tup(None, b""), tup(i32(3), None)], flags=1 | (1 << 4))
copy("header_extension", [2], [tup(i32(5))], flags=(1 << 1) | (3 << 4),
     header=b"PGCOPY\n\xff\r\n\x00" + struct.pack(">II", 0, 4) + b"ext!")
copy("truncated_tuple", [8, 8], [tup(b"abc", b"def")[:-2]], trailer=b"", flags=(3 << 4))
copy("wrong_field_count", [2], [tup(i32(1), i32(2))], flags=(3 << 4))
copy("bad_lengths", [2, 3, 17], [tup(i32(1)[:2], i64(5), b"short")], flags=(3 << 4))
copy("zero_columns", [], [tup(), tup()], flags=(3 << 4))

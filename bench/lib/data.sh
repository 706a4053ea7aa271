# The benchmark data: the `events` table in database src (plus `events_fifth`, its first fifth,
# for the memory-flatness check), pgbench accounts, and events exported as CSV and SQLite.
# Sourced by bench/run. Generated once per row count and reused while the generator is unchanged.

# Bump when the generator changes so old data is regenerated.
readonly DATA_VERSION=1

# The events columns, the target DDL (no index: every tool loads into the same bare table), and
# the SQLite DDL (booleans as 0/1 integers, the way SQLite applications store them).
readonly EVENTS_COLUMNS="id, tenant_id, country, created_at, amount, score, is_active, note, attrs, event_day"
readonly EVENTS_BODY="
    id         bigint        NOT NULL,
    tenant_id  integer       NOT NULL,
    country    text          NOT NULL,
    created_at timestamptz   NOT NULL,
    amount     numeric(12,2) NOT NULL,
    score      float8        NOT NULL,
    is_active  boolean       NOT NULL,
    note       text          NOT NULL,
    attrs      jsonb         NOT NULL,
    event_day  date          NOT NULL"
readonly EVENTS_SQLITE_DDL="CREATE TABLE events (
    id INTEGER PRIMARY KEY, tenant_id INTEGER NOT NULL, country TEXT NOT NULL,
    created_at TEXT NOT NULL, amount NUMERIC NOT NULL, score REAL NOT NULL,
    is_active INTEGER NOT NULL, note TEXT NOT NULL, attrs TEXT NOT NULL, event_day TEXT NOT NULL);"

# Deterministic rows 1..N: setseed makes random() repeat, and INSERT ... SELECT runs serially.
events_insert_sql() {
    local table=$1 rows=$2
    cat <<SQL
SELECT setseed(0.4242);
INSERT INTO $table
SELECT g,
       1 + floor(random() * 1000)::int,
       (ARRAY['AFG','BGD','COD','ETH','HTI','MLI','NGA','SDN','SOM','SSD','SYR','YEM'])
           [1 + floor(random() * 12)::int],
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '1500 days',
       round((random() * 200000 - 50000)::numeric, 2),
       random() * 1000 - 500,
       random() < 0.5,
       left(repeat(md5(g::text) || ' ' || md5((g * 7)::text) || ' épée ', 2),
            20 + floor(random() * 61)::int),
       jsonb_build_object('src', (ARRAY['web','app','api'])[1 + floor(random() * 3)::int],
                          'qty', floor(random() * 100)::int,
                          'tags', jsonb_build_array('t' || floor(random() * 10)::int, 'x')),
       date '2020-01-01' + floor(random() * 1500)::int
FROM generate_series(1, $rows) AS g;
SQL
}

# Three more table shapes for the PG→PG runs (issue 16: a goal must hold on every shape):
# narrow (two integers: per-row overhead dominates), wide (text, bytea, arrays, jsonb: bytes
# dominate) and sparse (mostly NULLs). Each has an integer key `id` for the range-split pipes.
readonly SHAPE_NARROW_BODY="
    id integer NOT NULL,
    v  integer NOT NULL"
readonly SHAPE_WIDE_BODY="
    id      bigint        NOT NULL,
    title   text          NOT NULL,
    body    text          NOT NULL,
    blob    bytea         NOT NULL,
    tags    text[]        NOT NULL,
    counts  integer[]     NOT NULL,
    ratios  float8[]      NOT NULL,
    payload jsonb         NOT NULL,
    at      timestamptz   NOT NULL,
    price   numeric(14,4) NOT NULL,
    flag    boolean       NOT NULL"
readonly SHAPE_SPARSE_BODY="
    id  bigint NOT NULL,
    i1  integer,
    i2  bigint,
    t1  text,
    t2  text,
    n1  numeric(12,2),
    ts1 timestamptz,
    f1  float8,
    b1  boolean,
    d1  date"

# The shapes' row counts for an events table of ROWS rows (wide rows are ~10× longer).
shape_rows() {
    case $1 in
        shape_wide) echo $(($2 / 5)) ;;
        *) echo "$2" ;;
    esac
}

# The body of a table bench/run loads (the target DDL is the source's, without indexes).
table_body() {
    case $1 in
        events | events_fifth) echo "$EVENTS_BODY" ;;
        shape_narrow) echo "$SHAPE_NARROW_BODY" ;;
        shape_wide) echo "$SHAPE_WIDE_BODY" ;;
        shape_sparse) echo "$SHAPE_SPARSE_BODY" ;;
        *) return 1 ;;
    esac
}

shapes_insert_sql() {
    local rows=$1 wide
    wide=$(shape_rows shape_wide "$rows")
    cat <<SQL
SELECT setseed(0.1717);
INSERT INTO shape_narrow SELECT g, (random() * 2000000000)::int - 1000000000
FROM generate_series(1, $rows) AS g;
INSERT INTO shape_wide
SELECT g,
       'item ' || g || ' ' || md5(g::text),
       repeat(md5((g * 3)::text) || ' ', 2 + floor(random() * 8)::int),
       decode(repeat(md5((g * 5)::text), 1 + floor(random() * 3)::int), 'hex'),
       ARRAY['t' || floor(random() * 50)::int, 'u' || floor(random() * 50)::int, 'épée'],
       ARRAY[floor(random() * 1000)::int, g % 97, -7],
       ARRAY[random(), random() * 1e6, -random()],
       jsonb_build_object('k', g % 1000, 'name', md5((g * 11)::text), 'ok', random() < 0.5),
       timestamptz '2020-01-01 00:00:00+00' + random() * interval '1500 days',
       round((random() * 2000000 - 1000000)::numeric, 4),
       random() < 0.3
FROM generate_series(1, $wide) AS g;
INSERT INTO shape_sparse
SELECT g,
       CASE WHEN random() < 0.2 THEN floor(random() * 1e6)::int END,
       CASE WHEN random() < 0.2 THEN g * 31 END,
       CASE WHEN random() < 0.2 THEN md5(g::text) END,
       CASE WHEN random() < 0.1 THEN repeat('x', floor(random() * 40)::int) END,
       CASE WHEN random() < 0.2 THEN round((random() * 1e6)::numeric, 2) END,
       CASE WHEN random() < 0.2 THEN timestamptz '2021-01-01 00:00:00+00' + random() * interval '900 days' END,
       CASE WHEN random() < 0.2 THEN random() END,
       CASE WHEN random() < 0.2 THEN random() < 0.5 END,
       CASE WHEN random() < 0.2 THEN date '2021-01-01' + floor(random() * 900)::int END
FROM generate_series(1, $rows) AS g;
SQL
}

generate_shapes() {
    local rows=$1
    local want="rows=$rows v1"
    [[ $(data_stamp shapes) == "$want" ]] && return
    log "generating the table shapes: narrow and sparse $rows rows, wide $(shape_rows shape_wide "$rows")"
    psql_db src >/dev/null <<SQL
DROP TABLE IF EXISTS shape_narrow, shape_wide, shape_sparse;
CREATE TABLE shape_narrow ($SHAPE_NARROW_BODY);
CREATE TABLE shape_wide ($SHAPE_WIDE_BODY);
CREATE TABLE shape_sparse ($SHAPE_SPARSE_BODY);
$(shapes_insert_sql "$rows")
ALTER TABLE shape_narrow ADD PRIMARY KEY (id);
ALTER TABLE shape_wide ADD PRIMARY KEY (id);
ALTER TABLE shape_sparse ADD PRIMARY KEY (id);
SQL
    local table
    for table in shape_narrow shape_wide shape_sparse; do
        psql_db src -c "VACUUM (FREEZE, ANALYZE) $table"
    done
    set_stamp shapes "$want"
}

# The stamp of what src holds, e.g. "events=5000000 v1"; regeneration compares it.
data_stamp() { q src "SELECT value FROM bench_meta WHERE key = '$1'" 2>/dev/null || true; }
set_stamp() {
    q src "CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value text);
           INSERT INTO bench_meta VALUES ('$1', '$2')
           ON CONFLICT (key) DO UPDATE SET value = excluded.value" >/dev/null
}

generate_events() {
    local rows=$1
    local want="rows=$rows v$DATA_VERSION"
    [[ $(data_stamp events) == "$want" ]] && return
    log "generating events: $rows rows"
    local fifth=$((rows / 5))
    psql_db src >/dev/null <<SQL
DROP TABLE IF EXISTS events, events_fifth;
CREATE TABLE events ($EVENTS_BODY);
$(events_insert_sql events "$rows")
ALTER TABLE events ADD PRIMARY KEY (id);
CREATE TABLE events_fifth (LIKE events INCLUDING ALL);
INSERT INTO events_fifth SELECT * FROM events WHERE id <= $fifth;
SQL
    # Frozen and analysed, so no run pays for hint bits and planners see real statistics.
    psql_db src -c "VACUUM (FREEZE, ANALYZE) events" -c "VACUUM (FREEZE, ANALYZE) events_fifth"
    set_stamp events "$want"
    rm -f "$WORK"/data/events.*
}

generate_accounts() {
    local scale=$1
    local want="scale=$scale"
    [[ $(data_stamp accounts) == "$want" ]] && return
    log "generating pgbench accounts: scale $scale ($((scale * 100000)) rows)"
    pgbench -i -q -s "$scale" src 2>&1 | tail -n 1 >&2
    psql_db src -c "VACUUM (FREEZE, ANALYZE) pgbench_accounts"
    set_stamp accounts "$want"
}

# export_once PATH FROM [OPTIONS]: `\copy FROM TO PATH OPTIONS` unless PATH is there already.
export_once() {
    local path=$1 from=$2 options=${3:-}
    [[ -s $path ]] && return
    log "exporting events to $path"
    mkdir -p "$WORK/data"
    psql_db src -c "\\copy $from TO '$path.tmp' $options"
    mv "$path.tmp" "$path"
}

# events as CSV with a header, the way psql writes it (the input of the CSV runs).
export_csv() {
    EVENTS_CSV="$WORK/data/events.csv"
    export_once "$EVENTS_CSV" events "CSV HEADER"
}

# events as JSON lines, one object per row the way PostgreSQL writes them (the JSON runs).
export_jsonl() {
    EVENTS_JSONL="$WORK/data/events.jsonl"
    export_once "$EVENTS_JSONL" "(SELECT row_to_json(e) FROM events e ORDER BY id)"
}

# events as a SQLite database, imported with the sqlite3 CLI (independent of the tool under test).
export_sqlite() {
    EVENTS_DB="$WORK/data/events.db"
    [[ -s $EVENTS_DB ]] && return
    log "exporting events to $EVENTS_DB"
    mkdir -p "$WORK/data"
    local csv="$WORK/data/events.sqlite.csv"
    local select="SELECT id, tenant_id, country, created_at, amount, score, is_active::int,
                         note, attrs, event_day FROM events ORDER BY id"
    psql_db src -c "\\copy ($select) TO '$csv' CSV"
    rm -f "$EVENTS_DB.tmp"
    sqlite3 "$EVENTS_DB.tmp" "$EVENTS_SQLITE_DDL" ".import --csv $csv events"
    rm -f "$csv"
    mv "$EVENTS_DB.tmp" "$EVENTS_DB"
}

# Everything a run may read, built once for ROWS (pgbench SCALE unless it is 0; the table
# shapes when SHAPES is 1).
prepare_data() {
    local rows=$1 scale=$2 shapes=${3:-0}
    ensure_database src
    ensure_database dst
    generate_events "$rows"
    [[ $scale -gt 0 ]] && generate_accounts "$scale"
    [[ $shapes -eq 1 ]] && generate_shapes "$rows"
    export_csv
    export_jsonl
    export_sqlite
}

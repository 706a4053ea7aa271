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

# events as CSV with a header, the way psql writes it (the input of the CSV runs).
export_csv() {
    EVENTS_CSV="$WORK/data/events.csv"
    [[ -s $EVENTS_CSV ]] && return
    log "exporting events to $EVENTS_CSV"
    mkdir -p "$WORK/data"
    psql_db src -c "\\copy events TO '$EVENTS_CSV.tmp' CSV HEADER"
    mv "$EVENTS_CSV.tmp" "$EVENTS_CSV"
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

# Everything a run may read, built once for ROWS (and pgbench SCALE unless it is 0).
prepare_data() {
    local rows=$1 scale=$2
    ensure_database src
    ensure_database dst
    generate_events "$rows"
    [[ $scale -gt 0 ]] && generate_accounts "$scale"
    export_csv
    export_sqlite
}

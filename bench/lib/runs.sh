# The runs: one function per tool, each starting its client processes through `client` so that
# measure() accounts for them. They read database src (or the exported files) and write table
# dst.<same name>, which prepare_target has made empty beforehand. Sourced by bench/run.

# Before every run: no sluice state from the previous run, and either a fresh bare target table
# (create: same columns and NOT NULLs as the source, no primary key or index: every tool loads
# the same heap; create_pk: with the primary key) or, for tools that create their own table
# (drop), no table at all.
prepare_target() {
    local table=$1 how=$2 body
    local ddl="DROP SCHEMA IF EXISTS sluice CASCADE; DROP TABLE IF EXISTS $table;"
    if [[ $how != drop ]]; then
        case $table in
            pgbench_accounts) body="aid integer NOT NULL, bid integer, abalance integer,
                filler character(84)" ;;
            *) body=$(table_body "$table") || die "no target DDL for $table" ;;
        esac
        ddl+=" CREATE TABLE $table ($body);"
        # create_pk: the source's primary key too, maintained row by row during the load.
        [[ $how == create_pk ]] && ddl+=" ALTER TABLE $table ADD PRIMARY KEY (id);"
    fi
    q dst "$ddl" >/dev/null
}

# --- sluice ---------------------------------------------------------------------------------

sluice_copy() {
    [[ -x $SLUICE_BIN ]] || {
        echo "error: no sluice binary at $SLUICE_BIN (make build, or set SLUICE_BIN)"
        return 1
    }
    # shellcheck disable=SC2086 # SLUICE_FLAGS is a list of flags
    client "$SLUICE_BIN" copy "$@" $SLUICE_FLAGS
}

run_sluice_pg() { sluice_copy "$(pg_url src)" "$(pg_url dst)" --table "$1"; }
run_sluice_csv() { sluice_copy "$EVENTS_CSV" "$(pg_url dst)" --table events; }
run_sluice_jsonl() { sluice_copy "$EVENTS_JSONL" "$(pg_url dst)" --table events; }
# Scaling curve (bench/run --scaling): the same copy with WORKERS workers, SLUICE_FLAGS' own
# -w left out.
run_sluice_workers() {
    local workers=$1 source=$2
    local flags=()
    # shellcheck disable=SC2086 # SLUICE_FLAGS is a list of flags
    set -- $SLUICE_FLAGS
    while [[ $# -gt 0 ]]; do
        case $1 in
            -w | --workers) shift ;;
            *) flags+=("$1") ;;
        esac
        shift
    done
    case $source in
        pg) source=$(pg_url src) ;;
        csv) source=$EVENTS_CSV ;;
    esac
    client "$SLUICE_BIN" copy "$source" "$(pg_url dst)" --table events "${flags[@]}" -w "$workers"
}
run_sluice_sqlite() { sluice_copy "sqlite://$EVENTS_DB" "$(pg_url dst)" --table events; }

# --- psql pipes -----------------------------------------------------------------------------

# One pipe: COPY (SELECT) TO STDOUT in one psql, COPY FROM STDIN in another.
psql_pipe() {
    local from=$1 table=$2 format=$3
    client psql -X -q -d src -c "COPY $from TO STDOUT (FORMAT $format)" |
        client psql -X -q -v ON_ERROR_STOP=1 -d dst -c "COPY $table FROM STDIN (FORMAT $format)"
}

# run_pipes TABLE KEY FORMAT WAYS: WAYS concurrent pipes over equal ranges of the integer KEY
# (one plain `COPY table` when WAYS is 1).
run_pipes() {
    local table=$1 key=$2 format=$3 ways=$4
    if [[ $ways -eq 1 ]]; then
        psql_pipe "$table" "$table" "$format"
        return
    fi
    local lo hi
    read -r lo hi < <(q src "SELECT min($key), max($key) FROM $table" | tr '|' ' ')
    local step=$(((hi - lo + ways) / ways)) i pids=()
    for ((i = 0; i < ways; i++)); do
        local a=$((lo + i * step)) b=$((lo + (i + 1) * step))
        psql_pipe "(SELECT * FROM $table WHERE $key >= $a AND $key < $b)" "$table" "$format" &
        pids+=($!)
    done
    local pid rc=0
    for pid in "${pids[@]}"; do
        wait "$pid" || rc=1
    done
    return $rc
}

# --- psql \copy FROM a file -----------------------------------------------------------------

run_psql_csv() { client psql -X -q -v ON_ERROR_STOP=1 -d dst -c "\\copy events FROM '$EVENTS_CSV' CSV HEADER"; }

# --- pgcopydb -------------------------------------------------------------------------------

# `pgcopydb copy table-data` of events alone, --table-jobs 2, the table split into PARTS
# same-table COPY jobs (PGCOPYDB_SPLIT_TABLES_LARGER_THAN: this subcommand has no flag for it in
# 0.10). Data only, into the bare target table like every other tool; the VACUUM ANALYZE it runs
# on each table it loaded is part of its time. (`clone` would also dump and restore the schema
# and build the primary key, which the other runs do not.)
run_pgcopydb() {
    local parts=$1 size
    size=$(q src "SELECT pg_table_size('events')")
    printf '[include-only-table]\npublic.events\n' >filters.ini
    PGCOPYDB_SPLIT_TABLES_LARGER_THAN=$(((size + parts - 1) / parts)) \
        client pgcopydb copy table-data --source "$(pg_url src)" --target "$(pg_url dst)" \
        --dir "$PWD/pgcopydb" --filters filters.ini --table-jobs 2
}

# --- pgloader -------------------------------------------------------------------------------

pgloader_url() { printf 'pgsql://%s:%s@127.0.0.1:%s/%s' "$PGUSER" "$PGPASSWORD" "$PGPORT" "$1"; }

# pgloader with a load file, a 4 GiB heap (at the default heap its PostgreSQL source dies with
# "Heap exhausted"), and its other settings at their defaults.
pgloader_load() {
    client pgloader --dynamic-space-size 4096 --no-ssl-cert-verification --on-error-stop \
        --root-dir "$PWD/pgloader" load.pgl
}

run_pgloader_pg() {
    cat >load.pgl <<EOF
LOAD DATABASE
     FROM $(pgloader_url src)
     INTO $(pgloader_url dst)
WITH data only
INCLUDING ONLY TABLE NAMES MATCHING 'events' IN SCHEMA 'public';
EOF
    pgloader_load
}

run_pgloader_sqlite() {
    cat >load.pgl <<EOF
LOAD DATABASE
     FROM sqlite://$EVENTS_DB
     INTO $(pgloader_url dst)
WITH data only
INCLUDING ONLY TABLE NAMES LIKE 'events';
EOF
    pgloader_load
}

# pgloader's own defaults for a database: it creates the table (its type mapping) and builds
# the primary key after the data.
run_pgloader_sqlite_new() {
    cat >load.pgl <<EOF
LOAD DATABASE
     FROM sqlite://$EVENTS_DB
     INTO $(pgloader_url dst)
WITH include drop, create tables, create indexes, reset sequences
INCLUDING ONLY TABLE NAMES LIKE 'events';
EOF
    pgloader_load
}

run_pgloader_csv() {
    cat >load.pgl <<EOF
LOAD CSV
     FROM '$EVENTS_CSV' ($EVENTS_COLUMNS)
     INTO $(pgloader_url dst)
     TARGET TABLE public.events ($EVENTS_COLUMNS)
WITH skip header = 1,
     fields optionally enclosed by '"',
     fields escaped by double-quote,
     fields terminated by ',';
EOF
    pgloader_load
}

# --- the seed-style Python loader -----------------------------------------------------------

run_python_loader() {
    client /usr/bin/python3 "$BENCH_DIR/python_loader.py" --source "$(pg_url src)" \
        --target "$(pg_url dst)" --table events --threads 4 --chunk-rows 50000
}

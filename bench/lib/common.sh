# Shared helpers for bench/run: logging, the PostgreSQL server, and SQL shortcuts.
# Sourced, never executed. Expects BENCH_DIR, REPO_DIR and WORK to be set.

log() { printf '%s bench: %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Server settings for the benchmark, appended after tests/support/pg-server's test defaults so
# they win: durability back to PostgreSQL's defaults (the issue's reference numbers use default
# fsync), a larger buffer pool, and no autovacuum, whose work on a freshly loaded table would
# otherwise land in whichever run comes next. max_wal_size keeps checkpoints out of the runs; the
# harness checkpoints explicitly between runs instead.
readonly BENCH_PG_CONF="\
fsync = on
synchronous_commit = on
full_page_writes = on
wal_level = replica
max_wal_senders = 10
shared_buffers = 512MB
max_wal_size = 8GB
checkpoint_timeout = 1h
autovacuum = off
timezone = 'UTC'"

# Starts (initdb on first use) the bench server in $WORK/pg and exports its PG* variables.
# A changed BENCH_PG_CONF throws the old cluster away: settings only apply at initdb.
start_server() {
    local pg_server="$REPO_DIR/tests/support/pg-server"
    [[ -x $pg_server ]] || die "$pg_server is missing; it starts the benchmark's PostgreSQL"
    local stamp="$WORK/pg.conf"
    if [[ -d $WORK/pg/data ]] && ! cmp -s "$stamp" <(printf '%s\n' "$BENCH_PG_CONF"); then
        log "server settings changed: re-creating the cluster and data in $WORK"
        "$pg_server" stop "$WORK/pg" || true
        rm -rf "$WORK/pg" "$WORK/data"
    fi
    mkdir -p "$WORK"
    printf '%s\n' "$BENCH_PG_CONF" >"$stamp"
    PG_SERVER_EXTRA_CONF=$BENCH_PG_CONF "$pg_server" start "$WORK/pg" >/dev/null
    set -a
    # shellcheck disable=SC1091
    source "$WORK/pg/env"
    set +a
    export PGTZ=UTC PGOPTIONS="-c client_min_messages=warning"
    PG_DATA="$WORK/pg/data"
    log "PostgreSQL $(q postgres 'SHOW server_version') on 127.0.0.1:$PGPORT (data in $PG_DATA)"
}

stop_server() { "$REPO_DIR/tests/support/pg-server" stop "$WORK/pg" || true; }

# libpq URL of database DB on the bench server, for tools that take URLs.
pg_url() { printf 'postgresql://%s:%s@127.0.0.1:%s/%s' "$PGUSER" "$PGPASSWORD" "$PGPORT" "$1"; }

# psql on database DB with the harness's defaults; extra arguments follow.
psql_db() {
    local db=$1
    shift
    psql -X -q -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# One SQL statement's result as bare text.
q() { psql_db "$1" -At -c "$2"; }

# Makes database DB exist.
ensure_database() {
    [[ $(q postgres "SELECT count(*) FROM pg_database WHERE datname = '$1'") == 1 ]] ||
        q postgres "CREATE DATABASE $1" >/dev/null
}

# CPU seconds the server has used so far, in clock ticks: the postmaster's own time, the time
# of its exited (reaped) children, and the time of the children alive now. The difference of two
# readings is the server's CPU between them, however many backends came and went.
server_cpu_ticks() {
    local pm
    pm=$(head -n 1 "$PG_DATA/postmaster.pid")
    local total=0 stat child
    stat=$(<"/proc/$pm/stat")
    read -r -a f <<<"${stat##*) }"
    # Fields after "pid (comm) ": [11]=utime [12]=stime [13]=cutime [14]=cstime.
    total=$((f[11] + f[12] + f[13] + f[14]))
    for child in $(pgrep -P "$pm"); do
        stat=$(cat "/proc/$child/stat" 2>/dev/null) || continue
        read -r -a f <<<"${stat##*) }"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}

# One line describing the machine, for RESULTS.md.
machine_line() {
    local cpu mem
    cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name:[[:space:]]*//p' | head -n 1)
    mem=$(free -g | awk '/^Mem:/ {print $2}')
    printf '%s cores (%s), %s GiB RAM, %s' "$(nproc)" "${cpu:-unknown CPU}" "$mem" "$(uname -r)"
}

git_line() {
    local commit dirty=""
    commit=$(git -C "$REPO_DIR" rev-parse --short HEAD 2>/dev/null || echo unknown)
    git -C "$REPO_DIR" diff --quiet HEAD 2>/dev/null || dirty=" (uncommitted changes)"
    printf '%s%s' "$commit" "$dirty"
}

# PostgreSQL for e2e scripts: `source pg_lib.sh` after lib.sh. Starts a private server in
# $WORK/pg (stopped on exit) and offers psql helpers. Each script gets its own server.
chmod 755 "$WORK"   # the server runs as `postgres` and must reach its directory
PG_SERVER="$ROOT/tests/support/pg-server"
"$PG_SERVER" start "$WORK/pg" >/dev/null
trap '"$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
set -a
# shellcheck disable=SC1091
source "$WORK/pg/env"
set +a
PG_BASE="postgresql://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT"

psql_db() {  # DB SQL...
  local db=$1; shift
  psql -X -q -At -v ON_ERROR_STOP=1 -d "$db" "$@"
}

# Order-independent fingerprint of a table: row count and md5 of the rows in key order.
table_digest() {  # DB TABLE KEY
  psql_db "$1" -c "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY $3)), '-') FROM $2 t"
}

pg_restart() {  # fast restart on the same port
  "$PG_SERVER" stop "$WORK/pg" >/dev/null
  PG_PORT=$PGPORT "$PG_SERVER" start "$WORK/pg" >/dev/null
}

# start_fault_proxy: the fault-injecting proxy (tests/support/fault-proxy) in front of this
# server, stopped on exit with it; sets PROXY (a base URL like PG_BASE) and proxy_pid. Arm it
# by writing $WORK/proxy.ctl; it logs to $WORK/proxy.log.
start_fault_proxy() {
  /usr/bin/python3 "$ROOT/tests/support/fault-proxy" --upstream "127.0.0.1:$PGPORT" --port-file "$WORK/proxy.port" \
    --control "$WORK/proxy.ctl" --log "$WORK/proxy.log" >/dev/null 2>"$WORK/proxy.err" &
  proxy_pid=$!
  trap 'kill $proxy_pid 2>/dev/null || true; "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 100); do [ -s "$WORK/proxy.port" ] && break; sleep 0.05; done
  PROXY="postgresql://$PGUSER:$PGPASSWORD@127.0.0.1:$(cat "$WORK/proxy.port")"
}

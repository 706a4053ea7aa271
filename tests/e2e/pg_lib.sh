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

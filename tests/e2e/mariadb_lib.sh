# MariaDB for e2e scripts: `source mariadb_lib.sh` after lib.sh (and pg_lib.sh when the script
# also needs PostgreSQL). Starts a private mariadbd in $WORK/mariadb (stopped on exit) and
# offers client helpers. Each script gets its own server.
chmod 755 "$WORK"   # as root the server runs as `mysql` and must reach its directory
MARIADB_SERVER="$ROOT/tests/support/mariadb-server"
"$MARIADB_SERVER" start "$WORK/mariadb" >/dev/null
# shellcheck disable=SC2154
trap '"$MARIADB_SERVER" stop "$WORK/mariadb" >/dev/null 2>&1 || true; [ -n "${PG_SERVER:-}" ] && { "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; }; rm -rf "$WORK"' EXIT
set -a
# shellcheck disable=SC1091
source "$WORK/mariadb/env"
set +a
MARIADB_BASE="mysql://$MARIADB_USER:$MARIADB_PASSWORD@127.0.0.1:$MARIADB_PORT"

maria() {  # DB SQL... (statements on stdin when no SQL is given)
  local db=$1; shift
  if [ $# -gt 0 ]; then
    mariadb --defaults-file="$MARIADB_DEFAULTS" -N -B "$db" -e "$*"
  else
    mariadb --defaults-file="$MARIADB_DEFAULTS" -N -B "$db"
  fi
}

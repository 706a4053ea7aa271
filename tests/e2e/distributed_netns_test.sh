#!/usr/bin/env bash
# Distributed workers on separate "hosts": two network namespaces joined to the machine by a
# bridge, each running `sluice worker` against the PostgreSQL server through it. One host's
# network is cut while it holds a partition mid-load: the other host takes the partition
# over when the lease runs out and finishes the run; when the network comes back, the cut
# worker's transaction cannot commit (fenced). The target equals the source exactly, and the
# rows earlier runs left in it are untouched. Needs root (ip netns); skipped without.
source "$(dirname "$0")/lib.sh"
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null || ! ip netns add "sluice-probe-$$" 2>/dev/null; then
  echo "skipped: needs root and iproute2 (ip netns)"; exit 0
fi
ip netns del "sluice-probe-$$"
export PG_SERVER_EXTRA_CONF="listen_addresses = '*'"
source "$(dirname "$0")/pg_lib.sh"
# Addresses unique to this run, so parallel tests do not collide.
net=$(( $$ % 200 + 20 ))
bridge="slb$$"
hosts="sl1h$$ sl2h$$"
cleanup_net() {
  for h in $hosts; do ip netns pids "$h" 2>/dev/null | xargs -r kill -9; ip netns del "$h" 2>/dev/null || true; done
  ip link del "$bridge" 2>/dev/null || true
}
trap 'cleanup_net; "$PG_SERVER" stop "$WORK/pg" >/dev/null 2>&1 || true; rm -rf "$WORK"' EXIT
ip link add "$bridge" type bridge
ip addr add "10.$net.0.1/24" dev "$bridge"
ip link set "$bridge" up
i=2
for h in $hosts; do
  ip netns add "$h"
  ip link add "v$h" type veth peer name eth0 netns "$h"
  ip link set "v$h" master "$bridge" up
  ip -n "$h" addr add "10.$net.0.$i/24" dev eth0
  ip -n "$h" link set eth0 up
  ip -n "$h" link set lo up
  i=$((i + 1))
done
echo "host all all 10.$net.0.0/24 scram-sha-256" >> "$WORK/pg/data/pg_hba.conf"
psql_db postgres -c "SELECT pg_reload_conf()" >/dev/null
HOST_BASE="postgresql://$PGUSER:$PGPASSWORD@10.$net.0.1:$PGPORT"
h1=${hosts%% *}; h2=${hosts##* }
ip netns exec "$h1" psql -X -At -d "$HOST_BASE/postgres" -c "SELECT 1" >/dev/null \
  && pass "host $h1 reaches PostgreSQL at 10.$net.0.1 over its own network" || fail "namespace cannot reach the server"

psql_db postgres -c "CREATE DATABASE src" -c "CREATE DATABASE dst" -c "CREATE DATABASE led"
psql_db src <<'SQL'
CREATE TABLE events (id bigint PRIMARY KEY, note text, amount numeric(12,2));
INSERT INTO events SELECT g, repeat(md5(g::text), 8), g * 0.5 FROM generate_series(1, 240000) g;
ANALYZE events;
SQL
psql_db dst -c "CREATE TABLE events (id bigint PRIMARY KEY, note text, amount numeric(12,2))" \
  -c "INSERT INTO events SELECT -g, 'earlier', 0 FROM generate_series(1, 300) g"
earlier=$(table_digest dst "(SELECT * FROM events WHERE id < 0)" id)
expected=$(table_digest src events id)
mkdir -p "$WORK/job"
cat > "$WORK/job/job.yaml" <<YAML
version: 1
name: hosts
connections: {src: "$HOST_BASE/src", dst: "$HOST_BASE/dst"}
source: {connection: src, table: public.events, partition: {strategy: key_range, column: id, chunk_rows: 60000}}
target: {connection: dst, table: public.events}
settings: {workers: 1, lease_seconds: 5}
YAML
LEDGER="$HOST_BASE/led"
expect_exit 0 "$SLUICE" run "$WORK/job/job.yaml" --distributed --no-work --state "$LEDGER"
run=$(psql_db led -c "SELECT run_id FROM sluice.runs")
ip netns exec "$h1" "$SLUICE" worker --state "$LEDGER" --slots 1 --wait 5 --progress none >"$WORK/h1.out" 2>"$WORK/h1.err" &
w1=$!
held=""
for _try in 1 2 3 4 5; do
  for _ in $(seq 1 1000); do
    [ -n "$(psql_db led -c "SELECT 1 FROM sluice.partitions WHERE status = 'running' AND worker LIKE '%:$w1'")" ] && break
    sleep 0.01
  done
  sleep 0.1
  ip -n "$h1" link set eth0 down   # the host drops off the network mid-partition
  # What it held when it went: the ledger cannot hear from it any more.
  held=$(psql_db led -c "SELECT partition_id FROM sluice.partitions WHERE status = 'running' AND worker LIKE '%:$w1' LIMIT 1")
  [ -n "$held" ] && break
  ip -n "$h1" link set eth0 up  # cut between two partitions: again, mid-partition this time
done
[ -n "$held" ] && pass "host $h1 cut off while holding partition $held" || fail "host $h1 held no partition when cut"
ip netns exec "$h2" "$SLUICE" worker --state "$LEDGER" --slots 2 --wait 5 --progress none >"$WORK/h2.out" 2>"$WORK/h2.err" &
w2=$!
wait "$w2" || fail "worker on $h2 exited $?: $(tail -3 "$WORK/h2.err")"
[ "$(psql_db led -c "SELECT status FROM sluice.runs")" = succeeded ] && pass "host $h2 finished the run alone" \
  || fail "run is $(psql_db led -c "SELECT status FROM sluice.runs")"
ip -n "$h1" link set eth0 up     # back: its open transaction may now try to commit
for _ in $(seq 1 600); do kill -0 "$w1" 2>/dev/null || break; sleep 0.1; done
kill -9 "$w1" 2>/dev/null || true
[ "$(table_digest dst "(SELECT * FROM events WHERE id > 0)" id)" = "$expected" ] && pass "target exact after the cut host came back" \
  || fail "target $(table_digest dst "(SELECT * FROM events WHERE id > 0)" id) != $expected"
[ "$(table_digest dst "(SELECT * FROM events WHERE id < 0)" id)" = "$earlier" ] && pass "earlier rows untouched" || fail "earlier rows changed"
taken=$(psql_db led -c "SELECT attempts FROM sluice.partitions WHERE partition_id = ${held:-0} AND status = 'committed' AND worker NOT LIKE '%:$w1'")
[ "${taken:-0}" -ge 2 ] && pass "partition $held was taken over by host $h2 (attempt $taken)" || fail "partition $held: attempts '${taken}'"
finish

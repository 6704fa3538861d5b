#!/usr/bin/env bash
# Starts (start) or stops (stop) the local nats-server (JetStream) and
# PostgreSQL 15 cluster kept under .troupe/. Sourced by scripts/run.sh; each
# is skipped when TROUPE_NATS_URL / TROUPE_DATABASE_URL name external ones.
# Ports: TROUPE_LOCAL_NATS_PORT (4222), TROUPE_LOCAL_PG_PORT (5433).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
state="$root/.troupe"
pgbin=/usr/lib/postgresql/15/bin
nats_port=${TROUPE_LOCAL_NATS_PORT:-4222}
pg_port=${TROUPE_LOCAL_PG_PORT:-5433}
as_pg=()
pg_owner=$(id -un)
if [ "$(id -u)" -eq 0 ]; then as_pg=(runuser -u postgres --); pg_owner=postgres; fi

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  for _ in $(seq 1 100); do port_open "$1" && return 0; sleep 0.1; done
  return 1
}

start_nats() {
  mkdir -p "$state/nats"
  if port_open "$nats_port"; then
    echo "troupe: port $nats_port is taken; set TROUPE_NATS_URL to use that server, or TROUPE_LOCAL_NATS_PORT" >&2
    return 1
  fi
  # Its own session: Ctrl-C reaches the node first, which drains into a
  # live server; cleanup stops the server after the node.
  # The server writes its own pid: setsid may fork, so $! is not always it.
  rm -f "$state/nats/pid"
  setsid nats-server -a 127.0.0.1 -p "$nats_port" -js -sd "$state/nats/js" -P "$state/nats/pid" \
    >"$state/nats/server.log" 2>&1 &
  wait_port "$nats_port" || { echo "troupe: nats-server did not start, see $state/nats/server.log" >&2; return 1; }
  export TROUPE_NATS_URL="nats://127.0.0.1:$nats_port"
}

start_pg() {
  local data="$state/pg/data"
  if [ ! -s "$data/PG_VERSION" ]; then
    install -d -m 755 "$state/pg"
    install -d -m 700 -o "$pg_owner" "$data"
    "${as_pg[@]}" "$pgbin/initdb" -D "$data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 >"$state/pg/initdb.log" 2>&1 \
      || { echo "troupe: initdb failed, see $state/pg/initdb.log" >&2; return 1; }
  fi
  install -d -o "$pg_owner" "$state/pg/sock"
  touch "$state/pg/server.log" && chown "$pg_owner" "$state/pg/server.log"
  setsid "${as_pg[@]}" "$pgbin/pg_ctl" -D "$data" -l "$state/pg/server.log" -w -t 30 start \
    -o "-p $pg_port -k $state/pg/sock -c listen_addresses=127.0.0.1" >/dev/null \
    || { echo "troupe: PostgreSQL did not start, see $state/pg/server.log" >&2; return 1; }
  "${as_pg[@]}" "$pgbin/psql" -h 127.0.0.1 -p "$pg_port" -U postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'troupe'" | grep -q 1 \
    || "${as_pg[@]}" "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U postgres troupe
  export TROUPE_DATABASE_URL="postgresql://postgres@127.0.0.1:$pg_port/troupe"
}

stop_local_services() {
  if [ -f "$state/nats/pid" ]; then
    local pid
    pid=$(cat "$state/nats/pid")
    kill "$pid" 2>/dev/null || true
    # Wait for it to let go of its port, so the next start finds it free.
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$state/nats/pid"
  fi
  if [ -s "$state/pg/data/postmaster.pid" ]; then
    "${as_pg[@]}" "$pgbin/pg_ctl" -D "$state/pg/data" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

start_local_services() {
  [ -n "${TROUPE_NATS_URL:-}" ] || start_nats
  [ -n "${TROUPE_DATABASE_URL:-}" ] || start_pg
}

#!/usr/bin/env bash
# The Quick start's main job: installs what is missing, builds, starts a local
# nats-server (JetStream) and PostgreSQL under .troupe/ unless TROUPE_NATS_URL /
# TROUPE_DATABASE_URL are set, and runs one node with every role in the
# foreground, prints the gateway URL and a ready API key, and on a terminal
# opens `troupe chat` against it (TROUPE_CHAT=0: just serve). Ctrl-C drains
# the node and stops everything this script started. A config file can be
# given with TROUPE_CONFIG=path.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target troupe
# shellcheck source=scripts/local_services.sh
source "$root/scripts/local_services.sh"

node_pid=""
cleanup() {
  trap - EXIT INT TERM
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  stop_local_services
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_local_services
echo "troupe: NATS at $TROUPE_NATS_URL"
echo "troupe: PostgreSQL at $TROUPE_DATABASE_URL"
args=(node)
[ -n "${TROUPE_CONFIG:-}" ] && args+=(--config "$TROUPE_CONFIG")
chat=0
[ -t 0 ] && [ -t 1 ] && [ "${TROUPE_CHAT:-1}" != 0 ] && chat=1
if [ "$chat" = 1 ]; then
  # The chat owns the terminal; the node's log would run through it.
  log="$root/.troupe/node.log"
  echo "troupe: node log in $log"
  "$root/build/cli/troupe" "${args[@]}" >>"$log" 2>&1 &
else
  "$root/build/cli/troupe" "${args[@]}" &
fi
node_pid=$!
admin="http://${TROUPE_ADMIN_HOST:-127.0.0.1}:${TROUPE_ADMIN_PORT:-9464}"
for _ in $(seq 1 100); do
  curl -fsS "$admin/ready" >/dev/null 2>&1 && break
  kill -0 "$node_pid" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$node_pid" 2>/dev/null; then
  echo "troupe: node ready — probes at $admin/livez $admin/ready $admin/health $admin/metrics"
  gateway="http://${TROUPE_GATEWAY_HOST:-127.0.0.1}:${TROUPE_GATEWAY_PORT:-8080}"
  # One key per database, kept so every run prints the same one.
  keyfile="$root/.troupe/api_key.$(printf %s "$TROUPE_DATABASE_URL" | sha256sum | cut -c1-12)"
  if [ ! -s "$keyfile" ]; then
    (umask 077 && "$root/build/cli/troupe" apikey create --tenant default --user default \
        --name quickstart | sed -n 's/^api key: *//p' >"$keyfile")
  fi
  key=$(cat "$keyfile" 2>/dev/null || true)
  echo "troupe: gateway at $gateway"
  echo "troupe: API key (tenant 'default', user 'default'): $key"
  echo "troupe: try  curl -s $gateway/v1/chat -H 'Authorization: Bearer $key' \\"
  echo "               -H 'Content-Type: application/json' -d '{\"message\":\"hello\"}'"
  echo "troupe: OpenAI clients: base_url=$gateway/v1 api_key=$key"
  echo "troupe: Ctrl-C stops the node, NATS and PostgreSQL"
  if [ "$chat" = 1 ]; then
    "$root/build/cli/troupe" chat --url "$gateway" --api-key "$key" || true
    echo "troupe: chat closed; the node keeps serving at $gateway until Ctrl-C"
  fi
elif [ "$chat" = 1 ]; then
  tail -n 30 "$log"
fi
wait "$node_pid"

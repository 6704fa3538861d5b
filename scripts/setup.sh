#!/usr/bin/env bash
# Installs the Debian packages Troupe builds and runs with, and the OpenAI
# Node SDK its compatibility test drives; does nothing when all is present.
# Idempotent; needs root (or sudo) only to install Debian packages.
set -euo pipefail
packages=(
  build-essential cmake pkg-config ccache git ca-certificates curl
  libcaf-dev libnats-dev nats-server libprotobuf-dev protobuf-compiler
  libpqxx-dev postgresql libssl-dev libspdlog-dev catch2
  libboost-dev libboost-system-dev nlohmann-json3-dev libtomlplusplus-dev
  libcli11-dev libcurl4-openssl-dev prometheus-cpp-dev libgoogle-perftools-dev
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# Node.js runs the official OpenAI SDK in the compatibility test; any Node.js
# 18 or newer will do, so one already on the machine (from elsewhere than
# Debian) is kept.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The official OpenAI Node SDK for tests/compat/, at the exact version
# package-lock.json pins; reinstalled only when the lock is newer than what
# npm ci last wrote, so a second run does nothing.
compat="$(cd "$(dirname "$0")/.." && pwd)/tests/compat"
if [ ! -f "$compat/node_modules/.package-lock.json" ] ||
   [ "$compat/package-lock.json" -nt "$compat/node_modules/.package-lock.json" ]; then
  echo "setup: installing the OpenAI Node SDK in $compat (npm ci)" >&2
  (cd "$compat" && npm ci --no-audit --no-fund --loglevel=error)
fi

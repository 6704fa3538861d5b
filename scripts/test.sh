#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
# Integration tests start their own nats-server and PostgreSQL on free ports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
# The official OpenAI SDK for tests/nodes/openai_sdk_test.cpp, at the version
# package-lock.json pins; again only when the lock changed.
compat="$root/tests/compat"
if [ ! -f "$compat/node_modules/.package-lock.json" ] ||
   [ "$compat/package-lock.json" -nt "$compat/node_modules/.package-lock.json" ]; then
  (cd "$compat" && npm ci --no-audit --no-fund --loglevel=error)
fi
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" --timeout 300

#!/usr/bin/env bash
# The whole test suite: installs what is missing, builds, runs every test.
# Integration tests start their own nats-server and PostgreSQL on free ports.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "$root/build"
ctest --output-on-failure -j"$(nproc)" --timeout 300

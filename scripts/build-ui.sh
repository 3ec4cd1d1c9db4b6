#!/usr/bin/env bash
# Builds the dashboard (ui/) that the daemon embeds: installs its locked npm packages when they
# changed, type-checks it, and writes ui/dist. Run before building the daemon.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../ui"

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing the dashboard's npm packages (ui/package-lock.json)"
  npm ci --silent --no-audit --no-fund
fi
npm run --silent check
npm run --silent build -- --logLevel warn

#!/usr/bin/env bash
# Installs the real MCP servers the test suite runs, into .cache/test-tools (idempotent).
# Prints nothing else on success; every step says what failed and how to retry.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SWITCHBOARD_TEST_TOOLS:-$root/.cache/test-tools}"
mkdir -p "$tools"

if [ ! -x "$tools/venv/bin/mcp-server-time" ]; then
  echo "installing mcp-server-time (PyPI) into $tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check mcp-server-time
fi

if [ ! -x "$tools/npm/node_modules/.bin/mcp-server-everything" ]; then
  echo "installing @modelcontextprotocol/server-everything (npm) into $tools/npm"
  mkdir -p "$tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" @modelcontextprotocol/server-everything
fi

#!/usr/bin/env bash
# Runs the benchmarks and writes their figures into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/install-test-tools.sh

# The gateway's peers and the load generator, beside the test tools.
bench_tools="${SWITCHBOARD_BENCH_TOOLS:-$PWD/.cache/bench-tools}"
mkdir -p "$bench_tools"
if [ ! -x "$bench_tools/oha/bin/oha" ]; then
  echo "installing oha (crates.io) into $bench_tools/oha"
  cargo install --quiet --locked oha --root "$bench_tools/oha"
fi
if [ ! -x "$bench_tools/npm/node_modules/.bin/supergateway" ] || [ ! -x "$bench_tools/npm/node_modules/.bin/mcp-remote" ]; then
  echo "installing supergateway and mcp-remote (npm) into $bench_tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$bench_tools/npm" supergateway mcp-remote
fi
if [ ! -x "$bench_tools/mcp-proxy-rs/bin/mcp-proxy" ]; then
  echo "installing mcp-proxy 0.6 (crates.io, the leanest Rust gateway) into $bench_tools/mcp-proxy-rs"
  cargo install --quiet --locked mcp-proxy --version 0.6.0 --no-default-features --root "$bench_tools/mcp-proxy-rs"
fi
if [ ! -x "$bench_tools/venv/bin/mcp-proxy" ] || ! "$bench_tools/venv/bin/python" -c "import psutil, httpx" 2>/dev/null; then
  echo "installing mcp-proxy (PyPI) into $bench_tools/venv"
  python3 -m venv "$bench_tools/venv"
  "$bench_tools/venv/bin/pip" install --quiet --disable-pip-version-check mcp-proxy psutil httpx
fi
# Real MCP servers whose tool lists bench/tokens.py counts, pinned so its figures compare
# between runs; apart from the peers, so neither moves the other's dependencies.
token_servers_npm="@playwright/mcp@0.0.86 chrome-devtools-mcp@1.11.0 @upstash/context7-mcp@4.1.1
  @modelcontextprotocol/server-filesystem@2026.8.31 @modelcontextprotocol/server-sequential-thinking@2026.8.31
  @modelcontextprotocol/server-github@2025.4.8 @modelcontextprotocol/server-memory@2026.8.31
  @modelcontextprotocol/server-postgres@0.6.2 @azure/mcp@2.0.5 @modelcontextprotocol/server-everything@2026.8.31
  @notionhq/notion-mcp-server@2.5.2 @modelcontextprotocol/server-google-maps@0.6.2 tavily-mcp@0.2.22
  @modelcontextprotocol/server-slack@2025.4.25 firecrawl-mcp@3.22.2 @wonderwhy-er/desktop-commander@0.2.52"
token_servers_pypi="mcp-server-fetch==2026.10.24 mcp-server-git==2026.10.19 mcp-server-time==2026.10.19
  awslabs.aws-documentation-mcp-server==1.2.3"
# shellcheck disable=SC2086 # the lists are split into packages on purpose, here and below
token_servers_marker="$bench_tools/servers/.complete-$(echo $token_servers_npm $token_servers_pypi | cksum | cut -d' ' -f1)"
if [ ! -f "$token_servers_marker" ]; then
  echo "installing the servers bench/tokens.py measures (npm, PyPI) into $bench_tools/servers"
  rm -rf "$bench_tools/servers"
  mkdir -p "$bench_tools/servers/npm"
  # No install script is needed to list tools; one would download a browser (puppeteer, which
  # desktop-commander brings) and another report the install.
  # shellcheck disable=SC2086
  npm install --silent --no-audit --no-fund --ignore-scripts --prefix "$bench_tools/servers/npm" $token_servers_npm
  python3 -m venv "$bench_tools/servers/venv"
  # shellcheck disable=SC2086
  "$bench_tools/servers/venv/bin/pip" install --quiet --disable-pip-version-check $token_servers_pypi
  touch "$token_servers_marker"
fi

scripts/build-ui.sh
cargo build --release --locked -p switchboard -p switchboard-bench -p switchboard-app
python3 bench/daemon.py
# The app wants a D-Bus session (tray, notifications, single instance): a private one.
scripts/with-keychain.sh python3 bench/app.py
SWITCHBOARD_BENCH_TOOLS="$bench_tools" "$bench_tools/venv/bin/python" bench/gateway.py
# What real servers' tool lists cost a model's context: in full, curated, in search mode.
SWITCHBOARD_BENCH_TOOLS="$bench_tools" python3 bench/tokens.py
SWITCHBOARD_BENCH_TOOLS="$bench_tools" python3 bench/scale.py
# Crash-loop isolation into docs/reliability.md; the soak is run on its own (see that file).
SWITCHBOARD_BENCH_TOOLS="$bench_tools" "$bench_tools/venv/bin/python" bench/reliability.py isolation
# The dashboard's first run, timed through its browser test (debug build, as the tests use).
scripts/with-keychain.sh python3 bench/first_run.py

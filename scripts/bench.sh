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
if [ ! -x "$bench_tools/venv/bin/mcp-proxy" ] || ! "$bench_tools/venv/bin/python" -c "import psutil, httpx" 2>/dev/null; then
  echo "installing mcp-proxy (PyPI) into $bench_tools/venv"
  python3 -m venv "$bench_tools/venv"
  "$bench_tools/venv/bin/pip" install --quiet --disable-pip-version-check mcp-proxy psutil httpx
fi

scripts/build-ui.sh
cargo build --release --locked -p switchboard -p switchboard-bench -p switchboard-app
python3 bench/daemon.py
# The app wants a D-Bus session (tray, notifications, single instance): a private one.
scripts/with-keychain.sh python3 bench/app.py
SWITCHBOARD_BENCH_TOOLS="$bench_tools" "$bench_tools/venv/bin/python" bench/gateway.py
# Crash-loop isolation into docs/reliability.md; the soak is run on its own (see that file).
SWITCHBOARD_BENCH_TOOLS="$bench_tools" "$bench_tools/venv/bin/python" bench/reliability.py isolation
# The dashboard's first run, timed through its browser test (debug build, as the tests use).
scripts/with-keychain.sh python3 bench/first_run.py

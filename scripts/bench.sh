#!/usr/bin/env bash
# Runs the benchmarks and writes their figures into docs/benchmarks.md.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/install-test-tools.sh
cargo build --release --locked -p switchboard
python3 bench/daemon.py

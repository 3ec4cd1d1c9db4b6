#!/usr/bin/env bash
# Runs every check CI runs: formatting, lints, unit tests and end-to-end tests with real MCP
# servers. Installs what it needs first.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh --test
scripts/install-test-tools.sh
scripts/build-ui.sh

cargo fmt --all --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Under a real keychain of its own: the secrets tests use it, and no test touches the user's.
scripts/with-keychain.sh cargo nextest run --workspace --locked --no-fail-fast
# The .deb and .rpm from the debug build the tests just used; then the .deb installed with apt
# (with sudo unless root), run, and purged: it changes the machine, so it runs only here.
scripts/package.sh --debug
scripts/with-keychain.sh cargo nextest run --locked -p switchboard --test package --run-ignored only
# Windows and macOS code type-checks (Debian's rustc-web with -Zbuild-std).
scripts/cross-check.sh
# Every fuzz target, briefly (docs/reliability.md gives the long run).
FUZZ_SEED=1 scripts/fuzz.sh 20

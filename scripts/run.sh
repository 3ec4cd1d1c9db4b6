#!/usr/bin/env bash
# Builds Switchboard and runs its daemon in the foreground. Installs what it needs first.
# Pass arguments to choose another command, e.g. `scripts/run.sh ls`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/build-ui.sh
cargo build --release --locked -p switchboard
if [ $# -eq 0 ]; then set -- daemon; fi
exec target/release/switchboard "$@"

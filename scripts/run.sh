#!/usr/bin/env bash
# Builds Switchboard and runs it. Installs what it needs first. On a desktop (a display is
# set) it runs the app: tray icon and dashboard window, with the daemon it starts. Without
# one it runs the daemon in the foreground (open the dashboard with `switchboard open`).
# Pass arguments to run another command instead, e.g. `scripts/run.sh ls`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

scripts/install-deps.sh
scripts/build-ui.sh
if [ $# -eq 0 ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
  cargo build --release --locked -p switchboard -p switchboard-app
  exec target/release/switchboard-app
fi
cargo build --release --locked -p switchboard
if [ $# -eq 0 ]; then set -- daemon; fi
exec target/release/switchboard "$@"

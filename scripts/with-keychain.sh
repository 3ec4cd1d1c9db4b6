#!/usr/bin/env bash
# Runs a command with a real, unlocked keychain: GNOME Keyring's Secret Service on a private
# D-Bus session bus, its files in temporary directories. The tests use it; so can anyone who
# wants to try Switchboard's keychain handling without touching their own.
#   scripts/with-keychain.sh COMMAND [ARGS...]
set -euo pipefail
if [ -z "${SWITCHBOARD_KEYCHAIN_SESSION:-}" ]; then
  command -v dbus-run-session >/dev/null && command -v gnome-keyring-daemon >/dev/null || {
    echo "with-keychain: needs dbus-run-session and gnome-keyring-daemon (apt-get install dbus gnome-keyring)" >&2
    exit 1
  }
  exec env SWITCHBOARD_KEYCHAIN_SESSION=1 dbus-run-session -- "$0" "$@"
fi
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
mkdir -p "$scratch/data" "$scratch/run"
chmod 700 "$scratch/run"
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"
# --unlock reads the login keyring's password from stdin, creating the keyring if needed.
eval "$(printf 'switchboard-tests' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
unset SWITCHBOARD_KEYCHAIN_SESSION
"$@"

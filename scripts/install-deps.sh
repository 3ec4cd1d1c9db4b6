#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian/Ubuntu beyond a Rust toolchain:
# a C compiler (bundled SQLite), Python with venv and Node with npm (the real MCP servers the
# tests run), and with --test D-Bus, GNOME Keyring, Chromium, iproute2 and cargo-nextest. Skips what is already
# there; safe to run again.
set -euo pipefail

sudo_if_needed() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v cc >/dev/null || missing+=(build-essential)
command -v pkg-config >/dev/null || missing+=(pkg-config)
command -v python3 >/dev/null || missing+=(python3)
python3 -c 'import venv, ensurepip' 2>/dev/null || missing+=(python3-venv)
command -v npm >/dev/null || missing+=(nodejs npm)
if [ "${1:-}" = "--test" ]; then
  # The tests' keychain: GNOME Keyring's Secret Service on a private D-Bus session.
  command -v dbus-run-session >/dev/null || missing+=(dbus)
  command -v gnome-keyring-daemon >/dev/null || missing+=(gnome-keyring)
  # The browser the OAuth sign-in test drives.
  command -v chromium >/dev/null || missing+=(chromium)
  # Network namespaces, veth pairs and socket listings for the two-host tailnet test.
  { command -v ip && command -v ss; } >/dev/null || missing+=(iproute2)
fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ "${1:-}" = "--test" ] && ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest from crates.io"
  cargo install --locked cargo-nextest
fi

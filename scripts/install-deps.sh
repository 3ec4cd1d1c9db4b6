#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian/Ubuntu beyond a Rust toolchain:
# a C compiler (bundled SQLite), Python with venv and Node with npm (the real MCP servers the
# tests run), the desktop app's libraries (WebKitGTK, AppIndicator), and with --test D-Bus, GNOME
# Keyring, Chromium, iproute2, Xvfb, WebKitWebDriver, trayer with xwd and xwininfo, rpm,
# cargo-nextest and tauri-driver. Skips what is already there; safe to run again.
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
  # The desktop app's window under a virtual display, driven through WebKitWebDriver.
  command -v Xvfb >/dev/null || missing+=(xvfb xauth)
  command -v WebKitWebDriver >/dev/null || missing+=(webkit2gtk-driver)
  # An XEmbed tray host and the X tools that photograph the tray icon in it.
  command -v trayer >/dev/null || missing+=(trayer)
  command -v xwd >/dev/null || missing+=(x11-apps)
  command -v xwininfo >/dev/null || missing+=(x11-utils)
  # Reads the .rpm the package test checks.
  command -v rpm >/dev/null || missing+=(rpm)
fi
# The desktop app (Tauri): WebKitGTK, the tray's AppIndicator, and what its crates link.
pkg-config --exists webkit2gtk-4.1 2>/dev/null || missing+=(libwebkit2gtk-4.1-dev)
pkg-config --exists ayatana-appindicator3-0.1 2>/dev/null || missing+=(libayatana-appindicator3-dev)
pkg-config --exists librsvg-2.0 2>/dev/null || missing+=(librsvg2-dev)
pkg-config --exists openssl 2>/dev/null || missing+=(libssl-dev)
[ -f /usr/include/xdo.h ] || missing+=(libxdo-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

if [ "${1:-}" = "--test" ] && ! cargo nextest --version >/dev/null 2>&1; then
  echo "installing cargo-nextest from crates.io"
  cargo install --locked cargo-nextest
fi
if [ "${1:-}" = "--test" ] && ! command -v tauri-driver >/dev/null; then
  echo "installing tauri-driver from crates.io"
  cargo install --locked tauri-driver@2.0.6
fi

#!/usr/bin/env bash
# Builds Switchboard's Linux packages, a .deb and an .rpm, with `cargo tauri build`: the desktop
# app, the `switchboard` binary beside it as its sidecar (also the CLI on PATH, /usr/bin) with
# `switchboard-watchdog`, the
# icons and a desktop entry. Installs tauri-cli from crates.io first (with cargo install, as
# scripts/install-deps.sh installs cargo-nextest and tauri-driver).
#
#   scripts/package.sh           release build: target/release/bundle/{deb,rpm}/
#   scripts/package.sh --debug   debug build, reusing the test build: target/debug/bundle/...
#
# Prints the packages' paths, one per line, last.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

tauri_cli_version="2.12.4"
profile=release
cargo_profile=(--release)
tauri_profile=()
if [ "${1:-}" = "--debug" ]; then
  profile=debug
  cargo_profile=()
  tauri_profile=(--debug)
elif [ -n "${1:-}" ]; then
  echo "usage: scripts/package.sh [--debug]" >&2
  exit 2
fi

if ! cargo tauri --version 2>/dev/null | grep -qx "tauri-cli $tauri_cli_version"; then
  echo "installing tauri-cli $tauri_cli_version from crates.io (once; several minutes)"
  # Built for speed of building: the bundler's own speed hardly matters here.
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    cargo install --quiet --locked --no-default-features --force "tauri-cli@$tauri_cli_version"
fi

# The daemon embeds the dashboard; the sidecars are the same `switchboard` (and its watchdog)
# the tests ran.
scripts/build-ui.sh
echo "building switchboard ($profile)"
cargo build --quiet --locked "${cargo_profile[@]}" -p switchboard
host="$(rustc -vV | sed -n 's/^host: //p')"
mkdir -p src-tauri/binaries
for program in switchboard switchboard-watchdog; do
  cp "target/$profile/$program" "src-tauri/binaries/$program-$host"
done

echo "bundling the app with tauri-cli ($profile)"
bundle="target/$profile/bundle"
rm -rf "$bundle/deb" "$bundle/rpm"
(cd src-tauri && cargo tauri build "${tauri_profile[@]}" --ci --bundles deb,rpm \
  --config tauri.bundle.json -- --locked --quiet)
ls "$root/$bundle"/deb/*.deb "$root/$bundle"/rpm/*.rpm

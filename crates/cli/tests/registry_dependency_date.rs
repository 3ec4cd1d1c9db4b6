//! Dependencies resolved as of a version's publish time, end to end.
//!
//! mcp-server-time 2026.6.4 (a real PyPI release) requires `mcp` without an upper bound, and
//! today's mcp 2.x removed `McpError`, which it imports: installed like `uvx` would, it crashes
//! at start. The registry says it was published on 2026-06-04, so Switchboard resolves its
//! dependencies as of then (uv --exclude-newer) and it runs. uv reads a local PEP 691 / PEP
//! 700 index (tests/registry/serve.py --index) holding the real wheels with PyPI's upload
//! times, which scripts/install-test-tools.sh recorded; nothing here leaves loopback. npm gets
//! the same date as `--before`, shown with an npm that records its argv.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::registry::{FakeRegistry, offline_sandbox, time_document};
use common::{Sandbox, tools_dir, wait_until};
use serde_json::{Value, json};

/// When the registry published the version; install-test-tools.sh built the index for it.
const PUBLISHED_AT: &str = "2026-06-04T01:30:00Z";
const NAME: &str = "io.github.modelcontextprotocol/server-time";
const START: Duration = Duration::from_secs(60);

fn sandbox(registry: &FakeRegistry, uv_cache: &Path) -> Sandbox {
    let tools = tools_dir();
    let path = format!(
        "{}:{}",
        tools.join("uv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let index = format!("{}/simple", registry.url());
    let mut sb = Sandbox::with_env(&[
        ("SWITCHBOARD_REGISTRY", &registry.url()),
        ("PATH", &path),
        ("UV_DEFAULT_INDEX", &index),
        ("UV_CACHE_DIR", &uv_cache.display().to_string()),
    ]);
    sb.start_daemon();
    sb
}

fn site_packages(sb: &Sandbox, server: &str) -> Vec<String> {
    let lib = sb.home().join("packages").join(server).join("2026.6.4/venv/lib");
    let python = std::fs::read_dir(&lib).unwrap().next().unwrap().unwrap().path();
    let mut names: Vec<String> = std::fs::read_dir(python.join("site-packages"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn gateway_tools(sb: &Sandbox, server: &str, token: &str) -> Value {
    let out = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/sdk_client.py"))
        .args(["list", &format!("http://127.0.0.1:{}/mcp/{server}", sb.port())])
        .env("SWITCHBOARD_TOKEN", token)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the SDK client failed");
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

#[test]
fn an_old_server_runs_with_its_dependencies_as_of_its_publish_date_and_crashes_without() {
    let index = tools_dir().join("pypi-index");
    assert!(
        index.join("index.json").exists(),
        "run scripts/install-test-tools.sh to build {}",
        index.display()
    );
    let registry = FakeRegistry::start(&["--index", &index.display().to_string()]);
    registry.publish_at(time_document("2026.6.4"), PUBLISHED_AT);
    let uv_cache = tempfile::tempdir().unwrap();
    let sb = sandbox(&registry, uv_cache.path());

    // The plan says so before anything is fetched, and `info` too.
    let dry = sb.json(&["install", "--dry-run", NAME]);
    let summary = "dependencies as of 2026-06-04, when this version was published";
    assert!(dry["fetched"].as_str().unwrap().ends_with(summary), "{dry}");
    assert!(sb.ok(&["info", NAME]).contains(summary));

    // Dated: mcp 1.27.2 (uploaded 2026-05-29), and the server answers through the gateway.
    let dated = sb.json(&["install", NAME]);
    assert_eq!(dated["server"]["status"]["state"], "running", "{dated}");
    assert!(dated["fetched"].as_str().unwrap().ends_with(summary), "{dated}");
    let installed = site_packages(&sb, "server-time");
    assert!(
        installed.contains(&"mcp-1.27.2.dist-info".to_owned()),
        "{installed:?}"
    );
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let seen = gateway_tools(&sb, "server-time", &token);
    assert!(
        seen["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "get_current_time"),
        "{seen}"
    );

    // With today's dependencies (what uvx does): mcp 2.x, and the server cannot start.
    let latest = sb.cli(&["install", NAME, "--as", "server-time-latest", "--latest-deps"]);
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&latest.stdout),
        String::from_utf8_lossy(&latest.stderr)
    );
    let installed = site_packages(&sb, "server-time-latest");
    assert!(installed.iter().any(|n| n.starts_with("mcp-2.")), "{installed:?}");
    assert!(!said.contains(summary), "{said}");
    let origin = &sb.server("server-time-latest")["origin"];
    assert_eq!(origin["latest_deps"], true, "kept for updates: {origin}");
    assert!(sb.server("server-time")["origin"].get("latest_deps").is_none());
    let view = wait_until("server-time-latest to stay down", START, || {
        let view = sb.server("server-time-latest");
        let state = view["status"]["state"].as_str().unwrap_or_default().to_owned();
        (!matches!(state.as_str(), "starting" | "running")).then_some(view)
    });
    assert!(
        said.contains("McpError") || view.to_string().contains("McpError"),
        "the crash names the import that mcp 2.x removed:\n{said}\n{view}"
    );
}

/// An `npm` that answers `--version` and otherwise appends its arguments, one a line and a
/// blank line after, to `<dir>/npm.argv`, and fails.
fn recording_npm(dir: &Path) {
    let path = dir.join("npm");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = --version ]; then echo 10.9.0; exit 0; fi\n\
             printf '%s\\n' \"$@\" '' >> {record}\n\
             echo 'npm error code ETARGET' >&2\n\
             exit 1\n",
            record = dir.join("npm.argv").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Every argv the recording npm was run with, in order (and forgets them).
fn npm_runs(dir: &Path) -> Vec<Vec<String>> {
    let path = dir.join("npm.argv");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let _ = std::fs::remove_file(&path);
    text.split_terminator("\n\n")
        .map(|run| run.lines().map(str::to_owned).collect())
        .collect()
}

#[test]
fn npm_resolves_as_of_the_publish_date_before_the_double_dash_and_retries_with_todays() {
    let shims = tempfile::tempdir().unwrap();
    recording_npm(shims.path());
    let registry = FakeRegistry::start(&[]);
    let path = format!(
        "{}:{}",
        shims.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sb = offline_sandbox(&registry, &[("PATH", &path)]);
    sb.start_daemon();
    registry.publish_at(
        json!({"name": "io.github.example/dated", "description": "Dated.", "version": "1.0.0",
               "packages": [{"registryType": "npm", "identifier": "dated-server", "version": "1.0.0",
                             "transport": {"type": "stdio"}}]}),
        "2025-06-01T12:00:00Z",
    );

    // Dated first; when that fails, once more with today's (the shim fails both).
    let out = sb.cli(&["install", "io.github.example/dated"]);
    assert!(!out.status.success());
    let runs = npm_runs(shims.path());
    assert_eq!(runs.len(), 2, "{runs:?}");
    let dashes = runs[0].iter().position(|a| a == "--").unwrap();
    let before = runs[0].iter().position(|a| a == "--before=2025-06-01T12:00:00Z");
    assert!(before.is_some_and(|at| at < dashes), "{runs:?}");
    assert_eq!(runs[0][dashes..], ["--", "dated-server@1.0.0"], "{runs:?}");
    assert!(!runs[1].iter().any(|a| a.starts_with("--before")), "{runs:?}");

    // --latest-deps: one run, undated.
    sb.cli(&["install", "io.github.example/dated", "--latest-deps"]);
    let runs = npm_runs(shims.path());
    assert_eq!(runs.len(), 1, "{runs:?}");
    assert!(!runs[0].iter().any(|a| a.starts_with("--before")), "{runs:?}");
}

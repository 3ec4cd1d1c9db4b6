//! Dependencies resolved as of a version's publish time, end to end.
//!
//! mcp-server-time 2026.6.4 (a real PyPI release) requires `mcp` without an upper bound, and
//! today's mcp 2.x removed `McpError`, which it imports: installed like `uvx` would, it crashes
//! at start. The registry says it was published on 2026-06-04, so Switchboard resolves its
//! dependencies as of then (uv --exclude-newer) and it runs. uv reads a local PEP 691 / PEP
//! 700 index (tests/registry/serve.py --index) holding the real wheels with PyPI's upload
//! times, which scripts/install-test-tools.sh recorded; nothing here leaves loopback.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::registry::{FakeRegistry, time_document};
use common::{Sandbox, tools_dir, wait_until};
use serde_json::Value;

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

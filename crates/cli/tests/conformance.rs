//! The official MCP conformance suite (npm @modelcontextprotocol/conformance, on Node 22), run
//! against the gateway's `/mcp/<server>` endpoint. Behind the gateway is a stdio server built on
//! the official TypeScript SDK with everything the suite's server scenarios ask for
//! (tests/servers/conformance_server.mjs), so every check measures what the gateway carries.
//! The suite cannot send a client token, so it reaches the gateway through a loopback proxy
//! that adds one and changes nothing else (tests/clients/token_proxy.mjs).
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Sandbox, node_script, tools_dir, wait_until};
use serde_json::{Value, json};

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn conformance() -> Command {
    let dir = tools_dir().join("conformance/node_modules");
    let mut command = Command::new(dir.join(".bin/node"));
    command.arg(dir.join("@modelcontextprotocol/conformance/dist/index.js"));
    command
}

/// The server scenarios this version of the suite has, from `conformance list`.
fn server_scenarios() -> Vec<String> {
    let out = conformance().arg("list").output().unwrap();
    assert!(out.status.success(), "conformance list failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .skip_while(|l| !l.starts_with("Server scenarios"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .collect()
}

/// Every check the run wrote, by scenario (result directories are `server-<scenario>-<time>`).
fn checks_by_scenario(out: &Path, scenarios: &[String]) -> BTreeMap<String, Vec<Value>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let dir: PathBuf = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = scenarios
            .iter()
            .filter(|s| name.starts_with(&format!("server-{s}-")))
            .max_by_key(|s| s.len())
            .unwrap_or_else(|| panic!("a result directory for no known scenario: {name}"));
        let checks: Vec<Value> =
            serde_json::from_slice(&std::fs::read(dir.join("checks.json")).unwrap()).unwrap();
        found.insert(scenario.clone(), checks);
    }
    found
}

/// A check passed when the suite says SUCCESS or INFO; FAILURE, WARNING, SKIPPED, a status
/// this test does not know or none at all did not.
fn passed(check: &Value) -> bool {
    matches!(check["status"].as_str(), Some("SUCCESS" | "INFO"))
}

#[test]
fn only_success_and_info_pass() {
    for (status, passes) in [
        (json!("SUCCESS"), true),
        (json!("INFO"), true),
        (json!("FAILURE"), false),
        (json!("WARNING"), false),
        (json!("SKIPPED"), false),
        (json!("success"), false),
        (json!("SOMETHING_NEW"), false),
        (Value::Null, false),
    ] {
        assert_eq!(passed(&json!({"id": "x", "status": status})), passes, "{status}");
    }
}

#[test]
fn the_gateway_passes_every_server_scenario_of_the_mcp_conformance_suite() {
    let sb = Sandbox::with_daemon();
    let server = node_script("servers/conformance_server.mjs");
    sb.ok(&[
        "add",
        "conformance",
        "--",
        "node",
        &server.0.display().to_string(),
    ]);
    sb.wait_state("conformance", "running", Duration::from_secs(60));
    let token = sb.ok(&["token", "create", "conformance-suite"]).trim().to_owned();

    let proxy_script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients/token_proxy.mjs");
    let mut proxy = Killed(
        Command::new("node")
            .arg(proxy_script)
            .arg(sb.port().to_string())
            .env("SWITCHBOARD_TOKEN", &token)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut port = String::new();
    BufReader::new(proxy.0.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let url = format!("http://127.0.0.1:{}/mcp/conformance", port.trim());

    let scenarios = server_scenarios();
    assert!(
        scenarios.len() >= 30,
        "too few server scenarios listed: {scenarios:?}"
    );
    let out = tempfile::tempdir().unwrap();
    let mut run = Killed(
        conformance()
            .args(["server", "--suite", "all", "--url", &url, "--output-dir"])
            .arg(out.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let status = wait_until(
        "the conformance suite to finish",
        Duration::from_secs(300),
        || run.0.try_wait().unwrap(),
    );

    let checks = checks_by_scenario(out.path(), &scenarios);
    let missing: Vec<_> = scenarios.iter().filter(|s| !checks.contains_key(*s)).collect();
    assert!(missing.is_empty(), "scenarios that did not run: {missing:?}");
    let not_passed: Vec<String> = checks
        .iter()
        .flat_map(|(scenario, checks)| checks.iter().map(move |c| (scenario, c)))
        .filter(|(_, c)| !passed(c))
        .map(|(scenario, c)| format!("{scenario}: {} {} {}", c["status"], c["id"], c["errorMessage"]))
        .collect();
    assert!(
        not_passed.is_empty(),
        "checks that did not pass:\n{}",
        not_passed.join("\n")
    );
    assert!(status.success(), "the suite exited with {status}");

    // The checks that show the gateway's own SSE behaviour for 2025-11-25 clients.
    let polling = &checks["server-sse-polling"];
    for id in ["server-sse-priming-event", "server-sse-retry-field"] {
        let check = polling.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(check["status"], "SUCCESS", "{check}");
    }
}

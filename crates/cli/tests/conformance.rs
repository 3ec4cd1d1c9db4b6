//! The official MCP conformance suite (npm @modelcontextprotocol/conformance, the 0.2.0 line,
//! on Node 22), run against the gateway's `/mcp/<server>` endpoint. Behind the gateway is a
//! stdio server of both protocol eras built on the official TypeScript SDK, with everything the
//! suite's server scenarios ask for (tests/servers/conformance_server.mjs), so every check
//! measures what the gateway carries. The suite cannot send a client token, so it reaches the
//! gateway through a loopback proxy that adds one and changes nothing else
//! (tests/clients/token_proxy.mjs).
//!
//! Both selections (`--suite all`, and `--requirements 2026-07-28`) run against the same server
//! directly over HTTP and through the gateway, which speaks 2026-07-28 to it (the server
//! answers `server/discover`). A check that passes directly and not through the gateway fails
//! the test. The session revisions' scenarios (`--suite all` runs them at 2025-11-25, so
//! through the gateway they cross the eras) must also pass outright.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use common::{Sandbox, TempScript, node_script, tools_dir, wait_until};
use serde_json::{Value, json};

const REVISION: &str = "2026-07-28";

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

/// The server scenarios of this version of the suite, each with the revisions it tests
/// (`extension` for extensions), from `conformance list --server`.
fn server_scenarios() -> BTreeMap<String, String> {
    let out = conformance().args(["list", "--server"]).output().unwrap();
    assert!(out.status.success(), "conformance list failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- "))
        .map(|l| {
            let (name, revisions) = l.split_once(' ').unwrap_or((l, ""));
            (name.to_owned(), revisions.trim_matches(['[', ']']).to_owned())
        })
        .collect()
}

/// Whether `--suite all` runs a scenario at a session revision (it runs the others, only at
/// 2026-07-28 or extensions, at 2026-07-28; the second rule covers those).
fn is_session_era(revisions: &str) -> bool {
    revisions.contains("2025-")
}

/// Every check a run wrote, by scenario (result directories are `server-<scenario>-<time>`).
fn checks_by_scenario(out: &Path, scenarios: &BTreeMap<String, String>) -> BTreeMap<String, Vec<Value>> {
    let mut found = BTreeMap::new();
    for entry in std::fs::read_dir(out).unwrap() {
        let dir: PathBuf = entry.unwrap().path();
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let scenario = scenarios
            .keys()
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

/// Each check of a run as `scenario check-id`, and whether every instance of it passed.
fn outcomes(checks: &BTreeMap<String, Vec<Value>>) -> BTreeMap<String, bool> {
    let mut outcomes = BTreeMap::new();
    for (scenario, checks) in checks {
        for check in checks {
            let key = format!("{scenario} {}", check["id"].as_str().unwrap_or("?"));
            let ok = outcomes.entry(key).or_insert(true);
            *ok &= passed(check);
        }
    }
    outcomes
}

/// The checks that pass directly and not through the gateway. A check that does not run
/// through the gateway fails too, unless the gateway passed every check of its scenario: the
/// suite skips a scenario that does not apply to the server (session lifecycle, for a server
/// served without sessions), and through the gateway it applies and runs.
fn gateway_only(direct: &BTreeMap<String, bool>, gateway: &BTreeMap<String, bool>) -> BTreeSet<String> {
    let scenario_of = |key: &str| {
        key.split_once(' ')
            .map_or(key, |(scenario, _)| scenario)
            .to_owned()
    };
    let mut scenario_passed: BTreeMap<String, bool> = BTreeMap::new();
    for (key, ok) in gateway {
        *scenario_passed.entry(scenario_of(key)).or_insert(true) &= *ok;
    }
    direct
        .iter()
        .filter(|(key, ok)| {
            **ok && match gateway.get(*key) {
                Some(through) => !through,
                None => scenario_passed.get(&scenario_of(key)) != Some(&true),
            }
        })
        .map(|(key, _)| key.clone())
        .collect()
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
fn a_check_is_the_gateways_failure_only_when_it_passes_directly() {
    let run = |pairs: &[(&str, bool)]| -> BTreeMap<String, bool> {
        pairs.iter().map(|(k, ok)| (k.to_string(), *ok)).collect()
    };
    let direct = run(&[
        ("a x", true),
        ("a y", true),
        ("b z", false),
        ("c w", true),
        ("d skipped", true),
        ("e skipped", true),
    ]);
    let gateway = run(&[
        ("a x", true),
        ("a y", false),
        ("b z", false),
        ("d real", true),
        ("e real", false),
    ]);
    assert_eq!(
        gateway_only(&direct, &gateway),
        BTreeSet::from(["a y".to_owned(), "c w".to_owned(), "e skipped".to_owned()])
    );
}

/// The suite, run against `url` with `selection` (`--suite all`, `--requirements …`), into a
/// directory of its own.
fn run_suite(url: &str, selection: &[&str]) -> (tempfile::TempDir, ExitStatus) {
    let out = tempfile::tempdir().unwrap();
    let mut run = Killed(
        conformance()
            .arg("server")
            .args(selection)
            .args(["--url", url, "--output-dir"])
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
    (out, status)
}

/// A node program that prints one line when ready, kept until the test ends.
fn node_until_ready(script: &Path, args: &[&str], env: &[(&str, &str)]) -> (Killed, String) {
    let mut child = Killed(
        Command::new("node")
            .arg(script)
            .args(args)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    (child, line.trim().to_owned())
}

/// The gateway's `/mcp/conformance`, with the conformance server behind it, as the suite
/// reaches it (through the token proxy).
struct Gatewayed {
    _sb: Sandbox,
    _server: TempScript,
    _proxy: Killed,
    url: String,
}

fn gatewayed() -> Gatewayed {
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
    let (proxy, port) = node_until_ready(
        &proxy_script,
        &[&sb.port().to_string()],
        &[("SWITCHBOARD_TOKEN", &token)],
    );
    let url = format!("http://127.0.0.1:{port}/mcp/conformance");
    Gatewayed {
        _sb: sb,
        _server: server,
        _proxy: proxy,
        url,
    }
}

/// The conformance server, served directly over HTTP (no gateway), and its URL.
fn direct() -> ((Killed, String), TempScript) {
    let server = node_script("servers/conformance_server.mjs");
    (node_until_ready(&server.0, &["--http", "0"], &[]), server)
}

/// The checks of a run of `selection` that pass against the server directly and not through
/// the gateway; and the gateway run's checks.
fn gateway_only_failures(selection: &[&str]) -> (BTreeSet<String>, BTreeMap<String, Vec<Value>>) {
    let scenarios = server_scenarios();
    let ((_direct_server, direct_url), _script) = direct();
    let (direct_out, _) = run_suite(&direct_url, selection);
    let direct = outcomes(&checks_by_scenario(direct_out.path(), &scenarios));
    let passing_directly = direct.values().filter(|ok| **ok).count();
    assert!(
        passing_directly >= 100,
        "the server passes only {passing_directly} checks directly: {direct:?}"
    );
    let gateway = gatewayed();
    let (gateway_out, _) = run_suite(&gateway.url, selection);
    let checks = checks_by_scenario(gateway_out.path(), &scenarios);
    (gateway_only(&direct, &outcomes(&checks)), checks)
}

#[test]
fn through_the_gateway_the_whole_suite_passes_as_it_does_directly() {
    let scenarios = server_scenarios();
    let session_era: Vec<&String> = scenarios
        .iter()
        .filter(|(_, revisions)| is_session_era(revisions))
        .map(|(name, _)| name)
        .collect();
    assert!(
        session_era.len() >= 30,
        "too few session-era server scenarios listed: {scenarios:?}"
    );
    let (failures, checks) = gateway_only_failures(&["--suite", "all"]);
    assert!(
        failures.is_empty(),
        "checks that pass only without the gateway: {failures:#?}"
    );

    // The session revisions' scenarios pass outright, whatever the server does.
    let missing: Vec<_> = session_era.iter().filter(|s| !checks.contains_key(**s)).collect();
    assert!(missing.is_empty(), "scenarios that did not run: {missing:?}");
    let not_passed: Vec<String> = session_era
        .iter()
        .flat_map(|scenario| checks[*scenario].iter().map(move |c| (scenario, c)))
        .filter(|(_, c)| !passed(c))
        .map(|(scenario, c)| format!("{scenario}: {} {} {}", c["status"], c["id"], c["errorMessage"]))
        .collect();
    assert!(
        not_passed.is_empty(),
        "checks that did not pass:\n{}",
        not_passed.join("\n")
    );
    // The checks that show the gateway's own SSE behaviour for 2025-11-25 clients.
    let polling = &checks["server-sse-polling"];
    for id in ["server-sse-priming-event", "server-sse-retry-field"] {
        let check = polling.iter().find(|c| c["id"] == id).unwrap();
        assert_eq!(check["status"], "SUCCESS", "{check}");
    }
}

#[test]
fn through_the_gateway_the_2026_07_28_requirements_pass_as_they_do_directly() {
    let (failures, checks) = gateway_only_failures(&["--requirements", REVISION]);
    assert!(checks.len() >= 37, "too few scenarios ran: {:?}", checks.keys());
    assert!(
        failures.is_empty(),
        "checks that pass only without the gateway: {failures:#?}"
    );
}

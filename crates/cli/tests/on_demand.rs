//! End to end: servers that sleep until called. Five real servers (mcp-server-time from PyPI
//! twice, server-everything and server-memory twice from npm) added on demand: each runs once
//! to learn its lists, then sleeps with no process, and the gateway lists all their tools
//! without starting any. The official Python SDK client calls through `/mcp`: only the called
//! server starts, it answers, and it sleeps again once idle. A new version whose tools
//! changed is announced with `tools/list_changed` when it next wakes. Also: the limit on
//! starts at once, and the metrics a Prometheus scraper reads (parsed by its official client).
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{
    OfferedClient, Sandbox, alive, clients_dir, everything_server, time_launcher, time_server, tools_dir,
    wait_until,
};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
/// How long an idle server stays up: short, so the test sees it sleep.
const IDLE: &str = "2s";

fn memory_server() -> String {
    tools_dir()
        .join("npm/node_modules/.bin/mcp-server-memory")
        .display()
        .to_string()
}

fn add_on_demand(sb: &Sandbox, name: &str, env: &[String], command: &[&str]) {
    let mut args = vec!["add", name, "--start", "on-demand", "--idle-after", IDLE];
    for pair in env {
        args.extend(["--env", pair]);
    }
    args.push("--");
    args.extend(command);
    sb.ok(&args);
}

/// server-memory as `name`, on demand, its graph in a file of its own.
fn add_memory(sb: &Sandbox, name: &str) {
    let file = format!(
        "MEMORY_FILE_PATH={}",
        sb.home().join(format!("{name}.jsonl")).display()
    );
    add_on_demand(sb, name, &[file], &[&memory_server()]);
}

/// Runs of `name` so far, and the pid of the newest.
fn runs(sb: &Sandbox, name: &str) -> (usize, Option<u32>) {
    let runs = sb.runs(name);
    let pid = runs.first().and_then(|r| r["pid"].as_u64()).map(|p| p as u32);
    (runs.len(), pid)
}

fn state(sb: &Sandbox, name: &str) -> String {
    sb.server(name)["status"]["state"].as_str().unwrap().to_owned()
}

/// Waits until `name` sleeps again with no process of its last run alive.
fn wait_asleep(sb: &Sandbox, name: &str) {
    sb.wait_state(name, "sleeping", START);
    let (_, pid) = runs(sb, name);
    let pid = pid.unwrap();
    wait_until(&format!("{name}'s process {pid} to end"), START, || {
        (!alive(pid)).then_some(())
    });
}

#[test]
fn on_demand_servers_are_listed_asleep_and_only_the_called_one_wakes() {
    let sb = Sandbox::with_daemon();
    let (launcher, zone) = time_launcher(&sb, "Europe/Paris");
    add_on_demand(&sb, "time", &[], &[launcher.to_str().unwrap()]);
    add_on_demand(
        &sb,
        "tokyo",
        &[],
        &[&time_server(), "--local-timezone", "Asia/Tokyo"],
    );
    add_on_demand(&sb, "everything", &[], &[&everything_server()]);
    add_memory(&sb, "memory");
    add_memory(&sb, "notes");
    let names = ["time", "tokyo", "everything", "memory", "notes"];
    // The time server's updates are trusted, so its changed tools reach clients at once.
    sb.ok(&["quarantine", "trust", "time", "on"]);

    // Each ran once to learn its lists, and now sleeps with no process.
    for name in names {
        wait_asleep(&sb, name);
    }
    let before: Vec<usize> = names.iter().map(|n| runs(&sb, n).0).collect();
    assert_eq!(before, [1; 5], "each server ran once to learn its lists");
    let listed: u64 = names
        .iter()
        .map(|n| sb.server(n)["status"]["tools"].as_u64().unwrap())
        .sum();
    assert!(listed > 20, "the sleeping servers' tools: {listed}");
    let shown = sb.ok(&["ls"]);
    assert!(shown.contains("sleeping"), "{shown}");

    // A client on /mcp is offered every tool of all five; its call starts only `time`.
    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();
    let calls = json!({"time__get_current_time": {"timezone": "Europe/Paris"}}).to_string();
    let mut client = OfferedClient::start(&sb, "/mcp", &calls, &token, None);
    let seen = client.first();
    let offered = seen["tools"].as_array().unwrap();
    assert_eq!(offered.len() as u64, listed, "{seen}");
    for name in names {
        let prefix = format!("{name}__");
        assert!(
            offered.iter().any(|t| t.as_str().unwrap().starts_with(&prefix)),
            "no tool of {name} in {seen}"
        );
    }
    let answer = &seen["calls"]["time__get_current_time"];
    assert_eq!(answer["error"], false, "{seen}");
    assert!(
        answer["text"].as_str().unwrap().contains("Europe/Paris"),
        "{seen}"
    );
    assert_eq!(runs(&sb, "time").0, 2, "the call woke `time`");
    for (name, runs_before) in names.iter().zip(&before).skip(1) {
        assert_eq!(runs(&sb, name).0, *runs_before, "{name} was started");
        assert_eq!(state(&sb, name), "sleeping");
    }

    // Idle, it sleeps again.
    wait_asleep(&sb, "time");

    // An update changed its tools: the next wake finds them changed, and the listening
    // client is told and offered the new definitions.
    std::fs::write(&zone, "Asia/Tokyo").unwrap();
    let utc = json!({"get_current_time": {"timezone": "UTC"}}).to_string();
    let woke = OfferedClient::start(&sb, "/mcp/time", &utc, &token, None).first();
    assert_eq!(woke["calls"]["get_current_time"]["error"], false, "{woke}");
    let after = client.last();
    let description = after["schemas"]["time__get_current_time"]["properties"]["timezone"]["description"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(description.contains("Asia/Tokyo"), "{after}");
    assert_eq!(runs(&sb, "time").0, 3);
}

#[test]
fn calls_that_find_a_server_asleep_share_one_start() {
    let sb = Sandbox::with_daemon();
    add_memory(&sb, "memory");
    wait_asleep(&sb, "memory");
    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();

    let out = sb
        .program(tools_dir().join("venv/bin/python"))
        .arg(clients_dir().join("sdk_client.py"))
        .args([
            "calls",
            &format!("http://127.0.0.1:{}/mcp", sb.port()),
            "memory__read_graph",
            "8",
        ])
        .env("SWITCHBOARD_TOKEN", &token)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let seen: Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap();
    let texts = seen["texts"].as_array().unwrap();
    assert_eq!(texts.len(), 8, "{seen}");
    assert!(
        texts.iter().all(|t| t.as_str().unwrap().contains("entities")),
        "{seen}"
    );
    assert_eq!(runs(&sb, "memory").0, 2, "eight calls, one start");
}

#[test]
fn servers_start_one_at_a_time_when_the_daemon_allows_one_start() {
    let mut sb = Sandbox::new();
    sb.start_daemon_with(&["--max-starts", "1"]);
    sb.ok(&["add", "time", "--no-wait", "--", &time_server()]);
    sb.ok(&["add", "everything", "--no-wait", "--", &everything_server()]);
    let mut spans: Vec<(i64, i64)> = ["time", "everything"]
        .iter()
        .map(|name| {
            sb.wait_state(name, "running", START);
            let run = &sb.runs(name)[0];
            (
                run["started_at_ms"].as_i64().unwrap(),
                run["ready_at_ms"].as_i64().unwrap(),
            )
        })
        .collect();
    spans.sort();
    assert!(spans[0].1 <= spans[1].0, "the two starts overlapped: {spans:?}");
}

/// The daemon's metrics as the official Prometheus client parses them.
fn scrape(sb: &Sandbox) -> Value {
    let auth = format!("Bearer {}", sb.token());
    let (status, response) = sb.http("GET", "/api/v1/metrics", &[("Authorization", &auth)], "");
    assert_eq!(status, 200, "{response}");
    let text = response.split_once("\r\n\r\n").unwrap().1;
    let mut parser = Command::new(tools_dir().join("venv/bin/python"))
        .arg(clients_dir().join("metrics.py"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    parser.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let out = parser.wait_with_output().unwrap();
    assert!(out.status.success(), "the Prometheus parser refused:\n{text}");
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The value of the sample `name` of `family` whose labels include `labels`.
fn metric(families: &Value, family: &str, name: &str, labels: &[(&str, &str)]) -> f64 {
    let samples = families[family]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no {family}: {families}"));
    samples
        .iter()
        .find(|s| s[0] == name && labels.iter().all(|(k, v)| s[1][k] == *v))
        .unwrap_or_else(|| panic!("no {name} {labels:?} in {family}"))[2]
        .as_f64()
        .unwrap()
}

#[test]
fn metrics_count_states_wakes_and_calls_for_prometheus() {
    let sb = Sandbox::with_daemon();
    add_memory(&sb, "memory");
    wait_asleep(&sb, "memory");
    let (status, _) = sb.http("GET", "/api/v1/metrics", &[], "");
    assert_eq!(status, 401, "metrics need the control token");

    let asleep = scrape(&sb);
    let state = |families: &Value, state: &str| {
        metric(
            families,
            "switchboard_server_state",
            "switchboard_server_state",
            &[("server", "memory"), ("state", state)],
        )
    };
    assert_eq!(state(&asleep, "sleeping"), 1.0);
    assert_eq!(state(&asleep, "running"), 0.0);

    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();
    let calls = json!({"memory__read_graph": {}, "memory__nope": {}}).to_string();
    let seen = OfferedClient::start(&sb, "/mcp", &calls, &token, None).first();
    assert_eq!(seen["calls"]["memory__read_graph"]["error"], false, "{seen}");

    let after = scrape(&sb);
    let memory = [("server", "memory")];
    // Exactly one state is the server's (running, or asleep again already).
    let states = [
        "stopped",
        "starting",
        "running",
        "sleeping",
        "backing_off",
        "crash_looping",
        "failed",
    ];
    let hot: f64 = states.iter().map(|s| state(&after, s)).sum();
    assert_eq!(hot, 1.0);
    assert_eq!(state(&after, "running") + state(&after, "sleeping"), 1.0);
    assert_eq!(
        metric(
            &after,
            "switchboard_server_wakes",
            "switchboard_server_wakes_total",
            &memory
        ),
        1.0
    );
    assert_eq!(
        metric(
            &after,
            "switchboard_server_starts",
            "switchboard_server_starts_total",
            &memory
        ),
        2.0
    );
    let ok = [("server", "memory"), ("outcome", "ok")];
    assert_eq!(
        metric(
            &after,
            "switchboard_tool_calls",
            "switchboard_tool_calls_total",
            &ok
        ),
        1.0
    );
    let histogram = "switchboard_tool_call_duration_seconds";
    assert_eq!(
        metric(&after, histogram, &format!("{histogram}_count"), &memory),
        1.0
    );
    assert!(
        metric(
            &after,
            "switchboard_server_resident_memory_bytes",
            "switchboard_server_resident_memory_bytes",
            &memory
        ) > 0.0
    );
    assert!(
        metric(
            &after,
            "switchboard_daemon_resident_memory_bytes",
            "switchboard_daemon_resident_memory_bytes",
            &[]
        ) > 0.0
    );
}

#[test]
fn lists_of_sleeping_servers_follow_a_profile_change_at_once() {
    let sb = Sandbox::with_daemon();
    add_memory(&sb, "memory");
    add_on_demand(&sb, "time", &[], &[&time_server()]);
    wait_asleep(&sb, "memory");
    wait_asleep(&sb, "time");
    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();

    // Listed twice while asleep, then the client's profile narrows: it is told, and lists
    // only what the profile offers, though nothing else changed.
    let both = OfferedClient::start(&sb, "/mcp", "{}", &token, None).first();
    let mut client = OfferedClient::start(&sb, "/mcp", "{}", &token, None);
    assert_eq!(client.first()["tools"], both["tools"]);
    assert!(
        both["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "time__get_current_time"),
        "{both}"
    );
    sb.ok(&["profile", "add", "notes", "memory"]);
    sb.ok(&["profile", "use", "notes", "--client", "py"]);
    let narrowed = client.last();
    let tools = narrowed["tools"].as_array().unwrap();
    assert!(
        !tools.is_empty() && tools.iter().all(|t| t.as_str().unwrap().starts_with("memory__")),
        "{narrowed}"
    );
    assert_eq!(state(&sb, "time"), "sleeping");
    assert_eq!(state(&sb, "memory"), "sleeping");
}

/// A raw session on `/mcp`: its id, for calls made without a client's own timing.
fn open_session(sb: &Sandbox, auth: &str) -> String {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let headers = [
        ("Authorization", auth),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, response) = sb.http("POST", "/mcp", &headers, init);
    assert_eq!(status, 200, "{response}");
    response
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// Calls `tool` in `session` and returns the JSON-RPC response.
fn call_in(sb: &Sandbox, auth: &str, session: &str, tool: &str, arguments: &Value) -> Value {
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": tool, "arguments": arguments}});
    let headers = [
        ("Authorization", auth),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("Mcp-Session-Id", session),
    ];
    let (status, response) = sb.http("POST", "/mcp", &headers, &body.to_string());
    assert_eq!(status, 200, "{response}");
    let json = &response[response.find("{\"jsonrpc\"").unwrap()..];
    serde_json::from_str(json.lines().next().unwrap()).unwrap()
}

#[test]
fn calls_closer_together_than_the_idle_time_keep_a_server_awake() {
    let sb = Sandbox::with_daemon();
    add_on_demand(&sb, "time", &[], &[&time_server()]);
    wait_asleep(&sb, "time");
    let idle = Duration::from_secs(IDLE.trim_end_matches('s').parse().unwrap());
    let auth = format!("Bearer {}", sb.ok(&["token", "create", "raw"]).trim());
    let session = open_session(&sb, &auth);
    let utc = json!({"timezone": "UTC"});
    // Calls half an idle time apart for twice the idle time: the pace is the stimulus.
    let started = std::time::Instant::now();
    let mut last = started;
    let mut longest_gap = Duration::ZERO;
    while started.elapsed() < idle * 2 {
        let answer = call_in(&sb, &auth, &session, "time__get_current_time", &utc);
        assert!(
            answer["result"]["content"][0]["text"]
                .as_str()
                .unwrap()
                .contains("UTC"),
            "{answer}"
        );
        longest_gap = longest_gap.max(last.elapsed());
        last = std::time::Instant::now();
        std::thread::sleep(idle / 2);
    }
    assert!(
        longest_gap < idle,
        "calls came {longest_gap:?} apart: too slow a machine to show this"
    );
    assert_eq!(
        runs(&sb, "time").0,
        2,
        "it slept between calls less than its idle time apart"
    );
    // Left alone, it sleeps.
    wait_asleep(&sb, "time");
}

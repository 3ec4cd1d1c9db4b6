//! End to end: the laptop's sleep. The daemon and its real servers (mcp-server-time from
//! PyPI, server-everything and server-memory from npm) are frozen with SIGSTOP for longer
//! than several ping intervals, as a suspend freezes them, then continued, and a logind double
//! on a private D-Bus bus announces the wake as logind does (`PrepareForSleep`). No server is
//! restarted or blamed for the time it was frozen, and the next calls are answered.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::logind::Bus;
use common::{OfferedClient, Sandbox, everything_server, messages, signal, time_server, tools_dir};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
/// Health checks of the always-on servers: a ping every second, two misses end a server.
const PING_INTERVAL_MS: u64 = 1_000;
const PING_RETRIES: u64 = 2;
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;

fn add_checked_often(sb: &Sandbox, name: &str, command: &str) {
    let interval = format!("{PING_INTERVAL_MS}ms");
    let retries = PING_RETRIES.to_string();
    sb.ok(&[
        "add",
        name,
        "--ping-interval",
        &interval,
        "--ping-timeout",
        "500ms",
        "--ping-retries",
        &retries,
        "--",
        command,
    ]);
}

/// The pid (and process group) of `name`'s current run.
fn pid_of(sb: &Sandbox, name: &str) -> u32 {
    sb.server(name)["status"]["pid"].as_u64().unwrap() as u32
}

/// Waits for a `system_woke` event from each of `causes`, in any order; returns them by cause.
fn woke_by(events: &std::sync::mpsc::Receiver<Value>, causes: &[&str]) -> Vec<Value> {
    let deadline = Instant::now() + START;
    let mut seen: Vec<Option<Value>> = vec![None; causes.len()];
    while seen.iter().any(Option::is_none) {
        let left = deadline.saturating_duration_since(Instant::now());
        let event = events.recv_timeout(left).unwrap_or_else(|_| {
            panic!("no system_woke event from each of {causes:?} within {START:?}: {seen:?}")
        });
        if event["type"] != "system_woke" {
            continue;
        }
        if let Some(i) = causes.iter().position(|c| event["cause"] == *c) {
            seen[i] = Some(event);
        }
    }
    seen.into_iter().flatten().collect()
}

#[test]
fn a_frozen_daemon_and_servers_wake_with_nothing_restarted_or_blamed() {
    let bus = Bus::start();
    let mut sb = Sandbox::with_env(&[("DBUS_SYSTEM_BUS_ADDRESS", &bus.address)]);
    sb.start_daemon();
    let auth = format!("Bearer {}", sb.token());
    let events = messages(sb.http_send("GET", "/api/v1/events", &[("Authorization", &auth)], ""));
    add_checked_often(&sb, "time", &time_server());
    add_checked_often(&sb, "everything", &everything_server());
    let memory = tools_dir().join("npm/node_modules/.bin/mcp-server-memory");
    let file = format!("MEMORY_FILE_PATH={}", sb.home().join("m.jsonl").display());
    sb.ok(&[
        "add",
        "memory",
        "--start",
        "on-demand",
        "--idle-after",
        "2s",
        "--env",
        &file,
        "--",
        memory.to_str().unwrap(),
    ]);
    sb.wait_state("memory", "sleeping", START);
    let always = ["time", "everything"];
    for name in always {
        sb.wait_state(name, "running", START);
    }
    let runs_before: Vec<usize> = always.iter().map(|n| sb.runs(n).len()).collect();

    // The machine goes to sleep: logind says so, then everything stops, servers first.
    bus.prepare_for_sleep(true);
    let groups: Vec<u32> = always.iter().map(|n| pid_of(&sb, n)).collect();
    for group in &groups {
        signal_group(*group, "STOP");
    }
    signal(sb.daemon_pid(), SIGSTOP);
    // Asleep for several ping intervals, and longer than the daemon's clocks let pass
    // unremarked: this is the stimulus, not a wait for something to happen.
    std::thread::sleep(Duration::from_millis(PING_INTERVAL_MS * (PING_RETRIES + 6)));
    for group in &groups {
        signal_group(*group, "CONT");
    }
    signal(sb.daemon_pid(), SIGCONT);
    bus.prepare_for_sleep(false);

    // The wake is noticed both ways: logind's signal and the daemon's clocks.
    let woke = woke_by(&events, &["logind", "clock"]);
    let by_clock = &woke[1];
    assert!(
        by_clock["slept_ms"].as_u64().unwrap() >= PING_INTERVAL_MS * PING_RETRIES,
        "{by_clock}"
    );

    // Every server is as it was: running (or asleep, on demand), not restarted.
    let runs_after: Vec<usize> = always.iter().map(|n| sb.runs(n).len()).collect();
    assert_eq!(
        runs_after, runs_before,
        "a server was restarted for the time it was frozen"
    );
    for view in sb.servers() {
        let state = view["status"]["state"].as_str().unwrap();
        assert!(["running", "sleeping"].contains(&state), "{view}");
        assert_eq!(view["restarts"], 0, "{view}");
    }

    // The next calls are answered, the sleeping server's too.
    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();
    let calls = json!({
        "time__get_current_time": {"timezone": "UTC"},
        "memory__read_graph": {},
    });
    let seen = OfferedClient::start(&sb, "/mcp", &calls.to_string(), &token, None).first();
    for tool in ["time__get_current_time", "memory__read_graph"] {
        assert_eq!(seen["calls"][tool]["error"], false, "{seen}");
    }
    // Still nothing restarted after the next health checks have run.
    for name in always {
        let run = &sb.runs(name)[0];
        assert!(run["ended_at_ms"].is_null(), "{name}'s run ended: {run}");
    }
}

/// Sends `signal` (a name: STOP, CONT) to process group `group`.
fn signal_group(group: u32, signal: &str) {
    let status = Command::new("kill")
        .args([format!("-{signal}"), "--".into(), format!("-{group}")])
        .status()
        .unwrap();
    assert!(
        status.success(),
        "cannot send SIG{signal} to process group {group}"
    );
}

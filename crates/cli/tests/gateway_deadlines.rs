//! Requests the gateway makes on its own for the aggregate endpoint have deadlines: a server
//! that is alive but silent (SIGSTOP) does not hold up the answer. gateway.rs has the lists'
//! case (`a_hung_server_does_not_stall_the_aggregate_or_calls_to_other_servers`); this file
//! has the others, kept apart because that file is long already.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{Sandbox, echo_server, signal};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;
/// What a client may wait for an aggregate answer, a hung server or not.
const PROMPT: Duration = Duration::from_secs(5);

fn headers<'h>(auth: &'h str, session: Option<&'h str>) -> Vec<(&'h str, &'h str)> {
    let mut h = vec![
        ("Authorization", auth),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    if let Some(session) = session {
        h.push(("Mcp-Session-Id", session));
    }
    h
}

/// A session of the aggregate endpoint; its id.
fn open_aggregate(sb: &Sandbox, auth: &str) -> String {
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let (status, response) = sb.http("POST", "/mcp", &headers(auth, None), init);
    assert_eq!(status, 200, "{response}");
    response
        .lines()
        .find_map(|l| l.strip_prefix("mcp-session-id: "))
        .unwrap()
        .trim()
        .to_owned()
}

/// The JSON-RPC answer to request `id` in a raw response (a JSON body or SSE events).
fn answer_to(response: &str, id: &str) -> Option<Value> {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    std::iter::once(body)
        .chain(response.lines().filter_map(|l| l.strip_prefix("data: ")))
        .filter_map(|text| serde_json::from_str::<Value>(text.trim()).ok())
        .find(|message| message["id"] == id)
}

#[test]
fn a_hung_server_does_not_stall_set_level_through_the_aggregate() {
    let sb = Sandbox::with_daemon();
    let echo = echo_server().display().to_string();
    for name in ["quick", "stuck"] {
        sb.ok(&["add", name, "--", &echo]);
        sb.wait_state(name, "running", START);
    }
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let auth = format!("Bearer {token}");
    let session = open_aggregate(&sb, &auth);
    let stuck = sb.server("stuck")["status"]["pid"].as_u64().unwrap() as u32;

    signal(stuck, SIGSTOP);
    let set_level =
        r#"{"jsonrpc":"2.0","id":"level","method":"logging/setLevel","params":{"level":"debug"}}"#;
    let asked = Instant::now();
    let mut stream = sb.http_send("POST", "/mcp", &headers(&auth, Some(&session)), set_level);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut response = String::new();
        let _ = stream.read_to_string(&mut response);
        let _ = tx.send(response);
    });
    let response = rx
        .recv_timeout(PROMPT)
        .unwrap_or_else(|_| panic!("no answer to logging/setLevel within {PROMPT:?}"));
    let took = asked.elapsed();
    signal(stuck, SIGCONT);
    assert!(took < PROMPT, "took {took:?}");
    let answer = answer_to(&response, "level").unwrap_or_else(|| panic!("{response}"));
    assert!(answer.get("result").is_some(), "{answer}");
    // The silent server is named in the log, so the user can tell why it missed the level.
    let log = sb.daemon_log();
    assert!(
        log.lines()
            .any(|l| l.contains("logging/setLevel for the aggregate") && l.contains("stuck")),
        "{log}"
    );
}

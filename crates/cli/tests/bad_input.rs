//! Hostile and broken input to the control API and the gateway, over raw sockets: wrong
//! types, missing fields, invalid UTF-8, huge and deeply nested bodies, clients that stall
//! halfway through a request, and connections cut or half-closed. Each gets a clear answer (or
//! is let go), and afterwards the daemon is healthy: same process, a real tool call works, and
//! its open file descriptors come back down.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::{Sandbox, call_tool, open_fds, time_server, wait_until};
use serde_json::Value;

/// One request as raw bytes; the status and body of the answer.
fn raw(port: u16, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    // The server may answer (413) and close before reading a huge body.
    let _ = stream.write_all(body);
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn nested(depth: usize) -> Vec<u8> {
    let mut body = "[".repeat(depth).into_bytes();
    body.extend("]".repeat(depth).bytes());
    body
}

#[test]
fn bad_requests_get_clear_errors_and_leave_the_daemon_healthy() {
    let mut sb = Sandbox::new();
    sb.start_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", Duration::from_secs(60));
    let port = sb.port();
    let pid = sb.daemon_pid();
    let control = format!("Bearer {}", sb.token());
    let client_token = sb.ok(&["token", "create", "bad-input"]).trim().to_owned();
    let gateway = format!("Bearer {client_token}");
    let json = ("Content-Type", "application/json");
    let auth = ("Authorization", control.as_str());
    let mcp_auth = ("Authorization", gateway.as_str());
    let accept = ("Accept", "application/json, text/event-stream");
    let fds_before = open_fds(pid);

    // The control API: each answer is a 4xx with a stable code and a message naming the fault.
    let cases: [(&str, Vec<u8>, u16, &str); 6] = [
        (
            "a wrong type",
            br#"{"name": 5, "transport": {"type": "stdio", "command": "x"}}"#.to_vec(),
            400,
            "invalid type",
        ),
        (
            "a missing field",
            br#"{"transport": {"type": "stdio", "command": "x"}}"#.to_vec(),
            400,
            "missing field `name`",
        ),
        (
            "invalid UTF-8",
            b"{\"name\": \"\xff\xfe\"}".to_vec(),
            400,
            "invalid_body",
        ),
        ("deep nesting", nested(100_000), 400, "invalid_body"),
        ("not JSON at all", b"name=time".to_vec(), 400, "invalid_body"),
        ("a 2 MB body", vec![b' '; 2 * 1024 * 1024], 413, "invalid_body"),
    ];
    for (what, body, status, says) in cases {
        let (got, answer) = raw(port, "POST", "/api/v1/servers", &[auth, json], &body);
        assert_eq!(got, status, "{what}: {answer}");
        let error: Value =
            serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{what}: not JSON: {answer}"));
        let text = error["error"].to_string();
        assert!(text.contains(says), "{what}: {text}");
    }
    let (got, answer) = raw(port, "POST", "/api/v1/servers", &[auth], br#"{"name": "x"}"#);
    assert_eq!(got, 415, "no Content-Type: {answer}");

    // The gateway: JSON-RPC errors for what parses as HTTP, 413 for what is too big.
    let mcp = "/mcp/time";
    let mut deep = br#"{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": "#.to_vec();
    deep.extend(nested(100_000));
    deep.push(b'}');
    for (what, body, code) in [
        (
            "invalid UTF-8",
            b"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": \"\xff\"}".to_vec(),
            -32700,
        ),
        (
            "truncated JSON",
            br#"{"jsonrpc": "2.0", "id": 1, "meth"#.to_vec(),
            -32700,
        ),
        // A top-level array is a batch, refused before it is read: batches need a session.
        ("deep nesting as a batch", nested(100_000), -32600),
    ] {
        let (got, answer) = raw(port, "POST", mcp, &[mcp_auth, json, accept], &body);
        assert_eq!(got, 400, "{what}: {answer}");
        let error: Value = serde_json::from_str(&answer).unwrap_or_else(|_| panic!("{what}: {answer}"));
        assert_eq!(error["error"]["code"], code, "{what}: {answer}");
    }
    let (got, answer) = raw(
        port,
        "POST",
        mcp,
        &[mcp_auth, json, accept],
        br#"{"jsonrpc": "2.0", "id": {"an": "object"}, "method": 5}"#,
    );
    assert_eq!(got, 400, "wrong types: {answer}");
    let error: Value = serde_json::from_str(&answer).unwrap();
    assert_eq!(error["error"]["code"], -32600, "an invalid request: {answer}");
    let (got, _) = raw(
        port,
        "POST",
        mcp,
        &[mcp_auth, json, accept],
        &vec![b' '; 5 * 1024 * 1024],
    );
    assert_eq!(got, 413, "a 5 MB message");

    // Deep nesting inside params, sessionless (2026-07-28) so it is routed: whatever reads it
    // first refuses it with a JSON-RPC error, and nothing falls over.
    let stateless = ("MCP-Protocol-Version", "2026-07-28");
    let (got, answer) = raw(port, "POST", mcp, &[mcp_auth, json, accept, stateless], &deep);
    assert!(got == 200 || got == 400, "deep params: {got} {answer}");
    let reply = answer
        .lines()
        .find(|l| l.contains("\"error\""))
        .map_or(answer.as_str(), |l| l.trim_start_matches("data: "));
    let error: Value = serde_json::from_str(reply).unwrap_or_else(|_| panic!("deep params: {answer}"));
    assert!(error["error"]["message"].is_string(), "deep params: {answer}");
    sb.wait_state("time", "running", Duration::from_secs(60));

    // Clients that stall: 100 connections stop halfway through their headers, 20 more promise
    // a body and never send it. Everyone else is served meanwhile.
    let mut stalled = Vec::new();
    for i in 0..120 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        let partial = if i < 100 {
            format!("POST /api/v1/servers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nX-Slow")
        } else {
            format!(
                "POST {mcp} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {gateway}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"jsonrpc\""
            )
        };
        stream.write_all(partial.as_bytes()).unwrap();
        stalled.push(stream);
    }
    let started = Instant::now();
    assert!(
        sb.cli(&["status"]).status.success(),
        "the API answers beside stalled clients"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    let text = call_tool(&sb, "time", "get_current_time", &client_token);
    assert!(text.contains("timezone"), "{text}");

    // Half-closed and cut connections: a request whose sender closes its side is still
    // answered; one cut mid-body is dropped.
    let mut half = TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        half,
        "GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {control}\r\n\r\n"
    )
    .unwrap();
    half.shutdown(Shutdown::Write).unwrap();
    let mut answer = String::new();
    half.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let _ = half.read_to_string(&mut answer);
    assert!(
        answer.starts_with("HTTP/1.1 200"),
        "a half-closed request is answered: {answer}"
    );
    for _ in 0..20 {
        let mut cut = TcpStream::connect(("127.0.0.1", port)).unwrap();
        write!(
            cut,
            "POST /api/v1/servers HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: {control}\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{{\"name\":"
        )
        .unwrap();
        drop(cut);
    }
    drop(stalled);

    // Healthy afterwards: same daemon, servers untouched, descriptors back near where they were.
    assert_eq!(sb.daemon_pid(), pid);
    assert!(common::alive(pid));
    assert_eq!(sb.server("time")["status"]["state"], "running");
    let text = call_tool(&sb, "time", "get_current_time", &client_token);
    assert!(text.contains("timezone"), "{text}");
    wait_until(
        "the daemon's descriptors to be released",
        Duration::from_secs(30),
        || (open_fds(pid) <= fds_before + 10).then_some(()),
    );
    assert_eq!(sb.servers().len(), 1, "no bad request added a server");
}

#[test]
fn a_client_that_never_finishes_its_headers_is_let_go_after_30_seconds() {
    let sb = Sandbox::with_daemon();
    let mut stream = TcpStream::connect(("127.0.0.1", sb.port())).unwrap();
    stream
        .write_all(b"GET /api/v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        .unwrap();
    let started = Instant::now();
    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut answer = Vec::new();
    // The daemon closes the connection (with a 408 or without a word); it does not wait on.
    let closed = stream.read_to_end(&mut answer).is_ok();
    let waited = started.elapsed();
    assert!(closed, "the connection was still open after {waited:?}");
    assert!(
        waited >= Duration::from_secs(25),
        "let go too early ({waited:?}): {answer:?}"
    );
    let text = String::from_utf8_lossy(&answer);
    assert!(text.is_empty() || text.starts_with("HTTP/1.1 408"), "{text}");
}

//! End to end: the gateway, reached by the official Python and TypeScript MCP SDK clients and
//! by raw HTTP, in front of real servers (server-everything from npm, mcp-server-time from
//! PyPI) that the daemon supervises.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    Sandbox, clients_dir, descendants, echo_server, everything_server, messages, run_client, sdk_python,
    sdk_typescript, signal, time_server, tools_dir, wait_until,
};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
const SIGSTOP: i32 = 19;
const SIGCONT: i32 = 18;

/// A daemon running both real servers, and a token for a client named `tester`.
fn gateway() -> (Sandbox, String) {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("time", "running", START);
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert!(token.starts_with("sbc_"), "{token}");
    (sb, token)
}

fn base(sb: &Sandbox) -> String {
    format!("http://127.0.0.1:{}", sb.port())
}

fn check_everything(seen: &Value, sampled: &str) {
    assert_eq!(seen["server"], "mcp-servers/everything");
    assert!(
        seen["tools"].as_array().unwrap().iter().any(|t| t == "echo"),
        "{seen}"
    );
    assert_eq!(seen["echo"], "Echo: hello");
    assert!(seen["sampling"].as_str().unwrap().contains(sampled), "{seen}");
    assert!(seen["elicitation"].as_str().unwrap().contains("accept"), "{seen}");
    let progress: Vec<f64> = seen["progress"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_f64)
        .collect();
    assert_eq!(progress, [1.0, 2.0, 3.0, 4.0]);
    assert!(seen["updated"].as_str().is_some_and(|u| !u.is_empty()), "{seen}");
}

fn check_aggregate(seen: &Value) {
    let tools = seen["tools"].as_array().unwrap();
    assert!(tools.iter().any(|t| t == "time__get_current_time"), "{seen}");
    assert!(tools.iter().any(|t| t == "everything__echo"), "{seen}");
    assert!(tools.iter().all(|t| t.as_str().unwrap().len() <= 60));
    assert_eq!(seen["echo"], "Echo: via aggregate");
    assert_eq!(seen["time"], "UTC");
}

#[test]
fn python_sdk_client_uses_every_feature_through_the_gateway() {
    let (sb, token) = gateway();
    let url = base(&sb);
    check_everything(&sdk_python(&["everything", &url], &token), "sampled-by-python");
    let time = sdk_python(&["time", &url], &token);
    assert_eq!(time["tools"], json!(["convert_time", "get_current_time"]));
    assert_eq!(time["time"], "UTC");
    check_aggregate(&sdk_python(&["aggregate", &url], &token));
}

#[test]
fn typescript_sdk_client_uses_every_feature_through_the_gateway() {
    let (sb, token) = gateway();
    let url = base(&sb);
    check_everything(
        &sdk_typescript(&["everything", &url], &token),
        "sampled-by-typescript",
    );
    let time = sdk_typescript(&["time", &url], &token);
    assert_eq!(time["tools"], json!(["convert_time", "get_current_time"]));
    check_aggregate(&sdk_typescript(&["aggregate", &url], &token));
}

/// A server outside Switchboard's supervision, killed with the test.
struct Outside(std::process::Child);

impl Drop for Outside {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn legacy_sse_clients_and_remote_legacy_sse_servers_work_through_the_gateway() {
    let (sb, token) = gateway();
    let url = base(&sb);

    // A remote server that speaks only the legacy HTTP+SSE transport: the gateway's first POST
    // is refused, so it falls back to the SSE stream.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let _remote = Outside(
        Command::new(everything_server())
            .arg("sse")
            .env("PORT", port.to_string())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the remote server to listen", START, || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    sb.ok(&["add", "remote", "--url", &format!("http://127.0.0.1:{port}/sse")]);
    sb.wait_state("remote", "running", START);
    check_everything(
        &sdk_python(&["everything", &url, "/mcp/remote"], &token),
        "sampled-by-python",
    );

    // A client that speaks only the legacy transport, to a stdio server and to the remote one.
    for path in ["/sse/everything", "/sse/remote"] {
        check_everything(
            &sdk_python(&["everything", &url, path, "sse"], &token),
            "sampled-by-python",
        );
    }
}

/// A raw Streamable HTTP client, to see exactly what goes over the wire.
struct Raw<'a> {
    sb: &'a Sandbox,
    path: String,
    token: String,
    session: String,
}

impl<'a> Raw<'a> {
    fn open(sb: &'a Sandbox, path: &str, token: &str) -> Self {
        let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
        let auth = format!("Bearer {token}");
        let (status, response) = sb.http("POST", path, &headers(&auth, None), init);
        assert_eq!(status, 200, "{response}");
        let session = response
            .lines()
            .find_map(|l| l.strip_prefix("mcp-session-id: "))
            .unwrap()
            .trim()
            .to_owned();
        Self {
            sb,
            path: path.into(),
            token: token.into(),
            session,
        }
    }

    /// Sends a notification and waits for its 202.
    fn notify(&self, body: &str) {
        let auth = format!("Bearer {}", self.token);
        let (status, response) = self
            .sb
            .http("POST", &self.path, &headers(&auth, Some(&self.session)), body);
        assert_eq!(status, 202, "{response}");
    }

    fn delete(&self) {
        let auth = format!("Bearer {}", self.token);
        let (status, response) = self
            .sb
            .http("DELETE", &self.path, &headers(&auth, Some(&self.session)), "");
        assert_eq!(status, 204, "{response}");
    }

    /// Opens the session's standalone (GET) stream; it stays open while the stream lives.
    fn listen(&self) -> TcpStream {
        let auth = format!("Bearer {}", self.token);
        self.sb
            .http_send("GET", &self.path, &headers(&auth, Some(&self.session)), "")
    }

    fn echo(&self, word: &str) -> Value {
        let echo = format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{word}"}}}}}}"#
        );
        self.request(&echo)
    }

    /// Sends a request and returns its response, skipping what comes before it.
    fn request(&self, body: &str) -> Value {
        let answers = messages(self.send(body));
        loop {
            let message = answers.recv_timeout(START).unwrap();
            if message.get("result").is_some() || message.get("error").is_some() {
                return message;
            }
        }
    }

    fn send(&self, body: &str) -> TcpStream {
        let auth = format!("Bearer {}", self.token);
        self.sb
            .http_send("POST", &self.path, &headers(&auth, Some(&self.session)), body)
    }
}

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

/// The daemon's descendants that run server-everything.
fn everything_processes(sb: &Sandbox) -> Vec<u32> {
    descendants(sb.daemon_pid())
        .into_iter()
        .filter(|p| {
            std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                .is_ok_and(|c| c.contains("mcp-server-everything"))
        })
        .collect()
}

fn long_call(id: &str, token: &str, seconds: u32) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":"{id}","method":"tools/call","params":{{"name":"trigger-long-running-operation","arguments":{{"duration":{seconds},"steps":6}},"_meta":{{"progressToken":"{token}"}}}}}}"#
    )
}

#[test]
fn two_sessions_share_one_process_see_only_their_own_progress_and_cancel_independently() {
    let (sb, token) = gateway();
    let pid = sb.server("everything")["status"]["pid"].as_u64().unwrap() as u32;
    let a = Raw::open(&sb, "/mcp/everything", &token);
    let b = Raw::open(&sb, "/mcp/everything", &token);
    // Both pick the same request id and progress token: the gateway must keep them apart.
    let from_a = messages(a.send(&long_call("same", "tok", 3)));
    let from_b = messages(b.send(&long_call("same", "tok", 3)));
    let first_a = from_a.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(first_a["method"], "notifications/progress", "{first_a}");
    assert_eq!(first_a["params"]["progressToken"], "tok");
    a.notify(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"same","reason":"test"}}"#);

    let mut progress_b = 0;
    let result_b = loop {
        let message = from_b.recv_timeout(Duration::from_secs(15)).unwrap();
        if message["method"] == "notifications/progress" {
            assert_eq!(message["params"]["progressToken"], "tok");
            progress_b += 1;
        } else {
            break message;
        }
    };
    assert_eq!(result_b["id"], "same");
    assert!(
        result_b["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("completed"),
        "{result_b}"
    );
    assert_eq!(progress_b, 6, "B saw exactly its own six steps");
    // A's stream ends without a response once cancelled.
    let rest_a: Vec<Value> = from_a.iter().collect();
    assert!(rest_a.iter().all(|m| m.get("result").is_none()), "{rest_a:?}");
    assert!(rest_a.len() < 6, "A stopped receiving progress: {rest_a:?}");

    // One process served both sessions.
    let servers = everything_processes(&sb);
    assert!(servers.contains(&pid), "{servers:?}");
    assert_eq!(
        sb.server("everything")["status"]["pid"].as_u64(),
        Some(u64::from(pid))
    );
    assert_eq!(sb.runs("everything").len(), 1);
}

#[test]
fn a_per_session_server_gives_each_session_its_own_process_which_ends_with_the_session() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "everything", "--per-session", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let supervised = sb.server("everything")["status"]["pid"].as_u64().unwrap() as u32;
    let a = Raw::open(&sb, "/mcp/everything", &token);
    let b = Raw::open(&sb, "/mcp/everything", &token);
    for (session, word) in [(&a, "from-a"), (&b, "from-b"), (&a, "again-a")] {
        let answer = session.echo(word);
        assert_eq!(
            answer["result"]["content"][0]["text"],
            format!("Echo: {word}"),
            "{answer}"
        );
    }
    // The supervised process, and one for each session (A's second call reused A's).
    let running = everything_processes(&sb);
    assert_eq!(running.len(), 3, "{running:?}");
    assert!(running.contains(&supervised));

    a.delete();
    let left = wait_until("A's process to end with its session", START, || {
        let left = everything_processes(&sb);
        (left.len() == 2).then_some(left)
    });
    assert!(left.contains(&supervised), "{left:?}");
    let b_process = left.iter().find(|p| **p != supervised).copied().unwrap();
    assert!(running.contains(&b_process), "B kept its own process");
    assert_eq!(
        sb.runs("everything").len(),
        1,
        "session processes are not supervised runs"
    );
}

#[test]
fn a_per_session_server_runs_no_more_processes_than_its_limit_and_says_so() {
    let sb = Sandbox::with_daemon();
    let add = ["add", "everything", "--per-session", "--max-processes", "1", "--"];
    sb.ok(&[&add[..], &[&everything_server()]].concat());
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let a = Raw::open(&sb, "/mcp/everything", &token);
    assert_eq!(a.echo("a")["result"]["content"][0]["text"], "Echo: a");

    // A second session would be a second process: refused, with the limit and the fix.
    let b = Raw::open(&sb, "/mcp/everything", &token);
    let refused = b.echo("b");
    let message = refused["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("its limit") && message.contains("--max-processes"),
        "{refused}"
    );
    assert_eq!(everything_processes(&sb).len(), 2, "the supervised one and A's");

    // Once A's ends, B gets one.
    a.delete();
    wait_until("A's process to end", START, || {
        (everything_processes(&sb).len() == 1).then_some(())
    });
    assert_eq!(b.echo("b")["result"]["content"][0]["text"], "Echo: b");
}

#[test]
fn idle_sessions_end_with_their_own_processes_but_a_listening_client_keeps_its_session() {
    let mut sb = Sandbox::new();
    sb.start_daemon_with(&["--session-idle", "2s"]);
    sb.ok(&["add", "everything", "--per-session", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let gone = Raw::open(&sb, "/mcp/everything", &token);
    let listening = Raw::open(&sb, "/mcp/everything", &token);
    let _stream = listening.listen();
    listening.echo("listening");
    gone.echo("soon idle");
    assert_eq!(everything_processes(&sb).len(), 3, "each session started its own");

    // The abandoned session ends, and its process with it; the listening one stays.
    wait_until("the idle session's process to end", START, || {
        (everything_processes(&sb).len() == 2).then_some(())
    });
    let auth = format!("Bearer {token}");
    let (status, _) = sb.http(
        "POST",
        "/mcp/everything",
        &headers(&auth, Some(&gone.session)),
        r#"{"jsonrpc":"2.0","id":2,"method":"ping"}"#,
    );
    assert_eq!(status, 404, "an expired session is unknown");
    let answer = listening.echo("still here");
    assert_eq!(
        answer["result"]["content"][0]["text"], "Echo: still here",
        "{answer}"
    );
}

/// Found by the fault-injection test: an answer that came back before the gateway had
/// recorded its request as in flight left the record behind, so the session never went idle
/// (and kept ~200 bytes a call). mcp-echo answers fast enough to win that race often.
#[test]
fn a_session_goes_idle_after_many_fast_answers() {
    let mut sb = Sandbox::new();
    sb.start_daemon_with(&["--session-idle", "2s"]);
    sb.ok(&["add", "echo", "--", &echo_server().display().to_string()]);
    sb.wait_state("echo", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let session = Raw::open(&sb, "/mcp/echo", &token);
    for n in 0..300 {
        let answer = session.echo(&format!("call {n}"));
        assert_eq!(
            answer["result"]["content"][0]["text"],
            format!("call {n}"),
            "{answer}"
        );
    }
    // Watched through the status, which does not touch the session.
    wait_until("the idle session to end", START, || {
        (sb.json(&["status"])["sessions"] == 0).then_some(())
    });
}

#[test]
fn resource_subscriptions_are_renewed_when_the_server_restarts() {
    let (sb, token) = gateway();
    let session = Raw::open(&sb, "/mcp/everything", &token);
    let notices = messages(session.listen());
    let listed = session.request(r#"{"jsonrpc":"2.0","id":1,"method":"resources/list","params":{}}"#);
    let uri = listed["result"]["resources"][0]["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let subscribe =
        json!({"jsonrpc": "2.0", "id": 2, "method": "resources/subscribe", "params": {"uri": uri}});
    assert!(session.request(&subscribe.to_string())["result"].is_object());

    let old = sb.server("everything")["status"]["pid"].as_u64().unwrap();
    signal(old as u32, 9);
    wait_until("everything to run again under a new pid", START, || {
        let status = &sb.server("everything")["status"];
        (status["state"] == "running" && status["pid"].as_u64() != Some(old)).then_some(())
    });
    // The new process starts sending updates for what it was subscribed to.
    let toggle = r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"toggle-subscriber-updates","arguments":{}}}"#;
    assert!(session.request(toggle)["result"].is_object());
    let deadline = Instant::now() + START;
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        let notice = notices
            .recv_timeout(remaining)
            .expect("an update for the subscribed resource after the restart");
        if notice["method"] == "notifications/resources/updated" && notice["params"]["uri"] == uri.as_str() {
            break;
        }
    }
}

#[test]
fn access_and_malformed_requests_are_refused_clearly() {
    let (sb, token) = gateway();
    let auth = format!("Bearer {token}");
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"x","version":"1"}}}"#;
    let h = headers(&auth, None);
    let cases: Vec<(&str, Vec<(&str, &str)>, String, u16, Option<i64>)> = vec![
        ("no token", h[1..].to_vec(), init.into(), 401, None),
        (
            "wrong token",
            [h[1..].to_vec(), vec![("Authorization", "Bearer sbc_nope")]].concat(),
            init.into(),
            401,
            None,
        ),
        (
            "foreign host",
            [h.clone(), vec![("Host", "evil.example:80")]].concat(),
            init.into(),
            403,
            None,
        ),
        (
            "foreign origin",
            [h.clone(), vec![("Origin", "http://evil.example")]].concat(),
            init.into(),
            403,
            None,
        ),
        (
            "oversized body",
            h.clone(),
            format!("{{\"pad\":\"{}\"}}", "x".repeat(5 * 1024 * 1024)),
            413,
            None,
        ),
        (
            "malformed JSON",
            h.clone(),
            "{\"jsonrpc\":".into(),
            400,
            Some(-32700),
        ),
        (
            "unknown session",
            [h.clone(), vec![("Mcp-Session-Id", "nope")]].concat(),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.into(),
            404,
            None,
        ),
        (
            "no session",
            h.clone(),
            r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#.into(),
            400,
            None,
        ),
    ];
    for (what, headers, body, status, rpc_code) in cases {
        let (got, response) = sb.http("POST", "/mcp/time", &headers, &body);
        assert_eq!(got, status, "{what}: {response}");
        if let Some(expected) = rpc_code {
            let json: Value = serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap();
            assert_eq!(json["error"]["code"], expected, "{what}: {response}");
        }
    }
    // A browser page on this machine may call it (the MCP Inspector, for one).
    let local = [h.clone(), vec![("Origin", "http://localhost:6274")]].concat();
    assert_eq!(sb.http("POST", "/mcp/time", &local, init).0, 200);
    // A revoked token stops working at once.
    sb.ok(&["token", "revoke", "tester"]);
    assert_eq!(sb.http("POST", "/mcp/time", &h, init).0, 401);
}

#[test]
fn a_server_dying_mid_call_fails_the_call_promptly_and_the_next_call_works() {
    let (sb, token) = gateway();
    let session = Raw::open(&sb, "/mcp/everything", &token);
    let pid = sb.server("everything")["status"]["pid"].as_u64().unwrap() as u32;
    let call = messages(session.send(&long_call("doomed", "p", 30)));
    assert_eq!(
        call.recv_timeout(Duration::from_secs(10)).unwrap()["method"],
        "notifications/progress"
    );
    let killed = Instant::now();
    signal(pid, 9);
    let answer = loop {
        let message = call
            .recv_timeout(Duration::from_secs(5))
            .expect("an answer within 5 s");
        if message.get("method").is_none() {
            break message;
        }
    };
    assert!(killed.elapsed() < Duration::from_secs(5));
    assert_eq!(answer["id"], "doomed");
    assert!(
        answer["error"]["message"].as_str().unwrap().contains("stopped"),
        "{answer}"
    );

    // The supervisor restarts it; the same session carries on.
    wait_until("a new everything process", START, || {
        let view = sb.server("everything");
        (view["status"]["state"] == "running" && view["status"]["pid"].as_u64() != Some(u64::from(pid)))
            .then_some(())
    });
    let echo = messages(session.send(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"again"}}}"#));
    let answer = echo.recv_timeout(Duration::from_secs(30)).unwrap();
    assert_eq!(answer["result"]["content"][0]["text"], "Echo: again", "{answer}");
}

#[test]
fn tool_calls_are_recorded_without_their_payloads() {
    let (sb, token) = gateway();
    sdk_python(&["time", &base(&sb)], &token);
    let calls = wait_until("the call in the history", Duration::from_secs(10), || {
        let calls = sb.json(&["history"]);
        (!calls.as_array().unwrap().is_empty()).then_some(calls)
    });
    let call = &calls[0];
    assert_eq!(call["client"], "tester");
    assert_eq!(call["server"], "time");
    assert_eq!(call["tool"], "get_current_time");
    assert_eq!(call["outcome"], "ok");
    assert!(call["response_bytes"].as_u64().unwrap() > 0);
    assert!(
        call.get("arguments").is_none() && call.get("result").is_none(),
        "{call}"
    );
    let table = sb.ok(&["history", "--server", "time"]);
    assert!(
        table.contains("get_current_time") && table.contains("tester"),
        "{table}"
    );
    let clients = sb.json(&["token", "ls"]);
    assert!(clients[0]["last_used_ms"].as_i64().is_some(), "{clients}");
}

#[test]
fn connect_is_a_stdio_server_for_the_python_sdk_and_answers_errors_when_the_daemon_is_down() {
    let (mut sb, token) = gateway();
    let bin = common::BIN;
    let home = sb.home().display().to_string();
    let seen = {
        let mut command = Command::new(tools_dir().join("venv/bin/python"));
        command
            .arg(clients_dir().join("sdk_client.py"))
            .args(["stdio", bin, "connect", "time"])
            .env("SWITCHBOARD_HOME", &home);
        run_client(command, &token)
    };
    assert_eq!(seen["server"], "mcp-time");
    assert_eq!(seen["time"], "UTC");

    sb.stop_daemon();
    let mut shim = Command::new(bin)
        .args(["connect", "time"])
        .env("SWITCHBOARD_HOME", &home)
        .env("SWITCHBOARD_TOKEN", &token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = shim.stdin.take().unwrap();
    use std::io::Write;
    writeln!(stdin, r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"2025-06-18","capabilities":{{}},"clientInfo":{{"name":"x","version":"1"}}}}}}"#).unwrap();
    let mut line = String::new();
    BufReader::new(shim.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let answer: Value = serde_json::from_str(&line).unwrap();
    assert_eq!(answer["id"], 1);
    assert!(
        answer["error"]["message"]
            .as_str()
            .unwrap()
            .contains("switchboard daemon"),
        "{answer}"
    );
    assert!(shim.try_wait().unwrap().is_none(), "the shim keeps running");
    drop(stdin);
    assert!(
        shim.wait().unwrap().success(),
        "stdin closed: the shim ends cleanly"
    );
}

#[test]
fn stateless_revision_requests_stand_alone_and_are_checked_against_their_headers() {
    let (sb, token) = gateway();
    let auth = format!("Bearer {token}");
    let meta = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;
    let modern = |method: &'static str, name: Option<&'static str>| {
        let mut h = headers(&auth, None);
        h.push(("MCP-Protocol-Version", "2026-07-28"));
        h.push(("Mcp-Method", method));
        if let Some(name) = name {
            h.push(("Mcp-Name", name));
        }
        h
    };
    let body_of = |response: &str| -> Value {
        serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
    };

    let discover = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{{{meta}}}}}"#);
    let (status, response) = sb.http("POST", "/mcp/time", &modern("server/discover", None), &discover);
    assert_eq!(status, 200, "{response}");
    let result = &body_of(&response)["result"];
    assert_eq!(result["supportedVersions"], json!(["2026-07-28"]));
    assert_eq!(
        result["_meta"]["io.modelcontextprotocol/serverInfo"]["name"],
        "mcp-time"
    );
    // What a client may cache, and for whom: nothing, as the gateway cannot know.
    assert_eq!(
        (&result["ttlMs"], &result["cacheScope"]),
        (&json!(0), &json!("private"))
    );

    // Methods the revision removed are not forwarded: a session-era server would act on them
    // for every client (a log level, a subscription).
    for removed in ["ping", "initialize", "logging/setLevel", "resources/subscribe"] {
        let body = format!(r#"{{"jsonrpc":"2.0","id":9,"method":"{removed}","params":{{{meta}}}}}"#);
        let (status, response) = sb.http("POST", "/mcp/time", &modern(removed, None), &body);
        assert_eq!(status, 404, "{removed}: {response}");
        assert_eq!(body_of(&response)["error"]["code"], -32601, "{removed}");
    }
    // A request without its `_meta` is malformed.
    let bare = r#"{"jsonrpc":"2.0","id":3,"method":"tools/list","params":{}}"#;
    let (status, response) = sb.http("POST", "/mcp/time", &modern("tools/list", None), bare);
    assert_eq!(status, 400, "{response}");
    assert_eq!(body_of(&response)["error"]["code"], -32602);

    let call = format!(
        r#"{{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{{"name":"get_current_time","arguments":{{"timezone":"UTC"}},{meta}}}}}"#
    );
    let (status, response) = sb.http(
        "POST",
        "/mcp/time",
        &modern("tools/call", Some("get_current_time")),
        &call,
    );
    assert_eq!(status, 200, "{response}");
    let result = &body_of(&response)["result"];
    assert_eq!(result["resultType"], "complete", "{response}");
    assert!(
        !response.to_ascii_lowercase().contains("mcp-session-id"),
        "no session is minted"
    );

    let (status, response) = sb.http("POST", "/mcp/time", &modern("tools/list", None), &call);
    assert_eq!(status, 400, "{response}");
    assert_eq!(body_of(&response)["error"]["code"], -32020);
    let old = call.replace("2026-07-28", "1900-01-01");
    let mut h = modern("tools/call", Some("get_current_time"));
    h[3].1 = "1900-01-01";
    let (status, response) = sb.http("POST", "/mcp/time", &h, &old);
    assert_eq!(status, 400, "{response}");
    assert_eq!(body_of(&response)["error"]["code"], -32022);
}

/// The JSON-RPC messages of a raw response: its JSON body (one message or a batch's array), or
/// the `data:` lines of its SSE events.
fn rpc_messages(response: &str) -> Vec<Value> {
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(all)) => all,
        Ok(one) => vec![one],
        Err(_) => response
            .lines()
            .filter_map(|l| l.strip_prefix("data: "))
            .filter_map(|data| serde_json::from_str(data).ok())
            .collect(),
    }
}

#[test]
fn sessions_of_revision_2025_03_26_may_send_batches_and_later_ones_are_told_they_may_not() {
    let (sb, token) = gateway();
    let auth = format!("Bearer {token}");
    let open = |revision: &str| {
        let init = format!(
            r#"{{"jsonrpc":"2.0","id":0,"method":"initialize","params":{{"protocolVersion":"{revision}","capabilities":{{}},"clientInfo":{{"name":"raw","version":"1"}}}}}}"#
        );
        let (status, response) = sb.http("POST", "/mcp/time", &headers(&auth, None), &init);
        assert_eq!(status, 200, "{response}");
        response
            .lines()
            .find_map(|l| l.strip_prefix("mcp-session-id: "))
            .unwrap()
            .trim()
            .to_owned()
    };
    let old = open("2025-03-26");
    let batch = r#"[{"jsonrpc":"2.0","id":"list","method":"tools/list"},
        {"jsonrpc":"2.0","method":"notifications/initialized"},
        {"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"get_current_time","arguments":{"timezone":"UTC"}}}]"#;

    // As SSE: both answers, each with its own id.
    let (status, response) = sb.http("POST", "/mcp/time", &headers(&auth, Some(&old)), batch);
    assert_eq!(status, 200, "{response}");
    assert!(response.contains("text/event-stream"), "{response}");
    let answers = rpc_messages(&response);
    let by_id = |id: Value| {
        answers
            .iter()
            .find(|m| m["id"] == id)
            .cloned()
            .unwrap_or_default()
    };
    assert!(
        by_id(json!("list"))["result"]["tools"]
            .to_string()
            .contains("get_current_time"),
        "{answers:?}"
    );
    assert!(
        by_id(json!(7))["result"]["content"][0]["text"]
            .as_str()
            .unwrap()
            .contains("UTC"),
        "{answers:?}"
    );

    // As one JSON array, for a client that takes no SSE.
    let json_only = [
        &headers(&auth, Some(&old))[..2],
        &[("Accept", "application/json"), ("Mcp-Session-Id", &old)],
    ]
    .concat();
    let (status, response) = sb.http("POST", "/mcp/time", &json_only, batch);
    assert_eq!(status, 200, "{response}");
    let answers = rpc_messages(&response);
    assert_eq!(answers.len(), 2, "{answers:?}");
    assert_eq!(
        answers.iter().map(|a| a["id"].clone()).collect::<Vec<_>>(),
        [json!("list"), json!(7)]
    );

    // Only notifications: accepted, nothing to answer.
    let (status, _) = sb.http(
        "POST",
        "/mcp/time",
        &headers(&auth, Some(&old)),
        r#"[{"jsonrpc":"2.0","method":"notifications/initialized"}]"#,
    );
    assert_eq!(status, 202);

    // A later revision, or no session: refused, saying why.
    let new = open("2025-06-18");
    let (status, response) = sb.http("POST", "/mcp/time", &headers(&auth, Some(&new)), batch);
    assert_eq!(status, 400, "{response}");
    assert!(
        response.contains("batches were dropped after revision 2025-03-26"),
        "{response}"
    );
    let (status, response) = sb.http("POST", "/mcp/time", &headers(&auth, None), batch);
    assert_eq!(status, 400, "{response}");
    assert!(
        response.contains("send initialize on its own first"),
        "{response}"
    );
}

/// Legal JSON over several lines (pretty-printed, CRLF): a stdio server got it as several
/// broken lines and never answered.
#[test]
fn a_request_over_several_lines_reaches_a_stdio_server_as_one_message() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();

    let raw = Raw::open(&sb, "/mcp/time", &token);
    let pretty = "{\r\n  \"jsonrpc\": \"2.0\",\r\n  \"id\": 5,\r\n  \"method\": \"tools/list\"\r\n}\r\n";
    let answer = raw.request(pretty);
    assert_eq!(answer["id"], 5, "{answer}");
    assert!(
        answer["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{answer}"
    );

    // Through the connect shim: a client writing pretty-printed JSON, and sending its next
    // request right behind initialize (which needs the session initialize opens).
    let mut shim = Command::new(common::BIN)
        .args(["connect", "time"])
        .env("SWITCHBOARD_HOME", sb.home())
        .env("SWITCHBOARD_TOKEN", &token)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let initialize = serde_json::to_string_pretty(&json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "pretty", "version": "1"}}}))
    .unwrap();
    let list =
        serde_json::to_string_pretty(&json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"})).unwrap();
    let mut stdin = shim.stdin.take().unwrap();
    use std::io::Write;
    let initialized = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    write!(stdin, "{initialize}\n{initialized}\n{list}\n").unwrap();
    let answers = messages_from_lines(shim.stdout.take().unwrap());
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let answer = answers.recv_timeout(START).unwrap();
        assert!(answer.get("error").is_none(), "{answer}");
        seen.push(answer);
    }
    seen.sort_by_key(|a| a["id"].as_i64());
    assert_eq!(seen[0]["result"]["serverInfo"]["name"], "mcp-time", "{seen:?}");
    assert!(
        seen[1]["result"]["tools"]
            .as_array()
            .is_some_and(|t| !t.is_empty()),
        "{seen:?}"
    );
    // Closing stdin ends the shim, even with its session's stream open.
    drop(stdin);
    let status = wait_until("the shim to exit", Duration::from_secs(10), || {
        shim.try_wait().unwrap()
    });
    assert!(status.success());
}

/// Every line a program writes, each read as one JSON-RPC message.
fn messages_from_lines(out: impl std::io::Read + Send + 'static) -> mpsc::Receiver<Value> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { return };
            let value =
                serde_json::from_str(&line).unwrap_or_else(|e| json!({"error": format!("{e}: {line}")}));
            if tx.send(value).is_err() {
                return;
            }
        }
    });
    rx
}

/// A server that is alive but silent (SIGSTOP) held every aggregate `tools/list` until health
/// checks killed it, minutes later.
#[test]
fn a_hung_server_does_not_stall_the_aggregate_or_calls_to_other_servers() {
    let sb = Sandbox::with_daemon();
    let echo = echo_server().display().to_string();
    for name in ["quick", "stuck"] {
        sb.ok(&["add", name, "--", &echo]);
        sb.wait_state(name, "running", START);
    }
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let stuck = sb.server("stuck")["status"]["pid"].as_u64().unwrap() as u32;
    let list = r#"{"jsonrpc":"2.0","id":"list","method":"tools/list"}"#;
    let tool_names = |answer: &Value| -> Vec<String> {
        let tools = answer["result"]["tools"]
            .as_array()
            .unwrap_or_else(|| panic!("{answer}"));
        let mut names: Vec<String> = tools
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect();
        names.sort();
        names
    };
    let events = messages(sb.http_send(
        "GET",
        "/api/v1/events",
        &[("Authorization", &format!("Bearer {}", sb.token()))],
        "",
    ));

    // Never listed before it hung: the aggregate answers without it, in a few seconds.
    signal(stuck, SIGSTOP);
    let aggregate = Raw::open(&sb, "/mcp", &token);
    let asked = Instant::now();
    let pending = messages(aggregate.send(list));
    // Meanwhile a call to the other server is answered at once, before the aggregate's.
    let direct = Raw::open(&sb, "/mcp/quick", &token);
    assert_eq!(
        direct.echo("still here")["result"]["content"][0]["text"],
        "still here"
    );
    assert!(
        pending.try_recv().is_err(),
        "the aggregate answered before its patience ran out"
    );
    let answer = pending.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(tool_names(&answer), ["quick__echo"]);
    let event = wait_until("a server_unresponsive event", Duration::from_secs(5), || {
        events.try_iter().find(|e| e["type"] == "server_unresponsive")
    });
    assert_eq!(event["name"], "stuck", "{event}");
    assert_eq!(event["method"], "tools/list", "{event}");
    assert!(
        sb.daemon_log().contains("no answer within"),
        "{}",
        sb.daemon_log()
    );

    // Listed once, then hung: the aggregate answers with its last known list.
    signal(stuck, SIGCONT);
    assert_eq!(
        tool_names(&aggregate.request(list)),
        ["quick__echo", "stuck__echo"]
    );
    signal(stuck, SIGSTOP);
    let asked = Instant::now();
    let answer = messages(aggregate.send(list))
        .recv_timeout(Duration::from_secs(5))
        .unwrap();
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "took {:?}",
        asked.elapsed()
    );
    assert_eq!(tool_names(&answer), ["quick__echo", "stuck__echo"]);
    signal(stuck, SIGCONT);
}

//! End to end: profiles decide what each client of the gateway is offered. Real servers
//! (mcp-server-time from PyPI, server-everything from npm) behind the daemon, reached by the
//! official Python and TypeScript SDK clients with tokens that use different profiles.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Sandbox, clients_dir, everything_server, sdk_python, sdk_typescript, time_server, tools_dir};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

/// A daemon running both servers, with a token for each client named.
fn daemon(clients: &[&str]) -> (Sandbox, Vec<String>) {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("time", "running", START);
    sb.wait_state("everything", "running", START);
    let tokens = clients
        .iter()
        .map(|client| sb.ok(&["token", "create", client]).trim().to_owned())
        .collect();
    (sb, tokens)
}

fn base(sb: &Sandbox) -> String {
    format!("http://127.0.0.1:{}", sb.port())
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

/// What the client was told of a refused call.
fn refusal(seen: &Value, tool: &str) -> String {
    let refused = &seen["calls"][tool]["refused"];
    assert!(refused.is_string(), "{tool} was not refused: {seen}");
    refused.as_str().unwrap().to_owned()
}

#[test]
fn two_clients_with_different_profiles_see_different_tools_from_the_same_servers() {
    let (sb, tokens) = daemon(&["py-client", "ts-client", "plain"]);
    let (py_token, ts_token, plain_token) = (&tokens[0], &tokens[1], &tokens[2]);
    sb.ok(&["profile", "add", "clock", "time"]);
    sb.ok(&["profile", "add", "clock", "everything", "--tools", "echo"]);
    sb.ok(&[
        "profile",
        "add",
        "maths",
        "everything",
        "--except-tools",
        "echo,trigger-*",
    ]);
    sb.ok(&["profile", "use", "clock", "--client", "py-client"]);
    sb.ok(&["profile", "use", "maths", "--client", "ts-client"]);

    // The Python client, on the aggregate: time's tools and everything's echo, nothing else.
    let calls = json!({"everything__echo": {"message": "hi"}, "everything__get-sum": {"a": 1, "b": 2}});
    let mut python = OfferedClient::start(&sb, "/mcp", &calls.to_string(), py_token);
    let seen = python.first();
    assert_eq!(
        names(&seen["tools"]),
        ["everything__echo", "time__convert_time", "time__get_current_time"],
        "{seen}"
    );
    assert_eq!(seen["calls"]["everything__echo"]["text"], "Echo: hi", "{seen}");
    assert!(
        refusal(&seen, "everything__get-sum").contains("Unknown tool"),
        "{seen}"
    );

    // The TypeScript client, on everything's own endpoint: all but echo and the triggers.
    let calls = json!({"get-sum": {"a": 1, "b": 2}, "echo": {"message": "hi"}, "trigger-sampling-request": {"prompt": "x"}});
    let seen = sdk_typescript(
        &["offered", &base(&sb), "/mcp/everything", &calls.to_string()],
        ts_token,
    );
    let tools = names(&seen["tools"]);
    assert!(tools.contains(&"get-sum".to_owned()), "{seen}");
    assert!(
        !tools.iter().any(|t| t == "echo" || t.starts_with("trigger-")),
        "{seen}"
    );
    assert!(
        seen["calls"]["get-sum"]["text"].as_str().unwrap().contains('3'),
        "{seen}"
    );
    assert!(refusal(&seen, "echo").contains("Unknown tool"), "{seen}");
    assert!(
        refusal(&seen, "trigger-sampling-request").contains("Unknown tool"),
        "{seen}"
    );
    // A server its profile does not offer is refused before a session opens.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "raw", "version": "1"}}});
    let auth = format!("Bearer {ts_token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (status, body) = sb.http("POST", "/mcp/time", &headers, &initialize.to_string());
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("profile"), "{body}");

    // A client without a profile is offered everything, as before.
    let seen = sdk_python(&["list", &format!("{}/mcp", base(&sb))], plain_token);
    assert!(names(&seen["tools"]).len() > 10, "{seen}");

    // The profile changes under the Python client's open session: it is told, and lists less.
    sb.ok(&["profile", "remove", "clock", "time"]);
    let after = python.last();
    assert_eq!(names(&after["tools"]), ["everything__echo"], "{after}");

    // The CLI shows who uses what, and keeps a profile in use.
    let profiles = sb.json(&["profile", "ls"]);
    let clock = profiles
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "clock")
        .unwrap();
    assert_eq!(clock["clients"], json!(["py-client"]), "{profiles}");
    let refused = sb.cli(&["profile", "rm", "clock"]);
    assert!(!refused.status.success());
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("py-client"),
        "{refused:?}"
    );
    sb.ok(&["profile", "use", "--none", "--client", "py-client"]);
    sb.ok(&["profile", "rm", "clock"]);
}

/// The Python SDK client's `offered` scenario, kept open: its first report, then (once it is
/// told the list changed) its last.
struct OfferedClient {
    child: std::process::Child,
    lines: mpsc::Receiver<String>,
}

impl OfferedClient {
    fn start(sb: &Sandbox, path: &str, calls: &str, token: &str) -> Self {
        let mut child = Command::new(tools_dir().join("venv/bin/python"))
            .arg(clients_dir().join("sdk_client.py"))
            .args(["offered", &base(sb), path, calls])
            .env("SWITCHBOARD_TOKEN", token)
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        Self { child, lines }
    }

    fn next(&mut self) -> Value {
        let line = self
            .lines
            .recv_timeout(START)
            .unwrap_or_else(|e| panic!("the Python client printed nothing within {START:?}: {e}"));
        serde_json::from_str(&line).unwrap()
    }

    fn first(&mut self) -> Value {
        self.next()
    }

    fn last(mut self) -> Value {
        let last = self.next();
        assert!(self.child.wait().unwrap().success());
        last
    }
}

impl Drop for OfferedClient {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

//! Multi round-trip requests through the gateway, both ways. A 2026-07-28 client (no session)
//! calls a tool of server-everything (npm), a session-era server that asks its client
//! mid-call; the gateway answers with rounds of input (`input_required`) and delivers the
//! answers of each retry to the waiting server. And a 2025-11-25 session client calls a tool
//! of a server the gateway speaks 2026-07-28 to (tests/servers/conformance_server.mjs), which
//! answers `input_required`; its questions reach the client as requests, and the answers go
//! back in the retry. Driven by the official Python and TypeScript SDK clients, and raw, for
//! what a client must not be able to do with a `requestState`.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use common::{Sandbox, everything_server, node_script, run_client, tools_dir, wait_until};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
const TOOL: &str = "trigger-elicitation-request";

/// A daemon (started with `flags`) running server-everything, and a token for `tester`.
fn gateway(flags: &[&str]) -> (Sandbox, String) {
    let mut sb = Sandbox::new();
    sb.start_daemon_with(flags);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    (sb, token)
}

/// The name each SDK client gives when elicited, and the text it samples.
const PYTHON: (&str, &str) = ("Ada", "sampled-by-python");
const TYPESCRIPT: (&str, &str) = ("Grace", "sampled-by-typescript");

/// What an SDK client saw calling an eliciting and a sampling tool: its revision, no errors,
/// and the server got its answers (`accepted` is how the server's text says so).
fn answered(seen: Value, protocol: &str, accepted: &str, (name, sampled): (&str, &str)) {
    assert_eq!(seen["protocol"], protocol, "{seen}");
    assert_eq!(seen["errors"], json!([false, false]), "{seen}");
    let elicited = seen["elicitation"].as_str().unwrap();
    assert!(
        elicited.contains(accepted) && elicited.contains(name),
        "the server got the client's answer: {seen}"
    );
    assert!(seen["sampling"].as_str().unwrap().contains(sampled), "{seen}");
}

#[test]
fn sdk_clients_of_2026_answer_the_questions_of_a_session_era_server() {
    let (sb, token) = gateway(&[]);
    let base = format!("http://127.0.0.1:{}", sb.port());
    let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    let script = node_script("clients/asked_client.mjs");
    for (path, prefix) in [("/mcp/everything", ""), ("/mcp", "everything__")] {
        let mut python = Command::new(tools_dir().join("venv/bin/python"));
        python
            .arg(clients.join("sdk_client.py"))
            .args(["asked", &base, path, prefix]);
        let mut typescript = Command::new("node");
        typescript
            .arg(&script.0)
            .args([format!("{base}{path}"), prefix.to_owned()]);
        answered(
            run_client(python, &token),
            "2026-07-28",
            r#""action": "accept""#,
            PYTHON,
        );
        answered(
            run_client(typescript, &token),
            "2026-07-28",
            r#""action": "accept""#,
            TYPESCRIPT,
        );
    }
}

#[test]
fn sdk_clients_of_2025_answer_the_questions_of_a_2026_07_28_server() {
    let sb = Sandbox::with_daemon();
    let server = node_script("servers/conformance_server.mjs");
    let program = server.0.display().to_string();
    sb.ok(&["add", "modern", "--protocol", "stateless", "--", "node", &program]);
    sb.wait_state("modern", "running", START);
    let listed: Value = serde_json::from_str(&sb.ok(&["ls", "--json"])).unwrap();
    assert_eq!(
        listed[0]["status"]["server_info"]["protocol_version"], "2026-07-28",
        "the gateway speaks the stateless revision to it: {listed}"
    );
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let base = format!("http://127.0.0.1:{}", sb.port());
    let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    let script = node_script("clients/sdk_client.mjs");
    for (path, prefix) in [("/mcp/modern", ""), ("/mcp", "modern__")] {
        let mut python = Command::new(tools_dir().join("venv/bin/python"));
        python
            .arg(clients.join("sdk_client.py"))
            .args(["asking", &base, path, prefix]);
        let mut typescript = Command::new("node");
        typescript.arg(&script.0).args(["asking", &base, path, prefix]);
        answered(run_client(python, &token), "2025-11-25", "action=accept", PYTHON);
        answered(
            run_client(typescript, &token),
            "2025-11-25",
            "action=accept",
            TYPESCRIPT,
        );
    }
}

/// A raw 2026-07-28 client of `/mcp/everything`.
struct Raw<'a> {
    sb: &'a Sandbox,
    auth: String,
}

impl Raw<'_> {
    /// Calls `tool` with `extra` params (answers, state) and `capabilities`; the status and
    /// the one JSON-RPC message answering it.
    fn call(&self, tool: &str, capabilities: Value, extra: Value) -> (u16, Value) {
        let mut params = json!({
            "name": tool,
            "arguments": {},
            "_meta": {
                "io.modelcontextprotocol/protocolVersion": "2026-07-28",
                "io.modelcontextprotocol/clientCapabilities": capabilities,
            },
        });
        params
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": params});
        let headers = [
            ("Authorization", self.auth.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", "tools/call"),
            ("Mcp-Name", tool),
        ];
        let (status, response) = self
            .sb
            .http("POST", "/mcp/everything", &headers, &body.to_string());
        let message = response
            .split("\r\n\r\n")
            .nth(1)
            .and_then(|body| serde_json::from_str(body).ok())
            .or_else(|| {
                // An event stream: the response is its last message.
                response
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .filter_map(|data| serde_json::from_str::<Value>(data).ok())
                    .next_back()
            })
            .unwrap_or_else(|| panic!("no JSON-RPC message in {response}"));
        (status, message)
    }

    /// Starts a call that elicits: its state, and an answer naming Ada.
    fn parked(&self) -> (String, Value) {
        let round = self.ask();
        let key = round["inputRequests"]
            .as_object()
            .unwrap()
            .keys()
            .next()
            .unwrap()
            .clone();
        let answer = json!({key: {"action": "accept", "content": {"name": "Ada"}}});
        (round["requestState"].as_str().unwrap().to_owned(), answer)
    }

    /// Starts a call that elicits: its round of input.
    fn ask(&self) -> Value {
        let (status, asked) = self.call(TOOL, json!({"elicitation": {}}), json!({}));
        assert_eq!(status, 200, "{asked}");
        assert_eq!(asked["id"], 7);
        assert_eq!(asked["result"]["resultType"], "input_required", "{asked}");
        asked["result"].clone()
    }
}

fn error_of(answer: &(u16, Value)) -> (u16, i64, String) {
    let error = &answer.1["error"];
    let message = error["message"].as_str().unwrap_or_default().to_owned();
    (answer.0, error["code"].as_i64().unwrap_or_default(), message)
}

#[test]
fn request_state_is_sealed_bound_to_its_client_and_call_and_answers_each_round_once() {
    let (sb, token) = gateway(&[]);
    let raw = Raw {
        sb: &sb,
        auth: format!("Bearer {token}"),
    };
    let round = raw.ask();
    let requests = round["inputRequests"].as_object().unwrap();
    assert_eq!(requests.len(), 1, "{round}");
    let (key, question) = requests.iter().next().unwrap();
    assert_eq!(question["method"], "elicitation/create", "{round}");
    assert!(question["params"]["requestedSchema"]["properties"]["name"].is_object());
    assert!(
        question.get("id").is_none(),
        "an input request is not a JSON-RPC request"
    );
    let state = round["requestState"].as_str().unwrap().to_owned();
    let answer = json!({key: {"action": "accept", "content": {"name": "Ada", "check": true}}});

    // A changed state, another client, or other arguments: refused, and the call still waits.
    let mut tampered = state.clone().into_bytes();
    tampered[10] = if tampered[10] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let refused = error_of(&raw.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": tampered}),
    ));
    assert_eq!((refused.0, refused.1), (400, -32602), "{refused:?}");
    assert!(refused.2.contains("invalid requestState"), "{refused:?}");
    let other = Raw {
        sb: &sb,
        auth: format!("Bearer {}", sb.ok(&["token", "create", "other"]).trim()),
    };
    let refused = error_of(&other.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": state}),
    ));
    assert_eq!((refused.0, refused.1), (400, -32602), "{refused:?}");
    assert!(refused.2.contains("another request"), "{refused:?}");
    let refused = error_of(&raw.call(
        "echo",
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": state}),
    ));
    assert!(refused.2.contains("another request"), "{refused:?}");

    // A retry without the answer is asked again, under a new state; the old one is spent.
    let (status, again) = raw.call(TOOL, json!({"elicitation": {}}), json!({"requestState": state}));
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["result"]["resultType"], "input_required", "{again}");
    assert!(again["result"]["inputRequests"].get(key).is_some(), "{again}");
    let next = again["result"]["requestState"].as_str().unwrap().to_owned();
    assert_ne!(next, state);
    let refused = error_of(&raw.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": state}),
    ));
    assert!(refused.2.contains("stale requestState"), "{refused:?}");

    // The answer reaches the waiting server (each request is a new connection), and the call
    // completes; its state cannot be used again.
    let (status, done) = raw.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": next}),
    );
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["id"], 7);
    assert_eq!(done["result"]["resultType"], "complete", "{done}");
    assert!(
        done["result"]["content"].to_string().contains("Name: Ada"),
        "{done}"
    );
    let refused = error_of(&raw.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": next}),
    ));
    assert_eq!(refused.1, -32602, "{refused:?}");

    // A client that did not declare what the server asks for is told which capability.
    let (status, lacking) = raw.call(TOOL, json!({"sampling": {}}), json!({}));
    assert_eq!(status, 400, "{lacking}");
    assert_eq!(lacking["error"]["code"], -32021, "{lacking}");
    assert_eq!(
        lacking["error"]["data"]["requiredCapabilities"],
        json!({"elicitation": {}})
    );
}

#[test]
fn a_call_whose_client_never_answers_ends_and_its_server_is_told() {
    let (sb, token) = gateway(&["--input-wait", "1s"]);
    let raw = Raw {
        sb: &sb,
        auth: format!("Bearer {token}"),
    };
    let (state, answer) = raw.parked();
    // Unanswered for the input wait, the call is abandoned upstream: the history has it
    // cancelled, not answered.
    let cancelled = ended_call(&sb);
    assert_eq!(cancelled["outcome"], "cancelled", "{cancelled}");
    let late = raw.call(
        TOOL,
        json!({"elicitation": {}}),
        json!({"inputResponses": answer, "requestState": state}),
    );
    let refused = error_of(&late);
    assert_eq!((refused.0, refused.1), (400, -32602), "{refused:?}");
    assert!(refused.2.contains("expired"), "{refused:?}");
}

#[test]
fn a_revoked_clients_calls_waiting_for_input_end_at_once() {
    // The input wait is the default ten minutes: only the revocation can end the call sooner.
    let (sb, token) = gateway(&[]);
    let raw = Raw {
        sb: &sb,
        auth: format!("Bearer {token}"),
    };
    let _parked = raw.parked();
    sb.ok(&["token", "revoke", "tester"]);
    let ended = ended_call(&sb);
    assert_eq!(ended["outcome"], "cancelled", "{ended}");
}

/// The history's record of the parked call, once it has ended.
fn ended_call(sb: &Sandbox) -> Value {
    wait_until("the parked call to end", Duration::from_secs(30), || {
        let calls: Value = serde_json::from_str(&sb.ok(&["history", "--json"])).unwrap();
        calls
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["tool"] == TOOL)
            .cloned()
    })
}

#[test]
fn a_client_keeps_at_most_32_calls_waiting_and_a_new_one_ends_its_oldest() {
    let (sb, token) = gateway(&[]);
    let raw = Raw {
        sb: &sb,
        auth: format!("Bearer {token}"),
    };
    let states: Vec<(String, Value)> = (0..33).map(|_| raw.parked()).collect();
    let retry = |(state, answer): &(String, Value)| {
        raw.call(
            TOOL,
            json!({"elicitation": {}}),
            json!({"inputResponses": answer, "requestState": state}),
        )
    };
    // The first call made room for the 33rd: it is over, and its server was told.
    let refused = error_of(&retry(&states[0]));
    assert_eq!((refused.0, refused.1), (400, -32602), "{refused:?}");
    assert!(refused.2.contains("expired"), "{refused:?}");
    let cancelled = wait_until("the oldest call in the history", Duration::from_secs(30), || {
        let calls: Value = serde_json::from_str(&sb.ok(&["history", "--json"])).unwrap();
        let calls = calls.as_array().unwrap().clone();
        (!calls.is_empty()).then_some(calls)
    });
    assert_eq!(cancelled.len(), 1, "only the oldest ended: {cancelled:?}");
    assert_eq!(cancelled[0]["outcome"], "cancelled");
    // The other 32 still wait for their answers, and complete with them.
    for waiting in &states[1..] {
        let (status, done) = retry(waiting);
        assert_eq!(status, 200, "{done}");
        assert_eq!(done["result"]["resultType"], "complete", "{done}");
        assert_ne!(done["result"]["isError"], true, "{done}");
        assert!(
            done["result"]["content"].to_string().contains("Name: Ada"),
            "{done}"
        );
    }
}

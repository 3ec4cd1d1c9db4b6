//! `subscriptions/listen` through the gateway, raw over HTTP as a 2026-07-28 client sends it,
//! in front of session-era servers the daemon supervises: server-everything (npm), whose
//! resource updates and list changes reach the listen, and mcp-server-time (PyPI), whose
//! arrival the aggregate announces. And the other way: a session client (the Python SDK's)
//! of a stateless server (tests/servers/conformance_server.mjs), whose notices the gateway
//! takes from a listen of its own.
#![allow(clippy::unwrap_used)]

mod common;

use std::net::{Shutdown, TcpStream};
use std::sync::mpsc::Receiver;
use std::time::Duration;

use std::path::PathBuf;
use std::process::Command;

use common::{
    Sandbox, everything_server, messages, node_script, run_client, time_server, tools_dir, wait_until,
};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
const PATIENCE: Duration = Duration::from_secs(30);
/// How often the gateway writes a comment on a quiet event stream.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
const SUBSCRIPTION_ID: &str = "io.modelcontextprotocol/subscriptionId";

fn meta() -> Value {
    json!({
        "io.modelcontextprotocol/protocolVersion": "2026-07-28",
        "io.modelcontextprotocol/clientCapabilities": {},
    })
}

/// A raw 2026-07-28 client with `token`.
struct Client<'a> {
    sb: &'a Sandbox,
    auth: String,
}

impl Client<'_> {
    fn headers<'h>(&'h self, method: &'h str, name: Option<&'h str>) -> Vec<(&'h str, &'h str)> {
        let mut h = vec![
            ("Authorization", self.auth.as_str()),
            ("Content-Type", "application/json"),
            ("Accept", "application/json, text/event-stream"),
            ("MCP-Protocol-Version", "2026-07-28"),
            ("Mcp-Method", method),
        ];
        h.extend(name.map(|name| ("Mcp-Name", name)));
        h
    }

    /// A request's one answer.
    fn request(&self, path: &str, method: &str, name: Option<&str>, mut params: Value) -> Value {
        params["_meta"] = meta();
        let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
        let stream = self
            .sb
            .http_send("POST", path, &self.headers(method, name), &body.to_string());
        messages(stream).recv_timeout(PATIENCE).unwrap()
    }

    /// Opens a listen on `path` with `filter`: the connection (to close it) and its messages.
    fn listen(&self, path: &str, id: &Value, filter: Value) -> (TcpStream, Receiver<Value>) {
        let body = json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": "subscriptions/listen",
            "params": {"_meta": meta(), "notifications": filter},
        });
        let stream = self.sb.http_send(
            "POST",
            path,
            &self.headers("subscriptions/listen", None),
            &body.to_string(),
        );
        let reader = stream.try_clone().unwrap();
        (stream, messages(reader))
    }

    fn call(&self, tool: &str) {
        let answer = self.request(
            "/mcp/everything",
            "tools/call",
            Some(tool),
            json!({"name": tool, "arguments": {}}),
        );
        assert_eq!(answer["result"]["resultType"], "complete", "{answer}");
    }
}

/// A daemon running server-everything, and the authorization of a client `watcher`.
fn everything() -> (Sandbox, String) {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    let auth = format!("Bearer {}", sb.ok(&["token", "create", "watcher"]).trim());
    (sb, auth)
}

fn open_sessions(sb: &Sandbox) -> u64 {
    let status: Value = serde_json::from_str(&sb.ok(&["status", "--json"])).unwrap();
    status["sessions"].as_u64().unwrap()
}

/// The next message on `listen` that `pick` accepts; every one before it must be tagged.
fn next_tagged(listen: &Receiver<Value>, id: &Value, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
    wait_until(what, PATIENCE, || {
        let message = listen.recv_timeout(PATIENCE).ok()?;
        assert_eq!(
            message["params"]["_meta"][SUBSCRIPTION_ID], *id,
            "every message of a listen is tagged: {message}"
        );
        assert_ne!(message["method"], "notifications/message", "no logs on a listen");
        pick(&message).then_some(message)
    })
}

#[test]
fn a_listen_is_acknowledged_then_gets_what_it_asked_for_tagged_until_its_client_goes() {
    let (sb, auth) = everything();
    let client = Client { sb: &sb, auth };
    let listed = client.request("/mcp/everything", "resources/list", None, json!({}));
    let uri = listed["result"]["resources"][0]["uri"]
        .as_str()
        .unwrap()
        .to_owned();

    let filter = json!({"toolsListChanged": true, "resourceSubscriptions": [uri]});
    let id = json!("watch-1");
    let (connection, listen) = client.listen("/mcp/everything", &id, filter);
    let ack = listen.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        ack["method"], "notifications/subscriptions/acknowledged",
        "the acknowledgement comes first: {ack}"
    );
    assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], "watch-1");
    assert_eq!(
        ack["params"]["notifications"],
        json!({"toolsListChanged": true, "resourceSubscriptions": [uri]}),
        "server-everything offers tool list changes and subscriptions, and nothing more was asked"
    );
    wait_until("the listen to count as a session", PATIENCE, || {
        (open_sessions(&sb) == 1).then_some(())
    });

    client.call("toggle-subscriber-updates");
    let updated = next_tagged(&listen, &id, "an update of the resource", |m| {
        m["method"] == "notifications/resources/updated"
    });
    assert_eq!(updated["params"]["uri"], uri.as_str());
    client.call("toggle-subscriber-updates");

    // Closing the stream ends the listen, and with it the subscription. The daemon learns of
    // the close only by writing (it keeps half-closed connections): the first keep-alive after
    // it is accepted and answered with a reset, the second fails.
    connection.shutdown(Shutdown::Both).unwrap();
    wait_until("the listen to end", 2 * KEEP_ALIVE + PATIENCE, || {
        (open_sessions(&sb) == 0).then_some(())
    });
}

#[test]
fn a_listen_on_the_aggregate_hears_a_server_join() {
    let (sb, auth) = everything();
    let client = Client { sb: &sb, auth };
    let filter = json!({"toolsListChanged": true, "promptsListChanged": false});
    let id = json!(7);
    let (_connection, listen) = client.listen("/mcp", &id, filter);
    let ack = listen.recv_timeout(PATIENCE).unwrap();
    assert_eq!(ack["method"], "notifications/subscriptions/acknowledged", "{ack}");
    assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], 7);
    assert_eq!(ack["params"]["notifications"], json!({"toolsListChanged": true}));

    sb.ok(&["add", "time", "--", &time_server()]);
    let changed = next_tagged(&listen, &id, "the aggregate's tools to change", |m| {
        m["method"].as_str().is_some_and(|m| m.ends_with("list_changed"))
    });
    assert_eq!(
        changed["method"], "notifications/tools/list_changed",
        "only the list type asked for: {changed}"
    );
}

#[test]
fn a_session_hears_a_stateless_servers_list_changes_and_updates_of_what_it_subscribed_to() {
    let sb = Sandbox::with_daemon();
    let server = node_script("servers/conformance_server.mjs");
    sb.ok(&[
        "add",
        "modern",
        "--protocol",
        "stateless",
        "--",
        "node",
        &server.0.display().to_string(),
    ]);
    sb.wait_state("modern", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let clients = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/clients");
    let mut python = Command::new(tools_dir().join("venv/bin/python"));
    python.arg(clients.join("sdk_client.py")).args([
        "notices",
        &format!("http://127.0.0.1:{}", sb.port()),
        "/mcp/modern",
    ]);
    let seen = run_client(python, &token);
    // After the unsubscription the server's update went nowhere: the list change after it is
    // the next thing the client heard.
    assert_eq!(
        seen["seen"],
        json!([
            "notifications/resources/updated",
            "notifications/tools/list_changed",
            "notifications/tools/list_changed",
        ]),
        "{seen}"
    );
}

//! End to end: credentials in tool traffic. The real server-everything (npm), whose `echo`
//! tool returns what it is sent, behind a daemon that records payloads; the official Python
//! and TypeScript SDK clients call it with a planted secret of the person's and a cloud key.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{OfferedClient, Sandbox, assert_no_leak, everything_server, sdk_typescript, wait_until};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);
/// A value kept in the keychain as one of the server's secrets.
const PLANTED: &str = "planted-4f9c2e71d0b8";
/// The example access key of AWS's documentation: the shape of a real one.
const AWS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

fn echo_calls() -> String {
    json!({"echo": {"message": format!("use {AWS_KEY} with {PLANTED}")}}).to_string()
}

fn echoed(seen: &Value) -> String {
    let text = &seen["calls"]["echo"]["text"];
    text.as_str()
        .unwrap_or_else(|| panic!("echo was not answered: {seen}"))
        .to_owned()
}

/// The newest call in the history, with its payloads.
fn newest_call(sb: &Sandbox, after: usize) -> Value {
    wait_until("the call in the history", START, || {
        let calls = sb.json(&["history", "--server", "everything"]);
        let calls = calls.as_array().unwrap().clone();
        (calls.len() > after).then(|| calls[0].clone())
    })
}

fn assert_redacted_in_history(call: &Value) {
    let recorded = call.to_string();
    assert!(
        !recorded.contains(AWS_KEY) && !recorded.contains(PLANTED),
        "{recorded}"
    );
    let arguments = call["arguments"]["message"].as_str().unwrap();
    assert_eq!(arguments, "use [redacted AWS access key] with [redacted secret]");
}

#[test]
fn a_result_holding_a_credential_is_redacted_for_the_client_and_in_the_history() {
    let mut sb = Sandbox::new();
    sb.start_daemon_with(&["--record-payloads"]);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    assert!(
        sb.set_secret("everything", "PLANTED_TOKEN", PLANTED)
            .status
            .success()
    );
    sb.wait_state("everything", "running", START);
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let base = format!("http://127.0.0.1:{}", sb.port());

    // Redacted (the default): the client gets each credential replaced by its kind.
    let seen = sdk_typescript(&["offered", &base, "/mcp/everything", &echo_calls()], &token);
    assert_eq!(
        echoed(&seen),
        "Echo: use [redacted AWS access key] with [redacted secret]",
        "{seen}"
    );
    let call = newest_call(&sb, 0);
    assert_redacted_in_history(&call);
    assert!(call["result"].to_string().contains("[redacted secret]"), "{call}");
    assert_eq!(sb.json(&["secrets", "guard", "everything"])["results"], "redact");

    // Blocked: the Python client is told the result was withheld, and why.
    sb.ok(&["secrets", "guard", "everything", "block"]);
    let seen = OfferedClient::start(&sb, "/mcp/everything", &echo_calls(), &token, None).first();
    assert_eq!(seen["calls"]["echo"]["error"], true, "{seen}");
    let told = echoed(&seen);
    assert!(
        told.contains("withheld this result") && told.contains("AWS access key, secret"),
        "{told}"
    );
    assert!(!told.contains(AWS_KEY) && !told.contains(PLANTED), "{told}");

    // Allowed: the client gets the result as sent; the history is redacted all the same.
    sb.ok(&["secrets", "guard", "everything", "allow"]);
    let seen = sdk_typescript(&["offered", &base, "/mcp/everything", &echo_calls()], &token);
    assert_eq!(
        echoed(&seen),
        format!("Echo: use {AWS_KEY} with {PLANTED}"),
        "{seen}"
    );
    assert_redacted_in_history(&newest_call(&sb, 2));

    // Neither is in the data directory (the history's database, the daemon's log), a command
    // line or an answer of the control API.
    assert_no_leak(&sb, PLANTED);
    assert_no_leak(&sb, AWS_KEY);
}

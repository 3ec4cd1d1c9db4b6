//! Secret values against a real keychain: GNOME Keyring's Secret Service on the private D-Bus
//! session `scripts/with-keychain.sh` gives the test run. Values go in through stdin, reach
//! the server's process at spawn, and appear nowhere else.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::process::{Output, Stdio};
use std::time::Duration;

use common::{Sandbox, assert_no_leak, echo_server, everything_server};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

/// `switchboard secrets set SERVER NAME` with `value` on stdin.
fn set_secret(sb: &Sandbox, server: &str, name: &str, value: &str) -> Output {
    let mut child = sb
        .command()
        .args(["secrets", "set", server, name, "--json"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(value.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn environ(pid: &Value) -> String {
    let bytes = std::fs::read(format!("/proc/{}/environ", pid.as_u64().unwrap())).unwrap();
    String::from_utf8_lossy(&bytes).replace('\0', "\n")
}

fn running_with_everything(sb: &Sandbox) -> Value {
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("everything", "running", START)
}

/// A literal `--env` value was stored in SQLite, where another user read it from the WAL.
#[test]
fn credentials_given_to_add_are_kept_in_the_keychain_not_in_switchboards_files() {
    let sb = Sandbox::with_daemon();
    let echo = echo_server().display().to_string();
    let mut child = sb
        .command()
        .args([
            "add",
            "tool",
            "--env",
            "OPENAI_API_KEY=sk-literal-planted",
            "--env",
            "LOG_LEVEL=debug",
        ])
        .args(["--secret", "SERVICE_PASS_PHRASE", "--", &echo])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"phrase-planted\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(
        said.contains("kept in the keychain") && said.contains("OPENAI_API_KEY, SERVICE_PASS_PHRASE"),
        "{said}"
    );
    let view = sb.wait_state("tool", "running", START);
    let env = &view["transport"]["env"];
    assert_eq!(
        env["OPENAI_API_KEY"],
        json!({"secret": "tool/OPENAI_API_KEY"}),
        "{view}"
    );
    assert_eq!(
        env["SERVICE_PASS_PHRASE"],
        json!({"secret": "tool/SERVICE_PASS_PHRASE"}),
        "{view}"
    );
    assert_eq!(env["LOG_LEVEL"], "debug", "not a credential: stays as given");
    let seen = environ(&view["status"]["pid"]);
    assert!(seen.contains("OPENAI_API_KEY=sk-literal-planted\n"), "{seen}");
    assert!(seen.contains("SERVICE_PASS_PHRASE=phrase-planted\n"), "{seen}");
    assert_no_leak(&sb, "sk-literal-planted");
    assert_no_leak(&sb, "phrase-planted");
}

#[test]
fn a_secret_reaches_the_process_at_spawn_and_nothing_else() {
    let sb = Sandbox::with_daemon();
    let first = running_with_everything(&sb);

    let out = set_secret(&sb, "everything", "API_TOKEN", "tok-123-secret\n");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = sb.wait_state("everything", "running", START);
    assert_ne!(
        view["status"]["pid"], first["status"]["pid"],
        "it restarted to see the value"
    );
    assert_eq!(
        view["transport"]["env"]["API_TOKEN"],
        json!({"secret": "everything/API_TOKEN"})
    );
    assert!(environ(&view["status"]["pid"]).contains("API_TOKEN=tok-123-secret\n"));
    assert_eq!(
        sb.json(&["secrets", "ls", "everything"]),
        json!([{"name": "API_TOKEN", "key": "everything/API_TOKEN", "set": true}])
    );
    assert_no_leak(&sb, "tok-123-secret");

    // A new value: the server restarts with it.
    let out = set_secret(&sb, "everything", "API_TOKEN", "tok-456-secret");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = sb.wait_state("everything", "running", START);
    assert!(environ(&view["status"]["pid"]).contains("API_TOKEN=tok-456-secret\n"));

    sb.ok(&["secrets", "unset", "everything", "API_TOKEN"]);
    let view = sb.wait_state("everything", "running", START);
    assert!(view["transport"]["env"].get("API_TOKEN").is_none(), "{view}");
    assert_eq!(sb.json(&["secrets", "ls", "everything"]), json!([]));
    let out = sb.cli(&["secrets", "unset", "everything", "API_TOKEN"]);
    assert_eq!(out.status.code(), Some(4), "no such secret any more");

    // A spec that refers to a secret nobody set fails with how to set it.
    sb.ok(&["rm", "everything"]);
    let spec = json!({
        "name": "everything",
        "transport": {"type": "stdio", "command": everything_server(),
                      "env": {"API_TOKEN": {"secret": "everything/API_TOKEN"}}},
    });
    let auth = format!("Bearer {}", sb.token());
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
    ];
    let (status, body) = sb.http("POST", "/api/v1/servers?wait=30", &headers, &spec.to_string());
    assert_eq!(status, 201, "{body}");
    let failed = sb.wait_state("everything", "failed", START);
    let reason = &failed["status"]["reason"];
    assert_eq!(reason["kind"], "secret_unavailable", "{failed}");
    assert!(
        reason["message"]
            .as_str()
            .unwrap()
            .contains("switchboard secrets set everything API_TOKEN"),
        "{failed}"
    );
}

#[test]
fn without_a_keychain_secrets_fail_clearly_unless_the_file_store_is_chosen() {
    let no_bus = [("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")];
    let mut sb = Sandbox::with_env(&no_bus);
    sb.start_daemon();
    running_with_everything(&sb);
    let out = set_secret(&sb, "everything", "API_TOKEN", "tok-789-secret");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no keychain can be reached"), "{stderr}");
    assert!(stderr.contains("SWITCHBOARD_SECRETS=file"), "{stderr}");
    let view = sb.server("everything");
    assert!(
        view["transport"]["env"].get("API_TOKEN").is_none(),
        "nothing changed: {view}"
    );
    let doctor = sb.json(&["doctor"]);
    assert!(
        doctor["secrets"]["error"]
            .as_str()
            .unwrap()
            .contains("no keychain"),
        "{doctor}"
    );
    assert!(
        !std::fs::read_dir(sb.home())
            .unwrap()
            .flatten()
            .any(|e| e.file_name() == "secrets.json")
    );

    // The explicit opt-in: a file only its owner can read.
    let mut sb = Sandbox::with_env(&[no_bus[0], ("SWITCHBOARD_SECRETS", "file")]);
    sb.start_daemon();
    running_with_everything(&sb);
    let out = set_secret(&sb, "everything", "API_TOKEN", "tok-789-secret");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = sb.wait_state("everything", "running", START);
    assert!(environ(&view["status"]["pid"]).contains("API_TOKEN=tok-789-secret\n"));
    let file = sb.home().join("secrets.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&file).unwrap().contains("tok-789-secret"));
}

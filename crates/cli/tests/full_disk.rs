//! End to end: a full disk is loud and recoverable. The daemon's data directory sits on a
//! small tmpfs that the test fills while tool calls go through the gateway: calls keep being
//! answered, the history they cannot join is counted and reported (status, an event), a
//! change the user asks for is refused naming the file and what to do, and once space is
//! freed every held call is written and writing goes on. Run records (a server's starts and
//! exits) the disk keeps out are counted and said, and a secret set while the disk is full
//! (`SWITCHBOARD_SECRETS=file`) fails naming the file, leaving nothing half-written.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::time::Duration;

use common::{Sandbox, echo_server, wait_until};
use serde_json::Value;

/// A tmpfs mounted over a directory for as long as it lives.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(at: &Path, size: &str) -> Self {
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0700"), "tmpfs"])
            .arg(at)
            .status()
            .unwrap();
        assert!(status.success(), "cannot mount a tmpfs (the test runs as root)");
        Self(at.to_owned())
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

/// Keeps the disk full: writes zeros into `path` until the disk refuses more, and again
/// whenever space frees up (SQLite gives some back when a write fails), until `path` is
/// removed. Returns once the disk is first full.
fn keep_full(path: &Path) {
    let (full, filled) = mpsc::channel();
    let path = path.to_owned();
    std::thread::spawn(move || {
        let mut file = std::fs::File::create(&path).unwrap();
        let mut told = false;
        while path.exists() {
            for block in [64 * 1024, 1] {
                while file.write_all(&vec![0u8; block]).is_ok() {}
            }
            if !told {
                told = full.send(()).is_ok();
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    });
    filled.recv().unwrap();
}

/// One tool call through the gateway in the stateless revision: a request of its own.
fn echo(sb: &Sandbox, token: &str, word: &str) -> Value {
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{{"name":"echo","arguments":{{"message":"{word}"}},"_meta":{{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{{}}}}}}}}"#
    );
    let auth = format!("Bearer {token}");
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
        ("MCP-Protocol-Version", "2026-07-28"),
        ("Mcp-Method", "tools/call"),
        ("Mcp-Name", "echo"),
    ];
    let (status, response) = sb.http("POST", "/mcp/echo", &headers, &body);
    assert_eq!(status, 200, "{response}");
    serde_json::from_str(response.split("\r\n\r\n").nth(1).unwrap()).unwrap()
}

fn events(sb: &Sandbox) -> mpsc::Receiver<Value> {
    let auth = format!("Bearer {}", sb.token());
    let stream = sb.http_send("GET", "/api/v1/events", &[("Authorization", auth.as_str())], "");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { return };
            if let Some(event) = line
                .strip_prefix("data: ")
                .and_then(|d| serde_json::from_str(d).ok())
                && tx.send(event).is_err()
            {
                return;
            }
        }
    });
    rx
}

#[test]
fn a_full_disk_is_reported_loses_no_history_and_writing_resumes_when_space_returns() {
    let mut sb = Sandbox::new();
    let _tmpfs = Tmpfs::mount(sb.home(), "24m");
    sb.start_daemon();
    sb.ok(&["add", "echo", "--", &echo_server().display().to_string()]);
    sb.wait_state("echo", "running", Duration::from_secs(60));
    let token = sb.ok(&["token", "create", "loader"]).trim().to_owned();
    let events = events(&sb);
    let filler = sb.home().join("filler");
    keep_full(&filler);

    // Calls go on being answered while the history cannot take them; at some point (when
    // the database's log must grow) the daemon says so.
    let mut made = 0;
    let status = wait_until(
        "the daemon to report unwritten calls",
        Duration::from_secs(120),
        || {
            for _ in 0..20 {
                made += 1;
                let answer = echo(&sb, &token, &format!("call-{made}"));
                assert_eq!(
                    answer["result"]["content"][0]["text"],
                    format!("call-{made}"),
                    "{answer}"
                );
            }
            let status = sb.json(&["status"]);
            (status["unwritten"]["calls_waiting"].as_u64()? > 0).then_some(status)
        },
    );
    let problem = status["unwritten"]["problem"].as_str().unwrap().to_owned();
    assert!(
        problem.contains("is full") && problem.contains("switchboard.db"),
        "{problem}"
    );
    let event = wait_until("a records_unwritten event", Duration::from_secs(10), || {
        events.try_iter().find(|e| e["type"] == "records_unwritten")
    });
    assert!(event["records"]["problem"].as_str().is_some(), "{event}");
    let plain = sb.ok(&["status"]);
    assert!(plain.contains("records not being written"), "{plain}");

    // What the user asks for is refused, naming the file and what to do; nothing half-done.
    let out = sb.cli(&["add", "later", "--disabled", "--", "true"]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains("switchboard.db") && said.contains("free some space"),
        "{said}"
    );

    // Space returns: every held call is written, and writing goes on.
    std::fs::remove_file(&filler).unwrap();
    wait_until("the held calls to be written", Duration::from_secs(30), || {
        let status = sb.json(&["status"]);
        let unwritten = &status["unwritten"];
        (unwritten["calls_waiting"] == 0 && unwritten["problem"].is_null()).then_some(())
    });
    assert_eq!(sb.json(&["status"])["unwritten"]["calls_lost"], 0);
    let recovered = wait_until(
        "a records_unwritten event saying writing works",
        Duration::from_secs(10),
        || {
            events
                .try_iter()
                .find(|e| e["type"] == "records_unwritten" && e["records"]["problem"].is_null())
        },
    );
    assert_eq!(recovered["records"]["calls_lost"], 0);
    made += 1;
    echo(&sb, &token, &format!("call-{made}"));
    wait_until("every call in the history", Duration::from_secs(10), || {
        let history = sb.json(&["history", "-n", "10000"]);
        (history.as_array().unwrap().len() == made).then_some(())
    });
    sb.ok(&["add", "later", "--disabled", "--", "true"]);
    sb.stop_daemon();
}

/// The pid of `name`'s running process.
fn pid_of(sb: &Sandbox, name: &str) -> u64 {
    sb.server(name)["status"]["pid"].as_u64().unwrap()
}

#[test]
fn run_records_a_full_disk_keeps_out_are_counted_and_recording_resumes_when_space_returns() {
    let mut sb = Sandbox::new();
    let _tmpfs = Tmpfs::mount(sb.home(), "24m");
    sb.start_daemon();
    sb.ok(&["add", "echo", "--", &echo_server().display().to_string()]);
    sb.wait_state("echo", "running", Duration::from_secs(60));
    let recorded_before = sb.runs("echo").len();
    let events = events(&sb);
    let filler = sb.home().join("filler");
    keep_full(&filler);

    // Restarts (an exit and a start each) go on while their records cannot be written; at
    // some point (when the database's log must grow) the daemon counts them and says why.
    let mut restarts = 0;
    let status = wait_until(
        "the daemon to count unwritten run records",
        Duration::from_secs(120),
        || {
            restarts += 1;
            sb.ok(&["restart", "echo"]);
            sb.wait_state("echo", "running", Duration::from_secs(60));
            let status = sb.json(&["status"]);
            (status["unwritten"]["runs_lost"].as_u64()? > 0).then_some(status)
        },
    );
    // Said at once, with why (a later record may be written again before `status` asks).
    let event = wait_until("a records_unwritten event", Duration::from_secs(10), || {
        events
            .try_iter()
            .find(|e| e["type"] == "records_unwritten" && e["records"]["runs_lost"].as_u64() > Some(0))
    });
    let problem = event["records"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.contains("is full") && problem.contains("switchboard.db"),
        "{event} (status: {status})"
    );
    let plain = sb.ok(&["status"]);
    assert!(plain.contains("server runs lost"), "{plain}");
    assert!(
        sb.runs("echo").len() < recorded_before + restarts,
        "some restarts are missing from the runs"
    );

    // Space returns: the next run is recorded, and the problem is over; what was lost stays
    // counted, so the gap in the runs is explained.
    std::fs::remove_file(&filler).unwrap();
    let lost = status["unwritten"]["runs_lost"].as_u64().unwrap();
    sb.ok(&["restart", "echo"]);
    sb.wait_state("echo", "running", Duration::from_secs(60));
    let pid = pid_of(&sb, "echo");
    wait_until("the new run to be recorded", Duration::from_secs(30), || {
        let runs = sb.runs("echo");
        (runs[0]["pid"].as_u64() == Some(pid) && runs[0]["ready_at_ms"].is_i64()).then_some(())
    });
    let status = wait_until("writing to work again", Duration::from_secs(30), || {
        let status = sb.json(&["status"]);
        status["unwritten"]["problem"].is_null().then_some(status)
    });
    assert!(
        status["unwritten"]["runs_lost"].as_u64().unwrap() >= lost,
        "{status}"
    );
    wait_until(
        "a records_unwritten event saying writing works",
        Duration::from_secs(10),
        || {
            events
                .try_iter()
                .find(|e| e["type"] == "records_unwritten" && e["records"]["problem"].is_null())
        },
    );
    sb.stop_daemon();
}

#[test]
fn a_secret_set_on_a_full_disk_fails_naming_the_file_and_leaves_nothing_behind() {
    let mut sb = Sandbox::with_env(&[("SWITCHBOARD_SECRETS", "file")]);
    let _tmpfs = Tmpfs::mount(sb.home(), "24m");
    sb.start_daemon();
    sb.ok(&[
        "add",
        "echo",
        "--disabled",
        "--",
        &echo_server().display().to_string(),
    ]);
    let first = sb.set_secret("echo", "API_TOKEN", "kept-before-5150");
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    let file = sb.home().join("secrets.json");
    let before = std::fs::read(&file).unwrap();
    let filler = sb.home().join("filler");
    keep_full(&filler);

    let out = sb.set_secret("echo", "OTHER_TOKEN", "never-stored-8086");
    let said = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{said}");
    assert!(
        said.contains(&file.display().to_string())
            && said.contains("disk is full")
            && said.contains("free some space"),
        "{said}"
    );
    let left: Vec<String> = std::fs::read_dir(sb.home())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with("secrets"))
        .collect();
    assert_eq!(left, ["secrets.json"], "no temporary file is left");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        before,
        "the secrets stored before are unchanged"
    );
    let view = sb.server("echo");
    assert!(
        view["transport"]["env"].get("OTHER_TOKEN").is_none(),
        "the spec names no secret that was not stored: {view}"
    );

    // Space returns: the same request works.
    std::fs::remove_file(&filler).unwrap();
    let again = sb.set_secret("echo", "OTHER_TOKEN", "stored-now-8086");
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let all = std::fs::read_to_string(&file).unwrap();
    assert!(
        all.contains("kept-before-5150") && all.contains("stored-now-8086"),
        "{all}"
    );
    sb.stop_daemon();
}

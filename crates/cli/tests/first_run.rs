//! The first run, end to end: a home whose Claude Desktop, Cursor and VS Code configs hold
//! four servers (two from npm, two from PyPI, one needing an API key given in its env), a
//! real daemon, and the dashboard in a real browser (`tests/ui/first_run.mjs`). Two clicks
//! later every client reaches every server through Switchboard, exactly once, as that client
//! would launch its entry (the shim for Claude Desktop, HTTP for the others), checked with
//! the official Python SDK; the key lives in the keychain and in no file. One more click undoes
//! all of it.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{Sandbox, assert_no_leak, everything_server, node_script, time_server, tools_dir, use_entry};
use serde_json::{Value, json};

const KEY: &str = "first-run-key-5c2e91d0";

fn write_json(path: &Path, value: &Value) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, serde_json::to_vec_pretty(value).unwrap()).unwrap();
}

/// The clients' files as a user has them before Switchboard: `time` is in two of them.
fn clients_with_servers(sb: &Sandbox) -> [std::path::PathBuf; 3] {
    let home = sb.user_home();
    let memory = tools_dir().join("npm/node_modules/.bin/mcp-server-memory");
    let keyed = r#"test -n "$BRAVE_API_KEY" || { echo "missing BRAVE_API_KEY" >&2; exit 1; }; exec "$0""#;
    let claude = home.join(".config/Claude/claude_desktop_config.json");
    write_json(
        &claude,
        &json!({"mcpServers": {
            "memory": {"command": memory, "env": {"MEMORY_FILE_PATH": home.join("memory.jsonl")}},
            "keyed": {"command": "sh", "args": ["-c", keyed, time_server()], "env": {"BRAVE_API_KEY": KEY}},
        }}),
    );
    let cursor = home.join(".cursor/mcp.json");
    write_json(
        &cursor,
        &json!({"mcpServers": {
            "everything": {"command": everything_server()},
            "time": {"command": time_server()},
        }}),
    );
    let vscode = home.join(".config/Code/User/mcp.json");
    write_json(
        &vscode,
        &json!({"servers": {"time": {"type": "stdio", "command": time_server()}}}),
    );
    [claude, cursor, vscode]
}

/// A client's servers after the first run: its one Switchboard entry, and nothing else.
fn only_entry(path: &Path, key: &str) -> Value {
    let config: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let servers = config[key].as_object().unwrap();
    assert_eq!(servers.len(), 1, "one entry left in {}: {config}", path.display());
    servers.values().next().unwrap().clone()
}

#[test]
fn the_first_run_routes_every_clients_servers_through_switchboard_in_two_clicks() {
    let sb = Sandbox::with_user_home();
    let [claude, cursor, vscode] = clients_with_servers(&sb);
    let shots = std::env::var_os("SWITCHBOARD_SCREENSHOTS")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| sb.home().join("screenshots"));
    let sign_in = sb.ok(&["open", "--no-browser"]);
    let script = node_script("ui/first_run.mjs");
    let before: Vec<Vec<u8>> = [&claude, &cursor, &vscode]
        .iter()
        .map(|f| std::fs::read(f).unwrap())
        .collect();
    let started = Instant::now();
    let mut node = Command::new("node")
        .arg(&script.0)
        .arg(sign_in.trim())
        .arg(&shots)
        .env("FIRST_RUN_SECRET", KEY)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut said = BufReader::new(node.stdout.take().unwrap()).lines();
    let Some(Ok(line)) = said.next() else {
        panic!("the first run failed in the browser: {:?}", node.wait());
    };
    let browser: Value = serde_json::from_str(&line).unwrap();
    assert!(browser["clicks"].as_u64().unwrap() <= 3, "{browser}");

    // Four servers, the two `time` entries merged into one, all running.
    let mut names: Vec<String> = sb
        .json(&["ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["everything", "keyed", "memory", "time"]);
    for name in &names {
        sb.wait_state(name, "running", Duration::from_secs(90));
    }

    // Each client, launched as it would launch its entry, sees every server's tools once.
    let calls = json!({
        "time__get_current_time": {"timezone": "UTC"},
        "keyed__get_current_time": {"timezone": "UTC"},
        "everything__echo": {"message": "first run"},
        "memory__read_graph": {},
    });
    let entries = [
        ("Claude Desktop", only_entry(&claude, "mcpServers")),
        ("Cursor", only_entry(&cursor, "mcpServers")),
        ("VS Code", only_entry(&vscode, "servers")),
    ];
    assert!(
        entries[0].1["command"].is_string(),
        "Claude Desktop launches the shim: {}",
        entries[0].1
    );
    for (client, entry) in &entries[1..] {
        assert!(
            entry["url"].is_string(),
            "{client} reaches the gateway over HTTP: {entry}"
        );
    }
    for (client, entry) in &entries {
        let seen = use_entry(entry, &calls);
        let tools: Vec<&str> = seen["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        let mut unique = tools.clone();
        unique.dedup();
        assert_eq!(unique.len(), tools.len(), "{client} sees a tool twice: {tools:?}");
        for server in &names {
            assert!(
                tools.iter().any(|t| t.starts_with(&format!("{server}__"))),
                "{client} lacks {server}'s tools: {tools:?}"
            );
        }
        for (tool, result) in seen["calls"].as_object().unwrap() {
            assert_eq!(result["is_error"], false, "{client}: {tool} answered {result}");
        }
    }
    println!(
        "first run: done in the browser after {} ms, every client working after {} ms",
        browser["done_ms"],
        started.elapsed().as_millis()
    );

    // The key reached the server from the keychain, and is in no client's file.
    let secrets = sb.json(&["secrets", "ls", "keyed"]);
    assert_eq!(secrets[0]["name"], "BRAVE_API_KEY", "{secrets}");
    assert_eq!(secrets[0]["set"], true, "{secrets}");
    for file in [&claude, &cursor, &vscode] {
        let text = std::fs::read_to_string(file).unwrap();
        assert!(!text.contains(KEY), "the key is still in {}", file.display());
    }
    // Nor in Switchboard's own files: the journal keeps Claude Desktop's old bytes sealed.
    assert_no_leak(&sb, KEY);

    // One more click undoes all of it: each file as it was, byte for byte, and no server left.
    writeln!(node.stdin.as_mut().unwrap(), "undo").unwrap();
    let Some(Ok(line)) = said.next() else {
        panic!("undoing failed in the browser: {:?}", node.wait());
    };
    assert_eq!(line, r#"{"undone":true}"#);
    assert!(node.wait().unwrap().success());
    for (file, bytes) in [&claude, &cursor, &vscode].iter().zip(&before) {
        assert_eq!(
            &std::fs::read(file).unwrap(),
            bytes,
            "{} is as it was",
            file.display()
        );
    }
    assert_eq!(sb.json(&["ls"]), json!([]));
}

//! End to end: `switchboard clients` writing real config files in a home directory of the
//! daemon's own, and the entries it writes used the way the clients use them, by the official
//! Python MCP SDK (a launched program for Claude Desktop, a URL and headers for Cursor), in
//! front of real servers.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::{Sandbox, everything_server, time_server, wait_until};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

fn corpus(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../clients/tests/corpus")
        .join(name);
    std::fs::read(path).unwrap()
}

fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// Connects with the Python SDK as a client would from `entry` (its config entry).
fn use_entry(entry: &Value) -> Value {
    common::use_entry(entry, &json!({}))
}

fn with_time_server() -> Sandbox {
    let sb = Sandbox::with_user_home();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", START);
    sb
}

fn client_state(sb: &Sandbox, id: &str) -> Value {
    let all = sb.json(&["clients"]);
    all.as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap()
        .clone()
}

#[test]
fn claude_desktops_entry_launches_the_shim_and_lists_the_tools() {
    let sb = with_time_server();
    let file = sb.user_home().join(".config/Claude/claude_desktop_config.json");
    put(&file, &corpus("claude-desktop.json"));
    let out = sb.json(&["clients", "connect", "claude-desktop", "--servers", "time"]);
    assert_eq!(
        out["files"][0]["entries"],
        json!([{"entry": "time", "change": "added"}]),
        "{out}"
    );

    let config: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()[3..]).unwrap();
    let entry = &config["mcpServers"]["time"];
    assert!(
        Path::new(entry["command"].as_str().unwrap()).is_absolute(),
        "{entry}"
    );
    assert_eq!(entry["args"], json!(["connect", "time"]));
    assert!(
        entry["env"]["SWITCHBOARD_TOKEN"]
            .as_str()
            .unwrap()
            .starts_with("sbc_")
    );
    // The app's own keys and the user's server are still there.
    assert_eq!(config["preferences"]["menuBarEnabled"], false);
    assert_eq!(config["mcpServers"]["filesystem"]["command"], "npx");

    let seen = use_entry(entry);
    assert_eq!(seen["server"], "mcp-time", "{seen}");
    assert!(
        seen["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("get_current_time")),
        "{seen}"
    );
    // The history knows which client called.
    let tokens = sb.json(&["token", "ls"]);
    assert!(
        tokens
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "claude-desktop"),
        "{tokens}"
    );
}

#[test]
fn an_http_entry_works_with_the_python_sdk_and_connect_is_idempotent() {
    let sb = with_time_server();
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.wait_state("everything", "running", START);
    let file = sb.user_home().join(".cursor/mcp.json");
    let original = corpus("cursor.json");
    put(&file, &original);

    let preview = sb.json(&["clients", "connect", "cursor", "--dry-run"]);
    let diff = preview["files"][0]["diff"].as_str().unwrap();
    let added = |needle: &str| diff.lines().any(|l| l.starts_with('+') && l.contains(needle));
    assert!(added("\"switchboard\": {") && added("/mcp\""), "{diff}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "a dry run writes nothing"
    );

    sb.ok(&["clients", "connect", "cursor"]);
    let connected = std::fs::read(&file).unwrap();
    let config: Value = serde_json::from_slice(&connected).unwrap();
    let entry = &config["mcpServers"]["switchboard"];
    assert_eq!(entry["url"], format!("http://127.0.0.1:{}/mcp", sb.port()));
    let seen = use_entry(entry);
    let tools = seen["tools"].as_array().unwrap();
    assert!(
        tools.contains(&json!("time__get_current_time")) && tools.contains(&json!("everything__echo")),
        "{seen}"
    );

    let again = sb.json(&["clients", "connect", "cursor"]);
    assert_eq!(again["files"][0]["changed"], false, "{again}");
    assert_eq!(
        std::fs::read(&file).unwrap(),
        connected,
        "connecting twice changes nothing"
    );

    // Per-server entries replace the aggregate one; the token stays the same.
    sb.ok(&["clients", "connect", "cursor", "--servers", "time,everything"]);
    let config: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(config["mcpServers"].get("switchboard").is_none(), "{config}");
    assert_eq!(config["mcpServers"]["time"]["headers"], entry["headers"]);
    let seen = use_entry(&config["mcpServers"]["everything"]);
    assert!(
        seen["tools"].as_array().unwrap().contains(&json!("echo")),
        "{seen}"
    );

    sb.ok(&["clients", "disconnect", "cursor"]);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        original,
        "disconnect gives back the original bytes"
    );
    // The token is gone with the entries.
    let tokens = sb.json(&["token", "ls"]);
    assert!(
        tokens.as_array().unwrap().iter().all(|t| t["name"] != "cursor"),
        "{tokens}"
    );
}

#[test]
fn realistic_files_of_every_format_keep_every_byte() {
    let sb = with_time_server();
    let home = sb.user_home().to_owned();
    let cases = [
        (
            "claude-desktop",
            "claude-desktop.json",
            home.join(".config/Claude/claude_desktop_config.json"),
        ),
        ("vscode", "vscode.jsonc", home.join(".config/Code/User/mcp.json")),
        ("zed", "zed.jsonc", home.join(".config/zed/settings.json")),
        ("codex", "codex.toml", home.join(".codex/config.toml")),
        ("goose", "goose.yaml", home.join(".config/goose/config.yaml")),
        ("continue", "continue.yaml", home.join(".continue/config.yaml")),
        (
            "opencode",
            "opencode.jsonc",
            home.join(".config/opencode/opencode.json"),
        ),
    ];
    for (client, name, path) in &cases {
        let original = corpus(name);
        put(path, &original);
        sb.ok(&["clients", "connect", client, "--servers", "time"]);
        let connected = std::fs::read(path).unwrap();
        assert_ne!(connected, original, "{client}");
        let text = String::from_utf8(connected.clone()).unwrap();
        assert!(
            text.contains("/mcp/time") || text.contains("\"time\""),
            "{client}: {text}"
        );
        let again = sb.json(&["clients", "connect", client, "--servers", "time"]);
        assert_eq!(again["files"][0]["changed"], false, "{client}: {again}");
        assert_eq!(std::fs::read(path).unwrap(), connected, "{client}");
        sb.ok(&["clients", "disconnect", client]);
        assert_eq!(
            std::fs::read(path).unwrap(),
            original,
            "{client}: {name} is back byte for byte"
        );
    }
    // A client without a file gets one, owner-only, and loses it again on disconnect.
    let kiro = home.join(".kiro/settings/mcp.json");
    sb.ok(&["clients", "connect", "kiro"]);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&kiro).unwrap().permissions().mode() & 0o777,
        0o600
    );
    sb.ok(&["clients", "disconnect", "kiro"]);
    assert!(
        !kiro.exists(),
        "a file Switchboard created is removed with its last entry"
    );
}

#[test]
fn an_unparseable_file_is_refused_and_left_untouched() {
    let sb = Sandbox::with_user_home();
    let file = sb.user_home().join(".config/zed/settings.json");
    let broken = b"{\n  \"theme\": \"One Dark\"\n  \"vim_mode\": true\n}\n";
    put(&file, broken);
    let out = sb.cli(&["clients", "connect", "zed"]);
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(&file.display().to_string()) && stderr.contains("line 3"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read(&file).unwrap(),
        broken,
        "the file is byte-identical"
    );
    let listed = client_state(&sb, "zed");
    assert!(
        listed["files"][0]["error"].as_str().unwrap().contains("line 3"),
        "{listed}"
    );
}

#[test]
fn the_users_entries_and_edits_survive_and_undo_restores_the_file() {
    let sb = with_time_server();
    let file = sb.user_home().join(".config/Code/User/mcp.json");
    let original = corpus("vscode.jsonc");
    put(&file, &original);
    // An entry of the user's with the server's name is never taken over.
    let mine = String::from_utf8(original.clone())
        .unwrap()
        .replace("\"perplexity\"", "\"time\"");
    put(&file, mine.as_bytes());
    let out = sb.json(&["clients", "connect", "vscode", "--servers", "time"]);
    assert_eq!(
        out["files"][0]["entries"],
        json!([{"entry": "time", "change": "kept-foreign"}]),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), mine);

    put(&file, &original);
    sb.ok(&["clients", "connect", "vscode", "--servers", "time"]);
    let connected = std::fs::read_to_string(&file).unwrap();
    // The user edits our entry: connect keeps it, --force takes it back.
    let edited = connected.replace("\"type\": \"http\"", "\"type\": \"http\", \"dev\": {}");
    put(&file, edited.as_bytes());
    let out = sb.json(&["clients", "connect", "vscode", "--servers", "time"]);
    assert_eq!(
        out["files"][0]["entries"],
        json!([{"entry": "time", "change": "kept-edited"}]),
        "{out}"
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    sb.ok(&["clients", "connect", "vscode", "--servers", "time", "--force"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), connected);

    // Undo goes back one write at a time, and never over a change made since that write.
    sb.ok(&["clients", "undo", "vscode"]);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);
    let out = sb.cli(&["clients", "undo", "vscode"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "the user's edit came after the first write"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("changed since"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), edited);

    let cursor = sb.user_home().join(".cursor/mcp.json");
    let original = corpus("cursor.json");
    put(&cursor, &original);
    sb.ok(&["clients", "connect", "cursor"]);
    sb.ok(&["clients", "undo"]);
    assert_eq!(
        std::fs::read(&cursor).unwrap(),
        original,
        "undo restores the bytes before"
    );
    let out = sb.cli(&["clients", "undo", "cursor"]);
    assert_eq!(out.status.code(), Some(4), "nothing left to undo");
}

#[test]
fn importing_adopts_each_server_once_and_moves_credentials_into_the_keychain() {
    let sb = Sandbox::with_user_home();
    let cursor = sb.user_home().join(".cursor/mcp.json");
    let time = time_server();
    let everything = everything_server();
    let file = json!({"mcpServers": {
        "time": {"command": time, "args": []},
        "everything": {"command": everything, "env": {"DEBUG": "0"}},
        "github": {"url": "http://127.0.0.1:9/mcp", "headers": {"Authorization": "Bearer ghp_planted"}},
        "scripted": {"command": time, "env": {"TZ": "${env:TZ}"}},
    }});
    put(&cursor, serde_json::to_string_pretty(&file).unwrap().as_bytes());
    // The same time server in another client is the same server, adopted once.
    put(
        &sb.user_home().join(".codeium/windsurf/mcp_config.json"),
        json!({"mcpServers": {"clock": {"command": time}}})
            .to_string()
            .as_bytes(),
    );

    let report = sb.json(&["clients", "import", "cursor", "windsurf", "--replace"]);
    let adopted: Vec<&str> = report["adopted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["server"].as_str().unwrap())
        .collect();
    assert_eq!(adopted, ["time", "everything", "github"], "{report}");
    assert_eq!(
        report["adopted"][0]["found_in"],
        json!(["cursor: time", "windsurf: clock"]),
        "{report}"
    );
    // A credential moves into the keychain; the spec names it.
    assert_eq!(
        report["adopted"][2]["secrets"],
        json!(["Authorization"]),
        "{report}"
    );
    assert_eq!(
        sb.server("github")["transport"]["headers"]["Authorization"],
        json!({"secret": "github/Authorization"})
    );
    assert_eq!(sb.json(&["secrets", "ls", "github"])[0]["set"], true);
    let database = std::fs::read(sb.home().join("switchboard.db")).unwrap();
    assert!(
        !database.windows(11).any(|w| w == b"ghp_planted"),
        "not in the database"
    );
    assert!(!sb.ok(&["ls", "--json"]).contains("ghp_planted"));
    // A value in the client's own variable syntax only means something to that client.
    let skipped = &report["skipped"][0];
    assert_eq!(skipped["entry"], "scripted");
    assert!(skipped["reason"].as_str().unwrap().contains("${...}"), "{report}");

    sb.wait_state("time", "running", START);
    sb.wait_state("everything", "running", START);
    assert_eq!(
        sb.server("everything")["transport"]["env"]["DEBUG"],
        "0",
        "{}",
        sb.server("everything")
    );
    // The clients' entries now reach the adopted servers through the gateway.
    let config: Value = serde_json::from_slice(&std::fs::read(&cursor).unwrap()).unwrap();
    assert_eq!(
        config["mcpServers"]["time"]["url"],
        format!("http://127.0.0.1:{}/mcp/time", sb.port())
    );
    assert_eq!(
        config["mcpServers"]["scripted"], file["mcpServers"]["scripted"],
        "skipped entries are left alone"
    );
    assert!(
        config["mcpServers"]["github"]["url"]
            .as_str()
            .unwrap()
            .ends_with("/mcp/github")
    );
    let seen = use_entry(&config["mcpServers"]["time"]);
    assert_eq!(seen["server"], "mcp-time", "{seen}");
    let windsurf: Value = serde_json::from_slice(
        &std::fs::read(sb.user_home().join(".codeium/windsurf/mcp_config.json")).unwrap(),
    )
    .unwrap();
    assert!(windsurf["mcpServers"].get("clock").is_none(), "{windsurf}");
    assert!(
        windsurf["mcpServers"]["time"]["serverUrl"]
            .as_str()
            .unwrap()
            .ends_with("/mcp/time")
    );
    // Importing again finds nothing new.
    let again = sb.json(&["clients", "import", "cursor"]);
    assert!(again["adopted"].as_array().unwrap().is_empty(), "{again}");
}

#[test]
fn drift_is_reported_and_repaired_when_asked() {
    let sb = with_time_server();
    let claude = sb.user_home().join(".config/Claude/claude_desktop_config.json");
    put(&claude, b"{\"preferences\": {}}\n");
    sb.ok(&["clients", "connect", "claude-desktop", "--keep"]);
    let connected = std::fs::read(&claude).unwrap();
    // Claude Desktop rewrites its file on exit, without our entry.
    std::fs::write(&claude, b"{\n  \"preferences\": {\"sidebarMode\": \"chat\"}\n}\n").unwrap();
    let repaired = wait_until("the entry to be written back", Duration::from_secs(15), || {
        let text = std::fs::read_to_string(&claude).ok()?;
        text.contains("\"switchboard\"").then_some(text)
    });
    assert!(
        repaired.contains("sidebarMode"),
        "the client's own change is kept: {repaired}"
    );
    assert_ne!(repaired.as_bytes(), connected);

    // Without --keep, the drift is only reported.
    let cursor = sb.user_home().join(".cursor/mcp.json");
    sb.ok(&["clients", "connect", "cursor"]);
    std::fs::write(&cursor, b"{\"mcpServers\": {}}").unwrap();
    wait_until("the drift to be reported", Duration::from_secs(15), || {
        let state = client_state(&sb, "cursor");
        (state["files"][0]["drifted"] == json!(["switchboard"])).then_some(())
    });
    assert!(
        sb.daemon_log().contains("were removed or changed"),
        "{}",
        sb.daemon_log()
    );
    assert_eq!(std::fs::read(&cursor).unwrap(), b"{\"mcpServers\": {}}");
}

#[test]
fn a_running_client_is_detected_and_told_to_restart() {
    let sb = with_time_server();
    // A process with a client's name: a copy of `sleep` called `codex`.
    let bin = sb.home().join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy("/bin/sleep", bin.join("codex")).unwrap();
    let mut codex = Command::new(bin.join("codex")).arg("60").spawn().unwrap();
    wait_until("codex to be seen running", Duration::from_secs(10), || {
        (client_state(&sb, "codex")["running"] == true).then_some(())
    });
    let out = sb.json(&["clients", "connect", "codex"]);
    let next = out["next_step"].as_str().unwrap_or_default();
    assert!(
        next.contains("Codex is running") && next.contains("start it again"),
        "{out}"
    );
    codex.kill().unwrap();
    codex.wait().unwrap();
    let config = std::fs::read_to_string(sb.user_home().join(".codex/config.toml")).unwrap();
    assert!(
        config.contains("[mcp_servers.switchboard]") && config.contains("http_headers"),
        "{config}"
    );
}

fn token_names(sb: &Sandbox) -> Vec<String> {
    sb.json(&["token", "ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn cline_is_connected_before_its_folder_exists_and_a_failed_connect_keeps_no_token() {
    let sb = Sandbox::with_user_home();
    let settings = sb.user_home().join(".cline/data/settings");
    assert!(!sb.user_home().join(".cline").exists());
    sb.ok(&["clients", "connect", "cline"]);
    let file = settings.join("cline_mcp_settings.json");
    let config: Value = serde_json::from_slice(&std::fs::read(&file).unwrap()).unwrap();
    assert!(config["mcpServers"]["switchboard"]["url"].is_string(), "{config}");
    assert!(
        !settings.join("cline_mcp_settings.json.lock").exists(),
        "Cline's lock is released"
    );
    assert!(token_names(&sb).contains(&"cline".to_owned()));

    // A connect that fails (a file that does not parse) leaves no token of its own behind.
    let cursor = sb.user_home().join(".cursor/mcp.json");
    put(&cursor, b"{ \"mcpServers\": {\n");
    let out = sb.cli(&["clients", "connect", "cursor"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(
        token_names(&sb),
        ["cline"],
        "only the connected client has a token"
    );
    // A failed reconnect keeps the token a connected client already uses.
    put(&file, b"{ not json");
    assert_eq!(sb.cli(&["clients", "connect", "cline"]).status.code(), Some(2));
    assert_eq!(token_names(&sb), ["cline"]);
}

#[cfg(unix)]
#[test]
fn a_config_that_gets_a_token_is_made_readable_only_by_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |path: &Path| std::fs::metadata(path).unwrap().permissions().mode() & 0o777;
    let sb = Sandbox::with_user_home();
    let file = sb.user_home().join(".cursor/mcp.json");
    put(&file, &corpus("cursor.json"));
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();

    let preview = sb.ok(&["clients", "connect", "cursor", "--dry-run"]);
    assert!(preview.contains("will be made readable only by you"), "{preview}");
    assert_eq!(mode(&file), 0o644, "a dry run changes nothing");
    sb.ok(&["clients", "connect", "cursor"]);
    assert_eq!(mode(&file), 0o600);

    // A file already private says nothing of the kind.
    let preview = sb.ok(&["clients", "connect", "cursor", "--dry-run"]);
    assert!(!preview.contains("readable only by you"), "{preview}");
}

#[test]
fn a_journal_that_cannot_be_written_leaves_the_client_file_untouched() {
    let sb = Sandbox::with_user_home();
    let file = sb.user_home().join(".cursor/mcp.json");
    let original = corpus("cursor.json");
    put(&file, &original);
    // The journal's folder cannot hold files (as on a full disk, its bytes cannot be kept).
    let journal = sb.home().join("journal");
    let _ = std::fs::remove_dir_all(&journal);
    std::fs::write(&journal, "").unwrap();

    let out = sb.cli(&["clients", "connect", "cursor"]);
    assert!(!out.status.success(), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("journal"), "{stderr}");
    assert!(
        std::fs::read(&file).unwrap() == original,
        "nothing is written before its journal entry"
    );
    assert_eq!(
        sb.cli(&["clients", "undo"]).status.code(),
        Some(4),
        "nothing was recorded"
    );
    assert!(!token_names(&sb).contains(&"cursor".to_owned()));

    // Once the journal can be kept, the same connect is recorded and undone.
    std::fs::remove_file(&journal).unwrap();
    sb.ok(&["clients", "connect", "cursor"]);
    assert_ne!(std::fs::read(&file).unwrap(), original);
    sb.ok(&["clients", "undo", "cursor"]);
    assert_eq!(std::fs::read(&file).unwrap(), original);
}

#[test]
fn setup_from_the_cli_previews_then_routes_every_found_client_through_one_entry() {
    let sb = Sandbox::with_user_home();
    let cursor = sb.user_home().join(".cursor/mcp.json");
    let zed = sb.user_home().join(".config/zed/settings.json");
    let time = json!({"command": time_server()});
    put(
        &cursor,
        json!({"mcpServers": {"time": time}}).to_string().as_bytes(),
    );
    // Zed's own spelling; a broken file elsewhere must not stop the others.
    put(&zed, b"{ this is not json");
    let before = std::fs::read(&cursor).unwrap();

    let preview = sb.json(&["clients", "setup", "--dry-run"]);
    assert_eq!(preview["adopted"][0]["server"], "time", "{preview}");
    let change = preview["clients"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client"] == "cursor")
        .unwrap();
    let diff = change["files"][0]["diff"].as_str().unwrap();
    let line = |sign: char, text: &str| diff.lines().any(|l| l.starts_with(sign) && l.contains(text));
    assert!(line('-', "\"time\"") && line('+', "\"switchboard\""), "{diff}");
    assert_eq!(preview["failed"][0]["client"], "zed", "{preview}");
    let skipped = preview["skipped"].as_array().unwrap();
    assert!(
        skipped.iter().all(|s| s["client"] != "zed"),
        "a broken file is reported once: {preview}"
    );
    assert_eq!(
        std::fs::read(&cursor).unwrap(),
        before,
        "a dry run changes nothing"
    );
    assert_eq!(sb.json(&["ls"]), json!([]));

    let text = sb.ok(&["clients", "setup"]);
    assert!(text.contains("time: adopted (from cursor: time)"), "{text}");
    assert!(text.contains("zed: left as it was"), "{text}");
    let config: Value = serde_json::from_slice(&std::fs::read(&cursor).unwrap()).unwrap();
    let entries = config["mcpServers"].as_object().unwrap();
    assert_eq!(entries.keys().collect::<Vec<_>>(), ["switchboard"], "{config}");
    sb.wait_state("time", "running", START);
    let seen = use_entry(&entries["switchboard"]);
    assert!(
        seen["tools"]
            .as_array()
            .unwrap()
            .contains(&json!("time__get_current_time")),
        "{seen}"
    );
    assert_eq!(
        client_state(&sb, "cursor")["wiring"],
        json!({"servers": null, "reapply": false})
    );
}

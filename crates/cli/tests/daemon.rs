//! End to end: the `switchboard` binary as daemon and CLI, supervising real MCP servers
//! (mcp-server-time from PyPI, server-everything from npm) in a private data directory.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{
    Sandbox, alive, count_tools_directly, descendants, everything_server, group_members, signal, time_server,
    wait_until,
};
use serde_json::Value;

const START: Duration = Duration::from_secs(60);

fn pid_of(view: &Value) -> u32 {
    u32::try_from(view["status"]["pid"].as_u64().expect("has a pid")).unwrap()
}

#[test]
fn real_servers_from_pypi_and_npm_reach_running_with_their_tool_counts() {
    let sb = Sandbox::with_daemon();
    let out = sb.ok(&["add", "time", "--", &time_server()]);
    assert!(out.contains("time: running"), "{out}");
    sb.ok(&["add", "everything", "--", &everything_server()]);

    let time = sb.wait_state("time", "running", START);
    let everything = sb.wait_state("everything", "running", START);
    // The counts the daemon read in its handshake match what the servers say to a plain client.
    assert_eq!(
        time["status"]["tools"].as_u64(),
        Some(count_tools_directly(&time_server(), &[]))
    );
    assert_eq!(
        everything["status"]["tools"].as_u64(),
        Some(count_tools_directly(&everything_server(), &[]))
    );
    assert_eq!(time["status"]["server_info"]["name"], "mcp-time");
    assert!(
        time["usage"]["memory_bytes"].as_u64().unwrap() > 1_000_000,
        "usage is read: {time}"
    );

    let table = sb.ok(&["ls"]);
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("everything") && l.contains("running")),
        "{table}"
    );
    let status = sb.json(&["status"]);
    assert_eq!(status["servers"]["running"], 2);

    // What each tool costs a model's context, and the total, as `tools` shows them.
    let tools = sb.json(&["tools", "everything"]);
    let tokens: Vec<u64> = tools
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["tokens"].as_u64().unwrap())
        .collect();
    assert_eq!(
        tokens.len() as u64,
        everything["status"]["tools"].as_u64().unwrap()
    );
    assert!(
        tokens.iter().all(|t| *t > 10),
        "every definition costs tokens: {tools}"
    );
    let total: u64 = tokens.iter().sum();
    let table = sb.ok(&["tools", "everything"]);
    assert!(
        table.contains(&format!("{} tools, {total} tokens in all", tokens.len())),
        "{table}"
    );
}

#[test]
fn a_local_http_server_is_ready_when_its_http_handshake_succeeds() {
    let sb = Sandbox::with_daemon();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}/mcp");
    let env = format!("PORT={port}");
    sb.ok(&[
        "add",
        "web",
        "--url",
        &url,
        "--env",
        &env,
        "--",
        &everything_server(),
        "streamableHttp",
    ]);
    let web = sb.wait_state("web", "running", START);
    assert!(web["status"]["tools"].as_u64().unwrap() > 0, "{web}");
    assert_eq!(web["transport"]["type"], "local_http");

    // A second server on the same port is refused before it is spawned, with the port named.
    let out = sb.cli(&[
        "add",
        "web2",
        "--url",
        &url,
        "--env",
        &env,
        "--",
        &everything_server(),
        "streamableHttp",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let failed = sb.server("web2");
    assert_eq!(failed["status"]["reason"]["kind"], "port_in_use", "{failed}");
    assert_eq!(failed["status"]["reason"]["port"], port);
    assert!(sb.runs("web2").is_empty(), "nothing was spawned");
}

#[test]
fn a_remote_server_is_reached_not_spawned() {
    let sb = Sandbox::with_daemon();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut remote = std::process::Command::new(everything_server())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the remote server to listen", START, || {
        std::net::TcpStream::connect(("127.0.0.1", port)).ok()
    });

    let url = format!("http://127.0.0.1:{port}/mcp");
    sb.ok(&[
        "add",
        "remote",
        "--url",
        &url,
        "--header",
        "X-Client=switchboard-test",
    ]);
    let view = sb.wait_state("remote", "running", START);
    assert!(
        view["status"].get("pid").is_none(),
        "nothing is spawned for a remote server: {view}"
    );
    assert!(view["status"]["tools"].as_u64().unwrap() > 0);
    assert_eq!(view["transport"]["headers"]["X-Client"], "switchboard-test");
    assert_eq!(sb.runs("remote").len(), 1);
    let _ = remote.kill();
    let _ = remote.wait();
}

#[test]
fn kill_nine_of_a_server_brings_it_back_and_records_the_restart() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    let before = pid_of(&sb.wait_state("time", "running", START));

    signal(before, 9);
    let after = wait_until("time to run again under a new pid", START, || {
        let view = sb.server("time");
        (view["status"]["state"] == "running" && pid_of(&view) != before).then_some(view)
    });
    assert_eq!(after["restarts"], 1);

    let runs = sb.runs("time");
    assert_eq!(runs[0]["restart"], true, "{runs:?}");
    assert_eq!(runs[0]["pid"].as_u64(), Some(u64::from(pid_of(&after))));
    assert!(runs[0]["ready_at_ms"].is_i64());
    assert_eq!(
        runs[1]["exit"],
        serde_json::json!({"kind": "signaled", "signal": 9})
    );
    assert!(!alive(before));
}

#[test]
fn a_hung_server_fails_its_pings_and_is_replaced() {
    let sb = Sandbox::with_daemon();
    let health = [
        "--ping-interval",
        "200ms",
        "--ping-timeout",
        "200ms",
        "--ping-retries",
        "2",
    ];
    sb.ok(&[&["add", "time"][..], &health, &["--", &time_server()]].concat());
    sb.ok(&["add", "steady", "--", &time_server()]);
    let hung = pid_of(&sb.wait_state("time", "running", START));
    let steady = pid_of(&sb.wait_state("steady", "running", START));

    // Alive as a process, dead as a server: it can no longer answer anything.
    signal(hung, 19); // SIGSTOP
    wait_until("the hung server to be replaced", START, || {
        let view = sb.server("time");
        (view["status"]["state"] == "running" && pid_of(&view) != hung).then_some(())
    });
    assert!(!alive(hung), "the hung process was ended");
    let runs = sb.runs("time");
    assert_eq!(runs[1]["exit"]["kind"], "unresponsive", "{runs:?}");
    assert_eq!(runs[0]["restart"], true);
    assert_eq!(
        pid_of(&sb.server("steady")),
        steady,
        "a healthy server is left alone"
    );
    let logs = sb.ok(&["logs", "time"]);
    assert!(logs.contains("missed 2 pings in a row"), "{logs}");
}

#[test]
fn a_server_that_exits_at_once_crash_loops_with_its_stderr_and_others_are_unaffected() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    let steady = pid_of(&sb.wait_state("time", "running", START));

    let out = sb.cli(&[
        "add",
        "crashy",
        "--",
        "sh",
        "-c",
        "echo 'fatal: config file missing' >&2; exit 3",
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a server that cannot run fails the command"
    );
    let crashy = sb.wait_state("crashy", "crash_looping", START);
    let last = &crashy["status"]["last"];
    assert_eq!(last["kind"], "exited_during_startup", "{crashy}");
    assert_eq!(last["cause"], serde_json::json!({"kind": "exited", "code": 3}));
    assert_eq!(last["stderr_tail"], "fatal: config file missing");
    assert!(String::from_utf8_lossy(&out.stdout).contains("fatal: config file missing"));

    let time = sb.server("time");
    assert_eq!(time["status"]["state"], "running");
    assert_eq!(pid_of(&time), steady, "the healthy server was not touched");
    assert_eq!(time["restarts"], 0);

    let logs = sb.ok(&["logs", "crashy"]);
    assert!(
        logs.contains("fatal: config file missing") && logs.contains("crash loop"),
        "{logs}"
    );
}

#[test]
fn stop_is_never_followed_by_a_restart() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--restart", "always", "--", &time_server()]);
    let pid = pid_of(&sb.wait_state("time", "running", START));
    let out = sb.ok(&["stop", "time"]);
    assert!(out.contains("time: stopped"), "{out}");
    assert!(!alive(pid), "the process is gone once stop returns");

    // Let the daemon do a whole start cycle of another server: time enough for any restart.
    sb.ok(&["add", "other", "--", &time_server()]);
    sb.wait_state("other", "running", START);
    let time = sb.server("time");
    assert_eq!(time["status"]["state"], "stopped");
    assert_eq!(time["restarts"], 0);
    assert_eq!(sb.runs("time").len(), 1);
    assert_eq!(sb.runs("time")[0]["exit"]["kind"], "stopped");

    // start brings it back; a program that ignores SIGTERM is still stopped, by SIGKILL.
    sb.ok(&["start", "time"]);
    sb.wait_state("time", "running", START);
}

#[test]
fn sigkill_of_the_daemon_leaves_no_server_process_and_a_restart_restores_enabled_servers() {
    let mut sb = Sandbox::with_daemon();
    // A server with grandchildren: background jobs of a shell that then becomes the server.
    let tree = format!(
        "sleep 1000 & (sh -c 'sleep 1001 & wait' &); exec {}",
        time_server()
    );
    sb.ok(&["add", "tree", "--", "sh", "-c", &tree]);
    sb.ok(&["add", "everything", "--", &everything_server()]);
    sb.ok(&["add", "idle", "--disabled", "--", &time_server()]);
    let tree_pgid = pid_of(&sb.wait_state("tree", "running", START));
    let everything_pgid = pid_of(&sb.wait_state("everything", "running", START));

    // The server, its shell's background sleep, and a double-forked shell with its own sleep
    // (reparented away from the daemon, so only its process group ties it to the server).
    let tree = wait_until("the tree's grandchildren to exist", START, || {
        let members = group_members(tree_pgid);
        (members.len() >= 4).then_some(members)
    });
    let mut family = descendants(sb.daemon_pid());
    family.extend(tree);
    family.extend(group_members(everything_pgid));
    sb.kill_daemon_hard();
    wait_until(
        "every process the daemon started to end",
        Duration::from_secs(15),
        || {
            let left: Vec<u32> = family.iter().copied().filter(|&p| alive(p)).collect();
            left.is_empty().then_some(())
        },
    );

    sb.start_daemon();
    let tree = sb.wait_state("tree", "running", START);
    sb.wait_state("everything", "running", START);
    assert!(!family.contains(&pid_of(&tree)));
    assert_eq!(
        sb.server("idle")["status"]["state"],
        "stopped",
        "a disabled server stays down"
    );
    let runs = sb.runs("tree");
    assert_eq!(runs[1]["exit"]["kind"], "daemon_lost", "{runs:?}");
}

#[test]
fn a_clean_daemon_stop_stops_its_servers() {
    let mut sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    let pid = pid_of(&sb.wait_state("time", "running", START));
    assert!(sb.stop_daemon().success());
    assert!(!alive(pid));
    let out = sb.cli(&["ls"]);
    assert_eq!(out.status.code(), Some(3));
}

#[test]
fn bad_input_gets_a_clear_error_and_leaves_the_store_unchanged() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", START);
    let before = sb
        .json(&["ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect::<Vec<_>>();

    let cases: &[(&[&str], i32, &str)] = &[
        (&["frobnicate"], 2, "unrecognized subcommand"),
        (&["add", "time", "--", "sh"], 2, "already exists"),
        (
            &["add", "Time", "--", "sh"],
            2,
            "must start with a lowercase letter",
        ),
        (&["add", "my server", "--", "sh"], 2, "contains ' '"),
        (
            &["add", "ghost", "--", "definitely-not-installed-xyz"],
            2,
            "cannot find `definitely-not-installed-xyz`",
        ),
        (&["add", "nothing"], 2, "say what to run"),
        (
            &["add", "env", "--env", "NOEQUALS", "--", "sh"],
            2,
            "--env takes KEY=VALUE",
        ),
        (&["add", "far", "--url", "http://example.com/mcp"], 2, "use https"),
        (
            &["add", "pol", "--restart", "sometimes", "--", "sh"],
            2,
            "unknown restart policy",
        ),
        (&["rm", "ghost"], 4, "no server named ghost"),
        (&["start", "ghost"], 4, "no server named ghost"),
    ];
    for (args, code, message) in cases {
        let out = sb.cli(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(*code), "{args:?}: {stderr}");
        assert!(
            stderr.contains(message),
            "{args:?}: expected {message:?} in {stderr}"
        );
    }
    let after = sb
        .json(&["ls"])
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].clone())
        .collect::<Vec<_>>();
    assert_eq!(before, after);
    assert_eq!(sb.runs("time").len(), 1);
}

#[test]
fn the_api_wants_the_token_and_refuses_foreign_hosts_and_origins() {
    let sb = Sandbox::with_daemon();
    let bearer = format!("Bearer {}", sb.token());
    let port = sb.port();
    let own_origin = format!("http://127.0.0.1:{port}");
    let cases: &[(&[(&str, &str)], u16)] = &[
        (&[], 401),
        (&[("Authorization", "Bearer 0000")], 401),
        (&[("Authorization", &bearer)], 200),
        (
            &[("Authorization", &bearer), ("Origin", "http://evil.example")],
            403,
        ),
        (&[("Origin", "http://evil.example")], 403),
        (&[("Authorization", &bearer), ("Origin", &own_origin)], 200),
        (&[("Authorization", &bearer), ("Host", "evil.example")], 403),
        (
            &[
                ("Authorization", &bearer),
                ("Host", &format!("rebind.example:{port}")),
            ],
            403,
        ),
    ];
    for (headers, status) in cases {
        assert_eq!(sb.http_status(headers, "/api/v1/status"), *status, "{headers:?}");
    }
    // The token file is the user's alone.
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(sb.home().join("control.token"))
            .unwrap()
            .permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn without_a_daemon_the_cli_says_so_and_how_to_start_one() {
    let sb = Sandbox::new();
    let out = sb.cli(&["ls"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("not running") && stderr.contains("switchboard daemon"),
        "{stderr}"
    );
}

#[test]
fn one_daemon_per_data_directory() {
    let sb = Sandbox::with_daemon();
    let out = sb.cli(&["daemon"]);
    // 5: the status a service manager is told not to restart on.
    assert_eq!(out.status.code(), Some(5));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("already running") && stderr.contains(&sb.daemon_pid().to_string()),
        "{stderr}"
    );
}

#[test]
fn enable_and_disable_set_what_comes_back_with_the_daemon() {
    let mut sb = Sandbox::with_daemon();
    sb.ok(&["add", "a", "--", &time_server()]);
    sb.ok(&["add", "b", "--disabled", "--", &time_server()]);
    sb.wait_state("a", "running", START);
    sb.ok(&["disable", "a"]);
    sb.ok(&["enable", "b"]);
    sb.wait_state("b", "running", START);
    assert_eq!(sb.server("a")["status"]["state"], "stopped");

    sb.stop_daemon();
    sb.start_daemon();
    sb.wait_state("b", "running", START);
    assert_eq!(sb.server("a")["enabled"], false);
    assert_eq!(sb.server("a")["status"]["state"], "stopped");
    sb.ok(&["rm", "b"]);
    assert!(sb.servers().iter().all(|s| s["name"] != "b"));
}

#[test]
fn logs_follow_shows_new_lines_as_they_come() {
    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", START);
    let mut follower = sb
        .command()
        .args(["logs", "-f", "-n", "1", "time"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = follower.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut seen = String::new();
    let drain = |seen: &mut String| {
        while let Ok(line) = rx.try_recv() {
            seen.push_str(&line);
            seen.push('\n');
        }
    };
    // With `-n 1` the follower prints the newest line as soon as it is subscribed.
    wait_until("the follower to print the tail", START, || {
        drain(&mut seen);
        (!seen.is_empty()).then_some(())
    });
    seen.clear();
    sb.ok(&["restart", "time"]);
    wait_until("the restart's notes in the followed log", START, || {
        drain(&mut seen);
        (seen.contains("stopped") && seen.contains("running: mcp-time")).then_some(())
    });
    let _ = follower.kill();
    let _ = follower.wait();
}

#[test]
fn startup_failures_are_classified() {
    let sb = Sandbox::with_daemon();
    // A process that never answers initialize.
    let out = sb.cli(&[
        "add",
        "mute",
        "--restart",
        "never",
        "--startup-timeout",
        "500ms",
        "--",
        "sleep",
        "300",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let mute = sb.wait_state("mute", "failed", START);
    assert_eq!(mute["status"]["reason"]["kind"], "handshake_timeout", "{mute}");
    assert_eq!(mute["status"]["reason"]["after_ms"], 500);

    // A program that was there when added and is gone when started.
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("server.sh");
    std::fs::write(&script, format!("#!/bin/sh\nexec {}\n", time_server())).unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let script = script.display().to_string();
    sb.ok(&["add", "vanishing", "--", &script]);
    sb.ok(&["stop", "vanishing"]);
    std::fs::remove_file(&script).unwrap();
    let out = sb.cli(&["start", "vanishing"]);
    assert_eq!(out.status.code(), Some(1));
    let gone = sb.wait_state("vanishing", "failed", START);
    assert_eq!(
        gone["status"]["reason"],
        serde_json::json!({"kind": "program_not_found", "program": script})
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("install it or give its absolute path"));
}

#[test]
fn the_event_stream_reports_changes_and_put_replaces_a_spec() {
    use std::io::Read;

    let sb = Sandbox::with_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    let first = pid_of(&sb.wait_state("time", "running", START));
    let bearer = format!("Bearer {}", sb.token());
    let auth = [("Authorization", bearer.as_str())];

    let mut events = sb.http_send("GET", "/api/v1/events", &auth, "");
    events.set_read_timeout(Some(Duration::from_millis(200))).unwrap();

    // Replace the spec: a new environment variable. The server restarts to apply it.
    let mut spec = sb.server("time");
    for field in ["enabled", "status", "restarts", "usage"] {
        spec.as_object_mut().unwrap().remove(field);
    }
    spec["transport"]["env"] = serde_json::json!({"TZ": "UTC"});
    let (status, _) = sb.http(
        "PUT",
        "/api/v1/servers/time",
        &[auth[0], ("Content-Type", "application/json")],
        &spec.to_string(),
    );
    assert_eq!(status, 200);

    let mut seen = String::new();
    wait_until("state_changed events through running again", START, || {
        let mut chunk = [0u8; 4096];
        if let Ok(n) = events.read(&mut chunk) {
            seen.push_str(&String::from_utf8_lossy(&chunk[..n]));
        }
        let events: Vec<&str> = seen
            .split("\n\n")
            .filter(|e| e.contains("event: state_changed"))
            .collect();
        let starting = events.iter().position(|e| e.contains(r#""state":"starting""#))?;
        events[starting..]
            .iter()
            .any(|e| e.contains(r#""state":"running""#))
            .then_some(())
    });
    assert!(seen.contains("event: server_changed"), "{seen}");

    let view = sb.wait_state("time", "running", START);
    assert_ne!(pid_of(&view), first);
    assert_eq!(view["transport"]["env"]["TZ"], "UTC");
    let environ = std::fs::read(format!("/proc/{}/environ", pid_of(&view))).unwrap();
    assert!(
        environ.split(|&b| b == 0).any(|kv| kv == b"TZ=UTC"),
        "the new process got the new env"
    );

    // A spec for another name is refused without changing anything.
    spec["name"] = "other".into();
    let (status, body) = sb.http(
        "PUT",
        "/api/v1/servers/time",
        &[auth[0], ("Content-Type", "application/json")],
        &spec.to_string(),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("name_mismatch"));
}

/// The soft and hard "Max open files" of a process, from /proc.
fn open_file_limits(pid: u32) -> (String, String) {
    let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits.lines().find(|l| l.starts_with("Max open files")).unwrap();
    let fields: Vec<&str> = line.split_whitespace().collect();
    (fields[3].to_owned(), fields[4].to_owned())
}

#[test]
fn the_daemon_takes_the_hard_open_file_limit_and_its_servers_keep_the_inherited_one() {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    // nextest runs each test in a process of its own: the daemon inherits this soft limit.
    let (_, hard) = getrlimit(Resource::RLIMIT_NOFILE).unwrap();
    setrlimit(Resource::RLIMIT_NOFILE, 256.min(hard), hard).unwrap();
    let mut sb = Sandbox::new();
    sb.start_daemon();
    let (soft, daemon_hard) = open_file_limits(sb.daemon_pid());
    assert_eq!(
        soft, daemon_hard,
        "the daemon kept a soft limit below its hard one"
    );
    sb.ok(&["add", "time", "--", &time_server()]);
    let server = sb.wait_state("time", "running", START);
    assert_eq!(open_file_limits(pid_of(&server)).0, 256.min(hard).to_string());
}

#[test]
fn pause_stops_every_server_and_keeps_them_down_until_resume() {
    let mut sb = Sandbox::with_daemon();
    sb.ok(&["add", "a", "--", &time_server()]);
    sb.ok(&["add", "b", "--", &time_server()]);
    sb.ok(&["add", "c", "--disabled", "--", &time_server()]);
    let pids = ["a", "b"].map(|name| pid_of(&sb.wait_state(name, "running", START)));

    let paused = sb.json(&["pause"]);
    assert_eq!(paused["paused"], true, "{paused}");
    assert_eq!(paused["servers"], serde_json::json!(["a", "b"]), "{paused}");
    wait_until(
        "the paused servers' processes to end",
        Duration::from_secs(15),
        || pids.iter().all(|&pid| !alive(pid)).then_some(()),
    );
    for name in ["a", "b"] {
        let view = sb.server(name);
        assert_eq!(view["status"]["state"], "stopped", "{view}");
        assert_eq!(view["enabled"], true, "pausing leaves enabled alone: {view}");
    }
    let status = sb.json(&["status"]);
    assert_eq!(status["paused"], true, "{status}");
    assert_eq!(status["servers"]["running"], 0, "{status}");
    assert!(sb.ok(&["status"]).contains("paused"));

    // An explicit start says how to resume instead; a client of the gateway hears why.
    let out = sb.cli(&["start", "a"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("switchboard resume"),
        "{out:?}"
    );
    let token = sb.ok(&["token", "create", "pauser"]).trim().to_owned();
    let auth = format!("Bearer {token}");
    let init = r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"raw","version":"1"}}}"#;
    let headers = [
        ("Authorization", auth.as_str()),
        ("Content-Type", "application/json"),
        ("Accept", "application/json, text/event-stream"),
    ];
    let (_, response) = sb.http("POST", "/mcp/a", &headers, init);
    assert!(
        response.contains("Switchboard is paused; `switchboard resume` starts servers again"),
        "{response}"
    );

    // A restart keeps the pause and starts nothing. (Restores are logged as "started N
    // enabled servers"; other lines may name enabled servers too.)
    let restore = |l: &&str| l.contains("INFO") && l.contains(" enabled servers");
    let runs: Vec<usize> = ["a", "b"].iter().map(|name| sb.runs(name).len()).collect();
    assert!(sb.stop_daemon().success());
    sb.start_daemon();
    let log = wait_until(
        "the daemon to restore its servers",
        Duration::from_secs(20),
        || {
            let log = sb.daemon_log();
            (log.lines().filter(restore).count() == 2).then_some(log)
        },
    );
    let restored = log.lines().rfind(restore).unwrap();
    assert!(restored.contains("started 0 enabled servers"), "{restored}");
    assert_eq!(sb.json(&["status"])["paused"], true);
    for (name, before) in ["a", "b"].iter().zip(&runs) {
        assert_eq!(sb.server(name)["status"]["state"], "stopped");
        assert_eq!(sb.runs(name).len(), *before, "{name} was not started");
    }

    // Enabling while paused records it and starts nothing.
    let view = sb.json(&["enable", "c"]);
    assert_eq!(view["enabled"], true, "{view}");
    assert_eq!(view["status"]["state"], "stopped", "{view}");
    assert!(sb.runs("c").is_empty());

    let resumed = sb.json(&["resume"]);
    assert_eq!(resumed["paused"], false, "{resumed}");
    assert_eq!(
        resumed["servers"],
        serde_json::json!(["a", "b", "c"]),
        "{resumed}"
    );
    for name in ["a", "b", "c"] {
        sb.wait_state(name, "running", START);
    }
    assert_eq!(sb.json(&["status"])["paused"], false);
}

//! `switchboard service`, end to end on Linux: the systemd user unit it writes passes
//! `systemd-analyze verify` without a warning, its ExecStart run exactly as written (with only
//! the unit's environment) brings the daemon up, a second copy of it exits with the status the
//! unit tells systemd not to restart on, install twice changes nothing, and uninstall removes
//! the unit.
//!
//! There is no systemd user manager here, and the test makes sure none is reached (its
//! runtime directory and bus are the sandbox's, empty): the CLI must say so and keep the unit,
//! which is what a person on a machine without a session manager would see.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::manager::Systemctl;
use common::{BIN, Sandbox, wait_until};
use serde_json::Value;

/// A sandbox whose systemd user manager cannot be reached: its runtime directory (which holds
/// the manager's socket) and session bus are empty paths of its own.
fn sandbox() -> (Sandbox, tempfile::TempDir) {
    let run = tempfile::tempdir().unwrap();
    let bus = format!("unix:path={}", run.path().join("bus").display());
    let sandbox = Sandbox::with_env(&[
        ("XDG_RUNTIME_DIR", run.path().to_str().unwrap()),
        ("DBUS_SESSION_BUS_ADDRESS", &bus),
    ])
    .own_user_home();
    (sandbox, run)
}

fn unit_path(sb: &Sandbox) -> PathBuf {
    sb.user_home().join(".config/systemd/user/switchboard.service")
}

/// `switchboard service ARGS --json`, which must succeed.
fn service(sb: &Sandbox, args: &[&str]) -> Value {
    let mut all = vec!["--json", "service"];
    all.extend_from_slice(args);
    serde_json::from_str(&sb.ok(&all)).unwrap()
}

/// The values of `key=` lines in the unit's [Service] section.
fn directives(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(&format!("{key}=")))
        .map(str::to_owned)
        .collect()
}

/// Words as systemd splits them (for these words, its quoting is the shell's double-quote
/// subset), `%%` undoubled.
fn split(line: &str) -> Vec<String> {
    let out = Command::new("python3")
        .args([
            "-c",
            "import json, shlex, sys; print(json.dumps(shlex.split(sys.argv[1])))",
            line,
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let words: Vec<String> = serde_json::from_slice(&out.stdout).unwrap();
    words
        .into_iter()
        .map(|w| w.replace("%%", "%").replace("$$", "$"))
        .collect()
}

/// The unit's ExecStart, run as systemd would: its words, only its environment (and HOME).
fn exec_start(sb: &Sandbox, unit: &str) -> Command {
    let words = split(&directives(unit, "ExecStart")[0]);
    // `$$` is a `$` in arguments; the program's path is taken as written.
    let argv: Vec<String> = words
        .iter()
        .take(1)
        .cloned()
        .chain(words.iter().skip(1).map(|w| w.replace("$$", "$")))
        .collect();
    let mut command = Command::new(&argv[0]);
    command.args(&argv[1..]).env_clear().env("HOME", sb.user_home());
    for assignment in directives(unit, "Environment") {
        let (key, value) = split(&assignment)[0]
            .split_once('=')
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .unwrap();
        command.env(key, value);
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let _ = self.0.wait();
    }
}

#[test]
fn the_systemd_unit_verifies_runs_the_daemon_is_idempotent_and_uninstalls() {
    let (sb, run) = sandbox();
    let unit = unit_path(&sb);

    let installed = service(&sb, &["install", "--", "--secrets", "file"]);
    assert_eq!(installed["manager"], "systemd");
    assert_eq!(installed["installed"], true);
    assert_eq!(installed["changed"], true);
    assert_eq!(Path::new(installed["definition"].as_str().unwrap()), unit);
    let unreachable = installed["manager_error"].as_str().unwrap();
    assert!(
        unreachable.contains("not reachable")
            && unreachable.contains("enabled and starts at your next login"),
        "the CLI says the manager could not be reached and what to do: {unreachable}"
    );
    let wants = unit
        .parent()
        .unwrap()
        .join("default.target.wants/switchboard.service");
    assert_eq!(
        std::fs::read_link(&wants).unwrap(),
        unit,
        "enabled, as `systemctl enable` does"
    );
    let text = std::fs::read_to_string(&unit).unwrap();
    let program = std::fs::canonicalize(BIN).unwrap();
    assert_eq!(
        split(&directives(&text, "ExecStart")[0]),
        [program.to_str().unwrap(), "daemon", "--secrets", "file"]
    );
    assert!(
        text.contains(&format!("Environment=SWITCHBOARD_HOME={}", sb.home().display())),
        "{text}"
    );

    // systemd's own reading of it, as the user manager would load it.
    let verify = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(&unit)
        .env("XDG_RUNTIME_DIR", run.path())
        .env("HOME", sb.user_home())
        .output()
        .unwrap();
    assert!(
        verify.status.success() && verify.stderr.is_empty() && verify.stdout.is_empty(),
        "systemd-analyze verify: {}{}",
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );

    // Install twice changes nothing, not even the file's time.
    let modified = std::fs::metadata(&unit).unwrap().modified().unwrap();
    let again = service(&sb, &["install", "--", "--secrets", "file"]);
    assert_eq!(again["changed"], false);
    assert_eq!(std::fs::metadata(&unit).unwrap().modified().unwrap(), modified);
    assert_eq!(std::fs::read_to_string(&unit).unwrap(), text);

    // ExecStart, exactly as written, brings the daemon up for the same data directory.
    let daemon = Daemon(exec_start(&sb, &text).spawn().unwrap());
    let status = wait_until("the unit's daemon to answer", Duration::from_secs(20), || {
        let out = sb.cli(&["status", "--json"]);
        out.status
            .success()
            .then(|| serde_json::from_slice::<Value>(&out.stdout).unwrap())
    });
    assert_eq!(status["pid"], daemon.0.id());
    assert_eq!(service(&sb, &["status"])["daemon_pid"], daemon.0.id());

    // A second start while it runs exits 5, which the unit tells systemd not to restart on.
    assert_eq!(directives(&text, "RestartPreventExitStatus"), ["5"]);
    let second = exec_start(&sb, &text).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(5),
        "{}",
        String::from_utf8_lossy(&second.stderr)
    );
    assert!(String::from_utf8_lossy(&second.stderr).contains("already running"));

    // Uninstall removes the unit; again is fine. The data directory stays.
    let removed = service(&sb, &["uninstall"]);
    assert_eq!(removed["changed"], true);
    assert_eq!(removed["installed"], false);
    assert!(!unit.exists() && !wants.exists());
    assert_eq!(service(&sb, &["uninstall"])["changed"], false);
    assert!(sb.home().join("switchboard.db").exists());
    drop(daemon);
}

#[test]
fn with_a_manager_install_hands_over_the_running_daemon_and_restarts_only_on_change() {
    let systemctl = Systemctl::new();
    let sb = systemctl.sandbox();
    // A daemon started by hand, outside the service.
    let mut outside = sb
        .command()
        .arg("daemon")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until(
        "the daemon started by hand to answer",
        Duration::from_secs(20),
        || sb.cli(&["status"]).status.success().then_some(()),
    );
    // A server that ignores SIGTERM: that daemon takes its stop grace period to let go of the
    // data directory, and the service's must not start before.
    sb.ok(&[
        "add",
        "stubborn",
        "--no-wait",
        "--",
        "sh",
        "-c",
        "trap '' TERM; exec sleep 300",
    ]);

    let installed = service(&sb, &["install"]);
    assert_eq!(installed["state"], "active", "{installed}");
    assert_eq!(installed["manager_error"], Value::Null);
    assert!(
        installed["hints"].to_string().contains("was stopped"),
        "the handover is said: {installed}"
    );
    let exit = wait_until(
        "the daemon started by hand to exit",
        Duration::from_secs(30),
        || outside.try_wait().unwrap(),
    );
    assert!(exit.success(), "it stopped cleanly, through its API: {exit}");
    let first = installed["daemon_pid"].as_u64().unwrap();
    assert_ne!(first, u64::from(outside.id()));
    assert_eq!(sb.json(&["status"])["pid"], first, "the service's daemon answers");

    // Nothing changed: nothing is restarted.
    let before = systemctl.calls().len();
    let again = service(&sb, &["install"]);
    assert_eq!(again["changed"], false);
    assert_eq!(again["daemon_pid"], first);
    assert!(
        !systemctl.calls()[before..]
            .iter()
            .any(|c| c.starts_with("start") || c.starts_with("restart")),
        "{:?}",
        systemctl.calls()
    );

    // Other daemon arguments: the daemon is replaced by one started from the new unit.
    let changed = service(&sb, &["install", "--", "--record-payloads"]);
    assert_eq!(changed["changed"], true);
    let second = changed["daemon_pid"].as_u64().unwrap();
    assert_ne!(second, first);
    assert!(
        std::fs::read_to_string(format!("/proc/{second}/cmdline"))
            .unwrap()
            .contains("--record-payloads")
    );
    assert!(
        !common::alive(u32::try_from(first).unwrap()),
        "the old daemon is gone"
    );

    // Uninstall stops it.
    let removed = service(&sb, &["uninstall"]);
    assert_eq!(removed["changed"], true);
    assert_eq!(removed["daemon_pid"], Value::Null, "{removed}");
    assert!(!common::alive(u32::try_from(second).unwrap()));
}

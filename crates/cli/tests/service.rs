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

/// Words as systemd splits them (its quoting is the shell's double-quote subset), `%%` and
/// `$$` undoubled.
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
    let argv = split(&directives(unit, "ExecStart")[0]);
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
    assert_eq!(installed["installed"], "current");
    assert_eq!(installed["changed"], true);
    assert_eq!(Path::new(installed["definition"].as_str().unwrap()), unit);
    let unreachable = installed["manager_error"].as_str().unwrap();
    assert!(
        unreachable.contains("not reachable")
            && unreachable.contains("systemctl --user enable --now switchboard"),
        "the CLI says the manager could not be reached and what to do: {unreachable}"
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
    assert_eq!(removed["installed"], "no");
    assert!(!unit.exists());
    assert_eq!(service(&sb, &["uninstall"])["changed"], false);
    assert!(sb.home().join("switchboard.db").exists());
    drop(daemon);
}

//! The Linux package, installed for real: the .deb `scripts/package.sh --debug` builds is
//! installed with apt, and the installed programs are run.
//!
//! - the package holds the app, its `switchboard` sidecar (the CLI on PATH), a desktop entry
//!   and icons, and depends on the libraries the app loads; so does the .rpm, read by `rpm`;
//! - the installed `switchboard` on PATH answers `status` (no daemon yet: exit 3, and how to
//!   start one);
//! - the installed app, under Xvfb with no daemon running, starts the installed sidecar (the
//!   daemon's executable is `/usr/bin/switchboard`);
//! - with the service installed by the installed CLI (under a double of `systemctl --user`,
//!   as no systemd user manager runs here), the installed app asks the manager to start the
//!   daemon instead of starting its sidecar, and attaches to it;
//! - purging the package leaves no file of it in /usr, /etc or /opt, and the user's data stays.
//!
//! It changes the machine (apt, with sudo unless root), so it is ignored by default:
//! `scripts/test.sh` runs it after building the package.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::desktop::{Reaped, xvfb};
use common::manager::Systemctl;
use common::{Sandbox, wait_until};
use serde_json::Value;

const PACKAGE: &str = "switchboard";
const CLI: &str = "/usr/bin/switchboard";
const APP: &str = "/usr/bin/switchboard-app";
/// Caches that the desktop's package triggers rebuild from whatever is installed: not files
/// of the package, and not removed with it on any Debian system.
const DESKTOP_CACHES: [&str; 2] = [
    "/usr/share/applications/mimeinfo.cache",
    "/usr/share/icons/hicolor/icon-theme.cache",
];

/// The package `scripts/package.sh --debug` built (or `SWITCHBOARD_DEB`).
fn deb() -> PathBuf {
    if let Some(path) = std::env::var_os("SWITCHBOARD_DEB") {
        return PathBuf::from(path);
    }
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/debug/bundle/deb");
    let found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    found
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap_or_else(|| {
            panic!(
                "no .deb in {}: run scripts/package.sh --debug first",
                dir.display()
            )
        })
}

/// `program`, through sudo unless this test runs as root.
fn privileged(program: &str) -> Command {
    let root = std::fs::metadata("/proc/self").is_ok_and(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0);
    if root {
        return Command::new(program);
    }
    let mut sudo = Command::new("sudo");
    sudo.args(["--preserve-env=DEBIAN_FRONTEND", program]);
    sudo
}

/// `args` for `program`, which must succeed.
fn run(mut program: Command, args: &[&str]) -> Output {
    let out = program
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{program:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Every path under the directories a package installs into.
fn snapshot() -> BTreeSet<PathBuf> {
    fn walk(dir: &Path, into: &mut BTreeSet<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                walk(&path, into);
            }
            into.insert(path);
        }
    }
    let mut all = BTreeSet::new();
    for root in ["/usr", "/etc", "/opt"] {
        walk(Path::new(root), &mut all);
    }
    all.retain(|p| !DESKTOP_CACHES.iter().any(|c| p == Path::new(c)));
    all
}

/// Purges the package when the test ends, however it ends.
struct Installed;

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = privileged("apt-get")
            .args(["purge", "-y", "-qq", PACKAGE])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .output();
    }
}

/// The installed CLI, found on PATH, in the sandbox's environment.
fn installed_cli(sb: &Sandbox, args: &[&str]) -> Output {
    sb.with_sandbox_env(PACKAGE)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

fn daemon_status(sb: &Sandbox) -> Option<Value> {
    let out = installed_cli(sb, &["--json", "status"]);
    out.status
        .success()
        .then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// `switchboard daemon` processes whose data directory is the sandbox's.
fn daemons_of(sb: &Sandbox) -> Vec<u32> {
    let wanted = format!("SWITCHBOARD_HOME={}", sb.home().display());
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let words = |b: &[u8]| {
                b.split(|c| *c == 0)
                    .map(|w| String::from_utf8_lossy(w).into_owned())
                    .collect::<Vec<_>>()
            };
            words(&cmdline).get(1).is_some_and(|w| w == "daemon") && words(&environ).contains(&wanted)
        })
        .collect()
}

/// The installed app under `display`, logging to `log`.
fn start_app(sb: &Sandbox, display: &str, log: &Path) -> Reaped {
    Reaped(
        sb.with_sandbox_env(APP)
            .env("DISPLAY", display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(log).unwrap())
            .spawn()
            .unwrap(),
    )
}

#[test]
#[ignore = "installs the .deb system-wide with apt: scripts/test.sh runs it after scripts/package.sh --debug"]
fn the_deb_installs_runs_its_own_sidecar_and_purges_cleanly() {
    let deb = deb();
    let before = snapshot();
    let _installed = Installed;
    run(
        privileged("apt-get"),
        &[
            "install",
            "-y",
            "-qq",
            "--no-install-recommends",
            deb.to_str().unwrap(),
        ],
    );

    let files = String::from_utf8(run(Command::new("dpkg"), &["-L", PACKAGE]).stdout).unwrap();
    for expected in [CLI, APP, "/usr/share/applications/Switchboard.desktop"] {
        assert!(
            files.lines().any(|l| l == expected),
            "{expected} is not in the package:\n{files}"
        );
    }
    assert!(
        files.lines().any(|l| l.starts_with("/usr/share/icons/hicolor/")),
        "no icons:\n{files}"
    );
    let depends =
        String::from_utf8(run(Command::new("dpkg-query"), &["-W", "-f=${Depends}", PACKAGE]).stdout).unwrap();
    for library in ["libwebkit2gtk-4.1-0", "libgtk-3-0", "libayatana-appindicator3-1"] {
        assert!(
            depends.contains(library),
            "the package does not depend on {library}: {depends}"
        );
    }

    rpm_has_the_same_contents(&deb);

    let sb = Sandbox::new().own_user_home();
    let on_path =
        String::from_utf8(run(Command::new("sh"), &["-c", "command -v switchboard"]).stdout).unwrap();
    assert_eq!(on_path.trim(), CLI);
    let down = installed_cli(&sb, &["status"]);
    assert_eq!(down.status.code(), Some(3), "{down:?}");
    assert!(String::from_utf8_lossy(&down.stderr).contains("not running"));

    // No daemon: the installed app starts the installed sidecar.
    let (_display, display) = xvfb();
    let app = start_app(&sb, &display, &sb.home().join("app.log"));
    let status = wait_until("the app's daemon to answer", Duration::from_secs(60), || {
        daemon_status(&sb)
    });
    let pid = status["pid"].as_u64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
        Path::new(CLI)
    );
    drop(app);
    assert!(installed_cli(&sb, &["quit"]).status.success());
    wait_until("the app's daemon to exit", Duration::from_secs(30), || {
        daemons_of(&sb).is_empty().then_some(())
    });

    app_uses_the_installed_service(&display);

    run(privileged("apt-get"), &["purge", "-y", "-qq", PACKAGE]);
    let after = snapshot();
    let left: Vec<_> = after.difference(&before).collect();
    assert!(left.is_empty(), "purging left files behind: {left:?}");
    assert!(
        sb.home().join("switchboard.db").is_file(),
        "the user's data stays"
    );
}

/// With a service manager (`systemctl`'s double: no systemd user manager runs here), the
/// installed CLI's `service install` writes a unit that runs the installed binary and starts
/// it; once it is stopped, the installed app asks the manager to start it again instead of
/// starting its sidecar, and attaches to that daemon.
fn app_uses_the_installed_service(display: &str) {
    let systemctl = Systemctl::new();
    let sb = systemctl.sandbox();
    let out = installed_cli(&sb, &["--json", "service", "install"]);
    assert!(out.status.success(), "{out:?}");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let unit = std::fs::read_to_string(report["definition"].as_str().unwrap()).unwrap();
    let exec = unit.lines().find_map(|l| l.strip_prefix("ExecStart=")).unwrap();
    assert_eq!(
        exec,
        format!("{CLI} daemon"),
        "the unit runs the installed binary"
    );
    let first = report["daemon_pid"].as_u64().unwrap();
    assert_eq!(
        std::fs::read_link(format!("/proc/{first}/exe")).unwrap(),
        Path::new(CLI)
    );

    let stop = sb
        .with_sandbox_env("systemctl")
        .args(["--user", "stop", "switchboard.service"])
        .status()
        .unwrap();
    assert!(stop.success());
    assert!(daemon_status(&sb).is_none());
    let log = sb.home().join("app-service.log");
    let app = start_app(&sb, display, &log);
    let status = wait_until(
        "the service's daemon the app asked for to answer",
        Duration::from_secs(60),
        || daemon_status(&sb),
    );
    let pid = status["pid"].as_u64().unwrap();
    assert_ne!(pid, first);
    let calls = systemctl.calls();
    let stopped = calls
        .iter()
        .position(|c| c == "stop switchboard.service")
        .unwrap();
    assert_eq!(
        calls[stopped..]
            .iter()
            .filter(|c| c.as_str() == "start switchboard.service")
            .count(),
        1,
        "the app asked the manager to start it: {calls:?}"
    );
    assert_eq!(daemons_of(&sb).len(), 1, "the app started no daemon of its own");
    wait_until(
        "the app to show the daemon's state",
        Duration::from_secs(60),
        || {
            std::fs::read_to_string(&log)
                .ok()?
                .contains("tray shows live state")
                .then_some(())
        },
    );
    drop(app);
    let removed = installed_cli(&sb, &["--json", "service", "uninstall"]);
    assert!(removed.status.success(), "{removed:?}");
    assert!(
        daemon_status(&sb).is_none(),
        "uninstall stopped the service's daemon"
    );
}

/// The .rpm built beside `deb` holds the same programs and desktop entry, and requires the
/// libraries the app loads (by soname, as rpm records them).
fn rpm_has_the_same_contents(deb: &Path) {
    let dir = deb.parent().unwrap().with_file_name("rpm");
    let rpm = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .find(|p| p.extension().is_some_and(|e| e == "rpm"))
        .unwrap_or_else(|| panic!("no .rpm in {}", dir.display()));
    let query = |flag: &str| {
        let out = run(Command::new("rpm"), &["-qp", flag, rpm.to_str().unwrap()]);
        String::from_utf8(out.stdout).unwrap()
    };
    let files = query("--list");
    for expected in [CLI, APP, "/usr/share/applications/Switchboard.desktop"] {
        assert!(
            files.lines().any(|l| l == expected),
            "{expected} is not in the .rpm:\n{files}"
        );
    }
    let requires = query("--requires");
    for library in [
        "libwebkit2gtk-4.1.so.0",
        "libgtk-3.so.0",
        "libayatana-appindicator3.so.1",
    ] {
        assert!(
            requires.contains(library),
            "the .rpm does not require {library}: {requires}"
        );
    }
}

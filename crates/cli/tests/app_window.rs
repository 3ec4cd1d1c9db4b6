//! The desktop app, end to end: the real app binary (`switchboard-app`, built with the
//! workspace) under Xvfb.
//!
//! - Its window, driven through tauri-driver and WebKitWebDriver by Python selenium
//!   (`tests/app/window.py`). The app starts its own daemon from the `switchboard` binary
//!   beside it; in the window the test installs a server from the local registry fixture,
//!   sees it running, stops it, and sees the state change, then checks the daemon agrees.
//! - Its tray and notifications, through a desktop double speaking the protocols Linux
//!   desktops use (StatusNotifierWatcher, dbusmenu and org.freedesktop.Notifications,
//!   `tests/app/tray_host.py`): the menu shows a server running and checked, clicking it stops
//!   it, then starts it; a server falling into a crash loop raises a notification.
//! - Its window's own process: opened from the tray app, closed as a window manager closes
//!   it (`tests/app/close_window.py`), it ends with its WebKit processes, and the tray's
//!   process never loads OpenGL.
//!
//! The app is single instance per D-Bus session, so these run one at a time
//! (`.config/nextest.toml`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::desktop::{Reaped, app_binary, tray_app, xvfb};
use common::registry::{FakeRegistry, offline_sandbox, time_document};
use common::{Sandbox, descendants, free_port, time_server, tools_dir, wait_until};

/// Stops the daemon the app started, so it does not outlive the test.
struct QuitDaemon<'a>(&'a Sandbox);

impl Drop for QuitDaemon<'_> {
    fn drop(&mut self) {
        let _ = self.0.cli(&["quit"]);
    }
}

#[test]
fn in_the_app_window_a_server_is_installed_runs_and_is_stopped() {
    assert!(
        app_binary().is_file(),
        "{} is missing: build the workspace (cargo build --workspace) first",
        app_binary().display()
    );
    let registry = FakeRegistry::start(&[]);
    registry.publish(time_document("2026.10.19"));
    let sb = offline_sandbox(&registry, &[]).own_user_home();
    let _quit = QuitDaemon(&sb);
    let (_display, display) = xvfb();
    let (port, native_port) = (free_port(), free_port());
    let _driver = Reaped(
        sb.with_sandbox_env("tauri-driver")
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native_port.to_string(),
            ])
            .env("DISPLAY", &display)
            .env_remove("WAYLAND_DISPLAY")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(sb.home().join("app.log")).unwrap())
            .spawn()
            .expect("tauri-driver runs (scripts/install-deps.sh --test installs it)"),
    );
    wait_until("tauri-driver to listen", Duration::from_secs(20), || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });

    let shots = std::env::var_os("SWITCHBOARD_SCREENSHOTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| sb.home().join("screenshots"));
    let status = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/app/window.py"))
        .arg(app_binary())
        .arg(format!("http://127.0.0.1:{port}"))
        .arg(&shots)
        .status()
        .unwrap();
    assert!(
        status.success(),
        "the app window run failed (see its output; {}/app-failed.png); the app's log:\n{}",
        shots.display(),
        std::fs::read_to_string(sb.home().join("app.log")).unwrap_or_default()
    );

    // The daemon the app started has the server, stopped as the window asked.
    let server = sb.server("server-time");
    assert_eq!(server["status"]["state"], "stopped", "{server}");
    assert_eq!(
        server["origin"]["name"],
        "io.github.modelcontextprotocol/server-time"
    );
    for page in ["app-empty", "app-installed", "app-stopped"] {
        assert!(
            shots.join(format!("{page}.png")).is_file(),
            "no screenshot {page}"
        );
    }
}

#[test]
fn a_desktop_sees_server_state_in_the_tray_menu_toggles_it_and_is_told_of_a_crash_loop() {
    let mut sb = Sandbox::new().own_user_home();
    sb.start_daemon();
    sb.ok(&["add", "time", "--", &time_server()]);
    sb.wait_state("time", "running", Duration::from_secs(60));
    let (_display, display) = xvfb();
    let mut host = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/app/tray_host.py"))
        .args(["time", "crashy"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut output = BufReader::new(host.stdout.take().unwrap());
    let mut ready = String::new();
    output.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "READY", "the tray host did not start");
    let mut host = Reaped(host);
    // The app attaches to this sandbox's daemon; --hidden, as at login: the tray only.
    let app = |log: &str| tray_app(&sb, &display, log);
    let mut first = app("app.log");
    // Once the toggles are done, a server that exits at once falls into a crash loop.
    let mut steps = String::new();
    while !steps.ends_with("TOGGLED\n") {
        if output.read_line(&mut steps).unwrap() == 0 {
            break;
        }
    }
    if steps.ends_with("TOGGLED\n") {
        // `add` waits for it to settle and exits 1: it did not come up.
        sb.cli(&["add", "crashy", "--", "sh", "-c", "exit 3"]);
    }
    let status = wait_until("the tray host to finish", Duration::from_secs(120), || {
        host.0.try_wait().unwrap()
    });
    std::io::Read::read_to_string(&mut output, &mut steps).unwrap();
    assert!(
        status.success(),
        "the tray host failed after:\n{steps}\nthe app's log:\n{}",
        std::fs::read_to_string(sb.home().join("app.log")).unwrap_or_default()
    );
    // The clicks reached the daemon: a stop, then a second run.
    assert_eq!(sb.server("time")["status"]["state"], "running");
    // Start at login wrote the desktop's autostart entry, which starts the app in the tray.
    let entries = sb.user_home().join(".config/autostart");
    let autostart = std::fs::read_to_string(entries.join("Switchboard.desktop")).unwrap_or_else(|e| {
        let found: Vec<_> = std::fs::read_dir(&entries)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        let log = std::fs::read_to_string(sb.home().join("app.log")).unwrap_or_default();
        panic!(
            "no autostart entry ({e}); {} holds {found:?}; the app said:\n{log}",
            entries.display()
        )
    });
    assert!(autostart.contains("--hidden"), "{autostart}");
    // A second launch hands over to the first and exits; the first keeps running.
    let mut second = app("app-second.log");
    let exited = wait_until("the second app to exit", Duration::from_secs(30), || {
        second.0.try_wait().unwrap()
    });
    assert!(exited.success(), "{exited}");
    assert!(
        first.0.try_wait().unwrap().is_none(),
        "the first app is still running"
    );
    assert_eq!(sb.server("crashy")["status"]["state"], "crash_looping");
    assert_eq!(sb.runs("time").len(), 2, "{:?}", sb.runs("time"));
}

#[test]
fn the_window_lives_in_a_process_of_its_own_that_ends_when_it_closes() {
    let mut sb = Sandbox::new().own_user_home();
    sb.start_daemon();
    let (_display, display) = xvfb();
    let tray = tray_app(&sb, &display, "app.log");
    let tray_pid = tray.0.id();
    let log = || std::fs::read_to_string(sb.home().join("app.log")).unwrap_or_default();
    wait_until("the tray to show live state", Duration::from_secs(60), || {
        log().contains("tray shows live state").then_some(())
    });
    assert_eq!(descendants(tray_pid), Vec::<u32>::new(), "the tray alone runs");
    let tray_libraries = maps(tray_pid);
    assert!(
        !tray_libraries.contains("libLLVM") && !tray_libraries.contains("swrast_dri"),
        "the tray process loaded OpenGL"
    );

    // Opening Switchboard again (a second launch) opens the window, in a process of its own.
    let first = open_window(&sb, &display, tray_pid);

    // Closed as a person closes it, the window's process ends, and its WebKit processes too.
    let closed = Command::new(tools_dir().join("venv/bin/python"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/app/close_window.py"))
        .arg(first.window.to_string())
        .env("DISPLAY", &display)
        .status()
        .unwrap();
    assert!(closed.success(), "the window could not be closed");
    first.wait_ended();
    assert_eq!(descendants(tray_pid), Vec::<u32>::new(), "the tray alone runs");
    assert!(common::alive(tray_pid), "the tray outlives its window");
    assert!(
        !maps(tray_pid).contains("libLLVM"),
        "the tray process loaded OpenGL"
    );

    // It opens again, and ends with the tray however the tray ends.
    let second = open_window(&sb, &display, tray_pid);
    assert_ne!(first.window, second.window, "a new window process");
    common::signal(tray_pid, 9);
    second.wait_ended();
}

/// A window's process and the WebKit processes under it.
struct Opened {
    window: u32,
    processes: Vec<u32>,
}

impl Opened {
    fn wait_ended(&self) {
        wait_until("the window's processes to end", Duration::from_secs(30), || {
            (!self.processes.iter().any(|&pid| common::alive(pid))).then_some(())
        });
    }
}

/// Opens the window as a second launch of the app does, once its web view runs.
fn open_window(sb: &Sandbox, display: &str, tray_pid: u32) -> Opened {
    let mut second = sb
        .with_sandbox_env(app_binary())
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let handed_over = wait_until("the second launch to exit", Duration::from_secs(30), || {
        second.try_wait().unwrap()
    });
    assert!(
        handed_over.success(),
        "the second launch hands over: {handed_over}"
    );
    wait_until("the window and its web view", Duration::from_secs(60), || {
        let tree = descendants(tray_pid);
        let window = tree
            .iter()
            .copied()
            .find(|&pid| command_line(pid).contains("--window"))?;
        let web = tree
            .iter()
            .any(|&pid| command_line(pid).contains("WebKitWebProcess"));
        web.then_some(Opened {
            window,
            processes: tree,
        })
    })
}

fn command_line(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
        .unwrap_or_default()
        .replace('\0', " ")
}

fn maps(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/maps")).unwrap_or_default()
}

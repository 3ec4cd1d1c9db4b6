//! The desktop app, end to end: the real app binary (`switchboard-app`, built with the
//! workspace) under Xvfb, driven through tauri-driver and WebKitWebDriver by Python selenium
//! (`tests/app/window.py`). The app starts its own daemon from the `switchboard` binary beside
//! it; in its window the test installs a server from the local registry fixture, sees it
//! running, stops it, and sees the state change, which is then checked from the daemon's side.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::{BufRead, BufReader};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::registry::{FakeRegistry, offline_sandbox, time_document};
use common::{BIN, Sandbox, free_port, tools_dir, wait_until};

/// A child process killed (and reaped) when the test ends, however it ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A virtual X display; returns it and its name (`:N`).
fn xvfb() -> (Reaped, String) {
    let mut child = Command::new("Xvfb")
        .args([
            "-displayfd",
            "1",
            "-screen",
            "0",
            "1280x900x24",
            "-nolisten",
            "tcp",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("Xvfb runs (scripts/install-deps.sh --test installs it)");
    let mut number = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut number)
        .unwrap();
    (Reaped(child), format!(":{}", number.trim()))
}

/// Stops the daemon the app started, so it does not outlive the test.
struct QuitDaemon<'a>(&'a Sandbox);

impl Drop for QuitDaemon<'_> {
    fn drop(&mut self) {
        let _ = self.0.cli(&["quit"]);
    }
}

fn app_binary() -> PathBuf {
    Path::new(BIN).with_file_name("switchboard-app")
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

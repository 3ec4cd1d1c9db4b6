//! A desktop for the app's end-to-end tests: a virtual X display, and children that end with
//! the test however it ends.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::{BIN, Sandbox};

/// A child process killed (and reaped) when the test ends, however it ends.
pub struct Reaped(pub Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A virtual X display; returns it and its name (`:N`).
pub fn xvfb() -> (Reaped, String) {
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

/// The desktop app binary, built with the workspace beside `switchboard`.
pub fn app_binary() -> PathBuf {
    Path::new(BIN).with_file_name("switchboard-app")
}

/// The app on `display`, attached to `sb`'s daemon, in the tray only (`--hidden`, as at
/// login); its stderr goes to `log` in the sandbox.
pub fn tray_app(sb: &Sandbox, display: &str, log: &str) -> Reaped {
    let child = sb
        .with_sandbox_env(app_binary())
        .arg("--hidden")
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(sb.home().join(log)).unwrap())
        .spawn()
        .unwrap();
    Reaped(child)
}

//! A service manager for tests of `switchboard service`: `tests/service/systemctl.py`, a
//! double of `systemctl --user` that runs units as systemd's user manager would (none can run
//! here), put first on a sandbox's PATH.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::Sandbox;

pub struct Systemctl {
    dir: tempfile::TempDir,
}

impl Systemctl {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("bin")).unwrap();
        let double = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/service/systemctl.py");
        std::os::unix::fs::symlink(
            std::fs::canonicalize(double).unwrap(),
            dir.path().join("bin/systemctl"),
        )
        .unwrap();
        Self { dir }
    }

    /// A sandbox (with a user home of its own) whose commands find the double first on PATH.
    pub fn sandbox(&self) -> Sandbox {
        let path = format!(
            "{}:{}",
            self.dir.path().join("bin").display(),
            std::env::var("PATH").unwrap()
        );
        let state = self.state().display().to_string();
        Sandbox::with_env(&[("PATH", &path), ("SYSTEMCTL_DOUBLE_STATE", &state)]).own_user_home()
    }

    fn state(&self) -> PathBuf {
        self.dir.path().join("state")
    }

    /// Every systemctl command line run so far, without `--user`.
    pub fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.state().join("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }
}

impl Drop for Systemctl {
    /// Stops the daemon the double started, however the test ends.
    fn drop(&mut self) {
        if let Ok(pid) = std::fs::read_to_string(self.state().join("main.pid")) {
            let _ = Command::new("kill").arg(pid.trim()).status();
        }
    }
}

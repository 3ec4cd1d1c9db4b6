//! Where the daemon keeps its files: one data directory per user, per OS convention.
//!
//! [`data_dir`] resolves it from the environment: `SWITCHBOARD_HOME` first, then XDG on Linux,
//! Application Support on macOS, `%APPDATA%` on Windows. The resolution is a pure function of
//! the OS and an environment lookup, so every OS's rule is unit-tested here on Linux.
//! [`DataDir`] names the files inside; it creates nothing but the directory itself.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use switchboard_model::{Os, ServerName};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathsError {
    #[error(
        "cannot find a home for Switchboard's data: {missing} is not set; set SWITCHBOARD_HOME to a directory"
    )]
    NoHome { missing: &'static str },
    #[error("cannot create the data directory {path}: {source}; check permissions or set SWITCHBOARD_HOME")]
    Create { path: PathBuf, source: std::io::Error },
    #[error(
        "cannot make {path} private to you: {source}; it holds Switchboard's records, so fix its \
         owner or permissions (`chmod go-rwx`), or set SWITCHBOARD_HOME to another directory"
    )]
    MakePrivate { path: PathBuf, source: std::io::Error },
}

/// The data directory for this process's environment.
pub fn data_dir() -> Result<PathBuf, PathsError> {
    data_dir_for(Os::current(), |key| std::env::var_os(key))
}

/// The data directory on `os`, reading variables through `env`.
pub fn data_dir_for(os: Os, env: impl Fn(&str) -> Option<OsString>) -> Result<PathBuf, PathsError> {
    let non_empty = |key: &str| env(key).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(home) = non_empty("SWITCHBOARD_HOME") {
        return Ok(home);
    }
    match os {
        Os::Linux => non_empty("XDG_DATA_HOME")
            .filter(|p| p.is_absolute())
            .or_else(|| non_empty("HOME").map(|h| h.join(".local/share")))
            .map(|base| base.join("switchboard"))
            .ok_or(PathsError::NoHome { missing: "HOME" }),
        Os::MacOs => non_empty("HOME")
            .map(|h| h.join("Library/Application Support/Switchboard"))
            .ok_or(PathsError::NoHome { missing: "HOME" }),
        Os::Windows => non_empty("APPDATA")
            .map(|a| a.join("Switchboard"))
            .ok_or(PathsError::NoHome { missing: "APPDATA" }),
    }
}

/// Clears the group and other bits of `path`'s mode; records it in `changed` if any were set.
#[cfg(unix)]
fn private(path: &Path, changed: &mut Vec<PathBuf>) -> Result<(), PathsError> {
    use std::os::unix::fs::PermissionsExt;
    let failed = |source| PathsError::MakePrivate {
        path: path.to_owned(),
        source,
    };
    let mode = std::fs::metadata(path).map_err(failed)?.permissions().mode();
    if mode & 0o077 != 0 {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode & 0o7700)).map_err(failed)?;
        changed.push(path.to_owned());
    }
    Ok(())
}

/// The files inside the data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Uses `root`, creating it if it does not exist.
    pub fn create(root: PathBuf) -> Result<Self, PathsError> {
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs).map_err(|source| PathsError::Create { path: logs, source })?;
        Ok(Self { root })
    }

    /// Takes every permission of group and others away from the directory and what
    /// Switchboard keeps in it (the database and its journals, tokens, secrets, logs, client
    /// file journals), whatever they were before: they hold history, tokens and server output.
    /// Installed packages keep their modes (their programs must stay executable); the
    /// directory above them is private already. Returns what was changed, for a log line.
    #[cfg(unix)]
    pub fn make_private(&self) -> Result<Vec<PathBuf>, PathsError> {
        let mut changed = Vec::new();
        private(&self.root, &mut changed)?;
        for dir in [self.root.clone(), self.root.join("logs"), self.journal()] {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                let path = entry.path();
                let is_file = entry.file_type().is_ok_and(|t| t.is_file());
                if is_file || path == self.root.join("logs") || path == self.journal() {
                    private(&path, &mut changed)?;
                }
            }
        }
        Ok(changed)
    }

    #[cfg(not(unix))]
    pub fn make_private(&self) -> Result<Vec<PathBuf>, PathsError> {
        // The per-user profile directory is private to its user already.
        Ok(Vec::new())
    }

    /// A handle for reading files a daemon may have written; creates nothing.
    pub fn existing(root: PathBuf) -> Self {
        Self { root }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }
    pub fn database(&self) -> PathBuf {
        self.root.join("switchboard.db")
    }
    /// The control API's bearer token, mode 0600.
    pub fn control_token(&self) -> PathBuf {
        self.root.join("control.token")
    }
    /// The control API for this user only (Unix): the CLI and the app talk to the daemon here,
    /// so nothing else listening on the port can receive the control token.
    pub fn control_socket(&self) -> PathBuf {
        self.root.join("control.sock")
    }
    /// The control API for this user only (Windows): a named pipe, named after the data
    /// directory so that two daemons with different data directories do not meet.
    pub fn control_pipe(&self) -> String {
        let root = self.root.to_string_lossy().replace('\\', "/");
        format!(r"\\.\pipe\switchboard-control-{root}")
    }
    /// Held locked by the running daemon: one daemon per data directory.
    pub fn daemon_lock(&self) -> PathBuf {
        self.root.join("daemon.lock")
    }
    /// Held locked by a watchdog while it may still be ending servers of a lost daemon.
    pub fn watchdog_lock(&self) -> PathBuf {
        self.root.join("watchdog.lock")
    }
    /// Where clients find the running daemon's port and pid.
    pub fn daemon_info(&self) -> PathBuf {
        self.root.join("daemon.json")
    }
    /// The bytes of client config files before and after each write Switchboard made.
    pub fn journal(&self) -> PathBuf {
        self.root.join("journal")
    }
    /// The socket Tailscale Serve proxies HTTPS requests to (only tailscaled, running as root,
    /// and this user can open it).
    pub fn serve_socket(&self) -> PathBuf {
        self.root.join("tailnet-serve.sock")
    }
    /// Packages fetched by installs, one directory per server and version.
    pub fn packages(&self) -> PathBuf {
        self.root.join("packages")
    }
    pub fn server_log(&self, server: &ServerName) -> PathBuf {
        self.root.join("logs").join(format!("{server}.log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_control_pipe_is_named_after_the_data_directory() {
        let data = DataDir::existing(PathBuf::from(r"C:\Users\a\AppData\Roaming\Switchboard"));
        assert_eq!(
            data.control_pipe(),
            r"\\.\pipe\switchboard-control-C:/Users/a/AppData/Roaming/Switchboard"
        );
    }

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |key| {
            pairs
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn data_dir_per_os() {
        let cases: &[(Os, &[(&str, &str)], &str)] = &[
            (
                Os::Linux,
                &[("HOME", "/home/ann")],
                "/home/ann/.local/share/switchboard",
            ),
            (
                Os::Linux,
                &[("HOME", "/home/ann"), ("XDG_DATA_HOME", "/data")],
                "/data/switchboard",
            ),
            // The XDG spec says a relative XDG_DATA_HOME is invalid and must be ignored.
            (
                Os::Linux,
                &[("HOME", "/home/ann"), ("XDG_DATA_HOME", "rel")],
                "/home/ann/.local/share/switchboard",
            ),
            (
                Os::Linux,
                &[("HOME", "/home/ann"), ("XDG_DATA_HOME", "")],
                "/home/ann/.local/share/switchboard",
            ),
            (
                Os::MacOs,
                &[("HOME", "/Users/ann")],
                "/Users/ann/Library/Application Support/Switchboard",
            ),
            (
                Os::Windows,
                &[("APPDATA", r"C:\Users\ann\AppData\Roaming")],
                r"C:\Users\ann\AppData\Roaming/Switchboard",
            ),
            (
                Os::MacOs,
                &[("HOME", "/Users/ann"), ("SWITCHBOARD_HOME", "/tmp/sb")],
                "/tmp/sb",
            ),
            (Os::Windows, &[("SWITCHBOARD_HOME", "D:/sb")], "D:/sb"),
        ];
        for (os, vars, want) in cases {
            let got = data_dir_for(*os, env(vars)).expect("resolves");
            assert_eq!(got, PathBuf::from(want), "{os:?} {vars:?}");
        }
    }

    #[test]
    fn missing_home_says_what_to_set() {
        let err = data_dir_for(Os::Windows, env(&[("HOME", "/x")])).expect_err("no APPDATA");
        assert!(err.to_string().contains("APPDATA"), "{err}");
        assert!(err.to_string().contains("SWITCHBOARD_HOME"), "{err}");
        assert!(data_dir_for(Os::Linux, env(&[])).is_err());
    }
}

#[cfg(test)]
#[cfg(unix)]
mod private_tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn mode(path: &Path) -> u32 {
        std::fs::metadata(path).expect("exists").permissions().mode() & 0o7777
    }

    fn set_mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// Only a directory Switchboard created was narrowed; one that existed (SWITCHBOARD_HOME,
    /// or made by hand) kept 0755, and the database and logs inside stayed world-readable.
    #[test]
    fn what_existed_before_is_made_private_but_packages_keep_their_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("data");
        std::fs::create_dir_all(root.join("logs")).expect("mkdir");
        std::fs::create_dir_all(root.join("packages/time/1.0/bin")).expect("mkdir");
        let files = [
            "switchboard.db",
            "switchboard.db-wal",
            "secrets.json",
            "logs/time.log",
        ];
        for file in files {
            std::fs::write(root.join(file), b"private").expect("write");
            set_mode(&root.join(file), 0o644);
        }
        let program = root.join("packages/time/1.0/bin/mcp-server-time");
        std::fs::write(&program, b"#!/bin/sh\n").expect("write");
        set_mode(&program, 0o755);
        for dir in [&root, &root.join("logs"), &root.join("packages")] {
            set_mode(dir, 0o755);
        }

        let data = DataDir::create(root.clone()).expect("data dir");
        let changed = data.make_private().expect("private");
        assert_eq!(mode(&root), 0o700);
        assert_eq!(mode(&root.join("logs")), 0o700);
        for file in files {
            assert_eq!(mode(&root.join(file)), 0o600, "{file}");
            assert!(changed.contains(&root.join(file)), "{file} is in the log line");
        }
        assert_eq!(mode(&program), 0o755, "programs stay executable");
        assert!(
            data.make_private().expect("again").is_empty(),
            "nothing left to change"
        );
    }
}

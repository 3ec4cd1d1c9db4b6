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

/// The files inside the data directory.
#[derive(Clone, Debug)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// Uses `root`, creating it (owner-only on Unix) if it does not exist.
    pub fn create(root: PathBuf) -> Result<Self, PathsError> {
        #[cfg(unix)]
        let existed = root.exists();
        let logs = root.join("logs");
        std::fs::create_dir_all(&logs).map_err(|source| PathsError::Create { path: logs, source })?;
        // Only a directory made here is narrowed: SWITCHBOARD_HOME may name one the user owns.
        #[cfg(unix)]
        if !existed {
            use std::os::unix::fs::PermissionsExt;
            let owner_only = std::fs::Permissions::from_mode(0o700);
            std::fs::set_permissions(&root, owner_only).map_err(|source| PathsError::Create {
                path: root.clone(),
                source,
            })?;
        }
        Ok(Self { root })
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

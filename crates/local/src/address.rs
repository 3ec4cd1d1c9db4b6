//! The daemon's address record: `daemon.json` in the data directory, naming the running
//! daemon's port and pid.
//!
//! The daemon [`publish`]es it once it listens (atomically: written beside, then renamed) and
//! removes it when it stops. Clients [`read`] it, or ask for the [`port`] with a fallback for a
//! daemon that has not written one yet. On Unix clients talk over the control socket
//! ([`DataDir::control_socket`]) and the port only names the daemon in messages. The record
//! says where a daemon was, not that it is alive: only asking it tells that.

use std::path::PathBuf;

use switchboard_model::api::DaemonInfo;

use crate::paths::DataDir;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    #[error("cannot write {path}: {source}; check free space and permissions")]
    Write { path: PathBuf, source: std::io::Error },
}

/// The record a daemon left in `data`; `None` if there is none or it cannot be read.
pub fn read(data: &DataDir) -> Option<DaemonInfo> {
    std::fs::read(data.daemon_info())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<DaemonInfo>(&bytes).ok())
}

/// The port the daemon of `data` listens on, or `hint` (the configured port) if it has not
/// said.
pub fn port(data: &DataDir, hint: u16) -> u16 {
    read(data).map_or(hint, |info| info.port)
}

/// Publishes how to reach this daemon, atomically (write, then rename).
pub fn publish(data: &DataDir, info: &DaemonInfo) -> Result<(), AddressError> {
    let path = data.daemon_info();
    let partial = path.with_extension("json.partial");
    let bytes = serde_json::to_vec_pretty(info).unwrap_or_default();
    std::fs::write(&partial, bytes)
        .and_then(|()| std::fs::rename(&partial, &path))
        .map_err(|source| AddressError::Write { path, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_is_read_back_and_a_missing_or_damaged_record_falls_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::existing(dir.path().to_owned());
        assert_eq!(read(&data), None);
        assert_eq!(port(&data, 8377), 8377);

        let info = DaemonInfo {
            pid: 42,
            port: 51000,
            version: "0.1.0".into(),
        };
        publish(&data, &info).expect("publishes");
        assert_eq!(read(&data), Some(info));
        assert_eq!(port(&data, 8377), 51000);
        assert!(!data.daemon_info().with_extension("json.partial").exists());

        std::fs::write(data.daemon_info(), b"{\"port\":").expect("write");
        assert_eq!(port(&data, 8377), 8377, "a half-written record is not believed");
    }

    #[test]
    fn a_directory_that_is_not_there_says_which_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = DataDir::existing(dir.path().join("gone"));
        let info = DaemonInfo {
            pid: 1,
            port: 1,
            version: String::new(),
        };
        let err = publish(&data, &info).expect_err("no directory");
        assert!(err.to_string().contains("daemon.json"), "{err}");
    }
}

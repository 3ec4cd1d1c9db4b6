//! The control token: the bearer credential of the control API, in a 0600 file.
//!
//! Whoever can read the file as the user may drive the daemon; nobody else can. The token is
//! made once from the OS random source and kept across restarts so the CLI and the UI keep
//! working. Its value never appears in `Debug` output or logs. This module reads and creates
//! the file; checking a presented token is the daemon's (`switchboard_daemon::token`).

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error(
        "cannot read or create the control token {path}: {source}; check the data directory's permissions"
    )]
    Io { path: PathBuf, source: std::io::Error },
    #[error("cannot get random bytes for the control token: {0}")]
    Random(getrandom::Error),
    #[error(
        "the control token {path} is empty or damaged; delete it and restart the daemon to make a new one"
    )]
    Damaged { path: PathBuf },
}

#[derive(Clone)]
pub struct ControlToken(String);

impl fmt::Debug for ControlToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ControlToken(<redacted>)")
    }
}

impl ControlToken {
    /// Reads the token at `path`, creating it (mode 0600) if there is none.
    pub fn load_or_create(path: &Path) -> Result<Self, TokenError> {
        let io = |source| TokenError::Io {
            path: path.to_owned(),
            source,
        };
        match std::fs::read_to_string(path) {
            Ok(text) => {
                restrict_to_owner(path).map_err(io)?;
                let token = text.trim();
                if token.len() < 32 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(TokenError::Damaged {
                        path: path.to_owned(),
                    });
                }
                Ok(Self(token.to_owned()))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let mut bytes = [0u8; 32];
                getrandom::fill(&mut bytes).map_err(TokenError::Random)?;
                let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
                let mut options = std::fs::File::options();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options.open(path).map_err(io)?;
                file.write_all(token.as_bytes())
                    .and_then(|()| file.sync_all())
                    .map_err(io)?;
                Ok(Self(token))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// Reads an existing token (the CLI's side); `None` if there is none yet.
    pub fn read(path: &Path) -> Result<Option<Self>, TokenError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Ok(Some(Self(text.trim().to_owned()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(TokenError::Io {
                path: path.to_owned(),
                source,
            }),
        }
    }

    /// The value, for an `Authorization` header. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

fn restrict_to_owner(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)?.permissions().mode();
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{} was readable by others; restricting it to its owner",
                path.display()
            );
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_owner_only_stable_and_redacted() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("control.token");
        let first = ControlToken::load_or_create(&path).expect("creates");
        let again = ControlToken::load_or_create(&path).expect("reads");
        assert_eq!(first.expose(), again.expose());
        assert!(!format!("{first:?}").contains(first.expose()));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            ControlToken::load_or_create(&path).expect("reads");
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777;
            assert_eq!(mode, 0o600, "a readable token is tightened");
        }
        std::fs::write(&path, "short").expect("write");
        assert!(matches!(
            ControlToken::load_or_create(&path),
            Err(TokenError::Damaged { .. })
        ));
    }
}

//! The control token: the bearer credential of the control API, in a 0600 file.
//!
//! Whoever can read the file as the user may drive the daemon; nobody else can. The token is
//! made once from the OS random source and kept across restarts so the CLI and the UI keep
//! working. Its value never appears in `Debug` output or logs. This module reads and creates
//! the file; checking a presented token is the daemon's (`switchboard_daemon::token`).
//!
//! It also owns [`random_bytes`] and [`random_secret`], the one way the workspace draws a
//! secret (control, client, browser and OAuth tokens, session ids) from the OS random source:
//! there is no fallback, a secret that cannot be unguessable is an error.

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
    #[error("cannot make the control token: {0}")]
    Random(#[from] RandomError),
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
                let token = random_secret::<32>()?;
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

/// The OS random source gave no bytes: no secret can be made.
#[derive(Debug, thiserror::Error)]
#[error(
    "the operating system's random source failed ({0}); on Linux check that the getrandom \
     system call or /dev/urandom is available to the daemon (a seccomp or container policy may block it)"
)]
pub struct RandomError(getrandom::Error);

/// `N` bytes from the OS random source, for a secret to be encoded by the caller.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], RandomError> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes).map_err(RandomError)?;
    Ok(bytes)
}

/// `N` random bytes as lowercase hex (`2 * N` characters): a token or id nobody can guess.
pub fn random_secret<const N: usize>() -> Result<String, RandomError> {
    Ok(hex::encode(random_bytes::<N>()?))
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
    // Elsewhere the file keeps the ACL it inherits from the data directory, which under the
    // user's profile only the user (and administrators) may read.
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_hex_of_the_asked_length_and_differ() {
        let a = random_secret::<16>().expect("random");
        let b = random_secret::<16>().expect("random");
        assert_eq!(a.len(), 32);
        assert!(a.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')));
        assert_ne!(a, b);
    }

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

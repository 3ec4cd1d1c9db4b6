//! Domain types shared by the Switchboard daemon, its CLI and its shells.
//!
//! This crate owns the vocabulary: validated [`ServerName`]s, [`ServerSpec`]s (what to run),
//! [`ServerState`]s (what is running), the one closed [`Event`] enum, and the control API's
//! data transfer types in [`api`]. It does no I/O and knows nothing of processes, SQLite or
//! HTTP; serialisation is derived here only because these types *are* the API's wire shapes.

pub mod api;
mod name;
mod spec;
pub mod sse;
mod state;

pub use name::{NameError, RESERVED_NAME, ServerName};
pub use spec::{
    Health, Launch, Origin, Protocol, RestartPolicy, ServerSpec, Sharing, SpecError, Start, StartMode,
    Transport, ValueSource,
};
pub use state::{ExitCause, FailureReason, PeerInfo, ServerState};

/// The operating systems whose file-location conventions Switchboard knows. Path rules take
/// it as a parameter, so every OS's rule is tested on any host.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "lowercase")]
pub enum Os {
    Linux,
    MacOs,
    Windows,
}

impl Os {
    pub fn current() -> Self {
        if cfg!(target_os = "macos") {
            Self::MacOs
        } else if cfg!(windows) {
            Self::Windows
        } else {
            Self::Linux
        }
    }
}

/// The control API's default loopback port; `--port` or `SWITCHBOARD_PORT` override it.
pub const DEFAULT_PORT: u16 = 7349;

/// Milliseconds since the Unix epoch: the one timestamp form on the wire and in the store.
pub type UnixMillis = i64;

/// The current time as [`UnixMillis`].
pub fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

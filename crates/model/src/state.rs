//! Runtime states of a server and the classified reasons it is not running.
//!
//! Each [`ServerState`] variant carries only what is true in that state: a pid only while a
//! process exists, a reason only when something went wrong. The supervisor is the only writer.

use std::fmt;

use crate::UnixMillis;

/// Where a server is in its life, as the supervisor last saw it.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum ServerState {
    /// Not running, and nothing will start it until asked.
    Stopped,
    /// Spawned (or being reached) and doing the MCP handshake.
    Starting {
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
    },
    /// The handshake and tools/list succeeded; health pings keep confirming it.
    Running {
        #[serde(skip_serializing_if = "Option::is_none")]
        pid: Option<u32>,
        since_ms: UnixMillis,
        tools: u32,
        #[serde(skip_serializing_if = "Option::is_none")]
        server_info: Option<PeerInfo>,
    },
    /// Started on demand and idle, so no process runs; its lists are answered from its last
    /// run's, and the first request that needs it starts it.
    Sleeping {
        since_ms: UnixMillis,
        /// Tools its last run listed.
        tools: u32,
    },
    /// Exited, and will be started again at `until_ms`.
    BackingOff {
        attempt: u32,
        until_ms: UnixMillis,
        last: FailureReason,
    },
    /// Restarted too often in a short window; left down until the user starts it, or the
    /// machine wakes or its network changes.
    CrashLooping {
        restarts: u32,
        window_secs: u64,
        last: FailureReason,
    },
    /// Cannot run as configured; left down until the user fixes it and starts it.
    Failed { reason: FailureReason },
}

impl ServerState {
    /// The state's name as the API and CLI show it.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Stopped => "stopped",
            Self::Starting { .. } => "starting",
            Self::Running { .. } => "running",
            Self::Sleeping { .. } => "sleeping",
            Self::BackingOff { .. } => "backing_off",
            Self::CrashLooping { .. } => "crash_looping",
            Self::Failed { .. } => "failed",
        }
    }

    /// True when nothing more will happen without the user (or a spec change) acting.
    pub fn is_settled(&self) -> bool {
        !matches!(self, Self::Starting { .. } | Self::BackingOff { .. })
    }

    pub fn pid(&self) -> Option<u32> {
        match self {
            Self::Starting { pid } | Self::Running { pid, .. } => *pid,
            _ => None,
        }
    }
}

/// What the server said about itself in its initialize result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PeerInfo {
    pub name: String,
    #[serde(default)]
    pub version: String,
    pub protocol_version: String,
}

/// How a process ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExitCause {
    Exited {
        code: i32,
    },
    Signaled {
        signal: i32,
    },
    /// Stopped because health checks went unanswered.
    Unresponsive,
    /// The daemon stopped it: the user asked, or the daemon shut down.
    Stopped,
    /// The daemon died while it ran; its watchdog ended it.
    DaemonLost,
    /// It ended, but how could not be read from the operating system.
    Unobserved {
        error: String,
    },
}

impl ExitCause {
    pub fn is_success(&self) -> bool {
        matches!(self, Self::Exited { code: 0 })
    }
}

impl fmt::Display for ExitCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Exited { code } => write!(f, "exited with code {code}"),
            Self::Signaled { signal } => write!(f, "killed by signal {signal}"),
            Self::Unresponsive => f.write_str("stopped after failing health checks"),
            Self::Stopped => f.write_str("stopped"),
            Self::DaemonLost => f.write_str("ended when the daemon was lost"),
            Self::Unobserved { error } => write!(f, "ended, but its exit status could not be read: {error}"),
        }
    }
}

/// Why a server is not running, classified so the UI can say what to do.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureReason {
    ProgramNotFound {
        program: String,
    },
    SpawnFailed {
        message: String,
    },
    ExitedDuringStartup {
        cause: ExitCause,
        stderr_tail: String,
    },
    HandshakeTimeout {
        after_ms: u64,
        stderr_tail: String,
    },
    HandshakeFailed {
        message: String,
    },
    PortInUse {
        port: u16,
    },
    /// It was running and then ended without being asked to.
    Crashed {
        cause: ExitCause,
        stderr_tail: String,
    },
    /// A secret its spec refers to could not be read.
    SecretUnavailable {
        key: String,
        message: String,
    },
    /// A remote server refused its credentials (HTTP 401): it needs `switchboard login`.
    NeedsLogin {
        message: String,
    },
}

impl FailureReason {
    pub fn stderr_tail(&self) -> Option<&str> {
        match self {
            Self::ExitedDuringStartup { stderr_tail, .. }
            | Self::HandshakeTimeout { stderr_tail, .. }
            | Self::Crashed { stderr_tail, .. } => Some(stderr_tail),
            _ => None,
        }
    }
}

impl fmt::Display for FailureReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ProgramNotFound { program } => {
                write!(f, "cannot find `{program}`; install it or give its absolute path")
            }
            Self::SpawnFailed { message } => write!(f, "could not start: {message}"),
            Self::ExitedDuringStartup { cause, .. } => write!(f, "{cause} during startup"),
            Self::HandshakeTimeout { after_ms, .. } => {
                write!(f, "no answer to the MCP initialize request after {after_ms} ms")
            }
            Self::HandshakeFailed { message } => write!(f, "MCP handshake failed: {message}"),
            Self::PortInUse { port } => {
                write!(
                    f,
                    "port {port} is already in use by another program; free it or change the URL"
                )
            }
            Self::Crashed { cause, .. } => write!(f, "{cause}"),
            Self::SecretUnavailable { key, message } => {
                write!(f, "secret `{key}` is unavailable: {message}")
            }
            Self::NeedsLogin { message } => write!(f, "needs a login: {message}"),
        }?;
        match self.stderr_tail() {
            Some(tail) if !tail.is_empty() => write!(f, "\n{tail}"),
            _ => Ok(()),
        }
    }
}

//! Wire types of the control API (`/api/v1`), shared by the daemon and every client of it.
//!
//! These are the only shapes the CLI, the tray app and the web UI see. They never carry a
//! secret value: specs hold references, and nothing here is filled from the keychain.

use crate::{ExitCause, ServerName, ServerSpec, ServerState, UnixMillis};

/// One server as the API shows it: intent, desired state, live state and usage.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServerView {
    #[serde(flatten)]
    pub spec: ServerSpec,
    /// Desired state: enabled servers are started with the daemon.
    pub enabled: bool,
    pub status: ServerState,
    /// Restarts the supervisor made since the daemon started.
    pub restarts: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub usage: Option<ResourceUsage>,
}

/// CPU and memory of a server's whole process tree.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ResourceUsage {
    pub cpu_percent: f32,
    pub memory_bytes: u64,
    pub processes: u32,
}

/// Body of `POST /api/v1/servers`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct AddServer {
    #[serde(flatten)]
    pub spec: ServerSpec,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
}

fn enabled_by_default() -> bool {
    true
}

/// One run of a server: a process from spawn to exit (or a remote session).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RunRecord {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    /// True when the supervisor started this run on its own after an exit.
    pub restart: bool,
    pub started_at_ms: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_at_ms: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tools: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ended_at_ms: Option<UnixMillis>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit: Option<ExitCause>,
}

/// One line a server wrote to stderr (or, wrongly, non-JSON to stdout).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LogLine {
    /// Increases by one per line for the server's lifetime in this daemon; lets a follower
    /// join a tail and a live stream without gaps or repeats.
    pub seq: u64,
    pub at_ms: UnixMillis,
    pub stream: LogStream,
    pub line: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stderr,
    Stdout,
    /// Lines the supervisor itself wrote about the server (spawned, exited, restarting).
    Supervisor,
}

/// `GET /api/v1/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DaemonStatus {
    pub version: String,
    pub pid: u32,
    pub port: u16,
    pub data_dir: String,
    pub started_at_ms: UnixMillis,
    pub servers: ServerCounts,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ServerCounts {
    pub total: u32,
    pub running: u32,
    pub failing: u32,
}

/// Written by the daemon to `daemon.json` in its data dir once it listens, so clients find it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DaemonInfo {
    pub pid: u32,
    pub port: u16,
    pub version: String,
}

/// The error body of every non-2xx API response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApiErrorBody {
    /// Stable machine-readable code, e.g. `server_exists`.
    pub code: String,
    /// What went wrong and how to fix it, for people.
    pub message: String,
}

/// Everything the daemon announces on `GET /api/v1/events`. One closed enum.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    ServerAdded {
        name: ServerName,
    },
    ServerChanged {
        name: ServerName,
    },
    ServerRemoved {
        name: ServerName,
    },
    StateChanged {
        name: ServerName,
        at_ms: UnixMillis,
        status: ServerState,
    },
}

impl Event {
    /// The SSE `event:` field for this event.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::ServerAdded { .. } => "server_added",
            Self::ServerChanged { .. } => "server_changed",
            Self::ServerRemoved { .. } => "server_removed",
            Self::StateChanged { .. } => "state_changed",
        }
    }
}

/// A client allowed to use the gateway (`GET /api/v1/clients`). Its token is never shown again.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ClientView {
    pub name: String,
    pub created_at_ms: UnixMillis,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_used_ms: Option<UnixMillis>,
}

/// Body of `POST /api/v1/clients`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IssueToken {
    pub name: String,
}

/// Answer to `POST /api/v1/clients`: the only time a client token is shown.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct IssuedToken {
    pub name: String,
    pub token: String,
}

/// How a tool call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CallOutcome {
    /// A result without `isError`.
    Ok,
    /// A result the tool marked `isError`.
    ToolError,
    /// A JSON-RPC error (unknown tool, bad arguments, server failure).
    Error,
    /// The client cancelled it or went away.
    Cancelled,
}

/// One tool call through the gateway (`GET /api/v1/history`).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CallRecord {
    pub id: i64,
    pub at_ms: UnixMillis,
    pub client: String,
    pub server: String,
    pub tool: String,
    pub duration_ms: u64,
    pub outcome: CallOutcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub request_bytes: u64,
    pub response_bytes: u64,
    /// Present only when payload recording is on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub result: Option<serde_json::Value>,
}

//! The daemon itself: its status, pausing every server, where it listens (`daemon.json`), the dashboard's sign-in
//! codes, and the error body every failing request answers with.
//!
//! Nothing about particular servers or clients; those are the sibling modules'.

use crate::{ServerName, UnixMillis};

/// `GET /api/v1/status`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DaemonStatus {
    pub version: String,
    pub pid: u32,
    pub port: u16,
    pub data_dir: String,
    pub started_at_ms: UnixMillis,
    pub servers: ServerCounts,
    /// MCP sessions open at the gateway (each connected client holds at least one).
    pub sessions: u32,
    /// Tool calls and run records the daemon could not write (a full disk, usually).
    pub unwritten: UnwrittenRecords,
    /// Every server is paused (`switchboard pause`): none starts until `switchboard resume`.
    #[serde(default)]
    pub paused: bool,
    /// Where secret values live, in words ("the OS keychain, service `switchboard`").
    #[serde(default)]
    pub secrets_store: String,
}

/// `POST /api/v1/pause` and `POST /api/v1/resume`: whether servers are paused now, and which
/// servers this request stopped (pause) or started (resume).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct PauseState {
    pub paused: bool,
    pub servers: Vec<ServerName>,
}

/// Records the daemon could not write to its database, and why.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UnwrittenRecords {
    /// Tool calls held in memory, written once the database takes writes again.
    pub calls_waiting: u64,
    /// Tool calls given up on (more were waiting than the daemon keeps).
    pub calls_lost: u64,
    /// Server starts and exits that are missing from the run history.
    pub runs_lost: u64,
    /// Why writing fails now, with what to do; `None` once it works again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ServerCounts {
    pub total: u32,
    pub running: u32,
    /// On demand and asleep: listed from their last run, started by the first call.
    #[serde(default)]
    pub sleeping: u32,
    pub failing: u32,
}

/// Written by the daemon to `daemon.json` in its data dir once it listens, so clients find it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DaemonInfo {
    pub pid: u32,
    pub port: u16,
    pub version: String,
}

/// `POST /api/v1/web/codes`: a one-time code that signs a browser in to the dashboard.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SignInCode {
    pub code: String,
    /// The dashboard address that redeems it (the code travels in the fragment, never in a
    /// request line or a log).
    pub url: String,
}

/// `POST /api/v1/web/sessions`: the code a browser trades for its token.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RedeemCode {
    pub code: String,
}

/// A browser's bearer token for the control API; it ends when the daemon stops.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct BrowserToken {
    pub token: String,
}

/// The error body of every non-2xx API response.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ApiError {
    pub error: ApiErrorBody,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ApiErrorBody {
    /// Stable machine-readable code, e.g. `server_exists`.
    pub code: String,
    /// What went wrong and how to fix it, for people.
    pub message: String,
}

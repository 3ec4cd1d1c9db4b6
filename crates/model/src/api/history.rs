//! What happened, as the API reports it: a server's runs ([`RunRecord`]), the lines it wrote
//! ([`LogLine`]) and the tool calls made through the gateway ([`CallRecord`]).
//!
//! Live changes are [`super::events`]'; these are records read after the fact.

use crate::{ExitCause, UnixMillis};

/// One run of a server: a process from spawn to exit (or a remote session).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
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
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct LogLine {
    /// Increases by one per line for the server's lifetime in this daemon; lets a follower
    /// join a tail and a live stream without gaps or repeats.
    pub seq: u64,
    pub at_ms: UnixMillis,
    pub stream: LogStream,
    pub line: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    Stderr,
    Stdout,
    /// Lines the supervisor itself wrote about the server (spawned, exited, restarting).
    Supervisor,
}

/// How a tool call ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
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
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
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

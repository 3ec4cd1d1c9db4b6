//! Tool quarantine on the wire (`/api/v1/quarantine`): the tool definitions held back from
//! clients until a person approves them, and whether a server's updates are trusted.
//!
//! Screening lists and holding tools back is the gateway's; this file is the shape only.

use crate::ServerName;

/// A tool a server offers that clients do not get until it is approved: a new tool, or a
/// changed definition (clients keep the approved one meanwhile).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct HeldTool {
    pub server: ServerName,
    pub tool: String,
    /// The definition approved before, which clients are still given; none for a new tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "unknown")]
    pub approved: Option<serde_json::Value>,
    /// The definition the server offers now.
    #[ts(type = "unknown")]
    pub offered: serde_json::Value,
    /// What changed: a unified line diff of the two definitions as indented JSON (for a new
    /// tool, all of it added).
    pub diff: String,
}

/// `GET /api/v1/quarantine`.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct QuarantineView {
    pub held: Vec<HeldTool>,
    /// Servers whose new and changed tools are approved as they come.
    pub trusted: Vec<ServerName>,
}

/// `POST /api/v1/quarantine/{server}/approve`: these held tools (none named: all of them).
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ApproveTools {
    #[serde(default)]
    pub tools: Vec<String>,
}

/// What an approval approved.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ApprovedTools {
    pub server: ServerName,
    pub approved: Vec<String>,
}

/// `PUT /api/v1/quarantine/{server}/trust`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct TrustUpdates {
    pub trust: bool,
}

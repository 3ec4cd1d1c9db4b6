//! Servers as the API shows them and the request that adds one: [`ServerView`], its usage
//! and tools, and [`AddServer`] with the secret values it carries to the keychain.
//!
//! What servers did (runs, logs, tool calls) is in [`super::history`]; signing in to one and
//! its secrets in [`super::secrets`].

use std::collections::BTreeMap;

use crate::{ServerSpec, ServerState};

/// One server as the API shows it: intent, desired state, live state and usage.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
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
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ResourceUsage {
    pub cpu_percent: f32,
    pub memory_bytes: u64,
    pub processes: u32,
}

/// One tool a running server offers (`GET /api/v1/servers/{name}/tools`).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ToolView {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// What its definition costs a model's context, in tokens (o200k_base; an estimate for
    /// other model families).
    pub tokens: u32,
    /// Held back from clients until approved: new, or changed since it was approved.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub held: bool,
}

impl ToolView {
    /// The view of a tool as its server defines it (`tools/list`), costing `tokens`.
    pub fn of(definition: &serde_json::Value, tokens: u32) -> Self {
        let text = |value: &serde_json::Value| value.as_str().map(str::to_owned);
        Self {
            name: text(&definition["name"]).unwrap_or_default(),
            title: text(&definition["title"]).or_else(|| text(&definition["annotations"]["title"])),
            description: text(&definition["description"]),
            tokens,
            held: false,
        }
    }
}

/// Body of `POST /api/v1/servers`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct AddServer {
    #[serde(flatten)]
    pub spec: ServerSpec,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    /// Values for env vars (headers, for a remote server) to keep in the keychain; the spec
    /// refers to them. Literal values named like credentials are moved there too.
    #[serde(default, skip_serializing_if = "SecretValues::is_empty")]
    pub secrets: SecretValues,
}

/// Secret values by name, as a request carries them to the keychain; never shown in `Debug`.
#[derive(Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(transparent)]
pub struct SecretValues(pub BTreeMap<String, String>);

impl SecretValues {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.0.keys().map(|k| (k, "<redacted>")))
            .finish()
    }
}

fn enabled_by_default() -> bool {
    true
}

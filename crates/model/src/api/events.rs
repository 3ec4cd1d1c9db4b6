//! The one closed [`Event`] enum the daemon announces on `GET /api/v1/events`.
//!
//! Only the events' shapes; the SSE framing that carries them is [`crate::sse`].

use super::{ToolCost, UnwrittenRecords};
use crate::{ServerName, ServerState, UnixMillis};

/// Everything the daemon announces on `GET /api/v1/events`. One closed enum.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
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
    /// A client's config lost or changed entries Switchboard wrote (the client rewrote the
    /// file, or the user edited it); `reapplied` says whether they were written back.
    ClientDrifted {
        client: String,
        path: String,
        entries: Vec<String>,
        reapplied: bool,
    },
    /// A running server did not answer a request the gateway made on its own (an aggregate
    /// list) within `waited_ms`; the aggregate answered without it or with its last list.
    ServerUnresponsive {
        name: ServerName,
        method: String,
        waited_ms: u64,
    },
    /// The daemon could not write records (or writes them again: `problem` is `None`).
    RecordsUnwritten {
        records: UnwrittenRecords,
    },
    /// Tool calls through the gateway were written to the history (`GET /api/v1/history`).
    CallsRecorded {
        count: u64,
    },
    /// The tools a client is offered came to cost more than its budget (announced once each
    /// time it goes over): narrow its profile or turn on search mode.
    ClientOverBudget {
        client: String,
        cost: ToolCost,
    },
    /// A server offers new or changed tool definitions, held back from clients until approved
    /// (`switchboard quarantine`); announced once for each set of held tools.
    ToolsHeld {
        server: ServerName,
        tools: Vec<String>,
    },
    /// Every server was paused (`switchboard pause`): they stopped and none starts on its own.
    Paused,
    /// Servers are no longer paused; the enabled ones are starting.
    Resumed,
    /// The machine woke from sleep, or the daemon from a freeze, after about `slept_ms`
    /// (`cause`: `logind`, `macos`, `windows` for the OS's own notice, `clock` for a tick that
    /// came late): running servers are checked at once, restarts waiting out a backoff happen
    /// now, those that gave up try again, and OAuth tokens near expiry are refreshed.
    SystemWoke {
        slept_ms: u64,
        cause: String,
    },
    /// This machine's network changed: addresses were `gained` or `lost` (each `INTERFACE
    /// ADDRESS`; loopback and link-local ones are not followed). Servers are checked at once,
    /// remote ones reconnect, and those that gave up try again.
    NetworkChanged {
        gained: Vec<String>,
        lost: Vec<String>,
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
            Self::ClientDrifted { .. } => "client_drifted",
            Self::ServerUnresponsive { .. } => "server_unresponsive",
            Self::RecordsUnwritten { .. } => "records_unwritten",
            Self::CallsRecorded { .. } => "calls_recorded",
            Self::ClientOverBudget { .. } => "client_over_budget",
            Self::ToolsHeld { .. } => "tools_held",
            Self::Paused => "paused",
            Self::Resumed => "resumed",
            Self::SystemWoke { .. } => "system_woke",
            Self::NetworkChanged { .. } => "network_changed",
        }
    }
}

//! The supervisor's MCP conversation with a server: the handshake (`initialize`, or
//! `server/discover` for a server of the stateless revision), tools/list and the health
//! check (and the tool list the dashboard shows).
//!
//! This is how the supervisor knows a server is *running* in MCP terms rather than merely
//! alive as a process. The requests go through the server's shared [`Upstream`], the same
//! connection the gateway's sessions use, so the handshake's `initialize` result is what the
//! gateway answers its clients with. Routing and proxying are the upstream's and gateway's.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_mcp::era::{self, Envelope, Era, SERVER_INFO_KEY, STATELESS_REVISION};
use switchboard_mcp::jsonrpc::code;
use switchboard_mcp::upstream::{self, Init, RpcError, Upstream};
use switchboard_model::{PeerInfo, Protocol};

/// The newest revision the gateway speaks to servers; they answer with the newest they support.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// tools/list pages followed before giving up on a server that never stops paginating.
const MAX_PAGES: usize = 100;

/// What a successful handshake learned.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake {
    pub info: PeerInfo,
    pub tools: u32,
}

/// Opens the conversation in the era `protocol` asks for, then lists tools (all pages) if
/// tools are offered; records what it learned on the upstream. Each request is answered
/// within `within` or fails.
pub async fn handshake(peer: &Upstream, protocol: Protocol, within: Duration) -> Result<Handshake, RpcError> {
    let (info, offers_tools) = match protocol {
        Protocol::Handshake => initialize(peer, within).await?,
        Protocol::Stateless => discover(peer, within).await?,
        // A server that does not know discover, answers it oddly, or ignores it (after a
        // while) gets `initialize`; one that speaks the stateless revision but not ours fails.
        Protocol::Auto => match discover(peer, within / 4).await {
            Err(RpcError::Remote { code, .. }) if !speaks_stateless(code) => initialize(peer, within).await?,
            Err(RpcError::TimedOut { .. } | RpcError::Malformed { .. }) => initialize(peer, within).await?,
            other => other?,
        },
    };
    let tools = if offers_tools {
        count_tools(peer, within).await?
    } else {
        0
    };
    Ok(Handshake { info, tools })
}

/// Whether a server that answered `server/discover` with the error `code` speaks the
/// stateless revision: these errors exist only there (a session-era server answers with
/// method-not-found or invalid-params, whichever its SDK uses for an unknown method).
fn speaks_stateless(code: i64) -> bool {
    matches!(
        code,
        code::HEADER_MISMATCH | code::MISSING_REQUIRED_CLIENT_CAPABILITY | code::UNSUPPORTED_PROTOCOL_VERSION
    )
}

/// The session era: `initialize` (declaring what the gateway can route to clients), then
/// `notifications/initialized`.
async fn initialize(peer: &Upstream, within: Duration) -> Result<(PeerInfo, bool), RpcError> {
    let init = peer
        .request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": upstream::client_capabilities(),
                "clientInfo": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")},
            }),
            within,
        )
        .await?;
    let protocol_version = init["protocolVersion"]
        .as_str()
        .ok_or_else(|| malformed("initialize", "no protocolVersion"))?;
    let info = peer_info(&init["serverInfo"], protocol_version);
    let offers_tools = init["capabilities"].get("tools").is_some();
    peer.notify("notifications/initialized").await?;
    peer.set_init(Init {
        result: init,
        era: Era::Handshake,
    });
    Ok((info, offers_tools))
}

/// The stateless era: `server/discover`, whose result is kept in the shape of an
/// `initialize` result (what session clients are answered with); then the listen that
/// carries the server's notices.
async fn discover(peer: &Upstream, within: Duration) -> Result<(PeerInfo, bool), RpcError> {
    let params = json!({ "_meta": era::meta(&Envelope::own()) });
    let found = peer.request("server/discover", params, within).await?;
    let speaks = found["supportedVersions"]
        .as_array()
        .is_some_and(|versions| versions.iter().any(|v| v == STATELESS_REVISION));
    if !speaks {
        let detail = format!(
            "supportedVersions {} does not include {STATELESS_REVISION}; add the server with \
             --protocol handshake",
            found["supportedVersions"]
        );
        return Err(malformed("server/discover", &detail));
    }
    let server_info = &found["_meta"][SERVER_INFO_KEY];
    let info = peer_info(server_info, STATELESS_REVISION);
    let mut init = json!({
        "protocolVersion": STATELESS_REVISION,
        "capabilities": found["capabilities"],
        "serverInfo": server_info,
    });
    if let Some(text) = found["instructions"].as_str() {
        init["instructions"] = Value::from(text);
    }
    let offers_tools = found["capabilities"].get("tools").is_some();
    peer.set_init(Init {
        result: init,
        era: Era::Stateless,
    });
    peer.relisten().await?;
    Ok((info, offers_tools))
}

fn peer_info(server_info: &Value, protocol_version: &str) -> PeerInfo {
    let text = |key: &str| server_info[key].as_str().unwrap_or_default().to_owned();
    PeerInfo {
        name: text("name"),
        version: text("version"),
        protocol_version: protocol_version.to_owned(),
    }
}

fn malformed(method: &str, detail: &str) -> RpcError {
    RpcError::Malformed {
        method: method.into(),
        detail: detail.into(),
    }
}

async fn count_tools(peer: &Upstream, within: Duration) -> Result<u32, RpcError> {
    let tools = list_tools(peer, within).await?;
    Ok(u32::try_from(tools.len()).unwrap_or(u32::MAX))
}

/// Every tool the server lists, as it defines it, following pages (at most [`MAX_PAGES`]),
/// each page answered within `within`.
pub async fn list_tools(peer: &Upstream, within: Duration) -> Result<Vec<Value>, RpcError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let mut page = peer.request("tools/list", params, within).await?;
        let Value::Array(tools) = page["tools"].take() else {
            return Err(malformed("tools/list", "no tools array"));
        };
        all.extend(tools);
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(all),
        }
    }
    Ok(all)
}

/// Whether the server still answers: `ping`, or for a stateless server (which has no
/// `ping`) `server/discover`.
pub async fn ping(peer: &Upstream, within: Duration) -> Result<Value, RpcError> {
    match peer.era() {
        Era::Handshake => peer.request("ping", json!({}), within).await,
        Era::Stateless => peer.request("server/discover", json!({}), within).await,
    }
}

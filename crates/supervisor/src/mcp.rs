//! The supervisor's MCP conversation with a server: the handshake, tools/list and ping (and
//! the tool list the dashboard shows).
//!
//! This is how the supervisor knows a server is *running* in MCP terms rather than merely
//! alive as a process. The requests go through the server's shared [`Upstream`], the same
//! connection the gateway's sessions use, so the handshake's `initialize` result is what the
//! gateway answers its clients with. Routing and proxying are the upstream's and gateway's.

use std::time::Duration;

use serde_json::{Value, json};
use switchboard_mcp::upstream::{self, Init, RpcError, Upstream};
use switchboard_model::PeerInfo;
use switchboard_model::api::ToolView;

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

/// initialize (declaring what the gateway can route to clients), notifications/initialized,
/// then tools/list (all pages) if tools are offered. Records the result on the upstream.
/// Each request is answered within `within` or fails.
pub async fn handshake(peer: &Upstream, within: Duration) -> Result<Handshake, RpcError> {
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
    let malformed = |detail: &str| RpcError::Malformed {
        method: "initialize".into(),
        detail: detail.into(),
    };
    let protocol_version = init["protocolVersion"]
        .as_str()
        .ok_or_else(|| malformed("no protocolVersion"))?;
    let info = PeerInfo {
        name: init["serverInfo"]["name"].as_str().unwrap_or_default().to_owned(),
        version: init["serverInfo"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        protocol_version: protocol_version.to_owned(),
    };
    let offers_tools = init["capabilities"].get("tools").is_some();
    peer.notify("notifications/initialized").await?;
    peer.set_init(Init { result: init });
    let tools = if offers_tools {
        count_tools(peer, within).await?
    } else {
        0
    };
    Ok(Handshake { info, tools })
}

async fn count_tools(peer: &Upstream, within: Duration) -> Result<u32, RpcError> {
    let tools = list_tools(peer, within).await?;
    Ok(u32::try_from(tools.len()).unwrap_or(u32::MAX))
}

/// Every tool the server lists, following pages (at most [`MAX_PAGES`]), each page answered
/// within `within`.
pub async fn list_tools(peer: &Upstream, within: Duration) -> Result<Vec<ToolView>, RpcError> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page = peer.request("tools/list", params, within).await?;
        let tools = page["tools"].as_array().ok_or_else(|| RpcError::Malformed {
            method: "tools/list".into(),
            detail: "no tools array".into(),
        })?;
        let text = |tool: &Value, key: &str| tool[key].as_str().map(str::to_owned);
        all.extend(tools.iter().map(|tool| ToolView {
            name: text(tool, "name").unwrap_or_default(),
            title: text(tool, "title").or_else(|| tool["annotations"]["title"].as_str().map(str::to_owned)),
            description: text(tool, "description"),
        }));
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(all),
        }
    }
    Ok(all)
}

pub async fn ping(peer: &Upstream, within: Duration) -> Result<Value, RpcError> {
    peer.request("ping", json!({}), within).await
}

//! What a session is opened with: the protocol revisions the gateway speaks, the one a
//! client's `initialize` settles on, and the result `initialize` and `server/discover` answer
//! with (a server's own handshake result, or for the aggregate Switchboard's).
//!
//! Sessions themselves are [`super::session`]'s; the transports decide when a handshake
//! happens.

use serde_json::{Value, json};

use super::session::Target;
use super::{Gateway, Unavailable};

/// Revisions served with sessions, newest first.
pub const SESSION_REVISIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];

pub use switchboard_mcp::era::STATELESS_REVISION;

/// The first revision whose clients expect priming events (an id and empty data) on SSE.
pub const RESUMABLE_REVISION: &str = "2025-11-25";

/// The only revision with JSON-RPC batches: later ones dropped them.
pub const BATCH_REVISION: &str = "2025-03-26";

/// The revision a session speaks: the client's, if the gateway speaks it, else `fallback`.
pub fn negotiate(params: &Value, fallback: &'static str) -> &'static str {
    let requested = params["protocolVersion"].as_str().unwrap_or_default();
    SESSION_REVISIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(fallback)
}

/// What `initialize` (and `server/discover`) answer `client` with: the server's own
/// handshake result, or for the aggregate Switchboard's, in `protocol`.
pub async fn init_result(
    gateway: &Gateway,
    client: &str,
    target: &Target,
    protocol: &str,
) -> Result<Value, Unavailable> {
    match target {
        // A sleeping server's is its last run's: opening a session does not wake it.
        Target::Server(name) => match gateway.server_init(name) {
            Some(result) => Ok(server_init(result, protocol)),
            None => {
                let upstream = gateway.upstream(name).await?;
                Ok(server_init(
                    upstream.init().map(|i| i.result).unwrap_or_default(),
                    protocol,
                ))
            }
        },
        Target::Aggregate => Ok(aggregate_init(gateway, client, protocol).await),
    }
}

/// A server's own result, saying its lists may change: a change to the client's profile
/// changes them, whether or not the server's own lists ever do.
fn server_init(mut result: Value, protocol: &str) -> Value {
    if !result.is_object() {
        result = json!({});
    }
    result["protocolVersion"] = Value::from(protocol);
    let capabilities = result.get_mut("capabilities").and_then(Value::as_object_mut);
    for (list, capability) in capabilities.into_iter().flatten() {
        if let ("tools" | "prompts" | "resources", Some(capability)) =
            (list.as_str(), capability.as_object_mut())
        {
            capability.insert("listChanged".into(), Value::Bool(true));
        }
    }
    result
}

/// Switchboard's own result, with the instructions of each server `client` is offered.
async fn aggregate_init(gateway: &Gateway, client: &str, protocol: &str) -> Value {
    let mut instructions = Vec::new();
    let mut servers = gateway.aggregate_servers().await;
    servers.retain(|server| gateway.offers(client, server));
    for name in servers {
        if let Some(text) = gateway
            .server_init(&name)
            .and_then(|init| init["instructions"].as_str().map(str::to_owned))
        {
            instructions.push(format!("## {name}\n{text}"));
        }
    }
    let mut result = json!({
        "protocolVersion": protocol,
        "capabilities": {
            "tools": {"listChanged": true},
            "prompts": {"listChanged": true},
            "resources": {"subscribe": true, "listChanged": true},
            "logging": {},
        },
        "serverInfo": {"name": "switchboard", "title": "Switchboard", "version": env!("CARGO_PKG_VERSION")},
    });
    if !instructions.is_empty() {
        result["instructions"] = Value::from(format!(
            "Tools, prompts and resources of several servers; names start with the server's.\n\n{}",
            instructions.join("\n\n")
        ));
    }
    result
}

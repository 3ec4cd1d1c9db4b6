//! The protocol's two eras as they show on the wire. The session revisions (2024-11-05 to
//! 2025-11-25) open a connection with `initialize`; the stateless revision (2026-07-28) has
//! none, and every request carries its revision and its client's capabilities in `_meta`.
//!
//! This module owns the `_meta` keys of that envelope and moving a request between the eras.
//! Which era is spoken to whom is decided elsewhere: by the supervisor's handshake for a
//! server, by the gateway's transport for a client.

use serde_json::{Map, Value, json};

/// The stateless revision.
pub const STATELESS_REVISION: &str = "2026-07-28";

pub const PROTOCOL_VERSION_KEY: &str = "io.modelcontextprotocol/protocolVersion";
pub const CLIENT_CAPABILITIES_KEY: &str = "io.modelcontextprotocol/clientCapabilities";
pub const CLIENT_INFO_KEY: &str = "io.modelcontextprotocol/clientInfo";
pub const LOG_LEVEL_KEY: &str = "io.modelcontextprotocol/logLevel";
pub const SERVER_INFO_KEY: &str = "io.modelcontextprotocol/serverInfo";
pub const SUBSCRIPTION_ID_KEY: &str = "io.modelcontextprotocol/subscriptionId";

/// The envelope keys: what a session-era server must not be sent.
const ENVELOPE: [&str; 4] = [
    PROTOCOL_VERSION_KEY,
    CLIENT_CAPABILITIES_KEY,
    CLIENT_INFO_KEY,
    LOG_LEVEL_KEY,
];

/// The era a connection speaks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Era {
    /// Opened with `initialize`; the server keeps the client's capabilities and log level.
    #[default]
    Handshake,
    /// Every request stands alone, carrying the envelope.
    Stateless,
}

/// Who a stateless request comes from, as its envelope says it.
#[derive(Clone, Debug, PartialEq)]
pub struct Envelope {
    /// The client's capabilities (`{}` for none).
    pub capabilities: Value,
    /// The least severe log message wanted with the answer; none wants no log messages.
    pub log_level: Option<String>,
}

impl Envelope {
    /// The gateway's own requests: no client capabilities, no log messages.
    pub fn own() -> Self {
        Self {
            capabilities: json!({}),
            log_level: None,
        }
    }
}

/// The envelope's `_meta` members.
pub fn meta(envelope: &Envelope) -> Map<String, Value> {
    let mut meta = Map::new();
    meta.insert(PROTOCOL_VERSION_KEY.into(), Value::from(STATELESS_REVISION));
    meta.insert(CLIENT_CAPABILITIES_KEY.into(), envelope.capabilities.clone());
    meta.insert(
        CLIENT_INFO_KEY.into(),
        json!({"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}),
    );
    if let Some(level) = &envelope.log_level {
        meta.insert(LOG_LEVEL_KEY.into(), Value::from(level.as_str()));
    }
    meta
}

/// `request` (a JSON-RPC request) as a stateless server expects it: with `envelope` in
/// `params._meta`, replacing any envelope keys it had.
pub fn with_envelope(mut request: Value, envelope: &Envelope) -> Value {
    let Some(object) = request.as_object_mut() else {
        return request;
    };
    let params = object.entry("params").or_insert_with(|| json!({}));
    if !params.is_object() {
        *params = json!({});
    }
    let Some(params) = params.as_object_mut() else {
        return request;
    };
    let mut meta = match params.remove("_meta") {
        Some(Value::Object(meta)) => meta,
        _ => Map::new(),
    };
    meta.retain(|key, _| !ENVELOPE.contains(&key.as_str()));
    meta.extend(self::meta(envelope));
    params.insert("_meta".into(), Value::Object(meta));
    request
}

/// `request` as a session-era server expects it: its connection was initialized once, and
/// servers of both eras refuse per-request envelope keys on such a connection.
pub fn without_envelope(mut request: Value) -> Value {
    let params = request.get_mut("params").and_then(Value::as_object_mut);
    if let Some(params) = params
        && let Some(meta) = params.get_mut("_meta").and_then(Value::as_object_mut)
    {
        meta.retain(|key, _| !ENVELOPE.contains(&key.as_str()));
        if meta.is_empty() {
            params.remove("_meta");
        }
    }
    request
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_envelope_is_added_and_taken_off_leaving_the_rest_of_meta() {
        let request = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "t", "_meta": {"progressToken": 7}}});
        let envelope = Envelope {
            capabilities: json!({"sampling": {}}),
            log_level: Some("info".into()),
        };
        let modern = with_envelope(request.clone(), &envelope);
        assert_eq!(
            modern["params"]["_meta"][PROTOCOL_VERSION_KEY],
            STATELESS_REVISION
        );
        assert_eq!(
            modern["params"]["_meta"][CLIENT_CAPABILITIES_KEY],
            json!({"sampling": {}})
        );
        assert_eq!(modern["params"]["_meta"][LOG_LEVEL_KEY], "info");
        assert_eq!(modern["params"]["_meta"]["progressToken"], 7);
        assert_eq!(without_envelope(modern), request);
    }

    #[test]
    fn a_request_without_params_gets_them() {
        let modern = with_envelope(
            json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
            &Envelope::own(),
        );
        assert_eq!(modern["params"]["_meta"][CLIENT_CAPABILITIES_KEY], json!({}));
        assert!(modern["params"]["_meta"].get(LOG_LEVEL_KEY).is_none());
        let legacy = without_envelope(modern);
        assert_eq!(legacy["params"], json!({}));
        let bare = json!({"jsonrpc": "2.0", "id": 1, "method": "ping"});
        assert_eq!(without_envelope(bare.clone()), bare);
        let odd = json!({"jsonrpc": "2.0", "id": 1, "method": "x", "params": [1]});
        assert_eq!(without_envelope(odd.clone()), odd);
    }
}

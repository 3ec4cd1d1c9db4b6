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

/// `request` (a JSON-RPC request) as a stateless server expects it: with `envelope` in
/// `params._meta`, replacing any envelope keys it had.
pub fn with_envelope(mut request: Value, envelope: &Envelope) -> Value {
    edit_meta(&mut request, |meta| {
        meta.insert(PROTOCOL_VERSION_KEY.into(), Value::from(STATELESS_REVISION));
        meta.insert(CLIENT_CAPABILITIES_KEY.into(), envelope.capabilities.clone());
        meta.insert(
            CLIENT_INFO_KEY.into(),
            json!({"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}),
        );
        match &envelope.log_level {
            Some(level) => meta.insert(LOG_LEVEL_KEY.into(), Value::from(level.as_str())),
            None => meta.remove(LOG_LEVEL_KEY),
        };
    });
    request
}

/// `request` as a session-era server expects it: its connection was initialized once, and
/// servers of both eras refuse per-request envelope keys on such a connection.
pub fn without_envelope(mut request: Value) -> Value {
    if let Some(meta) = request["params"]["_meta"].as_object_mut() {
        meta.retain(|key, _| !ENVELOPE.contains(&key.as_str()));
        if meta.is_empty()
            && let Some(params) = request["params"].as_object_mut()
        {
            params.remove("_meta");
        }
    }
    request
}

/// Whether `request` carries the stateless envelope.
pub fn has_envelope(request: &Value) -> bool {
    request["params"]["_meta"].get(PROTOCOL_VERSION_KEY).is_some()
}

/// Edits `params._meta` of `request`, made an object (and `params` too) if it was not one.
fn edit_meta(request: &mut Value, edit: impl FnOnce(&mut Map<String, Value>)) {
    if !request["params"].is_object() {
        request["params"] = json!({});
    }
    let mut meta = match request["params"]["_meta"].take() {
        Value::Object(meta) => meta,
        _ => Map::new(),
    };
    edit(&mut meta);
    request["params"]["_meta"] = Value::Object(meta);
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
        assert!(has_envelope(&modern));
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
    }
}

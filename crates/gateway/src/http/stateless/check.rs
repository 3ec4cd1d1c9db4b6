//! What a stateless (2026-07-28) message must carry before it goes anywhere, checked in the
//! order the revision gives: the mirrored headers are present; a request's `_meta` holds its
//! revision and the client's capabilities (and a valid log level, if any); the headers match
//! the body; the revision is one this gateway speaks. Each failure is an HTTP 400 with the
//! JSON-RPC error the revision names for it.
//!
//! Routing, and the methods the revision removed, are the caller's.

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Value, json};
use switchboard_mcp::era::{
    CLIENT_CAPABILITIES_KEY as CAPABILITIES_KEY, LOG_LEVEL_KEY, PROTOCOL_VERSION_KEY as VERSION_KEY,
};
use switchboard_mcp::jsonrpc::code;

use super::super::{header_str, json_response, rpc_error};
use crate::handshake::STATELESS_REVISION;
use crate::session::LOG_LEVELS;

/// Checks a stateless message; `is_request` says whether it must carry `_meta`.
pub(super) fn check(headers: &HeaderMap, value: &Value, id: &str, is_request: bool) -> Result<(), Response> {
    let mismatch = |what: String| rpc_error(StatusCode::BAD_REQUEST, id, code::HEADER_MISMATCH, &what);
    let invalid = |what: String| rpc_error(StatusCode::BAD_REQUEST, id, code::INVALID_PARAMS, &what);
    let method = value["method"].as_str().unwrap_or_default();
    let Some(header_version) = header_str(headers, "mcp-protocol-version") else {
        return Err(mismatch("the MCP-Protocol-Version header is required".into()));
    };
    let Some(header_method) = header_str(headers, "mcp-method") else {
        return Err(mismatch("the Mcp-Method header is required".into()));
    };
    let meta = &value["params"]["_meta"];
    if is_request {
        meta_problem(meta).map_or(Ok(()), |problem| Err(invalid(problem)))?;
    }
    let version = meta[VERSION_KEY].as_str().unwrap_or(header_version);
    if header_version != version {
        return Err(mismatch(format!(
            "the MCP-Protocol-Version header ({header_version}) does not match _meta's protocolVersion ({version})"
        )));
    }
    if header_method != method {
        return Err(mismatch(format!(
            "the Mcp-Method header ({header_method}) does not match the method ({method})"
        )));
    }
    names_match(headers, value, method).map_err(mismatch)?;
    if version != STATELESS_REVISION {
        return Err(unsupported(id, version));
    }
    Ok(())
}

/// What is missing or wrong in a request's `_meta`, if anything.
fn meta_problem(meta: &Value) -> Option<String> {
    if !meta.is_object() {
        return Some(format!(
            "params._meta is required, with {VERSION_KEY} and {CAPABILITIES_KEY}"
        ));
    }
    if !meta[VERSION_KEY].is_string() {
        return Some(format!("params._meta[\"{VERSION_KEY}\"] is required (a string)"));
    }
    if !meta[CAPABILITIES_KEY].is_object() {
        return Some(format!(
            "params._meta[\"{CAPABILITIES_KEY}\"] is required (an object; {{}} declares none)"
        ));
    }
    match &meta[LOG_LEVEL_KEY] {
        Value::Null => None,
        Value::String(level) if LOG_LEVELS.contains(&level.as_str()) => None,
        other => Some(format!(
            "params._meta[\"{LOG_LEVEL_KEY}\"] is {other}; use one of {LOG_LEVELS:?}"
        )),
    }
}

/// The Mcp-Name header must name what a call, a prompt or a read targets.
fn names_match(headers: &HeaderMap, value: &Value, method: &str) -> Result<(), String> {
    if !matches!(method, "tools/call" | "prompts/get" | "resources/read") {
        return Ok(());
    }
    let name = value["params"]["name"]
        .as_str()
        .or(value["params"]["uri"].as_str());
    let header = header_str(headers, "mcp-name").map(decode_header_value);
    match header.as_deref() == name {
        true => Ok(()),
        false => Err(format!(
            "the Mcp-Name header does not match {}",
            name.unwrap_or("params")
        )),
    }
}

/// A revision this gateway does not speak statelessly: the ones it does, and the one asked.
fn unsupported(id: &str, requested: &str) -> Response {
    let data = json!({"supported": [STATELESS_REVISION], "requested": requested});
    let body = json!({"jsonrpc": "2.0", "id": serde_json::from_str::<Value>(id).unwrap_or_default(),
        "error": {"code": code::UNSUPPORTED_PROTOCOL_VERSION, "message": "Unsupported protocol version", "data": data}});
    json_response(StatusCode::BAD_REQUEST, Bytes::from(body.to_string()))
}

/// Mirrored header values' base64: the standard alphabet, padded or not, as leniently as
/// clients write it.
const HEADER_BASE64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Undoes the `=?base64?…?=` encoding of mirrored header values.
fn decode_header_value(raw: &str) -> String {
    match raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(encoded) => HEADER_BASE64
            .decode(encoded)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
        None => raw.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_str(value).expect("header value"));
        }
        map
    }

    fn request(meta: Value) -> Value {
        json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": meta}})
    }

    fn refusal(headers: &HeaderMap, value: &Value, is_request: bool) -> Option<(u16, i64)> {
        let response = check(headers, value, "1", is_request).err()?;
        let status = response.status().as_u16();
        let body = futures_util::FutureExt::now_or_never(axum::body::to_bytes(response.into_body(), 4096))
            .expect("a ready body")
            .expect("a body");
        let body: Value = serde_json::from_slice(&body).expect("json");
        Some((status, body["error"]["code"].as_i64().expect("a code")))
    }

    /// Each failure in the revision's order: headers first, then `_meta`, then agreement,
    /// then the revision itself; each a 400 with the code the revision names.
    #[test]
    fn each_malformed_request_gets_the_revisions_code() {
        let good = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/list"),
        ]);
        let meta = json!({VERSION_KEY: "2026-07-28", CAPABILITIES_KEY: {}});
        assert_eq!(refusal(&good, &request(meta.clone()), true), None);
        let cases: [(HeaderMap, Value, (u16, i64)); 8] = [
            (
                headers(&[("mcp-method", "tools/list")]),
                request(meta.clone()),
                (400, -32020),
            ),
            (
                headers(&[("mcp-protocol-version", "2026-07-28")]),
                request(meta.clone()),
                (400, -32020),
            ),
            (
                good.clone(),
                json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}),
                (400, -32602),
            ),
            (
                good.clone(),
                request(json!({CAPABILITIES_KEY: {}})),
                (400, -32602),
            ),
            (
                good.clone(),
                request(json!({VERSION_KEY: "2026-07-28"})),
                (400, -32602),
            ),
            (
                good.clone(),
                request(json!({VERSION_KEY: "2026-07-28", CAPABILITIES_KEY: {}, LOG_LEVEL_KEY: "loud"})),
                (400, -32602),
            ),
            (
                good.clone(),
                request(json!({VERSION_KEY: "2025-11-25", CAPABILITIES_KEY: {}})),
                (400, -32020),
            ),
            (
                headers(&[
                    ("mcp-protocol-version", "2027-01-01"),
                    ("mcp-method", "tools/list"),
                ]),
                request(json!({VERSION_KEY: "2027-01-01", CAPABILITIES_KEY: {}})),
                (400, -32022),
            ),
        ];
        for (i, (headers, value, expected)) in cases.iter().enumerate() {
            assert_eq!(
                refusal(headers, value, true),
                Some(*expected),
                "case {i}: {value}"
            );
        }
    }

    #[test]
    fn a_notification_needs_no_meta() {
        let headers = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "notifications/initialized"),
        ]);
        let value = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        assert_eq!(refusal(&headers, &value, false), None);
    }

    #[test]
    fn a_mirrored_name_may_be_base64() {
        let value = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/call",
            "params": {"name": "héllo", "_meta": {VERSION_KEY: "2026-07-28", CAPABILITIES_KEY: {}}}});
        let encoded = format!("=?base64?{}?=", HEADER_BASE64.encode("héllo"));
        let mut headers = headers(&[
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
        ]);
        headers.insert("mcp-name", HeaderValue::from_str(&encoded).expect("header"));
        assert_eq!(refusal(&headers, &value, true), None);
        headers.insert("mcp-name", HeaderValue::from_static("other"));
        assert_eq!(refusal(&headers, &value, true), Some((400, -32020)));
    }
}

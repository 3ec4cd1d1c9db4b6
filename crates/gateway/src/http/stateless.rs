//! The stateless revision (2026-07-28): each request stands alone, its revision and
//! capabilities in `_meta`, mirrored in headers the gateway checks; `server/discover` replaces
//! the handshake. Requests are forwarded over the server's shared upstream as a
//! handshake-era server expects them.
//!
//! Sessions are not made here beyond a throwaway one per request, which carries the request's
//! stream and its cancellation.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::alphabet;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use futures_util::StreamExt as _;
use serde_json::{Value, json};
use switchboard_mcp::jsonrpc::{self, Frame, Kind, code};

use super::sse::{Priming, sse_response};
use super::streamable::unavailable;
use super::{Client, Gate, header_str, json_response, no_session, rpc_error};
use crate::handshake::{STATELESS_REVISION, init_result};
use crate::route;
use crate::session::{Mode, Session, Stream, Target};

pub(super) fn is_stateless(headers: &HeaderMap, frame: &Frame) -> bool {
    header_str(headers, "mcp-protocol-version").is_some_and(|v| v > "2025-11-25")
        || frame
            .head()
            .params
            .is_some_and(|p| p.get().contains("io.modelcontextprotocol/protocolVersion"))
}

/// The stateless revision: each request stands alone, with its version and capabilities in
/// `_meta`, checked against the mirrored headers.
pub(super) async fn stateless(
    gate: &Gate,
    client: Client,
    target: Target,
    headers: &HeaderMap,
    frame: Frame,
) -> Response {
    let value = frame.to_value();
    let id = frame.raw_id();
    if let Err(response) = check_mirrors(headers, &value, &id) {
        return response;
    }
    if frame.head().kind() != Kind::Request {
        return StatusCode::ACCEPTED.into_response();
    }
    if value["method"] == "server/discover" {
        return discover(gate, &target, &id).await;
    }
    let session = match Session::new(
        client.0,
        target,
        Mode::Stateless,
        STATELESS_REVISION.to_owned(),
        &value["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"],
    ) {
        Ok(session) => session,
        Err(e) => return no_session(&id, &e),
    };
    let stream = session.open_stream();
    route::request(
        &gate.gateway,
        &session,
        to_handshake_era(value),
        Arc::clone(&stream),
        Some(mark_complete),
    )
    .await;
    stream.first().await;
    if let Some(single) = stream.single() {
        return single_answer(single);
    }
    // Closing this stream cancels the request: the guard tells the server if that happens.
    let guard = AbandonGuard {
        session: Arc::clone(&session),
        id,
        stream: Arc::clone(&stream),
    };
    let response = sse_response(Some(&session), stream, 0, Priming::Skip);
    let (parts, body) = response.into_parts();
    let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
        let _keep = &guard;
        chunk
    }));
    Response::from_parts(parts, body)
}

/// The headers that mirror the body (revision, method, the name a call targets) must match
/// it, and the revision must be the one this gateway speaks statelessly.
fn check_mirrors(headers: &HeaderMap, value: &Value, id: &str) -> Result<(), Response> {
    let version = value["params"]["_meta"]["io.modelcontextprotocol/protocolVersion"].as_str();
    let header_version = header_str(headers, "mcp-protocol-version");
    let method = value["method"].as_str().unwrap_or_default();
    let mismatch = |what: String| rpc_error(StatusCode::BAD_REQUEST, id, code::HEADER_MISMATCH, &what);
    if header_version.is_none() || version.is_none() || header_version != version {
        return Err(mismatch(format!(
            "MCP-Protocol-Version header {header_version:?} does not match _meta protocolVersion {version:?}"
        )));
    }
    if header_str(headers, "mcp-method") != Some(method) {
        return Err(mismatch(format!(
            "Mcp-Method header does not match method {method}"
        )));
    }
    if matches!(method, "tools/call" | "prompts/get" | "resources/read") {
        let name = value["params"]["name"]
            .as_str()
            .or(value["params"]["uri"].as_str());
        let header = header_str(headers, "mcp-name").map(decode_header_value);
        if header.as_deref() != name {
            return Err(mismatch(format!(
                "Mcp-Name header does not match {}",
                name.unwrap_or("params")
            )));
        }
    }
    if version != Some(STATELESS_REVISION) {
        let data = json!({"supported": [STATELESS_REVISION], "requested": version});
        let body = json!({"jsonrpc": "2.0", "id": serde_json::from_str::<Value>(id).unwrap_or_default(),
            "error": {"code": code::UNSUPPORTED_PROTOCOL_VERSION, "message": "Unsupported protocol version", "data": data}});
        return Err(json_response(
            StatusCode::BAD_REQUEST,
            Bytes::from(body.to_string()),
        ));
    }
    Ok(())
}

/// `server/discover`: what a handshake would have answered, in the stateless shape.
async fn discover(gate: &Gate, target: &Target, id: &str) -> Response {
    let init = match init_result(&gate.gateway, target, STATELESS_REVISION).await {
        Ok(init) => init,
        Err(e) => return unavailable(id, &e),
    };
    let mut result = json!({
        "resultType": "complete",
        "supportedVersions": [STATELESS_REVISION],
        "capabilities": init["capabilities"],
        "_meta": {"io.modelcontextprotocol/serverInfo": init["serverInfo"]},
    });
    if let Some(text) = init["instructions"].as_str() {
        result["instructions"] = Value::from(text);
    }
    json_response(
        StatusCode::OK,
        jsonrpc::result_response(id, &result.to_string()).into_bytes(),
    )
}

/// A request answered by its response alone, as JSON; a method nobody has is a 404.
fn single_answer(single: Bytes) -> Response {
    let not_found =
        Frame::parse(single.clone()).is_ok_and(|f| f.to_value()["error"]["code"] == code::METHOD_NOT_FOUND);
    let status = match not_found {
        true => StatusCode::NOT_FOUND,
        false => StatusCode::OK,
    };
    json_response(status, single)
}

/// A stateless request as a handshake-era server expects it: the upstream connection was
/// initialized once, and dual-era servers refuse per-request era keys on such a connection.
fn to_handshake_era(mut request: Value) -> Frame {
    if let Some(meta) = request["params"]["_meta"].as_object_mut() {
        meta.retain(|key, _| {
            !matches!(
                key.as_str(),
                "io.modelcontextprotocol/protocolVersion"
                    | "io.modelcontextprotocol/clientCapabilities"
                    | "io.modelcontextprotocol/clientInfo"
                    | "io.modelcontextprotocol/logLevel"
            )
        });
        if meta.is_empty()
            && let Some(params) = request["params"].as_object_mut()
        {
            params.remove("_meta");
        }
    }
    Frame::from_value(&request)
}

/// Results of the stateless revision carry `resultType`; older servers do not send it.
fn mark_complete(frame: Frame) -> Frame {
    let has = frame
        .head()
        .result
        .is_some_and(|r| r.get().contains("\"resultType\""));
    if has {
        frame
    } else {
        frame.with_result_member("resultType", "\"complete\"")
    }
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

struct AbandonGuard {
    session: Arc<Session>,
    id: String,
    stream: Arc<Stream>,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        if self.stream.single().is_some() {
            return;
        }
        let session = Arc::clone(&self.session);
        let id = std::mem::take(&mut self.id);
        tokio::spawn(async move { session.abandon(&id).await });
    }
}

//! The stateless revision (2026-07-28): each request stands alone, its revision and
//! capabilities in `_meta`, mirrored in headers the gateway checks; `server/discover` replaces
//! the handshake. Requests are forwarded over the server's shared upstream in the era the
//! server speaks ([`route`] adapts them).
//!
//! Sessions are not made here beyond a throwaway one per request, which carries the request's
//! stream and its cancellation.

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use switchboard_mcp::era;
use switchboard_mcp::jsonrpc::{self, Frame, Kind, Param, code};

mod check;
mod hints;
mod listen;

use super::sse::{Priming, holding, sse_response};
use super::streamable::unavailable;
use super::{Client, Gate, header_str, json_response, no_session, rpc_error};
use crate::handshake::{STATELESS_REVISION, init_result};
use crate::route;
use crate::session::exchange::Live;
use crate::session::rounds::{Asking, Binding, PARKABLE, Resumed};
use crate::session::{Session, Stream, Target};

pub(super) fn is_stateless(headers: &HeaderMap, frame: &Frame) -> bool {
    header_str(headers, "mcp-protocol-version").is_some_and(|v| v > "2025-11-25")
        || frame
            .head()
            .params
            .is_some_and(|p| p.get().contains("io.modelcontextprotocol/protocolVersion"))
}

/// Methods of the session revisions that 2026-07-28 removed: a stateless request for one is
/// answered 404, never forwarded (a session-era server would act on it for every client).
const REMOVED: [&str; 5] = [
    "initialize",
    "ping",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
];

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
    let is_request = frame.head().kind() == Kind::Request;
    if let Err(response) = check::check(headers, &value, &id, is_request) {
        return response;
    }
    if !is_request {
        return StatusCode::ACCEPTED.into_response();
    }
    let method = value["method"].as_str().unwrap_or_default();
    if REMOVED.contains(&method) {
        let message = format!("{method} is not a method of revision {STATELESS_REVISION}");
        return rpc_error(StatusCode::NOT_FOUND, &id, code::METHOD_NOT_FOUND, &message);
    }
    if method == "server/discover" {
        return discover(gate, &client, &target, &id).await;
    }
    if method == "subscriptions/listen" {
        return listen::listen(gate, client, target, &value, id).await;
    }
    let binding = Binding::of(&target, &value);
    let mut frame = frame;
    if let Some(state) = value["params"].get("requestState") {
        let Some(state) = state.as_str().filter(|_| PARKABLE.contains(&method)) else {
            let message = format!(
                "params.requestState is a string, sent again with {}",
                PARKABLE.join(", ")
            );
            return rpc_error(StatusCode::BAD_REQUEST, &id, code::INVALID_PARAMS, &message);
        };
        // A stateless server's own state comes back unwrapped; anything else is a call parked here.
        match gate.gateway.rounds().unwrap(&client.0, &binding, state) {
            Some(Ok(inner)) => frame = frame.with_param(Param::RequestState, &Value::from(inner).to_string()),
            Some(Err(e)) => {
                return rpc_error(StatusCode::BAD_REQUEST, &id, code::INVALID_PARAMS, &e.to_string());
            }
            None => return retry(gate, &client, &frame, &value, &binding).await,
        }
    }
    let rewrite = match hints::CACHEABLE.contains(&method) {
        true => hints::mark_cacheable,
        false => hints::mark_complete,
    };
    let asking = Asking {
        rounds: Arc::clone(gate.gateway.rounds()),
        binding: Arc::new(binding),
    };
    let capabilities = &value["params"]["_meta"][era::CLIENT_CAPABILITIES_KEY];
    let session = match Session::stateless(
        client.0,
        target,
        STATELESS_REVISION.to_owned(),
        capabilities,
        asking,
    ) {
        Ok(session) => session,
        Err(e) => return no_session(&id, &e),
    };
    session.set_log_level(value["params"]["_meta"][era::LOG_LEVEL_KEY].as_str());
    let stream = session.open_stream();
    route::request(&gate.gateway, &session, frame, Arc::clone(&stream), Some(rewrite)).await;
    answer(session, id, stream).await
}

/// A retry with the answers to a round of input: they go to the call that waits for them,
/// which answers here.
async fn retry(gate: &Gate, client: &Client, frame: &Frame, value: &Value, binding: &Binding) -> Response {
    let id = frame.raw_id();
    let stream = Stream::new(1, usize::MAX);
    let live = Live {
        stream: Arc::clone(&stream),
        id: id.clone(),
        progress: frame.progress_token().map(str::to_owned),
    };
    let rounds = gate.gateway.rounds();
    match rounds.resume(&client.0, binding, &value["params"], live).await {
        Ok(Resumed { session, id: first }) => answer(session, first, stream).await,
        Err(e) => rpc_error(StatusCode::BAD_REQUEST, &id, code::INVALID_PARAMS, &e.to_string()),
    }
}

/// Answers from `stream`: JSON if the response is all there is, else an event stream whose
/// closing before the end cancels the request `id` of `session`.
async fn answer(session: Arc<Session>, id: String, stream: Arc<Stream>) -> Response {
    stream.first().await;
    if let Some(single) = stream.single() {
        return single_answer(single);
    }
    let guard = AbandonGuard {
        session: Arc::clone(&session),
        id,
        stream: Arc::clone(&stream),
    };
    holding(sse_response(Some(&session), stream, 0, Priming::Skip), guard)
}

/// `server/discover`: what a handshake would have answered, in the stateless shape.
async fn discover(gate: &Gate, client: &Client, target: &Target, id: &str) -> Response {
    let init = match init_result(&gate.gateway, &client.0, target, STATELESS_REVISION).await {
        Ok(init) => init,
        Err(e) => return unavailable(id, &e),
    };
    let mut result = json!({
        "resultType": "complete",
        "supportedVersions": [STATELESS_REVISION],
        "capabilities": init["capabilities"],
        "_meta": {era::SERVER_INFO_KEY: init["serverInfo"]},
        "ttlMs": hints::TTL_MS,
        "cacheScope": hints::SCOPE,
    });
    if let Some(text) = init["instructions"].as_str() {
        result["instructions"] = Value::from(text);
    }
    json_response(
        StatusCode::OK,
        jsonrpc::result_response(id, &result.to_string()).into_bytes(),
    )
}

/// A request answered by its response alone, as JSON, with the HTTP status the revision
/// gives its error: 404 for a method nobody has, 400 for a capability the client lacks.
fn single_answer(single: Bytes) -> Response {
    let error = Frame::parse(single.clone())
        .ok()
        .and_then(|f| f.to_value()["error"]["code"].as_i64());
    let status = match error {
        Some(code::METHOD_NOT_FOUND) => StatusCode::NOT_FOUND,
        Some(code::MISSING_REQUIRED_CLIENT_CAPABILITY) => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    json_response(status, single)
}

/// Cancels the request `id` of `session` if its client goes before `stream` ends.
struct AbandonGuard {
    session: Arc<Session>,
    id: String,
    stream: Arc<Stream>,
}

impl Drop for AbandonGuard {
    fn drop(&mut self) {
        // A finished stream carried its answer (or a round of questions, which the call
        // waits for).
        if self.stream.is_finished() {
            return;
        }
        let session = Arc::clone(&self.session);
        let id = std::mem::take(&mut self.id);
        tokio::spawn(async move { session.abandon(&id).await });
    }
}

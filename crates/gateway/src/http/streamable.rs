//! Streamable HTTP: a POST carries one message (or a batch, see [`super::batch`]) and is
//! answered with JSON or an event stream; GET opens the session's standalone stream or
//! resumes a lost one; DELETE ends the session.
//!
//! Sessions are opened here by `initialize`; requests without one go to
//! [`super::stateless`]. What a request means is [`crate::route`]'s.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use switchboard_mcp::jsonrpc::{self, Frame, Kind, code};

use super::batch::on_batch;
use super::sse::{Priming, holding, sse_response};
use super::stateless::{is_stateless, stateless};
use super::{
    Client, Gate, header_str, http_error, is_batch, json_response, no_session, parse, read_body, rpc_error,
};
use crate::handshake::{RESUMABLE_REVISION, SESSION_REVISIONS, init_result, negotiate};
use crate::session::{Mode, Session, Stream, Target};
use crate::{Unavailable, notices, route};

pub(super) async fn on_post(
    gate: Gate,
    client: Client,
    target: Target,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    if is_batch(&bytes) {
        return on_batch(gate, client, target, headers, bytes).await;
    }
    let frame = match parse(bytes) {
        Ok(frame) => frame,
        Err(response) => return response,
    };
    let head = frame.head();
    let method = head.method.as_deref().map(str::to_owned);
    let session = match header_str(&headers, "mcp-session-id") {
        Some(id) => match session_of(&gate, id, &target, &client) {
            Ok(session) => session,
            Err(response) => return response,
        },
        // Stateless first: the revision that removed `initialize` answers it with a 404.
        None if is_stateless(&headers, &frame) => {
            return stateless(&gate, client, target, &headers, frame).await;
        }
        None if method.as_deref() == Some("initialize") => {
            return initialize(&gate, client, target, &frame).await;
        }
        None => {
            return http_error(
                StatusCode::BAD_REQUEST,
                "no Mcp-Session-Id header; send initialize first (or use protocol revision 2026-07-28)"
                    .into(),
            );
        }
    };
    if let Some(version) = header_str(&headers, "mcp-protocol-version")
        && !SESSION_REVISIONS.contains(&version)
    {
        return http_error(
            StatusCode::BAD_REQUEST,
            format!("unsupported MCP-Protocol-Version {version}; supported: {SESSION_REVISIONS:?}"),
        );
    }
    session.touch();
    match head.kind() {
        Kind::Notification => {
            route::notification(&gate.gateway, &session, frame).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Response => {
            session.answer(&frame).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Request => {
            let stream = session.open_stream();
            route::request(&gate.gateway, &session, frame, Arc::clone(&stream), None).await;
            respond(&session, stream, &headers, method.as_deref().unwrap_or_default()).await
        }
    }
}

/// The session `id` names, if it is this client's on this endpoint; else the 404 to answer.
pub(super) fn session_of(
    gate: &Gate,
    id: &str,
    target: &Target,
    client: &Client,
) -> Result<Arc<Session>, Response> {
    match gate.gateway.session(id) {
        Some(session) if session.belongs_to(target, &client.0) => Ok(session),
        _ => Err(http_error(
            StatusCode::NOT_FOUND,
            "unknown or ended session; start a new one with initialize".into(),
        )),
    }
}

/// Answers a request whose events are on `stream`: one JSON body if the response is all
/// there is, else SSE from the first event. Tool calls of 2025-11-25 sessions are always SSE
/// and open with a priming event, so a client that loses the connection during a long call can
/// resume it with `Last-Event-ID`.
async fn respond(session: &Arc<Session>, stream: Arc<Stream>, headers: &HeaderMap, method: &str) -> Response {
    let accept = header_str(headers, "accept").unwrap_or_default();
    let takes_sse = accept.contains("event-stream") || accept.contains("*/*");
    let takes_json = accept.contains("json") || accept.contains("*/*") || !takes_sse;
    if takes_sse && method == "tools/call" && session.protocol.as_str() >= RESUMABLE_REVISION {
        return sse_response(Some(session), stream, 0, Priming::Send);
    }
    stream.first().await;
    if takes_json && let Some(single) = stream.single() {
        session.drop_stream(stream.id);
        return json_response(StatusCode::OK, single);
    }
    sse_response(Some(session), stream, 0, Priming::Skip)
}

/// `initialize` without a session: opens one.
async fn initialize(gate: &Gate, client: Client, target: Target, frame: &Frame) -> Response {
    let id = frame.raw_id();
    let params = frame.to_value()["params"].take();
    let protocol = negotiate(&params, SESSION_REVISIONS[0]);
    let result = match init_result(&gate.gateway, &client.0, &target, protocol).await {
        Ok(result) => result,
        Err(e) => return unavailable(&id, &e),
    };
    let session = match Session::new(
        client.0,
        target,
        Mode::Streamable,
        protocol.to_owned(),
        &params["capabilities"],
    ) {
        Ok(session) => session,
        Err(e) => return no_session(&id, &e),
    };
    notices::start(&gate.gateway, &session).await;
    gate.gateway.insert_session(Arc::clone(&session));
    let body = jsonrpc::result_response(&id, &result.to_string()).into_bytes();
    let mut response = json_response(StatusCode::OK, body);
    if let Ok(value) = HeaderValue::from_str(&session.id()) {
        response.headers_mut().insert("mcp-session-id", value);
    }
    response
}

pub(super) fn unavailable(id: &str, e: &Unavailable) -> Response {
    let status = match e {
        Unavailable::Unknown(_) => StatusCode::NOT_FOUND,
        Unavailable::NotRunning { .. }
        | Unavailable::Paused(_)
        | Unavailable::Isolated(_)
        | Unavailable::Waking { .. }
        | Unavailable::WakeFailed { .. } => StatusCode::OK,
    };
    rpc_error(status, id, code::SERVER_UNAVAILABLE, &e.to_string())
}

/// The GET stream: server messages outside any request, or the rest of a stream the client
/// lost, from `Last-Event-ID` on.
pub(super) fn on_get(gate: Gate, client: Client, target: Target, headers: HeaderMap) -> Response {
    let Some(session) = header_str(&headers, "mcp-session-id").and_then(|id| gate.gateway.session(id)) else {
        if header_str(&headers, "mcp-session-id").is_none() {
            return http_error(
                StatusCode::METHOD_NOT_ALLOWED,
                "GET needs an Mcp-Session-Id (sessions start with a POSTed initialize)".into(),
            );
        }
        return http_error(StatusCode::NOT_FOUND, "unknown or ended session".into());
    };
    if !session.belongs_to(&target, &client.0) {
        return http_error(StatusCode::NOT_FOUND, "unknown or ended session".into());
    }
    session.touch();
    let resume = header_str(&headers, "last-event-id").and_then(|id| {
        let (stream, seq) = id.split_once('-')?;
        Some((stream.parse::<u32>().ok()?, seq.parse::<u64>().ok()?))
    });
    match resume {
        Some((stream_id, seq)) => match session.stream(stream_id) {
            Some(stream) => sse_response(Some(&session), stream, seq, Priming::Skip),
            None => http_error(
                StatusCode::NOT_FOUND,
                format!("no stream to resume for event id {stream_id}-{seq}"),
            ),
        },
        None => {
            let listening = session.listen();
            let response = sse_response(Some(&session), session.standalone(), 0, Priming::Skip);
            holding(response, listening)
        }
    }
}

pub(super) async fn on_delete(gate: Gate, client: Client, target: Target, headers: HeaderMap) -> Response {
    let session = header_str(&headers, "mcp-session-id").and_then(|id| gate.gateway.session(id));
    match session {
        Some(session) if session.belongs_to(&target, &client.0) => {
            gate.gateway.remove_session(&session.id());
            StatusCode::NO_CONTENT.into_response()
        }
        _ => http_error(StatusCode::NOT_FOUND, "unknown or ended session".into()),
    }
}

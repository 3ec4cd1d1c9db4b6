//! The 2024-11-05 HTTP+SSE transport: a GET stream carries everything the session receives,
//! and its first event names the URL the client POSTs its messages to.
//!
//! Only the transport is here: the session, handshake and routing are shared with
//! Streamable HTTP.

use std::convert::Infallible;
use std::sync::Arc;

use axum::Extension;
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::json;
use switchboard_mcp::jsonrpc::{self, Frame, Kind, code};

use super::sse::{KEEP_ALIVE_COMMENT, sse_event, sse_headers};
use super::{Client, Gate, KEEP_ALIVE, http_error, no_session, parse, read_body, target};
use crate::handshake::{SESSION_REVISIONS, init_result, negotiate};
use crate::session::{Mode, Next, Session, Target};
use crate::{Gateway, notices, route};

pub(super) async fn legacy_sse(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
) -> Response {
    match target(&gate.gateway, &client, server) {
        Ok(target) => legacy_open(gate, client, target),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
pub(super) struct LegacyQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// The 2024-11-05 transport: this GET stream carries everything; its first event names the
/// URL to POST messages to. The session exists once the client POSTs initialize there.
fn legacy_open(gate: Gate, client: Client, target: Target) -> Response {
    let pending = match Session::new(
        client.0,
        target,
        Mode::LegacySse,
        SESSION_REVISIONS[3].to_owned(),
        &json!({}),
    ) {
        Ok(pending) => pending,
        Err(e) => return no_session("null", &e),
    };
    let endpoint = format!("/messages?sessionId={}", pending.id());
    gate.gateway.insert_session(Arc::clone(&pending));
    let prefix = Bytes::from(format!("event: endpoint\ndata: {endpoint}\n\n"));
    let stream = pending.standalone();
    let gateway = Arc::clone(&gate.gateway);
    let id = pending.id();
    let events = futures_util::stream::unfold((stream, 0u64), |(stream, after)| async move {
        match stream.next_after(after, KEEP_ALIVE).await {
            Some(Next::Event(seq, data)) => {
                Some((Ok::<_, Infallible>(sse_event(None, &data)), (stream, seq)))
            }
            Some(Next::Finished) => None,
            None => Some((Ok(Bytes::from_static(KEEP_ALIVE_COMMENT)), (stream, after))),
        }
    });
    let guard = (LegacyGuard { gateway, id }, pending.listen());
    let body = futures_util::stream::once(async move { Ok::<_, Infallible>(prefix) }).chain(events.map(
        move |chunk| {
            let _keep = &guard;
            chunk
        },
    ));
    sse_headers(Response::new(Body::from_stream(body)))
}

/// Ends a legacy session when its stream closes: that transport has no DELETE.
struct LegacyGuard {
    gateway: Arc<Gateway>,
    id: Arc<str>,
}

impl Drop for LegacyGuard {
    fn drop(&mut self) {
        self.gateway.remove_session(&self.id);
    }
}

pub(super) async fn legacy_message(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    Query(query): Query<LegacyQuery>,
    body: Body,
) -> Response {
    let bytes = match read_body(body).await {
        Ok(bytes) => bytes,
        Err(response) => return response,
    };
    let frame = match parse(bytes) {
        Ok(frame) => frame,
        Err(response) => return response,
    };
    let Some(session) = gate.gateway.session(&query.session_id) else {
        return http_error(StatusCode::NOT_FOUND, "unknown or ended session".into());
    };
    if session.client() != client.0 || session.mode != Mode::LegacySse {
        return http_error(StatusCode::NOT_FOUND, "unknown or ended session".into());
    }
    session.touch();
    if frame.head().method.as_deref() == Some("initialize") {
        return legacy_initialize(&gate, session, &frame).await;
    }
    match frame.head().kind() {
        Kind::Notification => route::notification(&gate.gateway, &session, frame).await,
        Kind::Response => session.answer(&frame).await,
        Kind::Request => route::request(&gate.gateway, &session, frame, session.standalone(), None).await,
    }
    StatusCode::ACCEPTED.into_response()
}

/// initialize on the legacy transport: the session opened with the stream learns the client's
/// capabilities now.
async fn legacy_initialize(gate: &Gate, session: Arc<Session>, frame: &Frame) -> Response {
    let id = frame.raw_id();
    let params = frame.to_value()["params"].take();
    let protocol = negotiate(&params, SESSION_REVISIONS[3]);
    let answer = match init_result(&gate.gateway, &session.client(), &session.target, protocol).await {
        Ok(result) => {
            session.set_capabilities(&params["capabilities"]);
            notices::start(&gate.gateway, &session).await;
            jsonrpc::result_response(&id, &result.to_string())
        }
        Err(e) => jsonrpc::error_response(&id, code::SERVER_UNAVAILABLE, &e.to_string()),
    };
    session.standalone().push(answer.into_bytes());
    StatusCode::ACCEPTED.into_response()
}

//! JSON-RPC batches, which only revision 2025-03-26 has: each message is handled as if it came
//! alone, and the answers come back together.
//!
//! Refusing batches in other revisions is here too; what each message means is
//! [`crate::route`]'s.

use std::convert::Infallible;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::value::RawValue;
use switchboard_mcp::jsonrpc::{self, Frame, Kind, code};

use super::sse::{sse_headers, stream_events};
use super::streamable::session_of;
use super::{Client, Gate, KEEP_ALIVE, header_str, json_response, rpc_error};
use crate::handshake::BATCH_REVISION;
use crate::route;
use crate::session::{Next, Session, Stream, Target};

/// A JSON-RPC batch of a 2025-03-26 session. Each message is handled as if it came alone; the
/// answers to its requests come back together: as one SSE stream whose event ids name each
/// request's own stream (so each can be resumed), or, for a client that takes no SSE, as one
/// JSON array once every request is answered.
pub(super) async fn on_batch(
    gate: Gate,
    client: Client,
    target: Target,
    headers: HeaderMap,
    bytes: Bytes,
) -> Response {
    let session = match batch_session(&gate, &client, &target, &headers) {
        Ok(session) => session,
        Err(response) => return response,
    };
    let messages = match messages(&bytes) {
        Ok(messages) => messages,
        Err(response) => return response,
    };
    session.touch();
    let mut streams = Vec::new();
    for message in messages {
        streams.extend(handle(&gate, &session, message).await);
    }
    if streams.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    let accept = header_str(&headers, "accept").unwrap_or_default();
    match accept.contains("event-stream") || accept.contains("*/*") {
        true => answer_as_events(&session, streams),
        false => answer_as_json(&session, streams).await,
    }
}

/// The session a batch belongs to: one of this client's, of the only revision with batches.
fn batch_session(
    gate: &Gate,
    client: &Client,
    target: &Target,
    headers: &HeaderMap,
) -> Result<Arc<Session>, Response> {
    let Some(id) = header_str(headers, "mcp-session-id") else {
        return Err(rpc_error(
            StatusCode::BAD_REQUEST,
            "null",
            code::INVALID_REQUEST,
            "a JSON-RPC batch needs a session of revision 2025-03-26; send initialize on its own first",
        ));
    };
    let session = session_of(gate, id, target, client)?;
    if session.protocol != BATCH_REVISION {
        return Err(rpc_error(
            StatusCode::BAD_REQUEST,
            "null",
            code::INVALID_REQUEST,
            &format!(
                "JSON-RPC batches were dropped after revision {BATCH_REVISION}; this session uses {}, so send one message per request",
                session.protocol
            ),
        ));
    }
    Ok(session)
}

/// The batch's messages, still unparsed; an empty batch is refused.
fn messages(bytes: &[u8]) -> Result<Vec<Box<RawValue>>, Response> {
    let messages: Vec<Box<RawValue>> = serde_json::from_slice(bytes)
        .map_err(|e| rpc_error(StatusCode::BAD_REQUEST, "null", code::PARSE_ERROR, &e.to_string()))?;
    if messages.is_empty() {
        return Err(rpc_error(
            StatusCode::BAD_REQUEST,
            "null",
            code::INVALID_REQUEST,
            "the batch is empty",
        ));
    }
    Ok(messages)
}

/// One message of a batch, as if it came alone; the stream of its answer, if it has one.
async fn handle(gate: &Gate, session: &Arc<Session>, message: Box<RawValue>) -> Option<Arc<Stream>> {
    let frame = match Frame::parse(Bytes::copy_from_slice(message.get().as_bytes())) {
        Ok(frame) => frame,
        Err(e) => {
            let stream = session.open_stream();
            stream.push_and_finish(
                jsonrpc::error_response("null", e.code(), &e.to_string()).into_bytes(),
                true,
            );
            return Some(stream);
        }
    };
    match frame.head().kind() {
        Kind::Notification => route::notification(&gate.gateway, session, frame).await,
        Kind::Response => session.answer(&frame).await,
        Kind::Request => {
            let stream = session.open_stream();
            route::request(&gate.gateway, session, frame, Arc::clone(&stream), None).await;
            return Some(stream);
        }
    }
    None
}

/// Every request's events in one SSE stream, each event id naming its own stream.
fn answer_as_events(session: &Arc<Session>, streams: Vec<Arc<Stream>>) -> Response {
    let events = futures_util::stream::select_all(
        streams
            .into_iter()
            .map(|stream| stream_events(Some(session), stream, 0).boxed()),
    );
    sse_headers(Response::new(Body::from_stream(events.map(Ok::<_, Infallible>))))
}

/// One JSON array of the responses. JSON alone cannot carry progress or server requests: only
/// each request's last message, its response, is kept.
async fn answer_as_json(session: &Session, streams: Vec<Arc<Stream>>) -> Response {
    let mut answers = Vec::with_capacity(streams.len());
    for stream in streams {
        let mut last = None;
        let mut after = 0;
        loop {
            match stream.next_after(after, KEEP_ALIVE).await {
                Some(Next::Event(seq, data)) => (after, last) = (seq, Some(data)),
                Some(Next::Finished) => break,
                None => {}
            }
        }
        session.drop_stream(stream.id);
        answers.extend(last);
    }
    let mut body = Vec::from(&b"["[..]);
    for (i, answer) in answers.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(answer);
    }
    body.push(b']');
    json_response(StatusCode::OK, Bytes::from(body))
}

//! The gateway's HTTP face: Streamable HTTP on `/mcp` and `/mcp/<server>`, the legacy
//! HTTP+SSE transport on `/sse` and `/sse/<server>`.
//!
//! On loopback, [`access`] runs first on every request: Host and Origin must be loopback (DNS
//! rebinding), the bearer token must be a client's. [`server_routes`] is `/mcp/<server>`
//! without that door, for the tailnet listener, which admits requests its own way. Then a POST
//! is parsed as one [`Frame`] (or, in a 2025-03-26 session, a batch of them) and dispatched by
//! kind: requests are answered locally (initialize, ping, server/discover, counted
//! subscriptions, the aggregate's lists) or forwarded over the server's shared upstream;
//! answers come back as one JSON body when the response is all there is, else as an SSE
//! stream with event ids a client can resume from. Sessions and streams are [`super::session`]'s.

// Helpers return the refusal itself as their error: it is the response, built once per request.
#![allow(clippy::result_large_err)]

use std::convert::Infallible;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next as MiddlewareNext};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::StreamExt as _;
use serde::Deserialize;
use serde_json::{Value, json};
use switchboard_model::api::Event;
use switchboard_model::{ServerName, now_millis};
use tokio::sync::broadcast;

use super::aggregate::Kind as NameKind;
use super::session::{CallStart, Mode, Next, Session, Stream, Target};
use super::{Gateway, Unavailable};
use crate::door::{Door, HostPolicy, OriginPolicy, bearer};
use crate::jsonrpc::{self, Frame, Kind, Param, code};
use crate::upstream::{RpcError, Upstream};

/// Largest request body accepted.
pub const MAX_BODY: usize = 4 * 1024 * 1024;
/// Revisions served with sessions, newest first.
const SESSION_REVISIONS: [&str; 4] = ["2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"];
/// The stateless revision.
const STATELESS_REVISION: &str = "2026-07-28";
/// Time to read a request body: a client that trickles bytes is cut off.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);
/// A quiet SSE stream gets a comment this often, so idle timeouts of clients do not fire.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The client a request was admitted as: the name of the token it carried, or on the tailnet
/// listener the peer's identity. Shown in sessions and the tool-call history.
#[derive(Clone, Debug)]
pub struct Client(pub Arc<str>);

#[derive(Clone, Debug)]
struct Gate {
    gateway: Arc<Gateway>,
}

/// `/mcp/<server>`, the one route every door serves.
fn server_route() -> Router<Gate> {
    Router::new().route("/mcp/{server}", post(post_mcp).get(get_mcp).delete(delete_mcp))
}

/// Every endpoint, behind the loopback door: Host and Origin must be this listener's, and the
/// bearer token a client's.
pub fn router(gateway: Arc<Gateway>, port: u16) -> Router {
    let gate = Gate { gateway };
    server_route()
        .route("/mcp", post(post_mcp).get(get_mcp).delete(delete_mcp))
        .route("/sse", get(legacy_sse))
        .route("/sse/{server}", get(legacy_sse))
        .route("/messages", post(legacy_message))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state((gate.clone(), port), access))
        .with_state(gate)
}

/// One server's endpoint without a door: whoever serves it must admit each request and put
/// the [`Client`] it admitted in the request's extensions first (the tailnet listener does).
pub fn server_routes(gateway: Arc<Gateway>) -> Router {
    server_route()
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Gate { gateway })
}

async fn access(
    State((gate, port)): State<(Gate, u16)>,
    mut request: Request,
    next: MiddlewareNext,
) -> Response {
    let door = Door {
        host: HostPolicy::Loopback { port },
        origin: OriginPolicy::AnyLoopback,
    };
    if let Err(refusal) = door.check(request.headers()) {
        return http_error(StatusCode::FORBIDDEN, refusal.to_string());
    }
    let Some(client) = gate.gateway.access.client(bearer(request.headers())) else {
        return unauthorized();
    };
    request.extensions_mut().insert(Client(client));
    next.run(request).await
}

/// 401 for a request without a client token, saying how to get one.
pub fn unauthorized() -> Response {
    let mut response = http_error(
        StatusCode::UNAUTHORIZED,
        "missing or unknown client token; issue one with `switchboard token create <client>` and \
         send it as `Authorization: Bearer <token>`"
            .into(),
    );
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// An HTTP-level refusal with a JSON-RPC error body without an id.
pub fn http_error(status: StatusCode, message: String) -> Response {
    let code = match status {
        StatusCode::NOT_FOUND => code::SERVER_UNAVAILABLE,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::BAD_REQUEST => code::INVALID_REQUEST,
        _ => code::SERVER_UNAVAILABLE,
    };
    rpc_error(status, "null", code, &message)
}

fn rpc_error(status: StatusCode, id: &str, code: i64, message: &str) -> Response {
    json_response(status, jsonrpc::error_response(id, code, message).into_bytes())
}

fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// What a path names: `/mcp/<server>` one server, `/mcp` the aggregate.
fn target(server: Option<Path<String>>) -> Result<Target, Response> {
    match server {
        Some(Path(raw)) => ServerName::new(&raw)
            .map(Target::Server)
            .map_err(|e| http_error(StatusCode::NOT_FOUND, e.to_string())),
        None => Ok(Target::Aggregate),
    }
}

async fn post_mcp(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match target(server) {
        Ok(target) => on_post(gate, client, target, headers, body).await,
        Err(response) => response,
    }
}

async fn get_mcp(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
    headers: HeaderMap,
) -> Response {
    match target(server) {
        Ok(target) => on_get(gate, client, target, headers),
        Err(response) => response,
    }
}

async fn delete_mcp(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
    headers: HeaderMap,
) -> Response {
    match target(server) {
        Ok(target) => on_delete(gate, client, target, headers).await,
        Err(response) => response,
    }
}

async fn legacy_sse(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
) -> Response {
    match target(server) {
        Ok(target) => legacy_open(gate, client, target),
        Err(response) => response,
    }
}

async fn read_body(body: Body) -> Result<Bytes, Response> {
    match tokio::time::timeout(BODY_TIMEOUT, axum::body::to_bytes(body, MAX_BODY)).await {
        Ok(Ok(bytes)) => Ok(bytes),
        Ok(Err(e)) => {
            let too_large =
                std::error::Error::source(&e).is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
            Err(match too_large {
                true => http_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    format!("request body over {MAX_BODY} bytes"),
                ),
                false => http_error(
                    StatusCode::BAD_REQUEST,
                    format!("cannot read the request body: {e}"),
                ),
            })
        }
        Err(_) => Err(http_error(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body took over {}s to arrive", BODY_TIMEOUT.as_secs()),
        )),
    }
}

fn parse(bytes: Bytes) -> Result<Frame, Response> {
    Frame::parse(bytes).map_err(|e| rpc_error(StatusCode::BAD_REQUEST, "null", e.code(), &e.to_string()))
}

fn is_batch(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

async fn on_post(gate: Gate, client: Client, target: Target, headers: HeaderMap, body: Body) -> Response {
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
        None if method.as_deref() == Some("initialize") => {
            return initialize(&gate, client, target, &frame).await;
        }
        None if is_stateless(&headers, &frame) => {
            return stateless(&gate, client, target, &headers, frame).await;
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
            on_notification(&gate, &session, frame).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Response => {
            session.answer(&frame).await;
            StatusCode::ACCEPTED.into_response()
        }
        Kind::Request => {
            let stream = session.open_stream();
            on_request(&gate, &session, frame, Arc::clone(&stream), None).await;
            respond(&session, stream, &headers, method.as_deref().unwrap_or_default()).await
        }
    }
}

/// The session `id` names, if it is this client's on this endpoint; else the 404 to answer.
fn session_of(gate: &Gate, id: &str, target: &Target, client: &Client) -> Result<Arc<Session>, Response> {
    match gate.gateway.session(id) {
        Some(session) if session.belongs_to(target, &client.0) => Ok(session),
        _ => Err(http_error(
            StatusCode::NOT_FOUND,
            "unknown or ended session; start a new one with initialize".into(),
        )),
    }
}

/// The only revision with JSON-RPC batches: later ones dropped them.
const BATCH_REVISION: &str = "2025-03-26";

/// A JSON-RPC batch of a 2025-03-26 session. Each message is handled as if it came alone; the
/// answers to its requests come back together: as one SSE stream whose event ids name each
/// request's own stream (so each can be resumed), or, for a client that takes no SSE, as one
/// JSON array once every request is answered.
async fn on_batch(gate: Gate, client: Client, target: Target, headers: HeaderMap, bytes: Bytes) -> Response {
    let session = match header_str(&headers, "mcp-session-id") {
        Some(id) => match session_of(&gate, id, &target, &client) {
            Ok(session) => session,
            Err(response) => return response,
        },
        None => {
            return rpc_error(
                StatusCode::BAD_REQUEST,
                "null",
                code::INVALID_REQUEST,
                "a JSON-RPC batch needs a session of revision 2025-03-26; send initialize on its own first",
            );
        }
    };
    if session.protocol != BATCH_REVISION {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            "null",
            code::INVALID_REQUEST,
            &format!(
                "JSON-RPC batches were dropped after revision {BATCH_REVISION}; this session uses {}, so send one message per request",
                session.protocol
            ),
        );
    }
    let messages: Vec<Box<serde_json::value::RawValue>> = match serde_json::from_slice(&bytes) {
        Ok(messages) => messages,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, "null", code::PARSE_ERROR, &e.to_string()),
    };
    if messages.is_empty() {
        return rpc_error(
            StatusCode::BAD_REQUEST,
            "null",
            code::INVALID_REQUEST,
            "the batch is empty",
        );
    }
    session.touch();
    let mut streams = Vec::new();
    for message in messages {
        let frame = match Frame::parse(Bytes::copy_from_slice(message.get().as_bytes())) {
            Ok(frame) => frame,
            Err(e) => {
                let stream = session.open_stream();
                stream.push_and_finish(
                    jsonrpc::error_response("null", e.code(), &e.to_string()).into_bytes(),
                    true,
                );
                streams.push(stream);
                continue;
            }
        };
        match frame.head().kind() {
            Kind::Notification => on_notification(&gate, &session, frame).await,
            Kind::Response => session.answer(&frame).await,
            Kind::Request => {
                let stream = session.open_stream();
                on_request(&gate, &session, frame, Arc::clone(&stream), None).await;
                streams.push(stream);
            }
        }
    }
    if streams.is_empty() {
        return StatusCode::ACCEPTED.into_response();
    }
    let accept = header_str(&headers, "accept").unwrap_or_default();
    if accept.contains("event-stream") || accept.contains("*/*") {
        let events = futures_util::stream::select_all(
            streams
                .into_iter()
                .map(|stream| stream_events(Some(&session), stream, 0).boxed()),
        );
        return sse_headers(Response::new(Body::from_stream(events.map(Ok::<_, Infallible>))));
    }
    // JSON alone cannot carry progress or server requests: only each request's last message,
    // its response, is kept.
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

fn is_stateless(headers: &HeaderMap, frame: &Frame) -> bool {
    header_str(headers, "mcp-protocol-version").is_some_and(|v| v > "2025-11-25")
        || frame
            .head()
            .params
            .is_some_and(|p| p.get().contains("io.modelcontextprotocol/protocolVersion"))
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

/// The first revision whose clients expect priming events (an id and empty data) on SSE.
const RESUMABLE_REVISION: &str = "2025-11-25";

/// How long a client should wait before reconnecting to a stream it lost, in milliseconds.
const RECONNECT_AFTER_MS: u32 = 1000;

#[derive(Clone, Copy, PartialEq)]
enum Priming {
    Send,
    Skip,
}

/// One SSE `message` event carrying `data`, with an id if the stream is resumable.
///
/// Frames are one line already; should data ever hold a line break, each of its lines is a
/// `data:` field of its own, which a reader joins back with LF, so the event stays whole.
fn sse_event(id: Option<String>, data: &[u8]) -> Bytes {
    let mut event = Vec::with_capacity(data.len() + 48);
    if let Some(id) = id {
        event.extend_from_slice(format!("id: {id}\n").as_bytes());
    }
    event.extend_from_slice(b"event: message\n");
    for line in sse_lines(data) {
        event.extend_from_slice(b"data: ");
        event.extend_from_slice(line);
        event.push(b'\n');
    }
    event.push(b'\n');
    Bytes::from(event)
}

/// `data` split at CRLF, LF and lone CR, the line breaks of an event stream.
fn sse_lines(data: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut rest = Some(data);
    std::iter::from_fn(move || {
        let text = rest?;
        match text.iter().position(|&b| b == b'\n' || b == b'\r') {
            None => rest.take(),
            Some(at) => {
                let skip = if text[at..].starts_with(b"\r\n") { 2 } else { 1 };
                rest = Some(&text[at + skip..]);
                Some(&text[..at])
            }
        }
    })
}

const KEEP_ALIVE_COMMENT: &[u8] = b": keep-alive\n\n";

fn sse_response(
    session: Option<&Arc<Session>>,
    stream: Arc<Stream>,
    after: u64,
    priming: Priming,
) -> Response {
    // Sequence numbers start at 1, so `<stream>-0` names the position before every event.
    let priming = (priming == Priming::Send).then(|| {
        Bytes::from(format!(
            "id: {}-0\nretry: {RECONNECT_AFTER_MS}\ndata: \n\n",
            stream.id
        ))
    });
    let events = stream_events(session, stream, after);
    let body = futures_util::stream::iter(priming)
        .chain(events)
        .map(Ok::<_, Infallible>);
    sse_headers(Response::new(Body::from_stream(body)))
}

/// The SSE events of `stream` after sequence number `after`, with keep-alive comments while it
/// is quiet; the session forgets the stream once it is finished and read.
fn stream_events(
    session: Option<&Arc<Session>>,
    stream: Arc<Stream>,
    after: u64,
) -> impl futures_util::Stream<Item = Bytes> + Send + 'static {
    let session = session.map(Arc::downgrade);
    futures_util::stream::unfold((stream, after), move |(stream, after)| {
        let session = session.clone();
        async move {
            match stream.next_after(after, KEEP_ALIVE).await {
                Some(Next::Event(seq, data)) => {
                    let event = sse_event(Some(format!("{}-{seq}", stream.id)), &data);
                    Some((event, (stream, seq)))
                }
                Some(Next::Finished) => {
                    if let Some(session) = session.as_ref().and_then(std::sync::Weak::upgrade) {
                        session.drop_stream(stream.id);
                    }
                    None
                }
                None => Some((Bytes::from_static(KEEP_ALIVE_COMMENT), (stream, after))),
            }
        }
    })
}

fn sse_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/event-stream"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    headers.insert("x-accel-buffering", HeaderValue::from_static("no"));
    response
}

/// The revision a session speaks: the client's, if the gateway speaks it, else `fallback`.
fn negotiate(params: &Value, fallback: &'static str) -> &'static str {
    let requested = params["protocolVersion"].as_str().unwrap_or_default();
    SESSION_REVISIONS
        .iter()
        .find(|v| **v == requested)
        .copied()
        .unwrap_or(fallback)
}

/// What `initialize` (and `server/discover`) answer with: the server's own handshake result,
/// or for the aggregate Switchboard's, in `protocol`.
async fn init_result(gateway: &Gateway, target: &Target, protocol: &str) -> Result<Value, Unavailable> {
    match target {
        Target::Server(name) => Ok(server_init(&*gateway.upstream(name).await?, protocol)),
        Target::Aggregate => Ok(aggregate_init(gateway, protocol).await),
    }
}

/// `initialize` without a session: opens one.
async fn initialize(gate: &Gate, client: Client, target: Target, frame: &Frame) -> Response {
    let id = frame.raw_id();
    let params = frame.to_value()["params"].take();
    let protocol = negotiate(&params, SESSION_REVISIONS[0]);
    let result = match init_result(&gate.gateway, &target, protocol).await {
        Ok(result) => result,
        Err(e) => return unavailable(&id, &e),
    };
    let session = Session::new(
        client.0,
        target,
        Mode::Streamable,
        protocol.to_owned(),
        &params["capabilities"],
    );
    start_notices(&gate.gateway, &session).await;
    gate.gateway.insert_session(Arc::clone(&session));
    let body = jsonrpc::result_response(&id, &result.to_string()).into_bytes();
    let mut response = json_response(StatusCode::OK, body);
    if let Ok(value) = HeaderValue::from_str(&session.id()) {
        response.headers_mut().insert("mcp-session-id", value);
    }
    response
}

fn unavailable(id: &str, e: &Unavailable) -> Response {
    let status = match e {
        Unavailable::Unknown(_) => StatusCode::NOT_FOUND,
        Unavailable::NotRunning { .. } | Unavailable::Isolated(_) => StatusCode::OK,
    };
    rpc_error(status, id, code::SERVER_UNAVAILABLE, &e.to_string())
}

fn server_init(upstream: &Upstream, protocol: &str) -> Value {
    let mut result = upstream.init().map(|i| i.result).unwrap_or_else(|| json!({}));
    result["protocolVersion"] = Value::from(protocol);
    result
}

async fn aggregate_init(gateway: &Gateway, protocol: &str) -> Value {
    let mut instructions = Vec::new();
    for name in gateway.aggregate_servers().await {
        if let Some(text) = live_upstream(gateway, &name)
            .and_then(|u| u.init())
            .and_then(|i| i.result["instructions"].as_str().map(str::to_owned))
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

fn live_upstream(gateway: &Gateway, name: &ServerName) -> Option<Arc<Upstream>> {
    let watch = gateway.control().supervisor().upstream(name)?;
    let upstream = watch.borrow().clone();
    upstream.filter(|u| !u.is_closed())
}

/// Forwards the server's unsolicited notifications to the session's standalone stream.
async fn start_notices(gateway: &Arc<Gateway>, session: &Arc<Session>) {
    if session.mode == Mode::Stateless {
        return;
    }
    let servers = match &session.target {
        Target::Server(name) => vec![name.clone()],
        Target::Aggregate => gateway.aggregate_servers().await,
    };
    for name in servers {
        // A per-session server's notices come from the session's own process.
        if gateway.is_per_session(&name) {
            continue;
        }
        if let Some(notices) = gateway.notices(&name) {
            session.own_task(tokio::spawn(forward_notices(
                name,
                notices,
                Arc::downgrade(session),
            )));
        }
    }
    if session.target == Target::Aggregate {
        let changes = gateway.aggregate_changes();
        session.own_task(tokio::spawn(announce_aggregate_changes(
            Arc::downgrade(gateway),
            changes,
            Arc::downgrade(session),
        )));
    }
}

async fn forward_notices(
    server: ServerName,
    mut notices: broadcast::Receiver<Frame>,
    session: std::sync::Weak<Session>,
) {
    loop {
        let frame = match notices.recv().await {
            Ok(frame) => frame,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(session) = session.upgrade() else { return };
        let wanted = match frame.head().method.as_deref() {
            Some("notifications/resources/updated") => frame
                .param_str(Param::Uri)
                .is_some_and(|uri| session.is_subscribed(&server, &uri)),
            _ => true,
        };
        if wanted {
            session.standalone().push(frame.into_bytes());
        }
    }
}

async fn announce_aggregate_changes(
    gateway: std::sync::Weak<Gateway>,
    mut changes: broadcast::Receiver<()>,
    session: std::sync::Weak<Session>,
) {
    let mut known: Vec<ServerName> = match gateway.upgrade() {
        Some(g) => g.aggregate_servers().await,
        None => return,
    };
    loop {
        if let Err(broadcast::error::RecvError::Closed) = changes.recv().await {
            return;
        }
        let (Some(gateway), Some(session)) = (gateway.upgrade(), session.upgrade()) else {
            return;
        };
        let now = gateway.aggregate_servers().await;
        for joined in now.iter().filter(|n| !known.contains(n)) {
            if let Some(notices) = gateway.notices(joined) {
                session.own_task(tokio::spawn(forward_notices(
                    joined.clone(),
                    notices,
                    Arc::downgrade(&session),
                )));
            }
        }
        known = now;
        for method in [
            "notifications/tools/list_changed",
            "notifications/prompts/list_changed",
            "notifications/resources/list_changed",
        ] {
            let frame = Frame::from_value(&json!({"jsonrpc": "2.0", "method": method}));
            session.standalone().push(frame.into_bytes());
        }
    }
}

async fn on_notification(gate: &Gate, session: &Arc<Session>, frame: Frame) {
    match frame.head().method.as_deref() {
        Some("notifications/initialized") => {}
        Some("notifications/cancelled") => session.cancel(&frame).await,
        _ => {
            for upstream in session_upstreams(gate, session).await {
                let _ = upstream.pass(frame.clone()).await;
            }
        }
    }
}

/// The live upstreams a session's notifications go to.
async fn session_upstreams(gate: &Gate, session: &Session) -> Vec<Arc<Upstream>> {
    let names = match &session.target {
        Target::Server(name) => vec![name.clone()],
        Target::Aggregate => gate.gateway.aggregate_servers().await,
    };
    names
        .iter()
        .filter_map(|n| {
            session
                .isolated_upstream(n)
                .or_else(|| live_upstream(&gate.gateway, n))
        })
        .collect()
}

/// The connection that serves `session`'s requests to `server`: the server's shared one or,
/// for a per-session server, the session's own process, started on first use.
async fn upstream_for(
    gateway: &Gateway,
    session: &Arc<Session>,
    server: &ServerName,
) -> Result<Arc<Upstream>, Unavailable> {
    let shared = gateway.upstream(server).await?;
    if session.mode == Mode::Stateless || !gateway.is_per_session(server) {
        return Ok(shared);
    }
    let start = async {
        let isolated = gateway.control().supervisor().start_isolated(server).await?;
        session.own_task(tokio::spawn(forward_notices(
            server.clone(),
            isolated.notices(),
            Arc::downgrade(session),
        )));
        Ok::<_, Unavailable>(isolated)
    };
    session.isolated_or_start(server, start).await
}

/// Handles one request of a session; everything it produces goes to `stream`.
async fn on_request(
    gate: &Gate,
    session: &Arc<Session>,
    frame: Frame,
    stream: Arc<Stream>,
    rewrite: Option<fn(Frame) -> Frame>,
) {
    let id = frame.raw_id();
    let method = frame.head().method.as_deref().unwrap_or_default().to_owned();
    let answer = |result: Value| {
        let frame = jsonrpc::result_response(&id, &result.to_string());
        let frame = match rewrite {
            Some(rewrite) => rewrite(frame),
            None => frame,
        };
        // In one step: a JSON-only client woken between the two would get an event stream.
        stream.push_and_finish(frame.into_bytes(), true);
    };
    let fail = |code: i64, message: &str| {
        stream.push_and_finish(jsonrpc::error_response(&id, code, message).into_bytes(), true);
    };
    if method == "ping" {
        return answer(json!({}));
    }
    if method == "initialize" {
        return fail(code::INVALID_REQUEST, "this session is already initialized");
    }
    // Which server, and the request as that server must see it.
    let (server, frame) = match &session.target {
        Target::Server(name) => (name.clone(), frame),
        Target::Aggregate => match aggregate_route(gate, session, &method, frame, &answer).await {
            Routed::To(server, frame) => (server, frame),
            Routed::Answered => return,
            Routed::Failed(code, message) => return fail(code, &message),
        },
    };
    let upstream = match upstream_for(&gate.gateway, session, &server).await {
        Ok(upstream) => upstream,
        Err(e) => return fail(code::SERVER_UNAVAILABLE, &e.to_string()),
    };
    match method.as_str() {
        "resources/subscribe" | "resources/unsubscribe" => {
            let Some(uri) = frame.param_str(Param::Uri) else {
                return fail(code::INVALID_PARAMS, "params.uri is required");
            };
            let must_forward = match method.as_str() {
                "resources/subscribe" => session.subscribe(&upstream, &uri),
                _ => session.unsubscribe(&upstream, &uri),
            };
            if !must_forward {
                return answer(json!({}));
            }
        }
        _ => {}
    }
    let call = (method == "tools/call").then(|| CallStart {
        history: gate.gateway.history.clone(),
        client: session.client(),
        server: server.clone(),
        tool: frame.param_str(Param::Name).unwrap_or_default(),
        started: Instant::now(),
        at_ms: now_millis(),
        request_bytes: frame.len() as u64,
        arguments: gate
            .gateway
            .history
            .record_payloads
            .then(|| frame.to_value()["params"]["arguments"].take()),
    });
    if let Err(e) = session
        .forward(upstream, &frame, Arc::clone(&stream), call, rewrite)
        .await
    {
        let message = match e {
            RpcError::Closed => format!("server {server} stopped before the request could be sent; retry"),
            other => other.to_string(),
        };
        fail(code::SERVER_UNAVAILABLE, &message);
    }
}

enum Routed {
    To(ServerName, Frame),
    Answered,
    Failed(i64, String),
}

/// Where an aggregate session's request goes, answering the aggregate's own methods.
async fn aggregate_route(
    gate: &Gate,
    session: &Session,
    method: &str,
    frame: Frame,
    answer: &impl Fn(Value),
) -> Routed {
    let list_key = match method {
        "tools/list" => Some("tools"),
        "prompts/list" => Some("prompts"),
        "resources/list" => Some("resources"),
        "resources/templates/list" => Some("resourceTemplates"),
        _ => None,
    };
    if let Some(key) = list_key {
        answer(aggregate_list(&gate.gateway, method, key).await);
        return Routed::Answered;
    }
    match method {
        "tools/call" | "prompts/get" => {
            let kind = if method == "tools/call" {
                NameKind::Tool
            } else {
                NameKind::Prompt
            };
            let Some(exposed) = frame.param_str(Param::Name) else {
                return Routed::Failed(code::INVALID_PARAMS, "params.name is required".into());
            };
            let mut found = gate.gateway.catalog().resolve(kind, &exposed);
            if found.is_none() {
                // A client may call a name it listed before the daemon restarted.
                let list = if kind == NameKind::Tool {
                    "tools/list"
                } else {
                    "prompts/list"
                };
                let key = if kind == NameKind::Tool {
                    "tools"
                } else {
                    "prompts"
                };
                aggregate_list(&gate.gateway, list, key).await;
                found = gate.gateway.catalog().resolve(kind, &exposed);
            }
            match found {
                Some((server, original)) => {
                    let original = Value::from(original).to_string();
                    Routed::To(server, frame.with_param(Param::Name, &original))
                }
                None => Routed::Failed(
                    code::INVALID_PARAMS,
                    format!("no tool or prompt named {exposed}; list them again"),
                ),
            }
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            let Some(uri) = frame.param_str(Param::Uri) else {
                return Routed::Failed(code::INVALID_PARAMS, "params.uri is required".into());
            };
            let mut found = gate.gateway.catalog().resource_server(&uri);
            if found.is_none() {
                aggregate_list(&gate.gateway, "resources/list", "resources").await;
                aggregate_list(&gate.gateway, "resources/templates/list", "resourceTemplates").await;
                found = gate.gateway.catalog().resource_server(&uri);
            }
            match found {
                Some(server) => Routed::To(server, frame),
                None => Routed::Failed(code::INVALID_PARAMS, format!("no server offers resource {uri}")),
            }
        }
        "logging/setLevel" => {
            let params = frame.to_value()["params"].take();
            let upstreams = session_upstreams(gate, session).await;
            let requests = upstreams
                .iter()
                .map(|upstream| upstream.request("logging/setLevel", params.clone(), AGGREGATE_PATIENCE));
            for (upstream, outcome) in upstreams
                .iter()
                .zip(futures_util::future::join_all(requests).await)
            {
                if let Err(e) = outcome {
                    tracing::warn!(server = %upstream.server(), "logging/setLevel for the aggregate: {e}");
                }
            }
            answer(json!({}));
            Routed::Answered
        }
        "completion/complete" => {
            // Completions name a prompt or resource inside params.ref; route by it.
            let mut value = frame.to_value();
            let reference = value["params"]["ref"].clone();
            let server = match reference["type"].as_str() {
                Some("ref/prompt") => reference["name"]
                    .as_str()
                    .and_then(|n| gate.gateway.catalog().resolve(NameKind::Prompt, n)),
                Some("ref/resource") => reference["uri"].as_str().and_then(|u| {
                    gate.gateway
                        .catalog()
                        .resource_server(u)
                        .map(|s| (s, u.to_owned()))
                }),
                _ => None,
            };
            match server {
                Some((server, original)) => {
                    if reference["type"] == "ref/prompt" {
                        value["params"]["ref"]["name"] = Value::from(original);
                    }
                    Routed::To(server, Frame::from_value(&value))
                }
                None => {
                    answer(json!({"completion": {"values": [], "hasMore": false}}));
                    Routed::Answered
                }
            }
        }
        other => Routed::Failed(
            code::METHOD_NOT_FOUND,
            format!("the aggregate endpoint does not route {other}; use /mcp/<server>"),
        ),
    }
}

/// How long the aggregate waits for one server's list (all its pages) before it answers with
/// that server's last known list, or without it: one hung server must not stall the others.
const AGGREGATE_PATIENCE: Duration = Duration::from_secs(3);

/// One list over every enabled, running server, renamed into the aggregate's namespace.
async fn aggregate_list(gateway: &Gateway, method: &str, key: &str) -> Value {
    let capability = match key {
        "tools" => "tools",
        "prompts" => "prompts",
        _ => "resources",
    };
    let deadline = Instant::now() + AGGREGATE_PATIENCE;
    let servers = gateway.aggregate_servers().await;
    let fetches = servers.iter().filter_map(|name| {
        let upstream = live_upstream(gateway, name)?;
        let offers = upstream
            .init()
            .is_some_and(|i| i.capabilities().get(capability).is_some());
        offers.then_some(async move { (name.clone(), list_all(&upstream, method, key, deadline).await) })
    });
    let pages = futures_util::future::join_all(fetches).await;
    let mut all = Vec::new();
    for (server, items) in pages {
        match items {
            Ok(mut items) => {
                let mut catalog = gateway.catalog();
                catalog.adopt(&server, key, &mut items);
                catalog.remember(&server, key, &items);
                all.extend(items);
            }
            Err(RpcError::TimedOut { .. }) => all.extend(late_list(gateway, &server, method, key)),
            Err(e) => tracing::warn!(%server, "{method} failed for the aggregate: {e}"),
        }
    }
    json!({ key: all })
}

/// What the aggregate lists for a server that did not answer in time: its last known list.
fn late_list(gateway: &Gateway, server: &ServerName, method: &str, key: &str) -> Vec<Value> {
    let known = gateway.catalog().last_known(server, key);
    let waited_ms = u64::try_from(AGGREGATE_PATIENCE.as_millis()).unwrap_or(u64::MAX);
    tracing::warn!(
        %server,
        "{method}: no answer within {waited_ms} ms, so the aggregate answered with {}; the \
         server may be hung (`switchboard logs {server}`, `switchboard restart {server}`)",
        if known.is_some() { "its last known list" } else { "none of its items" },
    );
    gateway.control().announce(Event::ServerUnresponsive {
        name: server.clone(),
        method: method.to_owned(),
        waited_ms,
    });
    known.unwrap_or_default()
}

/// Every page of a list, each requested within what is left until `deadline`.
async fn list_all(
    upstream: &Upstream,
    method: &str,
    key: &str,
    deadline: Instant,
) -> Result<Vec<Value>, RpcError> {
    let mut items = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let within = deadline.saturating_duration_since(Instant::now());
        let mut page = upstream.request(method, params, within).await?;
        if let Some(list) = page[key].as_array_mut() {
            items.append(list);
        }
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => break,
        }
    }
    Ok(items)
}

/// The GET stream: server messages outside any request, or the rest of a stream the client
/// lost, from `Last-Event-ID` on.
fn on_get(gate: Gate, client: Client, target: Target, headers: HeaderMap) -> Response {
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
            let (parts, body) = response.into_parts();
            let body = Body::from_stream(body.into_data_stream().map(move |chunk| {
                let _keep = &listening;
                chunk
            }));
            Response::from_parts(parts, body)
        }
    }
}

async fn on_delete(gate: Gate, client: Client, target: Target, headers: HeaderMap) -> Response {
    let session = header_str(&headers, "mcp-session-id").and_then(|id| gate.gateway.session(id));
    match session {
        Some(session) if session.belongs_to(&target, &client.0) => {
            gate.gateway.remove_session(&session.id());
            StatusCode::NO_CONTENT.into_response()
        }
        _ => http_error(StatusCode::NOT_FOUND, "unknown or ended session".into()),
    }
}

/// The stateless revision: each request stands alone, with its version and capabilities in
/// `_meta`, checked against the mirrored headers.
async fn stateless(
    gate: &Gate,
    client: Client,
    target: Target,
    headers: &HeaderMap,
    frame: Frame,
) -> Response {
    let value = frame.to_value();
    let id = frame.raw_id();
    let meta = &value["params"]["_meta"];
    let version = meta["io.modelcontextprotocol/protocolVersion"].as_str();
    let header_version = header_str(headers, "mcp-protocol-version");
    let method = value["method"].as_str().unwrap_or_default();
    let mismatch = |what: String| rpc_error(StatusCode::BAD_REQUEST, &id, code::HEADER_MISMATCH, &what);
    if header_version.is_none() || version.is_none() || header_version != version {
        return mismatch(format!(
            "MCP-Protocol-Version header {header_version:?} does not match _meta protocolVersion {version:?}"
        ));
    }
    if header_str(headers, "mcp-method") != Some(method) {
        return mismatch(format!("Mcp-Method header does not match method {method}"));
    }
    if matches!(method, "tools/call" | "prompts/get" | "resources/read") {
        let name = value["params"]["name"]
            .as_str()
            .or(value["params"]["uri"].as_str());
        let header = header_str(headers, "mcp-name").map(decode_header_value);
        if header.as_deref() != name {
            return mismatch(format!(
                "Mcp-Name header does not match {}",
                name.unwrap_or("params")
            ));
        }
    }
    if version != Some(STATELESS_REVISION) {
        let data = json!({"supported": [STATELESS_REVISION], "requested": version});
        let body = json!({"jsonrpc": "2.0", "id": serde_json::from_str::<Value>(&id).unwrap_or_default(),
            "error": {"code": code::UNSUPPORTED_PROTOCOL_VERSION, "message": "Unsupported protocol version", "data": data}});
        return json_response(StatusCode::BAD_REQUEST, Bytes::from(body.to_string()));
    }
    if frame.head().kind() != Kind::Request {
        return StatusCode::ACCEPTED.into_response();
    }
    if method == "server/discover" {
        let init = match init_result(&gate.gateway, &target, STATELESS_REVISION).await {
            Ok(init) => init,
            Err(e) => return unavailable(&id, &e),
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
        return json_response(
            StatusCode::OK,
            jsonrpc::result_response(&id, &result.to_string()).into_bytes(),
        );
    }
    let session = Session::new(
        client.0,
        target,
        Mode::Stateless,
        STATELESS_REVISION.to_owned(),
        &meta["io.modelcontextprotocol/clientCapabilities"],
    );
    let stream = session.open_stream();
    on_request(
        gate,
        &session,
        to_handshake_era(value),
        Arc::clone(&stream),
        Some(mark_complete),
    )
    .await;
    stream.first().await;
    if let Some(single) = stream.single() {
        let not_found = Frame::parse(single.clone())
            .is_ok_and(|f| f.to_value()["error"]["code"] == code::METHOD_NOT_FOUND);
        let status = if not_found {
            StatusCode::NOT_FOUND
        } else {
            StatusCode::OK
        };
        return json_response(status, single);
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

/// Undoes the `=?base64?…?=` encoding of mirrored header values.
fn decode_header_value(raw: &str) -> String {
    match raw.strip_prefix("=?base64?").and_then(|r| r.strip_suffix("?=")) {
        Some(encoded) => base64_decode(encoded)
            .and_then(|b| String::from_utf8(b).ok())
            .unwrap_or_default(),
        None => raw.to_owned(),
    }
}

fn base64_decode(text: &str) -> Option<Vec<u8>> {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for byte in text.bytes().filter(|b| *b != b'=') {
        let value = u32::try_from(ALPHABET.iter().position(|a| *a == byte)?).ok()?;
        acc = (acc << 6) | value;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((acc >> bits) & 0xff).ok()?);
        }
    }
    Some(out)
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

#[derive(Deserialize)]
struct LegacyQuery {
    #[serde(rename = "sessionId")]
    session_id: String,
}

/// The 2024-11-05 transport: this GET stream carries everything; its first event names the
/// URL to POST messages to. The session exists once the client POSTs initialize there.
fn legacy_open(gate: Gate, client: Client, target: Target) -> Response {
    let pending = Session::new(
        client.0,
        target,
        Mode::LegacySse,
        SESSION_REVISIONS[3].to_owned(),
        &json!({}),
    );
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

async fn legacy_message(
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
        Kind::Notification => on_notification(&gate, &session, frame).await,
        Kind::Response => session.answer(&frame).await,
        Kind::Request => on_request(&gate, &session, frame, session.standalone(), None).await,
    }
    StatusCode::ACCEPTED.into_response()
}

/// initialize on the legacy transport: the session opened with the stream learns the client's
/// capabilities now.
async fn legacy_initialize(gate: &Gate, session: Arc<Session>, frame: &Frame) -> Response {
    let id = frame.raw_id();
    let params = frame.to_value()["params"].take();
    let protocol = negotiate(&params, SESSION_REVISIONS[3]);
    let answer = match init_result(&gate.gateway, &session.target, protocol).await {
        Ok(result) => {
            session.set_capabilities(&params["capabilities"]);
            start_notices(&gate.gateway, &session).await;
            jsonrpc::result_response(&id, &result.to_string())
        }
        Err(e) => jsonrpc::error_response(&id, code::SERVER_UNAVAILABLE, &e.to_string()),
    };
    session.standalone().push(answer.into_bytes());
    StatusCode::ACCEPTED.into_response()
}

#[cfg(test)]
mod tests {
    use switchboard_model::sse::SseDecoder;

    use super::sse_event;

    /// Data with line breaks was copied into one `data:` field, so a reader saw a cut event
    /// and stray fields.
    #[test]
    fn an_event_carries_data_over_several_lines_whole() {
        for (data, read_back) in [
            ("{\"id\":1}", "{\"id\":1}"),
            ("{\n\"id\": 1\n}", "{\n\"id\": 1\n}"),
            ("{\r\n\"id\": 1\r\n}", "{\n\"id\": 1\n}"),
            ("{\r\"id\": 1}", "{\n\"id\": 1}"),
        ] {
            let events = SseDecoder::new().feed(&sse_event(Some("s-1".into()), data.as_bytes()));
            assert_eq!(events.len(), 1, "{data:?}");
            assert_eq!(events[0].data, read_back, "{data:?}");
            assert_eq!(events[0].id.as_deref(), Some("s-1"));
        }
    }
}

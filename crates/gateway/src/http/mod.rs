//! The gateway's HTTP face, the first stage of a request's way: transport, then session
//! ([`super::session`], [`super::handshake`]), then routing ([`super::route`]), then the
//! upstream.
//!
//! This module is the door and the routes: on loopback, [`access`] runs first on every
//! request (Host and Origin by [`switchboard_http::door`], then a client's bearer token); [`server_routes`]
//! is `/mcp/<server>` without that door, for the tailnet listener, which admits requests its
//! own way. Bodies are read and parsed here once, then handed to the transport they belong
//! to: [`streamable`] (with [`batch`] and [`stateless`]) or [`legacy`] SSE, whose events
//! [`sse`] writes. No transport decides what a message means.

// Helpers return the refusal itself as their error: it is the response, built once per request.
#![allow(clippy::result_large_err)]

mod batch;
mod legacy;
mod sse;
mod stateless;
mod streamable;

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next as MiddlewareNext};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use switchboard_http::door::{Door, HostPolicy, OriginPolicy, bearer};
use switchboard_local::token::RandomError;
use switchboard_mcp::jsonrpc::{self, Frame, code};
use switchboard_model::ServerName;

use super::Gateway;
use super::session::Target;
use legacy::{legacy_message, legacy_sse};
use streamable::{on_delete, on_get, on_post};

/// Largest request body accepted.
pub const MAX_BODY: usize = 4 * 1024 * 1024;

/// Time to read a request body: a client that trickles bytes is cut off.
const BODY_TIMEOUT: Duration = Duration::from_secs(30);

/// A quiet SSE stream gets a comment this often, so idle timeouts of clients do not fire.
pub(super) const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// The client a request was admitted as: the name of the token it carried, or on the tailnet
/// listener the peer's identity. Shown in sessions and the tool-call history.
#[derive(Clone, Debug)]
pub struct Client(pub Arc<str>);

#[derive(Clone, Debug)]
pub(super) struct Gate {
    pub(super) gateway: Arc<Gateway>,
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

/// A session could not be opened because no unguessable id could be made: a 500 naming why,
/// answering request `id` (`"null"` when there is none).
pub(super) fn no_session(id: &str, e: &RandomError) -> Response {
    let message = format!("cannot open a session: {e}");
    rpc_error(StatusCode::INTERNAL_SERVER_ERROR, id, code::INTERNAL, &message)
}

pub(super) fn rpc_error(status: StatusCode, id: &str, code: i64, message: &str) -> Response {
    json_response(status, jsonrpc::error_response(id, code, message).into_bytes())
}

pub(super) fn json_response(status: StatusCode, body: Bytes) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

/// What a path names: `/mcp/<server>` one server, `/mcp` the aggregate. A server the
/// client's profile does not offer is refused here, before any session is opened.
pub(super) fn target(
    gateway: &Gateway,
    client: &Client,
    server: Option<Path<String>>,
) -> Result<Target, Response> {
    let Some(Path(raw)) = server else {
        return Ok(Target::Aggregate);
    };
    let name = ServerName::new(&raw).map_err(|e| http_error(StatusCode::NOT_FOUND, e.to_string()))?;
    if !gateway.offers(&client.0, &name) {
        return Err(http_error(
            StatusCode::FORBIDDEN,
            format!(
                "client {} uses a profile without server {name}; `switchboard profile ls` shows what it offers",
                client.0
            ),
        ));
    }
    Ok(Target::Server(name))
}

async fn post_mcp(
    State(gate): State<Gate>,
    Extension(client): Extension<Client>,
    server: Option<Path<String>>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    match target(&gate.gateway, &client, server) {
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
    match target(&gate.gateway, &client, server) {
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
    match target(&gate.gateway, &client, server) {
        Ok(target) => on_delete(gate, client, target, headers).await,
        Err(response) => response,
    }
}

pub(super) async fn read_body(body: Body) -> Result<Bytes, Response> {
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

pub(super) fn parse(bytes: Bytes) -> Result<Frame, Response> {
    Frame::parse(bytes).map_err(|e| rpc_error(StatusCode::BAD_REQUEST, "null", e.code(), &e.to_string()))
}

pub(super) fn is_batch(bytes: &[u8]) -> bool {
    bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'[')
}

pub(super) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

//! One MCP connection to a server, shared by everyone who talks to it.
//!
//! An [`Upstream`] sits on a [`link`] (a process's stdio, a Streamable HTTP session, or a
//! legacy HTTP+SSE stream) and multiplexes it: the supervisor's own requests (handshake,
//! pings) and every downstream session's requests go out under ids it allocates, and what comes
//! back is routed by those ids. It owns the routing tables that sharing needs: pending
//! requests, progress tokens (remapped, since two sessions may pick the same token), requests
//! the server sends to clients, and resource subscription counts. Messages travel as
//! [`Frame`]s and are changed only by splicing the fields it remaps.
//!
//! It does not know sessions, HTTP, or protocol revisions of downstream clients: a downstream
//! exchange is just a [`Sink`]. Spawning and restarting are the supervisor's.

pub mod link;
mod listen;

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use switchboard_model::ServerName;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use crate::era::{self, Envelope, Era};
use crate::jsonrpc::{self, Frame, Kind, Param, code};

/// Ids of server-to-client requests as clients see them: unique across all upstreams, so a
/// session that talks to several servers (the aggregate) can route its answers back.
static NEXT_SERVER_REQUEST: AtomicU64 = AtomicU64::new(1);

/// A new id for a request to a client, unique among those of every upstream.
pub fn next_server_request_id() -> u64 {
    NEXT_SERVER_REQUEST.fetch_add(1, Ordering::Relaxed)
}

/// How long telling a server that a request timed out may take: a server that does not read
/// its input is not worth waiting for.
const CANCEL_PATIENCE: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    #[error("the connection to the server is closed")]
    Closed,
    #[error("the server answered {method} with error {code}: {message}")]
    Remote {
        method: String,
        code: i64,
        message: String,
    },
    #[error("the server's answer to {method} is malformed: {detail}")]
    Malformed { method: String, detail: String },
    #[error(
        "the server did not answer {method} within {} ms; it may be hung: `switchboard logs` \
         shows its output, and `switchboard restart` restarts it",
        after.as_millis()
    )]
    TimedOut { method: String, after: Duration },
}

/// Where the messages of one downstream exchange go: its progress, the server's requests made
/// on its behalf, and finally its response.
pub trait Sink: Send + Sync {
    fn deliver(&self, delivery: Delivery);
    /// Whether the client behind this sink can answer a server request for `method`.
    fn accepts(&self, method: &str) -> bool;
}

#[derive(Debug)]
pub enum Delivery {
    Notification(Frame),
    /// A server-to-client request, its id already replaced by `id`; answer with [`Upstream::reply`].
    Request {
        frame: Frame,
        id: u64,
    },
    /// A server request no client in flight declared it can answer, given to the only exchange
    /// in flight (the one it is then surely made for) to refuse as its client's revision
    /// says; answer with [`Upstream::reply`].
    Unanswerable {
        frame: Frame,
        id: u64,
    },
    /// The final response, with the downstream's own id restored.
    Response(Frame),
}

/// What the supervisor's handshake learned: the server's `initialize` result or, for a
/// stateless server, its `server/discover` result in that shape; and the era it speaks.
#[derive(Clone, Debug)]
pub struct Init {
    pub result: Value,
    pub era: Era,
}

impl Init {
    pub fn protocol_version(&self) -> &str {
        self.result["protocolVersion"].as_str().unwrap_or_default()
    }
    pub fn capabilities(&self) -> &Value {
        &self.result["capabilities"]
    }
}

enum Waiter {
    Internal(oneshot::Sender<Frame>),
    /// The `subscriptions/listen` that carries a stateless server's notices.
    Listen,
    Downstream {
        sink: Arc<dyn Sink>,
        /// The downstream request's own id, raw JSON.
        id: String,
        progress: Option<u64>,
        is_tool_call: bool,
    },
}

struct ServerRequest {
    upstream_id: String,
    sink: Weak<dyn Sink>,
}

#[derive(Default)]
struct Routes {
    closed: bool,
    pending: HashMap<u64, Waiter>,
    /// Gateway progress token → the exchange and its own token (raw JSON).
    progress: HashMap<u64, (Weak<dyn Sink>, String)>,
    server_requests: HashMap<u64, ServerRequest>,
    subscriptions: HashMap<String, usize>,
    /// A stateless server's listen now carrying its notices.
    listen: Option<u64>,
    /// The listen it replaced, heard until the new one is acknowledged.
    retiring: Option<u64>,
    /// When a client's request last went to the server or was answered (or the connection
    /// was last marked used): what idleness is measured from. The gateway's own requests,
    /// such as pings, do not count.
    last_active: Option<std::time::Instant>,
}

impl Routes {
    fn is_quiet(&self, idle: Duration) -> bool {
        !self.in_use() && self.last_active.is_none_or(|at| at.elapsed() >= idle)
    }

    /// Whether anything of a client's is in flight or held open on this connection: a
    /// request, a server request waiting on a client, a resource subscription. (The listen
    /// that carries a stateless server's notices is the gateway's own.)
    fn in_use(&self) -> bool {
        self.pending
            .values()
            .any(|w| matches!(w, Waiter::Downstream { .. }))
            || !self.server_requests.is_empty()
            || !self.subscriptions.is_empty()
    }
}

/// A multiplexed MCP connection to one server.
pub struct Upstream {
    server: ServerName,
    /// Taken on shutdown, which ends the link (closing a process's stdin, ending an HTTP session).
    out: Mutex<Option<link::Outlet>>,
    next_id: AtomicU64,
    routes: Mutex<Routes>,
    /// Server notifications that belong to no exchange (list changes, resource updates, logs).
    notices: broadcast::Sender<Frame>,
    init: Mutex<Option<Init>>,
    closed: watch::Sender<bool>,
    /// Held while a stateless server's listen is replaced, so two never cross.
    relistening: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for Upstream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstream")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

/// Client capabilities the gateway declares upstream: everything it can route to a client.
pub fn client_capabilities() -> Value {
    json!({
        "roots": {"listChanged": true},
        "sampling": {},
        "elicitation": {"form": {}, "url": {}},
    })
}

impl Upstream {
    /// Starts routing `incoming` (what the link received); `out` is what the link sends.
    pub fn start(
        server: ServerName,
        out: link::Outlet,
        mut incoming: mpsc::Receiver<Frame>,
        notices: broadcast::Sender<Frame>,
    ) -> Arc<Self> {
        let upstream = Arc::new(Self {
            server,
            out: Mutex::new(Some(out)),
            next_id: AtomicU64::new(1),
            routes: Mutex::new(Routes {
                last_active: Some(std::time::Instant::now()),
                ..Routes::default()
            }),
            notices,
            init: Mutex::new(None),
            closed: watch::channel(false).0,
            relistening: tokio::sync::Mutex::default(),
        });
        let weak = Arc::downgrade(&upstream);
        tokio::spawn(async move {
            while let Some(frame) = incoming.recv().await {
                let Some(upstream) = weak.upgrade() else { return };
                upstream.on_message(frame).await;
            }
            if let Some(upstream) = weak.upgrade() {
                upstream.close();
            }
        });
        upstream
    }

    pub fn server(&self) -> &ServerName {
        &self.server
    }

    fn routes(&self) -> parking_lot::MutexGuard<'_, Routes> {
        self.routes.lock()
    }

    pub fn init(&self) -> Option<Init> {
        self.init.lock().clone()
    }

    pub fn set_init(&self, init: Init) {
        *self.init.lock() = Some(init);
    }

    /// The era the server speaks, once its handshake is done.
    pub fn era(&self) -> Era {
        self.init.lock().as_ref().map(|i| i.era).unwrap_or_default()
    }

    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Completes once the connection has ended.
    pub async fn closed(&self) {
        let mut rx = self.closed.subscribe();
        let _ = rx.wait_for(|closed| *closed).await;
    }

    /// Ends the connection from this side: outstanding exchanges get an error at once.
    pub fn close(&self) {
        let drained = {
            let mut routes = self.routes();
            routes.closed = true;
            routes.progress.clear();
            routes.server_requests.clear();
            std::mem::take(&mut routes.pending)
        };
        for waiter in drained.into_values() {
            if let Waiter::Downstream { sink, id, .. } = waiter {
                let message = format!(
                    "server {} stopped while handling this request; Switchboard restarts it if its \
                     policy says so, then the request can be retried",
                    self.server
                );
                sink.deliver(Delivery::Response(jsonrpc::error_response(
                    &id,
                    code::SERVER_UNAVAILABLE,
                    &message,
                )));
            }
        }
        self.closed.send_replace(true);
    }

    /// Counts the connection as used now: idleness is measured from here.
    pub fn touch(&self) {
        self.routes().last_active = Some(std::time::Instant::now());
    }

    /// Whether no client has used the connection for `idle` and nothing of a client's is in
    /// flight or subscribed (without closing it: see [`Upstream::retire_if_idle`]).
    pub fn is_quiet(&self, idle: Duration) -> bool {
        self.routes().is_quiet(idle)
    }

    /// Closes the connection to new requests if no client has used it for `idle` and nothing
    /// of a client's is in flight or subscribed; true if it did. A request that raced it gets
    /// [`RpcError::Closed`] before anything was sent, so it can be sent again elsewhere.
    pub fn retire_if_idle(&self, idle: Duration) -> bool {
        let mut routes = self.routes();
        if routes.closed || !routes.is_quiet(idle) {
            return false;
        }
        routes.closed = true;
        drop(routes);
        self.closed.send_replace(true);
        true
    }

    /// Ends the link from this side (the polite way to ask a stdio server to exit) and fails
    /// what is outstanding.
    pub fn shutdown(&self) {
        self.out.lock().take();
        self.close();
    }

    async fn send(&self, frame: Frame) -> Result<(), RpcError> {
        let out = self.out.lock().clone();
        match out {
            Some(out) if out.send(frame).await => Ok(()),
            _ => Err(RpcError::Closed),
        }
    }

    /// A request of the gateway's own; returns its `result`. A server that is alive but does
    /// not answer within `within` gets [`RpcError::TimedOut`], and is told the request is
    /// cancelled, so nothing the gateway asks on its own can wait forever.
    pub async fn request(&self, method: &str, params: Value, within: Duration) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        {
            let mut routes = self.routes();
            if routes.closed {
                return Err(RpcError::Closed);
            }
            routes.pending.insert(id, Waiter::Internal(tx));
        }
        let mut request = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        if self.era() == Era::Stateless {
            request = era::with_envelope(request, &Envelope::own());
        }
        let frame = Frame::from_value(&request);
        let exchange = async {
            self.send(frame).await?;
            rx.await.map_err(|_| RpcError::Closed)
        };
        let outcome = tokio::time::timeout(within, exchange).await;
        if !matches!(outcome, Ok(Ok(_))) {
            self.routes().pending.remove(&id);
        }
        let answer = match outcome {
            Ok(answer) => answer?,
            Err(_) => {
                self.cancel_own(id, within).await;
                return Err(RpcError::TimedOut {
                    method: method.to_owned(),
                    after: within,
                });
            }
        };
        result_of(method, answer.to_value())
    }

    /// Tells the server to drop a request of the gateway's own that timed out; a server that
    /// does not even read its input is not waited for longer than the request was.
    async fn cancel_own(&self, id: u64, within: Duration) {
        let cancel = Frame::from_value(&json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": id, "reason": "no answer in time"},
        }));
        let _ = tokio::time::timeout(within.min(CANCEL_PATIENCE), self.send(cancel)).await;
    }

    /// A notification of the gateway's own.
    pub async fn notify(&self, method: &str) -> Result<(), RpcError> {
        self.send(Frame::from_value(&json!({"jsonrpc": "2.0", "method": method})))
            .await
    }

    /// Forwards a downstream request; its response and related messages go to `sink`.
    /// Returns the id it travels under upstream, for cancellation.
    pub async fn forward(&self, request: &Frame, sink: Arc<dyn Sink>) -> Result<u64, RpcError> {
        let head = request.head();
        let Some(original) = head.id.map(|id| id.get().to_owned()) else {
            return Err(RpcError::Malformed {
                method: head.method.as_deref().unwrap_or_default().to_owned(),
                detail: "a request without an id".into(),
            });
        };
        let is_tool_call = head.method.as_deref() == Some("tools/call");
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let mut frame = request.with_id(&id.to_string());
        let progress = match request.progress_token() {
            Some(token) => {
                let ours = self.next_id.fetch_add(1, Ordering::Relaxed);
                frame = frame.with_progress_token(&ours.to_string());
                Some((ours, token.to_owned()))
            }
            None => None,
        };
        {
            let mut routes = self.routes();
            if routes.closed {
                return Err(RpcError::Closed);
            }
            routes.last_active = Some(std::time::Instant::now());
            if let Some((ours, token)) = &progress {
                routes
                    .progress
                    .insert(*ours, (Arc::downgrade(&sink), token.clone()));
            }
            routes.pending.insert(
                id,
                Waiter::Downstream {
                    sink,
                    id: original,
                    progress: progress.map(|(ours, _)| ours),
                    is_tool_call,
                },
            );
        }
        if let Err(e) = self.send(frame).await {
            self.forget(id);
            return Err(e);
        }
        Ok(id)
    }

    fn forget(&self, id: u64) {
        let mut routes = self.routes();
        if let Some(Waiter::Downstream {
            progress: Some(token),
            ..
        }) = routes.pending.remove(&id)
        {
            routes.progress.remove(&token);
        }
    }

    /// Cancels a forwarded request: no response will be delivered for it. `cancel` is the
    /// client's `notifications/cancelled`, if it sent one (its reason is kept).
    pub async fn cancel(&self, upstream_id: u64, cancel: Option<&Frame>) {
        let was_pending = self.routes().pending.contains_key(&upstream_id);
        self.forget(upstream_id);
        if !was_pending {
            return;
        }
        let frame = match cancel {
            Some(frame) if frame.param(Param::RequestId).is_some() => {
                frame.with_param(Param::RequestId, &upstream_id.to_string())
            }
            _ => Frame::from_value(&json!({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": upstream_id, "reason": "the client went away"},
            })),
        };
        let _ = self.send(frame).await;
    }

    /// Passes a downstream notification through untouched.
    pub async fn pass(&self, notification: Frame) -> Result<(), RpcError> {
        self.send(notification).await
    }

    /// A client's answer to a server request that was delivered with id `id`.
    pub async fn reply(&self, id: u64, response: &Frame) -> Result<(), RpcError> {
        let upstream_id = self.routes().server_requests.remove(&id).map(|r| r.upstream_id);
        match upstream_id {
            Some(upstream_id) => self.send(response.with_id(&upstream_id)).await,
            // Answered already, or the server cancelled it: nothing waits for this answer.
            None => Ok(()),
        }
    }

    /// Counts a subscription to `uri`; true if it is the first, so it must be sent upstream.
    pub fn subscribe(&self, uri: &str) -> bool {
        let mut routes = self.routes();
        let count = routes.subscriptions.entry(uri.to_owned()).or_default();
        *count += 1;
        *count == 1
    }

    /// Counts an unsubscription; true if it was the last, so it must be sent upstream.
    pub fn unsubscribe(&self, uri: &str) -> bool {
        let mut routes = self.routes();
        match routes.subscriptions.get_mut(uri) {
            Some(count) if *count > 1 => {
                *count -= 1;
                false
            }
            Some(_) => {
                routes.subscriptions.remove(uri);
                true
            }
            None => false,
        }
    }

    async fn on_message(&self, frame: Frame) {
        let head = frame.head();
        match head.kind() {
            Kind::Response => {
                let Some(id) = head.id.and_then(|id| id.get().parse::<u64>().ok()) else {
                    return;
                };
                let waiter = {
                    let mut routes = self.routes();
                    let waiter = routes.pending.remove(&id);
                    if matches!(waiter, Some(Waiter::Downstream { .. })) {
                        routes.last_active = Some(std::time::Instant::now());
                    }
                    waiter
                };
                match waiter {
                    Some(Waiter::Internal(tx)) => {
                        let _ = tx.send(frame);
                    }
                    Some(Waiter::Listen) => self.listen_ended(id),
                    Some(Waiter::Downstream {
                        sink, id, progress, ..
                    }) => {
                        if let Some(token) = progress {
                            self.routes().progress.remove(&token);
                        }
                        sink.deliver(Delivery::Response(frame.with_id(&id)));
                    }
                    None => {}
                }
            }
            Kind::Request => {
                let method = head.method.as_deref().unwrap_or_default().to_owned();
                let id = head.id.map(|id| id.get().to_owned()).unwrap_or_default();
                self.on_server_request(frame, &method, id).await;
            }
            Kind::Notification => match head.method.as_deref() {
                Some("notifications/progress") => {
                    let route = frame
                        .param(Param::ProgressToken)
                        .and_then(|t| t.parse::<u64>().ok())
                        .and_then(|t| self.routes().progress.get(&t).cloned());
                    if let Some((sink, token)) = route
                        && let Some(sink) = sink.upgrade()
                    {
                        sink.deliver(Delivery::Notification(
                            frame.with_param(Param::ProgressToken, &token),
                        ));
                    }
                }
                Some("notifications/cancelled") => {
                    // The server withdrew one of its own requests to a client.
                    let found = frame.param(Param::RequestId).and_then(|upstream_id| {
                        let routes = self.routes();
                        routes
                            .server_requests
                            .iter()
                            .find(|(_, r)| r.upstream_id == upstream_id)
                            .and_then(|(ours, r)| Some((*ours, r.sink.upgrade()?)))
                    });
                    if let Some((ours, sink)) = found {
                        self.routes().server_requests.remove(&ours);
                        sink.deliver(Delivery::Notification(
                            frame.with_param(Param::RequestId, &ours.to_string()),
                        ));
                    }
                }
                Some("notifications/message") => match self.only_exchange() {
                    Some(sink) => sink.deliver(Delivery::Notification(frame)),
                    None => {
                        let _ = self.notices.send(frame);
                    }
                },
                _ => self.on_notice(frame).await,
            },
        }
    }

    /// The one downstream exchange in flight, if there is exactly one. Over stdio a log message
    /// does not say which request it comes from; with one exchange in flight it can only be
    /// that one, and it then reaches the client on the request's own stream (the only stream
    /// a stateless client has). Otherwise it goes to every session.
    fn only_exchange(&self) -> Option<Arc<dyn Sink>> {
        let routes = self.routes();
        let mut exchanges = routes.pending.values().filter_map(|waiter| match waiter {
            Waiter::Downstream { sink, .. } => Some(sink),
            Waiter::Internal(_) | Waiter::Listen => None,
        });
        match (exchanges.next(), exchanges.next()) {
            (Some(sink), None) => Some(Arc::clone(sink)),
            _ => None,
        }
    }

    /// Routes a request from the server to the client it is most likely made for: the one
    /// whose request is in flight (the newest, preferring tool calls, which is where sampling
    /// and elicitation come from). Over stdio nothing on the wire says which request a
    /// server request belongs to; with one client at a time the choice is exact.
    async fn on_server_request(&self, frame: Frame, method: &str, upstream_id: String) {
        if method == "ping" {
            let _ = self.send(jsonrpc::result_response(&upstream_id, "{}")).await;
            return;
        }
        let target = {
            let routes = self.routes();
            routes
                .pending
                .iter()
                .filter_map(|(id, waiter)| match waiter {
                    Waiter::Downstream {
                        sink, is_tool_call, ..
                    } if sink.accepts(method) => Some((*is_tool_call, *id, Arc::clone(sink))),
                    _ => None,
                })
                .max_by_key(|(is_tool_call, id, _)| (*is_tool_call, *id))
                .map(|(_, _, sink)| sink)
        };
        // Nobody declared it: the only call in flight, if there is one, refuses it itself.
        let (sink, answerable) = match target
            .map(|sink| (sink, true))
            .or_else(|| Some((self.only_exchange()?, false)))
        {
            Some(found) => found,
            None => {
                let message = unanswerable(method, &self.server);
                let _ = self
                    .send(jsonrpc::error_response(
                        &upstream_id,
                        code::METHOD_NOT_FOUND,
                        &message,
                    ))
                    .await;
                return;
            }
        };
        let ours = next_server_request_id();
        self.routes().server_requests.insert(
            ours,
            ServerRequest {
                upstream_id,
                sink: Arc::downgrade(&sink),
            },
        );
        let frame = frame.with_id(&ours.to_string());
        sink.deliver(match answerable {
            true => Delivery::Request { frame, id: ours },
            false => Delivery::Unanswerable { frame, id: ours },
        });
    }
}

/// Why a server request is refused: no client that can answer it is connected.
pub fn unanswerable(method: &str, server: &ServerName) -> String {
    format!("no connected client can answer {method} for server {server}")
}

/// The `result` of a JSON-RPC response, or its `error` as an [`RpcError`].
fn result_of(method: &str, mut answer: Value) -> Result<Value, RpcError> {
    if let Some(error) = answer.get("error") {
        return Err(RpcError::Remote {
            method: method.to_owned(),
            code: error["code"].as_i64().unwrap_or_default(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(RpcError::Malformed {
            method: method.to_owned(),
            detail: "neither result nor error".into(),
        }),
    }
}

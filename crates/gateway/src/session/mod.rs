//! One downstream client's session, and the event streams it reads.
//!
//! A [`Session`] is what an `initialize` creates (or, for the stateless 2026-07-28 revision,
//! what one request lives in). It remembers the client's capabilities (to decide which server
//! requests it can answer), its requests in flight (to cancel them upstream), the server
//! requests it was sent (to route its answers back), and its resource subscriptions (counted
//! on the shared upstream, released when the session ends). For servers that run one process
//! per session it also holds those processes, which end with it.
//!
//! Everything sent to the client goes through a [`Stream`]: numbered events kept until they
//! are delivered, so a client that reconnects with `Last-Event-ID` gets what it missed.
//! HTTP framing is [`super::http`]'s; which upstream a request goes to is [`super::route`]'s.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use parking_lot::Mutex;
use serde_json::{Value, json};
use switchboard_local::token::{RandomError, random_secret};
use switchboard_mcp::era::Envelope;
use switchboard_mcp::jsonrpc::{Frame, Param};
use switchboard_mcp::upstream::Upstream;
use switchboard_model::ServerName;
use switchboard_supervisor::isolated::Isolated;
use tokio::sync::{Notify, oneshot, watch};
use tokio::task::JoinHandle;

pub(crate) mod exchange;
mod inputs;
pub(crate) mod listen;
mod roots;
pub(crate) mod rounds;

use exchange::{CallStart, Exchange, Live};
use inputs::InputRound;
use listen::Listen;
use rounds::Asking;

/// Events the standalone stream keeps for a client that reconnects.
const STANDALONE_KEPT: usize = 64;
/// Undelivered request streams a session keeps for resumption before dropping the oldest.
const DETACHED_KEPT: usize = 32;

/// What a session talks to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Server(ServerName),
    Aggregate,
}

/// Which server-to-client requests the client said it can answer.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientCaps {
    pub sampling: bool,
    pub elicitation: bool,
    /// Elicitation in form mode: `form`, or a bare `elicitation` (what it meant before modes).
    pub elicitation_form: bool,
    /// Elicitation in URL mode.
    pub elicitation_url: bool,
    pub roots: bool,
}

impl ClientCaps {
    pub fn from_capabilities(capabilities: &Value) -> Self {
        Self {
            sampling: capabilities.get("sampling").is_some(),
            elicitation: capabilities.get("elicitation").is_some(),
            elicitation_form: capabilities["elicitation"].get("form").is_some()
                || capabilities["elicitation"]
                    .as_object()
                    .is_some_and(|e| !e.contains_key("url")),
            elicitation_url: capabilities["elicitation"].get("url").is_some(),
            roots: capabilities.get("roots").is_some(),
        }
    }

    fn accepts(self, method: &str) -> bool {
        match method {
            "sampling/createMessage" => self.sampling,
            "elicitation/create" => self.elicitation,
            "roots/list" => self.roots,
            _ => true,
        }
    }

    /// What `request` needs that was not declared, as a `requiredCapabilities` object.
    fn lacks(self, request: &Frame) -> Option<Value> {
        let method = request.head().method.as_deref().unwrap_or_default().to_owned();
        if method == "elicitation/create" {
            return match request.to_value()["params"]["mode"] == "url" {
                true => (!self.elicitation_url).then(|| json!({"elicitation": {"url": {}}})),
                false if !self.elicitation => Some(json!({"elicitation": {}})),
                false => (!self.elicitation_form).then(|| json!({"elicitation": {"form": {}}})),
            };
        }
        let capability = match method.as_str() {
            "sampling/createMessage" => "sampling",
            "elicitation/create" => "elicitation",
            "roots/list" => "roots",
            _ => return None,
        };
        (!self.accepts(&method)).then(|| json!({ capability: {} }))
    }
}

/// How the session's client is connected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Streamable HTTP with a session id (2025-03-26 to 2025-11-25).
    Streamable,
    /// One request, no session (2026-07-28): no server requests can reach the client.
    Stateless,
    /// The 2024-11-05 HTTP+SSE transport: everything goes out on the one GET stream.
    LegacySse,
    /// A 2026-07-28 `subscriptions/listen`: its one stream carries what its filter asks for.
    Listen,
}

/// Who waits for the client's answer to a request it was sent.
#[derive(Debug)]
enum Answerer {
    /// A session-era server's request, forwarded.
    Upstream(Arc<Upstream>),
    /// A question of a stateless server's round of input.
    Input(Arc<InputRound>),
    /// The gateway's own `roots/list`.
    Roots(oneshot::Sender<Frame>),
}

struct InFlight {
    /// Where it is answered; it knows the upstream id it travels under now.
    exchange: Arc<Exchange>,
    stream: Arc<Stream>,
}

/// A downstream client session.
pub struct Session {
    id: Arc<str>,
    client: Arc<str>,
    pub target: Target,
    pub mode: Mode,
    pub protocol: String,
    caps: Mutex<ClientCaps>,
    /// The capabilities as the client declared them.
    capabilities: Mutex<Value>,
    next_stream: AtomicU32,
    streams: Mutex<HashMap<u32, Arc<Stream>>>,
    /// The standalone stream (the GET stream, or the legacy transport's only stream).
    standalone: Arc<Stream>,
    inflight: Mutex<HashMap<String, InFlight>>,
    server_requests: Mutex<HashMap<u64, Answerer>>,
    subscriptions: Mutex<HashSet<(ServerName, String)>>,
    /// The session's own processes of per-session servers; they end with it.
    isolated: Mutex<HashMap<ServerName, Isolated>>,
    /// Held while one of them starts, so concurrent requests start only one.
    isolating: tokio::sync::Mutex<()>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    last_active: Mutex<Instant>,
    /// Clients reading the standalone stream right now.
    listeners: AtomicUsize,
    /// The least severe log message the client gets, as an index into [`LOG_LEVELS`]; past
    /// the end, none. See [`Session::set_log_level`].
    log_floor: AtomicU8,
    /// For a stateless request: where the server requests it meets become rounds of input.
    asking: Option<Asking>,
    /// For a listen: its id and what it was granted.
    listen: Option<Listen>,
    /// The folders its client works in, once it said.
    roots: watch::Sender<roots::Roots>,
}

/// MCP's log levels, least severe first.
pub const LOG_LEVELS: [&str; 8] = [
    "debug",
    "info",
    "notice",
    "warning",
    "error",
    "critical",
    "alert",
    "emergency",
];

/// A client reading a session's standalone stream; see [`Session::listen`].
#[derive(Debug)]
pub struct Listening(Arc<Session>);

impl Listening {
    pub fn session(&self) -> &Arc<Session> {
        &self.0
    }
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.0.listeners.fetch_sub(1, Ordering::Relaxed);
        // Idle time counts from when the client stopped listening.
        self.0.touch();
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("client", &self.client)
            .field("target", &self.target)
            .finish_non_exhaustive()
    }
}

impl Session {
    pub fn new(
        client: Arc<str>,
        target: Target,
        mode: Mode,
        protocol: String,
        capabilities: &Value,
    ) -> Result<Arc<Self>, RandomError> {
        Self::build(client, target, mode, protocol, capabilities, None, None)
    }

    /// What one stateless (2026-07-28) request lives in: the capabilities and log level of
    /// its `_meta`, and `asking` for the server requests it meets.
    pub fn stateless(
        client: Arc<str>,
        target: Target,
        protocol: String,
        capabilities: &Value,
        asking: Asking,
    ) -> Result<Arc<Self>, RandomError> {
        Self::build(
            client,
            target,
            Mode::Stateless,
            protocol,
            capabilities,
            Some(asking),
            None,
        )
    }

    /// What a `subscriptions/listen` lives in; its stream is the standalone one.
    pub fn listening(
        client: Arc<str>,
        target: Target,
        protocol: String,
        listen: Listen,
    ) -> Result<Arc<Self>, RandomError> {
        Self::build(
            client,
            target,
            Mode::Listen,
            protocol,
            &Value::Null,
            None,
            Some(listen),
        )
    }

    fn build(
        client: Arc<str>,
        target: Target,
        mode: Mode,
        protocol: String,
        capabilities: &Value,
        asking: Option<Asking>,
        listen: Option<Listen>,
    ) -> Result<Arc<Self>, RandomError> {
        Ok(Arc::new(Self {
            // Unguessable, or no session: a guessable id would let another client join it.
            id: Arc::from(random_secret::<16>()?),
            client,
            target,
            mode,
            protocol,
            caps: Mutex::new(ClientCaps::from_capabilities(capabilities)),
            capabilities: Mutex::new(capabilities.clone()),
            next_stream: AtomicU32::new(1),
            streams: Mutex::default(),
            standalone: Stream::new(0, STANDALONE_KEPT),
            inflight: Mutex::default(),
            server_requests: Mutex::default(),
            subscriptions: Mutex::default(),
            isolated: Mutex::default(),
            isolating: tokio::sync::Mutex::default(),
            tasks: Mutex::default(),
            last_active: Mutex::new(Instant::now()),
            listeners: AtomicUsize::new(0),
            log_floor: AtomicU8::new(0),
            asking,
            listen,
            roots: watch::Sender::new(roots::Roots::Unasked),
        }))
    }

    /// The client's logs: from `level` up, or none when it named no level. A stateless
    /// request names it in `_meta`; a session with `logging/setLevel` (until then, it gets
    /// every message its servers send).
    pub fn set_log_level(&self, level: Option<&str>) {
        let floor = level
            .and_then(|level| LOG_LEVELS.iter().position(|l| *l == level))
            .unwrap_or(LOG_LEVELS.len());
        self.log_floor.store(floor as u8, Ordering::Relaxed);
    }

    /// Whether the client gets `frame`, a notification from one of its servers.
    pub(crate) fn wants(&self, frame: &Frame) -> bool {
        if frame.head().method.as_deref() != Some("notifications/message") {
            return true;
        }
        let floor = usize::from(self.log_floor.load(Ordering::Relaxed));
        let value = frame.to_value();
        let level = value["params"]["level"].as_str().unwrap_or_default();
        LOG_LEVELS.iter().position(|l| *l == level).unwrap_or(0) >= floor
    }

    /// Who the session's requests come from, as a stateless server is told with each one:
    /// the client's capabilities and its log level.
    pub fn envelope(&self) -> Envelope {
        let floor = usize::from(self.log_floor.load(Ordering::Relaxed));
        let capabilities = match &*self.capabilities.lock() {
            Value::Object(declared) => Value::Object(declared.clone()),
            _ => json!({}),
        };
        Envelope {
            capabilities,
            log_level: LOG_LEVELS.get(floor).map(|level| (*level).to_owned()),
        }
    }

    pub fn id(&self) -> Arc<str> {
        Arc::clone(&self.id)
    }

    pub fn client(&self) -> Arc<str> {
        Arc::clone(&self.client)
    }

    /// Whether a request on `target` by `client` may use this session.
    pub fn belongs_to(&self, target: &Target, client: &str) -> bool {
        self.target == *target && *self.client == *client
    }

    pub fn touch(&self) {
        *self.last_active.lock() = Instant::now();
    }

    /// Whether nothing has used the session for `idle`: no request, none in flight, and no
    /// client reading its standalone stream.
    pub fn is_abandoned(&self, idle: Duration) -> bool {
        self.listeners.load(Ordering::Relaxed) == 0
            && self.inflight.lock().is_empty()
            && self.last_active.lock().elapsed() >= idle
    }

    /// Marks a client as reading the standalone stream until the guard drops.
    pub fn listen(self: &Arc<Self>) -> Listening {
        self.listeners.fetch_add(1, Ordering::Relaxed);
        Listening(Arc::clone(self))
    }

    /// A notification sent outside any request (by `server`, or by the gateway), to the
    /// standalone stream if the client wants it: resource updates only for URIs it
    /// subscribed to; on a listen, only the types it was granted, tagged with its id.
    pub fn notice(&self, server: Option<&ServerName>, frame: Frame) {
        let method = frame.head().method.as_deref().unwrap_or_default().to_owned();
        if method == "notifications/resources/updated"
            && !server
                .zip(frame.param_str(Param::Uri))
                .is_some_and(|(server, uri)| self.is_subscribed(server, &uri))
        {
            return;
        }
        match &self.listen {
            None => self.standalone.push(frame.into_bytes()),
            Some(listen) if listen.kinds.wants(&method) => {
                self.standalone.push(listen.tag(&frame).into_bytes())
            }
            Some(_) => {}
        }
    }

    pub fn standalone(&self) -> Arc<Stream> {
        Arc::clone(&self.standalone)
    }

    /// Keeps `task` (a notice forwarder) alive exactly as long as the session.
    pub fn own_task(&self, task: JoinHandle<()>) {
        self.tasks.lock().push(task);
    }

    /// A new stream for one request's response. Legacy sessions answer on their one stream.
    pub fn open_stream(&self) -> Arc<Stream> {
        if self.mode == Mode::LegacySse {
            return self.standalone();
        }
        let id = self.next_stream.fetch_add(1, Ordering::Relaxed);
        let stream = Stream::new(id, usize::MAX);
        let mut streams = self.streams.lock();
        if streams.len() >= DETACHED_KEPT
            && let Some(oldest) = streams.keys().min().copied()
        {
            streams.remove(&oldest);
        }
        streams.insert(id, Arc::clone(&stream));
        stream
    }

    /// The stream an event id belongs to, for resumption.
    pub fn stream(&self, id: u32) -> Option<Arc<Stream>> {
        if id == 0 {
            return Some(self.standalone());
        }
        self.streams.lock().get(&id).cloned()
    }

    pub fn drop_stream(&self, id: u32) {
        self.streams.lock().remove(&id);
    }

    /// Forwards a request; what comes back is written to `stream`, its response passed through
    /// `rewrite` if the client's revision needs it changed.
    pub async fn forward(
        self: &Arc<Self>,
        upstream: Arc<Upstream>,
        request: &Frame,
        stream: Arc<Stream>,
        call: Option<CallStart>,
        rewrite: Option<fn(Frame) -> Frame>,
    ) -> Result<(), switchboard_mcp::upstream::RpcError> {
        let id = request
            .head()
            .id
            .map(|id| id.get().to_owned())
            .unwrap_or_default();
        let live = Live {
            stream: Arc::clone(&stream),
            id: id.clone(),
            progress: request.progress_token().map(str::to_owned),
        };
        let exchange = Exchange::new(self, Arc::clone(&upstream), request.clone(), live, call, rewrite);
        let upstream_id = match upstream.forward(request, Arc::clone(&exchange) as _).await {
            Ok(id) => id,
            Err(e) => {
                // Never sent: no call to record (a retry records its own).
                exchange.forget_call();
                return Err(e);
            }
        };
        exchange.sent_as(upstream_id);
        let mut inflight = self.inflight.lock();
        // A fast server may have answered already, and that answer found nothing to remove.
        if !exchange.answered.load(Ordering::Relaxed) {
            inflight.insert(
                id,
                InFlight {
                    exchange: Arc::clone(&exchange),
                    stream,
                },
            );
        }
        Ok(())
    }

    /// A request's response came: it is no longer in flight.
    pub(crate) fn answered(&self, id: &str, answered: &AtomicBool) {
        let mut inflight = self.inflight.lock();
        answered.store(true, Ordering::Relaxed);
        inflight.remove(id);
        drop(inflight);
        self.touch();
    }

    /// A server request sent to this session's client as `id`, whose answer goes to `upstream`.
    pub(crate) fn note_server_request(&self, id: u64, upstream: Arc<Upstream>) {
        self.server_requests
            .lock()
            .insert(id, Answerer::Upstream(upstream));
    }

    /// A question of a stateless server's round of input, asked of this session's client as `id`.
    pub(crate) fn note_input(&self, id: u64, round: Arc<InputRound>) {
        self.server_requests.lock().insert(id, Answerer::Input(round));
    }

    /// Requests (questions of rounds of input, the gateway's own) sent to the client as `ids`
    /// whose answers are waited for no more.
    pub(crate) fn forget_inputs(&self, ids: &[u64]) {
        let mut asked = self.server_requests.lock();
        for id in ids {
            asked.remove(id);
        }
    }

    /// The client's `notifications/cancelled`: passed to the server that has the request.
    pub async fn cancel(&self, notification: &Frame) {
        let Some(id) = notification.param(Param::RequestId).map(str::to_owned) else {
            return;
        };
        let found = self.inflight.lock().remove(&id);
        if let Some(InFlight { exchange, stream }) = found {
            let upstream = exchange.upstream();
            upstream.cancel(exchange.upstream_id(), Some(notification)).await;
            // No response follows a cancellation; the request's stream ends here.
            if stream.id != 0 {
                stream.finish();
            }
        }
    }

    /// Cancels a request whose client went away (stateless revision: closing is cancelling).
    pub async fn abandon(&self, id: &str) {
        let found = self.inflight.lock().remove(id);
        if let Some(InFlight { exchange, .. }) = found {
            exchange.abandon().await;
        }
    }

    /// The client's answer to a server request.
    pub async fn answer(&self, response: &Frame) {
        let Some(id) = response.head().id.and_then(|id| id.get().parse::<u64>().ok()) else {
            return;
        };
        let answerer = self.server_requests.lock().remove(&id);
        match answerer {
            Some(Answerer::Upstream(upstream)) => {
                let _ = upstream.reply(id, response).await;
            }
            Some(Answerer::Input(round)) => round.answer(id, response).await,
            Some(Answerer::Roots(answer)) => {
                let _ = answer.send(response.clone());
            }
            None => {}
        }
    }

    /// Records a subscription; true if the server must be told (first on the shared upstream).
    pub fn subscribe(&self, upstream: &Upstream, uri: &str) -> bool {
        let new = self
            .subscriptions
            .lock()
            .insert((upstream.server().clone(), uri.to_owned()));
        new && upstream.subscribe(uri)
    }

    /// Forgets a subscription; true if the server must be told (last on the shared upstream).
    pub fn unsubscribe(&self, upstream: &Upstream, uri: &str) -> bool {
        let had = self
            .subscriptions
            .lock()
            .remove(&(upstream.server().clone(), uri.to_owned()));
        had && upstream.unsubscribe(uri)
    }

    pub fn is_subscribed(&self, server: &ServerName, uri: &str) -> bool {
        self.subscriptions
            .lock()
            .contains(&(server.clone(), uri.to_owned()))
    }

    /// Takes every subscription, for release when the session ends.
    /// The URIs of `server` this session is subscribed to on its shared upstream.
    pub fn shared_subscriptions(&self, server: &ServerName) -> Vec<String> {
        if self.isolated.lock().contains_key(server) {
            return Vec::new();
        }
        self.subscriptions
            .lock()
            .iter()
            .filter(|(s, _)| s == server)
            .map(|(_, uri)| uri.clone())
            .collect()
    }

    /// Subscriptions held on shared upstreams, which must be released there.
    pub fn take_subscriptions(&self) -> Vec<(ServerName, String)> {
        let isolated = self.isolated.lock();
        self.subscriptions
            .lock()
            .drain()
            .filter(|(server, _)| !isolated.contains_key(server))
            .collect()
    }

    /// The live connection to this session's own process of `server`, if it has one.
    pub fn isolated_upstream(&self, server: &ServerName) -> Option<Arc<Upstream>> {
        self.isolated
            .lock()
            .get(server)
            .map(|i| Arc::clone(i.upstream()))
            .filter(|u| !u.is_closed())
    }

    /// This session's own process of `server`, started by `start` unless a live one exists.
    pub async fn isolated_or_start<F, E>(&self, server: &ServerName, start: F) -> Result<Arc<Upstream>, E>
    where
        F: Future<Output = Result<Isolated, E>>,
    {
        let _one_at_a_time = self.isolating.lock().await;
        if let Some(upstream) = self.isolated_upstream(server) {
            return Ok(upstream);
        }
        let isolated = start.await?;
        let upstream = Arc::clone(isolated.upstream());
        // A dead predecessor is replaced here, which stops what is left of it.
        self.isolated.lock().insert(server.clone(), isolated);
        Ok(upstream)
    }

    /// Ends the session: streams close, background tasks stop, its own processes end.
    pub fn end(&self) {
        for task in self.tasks.lock().drain(..) {
            task.abort();
        }
        self.isolated.lock().clear();
        if let Some(listen) = &self.listen {
            // Ended by the gateway, a listen ends gracefully: its client knows not to reconnect.
            self.standalone.push(listen.completion().into_bytes());
        }
        self.standalone.finish();
        for stream in self.streams.lock().drain().map(|(_, s)| s) {
            stream.finish();
        }
    }

    pub(crate) fn accepts(&self, method: &str) -> bool {
        self.mode != Mode::Stateless && self.caps.lock().accepts(method)
    }

    /// Whether the client declared it can answer `method` (a stateless client answers in
    /// rounds of input).
    pub(crate) fn declares(&self, method: &str) -> bool {
        self.caps.lock().accepts(method)
    }

    /// The capability a server request needs that this session's client did not declare, as
    /// a `requiredCapabilities` object; none if it can be asked.
    pub(crate) fn lacks(&self, request: &Frame) -> Option<Value> {
        self.caps.lock().lacks(request)
    }

    /// Where a stateless request's server requests go; none for a session.
    pub(crate) fn asking(&self) -> Option<&Asking> {
        self.asking.as_ref()
    }

    /// The legacy transport opens a session before its initialize says what the client can do.
    pub fn set_capabilities(&self, capabilities: &Value) {
        *self.caps.lock() = ClientCaps::from_capabilities(capabilities);
        *self.capabilities.lock() = capabilities.clone();
    }
}

/// Numbered events on their way to a client; event ids are `<stream>-<seq>`.
#[derive(Debug)]
pub struct Stream {
    pub id: u32,
    buf: Mutex<StreamBuf>,
    wake: Notify,
}

#[derive(Debug)]
struct StreamBuf {
    events: VecDeque<(u64, Bytes)>,
    next: u64,
    finished: bool,
    keep: usize,
}

/// What a reader finds at its position in a stream.
#[derive(Debug)]
pub enum Next {
    Event(u64, Bytes),
    Finished,
}

impl Stream {
    pub fn new(id: u32, keep: usize) -> Arc<Self> {
        Arc::new(Self {
            id,
            buf: Mutex::new(StreamBuf {
                events: VecDeque::new(),
                next: 1,
                finished: false,
                keep,
            }),
            wake: Notify::new(),
        })
    }

    pub fn push(&self, event: Bytes) {
        self.push_and_finish(event, false);
    }

    /// Pushes `event`, and with `last` finishes the stream in the same step: a reader woken by
    /// the event must see a response and its end together, or it would answer a client that
    /// takes only JSON with an event stream.
    pub fn push_and_finish(&self, event: Bytes, last: bool) {
        {
            let mut buf = self.buf.lock();
            if buf.finished {
                return;
            }
            buf.finished = last;
            let seq = buf.next;
            buf.next += 1;
            buf.events.push_back((seq, event));
            if buf.events.len() > buf.keep {
                buf.events.pop_front();
            }
        }
        self.wake.notify_waiters();
    }

    pub fn finish(&self) {
        self.buf.lock().finished = true;
        self.wake.notify_waiters();
    }

    /// The first event after `after`, waiting up to `patience` for one.
    pub async fn next_after(&self, after: u64, patience: Duration) -> Option<Next> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let buf = self.buf.lock();
                if let Some((seq, event)) = buf.events.iter().find(|(seq, _)| *seq > after) {
                    return Some(Next::Event(*seq, event.clone()));
                }
                if buf.finished {
                    return Some(Next::Finished);
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }

    pub fn is_finished(&self) -> bool {
        self.buf.lock().finished
    }

    /// If the stream holds exactly one event and is finished: that event (a plain response).
    pub fn single(&self) -> Option<Bytes> {
        let buf = self.buf.lock();
        match (buf.finished, buf.events.len(), buf.events.front()) {
            (true, 1, Some((_, event))) => Some(event.clone()),
            _ => None,
        }
    }

    /// Waits until the stream has an event or is finished.
    pub async fn first(&self) {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let buf = self.buf.lock();
                if !buf.events.is_empty() || buf.finished {
                    return;
                }
            }
            notified.await;
        }
    }
}

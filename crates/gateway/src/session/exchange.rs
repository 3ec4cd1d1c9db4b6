//! One forwarded request on its way back: where its progress, the server's requests made on
//! its behalf and its response go, and what the history records of it.
//!
//! A session's request answers on its stream. A stateless (2026-07-28) request cannot be sent
//! server requests; its exchange hands them to [`Rounds`], which answers the client with an
//! `input_required` result, parks the exchange, and points it at the retry's stream when the
//! client comes back with the answers. Which upstream a request goes to is
//! [`crate::route`]'s; the session's tables (in flight, server requests) are [`Session`]'s.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use switchboard_mcp::era::Era;
use switchboard_mcp::jsonrpc::{self, Frame, Param, code};
use switchboard_mcp::upstream::{Delivery, Sink, Upstream, unanswerable};
use switchboard_model::ServerName;
use switchboard_model::api::{CallOutcome, CallRecord, SecretResults};

use super::inputs;
use super::rounds::{Asking, Handle, Rounds};
use super::{Session, Stream};
use crate::History;
use crate::leaks::Leaks;

/// What the history needs to know of a tool call when it starts.
#[derive(Debug)]
pub struct CallStart {
    pub history: History,
    pub client: Arc<str>,
    pub server: ServerName,
    pub tool: String,
    pub started: Instant,
    pub at_ms: i64,
    pub request_bytes: u64,
    /// Already redacted.
    pub arguments: Option<Value>,
    pub leaks: Arc<Leaks>,
    pub metrics: Arc<crate::metrics::Metrics>,
}

impl CallStart {
    /// The response as the client gets it: a result holding a credential redacted or
    /// withheld, as its server's setting says.
    /// `suspect` is [`Leaks::suspects`]'s word on it. A round of input a stateless server
    /// asks for passes as it is: its state is the server's, and its questions are not results.
    pub fn screen(&self, response: Frame, suspect: bool) -> Frame {
        if !suspect || inputs::asks_for_input(&response) {
            return response;
        }
        let mut value = response.to_value();
        if let Some(result) = value.get("result") {
            return match self.leaks.screen_result(&self.server, result) {
                Some(result) => {
                    value["result"] = result;
                    Frame::from_value(&value)
                }
                None => response,
            };
        }
        let redacts = self.leaks.setting(&self.server) != SecretResults::Allow;
        match redacts && !self.leaks.redact(&mut value["error"]).is_empty() {
            true => Frame::from_value(&value),
            false => response,
        }
    }

    /// Records the call, with what it carried redacted (`suspect` as for [`Self::screen`]).
    pub fn finish(self, response: &Frame, suspect: bool) {
        let mut value = response.to_value();
        if suspect {
            self.leaks.redact(&mut value);
        }
        let (outcome, error) = if let Some(error) = value.get("error") {
            (CallOutcome::Error, error["message"].as_str().map(str::to_owned))
        } else if value["result"]["isError"] == Value::Bool(true) {
            (CallOutcome::ToolError, None)
        } else {
            (CallOutcome::Ok, None)
        };
        let result = match (self.history.record_payloads, outcome) {
            (true, CallOutcome::Error) => None,
            (true, _) => Some(value["result"].take()),
            (false, _) => None,
        };
        self.record(outcome, error, response.len() as u64, result);
    }

    pub fn cancelled(self) {
        self.record(CallOutcome::Cancelled, None, 0, None);
    }

    fn record(self, outcome: CallOutcome, error: Option<String>, response_bytes: u64, result: Option<Value>) {
        let took = self.started.elapsed();
        self.metrics.call(&self.server, outcome, took);
        let duration_ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX);
        self.history.record(CallRecord {
            id: 0,
            at_ms: self.at_ms,
            client: self.client.to_string(),
            server: self.server.to_string(),
            tool: self.tool,
            duration_ms,
            outcome,
            error,
            request_bytes: self.request_bytes,
            response_bytes,
            arguments: self.arguments,
            result,
        });
    }
}

/// Where an exchange's messages go right now.
#[derive(Debug)]
pub(crate) struct Live {
    pub stream: Arc<Stream>,
    /// The client's id of the request being answered (the retry's, after a round of input).
    pub id: String,
    /// That request's progress token (raw JSON), if it gave one.
    pub progress: Option<String>,
}

/// An exchange is live, or parked while its client answers a round of input.
enum Reply {
    Live(Live),
    Parked {
        /// Its entry among the parked calls.
        handle: Handle,
        /// The response, if it came while parked: it waits for the retry.
        held: Option<Frame>,
    },
}

/// One forwarded request: where its progress, server requests and response go.
pub(crate) struct Exchange {
    me: Weak<Exchange>,
    session: Weak<Session>,
    upstream: Arc<Upstream>,
    /// The id it travels under upstream, once sent.
    upstream_id: AtomicU64,
    /// The session's id of the request: the key of its in-flight entry.
    id: String,
    call: Mutex<Option<CallStart>>,
    rewrite: Option<fn(Frame) -> Frame>,
    /// Set with the session's in-flight table locked, so `forward` never records an answered
    /// request as in flight (which would keep it, and its session, forever).
    pub answered: AtomicBool,
    reply: Mutex<Reply>,
    /// For a stateless request: where its server requests become rounds of input.
    asking: Option<Asking>,
    /// The request as the client sent it (routed), to send again with a round's answers.
    sent: Frame,
    /// Rounds of input a stateless server asked of a session's client for this call.
    rounds: AtomicU32,
}

impl Exchange {
    pub fn new(
        session: &Arc<Session>,
        upstream: Arc<Upstream>,
        sent: Frame,
        live: Live,
        call: Option<CallStart>,
        rewrite: Option<fn(Frame) -> Frame>,
    ) -> Arc<Self> {
        Arc::new_cyclic(|me| Self {
            me: me.clone(),
            session: Arc::downgrade(session),
            upstream,
            upstream_id: AtomicU64::new(0),
            id: live.id.clone(),
            call: Mutex::new(call),
            rewrite,
            answered: AtomicBool::new(false),
            reply: Mutex::new(Reply::Live(live)),
            asking: session.asking().cloned(),
            sent,
            rounds: AtomicU32::new(0),
        })
    }

    pub fn sent_as(&self, upstream_id: u64) {
        self.upstream_id.store(upstream_id, Ordering::Relaxed);
    }

    /// The id it travels under upstream now (a call sent again has a new one).
    pub fn upstream_id(&self) -> u64 {
        self.upstream_id.load(Ordering::Relaxed)
    }

    pub fn upstream(&self) -> &Arc<Upstream> {
        &self.upstream
    }

    /// The session the request came in (for a stateless one, the request's own).
    pub fn session(&self) -> Option<Arc<Session>> {
        self.session.upgrade()
    }

    /// The client's id of the request that started the call: its in-flight entry's key.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Stops sending to the client and takes where it was going, for a round of input
    /// under `handle`; none if it is parked already.
    pub fn park(&self, handle: Handle) -> Option<Live> {
        let mut reply = self.reply.lock();
        if let Reply::Parked { .. } = &*reply {
            return None;
        }
        match std::mem::replace(&mut *reply, Reply::Parked { handle, held: None }) {
            Reply::Live(live) => Some(live),
            Reply::Parked { .. } => None,
        }
    }

    /// Whether its response came while it was parked: the call is over.
    pub fn is_over(&self) -> bool {
        matches!(&*self.reply.lock(), Reply::Parked { held: Some(_), .. })
    }

    /// Where the exchange is parked, if it is.
    pub fn parked_as(&self) -> Option<Handle> {
        match &*self.reply.lock() {
            Reply::Parked { handle, .. } => Some(*handle),
            Reply::Live(_) => None,
        }
    }

    /// Sends to the client again, on the retry's stream; a response that came meanwhile
    /// goes there at once.
    pub fn resume(&self, live: Live) {
        let held = {
            let mut reply = self.reply.lock();
            match std::mem::replace(&mut *reply, Reply::Live(live)) {
                Reply::Parked { held, .. } => held,
                Reply::Live(_) => None,
            }
        };
        if let Some(response) = held {
            self.respond(response);
        }
    }

    /// The client's final answer: to its live stream (under the id of the request it
    /// answers), or held for the retry.
    pub fn respond(&self, response: Frame) {
        let mut reply = self.reply.lock();
        match &mut *reply {
            Reply::Live(live) => {
                let response = match self.asking.is_some() && live.id != self.id {
                    true => response.with_id(&live.id),
                    false => response,
                };
                // The legacy transport's one stream outlives every request.
                let last = live.stream.id != 0;
                live.stream.push_and_finish(response.into_bytes(), last);
            }
            Reply::Parked { held, .. } => *held = Some(response),
        }
    }

    /// Answers the client with an internal error and abandons the call.
    pub fn fail(&self, message: &str) {
        self.respond(jsonrpc::error_response(&self.id, code::INTERNAL, message));
        if let Some(exchange) = self.me.upgrade() {
            tokio::spawn(async move { exchange.abandon().await });
        }
    }

    /// Progress, log messages and requests to the client reach it live; a parked one has no
    /// stream to take them.
    pub(crate) fn notify(&self, frame: Frame) {
        let reply = self.reply.lock();
        let Reply::Live(live) = &*reply else { return };
        let frame = match (&live.progress, frame.progress_token()) {
            (Some(ours), Some(theirs)) if ours != theirs => frame.with_param(Param::ProgressToken, ours),
            // A retry that asked for no progress gets none of the first request's.
            (None, Some(_)) if live.id != self.id => return,
            _ => frame,
        };
        live.stream.push(frame.into_bytes());
    }

    /// Ends the request: its server is told, and no response will come.
    pub async fn abandon(&self) {
        self.upstream.cancel(self.upstream_id(), None).await;
    }

    /// Answers the server's request `ours` with an error: the client will not answer it.
    pub async fn decline(&self, ours: u64, message: &str) {
        let refusal = jsonrpc::error_response(&ours.to_string(), code::METHOD_NOT_FOUND, message);
        let _ = self.upstream.reply(ours, &refusal).await;
    }

    /// Ends a stateless request whose server asked for something its client did not declare
    /// it can give: the client gets -32021 naming the capability, the server a refusal.
    pub fn refuse(&self, ours: u64, required: Value) {
        let message = format!(
            "the server needs the client capability {required}, which this request's \
             io.modelcontextprotocol/clientCapabilities does not declare"
        );
        let Some(exchange) = self.me.upgrade() else { return };
        let error = Frame::from_value(&json!({
            "jsonrpc": "2.0",
            "id": 0,
            "error": {
                "code": code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                "message": message,
                "data": {"requiredCapabilities": required},
            },
        }));
        self.respond(error.with_id(&self.id));
        tokio::spawn(async move {
            exchange.decline(ours, &message).await;
            exchange.abandon().await;
        });
    }
}

impl Exchange {
    /// A server request that no client in flight declared it can answer, made during this
    /// call (the only one in flight): a stateless client is told which capability it lacks;
    /// otherwise the server is refused. Servers also ask for roots on their own (after a
    /// start, on a change), so a `roots/list` is refused without ending the call.
    fn unanswerable(&self, question: &Frame, id: u64) {
        let method = question.head().method.as_deref().unwrap_or_default().to_owned();
        let required = self
            .asking
            .as_ref()
            .filter(|_| method != "roots/list")
            .and(self.session.upgrade())
            .and_then(|session| session.lacks(question));
        if let Some(required) = required {
            return self.refuse(id, required);
        }
        let Some(exchange) = self.me.upgrade() else { return };
        let message = unanswerable(&method, self.upstream.server());
        tokio::spawn(async move { exchange.decline(id, &message).await });
    }
}

/// A stateless server's rounds of input, asked of a session's client ([`inputs`]).
impl Exchange {
    /// Counts a round of input; returns its number.
    pub fn next_round(&self) -> u32 {
        self.rounds.fetch_add(1, Ordering::Relaxed) + 1
    }

    /// Whether the client cancelled the call: its stream was ended without a response (the
    /// legacy transport's one stream never is; a response to a call it cancelled is ignored).
    fn is_cancelled(&self) -> bool {
        matches!(&*self.reply.lock(), Reply::Live(live) if live.stream.id != 0 && live.stream.is_finished())
    }

    /// Ends the call with `response`, as if the server had answered it.
    pub fn end(&self, response: Frame) {
        self.deliver(Delivery::Response(response));
    }

    /// Sends the call again with a round's `answers` and the server's `state`; its response
    /// comes here as the first one's would have. Nothing is sent for a call cancelled meanwhile.
    pub async fn send_again(&self, answers: Map<String, Value>, state: Option<Value>) {
        let Some(me) = self.me.upgrade() else { return };
        if self.is_cancelled() {
            return;
        }
        let mut request = self.sent.to_value();
        request["params"]["inputResponses"] = Value::Object(answers);
        if let Some(state) = state {
            request["params"]["requestState"] = state;
        }
        match self.upstream.forward(&Frame::from_value(&request), me).await {
            Ok(upstream_id) => self.sent_as(upstream_id),
            Err(e) => self.end(jsonrpc::error_response(
                &self.id,
                code::SERVER_UNAVAILABLE,
                &e.to_string(),
            )),
        }
    }
}

impl Exchange {
    /// A stateless server's response as a stateless client gets it: its `requestState`, if
    /// it asks for input, wrapped so only this client can bring it back, with this request.
    fn relayed(&self, response: Frame) -> Frame {
        let Some(asking) = &self.asking else {
            return response;
        };
        let carries_state = response
            .head()
            .result
            .is_some_and(|r| r.get().contains("\"requestState\""));
        if !carries_state || self.upstream.era() != Era::Stateless {
            return response;
        }
        let mut value = response.to_value();
        let Some(state) = value["result"]["requestState"].as_str() else {
            return response;
        };
        // The request's own session lives as long as the request: its client is known.
        let wrapped = match self.session.upgrade() {
            Some(session) => asking.rounds.wrap(&session.client(), &asking.binding, state),
            None => return jsonrpc::error_response(&self.id, code::INTERNAL, "the request has ended"),
        };
        match wrapped {
            Ok(wrapped) => {
                value["result"]["requestState"] = Value::from(wrapped);
                Frame::from_value(&value)
            }
            Err(e) => jsonrpc::error_response(&self.id, code::INTERNAL, &e.to_string()),
        }
    }
}

impl Sink for Exchange {
    fn deliver(&self, delivery: Delivery) {
        match delivery {
            Delivery::Notification(frame) => match &self.asking {
                // A server withdrawing a question: it is not asked again.
                Some(asking) if frame.head().method.as_deref() == Some("notifications/cancelled") => {
                    let withdrawn = frame.param(Param::RequestId).and_then(|id| id.parse().ok());
                    if let Some(id) = withdrawn {
                        asking.rounds.withdraw(self, id);
                    }
                }
                _ => {
                    if self.session.upgrade().is_none_or(|session| session.wants(&frame)) {
                        self.notify(frame);
                    }
                }
            },
            Delivery::Request { frame, id } => match (&self.asking, self.me.upgrade()) {
                (Some(asking), Some(me)) => Rounds::ask(asking, me, frame, id),
                _ => {
                    if let Some(session) = self.session.upgrade() {
                        session.note_server_request(id, Arc::clone(&self.upstream));
                    }
                    self.notify(frame);
                }
            },
            Delivery::Unanswerable { frame, id } => self.unanswerable(&frame, id),
            Delivery::Response(frame) => {
                let session = self.session.upgrade();
                if self.asking.is_none()
                    && self.upstream.era() == Era::Stateless
                    && inputs::asks_for_input(&frame)
                    && let (Some(me), Some(session)) = (self.me.upgrade(), &session)
                {
                    return inputs::ask(me, session, &frame);
                }
                if let Some(session) = session {
                    session.answered(&self.id, &self.answered);
                }
                let call = self.call.lock().take();
                let frame = match call {
                    Some(call) => {
                        let suspect = call.leaks.suspects(frame.bytes());
                        let screened = call.screen(frame.clone(), suspect);
                        call.finish(&frame, suspect);
                        screened
                    }
                    None => frame,
                };
                let frame = match self.rewrite {
                    Some(rewrite) => rewrite(frame),
                    None => frame,
                };
                self.respond(self.relayed(frame));
            }
        }
    }

    fn accepts(&self, method: &str) -> bool {
        self.session.upgrade().is_some_and(|s| match &self.asking {
            // A stateless request's client is asked in rounds of input, for what it declared.
            Some(_) => s.declares(method),
            None => s.accepts(method),
        })
    }
}

impl Exchange {
    /// Drops the call's history record: the request was never sent.
    pub(crate) fn forget_call(&self) {
        self.call.lock().take();
    }
}

impl Drop for Exchange {
    fn drop(&mut self) {
        // Dropped without a response: cancelled by the client, or its session ended.
        if let Some(call) = self.call.lock().take() {
            call.cancelled();
        }
    }
}

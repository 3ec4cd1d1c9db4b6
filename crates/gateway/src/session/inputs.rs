//! Multi round-trip requests (2026-07-28) from stateless servers, for session clients.
//!
//! A stateless server that needs its client's input mid-call answers `input_required`:
//! questions under keys of its own, and a `requestState`. A session-era client expects to be
//! asked instead. So each question becomes a server-to-client request on the call's stream,
//! under an id unique across servers; when the last is answered, the call is sent again with
//! the answers under their keys and the server's state, and its response (or the next round)
//! reaches the client as if the call had never paused. A client's error to a question ends
//! the call with that error.
//!
//! The other direction (a session-era server asking a stateless client) is [`super::rounds`]'s.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use switchboard_mcp::jsonrpc::{self, Frame, code};
use switchboard_mcp::upstream::next_server_request_id;

use super::Session;
use super::exchange::Exchange;
use super::rounds::{INPUTS, ROUNDS};

/// Whether `response` asks for input: a result whose `resultType` is `input_required`.
pub(crate) fn asks_for_input(response: &Frame) -> bool {
    response.head().result.is_some_and(|r| {
        r.get().contains("\"input_required\"")
            && serde_json::from_str::<Value>(r.get()).is_ok_and(|r| r["resultType"] == "input_required")
    })
}

/// One round of questions asked of a session's client for a call of `exchange`.
pub(crate) struct InputRound {
    exchange: Arc<Exchange>,
    session: Weak<Session>,
    asked: Mutex<Asked>,
    state: Option<Value>,
}

/// What the client was asked and has answered, under one lock: the last answer, or the
/// first error, is decided once.
#[derive(Default)]
struct Asked {
    /// The keys of the questions not yet answered, by the id the client was asked under.
    open: HashMap<u64, String>,
    answers: Map<String, Value>,
    /// An error ended the round, or its last answer sent the call again.
    done: bool,
}

impl std::fmt::Debug for InputRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputRound")
            .field("open", &self.asked.lock().open.len())
            .finish_non_exhaustive()
    }
}

/// Asks `session`'s client the questions of `response`, an `input_required` result to the
/// call of `exchange`; with none to ask, sends the call again at once. A question the client
/// cannot be asked (one it did not declare, or no question at all) ends the call.
pub(crate) fn ask(exchange: Arc<Exchange>, session: &Arc<Session>, response: &Frame) {
    let server = exchange.upstream().server().clone();
    if exchange.next_round() > ROUNDS {
        let message = format!("server {server} asked for input {ROUNDS} rounds in a row; the call was ended");
        return exchange.end(jsonrpc::error_response(exchange.id(), code::INTERNAL, &message));
    }
    let mut result = response.to_value()["result"].take();
    let questions = match result["inputRequests"].take() {
        Value::Object(questions) => questions,
        _ => Map::new(),
    };
    let mut open = HashMap::new();
    let mut frames = Vec::new();
    for (key, question) in questions {
        let id = next_server_request_id();
        let frame = Frame::from_value(&json!({
            "jsonrpc": "2.0",
            "id": id,
            "method": question["method"],
            "params": question["params"],
        }));
        if let Err(error) = askable(session, &frame, &server) {
            return exchange.end(error.with_id(exchange.id()));
        }
        frames.push(frame);
        open.insert(id, key);
    }
    let round = Arc::new(InputRound {
        exchange,
        session: Arc::downgrade(session),
        asked: Mutex::new(Asked {
            open,
            ..Asked::default()
        }),
        state: result.get_mut("requestState").map(Value::take),
    });
    if frames.is_empty() {
        tokio::spawn(async move { round.send_again(Map::new()).await });
        return;
    }
    for frame in frames {
        let id = frame
            .head()
            .id
            .and_then(|id| id.get().parse().ok())
            .unwrap_or_default();
        session.note_input(id, Arc::clone(&round));
        round.exchange.notify(frame);
    }
}

/// Whether `question` may be asked of `session`'s client: one of the requests a server makes
/// of clients, and one the client declared; else the error that ends the call.
fn askable(session: &Session, question: &Frame, server: &switchboard_model::ServerName) -> Result<(), Frame> {
    let method = question.head().method.as_deref().unwrap_or_default().to_owned();
    if !INPUTS.contains(&method.as_str()) {
        let message =
            format!("server {server} asked for input with {method:?}, which is not a request to a client");
        return Err(jsonrpc::error_response("0", code::INTERNAL, &message));
    }
    if let Some(required) = session.lacks(question) {
        let error = json!({
            "jsonrpc": "2.0",
            "id": 0,
            "error": {
                "code": code::MISSING_REQUIRED_CLIENT_CAPABILITY,
                "message": format!("server {server} needs the client capability {required}, which this session did not declare"),
                "data": {"requiredCapabilities": required},
            },
        });
        return Err(Frame::from_value(&error));
    }
    Ok(())
}

impl InputRound {
    /// The client's answer to the question it was asked as `id`.
    pub(crate) async fn answer(&self, id: u64, response: &Frame) {
        let mut value = response.to_value();
        let outcome = {
            let mut asked = self.asked.lock();
            if asked.done {
                return;
            }
            let Some(key) = asked.open.remove(&id) else { return };
            if let Some(error) = value.get("error") {
                asked.done = true;
                Err(error.clone())
            } else {
                asked.answers.insert(key, value["result"].take());
                asked.done = asked.open.is_empty();
                Ok(asked.done.then(|| std::mem::take(&mut asked.answers)))
            }
        };
        match outcome {
            Ok(Some(answers)) => self.send_again(answers).await,
            Ok(None) => {}
            Err(error) => self.refused(&error),
        }
    }

    /// The client answered a question with an error: the call ends with it, and the round's
    /// other questions are forgotten.
    fn refused(&self, error: &Value) {
        let open: Vec<u64> = self.asked.lock().open.drain().map(|(id, _)| id).collect();
        if let Some(session) = self.session.upgrade() {
            session.forget_inputs(&open);
        }
        let message = format!(
            "the client refused input server {} asked for: {}",
            self.exchange.upstream().server(),
            error["message"].as_str().unwrap_or_default()
        );
        let code = error["code"].as_i64().unwrap_or(code::INTERNAL);
        self.exchange
            .end(jsonrpc::error_response(self.exchange.id(), code, &message));
    }

    /// The call again, with this round's answers and the server's state.
    async fn send_again(&self, answers: Map<String, Value>) {
        self.exchange.send_again(answers, self.state.clone()).await;
    }
}

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
use std::sync::Arc;

use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use switchboard_mcp::jsonrpc::{self, Frame, code};
use switchboard_mcp::upstream::next_server_request_id;

use super::Session;
use super::exchange::Exchange;

/// Rounds one call may take before the gateway stops asking its client.
const ROUNDS: u32 = 16;

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
    /// The keys of the questions not yet answered, by the id the client was asked under.
    open: Mutex<HashMap<u64, String>>,
    answers: Mutex<Map<String, Value>>,
    state: Option<Value>,
}

impl std::fmt::Debug for InputRound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InputRound")
            .field("open", &self.open.lock().len())
            .finish_non_exhaustive()
    }
}

/// Asks `session`'s client the questions of `response`, an `input_required` result to the
/// call of `exchange`; with none to ask, sends the call again at once.
pub(crate) fn ask(exchange: Arc<Exchange>, session: &Session, response: &Frame) {
    if exchange.next_round() > ROUNDS {
        let message = format!(
            "server {} asked for input {ROUNDS} rounds in a row; the call was ended",
            exchange.upstream().server()
        );
        return exchange.end(jsonrpc::error_response(exchange.id(), code::INTERNAL, &message));
    }
    let mut result = response.to_value()["result"].take();
    let questions = match result["inputRequests"].take() {
        Value::Object(questions) => questions,
        _ => Map::new(),
    };
    let state = result.get_mut("requestState").map(Value::take);
    let mut open = HashMap::new();
    let mut frames = Vec::new();
    for (key, question) in questions {
        let id = next_server_request_id();
        let frame =
            json!({"jsonrpc": "2.0", "id": id, "method": question["method"], "params": question["params"]});
        frames.push(Frame::from_value(&frame));
        open.insert(id, key);
    }
    let round = Arc::new(InputRound {
        exchange,
        open: Mutex::new(open),
        answers: Mutex::default(),
        state,
    });
    if frames.is_empty() {
        tokio::spawn(async move { round.send_again().await });
        return;
    }
    for id in round.open.lock().keys() {
        session.note_input(*id, Arc::clone(&round));
    }
    for frame in frames {
        round.exchange.ask(frame);
    }
}

impl InputRound {
    /// The client's answer to the question it was asked as `id`.
    pub(crate) async fn answer(&self, id: u64, response: &Frame) {
        let Some(key) = self.open.lock().remove(&id) else {
            return;
        };
        let mut value = response.to_value();
        if let Some(error) = value.get("error") {
            let message = format!(
                "the client refused input server {} asked for: {}",
                self.exchange.upstream().server(),
                error["message"].as_str().unwrap_or_default()
            );
            let code = error["code"].as_i64().unwrap_or(code::INTERNAL);
            self.open.lock().clear();
            return self
                .exchange
                .end(jsonrpc::error_response(self.exchange.id(), code, &message));
        }
        self.answers.lock().insert(key, value["result"].take());
        if self.open.lock().is_empty() {
            self.send_again().await;
        }
    }

    /// The call again, with this round's answers and the server's state.
    async fn send_again(&self) {
        let answers = std::mem::take(&mut *self.answers.lock());
        self.exchange.send_again(answers, self.state.clone()).await;
    }
}

//! Multi round-trip requests (2026-07-28) in front of session-era servers.
//!
//! A session-era server asks its client mid-call (`elicitation/create`,
//! `sampling/createMessage`, `roots/list`); a 2026-07-28 client cannot be sent requests, and
//! expects an `input_required` result instead, then retries the call with the answers. This
//! module joins the two: the first server request of a stateless call parks the call (its
//! upstream request stays pending) and answers the client with every open question under a
//! key of its own, plus a `requestState`. The retry, on any connection, delivers the answers
//! to the waiting server and points the call at the retry's stream; questions still open, or
//! asked meanwhile, make another round.
//!
//! `requestState` is an HMAC-SHA256-sealed handle to the parked call, the round it answers
//! and its expiry, under a key drawn at each start (parked calls live in memory, so a state
//! cannot outlive them). The table behind it binds each call to the client that made it and
//! to the method, endpoint and arguments it was made with, and accepts each round's state
//! once. Parked calls are bounded in number, per client and in all, and in time: an
//! unanswered one is ended, its questions declined and its server told.
//!
//! What the exchange does with its messages is [`super::exchange`]'s; the HTTP side of a
//! retry is [`crate::http`]'s.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};
use switchboard_local::token::{RandomError, random_bytes};
use switchboard_mcp::jsonrpc::{self, Frame};
use switchboard_model::now_millis;
use tokio::task::JoinHandle;

use super::exchange::{Exchange, Live};
use super::{Session, Target};

/// The requests that may answer `input_required` (the revision's MRTR pattern).
pub const PARKABLE: [&str; 3] = ["tools/call", "prompts/get", "resources/read"];
/// Calls one client may have waiting for its input; a new one ends its oldest.
const PER_CLIENT: usize = 32;
/// Calls waiting for input in all.
const IN_ALL: usize = 1024;
/// Questions one call may have open; the server's next one is declined.
const QUESTIONS: usize = 16;
/// Rounds one call may take; a client that keeps retrying without the answers is cut off.
pub(crate) const ROUNDS: u32 = 16;
/// The longest `requestState` of a 2026-07-28 server the gateway relays.
const RELAYED_STATE: usize = 64 * 1024;
/// What a server may ask a 2026-07-28 client, in `inputRequests`.
pub(crate) const INPUTS: [&str; 3] = ["elicitation/create", "sampling/createMessage", "roots/list"];

/// A parked call's key: 16 random bytes.
pub type Handle = [u8; 16];
type Seal = Hmac<Sha256>;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RoundError {
    #[error(
        "invalid requestState: it was not issued by this gateway or was changed; send the request again without it"
    )]
    Tampered,
    #[error(
        "expired requestState: the call waited longer than it may for the client's input, or the gateway restarted; send the request again without it"
    )]
    Expired,
    #[error(
        "stale requestState: that round was answered already; retry with the state of the latest input_required result"
    )]
    Replayed,
    #[error(
        "requestState belongs to another request: retry with the same method, endpoint and arguments as the request that received it"
    )]
    Mismatch,
    #[error(
        "the server's requestState is longer than {RELAYED_STATE} bytes, more than the gateway relays; the server should keep less in it"
    )]
    Oversized,
    #[error("params.inputResponses must be an object of results, one per key of inputRequests")]
    Responses,
    #[error(
        "the call was ended after {ROUNDS} rounds that left its questions unanswered; send the request again without requestState"
    )]
    Unanswered,
}

/// What a parked call was asked with: its method, and a digest of the endpoint, name or
/// URI and arguments. A retry must present the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    method: String,
    digest: [u8; 32],
}

impl Binding {
    /// The binding of `request` to `target`. Only requests that may ask for input have a
    /// state to bind; the others skip the digest (it is on every list's path).
    pub fn of(target: &Target, request: &Value) -> Self {
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        if !PARKABLE.contains(&method.as_str()) {
            return Self {
                method,
                digest: [0; 32],
            };
        }
        let params = &request["params"];
        let endpoint = match target {
            Target::Server(name) => name.as_str(),
            Target::Aggregate => "",
        };
        let mut hash = Sha256::new();
        for part in [
            method.as_str(),
            endpoint,
            params["name"].as_str().unwrap_or_default(),
            params["uri"].as_str().unwrap_or_default(),
        ] {
            hash.update(part.as_bytes());
            hash.update([0]);
        }
        hash.update(canonical(&params["arguments"]).as_bytes());
        Self {
            method,
            digest: hash.finalize().into(),
        }
    }
}

/// `value` as JSON with every object's keys in order, so arguments hash alike however a
/// client orders them.
pub(crate) fn canonical(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let members: Vec<String> = keys
                .into_iter()
                .map(|key| format!("{}:{}", Value::from(key.as_str()), canonical(&map[key])))
                .collect();
            format!("{{{}}}", members.join(","))
        }
        Value::Array(items) => format!("[{}]", items.iter().map(canonical).collect::<Vec<_>>().join(",")),
        other => other.to_string(),
    }
}

/// What a stateless request's exchange needs to park: the table, and what binds it.
#[derive(Clone, Debug)]
pub struct Asking {
    pub rounds: Arc<Rounds>,
    pub binding: Arc<Binding>,
}

/// A server request waiting for the client's answer.
struct Question {
    /// Its id as the upstream delivered it (see `Upstream::reply`).
    id: u64,
    /// `{method, params}`, as `inputRequests` carries it.
    request: Value,
}

/// A call waiting for its client's next round.
struct Parked {
    client: Arc<str>,
    binding: Arc<Binding>,
    /// The round whose state the client holds.
    round: u32,
    /// Open questions by key.
    questions: BTreeMap<String, Question>,
    /// Keys minted so far.
    minted: u32,
    exchange: Arc<Exchange>,
    /// The request's own session: its in-flight entry and log level live on for the retry.
    session: Arc<Session>,
    born: Instant,
    expiry: Option<JoinHandle<()>>,
}

impl Parked {
    fn add(&mut self, id: u64, question: &Frame) {
        let mut request = question.to_value();
        let method = request["method"].as_str().unwrap_or_default().to_owned();
        let prefix = match method.as_str() {
            "sampling/createMessage" => "sampling",
            "roots/list" => "roots",
            _ => "elicitation",
        };
        self.minted += 1;
        let key = format!("{prefix}_{}", self.minted);
        let mut asked = Map::new();
        asked.insert("method".into(), Value::from(method));
        if let Some(params) = request.get_mut("params") {
            asked.insert("params".into(), params.take());
        }
        self.questions.insert(
            key,
            Question {
                id,
                request: Value::Object(asked),
            },
        );
    }
}

/// The calls of stateless clients that wait for their input.
pub struct Rounds {
    me: Weak<Rounds>,
    /// HMAC-SHA256 key, one block long.
    key: [u8; 64],
    /// How long a call waits for each round of input.
    wait: Duration,
    table: Mutex<HashMap<Handle, Parked>>,
}

impl std::fmt::Debug for Rounds {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("Rounds")
            .field("wait", &self.wait)
            .field("parked", &self.table.lock().len())
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Parked {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Parked")
            .field("client", &self.client)
            .field("round", &self.round)
            .finish_non_exhaustive()
    }
}

/// A retry that reached its call: the call's session and id, which closing the retry's
/// stream cancels.
#[derive(Debug)]
pub struct Resumed {
    pub session: Arc<Session>,
    pub id: String,
}

impl Rounds {
    pub fn new(wait: Duration) -> Result<Arc<Self>, RandomError> {
        let key = random_bytes::<64>()?;
        Ok(Arc::new_cyclic(|me| Self {
            me: me.clone(),
            key,
            wait,
            table: Mutex::default(),
        }))
    }

    /// A server request `question` (delivered as `id`) met by a stateless call: asked of the
    /// client in this round or the next, or refused if the client cannot answer it.
    pub(crate) fn ask(asking: &Asking, exchange: Arc<Exchange>, question: Frame, id: u64) {
        let Some(session) = exchange.session() else {
            let message = "the client's request has ended";
            tokio::spawn(async move { exchange.decline(id, message).await });
            return;
        };
        if let Some(required) = session.lacks(&question) {
            return exchange.refuse(id, required);
        }
        let method = question.head().method.as_deref().unwrap_or_default().to_owned();
        if !INPUTS.contains(&method.as_str()) {
            let message = format!("a 2026-07-28 client cannot be asked {method}");
            tokio::spawn(async move { exchange.decline(id, &message).await });
            return;
        }
        if !PARKABLE.contains(&asking.binding.method.as_str()) {
            let message = format!(
                "a 2026-07-28 client is asked for input only during {}; not during {}",
                PARKABLE.join(", "),
                asking.binding.method
            );
            tokio::spawn(async move { exchange.decline(id, &message).await });
            return;
        }
        asking.rounds.put(asking, exchange, session, &question, id);
    }

    fn put(
        &self,
        asking: &Asking,
        exchange: Arc<Exchange>,
        session: Arc<Session>,
        question: &Frame,
        id: u64,
    ) {
        let mut table = self.table.lock();
        if let Some(handle) = exchange.parked_as() {
            match table.get_mut(&handle) {
                Some(parked) if parked.questions.len() < QUESTIONS => parked.add(id, question),
                _ => {
                    let message = "the client has too many questions open, or stopped answering";
                    tokio::spawn(async move { exchange.decline(id, message).await });
                }
            }
            return;
        }
        let handle = match random_bytes::<16>() {
            Ok(handle) => handle,
            Err(e) => {
                drop(table);
                let message = format!("cannot park the call for the client's input: {e}");
                return exchange.fail(&message);
            }
        };
        let Some(live) = exchange.park(handle) else { return };
        for old in self.crowded(&mut table, &session.client()) {
            self.retire(old, "the client has too many calls waiting for its input");
        }
        let mut parked = Parked {
            client: session.client(),
            binding: Arc::clone(&asking.binding),
            round: 0,
            questions: BTreeMap::new(),
            minted: 0,
            exchange,
            session,
            born: Instant::now(),
            expiry: None,
        };
        parked.add(id, question);
        let result = self.next_round(handle, &mut parked, &live.id);
        table.insert(handle, parked);
        drop(table);
        live.stream.push_and_finish(result.into_bytes(), true);
    }

    /// The server withdrew its question `id` to a parked call: it is not asked again.
    pub(crate) fn withdraw(&self, exchange: &Exchange, id: u64) {
        let Some(handle) = exchange.parked_as() else {
            return;
        };
        if let Some(parked) = self.table.lock().get_mut(&handle) {
            parked.questions.retain(|_, question| question.id != id);
        }
    }

    /// The oldest calls to end so that one more of `client`'s fits.
    /// Ends every call of `client` that waits for its input (its token was revoked).
    pub(crate) fn end_client(&self, client: &str) {
        let ended: Vec<Parked> = {
            let mut table = self.table.lock();
            let handles: Vec<Handle> = table
                .iter()
                .filter(|(_, parked)| &*parked.client == client)
                .map(|(handle, _)| *handle)
                .collect();
            handles.iter().filter_map(|handle| table.remove(handle)).collect()
        };
        for parked in ended {
            self.retire(parked, "the client's token was revoked");
        }
    }

    fn crowded(&self, table: &mut HashMap<Handle, Parked>, client: &str) -> Vec<Parked> {
        let mut ended = Vec::new();
        loop {
            let mine = table.values().filter(|p| &*p.client == client).count();
            let scope: Option<&str> = match (mine >= PER_CLIENT, table.len() >= IN_ALL) {
                (true, _) => Some(client),
                (false, true) => None,
                (false, false) => return ended,
            };
            let oldest = table
                .iter()
                .filter(|(_, p)| scope.is_none_or(|c| &*p.client == c))
                .min_by_key(|(_, p)| p.born)
                .map(|(handle, _)| *handle);
            match oldest.and_then(|handle| table.remove(&handle)) {
                Some(parked) => ended.push(parked),
                None => return ended,
            }
        }
    }

    /// Opens the next round: a new state, and the `input_required` result that asks every
    /// open question, answering the client's request `id`.
    fn next_round(&self, handle: Handle, parked: &mut Parked, id: &str) -> Frame {
        parked.round += 1;
        if let Some(expiry) = parked.expiry.take() {
            expiry.abort();
        }
        let rounds = self.me.clone();
        let (wait, round) = (self.wait, parked.round);
        parked.expiry = Some(tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            if let Some(rounds) = rounds.upgrade() {
                rounds.expire(handle, round);
            }
        }));
        let expires = u64::try_from(now_millis())
            .unwrap_or_default()
            .saturating_add(u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX));
        let requests: Map<String, Value> = parked
            .questions
            .iter()
            .map(|(key, question)| (key.clone(), question.request.clone()))
            .collect();
        let result = json!({
            "resultType": "input_required",
            "inputRequests": requests,
            "requestState": self.seal(handle, parked.round, expires),
        });
        jsonrpc::result_response(id, &result.to_string())
    }

    /// A retry carrying `params.requestState`: its answers go to the waiting server and the
    /// call answers on `live`, or another round of questions does.
    pub(crate) async fn resume(
        &self,
        client: &str,
        binding: &Binding,
        params: &Value,
        live: Live,
    ) -> Result<Resumed, RoundError> {
        let state = params["requestState"].as_str().ok_or(RoundError::Tampered)?;
        let (handle, round) = self.open(state)?;
        let responses = match &params["inputResponses"] {
            Value::Null => &Map::new(),
            Value::Object(responses) if responses.values().all(Value::is_object) => responses,
            _ => return Err(RoundError::Responses),
        };
        let (exchange, resumed, answers) = {
            let mut table = self.table.lock();
            let parked = table.get_mut(&handle).ok_or(RoundError::Expired)?;
            if parked.round != round {
                return Err(RoundError::Replayed);
            }
            if &*parked.client != client || *parked.binding != *binding {
                return Err(RoundError::Mismatch);
            }
            let mut answers = Vec::new();
            parked.questions.retain(|key, question| match responses.get(key) {
                Some(answer) => {
                    answers.push((question.id, answer.clone()));
                    false
                }
                None => true,
            });
            let resumed = Resumed {
                session: Arc::clone(&parked.session),
                id: parked.exchange.id().to_owned(),
            };
            let exchange = Arc::clone(&parked.exchange);
            if !parked.questions.is_empty() && !exchange.is_over() && parked.round >= ROUNDS {
                if let Some(parked) = table.remove(&handle) {
                    self.retire(
                        parked,
                        "the client left its questions unanswered round after round",
                    );
                }
                return Err(RoundError::Unanswered);
            }
            // Answered, or over (the server answered meanwhile): the call answers the retry.
            if parked.questions.is_empty() || exchange.is_over() {
                if let Some(mut parked) = table.remove(&handle)
                    && let Some(expiry) = parked.expiry.take()
                {
                    expiry.abort();
                }
                exchange.resume(live);
            } else {
                let result = self.next_round(handle, parked, &live.id);
                live.stream.push_and_finish(result.into_bytes(), true);
            }
            (exchange, resumed, answers)
        };
        for (id, answer) in answers {
            let response = jsonrpc::result_response(&id.to_string(), &answer.to_string());
            let _ = exchange.upstream().reply(id, &response).await;
        }
        Ok(resumed)
    }

    /// Ends the call parked under `handle` if it still waits for `round`.
    fn expire(&self, handle: Handle, round: u32) {
        let mut table = self.table.lock();
        if table.get(&handle).is_some_and(|parked| parked.round == round)
            && let Some(parked) = table.remove(&handle)
        {
            drop(table);
            let waited = self.wait.as_secs();
            self.retire(parked, &format!("the client did not answer within {waited} s"));
        }
    }

    /// Ends a parked call: its open questions are declined (an elicitation cancelled) and its
    /// server is told the call is abandoned.
    fn retire(&self, mut parked: Parked, why: &str) {
        if let Some(expiry) = parked.expiry.take() {
            expiry.abort();
        }
        let why = why.to_owned();
        tokio::spawn(async move {
            parked.exchange.abandon().await;
            for question in parked.questions.values() {
                if question.request["method"] == "elicitation/create" {
                    let cancel = jsonrpc::result_response(&question.id.to_string(), r#"{"action":"cancel"}"#);
                    let _ = parked.exchange.upstream().reply(question.id, &cancel).await;
                } else {
                    parked.exchange.decline(question.id, &why).await;
                }
            }
            tracing::debug!(client = %parked.client, "a call waiting for input ended: {why}");
        });
    }

    /// A 2026-07-28 server's own `requestState`, as its client gets it: bound to `client` and
    /// `binding` under the gateway's key, for as long as a parked call may wait. The server
    /// protects what is inside; the seal keeps one client from replaying another's.
    pub(crate) fn wrap(&self, client: &str, binding: &Binding, state: &str) -> Result<String, RoundError> {
        if state.len() > RELAYED_STATE {
            return Err(RoundError::Oversized);
        }
        let expires = u64::try_from(now_millis())
            .unwrap_or_default()
            .saturating_add(u64::try_from(self.wait.as_millis()).unwrap_or(u64::MAX));
        let mut body = expires.to_be_bytes().to_vec();
        body.extend_from_slice(state.as_bytes());
        let mac = self.relay_mac(client, binding, &body).finalize().into_bytes();
        Ok(format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(body),
            URL_SAFE_NO_PAD.encode(mac)
        ))
    }

    /// The server's own state inside `state`, if `state` is one [`Rounds::wrap`] made
    /// (rather than one of a call parked here); an error if it was changed, has lapsed, or
    /// was made for another client or request.
    pub(crate) fn unwrap(
        &self,
        client: &str,
        binding: &Binding,
        state: &str,
    ) -> Option<Result<String, RoundError>> {
        let (body, mac) = state.split_once('.')?;
        Some(self.open_relayed(client, binding, body, mac))
    }

    fn open_relayed(
        &self,
        client: &str,
        binding: &Binding,
        body: &str,
        mac: &str,
    ) -> Result<String, RoundError> {
        let body = URL_SAFE_NO_PAD.decode(body).map_err(|_| RoundError::Tampered)?;
        let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| RoundError::Tampered)?;
        // Changed, or made for another client or request: either way not this one's.
        self.relay_mac(client, binding, &body)
            .verify_slice(&mac)
            .map_err(|_| RoundError::Tampered)?;
        let (expires, inner) = body.split_at_checked(8).ok_or(RoundError::Tampered)?;
        let expires = u64::from_be_bytes(expires.try_into().map_err(|_| RoundError::Tampered)?);
        if u64::try_from(now_millis()).unwrap_or_default() > expires {
            return Err(RoundError::Expired);
        }
        String::from_utf8(inner.to_vec()).map_err(|_| RoundError::Tampered)
    }

    fn relay_mac(&self, client: &str, binding: &Binding, body: &[u8]) -> Seal {
        let mut mac = self.mac(b"relayed\0");
        for part in [client.as_bytes(), binding.method.as_bytes(), &binding.digest] {
            Mac::update(&mut mac, part);
            Mac::update(&mut mac, &[0]);
        }
        Mac::update(&mut mac, body);
        mac
    }

    fn seal(&self, handle: Handle, round: u32, expires: u64) -> String {
        let mut token = Vec::with_capacity(60);
        token.extend_from_slice(&handle);
        token.extend_from_slice(&round.to_be_bytes());
        token.extend_from_slice(&expires.to_be_bytes());
        let mac = self.parked_mac(&token).finalize().into_bytes();
        token.extend_from_slice(&mac);
        URL_SAFE_NO_PAD.encode(token)
    }

    /// The handle and round a state names, if this gateway sealed it and it has not lapsed.
    fn open(&self, state: &str) -> Result<(Handle, u32), RoundError> {
        let token = URL_SAFE_NO_PAD.decode(state).map_err(|_| RoundError::Tampered)?;
        if token.len() != 60 {
            return Err(RoundError::Tampered);
        }
        let (body, mac) = token.split_at(28);
        self.parked_mac(body)
            .verify_slice(mac)
            .map_err(|_| RoundError::Tampered)?;
        let field = |range: std::ops::Range<usize>| body.get(range).unwrap_or_default();
        let handle: Handle = field(0..16).try_into().map_err(|_| RoundError::Tampered)?;
        let round = u32::from_be_bytes(field(16..20).try_into().map_err(|_| RoundError::Tampered)?);
        let expires = u64::from_be_bytes(field(20..28).try_into().map_err(|_| RoundError::Tampered)?);
        if u64::try_from(now_millis()).unwrap_or_default() > expires {
            return Err(RoundError::Expired);
        }
        Ok((handle, round))
    }

    /// The MAC of a parked call's state; [`Rounds::relay_mac`] is labelled apart from it.
    fn parked_mac(&self, body: &[u8]) -> Seal {
        let mut mac = self.mac(b"parked\0");
        Mac::update(&mut mac, body);
        mac
    }

    fn mac(&self, label: &[u8]) -> Seal {
        let mut mac = <Seal as KeyInit>::new(&self.key.into());
        Mac::update(&mut mac, label);
        mac
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_model::ServerName;

    #[test]
    fn a_state_opens_only_as_sealed_and_until_it_lapses() {
        let rounds = Rounds::new(Duration::from_secs(60)).unwrap();
        let later = u64::try_from(now_millis()).unwrap() + 60_000;
        let state = rounds.seal([7; 16], 3, later);
        assert_eq!(rounds.open(&state).unwrap(), ([7; 16], 3));
        let mut changed = state.clone().into_bytes();
        changed[5] = if changed[5] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert!(matches!(rounds.open(&changed), Err(RoundError::Tampered)));
        assert!(matches!(rounds.open("not a state"), Err(RoundError::Tampered)));
        let other = Rounds::new(Duration::from_secs(60)).unwrap();
        assert!(
            matches!(other.open(&state), Err(RoundError::Tampered)),
            "another start's key"
        );
        let lapsed = rounds.seal([7; 16], 3, later - 120_000);
        assert!(matches!(rounds.open(&lapsed), Err(RoundError::Expired)));
        assert!(
            !format!("{rounds:?}").contains(&format!("{:?}", rounds.key)),
            "no key in Debug"
        );
    }

    #[test]
    fn a_servers_state_is_relayed_only_to_its_client_for_its_request_unchanged() {
        let rounds = Rounds::new(Duration::from_secs(60)).unwrap();
        let target = Target::Server(ServerName::new("s").unwrap());
        let call = |x: i64| {
            let request = json!({"method": "tools/call", "params": {"name": "t", "arguments": {"x": x}}});
            Binding::of(&target, &request)
        };
        let state = rounds.wrap("alice", &call(1), "opaque-ÿ.state").unwrap();
        assert_eq!(
            rounds.unwrap("alice", &call(1), &state).unwrap().unwrap(),
            "opaque-ÿ.state"
        );
        assert!(matches!(
            rounds.unwrap("bob", &call(1), &state),
            Some(Err(RoundError::Tampered))
        ));
        assert!(matches!(
            rounds.unwrap("alice", &call(2), &state),
            Some(Err(RoundError::Tampered))
        ));
        let tampered = format!("{state}-TAMPERED");
        assert!(matches!(
            rounds.unwrap("alice", &call(1), &tampered),
            Some(Err(_))
        ));
        // One of the gateway's own parked calls is not a relayed state.
        let parked = rounds.seal([7; 16], 1, u64::MAX);
        assert!(rounds.unwrap("alice", &call(1), &parked).is_none());
        assert!(matches!(
            rounds.wrap("alice", &call(1), &"x".repeat(RELAYED_STATE + 1)),
            Err(RoundError::Oversized)
        ));
        let lapsed = Rounds::new(Duration::ZERO).unwrap();
        let made = now_millis();
        let state = lapsed.wrap("alice", &call(1), "s").unwrap();
        while now_millis() <= made + 1 {
            std::thread::yield_now();
        }
        assert!(matches!(
            lapsed.unwrap("alice", &call(1), &state),
            Some(Err(RoundError::Expired))
        ));
    }

    #[test]
    fn a_binding_ignores_key_order_but_not_arguments_or_endpoint() {
        let call = |arguments: Value| json!({"method": "tools/call", "params": {"name": "t", "arguments": arguments}});
        let here = Target::Server(ServerName::new("a").unwrap());
        let one = Binding::of(&here, &call(json!({"x": 1, "y": {"b": 2, "a": 1}})));
        assert_eq!(
            one,
            Binding::of(&here, &call(json!({"y": {"a": 1, "b": 2}, "x": 1})))
        );
        assert_ne!(
            one,
            Binding::of(&here, &call(json!({"x": 2, "y": {"a": 1, "b": 2}})))
        );
        assert_ne!(
            one,
            Binding::of(&Target::Aggregate, &call(json!({"x": 1, "y": {"b": 2, "a": 1}})))
        );
    }
}

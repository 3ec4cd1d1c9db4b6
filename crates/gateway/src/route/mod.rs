//! Routing: which upstream answers a session's request, and what reaches it.
//!
//! A request of a one-server session goes to that server; the aggregate's are routed by the
//! exposed name, URI or reference ([`super::aggregate`]'s catalog), and its lists are
//! gathered here from every running server. `ping` and the counted resource subscriptions are
//! answered without a server. Transports call [`request`] and [`notification`] once per
//! message; how answers are framed back (JSON, SSE, batches) is theirs.

mod offer;
mod search;

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_mcp::era::{self, Era};
use switchboard_mcp::jsonrpc::{self, Frame, Param, code};
use switchboard_mcp::upstream::{RpcError, Upstream};
use switchboard_model::api::Event;
use switchboard_model::api::Profile;
use switchboard_model::{ServerName, now_millis};

use super::aggregate::Kind as NameKind;
use super::notices::forward_notices;
use super::profiles::{self, List};
use super::roots;
use super::session::exchange::CallStart;
use super::session::{LOG_LEVELS, Mode, Session, Stream, Target};
use super::{Gateway, Unavailable};
use offer::Absent;

pub async fn notification(gateway: &Arc<Gateway>, session: &Arc<Session>, frame: Frame) {
    let method = frame.head().method.as_deref().map(str::to_owned);
    match method.as_deref() {
        Some("notifications/initialized") => return roots::ask(gateway, session),
        Some("notifications/cancelled") => return session.cancel(&frame).await,
        // The gateway asks again; servers that asked are told too.
        Some("notifications/roots/list_changed") => roots::ask(gateway, session),
        _ => {}
    }
    // A stateless server takes no notifications of clients but cancellations.
    for upstream in session_upstreams(gateway, session).await {
        if upstream.era() == Era::Handshake {
            let _ = upstream.pass(frame.clone()).await;
        }
    }
}

/// The live upstreams a session's notifications go to: its servers that its profile offers.
async fn session_upstreams(gateway: &Gateway, session: &Session) -> Vec<Arc<Upstream>> {
    let names = match &session.target {
        Target::Server(name) => vec![name.clone()],
        Target::Aggregate => gateway.aggregate_servers().await,
    };
    let profile = gateway.profile_of(session);
    names
        .iter()
        .filter(|n| profiles::visible(profile.as_deref(), n).is_offered())
        .filter_map(|n| session.isolated_upstream(n).or_else(|| gateway.live_upstream(n)))
        .collect()
}

/// The connection that serves `session`'s requests to `server`: the server's shared one or,
/// for a per-session server, the session's own process, started on first use.
async fn upstream_for(
    gateway: &Arc<Gateway>,
    session: &Arc<Session>,
    server: &ServerName,
) -> Result<Arc<Upstream>, Unavailable> {
    let per_session = session.mode != Mode::Stateless && gateway.is_per_session(server);
    if per_session && let Some(own) = session.isolated_upstream(server) {
        return Ok(own);
    }
    let shared = gateway.upstream(server).await?;
    if !per_session {
        return Ok(shared);
    }
    let start = async {
        let isolated = gateway.supervisor().start_isolated(server).await?;
        session.own_task(tokio::spawn(forward_notices(
            Arc::downgrade(gateway),
            server.clone(),
            isolated.notices(),
            Arc::downgrade(session),
        )));
        Ok::<_, Unavailable>(isolated)
    };
    session.isolated_or_start(server, start).await
}

/// Handles one request of a session; everything it produces goes to `stream`.
pub async fn request(
    gateway: &Arc<Gateway>,
    session: &Arc<Session>,
    frame: Frame,
    stream: Arc<Stream>,
    rewrite: Option<fn(Frame) -> Frame>,
) {
    let id = frame.raw_id();
    let method = frame.head().method.as_deref().unwrap_or_default().to_owned();
    let answer_text = |result: &str| {
        let frame = jsonrpc::result_response(&id, result);
        let frame = match rewrite {
            Some(rewrite) => rewrite(frame),
            None => frame,
        };
        // In one step: a JSON-only client woken between the two would get an event stream.
        // The legacy transport's one stream (id 0) outlives every request.
        stream.push_and_finish(frame.into_bytes(), stream.id != 0);
    };
    let answer = |result: Value| answer_text(&result.to_string());
    let fail = |code: i64, message: &str| {
        let error = jsonrpc::error_response(&id, code, message);
        stream.push_and_finish(error.into_bytes(), stream.id != 0);
    };
    if method == "ping" {
        return answer(json!({}));
    }
    if method == "initialize" {
        return fail(code::INVALID_REQUEST, "this session is already initialized");
    }
    session.roots_settled().await;
    let profile = gateway.profile_of(session);
    let frame = match profile.as_deref().filter(|p| p.search) {
        Some(searching) => match search::intercept(gateway, session, searching, &method, frame).await {
            search::Searched::Route(frame) => frame,
            search::Searched::Answer(result) => return answer(result),
            search::Searched::Fail(code, message) => return fail(code, &message),
        },
        None => frame,
    };
    // The name the client used, for an answer as if a hidden name did not exist.
    let asked = profile.as_ref().and_then(|_| frame.param_str(Param::Name));
    // Which server, and the request as that server must see it.
    let (server, frame) = match &session.target {
        Target::Server(name) => (name.clone(), frame),
        Target::Aggregate => {
            if let Some((list, key)) = List::of_method(&method) {
                return answer_text(&aggregate_answer(gateway, profile.as_deref(), list, &method, key).await);
            }
            match aggregate_route(gateway, session, profile.as_deref(), &method, frame, &answer).await {
                Routed::To(server, frame) => (server, frame),
                Routed::Answered => return,
                Routed::Failed(code, message) => return fail(code, &message),
            }
        }
    };
    let visible = profiles::visible(profile.as_deref(), &server);
    let frame = match offer::admit(
        visible,
        &server,
        &method,
        frame,
        asked.as_deref().unwrap_or_default(),
    ) {
        Ok(frame) => frame,
        Err(Absent::Fail(code, message)) => return fail(code, &message),
        Err(Absent::Answer(result)) => return answer(result),
    };
    // A sleeping server's lists come from its last run: listing does not wake it.
    if let Some((list, key)) = List::of_method(&method)
        && let Some(items) = gateway.asleep_list(&server, key)
    {
        return answer(offer::present_list(gateway, &server, items, visible, list, key).await);
    }
    // A tool the quarantine holds back is answered as one that does not exist.
    if method == "tools/call"
        && let Some(tool) = frame.param_str(Param::Name)
        && gateway.quarantine().withholds(&server, &tool)
    {
        let (code, message) = offer::unknown(NameKind::Tool, asked.as_deref().unwrap_or(&tool));
        return fail(code, &message);
    }
    let upstream = match upstream_for(gateway, session, &server).await {
        Ok(upstream) => upstream,
        Err(e) => return fail(code::SERVER_UNAVAILABLE, &e.to_string()),
    };
    // Tools are always screened by the quarantine; other lists pass as listed when they can.
    if let Some((list, key)) = List::of_method(&method)
        && (list == List::Tools || !visible.lists_as_listed(list))
    {
        return match offer::offered_list(gateway, &server, &upstream, visible, list, &method, key).await {
            Ok(result) => answer(result),
            Err(e) => fail(code::SERVER_UNAVAILABLE, &e.to_string()),
        };
    }
    match method.as_str() {
        "resources/subscribe" | "resources/unsubscribe" => {
            return subscription(session, &upstream, &method, &frame, &answer, &fail).await;
        }
        "logging/setLevel" if upstream.era() == Era::Stateless => {
            // A stateless server takes the level with each request: it is the session's.
            let params = frame.to_value()["params"].take();
            return match params["level"].as_str() {
                Some(level) if LOG_LEVELS.contains(&level) => {
                    session.set_log_level(Some(level));
                    answer(json!({}))
                }
                _ => fail(
                    code::INVALID_PARAMS,
                    &format!("params.level must be one of {LOG_LEVELS:?}"),
                ),
            };
        }
        _ => {}
    }
    let sending = Sending {
        gateway,
        session,
        server: &server,
        stream: Arc::clone(&stream),
        rewrite,
    };
    if let Err(message) = sending.send(upstream, &method, frame).await {
        fail(code::SERVER_UNAVAILABLE, &message);
    }
}

/// A request on its way to its server, with what sending it needs.
struct Sending<'a> {
    gateway: &'a Arc<Gateway>,
    session: &'a Arc<Session>,
    server: &'a ServerName,
    stream: Arc<Stream>,
    rewrite: Option<fn(Frame) -> Frame>,
}

impl Sending<'_> {
    /// Forwards `frame` over `upstream`; if nothing could be sent because the connection had
    /// just closed (the server went to sleep or restarted), once more on the one that follows.
    /// An error is the message the client is answered with.
    async fn send(&self, mut upstream: Arc<Upstream>, method: &str, frame: Frame) -> Result<(), String> {
        let (gateway, session, server) = (self.gateway, self.session, self.server);
        let mut retried = false;
        loop {
            let sent = in_era_of(&upstream, session, frame.clone());
            let call = (method == "tools/call").then(|| call_start(gateway, session, server, &sent));
            let stream = Arc::clone(&self.stream);
            match session.forward(upstream, &sent, stream, call, self.rewrite).await {
                Ok(()) => return Ok(()),
                Err(RpcError::Closed) if !retried => {
                    retried = true;
                    upstream = upstream_for(gateway, session, server)
                        .await
                        .map_err(|e| e.to_string())?;
                }
                Err(RpcError::Closed) => {
                    return Err(format!(
                        "server {server} stopped before the request could be sent; retry"
                    ));
                }
                Err(other) => return Err(other.to_string()),
            }
        }
    }
}

/// What the history needs of a tool call as it is sent.
fn call_start(gateway: &Gateway, session: &Session, server: &ServerName, frame: &Frame) -> CallStart {
    CallStart {
        history: gateway.history.clone(),
        client: session.client(),
        server: server.clone(),
        tool: frame.param_str(Param::Name).unwrap_or_default(),
        started: Instant::now(),
        at_ms: now_millis(),
        request_bytes: frame.len() as u64,
        arguments: gateway.history.record_payloads.then(|| {
            let mut arguments = frame.to_value()["params"]["arguments"].take();
            gateway.leaks().redact(&mut arguments);
            arguments
        }),
        leaks: Arc::clone(gateway.leaks()),
        metrics: Arc::clone(gateway.metrics()),
    }
}

/// `frame` as `upstream`'s era expects it: a stateless client's envelope taken off for a
/// session-era server, the session's put on for a stateless one.
fn in_era_of(upstream: &Upstream, session: &Session, frame: Frame) -> Frame {
    match (upstream.era(), session.mode == Mode::Stateless) {
        (Era::Handshake, true) => Frame::from_value(&era::without_envelope(frame.to_value())),
        (Era::Stateless, false) => {
            Frame::from_value(&era::with_envelope(frame.to_value(), &session.envelope()))
        }
        _ => frame,
    }
}

/// A session's `resources/subscribe` or `unsubscribe`, counted: the server hears of a URI's
/// first subscriber and its last.
async fn subscription(
    session: &Session,
    upstream: &Upstream,
    method: &str,
    frame: &Frame,
    answer: &impl Fn(Value),
    fail: &impl Fn(i64, &str),
) {
    let Some(uri) = frame.param_str(Param::Uri) else {
        return fail(code::INVALID_PARAMS, "params.uri is required");
    };
    let on = method == "resources/subscribe";
    let tell = match on {
        true => session.subscribe(upstream, &uri),
        false => session.unsubscribe(upstream, &uri),
    };
    if !tell {
        return answer(json!({}));
    }
    match upstream
        .tell_subscriptions(std::slice::from_ref(&uri), on, AGGREGATE_PATIENCE)
        .await
    {
        Ok(()) => answer(json!({})),
        Err(e) => {
            if on {
                session.unsubscribe(upstream, &uri);
            }
            match e {
                RpcError::Remote { code, message, .. } => fail(code, &message),
                other => fail(code::SERVER_UNAVAILABLE, &other.to_string()),
            }
        }
    }
}

enum Routed {
    To(ServerName, Frame),
    Answered,
    Failed(i64, String),
}

/// The aggregate's answer to a list request, as JSON text: the one kept from before while
/// nothing it depends on changed and every server in it sleeps (so its lists cannot have
/// changed unannounced), else gathered anew.
async fn aggregate_answer(
    gateway: &Gateway,
    profile: Option<&Profile>,
    list: List,
    method: &str,
    key: &str,
) -> Arc<str> {
    if let Some(kept) = gateway.kept_answer(profile, method) {
        return kept;
    }
    let generation = gateway.lists_generation();
    let (listed, all_asleep) = gather(gateway, profile, method, key).await;
    let servers: Vec<ServerName> = listed.iter().map(|(server, _)| server.clone()).collect();
    let text: Arc<str> = json!({ key: offer::offered(gateway, profile, list, listed) })
        .to_string()
        .into();
    if all_asleep {
        gateway.keep_answer(profile, method, generation, servers, Arc::clone(&text));
    }
    text
}

/// Where an aggregate session's request goes, answering the aggregate's own methods.
async fn aggregate_route(
    gateway: &Gateway,
    session: &Session,
    profile: Option<&Profile>,
    method: &str,
    frame: Frame,
    answer: &impl Fn(Value),
) -> Routed {
    match method {
        "tools/call" => by_name(gateway, profile, NameKind::Tool, frame).await,
        "prompts/get" => by_name(gateway, profile, NameKind::Prompt, frame).await,
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => by_uri(gateway, frame).await,
        "logging/setLevel" => {
            set_level_everywhere(gateway, session, &frame).await;
            answer(json!({}));
            Routed::Answered
        }
        "completion/complete" => by_reference(gateway, frame, answer),
        other => Routed::Failed(
            code::METHOD_NOT_FOUND,
            format!("the aggregate endpoint does not route {other}; use /mcp/<server>"),
        ),
    }
}

/// A tool call or prompt, to the server whose exposed name it uses, under the server's name.
async fn by_name(gateway: &Gateway, profile: Option<&Profile>, kind: NameKind, frame: Frame) -> Routed {
    let Some(exposed) = frame.param_str(Param::Name) else {
        return Routed::Failed(code::INVALID_PARAMS, "params.name is required".into());
    };
    let mut found = gateway.catalog().resolve(kind, &exposed);
    if found.is_none() {
        // A client may call a name it listed before the daemon restarted: listed again as
        // its profile offers it, which names its renamed tools too.
        let (list, key, offered) = match kind {
            NameKind::Tool => ("tools/list", "tools", List::Tools),
            NameKind::Prompt => ("prompts/list", "prompts", List::Prompts),
        };
        let listed = aggregate_list(gateway, profile, list, key).await;
        offer::offered(gateway, profile, offered, listed);
        found = gateway.catalog().resolve(kind, &exposed);
    }
    match found {
        Some((server, original)) => {
            let original = Value::from(original).to_string();
            Routed::To(server, frame.with_param(Param::Name, &original))
        }
        None => {
            let (code, message) = offer::unknown(kind, &exposed);
            Routed::Failed(code, message)
        }
    }
}

/// A resource request, to the server that listed its URI (or a template matching it).
async fn by_uri(gateway: &Gateway, frame: Frame) -> Routed {
    let Some(uri) = frame.param_str(Param::Uri) else {
        return Routed::Failed(code::INVALID_PARAMS, "params.uri is required".into());
    };
    match resource_server(gateway, &uri).await {
        Some(server) => Routed::To(server, frame),
        None => {
            let (code, message) = offer::no_resource(&uri);
            Routed::Failed(code, message)
        }
    }
}

/// The aggregate's server for `uri`: the one that listed it, or a template matching it (the
/// lists are asked again if none did).
pub(crate) async fn resource_server(gateway: &Gateway, uri: &str) -> Option<ServerName> {
    if let Some(server) = gateway.catalog().resource_server(uri) {
        return Some(server);
    }
    aggregate_list(gateway, None, "resources/list", "resources").await;
    aggregate_list(gateway, None, "resources/templates/list", "resourceTemplates").await;
    gateway.catalog().resource_server(uri)
}

/// `logging/setLevel` for the aggregate: every session-era server the session reaches gets
/// it; stateless ones take the session's level with each request.
async fn set_level_everywhere(gateway: &Gateway, session: &Session, frame: &Frame) {
    let params = frame.to_value()["params"].take();
    if let Some(level) = params["level"].as_str().filter(|l| LOG_LEVELS.contains(l)) {
        session.set_log_level(Some(level));
    }
    let mut upstreams = session_upstreams(gateway, session).await;
    upstreams.retain(|upstream| upstream.era() == Era::Handshake);
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
}

/// A completion, routed by the prompt or resource its `params.ref` names; none is offered
/// for a reference no server owns.
fn by_reference(gateway: &Gateway, frame: Frame, answer: &impl Fn(Value)) -> Routed {
    let mut value = frame.to_value();
    let reference = value["params"]["ref"].clone();
    let server = match reference["type"].as_str() {
        Some("ref/prompt") => reference["name"]
            .as_str()
            .and_then(|n| gateway.catalog().resolve(NameKind::Prompt, n)),
        Some("ref/resource") => reference["uri"]
            .as_str()
            .and_then(|u| gateway.catalog().resource_server(u).map(|s| (s, u.to_owned()))),
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
            answer(offer::no_completion());
            Routed::Answered
        }
    }
}

/// How long the aggregate waits for one server's list (all its pages) before it answers with
/// that server's last known list, or without it: one hung server must not stall the others.
const AGGREGATE_PATIENCE: Duration = Duration::from_secs(3);

/// Every enabled server's tools, as the aggregate lists them.
pub(crate) async fn all_tools(gateway: &Gateway) -> Listed {
    aggregate_list(gateway, None, "tools/list", "tools").await
}

/// The tools of `listed` (the aggregate's) that `profile` offers (all of them without one),
/// as it presents them; only those of `servers`, when a client's entries name its servers one
/// by one.
pub(crate) fn offered_tools(
    gateway: &Gateway,
    profile: Option<&Profile>,
    servers: Option<&[String]>,
    mut listed: Listed,
) -> Vec<Value> {
    if let Some(servers) = servers {
        listed.retain(|(server, _)| servers.iter().any(|s| s == server.as_str()));
    }
    offer::offered(gateway, profile, List::Tools, listed)
}

/// The aggregate's items of one list, by server.
pub(super) type Listed = Vec<(ServerName, Vec<Value>)>;

/// One list over every enabled, running server that `profile` offers (all of them without
/// one), renamed into the aggregate's namespace.
async fn aggregate_list(gateway: &Gateway, profile: Option<&Profile>, method: &str, key: &str) -> Listed {
    gather(gateway, profile, method, key).await.0
}

/// [`aggregate_list`]'s list, and whether every server in it was listed from what was kept
/// while it sleeps (no server was asked).
async fn gather(gateway: &Gateway, profile: Option<&Profile>, method: &str, key: &str) -> (Listed, bool) {
    let capability = match key {
        "tools" => "tools",
        "prompts" => "prompts",
        _ => "resources",
    };
    let deadline = Instant::now() + AGGREGATE_PATIENCE;
    let mut servers = gateway.aggregate_servers().await;
    servers.retain(|server| profiles::visible(profile, server).is_offered());
    let mut pages = Vec::new();
    let mut fetches = Vec::new();
    // A server left out (on its way up, not asleep) makes this list no one to keep.
    let mut all_asleep = true;
    for name in &servers {
        match gateway.live_upstream(name) {
            Some(upstream) => {
                let offers = upstream
                    .init()
                    .is_some_and(|i| i.capabilities().get(capability).is_some());
                if offers {
                    fetches.push(
                        async move { (name.clone(), list_all(&upstream, method, key, deadline).await) },
                    );
                }
            }
            // A sleeping server is listed from its last run, without waking it.
            None => match gateway.asleep_list(name, key) {
                Some(items) => pages.push((name.clone(), Ok(items))),
                None => all_asleep = false,
            },
        }
    }
    let all_asleep = all_asleep && fetches.is_empty();
    pages.extend(futures_util::future::join_all(fetches).await);
    pages.sort_by(|a, b| a.0.cmp(&b.0));
    let mut all = Vec::new();
    for (server, items) in pages {
        match items {
            Ok(mut items) => {
                if key == "tools" {
                    gateway.screen_tools(&server, &mut items).await;
                }
                let mut catalog = gateway.catalog();
                catalog.adopt(&server, key, &mut items);
                catalog.remember(&server, key, &items);
                all.push((server, items));
            }
            Err(RpcError::TimedOut { .. }) => {
                let items = late_list(gateway, &server, method, key);
                all.push((server, items));
            }
            Err(e) => tracing::warn!(%server, "{method} failed for the aggregate: {e}"),
        }
    }
    (all, all_asleep)
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
    gateway.announce(Event::ServerUnresponsive {
        name: server.clone(),
        method: method.to_owned(),
        waited_ms,
    });
    known.unwrap_or_default()
}

/// Every page of a list, each requested within what is left until `deadline`.
pub(crate) async fn list_all(
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

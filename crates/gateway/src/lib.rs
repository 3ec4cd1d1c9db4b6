//! The gateway: one MCP endpoint per server (`/mcp/<server>`) and one for all of them (`/mcp`).
//!
//! Clients speak Streamable HTTP ([`http`]: sessions of 2025-03-26 to 2025-11-25, the stateless
//! 2026-07-28 revision, and the legacy HTTP+SSE transport). Each client session is a
//! [`session::Session`]; its requests travel over the server's shared [`Upstream`], which the
//! supervisor keeps running. The aggregate ([`aggregate`]) joins the servers' tools, prompts
//! and resources under stable namespaced names.
//!
//! This module also owns who may call it ([`Access`], per-client tokens kept as hashes), what
//! each client is offered ([`profiles`]) and what was called ([`History`], tool calls in SQLite
//! with retention). Spawning, restarting and
//! the control API are elsewhere.

pub mod aggregate;
pub mod budget;
pub mod cost;
mod handshake;
pub mod http;
pub mod leaks;
pub mod metrics;
mod notices;
pub mod profiles;
pub mod quarantine;
mod roots;
mod route;
pub mod search;
pub mod session;
mod sleep;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Mutex, RwLock};
use sha2::{Digest, Sha256};
use switchboard_local::token::{RandomError, random_secret};
use switchboard_mcp::jsonrpc::Frame;
use switchboard_mcp::upstream::Upstream;
use switchboard_model::api::Event;
use switchboard_model::api::{CallRecord, IssuedToken, Profile, TokenView};
use switchboard_model::{ServerName, ServerState, Sharing, UnixMillis, now_millis};
use switchboard_store::{Store, StoreError};
use switchboard_supervisor::Supervisor;
use switchboard_supervisor::isolated::IsolatedError;
use tokio::sync::{broadcast, mpsc, oneshot, watch};

use session::Session;

/// How long a request waits for its server to reach running before it is answered with an error.
pub(crate) const START_PATIENCE: Duration = Duration::from_secs(30);
/// How long a request the gateway makes on its own behalf (renewing or releasing a resource
/// subscription) may wait for its answer.
pub(crate) const OWN_REQUEST_PATIENCE: Duration = Duration::from_secs(10);
/// Tool-call history is kept this long.
const HISTORY_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);
/// Tool calls kept in memory while the database does not take them; older ones are dropped.
const HISTORY_HELD: usize = 10_000;
/// How often calls the database did not take are tried again.
const HISTORY_RETRY: Duration = Duration::from_secs(2);
/// How long tool calls gather before they are written together.
const HISTORY_BATCH: Duration = Duration::from_millis(100);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    #[error("client names are 1 to 64 characters of letters, digits, `.`, `_` and `-`; `{0}` is not one")]
    InvalidName(String),
    #[error("cannot make a client token: {0}")]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot draw the key that seals multi round-trip state: {0}")]
    Random(#[from] RandomError),
    #[error(transparent)]
    Leaks(#[from] leaks::LeakError),
}

/// Gateway options the daemon is started with.
#[derive(Clone, Copy, Debug)]
pub struct GatewayConfig {
    /// Keep tool-call arguments and results in the history (off by default: they may be private).
    pub record_payloads: bool,
    /// A session with no request in flight, no client listening and no request for this long
    /// is ended: clients that vanish without DELETE would otherwise keep it (and any process of
    /// its own) forever.
    pub session_idle: Duration,
    /// How long a 2026-07-28 client's call waits for each round of its input (the answers to
    /// its server's questions) before it is ended.
    pub input_wait: Duration,
    /// What the tools a client is offered may cost, in tokens, before it is warned (unless
    /// it has a budget of its own).
    pub tool_budget: u64,
}

impl Default for GatewayConfig {
    fn default() -> Self {
        Self {
            record_payloads: false,
            session_idle: Duration::from_secs(30 * 60),
            input_wait: Duration::from_secs(10 * 60),
            tool_budget: switchboard_model::api::DEFAULT_TOOL_BUDGET,
        }
    }
}

/// Per-client bearer tokens. Only SHA-256 hashes are kept, in SQLite and in memory.
#[derive(Debug)]
pub struct Access {
    store: Store,
    by_hash: RwLock<HashMap<[u8; 32], Arc<str>>>,
    /// Last-use times waiting to be written, so the hot path never waits on SQLite.
    seen: Mutex<HashMap<Arc<str>, UnixMillis>>,
}

fn sha256(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

impl Access {
    async fn load(store: Store) -> Result<Self, StoreError> {
        let mut by_hash = HashMap::new();
        for (name, hash) in store.client_hashes().await? {
            let mut bytes = [0u8; 32];
            for (i, byte) in bytes.iter_mut().enumerate() {
                *byte = hash
                    .get(i * 2..i * 2 + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .unwrap_or_default();
            }
            by_hash.insert(bytes, Arc::from(name));
        }
        Ok(Self {
            store,
            by_hash: RwLock::new(by_hash),
            seen: Mutex::default(),
        })
    }

    /// The client a bearer token belongs to.
    pub fn client(&self, token: &str) -> Option<Arc<str>> {
        let hash = sha256(token);
        let client = self.by_hash.read().get(&hash).cloned()?;
        self.seen.lock().insert(Arc::clone(&client), now_millis());
        Some(client)
    }

    /// Issues a token for a new client; it is returned this once and stored only as a hash.
    pub async fn issue(&self, name: &str) -> Result<IssuedToken, AccessError> {
        if !profiles::valid_name(name) {
            return Err(AccessError::InvalidName(name.to_owned()));
        }
        let token = format!("sbc_{}", random_secret::<32>()?);
        let hash = sha256(&token);
        self.store.insert_client(name, &hex::encode(hash)).await?;
        self.by_hash.write().insert(hash, Arc::from(name));
        Ok(IssuedToken {
            name: name.to_owned(),
            token,
        })
    }

    /// Accepts `token` for client `name` again (undoing a change to a client's config brings
    /// back the token written in it); any other token of that client is revoked.
    pub async fn reinstate(&self, name: &str, token: &str) -> Result<(), AccessError> {
        match self.revoke(name).await {
            Ok(()) | Err(AccessError::Store(StoreError::ClientNotFound(_))) => {}
            Err(e) => return Err(e),
        }
        let hash = sha256(token);
        self.store.insert_client(name, &hex::encode(hash)).await?;
        self.by_hash.write().insert(hash, Arc::from(name));
        Ok(())
    }

    /// The clients that hold a token.
    pub fn names(&self) -> Vec<Arc<str>> {
        self.by_hash.read().values().cloned().collect()
    }

    /// Revokes a client's token; its open sessions are ended by the caller.
    pub async fn revoke(&self, name: &str) -> Result<(), AccessError> {
        self.store.remove_client(name).await?;
        self.by_hash.write().retain(|_, client| &**client != name);
        Ok(())
    }

    pub async fn list(&self) -> Result<Vec<TokenView>, AccessError> {
        self.flush_seen().await;
        Ok(self.store.clients().await?)
    }

    async fn flush_seen(&self) {
        let seen = std::mem::take(&mut *self.seen.lock());
        for (client, at) in seen {
            if let Err(e) = self.store.touch_client(&client, at).await {
                tracing::warn!("cannot record last use of client {client}: {e}");
            }
        }
    }
}

/// Tool calls on their way to SQLite: recorded off the hot path, written in batches.
///
/// A batch gathers for [`HISTORY_BATCH`] after its first call, without a wake-up per call, and
/// goes in one transaction: a commit per call would cost every call a good part of its
/// latency. Readers ask for a [`flush`](History::flush) first, so they never miss a call.
#[derive(Debug, Clone)]
pub struct History {
    calls: mpsc::UnboundedSender<CallRecord>,
    flushes: mpsc::UnboundedSender<oneshot::Sender<()>>,
    pub record_payloads: bool,
}

impl History {
    fn start(store: Store, events: broadcast::Sender<Event>, record_payloads: bool) -> Self {
        let (calls, rx) = mpsc::unbounded_channel();
        let (flushes, flush_rx) = mpsc::unbounded_channel();
        tokio::spawn(write_history(HistoryWriter { store, events }, rx, flush_rx));
        Self {
            calls,
            flushes,
            record_payloads,
        }
    }

    pub fn record(&self, call: CallRecord) {
        let _ = self.calls.send(call);
    }

    /// Returns once every call recorded so far is in SQLite.
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.flushes.send(done).is_ok() {
            let _ = wait.await;
        }
    }
}

/// Where recorded calls go: SQLite, then a word to the followers that there are new ones.
struct HistoryWriter {
    store: Store,
    events: broadcast::Sender<Event>,
}

async fn write_history(
    writer: HistoryWriter,
    mut calls: mpsc::UnboundedReceiver<CallRecord>,
    mut flushes: mpsc::UnboundedReceiver<oneshot::Sender<()>>,
) {
    let mut prune = tokio::time::interval(Duration::from_secs(3600));
    let mut retry = tokio::time::interval(HISTORY_RETRY);
    // Calls the database did not take (a full disk): kept, and written when it takes them.
    let mut held: Vec<CallRecord> = Vec::new();
    loop {
        let mut waiting = Vec::new();
        tokio::select! {
            first = calls.recv() => {
                if first.is_none() {
                    return;
                }
                // More calls gather meanwhile, unless a reader wants them now.
                tokio::select! {
                    () = tokio::time::sleep(HISTORY_BATCH) => {}
                    Some(reader) = flushes.recv() => waiting.push(reader),
                }
                held.extend(first.into_iter().chain(std::iter::from_fn(|| calls.try_recv().ok())));
                write_calls(&writer, &mut held).await;
            }
            Some(reader) = flushes.recv() => {
                waiting.push(reader);
                held.extend(std::iter::from_fn(|| calls.try_recv().ok()));
                write_calls(&writer, &mut held).await;
            }
            _ = retry.tick(), if !held.is_empty() => write_calls(&writer, &mut held).await,
            _ = prune.tick() => {
                let cutoff = now_millis() - i64::try_from(HISTORY_RETENTION.as_millis()).unwrap_or(i64::MAX);
                if let Err(e) = writer.store.prune_calls(cutoff).await {
                    tracing::warn!("cannot prune tool-call history: {e}");
                }
            }
        }
        for reader in waiting {
            let _ = reader.send(());
        }
    }
}

/// Writes `held` calls in one transaction; on failure keeps the newest [`HISTORY_HELD`] of
/// them for the next try and counts the rest as lost, so none vanish without a word. Written
/// calls are announced, so the dashboard's Activity follows them live.
async fn write_calls(writer: &HistoryWriter, held: &mut Vec<CallRecord>) {
    if held.is_empty() {
        return;
    }
    let store = &writer.store;
    match store.insert_calls(held).await {
        Ok(()) => {
            let count = u64::try_from(held.len()).unwrap_or(u64::MAX);
            let _ = writer.events.send(Event::CallsRecorded { count });
            held.clear();
            store.unwritten().resumed();
        }
        Err(e) => {
            let lost = held.len().saturating_sub(HISTORY_HELD);
            held.drain(..lost);
            let count = |n: usize| u64::try_from(n).unwrap_or(u64::MAX);
            store
                .unwritten()
                .calls_held(count(held.len()), count(lost), &e.to_string());
        }
    }
}

/// Why a request could not reach its server.
#[derive(Debug, thiserror::Error)]
pub enum Unavailable {
    #[error("no server named {0}; `switchboard ls` lists them")]
    Unknown(ServerName),
    #[error("server {name} is not running ({state}); start it with `switchboard start {name}`")]
    NotRunning { name: ServerName, state: String },
    #[error("server {0} is stopped because Switchboard is paused; `switchboard resume` starts servers again")]
    Paused(ServerName),
    #[error(
        "server {name} was asleep and is still starting after {:.1} s; nothing was sent to it, \
         so retry, and see `switchboard logs {name}` if it stays slow",
        waited.as_secs_f64()
    )]
    Waking { name: ServerName, waited: Duration },
    #[error("server {name} was asleep and failed to start: {reason}; `switchboard logs {name}` shows more")]
    WakeFailed { name: ServerName, reason: String },
    #[error(transparent)]
    Isolated(#[from] IsolatedError),
}

/// What the gateway needs of the rest of the daemon: the store (client tokens, history, the
/// enabled servers), the supervisor (each server's upstream) and the daemon's event feed.
#[derive(Clone, Debug)]
pub struct Servers {
    pub store: Store,
    pub supervisor: Arc<Supervisor>,
    pub events: broadcast::Sender<Event>,
}

/// Everything the gateway's handlers share.
#[derive(Debug)]
pub struct Gateway {
    servers: Servers,
    pub access: Access,
    pub history: History,
    sessions: Mutex<HashMap<Arc<str>, Arc<Session>>>,
    /// Pinged whenever the set of servers in the aggregate may have changed.
    aggregate_changed: broadcast::Sender<()>,
    catalog: Mutex<aggregate::Catalog>,
    /// Whether the daemon is paused: read from the store at start, then followed by event.
    paused: AtomicBool,
    /// Calls of 2026-07-28 clients waiting for their input.
    rounds: Arc<session::rounds::Rounds>,
    /// Token counts of tool definitions.
    costs: cost::Costs,
    profiles: profiles::Profiles,
    budgets: budget::Budgets,
    quarantine: quarantine::Quarantine,
    leaks: Arc<leaks::Leaks>,
    /// What each server offered in its last run, answered while it sleeps.
    kept: sleep::Kept,
    /// The aggregate's last list answer made of kept lists alone, answered again until
    /// something it depends on changes.
    answers: sleep::KeptAnswer,
    metrics: Arc<metrics::Metrics>,
}

impl Gateway {
    pub async fn start(servers: Servers, config: GatewayConfig) -> Result<Arc<Self>, StartError> {
        // Subscribed before the flag is read, so no pause or resume falls between them.
        let events = servers.events.subscribe();
        let paused = AtomicBool::new(servers.store.paused().await?);
        let access = Access::load(servers.store.clone()).await?;
        let profiles = profiles::Profiles::load(servers.store.clone()).await?;
        let budgets = budget::Budgets::load(servers.store.clone(), config.tool_budget).await?;
        let quarantine = quarantine::Quarantine::load(servers.store.clone()).await?;
        let kept = sleep::Kept::load(servers.store.clone()).await?;
        let known = Arc::clone(servers.supervisor.secrets().known());
        let leaks = Arc::new(leaks::Leaks::load(servers.store.clone(), known).await?);
        let history = History::start(
            servers.store.clone(),
            servers.events.clone(),
            config.record_payloads,
        );
        let (aggregate_changed, _) = broadcast::channel(16);
        let gateway = Arc::new(Self {
            servers,
            access,
            history,
            sessions: Mutex::default(),
            aggregate_changed,
            catalog: Mutex::default(),
            paused,
            rounds: session::rounds::Rounds::new(config.input_wait)?,
            costs: cost::Costs::default(),
            profiles,
            budgets,
            quarantine,
            leaks,
            kept,
            answers: sleep::KeptAnswer::default(),
            metrics: Arc::default(),
        });
        tokio::spawn(watch_servers(Arc::downgrade(&gateway), events));
        tokio::spawn(expire_sessions(Arc::downgrade(&gateway), config.session_idle));
        tokio::spawn(budget::watch(Arc::downgrade(&gateway)));
        Ok(gateway)
    }

    pub fn catalog(&self) -> parking_lot::MutexGuard<'_, aggregate::Catalog> {
        self.catalog.lock()
    }

    pub(crate) fn rounds(&self) -> &Arc<session::rounds::Rounds> {
        &self.rounds
    }

    /// Credentials in tool traffic, and each server's setting for its results.
    pub fn leaks(&self) -> &Arc<leaks::Leaks> {
        &self.leaks
    }

    /// Calls and wakes counted per server, for the metrics endpoint.
    pub fn metrics(&self) -> &Arc<metrics::Metrics> {
        &self.metrics
    }

    /// Token counts of tool definitions.
    pub fn costs(&self) -> &cost::Costs {
        &self.costs
    }

    /// The profiles, and which client uses which.
    pub fn profiles(&self) -> &profiles::Profiles {
        &self.profiles
    }

    /// Each client's budget for what its tools cost.
    pub fn budgets(&self) -> &budget::Budgets {
        &self.budgets
    }

    /// Creates or replaces a profile; the sessions of its clients are told their lists changed.
    pub async fn put_profile(&self, name: &str, profile: Profile) -> Result<(), profiles::ProfileError> {
        if let Some(unknown) = profile
            .servers
            .keys()
            .find(|server| self.servers.supervisor.upstream(server).is_none())
        {
            return Err(profiles::ProfileError::UnknownServer(unknown.clone()));
        }
        let clients = self.profiles.put(name, profile).await?;
        self.lists_changed_for(&clients);
        Ok(())
    }

    /// Removes a profile no client uses; sessions whose roots chose it are told.
    pub async fn remove_profile(&self, name: &str) -> Result<(), profiles::ProfileError> {
        self.profiles.remove(name).await?;
        self.lists_changed_for(&[]);
        Ok(())
    }

    /// Makes `client` use `profile` (`None`: every enabled server); its sessions are told
    /// their lists changed.
    pub async fn use_profile(
        &self,
        client: &str,
        profile: Option<&str>,
    ) -> Result<(), profiles::ProfileError> {
        self.profiles.choose(client, profile).await?;
        self.lists_changed_for(&[client.to_owned()]);
        Ok(())
    }

    /// The profile `session` is served under: the one its client's roots choose, else its
    /// token's; `None` offers everything.
    pub fn profile_of(&self, session: &Session) -> Option<Arc<Profile>> {
        session
            .roots()
            .and_then(|roots| self.profiles.for_roots(&roots))
            .or_else(|| self.profiles.of_client(&session.client()))
    }

    /// Whether the profile `session` is served under (if any) offers `server`.
    pub fn offers_to(&self, session: &Session, server: &ServerName) -> bool {
        let profile = self.profile_of(session);
        profiles::visible(profile.as_deref(), server).is_offered()
    }

    /// Whether `client`'s profile (if it has one) offers `server`.
    pub fn offers(&self, client: &str, server: &ServerName) -> bool {
        let profile = self.profiles.of_client(client);
        profiles::visible(profile.as_deref(), server).is_offered()
    }

    /// Tells every session of `clients`, and every session whose roots may choose a profile,
    /// that its tools, prompts and resources may have changed.
    fn lists_changed_for(&self, clients: &[String]) {
        self.answers.moved();
        self.budgets.changed();
        let sessions: Vec<Arc<Session>> = self
            .sessions()
            .values()
            .filter(|s| s.roots().is_some() || clients.iter().any(|c| **c == *s.client()))
            .cloned()
            .collect();
        for session in sessions {
            notices::lists_changed(&session);
        }
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.servers.supervisor
    }

    /// Tells the daemon's followers (the dashboard, the tray, `switchboard events`).
    pub fn announce(&self, event: Event) {
        let _ = self.servers.events.send(event);
    }

    fn sessions(&self) -> parking_lot::MutexGuard<'_, HashMap<Arc<str>, Arc<Session>>> {
        self.sessions.lock()
    }

    pub fn session(&self, id: &str) -> Option<Arc<Session>> {
        self.sessions().get(id).cloned()
    }

    pub fn insert_session(&self, session: Arc<Session>) {
        self.sessions().insert(session.id(), session);
    }

    /// Ends a session: its streams close and its resource subscriptions are released upstream.
    pub fn remove_session(&self, id: &str) -> Option<Arc<Session>> {
        let session = self.sessions().remove(id)?;
        let subscriptions = session.take_subscriptions();
        session.end();
        let mut released: HashMap<ServerName, (Arc<Upstream>, Vec<String>)> = HashMap::new();
        for (server, uri) in subscriptions {
            let Some(upstream) = self
                .servers
                .supervisor
                .upstream(&server)
                .and_then(|w| w.borrow().clone())
            else {
                continue;
            };
            if upstream.unsubscribe(&uri) {
                released
                    .entry(server)
                    .or_insert_with(|| (upstream, Vec::new()))
                    .1
                    .push(uri);
            }
        }
        if !released.is_empty() {
            tokio::spawn(async move {
                for (upstream, uris) in released.into_values() {
                    let _ = upstream
                        .tell_subscriptions(&uris, false, OWN_REQUEST_PATIENCE)
                        .await;
                }
            });
        }
        Some(session)
    }

    /// Subscribes a (re)started server's new connection to every URI its sessions had
    /// subscribed to on the one before: a restarted server remembers none of them.
    async fn resubscribe(&self, server: &ServerName) {
        let Some(upstream) = self
            .servers
            .supervisor
            .upstream(server)
            .and_then(|w| w.borrow().clone())
        else {
            return;
        };
        let sessions: Vec<Arc<Session>> = self.sessions().values().cloned().collect();
        let uris: Vec<String> = sessions
            .iter()
            .flat_map(|s| s.shared_subscriptions(server))
            .filter(|uri| upstream.subscribe(uri))
            .collect();
        if let Err(e) = upstream
            .tell_subscriptions(&uris, true, OWN_REQUEST_PATIENCE)
            .await
        {
            tracing::warn!(%server, "cannot renew resource subscriptions after a restart: {e}");
        }
    }

    /// Ends every session of a client whose token was revoked, and its calls waiting for input.
    pub fn end_sessions_of(&self, client: &str) {
        self.rounds.end_client(client);
        let ids: Vec<Arc<str>> = self
            .sessions()
            .values()
            .filter(|s| &*s.client() == client)
            .map(|s| s.id())
            .collect();
        for id in ids {
            self.remove_session(&id);
        }
    }

    pub fn session_count(&self) -> usize {
        self.sessions().len()
    }

    fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// The server's shared upstream if it is running now, without waiting for a start.
    pub fn live_upstream(&self, name: &ServerName) -> Option<Arc<Upstream>> {
        let watch = self.servers.supervisor.upstream(name)?;
        let upstream = watch.borrow().clone();
        upstream.filter(|u| !u.is_closed())
    }

    /// Whether each session gets its own process of `name` (sessionless requests never do).
    pub fn is_per_session(&self, name: &ServerName) -> bool {
        self.servers.supervisor.sharing(name) == Some(Sharing::PerSession)
    }

    /// Servers in the aggregate: the enabled ones, in name order.
    pub async fn aggregate_servers(&self) -> Vec<ServerName> {
        match self.servers.store.enabled_server_names().await {
            Ok(names) => names,
            Err(e) => {
                tracing::warn!("cannot list enabled servers: {e}");
                Vec::new()
            }
        }
    }

    pub fn notices(&self, name: &ServerName) -> Option<broadcast::Receiver<Frame>> {
        self.servers.supervisor.notices(name)
    }

    pub fn aggregate_changes(&self) -> broadcast::Receiver<()> {
        self.aggregate_changed.subscribe()
    }
}

/// Ends sessions left idle for `idle`, checking a few times per `idle` (at least once a minute).
async fn expire_sessions(gateway: std::sync::Weak<Gateway>, idle: Duration) {
    let every = (idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(60));
    loop {
        tokio::time::sleep(every).await;
        let Some(gateway) = gateway.upgrade() else { return };
        let abandoned: Vec<Arc<str>> = gateway
            .sessions()
            .values()
            .filter(|s| s.is_abandoned(idle))
            .map(|s| s.id())
            .collect();
        for id in abandoned {
            tracing::info!(session = %id, "ending a session idle for over {idle:?}");
            gateway.remove_session(&id);
        }
    }
}

pub(crate) fn live(watch: &watch::Receiver<Option<Arc<Upstream>>>) -> Option<Arc<Upstream>> {
    watch.borrow().as_ref().filter(|u| !u.is_closed()).cloned()
}

/// Follows server changes: tells aggregate sessions when a server joins or leaves (enable,
/// disable, start, stop, add, remove), since their lists changed, and renews resource
/// subscriptions on a server that has (re)started.
async fn watch_servers(gateway: std::sync::Weak<Gateway>, mut events: broadcast::Receiver<Event>) {
    let mut listed = HashMap::new();
    loop {
        let event = match events.recv().await {
            Ok(event) => event,
            Err(broadcast::error::RecvError::Lagged(_)) => {
                // What was missed may have changed lists: none kept is answered again.
                if let Some(gateway) = gateway.upgrade() {
                    gateway.answers.moved();
                }
                continue;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let Some(gateway) = gateway.upgrade() else { return };
        match &event {
            Event::Paused => gateway.paused.store(true, Ordering::SeqCst),
            Event::Resumed => gateway.paused.store(false, Ordering::SeqCst),
            _ => {}
        }
        if changes_the_aggregate(&event, &mut listed) {
            gateway.answers.moved();
            let _ = gateway.aggregate_changed.send(());
        }
        match &event {
            Event::StateChanged {
                name,
                status: ServerState::Running { .. },
                ..
            } => {
                tokio::spawn(Arc::clone(&gateway).learn_lists(name.clone()));
                gateway.resubscribe(name).await;
            }
            Event::ServerRemoved { name } => {
                gateway.kept.forget(name);
                gateway.forget_screening(name).await;
            }
            _ => {}
        }
    }
}

/// Whether `event` may change what the aggregate offers: a server added, changed or removed,
/// or one whose lists come or go (`listed` remembers which are offered: running, or asleep
/// with their lists kept). A restart, or an on-demand server sleeping and waking, changes
/// nothing by itself; a run whose lists differ is announced where they are learnt. Tool
/// calls, pauses and drift do not either: telling every aggregate client to list again after
/// each would be a storm of re-listing.
fn changes_the_aggregate(event: &Event, listed: &mut HashMap<ServerName, bool>) -> bool {
    match event {
        Event::StateChanged { name, status, .. } => {
            let now = match status {
                ServerState::Running { .. } | ServerState::Sleeping { .. } => true,
                ServerState::Stopped | ServerState::Failed { .. } | ServerState::CrashLooping { .. } => false,
                ServerState::Starting { .. } | ServerState::BackingOff { .. } => return false,
            };
            listed.insert(name.clone(), now) != Some(now)
        }
        Event::ServerRemoved { name } => {
            listed.remove(name);
            true
        }
        Event::ServerAdded { .. } | Event::ServerChanged { .. } => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_servers_coming_going_and_changing_tell_aggregate_clients_to_list_again() {
        let name = || ServerName::new("s").unwrap();
        let state = |status| Event::StateChanged {
            name: name(),
            at_ms: 0,
            status,
        };
        let running = || {
            state(ServerState::Running {
                pid: None,
                since_ms: 0,
                tools: 1,
                server_info: None,
            })
        };
        let sleeping = || {
            state(ServerState::Sleeping {
                since_ms: 0,
                tools: 1,
            })
        };
        let mut listed = HashMap::new();
        for (event, changes) in [
            (Event::ServerAdded { name: name() }, true),
            (state(ServerState::Starting { pid: None }), false),
            (running(), true),
            // Sleeping and waking again: still listed, from what was kept.
            (sleeping(), false),
            (state(ServerState::Starting { pid: None }), false),
            (running(), false),
            (state(ServerState::Stopped), true),
            (running(), true),
            (Event::CallsRecorded { count: 3 }, false),
            (Event::Paused, false),
            (Event::Resumed, false),
            (Event::ServerRemoved { name: name() }, true),
        ] {
            assert_eq!(changes_the_aggregate(&event, &mut listed), changes, "{event:?}");
        }
    }
}

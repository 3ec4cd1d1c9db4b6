//! Supervision of MCP servers: local stdio processes, local HTTP processes, remote endpoints.
//!
//! A [`Supervisor`] owns one [`actor`] task per server, each the only writer of its server's
//! state. Processes are spawned through [`process`], the only place that starts one (the
//! watchdog's own start aside);
//! the daemon's helper processes (package managers, probes) through its [`helper`] API.
//! After every exit an actor asks [`policy::decide`], a pure function of the policy, the exit
//! and recent restarts. Readiness and health are MCP requests ([`mcp`]), not "the pid exists".
//! Desired state (enabled or not) and HTTP are the control layer's; this module runs what it
//! is told to run.

mod actor;
pub mod helper;
pub mod isolated;
mod launch;
pub mod mcp;
pub mod os;
pub mod policy;
pub mod process;
pub mod usage;
#[cfg(target_os = "linux")]
mod vfork;
pub mod watchdog;
#[cfg(windows)]
mod windows;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_local::paths::DataDir;
use switchboard_model::api::Event;
use switchboard_model::{ServerName, ServerSpec, ServerState, Sharing, Transport};
use switchboard_store::Store;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, broadcast, mpsc, oneshot, watch};

pub use actor::{Ack, Command};
use actor::{Actor, RestartLog};
use switchboard_mcp::logs::ServerLog;

use switchboard_credentials::oauth::OAuth;
use switchboard_credentials::secrets::Secrets;
use switchboard_mcp::jsonrpc::Frame;
use switchboard_mcp::upstream::Upstream;
use watchdog::Watchdog;

/// On catching up after a sleep or a network change, OAuth tokens that expire within this are
/// refreshed at once.
pub const CATCH_UP_REFRESH: Duration = Duration::from_secs(300);

/// Daemon-wide timing of supervision. Health checks are per server, in its spec.
#[derive(Clone, Debug)]
pub struct SupervisorConfig {
    pub backoff: policy::Backoff,
    /// Time between SIGTERM and SIGKILL when stopping (half of it again after closing stdin).
    pub stop_grace: Duration,
    /// Where Switchboard's OAuth client metadata document is published (an https URL), if
    /// anywhere: its client id at authorization servers that take such documents.
    pub oauth_client_metadata_url: Option<String>,
    /// How many processes may be starting (spawned and not yet through their handshake) at
    /// once; the rest wait, and their startup deadline counts from their turn.
    pub max_starts: usize,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            backoff: policy::Backoff::default(),
            stop_grace: Duration::from_secs(5),
            oauth_client_metadata_url: None,
            max_starts: 8,
        }
    }
}

/// What every actor shares.
#[derive(Debug)]
pub(crate) struct Shared {
    config: SupervisorConfig,
    store: Store,
    events: broadcast::Sender<Event>,
    watchdog: Option<Arc<Watchdog>>,
    data: DataDir,
    http: reqwest::Client,
    secrets: Secrets,
    oauth: Arc<OAuth>,
    /// Turns to start a process: [`SupervisorConfig::max_starts`] of them.
    starts: Arc<Semaphore>,
    /// Counts the machine's wakes, the daemon's thaws and network changes, for actors to catch
    /// up on.
    catch_up: watch::Sender<u64>,
}

impl Shared {
    /// Waits for a turn to start a process; held until its handshake is done.
    async fn start_turn(&self) -> Option<OwnedSemaphorePermit> {
        // The semaphore is never closed, so a turn always comes.
        Arc::clone(&self.starts).acquire_owned().await.ok()
    }

    fn watch(&self, pgid: u32) {
        if let Some(w) = &self.watchdog {
            w.watch(pgid);
        }
    }
    fn unwatch(&self, pgid: u32) {
        if let Some(w) = &self.watchdog {
            w.unwatch(pgid);
        }
    }
}

#[derive(Debug)]
struct Handle {
    commands: mpsc::Sender<Command>,
    state: watch::Receiver<ServerState>,
    log: Arc<ServerLog>,
    restarts: Arc<AtomicU32>,
    starts: Arc<AtomicU32>,
    wakes: Arc<AtomicU32>,
    upstream: watch::Receiver<Option<Arc<Upstream>>>,
    notices: broadcast::Sender<Frame>,
    spec: watch::Receiver<ServerSpec>,
    wake: Arc<Notify>,
    /// Processes its sessions have of their own now (per-session servers).
    isolated: Arc<AtomicU32>,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SupervisorError {
    #[error("no server named {0} is supervised; `switchboard ls` lists them")]
    Unknown(ServerName),
}

/// A snapshot of one supervised server.
#[derive(Clone, Debug)]
pub struct Snapshot {
    pub state: ServerState,
    pub restarts: u32,
    /// Runs started since the daemon started: restarts, wakes and the user's starts.
    pub starts: u32,
    /// Starts of it asleep, by a request that needed it.
    pub wakes: u32,
}

#[derive(Debug)]
pub struct Supervisor {
    shared: Arc<Shared>,
    servers: Mutex<BTreeMap<ServerName, Handle>>,
}

impl Supervisor {
    /// Runs helper processes under this supervisor's watchdog.
    pub fn helpers(&self) -> helper::Helpers {
        match &self.shared.watchdog {
            Some(watchdog) => helper::Helpers::watched(Arc::clone(watchdog) as Arc<dyn helper::GroupWatch>),
            None => helper::Helpers::unwatched(),
        }
    }

    pub fn new(
        config: SupervisorConfig,
        store: Store,
        events: broadcast::Sender<Event>,
        watchdog: Option<Arc<Watchdog>>,
        data: DataDir,
        secrets: Secrets,
    ) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        let client_metadata_url = config.oauth_client_metadata_url.clone();
        let starts = Arc::new(Semaphore::new(config.max_starts.max(1)));
        Self {
            shared: Arc::new(Shared {
                config,
                store,
                events,
                watchdog,
                data,
                http,
                oauth: Arc::new(OAuth::new(secrets.clone(), client_metadata_url)),
                secrets,
                starts,
                catch_up: watch::channel(0).0,
            }),
            servers: Mutex::default(),
        }
    }

    fn servers(&self) -> parking_lot::MutexGuard<'_, BTreeMap<ServerName, Handle>> {
        self.servers.lock()
    }

    /// Starts supervising `spec` (stopped; send [`Command::Start`] to run it).
    pub fn add(&self, spec: ServerSpec) {
        let (commands, inbox) = mpsc::channel(16);
        let (state_tx, state) = watch::channel(ServerState::Stopped);
        let log = Arc::new(ServerLog::new(self.shared.data.server_log(&spec.name)));
        let restarts = Arc::new(AtomicU32::new(0));
        let starts = Arc::new(AtomicU32::new(0));
        let wakes = Arc::new(AtomicU32::new(0));
        let (upstream_tx, upstream) = watch::channel(None);
        let (notices, _) = broadcast::channel(256);
        let (published, spec_rx) = watch::channel(spec.clone());
        let name = spec.name.clone();
        let wake = Arc::new(Notify::new());
        let actor = Actor {
            spec,
            shared: Arc::clone(&self.shared),
            commands: inbox,
            state: state_tx,
            log: Arc::clone(&log),
            restarts: Arc::clone(&restarts),
            starts: Arc::clone(&starts),
            history: RestartLog::default(),
            upstream: upstream_tx,
            notices: notices.clone(),
            published,
            wake: Arc::clone(&wake),
            wakes: Arc::clone(&wakes),
            lists_kept: false,
        };
        tokio::spawn(actor.run());
        self.servers().insert(
            name,
            Handle {
                commands,
                state,
                log,
                restarts,
                starts,
                wakes,
                upstream,
                notices,
                spec: spec_rx,
                wake,
                isolated: Arc::default(),
            },
        );
    }

    fn sender(&self, name: &ServerName) -> Result<mpsc::Sender<Command>, SupervisorError> {
        self.servers()
            .get(name)
            .map(|h| h.commands.clone())
            .ok_or_else(|| SupervisorError::Unknown(name.clone()))
    }

    /// Sends the command `make` builds and returns once the actor has acted on it.
    pub async fn command(
        &self,
        name: &ServerName,
        make: impl FnOnce(Ack) -> Command,
    ) -> Result<(), SupervisorError> {
        let sender = self.sender(name)?;
        let (ack, done) = oneshot::channel();
        // Sending or acknowledging fails only if the actor ended, which happens only on removal.
        if sender.send(make(ack)).await.is_ok() {
            let _ = done.await;
        }
        Ok(())
    }

    /// Stops a server, ends its actor and forgets it.
    pub async fn remove(&self, name: &ServerName) -> Result<(), SupervisorError> {
        self.command(name, Command::Shutdown).await?;
        self.servers().remove(name);
        Ok(())
    }

    /// Stops every server (in parallel) and forgets them: the daemon's clean shutdown.
    pub async fn shutdown(&self) {
        let names: Vec<ServerName> = self.servers().keys().cloned().collect();
        let stops = names.iter().map(|name| self.remove(name));
        futures_util::future::join_all(stops).await;
    }

    pub fn snapshot(&self, name: &ServerName) -> Option<Snapshot> {
        self.servers().get(name).map(|h| Snapshot {
            state: h.state.borrow().clone(),
            restarts: h.restarts.load(Ordering::Relaxed),
            starts: h.starts.load(Ordering::Relaxed),
            wakes: h.wakes.load(Ordering::Relaxed),
        })
    }

    pub fn log(&self, name: &ServerName) -> Option<Arc<ServerLog>> {
        self.servers().get(name).map(|h| Arc::clone(&h.log))
    }

    /// The world around the servers changed: the machine woke from sleep (or the daemon from a
    /// freeze), or the network changed. Every running server is checked at once, as if newly
    /// started; a restart waiting out its backoff happens now; a startup gets its whole
    /// deadline again; one that gave up as crash-looping tries again; and nothing that
    /// happened before counts towards a crash loop: failures while asleep or offline were not
    /// the servers'. Remote servers' OAuth tokens that expire within [`CATCH_UP_REFRESH`] are
    /// refreshed now, so the first call does not wait on an authorization server.
    pub fn catch_up(&self) {
        self.shared.catch_up.send_modify(|n| *n += 1);
        let remote: Vec<(ServerName, String)> = self
            .servers()
            .iter()
            .filter_map(|(name, handle)| match &handle.spec.borrow().transport {
                Transport::RemoteHttp { url, .. } => Some((name.clone(), url.clone())),
                _ => None,
            })
            .collect();
        let oauth = Arc::clone(&self.shared.oauth);
        tokio::spawn(async move {
            let refreshes = remote.iter().map(|(name, url)| {
                let oauth = &oauth;
                async move {
                    if let Err(e) = oauth.refresh_expiring(name, url, CATCH_UP_REFRESH).await {
                        tracing::warn!(server = %name, "could not refresh its login on catching up: {e}");
                    }
                }
            });
            futures_util::future::join_all(refreshes).await;
        });
    }

    /// Starts a sleeping server for a request that needs it. Wakes rung together start it
    /// once; one rung while it is not asleep is dropped when it next falls asleep.
    pub fn wake(&self, name: &ServerName) {
        if let Some(handle) = self.servers().get(name) {
            handle.wake.notify_one();
        }
    }

    /// A receiver that sees every state change of `name` from now on.
    pub fn watch_state(&self, name: &ServerName) -> Option<watch::Receiver<ServerState>> {
        self.servers().get(name).map(|h| h.state.clone())
    }

    /// The server's connection while it runs, and every replacement after a restart.
    pub fn upstream(&self, name: &ServerName) -> Option<watch::Receiver<Option<Arc<Upstream>>>> {
        self.servers().get(name).map(|h| h.upstream.clone())
    }

    /// Where secret values are read from at spawn.
    pub fn secrets(&self) -> &Secrets {
        &self.shared.secrets
    }

    /// The owner of remote servers' OAuth tokens.
    pub fn oauth(&self) -> &OAuth {
        &self.shared.oauth
    }

    /// The server's spec as its actor currently applies it.
    pub fn spec(&self, name: &ServerName) -> Option<ServerSpec> {
        self.servers().get(name).map(|h| h.spec.borrow().clone())
    }

    /// How the server's sessions share it (without copying the whole spec: this is per request).
    pub fn sharing(&self, name: &ServerName) -> Option<Sharing> {
        self.servers().get(name).map(|h| h.spec.borrow().sharing)
    }

    /// Whether the server sleeps until it is used (without copying the whole spec).
    pub fn on_demand(&self, name: &ServerName) -> bool {
        self.servers()
            .get(name)
            .is_some_and(|h| h.spec.borrow().start.on_demand())
    }

    /// Notifications the server sends outside any request, across all its runs.
    pub fn notices(&self, name: &ServerName) -> Option<broadcast::Receiver<Frame>> {
        self.servers().get(name).map(|h| h.notices.subscribe())
    }
}

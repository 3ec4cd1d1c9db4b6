//! The control layer: the operations the API offers, joining desired state to supervision.
//!
//! [`Control`] is what every client of the daemon drives, through the HTTP API. It validates
//! input, writes the store first (so a crash never leaves the supervisor ahead of the store),
//! then tells the supervisor, and announces changes as [`Event`]s. A request that fails
//! validation changes nothing. It knows nothing of HTTP: status codes are the API's mapping.
//!
//! It also owns pausing: while the daemon is paused (a flag in the store, apart from each
//! server's `enabled`), nothing starts a server, neither the daemon's start, nor `enable`,
//! nor an explicit start, which is refused saying how to resume.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use switchboard_credentials::oauth::{ClientCredentials, OAuthError};
use switchboard_credentials::secrets::{self, SecretsError};
use switchboard_model::api::{
    AddServer, DaemonStatus, Event, LogLine, LoginStarted, PauseState, RunRecord, SecretView, ServerCounts,
    ServerView, UnwrittenRecords,
};
use switchboard_model::{ServerName, ServerSpec, ServerState, SpecError, Transport, UnixMillis, ValueSource};
use switchboard_store::{Store, StoreError, StoredServer};
use switchboard_supervisor::usage::UsageSampler;
use switchboard_supervisor::{Ack, Command, Supervisor};
use tokio::sync::broadcast;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(
        "cannot find `{program}` for server {server} on the daemon's PATH; install it, or give its absolute path"
    )]
    ProgramNotFound { server: ServerName, program: String },
    #[error("the spec names server {body}, but the request is for {path}; renaming is not supported")]
    NameMismatch { path: ServerName, body: ServerName },
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("server {server} has no secret {name}; `switchboard secrets ls {server}` lists them")]
    NoSuchSecret { server: ServerName, name: String },
    #[error(transparent)]
    OAuth(#[from] OAuthError),
    #[error("server {0} is not a remote server; only remote servers sign in with OAuth")]
    NotRemote(ServerName),
    #[error(transparent)]
    PackageDir(#[from] crate::packages::PackageDirError),
    #[error("Switchboard is paused, so {0} does not start; `switchboard resume` starts servers again")]
    Paused(ServerName),
}

/// A spec's env vars (headers, for a remote server): where a secret can be referred to.
fn named_values(spec: &mut ServerSpec) -> &mut std::collections::BTreeMap<String, ValueSource> {
    match &mut spec.transport {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &mut launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    }
}

/// Each (env var or header, keychain name) the spec refers to.
fn secret_refs(spec: &ServerSpec) -> Vec<(String, String)> {
    let values = match &spec.transport {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    };
    values
        .iter()
        .filter_map(|(field, value)| match value {
            ValueSource::Secret { secret } => Some((field.clone(), secret.clone())),
            ValueSource::Literal(_) => None,
        })
        .collect()
}

/// The URL of a remote server: what its OAuth login is bound to.
fn remote_url(spec: &ServerSpec) -> Option<&str> {
    match &spec.transport {
        Transport::RemoteHttp { url, .. } => Some(url),
        Transport::Stdio(_) | Transport::LocalHttp { .. } => None,
    }
}

/// Facts about the running daemon, for `status`.
#[derive(Clone, Debug)]
pub struct DaemonFacts {
    pub pid: u32,
    pub port: u16,
    pub data_dir: String,
    pub started_at_ms: UnixMillis,
}

#[derive(Debug)]
pub struct Control {
    store: Store,
    supervisor: Arc<Supervisor>,
    events: broadcast::Sender<Event>,
    usage: Arc<UsageSampler>,
    facts: DaemonFacts,
    /// Serialises changes to the set of servers, so add/remove/update never interleave.
    changes: tokio::sync::Mutex<()>,
    /// Whether every server is paused: the store's flag, mirrored for readers that cannot wait.
    paused: AtomicBool,
    /// Read-held by whatever starts a server, write-held by pause and resume, so no start
    /// slips in after a pause has stopped everything.
    starts: tokio::sync::RwLock<()>,
}

impl Control {
    pub fn new(
        store: Store,
        supervisor: Arc<Supervisor>,
        events: broadcast::Sender<Event>,
        facts: DaemonFacts,
    ) -> Self {
        tokio::spawn(announce_unwritten(store.unwritten().changes(), events.clone()));
        Self {
            store,
            supervisor,
            events,
            usage: Arc::default(),
            facts,
            changes: tokio::sync::Mutex::new(()),
            paused: AtomicBool::new(false),
            starts: tokio::sync::RwLock::new(()),
        }
    }

    /// Supervises every stored server and starts the enabled ones, unless the daemon is
    /// paused: desired state restored.
    pub async fn restore(&self) -> Result<usize, ControlError> {
        let _starts = self.starts.write().await;
        let paused = self.recall_pause().await?;
        if paused {
            tracing::info!("servers are paused; `switchboard resume` starts them");
        }
        let servers = self.store.servers().await?;
        let mut started = 0;
        for StoredServer { spec, enabled } in servers {
            let name = spec.name.clone();
            self.supervisor.add(spec);
            if enabled && !paused {
                self.command(&name, Command::Arm).await?;
                started += 1;
            }
        }
        Ok(started)
    }

    /// Reads from the store whether every server is paused (before anything is served, so
    /// the first `status` already says so).
    pub async fn recall_pause(&self) -> Result<bool, ControlError> {
        let paused = self.store.paused().await?;
        self.paused.store(paused, Ordering::SeqCst);
        Ok(paused)
    }

    /// Whether every server is paused (`switchboard pause`).
    pub fn is_paused(&self) -> bool {
        self.paused.load(Ordering::SeqCst)
    }

    /// Pauses every server: records it, then stops each one that runs or is on its way up,
    /// leaving every server's `enabled` as it is. Nothing starts until [`Control::resume`].
    pub async fn pause(&self) -> Result<PauseState, ControlError> {
        let _starts = self.starts.write().await;
        self.store.set_paused(true).await?;
        let was = self.paused.swap(true, Ordering::SeqCst);
        let up: Vec<ServerName> = self
            .store
            .servers()
            .await?
            .into_iter()
            .map(|s| s.spec.name)
            .filter(|name| self.supervisor.snapshot(name).is_some_and(|s| is_up(&s.state)))
            .collect();
        // Announced first: the gateway, which follows events, then says why servers stop.
        if !was {
            self.announce(Event::Paused);
        }
        let stops = up.iter().map(|name| self.command(name, Command::Stop));
        futures_util::future::join_all(stops).await;
        if !was {
            tracing::info!("paused: stopped {} servers", up.len());
        }
        Ok(PauseState {
            paused: true,
            servers: up,
        })
    }

    /// Ends a pause: clears the flag and starts every enabled server that is not up already,
    /// as the daemon's start does.
    pub async fn resume(&self) -> Result<PauseState, ControlError> {
        let _starts = self.starts.write().await;
        self.store.set_paused(false).await?;
        let was = self.paused.swap(false, Ordering::SeqCst);
        let mut started = Vec::new();
        for StoredServer { spec, enabled } in self.store.servers().await? {
            let up = self
                .supervisor
                .snapshot(&spec.name)
                .is_some_and(|s| is_up(&s.state));
            if enabled && !up {
                self.command(&spec.name, Command::Arm).await?;
                started.push(spec.name);
            }
        }
        if was {
            tracing::info!("resumed: started {} servers", started.len());
            self.announce(Event::Resumed);
        }
        Ok(PauseState {
            paused: false,
            servers: started,
        })
    }

    pub fn supervisor(&self) -> &Supervisor {
        &self.supervisor
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.events.subscribe()
    }

    /// Sends an event to every subscriber (the API's event stream, the gateway).
    pub fn announce(&self, event: Event) {
        let _ = self.events.send(event);
    }

    pub async fn list(&self) -> Result<Vec<ServerView>, ControlError> {
        let stored = self.store.servers().await?;
        Ok(self.views(stored).await)
    }

    pub async fn get(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        let stored = self.stored(name).await?;
        Ok(self.views(vec![stored]).await.remove(0))
    }

    async fn stored(&self, name: &ServerName) -> Result<StoredServer, ControlError> {
        self.store
            .servers()
            .await?
            .into_iter()
            .find(|s| &s.spec.name == name)
            .ok_or_else(|| StoreError::NotFound(name.clone()).into())
    }

    async fn views(&self, stored: Vec<StoredServer>) -> Vec<ServerView> {
        let snapshots: Vec<_> = stored
            .iter()
            .map(|s| self.supervisor.snapshot(&s.spec.name))
            .collect();
        let pids: Vec<u32> = snapshots.iter().flatten().filter_map(|s| s.state.pid()).collect();
        let usage = if pids.is_empty() {
            Default::default()
        } else {
            let sampler = Arc::clone(&self.usage);
            tokio::task::spawn_blocking(move || sampler.sample(&pids))
                .await
                .unwrap_or_default()
        };
        stored
            .into_iter()
            .zip(snapshots)
            .map(|(StoredServer { spec, enabled }, snapshot)| {
                let (status, restarts) =
                    snapshot.map_or((ServerState::Stopped, 0), |s| (s.state, s.restarts));
                let usage = status.pid().and_then(|pid| usage.get(&pid).copied());
                ServerView {
                    spec,
                    enabled,
                    status,
                    restarts,
                    usage,
                }
            })
            .collect()
    }

    /// Checks what can be checked before anything is written.
    fn check(spec: &ServerSpec) -> Result<(), ControlError> {
        spec.validate()?;
        if let Some(launch) = spec.launch() {
            let path = match launch.env.get("PATH") {
                Some(ValueSource::Literal(p)) => Some(std::ffi::OsString::from(p)),
                _ => std::env::var_os("PATH"),
            };
            if switchboard_supervisor::os::find_program(
                &launch.command,
                path.as_deref(),
                launch.cwd.as_deref(),
            )
            .is_none()
            {
                return Err(ControlError::ProgramNotFound {
                    server: spec.name.clone(),
                    program: launch.command.clone(),
                });
            }
        }
        Ok(())
    }

    /// `<data>/packages`, under which each server's package directories lie.
    fn packages(&self) -> std::path::PathBuf {
        std::path::Path::new(&self.facts.data_dir).join("packages")
    }

    /// A spec's package directory, which an update removes, is one of its own server's.
    fn check_package_dir(&self, spec: &ServerSpec) -> Result<(), ControlError> {
        if let Some(dir) = spec
            .origin
            .as_ref()
            .and_then(|origin| origin.package_dir.as_deref())
        {
            crate::packages::contained(&self.packages(), &spec.name, dir)?;
        }
        Ok(())
    }

    pub async fn add(&self, request: AddServer) -> Result<ServerView, ControlError> {
        let _guard = self.changes.lock().await;
        let AddServer {
            mut spec,
            enabled,
            secrets: given,
        } = request;
        Self::check(&spec)?;
        self.check_package_dir(&spec)?;
        if self
            .store
            .servers()
            .await?
            .iter()
            .any(|s| s.spec.name == spec.name)
        {
            return Err(StoreError::Exists(spec.name).into());
        }
        // Credentials go to the keychain, never into the database; the spec names them.
        let secrets = self.supervisor.secrets();
        let kept = secrets::keep_in_keychain(secrets, &spec.name, &mut spec.transport, &given, false).await?;
        if let Err(e) = self.store.insert_server(&spec, enabled).await {
            for name in &kept {
                let _ = secrets.delete(&secrets::key(&spec.name, name)).await;
            }
            return Err(e.into());
        }
        let request = AddServer {
            spec,
            enabled,
            secrets: Default::default(),
        };
        let name = request.spec.name.clone();
        // A new server starts without a login, even one a removal could not delete.
        if let Err(error) = self.supervisor.oauth().forget_server(&name, false).await {
            tracing::warn!(%name, %error, "could not clear a login left under a new server's name");
        }
        self.supervisor.add(request.spec);
        self.announce(Event::ServerAdded { name: name.clone() });
        if request.enabled {
            let _starts = self.starts.read().await;
            if !self.is_paused() {
                self.command(&name, Command::Arm).await?;
            }
        }
        self.get(&name).await
    }

    pub async fn update(&self, name: &ServerName, mut spec: ServerSpec) -> Result<ServerView, ControlError> {
        if &spec.name != name {
            return Err(ControlError::NameMismatch {
                path: name.clone(),
                body: spec.name,
            });
        }
        let _guard = self.changes.lock().await;
        Self::check(&spec)?;
        self.check_package_dir(&spec)?;
        let view = self.get(name).await?;
        // As in `add`: a credential given as a literal goes to the keychain, not the database.
        let secrets = self.supervisor.secrets();
        let kept =
            secrets::keep_in_keychain(secrets, name, &mut spec.transport, &Default::default(), false).await?;
        let before = self.supervisor.spec(name);
        if let Err(e) = self.store.update_spec(&spec).await {
            for field in &kept {
                let _ = secrets.delete(&secrets::key(name, field)).await;
            }
            return Err(e.into());
        }
        // A login belongs to the URL it was made for: a new URL (or transport) starts without.
        // Should the keychain fail here, `OAuth::token` still refuses the grant for the new URL.
        if before.is_some_and(|before| remote_url(&before) != remote_url(&spec))
            && let Err(error) = self.supervisor.oauth().forget_server(name, true).await
        {
            tracing::warn!(%name, %error, "could not delete the login of a server whose URL changed");
        }
        let failing = view.enabled && is_failing(&view.status);
        self.command(name, |ack| Command::Replace(Box::new(spec), ack))
            .await?;
        self.announce(Event::ServerChanged { name: name.clone() });
        // A failing server whose settings change is being fixed: try the fix at once (not
        // while paused). The change is saved either way.
        if failing && let Err(error) = self.unpaused_command(name, Command::Start).await {
            tracing::info!(%name, %error, "saved the change; not starting it now");
        }
        self.get(name).await
    }

    pub async fn remove(&self, name: &ServerName) -> Result<(), ControlError> {
        let _guard = self.changes.lock().await;
        let spec = self.supervisor.spec(name);
        self.store.remove_server(name).await?;
        // Gone from the store, so it cannot come back; now end what runs.
        let _ = self.supervisor.remove(name).await;
        if let Err(error) = self.supervisor.oauth().forget_server(name, false).await {
            tracing::warn!(%name, %error, "could not delete a removed server's OAuth login");
        }
        // Only its own secrets: a spec stored before references were checked may name others'.
        let own = |key: &String| {
            key.split_once('/')
                .is_some_and(|(owner, _)| owner == name.as_str())
        };
        for (_, key) in spec.iter().flat_map(secret_refs).filter(|(_, key)| own(key)) {
            if let Err(error) = self.supervisor.secrets().delete(&key).await {
                tracing::warn!(%key, %error, "could not delete a removed server's secret");
            }
        }
        if let Err(error) = crate::packages::remove_server(&self.packages(), name).await {
            tracing::warn!(%name, %error, "could not remove a removed server's package files");
        }
        self.announce(Event::ServerRemoved { name: name.clone() });
        Ok(())
    }

    /// Starts an OAuth login for remote server `name`, as `client` if the user registered one;
    /// the answer is the page to open.
    pub async fn login(
        &self,
        name: &ServerName,
        client: Option<ClientCredentials>,
    ) -> Result<LoginStarted, ControlError> {
        let spec = self.get(name).await?.spec;
        let Transport::RemoteHttp { url, .. } = &spec.transport else {
            return Err(ControlError::NotRemote(name.clone()));
        };
        let login = self.supervisor.oauth().begin(name, url, client).await?;
        Ok(LoginStarted {
            authorization_url: login.authorization_url,
        })
    }

    /// Waits for the login `login` started, then restarts the server with its new token.
    pub async fn finish_login(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.supervisor.oauth().wait(name).await?;
        self.restart_to_apply(name).await
    }

    /// Forgets `name`'s OAuth tokens and restarts it without them.
    pub async fn logout(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        if !self.supervisor.oauth().logout(name).await? {
            return Err(ControlError::OAuth(OAuthError::NoLogin { server: name.clone() }));
        }
        let view = self.get(name).await?;
        match view.status {
            ServerState::Stopped => Ok(view),
            _ => self.restart_to_apply(name).await,
        }
    }

    /// The secrets `name`'s spec refers to, and whether each has a value.
    pub async fn secrets(&self, name: &ServerName) -> Result<Vec<SecretView>, ControlError> {
        let spec = self.get(name).await?.spec;
        let mut views = Vec::new();
        for (field, key) in secret_refs(&spec) {
            let set = self.supervisor.secrets().get(&key).await?.is_some();
            views.push(SecretView {
                name: field,
                key,
                set,
            });
        }
        Ok(views)
    }

    /// Stores `value` as secret `field` of `name` and points the spec's env var (or, for a
    /// remote server, header) of that name at it; a running server restarts to see it.
    pub async fn set_secret(
        &self,
        name: &ServerName,
        field: &str,
        value: &str,
    ) -> Result<ServerView, ControlError> {
        let mut spec = self.get(name).await?.spec;
        let key = secrets::key(name, field);
        let reference = ValueSource::Secret { secret: key.clone() };
        let values = named_values(&mut spec);
        let unchanged = values.get(field) == Some(&reference);
        values.insert(field.to_owned(), reference);
        spec.validate()?;
        self.supervisor.secrets().set(&key, value).await?;
        if unchanged {
            let view = self.get(name).await?;
            return match view.status {
                ServerState::Stopped => Ok(view),
                ServerState::Failed { .. } if !view.enabled => Ok(view),
                _ => self.restart_to_apply(name).await,
            };
        }
        self.update(name, spec).await
    }

    /// Deletes secret `field` of `name` and the spec's reference to it.
    pub async fn unset_secret(&self, name: &ServerName, field: &str) -> Result<ServerView, ControlError> {
        let mut spec = self.get(name).await?.spec;
        let key = secrets::key(name, field);
        let referenced = matches!(
            named_values(&mut spec).get(field),
            Some(ValueSource::Secret { .. })
        );
        let deleted = self.supervisor.secrets().delete(&key).await?;
        if !referenced && !deleted {
            return Err(ControlError::NoSuchSecret {
                server: name.clone(),
                name: field.to_owned(),
            });
        }
        if referenced {
            named_values(&mut spec).remove(field);
            return self.update(name, spec).await;
        }
        self.get(name).await
    }

    /// Starts `name` now; refused while paused (resuming is how servers start again).
    pub async fn start(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.unpaused_command(name, Command::Start).await?;
        self.get(name).await
    }

    /// Restarts `name`; refused while paused, like a start.
    pub async fn restart(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.unpaused_command(name, Command::Restart).await?;
        self.get(name).await
    }

    /// Restarts `name` so it sees a new login or secret; while paused it only answers its view,
    /// since it starts with them on resume.
    async fn restart_to_apply(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        if self.is_paused() {
            return self.get(name).await;
        }
        self.restart(name).await
    }

    /// Sends a command that starts the server, unless the daemon is paused.
    async fn unpaused_command(
        &self,
        name: &ServerName,
        make: impl FnOnce(Ack) -> Command,
    ) -> Result<(), ControlError> {
        let _starts = self.starts.read().await;
        if self.is_paused() {
            self.stored(name).await?;
            return Err(ControlError::Paused(name.clone()));
        }
        self.command(name, make).await
    }

    /// Stops now; the desired state is unchanged, so it comes back with the daemon.
    pub async fn stop(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.command(name, Command::Stop).await?;
        self.get(name).await
    }

    /// Waits until `name` is settled (running, stopped, failed or crash-looping) or `patience`
    /// has passed, and returns it as it is then.
    pub async fn settle(&self, name: &ServerName, patience: Duration) -> Result<ServerView, ControlError> {
        if let Some(mut state) = self.supervisor.watch_state(name) {
            let _ = tokio::time::timeout(patience, state.wait_for(ServerState::is_settled)).await;
        }
        self.get(name).await
    }

    /// Enables `name` and starts it, or, while paused, only enables it: it starts on resume.
    pub async fn enable(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.store.set_enabled(name, true).await?;
        self.announce(Event::ServerChanged { name: name.clone() });
        let _starts = self.starts.read().await;
        if !self.is_paused() {
            self.command(name, Command::Arm).await?;
        }
        self.get(name).await
    }

    pub async fn disable(&self, name: &ServerName) -> Result<ServerView, ControlError> {
        self.store.set_enabled(name, false).await?;
        self.announce(Event::ServerChanged { name: name.clone() });
        self.stop(name).await
    }

    async fn command(
        &self,
        name: &ServerName,
        make: impl FnOnce(Ack) -> Command,
    ) -> Result<(), ControlError> {
        self.supervisor
            .command(name, make)
            .await
            .map_err(|_| StoreError::NotFound(name.clone()).into())
    }

    pub fn logs(&self, name: &ServerName, lines: usize) -> Result<Vec<LogLine>, ControlError> {
        let log = self
            .supervisor
            .log(name)
            .ok_or_else(|| StoreError::NotFound(name.clone()))?;
        Ok(log.tail(lines))
    }

    /// The last `lines` lines and a receiver for every later one.
    pub fn follow_logs(
        &self,
        name: &ServerName,
        lines: usize,
    ) -> Result<(Vec<LogLine>, broadcast::Receiver<LogLine>), ControlError> {
        let log = self
            .supervisor
            .log(name)
            .ok_or_else(|| StoreError::NotFound(name.clone()))?;
        // Subscribe first: a line pushed in between shows up in both, and the API drops it by seq.
        let live = log.subscribe();
        Ok((log.tail(lines), live))
    }

    pub async fn runs(&self, name: &ServerName, limit: u32) -> Result<Vec<RunRecord>, ControlError> {
        self.stored(name).await?;
        Ok(self.store.runs(name, limit).await?)
    }

    pub async fn status(&self) -> Result<DaemonStatus, ControlError> {
        let stored = self.store.servers().await?;
        let mut counts = ServerCounts {
            total: u32::try_from(stored.len()).unwrap_or(u32::MAX),
            ..Default::default()
        };
        for s in &stored {
            match self.supervisor.snapshot(&s.spec.name).map(|s| s.state) {
                Some(ServerState::Running { .. }) => counts.running += 1,
                Some(ServerState::Sleeping { .. }) => counts.sleeping += 1,
                Some(
                    ServerState::Failed { .. }
                    | ServerState::CrashLooping { .. }
                    | ServerState::BackingOff { .. },
                ) => {
                    counts.failing += 1;
                }
                _ => {}
            }
        }
        Ok(DaemonStatus {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            pid: self.facts.pid,
            port: self.facts.port,
            data_dir: self.facts.data_dir.clone(),
            started_at_ms: self.facts.started_at_ms,
            servers: counts,
            // The gateway's to count; the API adds it.
            sessions: 0,
            unwritten: self.store.unwritten().snapshot(),
            paused: self.is_paused(),
            secrets_store: self.supervisor.secrets().describe(),
        })
    }

    /// Stops every server: the daemon's clean shutdown.
    pub async fn shutdown(&self) {
        self.supervisor.shutdown().await;
    }
}

/// Failed, or given up on after a crash loop: a change of its settings may be the fix.
fn is_failing(state: &ServerState) -> bool {
    matches!(
        state,
        ServerState::Failed { .. } | ServerState::CrashLooping { .. }
    )
}

/// Running, asleep until used, or on its way up: what a pause stops and a resume need not
/// start.
fn is_up(state: &ServerState) -> bool {
    matches!(
        state,
        ServerState::Starting { .. }
            | ServerState::Running { .. }
            | ServerState::Sleeping { .. }
            | ServerState::BackingOff { .. }
    )
}

/// Says when records start or stop going unwritten (a full disk), in the log and as an event.
async fn announce_unwritten(
    mut changes: broadcast::Receiver<UnwrittenRecords>,
    events: broadcast::Sender<Event>,
) {
    let mut failing = false;
    loop {
        let now = match changes.recv().await {
            Ok(now) => now,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        match (&now.problem, failing) {
            (Some(problem), false) => tracing::warn!("records are not being written: {problem}"),
            (None, true) => tracing::info!(
                "records are written again ({} tool calls and {} runs were lost meanwhile)",
                now.calls_lost,
                now.runs_lost
            ),
            _ => continue,
        }
        failing = now.problem.is_some();
        let _ = events.send(Event::RecordsUnwritten { records: now });
    }
}

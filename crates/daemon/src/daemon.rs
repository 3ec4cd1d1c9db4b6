//! Starting and stopping the daemon: the order in which the parts come up and go down.
//!
//! [`run`] takes the data directory's lock (one daemon per directory), waits out a previous
//! daemon's watchdog, starts its own, opens the store, binds the loopback listener, publishes
//! `daemon.json` for clients, restores desired state, and serves until told to stop; then it
//! stops every server before exiting. Everything it does is logged through `tracing`.

use std::fs::File;
use std::path::PathBuf;
use std::sync::Arc;

use switchboard_credentials::secrets::{self, Secrets};
use switchboard_gateway::{self as gateway, Gateway, GatewayConfig, Servers};
use switchboard_http::serve;
use switchboard_local::address::{self, AddressError};
use switchboard_local::paths::{DataDir, PathsError};
use switchboard_local::token::{ControlToken, TokenError};
use switchboard_model::api::DaemonInfo;
use switchboard_model::now_millis;
use switchboard_registry::{Registry, RegistryError};
use switchboard_store::{Store, StoreError};
use switchboard_supervisor::watchdog::{Watchdog, WatchdogError};
use switchboard_supervisor::{Supervisor, SupervisorConfig};
use tokio::sync::broadcast;

use crate::api::{self, Guard};
use crate::client_config::{ClientConfigError, ClientConfigs};
use crate::control::{Control, ControlError, DaemonFacts};
use crate::install::Installer;
use crate::registry_cache::RegistryCache;
use crate::tailnet::{self, Tailnet, TailnetError};
use crate::web::{self, BrowserSessions};

#[derive(Clone, Debug)]
pub struct DaemonConfig {
    pub data_dir: PathBuf,
    /// 0 picks a free port (tests); clients find it in `daemon.json`.
    pub port: u16,
    /// The `switchboard` binary, beside which `switchboard-watchdog` is, and written into clients'
    /// configs as the `switchboard connect` shim.
    pub program: PathBuf,
    pub supervisor: SupervisorConfig,
    pub gateway: GatewayConfig,
    /// Base URL of the MCP registry installs come from.
    pub registry: String,
    /// Keep secrets in a 0600 file in the data directory instead of the OS keychain: the
    /// explicit opt-in for machines that have none.
    pub secrets_in_file: bool,
    /// The port of the tailnet listener on this node's Tailscale addresses.
    pub tailnet_port: u16,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    #[error(transparent)]
    Paths(#[from] PathsError),
    #[error(
        "a Switchboard daemon{pid} is already running for {data_dir}; use it, stop it first, or set SWITCHBOARD_HOME to use another data directory"
    )]
    AlreadyRunning { data_dir: PathBuf, pid: String },
    #[error("cannot lock {path}: {source}")]
    Lock { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Watchdog(#[from] WatchdogError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] gateway::StartError),
    #[error(transparent)]
    Token(#[from] TokenError),
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(
        "port {port} on 127.0.0.1 is already in use; stop what uses it, or start with --port or SWITCHBOARD_PORT set to another port"
    )]
    PortInUse { port: u16 },
    #[error(
        "cannot open the control socket {path}: {source}; check the data directory's permissions and free space"
    )]
    ControlSocket { path: PathBuf, source: std::io::Error },
    #[error(
        "cannot create the control pipe {name}: {source}; if another program (or another daemon for the same data directory) holds it, close it and start again; a pipe name is at most 256 characters, so a longer data directory path needs a shorter SWITCHBOARD_HOME"
    )]
    ControlPipe { name: String, source: std::io::Error },
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error(transparent)]
    WriteInfo(#[from] AddressError),
    #[error(transparent)]
    ClientConfigs(#[from] ClientConfigError),
    #[error(transparent)]
    Tailnet(#[from] TailnetError),
    #[error("cannot restore servers: {0}")]
    Restore(#[from] ControlError),
}

/// Runs the daemon until `shutdown` completes (or `POST /api/v1/shutdown` asks), then stops
/// every server.
pub async fn run(config: DaemonConfig, shutdown: impl Future<Output = ()>) -> Result<(), DaemonError> {
    let data = DataDir::create(config.data_dir.clone())?;
    let _lock = lock(&data)?;
    make_private(&data)?;
    #[cfg(unix)]
    switchboard_supervisor::process::raise_fd_limit();
    let watchdog = Arc::new(start_watchdog(&config.program, &data).await?);
    let store = open_store(&data).await?;
    let token = ControlToken::load_or_create(&data.control_token())?;
    let (listener, port) = bind_loopback(config.port).await?;

    let asked_to_stop = Arc::new(tokio::sync::Notify::new());
    let rooms = Rooms::build(config, &data, store, &watchdog, port, &asked_to_stop).await?;
    let app = rooms.router(port, token);
    // The CLI and the app reach the daemon here, where only this user can connect: a program
    // squatting on the port never sees the control token.
    #[cfg(unix)]
    let socket_server = {
        let path = data.control_socket();
        let socket = serve::bind_private_socket(&path)
            .map_err(|source| DaemonError::ControlSocket { path, source })?;
        tokio::spawn(serve::accept_unix(socket, app.clone()))
    };
    #[cfg(windows)]
    let pipe_server = {
        let name = data.control_pipe();
        let pipe = serve::bind_private_pipe(&name).map_err(|source| DaemonError::ControlPipe {
            name: name.clone(),
            source,
        })?;
        tokio::spawn(serve::accept_pipe(name, pipe, app.clone()))
    };
    let server = tokio::spawn(serve::accept(listener, app));

    write_info(&data, port)?;
    tracing::info!(
        "listening on http://127.0.0.1:{port}, data in {}",
        data.root().display()
    );
    let started = rooms.control.restore().await?;
    tracing::info!("started {started} enabled servers");

    tokio::select! {
        () = shutdown => {}
        () = asked_to_stop.notified() => tracing::info!("asked to stop through the API"),
    }
    tracing::info!("shutting down: stopping servers");
    rooms.control.shutdown().await;
    // After the servers: calls that ended while they stopped are in the history too.
    rooms.gateway.history.flush().await;
    // Event streams never end on their own, so the listener is dropped rather than drained.
    server.abort();
    #[cfg(unix)]
    {
        socket_server.abort();
        let _ = std::fs::remove_file(data.control_socket());
    }
    #[cfg(windows)]
    pipe_server.abort();
    let _ = std::fs::remove_file(data.daemon_info());
    // The database file alone now holds everything, for backups and sync tools.
    rooms.control.store().close().await;
    watchdog.release();
    Ok(())
}

/// Makes the data directory this user's alone, saying what others could read before.
fn make_private(data: &DataDir) -> Result<(), DaemonError> {
    let exposed = data.make_private()?;
    if !exposed.is_empty() {
        let paths: Vec<String> = exposed.iter().map(|p| p.display().to_string()).collect();
        tracing::warn!(
            "made private to this user (others could read them): {}",
            paths.join(", ")
        );
    }
    Ok(())
}

async fn start_watchdog(program: &std::path::Path, data: &DataDir) -> Result<Watchdog, DaemonError> {
    let (program, lock) = (program.to_owned(), data.watchdog_lock());
    let watchdog = tokio::task::spawn_blocking(move || Watchdog::start(&program, &lock))
        .await
        .map_err(|e| WatchdogError::NotReady {
            detail: e.to_string(),
        })??;
    Ok(watchdog)
}

/// The store, kept durable in the background, with the runs a dead daemon left open closed.
async fn open_store(data: &DataDir) -> Result<Store, DaemonError> {
    let store = Store::open(&data.database()).await?;
    tokio::spawn(switchboard_store::keep_durable(store.clone()));
    let orphaned = store.close_orphaned_runs().await?;
    if orphaned > 0 {
        tracing::warn!("{orphaned} server runs were left open by a daemon that died; recorded as lost");
    }
    Ok(store)
}

/// The loopback listener on `port` (0 picks one), and the port it got.
async fn bind_loopback(port: u16) -> Result<(tokio::net::TcpListener, u16), DaemonError> {
    let bind_failed = |source| DaemonError::Bind { port, source };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .map_err(|source| match source.kind() {
            std::io::ErrorKind::AddrInUse => DaemonError::PortInUse { port },
            _ => bind_failed(source),
        })?;
    let bound = listener.local_addr().map_err(bind_failed)?.port();
    Ok((listener, bound))
}

/// The daemon's rooms, wired: what the API serves and shutdown stops.
struct Rooms {
    control: Arc<Control>,
    gateway: Arc<Gateway>,
    services: api::Services,
    browsers: Arc<BrowserSessions>,
    client_metadata_url: Option<String>,
}

impl Rooms {
    async fn build(
        config: DaemonConfig,
        data: &DataDir,
        store: Store,
        watchdog: &Arc<Watchdog>,
        port: u16,
        asked_to_stop: &Arc<tokio::sync::Notify>,
    ) -> Result<Self, DaemonError> {
        let (events, _) = broadcast::channel(1024);
        let secrets = match config.secrets_in_file {
            true => Secrets::file(data.root().join("secrets.json")),
            false => Secrets::keychain(keychain_service(data.root())),
        };
        let (registry, tailnet_port) = (config.registry.clone(), config.tailnet_port);
        let client_metadata_url = config.supervisor.oauth_client_metadata_url.clone();
        let supervisor = Arc::new(Supervisor::new(
            config.supervisor,
            store.clone(),
            events.clone(),
            Some(Arc::clone(watchdog)),
            data.clone(),
            secrets.clone(),
        ));
        let facts = DaemonFacts {
            pid: std::process::id(),
            port,
            data_dir: data.root().display().to_string(),
            started_at_ms: now_millis(),
        };
        let servers = Servers {
            store: store.clone(),
            supervisor: Arc::clone(&supervisor),
            events: events.clone(),
        };
        crate::wake::follow(Arc::clone(&supervisor), events.clone());
        let control = Arc::new(Control::new(store, supervisor, events, facts));
        control.recall_pause().await?;
        let gateway = Gateway::start(servers, config.gateway).await?;
        let client_configs = ClientConfigs::new(
            Arc::clone(&control),
            Arc::clone(&gateway),
            port,
            &config.program,
            data.root(),
            data.journal(),
        )?;
        client_configs.watch_drift();
        let installer = start_installer(&registry, &control, secrets, data)?;
        let tailnet = Tailnet::start(
            tailnet::local_api_from_env(),
            Arc::clone(&control),
            Arc::clone(&gateway),
            tailnet_port,
            data.serve_socket(),
        )
        .await?;
        let browsers = Arc::new(BrowserSessions::default());
        let services = api::Services {
            control: Arc::clone(&control),
            gateway: Arc::clone(&gateway),
            client_configs,
            installer,
            tailnet,
            browsers: Arc::clone(&browsers),
            shutdown: Arc::clone(asked_to_stop),
        };
        Ok(Self {
            control,
            gateway,
            services,
            browsers,
            client_metadata_url,
        })
    }

    /// Every listener's routes on one router: the API, the gateway, the dashboard and the
    /// OAuth client metadata.
    fn router(&self, port: u16, token: ControlToken) -> axum::Router {
        let guard = Guard {
            port,
            token,
            browsers: Arc::clone(&self.browsers),
        };
        api::router(self.services.clone(), guard)
            .merge(gateway::http::router(Arc::clone(&self.gateway), port))
            .merge(web::router(port))
            .merge(web::client_metadata_router(self.client_metadata_url.clone()))
    }
}

/// The installer over `registry`, its runtimes searched now in the background so the first
/// install does not wait.
fn start_installer(
    registry: &str,
    control: &Arc<Control>,
    secrets: Secrets,
    data: &DataDir,
) -> Result<Arc<Installer>, DaemonError> {
    let cache = Arc::new(RegistryCache::new(
        Registry::new(registry)?,
        control.store().clone(),
    ));
    let installer = Arc::new(Installer::new(
        Arc::clone(control),
        cache,
        secrets,
        data.packages(),
    ));
    tokio::spawn({
        let installer = Arc::clone(&installer);
        async move { installer.runtimes().await }
    });
    Ok(installer)
}

/// One keychain service per data directory, so two daemons' secrets never mix; the default
/// directory's is plainly `switchboard`.
fn keychain_service(root: &std::path::Path) -> String {
    let default = switchboard_local::paths::data_dir_for(switchboard_model::Os::current(), |key| {
        (key != "SWITCHBOARD_HOME")
            .then(|| std::env::var_os(key))
            .flatten()
    });
    match default {
        Ok(default) if default == root => secrets::SERVICE.to_owned(),
        _ => format!("{}@{}", secrets::SERVICE, root.display()),
    }
}

fn lock(data: &DataDir) -> Result<File, DaemonError> {
    let path = data.daemon_lock();
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| DaemonError::Lock {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => {
            let pid = address::read(data)
                .map(|info| format!(" (pid {})", info.pid))
                .unwrap_or_default();
            Err(DaemonError::AlreadyRunning {
                data_dir: data.root().to_owned(),
                pid,
            })
        }
        Err(std::fs::TryLockError::Error(source)) => Err(DaemonError::Lock { path, source }),
    }
}

/// Publishes how to reach this daemon, atomically (write, then rename).
fn write_info(data: &DataDir, port: u16) -> Result<(), DaemonError> {
    let info = DaemonInfo {
        pid: std::process::id(),
        port,
        version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    Ok(address::publish(data, &info)?)
}

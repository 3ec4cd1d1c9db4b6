//! This machine's Tailscale, and the servers Switchboard offers on it.
//!
//! [`Tailnet`] asks tailscaled's LocalAPI (through the tailnet crate) for its state on each
//! status request, so the answer is never stale and a daemon started before Tailscale needs no
//! restart. It owns which servers are exposed ([`exposure`]) and keeps the tailnet listener
//! ([`listener`]) open exactly while Tailscale runs and a server is exposed, following
//! Tailscale as it stops, starts or changes address. From the other side, [`peers`] finds
//! tailnet peers that run Switchboard and adds their servers here as remote servers.
//! Serving MCP is the gateway's; the LocalAPI wire format is the tailnet crate's. Funnel is
//! never touched.

pub mod exposure;
pub mod https;
pub mod listener;
pub mod peers;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::Mutex;
use switchboard_gateway::Gateway;
use switchboard_model::ServerName;
use switchboard_model::api::{Event, Exposure, TailnetState, TailnetStatus};
use switchboard_store::StoreError;
use switchboard_tailnet::{BackendState, LocalApi, LocalApiError, Status};
use tokio::sync::{Notify, watch};

use crate::control::{Control, ControlError};
use exposure::{BadPrincipal, Exposures};
use listener::{Shared, ThisNode};

/// The port Switchboard listens on at its Tailscale addresses, and looks for on peers.
pub const DEFAULT_PORT: u16 = 7717;
/// How often Tailscale is asked whether it still runs, and at which addresses.
const FOLLOW_EVERY: Duration = Duration::from_secs(3);
/// How long a change to the exposures waits for the listener (past the LocalAPI's timeout).
const LISTENER_PATIENCE: Duration = Duration::from_secs(15);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TailnetError {
    #[error(transparent)]
    LocalApi(#[from] LocalApiError),
    #[error("{0}")]
    NotConnected(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    BadPrincipal(#[from] BadPrincipal),
    #[error("server {0} is not exposed on the tailnet; `switchboard tailnet status` lists the ones that are")]
    NotExposed(ServerName),
    #[error(
        "no tailnet peer is called {0}; give its host name, MagicDNS name or Tailscale address (`switchboard tailnet peers` lists the ones running Switchboard)"
    )]
    UnknownPeer(String),
    #[error(
        "cannot reach Switchboard on {peer} at {url}: {detail}; check that it runs there and exposes a server"
    )]
    PeerUnreachable {
        peer: String,
        url: String,
        detail: String,
    },
    #[error("{peer} does not offer server {server} to you; it offers: {offered}")]
    NotOffered {
        peer: String,
        server: ServerName,
        offered: String,
    },
    #[error(
        "port {port} of this node is already served by something else (see `tailscale serve status`); pick another port"
    )]
    ServePortTaken { port: u16 },
    #[error(transparent)]
    Control(#[from] ControlError),
}

/// Where the listener stands, for the status.
#[derive(Debug, Default)]
struct Listening {
    addresses: Vec<String>,
    failures: Vec<String>,
}

/// tailscaled's LocalAPI, the exposures, and the listener that serves them.
#[derive(Debug)]
pub struct Tailnet {
    api: LocalApi,
    port: u16,
    exposures: Arc<Exposures>,
    control: Arc<Control>,
    gateway: Arc<Gateway>,
    listening: Mutex<Listening>,
    /// Woken when exposures change, so the listener opens or closes at once.
    changed: Arc<Notify>,
    /// Changes made to the exposures, counted, and how many of them the listener has caught
    /// up with: a change is answered once the listener reflects it.
    requested: AtomicU64,
    applied: watch::Sender<u64>,
    http: reqwest::Client,
    /// Where Tailscale Serve's HTTPS requests come in.
    serve_socket: PathBuf,
    /// tailscaled has answered since the daemon started: it is installed, whatever PATH says.
    seen: AtomicBool,
}

/// tailscaled's LocalAPI where this OS keeps it, or at the Unix socket
/// `SWITCHBOARD_TAILSCALE_SOCKET` names.
pub fn local_api_from_env() -> LocalApi {
    match std::env::var_os("SWITCHBOARD_TAILSCALE_SOCKET").filter(|s| !s.is_empty()) {
        Some(socket) => LocalApi::unix(PathBuf::from(socket)),
        None => LocalApi::discover(),
    }
}

impl Tailnet {
    /// Loads the exposures and starts following Tailscale.
    pub async fn start(
        api: LocalApi,
        control: Arc<Control>,
        gateway: Arc<Gateway>,
        port: u16,
        serve_socket: PathBuf,
    ) -> Result<Arc<Self>, TailnetError> {
        let exposures = Exposures::load(control.store().clone(), control.subscribe()).await?;
        // Peers are reached directly over the tailnet, never through a proxy.
        let http = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        let tailnet = Arc::new(Self {
            api,
            port,
            exposures,
            control,
            gateway,
            listening: Mutex::default(),
            changed: Arc::default(),
            requested: AtomicU64::new(0),
            applied: watch::Sender::new(0),
            http,
            serve_socket,
            seen: AtomicBool::new(false),
        });
        tokio::spawn(follow(Arc::downgrade(&tailnet), Arc::clone(&tailnet.changed)));
        tokio::spawn(recheck_on_wake(
            tailnet.control.subscribe(),
            Arc::clone(&tailnet.changed),
        ));
        Ok(tailnet)
    }

    fn listening(&self) -> parking_lot::MutexGuard<'_, Listening> {
        self.listening.lock()
    }

    pub async fn status(&self) -> TailnetStatus {
        let (listening, failures) = {
            let listening = self.listening();
            (listening.addresses.clone(), listening.failures.join("; "))
        };
        let mut view = TailnetStatus {
            state: TailnetState::NotRunning,
            host_name: None,
            dns_name: None,
            addresses: Vec::new(),
            tailnet: None,
            version: None,
            message: None,
            port: self.port,
            listening,
            https: None,
            exposed: self.exposures.list(),
        };
        let status = match self.api.status().await {
            Ok(status) => status,
            Err(error) => {
                let installed = self.seen.load(Ordering::Relaxed) || tailscale_installed();
                (view.state, view.message) = match error {
                    LocalApiError::NotRunning { .. } if !installed => {
                        (TailnetState::NotInstalled, Some(NOT_INSTALLED.to_owned()))
                    }
                    LocalApiError::NotRunning { .. } => (TailnetState::NotRunning, Some(error.to_string())),
                    _ => (TailnetState::Stopped, Some(error.to_string())),
                };
                return view;
            }
        };
        self.seen.store(true, Ordering::Relaxed);
        view.version = Some(status.version.clone());
        view.state = state_of(&status.backend_state);
        if view.state != TailnetState::Running {
            view.message = not_running_message(&status);
            return view;
        }
        if let Some(me) = &status.self_node {
            view.host_name = Some(me.host_name.clone()).filter(|n| !n.is_empty());
            view.dns_name = Some(me.dns_name.trim_end_matches('.').to_owned()).filter(|n| !n.is_empty());
        }
        view.addresses = status.tailscale_ips.clone();
        view.tailnet = status.current_tailnet.map(|t| t.name);
        view.message = (!failures.is_empty()).then_some(failures);
        view.https = self.https().await;
        view
    }

    /// Exposes `server` to this node's owner and `to`, replacing its previous audience.
    pub async fn expose(&self, server: &ServerName, to: Vec<String>) -> Result<Exposure, TailnetError> {
        let exposure = Exposure {
            server: server.clone(),
            to: exposure::audience(to)?,
        };
        self.exposures.set(exposure.clone()).await?;
        tracing::info!(%server, to = ?exposure.to, "exposed on the tailnet");
        self.listener_caught_up().await;
        Ok(exposure)
    }

    pub async fn unexpose(&self, server: &ServerName) -> Result<(), TailnetError> {
        if !self.exposures.remove(server).await? {
            return Err(TailnetError::NotExposed(server.clone()));
        }
        tracing::info!(%server, "no longer exposed on the tailnet");
        self.listener_caught_up().await;
        Ok(())
    }

    /// Wakes the listener for a change to the exposures and waits (bounded: asking Tailscale
    /// where to listen can be slow) until it has opened or closed accordingly.
    async fn listener_caught_up(&self) {
        let change = self.requested.fetch_add(1, Ordering::SeqCst) + 1;
        let mut applied = self.applied.subscribe();
        self.changed.notify_one();
        let _ = tokio::time::timeout(LISTENER_PATIENCE, applied.wait_for(|done| *done >= change)).await;
    }

    /// This node, when Tailscale runs; else why not.
    async fn this_node(&self) -> Result<(ThisNode, Status), TailnetError> {
        let status = self.api.status().await?;
        if state_of(&status.backend_state) != TailnetState::Running {
            return Err(TailnetError::NotConnected(
                not_running_message(&status).unwrap_or_default(),
            ));
        }
        let me = status.self_node.clone().unwrap_or_default();
        let owner = me
            .tags
            .is_empty()
            .then(|| {
                status
                    .user
                    .get(&me.user_id.to_string())
                    .map(|u| u.login_name.clone())
            })
            .flatten();
        let node = ThisNode {
            addresses: status
                .tailscale_ips
                .iter()
                .filter_map(|ip| ip.parse::<IpAddr>().ok())
                .collect(),
            owner,
            host_name: me.host_name.clone(),
            dns_name: me.dns_name.trim_end_matches('.').to_owned(),
        };
        Ok((node, status))
    }
}

fn state_of(backend: &BackendState) -> TailnetState {
    match backend {
        BackendState::Running => TailnetState::Running,
        BackendState::NeedsLogin | BackendState::NoState => TailnetState::NeedsLogin,
        _ => TailnetState::Stopped,
    }
}

const NOT_INSTALLED: &str = "Tailscale is not installed on this machine; install it from https://tailscale.com/download and sign in, and the servers you expose become reachable from your other devices";

/// Whether a Tailscale program is on PATH or where its installer puts it.
fn tailscale_installed() -> bool {
    const PLACES: &[&str] = &[
        "/usr/sbin/tailscaled",
        "/usr/bin/tailscaled",
        "/usr/local/bin/tailscaled",
        "/Applications/Tailscale.app",
        "/Library/Tailscale",
        "C:\\Program Files\\Tailscale\\tailscaled.exe",
    ];
    let path = std::env::var_os("PATH");
    ["tailscaled", "tailscale"]
        .iter()
        .any(|p| switchboard_supervisor::os::find_program(p, path.as_deref(), None).is_some())
        || PLACES.iter().any(|p| std::path::Path::new(p).exists())
}

fn not_running_message(status: &Status) -> Option<String> {
    match state_of(&status.backend_state) {
        TailnetState::Running => None,
        TailnetState::NeedsLogin => Some("Tailscale is logged out; run `tailscale up` to log in".to_owned()),
        _ => Some(format!(
            "Tailscale is {:?}; run `tailscale up` to connect",
            status.backend_state
        )),
    }
}

/// Looks at Tailscale again as soon as the machine wakes or its network changes: Tailscale's
/// addresses may have changed with it, and the listener must follow at once, not at the next
/// poll.
async fn recheck_on_wake(mut events: tokio::sync::broadcast::Receiver<Event>, changed: Arc<Notify>) {
    loop {
        match events.recv().await {
            Ok(Event::SystemWoke { .. } | Event::NetworkChanged { .. }) => changed.notify_one(),
            Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
            Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Keeps the listener open exactly while a server is exposed and Tailscale runs, on the
/// addresses Tailscale reports now. Checks every [`FOLLOW_EVERY`], and at once on a change.
async fn follow(tailnet: Weak<Tailnet>, changed: Arc<Notify>) {
    let mut open: Option<(ThisNode, listener::Open)> = None;
    loop {
        let Some(t) = tailnet.upgrade() else { return };
        let change = t.requested.load(Ordering::SeqCst);
        let wanted = if t.exposures.is_empty() {
            Ok(None)
        } else {
            t.this_node().await.map(|(node, _)| Some(node))
        };
        match wanted {
            Ok(Some(node)) if open.as_ref().is_some_and(|(current, _)| *current == node) => {}
            Ok(Some(node)) => {
                // Close first: the new sockets may be the same addresses.
                drop(open.take());
                let shared = Shared {
                    api: t.api.clone(),
                    exposures: Arc::clone(&t.exposures),
                    gateway: Arc::clone(&t.gateway),
                    node: node.clone(),
                    port: t.port,
                    serve_socket: t.serve_socket.clone(),
                };
                let (opened, failures) = listener::open(shared).await;
                for failure in &failures {
                    tracing::warn!("{failure}");
                }
                let addresses = opened
                    .as_ref()
                    .map(|o| o.addresses.iter().map(ToString::to_string).collect())
                    .unwrap_or_default();
                tracing::info!(?addresses, "tailnet listener open");
                *t.listening() = Listening { addresses, failures };
                open = opened.map(|o| (node, o));
            }
            Ok(None) | Err(_) => {
                if let (Err(e), Some(_)) = (&wanted, &open) {
                    tracing::warn!("closing the tailnet listener: {e}");
                }
                open = None;
                *t.listening() = Listening::default();
            }
        }
        t.applied.send_replace(change);
        drop(t);
        tokio::select! {
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
            () = changed.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests;

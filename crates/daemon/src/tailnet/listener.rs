//! The tailnet listener: exposed servers, served on this node's Tailscale addresses only.
//!
//! It binds each Tailscale address of this node (never a wildcard), so only tailnet traffic
//! can reach it. Each connection's peer is named once, by whois over the LocalAPI, before a
//! byte of it is read; a peer whois cannot name is dropped. Each request then passes the door
//! ([`admit`]): Host must be this node's, browsers (any Origin) are refused, a peer reaches only
//! the servers exposed to it, and a connection from this node itself is treated as local — it
//! needs a client token, as on loopback, so a local process cannot pass itself off as a peer.
//! Serving MCP is the gateway's; deciding when to listen is [`super`]'s.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use switchboard_model::ServerName;
use switchboard_model::api::{OfferedServer, PeerOffer};
use switchboard_tailnet::LocalApi;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use super::exposure::{Exposures, Peer};
use crate::gateway::Gateway;
use crate::gateway::http::{self, Client};

/// Where peers ask what a Switchboard offers them.
pub const OFFER_PATH: &str = "/.well-known/switchboard";

/// This node as Tailscale reports it while running: what the listener binds and who owns it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThisNode {
    pub addresses: Vec<IpAddr>,
    /// The owner's login; `None` for a tagged node, which no user owns.
    pub owner: Option<String>,
    pub host_name: String,
    /// The MagicDNS name, without the final dot.
    pub dns_name: String,
}

/// Who is on the other end of a tailnet connection.
#[derive(Clone, Debug)]
pub enum Caller {
    /// A process on this node, connected to its own Tailscale address.
    ThisNode,
    Peer(Peer),
}

/// What the listener's requests share.
#[derive(Debug)]
pub struct Door {
    pub api: LocalApi,
    pub exposures: Arc<Exposures>,
    pub gateway: Arc<Gateway>,
    pub node: ThisNode,
    pub port: u16,
}

/// Open sockets; dropping this closes them and ends every connection they accepted.
#[derive(Debug)]
pub struct Open {
    pub addresses: Vec<SocketAddr>,
    _tasks: JoinSet<()>,
}

/// Binds every Tailscale address of the node. Returns what opened, and why any did not.
pub async fn open(door: Door) -> (Option<Open>, Vec<String>) {
    let door = Arc::new(door);
    let router = router(Arc::clone(&door));
    let mut tasks = JoinSet::new();
    let mut addresses = Vec::new();
    let mut failures = Vec::new();
    for ip in &door.node.addresses {
        let address = SocketAddr::new(*ip, door.port);
        match TcpListener::bind(address).await {
            Ok(listener) => {
                addresses.push(address);
                tasks.spawn(accept(listener, Arc::clone(&door), router.clone()));
            }
            Err(e) => failures.push(format!(
                "cannot listen on the tailnet at {address}: {e}; {}",
                match e.kind() {
                    std::io::ErrorKind::AddrInUse => format!(
                        "another program uses port {}; start the daemon with --tailnet-port set to a free one",
                        door.port
                    ),
                    _ => "Tailscale may run in userspace-networking mode, which gives this machine no \
                          Tailscale address to listen on"
                        .to_owned(),
                }
            )),
        }
    }
    let open = (!addresses.is_empty()).then_some(Open {
        addresses,
        _tasks: tasks,
    });
    (open, failures)
}

async fn accept(listener: TcpListener, door: Arc<Door>, router: Router) {
    let mut connections = JoinSet::new();
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, usually: wait for some to be freed rather than spin.
                tracing::warn!("tailnet listener cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(serve(stream, remote, Arc::clone(&door), router.clone()));
    }
}

async fn serve(stream: TcpStream, remote: SocketAddr, door: Arc<Door>, router: Router) {
    let Some(caller) = door.identify(remote).await else {
        return;
    };
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(caller.clone());
        request
    });
    let served = auto::Builder::new(TokioExecutor::new())
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service))
        .await;
    if let Err(e) = served {
        tracing::debug!(%remote, "tailnet connection ended: {e}");
    }
}

impl Door {
    /// Names the peer behind `remote`, or `None` (and the connection is dropped) when whois
    /// cannot: a connection nobody on the tailnet answers for is nobody's.
    async fn identify(&self, remote: SocketAddr) -> Option<Caller> {
        if self.node.addresses.contains(&remote.ip()) {
            return Some(Caller::ThisNode);
        }
        match self.api.whois(&remote.to_string()).await {
            Ok(whois) => {
                let tagged = !whois.node.tags.is_empty();
                let is_owner =
                    !tagged && self.node.owner.as_deref() == Some(whois.user_profile.login_name.as_str());
                let node = whois.node.name.split('.').next().unwrap_or_default().to_owned();
                Some(Caller::Peer(Peer {
                    identities: whois.identities(),
                    is_owner,
                    node,
                }))
            }
            Err(e) => {
                tracing::warn!(%remote, "refusing a tailnet connection that whois cannot name: {e}");
                None
            }
        }
    }

    fn check_host_and_origin(&self, headers: &HeaderMap) -> Result<(), String> {
        if headers.contains_key(header::ORIGIN) {
            return Err("browsers may not use the tailnet listener; connect an MCP client instead".into());
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let port = self.port;
        let known = self
            .node
            .addresses
            .iter()
            .map(|ip| SocketAddr::new(*ip, port).to_string())
            .chain(
                [&self.node.dns_name, &self.node.host_name]
                    .into_iter()
                    .filter(|name| !name.is_empty())
                    .map(|name| format!("{name}:{port}")),
            )
            .any(|allowed| allowed.eq_ignore_ascii_case(host));
        if known {
            Ok(())
        } else {
            Err(format!("Host `{host}` is not this node's tailnet address"))
        }
    }
}

fn router(door: Arc<Door>) -> Router {
    Router::new()
        .route(OFFER_PATH, get(offer))
        .with_state(Arc::clone(&door))
        .merge(http::server_routes(Arc::clone(&door.gateway)))
        .layer(middleware::from_fn_with_state(door, admit))
}

/// The door every request passes; see the module's documentation.
async fn admit(State(door): State<Arc<Door>>, mut request: Request, next: Next) -> Response {
    if let Err(message) = door.check_host_and_origin(request.headers()) {
        return http::http_error(StatusCode::FORBIDDEN, message);
    }
    let Some(caller) = request.extensions().get::<Caller>().cloned() else {
        return http::http_error(StatusCode::FORBIDDEN, "unidentified connection".into());
    };
    let client = match &caller {
        Caller::ThisNode => match door.gateway.access.client(http::bearer(request.headers())) {
            Some(client) => client,
            None => return http::unauthorized(),
        },
        Caller::Peer(peer) => {
            let server = request
                .uri()
                .path()
                .strip_prefix("/mcp/")
                .map(|rest| rest.split('/').next().unwrap_or_default());
            if let Some(server) = server {
                let allowed = ServerName::new(server).is_ok_and(|name| door.exposures.allows(&name, peer));
                if !allowed {
                    return http::http_error(
                        StatusCode::FORBIDDEN,
                        format!(
                            "{} may not reach `{server}` on {}; its owner can allow it with \
                             `switchboard tailnet expose {server} --to {}`",
                            peer.identities.join(","),
                            door.node.host_name,
                            peer.identities.first().map(String::as_str).unwrap_or("LOGIN"),
                        ),
                    );
                }
            }
            Arc::from(peer.label())
        }
    };
    request.extensions_mut().insert(Client(client));
    next.run(request).await
}

/// What this node offers the caller: the servers exposed to it, nothing about the others.
async fn offer(State(door): State<Arc<Door>>, Extension(caller): Extension<Caller>) -> Response {
    let servers = match &caller {
        Caller::ThisNode => door.exposures.list().into_iter().map(|e| e.server).collect(),
        Caller::Peer(peer) => door.exposures.offered_to(peer),
    };
    Json(PeerOffer {
        switchboard: env!("CARGO_PKG_VERSION").to_owned(),
        host_name: door.node.host_name.clone(),
        servers: servers
            .into_iter()
            .map(|name| OfferedServer {
                path: format!("/mcp/{name}"),
                name,
            })
            .collect(),
    })
    .into_response()
}

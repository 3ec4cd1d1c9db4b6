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
use std::path::PathBuf;
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Json, Router};
use hyper_util::rt::TokioIo;
use switchboard_gateway::Gateway;
use switchboard_gateway::http::{self, Client};
use switchboard_http::door::{Door, HostPolicy, OriginPolicy, Refusal, bearer};
use switchboard_model::ServerName;
use switchboard_model::api::{OfferedServer, PeerOffer};
use switchboard_tailnet::LocalApi;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tower::ServiceExt as _;

use super::exposure::{Exposures, Peer};

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
    /// tailscaled's HTTPS proxy (Tailscale Serve), which carries many callers' requests over
    /// one connection: each request is named from the address it forwards.
    Serve,
}

/// What the listener's requests share.
#[derive(Debug)]
pub struct Shared {
    pub api: LocalApi,
    pub exposures: Arc<Exposures>,
    pub gateway: Arc<Gateway>,
    pub node: ThisNode,
    pub port: u16,
    /// Where Tailscale Serve's requests come in.
    pub serve_socket: PathBuf,
}

/// Open sockets; dropping this closes them and ends every connection they accepted.
#[derive(Debug)]
pub struct Open {
    pub addresses: Vec<SocketAddr>,
    serve_socket: Option<PathBuf>,
    _tasks: JoinSet<()>,
}

impl Drop for Open {
    fn drop(&mut self) {
        if let Some(socket) = &self.serve_socket {
            let _ = std::fs::remove_file(socket);
        }
    }
}

/// Binds every Tailscale address of the node, and the socket Tailscale Serve proxies to.
/// Returns what opened, and why anything did not.
pub async fn open(shared: Shared) -> (Option<Open>, Vec<String>) {
    let shared = Arc::new(shared);
    let router = router(Arc::clone(&shared));
    let mut tasks = JoinSet::new();
    let mut addresses = Vec::new();
    let mut failures = Vec::new();
    for ip in &shared.node.addresses {
        let address = SocketAddr::new(*ip, shared.port);
        match TcpListener::bind(address).await {
            Ok(listener) => {
                addresses.push(address);
                tasks.spawn(accept(listener, Arc::clone(&shared), router.clone()));
            }
            Err(e) => failures.push(format!(
                "cannot listen on the tailnet at {address}: {e}; {}",
                match e.kind() {
                    std::io::ErrorKind::AddrInUse => format!(
                        "another program uses port {}; start the daemon with --tailnet-port set to a free one",
                        shared.port
                    ),
                    _ => "Tailscale may run in userspace-networking mode, which gives this machine no \
                          Tailscale address to listen on (`switchboard tailnet https on` still serves \
                          through Tailscale Serve)"
                        .to_owned(),
                }
            )),
        }
    }
    let serve_socket = open_serve_socket(&shared, router, &mut tasks, &mut failures);
    if addresses.is_empty() && serve_socket.is_none() {
        return (None, failures);
    }
    let open = Open {
        addresses,
        serve_socket,
        _tasks: tasks,
    };
    (Some(open), failures)
}

/// The socket Tailscale Serve proxies to, serving `router`; its path if it opened.
///
/// Tailscale Serve needs no Tailscale address here: in userspace-networking mode, where none
/// can be bound, HTTPS still reaches exposed servers this way. Only this user and root, which
/// tailscaled runs as, may open it.
#[cfg(unix)]
fn open_serve_socket(
    shared: &Shared,
    router: Router,
    tasks: &mut JoinSet<()>,
    failures: &mut Vec<String>,
) -> Option<PathBuf> {
    match switchboard_http::serve::bind_private_socket(&shared.serve_socket) {
        Ok(listener) => {
            tasks.spawn(accept_serve(listener, router));
            Some(shared.serve_socket.clone())
        }
        Err(e) => {
            failures.push(format!(
                "cannot open {} for Tailscale Serve: {e}; HTTPS will not reach exposed servers",
                shared.serve_socket.display()
            ));
            None
        }
    }
}

/// Tailscale Serve proxies to a Unix socket, which the daemon opens on Unix only: said as a
/// failure, since HTTPS then does not reach exposed servers.
#[cfg(not(unix))]
fn open_serve_socket(
    shared: &Shared,
    _router: Router,
    _tasks: &mut JoinSet<()>,
    failures: &mut Vec<String>,
) -> Option<PathBuf> {
    failures.push(format!(
        "Tailscale Serve proxies to a Unix socket, which the daemon opens on Unix only ({}); \
         HTTPS will not reach exposed servers, which peers still reach on this node's Tailscale \
         addresses",
        shared.serve_socket.display()
    ));
    None
}

#[cfg(unix)]
async fn accept_serve(listener: tokio::net::UnixListener, router: Router) {
    switchboard_http::serve::accept_unix_each(listener, move |stream| {
        serve_http(TokioIo::new(stream), Caller::Serve, router.clone())
    })
    .await;
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, router: Router) {
    switchboard_http::serve::accept_each(listener, move |stream, remote| {
        serve(stream, remote, Arc::clone(&shared), router.clone())
    })
    .await;
}

async fn serve(stream: TcpStream, remote: SocketAddr, shared: Arc<Shared>, router: Router) {
    if let Some(caller) = shared.identify(remote.ip(), &remote.to_string()).await {
        serve_http(TokioIo::new(stream), caller, router).await;
    }
}

/// Serves HTTP on one connection, every request marked as coming from `caller`.
async fn serve_http<S>(io: TokioIo<S>, caller: Caller, router: Router)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = router.map_request(move |mut request: Request<hyper::body::Incoming>| {
        request.extensions_mut().insert(caller.clone());
        request
    });
    switchboard_http::serve::connection(io, service).await;
}

impl Shared {
    /// Names the peer at `ip` (whois is asked about `addr`: `IP:PORT`, or the IP alone), or
    /// `None` when whois cannot: a connection nobody on the tailnet answers for is nobody's.
    async fn identify(&self, ip: IpAddr, addr: &str) -> Option<Caller> {
        if self.node.addresses.contains(&ip) {
            return Some(Caller::ThisNode);
        }
        match self.api.whois(addr).await {
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
                tracing::warn!(%addr, "refusing a tailnet caller that whois cannot name: {e}");
                None
            }
        }
    }

    /// This listener's door: the node's own names, and no browsers. Serve's requests carry
    /// the name tailscaled checked when it chose the certificate, so only their Origin is read.
    fn check_door(&self, headers: &HeaderMap, caller: &Caller) -> Result<(), Refusal> {
        let door = Door {
            host: HostPolicy::Tailnet {
                port: self.port,
                addresses: self.node.addresses.clone(),
                names: vec![self.node.dns_name.clone(), self.node.host_name.clone()],
            },
            origin: OriginPolicy::NoBrowsers,
        };
        door.check_origin(headers)?;
        match caller {
            Caller::Serve => Ok(()),
            _ => door.check_host(headers),
        }
    }
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(OFFER_PATH, get(offer))
        .with_state(Arc::clone(&shared))
        .merge(http::server_routes(Arc::clone(&shared.gateway)))
        .layer(middleware::from_fn_with_state(shared, admit))
}

/// The door every request passes; see the module's documentation.
async fn admit(State(shared): State<Arc<Shared>>, mut request: Request, next: Next) -> Response {
    let Some(mut caller) = request.extensions().get::<Caller>().cloned() else {
        return http::http_error(StatusCode::FORBIDDEN, "unidentified connection".into());
    };
    if let Err(refusal) = shared.check_door(request.headers(), &caller) {
        return http::http_error(StatusCode::FORBIDDEN, refusal.to_string());
    }
    if matches!(caller, Caller::Serve) {
        // tailscaled sets X-Forwarded-For itself, replacing any the client sent.
        let forwarded = request
            .headers()
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<IpAddr>().ok());
        let named = match forwarded {
            Some(ip) => shared.identify(ip, &ip.to_string()).await,
            None => None,
        };
        let Some(named) = named else {
            return http::http_error(
                StatusCode::FORBIDDEN,
                "Tailscale Serve did not say which tailnet peer this request is from".into(),
            );
        };
        request.extensions_mut().insert(named.clone());
        caller = named;
    }
    let client = match &caller {
        Caller::Serve => return http::http_error(StatusCode::FORBIDDEN, "unidentified request".into()),
        Caller::ThisNode => match shared.gateway.access.client(bearer(request.headers())) {
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
                let allowed = ServerName::new(server).is_ok_and(|name| shared.exposures.allows(&name, peer));
                if !allowed {
                    return http::http_error(
                        StatusCode::FORBIDDEN,
                        format!(
                            "{} may not reach `{server}` on {}; its owner can allow it with \
                             `switchboard tailnet expose {server} --to {}`",
                            peer.identities.join(","),
                            shared.node.host_name,
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
async fn offer(State(shared): State<Arc<Shared>>, Extension(caller): Extension<Caller>) -> Response {
    let servers = match &caller {
        Caller::ThisNode => shared.exposures.list().into_iter().map(|e| e.server).collect(),
        Caller::Peer(peer) => shared.exposures.offered_to(peer),
        Caller::Serve => Vec::new(),
    };
    Json(PeerOffer {
        switchboard: env!("CARGO_PKG_VERSION").to_owned(),
        host_name: shared.node.host_name.clone(),
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

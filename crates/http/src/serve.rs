//! HTTP on the daemon's listeners, with the same connection rules everywhere: HTTP/1.1 (what
//! MCP clients speak; no protocol sniffing on the hot path), a client that half-closes its side after sending a request
//! still gets the answer, and one that stalls in its request headers is let go after
//! [`HEADER_TIMEOUT`] instead of holding a descriptor forever.
//!
//! It owns connections only; what is served (routes, guards) is the caller's router.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::Request;
use axum::response::Response;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// How long a client may take to send its request headers.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(30);

/// Accepts connections on `listener` for good, serving each with `service`.
pub async fn accept<S>(listener: TcpListener, service: S)
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    accept_each(listener, move |stream, _| {
        connection(TokioIo::new(stream), service.clone())
    })
    .await;
}

/// Accepts connections on a Unix socket for good, serving each with `service`.
#[cfg(unix)]
pub async fn accept_unix<S>(listener: tokio::net::UnixListener, service: S)
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    accept_unix_each(listener, move |stream| {
        connection(TokioIo::new(stream), service.clone())
    })
    .await;
}

/// Accepts connections on a Unix socket for good, each handled by its own `handle` task.
#[cfg(unix)]
pub async fn accept_unix_each<F, Fut>(listener: tokio::net::UnixListener, mut handle: F)
where
    F: FnMut(tokio::net::UnixStream) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                tracing::warn!("a Unix socket cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        while connections.try_join_next().is_some() {}
        connections.spawn(handle(stream));
    }
}

/// Binds a Unix socket at `path` (replacing a stale one) that only this user, and root, may
/// open.
#[cfg(unix)]
pub fn bind_private_socket(path: &std::path::Path) -> std::io::Result<tokio::net::UnixListener> {
    use std::os::unix::fs::PermissionsExt;
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e),
        _ => {}
    }
    let listener = tokio::net::UnixListener::bind(path)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    Ok(listener)
}

/// Creates the named pipe `name` for the control API (Windows). It must be the pipe's first
/// instance, so a program that created it before the daemon makes this fail instead of
/// receiving the daemon's clients; clients on other machines are refused.
#[cfg(windows)]
pub fn bind_private_pipe(name: &str) -> std::io::Result<tokio::net::windows::named_pipe::NamedPipeServer> {
    tokio::net::windows::named_pipe::ServerOptions::new()
        .first_pipe_instance(true)
        .reject_remote_clients(true)
        .create(name)
}

/// Accepts connections on the named pipe `name`, whose first instance is `first`, for good,
/// serving each with `service`. A pipe instance serves one client, so each connected instance
/// is handed to its own task and the next one is created for the next client.
#[cfg(windows)]
pub async fn accept_pipe<S>(name: String, first: tokio::net::windows::named_pipe::NamedPipeServer, service: S)
where
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut connections = JoinSet::new();
    let mut waiting = first;
    loop {
        if let Err(e) = waiting.connect().await {
            tracing::warn!("the control pipe cannot accept: {e}");
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        let next = next_pipe_instance(&name).await;
        let connected = std::mem::replace(&mut waiting, next);
        while connections.try_join_next().is_some() {}
        connections.spawn(connection(TokioIo::new(connected), service.clone()));
    }
}

/// A new instance of the named pipe `name`, retried until Windows grants one.
#[cfg(windows)]
async fn next_pipe_instance(name: &str) -> tokio::net::windows::named_pipe::NamedPipeServer {
    loop {
        match tokio::net::windows::named_pipe::ServerOptions::new()
            .reject_remote_clients(true)
            .create(name)
        {
            Ok(instance) => return instance,
            Err(e) => {
                tracing::warn!("cannot create another instance of the control pipe: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

/// Accepts connections on `listener` for good, each handled by its own `handle` task.
pub async fn accept_each<F, Fut>(listener: TcpListener, mut handle: F)
where
    F: FnMut(TcpStream, SocketAddr) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let mut connections = JoinSet::new();
    loop {
        let (stream, remote) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of descriptors, usually: wait for some to be freed rather than spin.
                tracing::warn!("the listener cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        };
        // Events go out as they are written: an event stream's small writes would otherwise
        // wait for the client's delayed ACK (Nagle), tens of milliseconds each.
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("cannot turn off Nagle's algorithm on a connection: {e}");
        }
        while connections.try_join_next().is_some() {}
        connections.spawn(handle(stream, remote));
    }
}

/// Serves HTTP on one connection until either side ends it.
pub async fn connection<I, S>(io: TokioIo<I>, service: S)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: tower::Service<Request<hyper::body::Incoming>, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let served = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .half_close(true)
        .serve_connection(io, TowerToHyperService::new(service))
        .with_upgrades()
        .await;
    if let Err(e) = served {
        tracing::debug!("connection ended: {e}");
    }
}

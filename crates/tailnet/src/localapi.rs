//! A client of tailscaled's LocalAPI, wherever this OS keeps it.
//!
//! [`Endpoint`] says where: a Unix socket (Linux, the open-source macOS daemon), the Windows
//! named pipe, or the macOS GUI apps' loopback TCP port with its same-user token, found the
//! way the Tailscale CLI finds it. Requests are plain HTTP/1.0 (one request per connection,
//! the body ends with it) with the `Host: local-tailscaled.sock` the daemon insists on and no
//! Origin. Each answer other than 200 becomes the [`LocalApiError`] that says what it means:
//! tailscaled not running, a permission it withholds (writing serve-config needs root or the
//! operator), an ETag that no longer matches, an address no peer has, or a daemon that is
//! logged out.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use parking_lot::RwLock;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use crate::types::{Status, WhoIs};

/// The only Host tailscaled accepts on its LocalAPI.
const HOST: &str = "local-tailscaled.sock";
const TIMEOUT: Duration = Duration::from_secs(10);
/// Largest answer read (a status of a big tailnet is well under this).
const MAX_ANSWER: usize = 32 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalApiError {
    #[error(
        "tailscaled is not running, or not at {at} ({detail}); start Tailscale, or install it from https://tailscale.com/download"
    )]
    NotRunning { at: String, detail: String },
    #[error(
        "tailscaled refused: {detail}; changing what Tailscale serves needs root, or `sudo tailscale set --operator=$USER` once"
    )]
    Permission { detail: String },
    #[error("the serve config changed since it was read (ETag mismatch); read it again and retry")]
    Conflict,
    #[error("no tailnet peer has the address {addr}")]
    UnknownPeer { addr: String },
    #[error("tailscaled found the request invalid: {detail}")]
    BadRequest { detail: String },
    #[error("Tailscale is logged out ({detail}); run `tailscale up` to log in")]
    LoggedOut { detail: String },
    #[error("tailscaled answered {status}: {detail}")]
    Daemon { status: u16, detail: String },
    #[error("tailscaled sent something unexpected for {what}: {detail}")]
    Malformed { what: String, detail: String },
}

/// The serve config and the ETag to replace it with.
#[derive(Clone, Debug, PartialEq)]
pub struct ServeConfig {
    /// `None` when nothing is served (the daemon answers `null`).
    pub config: Option<serde_json::Value>,
    pub etag: String,
}

/// Where tailscaled's LocalAPI listens.
#[derive(Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A Unix socket: Linux, and the open-source daemon on macOS.
    Unix(PathBuf),
    /// The macOS GUI apps: loopback TCP, with a token proving the caller is the same user
    /// (sent as the password of HTTP Basic auth).
    Tcp { port: u16, token: String },
    /// Windows: a named pipe.
    NamedPipe(String),
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_string())
    }
}

/// Names the place, never the token.
impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Unix(path) => write!(f, "{}", path.display()),
            Self::Tcp { port, .. } => write!(f, "127.0.0.1:{port}"),
            Self::NamedPipe(name) => f.write_str(name),
        }
    }
}

/// The Windows service's pipe.
pub const WINDOWS_PIPE: &str = r"\\.\pipe\ProtectedPrefix\Administrators\Tailscale\tailscaled";
/// Where the standalone macOS app keeps its port (a symlink to it) and token.
const MACSYS_DIR: &str = "/Library/Tailscale";

impl Endpoint {
    /// Where tailscaled listens on this machine, looked for as the Tailscale CLI looks: the
    /// pipe on Windows; on macOS the daemon's socket, else the standalone app's port file, else
    /// the App Store app's (found with lsof); elsewhere the usual socket.
    pub fn discover() -> Self {
        if cfg!(windows) {
            return Self::NamedPipe(WINDOWS_PIPE.to_owned());
        }
        if !cfg!(target_os = "macos") {
            return Self::Unix(PathBuf::from("/var/run/tailscale/tailscaled.sock"));
        }
        let socket = PathBuf::from("/var/run/tailscaled.socket");
        if socket.exists() {
            return Self::Unix(socket);
        }
        macsys_port_and_token(Path::new(MACSYS_DIR))
            .or_else(app_store_port_and_token)
            .map(|(port, token)| Self::Tcp { port, token })
            .unwrap_or(Self::Unix(socket))
    }
}

/// The standalone macOS app's port and token: `ipnport` is a symlink whose target is the
/// port, and `sameuserproof-<port>` holds the token.
pub fn macsys_port_and_token(dir: &Path) -> Option<(u16, String)> {
    let port = std::fs::read_link(dir.join("ipnport")).ok()?;
    let port = port.to_str()?.to_owned();
    let token = std::fs::read_to_string(dir.join(format!("sameuserproof-{port}"))).ok()?;
    let token = token.trim();
    (!token.is_empty()).then(|| Some((port.parse().ok()?, token.to_owned())))?
}

/// The App Store app's port and token, from the name of a file its extension holds open:
/// `…/io.tailscale.ipn.macos/sameuserproof-<port>-<token>`.
fn app_store_port_and_token() -> Option<(u16, String)> {
    let uid = std::process::Command::new("id").arg("-u").output().ok()?;
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_owned();
    let lsof = std::process::Command::new("lsof")
        .args(["-n", "-a", &format!("-u{uid}"), "-c", "IPNExtension", "-F"])
        .output()
        .ok()?;
    port_and_token_in_lsof(&String::from_utf8_lossy(&lsof.stdout))
}

/// Reads lsof's machine-readable output for the same-user proof file's name.
pub fn port_and_token_in_lsof(output: &str) -> Option<(u16, String)> {
    const MARK: &str = ".tailscale.ipn.macos/sameuserproof-";
    output.lines().find_map(|line| {
        let rest = &line[line.find(MARK)? + MARK.len()..];
        let (port, token) = rest.split_once('-')?;
        Some((port.parse().ok()?, token.trim().to_owned())).filter(|(_, token)| !token.is_empty())
    })
}

/// tailscaled's LocalAPI at one endpoint, or wherever discovery finds it.
#[derive(Clone, Debug)]
pub struct LocalApi {
    endpoint: Arc<RwLock<Endpoint>>,
    /// Found by [`Endpoint::discover`], so looked for again when it stops answering: the macOS
    /// apps pick a new port each time they start.
    discovered: bool,
}

/// A connection to the LocalAPI, whichever transport carries it.
trait Connection: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Connection for T {}

/// One raw LocalAPI answer: status, headers and body as read off the connection. Decoding it
/// is pure, so the whole read path is tested (and fuzzed) without a daemon.
#[derive(Clone, Debug)]
pub struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
    /// Reads an HTTP/1.x response that ended with its connection; `None` if it is not one.
    pub fn parse(raw: &[u8]) -> Option<Self> {
        let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
        let head = std::str::from_utf8(&raw[..split]).ok()?;
        let mut lines = head.split("\r\n");
        let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
        let headers = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        Some(Self {
            status,
            headers,
            body: raw[split + 4..].to_vec(),
        })
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    /// The error a status other than 2xx stands for.
    pub fn check(&self) -> Result<(), LocalApiError> {
        let detail = || self.text();
        match self.status {
            200..=299 => Ok(()),
            400 => Err(LocalApiError::BadRequest { detail: detail() }),
            401 | 403 => Err(LocalApiError::Permission { detail: detail() }),
            412 => Err(LocalApiError::Conflict),
            500 if detail().contains("netMap is nil") || detail().contains("no netmap") => {
                Err(LocalApiError::LoggedOut { detail: detail() })
            }
            status => Err(LocalApiError::Daemon {
                status,
                detail: detail(),
            }),
        }
    }

    /// The body of a successful answer to the request for `what`, decoded.
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T, LocalApiError> {
        self.check()?;
        serde_json::from_slice(&self.body).map_err(|e| LocalApiError::Malformed {
            what: what.to_owned(),
            detail: e.to_string(),
        })
    }

    /// A successful answer to `GET serve-config`, with the ETag a later write must match.
    pub fn serve_config(&self) -> Result<ServeConfig, LocalApiError> {
        self.check()?;
        let config: serde_json::Value =
            serde_json::from_slice(&self.body).map_err(|e| LocalApiError::Malformed {
                what: "serve-config".to_owned(),
                detail: e.to_string(),
            })?;
        // The ETag is the SHA-256 of the body; older daemons may not send it. It goes back
        // as a header, so one that could not be sent back as it came is not used.
        let etag = self
            .header("etag")
            .map(|tag| tag.trim_matches('"').to_owned())
            .filter(|tag| !tag.is_empty() && !tag.chars().any(char::is_control))
            .unwrap_or_else(|| hex::encode(Sha256::digest(&self.body)));
        Ok(ServeConfig {
            config: (!config.is_null()).then_some(config),
            etag,
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    fn text(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        // Errors come as `{"error": "…"}` or as plain text.
        serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v["error"].as_str().map(str::to_owned))
            .unwrap_or_else(|| text.trim().to_owned())
    }
}

impl LocalApi {
    pub fn new(endpoint: Endpoint) -> Self {
        Self {
            endpoint: Arc::new(RwLock::new(endpoint)),
            discovered: false,
        }
    }

    pub fn unix(socket: impl Into<PathBuf>) -> Self {
        Self::new(Endpoint::Unix(socket.into()))
    }

    /// The LocalAPI where [`Endpoint::discover`] finds it, now and after it moves.
    pub fn discover() -> Self {
        Self {
            discovered: true,
            ..Self::new(Endpoint::discover())
        }
    }

    pub fn endpoint(&self) -> Endpoint {
        self.endpoint.read().clone()
    }

    pub async fn status(&self) -> Result<Status, LocalApiError> {
        let answer = self.request("GET", "/localapi/v0/status", &[], None).await?;
        answer.json("status")
    }

    /// Who is behind `addr` (`IP:PORT` of a tailnet connection).
    pub async fn whois(&self, addr: &str) -> Result<WhoIs, LocalApiError> {
        let path = format!("/localapi/v0/whois?addr={}", percent_encode(addr));
        let answer = self.request("GET", &path, &[], None).await?;
        if answer.status == 404 {
            return Err(LocalApiError::UnknownPeer {
                addr: addr.to_owned(),
            });
        }
        answer.json("whois")
    }

    pub async fn serve_config(&self) -> Result<ServeConfig, LocalApiError> {
        self.request("GET", "/localapi/v0/serve-config", &[], None)
            .await?
            .serve_config()
    }

    /// Replaces the whole serve config, only if it still has ETag `if_match`.
    pub async fn set_serve_config(
        &self,
        config: &serde_json::Value,
        if_match: &str,
    ) -> Result<(), LocalApiError> {
        let body = serde_json::to_vec(config).map_err(|e| LocalApiError::Malformed {
            what: "the serve config to send".to_owned(),
            detail: e.to_string(),
        })?;
        let answer = self
            .request(
                "POST",
                "/localapi/v0/serve-config",
                &[("If-Match", if_match), ("Content-Type", "application/json")],
                Some(&body),
            )
            .await?;
        answer.check()
    }

    async fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Answer, LocalApiError> {
        tokio::time::timeout(TIMEOUT, self.exchange(method, path, headers, body))
            .await
            .unwrap_or_else(|_| {
                Err(LocalApiError::NotRunning {
                    at: self.endpoint().to_string(),
                    detail: format!("no answer within {TIMEOUT:?}"),
                })
            })
    }

    async fn exchange(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&[u8]>,
    ) -> Result<Answer, LocalApiError> {
        let (mut stream, endpoint) = self.connect().await?;
        let not_running = |e: std::io::Error| LocalApiError::NotRunning {
            at: endpoint.to_string(),
            detail: e.to_string(),
        };
        let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {HOST}\r\n");
        if let Endpoint::Tcp { token, .. } = &endpoint {
            let credentials = base64::engine::general_purpose::STANDARD.encode(format!(":{token}"));
            request.push_str(&format!("Authorization: Basic {credentials}\r\n"));
        }
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        let mut written = stream.write_all(request.as_bytes()).await;
        if written.is_ok() {
            written = stream.write_all(body).await;
        }
        // A refusal can come before the body is read, and the connection close under the
        // write: the answer is what matters, so it is read whatever the write did.
        let mut raw = Vec::new();
        let read = (&mut stream).take(MAX_ANSWER as u64).read_to_end(&mut raw).await;
        if let Some(answer) = Answer::parse(&raw) {
            return Ok(answer);
        }
        written.and(read).map_err(not_running)?;
        Err(LocalApiError::Malformed {
            what: path.to_owned(),
            detail: "not an HTTP response".to_owned(),
        })
    }
}

impl LocalApi {
    /// A connection, and the endpoint it reached; a discovered endpoint that no longer
    /// answers is looked for again, once.
    async fn connect(&self) -> Result<(Box<dyn Connection>, Endpoint), LocalApiError> {
        let endpoint = self.endpoint();
        let error = match connect(&endpoint).await {
            Ok(connection) => return Ok((connection, endpoint)),
            Err(error) => error,
        };
        let not_running = |at: &Endpoint, e: std::io::Error| LocalApiError::NotRunning {
            at: at.to_string(),
            detail: e.to_string(),
        };
        if !self.discovered {
            return Err(not_running(&endpoint, error));
        }
        let found = tokio::task::spawn_blocking(Endpoint::discover)
            .await
            .unwrap_or_else(|_| endpoint.clone());
        if found == endpoint {
            return Err(not_running(&endpoint, error));
        }
        *self.endpoint.write() = found.clone();
        match connect(&found).await {
            Ok(connection) => Ok((connection, found)),
            Err(error) => Err(not_running(&found, error)),
        }
    }
}

async fn connect(endpoint: &Endpoint) -> std::io::Result<Box<dyn Connection>> {
    match endpoint {
        #[cfg(unix)]
        Endpoint::Unix(path) => Ok(Box::new(tokio::net::UnixStream::connect(path).await?)),
        Endpoint::Tcp { port, .. } => Ok(Box::new(
            tokio::net::TcpStream::connect(("127.0.0.1", *port)).await?,
        )),
        #[cfg(windows)]
        Endpoint::NamedPipe(name) => {
            // A busy pipe (every instance taken) frees up quickly: retry briefly.
            const ERROR_PIPE_BUSY: i32 = 231;
            let mut tries = 0;
            loop {
                match tokio::net::windows::named_pipe::ClientOptions::new().open(name) {
                    Ok(pipe) => return Ok(Box::new(pipe)),
                    Err(e) if e.raw_os_error() == Some(ERROR_PIPE_BUSY) && tries < 20 => {
                        tries += 1;
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        #[allow(unreachable_patterns)]
        other => Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            format!("{other} cannot be reached on this OS"),
        )),
    }
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the localapi fuzz target: an ETag with a bare LF would have been sent back
    /// inside the If-Match header, starting another header.
    #[test]
    fn an_etag_that_cannot_be_sent_back_is_replaced_by_the_body_hash() {
        let raw = "HTTP/1.1 200 OK\r\nEtag: \"abc\nX-Other: 1\"\r\n\r\n{}";
        let config = Answer::parse(raw.as_bytes())
            .expect("answer")
            .serve_config()
            .expect("config");
        assert_eq!(config.etag, hex::encode(Sha256::digest(b"{}")));
    }

    #[test]
    fn real_error_answers_are_typed() {
        let answer = |raw: &str| Answer::parse(raw.replace('\n', "\r\n").as_bytes()).expect("answer");
        let logged_out = answer(
            "HTTP/1.1 500 Internal Server Error\nContent-Type: application/json\n\n{\"error\":\"updating config: netMap is nil\"}",
        );
        assert!(matches!(logged_out.check(), Err(LocalApiError::LoggedOut { .. })));
        let denied = answer("HTTP/1.1 403 Forbidden\n\nserve config denied");
        assert_eq!(
            denied.check(),
            Err(LocalApiError::Permission {
                detail: "serve config denied".into()
            })
        );
        assert_eq!(
            answer("HTTP/1.1 412 Precondition Failed\n\n").check(),
            Err(LocalApiError::Conflict)
        );
    }
}

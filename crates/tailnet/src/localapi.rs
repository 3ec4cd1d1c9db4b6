//! A client of tailscaled's LocalAPI over its Unix socket.
//!
//! Requests are plain HTTP/1.0 (one request per connection, the body ends with it) with the
//! `Host: local-tailscaled.sock` the daemon insists on and no Origin. Each answer other than
//! 200 becomes the [`LocalApiError`] that says what it means: tailscaled not running, a
//! permission it withholds (writing serve-config needs root or the operator), an ETag that no
//! longer matches, an address no peer has, or a daemon that is logged out. The Windows named
//! pipe and the macOS GUI apps' TCP port are not spoken yet.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;

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
        "tailscaled is not running, or not at {socket} ({detail}); start Tailscale, or install it from https://tailscale.com/download"
    )]
    NotRunning { socket: PathBuf, detail: String },
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

/// tailscaled's LocalAPI at one socket.
#[derive(Clone, Debug)]
pub struct LocalApi {
    socket: PathBuf,
}

struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Answer {
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
    pub fn unix(socket: impl Into<PathBuf>) -> Self {
        Self {
            socket: socket.into(),
        }
    }

    /// Where tailscaled puts its socket on this OS.
    pub fn default_socket() -> PathBuf {
        if cfg!(target_os = "macos") {
            PathBuf::from("/var/run/tailscaled.socket")
        } else {
            PathBuf::from("/var/run/tailscale/tailscaled.sock")
        }
    }

    pub fn socket(&self) -> &Path {
        &self.socket
    }

    pub async fn status(&self) -> Result<Status, LocalApiError> {
        let answer = self.request("GET", "/localapi/v0/status", &[], None).await?;
        self.json("status", &answer)
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
        self.json("whois", &answer)
    }

    pub async fn serve_config(&self) -> Result<ServeConfig, LocalApiError> {
        let answer = self
            .request("GET", "/localapi/v0/serve-config", &[], None)
            .await?;
        check(&answer)?;
        let config: serde_json::Value =
            serde_json::from_slice(&answer.body).map_err(|e| LocalApiError::Malformed {
                what: "serve-config".to_owned(),
                detail: e.to_string(),
            })?;
        // The ETag is the SHA-256 of the body; older daemons may not send it.
        let etag = answer
            .header("etag")
            .map(|tag| tag.trim_matches('"').to_owned())
            .unwrap_or_else(|| hex(&Sha256::digest(&answer.body)));
        Ok(ServeConfig {
            config: (!config.is_null()).then_some(config),
            etag,
        })
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
        check(&answer)
    }

    fn json<T: DeserializeOwned>(&self, what: &str, answer: &Answer) -> Result<T, LocalApiError> {
        check(answer)?;
        serde_json::from_slice(&answer.body).map_err(|e| LocalApiError::Malformed {
            what: what.to_owned(),
            detail: e.to_string(),
        })
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
                    socket: self.socket.clone(),
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
        let not_running = |e: std::io::Error| LocalApiError::NotRunning {
            socket: self.socket.clone(),
            detail: e.to_string(),
        };
        let mut stream = UnixStream::connect(&self.socket).await.map_err(not_running)?;
        let mut request = format!("{method} {path} HTTP/1.0\r\nHost: {HOST}\r\n");
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        let body = body.unwrap_or_default();
        request.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        stream.write_all(request.as_bytes()).await.map_err(not_running)?;
        stream.write_all(body).await.map_err(not_running)?;
        let mut raw = Vec::new();
        (&mut stream)
            .take(MAX_ANSWER as u64)
            .read_to_end(&mut raw)
            .await
            .map_err(not_running)?;
        parse_answer(&raw).ok_or_else(|| LocalApiError::Malformed {
            what: path.to_owned(),
            detail: "not an HTTP response".to_owned(),
        })
    }
}

fn check(answer: &Answer) -> Result<(), LocalApiError> {
    let detail = || answer.text();
    match answer.status {
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

fn parse_answer(raw: &[u8]) -> Option<Answer> {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&raw[..split]).ok()?;
    let mut lines = head.split("\r\n");
    let status = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Some(Answer {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    })
}

fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'-' | b'_' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_error_answers_are_typed() {
        let answer = |raw: &str| parse_answer(raw.replace('\n', "\r\n").as_bytes()).expect("answer");
        let logged_out = answer(
            "HTTP/1.1 500 Internal Server Error\nContent-Type: application/json\n\n{\"error\":\"updating config: netMap is nil\"}",
        );
        assert!(matches!(check(&logged_out), Err(LocalApiError::LoggedOut { .. })));
        let denied = answer("HTTP/1.1 403 Forbidden\n\nserve config denied");
        assert_eq!(
            check(&denied),
            Err(LocalApiError::Permission {
                detail: "serve config denied".into()
            })
        );
        assert_eq!(
            check(&answer("HTTP/1.1 412 Precondition Failed\n\n")),
            Err(LocalApiError::Conflict)
        );
    }
}

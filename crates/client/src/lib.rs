//! The only way to the daemon for the CLI and the tray: the control API.
//!
//! [`Client::connect`] finds the daemon through its data directory: on Unix it talks over
//! `control.sock` there, which only this user can open, so the control token never goes to
//! whatever else may listen on the daemon's port (elsewhere, loopback TCP with the port from
//! `daemon.json`). Every way of not reaching it becomes [`CliError::DaemonDown`] (or
//! [`CliError::PortTaken`]), with how to fix it; every request has a deadline. API errors
//! keep the daemon's message.
//!
//! It links `switchboard-local` (where the daemon is) and `switchboard-model` (what it says),
//! never the daemon itself: the app and the CLI's client commands carry no server code. What
//! a command prints, and the `switchboard connect` shim's MCP traffic, are the CLI's.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_local::address;
use switchboard_local::paths::DataDir;
use switchboard_local::token::ControlToken;
use switchboard_model::api::ApiError;
use switchboard_model::sse::{SseDecoder, SseEvent};

/// What can go wrong in a CLI command, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "the Switchboard daemon is not running (nothing answers on 127.0.0.1:{port} for {home}).\nStart it with `switchboard daemon`, or open the Switchboard app."
    )]
    DaemonDown { port: u16, home: PathBuf },
    #[error(
        "the Switchboard daemon for {home} is not running, and something else is listening on 127.0.0.1:{port}; nothing was sent to it.\nStop that program, or start the daemon on another port with `switchboard daemon --port N`."
    )]
    PortTaken { port: u16, home: PathBuf },
    #[error(
        "the Switchboard daemon did not answer {what} within {} s; it may be stuck: see its log, or restart it (`switchboard quit`, then `switchboard daemon`)",
        after.as_secs()
    )]
    NoAnswer { what: String, after: Duration },
    #[error("{message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    #[error("{0}")]
    Usage(String),
    /// The command ran, and the server it acted on ended in a failed state.
    #[error("{0}")]
    ServerFailed(String),
    /// Another daemon already holds the data directory (exit 5: service managers do not
    /// restart a daemon that stopped for this).
    #[error("{0}")]
    AlreadyRunning(String),
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// Exit codes: 1 failure, 2 bad usage or input, 3 daemon not running, 4 no such server,
    /// 5 another daemon already runs for this data directory.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::AlreadyRunning(_) => switchboard_local::service::ALREADY_RUNNING_EXIT,
            Self::Other(_) | Self::ServerFailed(_) => 1,
            Self::Usage(_) => 2,
            Self::Api { status: 404, .. } => 4,
            Self::Api {
                status: 400 | 409 | 413 | 422,
                ..
            } => 2,
            Self::Api { .. } | Self::NoAnswer { .. } => 1,
            Self::DaemonDown { .. } | Self::PortTaken { .. } => 3,
        }
    }
}

/// How long the daemon may take to answer a request that does not wait on purpose.
const ANSWER_PATIENCE: Duration = Duration::from_secs(30);
/// Installs and updates fetch packages first (the daemon allows a fetch ten minutes).
const FETCH_PATIENCE: Duration = Duration::from_secs(12 * 60);
/// Longest silence on an event stream (the daemon keeps it alive every 15 s).
const STREAM_PATIENCE: Duration = Duration::from_secs(60);
/// How long to look for another program on the daemon's port.
#[cfg(any(unix, windows))]
const PROBE_PATIENCE: Duration = Duration::from_millis(500);

/// The deadline of a request to `path`: the time the daemon may take, plus any `wait=SECS`
/// it was asked to wait for a server to settle.
fn patience(path: &str) -> Duration {
    let query = path.split_once('?').map_or("", |(_, q)| q);
    let waits = query
        .split('&')
        .find_map(|pair| pair.strip_prefix("wait="))
        .and_then(|secs| secs.parse().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    let route = path.split('?').next().unwrap_or(path);
    let work = if route.ends_with("/install") || route.ends_with("/update") {
        FETCH_PATIENCE
    } else {
        ANSWER_PATIENCE
    };
    work + waits
}

#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: String,
    port: u16,
    home: PathBuf,
}

impl Client {
    pub fn connect(home: PathBuf, port_hint: u16) -> Result<Self, CliError> {
        let data = DataDir::existing(home.clone());
        let port = address::port(&data, port_hint);
        let token = ControlToken::read(&data.control_token())
            .map_err(|e| CliError::Other(e.to_string()))?
            .ok_or_else(|| CliError::DaemonDown {
                port,
                home: home.clone(),
            })?;
        let builder = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .no_proxy();
        #[cfg(unix)]
        let builder = builder.unix_socket(data.control_socket());
        #[cfg(windows)]
        let builder = builder.windows_named_pipe(data.control_pipe());
        let http = builder
            .build()
            .map_err(|e| CliError::Other(format!("cannot set up HTTP: {e}")))?;
        Ok(Self {
            http,
            base: format!("http://127.0.0.1:{port}/api/v1"),
            token: token.expose().to_owned(),
            port,
            home,
        })
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> Result<reqwest::Response, CliError> {
        let response = request.bearer_auth(&self.token).send().await.map_err(|e| {
            if e.is_connect() {
                self.not_running()
            } else if e.is_timeout() {
                CliError::NoAnswer {
                    what: e.url().map_or_else(String::new, |u| u.path().to_owned()),
                    after: e.url().map_or(ANSWER_PATIENCE, |u| patience(u.as_str())),
                }
            } else {
                CliError::Other(format!("talking to the daemon failed: {e}"))
            }
        })?;
        if response.status().is_success() {
            return Ok(response);
        }
        let status = response.status().as_u16();
        let text = response.text().await.unwrap_or_default();
        Err(match serde_json::from_str::<ApiError>(&text) {
            Ok(ApiError { error }) => CliError::Api {
                status,
                code: error.code,
                message: error.message,
            },
            Err(_) => CliError::Api {
                status,
                code: "unknown".into(),
                message: format!("HTTP {status}: {text}"),
            },
        })
    }

    async fn json<T: DeserializeOwned>(&self, request: reqwest::RequestBuilder) -> Result<T, CliError> {
        let response = self.send(request).await?;
        response
            .json()
            .await
            .map_err(|e| CliError::Other(format!("the daemon's answer was unreadable: {e}")))
    }

    /// The daemon does not answer: not running, or (where the CLI uses the socket or the pipe)
    /// another program has its port, which is worth saying.
    fn not_running(&self) -> CliError {
        let home = self.home.clone();
        let port = self.port;
        #[cfg(any(unix, windows))]
        if std::net::TcpStream::connect_timeout(&(std::net::Ipv4Addr::LOCALHOST, port).into(), PROBE_PATIENCE)
            .is_ok()
        {
            return CliError::PortTaken { port, home };
        }
        CliError::DaemonDown { port, home }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A request to `path` with its deadline.
    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http.request(method, self.url(path)).timeout(patience(path))
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.json(self.request(reqwest::Method::GET, path)).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CliError> {
        let mut request = self.request(reqwest::Method::POST, path);
        if let Some(body) = body {
            request = request.json(body);
        }
        self.json(request).await
    }

    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, CliError> {
        self.json(self.request(reqwest::Method::PUT, path).json(body))
            .await
    }

    /// A DELETE whose answer has a body.
    pub async fn delete_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.json(self.request(reqwest::Method::DELETE, path)).await
    }

    /// A POST whose answer has no body to read (202, 204).
    pub async fn post_empty(&self, path: &str) -> Result<(), CliError> {
        self.send(self.request(reqwest::Method::POST, path))
            .await
            .map(drop)
    }

    pub async fn delete(&self, path: &str) -> Result<(), CliError> {
        self.send(self.request(reqwest::Method::DELETE, path))
            .await
            .map(drop)
    }

    /// Opens a server-sent event stream and calls `each` for every event until it returns false.
    pub async fn follow(&self, path: &str, mut each: impl FnMut(SseEvent) -> bool) -> Result<(), CliError> {
        let response = self.send(self.http.get(self.url(path))).await?;
        let mut body = response.bytes_stream();
        let mut decoder = SseDecoder::new();
        // The daemon sends a keep-alive comment every 15 s, so silence means it is stuck.
        while let Some(chunk) = tokio::time::timeout(STREAM_PATIENCE, body.next())
            .await
            .map_err(|_| CliError::NoAnswer {
                what: path.to_owned(),
                after: STREAM_PATIENCE,
            })?
        {
            let chunk = chunk.map_err(|e| CliError::Other(format!("the daemon closed the stream: {e}")))?;
            for event in decoder.feed(&chunk) {
                if !each(event) {
                    return Ok(());
                }
            }
        }
        Err(CliError::DaemonDown {
            port: self.port,
            home: self.home.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_request_may_take_its_work_plus_what_it_asks_to_wait() {
        let cases = [
            ("/status", ANSWER_PATIENCE),
            (
                "/servers/time/start?wait=60",
                ANSWER_PATIENCE + Duration::from_secs(60),
            ),
            ("/install?wait=60", FETCH_PATIENCE + Duration::from_secs(60)),
            ("/servers/time/update", FETCH_PATIENCE),
            ("/history?server=x&wait=notanumber", ANSWER_PATIENCE),
        ];
        for (path, expected) in cases {
            assert_eq!(patience(path), expected, "{path}");
        }
    }
}

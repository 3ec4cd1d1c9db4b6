//! The only way to the daemon for the CLI and the tray: the control API on loopback.
//!
//! [`Client::connect`] finds the daemon through its data directory (`daemon.json` for the
//! port, `control.token` for the credential) and turns every way of not reaching it into
//! [`CliError::DaemonDown`], with how to start one. API errors keep the daemon's message.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::StreamExt;
use serde::Serialize;
use serde::de::DeserializeOwned;
use switchboard_daemon::paths::DataDir;
use switchboard_daemon::token::ControlToken;
use switchboard_model::api::{ApiError, DaemonInfo};
use switchboard_model::sse::{SseDecoder, SseEvent};

/// What can go wrong in a CLI command, each with its exit code.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(
        "the Switchboard daemon is not running (nothing answers on 127.0.0.1:{port} for {home}).\nStart it with `switchboard daemon`, or open the Switchboard app."
    )]
    DaemonDown { port: u16, home: PathBuf },
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
    #[error("{0}")]
    Other(String),
}

impl CliError {
    /// Exit codes: 1 failure, 2 bad usage or input, 3 daemon not running, 4 no such server.
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Other(_) | Self::ServerFailed(_) => 1,
            Self::Usage(_) => 2,
            Self::Api { status: 404, .. } => 4,
            Self::Api {
                status: 400 | 409 | 413 | 422,
                ..
            } => 2,
            Self::Api { .. } => 1,
            Self::DaemonDown { .. } => 3,
        }
    }
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
        let port = std::fs::read(data.daemon_info())
            .ok()
            .and_then(|bytes| serde_json::from_slice::<DaemonInfo>(&bytes).ok())
            .map_or(port_hint, |info| info.port);
        let token = ControlToken::read(&data.control_token())
            .map_err(|e| CliError::Other(e.to_string()))?
            .ok_or_else(|| CliError::DaemonDown {
                port,
                home: home.clone(),
            })?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .no_proxy()
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
                CliError::DaemonDown {
                    port: self.port,
                    home: self.home.clone(),
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

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.json(self.http.get(self.url(path))).await
    }

    pub async fn post<T: DeserializeOwned>(
        &self,
        path: &str,
        body: Option<&impl Serialize>,
    ) -> Result<T, CliError> {
        let mut request = self.http.post(self.url(path));
        if let Some(body) = body {
            request = request.json(body);
        }
        self.json(request).await
    }

    pub async fn put<T: DeserializeOwned>(&self, path: &str, body: &impl Serialize) -> Result<T, CliError> {
        self.json(self.http.put(self.url(path)).json(body)).await
    }

    /// A DELETE whose answer has a body.
    pub async fn delete_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, CliError> {
        self.json(self.http.delete(self.url(path))).await
    }

    /// A POST whose answer has no body to read (202, 204).
    pub async fn post_empty(&self, path: &str) -> Result<(), CliError> {
        self.send(self.http.post(self.url(path))).await.map(drop)
    }

    pub async fn delete(&self, path: &str) -> Result<(), CliError> {
        self.send(self.http.delete(self.url(path))).await.map(drop)
    }

    /// Opens a server-sent event stream and calls `each` for every event until it returns false.
    pub async fn follow(&self, path: &str, mut each: impl FnMut(SseEvent) -> bool) -> Result<(), CliError> {
        let response = self.send(self.http.get(self.url(path))).await?;
        let mut body = response.bytes_stream();
        let mut decoder = SseDecoder::new();
        while let Some(chunk) = body.next().await {
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

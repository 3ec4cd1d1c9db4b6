//! The supervisor's MCP client: the initialize handshake, tools/list and ping, over a
//! server's stdio ([`StdioPeer`]) or Streamable HTTP ([`HttpPeer`]).
//!
//! This is how the supervisor knows a server is *running* in MCP terms rather than merely
//! alive as a process. It is deliberately small: requests with ids from one counter,
//! responses routed back by id, the server's own pings answered, everything else ignored.
//! Proxying client traffic is the gateway's job, not this module's.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use switchboard_model::PeerInfo;
use switchboard_model::api::LogStream;
use switchboard_model::sse::SseDecoder;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use super::logs::{ServerLog, read_bounded_line};

/// The revision offered in `initialize`; servers answer with the newest one they support.
pub const PROTOCOL_VERSION: &str = "2025-11-25";
/// Largest JSON-RPC message accepted from a server's stdout.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// tools/list pages followed before giving up on a server that never stops paginating.
const MAX_PAGES: usize = 100;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RpcError {
    #[error("the server closed the connection")]
    Closed,
    #[error("cannot connect to {url}: {detail}")]
    Connect { url: String, detail: String },
    #[error("the server answered {method} with error {code}: {message}")]
    Remote {
        method: String,
        code: i64,
        message: String,
    },
    #[error("the server's answer to {method} is malformed: {detail}")]
    Malformed { method: String, detail: String },
    #[error("HTTP {status} from {url} for {method}")]
    HttpStatus {
        url: String,
        method: String,
        status: u16,
    },
    #[error("HTTP request for {method} failed: {detail}")]
    Transport { method: String, detail: String },
}

/// What a successful handshake learned.
#[derive(Clone, Debug, PartialEq)]
pub struct Handshake {
    pub info: PeerInfo,
    pub tools: u32,
}

/// A connection over which JSON-RPC requests can be made to an MCP server.
pub trait McpPeer: Send + Sync {
    fn request(&self, method: &str, params: Value) -> impl Future<Output = Result<Value, RpcError>> + Send;
    fn notify(&self, method: &str) -> impl Future<Output = Result<(), RpcError>> + Send;
}

/// initialize, notifications/initialized, then tools/list (all pages) if tools are offered.
pub async fn handshake(peer: &impl McpPeer) -> Result<Handshake, RpcError> {
    let init = peer
        .request(
            "initialize",
            json!({
                "protocolVersion": PROTOCOL_VERSION,
                "capabilities": {},
                "clientInfo": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")},
            }),
        )
        .await?;
    let malformed = |detail: &str| RpcError::Malformed {
        method: "initialize".into(),
        detail: detail.into(),
    };
    let protocol_version = init["protocolVersion"]
        .as_str()
        .ok_or_else(|| malformed("no protocolVersion"))?;
    let info = PeerInfo {
        name: init["serverInfo"]["name"].as_str().unwrap_or_default().to_owned(),
        version: init["serverInfo"]["version"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        protocol_version: protocol_version.to_owned(),
    };
    let offers_tools = init["capabilities"].get("tools").is_some();
    peer.notify("notifications/initialized").await?;
    let tools = if offers_tools { count_tools(peer).await? } else { 0 };
    Ok(Handshake { info, tools })
}

async fn count_tools(peer: &impl McpPeer) -> Result<u32, RpcError> {
    let mut total = 0u32;
    let mut cursor: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let params = match &cursor {
            Some(c) => json!({ "cursor": c }),
            None => json!({}),
        };
        let page = peer.request("tools/list", params).await?;
        let tools = page["tools"].as_array().ok_or_else(|| RpcError::Malformed {
            method: "tools/list".into(),
            detail: "no tools array".into(),
        })?;
        total = total.saturating_add(u32::try_from(tools.len()).unwrap_or(u32::MAX));
        match page["nextCursor"].as_str() {
            Some(next) if !next.is_empty() => cursor = Some(next.to_owned()),
            _ => return Ok(total),
        }
    }
    Ok(total)
}

pub async fn ping(peer: &impl McpPeer) -> Result<(), RpcError> {
    peer.request("ping", json!({})).await.map(drop)
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Result<Value, RpcError>>>>>;

/// JSON-RPC over a child's stdin and stdout, one message per line.
#[derive(Debug)]
pub struct StdioPeer {
    outgoing: Mutex<Option<mpsc::Sender<Vec<u8>>>>,
    pending: Pending,
    next_id: AtomicU64,
}

impl StdioPeer {
    /// Starts the reader and writer tasks. Non-JSON lines on stdout go to the server's log.
    pub fn start(stdin: ChildStdin, stdout: ChildStdout, log: Arc<ServerLog>) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(64);
        let peer = Arc::new(Self {
            outgoing: Mutex::new(Some(tx.clone())),
            pending: Pending::default(),
            next_id: AtomicU64::new(1),
        });
        tokio::spawn(write_lines(stdin, rx));
        tokio::spawn(read_messages(stdout, tx, Arc::clone(&peer.pending), log));
        peer
    }

    /// Closes the server's stdin (the MCP way to ask it to exit); pending requests fail.
    pub fn close_input(&self) {
        self.outgoing.lock().unwrap_or_else(|p| p.into_inner()).take();
    }

    fn sender(&self) -> Option<mpsc::Sender<Vec<u8>>> {
        self.outgoing.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

impl McpPeer for StdioPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id, tx);
        let message = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let sent = match self.sender() {
            Some(out) => out.send(message.to_string().into_bytes()).await.is_ok(),
            None => false,
        };
        if !sent {
            self.pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id);
            return Err(RpcError::Closed);
        }
        let answer = rx.await.map_err(|_| RpcError::Closed)??;
        result_of(method, answer)
    }

    async fn notify(&self, method: &str) -> Result<(), RpcError> {
        let message = json!({"jsonrpc": "2.0", "method": method});
        let out = self.sender().ok_or(RpcError::Closed)?;
        out.send(message.to_string().into_bytes())
            .await
            .map_err(|_| RpcError::Closed)
    }
}

async fn write_lines(mut stdin: ChildStdin, mut rx: mpsc::Receiver<Vec<u8>>) {
    while let Some(mut line) = rx.recv().await {
        line.push(b'\n');
        if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
            break;
        }
    }
}

async fn read_messages(
    stdout: ChildStdout,
    replies: mpsc::Sender<Vec<u8>>,
    pending: Pending,
    log: Arc<ServerLog>,
) {
    let mut reader = BufReader::new(stdout);
    let mut buf = Vec::new();
    while let Ok(Some(cut)) = read_bounded_line(&mut reader, &mut buf, MAX_MESSAGE).await {
        let parsed: Option<Value> = if cut {
            None
        } else {
            serde_json::from_slice(&buf).ok()
        };
        let Some(message) = parsed.filter(Value::is_object) else {
            let text = String::from_utf8_lossy(&buf);
            if !text.trim().is_empty() {
                log.push(LogStream::Stdout, text.into_owned());
            }
            continue;
        };
        match (message.get("id"), message.get("method")) {
            (Some(id), None) => {
                let waiter = id
                    .as_u64()
                    .and_then(|id| pending.lock().unwrap_or_else(|p| p.into_inner()).remove(&id));
                if let Some(waiter) = waiter {
                    let _ = waiter.send(Ok(message));
                }
            }
            (Some(id), Some(method)) => {
                // A request from the server. Answer its liveness pings; refuse the rest, since
                // the supervisor offered no client capabilities.
                let reply = if method == "ping" {
                    json!({"jsonrpc": "2.0", "id": id, "result": {}})
                } else {
                    json!({"jsonrpc": "2.0", "id": id, "error": {"code": -32601, "message": "method not supported"}})
                };
                let _ = replies.send(reply.to_string().into_bytes()).await;
            }
            _ => {}
        }
    }
    for (_, waiter) in pending.lock().unwrap_or_else(|p| p.into_inner()).drain() {
        let _ = waiter.send(Err(RpcError::Closed));
    }
}

/// The `result` of a JSON-RPC response, or its `error` as an [`RpcError`].
fn result_of(method: &str, mut answer: Value) -> Result<Value, RpcError> {
    if let Some(error) = answer.get("error") {
        return Err(RpcError::Remote {
            method: method.to_owned(),
            code: error["code"].as_i64().unwrap_or_default(),
            message: error["message"].as_str().unwrap_or_default().to_owned(),
        });
    }
    match answer.get_mut("result") {
        Some(result) => Ok(result.take()),
        None => Err(RpcError::Malformed {
            method: method.to_owned(),
            detail: "neither result nor error".into(),
        }),
    }
}

/// MCP Streamable HTTP, as a client: POST per message, JSON or SSE answers, a session id.
#[derive(Debug)]
pub struct HttpPeer {
    client: reqwest::Client,
    url: String,
    headers: reqwest::header::HeaderMap,
    session: Mutex<Option<String>>,
    protocol: Mutex<Option<String>>,
    next_id: AtomicU64,
}

impl HttpPeer {
    pub fn new(client: reqwest::Client, url: String, headers: reqwest::header::HeaderMap) -> Self {
        Self {
            client,
            url,
            headers,
            session: Mutex::new(None),
            protocol: Mutex::new(None),
            next_id: AtomicU64::new(1),
        }
    }

    fn post(&self, body: &Value) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(&self.url)
            .headers(self.headers.clone())
            .header(reqwest::header::ACCEPT, "application/json, text/event-stream")
            .json(body);
        if let Some(session) = self.session.lock().unwrap_or_else(|p| p.into_inner()).as_deref() {
            request = request.header("mcp-session-id", session);
        }
        if let Some(protocol) = self.protocol.lock().unwrap_or_else(|p| p.into_inner()).as_deref() {
            request = request.header("mcp-protocol-version", protocol);
        }
        request
    }

    fn transport_error(&self, method: &str, e: reqwest::Error) -> RpcError {
        if e.is_connect() {
            RpcError::Connect {
                url: self.url.clone(),
                detail: e.to_string(),
            }
        } else {
            RpcError::Transport {
                method: method.to_owned(),
                detail: e.to_string(),
            }
        }
    }

    /// Ends the session politely (DELETE); servers that do not support it may refuse.
    pub async fn close(&self) {
        let session = self.session.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(session) = session {
            let _ = self
                .client
                .delete(&self.url)
                .headers(self.headers.clone())
                .header("mcp-session-id", session)
                // A stop must not wait on a server that stopped answering.
                .timeout(std::time::Duration::from_secs(2))
                .send()
                .await;
        }
    }
}

impl McpPeer for HttpPeer {
    async fn request(&self, method: &str, params: Value) -> Result<Value, RpcError> {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let body = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params});
        let response = self
            .post(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        let status = response.status();
        if !status.is_success() {
            return Err(RpcError::HttpStatus {
                url: self.url.clone(),
                method: method.to_owned(),
                status: status.as_u16(),
            });
        }
        if method == "initialize"
            && let Some(session) = response
                .headers()
                .get("mcp-session-id")
                .and_then(|v| v.to_str().ok())
        {
            *self.session.lock().unwrap_or_else(|p| p.into_inner()) = Some(session.to_owned());
        }
        let is_sse = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        let answer = if is_sse {
            self.answer_from_stream(method, id, response).await?
        } else {
            let bytes = response
                .bytes()
                .await
                .map_err(|e| self.transport_error(method, e))?;
            serde_json::from_slice(&bytes).map_err(|e| RpcError::Malformed {
                method: method.into(),
                detail: e.to_string(),
            })?
        };
        let result = result_of(method, answer)?;
        if method == "initialize"
            && let Some(version) = result["protocolVersion"].as_str()
        {
            *self.protocol.lock().unwrap_or_else(|p| p.into_inner()) = Some(version.to_owned());
        }
        Ok(result)
    }

    async fn notify(&self, method: &str) -> Result<(), RpcError> {
        let body = json!({"jsonrpc": "2.0", "method": method});
        let response = self
            .post(&body)
            .send()
            .await
            .map_err(|e| self.transport_error(method, e))?;
        if response.status().is_success() {
            Ok(())
        } else {
            Err(RpcError::HttpStatus {
                url: self.url.clone(),
                method: method.into(),
                status: response.status().as_u16(),
            })
        }
    }
}

impl HttpPeer {
    async fn answer_from_stream(
        &self,
        method: &str,
        id: u64,
        mut response: reqwest::Response,
    ) -> Result<Value, RpcError> {
        let mut decoder = SseDecoder::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.transport_error(method, e))?
        {
            for event in decoder.feed(&chunk) {
                let Ok(message) = serde_json::from_str::<Value>(&event.data) else {
                    continue;
                };
                let is_answer = message.get("method").is_none() && message["id"].as_u64() == Some(id);
                if is_answer {
                    return Ok(message);
                }
            }
        }
        Err(RpcError::Closed)
    }
}

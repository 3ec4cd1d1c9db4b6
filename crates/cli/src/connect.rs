//! `switchboard connect`: a stdio MCP server that is really the gateway, for clients that can
//! only launch a program (Claude Desktop and others).
//!
//! Lines from stdin are POSTed to `/mcp/<server>` (or `/mcp`) with the client's token (over the
//! daemon's control socket on Unix); answers
//! (JSON or SSE) are written to stdout as lines, and the session's GET stream carries what the
//! server sends on its own. When the daemon is down, requests get a JSON-RPC error naming the
//! fix instead of the shim dying; when it is back, the shim opens a new session by replaying
//! the client's `initialize`, so the client never notices beyond the failed calls.
//! The gateway's behaviour is the daemon's; this is transport only.

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use serde_json::{Value, json};
use switchboard_local::address;
use switchboard_local::paths::DataDir;
use switchboard_model::sse::SseDecoder;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::sync::mpsc;

use crate::client::CliError;

/// Implementation-defined JSON-RPC error code for "the gateway cannot be reached".
const UNREACHABLE: i64 = -32001;

pub struct Shim {
    http: reqwest::Client,
    home: PathBuf,
    port_hint: u16,
    path: String,
    token: String,
    session: Mutex<Option<Session>>,
    /// The session's GET stream, ended when the client closes stdin.
    listening: Mutex<Option<tokio::task::AbortHandle>>,
    /// The client's initialize, replayed to open a new session after the daemon restarts.
    initialize: Mutex<Option<Bytes>>,
    out: mpsc::UnboundedSender<Bytes>,
}

#[derive(Clone)]
struct Session {
    id: HeaderValue,
    protocol: Option<HeaderValue>,
    base: String,
}

enum Failure {
    /// The daemon is not there (not running, or restarting).
    Unreachable(String),
    /// The gateway does not know the session (the daemon restarted).
    SessionGone,
    Other(String),
}

pub async fn run(home: PathBuf, port_hint: u16, server: Option<String>) -> Result<(), CliError> {
    let token = std::env::var("SWITCHBOARD_TOKEN").map_err(|_| {
        CliError::Usage(
            "set SWITCHBOARD_TOKEN to this client's token (`switchboard token create <client>` issues one)"
                .into(),
        )
    })?;
    let path = match server {
        Some(name) => format!("/mcp/{name}"),
        None => "/mcp".into(),
    };
    let (out, mut lines) = mpsc::unbounded_channel::<Bytes>();
    let writer = tokio::spawn(async move {
        let mut stdout = tokio::io::stdout();
        while let Some(line) = lines.recv().await {
            let ok = stdout.write_all(&line).await.is_ok() && stdout.write_all(b"\n").await.is_ok();
            if !ok || (lines.is_empty() && stdout.flush().await.is_err()) {
                return;
            }
        }
    });
    let builder = reqwest::Client::builder().no_proxy();
    // The client's token goes only to this user's daemon, never to whatever has its port.
    #[cfg(unix)]
    let builder = builder.unix_socket(DataDir::existing(home.clone()).control_socket());
    #[cfg(windows)]
    let builder = builder.windows_named_pipe(DataDir::existing(home.clone()).control_pipe());
    let shim = Arc::new(Shim {
        http: builder.build().map_err(|e| CliError::Other(e.to_string()))?,
        home,
        port_hint,
        path,
        token,
        session: Mutex::new(None),
        listening: Mutex::new(None),
        initialize: Mutex::new(None),
        out,
    });
    let mut stdin = BufReader::new(tokio::io::stdin()).lines();
    let mut reader = MessageReader::default();
    while let Ok(Some(line)) = stdin.next_line().await {
        let Some(message) = reader.push(&line) else {
            continue;
        };
        let shim = Arc::clone(&shim);
        if is_initialize(&message) {
            // What follows initialize needs its session: it is read only once that exists.
            shim.handle(message).await;
        } else {
            // Requests run side by side: a long tool call must not hold up a cancellation.
            tokio::spawn(async move { shim.handle(message).await });
        }
    }
    // The client is done: answers still on their way are written, then the shim exits.
    if let Some(listening) = shim.listening.lock().take() {
        listening.abort();
    }
    drop(shim);
    let _ = writer.await;
    Ok(())
}

/// Gathers stdin lines into messages. A message is one line, as the stdio transport says, but
/// a client that writes one JSON value over several lines (pretty-printed) is understood too:
/// lines are joined until they make a whole value or a definite error.
#[derive(Default)]
struct MessageReader {
    pending: String,
}

impl MessageReader {
    /// Adds a line; returns a message (a JSON value, or text that never will be one) once
    /// complete. Line breaks inside a message become spaces, so it is sent as one line.
    fn push(&mut self, line: &str) -> Option<Bytes> {
        if self.pending.is_empty() && line.trim().is_empty() {
            return None;
        }
        if !self.pending.is_empty() {
            self.pending.push(' ');
        }
        self.pending.push_str(line.trim_end_matches('\r'));
        match serde_json::from_str::<serde::de::IgnoredAny>(&self.pending) {
            Err(e) if e.is_eof() => None,
            _ => Some(Bytes::from(std::mem::take(&mut self.pending))),
        }
    }
}

fn is_initialize(message: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Method<'_>>(message).is_ok_and(|m| m.method.as_deref() == Some("initialize"))
}

impl Shim {
    fn emit(&self, message: Bytes) {
        let _ = self.out.send(message);
    }

    fn base(&self) -> String {
        let port = address::port(&DataDir::existing(self.home.clone()), self.port_hint);
        format!("http://127.0.0.1:{port}")
    }

    async fn handle(self: Arc<Self>, line: Bytes) {
        let message: Value = match serde_json::from_slice(&line) {
            Ok(value) => value,
            Err(e) => {
                let error = json!({"jsonrpc": "2.0", "id": null, "error": {"code": -32700, "message": format!("not valid JSON: {e}")}});
                return self.emit(Bytes::from(error.to_string()));
            }
        };
        let id = message.get("id").cloned();
        let is_request = message.get("method").is_some() && id.is_some();
        if message["method"] == "initialize" {
            *self.initialize.lock() = Some(line.clone());
            *self.session.lock() = None;
        }
        let mut result = self.send(&line).await;
        if matches!(result, Err(Failure::SessionGone)) && self.reopen().await {
            result = self.send(&line).await;
        }
        let message = match result {
            Ok(()) => return,
            Err(Failure::Unreachable(detail)) => format!(
                "the Switchboard daemon is not reachable ({detail}); start it with `switchboard daemon` and retry"
            ),
            Err(Failure::SessionGone) => {
                "the Switchboard daemon restarted and the session could not be reopened; retry".into()
            }
            Err(Failure::Other(detail)) => detail,
        };
        if is_request {
            let error =
                json!({"jsonrpc": "2.0", "id": id, "error": {"code": UNREACHABLE, "message": message}});
            self.emit(Bytes::from(error.to_string()));
        }
    }

    /// Opens a new session by replaying the client's initialize; its answer is not shown.
    async fn reopen(self: &Arc<Self>) -> bool {
        let Some(initialize) = self.initialize.lock().clone() else {
            return false;
        };
        *self.session.lock() = None;
        let quiet = self.post(&initialize, true).await.is_ok();
        let initialized = Bytes::from_static(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
        quiet && self.post(&initialized, true).await.is_ok()
    }

    async fn send(self: &Arc<Self>, line: &Bytes) -> Result<(), Failure> {
        self.post(line, false).await
    }

    async fn post(self: &Arc<Self>, body: &Bytes, quiet: bool) -> Result<(), Failure> {
        let session = self.session.lock().clone();
        let base = session
            .as_ref()
            .map(|s| s.base.clone())
            .unwrap_or_else(|| self.base());
        let mut request = self
            .http
            .post(format!("{base}{}", self.path))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(body.clone());
        if let Some(session) = &session {
            request = request.header("mcp-session-id", session.id.clone());
            if let Some(protocol) = &session.protocol {
                request = request.header("mcp-protocol-version", protocol.clone());
            }
        }
        let response = request
            .send()
            .await
            .map_err(|e| Failure::Unreachable(e.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND && session.is_some() {
            return Err(Failure::SessionGone);
        }
        let new_session = response.headers().get("mcp-session-id").cloned();
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if !status.is_success() && !is_sse {
            return self.pass_refusal(response, body, quiet).await;
        }
        if is_sse {
            self.relay_events(response, new_session, &base, quiet).await;
            return Ok(());
        }
        let bytes = response
            .bytes()
            .await
            .map_err(|e| Failure::Other(e.to_string()))?;
        if let Some(id) = new_session {
            self.adopt_session(id, &base, &bytes);
        }
        if !bytes.is_empty() && !quiet {
            self.emit(bytes);
        }
        Ok(())
    }

    /// An error status for `body`: the gateway's refusals are JSON-RPC errors already, so one
    /// for a request is passed on as its answer (unless `quiet`); anything else is a failure.
    async fn pass_refusal(
        &self,
        response: reqwest::Response,
        body: &Bytes,
        quiet: bool,
    ) -> Result<(), Failure> {
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !quiet && serde_json::from_str::<Value>(&text).is_ok_and(|v| v.get("error").is_some()) {
            let mut value: Value = serde_json::from_str(&text).unwrap_or_default();
            if let Ok(sent) = serde_json::from_slice::<Value>(body) {
                value["id"] = sent["id"].clone();
            }
            if !value["id"].is_null() {
                self.emit(Bytes::from(value.to_string()));
                return Ok(());
            }
        }
        Err(Failure::Other(format!(
            "the gateway answered HTTP {status}: {text}"
        )))
    }

    /// Writes out the events of an SSE answer (unless `quiet`); a session the gateway opened
    /// with it (`new_session`) is kept, the first event being initialize's answer.
    async fn relay_events(
        self: &Arc<Self>,
        mut response: reqwest::Response,
        mut new_session: Option<HeaderValue>,
        base: &str,
        quiet: bool,
    ) {
        let mut decoder = SseDecoder::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            for event in decoder.feed(&chunk) {
                if event.data.is_empty() {
                    continue;
                }
                if let Some(id) = new_session.take() {
                    self.adopt_session(id, base, event.data.as_bytes());
                }
                if !quiet {
                    self.emit(Bytes::from(event.data));
                }
            }
        }
    }

    /// Keeps the session the gateway opened with `answer` (initialize's), and listens on it.
    fn adopt_session(self: &Arc<Self>, id: HeaderValue, base: &str, answer: &[u8]) {
        let protocol = serde_json::from_slice::<Value>(answer)
            .ok()
            .and_then(|v| v["result"]["protocolVersion"].as_str().map(str::to_owned))
            .and_then(|v| HeaderValue::from_str(&v).ok());
        *self.session.lock() = Some(Session {
            id,
            protocol,
            base: base.to_owned(),
        });
        let listening = tokio::spawn(Arc::clone(self).listen()).abort_handle();
        if let Some(previous) = self.listening.lock().replace(listening) {
            previous.abort();
        }
    }

    /// The session's GET stream, for what the server sends outside requests.
    async fn listen(self: Arc<Self>) {
        let Some(session) = self.session.lock().clone() else {
            return;
        };
        let mut request = self
            .http
            .get(format!("{}{}", session.base, self.path))
            .header(AUTHORIZATION, format!("Bearer {}", self.token))
            .header(ACCEPT, "text/event-stream")
            .header("mcp-session-id", session.id.clone());
        if let Some(protocol) = &session.protocol {
            request = request.header("mcp-protocol-version", protocol.clone());
        }
        let Ok(mut response) = request.send().await else {
            return;
        };
        if !response.status().is_success() {
            return;
        }
        let mut decoder = SseDecoder::new();
        while let Ok(Some(chunk)) = response.chunk().await {
            for event in decoder.feed(&chunk) {
                if !event.data.is_empty() {
                    self.emit(Bytes::from(event.data));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: &[&str]) -> Vec<String> {
        let mut reader = MessageReader::default();
        lines
            .iter()
            .filter_map(|line| reader.push(line))
            .map(|m| String::from_utf8(m.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn messages_are_lines_or_values_over_several_lines() {
        let one = r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#;
        assert_eq!(read(&[one, "", one]), [one, one]);
        assert_eq!(
            read(&["{\r", r#"  "id": 1,"#, r#"  "method": "ping""#, "}", one]),
            [r#"{   "id": 1,   "method": "ping" }"#, one]
        );
        // Text that can never become JSON is a message of its own (answered with a parse
        // error), and does not swallow what follows.
        assert_eq!(read(&["{oops", one]), ["{oops", one]);
    }

    #[test]
    fn initialize_is_told_from_other_messages() {
        assert!(is_initialize(
            br#"{"jsonrpc":"2.0","id":0,"method":"initialize"}"#
        ));
        assert!(!is_initialize(
            br#"{"jsonrpc":"2.0","id":0,"method":"tools/list"}"#
        ));
        assert!(!is_initialize(b"{oops"));
    }
}

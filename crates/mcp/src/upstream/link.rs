//! Links: how frames reach a server and come back, whatever the transport.
//!
//! Each link is an [`Outlet`] for frames to send and a channel of frames received. [`stdio`]
//! writes one message per line to a process, from the sender's own task, and reads its stdout. [`http`] speaks Streamable HTTP as a
//! client (a POST per message, JSON or SSE answers, the session id, the GET stream), and falls
//! back to the legacy HTTP+SSE transport when the server refuses the first POST. Routing is
//! [`super::Upstream`]'s; a link only moves bytes and reports what it could not deliver.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures_util::future::BoxFuture;
use parking_lot::Mutex;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue};
use switchboard_model::api::LogStream;
use switchboard_model::sse::SseDecoder;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::mpsc;

use crate::jsonrpc::{self, Frame, Kind, code};
use crate::logs::{ServerLog, read_bounded_line};

/// Largest JSON-RPC message accepted from a server.
const MAX_MESSAGE: usize = 64 * 1024 * 1024;
/// Frames queued towards a server before senders wait.
const QUEUE: usize = 256;

/// Where a link's frames to the server go, and the frames it received.
pub type Channels = (Outlet, mpsc::Receiver<Frame>);

/// The sending side of a link.
#[derive(Clone, Debug)]
pub enum Outlet {
    /// A process's stdin, written by the sender itself: a hop through a writer task would
    /// cost every request a task wake-up, more than the write.
    Stdin(Arc<tokio::sync::Mutex<tokio::io::BufWriter<ChildStdin>>>),
    /// A link's own task, which decides how each frame travels.
    Queue(mpsc::Sender<Frame>),
}

impl Outlet {
    /// False once the link is gone.
    pub async fn send(&self, frame: Frame) -> bool {
        match self {
            Self::Queue(queue) => queue.send(frame).await.is_ok(),
            Self::Stdin(stdin) => {
                let mut stdin = stdin.lock().await;
                // Message and newline in one write: the server wakes once, with a whole line.
                stdin.write_all(frame.bytes()).await.is_ok()
                    && stdin.write_all(b"\n").await.is_ok()
                    && stdin.flush().await.is_ok()
            }
        }
    }
}

/// Where an HTTP link gets its bearer token (a login's), and whom it tells when a server
/// wants more access than the token grants.
pub trait Credentials: Send + Sync {
    /// The token to send now; `refused` is one the server just answered 401 to.
    fn bearer(&self, refused: Option<String>) -> BoxFuture<'_, Option<String>>;
    /// The server answered 403 `insufficient_scope`, asking for `scope`.
    fn needs_scope(&self, scope: String);
}

pub type Bearer = Arc<dyn Credentials>;

/// JSON-RPC over a child's stdin and stdout, one message per line. Lines that are not JSON-RPC
/// go to the server's log.
pub fn stdio(stdin: ChildStdin, stdout: ChildStdout, log: Arc<ServerLog>) -> Channels {
    let (in_tx, in_rx) = mpsc::channel(QUEUE);
    tokio::spawn(read_lines(stdout, in_tx, log));
    // A pipe is unbuffered: without a buffer, a message and its newline would be two writes.
    let stdin = tokio::io::BufWriter::with_capacity(64 * 1024, stdin);
    (Outlet::Stdin(Arc::new(tokio::sync::Mutex::new(stdin))), in_rx)
}

async fn read_lines(stdout: ChildStdout, incoming: mpsc::Sender<Frame>, log: Arc<ServerLog>) {
    let mut reader = BufReader::with_capacity(64 * 1024, stdout);
    let mut buf = Vec::new();
    while let Ok(Some(cut)) = read_bounded_line(&mut reader, &mut buf, MAX_MESSAGE).await {
        let frame = match cut {
            true => None,
            false => Frame::parse(Bytes::copy_from_slice(&buf)).ok(),
        };
        match frame {
            Some(frame) => {
                if incoming.send(frame).await.is_err() {
                    return;
                }
            }
            None => {
                let text = String::from_utf8_lossy(&buf);
                if !text.trim().is_empty() {
                    log.push(LogStream::Stdout, text.into_owned());
                }
            }
        }
    }
}

/// The state an HTTP link shares between its POSTs.
struct HttpState {
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    bearer: Option<Bearer>,
    session: Mutex<Option<HeaderValue>>,
    protocol: Mutex<Option<HeaderValue>>,
    incoming: mpsc::Sender<Frame>,
    log: Arc<ServerLog>,
}

/// MCP over HTTP as a client, for local and remote HTTP servers; `bearer`, when given, is asked
/// for the `Authorization` of each request, and once more after a 401.
pub fn http(
    client: reqwest::Client,
    url: String,
    headers: HeaderMap,
    bearer: Option<Bearer>,
    log: Arc<ServerLog>,
) -> Channels {
    let (out_tx, out_rx) = mpsc::channel(QUEUE);
    let (in_tx, in_rx) = mpsc::channel(QUEUE);
    let state = Arc::new(HttpState {
        client,
        url,
        headers,
        bearer,
        session: Mutex::new(None),
        protocol: Mutex::new(None),
        incoming: in_tx,
        log,
    });
    tokio::spawn(run_http(state, out_rx));
    (Outlet::Queue(out_tx), in_rx)
}

async fn run_http(state: Arc<HttpState>, mut out: mpsc::Receiver<Frame>) {
    // The first frame is the handshake's initialize; how the server answers it decides the
    // transport for the rest of the connection.
    let Some(first) = out.recv().await else { return };
    match post(&state, &first).await {
        Posted::Done => {}
        Posted::Refused(status) if matches!(status, 400 | 404 | 405) => {
            state.log.push(
                LogStream::Supervisor,
                format!("POST answered {status}: trying the legacy HTTP+SSE transport"),
            );
            return run_legacy_sse(state, first, out).await;
        }
        Posted::Refused(_) | Posted::Failed => {}
    }
    let mut listening = false;
    while let Some(frame) = out.recv().await {
        let is_initialized = frame.head().method.as_deref() == Some("notifications/initialized");
        let posting = Arc::clone(&state);
        // Each POST runs on its own: a slow tool call must not hold up a ping.
        tokio::spawn(async move { post(&posting, &frame).await });
        if is_initialized && !listening {
            listening = true;
            tokio::spawn(listen(Arc::clone(&state)));
        }
    }
    close_session(&state).await;
}

enum Posted {
    Done,
    Refused(u16),
    Failed,
}

/// The headers of every request: the spec's, and the current bearer token. `refused` is a
/// token the server just turned away. Returns the token sent, if any.
async fn request_headers(state: &HttpState, refused: Option<String>) -> (HeaderMap, Option<String>) {
    let mut headers = state.headers.clone();
    let mut sent = None;
    if let Some(bearer) = &state.bearer
        && let Some(token) = bearer.bearer(refused).await
        && let Ok(value) = HeaderValue::from_str(&format!("Bearer {token}"))
    {
        headers.insert(AUTHORIZATION, value);
        sent = Some(token);
    }
    (headers, sent)
}

/// One POST of `frame` and what became of it: an answer is delivered, a failure is answered
/// to the requester as a JSON-RPC error.
async fn post(state: &HttpState, frame: &Frame) -> Posted {
    let posting = Posting::new(state, frame);
    let (mut result, sent) = posting.send(None).await;
    // A refused token is replaced (refreshed, or taken from whoever refreshed it) and the
    // request sent once more.
    if let (Ok(response), Some(token)) = (&result, sent)
        && response.status() == reqwest::StatusCode::UNAUTHORIZED
    {
        result = posting.send(Some(token)).await.0;
    }
    let response = match result {
        Ok(response) => response,
        Err(e) => {
            posting.fail(with_causes(&e), code::SERVER_UNAVAILABLE).await;
            return Posted::Failed;
        }
    };
    if !response.status().is_success() {
        return posting.refused(&response).await;
    }
    posting.answered(response).await;
    Posted::Done
}

/// What [`post`] needs to know of the frame it sends.
struct Posting<'a> {
    state: &'a HttpState,
    frame: &'a Frame,
    is_request: bool,
    is_initialize: bool,
    id: Option<String>,
    method: String,
}

impl<'a> Posting<'a> {
    fn new(state: &'a HttpState, frame: &'a Frame) -> Self {
        let head = frame.head();
        Self {
            state,
            frame,
            is_request: head.kind() == Kind::Request,
            is_initialize: head.method.as_deref() == Some("initialize"),
            id: head.id.map(|id| id.get().to_owned()),
            method: head.method.as_deref().unwrap_or("response").to_owned(),
        }
    }

    /// Sends the frame; `refused` is a token the server turned away. Returns the token sent.
    async fn send(&self, refused: Option<String>) -> (reqwest::Result<reqwest::Response>, Option<String>) {
        let state = self.state;
        let (headers, sent) = request_headers(state, refused).await;
        let request = state
            .client
            .post(&state.url)
            .headers(headers)
            .header(ACCEPT, "application/json, text/event-stream")
            .header(CONTENT_TYPE, "application/json")
            .body(self.frame.bytes().clone());
        (with_session(state, request).send().await, sent)
    }

    /// Answers the requester (if the frame was a request) with an error saying why.
    async fn fail(&self, detail: String, error_code: i64) {
        if self.is_request
            && let Some(id) = &self.id
        {
            let message = format!("{} could not reach {}: {detail}", self.method, self.state.url);
            let _ = self
                .state
                .incoming
                .send(jsonrpc::error_response(id, error_code, &message))
                .await;
        }
    }

    /// A non-success status: a missing scope is reported to the credentials; the requester
    /// is told, except when an initialize is refused in a way that means the legacy transport.
    async fn refused(&self, response: &reqwest::Response) -> Posted {
        let status = response.status();
        // Step-up: the token lacks a scope this request needs; only a new login can add it.
        let challenge = response
            .headers()
            .get(reqwest::header::WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if status == reqwest::StatusCode::FORBIDDEN
            && challenge.contains("insufficient_scope")
            && let Some(bearer) = &self.state.bearer
        {
            let scope = challenge_param(challenge, "scope").unwrap_or_default();
            bearer.needs_scope(scope.clone());
            self.fail(
                format!("HTTP {status}: the login lacks scope `{scope}`"),
                code::UNAUTHORIZED,
            )
            .await;
            return Posted::Refused(status.as_u16());
        }
        if !(self.is_initialize && matches!(status.as_u16(), 400 | 404 | 405)) {
            let error_code = match status {
                reqwest::StatusCode::UNAUTHORIZED => code::UNAUTHORIZED,
                _ => code::SERVER_UNAVAILABLE,
            };
            self.fail(format!("HTTP {status}"), error_code).await;
        }
        Posted::Refused(status.as_u16())
    }

    /// A success: remembers the session id, then delivers the answer, JSON or SSE.
    async fn answered(&self, response: reqwest::Response) {
        let state = self.state;
        if let Some(session) = response.headers().get("mcp-session-id") {
            *state.session.lock() = Some(session.clone());
        }
        let is_sse = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("text/event-stream"));
        if is_sse {
            read_events(state, response, self.is_initialize).await;
        } else if self.is_request {
            match response.bytes().await {
                Ok(body) => deliver(state, body, self.is_initialize).await,
                Err(e) => self.fail(with_causes(&e), code::SERVER_UNAVAILABLE).await,
            }
        }
    }
}

/// `request` with the session id and protocol version the server gave, once it gave them.
fn with_session(state: &HttpState, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
    if let Some(session) = state.session.lock().clone() {
        request = request.header("mcp-session-id", session);
    }
    if let Some(protocol) = state.protocol.lock().clone() {
        request = request.header("mcp-protocol-version", protocol);
    }
    request
}

/// Hands a received message to the upstream; remembers the protocol version it agreed.
async fn deliver(state: &HttpState, body: Bytes, is_initialize: bool) {
    let Ok(frame) = Frame::parse(body) else { return };
    if is_initialize
        && let Some(version) = frame.to_value()["result"]["protocolVersion"].as_str()
        && let Ok(version) = HeaderValue::from_str(version)
    {
        *state.protocol.lock() = Some(version);
    }
    let _ = state.incoming.send(frame).await;
}

async fn read_events(state: &HttpState, mut response: reqwest::Response, is_initialize: bool) {
    let mut decoder = SseDecoder::new();
    while let Ok(Some(chunk)) = response.chunk().await {
        for event in decoder.feed(&chunk) {
            if !event.data.is_empty() {
                deliver(state, Bytes::from(event.data), is_initialize).await;
            }
        }
    }
}

/// The GET stream, for messages the server sends outside any request. Servers may refuse it.
async fn listen(state: Arc<HttpState>) {
    let request = state
        .client
        .get(&state.url)
        .headers(request_headers(&state, None).await.0)
        .header(ACCEPT, "text/event-stream");
    if let Ok(response) = with_session(&state, request).send().await
        && response.status().is_success()
    {
        read_events(&state, response, false).await;
    }
}

async fn close_session(state: &HttpState) {
    let session = state.session.lock().take();
    if let Some(session) = session {
        let _ = state
            .client
            .delete(&state.url)
            .headers(request_headers(state, None).await.0)
            .header("mcp-session-id", session)
            // Ending must not wait on a server that stopped answering.
            .timeout(Duration::from_secs(2))
            .send()
            .await;
    }
}

/// The 2024-11-05 transport: a GET stream whose first event names the URL to POST to.
async fn run_legacy_sse(state: Arc<HttpState>, first: Frame, out: mpsc::Receiver<Frame>) {
    let Some(mut response) = open_legacy_stream(&state).await else {
        return;
    };
    let mut decoder = SseDecoder::new();
    let Some((endpoint, early)) = await_endpoint(&state, &mut response, &mut decoder).await else {
        return;
    };
    for data in early {
        deliver(&state, Bytes::from(data), false).await;
    }
    let sender = tokio::spawn(post_legacy(Arc::clone(&state), endpoint, first, out));
    // Every answer comes on the stream.
    while let Ok(Some(chunk)) = response.chunk().await {
        for event in decoder.feed(&chunk) {
            if !event.data.is_empty() {
                deliver(&state, Bytes::from(event.data), false).await;
            }
        }
    }
    sender.abort();
}

/// The legacy transport's GET stream; `None` (logged) if the server refuses it too.
async fn open_legacy_stream(state: &HttpState) -> Option<reqwest::Response> {
    let response = state
        .client
        .get(&state.url)
        .headers(request_headers(state, None).await.0)
        .header(ACCEPT, "text/event-stream")
        .send()
        .await;
    let detail = match response {
        Ok(r) if r.status().is_success() => return Some(r),
        Ok(r) => format!("HTTP {}", r.status()),
        Err(e) => e.to_string(),
    };
    state.log.push(
        LogStream::Supervisor,
        format!(
            "{} speaks neither Streamable HTTP nor HTTP+SSE: {detail}",
            state.url
        ),
    );
    None
}

/// Reads the stream up to its `endpoint` event: the URL to POST to, and the messages that
/// came before it. `None` if the stream ends first or the URL is not one.
async fn await_endpoint(
    state: &HttpState,
    response: &mut reqwest::Response,
    decoder: &mut SseDecoder,
) -> Option<(reqwest::Url, Vec<String>)> {
    let mut endpoint = None;
    let mut early = Vec::new();
    while endpoint.is_none() {
        let Ok(Some(chunk)) = response.chunk().await else {
            return None;
        };
        for event in decoder.feed(&chunk) {
            if event.event == "endpoint" {
                endpoint = reqwest::Url::parse(&state.url)
                    .and_then(|base| base.join(event.data.trim()))
                    .ok();
            } else {
                early.push(event.data);
            }
        }
    }
    endpoint.map(|endpoint| (endpoint, early))
}

/// POSTs `first` and then every queued frame to the legacy `endpoint`, one at a time, until
/// the queue closes or a POST fails.
async fn post_legacy(
    state: Arc<HttpState>,
    endpoint: reqwest::Url,
    first: Frame,
    mut out: mpsc::Receiver<Frame>,
) {
    let mut next = Some(first);
    loop {
        let frame = match next.take() {
            Some(frame) => frame,
            None => match out.recv().await {
                Some(frame) => frame,
                None => return,
            },
        };
        let posted = state
            .client
            .post(endpoint.clone())
            .headers(request_headers(&state, None).await.0)
            .header(CONTENT_TYPE, "application/json")
            .body(frame.bytes().clone())
            .send()
            .await;
        if !posted.is_ok_and(|r| r.status().is_success()) {
            return;
        }
    }
}

/// Parameter `name` (`resource_metadata`, `scope`) of a `WWW-Authenticate: Bearer …` header.
pub fn challenge_param(header: &str, name: &str) -> Option<String> {
    let start = header
        .match_indices(&format!("{name}="))
        .find(|(at, _)| *at == 0 || header[..*at].ends_with([' ', ',']))?
        .0
        + name.len()
        + 1;
    let rest = &header[start..];
    let value = match rest.strip_prefix('"') {
        Some(quoted) => &quoted[..quoted.find('"')?],
        None => rest.split([',', ' ']).next()?,
    };
    Some(value.to_owned())
}

/// A request's failure with its causes: reqwest's own message stops at "error sending
/// request", and why (the network is unreachable, the connection was refused) is in its
/// sources.
fn with_causes(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut cause = std::error::Error::source(error);
    while let Some(next) = cause {
        text.push_str(": ");
        text.push_str(&next.to_string());
        cause = next.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_from_the_challenge() {
        let header = r#"Bearer error="invalid_token", scope="mcp read", resource_metadata="http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp""#;
        assert_eq!(
            challenge_param(header, "resource_metadata").as_deref(),
            Some("http://127.0.0.1:1/.well-known/oauth-protected-resource/mcp")
        );
        assert_eq!(challenge_param(header, "scope").as_deref(), Some("mcp read"));
        assert_eq!(challenge_param("Bearer realm=x", "scope"), None);
    }
}

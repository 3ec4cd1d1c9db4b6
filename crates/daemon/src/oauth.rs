//! OAuth 2.1 for remote MCP servers: the one owner of each server's tokens.
//!
//! A login discovers the server's authorization server (the 401's `resource_metadata`, RFC
//! 9728; then RFC 8414 metadata, or OpenID discovery), registers Switchboard as a public client
//! (RFC 7591), and runs the authorization-code flow with PKCE S256 and the resource indicator
//! (RFC 8707) through a redirect to a loopback port of its own. The grant (client, endpoints,
//! tokens) is kept in the keychain under `<server>/oauth` and, while the daemon runs, in
//! memory. Links ask for the access token before each request ([`OAuth::bearer`]); it is
//! refreshed when it is about to expire or a server refused it, one refresh at a time per
//! server, so a rotating refresh token is used exactly once however many calls wait for it.
//! A network failure, 429 or 5xx is retried with backoff; a refusal (`invalid_grant`) means
//! the login is lost, which [`OAuth::lost`] tells the server's supervisor.
//!
//! Opening the browser is the caller's (the CLI's or the desktop shell's): this module hands
//! out the URL and waits for the redirect.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::WWW_AUTHENTICATE;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_model::{ServerName, UnixMillis, now_millis};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{Mutex, oneshot, watch};

use crate::secrets::{self, Secrets, SecretsError};
use crate::upstream::link::Credentials;

/// How long a login waits for the browser to come back.
const LOGIN_TIMEOUT: Duration = Duration::from_secs(600);
/// An access token this close to expiry is refreshed before use (a quarter of its lifetime,
/// for short-lived ones).
const REFRESH_MARGIN_MS: UnixMillis = 60_000;
/// Waits between attempts at a refresh that failed for a passing reason.
const REFRESH_BACKOFF: [Duration; 3] = [
    Duration::from_millis(500),
    Duration::from_secs(1),
    Duration::from_secs(2),
];

#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum OAuthError {
    #[error("{server} does not ask for OAuth (it answered without a 401); give it a header instead")]
    NotProtected { server: ServerName },
    #[error("cannot discover how {server} is authorized: {detail}")]
    Discovery { server: ServerName, detail: String },
    #[error("the authorization server of {server} refused to register Switchboard: {detail}")]
    Registration { server: ServerName, detail: String },
    #[error("the login for {server} failed: {detail}; run `switchboard login {server}` again")]
    Login { server: ServerName, detail: String },
    #[error("no login for {server} is in progress; start one with `switchboard login {server}`")]
    NoLogin { server: ServerName },
    #[error("the login for {server} was not completed within {} minutes; run `switchboard login {server}` again", LOGIN_TIMEOUT.as_secs() / 60)]
    TimedOut { server: ServerName },
    #[error("{server} needs a new login ({detail}); run `switchboard login {server}`")]
    NeedsLogin { server: ServerName, detail: String },
    #[error(transparent)]
    Secrets(#[from] SecretsError),
}

/// What is kept for one server: how to refresh, and the current tokens.
#[derive(Clone, Serialize, Deserialize)]
struct Grant {
    token_endpoint: String,
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
    resource: String,
    access_token: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    refresh_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    expires_at_ms: Option<UnixMillis>,
    /// Refresh this long before `expires_at_ms`.
    #[serde(default)]
    refresh_margin_ms: UnixMillis,
}

impl Grant {
    fn needs_refresh(&self) -> bool {
        self.expires_at_ms
            .is_some_and(|at| at - now_millis() <= self.refresh_margin_ms)
    }
}

/// A login waiting for the browser.
struct Pending {
    done: oneshot::Receiver<Result<(), OAuthError>>,
}

/// The start of a login: the URL the user opens.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Login {
    pub authorization_url: String,
}

/// Tokens of every OAuth server, and the logins under way.
pub struct OAuth {
    http: reqwest::Client,
    secrets: Secrets,
    pending: Mutex<HashMap<ServerName, Pending>>,
    /// One lock per server: refreshes of one server never overlap.
    refreshing: Mutex<HashMap<ServerName, Arc<Mutex<()>>>>,
    /// Grants read or refreshed since the daemon started, so requests need not ask the keychain.
    grants: std::sync::Mutex<HashMap<ServerName, Grant>>,
    /// Why each server's login was lost, once it is.
    lost: std::sync::Mutex<HashMap<ServerName, watch::Sender<Option<String>>>>,
    /// Scopes servers asked for beyond their login's (step-up); the next login asks for them.
    step_up: std::sync::Mutex<HashMap<ServerName, String>>,
}

/// One server's login, as an HTTP link's [`Credentials`].
#[derive(Debug)]
pub struct ServerLogin {
    pub oauth: Arc<OAuth>,
    pub server: ServerName,
}

impl Credentials for ServerLogin {
    fn bearer(&self, refused: Option<String>) -> futures_util::future::BoxFuture<'_, Option<String>> {
        Box::pin(self.oauth.bearer(&self.server, refused))
    }

    fn needs_scope(&self, scope: String) {
        self.oauth.needs_scope(&self.server, &scope);
    }
}

impl std::fmt::Debug for OAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuth").finish_non_exhaustive()
    }
}

fn key(server: &ServerName) -> String {
    secrets::key(server, "oauth")
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    out
}

/// 256 random bits, base64url: a PKCE verifier or a state. Never guessable, so no fallback.
fn random_token() -> Result<String, String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| format!("the OS gave no random bytes: {e}"))?;
    Ok(base64url(&bytes))
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

/// The scopes of `a` and then those of `b` not already there, space-separated.
fn union_of_scopes(a: &str, b: &str) -> String {
    let mut all: Vec<&str> = Vec::new();
    for scope in a.split_whitespace().chain(b.split_whitespace()) {
        if !all.contains(&scope) {
            all.push(scope);
        }
    }
    all.join(" ")
}

/// Where RFC 8414 and OpenID discovery put an issuer's metadata, in the order to try.
fn metadata_urls(issuer: &str) -> Vec<String> {
    let issuer = issuer.trim_end_matches('/');
    let (origin, path) = match issuer
        .find("://")
        .and_then(|s| issuer[s + 3..].find('/').map(|p| s + 3 + p))
    {
        Some(split) => (&issuer[..split], &issuer[split..]),
        None => (issuer, ""),
    };
    vec![
        format!("{origin}/.well-known/oauth-authorization-server{path}"),
        format!("{origin}/.well-known/openid-configuration{path}"),
        format!("{issuer}/.well-known/openid-configuration"),
    ]
}

impl OAuth {
    pub fn new(secrets: Secrets) -> Self {
        Self {
            http: reqwest::Client::builder()
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(10))
                .timeout(Duration::from_secs(30))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            secrets,
            pending: Mutex::default(),
            refreshing: Mutex::default(),
            grants: std::sync::Mutex::default(),
            lost: std::sync::Mutex::default(),
            step_up: std::sync::Mutex::default(),
        }
    }

    /// `server` wants `scope`, which its login lacks: the login is lost until a new one, which
    /// asks for it too.
    pub fn needs_scope(&self, server: &ServerName, scope: &str) {
        self.step_up
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(server.clone(), scope.to_owned());
        let why = OAuthError::NeedsLogin {
            server: server.clone(),
            detail: format!("it asks for scope `{scope}`, which the current login does not grant"),
        };
        self.lost_sender(server).send_replace(Some(why.to_string()));
    }

    fn lost_sender(&self, server: &ServerName) -> watch::Sender<Option<String>> {
        self.lost
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(server.clone())
            .or_insert_with(|| watch::channel(None).0)
            .clone()
    }

    /// Resolves once `server`'s login is lost (its refresh token refused), with why.
    pub fn lost(&self, server: &ServerName) -> impl std::future::Future<Output = String> + Send + 'static {
        let mut seen = self.lost_sender(server).subscribe();
        async move {
            loop {
                if let Some(why) = seen.borrow_and_update().clone() {
                    return why;
                }
                if seen.changed().await.is_err() {
                    return std::future::pending().await;
                }
            }
        }
    }

    /// Drops what is known of `server`'s login, after a new one or a logout.
    fn forget(&self, server: &ServerName) {
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(server);
        self.lost_sender(server).send_replace(None);
    }

    /// Starts a login for remote server `server` at `url`; the returned URL is for the
    /// browser. The login finishes in the background when the browser is redirected back.
    pub async fn begin(&self, server: &ServerName, url: &str) -> Result<Login, OAuthError> {
        let discovery = |detail: String| OAuthError::Discovery {
            server: server.clone(),
            detail,
        };
        // The server's 401 names its metadata; RFC 9728's well-known path is the fallback.
        let probe = self
            .http
            .post(url)
            .header("accept", "application/json, text/event-stream")
            .json(
                &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-06-18", "capabilities": {},
                "clientInfo": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}}}),
            )
            .send()
            .await
            .map_err(|e| discovery(e.to_string()))?;
        if probe.status() != reqwest::StatusCode::UNAUTHORIZED {
            return Err(OAuthError::NotProtected {
                server: server.clone(),
            });
        }
        let parsed = url::Url::parse(url).map_err(|e| discovery(e.to_string()))?;
        let challenge = probe
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        let metadata_url = challenge_param(&challenge, "resource_metadata").unwrap_or_else(|| {
            format!(
                "{}/.well-known/oauth-protected-resource{}",
                parsed.origin().ascii_serialization(),
                parsed.path().trim_end_matches('/')
            )
        });
        let protected = self.json(&metadata_url).await.map_err(discovery)?;
        let resource = protected["resource"].as_str().unwrap_or(url).to_owned();
        let issuer = protected["authorization_servers"][0]
            .as_str()
            .ok_or_else(|| discovery(format!("{metadata_url} names no authorization server")))?;
        let mut metadata = None;
        for candidate in metadata_urls(issuer) {
            if let Ok(found) = self.json(&candidate).await {
                metadata = Some(found);
                break;
            }
        }
        let metadata = metadata
            .ok_or_else(|| discovery(format!("{issuer} publishes no authorization server metadata")))?;
        let endpoint = |name: &str| {
            metadata[name]
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| discovery(format!("{issuer}'s metadata has no {name}")))
        };
        let (authorize, token_endpoint) = (endpoint("authorization_endpoint")?, endpoint("token_endpoint")?);
        let s256 = metadata["code_challenge_methods_supported"]
            .as_array()
            .is_none_or(|methods| methods.iter().any(|m| m == "S256"));
        if !s256 {
            return Err(discovery(format!("{issuer} does not support PKCE with S256")));
        }

        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| discovery(format!("cannot open a loopback port for the redirect: {e}")))?;
        let port = listener
            .local_addr()
            .map_err(|e| discovery(e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");

        let registration = endpoint("registration_endpoint").map_err(|_| OAuthError::Registration {
            server: server.clone(),
            detail: format!(
                "{issuer} offers no dynamic client registration, and no client is configured for it"
            ),
        })?;
        let registered: Value = self
            .http
            .post(&registration)
            .json(&json!({
                "client_name": "Switchboard",
                "redirect_uris": [redirect_uri],
                "grant_types": ["authorization_code", "refresh_token"],
                "response_types": ["code"],
                "token_endpoint_auth_method": "none",
            }))
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| OAuthError::Registration {
                server: server.clone(),
                detail: e.to_string(),
            })?
            .json()
            .await
            .map_err(|e| OAuthError::Registration {
                server: server.clone(),
                detail: e.to_string(),
            })?;
        let client_id = registered["client_id"]
            .as_str()
            .ok_or_else(|| OAuthError::Registration {
                server: server.clone(),
                detail: "its answer has no client_id".to_owned(),
            })?
            .to_owned();
        let client_secret = registered["client_secret"].as_str().map(str::to_owned);

        let verifier = random_token().map_err(discovery)?;
        let state = random_token().map_err(discovery)?;
        let code_challenge = base64url(&Sha256::digest(verifier.as_bytes()));
        let mut authorization_url = url::Url::parse(&authorize).map_err(|e| discovery(e.to_string()))?;
        {
            let mut query = authorization_url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &client_id)
                .append_pair("redirect_uri", &redirect_uri)
                .append_pair("state", &state)
                .append_pair("code_challenge", &code_challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("resource", &resource);
            // The scope the 401 asked for, else every scope the resource lists, else none.
            let listed = protected["scopes_supported"].as_array().map(|scopes| {
                scopes
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            let stepped_up = self
                .step_up
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(server)
                .cloned()
                .unwrap_or_default();
            let asked = challenge_param(&challenge, "scope")
                .or(listed)
                .unwrap_or_default();
            let scope = union_of_scopes(&asked, &stepped_up);
            if !scope.is_empty() {
                query.append_pair("scope", &scope);
            }
        }

        let (done_tx, done_rx) = oneshot::channel();
        let finish = Finish {
            http: self.http.clone(),
            secrets: self.secrets.clone(),
            server: server.clone(),
            grant: Grant {
                token_endpoint,
                client_id,
                client_secret,
                resource,
                access_token: String::new(),
                refresh_token: None,
                expires_at_ms: None,
                refresh_margin_ms: 0,
            },
            verifier,
            state,
            redirect_uri,
        };
        let name = server.clone();
        tokio::spawn(async move {
            let result = match tokio::time::timeout(LOGIN_TIMEOUT, finish.serve(listener)).await {
                Ok(result) => result,
                Err(_) => Err(OAuthError::TimedOut { server: name }),
            };
            let _ = done_tx.send(result);
        });
        self.pending
            .lock()
            .await
            .insert(server.clone(), Pending { done: done_rx });
        Ok(Login {
            authorization_url: authorization_url.to_string(),
        })
    }

    /// Waits for the login `begin` started to finish.
    pub async fn wait(&self, server: &ServerName) -> Result<(), OAuthError> {
        let pending = self
            .pending
            .lock()
            .await
            .remove(server)
            .ok_or_else(|| OAuthError::NoLogin {
                server: server.clone(),
            })?;
        let result = pending.done.await.unwrap_or_else(|_| {
            Err(OAuthError::Login {
                server: server.clone(),
                detail: "the daemon stopped waiting".to_owned(),
            })
        });
        if result.is_ok() {
            self.forget(server);
        }
        result
    }

    /// Forgets `server`'s tokens; `false` if it had none.
    pub async fn logout(&self, server: &ServerName) -> Result<bool, OAuthError> {
        self.forget(server);
        Ok(self.secrets.delete(&key(server)).await?)
    }

    /// A current access token for `server`, refreshed first when it is about to expire; `None`
    /// if the server has no login.
    pub async fn access_token(&self, server: &ServerName) -> Result<Option<String>, OAuthError> {
        self.token(server, None).await
    }

    /// The access token a request to `server` should carry; `refused` is one the server just
    /// answered 401 to, which is then replaced unless another request already did. `None`
    /// when there is no usable login (a lost one is reported through [`OAuth::lost`]).
    pub async fn bearer(&self, server: &ServerName, refused: Option<String>) -> Option<String> {
        self.token(server, refused.as_deref()).await.ok().flatten()
    }

    fn cached(&self, server: &ServerName) -> Option<Grant> {
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(server)
            .cloned()
    }

    async fn token(&self, server: &ServerName, refused: Option<&str>) -> Result<Option<String>, OAuthError> {
        let usable = |grant: &Grant| !grant.needs_refresh() && refused != Some(grant.access_token.as_str());
        // The common case, without a lock: a cached token that is neither old nor refused.
        if let Some(grant) = self.cached(server).filter(usable) {
            return Ok(Some(grant.access_token));
        }
        let lock = Arc::clone(self.refreshing.lock().await.entry(server.clone()).or_default());
        let _one_refresh_at_a_time = lock.lock().await;
        // Whoever held the lock before may have refreshed already.
        let grant = match self.cached(server) {
            Some(grant) => grant,
            None => {
                let Some(stored) = self.secrets.get(&key(server)).await? else {
                    return Ok(None);
                };
                serde_json::from_str(&stored).map_err(|e| OAuthError::NeedsLogin {
                    server: server.clone(),
                    detail: format!("its stored grant is unreadable: {e}"),
                })?
            }
        };
        if usable(&grant) {
            self.remember(server, &grant);
            return Ok(Some(grant.access_token));
        }
        match self.refresh(server, grant).await {
            Ok(token) => Ok(Some(token)),
            Err(error) => {
                if let OAuthError::NeedsLogin { .. } = &error {
                    self.grants
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .remove(server);
                    self.lost_sender(server).send_replace(Some(error.to_string()));
                }
                Err(error)
            }
        }
    }

    fn remember(&self, server: &ServerName, grant: &Grant) {
        self.grants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(server.clone(), grant.clone());
    }

    /// Trades the refresh token for new tokens, retrying passing failures with backoff.
    async fn refresh(&self, server: &ServerName, mut grant: Grant) -> Result<String, OAuthError> {
        let Some(refresh_token) = grant.refresh_token.clone() else {
            return Err(OAuthError::NeedsLogin {
                server: server.clone(),
                detail: "the access token expired and no refresh token was issued".to_owned(),
            });
        };
        let mut form = vec![
            ("grant_type", "refresh_token".to_owned()),
            ("refresh_token", refresh_token),
            ("client_id", grant.client_id.clone()),
            ("resource", grant.resource.clone()),
        ];
        if let Some(secret) = &grant.client_secret {
            form.push(("client_secret", secret.clone()));
        }
        let mut attempt = 0;
        let answer = loop {
            match token_request(&self.http, &grant.token_endpoint, &form).await {
                Ok(answer) => break answer,
                Err(TokenError::Passing(detail)) if attempt < REFRESH_BACKOFF.len() => {
                    tracing::warn!(%server, "refreshing the access token failed ({detail}); trying again");
                    tokio::time::sleep(REFRESH_BACKOFF[attempt]).await;
                    attempt += 1;
                }
                Err(TokenError::Passing(detail)) => {
                    return Err(OAuthError::Login {
                        server: server.clone(),
                        detail: format!("refreshing the access token keeps failing: {detail}"),
                    });
                }
                Err(TokenError::Refused(detail)) => {
                    return Err(OAuthError::NeedsLogin {
                        server: server.clone(),
                        detail: format!("the authorization server refused the refresh token: {detail}"),
                    });
                }
            }
        };
        apply(&mut grant, &answer);
        self.store(server, &grant).await?;
        self.remember(server, &grant);
        Ok(grant.access_token)
    }

    async fn store(&self, server: &ServerName, grant: &Grant) -> Result<(), OAuthError> {
        let text = serde_json::to_string(grant).map_err(|e| OAuthError::Login {
            server: server.clone(),
            detail: e.to_string(),
        })?;
        Ok(self.secrets.set(&key(server), &text).await?)
    }

    async fn json(&self, url: &str) -> Result<Value, String> {
        self.http
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(|e| format!("{url}: {e}"))?
            .json()
            .await
            .map_err(|e| format!("{url}: {e}"))
    }
}

/// The second half of a login: the redirect, the code exchange, the stored grant.
struct Finish {
    http: reqwest::Client,
    secrets: Secrets,
    server: ServerName,
    grant: Grant,
    verifier: String,
    state: String,
    redirect_uri: String,
}

impl Finish {
    async fn serve(mut self, listener: TcpListener) -> Result<(), OAuthError> {
        let failed = |detail: String| OAuthError::Login {
            server: self.server.clone(),
            detail,
        };
        loop {
            let (mut socket, _) = listener.accept().await.map_err(|e| failed(e.to_string()))?;
            let mut buffer = vec![0u8; 8192];
            let read = socket.read(&mut buffer).await.unwrap_or(0);
            let request = String::from_utf8_lossy(&buffer[..read]);
            let target = request.split_whitespace().nth(1).unwrap_or("/").to_owned();
            let Some(query) = target.strip_prefix("/callback?") else {
                let _ = socket
                    .write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n")
                    .await;
                continue;
            };
            let params: HashMap<String, String> = url::form_urlencoded::parse(query.as_bytes())
                .into_owned()
                .collect();
            let outcome = self.complete(&params).await;
            let page = match &outcome {
                Ok(()) => "Switchboard is signed in. You can close this window.".to_owned(),
                Err(error) => format!("Switchboard could not sign in: {error}"),
            };
            let body = format!(
                "<!doctype html><meta charset=utf-8><title>Switchboard</title><p>{}</p>",
                html_escape(&page)
            );
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
            return outcome;
        }
    }

    async fn complete(&mut self, params: &HashMap<String, String>) -> Result<(), OAuthError> {
        let failed = |detail: String| OAuthError::Login {
            server: self.server.clone(),
            detail,
        };
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map(String::as_str).unwrap_or("");
            return Err(failed(format!(
                "the authorization server answered {error} {description}"
            )));
        }
        if params.get("state") != Some(&self.state) {
            return Err(failed(
                "the redirect's state does not match this login".to_owned(),
            ));
        }
        let code = params
            .get("code")
            .ok_or_else(|| failed("the redirect has no code".to_owned()))?;
        let mut form = vec![
            ("grant_type", "authorization_code".to_owned()),
            ("code", code.clone()),
            ("redirect_uri", self.redirect_uri.clone()),
            ("client_id", self.grant.client_id.clone()),
            ("code_verifier", self.verifier.clone()),
            ("resource", self.grant.resource.clone()),
        ];
        if let Some(secret) = &self.grant.client_secret {
            form.push(("client_secret", secret.clone()));
        }
        let answer = token_request(&self.http, &self.grant.token_endpoint, &form)
            .await
            .map_err(|(TokenError::Passing(detail) | TokenError::Refused(detail))| failed(detail))?;
        apply(&mut self.grant, &answer);
        let text = serde_json::to_string(&self.grant).map_err(|e| failed(e.to_string()))?;
        self.secrets.set(&key(&self.server), &text).await?;
        Ok(())
    }
}

/// The innermost cause of an error, which says what actually went wrong.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut source = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Why a token request failed: for a passing reason (network, 5xx, 429), or refused.
enum TokenError {
    Passing(String),
    Refused(String),
}

/// A token endpoint request; its error says what the server said, never a token.
async fn token_request(
    http: &reqwest::Client,
    endpoint: &str,
    form: &[(&str, String)],
) -> Result<Value, TokenError> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form.iter().map(|(k, v)| (*k, v.as_str())))
        .finish();
    let response = http
        .post(endpoint)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("accept", "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| TokenError::Passing(format!("cannot reach the token endpoint: {}", innermost(&e))))?;
    let status = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() || body["access_token"].as_str().is_none() {
        let error = body["error"].as_str().unwrap_or("no access token");
        let description = body["error_description"].as_str().unwrap_or("");
        let detail = format!("the token endpoint answered {status}: {error} {description}")
            .trim()
            .to_owned();
        let passing = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        return Err(if passing {
            TokenError::Passing(detail)
        } else {
            TokenError::Refused(detail)
        });
    }
    Ok(body)
}

fn apply(grant: &mut Grant, answer: &Value) {
    if let Some(access) = answer["access_token"].as_str() {
        access.clone_into(&mut grant.access_token);
    }
    // A rotated refresh token replaces the old one, which is now spent.
    if let Some(refresh) = answer["refresh_token"].as_str() {
        grant.refresh_token = Some(refresh.to_owned());
    }
    let lifetime_ms = answer["expires_in"].as_i64().map(|seconds| seconds * 1000);
    grant.expires_at_ms = lifetime_ms.map(|ms| now_millis() + ms);
    grant.refresh_margin_ms = lifetime_ms.map_or(0, |ms| REFRESH_MARGIN_MS.min(ms / 4));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_challenge_is_base64url_sha256() {
        // RFC 7636, appendix B.
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert_eq!(
            base64url(&Sha256::digest(verifier.as_bytes())),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

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

    #[test]
    fn metadata_locations_follow_rfc_8414_then_openid() {
        assert_eq!(
            metadata_urls("https://as.example/tenant"),
            [
                "https://as.example/.well-known/oauth-authorization-server/tenant",
                "https://as.example/.well-known/openid-configuration/tenant",
                "https://as.example/tenant/.well-known/openid-configuration",
            ]
        );
    }
}

//! OAuth 2.1 for remote MCP servers: the one owner of each server's tokens.
//!
//! A login ([`login`]) discovers and checks the server's authorization server ([`discovery`]),
//! and runs the authorization-code flow with PKCE S256 and the resource indicator (RFC 8707)
//! through a redirect to a loopback port of its own. The grant (client, issuer, endpoints,
//! tokens) is kept in the keychain under `<server>/oauth` and, while the daemon runs, in
//! memory. A grant belongs to the resource (the server's URL) it was issued for: a token is
//! handed out only for a request to that very URL, and a server whose URL changed, or which was
//! removed, loses its grant ([`OAuth::forget_server`]).
//!
//! Links ask for the access token before each request ([`OAuth::bearer`]); it is
//! refreshed when it is about to expire or a server refused it, one refresh at a time per
//! server, so a rotating refresh token is used exactly once however many calls wait for it.
//! After the machine wakes, the daemon refreshes tokens near expiry ahead of any call
//! ([`OAuth::refresh_expiring`]).
//! A network failure, 429 or 5xx is retried with backoff; a refusal (`invalid_grant`) means
//! the login is lost, which [`OAuth::lost`] tells the server's supervisor.
//!
//! Opening the browser is the caller's (the CLI's or the desktop shell's): this module hands
//! out the URL and waits for the redirect.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use switchboard_mcp::upstream::link::Credentials;
use switchboard_model::{ServerName, UnixMillis, now_millis};
use tokio::sync::{Mutex, oneshot, watch};

use crate::secrets::{self, Secrets, SecretsError};

pub mod discovery;
pub mod login;

pub use discovery::{Refusal, trustworthy};
pub use login::ClientCredentials;

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
    #[error("Switchboard does not sign in to {server}: {refusal}")]
    Refused { server: ServerName, refusal: Refusal },
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
    /// The server URL the tokens are for: they are sent nowhere else.
    resource: String,
    /// The authorization server that issued them (empty in grants older than this field).
    #[serde(default)]
    issuer: String,
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
    /// A grant still without tokens, for a login about to finish.
    fn new(found: discovery::Discovered, client: ClientCredentials) -> Self {
        Self {
            token_endpoint: found.token_endpoint,
            client_id: client.client_id,
            client_secret: client.client_secret,
            resource: found.resource,
            issuer: found.issuer,
            access_token: String::new(),
            refresh_token: None,
            expires_at_ms: None,
            refresh_margin_ms: 0,
        }
    }

    fn needs_refresh(&self) -> bool {
        self.expires_within(self.refresh_margin_ms)
    }

    fn expires_within(&self, margin_ms: UnixMillis) -> bool {
        self.expires_at_ms
            .is_some_and(|at| at - now_millis() <= margin_ms)
    }
}

/// A login waiting for the browser.
struct Pending {
    /// Taken by the one `wait` for it.
    done: Option<oneshot::Receiver<Result<(), OAuthError>>>,
    /// The task serving the redirect port: aborted when another login replaces this one.
    task: tokio::task::AbortHandle,
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
    /// The URL of Switchboard's client metadata document, used as its client id where the
    /// authorization server takes one.
    client_metadata_url: Option<String>,
    pending: Mutex<HashMap<ServerName, Pending>>,
    /// One lock per server: refreshes of one server never overlap.
    refreshing: Mutex<HashMap<ServerName, Arc<Mutex<()>>>>,
    /// Grants read or refreshed since the daemon started, so requests need not ask the keychain.
    grants: parking_lot::Mutex<HashMap<ServerName, Grant>>,
    /// Why each server's login was lost, once it is.
    lost: parking_lot::Mutex<HashMap<ServerName, watch::Sender<Option<String>>>>,
    /// Scopes servers asked for beyond their login's (step-up); the next login asks for them.
    step_up: parking_lot::Mutex<HashMap<ServerName, String>>,
}

/// One server's login, as an HTTP link's [`Credentials`].
#[derive(Debug)]
pub struct ServerLogin {
    pub oauth: Arc<OAuth>,
    pub server: ServerName,
    /// The URL requests go to: only a grant issued for it is used.
    pub resource: String,
}

impl Credentials for ServerLogin {
    fn bearer(&self, refused: Option<String>) -> futures_util::future::BoxFuture<'_, Option<String>> {
        Box::pin(self.oauth.bearer(&self.server, &self.resource, refused))
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

impl OAuth {
    /// The token owner; `client_metadata_url` is where Switchboard's client metadata document
    /// is published, if anywhere.
    pub fn new(secrets: Secrets, client_metadata_url: Option<String>) -> Self {
        Self {
            client_metadata_url,
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
            grants: parking_lot::Mutex::default(),
            lost: parking_lot::Mutex::default(),
            step_up: parking_lot::Mutex::default(),
        }
    }

    /// `server` wants `scope`, which its login lacks: the login is lost until a new one, which
    /// asks for it too.
    pub fn needs_scope(&self, server: &ServerName, scope: &str) {
        self.step_up.lock().insert(server.clone(), scope.to_owned());
        let why = OAuthError::NeedsLogin {
            server: server.clone(),
            detail: format!("it asks for scope `{scope}`, which the current login does not grant"),
        };
        self.lost_sender(server).send_replace(Some(why.to_string()));
    }

    fn lost_sender(&self, server: &ServerName) -> watch::Sender<Option<String>> {
        self.lost
            .lock()
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
        self.grants.lock().remove(server);
        self.lost_sender(server).send_replace(None);
    }

    /// Scopes `server` asked for beyond its last login's.
    fn stepped_up(&self, server: &ServerName) -> String {
        self.step_up.lock().get(server).cloned().unwrap_or_default()
    }

    /// Forgets everything of `server`'s logins, in memory and in the keychain: its URL changed
    /// (`keep_client`: the client the user registered stays, bound to its issuer) or it was
    /// removed. A login under way ends.
    pub async fn forget_server(&self, server: &ServerName, keep_client: bool) -> Result<(), OAuthError> {
        if let Some(pending) = self.pending.lock().await.remove(server) {
            pending.task.abort();
        }
        self.forget(server);
        self.step_up.lock().remove(server);
        self.secrets.delete(&key(server)).await?;
        if !keep_client {
            self.secrets.delete(&login::client_key(server)).await?;
        }
        Ok(())
    }

    /// Waits for the login `begin` started to finish.
    pub async fn wait(&self, server: &ServerName) -> Result<(), OAuthError> {
        let done = self
            .pending
            .lock()
            .await
            .get_mut(server)
            .and_then(|pending| pending.done.take())
            .ok_or_else(|| OAuthError::NoLogin {
                server: server.clone(),
            })?;
        let result = done.await.unwrap_or_else(|_| {
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

    /// A current access token for `server` at `resource`, refreshed first when it is about to
    /// expire; `None` if the server has no login. A login for another URL is refused.
    pub async fn access_token(
        &self,
        server: &ServerName,
        resource: &str,
    ) -> Result<Option<String>, OAuthError> {
        self.token(server, resource, None, None).await
    }

    /// Refreshes `server`'s access token now if it expires within `within` (a token already
    /// refreshed by someone else is left alone): after the machine woke, so the first call
    /// does not wait for the authorization server. Nothing happens without a login.
    pub async fn refresh_expiring(
        &self,
        server: &ServerName,
        resource: &str,
        within: Duration,
    ) -> Result<(), OAuthError> {
        let within_ms = UnixMillis::try_from(within.as_millis()).unwrap_or(UnixMillis::MAX);
        self.token(server, resource, None, Some(within_ms))
            .await
            .map(drop)
    }

    /// The access token a request to `server` should carry; `refused` is one the server just
    /// answered 401 to, which is then replaced unless another request already did. `None`
    /// when there is no usable login (a lost one is reported through [`OAuth::lost`]).
    pub async fn bearer(
        &self,
        server: &ServerName,
        resource: &str,
        refused: Option<String>,
    ) -> Option<String> {
        self.token(server, resource, refused.as_deref(), None)
            .await
            .ok()
            .flatten()
    }

    fn cached(&self, server: &ServerName) -> Option<Grant> {
        self.grants.lock().get(server).cloned()
    }

    /// The token for a request to `resource`, refreshed first if it is about to expire (or
    /// expires within `margin_ms`, when given) or is the one `refused`.
    async fn token(
        &self,
        server: &ServerName,
        resource: &str,
        refused: Option<&str>,
        margin_ms: Option<UnixMillis>,
    ) -> Result<Option<String>, OAuthError> {
        let usable = |grant: &Grant| {
            let expiring = margin_ms.map_or_else(
                || grant.needs_refresh(),
                |margin| grant.expires_within(margin.max(grant.refresh_margin_ms)),
            );
            discovery::same_url(&grant.resource, resource)
                && !expiring
                && refused != Some(grant.access_token.as_str())
        };
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
        if !discovery::same_url(&grant.resource, resource) {
            return Err(self.refuse_elsewhere(server, &grant, resource).await);
        }
        if usable(&grant) {
            self.remember(server, &grant);
            return Ok(Some(grant.access_token));
        }
        match self.refresh(server, grant).await {
            Ok(token) => Ok(Some(token)),
            Err(error) => {
                if let OAuthError::NeedsLogin { .. } = &error {
                    self.grants.lock().remove(server);
                    self.lost_sender(server).send_replace(Some(error.to_string()));
                }
                Err(error)
            }
        }
    }

    /// A grant issued for another URL than `resource`, which `server` now has: it is dropped,
    /// never sent, and the server needs a new login.
    async fn refuse_elsewhere(&self, server: &ServerName, grant: &Grant, resource: &str) -> OAuthError {
        tracing::warn!(%server, "its login was for {}, not {resource}; dropping it", grant.resource);
        self.forget(server);
        if let Err(error) = self.secrets.delete(&key(server)).await {
            return error.into();
        }
        let error = OAuthError::NeedsLogin {
            server: server.clone(),
            detail: format!("its login was for {}, not its URL {resource}", grant.resource),
        };
        self.lost_sender(server).send_replace(Some(error.to_string()));
        error
    }

    fn remember(&self, server: &ServerName, grant: &Grant) {
        self.grants.lock().insert(server.clone(), grant.clone());
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
}

/// The innermost cause of an error, which says what actually went wrong.
fn innermost(error: &(dyn std::error::Error + 'static)) -> String {
    let mut source = error;
    while let Some(next) = source.source() {
        source = next;
    }
    source.to_string()
}

/// Why a token request failed: for a passing reason (network, 5xx, 429), or refused.
enum TokenError {
    Passing(String),
    Refused(String),
}

impl TokenError {
    fn detail(self) -> String {
        match self {
            Self::Passing(detail) | Self::Refused(detail) => detail,
        }
    }
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

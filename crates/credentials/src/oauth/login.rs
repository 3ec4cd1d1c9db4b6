//! The first half of OAuth: a login, from discovery to the grant kept in the keychain.
//!
//! [`OAuth::begin`] discovers the authorization server ([`discovery`], which refuses what it
//! cannot trust), picks who Switchboard is to it, and opens a loopback port for the browser's
//! redirect; [`Finish`] serves that port, checks the redirect's `state` and trades the code for
//! tokens (PKCE S256, RFC 8707's resource indicator). Who Switchboard is, in order: a client id
//! the user registered (`switchboard login --client-id`, kept in the keychain with its secret
//! and used only with the issuer it was given for), else the URL of Switchboard's client
//! metadata document when the daemon has one and the server takes them, else a client it
//! registers on the spot (RFC 7591).

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use switchboard_local::token::random_bytes;
use switchboard_model::ServerName;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::discovery::{self, Discovered, Refusal};
use super::{Grant, LOGIN_TIMEOUT, Login, OAuth, OAuthError, Pending, apply, key, token_request};
use crate::secrets::{self, Secrets};

/// How long the redirect port waits for a connection's request before dropping it.
const REQUEST_PATIENCE: std::time::Duration = std::time::Duration::from_secs(5);

/// A client the user registered with a server's authorization server themselves.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("client_id", &self.client_id)
            .field(
                "client_secret",
                &self.client_secret.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// A registered client as kept in the keychain: bound to the issuer it was given for.
#[derive(Serialize, Deserialize)]
struct StoredClient {
    issuer: String,
    client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    client_secret: Option<String>,
}

/// The keychain name of `server`'s registered client.
pub(super) fn client_key(server: &ServerName) -> String {
    secrets::key(server, "oauth-client")
}

/// The client metadata document whose URL is `client_id` (draft-ietf-oauth-client-id-metadata-
/// document): a native app redirected to a loopback port of its own, any port (RFC 8252 §7.3).
pub fn client_metadata_document(client_id: &str) -> Value {
    json!({
        "client_id": client_id,
        "client_name": "Switchboard",
        "application_type": "native",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// Base64url without padding, as PKCE (RFC 7636) and our states use it.
fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// 256 random bits, base64url: a PKCE verifier or a state. Never guessable, so no fallback.
fn random_token(server: &ServerName) -> Result<String, OAuthError> {
    let bytes = random_bytes::<32>().map_err(|e| OAuthError::Login {
        server: server.clone(),
        detail: e.to_string(),
    })?;
    Ok(base64url(&bytes))
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

impl OAuth {
    /// Starts a login for remote server `server` at `url`, as `given` if the user registered a
    /// client; the returned URL is for the browser. The login finishes in the background when
    /// the browser is redirected back. A login already waiting for `server` ends.
    pub async fn begin(
        &self,
        server: &ServerName,
        url: &str,
        given: Option<ClientCredentials>,
    ) -> Result<Login, OAuthError> {
        let found = discovery::discover(&self.http, server, url).await?;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
            login_failed(
                server,
                format!("cannot open a loopback port for the redirect: {e}"),
            )
        })?;
        let port = listener
            .local_addr()
            .map_err(|e| login_failed(server, e.to_string()))?
            .port();
        let redirect_uri = format!("http://127.0.0.1:{port}/callback");
        let client = self.client_for(server, &found, &redirect_uri, given).await?;
        let verifier = random_token(server)?;
        let state = random_token(server)?;
        let scope = union_of_scopes(&found.scope, &self.stepped_up(server));
        let authorization_url =
            authorization_url(server, &found, &client, &redirect_uri, &state, &verifier, &scope)?;

        let (done_tx, done_rx) = oneshot::channel();
        let finish = Finish {
            http: self.http.clone(),
            secrets: self.secrets.clone(),
            server: server.clone(),
            grant: Grant::new(found, client),
            verifier,
            state,
            redirect_uri,
        };
        let name = server.clone();
        let task = tokio::spawn(async move {
            let result = match tokio::time::timeout(LOGIN_TIMEOUT, finish.serve(listener)).await {
                Ok(result) => result,
                Err(_) => Err(OAuthError::TimedOut { server: name }),
            };
            let _ = done_tx.send(result);
        });
        let previous = self.pending.lock().await.insert(
            server.clone(),
            Pending {
                done: Some(done_rx),
                task: task.abort_handle(),
            },
        );
        // The login it replaces stops listening now, not when it times out.
        if let Some(previous) = previous {
            previous.task.abort();
        }
        Ok(Login { authorization_url })
    }

    /// Who Switchboard is to `found`'s authorization server: the client the user gave (or gave
    /// before, for this issuer), its metadata document's URL, or a client registered now.
    async fn client_for(
        &self,
        server: &ServerName,
        found: &Discovered,
        redirect_uri: &str,
        given: Option<ClientCredentials>,
    ) -> Result<ClientCredentials, OAuthError> {
        if let Some(given) = given {
            let stored = StoredClient {
                issuer: found.issuer.clone(),
                client_id: given.client_id.clone(),
                client_secret: given.client_secret.clone(),
            };
            let text = serde_json::to_string(&stored).map_err(|e| login_failed(server, e.to_string()))?;
            self.secrets.set(&client_key(server), &text).await?;
            return Ok(given);
        }
        if let Some(stored) = self.secrets.get(&client_key(server)).await? {
            match serde_json::from_str::<StoredClient>(&stored) {
                Ok(stored) if discovery::same_url(&stored.issuer, &found.issuer) => {
                    return Ok(ClientCredentials {
                        client_id: stored.client_id,
                        client_secret: stored.client_secret,
                    });
                }
                // A client of another authorization server: its secret never goes to this one.
                Ok(stored) => tracing::warn!(
                    %server,
                    "the client id given for {} is not used with {}; give one with `switchboard login {server} --client-id`",
                    stored.issuer,
                    found.issuer
                ),
                Err(error) => tracing::warn!(%server, "the stored OAuth client is unreadable: {error}"),
            }
        }
        if found.client_id_metadata_documents
            && let Some(url) = &self.client_metadata_url
        {
            return Ok(ClientCredentials {
                client_id: url.clone(),
                client_secret: None,
            });
        }
        register(&self.http, server, found, redirect_uri).await
    }
}

fn login_failed(server: &ServerName, detail: String) -> OAuthError {
    OAuthError::Login {
        server: server.clone(),
        detail,
    }
}

/// Registers Switchboard as a public client (RFC 7591).
async fn register(
    http: &reqwest::Client,
    server: &ServerName,
    found: &Discovered,
    redirect_uri: &str,
) -> Result<ClientCredentials, OAuthError> {
    let failed = |detail: String| OAuthError::Registration {
        server: server.clone(),
        detail,
    };
    let Some(registration) = &found.registration_endpoint else {
        return Err(failed(format!(
            "{} offers neither dynamic client registration nor client metadata documents; register a client there and run `switchboard login {server} --client-id ID`",
            found.issuer
        )));
    };
    let registered: Value = http
        .post(registration)
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
        .map_err(|e| failed(e.to_string()))?
        .json()
        .await
        .map_err(|e| failed(e.to_string()))?;
    let client_id = registered["client_id"]
        .as_str()
        .ok_or_else(|| failed("its answer has no client_id".to_owned()))?
        .to_owned();
    Ok(ClientCredentials {
        client_id,
        client_secret: registered["client_secret"].as_str().map(str::to_owned),
    })
}

/// The page the browser opens: the authorization endpoint with the request in its query.
fn authorization_url(
    server: &ServerName,
    found: &Discovered,
    client: &ClientCredentials,
    redirect_uri: &str,
    state: &str,
    verifier: &str,
    scope: &str,
) -> Result<String, OAuthError> {
    let mut url = url::Url::parse(&found.authorization_endpoint).map_err(|e| OAuthError::Discovery {
        server: server.clone(),
        detail: format!("its authorization endpoint is not a URL: {e}"),
    })?;
    {
        let mut query = url.query_pairs_mut();
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &client.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state)
            .append_pair("code_challenge", &base64url(&Sha256::digest(verifier.as_bytes())))
            .append_pair("code_challenge_method", "S256")
            .append_pair("resource", &found.resource);
        if !scope.is_empty() {
            query.append_pair("scope", scope);
        }
    }
    // Checked once more as built: this is what the user's browser is sent to.
    if !discovery::trustworthy(url.as_str()) {
        return Err(OAuthError::Refused {
            server: server.clone(),
            refusal: Refusal::Insecure {
                field: "authorization_endpoint",
                url: url.to_string(),
            },
        });
    }
    Ok(url.to_string())
}

/// The request line and headers of an HTTP request, however many reads they take to arrive
/// (at most 8 KiB; what came is returned if the client stops early).
async fn read_head(socket: &mut tokio::net::TcpStream) -> Vec<u8> {
    let mut head = Vec::new();
    let mut chunk = [0u8; 2048];
    while head.len() < 8192 && !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut chunk).await {
            Ok(0) | Err(_) => break,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    head
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
        loop {
            let (mut socket, _) = listener
                .accept()
                .await
                .map_err(|e| login_failed(&self.server, e.to_string()))?;
            // A connection that says nothing is dropped, so it cannot hold the port from the
            // browser's redirect.
            let buffer = tokio::time::timeout(REQUEST_PATIENCE, read_head(&mut socket))
                .await
                .unwrap_or_default();
            let request = String::from_utf8_lossy(&buffer);
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
            // A redirect without this login's state is someone else's (or a forgery): it is
            // answered, and the login keeps waiting for its own.
            if params.get("state") != Some(&self.state) {
                let page = "This is not the redirect of the Switchboard login under way; it was ignored.";
                respond(&mut socket, "400 Bad Request", page).await;
                continue;
            }
            let outcome = self.complete(&params).await;
            let page = match &outcome {
                Ok(()) => "Switchboard is signed in. You can close this window.".to_owned(),
                Err(error) => format!("Switchboard could not sign in: {error}"),
            };
            respond(&mut socket, "200 OK", &page).await;
            return outcome;
        }
    }

    async fn complete(&mut self, params: &HashMap<String, String>) -> Result<(), OAuthError> {
        let failed = |detail: String| login_failed(&self.server, detail);
        if let Some(error) = params.get("error") {
            let description = params.get("error_description").map(String::as_str).unwrap_or("");
            return Err(failed(format!(
                "the authorization server answered {error} {description}"
            )));
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
            .map_err(|error| failed(error.detail()))?;
        apply(&mut self.grant, &answer);
        let text = serde_json::to_string(&self.grant).map_err(|e| failed(e.to_string()))?;
        self.secrets.set(&key(&self.server), &text).await?;
        Ok(())
    }
}

async fn respond(socket: &mut tokio::net::TcpStream, status: &str, text: &str) {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>Switchboard</title><p>{}</p>",
        html_escape(text)
    );
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: text/html; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = socket.write_all(response.as_bytes()).await;
}

fn html_escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
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
    fn a_client_secret_never_shows_in_debug_output() {
        let client = ClientCredentials {
            client_id: "switchboard".to_owned(),
            client_secret: Some("hunter2".to_owned()),
        };
        assert!(!format!("{client:?}").contains("hunter2"));
    }
}

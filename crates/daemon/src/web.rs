//! The public pages: the dashboard at `/` (the web UI's files, embedded at build time from
//! `ui/dist`) with its browser sign-in, and the OAuth client metadata document
//! ([`client_metadata_router`]), which the credentials crate builds and this module serves.
//!
//! A browser never sees the control token. Whoever holds it (the CLI's `switchboard open`,
//! the desktop app) asks for a one-time sign-in code; the page at `/#/signin/<code>` trades
//! the code for a browser token that lives only in this daemon's memory. The UI keeps that
//! token in its origin's storage and sends it as a bearer token, so no cookie exists for
//! other loopback ports to receive and no request can be forged cross-site. Codes are single
//! use and expire in a minute; browser tokens end when the daemon does.
//!
//! This module does not serve the API the UI calls (`api` does, with the same guard) and holds
//! no domain logic: the UI is a client of the control API like the CLI.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use parking_lot::Mutex;
use switchboard_credentials::oauth::login::client_metadata_document;
use switchboard_http::door::{Door, HostPolicy, OriginPolicy};
use switchboard_local::token::{RandomError, random_secret};

include!(concat!(env!("OUT_DIR"), "/web_assets.rs"));

/// How long a sign-in code may wait to be redeemed.
const CODE_LIFETIME: Duration = Duration::from_secs(60);

/// What the daemon serves at `/` when it was built without the UI.
const NOT_BUILT: &str = "<!doctype html><meta charset=utf-8><title>Switchboard</title>\
<p>This Switchboard daemon was built without its dashboard. Build it with \
<code>npm --prefix ui ci &amp;&amp; npm --prefix ui run build</code>, then rebuild the daemon \
(<code>scripts/run.sh</code> does both).</p>";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WebError {
    #[error("cannot make a sign-in code or browser token: {0}")]
    Random(#[from] RandomError),
}

/// Sign-in codes waiting to be redeemed and the browser tokens they became.
#[derive(Debug, Default)]
pub struct BrowserSessions {
    codes: Mutex<HashMap<String, Instant>>,
    tokens: Mutex<HashSet<String>>,
}

impl BrowserSessions {
    /// A new single-use sign-in code, valid for [`CODE_LIFETIME`].
    pub fn issue_code(&self) -> Result<String, WebError> {
        let code = random_secret::<32>()?;
        let mut codes = self.codes.lock();
        let now = Instant::now();
        codes.retain(|_, issued| now.duration_since(*issued) < CODE_LIFETIME);
        codes.insert(code.clone(), now);
        Ok(code)
    }

    /// Trades a live code for a browser token; `None` if the code is unknown, used or expired.
    pub fn redeem(&self, code: &str) -> Result<Option<String>, WebError> {
        let issued = self.codes.lock().remove(code);
        match issued {
            Some(at) if at.elapsed() < CODE_LIFETIME => {
                let token = random_secret::<32>()?;
                self.tokens.lock().insert(token.clone());
                Ok(Some(token))
            }
            _ => Ok(None),
        }
    }

    pub fn admits(&self, token: &str) -> bool {
        !token.is_empty() && self.tokens.lock().contains(token)
    }

    pub fn end(&self, token: &str) {
        self.tokens.lock().remove(token);
    }
}

/// Routes for `/` and every file of the built UI; the Host must name this listener.
pub fn router(port: u16) -> Router {
    let mut router = Router::new().route("/", get(index));
    for (path, _) in ASSETS.iter().filter(|(path, _)| *path != "/index.html") {
        router = router.route(path, get(asset));
    }
    router.with_state(port)
}

/// The dashboard's door: this listener's Host; pages on this machine may link to it.
fn door(port: u16) -> Door {
    Door {
        host: HostPolicy::Loopback { port },
        origin: OriginPolicy::AnyLoopback,
    }
}

async fn index(State(port): State<u16>, headers: HeaderMap) -> Response {
    if let Err(refusal) = door(port).check(&headers) {
        return (StatusCode::FORBIDDEN, refusal.to_string()).into_response();
    }
    match ASSETS.iter().find(|(path, _)| *path == "/index.html") {
        Some((_, bytes)) => page(bytes, "text/html; charset=utf-8", "no-cache"),
        None => page(NOT_BUILT.as_bytes(), "text/html; charset=utf-8", "no-cache"),
    }
}

async fn asset(State(port): State<u16>, uri: axum::http::Uri, headers: HeaderMap) -> Response {
    if let Err(refusal) = door(port).check(&headers) {
        return (StatusCode::FORBIDDEN, refusal.to_string()).into_response();
    }
    match ASSETS.iter().find(|(path, _)| *path == uri.path()) {
        // Vite names built files by their content hash, so they never change under a name.
        Some((path, bytes)) => {
            let cache = if path.starts_with("/assets/") {
                "public, max-age=31536000, immutable"
            } else {
                "no-cache"
            };
            page(bytes, content_type(path), cache)
        }
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

fn page(bytes: &'static [u8], content_type: &'static str, cache: &'static str) -> Response {
    let mut response = bytes.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
    );
    response
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit('.').next().unwrap_or_default() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "json" | "webmanifest" => "application/json",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// Where the daemon serves its OAuth client metadata document, for whoever publishes it at the
/// https URL that is its client id (a reverse proxy, or a copy on a web site).
pub const CLIENT_METADATA_PATH: &str = "/oauth/client-metadata.json";

/// `GET /oauth/client-metadata.json`: the document for the configured URL, 404 without one. It
/// is public by design (no credential, any Host): an authorization server fetches it, and it
/// holds nothing secret.
pub fn client_metadata_router(client_metadata_url: Option<String>) -> Router {
    let document = client_metadata_url.map(|url| client_metadata_document(&url));
    Router::new().route(
        CLIENT_METADATA_PATH,
        get(move || async move {
            match document {
                Some(document) => axum::Json(document).into_response(),
                None => StatusCode::NOT_FOUND.into_response(),
            }
        }),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_code_signs_in_once() {
        let sessions = BrowserSessions::default();
        let code = sessions.issue_code().unwrap();
        let token = sessions.redeem(&code).unwrap().unwrap();
        assert!(sessions.admits(&token));
        assert_eq!(sessions.redeem(&code).unwrap(), None, "a code is single use");
        assert!(!sessions.admits(&code), "a code is not a token");
        assert!(!sessions.admits(""));
        sessions.end(&token);
        assert!(!sessions.admits(&token));
    }

    #[test]
    fn an_expired_code_is_refused() {
        let sessions = BrowserSessions::default();
        let code = sessions.issue_code().unwrap();
        sessions
            .codes
            .lock()
            .insert(code.clone(), Instant::now() - CODE_LIFETIME);
        assert_eq!(sessions.redeem(&code).unwrap(), None);
    }
}

//! Discovery of a remote server's authorization server, checked at every step.
//!
//! A login asks the server which authorization server protects it (its 401's
//! `resource_metadata`, else RFC 9728's well-known path), then reads that server's RFC 8414 (or
//! OpenID) metadata. Neither document is taken on trust: the protected-resource metadata must
//! name the very URL it describes (RFC 9728 §3.3), the authorization server's metadata the
//! issuer it was fetched for (RFC 8414 §3.3), and every endpoint a credential or the browser
//! is sent to must be https or loopback (MCP 2025-11-25, "Communication Security"). Each
//! mismatch is a [`Refusal`] that names the field.

use reqwest::header::WWW_AUTHENTICATE;
use serde_json::{Value, json};
use switchboard_mcp::upstream::link::challenge_param;
use switchboard_model::ServerName;

use super::OAuthError;

/// A document or endpoint Switchboard will not use, and which field said so.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Refusal {
    #[error(
        "the protected-resource metadata's `resource` is {found}, not the server's URL {url} (RFC 9728 §3.3); check the server's URL, or ask its operator to fix its metadata"
    )]
    Resource { found: String, url: String },
    #[error(
        "the authorization server metadata's `issuer` is {found}, not {issuer}, the issuer it was fetched for (RFC 8414 §3.3); ask the server's operator to fix its metadata"
    )]
    Issuer { found: String, issuer: String },
    #[error(
        "the authorization server's `{field}` is {url}, which is neither https nor loopback; Switchboard sends credentials and the browser only to https (or this machine)"
    )]
    Insecure { field: &'static str, url: String },
}

/// What a login needs to know of the server and its authorization server.
#[derive(Debug, Clone)]
pub(super) struct Discovered {
    /// The server's URL as its metadata names it (RFC 8707's resource indicator).
    pub resource: String,
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub registration_endpoint: Option<String>,
    /// The authorization server takes a URL to a client metadata document as a client id.
    pub client_id_metadata_documents: bool,
    /// The scope the 401 asked for, else every scope the resource lists; may be empty.
    pub scope: String,
}

/// Whether credentials (or the browser) may be sent to `url`: https, or http to this machine.
pub fn trustworthy(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    match (url.scheme(), url.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(name))) => name.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => ip.is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => ip.is_loopback(),
        _ => false,
    }
}

/// Whether `url` is an https URL with a host.
pub fn is_https(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|url| url.scheme() == "https" && url.host().is_some())
}

/// Whether two URLs name the same resource: equal once parsed, but for a final `/`.
pub fn same_url(a: &str, b: &str) -> bool {
    match (url::Url::parse(a), url::Url::parse(b)) {
        (Ok(a), Ok(b)) => a.as_str().trim_end_matches('/') == b.as_str().trim_end_matches('/'),
        _ => false,
    }
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

/// Refuses `url` as `field` unless it is https or loopback.
fn require_trustworthy(field: &'static str, url: &str) -> Result<(), Refusal> {
    match trustworthy(url) {
        true => Ok(()),
        false => Err(Refusal::Insecure {
            field,
            url: url.to_owned(),
        }),
    }
}

/// Why discovery stopped at a step, before it is said which server it was for.
enum Stop {
    /// A document could not be had, or lacks something a login needs.
    Failed(String),
    /// A document or endpoint is not to be used.
    Refused(Refusal),
}

impl From<Refusal> for Stop {
    fn from(refusal: Refusal) -> Self {
        Stop::Refused(refusal)
    }
}

impl Stop {
    /// The error for a login to `server`.
    fn of(self, server: &ServerName) -> OAuthError {
        match self {
            Stop::Failed(detail) => OAuthError::Discovery {
                server: server.clone(),
                detail,
            },
            Stop::Refused(refusal) => OAuthError::Refused {
                server: server.clone(),
                refusal,
            },
        }
    }
}

/// What a server's protected-resource metadata says, checked.
struct ProtectedResource {
    /// The server's URL as its metadata names it.
    resource: String,
    /// The authorization server it names first.
    issuer: String,
    /// Every scope it lists, space-separated, if it lists them.
    scopes: Option<String>,
}

/// What an authorization server's metadata says, checked.
struct AuthorizationServer {
    authorization_endpoint: String,
    token_endpoint: String,
    registration_endpoint: Option<String>,
    client_id_metadata_documents: bool,
}

/// Finds and checks how remote server `server` at `url` is authorized.
pub(super) async fn discover(
    http: &reqwest::Client,
    server: &ServerName,
    url: &str,
) -> Result<Discovered, OAuthError> {
    let challenge = probe(http, server, url).await?;
    let protected = protected_resource(http, url, &challenge)
        .await
        .map_err(|stop| stop.of(server))?;
    let authorization = authorization_server(http, &protected.issuer)
        .await
        .map_err(|stop| stop.of(server))?;
    Ok(Discovered {
        resource: protected.resource,
        client_id_metadata_documents: authorization.client_id_metadata_documents,
        issuer: protected.issuer,
        authorization_endpoint: authorization.authorization_endpoint,
        token_endpoint: authorization.token_endpoint,
        registration_endpoint: authorization.registration_endpoint,
        scope: challenge_param(&challenge, "scope")
            .or(protected.scopes)
            .unwrap_or_default(),
    })
}

/// Reads the protected-resource metadata of the server at `url` (where its 401's `challenge`
/// says, else at RFC 9728's well-known path) and checks that it describes that server and
/// names an https (or loopback) authorization server.
async fn protected_resource(
    http: &reqwest::Client,
    url: &str,
    challenge: &str,
) -> Result<ProtectedResource, Stop> {
    let parsed = url::Url::parse(url).map_err(|e| Stop::Failed(e.to_string()))?;
    let metadata_url = challenge_param(challenge, "resource_metadata").unwrap_or_else(|| {
        format!(
            "{}/.well-known/oauth-protected-resource{}",
            parsed.origin().ascii_serialization(),
            parsed.path().trim_end_matches('/')
        )
    });
    require_trustworthy("resource_metadata", &metadata_url)?;
    let protected = json(http, &metadata_url).await.map_err(Stop::Failed)?;
    // RFC 9728 §3.3: metadata that names another resource MUST NOT be used.
    let resource = protected["resource"].as_str().unwrap_or_default().to_owned();
    if !same_url(&resource, url) {
        return Err(Refusal::Resource {
            found: resource,
            url: url.to_owned(),
        }
        .into());
    }
    let issuer = protected["authorization_servers"][0]
        .as_str()
        .ok_or_else(|| Stop::Failed(format!("{metadata_url} names no authorization server")))?
        .to_owned();
    require_trustworthy("issuer", &issuer)?;
    let scopes = protected["scopes_supported"].as_array().map(|scopes| {
        scopes
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" ")
    });
    Ok(ProtectedResource {
        resource,
        issuer,
        scopes,
    })
}

/// Reads `issuer`'s metadata and checks that it is the issuer's own, that every endpoint is
/// https (or loopback) and that PKCE with S256 is supported.
async fn authorization_server(http: &reqwest::Client, issuer: &str) -> Result<AuthorizationServer, Stop> {
    let metadata = authorization_server_metadata(http, issuer)
        .await
        .ok_or_else(|| Stop::Failed(format!("{issuer} publishes no authorization server metadata")))?;
    // RFC 8414 §3.3: the metadata must be the issuer's own.
    let found = metadata["issuer"].as_str().unwrap_or_default();
    if !same_url(found, issuer) {
        return Err(Refusal::Issuer {
            found: found.to_owned(),
            issuer: issuer.to_owned(),
        }
        .into());
    }
    let endpoint = |name: &'static str| -> Result<Option<String>, Stop> {
        let Some(at) = metadata[name].as_str() else {
            return Ok(None);
        };
        require_trustworthy(name, at)?;
        Ok(Some(at.to_owned()))
    };
    let required = |name: &'static str| {
        endpoint(name)?.ok_or_else(|| Stop::Failed(format!("{issuer}'s metadata has no {name}")))
    };
    let (authorization_endpoint, token_endpoint) =
        (required("authorization_endpoint")?, required("token_endpoint")?);
    let registration_endpoint = endpoint("registration_endpoint")?;
    let s256 = metadata["code_challenge_methods_supported"]
        .as_array()
        .is_none_or(|methods| methods.iter().any(|m| m == "S256"));
    if !s256 {
        return Err(Stop::Failed(format!("{issuer} does not support PKCE with S256")));
    }
    Ok(AuthorizationServer {
        authorization_endpoint,
        token_endpoint,
        registration_endpoint,
        client_id_metadata_documents: metadata["client_id_metadata_document_supported"] == true,
    })
}

/// Asks the server without a token; its 401's `WWW-Authenticate` header.
async fn probe(http: &reqwest::Client, server: &ServerName, url: &str) -> Result<String, OAuthError> {
    let probe = http
        .post(url)
        .header("accept", "application/json, text/event-stream")
        .json(
            &json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
            "protocolVersion": "2025-06-18", "capabilities": {},
            "clientInfo": {"name": "switchboard", "version": env!("CARGO_PKG_VERSION")}}}),
        )
        .send()
        .await
        .map_err(|e| OAuthError::Discovery {
            server: server.clone(),
            detail: e.to_string(),
        })?;
    if probe.status() != reqwest::StatusCode::UNAUTHORIZED {
        return Err(OAuthError::NotProtected {
            server: server.clone(),
        });
    }
    Ok(probe
        .headers()
        .get(WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned())
}

/// The first metadata document `issuer` publishes at a well-known place.
async fn authorization_server_metadata(http: &reqwest::Client, issuer: &str) -> Option<Value> {
    for candidate in metadata_urls(issuer) {
        if let Ok(found) = json(http, &candidate).await {
            return Some(found);
        }
    }
    None
}

/// A JSON document; the error says which and why.
async fn json(http: &reqwest::Client, url: &str) -> Result<Value, String> {
    http.get(url)
        .header("accept", "application/json")
        .send()
        .await
        .and_then(reqwest::Response::error_for_status)
        .map_err(|e| format!("{url}: {e}"))?
        .json()
        .await
        .map_err(|e| format!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn only_https_and_loopback_are_trusted() {
        for (url, trusted) in [
            ("https://as.example/authorize", true),
            ("http://127.0.0.1:8080/authorize", true),
            ("http://127.5.0.1/authorize", true),
            ("http://localhost:3000/token", true),
            ("http://[::1]:3000/token", true),
            ("http://as.example/authorize", false),
            ("http://10.0.0.1/token", false),
            ("http://localhost.evil.example/token", false),
            ("javascript:alert(1)", false),
            ("file:///etc/passwd", false),
            ("ftp://as.example/x", false),
            ("not a url", false),
        ] {
            assert_eq!(trustworthy(url), trusted, "{url}");
        }
    }

    #[test]
    fn urls_are_the_same_resource_only_when_equal_but_for_a_final_slash() {
        for (a, b, same) in [
            ("https://mcp.example/mcp", "https://mcp.example/mcp", true),
            ("https://mcp.example/mcp/", "https://mcp.example/mcp", true),
            ("https://MCP.example:443/mcp", "https://mcp.example/mcp", true),
            ("https://mcp.example", "https://mcp.example/", true),
            ("https://mcp.example/mcp", "https://mcp.example/other", false),
            ("https://mcp.example/mcp", "http://mcp.example/mcp", false),
            ("https://mcp.example/mcp", "https://evil.example/mcp", false),
            ("", "https://mcp.example/mcp", false),
        ] {
            assert_eq!(same_url(a, b), same, "{a} vs {b}");
        }
    }
}

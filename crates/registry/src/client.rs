//! An HTTP client for the MCP registry API, version v0.1.
//!
//! It speaks to the official registry or any private one that serves the same API, at a base
//! URL the user chooses. Every failure is typed by what the user can do about it: the registry
//! could not be reached, asked us to slow down, answered with an error, or sent something that
//! is not the API's shape. Caching and deciding when to refresh are the daemon's.

use std::time::Duration;

use url::Url;

use crate::server_json::{Entry, Page};

/// The official registry.
pub const OFFICIAL: &str = "https://registry.modelcontextprotocol.io";

/// Largest response accepted: the biggest real page is far smaller.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    #[error("`{given}` is not a registry URL ({reason}); give one like {OFFICIAL}")]
    BadBaseUrl { given: String, reason: String },
    #[error("cannot reach the registry at {url}: {reason}; check the network or the registry URL")]
    Unreachable { url: String, reason: String },
    #[error("the registry at {url} is rate-limiting requests{}; try again later", retry_after.map(|s| format!(" (it asks to wait {s} s)")).unwrap_or_default())]
    RateLimited { url: String, retry_after: Option<u64> },
    #[error("the registry at {url} answered {status}: {body}")]
    Status { url: String, status: u16, body: String },
    #[error("the registry has no server named {name}{}", version.as_ref().map(|v| format!(" at version {v}")).unwrap_or_default())]
    NotFound { name: String, version: Option<String> },
    #[error("the registry at {url} sent a response that is not the registry API's shape: {detail}")]
    Malformed { url: String, detail: String },
}

/// Parameters of `GET /v0.1/servers`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub search: Option<String>,
    pub cursor: Option<String>,
    pub limit: Option<u32>,
    /// RFC 3339; the registry then includes deleted entries too.
    pub updated_since: Option<String>,
    pub latest_only: bool,
}

/// A registry at one base URL.
#[derive(Clone, Debug)]
pub struct Registry {
    base: Url,
    http: reqwest::Client,
}

impl Registry {
    pub fn new(base: &str) -> Result<Self, RegistryError> {
        let bad = |reason: &str| RegistryError::BadBaseUrl {
            given: base.to_owned(),
            reason: reason.to_owned(),
        };
        let url = Url::parse(base).map_err(|error| bad(&error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") || url.cannot_be_a_base() {
            return Err(bad("it must be an http or https URL"));
        }
        let http = reqwest::Client::builder()
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|error| bad(&error.to_string()))?;
        Ok(Self { base: url, http })
    }

    pub fn base(&self) -> &str {
        self.base.as_str().trim_end_matches('/')
    }

    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            // `push` percent-encodes, so a server name's `/` becomes `%2F` as the API expects.
            path.pop_if_empty().extend(["v0.1", "servers"]).extend(segments);
        }
        url
    }

    /// One page of the listing.
    pub async fn list(&self, query: &ListQuery) -> Result<Page, RegistryError> {
        let mut url = self.endpoint(&[]);
        {
            let mut pairs = url.query_pairs_mut();
            if let Some(search) = &query.search {
                pairs.append_pair("search", search);
            }
            if let Some(cursor) = &query.cursor {
                pairs.append_pair("cursor", cursor);
            }
            if let Some(limit) = query.limit {
                pairs.append_pair("limit", &limit.to_string());
            }
            if let Some(since) = &query.updated_since {
                pairs.append_pair("updated_since", since);
            }
            if query.latest_only {
                pairs.append_pair("version", "latest");
            }
        }
        if url.query() == Some("") {
            url.set_query(None);
        }
        self.get(url, None).await
    }

    /// Every page of the listing, following cursors; `on_page` hears the running count.
    pub async fn list_all(
        &self,
        mut query: ListQuery,
        mut on_page: impl FnMut(usize),
    ) -> Result<Vec<Entry>, RegistryError> {
        let mut entries = Vec::new();
        loop {
            let page = self.list(&query).await?;
            let empty = page.servers.is_empty();
            entries.extend(page.servers);
            on_page(entries.len());
            match page.metadata.next_cursor {
                // A cursor that does not move would loop forever.
                Some(next) if !empty && query.cursor.as_ref() != Some(&next) => query.cursor = Some(next),
                _ => return Ok(entries),
            }
        }
    }

    /// Every published version of `name`, newest first.
    pub async fn versions(&self, name: &str) -> Result<Vec<Entry>, RegistryError> {
        let url = self.endpoint(&[name, "versions"]);
        let page: Page = self.get(url, Some((name, None))).await?;
        Ok(page.servers)
    }

    /// One version of `name`; `latest` is allowed.
    pub async fn version(&self, name: &str, version: &str) -> Result<Entry, RegistryError> {
        let url = self.endpoint(&[name, "versions", version]);
        self.get(url, Some((name, Some(version)))).await
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        subject: Option<(&str, Option<&str>)>,
    ) -> Result<T, RegistryError> {
        let shown = url.to_string();
        let unreachable = |error: reqwest::Error| RegistryError::Unreachable {
            url: shown.clone(),
            reason: describe(&error),
        };
        let mut response = self.http.get(url.clone()).send().await.map_err(unreachable)?;
        let status = response.status();
        if status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.trim().parse().ok());
            return Err(RegistryError::RateLimited {
                url: shown,
                retry_after,
            });
        }
        if status == reqwest::StatusCode::NOT_FOUND
            && let Some((name, version)) = subject
        {
            return Err(RegistryError::NotFound {
                name: name.to_owned(),
                version: version.map(str::to_owned),
            });
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
            if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
                return Err(RegistryError::Malformed {
                    url: shown,
                    detail: format!("the response is larger than {} MiB", MAX_RESPONSE_BYTES >> 20),
                });
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let excerpt: String = text.trim().chars().take(200).collect();
            return Err(RegistryError::Status {
                url: shown,
                status: status.as_u16(),
                body: if excerpt.is_empty() {
                    status.canonical_reason().unwrap_or("no reason given").to_owned()
                } else {
                    excerpt
                },
            });
        }
        serde_json::from_slice(&body).map_err(|error| RegistryError::Malformed {
            url: shown,
            detail: error.to_string(),
        })
    }
}

/// The innermost cause of a transport error, which says what actually went wrong.
fn describe(error: &reqwest::Error) -> String {
    let mut source: &dyn std::error::Error = error;
    while let Some(next) = source.source() {
        source = next;
    }
    if error.is_timeout() {
        "the request timed out".to_owned()
    } else {
        source.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_encoded_path_segment() {
        let registry = Registry::new("http://127.0.0.1:9/private/").expect("url");
        assert_eq!(
            registry
                .endpoint(&["io.github.x/y", "versions", "1.0.0+b1"])
                .as_str(),
            "http://127.0.0.1:9/private/v0.1/servers/io.github.x%2Fy/versions/1.0.0+b1"
        );
    }

    #[test]
    fn base_urls_are_checked() {
        assert!(matches!(
            Registry::new("ftp://x"),
            Err(RegistryError::BadBaseUrl { .. })
        ));
        assert!(matches!(
            Registry::new("registry"),
            Err(RegistryError::BadBaseUrl { .. })
        ));
    }
}

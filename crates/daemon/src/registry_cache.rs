//! The daemon's copy of an MCP registry, so browsing works offline.
//!
//! The first refresh reads every version; later ones ask only for what changed since the
//! newest `updatedAt` seen (which includes deletions). Reads refresh first when the copy is
//! older than a minute, and when the registry cannot be read they answer from the copy and
//! say why. Lookups of one server go to the registry directly and fall back to the copy.
//!
//! This module keeps documents and shows them (a version's listing view, [`summary`], with
//! the sources the registry crate finds in it); it knows nothing of installing. The installer
//! depends on it and never the other way round: the installer reads documents through
//! [`RegistryCache`], wraps [`RegistryCacheError`] and builds its install form from
//! [`summary`]; nothing here refers to the installer (not even a doc link), so search and
//! listing work without one.

use std::time::Duration;

use switchboard_model::api::{RegistryCheck, RegistryServer, RegistryVersion};
use switchboard_model::now_millis;
use switchboard_registry::client::ListQuery;
use switchboard_registry::{Entry, Registry, RegistryError, plan, validate};
use switchboard_store::{CachedVersion, Store, StoreError};
use tokio::sync::Mutex;

/// How old the copy may be before a read refreshes it.
const REFRESH_AFTER: Duration = Duration::from_secs(60);
/// Page size asked of the registry (its maximum).
const PAGE_SIZE: u32 = 100;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryCacheError {
    #[error(transparent)]
    Registry(#[from] RegistryError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{reason}, and nothing is cached from {registry} yet; try again once it can be reached")]
    NothingCached { registry: String, reason: String },
    #[error("{name} is not in the registry's cached copy ({reason})")]
    NotCached { name: String, reason: String },
}

/// One registry's versions, cached in the store.
#[derive(Debug)]
pub struct RegistryCache {
    registry: Registry,
    store: Store,
    refreshing: Mutex<()>,
    last_error: parking_lot::Mutex<Option<String>>,
}

/// Something read, and why it came from the copy rather than the registry, if it did.
#[derive(Debug)]
pub struct Read<T> {
    pub value: T,
    pub offline: Option<String>,
}

impl RegistryCache {
    pub fn new(registry: Registry, store: Store) -> Self {
        Self {
            registry,
            store,
            refreshing: Mutex::new(()),
            last_error: parking_lot::Mutex::new(None),
        }
    }

    pub fn url(&self) -> &str {
        self.registry.base()
    }

    fn note(&self, result: Result<(), RegistryCacheError>) -> Option<String> {
        let error = result.err().map(|e| e.to_string());
        self.last_error.lock().clone_from(&error);
        error
    }

    /// Brings the copy up to date when it is older than a minute, or always with `force`.
    pub async fn refresh(&self, force: bool) -> Result<(), RegistryCacheError> {
        let _one_at_a_time = self.refreshing.lock().await;
        let url = self.url().to_owned();
        let last = self.store.registry_sync(&url).await?;
        let fresh = last.as_ref().is_some_and(|(at, _)| {
            now_millis().saturating_sub(*at) < i64::try_from(REFRESH_AFTER.as_millis()).unwrap_or(i64::MAX)
        });
        if fresh && !force {
            return Ok(());
        }
        let query = ListQuery {
            limit: Some(PAGE_SIZE),
            updated_since: last.and_then(|(_, since)| since),
            ..ListQuery::default()
        };
        let entries = self.registry.list_all(query, |_| {}).await?;
        let versions: Vec<CachedVersion> = entries.iter().filter_map(cached).collect();
        self.store.cache_versions(&url, &versions).await?;
        let newest = versions.iter().filter_map(|v| v.updated_at.as_deref()).max();
        self.store.set_registry_sync(&url, now_millis(), newest).await?;
        Ok(())
    }

    /// Latest versions whose name, title or description holds `term`.
    pub async fn search(
        &self,
        term: &str,
        force: bool,
    ) -> Result<Read<Vec<CachedVersion>>, RegistryCacheError> {
        let refreshed = self.refresh(force).await;
        let offline = self.note(refreshed);
        if let Some(reason) = &offline
            && self.store.cached_count(self.url()).await? == 0
        {
            return Err(RegistryCacheError::NothingCached {
                registry: self.url().to_owned(),
                reason: reason.clone(),
            });
        }
        Ok(Read {
            value: self.store.search_cache(self.url(), term, 200).await?,
            offline,
        })
    }

    /// Every version of `name`, newest first.
    pub async fn versions(&self, name: &str) -> Result<Read<Vec<CachedVersion>>, RegistryCacheError> {
        let online = self.registry.versions(name).await;
        let offline = match online {
            Ok(entries) => {
                let versions: Vec<CachedVersion> = entries.iter().filter_map(cached).collect();
                self.store.cache_versions(self.url(), &versions).await?;
                None
            }
            Err(error @ RegistryError::NotFound { .. }) => return Err(error.into()),
            Err(error) => Some(error.to_string()),
        };
        let value = self.store.cached_versions(self.url(), name).await?;
        if value.is_empty() {
            return Err(match offline {
                Some(reason) => RegistryCacheError::NotCached {
                    name: name.to_owned(),
                    reason,
                },
                None => RegistryError::NotFound {
                    name: name.to_owned(),
                    version: None,
                }
                .into(),
            });
        }
        Ok(Read { value, offline })
    }

    /// One version of `name` (the latest when `version` is `None`).
    pub async fn version(
        &self,
        name: &str,
        version: Option<&str>,
    ) -> Result<Read<CachedVersion>, RegistryCacheError> {
        let offline = match self.registry.version(name, version.unwrap_or("latest")).await {
            Ok(entry) => match cached(&entry) {
                Some(found) => {
                    self.store
                        .cache_versions(self.url(), std::slice::from_ref(&found))
                        .await?;
                    return Ok(Read {
                        value: found,
                        offline: None,
                    });
                }
                None => "the registry's answer has no name or version".to_owned(),
            },
            Err(error @ RegistryError::NotFound { .. }) => return Err(error.into()),
            Err(error) => error.to_string(),
        };
        let versions = self.store.cached_versions(self.url(), name).await?;
        let found = match version {
            Some(wanted) => versions.into_iter().find(|v| v.version == wanted),
            None => {
                let latest = versions.iter().position(|v| v.is_latest).unwrap_or(0);
                versions.into_iter().nth(latest)
            }
        };
        found
            .map(|value| Read {
                value,
                offline: Some(offline.clone()),
            })
            .ok_or(RegistryCacheError::NotCached {
                name: name.to_owned(),
                reason: offline,
            })
    }

    pub async fn check(&self) -> RegistryCheck {
        let url = self.url().to_owned();
        RegistryCheck {
            cached_versions: self.store.cached_count(&url).await.unwrap_or(0),
            synced_at_ms: self
                .store
                .registry_sync(&url)
                .await
                .ok()
                .flatten()
                .map(|(at, _)| at),
            last_error: self.last_error.lock().clone(),
            url,
        }
    }
}

fn cached(entry: &Entry) -> Option<CachedVersion> {
    let (name, version) = entry.name_and_version()?;
    let official = entry.official();
    Some(CachedVersion {
        name: name.to_owned(),
        version: version.to_owned(),
        status: official.status.as_str().to_owned(),
        is_latest: official.is_latest,
        published_at: official.published_at,
        updated_at: official.updated_at,
        document: entry.server.clone(),
    })
}

/// The listing's view of one cached version; `installed_as` names local servers from it.
pub fn summary(version: &CachedVersion, installed_as: Vec<String>) -> RegistryServer {
    let text = |key: &str| {
        version
            .document
            .get(key)
            .and_then(|v| v.as_str())
            .map(str::to_owned)
    };
    let (sources, problem, warnings) = match validate::parse(&version.document) {
        Ok(server) => (
            plan::sources(&server)
                .iter()
                .map(|s| s.kind.to_string())
                .collect(),
            None,
            server.warnings,
        ),
        Err(violation) => (Vec::new(), Some(violation.to_string()), Vec::new()),
    };
    RegistryServer {
        name: version.name.clone(),
        version: version.version.clone(),
        title: text("title"),
        description: text("description").unwrap_or_default(),
        status: version.status.clone(),
        is_latest: version.is_latest,
        published_at: version.published_at.clone(),
        sources,
        installed_as,
        problem,
        warnings,
    }
}

pub fn version_view(version: &CachedVersion) -> RegistryVersion {
    RegistryVersion {
        version: version.version.clone(),
        status: version.status.clone(),
        is_latest: version.is_latest,
        published_at: version.published_at.clone(),
    }
}

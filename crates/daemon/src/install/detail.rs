//! What the install form shows of one registry version: its listing, its versions, and each
//! source with its inputs and whether this machine can run it.
//!
//! It reads; it fetches and writes nothing. The listing views themselves are
//! [`crate::registry_cache`]'s, the forms the registry crate's.

use switchboard_model::api::{InstallSource, RegistryDetail};
use switchboard_registry::plan;
use switchboard_registry::{ServerJson, SourceKind, validate};

use super::{InstallError, Installer};
use crate::registry_cache;

impl Installer {
    /// One version's details: its document, versions and every source with its inputs.
    pub async fn detail(&self, name: &str, version: Option<&str>) -> Result<RegistryDetail, InstallError> {
        let read = self.cache.version(name, version).await?;
        let versions = self
            .cache
            .versions(name)
            .await
            .map(|r| r.value)
            .unwrap_or_default();
        let installed = self.installed().await?.remove(name).unwrap_or_default();
        let mut detail = RegistryDetail {
            server: registry_cache::summary(&read.value, installed),
            versions: versions.iter().map(registry_cache::version_view).collect(),
            sources: Vec::new(),
            document: read.value.document.clone(),
            offline: read.offline,
        };
        if let Ok(server) = validate::parse(&read.value.document) {
            detail.sources = self.sources(&server).await;
        }
        Ok(detail)
    }

    /// Every source of `server` with its form, and which one an install would choose.
    async fn sources(&self, server: &ServerJson) -> Vec<InstallSource> {
        let runtimes = self.runtimes().await;
        let selected = plan::select(server, None, |r| runtimes.has(r)).ok();
        plan::sources(server)
            .into_iter()
            .map(|source| InstallSource {
                kind: source.kind.to_string(),
                target: target_of(server, source),
                fields: plan::form(server, source),
                unavailable: plan::select(server, Some(source.kind), |r| runtimes.has(r))
                    .err()
                    .map(|e| e.to_string()),
                selected: selected == Some(source),
            })
            .collect()
    }
}

/// The remote's URL, or the package as `identifier@version`.
fn target_of(server: &ServerJson, source: plan::Source) -> String {
    match source.kind {
        SourceKind::StreamableHttp | SourceKind::Sse => server.remotes[source.index].url.clone(),
        _ => {
            let package = &server.packages[source.index];
            match &package.version {
                Some(version) => format!("{}@{version}", package.identifier),
                None => package.identifier.clone(),
            }
        }
    }
}

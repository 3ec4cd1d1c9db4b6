//! The registry cache: server versions as a registry published them (`registry_versions`)
//! and when each registry was last read (`registry_syncs`).
//!
//! Reading registries, and deciding when the cache is stale, is the daemon's registry cache.

use sqlx::Row;
use switchboard_model::UnixMillis;

use super::{Store, StoreError};

/// One server version as cached from a registry.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedVersion {
    pub name: String,
    pub version: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    pub is_latest: bool,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub document: serde_json::Value,
}

/// The latest cached version of each name first; a name none marks latest falls back to its
/// newest publication.
const LATEST_PER_NAME: &str =
    "SELECT name, version, status, is_latest, published_at, updated_at, document FROM (
        SELECT *, ROW_NUMBER() OVER (
            PARTITION BY name ORDER BY is_latest DESC, published_at DESC, version DESC
        ) AS rank
        FROM registry_versions WHERE registry = ?1
    ) WHERE rank = 1";

impl Store {
    /// Records `versions` of `registry`; one marked latest unmarks the others of its name.
    pub async fn cache_versions(&self, registry: &str, versions: &[CachedVersion]) -> Result<(), StoreError> {
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.query_err("caching registry versions"))?;
        for v in versions {
            if v.is_latest {
                sqlx::query("UPDATE registry_versions SET is_latest = 0 WHERE registry = ? AND name = ?")
                    .bind(registry)
                    .bind(&v.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.query_err("caching registry versions"))?;
            }
            sqlx::query(
                "INSERT INTO registry_versions
                    (registry, name, version, status, is_latest, published_at, updated_at, document)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (registry, name, version) DO UPDATE SET
                    status = excluded.status, is_latest = excluded.is_latest,
                    published_at = excluded.published_at, updated_at = excluded.updated_at,
                    document = excluded.document",
            )
            .bind(registry)
            .bind(&v.name)
            .bind(&v.version)
            .bind(&v.status)
            .bind(v.is_latest)
            .bind(&v.published_at)
            .bind(&v.updated_at)
            .bind(v.document.to_string())
            .execute(&mut *tx)
            .await
            .map_err(self.query_err("caching registry versions"))?;
        }
        tx.commit()
            .await
            .map_err(self.query_err("caching registry versions"))
    }

    /// The latest version of each cached server whose name, title or description holds `term`.
    pub async fn search_cache(
        &self,
        registry: &str,
        term: &str,
        limit: u32,
    ) -> Result<Vec<CachedVersion>, StoreError> {
        let pattern = format!(
            "%{}%",
            term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        // Built from constants only; the term is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LATEST_PER_NAME} AND status != 'deleted' AND (name LIKE ?2 ESCAPE '\\'
                OR json_extract(document, '$.title') LIKE ?2 ESCAPE '\\'
                OR json_extract(document, '$.description') LIKE ?2 ESCAPE '\\')
             ORDER BY name LIMIT ?3"
        )))
        .bind(registry)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("searching the registry cache"))?;
        rows.iter().map(cached_version).collect()
    }

    /// Every cached version of `name`, newest first.
    pub async fn cached_versions(
        &self,
        registry: &str,
        name: &str,
    ) -> Result<Vec<CachedVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, version, status, is_latest, published_at, updated_at, document
             FROM registry_versions WHERE registry = ? AND name = ?
             ORDER BY published_at DESC, version DESC",
        )
        .bind(registry)
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading cached registry versions"))?;
        rows.iter().map(cached_version).collect()
    }

    /// When `registry` was last read, and the newest `updatedAt` seen then.
    pub async fn registry_sync(
        &self,
        registry: &str,
    ) -> Result<Option<(UnixMillis, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT synced_at_ms, updated_since FROM registry_syncs WHERE registry = ?")
            .bind(registry)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_err("reading the registry sync time"))?;
        Ok(row.map(|row| (row.get("synced_at_ms"), row.get("updated_since"))))
    }

    pub async fn set_registry_sync(
        &self,
        registry: &str,
        at_ms: UnixMillis,
        updated_since: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO registry_syncs (registry, synced_at_ms, updated_since) VALUES (?, ?, ?)
             ON CONFLICT (registry) DO UPDATE SET synced_at_ms = excluded.synced_at_ms,
                updated_since = COALESCE(excluded.updated_since, registry_syncs.updated_since)",
        )
        .bind(registry)
        .bind(at_ms)
        .bind(updated_since)
        .execute(&self.pool)
        .await
        .map_err(self.query_err("recording the registry sync time"))?;
        Ok(())
    }

    pub async fn cached_count(&self, registry: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registry_versions WHERE registry = ?")
            .bind(registry)
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_err("counting cached registry versions"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }
}

fn cached_version(row: &sqlx::sqlite::SqliteRow) -> Result<CachedVersion, StoreError> {
    let name: String = row.get("name");
    let document: String = row.get("document");
    Ok(CachedVersion {
        document: serde_json::from_str(&document).map_err(|source| StoreError::CorruptCache {
            name: name.clone(),
            source,
        })?,
        name,
        version: row.get("version"),
        status: row.get("status"),
        is_latest: row.get("is_latest"),
        published_at: row.get("published_at"),
        updated_at: row.get("updated_at"),
    })
}

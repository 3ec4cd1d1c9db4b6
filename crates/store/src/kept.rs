//! The lists each server offered in its last runs (`kept_lists`), so an on-demand server can
//! be listed while no process of it runs.
//!
//! What a list holds and when it changed are the gateway's to decide; this file keeps the
//! JSON it is given, one row per server version, the newest three.

use serde_json::Value;
use sqlx::Row;
use switchboard_model::{ServerName, now_millis};

use super::{Store, StoreError};

/// A server's newest kept lists.
#[derive(Clone, Debug, PartialEq)]
pub struct KeptLists {
    pub server: ServerName,
    /// The version its run reported (with whatever else the gateway tells versions apart by).
    pub version: String,
    /// `{"init": ..., "tools": [...], ...}`.
    pub lists: Value,
}

impl Store {
    /// Each server's newest kept lists. A row whose JSON cannot be read is left out: its
    /// server is listed anew at its next run.
    pub async fn kept_lists(&self) -> Result<Vec<KeptLists>, StoreError> {
        let rows = sqlx::query(
            "SELECT server, version, lists FROM kept_lists k
             WHERE rowid = (SELECT rowid FROM kept_lists WHERE server = k.server
                            ORDER BY kept_at_ms DESC, rowid DESC LIMIT 1)",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading servers' kept lists"))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let server = ServerName::new(row.get::<String, _>("server")).ok()?;
                let lists = serde_json::from_str(row.get::<&str, _>("lists")).ok()?;
                Some(KeptLists {
                    server,
                    version: row.get("version"),
                    lists,
                })
            })
            .collect())
    }

    /// Keeps `kept` as its server's newest lists (replacing what that version had).
    pub async fn keep_lists(&self, kept: &KeptLists) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO kept_lists (server, version, lists, kept_at_ms) VALUES (?, ?, ?, ?)
             ON CONFLICT (server, version) DO UPDATE SET lists = excluded.lists,
               kept_at_ms = excluded.kept_at_ms",
        )
        .bind(kept.server.as_str())
        .bind(&kept.version)
        .bind(kept.lists.to_string())
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(self.query_err("keeping a server's lists"))?;
        Ok(())
    }

    /// How many tools `server`'s newest kept lists hold; `None` if none are kept (so it
    /// cannot sleep and still be listed).
    pub async fn kept_tools(&self, server: &ServerName) -> Result<Option<u32>, StoreError> {
        let found: Option<Option<i64>> = sqlx::query_scalar(
            "SELECT json_array_length(lists, '$.tools') FROM kept_lists WHERE server = ?
             ORDER BY kept_at_ms DESC, rowid DESC LIMIT 1",
        )
        .bind(server.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(self.query_err("reading a server's kept lists"))?;
        Ok(found.map(|tools| tools.and_then(|n| u32::try_from(n).ok()).unwrap_or(0)))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;
    use crate::fixtures::{spec, store};

    #[tokio::test]
    async fn the_newest_lists_are_read_back_and_three_versions_are_kept() {
        let (_dir, store) = store().await;
        let name = ServerName::new("time").unwrap();
        store.insert_server(&spec("time"), true).await.unwrap();
        assert_eq!(store.kept_tools(&name).await.unwrap(), None);
        for version in ["1", "2", "3", "4"] {
            let kept = KeptLists {
                server: name.clone(),
                version: version.into(),
                lists: json!({"tools": [{"name": format!("v{version}")}]}),
            };
            store.keep_lists(&kept).await.unwrap();
        }
        let kept = store.kept_lists().await.unwrap();
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].version, "4");
        assert_eq!(kept[0].lists["tools"][0]["name"], "v4");
        assert_eq!(store.kept_tools(&name).await.unwrap(), Some(1));
        let versions: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM kept_lists")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert_eq!(versions, 3);
        // Removing the server removes what was kept of it.
        store.remove_server(&name).await.unwrap();
        assert_eq!(store.kept_tools(&name).await.unwrap(), None);
    }
}

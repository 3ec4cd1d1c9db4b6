//! Tool integrity's memory: per server, whether it trusts its tool updates and the tool
//! definitions approved for it (`screened_servers`, `approved_tools`), and what its results
//! that hold a credential become (`secret_results`).
//!
//! Digests are the gateway's to compute and compare; this file keeps what it is given.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use sqlx::Row;
use switchboard_model::api::SecretResults;
use switchboard_model::{ServerName, now_millis};

use super::{Store, StoreError};

/// A server's approved definitions: each tool's digest and definition (JSON).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Screened {
    pub trust_updates: bool,
    pub tools: BTreeMap<String, Approval>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Approval {
    pub digest: String,
    pub definition: serde_json::Value,
}

impl Store {
    /// Every screened server, by name.
    pub async fn screened(&self) -> Result<BTreeMap<String, Screened>, StoreError> {
        let doing = "reading approved tool definitions";
        let servers = sqlx::query("SELECT server, trust_updates FROM screened_servers")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err(doing))?;
        let mut screened: BTreeMap<String, Screened> = servers
            .iter()
            .map(|row| {
                let trust: i64 = row.get("trust_updates");
                (
                    row.get("server"),
                    Screened {
                        trust_updates: trust != 0,
                        ..Screened::default()
                    },
                )
            })
            .collect();
        let tools = sqlx::query("SELECT server, tool, digest, definition FROM approved_tools")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err(doing))?;
        for row in &tools {
            let (server, tool): (String, String) = (row.get("server"), row.get("tool"));
            let definition: String = row.get("definition");
            let definition =
                serde_json::from_str(&definition).map_err(|source| StoreError::CorruptApproval {
                    server: server.clone(),
                    tool: tool.clone(),
                    source,
                })?;
            let approval = Approval {
                digest: row.get("digest"),
                definition,
            };
            screened.entry(server).or_default().tools.insert(tool, approval);
        }
        Ok(screened)
    }

    /// Approves `tools` of `server` (marking it screened), replacing what was approved of them.
    pub async fn approve_tools(
        &self,
        server: &str,
        tools: &BTreeMap<String, Approval>,
    ) -> Result<(), StoreError> {
        let doing = "approving tool definitions";
        let mut tx = self.pool.begin().await.map_err(self.query_err(doing))?;
        sqlx::query("INSERT INTO screened_servers (server) VALUES (?) ON CONFLICT (server) DO NOTHING")
            .bind(server)
            .execute(&mut *tx)
            .await
            .map_err(self.query_err(doing))?;
        for (tool, approval) in tools {
            sqlx::query(
                "INSERT INTO approved_tools (server, tool, digest, definition, approved_at_ms) VALUES (?, ?, ?, ?, ?)
                 ON CONFLICT (server, tool) DO UPDATE SET digest = excluded.digest,
                   definition = excluded.definition, approved_at_ms = excluded.approved_at_ms",
            )
            .bind(server)
            .bind(tool)
            .bind(&approval.digest)
            .bind(approval.definition.to_string())
            .bind(now_millis())
            .execute(&mut *tx)
            .await
            .map_err(self.query_err(doing))?;
        }
        tx.commit().await.map_err(self.query_err(doing))?;
        Ok(())
    }

    /// Whether `server`'s changed and new tools are approved as they come.
    pub async fn set_trust_updates(&self, server: &str, trust: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO screened_servers (server, trust_updates) VALUES (?, ?)
             ON CONFLICT (server) DO UPDATE SET trust_updates = excluded.trust_updates",
        )
        .bind(server)
        .bind(i64::from(trust))
        .execute(&self.pool)
        .await
        .map_err(self.query_err("choosing whether a server's tool updates are trusted"))?;
        Ok(())
    }

    /// Forgets what was approved of `server` and its settings (it was removed: adding it
    /// again starts anew).
    pub async fn forget_screening(&self, server: &str) -> Result<(), StoreError> {
        let doing = "forgetting a removed server's approved tools";
        for delete in [
            "DELETE FROM screened_servers WHERE server = ?",
            "DELETE FROM secret_results WHERE server = ?",
        ] {
            sqlx::query(delete)
                .bind(server)
                .execute(&self.pool)
                .await
                .map_err(self.query_err(doing))?;
        }
        Ok(())
    }

    /// Each server's own setting for results that hold a credential.
    pub async fn secret_results(&self) -> Result<HashMap<ServerName, SecretResults>, StoreError> {
        let rows = sqlx::query("SELECT server, results FROM secret_results")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading servers' settings for credentials in results"))?;
        Ok(rows
            .iter()
            .filter_map(|row| {
                let server = ServerName::new(row.get::<String, _>("server")).ok()?;
                let results = serde_json::from_value(Value::String(row.get("results"))).ok()?;
                Some((server, results))
            })
            .collect())
    }

    pub async fn set_secret_results(&self, server: &str, results: SecretResults) -> Result<(), StoreError> {
        let text = serde_json::to_value(results)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        sqlx::query(
            "INSERT INTO secret_results (server, results) VALUES (?, ?)
             ON CONFLICT (server) DO UPDATE SET results = excluded.results",
        )
        .bind(server)
        .bind(text)
        .execute(&self.pool)
        .await
        .map_err(self.query_err("saving a server's setting for credentials in results"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn approvals_are_kept_replaced_and_forgotten_with_their_server() {
        let (_dir, store) = crate::fixtures::store().await;
        assert!(store.screened().await.unwrap().is_empty());
        let approval = |digest: &str| Approval {
            digest: digest.into(),
            definition: json!({"name": "t", "d": digest}),
        };
        let first = BTreeMap::from([("t".to_owned(), approval("a")), ("u".to_owned(), approval("b"))]);
        store.approve_tools("time", &first).await.unwrap();
        store
            .approve_tools("time", &BTreeMap::from([("t".to_owned(), approval("c"))]))
            .await
            .unwrap();
        store.set_trust_updates("other", true).await.unwrap();
        let screened = store.screened().await.unwrap();
        assert_eq!(screened["time"].tools["t"], approval("c"));
        assert_eq!(screened["time"].tools["u"], approval("b"));
        assert!(!screened["time"].trust_updates);
        assert!(screened["other"].trust_updates && screened["other"].tools.is_empty());
        store
            .set_secret_results("time", SecretResults::Block)
            .await
            .unwrap();
        let time = ServerName::new("time").unwrap();
        assert_eq!(store.secret_results().await.unwrap()[&time], SecretResults::Block);
        store.forget_screening("time").await.unwrap();
        assert!(!store.screened().await.unwrap().contains_key("time"));
        assert!(store.secret_results().await.unwrap().is_empty());
    }
}

//! Connected clients: what each was asked to get (`client_wiring`) and what Switchboard
//! owns in each of their files (`client_files`).
//!
//! Writing the files and journaling those writes are not here: the journal's rows are
//! `client_journal`'s, the files `client_config`'s (in the daemon).

use sqlx::Row;
use switchboard_clients::plan::Ownership;
use switchboard_model::api::Wiring;
use switchboard_model::now_millis;

use super::{Store, StoreError};

impl Store {
    /// Every connected client and what it was asked to get.
    pub async fn wirings(&self) -> Result<Vec<(String, Wiring)>, StoreError> {
        let rows = sqlx::query("SELECT client, servers, reapply FROM client_wiring ORDER BY client")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading connected clients"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let servers: Option<String> = r.get("servers");
                let wiring = Wiring {
                    servers: servers.and_then(|s| serde_json::from_str(&s).ok()),
                    reapply: r.get::<i64, _>("reapply") != 0,
                };
                (r.get("client"), wiring)
            })
            .collect())
    }

    pub async fn set_wiring(&self, client: &str, wiring: &Wiring) -> Result<(), StoreError> {
        let servers = wiring
            .servers
            .as_ref()
            .map(|s| serde_json::to_string(s).unwrap_or_default());
        sqlx::query(
            "INSERT INTO client_wiring (client, servers, reapply, connected_at_ms) VALUES (?, ?, ?, ?) \
             ON CONFLICT (client) DO UPDATE SET servers = excluded.servers, reapply = excluded.reapply",
        )
        .bind(client)
        .bind(servers)
        .bind(i64::from(wiring.reapply))
        .bind(now_millis())
        .execute(&self.pool)
        .await
        .map_err(self.query_err("recording a connected client"))?;
        Ok(())
    }

    pub async fn remove_wiring(&self, client: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM client_wiring WHERE client = ?")
            .bind(client)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("forgetting a connected client"))?;
        Ok(())
    }

    /// What Switchboard wrote into each of a client's files.
    pub async fn owned_files(&self, client: &str) -> Result<Vec<(String, Ownership)>, StoreError> {
        let rows = sqlx::query("SELECT path, ownership FROM client_files WHERE client = ? ORDER BY path")
            .bind(client)
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading a client's files"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let ownership: String = r.get("ownership");
                (
                    r.get("path"),
                    serde_json::from_str(&ownership).unwrap_or_default(),
                )
            })
            .collect())
    }

    /// Records what Switchboard owns in a file; nothing owned removes the record.
    pub async fn set_ownership(
        &self,
        client: &str,
        path: &str,
        ownership: &Ownership,
    ) -> Result<(), StoreError> {
        let query = if *ownership == Ownership::default() {
            sqlx::query("DELETE FROM client_files WHERE client = ? AND path = ?")
                .bind(client)
                .bind(path)
        } else {
            sqlx::query(
                "INSERT INTO client_files (client, path, ownership) VALUES (?, ?, ?) \
                 ON CONFLICT (client, path) DO UPDATE SET ownership = excluded.ownership",
            )
            .bind(client)
            .bind(path)
            .bind(serde_json::to_string(ownership).unwrap_or_default())
        };
        query
            .execute(&self.pool)
            .await
            .map_err(self.query_err("recording a client file's entries"))?;
        Ok(())
    }
}

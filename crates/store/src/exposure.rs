//! Tailnet exposure: which servers are reachable over the tailnet, and by whom (the
//! `exposures` table).
//!
//! Listening on the tailnet and checking each peer is the daemon's tailnet module.

use sqlx::Row;
use switchboard_model::api::Exposure;
use switchboard_model::{ServerName, now_millis};

use super::{Store, StoreError};

impl Store {
    /// Exposes `server` on the tailnet to its owner and `to`, replacing what it had.
    pub async fn set_exposure(&self, exposure: &Exposure) -> Result<(), StoreError> {
        let audience = serde_json::to_string(&exposure.to).unwrap_or_else(|_| "[]".into());
        let result = sqlx::query(
            "INSERT INTO exposures (server, audience, updated_at_ms) VALUES (?, ?, ?)
             ON CONFLICT (server) DO UPDATE SET audience = excluded.audience, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(exposure.server.as_str())
        .bind(audience)
        .bind(now_millis())
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
                Err(StoreError::NotFound(exposure.server.clone()))
            }
            other => other.map(drop).map_err(self.query_err("exposing a server")),
        }
    }

    /// Takes `server` off the tailnet; false if it was not on it.
    pub async fn remove_exposure(&self, server: &ServerName) -> Result<bool, StoreError> {
        let done = sqlx::query("DELETE FROM exposures WHERE server = ?")
            .bind(server.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("unexposing a server"))?;
        Ok(done.rows_affected() > 0)
    }

    pub async fn exposures(&self) -> Result<Vec<Exposure>, StoreError> {
        let rows = sqlx::query("SELECT server, audience FROM exposures ORDER BY server")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("listing exposed servers"))?;
        rows.iter()
            .map(|row| {
                let server: String = row.get("server");
                let audience: String = row.get("audience");
                let corrupt = |source| StoreError::CorruptSpec {
                    server: server.clone(),
                    source,
                };
                Ok(Exposure {
                    server: serde_json::from_value(server.clone().into()).map_err(corrupt)?,
                    to: serde_json::from_str(&audience).map_err(corrupt)?,
                })
            })
            .collect()
    }
}

//! Client tokens: each client's name, the SHA-256 of its token and when it was last used
//! (the `clients` table).
//!
//! Tokens themselves never reach the store; checking a request's token is the gateway's.
//! Which clients are connected, and what is written in their files, is `wiring`'s.

use sqlx::Row;
use switchboard_model::api::TokenView;
use switchboard_model::{UnixMillis, now_millis};

use super::{Store, StoreError};

impl Store {
    pub async fn insert_client(&self, name: &str, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO clients (name, token_sha256, created_at_ms) VALUES (?, ?, ?)")
            .bind(name)
            .bind(token_sha256)
            .bind(now_millis())
            .execute(&self.pool)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(db) if db.is_unique_violation() => {
                    StoreError::ClientExists(name.to_owned())
                }
                _ => StoreError::Query {
                    doing: "issuing a client token",
                    source: e,
                },
            })?;
        Ok(())
    }

    pub async fn remove_client(&self, name: &str) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM clients WHERE name = ?")
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("revoking a client token"))?;
        if done.rows_affected() == 0 {
            return Err(StoreError::ClientNotFound(name.to_owned()));
        }
        Ok(())
    }

    /// Every client with its token hash, for the gateway's in-memory check.
    pub async fn client_hashes(&self) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query("SELECT name, token_sha256 FROM clients")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading client tokens"))?;
        Ok(rows
            .iter()
            .map(|r| (r.get("name"), r.get("token_sha256")))
            .collect())
    }

    pub async fn clients(&self) -> Result<Vec<TokenView>, StoreError> {
        let rows = sqlx::query("SELECT name, created_at_ms, last_used_ms FROM clients ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("listing clients"))?;
        Ok(rows
            .iter()
            .map(|r| TokenView {
                name: r.get("name"),
                created_at_ms: r.get("created_at_ms"),
                last_used_ms: r.get("last_used_ms"),
                profile: None,
                cost: None,
            })
            .collect())
    }

    pub async fn touch_client(&self, name: &str, at_ms: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("UPDATE clients SET last_used_ms = ? WHERE name = ?")
            .bind(at_ms)
            .bind(name)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("recording a client's last use"))?;
        Ok(())
    }
}

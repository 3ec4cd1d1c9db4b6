//! The daemon's own state, apart from any server's: whether every server is paused (the
//! `daemon_state` table, one row).
//!
//! What pausing does (stopping servers, refusing starts) is the daemon's control layer; this
//! module only keeps the flag across restarts.

use super::{Store, StoreError};

impl Store {
    /// Whether the user paused every server.
    pub async fn paused(&self) -> Result<bool, StoreError> {
        let paused: Option<bool> = sqlx::query_scalar("SELECT paused FROM daemon_state WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_err("reading whether servers are paused"))?;
        Ok(paused.unwrap_or(false))
    }

    /// Records that every server is paused (`true`) or not.
    pub async fn set_paused(&self, paused: bool) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO daemon_state (id, paused) VALUES (1, ?)
             ON CONFLICT (id) DO UPDATE SET paused = excluded.paused",
        )
        .bind(paused)
        .execute(&self.pool)
        .await
        .map_err(self.query_err("recording whether servers are paused"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use crate::fixtures::store;

    #[tokio::test]
    async fn paused_survives_reopening_and_resuming_clears_it() {
        let (dir, store) = store().await;
        assert!(!store.paused().await.expect("read"), "a new store is not paused");
        store.set_paused(true).await.expect("pause");
        store.set_paused(true).await.expect("pause again");
        assert!(store.paused().await.expect("read"));
        store.close().await;

        let store = crate::Store::open(&dir.path().join("t.db"))
            .await
            .expect("reopens");
        assert!(store.paused().await.expect("read"), "paused across a restart");
        store.set_paused(false).await.expect("resume");
        assert!(!store.paused().await.expect("read"));
    }
}

//! The client-config journal (the `client_journal` table): one row per file write, grouped
//! into numbered operations; journal first, then write.
//!
//! Before a client's file is touched, its row is committed as `pending` with the ownership
//! the write is to leave, and synced to disk (`synchronous = FULL` for that commit, so not
//! even a power cut loses it). Once the file is written, [`Store::finish_journal`] marks the
//! row `done` and records the new ownership in one transaction. A pending row found later is
//! settled by what the file holds (`client_config::journal`); undo reads the latest operation
//! back ([`Store::last_operation`]). The bytes before and after each write are files, not
//! rows: the daemon's `client_config` keeps them.

use sqlx::Row;
use switchboard_clients::plan::Ownership;
use switchboard_model::UnixMillis;

use super::{Store, StoreError};

/// One file write in the client-config journal. The bytes live in files named by `id`.
#[derive(Clone, Debug, PartialEq)]
pub struct JournalEntry {
    pub id: i64,
    pub operation: i64,
    pub at_ms: UnixMillis,
    pub client: String,
    pub path: String,
    /// `connect`, `disconnect`, `import` or `reapply`.
    pub action: String,
    pub before_sha256: Option<String>,
    pub after_sha256: Option<String>,
    /// What Switchboard owned in the file before the write, restored by undo.
    pub ownership_before: Ownership,
}

/// A journal row not yet known to be written, with the ownership its write is to leave.
#[derive(Clone, Debug, PartialEq)]
pub struct PendingEntry {
    pub entry: JournalEntry,
    pub ownership_after: Ownership,
}

impl Store {
    /// A number for a new journal operation.
    pub async fn next_operation(&self) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(operation), 0) + 1 AS next FROM client_journal")
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_err("numbering a journal entry"))?;
        Ok(row.get("next"))
    }

    /// The files of the latest operation not yet undone (of one client, or of any), as far
    /// as they were written (`done`).
    pub async fn last_operation(&self, client: Option<&str>) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM client_journal WHERE state = 'done' AND operation = (\
               SELECT MAX(operation) FROM client_journal \
               WHERE undone = 0 AND state = 'done' AND (?1 IS NULL OR client = ?1)\
             ) ORDER BY id",
        )
        .bind(client)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading the journal"))?;
        Ok(rows.iter().map(journal_entry).collect())
    }

    /// The files of `operation` as written (`done`), unless it was undone.
    pub async fn operation(&self, operation: i64) -> Result<Vec<JournalEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM client_journal WHERE state = 'done' AND undone = 0 AND operation = ? ORDER BY id",
        )
        .bind(operation)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading the journal"))?;
        Ok(rows.iter().map(journal_entry).collect())
    }

    pub async fn mark_undone(&self, operation: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE client_journal SET undone = 1 WHERE operation = ?")
            .bind(operation)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("marking a journal entry undone"))?;
        Ok(())
    }

    /// Journals a write about to happen; returns the row's id (which names its byte files).
    /// The row is on disk when this returns.
    pub async fn journal_pending(
        &self,
        entry: &JournalEntry,
        ownership_after: &Ownership,
    ) -> Result<i64, StoreError> {
        let doing = "journaling a client file write";
        let mut conn = self.pool.acquire().await.map_err(self.query_err(doing))?;
        sqlx::query("PRAGMA synchronous = FULL")
            .execute(&mut *conn)
            .await
            .map_err(self.query_err(doing))?;
        let done = sqlx::query(
            "INSERT INTO client_journal (operation, at_ms, client, path, action, before_sha256, \
             after_sha256, ownership_before, ownership_after, state) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending')",
        )
        .bind(entry.operation)
        .bind(entry.at_ms)
        .bind(&entry.client)
        .bind(&entry.path)
        .bind(&entry.action)
        .bind(&entry.before_sha256)
        .bind(&entry.after_sha256)
        .bind(serde_json::to_string(&entry.ownership_before).unwrap_or_default())
        .bind(serde_json::to_string(ownership_after).unwrap_or_default())
        .execute(&mut *conn)
        .await;
        // Back to the pool's setting; a connection left at FULL is only slower.
        let _ = sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(&mut *conn)
            .await;
        Ok(done.map_err(self.query_err(doing))?.last_insert_rowid())
    }

    /// The write of row `id` happened: the row is done and the file's ownership recorded.
    pub async fn finish_journal(&self, id: i64) -> Result<(), StoreError> {
        let doing = "recording a client file write as done";
        let mut tx = self.pool.begin().await.map_err(self.query_err(doing))?;
        // A write first: a transaction that reads first would have to upgrade to a writer, and
        // that fails at once ("database is locked") when another connection wrote meanwhile.
        let row = sqlx::query(
            "UPDATE client_journal SET state = 'done' WHERE id = ? RETURNING client, path, ownership_after",
        )
        .bind(id)
        .fetch_one(&mut *tx)
        .await
        .map_err(self.query_err(doing))?;
        let (client, path): (String, String) = (row.get("client"), row.get("path"));
        let ownership: Option<String> = row.get("ownership_after");
        let ownership: Ownership = ownership
            .and_then(|o| serde_json::from_str(&o).ok())
            .unwrap_or_default();
        let query = if ownership == Ownership::default() {
            sqlx::query("DELETE FROM client_files WHERE client = ? AND path = ?")
                .bind(&client)
                .bind(&path)
        } else {
            sqlx::query(
                "INSERT INTO client_files (client, path, ownership) VALUES (?, ?, ?) \
                 ON CONFLICT (client, path) DO UPDATE SET ownership = excluded.ownership",
            )
            .bind(&client)
            .bind(&path)
            .bind(serde_json::to_string(&ownership).unwrap_or_default())
        };
        query.execute(&mut *tx).await.map_err(self.query_err(doing))?;
        tx.commit().await.map_err(self.query_err(doing))?;
        Ok(())
    }

    /// Forgets a pending row whose write did not happen.
    pub async fn drop_journal(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM client_journal WHERE id = ? AND state = 'pending'")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("forgetting a client file write that did not happen"))?;
        Ok(())
    }

    /// A pending row whose file someone else changed: kept, never undone.
    pub async fn mark_journal_drifted(&self, id: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE client_journal SET state = 'drifted' WHERE id = ?")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("recording a client file as changed by another program"))?;
        Ok(())
    }

    /// Every pending row, oldest first.
    pub async fn pending_journal(&self) -> Result<Vec<PendingEntry>, StoreError> {
        let rows = sqlx::query("SELECT * FROM client_journal WHERE state = 'pending' ORDER BY id")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("reading the journal"))?;
        Ok(rows
            .iter()
            .map(|r| {
                let after: Option<String> = r.get("ownership_after");
                PendingEntry {
                    entry: journal_entry(r),
                    ownership_after: after
                        .and_then(|a| serde_json::from_str(&a).ok())
                        .unwrap_or_default(),
                }
            })
            .collect())
    }

    /// Every client file path Switchboard has journaled or owns entries in.
    pub async fn client_paths(&self) -> Result<Vec<String>, StoreError> {
        let rows =
            sqlx::query("SELECT path FROM client_journal UNION SELECT path FROM client_files ORDER BY path")
                .fetch_all(&self.pool)
                .await
                .map_err(self.query_err("reading the journal"))?;
        Ok(rows.iter().map(|r| r.get("path")).collect())
    }
}

/// A journal row as read back; an unreadable ownership reads as owning nothing.
fn journal_entry(row: &sqlx::sqlite::SqliteRow) -> JournalEntry {
    let ownership: String = row.get("ownership_before");
    JournalEntry {
        id: row.get("id"),
        operation: row.get("operation"),
        at_ms: row.get("at_ms"),
        client: row.get("client"),
        path: row.get("path"),
        action: row.get("action"),
        before_sha256: row.get("before_sha256"),
        after_sha256: row.get("after_sha256"),
        ownership_before: serde_json::from_str(&ownership).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_model::now_millis;

    fn entry(path: &str) -> JournalEntry {
        JournalEntry {
            id: 0,
            operation: 1,
            at_ms: now_millis(),
            client: "cursor".into(),
            path: path.into(),
            action: "import".into(),
            before_sha256: None,
            after_sha256: Some("00".into()),
            ownership_before: Ownership::default(),
        }
    }

    /// Finishing reads its row, then writes. As a deferred transaction it began as a reader,
    /// and when another connection committed first the upgrade failed at once with
    /// "database is locked" (SQLITE_BUSY_SNAPSHOT): `clients import` of two clients, in CI.
    #[tokio::test]
    async fn writes_finished_side_by_side_all_land() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).await.expect("opens");
        let owned = Ownership {
            created_file: true,
            ..Ownership::default()
        };
        for round in 0..100 {
            let a = store
                .journal_pending(&entry(&format!("a{round}")), &owned)
                .await
                .expect("a");
            let b = store
                .journal_pending(&entry(&format!("b{round}")), &owned)
                .await
                .expect("b");
            let (a, b) = tokio::join!(store.finish_journal(a), store.finish_journal(b));
            a.expect("the first write is recorded");
            b.expect("the second write is recorded");
        }
        assert_eq!(store.client_paths().await.expect("paths").len(), 200);
        assert!(store.pending_journal().await.expect("pending").is_empty());
    }
}

//! Tool-call history (the `calls` table): written in batches, read newest first, pruned by
//! age and to [`CALLS_KEPT`] rows.
//!
//! Gathering calls into batches, and holding them while the disk is full, is the gateway's.

use sqlx::Row;
use switchboard_model::UnixMillis;
use switchboard_model::api::{CallOutcome, CallRecord};

use super::{Store, StoreError};

/// Tool-call rows kept at most, whatever their age.
const CALLS_KEPT: i64 = 100_000;

impl Store {
    /// Records tool calls in one transaction (the gateway batches them).
    pub async fn insert_calls(&self, calls: &[CallRecord]) -> Result<(), StoreError> {
        // Many rows per statement: each statement is a round trip to SQLite's thread.
        const ROWS_PER_STATEMENT: usize = 500;
        let mut tx = self
            .pool
            .begin()
            .await
            .map_err(self.query_err("recording tool calls"))?;
        for chunk in calls.chunks(ROWS_PER_STATEMENT) {
            let mut insert = sqlx::QueryBuilder::new(
                "INSERT INTO calls (at_ms, client, server, tool, duration_ms, outcome, error,
                 request_bytes, response_bytes, arguments, result) ",
            );
            insert.push_values(chunk, |mut row, call| {
                row.push_bind(call.at_ms)
                    .push_bind(call.client.clone())
                    .push_bind(call.server.clone())
                    .push_bind(call.tool.clone())
                    .push_bind(i64::try_from(call.duration_ms).unwrap_or(i64::MAX))
                    .push_bind(outcome_name(call.outcome))
                    .push_bind(call.error.clone())
                    .push_bind(i64::try_from(call.request_bytes).unwrap_or(i64::MAX))
                    .push_bind(i64::try_from(call.response_bytes).unwrap_or(i64::MAX))
                    .push_bind(call.arguments.as_ref().map(|v| v.to_string()))
                    .push_bind(call.result.as_ref().map(|v| v.to_string()));
            });
            // Not kept as a prepared statement: its text differs with each batch's size, and
            // SQLite's cache would fill with up to a hundred large ones per connection.
            insert
                .build()
                .persistent(false)
                .execute(&mut *tx)
                .await
                .map_err(self.query_err("recording tool calls"))?;
        }
        tx.commit().await.map_err(self.query_err("recording tool calls"))
    }

    /// Deletes calls older than `before_ms`, and the oldest beyond the row cap.
    pub async fn prune_calls(&self, before_ms: UnixMillis) -> Result<u64, StoreError> {
        let old = sqlx::query("DELETE FROM calls WHERE at_ms < ?")
            .bind(before_ms)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("pruning tool-call history"))?;
        let over = sqlx::query("DELETE FROM calls WHERE id <= (SELECT MAX(id) FROM calls) - ?")
            .bind(CALLS_KEPT)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("pruning tool-call history"))?;
        Ok(old.rows_affected() + over.rows_affected())
    }

    /// The newest calls first, optionally for one server or client.
    pub async fn calls(
        &self,
        server: Option<&str>,
        client: Option<&str>,
        limit: u32,
    ) -> Result<Vec<CallRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT * FROM calls WHERE (?1 IS NULL OR server = ?1) AND (?2 IS NULL OR client = ?2)
             ORDER BY id DESC LIMIT ?3",
        )
        .bind(server)
        .bind(client)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading tool-call history"))?;
        let json = |text: Option<String>| text.and_then(|t| serde_json::from_str(&t).ok());
        Ok(rows
            .iter()
            .map(|r| CallRecord {
                id: r.get("id"),
                at_ms: r.get("at_ms"),
                client: r.get("client"),
                server: r.get("server"),
                tool: r.get("tool"),
                duration_ms: u64::try_from(r.get::<i64, _>("duration_ms")).unwrap_or_default(),
                outcome: outcome_from(r.get::<&str, _>("outcome")),
                error: r.get("error"),
                request_bytes: u64::try_from(r.get::<i64, _>("request_bytes")).unwrap_or_default(),
                response_bytes: u64::try_from(r.get::<i64, _>("response_bytes")).unwrap_or_default(),
                arguments: json(r.get("arguments")),
                result: json(r.get("result")),
            })
            .collect())
    }
}

fn outcome_name(outcome: CallOutcome) -> &'static str {
    match outcome {
        CallOutcome::Ok => "ok",
        CallOutcome::ToolError => "tool_error",
        CallOutcome::Error => "error",
        CallOutcome::Cancelled => "cancelled",
    }
}

fn outcome_from(name: &str) -> CallOutcome {
    match name {
        "ok" => CallOutcome::Ok,
        "tool_error" => CallOutcome::ToolError,
        "cancelled" => CallOutcome::Cancelled,
        _ => CallOutcome::Error,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::store;
    use super::*;

    #[tokio::test]
    async fn a_large_batch_of_calls_is_written_whole() {
        let (_dir, store) = store().await;
        let calls: Vec<CallRecord> = (0..1203)
            .map(|i| CallRecord {
                id: 0,
                at_ms: 1_000 + i,
                client: "cursor".into(),
                server: if i % 2 == 0 { "time" } else { "files" }.into(),
                tool: format!("tool-{i}"),
                duration_ms: 3,
                outcome: CallOutcome::Ok,
                error: None,
                request_bytes: 10,
                response_bytes: 20,
                arguments: None,
                result: None,
            })
            .collect();
        store.insert_calls(&calls).await.expect("insert");
        let newest = store.calls(None, None, 10_000).await.expect("read");
        assert_eq!(newest.len(), 1203);
        assert_eq!(newest[0].tool, "tool-1202", "newest first");
        assert_eq!(
            store
                .calls(Some("files"), None, 10_000)
                .await
                .expect("read")
                .len(),
            601
        );
    }
}

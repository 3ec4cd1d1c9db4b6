//! Run history: each spawn of a server (or connection to a remote one), when it was ready,
//! how it ended (the `runs` table).
//!
//! The last 200 runs per server are kept by a trigger (migration 0006), not here. Deciding
//! whether to restart is the supervisor's.

use sqlx::Row;
use switchboard_model::api::RunRecord;
use switchboard_model::{ExitCause, ServerName, UnixMillis, now_millis};

use super::{Store, StoreError};

impl Store {
    /// Records a spawn (or a connection to a remote server) and returns the run's id.
    pub async fn start_run(
        &self,
        server: &ServerName,
        pid: Option<u32>,
        is_restart: bool,
    ) -> Result<i64, StoreError> {
        // Older runs are pruned by a trigger (migration 0006).
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO runs (server, pid, is_restart, started_at_ms) VALUES (?, ?, ?, ?) RETURNING id",
        )
        .bind(server.as_str())
        .bind(pid)
        .bind(is_restart)
        .bind(now_millis())
        .fetch_one(&self.pool)
        .await
        .map_err(self.query_err("recording a server start"))?;
        Ok(id)
    }

    pub async fn run_ready(&self, run: i64, tools: u32) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET ready_at_ms = ?, tools = ? WHERE id = ?")
            .bind(now_millis())
            .bind(tools)
            .bind(run)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("recording a server ready"))?;
        Ok(())
    }

    pub async fn end_run(&self, run: i64, exit: &ExitCause) -> Result<(), StoreError> {
        self.end_run_at(run, exit, now_millis()).await
    }

    async fn end_run_at(&self, run: i64, exit: &ExitCause, at: UnixMillis) -> Result<(), StoreError> {
        sqlx::query("UPDATE runs SET ended_at_ms = ?, exit = ? WHERE id = ? AND ended_at_ms IS NULL")
            .bind(at)
            .bind(serde_json::to_string(exit).unwrap_or_default())
            .bind(run)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("recording a server exit"))?;
        Ok(())
    }

    /// Closes runs a previous daemon left open when it died.
    pub async fn close_orphaned_runs(&self) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE runs SET ended_at_ms = ?, exit = ? WHERE ended_at_ms IS NULL")
            .bind(now_millis())
            .bind(serde_json::to_string(&ExitCause::DaemonLost).unwrap_or_default())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("closing runs of a lost daemon"))?;
        Ok(done.rows_affected())
    }

    /// The newest runs of a server, newest first.
    pub async fn runs(&self, server: &ServerName, limit: u32) -> Result<Vec<RunRecord>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, pid, is_restart, started_at_ms, ready_at_ms, tools, ended_at_ms, exit
             FROM runs WHERE server = ? ORDER BY id DESC LIMIT ?",
        )
        .bind(server.as_str())
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading run history"))?;
        Ok(rows
            .iter()
            .map(|row| RunRecord {
                id: row.get("id"),
                pid: row.get("pid"),
                restart: row.get("is_restart"),
                started_at_ms: row.get("started_at_ms"),
                ready_at_ms: row.get("ready_at_ms"),
                tools: row.get("tools"),
                ended_at_ms: row.get("ended_at_ms"),
                exit: row
                    .get::<Option<String>, _>("exit")
                    .and_then(|e| serde_json::from_str(&e).ok()),
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{spec, store};
    use super::*;

    #[tokio::test]
    async fn runs_are_recorded_pruned_and_closed_after_a_lost_daemon() {
        let (_dir, store) = store().await;
        let name = spec("time").name;
        store.insert_server(&spec("time"), true).await.expect("insert");
        let first = store.start_run(&name, Some(10), false).await.expect("run");
        store.run_ready(first, 2).await.expect("ready");
        store
            .end_run(first, &ExitCause::Signaled { signal: 9 })
            .await
            .expect("end");
        let second = store.start_run(&name, Some(11), true).await.expect("run");
        assert_eq!(store.close_orphaned_runs().await.expect("close"), 1);
        let runs = store.runs(&name, 10).await.expect("runs");
        assert_eq!(runs.len(), 2);
        assert_eq!(
            (runs[0].id, runs[0].restart, runs[0].exit.clone()),
            (second, true, Some(ExitCause::DaemonLost))
        );
        assert_eq!(
            (runs[1].tools, runs[1].exit.clone()),
            (Some(2), Some(ExitCause::Signaled { signal: 9 }))
        );

        // As the trigger of migration 0006 keeps.
        const RUNS_KEPT_PER_SERVER: i64 = 200;
        for _ in 0..RUNS_KEPT_PER_SERVER + 5 {
            store.start_run(&name, None, true).await.expect("run");
        }
        let kept = store.runs(&name, 1000).await.expect("runs").len();
        assert_eq!(kept, usize::try_from(RUNS_KEPT_PER_SERVER).expect("small"));
    }
}

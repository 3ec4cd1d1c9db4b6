//! Records the daemon could not write: counted, reported, and written later when it can.
//!
//! When the disk is full, the tool-call history and the run records are what the daemon
//! writes on its own, with nobody waiting for an answer; they must not vanish without a word.
//! [`Unwritten`] counts what is waiting to be written and what was given up on, remembers why,
//! and tells watchers (the control API's `status`, a `records_unwritten` event) when that
//! changes. Keeping the waiting records and retrying is their writers' (the gateway's history).

use parking_lot::Mutex;

use switchboard_model::api::UnwrittenRecords;
use tokio::sync::broadcast;

/// Whether `error` is SQLite saying the disk is full (SQLITE_FULL; SQLite reports ENOSPC so).
pub fn is_disk_full(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db
            .code()
            .and_then(|c| c.parse::<i64>().ok())
            .is_some_and(|c| c & 0xff == 13),
        sqlx::Error::Io(io) => io.kind() == std::io::ErrorKind::StorageFull,
        _ => false,
    }
}

/// Whether a connection going back to the pool may be kept. A write that fails for space
/// can leave its transaction open (SQLite keeps it for a retry, or an errored statement holds
/// it); kept, that connection would hold the write lock, so every later write would fail
/// with "database is locked" even after space returns. Such a transaction is rolled back and
/// the connection replaced.
pub async fn no_transaction_left(connection: &mut sqlx::SqliteConnection) -> Result<bool, sqlx::Error> {
    match sqlx::query("ROLLBACK").execute(&mut *connection).await {
        Err(sqlx::Error::Database(e)) if e.message().contains("no transaction is active") => Ok(true),
        Ok(_) => {
            tracing::warn!("a database connection was left in a transaction; rolled back and replaced");
            Ok(false)
        }
        Err(e) => Err(e),
    }
}

/// How many changes a slow watcher may fall behind before it misses some.
const CHANGES_KEPT: usize = 64;

#[derive(Debug)]
pub struct Unwritten {
    /// Held while updated, so counts add up however many writers fail at once.
    now: Mutex<UnwrittenRecords>,
    /// Every change, in order: a disk that fills and frees in a moment is still said (a
    /// channel that keeps only the latest value would let the failure pass unseen).
    changes: broadcast::Sender<UnwrittenRecords>,
}

impl Default for Unwritten {
    fn default() -> Self {
        Self {
            now: Mutex::new(UnwrittenRecords::default()),
            changes: broadcast::Sender::new(CHANGES_KEPT),
        }
    }
}

impl Unwritten {
    fn change(&self, edit: impl FnOnce(&mut UnwrittenRecords)) {
        let mut records = self.now.lock();
        let before = records.clone();
        edit(&mut records);
        if *records != before {
            let _ = self.changes.send(records.clone());
        }
    }

    /// `waiting` tool calls are kept to be written later, `lost` were dropped, because of
    /// `problem`.
    pub fn calls_held(&self, waiting: u64, lost: u64, problem: &str) {
        self.change(|r| {
            r.calls_waiting = waiting;
            r.calls_lost += lost;
            r.problem = Some(problem.to_owned());
        });
    }

    /// A run record (a start or an exit) could not be written, because of `problem`.
    pub fn run_lost(&self, problem: &str) {
        self.change(|r| {
            r.runs_lost += 1;
            r.problem = Some(problem.to_owned());
        });
    }

    /// A run record was written: writing works again, unless calls still wait.
    pub fn run_written(&self) {
        self.change(|r| {
            if r.calls_waiting == 0 {
                r.problem = None;
            }
        });
    }

    /// Everything waiting was written: writing works again.
    pub fn resumed(&self) {
        self.change(|r| {
            r.calls_waiting = 0;
            r.problem = None;
        });
    }

    pub fn snapshot(&self) -> UnwrittenRecords {
        self.now.lock().clone()
    }

    /// Each change from now on, in order.
    pub fn changes(&self) -> broadcast::Receiver<UnwrittenRecords> {
        self.changes.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run record lost and the next one written at once: a watcher that keeps only the
    /// latest value would see nothing go wrong, and the loss would never be said.
    #[test]
    fn a_failure_cleared_at_once_is_still_seen_with_its_cause() {
        let unwritten = Unwritten::default();
        let mut changes = unwritten.changes();
        unwritten.run_lost("database or disk is full");
        unwritten.run_written();
        let failed = changes.try_recv().expect("the failure");
        assert_eq!(failed.problem.as_deref(), Some("database or disk is full"));
        assert_eq!(failed.runs_lost, 1);
        let resumed = changes.try_recv().expect("the recovery");
        assert_eq!((resumed.problem, resumed.runs_lost), (None, 1));
    }
}

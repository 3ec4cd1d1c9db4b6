//! Persistence: server specs, desired state and run history in SQLite, through sqlx.
//!
//! The [`Store`] is the only code that speaks SQL. Migrations are embedded from
//! `migrations/` and run on open. Rows are converted to model types here, at the boundary;
//! callers never see JSON columns. Secret values never reach this module (specs hold
//! references only).

mod client_journal;
mod durability;
mod unwritten;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlitePool};
use switchboard_clients::plan::Ownership;
use switchboard_model::api::{CallOutcome, CallRecord, Exposure, RunRecord, TokenView, Wiring};
use switchboard_model::{ExitCause, ServerName, ServerSpec, UnixMillis, now_millis};

pub use client_journal::PendingEntry;
pub use durability::{backup_dir, keep as keep_durable, latest_backup};
pub use unwritten::Unwritten;

/// Tool-call rows kept at most, whatever their age.
const CALLS_KEPT: i64 = 100_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error(
        "cannot open the database {path}: {source}; check the data directory's permissions and free space"
    )]
    Open { path: String, source: sqlx::Error },
    #[error("cannot upgrade the database schema: {0}; a newer Switchboard may have written it")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("a server named {0} already exists; pick another name or remove it first")]
    Exists(ServerName),
    #[error("no server named {0}; `switchboard ls` lists them")]
    NotFound(ServerName),
    #[error("database error while {doing}: {source}")]
    Query {
        doing: &'static str,
        source: sqlx::Error,
    },
    #[error("a client named {0} already has a token; revoke it first or pick another name")]
    ClientExists(String),
    #[error("no client named {0}; `switchboard token ls` lists them")]
    ClientNotFound(String),
    #[error(
        "the cached registry entry {name} is unreadable ({source}); `switchboard search --refresh` reads it again"
    )]
    CorruptCache { name: String, source: serde_json::Error },
    #[error("the stored spec of server {server} is unreadable ({source}); remove and re-add it")]
    CorruptSpec {
        server: String,
        source: serde_json::Error,
    },
    #[error("{}", damaged_message(path, detail, backup.as_deref()))]
    Damaged {
        path: PathBuf,
        detail: String,
        backup: Option<PathBuf>,
    },
    #[error(
        "the database is damaged ({source}) while {doing}; stop the daemon (`switchboard quit`): \
         at its next start it checks switchboard.db and says how to restore the newest backup"
    )]
    DamagedWhile {
        doing: &'static str,
        source: sqlx::Error,
    },
    #[error(
        "cannot back up the database into {dir}: {source}; check that directory's permissions and free space"
    )]
    Backup { dir: PathBuf, source: sqlx::Error },
    #[error(
        "the disk holding {} is full, so Switchboard could not finish {doing}; nothing else was \
         changed: free some space on that disk (`df -h` shows how much is left) and try again",
        path.display()
    )]
    DiskFull { path: PathBuf, doing: &'static str },
}

fn damaged_message(path: &Path, detail: &str, backup: Option<&Path>) -> String {
    let path = path.display();
    let restore = match backup {
        Some(backup) => format!(
            "restore the newest automatic backup: move {path} (and its -wal and -shm files, if \
             any) aside, then copy {} to {path}; or ",
            backup.display()
        ),
        None => String::new(),
    };
    format!(
        "the database {path} is damaged ({detail}), so the daemon did not start, and changed \
         nothing. To go on, {restore}start with an empty database: move {path} and its -wal and \
         -shm files aside (keep them: they may be recoverable with `sqlite3 .recover`)"
    )
}

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

/// A server as stored: spec plus desired state.
#[derive(Clone, Debug, PartialEq)]
pub struct StoredServer {
    pub spec: ServerSpec,
    pub enabled: bool,
}

#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    path: Arc<Path>,
    unwritten: Arc<Unwritten>,
}

/// Creates the database file readable by its owner only, if it does not exist: SQLite gives
/// its write-ahead log and shared-memory files the database file's mode.
fn create_private(path: &Path) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path).map(drop)
}

/// What a failed query while `doing` means for the user: a full disk (which file, what to do),
/// a damaged database, or another database error.
fn classify(path: &Path, doing: &'static str, source: sqlx::Error) -> StoreError {
    if durability::is_damage(&source) {
        StoreError::DamagedWhile { doing, source }
    } else if unwritten::is_disk_full(&source) {
        StoreError::DiskFull {
            path: path.to_owned(),
            doing,
        }
    } else {
        StoreError::Query { doing, source }
    }
}

impl Store {
    /// The error mapping for a query while `doing` (see [`classify`]).
    fn query_err(&self, doing: &'static str) -> impl FnOnce(sqlx::Error) -> StoreError + use<> {
        let path = Arc::clone(&self.path);
        move |source| classify(&path, doing, source)
    }

    /// A transaction that holds the write lock from its first statement.
    ///
    /// SQLite's default (deferred) transaction starts as a reader; if another
    /// connection writes before it upgrades, the upgrade fails at once with
    /// `SQLITE_BUSY_SNAPSHOT` and the busy timeout cannot help. Taking the lock
    /// up front makes a writer wait its turn instead.
    async fn write_tx(
        &self,
        doing: &'static str,
    ) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(self.query_err(doing))
    }

    /// Records this store could not write, for `switchboard status`.
    pub fn unwritten(&self) -> &Arc<Unwritten> {
        &self.unwritten
    }

    /// Opens the database at `path` (creating it if missing), refusing a damaged one, and
    /// brings its schema up to date.
    pub async fn open(path: &Path) -> Result<Self, StoreError> {
        let display = path.display().to_string();
        durability::check_before_open(path)?;
        create_private(path).map_err(|source| StoreError::Open {
            path: display.clone(),
            source: sqlx::Error::Io(source),
        })?;
        // From the path itself: as a URL, `?`, `#` or `%` in a directory name would be parsed.
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // With a write-ahead log this survives the daemon being killed at any point; only
            // an OS crash or power loss can undo the last commits, never corrupt the file.
            // `Full` would wait on the disk at every commit, and a crash-looping server commits
            // its runs many times a second.
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true);
        // Few writers, all in this process: a small pool keeps memory low.
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .after_release(|connection, _| Box::pin(unwritten::no_transaction_left(connection)))
            .connect_with(options)
            .await
            .map_err(|source| match durability::is_damage(&source) {
                true => durability::damaged(path, &source.to_string(), latest_backup(&backup_dir(path))),
                false => StoreError::Open {
                    path: display,
                    source,
                },
            })?;
        let store = Self {
            pool,
            path: Arc::from(path),
            unwritten: Arc::default(),
        };
        store.check_integrity().await?;
        sqlx::migrate!("./migrations").run(&store.pool).await?;
        // The schema lives in the database file itself from the start, not only in its log.
        store.checkpoint().await?;
        Ok(store)
    }

    /// Folds the log into the file and closes every connection: after this the database file
    /// alone holds everything. For a clean shutdown.
    pub async fn close(&self) {
        if let Err(e) = self.checkpoint().await {
            tracing::warn!("{e}");
        }
        self.pool.close().await;
    }

    pub async fn insert_server(&self, spec: &ServerSpec, enabled: bool) -> Result<(), StoreError> {
        let now = now_millis();
        let result = sqlx::query(
            "INSERT INTO servers (name, spec, enabled, created_at_ms, updated_at_ms) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(spec.name.as_str())
        .bind(encode_spec(spec))
        .bind(enabled)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await;
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Exists(spec.name.clone()))
            }
            other => other.map(drop).map_err(self.query_err("adding a server")),
        }
    }

    pub async fn update_spec(&self, spec: &ServerSpec) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE servers SET spec = ?, updated_at_ms = ? WHERE name = ?")
            .bind(encode_spec(spec))
            .bind(now_millis())
            .bind(spec.name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("updating a server"))?;
        found(done.rows_affected(), &spec.name)
    }

    pub async fn set_enabled(&self, name: &ServerName, enabled: bool) -> Result<(), StoreError> {
        let done = sqlx::query("UPDATE servers SET enabled = ?, updated_at_ms = ? WHERE name = ?")
            .bind(enabled)
            .bind(now_millis())
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("enabling or disabling a server"))?;
        found(done.rows_affected(), name)
    }

    pub async fn remove_server(&self, name: &ServerName) -> Result<(), StoreError> {
        let done = sqlx::query("DELETE FROM servers WHERE name = ?")
            .bind(name.as_str())
            .execute(&self.pool)
            .await
            .map_err(self.query_err("removing a server"))?;
        found(done.rows_affected(), name)
    }

    pub async fn servers(&self) -> Result<Vec<StoredServer>, StoreError> {
        let rows = sqlx::query("SELECT name, spec, enabled FROM servers ORDER BY name")
            .fetch_all(&self.pool)
            .await
            .map_err(self.query_err("listing servers"))?;
        rows.iter()
            .map(|row| {
                let name: String = row.get("name");
                let spec: String = row.get("spec");
                Ok(StoredServer {
                    spec: decode_spec(&name, &spec)?,
                    enabled: row.get("enabled"),
                })
            })
            .collect()
    }

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
        Ok(rows
            .iter()
            .map(|r| {
                let ownership: String = r.get("ownership_before");
                JournalEntry {
                    id: r.get("id"),
                    operation: r.get("operation"),
                    at_ms: r.get("at_ms"),
                    client: r.get("client"),
                    path: r.get("path"),
                    action: r.get("action"),
                    before_sha256: r.get("before_sha256"),
                    after_sha256: r.get("after_sha256"),
                    ownership_before: serde_json::from_str(&ownership).unwrap_or_default(),
                }
            })
            .collect())
    }

    pub async fn mark_undone(&self, operation: i64) -> Result<(), StoreError> {
        sqlx::query("UPDATE client_journal SET undone = 1 WHERE operation = ?")
            .bind(operation)
            .execute(&self.pool)
            .await
            .map_err(self.query_err("marking a journal entry undone"))?;
        Ok(())
    }

    /// Records tool calls in one transaction (the gateway batches them).
    pub async fn insert_calls(&self, calls: &[CallRecord]) -> Result<(), StoreError> {
        // Many rows per statement: each statement is a round trip to SQLite's thread.
        const ROWS_PER_STATEMENT: usize = 500;
        let mut tx = self.write_tx("recording tool calls").await?;
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

fn found(rows: u64, name: &ServerName) -> Result<(), StoreError> {
    if rows == 0 {
        Err(StoreError::NotFound(name.clone()))
    } else {
        Ok(())
    }
}

/// The spec column holds everything but the name, which is the primary key.
fn encode_spec(spec: &ServerSpec) -> String {
    let mut value = serde_json::to_value(spec).unwrap_or_default();
    if let Some(object) = value.as_object_mut() {
        object.remove("name");
    }
    value.to_string()
}

fn decode_spec(name: &str, column: &str) -> Result<ServerSpec, StoreError> {
    let corrupt = |source| StoreError::CorruptSpec {
        server: name.to_owned(),
        source,
    };
    let mut value: serde_json::Value = serde_json::from_str(column).map_err(corrupt)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("name".into(), name.into());
    }
    serde_json::from_value(value).map_err(corrupt)
}

/// One server version as cached from a registry.
#[derive(Clone, Debug, PartialEq)]
pub struct CachedVersion {
    pub name: String,
    pub version: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    pub is_latest: bool,
    pub published_at: Option<String>,
    pub updated_at: Option<String>,
    pub document: serde_json::Value,
}

/// The latest cached version of each name first; a name none marks latest falls back to its
/// newest publication.
const LATEST_PER_NAME: &str =
    "SELECT name, version, status, is_latest, published_at, updated_at, document FROM (
        SELECT *, ROW_NUMBER() OVER (
            PARTITION BY name ORDER BY is_latest DESC, published_at DESC, version DESC
        ) AS rank
        FROM registry_versions WHERE registry = ?1
    ) WHERE rank = 1";

impl Store {
    /// Records `versions` of `registry`; one marked latest unmarks the others of its name.
    pub async fn cache_versions(&self, registry: &str, versions: &[CachedVersion]) -> Result<(), StoreError> {
        let mut tx = self.write_tx("caching registry versions").await?;
        for v in versions {
            if v.is_latest {
                sqlx::query("UPDATE registry_versions SET is_latest = 0 WHERE registry = ? AND name = ?")
                    .bind(registry)
                    .bind(&v.name)
                    .execute(&mut *tx)
                    .await
                    .map_err(self.query_err("caching registry versions"))?;
            }
            sqlx::query(
                "INSERT INTO registry_versions
                    (registry, name, version, status, is_latest, published_at, updated_at, document)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (registry, name, version) DO UPDATE SET
                    status = excluded.status, is_latest = excluded.is_latest,
                    published_at = excluded.published_at, updated_at = excluded.updated_at,
                    document = excluded.document",
            )
            .bind(registry)
            .bind(&v.name)
            .bind(&v.version)
            .bind(&v.status)
            .bind(v.is_latest)
            .bind(&v.published_at)
            .bind(&v.updated_at)
            .bind(v.document.to_string())
            .execute(&mut *tx)
            .await
            .map_err(self.query_err("caching registry versions"))?;
        }
        tx.commit()
            .await
            .map_err(self.query_err("caching registry versions"))
    }

    /// The latest version of each cached server whose name, title or description holds `term`.
    pub async fn search_cache(
        &self,
        registry: &str,
        term: &str,
        limit: u32,
    ) -> Result<Vec<CachedVersion>, StoreError> {
        let pattern = format!(
            "%{}%",
            term.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
        );
        // Built from constants only; the term is bound.
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{LATEST_PER_NAME} AND status != 'deleted' AND (name LIKE ?2 ESCAPE '\\'
                OR json_extract(document, '$.title') LIKE ?2 ESCAPE '\\'
                OR json_extract(document, '$.description') LIKE ?2 ESCAPE '\\')
             ORDER BY name LIMIT ?3"
        )))
        .bind(registry)
        .bind(pattern)
        .bind(limit)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("searching the registry cache"))?;
        rows.iter().map(cached_version).collect()
    }

    /// Every cached version of `name`, newest first.
    pub async fn cached_versions(
        &self,
        registry: &str,
        name: &str,
    ) -> Result<Vec<CachedVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, version, status, is_latest, published_at, updated_at, document
             FROM registry_versions WHERE registry = ? AND name = ?
             ORDER BY published_at DESC, version DESC",
        )
        .bind(registry)
        .bind(name)
        .fetch_all(&self.pool)
        .await
        .map_err(self.query_err("reading cached registry versions"))?;
        rows.iter().map(cached_version).collect()
    }

    /// When `registry` was last read, and the newest `updatedAt` seen then.
    pub async fn registry_sync(
        &self,
        registry: &str,
    ) -> Result<Option<(UnixMillis, Option<String>)>, StoreError> {
        let row = sqlx::query("SELECT synced_at_ms, updated_since FROM registry_syncs WHERE registry = ?")
            .bind(registry)
            .fetch_optional(&self.pool)
            .await
            .map_err(self.query_err("reading the registry sync time"))?;
        Ok(row.map(|row| (row.get("synced_at_ms"), row.get("updated_since"))))
    }

    pub async fn set_registry_sync(
        &self,
        registry: &str,
        at_ms: UnixMillis,
        updated_since: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO registry_syncs (registry, synced_at_ms, updated_since) VALUES (?, ?, ?)
             ON CONFLICT (registry) DO UPDATE SET synced_at_ms = excluded.synced_at_ms,
                updated_since = COALESCE(excluded.updated_since, registry_syncs.updated_since)",
        )
        .bind(registry)
        .bind(at_ms)
        .bind(updated_since)
        .execute(&self.pool)
        .await
        .map_err(self.query_err("recording the registry sync time"))?;
        Ok(())
    }

    pub async fn cached_count(&self, registry: &str) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM registry_versions WHERE registry = ?")
            .bind(registry)
            .fetch_one(&self.pool)
            .await
            .map_err(self.query_err("counting cached registry versions"))?;
        Ok(u64::try_from(count).unwrap_or(0))
    }

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

fn cached_version(row: &sqlx::sqlite::SqliteRow) -> Result<CachedVersion, StoreError> {
    let name: String = row.get("name");
    let document: String = row.get("document");
    Ok(CachedVersion {
        document: serde_json::from_str(&document).map_err(|source| StoreError::CorruptCache {
            name: name.clone(),
            source,
        })?,
        name,
        version: row.get("version"),
        status: row.get("status"),
        is_latest: row.get("is_latest"),
        published_at: row.get("published_at"),
        updated_at: row.get("updated_at"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use switchboard_model::{Launch, RestartPolicy, Transport};

    fn spec(name: &str) -> ServerSpec {
        ServerSpec {
            name: ServerName::new(name).expect("valid"),
            transport: Transport::Stdio(Launch {
                command: "uvx".into(),
                args: vec!["mcp-server-time".into()],
                cwd: None,
                env: Default::default(),
            }),
            restart: RestartPolicy::Always,
            health: Default::default(),
            sharing: Default::default(),
            origin: None,
        }
    }

    async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).await.expect("opens");
        (dir, store)
    }

    /// The path was formatted into a `sqlite://` URL, so `?` started its query and `#` its
    /// fragment: the database went to another file, or the options were refused.
    #[tokio::test]
    async fn a_data_directory_named_with_url_characters_holds_the_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let odd = dir.path().join("a?mode=ro#b%20c");
        std::fs::create_dir(&odd).expect("mkdir");
        let path = odd.join("switchboard.db");
        let store = Store::open(&path).await.expect("opens");
        store.insert_server(&spec("time"), true).await.expect("writes");
        drop(store);
        let store = Store::open(&path).await.expect("opens again");
        assert_eq!(store.servers().await.expect("reads").len(), 1);
        assert_eq!(
            std::fs::read_dir(dir.path()).expect("ls").count(),
            1,
            "nothing beside it"
        );
    }

    /// SQLite gives its -wal and -shm files the database file's mode; a database created by
    /// SQLite itself was 0644, and a literal `--env` value was read from the WAL by another user.
    #[cfg(unix)]
    #[tokio::test]
    async fn the_database_and_its_journals_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let (dir, store) = store().await;
        store.insert_server(&spec("time"), true).await.expect("writes");
        for name in ["t.db", "t.db-wal", "t.db-shm"] {
            let mode = std::fs::metadata(dir.path().join(name))
                .expect(name)
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{name}: {mode:o}");
        }
    }

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

    #[tokio::test]
    async fn servers_round_trip_and_duplicates_are_refused() {
        let (_dir, store) = store().await;
        store.insert_server(&spec("time"), true).await.expect("insert");
        let err = store
            .insert_server(&spec("time"), false)
            .await
            .expect_err("duplicate");
        assert!(matches!(err, StoreError::Exists(_)), "{err:?}");
        store
            .set_enabled(&spec("time").name, false)
            .await
            .expect("disable");
        assert_eq!(
            store.servers().await.expect("list"),
            vec![StoredServer {
                spec: spec("time"),
                enabled: false
            }]
        );
        let missing = store
            .remove_server(&spec("nope").name)
            .await
            .expect_err("missing");
        assert!(matches!(missing, StoreError::NotFound(_)));
    }

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

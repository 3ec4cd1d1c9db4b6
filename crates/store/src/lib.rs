//! The Switchboard daemon's persistence: server specs, desired state, run history, client
//! tokens and files, tool-call history, the registry cache and tailnet exposure, in SQLite
//! through sqlx.
//!
//! The [`Store`] is the only code that speaks SQL. Migrations are embedded from
//! `migrations/` and run on open. Rows are converted to model types here, at the boundary;
//! callers never see JSON columns. Secret values never reach this crate (specs hold
//! references only). Nothing here knows the daemon: what to write, and when, is its callers'.
//!
//! This file opens and closes the store and maps its errors; each table's queries are in the
//! module named for it: `servers`, `runs`, `clients` (tokens), `wiring` (connected clients and
//! the entries owned in their files), `client_journal`, `calls`, `registry` (the cache),
//! `exposure` and `daemon_state` (whether every server is paused). `durability` keeps the
//! file sound and backed up, `unwritten` counts what a full disk kept out.

mod calls;
mod client_journal;
mod clients;
mod daemon_state;
mod durability;
mod exposure;
mod kept;
mod profiles;
mod quarantine;
mod registry;
mod runs;
mod servers;
mod unwritten;
mod wiring;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use switchboard_model::ServerName;

pub use client_journal::{JournalEntry, PendingEntry};
pub use durability::{backup_dir, keep as keep_durable, latest_backup};
pub use kept::KeptLists;
pub use quarantine::{Approval, Screened};
pub use registry::CachedVersion;
pub use servers::StoredServer;
pub use unwritten::Unwritten;

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
    #[error(
        "the stored profile {name} is unreadable ({source}); set it again with `switchboard profile set {name} ...`"
    )]
    CorruptProfile { name: String, source: serde_json::Error },
    #[error(
        "the approved definition of tool {tool} of server {server} is unreadable ({source}); approve it again with `switchboard quarantine approve {server} {tool}`"
    )]
    CorruptApproval {
        server: String,
        tool: String,
        source: serde_json::Error,
    },
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
}

#[cfg(test)]
mod fixtures {
    use super::Store;
    use switchboard_model::{Launch, RestartPolicy, ServerName, ServerSpec, Transport};

    pub(super) fn spec(name: &str) -> ServerSpec {
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
            protocol: Default::default(),
            start: Default::default(),
            origin: None,
        }
    }

    pub(super) async fn store() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("t.db")).await.expect("opens");
        (dir, store)
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::{spec, store};
    use super::*;

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
}

//! Keeping the store one file that can be backed up, and never starting on a damaged one.
//!
//! The write-ahead log is folded into the database file after opening, every few minutes and
//! on a clean shutdown ([`Store::checkpoint`]), so the `.db` file alone holds everything (a
//! backup or sync tool that copies only it loses nothing after a quit). At start the file is
//! checked ([`check_before_open`], then `PRAGMA quick_check`); a damaged or emptied database
//! is refused with its path, the newest automatic backup and the two ways out, and nothing is
//! written to it. Backups are SQLite's own consistent copies (`VACUUM INTO`), a few kept in
//! `backups/` beside the database. What the tables hold is the rest of the store's.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use switchboard_model::UnixMillis;
use switchboard_model::api::StoreCheck;

use super::{Store, StoreError};

/// Automatic backups kept; older ones are removed when a new one is taken.
pub const BACKUPS_KEPT: usize = 3;
/// How often a running daemon takes a backup (one is also taken at every start).
pub const BACKUP_EVERY: Duration = Duration::from_secs(24 * 3600);
/// How often a running daemon folds the write-ahead log into the database file.
pub const CHECKPOINT_EVERY: Duration = Duration::from_secs(5 * 60);

const BACKUP_PREFIX: &str = "switchboard-";
const BACKUP_SUFFIX: &str = ".db";

/// The directory the backups of the database at `database` go to.
pub fn backup_dir(database: &Path) -> PathBuf {
    database.with_file_name("backups")
}

/// The newest backup in `dir` and when it was taken.
pub fn latest_backup(dir: &Path) -> Option<(PathBuf, SystemTime)> {
    backups(dir).into_iter().next_back()
}

/// Backups in `dir`, oldest first (their names sort by the time they were taken).
fn backups(dir: &Path) -> Vec<(PathBuf, SystemTime)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut found: Vec<(PathBuf, SystemTime)> = entries
        .flatten()
        .filter(|e| {
            let name = e.file_name();
            let name = name.to_string_lossy();
            name.starts_with(BACKUP_PREFIX) && name.ends_with(BACKUP_SUFFIX)
        })
        .filter_map(|e| Some((e.path(), e.metadata().ok()?.modified().ok()?)))
        .collect();
    found.sort();
    found
}

/// Refuses a database file that exists but is empty while backups of it exist: SQLite would
/// take it for a new database, and the daemon would start with nothing. Call before opening.
pub fn check_before_open(database: &Path) -> Result<(), StoreError> {
    let emptied = std::fs::metadata(database).is_ok_and(|m| m.len() == 0);
    if emptied && let Some(backup) = latest_backup(&backup_dir(database)) {
        return Err(damaged(database, "the file is empty", Some(backup)));
    }
    Ok(())
}

/// The error for a damaged database, with the way out.
pub fn damaged(database: &Path, detail: &str, backup: Option<(PathBuf, SystemTime)>) -> StoreError {
    StoreError::Damaged {
        path: database.to_owned(),
        detail: detail.to_owned(),
        backup: backup.map(|(path, _)| path),
    }
}

/// Whether `error` is SQLite saying the file is not a sound database (SQLITE_CORRUPT,
/// SQLITE_NOTADB, or a short read of a truncated file).
pub fn is_damage(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    let code = db.code();
    let primary = code
        .as_deref()
        .and_then(|c| c.parse::<i64>().ok())
        .map(|c| c & 0xff);
    matches!(primary, Some(11 | 26)) || (primary == Some(10) && db.message().contains("short read"))
}

impl Store {
    /// Where the database is and its newest backup, for `switchboard doctor`.
    pub fn check(&self) -> StoreCheck {
        let latest = latest_backup(&backup_dir(&self.path));
        StoreCheck {
            path: self.path.display().to_string(),
            last_backup: latest.as_ref().map(|(path, _)| path.display().to_string()),
            last_backup_ms: latest.and_then(|(_, at)| {
                let since = at.duration_since(SystemTime::UNIX_EPOCH).ok()?;
                UnixMillis::try_from(since.as_millis()).ok()
            }),
        }
    }

    /// `PRAGMA quick_check`: the structure of every table and index is sound.
    pub(super) async fn check_integrity(&self) -> Result<(), StoreError> {
        let rows: Vec<String> = match sqlx::query_scalar("PRAGMA quick_check")
            .fetch_all(&self.pool)
            .await
        {
            Ok(rows) => rows,
            Err(e) if is_damage(&e) => vec![e.to_string()],
            Err(source) => {
                return Err(StoreError::Query {
                    doing: "checking the database",
                    source,
                });
            }
        };
        if rows.len() == 1 && rows[0] == "ok" {
            return Ok(());
        }
        let detail = rows.into_iter().take(3).collect::<Vec<_>>().join("; ");
        Err(damaged(
            &self.path,
            &detail,
            latest_backup(&backup_dir(&self.path)),
        ))
    }

    /// Folds the write-ahead log into the database file and empties it.
    pub async fn checkpoint(&self) -> Result<(), StoreError> {
        sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
            .execute(&self.pool)
            .await
            .map_err(|source| StoreError::Query {
                doing: "folding the write-ahead log into the database",
                source,
            })?;
        Ok(())
    }

    /// Takes a consistent copy of the database into `backups/` (written under a temporary
    /// name, then renamed, so a backup is whole or absent) and keeps the newest
    /// [`BACKUPS_KEPT`].
    pub async fn back_up(&self) -> Result<PathBuf, StoreError> {
        let dir = backup_dir(&self.path);
        let failed = |source: std::io::Error| StoreError::Backup {
            dir: dir.clone(),
            source: sqlx::Error::Io(source),
        };
        std::fs::create_dir_all(&dir).map_err(failed)?;
        let taken = switchboard_model::now_millis();
        let path = dir.join(format!("{BACKUP_PREFIX}{taken:016}{BACKUP_SUFFIX}"));
        let partial = path.with_extension("partial");
        let _ = std::fs::remove_file(&partial);
        sqlx::query("VACUUM INTO ?")
            .bind(partial.to_string_lossy().into_owned())
            .execute(&self.pool)
            .await
            .map_err(|source| StoreError::Backup {
                dir: dir.clone(),
                source,
            })?;
        std::fs::rename(&partial, &path).map_err(failed)?;
        let all = backups(&dir);
        for (old, _) in all.iter().take(all.len().saturating_sub(BACKUPS_KEPT)) {
            let _ = std::fs::remove_file(old);
        }
        Ok(path)
    }
}

/// Checkpoints every [`CHECKPOINT_EVERY`] and backs up every [`BACKUP_EVERY`] (and once now),
/// for as long as the daemon runs. Failures are logged; the daemon goes on.
pub async fn keep(store: Store) {
    let mut checkpoints = tokio::time::interval(CHECKPOINT_EVERY);
    let mut backups = tokio::time::interval(BACKUP_EVERY);
    loop {
        tokio::select! {
            _ = checkpoints.tick() => {
                if let Err(e) = store.checkpoint().await {
                    tracing::warn!("{e}");
                }
            }
            _ = backups.tick() => match store.back_up().await {
                Ok(path) => tracing::info!("backed up the database to {}", path.display()),
                Err(e) => tracing::warn!("{e}"),
            },
        }
    }
}

//! After a crash: settling the journal's pending rows and removing temporary files.
//!
//! A pending row is a write that may or may not have happened. What the file holds decides:
//! the bytes after (the write happened: the row is done, undoable, and the ownership
//! recorded), the bytes before (it did not: the row and its bytes go), or neither (someone
//! else changed the file: it is left alone, the row is kept as `drifted`, never undone, and
//! Switchboard claims only the entries the file still holds by name, with the hash it wrote,
//! so one edited since is reported as drifted and never overwritten without `--force`). This runs when the daemon starts, before any other operation on client files,
//! and again before each operation (a row left pending by a full disk). Temporary files that a
//! killed writer left beside the files Switchboard knows are removed at start.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_clients::catalog::Client;
use switchboard_clients::plan::{self, Ownership};
use switchboard_clients::{catalog, write};

use super::{ClientConfigError, ClientConfigs, parse, read_file, sha256};

impl ClientConfigs {
    /// Settles every pending journal row; returns the (client, file) pairs someone else changed.
    pub(super) async fn settle_pending(&self) -> Result<Vec<(String, PathBuf)>, ClientConfigError> {
        let store = self.control.store();
        let mut drifted = Vec::new();
        for pending in store.pending_journal().await? {
            let entry = &pending.entry;
            let now = match read_file(Path::new(&entry.path)).await {
                Ok(bytes) => bytes.as_deref().map(sha256),
                Err(e) => {
                    tracing::warn!("cannot settle the interrupted write of {}: {e}", entry.path);
                    continue;
                }
            };
            if now == entry.after_sha256 {
                store.finish_journal(entry.id).await?;
                tracing::info!(
                    "an interrupted {} of {} had written {}; it is recorded and can be undone",
                    entry.action,
                    entry.client,
                    entry.path
                );
            } else if now == entry.before_sha256 {
                self.forget(entry.id).await;
                tracing::info!(
                    "an interrupted {} of {} had not changed {}; it is left as it was",
                    entry.action,
                    entry.client,
                    entry.path
                );
            } else {
                let client = Self::client(&entry.client)?;
                let path = Path::new(&entry.path);
                let bytes = read_file(path).await?;
                let owned = ownership_in(
                    client,
                    path,
                    bytes.as_deref(),
                    &entry.ownership_before,
                    &pending.ownership_after,
                );
                store.mark_journal_drifted(entry.id).await?;
                store.set_ownership(&entry.client, &entry.path, &owned).await?;
                tracing::warn!(
                    "{} was changed by another program during an interrupted {} of {}; it is left \
                     as it is (`switchboard clients` shows what it holds)",
                    entry.path,
                    entry.action,
                    entry.client
                );
                drifted.push((entry.client.clone(), PathBuf::from(&entry.path)));
            }
        }
        Ok(drifted)
    }

    /// Removes the temporary files that writers no longer running left beside every file in
    /// the journal, in the ownership records and of every connected client.
    async fn remove_temps(&self) -> Result<(), ClientConfigError> {
        let store = self.control.store();
        let mut paths: Vec<PathBuf> = store
            .client_paths()
            .await?
            .into_iter()
            .map(PathBuf::from)
            .collect();
        for (id, _) in store.wirings().await? {
            if let Some(client) = catalog::find(&id) {
                paths.extend(client.files(&self.env).into_iter().map(|p| p.to_path_buf()));
            }
        }
        paths.sort();
        paths.dedup();
        let removed = tokio::task::spawn_blocking(move || {
            paths
                .iter()
                .flat_map(|path| write::remove_stale_temps(path, writer_alive))
                .collect::<Vec<_>>()
        })
        .await
        .map_err(|e| ClientConfigError::Task(e.to_string()))?;
        for temp in removed {
            tracing::info!("removed {}, left by an interrupted write", temp.display());
        }
        Ok(())
    }

    /// Brings client files and the journal back to a known state after a crash, before any
    /// other operation on client files runs; then reports what someone else changed.
    pub(super) fn recover(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let held = Arc::clone(&self.busy).try_lock_owned().ok();
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let drifted = match this.settle_pending().await {
                Ok(drifted) => drifted,
                Err(e) => {
                    tracing::warn!("cannot settle interrupted client file writes: {e}");
                    Vec::new()
                }
            };
            if let Err(e) = this.remove_temps().await {
                tracing::warn!("cannot look for temporary files beside client files: {e}");
            }
            drop(held);
            for (client, path) in drifted {
                if let Err(e) = this.check_drift(&client, &path).await {
                    tracing::warn!("cannot check {} for drift: {e}", path.display());
                }
            }
        })
    }
}

/// What Switchboard owns in a file someone else changed during an interrupted write: each
/// entry it had before or was to write that the file still holds by that name, recorded with
/// the hash Switchboard wrote (one that matches, if any), so an entry edited since shows as
/// drifted. Neither the root key nor the file is claimed as created: they are never removed
/// on the strength of a write that may not have happened. A file that cannot be read as
/// config keeps the record from before.
fn ownership_in(
    client: &Client,
    path: &Path,
    bytes: Option<&[u8]>,
    before: &Ownership,
    after: &Ownership,
) -> Ownership {
    let Ok(config) = parse(client, path, bytes) else {
        return before.clone();
    };
    let present: std::collections::BTreeMap<String, serde_json::Value> =
        config.entries(client).into_iter().collect();
    let mut entries: Vec<plan::OwnedEntry> = Vec::new();
    for candidate in after.entries.iter().chain(&before.entries) {
        if entries.iter().any(|e| e.name == candidate.name) {
            continue;
        }
        let Some(value) = present.get(&candidate.name) else {
            continue;
        };
        let hash = plan::entry_hash(value);
        let matching = after
            .entries
            .iter()
            .chain(&before.entries)
            .find(|e| e.name == candidate.name && e.sha256 == hash);
        entries.push(matching.unwrap_or(candidate).clone());
    }
    Ownership {
        entries,
        created_root: false,
        created_file: false,
    }
}

/// Whether the process that named a temporary file still runs (this one does).
fn writer_alive(pid: u32) -> bool {
    if pid == std::process::id() {
        return true;
    }
    #[cfg(unix)]
    {
        let Ok(raw) = i32::try_from(pid) else {
            return false;
        };
        match nix::sys::signal::kill(nix::unistd::Pid::from_raw(raw), None) {
            Ok(()) => true,
            // Another user's process: alive, and not ours to judge.
            Err(nix::errno::Errno::EPERM) => true,
            Err(_) => false,
        }
    }
    #[cfg(not(unix))]
    {
        false
    }
}

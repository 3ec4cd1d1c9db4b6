//! The journal of client config writes, and undo.
//!
//! Each write is a row in SQLite (hashes, the ownership before and after) and two owner-only
//! files beside the database with the bytes before and after: a client's file may hold the
//! user's own credentials, so its bytes never go into the database. The journal comes first:
//! the row (`pending`) and the bytes are on disk before the client's file is touched, and the
//! row is marked done after, so a crash or a full disk at any point leaves a file that is as
//! it was or as intended and recorded (`recover` settles pending rows at the next start).
//! Undo restores a whole operation (every file one command wrote), and only where each file
//! still holds what was written (or already holds what it held before).
//!
//! The kept bytes are sealed under a key in the secret store (`switchboard_credentials::seal`),
//! so the user's credentials in a client's file are in no file of Switchboard's. Should the
//! secret store be out of reach, they are kept unsealed (owner-only, as before) with a
//! warning: a client's file is never left unwritten for want of the keychain.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_clients::catalog::Client;
use switchboard_clients::entry;
use switchboard_clients::plan::{Ownership, Plan};
use switchboard_clients::write::{self, Access, Snapshot, WriteError};
use switchboard_model::api::{ClientChange, FileChange, UndoClients, Wiring};
use switchboard_model::now_millis;
use switchboard_store::JournalEntry;

use switchboard_credentials::seal::{Seal, SealError};

use super::{Action, ClientConfigError, ClientConfigs, next_step, read_file, sha256};

/// How many times a write starts over because the file changed between reading and writing.
const ATTEMPTS: usize = 5;

impl ClientConfigs {
    pub(super) fn journal_file(&self, id: i64, side: &str) -> PathBuf {
        self.journal_dir.join(format!("{id}.{side}"))
    }

    /// Writes one client file, journal first: reads it, plans the new content, commits a
    /// pending row and the bytes before and after, replaces the file if it still holds what
    /// was read (else starts over), then marks the row done with the new ownership. Returns
    /// the plan and the journal entry (none if nothing changed).
    #[allow(clippy::too_many_arguments)]
    pub(super) async fn write_journaled(
        &self,
        client: &'static Client,
        action: Action,
        operation: i64,
        path: &Path,
        owned: &Ownership,
        access: Access,
        plan: impl Fn(Option<&[u8]>) -> Result<Plan, ClientConfigError> + Send + Sync + 'static,
    ) -> Result<(Plan, Option<JournalEntry>), ClientConfigError> {
        let plan = Arc::new(plan);
        let store = self.control.store();
        for _ in 0..ATTEMPTS {
            let (file, planned) = read_planned(path, Arc::clone(&plan)).await?;
            let after = planned.after.clone().map(String::into_bytes);
            let path_text = path.display().to_string();
            if file.bytes == after {
                if access == Access::OwnerOnly && after.is_some() && write::readable_by_others(&file.real) {
                    write::make_owner_only(&file.real)?;
                }
                store
                    .set_ownership(client.id, &path_text, &planned.ownership)
                    .await?;
                return Ok((planned, None));
            }
            let entry = JournalEntry {
                id: 0,
                operation,
                at_ms: now_millis(),
                client: client.id.to_owned(),
                path: path_text,
                action: action.as_str().to_owned(),
                before_sha256: file.bytes.as_deref().map(sha256),
                after_sha256: after.as_deref().map(sha256),
                ownership_before: owned.clone(),
            };
            let written = self
                .replace_journaled(client, entry, &file, after, &planned.ownership, access)
                .await?;
            if let Some(entry) = written {
                return Ok((planned, Some(entry)));
            }
        }
        Err(WriteError::KeepsChanging {
            path: path.to_owned(),
        }
        .into())
    }

    /// One journaled replacement of `file` by `after`: the pending row and the bytes first,
    /// then the file, then the row marked done with `ownership`. Returns the entry as
    /// recorded, or `None` (nothing written, nothing journaled) if the file changed since it
    /// was read and the write must start over.
    async fn replace_journaled(
        &self,
        client: &'static Client,
        entry: JournalEntry,
        file: &Snapshot,
        after: Option<Vec<u8>>,
        ownership: &Ownership,
        access: Access,
    ) -> Result<Option<JournalEntry>, ClientConfigError> {
        let store = self.control.store();
        let id = store.journal_pending(&entry, ownership).await?;
        let entry = JournalEntry { id, ..entry };
        let seal = self
            .sealer()
            .await
            .inspect_err(|e| tracing::warn!("the journal of client files is kept unsealed (owner-only): {e}"))
            .ok();
        if let Err(e) = self.keep_bytes(id, seal, file.bytes.as_deref(), after.as_deref()) {
            self.forget(id).await;
            return Err(e);
        }
        let written = tokio::task::spawn_blocking({
            let file = file.clone();
            move || write::replace_with(&file, after.as_deref(), client.lock, access)
        })
        .await
        .map_err(|e| ClientConfigError::Task(e.to_string()));
        match written {
            Ok(Ok(())) => {}
            Ok(Err(WriteError::Changed { .. })) => {
                self.forget(id).await;
                return Ok(None);
            }
            Ok(Err(e)) => {
                // Nothing was renamed into place: the file is as it was.
                self.forget(id).await;
                return Err(e.into());
            }
            Err(e) => return Err(e),
        }
        if let Err(e) = store.finish_journal(id).await {
            // The file is written but not recorded as done: put it back if possible; a
            // row still pending is settled by what the file holds at the next operation.
            match self.restore(std::slice::from_ref(&entry)).await {
                Ok(()) => self.forget(id).await,
                Err(undo) => tracing::warn!("cannot put back {} after {e}: {undo}", entry.path),
            }
            return Err(e.into());
        }
        Ok(Some(entry))
    }

    /// Forgets a pending row whose write did not happen, and its bytes.
    pub(super) async fn forget(&self, id: i64) {
        if let Err(e) = self.control.store().drop_journal(id).await {
            tracing::warn!("cannot forget journal entry {id}; it is settled at the next start: {e}");
            return;
        }
        for side in ["before", "after"] {
            let _ = std::fs::remove_file(self.journal_file(id, side));
        }
    }

    /// The journal's sealing key, loaded from the secret store the first time it can be.
    async fn sealer(&self) -> Result<&Seal, SealError> {
        let secrets = self.control.supervisor().secrets();
        self.seal.get_or_try_init(|| Seal::load(secrets)).await
    }

    /// Keeps the bytes of a write, sealed if it can be and readable by the owner only, on
    /// disk when this returns.
    pub(super) fn keep_bytes(
        &self,
        id: i64,
        seal: Option<&Seal>,
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) -> Result<(), ClientConfigError> {
        let failed = |source| ClientConfigError::Journal {
            path: self.journal_dir.clone(),
            source,
        };
        write::create_private_dir(&self.journal_dir).map_err(failed)?;
        for (side, bytes) in [("before", before), ("after", after)] {
            if let Some(bytes) = bytes {
                let kept = match seal {
                    Some(seal) => seal.seal(bytes)?,
                    None => bytes.to_vec(),
                };
                write_private(&self.journal_file(id, side), &kept).map_err(failed)?;
            }
        }
        // The new names are durable only once the folder is.
        std::fs::File::open(&self.journal_dir)
            .and_then(|dir| dir.sync_all())
            .map_err(failed)?;
        Ok(())
    }

    /// Undoes the last operation (of one client, or of any): each file goes back to what it
    /// held before, if it still holds what Switchboard wrote.
    pub async fn undo(&self, request: UndoClients) -> Result<ClientChange, ClientConfigError> {
        let _busy = self.busy.lock().await;
        self.settle_pending().await?;
        let store = self.control.store();
        let entries = match request.operation {
            Some(operation) => store.operation(operation).await?,
            None => store.last_operation(request.client.as_deref()).await?,
        };
        let Some(first) = entries.first() else {
            return Err(ClientConfigError::NothingToUndo {
                client: request.client,
            });
        };
        let (operation, client_id) = (first.operation, first.client.clone());
        // Check every file first, so an undo happens entirely or not at all.
        for entry in &entries {
            let now = read_file(Path::new(&entry.path)).await?.as_deref().map(sha256);
            // A file already back as it was (an undo cut short) is fine too.
            if now != entry.after_sha256 && now != entry.before_sha256 {
                return Err(ClientConfigError::ChangedSince {
                    path: entry.path.clone(),
                });
            }
        }
        self.restore(&entries).await?;
        self.control.store().mark_undone(operation).await?;
        let client = Self::client(&client_id)?;
        // Entries brought back present the token they were written with.
        for entry in &entries {
            let path = Path::new(&entry.path);
            for token in self.tokens_in(client, path, &entry.ownership_before).await? {
                if self.gateway.access.client(&token).is_none() {
                    self.gateway.access.reinstate(client.id, &token).await?;
                }
            }
        }
        // What the client is now asked to get follows from what it now holds.
        let owned: Vec<String> = self
            .control
            .store()
            .owned_files(&client_id)
            .await?
            .into_iter()
            .flat_map(|(_, o)| o.entries.into_iter().map(|e| e.name))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if owned.is_empty() {
            self.control.store().remove_wiring(&client_id).await?;
        } else {
            let servers = (owned != [entry::AGGREGATE_ENTRY]).then_some(owned);
            let wiring = Wiring {
                servers,
                reapply: false,
            };
            self.control.store().set_wiring(&client_id, &wiring).await?;
        }
        let _ = self.rewatch.send(());
        Ok(ClientChange {
            client: client_id,
            dry_run: false,
            files: entries
                .iter()
                .map(|e| FileChange {
                    path: e.path.clone(),
                    entries: Vec::new(),
                    changed: true,
                    diff: None,
                })
                .collect(),
            next_step: next_step(client, false),
            operation: Some(operation),
        })
    }

    /// Puts journaled files back as they were before, with their ownership records.
    pub(super) async fn restore(&self, entries: &[JournalEntry]) -> Result<(), ClientConfigError> {
        for entry in entries.iter().rev() {
            let client = Self::client(&entry.client)?;
            let before = match entry.before_sha256 {
                Some(_) => Some(self.kept_before(entry.id).await?),
                None => None,
            };
            let (path, expected) = (PathBuf::from(&entry.path), entry.after_sha256.clone());
            let already = entry.before_sha256.clone();
            let path_text = entry.path.clone();
            tokio::task::spawn_blocking(move || {
                write::update(&path, client.lock, |now| {
                    if now.map(sha256) == expected || now.map(sha256) == already {
                        Ok(before.clone())
                    } else {
                        Err(ClientConfigError::ChangedSince {
                            path: path_text.clone(),
                        })
                    }
                })
            })
            .await
            .map_err(|e| ClientConfigError::Task(e.to_string()))??;
            self.control
                .store()
                .set_ownership(&entry.client, &entry.path, &entry.ownership_before)
                .await?;
        }
        Ok(())
    }
}

impl ClientConfigs {
    /// The bytes a journaled file held before its write, unsealed.
    async fn kept_before(&self, id: i64) -> Result<Vec<u8>, ClientConfigError> {
        let path = self.journal_file(id, "before");
        let kept = std::fs::read(&path).map_err(|source| ClientConfigError::Journal {
            path: path.clone(),
            source,
        })?;
        if !Seal::is_sealed(&kept) {
            return Ok(kept);
        }
        Ok(self.sealer().await?.open(&kept)?)
    }
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

/// Reads the file at `path` and plans its new content from what it holds, on the blocking pool.
async fn read_planned(
    path: &Path,
    plan: Arc<impl Fn(Option<&[u8]>) -> Result<Plan, ClientConfigError> + Send + Sync + 'static>,
) -> Result<(Snapshot, Plan), ClientConfigError> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        let snapshot = write::read(&path)?;
        let planned = plan(snapshot.bytes.as_deref())?;
        Ok::<_, ClientConfigError>((snapshot, planned))
    })
    .await
    .map_err(|e| ClientConfigError::Task(e.to_string()))?
}

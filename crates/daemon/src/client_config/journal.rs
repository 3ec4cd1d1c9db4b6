//! The journal of client config writes, and undo.
//!
//! Each write is a row in SQLite (hashes and the ownership before) and two owner-only files
//! beside the database with the bytes before and after: a client's file may hold the user's
//! own credentials, so its bytes never go into the database. Undo restores a whole operation
//! (every file one command wrote), and only where each file still holds what was written.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use switchboard_clients::entry;
use switchboard_clients::write;
use switchboard_model::api::{ClientChange, FileChange, UndoClients, Wiring};

use super::{ClientConfigError, ClientConfigs, next_step, read_file, sha256};
use crate::store::JournalEntry;

impl ClientConfigs {
    fn journal_file(&self, id: i64, side: &str) -> PathBuf {
        self.journal_dir.join(format!("{id}.{side}"))
    }

    /// Keeps the bytes of a write, readable by the owner only.
    pub(super) fn keep_bytes(
        &self,
        id: i64,
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
                write_private(&self.journal_file(id, side), bytes).map_err(failed)?;
            }
        }
        Ok(())
    }

    /// Undoes the last operation (of one client, or of any): each file goes back to what it
    /// held before, if it still holds what Switchboard wrote.
    pub async fn undo(&self, request: UndoClients) -> Result<ClientChange, ClientConfigError> {
        let _busy = self.busy.lock().await;
        let entries = self
            .control
            .store()
            .last_operation(request.client.as_deref())
            .await?;
        let Some(first) = entries.first() else {
            return Err(ClientConfigError::NothingToUndo {
                client: request.client,
            });
        };
        let (operation, client_id) = (first.operation, first.client.clone());
        // Check every file first, so an undo happens entirely or not at all.
        for entry in &entries {
            let now = read_file(Path::new(&entry.path)).await?;
            if now.as_deref().map(sha256) != entry.after_sha256 {
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
        })
    }

    /// Puts journaled files back as they were before, with their ownership records.
    pub(super) async fn restore(&self, entries: &[JournalEntry]) -> Result<(), ClientConfigError> {
        for entry in entries.iter().rev() {
            let client = Self::client(&entry.client)?;
            let before =
                match entry.before_sha256 {
                    Some(_) => Some(std::fs::read(self.journal_file(entry.id, "before")).map_err(
                        |source| ClientConfigError::Journal {
                            path: self.journal_file(entry.id, "before"),
                            source,
                        },
                    )?),
                    None => None,
                };
            let (path, expected) = (PathBuf::from(&entry.path), entry.after_sha256.clone());
            let path_text = entry.path.clone();
            tokio::task::spawn_blocking(move || {
                write::update(&path, client.lock, |now| {
                    if now.map(sha256) == expected {
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

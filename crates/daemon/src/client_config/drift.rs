//! Drift: noticing when a client (or the user) removes or changes Switchboard's entries.
//!
//! The folders of the files Switchboard owns entries in are watched (folders, because clients
//! replace their files by renaming). A burst of events settles, then each touched file is
//! compared with the ownership record; a difference is announced as an event and, for clients
//! connected with `reapply`, the entries are written back (never over the user's edits).
//! Watching starts once interrupted writes are settled (`recover`).

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use switchboard_clients::catalog;
use switchboard_model::api::{ConnectClient, Event};
use tokio::sync::mpsc;

use super::{ClientConfigError, ClientConfigs};

/// How long file events settle before a drift check (editors write in several steps).
const DRIFT_SETTLE: Duration = Duration::from_millis(300);

impl ClientConfigs {
    /// Watches the files of connected clients; when Switchboard's entries go missing or
    /// change, says so on the event stream and, for clients that asked for it, writes them
    /// back. Runs until the daemon stops.
    pub fn watch_drift(self: &Arc<Self>) {
        let Some(mut rewatch) = self.rewatch_rx.lock().take() else {
            return;
        };
        // Interrupted writes are settled first; the files they touched are then watched.
        let recovered = self.recover();
        let this = Arc::clone(self);
        tokio::spawn(async move {
            let _ = recovered.await;
            let (tx, mut changed) = mpsc::unbounded_channel::<PathBuf>();
            let mut watcher =
                match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
                    if let Ok(event) = event {
                        for path in event.paths {
                            let _ = tx.send(path);
                        }
                    }
                }) {
                    Ok(watcher) => watcher,
                    Err(e) => {
                        tracing::warn!("cannot watch client config files, drift will not be noticed: {e}");
                        return;
                    }
                };
            let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
            let mut files = this.watch_set(&mut watcher, &mut watched).await;
            loop {
                tokio::select! {
                    Some(()) = rewatch.recv() => {
                        let before = files;
                        files = this.watch_set(&mut watcher, &mut watched).await;
                        // A file that changed between its write and its watch is seen now.
                        for (path, client) in files.iter().filter(|(p, _)| !before.contains_key(*p)) {
                            if let Err(e) = this.check_drift(client, path).await {
                                tracing::warn!("cannot check {} for drift: {e}", path.display());
                            }
                        }
                    }
                    Some(first) = changed.recv() => {
                        // Let a burst of writes settle, then look at each touched file once.
                        let mut touched = BTreeSet::from([first]);
                        let settle = tokio::time::sleep(DRIFT_SETTLE);
                        tokio::pin!(settle);
                        loop {
                            tokio::select! {
                                () = &mut settle => break,
                                Some(more) = changed.recv() => { touched.insert(more); }
                            }
                        }
                        for path in touched {
                            if let Some(client) = files.get(&path)
                                && let Err(e) = this.check_drift(client, &path).await
                            {
                                tracing::warn!("cannot check {} for drift: {e}", path.display());
                            }
                        }
                    }
                    else => return,
                }
            }
        });
    }

    /// Watches the folders of every file Switchboard owns entries in (a folder, because
    /// clients replace files by renaming). Returns file -> client.
    async fn watch_set(
        &self,
        watcher: &mut impl notify::Watcher,
        watched: &mut BTreeSet<PathBuf>,
    ) -> HashMap<PathBuf, &'static str> {
        let mut files = HashMap::new();
        let wirings = self.control.store().wirings().await.unwrap_or_default();
        for (id, _) in wirings {
            let Some(client) = catalog::find(&id) else {
                continue;
            };
            for (path, ownership) in self
                .control
                .store()
                .owned_files(client.id)
                .await
                .unwrap_or_default()
            {
                if !ownership.is_empty() {
                    files.insert(PathBuf::from(path), client.id);
                }
            }
        }
        let folders: BTreeSet<PathBuf> = files
            .keys()
            .filter_map(|f| f.parent().map(Path::to_owned))
            .collect();
        for stale in watched.difference(&folders).cloned().collect::<Vec<_>>() {
            let _ = watcher.unwatch(&stale);
            watched.remove(&stale);
        }
        for folder in folders {
            if !watched.contains(&folder) {
                match watcher.watch(&folder, notify::RecursiveMode::NonRecursive) {
                    Ok(()) => {
                        watched.insert(folder);
                    }
                    Err(e) => tracing::warn!("cannot watch {}: {e}", folder.display()),
                }
            }
        }
        files
    }

    pub(super) async fn check_drift(&self, id: &str, path: &Path) -> Result<(), ClientConfigError> {
        let client = Self::client(id)?;
        let path_text = path.display().to_string();
        // Not while Switchboard itself writes: its file and its record of the file change apart.
        let busy = self.busy.lock().await;
        let ownership = self
            .control
            .store()
            .owned_files(client.id)
            .await?
            .into_iter()
            .find(|(p, _)| *p == path_text)
            .map(|(_, o)| o)
            .unwrap_or_default();
        let view = self.inspect(client, path, &ownership).await?;
        drop(busy);
        if view.drifted.is_empty() {
            return Ok(());
        }
        let wiring = self
            .control
            .store()
            .wirings()
            .await?
            .into_iter()
            .find(|(c, _)| c == id)
            .map(|(_, w)| w);
        let mut reapplied = false;
        if let Some(wiring) = wiring.filter(|w| w.reapply) {
            let request = ConnectClient {
                servers: wiring.servers,
                reapply: true,
                ..ConnectClient::default()
            };
            match self.connect(id, request).await {
                Ok(change) => reapplied = change.files.iter().any(|f| f.changed),
                Err(e) => tracing::warn!("cannot re-apply {id}'s entries in {path_text}: {e}"),
            }
        }
        tracing::info!(
            "{id}'s entries {:?} in {path_text} were removed or changed{}",
            view.drifted,
            if reapplied { "; written back" } else { "" }
        );
        self.control.announce(Event::ClientDrifted {
            client: id.to_owned(),
            path: path_text,
            entries: view.drifted,
            reapplied,
        });
        Ok(())
    }
}

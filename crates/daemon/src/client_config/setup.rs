//! The first run's one action: every client found on this machine goes through Switchboard.
//!
//! The servers in those clients' files are adopted (as an import does: credentials to the
//! keychain, duplicates merged, new ones started), and each client's files get the gateway's
//! one entry for every server in place of the entries that were adopted, so no server is
//! reachable twice. Entries that could not be adopted stay. Each client's write is journaled
//! like any other, so each can be undone; a client whose file cannot be changed is reported
//! and the rest go ahead. Which clients exist and where their files are is the catalog's.

use switchboard_clients::catalog::{self, Client};
use switchboard_model::api::{SetUpClients, SetUpReport, SkippedEntry, Wiring};

use super::import::Routes;
use super::{ClientConfigError, ClientConfigs};

impl ClientConfigs {
    /// Adopts the servers of `request.clients` (every client found here when empty) and points
    /// each of those clients at the gateway's one entry for all servers.
    pub async fn set_up(&self, request: SetUpClients) -> Result<SetUpReport, ClientConfigError> {
        let clients = self.clients_to_set_up(&request.clients)?;
        let gathered = self.gather(&clients, request.dry_run).await?;
        // A client whose file could not be read is not set up: it is reported once, as failed.
        let (failed, skipped) = gathered
            .report
            .skipped
            .into_iter()
            .partition(|s| s.entry.is_empty());
        let mut report = SetUpReport {
            dry_run: request.dry_run,
            adopted: gathered.report.adopted,
            skipped,
            failed,
            ..SetUpReport::default()
        };
        for client in clients {
            if report.failed.iter().any(|f| f.client == client.id) {
                continue;
            }
            let entries = gathered.replaced.get(client.id).cloned().unwrap_or_default();
            match self
                .replace_entries(client.id, &entries, Routes::All, request.dry_run)
                .await
            {
                Ok(change) => report.clients.push(change),
                Err(e) => {
                    report.failed.push(SkippedEntry {
                        client: client.id.to_owned(),
                        entry: String::new(),
                        reason: e.to_string(),
                    });
                    continue;
                }
            }
            if !request.dry_run {
                let wiring = Wiring {
                    servers: None,
                    reapply: false,
                };
                self.control.store().set_wiring(client.id, &wiring).await?;
            }
        }
        if !request.dry_run {
            let _ = self.rewatch.send(());
        }
        Ok(report)
    }

    /// The clients named, or every client that looks installed here.
    fn clients_to_set_up(&self, ids: &[String]) -> Result<Vec<&'static Client>, ClientConfigError> {
        if ids.is_empty() {
            return Ok(catalog::all()
                .iter()
                .filter(|c| c.detect(&self.env).is_some())
                .collect());
        }
        ids.iter().map(|id| Self::client(id)).collect()
    }
}

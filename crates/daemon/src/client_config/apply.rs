//! Connecting and disconnecting a client: the entries it gets, the token it presents, and
//! the planned, journaled write of each of its files (rolled back together if one fails).
//!
//! Which files a client has and what Switchboard owns in them is decided in the parent
//! module; how a config format is edited is `switchboard_clients`'.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use switchboard_clients::catalog::Client;
use switchboard_clients::entry::Route;
use switchboard_clients::plan::{self, Ownership, Plan, PlanError};
use switchboard_clients::write;
use switchboard_gateway::AccessError;
use switchboard_model::ServerName;
use switchboard_model::api::{ClientChange, ConnectClient, DisconnectClient, FileChange, Wiring};
use switchboard_store::{JournalEntry, StoreError};

use super::{
    Action, ClientConfigError, ClientConfigs, credential_values, entry_changes, mask_tokens, mask_values,
    next_step, parse, plan_error, read_file, running_processes, text_of,
};

impl ClientConfigs {
    /// Points a client at the gateway: one entry per server, or the aggregate.
    pub async fn connect(&self, id: &str, request: ConnectClient) -> Result<ClientChange, ClientConfigError> {
        let client = Self::client(id)?;
        let routes = self.routes(request.servers.as_deref()).await?;
        let _busy = self.busy.lock().await;
        let (entries, force) = (self.entries.clone(), request.force);
        let change = self
            .apply(
                client,
                Action::Connect,
                request.dry_run,
                move |before, owned, token| {
                    plan::connect(client, before, owned, &entries, &routes, token, force)
                },
            )
            .await?;
        if !request.dry_run {
            let wiring = Wiring {
                servers: request.servers,
                reapply: request.reapply,
            };
            self.control.store().set_wiring(client.id, &wiring).await?;
            let _ = self.rewatch.send(());
        }
        Ok(change)
    }

    /// Removes Switchboard's entries from a client's files (never the user's own).
    pub async fn disconnect(
        &self,
        id: &str,
        request: DisconnectClient,
    ) -> Result<ClientChange, ClientConfigError> {
        let client = Self::client(id)?;
        let force = request.force;
        let _busy = self.busy.lock().await;
        let change = self
            .apply(
                client,
                Action::Disconnect,
                request.dry_run,
                move |before, owned, _| plan::disconnect(client, before, owned, force),
            )
            .await?;
        if !request.dry_run {
            let still_owned = self
                .control
                .store()
                .owned_files(client.id)
                .await?
                .iter()
                .any(|(_, o)| !o.is_empty());
            if !still_owned {
                self.control.store().remove_wiring(client.id).await?;
                // Its token has nothing left to open; a later connect issues a new one.
                self.revoke(client.id).await?;
            }
            let _ = self.rewatch.send(());
        }
        Ok(change)
    }

    async fn routes(&self, servers: Option<&[String]>) -> Result<Vec<Route>, ClientConfigError> {
        let Some(names) = servers else {
            return Ok(vec![Route::Aggregate]);
        };
        let known: Vec<ServerName> = self
            .control
            .list()
            .await?
            .into_iter()
            .map(|s| s.spec.name)
            .collect();
        if let Some(missing) = names
            .iter()
            .find(|n| !known.iter().any(|k| k.as_str() == n.as_str()))
        {
            return Err(ClientConfigError::UnknownServer(missing.clone()));
        }
        Ok(names.iter().map(|n| Route::Server(n.clone())).collect())
    }

    /// The token a client presents: the one already in its files if the gateway still knows
    /// it, else a new one (a dry run does not issue one); and whether it is new.
    async fn token(
        &self,
        client: &'static Client,
        dry_run: bool,
    ) -> Result<(String, bool), ClientConfigError> {
        for (path, ownership) in self.files_of(client).await? {
            for token in self.tokens_in(client, &path, &ownership).await? {
                if self.gateway.access.client(&token).as_deref() == Some(client.id) {
                    return Ok((token, false));
                }
            }
        }
        if dry_run {
            return Ok(("<new token>".to_owned(), false));
        }
        self.revoke(client.id).await?;
        Ok((self.gateway.access.issue(client.id).await?.token, true))
    }

    /// The tokens in the entries of `path` that `ownership` says are ours (a file that cannot
    /// be read as config has none).
    pub(super) async fn tokens_in(
        &self,
        client: &'static Client,
        path: &Path,
        ownership: &Ownership,
    ) -> Result<Vec<String>, ClientConfigError> {
        let Ok(config) = parse(client, path, read_file(path).await?.as_deref()) else {
            return Ok(Vec::new());
        };
        Ok(ownership
            .entries
            .iter()
            .filter_map(|owned| self.entries.token_in(client, &config.entry(client, &owned.name)?))
            .collect())
    }

    /// Revokes a client's token, if it has one, and ends its sessions.
    async fn revoke(&self, id: &str) -> Result<(), ClientConfigError> {
        match self.gateway.access.revoke(id).await {
            Ok(()) => {
                self.gateway.end_sessions_of(id);
                Ok(())
            }
            Err(AccessError::Store(StoreError::ClientNotFound(_))) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Plans every file of `client`, then (unless dry) writes, journals and records ownership.
    /// A failure part-way restores the files this operation already wrote.
    pub(super) async fn apply(
        &self,
        client: &'static Client,
        action: Action,
        dry_run: bool,
        planner: impl Fn(Option<&str>, &Ownership, &str) -> Result<Plan, PlanError>
        + Clone
        + Send
        + Sync
        + 'static,
    ) -> Result<ClientChange, ClientConfigError> {
        if !dry_run {
            self.settle_pending().await?;
        }
        let files = self.files_of(client).await?;
        if files.is_empty() {
            return Err(ClientConfigError::NoFileHere {
                client: client.name.to_owned(),
            });
        }
        let (token, issued) = if action == Action::Disconnect {
            (String::new(), false)
        } else {
            // A file that cannot be read as config fails the operation before any token is
            // issued or replaced.
            for (path, _) in &files {
                parse(client, path, read_file(path).await?.as_deref())?;
            }
            self.token(client, dry_run).await?
        };
        let mut left_written = false;
        let result = self
            .apply_with(client, action, dry_run, files, &token, planner, &mut left_written)
            .await;
        // (Unless a file that could not be rolled back holds it.)
        if result.is_err() && issued && !left_written {
            // A token nothing was written with opens nothing; it goes with the failed attempt.
            if let Err(e) = self.revoke(client.id).await {
                tracing::warn!(
                    "cannot revoke the token issued to {} by a failed {}: {e}",
                    client.id,
                    action.as_str()
                );
            }
        }
        result
    }

    /// [`Self::apply`] once the token is known; sets `left_written` when a failure could not
    /// roll back every file it wrote.
    #[allow(clippy::too_many_arguments)]
    async fn apply_with(
        &self,
        client: &'static Client,
        action: Action,
        dry_run: bool,
        files: Vec<(PathBuf, Ownership)>,
        token: &str,
        planner: impl Fn(Option<&str>, &Ownership, &str) -> Result<Plan, PlanError>
        + Clone
        + Send
        + Sync
        + 'static,
        left_written: &mut bool,
    ) -> Result<ClientChange, ClientConfigError> {
        let token = token.to_owned();
        let operation = self.control.store().next_operation().await?;
        let mut written: Vec<JournalEntry> = Vec::new();
        let mut reports = Vec::new();
        for (path, owned) in files {
            let result = if dry_run {
                self.preview(client, &path, &owned, &token, planner.clone()).await
            } else {
                self.write_file(client, action, operation, &path, &owned, &token, planner.clone())
                    .await
                    .map(|(report, journal)| {
                        written.extend(journal);
                        report
                    })
            };
            match result {
                Ok(report) => reports.push(report),
                Err(e) => {
                    // Leave no half-done operation behind.
                    match self.restore(&written).await {
                        Ok(()) if !written.is_empty() => {
                            if let Err(mark) = self.control.store().mark_undone(operation).await {
                                tracing::warn!(
                                    "cannot record the roll-back of {} of {}: {mark}",
                                    action.as_str(),
                                    client.id
                                );
                            }
                        }
                        Ok(()) => {}
                        Err(undo) => {
                            *left_written = true;
                            tracing::warn!("cannot roll back {} of {}: {undo}", action.as_str(), client.id)
                        }
                    }
                    return Err(e);
                }
            }
        }
        let changed = reports.iter().any(|f| f.changed);
        let running = tokio::task::spawn_blocking(running_processes)
            .await
            .map(|names| client.processes.iter().any(|p| names.contains(*p)))
            .unwrap_or(false);
        Ok(ClientChange {
            client: client.id.to_owned(),
            dry_run,
            files: reports,
            next_step: changed.then(|| next_step(client, running)).flatten(),
            operation: (!written.is_empty()).then_some(operation),
        })
    }

    async fn preview(
        &self,
        client: &'static Client,
        path: &Path,
        owned: &Ownership,
        token: &str,
        planner: impl Fn(Option<&str>, &Ownership, &str) -> Result<Plan, PlanError>,
    ) -> Result<FileChange, ClientConfigError> {
        let bytes = read_file(path).await?;
        let before = text_of(path, bytes.as_deref())?;
        let plan = planner(before, owned, token).map_err(|e| plan_error(path, e))?;
        let diff = similar::TextDiff::from_lines(
            before.unwrap_or_default(),
            plan.after.as_deref().unwrap_or_default(),
        )
        .unified_diff()
        .header(&path.display().to_string(), &path.display().to_string())
        .to_string();
        let changed = plan.changes_file(before);
        let mut note = String::new();
        if !token.is_empty() && plan.after.is_some() && write::readable_by_others(path) {
            note = format!(
                "# {}: others can read this file; it will be made readable only by you\n",
                path.display()
            );
        }
        Ok(FileChange {
            path: path.display().to_string(),
            entries: entry_changes(&plan.changes),
            changed,
            diff: Some(note + &mask_values(&mask_tokens(&diff), &credential_values(client, before))),
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn write_file(
        &self,
        client: &'static Client,
        action: Action,
        operation: i64,
        path: &Path,
        owned: &Ownership,
        token: &str,
        planner: impl Fn(Option<&str>, &Ownership, &str) -> Result<Plan, PlanError> + Send + Sync + 'static,
    ) -> Result<(FileChange, Option<JournalEntry>), ClientConfigError> {
        let planner = Arc::new(planner);
        let (path_buf, owned_for_plan, token_owned) = (path.to_owned(), owned.clone(), token.to_owned());
        let plan = move |bytes: Option<&[u8]>| {
            let before = text_of(&path_buf, bytes)?;
            planner(before, &owned_for_plan, &token_owned).map_err(|e| plan_error(&path_buf, e))
        };
        // A file that is to hold a token is made its owner's alone.
        let access = if token.is_empty() {
            write::Access::Keep
        } else {
            write::Access::OwnerOnly
        };
        let (plan, journal) = self
            .write_journaled(client, action, operation, path, owned, access, plan)
            .await?;
        Ok((
            FileChange {
                path: path.display().to_string(),
                entries: entry_changes(&plan.changes),
                changed: journal.is_some(),
                diff: None,
            },
            journal,
        ))
    }
}

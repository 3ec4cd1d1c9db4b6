//! Updating an installed server to another registry version, safely.
//!
//! The new version is fetched beside the old one, run once as a health check (handshake and
//! tools/list), and switched to; if it fails the check or does not come up after the switch,
//! the old spec is put back, the secrets the update wrote are restored and its package
//! directory is removed. Only after a switch that held is the old directory removed.
//!
//! It reuses the install's steps (planning, fetching, the spec and its secrets, the roll
//! back) from [`super`]; it does not decide how a server is probed or started (the
//! supervisor's and the control's).

use std::sync::Arc;
use std::time::Duration;

use switchboard_credentials::secrets;
use switchboard_model::api::{
    InputChanges, InputField, InputPlace, ServerView, UpdateOutcome, UpdateReport, UpdateServer,
};
use switchboard_model::{Origin, ServerName, ServerState, Transport};
use switchboard_registry::plan::{self, Plan};
use switchboard_registry::{ServerJson, SourceKind, Values};
use switchboard_store::CachedVersion;

use super::fetch::{self, Fetched};
use super::{Consent, InstallError, Installer, Kept, Planned, not_deleted, parse, plan_for};
use crate::control::ControlError;
use crate::runtime::Runtimes;

/// How long an updated server has to come up before the update is undone.
const SWITCH_PATIENCE: Duration = Duration::from_secs(120);

/// An update planned, how its inputs changed, and the runtimes it was planned with.
struct UpdatePlan {
    planned: Planned,
    changes: InputChanges,
    runtimes: Arc<Runtimes>,
}

/// Why a switch to a new version did not happen.
enum Switch {
    /// The new version failed its health check or did not come up; the old one runs.
    Failed(String),
    Error(InstallError),
}

impl Switch {
    /// The update's error: a failed switch names the version kept.
    fn into_error(self, server: &ServerName, version: &str, kept: &str) -> InstallError {
        match self {
            Self::Failed(reason) => InstallError::UpdateFailed {
                server: server.clone(),
                version: version.to_owned(),
                kept: kept.to_owned(),
                reason,
            },
            Self::Error(error) => error,
        }
    }
}

impl Installer {
    pub async fn update(
        &self,
        name: &ServerName,
        request: UpdateServer,
    ) -> Result<UpdateReport, InstallError> {
        let current = self.control.get(name).await?;
        let origin = current
            .spec
            .origin
            .clone()
            .ok_or_else(|| InstallError::NotFromRegistry(name.clone()))?;
        let read = self
            .cache
            .version(&origin.name, request.version.as_deref())
            .await?;
        let target = read.value;
        let server = parse(&target)?;
        let mut warnings = Vec::new();
        if let Some(reason) = read.offline {
            warnings.push(format!("read from the cached registry copy: {reason}"));
        }
        let report = |outcome, inputs, tools, warnings| UpdateReport {
            server: name.clone(),
            from: origin.version.clone(),
            to: target.version.clone(),
            outcome,
            inputs,
            tools,
            warnings,
        };
        if target.version == origin.version {
            let up_to_date = InputChanges::default();
            return Ok(report(UpdateOutcome::UpToDate, up_to_date, None, warnings));
        }
        not_deleted(&target)?;
        let update = self
            .plan_update(name, &origin, &server, &target, &request)
            .await?;
        warnings.extend(update.planned.plan.warnings.iter().cloned());
        if request.dry_run {
            return Ok(report(UpdateOutcome::Available, update.changes, None, warnings));
        }

        let fetched = self
            .fetch(name, &server, &update.planned, &update.runtimes)
            .await?;
        warnings.extend(fetched.notes.iter().cloned());
        let tools = self
            .switch_or_roll_back(name, &current, &server, &update.planned.plan, &fetched)
            .await
            .map_err(|error| error.into_error(name, &target.version, &origin.version))?;
        self.remove_old_dir(name, &origin, &fetched).await;
        Ok(report(UpdateOutcome::Updated, update.changes, tools, warnings))
    }

    /// The plan for the `target` version from the server's own source kind, with the values
    /// and consent it was installed with (and those of the request), and how its inputs changed.
    async fn plan_update(
        &self,
        name: &ServerName,
        origin: &Origin,
        server: &ServerJson,
        target: &CachedVersion,
        request: &UpdateServer,
    ) -> Result<UpdatePlan, InstallError> {
        let runtimes = self.runtimes().await;
        let kind: SourceKind = origin.source.parse()?;
        let source = plan::select(server, Some(kind), |r| runtimes.has(r))?;
        let new_form = plan::form(server, source);
        let changes = input_changes(&self.installed_form(origin, kind).await, &new_form);
        let values = self
            .update_values(name, origin, &new_form, &request.values)
            .await?;
        let consent = update_consent(origin, request);
        let published_at = target.published_at.as_deref();
        Ok(UpdatePlan {
            planned: plan_for(server, source, &values, published_at, consent)?,
            changes,
            runtimes,
        })
    }

    /// The form of the version the server was installed from, to say what changed; empty when
    /// that version cannot be read.
    async fn installed_form(&self, origin: &Origin, kind: SourceKind) -> Vec<InputField> {
        match self.cache.version(&origin.name, Some(&origin.version)).await {
            Ok(old) => parse(&old.value)
                .ok()
                .and_then(|old_server| {
                    plan::select(&old_server, Some(kind), |_| true)
                        .ok()
                        .map(|s| plan::form(&old_server, s))
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        }
    }

    /// The values for the new version: the stored ones its form still asks for, then those
    /// `given`; secret env vars and headers keep their values from the keychain unless given
    /// anew.
    async fn update_values(
        &self,
        name: &ServerName,
        origin: &Origin,
        new_form: &[InputField],
        given: &Values,
    ) -> Result<Values, InstallError> {
        let mut values: Values = origin
            .inputs
            .iter()
            .filter(|(key, _)| new_form.iter().any(|f| &f.key == *key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        values.extend(given.clone());
        for field in new_form {
            let whole_value = matches!(field.place, InputPlace::Env | InputPlace::Header);
            if field.secret && whole_value && !values.contains_key(&field.key) {
                let stored = self.secrets.get(&secrets::key(name, &field.key)).await?;
                if let Some(value) = stored {
                    values.insert(field.key.clone(), vec![value]);
                }
            }
        }
        Ok(values)
    }

    /// [`Self::switch`], and the roll back of what the update wrote when it did not happen.
    async fn switch_or_roll_back(
        &self,
        name: &ServerName,
        current: &ServerView,
        server: &ServerJson,
        plan: &Plan,
        fetched: &Fetched,
    ) -> Result<Option<u32>, Switch> {
        let mut kept = Vec::new();
        let switched = self.switch(name, current, server, plan, fetched, &mut kept).await;
        if switched.is_err() {
            self.roll_back(kept, fetched).await;
        }
        switched
    }

    /// Health-checks the new version beside the running one, then switches the spec to it and
    /// back again if the server does not come up. Returns the tools the check listed.
    async fn switch(
        &self,
        name: &ServerName,
        current: &ServerView,
        server: &ServerJson,
        plan: &Plan,
        fetched: &Fetched,
        kept: &mut Vec<Kept>,
    ) -> Result<Option<u32>, Switch> {
        let old_spec = current.spec.clone();
        let new_spec = self
            .spec_for(name, server, plan, fetched, Some(&old_spec), kept)
            .await
            .map_err(Switch::Error)?;
        let tools = match &new_spec.transport {
            Transport::Stdio(_) => Some(
                self.control
                    .supervisor()
                    .probe(&new_spec)
                    .await
                    .map_err(|e| Switch::Failed(e.to_string()))?,
            ),
            _ => None,
        };
        let was_running = matches!(
            current.status,
            ServerState::Running { .. } | ServerState::Starting { .. } | ServerState::Sleeping { .. }
        );
        let control_error = |e: ControlError| Switch::Error(e.into());
        self.control.update(name, new_spec).await.map_err(control_error)?;
        if was_running {
            let after = self
                .control
                .settle(name, SWITCH_PATIENCE)
                .await
                .map_err(control_error)?;
            if !matches!(
                after.status,
                ServerState::Running { .. } | ServerState::Sleeping { .. }
            ) {
                self.control.update(name, old_spec).await.map_err(control_error)?;
                return Err(Switch::Failed(format!(
                    "after the switch it was {}",
                    state_word(&after)
                )));
            }
        }
        Ok(tools)
    }

    /// Removes the directory of the version updated from, once the switch held.
    async fn remove_old_dir(&self, name: &ServerName, origin: &Origin, fetched: &Fetched) {
        if origin.package_dir == fetched.dir {
            return;
        }
        // Only ever a directory of this server's own under `packages/` (the spec is API
        // input; one stored before that was checked may name anything).
        let old_dir = origin.package_dir.as_deref().map(|dir| {
            crate::packages::contained(&self.packages, name, dir)
                .inspect_err(|error| tracing::warn!(%error, "not removing an old package directory"))
        });
        fetch::remove_dir(old_dir.and_then(Result::ok).as_deref()).await;
    }
}

/// What the user allowed at install, widened by what this update allows.
fn update_consent(origin: &Origin, request: &UpdateServer) -> Consent {
    let mut allowed = origin.allowed_runtime_args.clone();
    allowed.extend(request.allow_runtime_args.iter().cloned());
    allowed.sort_unstable();
    allowed.dedup();
    Consent {
        runtime_args: allowed,
        scripts: origin.allow_scripts || request.allow_scripts,
        latest_deps: origin.latest_deps || request.latest_deps,
    }
}

fn input_changes(old: &[InputField], new: &[InputField]) -> InputChanges {
    let required = |f: &InputField| f.required && f.default.is_none();
    let mut changes = InputChanges::default();
    for field in new {
        match old.iter().find(|o| o.key == field.key) {
            None if required(field) => changes.newly_required.push(field.key.clone()),
            None => changes.added.push(field.key.clone()),
            Some(before) if required(field) && !required(before) => {
                changes.newly_required.push(field.key.clone())
            }
            Some(_) => {}
        }
    }
    changes.removed = old
        .iter()
        .filter(|o| !new.iter().any(|n| n.key == o.key))
        .map(|o| o.key.clone())
        .collect();
    changes
}

fn state_word(view: &ServerView) -> String {
    serde_json::to_value(&view.status)
        .ok()
        .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "not running".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn input_changes_between_versions() {
        let field = |key: &str, required: bool| InputField {
            key: key.to_owned(),
            place: switchboard_model::api::InputPlace::Env,
            description: None,
            required,
            secret: false,
            format: Default::default(),
            default: None,
            placeholder: None,
            choices: vec![],
            repeated: false,
        };
        let changes = input_changes(
            &[field("A", false), field("B", true), field("GONE", false)],
            &[
                field("A", true),
                field("B", true),
                field("NEW", true),
                field("OPT", false),
            ],
        );
        assert_eq!(changes.newly_required, ["A", "NEW"]);
        assert_eq!(changes.added, ["OPT"]);
        assert_eq!(changes.removed, ["GONE"]);
    }
}

//! Fetching a plan's package ahead of its first start: one file per ecosystem.
//!
//! [`fetch`] owns the package directory's life during a fetch: emptied of an earlier attempt
//! before, marked complete after, removed when the fetch fails. In between, the plan's
//! ecosystem fetches: [`npm`], [`pypi`] (uv, or pip without it), [`oci`] (docker or podman
//! pull), [`nuget`] (dnx fetches on the first start) and [`mcpb`] (a bundle). Each exposes one
//! `fetch(ctx, …)` taking the [`FetchContext`] and its own fields of the plan's
//! [`Fetch`], finds the program the package installs, and returns a [`Fetched`]. The shared
//! parts are small files of their own: [`run`] runs package managers as helpers, [`dated`]
//! retries a dated resolution with today's dependencies, [`download`] downloads and unpacks a
//! bundle.
//!
//! It writes nothing but the package directory: the installer ([`super`]) turns a [`Fetched`]
//! into a spec, moves its secrets to the keychain, and removes the directory again
//! ([`remove_dir`]) when a later step fails.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use switchboard_model::Launch;
use switchboard_registry::plan::{Fetch, Plan, Resolved};
use switchboard_registry::{PlanError, Runtime, ServerJson, Values};
use switchboard_supervisor::helper::Helpers;

use super::error::io_error;
use super::{Consent, InstallError};
use crate::runtime::Runtimes;

mod dated;
mod download;
mod mcpb;
mod npm;
mod nuget;
mod oci;
mod pypi;
mod run;

/// Longest a package manager (or a bundle's download) may take to fetch one package.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// Marks a package directory whose fetch finished; one without it is debris and is replaced.
const COMPLETE: &str = ".switchboard-complete";

/// What one fetch works with.
pub(super) struct FetchContext<'a> {
    /// `packages/<server>/<registry version>`, used by the ecosystems that install into one.
    pub(super) dir: &'a Path,
    pub(super) server: &'a ServerJson,
    pub(super) plan: &'a Plan,
    /// A bundle's own settings: the values the server.json's form does not ask for.
    pub(super) bundle_values: &'a Values,
    pub(super) runtimes: &'a Runtimes,
    pub(super) consent: &'a Consent,
    /// Runs the package managers under the supervisor's watchdog.
    pub(super) helpers: &'a Helpers,
    pub(super) http: &'a reqwest::Client,
}

/// A package fetched into its directory, and the command that runs it.
pub(super) struct Fetched {
    /// The command, its environment not yet filled in (see `env`).
    pub(super) launch: Launch,
    /// The environment, secret values included until they are moved to the keychain.
    pub(super) env: BTreeMap<String, Resolved>,
    pub(super) dir: Option<PathBuf>,
    /// The exact package version, when the plan did not name one.
    pub(super) package_version: Option<String>,
    pub(super) described: String,
    /// What the user allowed beyond the defaults, kept in the origin for updates.
    pub(super) consent: Consent,
    /// Things the fetch found that the user should know (install scripts not run).
    pub(super) notes: Vec<String>,
}

impl FetchContext<'_> {
    /// The first of `wanted` this machine has, by absolute path, or why the plan cannot run.
    fn need(&self, wanted: &[Runtime]) -> Result<(Runtime, PathBuf), InstallError> {
        self.runtimes
            .first_of(wanted)
            .map(|(runtime, found)| (runtime, found.path.clone()))
            .ok_or_else(|| {
                let runtime = wanted[0];
                InstallError::Plan(PlanError::RuntimeMissing {
                    server: self.server.name.clone(),
                    runtime,
                    hint: runtime.install_hint(),
                })
            })
    }

    /// What a fetch returns: `launch` with the plan's environment, its directory set by [`fetch`].
    fn fetched(&self, launch: Launch, package_version: Option<String>, described: String) -> Fetched {
        Fetched {
            launch,
            env: self.plan.env.clone(),
            dir: None,
            package_version,
            described,
            consent: self.consent.clone(),
            notes: Vec::new(),
        }
    }
}

/// Fetches the plan's package; the ecosystems that install into `ctx.dir` get it empty, and
/// it is marked complete when they succeed or removed when they fail.
pub(super) async fn fetch(ctx: &FetchContext<'_>) -> Result<Fetched, InstallError> {
    let needs_dir = matches!(
        ctx.plan.fetch,
        Fetch::Npm { .. } | Fetch::Pypi { .. } | Fetch::Mcpb { .. }
    );
    if !needs_dir {
        return fetch_into(ctx).await;
    }
    prepare_dir(ctx.dir).await?;
    match fetch_into(ctx).await {
        Ok(mut fetched) => {
            tokio::fs::write(ctx.dir.join(COMPLETE), b"")
                .await
                .map_err(io_error("marking the package complete in", ctx.dir))?;
            fetched.dir = Some(ctx.dir.to_path_buf());
            Ok(fetched)
        }
        Err(error) => {
            remove_dir(Some(ctx.dir)).await;
            Err(error)
        }
    }
}

async fn fetch_into(ctx: &FetchContext<'_>) -> Result<Fetched, InstallError> {
    match &ctx.plan.fetch {
        Fetch::Npm { package, version } => npm::fetch(ctx, package, version.as_deref()).await,
        Fetch::Pypi { package, version } => pypi::fetch(ctx, package, version.as_deref()).await,
        Fetch::Oci { image } => oci::fetch(ctx, image).await,
        Fetch::Nuget { package, version } => nuget::fetch(ctx, package, version.as_deref()).await,
        Fetch::Mcpb { url, sha256 } => mcpb::fetch(ctx, url, sha256).await,
        Fetch::Nothing => Ok(ctx.fetched(
            launch(PathBuf::new(), Vec::new()),
            None,
            "nothing (a remote server)".to_owned(),
        )),
    }
}

/// What a dry run says it would fetch.
pub(super) fn describe(fetch: &Fetch) -> String {
    match fetch {
        Fetch::Npm { package, version } => {
            format!("npm {package}@{}", version.as_deref().unwrap_or("latest"))
        }
        Fetch::Pypi { package, version } => {
            format!("PyPI {package}=={}", version.as_deref().unwrap_or("latest"))
        }
        Fetch::Oci { image } => format!("image {image}"),
        Fetch::Nuget { package, version } => {
            format!("NuGet {package}@{}", version.as_deref().unwrap_or("latest"))
        }
        Fetch::Mcpb { url, .. } => format!("bundle {url}"),
        Fetch::Nothing => "nothing (a remote server)".to_owned(),
    }
}

fn launch(program: PathBuf, args: Vec<String>) -> Launch {
    Launch {
        command: program.display().to_string(),
        args,
        cwd: None,
        env: BTreeMap::new(),
    }
}

/// Empties `dir` of an earlier attempt that did not finish, and creates it.
async fn prepare_dir(dir: &Path) -> Result<(), InstallError> {
    if dir.exists() {
        if dir.join(COMPLETE).exists() {
            // A finished copy of this very version: a reinstall replaces it.
            tracing::info!(dir = %dir.display(), "replacing an installed package directory");
        }
        tokio::fs::remove_dir_all(dir)
            .await
            .map_err(io_error("removing an earlier attempt at", dir))?;
    }
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(io_error("creating the package directory", dir))
}

/// Removes a package directory (a failed fetch's, or an updated server's old one), logging
/// rather than failing when it cannot.
pub(super) async fn remove_dir(dir: Option<&Path>) {
    if let Some(dir) = dir
        && let Err(error) = tokio::fs::remove_dir_all(dir).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), %error, "could not remove a package directory");
    }
}

//! Installing servers from the registry, and updating them safely.
//!
//! An install reads one version's server.json (from the registry, or the cached copy when it
//! cannot be reached), picks a source this machine can run, resolves the user's values into
//! a plan, fetches the package ahead of the first start into `<data>/packages/<server>/<version>`
//! and adds a spec that runs it by absolute path: `node` and the package's bin script, the
//! venv's console script, `docker run -i --rm`, `dnx`, or an unpacked bundle's command. A
//! failed step removes what it fetched and puts back the secrets it replaced (`kept`), so
//! nothing is left half-installed.
//!
//! An update (`update`) fetches the new version beside the old one, runs it once as a health
//! check (handshake and tools/list), switches the spec, and switches back if the server does
//! not come up. Secret values go to the keychain, never to a spec, the database or a command
//! line.
//!
//! This file holds the transaction: choose, plan, fetch, add, and roll back. Fetching, one
//! file per ecosystem, is `fetch`'s; what the install form shows is `detail`'s; planning
//! is the registry crate's.
//!
//! Registry documents come from [`RegistryCache`], and the dependency runs one way only,
//! install → registry_cache: the installer reads documents through the cache, wraps its errors
//! in [`InstallError::Registry`] and builds the install form from its listing view, while the
//! cache keeps and shows documents and knows nothing of installing, so search and listing need
//! no installer.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use switchboard_credentials::secrets::Secrets;
use switchboard_model::api::{AddServer, InstallReport, InstallServer, SecretsCheck, ServerView};
use switchboard_model::{Health, Origin, ServerName, ServerSpec, StartMode, Transport};
use switchboard_registry::plan::{self, Endpoint, Plan};
use switchboard_registry::{ServerJson, SourceKind, Values, runtime_args, validate};
use switchboard_store::CachedVersion;
use switchboard_supervisor::helper::Helpers;
use tokio::sync::Mutex;

use crate::control::{Control, ControlError};
use crate::registry_cache::RegistryCache;
use crate::runtime::Runtimes;
use fetch::{FetchContext, Fetched};
use kept::Kept;

mod detail;
mod error;
mod fetch;
mod kept;
mod update;

pub use error::InstallError;

/// Installs and updates servers from one registry.
#[derive(Debug)]
pub struct Installer {
    control: Arc<Control>,
    cache: Arc<RegistryCache>,
    /// Searched on first use (reading the login shell takes a moment), again on `doctor`.
    runtimes: Mutex<Option<Arc<Runtimes>>>,
    secrets: Secrets,
    packages: PathBuf,
    http: reqwest::Client,
    /// Runs the package managers and probes under the supervisor's watchdog.
    helpers: Helpers,
}

/// What the user allowed a package beyond the defaults: container flags that widen its reach,
/// and npm install scripts.
#[derive(Clone, Debug, Default)]
struct Consent {
    runtime_args: Vec<String>,
    scripts: bool,
    /// Today's dependencies, not those as of the version's publish time.
    latest_deps: bool,
}

/// A plan, and what its fetch needs besides: a bundle's own settings and what the user allowed.
struct Planned {
    plan: Plan,
    /// The values the server.json's form does not ask for.
    bundle_values: Values,
    consent: Consent,
}

impl Installer {
    pub fn new(
        control: Arc<Control>,
        cache: Arc<RegistryCache>,
        secrets: Secrets,
        packages: PathBuf,
    ) -> Self {
        Self {
            helpers: control.supervisor().helpers(),
            control,
            cache,
            secrets,
            runtimes: Mutex::new(None),
            packages,
            http: reqwest::Client::builder()
                .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
        }
    }

    pub fn cache(&self) -> &RegistryCache {
        &self.cache
    }

    /// Whether secret values can be stored now: a read of a name nobody uses.
    pub async fn secrets_check(&self) -> SecretsCheck {
        SecretsCheck {
            store: self.secrets.describe(),
            error: self
                .secrets
                .get("switchboard/doctor-probe")
                .await
                .err()
                .map(|e| e.to_string()),
        }
    }

    pub async fn runtimes(&self) -> Arc<Runtimes> {
        let mut known = self.runtimes.lock().await;
        match &*known {
            Some(runtimes) => Arc::clone(runtimes),
            None => Arc::clone(known.insert(Arc::new(Runtimes::discover(&self.helpers).await))),
        }
    }

    /// Searches again (after the user installed a runtime, say).
    pub async fn rediscover(&self) -> Arc<Runtimes> {
        let mut known = self.runtimes.lock().await;
        Arc::clone(known.insert(Arc::new(Runtimes::discover(&self.helpers).await)))
    }

    /// Local servers installed from each registry name.
    pub async fn installed(&self) -> Result<BTreeMap<String, Vec<String>>, ControlError> {
        let mut by_name: BTreeMap<String, Vec<String>> = BTreeMap::new();
        // From the store: listing servers would also sample every process's CPU and memory.
        for stored in self.control.store().servers().await? {
            if let Some(origin) = &stored.spec.origin {
                by_name
                    .entry(origin.name.clone())
                    .or_default()
                    .push(stored.spec.name.to_string());
            }
        }
        Ok(by_name)
    }

    pub async fn install(&self, request: InstallServer) -> Result<InstallReport, InstallError> {
        let read = self
            .cache
            .version(&request.name, request.version.as_deref())
            .await?;
        let cached = read.value;
        let server = installable(&cached)?;
        let local = self.free_local_name(&server, request.as_name.as_ref()).await?;
        let prefer = request
            .source
            .as_deref()
            .map(str::parse::<SourceKind>)
            .transpose()?;
        let runtimes = self.runtimes().await;
        let source = plan::select(&server, prefer, |r| runtimes.has(r))?;
        let consent = Consent {
            runtime_args: request.allow_runtime_args.clone(),
            scripts: request.allow_scripts,
            latest_deps: request.latest_deps,
        };
        let published_at = cached.published_at.as_deref();
        let planned = plan_for(&server, source, &request.values, published_at, consent)?;
        let mut warnings = install_warnings(&planned.plan, &cached, read.offline);
        let report = |view, fetched, warnings, dry_run| InstallReport {
            name: server.name.clone(),
            version: server.version.clone(),
            source: source.kind.to_string(),
            server: view,
            fetched,
            warnings,
            dry_run,
        };
        if request.dry_run {
            return Ok(report(None, would_fetch(&planned.plan), warnings, true));
        }

        let fetched = self.fetch(&local, &server, &planned, &runtimes).await?;
        warnings.extend(fetched.notes.iter().cloned());
        let start = request.start.unwrap_or(StartMode::OnDemand);
        let view = self
            .add(&local, &server, &planned.plan, &fetched, !request.disabled, start)
            .await?;
        Ok(report(Some(view), fetched.described, warnings, false))
    }

    /// The local name an install of `server` gets: the one `asked`, or one made from its
    /// registry name, which then must not be installed already. Refused before anything is
    /// fetched when a server has that name: the fetch would replace its package directory if
    /// it holds the same version.
    async fn free_local_name(
        &self,
        server: &ServerJson,
        asked: Option<&ServerName>,
    ) -> Result<ServerName, InstallError> {
        let local = match asked {
            Some(name) => name.clone(),
            None => local_name(&server.name)?,
        };
        let installed = self.installed().await?;
        if let Some(existing) = installed.get(&server.name).and_then(|names| names.first())
            && asked.is_none()
        {
            return Err(InstallError::AlreadyInstalled {
                name: server.name.clone(),
                server: ServerName::new(existing.clone()).map_err(|_| InstallError::NoLocalName {
                    name: existing.clone(),
                })?,
            });
        }
        if self.control.get(&local).await.is_ok() {
            return Err(ControlError::Store(switchboard_store::StoreError::Exists(local)).into());
        }
        Ok(local)
    }

    /// Fetches the plan's package into `packages/<local>/<registry version>`: unique per update
    /// even when the package version is not.
    async fn fetch(
        &self,
        local: &ServerName,
        server: &ServerJson,
        planned: &Planned,
        runtimes: &Runtimes,
    ) -> Result<Fetched, InstallError> {
        let dir = crate::packages::version_dir(&self.packages, local, &server.version);
        fetch::fetch(&FetchContext {
            dir: &dir,
            server,
            plan: &planned.plan,
            bundle_values: &planned.bundle_values,
            runtimes,
            consent: &planned.consent,
            helpers: &self.helpers,
            http: &self.http,
        })
        .await
    }

    /// Adds the spec for what was fetched; when that fails, rolls the install back.
    async fn add(
        &self,
        local: &ServerName,
        server: &ServerJson,
        plan: &Plan,
        fetched: &Fetched,
        enabled: bool,
        start: StartMode,
    ) -> Result<ServerView, InstallError> {
        let mut kept = Vec::new();
        let added = match self.spec_for(local, server, plan, fetched, None, &mut kept).await {
            Ok(mut spec) => {
                spec.start.mode = start;
                self.control
                    .add(AddServer {
                        spec,
                        enabled,
                        secrets: Default::default(),
                    })
                    .await
                    .map_err(InstallError::from)
            }
            Err(error) => Err(error),
        };
        if added.is_err() {
            self.roll_back(kept, fetched).await;
        }
        added
    }

    /// Undoes a failed install or update: the secrets it wrote put back as they were, and the
    /// package directory it fetched removed.
    async fn roll_back(&self, kept: Vec<Kept>, fetched: &Fetched) {
        self.restore(kept).await;
        fetch::remove_dir(fetched.dir.as_deref()).await;
    }

    /// The spec for `plan`, its secret values moved into the keychain (recorded in `kept`, so
    /// a failure can put back what was there).
    async fn spec_for(
        &self,
        local: &ServerName,
        server: &ServerJson,
        plan: &Plan,
        fetched: &Fetched,
        previous: Option<&ServerSpec>,
        kept: &mut Vec<Kept>,
    ) -> Result<ServerSpec, InstallError> {
        let mut launch = fetched.launch.clone();
        launch.env = self.keep(local, &fetched.env, kept).await?;
        let transport = match &plan.endpoint {
            Endpoint::Stdio => Transport::Stdio(launch),
            Endpoint::LocalHttp { url } => Transport::LocalHttp {
                launch,
                url: url.clone(),
            },
            Endpoint::Remote { url, headers, .. } => Transport::RemoteHttp {
                url: url.clone(),
                headers: self.keep(local, headers, kept).await?,
            },
        };
        let mut health = previous.map(|p| p.health).unwrap_or_default();
        if previous.is_none() && plan.source.kind == SourceKind::Oci {
            // A container's first start may pull layers the install did not.
            health.startup_timeout_ms = health
                .startup_timeout_ms
                .max(Health::default().startup_timeout_ms * 2);
        }
        Ok(ServerSpec {
            name: local.clone(),
            transport,
            restart: previous.map(|p| p.restart).unwrap_or_default(),
            health,
            sharing: previous.map(|p| p.sharing).unwrap_or_default(),
            protocol: previous.map(|p| p.protocol).unwrap_or_default(),
            start: previous.map(|p| p.start).unwrap_or_default(),
            origin: Some(self.origin(server, plan, fetched)),
        })
    }

    /// Where the spec came from: the registry version, its non-secret inputs, its package
    /// directory and what the user allowed, for updates.
    fn origin(&self, server: &ServerJson, plan: &Plan, fetched: &Fetched) -> Origin {
        Origin {
            registry: self.cache.url().to_owned(),
            name: server.name.clone(),
            version: server.version.clone(),
            source: plan.source.kind.to_string(),
            package_version: fetched.package_version.clone(),
            inputs: plan.inputs.clone(),
            package_dir: fetched.dir.clone(),
            allowed_runtime_args: fetched.consent.runtime_args.clone(),
            allow_scripts: fetched.consent.scripts,
            latest_deps: fetched.consent.latest_deps,
        }
    }
}

fn parse(cached: &CachedVersion) -> Result<ServerJson, InstallError> {
    validate::parse(&cached.document).map_err(|violation| InstallError::Schema {
        name: cached.name.clone(),
        version: cached.version.clone(),
        violation,
    })
}

/// The version's document, unless it is invalid or was deleted from the registry.
fn installable(cached: &CachedVersion) -> Result<ServerJson, InstallError> {
    let server = parse(cached)?;
    not_deleted(cached)?;
    Ok(server)
}

/// Refuses a version deleted from the registry.
fn not_deleted(cached: &CachedVersion) -> Result<(), InstallError> {
    if cached.status == "deleted" {
        return Err(InstallError::Deleted {
            name: cached.name.clone(),
            version: cached.version.clone(),
            reason: None,
        });
    }
    Ok(())
}

/// The plan for `source` with `values` (a bundle's own settings split off), its
/// dependencies dated unless the user asked for the latest, its runtime arguments held to
/// what the user allowed.
fn plan_for(
    server: &ServerJson,
    source: plan::Source,
    values: &Values,
    published_at: Option<&str>,
    consent: Consent,
) -> Result<Planned, InstallError> {
    let (plan_values, bundle_values) = split_values(server, source, values);
    let mut plan = plan::plan(server, source, &plan_values)?;
    if !consent.latest_deps {
        plan.pin_dependencies(published_at);
    }
    runtime_args::check_plan(&plan, &consent.runtime_args)?;
    Ok(Planned {
        plan,
        bundle_values,
        consent,
    })
}

/// Values for the server.json's form, and the rest (a bundle's own settings).
fn split_values(server: &ServerJson, source: plan::Source, values: &Values) -> (Values, Values) {
    if source.kind != SourceKind::Mcpb {
        return (values.clone(), Values::new());
    }
    let form = plan::form(server, source);
    values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .partition(|(key, _)| form.iter().any(|f| &f.key == key))
}

/// The plan's warnings, then the registry's status and whether the copy was read offline.
fn install_warnings(plan: &Plan, cached: &CachedVersion, offline: Option<String>) -> Vec<String> {
    let mut warnings = plan.warnings.clone();
    if cached.status == "deprecated" {
        warnings.push(format!(
            "{}@{} is deprecated in the registry",
            cached.name, cached.version
        ));
    }
    if let Some(reason) = offline {
        warnings.push(format!("installed from the cached registry copy: {reason}"));
    }
    warnings
}

/// What a dry run says it would fetch, and as of which day.
fn would_fetch(plan: &Plan) -> String {
    match &plan.dependencies_as_of {
        Some(date) => format!("would fetch {}; {}", fetch::describe(&plan.fetch), date.summary()),
        None => format!("would fetch {}", fetch::describe(&plan.fetch)),
    }
}

/// `io.github.owner/server-time` → `server-time`, made a valid server name.
fn local_name(registry_name: &str) -> Result<ServerName, InstallError> {
    let last = registry_name.rsplit('/').next().unwrap_or(registry_name);
    let mut name: String = last
        .to_ascii_lowercase()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name.insert_str(0, "mcp-");
    }
    name.truncate(32);
    let name = name.trim_end_matches(['-', '_']).to_owned();
    ServerName::new(name).map_err(|_| InstallError::NoLocalName {
        name: registry_name.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_come_from_the_registry_name() {
        let name = |n: &str| local_name(n).map(|s| s.to_string()).ok();
        assert_eq!(
            name("io.github.modelcontextprotocol/server-time").as_deref(),
            Some("server-time")
        );
        assert_eq!(name("io.github.x/Context7.MCP").as_deref(), Some("context7-mcp"));
        assert_eq!(name("io.github.x/7zip").as_deref(), Some("mcp-7zip"));
        assert!(
            name("io.github.x/a-very-long-server-name-that-goes-past-the-limit")
                .is_some_and(|n| n.len() <= 32)
        );
    }
}

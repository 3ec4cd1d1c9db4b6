//! Installing servers from the registry, and updating them safely.
//!
//! An install reads one version's server.json (from the registry, or the cached copy when it
//! cannot be reached), picks a source this machine can run, resolves the user's values into
//! a plan, fetches the package ahead of the first start into `<data>/packages/<server>/<version>`
//! and adds a spec that runs it by absolute path: `node` and the package's bin script, the
//! venv's console script, `docker run -i --rm`, `dnx`, or an unpacked bundle's command. A
//! failed step removes what it fetched, so nothing is left half-installed.
//!
//! An update fetches the new version beside the old one, runs it once as a health check
//! (handshake and tools/list), switches the spec, and switches back if the server does not
//! come up. Secret values are refused until the keychain store exists: they must never reach
//! a spec, the database or a command line. Registry documents are [`RegistryCache`]'s;
//! planning is the registry crate's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use switchboard_model::api::{
    AddServer, InputChanges, InputField, InputPlace, InstallReport, InstallServer, InstallSource,
    RegistryDetail, SecretsCheck, ServerView, UpdateOutcome, UpdateReport, UpdateServer,
};
use switchboard_model::{
    Health, Launch, Origin, ServerName, ServerSpec, ServerState, Transport, ValueSource,
};
use switchboard_registry::DependencyDate;
use switchboard_registry::identifier::fetch_target;
use switchboard_registry::mcpb::{Manifest, ManifestError};
use switchboard_registry::plan::{self, Endpoint, Fetch, Plan, Resolved};
use switchboard_registry::runtime_args::{self, RuntimeArgError};
use switchboard_registry::{
    PlanError, RegistryError, Runtime, SchemaViolation, ServerJson, SourceKind, Values, validate,
};
use switchboard_store::CachedVersion;
use tokio::sync::Mutex;

use crate::bundle::{self, UnpackError};
use crate::control::{Control, ControlError};
use crate::registry_cache::{self, RegistryCache, RegistryCacheError};
use crate::runtime::{Runtimes, prepend_path};
use crate::secrets::{self, Secrets, SecretsError};
use crate::supervisor::helper::{HelperCommand as Command, HelperError, Helpers};
use dated::Dated;

mod dated;

/// A secret an install or update wrote, and what it replaced.
#[derive(Debug)]
struct Kept {
    key: String,
    before: Option<String>,
}

/// Why a switch to a new version did not happen.
enum Switch {
    /// The new version failed its health check or did not come up; the old one runs.
    Failed(String),
    Error(InstallError),
}

/// Longest a package manager may take to fetch one package.
const FETCH_TIMEOUT: Duration = Duration::from_secs(600);
/// Largest bundle downloaded.
const MAX_BUNDLE_BYTES: u64 = 512 << 20;
/// How long an updated server has to come up before the update is undone.
const SWITCH_PATIENCE: Duration = Duration::from_secs(120);
/// Marks a package directory whose fetch finished; one without it is debris and is replaced.
const COMPLETE: &str = ".switchboard-complete";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InstallError {
    #[error(transparent)]
    Registry(#[from] RegistryCacheError),
    #[error("{name}@{version} cannot be installed as published: {violation}")]
    Schema {
        name: String,
        version: String,
        violation: SchemaViolation,
    },
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    RuntimeArg(#[from] RuntimeArgError),
    #[error("the bundle of {name} cannot be run: {source}")]
    Manifest { name: String, source: ManifestError },
    #[error("{name}@{version} was deleted from the registry and cannot be installed{}", reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default())]
    Deleted {
        name: String,
        version: String,
        reason: Option<String>,
    },
    #[error(
        "{name} is already installed as server {server}; give another local name with --as, or `switchboard update {server}`"
    )]
    AlreadyInstalled { name: String, server: ServerName },
    #[error("`{name}` cannot be made a server name; give one with --as")]
    NoLocalName { name: String },
    #[error(
        "server {0} was not installed from a registry, so it has nothing to update from; remove and install it"
    )]
    NotFromRegistry(ServerName),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error("{what} failed: {detail}")]
    Fetch { what: String, detail: String },
    #[error("{what} failed: {source}")]
    Helper { what: String, source: HelperError },
    #[error(transparent)]
    Unpack(#[from] UnpackError),
    #[error(
        "the bundle from {url} does not match its published SHA-256 (expected {expected}, got {actual}); it was not installed"
    )]
    Checksum {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("{doing} {path}: {source}; check free space and permissions of the data directory")]
    Io {
        doing: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the update of {server} to {version} failed its health check, so {server} stays on {kept}: {reason}"
    )]
    UpdateFailed {
        server: ServerName,
        version: String,
        kept: String,
        reason: String,
    },
    #[error(transparent)]
    Control(#[from] ControlError),
}

fn io_error(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io { doing, path, source }
}

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

/// A package fetched into its directory, and the command that runs it.
struct Fetched {
    /// The command, its environment not yet filled in (see `env`).
    launch: Launch,
    /// The environment, secret values included until they are moved to the keychain.
    env: BTreeMap<String, Resolved>,
    dir: Option<PathBuf>,
    /// The exact package version, when the plan did not name one.
    package_version: Option<String>,
    described: String,
    /// What the user allowed beyond the defaults, kept in the origin for updates.
    consent: Consent,
    /// Things the fetch found that the user should know (install scripts not run).
    notes: Vec<String>,
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

    /// One version's details: its document, versions and every source with its inputs.
    pub async fn detail(&self, name: &str, version: Option<&str>) -> Result<RegistryDetail, InstallError> {
        let read = self.cache.version(name, version).await?;
        let versions = self
            .cache
            .versions(name)
            .await
            .map(|r| r.value)
            .unwrap_or_default();
        let installed = self.installed().await?.remove(name).unwrap_or_default();
        let mut detail = RegistryDetail {
            server: registry_cache::summary(&read.value, installed),
            versions: versions.iter().map(registry_cache::version_view).collect(),
            sources: Vec::new(),
            document: read.value.document.clone(),
            offline: read.offline,
        };
        if let Ok(server) = validate::parse(&read.value.document) {
            let runtimes = self.runtimes().await;
            let selected = plan::select(&server, None, |r| runtimes.has(r)).ok();
            detail.sources = plan::sources(&server)
                .into_iter()
                .map(|source| InstallSource {
                    kind: source.kind.to_string(),
                    target: target_of(&server, source),
                    fields: plan::form(&server, source),
                    unavailable: plan::select(&server, Some(source.kind), |r| runtimes.has(r))
                        .err()
                        .map(|e| e.to_string()),
                    selected: selected == Some(source),
                })
                .collect();
        }
        Ok(detail)
    }

    pub async fn install(&self, request: InstallServer) -> Result<InstallReport, InstallError> {
        let read = self
            .cache
            .version(&request.name, request.version.as_deref())
            .await?;
        let cached = read.value;
        let server = parse(&cached)?;
        if cached.status == "deleted" {
            return Err(InstallError::Deleted {
                name: cached.name,
                version: cached.version,
                reason: None,
            });
        }
        let local = match &request.as_name {
            Some(name) => name.clone(),
            None => local_name(&server.name)?,
        };
        if let Some(existing) = self
            .installed()
            .await?
            .get(&server.name)
            .and_then(|names| names.first())
            && request.as_name.is_none()
        {
            return Err(InstallError::AlreadyInstalled {
                name: server.name.clone(),
                server: ServerName::new(existing.clone()).map_err(|_| InstallError::NoLocalName {
                    name: existing.clone(),
                })?,
            });
        }
        // Refused before anything is fetched: the fetch would replace that server's package
        // directory if it holds the same version.
        if self.control.get(&local).await.is_ok() {
            return Err(ControlError::Store(switchboard_store::StoreError::Exists(local)).into());
        }
        let prefer = request
            .source
            .as_deref()
            .map(str::parse::<SourceKind>)
            .transpose()?;
        let runtimes = self.runtimes().await;
        let source = plan::select(&server, prefer, |r| runtimes.has(r))?;
        let (plan_values, bundle_values) = split_values(&server, source, &request.values);
        let mut plan = plan::plan(&server, source, &plan_values)?;
        if !request.latest_deps {
            plan.pin_dependencies(cached.published_at.as_deref());
        }
        runtime_args::check_plan(&plan, &request.allow_runtime_args)?;
        let consent = Consent {
            runtime_args: request.allow_runtime_args.clone(),
            scripts: request.allow_scripts,
            latest_deps: request.latest_deps,
        };

        let mut warnings = plan.warnings.clone();
        if cached.status == "deprecated" {
            warnings.push(format!(
                "{}@{} is deprecated in the registry",
                cached.name, cached.version
            ));
        }
        if let Some(reason) = read.offline {
            warnings.push(format!("installed from the cached registry copy: {reason}"));
        }
        if request.dry_run {
            return Ok(InstallReport {
                name: server.name.clone(),
                version: server.version.clone(),
                source: source.kind.to_string(),
                server: None,
                fetched: match &plan.dependencies_as_of {
                    Some(date) => format!("would fetch {}; {}", describe_fetch(&plan.fetch), date.summary()),
                    None => format!("would fetch {}", describe_fetch(&plan.fetch)),
                },
                warnings,
                dry_run: true,
            });
        }

        let fetched = self
            .fetch(&local, &server, &plan, &bundle_values, &runtimes, consent)
            .await?;
        warnings.extend(fetched.notes.iter().cloned());
        let mut kept = Vec::new();
        let added = match self
            .spec_for(&local, &server, &plan, &fetched, None, &mut kept)
            .await
        {
            Ok(spec) => self
                .control
                .add(AddServer {
                    spec,
                    enabled: !request.disabled,
                    secrets: Default::default(),
                })
                .await
                .map_err(InstallError::from),
            Err(error) => Err(error),
        };
        let view = match added {
            Ok(view) => view,
            Err(error) => {
                self.restore(kept).await;
                remove_dir(fetched.dir.as_deref()).await;
                return Err(error);
            }
        };
        Ok(InstallReport {
            name: server.name.clone(),
            version: server.version.clone(),
            source: source.kind.to_string(),
            server: Some(view),
            fetched: fetched.described,
            warnings,
            dry_run: false,
        })
    }

    pub async fn update(
        &self,
        name: &ServerName,
        request: UpdateServer,
    ) -> Result<UpdateReport, InstallError> {
        let current = self.control.get(name).await?;
        let old_spec = current.spec.clone();
        let origin = old_spec
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
            return Ok(report(
                UpdateOutcome::UpToDate,
                InputChanges::default(),
                None,
                warnings,
            ));
        }
        if target.status == "deleted" {
            return Err(InstallError::Deleted {
                name: target.name.clone(),
                version: target.version.clone(),
                reason: None,
            });
        }
        let runtimes = self.runtimes().await;
        let kind: SourceKind = origin.source.parse()?;
        let source = plan::select(&server, Some(kind), |r| runtimes.has(r))?;
        let new_form = plan::form(&server, source);
        let old_form = match self.cache.version(&origin.name, Some(&origin.version)).await {
            Ok(old) => parse(&old.value)
                .ok()
                .and_then(|old_server| {
                    plan::select(&old_server, Some(kind), |_| true)
                        .ok()
                        .map(|s| plan::form(&old_server, s))
                })
                .unwrap_or_default(),
            Err(_) => Vec::new(),
        };
        let changes = input_changes(&old_form, &new_form);
        let mut values: Values = origin
            .inputs
            .iter()
            .filter(|(key, _)| new_form.iter().any(|f| &f.key == *key))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        values.extend(request.values.clone());
        // Secret env vars and headers keep their values from the keychain unless given anew.
        for field in &new_form {
            let whole_value = matches!(field.place, InputPlace::Env | InputPlace::Header);
            if field.secret && whole_value && !values.contains_key(&field.key) {
                let stored = self.secrets.get(&secrets::key(name, &field.key)).await?;
                if let Some(value) = stored {
                    values.insert(field.key.clone(), vec![value]);
                }
            }
        }
        let (plan_values, bundle_values) = split_values(&server, source, &values);
        let mut plan = plan::plan(&server, source, &plan_values)?;
        let latest_deps = origin.latest_deps || request.latest_deps;
        if !latest_deps {
            plan.pin_dependencies(target.published_at.as_deref());
        }
        let mut allowed = origin.allowed_runtime_args.clone();
        allowed.extend(request.allow_runtime_args.iter().cloned());
        allowed.sort_unstable();
        allowed.dedup();
        runtime_args::check_plan(&plan, &allowed)?;
        let consent = Consent {
            runtime_args: allowed,
            scripts: origin.allow_scripts || request.allow_scripts,
            latest_deps,
        };
        warnings.extend(plan.warnings.iter().cloned());
        if request.dry_run {
            return Ok(report(UpdateOutcome::Available, changes, None, warnings));
        }

        let fetched = self
            .fetch(name, &server, &plan, &bundle_values, &runtimes, consent)
            .await?;
        warnings.extend(fetched.notes.iter().cloned());
        let mut kept = Vec::new();
        let switched = self
            .switch(name, &current, &server, &plan, &fetched, &mut kept)
            .await;
        let tools = match switched {
            Ok(tools) => tools,
            Err(error) => {
                self.restore(kept).await;
                remove_dir(fetched.dir.as_deref()).await;
                return Err(match error {
                    Switch::Failed(reason) => InstallError::UpdateFailed {
                        server: name.clone(),
                        version: target.version.clone(),
                        kept: origin.version.clone(),
                        reason,
                    },
                    Switch::Error(error) => error,
                });
            }
        };
        if origin.package_dir != fetched.dir {
            // Only ever a directory of this server's own under `packages/` (the spec is API
            // input; one stored before that was checked may name anything).
            let old_dir = origin.package_dir.as_deref().map(|dir| {
                crate::packages::contained(&self.packages, name, dir)
                    .inspect_err(|error| tracing::warn!(%error, "not removing an old package directory"))
            });
            remove_dir(old_dir.and_then(Result::ok).as_deref()).await;
        }
        Ok(report(UpdateOutcome::Updated, changes, tools, warnings))
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
            ServerState::Running { .. } | ServerState::Starting { .. }
        );
        let control_error = |e: ControlError| Switch::Error(e.into());
        self.control.update(name, new_spec).await.map_err(control_error)?;
        if was_running {
            let after = self
                .control
                .settle(name, SWITCH_PATIENCE)
                .await
                .map_err(control_error)?;
            if !matches!(after.status, ServerState::Running { .. }) {
                self.control.update(name, old_spec).await.map_err(control_error)?;
                return Err(Switch::Failed(format!(
                    "after the switch it was {}",
                    state_word(&after)
                )));
            }
        }
        Ok(tools)
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
            origin: Some(Origin {
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
            }),
        })
    }

    /// Literal values as they are; secret ones stored under `<server>/<NAME>` and referred to.
    async fn keep(
        &self,
        server: &ServerName,
        values: &BTreeMap<String, Resolved>,
        kept: &mut Vec<Kept>,
    ) -> Result<BTreeMap<String, ValueSource>, InstallError> {
        let mut sources = BTreeMap::new();
        for (name, value) in values {
            let source = if value.secret {
                let key = secrets::key(server, name);
                let before = self.secrets.get(&key).await?;
                self.secrets.set(&key, &value.text).await?;
                kept.push(Kept {
                    key: key.clone(),
                    before,
                });
                ValueSource::Secret { secret: key }
            } else {
                ValueSource::Literal(value.text.clone())
            };
            sources.insert(name.clone(), source);
        }
        Ok(sources)
    }

    /// Puts back the secrets `keep` replaced, after a failed install or update.
    async fn restore(&self, kept: Vec<Kept>) {
        for Kept { key, before } in kept.into_iter().rev() {
            let restored = match before {
                Some(value) => self.secrets.set(&key, &value).await,
                None => self.secrets.delete(&key).await.map(drop),
            };
            if let Err(error) = restored {
                tracing::warn!(%key, %error, "could not put back a secret after a failed change");
            }
        }
    }

    async fn fetch(
        &self,
        local: &ServerName,
        server: &ServerJson,
        plan: &Plan,
        bundle_values: &Values,
        runtimes: &Runtimes,
        consent: Consent,
    ) -> Result<Fetched, InstallError> {
        // By registry version: unique per update even when the package version is not.
        let dir = crate::packages::version_dir(&self.packages, local, &server.version);
        let needs_dir = matches!(
            plan.fetch,
            Fetch::Npm { .. } | Fetch::Pypi { .. } | Fetch::Mcpb { .. }
        );
        if needs_dir {
            prepare_dir(&dir).await?;
        }
        let result = self
            .fetch_into(&dir, server, plan, bundle_values, runtimes, consent)
            .await;
        match result {
            Ok(mut fetched) => {
                if needs_dir {
                    tokio::fs::write(dir.join(COMPLETE), b"")
                        .await
                        .map_err(io_error("marking the package complete in", &dir))?;
                    fetched.dir = Some(dir);
                }
                Ok(fetched)
            }
            Err(error) => {
                if needs_dir {
                    remove_dir(Some(&dir)).await;
                }
                Err(error)
            }
        }
    }

    async fn fetch_into(
        &self,
        dir: &Path,
        server: &ServerJson,
        plan: &Plan,
        bundle_values: &Values,
        runtimes: &Runtimes,
        consent: Consent,
    ) -> Result<Fetched, InstallError> {
        let need = |runtimes_wanted: &[Runtime]| {
            runtimes
                .first_of(runtimes_wanted)
                .map(|(runtime, found)| (runtime, found.path.clone()))
                .ok_or_else(|| {
                    let runtime = runtimes_wanted[0];
                    InstallError::Plan(PlanError::RuntimeMissing {
                        server: server.name.clone(),
                        runtime,
                        hint: runtime.install_hint(),
                    })
                })
        };
        let env = plan.env.clone();
        let fetched = |launch: Launch, package_version: Option<String>, described: String| Fetched {
            launch,
            env: env.clone(),
            dir: None,
            package_version,
            described,
            consent: consent.clone(),
            notes: Vec::new(),
        };
        match &plan.fetch {
            Fetch::Npm { package, version } => {
                let (_, node) = need(&[Runtime::Node])?;
                let (_, npm) = need(&[Runtime::Npm])?;
                // The identifier was checked as an npm name; `--` keeps it a package all the same.
                let spec = fetch_target(&plan.fetch).unwrap_or_default();
                let npm_install = |date: Option<&DependencyDate>| {
                    let mut command = Command::new(&npm);
                    command.args(["install", "--no-audit", "--no-fund", "--no-save"]);
                    if !consent.scripts {
                        command.arg("--ignore-scripts");
                    }
                    if let Some(date) = date {
                        command.arg(date.npm_arg());
                    }
                    command
                        .arg("--prefix")
                        .arg(dir)
                        .arg("--")
                        .arg(&spec)
                        .env("PATH", prepend_path(node.parent().unwrap_or(Path::new("/"))));
                    command
                };
                let what = format!("npm install {spec}");
                let date = plan.dependencies_as_of.as_ref();
                let dated = dated::run(&self.helpers, date, npm_install, &what).await?;
                let (bin, installed) = npm_bin(dir, package)?;
                let mut args = vec![bin.display().to_string()];
                args.extend(plan.package_args.iter().cloned());
                let mut done = fetched(
                    launch(node, args),
                    version.is_none().then(|| installed.clone()),
                    dated.describe(format!("npm {package}@{installed} into {}", dir.display())),
                );
                done.notes.extend(dated.note());
                if !consent.scripts {
                    done.notes.extend(crate::packages::skipped_scripts(dir));
                }
                Ok(done)
            }
            Fetch::Pypi { package, version } => {
                let (runtime, tool) = need(&[Runtime::Uv, Runtime::Python])?;
                let requirement = fetch_target(&plan.fetch).unwrap_or_default();
                let venv = dir.join("venv");
                let python_in_venv = venv_bin(&venv, "python");
                let mut dated = Dated::Latest;
                if runtime == Runtime::Uv {
                    let mut create = Command::new(&tool);
                    create.arg("venv").arg("--quiet").arg(&venv);
                    if let Some(python) = runtimes.get(Runtime::Python) {
                        create.arg("--python").arg(&python.path);
                    }
                    run_fetch(&self.helpers, create, "uv venv").await?;
                    let uv_install = |date: Option<&DependencyDate>| {
                        let mut install = Command::new(&tool);
                        install.args(["pip", "install", "--quiet"]);
                        if let Some(date) = date {
                            install.arg(date.uv_arg());
                        }
                        install
                            .arg("--python")
                            .arg(&python_in_venv)
                            .arg("--")
                            .arg(&requirement);
                        install
                    };
                    let what = format!("uv pip install {requirement}");
                    let date = plan.dependencies_as_of.as_ref();
                    dated = dated::run(&self.helpers, date, uv_install, &what).await?;
                } else {
                    if let Some(date) = &plan.dependencies_as_of {
                        dated = Dated::FellBack(dated::needs_uv(date));
                    }
                    let mut create = Command::new(&tool);
                    create.args(["-m", "venv"]).arg(&venv);
                    run_fetch(&self.helpers, create, "python -m venv").await?;
                    let mut install = Command::new(&python_in_venv);
                    install
                        .args([
                            "-m",
                            "pip",
                            "install",
                            "--quiet",
                            "--disable-pip-version-check",
                            "--",
                        ])
                        .arg(&requirement);
                    run_fetch(&self.helpers, install, &format!("pip install {requirement}")).await?;
                }
                let (script, installed) = console_script(&venv, package)?;
                let mut done = fetched(
                    launch(script, plan.package_args.clone()),
                    version.is_none().then(|| installed.clone()),
                    dated.describe(format!("PyPI {package}=={installed} into {}", venv.display())),
                );
                done.notes.extend(dated.note());
                Ok(done)
            }
            Fetch::Oci { image } => {
                let (runtime, tool) = need(&[Runtime::Docker, Runtime::Podman])?;
                let mut pull = Command::new(&tool);
                pull.args(["pull", "--quiet", "--", image]);
                run_fetch(&self.helpers, pull, &format!("{runtime} pull {image}")).await?;
                let mut args: Vec<String> = ["run", "-i", "--rm"].map(str::to_owned).to_vec();
                args.extend(plan.runtime_args.iter().cloned());
                // Values reach the container from the runtime's own environment, not argv.
                for key in plan.env.keys() {
                    args.extend(["-e".to_owned(), key.clone()]);
                }
                args.extend(["--".to_owned(), image.clone()]);
                args.extend(plan.package_args.iter().cloned());
                Ok(fetched(
                    launch(tool, args),
                    None,
                    format!("image {image} with {runtime}"),
                ))
            }
            Fetch::Nuget { package, version } => {
                let (_, dnx) = need(&[Runtime::Dnx])?;
                let spec = match version {
                    Some(version) => format!("{package}@{version}"),
                    None => package.clone(),
                };
                let mut args = vec![spec.clone(), "--yes".to_owned(), "--".to_owned()];
                args.extend(plan.package_args.iter().cloned());
                Ok(fetched(
                    launch(dnx, args),
                    None,
                    format!("NuGet {spec}, which dnx fetches on its first start"),
                ))
            }
            Fetch::Mcpb { url, sha256 } => {
                let bytes = self.download(url).await?;
                let actual = hex(&Sha256::digest(&bytes));
                if !actual.eq_ignore_ascii_case(sha256) {
                    return Err(InstallError::Checksum {
                        url: url.clone(),
                        expected: sha256.clone(),
                        actual,
                    });
                }
                let root = dir.join("bundle");
                let unpack_root = root.clone();
                tokio::task::spawn_blocking(move || bundle::unpack(&bytes, &unpack_root, &bundle::LIMITS))
                    .await
                    .map_err(|e| InstallError::Fetch {
                        what: "unpacking the bundle".to_owned(),
                        detail: e.to_string(),
                    })??;
                let manifest_path = root.join("manifest.json");
                let manifest_bytes =
                    tokio::fs::read(&manifest_path)
                        .await
                        .map_err(|_| InstallError::Manifest {
                            name: server.name.clone(),
                            source: ManifestError::Invalid(
                                "the bundle has no manifest.json at its root".to_owned(),
                            ),
                        })?;
                let manifest_error = |source| InstallError::Manifest {
                    name: server.name.clone(),
                    source,
                };
                let manifest = Manifest::parse(&manifest_bytes).map_err(manifest_error)?;
                check_bundle_values(&manifest, bundle_values)?;
                let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
                let command = manifest
                    .command(&root, platform(), &home, bundle_values)
                    .map_err(manifest_error)?;
                let program = match command.program.as_str() {
                    "node" => need(&[Runtime::Node])?.1,
                    "python" | "python3" => need(&[Runtime::Python])?.1,
                    "uv" => need(&[Runtime::Uv])?.1,
                    other => PathBuf::from(other),
                };
                let mut done = fetched(
                    launch(program, command.args),
                    None,
                    format!(
                        "bundle {} {} (SHA-256 verified) into {}",
                        manifest.name,
                        manifest.version,
                        root.display()
                    ),
                );
                done.env.extend(command.env);
                Ok(done)
            }
            Fetch::Nothing => Ok(fetched(
                launch(PathBuf::new(), Vec::new()),
                None,
                "nothing (a remote server)".to_owned(),
            )),
        }
    }

    async fn download(&self, url: &str) -> Result<Vec<u8>, InstallError> {
        let failed = |detail: String| InstallError::Fetch {
            what: format!("downloading {url}"),
            detail,
        };
        let parsed = url::Url::parse(url).map_err(|e| failed(e.to_string()))?;
        let loopback = matches!(parsed.host_str(), Some("127.0.0.1" | "localhost" | "[::1]"));
        if parsed.scheme() != "https" && !(parsed.scheme() == "http" && loopback) {
            return Err(failed("bundles are downloaded over https only".to_owned()));
        }
        let mut response = self
            .http
            .get(parsed)
            .timeout(FETCH_TIMEOUT)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        if !response.status().is_success() {
            return Err(failed(format!("the server answered {}", response.status())));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| failed(e.to_string()))? {
            if bytes.len() as u64 + chunk.len() as u64 > MAX_BUNDLE_BYTES {
                return Err(failed(format!(
                    "the bundle is over {} MiB",
                    MAX_BUNDLE_BYTES >> 20
                )));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }
}

fn parse(cached: &CachedVersion) -> Result<ServerJson, InstallError> {
    validate::parse(&cached.document).map_err(|violation| InstallError::Schema {
        name: cached.name.clone(),
        version: cached.version.clone(),
        violation,
    })
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

fn target_of(server: &ServerJson, source: plan::Source) -> String {
    match source.kind {
        SourceKind::StreamableHttp | SourceKind::Sse => server.remotes[source.index].url.clone(),
        _ => {
            let package = &server.packages[source.index];
            match &package.version {
                Some(version) => format!("{}@{version}", package.identifier),
                None => package.identifier.clone(),
            }
        }
    }
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

fn check_bundle_values(manifest: &Manifest, values: &Values) -> Result<(), InstallError> {
    let fields = manifest.fields();
    if let Some(unknown) = values.keys().find(|key| !fields.iter().any(|f| &f.key == *key)) {
        return Err(PlanError::UnknownInput {
            key: unknown.clone(),
            known: fields
                .iter()
                .map(|f| f.key.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
        .into());
    }
    let missing: Vec<String> = fields
        .iter()
        .filter(|f| f.required && f.default.is_none() && !values.contains_key(&f.key))
        .map(|f| f.key.clone())
        .collect();
    if !missing.is_empty() {
        return Err(PlanError::MissingInputs { keys: missing }.into());
    }
    Ok(())
}

fn launch(program: PathBuf, args: Vec<String>) -> Launch {
    Launch {
        command: program.display().to_string(),
        args,
        cwd: None,
        env: BTreeMap::new(),
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

fn describe_fetch(fetch: &Fetch) -> String {
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

fn state_word(view: &ServerView) -> String {
    serde_json::to_value(&view.status)
        .ok()
        .and_then(|v| v.get("state").and_then(|s| s.as_str()).map(str::to_owned))
        .unwrap_or_else(|| "not running".to_owned())
}

fn platform() -> &'static str {
    if cfg!(target_os = "macos") {
        "darwin"
    } else if cfg!(windows) {
        "win32"
    } else {
        "linux"
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
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

async fn remove_dir(dir: Option<&Path>) {
    if let Some(dir) = dir
        && let Err(error) = tokio::fs::remove_dir_all(dir).await
        && error.kind() != std::io::ErrorKind::NotFound
    {
        tracing::warn!(dir = %dir.display(), %error, "could not remove a package directory");
    }
}

/// Runs a package manager as a helper (its own group under the watchdog, killed with all it
/// started when the install is cancelled or `FETCH_TIMEOUT` passes), turning a failure into
/// its last lines of output.
async fn run_fetch(helpers: &Helpers, mut command: Command, what: &str) -> Result<(), InstallError> {
    command.deadline(FETCH_TIMEOUT);
    let output = helpers
        .run(&command)
        .await
        .map_err(|source| InstallError::Helper {
            what: what.to_owned(),
            source,
        })?;
    if output.success() {
        return Ok(());
    }
    let tail = output.stderr.last_lines(6);
    Err(InstallError::Fetch {
        what: what.to_owned(),
        detail: if tail.is_empty() {
            format!("it {}", output.exit)
        } else {
            tail
        },
    })
}

/// The script an npm package's `bin` names (the one named like the package when there are
/// several), and the version installed.
fn npm_bin(prefix: &Path, package: &str) -> Result<(PathBuf, String), InstallError> {
    let root = prefix.join("node_modules").join(package);
    let manifest_path = root.join("package.json");
    let bytes = std::fs::read(&manifest_path).map_err(io_error("reading", &manifest_path))?;
    let manifest: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| InstallError::Fetch {
        what: format!("reading {}", manifest_path.display()),
        detail: e.to_string(),
    })?;
    let version = manifest["version"].as_str().unwrap_or_default().to_owned();
    let unscoped = package.rsplit('/').next().unwrap_or(package);
    let bin = match &manifest["bin"] {
        serde_json::Value::String(path) => Some(path.clone()),
        serde_json::Value::Object(bins) => bins
            .get(unscoped)
            .or_else(|| (bins.len() == 1).then(|| bins.values().next()).flatten())
            .and_then(|v| v.as_str())
            .map(str::to_owned),
        _ => None,
    };
    let bin = bin.ok_or_else(|| InstallError::Fetch {
        what: format!("finding the program of npm package {package}"),
        detail: "its package.json names no single `bin` to run".to_owned(),
    })?;
    Ok((root.join(bin), version))
}

fn venv_bin(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// The console script a PyPI package installs (the one named like the package when there are
/// several), and the version installed.
fn console_script(venv: &Path, package: &str) -> Result<(PathBuf, String), InstallError> {
    let normalize = |name: &str| name.to_ascii_lowercase().replace(['-', '.'], "_");
    let wanted = normalize(package);
    let lib = if cfg!(windows) {
        venv.join("Lib")
    } else {
        venv.join("lib")
    };
    let mut site_packages = Vec::new();
    for entry in std::fs::read_dir(&lib)
        .map_err(io_error("reading", &lib))?
        .flatten()
    {
        let candidate = if cfg!(windows) {
            entry.path()
        } else {
            entry.path().join("site-packages")
        };
        if candidate.ends_with("site-packages") && candidate.is_dir() {
            site_packages.push(candidate);
        }
    }
    let not_found = |detail: String| InstallError::Fetch {
        what: format!("finding the program of PyPI package {package}"),
        detail,
    };
    for dir in site_packages {
        for entry in std::fs::read_dir(&dir)
            .map_err(io_error("reading", &dir))?
            .flatten()
        {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = file_name.strip_suffix(".dist-info") else {
                continue;
            };
            let Some((dist, version)) = stem.rsplit_once('-') else {
                continue;
            };
            if normalize(dist) != wanted {
                continue;
            }
            let entry_points =
                std::fs::read_to_string(entry.path().join("entry_points.txt")).unwrap_or_default();
            let scripts = console_scripts(&entry_points);
            let script = scripts
                .iter()
                .find(|s| normalize(s) == wanted)
                .or_else(|| (scripts.len() == 1).then(|| &scripts[0]))
                .ok_or_else(|| {
                    not_found(if scripts.is_empty() {
                        "it installs no console script".to_owned()
                    } else {
                        format!("it installs several console scripts ({})", scripts.join(", "))
                    })
                })?;
            return Ok((venv_bin(venv, script), version.to_owned()));
        }
    }
    Err(not_found(
        "its metadata was not found in the environment".to_owned(),
    ))
}

fn console_scripts(entry_points: &str) -> Vec<String> {
    let mut in_section = false;
    let mut scripts = Vec::new();
    for line in entry_points.lines().map(str::trim) {
        if line.starts_with('[') {
            in_section = line == "[console_scripts]";
        } else if in_section && let Some((name, _)) = line.split_once('=') {
            scripts.push(name.trim().to_owned());
        }
    }
    scripts
}

impl From<RegistryError> for InstallError {
    fn from(error: RegistryError) -> Self {
        Self::Registry(error.into())
    }
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

    #[test]
    fn console_scripts_are_read_from_entry_points() {
        let text =
            "[console_scripts]\nmcp-server-time = mcp_server_time:main\n\n[gui_scripts]\nother = x:y\n";
        assert_eq!(console_scripts(text), ["mcp-server-time"]);
    }

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

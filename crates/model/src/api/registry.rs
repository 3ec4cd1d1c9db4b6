//! The MCP registry and installs: the inputs a server needs, registry listings, install and
//! update requests with their reports, and the doctor's report on what installs need.
//!
//! Shapes only; reading the registry and installing are `switchboard-registry`'s and the
//! daemon's.

use std::collections::BTreeMap;

use super::ServerView;
use crate::{ServerName, UnixMillis};

/// One input a server needs: the form the CLI prompts through and the UI renders.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InputField {
    /// The name `--set KEY=VALUE` uses: an env var, header, flag, value hint or variable.
    pub key: String,
    pub place: InputPlace,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub required: bool,
    /// Its value goes to the keychain and is shown only as set or missing.
    pub secret: bool,
    pub format: InputFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    /// It may be given several times (a list of directories, say).
    pub repeated: bool,
}

/// Where an input's value ends up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum InputPlace {
    Env,
    Header,
    Argument,
    /// Part of another value: a `{variable}` in an argument, header or URL, or a bundle setting.
    Variable,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "lowercase")]
pub enum InputFormat {
    #[default]
    String,
    Number,
    Boolean,
    Filepath,
}

/// A server as the registry lists it: one version, normally the latest.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryServer {
    pub name: String,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub description: String,
    /// `active`, `deprecated` or `deleted`.
    pub status: String,
    pub is_latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    /// Ways to run it: `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http`, `sse`.
    pub sources: Vec<String>,
    /// Local servers installed from it.
    pub installed_as: Vec<String>,
    /// Why it cannot be installed as published (a schema violation naming the field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
    /// Departures from the schema that do not stop an install (an over-long description, an
    /// unknown field), each naming the field.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// `GET /api/v1/registry/servers?search=TERM`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistrySearch {
    pub registry: String,
    pub servers: Vec<RegistryServer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at_ms: Option<UnixMillis>,
    /// Set when the registry could not be reached and the cache answered: why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
}

/// `GET /api/v1/registry/servers/{name}[?version=V]`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryDetail {
    pub server: RegistryServer,
    pub versions: Vec<RegistryVersion>,
    /// Every way to run this version, with the inputs each needs.
    pub sources: Vec<InstallSource>,
    /// The server.json as published.
    pub document: serde_json::Value,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offline: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryVersion {
    pub version: String,
    pub status: String,
    pub is_latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InstallSource {
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`.
    pub kind: String,
    /// Its package or identifier (a URL for remotes and bundles).
    pub target: String,
    pub fields: Vec<InputField>,
    /// Why it cannot run on this machine (a runtime missing), if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unavailable: Option<String>,
    /// The one an install picks when none is asked for.
    pub selected: bool,
}

/// Body of `POST /api/v1/install`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct InstallServer {
    /// The registry name, e.g. `io.github.modelcontextprotocol/server-time`.
    pub name: String,
    /// An exact version; the latest when absent.
    pub version: Option<String>,
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`; the first that can
    /// run here when absent.
    pub source: Option<String>,
    /// The local server name; derived from the registry name when absent.
    #[serde(rename = "as")]
    pub as_name: Option<ServerName>,
    /// Input values by field key; repeated fields take several.
    pub values: BTreeMap<String, Vec<String>>,
    /// Add it stopped rather than started.
    pub disabled: bool,
    pub dry_run: bool,
    /// Container runtime flags (`--volume`, `--privileged`…) the document asks for that reach
    /// beyond the container, which the user allows; without them such a document is refused.
    pub allow_runtime_args: Vec<String>,
    /// Run the npm package's install scripts (off by default: `npm install --ignore-scripts`).
    pub allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today, not as of the version's publish
    /// time (the default, where the registry gives that time).
    pub latest_deps: bool,
    /// When it runs; on demand when absent: a server from the registry sleeps until used.
    pub start: Option<crate::StartMode>,
}

/// Answer of `POST /api/v1/install`.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InstallReport {
    pub name: String,
    pub version: String,
    pub source: String,
    /// The local server (absent on a dry run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerView>,
    /// What was fetched and where it was pinned, in words.
    pub fetched: String,
    pub warnings: Vec<String>,
    pub dry_run: bool,
}

/// Body of `POST /api/v1/servers/{name}/update`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct UpdateServer {
    /// An exact version; the latest when absent.
    pub version: Option<String>,
    /// Values for inputs the new version adds, by field key.
    pub values: BTreeMap<String, Vec<String>>,
    pub dry_run: bool,
    /// Container runtime flags to allow beyond those allowed at install (see [`InstallServer`]).
    pub allow_runtime_args: Vec<String>,
    /// Run the npm package's install scripts from now on.
    pub allow_scripts: bool,
    /// Resolve npm and PyPI dependencies as they are today, not as of the new version's
    /// publish time, from now on (an install with `latest_deps` keeps it too).
    pub latest_deps: bool,
}

/// Answer of `POST /api/v1/servers/{name}/update`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UpdateReport {
    pub server: ServerName,
    pub from: String,
    pub to: String,
    pub outcome: UpdateOutcome,
    pub inputs: InputChanges,
    /// Tools the new version listed in its health check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<u32>,
    pub warnings: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum UpdateOutcome {
    UpToDate,
    Updated,
    /// A dry run found a newer version.
    Available,
}

/// How the inputs of two versions differ, by field key.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct InputChanges {
    /// Required in the new version and not in the old.
    pub newly_required: Vec<String>,
    /// New in the new version and optional.
    pub added: Vec<String>,
    /// In the old version only; their values are dropped.
    pub removed: Vec<String>,
}

/// `GET /api/v1/doctor`: what the daemon finds on this machine.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct DoctorReport {
    pub runtimes: Vec<RuntimeCheck>,
    pub login_shell: ShellCheck,
    pub registry: RegistryCheck,
    pub secrets: SecretsCheck,
    pub store: StoreCheck,
}

/// The database and its newest automatic backup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct StoreCheck {
    pub path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_backup_ms: Option<UnixMillis>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct SecretsCheck {
    /// Where secret values live, in words.
    pub store: String,
    /// Why it cannot be used now, if it cannot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RuntimeCheck {
    /// `node`, `npm`, `uv`, `python`, `docker`, `podman` or `dnx`.
    pub runtime: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Where it was found: `PATH`, `login shell`, or a version manager's directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub found_via: Option<String>,
    /// Package types that need it.
    pub needed_by: Vec<String>,
    /// How to install it, when it is missing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ShellCheck {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Directories the login shell's PATH adds to the daemon's own.
    pub added_dirs: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct RegistryCheck {
    pub url: String,
    pub cached_versions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub synced_at_ms: Option<UnixMillis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

//! Why an install or update did not happen, in words that say what to do about it.
//!
//! It owns [`InstallError`] and the small constructors the installer's parts share; it does not
//! decide HTTP statuses (the control API maps each variant to one).

use std::path::{Path, PathBuf};

use switchboard_credentials::secrets::SecretsError;
use switchboard_model::ServerName;
use switchboard_registry::mcpb::ManifestError;
use switchboard_registry::runtime_args::RuntimeArgError;
use switchboard_registry::{PlanError, RegistryError, SchemaViolation};
use switchboard_supervisor::helper::HelperError;

use crate::bundle::UnpackError;
use crate::control::ControlError;
use crate::registry_cache::RegistryCacheError;

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

impl From<RegistryError> for InstallError {
    fn from(error: RegistryError) -> Self {
        Self::Registry(error.into())
    }
}

/// Turns an I/O error on `path` into [`InstallError::Io`], saying what was being done.
pub(super) fn io_error(doing: &'static str, path: &Path) -> impl FnOnce(std::io::Error) -> InstallError {
    let path = path.to_path_buf();
    move |source| InstallError::Io { doing, path, source }
}

//! How the control API says no: [`Failure`], a status with a stable code and a message that
//! says how to fix it, and the mapping of every error the daemon's rooms return to one.
//!
//! The handlers that produce these are [`super`]'s; the wire shape is `switchboard_model`'s
//! `ApiError`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use switchboard_clients::write::WriteError;
use switchboard_credentials::oauth::OAuthError;
use switchboard_credentials::seal::SealError;
use switchboard_credentials::secrets::SecretsError;
use switchboard_gateway::AccessError;
use switchboard_gateway::profiles::ProfileError;
use switchboard_gateway::quarantine::QuarantineError;
use switchboard_http::door::Refusal;
use switchboard_model::api::{ApiError, ApiErrorBody};
use switchboard_registry::{PlanError, RegistryError};
use switchboard_store::StoreError;

use crate::client_config::ClientConfigError;
use crate::control::ControlError;
use crate::install::InstallError;
use crate::registry_cache::RegistryCacheError;
use crate::tailnet::TailnetError;
use crate::web::WebError;

/// An API error: a status, a stable code and a message that says how to fix it.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    code: &'static str,
    message: String,
}

impl Failure {
    pub(super) fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        let body = ApiError {
            error: ApiErrorBody {
                code: self.code.to_owned(),
                message: self.message,
            },
        };
        (self.status, Json(body)).into_response()
    }
}

impl From<ControlError> for Failure {
    fn from(e: ControlError) -> Self {
        let message = e.to_string();
        Self::from_control(&e, message)
    }
}

impl Failure {
    fn from_control(e: &ControlError, message: String) -> Self {
        let (status, code) = match e {
            ControlError::Store(StoreError::Exists(_)) => (StatusCode::CONFLICT, "server_exists"),
            ControlError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, "no_such_server"),
            ControlError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store_failed"),
            ControlError::Spec(_) | ControlError::PackageDir(_) => (StatusCode::BAD_REQUEST, "invalid_spec"),
            ControlError::ProgramNotFound { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "program_not_found"),
            ControlError::NameMismatch { .. } => (StatusCode::BAD_REQUEST, "name_mismatch"),
            ControlError::Secrets(error) => secrets_status(error),
            ControlError::NoSuchSecret { .. } => (StatusCode::NOT_FOUND, "no_such_secret"),
            ControlError::NotRemote(_) => (StatusCode::CONFLICT, "not_remote"),
            ControlError::Paused(_) => (StatusCode::CONFLICT, "paused"),
            ControlError::OAuth(error) => match error {
                OAuthError::Secrets(error) => secrets_status(error),
                OAuthError::NotProtected { .. } => (StatusCode::CONFLICT, "not_protected"),
                OAuthError::NoLogin { .. } => (StatusCode::NOT_FOUND, "no_login"),
                OAuthError::Refused { .. } => (StatusCode::BAD_GATEWAY, "authorization_server_refused"),
                OAuthError::Discovery { .. } | OAuthError::Registration { .. } => {
                    (StatusCode::BAD_GATEWAY, "authorization_server_failed")
                }
                // Not 401: that status means the caller's own control token was refused.
                _ => (StatusCode::CONFLICT, "login_failed"),
            },
        };
        if status.is_server_error() {
            tracing::error!("{message}");
        }
        Self::new(status, code, message)
    }
}

impl From<AccessError> for Failure {
    fn from(e: AccessError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            AccessError::InvalidName(_) => (StatusCode::BAD_REQUEST, "invalid_name"),
            AccessError::Store(StoreError::ClientExists(_)) => (StatusCode::CONFLICT, "client_exists"),
            AccessError::Store(StoreError::ClientNotFound(_)) => (StatusCode::NOT_FOUND, "no_such_client"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "store_failed"),
        };
        Self::new(status, code, message)
    }
}

impl From<QuarantineError> for Failure {
    fn from(e: QuarantineError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            QuarantineError::NotHeld { .. } => (StatusCode::NOT_FOUND, "not_held"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "store_failed"),
        };
        Self::new(status, code, message)
    }
}

impl From<ProfileError> for Failure {
    fn from(e: ProfileError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            ProfileError::InvalidName(_) => (StatusCode::BAD_REQUEST, "invalid_name"),
            ProfileError::BadRoot(_) => (StatusCode::BAD_REQUEST, "invalid_root"),
            ProfileError::BadOverride { .. } => (StatusCode::BAD_REQUEST, "invalid_override"),
            ProfileError::NotFound(_) => (StatusCode::NOT_FOUND, "no_such_profile"),
            ProfileError::UnknownServer(_) => (StatusCode::NOT_FOUND, "no_such_server"),
            ProfileError::InUse { .. } => (StatusCode::CONFLICT, "profile_in_use"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "store_failed"),
        };
        Self::new(status, code, message)
    }
}

fn secrets_status(error: &SecretsError) -> (StatusCode, &'static str) {
    match error {
        SecretsError::BadKey { .. } => (StatusCode::BAD_REQUEST, "invalid_name"),
        SecretsError::Missing { .. } => (StatusCode::NOT_FOUND, "no_such_secret"),
        _ => (StatusCode::SERVICE_UNAVAILABLE, "keychain_unavailable"),
    }
}

impl From<InstallError> for Failure {
    fn from(e: InstallError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            InstallError::Registry(RegistryCacheError::Registry(RegistryError::NotFound { .. })) => {
                (StatusCode::NOT_FOUND, "not_in_registry")
            }
            InstallError::Registry(RegistryCacheError::Store(_)) => {
                (StatusCode::INTERNAL_SERVER_ERROR, "store_failed")
            }
            InstallError::Registry(_) => (StatusCode::BAD_GATEWAY, "registry_unavailable"),
            InstallError::Schema { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_server_json"),
            InstallError::Plan(PlanError::MissingInputs { .. }) => {
                (StatusCode::BAD_REQUEST, "missing_inputs")
            }
            InstallError::Plan(PlanError::RuntimeMissing { .. }) => {
                (StatusCode::UNPROCESSABLE_ENTITY, "runtime_missing")
            }
            InstallError::Plan(_) | InstallError::NoLocalName { .. } => {
                (StatusCode::BAD_REQUEST, "invalid_input")
            }
            InstallError::Manifest { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "invalid_bundle"),
            InstallError::RuntimeArg(_) => (StatusCode::BAD_REQUEST, "runtime_arg_not_allowed"),
            InstallError::Deleted { .. } => (StatusCode::GONE, "deleted_in_registry"),
            InstallError::AlreadyInstalled { .. } => (StatusCode::CONFLICT, "already_installed"),
            InstallError::NotFromRegistry(_) => (StatusCode::CONFLICT, "not_from_registry"),
            InstallError::Secrets(error) => secrets_status(error),
            InstallError::Fetch { .. } => (StatusCode::BAD_GATEWAY, "fetch_failed"),
            InstallError::Checksum { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "checksum_mismatch"),
            InstallError::UpdateFailed { .. } => (StatusCode::CONFLICT, "update_rolled_back"),
            InstallError::Control(control) => return Self::from_control(control, message),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "install_failed"),
        };
        if status.is_server_error() {
            tracing::error!("{message}");
        }
        Self::new(status, code, message)
    }
}

impl From<TailnetError> for Failure {
    fn from(e: TailnetError) -> Self {
        use switchboard_tailnet::LocalApiError;
        let message = e.to_string();
        let (status, code) = match &e {
            TailnetError::Control(control) => return Self::from_control(control, message),
            TailnetError::Store(StoreError::NotFound(_)) => (StatusCode::NOT_FOUND, "no_such_server"),
            TailnetError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store_failed"),
            TailnetError::BadPrincipal(_) => (StatusCode::BAD_REQUEST, "invalid_audience"),
            TailnetError::NotExposed(_) => (StatusCode::NOT_FOUND, "not_exposed"),
            TailnetError::UnknownPeer(_) => (StatusCode::NOT_FOUND, "no_such_peer"),
            TailnetError::NotOffered { .. } => (StatusCode::NOT_FOUND, "not_offered"),
            TailnetError::ServePortTaken { .. } => (StatusCode::CONFLICT, "serve_port_taken"),
            TailnetError::LocalApi(LocalApiError::Permission { .. }) => {
                (StatusCode::FORBIDDEN, "tailscale_permission")
            }
            TailnetError::LocalApi(LocalApiError::LoggedOut { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "tailnet_down")
            }
            TailnetError::PeerUnreachable { .. } => (StatusCode::BAD_GATEWAY, "peer_unreachable"),
            TailnetError::NotConnected(_) | TailnetError::LocalApi(LocalApiError::NotRunning { .. }) => {
                (StatusCode::SERVICE_UNAVAILABLE, "tailnet_down")
            }
            _ => (StatusCode::BAD_GATEWAY, "tailscale_failed"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("{message}");
        }
        Self::new(status, code, message)
    }
}

impl From<ClientConfigError> for Failure {
    fn from(e: ClientConfigError) -> Self {
        let message = e.to_string();
        let (status, code) = match &e {
            ClientConfigError::UnknownClient(_) => (StatusCode::NOT_FOUND, "no_such_client"),
            ClientConfigError::UnknownServer(_) => (StatusCode::NOT_FOUND, "no_such_server"),
            ClientConfigError::NoFileHere { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "no_config_here"),
            ClientConfigError::Unparseable { .. } => (StatusCode::UNPROCESSABLE_ENTITY, "unparseable_config"),
            ClientConfigError::NotText { .. } | ClientConfigError::Edit { .. } => {
                (StatusCode::UNPROCESSABLE_ENTITY, "uneditable_config")
            }
            ClientConfigError::Write(
                WriteError::Changed { .. } | WriteError::KeepsChanging { .. } | WriteError::Locked { .. },
            ) => (StatusCode::CONFLICT, "config_busy"),
            ClientConfigError::NothingToUndo { .. } => (StatusCode::NOT_FOUND, "nothing_to_undo"),
            ClientConfigError::ChangedSince { .. } => (StatusCode::CONFLICT, "changed_since"),
            ClientConfigError::Secrets(error) | ClientConfigError::Seal(SealError::Key(error)) => {
                secrets_status(error)
            }
            ClientConfigError::Seal(_) => (StatusCode::CONFLICT, "journal_unreadable"),
            _ => (StatusCode::INTERNAL_SERVER_ERROR, "client_config_failed"),
        };
        if status.is_server_error() {
            tracing::error!("{message}");
        }
        Self::new(status, code, message)
    }
}

impl From<Refusal> for Failure {
    fn from(refusal: Refusal) -> Self {
        Failure::new(StatusCode::FORBIDDEN, refusal.code(), refusal.to_string())
    }
}

pub(super) fn web_failure(e: WebError) -> Failure {
    Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "sign_in_failed", e.to_string())
}

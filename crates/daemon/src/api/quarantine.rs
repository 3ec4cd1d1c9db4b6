//! Tool integrity's routes. `/api/v1/quarantine`: the tool definitions held back from clients
//! until approved, their approval, and whether a server's updates are trusted;
//! `/api/v1/servers/{name}/secret-results`: what clients get of a server's tool results that
//! hold a credential. The gateway screens, holds and redacts; these handlers only translate.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use switchboard_model::api::{ApproveTools, ApprovedTools, GuardResults, QuarantineView, TrustUpdates};

use axum::http::StatusCode;

use super::{ApiResult, AppState, Failure, body, server_name};

pub(super) async fn view(State(s): State<AppState>) -> ApiResult<QuarantineView> {
    Ok(Json(s.gateway.quarantine().view()))
}

/// Approves held tools of a server (none named: all of them); its sessions are told.
pub(super) async fn approve(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<ApproveTools>, JsonRejection>,
) -> ApiResult<ApprovedTools> {
    let server = server_name(&name)?;
    s.control.get(&server).await?;
    let approved = s.gateway.approve_tools(&server, &body(request)?.tools).await?;
    Ok(Json(ApprovedTools { server, approved }))
}

/// Makes a server trust its tool updates (approving what it holds), or screen them again.
pub(super) async fn trust(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<TrustUpdates>, JsonRejection>,
) -> ApiResult<ApprovedTools> {
    let server = server_name(&name)?;
    // Only a server that exists: the setting is kept by name.
    s.control.get(&server).await?;
    let approved = s.gateway.trust_updates(&server, body(request)?.trust).await?;
    Ok(Json(ApprovedTools { server, approved }))
}

pub(super) async fn secret_results(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> ApiResult<GuardResults> {
    let server = server_name(&name)?;
    s.control.get(&server).await?;
    Ok(Json(GuardResults {
        results: s.gateway.leaks().setting(&server),
    }))
}

pub(super) async fn set_secret_results(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<GuardResults>, JsonRejection>,
) -> ApiResult<GuardResults> {
    let server = server_name(&name)?;
    s.control.get(&server).await?;
    let guard = body(request)?;
    s.gateway
        .leaks()
        .set_setting(&server, guard.results)
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "store_failed", e.to_string()))?;
    Ok(Json(guard))
}

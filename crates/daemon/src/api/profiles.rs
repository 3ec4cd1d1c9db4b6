//! `/api/v1/profiles`, `/api/v1/tokens/{client}/profile` and `/budget`: what each gateway
//! client is offered, and what that may cost. The gateway keeps and applies both; these
//! handlers only translate.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use switchboard_model::api::{Profile, ProfileView, UseBudget, UseProfile};

use super::{ApiResult, AppState, Failure, body};

pub(super) async fn list(State(s): State<AppState>) -> ApiResult<Vec<ProfileView>> {
    Ok(Json(s.gateway.profiles().list()))
}

pub(super) async fn show(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<ProfileView> {
    Ok(Json(s.gateway.profiles().get(&name)?))
}

/// Creates or replaces a profile; its clients' sessions are told their lists changed.
pub(super) async fn put(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<Profile>, JsonRejection>,
) -> ApiResult<ProfileView> {
    s.gateway.put_profile(&name, body(request)?).await?;
    Ok(Json(s.gateway.profiles().get(&name)?))
}

pub(super) async fn remove(
    State(s): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, Failure> {
    s.gateway.remove_profile(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Chooses the profile a client uses (by its token's name); it need not hold a token yet.
pub(super) async fn choose(
    State(s): State<AppState>,
    Path(client): Path<String>,
    request: Result<Json<UseProfile>, JsonRejection>,
) -> ApiResult<UseProfile> {
    let choice = body(request)?;
    s.gateway.use_profile(&client, choice.profile.as_deref()).await?;
    Ok(Json(choice))
}

/// Gives a client a budget of its own for what its tools cost (`null`: the daemon's).
pub(super) async fn budget(
    State(s): State<AppState>,
    Path(client): Path<String>,
    request: Result<Json<UseBudget>, JsonRejection>,
) -> ApiResult<UseBudget> {
    let choice = body(request)?;
    s.gateway.set_budget(&client, choice.tokens).await?;
    Ok(Json(choice))
}

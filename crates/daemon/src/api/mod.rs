//! The control API on loopback: `/api/v1`, JSON in and out, server-sent events for changes.
//!
//! Every request passes [`guard`] first: the Host header must name this listener (DNS
//! rebinding), an Origin, if any, must be this listener's own (the web UI), and the bearer
//! token must match. Handlers are thin: parse, call [`Control`], map its errors to statuses.
//! The API never returns a secret value; specs carry references only.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use futures_util::{Stream, StreamExt};
use serde::Deserialize;
use switchboard_credentials::oauth::ClientCredentials;
use switchboard_gateway::{Gateway, Unavailable};
use switchboard_http::door::{Door, HostPolicy, OriginPolicy, bearer};
use switchboard_local::token::ControlToken;
use switchboard_model::api::{
    AddRemote, AddServer, AppClient, BrowserToken, CallRecord, ClientChange, ConnectClient, DaemonStatus,
    DisconnectClient, DoctorReport, EnableHttps, Expose, Exposure, ImportClients, ImportReport,
    InstallReport, InstallServer, IssueToken, IssuedToken, LoginStarted, PauseState, RedeemCode,
    RegistryDetail, RegistrySearch, RunRecord, SecretView, ServerView, SetSecret, SetUpClients, SetUpReport,
    SignInCode, StartLogin, TailnetPeer, TailnetStatus, TokenView, ToolView, UndoClients, UpdateReport,
    UpdateServer,
};
use switchboard_model::{ServerName, ServerSpec};
use tokio_stream::wrappers::BroadcastStream;

use crate::client_config::ClientConfigs;
use crate::control::{Control, ControlError};
use crate::install::{InstallError, Installer};
use crate::registry_cache;
use crate::tailnet::Tailnet;
use crate::token::Check as _;
use crate::web::BrowserSessions;

mod failure;
mod metrics;
mod profiles;
mod quarantine;

pub use failure::Failure;
use failure::web_failure;

/// Where a browser trades its sign-in code for a token: the one route open without a token.
const REDEEM_PATH: &str = "/web/sessions";

/// Largest request body the control API reads.
const MAX_BODY: usize = 1024 * 1024;

/// Who may talk to the API.
#[derive(Clone, Debug)]
pub struct Guard {
    pub port: u16,
    pub token: ControlToken,
    /// Signed-in dashboards: their browser tokens are accepted like the control token.
    pub browsers: Arc<BrowserSessions>,
}

/// The daemon's parts the API drives.
#[derive(Clone, Debug)]
pub struct Services {
    pub control: Arc<Control>,
    pub gateway: Arc<Gateway>,
    pub client_configs: Arc<ClientConfigs>,
    pub installer: Arc<Installer>,
    pub tailnet: Arc<Tailnet>,
    pub browsers: Arc<BrowserSessions>,
    /// Notified by `POST /shutdown`: the daemon stops every server and exits.
    pub shutdown: Arc<tokio::sync::Notify>,
}

type AppState = Services;

pub fn router(services: Services, guard: Guard) -> Router {
    let api = Router::new()
        .route("/status", get(status))
        .route("/metrics", get(metrics::metrics))
        .route("/shutdown", post(shutdown))
        .route("/pause", post(pause))
        .route("/resume", post(resume))
        .route("/servers", get(list).post(add))
        .route("/servers/{name}", get(show).put(update).delete(remove))
        .route("/servers/{name}/start", post(start))
        .route("/servers/{name}/stop", post(stop))
        .route("/servers/{name}/restart", post(restart))
        .route("/servers/{name}/enable", post(enable))
        .route("/servers/{name}/disable", post(disable))
        .route("/servers/{name}/logs", get(logs))
        .route("/servers/{name}/runs", get(runs))
        .route("/servers/{name}/tools", get(tools))
        .route("/events", get(events))
        .route("/clients", get(list_clients))
        .route("/clients/import", post(import_clients))
        .route("/clients/undo", post(undo_clients))
        .route("/clients/setup", post(set_up_clients))
        .route("/clients/{id}/connect", post(connect_client))
        .route("/clients/{id}/disconnect", post(disconnect_client))
        .route("/tokens", get(tokens).post(issue_token))
        .route("/tokens/{name}", axum::routing::delete(revoke_token))
        .route("/tokens/{name}/profile", put(profiles::choose))
        .route("/tokens/{name}/budget", put(profiles::budget))
        .route("/profiles", get(profiles::list))
        .route(
            "/profiles/{name}",
            get(profiles::show).put(profiles::put).delete(profiles::remove),
        )
        .route(
            "/servers/{name}/secret-results",
            get(quarantine::secret_results).put(quarantine::set_secret_results),
        )
        .route("/quarantine", get(quarantine::view))
        .route("/quarantine/{name}/approve", post(quarantine::approve))
        .route("/quarantine/{name}/trust", put(quarantine::trust))
        .route("/history", get(history))
        .route("/registry/servers", get(search_registry))
        .route("/registry/servers/{name}", get(registry_detail))
        .route("/install", post(install))
        .route("/servers/{name}/update", post(update_server))
        .route("/servers/{name}/login", post(login).delete(logout))
        .route("/servers/{name}/login/wait", post(finish_login))
        .route("/servers/{name}/secrets", get(server_secrets))
        .route(
            "/servers/{name}/secrets/{secret}",
            put(set_secret).delete(unset_secret),
        )
        .route("/doctor", get(doctor))
        .route("/tailnet", get(tailnet_status))
        .route("/tailnet/peers", get(tailnet_peers))
        .route("/tailnet/remotes", post(add_remote))
        .route("/tailnet/https", put(enable_https).delete(disable_https))
        .route("/servers/{name}/exposure", put(expose).delete(unexpose))
        .route("/web/codes", post(sign_in_code))
        .route(REDEEM_PATH, post(redeem_code).delete(sign_out))
        .fallback(not_found)
        .with_state(services);
    Router::new()
        .nest("/api/v1", api)
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::new(guard), guard_layer))
}

type ApiResult<T> = Result<Json<T>, Failure>;

async fn guard_layer(State(guard): State<Arc<Guard>>, request: Request, next: Next) -> Response {
    // A browser signing in has no token yet: its one-time code is its credential.
    let redeeming = request.uri().path().strip_prefix("/api/v1") == Some(REDEEM_PATH)
        && request.method() == axum::http::Method::POST;
    let admitted = match redeeming {
        true => guard.door().check(request.headers()).map_err(Failure::from),
        false => check(&guard, request.headers()),
    };
    match admitted {
        Ok(()) => next.run(request).await,
        Err(failure) => failure.into_response(),
    }
}

impl Guard {
    /// The API's door: this listener's Host, and no page but the dashboard.
    fn door(&self) -> Door {
        Door {
            host: HostPolicy::Loopback { port: self.port },
            origin: OriginPolicy::OwnUi { port: self.port },
        }
    }
}

fn check(guard: &Guard, headers: &HeaderMap) -> Result<(), Failure> {
    guard.door().check(headers)?;
    let presented = bearer(headers);
    if !guard.token.matches(presented) && !guard.browsers.admits(presented) {
        return Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "missing or wrong control token; send `Authorization: Bearer <token>` with the token from control.token in the data directory, or sign the dashboard in again with `switchboard open`",
        ));
    }
    Ok(())
}

async fn not_found() -> Failure {
    Failure::new(
        StatusCode::NOT_FOUND,
        "not_found",
        "no such API route; the API lives under /api/v1",
    )
}

fn server_name(raw: &str) -> Result<ServerName, Failure> {
    ServerName::new(raw).map_err(|e| Failure::new(StatusCode::BAD_REQUEST, "invalid_name", e.to_string()))
}

fn body<T>(json: Result<Json<T>, JsonRejection>) -> Result<T, Failure> {
    json.map(|Json(v)| v).map_err(|e| {
        // Too big and not JSON keep their own statuses; everything else is a bad body.
        let status = match e.status() {
            s @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => s,
            _ => StatusCode::BAD_REQUEST,
        };
        Failure::new(status, "invalid_body", e.body_text())
    })
}

async fn status(State(s): State<AppState>) -> ApiResult<DaemonStatus> {
    let mut status = s.control.status().await?;
    status.sessions = u32::try_from(s.gateway.session_count()).unwrap_or(u32::MAX);
    Ok(Json(status))
}

/// Stops every server and keeps them stopped (across daemon restarts) until `resume`.
async fn pause(State(s): State<AppState>) -> ApiResult<PauseState> {
    Ok(Json(s.control.pause().await?))
}

/// Ends a pause, starting every enabled server; with `?wait=SECS`, answers once they settled.
async fn resume(State(s): State<AppState>, Query(q): Query<WaitQuery>) -> ApiResult<PauseState> {
    let state = s.control.resume().await?;
    if let Some(secs) = q.wait {
        let patience = Duration::from_secs(secs.min(MAX_WAIT_SECS));
        let settling = state.servers.iter().map(|name| s.control.settle(name, patience));
        for settled in futures_util::future::join_all(settling).await {
            settled?;
        }
    }
    Ok(Json(state))
}

async fn list(State(s): State<AppState>) -> ApiResult<Vec<ServerView>> {
    Ok(Json(s.control.list().await?))
}

/// `?wait=SECS` on a change: answer once the server has settled (running, stopped, failed or
/// crash-looping), or after SECS, whichever is first.
#[derive(Debug, Deserialize)]
struct WaitQuery {
    wait: Option<u64>,
}

/// Longest `?wait=` honoured.
const MAX_WAIT_SECS: u64 = 300;

async fn settled(s: &AppState, view: ServerView, q: &WaitQuery) -> Result<ServerView, Failure> {
    match q.wait {
        Some(secs) => {
            let patience = Duration::from_secs(secs.min(MAX_WAIT_SECS));
            Ok(s.control.settle(&view.spec.name, patience).await?)
        }
        None => Ok(view),
    }
}

async fn add(
    State(s): State<AppState>,
    Query(q): Query<WaitQuery>,
    json: Result<Json<AddServer>, JsonRejection>,
) -> Result<(StatusCode, Json<ServerView>), Failure> {
    let view = s.control.add(body(json)?).await?;
    Ok((StatusCode::CREATED, Json(settled(&s, view, &q).await?)))
}

async fn show(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<ServerView> {
    Ok(Json(s.control.get(&server_name(&name)?).await?))
}

async fn update(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<WaitQuery>,
    json: Result<Json<ServerSpec>, JsonRejection>,
) -> ApiResult<ServerView> {
    let name = server_name(&name)?;
    let view = s.control.update(&name, body(json)?).await?;
    Ok(Json(settled(&s, view, &q).await?))
}

async fn remove(State(s): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, Failure> {
    s.control.remove(&server_name(&name)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

macro_rules! action {
    ($name:ident) => {
        async fn $name(
            State(s): State<AppState>,
            Path(name): Path<String>,
            Query(q): Query<WaitQuery>,
        ) -> ApiResult<ServerView> {
            let view = s.control.$name(&server_name(&name)?).await?;
            Ok(Json(settled(&s, view, &q).await?))
        }
    };
}
action!(start);
action!(stop);
action!(restart);
action!(enable);
action!(disable);

#[derive(Debug, Deserialize)]
struct LogQuery {
    #[serde(default = "default_lines")]
    lines: usize,
    #[serde(default)]
    follow: bool,
}

fn default_lines() -> usize {
    100
}

async fn logs(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<LogQuery>,
) -> Result<Response, Failure> {
    let name = server_name(&name)?;
    if !q.follow {
        return Ok(Json(s.control.logs(&name, q.lines)?).into_response());
    }
    let (tail, live) = s.control.follow_logs(&name, q.lines)?;
    let last_seen = tail.last().map_or(0, |l| l.seq);
    let live = BroadcastStream::new(live)
        .filter_map(move |line| std::future::ready(line.ok().filter(|l| l.seq > last_seen)));
    let lines = futures_util::stream::iter(tail)
        .chain(live)
        .map(|line| sse("log", &line));
    Ok(Sse::new(lines)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response())
}

#[derive(Debug, Deserialize)]
struct RunsQuery {
    #[serde(default = "default_runs")]
    limit: u32,
}

fn default_runs() -> u32 {
    20
}

async fn runs(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<RunsQuery>,
) -> ApiResult<Vec<RunRecord>> {
    Ok(Json(s.control.runs(&server_name(&name)?, q.limit).await?))
}

async fn events(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = BroadcastStream::new(s.control.subscribe()).filter_map(|event| {
        // A lagging reader misses events; it can always re-read the full state.
        std::future::ready(event.ok().map(|e| sse(e.kind(), &e)))
    });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

fn sse<T: serde::Serialize>(kind: &str, value: &T) -> Result<SseEvent, Infallible> {
    let data = serde_json::to_string(value).unwrap_or_default();
    Ok(SseEvent::default().event(kind).data(data))
}

async fn list_clients(State(s): State<AppState>) -> ApiResult<Vec<AppClient>> {
    Ok(Json(s.client_configs.list().await?))
}

async fn connect_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<ConnectClient>, JsonRejection>,
) -> ApiResult<ClientChange> {
    Ok(Json(s.client_configs.connect(&id, body(request)?).await?))
}

async fn disconnect_client(
    State(s): State<AppState>,
    Path(id): Path<String>,
    request: Result<Json<DisconnectClient>, JsonRejection>,
) -> ApiResult<ClientChange> {
    Ok(Json(s.client_configs.disconnect(&id, body(request)?).await?))
}

async fn import_clients(
    State(s): State<AppState>,
    request: Result<Json<ImportClients>, JsonRejection>,
) -> ApiResult<ImportReport> {
    Ok(Json(s.client_configs.import(body(request)?).await?))
}

async fn set_up_clients(
    State(s): State<AppState>,
    request: Result<Json<SetUpClients>, JsonRejection>,
) -> ApiResult<SetUpReport> {
    Ok(Json(s.client_configs.set_up(body(request)?).await?))
}

async fn undo_clients(
    State(s): State<AppState>,
    request: Result<Json<UndoClients>, JsonRejection>,
) -> ApiResult<ClientChange> {
    Ok(Json(s.client_configs.undo(body(request)?).await?))
}

/// Clients holding tokens, each with its profile and what its tools cost.
async fn tokens(State(s): State<AppState>) -> ApiResult<Vec<TokenView>> {
    let mut tokens = s.gateway.access.list().await?;
    let names: Vec<&str> = tokens.iter().map(|t| t.name.as_str()).collect();
    let costs = s.gateway.tool_costs(&names).await;
    for (token, cost) in tokens.iter_mut().zip(costs) {
        token.profile = s.gateway.profiles().name_of(&token.name);
        token.cost = cost;
    }
    Ok(Json(tokens))
}

async fn issue_token(
    State(s): State<AppState>,
    request: Result<Json<IssueToken>, JsonRejection>,
) -> Result<(StatusCode, Json<IssuedToken>), Failure> {
    let request = body(request)?;
    Ok((
        StatusCode::CREATED,
        Json(s.gateway.access.issue(&request.name).await?),
    ))
}

async fn revoke_token(State(s): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, Failure> {
    s.gateway.access.revoke(&name).await?;
    s.gateway.end_sessions_of(&name);
    Ok(StatusCode::NO_CONTENT)
}

async fn login(
    State(s): State<AppState>,
    Path(name): Path<String>,
    body: Option<Json<StartLogin>>,
) -> ApiResult<LoginStarted> {
    let client = body.and_then(|Json(body)| {
        body.client_id.map(|client_id| ClientCredentials {
            client_id,
            client_secret: body.client_secret,
        })
    });
    Ok(Json(s.control.login(&server_name(&name)?, client).await?))
}

async fn finish_login(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<WaitQuery>,
) -> ApiResult<ServerView> {
    let view = s.control.finish_login(&server_name(&name)?).await?;
    Ok(Json(settled(&s, view, &q).await?))
}

async fn logout(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<ServerView> {
    Ok(Json(s.control.logout(&server_name(&name)?).await?))
}

async fn server_secrets(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Vec<SecretView>> {
    Ok(Json(s.control.secrets(&server_name(&name)?).await?))
}

async fn set_secret(
    State(s): State<AppState>,
    Path((name, secret)): Path<(String, String)>,
    Query(q): Query<WaitQuery>,
    request: Result<Json<SetSecret>, JsonRejection>,
) -> ApiResult<ServerView> {
    let value = body(request)?.value;
    let view = s
        .control
        .set_secret(&server_name(&name)?, &secret, &value)
        .await?;
    Ok(Json(settled(&s, view, &q).await?))
}

async fn unset_secret(
    State(s): State<AppState>,
    Path((name, secret)): Path<(String, String)>,
) -> ApiResult<ServerView> {
    Ok(Json(s.control.unset_secret(&server_name(&name)?, &secret).await?))
}

#[derive(Debug, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    search: String,
    /// Read the registry now even if the copy is fresh.
    #[serde(default)]
    refresh: bool,
}

async fn search_registry(
    State(s): State<AppState>,
    Query(q): Query<SearchQuery>,
) -> ApiResult<RegistrySearch> {
    let cache = s.installer.cache();
    let read = cache
        .search(&q.search, q.refresh)
        .await
        .map_err(InstallError::from)?;
    let installed = s.installer.installed().await?;
    let check = cache.check().await;
    Ok(Json(RegistrySearch {
        registry: cache.url().to_owned(),
        servers: read
            .value
            .iter()
            .map(|v| registry_cache::summary(v, installed.get(&v.name).cloned().unwrap_or_default()))
            .collect(),
        synced_at_ms: check.synced_at_ms,
        offline: read.offline,
    }))
}

#[derive(Debug, Deserialize)]
struct VersionQuery {
    version: Option<String>,
}

async fn registry_detail(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Query(q): Query<VersionQuery>,
) -> ApiResult<RegistryDetail> {
    Ok(Json(s.installer.detail(&name, q.version.as_deref()).await?))
}

async fn install(
    State(s): State<AppState>,
    Query(q): Query<WaitQuery>,
    request: Result<Json<InstallServer>, JsonRejection>,
) -> Result<(StatusCode, Json<InstallReport>), Failure> {
    let mut report = s.installer.install(body(request)?).await?;
    if let Some(view) = report.server.take() {
        report.server = Some(settled(&s, view, &q).await?);
    }
    let status = if report.dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(report)))
}

async fn update_server(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<UpdateServer>, JsonRejection>,
) -> ApiResult<UpdateReport> {
    Ok(Json(
        s.installer.update(&server_name(&name)?, body(request)?).await?,
    ))
}

async fn tailnet_status(State(s): State<AppState>) -> ApiResult<TailnetStatus> {
    Ok(Json(s.tailnet.status().await))
}

async fn expose(
    State(s): State<AppState>,
    Path(name): Path<String>,
    request: Result<Json<Expose>, JsonRejection>,
) -> ApiResult<Exposure> {
    let to = body(request)?.to;
    Ok(Json(s.tailnet.expose(&server_name(&name)?, to).await?))
}

async fn unexpose(State(s): State<AppState>, Path(name): Path<String>) -> Result<StatusCode, Failure> {
    s.tailnet.unexpose(&server_name(&name)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn enable_https(
    State(s): State<AppState>,
    request: Result<Json<EnableHttps>, JsonRejection>,
) -> ApiResult<TailnetStatus> {
    s.tailnet.enable_https(body(request)?.port).await?;
    Ok(Json(s.tailnet.status().await))
}

async fn disable_https(State(s): State<AppState>) -> ApiResult<TailnetStatus> {
    s.tailnet.disable_https().await?;
    Ok(Json(s.tailnet.status().await))
}

async fn tailnet_peers(State(s): State<AppState>) -> ApiResult<Vec<TailnetPeer>> {
    Ok(Json(s.tailnet.peers().await?))
}

async fn add_remote(
    State(s): State<AppState>,
    Query(q): Query<WaitQuery>,
    request: Result<Json<AddRemote>, JsonRejection>,
) -> Result<(StatusCode, Json<ServerView>), Failure> {
    let view = s.tailnet.add_remote(body(request)?).await?;
    Ok((StatusCode::CREATED, Json(settled(&s, view, &q).await?)))
}

#[derive(Debug, Deserialize)]
struct DoctorQuery {
    /// Search for runtimes again instead of using the daemon's first search.
    #[serde(default)]
    refresh: bool,
}

async fn doctor(State(s): State<AppState>, Query(q): Query<DoctorQuery>) -> ApiResult<DoctorReport> {
    let runtimes = if q.refresh {
        s.installer.rediscover().await
    } else {
        s.installer.runtimes().await
    };
    Ok(Json(DoctorReport {
        runtimes: runtimes.checks(),
        login_shell: runtimes.shell(),
        registry: s.installer.cache().check().await,
        secrets: s.installer.secrets_check().await,
        store: s.control.store().check(),
    }))
}

#[derive(Debug, Deserialize)]
struct HistoryQuery {
    server: Option<String>,
    client: Option<String>,
    #[serde(default = "default_history_limit")]
    limit: u32,
}

fn default_history_limit() -> u32 {
    50
}

async fn history(State(s): State<AppState>, Query(q): Query<HistoryQuery>) -> ApiResult<Vec<CallRecord>> {
    s.gateway.history.flush().await;
    let calls = s
        .control
        .store()
        .calls(q.server.as_deref(), q.client.as_deref(), q.limit.min(10_000))
        .await
        .map_err(ControlError::from)?;
    Ok(Json(calls))
}

async fn sign_in_code(State(s): State<AppState>, headers: HeaderMap) -> ApiResult<SignInCode> {
    let code = s.browsers.issue_code().map_err(web_failure)?;
    // The Host was checked by the guard: it is this listener as the caller named it.
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let url = format!("http://{host}/#/signin/{code}");
    Ok(Json(SignInCode { code, url }))
}

async fn redeem_code(
    State(s): State<AppState>,
    json: Result<Json<RedeemCode>, JsonRejection>,
) -> ApiResult<BrowserToken> {
    let RedeemCode { code } = body(json)?;
    match s.browsers.redeem(&code).map_err(web_failure)? {
        Some(token) => Ok(Json(BrowserToken { token })),
        None => Err(Failure::new(
            StatusCode::UNAUTHORIZED,
            "sign_in_expired",
            "this sign-in link was used already or is over a minute old; open the dashboard again with `switchboard open` or from the Switchboard app",
        )),
    }
}

async fn sign_out(State(s): State<AppState>, headers: HeaderMap) -> StatusCode {
    s.browsers.end(bearer(&headers));
    StatusCode::NO_CONTENT
}

/// How long the dashboard waits for a server to list its tools.
const TOOLS_PATIENCE: Duration = Duration::from_secs(10);

async fn tools(State(s): State<AppState>, Path(name): Path<String>) -> ApiResult<Vec<ToolView>> {
    let name = server_name(&name)?;
    let definitions = server_tools(&s, &name).await?;
    let tokens = s
        .gateway
        .costs()
        .tokens(&definitions)
        .await
        .map_err(|e| Failure::new(StatusCode::INTERNAL_SERVER_ERROR, "tokens", e.to_string()))?;
    // Screened as clients would get them, so what is new or changed is known and shown.
    s.gateway.screen_tools(&name, &mut definitions.clone()).await;
    let held: Vec<String> = s
        .gateway
        .quarantine()
        .view()
        .held
        .into_iter()
        .filter(|h| h.server == name)
        .map(|h| h.tool)
        .collect();
    let tools = definitions
        .iter()
        .zip(tokens)
        .map(|(definition, tokens)| {
            let mut view = ToolView::of(definition, tokens);
            view.held = held.contains(&view.name);
            view
        })
        .collect();
    Ok(Json(tools))
}

/// A server's tools: from its last run while it sleeps (looking does not wake it), else
/// listed by it.
async fn server_tools(s: &AppState, name: &ServerName) -> Result<Vec<serde_json::Value>, Failure> {
    if let Some(kept) = s.gateway.asleep_list(name, "tools") {
        return Ok(kept);
    }
    let upstream = s.gateway.upstream(name).await.map_err(|e| match e {
        Unavailable::Unknown(_) => Failure::new(StatusCode::NOT_FOUND, "no_such_server", e.to_string()),
        Unavailable::Paused(_) => Failure::new(StatusCode::CONFLICT, "paused", e.to_string()),
        _ => Failure::new(StatusCode::CONFLICT, "not_running", e.to_string()),
    })?;
    switchboard_supervisor::mcp::list_tools(&upstream, TOOLS_PATIENCE)
        .await
        .map_err(|e| {
            Failure::new(
                StatusCode::BAD_GATEWAY,
                "server_failed",
                format!("{name} did not list its tools: {e}"),
            )
        })
}

/// Stops every server and then the daemon (the app's "Quit and stop servers"); answers first.
async fn shutdown(State(s): State<AppState>) -> StatusCode {
    s.shutdown.notify_one();
    StatusCode::ACCEPTED
}

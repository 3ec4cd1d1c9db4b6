//! `subscriptions/listen` over HTTP: an event stream of the notifications a 2026-07-28 client
//! asked for, from session-era servers, until the client closes it.
//!
//! Each server grants what its capabilities offer: list changes it announces, and resource
//! updates if it takes `resources/subscribe` (sent once per URI on the shared upstream, however
//! many listen). The aggregate announces its own list changes, so it grants every list type;
//! its URIs go to the server that lists them. The granted subset is acknowledged first, then
//! notices follow, tagged (see [`crate::session::listen`]). Closing the stream ends the listen
//! and releases its subscriptions.

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::Value;
use switchboard_mcp::jsonrpc::code;
use switchboard_mcp::upstream::Upstream;
use switchboard_model::ServerName;
use switchboard_model::api::Profile;

use super::super::sse::{Priming, holding, sse_response};
use super::super::streamable::unavailable;
use super::super::{Client, Gate, no_session, rpc_error};
use crate::handshake::STATELESS_REVISION;
use crate::profiles::{List, visible};
use crate::session::listen::{Kinds, Listen};
use crate::session::{Listening, Session, Target};
use crate::{Gateway, OWN_REQUEST_PATIENCE, Unavailable, notices, route};

/// Opens the listen `id` (raw JSON) asked for by `request`.
pub(super) async fn listen(
    gate: &Gate,
    client: Client,
    target: Target,
    request: &Value,
    id: String,
) -> Response {
    let (asked, uris) = match Kinds::parse(&request["params"]["notifications"]) {
        Ok(filter) => filter,
        Err(e) => return rpc_error(StatusCode::BAD_REQUEST, &id, code::INVALID_PARAMS, &e.to_string()),
    };
    let profile = gate.gateway.profiles().of_client(&client.0);
    let servers = match servers_of(&gate.gateway, profile.as_deref(), &target).await {
        Ok(servers) => servers,
        Err(e) => return unavailable(&id, &e),
    };
    let mut offered = Kinds {
        tools: target == Target::Aggregate,
        prompts: target == Target::Aggregate,
        resources: target == Target::Aggregate,
    };
    for (_, upstream) in &servers {
        let capabilities = upstream
            .init()
            .map(|i| i.capabilities().clone())
            .unwrap_or_default();
        offered = offered.or(Kinds::offered_by(&capabilities));
    }
    let listen = Listen {
        id: id.clone(),
        kinds: asked.and(offered),
    };
    let session = match Session::listening(client.0, target, STATELESS_REVISION.to_owned(), listen.clone()) {
        Ok(session) => session,
        Err(e) => return no_session(&id, &e),
    };
    // Registered first, so a client gone while its URIs are subscribed releases them.
    gate.gateway.insert_session(Arc::clone(&session));
    let guard = Closing {
        gateway: Arc::clone(&gate.gateway),
        listening: session.listen(),
    };
    let granted = subscribe(&gate.gateway, profile.as_deref(), &session, &servers, uris).await;
    session
        .standalone()
        .push(listen.acknowledgement(&granted).into_bytes());
    notices::start(&gate.gateway, &session).await;
    holding(
        sse_response(Some(&session), session.standalone(), 0, Priming::Skip),
        guard,
    )
}

/// The running servers a listen on `target` hears, of those `profile` offers. One server is
/// waited for while it starts; the aggregate hears those running now (and announces the
/// others as they join).
async fn servers_of(
    gateway: &Gateway,
    profile: Option<&Profile>,
    target: &Target,
) -> Result<Vec<(ServerName, Arc<Upstream>)>, Unavailable> {
    match target {
        Target::Server(name) => Ok(vec![(name.clone(), gateway.upstream(name).await?)]),
        Target::Aggregate => Ok(gateway
            .aggregate_servers()
            .await
            .into_iter()
            .filter(|name| visible(profile, name).is_offered())
            .filter_map(|name| Some((name.clone(), gateway.live_upstream(&name)?)))
            .collect()),
    }
}

/// Subscribes the listen to each of `uris` that a server can be subscribed to (on the
/// aggregate, the server that lists it) and `profile` offers; the URIs granted.
async fn subscribe(
    gateway: &Gateway,
    profile: Option<&Profile>,
    session: &Session,
    servers: &[(ServerName, Arc<Upstream>)],
    uris: Vec<String>,
) -> Vec<String> {
    let mut granted = Vec::new();
    for uri in uris {
        let owner = match servers {
            [(_, upstream)] if session.target != Target::Aggregate => Some(upstream),
            _ => route::resource_server(gateway, &uri)
                .await
                .and_then(|name| servers.iter().find(|(n, _)| *n == name).map(|(_, u)| u)),
        };
        let Some(upstream) = owner
            .filter(|u| takes_subscriptions(u) && visible(profile, u.server()).allows(List::Resources, &uri))
        else {
            continue;
        };
        if session.subscribe(upstream, &uri) {
            let asked = upstream
                .tell_subscriptions(std::slice::from_ref(&uri), true, OWN_REQUEST_PATIENCE)
                .await;
            if let Err(e) = asked {
                tracing::warn!(server = %upstream.server(), %uri, "a listen could not subscribe: {e}");
                session.unsubscribe(upstream, &uri);
                continue;
            }
        }
        granted.push(uri);
    }
    granted
}

fn takes_subscriptions(upstream: &Upstream) -> bool {
    upstream
        .init()
        .is_some_and(|i| i.capabilities()["resources"]["subscribe"] == Value::Bool(true))
}

/// Ends the listen when its client closes the stream: its subscriptions are released.
struct Closing {
    gateway: Arc<Gateway>,
    listening: Listening,
}

impl Drop for Closing {
    fn drop(&mut self) {
        self.gateway.remove_session(&self.listening.session().id());
    }
}

//! What servers say outside any request, carried to the sessions that hear it: each server's
//! notifications to the standalone stream of every session using it (resource updates only
//! to subscribers), and for aggregate sessions a `list_changed` when the set of servers
//! changes.
//!
//! Answers to requests never pass here; they go by the stream of the request they answer.

use std::sync::{Arc, Weak};

use serde_json::json;
use switchboard_mcp::jsonrpc::Frame;
use switchboard_model::ServerName;
use tokio::sync::broadcast;

use super::Gateway;
use super::session::{Mode, Session, Target};

/// Forwards the server's unsolicited notifications to the session's standalone stream.
pub async fn start(gateway: &Arc<Gateway>, session: &Arc<Session>) {
    if session.mode == Mode::Stateless {
        return;
    }
    // Every server is heard; what the session's profile hides is dropped notice by notice,
    // so a change to the profile takes effect at once.
    let servers = match &session.target {
        Target::Server(name) => vec![name.clone()],
        Target::Aggregate => gateway.aggregate_servers().await,
    };
    for name in servers {
        // A per-session server's notices come from the session's own process (a listen has
        // none: it hears the shared one).
        if gateway.is_per_session(&name) && session.mode != Mode::Listen {
            continue;
        }
        if let Some(notices) = gateway.notices(&name) {
            session.own_task(tokio::spawn(forward_notices(
                Arc::downgrade(gateway),
                name,
                notices,
                Arc::downgrade(session),
            )));
        }
    }
    if session.target == Target::Aggregate {
        let changes = gateway.aggregate_changes();
        session.own_task(tokio::spawn(announce_aggregate_changes(
            Arc::downgrade(gateway),
            changes,
            Arc::downgrade(session),
        )));
    }
}

/// Carries `server`'s notices to `session` while its profile offers the server.
pub(super) async fn forward_notices(
    gateway: Weak<Gateway>,
    server: ServerName,
    mut notices: broadcast::Receiver<Frame>,
    session: Weak<Session>,
) {
    loop {
        let frame = match notices.recv().await {
            Ok(frame) => frame,
            Err(broadcast::error::RecvError::Lagged(_)) => continue,
            Err(broadcast::error::RecvError::Closed) => return,
        };
        let (Some(gateway), Some(session)) = (gateway.upgrade(), session.upgrade()) else {
            return;
        };
        if gateway.offers_to(&session, &server) {
            session.notice(Some(&server), frame);
        }
    }
}

async fn announce_aggregate_changes(
    gateway: Weak<Gateway>,
    mut changes: broadcast::Receiver<()>,
    session: Weak<Session>,
) {
    let mut known: Vec<ServerName> = match gateway.upgrade() {
        Some(g) => g.aggregate_servers().await,
        None => return,
    };
    loop {
        if let Err(broadcast::error::RecvError::Closed) = changes.recv().await {
            return;
        }
        let (Some(gateway), Some(session)) = (gateway.upgrade(), session.upgrade()) else {
            return;
        };
        let now = gateway.aggregate_servers().await;
        for joined in now.iter().filter(|n| !known.contains(n)) {
            if let Some(notices) = gateway.notices(joined) {
                session.own_task(tokio::spawn(forward_notices(
                    Arc::downgrade(&gateway),
                    joined.clone(),
                    notices,
                    Arc::downgrade(&session),
                )));
            }
        }
        known = now;
        lists_changed(&session);
    }
}

/// Tells `session` that its tools, prompts and resources may have changed.
pub(super) fn lists_changed(session: &Session) {
    for method in [
        "notifications/tools/list_changed",
        "notifications/prompts/list_changed",
        "notifications/resources/list_changed",
    ] {
        let frame = Frame::from_value(&json!({"jsonrpc": "2.0", "method": method}));
        session.notice(None, frame);
    }
}

//! Profiles chosen by the folder a client works in: a session's client is asked for its MCP
//! roots once it is initialized, and again when it says they changed, and a profile naming a
//! folder that holds one of them is the session's (see [`Gateway::profile_of`]).
//!
//! Only clients that declared `roots` are asked, and only while some profile is chosen by
//! roots. The roots are the client's word: a profile chosen by them is a convenience for the
//! person's own clients, not a limit a client cannot step around.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_mcp::jsonrpc::Frame;
use switchboard_mcp::upstream::next_server_request_id;
use switchboard_model::api::folder;
use tokio::sync::oneshot;

use super::Gateway;
use super::notices::lists_changed;
use super::session::{Mode, Session};

/// How long a client has to list its roots.
const ANSWER_PATIENCE: Duration = Duration::from_secs(10);

/// How long after asking the requests arriving before the client's first answer wait for it.
const FIRST_ANSWER_PATIENCE: Duration = Duration::from_secs(2);

/// Asks `session`'s client for its roots, if that can choose its profile; when the answer
/// changes the profile, the session is told its lists changed.
pub(crate) fn ask(gateway: &Arc<Gateway>, session: &Arc<Session>) {
    let can_answer =
        matches!(session.mode, Mode::Streamable | Mode::LegacySse) && session.declares("roots/list");
    if !can_answer || !gateway.profiles().any_roots() {
        return;
    }
    let id = next_server_request_id();
    let (answer, answered) = oneshot::channel();
    // Requests wait for a first answer that comes in time, so none was served without it.
    let first = session.roots().is_none();
    let asked_at = Instant::now();
    session.asking_roots(id, answer, FIRST_ANSWER_PATIENCE);
    let request = json!({"jsonrpc": "2.0", "id": id, "method": "roots/list"});
    session
        .standalone()
        .push(Frame::from_value(&request).into_bytes());
    let (gateway, weak) = (Arc::downgrade(gateway), Arc::downgrade(session));
    session.own_task(tokio::spawn(async move {
        let response = tokio::time::timeout(ANSWER_PATIENCE, answered).await;
        let (Some(gateway), Some(session)) = (gateway.upgrade(), weak.upgrade()) else {
            return;
        };
        let before = gateway.profile_of(&session);
        let roots = match response {
            Ok(Ok(response)) => folders(&response),
            _ => {
                session.forget_inputs(&[id]);
                tracing::info!(client = %session.client(), "the client did not list its roots; its token's profile applies");
                Vec::new()
            }
        };
        session.roots_listed(roots.into());
        let after = gateway.profile_of(&session);
        let waited_for = first && asked_at.elapsed() < FIRST_ANSWER_PATIENCE;
        if !waited_for && before.as_ref().map(Arc::as_ptr) != after.as_ref().map(Arc::as_ptr) {
            lists_changed(&session);
        }
    }));
}

/// The folders of the roots a `roots/list` response lists; none from an error.
fn folders(response: &Frame) -> Vec<PathBuf> {
    let value = response.to_value();
    value["result"]["roots"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|root| root["uri"].as_str().and_then(folder))
        .collect()
}

//! A client's profile applied to its requests: what is hidden is answered exactly as what does
//! not exist, and lists hold only what is offered.
//!
//! Which profile a session is served under is [`crate::Gateway::profile_of`]'s; what a
//! profile offers of one server is [`crate::profiles::Visible`]. A client without a profile
//! never reaches this module's work: every function returns at once for it.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use switchboard_mcp::jsonrpc::{Frame, Param, code};
use switchboard_mcp::upstream::{RpcError, Upstream};
use switchboard_model::ServerName;
use switchboard_model::api::Profile;

use super::{Listed, list_all};
use crate::Gateway;
use crate::aggregate::Kind as NameKind;
use crate::profiles::{List, Visible, visible};

/// How long a one-server session's filtered list may take: a list the client asked for itself.
const OWN_LIST_PATIENCE: Duration = Duration::from_secs(30);

/// The answer to a request for something that does not exist (or is hidden).
pub(super) enum Absent {
    Fail(i64, String),
    /// A completion for an unknown reference: nothing to offer.
    Answer(Value),
}

/// The error for a tool or prompt named `name` that does not exist.
pub(super) fn unknown(kind: NameKind, name: &str) -> (i64, String) {
    let what = match kind {
        NameKind::Tool => "tool",
        NameKind::Prompt => "prompt",
    };
    (code::INVALID_PARAMS, format!("Unknown {what}: {name}"))
}

/// The error for a resource that does not exist.
pub(super) fn no_resource(uri: &str) -> (i64, String) {
    (code::RESOURCE_NOT_FOUND, format!("Resource not found: {uri}"))
}

/// A completion with no values.
pub(super) fn no_completion() -> Value {
    json!({"completion": {"values": [], "hasMore": false}})
}

/// The request as the server must get it (a renamed tool called by the server's name for
/// it), or how it is answered when `visible` does not allow it. `asked` is the name the
/// client used (on the aggregate, before it was translated).
pub(super) fn admit(
    visible: Visible,
    server: &ServerName,
    method: &str,
    frame: Frame,
    asked: &str,
) -> Result<Frame, Absent> {
    let frame = match (visible, method) {
        (Visible::Everything, _) => return Ok(frame),
        (Visible::Offered(offer), "tools/call") if !offer.overrides.is_empty() => {
            let name = frame.param_str(Param::Name).unwrap_or_default();
            match offer.original(&name) {
                Some(original) if original != name => {
                    frame.with_param(Param::Name, &Value::from(original).to_string())
                }
                Some(_) => frame,
                None => {
                    let (code, message) = unknown(NameKind::Tool, asked);
                    return Err(Absent::Fail(code, message));
                }
            }
        }
        _ => frame,
    };
    match absent(visible, server, method, &frame, asked) {
        Some(absent) => Err(absent),
        None => Ok(frame),
    }
}

/// How a request (as the server would get it) that `visible` does not allow is answered;
/// `None` when it may go on.
fn absent(visible: Visible, server: &ServerName, method: &str, frame: &Frame, asked: &str) -> Option<Absent> {
    let allowed = |list: List, name: Option<String>| name.is_some_and(|n| visible.allows(list, &n));
    let fail = |(code, message): (i64, String)| Some(Absent::Fail(code, message));
    match method {
        "tools/call" if !allowed(List::Tools, frame.param_str(Param::Name)) => {
            fail(unknown(NameKind::Tool, asked))
        }
        "prompts/get" if !allowed(List::Prompts, frame.param_str(Param::Name)) => {
            fail(unknown(NameKind::Prompt, asked))
        }
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => {
            let uri = frame.param_str(Param::Uri);
            match allowed(List::Resources, uri.clone()) {
                true => None,
                false => fail(no_resource(&uri.unwrap_or_default())),
            }
        }
        "completion/complete" => {
            let reference = frame.to_value()["params"]["ref"].take();
            let (list, key) = match reference["type"].as_str() {
                Some("ref/prompt") => (List::Prompts, "name"),
                _ => (List::Resources, "uri"),
            };
            let named = reference[key].as_str().map(str::to_owned);
            (!allowed(list, named)).then(|| Absent::Answer(no_completion()))
        }
        _ if !visible.is_offered() => fail((
            code::SERVER_UNAVAILABLE,
            format!(
                "server {server} is not in this client's profile; `switchboard profile ls` shows what it offers"
            ),
        )),
        _ => None,
    }
}

/// A one-server session's list as its profile offers it: every page gathered, tools screened
/// by the quarantine, then filtered.
pub(super) async fn offered_list(
    gateway: &Gateway,
    server: &ServerName,
    upstream: &Upstream,
    visible: Visible<'_>,
    list: List,
    method: &str,
    key: &str,
) -> Result<Value, RpcError> {
    let deadline = Instant::now() + OWN_LIST_PATIENCE;
    let items = list_all(upstream, method, key, deadline).await?;
    Ok(present_list(gateway, server, items, visible, list, key).await)
}

/// A one-server session's list, from `items` (all of the server's): tools screened by the
/// quarantine, then filtered and presented as its profile offers them.
pub(super) async fn present_list(
    gateway: &Gateway,
    server: &ServerName,
    mut items: Vec<Value>,
    visible: Visible<'_>,
    list: List,
    key: &str,
) -> Value {
    if list == List::Tools {
        gateway.screen_tools(server, &mut items).await;
    }
    items.retain(|item| visible.allows_item(list, item));
    if list == List::Tools {
        items.iter_mut().for_each(|tool| visible.present(tool));
    }
    json!({ key: items })
}

/// What of the aggregate's list (its items by server, under exposed names) `profile` offers.
pub(super) fn offered(
    gateway: &Gateway,
    profile: Option<&Profile>,
    list: List,
    listed: Listed,
) -> Vec<Value> {
    let Some(profile) = profile else {
        return listed.into_iter().flat_map(|(_, items)| items).collect();
    };
    let kind = match list {
        List::Tools => Some(NameKind::Tool),
        List::Prompts => Some(NameKind::Prompt),
        List::Resources => None,
    };
    let mut catalog = gateway.catalog();
    let mut all = Vec::new();
    for (server, items) in listed {
        let visible = visible(Some(profile), &server);
        for mut item in items {
            // Tools and prompts are chosen by the server's own names for them; one the
            // catalog cannot name is left out.
            let original = kind
                .zip(item["name"].as_str())
                .and_then(|(kind, exposed)| catalog.resolve(kind, exposed))
                .map(|(_, original)| original);
            let offered = match &original {
                Some(original) => visible.allows(list, original),
                None => kind.is_none() && visible.allows_item(list, &item),
            };
            if !offered {
                continue;
            }
            // A renamed tool is exposed under its new name, which leads back to it.
            if let (List::Tools, Some(original)) = (list, original) {
                item["name"] = Value::from(original);
                visible.present(&mut item);
                let presented = item["name"].as_str().unwrap_or_default().to_owned();
                item["name"] = Value::from(catalog.name(NameKind::Tool, &server, &presented));
            }
            all.push(item);
        }
    }
    all
}

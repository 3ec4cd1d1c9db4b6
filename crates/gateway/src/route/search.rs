//! Search mode on the gateway's endpoints: a session whose profile is in search mode lists
//! [`crate::search`]'s three tools; its searches run over what the profile offers it, and a
//! `call_tool` is turned into the call of the tool it names, which then goes the way of any
//! call (profile, overrides, history).

use std::sync::Arc;

use serde_json::{Value, json};
use switchboard_mcp::jsonrpc::{Frame, Param, code};
use switchboard_model::api::Profile;

use super::{aggregate_list, offer, upstream_for};
use crate::Gateway;
use crate::profiles::{List, visible};
use crate::search::{self, CALL_TOOL, DESCRIBE_TOOL, SEARCH_TOOLS};
use crate::session::{Session, Target};

/// What becomes of a request of a session in search mode.
pub(super) enum Searched {
    /// Answered here.
    Answer(Value),
    Fail(i64, String),
    /// Routed as any request: the one the session sent, or the call a `call_tool` names.
    Route(Frame),
}

pub(super) async fn intercept(
    gateway: &Arc<Gateway>,
    session: &Arc<Session>,
    profile: &Profile,
    method: &str,
    frame: Frame,
) -> Searched {
    match method {
        "tools/list" => return Searched::Answer(json!({ "tools": search::tools() })),
        "tools/call" => {}
        _ => return Searched::Route(frame),
    }
    let name = frame.param_str(Param::Name).unwrap_or_default();
    let arguments = frame.to_value()["params"]["arguments"].take();
    match name.as_str() {
        SEARCH_TOOLS | DESCRIBE_TOOL => match offered_tools(gateway, session, profile).await {
            Ok(offered) if name == SEARCH_TOOLS => Searched::Answer(search::search(&offered, &arguments)),
            Ok(offered) => Searched::Answer(search::describe(&offered, &arguments)),
            Err(message) => Searched::Fail(code::SERVER_UNAVAILABLE, message),
        },
        CALL_TOOL => match called(frame, arguments) {
            Ok(frame) => Searched::Route(frame),
            Err(message) => Searched::Answer(search::error(&message)),
        },
        _ => Searched::Route(frame),
    }
}

/// The tools `session` is offered under `profile`, as it would list them without search mode.
async fn offered_tools(
    gateway: &Arc<Gateway>,
    session: &Arc<Session>,
    profile: &Profile,
) -> Result<Vec<Value>, String> {
    match &session.target {
        Target::Aggregate => {
            let listed = aggregate_list(gateway, Some(profile), "tools/list", "tools").await;
            Ok(offer::offered(gateway, Some(profile), List::Tools, listed))
        }
        Target::Server(server) => {
            let visible = visible(Some(profile), server);
            let upstream = upstream_for(gateway, session, server)
                .await
                .map_err(|e| e.to_string())?;
            let mut listed = offer::offered_list(
                gateway,
                server,
                &upstream,
                visible,
                List::Tools,
                "tools/list",
                "tools",
            )
            .await
            .map_err(|e| e.to_string())?;
            Ok(match listed["tools"].take() {
                Value::Array(tools) => tools,
                _ => Vec::new(),
            })
        }
    }
}

/// The call of the tool a `call_tool` names, with its arguments and the request's `_meta`.
fn called(frame: Frame, mut arguments: Value) -> Result<Frame, String> {
    let name = match arguments["name"].take() {
        Value::String(name) if !search::is_own(&name) => name,
        Value::String(name) => return Err(format!("call {name} itself, not through {CALL_TOOL}")),
        _ => {
            return Err(format!(
                "{CALL_TOOL} needs the name of a tool, as {SEARCH_TOOLS} gave it"
            ));
        }
    };
    let inner = match arguments["arguments"].take() {
        Value::Null => json!({}),
        inner @ Value::Object(_) => inner,
        _ => {
            return Err(format!(
                "{CALL_TOOL}'s arguments must be an object, as the tool's input schema gives it"
            ));
        }
    };
    let mut value = frame.to_value();
    value["params"]["name"] = Value::from(name);
    value["params"]["arguments"] = inner;
    Ok(Frame::from_value(&value))
}

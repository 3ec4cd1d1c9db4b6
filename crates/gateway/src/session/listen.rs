//! What a `subscriptions/listen` (2026-07-28) asked for and was granted, and how its stream
//! speaks: the acknowledgement first, every notification tagged with the subscription's id
//! (the listen request's JSON-RPC id), and a completion when the gateway ends it.
//!
//! A listen is a [`super::Session`] of its own (mode `Listen`): its resource subscriptions are
//! counted on the shared upstreams, renewed when a server restarts and released when it ends,
//! like a session's, and servers' notices reach it as they reach a session's GET stream.
//! Which notices those are is [`crate::notices`]'; the HTTP side is [`crate::http`]'s.

use serde_json::{Map, Value, json};
use switchboard_mcp::era::SUBSCRIPTION_ID_KEY as SUBSCRIPTION_ID;
use switchboard_mcp::jsonrpc::{self, Frame};
/// Resource URIs one listen may ask for.
pub const MAX_URIS: usize = 256;

/// What is wrong with a listen's `params.notifications`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    #[error("params.notifications must be an object (a SubscriptionFilter)")]
    NotAnObject,
    #[error("params.notifications.{0} must be a boolean")]
    NotABoolean(String),
    #[error("params.notifications.resourceSubscriptions must be an array of URIs")]
    NotUris,
    #[error("a listen may ask for at most {MAX_URIS} resource URIs; open another for more")]
    TooManyUris,
}

/// The notification types of a listen's filter (its URIs are the session's subscriptions).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kinds {
    pub tools: bool,
    pub prompts: bool,
    pub resources: bool,
}

impl Kinds {
    /// The list types `notifications` (a `SubscriptionFilter`) asks for, and its URIs; an
    /// error says what is malformed.
    pub fn parse(notifications: &Value) -> Result<(Self, Vec<String>), FilterError> {
        let filter = notifications.as_object().ok_or(FilterError::NotAnObject)?;
        let flag = |key: &str| match filter.get(key) {
            None | Some(Value::Null) => Ok(false),
            Some(Value::Bool(on)) => Ok(*on),
            Some(_) => Err(FilterError::NotABoolean(key.to_owned())),
        };
        let kinds = Self {
            tools: flag("toolsListChanged")?,
            prompts: flag("promptsListChanged")?,
            resources: flag("resourcesListChanged")?,
        };
        let uris = match filter.get("resourceSubscriptions") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(uris)) if uris.len() > MAX_URIS => return Err(FilterError::TooManyUris),
            Some(Value::Array(uris)) => uris
                .iter()
                .map(|uri| uri.as_str().map(str::to_owned))
                .collect::<Option<Vec<_>>>()
                .ok_or(FilterError::NotUris)?,
            Some(_) => return Err(FilterError::NotUris),
        };
        Ok((kinds, uris))
    }

    /// Whether a server notice of `method` is one the listen asked for. Resource updates are
    /// filtered by URI before this; logs and progress never go on a listen.
    pub fn wants(self, method: &str) -> bool {
        match method {
            "notifications/tools/list_changed" => self.tools,
            "notifications/prompts/list_changed" => self.prompts,
            "notifications/resources/list_changed" => self.resources,
            "notifications/resources/updated" => true,
            _ => false,
        }
    }

    /// Both asked for and offered.
    pub fn and(self, other: Self) -> Self {
        Self {
            tools: self.tools && other.tools,
            prompts: self.prompts && other.prompts,
            resources: self.resources && other.resources,
        }
    }

    pub fn or(self, other: Self) -> Self {
        Self {
            tools: self.tools || other.tools,
            prompts: self.prompts || other.prompts,
            resources: self.resources || other.resources,
        }
    }

    /// The list types a server announces changes of, by its `capabilities`.
    pub fn offered_by(capabilities: &Value) -> Self {
        let on = |key: &str| capabilities[key]["listChanged"] == Value::Bool(true);
        Self {
            tools: on("tools"),
            prompts: on("prompts"),
            resources: on("resources"),
        }
    }
}

/// A listen: its subscription id (raw JSON) and the types it was granted.
#[derive(Clone, Debug)]
pub struct Listen {
    pub id: String,
    pub kinds: Kinds,
}

impl Listen {
    /// `notifications/subscriptions/acknowledged`: the granted subset, `uris` included.
    pub fn acknowledgement(&self, uris: &[String]) -> Frame {
        let mut granted = Map::new();
        for (key, on) in [
            ("toolsListChanged", self.kinds.tools),
            ("promptsListChanged", self.kinds.prompts),
            ("resourcesListChanged", self.kinds.resources),
        ] {
            if on {
                granted.insert(key.into(), Value::Bool(true));
            }
        }
        if !uris.is_empty() {
            granted.insert("resourceSubscriptions".into(), json!(uris));
        }
        let params = json!({"_meta": {SUBSCRIPTION_ID: self.subscription_id()}, "notifications": granted});
        Frame::from_value(&json!({
            "jsonrpc": "2.0",
            "method": "notifications/subscriptions/acknowledged",
            "params": params,
        }))
    }

    /// `notice` as the listen's stream carries it: tagged with the subscription id.
    pub fn tag(&self, notice: &Frame) -> Frame {
        let mut value = notice.to_value();
        if !value["params"].is_object() {
            value["params"] = json!({});
        }
        if !value["params"]["_meta"].is_object() {
            value["params"]["_meta"] = json!({});
        }
        value["params"]["_meta"][SUBSCRIPTION_ID] = self.subscription_id();
        Frame::from_value(&value)
    }

    /// The response that ends the listen gracefully.
    pub fn completion(&self) -> Frame {
        let result = json!({"resultType": "complete", "_meta": {SUBSCRIPTION_ID: self.subscription_id()}});
        jsonrpc::result_response(&self.id, &result.to_string())
    }

    fn subscription_id(&self) -> Value {
        serde_json::from_str(&self.id).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_read_strictly_and_granted_by_what_servers_offer() {
        let (kinds, uris) =
            Kinds::parse(&json!({"toolsListChanged": true, "resourceSubscriptions": ["a://1"]})).unwrap();
        assert_eq!((kinds.tools, kinds.prompts, uris.len()), (true, false, 1));
        assert!(Kinds::parse(&json!({"toolsListChanged": "yes"})).is_err());
        assert!(Kinds::parse(&json!({"resourceSubscriptions": [1]})).is_err());
        assert!(Kinds::parse(&json!([])).is_err());
        let many: Vec<String> = (0..=MAX_URIS).map(|i| format!("a://{i}")).collect();
        assert!(matches!(
            Kinds::parse(&json!({"resourceSubscriptions": many})),
            Err(FilterError::TooManyUris)
        ));
        let offered = Kinds::offered_by(&json!({"tools": {"listChanged": true}, "prompts": {}}));
        assert_eq!(
            kinds.and(offered),
            Kinds {
                tools: true,
                ..Kinds::default()
            }
        );
        assert!(!kinds.wants("notifications/message"));
        assert!(!kinds.wants("notifications/progress"));
    }

    #[test]
    fn every_message_of_a_listen_carries_its_id() {
        let listen = Listen {
            id: r#""sub-1""#.into(),
            kinds: Kinds::default(),
        };
        let tagged = listen.tag(&Frame::from_value(
            &json!({"jsonrpc": "2.0", "method": "notifications/tools/list_changed"}),
        ));
        assert_eq!(tagged.to_value()["params"]["_meta"][SUBSCRIPTION_ID], "sub-1");
        let ack = listen.acknowledgement(&["a://1".into()]).to_value();
        assert_eq!(ack["params"]["_meta"][SUBSCRIPTION_ID], "sub-1");
        assert_eq!(
            ack["params"]["notifications"],
            json!({"resourceSubscriptions": ["a://1"]})
        );
        let done = listen.completion().to_value();
        assert_eq!(
            (
                done["id"].clone(),
                done["result"]["_meta"][SUBSCRIPTION_ID].clone()
            ),
            (json!("sub-1"), json!("sub-1"))
        );
    }
}

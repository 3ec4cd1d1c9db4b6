//! Resource subscriptions and a stateless server's notices.
//!
//! A session-era server is told of the first subscriber to a URI with `resources/subscribe`
//! and of the last leaving with `resources/unsubscribe`, and announces list changes on its
//! own. A stateless (2026-07-28) server sends notifications only on a `subscriptions/listen`
//! that asked for them, so the upstream keeps one open for everyone: every list change the
//! server announces, and updates of every URI subscribed. When the URIs change, a new listen
//! replaces it. Its notices reach the same broadcast a session-era server's do, untagged;
//! the acknowledgement and stragglers of a replaced listen go nowhere.
//!
//! Which clients want which notices is the gateway's.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{RpcError, Upstream, Waiter};
use crate::era::{self, Envelope, Era, SUBSCRIPTION_ID_KEY};
use crate::jsonrpc::Frame;

impl Upstream {
    /// Tells the server that `uris` gained their first subscriber (`on`) or lost their last.
    pub async fn tell_subscriptions(
        &self,
        uris: &[String],
        on: bool,
        within: Duration,
    ) -> Result<(), RpcError> {
        if uris.is_empty() {
            return Ok(());
        }
        if self.era() == Era::Stateless {
            return self.relisten().await;
        }
        let method = match on {
            true => "resources/subscribe",
            false => "resources/unsubscribe",
        };
        for uri in uris {
            self.request(method, json!({ "uri": uri }), within).await?;
        }
        Ok(())
    }

    /// Opens the listen that carries a stateless server's notices, for what it announces and
    /// the URIs subscribed now, and cancels the one it replaces. Nothing is opened for a
    /// server that announces nothing.
    pub async fn relisten(&self) -> Result<(), RpcError> {
        let _one_at_a_time = self.relistening.lock().await;
        let capabilities = self
            .init()
            .map(|mut i| i.result["capabilities"].take())
            .unwrap_or_default();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (filter, replaced) = {
            let mut routes = self.routes();
            if routes.closed {
                return Err(RpcError::Closed);
            }
            let mut uris: Vec<&String> = routes.subscriptions.keys().collect();
            uris.sort();
            let filter = filter(&capabilities, &uris);
            match filter.is_empty() {
                true => (None, routes.listen.take()),
                false => {
                    routes.pending.insert(id, Waiter::Listen);
                    (Some(filter), routes.listen.replace(id))
                }
            }
        };
        if let Some(filter) = filter {
            let request = json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": "subscriptions/listen",
                "params": {"notifications": filter},
            });
            self.send(Frame::from_value(&era::with_envelope(request, &Envelope::own())))
                .await?;
        }
        if let Some(old) = replaced {
            self.routes().pending.remove(&old);
            let cancel = json!({
                "jsonrpc": "2.0",
                "method": "notifications/cancelled",
                "params": {"requestId": old, "reason": "replaced by a listen for other resources"},
            });
            self.send(Frame::from_value(&cancel)).await?;
        }
        Ok(())
    }

    /// A notice from a stateless server as everyone gets it: without its listen's tag; none
    /// for a listen's acknowledgement or for the listen a new one replaced.
    pub(super) fn untagged(&self, frame: Frame) -> Option<Frame> {
        if frame.head().method.as_deref() == Some("notifications/subscriptions/acknowledged") {
            return None;
        }
        let tagged = frame
            .head()
            .params
            .is_some_and(|p| p.get().contains(SUBSCRIPTION_ID_KEY));
        if !tagged {
            return Some(frame);
        }
        let mut value = frame.to_value();
        let meta = value["params"]["_meta"].as_object_mut()?;
        let tag = meta.remove(SUBSCRIPTION_ID_KEY)?;
        if tag.as_u64() != self.routes().listen {
            return None;
        }
        if meta.is_empty()
            && let Some(params) = value["params"].as_object_mut()
        {
            params.remove("_meta");
        }
        Some(Frame::from_value(&value))
    }

    /// The server ended a listen (a `complete` result or an error): it carries nothing more.
    pub(super) fn listen_ended(&self, id: u64) {
        let mut routes = self.routes();
        if routes.listen == Some(id) {
            routes.listen = None;
        }
    }
}

/// What a listen asks of a server with `capabilities`: the list changes it announces, and
/// `uris` if it takes subscriptions.
fn filter(capabilities: &Value, uris: &[&String]) -> Map<String, Value> {
    let mut filter = Map::new();
    for (capability, key) in [
        ("tools", "toolsListChanged"),
        ("prompts", "promptsListChanged"),
        ("resources", "resourcesListChanged"),
    ] {
        if capabilities[capability]["listChanged"] == true {
            filter.insert(key.into(), Value::Bool(true));
        }
    }
    if capabilities["resources"]["subscribe"] == true && !uris.is_empty() {
        filter.insert("resourceSubscriptions".into(), json!(uris));
    }
    filter
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_listen_asks_for_what_the_server_announces_and_the_uris_it_takes() {
        let capabilities = json!({"tools": {"listChanged": true}, "prompts": {},
            "resources": {"subscribe": true, "listChanged": false}});
        let uri = "file:///a".to_owned();
        assert_eq!(
            Value::Object(filter(&capabilities, &[&uri])),
            json!({"toolsListChanged": true, "resourceSubscriptions": ["file:///a"]})
        );
        let without_subscriptions = json!({"resources": {"listChanged": true}});
        assert_eq!(
            Value::Object(filter(&without_subscriptions, &[&uri])),
            json!({"resourcesListChanged": true})
        );
        assert!(filter(&json!({}), &[]).is_empty());
    }
}

//! Resource subscriptions and a stateless server's notices.
//!
//! A session-era server is told of the first subscriber to a URI with `resources/subscribe`
//! and of the last leaving with `resources/unsubscribe`, and announces list changes on its
//! own. A stateless (2026-07-28) server sends notifications only on a `subscriptions/listen`
//! that asked for them, so the upstream keeps one open for everyone: every list change the
//! server announces, and updates of every URI subscribed. When the URIs change, a new listen
//! replaces it, and the old one is cancelled once the new one is acknowledged. Its notices
//! reach the same broadcast a session-era server's do, untagged; acknowledgements and
//! stragglers of listens already cancelled go nowhere.
//!
//! Which clients want which notices is the gateway's.

use std::sync::atomic::Ordering;
use std::time::Duration;

use serde_json::{Map, Value, json};

use super::{RpcError, Upstream, Waiter};
use crate::era::{self, Envelope, Era, SUBSCRIPTION_ID_KEY};
use crate::jsonrpc::{Frame, code};

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
            let takes = self
                .init()
                .is_some_and(|i| i.capabilities()["resources"]["subscribe"] == true);
            if !takes && on {
                return Err(RpcError::Remote {
                    method: "resources/subscribe".into(),
                    code: code::METHOD_NOT_FOUND,
                    message: format!("server {} does not take resource subscriptions", self.server),
                });
            }
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
    /// the URIs subscribed now. The one it replaces is cancelled once the new one is
    /// acknowledged (until then both are heard), or at once when nothing is asked for.
    pub async fn relisten(&self) -> Result<(), RpcError> {
        let _one_at_a_time = self.relistening.lock().await;
        let capabilities = self
            .init()
            .map(|mut i| i.result["capabilities"].take())
            .unwrap_or_default();
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (filter, cancel_now) = {
            let mut routes = self.routes();
            if routes.closed {
                return Err(RpcError::Closed);
            }
            let mut uris: Vec<&String> = routes.subscriptions.keys().collect();
            uris.sort();
            let filter = filter(&capabilities, &uris);
            // A listen still waiting to be replaced is given up on: the newest replaces both.
            let mut cancel_now: Vec<u64> = routes.retiring.take().into_iter().collect();
            let replaced = match filter.is_empty() {
                true => routes.listen.take(),
                false => {
                    routes.pending.insert(id, Waiter::Listen);
                    routes.listen.replace(id)
                }
            };
            match filter.is_empty() {
                true => cancel_now.extend(replaced),
                false => routes.retiring = replaced,
            }
            ((!filter.is_empty()).then_some(filter), cancel_now)
        };
        for old in cancel_now {
            self.end_listen(old).await?;
        }
        if let Some(filter) = filter {
            let request = json!({
                "jsonrpc": "2.0",
                "id": id,
                "method": "subscriptions/listen",
                "params": {"_meta": era::meta(&Envelope::own()), "notifications": filter},
            });
            self.send(Frame::from_value(&request)).await?;
        }
        Ok(())
    }

    /// Cancels the listen `id`.
    async fn end_listen(&self, id: u64) -> Result<(), RpcError> {
        self.routes().pending.remove(&id);
        let cancel = json!({
            "jsonrpc": "2.0",
            "method": "notifications/cancelled",
            "params": {"requestId": id, "reason": "replaced by a listen for other resources"},
        });
        self.send(Frame::from_value(&cancel)).await
    }

    /// A notification the server sent outside any request. A stateless server's comes on a
    /// listen: it reaches everyone without its tag, and only from the listen now carrying
    /// them (or the one it replaces, until the new one is acknowledged).
    pub(super) async fn on_notice(&self, frame: Frame) {
        let tagged = frame
            .head()
            .params
            .is_some_and(|p| p.get().contains(SUBSCRIPTION_ID_KEY));
        if self.era() != Era::Stateless || !tagged {
            let _ = self.notices.send(frame);
            return;
        }
        let mut value = frame.to_value();
        let meta = value
            .get_mut("params")
            .and_then(|p| p.get_mut("_meta"))
            .and_then(Value::as_object_mut);
        let Some(meta) = meta else {
            let _ = self.notices.send(frame);
            return;
        };
        let tag = meta.remove(SUBSCRIPTION_ID_KEY).and_then(|t| t.as_u64());
        if meta.is_empty()
            && let Some(params) = value.get_mut("params").and_then(Value::as_object_mut)
        {
            params.remove("_meta");
        }
        let (current, retiring) = {
            let routes = self.routes();
            (routes.listen, routes.retiring)
        };
        if frame.head().method.as_deref() == Some("notifications/subscriptions/acknowledged") {
            let replaced = (tag.is_some() && tag == current)
                .then(|| self.routes().retiring.take())
                .flatten();
            if let Some(old) = replaced {
                let _ = self.end_listen(old).await;
            }
            return;
        }
        if tag.is_some() && (tag == current || tag == retiring) {
            let _ = self.notices.send(Frame::from_value(&value));
        }
    }

    /// The server ended a listen (a `complete` result or an error): it carries nothing more.
    pub(super) fn listen_ended(&self, id: u64) {
        let mut routes = self.routes();
        if routes.retiring == Some(id) {
            routes.retiring = None;
        }
        if routes.listen == Some(id) {
            routes.listen = None;
            tracing::warn!(
                server = %self.server,
                "the server ended the listen that carries its notices; list changes and resource \
                 updates are heard again after the next subscription or restart"
            );
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

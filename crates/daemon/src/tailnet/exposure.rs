//! Which servers are on the tailnet and who may reach them.
//!
//! An exposure lets this node's owner reach a server, and whoever else it lists: tailnet users
//! by login and tagged nodes by tag. The list is kept in SQLite and mirrored in memory, so the
//! check on each request never waits on the database. Who a connection comes from is the
//! listener's business ([`super::listener`]); this module only answers "may this peer reach
//! that server".

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::RwLock;
use switchboard_model::ServerName;
use switchboard_model::api::{Event, Exposure};
use switchboard_store::{Store, StoreError};
use tokio::sync::broadcast;

/// A tailnet peer as whois named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Peer {
    /// The user's login, or the node's tags when it is tagged (a tagged node acts for no user).
    pub identities: Vec<String>,
    /// Whether the peer is one of this node's owner's own devices.
    pub is_owner: bool,
    /// The peer's short node name, for the history.
    pub node: String,
}

impl Peer {
    /// How the history and sessions name it: `alice@example.com on alice-laptop`.
    pub fn label(&self) -> String {
        format!("{} on {}", self.identities.join(","), self.node)
    }
}

/// Why an audience is refused.
#[derive(Debug, thiserror::Error)]
#[error(
    "`{0}` is neither a tailnet user's login (like alice@example.com or alice@github) nor a tag (like tag:server)"
)]
pub struct BadPrincipal(pub String);

/// Checks that each entry names a user login or a tag, and drops repeats.
pub fn audience(to: Vec<String>) -> Result<Vec<String>, BadPrincipal> {
    let mut seen = Vec::with_capacity(to.len());
    for principal in to {
        let principal = principal.trim().to_owned();
        let tag = principal.strip_prefix("tag:").is_some_and(|name| {
            !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
        let login = principal
            .split_once('@')
            .is_some_and(|(user, domain)| !user.is_empty() && !domain.is_empty())
            && !principal.contains(|c: char| c.is_whitespace() || c == ',');
        if !tag && !login {
            return Err(BadPrincipal(principal));
        }
        if !seen.contains(&principal) {
            seen.push(principal);
        }
    }
    Ok(seen)
}

/// Exposed servers, in SQLite and in memory.
#[derive(Debug)]
pub struct Exposures {
    store: Store,
    by_server: RwLock<BTreeMap<ServerName, Vec<String>>>,
}

impl Exposures {
    /// Loads the exposures and follows `events`, forgetting the exposure of a server that is
    /// removed (SQLite drops its row by cascade): a new server of the same name starts unexposed.
    pub async fn load(store: Store, events: broadcast::Receiver<Event>) -> Result<Arc<Self>, StoreError> {
        let exposures = Arc::new(Self {
            store,
            by_server: RwLock::default(),
        });
        exposures.reload().await?;
        tokio::spawn(forget_removed(Arc::downgrade(&exposures), events));
        Ok(exposures)
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let all = self.store.exposures().await?;
        *self.write() = all.into_iter().map(|e| (e.server, e.to)).collect();
        Ok(())
    }

    fn write(&self) -> parking_lot::RwLockWriteGuard<'_, BTreeMap<ServerName, Vec<String>>> {
        self.by_server.write()
    }

    fn read(&self) -> parking_lot::RwLockReadGuard<'_, BTreeMap<ServerName, Vec<String>>> {
        self.by_server.read()
    }

    pub async fn set(&self, exposure: Exposure) -> Result<(), StoreError> {
        self.store.set_exposure(&exposure).await?;
        self.write().insert(exposure.server, exposure.to);
        Ok(())
    }

    /// False if the server was not exposed.
    pub async fn remove(&self, server: &ServerName) -> Result<bool, StoreError> {
        let removed = self.store.remove_exposure(server).await?;
        self.write().remove(server);
        Ok(removed)
    }

    pub fn list(&self) -> Vec<Exposure> {
        self.read()
            .iter()
            .map(|(server, to)| Exposure {
                server: server.clone(),
                to: to.clone(),
            })
            .collect()
    }

    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }

    pub fn allows(&self, server: &ServerName, peer: &Peer) -> bool {
        self.read()
            .get(server)
            .is_some_and(|to| peer.is_owner || peer.identities.iter().any(|id| to.contains(id)))
    }

    /// The servers `peer` may reach, in name order.
    pub fn offered_to(&self, peer: &Peer) -> Vec<ServerName> {
        self.read()
            .iter()
            .filter(|(_, to)| peer.is_owner || peer.identities.iter().any(|id| to.contains(id)))
            .map(|(server, _)| server.clone())
            .collect()
    }
}

async fn forget_removed(exposures: std::sync::Weak<Exposures>, mut events: broadcast::Receiver<Event>) {
    loop {
        let event = events.recv().await;
        let Some(exposures) = exposures.upgrade() else {
            return;
        };
        match event {
            Ok(Event::ServerRemoved { name }) => {
                exposures.write().remove(&name);
            }
            Ok(_) => {}
            // Missed events may have held a removal: read the truth again.
            Err(broadcast::error::RecvError::Lagged(_)) => {
                if let Err(e) = exposures.reload().await {
                    tracing::warn!("cannot reload tailnet exposures: {e}");
                }
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_audience_names_logins_and_tags_only() {
        assert_eq!(
            audience(strings(&[
                "alice@example.com",
                " tag:ci ",
                "bob@github",
                "alice@example.com"
            ]))
            .expect("valid"),
            strings(&["alice@example.com", "tag:ci", "bob@github"])
        );
        for bad in ["alice", "tag:", "tag:a b", "@example.com", "a@b,c@d", "*"] {
            let error = audience(strings(&[bad])).expect_err(bad);
            assert!(error.to_string().contains("tag:server"), "{error}");
        }
    }

    async fn exposures() -> (tempfile::TempDir, Arc<Exposures>, Store) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("db.sqlite")).await.expect("store");
        for name in ["time", "notes", "files"] {
            let spec: switchboard_model::ServerSpec = serde_json::from_value(serde_json::json!({
                "name": name, "transport": {"type": "stdio", "command": "true"}
            }))
            .expect("spec");
            store.insert_server(&spec, true).await.expect("insert");
        }
        // The sender goes with this function: the follower ends, the mirror stays.
        let (_events, rx) = broadcast::channel(4);
        let exposures = Exposures::load(store.clone(), rx).await.expect("load");
        (dir, exposures, store)
    }

    fn name(s: &str) -> ServerName {
        ServerName::new(s).expect("name")
    }

    #[tokio::test]
    async fn the_owner_reaches_every_exposed_server_and_others_only_where_listed() {
        let (_dir, exposures, store) = exposures().await;
        exposures
            .set(Exposure {
                server: name("time"),
                to: Vec::new(),
            })
            .await
            .expect("expose");
        exposures
            .set(Exposure {
                server: name("notes"),
                to: strings(&["bob@example.com", "tag:ci"]),
            })
            .await
            .expect("expose");
        let owner = Peer {
            identities: strings(&["alice@example.com"]),
            is_owner: true,
            node: "laptop".into(),
        };
        let bob = Peer {
            identities: strings(&["bob@example.com"]),
            is_owner: false,
            node: "bobs-phone".into(),
        };
        let ci = Peer {
            identities: strings(&["tag:ci"]),
            is_owner: false,
            node: "runner".into(),
        };
        let carol = Peer {
            identities: strings(&["carol@example.com"]),
            is_owner: false,
            node: "carol".into(),
        };
        assert_eq!(exposures.offered_to(&owner), [name("notes"), name("time")]);
        assert_eq!(exposures.offered_to(&bob), [name("notes")]);
        assert!(exposures.allows(&name("notes"), &ci));
        assert!(!exposures.allows(&name("time"), &bob));
        assert!(!exposures.allows(&name("files"), &owner), "never exposed");
        assert!(exposures.offered_to(&carol).is_empty());

        // Kept in SQLite: a restarted daemon exposes the same.
        let (_events, rx) = broadcast::channel(4);
        let again = Exposures::load(store.clone(), rx).await.expect("load");
        assert_eq!(again.list(), exposures.list());

        assert!(exposures.remove(&name("notes")).await.expect("remove"));
        assert!(!exposures.allows(&name("notes"), &bob));
        assert!(!exposures.remove(&name("notes")).await.expect("remove again"));
        let unknown = exposures
            .set(Exposure {
                server: name("nope"),
                to: Vec::new(),
            })
            .await;
        assert!(matches!(unknown, Err(StoreError::NotFound(_))), "{unknown:?}");
    }
}

//! On-demand servers at the gateway: what each server offered in its last run (its handshake
//! result and its tool, prompt and resource lists), answered while it sleeps, and the wake
//! that starts it when a request needs its process.
//!
//! The lists are learnt when a run of any server reaches running, kept in the store per
//! server version, and compared with what was kept: a list that changed (an update) is
//! announced with `list_changed` to the sessions that see the server. When a server sleeps
//! and wakes is the supervisor's; this module only decides where a request's answer comes
//! from.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use serde_json::{Map, Value, json};
use switchboard_mcp::jsonrpc::Frame;
use switchboard_mcp::upstream::{RpcError, Upstream};
use switchboard_model::api::Profile;
use switchboard_model::{ServerName, ServerState};
use switchboard_store::{KeptLists, Store, StoreError};

use super::session::{Session, Target};
use super::{Gateway, START_PATIENCE, Unavailable, live, route};

/// How long a new run's lists may take to be learnt.
const LEARN_PATIENCE: Duration = Duration::from_secs(30);

/// The lists kept of each server: (method, key in the result, capability that offers it).
const LISTS: [(&str, &str, &str); 4] = [
    ("tools/list", "tools", "tools"),
    ("prompts/list", "prompts", "prompts"),
    ("resources/list", "resources", "resources"),
    ("resources/templates/list", "resourceTemplates", "resources"),
];

/// Each server's newest kept lists, in memory.
#[derive(Debug)]
pub(crate) struct Kept {
    store: Store,
    by_server: Mutex<HashMap<ServerName, Arc<KeptLists>>>,
}

impl Kept {
    pub(crate) async fn load(store: Store) -> Result<Self, StoreError> {
        let by_server = store
            .kept_lists()
            .await?
            .into_iter()
            .map(|kept| (kept.server.clone(), Arc::new(kept)))
            .collect();
        Ok(Self {
            store,
            by_server: Mutex::new(by_server),
        })
    }

    fn get(&self, server: &ServerName) -> Option<Arc<KeptLists>> {
        self.by_server.lock().get(server).cloned()
    }

    /// Keeps `lists` as `server`'s newest; returns the keys of the lists that differ from
    /// those kept before (none the first time: nothing was offered before to differ from).
    async fn replace(&self, kept: KeptLists) -> Result<Vec<String>, StoreError> {
        let before = self.get(&kept.server);
        let changed = match &before {
            Some(before) => changed_lists(&before.lists, &kept.lists),
            None => Vec::new(),
        };
        let same = before
            .as_ref()
            .is_some_and(|b| b.version == kept.version && b.lists == kept.lists);
        if !same {
            self.store.keep_lists(&kept).await?;
            self.by_server.lock().insert(kept.server.clone(), Arc::new(kept));
        }
        Ok(changed)
    }

    pub(crate) fn forget(&self, server: &ServerName) {
        self.by_server.lock().remove(server);
    }
}

/// The list keys whose items differ between two kept sets.
fn changed_lists(before: &Value, after: &Value) -> Vec<String> {
    LISTS
        .iter()
        .map(|(_, key, _)| *key)
        .filter(|key| before.get(key) != after.get(key))
        .map(str::to_owned)
        .collect()
}

/// What tells a kept set from another: the name and version the server reports.
fn version_of(init: &Value) -> String {
    let info = &init["serverInfo"];
    format!(
        "{} {}",
        info["name"].as_str().unwrap_or_default(),
        info["version"].as_str().unwrap_or_default()
    )
}

/// The notification that says a list with this key changed.
fn list_changed_method(key: &str) -> &'static str {
    match key {
        "tools" => "notifications/tools/list_changed",
        "prompts" => "notifications/prompts/list_changed",
        _ => "notifications/resources/list_changed",
    }
}

/// The aggregate's last list answer gathered only from sleeping servers' kept lists, to be
/// answered again while nothing it depends on changed: the generation counts every change to
/// kept lists, approvals, profiles and which servers are listed.
#[derive(Debug, Default)]
pub(crate) struct KeptAnswer {
    generation: std::sync::atomic::AtomicU64,
    answer: Mutex<Option<Answer>>,
}

#[derive(Debug)]
struct Answer {
    method: String,
    profile: Option<Profile>,
    generation: u64,
    servers: Vec<ServerName>,
    text: Arc<str>,
}

impl KeptAnswer {
    /// Something a list answer depends on changed.
    pub(crate) fn moved(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }
}

impl Gateway {
    /// Which generation of what list answers depend on this is: read before gathering one.
    pub(crate) fn lists_generation(&self) -> u64 {
        self.answers.generation.load(Ordering::SeqCst)
    }

    /// The kept answer to `method` for `profile`, if nothing it depends on changed since it
    /// was gathered and every server in it still sleeps.
    pub(crate) fn kept_answer(&self, profile: Option<&Profile>, method: &str) -> Option<Arc<str>> {
        let answer = self.answers.answer.lock();
        let answer = answer.as_ref()?;
        let fresh = answer.method == method
            && answer.generation == self.lists_generation()
            && answer.profile.as_ref() == profile
            && answer.servers.iter().all(|server| self.is_asleep(server));
        fresh.then(|| Arc::clone(&answer.text))
    }

    /// Keeps `text`, gathered at `generation` from the kept lists of `servers` alone.
    pub(crate) fn keep_answer(
        &self,
        profile: Option<&Profile>,
        method: &str,
        generation: u64,
        servers: Vec<ServerName>,
        text: Arc<str>,
    ) {
        *self.answers.answer.lock() = Some(Answer {
            method: method.to_owned(),
            profile: profile.cloned(),
            generation,
            servers,
            text,
        });
    }

    /// Whether `server`'s lists come from what was kept: it is on demand, and asleep or on
    /// its way up from sleep, with no connection to ask.
    fn is_asleep(&self, server: &ServerName) -> bool {
        let supervisor = self.supervisor();
        if !supervisor.on_demand(server) || self.live_upstream(server).is_some() {
            return false;
        }
        supervisor.snapshot(server).is_some_and(|s| {
            matches!(
                s.state,
                ServerState::Sleeping { .. } | ServerState::Starting { .. } | ServerState::BackingOff { .. }
            )
        })
    }

    /// A sleeping server's kept list of `key` (empty if it offers none); `None` when the
    /// server must be asked.
    pub fn asleep_list(&self, server: &ServerName, key: &str) -> Option<Vec<Value>> {
        if !self.is_asleep(server) {
            return None;
        }
        let kept = self.kept.get(server)?;
        Some(kept.lists[key].as_array().cloned().unwrap_or_default())
    }

    /// The server's handshake result: its live connection's, or while it sleeps its last
    /// run's.
    pub(crate) fn server_init(&self, server: &ServerName) -> Option<Value> {
        if let Some(upstream) = self.live_upstream(server) {
            return upstream.init().map(|i| i.result);
        }
        self.is_asleep(server)
            .then(|| self.kept.get(server))
            .flatten()
            .map(|kept| kept.lists["init"].clone())
    }

    /// Learns the lists of `server`'s run that just reached running: kept, screened by the
    /// quarantine, and announced to the sessions that see it where they changed.
    pub(crate) async fn learn_lists(self: Arc<Self>, server: ServerName) {
        let Some(upstream) = self.live_upstream(&server) else {
            return;
        };
        let Some(lists) = list_everything(&upstream).await else {
            return;
        };
        if let Some(tools) = lists["tools"].as_array() {
            self.screen_tools(&server, &mut tools.clone()).await;
        }
        let kept = KeptLists {
            server: server.clone(),
            version: version_of(&lists["init"]),
            lists,
        };
        let replaced = self.kept.replace(kept).await;
        self.answers.moved();
        match replaced {
            Ok(changed) => {
                let mut methods: Vec<&str> = changed.iter().map(|k| list_changed_method(k)).collect();
                methods.dedup();
                self.lists_changed_on(&server, &methods);
            }
            Err(e) => tracing::warn!(%server, "cannot keep its lists, so it cannot sleep: {e}"),
        }
    }

    /// Tells every session that sees `server` (its own and the aggregate's, where its profile
    /// offers it) that these lists changed.
    pub(crate) fn lists_changed_on(&self, server: &ServerName, methods: &[&str]) {
        if methods.is_empty() {
            return;
        }
        self.answers.moved();
        self.budgets().changed();
        let sessions: Vec<Arc<Session>> = self
            .sessions()
            .values()
            .filter(|s| match &s.target {
                Target::Server(name) => name == server,
                Target::Aggregate => true,
            })
            .filter(|s| self.offers_to(s, server))
            .cloned()
            .collect();
        for session in sessions {
            for method in methods {
                session.notice(
                    None,
                    Frame::from_value(&json!({"jsonrpc": "2.0", "method": method})),
                );
            }
        }
    }

    /// The running server's connection, waiting (bounded) while it starts or restarts, and
    /// waking it if it sleeps: concurrent requests share the one start.
    pub async fn upstream(&self, name: &ServerName) -> Result<Arc<Upstream>, Unavailable> {
        let supervisor = self.supervisor();
        let unknown = || Unavailable::Unknown(name.clone());
        let mut watch = supervisor.upstream(name).ok_or_else(unknown)?;
        if let Some(up) = live(&watch) {
            return Ok(up);
        }
        let mut state = supervisor.watch_state(name).ok_or_else(unknown)?;
        let started = Instant::now();
        let deadline = tokio::time::Instant::now() + START_PATIENCE;
        let mut woke = false;
        loop {
            let current = state.borrow_and_update().clone();
            match waiting_on(&current, woke) {
                Wait::Wake => {
                    supervisor.wake(name);
                    woke = true;
                }
                Wait::Coming => {}
                Wait::WakeFailed(reason) => {
                    return Err(Unavailable::WakeFailed {
                        name: name.clone(),
                        reason,
                    });
                }
                Wait::Down if self.is_paused() => return Err(Unavailable::Paused(name.clone())),
                Wait::Down => {
                    return Err(Unavailable::NotRunning {
                        name: name.clone(),
                        state: current.label().to_owned(),
                    });
                }
            }
            tokio::select! {
                changed = watch.changed() => if changed.is_err() { return Err(unknown()) },
                changed = state.changed() => if changed.is_err() { return Err(unknown()) },
                () = tokio::time::sleep_until(deadline) => {
                    let label = state.borrow().label().to_owned();
                    return Err(match woke {
                        true => Unavailable::Waking { name: name.clone(), waited: started.elapsed() },
                        false => Unavailable::NotRunning { name: name.clone(), state: label },
                    });
                }
            }
            if let Some(up) = live(&watch) {
                return Ok(up);
            }
        }
    }
}

/// What a request waiting for a server does about its state.
enum Wait {
    /// Asleep: start it.
    Wake,
    /// On its way up (or up): wait.
    Coming,
    /// It was woken for this request and failed to start.
    WakeFailed(String),
    /// Down, and nothing will bring it up.
    Down,
}

fn waiting_on(state: &ServerState, woke: bool) -> Wait {
    match state {
        // Again if it fell asleep once more before this request reached it: wakes rung
        // while one is under way come to one start.
        ServerState::Sleeping { .. } => Wait::Wake,
        ServerState::Starting { .. } | ServerState::Running { .. } => Wait::Coming,
        ServerState::BackingOff { last, .. } | ServerState::CrashLooping { last, .. } if woke => {
            Wait::WakeFailed(last.to_string())
        }
        ServerState::Failed { reason } if woke => Wait::WakeFailed(reason.to_string()),
        ServerState::BackingOff { .. } => Wait::Coming,
        _ => Wait::Down,
    }
}

/// The handshake result and every list the server offers, all pages; `None` if any failed
/// (what was kept before stays).
async fn list_everything(upstream: &Upstream) -> Option<Value> {
    let init = upstream.init()?;
    let deadline = Instant::now() + LEARN_PATIENCE;
    let mut lists = Map::new();
    lists.insert("init".into(), init.result.clone());
    for (method, key, capability) in LISTS {
        if init.capabilities().get(capability).is_none() {
            continue;
        }
        match route::list_all(upstream, method, key, deadline).await {
            Ok(items) => lists.insert(key.into(), Value::Array(items)),
            // It answered, with an error (a database it lists from is down): it offers none
            // of these now, and that is what is listed while it sleeps.
            Err(RpcError::Remote { message, .. }) => {
                tracing::info!(server = %upstream.server(), "keeps no {key}: its {method} failed: {message}");
                lists.insert(key.into(), Value::Array(Vec::new()))
            }
            Err(e) => {
                tracing::warn!(server = %upstream.server(), "cannot learn its {key} (what was kept before stays): {e}");
                return None;
            }
        };
    }
    Some(Value::Object(lists))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lists_that_differ_are_announced() {
        let before = json!({"init": {}, "tools": [{"name": "a"}], "prompts": []});
        let after = json!({"init": {"x": 1}, "tools": [{"name": "a", "description": "new"}], "prompts": []});
        assert_eq!(changed_lists(&before, &after), ["tools"]);
        assert!(changed_lists(&before, &before).is_empty());
        // A list a server stops offering changed too.
        assert_eq!(
            changed_lists(&before, &json!({"tools": [{"name": "a"}]})),
            ["prompts"]
        );
    }

    #[test]
    fn a_request_wakes_a_sleeping_server_and_fails_clearly_if_the_wake_fails() {
        let sleeping = ServerState::Sleeping {
            since_ms: 0,
            tools: 1,
        };
        assert!(matches!(waiting_on(&sleeping, false), Wait::Wake));
        assert!(matches!(waiting_on(&sleeping, true), Wait::Wake));
        let starting = ServerState::Starting { pid: None };
        assert!(matches!(waiting_on(&starting, true), Wait::Coming));
        let failed = ServerState::Failed {
            reason: switchboard_model::FailureReason::SpawnFailed {
                message: "no node".into(),
            },
        };
        assert!(matches!(waiting_on(&failed, true), Wait::WakeFailed(r) if r.contains("no node")));
        assert!(matches!(waiting_on(&failed, false), Wait::Down));
        assert!(matches!(waiting_on(&ServerState::Stopped, true), Wait::Down));
    }
}

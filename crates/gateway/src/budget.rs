//! What the tools each client is offered cost its model's context, and its budget for them.
//!
//! A cost is counted when asked (the tokens and clients APIs) from the aggregate's tool lists
//! as the client's profile offers them, with [`crate::cost`]'s counts. [`watch`] counts again
//! whenever the servers, the profiles or the budgets change, and announces a client over its
//! budget once for each cost it is over with. What the fix is (a narrower profile, search mode) is the
//! person's to choose.

use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

use parking_lot::RwLock;
use switchboard_model::api::{Event, ToolCost, Wiring};
use switchboard_store::{Store, StoreError};
use tokio::sync::Notify;

use crate::profiles::{ProfileError, valid_name};
use crate::{Gateway, route, search};

/// How long the watcher lets a burst of changes (servers starting one by one) settle before
/// it counts.
const SETTLE: Duration = Duration::from_secs(1);

/// Each client's budget: its own, or the daemon's.
#[derive(Debug)]
pub struct Budgets {
    store: Store,
    default: u64,
    own: RwLock<HashMap<String, u64>>,
    /// Held across a change's write to the store and to memory, so the two agree.
    changing: tokio::sync::Mutex<()>,
    /// Woken when what a client is offered, or may spend, may have changed.
    stale: Arc<Notify>,
}

impl Budgets {
    pub(crate) async fn load(store: Store, default: u64) -> Result<Self, StoreError> {
        let own = store.budgets().await?.into_iter().collect();
        Ok(Self {
            store,
            default,
            own: RwLock::new(own),
            changing: tokio::sync::Mutex::default(),
            stale: Arc::default(),
        })
    }

    /// What `client`'s tools may cost.
    pub fn of(&self, client: &str) -> u64 {
        self.own.read().get(client).copied().unwrap_or(self.default)
    }

    /// Gives `client` a budget of its own (`None`: the daemon's).
    pub(crate) async fn set(&self, client: &str, tokens: Option<u64>) -> Result<(), ProfileError> {
        if !valid_name(client) {
            return Err(ProfileError::InvalidName(client.to_owned()));
        }
        let _changing = self.changing.lock().await;
        self.store.set_budget(client, tokens).await?;
        match tokens {
            Some(tokens) => self.own.write().insert(client.to_owned(), tokens),
            None => self.own.write().remove(client),
        };
        self.changed();
        Ok(())
    }

    /// Tells the watcher to count again.
    pub(crate) fn changed(&self) {
        self.stale.notify_one();
    }
}

impl Gateway {
    /// What the tools `client` is offered cost, against its budget; `None` (with a warning in
    /// the log) if they cannot be counted.
    pub async fn tool_cost(&self, client: &str) -> Option<ToolCost> {
        self.tool_costs(&[client]).await.pop().flatten()
    }

    /// What the tools each of `clients` is offered cost, from one listing of every server's
    /// tools: those its profile lets through, of the servers its config's entries name (all,
    /// for one entry for every server).
    pub async fn tool_costs(&self, clients: &[&str]) -> Vec<Option<ToolCost>> {
        let listed = route::all_tools(self).await;
        let wirings: HashMap<String, Wiring> = match self.servers.store.wirings().await {
            Ok(wirings) => wirings.into_iter().collect(),
            Err(e) => {
                tracing::warn!("cannot read which servers clients' entries name: {e}");
                HashMap::new()
            }
        };
        let mut costs = Vec::new();
        for client in clients {
            let profile = self.profiles().of_client(client);
            let servers = wirings.get(*client).and_then(|w| w.servers.as_deref());
            let tools = match profile.as_deref().is_some_and(|p| p.search) {
                true => search::tools(),
                false => route::offered_tools(self, profile.as_deref(), servers, listed.clone()),
            };
            costs.push(match self.costs().tokens(&tools).await {
                Ok(tokens) => Some(ToolCost {
                    tools: u32::try_from(tools.len()).unwrap_or(u32::MAX),
                    tokens: tokens.iter().map(|t| u64::from(*t)).sum(),
                    budget: self.budgets().of(client),
                }),
                Err(e) => {
                    tracing::warn!("cannot count what the tools of client {client} cost: {e}");
                    None
                }
            });
        }
        costs
    }

    /// Gives `client` a budget of its own (`None`: the daemon's).
    pub async fn set_budget(&self, client: &str, tokens: Option<u64>) -> Result<(), ProfileError> {
        self.budgets().set(client, tokens).await
    }
}

/// Counts every client's cost whenever the servers, the profiles or the budgets change, and
/// announces each client that went over its budget.
pub(crate) async fn watch(gateway: Weak<Gateway>) {
    let Some((mut servers, stale)) = gateway
        .upgrade()
        .map(|g| (g.aggregate_changes(), Arc::clone(&g.budgets().stale)))
    else {
        return;
    };
    // What each client over its budget was last announced with.
    let mut over: HashMap<String, ToolCost> = HashMap::new();
    loop {
        tokio::select! {
            changed = servers.recv() => {
                if let Err(tokio::sync::broadcast::error::RecvError::Closed) = changed {
                    return;
                }
            }
            () = stale.notified() => {}
        }
        tokio::time::sleep(SETTLE).await;
        while servers.try_recv().is_ok() {}
        let Some(gateway) = gateway.upgrade() else { return };
        let clients = gateway.access.names();
        let names: Vec<&str> = clients.iter().map(|c| &**c).collect();
        let costs = gateway.tool_costs(&names).await;
        over.retain(|client, _| names.contains(&client.as_str()));
        for (client, cost) in clients.iter().zip(costs) {
            let Some(cost) = cost else { continue };
            if !cost.over() {
                over.remove(&**client);
            } else if over.insert(client.to_string(), cost) != Some(cost) {
                tracing::warn!(
                    %client,
                    "its {} tools cost {} tokens, over its budget of {}: narrow its profile \
                     (`switchboard profile`), turn on its profile's search mode (`switchboard \
                     profile search NAME on`) or give it a larger budget (`switchboard token budget`)",
                    cost.tools, cost.tokens, cost.budget
                );
                gateway.announce(Event::ClientOverBudget {
                    client: client.to_string(),
                    cost,
                });
            }
        }
    }
}

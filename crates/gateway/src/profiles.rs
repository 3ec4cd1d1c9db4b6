//! Profiles in force: which profile each client uses, and what it offers, held in memory for
//! the hot path and written through to the store.
//!
//! A client without a profile is offered every enabled server, as before profiles existed.
//! Applying a profile to a request (lists filtered, calls refused) is [`crate::route`]'s;
//! telling the affected sessions that their lists changed is [`crate::Gateway`]'s.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use parking_lot::RwLock;
use switchboard_model::ServerName;
use switchboard_model::api::{Offer, Profile, ProfileView, Selection, folder, valid_tool_name};
use switchboard_store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    #[error(
        "client and profile names are 1 to 64 characters of letters, digits, `.`, `_` and `-`; `{0}` is not one"
    )]
    InvalidName(String),
    #[error("no profile named {0}; `switchboard profile ls` lists them")]
    NotFound(String),
    #[error(
        "profile {name} is used by {}; give them another first (`switchboard profile use NAME --client CLIENT`, or `--none`)",
        clients.join(", ")
    )]
    InUse { name: String, clients: Vec<String> },
    #[error("no server named {0}; `switchboard ls` lists them, and a profile offers only servers that exist")]
    UnknownServer(ServerName),
    #[error("profile root `{0}` is not a folder: give an absolute path or a file:// URI")]
    BadRoot(String),
    #[error(
        "cannot present tool {tool} of server {server} so: {why}; choose another name, or \
         `switchboard profile override PROFILE {server} {tool} --clear`"
    )]
    BadOverride {
        server: ServerName,
        tool: String,
        why: String,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `name` is a valid client or profile name: 1 to 64 letters, digits, `.`, `_`, `-`.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[derive(Debug, Default)]
struct InForce {
    profiles: BTreeMap<String, Arc<Profile>>,
    /// Client name → profile name.
    clients: BTreeMap<String, String>,
}

/// The profiles, and who uses which.
#[derive(Debug)]
pub struct Profiles {
    store: Store,
    in_force: RwLock<InForce>,
    /// Held across a change's write to the store and to memory, so the two agree.
    changing: tokio::sync::Mutex<()>,
}

impl Profiles {
    pub(crate) async fn load(store: Store) -> Result<Self, StoreError> {
        let profiles = store
            .profiles()
            .await?
            .into_iter()
            .map(|(name, profile)| (name, Arc::new(profile)))
            .collect();
        let clients = store.client_profiles().await?.into_iter().collect();
        Ok(Self {
            store,
            in_force: RwLock::new(InForce { profiles, clients }),
            changing: tokio::sync::Mutex::default(),
        })
    }

    /// The profile whose folders hold one of `roots` (a client's), the most specific if
    /// several do.
    pub fn for_roots(&self, roots: &[PathBuf]) -> Option<Arc<Profile>> {
        let in_force = self.in_force.read();
        in_force
            .profiles
            .values()
            .filter_map(|profile| Some((profile.root_depth(roots)?, profile)))
            .max_by_key(|(depth, _)| *depth)
            .map(|(_, profile)| Arc::clone(profile))
    }

    /// Whether any profile is chosen by roots: only then are clients asked for theirs.
    pub fn any_roots(&self) -> bool {
        self.in_force
            .read()
            .profiles
            .values()
            .any(|p| !p.roots.is_empty())
    }

    /// The name of the profile `client` uses.
    pub fn name_of(&self, client: &str) -> Option<String> {
        self.in_force.read().clients.get(client).cloned()
    }

    /// The profile `client` uses; `None` offers it everything.
    pub fn of_client(&self, client: &str) -> Option<Arc<Profile>> {
        let in_force = self.in_force.read();
        let name = in_force.clients.get(client)?;
        in_force.profiles.get(name).cloned()
    }

    pub fn list(&self) -> Vec<ProfileView> {
        let in_force = self.in_force.read();
        in_force
            .profiles
            .iter()
            .map(|(name, profile)| view(&in_force, name, profile))
            .collect()
    }

    pub fn get(&self, name: &str) -> Result<ProfileView, ProfileError> {
        let in_force = self.in_force.read();
        match in_force.profiles.get(name) {
            Some(profile) => Ok(view(&in_force, name, profile)),
            None => Err(ProfileError::NotFound(name.to_owned())),
        }
    }

    /// Creates or replaces profile `name`; returns the clients that use it.
    pub(crate) async fn put(&self, name: &str, profile: Profile) -> Result<Vec<String>, ProfileError> {
        if !valid_name(name) {
            return Err(ProfileError::InvalidName(name.to_owned()));
        }
        if let Some(bad) = profile.roots.iter().find(|root| folder(root).is_none()) {
            return Err(ProfileError::BadRoot(bad.clone()));
        }
        check_overrides(&profile)?;
        let _changing = self.changing.lock().await;
        self.store.put_profile(name, &profile).await?;
        let mut in_force = self.in_force.write();
        in_force.profiles.insert(name.to_owned(), Arc::new(profile));
        Ok(users(&in_force, name))
    }

    /// Removes profile `name`, unless a client uses it.
    pub(crate) async fn remove(&self, name: &str) -> Result<(), ProfileError> {
        let _changing = self.changing.lock().await;
        let clients = users(&self.in_force.read(), name);
        if !clients.is_empty() {
            return Err(ProfileError::InUse {
                name: name.to_owned(),
                clients,
            });
        }
        if !self.store.remove_profile(name).await? {
            return Err(ProfileError::NotFound(name.to_owned()));
        }
        self.in_force.write().profiles.remove(name);
        Ok(())
    }

    /// Makes `client` use `profile` (`None`: everything).
    pub(crate) async fn choose(&self, client: &str, profile: Option<&str>) -> Result<(), ProfileError> {
        if !valid_name(client) {
            return Err(ProfileError::InvalidName(client.to_owned()));
        }
        let _changing = self.changing.lock().await;
        if let Some(name) = profile
            && !self.in_force.read().profiles.contains_key(name)
        {
            return Err(ProfileError::NotFound(name.to_owned()));
        }
        self.store.use_profile(client, profile).await?;
        let mut in_force = self.in_force.write();
        match profile {
            Some(name) => in_force.clients.insert(client.to_owned(), name.to_owned()),
            None => in_force.clients.remove(client),
        };
        Ok(())
    }
}

/// Overrides give tools names clients take, and no two tools of a server one name.
fn check_overrides(profile: &Profile) -> Result<(), ProfileError> {
    for (server, offer) in &profile.servers {
        for (tool, presented) in &offer.overrides {
            if let Some(name) = presented.name.as_deref().filter(|n| !valid_tool_name(n)) {
                return Err(ProfileError::BadOverride {
                    server: server.clone(),
                    tool: tool.clone(),
                    why: format!(
                        "`{name}` is not a name clients take: use 1 to 128 letters, digits, `_`, `-` and `.`"
                    ),
                });
            }
        }
        if let Some(name) = offer.clash() {
            return Err(ProfileError::BadOverride {
                server: server.clone(),
                tool: name.to_owned(),
                why: format!("two of its tools would both be named `{name}`"),
            });
        }
    }
    Ok(())
}

fn view(in_force: &InForce, name: &str, profile: &Profile) -> ProfileView {
    ProfileView {
        name: name.to_owned(),
        profile: profile.clone(),
        clients: users(in_force, name),
    }
}

fn users(in_force: &InForce, profile: &str) -> Vec<String> {
    in_force
        .clients
        .iter()
        .filter(|(_, p)| *p == profile)
        .map(|(client, _)| client.clone())
        .collect()
}

/// The lists a profile selects from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum List {
    Tools,
    Prompts,
    Resources,
}

impl List {
    /// The list a method lists, and the key its items are under.
    pub fn of_method(method: &str) -> Option<(Self, &'static str)> {
        match method {
            "tools/list" => Some((Self::Tools, "tools")),
            "prompts/list" => Some((Self::Prompts, "prompts")),
            "resources/list" => Some((Self::Resources, "resources")),
            "resources/templates/list" => Some((Self::Resources, "resourceTemplates")),
            _ => None,
        }
    }

    fn of(self, offer: &Offer) -> &Selection {
        match self {
            Self::Tools => &offer.tools,
            Self::Prompts => &offer.prompts,
            Self::Resources => &offer.resources,
        }
    }
}

/// What a client's profile (if any) lets it see of `server`.
pub fn visible<'p>(profile: Option<&'p Profile>, server: &ServerName) -> Visible<'p> {
    match profile {
        None => Visible::Everything,
        Some(profile) => match profile.servers.get(server) {
            Some(offer) => Visible::Offered(offer),
            None => Visible::Hidden,
        },
    }
}

/// What a client may see of one server.
#[derive(Clone, Copy, Debug)]
pub enum Visible<'p> {
    /// No profile: all of it.
    Everything,
    Offered(&'p Offer),
    Hidden,
}

impl Visible<'_> {
    pub fn is_offered(self) -> bool {
        !matches!(self, Self::Hidden)
    }

    /// Whether a list passes as its server lists it: every item offered, none presented
    /// otherwise.
    pub fn lists_as_listed(self, list: List) -> bool {
        match self {
            Self::Everything => true,
            Self::Offered(offer) => {
                list.of(offer).is_all() && (list != List::Tools || offer.overrides.is_empty())
            }
            Self::Hidden => false,
        }
    }

    /// `tool`, as its server lists it, as the profile presents it (its overrides applied).
    pub fn present(self, tool: &mut serde_json::Value) {
        if let Self::Offered(offer) = self
            && let Some(found) = tool["name"].as_str().and_then(|name| offer.overrides.get(name))
        {
            found.apply(tool);
        }
    }

    /// Whether the item of `list` named `name` (a resource by its URI) is offered; a tool
    /// another is renamed to stand for is not.
    pub fn allows(self, list: List, name: &str) -> bool {
        match self {
            Self::Everything => true,
            Self::Offered(offer) => {
                list.of(offer).allows(name) && !(list == List::Tools && offer.shadowed(name))
            }
            Self::Hidden => false,
        }
    }

    /// Whether an item as a server lists it is offered: a tool or prompt by its `name`, a
    /// resource by its `uri`, a template by its `uriTemplate`.
    pub fn allows_item(self, list: List, item: &serde_json::Value) -> bool {
        let key = match list {
            List::Resources if item.get("uriTemplate").is_some() => "uriTemplate",
            List::Resources => "uri",
            List::Tools | List::Prompts => "name",
        };
        item[key].as_str().is_some_and(|name| self.allows(list, name))
    }
}

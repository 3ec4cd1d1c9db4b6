//! What connecting or disconnecting a client does to one of its files, decided without
//! touching the file: the new text, what happened to each entry, and the ownership record
//! to keep.
//!
//! Ownership is what makes this safe. Switchboard records each entry it writes by name and a
//! hash of its content. An entry of that name that is not recorded (the user's own server) is
//! never overwritten or removed; a recorded entry whose content no longer matches the hash
//! was edited by the user and is left alone unless the caller forces it. Connecting makes the
//! file's Switchboard entries exactly the wanted ones: entries of ours no longer wanted (the
//! per-server entries when the user switches to the aggregate) are removed. A root key or a
//! file that Switchboard created goes away when its last entry does, so connect followed by
//! disconnect gives back the original bytes.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::catalog::Client;
use crate::config::Config;
use crate::entry::{Gateway, Route};
use crate::{EditError, ParseError};

/// What Switchboard remembers about one file it wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ownership {
    /// Entry names and the hash of the content written.
    pub entries: Vec<OwnedEntry>,
    /// Switchboard added the root key (remove it with the last entry).
    pub created_root: bool,
    /// Switchboard created the file (delete it when nothing else was added to it).
    pub created_file: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OwnedEntry {
    pub name: String,
    pub sha256: String,
}

impl Ownership {
    fn hash_of(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|e| e.name == name)
            .map(|e| e.sha256.as_str())
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// What happened to one entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "change", content = "entry")]
pub enum Change {
    Added(String),
    Updated(String),
    Unchanged(String),
    Removed(String),
    /// An entry of this name is the user's own; it was not touched.
    KeptForeign(String),
    /// Switchboard's entry was edited by the user; it was not touched (force overrides).
    KeptEdited(String),
}

/// The outcome for one file.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The new text; `None` when the file should be deleted (Switchboard created it and
    /// nothing else is in it).
    pub after: Option<String>,
    pub changes: Vec<Change>,
    pub ownership: Ownership,
}

impl Plan {
    /// Whether the file's bytes change.
    pub fn changes_file(&self, before: Option<&str>) -> bool {
        self.after.as_deref() != before
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("{0}; fix the file (or move it aside) and try again; nothing was written")]
    Parse(ParseError),
    #[error("{0}")]
    Edit(#[from] EditError),
}

/// The hash an entry is recorded under: SHA-256 of its compact JSON with keys sorted, so
/// reordering keys is not an edit.
pub fn entry_hash(value: &Value) -> String {
    fn canonical(value: &Value, out: &mut String) {
        match value {
            Value::Object(members) => {
                let mut sorted: Vec<_> = members.iter().collect();
                sorted.sort_by(|a, b| a.0.cmp(b.0));
                out.push('{');
                for (i, (k, v)) in sorted.into_iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push(':');
                    canonical(v, out);
                }
                out.push('}');
            }
            Value::Array(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    canonical(item, out);
                }
                out.push(']');
            }
            scalar => out.push_str(&scalar.to_string()),
        }
    }
    let mut text = String::new();
    canonical(value, &mut text);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Connect: the file's Switchboard entries become exactly `routes`, presenting `token`.
pub fn connect(
    client: &Client,
    before: Option<&str>,
    owned: &Ownership,
    gateway: &Gateway,
    routes: &[Route],
    token: &str,
    force: bool,
) -> Result<Plan, PlanError> {
    let mut config = Config::parse(client.format, before).map_err(PlanError::Parse)?;
    let mut ownership = Ownership {
        entries: Vec::new(),
        created_root: owned.created_root || !config.has_root(client),
        created_file: owned.created_file || before.is_none(),
    };
    let mut changes = Vec::new();
    for route in routes {
        let name = route.entry_name();
        let wanted = gateway.entry(client, route, token);
        let change = match config.entry(client, name) {
            None => Change::Added(name.to_owned()),
            Some(current) => {
                let ours = owned.hash_of(name).is_some() || gateway.is_ours(client, &current);
                let edited = owned.hash_of(name).is_some_and(|h| h != entry_hash(&current));
                if !ours {
                    changes.push(Change::KeptForeign(name.to_owned()));
                    continue;
                }
                if edited && !force {
                    changes.push(Change::KeptEdited(name.to_owned()));
                    ownership
                        .entries
                        .extend(owned.entries.iter().find(|e| e.name == name).cloned());
                    continue;
                }
                if current == wanted {
                    Change::Unchanged(name.to_owned())
                } else {
                    Change::Updated(name.to_owned())
                }
            }
        };
        if !matches!(change, Change::Unchanged(_)) {
            config.set_entry(client, name, &wanted)?;
        }
        ownership.entries.push(OwnedEntry {
            name: name.to_owned(),
            sha256: entry_hash(&wanted),
        });
        changes.push(change);
    }
    // Ours, but no longer wanted.
    let wanted_names: Vec<&str> = routes.iter().map(Route::entry_name).collect();
    let stale: Vec<OwnedEntry> = owned
        .entries
        .iter()
        .filter(|e| !wanted_names.contains(&e.name.as_str()))
        .cloned()
        .collect();
    remove_owned(client, &mut config, &stale, force, &mut changes, &mut ownership)?;
    Ok(finish(client, config, before, ownership, changes))
}

/// Disconnect: every Switchboard entry in the file goes, except ones the user edited.
pub fn disconnect(
    client: &Client,
    before: Option<&str>,
    owned: &Ownership,
    force: bool,
) -> Result<Plan, PlanError> {
    let mut config = Config::parse(client.format, before).map_err(PlanError::Parse)?;
    let mut ownership = Ownership {
        entries: Vec::new(),
        ..owned.clone()
    };
    let mut changes = Vec::new();
    remove_owned(
        client,
        &mut config,
        &owned.entries,
        force,
        &mut changes,
        &mut ownership,
    )?;
    Ok(finish(client, config, before, ownership, changes))
}

fn remove_owned(
    client: &Client,
    config: &mut Config,
    entries: &[OwnedEntry],
    force: bool,
    changes: &mut Vec<Change>,
    ownership: &mut Ownership,
) -> Result<(), PlanError> {
    for owned in entries {
        match config.entry(client, &owned.name) {
            // Already gone (the user or the client removed it): nothing to do, nothing to own.
            None => {}
            Some(current) if entry_hash(&current) != owned.sha256 && !force => {
                changes.push(Change::KeptEdited(owned.name.clone()));
                ownership.entries.push(owned.clone());
            }
            Some(_) => {
                config.remove_entry(client, &owned.name)?;
                changes.push(Change::Removed(owned.name.clone()));
            }
        }
    }
    Ok(())
}

fn finish(
    client: &Client,
    mut config: Config,
    before: Option<&str>,
    mut ownership: Ownership,
    changes: Vec<Change>,
) -> Plan {
    if ownership.entries.is_empty() && ownership.created_root {
        // Best effort: a root the user has since put entries into stays.
        if config.remove_root_if_empty(client).unwrap_or(false) {
            ownership.created_root = false;
        }
    }
    let after = if ownership.entries.is_empty() && ownership.created_file && config.is_empty() {
        None
    } else if before.is_some()
        && !changes
            .iter()
            .any(|c| matches!(c, Change::Added(_) | Change::Updated(_) | Change::Removed(_)))
    {
        // Nothing of ours changed: keep the bytes exactly as read.
        before.map(str::to_owned)
    } else {
        Some(config.text())
    };
    if after.is_none() {
        ownership.created_file = false;
    }
    Plan {
        after,
        changes,
        ownership,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;
    use std::collections::BTreeMap;

    fn gateway() -> Gateway {
        Gateway {
            base_url: "http://127.0.0.1:7349".into(),
            shim_program: "/opt/sb/switchboard".into(),
            shim_env: BTreeMap::new(),
        }
    }

    fn servers(names: &[&str]) -> Vec<Route> {
        names.iter().map(|n| Route::Server((*n).into())).collect()
    }

    #[test]
    fn connect_then_disconnect_gives_back_the_original_for_every_client() {
        for client in catalog::all() {
            let original = match client.format {
                catalog::Format::Toml => "# mine\nmodel = \"o3\"\n",
                catalog::Format::Yaml => "# mine\nGOOSE_MODEL: x\n",
                _ => "{\n  // mine\n  \"theme\": \"dark\",\n}\n",
            };
            let plan = connect(
                client,
                Some(original),
                &Ownership::default(),
                &gateway(),
                &servers(&["time", "everything"]),
                "t0k",
                false,
            )
            .unwrap_or_else(|e| panic!("{}: {e}", client.id));
            let connected = plan.after.clone().expect("text");
            assert!(
                plan.changes.iter().all(|c| matches!(c, Change::Added(_))),
                "{}",
                client.id
            );
            let again = connect(
                client,
                Some(&connected),
                &plan.ownership,
                &gateway(),
                &servers(&["time", "everything"]),
                "t0k",
                false,
            )
            .expect("connect again");
            assert_eq!(
                again.after.as_deref(),
                Some(connected.as_str()),
                "{}: second connect changes nothing",
                client.id
            );
            let undone = disconnect(client, Some(&connected), &again.ownership, false).expect("disconnect");
            assert_eq!(undone.after.as_deref(), Some(original), "{}", client.id);
            assert!(undone.ownership.is_empty());
        }
    }

    #[test]
    fn a_file_switchboard_created_is_deleted_with_its_last_entry() {
        let cursor = catalog::find("cursor").expect("cursor");
        let plan = connect(
            cursor,
            None,
            &Ownership::default(),
            &gateway(),
            &[Route::Aggregate],
            "t",
            false,
        )
        .expect("connect");
        assert!(plan.ownership.created_file && plan.ownership.created_root);
        let text = plan.after.clone().expect("text");
        let undone = disconnect(cursor, Some(&text), &plan.ownership, false).expect("disconnect");
        assert_eq!(undone.after, None);
    }

    #[test]
    fn the_users_entries_and_edits_are_never_overwritten() {
        let cursor = catalog::find("cursor").expect("cursor");
        let mine = "{\"mcpServers\": {\"time\": {\"command\": \"uvx\", \"args\": [\"mcp-server-time\"]}}}";
        let plan = connect(
            cursor,
            Some(mine),
            &Ownership::default(),
            &gateway(),
            &servers(&["time", "everything"]),
            "t",
            false,
        )
        .expect("connect");
        assert_eq!(
            plan.changes,
            [
                Change::KeptForeign("time".into()),
                Change::Added("everything".into())
            ]
        );
        let text = plan.after.clone().expect("text");
        assert!(text.contains("mcp-server-time"));
        // The user edits our entry: it is kept on connect and disconnect unless forced.
        let edited = text.replace("/mcp/everything", "/mcp/everything?mine=1");
        let again = connect(
            cursor,
            Some(&edited),
            &plan.ownership,
            &gateway(),
            &servers(&["everything"]),
            "t",
            false,
        )
        .expect("connect");
        assert_eq!(again.changes, [Change::KeptEdited("everything".into())]);
        assert_eq!(again.after.as_deref(), Some(edited.as_str()));
        let kept = disconnect(cursor, Some(&edited), &again.ownership, false).expect("disconnect");
        assert_eq!(kept.changes, [Change::KeptEdited("everything".into())]);
        let forced = disconnect(cursor, Some(&edited), &again.ownership, true).expect("disconnect");
        assert_eq!(forced.changes, [Change::Removed("everything".into())]);
        assert_eq!(forced.after.as_deref(), Some(mine));
    }

    #[test]
    fn switching_to_the_aggregate_removes_the_per_server_entries() {
        let vscode = catalog::find("vscode").expect("vscode");
        let first = connect(
            vscode,
            None,
            &Ownership::default(),
            &gateway(),
            &servers(&["a", "b"]),
            "t",
            false,
        )
        .expect("connect");
        let text = first.after.clone().expect("text");
        let second = connect(
            vscode,
            Some(&text),
            &first.ownership,
            &gateway(),
            &[Route::Aggregate],
            "t",
            false,
        )
        .expect("connect");
        assert_eq!(
            second.changes,
            [
                Change::Added("switchboard".into()),
                Change::Removed("a".into()),
                Change::Removed("b".into())
            ]
        );
        assert_eq!(second.ownership.entries.len(), 1);
    }

    #[test]
    fn an_unparseable_file_gives_no_plan() {
        let zed = catalog::find("zed").expect("zed");
        let error = connect(
            zed,
            Some("{\n  \"theme\": \"dark\"\n  \"x\": 1\n}"),
            &Ownership::default(),
            &gateway(),
            &[Route::Aggregate],
            "t",
            false,
        )
        .expect_err("refused");
        assert!(
            matches!(error, PlanError::Parse(ParseError { line: 3, .. })),
            "{error}"
        );
    }
}

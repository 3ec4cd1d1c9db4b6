//! Profiles: which servers, and which of their tools, prompts and resources, a client of the
//! gateway is offered (`/api/v1/profiles`), and the rule that matches a name against a
//! selection.
//!
//! The gateway applies them and the daemon stores them; this file is the wire shape and the
//! matching, with no I/O.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::ServerName;

/// What a profile offers (`PUT /api/v1/profiles/{name}`): the servers it names, each with
/// what of it is offered. A server it does not name is not offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub servers: BTreeMap<ServerName, Offer>,
    /// Folders (absolute paths or `file://` URIs): a session whose client reports an MCP root
    /// in one of them uses this profile, whichever its token uses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roots: Vec<String>,
    /// Search mode: clients list three tools (search, describe, call) in place of every tool
    /// the profile offers, and find the ones they need by a query.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub search: bool,
}

impl Profile {
    /// How deep the folder of this profile's that holds one of `roots` (a client's root
    /// folders, read by [`folder`]) is, the deepest if several do: the most specific profile
    /// wins. `None` if none.
    pub fn root_depth(&self, roots: &[PathBuf]) -> Option<usize> {
        self.roots
            .iter()
            .filter_map(|own| folder(own))
            .filter(|own| roots.iter().any(|root| root.starts_with(own)))
            .map(|own| own.components().count())
            .max()
    }
}

/// The absolute folder a root names: a `file://` URI or an absolute path. `None` for anything
/// else (another scheme, a relative path).
pub fn folder(root: &str) -> Option<PathBuf> {
    let path = match url::Url::parse(root) {
        Ok(url) if url.scheme() == "file" => url.to_file_path().ok()?,
        // A Windows path (`C:\work`) parses as a URL of scheme `c`.
        _ if Path::new(root).is_absolute() => PathBuf::from(root),
        _ => return None,
    };
    path.is_absolute().then_some(path)
}

/// What a profile offers of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub tools: Selection,
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub prompts: Selection,
    /// Matched against each resource's URI (and a template's URI template).
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub resources: Selection,
    /// How offered tools are presented, by the server's name for each.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overrides: BTreeMap<String, ToolOverride>,
}

impl Offer {
    /// The server's name for the tool a client knows as `name`: a renamed tool answers only
    /// to its new name. `None` if no tool is known by it here.
    pub fn original<'n>(&'n self, name: &'n str) -> Option<&'n str> {
        let renamed = self
            .overrides
            .iter()
            .find(|(_, o)| o.name.as_deref() == Some(name));
        match renamed {
            Some((original, _)) => Some(original),
            None if self.overrides.get(name).is_some_and(|o| o.name.is_some()) => None,
            None => Some(name),
        }
    }

    /// Whether the tool the server calls `name` is hidden because another tool is renamed to
    /// `name`: clients know only the renamed one by it.
    pub fn shadowed(&self, name: &str) -> bool {
        let renamed_away = self.overrides.get(name).is_some_and(|o| o.name.is_some());
        !renamed_away
            && self
                .overrides
                .iter()
                .any(|(original, o)| original != name && o.name.as_deref() == Some(name))
    }

    /// Two tools of the server the overrides would give one name; `None` if they do not.
    pub fn clash(&self) -> Option<&str> {
        let mut names = std::collections::BTreeSet::new();
        self.overrides
            .iter()
            .map(|(original, o)| o.name.as_deref().unwrap_or(original))
            .find(|name| !names.insert(*name))
    }
}

/// How a profile presents one tool: its own name, title or description for it, and hints that
/// can only make it look more cautious than its server says it is.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct ToolOverride {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Hints::is_empty")]
    pub annotations: Hints,
}

/// A tool's behaviour hints (MCP's `ToolAnnotations`). An override's hint counts only where
/// it is the more cautious: not read-only, destructive, not idempotent, open-world.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Hints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destructive_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idempotent_hint: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open_world_hint: Option<bool>,
}

impl Hints {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Whether `name` is a tool name clients take: 1 to 128 of letters, digits, `_`, `-`, `.`.
pub fn valid_tool_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

impl ToolOverride {
    /// `tool`, a definition as its server lists it, as this override presents it.
    pub fn apply(&self, tool: &mut serde_json::Value) {
        for (key, value) in [
            ("name", &self.name),
            ("title", &self.title),
            ("description", &self.description),
        ] {
            if let Some(value) = value {
                tool[key] = serde_json::Value::from(value.as_str());
            }
        }
        if self.annotations.is_empty() {
            return;
        }
        let own = &tool["annotations"];
        let server = |key: &str, default: bool| own[key].as_bool().unwrap_or(default);
        // The spec's defaults: not read-only, destructive, not idempotent, open-world.
        let tightened = [
            (
                "readOnlyHint",
                server("readOnlyHint", false) && self.annotations.read_only_hint.unwrap_or(true),
            ),
            (
                "destructiveHint",
                server("destructiveHint", true) || self.annotations.destructive_hint.unwrap_or(false),
            ),
            (
                "idempotentHint",
                server("idempotentHint", false) && self.annotations.idempotent_hint.unwrap_or(true),
            ),
            (
                "openWorldHint",
                server("openWorldHint", true) || self.annotations.open_world_hint.unwrap_or(false),
            ),
        ];
        if !tool["annotations"].is_object() {
            tool["annotations"] = serde_json::json!({});
        }
        for (key, value) in tightened {
            tool["annotations"][key] = serde_json::Value::Bool(value);
        }
    }
}

/// Which names of one list are offered. A pattern is a name in which `*` stands for any run
/// of characters (`get_*`, `file:///home/me/notes/*`); there is no escaping a literal `*`.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    #[default]
    All,
    /// Only the names matching one of these patterns.
    Only(Vec<String>),
    /// Every name but those matching one of these patterns.
    Except(Vec<String>),
}

impl Selection {
    pub fn is_all(&self) -> bool {
        *self == Self::All
    }

    /// Whether `name` is offered.
    pub fn allows(&self, name: &str) -> bool {
        match self {
            Self::All => true,
            Self::Only(patterns) => patterns.iter().any(|p| matches(p, name)),
            Self::Except(patterns) => !patterns.iter().any(|p| matches(p, name)),
        }
    }
}

/// Whether `name` matches `pattern`, where `*` stands for any run of characters.
pub fn matches(pattern: &str, name: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or_default();
    let Some(mut rest) = name.strip_prefix(first) else {
        return false;
    };
    let mut parts: Vec<&str> = parts.collect();
    let Some(last) = parts.pop() else {
        return rest.is_empty();
    };
    for middle in parts {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    rest.ends_with(last)
}

/// A profile as listed (`GET /api/v1/profiles`): its name, what it offers and the clients
/// that use it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ProfileView {
    pub name: String,
    #[serde(flatten)]
    #[ts(flatten)]
    pub profile: Profile,
    pub clients: Vec<String>,
}

/// What the tools a client is offered cost its model's context, against its budget.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ToolCost {
    /// The tools it is offered.
    pub tools: u32,
    /// Their definitions (name, description, schemas) in o200k_base tokens: an estimate for
    /// other model families.
    pub tokens: u64,
    /// What they may cost before the client is warned: its own budget, or the daemon's.
    pub budget: u64,
}

impl ToolCost {
    pub fn over(&self) -> bool {
        self.tokens > self.budget
    }
}

/// The daemon's budget for what a client's tools cost: a tenth of a 200,000-token context
/// window, the size of today's large models'.
pub const DEFAULT_TOOL_BUDGET: u64 = 20_000;

/// Body of `PUT /api/v1/tokens/{client}/budget`: the client's own budget in tokens; `None`
/// gives it the daemon's again.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UseBudget {
    pub tokens: Option<u64>,
}

/// Body of `PUT /api/v1/tokens/{client}/profile`: the profile a client uses from now on;
/// `None` offers it every enabled server again.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct UseProfile {
    pub profile: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_as_globs() {
        let table = [
            ("get_time", "get_time", true),
            ("get_time", "get_times", false),
            ("get_*", "get_time", true),
            ("get_*", "get_", true),
            ("get_*", "set_time", false),
            ("*_time", "get_time", true),
            ("*", "", true),
            ("a*b*c", "aXbYc", true),
            ("a*b*c", "acb", false),
            ("ab*ba", "aba", false),
            ("file:///notes/*", "file:///notes/a.md", true),
        ];
        for (pattern, name, expected) in table {
            assert_eq!(matches(pattern, name), expected, "{pattern} ~ {name}");
        }
    }

    #[test]
    fn selections_offer_what_they_say() {
        let only = Selection::Only(vec!["get_*".into()]);
        let except = Selection::Except(vec!["delete_*".into()]);
        assert!(only.allows("get_time") && !only.allows("delete_all"));
        assert!(except.allows("get_time") && !except.allows("delete_all"));
        assert!(Selection::All.allows("anything"));
    }

    #[test]
    fn an_override_renames_and_tightens_but_never_loosens() {
        let mut tool = serde_json::json!({
            "name": "delete_file", "description": "Deletes a file.",
            "annotations": {"readOnlyHint": false, "destructiveHint": true}
        });
        let loosen = ToolOverride {
            name: Some("remove".into()),
            annotations: Hints {
                read_only_hint: Some(true),
                destructive_hint: Some(false),
                ..Hints::default()
            },
            ..ToolOverride::default()
        };
        loosen.apply(&mut tool);
        assert_eq!(tool["name"], "remove");
        assert_eq!(tool["description"], "Deletes a file.");
        assert_eq!(tool["annotations"]["readOnlyHint"], false);
        assert_eq!(tool["annotations"]["destructiveHint"], true);
        let mut reader = serde_json::json!({"name": "read", "annotations": {"readOnlyHint": true, "openWorldHint": false}});
        let tighten = ToolOverride {
            annotations: Hints {
                read_only_hint: Some(false),
                open_world_hint: Some(true),
                ..Hints::default()
            },
            ..ToolOverride::default()
        };
        tighten.apply(&mut reader);
        assert_eq!(reader["annotations"]["readOnlyHint"], false);
        assert_eq!(reader["annotations"]["openWorldHint"], true);
    }

    #[test]
    fn a_renamed_tool_answers_only_to_its_new_name() {
        let mut offer = Offer::default();
        offer.overrides.insert(
            "get_time".into(),
            ToolOverride {
                name: Some("now".into()),
                ..ToolOverride::default()
            },
        );
        assert_eq!(offer.original("now"), Some("get_time"));
        assert_eq!(offer.original("get_time"), None);
        assert_eq!(offer.original("other"), Some("other"));
        assert_eq!(offer.clash(), None);
        offer.overrides.insert(
            "other".into(),
            ToolOverride {
                name: Some("now".into()),
                ..ToolOverride::default()
            },
        );
        assert_eq!(offer.clash(), Some("now"));
        // A rename onto another tool's name hides that tool.
        offer.overrides.remove("other");
        offer.overrides.insert(
            "read".into(),
            ToolOverride {
                name: Some("write".into()),
                ..ToolOverride::default()
            },
        );
        assert!(offer.shadowed("write") && !offer.shadowed("read") && !offer.shadowed("get_time"));
        assert_eq!(offer.original("write"), Some("read"));
    }

    #[test]
    fn the_deepest_folder_holding_a_root_decides() {
        let profile = |roots: &[&str]| Profile {
            servers: BTreeMap::new(),
            roots: roots.iter().map(|r| (*r).to_owned()).collect(),
            ..Profile::default()
        };
        let work = profile(&["/home/me/work"]);
        let repo = profile(&["file:///home/me/work/my%20repo"]);
        let client = [folder("file:///home/me/work/my%20repo/src").unwrap()];
        assert_eq!(work.root_depth(&client), Some(4));
        assert_eq!(repo.root_depth(&client), Some(5));
        assert_eq!(
            work.root_depth(&[folder("file:///home/me/workshop").unwrap()]),
            None
        );
        assert_eq!(folder("https://example.com/home/me/work"), None);
        assert_eq!(folder("relative/path"), None);
    }

    #[test]
    fn a_profile_reads_from_json_with_defaults_and_refuses_bad_server_names() {
        let profile: Profile = serde_json::from_value(serde_json::json!({
            "servers": {"time": {}, "fetch": {"tools": {"only": ["fetch"]}}}
        }))
        .unwrap();
        assert_eq!(profile.servers.len(), 2);
        let bad = serde_json::from_value::<Profile>(serde_json::json!({"servers": {"Bad Name": {}}}));
        assert!(bad.unwrap_err().to_string().contains("lowercase"));
    }
}

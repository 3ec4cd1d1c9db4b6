//! Profiles: which servers, and which of their tools, prompts and resources, a client of the
//! gateway is offered (`/api/v1/profiles`), and the rule that matches a name against a
//! selection.
//!
//! The gateway applies them and the daemon stores them; this file is the wire shape and the
//! matching, with no I/O.

use std::collections::BTreeMap;

use crate::ServerName;

/// What a profile offers (`PUT /api/v1/profiles/{name}`): the servers it names, each with
/// what of it is offered. A server it does not name is not offered.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub servers: BTreeMap<ServerName, Offer>,
}

/// What a profile offers of one server.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct Offer {
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub tools: Selection,
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub prompts: Selection,
    /// Matched against each resource's URI and name, and a template's URI template and name.
    #[serde(default, skip_serializing_if = "Selection::is_all")]
    pub resources: Selection,
}

/// Which names of one list are offered. A pattern is a name in which `*` stands for any run
/// of characters (`get_*`, `file:///home/me/notes/*`).
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
        self.allows_any(&[name])
    }

    /// Whether an item known by any of `names` (a resource's URI and name) is offered: a
    /// pattern matching one of them selects it.
    pub fn allows_any(&self, names: &[&str]) -> bool {
        let matched =
            |patterns: &[String]| patterns.iter().any(|p| names.iter().any(|name| matches(p, name)));
        match self {
            Self::All => true,
            Self::Only(patterns) => matched(patterns),
            Self::Except(patterns) => !matched(patterns),
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
    rest.len() >= last.len() && rest.ends_with(last)
}

/// A profile as listed (`GET /api/v1/profiles`): its name, what it offers and the clients
/// that use it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ProfileView {
    pub name: String,
    pub servers: BTreeMap<ServerName, Offer>,
    pub clients: Vec<String>,
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

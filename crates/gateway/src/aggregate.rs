//! The aggregate endpoint's catalog: every enabled server's tools, prompts and resources
//! under names that say which server they come from.
//!
//! A tool `get_time` of server `time` is offered as `time__get_time`. Names keep to the
//! characters the spec recommends and to [`MAX_NAME`] characters (Cursor's limit; others allow
//! 64): a longer name is cut and given a short hash of the original, so it stays stable and
//! unique. Two different originals never get one name; the catalog checks. Resources keep their
//! URIs (clients show and pass them verbatim) and are routed by the URI seen in the listing.
//! Fetching the lists is [`crate::route`]'s; this module names, and finds where a name leads.

use std::collections::HashMap;

use serde_json::Value;
use sha2::{Digest, Sha256};
use switchboard_model::ServerName;

/// The longest name the aggregate offers.
pub const MAX_NAME: usize = 60;
const SEPARATOR: &str = "__";

/// Which list a name belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    Tool,
    Prompt,
}

/// The names handed out so far, and where each leads.
#[derive(Debug, Default)]
pub struct Catalog {
    names: HashMap<(Kind, String), (ServerName, String)>,
    resources: HashMap<String, ServerName>,
    /// URI templates by their literal prefix (the part before the first `{`).
    templates: Vec<(String, ServerName)>,
    /// Each server's last complete list per list key, as exposed: what the aggregate answers
    /// with for a server that is alive but does not answer in time.
    last_lists: HashMap<(ServerName, String), Vec<Value>>,
}

fn hash_suffix(server: &ServerName, original: &str, len: usize) -> String {
    let digest = Sha256::digest(format!("{server}\0{original}").as_bytes());
    hex::encode(digest)[..len].to_owned()
}

/// The exposed name of `original` from `server`, before collision checks.
pub fn exposed_name(server: &ServerName, original: &str, hash_len: usize) -> String {
    let clean: String = original
        .chars()
        .map(|c| match c {
            'a'..='z' | 'A'..='Z' | '0'..='9' | '_' | '-' | '.' => c,
            _ => '_',
        })
        .collect();
    let plain = format!("{server}{SEPARATOR}{clean}");
    if hash_len == 0 && plain.len() <= MAX_NAME && clean == original {
        return plain;
    }
    let suffix = hash_suffix(server, original, hash_len.max(6));
    let room = MAX_NAME.saturating_sub(server.as_str().len() + SEPARATOR.len() + 1 + suffix.len());
    let cut: String = clean.chars().take(room).collect();
    format!("{server}{SEPARATOR}{cut}_{suffix}")
}

impl Catalog {
    /// Names `original` of `server`, stable across calls and never shared with another original.
    pub fn name(&mut self, kind: Kind, server: &ServerName, original: &str) -> String {
        let mut hash_len = 0;
        loop {
            let name = exposed_name(server, original, hash_len);
            match self.names.get(&(kind, name.clone())) {
                Some((s, o)) if s == server && o == original => return name,
                Some(_) => hash_len = if hash_len == 0 { 6 } else { hash_len + 4 },
                None => {
                    self.names
                        .insert((kind, name.clone()), (server.clone(), original.to_owned()));
                    return name;
                }
            }
        }
    }

    /// The server and original name behind an exposed name.
    pub fn resolve(&self, kind: Kind, name: &str) -> Option<(ServerName, String)> {
        self.names.get(&(kind, name.to_owned())).cloned()
    }

    pub fn add_resource(&mut self, uri: &str, server: &ServerName) {
        self.resources
            .entry(uri.to_owned())
            .or_insert_with(|| server.clone());
    }

    pub fn add_template(&mut self, template: &str, server: &ServerName) {
        let prefix = template.split('{').next().unwrap_or_default().to_owned();
        if !self.templates.iter().any(|(p, s)| *p == prefix && s == server) {
            self.templates.push((prefix, server.clone()));
        }
    }

    /// The server a resource URI belongs to: a listed resource, else the template with the
    /// longest matching prefix.
    pub fn resource_server(&self, uri: &str) -> Option<ServerName> {
        if let Some(server) = self.resources.get(uri) {
            return Some(server.clone());
        }
        self.templates
            .iter()
            .filter(|(prefix, _)| uri.starts_with(prefix.as_str()))
            .max_by_key(|(prefix, _)| prefix.len())
            .map(|(_, server)| server.clone())
    }

    /// Keeps `items` (already adopted) as the last list `server` gave for `list_key`.
    pub fn remember(&mut self, server: &ServerName, list_key: &str, items: &[Value]) {
        self.last_lists
            .insert((server.clone(), list_key.to_owned()), items.to_vec());
    }

    /// The last list `server` gave for `list_key`, if it ever gave one.
    pub fn last_known(&self, server: &ServerName, list_key: &str) -> Option<Vec<Value>> {
        self.last_lists
            .get(&(server.clone(), list_key.to_owned()))
            .cloned()
    }

    /// Renames the items of one server's list page in place (`tools` or `prompts`, by `name`;
    /// resources keep their URI but get a prefixed name too) and records resources.
    pub fn adopt(&mut self, server: &ServerName, list_key: &str, items: &mut [Value]) {
        for item in items {
            match list_key {
                "tools" | "prompts" => {
                    let kind = if list_key == "tools" {
                        Kind::Tool
                    } else {
                        Kind::Prompt
                    };
                    if let Some(original) = item["name"].as_str().map(str::to_owned) {
                        item["name"] = Value::from(self.name(kind, server, &original));
                    }
                }
                "resources" => {
                    if let Some(uri) = item["uri"].as_str() {
                        self.add_resource(uri, server);
                    }
                    prefix_name(server, item);
                }
                "resourceTemplates" => {
                    if let Some(template) = item["uriTemplate"].as_str() {
                        self.add_template(template, server);
                    }
                    prefix_name(server, item);
                }
                _ => {}
            }
        }
    }
}

fn prefix_name(server: &ServerName, item: &mut Value) {
    if let Some(name) = item["name"].as_str() {
        item["name"] = Value::from(format!("{server}{SEPARATOR}{name}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server(name: &str) -> ServerName {
        ServerName::new(name).expect("valid name")
    }

    #[test]
    fn names_are_readable_bounded_and_stable() {
        let long = "a".repeat(80);
        let cases: [(&str, &str, &str); 3] = [
            ("time", "get_current_time", "time__get_current_time"),
            ("everything", "echo", "everything__echo"),
            ("files", "read file", "files__read_file_"),
        ];
        let mut catalog = Catalog::default();
        for (s, original, expected) in cases {
            let name = catalog.name(Kind::Tool, &server(s), original);
            assert!(name.starts_with(expected), "{name} for {original}");
            assert!(name.len() <= MAX_NAME);
            assert_eq!(catalog.name(Kind::Tool, &server(s), original), name, "stable");
            assert_eq!(
                catalog.resolve(Kind::Tool, &name),
                Some((server(s), original.to_owned()))
            );
        }
        let cut = catalog.name(Kind::Tool, &server("a-long-server-name-of-thirty-two"), &long);
        assert!(cut.len() <= MAX_NAME, "{cut} is {} long", cut.len());
        assert_eq!(
            cut,
            exposed_name(&server("a-long-server-name-of-thirty-two"), &long, 0)
        );
    }

    #[test]
    fn colliding_originals_get_different_names() {
        let mut catalog = Catalog::default();
        // "a" + "__" + "_b" and "a_" + "__" + "b" read the same; so do "x y" and "x_y".
        let pairs = [("a", "_b"), ("a_", "b"), ("x", "x y"), ("x", "x_y")];
        let names: Vec<String> = pairs
            .iter()
            .map(|(s, t)| catalog.name(Kind::Tool, &server(s), t))
            .collect();
        let unique: std::collections::HashSet<&String> = names.iter().collect();
        assert_eq!(unique.len(), names.len(), "{names:?}");
        for ((s, t), name) in pairs.iter().zip(&names) {
            assert_eq!(
                catalog.resolve(Kind::Tool, name),
                Some((server(s), (*t).to_owned()))
            );
        }
    }

    #[test]
    fn resources_route_by_uri_then_by_template_prefix() {
        let mut catalog = Catalog::default();
        catalog.add_resource("demo://resource/static/1", &server("everything"));
        catalog.add_template("demo://resource/dynamic/{id}", &server("everything"));
        catalog.add_template("file:///{path}", &server("files"));
        let cases = [
            ("demo://resource/static/1", Some("everything")),
            ("demo://resource/dynamic/7", Some("everything")),
            ("file:///etc/hosts", Some("files")),
            ("other://x", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(catalog.resource_server(uri), expected.map(server), "{uri}");
        }
    }
}

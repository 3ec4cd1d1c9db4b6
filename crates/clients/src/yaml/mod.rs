//! Format-preserving edits of YAML documents (Goose's `config.yaml`, Continue's).
//!
//! The document is parsed for validation and reading, and edited as lines: an entry is a
//! block of lines under a top-level key, either a member of a block mapping (Goose's
//! `extensions:`) or an item of a block sequence whose `name` identifies it (Continue's
//! `mcpServers:`). Only those lines change; comments, anchors, quoting, indentation and CRLF
//! elsewhere are never re-emitted. New blocks follow the file's indent unit and newline, and
//! adding a block then removing it gives back the original bytes.
//!
//! What it does not edit: a root written in flow style (`{a: 1}` with members), documents in
//! a multi-document stream, or anything but a top-level key's block. Those are refused with a
//! reason rather than rewritten.
//!
//! `layout` finds a key's block and its children among the lines, `edit` changes those
//! lines, and `emit` writes new blocks in the file's style; this module holds the document,
//! its reads and the checks every edit passes.

mod edit;
mod emit;
mod layout;

use serde_json::{Map, Value};

use crate::{EditError, ParseError};
use layout::{Slot, lines};

const BOM: char = '\u{feff}';

#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    value: Value,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let body = text.strip_prefix(BOM).unwrap_or(text);
        // YAML ends a line at a lone CR too; the editor, like most tools, only at LF. Where the
        // two would disagree about the lines, the file is refused instead of misread.
        if let Some(at) = body
            .match_indices('\r')
            .map(|(at, _)| at)
            .find(|&at| !body[at + 1..].starts_with('\n'))
        {
            let line = body[..at].matches('\n').count() + 1;
            let column = at - body[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
            return Err(ParseError {
                line,
                column,
                message: "a carriage return that does not end a line (old Mac line endings); save the file with LF or CRLF line endings".to_owned(),
            });
        }
        let value = if body.trim().is_empty() {
            Value::Null
        } else {
            read(body).map_err(|e| {
                let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
                ParseError {
                    line,
                    column,
                    message: e
                        .to_string()
                        .split(" at line ")
                        .next()
                        .unwrap_or_default()
                        .to_owned(),
                }
            })?
        };
        Ok(Self {
            text: text.to_owned(),
            value,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value at `path` (keys of nested mappings).
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        path.iter().try_fold(&self.value, |v, k| v.get(k)).cloned()
    }

    /// Sets member `name` of the mapping under top-level `root` to `value`, creating `root`.
    pub fn set_member(&mut self, root: &str, name: &str, value: &Value) -> Result<(), EditError> {
        let mut expected = self.value.clone();
        if let Some(members) =
            child(&mut expected, root, Value::Object(Map::new())).and_then(Value::as_object_mut)
        {
            members.insert(name.to_owned(), value.clone());
        }
        self.checked(expected, |doc| doc.set_block(root, Slot::Member(name), value))
    }

    /// Sets the item of the sequence under `root` whose `name_key` is `name`, or appends one.
    pub fn set_item(
        &mut self,
        root: &str,
        name_key: &str,
        name: &str,
        value: &Value,
    ) -> Result<(), EditError> {
        let mut expected = self.value.clone();
        if let Some(items) =
            child(&mut expected, root, Value::Array(Vec::new())).and_then(Value::as_array_mut)
        {
            match items.iter().position(|item| names(item, name_key, name)) {
                Some(at) => items[at] = value.clone(),
                None => items.push(value.clone()),
            }
        }
        self.checked(expected, |doc| {
            doc.set_block(root, Slot::Item { name_key, name }, value)
        })
    }

    /// Removes member `name` of the mapping under `root`; false if there is none.
    pub fn remove_member(&mut self, root: &str, name: &str) -> Result<bool, EditError> {
        let mut expected = self.value.clone();
        if let Some(members) = expected.get_mut(root).and_then(Value::as_object_mut) {
            members.shift_remove(name);
        }
        self.checked(expected, |doc| doc.remove_block(root, Slot::Member(name)))
    }

    /// Removes the item named `name` of the sequence under `root`; false if there is none.
    pub fn remove_item(&mut self, root: &str, name_key: &str, name: &str) -> Result<bool, EditError> {
        let mut expected = self.value.clone();
        if let Some(items) = expected.get_mut(root).and_then(Value::as_array_mut)
            && let Some(at) = items.iter().position(|item| names(item, name_key, name))
        {
            items.remove(at);
        }
        self.checked(expected, |doc| {
            doc.remove_block(root, Slot::Item { name_key, name })
        })
    }

    /// Runs `edit`, then checks that the document now reads as `expected`; if not, the text is
    /// put back and the edit refused. The line editor places blocks by indentation, and YAML
    /// has layouts where that changes values it did not touch (a block scalar ending the file
    /// gains a line break when a block follows it; a tagged key is not seen): this makes those
    /// a refusal instead of a silent change.
    fn checked<T>(
        &mut self,
        expected: Value,
        edit: impl FnOnce(&mut Self) -> Result<T, EditError>,
    ) -> Result<T, EditError> {
        let before = (self.text.clone(), self.value.clone());
        let outcome = edit(self);
        let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(serde_json::Map::is_empty);
        let as_expected = self.value == expected || (empty(&self.value) && empty(&expected));
        match outcome {
            Ok(done) if as_expected => Ok(done),
            outcome => {
                (self.text, self.value) = before;
                outcome.and(Err(EditError::Unsupported {
                    path: String::new(),
                    why: "a layout where this edit would change other values",
                }))
            }
        }
    }

    /// Removes a top-level key and its block; false if there is none.
    pub fn remove_root(&mut self, root: &str) -> Result<bool, EditError> {
        let Some(found) = self.find_root(root)? else {
            return Ok(false);
        };
        let lines = lines(&self.text);
        let start = lines[found.line].start;
        let end = lines.get(found.block_end - 1).map_or(self.text.len(), |l| l.end);
        // A block appended to a file without a final newline took one before it; give it back.
        let (start, end) = if end == self.text.len() && !self.text.ends_with('\n') && start > 0 {
            let newline = if self.text[..start].ends_with("\r\n") {
                2
            } else {
                1
            };
            (start - newline, end)
        } else {
            (start, end)
        };
        self.splice(start, end, "")?;
        Ok(true)
    }

    /// Replaces a range of the text, keeping the edit only if the result still parses.
    pub(super) fn splice(&mut self, start: usize, end: usize, insert: &str) -> Result<(), EditError> {
        let mut text = self.text.clone();
        text.replace_range(start..end, insert);
        self.commit(text)
    }

    pub(super) fn commit(&mut self, text: String) -> Result<(), EditError> {
        let body = text.strip_prefix(BOM).unwrap_or(&text);
        self.value = if body.trim().is_empty() {
            Value::Null
        } else {
            read(body).map_err(|_| EditError::Unsupported {
                path: String::new(),
                why: "the file's layout is one this editor cannot extend safely",
            })?
        };
        self.text = text;
        Ok(())
    }
}

/// The value under top-level `root`, set to `empty` if missing or null; `None` when the
/// document is not a mapping.
fn child<'v>(document: &'v mut Value, root: &str, empty: Value) -> Option<&'v mut Value> {
    if document.is_null() {
        *document = Value::Object(Map::new());
    }
    let slot = document.as_object_mut()?.entry(root).or_insert(Value::Null);
    if slot.is_null() {
        *slot = empty;
    }
    Some(slot)
}

/// Whether a list item is the one whose `name_key` is `name`.
fn names(item: &Value, name_key: &str, name: &str) -> bool {
    item.get(name_key).and_then(Value::as_str) == Some(name)
}

/// The document's value. Read as YAML's own value first: that refuses a key given twice in one
/// mapping, which YAML forbids and which would leave reads (the last) and edits (the first)
/// looking at different entries; an edit that would make such a file is refused the same way.
fn read(body: &str) -> Result<Value, serde_yaml_ng::Error> {
    serde_yaml_ng::from_str::<serde_yaml_ng::Value>(body).and_then(serde_yaml_ng::from_value::<Value>)
}

#[cfg(test)]
mod tests {
    use super::emit::{Style, key_text, render_value};
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn goose_entry() -> Value {
        json!({"name": "switchboard", "type": "streamable_http", "uri": "http://127.0.0.1:7349/mcp",
               "headers": {"Authorization": "Bearer t"}, "enabled": true, "timeout": 300})
    }

    fn continue_entry() -> Value {
        json!({"name": "switchboard", "type": "stdio", "command": "/opt/sb/switchboard",
               "args": ["connect", "--all"], "env": {"SWITCHBOARD_TOKEN": "t"}})
    }

    const GOOSE: &[&str] = &[
        "",
        "GOOSE_PROVIDER: openai\n",
        "GOOSE_PROVIDER: openai",
        "extensions: {}\n",
        "# goose\nGOOSE_MODEL: gpt-4o # model\nextensions:\n  developer:\n    bundled: true\n    enabled: true\n    name: developer\n    timeout: 300\n    type: builtin\n\n# trailing note\nGOOSE_MODE: auto\n",
        "extensions:\r\n    time:\r\n        cmd: uvx\r\n        args:\r\n        - mcp-server-time\r\n        enabled: true\r\n        type: stdio\r\n",
        "\u{feff}extensions:\n  'quoted key':\n    cmd: x\n    args: []\n    envs: {}\n    type: stdio\n",
        "---\nextensions:\n  a:\n    cmd: a # the a\n    type: stdio\n...\n",
    ];

    const CONTINUE: &[&str] = &[
        "name: Local\nversion: 1.0.0\nschema: v1\nmodels: []\n",
        "name: Local\nmcpServers:\n  - name: time\n    command: uvx\n    args:\n      - mcp-server-time\nrules:\n- be brief\n",
        "mcpServers:\n- name: a\n  command: a\n",
        "mcpServers: []\nmodels:\n  - name: m\n    provider: ollama\n",
    ];

    fn round_trip(
        original: &str,
        set: impl Fn(&mut Document),
        remove: impl Fn(&mut Document) -> bool,
        root: &str,
    ) {
        let mut doc = Document::parse(original).expect("corpus parses");
        let had_root = doc.get(&[root]).is_some();
        set(&mut doc);
        let connected = doc.text().to_owned();
        Document::parse(&connected).unwrap_or_else(|e| panic!("output parses: {e}\n{connected}"));
        set(&mut doc);
        assert_eq!(doc.text(), connected, "setting twice changes nothing");
        assert!(remove(&mut doc), "{connected}");
        if !had_root {
            assert!(doc.remove_root(root).expect("remove root"));
        }
        assert_eq!(doc.text(), original, "connected was:\n{connected}");
    }

    #[test]
    fn goose_corpus_round_trips_byte_for_byte() {
        for original in GOOSE {
            round_trip(
                original,
                |d| {
                    d.set_member("extensions", "switchboard", &goose_entry())
                        .expect("set")
                },
                |d| d.remove_member("extensions", "switchboard").expect("remove"),
                "extensions",
            );
            let mut doc = Document::parse(original).expect("parses");
            doc.set_member("extensions", "switchboard", &goose_entry())
                .expect("set");
            let reread = Document::parse(doc.text()).expect("parses");
            assert_eq!(
                reread.get(&["extensions", "switchboard"]),
                Some(goose_entry()),
                "{}",
                doc.text()
            );
        }
    }

    #[test]
    fn continue_corpus_round_trips_byte_for_byte() {
        for original in CONTINUE {
            round_trip(
                original,
                |d| {
                    d.set_item("mcpServers", "name", "switchboard", &continue_entry())
                        .expect("set")
                },
                |d| {
                    d.remove_item("mcpServers", "name", "switchboard")
                        .expect("remove")
                },
                "mcpServers",
            );
            let mut doc = Document::parse(original).expect("parses");
            doc.set_item("mcpServers", "name", "switchboard", &continue_entry())
                .expect("set");
            let reread = Document::parse(doc.text()).expect("parses");
            let items = reread.get(&["mcpServers"]).expect("list");
            assert!(
                items.as_array().expect("list").contains(&continue_entry()),
                "{}",
                doc.text()
            );
        }
    }

    #[test]
    fn an_anchor_on_its_own_line_stays_when_the_last_member_goes() {
        // Found by the fuzzer: the anchor's line read as a member, so removing the only real
        // one was refused.
        let original = "extensions:\n  &shared\nGOOSE_MODE: auto\n";
        let mut doc = Document::parse(original).expect("parses");
        doc.set_member("extensions", "switchboard", &goose_entry())
            .expect("set");
        assert!(doc.remove_member("extensions", "switchboard").expect("remove"));
        assert_eq!(doc.text(), "extensions:\n  &shared {}\nGOOSE_MODE: auto\n");
        assert_eq!(doc.value["extensions"], json!({}));
    }

    #[test]
    fn new_blocks_follow_the_files_indent_and_replace_in_place() {
        let original =
            "extensions:\r\n    time:\r\n        cmd: uvx\r\n        type: stdio\r\nGOOSE_MODE: auto\r\n";
        let mut doc = Document::parse(original).expect("parses");
        doc.set_member("extensions", "time", &json!({"cmd": "x", "args": ["a b", "2"]}))
            .expect("set");
        assert_eq!(
            doc.text(),
            "extensions:\r\n    time:\r\n        cmd: x\r\n        args:\r\n        - \"a b\"\r\n        - \"2\"\r\nGOOSE_MODE: auto\r\n"
        );
    }

    #[test]
    fn bad_yaml_and_unsupported_layouts_are_refused() {
        let error = Document::parse("extensions:\n  a: [1, 2\n").expect_err("invalid");
        assert!(error.line >= 2, "{error}");
        let mut doc = Document::parse("extensions: {a: {cmd: x}}\n").expect("parses");
        assert!(matches!(
            doc.set_member("extensions", "b", &goose_entry()),
            Err(EditError::Unsupported { .. })
        ));
        let mut doc = Document::parse("extensions: 3\n").expect("parses");
        assert!(matches!(
            doc.set_member("extensions", "b", &goose_entry()),
            Err(EditError::NotAnObject { .. })
        ));
        let mut doc = Document::parse("- a\n- b\n").expect("parses");
        assert!(matches!(
            doc.set_member("extensions", "b", &goose_entry()),
            Err(EditError::RootNotObject { .. })
        ));
    }

    fn yaml_key() -> impl Strategy<Value = String> {
        "[a-z][a-z0-9_]{0,6}"
    }

    fn yaml_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ]
    }

    /// A block-style document as tools write them: scalars and maps of scalars and lists.
    fn yaml_document() -> impl Strategy<Value = String> {
        let inner = prop::collection::btree_map(
            yaml_key(),
            prop_oneof![
                yaml_scalar(),
                prop::collection::vec(yaml_scalar(), 0..3).prop_map(Value::from)
            ],
            0..4,
        );
        (
            prop::collection::btree_map(
                yaml_key(),
                prop_oneof![yaml_scalar(), inner.prop_map(|m| json!(m))],
                0..5,
            ),
            any::<bool>(),
            1usize..5,
        )
            .prop_map(|(top, crlf, unit)| {
                let style = Style {
                    newline: if crlf { "\r\n" } else { "\n" },
                    unit,
                };
                let mut out = format!("# generated{}", style.newline);
                for (k, v) in &top {
                    out.push_str(&format!("{}:", key_text(k)));
                    render_value(&mut out, &style, 0, v);
                }
                out
            })
    }

    proptest! {
        #[test]
        fn any_document_keeps_everything_else(original in yaml_document(), name in yaml_key()) {
            let mut doc = Document::parse(&original).expect("generated YAML parses");
            prop_assume!(doc.get(&["extensions"]).is_none());
            let as_map = |v: Value| if v.is_null() { json!({}) } else { v };
            let before = as_map(doc.get(&[]).expect("root"));
            doc.set_member("extensions", &name, &goose_entry()).expect("set");
            let edited = Document::parse(doc.text()).expect("output parses");
            prop_assert_eq!(edited.get(&["extensions", &name]), Some(goose_entry()));
            let mut after = edited.get(&[]).expect("root");
            after.as_object_mut().expect("map").remove("extensions");
            prop_assert_eq!(after, before);
            let mut doc = edited;
            prop_assert!(doc.remove_member("extensions", &name).expect("remove"));
            prop_assert!(doc.remove_root("extensions").expect("remove root"));
            prop_assert_eq!(doc.text(), original);
        }

        #[test]
        fn any_document_keeps_everything_else_around_a_named_list(
            original in yaml_document(),
            names in prop::collection::btree_set(yaml_key(), 0..3),
        ) {
            // A list of the user's own servers first, then ours appended and removed.
            let mut doc = Document::parse(&original).expect("generated YAML parses");
            prop_assume!(doc.get(&["mcpServers"]).is_none());
            for name in &names {
                doc.set_item("mcpServers", "name", name, &json!({"name": name, "command": "x"})).expect("theirs");
            }
            let theirs = doc.text().to_owned();
            let as_map = |v: Value| if v.is_null() { json!({}) } else { v };
            let before = as_map(doc.get(&[]).expect("root"));
            doc.set_item("mcpServers", "name", "switchboard", &continue_entry()).expect("set");
            let edited = Document::parse(doc.text()).expect("output parses");
            let items = edited.get(&["mcpServers"]).expect("list");
            prop_assert_eq!(items.as_array().expect("list").last(), Some(&continue_entry()));
            let mut after = edited.get(&[]).expect("root");
            let list = after["mcpServers"].as_array_mut().expect("list");
            list.pop();
            if list.is_empty() && names.is_empty() {
                after.as_object_mut().expect("map").remove("mcpServers");
            }
            prop_assert_eq!(after, before);
            let mut doc = edited;
            prop_assert!(doc.remove_item("mcpServers", "name", "switchboard").expect("remove"));
            if names.is_empty() {
                prop_assert!(doc.remove_root("mcpServers").expect("remove root"));
            }
            prop_assert_eq!(doc.text(), theirs);
        }
    }

    /// Found by the config_yaml fuzz target: with `mcpServers` twice, an entry was written
    /// into the first and looked for in the second.
    #[test]
    fn a_key_given_twice_is_refused_with_where() {
        let text = "mcpServers:\n  - name: a\nmodels: []\nmcpServers:\n  - name: b\n";
        let error = Document::parse(text).expect_err("duplicate key");
        assert!(error.message.contains("duplicate"), "{error}");
        let nested = "extensions:\n  git:\n    cmd: a\n  git:\n    cmd: b\n";
        assert!(Document::parse(nested).is_err());
    }

    /// Found by the config_yaml fuzz target: YAML reads a lone CR as a line break, the line
    /// editor did not, and an entry was written into the wrong block.
    #[test]
    fn a_lone_carriage_return_is_refused_with_where() {
        let error = Document::parse("a: 1\nextensions:\r \n developer: {}\n").expect_err("lone CR");
        assert_eq!((error.line, error.column), (2, 12), "{error}");
        assert!(Document::parse("a: 1\r\nextensions:\r\n  x: 1\r\n").is_ok());
    }

    /// Found by the config_yaml fuzz target: a root key with a tag (`!!str mcpServers:`) is
    /// not found by the line editor, whose new `mcpServers:` block then duplicated it.
    #[test]
    fn an_edit_that_would_give_a_key_twice_is_refused() {
        let text = "!!str mcpServers:\n  - name: a\n";
        let mut doc = Document::parse(text).unwrap();
        let refused = doc.set_item("mcpServers", "name", "b", &serde_json::json!({"name": "b"}));
        assert!(
            matches!(refused, Err(EditError::Unsupported { .. })),
            "{refused:?}"
        );
        assert_eq!(doc.text(), text);
    }

    /// Found by the config_yaml fuzz target in CI: a literal block scalar ending the file
    /// without a line break gained one when a member was added after it.
    #[test]
    fn an_edit_that_would_change_another_value_is_refused() {
        let text = "extensions:\n  other: |\n    kept as is";
        let mut doc = Document::parse(text).unwrap();
        let refused = doc.set_member("extensions", "switchboard", &serde_json::json!({"cmd": "sb"}));
        assert!(
            matches!(refused, Err(EditError::Unsupported { .. })),
            "{refused:?}"
        );
        assert_eq!(doc.text(), text);
        assert_eq!(doc.get(&["extensions", "other"]), Some(Value::from("kept as is")));
    }
}

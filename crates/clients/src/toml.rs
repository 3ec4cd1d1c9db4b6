//! Format-preserving edits of TOML documents (Codex's `config.toml`).
//!
//! Parsing and the untouched parts of the text are `toml_edit`'s, which keeps comments,
//! order and whitespace. This module adds what the client files need around it: a new entry
//! becomes a `[root.name]` table after its siblings (or at the end), with a blank line before it, and its
//! maps become inline tables (`env = { KEY = "v" }`); a replaced entry keeps its place; a
//! byte-order mark and CRLF line ends are kept, new lines included. Setting a table and
//! removing it again gives back the original bytes.

use serde_json::Value;
use toml_edit::{Array, DocumentMut, InlineTable, Item, Table};

use crate::{EditError, ParseError};

const BOM: char = '\u{feff}';

#[derive(Debug, Clone)]
pub struct Document {
    doc: DocumentMut,
    bom: bool,
    crlf: bool,
    /// Whether the file ends with a newline (the serializer always writes one).
    final_newline: bool,
    /// The text as read, for a file the serializer would not give back byte for byte (some
    /// mixes of CRLF and LF): such a file is read but never edited.
    unfaithful: Option<String>,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let bom = text.starts_with(BOM);
        let body = text.strip_prefix(BOM).unwrap_or(text);
        let doc = body.parse::<DocumentMut>().map_err(|e| {
            let at = e.span().map(|s| s.start).unwrap_or(0);
            let (line, column) = line_column(body, at);
            ParseError {
                line,
                column,
                message: e.message().trim().to_owned(),
            }
        })?;
        // CRLF only when the file uses it throughout; a mixed file keeps its new lines as LF.
        let crlf = body.contains("\r\n") && !body.replace("\r\n", "").contains('\n');
        let final_newline = body.is_empty() || body.ends_with('\n');
        let mut document = Self {
            doc,
            bom,
            crlf,
            final_newline,
            unfaithful: None,
        };
        if document.text() != text {
            document.unfaithful = Some(text.to_owned());
        }
        Ok(document)
    }

    pub fn text(&self) -> String {
        if let Some(text) = &self.unfaithful {
            return text.clone();
        }
        let mut text = self.doc.to_string();
        if !self.final_newline && text.ends_with('\n') {
            text.pop();
        }
        if self.crlf {
            text = text.replace("\r\n", "\n").replace('\n', "\r\n");
        }
        if self.bom {
            text.insert(0, BOM);
        }
        text
    }

    /// The value at `path` (keys of nested tables), as JSON; dates become strings.
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        let mut item = self.doc.as_item();
        for key in path {
            item = item.get(key)?;
        }
        item_to_json(item)
    }

    /// Sets the table or value at `path`, creating missing parent tables (as implicit
    /// tables, so no empty `[parent]` header appears). An object value becomes a table.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Result<(), EditError> {
        let (last, parents) = path.split_last().ok_or(EditError::EmptyPath)?;
        let empty_before = self.doc.as_table().is_empty();
        let table = self.table_mut(parents, true)?.ok_or(EditError::EmptyPath)?;
        let mut item = json_to_item(value);
        match table.get(last) {
            Some(Item::Table(old)) => {
                if let Item::Table(new) = &mut item {
                    new.set_position(old.position());
                    *new.decor_mut() = old.decor().clone();
                }
            }
            Some(_) => {}
            None => {
                if let Item::Table(new) = &mut item
                    && !empty_before
                {
                    new.decor_mut().set_prefix("\n");
                }
            }
        }
        table.insert(last, item);
        Ok(())
    }

    /// Removes the table or value at `path`; false if there is none.
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, EditError> {
        let (last, parents) = path.split_last().ok_or(EditError::EmptyPath)?;
        match self.table_mut(parents, false)? {
            Some(table) => Ok(table.remove(last).is_some()),
            None => Ok(false),
        }
    }

    fn table_mut(&mut self, path: &[&str], create: bool) -> Result<Option<&mut Table>, EditError> {
        if self.unfaithful.is_some() {
            return Err(EditError::Unsupported {
                path: path.join("."),
                why: "a file whose line ends the TOML editor cannot keep byte for byte (it mixes CRLF and LF); save it with one kind of line end",
            });
        }
        let mut table = self.doc.as_table_mut();
        for (depth, key) in path.iter().enumerate() {
            if !table.contains_key(key) {
                if !create {
                    return Ok(None);
                }
                let mut new = Table::new();
                new.set_implicit(true);
                table.insert(key, Item::Table(new));
            }
            table = match table.get_mut(key) {
                Some(Item::Table(inner)) => inner,
                Some(Item::Value(toml_edit::Value::InlineTable(_))) => {
                    return Err(EditError::Unsupported {
                        path: path[..=depth].join("."),
                        why: "an inline table",
                    });
                }
                _ => {
                    return Err(EditError::NotAnObject {
                        path: path[..=depth].join("."),
                    });
                }
            };
        }
        Ok(Some(table))
    }
}

fn line_column(text: &str, at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
    (line, column)
}

fn json_to_item(value: &Value) -> Item {
    match value {
        Value::Object(map) => {
            let mut table = Table::new();
            for (k, v) in map {
                table.insert(k, Item::Value(json_to_value(v)));
            }
            Item::Table(table)
        }
        other => Item::Value(json_to_value(other)),
    }
}

fn json_to_value(value: &Value) -> toml_edit::Value {
    match value {
        // TOML has no null; an absent key is the closest meaning.
        Value::Null => toml_edit::Value::from(""),
        Value::Bool(b) => toml_edit::Value::from(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => toml_edit::Value::from(i),
            None => toml_edit::Value::from(n.as_f64().unwrap_or_default()),
        },
        Value::String(s) => toml_edit::Value::from(s.as_str()),
        Value::Array(items) => {
            let array: Array = items.iter().map(json_to_value).collect();
            toml_edit::Value::Array(array)
        }
        Value::Object(map) => {
            let mut table = InlineTable::new();
            for (k, v) in map {
                table.insert(k, json_to_value(v));
            }
            toml_edit::Value::InlineTable(table)
        }
    }
}

fn item_to_json(item: &Item) -> Option<Value> {
    match item {
        Item::None => None,
        Item::Value(v) => Some(value_to_json(v)),
        Item::Table(t) => Some(Value::Object(
            t.iter()
                .filter_map(|(k, v)| Some((k.to_owned(), item_to_json(v)?)))
                .collect(),
        )),
        Item::ArrayOfTables(tables) => Some(Value::Array(
            tables
                .iter()
                .filter_map(|t| item_to_json(&Item::Table(t.clone())))
                .collect(),
        )),
    }
}

fn value_to_json(value: &toml_edit::Value) -> Value {
    use toml_edit::Value as V;
    match value {
        V::String(s) => Value::String(s.value().clone()),
        V::Integer(i) => Value::from(*i.value()),
        V::Float(f) => serde_json::Number::from_f64(*f.value()).map_or(Value::Null, Value::Number),
        V::Boolean(b) => Value::Bool(*b.value()),
        V::Datetime(d) => Value::String(d.value().to_string()),
        V::Array(a) => Value::Array(a.iter().map(value_to_json).collect()),
        V::InlineTable(t) => Value::Object(t.iter().map(|(k, v)| (k.to_owned(), value_to_json(v))).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn entry() -> Value {
        json!({"command": "/opt/sb/switchboard", "args": ["connect", "time"], "env": {"SWITCHBOARD_TOKEN": "t"}})
    }

    const CORPUS: &[&str] = &[
        "",
        "model = \"o3\"\n",
        "model = \"o3\"",
        "# my codex config\nmodel = \"o3\" # fast\n\n[mcp_servers.time]\ncommand = \"uvx\"\nargs = [\"mcp-server-time\"]\n\n[profiles.work]\nmodel = \"gpt-5\"\n",
        "\u{feff}model = \"o3\"\r\n\r\n[mcp_servers.docs]\r\nurl = \"https://example.test/mcp\"\r\n",
        "[mcp_servers]\n\n[mcp_servers.a]\ncommand = 'npx'\t# tabbed comment\nenv = { KEY = \"v\" }\n",
        "[tui]\nnotifications = true\n[shell_environment_policy]\ninherit = \"core\"\nexclude = [\n  \"AWS_*\",\n  \"AZURE_*\",\n]\n",
    ];

    #[test]
    fn corpus_round_trips_byte_for_byte() {
        for original in CORPUS {
            let mut doc = Document::parse(original).expect("corpus parses");
            assert_eq!(doc.text(), *original, "unedited text is kept");
            let had_root = doc.get(&["mcp_servers"]).is_some();
            doc.set(&["mcp_servers", "switchboard"], &entry()).expect("set");
            let connected = doc.text();
            let reparsed = Document::parse(&connected).expect("result parses");
            assert_eq!(
                reparsed.get(&["mcp_servers", "switchboard"]),
                Some(entry()),
                "{connected}"
            );
            // Setting again changes nothing.
            doc.set(&["mcp_servers", "switchboard"], &entry())
                .expect("set again");
            assert_eq!(doc.text(), connected);
            let mut doc = Document::parse(&connected).expect("parses");
            assert!(doc.remove(&["mcp_servers", "switchboard"]).expect("remove"));
            if !had_root {
                assert!(doc.remove(&["mcp_servers"]).expect("remove root"));
            }
            assert_eq!(doc.text(), *original, "connected was:\n{connected}");
        }
    }

    #[test]
    fn new_tables_follow_the_file_and_replacements_stay_in_place() {
        let mut doc =
            Document::parse("a = 1\r\n\r\n[mcp_servers.x]\r\ncommand = \"x\"\r\n\r\n[z]\r\nb = 2\r\n")
                .expect("parses");
        doc.set(&["mcp_servers", "x"], &json!({"url": "http://127.0.0.1/mcp/x"}))
            .expect("set");
        doc.set(&["mcp_servers", "y"], &entry()).expect("set");
        let text = doc.text();
        assert_eq!(
            text,
            "a = 1\r\n\r\n[mcp_servers.x]\r\nurl = \"http://127.0.0.1/mcp/x\"\r\n\r\n\
             [mcp_servers.y]\r\ncommand = \"/opt/sb/switchboard\"\r\nargs = [\"connect\", \"time\"]\r\n\
             env = { SWITCHBOARD_TOKEN = \"t\" }\r\n\r\n[z]\r\nb = 2\r\n"
        );
    }

    #[test]
    fn bad_toml_is_refused_with_line_and_column() {
        let error = Document::parse("a = 1\n[mcp_servers.x\ncommand = 1\n").expect_err("invalid");
        assert_eq!((error.line, error.column), (2, 15), "{error}");
        let error = Document::parse("a = 1\na = 2\n").expect_err("duplicate key");
        assert_eq!(error.line, 2, "{error}");
        let mut doc = Document::parse("mcp_servers = 3\n").expect("parses");
        assert!(matches!(
            doc.set(&["mcp_servers", "x"], &entry()),
            Err(EditError::NotAnObject { .. })
        ));
        let mut doc = Document::parse("mcp_servers = { a = 1 }\n").expect("parses");
        assert!(matches!(
            doc.set(&["mcp_servers", "x"], &entry()),
            Err(EditError::Unsupported { .. })
        ));
    }

    fn toml_key() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z][a-z0-9_]{0,6}", "[a-z .-]{1,6}"]
    }

    fn toml_scalar() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[ -~]{0,12}".prop_map(Value::from),
        ]
    }

    /// A document of top-level scalars and tables of scalars and small arrays.
    fn toml_document() -> impl Strategy<Value = String> {
        let table = prop::collection::btree_map(toml_key(), toml_scalar(), 0..4);
        (
            prop::collection::btree_map(toml_key(), toml_scalar(), 0..4),
            prop::collection::btree_map(toml_key(), table, 0..4),
            any::<bool>(),
        )
            .prop_map(|(top, tables, crlf)| {
                let mut doc = DocumentMut::new();
                for (k, v) in &top {
                    doc.insert(k, Item::Value(json_to_value(v)));
                }
                for (name, members) in &tables {
                    let object: serde_json::Map<String, Value> = members.clone().into_iter().collect();
                    doc.insert(name, json_to_item(&Value::Object(object)));
                }
                let text = format!("# generated\n{doc}");
                if crlf { text.replace('\n', "\r\n") } else { text }
            })
    }

    proptest! {
        #[test]
        fn any_document_keeps_everything_else(original in toml_document(), name in toml_key()) {
            let mut doc = Document::parse(&original).expect("generated TOML parses");
            let before = doc.get(&[]).expect("root");
            let had_root = doc.get(&["mcp_servers"]).is_some();
            prop_assume!(!had_root);
            doc.set(&["mcp_servers", &name], &entry()).expect("set");
            let edited = Document::parse(&doc.text()).expect("output parses");
            prop_assert_eq!(edited.get(&["mcp_servers", &name]), Some(entry()));
            let mut after = edited.get(&[]).expect("root");
            after.as_object_mut().expect("table").remove("mcp_servers");
            prop_assert_eq!(after, before);
            let mut doc = edited;
            doc.remove(&["mcp_servers", &name]).expect("remove");
            doc.remove(&["mcp_servers"]).expect("remove root");
            prop_assert_eq!(doc.text(), original);
        }
    }

    /// Found by the config_toml fuzz target: the serializer turned a CRLF after an LF line
    /// into LF. Such a file is read as it is and refused for edits, never rewritten.
    #[test]
    fn a_file_the_serializer_would_change_is_read_but_not_edited() {
        let text = "#x\"\n[mcp_servers.a]\ncommand = \"a\"\n\r\n";
        let mut doc = Document::parse(text).unwrap();
        assert_eq!(doc.text(), text);
        assert_eq!(doc.get(&["mcp_servers", "a", "command"]), Some(Value::from("a")));
        let refused = doc.set(&["mcp_servers", "b"], &serde_json::json!({"command": "b"}));
        assert!(
            matches!(refused, Err(EditError::Unsupported { .. })),
            "{refused:?}"
        );
        assert_eq!(doc.text(), text);
    }
}

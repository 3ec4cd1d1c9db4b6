//! Format-preserving edits of JSON and JSONC (comments, trailing commas) documents.
//!
//! A [`Document`] keeps the file's text and a map of where each object member sits in it. An
//! edit splices new text into the original and changes nothing else: comments, member order,
//! indentation, trailing commas, CRLF line ends and a byte-order mark all stay. New members
//! follow the file's own style (its newline, its indent unit, whether it ends members with a
//! trailing comma). Setting a member and removing it again gives back the original bytes.
//!
//! It edits object members by key path; it does not edit arrays, evaluate JSON5 extensions
//! beyond comments and trailing commas, or read and write files.

use serde_json::Value;

use crate::{EditError, ParseError};

/// Where one JSON value sits in the text.
#[derive(Debug, Clone)]
enum Node {
    /// `start` is the `{`; `end` is just after the `}`.
    Object {
        start: usize,
        end: usize,
        members: Vec<Member>,
    },
    Other {
        start: usize,
        end: usize,
    },
}

impl Node {
    fn span(&self) -> (usize, usize) {
        match self {
            Node::Object { start, end, .. } | Node::Other { start, end } => (*start, *end),
        }
    }
}

#[derive(Debug, Clone)]
struct Member {
    key: String,
    key_start: usize,
    value: Node,
    /// The comma after the value, if there is one.
    comma: Option<usize>,
}

/// A JSONC document and the positions of its object members.
#[derive(Debug, Clone)]
pub struct Document {
    text: String,
    root: Node,
}

impl Document {
    pub fn parse(text: &str) -> Result<Self, ParseError> {
        let root = Parser::new(text).document()?;
        Ok(Self {
            text: text.to_owned(),
            root,
        })
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// The value at `path` (keys of nested objects; none for the whole document), if any.
    pub fn get(&self, path: &[&str]) -> Option<Value> {
        if path.is_empty() {
            return Some(to_value(&self.text, &self.root));
        }
        let (start, end) = self.find(path)?.value.span();
        json_value(&self.text[start..end])
    }

    fn find(&self, path: &[&str]) -> Option<&Member> {
        let (last, parents) = path.split_last()?;
        let mut node = &self.root;
        for key in parents {
            node = &members(node)?.iter().rev().find(|m| m.key == *key)?.value;
        }
        members(node)?.iter().rev().find(|m| m.key == *last)
    }

    /// Sets the member at `path` to `value`, creating the objects on the way that are missing.
    /// An existing member keeps its place; a new one goes after the object's last member.
    pub fn set(&mut self, path: &[&str], value: &Value) -> Result<(), EditError> {
        let (last, _) = path.split_last().ok_or(EditError::EmptyPath)?;
        let style = Style::of(&self.text);
        // Walk down as far as the objects exist.
        let mut node = &self.root;
        let mut depth = 0;
        while depth < path.len() - 1 {
            let Some(existing) = members(node).and_then(|m| m.iter().rev().find(|m| m.key == path[depth]))
            else {
                break;
            };
            if !matches!(existing.value, Node::Object { .. }) {
                return Err(EditError::NotAnObject {
                    path: path[..=depth].join("."),
                });
            }
            node = &existing.value;
            depth += 1;
        }
        let Node::Object { start, end, members } = node else {
            return Err(EditError::RootNotObject {
                key: path[0].to_owned(),
            });
        };
        let (start, end) = (*start, *end);
        let edit = if depth == path.len() - 1
            && let Some(existing) = members.iter().rev().find(|m| m.key == *last)
        {
            let (value_start, value_end) = existing.value.span();
            let indent = line_indent(&self.text, existing.key_start);
            let rendered = style.render(value, indent);
            Splice {
                at: value_start,
                remove: value_end - value_start,
                insert: rendered,
            }
        } else {
            // Wrap what is missing below the deepest existing object around the value.
            let mut nested = value.clone();
            for key in path[depth + 1..].iter().rev() {
                let mut object = serde_json::Map::new();
                object.insert((*key).to_owned(), nested);
                nested = Value::Object(object);
            }
            insert_member(&self.text, &style, start, end, members, path[depth], &nested)
        };
        self.apply(edit);
        Ok(())
    }

    /// Removes the member at `path`; false if there is none.
    pub fn remove(&mut self, path: &[&str]) -> Result<bool, EditError> {
        let (last, parents) = path.split_last().ok_or(EditError::EmptyPath)?;
        let mut node = &self.root;
        for key in parents {
            match members(node).and_then(|m| m.iter().rev().find(|m| m.key == *key)) {
                Some(member) => node = &member.value,
                None => return Ok(false),
            }
        }
        let Node::Object { start, end, members } = node else {
            return Ok(false);
        };
        let Some(index) = members.iter().rposition(|m| m.key == *last) else {
            return Ok(false);
        };
        let edit = remove_member(&self.text, *start, *end, members, index);
        self.apply(edit);
        Ok(true)
    }

    fn apply(&mut self, edit: Splice) {
        self.text
            .replace_range(edit.at..edit.at + edit.remove, &edit.insert);
        // The text was valid and the splice keeps it so; re-reading maps the new positions.
        if let Ok(root) = Parser::new(&self.text).document() {
            self.root = root;
        }
    }
}

fn members(node: &Node) -> Option<&[Member]> {
    match node {
        Node::Object { members, .. } => Some(members),
        Node::Other { .. } => None,
    }
}

fn json_value(text: &str) -> Option<Value> {
    // Values may hold comments and trailing commas; parse them as a document of their own.
    let node = Parser::new(text).document().ok()?;
    Some(to_value(text, &node))
}

fn to_value(text: &str, node: &Node) -> Value {
    match node {
        Node::Object { members, .. } => Value::Object(
            members
                .iter()
                .map(|m| (m.key.clone(), to_value(text, &m.value)))
                .collect(),
        ),
        Node::Other { start, end } => {
            let raw = &text[*start..*end];
            serde_json::from_str(raw)
                .or_else(|_| serde_json::from_str(&strip_jsonc(raw)))
                .unwrap_or(Value::Null)
        }
    }
}

/// `text` without comments and trailing commas (for arrays, which are not mapped).
fn strip_jsonc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut parser = Parser::new(text);
    while parser.pos < text.len() {
        let before = parser.pos;
        if parser.skip_trivia().is_err() {
            break;
        }
        if parser.pos > before {
            out.push(' ');
            continue;
        }
        let c = parser.peek().unwrap_or_default();
        if c == '"' {
            if parser.string().is_err() {
                break;
            }
            out.push_str(&text[before..parser.pos]);
        } else if c == ',' {
            let mut lookahead = Parser::new(text);
            lookahead.pos = parser.pos + 1;
            let _ = lookahead.skip_trivia();
            if !matches!(lookahead.peek(), Some(']' | '}')) {
                out.push(',');
            }
            parser.pos += 1;
        } else {
            out.push(c);
            parser.pos += c.len_utf8();
        }
    }
    out
}

struct Splice {
    at: usize,
    remove: usize,
    insert: String,
}

/// The file's conventions, for text it did not have before.
struct Style {
    newline: &'static str,
    unit: String,
}

impl Style {
    fn of(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        // The indent unit is the smallest indentation of a line that has any.
        let unit = text
            .lines()
            .map(|l| &l[..l.len() - l.trim_start_matches([' ', '\t']).len()])
            .filter(|indent| !indent.is_empty())
            .min_by_key(|indent| indent.len())
            .map_or_else(|| "  ".to_owned(), str::to_owned);
        Self { newline, unit }
    }

    /// `value` as JSON in this style, its continuation lines indented by `indent`.
    fn render(&self, value: &Value, indent: &str) -> String {
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(self.unit.as_bytes());
        let mut serializer = serde_json::Serializer::with_formatter(&mut out, formatter);
        if serde::Serialize::serialize(value, &mut serializer).is_err() {
            return value.to_string();
        }
        let pretty = String::from_utf8_lossy(&out).into_owned();
        pretty.replace('\n', &format!("{}{indent}", self.newline))
    }
}

/// The whitespace at the start of the line holding `pos`.
fn line_indent(text: &str, pos: usize) -> &str {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    &line[..line.len() - line.trim_start_matches([' ', '\t']).len()]
}

/// Whether only whitespace precedes `pos` on its line.
fn starts_line(text: &str, pos: usize) -> bool {
    let line_start = text[..pos].rfind('\n').map_or(0, |i| i + 1);
    text[line_start..pos]
        .trim_start_matches('\u{feff}')
        .chars()
        .all(|c| c == ' ' || c == '\t')
}

fn insert_member(
    text: &str,
    style: &Style,
    start: usize,
    end: usize,
    members: &[Member],
    key: &str,
    value: &Value,
) -> Splice {
    let key_json = Value::from(key).to_string();
    match members.last() {
        Some(last) => {
            let block = starts_line(text, members[0].key_start);
            let indent = if block {
                line_indent(text, members[0].key_start).to_owned()
            } else {
                String::new()
            };
            let member = format!("{key_json}: {}", style.render(value, &indent));
            let gap = if block {
                format!("{}{indent}", style.newline)
            } else {
                " ".to_owned()
            };
            match last.comma {
                // The file ends members with a comma: so does ours.
                Some(comma) => Splice {
                    at: comma + 1,
                    remove: 0,
                    insert: format!("{gap}{member},"),
                },
                None => Splice {
                    at: last.value.span().1,
                    remove: 0,
                    insert: format!(",{gap}{member}"),
                },
            }
        }
        None => {
            let outer = line_indent(text, start).to_owned();
            let indent = format!("{outer}{}", style.unit);
            let member = format!("{key_json}: {}", style.render(value, &indent));
            let inner = &text[start + 1..end - 1];
            if inner.trim().is_empty() {
                Splice {
                    at: start + 1,
                    remove: inner.len(),
                    insert: format!("{nl}{indent}{member}{nl}{outer}", nl = style.newline),
                }
            } else {
                // Only comments inside: the member goes first, the comments stay after it.
                Splice {
                    at: start + 1,
                    remove: 0,
                    insert: format!("{}{indent}{member}", style.newline),
                }
            }
        }
    }
}

/// Removes member `index`: the exact inverse of [`insert_member`] for a last member.
fn remove_member(text: &str, start: usize, end: usize, members: &[Member], index: usize) -> Splice {
    let member = &members[index];
    let member_end = member.comma.map_or(member.value.span().1, |c| c + 1);
    if members.len() == 1 {
        let inner = &text[start + 1..end - 1];
        let rest = format!(
            "{}{}",
            &text[start + 1..member.key_start],
            &text[member_end..end - 1]
        );
        if rest.trim().is_empty() {
            return Splice {
                at: start + 1,
                remove: inner.len(),
                insert: String::new(),
            };
        }
        let from = if starts_line(text, member.key_start) {
            text[..member.key_start].rfind('\n').unwrap_or(start)
        } else {
            member.key_start
        };
        return Splice {
            at: from,
            remove: member_end - from,
            insert: String::new(),
        };
    }
    if index == members.len() - 1 {
        let previous = &members[index - 1];
        let from = match (member.comma, previous.comma) {
            (Some(_), Some(comma)) => comma + 1,
            _ => previous.value.span().1,
        };
        // Without a comma of its own, the member took the previous one's: give it back.
        let insert = match (member.comma, previous.comma) {
            (Some(_), None) => ",".to_owned(),
            _ => String::new(),
        };
        return Splice {
            at: from,
            remove: member_end - from,
            insert,
        };
    }
    let next = &members[index + 1];
    let (from, to) = if starts_line(text, member.key_start) && starts_line(text, next.key_start) {
        let line_start = |pos: usize| text[..pos].rfind('\n').map_or(0, |i| i + 1);
        (line_start(member.key_start), line_start(next.key_start))
    } else {
        (member.key_start, next.key_start)
    };
    Splice {
        at: from,
        remove: to - from,
        insert: String::new(),
    }
}

struct Parser<'t> {
    text: &'t str,
    pos: usize,
}

impl<'t> Parser<'t> {
    fn new(text: &'t str) -> Self {
        Self { text, pos: 0 }
    }

    fn document(&mut self) -> Result<Node, ParseError> {
        if self.text.starts_with('\u{feff}') {
            self.pos = '\u{feff}'.len_utf8();
        }
        self.skip_trivia()?;
        let root = self.value()?;
        self.skip_trivia()?;
        if self.pos < self.text.len() {
            return Err(self.error("unexpected text after the end of the document"));
        }
        Ok(root)
    }

    fn error(&self, message: &str) -> ParseError {
        let before = &self.text[..self.pos.min(self.text.len())];
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        ParseError {
            line,
            column,
            message: message.to_owned(),
        }
    }

    fn peek(&self) -> Option<char> {
        self.text[self.pos..].chars().next()
    }

    /// Skips whitespace and comments.
    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            let rest = &self.text[self.pos..];
            let trimmed = rest.trim_start_matches([' ', '\t', '\r', '\n']);
            self.pos += rest.len() - trimmed.len();
            if trimmed.starts_with("//") {
                self.pos += trimmed.find('\n').unwrap_or(trimmed.len());
            } else if let Some(comment) = trimmed.strip_prefix("/*") {
                match comment.find("*/") {
                    Some(close) => self.pos += close + 4,
                    None => return Err(self.error("a /* comment is never closed")),
                }
            } else {
                return Ok(());
            }
        }
    }

    fn value(&mut self) -> Result<Node, ParseError> {
        match self.peek() {
            Some('{') => self.object(),
            Some('[') => self.array(),
            Some('"') => {
                let start = self.pos;
                self.string()?;
                Ok(Node::Other { start, end: self.pos })
            }
            Some(_) => self.scalar(),
            None => Err(self.error("the document ends where a value was expected")),
        }
    }

    fn object(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        self.pos += 1;
        let mut members = Vec::new();
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some('}') => {
                    self.pos += 1;
                    return Ok(Node::Object {
                        start,
                        end: self.pos,
                        members,
                    });
                }
                Some('"') => {}
                Some(_) => return Err(self.error("expected a member name in double quotes, or `}`")),
                None => return Err(self.error("an object is never closed; a `}` is missing")),
            }
            let key_start = self.pos;
            let key = self.string()?;
            self.skip_trivia()?;
            if self.peek() != Some(':') {
                return Err(self.error("expected `:` after the member name"));
            }
            self.pos += 1;
            self.skip_trivia()?;
            let value = self.value()?;
            self.skip_trivia()?;
            let comma = match self.peek() {
                Some(',') => {
                    self.pos += 1;
                    Some(self.pos - 1)
                }
                Some('}') => None,
                None => return Err(self.error("an object is never closed; a `}` is missing")),
                _ => return Err(self.error("expected `,` or `}` after a member")),
            };
            members.push(Member {
                key,
                key_start,
                value,
                comma,
            });
        }
    }

    fn array(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        self.pos += 1;
        loop {
            self.skip_trivia()?;
            match self.peek() {
                Some(']') => {
                    self.pos += 1;
                    return Ok(Node::Other { start, end: self.pos });
                }
                None => return Err(self.error("an array is never closed; a `]` is missing")),
                _ => {}
            }
            self.value()?;
            self.skip_trivia()?;
            match self.peek() {
                Some(',') => self.pos += 1,
                Some(']') => {}
                _ => return Err(self.error("expected `,` or `]` after an array item")),
            }
        }
    }

    /// A string token; returns its decoded content.
    fn string(&mut self) -> Result<String, ParseError> {
        let start = self.pos;
        let mut escaped = false;
        for (offset, c) in self.text[start + 1..].char_indices() {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => {
                    self.pos = start + 1 + offset + 1;
                    return serde_json::from_str(&self.text[start..self.pos]).map_err(|_| {
                        self.pos = start;
                        self.error("this string has an invalid escape or control character")
                    });
                }
                (false, '\n') => {
                    self.pos = start;
                    return Err(self.error("a string is never closed on its line"));
                }
                _ => {}
            }
        }
        Err(self.error("a string is never closed"))
    }

    fn scalar(&mut self) -> Result<Node, ParseError> {
        let start = self.pos;
        let rest = &self.text[start..];
        let len = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ',' | '}' | ']' | '/'))
            .unwrap_or(rest.len());
        let token = &rest[..len];
        if token.is_empty() || serde_json::from_str::<Value>(token).is_err() {
            return Err(self.error(&format!("`{token}` is not a JSON value")));
        }
        self.pos += len;
        Ok(Node::Other { start, end: self.pos })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    const ENTRY: &[&str] = &["mcpServers", "switchboard"];

    fn entry() -> Value {
        json!({"command": "/opt/switchboard/bin/switchboard", "args": ["connect", "time"], "env": {"SWITCHBOARD_TOKEN": "t"}})
    }

    /// Set then remove: the entry is there in between, and the original bytes come back. As
    /// the adapters will, it also removes the container if setting the entry created it.
    fn round_trip(original: &str) -> String {
        let mut doc = Document::parse(original).unwrap();
        let created_container = doc.get(&ENTRY[..1]).is_none();
        doc.set(ENTRY, &entry()).unwrap();
        let connected = doc.text().to_owned();
        let reread = Document::parse(&connected).unwrap_or_else(|e| panic!("{e}\n{connected}"));
        assert_eq!(reread.get(ENTRY), Some(entry()), "{connected}");
        // Setting it again changes nothing.
        doc.set(ENTRY, &entry()).unwrap();
        assert_eq!(doc.text(), connected);
        assert!(doc.remove(ENTRY).unwrap());
        if created_container {
            assert_eq!(doc.get(&ENTRY[..1]), Some(json!({})));
            assert!(doc.remove(&ENTRY[..1]).unwrap());
        }
        assert_eq!(doc.text(), original, "after removal, from:\n{connected}");
        connected
    }

    #[test]
    fn corpus_round_trips_byte_for_byte() {
        let corpus = [
            "{\n  \"mcpServers\": {\n    \"time\": {\"command\": \"uvx\", \"args\": [\"mcp-server-time\"]}\n  }\n}\n",
            "{\r\n\t\"mcpServers\": {\r\n\t\t\"time\": {\r\n\t\t\t\"command\": \"uvx\"\r\n\t\t},\r\n\t},\r\n}\r\n",
            "\u{feff}{\n    // servers I use\n    \"mcpServers\": {\n        /* the clock */\n        \"time\": { \"command\": \"uvx\" }, // trailing\n    },\n    \"theme\": \"dark\"\n}",
            "{\"mcpServers\":{\"a\":{\"command\":\"x\"}},\"other\":[1,2,{\"deep\":{\"k\":null}}]}",
            "{\n  \"mcpServers\": {}\n}\n",
            "{\n  \"editor.fontSize\": 14,\n  \"unknown\": {\"nested\": [true, false]}\n}\n",
            "{}",
            "// only a comment before\n{\n  \"a\": 1, // one\n  \"b\": [1, 2,], /* two */\n}\n",
        ];
        for original in corpus {
            round_trip(original);
        }
    }

    #[test]
    fn new_members_follow_the_files_style() {
        let connected = round_trip("{\r\n\t\"mcpServers\": {\r\n\t\t\"time\": {},\r\n\t},\r\n}\r\n");
        assert!(
            connected.contains(
                "\t\t\"time\": {},\r\n\t\t\"switchboard\": {\r\n\t\t\t\"command\": \"/opt/switchboard/bin/switchboard\",\r\n\t\t\t\"args\": [\r\n\t\t\t\t\"connect\","
            ),
            "{connected:?}"
        );
        assert!(
            connected.contains("\r\n\t\t},\r\n\t},"),
            "trailing comma kept: {connected:?}"
        );
        let connected = round_trip("{\n    \"theme\": \"dark\"\n}");
        assert!(
            connected.contains("\"theme\": \"dark\",\n    \"mcpServers\": {\n        \"switchboard\""),
            "{connected}"
        );
    }

    #[test]
    fn an_existing_member_is_replaced_in_place() {
        let original =
            "{\n  \"mcpServers\": {\n    \"switchboard\": {\"old\": 1}, // ours\n    \"z\": 2\n  }\n}";
        let mut doc = Document::parse(original).unwrap();
        doc.set(ENTRY, &json!({"url": "http://127.0.0.1:7349/mcp"}))
            .unwrap();
        assert!(doc.text().contains("\"switchboard\": {\n      \"url\": \"http://127.0.0.1:7349/mcp\"\n    }, // ours\n    \"z\": 2"), "{}", doc.text());
        assert!(doc.remove(ENTRY).unwrap());
        assert_eq!(doc.text(), "{\n  \"mcpServers\": {\n    \"z\": 2\n  }\n}");
    }

    #[test]
    fn unparseable_text_is_refused_with_line_and_column() {
        let cases = [
            ("{\n  \"a\": 1\n  \"b\": 2\n}", 3, "expected `,`"),
            ("{\n  \"a\": tru\n}", 2, "is not a JSON value"),
            ("{\n  /* never closed\n}", 2, "comment is never closed"),
            ("{\"a\": 1", 1, "never closed"),
            ("{} {}", 1, "after the end"),
        ];
        for (text, line, message) in cases {
            let error = Document::parse(text).unwrap_err();
            assert_eq!(error.line, line, "{text:?}: {error}");
            assert!(error.to_string().contains(message), "{text:?}: {error}");
        }
    }

    #[test]
    fn values_are_read_through_comments_and_trailing_commas() {
        let doc =
            Document::parse("{\"b\": [1, 2, /* c */ \"3,\", // d\n {\"e\": [],},], \"s\": \"//x\"}").unwrap();
        assert_eq!(doc.get(&["b"]), Some(json!([1, 2, "3,", {"e": []}])));
        assert_eq!(doc.get(&["s"]), Some(json!("//x")));
        assert_eq!(doc.get(&["missing"]), None);
    }

    #[test]
    fn edits_that_cannot_be_made_say_why() {
        let mut doc = Document::parse("{\"mcpServers\": [1]}").unwrap();
        assert!(matches!(
            doc.set(ENTRY, &entry()),
            Err(EditError::NotAnObject { .. })
        ));
        let mut doc = Document::parse("[1]").unwrap();
        assert!(matches!(
            doc.set(ENTRY, &entry()),
            Err(EditError::RootNotObject { .. })
        ));
        assert_eq!(doc.text(), "[1]");
    }

    fn json_leaf() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i32>().prop_map(Value::from),
            "[a-z /\\\\\"]{0,8}".prop_map(Value::from),
        ]
    }

    fn json_value() -> impl Strategy<Value = Value> {
        json_leaf().prop_recursive(4, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
                prop::collection::btree_map("[a-zA-Z_.]{1,6}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Any document, in any of the usual layouts: the entry is set, everything else is
        /// equal, and removing the entry gives back the original bytes.
        #[test]
        fn any_document_keeps_everything_else(
            members in prop::collection::btree_map("[a-zA-Z]{1,6}", json_value(), 0..5),
            servers in prop::option::of(prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..3)),
            indent in prop::sample::select(vec!["  ", "    ", "\t"]),
            crlf in any::<bool>(),
        ) {
            let mut object: serde_json::Map<String, Value> = members.into_iter().collect();
            if let Some(servers) = servers {
                object.insert("mcpServers".into(), Value::Object(servers.into_iter().collect()));
            }
            let original = Value::Object(object);
            let mut out = Vec::new();
            let formatter = serde_json::ser::PrettyFormatter::with_indent(indent.as_bytes());
            serde::Serialize::serialize(&original, &mut serde_json::Serializer::with_formatter(&mut out, formatter)).unwrap();
            let mut text = String::from_utf8(out).unwrap();
            if crlf {
                text = text.replace('\n', "\r\n");
            }
            let connected = round_trip(&text);
            let mut seen: Value = serde_json::from_str(&connected).unwrap();
            seen["mcpServers"].as_object_mut().unwrap().remove("switchboard");
            let mut expected = original.clone();
            if expected.get("mcpServers").is_none() {
                expected["mcpServers"] = json!({});
            }
            prop_assert_eq!(seen, expected);
        }
    }
}

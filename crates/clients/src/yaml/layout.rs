//! The layout of a YAML document's lines: where a top-level key's block is, and the children
//! (mapping members or sequence items) inside it.
//!
//! Only reads the text; it does not change it (that is [`super::edit`]) and does not parse
//! values (the document's value comes from `serde_yaml_ng`, in [`super`]).

use serde_json::Value;

use super::{BOM, Document};
use crate::EditError;

/// One line of the text, with its line end.
#[derive(Debug, Clone, Copy)]
pub(super) struct Line<'t> {
    pub(super) start: usize,
    /// Without the line end.
    pub(super) body: &'t str,
    /// Just after the line end.
    pub(super) end: usize,
}

impl Line<'_> {
    pub(super) fn indent(&self) -> usize {
        self.body.len() - self.body.trim_start_matches(' ').len()
    }

    /// Blank, or only a comment: lines that belong to no value.
    pub(super) fn is_trivia(&self) -> bool {
        let trimmed = self.body.trim_start();
        trimmed.is_empty() || trimmed.starts_with('#')
    }
}

pub(super) fn lines(text: &str) -> Vec<Line<'_>> {
    let mut out = Vec::new();
    let mut start = 0;
    while start < text.len() {
        let end = text[start..].find('\n').map_or(text.len(), |i| start + i + 1);
        let body = text[start..end].trim_end_matches('\n').trim_end_matches('\r');
        out.push(Line { start, body, end });
        start = end;
    }
    out
}

/// Where a top-level key's value sits.
pub(super) struct Root {
    /// Index of the `key:` line.
    pub(super) line: usize,
    /// One past the last line of the block (trailing trivia excluded).
    pub(super) block_end: usize,
    /// The inline value after the colon (`{}`, `[]`, `null`), if any; byte range in the text.
    pub(super) inline: Option<(usize, usize)>,
}

/// Which child of the root an edit is about.
#[derive(Debug, Clone, Copy)]
pub(super) enum Slot<'a> {
    Member(&'a str),
    Item { name_key: &'a str, name: &'a str },
}

/// A child of the root: its lines (inclusive) and indent; `key` for mapping members.
#[derive(Debug, Clone)]
pub(super) struct Block {
    pub(super) first: usize,
    pub(super) last: usize,
    pub(super) indent: usize,
    pub(super) key: Option<String>,
}

/// The root's children: lines at the first child's indent start one, deeper lines continue it.
pub(super) fn blocks(lines: &[Line<'_>], root: &Root, slot: Slot<'_>) -> Vec<Block> {
    let is_item = matches!(slot, Slot::Item { .. });
    let mut out: Vec<Block> = Vec::new();
    let mut child_indent = None;
    for (index, line) in lines.iter().enumerate().take(root.block_end).skip(root.line + 1) {
        if line.is_trivia() {
            continue;
        }
        let indent = line.indent();
        let child = *child_indent.get_or_insert(indent);
        let rest = &line.body[indent..];
        let starts = indent == child
            && if is_item {
                rest.starts_with("- ") || rest == "-"
            } else {
                !rest.starts_with("- ")
            };
        if starts {
            let key = (!is_item).then(|| split_key(rest).map(|(k, _)| k)).flatten();
            out.push(Block {
                first: index,
                last: index,
                indent,
                key,
            });
        } else if let Some(current) = out.last_mut() {
            current.last = index;
        }
    }
    out
}

/// Whether `text` is only a node's anchor and tag (`&defaults`, `!!map`).
pub(super) fn is_node_properties(text: &str) -> bool {
    let mut words = text.split_whitespace().peekable();
    words.peek().is_some() && words.all(|word| word.len() > 1 && word.starts_with(['&', '!']))
}

/// A mapping key at the start of `text` and what follows its colon.
pub(super) fn split_key(text: &str) -> Option<(String, &str)> {
    let (key, rest) = if let Some(quote) = text.chars().next().filter(|c| *c == '"' || *c == '\'') {
        let close = text[1..].find(quote)? + 1;
        let raw = &text[1..close];
        let key = if quote == '"' {
            serde_json::from_str::<String>(&text[..=close]).unwrap_or_else(|_| raw.to_owned())
        } else {
            raw.replace("''", "'")
        };
        (key, &text[close + 1..])
    } else {
        let colon = text
            .match_indices(':')
            .find(|(i, _)| text[i + 1..].is_empty() || text[i + 1..].starts_with([' ', '\t']))?
            .0;
        (text[..colon].trim_end().to_owned(), &text[colon..])
    };
    let rest = rest.trim_start_matches([' ', '\t']).strip_prefix(':')?;
    Some((key, rest))
}

impl Document {
    /// The block of an existing member or named item.
    pub(super) fn locate(&self, root: &str, slot: Slot<'_>, blocks: &[Block]) -> Option<Block> {
        match slot {
            Slot::Member(name) => blocks.iter().find(|b| b.key.as_deref() == Some(name)).cloned(),
            Slot::Item { name_key, name } => {
                let items = self.value.get(root)?.as_array()?;
                let index = items
                    .iter()
                    .position(|item| item.get(name_key).and_then(Value::as_str) == Some(name))?;
                blocks.get(index).cloned()
            }
        }
    }

    pub(super) fn find_root(&self, root: &str) -> Result<Option<Root>, EditError> {
        match &self.value {
            Value::Object(_) | Value::Null => {}
            _ => {
                return Err(EditError::RootNotObject { key: root.to_owned() });
            }
        }
        let lines = lines(&self.text);
        for (index, line) in lines.iter().enumerate() {
            let body = line.body.strip_prefix(BOM).unwrap_or(line.body);
            // Document markers and directives; a second document was refused by the parser.
            let marker = body.starts_with("---") || body.starts_with("...") || body.starts_with('%');
            if marker || line.is_trivia() || body.starts_with([' ', '\t']) {
                continue;
            }
            let Some((key, rest)) = split_key(body) else {
                continue;
            };
            if key != root {
                continue;
            }
            let value_text = rest.split(" #").next().unwrap_or_default().trim();
            let inline = match value_text {
                "" => None,
                "{}" | "[]" | "null" | "~" => {
                    let offset =
                        line.start + (line.body.len() - rest.len()) + (rest.len() - rest.trim_start().len());
                    Some((offset, offset + value_text.len()))
                }
                v if v.starts_with('{') || v.starts_with('[') => {
                    return Err(EditError::Unsupported {
                        path: root.to_owned(),
                        why: "a flow-style collection",
                    });
                }
                _ => {
                    return Err(EditError::NotAnObject {
                        path: root.to_owned(),
                    });
                }
            };
            let mut block_end = index + 1;
            for (next, candidate) in lines.iter().enumerate().skip(index + 1) {
                if candidate.is_trivia() {
                    continue;
                }
                let compact_item = candidate.body.starts_with("- ") || candidate.body == "-";
                if candidate.indent() == 0 && !compact_item {
                    break;
                }
                block_end = next + 1;
            }
            return Ok(Some(Root {
                line: index,
                block_end,
                inline,
            }));
        }
        Ok(None)
    }
}

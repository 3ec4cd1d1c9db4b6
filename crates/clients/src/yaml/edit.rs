//! Line edits of a YAML document: a member or item's block replaced, appended or removed, a
//! root key's inline empty value (`{}`, `[]`) given way to a block and restored when the last
//! child goes.
//!
//! These only splice text; [`Document`]'s public edits check afterwards that nothing else
//! changed, and [`super::emit`] renders the blocks put in.

use serde_json::Value;

use super::emit::{Style, after_unterminated, fit_end, key_text, render_slot};
use super::layout::{Slot, blocks, is_node_properties, lines};
use super::{BOM, Document};
use crate::EditError;

impl Document {
    pub(super) fn set_block(&mut self, root: &str, slot: Slot<'_>, value: &Value) -> Result<(), EditError> {
        let fits = match (slot, self.value.get(root)) {
            (_, None | Some(Value::Null)) => true,
            (Slot::Member(_), Some(existing)) => existing.is_object(),
            (Slot::Item { .. }, Some(existing)) => existing.is_array(),
        };
        if !fits {
            return Err(EditError::NotAnObject {
                path: root.to_owned(),
            });
        }
        let style = Style::of(&self.text);
        let Some(found) = self.find_root(root)? else {
            // A new top-level key at the end of the file.
            let block = render_slot(&style, slot, style.unit, value);
            let mut insert = String::new();
            let body = self.text.strip_prefix(BOM).unwrap_or(&self.text);
            let missing_newline = !body.is_empty() && !self.text.ends_with('\n');
            if missing_newline {
                insert.push_str(style.newline);
            }
            insert.push_str(&format!("{}:{}", key_text(root), style.newline));
            insert.push_str(&block);
            if missing_newline {
                // Keep the file's lack of a final newline.
                insert.truncate(insert.len() - style.newline.len());
            }
            let at = self.text.len();
            return self.splice(at, at, &insert);
        };
        let lines = lines(&self.text);
        let blocks = blocks(&lines, &found, slot);
        let existing = self.locate(root, slot, &blocks);
        let indent = blocks.first().map_or(style.unit, |b| b.indent);
        let rendered = render_slot(&style, slot, indent, value);
        if let Some(block) = existing {
            let start = lines[block.first].start;
            let end = lines[block.last].end;
            let rendered = fit_end(&rendered, &self.text[start..end], style.newline);
            return self.splice(start, end, &rendered);
        }
        match (blocks.last(), found.inline) {
            (Some(last), _) => {
                let at = lines[last.last].end;
                let rendered = after_unterminated(&self.text, at, rendered, style.newline);
                self.splice(at, at, &rendered)
            }
            // `root: {}` or `root:` with nothing under it: the value becomes the block.
            (None, inline) => {
                let key_line = lines[found.line];
                let (cut_start, cut_end) = inline.unwrap_or((key_line.start + key_line.body.len(), 0));
                let cut_end = if inline.is_some() { cut_end } else { cut_start };
                // Drop the space before the inline value too, so removal can restore it.
                let cut_start = if inline.is_some() && self.text[..cut_start].ends_with(' ') {
                    cut_start - 1
                } else {
                    cut_start
                };
                let at = key_line.end;
                let rendered = after_unterminated(&self.text, at, rendered, style.newline);
                let text = [
                    &self.text[..cut_start],
                    &self.text[cut_end..at],
                    &rendered,
                    &self.text[at..],
                ]
                .concat();
                self.commit(text)
            }
        }
    }

    pub(super) fn remove_block(&mut self, root: &str, slot: Slot<'_>) -> Result<bool, EditError> {
        let Some(found) = self.find_root(root)? else {
            return Ok(false);
        };
        let lines = lines(&self.text);
        let blocks = blocks(&lines, &found, slot);
        let Some(block) = self.locate(root, slot, &blocks) else {
            return Ok(false);
        };
        let start = lines[block.first].start;
        let mut end = lines[block.last].end;
        let mut removed_newline_before = false;
        if end == self.text.len() && !self.text.ends_with('\n') && start > 0 {
            // The last block of a file without a final newline: take the newline before it.
            removed_newline_before = true;
        }
        // The root's anchor or tag on a line of its own reads as a block here, but holds none.
        let only = blocks.iter().all(|other| {
            other.first == block.first
                || (other.first == other.last && is_node_properties(lines[other.first].body.trim()))
        });
        if only {
            // The root is left empty: it goes back to the inline form it had before, after
            // the key or after the anchor or tag on a line of their own below it.
            let key_line = (found.line..block.first)
                .rev()
                .map(|at| lines[at])
                .find(|line| !line.is_trivia())
                .unwrap_or(lines[found.line]);
            let empty = match slot {
                Slot::Member(_) => "{}",
                Slot::Item { .. } => "[]",
            };
            let key_end = key_line.start + key_line.body.len();
            let comment = key_line.body.find(" #").map(|i| key_line.start + i);
            let insert_at = comment.unwrap_or(key_end);
            if removed_newline_before {
                end = self.text.len();
                let newline = if self.text[..start].ends_with("\r\n") {
                    2
                } else {
                    1
                };
                self.splice(start - newline, end, "")?;
            } else {
                self.splice(start, end, "")?;
            }
            self.splice(insert_at, insert_at, &format!(" {empty}"))?;
            return Ok(true);
        }
        if removed_newline_before {
            let newline = if self.text[..start].ends_with("\r\n") {
                2
            } else {
                1
            };
            self.splice(start - newline, end, "")?;
        } else {
            end = end.min(self.text.len());
            self.splice(start, end, "")?;
        }
        Ok(true)
    }
}

//! Writing YAML for new blocks in the file's own style: its newline and indent unit, block
//! mappings, compact sequences, and scalars quoted only where plain text would read differently.
//!
//! It renders text only; where the text goes is [`super::edit`]'s.

use serde_json::Value;

use super::layout::{Line, Slot, lines};

/// The file's newline and indent unit.
pub(super) struct Style {
    pub(super) newline: &'static str,
    pub(super) unit: usize,
}

impl Style {
    pub(super) fn of(text: &str) -> Self {
        let newline = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let unit = lines(text)
            .iter()
            .filter(|l| !l.is_trivia())
            .map(Line::indent)
            .filter(|i| *i > 0)
            .min()
            .unwrap_or(2);
        Self { newline, unit }
    }
}

pub(super) fn render_slot(style: &Style, slot: Slot<'_>, indent: usize, value: &Value) -> String {
    let mut out = String::new();
    match slot {
        Slot::Member(name) => {
            out.push_str(&format!("{}{}:", " ".repeat(indent), key_text(name)));
            render_value(&mut out, style, indent, value);
        }
        Slot::Item { .. } => {
            // `- first: x` then the other members two columns in, under `first`.
            let pad = " ".repeat(indent);
            let inner = indent + 2;
            match value.as_object() {
                Some(members) if !members.is_empty() => {
                    for (i, (k, v)) in members.iter().enumerate() {
                        if i == 0 {
                            out.push_str(&format!("{pad}- {}:", key_text(k)));
                        } else {
                            out.push_str(&format!("{}{}:", " ".repeat(inner), key_text(k)));
                        }
                        render_value(&mut out, style, inner, v);
                    }
                }
                _ => {
                    out.push_str(&format!("{pad}- {}{}", scalar_text(value), style.newline));
                }
            }
        }
    }
    out
}

/// Writes the value of a key already written at `indent` (after its colon), with its line end.
pub(super) fn render_value(out: &mut String, style: &Style, indent: usize, value: &Value) {
    let nl = style.newline;
    match value {
        Value::Object(members) if !members.is_empty() => {
            out.push_str(nl);
            let pad = " ".repeat(indent + style.unit);
            for (k, v) in members {
                out.push_str(&format!("{pad}{}:", key_text(k)));
                render_value(out, style, indent + style.unit, v);
            }
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(nl);
            // Compact form: the dashes at the key's own indent, as Goose and Continue write.
            let pad = " ".repeat(indent);
            for item in items {
                match item {
                    Value::Object(_) | Value::Array(_) => {
                        out.push_str(&format!(
                            "{pad}- {}{nl}",
                            serde_json::to_string(item).unwrap_or_default()
                        ));
                    }
                    scalar => out.push_str(&format!("{pad}- {}{nl}", scalar_text(scalar))),
                }
            }
        }
        Value::Object(_) => out.push_str(&format!(" {{}}{nl}")),
        Value::Array(_) => out.push_str(&format!(" []{nl}")),
        scalar => out.push_str(&format!(" {}{nl}", scalar_text(scalar))),
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) if is_plain(s) => s.clone(),
        // JSON's escapes are valid in a YAML double-quoted scalar.
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

pub(super) fn key_text(key: &str) -> String {
    if is_plain(key) {
        key.to_owned()
    } else {
        serde_json::to_string(key).unwrap_or_default()
    }
}

/// Whether a string can be written unquoted and still read back as the same string.
fn is_plain(s: &str) -> bool {
    const WORDS: &[&str] = &["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '/'))
        && !s.starts_with(['-', '.'])
        && !WORDS.contains(&s.to_ascii_lowercase().as_str())
        && s.parse::<f64>().is_err()
        && !s.starts_with(|c: char| c.is_ascii_digit())
}

/// `rendered` ends with a newline; if the text at `at` ends without one (the last line of a
/// file with no final newline), move that newline to the front instead.
pub(super) fn after_unterminated(text: &str, at: usize, rendered: String, newline: &str) -> String {
    if at == text.len() && !text.is_empty() && !text.ends_with('\n') {
        let body = rendered.strip_suffix(newline).unwrap_or(&rendered);
        format!("{newline}{body}")
    } else {
        rendered
    }
}

/// A replacement for the block `old` keeps whether `old` ended with a newline.
pub(super) fn fit_end(rendered: &str, old: &str, newline: &str) -> String {
    if old.ends_with('\n') {
        rendered.to_owned()
    } else {
        rendered.strip_suffix(newline).unwrap_or(rendered).to_owned()
    }
}

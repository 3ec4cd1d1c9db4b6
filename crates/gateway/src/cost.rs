//! What tool definitions cost a model's context, in tokens.
//!
//! A definition is counted as a client receives it (its JSON: name, title, description,
//! schemas, annotations) with the o200k_base encoding of OpenAI's recent models, from
//! tiktoken-rs, whose vocabulary is built into the binary. For other model families the count
//! is an estimate: their tokenizers differ, and clients add their own framing. The encoder
//! takes tens of megabytes, so it is built for a count and dropped after; counts are kept by
//! the digest of the definition, so a list asked again costs nothing.
//!
//! Which tools a client sees, and what it is warned of, is decided elsewhere.

use std::collections::HashMap;

use parking_lot::Mutex;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::session::rounds::canonical;

/// The encoding counts are made with.
pub const ENCODING: &str = "o200k_base";

/// Counts kept before the cache starts over (a definition's digest and its count each).
const KEPT: usize = 50_000;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CostError {
    #[error("cannot load the {ENCODING} token encoder built into Switchboard: {0}; reinstall Switchboard")]
    Encoder(String),
    #[error("counting tokens stopped before it finished: {0}")]
    Interrupted(String),
}

/// Token counts of tool definitions, by their digest.
#[derive(Debug, Default)]
pub struct Costs {
    known: Mutex<HashMap<[u8; 32], u32>>,
}

impl Costs {
    /// The tokens of each of `definitions`, in order.
    pub async fn tokens(&self, definitions: &[Value]) -> Result<Vec<u32>, CostError> {
        let digests: Vec<[u8; 32]> = definitions.iter().map(digest).collect();
        let missing: Vec<(usize, String)> = {
            let known = self.known.lock();
            digests
                .iter()
                .enumerate()
                .filter(|(_, d)| !known.contains_key(*d))
                .map(|(i, _)| (i, definitions[i].to_string()))
                .collect()
        };
        if !missing.is_empty() {
            let counted = tokio::task::spawn_blocking(move || count(missing))
                .await
                .map_err(|e| CostError::Interrupted(e.to_string()))??;
            let mut known = self.known.lock();
            if known.len() + counted.len() > KEPT {
                known.clear();
            }
            for (i, tokens) in counted {
                known.insert(digests[i], tokens);
            }
        }
        let known = self.known.lock();
        Ok(digests
            .iter()
            .map(|d| known.get(d).copied().unwrap_or(0))
            .collect())
    }
}

/// Counts each text with an encoder built for the purpose and dropped after.
fn count(texts: Vec<(usize, String)>) -> Result<Vec<(usize, u32)>, CostError> {
    let encoder = tiktoken_rs::o200k_base().map_err(|e| CostError::Encoder(e.to_string()))?;
    let counted = texts
        .into_iter()
        .map(|(i, text)| {
            let tokens = encoder.encode_ordinary(&text).len();
            (i, u32::try_from(tokens).unwrap_or(u32::MAX))
        })
        .collect();
    drop(encoder);
    release_freed_memory();
    Ok(counted)
}

/// Gives the memory freed with the encoder back to the OS. glibc keeps freed memory for reuse,
/// so without this the encoder's tens of megabytes would stay in the daemon's resident size.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn release_freed_memory() {
    // SAFETY: malloc_trim only hands free pages of the heap back to the OS; no live
    // allocation is touched, and it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn release_freed_memory() {}

/// A definition's digest, the same whatever the order of its keys.
fn digest(definition: &Value) -> [u8; 32] {
    Sha256::digest(canonical(definition).as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn definitions_are_counted_in_o200k_tokens_once() {
        let costs = Costs::default();
        let short = json!("hello world");
        let tool = json!({
            "name": "get_current_time",
            "description": "Get current time in a specific timezones",
            "inputSchema": {"type": "object", "properties": {"timezone": {"type": "string"}}},
        });
        let counted = costs.tokens(&[short.clone(), tool.clone()]).await.unwrap();
        // A definition is counted as JSON: `"hello world"` is `"`, `hello`, ` world`, `"`.
        assert_eq!(counted[0], 4);
        assert!((20..60).contains(&counted[1]), "{counted:?}");
        assert_eq!(costs.known.lock().len(), 2);
        // The same definition with its keys in another order is the same entry.
        let reordered: Value = serde_json::from_str(
            r#"{"inputSchema":{"properties":{"timezone":{"type":"string"}},"type":"object"},
                "description":"Get current time in a specific timezones","name":"get_current_time"}"#,
        )
        .unwrap();
        assert_eq!(costs.tokens(&[reordered]).await.unwrap(), vec![counted[1]]);
        assert_eq!(costs.known.lock().len(), 2);
    }
}

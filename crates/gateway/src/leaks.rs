//! Credentials in tool traffic: the person's own secret values and credentials of common
//! formats, found in tool arguments and results and redacted.
//!
//! Two kinds are looked for. Known values: every secret Switchboard has read or written since
//! it started ([`Known`]: the values behind servers' `secret:` references and sign-ins), matched
//! exactly with Aho-Corasick, values of fewer than [`MIN_KNOWN`] characters left out (they
//! would match ordinary text). Formats: [`PATTERNS`], the documented shapes of cloud keys,
//! service tokens, private keys, JWTs and credentials in URLs. The history always gets the
//! redacted text; what a client gets is each server's [`SecretResults`]. Matching values are
//! never logged: a finding names only its kind.
//!
//! Which calls are scanned, and where the redacted text goes, is [`crate::route`]'s and the
//! session's.

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use aho_corasick::AhoCorasick;
use parking_lot::RwLock;
use regex::Regex;
use regex::bytes::RegexSet;
use serde_json::{Value, json};
use switchboard_credentials::secrets::Known;
use switchboard_model::ServerName;
use switchboard_model::api::SecretResults;
use switchboard_store::{Store, StoreError};

/// The shortest known value looked for.
pub const MIN_KNOWN: usize = 8;

/// What a known value is reported as.
const KNOWN_KIND: &str = "secret";

/// Credential formats: a kind, and the documented shape of its values.
pub const PATTERNS: &[(&str, &str)] = &[
    ("AWS access key", r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b"),
    (
        "GitHub token",
        r"\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b",
    ),
    ("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20,}\b"),
    ("Slack token", r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"),
    (
        "Slack webhook",
        r"https://hooks\.slack\.com/services/[A-Za-z0-9/]{20,}",
    ),
    ("Stripe key", r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b"),
    ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
    ("OpenAI key", r"\bsk-(?:proj|svcacct|admin)-[A-Za-z0-9_-]{20,}"),
    ("Anthropic key", r"\bsk-ant-[a-z]+\d{2}-[A-Za-z0-9_-]{20,}"),
    ("Hugging Face token", r"\bhf_[A-Za-z0-9]{30,}\b"),
    ("npm token", r"\bnpm_[A-Za-z0-9]{36}\b"),
    ("PyPI token", r"\bpypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{40,}"),
    ("SendGrid key", r"\bSG\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}\b"),
    ("DigitalOcean token", r"\bdo[opr]_v1_[a-f0-9]{64}\b"),
    ("Azure storage key", r"AccountKey=[A-Za-z0-9+/]{86}=="),
    (
        "JWT",
        r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}",
    ),
    (
        "private key",
        r"-----BEGIN [A-Z ]*PRIVATE KEY(?: BLOCK)?-----(?s:.*?-----END [A-Z ]*PRIVATE KEY(?: BLOCK)?-----|.*)",
    ),
    (
        "password in a URL",
        r"\b[a-zA-Z][a-zA-Z0-9+.-]*://[^/\s:@]+:[^/\s:@]{3,}@",
    ),
];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LeakError {
    #[error("a credential pattern ({kind}) does not compile: {detail}; this is a bug in Switchboard")]
    Pattern { kind: &'static str, detail: String },
    #[error("cannot match the known secret values: {0}; restart the daemon")]
    Known(String),
}

/// Finds and redacts credentials; holds each server's setting for its results.
#[derive(Debug)]
pub struct Leaks {
    store: Store,
    known: Arc<Known>,
    /// Any pattern, for a quick look at raw bytes.
    any: RegexSet,
    patterns: Vec<(&'static str, Regex)>,
    /// The known values' matcher and the generation of [`Known`] it was built from.
    finder: RwLock<(u64, Option<AhoCorasick>)>,
    settings: RwLock<HashMap<ServerName, SecretResults>>,
}

impl Leaks {
    pub(crate) async fn load(store: Store, known: Arc<Known>) -> Result<Self, LeakError> {
        let compile_error = |kind, e: regex::Error| LeakError::Pattern {
            kind,
            detail: e.to_string(),
        };
        // Looser than the patterns: in raw JSON a credential may follow an escape (`\\nghp_…`),
        // where a word boundary does not hold.
        let loose = PATTERNS.iter().map(|(_, p)| p.strip_prefix(r"\b").unwrap_or(p));
        let any = RegexSet::new(loose).map_err(|e| compile_error("any", e))?;
        let patterns = PATTERNS
            .iter()
            .map(|(kind, pattern)| {
                Regex::new(pattern)
                    .map(|re| (*kind, re))
                    .map_err(|e| compile_error(kind, e))
            })
            .collect::<Result<_, _>>()?;
        let settings = match store.secret_results().await {
            Ok(settings) => settings,
            Err(e) => {
                tracing::warn!(
                    "cannot read servers' settings for credentials in results, so all redact: {e}"
                );
                HashMap::new()
            }
        };
        Ok(Self {
            store,
            known,
            any,
            patterns,
            finder: RwLock::new((u64::MAX, None)),
            settings: RwLock::new(settings),
        })
    }

    /// What `server`'s results that hold a credential become for clients.
    pub fn setting(&self, server: &ServerName) -> SecretResults {
        self.settings.read().get(server).copied().unwrap_or_default()
    }

    pub async fn set_setting(&self, server: &ServerName, results: SecretResults) -> Result<(), StoreError> {
        self.store.set_secret_results(server.as_str(), results).await?;
        self.settings.write().insert(server.clone(), results);
        Ok(())
    }

    /// Forgets a removed server's setting (the store forgets it with its approvals).
    pub(crate) fn forget(&self, server: &ServerName) {
        self.settings.write().remove(server);
    }

    /// Whether `raw` (a message as sent) may hold a credential: a quick look before parsing.
    /// With known values, any escape counts too: another encoder may have escaped one
    /// otherwise than serde does.
    pub fn suspects(&self, raw: &[u8]) -> bool {
        self.any.is_match(raw)
            || self.with_finder(|finder| finder.is_some_and(|f| f.is_match(raw) || raw.contains(&b'\\')))
    }

    /// Replaces every credential in the strings of `value` (keys included) with a note of
    /// its kind; returns the kinds found.
    pub fn redact(&self, value: &mut Value) -> BTreeSet<&'static str> {
        let found = RefCell::new(BTreeSet::new());
        self.with_finder(|finder| {
            redact_value(value, &|text| {
                self.redact_text(text, finder, &mut found.borrow_mut())
            });
        });
        found.into_inner()
    }

    /// `result` (a tool call's result or error), as `server`'s setting has clients get it:
    /// `None` if it holds no credential, else the redacted or withheld result.
    pub fn screen_result(&self, server: &ServerName, result: &Value) -> Option<Value> {
        let setting = self.setting(server);
        if setting == SecretResults::Allow {
            return None;
        }
        let mut redacted = result.clone();
        let kinds = self.redact(&mut redacted);
        if kinds.is_empty() {
            return None;
        }
        let kinds: Vec<&str> = kinds.into_iter().collect();
        tracing::info!(%server, "a tool result held {}: {}", kinds.join(", "), match setting {
            SecretResults::Block => "withheld from the client",
            _ => "redacted for the client",
        });
        Some(match setting {
            SecretResults::Block => json!({
                "content": [{"type": "text", "text": format!(
                    "Switchboard withheld this result: it held a credential ({}). To let such results through redacted, run `switchboard secrets guard {server} redact`.",
                    kinds.join(", ")
                )}],
                "isError": true,
            }),
            _ => redacted,
        })
    }

    fn redact_text(
        &self,
        text: &str,
        finder: Option<&AhoCorasick>,
        kinds: &mut BTreeSet<&'static str>,
    ) -> Option<String> {
        let mut spans: Vec<(usize, usize, &'static str)> = Vec::new();
        if let Some(finder) = finder {
            spans.extend(finder.find_iter(text).map(|m| (m.start(), m.end(), KNOWN_KIND)));
        }
        if self.any.is_match(text.as_bytes()) {
            for (kind, re) in &self.patterns {
                spans.extend(re.find_iter(text).map(|m| (m.start(), m.end(), *kind)));
            }
        }
        if spans.is_empty() {
            return None;
        }
        spans.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for (start, end, kind) in spans {
            if start < at {
                // Overlapping an earlier one: its tail goes too.
                at = at.max(end);
                continue;
            }
            out.push_str(&text[at..start]);
            out.push_str(&format!("[redacted {kind}]"));
            kinds.insert(kind);
            at = end;
        }
        out.push_str(&text[at..]);
        Some(out)
    }

    /// Runs `f` with the matcher of the known values, rebuilt first if they changed.
    fn with_finder<T>(&self, f: impl FnOnce(Option<&AhoCorasick>) -> T) -> T {
        let generation = self.known.generation();
        {
            let finder = self.finder.read();
            if finder.0 == generation {
                return f(finder.1.as_ref());
            }
        }
        let (generation, values) = self.known.values();
        let finder = match build_finder(&values) {
            Ok(finder) => finder,
            Err(e) => {
                tracing::warn!("{e}");
                None
            }
        };
        let mut slot = self.finder.write();
        *slot = (generation, finder);
        f(slot.1.as_ref())
    }
}

/// A matcher of `values` as they are and as they appear inside a JSON string.
fn build_finder(values: &[String]) -> Result<Option<AhoCorasick>, LeakError> {
    let mut needles: Vec<String> = Vec::new();
    for value in values.iter().filter(|v| v.chars().count() >= MIN_KNOWN) {
        let escaped = Value::from(value.as_str()).to_string();
        let escaped = &escaped[1..escaped.len() - 1];
        if escaped != value {
            needles.push(escaped.to_owned());
        }
        needles.push(value.clone());
    }
    if needles.is_empty() {
        return Ok(None);
    }
    AhoCorasick::builder()
        .match_kind(aho_corasick::MatchKind::LeftmostLongest)
        .build(&needles)
        .map(Some)
        .map_err(|e| LeakError::Known(e.to_string()))
}

/// Replaces each string of `value` that `redact` changes (object keys too).
fn redact_value(value: &mut Value, redact: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::String(text) => {
            if let Some(redacted) = redact(text) {
                *text = redacted;
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| redact_value(item, redact)),
        Value::Object(members) => {
            let old = std::mem::take(members);
            for (key, mut item) in old {
                redact_value(&mut item, redact);
                members.insert(redact(&key).unwrap_or(key), item);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use switchboard_credentials::secrets::Secrets;

    use super::*;

    async fn leaks(secrets: &[(&str, &str)]) -> (tempfile::TempDir, Leaks) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("l.db")).await.unwrap();
        let keeper = Secrets::file(dir.path().join("secrets.json"));
        for (key, value) in secrets {
            keeper.set(key, value).await.unwrap();
        }
        let leaks = Leaks::load(store, Arc::clone(keeper.known())).await.unwrap();
        (dir, leaks)
    }

    #[tokio::test]
    async fn each_format_is_found_in_a_shape_of_its_own() {
        let (_dir, leaks) = leaks(&[]).await;
        let samples = [
            ("AWS access key", "AKIAIOSFODNN7EXAMPLE"),
            ("GitHub token", "ghp_0123456789abcdefghijABCDEFGHIJ012345"),
            ("Slack token", "xoxb-123456789012-abcdefghij"),
            ("Stripe key", "sk_live_0123456789abcdefABCD"),
            ("Google API key", "AIzaSyA0123456789abcdefghijABCDEFGHIJ_-"),
            (
                "JWT",
                "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
            ),
            (
                "private key",
                "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjE=\n-----END OPENSSH PRIVATE KEY-----",
            ),
            ("password in a URL", "postgres://app:hunter2!@db.internal/prod"),
        ];
        for (kind, sample) in samples {
            // After an escape in the raw JSON, where no word boundary holds, too.
            let escaped = json!({"text": format!("line\n{sample}")});
            assert!(
                leaks.suspects(escaped.to_string().as_bytes()),
                "{kind} after an escape"
            );
            let mut value = json!({"text": format!("before {sample} after")});
            assert!(leaks.suspects(value.to_string().as_bytes()), "{kind}");
            assert_eq!(leaks.redact(&mut value), BTreeSet::from([kind]), "{sample}");
            // A URL keeps its host; everything else is replaced whole.
            let text = value["text"].as_str().unwrap();
            assert!(
                text.starts_with(&format!("before [redacted {kind}]")) && text.ends_with(" after"),
                "{text}"
            );
            assert!(
                !text.contains("hunter2") && !text.contains(&sample[4..12]),
                "{text}"
            );
        }
        // Ordinary text, ids and hashes are left alone.
        let mut plain = json!({"text": "commit 3f9a1c2e0b7d4f6a8c5e1d2b9f0a7c3e5d1b8a6f, id AKIA-not-a-key, user@example.com"});
        assert!(leaks.redact(&mut plain).is_empty(), "{plain}");
    }

    #[tokio::test]
    async fn known_values_are_found_exactly_wherever_they_are_and_short_ones_are_not() {
        let quoted = "pa\"ss\\word-1234";
        let signed_in = r#"{"access_token": "at-0987654321xyz", "token_type": "Bearer"}"#;
        let (_dir, leaks) = leaks(&[
            ("s/TOKEN", "tok-9f8e7d6c5b4a"),
            ("s/QUOTED", quoted),
            ("s/PIN", "1234"),
            ("s/Authorization", "Bearer hdr-5566778899aa"),
            ("s/oauth", signed_in),
        ])
        .await;
        // A header's token and a sign-in's access token count on their own.
        let mut tokens = json!(["hdr-5566778899aa", "at-0987654321xyz"]);
        assert_eq!(leaks.redact(&mut tokens), BTreeSet::from(["secret"]));
        assert_eq!(tokens, json!(["[redacted secret]", "[redacted secret]"]));
        assert!(
            !format!("{leaks:?}").contains("tok-9f8e7d6c5b4a"),
            "values never show in Debug"
        );
        let mut value = json!({"tok-9f8e7d6c5b4a": [{"deep": format!("x{quoted}y")}], "pin": "1234"});
        assert!(leaks.suspects(value.to_string().as_bytes()));
        assert_eq!(leaks.redact(&mut value), BTreeSet::from(["secret"]));
        assert_eq!(
            value,
            json!({"[redacted secret]": [{"deep": "x[redacted secret]y"}], "pin": "1234"})
        );
    }

    #[tokio::test]
    async fn a_results_setting_redacts_blocks_or_allows_and_is_kept() {
        let (dir, leaks) = leaks(&[("s/TOKEN", "tok-9f8e7d6c5b4a")]).await;
        let server = ServerName::new("s").unwrap();
        let result = json!({"content": [{"type": "text", "text": "your token is tok-9f8e7d6c5b4a"}]});
        let redacted = leaks.screen_result(&server, &result).unwrap();
        assert_eq!(redacted["content"][0]["text"], "your token is [redacted secret]");
        leaks.set_setting(&server, SecretResults::Block).await.unwrap();
        let blocked = leaks.screen_result(&server, &result).unwrap();
        assert_eq!(blocked["isError"], true);
        assert!(!blocked.to_string().contains("tok-9f8e7d6c5b4a"));
        leaks.set_setting(&server, SecretResults::Allow).await.unwrap();
        assert_eq!(leaks.screen_result(&server, &result), None);
        assert_eq!(
            leaks.screen_result(&ServerName::new("clean").unwrap(), &json!({"content": []})),
            None
        );
        let store = Store::open(&dir.path().join("l.db")).await.unwrap();
        assert_eq!(
            store.secret_results().await.unwrap()[&server],
            SecretResults::Allow
        );
    }
}

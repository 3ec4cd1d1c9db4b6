//! Server names: the one identifier a server has in URLs, tool prefixes, files and the CLI.
//!
//! A name is short, lowercase ASCII and safe everywhere it appears (`/mcp/<name>`, a log file
//! name, a namespaced tool name that must stay under client limits). Validation happens once,
//! in [`ServerName::new`]; everything downstream can rely on it.

use std::fmt;

/// Longest allowed name. Aggregated tool names are `<server>_<tool>` and clients cap tool
/// names at 60–64 characters, so the prefix must leave room for the tool's own name.
pub const MAX_NAME_LEN: usize = 32;

/// The one name no server may take: it is Switchboard's own, as the entry for every server in
/// clients' configs and as the namespace of its own keychain items (the journal's sealing key).
pub const RESERVED_NAME: &str = "switchboard";

/// A validated server name: 1–32 characters of `a-z`, `0-9`, `-`, `_`, starting with a letter.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, ts_rs::TS)]
#[serde(transparent)]
pub struct ServerName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum NameError {
    #[error("a server name cannot be empty; pick a short name such as `time` or `github`")]
    Empty,
    #[error(
        "server name `{name}` is {len} characters long; use at most {MAX_NAME_LEN} so tool names stay under client limits"
    )]
    TooLong { name: String, len: usize },
    #[error("server name `{name}` must start with a lowercase letter (a-z)")]
    BadStart { name: String },
    #[error("server name `{name}` contains {found:?}; use only lowercase letters, digits, `-` and `_`")]
    BadChar { name: String, found: char },
    #[error(
        "server name `{RESERVED_NAME}` is Switchboard's own (its entry in clients' configs and its keychain items); pick another"
    )]
    Reserved,
}

impl ServerName {
    pub fn new(name: impl Into<String>) -> Result<Self, NameError> {
        let name = name.into();
        let Some(first) = name.chars().next() else {
            return Err(NameError::Empty);
        };
        if name.len() > MAX_NAME_LEN {
            let len = name.chars().count();
            return Err(NameError::TooLong { name, len });
        }
        if !first.is_ascii_lowercase() {
            return Err(NameError::BadStart { name });
        }
        if let Some(found) = name
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-' || *c == '_'))
        {
            return Err(NameError::BadChar { name, found });
        }
        if name == RESERVED_NAME {
            return Err(NameError::Reserved);
        }
        Ok(Self(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ServerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::str::FromStr for ServerName {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::new(s)
    }
}

impl<'de> serde::Deserialize<'de> for ServerName {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(d)?;
        Self::new(raw).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_table() {
        let ok = ["time", "github-2", "a", "my_server", &"x".repeat(MAX_NAME_LEN)];
        for name in ok {
            assert!(ServerName::new(name).is_ok(), "{name} should be valid");
        }
        let cases: &[(&str, fn(&NameError) -> bool)] = &[
            ("", |e| matches!(e, NameError::Empty)),
            ("Time", |e| matches!(e, NameError::BadStart { .. })),
            ("1password", |e| matches!(e, NameError::BadStart { .. })),
            ("-x", |e| matches!(e, NameError::BadStart { .. })),
            ("my server", |e| {
                matches!(e, NameError::BadChar { found: ' ', .. })
            }),
            ("a/b", |e| matches!(e, NameError::BadChar { found: '/', .. })),
            ("caf\u{e9}", |e| matches!(e, NameError::BadChar { .. })),
            (RESERVED_NAME, |e| matches!(e, NameError::Reserved)),
        ];
        for (name, check) in cases {
            let err = ServerName::new(*name).expect_err(name);
            assert!(check(&err), "{name}: unexpected {err:?}");
        }
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert!(matches!(
            ServerName::new(long),
            Err(NameError::TooLong { len: 33, .. })
        ));
    }

    #[test]
    fn deserialising_validates() {
        assert!(serde_json::from_str::<ServerName>("\"ok\"").is_ok());
        assert!(serde_json::from_str::<ServerName>("\"Not OK\"").is_err());
    }
}

//! The `server.json` document (schema 2025-12-11) and the registry's entry envelope.
//!
//! These types read what the official registry publishes, tolerating fields they do not know
//! (the schema grows) but not wrong types. They check nothing beyond shape: the schema's
//! lengths, patterns and cross-field rules are [`crate::validate`]'s, and turning a document
//! into something runnable is [`crate::plan`]'s.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use switchboard_model::api::InputFormat;

/// One published version of a server, as `server.json` describes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServerJson {
    pub name: String,
    #[serde(default)]
    pub description: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub website_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<Repository>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub packages: Vec<Package>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub remotes: Vec<Remote>,
    /// Departures from the schema that do not stop an install (an empty or over-long
    /// description, an unknown field), as [`crate::validate::parse`] found them; never part
    /// of the JSON.
    #[serde(skip)]
    pub warnings: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Repository {
    #[serde(default)]
    pub url: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subfolder: Option<String>,
}

/// A way to run the server locally from a package registry or a download.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Package {
    /// `npm`, `pypi`, `oci`, `nuget` or `mcpb`; kept as text so an unknown type is reported
    /// by the planner rather than failing the whole listing.
    pub registry_type: String,
    pub identifier: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registry_base_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_hint: Option<String>,
    pub transport: LocalTransport,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub runtime_arguments: Vec<Argument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub package_arguments: Vec<Argument>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment_variables: Vec<KeyValueInput>,
}

/// How a locally run package talks MCP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type")]
pub enum LocalTransport {
    #[serde(rename = "stdio")]
    Stdio,
    /// The package serves HTTP itself; `url` may name its arguments or variables in braces.
    #[serde(rename = "streamable-http")]
    StreamableHttp {
        url: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<KeyValueInput>,
    },
    #[serde(rename = "sse")]
    Sse {
        url: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        headers: Vec<KeyValueInput>,
    },
}

/// A server already running elsewhere.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remote {
    #[serde(rename = "type")]
    pub kind: RemoteKind,
    pub url: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<KeyValueInput>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Input>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RemoteKind {
    #[serde(rename = "streamable-http")]
    StreamableHttp,
    #[serde(rename = "sse")]
    Sse,
}

/// A command-line argument: a positional value or a `--flag value` pair.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", rename_all_fields = "camelCase")]
pub enum Argument {
    Positional {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        value_hint: Option<String>,
        #[serde(default)]
        is_repeated: bool,
        #[serde(flatten)]
        input: Input,
    },
    Named {
        name: String,
        #[serde(default)]
        is_repeated: bool,
        #[serde(flatten)]
        input: Input,
    },
}

impl Argument {
    pub fn input(&self) -> &Input {
        match self {
            Self::Positional { input, .. } | Self::Named { input, .. } => input,
        }
    }

    pub fn is_repeated(&self) -> bool {
        match self {
            Self::Positional { is_repeated, .. } | Self::Named { is_repeated, .. } => *is_repeated,
        }
    }
}

/// A value the user may have to give: its constraints, default and, when `value` is set, the
/// fixed text (which may name `variables` in braces).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Input {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub is_required: bool,
    #[serde(default)]
    pub is_secret: bool,
    #[serde(default)]
    pub format: InputFormat,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub placeholder: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub variables: BTreeMap<String, Input>,
}

/// An environment variable or header.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyValueInput {
    pub name: String,
    #[serde(flatten)]
    pub input: Input,
}

/// One item of a registry listing: the document and the registry's own record of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Kept as published, so a document that fails the schema can still be listed (and its
    /// violation reported when someone tries to install it).
    pub server: serde_json::Value,
    #[serde(rename = "_meta", default)]
    pub meta: EntryMeta,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EntryMeta {
    #[serde(
        rename = "io.modelcontextprotocol.registry/official",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub official: Option<Official>,
}

/// The registry's status and timestamps for one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Official {
    #[serde(default)]
    pub status: Status,
    #[serde(default)]
    pub is_latest: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub published_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_message: Option<String>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    #[default]
    Active,
    Deprecated,
    Deleted,
    /// A status this build does not know; treated like `active` but shown as is.
    #[serde(other)]
    Unknown,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Deleted => "deleted",
            Self::Unknown => "unknown",
        }
    }
}

impl Entry {
    /// The name and version the document claims, read without requiring the rest to be valid.
    pub fn name_and_version(&self) -> Option<(&str, &str)> {
        Some((
            self.server.get("name")?.as_str()?,
            self.server.get("version")?.as_str()?,
        ))
    }

    pub fn official(&self) -> Official {
        self.meta.official.clone().unwrap_or(Official {
            status: Status::Active,
            is_latest: false,
            published_at: None,
            updated_at: None,
            status_message: None,
        })
    }
}

/// A page of `GET /v0.1/servers`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page {
    pub servers: Vec<Entry>,
    #[serde(default)]
    pub metadata: PageMetadata,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageMetadata {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

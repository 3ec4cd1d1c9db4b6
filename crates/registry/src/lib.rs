//! The official MCP registry and the documents it publishes, up to a plan for installing one.
//!
//! [`client`] talks to the registry API (v0.1) at any base URL. [`server_json`] reads the
//! documents and [`validate`] checks them against the schema, naming the field at fault.
//! [`plan`] turns a valid document and the user's values into what to fetch and how to run it;
//! [`mcpb`] does the same for the manifest inside an MCP bundle, and [`dependency_date`]
//! resolves a plan's dependencies as of the version's publish time. Registry data stays data:
//! [`identifier`] holds package names and versions to their ecosystem's grammar, and
//! [`runtime_args`] keeps container arguments that widen a container's reach to those the
//! user allowed.
//!
//! Nothing here touches the disk, spawns a process or holds a secret beyond the call that
//! resolves it: caching, fetching packages, finding runtimes and the keychain belong to the
//! daemon.

pub mod client;
pub mod mcpb;
pub mod plan;
pub mod runtime_args;
pub mod server_json;
pub mod validate;

pub use client::{ListQuery, Registry, RegistryError};
pub use plan::dependency_date::DependencyDate;
pub use plan::{Endpoint, Fetch, Plan, PlanError, Resolved, Runtime, Source, SourceKind, Values};
pub use server_json::{Entry, Official, ServerJson, Status};
pub use validate::SchemaViolation;

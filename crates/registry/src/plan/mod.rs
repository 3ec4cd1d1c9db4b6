//! From a valid [`ServerJson`] to what must be fetched and how the server is then run.
//!
//! Planning happens in three steps, each pure: [`sources`] lists the ways a document offers to
//! run the server (its packages and remotes), [`form`] lists the inputs one of them needs
//! (typed fields a CLI prompts for and a UI renders), and [`plan`] resolves the user's values
//! into arguments, environment and headers. Values are never joined into a shell line: each
//! argument stays one argv element.
//!
//! Runtimes are asked about through a predicate, and fetching, absolute paths and the keychain
//! are the daemon's: a [`Plan`] says which outputs hold a secret, and the daemon moves those
//! into the secrets store.
//!
//! The types and [`sources`]/[`select`] are here; [`form`] is in `form.rs` and [`plan`] (with
//! the checks and substitutions it makes) in `resolve.rs`.

pub mod dependency_date;
mod form;
pub mod identifier;
mod resolve;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::server_json::{RemoteKind, ServerJson};

pub use form::form;
pub use resolve::plan;

/// A way a document offers to run its server.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceKind {
    Npm,
    Pypi,
    Oci,
    Nuget,
    Mcpb,
    /// A remote server over Streamable HTTP.
    StreamableHttp,
    /// A remote server over the legacy HTTP+SSE transport.
    Sse,
}

impl SourceKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Npm => "npm",
            Self::Pypi => "pypi",
            Self::Oci => "oci",
            Self::Nuget => "nuget",
            Self::Mcpb => "mcpb",
            Self::StreamableHttp => "streamable-http",
            Self::Sse => "sse",
        }
    }

    fn of_package(registry_type: &str) -> Option<Self> {
        Some(match registry_type {
            "npm" => Self::Npm,
            "pypi" => Self::Pypi,
            "oci" => Self::Oci,
            "nuget" => Self::Nuget,
            "mcpb" => Self::Mcpb,
            _ => return None,
        })
    }

    /// Runtimes of which at least one must be present to fetch and run this kind.
    pub fn needs(self) -> &'static [Runtime] {
        match self {
            Self::Npm => &[Runtime::Node],
            Self::Pypi => &[Runtime::Uv, Runtime::Python],
            Self::Oci => &[Runtime::Docker, Runtime::Podman],
            Self::Nuget => &[Runtime::Dnx],
            // A bundle's manifest names its runtime; it is known only once unpacked.
            Self::Mcpb | Self::StreamableHttp | Self::Sse => &[],
        }
    }
}

impl std::fmt::Display for SourceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for SourceKind {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::of_package(s)
            .or(match s {
                "streamable-http" | "remote" => Some(Self::StreamableHttp),
                "sse" => Some(Self::Sse),
                _ => None,
            })
            .ok_or_else(|| PlanError::UnknownSourceKind { given: s.to_owned() })
    }
}

/// Programs that run packages; the daemon finds them by absolute path.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Runtime {
    Node,
    Npm,
    Uv,
    Python,
    Docker,
    Podman,
    Dnx,
}

impl Runtime {
    pub const ALL: [Self; 7] = [
        Self::Node,
        Self::Npm,
        Self::Uv,
        Self::Python,
        Self::Docker,
        Self::Podman,
        Self::Dnx,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Node => "node",
            Self::Npm => "npm",
            Self::Uv => "uv",
            Self::Python => "python",
            Self::Docker => "docker",
            Self::Podman => "podman",
            Self::Dnx => "dnx",
        }
    }

    /// How to get it, in one line.
    pub fn install_hint(self) -> &'static str {
        match self {
            Self::Node | Self::Npm => {
                "install Node.js 20 or later from https://nodejs.org (or with nvm, fnm, volta or Homebrew)"
            }
            Self::Uv => "install uv: https://docs.astral.sh/uv/getting-started/installation/",
            Self::Python => {
                "install Python 3.10 or later from https://python.org (or uv, which brings its own)"
            }
            Self::Docker => "install Docker Desktop or Docker Engine: https://docs.docker.com/get-docker/",
            Self::Podman => "install Podman: https://podman.io/docs/installation",
            Self::Dnx => "install the .NET 10 SDK, which provides dnx: https://dotnet.microsoft.com/download",
        }
    }
}

impl std::fmt::Display for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One way to run the server: a package or a remote, by its position in the document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    pub kind: SourceKind,
    /// Index into `packages` (package kinds) or `remotes` (remote kinds).
    pub index: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    #[error("{server} offers no package and no remote, so there is nothing to install")]
    NothingToRun { server: String },
    #[error(
        "{server} offers only package types this version cannot run ({types}); look for a newer Switchboard"
    )]
    UnsupportedPackageType { server: String, types: String },
    #[error(
        "{server} needs {runtime}, which was not found on this machine: {hint}; `switchboard doctor` shows what was searched"
    )]
    RuntimeMissing {
        server: String,
        runtime: Runtime,
        hint: &'static str,
    },
    #[error("{server} has no {kind} source; it offers: {offered}")]
    NoSuchSource {
        server: String,
        kind: SourceKind,
        offered: String,
    },
    #[error("unknown source `{given}`; use npm, pypi, oci, nuget, mcpb, streamable-http or sse")]
    UnknownSourceKind { given: String },
    #[error("missing required inputs: {}; give them with --set KEY=VALUE", keys.join(", "))]
    MissingInputs { keys: Vec<String> },
    #[error("input `{key}` is `{given}`, which is not one of: {}", choices.join(", "))]
    NotAChoice {
        key: String,
        given: String,
        choices: Vec<String>,
    },
    #[error("input `{key}` must be {format}, not `{given}`")]
    WrongFormat {
        key: String,
        format: &'static str,
        given: String,
    },
    #[error("input `{key}` takes one value, but {count} were given")]
    NotRepeatable { key: String, count: usize },
    #[error("no input is named `{key}`; this server's inputs are: {known}")]
    UnknownInput { key: String, known: String },
    #[error(
        "input `{key}` is secret but goes on the command line, where any local user could read it with `ps`; Switchboard will not install it this way"
    )]
    SecretArgument { key: String },
    #[error(transparent)]
    Identifier(#[from] identifier::IdentifierError),
}

/// A resolved output value, flagged when it holds a secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    pub text: String,
    pub secret: bool,
}

/// What to download before the first start; versions are exact once the daemon pins them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fetch {
    Npm {
        package: String,
        version: Option<String>,
    },
    Pypi {
        package: String,
        version: Option<String>,
    },
    Oci {
        image: String,
    },
    Nuget {
        package: String,
        version: Option<String>,
    },
    Mcpb {
        url: String,
        sha256: String,
    },
    Nothing,
}

/// How the server is reached once fetched.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    Stdio,
    /// The package serves HTTP itself at this URL.
    LocalHttp {
        url: String,
    },
    Remote {
        url: String,
        headers: BTreeMap<String, Resolved>,
        kind: RemoteKind,
    },
}

/// Everything needed to install one version of a server from one of its sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Plan {
    pub server: String,
    pub version: String,
    pub source: Source,
    pub fetch: Fetch,
    /// Arguments for the container runtime (oci only; npx- and uvx-style runtime arguments do
    /// not apply because the daemon runs installed packages directly).
    pub runtime_args: Vec<String>,
    pub package_args: Vec<String>,
    pub env: BTreeMap<String, Resolved>,
    pub endpoint: Endpoint,
    /// The non-secret values used, by field key: kept so an update can reuse them.
    pub inputs: BTreeMap<String, Vec<String>>,
    /// Things the user should know that do not stop the install.
    pub warnings: Vec<String>,
    /// Resolve the package's dependencies as of this moment, its publish time; set by
    /// [`Plan::pin_dependencies`].
    pub dependencies_as_of: Option<dependency_date::DependencyDate>,
}

/// Values the user gave, by field key; repeated fields take several.
pub type Values = BTreeMap<String, Vec<String>>;

/// The document's sources in its own order.
pub fn sources(server: &ServerJson) -> Vec<Source> {
    let packages = server.packages.iter().enumerate().filter_map(|(index, package)| {
        SourceKind::of_package(&package.registry_type).map(|kind| Source { kind, index })
    });
    let remotes = server.remotes.iter().enumerate().map(|(index, remote)| Source {
        kind: match remote.kind {
            RemoteKind::StreamableHttp => SourceKind::StreamableHttp,
            RemoteKind::Sse => SourceKind::Sse,
        },
        index,
    });
    packages.chain(remotes).collect()
}

/// Picks the source to install: the first of kind `prefer` if given, otherwise the first whose
/// runtime `has` reports present (packages before remotes, in document order).
pub fn select(
    server: &ServerJson,
    prefer: Option<SourceKind>,
    has: impl Fn(Runtime) -> bool,
) -> Result<Source, PlanError> {
    let all = sources(server);
    let runnable = |source: &Source| {
        let needs = source.kind.needs();
        needs.is_empty() || needs.iter().any(|runtime| has(*runtime))
    };
    let missing = |source: &Source| {
        let runtime = source.kind.needs()[0];
        PlanError::RuntimeMissing {
            server: server.name.clone(),
            runtime,
            hint: runtime.install_hint(),
        }
    };
    if let Some(kind) = prefer {
        let source =
            all.iter()
                .find(|source| source.kind == kind)
                .ok_or_else(|| PlanError::NoSuchSource {
                    server: server.name.clone(),
                    kind,
                    offered: offered(&all),
                })?;
        return if runnable(source) {
            Ok(*source)
        } else {
            Err(missing(source))
        };
    }
    if let Some(source) = all.iter().find(|source| runnable(source)) {
        return Ok(*source);
    }
    match all.first() {
        Some(first) => Err(missing(first)),
        None if server.packages.is_empty() => Err(PlanError::NothingToRun {
            server: server.name.clone(),
        }),
        None => Err(PlanError::UnsupportedPackageType {
            server: server.name.clone(),
            types: server
                .packages
                .iter()
                .map(|package| package.registry_type.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
    }
}

fn offered(all: &[Source]) -> String {
    if all.is_empty() {
        return "nothing".to_owned();
    }
    all.iter()
        .map(|source| source.kind.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn document(extra: serde_json::Value) -> ServerJson {
        let mut value = json!({"name": "io.github.example/demo", "description": "Demo.", "version": "1.0.0"});
        for (key, field) in extra.as_object().expect("object") {
            value[key] = field.clone();
        }
        crate::validate::parse(&value).expect("valid document")
    }

    fn values(pairs: &[(&str, &str)]) -> Values {
        let mut values = Values::new();
        for (key, value) in pairs {
            values
                .entry((*key).to_owned())
                .or_default()
                .push((*value).to_owned());
        }
        values
    }

    #[test]
    fn named_positional_repeated_and_defaults_become_argv() {
        let server = document(json!({"packages": [{
            "registryType": "npm", "identifier": "demo", "version": "1.0.0", "transport": {"type": "stdio"},
            "packageArguments": [
                {"type": "positional", "value": "serve"},
                {"type": "named", "name": "--mode", "default": "local", "choices": ["local", "proxy"]},
                {"type": "named", "name": "--port", "format": "number"},
                {"type": "positional", "valueHint": "dir", "isRequired": true, "isRepeated": true}
            ]
        }]}));
        let source = select(&server, None, |_| true).expect("npm");
        let plan = plan(&server, source, &values(&[("dir", "/a"), ("dir", "/b b")])).expect("plan");
        assert_eq!(plan.package_args, ["serve", "--mode", "local", "/a", "/b b"]);
        assert_eq!(
            plan.fetch,
            Fetch::Npm {
                package: "demo".into(),
                version: Some("1.0.0".into())
            }
        );
    }

    #[test]
    fn inputs_are_checked() {
        let server = document(json!({"packages": [{
            "registryType": "pypi", "identifier": "demo", "transport": {"type": "stdio"},
            "packageArguments": [{"type": "named", "name": "--port", "format": "number", "isRequired": true}],
            "environmentVariables": [{"name": "MODE", "choices": ["a", "b"]}]
        }]}));
        let source = sources(&server)[0];
        let err = |pairs: &[(&str, &str)]| plan(&server, source, &values(pairs)).expect_err("refused");
        assert!(matches!(err(&[]), PlanError::MissingInputs { keys } if keys == ["--port"]));
        assert!(matches!(err(&[("--port", "x")]), PlanError::WrongFormat { .. }));
        assert!(matches!(
            err(&[("--port", "1"), ("--port", "2")]),
            PlanError::NotRepeatable { .. }
        ));
        assert!(matches!(
            err(&[("--port", "1"), ("MODE", "c")]),
            PlanError::NotAChoice { .. }
        ));
        assert!(matches!(
            err(&[("--port", "1"), ("NOPE", "c")]),
            PlanError::UnknownInput { .. }
        ));
    }

    #[test]
    fn variables_fill_templates_and_secrets_are_flagged() {
        let server = document(json!({"remotes": [{
            "type": "streamable-http", "url": "https://example.com/mcp/{tenant}",
            "variables": {"tenant": {"isRequired": true}},
            "headers": [
                {"name": "Authorization", "value": "Bearer {token}", "variables": {"token": {"isSecret": true, "isRequired": true}}},
                {"name": "X-Region", "default": "eu"}
            ]
        }]}));
        let source = select(&server, None, |_| false).expect("remote needs no runtime");
        let plan = plan(&server, source, &values(&[("tenant", "t1"), ("token", "s3cr3t")])).expect("plan");
        let Endpoint::Remote { url, headers, .. } = &plan.endpoint else {
            panic!("remote endpoint")
        };
        assert_eq!(url, "https://example.com/mcp/t1");
        assert_eq!(
            headers["Authorization"],
            Resolved {
                text: "Bearer s3cr3t".into(),
                secret: true
            }
        );
        assert!(!headers["X-Region"].secret);
        assert!(
            !plan.inputs.contains_key("token"),
            "secret values are not kept as inputs"
        );
    }

    #[test]
    fn secrets_never_go_on_the_command_line() {
        let server = document(json!({"packages": [{
            "registryType": "npm", "identifier": "demo", "transport": {"type": "stdio"},
            "packageArguments": [{"type": "named", "name": "--api-key", "isSecret": true, "isRequired": true}]
        }]}));
        let err = plan(&server, sources(&server)[0], &values(&[("--api-key", "k")])).expect_err("refused");
        assert!(matches!(err, PlanError::SecretArgument { .. }));
    }

    #[test]
    fn selection_follows_runtimes() {
        let server = document(json!({"packages": [
            {"registryType": "oci", "identifier": "docker.io/x/y:1", "transport": {"type": "stdio"}},
            {"registryType": "npm", "identifier": "y", "transport": {"type": "stdio"}}
        ]}));
        let only_node = |runtime| runtime == Runtime::Node;
        assert_eq!(
            select(&server, None, only_node).expect("npm").kind,
            SourceKind::Npm
        );
        assert!(matches!(
            select(&server, Some(SourceKind::Oci), only_node),
            Err(PlanError::RuntimeMissing {
                runtime: Runtime::Docker,
                ..
            })
        ));
        assert!(matches!(
            select(&server, None, |_| false),
            Err(PlanError::RuntimeMissing {
                runtime: Runtime::Docker,
                ..
            })
        ));
        assert!(matches!(
            select(&server, Some(SourceKind::Sse), |_| true),
            Err(PlanError::NoSuchSource { .. })
        ));
    }
}

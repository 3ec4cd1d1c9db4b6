//! Server specs: what Switchboard runs or reaches, and how it restarts it.
//!
//! A [`ServerSpec`] is the user's intent, stored as JSON by the daemon and sent over the
//! control API. Secret values never live in a spec: a [`ValueSource::Secret`] names a keychain
//! entry and the daemon resolves it at spawn time. [`ServerSpec::validate`] checks everything
//! that can be checked without touching the machine (finding programs on PATH is the daemon's).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::ServerName;

mod start;

pub use start::{Start, StartMode};

/// Everything Switchboard needs to run (or reach) one MCP server.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct ServerSpec {
    pub name: ServerName,
    pub transport: Transport,
    #[serde(default)]
    pub restart: RestartPolicy,
    #[serde(default, skip_serializing_if = "Health::is_default")]
    pub health: Health,
    #[serde(default, skip_serializing_if = "Sharing::is_default")]
    pub sharing: Sharing,
    #[serde(default, skip_serializing_if = "Protocol::is_default")]
    pub protocol: Protocol,
    #[serde(default, skip_serializing_if = "Start::is_default")]
    pub start: Start,
    /// The registry version it was installed from, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<Origin>,
}

/// The registry version a server was installed from: what `update` starts from.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Origin {
    /// The registry's base URL.
    pub registry: String,
    /// The registry name, e.g. `io.github.modelcontextprotocol/server-time`.
    pub name: String,
    pub version: String,
    /// `npm`, `pypi`, `oci`, `nuget`, `mcpb`, `streamable-http` or `sse`.
    pub source: String,
    /// The package version pinned by the install, when it differs from `version`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_version: Option<String>,
    /// Non-secret input values by field key, reused by updates.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub inputs: BTreeMap<String, Vec<String>>,
    /// Where the pinned package lives (none for remotes and images): always a directory under
    /// `<data>/packages/<this server>/`, which the control layer checks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_dir: Option<PathBuf>,
    /// Container runtime flags the user allowed at install, kept for updates.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allowed_runtime_args: Vec<String>,
    /// Whether the user let the npm package's install scripts run, kept for updates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub allow_scripts: bool,
    /// Whether the user asked for today's dependencies rather than those as of the version's
    /// publish time, kept for updates.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub latest_deps: bool,
}

/// Whether the gateway's client sessions share one process of a stdio server.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum Sharing {
    /// One process serves every session: requests are multiplexed over it.
    #[default]
    Shared,
    /// Each session gets a process of its own, ended with the session: for servers that keep
    /// per-client state (a browser, a login, a working directory) or must not mix clients.
    PerSession,
}

impl Sharing {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// Which era of the protocol the gateway speaks to a server. Clients of either era reach a
/// server of either: the gateway translates.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum Protocol {
    /// `server/discover` first; a server that does not know it (or does not answer it within
    /// a quarter of its startup timeout) is spoken to with `initialize`.
    #[default]
    Auto,
    /// The session revisions (2024-11-05 to 2025-11-25): `initialize` opens the connection.
    Handshake,
    /// The stateless revision (2026-07-28): `server/discover`, and every request stands alone.
    Stateless,
}

impl Protocol {
    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

impl std::str::FromStr for Protocol {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "handshake" => Ok(Self::Handshake),
            "stateless" => Ok(Self::Stateless),
            "auto" => Ok(Self::Auto),
            other => Err(SpecError::BadProtocol {
                given: other.to_owned(),
            }),
        }
    }
}

/// How the supervisor decides a server is up and still answering.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Health {
    /// From spawn to a completed handshake and tools/list; npx's first download counts.
    pub startup_timeout_ms: u64,
    pub ping_interval_ms: u64,
    pub ping_timeout_ms: u64,
    /// Consecutive missed pings after which the server is killed as hung.
    pub ping_retries: u32,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            startup_timeout_ms: 60_000,
            ping_interval_ms: 30_000,
            ping_timeout_ms: 10_000,
            ping_retries: 3,
        }
    }
}

impl Health {
    /// Shortest interval or timeout accepted: below it, checks would be load, not health.
    pub const MIN_MS: u64 = 100;

    pub fn is_default(&self) -> bool {
        *self == Self::default()
    }
}

/// How the server is reached.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Transport {
    /// A local process speaking JSON-RPC over its stdin and stdout.
    Stdio(Launch),
    /// A local process serving Streamable HTTP at `url` (which must be on loopback).
    LocalHttp {
        #[serde(flatten)]
        launch: Launch,
        url: String,
    },
    /// A server elsewhere, reached over Streamable HTTP; nothing is spawned.
    RemoteHttp {
        url: String,
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        headers: BTreeMap<String, ValueSource>,
    },
}

/// How to start a local process.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
pub struct Launch {
    pub command: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, ValueSource>,
}

/// A value given literally, or a reference to a secret held in the OS keychain.
///
/// On the wire a literal is a plain string and a reference is `{"secret": "<key>"}`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(untagged)]
pub enum ValueSource {
    Literal(String),
    Secret { secret: String },
}

/// When a server that exited is started again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "kebab-case")]
pub enum RestartPolicy {
    /// Restart after any exit the user did not ask for, clean or not.
    Always,
    /// Restart only after a failure (non-zero exit, signal, failed health check).
    #[default]
    OnFailure,
    /// Never restart.
    Never,
}

impl std::str::FromStr for RestartPolicy {
    type Err = SpecError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "always" => Ok(Self::Always),
            "on-failure" => Ok(Self::OnFailure),
            "never" => Ok(Self::Never),
            other => Err(SpecError::BadRestartPolicy {
                given: other.to_owned(),
            }),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    #[error("server {server} has an empty command; give the program to run, e.g. `npx`")]
    EmptyCommand { server: ServerName },
    #[error("server {server}: {what} contains a NUL byte, which no program can receive")]
    NulByte { server: ServerName, what: String },
    #[error(
        "server {server}: environment variable name `{key}` is invalid; use letters, digits and `_`, not starting with a digit"
    )]
    BadEnvName { server: ServerName, key: String },
    #[error(
        "server {server}: `{url}` is not a valid URL ({reason}); give one like http://127.0.0.1:3001/mcp"
    )]
    BadUrl {
        server: ServerName,
        url: String,
        reason: String,
    },
    #[error("server {server}: `{url}` must use http or https")]
    BadScheme { server: ServerName, url: String },
    #[error(
        "server {server}: a local HTTP server must listen on loopback, not `{host}`; use 127.0.0.1, ::1 or localhost"
    )]
    NotLoopback { server: ServerName, host: String },
    #[error(
        "server {server}: `{url}` is plain http to another machine; use https (or reach it over the tailnet)"
    )]
    InsecureRemote { server: ServerName, url: String },
    #[error("server {server}: HTTP header name `{header}` is invalid")]
    BadHeaderName { server: ServerName, header: String },
    #[error("unknown restart policy `{given}`; use always, on-failure or never")]
    BadRestartPolicy { given: String },
    #[error(
        "unknown protocol `{given}`; use handshake (revisions up to 2025-11-25), stateless \
         (2026-07-28) or auto (ask the server)"
    )]
    BadProtocol { given: String },
    #[error("`{given}` is not a start mode; use always or on-demand")]
    BadStartMode { given: String },
    #[error(
        "server {server}: the idle time before it sleeps must be at least {min_ms} ms; give a \
         longer --idle-after"
    )]
    IdleTooShort { server: ServerName, min_ms: u64 },
    #[error("server {server}: its sessions must be allowed at least one process (--max-processes)")]
    NoProcesses { server: ServerName },
    #[error("server {server}: {setting} must be at least {min_ms} ms")]
    HealthTooShort {
        server: ServerName,
        setting: &'static str,
        min_ms: u64,
    },
    #[error("server {server}: ping retries must be at least 1")]
    NoPingRetries { server: ServerName },
    #[error(
        "server {server}: only stdio servers can run one process per session; an HTTP server serves its sessions itself"
    )]
    PerSessionNeedsStdio { server: ServerName },
    #[error(
        "server {server}: --protocol stateless applies to stdio servers; the gateway speaks the session revisions to HTTP servers (leave --protocol out, or use auto)"
    )]
    StatelessNeedsStdio { server: ServerName },
    #[error(
        "server {server}: {field} refers to secret `{key}`, which is not this server's; a server uses only its own secrets, named `{server}/NAME` (store one with `switchboard secrets set {server} NAME`)"
    )]
    ForeignSecret {
        server: ServerName,
        field: String,
        key: String,
    },
    #[error(
        "server {server}: {field} refers to secret `{key}`, the server's OAuth sign-in, which only the daemon uses; give the value another name"
    )]
    ReservedSecret {
        server: ServerName,
        field: String,
        key: String,
    },
}

impl ServerSpec {
    /// The era the gateway speaks to the server: as asked, except that an HTTP server is
    /// spoken to with sessions (the stateless revision over HTTP is not spoken upstream yet).
    pub fn protocol(&self) -> Protocol {
        match (&self.transport, self.protocol) {
            (Transport::Stdio(_), protocol) => protocol,
            _ => Protocol::Handshake,
        }
    }

    /// Checks the spec as far as possible without touching the machine.
    pub fn validate(&self) -> Result<(), SpecError> {
        let server = &self.name;
        let h = &self.health;
        for (setting, ms) in [
            ("the startup timeout", h.startup_timeout_ms),
            ("the ping interval", h.ping_interval_ms),
            ("the ping timeout", h.ping_timeout_ms),
        ] {
            if ms < Health::MIN_MS {
                return Err(SpecError::HealthTooShort {
                    server: server.clone(),
                    setting,
                    min_ms: Health::MIN_MS,
                });
            }
        }
        if self.start.idle_after_ms < Start::MIN_IDLE_MS {
            return Err(SpecError::IdleTooShort {
                server: server.clone(),
                min_ms: Start::MIN_IDLE_MS,
            });
        }
        if self.start.max_processes == 0 {
            return Err(SpecError::NoProcesses {
                server: server.clone(),
            });
        }
        if h.ping_retries == 0 {
            return Err(SpecError::NoPingRetries {
                server: server.clone(),
            });
        }
        if self.sharing == Sharing::PerSession && !matches!(self.transport, Transport::Stdio(_)) {
            return Err(SpecError::PerSessionNeedsStdio {
                server: server.clone(),
            });
        }
        if self.protocol == Protocol::Stateless && !matches!(self.transport, Transport::Stdio(_)) {
            return Err(SpecError::StatelessNeedsStdio {
                server: server.clone(),
            });
        }
        let (place, values) = match &self.transport {
            Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => {
                ("environment variable", &launch.env)
            }
            Transport::RemoteHttp { headers, .. } => ("header", headers),
        };
        for (field, value) in values {
            if let ValueSource::Secret { secret } = value {
                check_secret_ref(server, &format!("{place} {field}"), secret)?;
            }
        }
        match &self.transport {
            Transport::Stdio(launch) => launch.validate(server),
            Transport::LocalHttp { launch, url } => {
                launch.validate(server)?;
                let parsed = parse_http_url(server, url)?;
                if !is_loopback(&parsed) {
                    let host = parsed.host_str().unwrap_or_default().to_owned();
                    return Err(SpecError::NotLoopback {
                        server: server.clone(),
                        host,
                    });
                }
                Ok(())
            }
            Transport::RemoteHttp { url, headers } => {
                let parsed = parse_http_url(server, url)?;
                if parsed.scheme() == "http" && !is_loopback(&parsed) && !is_tailnet(&parsed) {
                    return Err(SpecError::InsecureRemote {
                        server: server.clone(),
                        url: url.clone(),
                    });
                }
                for header in headers.keys() {
                    let valid = !header.is_empty()
                        && header
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
                    if !valid {
                        return Err(SpecError::BadHeaderName {
                            server: server.clone(),
                            header: header.clone(),
                        });
                    }
                }
                Ok(())
            }
        }
    }

    /// The launch instructions, for transports that run a local process.
    pub fn launch(&self) -> Option<&Launch> {
        match &self.transport {
            Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => Some(launch),
            Transport::RemoteHttp { .. } => None,
        }
    }
}

impl Launch {
    fn validate(&self, server: &ServerName) -> Result<(), SpecError> {
        if self.command.trim().is_empty() {
            return Err(SpecError::EmptyCommand {
                server: server.clone(),
            });
        }
        let nul = |what: String| SpecError::NulByte {
            server: server.clone(),
            what,
        };
        if self.command.contains('\0') {
            return Err(nul("the command".into()));
        }
        if let Some(i) = self.args.iter().position(|a| a.contains('\0')) {
            return Err(nul(format!("argument {}", i + 1)));
        }
        for (key, value) in &self.env {
            let valid = key.chars().next().is_some_and(|c| !c.is_ascii_digit())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(SpecError::BadEnvName {
                    server: server.clone(),
                    key: key.clone(),
                });
            }
            if let ValueSource::Literal(v) = value
                && v.contains('\0')
            {
                return Err(nul(format!("environment variable {key}")));
            }
        }
        Ok(())
    }
}

/// A secret reference stays in its server's namespace, `<server>/NAME`, and leaves the names
/// the daemon keeps for itself (`oauth`, `oauth-…`) alone.
fn check_secret_ref(server: &ServerName, field: &str, key: &str) -> Result<(), SpecError> {
    let name = key
        .strip_prefix(server.as_str())
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|name| !name.is_empty() && !name.contains('/') && !name.contains(char::is_control));
    match name {
        None => Err(SpecError::ForeignSecret {
            server: server.clone(),
            field: field.to_owned(),
            key: key.to_owned(),
        }),
        Some(name) if name == "oauth" || name.starts_with("oauth-") => Err(SpecError::ReservedSecret {
            server: server.clone(),
            field: field.to_owned(),
            key: key.to_owned(),
        }),
        Some(_) => Ok(()),
    }
}

fn parse_http_url(server: &ServerName, raw: &str) -> Result<url::Url, SpecError> {
    let parsed = url::Url::parse(raw).map_err(|e| SpecError::BadUrl {
        server: server.clone(),
        url: raw.to_owned(),
        reason: e.to_string(),
    })?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(SpecError::BadScheme {
            server: server.clone(),
            url: raw.to_owned(),
        });
    }
    Ok(parsed)
}

fn is_loopback(url: &url::Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// A Tailscale address or MagicDNS name: WireGuard already encrypts the traffic, so plain
/// http is fine there (Tailscale's own `serve` proxies to plain http too).
fn is_tailnet(url: &url::Url) -> bool {
    match url.host() {
        // 100.64.0.0/10 and fd7a:115c:a1e0::/48 are the ranges Tailscale assigns from.
        Some(url::Host::Ipv4(ip)) => ip.octets()[0] == 100 && ip.octets()[1] & 0xc0 == 64,
        Some(url::Host::Ipv6(ip)) => ip.segments()[..3] == [0xfd7a, 0x115c, 0xa1e0],
        Some(url::Host::Domain(d)) => d.to_ascii_lowercase().trim_end_matches('.').ends_with(".ts.net"),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name() -> ServerName {
        ServerName::new("s").expect("valid")
    }

    fn stdio(command: &str, env: &[(&str, &str)]) -> ServerSpec {
        let env = env
            .iter()
            .map(|(k, v)| (k.to_string(), ValueSource::Literal(v.to_string())))
            .collect();
        ServerSpec {
            name: name(),
            transport: Transport::Stdio(Launch {
                command: command.into(),
                args: vec![],
                cwd: None,
                env,
            }),
            restart: RestartPolicy::default(),
            health: Health::default(),
            sharing: Sharing::default(),
            protocol: Default::default(),
            start: Start::default(),
            origin: None,
        }
    }

    fn http(local: bool, url: &str) -> ServerSpec {
        let transport = if local {
            Transport::LocalHttp {
                launch: Launch {
                    command: "node".into(),
                    args: vec![],
                    cwd: None,
                    env: BTreeMap::new(),
                },
                url: url.into(),
            }
        } else {
            Transport::RemoteHttp {
                url: url.into(),
                headers: BTreeMap::new(),
            }
        };
        ServerSpec {
            name: name(),
            transport,
            restart: RestartPolicy::default(),
            health: Health::default(),
            sharing: Sharing::default(),
            protocol: Default::default(),
            start: Start::default(),
            origin: None,
        }
    }

    #[test]
    fn validation_table() {
        let cases: Vec<(ServerSpec, Option<fn(&SpecError) -> bool>)> = vec![
            (stdio("uvx", &[("TZ", "UTC")]), None),
            (
                stdio("  ", &[]),
                Some(|e| matches!(e, SpecError::EmptyCommand { .. })),
            ),
            (
                stdio("a\0b", &[]),
                Some(|e| matches!(e, SpecError::NulByte { .. })),
            ),
            (
                stdio("x", &[("1ABC", "v")]),
                Some(|e| matches!(e, SpecError::BadEnvName { .. })),
            ),
            (
                stdio("x", &[("A=B", "v")]),
                Some(|e| matches!(e, SpecError::BadEnvName { .. })),
            ),
            (http(true, "http://127.0.0.1:3001/mcp"), None),
            (http(true, "http://localhost:3001/mcp"), None),
            (http(true, "http://[::1]:3001/mcp"), None),
            (
                http(true, "http://10.0.0.2:3001/mcp"),
                Some(|e| matches!(e, SpecError::NotLoopback { .. })),
            ),
            (
                http(true, "not a url"),
                Some(|e| matches!(e, SpecError::BadUrl { .. })),
            ),
            (
                http(false, "ftp://example.com/"),
                Some(|e| matches!(e, SpecError::BadScheme { .. })),
            ),
            (http(false, "https://mcp.example.com/mcp"), None),
            (
                http(false, "http://mcp.example.com/mcp"),
                Some(|e| matches!(e, SpecError::InsecureRemote { .. })),
            ),
            (http(false, "http://100.64.0.1:7717/mcp/time"), None),
            (http(false, "http://[fd7a:115c:a1e0::1]:7717/mcp/time"), None),
            (
                http(false, "http://homebox.tail4c1d2e.ts.net:7717/mcp/time"),
                None,
            ),
            (
                http(false, "http://100.128.0.1/mcp"),
                Some(|e| matches!(e, SpecError::InsecureRemote { .. })),
            ),
            (
                ServerSpec {
                    health: Health {
                        ping_interval_ms: 10,
                        ..Health::default()
                    },
                    ..stdio("x", &[])
                },
                Some(|e| matches!(e, SpecError::HealthTooShort { .. })),
            ),
            (
                ServerSpec {
                    health: Health {
                        ping_retries: 0,
                        ..Health::default()
                    },
                    ..stdio("x", &[])
                },
                Some(|e| matches!(e, SpecError::NoPingRetries { .. })),
            ),
            (
                ServerSpec {
                    sharing: Sharing::PerSession,
                    ..stdio("x", &[])
                },
                None,
            ),
            (
                ServerSpec {
                    protocol: Protocol::Stateless,
                    ..stdio("x", &[])
                },
                None,
            ),
            (
                ServerSpec {
                    protocol: Protocol::Stateless,
                    ..http(false, "https://example.com/mcp")
                },
                Some(|e| matches!(e, SpecError::StatelessNeedsStdio { .. })),
            ),
            (
                ServerSpec {
                    sharing: Sharing::PerSession,
                    ..http(true, "http://127.0.0.1:3001/mcp")
                },
                Some(|e| matches!(e, SpecError::PerSessionNeedsStdio { .. })),
            ),
        ];
        for (spec, expected) in cases {
            match (spec.validate(), expected) {
                (Ok(()), None) => {}
                (Err(e), Some(check)) => assert!(check(&e), "{spec:?}: unexpected {e:?}"),
                (got, _) => panic!("{spec:?}: got {got:?}"),
            }
        }
    }

    #[test]
    fn http_servers_are_spoken_to_with_sessions_whatever_the_default() {
        assert_eq!(stdio("x", &[]).protocol(), Protocol::Auto);
        assert_eq!(
            http(true, "http://127.0.0.1:3001/mcp").protocol(),
            Protocol::Handshake
        );
        assert_eq!("stateless".parse::<Protocol>().ok(), Some(Protocol::Stateless));
        assert!(matches!(
            "modern".parse::<Protocol>(),
            Err(SpecError::BadProtocol { .. })
        ));
    }

    #[test]
    fn secret_references_stay_in_the_servers_own_namespace() {
        // (reference, accepted); the server is `s`.
        let cases: &[(&str, bool)] = &[
            ("s/API_KEY", true),
            ("s/Authorization", true),
            ("s/oauthish", true),
            ("b/API_KEY", false),
            ("s2/API_KEY", false),
            ("API_KEY", false),
            ("s/", false),
            ("s", false),
            ("/API_KEY", false),
            ("s/a/b", false),
            ("s/oauth", false),
            ("s/oauth-client", false),
        ];
        for (key, accepted) in cases {
            let mut local = stdio("x", &[]);
            if let Transport::Stdio(launch) = &mut local.transport {
                launch.env.insert(
                    "V".into(),
                    ValueSource::Secret {
                        secret: (*key).into(),
                    },
                );
            }
            let mut remote = http(false, "https://mcp.example.com/mcp");
            if let Transport::RemoteHttp { headers, .. } = &mut remote.transport {
                headers.insert(
                    "V".into(),
                    ValueSource::Secret {
                        secret: (*key).into(),
                    },
                );
            }
            for spec in [local, remote] {
                let result = spec.validate();
                assert_eq!(result.is_ok(), *accepted, "`{key}`: {result:?}");
            }
        }
        let mut spec = stdio("x", &[]);
        if let Transport::Stdio(launch) = &mut spec.transport {
            launch.env.insert(
                "TOKEN".into(),
                ValueSource::Secret {
                    secret: "b/TOKEN".into(),
                },
            );
        }
        assert_eq!(
            spec.validate().map_err(|e| e.to_string()),
            Err("server s: environment variable TOKEN refers to secret `b/TOKEN`, which is not this server's; \
                 a server uses only its own secrets, named `s/NAME` (store one with `switchboard secrets set s NAME`)"
                .to_owned())
        );
    }

    #[test]
    fn wire_shape_is_stable() {
        let mut spec = stdio("uvx", &[("TZ", "UTC")]);
        if let Transport::Stdio(launch) = &mut spec.transport {
            launch.env.insert(
                "API_KEY".into(),
                ValueSource::Secret {
                    secret: "github".into(),
                },
            );
            launch.args.push("mcp-server-time".into());
        }
        let json = serde_json::to_value(&spec).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({
                "name": "s",
                "transport": {"type": "stdio", "command": "uvx", "args": ["mcp-server-time"],
                              "env": {"API_KEY": {"secret": "github"}, "TZ": "UTC"}},
                "restart": "on-failure"
            })
        );
        let back: ServerSpec = serde_json::from_value(json).expect("round trips");
        assert_eq!(back, spec);
    }
}

//! The server commands: `ls`, `add`, `rm`, `start`, `stop`, `restart`, `enable`, `disable`,
//! `logs`, `runs`, `history` (tool calls through the gateway) and `logout` (forgetting a remote
//! server's OAuth tokens).
//!
//! Everything is the daemon's; these commands only call the control API and print. `add` builds
//! its request here, making relative paths absolute because the daemon runs elsewhere. `login`
//! lives in [`crate::secrets`] with the other keychain prompts.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::Args;
use switchboard_model::api::{AddServer, CallRecord, LogLine, RunRecord, SecretValues, ServerView, ToolView};
use switchboard_model::{
    Health, Launch, Protocol, RestartPolicy, ServerName, ServerSpec, Sharing, Start, StartMode, Transport,
    ValueSource,
};

use crate::client::{CliError, Client};
use crate::flags::millis;
use crate::{DEFAULT_WAIT_SECS, encode_query, parse_name, print_json, progress, render, report, secrets};

#[derive(Debug, Args)]
pub struct Target {
    name: String,
    /// Return at once instead of waiting for the server to be running or to fail.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, Args)]
pub struct AddArgs {
    name: String,
    /// An environment variable for the server (repeatable).
    #[arg(short, long = "env", value_name = "KEY=VALUE")]
    env: Vec<String>,
    /// The server's working directory.
    #[arg(long)]
    cwd: Option<PathBuf>,
    /// With a command: the URL the local server serves. Alone: a remote server's URL.
    #[arg(long)]
    url: Option<String>,
    /// An HTTP header sent to a remote server (repeatable).
    #[arg(long = "header", value_name = "NAME=VALUE")]
    headers: Vec<String>,
    /// An env var (a header, for a remote server) whose value is a secret: read from a hidden
    /// prompt or a line of stdin, and kept in the keychain (repeatable). Values given with
    /// --env or --header whose names look like credentials go there too.
    #[arg(long = "secret", value_name = "NAME")]
    secrets: Vec<String>,
    /// When to restart it after it exits: always, on-failure or never.
    #[arg(long, default_value = "on-failure")]
    restart: RestartPolicy,
    /// How long it may take from spawn to answering tools/list (e.g. 90s; default 60s).
    #[arg(long, value_name = "DURATION", value_parser = millis)]
    startup_timeout: Option<u64>,
    /// How often to ping it once running (default 30s).
    #[arg(long, value_name = "DURATION", value_parser = millis)]
    ping_interval: Option<u64>,
    /// How long a ping may take (default 10s).
    #[arg(long, value_name = "DURATION", value_parser = millis)]
    ping_timeout: Option<u64>,
    /// Missed pings in a row after which it is ended as hung (default 3).
    #[arg(long, value_name = "N")]
    ping_retries: Option<u32>,
    /// Give each client session a process of its own instead of sharing one (stdio servers).
    #[arg(long)]
    per_session: bool,
    /// The protocol era to speak to it: auto (ask with server/discover, else handshake),
    /// handshake (revisions up to 2025-11-25) or stateless (2026-07-28). Clients of either
    /// era reach it either way.
    #[arg(long, default_value = "auto")]
    protocol: Protocol,
    /// When it runs: always, or on-demand (asleep until a client's request needs it, its
    /// lists answered from its last run; asleep again after --idle-after).
    #[arg(long, default_value = "always")]
    start: StartMode,
    /// On demand: how long it stays up with no call before it sleeps (default 10m).
    #[arg(long, value_name = "DURATION", value_parser = millis)]
    idle_after: Option<u64>,
    /// With --per-session: how many processes its sessions may have at once (default 8).
    #[arg(long, value_name = "N")]
    max_processes: Option<u32>,
    /// Add it without starting it, now or with the daemon.
    #[arg(long)]
    disabled: bool,
    /// Return at once instead of waiting for the server to be running or to fail.
    #[arg(long)]
    no_wait: bool,
    /// The program and its arguments, after `--`.
    #[arg(last = true, value_name = "COMMAND")]
    command: Vec<String>,
}

impl Target {
    /// A command that never waits (`stop`, `disable`): the server is not being started.
    pub fn at_once(name: String) -> Self {
        Target { name, no_wait: true }
    }
}

impl AddArgs {
    /// Whether `add` returns at once instead of waiting for the server to settle.
    pub fn no_wait(&self) -> bool {
        self.no_wait
    }
}

pub async fn ls(json: bool, client: Client) -> Result<(), CliError> {
    let servers: Vec<ServerView> = client.get("/servers").await?;
    if json {
        return print_json(&servers);
    }
    render::servers(&servers);
    Ok(())
}

/// Sends an `add` request built by [`add_request`] (which reads any secrets first).
pub async fn add(json: bool, client: Client, request: AddServer, no_wait: bool) -> Result<(), CliError> {
    let name = request.spec.name.clone();
    let started = request.enabled && !no_wait;
    progress(started, &format!("Adding and starting {name}…"));
    let path = if started {
        format!("/servers?wait={DEFAULT_WAIT_SECS}")
    } else {
        "/servers".into()
    };
    let kept = kept_in_keychain(&request);
    let view: ServerView = client.post(&path, Some(&request)).await?;
    if !json && !kept.is_empty() {
        eprintln!(
            "{name}: kept in the keychain, not in Switchboard's files: {}",
            kept.join(", ")
        );
    }
    report(json, &view)
}

pub async fn rm(json: bool, client: Client, name: &ServerName) -> Result<(), CliError> {
    client.delete(&format!("/servers/{name}")).await?;
    if json {
        return print_json(&serde_json::json!({"removed": name}));
    }
    println!("{name}: removed");
    Ok(())
}

/// `start`, `stop`, `restart`, `enable` or `disable` (the `verb`), then where the server stands.
pub async fn act(json: bool, client: Client, verb: &str, target: Target) -> Result<(), CliError> {
    let name = parse_name(&target.name)?;
    progress(!target.no_wait, &format!("{verb}: waiting for {name} to settle…"));
    let wait = if target.no_wait {
        String::new()
    } else {
        format!("?wait={DEFAULT_WAIT_SECS}")
    };
    let view: ServerView = client
        .post(&format!("/servers/{name}/{verb}{wait}"), None::<&()>)
        .await?;
    report(json, &view)
}

/// `mode NAME always|on-demand`: a server's start settings, changed.
#[derive(Debug, Args)]
pub struct ModeArgs {
    name: String,
    /// always, or on-demand: asleep (listed from its last run) until a call needs it; the
    /// current mode when left out.
    mode: Option<StartMode>,
    /// On demand: how long it stays up with no call before it sleeps.
    #[arg(long, value_name = "DURATION", value_parser = millis)]
    idle_after: Option<u64>,
    /// With per-session sharing: how many processes its sessions may have at once.
    #[arg(long, value_name = "N")]
    max_processes: Option<u32>,
}

pub async fn mode(json: bool, client: Client, args: ModeArgs) -> Result<(), CliError> {
    let name = parse_name(&args.name)?;
    let view: ServerView = client.get(&format!("/servers/{name}")).await?;
    let mut spec = view.spec;
    spec.start.mode = args.mode.unwrap_or(spec.start.mode);
    spec.start.idle_after_ms = args.idle_after.unwrap_or(spec.start.idle_after_ms);
    spec.start.max_processes = args.max_processes.unwrap_or(spec.start.max_processes);
    spec.validate().map_err(|e| CliError::Usage(e.to_string()))?;
    progress(true, &format!("mode: waiting for {name} to settle…"));
    let view: ServerView = client
        .put(&format!("/servers/{name}?wait={DEFAULT_WAIT_SECS}"), &spec)
        .await?;
    report(json, &view)
}

pub async fn logs(
    json: bool,
    client: Client,
    name: &str,
    follow: bool,
    lines: usize,
) -> Result<(), CliError> {
    let name = parse_name(name)?;
    if !follow {
        let tail: Vec<LogLine> = client.get(&format!("/servers/{name}/logs?lines={lines}")).await?;
        for line in &tail {
            if json {
                print_json(line)?
            } else {
                render::log_line(line)
            }
        }
        return Ok(());
    }
    client
        .follow(
            &format!("/servers/{name}/logs?lines={lines}&follow=true"),
            |event| {
                if let Ok(line) = serde_json::from_str::<LogLine>(&event.data) {
                    if json {
                        println!("{}", event.data);
                    } else {
                        render::log_line(&line);
                    }
                }
                true
            },
        )
        .await
}

pub async fn runs(json: bool, client: Client, name: &ServerName, limit: u32) -> Result<(), CliError> {
    let runs: Vec<RunRecord> = client.get(&format!("/servers/{name}/runs?limit={limit}")).await?;
    if json {
        return print_json(&runs);
    }
    render::runs(&runs);
    Ok(())
}

/// A running server's tools, with their token costs.
pub async fn tools(json: bool, client: Client, name: &ServerName) -> Result<(), CliError> {
    let tools: Vec<ToolView> = client.get(&format!("/servers/{name}/tools")).await?;
    if json {
        return print_json(&tools);
    }
    render::tools(&tools);
    Ok(())
}

/// The `history` request's path; the server's name is checked before the daemon is reached.
pub fn history_query(server: Option<&str>, client: Option<&str>, limit: u32) -> Result<String, CliError> {
    let mut query = format!("/history?limit={limit}");
    if let Some(server) = server {
        query.push_str(&format!("&server={}", parse_name(server)?));
    }
    if let Some(client) = client {
        query.push_str(&format!("&client={}", encode_query(client)));
    }
    Ok(query)
}

/// Recent tool calls through the gateway, asked with a path from [`history_query`].
pub async fn history(json: bool, client: Client, query: &str) -> Result<(), CliError> {
    let calls: Vec<CallRecord> = client.get(query).await?;
    if json {
        return print_json(&calls);
    }
    render::calls(&calls);
    Ok(())
}

pub async fn logout(json: bool, client: Client, name: &ServerName) -> Result<(), CliError> {
    let view: ServerView = client.delete_json(&format!("/servers/{name}/login")).await?;
    if !json {
        println!("{name}: signed out");
    }
    report(json, &view)
}

/// The env vars (headers) of `request` whose values the daemon keeps in the keychain.
fn kept_in_keychain(request: &AddServer) -> Vec<String> {
    let values = match &request.spec.transport {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    };
    let named = values.iter().filter_map(|(name, value)| {
        let literal = matches!(value, ValueSource::Literal(_));
        (literal && switchboard_credentials::secrets::looks_like_credential(name)).then_some(name)
    });
    let mut kept: Vec<String> = named.chain(request.secrets.0.keys()).cloned().collect();
    kept.sort();
    kept.dedup();
    kept
}

/// The `add` request: the spec checked, and any secret values read from stdin or a prompt.
pub fn add_request(args: AddArgs) -> Result<AddServer, CliError> {
    let name = parse_name(&args.name)?;
    let env = pairs("--env", &args.env)?;
    let headers = pairs("--header", &args.headers)?;
    // The daemon runs elsewhere: paths relative to this shell must be made absolute here.
    let cwd = args.cwd.as_deref().map(absolute).transpose()?;
    let health = health(&args);
    let start = start(&args);
    let launch = |command: Vec<String>| -> Result<Launch, CliError> {
        let mut parts = command.into_iter();
        let mut program = parts.next().unwrap_or_default();
        if program.contains('/') && !program.starts_with('/') {
            let base = match &cwd {
                Some(dir) => dir.clone(),
                None => absolute(std::path::Path::new("."))?,
            };
            program = base.join(&program).display().to_string();
        }
        Ok(Launch {
            command: program,
            args: parts.collect(),
            cwd: cwd.clone(),
            env: env.clone(),
        })
    };
    let transport = match (args.command.is_empty(), args.url) {
        (false, None) => Transport::Stdio(launch(args.command)?),
        (false, Some(url)) => Transport::LocalHttp {
            launch: launch(args.command)?,
            url,
        },
        (true, Some(url)) => {
            if !args.env.is_empty() || args.cwd.is_some() {
                return Err(CliError::Usage(
                    "--env and --cwd apply to local servers; a remote server has no process".into(),
                ));
            }
            Transport::RemoteHttp {
                url,
                headers: headers.clone(),
            }
        }
        (true, None) => {
            return Err(CliError::Usage(format!(
                "say what to run: `switchboard add {name} -- COMMAND ARGS...`, or --url for an HTTP server"
            )));
        }
    };
    if !headers.is_empty() && !matches!(transport, Transport::RemoteHttp { .. }) {
        return Err(CliError::Usage(
            "--header applies to remote servers (--url without a command)".into(),
        ));
    }
    let spec = ServerSpec {
        name,
        transport,
        restart: args.restart,
        health,
        sharing: if args.per_session {
            Sharing::PerSession
        } else {
            Sharing::Shared
        },
        protocol: args.protocol,
        start,
        origin: None,
    };
    spec.validate().map_err(|e| CliError::Usage(e.to_string()))?;
    let values = secrets::read_secret_lines(&args.secrets)?;
    Ok(AddServer {
        spec,
        enabled: !args.disabled,
        secrets: SecretValues(args.secrets.iter().cloned().zip(values).collect()),
    })
}

/// The start settings `add` was given, the defaults for the rest.
fn start(args: &AddArgs) -> Start {
    let defaults = Start::default();
    Start {
        mode: args.start,
        idle_after_ms: args.idle_after.unwrap_or(defaults.idle_after_ms),
        max_processes: args.max_processes.unwrap_or(defaults.max_processes),
    }
}

/// The health settings `add` was given, the defaults for the rest.
fn health(args: &AddArgs) -> Health {
    let defaults = Health::default();
    Health {
        startup_timeout_ms: args.startup_timeout.unwrap_or(defaults.startup_timeout_ms),
        ping_interval_ms: args.ping_interval.unwrap_or(defaults.ping_interval_ms),
        ping_timeout_ms: args.ping_timeout.unwrap_or(defaults.ping_timeout_ms),
        ping_retries: args.ping_retries.unwrap_or(defaults.ping_retries),
    }
}

fn absolute(path: &std::path::Path) -> Result<PathBuf, CliError> {
    std::path::absolute(path).map_err(|e| CliError::Usage(format!("cannot resolve {}: {e}", path.display())))
}

fn pairs(flag: &str, raw: &[String]) -> Result<BTreeMap<String, ValueSource>, CliError> {
    raw.iter()
        .map(|pair| match pair.split_once('=') {
            Some((key, value)) if !key.is_empty() => {
                Ok((key.to_owned(), ValueSource::Literal(value.to_owned())))
            }
            _ => Err(CliError::Usage(format!("{flag} takes KEY=VALUE, got `{pair}`"))),
        })
        .collect()
}

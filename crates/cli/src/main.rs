//! `switchboard`: the daemon (`switchboard daemon`) and the command line that drives it.
//!
//! Every command but `daemon` talks only to the daemon's control API, through [`client`].
//! Output is a table or a sentence for people, the API's JSON with `--json`. Exit codes:
//! 0 success, 1 failure, 2 bad usage or input, 3 daemon not running, 4 no such server.

mod connect;
mod registry;
mod render;
mod secrets;
mod tailnet;

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use switchboard::client::{self, CliError, Client};
use switchboard_model::api::{
    AddServer, AppClient, CallRecord, ClientChange, ConnectClient, DaemonStatus, DisconnectClient,
    ImportClients, ImportReport, IssueToken, IssuedToken, LogLine, RunRecord, SecretValues, ServerView,
    SignInCode, TokenView, UndoClients,
};
use switchboard_model::{
    DEFAULT_PORT, Health, Launch, RestartPolicy, ServerName, ServerSpec, ServerState, Sharing, Transport,
    ValueSource,
};

/// How long commands that start a server wait for it to settle, unless told otherwise.
pub(crate) const DEFAULT_WAIT_SECS: u64 = 60;

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard runs, supervises and shares your MCP servers."
)]
struct Cli {
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    json: bool,
    /// The daemon's port, if it is not the one recorded in the data directory.
    #[arg(long, global = true, env = "SWITCHBOARD_PORT", default_value_t = DEFAULT_PORT)]
    port: u16,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the daemon in the foreground: it owns the servers and serves the API and gateway.
    Daemon {
        /// Keep tool-call arguments and results in the history (off: only names, sizes, times).
        #[arg(long, env = "SWITCHBOARD_RECORD_PAYLOADS")]
        record_payloads: bool,
        /// End a gateway session after this long without requests or a listening client (and
        /// with it any process it had of its own).
        #[arg(long, value_name = "DURATION", value_parser = millis, default_value = "30m")]
        session_idle: u64,
        /// The MCP registry installs come from (a private one serves the same API).
        #[arg(long, value_name = "URL", env = "SWITCHBOARD_REGISTRY", default_value = switchboard_registry::client::OFFICIAL)]
        registry: String,
        /// Where secret values live: the OS keychain, or (an explicit opt-in for headless
        /// machines without one) `secrets.json` in the data directory, readable only by you.
        #[arg(long, value_name = "STORE", env = "SWITCHBOARD_SECRETS", default_value = "keychain", value_parser = ["keychain", "file"])]
        secrets: String,
        /// The port the tailnet listener opens on this node's Tailscale addresses, and looks
        /// for on peers.
        #[arg(long, value_name = "PORT", env = "SWITCHBOARD_TAILNET_PORT", default_value_t = switchboard_daemon::tailnet::DEFAULT_PORT)]
        tailnet_port: u16,
        /// The https URL where Switchboard's OAuth client metadata document is published (the
        /// daemon serves it at /oauth/client-metadata.json for that): Switchboard's client id
        /// at authorization servers that take such documents, instead of registering.
        #[arg(long, value_name = "URL", env = "SWITCHBOARD_OAUTH_CLIENT_METADATA_URL", value_parser = https_url)]
        oauth_client_metadata_url: Option<String>,
    },
    /// Be a stdio MCP server that reaches a server (or, with --all, every server) through the
    /// gateway. For clients that can only launch programs; reads SWITCHBOARD_TOKEN.
    Connect {
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        server: Option<String>,
        /// The aggregate of all enabled servers.
        #[arg(long)]
        all: bool,
    },
    /// See the AI clients on this machine and wire them to the gateway (default: list them).
    Clients {
        #[command(subcommand)]
        command: Option<ClientsCommand>,
    },
    /// Manage the tokens clients present to the gateway.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Show recent tool calls through the gateway.
    History {
        /// Only calls to this server.
        #[arg(long)]
        server: Option<String>,
        /// Only calls by this client.
        #[arg(long)]
        client: Option<String>,
        #[arg(short = 'n', long, default_value_t = 50)]
        limit: u32,
    },
    /// Show whether the daemon runs, and a count of servers.
    Status,
    /// Stop every server, then the daemon.
    Quit,
    /// Open the dashboard in your browser, signed in (the link works once, for a minute).
    Open {
        /// Print the link instead of starting a browser.
        #[arg(long)]
        no_browser: bool,
    },
    /// List servers with their state, tools and resource use.
    #[command(alias = "list")]
    Ls,
    /// Add a server: `add NAME -- COMMAND ARGS...`, `add NAME --url URL -- COMMAND...`, `add NAME --url URL`.
    Add(AddArgs),
    /// Stop and remove a server.
    #[command(alias = "remove")]
    Rm { name: String },
    /// Start a server now (its enabled setting is unchanged).
    Start(Target),
    /// Stop a server now; an enabled server comes back when the daemon restarts.
    Stop { name: String },
    /// Stop and start a server.
    Restart(Target),
    /// Start a server now and whenever the daemon starts.
    Enable(Target),
    /// Stop a server now and keep it stopped across daemon restarts.
    Disable { name: String },
    /// Show a server's stderr and the supervisor's notes about it.
    Logs {
        name: String,
        /// Keep printing new lines as they come.
        #[arg(short, long)]
        follow: bool,
        /// How many recent lines to show first.
        #[arg(short = 'n', long, default_value_t = 100)]
        lines: usize,
    },
    /// Show a server's recent runs: starts, restarts, readiness and exits.
    Runs {
        name: String,
        #[arg(short = 'n', long, default_value_t = 20)]
        limit: u32,
    },
    /// Search the MCP registry (served from the cached copy when it cannot be reached).
    Search {
        /// Part of a server's name, title or description; empty lists everything.
        #[arg(default_value = "")]
        term: String,
        /// Read the registry now, even if the cached copy is fresh.
        #[arg(long)]
        refresh: bool,
    },
    /// Show a registry server: description, versions, and each way to install it with its inputs.
    Info {
        /// `io.github.owner/server[@VERSION]`.
        name: String,
    },
    /// Install a server from the registry: fetch and pin its package, then add and start it.
    Install(registry::InstallArgs),
    /// Update servers installed from the registry, with a health check and rollback.
    Update(registry::UpdateArgs),
    /// Sign in to a remote server that uses OAuth: opens the sign-in page and waits for it.
    Login {
        name: String,
        /// Print the page's address instead of opening a browser.
        #[arg(long)]
        no_browser: bool,
        /// A client id you registered with the server's authorization server (redirect URI
        /// http://127.0.0.1/callback, any port); kept in the keychain for later logins.
        #[arg(long, value_name = "ID")]
        client_id: Option<String>,
        /// Read that client's secret from stdin (or a hidden prompt); it goes to the keychain.
        #[arg(long, requires = "client_id")]
        client_secret_stdin: bool,
    },
    /// Forget a remote server's OAuth tokens.
    Logout { name: String },
    /// Tailscale: this node's state, servers exposed on the tailnet, and peers' servers.
    #[command(subcommand)]
    Tailnet(tailnet::TailnetCommand),
    /// Manage a server's secret values, kept in the OS keychain.
    #[command(subcommand)]
    Secrets(secrets::SecretsCommand),
    /// Check the runtimes installs need (node, uv, docker…) and the registry.
    Doctor {
        /// Search for runtimes again (after installing one).
        #[arg(long)]
        refresh: bool,
    },
    #[command(name = "__watchdog", hide = true)]
    Watchdog { lock: PathBuf },
}

#[derive(Debug, Subcommand)]
enum ClientsCommand {
    /// List clients: installed, running, connected, and any drift in their files.
    Ls,
    /// Point a client at the gateway: one entry for every enabled server, or one per server.
    Connect {
        /// A client id from `switchboard clients`, e.g. claude-desktop, cursor, vscode.
        client: String,
        /// One entry per server named (comma-separated) instead of one for all.
        #[arg(long, value_delimiter = ',', conflicts_with = "all")]
        servers: Option<Vec<String>>,
        /// One entry reaching every enabled server (the default).
        #[arg(long)]
        all: bool,
        /// Overwrite Switchboard's entries even where you edited them.
        #[arg(long)]
        force: bool,
        /// Show the change as a diff; write nothing.
        #[arg(long)]
        dry_run: bool,
        /// Write the entries back whenever the client (or anyone) removes them.
        #[arg(long)]
        keep: bool,
    },
    /// Remove Switchboard's entries from a client (never your own).
    Disconnect {
        client: String,
        /// Remove them even where you edited them.
        #[arg(long)]
        force: bool,
        #[arg(long)]
        dry_run: bool,
    },
    /// Adopt the servers configured in clients (all, or those named) into Switchboard.
    Import {
        clients: Vec<String>,
        /// Then point each client's entry at the gateway instead.
        #[arg(long)]
        replace: bool,
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the last change Switchboard made to a client's files (or to any client's).
    Undo { client: Option<String> },
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Issue a token for a client; it is printed once and stored only as a hash.
    Create { client: String },
    /// List clients that hold a token.
    Ls,
    /// Revoke a client's token and end its sessions.
    Revoke { client: String },
}

#[derive(Debug, Args)]
struct Target {
    name: String,
    /// Return at once instead of waiting for the server to be running or to fail.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, Args)]
struct AddArgs {
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The watchdog must stay small and single-threaded: it runs before any runtime exists.
    if let Command::Watchdog { lock } = &cli.command {
        return match switchboard_daemon::supervisor::watchdog::run(lock) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn home() -> Result<PathBuf, CliError> {
    switchboard_daemon::paths::data_dir().map_err(|e| CliError::Other(e.to_string()))
}

async fn run(cli: Cli) -> Result<(), CliError> {
    let json = cli.json;
    let connect = || Client::connect(home()?, cli.port);
    match cli.command {
        Command::Daemon {
            record_payloads,
            session_idle,
            registry,
            secrets,
            tailnet_port,
            oauth_client_metadata_url,
        } => {
            let gateway = switchboard_daemon::gateway::GatewayConfig {
                record_payloads,
                session_idle: std::time::Duration::from_millis(session_idle),
            };
            let supervisor = switchboard_daemon::supervisor::SupervisorConfig {
                oauth_client_metadata_url,
                ..Default::default()
            };
            daemon(
                cli.port,
                gateway,
                supervisor,
                registry,
                secrets == "file",
                tailnet_port,
            )
            .await
        }
        Command::Connect { server, all: _ } => {
            let server = server.map(|s| parse_name(&s)).transpose()?;
            connect::run(home()?, cli.port, server.map(|s| s.to_string())).await
        }
        Command::Clients { command } => {
            clients(json, connect()?, command.unwrap_or(ClientsCommand::Ls)).await
        }
        Command::Token(command) => token(json, connect()?, command).await,
        Command::History {
            server,
            client,
            limit,
        } => {
            let mut query = format!("/history?limit={limit}");
            if let Some(server) = server {
                query.push_str(&format!("&server={}", parse_name(&server)?));
            }
            if let Some(client) = client {
                query.push_str(&format!("&client={}", encode_query(&client)));
            }
            let calls: Vec<CallRecord> = connect()?.get(&query).await?;
            if json {
                return print_json(&calls);
            }
            render::calls(&calls);
            Ok(())
        }
        Command::Search { term, refresh } => registry::search(json, connect()?, &term, refresh).await,
        Command::Info { name } => registry::info(json, connect()?, &name).await,
        Command::Install(args) => registry::install(json, connect()?, args).await,
        Command::Update(args) => registry::update(json, connect()?, args).await,
        Command::Secrets(command) => secrets::run(json, connect()?, command).await,
        Command::Tailnet(command) => tailnet::run(json, connect()?, command).await,
        Command::Login {
            name,
            no_browser,
            client_id,
            client_secret_stdin,
        } => {
            let client = secrets::LoginClient {
                client_id,
                secret_from_stdin: client_secret_stdin,
            };
            secrets::login(json, connect()?, &name, no_browser, client).await
        }
        Command::Logout { name } => {
            let name = parse_name(&name)?;
            let view: ServerView = connect()?.delete_json(&format!("/servers/{name}/login")).await?;
            if !json {
                println!("{name}: signed out");
            }
            report(json, &view)
        }
        Command::Doctor { refresh } => registry::doctor(json, connect()?, refresh).await,
        Command::Watchdog { .. } => Ok(()),
        Command::Quit => {
            connect()?.post_empty("/shutdown").await?;
            if !json {
                println!("the daemon is stopping its servers and exiting");
            }
            Ok(())
        }
        Command::Open { no_browser } => {
            let code: SignInCode = connect()?.post("/web/codes", None::<&()>).await?;
            if json {
                return print_json(&code);
            }
            if no_browser {
                println!("{}", code.url);
                return Ok(());
            }
            if !secrets::open_browser(&code.url) {
                return Err(CliError::Other(
                    "cannot start a browser here; run `switchboard open --no-browser` and open the link it prints".into(),
                ));
            }
            println!("opened the dashboard in your browser");
            Ok(())
        }
        Command::Status => {
            let status: DaemonStatus = connect()?.get("/status").await?;
            if json {
                return print_json(&status);
            }
            let c = status.servers;
            println!(
                "Switchboard daemon {} running, pid {}, on http://127.0.0.1:{}",
                status.version, status.pid, status.port
            );
            println!("data: {}", status.data_dir);
            println!(
                "servers: {} ({} running, {} failing)",
                c.total, c.running, c.failing
            );
            println!("gateway sessions: {}", status.sessions);
            let unwritten = &status.unwritten;
            if let Some(problem) = &unwritten.problem {
                println!("records not being written: {problem}");
            }
            if unwritten.calls_waiting + unwritten.calls_lost + unwritten.runs_lost > 0 {
                println!(
                    "unwritten records: {} tool calls waiting, {} tool calls lost, {} server runs lost",
                    unwritten.calls_waiting, unwritten.calls_lost, unwritten.runs_lost
                );
            }
            Ok(())
        }
        Command::Ls => {
            let servers: Vec<ServerView> = connect()?.get("/servers").await?;
            if json {
                return print_json(&servers);
            }
            render::servers(&servers);
            Ok(())
        }
        Command::Add(args) => {
            let no_wait = args.no_wait;
            let request = add_request(args)?;
            let name = request.spec.name.clone();
            let client = connect()?;
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
        Command::Rm { name } => {
            let name = parse_name(&name)?;
            connect()?.delete(&format!("/servers/{name}")).await?;
            if json {
                return print_json(&serde_json::json!({"removed": name}));
            }
            println!("{name}: removed");
            Ok(())
        }
        Command::Start(t) => act(json, connect()?, "start", t).await,
        Command::Restart(t) => act(json, connect()?, "restart", t).await,
        Command::Enable(t) => act(json, connect()?, "enable", t).await,
        Command::Stop { name } => act(json, connect()?, "stop", Target { name, no_wait: true }).await,
        Command::Disable { name } => act(json, connect()?, "disable", Target { name, no_wait: true }).await,
        Command::Logs { name, follow, lines } => {
            logs(json, connect()?, &parse_name(&name)?, follow, lines).await
        }
        Command::Runs { name, limit } => {
            let name = parse_name(&name)?;
            let runs: Vec<RunRecord> = connect()?
                .get(&format!("/servers/{name}/runs?limit={limit}"))
                .await?;
            if json {
                return print_json(&runs);
            }
            render::runs(&runs);
            Ok(())
        }
    }
}

async fn clients(json: bool, client: Client, command: ClientsCommand) -> Result<(), CliError> {
    let change = match command {
        ClientsCommand::Ls => {
            let clients: Vec<AppClient> = client.get("/clients").await?;
            if json {
                return print_json(&clients);
            }
            render::app_clients(&clients);
            return Ok(());
        }
        ClientsCommand::Connect {
            client: id,
            servers,
            all: _,
            force,
            dry_run,
            keep,
        } => {
            let request = ConnectClient {
                servers,
                force,
                dry_run,
                reapply: keep,
            };
            let path = format!("/clients/{}/connect", encode_query(&id));
            client.post::<ClientChange>(&path, Some(&request)).await?
        }
        ClientsCommand::Disconnect {
            client: id,
            force,
            dry_run,
        } => {
            let path = format!("/clients/{}/disconnect", encode_query(&id));
            client
                .post::<ClientChange>(&path, Some(&DisconnectClient { force, dry_run }))
                .await?
        }
        ClientsCommand::Import {
            clients,
            replace,
            dry_run,
        } => {
            let request = ImportClients {
                clients,
                replace,
                dry_run,
            };
            let report: ImportReport = client.post("/clients/import", Some(&request)).await?;
            if json {
                return print_json(&report);
            }
            render::import(&report);
            return Ok(());
        }
        ClientsCommand::Undo { client: id } => {
            client
                .post::<ClientChange>("/clients/undo", Some(&UndoClients { client: id }))
                .await?
        }
    };
    if json {
        return print_json(&change);
    }
    render::client_change(&change);
    Ok(())
}

async fn token(json: bool, client: Client, command: TokenCommand) -> Result<(), CliError> {
    match command {
        TokenCommand::Create { client: name } => {
            let issued: IssuedToken = client.post("/tokens", Some(&IssueToken { name })).await?;
            if json {
                return print_json(&issued);
            }
            eprintln!(
                "Token for {} (shown once; keep it in that client's config):",
                issued.name
            );
            println!("{}", issued.token);
            Ok(())
        }
        TokenCommand::Ls => {
            let clients: Vec<TokenView> = client.get("/tokens").await?;
            if json {
                return print_json(&clients);
            }
            render::tokens(&clients);
            Ok(())
        }
        TokenCommand::Revoke { client: name } => {
            client.delete(&format!("/tokens/{}", encode_query(&name))).await?;
            if json {
                return print_json(&serde_json::json!({"revoked": name}));
            }
            println!("{name}: token revoked");
            Ok(())
        }
    }
}

/// Client names are restricted to URL-safe characters; anything else is escaped anyway.
pub(crate) fn encode_query(raw: &str) -> String {
    raw.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'.' | b'_' | b'-' => char::from(b).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

async fn daemon(
    port: u16,
    gateway: switchboard_daemon::gateway::GatewayConfig,
    supervisor: switchboard_daemon::supervisor::SupervisorConfig,
    registry: String,
    secrets_in_file: bool,
    tailnet_port: u16,
) -> Result<(), CliError> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SWITCHBOARD_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let config = switchboard_daemon::daemon::DaemonConfig {
        data_dir: home()?,
        port,
        program: std::env::current_exe()
            .map_err(|e| CliError::Other(format!("cannot find the switchboard binary itself: {e}")))?,
        supervisor,
        gateway,
        registry,
        secrets_in_file,
        tailnet_port,
    };
    switchboard_daemon::daemon::run(config, shutdown_signal())
        .await
        .map_err(|e| CliError::Other(e.to_string()))
}

/// Completes on SIGTERM or SIGINT. The handlers are installed when this is called, before the
/// daemon starts, so a signal during start-up is not the default action (death without
/// cleanup, leaving `daemon.json` behind) but a clean stop once start-up is done.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).ok();
    let mut interrupt = signal(SignalKind::interrupt()).ok();
    async move {
        tokio::select! {
            _ = received(term.as_mut()) => {}
            _ = received(interrupt.as_mut()) => {}
        }
    }
}

/// The next delivery of `signal`, or never if it could not be watched.
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

async fn act(json: bool, client: Client, verb: &str, target: Target) -> Result<(), CliError> {
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

/// Prints where the server stands; a server that ended up failed makes the command fail.
pub(crate) fn report(json: bool, view: &ServerView) -> Result<(), CliError> {
    if json {
        print_json(view)?;
    } else {
        println!("{}", render::summary(view));
    }
    match view.status {
        ServerState::Failed { .. } | ServerState::CrashLooping { .. } if !json => Err(
            CliError::ServerFailed(format!("{} is not running", view.spec.name)),
        ),
        ServerState::Failed { .. } | ServerState::CrashLooping { .. } => {
            Err(CliError::ServerFailed(String::new()))
        }
        _ => Ok(()),
    }
}

async fn logs(
    json: bool,
    client: Client,
    name: &ServerName,
    follow: bool,
    lines: usize,
) -> Result<(), CliError> {
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

/// The env vars (headers) of `request` whose values the daemon keeps in the keychain.
fn kept_in_keychain(request: &AddServer) -> Vec<String> {
    let values = match &request.spec.transport {
        Transport::Stdio(launch) | Transport::LocalHttp { launch, .. } => &launch.env,
        Transport::RemoteHttp { headers, .. } => headers,
    };
    let named = values.iter().filter_map(|(name, value)| {
        let literal = matches!(value, ValueSource::Literal(_));
        (literal && switchboard_daemon::secrets::looks_like_credential(name)).then_some(name)
    });
    let mut kept: Vec<String> = named.chain(request.secrets.0.keys()).cloned().collect();
    kept.sort();
    kept.dedup();
    kept
}

fn add_request(args: AddArgs) -> Result<AddServer, CliError> {
    let name = parse_name(&args.name)?;
    let env = pairs("--env", &args.env)?;
    let headers = pairs("--header", &args.headers)?;
    // The daemon runs elsewhere: paths relative to this shell must be made absolute here.
    let cwd = args.cwd.as_deref().map(absolute).transpose()?;
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
    let defaults = Health::default();
    let health = Health {
        startup_timeout_ms: args.startup_timeout.unwrap_or(defaults.startup_timeout_ms),
        ping_interval_ms: args.ping_interval.unwrap_or(defaults.ping_interval_ms),
        ping_timeout_ms: args.ping_timeout.unwrap_or(defaults.ping_timeout_ms),
        ping_retries: args.ping_retries.unwrap_or(defaults.ping_retries),
    };
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

/// A duration for a flag, in milliseconds: `250ms`, `30s`, `2m`, or a bare number of seconds.
/// A client id metadata document's URL: https, as authorization servers require of client ids.
fn https_url(raw: &str) -> Result<String, String> {
    match switchboard_daemon::oauth::discovery::is_https(raw) {
        true => Ok(raw.to_owned()),
        false => Err(format!(
            "`{raw}` is not an https URL; a client id document must be served over https"
        )),
    }
}

fn millis(raw: &str) -> Result<u64, String> {
    let raw = raw.trim();
    let split = raw.find(|c: char| !c.is_ascii_digit()).unwrap_or(raw.len());
    let (number, unit) = raw.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{raw}` is not a duration; write e.g. 500ms, 30s or 2m"))?;
    let scale = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1000,
        "m" => 60_000,
        other => return Err(format!("unknown unit `{other}`; use ms, s or m")),
    };
    number
        .checked_mul(scale)
        .ok_or_else(|| format!("`{raw}` is too long"))
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

pub(crate) fn parse_name(raw: &str) -> Result<ServerName, CliError> {
    ServerName::new(raw).map_err(|e| CliError::Usage(e.to_string()))
}

pub(crate) fn print_json(value: &impl serde::Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::Other(e.to_string()))?;
    println!("{text}");
    Ok(())
}

/// A note on stderr while a long request runs, only when a person is watching.
pub(crate) fn progress(waiting: bool, message: &str) {
    if waiting && std::io::stderr().is_terminal() {
        eprintln!("{message}");
    }
}

#[cfg(test)]
mod tests {
    use super::millis;

    #[test]
    fn durations_table() {
        for (raw, ms) in [
            ("250ms", 250),
            ("30s", 30_000),
            ("30", 30_000),
            ("2m", 120_000),
            (" 5s ", 5000),
        ] {
            assert_eq!(millis(raw), Ok(ms), "{raw}");
        }
        for raw in ["", "s", "1h", "-1s", "1.5s", "99999999999999999999s"] {
            assert!(millis(raw).is_err(), "{raw} should be refused");
        }
    }
}

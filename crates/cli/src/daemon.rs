//! `switchboard daemon`, which runs the daemon in the foreground, and the commands about the
//! running daemon itself: `status`, `pause` and `resume` (every server), `open` (the
//! dashboard, signed in) and `quit`.
//!
//! The daemon is `switchboard_daemon`'s; this module only turns flags into its configuration
//! and SIGTERM/SIGINT into its shutdown. The watchdog is a program of its own
//! (`src/bin/watchdog.rs`).

use clap::Args;
use switchboard_model::ServerState;
use switchboard_model::api::{DaemonStatus, PauseState, ServerView, SignInCode};

use crate::client::{CliError, Client};
use crate::flags::millis;
use crate::{DEFAULT_WAIT_SECS, home, print_json, progress, render, secrets};

// No doc comment: the `daemon` variant's own is the command's help.
#[derive(Debug, Args)]
pub struct DaemonArgs {
    /// Keep tool-call arguments and results in the history (off: only names, sizes, times).
    #[arg(long, env = "SWITCHBOARD_RECORD_PAYLOADS")]
    record_payloads: bool,
    /// End a gateway session after this long without requests or a listening client (and
    /// with it any process it had of its own).
    #[arg(long, value_name = "DURATION", value_parser = millis, default_value = "30m")]
    session_idle: u64,
    /// How long a 2026-07-28 client's call waits for its answers to the server's questions
    /// (each round of a multi round-trip request) before it is ended.
    #[arg(long, value_name = "DURATION", value_parser = millis, default_value = "10m")]
    input_wait: u64,
    /// What the tools a client is offered may cost its model's context, in tokens, before it
    /// is warned (a client's own budget, `switchboard token budget`, overrides it).
    #[arg(long, value_name = "TOKENS", env = "SWITCHBOARD_TOOL_BUDGET", default_value_t = switchboard_model::api::DEFAULT_TOOL_BUDGET)]
    tool_budget: u64,
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
    /// How many servers may be starting at once (a wake, a restart, the daemon's own start):
    /// more wait their turn, so twenty servers do not all start on two cores together.
    #[arg(long, value_name = "N", env = "SWITCHBOARD_MAX_STARTS", default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..))]
    max_starts: u32,
}

/// Runs the daemon on `port` until SIGTERM or SIGINT.
pub async fn run(port: u16, args: DaemonArgs) -> Result<(), CliError> {
    let gateway = switchboard_gateway::GatewayConfig {
        record_payloads: args.record_payloads,
        session_idle: std::time::Duration::from_millis(args.session_idle),
        input_wait: std::time::Duration::from_millis(args.input_wait),
        tool_budget: args.tool_budget,
    };
    let supervisor = switchboard_supervisor::SupervisorConfig {
        oauth_client_metadata_url: args.oauth_client_metadata_url,
        max_starts: args.max_starts as usize,
        ..Default::default()
    };
    daemon(
        port,
        gateway,
        supervisor,
        args.registry,
        args.secrets == "file",
        args.tailnet_port,
    )
    .await
}

async fn daemon(
    port: u16,
    gateway: switchboard_gateway::GatewayConfig,
    supervisor: switchboard_supervisor::SupervisorConfig,
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
        .map_err(|e| match e {
            switchboard_daemon::daemon::DaemonError::AlreadyRunning { .. } => {
                CliError::AlreadyRunning(e.to_string())
            }
            e => CliError::Other(e.to_string()),
        })
}

/// Completes on SIGTERM or SIGINT. The handlers are installed when this is called, before the
/// daemon starts, so a signal during start-up is not the default action (death without
/// cleanup, leaving `daemon.json` behind) but a clean stop once start-up is done.
#[cfg(unix)]
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
#[cfg(unix)]
async fn received(signal: Option<&mut tokio::signal::unix::Signal>) {
    match signal {
        Some(signal) => {
            signal.recv().await;
        }
        None => std::future::pending().await,
    }
}

/// Completes on Ctrl-C, Ctrl-Break or the console closing: Windows' SIGINT and SIGTERM,
/// installed before the daemon starts for the same reason as on Unix.
#[cfg(windows)]
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::windows::{ctrl_break, ctrl_c, ctrl_close};
    let mut interrupt = ctrl_c().ok();
    let mut brk = ctrl_break().ok();
    let mut close = ctrl_close().ok();
    async move {
        tokio::select! {
            () = delivered(interrupt.as_mut().map(|s| s.recv())) => {}
            () = delivered(brk.as_mut().map(|s| s.recv())) => {}
            () = delivered(close.as_mut().map(|s| s.recv())) => {}
        }
    }
}

/// The next delivery of a console event, or never if it could not be watched.
#[cfg(windows)]
async fn delivered(next: Option<impl Future<Output = Option<()>>>) {
    match next {
        Some(next) => {
            next.await;
        }
        None => std::future::pending().await,
    }
}

pub async fn status(json: bool, client: Client) -> Result<(), CliError> {
    let status: DaemonStatus = client.get("/status").await?;
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
    if status.paused {
        println!("paused: no server starts until `switchboard resume`");
    }
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

pub async fn open(json: bool, client: Client, no_browser: bool) -> Result<(), CliError> {
    let code: SignInCode = client.post("/web/codes", None::<&()>).await?;
    if json {
        return print_json(&code);
    }
    if no_browser {
        println!("{}", code.url);
        return Ok(());
    }
    if !secrets::open_browser(&code.url) {
        return Err(CliError::Other(
            "cannot start a browser here; run `switchboard open --no-browser` and open the link it prints"
                .into(),
        ));
    }
    println!("opened the dashboard in your browser");
    Ok(())
}

pub async fn pause(json: bool, client: Client) -> Result<(), CliError> {
    let state: PauseState = client.post("/pause", None::<&()>).await?;
    if json {
        return print_json(&state);
    }
    match state.servers.as_slice() {
        [] => println!("paused: no server was running"),
        stopped => println!("paused: stopped {}", names(stopped)),
    }
    println!("nothing starts until `switchboard resume`");
    Ok(())
}

/// Ends a pause and, unless `no_wait`, waits for the servers it started; one that ended up
/// failed makes the command fail, as `start` does.
pub async fn resume(json: bool, client: Client, no_wait: bool) -> Result<(), CliError> {
    progress(!no_wait, "resume: waiting for the servers to settle…");
    let path = match no_wait {
        true => "/resume".to_owned(),
        false => format!("/resume?wait={DEFAULT_WAIT_SECS}"),
    };
    let state: PauseState = client.post(&path, None::<&()>).await?;
    let servers: Vec<ServerView> = client.get("/servers").await?;
    let started: Vec<&ServerView> = servers
        .iter()
        .filter(|view| state.servers.contains(&view.spec.name))
        .collect();
    if json {
        print_json(&state)?;
    } else if started.is_empty() {
        println!("resumed: no server is enabled");
    } else {
        println!("resumed: started {}", names(&state.servers));
        for view in &started {
            println!("{}", render::summary(view));
        }
    }
    let failed: Vec<String> = started
        .iter()
        .filter(|view| {
            matches!(
                view.status,
                ServerState::Failed { .. } | ServerState::CrashLooping { .. }
            )
        })
        .map(|view| view.spec.name.to_string())
        .collect();
    match failed.as_slice() {
        [] => Ok(()),
        _ if json => Err(CliError::ServerFailed(String::new())),
        _ => Err(CliError::ServerFailed(format!(
            "not running: {}",
            failed.join(", ")
        ))),
    }
}

fn names(servers: &[switchboard_model::ServerName]) -> String {
    servers
        .iter()
        .map(|name| name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

pub async fn quit(json: bool, client: Client) -> Result<(), CliError> {
    client.post_empty("/shutdown").await?;
    if !json {
        println!("the daemon is stopping its servers and exiting");
    }
    Ok(())
}

/// A client id metadata document's URL: https, as authorization servers require of client ids.
fn https_url(raw: &str) -> Result<String, String> {
    match switchboard_credentials::oauth::discovery::is_https(raw) {
        true => Ok(raw.to_owned()),
        false => Err(format!(
            "`{raw}` is not an https URL; a client id document must be served over https"
        )),
    }
}

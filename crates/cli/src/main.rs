//! `switchboard`: the daemon (`switchboard daemon`) and the command line that drives it.
//!
//! Every command but `daemon` talks only to the daemon's control API, through [`client`].
//! Output is a table or a sentence for people, the API's JSON with `--json`. Exit codes:
//! 0 success, 1 failure, 2 bad usage or input, 3 daemon not running, 4 no such server, 5
//! another daemon already runs for this data directory.
//!
//! This file is the entry point, the dispatcher and the helpers every command shares; the
//! grammar is in [`cli`], and each command's work in its module.

mod cli;
mod clients;
mod connect;
mod daemon;
mod flags;
mod profiles;
mod quarantine;
mod registry;
mod render;
mod secrets;
mod servers;
mod service;
mod tailnet;
mod tokens;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use switchboard_client::{self as client, CliError, Client};
use switchboard_model::api::ServerView;
use switchboard_model::{ServerName, ServerState};

use cli::{Cli, Command};
use clients::ClientsCommand;
use servers::Target;

/// How long commands that start a server wait for it to settle, unless told otherwise.
pub(crate) const DEFAULT_WAIT_SECS: u64 = 60;

fn main() -> ExitCode {
    let cli = Cli::parse();
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

pub(crate) fn home() -> Result<PathBuf, CliError> {
    switchboard_local::paths::data_dir().map_err(|e| CliError::Other(e.to_string()))
}

/// Hands each command to its module. Commands that check a server's name (or read `add`'s
/// secrets) before reaching the daemon do it here, so which comes first stays visible: those
/// fail as bad usage (2) even when no daemon runs.
async fn run(cli: Cli) -> Result<(), CliError> {
    let json = cli.json;
    let connect = || Client::connect(home()?, cli.port);
    match cli.command {
        Command::Daemon(args) => daemon::run(cli.port, args).await,
        Command::Connect { server, all: _ } => {
            let server = server.map(|s| parse_name(&s)).transpose()?;
            connect::run(home()?, cli.port, server.map(|s| s.to_string())).await
        }
        Command::Clients { command } => {
            clients::run(json, connect()?, command.unwrap_or(ClientsCommand::Ls)).await
        }
        Command::Token(command) => tokens::run(json, connect()?, command).await,
        Command::Profile(command) => profiles::run(json, connect()?, command).await,
        Command::Quarantine(command) => quarantine::run(json, connect()?, command).await,
        Command::History {
            server,
            client,
            limit,
        } => {
            let query = servers::history_query(server.as_deref(), client.as_deref(), limit)?;
            servers::history(json, connect()?, &query).await
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
            servers::logout(json, connect()?, &name).await
        }
        Command::Doctor { refresh } => registry::doctor(json, connect()?, refresh).await,
        Command::Quit => daemon::quit(json, connect()?).await,
        Command::Service(command) => service::run(json, cli.port, command).await,
        Command::Open { no_browser } => daemon::open(json, connect()?, no_browser).await,
        Command::Status => daemon::status(json, connect()?).await,
        Command::Pause => daemon::pause(json, connect()?).await,
        Command::Resume { no_wait } => daemon::resume(json, connect()?, no_wait).await,
        Command::Ls => servers::ls(json, connect()?).await,
        Command::Add(args) => {
            let no_wait = args.no_wait();
            let request = servers::add_request(args)?;
            servers::add(json, connect()?, request, no_wait).await
        }
        Command::Rm { name } => {
            let name = parse_name(&name)?;
            servers::rm(json, connect()?, &name).await
        }
        Command::Start(t) => servers::act(json, connect()?, "start", t).await,
        Command::Restart(t) => servers::act(json, connect()?, "restart", t).await,
        Command::Mode(args) => servers::mode(json, connect()?, args).await,
        Command::Enable(t) => servers::act(json, connect()?, "enable", t).await,
        Command::Stop { name } => servers::act(json, connect()?, "stop", Target::at_once(name)).await,
        Command::Disable { name } => servers::act(json, connect()?, "disable", Target::at_once(name)).await,
        Command::Logs { name, follow, lines } => servers::logs(json, connect()?, &name, follow, lines).await,
        Command::Tools { name } => servers::tools(json, connect()?, &parse_name(&name)?).await,
        Command::Runs { name, limit } => {
            let name = parse_name(&name)?;
            servers::runs(json, connect()?, &name, limit).await
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

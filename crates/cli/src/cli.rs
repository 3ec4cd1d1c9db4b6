//! The command line's grammar: [`Cli`] and its [`Command`]s, as clap parses them, and the
//! value parsers flags share.
//!
//! What each command does is not here: `main::run` hands each one to its module. Command groups
//! with subcommands or many flags keep those beside their code (`servers::AddArgs`,
//! `clients::ClientsCommand`, `tailnet::TailnetCommand`...).

use clap::{Parser, Subcommand};
use switchboard_model::DEFAULT_PORT;

use crate::clients::ClientsCommand;
use crate::daemon::DaemonArgs;
use crate::profiles::ProfileCommand;
use crate::quarantine::QuarantineArgs;
use crate::servers::{AddArgs, ModeArgs, Target};
use crate::service::ServiceCommand;
use crate::tokens::TokenCommand;
use crate::{registry, secrets, tailnet};

#[derive(Debug, Parser)]
#[command(
    name = "switchboard",
    version,
    about = "Switchboard runs, supervises and shares your MCP servers."
)]
pub struct Cli {
    /// Print the API's JSON instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The daemon's port, if it is not the one recorded in the data directory.
    #[arg(long, global = true, env = "SWITCHBOARD_PORT", default_value_t = DEFAULT_PORT)]
    pub port: u16,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon in the foreground: it owns the servers and serves the API and gateway.
    Daemon(DaemonArgs),
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
    /// Choose what each client is offered: named sets of servers and of their tools.
    #[command(subcommand)]
    Profile(ProfileCommand),
    /// Review tools held back from clients until approved: new tools, and definitions that
    /// changed since they were approved (default: list them, with what changed).
    Quarantine(QuarantineArgs),
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
    /// Keep the daemon running as a service of this OS, started at login (or boot).
    #[command(subcommand)]
    Service(ServiceCommand),
    /// Stop every server and keep them stopped, across daemon restarts, until `resume`
    /// (whether each is enabled is unchanged).
    Pause,
    /// End a pause: start every enabled server again.
    Resume {
        /// Return at once instead of waiting for the servers to be running or to fail.
        #[arg(long)]
        no_wait: bool,
    },
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
    /// Choose when a server runs: always, or on-demand (asleep until a call needs it), and its
    /// idle time and process limit.
    Mode(ModeArgs),
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
    /// List a running server's tools and what each costs a model's context, in tokens.
    Tools { name: String },
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
}

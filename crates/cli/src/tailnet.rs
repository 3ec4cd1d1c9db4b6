//! `switchboard tailnet`: Tailscale's state, servers exposed on the tailnet, and peers' servers.
//!
//! Everything is the daemon's; these commands only call the control API and print.

use clap::Subcommand;
use switchboard_model::api::{
    AddRemote, EnableHttps, Expose, Exposure, ServerView, TailnetPeer, TailnetStatus,
};

use crate::client::{CliError, Client};
use crate::{DEFAULT_WAIT_SECS, parse_name, print_json, progress, render, report};

#[derive(Debug, Subcommand)]
pub enum TailnetCommand {
    /// Whether Tailscale runs and is logged in, this node's name and addresses, and what is
    /// exposed where.
    Status,
    /// Let your other devices (and whoever --to names) reach a server over the tailnet.
    Expose {
        name: String,
        /// Tailnet users (alice@example.com) and tags (tag:server) who may reach it besides
        /// you, comma-separated; the list replaces any earlier one.
        #[arg(long, value_delimiter = ',', value_name = "USER|TAG,…")]
        to: Vec<String>,
    },
    /// Take a server off the tailnet.
    Unexpose { name: String },
    /// Tailnet peers that run Switchboard, and the servers each offers you.
    Peers,
    /// Offer the exposed servers over HTTPS at this node's MagicDNS name, through Tailscale
    /// Serve (never Funnel), or stop.
    Https {
        #[arg(value_parser = ["on", "off"])]
        state: String,
        /// The port of this node's name to serve on (with `on`).
        #[arg(value_name = "PORT", default_value_t = 443)]
        serve_port: u16,
    },
    /// Use a peer's servers here.
    #[command(subcommand)]
    Remote(RemoteCommand),
}

#[derive(Debug, Subcommand)]
pub enum RemoteCommand {
    /// Add a server a peer offers you, as PEER/SERVER (see `switchboard tailnet peers`).
    Add {
        #[arg(value_name = "PEER/SERVER")]
        target: String,
        /// The name here (default: the peer's).
        #[arg(long = "as", value_name = "NAME")]
        as_name: Option<String>,
        /// Return without waiting for it to be running.
        #[arg(long)]
        no_wait: bool,
    },
}

pub async fn run(json: bool, client: Client, command: TailnetCommand) -> Result<(), CliError> {
    match command {
        TailnetCommand::Status => {
            let status: TailnetStatus = client.get("/tailnet").await?;
            if json {
                return print_json(&status);
            }
            render::tailnet(&status);
            Ok(())
        }
        TailnetCommand::Expose { name, to } => {
            let name = parse_name(&name)?;
            let exposure: Exposure = client
                .put(&format!("/servers/{name}/exposure"), &Expose { to })
                .await?;
            if json {
                return print_json(&exposure);
            }
            println!(
                "{name} is exposed on the tailnet to {}",
                render::audience(&exposure)
            );
            Ok(())
        }
        TailnetCommand::Unexpose { name } => {
            let name = parse_name(&name)?;
            client.delete(&format!("/servers/{name}/exposure")).await?;
            if json {
                return print_json(&serde_json::json!({"server": name, "exposed": false}));
            }
            println!("{name} is no longer exposed on the tailnet");
            Ok(())
        }
        TailnetCommand::Peers => {
            progress(!json, "Asking tailnet peers what they offer…");
            let peers: Vec<TailnetPeer> = client.get("/tailnet/peers").await?;
            if json {
                return print_json(&peers);
            }
            render::peers(&peers);
            Ok(())
        }
        TailnetCommand::Https { state, serve_port } => https(json, client, &state, serve_port).await,
        TailnetCommand::Remote(RemoteCommand::Add {
            target,
            as_name,
            no_wait,
        }) => add_remote(json, client, &target, as_name.as_deref(), no_wait).await,
    }
}

/// `tailnet https on|off`: Serve on this node's name on `serve_port`, or stop.
async fn https(json: bool, client: Client, state: &str, serve_port: u16) -> Result<(), CliError> {
    let status: TailnetStatus = if state == "on" {
        client
            .put("/tailnet/https", &EnableHttps { port: serve_port })
            .await?
    } else {
        client.delete_json("/tailnet/https").await?
    };
    if json {
        return print_json(&status);
    }
    match &status.https {
        Some(url) => println!("exposed servers are served at {url}/mcp/<server>"),
        None => println!("exposed servers are not served over HTTPS"),
    }
    Ok(())
}

/// `tailnet remote add PEER/SERVER`: the peer's server added here, then where it stands.
async fn add_remote(
    json: bool,
    client: Client,
    target: &str,
    as_name: Option<&str>,
    no_wait: bool,
) -> Result<(), CliError> {
    let Some((peer, server)) = target.split_once('/') else {
        return Err(CliError::Usage(format!(
            "give the server as PEER/SERVER, like homebox/time; got `{target}`"
        )));
    };
    let request = AddRemote {
        peer: peer.to_owned(),
        server: parse_name(server)?,
        name: as_name.map(parse_name).transpose()?,
    };
    progress(
        !no_wait,
        &format!("Adding {target}: waiting for it to be running…"),
    );
    let wait = if no_wait {
        String::new()
    } else {
        format!("?wait={DEFAULT_WAIT_SECS}")
    };
    let view: ServerView = client
        .post(&format!("/tailnet/remotes{wait}"), Some(&request))
        .await?;
    report(json, &view)
}

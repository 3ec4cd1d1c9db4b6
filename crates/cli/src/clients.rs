//! `switchboard clients`: the AI clients on this machine, wiring them to the gateway, adopting
//! the servers they configure, and undoing Switchboard's changes to their files.
//!
//! Everything is the daemon's (finding clients, editing their files, the journal); these
//! commands only call the control API and print. Tokens clients present are in [`crate::tokens`].

use clap::Subcommand;
use switchboard_model::api::{
    AppClient, ClientChange, ConnectClient, DisconnectClient, ImportClients, ImportReport, ProfileView,
    SetUpClients, SetUpReport, UndoClients, UseProfile,
};

use crate::client::{CliError, Client};
use crate::{encode_query, print_json, render};

#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
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
        /// Offer the client only what this profile offers (`switchboard profile ls`).
        #[arg(long)]
        profile: Option<String>,
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
    /// Route the clients found here (or those named) through Switchboard: adopt the servers
    /// in their files and give each one entry for all servers in place of its own.
    Setup {
        clients: Vec<String>,
        /// Show what would be adopted and each file's diff; change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the last change Switchboard made to a client's files (or to any client's).
    Undo { client: Option<String> },
}

pub async fn run(json: bool, client: Client, command: ClientsCommand) -> Result<(), CliError> {
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
            profile,
        } => {
            match &profile {
                // Chosen first, so the client is never served without it; a profile that does
                // not exist is refused before the client's file changes.
                Some(_) if !dry_run => {
                    let path = format!("/tokens/{}/profile", encode_query(&id));
                    client.put::<UseProfile>(&path, &UseProfile { profile }).await?;
                }
                Some(profile) => {
                    client
                        .get::<ProfileView>(&format!("/profiles/{}", encode_query(profile)))
                        .await?;
                }
                None => {}
            }
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
        ClientsCommand::Setup { clients, dry_run } => {
            let request = SetUpClients { clients, dry_run };
            let report: SetUpReport = client.post("/clients/setup", Some(&request)).await?;
            if json {
                return print_json(&report);
            }
            render::set_up(report);
            return Ok(());
        }
        ClientsCommand::Undo { client: id } => {
            client
                .post::<ClientChange>(
                    "/clients/undo",
                    Some(&UndoClients {
                        client: id,
                        operation: None,
                    }),
                )
                .await?
        }
    };
    if json {
        return print_json(&change);
    }
    render::client_change(&change);
    Ok(())
}

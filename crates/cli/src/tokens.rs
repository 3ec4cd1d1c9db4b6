//! `switchboard token`: the tokens clients present to the gateway.
//!
//! The daemon issues, stores (as hashes) and revokes them; these commands only call the
//! control API and print. A token is printed once, when it is issued.

use clap::Subcommand;
use switchboard_model::api::{IssueToken, IssuedToken, TokenView};

use crate::client::{CliError, Client};
use crate::{encode_query, print_json, render};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for a client; it is printed once and stored only as a hash.
    Create { client: String },
    /// List clients that hold a token.
    Ls,
    /// Revoke a client's token and end its sessions.
    Revoke { client: String },
}

pub async fn run(json: bool, client: Client, command: TokenCommand) -> Result<(), CliError> {
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

//! `switchboard token`: the tokens clients present to the gateway.
//!
//! The daemon issues, stores (as hashes) and revokes them; these commands only call the
//! control API and print. A token is printed once, when it is issued.

use clap::Subcommand;
use switchboard_model::api::{IssueToken, IssuedToken, TokenView, UseBudget};

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
    /// Give a client its own budget for what its tools may cost a model's context, in
    /// tokens (`--default`: the daemon's, `daemon --tool-budget`).
    Budget {
        client: String,
        #[arg(required_unless_present = "default", conflicts_with = "default")]
        tokens: Option<u64>,
        #[arg(long)]
        default: bool,
    },
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
        TokenCommand::Budget {
            client: name,
            tokens,
            default: _,
        } => {
            let path = format!("/tokens/{}/budget", encode_query(&name));
            let set: UseBudget = client.put(&path, &UseBudget { tokens }).await?;
            if json {
                return print_json(&set);
            }
            match set.tokens {
                Some(tokens) => println!("{name}: a budget of {tokens} tokens for its tools"),
                None => println!("{name}: the daemon's budget for its tools"),
            }
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

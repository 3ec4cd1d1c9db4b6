//! `switchboard quarantine`: the tool definitions held back from clients until approved.
//!
//! The gateway screens every tool list and holds back what changed; these commands list what
//! is held with what changed (a line diff of the definitions), approve it, and choose which
//! servers trust their updates. They only call the control API and print.

use clap::{Args, Subcommand};
use switchboard_model::api::{ApproveTools, ApprovedTools, HeldTool, QuarantineView, TrustUpdates};

use crate::client::{CliError, Client};
use crate::{encode_query, parse_name, print_json};

#[derive(Debug, Args)]
pub struct QuarantineArgs {
    #[command(subcommand)]
    command: Option<QuarantineCommand>,
}

#[derive(Debug, Subcommand)]
enum QuarantineCommand {
    /// List held tools, each with what changed since it was approved.
    Ls,
    /// Approve held tools of a server (none named: all of them); clients get them at once.
    Approve { server: String, tools: Vec<String> },
    /// Approve a server's new and changed tools as they come (`off`: hold them again).
    Trust {
        server: String,
        #[arg(value_parser = ["on", "off"])]
        mode: String,
    },
}

pub async fn run(json: bool, client: Client, args: QuarantineArgs) -> Result<(), CliError> {
    let (server, approved) = match args.command.unwrap_or(QuarantineCommand::Ls) {
        QuarantineCommand::Ls => {
            let view: QuarantineView = client.get("/quarantine").await?;
            if json {
                return print_json(&view);
            }
            print_view(&view);
            return Ok(());
        }
        QuarantineCommand::Approve { server, tools } => {
            let server = parse_name(&server)?;
            let path = format!("/quarantine/{}/approve", encode_query(server.as_str()));
            let approved: ApprovedTools = client.post(&path, Some(&ApproveTools { tools })).await?;
            (server, approved)
        }
        QuarantineCommand::Trust { server, mode } => {
            let server = parse_name(&server)?;
            let path = format!("/quarantine/{}/trust", encode_query(server.as_str()));
            let trust = TrustUpdates { trust: mode == "on" };
            let approved: ApprovedTools = client.put(&path, &trust).await?;
            if !json {
                println!(
                    "{server}: {}",
                    match trust.trust {
                        true => "its new and changed tools are approved as they come",
                        false => "its new and changed tools are held until approved",
                    }
                );
            }
            (server, approved)
        }
    };
    if json {
        return print_json(&approved);
    }
    match approved.approved.is_empty() {
        true => println!("{server}: nothing was held"),
        false => println!("{server}: approved {}", approved.approved.join(", ")),
    }
    Ok(())
}

fn print_view(view: &QuarantineView) {
    if view.held.is_empty() {
        println!("No tool is held: clients get every tool as it was approved.");
    }
    for held in &view.held {
        print_held(held);
    }
    if !view.held.is_empty() {
        println!("Approve with `switchboard quarantine approve SERVER [TOOL...]`.");
    }
    if !view.trusted.is_empty() {
        let trusted: Vec<&str> = view.trusted.iter().map(|s| s.as_str()).collect();
        println!("Trusting their updates: {}", trusted.join(", "));
    }
}

/// One held tool, new or changed, with what changed.
fn print_held(held: &HeldTool) {
    let what = match held.approved {
        Some(_) => "changed since it was approved (clients get the approved one)",
        None => "new, not yet approved",
    };
    println!("{} {}: {what}", held.server, held.tool);
    print!("{}", held.diff);
}

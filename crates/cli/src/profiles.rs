//! `switchboard profile`: named sets of servers, and of their tools, prompts and resources,
//! that gateway clients are offered.
//!
//! The daemon keeps and applies them; these commands only call the control API and print.
//! Choosing a client's profile as it is connected is `clients connect --profile`.

use clap::{Args, Subcommand};
use switchboard_model::ServerName;
use switchboard_model::api::{Hints, Offer, Profile, ProfileView, Selection, ToolOverride, UseProfile};

use crate::client::{CliError, Client};
use crate::{encode_query, parse_name, print_json, render};

#[derive(Debug, Subcommand)]
pub enum ProfileCommand {
    /// List profiles, their servers and the clients that use them.
    Ls,
    /// Show what a profile offers of each server.
    Show { name: String },
    /// Offer a server in a profile (creating the profile), or change what it offers of it.
    Add(AddArgs),
    /// Stop offering a server in a profile.
    Remove { name: String, server: String },
    /// Delete a profile no client uses.
    Rm { name: String },
    /// Present a tool of a server in a profile otherwise: another name (clients call it by
    /// that), title or description, or hints that make it look more cautious (never less).
    Override(OverrideArgs),
    /// Choose a profile by the folder a client works in: a session whose client reports an
    /// MCP root in one of these folders uses it (none given: by its token only).
    Roots {
        name: String,
        /// Absolute paths or file:// URIs.
        folders: Vec<String>,
    },
    /// Turn search mode on or off: clients of the profile list three tools (search_tools,
    /// describe_tool, call_tool) in place of every tool it offers.
    Search {
        name: String,
        #[arg(value_parser = ["on", "off"])]
        mode: String,
    },
    /// Make clients use a profile (`--none`: every enabled server again).
    Use {
        #[arg(required_unless_present = "none", conflicts_with = "none")]
        profile: Option<String>,
        /// Client names, as `switchboard token ls` shows them (repeat or comma-separate).
        #[arg(long, required = true, value_delimiter = ',')]
        client: Vec<String>,
        #[arg(long)]
        none: bool,
    },
}

/// `profile add NAME SERVER`: patterns may use `*` for any run of characters.
#[derive(Debug, Args)]
pub struct AddArgs {
    name: String,
    server: String,
    /// Offer only these tools (comma-separated patterns).
    #[arg(long, value_delimiter = ',', conflicts_with = "except_tools")]
    tools: Option<Vec<String>>,
    /// Offer every tool but these.
    #[arg(long, value_delimiter = ',')]
    except_tools: Option<Vec<String>>,
    /// Offer only these prompts.
    #[arg(long, value_delimiter = ',', conflicts_with = "except_prompts")]
    prompts: Option<Vec<String>>,
    /// Offer every prompt but these.
    #[arg(long, value_delimiter = ',')]
    except_prompts: Option<Vec<String>>,
    /// Offer only these resources (URIs or names).
    #[arg(long, value_delimiter = ',', conflicts_with = "except_resources")]
    resources: Option<Vec<String>>,
    /// Offer every resource but these.
    #[arg(long, value_delimiter = ',')]
    except_resources: Option<Vec<String>>,
}

/// `profile override NAME SERVER TOOL`.
#[derive(Debug, Args)]
pub struct OverrideArgs {
    name: String,
    server: String,
    /// The server's name for the tool.
    tool: String,
    /// The name clients see and call it by.
    #[arg(long)]
    rename: Option<String>,
    #[arg(long)]
    title: Option<String>,
    #[arg(long)]
    description: Option<String>,
    /// Say it may change or delete things (destructiveHint).
    #[arg(long)]
    destructive: bool,
    /// Say it reaches beyond this machine (openWorldHint).
    #[arg(long)]
    open_world: bool,
    /// Say it is not read-only (readOnlyHint false).
    #[arg(long)]
    not_read_only: bool,
    /// Say calling it twice may differ from calling it once (idempotentHint false).
    #[arg(long)]
    not_idempotent: bool,
    /// Present it as its server lists it again.
    #[arg(long, conflicts_with_all = ["rename", "title", "description", "destructive", "open_world", "not_read_only", "not_idempotent"])]
    clear: bool,
}

impl OverrideArgs {
    fn tool_override(&self) -> ToolOverride {
        let flag = |on: bool, value: bool| on.then_some(value);
        ToolOverride {
            name: self.rename.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            annotations: Hints {
                read_only_hint: flag(self.not_read_only, false),
                destructive_hint: flag(self.destructive, true),
                idempotent_hint: flag(self.not_idempotent, false),
                open_world_hint: flag(self.open_world, true),
            },
        }
    }
}

fn selection(only: Option<Vec<String>>, except: Option<Vec<String>>) -> Selection {
    match (only, except) {
        (Some(only), _) => Selection::Only(only),
        (None, Some(except)) => Selection::Except(except),
        (None, None) => Selection::All,
    }
}

pub async fn run(json: bool, client: Client, command: ProfileCommand) -> Result<(), CliError> {
    let view = match command {
        ProfileCommand::Ls => {
            let profiles: Vec<ProfileView> = client.get("/profiles").await?;
            if json {
                return print_json(&profiles);
            }
            render::profiles(&profiles);
            return Ok(());
        }
        ProfileCommand::Show { name } => client.get(&path(&name)).await?,
        ProfileCommand::Add(args) => {
            let server = parse_name(&args.server)?;
            let mut profile = existing(&client, &args.name).await?;
            // The tools' overrides stay as they were.
            let overrides = profile
                .servers
                .remove(&server)
                .map(|offer| offer.overrides)
                .unwrap_or_default();
            let offer = Offer {
                tools: selection(args.tools, args.except_tools),
                prompts: selection(args.prompts, args.except_prompts),
                resources: selection(args.resources, args.except_resources),
                overrides,
            };
            profile.servers.insert(server, offer);
            client.put(&path(&args.name), &profile).await?
        }
        ProfileCommand::Remove { name, server } => {
            let server: ServerName = parse_name(&server)?;
            let mut profile = existing(&client, &name).await?;
            if profile.servers.remove(&server).is_none() {
                return Err(CliError::Usage(format!(
                    "profile {name} does not offer server {server}"
                )));
            }
            client.put(&path(&name), &profile).await?
        }
        ProfileCommand::Roots { name, folders } => {
            let mut profile = existing(&client, &name).await?;
            profile.roots = folders
                .into_iter()
                .map(|folder| match std::path::absolute(&folder) {
                    Ok(path) if !folder.contains("://") => path.display().to_string(),
                    _ => folder,
                })
                .collect();
            client.put(&path(&name), &profile).await?
        }
        ProfileCommand::Search { name, mode } => {
            let mut profile = existing(&client, &name).await?;
            profile.search = mode == "on";
            client.put(&path(&name), &profile).await?
        }
        ProfileCommand::Override(args) => {
            let server = parse_name(&args.server)?;
            let mut profile = existing(&client, &args.name).await?;
            let Some(offer) = profile.servers.get_mut(&server) else {
                return Err(CliError::Usage(format!(
                    "profile {} does not offer server {server}; `switchboard profile add {} {server}` first",
                    args.name, args.name
                )));
            };
            match args.clear {
                true => offer.overrides.remove(&args.tool),
                false => offer.overrides.insert(args.tool.clone(), args.tool_override()),
            };
            client.put(&path(&args.name), &profile).await?
        }
        ProfileCommand::Rm { name } => {
            client.delete(&path(&name)).await?;
            if json {
                return print_json(&serde_json::json!({"removed": name}));
            }
            println!("{name}: removed");
            return Ok(());
        }
        ProfileCommand::Use {
            profile,
            client: clients,
            none: _,
        } => {
            let choice = UseProfile { profile };
            for name in &clients {
                let path = format!("/tokens/{}/profile", encode_query(name));
                client.put::<UseProfile>(&path, &choice).await?;
            }
            if json {
                return print_json(&serde_json::json!({"clients": clients, "profile": choice.profile}));
            }
            let uses = choice
                .profile
                .as_deref()
                .map_or("every enabled server".into(), |p| format!("profile {p}"));
            println!("{}: {uses}", clients.join(", "));
            return Ok(());
        }
    };
    if json {
        return print_json(&view);
    }
    render::profile(&view);
    Ok(())
}

fn path(name: &str) -> String {
    format!("/profiles/{}", encode_query(name))
}

/// What profile `name` offers now; nothing if there is no such profile yet.
async fn existing(client: &Client, name: &str) -> Result<Profile, CliError> {
    match client.get::<ProfileView>(&path(name)).await {
        Ok(view) => Ok(view.profile),
        Err(CliError::Api { status: 404, .. }) => Ok(Profile::default()),
        Err(e) => Err(e),
    }
}

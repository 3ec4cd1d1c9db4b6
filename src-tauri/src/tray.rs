//! What the tray shows and what its items do, without Tauri: the menu as data ([`model`]) and
//! the handler of a chosen item ([`handle`]), which acts through the control API only.
//!
//! The shell (`lib.rs`) turns a [`Model`] into a native menu and routes clicks here, so the
//! tests drive exactly the code a click runs. What an item leads to outside the daemon
//! (opening the window, quitting the app) comes back as an [`Effect`] for the shell.
//! Whether servers are paused is the daemon's (`switchboard pause`), read from its status, so
//! the tray, the CLI and the dashboard agree, and a pause outlives the app.

use switchboard_client::{CliError, Client};
use switchboard_model::api::{DaemonStatus, PauseState, ServerView};
use switchboard_model::{FailureReason, ServerName, ServerState};

/// Overall health, shown by the tray icon's look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Health {
    /// Every enabled server runs.
    Ok,
    /// Something is starting or restarting, or the servers are paused.
    Warn,
    /// A server failed or is in a crash loop.
    Bad,
    /// The daemon is not running.
    Off,
}

/// One thing a menu item does. Its [`Action::id`] is the native item's id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Stop a running server, or start a stopped or failed one.
    Toggle(ServerName),
    Open,
    ConnectClients,
    /// Pause the daemon: every server stops and none starts until [`Action::ResumeAll`].
    PauseAll,
    /// End the pause: every enabled server starts.
    ResumeAll,
    StartAtLogin,
    StartDaemon,
    /// Quit the app; the daemon and its servers keep running.
    Quit,
    /// Stop every server and the daemon, then quit.
    QuitAndStop,
}

impl Action {
    pub fn id(&self) -> String {
        match self {
            Self::Toggle(name) => format!("server:{name}"),
            Self::Open => "open".into(),
            Self::ConnectClients => "connect-clients".into(),
            Self::PauseAll => "pause-all".into(),
            Self::ResumeAll => "resume-all".into(),
            Self::StartAtLogin => "start-at-login".into(),
            Self::StartDaemon => "start-daemon".into(),
            Self::Quit => "quit".into(),
            Self::QuitAndStop => "quit-and-stop".into(),
        }
    }

    pub fn parse(id: &str) -> Option<Self> {
        if let Some(name) = id.strip_prefix("server:") {
            return ServerName::new(name).ok().map(Self::Toggle);
        }
        Some(match id {
            "open" => Self::Open,
            "connect-clients" => Self::ConnectClients,
            "pause-all" => Self::PauseAll,
            "resume-all" => Self::ResumeAll,
            "start-at-login" => Self::StartAtLogin,
            "start-daemon" => Self::StartDaemon,
            "quit" => Self::Quit,
            "quit-and-stop" => Self::QuitAndStop,
            _ => return None,
        })
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Item {
    /// A clickable item; `checked` makes it a check item.
    Entry {
        action: Action,
        label: String,
        checked: Option<bool>,
    },
    /// A line of text that cannot be clicked.
    Note(String),
    Separator,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Model {
    pub health: Health,
    pub tooltip: String,
    pub items: Vec<Item>,
}

/// What the menu is built from: the daemon's servers, and whether it is paused.
#[derive(Clone, Debug)]
pub struct DaemonView {
    pub servers: Vec<ServerView>,
    pub paused: bool,
}

/// Reads the servers and the paused flag the menu shows.
pub async fn daemon_view(client: &Client) -> Result<DaemonView, CliError> {
    let servers = client.get("/servers").await?;
    let status: DaemonStatus = client.get("/status").await?;
    Ok(DaemonView {
        servers,
        paused: status.paused,
    })
}

/// Whether a toggle stops the server (it runs or is on its way up) rather than starts it.
fn is_up(state: &ServerState) -> bool {
    matches!(
        state,
        ServerState::Running { .. }
            | ServerState::Sleeping { .. }
            | ServerState::Starting { .. }
            | ServerState::BackingOff { .. }
    )
}

fn describe(state: &ServerState) -> &'static str {
    match state {
        ServerState::Running { .. } => "running",
        ServerState::Sleeping { .. } => "sleeping",
        ServerState::Starting { .. } => "starting",
        ServerState::BackingOff { .. } => "restarting",
        ServerState::CrashLooping { .. } => "crash loop",
        ServerState::Failed {
            reason: FailureReason::NeedsLogin { .. },
        } => "needs login",
        ServerState::Failed { .. } => "failed",
        ServerState::Stopped => "stopped",
    }
}

/// The menu for the daemon's servers (`None`: the daemon does not answer).
pub fn model(servers: Option<&[ServerView]>, paused: bool, start_at_login: bool) -> Model {
    let Some(servers) = servers else {
        return Model {
            health: Health::Off,
            tooltip: "Switchboard: the daemon is not running".into(),
            items: vec![
                Item::Note("The Switchboard daemon is not running".into()),
                entry(Action::StartDaemon, "Start Switchboard"),
                Item::Separator,
                login_item(start_at_login),
                entry(Action::Quit, "Quit"),
            ],
        };
    };
    let failing = servers
        .iter()
        .filter(|s| {
            matches!(
                s.status,
                ServerState::Failed { .. } | ServerState::CrashLooping { .. }
            )
        })
        .count();
    let running = servers
        .iter()
        .filter(|s| matches!(s.status, ServerState::Running { .. }))
        .count();
    let settling = servers.iter().any(|s| {
        matches!(
            s.status,
            ServerState::Starting { .. } | ServerState::BackingOff { .. }
        )
    });
    let health = if failing > 0 {
        Health::Bad
    } else if settling || paused {
        Health::Warn
    } else {
        Health::Ok
    };
    let sleeping = servers
        .iter()
        .filter(|s| matches!(s.status, ServerState::Sleeping { .. }))
        .count();
    let mut tooltip = format!("Switchboard: {running} of {} servers running", servers.len());
    if sleeping > 0 {
        tooltip.push_str(&format!(", {sleeping} sleeping until used"));
    }
    if failing > 0 {
        tooltip.push_str(&format!(", {failing} failing"));
    }
    if paused {
        tooltip.push_str(" (paused)");
    }
    let mut items = Vec::new();
    if paused {
        items.push(Item::Note("Paused: no server starts until Resume all".into()));
    }
    if servers.is_empty() {
        items.push(Item::Note("No servers yet".into()));
    }
    items.extend(servers.iter().map(|s| Item::Entry {
        action: Action::Toggle(s.spec.name.clone()),
        label: format!("{} — {}", s.spec.name, describe(&s.status)),
        checked: Some(is_up(&s.status)),
    }));
    items.push(Item::Separator);
    items.push(entry(Action::Open, "Open Switchboard"));
    items.push(entry(Action::ConnectClients, "Connect clients…"));
    items.push(if paused {
        entry(Action::ResumeAll, "Resume all")
    } else {
        entry(Action::PauseAll, "Pause all")
    });
    items.push(Item::Separator);
    items.push(login_item(start_at_login));
    items.push(entry(Action::Quit, "Quit (servers keep running)"));
    items.push(entry(Action::QuitAndStop, "Quit and stop servers"));
    Model {
        health,
        tooltip,
        items,
    }
}

fn entry(action: Action, label: &str) -> Item {
    Item::Entry {
        action,
        label: label.into(),
        checked: None,
    }
}

fn login_item(start_at_login: bool) -> Item {
    Item::Entry {
        action: Action::StartAtLogin,
        label: "Start at login".into(),
        checked: Some(start_at_login),
    }
}

/// What the shell must do after an item was handled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// The daemon's state changed (or nothing did); the event stream brings the new menu.
    Done,
    /// Show the window at this dashboard page.
    OpenDashboard(&'static str),
    /// Flip the start-at-login setting.
    ToggleStartAtLogin,
    /// Start the daemon.
    StartDaemon,
    /// Quit the app.
    Exit,
}

/// What an item does that needs no daemon; `None` for those that act through it.
pub fn local_effect(action: &Action) -> Option<Effect> {
    Some(match action {
        Action::Open => Effect::OpenDashboard("servers"),
        Action::ConnectClients => Effect::OpenDashboard("clients"),
        Action::StartAtLogin => Effect::ToggleStartAtLogin,
        Action::StartDaemon => Effect::StartDaemon,
        Action::Quit => Effect::Exit,
        Action::Toggle(_) | Action::PauseAll | Action::ResumeAll | Action::QuitAndStop => return None,
    })
}

/// Runs a menu item, acting through the daemon where it must.
pub async fn handle(action: &Action, client: &Client) -> Result<Effect, CliError> {
    if let Some(effect) = local_effect(action) {
        return Ok(effect);
    }
    match action {
        Action::Toggle(name) => {
            let server: ServerView = client.get(&format!("/servers/{name}")).await?;
            let verb = if is_up(&server.status) { "stop" } else { "start" };
            let _: ServerView = client
                .post(&format!("/servers/{name}/{verb}"), None::<&()>)
                .await?;
            Ok(Effect::Done)
        }
        Action::PauseAll => {
            let _: PauseState = client.post("/pause", None::<&()>).await?;
            Ok(Effect::Done)
        }
        Action::ResumeAll => {
            let _: PauseState = client.post("/resume", None::<&()>).await?;
            Ok(Effect::Done)
        }
        Action::QuitAndStop => {
            client.post_empty("/shutdown").await?;
            Ok(Effect::Exit)
        }
        Action::Open | Action::ConnectClients | Action::StartAtLogin | Action::StartDaemon | Action::Quit => {
            Ok(Effect::Done)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_action_survives_its_id() {
        let name = ServerName::new("time").ok();
        let actions = [
            Action::Open,
            Action::ConnectClients,
            Action::PauseAll,
            Action::ResumeAll,
            Action::StartAtLogin,
            Action::StartDaemon,
            Action::Quit,
            Action::QuitAndStop,
        ];
        for action in actions.into_iter().chain(name.map(Action::Toggle)) {
            assert_eq!(Action::parse(&action.id()), Some(action.clone()), "{action:?}");
        }
        assert_eq!(Action::parse("server:Not A Name"), None);
        assert_eq!(Action::parse("anything"), None);
    }

    #[test]
    fn without_a_daemon_the_menu_offers_to_start_it() {
        let menu = model(None, false, false);
        assert_eq!(menu.health, Health::Off);
        assert!(
            menu.items
                .contains(&entry(Action::StartDaemon, "Start Switchboard"))
        );
    }
}

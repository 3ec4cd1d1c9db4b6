//! The Switchboard desktop app: a tray icon and a window onto the daemon. Adapters only.
//!
//! It attaches to the running daemon or starts the `switchboard` binary shipped beside it
//! ([`daemon`]), shows the dashboard the daemon serves in a window (signed in with a one-time
//! code) that lives in a process of its own while it is open (`window`), keeps the tray's
//! menu and icon in step with the daemon's event stream ([`tray`] holds the menu as data and
//! what each item does), and raises native notifications when a server falls into a crash
//! loop or needs a login. It holds no domain logic: every change goes through the control
//! API, like the CLI's.

pub mod daemon;
mod gl;
pub mod tray;
mod window;

use std::sync::Arc;
use std::time::Duration;

use switchboard_client::Client;
use switchboard_model::api::{Event, SignInCode};
use switchboard_model::{FailureReason, ServerState};
use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::TrayIconBuilder;
use tauri::{AppHandle, Manager, RunEvent, Wry};
use tauri_plugin_autostart::ManagerExt as _;
use tauri_plugin_notification::NotificationExt as _;
use tokio::sync::RwLock;

use crate::daemon::Launch;
use crate::tray::{Action, Effect, Health, Item, Model};
use crate::window::{Show, Window};

const TRAY: &str = "switchboard";
/// How often the app looks for a daemon that went away.
const REATTACH_EVERY: Duration = Duration::from_secs(2);

/// What the shell keeps: how to reach the daemon, the client while it answers, and the
/// window while it is open.
struct Shell {
    launch: Launch,
    client: RwLock<Option<Client>>,
    window: Window,
}

/// Runs the app until the user quits it. `--hidden` (used for start at login) starts it in the
/// tray only, with no window; `--window` is the window's own process, started by the tray.
pub fn run() -> Result<(), String> {
    if is_the_window() {
        return window::run();
    }
    let hidden = std::env::args_os().any(|arg| arg == "--hidden");
    let shell = Arc::new(Shell {
        launch: Launch::from_env().map_err(|e| e.to_string())?,
        client: RwLock::new(None),
        window: Window::default(),
    });
    let app = tauri::Builder::default()
        // First, so a second launch only brings the first one's window forward.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| {
            let app = app.clone();
            tauri::async_runtime::spawn(async move { open_dashboard(&app, "servers").await });
        }))
        .plugin(tauri_plugin_autostart::Builder::new().args(["--hidden"]).build())
        .plugin(tauri_plugin_notification::init())
        .manage(Arc::clone(&shell))
        .setup(move |app| {
            // The tray has no Dock icon; the window's process has its own while it is open.
            #[cfg(target_os = "macos")]
            app.set_activation_policy(tauri::ActivationPolicy::Accessory);
            // Started at login (--hidden), the app opens no window.
            if !hidden && let Err(e) = shell.window.open() {
                notify(app.handle(), "Switchboard cannot open its window", &e.to_string());
            }
            let initial = tray::model(None, false, false);
            TrayIconBuilder::with_id(TRAY)
                .icon(icon(initial.health))
                .tooltip("Switchboard")
                .menu(&native_menu(app.handle(), &initial)?)
                .show_menu_on_left_click(true)
                .on_menu_event(|app, event| {
                    let app = app.clone();
                    let id = event.id().as_ref().to_owned();
                    tauri::async_runtime::spawn(async move { on_menu(app, id).await });
                })
                .build(app)?;
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move { start(handle, !hidden).await });
            Ok(())
        })
        .build(context())
        .map_err(|e| format!("cannot start the Switchboard app: {e}"))?;
    app.run(|_app, event| {
        // The tray keeps the app alive: only Quit (an explicit exit) ends it.
        if let RunEvent::ExitRequested { code: None, api, .. } = event {
            api.prevent_exit();
        }
    });
    Ok(())
}

/// Readies this process before anything else runs: the tray's turns GDK's OpenGL off.
///
/// # Safety
///
/// Call it first thing in `main`, before any other thread exists: it writes the environment.
pub unsafe fn prepare_process() {
    if !is_the_window() {
        // SAFETY: the caller guarantees no other thread exists yet.
        unsafe { gl::turn_off_here() };
    }
}

/// Whether this process is the window's (`switchboard-app --window`), started by the tray.
fn is_the_window() -> bool {
    std::env::args_os().nth(1).is_some_and(|arg| arg == window::ARG)
}

/// The app's configuration and assets (the window's "Starting Switchboard…" page).
fn context() -> tauri::Context<Wry> {
    tauri::generate_context!()
}

fn shell(app: &AppHandle) -> Arc<Shell> {
    Arc::clone(app.state::<Arc<Shell>>().inner())
}

/// Attaches to (or starts) the daemon, shows the dashboard, then follows the daemon for good.
async fn start(app: AppHandle, show: bool) {
    let shell = shell(&app);
    match shell.launch.attach_or_start().await {
        Ok(client) => {
            *shell.client.write().await = Some(client);
            if show {
                open_dashboard(&app, "servers").await;
            }
        }
        Err(e) => {
            tracing::error!("{e}");
            show_problem(&app, &e.to_string());
        }
    }
    follow(app, shell).await;
}

/// Keeps the tray in step with the daemon: a fresh menu on every event, and when the stream
/// ends (the daemon went away) the "not running" menu until a daemon answers again.
async fn follow(app: AppHandle, shell: Arc<Shell>) {
    loop {
        let client = shell.client.read().await.clone();
        let Some(client) = client else {
            refresh(&app, None).await;
            tokio::time::sleep(REATTACH_EVERY).await;
            if let Some(client) = shell.launch.attach().await {
                *shell.client.write().await = Some(client);
            }
            continue;
        };
        refresh(&app, Some(&client)).await;
        let (events, mut received) = tokio::sync::mpsc::unbounded_channel();
        let stream = client.follow("/events", move |event| events.send(event).is_ok());
        tokio::pin!(stream);
        loop {
            tokio::select! {
                _ = &mut stream => break,
                Some(event) = received.recv() => {
                    if let Ok(event) = serde_json::from_str::<Event>(&event.data) {
                        notify_about(&app, &event);
                    }
                    refresh(&app, Some(&client)).await;
                }
            }
        }
        *shell.client.write().await = None;
    }
}

/// Rebuilds the tray's menu, icon and tooltip from the daemon's servers and paused flag.
async fn refresh(app: &AppHandle, client: Option<&Client>) {
    let view = match client {
        Some(client) => tray::daemon_view(client).await.ok(),
        None => None,
    };
    let start_at_login = app.autolaunch().is_enabled().unwrap_or(false);
    let servers = view.as_ref().map(|v| v.servers.as_slice());
    let paused = view.as_ref().is_some_and(|v| v.paused);
    let model = tray::model(servers, paused, start_at_login);
    let Some(tray) = app.tray_by_id(TRAY) else { return };
    let applied = native_menu(app, &model).and_then(|menu| {
        tray.set_menu(Some(menu))?;
        tray.set_icon(Some(icon(model.health)))?;
        tray.set_tooltip(Some(&model.tooltip))
    });
    match applied {
        Err(e) => tracing::warn!("cannot update the tray: {e}"),
        // The launch benchmark (bench/app.py) times launch to this line.
        Ok(()) if servers.is_some() => FIRST_LIVE_MENU.call_once(|| {
            tracing::info!("tray shows live state: {}", model.tooltip);
        }),
        Ok(()) => {}
    }
}

static FIRST_LIVE_MENU: std::sync::Once = std::sync::Once::new();

fn native_menu(app: &AppHandle, model: &Model) -> tauri::Result<Menu<Wry>> {
    let menu = Menu::new(app)?;
    for item in &model.items {
        match item {
            Item::Entry {
                action,
                label,
                checked: Some(checked),
            } => menu.append(&CheckMenuItem::with_id(
                app,
                action.id(),
                label,
                true,
                *checked,
                None::<&str>,
            )?)?,
            Item::Entry { action, label, .. } => {
                menu.append(&MenuItem::with_id(app, action.id(), label, true, None::<&str>)?)?;
            }
            Item::Note(text) => menu.append(&MenuItem::new(app, text, false, None::<&str>)?)?,
            Item::Separator => menu.append(&PredefinedMenuItem::separator(app)?)?,
        }
    }
    Ok(menu)
}

fn icon(health: Health) -> Image<'static> {
    let bytes: &'static [u8] = match health {
        Health::Ok => include_bytes!("../../icons/tray-ok.png"),
        Health::Warn => include_bytes!("../../icons/tray-warn.png"),
        Health::Bad => include_bytes!("../../icons/tray-bad.png"),
        Health::Off => include_bytes!("../../icons/tray-off.png"),
    };
    // The files are ours and decoded in tests; a bad one would be a build defect.
    Image::from_bytes(bytes).unwrap_or_else(|_| Image::new(&[0, 0, 0, 0], 1, 1))
}

async fn on_menu(app: AppHandle, id: String) {
    let Some(action) = Action::parse(&id) else { return };
    let shell = shell(&app);
    let effect = match tray::local_effect(&action) {
        Some(effect) => Ok(effect),
        None => match shell.client.read().await.clone() {
            Some(client) => tray::handle(&action, &client).await,
            None => Ok(Effect::StartDaemon),
        },
    };
    match effect {
        Ok(Effect::Done) => {
            let client = shell.client.read().await.clone();
            refresh(&app, client.as_ref()).await;
        }
        Ok(Effect::OpenDashboard(page)) => open_dashboard(&app, page).await,
        Ok(Effect::ToggleStartAtLogin) => {
            let autolaunch = app.autolaunch();
            let enable = !autolaunch.is_enabled().unwrap_or(false);
            // The autostart crate makes ~/.config/autostart but not ~/.config, which a fresh
            // home may lack.
            #[cfg(target_os = "linux")]
            if let Some(home) = std::env::var_os("HOME") {
                let _ = std::fs::create_dir_all(std::path::Path::new(&home).join(".config/autostart"));
            }
            let flipped = if enable {
                autolaunch.enable()
            } else {
                autolaunch.disable()
            };
            match flipped {
                Ok(()) => tracing::info!("start at login: {}", if enable { "on" } else { "off" }),
                Err(e) => notify(&app, "Start at login could not be changed", &e.to_string()),
            }
            let client = shell.client.read().await.clone();
            refresh(&app, client.as_ref()).await;
        }
        Ok(Effect::StartDaemon) => match shell.launch.attach_or_start().await {
            Ok(client) => *shell.client.write().await = Some(client),
            Err(e) => notify(&app, "Switchboard could not start", &e.to_string()),
        },
        Ok(Effect::Exit) => app.exit(0),
        Err(e) => notify(&app, "Switchboard", &e.to_string()),
    }
}

/// Shows the window at a dashboard page, signed in with a fresh one-time code.
async fn open_dashboard(app: &AppHandle, page: &str) {
    let shell = shell(app);
    // At once, so the person sees "Starting Switchboard…" while the code comes.
    if let Err(e) = shell.window.open() {
        return notify(app, "Switchboard cannot open its window", &e.to_string());
    }
    let client = shell.client.read().await.clone();
    let Some(client) = client else {
        show_problem(
            app,
            "The Switchboard daemon is not running; choose Start Switchboard in the tray menu.",
        );
        return;
    };
    let url = match client.post::<SignInCode>("/web/codes", None::<&()>).await {
        Ok(code) => format!("{}/{page}", code.url),
        Err(e) => {
            show_problem(app, &e.to_string());
            return;
        }
    };
    if let Err(e) = shell.window.show(&Show::Page { url }) {
        notify(app, "Switchboard cannot open its window", &e.to_string());
    }
}

/// Puts a problem where the dashboard would be, if it is open, and in a notification.
fn show_problem(app: &AppHandle, message: &str) {
    let text = message.to_owned();
    if let Err(e) = shell(app).window.show_if_open(&Show::Problem { text }) {
        tracing::warn!("{e}");
    }
    notify(app, "Switchboard", message);
}

fn notify_about(app: &AppHandle, event: &Event) {
    if let Some((title, body)) = notification(event) {
        notify(app, &title, &body);
    }
}

/// The notification an event deserves, as a title and a body; most deserve none.
fn notification(event: &Event) -> Option<(String, String)> {
    match event {
        Event::StateChanged {
            name,
            status: ServerState::CrashLooping { restarts, .. },
            ..
        } => Some((
            format!("{name} keeps crashing"),
            format!(
                "It crashed {restarts} times in a row, so Switchboard stopped restarting it. Open Switchboard to see why."
            ),
        )),
        Event::StateChanged {
            name,
            status:
                ServerState::Failed {
                    reason: FailureReason::NeedsLogin { .. },
                },
            ..
        } => Some((
            format!("{name} needs you to sign in"),
            format!("Run `switchboard login {name}` or open Switchboard to sign in."),
        )),
        Event::ClientOverBudget { client, cost } => Some((
            format!("{client} gets more tools than its budget"),
            format!(
                "Its {} tools cost {} tokens of its model's context, over its budget of {}. \
                 Give it a narrower profile, turn on search mode, or raise its budget in Switchboard.",
                cost.tools, cost.tokens, cost.budget
            ),
        )),
        Event::ToolsHeld { server, tools } => Some((
            format!("{server} changed its tools"),
            format!(
                "Held back from your AI clients until you approve them: {}. Review what changed \
                 in Switchboard or with `switchboard quarantine`.",
                tools.join(", ")
            ),
        )),
        _ => None,
    }
}

fn notify(app: &AppHandle, title: &str, body: &str) {
    if let Err(e) = app.notification().builder().title(title).body(body).show() {
        tracing::warn!("cannot show a notification ({e}): {title}: {body}");
    }
}

#[cfg(test)]
mod tests {
    use switchboard_model::api::ToolCost;

    use super::*;

    #[test]
    fn a_client_over_its_budget_is_a_notification_saying_what_to_do() {
        let event = Event::ClientOverBudget {
            client: "cursor".into(),
            cost: ToolCost {
                tools: 143,
                tokens: 41_200,
                budget: 20_000,
            },
        };
        let (title, body) = notification(&event).unwrap();
        assert_eq!(title, "cursor gets more tools than its budget");
        assert!(
            body.contains("143 tools cost 41200 tokens") && body.contains("over its budget of 20000"),
            "{body}"
        );
        assert!(
            body.contains("narrower profile") && body.contains("search mode"),
            "{body}"
        );
        assert_eq!(notification(&Event::Paused), None);
    }

    #[test]
    fn held_tools_are_a_notification_naming_them_and_where_to_review() {
        let event = Event::ToolsHeld {
            server: switchboard_model::ServerName::new("github").unwrap(),
            tools: vec!["create_issue".into(), "delete_repo".into()],
        };
        let (title, body) = notification(&event).unwrap();
        assert_eq!(title, "github changed its tools");
        assert!(body.contains("create_issue, delete_repo"), "{body}");
        assert!(body.contains("switchboard quarantine"), "{body}");
    }
}

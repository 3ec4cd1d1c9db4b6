//! The tray, through the same handler a click runs, against a real daemon the app started
//! itself from the `switchboard` binary beside it: the menu shows each server's state as a
//! check item, toggling one stops or starts it, Pause all / Resume all (the daemon's pause,
//! which the CLI sees and which outlives the app), Quit leaves the daemon
//! running and Quit and stop servers ends it with its servers. No tray host is involved: this
//! tests what the menu says and does, not how a desktop draws it.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;
use switchboard_app::daemon::Launch;
use switchboard_app::tray::{self, Action, Effect, Health, Item};
use switchboard_client::Client;
use switchboard_model::ServerName;
use switchboard_model::api::{DaemonStatus, ServerView};

const PATIENCE: Duration = Duration::from_secs(60);

fn target_dir() -> PathBuf {
    // tests run from target/<profile>/deps/
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_owned()
}

fn time_server() -> String {
    let tools = std::env::var_os("SWITCHBOARD_TEST_TOOLS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.cache/test-tools"),
        PathBuf::from,
    );
    tools.join("venv/bin/mcp-server-time").display().to_string()
}

/// Asks the daemon to stop if a test ends early, so no daemon outlives the test.
struct StopOnDrop(Client);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        let client = self.0.clone();
        let _ = std::thread::spawn(move || {
            tokio::runtime::Runtime::new()
                .unwrap()
                .block_on(client.post_empty("/shutdown"))
        })
        .join();
    }
}

async fn state(client: &Client, name: &str) -> String {
    let view: ServerView = client.get(&format!("/servers/{name}")).await.unwrap();
    serde_json::to_value(&view.status).unwrap()["state"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn wait_state(client: &Client, name: &str, wanted: &str) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let now = state(client, name).await;
        if now == wanted {
            return;
        }
        assert!(Instant::now() < deadline, "{name} stayed {now}, never {wanted}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn menu(client: &Client) -> tray::Model {
    let view = tray::daemon_view(client).await.unwrap();
    tray::model(Some(&view.servers), view.paused, false)
}

async fn paused(client: &Client) -> bool {
    let status: DaemonStatus = client.get("/status").await.unwrap();
    status.paused
}

fn offers(model: &tray::Model, wanted: &Action) -> bool {
    model
        .items
        .iter()
        .any(|i| matches!(i, Item::Entry { action, .. } if action == wanted))
}

fn server_item(model: &tray::Model, name: &str) -> (String, Option<bool>) {
    let action = Action::Toggle(ServerName::new(name).unwrap());
    model
        .items
        .iter()
        .find_map(|item| match item {
            Item::Entry {
                action: a,
                label,
                checked,
            } if *a == action => Some((label.clone(), *checked)),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no item for {name} in {model:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_menu_follows_server_state_and_its_items_stop_and_start_servers() {
    let home = tempfile::tempdir().unwrap();
    let launch = Launch {
        program: target_dir().join("switchboard"),
        home: home.path().to_owned(),
        port: 0,
    };
    assert!(
        launch.attach().await.is_none(),
        "no daemon runs for a fresh data directory"
    );
    let client = launch.attach_or_start().await.unwrap();
    let _stop = StopOnDrop(client.clone());

    let added: ServerView = client
        .post(
            "/servers?wait=60",
            Some(&json!({"name": "time", "transport": {"type": "stdio", "command": time_server()}})),
        )
        .await
        .unwrap();
    assert_eq!(serde_json::to_value(&added.status).unwrap()["state"], "running");

    let model = menu(&client).await;
    assert_eq!(model.health, Health::Ok);
    assert_eq!(server_item(&model, "time"), ("time — running".into(), Some(true)));
    assert!(
        model.tooltip.contains("1 of 1 servers running"),
        "{}",
        model.tooltip
    );

    // Unchecking the item stops the server; checking it starts it again.
    let toggle = Action::parse("server:time").unwrap();
    assert_eq!(tray::handle(&toggle, &client).await.unwrap(), Effect::Done);
    wait_state(&client, "time", "stopped").await;
    assert_eq!(
        server_item(&menu(&client).await, "time"),
        ("time — stopped".into(), Some(false))
    );
    tray::handle(&toggle, &client).await.unwrap();
    wait_state(&client, "time", "running").await;
    assert_eq!(server_item(&menu(&client).await, "time").1, Some(true));

    // Pause all pauses the daemon: what runs stops, and the menu offers Resume all, which
    // starts the enabled servers again.
    assert!(offers(&menu(&client).await, &Action::PauseAll));
    tray::handle(&Action::PauseAll, &client).await.unwrap();
    wait_state(&client, "time", "stopped").await;
    assert!(
        paused(&client).await,
        "the daemon, and so the CLI, sees the pause"
    );
    let model = menu(&client).await;
    assert_eq!(model.health, Health::Warn);
    assert!(offers(&model, &Action::ResumeAll), "{model:?}");
    assert!(!offers(&model, &Action::PauseAll), "{model:?}");
    tray::handle(&Action::ResumeAll, &client).await.unwrap();
    wait_state(&client, "time", "running").await;
    assert!(!paused(&client).await);
    assert!(offers(&menu(&client).await, &Action::PauseAll));

    // Quit leaves the daemon and its servers running; a second app attaches to the same one.
    assert_eq!(tray::handle(&Action::Quit, &client).await.unwrap(), Effect::Exit);
    assert_eq!(state(&client, "time").await, "running");
    let again = launch.attach_or_start().await.unwrap();
    assert_eq!(state(&again, "time").await, "running");

    // Quit and stop servers ends the daemon, after its servers.
    let pid = match serde_json::to_value(&menu_server(&client).await.status).unwrap()["pid"].as_u64() {
        Some(pid) => pid,
        None => panic!("a running server has a pid"),
    };
    assert_eq!(
        tray::handle(&Action::QuitAndStop, &client).await.unwrap(),
        Effect::Exit
    );
    let deadline = Instant::now() + PATIENCE;
    while launch.attach().await.is_some() || std::path::Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "the daemon or its server outlived Quit and stop servers"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let model = tray::model(None, false, false);
    assert_eq!(model.health, Health::Off);
}

async fn menu_server(client: &Client) -> ServerView {
    client.get("/servers/time").await.unwrap()
}

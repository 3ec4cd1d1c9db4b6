//! The status against a LocalAPI double serving the real-shaped running capture.

use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::*;

/// A LocalAPI double on a Unix socket answering every request with a real-shaped status.
async fn local_api(body: String) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let socket = dir.path().join("ts.sock");
    let listener = tokio::net::UnixListener::bind(&socket).expect("bind");
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = [0u8; 4096];
            let _ = stream.read(&mut request).await;
            let answer = format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{body}");
            let _ = stream.write_all(answer.as_bytes()).await;
        }
    });
    (dir, socket)
}

/// A gateway over a store in `root`, with no server.
async fn rooms(root: &std::path::Path) -> (Arc<crate::control::Control>, Arc<Gateway>) {
    let store = switchboard_store::Store::open(&root.join("switchboard.db"))
        .await
        .expect("store");
    let (events, _) = tokio::sync::broadcast::channel(16);
    let supervisor = Arc::new(switchboard_supervisor::Supervisor::new(
        switchboard_supervisor::SupervisorConfig::default(),
        store.clone(),
        events.clone(),
        None,
        switchboard_local::paths::DataDir::create(root.to_owned()).expect("data dir"),
        switchboard_credentials::secrets::Secrets::file(root.join("secrets.json")),
    ));
    let servers = switchboard_gateway::Servers {
        store: store.clone(),
        supervisor: Arc::clone(&supervisor),
        events: events.clone(),
    };
    let facts = crate::control::DaemonFacts {
        pid: std::process::id(),
        port: 0,
        data_dir: root.display().to_string(),
        started_at_ms: 0,
    };
    let control = Arc::new(crate::control::Control::new(store, supervisor, events, facts));
    let gateway = Gateway::start(servers, switchboard_gateway::GatewayConfig::default())
        .await
        .expect("gateway");
    (control, gateway)
}

#[tokio::test]
async fn a_running_node_shows_its_name_addresses_and_tailnet() {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tailnet/tests/fixtures/synthetic-status-running.json");
    let (_dir, socket) = local_api(std::fs::read_to_string(fixture).expect("fixture")).await;
    let data = tempfile::tempdir().expect("tempdir");
    let (control, gateway) = rooms(data.path()).await;
    let tailnet = Tailnet::start(
        LocalApi::unix(socket),
        control,
        gateway,
        DEFAULT_PORT,
        data.path().join("serve.sock"),
    )
    .await
    .expect("start");
    let view = tailnet.status().await;
    assert_eq!(view.state, TailnetState::Running);
    assert_eq!(view.dns_name.as_deref(), Some("homebox.tail4c1d2e.ts.net"));
    assert_eq!(view.addresses[0], "100.101.102.103");
    assert_eq!(view.tailnet.as_deref(), Some("alice@example.com"));
    assert_eq!(view.message, None);
    assert!(view.listening.is_empty() && view.exposed.is_empty(), "{view:?}");

    let (node, _) = tailnet.this_node().await.expect("running");
    assert_eq!(node.owner.as_deref(), Some("alice@example.com"));
    assert_eq!(node.addresses.len(), 2);
}

//! The macOS GUI apps' LocalAPI transport: finding its port and token as the Tailscale CLI
//! does, and speaking to it over loopback TCP with the token as Basic auth. The apps cannot run
//! here, so a double on loopback TCP checks what the app checks and answers the real logged-out
//! status capture.
#![allow(clippy::unwrap_used)]

use switchboard_tailnet::localapi::{Endpoint, macsys_port_and_token, port_and_token_in_lsof};
use switchboard_tailnet::{BackendState, LocalApi, LocalApiError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn the_standalone_apps_port_and_token_are_found() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(macsys_port_and_token(dir.path()), None, "no app, no port");
    std::os::unix::fs::symlink("49201", dir.path().join("ipnport")).unwrap();
    assert_eq!(
        macsys_port_and_token(dir.path()),
        None,
        "a port without its token"
    );
    std::fs::write(dir.path().join("sameuserproof-49201"), "5f3c9a1e7d\n").unwrap();
    assert_eq!(
        macsys_port_and_token(dir.path()),
        Some((49201, "5f3c9a1e7d".to_owned()))
    );
    std::fs::write(dir.path().join("sameuserproof-49201"), "\n").unwrap();
    assert_eq!(macsys_port_and_token(dir.path()), None, "an empty token");
}

#[test]
fn the_app_store_apps_port_and_token_are_read_from_lsof() {
    let output = "p812\ncIPNExtension\nf4\nn/dev/null\nf9\n\
        n/Users/alice/Library/Group Containers/io.tailscale.ipn.macos/sameuserproof-61577-2ae2ec9e0aa2005784f1\n";
    assert_eq!(
        port_and_token_in_lsof(output),
        Some((61577, "2ae2ec9e0aa2005784f1".to_owned()))
    );
    assert_eq!(port_and_token_in_lsof("p812\ncIPNExtension\nn/dev/null\n"), None);
}

/// A LocalAPI on loopback TCP that, like the macOS apps, wants token `s3cret` as Basic auth.
async fn tcp_local_api() -> u16 {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let status = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/real-1.96.4-status-needslogin.json"),
    )
    .unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            let mut request = vec![0u8; 8192];
            let n = stream.read(&mut request).await.unwrap();
            let request = String::from_utf8_lossy(&request[..n]).to_ascii_lowercase();
            // HTTP Basic auth, empty user, the token as password: base64(":s3cret").
            let answer = if request.contains("host: local-tailscaled.sock")
                && request.contains(&"Authorization: Basic OnMzY3JldA==".to_ascii_lowercase())
            {
                format!("HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{status}")
            } else {
                "HTTP/1.0 403 Forbidden\r\n\r\nbad token".to_owned()
            };
            stream.write_all(answer.as_bytes()).await.unwrap();
        }
    });
    port
}

#[tokio::test]
async fn the_gui_apps_tcp_port_is_spoken_with_the_token() {
    let port = tcp_local_api().await;
    let api = LocalApi::new(Endpoint::Tcp {
        port,
        token: "s3cret".into(),
    });
    let status = api.status().await.unwrap();
    assert_eq!(status.backend_state, BackendState::NeedsLogin);
    assert!(
        !format!("{:?} {}", api.endpoint(), api.endpoint()).contains("s3cret"),
        "the token is never shown"
    );

    let wrong = LocalApi::new(Endpoint::Tcp {
        port,
        token: "guess".into(),
    });
    let error = wrong.status().await.unwrap_err();
    assert!(matches!(error, LocalApiError::Permission { .. }), "{error}");
}

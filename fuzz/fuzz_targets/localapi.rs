//! What tailscaled's LocalAPI answers: raw HTTP answers (status, headers, body) as the client
//! reads them off the socket, status and whois bodies, and `lsof` output on macOS.
#![no_main]

use switchboard_tailnet::localapi::{Answer, port_and_token_in_lsof};
use switchboard_tailnet::types::{Status, WhoIs};

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Some(answer) = Answer::parse(data) {
        let ok = answer.check().is_ok();
        assert_eq!(ok, (200..300).contains(&answer.status()));
        let _ = answer.json::<Status>("status");
        if let Ok(whois) = answer.json::<WhoIs>("whois") {
            assert!(!whois.identities().is_empty());
        }
        if let Ok(config) = answer.serve_config() {
            assert!(!config.etag.is_empty() && !config.etag.chars().any(char::is_control));
        }
    }
    if let Ok(status) = serde_json::from_slice::<Status>(data) {
        let _ = status.peer.values().map(|p| p.dns_name.len()).sum::<usize>();
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some((port, token)) = port_and_token_in_lsof(text) {
            assert!(
                !token.is_empty() && token.trim() == token,
                "port {port}, token {token:?}"
            );
        }
    }
});

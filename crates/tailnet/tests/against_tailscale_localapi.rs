//! Why the LocalAPI's answers are read with this crate's own types rather than those of the
//! tailscale-localapi crate (0.6): it reads the captures as they are, but not what real daemons
//! also send, and it misses whois capabilities. Each case here is a capture changed the way
//! some daemon version or state answers; ours must read them all.
#![allow(clippy::unwrap_used)]

use serde_json::{Value, json};
use switchboard_tailnet::{Status, WhoIs};

fn fixture(name: &str) -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn both_read_the_captures() {
    for name in [
        "real-1.96.4-status-needslogin.json",
        "synthetic-status-running.json",
    ] {
        serde_json::from_value::<tailscale_localapi::Status>(fixture(name)).unwrap();
        serde_json::from_value::<Status>(fixture(name)).unwrap();
    }
}

#[test]
fn only_ours_reads_what_other_daemons_and_states_send() {
    let running = fixture("synthetic-status-running.json");
    let variants: [(&str, fn(&mut Value)); 5] = [
        ("InUseOtherUser (Windows: another user's session)", |v| {
            v["BackendState"] = json!("InUseOtherUser")
        }),
        ("no Self yet (starting up)", |v| v["Self"] = Value::Null),
        ("no Health list", |v| {
            v.as_object_mut().unwrap().remove("Health");
        }),
        ("no CertDomains (HTTPS off)", |v| {
            v.as_object_mut().unwrap().remove("CertDomains");
        }),
        ("a peer without a DERP relay", |v| {
            for peer in v["Peer"].as_object_mut().unwrap().values_mut() {
                peer.as_object_mut().unwrap().remove("Relay");
            }
        }),
    ];
    for (what, change) in variants {
        let mut answer = running.clone();
        change(&mut answer);
        assert!(
            serde_json::from_value::<tailscale_localapi::Status>(answer.clone()).is_err(),
            "tailscale-localapi now reads {what}; consider using it"
        );
        serde_json::from_value::<Status>(answer).unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}

#[test]
fn only_ours_reads_whois_capabilities() {
    let whois = fixture("synthetic-whois-user.json");
    let theirs: tailscale_localapi::Whois = serde_json::from_value(whois.clone()).unwrap();
    assert!(theirs.caps.is_empty(), "it reads the old `Caps`, not `CapMap`");
    let ours: WhoIs = serde_json::from_value(whois).unwrap();
    assert!(ours.cap_map.contains_key("example.com/cap/mcp-gateway"));
}

//! End to end: tool quarantine. The real mcp-server-time (PyPI) behind the daemon, started
//! by a launcher whose local timezone (which the server writes into its tools' schemas) the
//! test changes between runs, as an update of a package changes its definitions; the
//! official Python SDK client lists and calls through the gateway.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{OfferedClient, Sandbox, messages, next_event, time_launcher, wait_until};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

/// What the timezone argument of `tool` says, as the client was offered it.
fn zone_text(seen: &Value, tool: &str) -> String {
    let properties = &seen["schemas"][tool]["properties"];
    let argument = if tool == "get_current_time" {
        "timezone"
    } else {
        "source_timezone"
    };
    let text = properties[argument]["description"].as_str();
    text.unwrap_or_else(|| panic!("{tool} has no {argument} description: {seen}"))
        .to_owned()
}

#[test]
fn a_changed_definition_is_held_until_approved_then_clients_are_told() {
    let sb = Sandbox::with_daemon();
    let (launcher, zone) = time_launcher(&sb, "Europe/Paris");
    let auth = format!("Bearer {}", sb.token());
    let events = messages(sb.http_send("GET", "/api/v1/events", &[("Authorization", &auth)], ""));
    sb.ok(&["add", "time", "--", launcher.to_str().unwrap()]);
    sb.wait_state("time", "running", START);
    let token = sb.ok(&["token", "create", "py"]).trim().to_owned();
    let paris = json!({"get_current_time": {"timezone": "Europe/Paris"}}).to_string();

    // Added: what it offers is approved as it is.
    let seen = OfferedClient::start(&sb, "/mcp/time", &paris, &token, None).first();
    assert!(
        zone_text(&seen, "get_current_time").contains("Use 'Europe/Paris'"),
        "{seen}"
    );
    assert_eq!(sb.json(&["quarantine"])["held"], json!([]));

    // Restarted with other definitions: both tools are held, announced, and shown with
    // what changed.
    std::fs::write(&zone, "Asia/Tokyo").unwrap();
    sb.ok(&["restart", "time"]);
    sb.wait_state("time", "running", START);
    let held = wait_until("the changed tools to be held", START, || {
        let view = sb.json(&["quarantine"]);
        (view["held"].as_array().unwrap().len() == 2).then_some(view)
    });
    assert_eq!(held["held"][0]["tool"], "convert_time", "{held}");
    let event = next_event(&events, "tools_held");
    assert_eq!(event["server"], "time", "{event}");
    assert_eq!(
        event["tools"],
        json!(["convert_time", "get_current_time"]),
        "{event}"
    );
    let shown = sb.ok(&["quarantine"]);
    assert!(
        shown.contains("time get_current_time: changed since it was approved"),
        "{shown}"
    );
    assert!(
        shown.contains("-") && shown.contains("Use 'Europe/Paris'") && shown.contains("Use 'Asia/Tokyo'"),
        "{shown}"
    );

    // A client keeps the approved definitions, and its calls still work.
    let mut client = OfferedClient::start(&sb, "/mcp/time", &paris, &token, None);
    let seen = client.first();
    assert!(
        zone_text(&seen, "get_current_time").contains("Use 'Europe/Paris'"),
        "{seen}"
    );
    assert!(
        zone_text(&seen, "convert_time").contains("Use 'Europe/Paris'"),
        "{seen}"
    );
    assert!(
        seen["calls"]["get_current_time"]["text"]
            .as_str()
            .unwrap()
            .contains("Europe/Paris"),
        "{seen}"
    );

    // One tool approved: the open session is told, and lists its new definition.
    let approved = sb.json(&["quarantine", "approve", "time", "get_current_time"]);
    assert_eq!(approved["approved"], json!(["get_current_time"]), "{approved}");
    let after = client.last();
    assert!(
        zone_text(&after, "get_current_time").contains("Use 'Asia/Tokyo'"),
        "{after}"
    );
    assert!(
        zone_text(&after, "convert_time").contains("Use 'Europe/Paris'"),
        "{after}"
    );
    let tools = sb.json(&["tools", "time"]);
    let held: Vec<&Value> = tools
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["held"] == true)
        .collect();
    assert_eq!(held.len(), 1, "{tools}");
    assert_eq!(held[0]["name"], "convert_time", "{tools}");

    // Trusting its updates approves the rest, and what comes after.
    let refused = sb.cli(&["quarantine", "approve", "time", "no_such_tool"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("no held tool named no_such_tool"));
    sb.ok(&["quarantine", "trust", "time", "on"]);
    assert_eq!(sb.json(&["quarantine"]), json!({"held": [], "trusted": ["time"]}));
    std::fs::write(&zone, "America/Lima").unwrap();
    sb.ok(&["restart", "time"]);
    sb.wait_state("time", "running", START);
    let seen = OfferedClient::start(&sb, "/mcp/time", "{}", &token, None).first();
    assert!(
        zone_text(&seen, "convert_time").contains("Use 'America/Lima'"),
        "{seen}"
    );
}

//! Properties the fuzz targets check, shared by the targets of one family.
//!
//! Each target feeds arbitrary bytes to a parser that reads input Switchboard does not control,
//! and asserts what must hold for every input, not only for the ones the unit tests thought
//! of: no panic, no hang, and edits that keep everything they did not mean to touch. Seeds
//! come from the repository's fixtures (see `scripts/fuzz.sh`).

use serde_json::{Value, json};
use switchboard_clients::catalog;
use switchboard_clients::config::Config;

/// The entry name the config targets set and remove.
const OURS: &str = "switchboard";

/// Parses `data` as the config file of each client in `clients`, then sets and removes
/// Switchboard's entry. The file must round-trip untouched when only read, every edit must
/// give a file that parses, holds exactly our change, and keeps every other entry as it was.
pub fn check_config_edits(clients: &[&str], data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entry = json!({
        "command": "/usr/local/bin/switchboard",
        "args": ["connect", "--client", "fuzz"],
        "env": {"SWITCHBOARD_TOKEN_FILE": "/tmp/token"}
    });
    for id in clients {
        let Some(client) = catalog::find(id) else {
            panic!("{id} is not in the client catalog");
        };
        let Ok(mut config) = Config::parse(client.format, Some(text)) else {
            continue;
        };
        if !text.trim_start_matches('\u{feff}').trim().is_empty() {
            assert_eq!(config.text(), text, "{id}: reading the file changed it");
        }
        let before = others(&config.entries(client));
        if config.set_entry(client, OURS, &entry).is_err() {
            continue;
        }
        let written = reparse(client, &config.text(), "setting our entry");
        let ours = written.entry(client, OURS);
        let ours = ours.as_ref().and_then(Value::as_object);
        let Some(ours) = ours else {
            panic!("{id}: our entry is missing after it was set:\n{}", written.text());
        };
        for (key, value) in entry.as_object().into_iter().flatten() {
            assert_eq!(ours.get(key), Some(value), "{id}: our entry's `{key}`");
        }
        assert_eq!(
            before,
            others(&written.entries(client)),
            "{id}: setting ours changed others"
        );

        let mut config = written;
        match config.remove_entry(client, OURS) {
            Ok(true) => {}
            other => panic!("{id}: removing the entry just set gave {other:?}"),
        }
        let removed = reparse(client, &config.text(), "removing our entry");
        assert_eq!(
            removed.entry(client, OURS),
            None,
            "{id}: our entry survived removal"
        );
        assert_eq!(
            before,
            others(&removed.entries(client)),
            "{id}: removing ours changed others"
        );
    }
}

fn reparse(client: &catalog::Client, text: &str, after: &str) -> Config {
    match Config::parse(client.format, Some(text)) {
        Ok(config) => config,
        Err(e) => panic!(
            "{}: {after} made a file that does not parse ({e}):\n{text}",
            client.id
        ),
    }
}

fn others(entries: &[(String, Value)]) -> Vec<(String, Value)> {
    entries.iter().filter(|(name, _)| name != OURS).cloned().collect()
}

//! The corpus: realistic config files as clients and people write them (comments, trailing
//! commas, CRLF, a BOM, tabs, deep unknown keys, other servers). For each file and every client
//! of its format: connecting twice changes nothing the second time, the result parses and
//! holds the entries, and disconnecting gives back the original bytes.

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use switchboard_clients::catalog::{self, Format, Layout};
use switchboard_clients::config::Config;
use switchboard_clients::entry::{Gateway, Route};
use switchboard_clients::plan::{self, Change, Ownership};

fn corpus() -> Vec<(String, String)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
    let mut files: Vec<(String, String)> = std::fs::read_dir(&dir)
        .expect("corpus dir")
        .map(|e| {
            let path = e.expect("entry").path();
            let name = path.file_name().expect("name").to_string_lossy().into_owned();
            (name, std::fs::read_to_string(&path).expect("utf-8 corpus file"))
        })
        .collect();
    files.sort();
    files
}

fn format_of(name: &str) -> Format {
    match name.rsplit('.').next() {
        Some("json") => Format::Json,
        Some("jsonc") => Format::Jsonc,
        Some("toml") => Format::Toml,
        _ => Format::Yaml,
    }
}

#[test]
fn every_corpus_file_round_trips_for_every_client_of_its_format() {
    let gateway = Gateway {
        base_url: "http://127.0.0.1:7349".into(),
        shim_program: "/usr/local/bin/switchboard".into(),
        shim_env: BTreeMap::new(),
    };
    let routes = [Route::Server("time".into()), Route::Aggregate];
    let mut checked = 0;
    for (name, original) in corpus() {
        let owner = name.split('.').next().unwrap_or_default();
        let format = format_of(&name);
        let json_like = |f: Format| matches!(f, Format::Json | Format::Jsonc);
        let clients = catalog::all().iter().filter(|c| {
            let same = c.format == format || (json_like(c.format) && json_like(format));
            // A YAML file's root belongs to one client; only it is tried on the file.
            same && (format != Format::Yaml || c.id == owner)
        });
        for client in clients {
            let what = format!("{name} as {}", client.id);
            let first = plan::connect(
                client,
                Some(&original),
                &Ownership::default(),
                &gateway,
                &routes,
                "sbc_T",
                false,
            )
            .unwrap_or_else(|e| panic!("{what}: {e}"));
            let connected = first.after.clone().expect("text");
            let config =
                Config::parse(client.format, Some(&connected)).unwrap_or_else(|e| panic!("{what}: {e}"));
            for route in &routes {
                assert_eq!(
                    config.entry(client, route.entry_name()),
                    Some(gateway.entry(client, route, "sbc_T")),
                    "{what}:\n{connected}"
                );
            }
            let again = plan::connect(
                client,
                Some(&connected),
                &first.ownership,
                &gateway,
                &routes,
                "sbc_T",
                false,
            )
            .expect("second connect");
            assert_eq!(again.after.as_deref(), Some(connected.as_str()), "{what}");
            assert!(
                again.changes.iter().all(|c| matches!(c, Change::Unchanged(_))),
                "{what}"
            );
            let undone =
                plan::disconnect(client, Some(&connected), &again.ownership, false).expect("disconnect");
            assert_eq!(undone.after.as_deref(), Some(original.as_str()), "{what}");
            checked += 1;
        }
        // The file's own servers are still there, untouched, for its own client.
        if let Some(client) = catalog::find(owner) {
            let before = Config::parse(client.format, Some(&original))
                .expect("parses")
                .entries(client);
            assert!(!before.is_empty(), "{name} has servers of its own");
            if client.layout == Layout::Map {
                let plan = plan::connect(
                    client,
                    Some(&original),
                    &Ownership::default(),
                    &gateway,
                    &routes,
                    "t",
                    false,
                )
                .expect("connect");
                let after = Config::parse(client.format, plan.after.as_deref()).expect("parses");
                for (server, value) in &before {
                    assert_eq!(
                        after.entry(client, server).as_ref(),
                        Some(value),
                        "{name}: {server}"
                    );
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} combinations were checked");
}

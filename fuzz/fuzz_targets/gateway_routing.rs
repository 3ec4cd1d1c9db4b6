//! The aggregate endpoint's names: every tool or prompt of every server gets a name within the
//! limit, in the allowed characters, stable, never shared, and that routes back to it.
//! Input: lines of `server<TAB>original name`; the line's parity picks tool or prompt.
#![no_main]

use std::collections::HashMap;

use switchboard_gateway::aggregate::{Catalog, Kind, MAX_NAME};
use switchboard_model::ServerName;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut catalog = Catalog::default();
    let mut given: HashMap<(Kind, String), (String, String)> = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let Some((server, original)) = line.split_once('\t') else {
            continue;
        };
        let Ok(server) = ServerName::new(server) else {
            continue;
        };
        let kind = if n % 2 == 0 { Kind::Tool } else { Kind::Prompt };
        let name = catalog.name(kind, &server, original);
        assert!(name.len() <= MAX_NAME, "{name} is longer than {MAX_NAME}");
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_-.".contains(c)),
            "{name} has a character clients refuse"
        );
        assert_eq!(
            catalog.name(kind, &server, original),
            name,
            "names are not stable"
        );
        assert_eq!(
            catalog.resolve(kind, &name),
            Some((server.clone(), original.to_owned())),
            "{name} does not route back"
        );
        let owner = (server.as_str().to_owned(), original.to_owned());
        if let Some(previous) = given.insert((kind, name.clone()), owner.clone()) {
            assert_eq!(previous, owner, "{name} was given to two different tools");
        }

        // A resource template routes every URI under its literal prefix to its server.
        catalog.add_template(original, &server);
        let prefix = original.split('{').next().unwrap_or_default();
        let routed = catalog.resource_server(&format!("{prefix}/x"));
        assert!(routed.is_some(), "a URI under template {original} has no server");
    }
});

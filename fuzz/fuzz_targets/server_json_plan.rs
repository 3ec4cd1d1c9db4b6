//! The server.json planner: any document the registry could serve is either refused with a
//! schema error or planned per source, and a secret input never reaches a command line or the
//! values kept in the store.
#![no_main]

use switchboard_model::api::{InputField, InputFormat};
use switchboard_registry::plan::{self, Endpoint, Values};
use switchboard_registry::validate;

const SECRET: &str = "s3cret-fuzz-value";

fn value_for(field: &InputField) -> String {
    if field.secret {
        return SECRET.to_owned();
    }
    if let Some(default) = field.default.as_ref().or(field.choices.first()) {
        return default.clone();
    }
    match field.format {
        InputFormat::Number => "8".to_owned(),
        InputFormat::Boolean => "true".to_owned(),
        InputFormat::Filepath => "/tmp/fuzz dir".to_owned(),
        InputFormat::String => "value with spaces; $(and) 'quotes'".to_owned(),
    }
}

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(server) = validate::parse(&document) else {
        return;
    };
    let sources = plan::sources(&server);
    if let Ok(chosen) = plan::select(&server, None, |_| true) {
        assert!(
            sources.contains(&chosen),
            "select chose a source the document does not have"
        );
    }
    for source in sources {
        let form = plan::form(&server, source);
        let values: Values = form
            .iter()
            .map(|field| (field.key.clone(), vec![value_for(field)]))
            .collect();
        let Ok(planned) = plan::plan(&server, source, &values) else {
            continue;
        };
        let on_command_line = planned.runtime_args.iter().chain(&planned.package_args);
        for arg in on_command_line {
            assert!(!arg.contains(SECRET), "a secret reached the command line: {arg}");
        }
        for kept in planned.inputs.values().flatten() {
            assert!(
                !kept.contains(SECRET),
                "a secret is among the values kept: {kept}"
            );
        }
        let headers = match &planned.endpoint {
            Endpoint::Remote { headers, url, .. } => {
                assert!(!url.contains(SECRET), "a secret is in the URL: {url}");
                Some(headers)
            }
            Endpoint::LocalHttp { url } => {
                assert!(!url.contains(SECRET), "a secret is in the URL: {url}");
                None
            }
            Endpoint::Stdio => None,
        };
        for (name, resolved) in planned.env.iter().chain(headers.into_iter().flatten()) {
            assert!(
                resolved.secret || !resolved.text.contains(SECRET),
                "{name} holds a secret but is not flagged as one"
            );
        }
    }
});

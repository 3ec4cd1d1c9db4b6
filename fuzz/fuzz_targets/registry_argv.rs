//! Registry data never becomes an option or a URL on a package manager's command line: for
//! any document that plans, the one argv element naming what to fetch neither starts with `-`
//! nor holds a URL scheme, and container runtime arguments the check lets through without
//! the user's consent grant no host access.
#![no_main]

use switchboard_registry::plan::identifier::fetch_target;
use switchboard_registry::plan::{self, Values};
use switchboard_registry::{runtime_args, validate};

/// Spellings that must never pass without consent, as one element or a flag and its value.
const WIDENING: &[&str] = &[
    "--privileged",
    "--network=host",
    "--net=host",
    "--pid=host",
    "--ipc=host",
    "--userns=host",
    "--uts=host",
    "--cap-add",
    "--device",
    "--security-opt",
    "--env-file",
    "-P",
    "--publish-all",
];

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(server) = validate::parse(&document) else {
        return;
    };
    for source in plan::sources(&server) {
        let values: Values = plan::form(&server, source)
            .iter()
            .map(|field| {
                let value = field.default.clone().or(field.choices.first().cloned());
                (field.key.clone(), vec![value.unwrap_or_else(|| "8".to_owned())])
            })
            .collect();
        let Ok(planned) = plan::plan(&server, source, &values) else {
            continue;
        };
        if let Some(target) = fetch_target(&planned.fetch) {
            assert!(!target.starts_with('-'), "an option-like fetch target: {target}");
            assert!(!target.contains("://"), "a URL as fetch target: {target}");
            assert!(
                !target.chars().any(char::is_whitespace),
                "a fetch target with spaces: {target:?}"
            );
        }
        if runtime_args::check(&planned.runtime_args, &[]).is_ok() {
            let args = &planned.runtime_args;
            for (i, arg) in args.iter().enumerate() {
                assert!(arg != "--", "`--` let through: {args:?}");
                assert!(
                    arg.starts_with('-') || i > 0,
                    "a positional let through: {args:?}"
                );
                // In a flag's place: first, or after a value or a `--flag=value`.
                let flag_place = i == 0 || !args[i - 1].starts_with('-') || args[i - 1].contains('=');
                if !flag_place {
                    continue;
                }
                assert!(!WIDENING.contains(&arg.as_str()), "{arg} let through: {args:?}");
                let host_mount = matches!(arg.as_str(), "-v" | "--volume")
                    && args.get(i + 1).is_some_and(|v| v.starts_with(['/', '.', '~']));
                assert!(!host_mount, "a host mount let through: {args:?}");
            }
        }
    }
});

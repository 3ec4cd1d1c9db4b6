//! Every entry of the real registry sample (tests/registry/registry-sample.json), planned.
//!
//! Each entry must give a plan or a specific error, and none may panic. The outcomes are
//! written to `tests/golden/fixture-plans.txt`: once with no values on a machine with node,
//! npm, uv and python but no container runtime or .NET, and once with every required input
//! given and every runtime present. `UPDATE_GOLDEN=1` rewrites the file after a deliberate
//! change; its diff is reviewed like code.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use switchboard_registry::plan::{self, Endpoint, Runtime};
use switchboard_registry::server_json::Page;
use switchboard_registry::{PlanError, Values, validate};

fn fixture() -> Page {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/registry/registry-sample.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("the sample is a page of the listing")
}

fn outcome(entry: &serde_json::Value, has: impl Fn(Runtime) -> bool + Copy, fill: bool) -> String {
    let server = match validate::parse(entry) {
        Ok(server) => server,
        Err(violation) => return format!("refused: {violation}"),
    };
    let source = match plan::select(&server, None, has) {
        Ok(source) => source,
        Err(error) => return format!("refused: {error}"),
    };
    let mut values = Values::new();
    if fill {
        for field in plan::form(&server, source)
            .into_iter()
            .filter(|f| f.required && f.default.is_none())
        {
            let sample = match field.format {
                _ if !field.choices.is_empty() => field.choices[0].clone(),
                switchboard_model::api::InputFormat::Number => "8080".to_owned(),
                switchboard_model::api::InputFormat::Boolean => "true".to_owned(),
                _ => format!("<{}>", field.key),
            };
            values.insert(field.key, vec![sample]);
        }
    }
    match plan::plan(&server, source, &values) {
        Ok(plan) => {
            let env: Vec<String> = plan
                .env
                .iter()
                .map(|(k, v)| {
                    if v.secret {
                        format!("{k}=(secret)")
                    } else {
                        format!("{k}={}", v.text)
                    }
                })
                .collect();
            let endpoint = match &plan.endpoint {
                Endpoint::Stdio => "stdio".to_owned(),
                Endpoint::LocalHttp { url } => format!("local {url}"),
                Endpoint::Remote { url, headers, kind } => {
                    let headers: Vec<String> = headers
                        .iter()
                        .map(|(k, v)| {
                            if v.secret {
                                format!("{k}: (secret)")
                            } else {
                                format!("{k}: {}", v.text)
                            }
                        })
                        .collect();
                    format!("remote {kind:?} {url} [{}]", headers.join("; "))
                }
            };
            format!(
                "plan {}: fetch {:?}; runtime args {:?}; args {:?}; env [{}]; {endpoint}{}",
                plan.source.kind,
                plan.fetch,
                plan.runtime_args,
                plan.package_args,
                env.join(", "),
                if plan.warnings.is_empty() {
                    String::new()
                } else {
                    format!("; warnings {:?}", plan.warnings)
                }
            )
        }
        Err(error @ PlanError::MissingInputs { .. }) => format!("needs input: {error}"),
        Err(error) => format!("refused: {error}"),
    }
}

#[test]
fn every_fixture_entry_plans_or_says_why_not() {
    let page = fixture();
    assert_eq!(page.servers.len(), 49);
    let mut actual = String::new();
    let mut refused_by_schema = 0;
    for entry in &page.servers {
        let (name, version) = entry
            .name_and_version()
            .expect("every entry has a name and version");
        let bare = outcome(
            &entry.server,
            |r| matches!(r, Runtime::Node | Runtime::Npm | Runtime::Uv | Runtime::Python),
            false,
        );
        let filled = outcome(&entry.server, |_| true, true);
        refused_by_schema += usize::from(bare.starts_with("refused: server.json field"));
        writeln!(actual, "{name}@{version}\n  as is: {bare}\n  filled: {filled}").expect("write");
    }
    // The provenance file records ten entries that fail the released schema.
    assert_eq!(refused_by_schema, 10, "{actual}");

    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fixture-plans.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
        std::fs::write(&path, &actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{} differs from the planner's output; if intended, run with UPDATE_GOLDEN=1 and review the diff\n{actual}",
        path.display()
    );
}

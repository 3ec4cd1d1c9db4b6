//! Every entry of the real registry sample (tests/registry/registry-sample.json), planned,
//! then handmade documents with defects (tests/fixtures/defects.json).
//!
//! Each entry must give a plan or a specific error, and none may panic. The outcomes are
//! written to `tests/golden/fixture-plans.txt`: the schema's cosmetic warnings, if any, then
//! the plan (with its dependencies dated by the entry's `publishedAt`) with no values on a machine with node, npm, uv and python but no container runtime
//! or .NET, and with every required input given and every runtime present. `UPDATE_GOLDEN=1`
//! rewrites the file after a deliberate change (and fails, so such a run never passes); its
//! diff is reviewed like code and the test run again without it.

#![allow(clippy::expect_used)]

use std::path::{Path, PathBuf};

use switchboard_registry::plan::{self, Endpoint, Runtime};
use switchboard_registry::server_json::Page;
use switchboard_registry::{PlanError, Values, validate};

fn fixture() -> Page {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/registry/registry-sample.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_slice(&bytes).expect("the sample is a page of the listing")
}

fn outcome(
    entry: &serde_json::Value,
    published_at: Option<&str>,
    has: impl Fn(Runtime) -> bool + Copy,
    fill: bool,
) -> String {
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
        Ok(mut plan) => {
            plan.pin_dependencies(published_at);
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
                "plan {}: fetch {:?}; runtime args {:?}; args {:?}; env [{}]; {endpoint}{}{}",
                plan.source.kind,
                plan.fetch,
                plan.runtime_args,
                plan.package_args,
                env.join(", "),
                if plan.warnings.is_empty() {
                    String::new()
                } else {
                    format!("; warnings {:?}", plan.warnings)
                },
                match &plan.dependencies_as_of {
                    Some(date) => format!("; {}", date.summary()),
                    None => String::new(),
                }
            )
        }
        Err(error @ PlanError::MissingInputs { .. }) => format!("needs input: {error}"),
        Err(error) => format!("refused: {error}"),
    }
}

/// The golden lines for one document: its schema warnings, then both plans.
fn outcomes(title: &str, document: &serde_json::Value, published_at: Option<&str>) -> String {
    let bare = outcome(
        document,
        published_at,
        |r| matches!(r, Runtime::Node | Runtime::Npm | Runtime::Uv | Runtime::Python),
        false,
    );
    let filled = outcome(document, published_at, |_| true, true);
    let warned = match validate::parse(document) {
        Ok(server) if !server.warnings.is_empty() => format!("  warned: {:?}\n", server.warnings),
        _ => String::new(),
    };
    format!("{title}\n{warned}  as is: {bare}\n  filled: {filled}\n")
}

#[test]
fn every_fixture_entry_plans_or_says_why_not() {
    let page = fixture();
    assert_eq!(page.servers.len(), 49);
    let mut actual = String::new();
    for entry in &page.servers {
        let (name, version) = entry
            .name_and_version()
            .expect("every entry has a name and version");
        let published_at = entry.official().published_at;
        let title = format!("{name}@{version}");
        actual.push_str(&outcomes(&title, &entry.server, published_at.as_deref()));
    }
    // The provenance file records ten entries that fail the released schema, all on cosmetic
    // rules (an empty or over-long description): each plans, with its warning.
    let warned = actual.matches("\n  warned: ").count();
    let refused_by_schema = actual.matches(": refused: server.json field").count();
    assert_eq!((warned, refused_by_schema), (10, 0), "{actual}");

    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/defects.json");
    let defects: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(&path).expect("defects.json")).expect("a list");
    actual.push_str("\n# handmade documents with defects (tests/fixtures/defects.json)\n");
    for defect in &defects {
        let case = defect["case"].as_str().expect("every defect names its case");
        let lines = outcomes(case, &defect["server"], None);
        let refused = lines.contains("as is: refused");
        assert_eq!(case.starts_with("refused"), refused, "{lines}");
        actual.push_str(&lines);
    }

    let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/fixture-plans.txt");
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        // A run that updates never passes: it writes, then fails saying so.
        let rewritten = std::fs::read_to_string(&path).ok() != Some(actual.clone());
        if rewritten {
            std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
            std::fs::write(&path, &actual).expect("write golden");
        }
        panic!(
            "UPDATE_GOLDEN is set, so this run only writes: {} {}; review the diff, then run \
             again without UPDATE_GOLDEN",
            path.display(),
            if rewritten {
                "rewritten"
            } else {
                "already matched, not rewritten"
            }
        );
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{} differs from the planner's output; if intended, run with UPDATE_GOLDEN=1 and review the diff\n{actual}",
        path.display()
    );
}

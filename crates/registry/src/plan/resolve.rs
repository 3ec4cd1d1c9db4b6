//! Resolving the user's values into a [`Plan`]: each value checked against its field, then
//! substituted into arguments, environment, headers and URL, and the fetch and endpoint chosen
//! for the source.
//!
//! Pure: the identifiers are checked, but nothing is fetched and no secret is stored.

use std::collections::BTreeMap;

use switchboard_model::api::{InputField, InputFormat};

use super::form::{argument_key, form, parts, placeholders};
use super::{Endpoint, Fetch, Plan, PlanError, Resolved, Source, SourceKind, Values};
use crate::server_json::{Argument, Input, KeyValueInput, ServerJson};

/// Resolves `values` against `source`'s form into a [`Plan`].
pub fn plan(server: &ServerJson, source: Source, values: &Values) -> Result<Plan, PlanError> {
    let fields = form(server, source);
    check_known(&fields, values)?;
    let resolved = choose(&fields, values)?;
    let parts = parts(server, source);
    let mut warnings = server.warnings.clone();
    let runtime_args = arguments(parts.runtime_args, &resolved)?;
    let package_args = arguments(parts.package_args, &resolved)?;
    let env = key_values(parts.env, &resolved);
    let headers = key_values(parts.headers, &resolved);
    let url = parts.url.map(|url| substitute(url, &resolved).text);
    let (fetch, endpoint) = fetch_and_endpoint(server, source, url, headers, &mut warnings)?;
    let inputs = resolved
        .iter()
        .filter(|(_, (_, secret))| !secret)
        .map(|(key, (values, _))| ((*key).to_owned(), values.clone()))
        .collect();
    Ok(Plan {
        server: server.name.clone(),
        version: server.version.clone(),
        source,
        fetch,
        runtime_args,
        package_args,
        env,
        endpoint,
        inputs,
        warnings,
        dependencies_as_of: None,
    })
}

/// Refuses a value for a key the form does not have, naming the keys it does.
fn check_known(fields: &[InputField], values: &Values) -> Result<(), PlanError> {
    for key in values.keys() {
        if !fields.iter().any(|field| &field.key == key) {
            return Err(PlanError::UnknownInput {
                key: key.clone(),
                known: if fields.is_empty() {
                    "(none)".to_owned()
                } else {
                    fields
                        .iter()
                        .map(|field| field.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                },
            });
        }
    }
    Ok(())
}

/// Every field's value, checked, or the list of required ones that have none.
fn choose<'f>(fields: &'f [InputField], values: &Values) -> Result<Chosen<'f>, PlanError> {
    let mut resolved: Chosen<'f> = BTreeMap::new();
    let mut missing = Vec::new();
    for field in fields {
        let given = values.get(&field.key).filter(|given| !given.is_empty());
        let chosen = match (given, &field.default) {
            (Some(given), _) => given.clone(),
            (None, Some(default)) => vec![default.clone()],
            (None, None) if field.required => {
                missing.push(field.key.clone());
                continue;
            }
            (None, None) => continue,
        };
        check_value(field, &chosen)?;
        resolved.insert(&field.key, (chosen, field.secret));
    }
    if !missing.is_empty() {
        return Err(PlanError::MissingInputs { keys: missing });
    }
    Ok(resolved)
}

/// The env vars (or headers) that have a value, resolved.
fn key_values(items: &[KeyValueInput], chosen: &Chosen<'_>) -> BTreeMap<String, Resolved> {
    let mut out = BTreeMap::new();
    for item in items {
        if let Some(value) = key_value(&item.name, &item.input, chosen) {
            out.insert(item.name.clone(), value);
        }
    }
    out
}

/// What to fetch and how to reach the server: a remote's URL and headers, or the package
/// (its identifier and the server's version checked) run over stdio or local HTTP.
fn fetch_and_endpoint(
    server: &ServerJson,
    source: Source,
    url: Option<String>,
    headers: BTreeMap<String, Resolved>,
    warnings: &mut Vec<String>,
) -> Result<(Fetch, Endpoint), PlanError> {
    let kind = match source.kind {
        SourceKind::StreamableHttp | SourceKind::Sse => {
            let endpoint = Endpoint::Remote {
                url: url.unwrap_or_default(),
                headers,
                kind: server.remotes[source.index].kind,
            };
            return Ok((Fetch::Nothing, endpoint));
        }
        kind => kind,
    };
    let package = &server.packages[source.index];
    if !package.runtime_arguments.is_empty() && kind != SourceKind::Oci {
        warnings.push(format!(
            "the package's runtime arguments are for {}, which Switchboard does not use: it runs the installed package directly",
            package.runtime_hint.as_deref().unwrap_or("its launcher")
        ));
    }
    let endpoint = match url {
        None => Endpoint::Stdio,
        Some(url) => {
            if !headers.is_empty() {
                warnings.push("headers for a local HTTP package are not sent".to_owned());
            }
            Endpoint::LocalHttp { url }
        }
    };
    super::identifier::check(
        kind,
        source.index,
        &package.identifier,
        package.version.as_deref(),
    )?;
    // The installer names the package's directory after it.
    super::identifier::check_version("version", "server version", &server.version)?;
    Ok((fetch_of(kind, package), endpoint))
}

fn fetch_of(kind: SourceKind, package: &crate::server_json::Package) -> Fetch {
    let package_name = package.identifier.clone();
    let version = package.version.clone();
    match kind {
        SourceKind::Npm => Fetch::Npm {
            package: package_name,
            version,
        },
        SourceKind::Pypi => Fetch::Pypi {
            package: package_name,
            version,
        },
        SourceKind::Nuget => Fetch::Nuget {
            package: package_name,
            version,
        },
        SourceKind::Oci => {
            // Current documents put the tag in the identifier; older ones used `version`.
            let tagged = package_name
                .rsplit('/')
                .next()
                .is_some_and(|last| last.contains(':'))
                || package_name.contains('@');
            Fetch::Oci {
                image: match version {
                    Some(version) if !tagged => format!("{package_name}:{version}"),
                    _ => package_name,
                },
            }
        }
        SourceKind::Mcpb => Fetch::Mcpb {
            url: package_name,
            sha256: package.file_sha256.clone().unwrap_or_default(),
        },
        SourceKind::StreamableHttp | SourceKind::Sse => Fetch::Nothing,
    }
}

fn check_value(field: &InputField, values: &[String]) -> Result<(), PlanError> {
    if values.len() > 1 && !field.repeated {
        return Err(PlanError::NotRepeatable {
            key: field.key.clone(),
            count: values.len(),
        });
    }
    for value in values {
        if !field.choices.is_empty() && !field.choices.contains(value) {
            return Err(PlanError::NotAChoice {
                key: field.key.clone(),
                given: value.clone(),
                choices: field.choices.clone(),
            });
        }
        let format_ok = match field.format {
            InputFormat::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
            InputFormat::Boolean => value == "true" || value == "false",
            InputFormat::String | InputFormat::Filepath => true,
        };
        if !format_ok {
            return Err(PlanError::WrongFormat {
                key: field.key.clone(),
                format: match field.format {
                    InputFormat::Number => "a number",
                    _ => "true or false",
                },
                given: value.clone(),
            });
        }
    }
    Ok(())
}

type Chosen<'a> = BTreeMap<&'a str, (Vec<String>, bool)>;

/// Replaces each `{name}` that has a value; the result is secret if any part was.
fn substitute(template: &str, chosen: &Chosen<'_>) -> Resolved {
    let mut text = template.to_owned();
    let mut secret = false;
    for name in placeholders(template) {
        if let Some((values, is_secret)) = chosen.get(name)
            && let Some(value) = values.first()
        {
            text = text.replace(&format!("{{{name}}}"), value);
            secret |= is_secret;
        }
    }
    Resolved { text, secret }
}

/// The value of an env var or header: its fixed text with variables filled, or the field's.
fn key_value(key: &str, input: &Input, chosen: &Chosen<'_>) -> Option<Resolved> {
    match &input.value {
        Some(value) => Some(substitute(value, chosen)),
        None => chosen.get(key).and_then(|(values, secret)| {
            values.first().map(|text| Resolved {
                text: text.clone(),
                secret: *secret,
            })
        }),
    }
}

fn arguments(arguments: &[Argument], chosen: &Chosen<'_>) -> Result<Vec<String>, PlanError> {
    let mut argv = Vec::new();
    for argument in arguments {
        let key = argument_key(argument);
        let input = argument.input();
        let values: Vec<Resolved> = match &input.value {
            Some(value) => vec![substitute(value, chosen)],
            None => match chosen.get(key.as_str()) {
                Some((values, secret)) => values
                    .iter()
                    .map(|text| Resolved {
                        text: text.clone(),
                        secret: *secret,
                    })
                    .collect(),
                None => continue,
            },
        };
        for value in values {
            if value.secret {
                return Err(PlanError::SecretArgument { key: key.clone() });
            }
            match argument {
                Argument::Named { name, .. } => {
                    argv.push(name.clone());
                    if !value.text.is_empty() {
                        argv.push(value.text);
                    }
                }
                Argument::Positional { .. } => argv.push(value.text),
            }
        }
    }
    Ok(argv)
}

//! The form a source needs: which parts of the document carry its inputs ([`Parts`]) and the
//! typed fields they ask for, each key once.
//!
//! Listing only; checking and applying values is [`super::resolve`]'s.

use std::collections::BTreeMap;

use switchboard_model::api::{InputField, InputPlace};

use super::{Source, SourceKind};
use crate::server_json::{Argument, Input, KeyValueInput, LocalTransport, ServerJson};

/// The parts of the document that carry inputs for `source`, in the order they are applied.
pub(super) struct Parts<'a> {
    pub(super) runtime_args: &'a [Argument],
    pub(super) package_args: &'a [Argument],
    pub(super) env: &'a [KeyValueInput],
    pub(super) headers: &'a [KeyValueInput],
    pub(super) url: Option<&'a str>,
    pub(super) url_variables: Option<&'a BTreeMap<String, Input>>,
}

pub(super) fn parts(server: &ServerJson, source: Source) -> Parts<'_> {
    match source.kind {
        SourceKind::StreamableHttp | SourceKind::Sse => {
            let remote = &server.remotes[source.index];
            Parts {
                runtime_args: &[],
                package_args: &[],
                env: &[],
                headers: &remote.headers,
                url: Some(&remote.url),
                url_variables: Some(&remote.variables),
            }
        }
        _ => {
            let package = &server.packages[source.index];
            let (url, headers) = match &package.transport {
                LocalTransport::Stdio => (None, &[][..]),
                LocalTransport::StreamableHttp { url, headers } | LocalTransport::Sse { url, headers } => {
                    (Some(url.as_str()), headers.as_slice())
                }
            };
            Parts {
                // Only a container runtime's arguments survive running the package directly.
                runtime_args: if source.kind == SourceKind::Oci {
                    &package.runtime_arguments
                } else {
                    &[]
                },
                package_args: &package.package_arguments,
                env: &package.environment_variables,
                headers,
                url,
                url_variables: None,
            }
        }
    }
}

/// The inputs `source` needs, each once (a key used in several places shares one value).
pub fn form(server: &ServerJson, source: Source) -> Vec<InputField> {
    let parts = parts(server, source);
    let mut fields: Vec<InputField> = Vec::new();
    let mut add = |field: InputField| {
        if !fields.iter().any(|known| known.key == field.key) {
            fields.push(field);
        }
    };
    for argument in parts.runtime_args.iter().chain(parts.package_args) {
        input_fields(
            &argument_key(argument),
            argument.input(),
            InputPlace::Argument,
            argument.is_repeated(),
            &mut add,
        );
    }
    for item in parts.env {
        input_fields(&item.name, &item.input, InputPlace::Env, false, &mut add);
    }
    for item in parts.headers {
        input_fields(&item.name, &item.input, InputPlace::Header, false, &mut add);
    }
    if let Some(url) = parts.url {
        for name in placeholders(url) {
            let input = parts
                .url_variables
                .and_then(|variables| variables.get(name))
                .cloned()
                // A package's URL names one of its own inputs, or a value the user must say
                // (typically the port the package listens on).
                .unwrap_or(Input {
                    is_required: true,
                    ..Input::default()
                });
            input_fields(name, &input, InputPlace::Variable, false, &mut add);
        }
    }
    fields
}

pub(super) fn argument_key(argument: &Argument) -> String {
    match argument {
        Argument::Named { name, .. } => name.clone(),
        Argument::Positional {
            value_hint, input, ..
        } => value_hint
            .clone()
            .or_else(|| input.value.clone())
            .unwrap_or_default(),
    }
}

/// A fixed `value` asks only for the variables it names; otherwise the input is itself a field.
fn input_fields(
    key: &str,
    input: &Input,
    place: InputPlace,
    repeated: bool,
    add: &mut impl FnMut(InputField),
) {
    match &input.value {
        Some(value) => {
            for name in placeholders(value) {
                if let Some(variable) = input.variables.get(name) {
                    add(field(name, variable, InputPlace::Variable, false));
                }
            }
        }
        None => add(field(key, input, place, repeated)),
    }
}

fn field(key: &str, input: &Input, place: InputPlace, repeated: bool) -> InputField {
    InputField {
        key: key.to_owned(),
        place,
        description: input.description.clone(),
        required: input.is_required,
        secret: input.is_secret,
        format: input.format,
        default: input.default.clone(),
        placeholder: input.placeholder.clone(),
        choices: input.choices.clone(),
        repeated,
    }
}

/// The `{name}`s in a template, in order.
pub(super) fn placeholders(template: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !name.is_empty() && !name.contains(char::is_whitespace) {
            names.push(name);
        }
        rest = &after[close + 1..];
    }
    names
}

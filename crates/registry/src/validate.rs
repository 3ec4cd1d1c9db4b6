//! Reading a published document as a [`ServerJson`] and checking it against the schema's rules.
//!
//! Liberal in what it installs: only what makes an install impossible or unsafe is refused (a
//! malformed name, a version range, a bad or missing hash, a URL that is not http(s), an
//! argument that cannot be built), and every refusal names the field (`packages[0].fileSha256`)
//! and what is wrong with it. Cosmetic departures real registry documents make (an empty or
//! over-long description or title, fields the schema does not know) become warnings carried in
//! [`ServerJson::warnings`], which plans, `switchboard info` and the install form show. Only
//! rules the released schema states are checked; what a rule leaves open (an unknown package
//! type, a runtime this machine lacks) is the planner's to report.

use crate::server_json::{Argument, Input, KeyValueInput, LocalTransport, Package, ServerJson};

/// Top-level fields of the released schema (2025-12-11).
const SERVER_FIELDS: &[&str] = &[
    "$schema",
    "_meta",
    "description",
    "icons",
    "name",
    "packages",
    "remotes",
    "repository",
    "title",
    "version",
    "websiteUrl",
];

/// Fields of a package in the released schema.
const PACKAGE_FIELDS: &[&str] = &[
    "environmentVariables",
    "fileSha256",
    "identifier",
    "packageArguments",
    "registryBaseUrl",
    "registryType",
    "runtimeArguments",
    "runtimeHint",
    "transport",
    "version",
];

/// A document that does not follow the server.json schema.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("server.json field `{field}` {problem}")]
pub struct SchemaViolation {
    /// Where, as a path: `description`, `packages[1].transport.url`.
    pub field: String,
    pub problem: String,
}

impl SchemaViolation {
    fn new(field: impl Into<String>, problem: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            problem: problem.into(),
        }
    }
}

/// Parses `value` and checks the schema's rules: the first violation that stops an install is
/// returned; cosmetic ones are kept in the document's [`ServerJson::warnings`].
pub fn parse(value: &serde_json::Value) -> Result<ServerJson, SchemaViolation> {
    let mut server: ServerJson = serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let field = if path == "." {
            "(document)".to_owned()
        } else {
            path
        };
        SchemaViolation::new(field, format!("has the wrong shape: {}", error.inner()))
    })?;
    check(&server)?;
    server.warnings = cosmetic(value, &server);
    Ok(server)
}

/// Departures from the schema that leave the document installable, each naming its field.
pub fn cosmetic(value: &serde_json::Value, server: &ServerJson) -> Vec<String> {
    let mut warnings = Vec::new();
    let mut warn = |field: String, problem: String| {
        warnings.push(SchemaViolation::new(field, problem).to_string());
    };
    if value.get("description").is_none() {
        warn(
            "description".to_owned(),
            "is missing; the schema requires text".to_owned(),
        );
    } else if let Some(problem) = length_problem(&server.description, 1, 100) {
        warn("description".to_owned(), problem);
    }
    if let Some(problem) = server
        .title
        .as_deref()
        .and_then(|title| length_problem(title, 1, 100))
    {
        warn("title".to_owned(), problem);
    }
    let mut unknown = |at: &str, object: Option<&serde_json::Value>, known: &[&str]| {
        let fields = object
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flatten();
        for (key, _) in fields.filter(|(key, _)| !known.contains(&key.as_str())) {
            warn(
                format!("{at}{key}"),
                "is not in the schema; it is ignored".to_owned(),
            );
        }
    };
    unknown("", Some(value), SERVER_FIELDS);
    for i in 0..server.packages.len() {
        unknown(
            &format!("packages[{i}]."),
            value.get("packages").and_then(|p| p.get(i)),
            PACKAGE_FIELDS,
        );
    }
    warnings
}

/// Checks a parsed document against the schema's lengths, patterns and cross-field rules.
pub fn check(server: &ServerJson) -> Result<(), SchemaViolation> {
    check_name(&server.name)?;
    check_version("version", &server.version)?;

    for (i, package) in server.packages.iter().enumerate() {
        check_package(&format!("packages[{i}]"), package)?;
    }
    for (i, remote) in server.remotes.iter().enumerate() {
        let at = format!("remotes[{i}]");
        check_url(&format!("{at}.url"), &remote.url)?;
        check_key_values(&format!("{at}.headers"), &remote.headers)?;
        for (variable, input) in &remote.variables {
            check_input(&format!("{at}.variables.{variable}"), input)?;
        }
    }
    Ok(())
}

/// A server's name: `namespace/local`, 3-200 characters of the allowed ones.
fn check_name(name: &str) -> Result<(), SchemaViolation> {
    let Some((namespace, local)) = name.split_once('/') else {
        return Err(SchemaViolation::new(
            "name",
            format!("is `{name}`; it must look like `io.github.owner/server`"),
        ));
    };
    let namespace_ok = !namespace.is_empty()
        && namespace
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-');
    let local_ok = !local.is_empty()
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if !(3..=200).contains(&name.len()) || !namespace_ok || !local_ok {
        return Err(SchemaViolation::new(
            "name",
            format!(
                "is `{name}`; it must be 3-200 characters of letters, digits, `.`, `_` and `-` around one `/`"
            ),
        ));
    }
    Ok(())
}

/// One package at `at` (`packages[i]`): identifier, version, digest, transport, arguments, env.
fn check_package(at: &str, package: &Package) -> Result<(), SchemaViolation> {
    if package.identifier.trim().is_empty() {
        return Err(SchemaViolation::new(format!("{at}.identifier"), "is empty"));
    }
    if let Some(version) = &package.version {
        check_version(&format!("{at}.version"), version)?;
    }
    if let Some(sha) = &package.file_sha256
        && !(sha.len() == 64
            && sha
                .chars()
                .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)))
    {
        return Err(SchemaViolation::new(
            format!("{at}.fileSha256"),
            "must be 64 lowercase hex digits",
        ));
    }
    if package.registry_type == "mcpb" && package.file_sha256.is_none() {
        return Err(SchemaViolation::new(
            format!("{at}.fileSha256"),
            "is required for an mcpb package, so the download can be verified",
        ));
    }
    match &package.transport {
        LocalTransport::Stdio => {}
        LocalTransport::StreamableHttp { url, headers } | LocalTransport::Sse { url, headers } => {
            check_url(&format!("{at}.transport.url"), url)?;
            check_key_values(&format!("{at}.transport.headers"), headers)?;
        }
    }
    for (list, arguments) in [
        ("runtimeArguments", &package.runtime_arguments),
        ("packageArguments", &package.package_arguments),
    ] {
        for (j, argument) in arguments.iter().enumerate() {
            check_argument(&format!("{at}.{list}[{j}]"), argument)?;
        }
    }
    check_key_values(
        &format!("{at}.environmentVariables"),
        &package.environment_variables,
    )?;
    Ok(())
}

/// What is wrong with the length of `value`, if anything.
fn length_problem(value: &str, min: usize, max: usize) -> Option<String> {
    let chars = value.chars().count();
    if chars < min {
        return Some("is empty; the schema requires text".to_owned());
    }
    (chars > max).then(|| format!("is {chars} characters long; the schema allows at most {max}"))
}

/// Versions must be exact: the registry refuses ranges and `latest`, and so does an install.
fn check_version(field: &str, version: &str) -> Result<(), SchemaViolation> {
    if let Some(problem) = length_problem(version, 1, 255) {
        return Err(SchemaViolation::new(field, problem));
    }
    if version == "latest" {
        return Err(SchemaViolation::new(
            field,
            "is `latest`; it must be an exact version",
        ));
    }
    let range_like = version.starts_with(['^', '~', '>', '<', '=', '*'])
        || version.contains(" - ")
        || version.contains("||")
        || version
            .split('.')
            .any(|part| part == "x" || part == "X" || part == "*");
    if range_like {
        return Err(SchemaViolation::new(
            field,
            format!("is the range `{version}`; it must be an exact version"),
        ));
    }
    Ok(())
}

fn check_url(field: &str, url: &str) -> Result<(), SchemaViolation> {
    let scheme_ok = url.starts_with("http://") || url.starts_with("https://");
    if !scheme_ok || url.chars().any(char::is_whitespace) || url.len() <= "https://".len() {
        return Err(SchemaViolation::new(
            field,
            format!("is `{url}`; it must be an http or https URL without spaces"),
        ));
    }
    Ok(())
}

fn check_argument(at: &str, argument: &Argument) -> Result<(), SchemaViolation> {
    match argument {
        Argument::Positional {
            value_hint, input, ..
        } => {
            if value_hint.is_none() && input.value.is_none() {
                return Err(SchemaViolation::new(
                    at,
                    "is a positional argument with neither `value` nor `valueHint`",
                ));
            }
        }
        Argument::Named { name, .. } => {
            if name.trim().is_empty() {
                return Err(SchemaViolation::new(format!("{at}.name"), "is empty"));
            }
        }
    }
    check_input(at, argument.input())
}

fn check_key_values(at: &str, items: &[KeyValueInput]) -> Result<(), SchemaViolation> {
    for (i, item) in items.iter().enumerate() {
        if item.name.trim().is_empty() {
            return Err(SchemaViolation::new(format!("{at}[{i}].name"), "is empty"));
        }
        check_input(&format!("{at}[{i}]"), &item.input)?;
    }
    Ok(())
}

fn check_input(at: &str, input: &Input) -> Result<(), SchemaViolation> {
    if let Some(default) = &input.default
        && !input.choices.is_empty()
        && !input.choices.contains(default)
    {
        return Err(SchemaViolation::new(
            format!("{at}.default"),
            format!("is `{default}`, which is not one of its choices"),
        ));
    }
    for (name, variable) in &input.variables {
        check_input(&format!("{at}.variables.{name}"), variable)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn minimal() -> serde_json::Value {
        json!({"name": "io.github.example/weather", "description": "Weather.", "version": "1.0.0"})
    }

    #[test]
    fn a_minimal_document_is_valid() {
        assert!(parse(&minimal()).is_ok());
    }

    /// A cosmetic departure installs with a warning naming its field; (case, patch, warning).
    #[test]
    fn cosmetic_departures_are_warnings_that_name_their_field() {
        let long = "x".repeat(101);
        #[rustfmt::skip]
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("empty description", json!({"description": ""}), "field `description` is empty"),
            ("long description", json!({"description": long}), "field `description` is 101 characters long"),
            ("empty title", json!({"title": ""}), "field `title` is empty"),
            ("long title", json!({"title": long}), "field `title` is 101 characters long"),
            ("unknown field", json!({"stars": 5}), "field `stars` is not in the schema"),
            ("unknown package field", json!({"packages": [{"registryType": "npm", "identifier": "a", "transport": {"type": "stdio"}, "npx": true}]}), "field `packages[0].npx` is not in the schema"),
        ];
        for (case, patch, warning) in cases {
            let mut document = minimal();
            for (key, value) in patch.as_object().expect("patch is an object") {
                document[key] = value.clone();
            }
            let server = parse(&document).unwrap_or_else(|e| panic!("{case}: refused: {e}"));
            assert!(
                matches!(server.warnings.as_slice(), [only] if only.contains(warning)),
                "{case}: {:?}",
                server.warnings
            );
        }
        let mut no_description = minimal();
        no_description
            .as_object_mut()
            .expect("object")
            .remove("description");
        let warnings = parse(&no_description)
            .expect("a missing description plans")
            .warnings;
        assert!(warnings[0].contains("`description` is missing"), "{warnings:?}");
        assert!(
            parse(&minimal()).expect("valid").warnings.is_empty(),
            "a clean document warns of nothing"
        );
    }

    #[test]
    fn violations_name_their_field() {
        let cases: Vec<(&str, serde_json::Value, &str)> = vec![
            ("no slash", json!({"name": "weather"}), "name"),
            ("version range", json!({"version": "^1.2.0"}), "version"),
            ("latest", json!({"version": "latest"}), "version"),
            (
                "mcpb without hash",
                json!({"packages": [{"registryType": "mcpb", "identifier": "https://e.com/a.mcpb", "transport": {"type": "stdio"}}]}),
                "packages[0].fileSha256",
            ),
            (
                "bad hash",
                json!({"packages": [{"registryType": "npm", "identifier": "a", "fileSha256": "ABC", "transport": {"type": "stdio"}}]}),
                "packages[0].fileSha256",
            ),
            (
                "unknown transport",
                json!({"packages": [{"registryType": "npm", "identifier": "a", "transport": {"type": "carrier-pigeon"}}]}),
                "packages[0].transport.type",
            ),
            (
                "positional without value",
                json!({"packages": [{"registryType": "npm", "identifier": "a", "transport": {"type": "stdio"},
                    "packageArguments": [{"type": "positional"}]}]}),
                "packages[0].packageArguments[0]",
            ),
            (
                "remote url",
                json!({"remotes": [{"type": "sse", "url": "ftp://x"}]}),
                "remotes[0].url",
            ),
            (
                "wrong type",
                json!({"packages": [{"registryType": "npm", "identifier": 7, "transport": {"type": "stdio"}}]}),
                "packages[0].identifier",
            ),
        ];
        for (case, patch, field) in cases {
            let mut document = minimal();
            for (key, value) in patch.as_object().expect("patch is an object") {
                document[key] = value.clone();
            }
            let violation = parse(&document).expect_err(case);
            assert_eq!(violation.field, field, "{case}: {violation}");
        }
    }
}

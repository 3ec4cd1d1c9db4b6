//! The manifest inside an MCP bundle (`.mcpb`, formerly `.dxt`): its user settings and the
//! command it runs.
//!
//! A bundle is a zip archive with `manifest.json` at its root. Its `server.mcp_config` names a
//! command with `${__dirname}` (the unpacked bundle), `${user_config.KEY}` (a setting the user
//! gives) and a few well-known directories in it. This module reads the manifest and fills
//! those in; downloading, checking the archive's SHA-256 and unpacking are the daemon's.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use switchboard_model::api::{InputField, InputFormat, InputPlace};

use crate::plan::{Resolved, Values};

#[derive(Clone, Debug, Deserialize)]
pub struct Manifest {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    pub server: ServerConfig,
    #[serde(default)]
    pub user_config: BTreeMap<String, UserConfig>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct ServerConfig {
    /// `node`, `python`, `uv` or `binary`.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub entry_point: Option<String>,
    pub mcp_config: McpConfig,
}

#[derive(Clone, Debug, Deserialize)]
pub struct McpConfig {
    pub command: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    #[serde(default)]
    pub platform_overrides: BTreeMap<String, PlatformOverride>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PlatformOverride {
    pub command: Option<String>,
    pub args: Option<Vec<String>>,
    pub env: Option<BTreeMap<String, String>>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct UserConfig {
    /// `string`, `number`, `boolean`, `directory` or `file`.
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub multiple: bool,
    #[serde(default)]
    pub default: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    #[error("the bundle's manifest.json is not valid: {0}")]
    Invalid(String),
    #[error("the bundle's command uses `${{{0}}}`, which is not a setting or variable it declares")]
    UnknownVariable(String),
    #[error(
        "the bundle passes secret setting `{0}` on the command line, where any local user could read it with `ps`; Switchboard will not run it this way"
    )]
    SecretArgument(String),
}

/// The command a bundle runs, with every variable filled in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Command {
    /// A runtime name (`node`, `python`, `uv`) or a path inside the bundle.
    pub program: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, Resolved>,
}

impl Manifest {
    pub fn parse(bytes: &[u8]) -> Result<Self, ManifestError> {
        serde_path_to_error::deserialize(&mut serde_json::Deserializer::from_slice(bytes))
            .map_err(|error| ManifestError::Invalid(format!("at `{}`: {}", error.path(), error.inner())))
    }

    /// The settings the user gives, as form fields.
    pub fn fields(&self) -> Vec<InputField> {
        self.user_config
            .iter()
            .map(|(key, setting)| InputField {
                key: key.clone(),
                place: InputPlace::Variable,
                description: setting.description.clone().or_else(|| setting.title.clone()),
                required: setting.required,
                secret: setting.sensitive,
                format: match setting.kind.as_str() {
                    "number" => InputFormat::Number,
                    "boolean" => InputFormat::Boolean,
                    "directory" | "file" => InputFormat::Filepath,
                    _ => InputFormat::String,
                },
                default: setting.default.as_ref().map(|value| match value {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                }),
                placeholder: None,
                choices: Vec::new(),
                repeated: setting.multiple,
            })
            .collect()
    }

    /// The command for `platform` (`darwin`, `linux` or `win32`) from the bundle unpacked at
    /// `dir`, with `values` for the user's settings and `home` for the user's directories.
    pub fn command(
        &self,
        dir: &Path,
        platform: &str,
        home: &Path,
        values: &Values,
    ) -> Result<Command, ManifestError> {
        let config = &self.server.mcp_config;
        let overrides = config.platform_overrides.get(platform);
        let program = overrides
            .and_then(|o| o.command.clone())
            .unwrap_or_else(|| config.command.clone());
        let args = overrides
            .and_then(|o| o.args.clone())
            .unwrap_or_else(|| config.args.clone());
        let env = overrides
            .and_then(|o| o.env.clone())
            .unwrap_or_else(|| config.env.clone());

        let separator = std::path::MAIN_SEPARATOR_STR;
        let fixed: BTreeMap<&str, String> = [
            ("__dirname", dir.display().to_string()),
            ("HOME", home.display().to_string()),
            ("DESKTOP", home.join("Desktop").display().to_string()),
            ("DOCUMENTS", home.join("Documents").display().to_string()),
            ("DOWNLOADS", home.join("Downloads").display().to_string()),
            ("pathSeparator", separator.to_owned()),
            ("/", separator.to_owned()),
        ]
        .into_iter()
        .collect();
        let fill =
            |template: &str| -> Result<Vec<Resolved>, ManifestError> { self.fill(template, &fixed, values) };

        let program = match fill(&program)?.as_slice() {
            [one] if !one.secret => one.text.clone(),
            [one] if one.secret => return Err(ManifestError::SecretArgument(program.clone())),
            _ => return Err(ManifestError::Invalid("the command must be one value".to_owned())),
        };
        let mut argv = Vec::new();
        for arg in &args {
            for value in fill(arg)? {
                if value.secret {
                    return Err(ManifestError::SecretArgument(arg.clone()));
                }
                argv.push(value.text);
            }
        }
        let mut resolved_env = BTreeMap::new();
        for (key, template) in &env {
            let values = fill(template)?;
            // An unset optional setting leaves its variable out rather than set to nothing.
            if let Some(first) = values.into_iter().next() {
                resolved_env.insert(key.clone(), first);
            }
        }
        Ok(Command {
            program,
            args: argv,
            env: resolved_env,
        })
    }

    /// Expands one template. A template that is exactly one multi-valued setting expands to
    /// one value per item; a setting with no value and no default expands to nothing.
    fn fill(
        &self,
        template: &str,
        fixed: &BTreeMap<&str, String>,
        values: &Values,
    ) -> Result<Vec<Resolved>, ManifestError> {
        let mut text = String::new();
        let mut secret = false;
        let mut rest = template;
        while let Some(open) = rest.find("${") {
            text.push_str(&rest[..open]);
            let after = &rest[open + 2..];
            let Some(close) = after.find('}') else {
                text.push_str(&rest[open..]);
                rest = "";
                break;
            };
            let name = &after[..close];
            if let Some(key) = name.strip_prefix("user_config.") {
                let setting = self
                    .user_config
                    .get(key)
                    .ok_or_else(|| ManifestError::UnknownVariable(name.to_owned()))?;
                let given: Vec<String> = match values.get(key).filter(|v| !v.is_empty()) {
                    Some(given) => given.clone(),
                    None => self
                        .fields()
                        .into_iter()
                        .find(|f| f.key == key)
                        .and_then(|f| f.default)
                        .into_iter()
                        .collect(),
                };
                if given.is_empty() {
                    return Ok(Vec::new());
                }
                secret |= setting.sensitive;
                if template == format!("${{{name}}}") {
                    return Ok(given.into_iter().map(|text| Resolved { text, secret }).collect());
                }
                text.push_str(&given.join(","));
            } else {
                let value = fixed
                    .get(name)
                    .ok_or_else(|| ManifestError::UnknownVariable(name.to_owned()))?;
                text.push_str(value);
            }
            rest = &after[close + 1..];
        }
        text.push_str(rest);
        Ok(vec![Resolved { text, secret }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{
        "manifest_version": "0.3", "name": "demo", "version": "1.0.0",
        "server": {"type": "node", "entry_point": "server/index.js", "mcp_config": {
            "command": "node",
            "args": ["${__dirname}/server/index.js", "--root", "${user_config.roots}"],
            "env": {"API_KEY": "${user_config.api_key}", "MODE": "${user_config.mode}"},
            "platform_overrides": {"win32": {"command": "node.exe"}}
        }},
        "user_config": {
            "api_key": {"type": "string", "title": "API key", "sensitive": true, "required": true},
            "roots": {"type": "directory", "title": "Roots", "multiple": true, "default": "/tmp"},
            "mode": {"type": "string", "title": "Mode"}
        }
    }"#;

    #[test]
    fn fills_the_bundle_command() {
        let manifest = Manifest::parse(MANIFEST.as_bytes()).expect("manifest");
        let mut values = Values::new();
        values.insert("api_key".into(), vec!["k".into()]);
        values.insert("roots".into(), vec!["/a".into(), "/b".into()]);
        let command = manifest
            .command(Path::new("/b/demo"), "linux", Path::new("/home/u"), &values)
            .expect("command");
        assert_eq!(command.program, "node");
        assert_eq!(command.args, ["/b/demo/server/index.js", "--root", "/a", "/b"]);
        assert!(command.env["API_KEY"].secret);
        assert!(
            !command.env.contains_key("MODE"),
            "unset optional settings are left out"
        );
        let windows = manifest
            .command(Path::new("/b/demo"), "win32", Path::new("/home/u"), &values)
            .expect("command");
        assert_eq!(windows.program, "node.exe");
        assert!(
            manifest
                .fields()
                .iter()
                .any(|f| f.key == "api_key" && f.secret && f.required)
        );
    }

    #[test]
    fn refuses_unknown_variables_and_secret_arguments() {
        let bad = MANIFEST.replace("${user_config.roots}", "${user_config.nope}");
        let manifest = Manifest::parse(bad.as_bytes()).expect("manifest");
        let err = manifest.command(Path::new("/b"), "linux", Path::new("/h"), &Values::new());
        assert_eq!(
            err,
            Err(ManifestError::UnknownVariable("user_config.nope".into()))
        );
        let leaky = MANIFEST.replace("${user_config.roots}", "${user_config.api_key}");
        let manifest = Manifest::parse(leaky.as_bytes()).expect("manifest");
        let mut values = Values::new();
        values.insert("api_key".into(), vec!["k".into()]);
        let err = manifest.command(Path::new("/b"), "linux", Path::new("/h"), &values);
        assert!(matches!(err, Err(ManifestError::SecretArgument(_))));
    }
}

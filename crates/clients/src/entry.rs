//! The entries Switchboard writes into a client's config, in that client's own key names, and
//! the reading of entries already there (to import them, or to recognise Switchboard's own).
//!
//! An HTTP-native client gets the gateway's URL and its token in an `Authorization` header; a
//! client that can only launch programs gets the absolute path of `switchboard connect` with
//! the token in the environment. Which servers a client gets, and under which names, is the
//! caller's choice; this module only shapes values.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

use crate::catalog::{Client, CommandKeys, Fixed, HttpShape, StdioShape};

/// The name of the one entry that reaches every enabled server.
pub const AGGREGATE_ENTRY: &str = "switchboard";

/// What an entry reaches: one server, or the aggregate of all enabled servers.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind", content = "server")]
pub enum Route {
    Server(String),
    Aggregate,
}

impl Route {
    /// The entry's name in the client's config.
    pub fn entry_name(&self) -> &str {
        match self {
            Route::Server(name) => name,
            Route::Aggregate => AGGREGATE_ENTRY,
        }
    }

    fn path(&self) -> String {
        match self {
            Route::Server(name) => format!("/mcp/{name}"),
            Route::Aggregate => "/mcp".to_owned(),
        }
    }
}

/// How clients reach this machine's gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    /// `http://127.0.0.1:<port>`, without a trailing slash.
    pub base_url: String,
    /// Absolute path of the `switchboard` executable, for the stdio shim.
    pub shim_program: String,
    /// Variables the shim needs besides its token (where the daemon's data directory is).
    pub shim_env: BTreeMap<String, String>,
}

/// The variable the shim reads its client token from.
pub const SHIM_TOKEN_VAR: &str = "SWITCHBOARD_TOKEN";

impl Gateway {
    /// The entry `client` gets for `route`, presenting `token`.
    pub fn entry(&self, client: &Client, route: &Route, token: &str) -> Value {
        let mut entry = Map::new();
        if let Some(key) = client.name_key {
            entry.insert(key.to_owned(), Value::String(route.entry_name().to_owned()));
        }
        match &client.http {
            Some(shape) => {
                put_fixed(&mut entry, shape.fixed);
                entry.insert(
                    shape.url.to_owned(),
                    Value::String(format!("{}{}", self.base_url, route.path())),
                );
                put_at(
                    &mut entry,
                    shape.headers,
                    json!({ "Authorization": format!("Bearer {token}") }),
                );
            }
            None => {
                let shape = &client.stdio;
                put_fixed(&mut entry, shape.fixed);
                let mut args = vec!["connect".to_owned()];
                match route {
                    Route::Server(name) => args.push(name.clone()),
                    Route::Aggregate => args.push("--all".to_owned()),
                }
                put_command(&mut entry, shape.command, &self.shim_program, &args);
                let mut env: Map<String, Value> = self
                    .shim_env
                    .iter()
                    .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                    .collect();
                env.insert(SHIM_TOKEN_VAR.to_owned(), Value::String(token.to_owned()));
                entry.insert(shape.env.to_owned(), Value::Object(env));
            }
        }
        Value::Object(entry)
    }

    /// Whether `entry` points at this gateway (whoever wrote it).
    pub fn is_ours(&self, client: &Client, entry: &Value) -> bool {
        match read(client, entry) {
            Some(Foreign::Remote { url, .. }) => url.starts_with(&format!("{}/mcp", self.base_url)),
            Some(Foreign::Local { command, args, .. }) => {
                command == self.shim_program && args.first().is_some_and(|a| a == "connect")
            }
            None => false,
        }
    }

    /// The token an entry of ours presents, if it has one.
    pub fn token_in(&self, client: &Client, entry: &Value) -> Option<String> {
        match read(client, entry)? {
            Foreign::Remote { headers, .. } => headers
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
                .and_then(|(_, v)| v.strip_prefix("Bearer "))
                .map(str::to_owned),
            Foreign::Local { env, .. } => env.get(SHIM_TOKEN_VAR).cloned(),
        }
    }
}

fn put_fixed(entry: &mut Map<String, Value>, fixed: &[(&str, Fixed)]) {
    for (key, value) in fixed {
        let value = match value {
            Fixed::Str(s) => json!(s),
            Fixed::Bool(b) => json!(b),
            Fixed::Int(i) => json!(i),
            Fixed::StrList(items) => json!(items),
        };
        entry.insert((*key).to_owned(), value);
    }
}

fn put_command(entry: &mut Map<String, Value>, keys: CommandKeys, program: &str, args: &[String]) {
    match keys {
        CommandKeys::Split { program: p, args: a } => {
            entry.insert(p.to_owned(), json!(program));
            entry.insert(a.to_owned(), json!(args));
        }
        CommandKeys::Argv(key) => {
            let argv: Vec<&str> = std::iter::once(program)
                .chain(args.iter().map(String::as_str))
                .collect();
            entry.insert(key.to_owned(), json!(argv));
        }
    }
}

/// Puts `value` at a path of keys inside `entry`, creating the objects on the way.
fn put_at(entry: &mut Map<String, Value>, path: &[&str], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut object = entry;
    for key in parents {
        let slot = object
            .entry((*key).to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if !slot.is_object() {
            *slot = Value::Object(Map::new());
        }
        let Value::Object(inner) = slot else { return };
        object = inner;
    }
    object.insert((*last).to_owned(), value);
}

/// A server as a client's entry describes it, in Switchboard's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Foreign {
    Local {
        command: String,
        args: Vec<String>,
        env: BTreeMap<String, String>,
        cwd: Option<String>,
    },
    Remote {
        url: String,
        headers: BTreeMap<String, String>,
        /// The entry says the server speaks the legacy HTTP+SSE transport.
        sse: bool,
    },
}

/// Reads an entry of `client`'s format; `None` if it is neither a program nor a URL.
///
/// Besides the client's own keys, the common spellings other clients use are understood, as
/// users copy entries between clients.
pub fn read(client: &Client, entry: &Value) -> Option<Foreign> {
    let object = entry.as_object()?;
    let url_keys = client
        .http
        .iter()
        .map(|h| h.url)
        .chain(["url", "serverUrl", "httpUrl", "uri"]);
    if let Some(url) = url_keys
        .into_iter()
        .find_map(|k| object.get(k)?.as_str())
        .filter(|u| !u.is_empty())
    {
        let header_paths = client.http.iter().map(|h: &HttpShape| h.headers).chain([
            &["headers"][..],
            &["http_headers"][..],
            &["requestOptions", "headers"][..],
        ]);
        let headers = header_paths
            .into_iter()
            .find_map(|path| strings(value_at(entry, path)?))
            .unwrap_or_default();
        let kind = object.get("type").and_then(Value::as_str).unwrap_or_default();
        // Cline reads a typeless URL as SSE; Gemini's `url` (as opposed to `httpUrl`) too.
        let sse = kind == "sse"
            || (kind.is_empty() && client.id == "cline")
            || (client.id == "gemini-cli" && object.contains_key("url") && !object.contains_key("httpUrl"));
        return Some(Foreign::Remote {
            url: url.to_owned(),
            headers,
            sse,
        });
    }
    let (command, args) = read_command(&client.stdio, object)?;
    let env = [client.stdio.env, "env", "envs", "environment"]
        .into_iter()
        .find_map(|k| strings(object.get(k)?))
        .unwrap_or_default();
    let cwd = object.get("cwd").and_then(Value::as_str).map(str::to_owned);
    Some(Foreign::Local {
        command,
        args,
        env,
        cwd,
    })
}

fn read_command(shape: &StdioShape, object: &Map<String, Value>) -> Option<(String, Vec<String>)> {
    let string_list = |v: &Value| -> Option<Vec<String>> {
        v.as_array()?
            .iter()
            .map(|s| s.as_str().map(str::to_owned))
            .collect()
    };
    if let CommandKeys::Argv(key) = shape.command
        && let Some(mut argv) = object.get(key).and_then(string_list)
        && !argv.is_empty()
    {
        let program = argv.remove(0);
        return Some((program, argv));
    }
    let program_key = match shape.command {
        CommandKeys::Split { program, .. } => program,
        CommandKeys::Argv(_) => "command",
    };
    let command = [program_key, "command", "cmd"]
        .into_iter()
        .find_map(|k| object.get(k)?.as_str())
        .filter(|c| !c.is_empty())?;
    let args = object.get("args").and_then(string_list).unwrap_or_default();
    Some((command.to_owned(), args))
}

fn value_at<'v>(value: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(value, |v, key| v.get(key))
}

/// An object of string values (numbers and booleans are taken as written).
fn strings(value: &Value) -> Option<BTreeMap<String, String>> {
    let object = value.as_object()?;
    Some(
        object
            .iter()
            .filter_map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return None,
                };
                Some((k.clone(), text))
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog;

    fn gateway() -> Gateway {
        Gateway {
            base_url: "http://127.0.0.1:7349".into(),
            shim_program: "/opt/switchboard/bin/switchboard".into(),
            shim_env: BTreeMap::from([(
                "SWITCHBOARD_HOME".into(),
                "/home/ada/.local/share/switchboard".into(),
            )]),
        }
    }

    fn client(id: &str) -> &'static Client {
        catalog::find(id).expect("known client")
    }

    #[test]
    fn entries_use_each_clients_own_keys() {
        let gw = gateway();
        let time = Route::Server("time".into());
        let cases: &[(&str, Value)] = &[
            (
                "claude-desktop",
                json!({"command": "/opt/switchboard/bin/switchboard", "args": ["connect", "time"],
                       "env": {"SWITCHBOARD_HOME": "/home/ada/.local/share/switchboard", "SWITCHBOARD_TOKEN": "t0k"}}),
            ),
            (
                "cursor",
                json!({"url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "vscode",
                json!({"type": "http", "url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "windsurf",
                json!({"serverUrl": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "gemini-cli",
                json!({"httpUrl": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "codex",
                json!({"url": "http://127.0.0.1:7349/mcp/time", "http_headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "cline",
                json!({"type": "streamableHttp", "url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}}),
            ),
            (
                "continue",
                json!({"name": "time", "type": "streamable-http", "url": "http://127.0.0.1:7349/mcp/time",
                       "requestOptions": {"headers": {"Authorization": "Bearer t0k"}}}),
            ),
            (
                "goose",
                json!({"name": "time", "type": "streamable_http", "uri": "http://127.0.0.1:7349/mcp/time",
                       "headers": {"Authorization": "Bearer t0k"}, "enabled": true, "timeout": 300}),
            ),
            (
                "opencode",
                json!({"type": "remote", "url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}, "enabled": true}),
            ),
            (
                "copilot-cli",
                json!({"type": "http", "url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"}, "tools": ["*"]}),
            ),
            (
                "jan",
                json!({"type": "http", "url": "http://127.0.0.1:7349/mcp/time", "headers": {"Authorization": "Bearer t0k"},
                       "command": "", "args": [], "active": true}),
            ),
        ];
        for (id, expected) in cases {
            assert_eq!(&gw.entry(client(id), &time, "t0k"), expected, "{id}");
        }
        let aggregate = gw.entry(client("junie"), &Route::Aggregate, "t0k");
        assert_eq!(aggregate["args"], json!(["connect", "--all"]));
        assert_eq!(
            gw.entry(client("cursor"), &Route::Aggregate, "t0k")["url"],
            "http://127.0.0.1:7349/mcp"
        );
    }

    #[test]
    fn our_entries_are_recognised_and_their_token_read_back() {
        let gw = gateway();
        for c in catalog::all() {
            let entry = gw.entry(c, &Route::Server("time".into()), "t0k");
            assert!(gw.is_ours(c, &entry), "{}", c.id);
            assert_eq!(gw.token_in(c, &entry).as_deref(), Some("t0k"), "{}", c.id);
        }
        let foreign = json!({"command": "npx", "args": ["-y", "x"]});
        assert!(!gw.is_ours(client("cursor"), &foreign));
    }

    #[test]
    fn foreign_entries_are_read_in_any_common_spelling() {
        let cases: &[(&str, Value, Foreign)] = &[
            (
                "cursor",
                json!({"command": "npx", "args": ["-y", "@modelcontextprotocol/server-everything"], "env": {"DEBUG": "1"}}),
                Foreign::Local {
                    command: "npx".into(),
                    args: vec!["-y".into(), "@modelcontextprotocol/server-everything".into()],
                    env: BTreeMap::from([("DEBUG".into(), "1".into())]),
                    cwd: None,
                },
            ),
            (
                "opencode",
                json!({"type": "local", "command": ["uvx", "mcp-server-time"], "environment": {"TZ": "UTC"}}),
                Foreign::Local {
                    command: "uvx".into(),
                    args: vec!["mcp-server-time".into()],
                    env: BTreeMap::from([("TZ".into(), "UTC".into())]),
                    cwd: None,
                },
            ),
            (
                "goose",
                json!({"type": "stdio", "cmd": "uvx", "args": ["mcp-server-time"], "envs": {}}),
                Foreign::Local {
                    command: "uvx".into(),
                    args: vec!["mcp-server-time".into()],
                    env: BTreeMap::new(),
                    cwd: None,
                },
            ),
            (
                "windsurf",
                json!({"serverUrl": "https://example.test/mcp", "headers": {"X-Key": "k"}}),
                Foreign::Remote {
                    url: "https://example.test/mcp".into(),
                    headers: BTreeMap::from([("X-Key".into(), "k".into())]),
                    sse: false,
                },
            ),
            (
                "cline",
                json!({"url": "https://example.test/sse"}),
                Foreign::Remote {
                    url: "https://example.test/sse".into(),
                    headers: BTreeMap::new(),
                    sse: true,
                },
            ),
        ];
        for (id, entry, expected) in cases {
            assert_eq!(read(client(id), entry).as_ref(), Some(expected), "{id}");
        }
        assert_eq!(read(client("cursor"), &json!({"disabled": true})), None);
    }
}

//! The table of clients: one [`Client`] per AI client, each the common conventions
//! ([`COMMON`]) with that client's differences.
//!
//! Facts only; the lookups over it are [`super::find`] and [`super::all`], and paths several
//! clients compute alike are in [`super::paths`].

use super::paths::{claude_desktop_files, existing, mac_apps, vscode_files, vscode_user_dir};
use super::{Client, CommandKeys, Fixed, Format, HttpShape, Layout, Reload, StdioShape};
use crate::env::{Env, OsPath};
use crate::write::ClientLock;
use switchboard_model::Os;

const STDIO_PLAIN: StdioShape = StdioShape {
    fixed: &[],
    command: CommandKeys::Split {
        program: "command",
        args: "args",
    },
    env: "env",
};

const STDIO_TYPED: StdioShape = StdioShape {
    fixed: &[("type", Fixed::Str("stdio"))],
    ..STDIO_PLAIN
};

const HTTP_URL: HttpShape = HttpShape {
    fixed: &[],
    url: "url",
    headers: &["headers"],
};

const HTTP_TYPED: HttpShape = HttpShape {
    fixed: &[("type", Fixed::Str("http"))],
    ..HTTP_URL
};

const NO_INSTALLS: fn(&Env) -> Vec<OsPath> = |_| Vec::new();

/// A client with the most common conventions: JSON, `mcpServers`, `command`/`args`/`env`,
/// `url`/`headers`, watched file.
const COMMON: Client = Client {
    id: "",
    name: "",
    format: Format::Json,
    root: "mcpServers",
    layout: Layout::Map,
    name_key: None,
    stdio: STDIO_PLAIN,
    http: Some(HTTP_URL),
    reload: Reload::Live,
    lock: ClientLock::None,
    deprecated: None,
    processes: &[],
    programs: &[],
    files: |_| Vec::new(),
    installs: NO_INSTALLS,
};

pub(super) static CLIENTS: &[Client] = &[
    Client {
        id: "claude-desktop",
        name: "Claude Desktop",
        // Claude Desktop rejects URL entries; it gets the stdio shim.
        http: None,
        reload: Reload::Restart,
        processes: &["Claude", "Claude.exe", "claude-desktop"],
        programs: &["claude-desktop"],
        files: claude_desktop_files,
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Claude"),
            Os::Windows => vec![env.local_appdata().join("AnthropicClaude")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "claude-code",
        name: "Claude Code",
        stdio: STDIO_TYPED,
        http: Some(HTTP_TYPED),
        reload: Reload::NewSession,
        processes: &["claude", "claude.exe"],
        programs: &["claude"],
        files: |env| {
            let dir = env.dir_var("CLAUDE_CONFIG_DIR").unwrap_or_else(|| env.home());
            vec![dir.join(".claude.json")]
        },
        installs: |env| vec![env.home().join(".claude")],
        ..COMMON
    },
    Client {
        id: "cursor",
        name: "Cursor",
        processes: &["Cursor", "cursor", "Cursor.exe"],
        programs: &["cursor"],
        files: |env| {
            let dir = env
                .dir_var("CURSOR_CONFIG_DIR")
                .unwrap_or_else(|| env.home().join(".cursor"));
            vec![dir.join("mcp.json")]
        },
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Cursor"),
            Os::Windows => vec![env.local_appdata().join("Programs/cursor")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "vscode",
        name: "VS Code",
        format: Format::Jsonc,
        root: "servers",
        stdio: STDIO_TYPED,
        http: Some(HTTP_TYPED),
        processes: &["code", "Code", "Code.exe", "Electron"],
        programs: &["code"],
        files: |env| vscode_files(env, "Code"),
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Visual Studio Code"),
            Os::Windows => vec![env.local_appdata().join("Programs/Microsoft VS Code")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "vscode-insiders",
        name: "VS Code Insiders",
        format: Format::Jsonc,
        root: "servers",
        stdio: STDIO_TYPED,
        http: Some(HTTP_TYPED),
        processes: &["code-insiders", "Code - Insiders", "Code - Insiders.exe"],
        programs: &["code-insiders"],
        files: |env| vscode_files(env, "Code - Insiders"),
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Visual Studio Code - Insiders"),
            Os::Windows => vec![env.local_appdata().join("Programs/Microsoft VS Code Insiders")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "windsurf",
        name: "Windsurf / Devin Desktop",
        http: Some(HttpShape {
            url: "serverUrl",
            ..HTTP_URL
        }),
        reload: Reload::Refresh,
        processes: &["Windsurf", "windsurf", "Windsurf.exe", "Devin", "devin-desktop"],
        programs: &["windsurf", "devin"],
        files: |env| {
            let devin = match env.os() {
                Os::Windows => env.appdata().join("devin/mcp_config.json"),
                Os::Linux => env.xdg_config().join("devin/mcp_config.json"),
                Os::MacOs => env.home().join(".config/devin/mcp_config.json"),
            };
            let windsurf = env.home().join(".codeium/windsurf/mcp_config.json");
            // Both are read when present; a machine with only the old folder keeps using it.
            let existing = existing(env, [&devin, &windsurf]);
            if !existing.is_empty() {
                existing
            } else if windsurf.parent().is_some_and(|dir| env.exists(&dir)) {
                vec![windsurf]
            } else {
                vec![devin]
            }
        },
        installs: |env| match env.os() {
            Os::MacOs => [mac_apps(env, "Windsurf"), mac_apps(env, "Devin")].concat(),
            Os::Windows => vec![
                env.local_appdata().join("Programs/Windsurf"),
                env.local_appdata().join("Programs/Devin"),
            ],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "zed",
        name: "Zed",
        format: Format::Jsonc,
        root: "context_servers",
        processes: &["zed", "Zed", "zed-editor", "Zed.exe"],
        programs: &["zed", "zeditor"],
        files: |env| {
            let dir = match env.os() {
                Os::Windows => env.appdata().join("Zed"),
                // Zed uses ~/.config on macOS too, not Application Support.
                Os::MacOs => env.home().join(".config/zed"),
                Os::Linux => env
                    .dir_var("FLATPAK_XDG_CONFIG_HOME")
                    .unwrap_or_else(|| env.xdg_config())
                    .join("zed"),
            };
            vec![dir.join("settings.json")]
        },
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Zed"),
            Os::Windows => vec![env.local_appdata().join("Programs/Zed")],
            Os::Linux => vec![env.home().join(".local/zed.app")],
        },
        ..COMMON
    },
    Client {
        id: "codex",
        name: "Codex",
        format: Format::Toml,
        root: "mcp_servers",
        http: Some(HttpShape {
            headers: &["http_headers"],
            ..HTTP_URL
        }),
        reload: Reload::Restart,
        processes: &["codex", "codex.exe", "Codex"],
        programs: &["codex"],
        files: |env| {
            let dir = env
                .dir_var("CODEX_HOME")
                .unwrap_or_else(|| env.home().join(".codex"));
            vec![dir.join("config.toml")]
        },
        installs: |env| mac_apps(env, "Codex"),
        ..COMMON
    },
    Client {
        id: "gemini-cli",
        name: "Gemini CLI",
        format: Format::Jsonc,
        // `httpUrl` is read by every version; newer ones also take `url` + `type`.
        http: Some(HttpShape {
            url: "httpUrl",
            ..HTTP_URL
        }),
        reload: Reload::Restart,
        processes: &["gemini"],
        programs: &["gemini"],
        files: |env| {
            let base = env.dir_var("GEMINI_CLI_HOME").unwrap_or_else(|| env.home());
            vec![base.join(".gemini/settings.json")]
        },
        // ~/.gemini alone proves nothing: Antigravity uses it too.
        ..COMMON
    },
    Client {
        id: "antigravity",
        name: "Antigravity",
        http: Some(HttpShape {
            url: "serverUrl",
            ..HTTP_URL
        }),
        reload: Reload::Refresh,
        processes: &["Antigravity", "antigravity", "agy"],
        programs: &["agy", "antigravity"],
        files: |env| {
            let ide = env.home().join(".gemini/antigravity/mcp_config.json");
            let cli = env.home().join(".gemini/config/mcp_config.json");
            let present = existing(env, [&ide, &cli]);
            if present.is_empty() { vec![ide] } else { present }
        },
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Antigravity"),
            Os::Windows => vec![env.local_appdata().join("Programs/Antigravity")],
            Os::Linux => vec![env.home().join(".antigravity")],
        },
        ..COMMON
    },
    Client {
        id: "cline",
        name: "Cline",
        // A `url` without a type is read as legacy SSE by Cline, so the type is spelled out.
        stdio: STDIO_TYPED,
        http: Some(HttpShape {
            fixed: &[("type", Fixed::Str("streamableHttp"))],
            ..HTTP_URL
        }),
        lock: ClientLock::LockDirectory,
        processes: &["cline"],
        programs: &["cline"],
        files: |env| {
            let file = env.dir_var("CLINE_MCP_SETTINGS_PATH").unwrap_or_else(|| {
                env.dir_var("CLINE_DATA_DIR")
                    .unwrap_or_else(|| {
                        env.dir_var("CLINE_DIR")
                            .unwrap_or_else(|| env.home().join(".cline"))
                            .join("data")
                    })
                    .join("settings/cline_mcp_settings.json")
            });
            vec![file]
        },
        ..COMMON
    },
    Client {
        id: "roo-code",
        name: "Roo Code",
        http: Some(HttpShape {
            fixed: &[("type", Fixed::Str("streamable-http"))],
            ..HTTP_URL
        }),
        deprecated: Some("Roo Code was archived on 15 May 2026; its existing users are still served"),
        files: |env| {
            vec![
                vscode_user_dir(env, "Code")
                    .join("globalStorage/rooveterinaryinc.roo-cline/settings/mcp_settings.json"),
            ]
        },
        ..COMMON
    },
    Client {
        id: "continue",
        name: "Continue",
        format: Format::Yaml,
        layout: Layout::NamedList,
        name_key: Some("name"),
        stdio: STDIO_TYPED,
        http: Some(HttpShape {
            fixed: &[("type", Fixed::Str("streamable-http"))],
            url: "url",
            headers: &["requestOptions", "headers"],
        }),
        processes: &["cn"],
        programs: &["cn"],
        files: |env| vec![env.home().join(".continue/config.yaml")],
        ..COMMON
    },
    Client {
        id: "lm-studio",
        name: "LM Studio",
        processes: &["LM Studio", "lm-studio", "LM Studio.exe"],
        programs: &["lms"],
        files: |env| {
            // The real home is whatever the pointer file names; old installs used ~/.cache.
            let pointed = env
                .read_pointer(&env.home().join(".lmstudio-home-pointer"))
                .map(|dir| OsPath::new(env.os(), dir));
            let current = pointed
                .unwrap_or_else(|| env.home().join(".lmstudio"))
                .join("mcp.json");
            let old = env.home().join(".cache/lm-studio/mcp.json");
            if !env.exists(&current) && env.exists(&old) {
                vec![old]
            } else {
                vec![current]
            }
        },
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "LM Studio"),
            Os::Windows => vec![env.local_appdata().join("Programs/LM Studio")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "goose",
        name: "Goose",
        format: Format::Yaml,
        root: "extensions",
        name_key: Some("name"),
        stdio: StdioShape {
            fixed: &[
                ("type", Fixed::Str("stdio")),
                ("enabled", Fixed::Bool(true)),
                ("timeout", Fixed::Int(300)),
            ],
            command: CommandKeys::Split {
                program: "cmd",
                args: "args",
            },
            env: "envs",
        },
        http: Some(HttpShape {
            fixed: &[
                ("type", Fixed::Str("streamable_http")),
                ("enabled", Fixed::Bool(true)),
                ("timeout", Fixed::Int(300)),
            ],
            url: "uri",
            headers: &["headers"],
        }),
        reload: Reload::Restart,
        processes: &["goose", "Goose", "goosed"],
        programs: &["goose"],
        files: |env| {
            let dir = match env.dir_var("GOOSE_PATH_ROOT") {
                Some(root) => root.join("config"),
                None => match env.os() {
                    Os::Windows => env.appdata().join("Block/goose/config"),
                    Os::Linux | Os::MacOs => env.xdg_config().join("goose"),
                },
            };
            vec![dir.join("config.yaml")]
        },
        installs: |env| mac_apps(env, "Goose"),
        ..COMMON
    },
    Client {
        id: "opencode",
        name: "opencode",
        format: Format::Jsonc,
        root: "mcp",
        stdio: StdioShape {
            fixed: &[("type", Fixed::Str("local")), ("enabled", Fixed::Bool(true))],
            command: CommandKeys::Argv("command"),
            env: "environment",
        },
        http: Some(HttpShape {
            fixed: &[("type", Fixed::Str("remote")), ("enabled", Fixed::Bool(true))],
            ..HTTP_URL
        }),
        reload: Reload::Restart,
        processes: &["opencode"],
        programs: &["opencode"],
        files: |env| {
            if let Some(file) = env.dir_var("OPENCODE_CONFIG") {
                return vec![file];
            }
            let dir = env
                .dir_var("OPENCODE_CONFIG_DIR")
                .unwrap_or_else(|| match env.os() {
                    Os::Windows => env.home().join(".config/opencode"),
                    Os::Linux | Os::MacOs => env.xdg_config().join("opencode"),
                });
            let jsonc = dir.join("opencode.jsonc");
            vec![if env.exists(&jsonc) {
                jsonc
            } else {
                dir.join("opencode.json")
            }]
        },
        ..COMMON
    },
    Client {
        id: "junie",
        name: "JetBrains Junie",
        // Remote servers in Junie's file are unconfirmed; the shim works everywhere.
        http: None,
        reload: Reload::Restart,
        processes: &["junie"],
        programs: &["junie"],
        files: |env| vec![env.home().join(".junie/mcp/mcp.json")],
        ..COMMON
    },
    Client {
        id: "amazon-q",
        name: "Amazon Q Developer CLI",
        http: Some(HTTP_TYPED),
        reload: Reload::Restart,
        deprecated: Some("replaced by Kiro CLI in November 2025, which reads Kiro's file"),
        processes: &["q", "qchat"],
        programs: &["q"],
        files: |env| vec![env.home().join(".aws/amazonq/mcp.json")],
        ..COMMON
    },
    Client {
        id: "copilot-cli",
        name: "GitHub Copilot CLI",
        // Copilot passes a server only the tools listed, and only the variables listed.
        stdio: StdioShape {
            fixed: &[("type", Fixed::Str("local")), ("tools", Fixed::StrList(&["*"]))],
            ..STDIO_PLAIN
        },
        http: Some(HttpShape {
            fixed: &[("type", Fixed::Str("http")), ("tools", Fixed::StrList(&["*"]))],
            ..HTTP_URL
        }),
        reload: Reload::NewSession,
        processes: &["copilot"],
        programs: &["copilot"],
        files: |env| {
            let dir = env
                .dir_var("COPILOT_HOME")
                .unwrap_or_else(|| env.home().join(".copilot"));
            vec![dir.join("mcp-config.json")]
        },
        ..COMMON
    },
    Client {
        id: "warp",
        name: "Warp",
        processes: &["warp", "Warp", "stable", "warp-terminal"],
        programs: &["warp-terminal"],
        files: |env| vec![env.home().join(".warp/.mcp.json")],
        installs: |env| mac_apps(env, "Warp"),
        ..COMMON
    },
    Client {
        id: "kiro",
        name: "Kiro",
        processes: &["kiro", "Kiro", "kiro-cli", "Kiro.exe"],
        programs: &["kiro", "kiro-cli"],
        files: |env| vec![env.home().join(".kiro/settings/mcp.json")],
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Kiro"),
            Os::Windows => vec![env.local_appdata().join("Programs/Kiro")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "visual-studio",
        name: "Visual Studio",
        root: "servers",
        stdio: STDIO_TYPED,
        http: Some(HTTP_TYPED),
        processes: &["devenv.exe", "devenv"],
        files: |env| match env.os() {
            Os::Windows => vec![env.home().join(".mcp.json")],
            Os::Linux | Os::MacOs => Vec::new(),
        },
        installs: |env| match env.os() {
            Os::Windows => vec![
                OsPath::new(Os::Windows, r"C:\Program Files\Microsoft Visual Studio\2022"),
                OsPath::new(Os::Windows, r"C:\Program Files\Microsoft Visual Studio\18"),
            ],
            Os::Linux | Os::MacOs => Vec::new(),
        },
        ..COMMON
    },
    Client {
        id: "boltai",
        name: "BoltAI",
        http: None,
        reload: Reload::Restart,
        processes: &["BoltAI"],
        files: |env| match env.os() {
            Os::MacOs => vec![env.home().join(".boltai/mcp.json")],
            Os::Linux | Os::Windows => Vec::new(),
        },
        installs: |env| mac_apps(env, "BoltAI"),
        ..COMMON
    },
    Client {
        id: "jan",
        name: "Jan",
        stdio: StdioShape {
            fixed: &[("active", Fixed::Bool(true))],
            ..STDIO_PLAIN
        },
        // Jan's loader wants `command` and `args` even on a remote entry.
        http: Some(HttpShape {
            fixed: &[
                ("type", Fixed::Str("http")),
                ("command", Fixed::Str("")),
                ("args", Fixed::StrList(&[])),
                ("active", Fixed::Bool(true)),
            ],
            ..HTTP_URL
        }),
        reload: Reload::Restart,
        processes: &["Jan", "jan", "Jan.exe"],
        files: |env| {
            let data = match env.os() {
                Os::MacOs => env.application_support().join("Jan/data"),
                Os::Windows => env.appdata().join("Jan/data"),
                Os::Linux => env.xdg_data().join("Jan/data"),
            };
            vec![data.join("mcp_config.json")]
        },
        installs: |env| match env.os() {
            Os::MacOs => mac_apps(env, "Jan"),
            Os::Windows => vec![env.local_appdata().join("Programs/Jan")],
            Os::Linux => Vec::new(),
        },
        ..COMMON
    },
];

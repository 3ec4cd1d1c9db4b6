//! Golden tests: where every client's config is found on each OS, from simulated machines
//! (homes, APPDATA/LOCALAPPDATA, XDG, the clients' own variables, files already present), and
//! the exact file each client gets when connected to the gateway.
//!
//! The expected output lives in `tests/golden/`; it was checked by hand against the clients'
//! sources (docs/clients.md). `UPDATE_GOLDEN=1` rewrites it after a deliberate change (and
//! fails, naming what it rewrote, so such a run never passes); the diff is then reviewed like
//! code and the tests run again without it.

#![allow(clippy::expect_used)]

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use switchboard_clients::catalog::{self, Format};
use switchboard_clients::entry::{Gateway, Route};
use switchboard_clients::env::Env;
use switchboard_clients::plan::{self, Ownership};
use switchboard_model::Os;

/// The golden files one test compares its output with. Under `UPDATE_GOLDEN` each file that
/// differs is rewritten instead, and `finish` then fails the test naming them, so a run that
/// updates can never pass.
struct Golden {
    updating: bool,
    rewritten: Vec<String>,
}

impl Golden {
    fn new() -> Golden {
        Golden {
            updating: std::env::var_os("UPDATE_GOLDEN").is_some(),
            rewritten: Vec::new(),
        }
    }

    fn check(&mut self, name: &str, actual: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        if self.updating {
            if std::fs::read_to_string(&path).ok().as_deref() != Some(actual) {
                std::fs::create_dir_all(path.parent().expect("parent")).expect("golden dir");
                std::fs::write(&path, actual).expect("write golden");
                self.rewritten.push(path.display().to_string());
            }
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
        assert!(
            expected == actual,
            "{} differs from the code's output; if the change is intended, run with UPDATE_GOLDEN=1 and review the diff\n--- expected\n{expected}\n--- actual\n{actual}",
            path.display()
        );
    }

    fn finish(self) {
        if self.updating {
            let rewritten = if self.rewritten.is_empty() {
                "every file already matched, none rewritten".to_owned()
            } else {
                format!("rewrote\n{}\n", self.rewritten.join("\n"))
            };
            panic!(
                "UPDATE_GOLDEN is set, so this run only writes: {rewritten}; review the diff, then \
                 run again without UPDATE_GOLDEN"
            );
        }
    }
}

const WINDOWS_VARS: &[(&str, &str)] = &[
    ("USERPROFILE", r"C:\Users\ada"),
    ("APPDATA", r"C:\Users\ada\AppData\Roaming"),
    ("LOCALAPPDATA", r"C:\Users\ada\AppData\Local"),
];

/// Machines, each with a name: plain installs per OS, then the variations clients honour.
fn machines() -> Vec<(&'static str, Env)> {
    let linux_overrides: &[(&str, &str)] = &[
        ("XDG_CONFIG_HOME", "/xdg/config"),
        ("XDG_DATA_HOME", "/xdg/data"),
        ("CLAUDE_CONFIG_DIR", "/env/claude"),
        ("CURSOR_CONFIG_DIR", "/env/cursor"),
        ("CODEX_HOME", "/env/codex"),
        ("GEMINI_CLI_HOME", "/env/gemini"),
        ("CLINE_DIR", "/env/cline"),
        ("GOOSE_PATH_ROOT", "/env/goose"),
        ("OPENCODE_CONFIG_DIR", "/env/opencode"),
        ("COPILOT_HOME", "/env/copilot"),
    ];
    vec![
        ("macos", Env::simulated(Os::MacOs, "/Users/ada", &[], &[])),
        ("linux", Env::simulated(Os::Linux, "/home/ada", &[], &[])),
        (
            "windows",
            Env::simulated(Os::Windows, r"C:\Users\ada", WINDOWS_VARS, &[]),
        ),
        (
            "linux, variables set",
            Env::simulated(Os::Linux, "/home/ada", linux_overrides, &[]),
        ),
        (
            "linux, more specific variables",
            Env::simulated(
                Os::Linux,
                "/home/ada",
                &[
                    ("CLINE_MCP_SETTINGS_PATH", "/env/cline.json"),
                    ("CLINE_DIR", "/ignored"),
                    ("OPENCODE_CONFIG", "/env/opencode.jsonc"),
                    ("FLATPAK_XDG_CONFIG_HOME", "/home/ada/.var/app/dev.zed.Zed/config"),
                    ("XDG_CONFIG_HOME", "relative/is/ignored"),
                ],
                &[],
            ),
        ),
        (
            "windows, folders redirected",
            Env::simulated(
                Os::Windows,
                r"C:\Users\ada",
                &[
                    ("USERPROFILE", r"C:\Users\ada"),
                    ("APPDATA", r"D:\Roaming"),
                    ("LOCALAPPDATA", r"D:\Local"),
                ],
                &[],
            ),
        ),
        (
            "windows, Claude from the Store (MSIX)",
            Env::simulated(
                Os::Windows,
                r"C:\Users\ada",
                WINDOWS_VARS,
                &[r"C:\Users\ada\AppData\Local\Packages\Claude_pzs8sxrjxfjjc\LocalCache\Roaming\Claude\x"],
            ),
        ),
        (
            "windows, two Claude packages, one configured",
            Env::simulated(
                Os::Windows,
                r"C:\Users\ada",
                WINDOWS_VARS,
                &[
                    r"C:\Users\ada\AppData\Local\Packages\Claude_aaaa\LocalCache",
                    r"C:\Users\ada\AppData\Local\Packages\Claude_bbbb\LocalCache\Roaming\Claude\claude_desktop_config.json",
                ],
            ),
        ),
        (
            "linux, existing files",
            Env::simulated(
                Os::Linux,
                "/home/ada",
                &[],
                &[
                    "/home/ada/.config/Code/User/profiles/4a1b2c/settings.json",
                    "/home/ada/.config/Code/User/profiles/work/mcp.json",
                    "/home/ada/.codeium/windsurf/mcp_config.json",
                    "/home/ada/.lmstudio-home-pointer=/data/lmstudio",
                    "/home/ada/.config/opencode/opencode.jsonc",
                    "/home/ada/.gemini/config/mcp_config.json",
                ],
            ),
        ),
        (
            "macos, Windsurf folder only and old LM Studio",
            Env::simulated(
                Os::MacOs,
                "/Users/ada",
                &[],
                &[
                    "/Users/ada/.codeium/windsurf/memories",
                    "/Users/ada/.cache/lm-studio/mcp.json",
                ],
            ),
        ),
    ]
}

#[test]
fn config_paths_per_client_and_os() {
    let mut out = String::new();
    for (machine, env) in machines() {
        writeln!(out, "## {machine}").expect("write");
        for client in catalog::all() {
            let files = client.files(&env);
            let shown = if files.is_empty() {
                "(none on this OS)".to_owned()
            } else {
                files
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("  +  ")
            };
            writeln!(out, "{:<16} {shown}", client.id).expect("write");
        }
        out.push('\n');
    }
    let mut golden = Golden::new();
    golden.check("paths.txt", &out);
    golden.finish();
}

#[test]
fn installed_clients_are_detected_by_program_app_or_config() {
    let env = Env::simulated(
        Os::MacOs,
        "/Users/ada",
        &[("PATH", "/opt/homebrew/bin:/usr/bin")],
        &[
            "/opt/homebrew/bin/codex",
            "/Applications/Claude.app/Contents/Info.plist",
            "/Users/ada/.cursor/mcp.json",
            "/Users/ada/.claude.json",
            "/Users/ada/.gemini/settings.json",
        ],
    );
    let detected: BTreeMap<&str, String> = catalog::all()
        .iter()
        .filter_map(|c| Some((c.id, format!("{:?}", c.detect(&env)?))))
        .collect();
    let expected: BTreeMap<&str, String> = [
        ("codex", "Program(\"/opt/homebrew/bin/codex\")"),
        ("claude-desktop", "App(\"/Applications/Claude.app\")"),
        ("cursor", "Config(\"/Users/ada/.cursor/mcp.json\")"),
        ("claude-code", "Config(\"/Users/ada/.claude.json\")"),
        // ~/.gemini is shared with Antigravity, so only each one's own file or folder counts.
        ("gemini-cli", "Config(\"/Users/ada/.gemini/settings.json\")"),
    ]
    .into_iter()
    .map(|(k, v)| (k, v.to_owned()))
    .collect();
    assert_eq!(detected, expected);
    // A home folder proves nothing: Claude Code's file lives in it, but only the file counts.
    let bare = Env::simulated(Os::MacOs, "/Users/ada", &[], &["/Users/ada/notes.txt"]);
    assert_eq!(catalog::find("claude-code").and_then(|c| c.detect(&bare)), None);
}

#[test]
fn the_file_each_client_gets() {
    let gateway = Gateway {
        base_url: "http://127.0.0.1:7349".into(),
        shim_program: "/usr/local/bin/switchboard".into(),
        shim_env: BTreeMap::from([(
            "SWITCHBOARD_HOME".into(),
            "/home/ada/.local/share/switchboard".into(),
        )]),
    };
    let routes = [Route::Server("time".into()), Route::Aggregate];
    let mut golden = Golden::new();
    for client in catalog::all() {
        let plan = plan::connect(
            client,
            None,
            &Ownership::default(),
            &gateway,
            &routes,
            "sbc_TOKEN",
            false,
        )
        .unwrap_or_else(|e| panic!("{}: {e}", client.id));
        let extension = match client.format {
            Format::Json => "json",
            Format::Jsonc => "jsonc",
            Format::Toml => "toml",
            Format::Yaml => "yaml",
        };
        let text = plan.after.expect("a new file");
        golden.check(&format!("entries/{}.{extension}", client.id), &text);
    }
    golden.finish();
}

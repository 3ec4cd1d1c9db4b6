//! Registry installs, end to end: a local registry serving the real fixture data
//! (tests/registry/serve.py), the real binary, real packages from npm and PyPI fetched
//! offline from caches the test setup filled, and the official Python SDK through the gateway.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::registry::{FakeRegistry, fixture_server, sandbox_with, time_document};
use common::{Sandbox, assert_no_leak, call_tool, everything_server, free_port, tools_dir, wait_until};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn sandbox(registry: &FakeRegistry) -> Sandbox {
    sandbox_with(registry, &[])
}

/// The fixture's server-everything document names version 2.0.0, which was never published
/// to npm (it comes from a pull request); the same document with a published version.
fn everything_document() -> Value {
    let mut server = fixture_server("io.github.modelcontextprotocol/server-everything");
    server["version"] = json!("2026.8.31");
    for package in server["packages"].as_array_mut().unwrap() {
        package["version"] = json!("2026.8.31");
    }
    server
}

fn gateway_tools(sb: &Sandbox, server: &str, token: &str) -> Value {
    let out = Command::new(tools_dir().join("venv/bin/python"))
        .arg(repo().join("tests/clients/sdk_client.py"))
        .args(["list", &format!("http://127.0.0.1:{}/mcp/{server}", sb.port())])
        .env("SWITCHBOARD_TOKEN", token)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "the SDK client failed");
    serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().last().unwrap()).unwrap()
}

/// A CLI command that must fail: its exit code and stderr.
fn fails(sb: &Sandbox, args: &[&str]) -> (i32, String) {
    let out = sb.cli(args);
    assert!(!out.status.success(), "switchboard {args:?} should have failed");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn package_dirs(sb: &Sandbox) -> Vec<String> {
    let root = sb.home().join("packages");
    let mut found = Vec::new();
    for server in std::fs::read_dir(&root).into_iter().flatten().flatten() {
        for version in std::fs::read_dir(server.path()).into_iter().flatten().flatten() {
            found.push(format!(
                "{}/{}",
                server.file_name().to_string_lossy(),
                version.file_name().to_string_lossy()
            ));
        }
    }
    found.sort();
    found
}

#[test]
fn installs_from_the_registry_reach_running_and_answer_through_the_gateway() {
    let registry = FakeRegistry::start(&[]);
    registry.publish(everything_document());
    let port = free_port();
    let mut remote = Command::new(everything_server())
        .arg("streamableHttp")
        .env("PORT", port.to_string())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the remote server to listen", START, || {
        TcpStream::connect(("127.0.0.1", port)).ok()
    });
    registry.publish(time_document("2026.10.19"));
    registry.publish(json!({
        "name": "io.github.example/remote-everything",
        "description": "server-everything over Streamable HTTP, elsewhere.",
        "version": "1.0.0",
        "remotes": [{"type": "streamable-http", "url": format!("http://127.0.0.1:{port}/mcp")}],
    }));
    let sb = sandbox(&registry);

    let everything = sb.json(&["install", "io.github.modelcontextprotocol/server-everything"]);
    assert_eq!(everything["source"], "npm", "{everything}");
    // Its entry (dated 2026-06-01 by the local registry) predates its npm package (2026-08-31),
    // so npm --before finds no such version: the install retries with today's dependencies
    // and says so.
    assert!(
        everything["warnings"]
            .to_string()
            .contains("could not be resolved as of 2026-06-01"),
        "{everything}"
    );
    assert_eq!(everything["server"]["status"]["state"], "running", "{everything}");
    let time = sb.json(&["install", "io.github.modelcontextprotocol/server-time"]);
    assert_eq!(time["source"], "pypi", "{time}");
    assert_eq!(time["server"]["status"]["state"], "running", "{time}");
    let remote_view = sb.json(&["install", "io.github.example/remote-everything"]);
    assert_eq!(remote_view["source"], "streamable-http", "{remote_view}");
    assert_eq!(
        remote_view["server"]["status"]["state"], "running",
        "{remote_view}"
    );

    // Pinned: run by absolute path from the data directory, never through npx or uvx.
    let packages = sb.home().join("packages");
    let spec = sb.server("server-everything");
    let script = spec["transport"]["args"][0].as_str().unwrap();
    assert!(
        Path::new(spec["transport"]["command"].as_str().unwrap()).is_absolute(),
        "{spec}"
    );
    assert!(
        script.starts_with(&packages.join("server-everything/2026.8.31").display().to_string()),
        "{spec}"
    );
    assert_eq!(
        spec["transport"]["args"][1], "stdio",
        "the package argument from server.json"
    );
    assert_eq!(spec["origin"]["version"], "2026.8.31");
    assert_eq!(
        sb.server("server-time")["transport"]["command"],
        packages
            .join("server-time/2026.10.19/venv/bin/mcp-server-time")
            .display()
            .to_string()
    );

    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    let seen = gateway_tools(&sb, "server-everything", &token);
    assert!(
        seen["tools"].as_array().unwrap().iter().any(|t| t == "echo"),
        "{seen}"
    );
    let seen = gateway_tools(&sb, "server-time", &token);
    assert!(
        seen["tools"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t == "get_current_time"),
        "{seen}"
    );
    let seen = gateway_tools(&sb, "remote-everything", &token);
    assert!(
        seen["tools"].as_array().unwrap().iter().any(|t| t == "echo"),
        "{seen}"
    );

    // Installed once: a second install says where it is.
    let (code, stderr) = fails(&sb, &["install", "io.github.modelcontextprotocol/server-time"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("already installed as server server-time"),
        "{stderr}"
    );
    let listed = sb.json(&["search", "server-time"]);
    assert_eq!(
        listed["servers"][0]["installed_as"],
        json!(["server-time"]),
        "{listed}"
    );

    // With the registry gone, the pinned packages still start.
    drop(registry);
    sb.ok(&["restart", "server-time"]);
    sb.wait_state("server-time", "running", START);
    let _ = remote.kill();
    let _ = remote.wait();
}

#[test]
fn search_pages_through_the_registry_refreshes_incrementally_and_serves_the_cache_when_it_fails() {
    let registry = FakeRegistry::start(&["--max-limit", "20"]);
    let sb = sandbox(&registry);

    let all = sb.json(&["search", "--refresh"]);
    let names: Vec<&str> = all["servers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    // 49 versions of 47 names; airtable has two versions, and so does server-filesystem's
    // npm package under two registry names.
    assert_eq!(names.len(), 48, "{names:?}");
    assert!(all["offline"].is_null(), "{all}");
    let first = registry.requests();
    assert!(
        first.iter().any(|r| r.contains("cursor=20")) && first.iter().any(|r| r.contains("cursor=40")),
        "{first:?}"
    );
    // Its over-long description is a warning, not a problem: it can be installed.
    let cosmetic = all["servers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "io.github.21st-dev/magic-mcp")
        .unwrap();
    assert!(cosmetic["problem"].is_null(), "{cosmetic}");
    assert!(
        cosmetic["warnings"][0]
            .as_str()
            .unwrap()
            .contains("`description`"),
        "{cosmetic}"
    );

    // A new version arrives; the next refresh asks only for changes.
    registry.publish(time_document("2026.10.19"));
    let found = sb.json(&["search", "server-time", "--refresh"]);
    assert_eq!(found["servers"][0]["version"], "2026.10.19", "{found}");
    let since = registry.requests();
    assert!(since.last().unwrap().contains("updated_since="), "{since:?}");

    for (mode, expected) in [
        ("500", "answered 500"),
        ("429", "rate-limiting"),
        ("malformed", "not the registry API's shape"),
    ] {
        registry.fault(Some(mode));
        let cached = sb.json(&["search", "server-time", "--refresh"]);
        assert_eq!(cached["servers"][0]["version"], "2026.10.19", "{mode}: {cached}");
        let why = cached["offline"].as_str().unwrap_or_default();
        assert!(why.contains(expected), "{mode}: {why}");
        // Installing needs one document, which the cache has too; a failed fetch is undone.
        let (code, stderr) = fails(&sb, &["install", "io.github.modelcontextprotocol/server-memory"]);
        assert_eq!(code, 1, "{mode}: {stderr}");
        assert!(
            stderr.contains("npm install @modelcontextprotocol/server-memory@0.6.3 failed"),
            "{stderr}"
        );
        assert!(
            sb.servers().is_empty() && package_dirs(&sb).is_empty(),
            "nothing half-installed"
        );
    }
    registry.fault(None);
    let info = sb.json(&["info", "io.github.modelcontextprotocol/server-time"]);
    assert_eq!(info["server"]["version"], "2026.10.19");
    assert_eq!(info["versions"].as_array().unwrap().len(), 2, "{info}");

    drop(registry);
    let cached = sb.json(&["search", "time", "--refresh"]);
    assert!(
        cached["offline"]
            .as_str()
            .unwrap()
            .contains("cannot reach the registry"),
        "{cached}"
    );
    assert!(!cached["servers"].as_array().unwrap().is_empty());
    let text = sb.ok(&["search", "time", "--refresh"]);
    assert!(
        text.contains("io.github.modelcontextprotocol/server-time"),
        "{text}"
    );
}

#[test]
fn entries_that_cannot_be_installed_say_why_and_change_nothing() {
    let registry = FakeRegistry::start(&[]);
    let sb = sandbox(&registry);

    // A cosmetic departure from the schema plans, with a warning; a version range does not.
    let out = sb.cli(&["install", "--dry-run", "io.github.21st-dev/magic-mcp"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: server.json field `description` is 115 characters long"),
        "{stderr}"
    );
    let info = sb.ok(&["info", "io.github.21st-dev/magic-mcp"]);
    assert!(
        info.contains("warning: server.json field `description` is 115 characters long"),
        "{info}"
    );
    let mut ranged = time_document("2026.10.19");
    ranged["name"] = json!("io.github.example/ranged");
    ranged["version"] = json!("^1.0.0");
    registry.publish(ranged);
    let (code, stderr) = fails(&sb, &["install", "io.github.example/ranged"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("field `version` is the range `^1.0.0`"),
        "{stderr}"
    );

    let (code, stderr) = fails(&sb, &["install", "io.github.domdomegg/time-mcp-nuget"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("needs dnx") && stderr.contains(".NET"),
        "{stderr}"
    );

    let (code, stderr) = fails(
        &sb,
        &["install", "io.github.modelcontextprotocol/server-filesystem"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("missing required inputs: allowed_directory"),
        "{stderr}"
    );

    // A secret input is read from stdin; the package is not in the offline cache, so the fetch
    // fails, and neither the value nor anything else is left behind.
    let out = sb
        .command()
        .args([
            "install",
            "io.github.domdomegg/airtable-mcp-server@1.7.3",
            "--secret",
            "AIRTABLE_API_KEY",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .and_then(|mut child| {
            child.stdin.take().unwrap().write_all(b"pat.secret-value\n")?;
            child.wait_with_output()
        })
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("npm install airtable-mcp-server@1.7.3 failed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("pat.secret-value"),
        "the value is never echoed: {stderr}"
    );

    let (code, stderr) = fails(&sb, &["install", "io.github.example/nope"]);
    assert_eq!(code, 4, "{stderr}");
    assert!(
        stderr.contains("no server named io.github.example/nope"),
        "{stderr}"
    );

    registry.set_status("io.github.modelcontextprotocol/server-memory", "0.6.3", "deleted");
    let (code, stderr) = fails(&sb, &["install", "io.github.modelcontextprotocol/server-memory"]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("was deleted from the registry"), "{stderr}");

    assert!(sb.servers().is_empty() && package_dirs(&sb).is_empty());

    // Deprecated still installs, with a warning.
    registry.publish(time_document("2026.10.19"));
    registry.set_status(
        "io.github.modelcontextprotocol/server-time",
        "2026.10.19",
        "deprecated",
    );
    let out = sb.cli(&["install", "io.github.modelcontextprotocol/server-time"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("deprecated"));
}

/// Zips tests/registry/bundle into `dir/name` and returns its SHA-256.
fn build_bundle(dir: &Path, name: &str) -> String {
    let out = Command::new("python3")
        .args([
            "-c",
            "import hashlib, os, sys, zipfile\n\
             src, dest = sys.argv[1], sys.argv[2]\n\
             with zipfile.ZipFile(dest, 'w', zipfile.ZIP_DEFLATED) as z:\n\
             \x20   for root, _, files in os.walk(src):\n\
             \x20       for f in files:\n\
             \x20           p = os.path.join(root, f)\n\
             \x20           z.write(p, os.path.relpath(p, src))\n\
             print(hashlib.sha256(open(dest, 'rb').read()).hexdigest())",
        ])
        .arg(repo().join("tests/registry/bundle"))
        .arg(dir.join(name))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[test]
fn a_bundle_runs_only_with_its_published_sha256() {
    let files = tempfile::tempdir().unwrap();
    let sha = build_bundle(files.path(), "demo.mcpb");
    let registry = FakeRegistry::start(&["--files", files.path().to_str().unwrap()]);
    let bundle = |version: &str, sha: &str| {
        json!({
            "name": "io.github.example/bundle-demo",
            "description": "A bundle built by the test.",
            "version": version,
            "packages": [{
                "registryType": "mcpb",
                "identifier": format!("{}/files/demo.mcpb", registry.url()),
                "fileSha256": sha,
                "transport": {"type": "stdio"}
            }]
        })
    };
    registry.publish(bundle("1.0.0", &"0".repeat(64)));
    let sb = sandbox(&registry);

    let (code, stderr) = fails(
        &sb,
        &["install", "io.github.example/bundle-demo", "--set", "greeting=hi"],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("does not match its published SHA-256"),
        "{stderr}"
    );
    assert!(
        sb.servers().is_empty() && package_dirs(&sb).is_empty(),
        "nothing half-installed"
    );

    registry.publish(bundle("1.0.1", &sha));
    let (code, stderr) = fails(&sb, &["install", "io.github.example/bundle-demo"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("missing required inputs: greeting"),
        "the bundle's own settings are inputs: {stderr}"
    );
    assert!(package_dirs(&sb).is_empty());

    let installed = sb.json(&[
        "install",
        "io.github.example/bundle-demo",
        "--set",
        "greeting=hello from a bundle",
    ]);
    assert_eq!(installed["server"]["status"]["state"], "running", "{installed}");
    assert_eq!(installed["server"]["status"]["tools"], 1, "{installed}");
    let spec = &installed["server"]["transport"];
    assert_eq!(
        spec["args"][0],
        sb.home()
            .join("packages/bundle-demo/1.0.1/bundle/server/index.js")
            .display()
            .to_string()
    );
    // The greeting is a sensitive setting: it went to the keychain, and the spec names it.
    assert_eq!(spec["env"]["GREETING"], json!({"secret": "bundle-demo/GREETING"}));
    let secrets = sb.json(&["secrets", "ls", "bundle-demo"]);
    assert_eq!(
        secrets,
        json!([{"name": "GREETING", "key": "bundle-demo/GREETING", "set": true}])
    );
    // The value reached the process at spawn: its tool says it, which the gateway redacts
    // (it is one of the person's secrets) until the server's results are allowed through.
    let token = sb.ok(&["token", "create", "tester"]).trim().to_owned();
    assert_eq!(
        call_tool(&sb, "bundle-demo", "greet", &token),
        "[redacted secret]"
    );
    sb.ok(&["secrets", "guard", "bundle-demo", "allow"]);
    assert_eq!(
        call_tool(&sb, "bundle-demo", "greet", &token),
        "hello from a bundle"
    );
    assert_no_leak(&sb, "hello from a bundle");
}

#[test]
fn an_update_that_fails_its_health_check_rolls_back_and_a_good_one_switches() {
    let registry = FakeRegistry::start(&[]);
    registry.publish(time_document("2026.8.18"));
    let sb = sandbox(&registry);
    sb.json(&["install", "io.github.modelcontextprotocol/server-time"]);
    let before = sb.wait_state("server-time", "running", START);
    let pid = before["status"]["pid"].clone();

    let up_to_date = sb.json(&["update", "server-time"]);
    assert_eq!(up_to_date[0]["outcome"], "up_to_date", "{up_to_date}");

    // A new version whose process exits at start: an unknown flag stops its argument parser.
    let mut broken = time_document("2026.10.19");
    broken["version"] = json!("2026.9.0");
    broken["packages"][0]["packageArguments"] = json!([{"type": "positional", "value": "--no-such-flag"}]);
    registry.publish(broken);
    let (code, stderr) = fails(&sb, &["update", "server-time"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("failed its health check, so server-time stays on 2026.8.18"),
        "{stderr}"
    );
    let after = sb.server("server-time");
    assert_eq!(after["status"]["state"], "running", "{after}");
    assert_eq!(
        after["status"]["pid"], pid,
        "the running process was never touched"
    );
    assert_eq!(after["origin"]["version"], "2026.8.18");
    assert_eq!(
        package_dirs(&sb),
        ["server-time/2026.8.18"],
        "the failed version was removed"
    );

    // A good version that adds an optional input: the dry run shows it, the update switches.
    let mut good = time_document("2026.10.19");
    good["packages"][0]["packageArguments"] = json!([
        {"type": "named", "name": "--local-timezone", "description": "Timezone to report in"}
    ]);
    registry.publish(good);
    let preview = sb.json(&["update", "server-time", "--dry-run"]);
    assert_eq!(preview[0]["outcome"], "available", "{preview}");
    assert_eq!(
        preview[0]["inputs"]["added"],
        json!(["--local-timezone"]),
        "{preview}"
    );
    let updated = sb.json(&["update", "server-time"]);
    assert_eq!(updated[0]["outcome"], "updated", "{updated}");
    assert_eq!(
        updated[0]["tools"], 2,
        "the health check listed its tools: {updated}"
    );
    let now = sb.wait_state("server-time", "running", START);
    assert_ne!(now["status"]["pid"], pid);
    assert_eq!(now["origin"]["version"], "2026.10.19");
    assert_eq!(
        package_dirs(&sb),
        ["server-time/2026.10.19"],
        "the old version was removed"
    );
}

#[test]
fn doctor_finds_runtimes_through_the_login_shell_and_says_what_is_missing() {
    // A login shell whose start-up adds a directory (as nvm or Homebrew's shellenv do) that
    // holds a dnx; the daemon's own PATH does not have it.
    let shims = tempfile::tempdir().unwrap();
    let dnx = shims.path().join("dnx");
    std::fs::write(&dnx, "#!/bin/sh\necho 10.0.100\n").unwrap();
    let shell = shims.path().join("login-shell");
    std::fs::write(
        &shell,
        format!(
            "#!/bin/sh\nPATH=\"{}:$PATH\" exec /bin/sh -c \"$4\"\n",
            shims.path().display()
        ),
    )
    .unwrap();
    for file in [&dnx, &shell] {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(file, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let registry = FakeRegistry::start(&[]);
    let sb = sandbox_with(&registry, &[("SHELL", shell.to_str().unwrap())]);

    let report = sb.json(&["doctor"]);
    let runtime = |name: &str| {
        report["runtimes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["runtime"] == name)
            .unwrap()
            .clone()
    };
    let node = runtime("node");
    assert!(Path::new(node["path"].as_str().unwrap()).is_absolute(), "{node}");
    assert!(
        node["version"].as_str().unwrap().starts_with(char::is_numeric),
        "{node}"
    );
    let uv = runtime("uv");
    assert_eq!(uv["version"], "0.13.9", "{uv}");
    let dnx_found = runtime("dnx");
    assert_eq!(dnx_found["path"], dnx.display().to_string(), "{dnx_found}");
    assert_eq!(dnx_found["found_via"], "login shell");
    assert_eq!(dnx_found["version"], "10.0.100");
    assert_eq!(
        report["login_shell"]["added_dirs"],
        json!([shims.path().display().to_string()]),
        "{report}"
    );
    assert_eq!(report["registry"]["url"], registry.url());
    let podman = runtime("podman");
    assert!(
        podman["path"].is_null() && podman["fix"].as_str().unwrap().contains("podman.io"),
        "{podman}"
    );

    let text = sb.ok(&["doctor"]);
    assert!(text.contains("podman is missing: install Podman"), "{text}");
    assert!(
        text.contains(&format!("adds {}", shims.path().display())),
        "{text}"
    );
}

#[test]
fn a_secret_input_of_server_json_goes_to_the_keychain_and_reaches_the_process() {
    let registry = FakeRegistry::start(&[]);
    let mut server = time_document("2026.10.19");
    server["packages"][0]["environmentVariables"] = json!([
        {"name": "TIME_API_KEY", "description": "A key the server is given", "isRequired": true, "isSecret": true},
        {"name": "TIME_MODE", "default": "plain"}
    ]);
    registry.publish(server);
    let sb = sandbox(&registry);

    let detail = sb.json(&["info", "io.github.modelcontextprotocol/server-time"]);
    let fields = &detail["sources"][0]["fields"];
    assert_eq!(fields[0]["key"], "TIME_API_KEY", "{detail}");
    assert_eq!(fields[0]["secret"], true, "the form marks it for masking");

    let mut child = sb
        .command()
        .args([
            "install",
            "io.github.modelcontextprotocol/server-time",
            "--secret",
            "TIME_API_KEY",
            "--json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"tk-planted-4242\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let view = sb.wait_state("server-time", "running", START);
    assert_eq!(
        view["transport"]["env"]["TIME_API_KEY"],
        json!({"secret": "server-time/TIME_API_KEY"})
    );
    assert_eq!(view["transport"]["env"]["TIME_MODE"], "plain");
    let pid = view["status"]["pid"].as_u64().unwrap();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    assert!(
        String::from_utf8_lossy(&environ).contains("TIME_API_KEY=tk-planted-4242"),
        "the value reached the process at spawn"
    );
    assert_no_leak(&sb, "tk-planted-4242");
}

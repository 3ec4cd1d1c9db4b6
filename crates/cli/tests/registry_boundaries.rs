//! What registry documents and API bodies cannot make the daemon do, end to end: a package
//! identifier reaches a package manager only as a name after `--`, a container gets no host
//! access the user did not allow, npm runs no install scripts unasked, a spec cannot aim an
//! update at a directory outside its own packages or use another server's secret, and removing
//! a server removes its package files. Package managers are shims that record their argv.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::registry::{FakeRegistry, offline_sandbox, sandbox_with, time_document};
use common::{Sandbox, everything_server, tools_dir};
use serde_json::{Value, json};

const START: Duration = Duration::from_secs(60);

/// `npm` and `docker` that answer `--version` and otherwise write their arguments, one a
/// line, to `<dir>/<program>.argv` and fail.
fn recording_shims(dir: &Path) {
    for (program, version) in [
        ("npm", "10.9.0"),
        ("docker", "Docker version 27.3.1, build ce12230"),
    ] {
        let path = dir.join(program);
        std::fs::write(
            &path,
            format!(
                "#!/bin/sh\n\
                 if [ \"$1\" = --version ]; then echo '{version}'; exit 0; fi\n\
                 printf '%s\\n' \"$@\" > {record}\n\
                 echo 'recorded, not fetched' >&2\n\
                 exit 1\n",
                record = dir.join(format!("{program}.argv")).display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
}

/// The argv `program` was last run with (and forgets it), or none if it was not run.
fn recorded(dir: &Path, program: &str) -> Option<Vec<String>> {
    let path = dir.join(format!("{program}.argv"));
    let text = std::fs::read_to_string(&path).ok()?;
    std::fs::remove_file(&path).unwrap();
    Some(text.lines().map(str::to_owned).collect())
}

fn document(name: &str, package: Value) -> Value {
    json!({
        "name": format!("io.github.example/{name}"),
        "description": "A test document.",
        "version": "1.0.0",
        "packages": [package],
    })
}

/// `switchboard ARGS…`: its exit code and stderr.
fn run(sb: &Sandbox, args: &[&str]) -> (Option<i32>, String) {
    let out = sb.cli(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn registry_identifiers_reach_package_managers_only_as_names_after_a_double_dash() {
    let shims = tempfile::tempdir().unwrap();
    recording_shims(shims.path());
    let registry = FakeRegistry::start(&[]);
    let path = format!(
        "{}:{}:{}",
        shims.path().display(),
        tools_dir().join("uv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sb = offline_sandbox(&registry, &[("PATH", &path)]);
    sb.start_daemon();

    // (document name, registry type, identifier, what the refusal says)
    let refused = [
        (
            "tarball",
            "npm",
            "https://evil.example/x.tgz",
            "it is a URL, not a package name",
        ),
        ("gitref", "npm", "git+https://github.com/a/b.git", "it is a URL"),
        ("option", "npm", "--global", "starts with `-`"),
        ("localpath", "npm", "../../etc", "it is a file path"),
        (
            "direct",
            "pypi",
            "pkg @ https://evil.example/x.whl",
            "it is a URL",
        ),
        ("extras", "pypi", "pkg[all]", "not a PEP 508 package name"),
        ("image", "oci", "--privileged", "starts with `-`"),
    ];
    for (name, kind, identifier, problem) in refused {
        registry.publish(document(
            name,
            json!({"registryType": kind, "identifier": identifier, "version": "1.0.0",
                   "transport": {"type": "stdio"}}),
        ));
        let (code, stderr) = run(&sb, &["install", &format!("io.github.example/{name}")]);
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("registry document gives") && stderr.contains(identifier),
            "{name}: {stderr}"
        );
        assert!(stderr.contains(problem), "{name}: {stderr}");
        assert!(stderr.contains("packages[0].identifier"), "{name}: {stderr}");
        assert_eq!(recorded(shims.path(), "npm"), None, "{name}: npm was run");
        assert_eq!(recorded(shims.path(), "docker"), None, "{name}: docker was run");
    }

    // The server's version names its package directory: `..` must not make that `packages/`.
    let keep = sb.home().join("packages/other/1.0/keep.txt");
    std::fs::create_dir_all(keep.parent().unwrap()).unwrap();
    std::fs::write(&keep, "precious").unwrap();
    let mut dotdot = document(
        "dotdot",
        json!({"registryType": "npm", "identifier": "dotdot", "version": "1.0.0",
               "transport": {"type": "stdio"}}),
    );
    dotdot["version"] = json!("..");
    registry.publish(dotdot);
    let (code, stderr) = run(&sb, &["install", "io.github.example/dotdot"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("server version `..` in `version`"), "{stderr}");
    assert!(keep.exists(), "packages/ was emptied");
    assert_eq!(recorded(shims.path(), "npm"), None, "npm was run");

    // A name: after `--`, and without lifecycle scripts unless the user allows them.
    registry.publish(document(
        "named",
        json!({"registryType": "npm", "identifier": "@scope/named-server", "version": "1.0.0",
               "transport": {"type": "stdio"}}),
    ));
    let (code, stderr) = run(&sb, &["install", "io.github.example/named"]);
    assert_eq!(code, Some(1), "the shim fails the fetch: {stderr}");
    let argv = recorded(shims.path(), "npm").expect("npm ran");
    assert!(argv.contains(&"--ignore-scripts".to_owned()), "{argv:?}");
    assert_eq!(
        argv[argv.len() - 2..],
        ["--", "@scope/named-server@1.0.0"],
        "{argv:?}"
    );
    run(&sb, &["install", "io.github.example/named", "--allow-scripts"]);
    let argv = recorded(shims.path(), "npm").expect("npm ran");
    assert!(!argv.contains(&"--ignore-scripts".to_owned()), "{argv:?}");
    assert_eq!(
        argv[argv.len() - 2..],
        ["--", "@scope/named-server@1.0.0"],
        "{argv:?}"
    );

    // A container that asks for the host: refused, naming the flag, until the user allows it.
    registry.publish(document(
        "container",
        json!({"registryType": "oci", "identifier": "docker.io/mcp/time:1.0", "transport": {"type": "stdio"},
        "runtimeArguments": [
            {"type": "named", "name": "-e", "value": "MODE=fast"},
            {"type": "named", "name": "--privileged", "value": ""},
            {"type": "named", "name": "-v", "value": "/:/host"}
        ]}),
    ));
    let (code, stderr) = run(&sb, &["install", "io.github.example/container"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`--privileged`, which gives the container every device and capability of the host")
            && stderr.contains("`-v /:/host`, which mounts a path of the host into the container")
            && stderr.contains("--allow-runtime-arg=--privileged --allow-runtime-arg=--volume")
            && !stderr.contains("MODE=fast"),
        "{stderr}"
    );
    let (code, stderr) = run(
        &sb,
        &[
            "install",
            "io.github.example/container",
            "--allow-runtime-arg=--privileged",
        ],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`-v /:/host`, which mounts a path of the host")
            && stderr.contains("give `--allow-runtime-arg=--volume` to `switchboard install`")
            && !stderr.contains("`--privileged`"),
        "{stderr}"
    );
    assert_eq!(recorded(shims.path(), "docker"), None, "docker was run: {stderr}");

    // Its environment is set on docker itself: a variable docker reads needs consent too.
    registry.publish(document(
        "elsewhere",
        json!({"registryType": "oci", "identifier": "docker.io/mcp/time:1.0", "transport": {"type": "stdio"},
               "environmentVariables": [{"name": "DOCKER_HOST", "value": "tcp://evil.example:2375"},
                                        {"name": "MODE", "value": "fast"}]}),
    ));
    let (code, stderr) = run(&sb, &["install", "io.github.example/elsewhere"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`DOCKER_HOST=…`, which is read by the container runtime's own program")
            && stderr.contains("--allow-runtime-arg=env:DOCKER_HOST")
            && !stderr.contains("MODE"),
        "{stderr}"
    );
    assert_eq!(recorded(shims.path(), "docker"), None, "docker was run: {stderr}");
    let (code, stderr) = run(
        &sb,
        &[
            "install",
            "io.github.example/container",
            "--allow-runtime-arg=--privileged",
            "--allow-runtime-arg",
            "-v",
        ],
    );
    assert_eq!(code, Some(1), "allowed, so the (failing) pull ran: {stderr}");
    assert_eq!(
        recorded(shims.path(), "docker").expect("docker ran"),
        ["pull", "--quiet", "--", "docker.io/mcp/time:1.0"]
    );
    assert!(sb.servers().is_empty());
}

/// `PUT /api/v1/servers/NAME` with `spec`: the status and body.
fn put(sb: &Sandbox, spec: &Value) -> (u16, String) {
    let name = spec["name"].as_str().unwrap();
    let auth = format!("Bearer {}", sb.token());
    sb.http(
        "PUT",
        &format!("/api/v1/servers/{name}"),
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        &spec.to_string(),
    )
}

/// A server's spec as a PUT body.
fn spec_of(sb: &Sandbox, name: &str) -> Value {
    let mut spec = sb.server(name);
    for field in ["enabled", "status", "restarts", "usage"] {
        spec.as_object_mut().unwrap().remove(field);
    }
    spec
}

#[test]
fn a_package_dir_outside_the_servers_own_packages_cannot_be_made_an_update_target() {
    let registry = FakeRegistry::start(&[]);
    registry.publish(time_document("2026.8.18"));
    let sb = sandbox_with(&registry, &[]);
    sb.json(&["install", "io.github.modelcontextprotocol/server-time"]);
    sb.wait_state("server-time", "running", START);
    let packages = sb.home().join("packages");
    let own = PathBuf::from(
        spec_of(&sb, "server-time")["origin"]["package_dir"]
            .as_str()
            .unwrap(),
    );
    assert!(own.starts_with(packages.join("server-time")), "{}", own.display());

    // Directories the daemon must never remove: elsewhere in the data directory, elsewhere on
    // the machine, another server's packages, and the server's whole package root.
    let outside = tempfile::tempdir().unwrap();
    let victims = [
        sb.home().join("victim"),
        outside.path().join("victim"),
        packages.join("other/1.0"),
    ];
    for victim in &victims {
        std::fs::create_dir_all(victim).unwrap();
        std::fs::write(victim.join("keep.txt"), "precious").unwrap();
    }
    let aimed: Vec<PathBuf> = vec![
        victims[0].clone(),
        victims[1].clone(),
        victims[2].clone(),
        packages.join("server-time/../../victim"),
        packages.join("server-time"),
    ];
    for dir in &aimed {
        let mut spec = spec_of(&sb, "server-time");
        spec["origin"]["package_dir"] = json!(dir);
        let (status, body) = put(&sb, &spec);
        assert_eq!(status, 400, "{}: {body}", dir.display());
        assert!(body.contains("is not inside"), "{body}");
    }
    assert_eq!(
        spec_of(&sb, "server-time")["origin"]["package_dir"],
        json!(own),
        "nothing was changed"
    );
    // Its own directory is accepted as ever.
    let mut spec = spec_of(&sb, "server-time");
    spec["restart"] = json!("always");
    let (status, body) = put(&sb, &spec);
    assert_eq!(status, 200, "{body}");

    registry.publish(time_document("2026.10.19"));
    let updated = sb.json(&["update", "server-time"]);
    assert_eq!(updated[0]["outcome"], "updated", "{updated}");
    for victim in &victims {
        assert!(
            victim.join("keep.txt").exists(),
            "{} was removed",
            victim.display()
        );
    }
    assert!(!own.exists(), "the old version's own directory went");
}

#[test]
fn a_spec_cannot_use_another_servers_secret_and_removing_it_leaves_that_secret() {
    let sb = Sandbox::with_daemon();
    for name in ["a", "b"] {
        sb.ok(&["add", name, "--", &everything_server()]);
    }
    assert!(sb.set_secret("b", "TOKEN", "b-only-value\n").status.success());

    // (the reference a's spec makes, what the refusal says)
    let cases = [
        (
            "b/TOKEN",
            "refers to secret `b/TOKEN`, which is not this server's",
        ),
        ("TOKEN", "which is not this server's"),
        ("a/../b/TOKEN", "which is not this server's"),
        ("a/oauth", "the server's OAuth sign-in"),
    ];
    for (reference, refusal) in cases {
        let mut spec = spec_of(&sb, "a");
        spec["transport"]["env"] = json!({"TOKEN": {"secret": reference}});
        let (status, body) = put(&sb, &spec);
        assert_eq!(status, 400, "{reference}: {body}");
        assert!(body.contains(refusal), "{reference}: {body}");
    }
    // Nor can a new server be added with one.
    let auth = format!("Bearer {}", sb.token());
    let spec = json!({"name": "c", "transport": {"type": "stdio", "command": everything_server(),
                      "env": {"TOKEN": {"secret": "b/TOKEN"}}}});
    let (status, body) = sb.http(
        "POST",
        "/api/v1/servers",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        &spec.to_string(),
    );
    assert_eq!(status, 400, "{body}");

    sb.ok(&["rm", "a"]);
    assert_eq!(
        sb.json(&["secrets", "ls", "b"]),
        json!([{"name": "TOKEN", "key": "b/TOKEN", "set": true}]),
        "b keeps its secret"
    );
}

#[test]
fn removing_a_server_removes_its_package_files_and_no_others() {
    let registry = FakeRegistry::start(&[]);
    registry.publish(time_document("2026.8.18"));
    let sb = sandbox_with(&registry, &[]);
    sb.json(&["install", "io.github.modelcontextprotocol/server-time"]);
    sb.wait_state("server-time", "running", START);
    let packages = sb.home().join("packages");
    assert!(packages.join("server-time/2026.8.18").is_dir());
    let other = packages.join("server-timer/1.0");
    std::fs::create_dir_all(&other).unwrap();

    sb.ok(&["rm", "server-time"]);
    assert!(!packages.join("server-time").exists(), "its packages are gone");
    assert!(other.is_dir(), "a server of a similar name keeps its own");
}

/// A `docker` whose `pull` succeeds and whose `run` writes its arguments, one a line, to
/// `<dir>/run.argv` and then runs mcp-server-time in the container's place.
fn container_shim(dir: &Path) {
    let path = dir.join("docker");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\n\
             case \"$1\" in\n\
             --version) echo 'Docker version 27.3.1, build ce12230'; exit 0;;\n\
             pull) exit 0;;\n\
             run) printf '%s\\n' \"$@\" > {record}; exec {server};;\n\
             esac\n\
             exit 1\n",
            record = dir.join("run.argv").display(),
            server = common::time_server(),
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn container_document(version: &str, runtime_arguments: Value) -> Value {
    json!({
        "name": "io.github.example/container",
        "description": "A server in a container.",
        "version": version,
        "packages": [{"registryType": "oci", "identifier": format!("docker.io/example/time:{version}"),
                      "transport": {"type": "stdio"}, "runtimeArguments": runtime_arguments}],
    })
}

#[test]
fn a_container_gets_only_what_the_user_allowed_and_keeps_it_across_updates() {
    let shims = tempfile::tempdir().unwrap();
    container_shim(shims.path());
    let registry = FakeRegistry::start(&[]);
    let path = format!(
        "{}:{}",
        shims.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sb = offline_sandbox(&registry, &[("PATH", &path)]);
    sb.start_daemon();
    let run_argv = || -> Vec<String> {
        let text = std::fs::read_to_string(shims.path().join("run.argv")).unwrap();
        text.lines().map(str::to_owned).collect()
    };

    registry.publish(container_document(
        "1.0.0",
        json!([{"type": "named", "name": "-e", "value": "MODE=fast"},
               {"type": "named", "name": "-v", "value": "/srv/data:/data"}]),
    ));
    let (code, stderr) = run(&sb, &["install", "io.github.example/container"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--allow-runtime-arg=--volume"), "{stderr}");
    let installed = sb.json(&[
        "install",
        "io.github.example/container",
        "--allow-runtime-arg",
        "-v",
    ]);
    assert_eq!(installed["server"]["status"]["state"], "running", "{installed}");
    assert_eq!(
        sb.server("container")["origin"]["allowed_runtime_args"],
        json!(["-v"])
    );
    assert_eq!(
        run_argv(),
        [
            "run",
            "-i",
            "--rm",
            "-e",
            "MODE=fast",
            "-v",
            "/srv/data:/data",
            "--",
            "docker.io/example/time:1.0.0"
        ]
    );

    // A new version that asks for more is refused until the user allows that too.
    registry.publish(container_document(
        "1.1.0",
        json!([{"type": "named", "name": "-v", "value": "/srv/data:/data"},
               {"type": "named", "name": "--cap-add", "value": "NET_ADMIN"}]),
    ));
    let (code, stderr) = run(&sb, &["update", "container"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("`--cap-add NET_ADMIN`, which adds kernel capabilities")
            && !stderr.contains("/srv/data"),
        "what was allowed at install stays allowed: {stderr}"
    );
    assert_eq!(sb.server("container")["origin"]["version"], "1.0.0");
    let updated = sb.json(&["update", "container", "--allow-runtime-arg=--cap-add"]);
    assert_eq!(updated[0]["outcome"], "updated", "{updated}");
    sb.wait_state("container", "running", START);
    assert_eq!(
        sb.server("container")["origin"]["allowed_runtime_args"],
        json!(["--cap-add", "-v"])
    );
    assert_eq!(
        run_argv(),
        [
            "run",
            "-i",
            "--rm",
            "-v",
            "/srv/data:/data",
            "--cap-add",
            "NET_ADMIN",
            "--",
            "docker.io/example/time:1.1.0"
        ]
    );
}

#[test]
fn an_install_under_a_taken_name_leaves_that_servers_package_alone() {
    let registry = FakeRegistry::start(&[]);
    registry.publish(time_document("2026.8.18"));
    let sb = sandbox_with(&registry, &[]);
    sb.json(&["install", "io.github.modelcontextprotocol/server-time"]);
    sb.wait_state("server-time", "running", START);
    let view = sb.server("server-time");
    let program = PathBuf::from(view["transport"]["command"].as_str().unwrap());

    // The same version under the same local name: it would be fetched into that server's
    // own package directory.
    let (code, stderr) = run(
        &sb,
        &[
            "install",
            "io.github.modelcontextprotocol/server-time",
            "--as",
            "server-time",
        ],
    );
    assert_ne!(code, Some(0), "{stderr}");
    assert!(
        stderr.contains("a server named server-time already exists"),
        "{stderr}"
    );
    assert!(program.exists(), "{} was removed", program.display());
    sb.ok(&["restart", "server-time"]);
    sb.wait_state("server-time", "running", START);
}

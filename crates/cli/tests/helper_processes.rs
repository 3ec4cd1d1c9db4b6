//! Helper processes end with the daemon: a package manager the daemon runs for an install,
//! and everything it started, are gone soon after the daemon is SIGKILLed mid-install.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use common::registry::{FakeRegistry, fixture_server, offline_sandbox};
use common::{alive, tools_dir, wait_until};

/// An `npm` that answers `--version` and otherwise hangs with a child of its own, as an
/// install script that sleeps would; it records "its pid, its child's pid" in `record`.
fn hanging_npm(dir: &Path, record: &Path) {
    let npm = dir.join("npm");
    std::fs::write(
        &npm,
        format!(
            "#!/bin/sh\n\
             if [ \"$1\" = --version ]; then echo 10.9.0; exit 0; fi\n\
             sleep 600 &\n\
             echo \"$$ $!\" > {0}.tmp && mv {0}.tmp {0}\n\
             wait\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&npm, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn a_sigkilled_daemon_leaves_no_package_manager_or_its_children_running() {
    let shims = tempfile::tempdir().unwrap();
    let record = shims.path().join("npm.pids");
    hanging_npm(shims.path(), &record);
    let registry = FakeRegistry::start(&[]);
    registry.publish(fixture_server("io.github.modelcontextprotocol/server-everything"));
    let path = format!(
        "{}:{}:{}",
        shims.path().display(),
        tools_dir().join("uv/bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sb = offline_sandbox(&registry, &[("PATH", &path)]);
    sb.start_daemon();

    let mut install = sb
        .command()
        .args(["install", "io.github.modelcontextprotocol/server-everything"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pids: Vec<u32> = wait_until("the daemon to run npm", Duration::from_secs(60), || {
        let text = std::fs::read_to_string(&record).ok()?;
        Some(text.split_whitespace().map(|p| p.parse().unwrap()).collect())
    });
    assert_eq!(pids.len(), 2, "{pids:?}");
    assert!(pids.iter().all(|&pid| alive(pid)), "{pids:?}");

    sb.kill_daemon_hard();
    wait_until(
        "npm and its child to end with the daemon",
        Duration::from_secs(10),
        || pids.iter().all(|&pid| !alive(pid)).then_some(()),
    );
    let _ = install.kill();
    let _ = install.wait();
}

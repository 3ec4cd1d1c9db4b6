//! End to end: the store is one file you can back up. After a quit the database file alone
//! holds everything; a damaged, truncated or emptied database is refused with its path and
//! the way out, never replaced by an empty one; and backups are taken and reported.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Sandbox, echo_server, wait_until};

/// A daemon with two servers (disabled, so nothing runs) and a client token, then stopped.
fn stopped_with_records() -> Sandbox {
    let mut sb = Sandbox::with_daemon();
    let echo = echo_server().display().to_string();
    for name in ["alpha", "beta"] {
        sb.ok(&["add", name, "--disabled", "--", &echo]);
    }
    sb.ok(&["token", "create", "editor"]);
    sb.stop_daemon();
    sb
}

fn server_names(sb: &Sandbox) -> Vec<String> {
    let mut names: Vec<String> = sb
        .servers()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_owned())
        .collect();
    names.sort();
    names
}

/// Starts the daemon expecting it to refuse; returns what it said.
fn refused_start(sb: &Sandbox) -> String {
    let out = sb
        .command()
        .arg("daemon")
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!out.status.success(), "the daemon started on a damaged database");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn after_a_quit_the_database_file_alone_holds_everything() {
    let mut sb = stopped_with_records();
    let db = sb.home().join("switchboard.db");
    for journal in ["switchboard.db-wal", "switchboard.db-shm"] {
        let _ = std::fs::remove_file(sb.home().join(journal));
    }
    // Copied alone to another machine (a backup or sync tool that skips the -wal file).
    let copy = Sandbox::new();
    std::fs::copy(&db, copy.home().join("switchboard.db")).unwrap();
    std::fs::copy(sb.home().join("control.token"), copy.home().join("control.token")).unwrap();
    for sb in [&mut sb, &mut { copy }] {
        sb.start_daemon();
        assert_eq!(server_names(sb), ["alpha", "beta"]);
        assert!(sb.ok(&["token", "ls"]).contains("editor"));
        sb.stop_daemon();
    }
}

#[test]
fn a_damaged_database_is_refused_with_its_path_and_the_way_out_and_left_as_it_was() {
    let mut sb = stopped_with_records();
    // One start more, so an automatic backup exists.
    sb.start_daemon();
    let taken = newest_backup_after(&sb, None);
    let doctor = sb.ok(&["doctor"]);
    assert!(
        doctor.contains("last backed up") && doctor.contains(&taken),
        "{doctor}"
    );
    sb.stop_daemon();
    let db = sb.home().join("switchboard.db");
    let intact = std::fs::read(&db).unwrap();
    assert!(intact.len() >= 8 * 4096, "{} bytes", intact.len());

    let page = 4096;
    let middle = intact.len() / page / 2 * page;
    let mut overwritten = intact.clone();
    overwritten[middle..middle + page].fill(0xAB);
    let half = intact[..middle].to_vec();
    for (damage, bytes) in [
        ("overwritten", overwritten),
        ("truncated", half),
        ("emptied", Vec::new()),
    ] {
        std::fs::write(&db, &bytes).unwrap();
        let said = refused_start(&sb);
        assert!(said.contains(&db.display().to_string()), "{damage}: {said}");
        assert!(said.contains("is damaged"), "{damage}: {said}");
        assert!(
            said.contains("backups/switchboard-"),
            "{damage}: names the backup: {said}"
        );
        assert_eq!(
            std::fs::read(&db).unwrap(),
            bytes,
            "{damage}: the file was changed"
        );
    }

    // The way out it names: the newest backup put in place.
    let backup = std::fs::read_dir(sb.home().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    std::fs::copy(&backup, &db).unwrap();
    sb.start_daemon();
    assert_eq!(server_names(&sb), ["alpha", "beta"]);
}

/// Waits for the daemon to report a newest backup other than `before`; returns its path.
fn newest_backup_after(sb: &Sandbox, before: Option<&str>) -> String {
    wait_until("a backup at this start", Duration::from_secs(30), || {
        let doctor = sb.json(&["doctor"]);
        let newest = doctor["store"]["last_backup"].as_str()?.to_owned();
        (Some(newest.as_str()) != before).then_some(newest)
    })
}

#[test]
fn backups_roll_and_the_newest_is_reported() {
    let mut sb = stopped_with_records();
    let mut newest: Option<String> = None;
    for _ in 0..4 {
        sb.start_daemon();
        newest = Some(newest_backup_after(&sb, newest.as_deref()));
        sb.stop_daemon();
    }
    let kept: Vec<_> = std::fs::read_dir(sb.home().join("backups"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 3, "older backups are removed: {kept:?}");
    assert!(
        kept.iter()
            .any(|p| p.display().to_string() == newest.clone().unwrap())
    );
}

//! The data directory is the user's alone, end to end: one that an older version (or the user)
//! left readable by others is tightened when the daemon starts, with a log line naming what
//! was exposed, and the files the daemon creates afterwards (a server's log) are private from
//! the start.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Sandbox, echo_server, wait_until};

const START: Duration = Duration::from_secs(60);

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn set_mode(path: &Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// The regular files directly in `dir`.
fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|entry| entry.file_type().unwrap().is_file())
        .map(|entry| entry.path())
        .collect()
}

/// A server that says `line` on stderr, so its log file gets written.
fn add_talking_server(sb: &Sandbox, name: &str, line: &str) {
    let script = format!("echo '{line}' >&2; exec '{}'", echo_server().display());
    sb.ok(&["add", name, "--", "sh", "-c", &script]);
    sb.wait_state(name, "running", START);
}

#[test]
fn a_data_directory_readable_by_others_is_made_private_at_start() {
    let mut sb = Sandbox::new();
    let (home, logs) = (sb.home().to_path_buf(), sb.home().join("logs"));
    sb.start_daemon();
    // A log file the daemon makes is private from the start, whatever the umask allows.
    add_talking_server(&sb, "talker", "first run");
    let talker_log = logs.join("talker.log");
    wait_until("the server's log file", START, || {
        std::fs::read_to_string(&talker_log)
            .is_ok_and(|text| text.contains("first run"))
            .then_some(())
    });
    assert_eq!(mode(&talker_log), 0o600, "a server's new log file");
    sb.stop_daemon();

    // As an older version (or a copy, or the user) left it: readable by everyone.
    // The journal of client files holds their bytes before and after each write.
    let journal = home.join("journal");
    std::fs::create_dir_all(&journal).unwrap();
    std::fs::write(journal.join("1.before"), "a client's file as it was").unwrap();
    set_mode(&home, 0o755);
    set_mode(&logs, 0o755);
    set_mode(&journal, 0o755);
    std::fs::write(home.join("notes.txt"), "kept by the user").unwrap();
    std::fs::write(logs.join("old.log"), "an old server's output").unwrap();
    let exposed: Vec<PathBuf> = [&home, &logs, &journal]
        .into_iter()
        .flat_map(|dir| files_in(dir))
        .collect();
    for file in &exposed {
        set_mode(file, 0o644);
    }
    let database = home.join("switchboard.db");
    assert!(exposed.contains(&database), "{exposed:?}");
    assert!(exposed.contains(&talker_log), "{exposed:?}");

    sb.start_daemon();
    assert_eq!(mode(&home), 0o700, "the data directory");
    assert_eq!(mode(&logs), 0o700, "its logs directory");
    assert_eq!(mode(&journal), 0o700, "its journal of client files");
    let (notes, old_log) = (home.join("notes.txt"), logs.join("old.log"));
    for file in [&database, &talker_log, &notes, &old_log] {
        assert!(file.exists(), "{} is still there", file.display());
    }
    // Every file that was exposed (and was not replaced by the daemon's start) is private now.
    for file in exposed.iter().filter(|file| file.exists()) {
        assert_eq!(mode(file), 0o600, "{}", file.display());
    }
    let log = sb.daemon_log();
    let said = log
        .lines()
        .rev()
        .filter_map(|line| line.split_once("made private to this user (others could read them): "))
        .next()
        .unwrap_or_else(|| panic!("no line says what was made private: {log}"))
        .1;
    let named: Vec<&str> = said.split(", ").collect();
    let journaled = journal.join("1.before");
    for path in [
        &home,
        &logs,
        &journal,
        &database,
        &talker_log,
        &notes,
        &old_log,
        &journaled,
    ] {
        assert!(
            named.contains(&path.to_str().unwrap()),
            "the log line names {}: {said}",
            path.display()
        );
    }

    // A server started now writes to a private file as well.
    add_talking_server(&sb, "later", "second run");
    let later_log = logs.join("later.log");
    wait_until("the new server's log file", START, || {
        std::fs::read_to_string(&later_log)
            .is_ok_and(|text| text.contains("second run"))
            .then_some(())
    });
    assert_eq!(mode(&later_log), 0o600, "a server's new log file");
}

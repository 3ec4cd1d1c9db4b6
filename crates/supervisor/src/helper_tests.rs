//! Tests of [`super::Helpers`]: groups end on cancellation, at the deadline and after the
//! leader's exit; output is capped; the watchdog hears of every group; no terminal is kept.

use std::sync::Mutex;
use std::time::Instant;

use super::*;

/// Records what the watchdog would be told.
#[derive(Debug, Default)]
struct Recorder(Mutex<Vec<String>>);

impl GroupWatch for Recorder {
    fn watch(&self, pgid: u32) {
        self.0.lock().expect("lock").push(format!("+{pgid}"));
    }
    fn unwatch(&self, pgid: u32) {
        self.0.lock().expect("lock").push(format!("-{pgid}"));
    }
}

/// Fields of `/proc/<pid>/stat` after the command name: state is [0], pgrp [2], session [3],
/// tty [4].
fn stat(pid: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = text.rsplit_once(')')?;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// Pids of the running (not zombie) members of process group `pgid`.
fn members(pgid: u32) -> Vec<String> {
    std::fs::read_dir("/proc")
        .expect("proc")
        .flatten()
        .filter_map(|entry| {
            let pid = entry.file_name().to_string_lossy().into_owned();
            let fields = stat(&pid)?;
            (fields.get(2) == Some(&pgid.to_string()) && fields.first().map(String::as_str) != Some("Z"))
                .then_some(pid)
        })
        .collect()
}

async fn wait_until_empty(pgid: u32) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !members(pgid).is_empty() {
        assert!(
            Instant::now() < deadline,
            "group {pgid} still has {:?}",
            members(pgid)
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A shell that writes its pid to `pidfile`, then sleeps with a background child.
fn sleeper(pidfile: &Path) -> HelperCommand {
    let mut command = HelperCommand::new("sh");
    command.args([
        "-c",
        "echo $$ > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"; sleep 600 & sleep 600",
        "sh",
    ]);
    command.arg(pidfile);
    command
}

async fn read_pid(pidfile: &Path) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(text) = std::fs::read_to_string(pidfile) {
            return text.trim().parse().expect("a pid");
        }
        assert!(Instant::now() < deadline, "the helper never wrote its pid");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn a_cancelled_run_kills_the_whole_group_and_unwatches_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let recorder = Arc::new(Recorder::default());
    let helpers = Helpers::watched(recorder.clone());
    let command = sleeper(&pidfile);
    // Boxed, so that dropping it drops the future itself, as a cancelled caller does.
    let mut run = Box::pin(helpers.run(&command));
    let pgid = tokio::select! {
        _ = &mut run => panic!("the sleeper ended by itself"),
        pgid = read_pid(&pidfile) => pgid,
    };
    // Both sleeps and the shell, in one group that is not the test's.
    let deadline = Instant::now() + Duration::from_secs(10);
    while members(pgid).len() < 3 {
        assert!(Instant::now() < deadline, "group {pgid}: {:?}", members(pgid));
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    drop(run);
    wait_until_empty(pgid).await;
    assert_eq!(
        *recorder.0.lock().expect("lock"),
        [format!("+{pgid}"), format!("-{pgid}")]
    );
}

#[tokio::test]
async fn a_run_past_its_deadline_ends_the_group_and_says_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    // The shell ignores SIGTERM, so SIGKILL after the grace is what ends it.
    let mut trapping = HelperCommand::new("sh");
    trapping
        .args([
            "-c",
            "trap '' TERM; echo $$ > \"$1\"; echo about to hang >&2; sleep 600 & sleep 600",
            "sh",
        ])
        .arg(&pidfile)
        .deadline(Duration::from_millis(300));
    let started = Instant::now();
    let error = Helpers::unwatched().run(&trapping).await.expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    let pgid = read_pid(&pidfile).await;
    match &error {
        HelperError::TimedOut { stderr_tail, .. } => assert_eq!(stderr_tail, "about to hang"),
        other => panic!("expected a timeout, got {other:?}"),
    }
    assert!(error.to_string().contains("every process it started"), "{error}");
    wait_until_empty(pgid).await;
}

#[tokio::test]
async fn what_the_leader_leaves_behind_is_killed_when_it_exits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    let mut command = HelperCommand::new("sh");
    command
        .args(["-c", "echo $$ > \"$1\"; sleep 600 & echo done", "sh"])
        .arg(&pidfile);
    let started = Instant::now();
    let output = Helpers::unwatched().run(&command).await.expect("runs");
    // The background sleep holds stdout open; its kill is what ends the read.
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(output.success(), "{output:?}");
    assert_eq!(output.stdout.text(), "done\n");
    wait_until_empty(read_pid(&pidfile).await).await;
}

#[tokio::test]
async fn output_past_the_cap_keeps_its_head_and_tail() {
    let mut command = HelperCommand::new("sh");
    command
        .args([
            "-c",
            "echo first; head -c 5000000 /dev/zero | tr '\\0' x; echo; echo last >&2; echo last",
        ])
        .output_cap(1000);
    let output = Helpers::unwatched().run(&command).await.expect("runs");
    let text = output.stdout.text();
    assert!(text.starts_with("first\nxxx"), "{text:.40}");
    assert!(text.ends_with("xxx\nlast\n"), "{text}");
    assert_eq!(output.stdout.omitted(), 5_000_012 - 1000);
    assert!(text.len() < 1100, "{}", text.len());
    assert_eq!(output.stderr.text(), "last\n");
}

#[tokio::test]
async fn a_helper_has_its_own_session_no_terminal_and_stdin_at_its_end() {
    let mut command = HelperCommand::new("sh");
    command.args(["-c", "echo $$; cat /proc/$$/stat; cat; echo read-all"]);
    let output = Helpers::unwatched().run(&command).await.expect("runs");
    let text = output.stdout.text();
    let mut lines = text.lines();
    let pid = lines.next().expect("pid").to_owned();
    let stat = lines.next().expect("stat");
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    assert_eq!(
        (fields[2], fields[3], fields[4]),
        (pid.as_str(), pid.as_str(), "0")
    );
    assert_eq!(lines.next(), Some("read-all"));
}

#[tokio::test]
async fn a_missing_program_is_named() {
    let error = Helpers::unwatched()
        .run(&HelperCommand::new("definitely-not-installed-xyz"))
        .await
        .expect_err("missing");
    assert!(
        matches!(&error, HelperError::ProgramNotFound { program } if program == "definitely-not-installed-xyz"),
        "{error:?}"
    );
}

#[test]
fn captured_keeps_everything_up_to_the_cap() {
    let mut captured = Captured::new(10);
    for chunk in [&b"abc"[..], b"defg", b"hij"] {
        captured.push(chunk);
    }
    assert_eq!(
        (captured.text(), captured.omitted()),
        ("abcdefghij".to_owned(), 0)
    );
    captured.push(b"klmnopqrstuvwxyz");
    assert_eq!(captured.omitted(), 16);
    assert_eq!(captured.text(), "abcde\n[… 16 bytes left out …]\nvwxyz");
}

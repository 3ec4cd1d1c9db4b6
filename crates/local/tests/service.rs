//! The three service definitions, rendered for one user on each OS: compared with the golden
//! files in `tests/golden/` (`UPDATE_GOLDEN=1` rewrites them, then fails), and read back by
//! the formats' own parsers: Python's plistlib for the launchd agent, an XML parser for the
//! Task Scheduler's UTF-16 task. The systemd unit is checked by `systemd-analyze verify` in the
//! CLI's end-to-end test, which has a real program for it to start.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

use switchboard_local::service::{Definition, Manager, Spec};
use switchboard_model::Os;

/// What `service install` would see for a user `ada` on `os`.
fn environment(os: Os) -> impl Fn(&str) -> Option<OsString> {
    move |key| {
        let value = match (os, key) {
            (Os::Windows, "PATH") => "C:\\Users\\ada\\AppData\\Roaming\\npm;C:\\Windows\\system32",
            (_, "PATH") => "/home/ada/.local/bin:/usr/local/bin:/usr/bin:/bin",
            (Os::MacOs, "HOME") => "/Users/ada",
            (_, "HOME") => "/home/ada",
            (_, "SWITCHBOARD_PORT") => "7411",
            // A client's secret: never carried into a service definition.
            (_, "SWITCHBOARD_TOKEN") => "sb_secret",
            (Os::Windows, "USERDOMAIN") => "DESK",
            (Os::Windows, "USERNAME") => "ada",
            _ => return None,
        };
        Some(value.into())
    }
}

fn spec(os: Os) -> Spec {
    let (program, data) = match os {
        Os::Linux => (
            "/opt/switch board/bin/switchboard",
            "/home/ada/.local/share/switchboard",
        ),
        Os::MacOs => (
            "/Applications/Switchboard.app/Contents/MacOS/switchboard",
            "/Users/ada/Library/Application Support/Switchboard",
        ),
        Os::Windows => (
            "C:\\Program Files\\Switchboard\\switchboard.exe",
            "C:\\Users\\ada\\AppData\\Roaming\\Switchboard",
        ),
    };
    let args = vec![
        "--secrets".to_owned(),
        "file".to_owned(),
        "--registry".to_owned(),
        "https://r.example/a b&c%d".to_owned(),
    ];
    let mut spec = Spec::new(PathBuf::from("/x"), args, PathBuf::from(data), environment(os)).unwrap();
    // Windows paths are not absolute to a Linux `Path`; the rest of the spec is what counts here.
    spec.program = PathBuf::from(program);
    spec
}

fn golden(name: &str, rendered: &str) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, rendered).unwrap();
        panic!(
            "UPDATE_GOLDEN is set, so this run only wrote {}; review the diff, then run again without it",
            path.display()
        );
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        rendered == expected,
        "{} differs from what is rendered now:\n{rendered}\n(UPDATE_GOLDEN=1 rewrites it)",
        path.display()
    );
}

fn python(program: &str, input: &[u8]) -> String {
    let mut child = Command::new("python3")
        .args(["-c", program])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    std::io::Write::write_all(child.stdin.as_mut().unwrap(), input).unwrap();
    drop(child.stdin.take());
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_systemd_unit_is_the_golden_one_and_carries_no_secret() {
    let definition = Definition::for_os(Os::Linux, environment(Os::Linux), &spec(Os::Linux)).unwrap();
    assert_eq!(definition.manager, Manager::Systemd);
    assert_eq!(
        definition.path,
        Path::new("/home/ada/.config/systemd/user/switchboard.service")
    );
    assert!(!definition.text.contains("sb_secret"));
    golden("switchboard.service", &definition.text);
}

#[test]
fn the_launchd_agent_is_the_golden_one_and_plistlib_reads_it_back() {
    let definition = Definition::for_os(Os::MacOs, environment(Os::MacOs), &spec(Os::MacOs)).unwrap();
    assert_eq!(
        definition.path,
        Path::new("/Users/ada/Library/LaunchAgents/dev.switchboard.daemon.plist")
    );
    golden("dev.switchboard.daemon.plist", &definition.text);
    let read = python(
        "import json, plistlib, sys; print(json.dumps(plistlib.loads(sys.stdin.buffer.read())))",
        &definition.bytes(),
    );
    let plist: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(plist["Label"], "dev.switchboard.daemon");
    assert_eq!(
        plist["ProgramArguments"],
        serde_json::json!([
            "/Applications/Switchboard.app/Contents/MacOS/switchboard",
            "daemon",
            "--secrets",
            "file",
            "--registry",
            "https://r.example/a b&c%d"
        ])
    );
    assert_eq!(plist["EnvironmentVariables"]["SWITCHBOARD_PORT"], "7411");
    assert_eq!(
        plist["EnvironmentVariables"]["SWITCHBOARD_HOME"],
        "/Users/ada/Library/Application Support/Switchboard"
    );
    assert_eq!(plist["EnvironmentVariables"].get("SWITCHBOARD_TOKEN"), None);
    assert_eq!(plist["RunAtLoad"], true);
    assert_eq!(plist["KeepAlive"]["SuccessfulExit"], false);
}

#[test]
fn the_windows_task_is_the_golden_one_and_reads_back_as_utf16_xml() {
    let definition = Definition::for_os(Os::Windows, environment(Os::Windows), &spec(Os::Windows)).unwrap();
    assert_eq!(definition.manager, Manager::TaskScheduler);
    golden("switchboard-task.xml", &definition.text);
    assert_eq!(
        &definition.bytes()[..2],
        &[0xFF, 0xFE],
        "UTF-16 little-endian with its mark"
    );
    let read = python(
        r#"
import json, sys, xml.etree.ElementTree as ET
root = ET.fromstring(sys.stdin.buffer.read().decode("utf-16"))
ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
text = lambda path: root.find(path, ns).text
print(json.dumps({
    "user": text("t:Triggers/t:LogonTrigger/t:UserId"),
    "principal": text("t:Principals/t:Principal/t:UserId"),
    "command": text("t:Actions/t:Exec/t:Command"),
    "arguments": text("t:Actions/t:Exec/t:Arguments"),
    "restarts": text("t:Settings/t:RestartOnFailure/t:Count"),
}))
"#,
        &definition.bytes(),
    );
    let task: serde_json::Value = serde_json::from_str(&read).unwrap();
    assert_eq!(task["user"], "DESK\\ada");
    assert_eq!(task["principal"], "DESK\\ada");
    assert_eq!(task["command"], "C:\\Program Files\\Switchboard\\switchboard.exe");
    assert_eq!(
        task["arguments"],
        "daemon --secrets file --registry \"https://r.example/a b&c%d\""
    );
    assert_eq!(task["restarts"], "999");
}

#[test]
fn writing_enables_twice_changes_nothing_and_removing_takes_both() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config");
    let env = |key: &str| match key {
        "XDG_CONFIG_HOME" => Some(config.clone().into_os_string()),
        other => environment(Os::Linux)(other),
    };
    let definition = Definition::for_os(Os::Linux, env, &spec(Os::Linux)).unwrap();
    let wants = config.join("systemd/user/default.target.wants/switchboard.service");
    assert!(!definition.installed());
    assert!(definition.write().unwrap(), "the first write writes");
    assert!(definition.installed());
    assert_eq!(
        std::fs::read_link(&wants).unwrap(),
        definition.path,
        "enabled as systemctl enable would"
    );
    let mode =
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&definition.path).unwrap().permissions());
    assert_eq!(
        mode & 0o777,
        0o600,
        "the unit names the daemon's settings: only its owner reads it"
    );
    let modified = std::fs::metadata(&definition.path).unwrap().modified().unwrap();
    assert!(!definition.write().unwrap(), "the second write does not");
    assert_eq!(
        std::fs::metadata(&definition.path).unwrap().modified().unwrap(),
        modified
    );
    std::fs::write(&definition.path, "[Unit]\n").unwrap();
    std::fs::remove_file(&wants).unwrap();
    assert!(
        definition.write().unwrap(),
        "a different file is replaced, a missing link made"
    );
    assert_eq!(
        std::fs::read_to_string(&definition.path).unwrap(),
        definition.text
    );
    assert!(definition.remove().unwrap());
    assert!(!wants.exists() && !definition.path.exists());
    assert!(!definition.remove().unwrap());
    let left: Vec<_> = std::fs::read_dir(definition.path.parent().unwrap())
        .unwrap()
        .collect();
    assert_eq!(
        left.len(),
        1,
        "only the (empty) wants directory is left: {left:?}"
    );
}

/// The golden unit's kind of words (a space in the program's path, `%`, `$`, quotes) as
/// systemd reads them: `systemd-analyze verify` accepts the unit without a warning.
#[test]
fn systemd_verifies_a_unit_whose_words_need_quoting() {
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("switch board %d $x/switchboard");
    std::fs::create_dir_all(program.parent().unwrap()).unwrap();
    std::fs::copy("/bin/true", &program).unwrap();
    let args = vec![
        "--registry".to_owned(),
        "https://r.example/a b&c%d\"$HOME\"".to_owned(),
    ];
    let env = |key: &str| match key {
        "XDG_CONFIG_HOME" => Some(dir.path().join("config").into_os_string()),
        "PATH" => Some("/usr/bin:/bin:/opt/50% off/$bin".into()),
        _ => None,
    };
    let spec = Spec::new(program, args, dir.path().join("data"), env).unwrap();
    let definition = Definition::for_os(Os::Linux, env, &spec).unwrap();
    definition.write().unwrap();
    let run = dir.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let verify = Command::new("systemd-analyze")
        .args(["--user", "verify"])
        .arg(&definition.path)
        .env("XDG_RUNTIME_DIR", &run)
        .output()
        .expect("systemd-analyze runs (Debian's systemd package)");
    assert!(
        verify.status.success() && verify.stdout.is_empty() && verify.stderr.is_empty(),
        "{}\n{}{}",
        definition.text,
        String::from_utf8_lossy(&verify.stdout),
        String::from_utf8_lossy(&verify.stderr)
    );
}

//! End to end: the daemon SIGKILLed at random points of 50 `clients connect` and
//! `disconnect` runs, restarted each time. Every client file must stay valid (checked by
//! parsers of its format, not Switchboard's editors), every change Switchboard made must be
//! undoable back to the exact bytes before, or absent, and no temporary file may remain.
//! Every fifth time another program edits the file while the daemon is down; its edit must
//! survive the restart and the operation run again.
#![allow(clippy::unwrap_used)]

mod common;

use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::{Sandbox, wait_until};

/// Kills, one per connect or disconnect.
const ROUNDS: usize = 50;
/// Bytes of the user's own settings in each file, so that a write takes a while.
const PADDING: usize = 512 * 1024;

#[derive(Clone, Copy)]
enum Format {
    Json,
    Toml,
    Yaml,
}

struct ClientFile {
    id: &'static str,
    relative: &'static str,
    format: Format,
    corpus: &'static str,
}

const FILES: [ClientFile; 3] = [
    ClientFile {
        id: "cursor",
        relative: ".cursor/mcp.json",
        format: Format::Json,
        corpus: "cursor.json",
    },
    ClientFile {
        id: "codex",
        relative: ".codex/config.toml",
        format: Format::Toml,
        corpus: "codex.toml",
    },
    ClientFile {
        id: "goose",
        relative: ".config/goose/config.yaml",
        format: Format::Yaml,
        corpus: "goose.yaml",
    },
];

/// The corpus file with a large setting of the user's added.
fn padded(file: &ClientFile) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../clients/tests/corpus")
        .join(file.corpus);
    let text = std::fs::read_to_string(path).unwrap();
    let filler = "x".repeat(PADDING);
    let text = match file.format {
        Format::Json => text.replacen(
            "\"mcpServers\": {",
            &format!("\"notes\": \"{filler}\",\n    \"mcpServers\": {{"),
            1,
        ),
        Format::Toml => format!("notes = \"{filler}\"\n{text}"),
        Format::Yaml => format!("notes: {filler}\n{text}"),
    };
    assert_valid(file, text.as_bytes());
    text.into_bytes()
}

fn assert_valid(file: &ClientFile, bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{} is not UTF-8: {e}", file.relative));
    let parsed = match file.format {
        Format::Json => serde_json::from_str::<serde_json::Value>(text)
            .map(drop)
            .map_err(|e| e.to_string()),
        Format::Toml => text
            .parse::<toml_edit::DocumentMut>()
            .map(drop)
            .map_err(|e| e.to_string()),
        Format::Yaml => serde_yaml_ng::from_str::<serde_yaml_ng::Value>(text)
            .map(drop)
            .map_err(|e| e.to_string()),
    };
    if let Err(e) = parsed {
        panic!("{} is not valid any more: {e}", file.relative);
    }
}

/// Switchboard's temporary files beside the client files.
fn temp_files(sb: &Sandbox) -> Vec<PathBuf> {
    let mut found = Vec::new();
    for file in &FILES {
        let dir = sb.user_home().join(file.relative);
        let dir = dir.parent().unwrap();
        for item in std::fs::read_dir(dir).unwrap().flatten() {
            let name = item.file_name().to_string_lossy().into_owned();
            if name.contains(".switchboard-") && name.ends_with(".tmp") {
                found.push(item.path());
            }
        }
    }
    found
}

/// xorshift64*, seeded from the clock (or `SWITCHBOARD_CRASH_SEED` to replay a run).
struct Random(u64);

impl Random {
    fn new() -> Self {
        let seed = std::env::var("SWITCHBOARD_CRASH_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                SystemTime::now()
                    .duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap()
                    .as_nanos() as u64
                    | 1
            });
        eprintln!("SWITCHBOARD_CRASH_SEED={seed}");
        Self(seed)
    }

    /// A duration between zero and `max`.
    fn upto(&mut self, max: Duration) -> Duration {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let unit = (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64;
        max.mul_f64(unit)
    }
}

fn run(sb: &Sandbox, verb: &str, id: &str) -> Child {
    sb.command()
        .args(["clients", verb, id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

#[test]
fn a_daemon_killed_during_connects_leaves_every_file_valid_undoable_and_tidy() {
    let started = Instant::now();
    let mut sb = Sandbox::new().own_user_home();
    sb.start_daemon();
    let paths: Vec<PathBuf> = FILES.iter().map(|f| sb.user_home().join(f.relative)).collect();
    for (file, path) in FILES.iter().zip(&paths) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, padded(file)).unwrap();
    }

    // When a connect and a disconnect of each file change the file (its inode: the new file
    // is renamed into place) and end, counted from the command's start. Half the kills are
    // spread over the whole operation and a little beyond, half around the change, where the
    // journal, the temporary file and the rename are.
    let mut timing = [[(Duration::ZERO, Duration::ZERO); 2]; FILES.len()];
    for (which, path) in paths.iter().enumerate() {
        for (side, verb) in ["connect", "disconnect"].into_iter().enumerate() {
            let inode = std::fs::metadata(path).unwrap().ino();
            let begun = Instant::now();
            let mut command = run(&sb, verb, FILES[which].id);
            let mut changed = None;
            let ended = wait_until("a measured operation to end", Duration::from_secs(60), || {
                if changed.is_none() && std::fs::metadata(path).map(|m| m.ino()).ok() != Some(inode) {
                    changed = Some(begun.elapsed());
                }
                let status = command.try_wait().unwrap()?;
                assert!(status.success(), "{verb} of {} failed", FILES[which].id);
                Some(begun.elapsed())
            });
            timing[which][side] = (changed.unwrap_or(ended), ended);
        }
    }
    eprintln!("(file changed, operation ended) after: {timing:?}");

    let mut random = Random::new();
    let mut connected = [false; FILES.len()];
    let (mut absent, mut undone, mut edited) = (0, 0, 0);
    for round in 0..ROUNDS {
        let which = round % FILES.len();
        let (file, path) = (&FILES[which], &paths[which]);
        let verb = if connected[which] { "disconnect" } else { "connect" };
        let before = std::fs::read(path).unwrap();

        let (change, end) = timing[which][usize::from(connected[which])];
        let delay = if round % 2 == 0 {
            random.upto(end.mul_f64(1.5))
        } else {
            change.mul_f64(0.8) + random.upto(change.mul_f64(0.3))
        };
        let mut command = run(&sb, verb, file.id);
        std::thread::sleep(delay);
        let killed = sb.daemon_pid();
        sb.kill_daemon_hard();
        let _ = command.wait();
        // The first times, a partial temporary file as a write killed half-way leaves (the
        // kills rarely land inside one): the next start removes it.
        if round < FILES.len() {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let temp = path.with_file_name(format!(".{name}.switchboard-{killed}-feed.tmp"));
            std::fs::write(temp, "x".repeat(2 * 1024 * 1024)).unwrap();
        }
        // Every fifth time, another program edits the file while the daemon is down: its
        // edit must survive whatever the interrupted write had done.
        let theirs = (round % 5 == 4).then(|| format!("edit{round}x"));
        if let Some(edit) = &theirs {
            let text = std::fs::read_to_string(path).unwrap();
            std::fs::write(path, text.replacen("xxxxxxxx", edit, 1)).unwrap();
        }
        sb.start_daemon();

        for (other, other_path) in FILES.iter().zip(&paths) {
            assert_valid(other, &std::fs::read(other_path).unwrap());
        }
        if let Some(edit) = &theirs {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(
                text.contains(edit.as_str()),
                "round {round}: their edit was lost at start"
            );
            sb.ok(&["clients", verb, file.id]);
            let text = std::fs::read_to_string(path).unwrap();
            assert!(
                text.contains(edit.as_str()),
                "round {round}: their edit was lost by the {verb}"
            );
            connected[which] = verb == "connect";
            let stray = temp_files(&sb);
            assert!(
                stray.is_empty(),
                "round {round}: temporary files remain: {stray:?}"
            );
            edited += 1;
            continue;
        }
        if std::fs::read(path).unwrap() == before {
            absent += 1;
        } else {
            // The change is recorded and undoable, back to the very bytes before.
            let out = sb.cli(&["clients", "undo", file.id]);
            assert!(
                out.status.success(),
                "round {round}: {verb} of {} changed the file but cannot be undone: {}",
                file.id,
                String::from_utf8_lossy(&out.stderr)
            );
            assert!(
                std::fs::read(path).unwrap() == before,
                "round {round}: undoing the {verb} of {} did not restore the bytes before",
                file.id
            );
            undone += 1;
        }
        // Then the operation runs to its end, so the next round starts from its result.
        sb.ok(&["clients", verb, file.id]);
        connected[which] = verb == "connect";
        let stray = temp_files(&sb);
        assert!(
            stray.is_empty(),
            "round {round}: temporary files remain: {stray:?}"
        );
    }
    eprintln!(
        "{ROUNDS} kills: {absent} before the file changed, {undone} after (undone), {edited} \
         with the file edited meanwhile; {:?} in all",
        started.elapsed()
    );
    assert!(
        undone > 0 && absent > 0,
        "the kills landed on both sides of the writes"
    );
    for (file, path) in FILES.iter().zip(&paths) {
        assert_valid(file, &std::fs::read(path).unwrap());
    }
    let log = sb.daemon_log();
    assert!(!log.contains("panicked"), "{log}");
    // What the restarts found (for the record; where the kills land is chance).
    let count = |what: &str| log.matches(what).count();
    eprintln!(
        "settled at start: {} written, {} not written, {} changed by another program; {} \
         temporary files removed",
        count("had written"),
        count("had not changed"),
        count("changed by another program"),
        count("left by an interrupted write"),
    );
}

//! What a server writes to stderr: a ring buffer for the API, a rotating file on disk, and a
//! live feed for followers.
//!
//! [`ServerLog`] numbers every line ([`LogLine::seq`]) so a follower can join the tail and the
//! live feed without gaps or repeats, and so the actor can take "the stderr of this run" as the
//! reason a server failed. [`read_bounded_line`] is the one line reader for server pipes: a
//! server that never writes a newline cannot make the daemon grow without bound.

use parking_lot::Mutex;
use std::collections::VecDeque;
use std::fs::File;
use std::io::Write;
use std::path::PathBuf;

use switchboard_model::api::{LogLine, LogStream};
use switchboard_model::now_millis;
use tokio::io::{AsyncBufRead, AsyncBufReadExt};
use tokio::sync::broadcast;

/// Lines kept in memory per server.
const RING_LINES: usize = 1000;
/// Longest stored log line; longer ones are cut and marked.
pub const MAX_LOG_LINE: usize = 8 * 1024;
/// A log file is rotated when it passes this size; `ROTATED_FILES` old ones are kept.
const ROTATE_BYTES: u64 = 5 * 1024 * 1024;
const ROTATED_FILES: usize = 3;

#[derive(Debug)]
pub struct ServerLog {
    inner: Mutex<Inner>,
    live: broadcast::Sender<LogLine>,
}

#[derive(Debug)]
struct Inner {
    ring: VecDeque<LogLine>,
    next_seq: u64,
    file: RotatingFile,
}

impl ServerLog {
    pub fn new(path: PathBuf) -> Self {
        let (live, _) = broadcast::channel(256);
        Self {
            inner: Mutex::new(Inner {
                ring: VecDeque::new(),
                next_seq: 1,
                file: RotatingFile::new(path),
            }),
            live,
        }
    }

    pub fn push(&self, stream: LogStream, mut line: String) {
        if line.len() > MAX_LOG_LINE {
            let mut cut = MAX_LOG_LINE;
            while !line.is_char_boundary(cut) {
                cut -= 1;
            }
            line.truncate(cut);
            line.push_str(" [cut]");
        }
        let mut inner = self.inner.lock();
        let entry = LogLine {
            seq: inner.next_seq,
            at_ms: now_millis(),
            stream,
            line,
        };
        inner.next_seq += 1;
        inner.file.append(&entry);
        if inner.ring.len() == RING_LINES {
            inner.ring.pop_front();
        }
        inner.ring.push_back(entry.clone());
        drop(inner);
        let _ = self.live.send(entry);
    }

    /// The sequence number the next line will get: mark it at spawn to find a run's lines.
    pub fn next_seq(&self) -> u64 {
        self.inner.lock().next_seq
    }

    /// The last `n` lines, oldest first.
    pub fn tail(&self, n: usize) -> Vec<LogLine> {
        let inner = self.inner.lock();
        inner
            .ring
            .iter()
            .skip(inner.ring.len().saturating_sub(n))
            .cloned()
            .collect()
    }

    /// The last `n` stderr lines numbered `since` or later, joined: a failed run's own words.
    pub fn stderr_since(&self, since: u64, n: usize) -> String {
        let inner = self.inner.lock();
        let lines: Vec<&str> = inner
            .ring
            .iter()
            .filter(|l| l.seq >= since && l.stream == LogStream::Stderr)
            .map(|l| l.line.as_str())
            .collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    pub fn subscribe(&self) -> broadcast::Receiver<LogLine> {
        self.live.subscribe()
    }
}

/// A log file that rotates by size: `x.log`, `x.log.1` … `x.log.3`.
#[derive(Debug)]
struct RotatingFile {
    path: PathBuf,
    file: Option<File>,
    written: u64,
}

impl RotatingFile {
    fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: None,
            written: 0,
        }
    }

    fn append(&mut self, line: &LogLine) {
        // Logging must never take the daemon down: a full disk loses log lines, nothing else.
        if let Err(e) = self.try_append(line) {
            tracing::warn!("cannot write {}: {e}", self.path.display());
            self.file = None;
        }
    }

    fn try_append(&mut self, line: &LogLine) -> std::io::Result<()> {
        if self.written >= ROTATE_BYTES {
            self.rotate()?;
        }
        let file = match &mut self.file {
            Some(file) => file,
            None => {
                let mut options = File::options();
                options.create(true).append(true);
                // Server output can hold anything the server printed: its owner's eyes only.
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let file = options.open(&self.path)?;
                self.written = file.metadata()?.len();
                self.file.insert(file)
            }
        };
        let stream = match line.stream {
            LogStream::Stderr => "err",
            LogStream::Stdout => "out",
            LogStream::Supervisor => "sup",
        };
        let text = format!("{} {stream} {}\n", line.at_ms, line.line);
        file.write_all(text.as_bytes())?;
        self.written += text.len() as u64;
        Ok(())
    }

    fn rotate(&mut self) -> std::io::Result<()> {
        self.file = None;
        let numbered = |n: usize| PathBuf::from(format!("{}.{n}", self.path.display()));
        for n in (1..ROTATED_FILES).rev() {
            let from = numbered(n);
            if from.exists() {
                std::fs::rename(&from, numbered(n + 1))?;
            }
        }
        std::fs::rename(&self.path, numbered(1))?;
        self.written = 0;
        Ok(())
    }
}

/// Reads one line of at most `max` bytes into `buf` (without the newline). Bytes past `max`
/// are read and dropped, and `Ok(Some(true))` says the line was cut. `Ok(None)` is end of file.
pub async fn read_bounded_line<R: AsyncBufRead + Unpin>(
    reader: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<Option<bool>> {
    buf.clear();
    let mut cut = false;
    loop {
        let available = reader.fill_buf().await?;
        if available.is_empty() {
            return Ok(if buf.is_empty() && !cut { None } else { Some(cut) });
        }
        let (chunk, done) = match memchr_newline(available) {
            Some(i) => (&available[..i], Some(i + 1)),
            None => (available, None),
        };
        let room = max.saturating_sub(buf.len());
        buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
        cut |= chunk.len() > room;
        let used = done.unwrap_or(available.len());
        reader.consume(used);
        if done.is_some() {
            if buf.last() == Some(&b'\r') {
                buf.pop();
            }
            return Ok(Some(cut));
        }
    }
}

fn memchr_newline(bytes: &[u8]) -> Option<usize> {
    bytes.iter().position(|&b| b == b'\n')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_lines_are_cut_not_grown() {
        let input = format!("short\r\n{}\nlast", "x".repeat(100));
        let mut reader = tokio::io::BufReader::with_capacity(16, input.as_bytes());
        let mut buf = Vec::new();
        let mut got = Vec::new();
        while let Some(cut) = read_bounded_line(&mut reader, &mut buf, 10).await.expect("reads") {
            got.push((String::from_utf8_lossy(&buf).into_owned(), cut));
        }
        assert_eq!(
            got,
            vec![
                ("short".into(), false),
                ("x".repeat(10), true),
                ("last".into(), false)
            ]
        );
    }

    #[test]
    fn ring_tail_and_run_stderr() {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = ServerLog::new(dir.path().join("s.log"));
        log.push(LogStream::Stderr, "old run".into());
        let mark = log.next_seq();
        log.push(LogStream::Supervisor, "spawned".into());
        log.push(LogStream::Stderr, "boom".into());
        log.push(LogStream::Stderr, "x".repeat(MAX_LOG_LINE + 10));
        assert_eq!(
            log.stderr_since(mark, 1),
            format!("{} [cut]", "x".repeat(MAX_LOG_LINE))
        );
        assert_eq!(log.stderr_since(mark, 5).lines().next(), Some("boom"));
        let tail = log.tail(2);
        assert_eq!(tail.iter().map(|l| l.seq).collect::<Vec<_>>(), vec![3, 4]);
        let on_disk = std::fs::read_to_string(dir.path().join("s.log")).expect("file");
        assert_eq!(on_disk.lines().count(), 4);
    }

    #[test]
    fn files_rotate_by_size() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s.log");
        let mut file = RotatingFile::new(path.clone());
        let line = LogLine {
            seq: 1,
            at_ms: 0,
            stream: LogStream::Stderr,
            line: "y".repeat(MAX_LOG_LINE),
        };
        let lines_per_file = ROTATE_BYTES as usize / MAX_LOG_LINE + 1;
        for _ in 0..lines_per_file * (ROTATED_FILES + 2) {
            file.append(&line);
        }
        for n in 1..=ROTATED_FILES {
            assert!(
                PathBuf::from(format!("{}.{n}", path.display())).exists(),
                "rotation {n}"
            );
        }
        assert!(!PathBuf::from(format!("{}.{}", path.display(), ROTATED_FILES + 1)).exists());
        let current = std::fs::metadata(&path).expect("current").len();
        assert!(current <= ROTATE_BYTES + MAX_LOG_LINE as u64 + 64, "{current}");
    }
}

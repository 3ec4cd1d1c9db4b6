//! End to end: the CLI talks to its own daemon only. It reaches the daemon over the control
//! socket in the data directory, so a program that holds the daemon's port never receives the
//! control token or a server's spec, and a daemon that stops answering is given up on.
#![allow(clippy::unwrap_used)]

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Sandbox, signal, wait_until};

/// Listens on a loopback port and keeps every byte any connection sends; `answer` says
/// whether it replies (with an HTTP 200 that looks like a daemon) or never does.
struct Squatter {
    port: u16,
    received: Arc<Mutex<Vec<u8>>>,
}

impl Squatter {
    fn start(answer: bool) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let received = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&received);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { return };
                let kept = Arc::clone(&kept);
                std::thread::spawn(move || {
                    stream.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
                    let mut buffer = [0u8; 4096];
                    while let Ok(n @ 1..) = stream.read(&mut buffer) {
                        kept.lock().unwrap().extend_from_slice(&buffer[..n]);
                        if answer {
                            use std::io::Write;
                            let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
                        }
                    }
                });
            }
        });
        Self { port, received }
    }

    fn received(&self) -> String {
        String::from_utf8_lossy(&self.received.lock().unwrap()).into_owned()
    }
}

/// A data directory whose daemon has run (so it has a control token) and is stopped now.
fn stopped_daemon() -> Sandbox {
    let mut sb = Sandbox::with_daemon();
    sb.stop_daemon();
    sb
}

#[test]
fn a_program_on_the_daemons_port_gets_nothing_and_the_cli_says_what_holds_it() {
    let sb = stopped_daemon();
    let token = sb.token();
    for answers in [true, false] {
        let squatter = Squatter::start(answers);
        let port = squatter.port.to_string();
        let commands: [&[&str]; 3] = [
            &["status"],
            &["ls"],
            &["add", "leaky", "--env", "API_KEY=sk-planted-secret", "--", "true"],
        ];
        for args in commands {
            let started = Instant::now();
            let out = sb
                .command()
                .env("SWITCHBOARD_PORT", &port)
                .args(args)
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(3), "{args:?}: {stderr}");
            assert!(
                stderr.contains(&format!("something else is listening on 127.0.0.1:{port}")),
                "{args:?}: {stderr}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{args:?} took {:?}",
                started.elapsed()
            );
        }
        let received = squatter.received();
        assert!(
            !received.contains(&token),
            "the squatter got the control token: {received}"
        );
        assert!(
            !received.contains("sk-planted-secret"),
            "the squatter got a spec: {received}"
        );
        assert_eq!(received, "", "the squatter was sent a request");
    }
}

#[test]
fn a_daemon_that_stops_answering_is_given_up_on_with_a_clear_error() {
    let sb = Sandbox::with_daemon();
    assert!(sb.cli(&["status"]).status.success());
    signal(sb.daemon_pid(), 19); // SIGSTOP: connections queue, nothing answers.
    let started = Instant::now();
    let out = sb.cli(&["status"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    signal(sb.daemon_pid(), 18); // SIGCONT
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("did not answer /api/v1/status"), "{stderr}");
    // The CLI's own patience is 30 s; it must not wait much longer than that.
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "took {:?}",
        started.elapsed()
    );
    wait_until("the daemon to answer again", Duration::from_secs(20), || {
        sb.cli(&["status"]).status.success().then_some(())
    });
}

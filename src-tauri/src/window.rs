//! The dashboard's window, in a process of its own that exists only while the window is open.
//!
//! The tray process starts `switchboard-app --window` when the person opens the dashboard and
//! writes it what to show, one JSON line at a time on its stdin (a sign-in address carries a
//! one-time code, so it is never an argument). The window process ends when its window closes
//! or its stdin does (the tray quit or died), which ends its WebKit processes with it: with no
//! window open, no web engine is resident. It keeps no state, and its Rust side never talks to
//! the daemon (its web view loads the dashboard, which does); what to show, and when, is the
//! tray's ([`crate`]) to decide.

use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};

/// The argument that makes the app binary the window process.
pub(crate) const ARG: &str = "--window";
const LABEL: &str = "main";

/// What the window shows, as the tray writes it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "show", rename_all = "snake_case")]
pub(crate) enum Show {
    /// A dashboard page, by an address that signs the window in.
    Page { url: String },
    /// A problem, in place of the dashboard.
    Problem { text: String },
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum WindowError {
    #[error("cannot find the app's own program to open its window: {0}")]
    NoProgram(std::io::Error),
    #[error(
        "cannot start the window process {program}: {source}; if the program is missing, reinstall Switchboard"
    )]
    Spawn {
        program: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the window ended before it was told what to show ({0}); its messages are in the app's log, and Open Switchboard in the tray tries again"
    )]
    Closed(std::io::Error),
}

/// The tray's handle on the window process: started when wanted, gone when closed.
#[derive(Default)]
pub(crate) struct Window {
    open: Mutex<Option<Open>>,
}

/// A running window process: where to write to it, and whether it has ended.
struct Open {
    stdin: ChildStdin,
    ended: Arc<AtomicBool>,
}

impl Window {
    /// Shows `what` if the window is open; never opens it.
    pub(crate) fn show_if_open(&self, what: &Show) -> Result<(), WindowError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        match open.as_mut().filter(|open| !open.ended.load(Ordering::Acquire)) {
            Some(open) => open.stdin.write_all(&line(what)).map_err(WindowError::Closed),
            None => Ok(()),
        }
    }

    /// Opens the window ("Starting Switchboard…") unless it is open.
    pub(crate) fn open(&self) -> Result<(), WindowError> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        self.opened(&mut open).map(|_| ())
    }

    /// Shows `what` in the window, opening it if it is not open. A window whose process has
    /// ended (closed just now) is opened once more. Writes are a line each, far below a pipe's
    /// buffer, so they do not wait on the window.
    pub(crate) fn show(&self, what: &Show) -> Result<(), WindowError> {
        let line = line(what);
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if self.opened(&mut open)?.write_all(&line).is_ok() {
            return Ok(());
        }
        *open = None;
        let stdin = self.opened(&mut open)?;
        stdin.write_all(&line).map_err(WindowError::Closed)
    }

    /// The open window's stdin, starting the process if there is none.
    fn opened<'a>(&self, open: &'a mut Option<Open>) -> Result<&'a mut ChildStdin, WindowError> {
        let open = match open.take().filter(|open| !open.ended.load(Ordering::Acquire)) {
            Some(running) => open.insert(running),
            None => open.insert(self.spawn()?),
        };
        Ok(&mut open.stdin)
    }

    fn spawn(&self) -> Result<Open, WindowError> {
        let program = std::env::current_exe().map_err(WindowError::NoProgram)?;
        // The rest of the environment is inherited as is: a WebDriver session (tauri-driver)
        // reaches the web view through the variables it gave the app.
        let mut command = Command::new(&program);
        command.arg(ARG).stdin(Stdio::piped()).stdout(Stdio::null());
        crate::gl::as_the_person_had(&mut command);
        let spawn_error = |source| WindowError::Spawn {
            program: program.clone(),
            source,
        };
        let mut child = command.spawn().map_err(spawn_error)?;
        let stdin = child
            .stdin
            .take()
            .ok_or_else(|| spawn_error(std::io::ErrorKind::BrokenPipe.into()))?;
        let ended = Arc::new(AtomicBool::new(false));
        let reaped = Arc::clone(&ended);
        // Reaped as soon as it ends, so a closed window leaves no process behind.
        std::thread::spawn(move || {
            let status = child.wait();
            reaped.store(true, Ordering::Release);
            report_end(status);
        });
        tracing::info!("opened the window");
        Ok(Open { stdin, ended })
    }
}

/// One message to the window, as a line.
fn line(what: &Show) -> Vec<u8> {
    // Strings in a tagged enum always serialize.
    let mut line = serde_json::to_vec(what).unwrap_or_default();
    line.push(b'\n');
    line
}

/// Says in the log how the window's process ended: a closed window ends with success.
fn report_end(status: std::io::Result<ExitStatus>) {
    match status {
        Ok(status) if status.success() => tracing::info!("the window closed"),
        Ok(status) => tracing::warn!("the window's process failed ({status}); see its messages above"),
        Err(e) => tracing::warn!("cannot tell how the window's process ended: {e}"),
    }
}

/// Runs the window process until its window closes or the tray stops writing to it.
pub(crate) fn run() -> Result<(), String> {
    let app = tauri::Builder::default()
        .setup(|app| {
            WebviewWindowBuilder::new(app, LABEL, WebviewUrl::App("index.html".into()))
                .title("Switchboard")
                .inner_size(1180.0, 780.0)
                .build()?;
            let app = app.handle().clone();
            std::thread::spawn(move || follow_the_tray(&app));
            Ok(())
        })
        .build(crate::context())
        .map_err(|e| format!("cannot open the Switchboard window: {e}"))?;
    // Once its one window is gone the process ends, at once: a line the tray writes meanwhile
    // would find no window, and the tray opens a new one once this process has ended.
    app.run(|app, event| {
        if let RunEvent::WindowEvent {
            event: WindowEvent::Destroyed,
            ..
        } = event
        {
            app.exit(0);
        }
    });
    Ok(())
}

/// Shows each line the tray writes, and exits when the tray is gone.
fn follow_the_tray(app: &AppHandle) {
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        // Never logged: a page's address holds a sign-in code.
        match serde_json::from_str::<Show>(&line) {
            Ok(what) => show(app, what),
            Err(e) => tracing::warn!("the tray wrote a line the window does not understand: {e}"),
        }
    }
    app.exit(0);
}

fn show(app: &AppHandle, what: Show) {
    let Some(window) = app.get_webview_window(LABEL) else {
        tracing::warn!("the window is closing; open it again from the tray");
        return;
    };
    match what {
        Show::Page { url } => match tauri::Url::parse(&url) {
            Ok(url) => {
                let _ = window.navigate(url);
                let _ = window.show();
                let _ = window.unminimize();
                let _ = window.set_focus();
            }
            Err(e) => tracing::error!("the daemon gave an unusable dashboard address: {e}"),
        },
        Show::Problem { text } => {
            let text = serde_json::to_string(&text).unwrap_or_default();
            let _ = window.eval(format!("document.body.innerText = {text}"));
        }
    }
}

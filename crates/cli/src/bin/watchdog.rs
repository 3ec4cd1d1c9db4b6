//! `switchboard-watchdog LOCK`: the daemon's watchdog, a program of its own beside
//! `switchboard` so that what stays resident beside the daemon is this little code, not the
//! daemon's. What it does is `switchboard_supervisor::watchdog`'s; only the daemon starts it.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(lock) = std::env::args_os().nth(1).map(PathBuf::from) else {
        eprintln!("usage: switchboard-watchdog LOCK (the daemon starts it; there is no need to run it)");
        return ExitCode::from(2);
    };
    match switchboard_supervisor::watchdog::run(&lock) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

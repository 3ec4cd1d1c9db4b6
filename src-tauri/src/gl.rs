//! Keeps OpenGL out of the tray process where GTK draws it (Linux and the BSDs).
//!
//! GTK picks an OpenGL visual when it opens the display, which loads Mesa and, on a machine
//! without a GPU driver, its software renderer (libLLVM alone is over 40 MB resident). The
//! tray draws no GL, so its process turns GDK's GL off before GTK starts; the processes it
//! starts (the window, the daemon) get back whatever the person had set. On macOS and Windows
//! this does nothing: only GDK reads the setting.

use std::ffi::OsString;
use std::process::Command;
use std::sync::OnceLock;

/// GDK's switch for OpenGL; `disable` turns it off.
const VAR: &str = "GDK_GL";

/// The person's own `GDK_GL`, once this process replaced it.
static PERSONS: OnceLock<Option<OsString>> = OnceLock::new();

/// Turns GDK's OpenGL off in this process, remembering the person's setting for its children.
///
/// # Safety
///
/// Call it before any other thread exists (first thing in `main`): it writes the environment.
#[cfg(all(unix, not(target_os = "macos")))]
pub unsafe fn turn_off_here() {
    PERSONS.get_or_init(|| std::env::var_os(VAR));
    // SAFETY: the caller guarantees no other thread reads or writes the environment now.
    unsafe { std::env::set_var(VAR, "disable") };
}

/// Does nothing where GTK does not draw the tray (macOS, Windows).
///
/// # Safety
///
/// None needed; it is `unsafe` only to match the signature where GTK draws the tray.
#[cfg(not(all(unix, not(target_os = "macos"))))]
pub unsafe fn turn_off_here() {}

/// Gives a child the person's own `GDK_GL` back (or none, as they had).
pub fn as_the_person_had(command: &mut Command) {
    match PERSONS.get() {
        None => {}
        Some(Some(value)) => {
            command.env(VAR, value);
        }
        Some(None) => {
            command.env_remove(VAR);
        }
    }
}

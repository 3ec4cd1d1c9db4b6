//! logind, as far as the daemon hears it: a private D-Bus bus playing the system bus, on which
//! `tests/sleep/logind.py` announces sleeps and wakes as logind does (`PrepareForSleep`).

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use super::tools_dir;

/// A private D-Bus bus playing the system bus: give its `address` to the daemon as
/// `DBUS_SYSTEM_BUS_ADDRESS`.
pub struct Bus {
    child: Child,
    pub address: String,
}

impl Bus {
    pub fn start() -> Self {
        let mut child = Command::new("dbus-daemon")
            .args([
                "--config-file=/usr/share/dbus-1/session.conf",
                "--nofork",
                "--print-address=1",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut address = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut address)
            .unwrap();
        Self {
            child,
            address: address.trim().to_owned(),
        }
    }

    /// Announces, as logind does, that the machine goes to sleep (`true`) or woke (`false`).
    pub fn prepare_for_sleep(&self, going: bool) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/sleep/logind.py");
        let status = Command::new(tools_dir().join("venv/bin/python"))
            .arg(script)
            .args([self.address.as_str(), if going { "true" } else { "false" }])
            .status()
            .unwrap();
        assert!(status.success(), "the logind double failed");
    }
}

impl Drop for Bus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

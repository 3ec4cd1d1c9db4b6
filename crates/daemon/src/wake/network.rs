//! This machine's network, as the addresses of its running interfaces: looked at every few
//! seconds, a difference is a change (a Wi-Fi joined or left, a cable, a VPN or the tailnet
//! coming up or going down).
//!
//! A change is costly (every server checked, crash loops forgiven), so it is kept for real
//! ones. Left out are what comes and goes with containers and VMs rather than the network:
//! loopback and link-local addresses (a docker server's veth) and, on Linux, bridges (docker0
//! gains carrier with its first container and loses it with its last). An IPv6 address counts
//! by its prefix, so rotating privacy addresses are no change; and changes are told at most
//! once per [`QUIET`], the last look then telling what differs from the last told. A look is
//! one `getifaddrs` (`GetAdaptersAddresses` on Windows), on every OS alike; none of the OSes'
//! change notifications is needed for a few seconds' delay.

use std::collections::BTreeSet;
use std::fmt;
use std::net::Ipv6Addr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use if_addrs::{IfAddr, Interface};
use tokio::time::Instant;

use super::Notice;

/// How often the addresses are looked at.
const EVERY: Duration = Duration::from_secs(2);
/// The least time between two changes told.
const QUIET: Duration = Duration::from_secs(30);

/// Running interfaces' addresses, each as `INTERFACE ADDRESS` (`INTERFACE PREFIX/LENGTH` for
/// IPv6).
type Addresses = BTreeSet<String>;

/// What changed between two looks.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Change {
    pub(super) gained: Vec<String>,
    pub(super) lost: Vec<String>,
}

impl Change {
    fn between(before: &Addresses, now: &Addresses) -> Option<Self> {
        let change = Self {
            gained: now.difference(before).cloned().collect(),
            lost: before.difference(now).cloned().collect(),
        };
        (!change.gained.is_empty() || !change.lost.is_empty()).then_some(change)
    }
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |addresses: &[String]| {
            if addresses.is_empty() {
                "none".to_owned()
            } else {
                addresses.join(", ")
            }
        };
        write!(f, "gained {}; lost {}", list(&self.gained), list(&self.lost))
    }
}

pub(super) async fn follow(notice: Arc<Notice>) {
    let mut known = match addresses() {
        Ok(known) => known,
        Err(e) => {
            tracing::warn!("not following network changes: cannot read this machine's addresses ({e})");
            return;
        }
    };
    let mut told: Option<Instant> = None;
    let mut every = tokio::time::interval(EVERY);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        if told.is_some_and(|at| at.elapsed() < QUIET) {
            continue;
        }
        match addresses() {
            Ok(now) => {
                if let Some(change) = Change::between(&known, &now) {
                    notice.network_changed(change);
                    told = Some(Instant::now());
                }
                known = now;
            }
            Err(e) => tracing::debug!("cannot read this machine's addresses now: {e}"),
        }
    }
}

fn addresses() -> std::io::Result<Addresses> {
    Ok(if_addrs::get_if_addrs()?
        .into_iter()
        .filter(followed)
        .map(|interface| match &interface.addr {
            IfAddr::V4(v4) => format!("{} {}", interface.name, v4.ip),
            IfAddr::V6(v6) => {
                let prefix = Ipv6Addr::from_bits(v6.ip.to_bits() & v6.netmask.to_bits());
                format!("{} {prefix}/{}", interface.name, v6.prefixlen)
            }
        })
        .collect())
}

fn followed(interface: &Interface) -> bool {
    interface.is_oper_up()
        && !interface.is_loopback()
        && !interface.is_link_local()
        && !is_bridge(&interface.name)
}

/// A Linux bridge (docker0, br-…, virbr0, cni0): its carrier follows the containers and VMs
/// on it, not the network.
fn is_bridge(name: &str) -> bool {
    cfg!(target_os = "linux") && Path::new("/sys/class/net").join(name).join("bridge").exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(addresses: &[&str]) -> Addresses {
        addresses.iter().map(|a| (*a).to_owned()).collect()
    }

    #[test]
    fn a_change_is_what_was_gained_and_lost() {
        let home = set(&["wlan0 192.168.1.20", "tailscale0 100.64.0.7"]);
        assert_eq!(Change::between(&home, &home.clone()), None);
        let cafe = set(&["wlan0 10.0.4.31", "tailscale0 100.64.0.7"]);
        let change = Change::between(&home, &cafe).unwrap();
        assert_eq!(change.gained, ["wlan0 10.0.4.31"]);
        assert_eq!(change.lost, ["wlan0 192.168.1.20"]);
        assert_eq!(
            change.to_string(),
            "gained wlan0 10.0.4.31; lost wlan0 192.168.1.20"
        );
        let offline = Change::between(&cafe, &set(&[])).unwrap();
        assert!(offline.gained.is_empty());
        assert_eq!(
            offline.to_string(),
            "gained none; lost tailscale0 100.64.0.7, wlan0 10.0.4.31"
        );
    }

    #[test]
    fn loopback_and_link_local_addresses_are_not_followed() {
        let seen = addresses().unwrap();
        assert!(
            seen.iter()
                .all(|a| !a.ends_with(" 127.0.0.1") && !a.contains(" ::1/") && !a.contains(" fe80:")),
            "{seen:?}"
        );
    }
}

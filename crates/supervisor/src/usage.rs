//! CPU and memory of each server's whole process tree, read with sysinfo on demand.
//!
//! Sampling happens only when someone asks (the API lists servers), never on a timer, so an
//! idle daemon reads nothing. CPU percentages are over the time since the previous sample.
//! Finding a tree means reading every process in /proc, so that happens at most once a
//! [`FULL_REFRESH`]; in between, only the roots are read (a process started since then is
//! counted without its children until the next full read). A client polling the API many
//! times a second would otherwise make the daemon scan /proc each time, and that costs every
//! gateway call latency.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use switchboard_model::api::ResourceUsage;
use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, System};

/// The shortest time between two reads of every process.
const FULL_REFRESH: Duration = Duration::from_secs(1);

#[derive(Debug, Default)]
pub struct UsageSampler {
    system: Mutex<Option<Sampled>>,
}

#[derive(Debug)]
struct Sampled {
    system: System,
    full_at: Instant,
}

impl UsageSampler {
    /// Usage of the trees rooted at each pid in `roots`. Blocking (reads /proc): call it from
    /// `spawn_blocking`.
    pub fn sample(&self, roots: &[u32]) -> HashMap<u32, ResourceUsage> {
        let mut guard = self.system.lock();
        let refresh = ProcessRefreshKind::nothing()
            .with_cpu()
            .with_memory()
            .without_tasks();
        let sampled = match guard.take() {
            Some(mut sampled) if sampled.full_at.elapsed() < FULL_REFRESH => {
                let roots: Vec<Pid> = roots.iter().map(|&pid| Pid::from_u32(pid)).collect();
                sampled
                    .system
                    .refresh_processes_specifics(ProcessesToUpdate::Some(&roots), false, refresh);
                sampled
            }
            previous => {
                let Some(mut system) = previous.map(|s| s.system).or_else(|| System::new().ok()) else {
                    return HashMap::new();
                };
                system.refresh_processes_specifics(ProcessesToUpdate::All, true, refresh);
                Sampled {
                    system,
                    full_at: Instant::now(),
                }
            }
        };
        let system = &guard.insert(sampled).system;
        let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
        for (pid, process) in system.processes() {
            if let Some(parent) = process.parent() {
                children.entry(parent).or_default().push(*pid);
            }
        }
        roots
            .iter()
            .map(|&root| {
                let mut usage = ResourceUsage {
                    cpu_percent: 0.0,
                    memory_bytes: 0,
                    processes: 0,
                };
                let mut stack = vec![Pid::from_u32(root)];
                while let Some(pid) = stack.pop() {
                    if let Some(process) = system.process(pid) {
                        usage.cpu_percent += process.cpu_usage();
                        usage.memory_bytes += process.memory();
                        usage.processes += 1;
                    }
                    stack.extend(children.get(&pid).into_iter().flatten().copied());
                }
                (root, usage)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_the_whole_tree() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sleep 30 & sleep 30 & wait"])
            .spawn()
            .expect("spawns");
        let sampler = UsageSampler::default();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        let mut usage = sampler.sample(&[child.id()])[&child.id()];
        while usage.processes < 3 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(20));
            usage = sampler.sample(&[child.id()])[&child.id()];
        }
        let _ = std::process::Command::new("pkill")
            .args(["-P", &child.id().to_string()])
            .status();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(usage.processes, 3, "{usage:?}");
        assert!(usage.memory_bytes > 0);
    }
}

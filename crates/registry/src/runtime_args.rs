//! Which container runtime arguments from a registry document reach `docker run`.
//!
//! A document's `runtimeArguments` for an OCI package become options of `docker run` (or
//! `podman run`). Most are harmless (an environment value, a memory limit, a named volume),
//! but some hand the container the host: `--privileged`, host mounts, the host's network or
//! PID namespace, capabilities, devices. [`check`] reads the arguments as docker's own parser
//! would and refuses every one not known to stay inside the container unless the user named
//! its flag (`switchboard install --allow-runtime-arg=--volume`); [`needing_consent`] lists
//! them for a plan to show. A package's environment is set on the runtime's own program too
//! (which hands it on with `-e NAME`), so [`check_plan`] also holds back variables the runtime
//! itself reads (`DOCKER_HOST`, `LD_PRELOAD`…) until allowed as `env:NAME`. Building the
//! command line is the daemon's.

/// A runtime argument that reaches beyond the container, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Widening {
    /// The flag in its long form, as the user allows it: `--volume`.
    pub flag: String,
    /// The argument as the document gives it: `-v /:/host`.
    pub shown: String,
    pub why: &'static str,
}

/// Runtime arguments the user has not allowed, all of them, in order.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(.refused))]
pub struct RuntimeArgError {
    pub refused: Vec<Widening>,
}

fn describe(refused: &[Widening]) -> String {
    let asks = refused
        .iter()
        .map(|w| format!("`{}`, which {}", w.shown, w.why))
        .collect::<Vec<_>>()
        .join("; and for ");
    let mut flags: Vec<&str> = refused.iter().map(|w| w.flag.as_str()).collect();
    flags.sort_unstable();
    flags.dedup();
    let allow = flags
        .iter()
        .map(|flag| format!("--allow-runtime-arg={flag}"))
        .collect::<Vec<_>>()
        .join(" ");
    let (these, them) = if refused.len() == 1 {
        ("it", "it")
    } else {
        ("these", "them")
    };
    format!(
        "the registry document asks the container runtime for {asks}; Switchboard passes {these} only if you allow {them}: give `{allow}` to `switchboard install` or `update` (`\"allow_runtime_args\"` in the request) after checking that you want this"
    )
}

/// Refuses the arguments of `args` that widen the container's reach and whose flag is not in
/// `allowed` (long or short form, with or without leading dashes).
pub fn check(args: &[String], allowed: &[String]) -> Result<(), RuntimeArgError> {
    let allowed: Vec<String> = allowed
        .iter()
        .flat_map(|flag| [flag.clone(), long_form(flag)])
        .collect();
    let refused: Vec<Widening> = needing_consent(args)
        .into_iter()
        .filter(|widening| !allowed.contains(&widening.flag))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RuntimeArgError { refused })
    }
}

/// [`check`] for a plan: its runtime arguments and, for a container, its environment.
pub fn check_plan(plan: &crate::Plan, allowed: &[String]) -> Result<(), RuntimeArgError> {
    if plan.source.kind != crate::SourceKind::Oci {
        return check(&plan.runtime_args, allowed);
    }
    let mut refused = match check(&plan.runtime_args, allowed) {
        Ok(()) => Vec::new(),
        Err(error) => error.refused,
    };
    refused.extend(
        env_needing_consent(plan.env.keys().map(String::as_str))
            .into_iter()
            .filter(|widening| !allowed.contains(&widening.flag)),
    );
    if refused.is_empty() {
        Ok(())
    } else {
        Err(RuntimeArgError { refused })
    }
}

/// Variables of a container's environment that the container runtime's program reads itself.
pub fn env_needing_consent<'a>(names: impl IntoIterator<Item = &'a str>) -> Vec<Widening> {
    const PREFIXES: &[&str] = &[
        "DOCKER_",
        "CONTAINER_",
        "CONTAINERS_",
        "PODMAN_",
        "BUILDAH_",
        "LD_",
        "DYLD_",
    ];
    const NAMES: &[&str] = &[
        "PATH",
        "HOME",
        "TMPDIR",
        "XDG_RUNTIME_DIR",
        "XDG_CONFIG_HOME",
        "XDG_DATA_HOME",
        "REGISTRY_AUTH_FILE",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
    ];
    names
        .into_iter()
        .filter(|name| {
            let upper = name.to_ascii_uppercase();
            PREFIXES.iter().any(|prefix| upper.starts_with(prefix)) || NAMES.contains(&upper.as_str())
        })
        .map(|name| Widening {
            flag: format!("env:{name}"),
            shown: format!("{name}=…"),
            why: "is read by the container runtime's own program, which could then use another daemon, configuration or library",
        })
        .collect()
}

/// Every argument of `args` that reaches beyond the container, in order.
pub fn needing_consent(args: &[String]) -> Vec<Widening> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < args.len() {
        let arg = &args[i];
        i += 1;
        if arg == "--" || !arg.starts_with('-') || arg == "-" {
            found.push(Widening {
                flag: arg.clone(),
                shown: arg.clone(),
                why: "is not an option, so `docker run` would take it (or what follows) as the image to run",
            });
            continue;
        }
        // `--flag=value`, `--flag value`, `-fvalue`, `-f value` or a cluster of short booleans.
        let (flags, inline): (Vec<String>, Option<String>) = match arg.strip_prefix("--") {
            Some(long) => match long.split_once('=') {
                Some((name, value)) => (vec![format!("--{name}")], Some(value.to_owned())),
                None => (vec![arg.clone()], None),
            },
            None => {
                let short: Vec<char> = arg.chars().skip(1).collect();
                let first = format!("-{}", short[0]);
                if takes_value(&long_form(&first)) {
                    let rest: String = short[1..].iter().collect();
                    let rest = rest.strip_prefix('=').unwrap_or(&rest).to_owned();
                    (vec![first], (!rest.is_empty()).then_some(rest))
                } else {
                    (short.iter().map(|c| format!("-{c}")).collect(), None)
                }
            }
        };
        for flag in flags {
            let long = long_form(&flag);
            let value = match &inline {
                Some(value) => Some(value.clone()),
                None if takes_value(&long) || (!is_known(&long) && next_is_value(args, i)) => {
                    i += 1;
                    args.get(i - 1).cloned()
                }
                None => None,
            };
            if let Some(why) = widens(&long, value.as_deref()) {
                found.push(Widening {
                    shown: match &value {
                        Some(_) if inline.is_some() => arg.clone(),
                        Some(value) => format!("{flag} {value}"),
                        None => flag.clone(),
                    },
                    flag: long,
                    why,
                });
            }
        }
    }
    found
}

fn next_is_value(args: &[String], i: usize) -> bool {
    args.get(i).is_some_and(|next| !next.starts_with('-'))
}

/// `-v` → `--volume`; `privileged` → `--privileged`; a long flag as it is.
fn long_form(flag: &str) -> String {
    let long = match flag {
        "-v" => "--volume",
        "-p" => "--publish",
        "-P" => "--publish-all",
        "-e" => "--env",
        "-u" => "--user",
        "-w" => "--workdir",
        "-h" => "--hostname",
        "-l" => "--label",
        "-m" => "--memory",
        "-t" => "--tty",
        "-i" => "--interactive",
        "-q" => "--quiet",
        "-a" => "--attach",
        "-d" => "--detach",
        "--net" => "--network",
        other if other.starts_with('-') => other,
        other => return format!("--{other}"),
    };
    long.to_owned()
}

/// Flags that stay inside the container whatever their value.
const CONTAINED: &[&str] = &[
    "--interactive",
    "--tty",
    "--rm",
    "--init",
    "--read-only",
    "--quiet",
    "--no-healthcheck",
    "--name",
    "--workdir",
    "--user",
    "--entrypoint",
    "--hostname",
    "--domainname",
    "--label",
    "--memory",
    "--memory-swap",
    "--memory-reservation",
    "--cpus",
    "--cpu-shares",
    "--shm-size",
    "--platform",
    "--pull",
    "--stop-signal",
    "--stop-timeout",
    "--tmpfs",
    "--add-host",
    "--dns",
    "--dns-search",
    "--dns-option",
    "--ulimit",
    "--pids-limit",
    "--cap-drop",
    "--expose",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-timeout",
    "--health-start-period",
];

/// Flags that take a value, of those known here.
const WITH_VALUE: &[&str] = &[
    "--name",
    "--workdir",
    "--user",
    "--entrypoint",
    "--hostname",
    "--domainname",
    "--label",
    "--memory",
    "--memory-swap",
    "--memory-reservation",
    "--cpus",
    "--cpu-shares",
    "--shm-size",
    "--platform",
    "--pull",
    "--stop-signal",
    "--stop-timeout",
    "--tmpfs",
    "--add-host",
    "--dns",
    "--dns-search",
    "--dns-option",
    "--ulimit",
    "--pids-limit",
    "--cap-drop",
    "--expose",
    "--health-cmd",
    "--health-interval",
    "--health-retries",
    "--health-timeout",
    "--health-start-period",
    "--env",
    "--volume",
    "--mount",
    "--publish",
    "--network",
    "--cap-add",
    "--device",
    "--device-cgroup-rule",
    "--security-opt",
    "--pid",
    "--ipc",
    "--uts",
    "--userns",
    "--cgroupns",
    "--cgroup-parent",
    "--env-file",
    "--label-file",
    "--volumes-from",
    "--gpus",
    "--sysctl",
    "--group-add",
    "--runtime",
    "--log-driver",
    "--log-opt",
    "--cidfile",
    "--link",
    "--storage-opt",
    "--attach",
    "--volume-driver",
];

/// Flags that reach beyond the container, and how.
const WIDENING: &[(&str, &str)] = &[
    (
        "--privileged",
        "gives the container every device and capability of the host",
    ),
    ("--cap-add", "adds kernel capabilities to the container"),
    ("--device", "gives the container a device of the host"),
    (
        "--device-cgroup-rule",
        "lets the container use devices of the host",
    ),
    (
        "--security-opt",
        "changes the container's security profile (seccomp, AppArmor, SELinux)",
    ),
    (
        "--pid",
        "shares a process namespace with the host or another container",
    ),
    (
        "--ipc",
        "shares an IPC namespace with the host or another container",
    ),
    ("--uts", "shares the host's UTS namespace"),
    ("--userns", "changes the container's user namespace"),
    ("--cgroupns", "changes the container's cgroup namespace"),
    ("--cgroup-parent", "places the container in another cgroup"),
    ("--env-file", "reads a file of the host into the container"),
    ("--label-file", "reads a file of the host"),
    ("--cidfile", "writes a file on the host"),
    ("--volumes-from", "mounts another container's volumes"),
    ("--gpus", "gives the container the host's GPUs"),
    ("--sysctl", "changes kernel parameters for the container"),
    ("--group-add", "adds the container's user to more groups"),
    ("--runtime", "runs the container with another runtime"),
    ("--log-driver", "sends the container's output elsewhere"),
    ("--log-opt", "changes where the container's output goes"),
    ("--link", "connects the container to another container"),
    (
        "--publish-all",
        "publishes every port of the container on all of the host's addresses",
    ),
    ("--volume-driver", "mounts volumes through another driver"),
    ("--attach", "attaches other streams"),
    (
        "--detach",
        "detaches the container from Switchboard's supervision",
    ),
];

fn is_known(long: &str) -> bool {
    CONTAINED.contains(&long) || WITH_VALUE.contains(&long) || WIDENING.iter().any(|(flag, _)| *flag == long)
}

fn takes_value(long: &str) -> bool {
    WITH_VALUE.contains(&long)
}

/// Why `flag` with `value` reaches beyond the container, or `None` if it does not.
fn widens(flag: &str, value: Option<&str>) -> Option<&'static str> {
    let value = value.unwrap_or_default();
    match flag {
        "--env" if !value.contains('=') => {
            Some("copies a variable of the daemon's own environment into the container")
        }
        "--env" => None,
        "--volume" => {
            let source = value.split(':').next().unwrap_or_default();
            let named = !source.is_empty()
                && source.starts_with(|c: char| c.is_ascii_alphanumeric())
                && source
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            (!named || !value.contains(':')).then_some("mounts a path of the host into the container")
        }
        "--mount" => {
            let options: Vec<(&str, &str)> = value
                .split(',')
                .map(|option| option.split_once('=').unwrap_or((option, "")))
                .collect();
            let kind = options
                .iter()
                .find(|(key, _)| *key == "type")
                .map_or("volume", |(_, kind)| kind);
            let driver_options = options
                .iter()
                .any(|(key, _)| key.starts_with("volume-driver") || key.starts_with("volume-opt"));
            (!matches!(kind, "volume" | "tmpfs") || driver_options)
                .then_some("mounts a path of the host into the container")
        }
        "--publish" => {
            let loopback = ["127.0.0.1:", "[::1]:", "localhost:"]
                .iter()
                .any(|prefix| value.starts_with(prefix));
            (!loopback).then_some("publishes a port on addresses beyond this machine's loopback")
        }
        "--network" => (!matches!(value, "none" | "bridge" | "default"))
            .then_some("puts the container on the host's or another network"),
        _ if CONTAINED.contains(&flag) => None,
        _ => Some(
            WIDENING
                .iter()
                .find(|(known, _)| *known == flag)
                .map_or("is not known to keep the container to itself", |(_, why)| why),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(line: &str) -> Vec<String> {
        line.split(' ')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn what_needs_consent() {
        // (runtime arguments, the flags that need the user's consent)
        let cases: &[(&str, &[&str])] = &[
            ("", &[]),
            ("-e MODE=fast --env=LEVEL=2 --rm --init -i -t -it", &[]),
            ("--memory 512m --cpus=1 --name time --read-only --tmpfs /tmp", &[]),
            ("-v data:/data --volume=cache:/cache:ro", &[]),
            (
                "--mount type=volume,src=data,dst=/data --mount type=tmpfs,dst=/t",
                &[],
            ),
            ("-p 127.0.0.1:8080:8080 --publish=[::1]:9:9", &[]),
            ("--network none --net=bridge --cap-drop ALL", &[]),
            ("--privileged", &["--privileged"]),
            ("-v /:/host", &["--volume"]),
            ("-v/etc:/etc", &["--volume"]),
            ("--volume ./src:/src", &["--volume"]),
            ("-v ~/.ssh:/root/.ssh", &["--volume"]),
            ("-v /var/run/docker.sock:/var/run/docker.sock", &["--volume"]),
            ("--mount type=bind,src=/,dst=/host", &["--mount"]),
            ("--mount type=volume,src=x,dst=/x,volume-opt=o=bind", &["--mount"]),
            ("--network=host", &["--network"]),
            ("--net host", &["--network"]),
            ("--network container:other", &["--network"]),
            (
                "--pid=host --ipc host --uts=host --userns=host",
                &["--pid", "--ipc", "--uts", "--userns"],
            ),
            (
                "--cap-add SYS_ADMIN --device /dev/kvm",
                &["--cap-add", "--device"],
            ),
            ("--security-opt seccomp=unconfined", &["--security-opt"]),
            ("-p 8080:8080", &["--publish"]),
            ("-P", &["--publish-all"]),
            ("-e HOME", &["--env"]),
            ("--env-file /etc/environment", &["--env-file"]),
            ("--gpus all -e X=1", &["--gpus"]),
            ("--made-up-flag value -e X=1", &["--made-up-flag"]),
            ("alpine sh", &["alpine", "sh"]),
            ("-- alpine", &["--", "alpine"]),
            ("-i --privileged=true", &["--privileged"]),
            ("-itd", &["--detach"]),
        ];
        for (line, expected) in cases {
            let flags: Vec<String> = needing_consent(&argv(line)).into_iter().map(|w| w.flag).collect();
            assert_eq!(flags, *expected, "`{line}`");
        }
    }

    #[test]
    fn variables_the_runtime_reads_itself_need_consent() {
        // (variable, whether it needs consent)
        let cases = [
            ("API_KEY", false),
            ("MODE", false),
            ("GITHUB_TOKEN", false),
            ("DOCKER_HOST", true),
            ("docker_config", true),
            ("DOCKER_CONTEXT", true),
            ("CONTAINER_HOST", true),
            ("CONTAINERS_CONF", true),
            ("LD_PRELOAD", true),
            ("DYLD_INSERT_LIBRARIES", true),
            ("PATH", true),
            ("HOME", true),
            ("XDG_RUNTIME_DIR", true),
            ("https_proxy", true),
        ];
        for (name, needs) in cases {
            let found = env_needing_consent([name]);
            assert_eq!(found.len() == 1, needs, "{name}");
            if needs {
                assert_eq!(found[0].flag, format!("env:{name}"));
            }
        }
    }

    #[test]
    fn the_user_allows_by_flag_in_either_form() {
        let args = argv("--privileged -v /:/host --cap-add NET_ADMIN");
        let refused = |flags: &[&str]| -> Vec<String> {
            let allowed: Vec<String> = flags.iter().map(|f| (*f).to_owned()).collect();
            match check(&args, &allowed) {
                Ok(()) => Vec::new(),
                Err(error) => error.refused.into_iter().map(|w| w.flag).collect(),
            }
        };
        assert_eq!(refused(&[]), ["--privileged", "--volume", "--cap-add"]);
        assert_eq!(refused(&["--privileged"]), ["--volume", "--cap-add"]);
        assert_eq!(refused(&["privileged", "-v"]), ["--cap-add"]);
        assert!(refused(&["--privileged", "--volume", "--cap-add"]).is_empty());
        assert!(check(&argv("alpine"), &["alpine".to_owned()]).is_ok());
    }

    #[test]
    fn the_refusal_shows_each_argument_and_how_to_allow_them() {
        let error = check(&argv("-v /:/host"), &[]).expect_err("refused");
        assert_eq!(error.refused[0].shown, "-v /:/host");
        assert_eq!(
            error.to_string(),
            "the registry document asks the container runtime for `-v /:/host`, which mounts a path of the \
             host into the container; Switchboard passes it only if you allow it: give \
             `--allow-runtime-arg=--volume` to `switchboard install` or `update` (`\"allow_runtime_args\"` in \
             the request) after checking that you want this"
        );
        let text = check(&argv("--privileged --net=host"), &[])
            .expect_err("refused")
            .to_string();
        assert!(
            text.contains(
                "for `--privileged`, which gives the container every device and capability of the host; \
                 and for `--net=host`, which puts the container on the host's or another network; \
                 Switchboard passes these only if you allow them: \
                 give `--allow-runtime-arg=--network --allow-runtime-arg=--privileged`"
            ),
            "{text}"
        );
    }
}

#!/usr/bin/env python3
"""A double of `systemctl --user` for the service tests, where no systemd user manager can run.

It speaks systemctl's command line for what `switchboard service` and the app use
(daemon-reload, start, restart, stop, is-active, disable --now) and runs the unit the way the
user manager would: ExecStart's words and the unit's Environment= lines only (plus HOME), in a
session of its own, its pid kept in $SYSTEMCTL_DOUBLE_STATE. Every call is appended to
calls.log there. `$$` and `%%` in arguments are undone as systemd does; nothing else of
systemd's grammar is needed by the units Switchboard writes.
"""
import os
import shlex
import signal
import subprocess
import sys
import time

state = os.environ["SYSTEMCTL_DOUBLE_STATE"]
os.makedirs(state, exist_ok=True)
args = [a for a in sys.argv[1:] if a != "--user"]
with open(os.path.join(state, "calls.log"), "a") as log:
    log.write(" ".join(args) + "\n")
pid_file = os.path.join(state, "main.pid")


def unit_file(name):
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.environ["HOME"], ".config")
    return os.path.join(config, "systemd", "user", name)


def main_pid():
    try:
        pid = int(open(pid_file).read())
        os.kill(pid, 0)
        with open(f"/proc/{pid}/stat") as stat:
            if stat.read().split(")")[-1].split()[0] == "Z":
                return None
        return pid
    except (OSError, ValueError):
        return None


def start(name):
    if main_pid():
        return
    lines = open(unit_file(name)).read().splitlines()
    value = lambda key: [l[len(key) + 1:] for l in lines if l.startswith(key + "=")]
    words = [w.replace("%%", "%") for w in shlex.split(value("ExecStart")[0])]
    argv = words[:1] + [w.replace("$$", "$") for w in words[1:]]
    env = {"HOME": os.environ["HOME"]}
    for assignment in value("Environment"):
        key, _, val = shlex.split(assignment)[0].replace("%%", "%").partition("=")
        env[key] = val
    out = open(os.path.join(state, "daemon.log"), "ab")
    child = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True)
    open(pid_file, "w").write(str(child.pid))


def stop():
    pid = main_pid()
    if not pid:
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while main_pid() and time.monotonic() < deadline:
        time.sleep(0.05)


command, units = args[0], [a for a in args[1:] if not a.startswith("--")]
if command == "daemon-reload":
    pass
elif command == "start":
    start(units[0])
elif command == "restart":
    stop()
    start(units[0])
elif command in ("stop", "disable"):
    stop()
elif command == "is-active":
    print("active" if main_pid() else "inactive")
    sys.exit(0 if main_pid() else 3)
else:
    print(f"systemctl double: {command} is not spoken here", file=sys.stderr)
    sys.exit(1)

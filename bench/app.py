"""The desktop app: memory of the app plus the daemon, idle with 10 servers configured, and
the time from launching the app to its tray menu showing live state.

Run by scripts/bench.sh (release builds, Xvfb). The app is started the way a user starts it:
no daemon runs, so it starts one from the `switchboard` binary beside it, which starts the 10
configured servers (mcp-echo, the benchmark's compiled stdio server). Memory counts the app's
process tree (its WebKit processes included) and the daemon, not the servers. "Launch to live
tray" ends when the app logs that its tray menu shows the daemon's servers; it is measured
started at login (`--hidden`: tray only, no window, so no WebKit processes) and with the
dashboard window open.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

from common import BIN, ROOT, rss_kib, wait_for, write_section

APP = ROOT / "target" / "release" / "switchboard-app"
ECHO = ROOT / "target" / "release" / "mcp-echo"
SERVERS = 10
ROUNDS = 5


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def tree(pid):
    found = [pid]
    for child in children(pid):
        found.extend(tree(child))
    return found


def rss_sum(pids):
    total = 0
    for pid in pids:
        try:
            total += rss_kib(pid)
        except (OSError, AttributeError):
            continue
    return total


def xvfb():
    proc = subprocess.Popen(["Xvfb", "-displayfd", "1", "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, ":" + proc.stdout.readline().strip()


def configured_home():
    """A data directory with 10 enabled servers and no daemon running."""
    home = tempfile.mkdtemp(prefix="switchboard-app-bench-")
    env = dict(os.environ, SWITCHBOARD_HOME=home, SWITCHBOARD_PORT="0", SWITCHBOARD_LOG="warn")
    daemon = subprocess.Popen([str(BIN), "daemon"], env=env, stderr=subprocess.DEVNULL)
    wait_for("the daemon", 20, lambda: os.path.exists(os.path.join(home, "daemon.json")))
    for i in range(SERVERS):
        subprocess.run([str(BIN), "add", f"echo{i}", "--", str(ECHO)], env=env, check=True, capture_output=True)
    daemon.send_signal(signal.SIGTERM)
    daemon.wait(timeout=60)
    return home, env


def daemon_pid(home):
    with open(os.path.join(home, "daemon.json")) as f:
        return json.load(f)["pid"]


def launch(display, hidden):
    """One launch: (ms to live tray, app tree KiB, daemon KiB)."""
    home, env = configured_home()
    env = dict(env, DISPLAY=display, RUST_LOG="info")
    env.pop("WAYLAND_DISPLAY", None)
    started = time.monotonic()
    app = subprocess.Popen([str(APP)] + (["--hidden"] if hidden else []), env=env,
                           stderr=subprocess.PIPE, text=True)
    try:
        for line in app.stderr:
            if "tray shows live state" in line:
                live_ms = (time.monotonic() - started) * 1000
                break
        else:
            sys.exit(f"the app exited before its tray showed live state ({app.wait()})")
        # Let everything settle (servers up, the window's page loaded), then measure idle.
        wait_for("the servers", 60, lambda: all_running(env))
        time.sleep(3)  # a measurement settling, not a test waiting
        daemon = daemon_pid(home)
        app_kib = rss_sum(tree(app.pid))
        daemon_kib = rss_kib(daemon)
        return live_ms, app_kib, daemon_kib
    finally:
        subprocess.run([str(BIN), "quit"], env=env, capture_output=True)
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()


def all_running(env):
    out = subprocess.run([str(BIN), "--json", "ls"], env=env, capture_output=True, text=True)
    try:
        servers = json.loads(out.stdout)
    except ValueError:
        return False
    return len(servers) == SERVERS and all(s["status"]["state"] == "running" for s in servers)


def main():
    for tool in (BIN, APP, ECHO):
        if not tool.exists():
            sys.exit(f"{tool} is missing; run scripts/bench.sh")
    display_proc, display = xvfb()
    try:
        results = {hidden: [launch(display, hidden) for _ in range(ROUNDS)] for hidden in (True, False)}
    finally:
        display_proc.kill()
    median = lambda values: statistics.median(values)
    rows = []
    for hidden, label in ((True, "idle in the tray (started at login, no window)"), (False, "dashboard window open")):
        runs = results[hidden]
        live = median(r[0] for r in runs)
        app = median(r[1] for r in runs) / 1024
        daemon = median(r[2] for r in runs) / 1024
        total = app + daemon
        met = ("yes" if total <= 150 else "no") if hidden else "(not idle)"
        rows.append(f"| {label} | {live:.0f} ms (max {max(r[0] for r in runs):.0f}) | {app:.1f} MB | {daemon:.1f} MB | "
                    f"{total:.1f} MB | {met} |")
    section = f"""
## Desktop app: launch to live tray, and idle memory

Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores by `scripts/bench.sh` (bench/app.py),
release builds under Xvfb; {ROUNDS} launches each, medians. Each launch starts the app with no
daemon running and {SERVERS} enabled servers configured (mcp-echo), as after a login: the app
starts the daemon, which starts the servers. "Launch to live tray" ends when the tray's menu
shows the daemon's servers. Memory is RSS once settled: the app with its WebKit processes,
and the daemon; the servers are not counted. Target: app plus daemon at most 150 MB, idle.
The window exists only while it is open (closing it ends its WebKit processes). Under Xvfb,
GTK loads Mesa's software OpenGL (libLLVM alone is about 43 MB of the app's RSS); RSS counts
shared library pages in full.

| mode | launch → live tray | app (with WebKit) | daemon | app + daemon | ≤ 150 MB idle |
|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    write_section("app", section)


if __name__ == "__main__":
    main()

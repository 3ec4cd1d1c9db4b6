"""The desktop app: memory of the app plus the daemon, idle with 10 servers configured, and
the time from launching the app to its tray menu showing live state.

Run by scripts/bench.sh (release builds, Xvfb). The app is started the way a user starts it:
no daemon runs, so it starts one from the `switchboard` binary beside it, which starts the 10
configured servers (mcp-echo, the benchmark's compiled stdio server). Memory counts the app's
process tree (its window's process and WebKit processes included), the daemon and its
watchdog, not the servers. "Launch to live tray" ends when the app logs that its tray menu
shows the daemon's servers; it is measured started at login (`--hidden`: tray only, no window
process) and with the dashboard window open.
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from common import BIN, ROOT, rss_kib, wait_for, write_section

APP = ROOT / "target" / "release" / "switchboard-app"
RUST_PEER = Path(os.environ.get("SWITCHBOARD_BENCH_TOOLS", ROOT / ".cache" / "bench-tools")) / "mcp-proxy-rs" / "bin" / "mcp-proxy"
ECHO = ROOT / "target" / "release" / "mcp-echo"
SERVERS = 10
ROUNDS = 5


def children(pid):
    """Children of every thread of `pid` (each thread's list holds those it started)."""
    found = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children") as f:
                found.extend(int(p) for p in f.read().split())
        except OSError:
            continue
    return found


def tree(pid, without):
    """`pid` and its descendants, but not `without` and its own (the daemon the app started)."""
    if pid == without:
        return []
    found = [pid]
    for child in children(pid):
        found.extend(tree(child, without))
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


def watchdog_pid(daemon):
    for pid in children(daemon):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                if f.read().split(b"\0")[0].endswith(b"switchboard-watchdog"):
                    return pid
        except OSError:
            continue
    sys.exit("the daemon has no watchdog")


def launch(display, hidden):
    """One launch: (ms to live tray, app tree KiB, daemon KiB, watchdog KiB)."""
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
        # Read the rest, so a full pipe never stalls the app or its window.
        threading.Thread(target=app.stderr.read, daemon=True).start()
        # Let everything settle (servers up, the window's page loaded), then measure idle.
        wait_for("the servers", 60, lambda: all_running(env))
        time.sleep(3)  # a measurement settling, not a test waiting
        daemon = daemon_pid(home)
        app_kib = rss_sum(tree(app.pid, daemon))
        return live_ms, app_kib, rss_kib(daemon), rss_kib(watchdog_pid(daemon))
    finally:
        subprocess.run([str(BIN), "quit"], env=env, capture_output=True)
        app.send_signal(signal.SIGTERM)
        try:
            app.wait(timeout=10)
        except subprocess.TimeoutExpired:
            app.kill()


def rust_peer_kib():
    """The idle RSS of mcp-proxy 0.6 (crates.io) in front of the same servers, not counted."""
    with tempfile.TemporaryDirectory(prefix="switchboard-app-bench-peer-") as workdir:
        config = os.path.join(workdir, "proxy.toml")
        log = os.path.join(workdir, "proxy.log")
        with open(config, "w") as f:
            f.write('[proxy]\nname = "bench"\n[proxy.listen]\nhost = "127.0.0.1"\nport = 0\n')
            for i in range(SERVERS):
                # A JSON string is a TOML basic string.
                f.write(f'\n[[backends]]\nname = "echo{i}"\ntransport = "stdio"\ncommand = {json.dumps(str(ECHO))}\n')
        with open(log, "w") as out:
            peer = subprocess.Popen([str(RUST_PEER), "--config", config], stdout=out, stderr=subprocess.STDOUT,
                                    env=dict(os.environ, NO_COLOR="1"))
        try:
            wait_for("mcp-proxy to be ready", 30, lambda: peer.poll() is None and "Proxy ready" in open(log).read())
            time.sleep(3)  # a measurement settling, not a test waiting
            return rss_kib(peer.pid)
        finally:
            peer.terminate()
            peer.wait()


def all_running(env):
    out = subprocess.run([str(BIN), "--json", "ls"], env=env, capture_output=True, text=True)
    try:
        servers = json.loads(out.stdout)
    except ValueError:
        return False
    return len(servers) == SERVERS and all(s["status"]["state"] == "running" for s in servers)


def main():
    for tool in (BIN, APP, ECHO, RUST_PEER):
        if not tool.exists():
            sys.exit(f"{tool} is missing; run scripts/bench.sh")
    display_proc, display = xvfb()
    try:
        results = {hidden: [launch(display, hidden) for _ in range(ROUNDS)] for hidden in (True, False)}
    finally:
        display_proc.kill()
    peer = statistics.median(rust_peer_kib() for _ in range(ROUNDS)) / 1024
    median = lambda values: statistics.median(values)
    rows = []
    for hidden, label in ((True, "idle in the tray (started at login, no window)"), (False, "dashboard window open")):
        runs = results[hidden]
        live = median(r[0] for r in runs)
        app = median(r[1] for r in runs) / 1024
        daemon = median(r[2] for r in runs) / 1024
        watchdog = median(r[3] for r in runs) / 1024
        total = median(r[1] + r[2] for r in runs) / 1024
        all_three = median(r[1] + r[2] + r[3] for r in runs) / 1024
        met = ("yes" if total < 100 else "no") if hidden else "(not idle)"
        rows.append(f"| {label} | {live:.0f} ms (max {max(r[0] for r in runs):.0f}) | {app:.1f} MB | {daemon:.1f} MB | "
                    f"{watchdog:.1f} MB | {total:.1f} MB | {all_three:.1f} MB | {met} |")
    section = f"""
## Desktop app: launch to live tray, and idle memory

Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores by `scripts/bench.sh` (bench/app.py),
release builds under Xvfb; {ROUNDS} launches each, medians. Each launch starts the app with no
daemon running and {SERVERS} enabled servers configured (mcp-echo), as after a login: the app
starts the daemon, which starts the servers. "Launch to live tray" ends when the tray's menu
shows the daemon's servers. Memory is RSS once settled: the app's process tree (with the
window open, its window process and WebKit processes), the daemon and its watchdog; the
servers are not counted. Target: app plus daemon under 100 MB, idle in the tray. Each column
is a median of its own, the sums medians of each launch's sum.

The window lives in a process of its own that exists only while it is open, so idle in the
tray no web engine runs. The tray's process turns GDK's OpenGL off: under Xvfb, GTK would
otherwise load Mesa's software renderer (libLLVM alone is about 43 MB). The tray's process
still maps the WebKit libraries it links (about 25 MB of its RSS with their dependencies);
RSS counts shared library pages in full. For comparison, the leanest Rust gateway, mcp-proxy
0.6 from crates.io, idles at {peer:.1f} MB in front of the same {SERVERS} servers (median of
{ROUNDS} starts, this run), and has no watchdog, store, dashboard or tailnet listener.

| mode | launch → live tray | app | daemon | watchdog | app + daemon | all three | app + daemon < 100 MB idle |
|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}
"""
    write_section("app", section)


if __name__ == "__main__":
    main()

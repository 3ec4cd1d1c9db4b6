#!/usr/bin/env python3
"""Daemon benchmarks, written into docs/benchmarks.md.

1. First restart: time from `kill -9` of a supervised server to that server answering
   tools/list again, against the same server's own cold start (spawn to tools/list answered)
   measured by a plain client in the same run. The difference is what Switchboard adds.
2. Idle memory: the daemon's resident set with 20 configured, running servers, excluding the
   servers themselves (and, separately, its watchdog helper).

Run with scripts/bench.sh (it builds a release binary and installs the servers first).
"""

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import BIN, ROOT, Daemon, rss_kib, wait_for, write_section

TOOLS = Path(os.environ.get("SWITCHBOARD_TEST_TOOLS", ROOT / ".cache" / "test-tools"))
SERVER = [str(TOOLS / "venv" / "bin" / "mcp-server-time")]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
CONFIGURED = 20


def cold_start_ms(command):
    """Spawn to tools/list answered, with a plain stdio client."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def call(message, want_id=None):
        proc.stdin.write(json.dumps(message) + "\n")
        proc.stdin.flush()
        while want_id is not None:
            line = proc.stdout.readline()
            if not line:
                sys.exit("the server closed its stdout during the cold start")
            try:
                if json.loads(line).get("id") == want_id:
                    return
            except ValueError:
                continue

    init = {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
    call({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init}, 1)
    call({"jsonrpc": "2.0", "method": "notifications/initialized"})
    call({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}, 2)
    elapsed = (time.perf_counter() - started) * 1000
    proc.kill()
    proc.wait()
    return elapsed


def watchdog_pid(daemon_pid):
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read().split(b"\0")
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        if ppid == daemon_pid and cmd[0].endswith(b"switchboard-watchdog"):
            return int(entry)
    return None


def first_restarts(daemon):
    """Per round: kill → ready again, kill → respawned, and the daemon's own spawn → ready."""
    latencies, respawns, handshakes = [], [], []
    for i in range(ROUNDS):
        name = f"r{i}"
        view = daemon.cli("add", name, "--", *SERVER)
        pid = view["status"]["pid"]
        killed_ms = time.time() * 1000
        os.kill(pid, signal.SIGKILL)

        def restarted():
            runs = daemon.cli("runs", name)
            newest = runs[0]
            return newest if newest["restart"] and newest.get("ready_at_ms") else None

        run = wait_for(f"{name} to restart", 60, restarted)
        latencies.append(run["ready_at_ms"] - killed_ms)
        respawns.append(run["started_at_ms"] - killed_ms)
        handshakes.append(run["ready_at_ms"] - run["started_at_ms"])
        daemon.cli("rm", name)
    return latencies, respawns, handshakes


def idle_memory(daemon):
    for i in range(CONFIGURED):
        daemon.cli("add", f"s{i:02}", "--no-wait", "--", *SERVER)
    wait_for(
        f"{CONFIGURED} servers running",
        180,
        lambda: sum(s["status"]["state"] == "running" for s in daemon.cli("ls")) == CONFIGURED,
    )
    time.sleep(5)  # let start-up allocations settle; this is a measurement, not a test
    watchdog = watchdog_pid(daemon.proc.pid)
    return rss_kib(daemon.proc.pid), (rss_kib(watchdog) if watchdog else None)


def write_report(cold, restarts, respawns, handshakes, empty_rss, rss, watchdog_rss):
    cold_p50, restart_p50 = statistics.median(cold), statistics.median(restarts)
    added = restart_p50 - cold_p50
    mb = lambda kib: f"{kib / 1024:.1f} MB"
    section = f"""
## Daemon: first restart and idle memory

Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores by `scripts/bench.sh` (bench/daemon.py),
release build, with mcp-server-time (PyPI) as the server; {ROUNDS} rounds each, medians.

| measure | figure | target | met |
|---|---|---|---|
| server's own cold start (spawn → tools/list answered, plain client) | {cold_p50:.0f} ms (min {min(cold):.0f}, max {max(cold):.0f}) | | |
| first restart under Switchboard (kill -9 → tools/list answered again) | {restart_p50:.0f} ms (min {min(restarts):.0f}, max {max(restarts):.0f}) | | |
| added by Switchboard (restart − cold start) | {added:+.0f} ms | ≤ 100 ms | {"yes" if added <= 100 else "no"} |
| of which kill → new process spawned (exit noticed, group cleaned, recorded, respawned) | {statistics.median(respawns):.0f} ms (max {max(respawns):.0f}) | | |
| of which spawn → tools/list answered, as the daemon timed it | {statistics.median(handshakes):.0f} ms | | |
| daemon RSS, no servers | {mb(empty_rss)} | | |
| daemon RSS, {CONFIGURED} servers running, idle (servers excluded) | {mb(rss)} | ≤ 25 MB | {"yes" if rss <= 25 * 1024 else "no"} |
| watchdog helper RSS (a separate process) | {mb(watchdog_rss) if watchdog_rss else "n/a"} | | |

The restart path is: exit noticed → stragglers in the process group killed → exit recorded →
policy says restart now (the first restart has no delay) → spawn → initialize → tools/list.
The cold start is timed by a separate Python client and varies by tens of milliseconds between
runs, so the "added" row can even come out negative; the "kill → new process spawned" row is
Switchboard's own share of a restart, measured directly (wall clock, millisecond resolution).
"""
    write_section("daemon", section)


def main():
    if not BIN.exists():
        sys.exit(f"{BIN} is missing; run scripts/bench.sh")
    cold = [cold_start_ms(SERVER) for _ in range(ROUNDS)]

    daemon = Daemon()
    try:
        empty_rss = rss_kib(daemon.proc.pid)
        restarts, respawns, handshakes = first_restarts(daemon)
    finally:
        daemon.stop()

    daemon = Daemon()
    try:
        rss, watchdog_rss = idle_memory(daemon)
    finally:
        daemon.stop()
    write_report(cold, restarts, respawns, handshakes, empty_rss, rss, watchdog_rss)


if __name__ == "__main__":
    main()

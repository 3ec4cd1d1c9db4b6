#!/usr/bin/env python3
"""Reliability benchmarks, written into docs/reliability.md. Loopback only, release build.

isolation: calls to one server (mcp-echo) through the gateway, at concurrency 1 with oha, in
  rounds that alternate between a quiet daemon and one where a second server is restarted in a
  tight loop (a program that exits at once, restarted through the API twenty times a second on
  top of the supervisor's own restarts). The rounds of each kind are compared with the spread
  of the quiet rounds: the noise of this machine.

soak: 1,000 concurrent sessions (one keep-alive connection each) calling the echo tool through
  the gateway for ten minutes, each about once a second. The daemon starts with a soft limit of
  1,024 open files, the common default. Its RSS is sampled every ten seconds; after the first
  minute it must stay within 10% of that minute's level, with no failed call.

Run with scripts/bench.sh (isolation), or on its own after building the release binaries:
    python3 bench/reliability.py soak [--minutes 10] [--sessions 1000]
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import common
from common import BIN, ROOT, Daemon, rss_kib, wait_for, write_section
from gateway import ECHO, PROTOCOL, Target, bodies_file, oha

common.REPORT = ROOT / "docs" / "reliability.md"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))


def control(daemon, method, path):
    with open(os.path.join(daemon.home, "control.token")) as f:
        token = f.read().strip()
    request = urllib.request.Request(
        f"http://127.0.0.1:{daemon.port}/api/v1{path}", method=method, headers={"Authorization": f"Bearer {token}"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def echo_target(daemon):
    token = subprocess.run(
        [str(BIN), "token", "create", "reliability"], env=daemon.env, capture_output=True, text=True, check=True
    ).stdout.strip()
    return Target("Switchboard", f"http://127.0.0.1:{daemon.port}/mcp/echo", daemon.proc.pid,
                  {"Authorization": f"Bearer {token}"})


def paced(every, step, running):
    """Calls step() every `every` seconds while `running` is set, on a thread of its own."""
    def loop():
        while True:
            running.wait()
            due = time.monotonic()
            while running.is_set():
                step()
                due += every
                time.sleep(max(0.0, due - time.monotonic()))
    threading.Thread(target=loop, daemon=True).start()


def isolation():
    daemon = Daemon()
    try:
        daemon.cli("add", "echo", "--", str(ECHO))
        daemon.cli("add", "crashy", "--no-wait", "--restart", "always", "--", "/bin/sh", "-c", "exit 3")
        target = echo_target(daemon)
        bodies = bodies_file()
        session = target.open_session()
        oha(target, 1, bodies, "2s", session)  # warm-up

        def api(method, path):
            try:
                control(daemon, method, path)
            except OSError:
                pass

        def last_run():
            runs = control(daemon, "GET", "/servers/crashy/runs?limit=1")
            return runs[0]["id"] if runs else 0

        # Both kinds of busy round make 20 API requests a second: the crash loop's ask for
        # restarts, the control's read a running server (each answer carries the server's CPU
        # and memory, sampled from /proc). So the rounds differ by who starts the processes,
        # and the control measures what that churn costs two cores whoever does it.
        looping, controlling = threading.Event(), threading.Event()
        paced(0.05, lambda: api("POST", "/servers/crashy/restart"), looping)
        paced(0.05, lambda: api("GET", "/servers/echo"), controlling)
        spawned = [0]

        def churn():
            subprocess.run(["/bin/sh", "-c", "exit 3"])
            spawned[0] += 1

        churning = threading.Event()
        paced(1 / 40, churn, churning)  # about the crash loop's own start rate
        quiet, loop, control_rounds = [], [], []
        starts = 0
        for _ in range(ROUNDS):
            quiet.append(oha(target, 1, bodies, "3s", session))
            first_run = last_run()
            looping.set()
            loop.append(oha(target, 1, bodies, "3s", session))
            looping.clear()
            starts += last_run() - first_run
            controlling.set()
            churning.set()
            control_rounds.append(oha(target, 1, bodies, "3s", session))
            churning.clear()
            controlling.clear()
    finally:
        daemon.stop()

    def p(rounds, key):
        return statistics.median(r[key] for r in rounds)

    def spread(rounds, key):
        return max(r[key] for r in rounds) - min(r[key] for r in rounds)

    def each(rounds, key):
        return ", ".join(f"{r[key]:.0f}" for r in rounds)

    failed = sum(r["failed"] for r in quiet + loop + control_rounds)
    added = p(loop, "p50_us") - p(quiet, "p50_us")
    noise = spread(quiet, "p50_us")
    verdict = "within noise" if added <= noise and failed == 0 else "NOT within noise"
    tail_added = p(loop, "p99_us") - p(control_rounds, "p99_us")
    tail_noise = spread(control_rounds, "p99_us")
    tail = "within noise" if tail_added <= tail_noise and failed == 0 else "NOT within noise"
    seconds = ROUNDS * 3
    write_section("isolation", f"""
### Figures

`scripts/bench.sh` (bench/reliability.py isolation). Calls to `echo` at concurrency 1, {ROUNDS}
rounds of 3 s of each kind, interleaved:

- quiet;
- crash loop: `crashy` (a program that exits at once, restart policy always) restarted through
  the API 20 times a second on top of its own restarts: it started {starts} times in {seconds} s;
- machine control: the same kind of process (`sh -c 'exit 3'`) spawned {spawned[0]} times in
  {seconds} s by the benchmark itself, with Switchboard out of it, and 20 API requests a second
  that read a running server: what the churn costs the machine (2 cores) whoever does it.

| | p50 | p99 | p99 of each round | failed |
|---|---|---|---|---|
| quiet | {p(quiet, "p50_us"):.0f} µs | {p(quiet, "p99_us"):.0f} µs | {each(quiet, "p99_us")} | {sum(r["failed"] for r in quiet)} |
| another server in a crash loop | {p(loop, "p50_us"):.0f} µs | {p(loop, "p99_us"):.0f} µs | {each(loop, "p99_us")} | {sum(r["failed"] for r in loop)} |
| machine control (no crash loop) | {p(control_rounds, "p50_us"):.0f} µs | {p(control_rounds, "p99_us"):.0f} µs | {each(control_rounds, "p99_us")} | {sum(r["failed"] for r in control_rounds)} |

Median: the crash loop adds {added:.0f} µs to the quiet rounds' p50, whose spread (the noise) is
{noise:.0f} µs: **{verdict}**. Tail: the crash loop's p99 is {tail_added:.0f} µs above the machine
control's, whose rounds spread over {tail_noise:.0f} µs: **{tail}**.
""")


async def soak_session(port, token, deadline, stats):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)

    async def post(body, session=None):
        headers = (f"POST /mcp/echo HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n"
                   f"Content-Type: application/json\r\nAccept: application/json\r\nContent-Length: {len(body)}\r\n")
        if session:
            headers += f"Mcp-Session-Id: {session}\r\nMCP-Protocol-Version: {PROTOCOL}\r\n"
        writer.write(headers.encode() + b"\r\n" + body)
        await writer.drain()
        status = int((await reader.readline()).split()[1])
        length, session_id = 0, None
        while (line := await reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "mcp-session-id":
                session_id = value.strip()
        return status, session_id, await reader.readexactly(length)

    init = {"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
        "protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "soak", "version": "1"}}}
    _, session, _ = await post(json.dumps(init).encode())
    await post(b'{"jsonrpc":"2.0","method":"notifications/initialized"}', session)
    stats["open"] += 1
    n = 0
    while time.monotonic() < deadline:
        n += 1
        call = {"jsonrpc": "2.0", "id": n, "method": "tools/call",
                "params": {"name": "echo", "arguments": {"message": f"soak {n}"}}}
        try:
            status, _, body = await asyncio.wait_for(post(json.dumps(call).encode(), session), 30)
            ok = status == 200 and json.loads(body)["result"]["content"][0]["text"] == f"soak {n}"
        except (OSError, asyncio.TimeoutError, ValueError, KeyError, IndexError, asyncio.IncompleteReadError):
            ok = False
        stats["ok" if ok else "failed"] += 1
        if not ok:
            return
        await asyncio.sleep(0.5 + (n * 7919 % 1000) / 1000)  # about one call a second, spread
    writer.close()


async def soak_load(port, token, sessions, seconds, pid):
    deadline = time.monotonic() + seconds
    stats = {"open": 0, "ok": 0, "failed": 0}
    samples = []

    async def sampler():
        start = time.monotonic()
        while time.monotonic() < deadline:
            samples.append((time.monotonic() - start, rss_kib(pid), stats["ok"], stats["failed"]))
            print(f"{samples[-1][0]:6.0f} s: RSS {samples[-1][1] / 1024:.1f} MiB, {stats['open']} sessions, "
                  f"{stats['ok']} calls, {stats['failed']} failed", flush=True)
            await asyncio.sleep(10)

    tasks = []
    for _ in range(sessions):
        tasks.append(asyncio.create_task(soak_session(port, token, deadline, stats)))
        await asyncio.sleep(0.002)  # open them over two seconds, not in one burst
    await asyncio.gather(sampler(), *tasks)
    return stats, samples


def soak(minutes, sessions):
    daemon = Daemon(command=["/bin/sh", "-c", f'ulimit -Sn 1024 && exec "{BIN}" daemon'])
    try:
        daemon.cli("add", "echo", "--", str(ECHO))
        wait_for("echo to run", 30, lambda: daemon.cli("ls")[0]["status"]["state"] == "running")
        token = echo_target(daemon).headers["Authorization"].split()[1]
        # `exec`: the shell became the daemon, so its pid is the daemon's.
        stats, samples = asyncio.run(soak_load(daemon.port, token, sessions, minutes * 60, daemon.proc.pid))
    finally:
        daemon.stop()
    settled = [rss for at, rss, _, _ in samples if at >= 60] or [samples[-1][1]]
    level = settled[0]
    spread = (max(settled) - level) / level * 100
    verdict = "within 10%" if spread <= 10 and stats["failed"] == 0 else "NOT within 10%, or calls failed"
    write_section("soak", f"""
### Figures

`python3 bench/reliability.py soak --minutes {minutes:g} --sessions {sessions}`: {sessions:,} sessions,
each on its own connection, calling `echo` about once a second for {minutes:g} minutes, with the
daemon's soft open-file limit at 1,024.

- Calls answered: {stats["ok"]}; failed: {stats["failed"]}; sessions opened: {stats["open"]}.
- Daemon RSS after the first minute: {level / 1024:.1f} MiB; highest after it: {max(settled) / 1024:.1f} MiB
  (+{spread:.1f}%); at the end: {samples[-1][1] / 1024:.1f} MiB.
- **{verdict}**.
""")
    return stats["failed"] == 0 and spread <= 10


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["isolation", "soak"])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--sessions", type=int, default=1000)
    args = parser.parse_args()
    if args.what == "isolation":
        isolation()
    elif not soak(args.minutes, args.sessions):
        sys.exit(1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Gateway benchmark, written into docs/benchmarks.md.

One run, loopback only. The same fast stdio upstream (mcp-echo, from bench/echo) is put behind
Switchboard's gateway and behind the two bridges people use instead: supergateway (npm, in its
--stateful Streamable HTTP mode) and mcp-proxy (PyPI). Then, for each of the three:

- throughput and latency of tools/call with oha (a compiled load generator from crates.io), one
  initialized session, at concurrency 1 and 16; each request has its own JSON-RPC id;
- the cost of a new session (initialize, initialized, one call, close) with the shared
  bench_bridge.py raw client;
- resident memory of the bridge idle, and per idle session (200 sessions held open).

Switchboard alone is then measured by client revision: a 2025-11-25 session beside a 2026-07-28
(stateless) client, at concurrency 1 and 16.

The floor is mcp-echo's own stdio round trip, timed by a compiled client (stdio-rtt). Finally,
`switchboard connect` (the stdio shim) is timed from spawn to its first response, against
mcp-remote (npm) doing the same job in front of the same gateway.

Run with scripts/bench.sh, which builds the release binaries and installs the peers.
"""

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from common import BIN, ROOT, Daemon, rss_kib, wait_for, write_section

TOOLS = Path(os.environ.get("SWITCHBOARD_BENCH_TOOLS", ROOT / ".cache" / "bench-tools"))
OHA = TOOLS / "oha" / "bin" / "oha"
SUPERGATEWAY = TOOLS / "npm" / "node_modules" / ".bin" / "supergateway"
MCP_REMOTE = TOOLS / "npm" / "node_modules" / ".bin" / "mcp-remote"
MCP_PROXY = TOOLS / "venv" / "bin" / "mcp-proxy"
ECHO = ROOT / "target" / "release" / "mcp-echo"
STDIO_RTT = ROOT / "target" / "release" / "stdio-rtt"
SHARED_BENCH = Path(os.environ.get("SWITCHBOARD_SHARED_BENCH", ROOT.parent / "shared" / "bench"))

DURATION = os.environ.get("BENCH_DURATION", "8s")
LATENCY_ROUNDS = int(os.environ.get("BENCH_LATENCY_ROUNDS", "5"))
# supergateway starts a server process per session, so it is given fewer.
IDLE_SESSIONS = {"supergateway --stateful": 100}
IDLE_SESSIONS_DEFAULT = 1000
NEW_SESSIONS = 30
CONNECT_ROUNDS = int(os.environ.get("BENCH_ROUNDS", "7"))
PROTOCOL = "2025-06-18"
# The newest session revision, and the stateless one, compared on Switchboard alone.
NEWEST_SESSION = "2025-11-25"
STATELESS = "2026-07-28"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def children(pid):
    """All descendants of `pid`."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
    found, frontier = [], [pid]
    while frontier:
        current = frontier.pop()
        kids = [p for p, parent in parents.items() if parent == current]
        found += kids
        frontier += kids
    return found


def rss_tree_kib(pid):
    """(the process's own RSS, its descendants' RSS) in KiB."""
    kids = 0
    for child in children(pid):
        try:
            kids += rss_kib(child)
        except (OSError, AttributeError):
            continue
    return rss_kib(pid), kids


class Target:
    """A bridge (or the gateway) serving mcp-echo over Streamable HTTP."""

    def __init__(self, label, url, pid, headers=None, stop=None):
        self.label, self.url, self.pid = label, url, pid
        self.headers = headers or {}
        self._stop = stop

    def post(self, message, session=None, protocol=PROTOCOL):
        headers = {
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            **self.headers,
        }
        if session:
            headers["Mcp-Session-Id"] = session
            headers["MCP-Protocol-Version"] = protocol
        request = urllib.request.Request(self.url, json.dumps(message).encode(), headers, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            body = response.read()
            return response.headers.get("mcp-session-id"), body

    def open_session(self, protocol=PROTOCOL):
        init = {"protocolVersion": protocol, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        session, _ = self.post({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": init})
        if not session:
            sys.exit(f"{self.label} gave no Mcp-Session-Id")
        self.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, session, protocol)
        return session

    def delete(self, session):
        headers = {**self.headers, "Mcp-Session-Id": session, "MCP-Protocol-Version": PROTOCOL}
        request = urllib.request.Request(self.url, headers=headers, method="DELETE")
        try:
            urllib.request.urlopen(request, timeout=30).close()
        except urllib.error.HTTPError:
            pass

    def stop(self):
        if self._stop:
            self._stop()


def start_switchboard():
    daemon = Daemon()
    daemon.cli("add", "echo", "--", str(ECHO))
    token = subprocess.run(
        [str(BIN), "token", "create", "bench"], env=daemon.env, capture_output=True, text=True, check=True
    ).stdout.strip()
    target = Target(
        "Switchboard",
        f"http://127.0.0.1:{daemon.port}/mcp/echo",
        daemon.proc.pid,
        {"Authorization": f"Bearer {token}"},
        daemon.stop,
    )
    target.daemon, target.token = daemon, token
    # A second client under a profile: echo's tools chosen by a pattern, echo presented with a
    # description of the profile's, so a call goes through both.
    profiled = subprocess.run(
        [str(BIN), "token", "create", "bench-profiled"], env=daemon.env, capture_output=True, text=True, check=True
    ).stdout.strip()
    daemon.cli("profile", "add", "bench", "echo", "--tools", "ech*")
    daemon.cli("profile", "override", "bench", "echo", "echo", "--description", "Echoes its message.")
    daemon.cli("profile", "use", "bench", "--client", "bench-profiled")
    target.profiled = Target("Switchboard", target.url, daemon.proc.pid, {"Authorization": f"Bearer {profiled}"})
    return target


def start_process(label, command, port, path="/mcp"):
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    wait_for(f"{label} to listen", 60, lambda: listening(port))

    def stop():
        os.killpg(proc.pid, 15)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            # A peer that will not stop (mcp-proxy with many sessions open) is measured anyway.
            os.killpg(proc.pid, 9)
            proc.wait()

    return Target(label, f"http://127.0.0.1:{port}{path}", proc.pid, stop=stop)


def start_supergateway():
    port = free_port()
    command = [str(SUPERGATEWAY), "--stdio", str(ECHO), "--outputTransport", "streamableHttp",
               "--stateful", "--port", str(port), "--logLevel", "none"]
    return start_process("supergateway --stateful", command, port)


def start_mcp_proxy():
    port = free_port()
    command = [str(MCP_PROXY), "--host", "127.0.0.1", "--port", str(port), "--log-level", "WARNING", str(ECHO)]
    return start_process("mcp-proxy", command, port)


def session_headers(session, protocol=PROTOCOL):
    return {"Mcp-Session-Id": session, "MCP-Protocol-Version": protocol}


# A 2026-07-28 client has no session: each request mirrors its revision and method in headers.
STATELESS_HEADERS = {"MCP-Protocol-Version": STATELESS, "Mcp-Method": "tools/call", "Mcp-Name": "echo"}


def oha(target, concurrency, bodies, duration=DURATION, client=None):
    """oha against `target` with `client`'s headers (by default those of a new session)."""
    client = client or session_headers(target.open_session())
    command = [str(OHA), "-z", duration, "-t", "10s", "-c", str(concurrency), "--no-tui", "--output-format", "json",
               "-m", "POST", "-Z", bodies,
               "-H", "Content-Type: application/json",
               "-H", "Accept: application/json, text/event-stream"]
    for name, value in {**client, **target.headers}.items():
        command += ["-H", f"{name}: {value}"]
    if bodies.startswith("{"):
        command[command.index("-Z")] = "-d"
    out = subprocess.run(command + [target.url], capture_output=True, text=True, check=True)
    report = json.loads(out.stdout)
    codes = report.get("statusCodeDistribution", {})
    ok = codes.get("200", 0)
    # Requests still running when the time is up are cut off by oha, not failed by the bridge.
    errors = report.get("errorDistribution", {})
    failed = sum(v for k, v in codes.items() if k != "200") + sum(
        v for k, v in errors.items() if "deadline" not in k
    )
    latency = report["latencyPercentiles"]
    return {
        "rps": report["summary"]["requestsPerSec"] * ok / max(ok + failed, 1),
        "p50_us": latency["p50"] * 1e6,
        "p99_us": latency["p99"] * 1e6,
        "failed": failed,
    }


def bodies_file(count=1_000_000, meta=None):
    """tools/call requests with distinct ids, for bridges that pass ids through and cannot have
    two in flight at once. oha picks lines at random, so there are many: at c16 two requests in
    flight share an id about once in 60,000 requests (a bridge may then drop one: it times out
    after 10 s and counts as failed). With `meta`, each carries it as its `_meta` (a stateless
    request)."""
    path = Path(tempfile.mkdtemp(prefix="switchboard-bench-")) / "calls.jsonl"
    with open(path, "w") as f:
        for i in range(1, count + 1):
            params = {"name": "echo", "arguments": {"message": "hello"}}
            if meta:
                params["_meta"] = meta
            f.write(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": params}) + "\n")
    return str(path)


def stateless_bodies_file():
    """Stateless requests: ids need not differ in flight, since none share a session."""
    meta = {"io.modelcontextprotocol/protocolVersion": STATELESS, "io.modelcontextprotocol/clientCapabilities": {}}
    return bodies_file(10_000, meta)


def new_session_cost(target):
    """open+initialize p50 (ms) with bench_bridge.py's raw client, which takes no headers: the
    gateway's token is added to every request it sends."""
    sys.path.insert(0, str(SHARED_BENCH))
    import bench_bridge

    plain = bench_bridge.RawSession._headers
    bench_bridge.RawSession._headers = lambda self: {**plain(self), **target.headers}
    try:
        result = asyncio.run(bench_bridge.phase_sessions(
            {"kind": "http", "url": target.url, "client": "raw"}, NEW_SESSIONS, 60, "echo", {"message": "hi"}))
    finally:
        bench_bridge.RawSession._headers = plain
    return result["open_init"]["p50_ms"]


def counted(target):
    """Switchboard counts what each client's tools cost once its servers are up (the encoder
    is built, used and its memory given back): done first, and waited out, so the idle
    figures hold sessions only."""
    target.daemon.cli("token", "ls")
    previous = None

    def steady():
        nonlocal previous
        now = rss_kib(target.pid)
        still = previous is not None and abs(now - previous) <= 256
        previous = now
        time.sleep(0.5)
        return still

    wait_for("the daemon's memory to settle after counting tool costs", 30, steady)


def idle_memory(target):
    """Own and descendants' RSS before and after holding many sessions open (KiB)."""
    if hasattr(target, "daemon"):
        counted(target)
    time.sleep(1)  # let the warm-up settle; this is a measurement, not a test
    before = rss_tree_kib(target.pid)
    count = IDLE_SESSIONS.get(target.label, IDLE_SESSIONS_DEFAULT)
    sessions = [target.open_session() for _ in range(count)]
    time.sleep(1)
    after = rss_tree_kib(target.pid)
    for session in sessions:
        target.delete(session)
    return before, after, len(sessions)


def first_response_ms(command, env):
    times = []
    for _ in range(CONNECT_ROUNDS):
        out = subprocess.run([str(STDIO_RTT), "first", "--", *command], capture_output=True, text=True, env=env)
        if out.returncode != 0:
            sys.exit(f"stdio-rtt on {command[0]} failed: {out.stderr}")
        times.append(json.loads(out.stdout)["first_response_ms"])
    return statistics.median(times), times


def stdio_floor():
    out = subprocess.run([str(STDIO_RTT), "calls", "5000", "--", str(ECHO)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


PING = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"})


def sequential(target, bodies, answers_ping, client=None):
    """c1 in rounds, each paired with a stdio floor run right before it: on a shared machine the
    floor moves by tens of microseconds between runs, so each round is compared with its own.
    A target that answers `ping` itself also gets a ping round: the cost of the HTTP exchange
    alone."""
    rounds = []
    client = client or session_headers(target.open_session())
    for _ in range(LATENCY_ROUNDS):
        floor = stdio_floor()
        ping = oha(target, 1, PING, "1s", client) if answers_ping else None
        rounds.append((floor, ping, oha(target, 1, bodies, "2s", client)))
    median = lambda values: statistics.median(list(values))
    return {
        "rps": median(r["rps"] for _, _, r in rounds),
        "p50_us": median(r["p50_us"] for _, _, r in rounds),
        "p99_us": median(r["p99_us"] for _, _, r in rounds),
        "failed": sum(r["failed"] for _, _, r in rounds),
        "floor_p50_us": median(f["p50_us"] for f, _, _ in rounds),
        "added_p50_us": median(r["p50_us"] - f["p50_us"] for f, _, r in rounds),
        "ping_p50_us": median(p["p50_us"] for _, p, _ in rounds) if answers_ping else None,
    }


def by_revision(target, bodies):
    """Switchboard's c1 and c16 for a client of the newest session revision and a stateless one."""
    newest = session_headers(target.open_session(NEWEST_SESSION), NEWEST_SESSION)
    profiled = session_headers(target.profiled.open_session(NEWEST_SESSION), NEWEST_SESSION)
    stateless = stateless_bodies_file()
    return {
        f"{NEWEST_SESSION} session": {
            "c1": sequential(target, bodies, False, newest),
            "c16": oha(target, 16, bodies, client=newest),
        },
        f"{NEWEST_SESSION} session, client under a profile": {
            "c1": sequential(target.profiled, bodies, False, profiled),
            "c16": oha(target.profiled, 16, bodies, client=profiled),
        },
        f"{STATELESS} (stateless)": {
            "c1": sequential(target, stateless, False, STATELESS_HEADERS),
            "c16": oha(target, 16, stateless, client=STATELESS_HEADERS),
        },
    }


def measure(start, bodies):
    target = start()
    try:
        # Memory first, while the process has not yet grown pools for heavy load.
        target.delete(target.open_session())
        figures = {"memory": idle_memory(target)}
        figures["c1"] = sequential(target, bodies, answers_ping=hasattr(target, "daemon"))
        figures["c16"] = oha(target, 16, bodies)
        figures["new_session"] = new_session_cost(target)
        if hasattr(target, "daemon"):
            env = dict(target.daemon.env, SWITCHBOARD_TOKEN=target.token)
            figures["connect"] = first_response_ms([str(BIN), "connect", "echo"], env)
            remote = [str(MCP_REMOTE), target.url, "--header", f"Authorization:Bearer {target.token}"]
            figures["mcp_remote"] = first_response_ms(remote, dict(os.environ))
            figures["by_revision"] = by_revision(target, bodies)
        return target.label, figures
    finally:
        target.stop()


def profile_cost(by_revision):
    """What a profile adds to a call: c1 p50 with it minus without, beside each one's spread."""
    plain = by_revision[f"{NEWEST_SESSION} session"]["c1"]
    profiled = by_revision[f"{NEWEST_SESSION} session, client under a profile"]["c1"]
    added = profiled["p50_us"] - plain["p50_us"]
    noise = abs(plain["floor_p50_us"] - profiled["floor_p50_us"])
    return (f"{added:+.0f} µs at c1 p50 ({plain['p50_us']:.0f} → {profiled['p50_us']:.0f} µs), while the "
            f"stdio floor itself moved {noise:.0f} µs between the two runs")


def revision_rows(by_revision):
    rows = []
    for label, r in by_revision.items():
        c1, c16 = r["c1"], r["c16"]
        rows.append(
            f"| {label} | {c1['rps']:,.0f} | {c1['p50_us']:,.0f} / {c1['p99_us']:,.0f} "
            f"| {c16['rps']:,.0f} | {c16['p50_us']:,.0f} / {c16['p99_us']:,.0f} | {c1['failed'] + c16['failed']} |"
        )
    return rows


def write_report(results):
    ours = results["Switchboard"]
    peers = {k: v for k, v in results.items() if k != "Switchboard"}
    best_peer = max(peers, key=lambda k: peers[k]["c16"]["rps"])
    ratio = ours["c16"]["rps"] / peers[best_peer]["c16"]["rps"]
    added = ours["c1"]["added_p50_us"]
    connect, connect_all = ours["connect"]
    remote, _ = ours["mcp_remote"]

    def per_session(label):
        (own0, kids0), (own1, kids1), n = results[label]["memory"]
        return (own1 - own0) / n, (own1 + kids1 - own0 - kids0) / n

    sessions_of = lambda label: results[label]["memory"][2]

    rows = []
    for label, r in results.items():
        (own0, kids0), _, _ = r["memory"]
        own_per, total_per = per_session(label)
        failed = r["c1"]["failed"] + r["c16"]["failed"]
        rows.append(
            f"| {label} | {r['c1']['rps']:,.0f} | {r['c1']['p50_us']:,.0f} / {r['c1']['p99_us']:,.0f} "
            f"| {r['c16']['rps']:,.0f} | {r['c16']['p50_us']:,.0f} / {r['c16']['p99_us']:,.0f} "
            f"| {r['new_session']:.1f} | {own0 / 1024:.1f} (+{kids0 / 1024:.1f}) "
            f"| {own_per:,.1f} / {total_per:,.1f} | {failed} |"
        )
    own_session, _ = per_session("Switchboard")
    yes = lambda ok: "yes" if ok else "no"
    section = f"""
## Gateway: throughput, latency, sessions, memory, the stdio shim

Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores by `scripts/bench.sh` (bench/gateway.py),
release build, loopback only. Upstream for everyone: `mcp-echo` (bench/echo), a compiled stdio
server whose own round trip is the floor. Load: oha, one initialized session, tools/call with a
distinct JSON-RPC id per request; c16 for {DURATION}; c1 in {LATENCY_ROUNDS} rounds of 2 s, each right
after a stdio floor run (stdio-rtt, 5,000 calls), medians of the rounds. New session:
../shared/bench/bench_bridge.py's raw client (initialize + initialized + one call), p50 of
{NEW_SESSIONS}. Memory: on a fresh process, {IDLE_SESSIONS_DEFAULT} sessions opened and held idle
({IDLE_SESSIONS["supergateway --stateful"]} for supergateway, which starts a process for each).

| bridge | c1 req/s | c1 p50 / p99 µs | c16 req/s | c16 p50 / p99 µs | new session p50 ms | idle RSS MB (+children) | per idle session KiB (own / with children) | failed requests |
|---|---|---|---|---|---|---|---|---|
{chr(10).join(rows)}

mcp-echo over stdio, no bridge (stdio-rtt, during Switchboard's rounds): p50 {ours['c1']['floor_p50_us']:.1f} µs.
A `ping`, which the gateway answers itself (so: the HTTP exchange, token and session checks,
no upstream), p50 {ours['c1']['ping_p50_us']:.0f} µs.

| target | figure | target | met |
|---|---|---|---|
| throughput at c16 against the better peer ({best_peer}) | {ratio:.1f}× | ≥ 10× | {yes(ratio >= 10)} |
| p50 added over the upstream's own stdio round trip (c1 p50 − stdio p50, median of rounds) | {added:.0f} µs | ≤ 100 µs | {yes(added <= 100)} |
| `switchboard connect`: spawn → first response (median of {CONNECT_ROUNDS}) | {connect:.1f} ms (max {max(connect_all):.1f}) | ≤ 20 ms | {yes(connect <= 20)} |
| mcp-remote, same job, same gateway (median of {CONNECT_ROUNDS}) | {remote:.0f} ms | | |
| RSS per idle session, Switchboard ({sessions_of("Switchboard")} sessions) | {own_session:.1f} KiB | ≤ 50 KB | {yes(own_session <= 50)} |

The c1 latency includes the HTTP exchange itself (oha's client, loopback TCP, HTTP/1.1 parsing),
so the "added" row is everything between a client and the server, not the gateway's routing
alone: of the {added:.0f} µs, about {ours['c1']['ping_p50_us']:.0f} µs is what one HTTP request costs on this
machine when the gateway answers it without a server (the `ping` row), and the rest,
{added - ours['c1']['ping_p50_us']:.0f} µs, is the way through the session, the shared upstream and back.

By client revision, Switchboard alone, same upstream, same run (c1 in {LATENCY_ROUNDS} rounds of 2 s,
c16 for {DURATION}). A {NEWEST_SESSION} session gets each tool call's answer as an event stream
opened by a priming event (so a client can resume it); a {STATELESS} client has no session: each
request carries its revision and capabilities in `_meta`, mirrored in headers the gateway checks.

| client | c1 req/s | c1 p50 / p99 µs | c16 req/s | c16 p50 / p99 µs | failed requests |
|---|---|---|---|---|---|
{chr(10).join(revision_rows(ours["by_revision"]))}

The client under a profile (`bench/gateway.py` gives it echo's tools by a pattern and echo a
description of its own, so each call is checked against the profile and its name mapped)
against the same session without one: {profile_cost(ours["by_revision"])}.

supergateway --stateful starts one server process per session, which is why its
per-session memory with children is large; Switchboard and mcp-proxy share one process.
"""
    write_section("gateway", section)


def main():
    for tool in (BIN, ECHO, STDIO_RTT, OHA, SUPERGATEWAY, MCP_PROXY, MCP_REMOTE):
        if not Path(tool).exists():
            sys.exit(f"{tool} is missing; run scripts/bench.sh")
    bodies = bodies_file()
    results = dict(measure(start, bodies) for start in (start_switchboard, start_supergateway, start_mcp_proxy))
    print(json.dumps(results, indent=1))
    write_report(results)


if __name__ == "__main__":
    main()

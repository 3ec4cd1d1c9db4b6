#!/usr/bin/env python3
"""Scale to zero, written into docs/benchmarks.md: what on-demand servers save, and what
waking one costs.

The servers are bench/tokens.py's 20 real ones (npm and PyPI), added the way it adds them, to
a daemon on a temporary data directory; loopback only. In one run:

1. Memory, idle. A daemon with the 20 added in the default mode (`--start always`), once all
   are `running`; then a fresh daemon with the 20 added `--start on-demand`, once all are
   `sleeping` after their learning runs. Each figure is the median of SAMPLES samples over
   about 3 s of the sum, over the daemon and every descendant process (found by parent links
   in /proc/*/stat), of VmRSS (/proc/PID/status) and of Pss (/proc/PID/smaps_rollup).
2. Waking. For three servers with a cheap tool (WAKES), ROUNDS times each: the server's own
   cold start (spawned over stdio by a plain client here: initialize, initialized, the tool
   call, timed to the call's answer), then, with the server asleep under the daemon, the same
   call through the gateway's aggregate endpoint `/mcp` (`SERVER__TOOL`), timed from sending
   the tools/call to its answer. Between rounds the script waits for the server to be asleep
   again (`--idle-after IDLE_AFTER`, no process left).
3. Lists while asleep. `/mcp` tools/list with all 20 asleep: one MCP session, one warm-up,
   then LISTS requests one at a time with oha over one keep-alive connection, p50 and p95; the
   same with all 20 running for reference. Afterwards every server must still be asleep, with
   no new run recorded (`switchboard runs`) and no process added under the daemon.

Run with scripts/bench.sh, which installs the servers and oha and builds the release binary;
once it has, alone with `python3 bench/scale.py` (`--no-write` prints the section without
writing docs/benchmarks.md; SWITCHBOARD_BIN=target/debug/switchboard measures another build).
"""

import json
import os
import select
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error

import tokens  # first: it points common.BIN at SWITCHBOARD_BIN when that is set
from common import Daemon, rss_kib, write_section
from gateway import OHA, PROTOCOL, Target, children, session_headers

BIN = tokens.BIN
IDLE_AFTER = "2s"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
LISTS = int(os.environ.get("BENCH_LISTS", "200"))
SAMPLES, SAMPLE_GAP_S = 7, 0.5
# Servers woken in part 2 and the cheap call each gets: one Python server, two Node ones.
WAKES = [
    ("time", "get_current_time", {"timezone": "UTC"}),
    ("everything", "echo", {"message": "hello"}),
    ("memory", "read_graph", {}),
]
GOAL_RSS_MB, GOAL_WAKE_MS, GOAL_LIST_P50_MS = 100, 100, 2
# Deadlines (s) for states to be reached; generous, since they only bound a failure.
ADD_TIMEOUT, SLEEP_TIMEOUT, CALL_TIMEOUT = 180, 60, 120
SPECS = {name: rest for name, *rest in tokens.SERVERS}
BROKEN = ("failed", "crash_looping")


def progress(message):
    print(f"scale: {message}", file=sys.stderr, flush=True)


def yes(ok):
    return "yes" if ok else "no"


# --- processes -------------------------------------------------------------------------------


def stat_of(pid):
    """(parent, process group, start time) of `pid`, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[1]), int(fields[2]), int(fields[19])


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_daemon(daemon):
    """Stops the daemon (SIGTERM: it stops its servers), then kills whatever it left: each
    process it had started, and that process's group unless the group is this script's (the
    daemon itself runs in this script's group)."""
    tree = {pid: stat_of(pid) for pid in children(daemon.proc.pid)}
    try:
        daemon.stop()
    except subprocess.TimeoutExpired:
        daemon.proc.kill()
        daemon.proc.wait()
    own = os.getpgrp()
    for pid, seen in tree.items():
        now = stat_of(pid)
        if seen is None or now is None or now[2] != seen[2]:
            continue  # gone, or its number reused since
        for kill, target in ((os.killpg, now[1]), (os.kill, pid)):
            if kill is os.killpg and target == own:
                continue
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def smaps_kib(pid, key):
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise ValueError(f"no {key} in /proc/{pid}/smaps_rollup")


def memory(daemon, extra=()):
    """(processes, RSS KiB, PSS KiB) summed over the daemon, its descendants, and any pid of
    `extra` (with its descendants) not among them."""
    pids = {daemon.proc.pid, *children(daemon.proc.pid)}
    for pid in set(extra) - pids:
        pids |= {pid, *children(pid)}
    count = rss = pss = 0
    for pid in pids:
        try:
            own_rss, own_pss = rss_kib(pid), smaps_kib(pid, "Pss")
        except (OSError, AttributeError, ValueError):
            continue  # gone meanwhile, or a zombie
        count, rss, pss = count + 1, rss + own_rss, pss + own_pss
    return count, rss, pss


def settled_memory(daemon, extra=()):
    """Medians of SAMPLES samples of `memory`, SAMPLE_GAP_S apart."""
    samples = []
    for i in range(SAMPLES):
        if i:
            time.sleep(SAMPLE_GAP_S)  # spacing samples of a measurement, not waiting on a state
        samples.append(memory(daemon, extra))
    return {key: statistics.median(s[i] for s in samples) for i, key in enumerate(("processes", "rss", "pss"))}


# --- the daemon's servers ----------------------------------------------------------------------


def server_command(name, work):
    """(environment, argv) of one of tokens.SERVERS, as tokens.add_servers builds them."""
    _, registry, env, (program, *args) = SPECS[name]
    return ({key: value.format(work=work) for key, value in env.items()},
            [str(tokens.BINS[registry] / program), *(arg.format(work=work) for arg in args)])


def statuses(daemon):
    return {server["name"]: server["status"] for server in daemon.cli("ls")}


def wait_state(daemon, want, names, timeout, what, gone=()):
    """Polls `ls` until every server of `names` is in state `want` (and no pid of `gone` is
    alive); returns their statuses. Exits naming the laggards at the deadline, or at once
    when one has failed."""
    deadline = time.monotonic() + timeout
    while True:
        now = statuses(daemon)
        off = {name: now.get(name, {"state": "missing"}) for name in names if now.get(name, {}).get("state") != want}
        if broken := {name: s for name, s in off.items() if s["state"] in BROKEN}:
            sys.exit(f"while waiting for {what}: " + "; ".join(f"{n} {json.dumps(s)}" for n, s in broken.items())
                     + " (see `switchboard logs NAME`)")
        if not off and not any(alive(pid) for pid in gone):
            return now
        if time.monotonic() > deadline:
            left = ", ".join(f"{n} ({s['state']})" for n, s in off.items()) or "processes still alive"
            sys.exit(f"timed out after {timeout} s waiting for {what}: {left} (see `switchboard logs NAME`)")
        time.sleep(0.1)


def add_on_demand(daemon, work):
    """Adds every server as tokens.add_servers does, but on demand, then waits until each
    has learnt its lists and gone to sleep."""
    names = [name for name, *_ in tokens.SERVERS]
    for name in names:
        env, command = server_command(name, work)
        flags = [flag for key, value in env.items() for flag in ("--env", f"{key}={value}")]
        daemon.cli("add", name, *flags, "--start", "on-demand", "--idle-after", IDLE_AFTER, "--", *command)
    return wait_state(daemon, "sleeping", names, ADD_TIMEOUT, "every server to sleep after its learning run")


def newest_run(daemon, name):
    """The server's newest run record, or None before its first."""
    runs = daemon.cli("runs", name, "-n", "1")
    return runs[0] if runs else None


def run_id(run):
    return run and run["id"]


# --- MCP over the gateway ------------------------------------------------------------------------


def client(daemon, label):
    """The aggregate endpoint for a new client token, as bench/gateway.py authenticates."""
    token = subprocess.run([str(BIN), "token", "create", label], env=daemon.env, capture_output=True, text=True,
                           check=True).stdout.strip()
    return Target("Switchboard", f"http://127.0.0.1:{daemon.port}/mcp", daemon.proc.pid,
                  {"Authorization": f"Bearer {token}"})


def answer(body, want):
    """The JSON-RPC response with id `want` in a JSON body or an SSE stream."""
    text = body.decode(errors="replace")
    if text.lstrip().startswith("{"):
        messages = [text]
    else:
        messages, data = [], []
        for line in text.splitlines() + [""]:
            if line.startswith("data:"):
                data.append(line[5:].removeprefix(" "))
            elif not line and data:
                messages.append("\n".join(data))
                data = []
    for raw in messages:
        try:
            message = json.loads(raw)
        except ValueError:
            continue
        if isinstance(message, dict) and "method" not in message and message.get("id") == want:
            return message
    sys.exit(f"no answer to request {want} in: {text[:1000]}")


def rpc(target, session, method, params, request_id):
    """(ms from sending to the whole answer, the answer)."""
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    started = time.perf_counter()
    try:
        _, body = target.post(message, session)
    except urllib.error.HTTPError as e:
        sys.exit(f"{method} on {target.url}: HTTP {e.code}: {e.read()[:1000]!r}")
    elapsed = (time.perf_counter() - started) * 1000
    reply = answer(body, request_id)
    if "error" in reply or reply.get("result", {}).get("isError"):
        sys.exit(f"{method} {json.dumps(params)[:200]} failed: {json.dumps(reply)[:1000]}")
    return elapsed, reply


def list_latency(target):
    """(tool names listed, p50 ms, p95 ms) of LISTS tools/list requests one at a time, in one
    session, after one warm-up (whose answer gives the names)."""
    session = target.open_session()
    try:
        _, reply = rpc(target, session, "tools/list", {}, 1)
        names = [tool["name"] for tool in reply["result"]["tools"]]
        body = json.dumps({"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}})
        command = [str(OHA), "-n", str(LISTS), "-c", "1", "--no-tui", "--output-format", "json", "-m", "POST",
                   "-d", body, "-H", "Content-Type: application/json",
                   "-H", "Accept: application/json, text/event-stream"]
        for name, value in {**session_headers(session), **target.headers}.items():
            command += ["-H", f"{name}: {value}"]
        out = subprocess.run(command + [target.url], capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"oha failed: {out.stderr}")
        report = json.loads(out.stdout)
        codes = report.get("statusCodeDistribution", {})
        if codes.get("200", 0) != LISTS:
            sys.exit(f"tools/list: expected {LISTS} answers of HTTP 200, got {codes}, errors "
                     f"{report.get('errorDistribution')}")
        latency = report["latencyPercentiles"]
        return names, latency["p50"] * 1000, latency["p95"] * 1000
    finally:
        target.delete(session)


# --- a server's own cold start ---------------------------------------------------------------------


class Stdio:
    """A server spawned over stdio in a process group of its own, read with a deadline."""

    def __init__(self, argv, env, cwd):
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                     env=env, cwd=cwd, start_new_session=True)
        self.buffer = b""

    def send(self, message):
        self.proc.stdin.write(json.dumps(message).encode() + b"\n")
        self.proc.stdin.flush()

    def reply(self, want, deadline):
        """The response to request `want` (server requests and notifications are skipped)."""
        fd = self.proc.stdout.fileno()
        while True:
            while b"\n" in self.buffer:
                line, self.buffer = self.buffer.split(b"\n", 1)
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict) and "method" not in message and message.get("id") == want:
                    return message
            left = deadline - time.monotonic()
            if left <= 0:
                sys.exit(f"{self.proc.args[0]}: no answer to request {want} in {CALL_TIMEOUT} s")
            if select.select([fd], [], [], left)[0]:
                chunk = os.read(fd, 65536)
                if not chunk:
                    sys.exit(f"{self.proc.args[0]} closed its stdout before answering request {want}")
                self.buffer += chunk

    def kill(self):
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            try:
                stream.close()
            except OSError:
                pass


def cold_start_ms(server, tool, arguments, work):
    """Spawn → the tool call answered, with a plain stdio client: initialize, initialized, call."""
    env, argv = server_command(server, work)
    deadline = time.monotonic() + CALL_TIMEOUT
    started = time.perf_counter()
    proc = Stdio(argv, dict(os.environ, **env), work)
    try:
        init = {"protocolVersion": PROTOCOL, "capabilities": {}, "clientInfo": {"name": "bench", "version": "1"}}
        proc.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        proc.reply(1, deadline)
        proc.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        proc.send({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": arguments}})
        reply = proc.reply(2, deadline)
        elapsed = (time.perf_counter() - started) * 1000
    finally:
        proc.kill()
    if "error" in reply or reply.get("result", {}).get("isError"):
        sys.exit(f"{server} {tool} over stdio failed: {json.dumps(reply)[:1000]}")
    return elapsed


# --- the three parts ---------------------------------------------------------------------------------


def always_mode(work):
    """All 20 added as today (tokens.add_servers) and running: memory, and /mcp lists."""
    daemon = Daemon()
    try:
        progress(f"always: adding the {len(tokens.SERVERS)} servers and waiting for each to run")
        tools = tokens.add_servers(daemon, work)
        running = wait_state(daemon, "running", list(SPECS), ADD_TIMEOUT, "every server to run")
        progress("always: memory")
        mem = settled_memory(daemon, [s["pid"] for s in running.values() if s.get("pid")])
        progress(f"always: /mcp tools/list x{LISTS}")
        names, p50, p95 = list_latency(client(daemon, "bench-scale"))
        return {"memory": mem, "tools": sum(len(t) for t in tools.values()),
                "lists": {"tools": len(names), "names": names, "p50_ms": p50, "p95_ms": p95}}
    finally:
        stop_daemon(daemon)


def asleep_lists(daemon, target):
    """/mcp lists with all asleep, and whether any of them started a server."""
    before_runs = {name: newest_run(daemon, name) for name in SPECS}
    before_pids = set(children(daemon.proc.pid))
    names, p50, p95 = list_latency(target)
    now = statuses(daemon)
    woke = sorted(
        {name for name, s in now.items() if name in SPECS and s.get("state") != "sleeping"}
        | {name for name in SPECS if run_id(newest_run(daemon, name)) != run_id(before_runs[name])}
    )
    new_pids = set(children(daemon.proc.pid)) - before_pids
    return {"tools": len(names), "names": names, "p50_ms": p50, "p95_ms": p95, "woke": woke,
            "new_processes": len(new_pids)}


def wake_rounds(daemon, target, listed, work):
    """Per server of WAKES: ROUNDS own cold starts and first calls through /mcp while asleep."""
    results = {}
    for server, tool, arguments in WAKES:
        name = f"{server}__{tool}"
        if name not in listed:
            offered = ", ".join(n for n in listed if n.startswith(f"{server}__")) or "none"
            sys.exit(f"/mcp does not list {name}; {server}'s tools there: {offered}")
        rounds = []
        for i in range(ROUNDS):
            progress(f"wake: {server} round {i + 1}/{ROUNDS}")
            cold = cold_start_ms(server, tool, arguments, work)
            asleep = wait_state(daemon, "sleeping", [server], SLEEP_TIMEOUT, f"{server} to sleep")[server]
            before = newest_run(daemon, server)
            session = target.open_session()
            try:
                if (state := statuses(daemon)[server]["state"]) != "sleeping":
                    sys.exit(f"{server} is {state} after a client's initialize: opening a session woke it")
                sent_ms = time.time() * 1000
                first, _ = rpc(target, session, "tools/call", {"name": name, "arguments": arguments}, 1)
                answered_ms = sent_ms + first
                warm, _ = rpc(target, session, "tools/call", {"name": name, "arguments": arguments}, 2)
            finally:
                target.delete(session)
            run = newest_run(daemon, server)
            if not run or run_id(run) == run_id(before):
                sys.exit(f"{server} answered a call while {asleep['state']} without a new run: was it asleep?")
            split = None
            if run.get("ready_at_ms"):
                split = (run["started_at_ms"] - sent_ms, run["ready_at_ms"] - run["started_at_ms"],
                         answered_ms - run["ready_at_ms"])
            rounds.append({"cold_ms": cold, "first_ms": first, "warm_ms": warm, "split": split})
            # Asleep again, its process gone, before the next round's cold start.
            wait_state(daemon, "sleeping", [server], SLEEP_TIMEOUT, f"{server} to sleep again",
                       gone=[run["pid"]] if run.get("pid") else [])
        results[server] = {"tool": tool, "rounds": rounds}
    return results


def on_demand_mode(work):
    daemon = Daemon()
    try:
        progress(f"on demand: adding the {len(tokens.SERVERS)} servers; each learns its lists, then sleeps")
        add_on_demand(daemon, work)
        progress("on demand: memory")
        mem = settled_memory(daemon)
        # Still all asleep after sampling: the figure is of sleeping servers.
        if awake := {name: s["state"] for name, s in statuses(daemon).items() if s["state"] != "sleeping"}:
            sys.exit(f"servers woke while idle, during the memory samples: {awake}")
        target = client(daemon, "bench-scale")
        progress(f"on demand: /mcp tools/list x{LISTS}, all asleep")
        lists = asleep_lists(daemon, target)
        wakes = wake_rounds(daemon, target, lists["names"], work)
        return {"memory": mem, "lists": lists, "wakes": wakes}
    finally:
        stop_daemon(daemon)


# --- report ----------------------------------------------------------------------------------------


def median(values):
    return statistics.median(list(values))


def write_report(always, demand, commit, write=True):
    mb = lambda kib: f"{kib / 1024:,.1f} MB"
    on_rss = demand["memory"]["rss"]
    memory_rows = [
        f"| always (today's default): all {len(SPECS)} running | {always['memory']['processes']:.0f} "
        f"| {mb(always['memory']['rss'])} | {mb(always['memory']['pss'])} | | |",
        f"| on demand: all {len(SPECS)} asleep after learning their lists | {demand['memory']['processes']:.0f} "
        f"| {mb(on_rss)} | {mb(demand['memory']['pss'])} | < {GOAL_RSS_MB} MB | {yes(on_rss < GOAL_RSS_MB * 1024)} |",
    ]
    wake_rows, added_all = [], []
    for server, result in demand["wakes"].items():
        rounds = result["rounds"]
        cold, first = median(r["cold_ms"] for r in rounds), median(r["first_ms"] for r in rounds)
        added = first - cold
        added_all.append(added)
        splits = [r["split"] for r in rounds if r["split"]]
        split = (" / ".join(f"{median(s[i] for s in splits):.0f}" for i in range(3)) if splits else "n/a")
        wake_rows.append(
            f"| {server} (`{result['tool']}`) | {cold:.0f} ms (max {max(r['cold_ms'] for r in rounds):.0f}) "
            f"| {first:.0f} ms (max {max(r['first_ms'] for r in rounds):.0f}) | {added:+.0f} ms "
            f"| {yes(added <= GOAL_WAKE_MS)} | {split} | {median(r['warm_ms'] for r in rounds):.1f} ms |"
        )
    asleep, running = demand["lists"], always["lists"]
    woke = (f"none: all {len(SPECS)} still asleep, no new run recorded, no process added"
            if not asleep["woke"] and not asleep["new_processes"] else
            f"**{', '.join(asleep['woke']) or 'none by state or runs'}**, "
            f"{asleep['new_processes']} new process(es) under the daemon")
    differ = "; ".join(f"{label}: {', '.join(f'`{n}`' for n in asleep[key])}"
                       for key, label in (("missing", "missing"), ("extra", "not listed running")) if asleep[key])
    kept = (f"The list served asleep names the same {asleep['tools']} tools as the one served with every server "
            f"running" if not differ else f"The list served asleep **differs** from the one served running ({differ})")
    section = f"""
## Scale to zero

Measured {time.strftime('%Y-%m-%d')} on {os.cpu_count()} cores, Switchboard {commit} ({BIN.parent.name} build),
by `scripts/bench.sh` (bench/scale.py; once bench.sh has installed the servers, rerun alone with
`python3 bench/scale.py`). Loopback only. The servers are the {len(SPECS)} real ones of the context
cost section (bench/tokens.py, versions pinned in scripts/bench.sh), each added to a fresh
daemon the way that benchmark adds them: once in the default mode (`--start always`), once with
`--start on-demand --idle-after {IDLE_AFTER}`, where a server runs once to learn its tools, prompts and
resources (kept in SQLite), then sleeps; the gateway answers lists from what it learnt, and the
first call starts it.

Memory, idle: once every server is `running` (always) or `sleeping` (on demand) in `switchboard
ls`, {SAMPLES} samples over {(SAMPLES - 1) * SAMPLE_GAP_S:.0f} s, medians. RSS is the sum of VmRSS (/proc/PID/status) over the
daemon and all its descendant processes (its watchdog, the servers and their children), so
pages shared between processes (node's binary, shared libraries) count once per process; PSS
(Pss of /proc/PID/smaps_rollup, summed the same way) splits shared pages between the
processes that map them.

| mode | processes | RSS | PSS | goal (RSS, daemon included) | met |
|---|---|---|---|---|---|
{chr(10).join(memory_rows)}

Waking, {ROUNDS} rounds per server, medians: the server's own cold start, spawned over stdio by
a plain Python client (initialize, initialized, the call; spawn → the call's answer), against
the first call of the same tool through the gateway's aggregate endpoint `/mcp` while the
server is asleep (HTTP, a session already open; sending the tools/call → its answer). Each
round waits for the server to be asleep again, its process gone. "Added by waking" is the
difference of the medians: the HTTP exchange, and what the daemon does between the request and
the process (finding it asleep, spawning it) and after the handshake (its readiness check,
tools/list, before it forwards the call). The split is from the daemon's own record of the run
(`switchboard runs`, wall clock, millisecond resolution): request sent → process spawned /
spawned → ready / ready → answer received. The last column is a second call in the same
session, the server awake.

| server (tool) | own cold start, stdio | first call while asleep, via /mcp | added by waking | ≤ {GOAL_WAKE_MS} ms | split, ms | next call, awake |
|---|---|---|---|---|---|---|
{chr(10).join(wake_rows)}

Lists: `/mcp` tools/list with no profile (every tool of the {len(SPECS)} servers), one MCP session
({PROTOCOL}), one warm-up, then {LISTS} requests one after another with oha over one keep-alive
connection.

| servers | tools listed | p50 | p95 | goal | met |
|---|---|---|---|---|---|
| all {len(SPECS)} asleep | {asleep['tools']} | {asleep['p50_ms']:.2f} ms | {asleep['p95_ms']:.2f} ms | p50 < {GOAL_LIST_P50_MS} ms | {yes(asleep['p50_ms'] < GOAL_LIST_P50_MS)} |
| all {len(SPECS)} running (reference) | {running['tools']} | {running['p50_ms']:.2f} ms | {running['p95_ms']:.2f} ms | | |

Servers started by the {LISTS + 1} lists while asleep: {woke}. {kept}. The servers' own lists
(`switchboard tools NAME`) add up to {always['tools']} tools.

The app idle in the tray, with the daemon (goal: under 100 MB), is measured by bench/app.py in
the same `scripts/bench.sh` run: see "Desktop app" above.
"""
    if write:
        write_section("scale", section)
    else:
        print(section)


def main():
    write = "--no-write" not in sys.argv[1:]
    if unknown := [arg for arg in sys.argv[1:] if arg != "--no-write"]:
        sys.exit(f"unknown arguments: {' '.join(unknown)} (usage: bench/scale.py [--no-write])")
    needed = [BIN, OHA] + [tokens.BINS[registry] / program for _, registry, _, (program, *_) in SPECS.values()]
    if missing := [str(path) for path in needed if not path.exists()]:
        sys.exit(f"missing: {', '.join(missing)}; run scripts/bench.sh (it builds the release binary and "
                 "installs the servers and oha)")
    # A SIGTERM or SIGHUP ends the run through the `finally`s, which stop every daemon.
    for signum in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda signum, _: sys.exit(128 + signum))
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=tokens.ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-scale-") as work:
        subprocess.run(["git", "init", "--quiet", f"{work}/repo"], check=True)
        # As bench/tokens.py: the servers keep state under HOME, dummy keys go to a file.
        os.environ.update(HOME=work, SWITCHBOARD_SECRETS="file")
        always = always_mode(work)
        demand = on_demand_mode(work)
    # Whether the lists served asleep hold the same names as those served running.
    running, asleep = set(always["lists"].pop("names")), set(demand["lists"].pop("names"))
    demand["lists"]["missing"], demand["lists"]["extra"] = sorted(running - asleep), sorted(asleep - running)
    print(json.dumps({"always": always, "on_demand": demand}, indent=1), file=sys.stderr)
    write_report(always, demand, commit, write)


if __name__ == "__main__":
    main()

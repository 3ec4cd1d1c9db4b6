#!/usr/bin/env python3
"""Context cost benchmark, written into docs/benchmarks.md: what the tool lists of real MCP
servers cost a model's context, in full, under a curated profile and in search mode.

The servers: a realistic set of 20 real ones, not a registry's top 20. This machine reaches
npm and PyPI but nothing else, so a server is in only if it starts and lists its tools without
the internet and without real credentials (a dummy key where one is asked for). 16 widely used
ones from npm (official reference servers and vendors' own, each downloaded over 100k times a
month), then PyPI's official reference servers and the AWS Documentation server. Tried and
dropped: @supabase/mcp-server-supabase (its tools/list calls Supabase's API), @stripe/mcp (a
proxy to mcp.stripe.com), @modelcontextprotocol/server-redis (answers nothing until it reaches
a Redis) and mcp-server-sqlite (crashes at start with the current MCP SDK). brave-search,
sentry, puppeteer, exa and gitlab list tools here too and are left out only to keep to 20.

Method, through the switchboard CLI against a daemon on a temporary data directory: every
server is added and waited for until running; each one's tools and tokens come from
`switchboard tools NAME`. Three client tokens: one with no profile (the full list), one under a
curated profile (CURATED below), one under a profile of every server in search mode. Each
client's cost is read from `switchboard token ls`, polled until counted and stable. Tokens are
counted by Switchboard with o200k_base (tiktoken-rs): an estimate for other model families.

Run with scripts/bench.sh, which installs the servers (versions pinned there); or, once it has,
python3 bench/tokens.py (SWITCHBOARD_BIN=target/debug/switchboard to measure another build).
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import common
from common import ROOT, Daemon, wait_for, write_section

# The build under test: the release one unless SWITCHBOARD_BIN names another.
common.BIN = BIN = Path(os.environ.get("SWITCHBOARD_BIN", common.BIN))
SERVERS_DIR = Path(os.environ.get("SWITCHBOARD_BENCH_TOOLS", ROOT / ".cache" / "bench-tools")) / "servers"
BINS = {"npm": SERVERS_DIR / "npm" / "node_modules" / ".bin", "PyPI": SERVERS_DIR / "venv" / "bin"}

# name, package, registry, environment, program and arguments ({work}: a temporary folder).
# npm's in order of monthly downloads, then PyPI's.
SERVERS = [
    ("playwright", "@playwright/mcp", "npm", {}, ["playwright-mcp", "--headless"]),
    ("chrome-devtools", "chrome-devtools-mcp", "npm", {}, ["chrome-devtools-mcp", "--headless"]),
    ("context7", "@upstash/context7-mcp", "npm", {}, ["context7-mcp"]),
    ("filesystem", "@modelcontextprotocol/server-filesystem", "npm", {}, ["mcp-server-filesystem", "{work}"]),
    ("sequential-thinking", "@modelcontextprotocol/server-sequential-thinking", "npm", {},
     ["mcp-server-sequential-thinking"]),
    ("github", "@modelcontextprotocol/server-github", "npm", {"GITHUB_PERSONAL_ACCESS_TOKEN": "dummy"},
     ["mcp-server-github"]),
    ("memory", "@modelcontextprotocol/server-memory", "npm", {"MEMORY_FILE_PATH": "{work}/memory.jsonl"},
     ["mcp-server-memory"]),
    ("postgres", "@modelcontextprotocol/server-postgres", "npm", {},
     ["mcp-server-postgres", "postgresql://localhost/bench"]),
    ("azure", "@azure/mcp", "npm", {}, ["azmcp", "server", "start"]),
    ("everything", "@modelcontextprotocol/server-everything", "npm", {}, ["mcp-server-everything"]),
    ("notion", "@notionhq/notion-mcp-server", "npm", {}, ["notion-mcp-server"]),
    ("google-maps", "@modelcontextprotocol/server-google-maps", "npm", {"GOOGLE_MAPS_API_KEY": "dummy"},
     ["mcp-server-google-maps"]),
    ("tavily", "tavily-mcp", "npm", {"TAVILY_API_KEY": "dummy"}, ["tavily-mcp"]),
    ("slack", "@modelcontextprotocol/server-slack", "npm", {"SLACK_BOT_TOKEN": "dummy", "SLACK_TEAM_ID": "T0"},
     ["mcp-server-slack"]),
    ("firecrawl", "firecrawl-mcp", "npm", {"FIRECRAWL_API_KEY": "dummy"}, ["firecrawl-mcp"]),
    ("desktop-commander", "@wonderwhy-er/desktop-commander", "npm", {}, ["desktop-commander"]),
    ("fetch", "mcp-server-fetch", "PyPI", {}, ["mcp-server-fetch"]),
    ("git", "mcp-server-git", "PyPI", {}, ["mcp-server-git", "--repository", "{work}/repo"]),
    ("time", "mcp-server-time", "PyPI", {}, ["mcp-server-time"]),
    ("aws-docs", "awslabs.aws-documentation-mcp-server", "PyPI", {}, ["awslabs.aws-documentation-mcp-server"]),
]

# A coding assistant's everyday tools: a few of six servers.
CURATED = {
    "filesystem": ["read_text_file", "edit_file", "search_files"],
    "git": ["git_status", "git_diff", "git_log"],
    "github": ["get_issue", "create_pull_request"],
    "playwright": ["browser_navigate", "browser_snapshot", "browser_click"],
    "context7": ["resolve-library-id", "query-docs"],
    "fetch": ["fetch"],
}
SEARCH_TOOLS = 3  # search_tools, describe_tool, call_tool


def add_servers(daemon, work):
    """Adds every server, waits until each runs, and returns {name: its tools}."""
    for name, _, registry, env, (program, *args) in SERVERS:
        flags = [flag for key, value in env.items() for flag in ("--env", f"{key}={value.format(work=work)}")]
        command = [str(BINS[registry] / program), *(arg.format(work=work) for arg in args)]
        daemon.cli("add", name, *flags, "--", *command)
    deadline = time.monotonic() + 120
    while waiting := [s["name"] for s in daemon.cli("ls") if s["status"].get("state") != "running"]:
        if time.monotonic() > deadline:
            sys.exit(f"not running after 120 s: {', '.join(waiting)} (see `switchboard logs NAME`)")
        time.sleep(0.5)
    return {name: daemon.cli("tools", name) for name, *_ in SERVERS}


def client_costs(daemon, tools):
    """Each client's {tools, tokens}, from `token ls` once counted as expected, twice alike."""
    for client in ("full", "curated", "search"):
        daemon.cli("token", "create", client)
    for server, chosen in CURATED.items():
        daemon.cli("profile", "add", "curated", server, "--tools", ",".join(chosen))
    for name, *_ in SERVERS:
        daemon.cli("profile", "add", "search", name)
    daemon.cli("profile", "search", "search", "on")
    daemon.cli("profile", "use", "curated", "--client", "curated")
    daemon.cli("profile", "use", "search", "--client", "search")
    expected = {
        "full": sum(len(t) for t in tools.values()),
        "curated": sum(len(chosen) for chosen in CURATED.values()),
        "search": SEARCH_TOOLS,
    }
    previous = None

    def settled():
        nonlocal previous
        now = {token["name"]: token["cost"] for token in daemon.cli("token", "ls")}
        counted = all(now.get(client) and now[client]["tools"] == n for client, n in expected.items())
        alike, previous = counted and now == previous, now
        time.sleep(0.5)
        return alike and now

    return wait_for("each client's tool cost to be counted", 60, settled)


def write_report(tools, costs, commit):
    full = costs["full"]["tokens"]
    per_server = sorted(((sum(t["tokens"] for t in listed), name) for name, listed in tools.items()), reverse=True)
    packages = {name: (package, registry) for name, package, registry, *_ in SERVERS}
    rows = [f"| {name} | `{packages[name][0]}` ({packages[name][1]}) | {len(tools[name])} | {tokens:,} | |"
            for tokens, name in per_server]
    totals = {
        "full": f"**full list**: a client with no profile, all {len(SERVERS)} servers",
        "curated": f"**curated profile**: {sum(len(c) for c in CURATED.values())} tools of {len(CURATED)} servers",
        "search": "**search mode**: a profile of all the servers, search on",
    }
    for client, label in totals.items():
        cost = costs[client]
        saved = "" if client == "full" else f"{100 * (1 - cost['tokens'] / full):.1f}%"
        rows.append(f"| {label} | | {cost['tools']} | {cost['tokens']:,} | {saved} |")
    curated = "; ".join(f"{server}: {', '.join(f'`{t}`' for t in chosen)}" for server, chosen in CURATED.items())
    own_sum = sum(tokens for tokens, _ in per_server)
    npm = sum(registry == "npm" for _, _, registry, *_ in SERVERS)
    section = f"""
## Context cost: tokens of tool lists

Measured {time.strftime('%Y-%m-%d')}, Switchboard {commit} ({BIN.parent.name} build), by `scripts/bench.sh`
(bench/tokens.py; once bench.sh has installed the servers, rerun alone with `python3 bench/tokens.py`).

The servers are a realistic set of {len(SERVERS)} real ones, not the registry's 20 most installed:
this machine reaches npm and PyPI but not the internet, so only servers that start and list their
tools offline and without real credentials (a dummy key where one is asked for) could be
measured. {npm} of them are widely used servers from npm (official reference servers and vendors' own,
each downloaded over 100k times a month), then PyPI's official reference servers (fetch, git,
time) and AWS's documentation server; versions as pinned in scripts/bench.sh. Tried and dropped:
@supabase/mcp-server-supabase (its tools/list calls Supabase's API), @stripe/mcp (a proxy to
mcp.stripe.com), @modelcontextprotocol/server-redis (answers nothing until it reaches a Redis)
and mcp-server-sqlite (crashes at start with the current MCP SDK). The Brave Search, Sentry,
Puppeteer, Exa and GitLab servers list tools here too and are left out only to keep to {len(SERVERS)}.

Each server runs under one Switchboard daemon; its row is its own tool definitions
(`switchboard tools NAME`). The totals are what three clients are served, from each one's cost
in `switchboard token ls`: with no profile, every tool, each name prefixed with its server's
(so a little more than the rows' sum, {own_sum:,}); under a curated profile; and under a profile
of every server in search mode, where a client lists only search_tools, describe_tool and
call_tool (it pays instead for what it looks up: a search returns up to five definitions, by
default). Tokens are counted with o200k_base (OpenAI's recent models, tiktoken-rs) over each
definition's JSON: for other model families it is an estimate, and clients add framing of
their own.

Curated profile, a coding assistant's everyday tools: {curated}.

| server | package (registry) | tools | tokens | saved against the full list |
|---|---|---|---|---|
{chr(10).join(rows)}
"""
    write_section("tokens", section)


def main():
    needed = [BIN] + [BINS[registry] / program for _, _, registry, _, (program, *_) in SERVERS]
    if missing := [str(path) for path in needed if not path.exists()]:
        sys.exit(f"missing: {', '.join(missing)}; run scripts/bench.sh")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="switchboard-bench-tokens-") as work:
        subprocess.run(["git", "init", "--quiet", f"{work}/repo"], check=True)
        # The servers keep state under HOME (desktop-commander its config, Azure's .NET its
        # bundle): a temporary one. The dummy keys go to the daemon's data directory, not a keychain.
        os.environ.update(HOME=work, SWITCHBOARD_SECRETS="file")
        daemon = Daemon()
        try:
            tools = add_servers(daemon, work)
            unknown = [f"{server}/{tool}" for server, chosen in CURATED.items() for tool in chosen
                       if tool not in {t["name"] for t in tools[server]}]
            if unknown:
                sys.exit(f"curated tools the servers do not have: {', '.join(unknown)}")
            costs = client_costs(daemon, tools)
        finally:
            daemon.stop()
    write_report(tools, costs, commit)


if __name__ == "__main__":
    main()

"""What the benchmark scripts share: waiting, the daemon under test, memory, the report file."""

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / "target" / "release" / "switchboard"
REPORT = ROOT / "docs" / "benchmarks.md"


def wait_for(what, timeout, probe):
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.005)


class Daemon:
    """A release-build daemon on its own data directory and a free port."""

    def __init__(self, command=None):
        """`command` starts the daemon some other way (under a wrapper that sets limits, say)."""
        self.home = tempfile.mkdtemp(prefix="switchboard-bench-")
        self.env = dict(os.environ, SWITCHBOARD_HOME=self.home, SWITCHBOARD_PORT="0", SWITCHBOARD_LOG="warn")
        self.proc = subprocess.Popen(command or [str(BIN), "daemon"], env=self.env, stderr=subprocess.DEVNULL)
        wait_for("the daemon", 20, lambda: os.path.exists(os.path.join(self.home, "daemon.json")))
        with open(os.path.join(self.home, "daemon.json")) as f:
            self.port = json.load(f)["port"]

    def cli(self, *args):
        out = subprocess.run([str(BIN), "--json", *args], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            sys.exit(f"switchboard {' '.join(args)} failed: {out.stderr}\n{out.stdout}")
        return json.loads(out.stdout) if out.stdout.strip() else None

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=60)


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1))


def write_section(name, section):
    """Replaces (or appends) the `<!-- name:begin -->` ... `<!-- name:end -->` section."""
    begin, end = f"<!-- {name}:begin -->", f"<!-- {name}:end -->"
    section = f"{begin}\n{section.strip()}\n{end}"
    text = REPORT.read_text() if REPORT.exists() else "# Benchmarks\n\nFigures are written by the benchmark scripts; each section names its command.\n"
    if begin in text:
        text = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip() + "\n\n" + section + "\n"
    REPORT.write_text(text)
    print(section)

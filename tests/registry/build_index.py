"""Builds a local PyPI simple index for offline tests, with the real upload times of its files.

Usage: build_index.py UV PYTHON OUT DATE REQUIREMENT...

Resolves REQUIREMENT twice with uv (as of DATE, RFC 3339, and as of today), downloads every
pinned distribution for PYTHON into OUT/files, and writes OUT/index.json: for each project
(normalised name), its files with their sha256 and the upload time PyPI records. serve.py
--index OUT serves it as a PEP 691 / PEP 700 JSON simple index, so uv's --exclude-newer works
offline. Runs at setup time (scripts/install-test-tools.sh), the only time it needs PyPI.
"""

import json
import os
import re
import subprocess
import sys
import urllib.request


def normalise(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def main():
    uv, python, out, date, *requirements = sys.argv[1:]
    os.makedirs(f"{out}/files", exist_ok=True)
    pins = set()
    for extra in (["--exclude-newer", date], []):
        compiled = subprocess.run(
            [uv, "pip", "compile", "--quiet", "--no-header", "--no-annotate", "--python", python, *extra, "-"],
            input="\n".join(requirements),
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        resolution = [line.strip() for line in compiled.splitlines() if "==" in line]
        pins.update(resolution)
        subprocess.run(
            [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps",
             "--dest", f"{out}/files", *resolution],
            check=True,
        )
    index = {}
    for pin in sorted(pins):
        name, version = pin.split("==")
        with urllib.request.urlopen(f"https://pypi.org/pypi/{name}/json", timeout=60) as response:
            release = json.load(response)["releases"][version]
        for file in release:
            if os.path.exists(f"{out}/files/{file['filename']}"):
                index.setdefault(normalise(name), []).append({
                    "filename": file["filename"],
                    "version": version,
                    "sha256": file["digests"]["sha256"],
                    "upload-time": file["upload_time_iso_8601"],
                    "requires-python": file.get("requires_python"),
                })
    missing = [pin for pin in pins if normalise(pin.split("==")[0]) not in index]
    if missing:
        sys.exit(f"no upload time found for {missing}; rerun scripts/install-test-tools.sh")
    with open(f"{out}/index.json", "w") as f:
        json.dump(index, f, indent=1, sort_keys=True)


if __name__ == "__main__":
    main()

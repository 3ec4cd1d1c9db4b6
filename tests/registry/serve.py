"""A local MCP registry for tests, serving real registry data with the v0.1 API's shape.

Usage: serve.py ENTRIES_JSON [--files DIR] [--max-limit N] [--index DIR]

Binds 127.0.0.1 on a free port and prints `PORT <n>`. It serves:
  GET /v0.1/servers                      cursor, limit (1-100, default 30), search (substring
                                         of the name), updated_since, version=latest,
                                         include_deleted; metadata.nextCursor absent on the
                                         last page
  GET /v0.1/servers/{name}/versions      newest first, 404 for an unknown name
  GET /v0.1/servers/{name}/versions/{v}  `latest` allowed
  GET /files/{name}                      bytes from DIR (bundles)
  GET /simple/{project}/                 with --index (built by build_index.py): a PEP 691 /
                                         PEP 700 JSON simple index page, with upload times
  GET /simple-files/{filename}           its distributions
With --max-limit, pages hold at most N entries whatever `limit` asks, as a registry may.
and, for tests to change it while it runs:
  POST /_test/fault    {"mode": "malformed" | "429" | "500" | null}: every API answer fails so
  POST /_test/publish  {"server": {...}, "status"?: "active", "publishedAt"?: RFC 3339}: a new
                       latest version, published now (or at publishedAt)
  POST /_test/status   {"name", "version", "status"}: e.g. deprecate or delete a version
  GET  /_test/requests the API paths asked for so far, in order
"""

import datetime
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OFFICIAL = "io.modelcontextprotocol.registry/official"
lock = threading.Lock()
state = {"entries": [], "fault": None, "requests": [], "files": None, "clock": 0, "max_limit": 100, "index": None}


def now():
    # Strictly increasing, so `updated_since` separates changes made within one second.
    state["clock"] += 1
    base = datetime.datetime(2026, 6, 1, tzinfo=datetime.timezone.utc)
    return (base + datetime.timedelta(seconds=state["clock"])).strftime("%Y-%m-%dT%H:%M:%SZ")


def official(entry):
    return entry.setdefault("_meta", {}).setdefault(OFFICIAL, {})


def name_of(entry):
    return entry["server"]["name"]


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_HEAD(self):
        # uv asks before a download whether ranges are served (they are not).
        self.do_GET()

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        with lock:
            if url.path == "/_test/requests":
                return self.reply(200, state["requests"])
            if url.path.startswith("/files/") and state["files"]:
                name = urllib.parse.unquote(url.path[len("/files/"):])
                try:
                    with open(f"{state['files']}/{name}", "rb") as f:
                        return self.reply(200, f.read())
                except OSError:
                    return self.reply(404, {"error": "no such file"})
            if url.path.startswith("/simple") and state["index"]:
                return self.simple(urllib.parse.unquote(url.path))
            if not url.path.startswith("/v0.1/servers"):
                return self.reply(404, {"error": "not found"})
            state["requests"].append(self.path)
            fault = state["fault"]
            if fault == "malformed":
                return self.reply(200, b'{"servers": [{"server": ')
            if fault == "429":
                return self.reply(429, {"error": "rate limited"}, [("Retry-After", "30")])
            if fault == "500":
                return self.reply(500, {"error": "internal error"})
            return self.api(url.path, query)

    def simple(self, path):
        root = state["index"]
        if path.startswith("/simple-files/"):
            name = path[len("/simple-files/"):]
            if "/" in name or name.startswith("."):
                return self.reply(404, {"error": "no such file"})
            try:
                with open(f"{root}/files/{name}", "rb") as f:
                    return self.reply(200, f.read())
            except OSError:
                return self.reply(404, {"error": "no such file"})
        with open(f"{root}/index.json") as f:
            index = json.load(f)
        project = path[len("/simple/"):].strip("/")
        if project not in index:
            return self.reply(404, {"error": "no such project"})
        files = [
            {
                "filename": file["filename"],
                "url": f"/simple-files/{file['filename']}",
                "hashes": {"sha256": file["sha256"]},
                "upload-time": file["upload-time"],
                **({"requires-python": file["requires-python"]} if file.get("requires-python") else {}),
            }
            for file in index[project]
        ]
        page = {
            "meta": {"api-version": "1.1"},
            "name": project,
            "versions": sorted({file["version"] for file in index[project]}),
            "files": files,
        }
        data = json.dumps(page).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/vnd.pypi.simple.v1+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def api(self, path, query):
        parts = [urllib.parse.unquote(p) for p in path.split("/")[3:]]
        entries = state["entries"]
        if not parts:
            since = query.get("updated_since")
            with_deleted = since is not None or query.get("include_deleted") == "true"
            found = [
                e
                for e in entries
                if (with_deleted or official(e).get("status") != "deleted")
                and query.get("search", "").lower() in name_of(e).lower()
                and (since is None or official(e).get("updatedAt", "") > since)
                and (query.get("version") != "latest" or official(e).get("isLatest"))
            ]
            limit = max(1, min(state["max_limit"], int(query.get("limit", "30"))))
            start = int(query.get("cursor", "0") or "0")
            page = found[start : start + limit]
            metadata = {"count": len(page)}
            if start + limit < len(found):
                metadata["nextCursor"] = str(start + limit)
            return self.reply(200, {"servers": page, "metadata": metadata})
        name = parts[0]
        versions = [e for e in entries if name_of(e) == name]
        versions.sort(key=lambda e: official(e).get("publishedAt", ""), reverse=True)
        if not versions:
            return self.reply(404, {"error": "Server not found"})
        if len(parts) == 2 and parts[1] == "versions":
            return self.reply(200, {"servers": versions, "metadata": {"count": len(versions)}})
        if len(parts) == 3 and parts[1] == "versions":
            wanted = parts[2]
            for e in versions:
                if (wanted == "latest" and official(e).get("isLatest")) or e["server"]["version"] == wanted:
                    return self.reply(200, e)
            return self.reply(404, {"error": "Version not found"})
        return self.reply(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = json.loads(self.rfile.read(length) or b"null")
        with lock:
            if self.path == "/_test/fault":
                state["fault"] = body.get("mode")
                return self.reply(200, {"fault": state["fault"]})
            if self.path == "/_test/publish":
                server = body["server"]
                stamp = now()
                published = body.get("publishedAt", stamp)
                for e in state["entries"]:
                    if name_of(e) == server["name"] and official(e).get("isLatest"):
                        official(e)["isLatest"] = False
                        official(e)["updatedAt"] = stamp
                entry = {
                    "server": server,
                    "_meta": {
                        OFFICIAL: {
                            "status": body.get("status", "active"),
                            "publishedAt": published,
                            "updatedAt": stamp,
                            "isLatest": True,
                        }
                    },
                }
                state["entries"].append(entry)
                return self.reply(201, entry)
            if self.path == "/_test/status":
                for e in state["entries"]:
                    if name_of(e) == body["name"] and e["server"]["version"] == body["version"]:
                        official(e)["status"] = body["status"]
                        official(e)["updatedAt"] = now()
                        return self.reply(200, e)
                return self.reply(404, {"error": "no such version"})
        return self.reply(404, {"error": "not found"})


def main():
    args = sys.argv[1:]
    with open(args[0]) as f:
        state["entries"] = json.load(f)["servers"]
    if "--files" in args:
        state["files"] = args[args.index("--files") + 1]
    if "--index" in args:
        state["index"] = args[args.index("--index") + 1]
    if "--max-limit" in args:
        state["max_limit"] = int(args[args.index("--max-limit") + 1])
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    print(f"PORT {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()

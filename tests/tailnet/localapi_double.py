"""A tailscaled LocalAPI test double: status and whois for a tailnet described in a JSON file.

Usage: localapi_double.py SOCKET TAILNET.json

A logged-in tailnet cannot run in the test machine, so this double stands in for tailscaled.
Its answers are the synthetic captures in crates/tailnet/tests/fixtures (built from the
1.96.4 Go structs) with the nodes' names, addresses and users put in; it insists on the Host
header tailscaled insists on, and an unknown address gets the real daemon's 404 text. The
serve config is kept in TAILNET.json.serve (so a test can seed and read it), with the ETag
(SHA-256 of the body) and If-Match (else 412) of the real daemon.

TAILNET.json:
  {"self": NODE, "peers": [NODE, ...]}
  NODE = {"host": "homebox", "ip": "100.64.0.1", "login": "alice@example.com"}
         or with "tags": ["tag:ci"] instead of "login"
"""

import copy
import hashlib
import http.server
import json
import os
import socketserver
import sys
import urllib.parse

FIXTURES = os.path.join(os.path.dirname(__file__), "../../crates/tailnet/tests/fixtures")
SUFFIX = "tail4c1d2e.ts.net"


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as f:
        return json.load(f)


def user_id(node):
    # Stable per login; tagged nodes all belong to the "tagged-devices" user, as in Tailscale.
    login = node.get("login", "tagged-devices")
    if login == "alice@example.com":
        return 6148914691236517
    return int(hashlib.sha256(login.encode()).hexdigest()[:13], 16)


def status_node(template, node):
    out = copy.deepcopy(template)
    out.update(
        {
            "HostName": node["host"],
            "DNSName": f"{node['host']}.{SUFFIX}.",
            "UserID": user_id(node),
            "TailscaleIPs": [node["ip"]],
            "AllowedIPs": [node["ip"] + "/32"],
            "Online": node.get("online", True),
        }
    )
    if node.get("tags"):
        out["Tags"] = node["tags"]
    return out


def status(tailnet):
    running = fixture("synthetic-status-running.json")
    peer_template = next(iter(running["Peer"].values()))
    me = tailnet["self"]
    running["Self"] = status_node(running["Self"], me)
    running["TailscaleIPs"] = [me["ip"]]
    running["CertDomains"] = [f"{me['host']}.{SUFFIX}"]
    running["Peer"] = {
        f"nodekey:{i:064x}": status_node(peer_template, peer) for i, peer in enumerate(tailnet["peers"])
    }
    users = {}
    for node in [me, *tailnet["peers"]]:
        login = node.get("login", "tagged-devices")
        users[str(user_id(node))] = {"ID": user_id(node), "LoginName": login, "DisplayName": login}
    running["User"] = users
    return running


def whois(tailnet, addr):
    ip = addr.rsplit(":", 1)[0].strip("[]")
    node = next((n for n in [tailnet["self"], *tailnet["peers"]] if n["ip"] == ip), None)
    if node is None:
        return None
    answer = fixture("synthetic-whois-tagged.json" if node.get("tags") else "synthetic-whois-user.json")
    answer["Node"].update(
        {
            "Name": f"{node['host']}.{SUFFIX}.",
            "Addresses": [ip + "/32"],
            "AllowedIPs": [ip + "/32"],
            "ComputedName": node["host"],
        }
    )
    answer["Node"]["Hostinfo"]["Hostname"] = node["host"]
    if node.get("tags"):
        answer["Node"]["Tags"] = node["tags"]
    else:
        answer["Node"].pop("Tags", None)
        answer["UserProfile"].update(
            {"ID": user_id(node), "LoginName": node["login"], "DisplayName": node["login"]}
        )
    return answer


class LocalApi(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def answer(self, code, body, kind="application/json"):
        data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def serve_file(self):
        return sys.argv[2] + ".serve"

    def serve_config(self):
        try:
            with open(self.serve_file(), "rb") as f:
                return f.read()
        except FileNotFoundError:
            return b"null"

    def refused(self):
        if self.headers.get("Host") != "local-tailscaled.sock" or self.headers.get("Origin"):
            self.answer(403, "invalid localapi request\n", "text/plain")
            return True
        return False

    def do_POST(self):
        if self.refused():
            return
        if urllib.parse.urlparse(self.path).path != "/localapi/v0/serve-config":
            return self.answer(404, "404 page not found\n", "text/plain")
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        etag = hashlib.sha256(self.serve_config()).hexdigest()
        if self.headers.get("If-Match", etag).strip('"') != etag:
            return self.answer(412, {"error": "etag mismatch"})
        json.loads(body)
        with open(self.serve_file(), "wb") as f:
            f.write(body)
        self.answer(200, "", "text/plain")

    def do_GET(self):
        if self.refused():
            return
        with open(sys.argv[2]) as f:
            tailnet = json.load(f)
        url = urllib.parse.urlparse(self.path)
        if url.path == "/localapi/v0/serve-config":
            body = self.serve_config()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Etag", hashlib.sha256(body).hexdigest())
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        if url.path == "/localapi/v0/status":
            return self.answer(200, status(tailnet))
        if url.path == "/localapi/v0/whois":
            addr = urllib.parse.parse_qs(url.query).get("addr", [""])[0]
            found = whois(tailnet, addr)
            if found is None:
                return self.answer(404, "no match for IP:port", "text/plain; charset=utf-8")
            return self.answer(200, found)
        return self.answer(404, "404 page not found\n", "text/plain")

    def address_string(self):
        return "local"

    def log_message(self, format, *args):
        pass


class Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


if __name__ == "__main__":
    socket_path = sys.argv[1]
    if os.path.exists(socket_path):
        os.unlink(socket_path)
    with Server(socket_path, LocalApi) as server:
        server.serve_forever()

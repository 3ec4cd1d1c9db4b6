// A loopback HTTP proxy that adds a Switchboard client token to every request, for clients that
// cannot send one (the MCP conformance suite). It streams both ways and leaves every other
// header alone, Host included, except that its own address is mapped to the gateway's, as a
// port forward would: so Host and Origin checks still see what the client sent.
//
//   node token_proxy.mjs GATEWAY_PORT      (token in SWITCHBOARD_TOKEN; prints its own port)
import http from "node:http";

const target = Number(process.argv[2]);
const token = process.env.SWITCHBOARD_TOKEN;
if (!target || !token) {
  console.error("usage: SWITCHBOARD_TOKEN=sbc_... node token_proxy.mjs GATEWAY_PORT");
  process.exit(2);
}

const proxy = http.createServer((req, res) => {
  const own = `127.0.0.1:${proxy.address().port}`;
  const headers = { ...req.headers, authorization: `Bearer ${token}` };
  if (headers.host === own) headers.host = `127.0.0.1:${target}`;
  const upstream = http.request(
    { host: "127.0.0.1", port: target, method: req.method, path: req.url, headers },
    (answer) => {
      res.writeHead(answer.statusCode, answer.headers);
      answer.pipe(res);
    },
  );
  upstream.on("error", (e) => {
    res.writeHead(502, { "content-type": "text/plain" });
    res.end(`token proxy: ${e.message}`);
  });
  res.on("close", () => upstream.destroy());
  req.pipe(upstream);
});

proxy.listen(0, "127.0.0.1", () => console.log(proxy.address().port));

// An MCP server that requires OAuth, built with the official TypeScript SDK: it publishes its
// protected-resource metadata (RFC 9728), answers 401 with a WWW-Authenticate header that
// points at it, and accepts only JWT access tokens from ISSUER whose audience is its own URL.
// Its `whoami` tool says who the token belongs to, how many calls it has served, and whether a
// gateway client's own token ever reached it. Its `admin` tool needs scope `admin` too: without
// it the call is answered 403 `insufficient_scope` (the step-up challenge).
//
//   node protected_server.mjs PORT ISSUER [MODE]
//
// MODE serves metadata a client must refuse: `wrong-resource` (the protected-resource metadata
// names another URL), `wrong-issuer` (it names an authorization server at this server's `/as`,
// whose metadata is the real issuer's), `http-endpoint` (that metadata's issuer matches, but its
// authorization endpoint is plain http on another host). For tests, `GET /_test/seen` counts
// the requests that carried an Authorization header, and `POST /_test/refuse-next` answers the
// next request with a token 401 `invalid_token`, as a server does with a token it revoked.
//
// Prints `READY <url>` once listening on 127.0.0.1:PORT.
import express from "express";
import { createRemoteJWKSet, jwtVerify } from "jose";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { requireBearerAuth } from "@modelcontextprotocol/sdk/server/auth/middleware/bearerAuth.js";
import { mcpAuthMetadataRouter, getOAuthProtectedResourceMetadataUrl } from "@modelcontextprotocol/sdk/server/auth/router.js";

const [port, issuer, mode = "ok"] = process.argv.slice(2);
const resource = new URL(`http://127.0.0.1:${port}/mcp`);
const oauthMetadata = await (await fetch(`${issuer}/.well-known/oauth-authorization-server`)).json();
const jwks = createRemoteJWKSet(new URL(oauthMetadata.jwks_uri));
let calls = 0;
// Whether a Switchboard client token (sbc_…) ever reached this server: it never should.
let sawClientToken = false;

const verifier = {
  async verifyAccessToken(token) {
    const { payload } = await jwtVerify(token, jwks, { issuer, audience: resource.href });
    return {
      token,
      clientId: payload.client_id,
      scopes: String(payload.scope || "").split(" ").filter(Boolean),
      expiresAt: payload.exp,
      resource,
      extra: { sub: payload.sub },
    };
  },
};

let authorized = 0;
let refuseNext = false;

const app = express();
app.use(express.json());
app.use((req, res, next) => {
  if (JSON.stringify(req.headers).includes("sbc_")) sawClientToken = true;
  if (req.path === "/_test/seen") return res.json({ authorized });
  if (req.path === "/_test/refuse-next" && req.method === "POST") {
    refuseNext = true;
    return res.json({ refuseNext });
  }
  if (req.headers.authorization) {
    authorized += 1;
    if (refuseNext && req.path === "/mcp") {
      refuseNext = false;
      return res.status(401).set("WWW-Authenticate", 'Bearer error="invalid_token"').json({ error: "invalid_token" });
    }
  }
  next();
});
// Metadata a client must refuse, served before the SDK's own.
const own = `http://127.0.0.1:${port}/as`;
if (mode === "wrong-resource") {
  app.get("/.well-known/oauth-protected-resource/mcp", (req, res) =>
    res.json({ resource: `http://127.0.0.1:${port}/elsewhere`, authorization_servers: [issuer] }));
} else if (mode === "wrong-issuer" || mode === "http-endpoint") {
  app.get("/.well-known/oauth-protected-resource/mcp", (req, res) =>
    res.json({ resource: resource.href, authorization_servers: [own] }));
  const metadata = mode === "wrong-issuer"
    ? oauthMetadata
    : { ...oauthMetadata, issuer: own, authorization_endpoint: "http://auth.example/authorize" };
  app.get("/.well-known/oauth-authorization-server/as", (req, res) => res.json(metadata));
}
app.use(mcpAuthMetadataRouter({ oauthMetadata, resourceServerUrl: resource }));
const auth = requireBearerAuth({
  verifier,
  requiredScopes: ["mcp"],
  resourceMetadataUrl: getOAuthProtectedResourceMetadataUrl(resource),
});

const stepUp = (req, res, next) => {
  const wantsAdmin = req.body?.method === "tools/call" && req.body?.params?.name === "admin";
  if (wantsAdmin && !req.auth.scopes.includes("admin")) {
    const metadata = getOAuthProtectedResourceMetadataUrl(resource);
    res
      .status(403)
      .set("WWW-Authenticate", `Bearer error="insufficient_scope", scope="mcp admin", resource_metadata="${metadata}"`)
      .json({ error: "insufficient_scope" });
    return;
  }
  next();
};

app.post("/mcp", auth, stepUp, async (req, res) => {
  const server = new McpServer({ name: "protected", version: "1.0.0" });
  server.tool("whoami", "Who the access token belongs to", async (extra) => {
    calls += 1;
    return { content: [{ type: "text", text: JSON.stringify({ sub: extra.authInfo?.extra?.sub, calls, sawClientToken }) }] };
  });
  server.tool("admin", "Needs scope admin", async () => ({ content: [{ type: "text", text: "admin ok" }] }));
  const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
  res.on("close", () => transport.close());
  await server.connect(transport);
  await transport.handleRequest(req, res, req.body);
});
for (const method of ["get", "delete"]) {
  app[method]("/mcp", auth, (req, res) => res.status(405).set("Allow", "POST").end());
}

app.listen(Number(port), "127.0.0.1", () => console.log(`READY ${resource.href}`));

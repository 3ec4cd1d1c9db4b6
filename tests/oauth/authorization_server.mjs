// A real OAuth 2.1 authorization server for tests: oidc-provider (npm), configured the way MCP
// authorization needs it. Dynamic client registration (RFC 7591), PKCE S256 required, resource
// indicators (RFC 8707) with JWT access tokens for the MCP server's URL as audience, refresh
// tokens (rotated on use), revocation, and the package's development login pages (any user name
// and password sign in), which a headless browser or plain HTTP client can fill in.
//
//   node authorization_server.mjs PORT RESOURCE_URL [ACCESS_TOKEN_TTL_SECONDS]
//
// Prints `READY <issuer>` once listening on 127.0.0.1:PORT. For tests, `GET /_test/stats`
// counts the refresh-token grants it served, `POST /_test/revoke` revokes every grant (so
// their refresh tokens are refused, as when a user revokes an app), and `POST /_test/flaky`
// makes the next two refresh requests fail with 503, as an overloaded server would.
// `GET /_test/tokens` lists every access and refresh token issued, for leak scans.
import Provider from "oidc-provider";

const [port, resource, ttl = "3600"] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [],
  scopes: ["openid", "offline_access"],
  clientDefaults: {
    grant_types: ["authorization_code", "refresh_token"],
    response_types: ["code"],
    token_endpoint_auth_method: "none",
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
        return { scope: "mcp admin", audience: resource, accessTokenTTL: Number(ttl), accessTokenFormat: "jwt" };
      },
    },
  },
  // Every login may refresh, whether or not the client asked for offline_access.
  issueRefreshToken: () => true,
  rotateRefreshToken: () => true,
  findAccount: (ctx, id) => ({ accountId: id, claims: () => ({ sub: id }) }),
  loadExistingGrant: async (ctx) => {
    // Consent is implied for every client and scope: tests sign in, they do not click "allow".
    const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client.clientId, accountId: ctx.oidc.session.accountId });
    grant.addOIDCScope("openid offline_access");
    grant.addResourceScope(resource, "mcp admin");
    await grant.save();
    return grant;
  },
});
// Plain http on loopback is what a test can run; nothing leaves the machine.
provider.proxy = false;

const grants = new Set();
let refreshes = 0;
let flaky = 0;
const issued = [];
provider.on("refresh_token.saved", (token) => grants.add(token.grantId));
provider.on("grant.success", (ctx) => {
  if (ctx.oidc.params.grant_type === "refresh_token") refreshes += 1;
});
provider.use(async (ctx, next) => {
  if (ctx.path === "/_test/stats") {
    ctx.body = { refreshes };
  } else if (ctx.path === "/_test/flaky" && ctx.method === "POST") {
    flaky = 2;
    ctx.body = { flaky };
  } else if (ctx.path === "/token" && flaky > 0 && ctx.method === "POST") {
    flaky -= 1;
    ctx.status = 503;
    ctx.body = { error: "temporarily_unavailable" };
  } else if (ctx.path === "/_test/revoke" && ctx.method === "POST") {
    for (const id of grants) {
      const grant = await provider.Grant.find(id);
      if (grant) await grant.destroy();
    }
    ctx.body = { revoked: grants.size };
  } else if (ctx.path === "/_test/tokens") {
    ctx.body = { tokens: issued };
  } else {
    await next();
    if (ctx.path === "/token" && ctx.body && typeof ctx.body === "object") {
      for (const kind of ["access_token", "refresh_token"]) {
        if (ctx.body[kind]) issued.push(ctx.body[kind]);
      }
    }
  }
});

provider.listen(Number(port), "127.0.0.1", () => console.log(`READY ${issuer}`));

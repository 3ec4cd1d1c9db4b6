// A real OAuth 2.1 authorization server for tests: oidc-provider (npm), configured the way MCP
// authorization needs it. Dynamic client registration (RFC 7591), PKCE S256 required, resource
// indicators (RFC 8707) with JWT access tokens for the MCP server's URL as audience, refresh
// tokens (rotated on use), revocation, and the package's development login pages (any user name
// and password sign in), which a headless browser or plain HTTP client can fill in.
//
//   node authorization_server.mjs PORT RESOURCE_URL [ACCESS_TOKEN_TTL_SECONDS] [OPTIONS]
//
// OPTIONS: `--client ID` pre-registers a confidential client whose secret is
// $TEST_CLIENT_SECRET (never on a command line), with redirect URI http://127.0.0.1/callback on
// any port, as RFC 8252 allows native apps: for clients that do not register themselves.
// `--cimd` takes https URLs to client metadata documents as client ids
// (draft-ietf-oauth-client-id-metadata-document, MCP 2025-11-25's default). Such a URL's path is
// fetched from the origin `POST /_test/cimd-origin?origin=http://127.0.0.1:PORT` names: the
// test's stand-in for DNS and TLS in front of the daemon that serves the document.
//
// Prints `READY <issuer>` once listening on 127.0.0.1:PORT. For tests, `GET /_test/stats`
// counts the refresh-token grants it served and the clients that registered themselves,
// `POST /_test/ttl?seconds=N` sets the lifetime of access tokens issued from then on,
// `POST /_test/revoke` revokes every grant (so
// their refresh tokens are refused, as when a user revokes an app), and `POST /_test/flaky`
// makes the next two refresh requests fail with 503, as an overloaded server would.
// `GET /_test/tokens` lists every access and refresh token issued, for leak scans.
import Provider from "oidc-provider";

const [port, resource, initialTtl = "3600", ...options] = process.argv.slice(2);
const issuer = `http://127.0.0.1:${port}`;
let ttl = Number(initialTtl);
let cimdOrigin;
const clients = [];
const at = options.indexOf("--client");
if (at !== -1) {
  clients.push({
    client_id: options[at + 1],
    client_secret: process.env.TEST_CLIENT_SECRET,
    application_type: "native",
    redirect_uris: ["http://127.0.0.1/callback"],
    token_endpoint_auth_method: "client_secret_post",
  });
}

const provider = new Provider(issuer, {
  clients,
  // https client ids are fetched from the test's origin (see above); anything else as usual.
  fetch: (url, init) => {
    const target = new URL(url);
    if (cimdOrigin && target.protocol === "https:") {
      delete init.dispatcher;
      return globalThis.fetch(new URL(target.pathname + target.search, cimdOrigin), init);
    }
    return globalThis.fetch(url, init);
  },
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
    clientIdMetadataDocument: { enabled: options.includes("--cimd"), ack: "draft-02" },
    revocation: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => resource,
      useGrantedResource: () => true,
      getResourceServerInfo: (ctx, indicator) => {
        if (indicator !== resource) throw new Error(`unknown resource ${indicator}`);
        return { scope: "mcp admin", audience: resource, accessTokenTTL: ttl, accessTokenFormat: "jwt" };
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
let registrations = 0;
provider.on("registration_create.success", () => {
  registrations += 1;
});
let flaky = 0;
const issued = [];
provider.on("refresh_token.saved", (token) => grants.add(token.grantId));
provider.on("grant.success", (ctx) => {
  if (ctx.oidc.params.grant_type === "refresh_token") refreshes += 1;
});
provider.use(async (ctx, next) => {
  if (ctx.path === "/_test/stats") {
    ctx.body = { refreshes, registrations };
  } else if (ctx.path === "/_test/ttl" && ctx.method === "POST") {
    ttl = Number(ctx.query.seconds);
    ctx.body = { ttl };
  } else if (ctx.path === "/_test/cimd-origin" && ctx.method === "POST") {
    cimdOrigin = ctx.query.origin;
    ctx.body = { cimdOrigin };
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

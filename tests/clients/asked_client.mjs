// A 2026-07-28 client on the official TypeScript SDK v2: no session; a server's questions come
// back as rounds of input (`input_required`), answered by the handlers below, and the call is
// retried with the answers. Prints what it saw as JSON.
// Usage: node asked_client.mjs URL [PREFIX]   (token from SWITCHBOARD_TOKEN; PREFIX names the
// tools on the aggregate)
import { Client, StreamableHTTPClientTransport } from "@modelcontextprotocol/client";

const [url, prefix = ""] = process.argv.slice(2);
const client = new Client(
  { name: "ts-sdk-2026-test", version: "1.0.0" },
  {
    capabilities: { elicitation: { form: {} }, sampling: {} },
    versionNegotiation: { mode: { pin: "2026-07-28" } },
  },
);
client.setRequestHandler("elicitation/create", async () => ({ action: "accept", content: { name: "Grace", check: true } }));
client.setRequestHandler("sampling/createMessage", async () => ({
  role: "assistant",
  content: { type: "text", text: "sampled-by-typescript" },
  model: "test-model",
  stopReason: "endTurn",
}));
const transport = new StreamableHTTPClientTransport(new URL(url), {
  requestInit: { headers: { Authorization: `Bearer ${process.env.SWITCHBOARD_TOKEN}` } },
});
await client.connect(transport);
const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join(" ");
const elicited = await client.callTool({ name: `${prefix}trigger-elicitation-request`, arguments: {} });
const sampled = await client.callTool({ name: `${prefix}trigger-sampling-request`, arguments: { prompt: "hi", maxTokens: 10 } });
console.log(
  JSON.stringify({
    protocol: client.getNegotiatedProtocolVersion(),
    elicitation: text(elicited),
    sampling: text(sampled),
    errors: [!!elicited.isError, !!sampled.isError],
  }),
);
await client.close();
process.exit(0);

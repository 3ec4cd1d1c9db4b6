// Drives the gateway with the official MCP TypeScript SDK and prints what it saw as JSON.
// Usage: node sdk_client.mjs SCENARIO BASE_URL   (token from SWITCHBOARD_TOKEN)
// Scenarios: everything (tools, echo, sampling, elicitation, progress, subscription),
// time, aggregate, asking PATH [PREFIX], offered PATH CALLS, search PATH QUERY ARGS.
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ResourceUpdatedNotificationSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [scenario, base] = process.argv.slice(2);
const headers = { Authorization: `Bearer ${process.env.SWITCHBOARD_TOKEN}` };

async function connect(path, capabilities = {}) {
  const client = new Client({ name: "ts-sdk-test", version: "1.0.0" }, { capabilities });
  const transport = new StreamableHTTPClientTransport(new URL(base + path), { requestInit: { headers } });
  await client.connect(transport);
  return client;
}

const text = (result) => result.content.filter((c) => c.type === "text").map((c) => c.text).join(" ");

async function everything() {
  const client = await connect("/mcp/everything", { sampling: {}, elicitation: {} });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: "assistant",
    content: { type: "text", text: "sampled-by-typescript" },
    model: "test-model",
    stopReason: "endTurn",
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: "Grace", check: true } }));
  const updates = [];
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => updates.push(n.params.uri));
  const out = { server: client.getServerVersion().name };
  out.tools = (await client.listTools()).tools.map((t) => t.name).sort();
  out.echo = text(await client.callTool({ name: "echo", arguments: { message: "hello" } }));
  out.sampling = text(await client.callTool({ name: "trigger-sampling-request", arguments: { prompt: "hi", maxTokens: 10 } }));
  out.elicitation = text(await client.callTool({ name: "trigger-elicitation-request", arguments: {} }));
  const progress = [];
  await client.callTool(
    { name: "trigger-long-running-operation", arguments: { duration: 1, steps: 4 } },
    undefined,
    { onprogress: (p) => progress.push(p.progress) },
  );
  out.progress = progress;
  const uri = (await client.listResources()).resources[0].uri;
  await client.subscribeResource({ uri });
  await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
  const deadline = Date.now() + 30000;
  while (!updates.includes(uri) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  out.updated = updates.includes(uri) ? uri : null;
  await client.callTool({ name: "toggle-subscriber-updates", arguments: {} });
  await client.close();
  return out;
}

async function time() {
  const client = await connect("/mcp/time");
  const out = {
    server: client.getServerVersion().name,
    tools: (await client.listTools()).tools.map((t) => t.name).sort(),
    time: JSON.parse(text(await client.callTool({ name: "get_current_time", arguments: { timezone: "UTC" } }))).timezone,
  };
  await client.close();
  return out;
}

async function aggregate() {
  const client = await connect("/mcp");
  const out = {
    tools: (await client.listTools()).tools.map((t) => t.name).sort(),
    echo: text(await client.callTool({ name: "everything__echo", arguments: { message: "via aggregate" } })),
    time: JSON.parse(text(await client.callTool({ name: "time__get_current_time", arguments: { timezone: "UTC" } }))).timezone,
  };
  await client.close();
  return out;
}

// A 2025-11-25 session client of a 2026-07-28 server (the conformance server): the server's
// rounds of input reach it as requests. Args: PATH [PREFIX].
async function asking() {
  const [path, prefix = ""] = process.argv.slice(4);
  const client = await connect(path, { sampling: {}, elicitation: {} });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({
    role: "assistant",
    content: { type: "text", text: "sampled-by-typescript" },
    model: "test-model",
    stopReason: "endTurn",
  }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: "accept", content: { name: "Grace" } }));
  const elicited = await client.callTool({ name: `${prefix}test_elicitation`, arguments: { message: "Who are you?" } });
  const sampled = await client.callTool({ name: `${prefix}test_sampling`, arguments: { prompt: "hi" } });
  const out = {
    protocol: client.transport.protocolVersion,
    elicitation: text(elicited),
    sampling: text(sampled),
    errors: [Boolean(elicited.isError), Boolean(sampled.isError)],
  };
  await client.close();
  return out;
}

// PATH under the client's profile: the tools and prompts offered, and what each call in CALLS
// (a JSON object: tool name -> arguments) answered or was refused with.
async function offered() {
  const [path, calls] = process.argv.slice(4);
  const client = await connect(path);
  const out = { tools: (await client.listTools()).tools.map((t) => t.name).sort(), calls: {} };
  for (const [name, args] of Object.entries(JSON.parse(calls))) {
    try {
      const result = await client.callTool({ name, arguments: args });
      out.calls[name] = { error: Boolean(result.isError), text: text(result) };
    } catch (e) {
      out.calls[name] = { refused: String(e.message) };
    }
  }
  await client.close();
  return out;
}

// A client in search mode as a model would use it: finds tools by QUERY, reads the best
// match's definition, and calls it with ARGS (a JSON object).
async function search() {
  const [path, query, args] = process.argv.slice(4);
  const client = await connect(path);
  const out = { tools: (await client.listTools()).tools.map((t) => t.name).sort() };
  const found = await client.callTool({ name: "search_tools", arguments: { query } });
  out.found = (found.structuredContent?.tools ?? []).map((t) => t.name);
  if (out.found.length) {
    const best = out.found[0];
    out.described = (await client.callTool({ name: "describe_tool", arguments: { name: best } })).structuredContent;
    const called = await client.callTool({ name: "call_tool", arguments: { name: best, arguments: JSON.parse(args) } });
    out.called = { error: Boolean(called.isError), text: text(called) };
  }
  await client.close();
  return out;
}

const scenarios = { everything, time, aggregate, asking, offered, search };
console.log(JSON.stringify(await scenarios[scenario]()));
process.exit(0);

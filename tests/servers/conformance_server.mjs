// An MCP server of both protocol eras, built on the official TypeScript SDK (v2), with every
// tool, prompt and resource the MCP conformance suite's server scenarios ask for: the
// session-era ones (2025-03-26 to 2025-11-25) and the stateless 2026-07-28 ones (discover,
// per-request `_meta`, subscriptions/listen, multi round-trip requests).
//
// Over stdio (the default) it is what the gateway runs; with `--http PORT` it serves the same
// factory on 127.0.0.1 so the suite can be run against it directly, and what it passes there
// can be compared with what it passes through the gateway.
//
// Tools that need the client (elicitation, sampling, roots) return `inputRequired(...)`: a
// 2026-07-28 client answers them itself; for a session-era client the SDK turns them into
// server-to-client requests. The request state they carry is HMAC-sealed by the SDK's codec.
import { randomBytes } from "node:crypto";
import http from "node:http";
import { Readable } from "node:stream";
import {
  createMcpHandler,
  createRequestStateCodec,
  hostHeaderValidationResponse,
  inputRequired,
  localhostAllowedHostnames,
  localhostAllowedOrigins,
  MissingRequiredClientCapabilityError,
  originValidationResponse,
  ResourceNotFoundError,
  Server,
} from "@modelcontextprotocol/server";
import { serveStdio } from "@modelcontextprotocol/server/stdio";

// A 1x1 red PNG.
const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==";

/** A short silent 8 kHz mono WAV. */
function wav() {
  const samples = 8;
  const b = Buffer.alloc(44 + samples);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + samples, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(1, 22);
  b.writeUInt32LE(8000, 24);
  b.writeUInt32LE(8000, 28);
  b.writeUInt16LE(1, 32);
  b.writeUInt16LE(8, 34);
  b.write("data", 36);
  b.writeUInt32LE(samples, 40);
  b.fill(128, 44);
  return b.toString("base64");
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (t) => ({ content: [{ type: "text", text: t }] });
const noArgs = { type: "object", properties: {} };
const form = (message, properties, required) => ({
  method: "elicitation/create",
  params: { message, requestedSchema: { type: "object", properties, ...(required && { required }) } },
});
const askName = (message = "What is your name?") => form(message, { name: { type: "string" } }, ["name"]);
const sample = (prompt, maxTokens) => ({
  method: "sampling/createMessage",
  params: { messages: [{ role: "user", content: { type: "text", text: prompt } }], maxTokens },
});
const listRoots = { method: "roots/list", params: {} };

/** Request state: sealed (HMAC) with a key of this process; one process serves every round. */
const states = createRequestStateCodec({ key: randomBytes(32) });

// ---- what the lists hold (the trigger tools add to them) ----

const tools = [
  { name: "test_simple_text", description: "Returns simple text", inputSchema: noArgs },
  { name: "test_image_content", description: "Returns an image", inputSchema: noArgs },
  { name: "test_audio_content", description: "Returns audio", inputSchema: noArgs },
  { name: "test_embedded_resource", description: "Returns an embedded resource", inputSchema: noArgs },
  { name: "test_multiple_content_types", description: "Returns text, image and resource", inputSchema: noArgs },
  { name: "test_tool_with_logging", description: "Logs three times while it runs", inputSchema: noArgs },
  { name: "test_logging_tool", description: "Logs once, only when the request asks for logs", inputSchema: noArgs },
  { name: "test_tool_with_progress", description: "Reports progress three times", inputSchema: noArgs },
  { name: "test_error_handling", description: "Always fails", inputSchema: noArgs },
  { name: "test_reconnection", description: "Answers after a pause", inputSchema: noArgs },
  {
    name: "test_sampling",
    description: "Asks the client's model",
    inputSchema: { type: "object", properties: { prompt: { type: "string" } }, required: ["prompt"] },
  },
  {
    name: "test_elicitation",
    description: "Asks the user",
    inputSchema: { type: "object", properties: { message: { type: "string" } }, required: ["message"] },
  },
  { name: "test_elicitation_sep1034_defaults", description: "Asks with defaults", inputSchema: noArgs },
  { name: "test_elicitation_sep1330_enums", description: "Asks with every enum form", inputSchema: noArgs },
  { name: "test_missing_capability", description: "Needs the client's sampling", inputSchema: noArgs },
  { name: "test_streaming_elicitation", description: "Reports progress, then asks the user", inputSchema: noArgs },
  { name: "test_trigger_tool_change", description: "Adds a tool", inputSchema: noArgs },
  { name: "test_trigger_prompt_change", description: "Adds a prompt", inputSchema: noArgs },
  { name: "test_trigger_resource_update", description: "Updates test://watched-resource", inputSchema: noArgs },
  {
    name: "test_x_mcp_header",
    description: "Mirrors its region argument into a header",
    inputSchema: {
      type: "object",
      properties: {
        region: { type: "string", description: "Mirrored into Mcp-Param-Region", "x-mcp-header": "Region" },
        level: { type: "integer" },
      },
    },
  },
  ...[
    "elicitation",
    "sampling",
    "list_roots",
    "request_state",
    "multiple_inputs",
    "multi_round",
    "tampered_state",
    "capabilities",
  ].map((kind) => ({
    name: `test_input_required_result_${kind}`,
    description: `Multi round-trip: ${kind.replaceAll("_", " ")}`,
    inputSchema: noArgs,
  })),
  {
    name: "json_schema_2020_12_tool",
    description: "Tool with JSON Schema 2020-12 features",
    // Reference, composition and conditional keywords, which must reach the client intact.
    inputSchema: {
      $schema: "https://json-schema.org/draft/2020-12/schema",
      type: "object",
      $defs: {
        address: {
          $anchor: "addressDef",
          type: "object",
          properties: { street: { type: "string" }, city: { type: "string" } },
        },
      },
      properties: {
        name: { type: "string" },
        address: { $ref: "#/$defs/address" },
        contactMethod: { type: "string", enum: ["phone", "email"] },
        phone: { type: "string" },
        email: { type: "string" },
      },
      allOf: [{ anyOf: [{ required: ["phone"] }, { required: ["email"] }] }],
      if: { properties: { contactMethod: { const: "phone" } }, required: ["contactMethod"] },
      then: { required: ["phone"] },
      else: { required: ["email"] },
      additionalProperties: false,
    },
  },
];

const prompts = [
  { name: "test_simple_prompt", description: "A prompt without arguments" },
  {
    name: "test_prompt_with_arguments",
    description: "A prompt with two arguments",
    arguments: [
      { name: "arg1", description: "First test argument", required: true },
      { name: "arg2", description: "Second test argument", required: true },
    ],
  },
  {
    name: "test_prompt_with_embedded_resource",
    description: "A prompt embedding a resource",
    arguments: [{ name: "resourceUri", description: "URI of the resource to embed", required: true }],
  },
  { name: "test_prompt_with_image", description: "A prompt with an image" },
  { name: "test_input_required_result_prompt", description: "A prompt that asks the user first" },
];

const resources = [
  { uri: "test://static-text", name: "static-text", description: "A static text resource", mimeType: "text/plain" },
  { uri: "test://static-binary", name: "static-binary", description: "A static PNG", mimeType: "image/png" },
  { uri: "test://watched-resource", name: "watched-resource", description: "A resource to subscribe to", mimeType: "text/plain" },
];

const templates = [
  { uriTemplate: "test://template/{id}/data", name: "template", description: "Data by id", mimeType: "application/json" },
];

// ---- how changes reach listeners: a session's own connection, or every listen stream ----

/** Set when serving HTTP: publishes list changes to every open `subscriptions/listen`. */
let httpNotify = null;
/** The instances serving stdio connections (one per connection). */
const live = new Set();

function toolsChanged() {
  httpNotify?.toolsChanged();
  for (const server of live) void server.sendToolListChanged().catch(() => undefined);
}

function resourceUpdated(uri) {
  httpNotify?.resourceUpdated(uri);
  for (const server of live) void server.sendResourceUpdated({ uri }).catch(() => undefined);
}

function promptsChanged() {
  httpNotify?.promptsChanged();
  for (const server of live) void server.sendPromptListChanged().catch(() => undefined);
}

// ---- the handlers ----

/** The client's capabilities for this request: its `_meta` (2026-07-28) or its `initialize`. */
/** A member of a 2026-07-28 request's envelope. The SDK (2.4.0) keys it by short names over
 * HTTP and by wire keys over stdio. */
function envelopeMember(ctx, name) {
  const envelope = ctx.mcpReq.envelope ?? {};
  return envelope[name] ?? envelope[`io.modelcontextprotocol/${name}`];
}

function clientCaps(server, ctx) {
  return envelopeMember(ctx, "clientCapabilities") ?? server.getClientCapabilities() ?? {};
}

async function callTool(server, request, ctx) {
  const args = request.params.arguments ?? {};
  const answers = ctx.mcpReq.inputResponses ?? {};
  const log = (data) => ctx.mcpReq.notify({ method: "notifications/message", params: { level: "info", data } });
  switch (request.params.name) {
    case "test_simple_text":
      return text("This is a simple text response for testing.");
    case "test_image_content":
      return { content: [{ type: "image", data: PNG, mimeType: "image/png" }] };
    case "test_audio_content":
      return { content: [{ type: "audio", data: wav(), mimeType: "audio/wav" }] };
    case "test_embedded_resource":
      return {
        content: [
          {
            type: "resource",
            resource: { uri: "test://embedded-resource", mimeType: "text/plain", text: "This is an embedded resource content." },
          },
        ],
      };
    case "test_multiple_content_types":
      return {
        content: [
          { type: "text", text: "Multiple content types test:" },
          { type: "image", data: PNG, mimeType: "image/png" },
          {
            type: "resource",
            resource: {
              uri: "test://mixed-content-resource",
              mimeType: "application/json",
              text: JSON.stringify({ test: "data", value: 123 }),
            },
          },
        ],
      };
    case "test_tool_with_logging":
      for (const [i, data] of ["Tool execution started", "Tool processing data", "Tool execution completed"].entries()) {
        if (i > 0) await sleep(50);
        await log(data);
      }
      return text("Logged three messages.");
    case "test_logging_tool":
      // A 2026-07-28 request gets logs only when its `_meta` names a level.
      if (!ctx.mcpReq.envelope || envelopeMember(ctx, "logLevel")) await log("Logging tool ran");
      return text("Logging tool complete");
    case "test_tool_with_progress": {
      const progressToken = request.params._meta?.progressToken;
      for (const progress of [0, 50, 100]) {
        if (progress > 0) await sleep(50);
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress, total: 100 } });
        }
      }
      return text("Progress reported.");
    }
    case "test_error_handling":
      return { isError: true, content: [{ type: "text", text: "This tool intentionally returns an error for testing" }] };
    case "test_reconnection":
      await sleep(100);
      return text("Reconnection test completed.");
    case "test_sampling": {
      const answer = answers.answer;
      if (!answer) return inputRequired({ inputRequests: { answer: sample(args.prompt, 100) } });
      return text(`LLM response: ${answer.content?.text ?? JSON.stringify(answer.content)}`);
    }
    case "test_elicitation":
      return elicited(answers, args.message, {
        username: { type: "string", description: "User's response" },
        email: { type: "string", description: "User's email address" },
      }, ["username", "email"]);
    case "test_elicitation_sep1034_defaults":
      return elicited(answers, "Please review these values", {
        name: { type: "string", default: "John Doe" },
        age: { type: "integer", default: 30 },
        score: { type: "number", default: 95.5 },
        status: { type: "string", enum: ["active", "inactive", "pending"], default: "active" },
        verified: { type: "boolean", default: true },
      });
    case "test_elicitation_sep1330_enums":
      return elicited(answers, "Please choose", ENUMS);
    case "test_missing_capability":
      if (!clientCaps(server, ctx).sampling) {
        throw new MissingRequiredClientCapabilityError({ requiredCapabilities: { sampling: {} } });
      }
      if (!answers.capability_sample) {
        return inputRequired({ inputRequests: { capability_sample: sample("Need sampling to continue", 1) } });
      }
      return text("Success");
    case "test_streaming_elicitation":
      if (!answers.confirm) {
        const progressToken = request.params._meta?.progressToken;
        if (progressToken !== undefined) {
          await ctx.mcpReq.notify({ method: "notifications/progress", params: { progressToken, progress: 50, total: 100 } });
        }
        return inputRequired({ inputRequests: { confirm: form("Continue?", { ok: { type: "boolean" } }, ["ok"]) } });
      }
      return text("Streaming elicitation complete");
    case "test_trigger_tool_change":
      if (!tools.some((t) => t.name === "test_added_tool")) {
        tools.push({ name: "test_added_tool", description: "Added by test_trigger_tool_change", inputSchema: noArgs });
      }
      toolsChanged();
      return text("test_added_tool");
    case "test_trigger_prompt_change":
      if (!prompts.some((p) => p.name === "test_added_prompt")) {
        prompts.push({ name: "test_added_prompt", description: "Added by test_trigger_prompt_change" });
      }
      promptsChanged();
      return text("test_added_prompt");
    case "test_trigger_resource_update":
      resourceUpdated("test://watched-resource");
      return text("test://watched-resource");
    case "test_added_tool":
      return text("test_added_tool");
    case "test_x_mcp_header":
      return text(`region=${args.region ?? "<none>"}`);
    case "json_schema_2020_12_tool":
      return text(`Received ${JSON.stringify(args)}`);
    default:
      if (request.params.name.startsWith("test_input_required_result_")) return multiRound(server, request, ctx);
      throw new Error(`unknown tool ${request.params.name}`);
  }
}

const ENUMS = {
  untitledSingle: { type: "string", enum: ["option1", "option2", "option3"] },
  titledSingle: {
    type: "string",
    oneOf: [
      { const: "value1", title: "First Option" },
      { const: "value2", title: "Second Option" },
      { const: "value3", title: "Third Option" },
    ],
  },
  legacyEnum: { type: "string", enum: ["opt1", "opt2", "opt3"], enumNames: ["Option One", "Option Two", "Option Three"] },
  untitledMulti: { type: "array", items: { type: "string", enum: ["option1", "option2", "option3"] } },
  titledMulti: {
    type: "array",
    items: {
      anyOf: [
        { const: "value1", title: "First Choice" },
        { const: "value2", title: "Second Choice" },
        { const: "value3", title: "Third Choice" },
      ],
    },
  },
};

/** Asks the user once (key `answer`), then says what came back. */
function elicited(answers, message, properties, required) {
  const answer = answers.answer;
  if (!answer) return inputRequired({ inputRequests: { answer: form(message, properties, required) } });
  return text(`Elicitation completed: action=${answer.action}, content=${JSON.stringify(answer.content ?? {})}`);
}

/** The multi round-trip tools of the 2026-07-28 scenarios, with the keys the suite expects. */
async function multiRound(server, request, ctx) {
  const answers = ctx.mcpReq.inputResponses ?? {};
  const state = ctx.mcpReq.requestState();
  const mint = (payload) => states.mint(payload);
  switch (request.params.name) {
    case "test_input_required_result_elicitation":
      if (!answers.user_name) return inputRequired({ inputRequests: { user_name: askName() } });
      return text(`Hello, ${answers.user_name.content?.name ?? "stranger"}!`);
    case "test_input_required_result_sampling":
      if (!answers.capital_question) {
        return inputRequired({ inputRequests: { capital_question: sample("What is the capital of France?", 100) } });
      }
      return text(`The model said: ${answers.capital_question.content?.text ?? ""}`);
    case "test_input_required_result_list_roots":
      if (!answers.client_roots) return inputRequired({ inputRequests: { client_roots: listRoots } });
      return text(`Roots: ${(answers.client_roots.roots ?? []).map((r) => r.uri).join(", ")}`);
    case "test_input_required_result_request_state":
    case "test_input_required_result_tampered_state":
      if (!answers.confirm || state?.round !== 1) {
        return inputRequired({
          inputRequests: { confirm: form("Please confirm", { ok: { type: "boolean" } }, ["ok"]) },
          requestState: await mint({ round: 1 }),
        });
      }
      return text("state-ok");
    case "test_input_required_result_multiple_inputs": {
      const keys = ["user_name", "greeting", "client_roots"];
      if (state?.round !== 1 || !keys.every((k) => answers[k])) {
        return inputRequired({
          inputRequests: { user_name: askName(), greeting: sample("Generate a greeting", 50), client_roots: listRoots },
          requestState: await mint({ round: 1 }),
        });
      }
      return text(`All inputs received for ${answers.user_name.content?.name ?? "stranger"}`);
    }
    case "test_input_required_result_multi_round":
      if (state?.round === 2 && answers.step2) return text(`Done: ${state.name}, ${answers.step2.content?.color}`);
      if (state?.round === 1 && answers.step1) {
        return inputRequired({
          inputRequests: { step2: form("Step 2: What is your favorite color?", { color: { type: "string" } }, ["color"]) },
          requestState: await mint({ round: 2, name: answers.step1.content?.name }),
        });
      }
      return inputRequired({ inputRequests: { step1: askName("Step 1: What is your name?") }, requestState: await mint({ round: 1 }) });
    case "test_input_required_result_capabilities": {
      // Only what this request's client can answer.
      const caps = clientCaps(server, ctx);
      const wanted = {
        ...(caps.elicitation && { user_name: askName() }),
        ...(caps.sampling && { greeting: sample("Generate a greeting", 50) }),
        ...(caps.roots && { client_roots: listRoots }),
      };
      const missing = Object.keys(wanted).filter((k) => !answers[k]);
      if (missing.length) return inputRequired({ inputRequests: Object.fromEntries(missing.map((k) => [k, wanted[k]])) });
      return text(`Answered: ${Object.keys(wanted).join(", ") || "nothing asked"}`);
    }
    default:
      throw new Error(`unknown tool ${request.params.name}`);
  }
}

function readResource(request) {
  const uri = request.params.uri;
  if (uri === "test://static-text") {
    return { contents: [{ uri, mimeType: "text/plain", text: "This is the content of the static text resource." }] };
  }
  if (uri === "test://static-binary") return { contents: [{ uri, mimeType: "image/png", blob: PNG }] };
  if (uri === "test://watched-resource") {
    return { contents: [{ uri, mimeType: "text/plain", text: "Watched resource content." }] };
  }
  const templated = /^test:\/\/template\/([^/]+)\/data$/.exec(uri);
  if (templated) {
    const id = templated[1];
    return { contents: [{ uri, mimeType: "application/json", text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }] };
  }
  throw new ResourceNotFoundError(uri);
}

function getPrompt(request, ctx) {
  const args = request.params.arguments ?? {};
  const user = (content) => ({ role: "user", content });
  switch (request.params.name) {
    case "test_simple_prompt":
      return { messages: [user({ type: "text", text: "This is a simple prompt for testing." })] };
    case "test_prompt_with_arguments":
      return { messages: [user({ type: "text", text: `Prompt with arguments: arg1='${args.arg1}', arg2='${args.arg2}'` })] };
    case "test_prompt_with_embedded_resource":
      return {
        messages: [
          user({ type: "resource", resource: { uri: args.resourceUri, mimeType: "text/plain", text: "Embedded resource content for testing." } }),
          user({ type: "text", text: "Please process the embedded resource above." }),
        ],
      };
    case "test_prompt_with_image":
      return {
        messages: [user({ type: "image", data: PNG, mimeType: "image/png" }), user({ type: "text", text: "Please analyze the image above." })],
      };
    case "test_added_prompt":
      return { messages: [user({ type: "text", text: "test_added_prompt" })] };
    case "test_input_required_result_prompt": {
      const answer = ctx.mcpReq.inputResponses?.user_context;
      if (!answer) {
        return inputRequired({
          inputRequests: { user_context: form("What context should the prompt use?", { context: { type: "string" } }, ["context"]) },
        });
      }
      return { messages: [user({ type: "text", text: `Use this context: ${answer.content?.context ?? ""}` })] };
    }
    default:
      throw new Error(`unknown prompt ${request.params.name}`);
  }
}

/** One server instance: a stdio connection's, or one HTTP request's. */
function factory() {
  const server = new Server(
    { name: "conformance-upstream", version: "2.0.0" },
    {
      capabilities: {
        tools: { listChanged: true },
        prompts: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        logging: {},
        completions: {},
      },
      requestState: { verify: states.verify },
    },
  );
  server.setRequestHandler("tools/list", () => ({ tools }));
  server.setRequestHandler("tools/call", async (request, ctx) => {
    const result = await callTool(server, request, ctx);
    return result.resultType === "input_required" ? result : server.projectCallToolResult(result, undefined);
  });
  server.setRequestHandler("resources/list", () => ({ resources }));
  server.setRequestHandler("resources/templates/list", () => ({ resourceTemplates: templates }));
  server.setRequestHandler("resources/read", readResource);
  server.setRequestHandler("resources/subscribe", () => ({}));
  server.setRequestHandler("resources/unsubscribe", () => ({}));
  server.setRequestHandler("logging/setLevel", () => ({}));
  server.setRequestHandler("completion/complete", (request) => {
    const values = ["paris", "park", "party"].filter((v) => v.startsWith(request.params.argument.value));
    return { completion: { values, total: values.length, hasMore: false } };
  });
  server.setRequestHandler("prompts/list", () => ({ prompts }));
  server.setRequestHandler("prompts/get", getPrompt);
  live.add(server);
  server.onclose = () => live.delete(server);
  return server;
}

/** Serves `handler` (web-standard) on 127.0.0.1:`port` with node's http. */
function listen(handler, port) {
  const node = http.createServer(async (req, res) => {
    try {
      const body = req.method === "GET" || req.method === "HEAD" ? undefined : Readable.toWeb(req);
      const request = new Request(`http://${req.headers.host}${req.url}`, {
        method: req.method,
        headers: req.headers,
        body,
        duplex: "half",
      });
      const refused =
        hostHeaderValidationResponse(request, localhostAllowedHostnames()) ??
        originValidationResponse(request, localhostAllowedOrigins());
      const response = refused ?? (await handler.fetch(request));
      res.writeHead(response.status, Object.fromEntries(response.headers));
      if (response.body) Readable.fromWeb(response.body).pipe(res);
      else res.end();
      req.on("close", () => response.body?.cancel().catch(() => undefined));
    } catch (error) {
      res.writeHead(500).end(String(error));
    }
  });
  node.listen(port, "127.0.0.1", () => console.log(`http://127.0.0.1:${node.address().port}/mcp`));
}

const at = process.argv.indexOf("--http");
if (at >= 0) {
  const handler = createMcpHandler(factory);
  httpNotify = handler.notify;
  listen(handler, Number(process.argv[at + 1] ?? 0));
} else {
  serveStdio(factory);
}

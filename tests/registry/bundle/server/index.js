// A minimal stdio MCP server with one tool, written without dependencies so a bundle can
// carry it as a single file.
const readline = require("readline");

const send = (message) => process.stdout.write(JSON.stringify(message) + "\n");

readline.createInterface({ input: process.stdin }).on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch {
    return;
  }
  if (request.id === undefined) return;
  const results = {
    initialize: () => ({
      protocolVersion: request.params.protocolVersion,
      capabilities: { tools: {} },
      serverInfo: { name: "bundle-demo", version: "1.0.0" },
    }),
    "tools/list": () => ({
      tools: [{ name: "greet", description: "Says the greeting", inputSchema: { type: "object" } }],
    }),
    "tools/call": () => ({ content: [{ type: "text", text: process.env.GREETING || "" }] }),
    ping: () => ({}),
  };
  const result = results[request.method];
  if (result) {
    send({ jsonrpc: "2.0", id: request.id, result: result() });
  } else {
    send({ jsonrpc: "2.0", id: request.id, error: { code: -32601, message: "no such method" } });
  }
});

// The dashboard's main flow on every page, in a real browser (Debian's chromium, headless,
// driven by playwright-core) against a real daemon that crates/cli/tests/dashboard.rs set up:
// a running `time` server, one tool call in the history, a local registry publishing
// server-time with a secret input, and a tailnet double. Screenshots of every page go to
// SHOTS. Each step says what it expected; the first that fails ends the run with its name.
//
// Usage: node dashboard.mjs SIGN_IN_URL SHOTS_DIR CURSOR_CONFIG
// Environment: DASHBOARD_SECRET (a value no page may show), DASHBOARD_GATEWAY (the gateway's
// URL for `time`) and DASHBOARD_CLIENT_TOKEN (a client's token for it), DASHBOARD_TIME_SERVER
// (the mcp-server-time program).
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const [signInUrl, shots, cursorConfig] = process.argv.slice(2);
const base = signInUrl.split("#")[0];
const TIMEOUT = 30_000;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
  // Not the test's D-Bus session (it holds the keychain): chromium would wake desktop portals.
  env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: "disabled:" },
});
// bypassCSP: only so axe-core can be injected; the policy itself is checked from Rust.
const context = await browser.newContext({ viewport: { width: 1280, height: 820 }, colorScheme: "light", bypassCSP: true });
const page = await context.newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

// Every API request the page makes, by path, so steps can count them.
const requests = [];
page.on("request", (r) => requests.push({ path: new URL(r.url()).pathname, at: Date.now() }));
const countOf = (path, since) => requests.filter((r) => r.path === path && r.at >= since).length;
/** Waits until the page has polled the server list `n` more times since `since`. */
async function polls(n, since) {
  const deadline = Date.now() + 20_000 * n;
  while (countOf("/api/v1/servers", since) < n) {
    assert.ok(Date.now() < deadline, `the page polled /servers only ${countOf("/api/v1/servers", since)} times, waiting for ${n}`);
    await page.waitForTimeout(200);
  }
}

/** One tool call through the gateway by the official TypeScript SDK, as a client would. */
async function callThroughGateway() {
  const transport = new StreamableHTTPClientTransport(new URL(process.env.DASHBOARD_GATEWAY), {
    requestInit: { headers: { Authorization: `Bearer ${process.env.DASHBOARD_CLIENT_TOKEN}` } },
  });
  const client = new Client({ name: "dashboard-test", version: "1.0.0" });
  await client.connect(transport);
  await client.callTool({ name: "get_current_time", arguments: { timezone: "Europe/Paris" } });
  await client.close();
}

/** The tools the client's token is offered on `time`'s endpoint, by the TypeScript SDK. */
async function toolsThroughGateway() {
  const transport = new StreamableHTTPClientTransport(new URL(process.env.DASHBOARD_GATEWAY), {
    requestInit: { headers: { Authorization: `Bearer ${process.env.DASHBOARD_CLIENT_TOKEN}` } },
  });
  const client = new Client({ name: "dashboard-test", version: "1.0.0" });
  await client.connect(transport);
  const { tools } = await client.listTools();
  await client.close();
  return tools.map((t) => t.name).sort();
}

// Accessibility: axe-core on each page as it is shown; serious and critical findings fail the
// run at the end, all of them listed.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const findings = [];
async function audit(label) {
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: axeSource });
  const theme = await page.evaluate(() => document.documentElement.dataset.theme);
  const violations = await page.evaluate(async () => {
    const result = await window.axe.run(document, { resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join("; ")}`);
  });
  for (const v of violations) findings.push(`${label}, ${theme}: ${v}`);
}

let current = "start";
async function step(name, body) {
  current = name;
  console.log(`- ${name}`);
  await body();
}
const text = (selector) => page.locator(selector).first().innerText({ timeout: TIMEOUT });
const shot = (name) => page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
async function row(attribute, value) {
  const locator = page.locator(`tr[${attribute}="${value}"]`);
  await locator.waitFor({ timeout: TIMEOUT });
  return locator;
}
async function stateOf(server, wanted) {
  const badge = (await row("data-server", server)).getByTestId("state");
  await page.waitForFunction(
    ([el, w]) => el?.textContent?.trim() === w,
    [await badge.elementHandle(), wanted],
    { timeout: TIMEOUT },
  );
}

try {
  await step("the sign-in link signs the browser in and lands on Servers", async () => {
    await page.goto(signInUrl);
    await stateOf("time", "running");
    assert.equal(new URL(page.url()).hash, "#/servers", "the spent code is removed from the address");
  });

  await step("a used sign-in link is refused and says how to get a new one", async () => {
    const other = await browser.newPage();
    await other.goto(signInUrl);
    await other.getByText("used already").waitFor({ timeout: TIMEOUT });
    await other.getByText("switchboard open", { exact: true }).waitFor({ timeout: TIMEOUT });
    await other.close();
  });

  await step("Servers: the list shows state, tools and usage", async () => {
    const time = await row("data-server", "time");
    const cells = await time.locator("td").allInnerTexts();
    assert.equal(cells[2], "2", `tools column: ${cells}`);
    assert.match(cells[4], /MB|KB/, `memory column: ${cells}`);
    await shot("servers");
    await audit("servers");
  });

  await step("Servers: stopping from the list changes the state, starting brings it back", async () => {
    await page.getByRole("button", { name: "Stop time" }).click();
    await stateOf("time", "stopped");
    await page.getByRole("button", { name: "Start time" }).click();
    await stateOf("time", "running");
  });

  await step("Servers: Pause all (from the keyboard) stops every server and says so; Resume starts them", async () => {
    await page.getByRole("button", { name: "Pause all" }).focus();
    await page.keyboard.press("Enter");
    const banner = page.getByTestId("paused");
    await banner.getByText("Switchboard is paused.").waitFor({ timeout: TIMEOUT });
    await stateOf("time", "stopped");
    assert.equal(await page.getByTestId("overall").innerText(), "paused");
    assert.equal(await page.getByRole("button", { name: "Pause all" }).count(), 0, "no Pause all while paused");
    await shot("paused");
    await banner.getByRole("button", { name: "Resume" }).click();
    await banner.waitFor({ state: "detached", timeout: TIMEOUT });
    await stateOf("time", "running");
    await page.getByRole("button", { name: "Pause all" }).waitFor({ timeout: TIMEOUT });
  });

  await step("Server detail: 30 s on a server's page open one log stream and ask for its tools once", async () => {
    const since = Date.now();
    await page.getByRole("link", { name: "time", exact: true }).click();
    await page.getByTestId("logs").getByText("running:").first().waitFor({ timeout: TIMEOUT });
    // Half the time on Logs, half on Tools, each across three of the page's usage polls.
    await polls(3, since);
    await page.getByRole("tab", { name: "Tools" }).click();
    await page.getByRole("cell", { name: "get_current_time" }).waitFor({ timeout: TIMEOUT });
    await audit("server tools");
    await polls(6, since);
    assert.ok(Date.now() - since >= 25_000, `six polls came within ${Date.now() - since} ms`);
    assert.equal(countOf("/api/v1/servers/time/logs", since), 1, "one log stream while the Logs tab was open");
    assert.equal(countOf("/api/v1/servers/time/tools", since), 1, "one tools/list while the Tools tab was open");
    assert.match(page.url(), /#\/servers\/time\/tools$/, "the tab is in the address");
  });

  await step("Server detail: an unsaved settings change survives the polls", async () => {
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByLabel("Restart policy").selectOption("never");
    await page.getByTestId("unsaved").waitFor({ timeout: TIMEOUT });
    await audit("server settings");
    await polls(2, Date.now());
    assert.equal(await page.getByLabel("Restart policy").inputValue(), "never", "the edit is still there after two polls");
    await page.getByRole("button", { name: "Discard changes" }).click();
    assert.equal(await page.getByLabel("Restart policy").inputValue(), "on-failure");
  });

  await step("Server detail: live logs, tools, and settings that save", async () => {
    await page.getByRole("tab", { name: "Logs" }).click();
    await page.getByTestId("logs").getByText("running:").first().waitFor({ timeout: TIMEOUT });
    await page.getByRole("tab", { name: "Tools" }).click();
    await page.getByRole("cell", { name: "get_current_time" }).waitFor({ timeout: TIMEOUT });
    // Each tool's token cost, and their total above the table.
    const costs = (await page.getByRole("table", { name: "Tools" }).locator("tbody tr td:nth-child(2)").allTextContents())
      .map((c) => Number(c.replace(/[^0-9]/g, "")));
    assert.equal(costs.length, 2, `a cost per tool: ${costs}`);
    assert.ok(costs.every((c) => c > 10), `every definition costs tokens: ${costs}`);
    const summary = await page.getByTestId("tool-tokens").textContent();
    const total = costs.reduce((a, b) => a + b, 0);
    assert.match(summary.replace(/[^0-9a-z ]/gi, ""), new RegExp(`2 tools ${total} tokens`), summary);
    await shot("server-tools");
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByLabel("Restart policy").selectOption("always");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByTestId("detail-state").getByText("running").waitFor({ timeout: TIMEOUT });
    await page.getByRole("tab", { name: "Logs" }).click();
    // Restarting from the detail page shows the supervisor's note in the live log.
    await page.getByRole("button", { name: "Restart" }).click();
    await page.waitForFunction(
      () => (document.querySelector("[data-testid=logs]")?.textContent?.match(/running:/g) ?? []).length >= 2,
      null,
      { timeout: TIMEOUT },
    );
    await shot("server-logs");
  });

  await step("New server: a server added by hand that fails says which variable is missing", async () => {
    await page.getByRole("link", { name: "Servers", exact: true }).click();
    await page.getByRole("link", { name: "New server" }).click();
    await page.getByLabel(/^Name/).fill("keyed");
    await page.getByLabel("Command").fill("sh");
    // The local timezone is written into its tools' schemas: changing it changes them.
    const script = 'test -n "$API_KEY" || { echo "missing API_KEY" >&2; exit 1; }; exec "$0" --local-timezone "${LOCAL_ZONE:-Europe/Paris}"';
    await page.getByLabel(/^Arguments/).fill(["-c", script, process.env.DASHBOARD_TIME_SERVER].join("\n"));
    await page.getByRole("button", { name: "Add and start" }).click();
    await page.getByRole("heading", { name: "keyed" }).waitFor({ timeout: TIMEOUT });
    const card = page.getByTestId("failure-card");
    await card.getByText("missing API_KEY").waitFor({ timeout: 60_000 });
    await shot("server-failing");
    await audit("failing server");
  });

  await step("Server detail: the failure is fixed where it shows, by setting the variable it names", async () => {
    await page.getByTestId("failure-card").getByRole("button", { name: "Set API_KEY" }).click();
    assert.equal(await page.locator("#secret-name").inputValue(), "API_KEY", "the name is filled in");
    await audit("server secrets");
    await page.locator("#secret-value").fill(process.env.DASHBOARD_SECRET ?? "");
    await page.getByRole("button", { name: "Add", exact: true }).click();
    await page.getByTestId("detail-state").getByText("running").waitFor({ timeout: 60_000 });
    await page.getByRole("row", { name: /API_KEY/ }).getByText("set", { exact: true }).waitFor({ timeout: TIMEOUT });
    assert.ok(!(await page.content()).includes(process.env.DASHBOARD_SECRET ?? "\u0000"), "the secret is never shown");
  });

  await step("Server detail: the environment is edited and saved from Settings", async () => {
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Add a variable" }).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.getByLabel(/^Name of variable/).count(), 0, "the key set on Secrets is not offered again as an empty variable");
    await page.getByRole("button", { name: "Add a variable" }).click();
    await page.getByLabel("Name of variable 1").fill("GREETING");
    await page.getByLabel("Value of GREETING").fill("hello");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor({ timeout: TIMEOUT });
    await page.getByTestId("detail-state").getByText("running").waitFor({ timeout: 60_000 });
    await shot("server-settings");
  });

  await step("Quarantine: tools that changed are held with what changed, and approved from the Tools tab", async () => {
    await page.getByRole("tab", { name: "Tools" }).click();
    await page.getByRole("cell", { name: "get_current_time" }).waitFor({ timeout: TIMEOUT });
    assert.equal(await page.locator(".held-mark").count(), 0, "what it offered when added is approved");
    await page.getByRole("tab", { name: "Settings" }).click();
    await page.getByRole("button", { name: "Add a variable" }).click();
    await page.getByLabel("Name of variable 2").fill("LOCAL_ZONE");
    await page.getByLabel("Value of LOCAL_ZONE").fill("Asia/Tokyo");
    await page.getByRole("button", { name: "Save" }).click();
    await page.getByText("Saved.").waitFor({ timeout: TIMEOUT });
    await page.getByTestId("detail-state").getByText("running").waitFor({ timeout: 60_000 });
    await page.getByRole("tab", { name: "Tools" }).click();
    const held = page.getByTestId("held-tools");
    await held.getByRole("heading", { name: /get_current_time changed/ }).waitFor({ timeout: TIMEOUT });
    const diff = await held.locator(".diff").first().innerText();
    assert.match(diff, /^-.*Use 'Europe\/Paris'/m, diff);
    assert.match(diff, /^\+.*Use 'Asia\/Tokyo'/m, diff);
    assert.equal(await page.locator(".held-mark").count(), 2, "both tools are marked held in the table");
    await shot("quarantine");
    await audit("quarantine");
    await held.getByRole("button", { name: "Approve all" }).click();
    await held.waitFor({ state: "detached", timeout: TIMEOUT });
    assert.equal(await page.locator(".held-mark").count(), 0, "nothing is held after approval");
  });

  await step("Secrets: results that hold a credential can be withheld from clients", async () => {
    await page.getByRole("tab", { name: "Secrets" }).click();
    const guard = page.getByLabel("What clients get of results that hold a credential");
    await page.waitForFunction(() => {
      const select = document.querySelector('select[aria-label^="What clients get"]');
      return select instanceof HTMLSelectElement && !select.disabled && select.value === "redact";
    }, null, { timeout: TIMEOUT });
    await guard.selectOption("block");
    await page.waitForFunction(() => !document.querySelector('select[aria-label^="What clients get"]')?.disabled, null, { timeout: TIMEOUT });
    await shot("server-secrets");
    await audit("server secrets guard");
  });

  await step("Discover: search the registry and open a server", async () => {
    await page.getByRole("link", { name: "Discover" }).click();
    await page.getByLabel("Search the registry").fill("time");
    await page.getByRole("button", { name: "Search" }).click();
    await page.getByRole("link", { name: /server-time|Time/ }).first().click();
    await page.getByRole("heading", { name: "Install" }).waitFor({ timeout: TIMEOUT });
    await shot("discover");
    await audit("discover install form");
  });

  await step("Discover: the secret input is masked, and one click installs it running", async () => {
    const secret = page.getByLabel(/TIME_API_KEY/);
    assert.equal(await secret.getAttribute("type"), "password", "a secret field is masked");
    await secret.fill(process.env.DASHBOARD_SECRET ?? "");
    await page.getByRole("button", { name: "Install" }).click();
    await page.getByTestId("installed").waitFor({ timeout: 120_000 });
    await shot("discover-installed");
    await page.getByTestId("installed").getByRole("link").click();
    await page.getByTestId("detail-state").getByText("running").waitFor({ timeout: TIMEOUT });
    await page.getByRole("tab", { name: "Secrets" }).click();
    const secretRow = page.getByRole("row", { name: /TIME_API_KEY/ });
    await secretRow.getByText("set", { exact: true }).waitFor({ timeout: TIMEOUT });
    assert.ok(!(await page.content()).includes(process.env.DASHBOARD_SECRET ?? "\u0000"), "the secret is never shown");
  });

  await step("Clients: connect with a diff preview, undo, connect again", async () => {
    await page.getByRole("link", { name: "Clients" }).click();
    await page.getByRole("checkbox", { name: "Show clients not found here" }).click();
    await page.getByRole("button", { name: "Connect Cursor" }).click();
    const preview = page.getByTestId("preview");
    await preview.waitFor({ timeout: TIMEOUT });
    const diff = await preview.locator("pre.diff").innerText();
    assert.match(diff, /^\+.*"url": "http:\/\/127\.0\.0\.1:\d+\/mcp"/m, `the preview shows the entry added:\n${diff}`);
    await shot("clients-preview");
    await preview.getByRole("button", { name: "Connect" }).click();
    await page.getByTestId("done").waitFor({ timeout: TIMEOUT });
    await (await row("data-client", "cursor")).getByText("connected", { exact: true }).waitFor({ timeout: TIMEOUT });
    await page.getByRole("button", { name: "Undo the last change to Cursor" }).click();
    await (await row("data-client", "cursor")).getByText("not connected").waitFor({ timeout: TIMEOUT });
    await page.getByRole("button", { name: "Connect Cursor" }).click();
    await page.getByTestId("preview").getByRole("button", { name: "Connect" }).click();
    const cursor = await row("data-client", "cursor");
    await cursor.getByText("connected", { exact: true }).waitFor({ timeout: TIMEOUT });
    // What its tools cost, and (its budget set below that by the test) the warning with the fix.
    assert.match(await cursor.getByTestId("client-cost").innerText(), /^\d+ tools · [\d,]+ tokens$/);
    const warning = await cursor.getByTestId("over-budget").innerText();
    assert.match(warning, /Over its budget of 50 tokens: give it a narrower profile/, warning);
    await shot("clients");
    await audit("clients");
  });

  await step("Clients: undoing with nothing to undo is a note with its code behind Details, not an error", async () => {
    await page.getByRole("button", { name: "Undo the last change to Claude Desktop" }).click();
    const note = page.getByTestId("failure");
    await note.getByText("Nothing to undo", { exact: true }).waitFor({ timeout: TIMEOUT });
    assert.equal(await note.getAttribute("role"), "status");
    assert.ok(!(await note.getByText("nothing_to_undo").isVisible()), "the code waits behind Details");
    await note.getByText("Details").click();
    await note.getByText("nothing_to_undo").waitFor({ timeout: TIMEOUT });
  });

  await step("Clients: an entry removed behind Switchboard's back raises a drift alert", async () => {
    const config = JSON.parse(readFileSync(cursorConfig, "utf8"));
    config.mcpServers = {};
    writeFileSync(cursorConfig, JSON.stringify(config, null, 2));
    await page.getByTestId("drift").filter({ hasText: /cursor lost Switchboard's entries/ }).waitFor({ timeout: TIMEOUT });
  });

  await step("Clients: disconnecting previews the change and leaves the client unconnected", async () => {
    await page.getByRole("button", { name: "Disconnect Cursor" }).click();
    const preview = page.getByTestId("preview");
    await preview.getByRole("heading", { name: "Disconnect Cursor?" }).waitFor({ timeout: TIMEOUT });
    await preview.getByRole("button", { name: "Disconnect" }).click();
    await (await row("data-client", "cursor")).getByText("not connected").waitFor({ timeout: TIMEOUT });
  });

  await step("Tailnet: status from Tailscale, and exposing a server with an allow-list", async () => {
    await page.getByRole("link", { name: "Tailnet" }).click();
    await page.getByTestId("tailnet-state").getByText("connected").waitFor({ timeout: TIMEOUT });
    const time = await row("data-server", "time");
    await time.getByLabel("Also allow").fill("bob@example.com, tag:ci");
    await time.getByRole("button", { name: "Expose" }).click();
    await time.getByText("exposed", { exact: true }).waitFor({ timeout: TIMEOUT });
    await page.getByText(/Listening for peers on/).waitFor({ timeout: TIMEOUT });
    await page.getByText(/No other device in your tailnet/).waitFor({ timeout: TIMEOUT });
    await shot("tailnet");
    await audit("tailnet");
  });

  await step("Activity: a tool call shows up live, and filters narrow the list", async () => {
    await page.getByRole("link", { name: "Activity" }).click();
    await page.getByRole("cell", { name: "get_current_time" }).first().waitFor({ timeout: TIMEOUT });
    const before = await page.locator("tr[data-call]").count();
    const since = Date.now();
    await callThroughGateway();
    await page.waitForFunction((n) => document.querySelectorAll("tr[data-call]").length > n, before, { timeout: TIMEOUT });
    assert.equal(await page.getByRole("button", { name: "Refresh" }).count(), 0, "no Refresh button: the list is live");
    assert.ok(countOf("/api/v1/history", since) <= 3, `the new call cost ${countOf("/api/v1/history", since)} history reads`);
    await shot("activity");
    await page.getByLabel("Server").selectOption("server-time");
    await page.getByText("No tool calls match these filters").waitFor({ timeout: TIMEOUT });
    await page.getByLabel("Server").selectOption("time");
    await page.getByRole("cell", { name: "get_current_time" }).first().waitFor({ timeout: TIMEOUT });
  });

  await step("Profiles: a profile of one tool, given to a client, is all the gateway offers it", async () => {
    await page.getByRole("link", { name: "Profiles" }).click();
    await page.getByRole("button", { name: "New profile" }).click();
    const editor = page.getByTestId("profile-editor");
    await editor.getByLabel("Name").fill("clock");
    const time = editor.locator('fieldset[data-server="time"]');
    await time.getByRole("checkbox", { name: "time", exact: true }).check();
    await time.getByRole("checkbox", { name: /^convert_time/ }).uncheck({ timeout: TIMEOUT });
    const cost = await editor.getByTestId("profile-cost").innerText();
    assert.match(cost, /^1 tool, [\d,]+ tokens/, cost);
    await shot("profile-editor");
    await editor.getByRole("button", { name: "Save" }).click();
    await page.locator('section[data-profile="clock"]').getByText("only get_current_time").waitFor({ timeout: TIMEOUT });
    await page.getByLabel("Profile of claude-code").selectOption("clock");
    await page.locator('tr[data-token="claude-code"]').getByTestId("token-tools").getByText("1", { exact: true }).waitFor({ timeout: TIMEOUT });
    assert.deepEqual(await toolsThroughGateway(), ["get_current_time"]);
    await shot("profiles");
    await audit("profiles");
    // Search mode: the client lists three tools, and finds the rest by a query.
    await page.getByRole("button", { name: "Change clock" }).click();
    await editor.getByTestId("search-mode").check();
    await editor.getByRole("button", { name: "Save" }).click();
    await page.locator('section[data-profile="clock"]').getByText("search mode").waitFor({ timeout: TIMEOUT });
    assert.deepEqual(await toolsThroughGateway(), ["call_tool", "describe_tool", "search_tools"]);
    const counted = page.locator('tr[data-token="claude-code"]').getByTestId("token-tools").getByText("3", { exact: true });
    await counted.waitFor({ timeout: TIMEOUT });
    // Every server again, as the later steps expect.
    await page.getByLabel("Profile of claude-code").selectOption("");
    await counted.waitFor({ state: "detached", timeout: TIMEOUT });
  });

  await step("At 800×600 every page fits the window, and the page list stays in view", async () => {
    await page.setViewportSize({ width: 800, height: 600 });
    for (const hash of ["#/servers", "#/servers/time/tools", "#/new", "#/discover", "#/clients", "#/profiles", "#/tailnet", "#/activity"]) {
      await page.evaluate((h) => (location.hash = h), hash);
      await page.locator("main h1").first().waitFor({ timeout: TIMEOUT });
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      assert.ok(wide <= 800, `${hash} is ${wide} px wide in an 800 px window`);
      await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
      const nav = await page.getByRole("navigation", { name: "Pages" }).boundingBox();
      assert.ok(nav && nav.y >= -1 && nav.y < 600, `${hash}: the page list scrolled away (${JSON.stringify(nav)})`);
    }
    await page.evaluate(() => (location.hash = "#/clients"));
    await page.locator("main h1", { hasText: "Clients" }).waitFor({ timeout: TIMEOUT });
    await shot("clients-800");
    await page.setViewportSize({ width: 1280, height: 820 });
  });

  await step("The keyboard reaches the pages, and the dark theme applies", async () => {
    await page.getByRole("link", { name: "Servers" }).focus();
    await page.keyboard.press("Tab");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#/discover", null, { timeout: TIMEOUT });
    await page.getByRole("button", { name: /Switch to dark theme/ }).click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.getByRole("link", { name: "Servers" }).click();
    await stateOf("time", "running");
    await shot("servers-dark");
  });

  await step("Dark theme: every page passes axe-core too", async () => {
    await audit("servers");
    for (const [hash, ready] of [
      ["#/servers/time/tools", () => page.getByRole("cell", { name: "get_current_time" }).waitFor({ timeout: TIMEOUT })],
      ["#/servers/keyed/settings", () => page.getByLabel("Restart policy").waitFor({ timeout: TIMEOUT })],
      ["#/servers/keyed/secrets", () => page.locator("#secret-name").waitFor({ timeout: TIMEOUT })],
      ["#/new", () => page.getByRole("heading", { name: "New server" }).waitFor({ timeout: TIMEOUT })],
      ["#/discover", () => page.locator("ul.results[aria-busy=false]").waitFor({ timeout: TIMEOUT })],
      ["#/clients", () => page.locator("tr[data-client]").first().waitFor({ timeout: TIMEOUT })],
      ["#/profiles", () => page.locator("section[data-profile]").first().waitFor({ timeout: TIMEOUT })],
      ["#/tailnet", () => page.getByTestId("tailnet-state").waitFor({ timeout: TIMEOUT })],
      ["#/activity", () => page.locator("tr[data-call]").first().waitFor({ timeout: TIMEOUT })],
    ]) {
      await page.evaluate((h) => (location.hash = h), hash);
      await ready();
      await audit(hash);
    }
  });

  await step("axe-core finds no serious or critical violation on any page, light or dark", async () => {
    assert.deepEqual(findings, [], `accessibility findings:\n${findings.join("\n")}`);
  });

  await step("Sign out ends the browser's token", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByRole("heading", { name: "Sign in to Switchboard" }).waitFor({ timeout: TIMEOUT });
  });

  assert.deepEqual(problems, [], "no script errors on any page");
  console.log("dashboard: every step passed");
} catch (e) {
  await page.screenshot({ path: `${shots}/failed.png`, fullPage: true }).catch(() => undefined);
  console.error(`dashboard step failed: ${current}\n${e.stack ?? e}\n${problems.join("\n")}`);
  console.error(`event streams opened: ${countOf("/api/v1/events", 0)}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

// The first run in a real browser (Debian's chromium, headless, through playwright-core)
// against a real daemon that crates/cli/tests/first_run.rs set up in a home whose AI clients
// already hold servers: the dashboard opens on what it found, and two clicks (review, apply)
// route every client through Switchboard. Prints one JSON line: the clicks and the time from
// opening the page to "Done". Screenshots go to SHOTS.
//
// Then, when a line arrives on stdin (the test has checked every client), one more click
// undoes all of it, and a second JSON line says so.
//
// Usage: node first_run.mjs SIGN_IN_URL SHOTS_DIR   (FIRST_RUN_SECRET: a value no page may show)
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";

const [signInUrl, shots] = process.argv.slice(2);
const secret = process.env.FIRST_RUN_SECRET ?? "\u0000";
const TIMEOUT = 60_000;
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
  env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: "disabled:" },
});
// bypassCSP: only so axe-core can be injected.
const page = await (await browser.newContext({ viewport: { width: 1280, height: 820 }, bypassCSP: true })).newPage();
const problems = [];
page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
/** axe-core's serious and critical findings on the page as it is. */
async function audit() {
  const source = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
  if (!(await page.evaluate(() => "axe" in window))) await page.addScriptTag({ content: source });
  return page.evaluate(async () =>
    (await window.axe.run(document, { resultTypes: ["violations"] })).violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join("; ")}`),
  );
}
let clicks = 0;
async function click(locator) {
  clicks += 1;
  await locator.click();
}

try {
  const opened = Date.now();
  await page.goto(signInUrl);
  const firstRun = page.getByTestId("first-run");
  await firstRun.getByText(/Found .*Claude Desktop/).waitFor({ timeout: TIMEOUT });
  for (const entry of ["memory", "keyed", "everything", "time"]) {
    await firstRun.locator("ul.found code", { hasText: entry }).first().waitFor({ timeout: TIMEOUT });
  }
  await page.screenshot({ path: `${shots}/first-run.png`, fullPage: true });
  assert.deepEqual(await audit(), [], "axe-core on the first run");

  await click(firstRun.getByRole("button", { name: "Review the changes" }));
  const preview = page.getByTestId("setup-preview");
  await preview.waitFor({ timeout: TIMEOUT });
  const text = await preview.innerText();
  assert.match(text, /BRAVE_API_KEY to the secret store/, `the preview says where the key goes:\n${text}`);
  assert.equal((text.match(/^time from/gm) ?? []).length, 1, `time, in two clients, is one server:\n${text}`);
  assert.ok(!(await page.content()).includes(secret), "the preview hides the key leaving Claude Desktop's file");
  await page.screenshot({ path: `${shots}/first-run-preview.png`, fullPage: true });
  assert.deepEqual(await audit(), [], "axe-core on the first run's preview");

  await click(preview.getByRole("button", { name: "Apply" }));
  await page.getByTestId("set-up").getByText("Done.").waitFor({ timeout: TIMEOUT });
  const done = Date.now() - opened;
  await page.screenshot({ path: `${shots}/first-run-done.png`, fullPage: true });
  assert.ok(!(await page.content()).includes(secret), "the key is never shown");
  assert.deepEqual(problems, [], "no script errors");
  console.log(JSON.stringify({ clicks, done_ms: done }));

  const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  await lines.next();
  await click(page.getByTestId("set-up").getByRole("button", { name: "Undo all of this" }));
  await page.getByText("Undone: every client's file is as it was").waitFor({ timeout: TIMEOUT });
  await page.screenshot({ path: `${shots}/first-run-undone.png`, fullPage: true });
  assert.deepEqual(problems, [], "no script errors");
  console.log(JSON.stringify({ undone: true }));
} catch (e) {
  await page.screenshot({ path: `${shots}/failed.png`, fullPage: true }).catch(() => undefined);
  console.error(`first run failed: ${e.stack ?? e}\n${problems.join("\n")}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

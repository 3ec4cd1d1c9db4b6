// The dashboard's Tailnet page on a laptop whose owner's home machine exposes a server: the
// peer is listed with what it offers, and "Add as remote" makes it a server here. Run by
// crates/cli/tests/tailnet_exposure.rs inside the laptop's network namespace, in Debian's
// chromium through playwright-core.
//
// Usage: node tailnet_peers.mjs SIGN_IN_URL SHOTS_DIR
import { mkdirSync } from "node:fs";
import { chromium } from "playwright-core";

const [signInUrl, shots] = process.argv.slice(2);
const TIMEOUT = 30_000;
mkdirSync(shots, { recursive: true });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox"],
  env: { ...process.env, DBUS_SESSION_BUS_ADDRESS: "disabled:" },
});
const page = await browser.newPage({ viewport: { width: 1280, height: 820 } });
try {
  await page.goto(`${signInUrl}/tailnet`);
  await page.getByTestId("tailnet-state").getByText("connected").waitFor({ timeout: TIMEOUT });
  const peer = page.getByRole("region", { name: "Peer homebox" });
  await peer.getByRole("cell", { name: "everything" }).waitFor({ timeout: TIMEOUT });
  await peer.getByLabel("Name here").fill("home-everything-ui");
  await peer.getByRole("button", { name: "Add as remote" }).click();
  await page.getByText("everything from homebox is now a server here named home-everything-ui").waitFor({ timeout: 60_000 });
  await page.screenshot({ path: `${shots}/tailnet-peers.png`, fullPage: true });
  console.log("tailnet peers: every step passed");
} catch (e) {
  await page.screenshot({ path: `${shots}/tailnet-peers-failed.png`, fullPage: true }).catch(() => undefined);
  console.error(`tailnet peers page failed: ${e.stack ?? e}`);
  process.exitCode = 1;
} finally {
  await browser.close();
}

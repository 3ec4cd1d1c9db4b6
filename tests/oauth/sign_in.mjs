// Signs in at an authorization URL in a real browser: Debian's chromium, headless, driven by
// playwright-core. It fills in oidc-provider's development login form (any name and password
// sign in), confirms the authorization if asked, and waits for the page Switchboard's loopback
// redirect shows. Requests to anything but 127.0.0.1 are blocked (the login page asks for web
// fonts), so nothing leaves the machine.
//
//   node sign_in.mjs AUTHORIZATION_URL [USER]
//
// Prints the final page's text.
import { chromium } from "playwright-core";

const [url, user = "alice"] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  // Chromium's sandbox cannot start as root, which CI containers often are.
  args: ["--no-sandbox"],
});
try {
  const page = await browser.newPage();
  await page.route("**/*", (route) =>
    new URL(route.request().url()).hostname === "127.0.0.1" ? route.continue() : route.abort(),
  );
  await page.goto(url);
  await page.fill('input[name="login"]', user);
  await page.fill('input[name="password"]', "any");
  await page.click('button[type="submit"]');
  // oidc-provider asks a native app's user to confirm each sign-in (RFC 8252 §8.6): Continue.
  await page.waitForFunction(
    () => document.body.innerText.includes("Switchboard") || document.body.innerText.includes("Continue"),
    null,
    { timeout: 30000 },
  );
  if (!(await page.innerText("body")).includes("Switchboard")) {
    await page.click('button[type="submit"]');
  }
  await page.waitForFunction(() => document.body.innerText.includes("Switchboard"), null, { timeout: 30000 });
  console.log(await page.innerText("body"));
} finally {
  await browser.close();
}

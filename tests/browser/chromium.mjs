// Headless Chromium for the browser tests: fake camera and microphone, loopback only, a
// throw-away profile. `withChromium(fn)` runs `fn(context, watch)` and cleans up; `watch(page)`
// forwards the page's console, errors and failed requests to stderr.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

export async function withChromium(fn) {
  const profile = mkdtempSync(join(tmpdir(), "portunus-chromium-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: [
      "--no-sandbox",
      "--use-fake-device-for-media-stream",
      "--use-fake-ui-for-media-stream",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--allow-loopback-in-peer-connection",
      "--disable-features=WebRtcHideLocalIpsWithMdns",
      "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    ],
  });
  const watch = (page, name = "page") => {
    page.on("console", (m) => console.error(`[${name} ${m.type()}] ${m.text()}`));
    page.on("pageerror", (e) => console.error(`[${name} error] ${e.message}`));
    page.on("response", (r) => r.status() >= 400 && console.error(`[${name}] ${r.status()} ${r.url()}`));
    return page;
  };
  try {
    return await fn(context, watch);
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

// Opens the gateway's EchoTest demo page in headless Chromium (janus.js, fake camera and
// microphone) and waits until the echoed media plays. Prints the page's observations as one JSON
// line; exits 1 if they do not come within the timeout.
//
// usage: node echotest.mjs <page url> <timeout ms> [simulcast]
//
// With `simulcast` (the page opened with ?simulcast=1) it then asks the EchoTest for the lowest
// substream and for the highest, and reports the substream events and the remote video width
// seen after each.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const [url, timeoutArg, mode] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);
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
    '--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1',
  ],
});

let code = 1;
try {
  const page = context.pages()[0] || (await context.newPage());
  page.on("console", (m) => console.error(`[page ${m.type()}] ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[page error] ${e.message}`));
  page.on("response", (r) => r.status() >= 400 && console.error(`[page] ${r.status()} ${r.url()}`));
  await page.goto(url);
  try {
    await page.waitForFunction(
      () => {
        const d = window.demo;
        return d && (d.error || (d.framesDecoded > 0 && d.videoWidth > 0 && d.audioEnergy > 1e-4 && d.dataEcho));
      },
      null,
      { timeout, polling: 200 },
    );
  } catch (e) {
    console.error(`timed out: ${e.message}`);
  }
  const seen = await page.evaluate(() => window.demo || null);
  if (mode === "simulcast" && seen && !seen.error) {
    seen.layers = {};
    // The full-size width, then the lowest substream (smaller) and the highest (full size).
    const full = seen.videoWidth;
    for (const [name, substream, smaller] of [
      ["low", 0, true],
      ["high", 2, false],
    ]) {
      await page.evaluate((n) => window.demoSend({ substream: n }), substream);
      try {
        await page.waitForFunction(
          ([n, full, smaller]) => {
            const d = window.demo;
            const w = d.videoWidth;
            // Asked for the highest, a browser that pauses its top layer gets the next one.
            const layer = smaller ? d.substream === n : d.substream > 0;
            return layer && w > 0 && (smaller ? w < full : w >= full);
          },
          [substream, full, smaller],
          { timeout, polling: 200 },
        );
      } catch (e) {
        console.error(`${name}: ${e.message}`);
      }
      seen.layers[name] = await page.evaluate(() => ({ substream: window.demo.substream, width: window.demo.videoWidth }));
    }
  }
  console.log(JSON.stringify(seen));
  code = seen && !seen.error && seen.framesDecoded > 0 ? 0 : 1;
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
}
process.exit(code);

// Opens the gateway's EchoTest demo page in headless Chromium (janus.js, fake camera and
// microphone) and waits until the echoed media plays. Prints the page's observations as one JSON
// line; exits 1 if they do not come within the timeout.
//
// usage: node echotest.mjs <page url> <timeout ms> [simulcast]
//
// With `simulcast` (the page opened with ?simulcast=1) it then asks the EchoTest for the lowest
// substream and for the highest, and reports the substream events and the remote video width
// seen after each.
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg, mode] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);

const code = await withChromium(async (context, watch) => {
  const page = watch(context.pages()[0] || (await context.newPage()));
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
    // First the browser must send two layers of different sizes: it adds the upper ones as its
    // bandwidth estimate grows (and pauses them when short of CPU).
    try {
      await page.waitForFunction(() => new Set(window.demo.sentLayers.map((l) => l.width)).size >= 2, null, {
        timeout,
        polling: 200,
      });
    } catch (e) {
      console.error(`two layers sent: ${e.message}`);
    }
    seen.sentLayers = await page.evaluate(() => window.demo.sentLayers);
    const top = Math.max(0, ...seen.sentLayers.map((l) => l.width));
    // The lowest substream (smaller than the top layer sent), then the highest (larger than the
    // lowest; a browser that pauses its top layer gets the next one).
    let low = 0;
    for (const [name, substream] of [
      ["low", 0],
      ["high", 2],
    ]) {
      await page.evaluate((n) => window.demoSend({ substream: n }), substream);
      try {
        await page.waitForFunction(
          ([n, top, low]) => {
            const d = window.demo;
            const w = d.videoWidth;
            return n === 0 ? d.substream !== null && w > 0 && w < top : d.substream > 0 && w > low;
          },
          [substream, top, low],
          { timeout, polling: 200 },
        );
      } catch (e) {
        console.error(`${name}: ${e.message}`);
      }
      seen.layers[name] = await page.evaluate(() => ({ substream: window.demo.substream, width: window.demo.videoWidth }));
      low = seen.layers.low.width;
    }
  }
  console.log(JSON.stringify(seen));
  return seen && !seen.error && seen.framesDecoded > 0 ? 0 : 1;
});
process.exit(code);

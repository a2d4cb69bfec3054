// Opens the gateway's VideoRoom demo page twice in headless Chromium (janus.js, fake cameras and
// microphones): each page publishes and must play the other's video and audio. Prints both pages'
// observations as one JSON line ({a, b}); exits 1 if they do not come within the timeout.
//
// usage: node videoroom.mjs <page url> <timeout ms> [simulcast]
//
// With `simulcast`, alice's page publishes in three layers; bob's page then asks for her lowest
// substream and for her highest, and reports the substream events and the video width seen
// after each (as `layers`).
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg, mode] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);

// The page plays a feed of someone else.
const playing = () => {
  const d = window.demo;
  return (
    d &&
    (d.error ||
      Object.values(d.feeds).some((f) => f.framesDecoded > 0 && f.videoWidth > 0 && f.audioPackets > 0))
  );
};

const code = await withChromium(async (context, watch) => {
  const a = watch(await context.newPage(), "a");
  const b = watch(await context.newPage(), "b");
  const simulcast = mode === "simulcast" ? "&simulcast=1" : "";
  await a.goto(`${url}${url.includes("?") ? "&" : "?"}name=alice${simulcast}`);
  await b.goto(`${url}${url.includes("?") ? "&" : "?"}name=bob`);
  for (const [name, page] of [
    ["a", a],
    ["b", b],
  ]) {
    try {
      await page.waitForFunction(playing, null, { timeout, polling: 200 });
    } catch (e) {
      console.error(`${name} timed out: ${e.message}`);
    }
  }
  const layers = {};
  if (mode === "simulcast") {
    // Alice must send two layers of different sizes first (the browser adds the upper ones as
    // its bandwidth estimate grows).
    try {
      await a.waitForFunction(() => new Set(window.demo.sentLayers.map((l) => l.width)).size >= 2, null, {
        timeout,
        polling: 200,
      });
    } catch (e) {
      console.error(`two layers sent: ${e.message}`);
    }
    const top = Math.max(0, ...(await a.evaluate(() => window.demo.sentLayers.map((l) => l.width))));
    const alice = await a.evaluate(() => window.demo.id);
    let low = 0;
    for (const [name, substream] of [
      ["low", 0],
      ["high", 2],
    ]) {
      await b.evaluate(([id, n]) => window.demoSubstream(id, n), [alice, substream]);
      try {
        await b.waitForFunction(
          ([id, n, top, low]) => {
            const f = window.demo.feeds[id];
            const w = f && f.videoWidth;
            // The lowest asked for: the lowest the browser sends (it may pause its lowest layer
            // when short of CPU, and the gateway then gives the next one up).
            return n === 0 ? f.substream !== null && w > 0 && w < top : f.substream === 2 && w > low;
          },
          [alice, substream, top, low],
          { timeout, polling: 200 },
        );
      } catch (e) {
        console.error(`${name}: ${e.message}`);
      }
      layers[name] = await b.evaluate((id) => {
        const f = window.demo.feeds[id];
        return { substream: f.substream, width: f.videoWidth };
      }, alice);
      low = layers.low.width;
    }
  }
  const seen = {
    a: await a.evaluate(() => window.demo || null),
    b: await b.evaluate(() => window.demo || null),
    layers,
  };
  console.log(JSON.stringify(seen));
  const ok = (d) => d && !d.error && Object.values(d.feeds).some((f) => f.framesDecoded > 0);
  return ok(seen.a) && ok(seen.b) ? 0 : 1;
});
process.exit(code);

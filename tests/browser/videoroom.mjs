// Opens the gateway's VideoRoom demo page twice in headless Chromium (janus.js, fake cameras and
// microphones): each page publishes and must play the other's video and audio. Prints both pages'
// observations as one JSON line ({a, b}); exits 1 if they do not come within the timeout.
//
// usage: node videoroom.mjs <page url> <timeout ms>
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg] = process.argv.slice(2);
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
  await a.goto(`${url}${url.includes("?") ? "&" : "?"}name=alice`);
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
  const seen = { a: await a.evaluate(() => window.demo || null), b: await b.evaluate(() => window.demo || null) };
  console.log(JSON.stringify(seen));
  const ok = (d) => d && !d.error && Object.values(d.feeds).some((f) => f.framesDecoded > 0);
  return ok(seen.a) && ok(seen.b) ? 0 : 1;
});
process.exit(code);

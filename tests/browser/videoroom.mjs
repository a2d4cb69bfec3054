// Opens the gateway's VideoRoom demo page twice in headless Chromium (janus.js, fake cameras and
// microphones): each page publishes and must play the other's video and audio. Prints both pages'
// observations as one JSON line ({a, b}); exits 1 if they do not come within the timeout.
//
// usage: node videoroom.mjs <page url> <timeout ms> [simulcast|svc]
//
// With `simulcast`, alice's page publishes in three layers; bob's page then asks for her lowest
// substream and for her highest, and reports the substream events and the video width seen
// after each (as `layers`). With `svc`, alice's page publishes VP9 SVC (L3T3_KEY); bob's page
// reports the width it first sees (as `layers.first`), then asks for her lowest spatial layer
// and her highest, as with simulcast. Then alice's video is forwarded as plain RTP, one port per
// substream (`port`, `port_2`, `port_3`), and the widest keyframe each port got is reported
// (as `forward`).
import dgram from "node:dgram";
import { withChromium } from "./chromium.mjs";

const [url, timeoutArg, mode] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);

// The width of a VP8 keyframe that starts in this RTP packet (RFC 7741), else null.
function vp8KeyframeWidth(p) {
  let at = 12 + 4 * (p[0] & 0x0f);
  if (p[0] & 0x10) at += 4 + 4 * ((p[at + 2] << 8) | p[at + 3]);
  const d = p[at++];
  if (d & 0x80) {
    const e = p[at++];
    if (e & 0x80) at += p[at] & 0x80 ? 2 : 1;
    if (e & 0x40) at++;
    if (e & 0x30) at++;
  }
  const starts = d & 0x10 && (d & 0x07) === 0;
  if (!starts || p[at] & 0x01 || p[at + 3] !== 0x9d || p[at + 4] !== 0x01 || p[at + 5] !== 0x2a) return null;
  return (p[at + 6] | (p[at + 7] << 8)) & 0x3fff;
}

// Forwards alice's video to three local ports, one per substream; returns the answer and the
// widest keyframe each port got within `timeout` (once every port has had one, a second more).
async function forwardLayers(page, timeout) {
  const sockets = await Promise.all(
    [0, 1, 2].map(
      () =>
        new Promise((resolve) => {
          const s = dgram.createSocket("udp4");
          s.bind(0, "127.0.0.1", () => resolve(s));
        }),
    ),
  );
  const widths = [0, 0, 0];
  sockets.forEach((s, i) =>
    s.on("message", (p) => {
      const w = vp8KeyframeWidth(p);
      if (w) widths[i] = Math.max(widths[i], w);
    }),
  );
  const [port, port_2, port_3] = sockets.map((s) => s.address().port);
  const answer = await page.evaluate(
    (video) => window.demoForward("127.0.0.1", { video }),
    { port, port_2, port_3 },
  );
  const deadline = Date.now() + timeout;
  while (Date.now() < deadline && widths.some((w) => w === 0)) await new Promise((r) => setTimeout(r, 100));
  await new Promise((r) => setTimeout(r, 1000));
  sockets.forEach((s) => s.close());
  return { answer, widths };
}

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
  const layering = { simulcast: "&simulcast=1", svc: "&svc=L3T3_KEY" }[mode] || "";
  await a.goto(`${url}${url.includes("?") ? "&" : "?"}name=alice${layering}`);
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
      await b.evaluate(([id, n]) => window.demoLayers(id, { substream: n }), [alice, substream]);
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
  if (mode === "svc") {
    const alice = await a.evaluate(() => window.demo.id);
    const feed = (id) => {
      const f = window.demo.feeds[id];
      return { spatial: f.spatial, width: f.videoWidth, svc: f.svc };
    };
    // Bob must see her whole picture first (the browser adds the upper layers as its
    // bandwidth estimate grows, and the gateway passes each from a keyframe).
    try {
      await a.waitForFunction(() => window.demo.sentLayers.some((l) => l.width > 0), null, { timeout, polling: 200 });
      const top = await a.evaluate(() => Math.max(...window.demo.sentLayers.map((l) => l.width)));
      await b.waitForFunction(([id, top]) => window.demo.feeds[id].videoWidth >= top, [alice, top], {
        timeout,
        polling: 200,
      });
    } catch (e) {
      console.error(`two layers seen: ${e.message}`);
    }
    layers.first = await b.evaluate(feed, alice);
    for (const [name, spatial] of [
      ["low", 0],
      ["high", 2],
    ]) {
      const than = name === "low" ? layers.first.width : layers.low.width;
      await b.evaluate(([id, n]) => window.demoLayers(id, { spatial_layer: n }), [alice, spatial]);
      try {
        await b.waitForFunction(
          ([id, n, than]) => {
            const f = window.demo.feeds[id];
            const w = f && f.videoWidth;
            // The highest asked for: the highest she sends (the browser makes fewer spatial
            // layers of a small picture).
            return w > 0 && (n === 0 ? f.spatial === 0 && w < than : f.spatial > 0 && w > than);
          },
          [alice, spatial, than],
          { timeout, polling: 200 },
        );
      } catch (e) {
        console.error(`${name}: ${e.message}`);
      }
      layers[name] = await b.evaluate(feed, alice);
    }
  }
  const forward = mode === "simulcast" ? await forwardLayers(a, timeout) : null;
  const seen = {
    a: await a.evaluate(() => window.demo || null),
    b: await b.evaluate(() => window.demo || null),
    layers,
    forward,
  };
  console.log(JSON.stringify(seen));
  const ok = (d) => d && !d.error && Object.values(d.feeds).some((f) => f.framesDecoded > 0);
  return ok(seen.a) && ok(seen.b) ? 0 : 1;
});
process.exit(code);

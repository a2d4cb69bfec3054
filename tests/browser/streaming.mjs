// Janus's classic pairing, in headless Chromium: a janus.js VideoRoom page publishes its (fake)
// camera and microphone and forwards them (`rtp_forward`) to a Streaming mountpoint's ports;
// a janus.js Streaming page watches the mountpoint and must decode the video and get the audio.
// Prints both pages' observations as one JSON line ({publisher, forwarded, viewer}); exits 1 if
// the viewer does not play within the timeout.
//
// usage: node streaming.mjs <streaming url> <timeout ms> <videoroom url> <audio port> <video port>
import { withChromium } from "./chromium.mjs";

const [streamingUrl, timeoutArg, roomUrl, audioPort, videoPort] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);

const code = await withChromium(async (context, watch) => {
  const a = watch(await context.newPage(), "publisher");
  const b = watch(await context.newPage(), "viewer");
  let forwarded = null;
  try {
    await a.goto(`${roomUrl}${roomUrl.includes("?") ? "&" : "?"}name=camera`);
    await a.waitForFunction(() => window.demo.published || window.demo.error, null, { timeout, polling: 200 });
    forwarded = await a.evaluate(
      ([audio, video]) =>
        window.demoForward("127.0.0.1", { audio: { port: audio, pt: 111 }, video: { port: video, pt: 100 } }),
      [Number(audioPort), Number(videoPort)],
    );
    await b.goto(streamingUrl);
    await b.waitForFunction(
      () => {
        const d = window.demo;
        // The `started` event may reach the page after the first frames (both follow webrtcup).
        return d.error || (d.framesDecoded > 0 && d.videoWidth > 0 && d.audioPackets > 0 && d.status === "started");
      },
      null,
      { timeout, polling: 200 },
    );
  } catch (e) {
    console.error(`timed out: ${e.message}`);
  }
  const publisher = await a.evaluate(() => ({ published: window.demo.published, error: window.demo.error }));
  const viewer = await b.evaluate(() => window.demo);
  console.log(JSON.stringify({ publisher, forwarded, viewer }));
  return viewer.framesDecoded > 0 && viewer.audioPackets > 0 ? 0 : 1;
});
process.exit(code);

// janode (Node.js, no browser) drives the gateway's Streaming the way applications built on
// it do: create mountpoints (the older audio/video form and the media list), list, info, watch
// (the offer arrives; janode does no WebRTC, so there is no answer to `start` with), pause,
// configure, switch, stop, disable/enable, destroy. janode checks every answer's shape; what it
// returned is printed as one JSON line (exit 1 on any error).
//
// usage: node janode_streaming.mjs <ws url>
import Janode from "janode";
import StreamingPlugin from "janode/plugins/streaming";

const [url] = process.argv.slice(2);
Janode.Logger.setLevel("warning");
const out = {};
let code = 1;
const connection = await Janode.connect({ address: { url }, max_retries: 1 });
try {
  const session = await connection.create();
  const admin = await session.attach(StreamingPlugin);
  const viewer = await session.attach(StreamingPlugin);
  out.created = await admin.createRtpMountpoint({
    id: 4242,
    name: "janode",
    description: "janode",
    audio: { port: 0, pt: 111, rtpmap: "opus/48000/2" },
  });
  out.second = await admin.createRtpMountpoint({
    id: 4243,
    media: [{ type: "audio", mid: "a", port: 0, pt: 111, codec: "opus" }],
  });
  out.listed = (await admin.list()).list.some((m) => m.id === 4242);
  out.info = await admin.info({ id: 4242 });
  const watched = await viewer.watch({ id: 4242 });
  out.watched = { status: watched.status, offer: Boolean(watched.jsep && watched.jsep.type === "offer") };
  out.paused = await viewer.pause();
  out.configured = await viewer.configure({ audio: true });
  out.switched = await viewer.switch({ id: 4243 });
  out.stopped = await viewer.stop();
  out.disabled = await admin.disable({ id: 4242 });
  out.enabled = await admin.enable({ id: 4242 });
  out.destroyed = await admin.destroyMountpoint({ id: 4242 });
  await session.destroy();
  code = 0;
} catch (e) {
  out.error = String(e && e.message ? e.message : e);
} finally {
  console.log(JSON.stringify(out));
  await connection.close().catch(() => {});
}
process.exit(code);

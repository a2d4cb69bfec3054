// The Streaming demo, as janus.js's own Streaming demo does it: list the mountpoints, `watch`
// one, answer the gateway's offer receive-only with `start`, and play what comes. `window.demo`
// holds what the page observed (the browser test reads it).
import Janus from "./vendor/janus.js";
import { $, params, reporter, server } from "./common.js";

const state = (window.demo = {
  id: params.get("id") ? Number(params.get("id")) : null,
  mountpoints: [],
  status: null,
  framesDecoded: 0,
  videoWidth: 0,
  audioPackets: 0,
  error: null,
});
const { show, fail } = reporter(state);

function start() {
  const janus = new Janus({
    server: server(params.get("transport")).url,
    iceServers: [],
    success: () => attach(janus),
    error: (e) => fail("gateway", e),
  });
}

function attach(janus) {
  let handle = null;
  const stream = new MediaStream();
  janus.attach({
    plugin: "janus.plugin.streaming",
    opaqueId: `portunus-demo-${Janus.randomString(8)}`,
    success: (h) => {
      handle = h;
      h.send({
        message: { request: "list" },
        success: (r) => {
          state.mountpoints = (r.list || []).map((m) => ({ id: m.id, description: m.description }));
          for (const m of state.mountpoints) $("list").append(new Option(m.description, m.id));
          if (state.id === null && state.mountpoints.length) state.id = state.mountpoints[0].id;
          if (state.id === null) return fail("list", "no mountpoint");
          $("list").value = state.id;
          h.send({ message: { request: "watch", id: state.id } });
        },
      });
      setInterval(() => poll(h).catch((e) => fail("stats", String(e))), 500);
    },
    error: (e) => fail("attach", e),
    onmessage: (msg, jsep) => {
      if (msg.error) fail("streaming", msg.error);
      if (msg.result && msg.result.status) state.status = msg.result.status;
      if (jsep) {
        handle.createAnswer({
          jsep,
          // Receive only: we send nothing.
          tracks: [{ type: "data" }],
          success: (answer) => handle.send({ message: { request: "start" }, jsep: answer }),
          error: (e) => fail("createAnswer", e),
        });
      }
      show();
    },
    onremotetrack: (track, mid, on) => {
      if (on) stream.addTrack(track);
      else stream.removeTrack(track);
      $("remote").srcObject = stream;
    },
  });
  $("list").onchange = () => {
    location.search = `?id=${$("list").value}`;
  };
}

// Decoded frames, received audio, the video's size.
async function poll(handle) {
  const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
  if (!pc) return;
  (await pc.getStats()).forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") state.framesDecoded = s.framesDecoded || 0;
    if (s.kind === "audio") state.audioPackets = s.packetsReceived || 0;
  });
  state.videoWidth = $("remote").videoWidth;
  show();
}

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies(),
  callback: start,
});

// The EchoTest demo: janus.js attaches to janus.plugin.echotest, sends the camera and the
// microphone, and shows what comes back. `window.demo` holds what the page observed (the browser
// test in tests/browser reads it).
import Janus from "./vendor/janus.js";
import { $, params, reporter, server } from "./common.js";

const state = (window.demo = {
  transport: null,
  webrtcUp: false,
  result: null,
  framesDecoded: 0,
  videoWidth: 0,
  audioPackets: 0,
  audioEnergy: 0,
  dataEcho: null,
  simulcast: false,
  substream: null,
  temporal: null,
  // The video layers the browser is sending: [{ rid, width }] (simulcast: one per active rid).
  sentLayers: [],
  error: null,
});
const { show, fail } = reporter(state);

// Remote statistics: decoded frames, received audio, the remote video's size.
async function poll(handle) {
  const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
  if (pc) {
    const stats = await pc.getStats();
    const sent = [];
    stats.forEach((s) => {
      if (s.type === "outbound-rtp" && s.kind === "video" && s.frameWidth > 0) {
        sent.push({ rid: s.rid || null, width: s.frameWidth });
      }
      if (s.type !== "inbound-rtp") return;
      if (s.kind === "video") state.framesDecoded = s.framesDecoded || 0;
      if (s.kind === "audio") {
        state.audioPackets = s.packetsReceived || 0;
        state.audioEnergy = s.totalAudioEnergy || 0;
      }
    });
    state.sentLayers = sent;
  }
  state.videoWidth = $("remote").videoWidth;
  show();
}

function start() {
  const { kind, url } = server(params.get("transport"));
  state.transport = kind;
  state.simulcast = params.get("simulcast") === "1";
  $("layers").hidden = !state.simulcast;
  show();
  const janus = new Janus({
    server: url,
    iceServers: [],
    success: () => attach(janus),
    error: (e) => fail("gateway", e),
  });
}

function attach(janus) {
  let echotest = null;
  const remote = new MediaStream();
  janus.attach({
    plugin: "janus.plugin.echotest",
    opaqueId: `portunus-demo-${Janus.randomString(8)}`,
    success: (handle) => {
      echotest = handle;
      handle.createOffer({
        tracks: [
          { type: "audio", capture: true, recv: true },
          { type: "video", capture: true, recv: true, simulcast: state.simulcast },
          { type: "data" },
        ],
        success: (jsep) => handle.send({ message: { audio: true, video: true }, jsep }),
        error: (e) => fail("createOffer", e),
      });
      setInterval(() => poll(handle).catch((e) => fail("stats", String(e))), 500);
      wire(handle);
    },
    error: (e) => fail("attach", e),
    onmessage: (msg, jsep) => {
      if (msg.error) fail("echotest", msg.error);
      if (msg.result) state.result = msg.result;
      if (msg.substream !== undefined) state.substream = msg.substream;
      if (msg.temporal !== undefined) state.temporal = msg.temporal;
      if (jsep) echotest.handleRemoteJsep({ jsep });
      show();
    },
    onlocaltrack: (track, on) => {
      if (on && track.kind === "video") $("local").srcObject = new MediaStream([track]);
    },
    onremotetrack: (track, mid, on) => {
      if (on) remote.addTrack(track);
      else remote.removeTrack(track);
      $("remote").srcObject = remote;
    },
    webrtcState: (up) => {
      state.webrtcUp = up;
      show();
    },
    ondataopen: () => echotest.data({ text: $("text").value }),
    ondata: (text) => {
      state.dataEcho = text;
      show();
    },
    oncleanup: () => {
      state.webrtcUp = false;
      show();
    },
  });
}

function wire(handle) {
  const send = (message) => handle.send({ message });
  // For scripts and the console: send EchoTest requests, reach the handle.
  window.demoSend = send;
  window.demoHandle = handle;
  for (const n of [0, 1, 2]) {
    $(`substream${n}`).onclick = () => send({ substream: n });
  }  $("audio").onchange = (e) => send({ audio: e.target.checked });
  $("video").onchange = (e) => send({ video: e.target.checked });
  $("bitrate").onchange = (e) => send({ bitrate: Number(e.target.value) });
  $("send").onclick = () => handle.data({ text: $("text").value });
}

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies(),
  callback: start,
});

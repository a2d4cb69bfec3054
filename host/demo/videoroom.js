// The VideoRoom demo, as janus.js's own VideoRoom demo does it: a publisher handle joins the
// room and publishes the camera and the microphone; for every other publisher the room
// announces, a subscriber handle joins with that feed's streams, answers the gateway's offer and
// plays what comes. `window.demo` holds what the page observed (the browser test reads it).
import Janus from "./vendor/janus.js";
import { $, params, reporter, server } from "./common.js";

const room = Number(params.get("room") || 1234);
const state = (window.demo = {
  room,
  display: params.get("name") || `guest-${Math.random().toString(36).slice(2, 6)}`,
  id: null,
  published: false,
  // ?simulcast=1: the camera goes out in three layers; each feed's substream can be picked.
  simulcast: params.get("simulcast") === "1",
  // ?svc=L3T3_KEY (a scalability mode): the camera goes out as VP9 SVC; each feed's spatial
  // layer can be picked.
  svc: params.get("svc"),
  // The video layers we send: [{ rid, width }].
  sentLayers: [],
  // By publisher id: { display, framesDecoded, videoWidth, audioPackets, substream, spatial,
  // svc, gone }.
  feeds: {},
  error: null,
});
const { show, fail } = reporter(state);
// By publisher id: a feed's subscriber handle and the mid its video came on.
const subscriptions = {};
// Our publisher handle, and the streams the gateway says we publish.
let publisher = null;
let published = [];

// Forwards what we publish to plain RTP ports (`rtp_forward`), e.g. into a Streaming
// mountpoint: `ports` by kind, `{audio: {port, pt}, video: {port, pt}}`, with any other field
// of Janus's (`port_2`, `ssrc`, …). For scripts.
window.demoForward = (host, ports) =>
  new Promise((resolve) => {
    const streams = published.filter((s) => ports[s.type]).map((s) => ({ mid: s.mid, ...ports[s.type] }));
    const message = { request: "rtp_forward", room, publisher_id: state.id, host, streams };
    publisher.send({ message, success: resolve, error: (e) => resolve({ error: String(e) }) });
  });

// Asks for a feed's video layers (0 lowest .. 2 highest), `{ substream }` of simulcast or
// `{ spatial_layer }` of SVC: for the buttons and scripts.
window.demoLayers = (id, layers) => {
  const sub = subscriptions[id];
  if (sub && sub.videoMid !== null) {
    sub.handle.send({ message: { request: "configure", streams: [{ mid: sub.videoMid, ...layers }] } });
  }
};

function start() {
  const janus = new Janus({
    server: server(params.get("transport")).url,
    iceServers: [],
    success: () => publish(janus),
    error: (e) => fail("gateway", e),
  });
}

function publish(janus) {
  let handle = null;
  janus.attach({
    plugin: "janus.plugin.videoroom",
    opaqueId: `portunus-demo-${Janus.randomString(8)}`,
    success: (h) => {
      handle = h;
      publisher = h;
      $("me").textContent = state.display;
      h.send({ message: { request: "join", ptype: "publisher", room, display: state.display } });
    },
    error: (e) => fail("attach", e),
    onmessage: (msg, jsep) => {
      if (msg.error) fail("videoroom", msg.error);
      if (msg.videoroom === "joined") {
        state.id = msg.id;
        handle.createOffer({
          tracks: [
            { type: "audio", capture: true, recv: false },
            { type: "video", capture: true, recv: false, simulcast: state.simulcast, svc: state.svc || undefined },
          ],
          success: (offer) => {
            // SVC is VP9's (the room must have it).
            const message = { request: "configure", audio: true, video: true, ...(state.svc ? { videocodec: "vp9" } : {}) };
            handle.send({ message, jsep: offer });
          },
          error: (e) => fail("createOffer", e),
        });
      }
      if (msg.configured === "ok" && msg.streams) published = msg.streams;
      for (const p of msg.publishers || []) subscribe(janus, p);
      const gone = msg.unpublished || msg.leaving;
      if (state.feeds[gone]) state.feeds[gone].gone = true;
      if (jsep) handle.handleRemoteJsep({ jsep });
      show();
    },
    onlocaltrack: (track, on) => {
      if (on && track.kind === "video") $("local").srcObject = new MediaStream([track]);
    },
    webrtcState: (up) => {
      state.published = up;
      show();
      if (up) setInterval(() => sentLayers(handle).catch((e) => fail("stats", String(e))), 500);
    },
  });
}

// The sizes of the video layers we send.
async function sentLayers(handle) {
  const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
  if (!pc) return;
  const layers = [];
  (await pc.getStats()).forEach((s) => {
    if (s.type === "outbound-rtp" && s.kind === "video" && s.frameWidth > 0) {
      layers.push({ rid: s.rid || null, width: s.frameWidth });
    }
  });
  state.sentLayers = layers;
}

function subscribe(janus, publisher) {
  if (state.feeds[publisher.id]) return;
  const feed = (state.feeds[publisher.id] = {
    display: publisher.display,
    framesDecoded: 0,
    videoWidth: 0,
    audioPackets: 0,
    substream: null,
    spatial: null,
    svc: false,
    gone: false,
  });
  const figure = document.createElement("figure");
  const video = document.createElement("video");
  Object.assign(video, { autoplay: true, playsInline: true, muted: true });
  const caption = Object.assign(document.createElement("figcaption"), { textContent: publisher.display });
  figure.append(video, caption);
  const streams = publisher.streams || [];
  const layered = streams.some((s) => s.simulcast) ? "substream" : streams.some((s) => s.svc) ? "spatial_layer" : null;
  if (layered) {
    for (const [name, n] of [["low", 0], ["medium", 1], ["high", 2]]) {
      const button = Object.assign(document.createElement("button"), { textContent: name });
      button.onclick = () => window.demoLayers(publisher.id, { [layered]: n });
      caption.append(" ", button);
    }
  }
  $("feeds").append(figure);
  const stream = new MediaStream();
  let handle = null;
  janus.attach({
    plugin: "janus.plugin.videoroom",
    opaqueId: `portunus-demo-${Janus.randomString(8)}`,
    success: (h) => {
      handle = h;
      subscriptions[publisher.id] = { handle: h, videoMid: null };
      h.send({ message: { request: "join", ptype: "subscriber", room, streams: [{ feed: publisher.id }] } });
      setInterval(() => poll(h, feed, video).catch((e) => fail("stats", String(e))), 500);
    },
    error: (e) => fail("attach subscriber", e),
    onmessage: (msg, jsep) => {
      if (msg.error) fail("subscriber", msg.error);
      const offered = (msg.streams || []).find((s) => s.type === "video" && s.active);
      if (offered) subscriptions[publisher.id].videoMid = offered.mid;
      if (offered && offered.svc) feed.svc = true;
      if (msg.substream !== undefined) feed.substream = msg.substream;
      if (msg.spatial_layer !== undefined) feed.spatial = msg.spatial_layer;
      if (!jsep) return;
      // We capture nothing: the offered audio and video are answered receive-only.
      handle.createAnswer({
        jsep,
        tracks: [{ type: "data" }],
        success: (answer) => handle.send({ message: { request: "start", room }, jsep: answer }),
        error: (e) => fail("createAnswer", e),
      });
    },
    onremotetrack: (track, mid, on) => {
      if (on) stream.addTrack(track);
      else stream.removeTrack(track);
      video.srcObject = stream;
    },
  });
}

// A feed's statistics: decoded frames, received audio, the video's size.
async function poll(handle, feed, video) {
  const pc = handle.webrtcStuff && handle.webrtcStuff.pc;
  if (!pc) return;
  const stats = await pc.getStats();
  stats.forEach((s) => {
    if (s.type !== "inbound-rtp") return;
    if (s.kind === "video") feed.framesDecoded = s.framesDecoded || 0;
    if (s.kind === "audio") feed.audioPackets = s.packetsReceived || 0;
  });
  feed.videoWidth = video.videoWidth;
  show();
}

Janus.init({
  debug: false,
  dependencies: Janus.useDefaultDependencies(),
  callback: start,
});

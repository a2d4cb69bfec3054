// `janus.plugin.echotest` in JavaScript: the Janus EchoTest, with exactly the behaviour of the
// Rust build (`plugins-wasm/echotest`), whose saved state it shares (either may replace the
// other while calls run).
//
// A client's audio, video and data come back to it. One unnamed, asynchronous request whose
// fields are all optional; an `ack` ("I'm taking my time!"), then an event with the same
// transaction: `{"echotest": "event", "result": "ok"}` (with the answer JSEP when the request
// carried an offer) or `{"echotest": "event", "error_code": N, "error": "..."}`. When the
// PeerConnection goes away: `{"echotest": "event", "result": "done"}`. The plugin never touches
// a packet: an offer becomes an answer made by the host and a forwarding rule from the handle to
// itself; the switches become intents. `record` records what the client sends to
// `<filename>-audio.mjr`, `-video.mjr` and `-data.mjr` (the host writes them); `videoprofile`,
// `opusred`, the playout delays and `fallback` are accepted and have no effect, as in the Rust
// build.

import {
  BOOL, INTEGER, STRING, Keyed, PluginError, ack, definePlugin, errorText, event, field, handleKey,
  hasSimulcast, hasSvc, host, info, isOffer, log, parseBody, pushEvent, refuse,
} from '../sdk/portunus.js';

const PACKAGE = 'janus.plugin.echotest';
const HINT = "I'm taking my time!";

const ERROR_NO_MESSAGE = 411;
const ERROR_INVALID_JSON = 412;
const ERROR_INVALID_ELEMENT = 413;
const ERROR_INVALID_SDP = 414;
const CODES = { invalidJson: ERROR_INVALID_JSON, missingElement: ERROR_INVALID_ELEMENT, invalidElement: ERROR_INVALID_ELEMENT };

// The request's fields, in Janus's order (the first bad one is reported).
const FIELDS = [
  field('audio', BOOL),
  field('video', BOOL),
  field('bitrate', INTEGER, { positive: true }),
  field('record', BOOL),
  field('filename', STRING),
  field('substream', INTEGER, { positive: true }),
  field('temporal', INTEGER, { positive: true }),
  field('fallback', INTEGER, { positive: true }),
  field('spatial_layer', INTEGER, { positive: true }),
  field('temporal_layer', INTEGER, { positive: true }),
  field('audiocodec', STRING),
  field('videocodec', STRING),
  field('videoprofile', STRING),
  field('opusred', BOOL),
  field('min_delay', INTEGER),
  field('max_delay', INTEGER),
];
// Anything of these (or a JSEP) is a request; nothing of them is Janus's 413.
const ASKS = ['audio', 'video', 'videocodec', 'videoprofile', 'opusred', 'bitrate', 'substream', 'temporal',
  'fallback', 'spatial_layer', 'temporal_layer', 'record', 'min_delay', 'max_delay'];

/** A handle without a PeerConnection (the Rust build's `Session`, field for field). */
function newSession(slowlinkCount = 0) {
  return {
    audio_active: true, video_active: true, bitrate: 0, audio_codec: null, video_codec: null,
    opusred: false, simulcast: false, svc_offered: false, has_data: false, substream_target: null, temporal_target: null, substream: null,
    temporal: null, fallback: null, min_delay: -1, max_delay: -1, rule: null, slowlink_count: slowlinkCount,
    record_base: null, audio_recording: null, video_recording: null, data_recording: null,
  };
}

/** Records every negotiated stream that recording was asked for and is not recorded yet. */
function record(handle, session) {
  const base = session.record_base;
  if (base == null) return;
  const negotiated = { audio: session.audio_codec != null, video: session.video_codec != null, data: !!session.has_data };
  for (const kind of ['audio', 'video', 'data']) {
    if (!negotiated[kind] || session[`${kind}_recording`] != null) continue;
    const file = `${base}-${kind}.mjr`;
    try {
      session[`${kind}_recording`] = Number(host.forwardRecord({ tag: 'peer', val: handle }, '', file, { kinds: [kind], substream: undefined, temporal: undefined }));
    } catch (err) {
      log.warn(`[${handle.handle}] cannot record to ${file}: ${errorText(err)}`);
    }
  }
}

/** Ends the recordings (the files complete). */
function stopRecording(session) {
  for (const key of ['audio_recording', 'video_recording', 'data_recording']) {
    if (session[key] != null) host.unforward(BigInt(session[key]));
    session[key] = null;
  }
}

const okEvent = () => event(PACKAGE, { result: 'ok' });
const layerEvent = (codec, key, layer) => event(PACKAGE, { videocodec: codec ?? '', [key]: layer });
/** A layer (0, 1 or 2) of the request, or Janus's 413. */
function layerOf(request, name) {
  const layer = request[name];
  if (layer != null && layer > 2) throw new PluginError(ERROR_INVALID_ELEMENT, `Invalid value (${name} should be 0, 1 or 2)`);
  return layer ?? null;
}
/** Whether the client sends VP9 SVC (its JSEP said so): the rule's layers are spatial and temporal. */
const svc = (session) => session.svc_offered && session.video_codec === 'vp9';
/** SVC aims at the top layers unless the client asked for others, as in Janus. */
function aimSvc(handle, session) {
  const targets = [session.substream_target ?? 2, session.temporal_target ?? 2];
  if (!svc(session) || (targets[0] === session.substream_target && targets[1] === session.temporal_target)) return;
  [session.substream_target, session.temporal_target] = targets;
  if (session.rule == null) return;
  try {
    host.setLayers(BigInt(session.rule), targets[0], targets[1]);
  } catch (err) {
    log.debug(`[${handle.handle}] set-layers: ${errorText(err)}`);
  }
}
const clampDelay = (v) => (v >= -32768 && v <= 32767 ? v : v < 0 ? -1 : 32767);
const opt = (v) => (v == null ? undefined : v);

class EchoTest {
  constructor() {
    // handle id -> session; negotiation id -> [handle, transaction] (saved as in Rust).
    this.sessions = new Keyed('session/');
    this.answering = new Keyed('answering/');
  }

  info() {
    return info(PACKAGE, 'JANUS EchoTest plugin', {
      author: 'Portunus', version: 8,
      description: 'This is a trivial EchoTest plugin for Janus, just used to showcase the plugin interface.',
    });
  }

  createHandle(handle) {
    if (!this.sessions.has(handle.handle)) this.sessions.set(handle.handle, newSession());
  }

  handleMessage(msg) {
    if (!this.sessions.has(msg.handle.handle)) return refuse('No session associated with this handle');
    // Every request is asynchronous: `ack` now, its result as an event pushed during the call.
    try {
      const ev = this.process(msg);
      if (ev) pushEvent(msg.handle, msg.transaction, ev);
    } catch (err) {
      if (!(err instanceof PluginError)) throw err;
      pushEvent(msg.handle, msg.transaction, err.event(PACKAGE));
    }
    return ack(HINT);
  }

  /** Everything after the `ack`: the event to send, or null while the host answers. */
  process(msg) {
    const handle = msg.handle;
    if (!msg.rawBody.trim()) throw new PluginError(ERROR_NO_MESSAGE, 'No message??');
    const request = parseBody(msg.body, FIELDS, CODES);
    const jsep = msg.jsep?.sdp ? msg.jsep : null;
    const session = this.sessions.get(handle.handle);
    const has = (key) => key in request;

    // A spatial layer is the rule's substream, as the host forwards SVC.
    const [plainSubstream, plainTemporal] = [layerOf(request, 'substream'), layerOf(request, 'temporal')];
    const [spatialLayer, temporalLayer] = [layerOf(request, 'spatial_layer'), layerOf(request, 'temporal_layer')];
    const substream = spatialLayer ?? plainSubstream;
    const temporal = temporalLayer ?? plainTemporal;

    // Enforce the request, as Janus does, before checking that it asked for anything.
    if (has('audio')) {
      session.audio_active = request.audio;
      host.setMediaEnabled(handle, 'audio', request.audio);
    }
    if (has('video')) {
      // Video comes back: ask for a keyframe so the client sees it at once.
      if (request.video && !session.video_active) host.requestKeyframe(handle, undefined);
      session.video_active = request.video;
      host.setMediaEnabled(handle, 'video', request.video);
    }
    if (has('bitrate')) {
      session.bitrate = Math.min(request.bitrate, 0xffffffff);
      host.setBitrateCap(handle, session.bitrate);
    }
    if (has('fallback')) session.fallback = request.fallback;
    if (substream != null || temporal != null) {
      if (substream != null) session.substream_target = substream;
      if (temporal != null) session.temporal_target = temporal;
      if (session.rule != null) {
        try {
          host.setLayers(BigInt(session.rule), opt(session.substream_target), opt(session.temporal_target));
        } catch (err) {
          log.debug(`[${handle.handle}] set-layers: ${errorText(err)}`);
        }
      }
    }
    const codec = session.video_codec;
    if (substream != null) {
      // Already there: tell the client, as Janus does.
      const key = spatialLayer == null ? 'substream' : 'spatial_layer';
      if (session.substream === substream) pushEvent(handle, null, layerEvent(codec, key, substream));
      else host.requestKeyframe(handle, undefined);
    }
    if (temporal != null) {
      const key = temporalLayer == null ? 'temporal' : 'temporal_layer';
      if (session.temporal === temporal && (codec === 'vp8' || codec === 'vp9')) pushEvent(handle, null, layerEvent(codec, key, temporal));
      else host.requestKeyframe(handle, undefined);
    }
    if (has('min_delay')) {
      const low = clampDelay(request.min_delay);
      if (low < 0) session.min_delay = session.max_delay = -1;
      else [session.min_delay, session.max_delay] = [low, Math.max(session.max_delay, low)];
    }
    if (has('max_delay')) {
      const high = clampDelay(request.max_delay);
      if (high < 0) session.min_delay = session.max_delay = -1;
      else [session.max_delay, session.min_delay] = [high, Math.min(session.min_delay, high)];
    }
    if (has('opusred')) session.opusred = request.opusred;
    if (has('record')) {
      // A new `record: true` starts new files, as in Janus.
      stopRecording(session);
      session.record_base = request.record ? (request.filename || `echotest-${handle.handle}-${Date.now() * 1000}`) : null;
      record(handle, session);
    }

    if (!ASKS.some(has) && !jsep) throw new PluginError(ERROR_INVALID_ELEMENT, 'Message error: no supported attributes found');
    if (!jsep) return okEvent();
    if (!isOffer(jsep)) {
      throw new PluginError(ERROR_INVALID_SDP, `Error parsing offer: expected an offer, got '${jsep.type ?? ''}'`);
    }
    const policy = {
      // Janus answers every stream the client offers; the switches decide what comes back.
      audio: true, video: true, data: true,
      audioCodecs: has('audiocodec') ? [request.audiocodec] : [],
      videoCodecs: has('videocodec') ? [request.videocodec] : [],
      simulcast: true, direction: 'sendrecv',
    };
    let answer;
    try {
      answer = host.answer(handle, jsep.sdp, policy);
    } catch (err) {
      throw new PluginError(ERROR_INVALID_SDP, errorText(err));
    }
    this.answering.set(answer, [handleKey(handle), msg.transaction]);
    session.simulcast = session.simulcast || hasSimulcast(jsep);
    session.svc_offered = session.svc_offered || hasSvc(jsep);
    if (session.rule == null) {
      const peer = { tag: 'peer', val: handle };
      const options = { kinds: [], substream: opt(session.substream_target), temporal: opt(session.temporal_target) };
      try {
        session.rule = Number(host.forward(peer, undefined, peer, undefined, options));
      } catch (err) {
        log.warn(`[${handle.handle}] could not set up the echo: ${errorText(err)}`);
      }
    }
    // A new PeerConnection starts with the switches the client already set.
    host.setMediaEnabled(handle, 'audio', session.audio_active);
    host.setMediaEnabled(handle, 'video', session.video_active);
    if (session.bitrate > 0) host.setBitrateCap(handle, session.bitrate);
    return null;
  }

  // The host made (or could not make) the answer: the request's event goes out now. An id the
  // restored state does not know still answers its handle, without a transaction.
  onNegotiation(handle, result) {
    const pending = this.answering.get(result.id);
    this.answering.delete(result.id);
    const transaction = pending ? pending[1] : null;
    if (result.outcome.tag === 'err') pushEvent(handle, transaction, new PluginError(ERROR_INVALID_SDP, result.outcome.val).event(PACKAGE));
    else pushEvent(handle, transaction, okEvent(), result.outcome.val.jsep);
  }

  onNegotiated(handle, streams) {
    const session = this.sessions.get(handle.handle);
    if (!session) return;
    const codecOf = (kind) => streams.find((s) => s.kind === kind && s.codec)?.codec.toLowerCase() ?? null;
    session.audio_codec = codecOf('audio');
    session.video_codec = codecOf('video');
    session.simulcast = streams.some((s) => s.kind === 'video' && s.rids.length > 0);
    session.has_data = streams.some((s) => s.kind === 'data');
    record(handle, session);
    aimSvc(handle, session);
  }

  onWebrtcUp(handle) {
    log.debug(`[${handle.handle}] WebRTC media is now available`);
  }

  onSlowLink(handle, link) {
    const session = this.sessions.get(handle.handle);
    if (!session) return;
    session.slowlink_count += 1;
    const video = link.kind === 'video';
    // We are not relaying that media, so the client's losses are expected.
    if (link.uplink && !session[video ? 'video_active' : 'audio_active']) return;
    const media = video ? 'video' : 'audio';
    log.warn(`[${handle.handle}] getting a lot of NACKs (slow ${link.uplink ? 'uplink' : 'downlink'}) for ${media}`);
    if (!link.uplink) {
      const fields = { event: 'slow_link', media };
      if (video) fields['current-bitrate'] = session.bitrate;
      pushEvent(handle, null, event(PACKAGE, fields));
    }
  }

  layerChanged(handle, change, key) {
    const session = this.sessions.get(handle.handle);
    if (!session || session.rule == null || BigInt(session.rule) !== change.rule) return;
    session[key] = change.layer;
    if (svc(session)) {
      // Janus tells both layers of SVC at once, from when the spatial one is known.
      if (session.substream == null) return;
      const ev = layerEvent(session.video_codec, 'spatial_layer', session.substream);
      ev.temporal_layer = session.temporal ?? session.temporal_target;
      pushEvent(handle, null, ev);
    } else {
      pushEvent(handle, null, layerEvent(session.video_codec, key, change.layer));
    }
  }

  onSubstreamChanged(handle, change) {
    this.layerChanged(handle, change, 'substream');
  }

  onTemporalChanged(handle, change) {
    this.layerChanged(handle, change, 'temporal');
  }

  onHangup(handle, reason) {
    log.debug(`[${handle.handle}] no WebRTC media anymore (${reason})`);
    const session = this.sessions.get(handle.handle);
    if (!session) return;
    pushEvent(handle, null, event(PACKAGE, { result: 'done' }));
    if (session.rule != null) host.unforward(BigInt(session.rule));
    stopRecording(session);
    this.sessions.set(handle.handle, newSession(session.slowlink_count));
  }

  /** Binary messages come back as they are; text ones with Janus's prefix. */
  incomingData(handle, label, data, isText) {
    if (data.length === 0 || !this.sessions.has(handle.handle)) return;
    let reply = data;
    if (isText) {
      const prefix = new TextEncoder().encode('Janus EchoTest here! You wrote: ');
      reply = new Uint8Array(prefix.length + data.length);
      reply.set(prefix);
      reply.set(data, prefix.length);
    }
    host.sendData(handle, label, reply, isText);
  }

  destroyHandle(handle) {
    this.sessions.delete(handle.handle);
    this.answering.retain((_, pending) => BigInt(pending[0].handle) !== handle.handle);
  }

  queryHandle(handle) {
    const s = this.sessions.get(handle.handle);
    if (!s) return {};
    const q = { audio_active: s.audio_active, video_active: s.video_active };
    if (s.audio_codec != null) {
      q.audio_codec = s.audio_codec;
      if (s.opusred) q.audio_red = true;
    }
    if (s.video_codec != null) q.video_codec = s.video_codec;
    q.bitrate = s.bitrate;
    q['peer-bitrate'] = 0;
    if (svc(s)) {
      q.svc = true;
      q['spatial-layer'] = s.substream;
      q['spatial-layer-target'] = s.substream_target ?? 2;
      q['temporal-layer'] = s.temporal;
      q['temporal-layer-target'] = s.temporal_target ?? 2;
    } else if (s.simulcast) {
      q.simulcast = true;
      q.substream = s.substream;
      q['substream-target'] = s.substream_target ?? 2;
      q['temporal-layer'] = s.temporal;
      q['temporal-layer-target'] = s.temporal_target ?? 2;
      if (s.fallback != null) q.fallback = s.fallback;
    }
    if (s.rule != null) q['forwarding-rule'] = s.rule;
    q.slowlink_count = s.slowlink_count;
    q.hangingup = 0;
    q.destroyed = 0;
    return q;
  }

  // Like Janus's EchoTest, which has nothing to configure: the request comes back.
  handleAdminMessage(request) {
    return request;
  }
}

export const {
  init, createHandle, handleMessage, handleAdminMessage, mediaEvent, incomingData, timer, inputMedia, inputSource, mixerRecordFailed,
  datagram, destroyHandle, queryHandle, checkpoint, restore,
} = definePlugin(EchoTest);

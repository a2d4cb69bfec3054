// `janus.plugin.videocall`: one-to-one calls, as Janus's VideoCall, written in JavaScript.
//
// Users `register` a name; `call` with an offer rings another user (`incomingcall`, with an
// offer), who answers with `accept`; then each one's audio, video and data reach the other.
// `set` changes what a user sends (`audio`, `video`, `bitrate`) and which simulcast layers it
// gets (`substream`, `temporal`); with an offer it renegotiates, and streams it adds are offered
// to the peer (`update`), who answers with `set`. `hangup` ends the call for both.
//
// Janus relays the caller's SDP to the callee; here the gateway ends each PeerConnection: it
// answers the caller's offer (held until the callee accepts) and offers the callee the caller's
// streams both ways, in the caller's codecs (the host's `two-way` offered streams). Media goes
// through forwarding rules in the host, both ways; the plugin never sees a packet. Data-channel
// messages are relayed by the plugin.
//
// Requests, events and error codes are Janus 1.1's (`janus-api.md` §4.7). `set` with `record`
// records what the user sends during a call, each audio, video and data stream to an .mjr file
// (`<filename>-audio.mjr`, `-video.mjr`, `-data.mjr`; without `filename`, Janus's
// `videocall-<user>-<peer>-<µs>`), for Janus's `janus-pp-rec`; the call's end ends it.

import {
  BOOL, INTEGER, STRING, Keyed, PluginError, ack, definePlugin, errorText, field, handleKey, host, info,
  isOffer, log, notifyEvent, parseObject, pushEvent, validate,
} from '../sdk/portunus.js';

const PACKAGE = 'janus.plugin.videocall';

// Janus's VideoCall error codes.
const E = {
  UNKNOWN: 499, NO_MESSAGE: 470, INVALID_JSON: 471, INVALID_REQUEST: 472, REGISTER_FIRST: 473,
  INVALID_ELEMENT: 474, MISSING_ELEMENT: 475, USERNAME_TAKEN: 476, ALREADY_REGISTERED: 477,
  NO_SUCH_USERNAME: 478, USE_ECHO_TEST: 479, ALREADY_IN_CALL: 480, NO_CALL: 481, MISSING_SDP: 482,
  INVALID_SDP: 483,
};
const CODES = { invalidJson: E.INVALID_JSON, missingElement: E.MISSING_ELEMENT, invalidElement: E.INVALID_ELEMENT };
const REQUEST = [field('request', STRING, { required: true })];
const USERNAME = [field('username', STRING, { required: true })];
const SET = [
  field('audio', BOOL), field('video', BOOL), field('bitrate', INTEGER, { positive: true }), field('record', BOOL),
  field('filename', STRING), field('restart', BOOL),
];

// How a call's PeerConnections are answered: everything the client offers, both ways.
const CALL_POLICY = {
  audio: true, video: true, data: true, audioCodecs: [], videoCodecs: [], simulcast: true, direction: 'sendrecv',
};

// A call as one user sees it: { peer (a handle as numbers), peerName, caller, stage: 'setting'
// (the host answers the caller and offers the callee) | 'ringing' | 'up', answer (the caller's,
// held until the callee accepts), streams: [{ kind, codec, mine, theirs, rule }] }.

const result = (fields) => ({ videocall: 'event', result: fields });
// A handle kept in saved state (numbers) as the host takes it (BigInts).
const ref = (h) => ({ session: BigInt(h.session), handle: BigInt(h.handle) });
const peerOf = (h) => ({ tag: 'peer', val: ref(h) });
const mirror = (s) => ({ kind: s.kind, codec: s.codec, mine: s.theirs, theirs: s.mine, rule: null });
const push = (handle, transaction, fields, jsep) => pushEvent(ref(handle), transaction, result(fields), jsep);
// What the event handlers hear about a handle, as Janus's VideoCall tells them.
const notify = (handle, fields) => notifyEvent(ref(handle), () => fields);

class VideoCall {
  constructor() {
    // Registered names -> handle id; handle id -> user; "<handle>:<negotiation>" -> what the
    // host is negotiating for a call.
    this.names = new Keyed('name/');
    this.users = new Keyed('user/');
    this.pending = new Keyed('pending/');
  }

  info() {
    return info(PACKAGE, 'JANUS VideoCall plugin', {
      author: 'Portunus', version: 6,
      description: 'This is a simple video call plugin for Janus, allowing two WebRTC peers to call each other through a server.',
    });
  }

  user(id) {
    return this.users.get(BigInt(id));
  }

  createHandle(handle) {
    if (!this.users.has(handle.handle)) {
      this.users.set(handle.handle, { handle: handleKey(handle), username: null, audio: true, video: true, substream: null, temporal: null, call: null });
    }
  }

  handleMessage(msg) {
    try {
      if (!msg.rawBody.trim()) throw new PluginError(E.NO_MESSAGE, 'No message??');
      this.process(msg, parseObject(msg.rawBody, CODES));
    } catch (err) {
      if (!(err instanceof PluginError)) throw err;
      pushEvent(msg.handle, msg.transaction, err.event(PACKAGE));
    }
    return ack();
  }

  process(msg, body) {
    validate(body, REQUEST, CODES);
    const handle = handleKey(msg.handle);
    const user = this.user(handle.handle);
    const tx = msg.transaction;
    switch (body.request.toLowerCase()) {
      case 'list':
        return push(handle, tx, { list: [...this.names.keys()].sort() });
      case 'register': {
        // Already registered is checked first, as in Janus.
        if (user.username != null) throw new PluginError(E.ALREADY_REGISTERED, `Already registered (${user.username})`);
        validate(body, USERNAME, CODES);
        if (this.names.has(body.username)) throw new PluginError(E.USERNAME_TAKEN, `Username '${body.username}' already taken`);
        this.names.set(body.username, handle.handle);
        user.username = body.username;
        notify(handle, { event: 'registered', username: body.username });
        return push(handle, tx, { event: 'registered', username: body.username });
      }
      case 'call':
        return this.call(msg, body, handle, user);
      case 'accept':
        return this.accept(msg, handle, user);
      case 'set':
        return this.set(msg, body, handle, user);
      case 'hangup':
        return this.hangUp(handle, 'Explicit hangup', body.reason ?? 'We did the hangup', tx);
      default:
        throw new PluginError(E.INVALID_REQUEST, `Unknown request (${body.request.toLowerCase()})`);
    }
  }

  // `call` with an offer: the caller hears `calling`, the host answers its offer (the answer
  // waits for `accept`); once the caller's streams are known, the callee is offered them.
  call(msg, body, handle, user) {
    const me = user.username;
    if (me == null) throw new PluginError(E.REGISTER_FIRST, 'Register a username first');
    validate(body, USERNAME, CODES);
    const calleeName = body.username;
    if (calleeName === me) throw new PluginError(E.USE_ECHO_TEST, "You can't call yourself... use the EchoTest for that");
    if (user.call) throw new PluginError(E.ALREADY_IN_CALL, 'Already in a call');
    const calleeId = this.names.get(calleeName);
    const callee = calleeId == null ? null : this.user(calleeId);
    if (!callee) throw new PluginError(E.NO_SUCH_USERNAME, `Username '${calleeName}' doesn't exist`);
    if (callee.call) {
      // Busy: a hangup (with the caller's name, as from Janus); the callee hears nothing.
      push(handle, msg.transaction, { event: 'hangup', username: me, reason: 'User busy' });
      notify(handle, { event: 'hangup', reason: 'User busy' });
      host.closePc(msg.handle);
      return;
    }
    const jsep = msg.jsep?.sdp ? msg.jsep : null;
    if (!jsep) throw new PluginError(E.MISSING_SDP, 'Missing SDP');
    if (!isOffer(jsep)) throw new PluginError(E.INVALID_SDP, `Unsupported SDP type '${jsep.type}'`);
    let id;
    try {
      id = host.answer(msg.handle, jsep.sdp, CALL_POLICY);
    } catch (err) {
      throw new PluginError(E.INVALID_SDP, errorText(err));
    }
    this.pending.set(`${handle.handle}:${id}`, { what: 'caller-answer', transaction: msg.transaction });
    const call = (peer, peerName, caller) => ({ peer, peerName, caller, stage: 'setting', answer: null, streams: [] });
    user.call = call(callee.handle, calleeName, true);
    callee.call = call(handle, me, false);
    push(handle, msg.transaction, { event: 'calling' });
    notify(handle, { event: 'calling' });
  }

  // The host answered the caller (the answer waits for `accept`), offered the callee (who hears
  // `incomingcall`), or answered a renegotiation (`set`).
  onNegotiation(h, outcome) {
    const handle = handleKey(h);
    const key = `${handle.handle}:${outcome.id}`;
    const pending = this.pending.get(key);
    if (!pending) return;
    this.pending.delete(key);
    if (outcome.outcome.tag === 'err') {
      const tx = pending.transaction ?? null;
      pushEvent(h, tx, new PluginError(E.INVALID_SDP, outcome.outcome.val).event(PACKAGE));
      if (pending.what === 'caller-answer' || pending.what === 'callee-offer') this.hangUp(handle, null, 'Negotiation failed', null);
      return;
    }
    const done = outcome.outcome.val;
    const call = this.user(handle.handle)?.call;
    const joined = (theirs) => theirs.map(([kind, mid, codec], i) => ({ kind, codec, mine: done.mids[i], theirs: mid, rule: null }));
    switch (pending.what) {
      case 'caller-answer':
        if (call) call.answer = done.jsep ?? null;
        break;
      case 'callee-offer': {
        if (!call) return;
        call.stage = 'ringing';
        call.streams = joined(pending.theirs);
        const caller = this.user(call.peer.handle)?.call;
        if (caller) {
          caller.stage = 'ringing';
          caller.streams = call.streams.map(mirror);
        }
        push(handle, null, { event: 'incomingcall', username: call.peerName }, done.jsep);
        break;
      }
      case 'renegotiation':
        push(handle, pending.transaction, { event: 'set' }, done.jsep);
        break;
      case 'peer-update': {
        // The new streams join the call on both sides; the peer hears `update` with the offer
        // and answers with `set`.
        if (!call) return;
        const added = joined(pending.theirs);
        call.streams.push(...added);
        const other = this.user(call.peer.handle)?.call;
        if (other) other.streams.push(...added.map(mirror));
        push(handle, null, { event: 'update' }, done.jsep);
        break;
      }
    }
  }

  // A PeerConnection's streams: the caller's, once answered, are offered to the callee; in a
  // call that is up, rules that could not be made yet are made.
  onNegotiated(h, streams) {
    const handle = handleKey(h);
    const call = this.user(handle.handle)?.call;
    if (!call) return;
    if (call.stage === 'up') {
      // A renegotiation that added streams: the peer is offered them (`update`).
      const added = streams.filter((s) => s.clientSends && s.kind !== 'data' && !call.streams.some((c) => c.mine === s.mid));
      if (added.length > 0) {
        const offered = added.map((s) => ({ tag: 'two-way', val: { source: peerOf(handle), mid: s.mid } }));
        try {
          const id = host.offer(ref(call.peer), offered);
          this.pending.set(`${call.peer.handle}:${id}`, { what: 'peer-update', theirs: added.map((s) => [s.kind, s.mid, s.codec]) });
        } catch (err) {
          log.warn(`[${handle.handle}] could not update the peer: ${errorText(err)}`);
        }
      }
      this.connect(handle);
      return;
    }
    if (!(call.caller && call.stage === 'setting')) return;
    const sent = streams.filter((s) => s.clientSends || s.kind === 'data');
    const offered = sent.map((s) => (s.kind === 'data' ? { tag: 'data' } : { tag: 'two-way', val: { source: peerOf(handle), mid: s.mid } }));
    try {
      const id = host.offer(ref(call.peer), offered);
      this.pending.set(`${call.peer.handle}:${id}`, { what: 'callee-offer', theirs: sent.map((s) => [s.kind, s.mid, s.codec]) });
    } catch (err) {
      log.warn(`[${call.peer.handle}] could not offer the call: ${errorText(err)}`);
      this.hangUp(handle, null, 'Negotiation failed', null);
    }
  }

  // `accept` with the callee's answer (the host applied it): both hear `accepted`, the caller
  // with its answer, and media flows both ways.
  accept(msg, handle, user) {
    // Janus checks for a call, then for the SDP: an accept after the call is up has a call.
    const call = user.call;
    if (!call) throw new PluginError(E.NO_CALL, 'No incoming call to accept');
    if (call.stage !== 'ringing' || !msg.jsep?.sdp || call.caller) throw new PluginError(E.MISSING_SDP, 'Missing SDP');
    const caller = this.user(call.peer.handle);
    let answer = null;
    if (caller?.call) {
      caller.call.stage = 'up';
      answer = caller.call.answer;
      caller.call.answer = null;
    }
    call.stage = 'up';
    this.connect(handle);
    this.connect(call.peer);
    push(handle, msg.transaction, { event: 'accepted' });
    push(call.peer, null, { event: 'accepted', username: user.username ?? '' }, answer);
    notify(handle, { event: 'accepted' });
  }

  // Rules from a user's streams to its peer's, where the user sends that kind (`set`) and there
  // is none yet.
  connect(handle) {
    const user = this.user(handle.handle);
    const call = user?.call;
    if (call?.stage !== 'up') return;
    // The layers the peer wants of this user's video.
    const peer = this.user(call.peer.handle);
    const options = { kinds: [], substream: peer?.substream ?? undefined, temporal: peer?.temporal ?? undefined };
    for (const s of call.streams) {
      if (s.rule != null || !(s.kind === 'audio' ? user.audio : s.kind === 'video' ? user.video : false)) continue;
      try {
        s.rule = Number(host.forward(peerOf(handle), s.mine, peerOf(call.peer), s.theirs, options));
      } catch (err) {
        log.debug(`[${handle.handle}] no rule for ${s.mine} yet: ${errorText(err)}`);
      }
    }
    this.record(handle);
  }

  // Records the audio, video and data a user in a call sends, when it asked (`record`), each
  // stream that is not recorded yet to a file of its own.
  record(handle) {
    const user = this.user(handle.handle);
    const call = user?.call;
    if (call?.stage !== 'up' || !user.record) return;
    const base = user.record.base ?? `videocall-${user.username ?? 'unknown'}-${call.peerName ?? 'unknown'}-${Date.now() * 1000}`;
    const seen = { audio: 0, video: 0, data: 0 };
    for (const s of call.streams) {
      if (!(s.kind in seen)) continue;
      const n = seen[s.kind]++;
      if (s.recording != null) continue;
      const file = `${base}-${s.kind}${n > 0 ? `-${n}` : ''}.mjr`;
      try {
        s.recording = Number(host.forwardRecord(peerOf(handle), s.mine, file, { kinds: [], substream: undefined, temporal: undefined }));
        s.recordingFile = file;
      } catch (err) {
        log.warn(`[${handle.handle}] cannot record to ${file}: ${errorText(err)}`);
      }
    }
  }

  // Ends a user's recordings.
  stopRecording(handle) {
    for (const s of this.user(handle.handle)?.call?.streams ?? []) {
      if (s.recording != null) {
        host.unforward(BigInt(s.recording));
        s.recording = null;
        s.recordingFile = null;
      }
    }
  }

  // Removes a user's rules of one kind (all kinds: none).
  disconnect(handle, kind) {
    for (const s of this.user(handle.handle)?.call?.streams ?? []) {
      if ((kind == null || kind === s.kind) && s.rule != null) {
        host.unforward(BigInt(s.rule));
        s.rule = null;
      }
    }
  }

  // `set`: what the user sends (`audio`, `video`), its bitrate, the layers it gets of the
  // peer's video; with an offer, a renegotiation of its own PeerConnection.
  set(msg, body, handle, user) {
    validate(body, SET, CODES);
    // Janus checks the layers by hand, with its own texts.
    for (const name of ['substream', 'temporal']) {
      if (name in body && !(Number.isInteger(body[name]) && body[name] >= 0 && body[name] <= 2)) {
        throw new PluginError(E.INVALID_ELEMENT, `Invalid value (${name} should be 0, 1 or 2)`);
      }
    }
    if ('fallback' in body && !(Number.isInteger(body.fallback) && body.fallback >= 0)) {
      throw new PluginError(E.INVALID_ELEMENT, 'Invalid value (fallback should be a positive integer)');
    }
    if (typeof body.audio === 'boolean') user.audio = body.audio;
    if (typeof body.video === 'boolean') user.video = body.video;
    if ('substream' in body) user.substream = body.substream;
    if ('temporal' in body) user.temporal = body.temporal;
    if ('bitrate' in body) {
      user.bitrate = Math.min(body.bitrate, 0xffffffff);
      host.setBitrateCap(msg.handle, user.bitrate);
    }
    if (typeof body.record === 'boolean') {
      this.stopRecording(handle);
      user.record = body.record ? { base: body.filename ?? null } : null;
    }
    if (!user.audio) this.disconnect(handle, 'audio');
    if (!user.video) this.disconnect(handle, 'video');
    this.connect(handle);
    const peer = user.call?.peer;
    // The layers of the peer's video this user gets.
    if (peer && ('substream' in body || 'temporal' in body)) {
      for (const s of this.user(peer.handle)?.call?.streams ?? []) {
        if (s.kind !== 'video' || s.rule == null) continue;
        try {
          host.setLayers(BigInt(s.rule), user.substream ?? undefined, user.temporal ?? undefined);
        } catch (err) {
          log.debug(`[${handle.handle}] set-layers: ${errorText(err)}`);
        }
      }
    }
    this.tellConfigured(handle, user);
    const jsep = msg.jsep?.sdp ? msg.jsep : null;
    if (jsep && !isOffer(jsep)) {
      // The answer to an `update` (the host applied it): media flows on the new streams, and
      // the peer hears `update`.
      this.connect(handle);
      if (peer) {
        this.connect(peer);
        push(peer, null, { event: 'update' });
      }
      return push(handle, msg.transaction, { event: 'set' });
    }
    if (jsep) {
      let id;
      try {
        id = host.answer(msg.handle, jsep.sdp, CALL_POLICY);
      } catch (err) {
        throw new PluginError(E.INVALID_SDP, errorText(err));
      }
      this.pending.set(`${handle.handle}:${id}`, { what: 'renegotiation', transaction: msg.transaction });
      return;
    }
    push(handle, msg.transaction, { event: 'set' });
  }

  // Tells the event handlers what `set` left, as Janus's `configured`: what the user sends,
  // its bitrate cap (0: none) and the files it is recorded to.
  tellConfigured(handle, user) {
    notifyEvent(ref(handle), () => {
      const told = { event: 'configured', audio_active: user.audio, video_active: user.video, bitrate: user.bitrate ?? 0 };
      const recording = {};
      for (const s of user.call?.streams ?? []) {
        if (s.recordingFile && !(s.kind in recording)) recording[s.kind] = s.recordingFile;
      }
      if (Object.keys(recording).length > 0) told.recording = recording;
      return told;
    });
  }

  // Drops the negotiations still out for a handle.
  forget(handle) {
    const prefix = `${handle.handle}:`;
    this.pending.retain((key) => !key.startsWith(prefix));
  }

  // Ends a user's call, as Janus does: the user hears its own name with `reason` (none: a
  // PeerConnection went), the peer hears the user's name with `peerReason`, then each hears the
  // other's PeerConnection go ("Remote WebRTC hangup"); the rules go and both PeerConnections
  // close.
  hangUp(handle, reason, peerReason, transaction) {
    const user = this.user(handle.handle);
    if (!user) return;
    const me = user.username;
    const hangup = (name, why) => (name == null ? { event: 'hangup', reason: why } : { event: 'hangup', reason: why, username: name });
    const call = user.call;
    if (!call) {
      if (reason != null) push(handle, transaction, hangup(me, reason));
      return;
    }
    this.disconnect(handle);
    this.disconnect(call.peer);
    for (const h of [handle, call.peer]) {
      this.stopRecording(h);
      const u = this.user(h.handle);
      if (u) {
        u.call = null;
        u.record = null;
      }
      // Negotiations of the call that are still out are for nothing now.
      this.forget(h);
    }
    const gone = 'Remote WebRTC hangup';
    // The event handlers: who hung up, and the other side's end.
    if (reason != null) {
      notify(handle, { event: 'hangup', reason: 'Explicit hangup' });
      notify(call.peer, { event: 'hangup', reason: 'Remote hangup' });
    } else {
      notify(call.peer, { event: 'hangup', reason: gone });
    }
    if (reason != null) push(handle, transaction, hangup(me, reason));
    push(call.peer, null, hangup(me, peerReason));
    push(handle, null, hangup(call.peerName, gone));
    if (reason != null) push(call.peer, null, hangup(me, gone));
    host.closePc(ref(handle));
    host.closePc(ref(call.peer));
  }

  onHangup(h) {
    this.hangUp(handleKey(h), null, 'Remote WebRTC hangup', null);
  }

  // A rule's simulcast substream or temporal layer changed: the user who gets it hears it.
  layerChanged(h, change, key) {
    const call = this.user(h.handle)?.call;
    if (!call) return;
    const codec = call.streams.find((s) => s.kind === 'video')?.codec ?? null;
    push(handleKey(h), null, { event: 'simulcast', videocodec: codec, [key]: change.layer });
  }

  onSubstreamChanged(h, change) {
    this.layerChanged(h, change, 'substream');
  }

  onTemporalChanged(h, change) {
    this.layerChanged(h, change, 'temporal');
  }

  // A data-channel message goes to the peer of a call that is up.
  incomingData(h, label, data, isText) {
    const call = this.user(h.handle)?.call;
    if (call?.stage === 'up') host.sendData(ref(call.peer), label, data, isText);
  }

  destroyHandle(h) {
    const handle = handleKey(h);
    this.hangUp(handle, null, 'Remote WebRTC hangup', null);
    const user = this.users.get(h.handle);
    this.users.delete(h.handle);
    if (user?.username != null) this.names.delete(user.username);
    this.forget(handle);
  }

  queryHandle(h) {
    const u = this.user(h.handle);
    if (!u) return {};
    return { username: u.username, peer: u.call?.peerName ?? null, audio_active: u.audio, video_active: u.video };
  }
}

export const {
  init, createHandle, handleMessage, handleAdminMessage, mediaEvent, incomingData, timer, inputMedia, inputSource, mixerRecordFailed,
  datagram, destroyHandle, queryHandle, checkpoint, restore,
} = definePlugin(VideoCall);

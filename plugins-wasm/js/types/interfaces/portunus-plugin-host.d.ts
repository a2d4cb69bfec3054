/// <reference path="./portunus-plugin-types.d.ts" />
declare module 'portunus:plugin/host@0.8.0' {
  /**
   * Sends a Janus `event` to the client of `handle`: `plugindata.data` is `event` (a JSON
   * object), `jsep` (JSON) is attached when given. `transaction` ties the event to the
   * request it answers. Errors: the handle is gone, or the event is not a JSON object or is
   * larger than `max_event_bytes`.
   */
  export function pushEvent(handle: HandleRef, transaction: string | undefined, event: string, jsep: string | undefined): void;
  /**
   * Sends one event to the clients of many handles (a room broadcast): `event` (a JSON
   * object) is checked and parsed once and goes out as each handle's `plugindata.data`, with
   * no transaction and no JSEP. Handles that are gone or not this plugin's are skipped.
   * Returns how many handles it reached. Errors: the event is not a JSON object, or larger
   * than `max_event_bytes`, or the call's deliveries exceed `max_events_per_call`.
   */
  export function pushEventMany(handles: Array<HandleRef>, event: string): number;
  /**
   * Hangs up the handle's PeerConnection (the client gets `hangup` "Close PC").
   */
  export function closePc(handle: HandleRef): void;
  /**
   * Ends the handle (the client gets `detached`); `destroy-handle` follows.
   */
  export function endHandle(handle: HandleRef): void;
  /**
   * Writes a log line under the plugin's name.
   */
  export function log(level: LogLevel, text: string): void;
  /**
   * Answers a client offer (the SDP of the JSEP the plugin was given) with `policy`.
   * Returns at once with a negotiation id; the answer JSEP comes with the media event
   * `negotiation` of that id, ready for `push-event` (or why it could not be made). The host
   * answers the client's own offer as it received it (with ICE and DTLS), so `offer` is only
   * the plugin's copy. Media the policy refuses are rejected in the answer. Errors now: the
   * handle is not the plugin's.
   */
  export function answer(handle: HandleRef, offer: string, policy: AnswerPolicy): bigint;
  /**
   * Offers `handle`'s client these streams, added to what its PeerConnection already has (a
   * first offer creates it; later ones renegotiate). A forwarded stream is offered as our
   * send-only stream of the source stream's kind. Returns at once with a negotiation id;
   * the media event `negotiation` of that id brings the offer JSEP, ready for
   * `push-event`, and the mid given to each stream, in order (use them as `dst-mid` in
   * `forward`). The client's answer, when it comes back as a JSEP of a `message`, is
   * applied by the host before the plugin sees the message (a misplaced answer gets Janus
   * error 469). No streams, on a PeerConnection that has negotiated: an offer that restarts
   * ICE (Janus's `restart`). No streams while our last offer still waits for its answer:
   * that offer again (ICE restarted once it has run), at most four times, and only when it
   * added no audio or video stream; any other offer then fails in its `negotiation` event.
   * Errors now: a handle is not the plugin's, or a source has not negotiated that stream.
   */
  export function offer(handle: HandleRef, streams: Array<OfferedStream>): bigint;
  /**
   * As `offer`, and first makes the streams `stop` (mids) inactive in the same offer (the
   * plugin removes its rules into them): Janus's `unsubscribe` and `update`. A stream of the
   * offer takes an inactive stream of its kind when there is one (made inactive by an
   * earlier negotiation), as Janus recycles m-lines, so a PeerConnection does not grow with
   * every change; `offer` recycles likewise. Errors now: as `offer`, or a mid that is not an
   * active stream we send.
   */
  export function renegotiate(handle: HandleRef, stop: Array<string>, streams: Array<OfferedStream>): bigint;
  /**
   * Offers the handle's client its streams again with our side's direction of some of them
   * changed (a far end that holds: `sendonly` when it only sends, `inactive`), and the
   * others as they are; no ICE restart. Returns a negotiation id, as `offer`; the client
   * answers with `accept-answer`. Errors now: as `offer`, or a mid that is not an active
   * stream.
   */
  export function redirect(handle: HandleRef, directions: Array<StreamDirection>): bigint;
  /**
   * Watches the levels of the handle's audio streams (the RFC 6464 audio-level extension
   * its client sends): each stream's levels are averaged over `packets` packets, and the
   * media event `talking` tells when a stream's average gets louder than `threshold` (a dBov
   * magnitude: 0 loudest, 127 silence) and when it gets quieter again, as Janus's
   * `audio_active_packets` and `audio_level_average`. `packets` 0 stops watching.
   */
  export function watchTalking(handle: HandleRef, packets: number, threshold: number): void;
  /**
   * The RTP header extensions the handle's next negotiations offer and accept (all of
   * `rtp-extensions` until this is called): an answer leaves the others out of what the
   * client offered, an offer does not carry them. What a PeerConnection negotiated before
   * stays until it renegotiates.
   */
  export function setRtpExtensions(handle: HandleRef, extensions: RtpExtensions): void;
  /**
   * Writes the plugin's configuration file (`janus.plugin.<name>.jcfg` in the gateway's
   * configs folder, `-F`) from `config`, a JSON object of sections as `init` got it: the whole
   * file is replaced at once (written beside, flushed, renamed), as Janus saves `permanent`
   * rooms. Errors: the gateway runs on its embedded configuration (no folder), the JSON has
   * no `.jcfg` form, or the file cannot be written; the old file is then unchanged.
   */
  export function saveConfig(config: string): void;
  /**
   * Applies an answer SDP that reached the plugin some other way to the handle's pending
   * offer (answers sent as JSEP through the Janus API are applied by the host already).
   * Returns a negotiation id; the outcome comes as the media event `negotiation`.
   */
  export function acceptAnswer(handle: HandleRef, answer: string): bigint;
  /**
   * Forwards `src`'s media (one stream, or all when `src-mid` is none) to `dst` (the stream
   * `dst-mid`, or the matching one); either may be a peer or a leg (whose one stream needs no
   * mid). Returns a rule id. Rules live in the host: they survive plugin reloads and crashes
   * and end when either endpoint goes. Forwarding a handle to itself is an echo. At most `max_rules` rules per plugin. Payload types are mapped by
   * codec and sequence numbers rewritten per destination stream.
   */
  export function forward(src: Endpoint, srcMid: string | undefined, dst: Endpoint, dstMid: string | undefined, options: ForwardOptions): bigint;
  /**
   * Sends one stream of `src` (`src-mid`: audio or video as plain RTP; a peer's data stream
   * as one UDP datagram per message) to `target`, as Janus's `rtp_forward` does, if the plugin's `sandbox.send_to` allows the address. Returns
   * a rule id: like every rule it ends with `unforward` or when `src` goes, survives reloads
   * and crashes, and takes `set-layers` (simulcast substream, temporal layer); sequence
   * numbers and timestamps stay continuous across substream switches. The host asks the
   * source for a keyframe when the rule starts. `options.kinds` is ignored.
   */
  export function forwardRtp(src: Endpoint, srcMid: string, target: RtpTarget, options: ForwardOptions): bigint;
  /**
   * As `forward-rtp`, with the receiver's RTCP feedback (Janus's `rtcp_port`): the host binds
   * a port of its own (any address of the target's family) and sends two empty RTP headers
   * from it to the target's host at `rtcp-port`, so that the receiver (a Janus Streaming
   * mountpoint with `rtcpport`, say) learns where its RTCP goes; a PLI or FIR that comes
   * there from the receiver's address asks the source for a keyframe. The port closes with
   * the rule. Returns the rule id and the local port.
   */
  export function forwardRtpFeedback(src: Endpoint, srcMid: string, target: RtpTarget, options: ForwardOptions, rtcpPort: number): [bigint, number];
  /**
   * The addresses of `name` that the plugin's `sandbox.send_to` allows (IPv4 ones first),
   * looked up now: the system's resolver (`/etc/hosts`, DNS), or the DNS server of the
   * plugin's `sandbox.nameserver`. Unlike the other functions it waits for the answer, as
   * Janus looks up `rtp_forward`'s `host` before it answers: 3 s at most in all per call
   * (a call that has waited that long gets an error at once), and answers, none included,
   * are remembered for 60 s. An address comes back as it is, if allowed. Errors: the name
   * has no address, none allowed, or no answer came in time.
   */
  export function resolve(name: string): Array<string>;
  /**
   * RFC 3263 §4.1 for a `sip:` URI whose host is `domain`, a name, given without a port or
   * a transport: the transport the domain's NAPTR records (RFC 3403) prefer among
   * SIP+D2U, SIP+D2T and SIPS+D2T (by order, then preference) with the SRV name the record
   * gives; without such records, the first of `_sip._udp` and `_sip._tcp` that has SRV
   * records. None when the domain has neither, or when no answer came in time: the URI's
   * own transport (UDP) then. A replacement not of the `_service._proto.` form (which the
   * host's sends take as an SRV name) is given as the transport's usual SRV name. Asked of
   * the servers of `sandbox.nameserver`, else of `/etc/resolv.conf`'s, waiting 0.5 s at most
   * (within the 3 s a call may wait for lookups): an answer that comes later is kept for the
   * next call. Answers, none included, are remembered for 60 s.
   */
  export function locateSip(domain: string): SipService | undefined;
  /**
   * Records one audio, video or data stream of `src` (`src-mid`; empty: its stream of
   * `options.kinds`, which must name one kind) to `file`, an .mjr file (Janus's recording
   * format: the RTP packets as they came, which Janus's `janus-pp-rec` turns into .opus,
   * .wav, .webm or .mp4; a data stream's messages as Janus records data channels, which
   * `janus-pp-rec` turns into .srt). `file` must be in a folder of the plugin's `sandbox.write_dir` (a
   * relative path is taken in its first one); it is created or replaced now. Returns a rule
   * id: the recording ends (the file complete) with `unforward` or when `src` goes, and
   * takes `set-layers` like any rule. The host writes on a thread of its own, so media never
   * waits for the disk; when writing fails (a full disk) the recording stops and the host
   * logs why. Errors now: a path outside `write_dir`, a file that cannot be created.
   */
  export function forwardRecord(src: Endpoint, srcMid: string, file: string, options: ForwardOptions): bigint;
  /**
   * Removes a rule; unknown ids are ignored.
   */
  export function unforward(rule: bigint): void;
  /**
   * Changes the simulcast substream (0 lowest; none: the highest the source sends) and the
   * top temporal layer (VP8's; none: all) of a rule. The switch happens on the next keyframe of
   * the new substream (the host asks the source for one); the destination keeps one gap-free
   * stream. `substream-changed` / `temporal-changed` media events follow. From a VP9 source
   * that sends layer indices (SVC), `substream` is the top spatial layer and `temporal` its
   * top temporal layer: a lower spatial layer takes effect at the next picture, a higher one
   * at the next keyframe, and the last packet kept of each picture carries the marker bit;
   * the layer chosen is the nearest the source sends, from the rule's second picture on. A
   * rule never given a spatial layer forwards every one.
   */
  export function setLayers(rule: bigint, substream: number | undefined, temporal: number | undefined): void;
  /**
   * Asks the handle's sender for a keyframe (PLI), for one stream or all (rate-limited).
   */
  export function requestKeyframe(handle: HandleRef, mid: string | undefined): void;
  /**
   * Caps what the handle's client sends (REMB, repeated every second), in bits per second;
   * 0 removes the cap.
   */
  export function setBitrateCap(handle: HandleRef, bps: number): void;
  /**
   * Whether a kind of media from the handle is relayed at all (Janus's "audio"/"video"
   * switches).
   */
  export function setMediaEnabled(handle: HandleRef, kind: MediaKind, enabled: boolean): void;
  /**
   * Sends a data-channel message to the handle's client (by label, or its first channel
   * still open). Best effort, like a data channel: a handle without an open channel drops it.
   */
  export function sendData(handle: HandleRef, label: string | undefined, data: Uint8Array, isText: boolean): void;
  /**
   * Sends one data-channel message to many handles' clients (by label, or each one's first
   * channel). Handles without an open channel are skipped.
   */
  export function sendDataMany(handles: Array<HandleRef>, label: string | undefined, data: Uint8Array, isText: boolean): void;
  /**
   * Creates an audio mixer (an AudioBridge room) that mixes at `sample-rate` (8000, 12000,
   * 16000, 24000 or 48000) on the host's mixing threads, every 20 ms; returns its id. Mixers belong
   * to the plugin, survive reloads, and count towards `max_legs`; a crash destroys those made
   * since the last checkpoint. A `stereo` mixer (AudioBridge's `spatial_audio`) places each
   * voice by its `pan`, sends Opus participants stereo (answer their offers with the audio
   * codec `opus stereo=1`, so that their clients play it as such), G.711 participants the
   * two sides averaged, and records stereo.
   */
  export function mixerCreate(sampleRate: number, stereo: boolean): bigint;
  /**
   * Adds a participant to a mixer and returns its port, an endpoint
   * (`endpoint::mix`): forward the participant's audio to it and the port to the
   * participant, who then hears everyone else (in `codec` both ways; a jitter buffer, and
   * for Opus concealment and FEC, on the way in; its own encode on the way out while it
   * talks, one encode shared by the listeners of equal codec and settings). Packets in
   * another codec carry nothing. Offers name the port's stream with
   * `offered-stream::forward`. The port closes with its owner and counts towards `max_legs`.
   * A port with no owner belongs to the plugin until `mixer-leave` or its mixer goes: a
   * listener whose mix is forwarded (`forward-rtp`, AudioBridge's `rtp_forward`), or a
   * source such as an RTP input playing a file (an announcement).
   */
  export function mixerJoin(mixer: bigint, owner: HandleRef | undefined, codec: MixCodec, settings: MixSettings): bigint;
  /**
   * Changes a participant's settings (mute, gain, encoder...).
   */
  export function mixerSet(port: bigint, settings: MixSettings): void;
  /**
   * Starts a participant's decoding over: its buffered packets and decoder state go
   * (AudioBridge `resetdecoder`).
   */
  export function mixerResetDecoder(port: bigint): void;
  /**
   * Removes a participant: its port closes with its rules; unknown ports are ignored.
   */
  export function mixerLeave(port: bigint): void;
  /**
   * Destroys a mixer and closes its ports; unknown ids are ignored.
   */
  export function mixerDestroy(mixer: bigint): void;
  /**
   * Records a mixer's whole mix (everyone, as a listener who adds nothing hears the room)
   * to a WAV file (16-bit PCM, mono, at the mixer's rate), or stops (none; the file is
   * complete then, and when the mixer goes). `file` must be in a folder of the plugin's
   * `sandbox.write_dir` (a relative path is taken in its first one); the file is created or
   * replaced now, and its absolute path returned. The host writes it on a thread of its own,
   * so the mixing never waits for the disk; when writing fails (a full disk) the recording
   * stops and the plugin hears `mixer-record-failed`. Errors now: a mixer that is not the
   * plugin's, a path outside `write_dir`, a file that cannot be created.
   */
  export function mixerRecord(mixer: bigint, file: string | undefined): string;
  /**
   * Opens a plain RTP leg for a SIP call or a plain-RTP participant: the host binds its RTP
   * and RTCP ports (from `rtp_port_range`) now and returns the leg's id, its address, the
   * SRTP key it sends with (when asked for) and the SDP media section for the plugin's offer
   * or answer. The leg belongs to `owner`: it closes when the handle goes. Connect it with
   * `rtp-leg-connect`, then `forward` media to and from `endpoint::leg(id)`; payload types
   * are mapped by codec (no transcoding: a rule between different codecs carries nothing).
   */
  export function rtpLegOpen(owner: HandleRef, options: LegOptions): LegLocal;
  /**
   * Points a leg at its far end (from the far end's SDP). May be called again (a re-INVITE).
   */
  export function rtpLegConnect(leg: bigint, remote: LegRemote): void;
  /**
   * Closes a leg and its rules; unknown ids are ignored.
   */
  export function rtpLegClose(leg: bigint): void;
  /**
   * Sends DTMF digits (`0`-`9`, `*`, `#`, `A`-`D`) on a leg as RFC 4733 telephone events,
   * each `duration-ms` long (0: 100; at most 5000) and `gap-ms` apart (0: 50), after any
   * queued before; forwarded audio to the leg waits while an event goes out. Nothing is sent
   * when the far end negotiated no `dtmf-pt`. An error for an unknown leg or another
   * character.
   */
  export function rtpLegDtmf(leg: bigint, digits: string, durationMs: number, gapMs: number): void;
  /**
   * Asks a video leg's far end for a keyframe: an RTCP PLI, once the leg has heard the far
   * end's SSRC (nothing for audio legs). An error for a leg that is not the plugin's.
   */
  export function rtpLegKeyframe(leg: bigint): void;
  /**
   * Opens an RTP input (a Streaming mountpoint): binds each stream's ports now (0: a free
   * one from `rtp_port_range`; a given port must be allowed by `sandbox.udp_bind`) and
   * returns the input's id and, per stream, its ports. Viewers are offered its streams
   * (`offered-stream::forward` with `endpoint::input(id)`) and get them through rules; a new
   * rule starts with the stream's last keyframe. A simulcast stream has three ports (lowest
   * quality first) and rules choose with `set-layers`. The plugin hears through
   * `input-media` when a stream stops or starts receiving. Inputs belong to the plugin
   * (not to a handle); they survive reloads, and a crash closes those opened since the last
   * checkpoint. They count towards `max_legs`.
   */
  export function rtpInputOpen(options: InputOptions): InputLocal;
  /**
   * How each stream of an input is doing: the age of its last packet and its source (for
   * Janus's `age_ms` in Streaming's `list` and `info`). Errors: an input that is not the
   * plugin's.
   */
  export function rtpInputStatus(input: bigint): Array<InputStreamStatus>;
  /**
   * Closes an input and its rules; unknown ids are ignored.
   */
  export function rtpInputClose(input: bigint): void;
  /**
   * Calls the plugin's `timer` export with `token` after `ms` milliseconds; a second call
   * with the same token replaces the first. At most `max_timers` timers are pending per
   * plugin; beyond that the call is ignored with a warning.
   */
  export function setTimer(token: bigint, ms: number): void;
  /**
   * Cancels a timer; unknown tokens are ignored.
   */
  export function cancelTimer(token: bigint): void;
  /**
   * Binds a UDP socket on `address` (`ip:port`; port 0 for any free one) if the plugin's
   * `sandbox.udp_bind` allows it; returns its id and the address it got. Datagrams arrive
   * through the `datagram` export, in order. Sockets are host facts, like rules: they
   * survive reloads (binding an address the plugin holds already gives that socket again,
   * so `init` may bind after a reload) and a crash closes those bound since the last
   * checkpoint. At most `max_sockets` are open.
   */
  export function udpBind(address: string): UdpSocket;
  /**
   * Listens for TCP connections on `address` as `udp-bind` binds (the same policy, limit
   * and life), for messages framed as SIP's over TCP (RFC 3261 §18.3: a head, an empty line,
   * `Content-Length` bytes of body). Each message a connection carries arrives whole
   * through the `datagram` export, from the connection's far address; `udp-send` on this
   * socket sends a message over the connection with `to` (one it accepted, or one the host
   * opens from an ephemeral port). Keep-alive pings get their pong; a connection nothing
   * arrives on for 30 minutes closes. A connection that could not be opened, or that ended,
   * comes as an empty message from its address (and from the first 8 `name:port` sent to
   * over it): what was sent on it will get no answer. The message does not come when, by
   * the time the plugin would get it, the plugin has sent there again over a new
   * connection (it would fail that send too): what the old one carried then gets no word.
   */
  export function tcpListen(address: string): UdpSocket;
  /**
   * As `tcp-listen`, with TLS on every connection (SIP over TLS, RFC 3261 §26.2). The
   * connections it accepts are shown the certificate chain and private key of the PEM file
   * `certificate` (a path under one of the plugin's `sandbox.read_dir` folders; none: a
   * certificate for the address, self-signed, made now). Those the host opens check nothing
   * of the server's certificate but the handshake's signatures, as Janus's SIP stack does
   * by default, and name the server (SNI) when the plugin sent to a name.
   */
  export function tlsListen(address: string, certificate: string | undefined): UdpSocket;
  /**
   * Sends a datagram from a socket (to `ip:port`, where `sandbox.send_to` allows), at most
   * `udp_max_bytes` long and `udp_rate` a second per socket. Never waits: an error when the
   * socket's buffer is full (a TCP connection's: 64 messages unwritten). `to` may be
   * `name:port`: the host resolves the name (the system's resolver, or the DNS server of
   * `sandbox.nameserver`) after the call, one lookup per name with the sends to it waiting
   * in order (an error beyond 16 names being resolved or 64 sends waiting for one), sends
   * to its first address of the socket's family that `sandbox.send_to` allows, and uses
   * that address for the name for 60 s. An SRV name, `_service._proto.domain:port`
   * (`_sip._udp.example.com:5060`), goes to the first server its SRV records name (by
   * priority, then weight: RFC 2782) that has an address, at the record's port (the next
   * ones in turn: on a TCP listener when a connection cannot be opened, on a UDP socket
   * from the next send on when the network refused a datagram sent there), and to
   * the domain's own address at `port` when it has no SRV records (RFC 3263 §4.2); a
   * send that fails then is only logged; when the name gives no address, an empty datagram
   * comes from `name:port` (nothing sent there will be answered; not when a later send
   * on this socket waits for the name's next lookup by then). An empty datagram also comes
   * from an address, and from the names that went there and have no next server, when the
   * network refused a datagram sent to it (ICMP port or host unreachable). An empty datagram from afar is
   * dropped: only the host sends those.
   */
  export function udpSend(socket: number, to: string, data: Uint8Array): void;
  /**
   * Closes a socket; unknown ids are ignored.
   */
  export function udpClose(socket: number): void;
  /**
   * The server that `to` (a `name:port` sent to with `udp-send`) led to does not serve: a
   * request last sent at `sent-at-ms` (ms since the Unix epoch) got SIP's 503, or nothing in
   * time. The name goes to its next address from now on (RFC 3263 §4.3: the next SRV
   * server, or the name's next address), whatever the socket, as when the network refuses
   * a datagram sent there; unless it moved on after `sent-at-ms` already (another request's
   * failure moved it), when it stays. The addresses it moved on from stay passed over when
   * the name is looked up again within 5 minutes. True when the name goes to another server
   * than the request did; false when none is left, or `to` is not a name the host
   * remembers.
   */
  export function nextServer(to: string, sentAtMs: bigint): boolean;
  /**
   * Posts `body` (JSON) to an HTTP backend at `url` (`http[s]://host[:port][/path]`), as
   * Janus's plugins post with libcurl (TextRoom's `post`), with the headers Janus sends
   * (`Content-Type` and `Accept: application/json`). Never waits: the post goes when the
   * call ends (a call that traps posts nothing), after the plugin's earlier posts to the
   * same backend, within 10 s (a backend that gave no answer in time gets no posts for
   * 30 s); the backend's answer is not returned, and a failure is logged. The backend's
   * address must be allowed by `sandbox.send_to`; an `https` backend's certificate is
   * verified against the system's trusted ones (or `SSL_CERT_FILE`'s). Errors now: not an
   * `http://` or `https://` URL, a body over 1 MiB, an address `send_to` does not allow, or
   * a full queue (1024 posts or 16 MiB waiting).
   */
  export function httpPost(url: string, body: string): void;
  /**
   * Janus's `auth_signature_contains`: whether `token` is signed with the gateway's
   * `token_auth_secret` (HMAC-SHA1, `<expiry>,<realm>,<descriptor>…:<base64 signature>`)
   * for this plugin (its realm is the plugin's package), unexpired, and lists `descriptor`
   * (VideoRoom's `signed_tokens` rooms want `room=<id>`). False when the gateway does not
   * use signed tokens.
   */
  export function authSignatureContains(token: string, descriptor: string): boolean;
  /**
   * Janus's `auth_is_signed`: whether the gateway uses signed tokens (`token_auth` with
   * `token_auth_secret`). VideoRoom enforces a room's `signed_tokens` only then.
   */
  export function authIsSigned(): boolean;
  /**
   * Janus's `events_is_enabled`: whether the gateway's event handlers take plugin events
   * (when not, a plugin need not make them).
   */
  export function eventsEnabled(): boolean;
  /**
   * Janus's `notify_event`: `data` (a JSON object) goes to the event handlers as this
   * plugin's event (Janus's type 64, `{"plugin": …, "data": …}`), about `handle` when given.
   * Like an event, it goes when the call ends well. Errors: not a JSON object, more than
   * the sandbox's `max_event_bytes`, a handle that is not the plugin's.
   */
  export function notifyEvent(handle: HandleRef | undefined, data: string): void;
  export type HandleRef = import('portunus:plugin/types@0.8.0').HandleRef;
  export type LogLevel = import('portunus:plugin/types@0.8.0').LogLevel;
  export type AnswerPolicy = import('portunus:plugin/types@0.8.0').AnswerPolicy;
  export type RtpExtensions = import('portunus:plugin/types@0.8.0').RtpExtensions;
  export type OfferedStream = import('portunus:plugin/types@0.8.0').OfferedStream;
  export type StreamDirection = import('portunus:plugin/types@0.8.0').StreamDirection;
  export type ForwardOptions = import('portunus:plugin/types@0.8.0').ForwardOptions;
  export type MediaKind = import('portunus:plugin/types@0.8.0').MediaKind;
  export type RtpTarget = import('portunus:plugin/types@0.8.0').RtpTarget;
  export type UdpSocket = import('portunus:plugin/types@0.8.0').UdpSocket;
  export type Endpoint = import('portunus:plugin/types@0.8.0').Endpoint;
  export type LegOptions = import('portunus:plugin/types@0.8.0').LegOptions;
  export type LegLocal = import('portunus:plugin/types@0.8.0').LegLocal;
  export type LegRemote = import('portunus:plugin/types@0.8.0').LegRemote;
  export type InputOptions = import('portunus:plugin/types@0.8.0').InputOptions;
  export type InputLocal = import('portunus:plugin/types@0.8.0').InputLocal;
  export type InputStreamStatus = import('portunus:plugin/types@0.8.0').InputStreamStatus;
  export type MixCodec = import('portunus:plugin/types@0.8.0').MixCodec;
  export type MixSettings = import('portunus:plugin/types@0.8.0').MixSettings;
  export type SipService = import('portunus:plugin/types@0.8.0').SipService;
}

declare module 'portunus:plugin/types@0.8.0' {
  /**
   * A Janus handle, with the session that owns it.
   */
  export interface HandleRef {
    /**
     * Janus session id.
     */
    session: bigint,
    /**
     * Janus handle id (unique within the gateway).
     */
    handle: bigint,
  }
  /**
   * What `init` tells the host about the plugin; `info` lists it like Janus does.
   */
  export interface PluginInfo {
    /**
     * Janus package name, e.g. "janus.plugin.echotest". Unique per gateway.
     */
    'package': string,
    /**
     * Human-readable name.
     */
    name: string,
    /**
     * Author.
     */
    author: string,
    /**
     * One-line description.
     */
    description: string,
    /**
     * Version number, e.g. 8.
     */
    version: number,
    /**
     * Version text, e.g. "0.0.8".
     */
    versionString: string,
  }
  /**
   * A Janus `message` request.
   */
  export interface Message {
    /**
     * The handle it was sent on.
     */
    handle: HandleRef,
    /**
     * The request's transaction; echo it on the events that answer the request.
     */
    transaction: string,
    /**
     * The `body` object, as JSON text.
     */
    body: string,
    /**
     * The JSEP as JSON text (`{type, sdp, ...}`), already checked by the host and
     * stripped of ICE and DTLS attributes; absent when the request had none.
     */
    jsep?: string,
  }
  /**
   * The answer to a `message`.
   */
  export type Reply = ReplyOk | ReplyAck | ReplyError;
  /**
   * Synchronous: the client gets `success` with this JSON object as `plugindata.data`.
   */
  export interface ReplyOk {
    tag: 'ok',
    val: string,
  }
  /**
   * Asynchronous: the client gets `ack` (with the optional hint); events pushed during
   * this call are delivered after the `ack`.
   */
  export interface ReplyAck {
    tag: 'ack',
    val: string | undefined,
  }
  /**
   * Failure: the client gets Janus error 462 with this text.
   */
  export interface ReplyError {
    tag: 'error',
    val: string,
  }
  /**
   * Log levels for `log`.
   * # Variants
   * 
   * ## `"error"`
   * 
   * ## `"warn"`
   * 
   * ## `"info"`
   * 
   * ## `"debug"`
   * 
   * ## `"trace"`
   */
  export type LogLevel = 'error' | 'warn' | 'info' | 'debug' | 'trace';
  /**
   * The kind of a media stream.
   * # Variants
   * 
   * ## `"audio"`
   * 
   * ## `"video"`
   * 
   * ## `"data"`
   */
  export type MediaKind = 'audio' | 'video' | 'data';
  /**
   * A negotiated stream of a handle's PeerConnection.
   */
  export interface StreamInfo {
    /**
     * The SDP `mid`.
     */
    mid: string,
    /**
     * Audio, video or data.
     */
    kind: MediaKind,
    /**
     * The negotiated codec name (lower case, e.g. "opus", "vp8"); empty for data.
     */
    codec: string,
    /**
     * Whether the client sends on it.
     */
    clientSends: boolean,
    /**
     * Whether the client receives on it.
     */
    clientReceives: boolean,
    /**
     * Simulcast rids offered by the client, highest quality first; empty if none.
     */
    rids: Array<string>,
  }
  /**
   * Payload of `media-event::dtmf`: reported once per event, when it ends.
   */
  export interface DtmfEvent {
    /**
     * The leg.
     */
    leg: bigint,
    /**
     * The digit: `0`-`9`, `*`, `#`, `A`-`D`.
     */
    digit: string,
    /**
     * Its duration in the clock's units, as the packet carries it.
     */
    duration: number,
  }
  /**
   * Payload of `media-event::talking`.
   */
  export interface Talking {
    /**
     * The stream.
     */
    mid: string,
    /**
     * Whether it talks now.
     */
    talking: boolean,
    /**
     * The window's average audio level (dBov magnitude: 0 loudest, 127 silence).
     */
    level: number,
  }
  /**
   * Payload of `media-event::media`.
   */
  export interface MediaState {
    /**
     * The stream.
     */
    mid: string,
    /**
     * Audio or video.
     */
    kind: MediaKind,
    /**
     * Whether packets arrive.
     */
    receiving: boolean,
  }
  /**
   * Payload of `media-event::slow-link`.
   */
  export interface SlowLink {
    /**
     * The stream.
     */
    mid: string,
    /**
     * Audio or video.
     */
    kind: MediaKind,
    /**
     * Losses on packets the host sends (true: Janus's "uplink", the client NACKs them or
     * reports them lost) or receives (false).
     */
    uplink: boolean,
    /**
     * Lost packets in the last second.
     */
    lost: number,
  }
  /**
   * Payload of the layer-change events.
   */
  export interface LayerChange {
    /**
     * The rule whose layer changed.
     */
    rule: bigint,
    /**
     * The layer now forwarded.
     */
    layer: number,
  }
  /**
   * RTP header extensions a PeerConnection may negotiate besides `mid` and the simulcast
   * `rid`s, which it always does: each of Janus's plugins negotiates its own set (the
   * Streaming plugin no transport-cc, the AudioBridge only audio levels, the VideoRoom
   * what its room's `*_ext` options say).
   */
  export interface RtpExtensions {
    /**
     * `urn:ietf:params:rtp-hdrext:ssrc-audio-level` (RFC 6464), audio only.
     */
    audioLevel?: boolean,
    /**
     * `urn:3gpp:video-orientation`, video only.
     */
    videoOrientation?: boolean,
    /**
     * Transport-wide sequence numbers, on which the client sends congestion feedback.
     */
    transportCc?: boolean,
    /**
     * `abs-send-time`.
     */
    absSendTime?: boolean,
  }
  /**
   * A media direction from the gateway's side.
   * # Variants
   * 
   * ## `"sendrecv"`
   * 
   * ## `"sendonly"`
   * 
   * ## `"recvonly"`
   * 
   * ## `"inactive"`
   */
  export type Direction = 'sendrecv' | 'sendonly' | 'recvonly' | 'inactive';
  /**
   * How to answer a client offer.
   */
  export interface AnswerPolicy {
    /**
     * Accept audio streams (otherwise they are rejected in the answer).
     */
    audio: boolean,
    /**
     * Accept video streams.
     */
    video: boolean,
    /**
     * Accept the data channel.
     */
    data: boolean,
    /**
     * Audio codecs by Janus name (`opus`, `pcmu`, `pcma`, `g722`, …), best first; an entry
     * may be a comma-separated list. The first one the offer has is the only codec
     * answered (with its RTX); an offer with none of them gets its audio refused (port 0).
     * Empty: every codec the host supports, in the offer's order. `opus stereo=1`
     * answers Opus with `stereo=1; sprop-stereo=1` (the client receives and may send
     * stereo).
     */
    audioCodecs: Array<string>,
    /**
     * Video codecs (`vp8`, `vp9`, `h264`, `av1`, `h265`), as `audio-codecs`. An entry may
     * name a profile after the codec (`h264 profile-level-id=42e01f;packetization-mode=1`,
     * `vp9 profile-id=2`): only that profile is answered when the offer has it.
     */
    videoCodecs: Array<string>,
    /**
     * Accept simulcast from the client (left out when the client will not send).
     */
    simulcast: boolean,
    /**
     * Our side's direction for accepted audio and video, narrowed by the offer: we send
     * only if both this and the client allow it, and likewise receive.
     */
    direction: Direction,
  }
  /**
   * A stream's direction from the gateway's side (`redirect`).
   */
  export interface StreamDirection {
    /**
     * The stream.
     */
    mid: string,
    /**
     * Its direction.
     */
    direction: Direction,
  }
  /**
   * An m-line offered empty (`offered-stream::placeholder`).
   */
  export interface PlaceholderStream {
    /**
     * Audio or video.
     */
    kind: MediaKind,
    /**
     * Its codec, by Janus name (`opus`, `vp8`, `h264`, …).
     */
    codec: string,
    /**
     * Format parameters its codec must match (a profile: `profile-level-id=42e01f`).
     */
    fmtp?: string,
  }
  /**
   * A negotiation the host finished.
   */
  export interface NegotiationDone {
    /**
     * The JSEP to send the client (JSON, ready for `push-event`): the answer of `answer`,
     * the offer of `offer`; none for `accept-answer`.
     */
    jsep?: string,
    /**
     * For `offer`: the mid given to each offered stream, in order (use them as `dst-mid`
     * in `forward`); empty otherwise.
     */
    mids: Array<string>,
  }
  /**
   * What became of an `answer`, `offer` or `accept-answer` (the media event
   * `negotiation`).
   */
  export interface NegotiationResult {
    /**
     * The id the import returned.
     */
    id: bigint,
    /**
     * Done, or why not.
     */
    outcome: Result<NegotiationDone, string>,
  }
  /**
   * Something that happened to a handle's media, as the host saw it.
   */
  export type MediaEvent = MediaEventWebrtcUp | MediaEventMedia | MediaEventSlowLink | MediaEventHangup | MediaEventNegotiated | MediaEventSubstreamChanged | MediaEventTemporalChanged | MediaEventNegotiation | MediaEventTalking | MediaEventDtmf;
  /**
   * ICE and DTLS are up (Janus `webrtcup`).
   */
  export interface MediaEventWebrtcUp {
    tag: 'webrtc-up',
  }
  /**
   * Media on a stream started or stopped arriving (Janus `media`).
   */
  export interface MediaEventMedia {
    tag: 'media',
    val: MediaState,
  }
  /**
   * Losses above `slowlink_threshold` (Janus `slowlink`).
   */
  export interface MediaEventSlowLink {
    tag: 'slow-link',
    val: SlowLink,
  }
  /**
   * The PeerConnection is gone; the text is Janus's reason ("DTLS alert", ...).
   */
  export interface MediaEventHangup {
    tag: 'hangup',
    val: string,
  }
  /**
   * Negotiation finished; these are the handle's streams now.
   */
  export interface MediaEventNegotiated {
    tag: 'negotiated',
    val: Array<StreamInfo>,
  }
  /**
   * The simulcast substream (0..2) a forwarding rule receives changed, or the top spatial
   * layer of a VP9 SVC source.
   */
  export interface MediaEventSubstreamChanged {
    tag: 'substream-changed',
    val: LayerChange,
  }
  /**
   * The temporal layer (0..2) a forwarding rule receives changed.
   */
  export interface MediaEventTemporalChanged {
    tag: 'temporal-changed',
    val: LayerChange,
  }
  /**
   * An `answer`, `offer` or `accept-answer` finished (before `negotiated`, if it
   * changed the streams).
   */
  export interface MediaEventNegotiation {
    tag: 'negotiation',
    val: NegotiationResult,
  }
  /**
   * An audio stream started or stopped talking (`watch-talking`).
   */
  export interface MediaEventTalking {
    tag: 'talking',
    val: Talking,
  }
  /**
   * A plain RTP leg of the handle received a DTMF digit as an RFC 4733 telephone event.
   */
  export interface MediaEventDtmf {
    tag: 'dtmf',
    val: DtmfEvent,
  }
  /**
   * One entry of a plugin's saved state.
   */
  export interface StateEntry {
    /**
     * The key (the plugin's choice, e.g. "room/1234").
     */
    key: string,
    /**
     * The value (the plugin's encoding).
     */
    value: Uint8Array,
  }
  /**
   * A change to the saved state: a new value for a key, or none to remove it.
   */
  export interface StateChange {
    /**
     * The key.
     */
    key: string,
    /**
     * The new value, or none when the key is removed.
     */
    value?: Uint8Array,
  }
  /**
   * An SRTP crypto suite (RFC 4568).
   * # Variants
   * 
   * ## `"aes-cm-128-hmac-sha1-80"`
   * 
   * `AES_CM_128_HMAC_SHA1_80`.
   * ## `"aes-cm-128-hmac-sha1-32"`
   * 
   * `AES_CM_128_HMAC_SHA1_32` (32-bit tags on RTP, 80-bit on RTCP).
   */
  export type SrtpSuite = 'aes-cm-128-hmac-sha1-80' | 'aes-cm-128-hmac-sha1-32';
  /**
   * A suite and its master key and salt, base64 (30 bytes: an `a=crypto` line's `inline:`
   * key, Janus's `srtp_crypto`).
   */
  export interface SrtpKey {
    /**
     * The suite.
     */
    suite: SrtpSuite,
    /**
     * The key and salt, base64.
     */
    key: string,
  }
  /**
   * Where and how a stream is sent as plain RTP (Janus's `rtp_forward`).
   */
  export interface RtpTarget {
    /**
     * The receiver's IP address (a literal: names are looked up first with `resolve`).
     */
    host: string,
    /**
     * Its UDP port.
     */
    port: number,
    /**
     * The SSRC of the packets sent (none: a random one).
     */
    ssrc?: number,
    /**
     * Their payload type (none: the source's).
     */
    payloadType?: number,
    /**
     * SDES-SRTP (none: plain RTP).
     */
    srtp?: SrtpKey,
  }
  /**
   * A media endpoint: a handle's PeerConnection, a plain RTP leg or an RTP input.
   */
  export type Endpoint = EndpointPeer | EndpointLeg | EndpointInput | EndpointMix;
  /**
   * A handle's PeerConnection.
   */
  export interface EndpointPeer {
    tag: 'peer',
    val: HandleRef,
  }
  /**
   * A plain RTP leg (`rtp-leg-open`).
   */
  export interface EndpointLeg {
    tag: 'leg',
    val: bigint,
  }
  /**
   * An RTP input (`rtp-input-open`): a source only.
   */
  export interface EndpointInput {
    tag: 'input',
    val: bigint,
  }
  /**
   * A participant of an audio mixer (`mixer-join`): forward the participant's audio to
   * it, and from it the mix of everyone else to the participant.
   */
  export interface EndpointMix {
    tag: 'mix',
    val: bigint,
  }
  /**
   * The source of an offered stream.
   */
  export interface ForwardSource {
    /**
     * Whose media is offered: a handle's PeerConnection or an RTP input.
     */
    source: Endpoint,
    /**
     * Its stream.
     */
    mid: string,
  }
  /**
   * A stream the gateway offers to a client.
   */
  export type OfferedStream = OfferedStreamForward | OfferedStreamTwoWay | OfferedStreamData | OfferedStreamPlaceholder;
  /**
   * Media from another handle's stream (`mid`), to be forwarded to this client.
   */
  export interface OfferedStreamForward {
    tag: 'forward',
    val: ForwardSource,
  }
  /**
   * As `forward`, on an m-line the client may send on too (sendrecv), in the source's
   * codec: the two ways of a call (VideoCall). What the client sends there is its
   * handle's stream of that mid, as after an answer.
   */
  export interface OfferedStreamTwoWay {
    tag: 'two-way',
    val: ForwardSource,
  }
  /**
   * A data channel.
   */
  export interface OfferedStreamData {
    tag: 'data',
  }
  /**
   * A placeholder: a sendonly m-line of a kind and codec that nothing is forwarded to
   * yet; a later `forward` of a source in that codec fills it, without a new offer
   * (VideoRoom's `dummy_publisher`).
   */
  export interface OfferedStreamPlaceholder {
    tag: 'placeholder',
    val: PlaceholderStream,
  }
  /**
   * The codec a mix participant speaks: Opus, or G.711 (8 kHz, converted to and from the
   * room's rate).
   * # Variants
   * 
   * ## `"opus"`
   * 
   * ## `"pcmu"`
   * 
   * ## `"pcma"`
   */
  export type MixCodec = 'opus' | 'pcmu' | 'pcma';
  /**
   * How a participant takes part in a mix (AudioBridge's settings per participant).
   */
  export interface MixSettings {
    /**
     * What it says is left out of the mix.
     */
    muted: boolean,
    /**
     * It gets no mix.
     */
    deaf: boolean,
    /**
     * The mixer skips it both ways, packets dropped (AudioBridge `suspend`).
     */
    suspended: boolean,
    /**
     * Its gain into the mix, percent: 100 as it comes (AudioBridge `volume`).
     */
    gainPercent: number,
    /**
     * The bitrate of the mix it gets, bits per second (0: the encoder chooses).
     */
    bitrate: number,
    /**
     * The encoder's complexity, 1 to 10 (AudioBridge `quality`).
     */
    complexity: number,
    /**
     * The loss it expects, percent: its mix carries in-band FEC when above 0.
     */
    expectedLoss: number,
    /**
     * Discontinuous transmission for its mix.
     */
    dtx: boolean,
    /**
     * The group its voice is in (0: none), for listeners of one group (AudioBridge's
     * `groups`: a forwarder of a group sends only that group's voices).
     */
    group: number,
    /**
     * The group whose voices it hears (0: everyone's, every group included).
     */
    hearsGroup: number,
    /**
     * Where a stereo mixer places its voice: 0 left, 50 centre, 100 right (AudioBridge's
     * `spatial_position`; Janus's linear law, so left gets `100 - pan` percent and right
     * `pan`). Ignored by a mono mixer.
     */
    pan: number,
    /**
     * Its owner hears (media event `talking`, with no mid) when it starts and stops
     * talking, from the level the mixer measures of what it says, averaged over this many
     * packets (0: not watched), as `watch-talking` does from the audio-level extension.
     */
    talkPackets: number,
    /**
     * The average level it talks above (a dBov magnitude: 0 loudest, 127 silence).
     */
    talkThreshold: number,
    /**
     * Packets its jitter buffer holds before what it says is mixed, after it joins and
     * after an underrun (AudioBridge's `prebuffer` plus one): 0 for the host's (2, 40
     * ms), at most 51. A larger one set while it plays fills before playout goes on.
     */
    prebuffer: number,
  }
  /**
   * A codec on a plain RTP leg, as an SDP `a=rtpmap` names it.
   */
  export interface LegCodec {
    /**
     * The payload type.
     */
    pt: number,
    /**
     * Janus's name: `opus`, `pcmu`, `pcma`, `g722`, `vp8`, `h264`.
     */
    name: string,
    /**
     * The clock rate.
     */
    clock: number,
  }
  /**
   * How a plain RTP leg is opened.
   */
  export interface LegOptions {
    /**
     * Audio or video.
     */
    kind: MediaKind,
    /**
     * The codecs to offer, best first (they go into the SDP section).
     */
    codecs: Array<LegCodec>,
    /**
     * SDES-SRTP with a fresh key of this suite (none: plain RTP).
     */
    srtp?: SrtpSuite,
    /**
     * The IP address to bind the leg's ports to and give in its SDP section (Janus SIP's
     * `local_media_ip`); none: the host's media address.
     */
    localIp?: string,
  }
  /**
   * What the host opened.
   */
  export interface LegLocal {
    /**
     * The leg's id.
     */
    id: bigint,
    /**
     * Where it receives RTP (`ip:port`; RTCP on the next port).
     */
    address: string,
    /**
     * The key it sends with (for the plugin's `a=crypto`), when SRTP is on.
     */
    srtp?: SrtpKey,
    /**
     * The SDP media section: `m=`, `c=`, `a=rtpmap`, `a=rtcp`, `a=crypto`, `a=sendrecv`.
     */
    sdp: string,
  }
  /**
   * The far end of a plain RTP leg, from its SDP.
   */
  export interface LegRemote {
    /**
     * Where it receives RTP (`ip:port`).
     */
    address: string,
    /**
     * Where it receives RTCP (none: the next port, or the RTP port with rtcp-mux).
     */
    rtcpAddress?: string,
    /**
     * RTP and RTCP share the port.
     */
    rtcpMux: boolean,
    /**
     * The codec both ends use.
     */
    codec: LegCodec,
    /**
     * The payload type of RFC 4733 telephone events, if negotiated: events pass through
     * between this leg and its rules' other ends that negotiated them too (with each end's
     * payload type, in the numbering of the audio).
     */
    dtmfPt?: number,
    /**
     * The key it sends with (its `a=crypto`), when SRTP is on.
     */
    srtp?: SrtpKey,
    /**
     * Symmetric RTP (`behind_nat`): the leg moves to where the far end's packets come from
     * when they authenticate (SRTP) or, for plain RTP, come from `latch-ip` (the address
     * the call's signaling came from; none: the first packet from anywhere). Without it
     * only the signaled address is accepted.
     */
    latch: boolean,
    /**
     * See `latch`.
     */
    latchIp?: string,
  }
  /**
   * One stream of an RTP input.
   */
  export interface InputStream {
    /**
     * Its name, as offers and rules name it.
     */
    mid: string,
    /**
     * Audio, video, or data (each datagram a data-channel message to the viewers: text
     * when it is UTF-8, else binary).
     */
    kind: MediaKind,
    /**
     * The codec and payload type the sender uses (ignored for data).
     */
    codec: LegCodec,
    /**
     * Its format parameters (e.g. `profile-level-id=42e01f;packetization-mode=1`): viewers
     * are offered the variant of the codec that matches.
     */
    fmtp?: string,
    /**
     * The ports to bind (0: a free one): one, or three for simulcast video (lowest first).
     */
    ports: Uint16Array,
    /**
     * Simulcast video on one port: the three substreams' SSRCs, lowest first (empty: none).
     */
    ssrcs: Uint32Array,
    /**
     * RTCP with the sender (Janus's `rtcpport`): bind this port too (0: a free one). The
     * sender's RTCP address is learnt from what it sends there, and the host asks it for
     * keyframes there (PLI), when a viewer starts or asks for one, at most once a second.
     * None: no RTCP.
     */
    rtcpPort?: number,
    /**
     * An IPv4 multicast group to receive from (Janus's `mcast`): the stream's ports are
     * bound on the group (shared with other sockets of the group) and join it on the
     * input's `bind` address as the interface (none: the system's choice).
     */
    mcast?: string,
  }
  /**
   * An RTSP source an input pulls. The host connects, DESCRIBEs (answering Digest or Basic
   * challenges), SETs UP each stream (RTP over UDP to the input's ports, or interleaved on
   * the connection) and PLAYs, keeps the session alive, and when the connection drops or
   * media stops for `reconnect-ms` reports `source-state::lost` and connects again after
   * `reconnect-ms`, on the same ports, until the input is closed (then TEARDOWN).
   */
  export interface RtspSource {
    /**
     * `rtsp://[user[:password]@]host[:port]/path`.
     */
    url: string,
    /**
     * Credentials, over those in the URL.
     */
    user?: string,
    /**
     * See `user`.
     */
    password?: string,
    /**
     * RTP interleaved on the RTSP connection instead of UDP.
     */
    interleaved: boolean,
    /**
     * How long to wait for each answer, ms (0: 10000).
     */
    timeoutMs: number,
    /**
     * How long to wait for the connection, ms (0: 5000).
     */
    connectTimeoutMs: number,
    /**
     * How long without media ends a session, and how long to wait before connecting
     * again, ms (0: 5000).
     */
    reconnectMs: number,
    /**
     * The keep-alive period, ms, at most half the server's session timeout (0: half of
     * it; 30000 when it names none).
     */
    keepaliveMs: number,
    /**
     * A DESCRIBE answered 404 is tried again with the URL's path alone (Janus's
     * `rtsp_quirk`), which then names the session.
     */
    pathOnlyRetry: boolean,
  }
  /**
   * How an RTP input is opened.
   */
  export interface InputOptions {
    /**
     * The address to bind (none: the media address).
     */
    bind?: string,
    /**
     * Accept RTP from this address only (none: from anywhere).
     */
    source?: string,
    /**
     * The streams.
     */
    streams: Array<InputStream>,
    /**
     * Report a stream as not receiving after this long without packets, ms (0: 1000).
     */
    noMediaMs: number,
    /**
     * Janus's `collision`: a stream (each substream) that gets packets of another SSRC than
     * the one it takes drops them, until its own have stopped for this long, ms; then the
     * new SSRC is the one it takes (0: every packet is taken).
     */
    collisionMs: number,
    /**
     * SDES-SRTP the sender protects with.
     */
    srtp?: SrtpKey,
    /**
     * Play this file instead of listening (a path the plugin's `sandbox.read_dir`
     * allows): one audio stream, no ports, Opus-in-Ogg for an Opus stream, raw G.711 for
     * a PCMA or PCMU one (20 ms packets, as Janus plays `.alaw` and `.mulaw` files); its
     * packets go out at their own pace, as if received.
     */
    file?: string,
    /**
     * Start the file again at its end (Janus's file mountpoints).
     */
    loopFile: boolean,
    /**
     * Start the file when the input's first rule has its destination up, from its start
     * (an `ondemand` viewer's own input), not when the input opens.
     */
    fileOnDemand: boolean,
    /**
     * Pull this RTSP source instead of waiting for RTP (Janus's `rtsp` mountpoints): each
     * stream gets one free port (its `ports` are ignored) and takes the codec the source
     * describes for the first unused stream of its kind (its codec name is ignored; a
     * payload type other than 0 and `fmtp` override the description's: the payload type
     * the source's packets carry, the format parameters viewers are offered); the plugin
     * hears through `input-source` when it plays and when it is lost.
     */
    rtsp?: RtspSource,
  }
  /**
   * What the host's RTSP client knows of an input's source (`input-source`).
   */
  export type SourceState = SourceStatePlaying | SourceStateLost;
  /**
   * Described, set up and playing: the streams it got (the input's mids, each with its
   * port and the source's codec and format parameters). Streams the source could not
   * give are missing.
   */
  export interface SourceStatePlaying {
    tag: 'playing',
    val: Array<InputStream>,
  }
  /**
   * The connection failed or the session ended (why); the host tries again.
   */
  export interface SourceStateLost {
    tag: 'lost',
    val: string,
  }
  /**
   * How one stream of an RTP input is doing (`rtp-input-status`).
   */
  export interface InputStreamStatus {
    /**
     * The stream's name.
     */
    mid: string,
    /**
     * Milliseconds since its last packet (none: no packet yet).
     */
    ageMs?: bigint,
    /**
     * Where its last packet came from (`ip:port`).
     */
    source?: string,
  }
  /**
   * What the host opened.
   */
  export interface InputLocal {
    /**
     * The input's id.
     */
    id: bigint,
    /**
     * Per stream, the ports bound.
     */
    ports: Array<Uint16Array>,
    /**
     * Per stream, the RTCP port bound (`rtcp-port`).
     */
    rtcpPorts: Array<number | undefined>,
  }
  /**
   * A socket bound with `udp-bind`, `tcp-listen` or `tls-listen`.
   */
  export interface UdpSocket {
    /**
     * Its id.
     */
    id: number,
    /**
     * The address it is bound to (`ip:port`).
     */
    local: string,
  }
  /**
   * A SIP transport.
   * # Variants
   * 
   * ## `"udp"`
   * 
   * ## `"tcp"`
   * 
   * ## `"tls"`
   */
  export type SipTransport = 'udp' | 'tcp' | 'tls';
  /**
   * Where a SIP domain's requests go, as its DNS records say (RFC 3263 §4.1).
   */
  export interface SipService {
    /**
     * The transport.
     */
    transport: SipTransport,
    /**
     * The SRV name its servers are found by (`_sip._tcp.example.com`, say): send to it
     * as `name:port`.
     */
    name: string,
  }
  /**
   * Options of a forwarding rule.
   */
  export interface ForwardOptions {
    /**
     * Which kinds to forward (empty: all).
     */
    kinds: Array<MediaKind>,
    /**
     * Simulcast substream to forward (0 lowest .. 2 highest; none: highest available).
     */
    substream?: number,
    /**
     * Temporal layer to forward (none: all).
     */
    temporal?: number,
  }
  export type Result<T, E> = { tag: 'ok', val: T } | { tag: 'err', val: E };
}

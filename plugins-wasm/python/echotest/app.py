"""`janus.plugin.echotest` in Python: the Janus EchoTest, with exactly the behaviour of the Rust
build (`plugins-wasm/echotest`), whose saved state it shares (either may replace the other while
calls run).

A client's audio, video and data come back to it. One unnamed, asynchronous request whose fields
are all optional; an `ack` ("I'm taking my time!"), then an event with the same transaction:
`{"echotest": "event", "result": "ok"}` (with the answer JSEP when the request carried an offer)
or `{"echotest": "event", "error_code": N, "error": "..."}`. When the PeerConnection goes away:
`{"echotest": "event", "result": "done"}`. The plugin never touches a packet: an offer becomes an
answer made by the host and a forwarding rule from the handle to itself; the switches become
intents. `record` records what the client sends to `<filename>-audio.mjr`, `-video.mjr` and
`-data.mjr` (the host writes them); `videoprofile`, `opusred`, the playout delays and
`fallback` are accepted and have no effect, as in the Rust build.
"""

import time

import portunus
from portunus import BOOL, INTEGER, STRING, Field, PluginError, host, log, types

PACKAGE = "janus.plugin.echotest"
HINT = "I'm taking my time!"

ERROR_NO_MESSAGE = 411
ERROR_INVALID_JSON = 412
ERROR_INVALID_ELEMENT = 413
ERROR_INVALID_SDP = 414
CODES = portunus.ErrorCodes(ERROR_INVALID_JSON, ERROR_INVALID_ELEMENT, ERROR_INVALID_ELEMENT)

# The request's fields, in Janus's order (the first bad one is reported).
FIELDS = [
    Field("audio", BOOL),
    Field("video", BOOL),
    Field("bitrate", INTEGER, positive=True),
    Field("record", BOOL),
    Field("filename", STRING),
    Field("substream", INTEGER, positive=True),
    Field("temporal", INTEGER, positive=True),
    Field("fallback", INTEGER, positive=True),
    Field("spatial_layer", INTEGER, positive=True),
    Field("temporal_layer", INTEGER, positive=True),
    Field("audiocodec", STRING),
    Field("videocodec", STRING),
    Field("videoprofile", STRING),
    Field("opusred", BOOL),
    Field("min_delay", INTEGER),
    Field("max_delay", INTEGER),
]
# Anything of these (or a JSEP) is a request; nothing of them is Janus's 413.
ASKS = ["audio", "video", "videocodec", "videoprofile", "opusred", "bitrate", "substream", "temporal",
        "fallback", "spatial_layer", "temporal_layer", "record", "min_delay", "max_delay"]


def new_session(slowlink_count=0):
    """A handle without a PeerConnection (the Rust build's `Session`, field for field)."""
    return {
        "audio_active": True, "video_active": True, "bitrate": 0, "audio_codec": None,
        "video_codec": None, "opusred": False, "simulcast": False, "svc_offered": False, "has_data": False, "substream_target": None,
        "temporal_target": None, "substream": None, "temporal": None, "fallback": None,
        "min_delay": -1, "max_delay": -1, "rule": None, "slowlink_count": slowlink_count,
        "record_base": None, "audio_recording": None, "video_recording": None, "data_recording": None,
    }


def record(handle, session):
    """Records every negotiated stream that recording was asked for and is not recorded yet."""
    base = session.get("record_base")
    if base is None:
        return
    for kind, name, negotiated in (
        (types.MediaKind.AUDIO, "audio", session["audio_codec"] is not None),
        (types.MediaKind.VIDEO, "video", session["video_codec"] is not None),
        (types.MediaKind.DATA, "data", session.get("has_data", False)),
    ):
        if not negotiated or session.get(f"{name}_recording") is not None:
            continue
        file = f"{base}-{name}.mjr"
        try:
            session[f"{name}_recording"] = host.forward_record(
                types.Endpoint_Peer(handle), "", file, types.ForwardOptions([kind], None, None))
        except portunus.Err as err:
            log.warn(f"[{handle.handle}] cannot record to {file}: {err.value}")


def stop_recording(session):
    """Ends the recordings (the files complete)."""
    for key in ("audio_recording", "video_recording", "data_recording"):
        if session.get(key) is not None:
            host.unforward(session[key])
        session[key] = None


def ok_event():
    return portunus.event(PACKAGE, result="ok")


def layer_event(codec, key, layer):
    return portunus.event(PACKAGE, videocodec=codec or "", **{key: layer})


def layer_of(request, name):
    """A layer (0, 1 or 2) of the request, or Janus's 413."""
    layer = request.get(name)
    if layer is not None and layer > 2:
        raise PluginError(ERROR_INVALID_ELEMENT, f"Invalid value ({name} should be 0, 1 or 2)")
    return layer


def svc(session):
    """Whether the client sends VP9 SVC (its JSEP said so): the rule's layers are spatial and temporal."""
    return session.get("svc_offered", False) and session["video_codec"] == "vp9"


def aim_svc(handle, session):
    """SVC aims at the top layers unless the client asked for others, as in Janus."""
    targets = [2 if session[k] is None else session[k] for k in ("substream_target", "temporal_target")]
    if not svc(session) or targets == [session["substream_target"], session["temporal_target"]]:
        return
    session["substream_target"], session["temporal_target"] = targets
    if session["rule"] is not None:
        try:
            host.set_layers(session["rule"], targets[0], targets[1])
        except portunus.Err as err:
            log.debug(f"[{handle.handle}] set-layers: {err.value}")


def clamp_delay(value):
    return value if -32768 <= value <= 32767 else (-1 if value < 0 else 32767)


class EchoTest(portunus.Plugin):
    def __init__(self):
        # handle id -> session; negotiation id -> [handle, transaction] (saved as in Rust).
        self.sessions = portunus.Keyed("session/")
        self.answering = portunus.Keyed("answering/")

    def info(self, config):
        return portunus.info(
            PACKAGE, "JANUS EchoTest plugin", author="Portunus", version=8,
            description="This is a trivial EchoTest plugin for Janus, just used to showcase the plugin interface.",
        )

    def create_handle(self, handle):
        if handle.handle not in self.sessions:
            self.sessions[handle.handle] = new_session()

    def handle_message(self, msg):
        if msg.handle.handle not in self.sessions:
            return portunus.refuse("No session associated with this handle")
        # Every request is asynchronous: `ack` now, its result as an event pushed during the call.
        try:
            event = self.process(msg)
            if event is not None:
                portunus.push_event(msg.handle, msg.transaction, event)
        except PluginError as err:
            portunus.push_event(msg.handle, msg.transaction, err.event(PACKAGE))
        return portunus.ack(HINT)

    def process(self, msg):
        """Everything after the `ack`: the event to send, or None while the host answers."""
        handle = msg.handle
        if not msg.raw_body.strip():
            raise PluginError(ERROR_NO_MESSAGE, "No message??")
        request = portunus.parse_body(msg.body, FIELDS, CODES)
        jsep = msg.jsep if msg.jsep and msg.jsep.get("sdp") else None
        session = self.sessions[handle.handle]

        # A spatial layer is the rule's substream, as the host forwards SVC.
        substream, temporal = layer_of(request, "substream"), layer_of(request, "temporal")
        spatial_layer, temporal_layer = layer_of(request, "spatial_layer"), layer_of(request, "temporal_layer")
        substream = substream if spatial_layer is None else spatial_layer
        temporal = temporal if temporal_layer is None else temporal_layer

        # Enforce the request, as Janus does, before checking that it asked for anything.
        if "audio" in request:
            session["audio_active"] = request["audio"]
            host.set_media_enabled(handle, types.MediaKind.AUDIO, request["audio"])
        if "video" in request:
            if request["video"] and not session["video_active"]:
                # Video comes back: ask for a keyframe so the client sees it at once.
                host.request_keyframe(handle, None)
            session["video_active"] = request["video"]
            host.set_media_enabled(handle, types.MediaKind.VIDEO, request["video"])
        if "bitrate" in request:
            session["bitrate"] = min(request["bitrate"], 0xFFFFFFFF)
            host.set_bitrate_cap(handle, session["bitrate"])
        if "fallback" in request:
            session["fallback"] = request["fallback"]
        if substream is not None or temporal is not None:
            if substream is not None:
                session["substream_target"] = substream
            if temporal is not None:
                session["temporal_target"] = temporal
            if session["rule"] is not None:
                try:
                    host.set_layers(session["rule"], session["substream_target"], session["temporal_target"])
                except portunus.Err as err:
                    log.debug(f"[{handle.handle}] set-layers: {err.value}")
        codec = session["video_codec"]
        if substream is not None:
            if session["substream"] == substream:
                # Already there: tell the client, as Janus does.
                key = "substream" if spatial_layer is None else "spatial_layer"
                portunus.push_event(handle, None, layer_event(codec, key, substream))
            else:
                host.request_keyframe(handle, None)
        if temporal is not None:
            if session["temporal"] == temporal and codec in ("vp8", "vp9"):
                key = "temporal" if temporal_layer is None else "temporal_layer"
                portunus.push_event(handle, None, layer_event(codec, key, temporal))
            else:
                host.request_keyframe(handle, None)
        if "min_delay" in request:
            low = clamp_delay(request["min_delay"])
            if low < 0:
                session["min_delay"] = session["max_delay"] = -1
            else:
                session["min_delay"], session["max_delay"] = low, max(session["max_delay"], low)
        if "max_delay" in request:
            high = clamp_delay(request["max_delay"])
            if high < 0:
                session["min_delay"] = session["max_delay"] = -1
            else:
                session["max_delay"], session["min_delay"] = high, min(session["min_delay"], high)
        if "opusred" in request:
            session["opusred"] = request["opusred"]
        if "record" in request:
            # A new `record: true` starts new files, as in Janus.
            stop_recording(session)
            session["record_base"] = None
            if request["record"]:
                session["record_base"] = request.get("filename") or f"echotest-{handle.handle}-{time.time_ns() // 1000}"
            record(handle, session)

        if not any(key in request for key in ASKS) and jsep is None:
            raise PluginError(ERROR_INVALID_ELEMENT, "Message error: no supported attributes found")
        if jsep is None:
            return ok_event()
        if not portunus.is_offer(jsep):
            raise PluginError(ERROR_INVALID_SDP, f"Error parsing offer: expected an offer, got '{jsep.get('type', '')}'")
        policy = types.AnswerPolicy(
            # Janus answers every stream the client offers; the switches decide what comes back.
            audio=True, video=True, data=True,
            audio_codecs=[request["audiocodec"]] if "audiocodec" in request else [],
            video_codecs=[request["videocodec"]] if "videocodec" in request else [],
            simulcast=True, direction=types.Direction.SENDRECV,
        )
        try:
            answer = host.answer(handle, jsep["sdp"], policy)
        except portunus.Err as err:
            raise PluginError(ERROR_INVALID_SDP, err.value) from None
        self.answering[answer] = [portunus.handle_key(handle), msg.transaction]
        session["simulcast"] = session["simulcast"] or portunus.has_simulcast(jsep)
        session["svc_offered"] = session.get("svc_offered", False) or portunus.has_svc(jsep)
        if session["rule"] is None:
            options = types.ForwardOptions([], session["substream_target"], session["temporal_target"])
            peer = types.Endpoint_Peer(handle)
            try:
                session["rule"] = host.forward(peer, None, peer, None, options)
            except portunus.Err as err:
                log.warn(f"[{handle.handle}] could not set up the echo: {err.value}")
        # A new PeerConnection starts with the switches the client already set.
        host.set_media_enabled(handle, types.MediaKind.AUDIO, session["audio_active"])
        host.set_media_enabled(handle, types.MediaKind.VIDEO, session["video_active"])
        if session["bitrate"] > 0:
            host.set_bitrate_cap(handle, session["bitrate"])
        return None

    def on_negotiation(self, handle, result):
        """The host made (or could not make) the answer: the request's event goes out now. An id
        the restored state does not know still answers its handle, without a transaction."""
        pending = self.answering.pop(result.id, None)
        transaction = pending[1] if pending else None
        if isinstance(result.outcome, portunus.Err):
            portunus.push_event(handle, transaction, PluginError(ERROR_INVALID_SDP, result.outcome.value).event(PACKAGE))
        else:
            portunus.push_event(handle, transaction, ok_event(), result.outcome.value.jsep)

    def on_negotiated(self, handle, streams):
        session = self.sessions.get(handle.handle)
        if session is None:
            return

        def codec_of(kind):
            return next((s.codec.lower() for s in streams if s.kind == kind and s.codec), None)

        session["audio_codec"] = codec_of(types.MediaKind.AUDIO)
        session["video_codec"] = codec_of(types.MediaKind.VIDEO)
        session["simulcast"] = any(s.kind == types.MediaKind.VIDEO and s.rids for s in streams)
        session["has_data"] = any(s.kind == types.MediaKind.DATA for s in streams)
        record(handle, session)
        aim_svc(handle, session)

    def on_webrtc_up(self, handle):
        log.debug(f"[{handle.handle}] WebRTC media is now available")

    def on_slow_link(self, handle, link):
        session = self.sessions.get(handle.handle)
        if session is None:
            return
        session["slowlink_count"] += 1
        video = link.kind == types.MediaKind.VIDEO
        if link.uplink and not session["video_active" if video else "audio_active"]:
            # We are not relaying that media, so the client's losses are expected.
            return
        media = "video" if video else "audio"
        log.warn(f"[{handle.handle}] getting a lot of NACKs (slow {'uplink' if link.uplink else 'downlink'}) for {media}")
        if not link.uplink:
            fields = {"event": "slow_link", "media": media}
            if video:
                fields["current-bitrate"] = session["bitrate"]
            portunus.push_event(handle, None, portunus.event(PACKAGE, **fields))

    def layer_changed(self, handle, change, key):
        session = self.sessions.get(handle.handle)
        if session is None or session["rule"] != change.rule:
            return
        session[key] = change.layer
        codec = session["video_codec"]
        if svc(session):
            # Janus tells both layers of SVC at once, from when the spatial one is known.
            if session["substream"] is None:
                return
            event = layer_event(codec, "spatial_layer", session["substream"])
            event["temporal_layer"] = session["temporal_target"] if session["temporal"] is None else session["temporal"]
            portunus.push_event(handle, None, event)
        else:
            portunus.push_event(handle, None, layer_event(codec, key, change.layer))

    def on_substream_changed(self, handle, change):
        self.layer_changed(handle, change, "substream")

    def on_temporal_changed(self, handle, change):
        self.layer_changed(handle, change, "temporal")

    def on_hangup(self, handle, reason):
        log.debug(f"[{handle.handle}] no WebRTC media anymore ({reason})")
        session = self.sessions.get(handle.handle)
        if session is None:
            return
        portunus.push_event(handle, None, portunus.event(PACKAGE, result="done"))
        if session["rule"] is not None:
            host.unforward(session["rule"])
        stop_recording(session)
        self.sessions[handle.handle] = new_session(session["slowlink_count"])

    def incoming_data(self, handle, label, data, is_text):
        """Binary messages come back as they are; text ones with Janus's prefix."""
        if data and handle.handle in self.sessions:
            reply = b"Janus EchoTest here! You wrote: " + data if is_text else data
            host.send_data(handle, label, reply, is_text)

    def destroy_handle(self, handle):
        self.sessions.pop(handle.handle, None)
        self.answering.retain(lambda _, pending: pending[0]["handle"] != handle.handle)

    def query_handle(self, handle):
        session = self.sessions.get(handle.handle)
        if session is None:
            return {}
        info = {"audio_active": session["audio_active"], "video_active": session["video_active"]}
        if session["audio_codec"] is not None:
            info["audio_codec"] = session["audio_codec"]
            if session["opusred"]:
                info["audio_red"] = True
        if session["video_codec"] is not None:
            info["video_codec"] = session["video_codec"]
        info["bitrate"] = session["bitrate"]
        info["peer-bitrate"] = 0
        if svc(session):
            info["svc"] = True
            info["spatial-layer"] = session["substream"]
            info["spatial-layer-target"] = 2 if session["substream_target"] is None else session["substream_target"]
            info["temporal-layer"] = session["temporal"]
            info["temporal-layer-target"] = 2 if session["temporal_target"] is None else session["temporal_target"]
        elif session["simulcast"]:
            info["simulcast"] = True
            info["substream"] = session["substream"]
            info["substream-target"] = 2 if session["substream_target"] is None else session["substream_target"]
            info["temporal-layer"] = session["temporal"]
            info["temporal-layer-target"] = 2 if session["temporal_target"] is None else session["temporal_target"]
            if session["fallback"] is not None:
                info["fallback"] = session["fallback"]
        if session["rule"] is not None:
            info["forwarding-rule"] = session["rule"]
        info["slowlink_count"] = session["slowlink_count"]
        info["hangingup"] = 0
        info["destroyed"] = 0
        return info

    def handle_admin_message(self, request):
        # Like Janus's EchoTest, which has nothing to configure: the request comes back.
        return request


WitWorld = portunus.export(EchoTest)

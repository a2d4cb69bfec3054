//! `janus.plugin.echotest`: the Janus EchoTest, as a Portunus plugin.
//!
//! A client's audio, video and data come back to it. The API is Janus's (1.x): one unnamed,
//! asynchronous request whose fields are all optional (`audio`, `video`, `bitrate`, `record`,
//! `filename`, `substream`, `temporal`, `fallback`, `spatial_layer`, `temporal_layer`,
//! `audiocodec`, `videocodec`, `videoprofile`, `opusred`, `min_delay`, `max_delay`), an `ack` with the hint "I'm taking my time!", then an
//! event with the same transaction: `{"echotest":"event","result":"ok"}` (with the answer JSEP
//! when the request carried an offer) or `{"echotest":"event","error_code":N,"error":"…"}`.
//! When the PeerConnection goes away: `{"echotest":"event","result":"done"}`.
//!
//! The plugin never touches a packet: on an offer it asks the host for an answer, then for a
//! forwarding rule from the handle to itself (the echo); the switches of the API become intents
//! (`set-media-enabled`, `set-bitrate-cap`, `set-layers`). The answer is made on a media thread:
//! the event with its JSEP goes out when the host reports it done.
//!
//! `record` records what the client sends, as Janus does: its audio to `<filename>-audio.mjr`,
//! its video to `<filename>-video.mjr` and its data channel's messages to `<filename>-data.mjr`
//! (without `filename`, `echotest-<handle>-<µs>`), in the plugin's `sandbox.write_dir`, from
//! the moment the stream is negotiated until `record: false` or the hangup; `janus-pp-rec`
//! reads the files.
//!
//! SVC: when the offer's JSEP lists a stream in `svc` (janus.js does for an encoding with a
//! `scalabilityMode`) and the video is VP9, the echo aims at the top layers, `spatial_layer`
//! and `temporal_layer` choose others, and changes are told as `{"videocodec",
//! "spatial_layer", "temporal_layer"}`. (The host forwards a spatial layer as a rule's
//! substream: `substream` and `spatial_layer` set the same choice, which Janus keeps apart.)
//!
//! Differences from Janus: `videoprofile` and `opusred`, which the host's answer policy cannot express yet, the
//! playout-delay hints `min_delay`/`max_delay`, and `fallback` (the host falls back to a lower
//! substream after 1 s without packets of the wanted one, whatever the value).

#![deny(missing_docs)]
#![deny(unsafe_code)]

use portunus_sdk::{
    ack, event, host, json, AnswerPolicy, Direction, Endpoint, ErrorCodes, Field, ForwardOptions, HandleRef,
    JsonType, Keyed, LayerChange, MediaEvent, MediaKind, Message, NegotiationResult, Plugin, PluginError,
    PluginInfo, Reply, SlowLink, StateChange, StateEntry, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};

const PACKAGE: &str = "janus.plugin.echotest";
const VERSION: u32 = 8;
const VERSION_STRING: &str = "0.0.8";
const NAME: &str = "JANUS EchoTest plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str =
    "This is a trivial EchoTest plugin for Janus, just used to showcase the plugin interface.";
const HINT: &str = "I'm taking my time!";

/// Janus's EchoTest error codes.
const ERROR_NO_MESSAGE: u32 = 411;
const ERROR_INVALID_JSON: u32 = 412;
const ERROR_INVALID_ELEMENT: u32 = 413;
const ERROR_INVALID_SDP: u32 = 414;

const CODES: ErrorCodes = ErrorCodes {
    invalid_json: ERROR_INVALID_JSON,
    missing_element: ERROR_INVALID_ELEMENT,
    invalid_element: ERROR_INVALID_ELEMENT,
};

/// The request's fields, in Janus's order (the first bad one is reported).
const FIELDS: &[Field] = &[
    Field::new("audio", JsonType::Bool),
    Field::new("video", JsonType::Bool),
    Field::new("bitrate", JsonType::Integer).positive(),
    Field::new("record", JsonType::Bool),
    Field::new("filename", JsonType::String),
    Field::new("substream", JsonType::Integer).positive(),
    Field::new("temporal", JsonType::Integer).positive(),
    Field::new("fallback", JsonType::Integer).positive(),
    Field::new("spatial_layer", JsonType::Integer).positive(),
    Field::new("temporal_layer", JsonType::Integer).positive(),
    Field::new("audiocodec", JsonType::String),
    Field::new("videocodec", JsonType::String),
    Field::new("videoprofile", JsonType::String),
    Field::new("opusred", JsonType::Bool),
    Field::new("min_delay", JsonType::Integer),
    Field::new("max_delay", JsonType::Integer),
];

/// The request, once [`FIELDS`] accepted it.
#[derive(Debug, Default, Deserialize)]
struct Request {
    audio: Option<bool>,
    video: Option<bool>,
    bitrate: Option<u64>,
    record: Option<bool>,
    filename: Option<String>,
    substream: Option<u64>,
    temporal: Option<u64>,
    fallback: Option<u64>,
    spatial_layer: Option<u64>,
    temporal_layer: Option<u64>,
    audiocodec: Option<String>,
    videocodec: Option<String>,
    videoprofile: Option<String>,
    opusred: Option<bool>,
    min_delay: Option<i64>,
    max_delay: Option<i64>,
}

/// What the plugin knows about one handle. Everything here survives a reload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Session {
    /// Relay the client's audio back.
    audio_active: bool,
    /// Relay the client's video back.
    video_active: bool,
    /// The bitrate cap asked for (0: none).
    bitrate: u32,
    /// Negotiated codecs.
    audio_codec: Option<String>,
    video_codec: Option<String>,
    /// RED asked for on audio.
    opusred: bool,
    /// The client sends simulcast.
    simulcast: bool,
    /// A data channel is negotiated.
    has_data: bool,
    /// The client's JSEP said it sends SVC (see [`Session::svc`]).
    svc_offered: bool,
    /// The substream (or spatial layer) / temporal layer asked for, and the ones the rule
    /// forwards now.
    substream_target: Option<u8>,
    temporal_target: Option<u8>,
    substream: Option<u8>,
    temporal: Option<u8>,
    /// Simulcast fallback timer (µs).
    fallback: Option<u64>,
    /// Playout delay bounds (-1: none).
    min_delay: i16,
    max_delay: i16,
    /// The echo: a forwarding rule from the handle to itself.
    rule: Option<u64>,
    /// Losses reported by the host.
    slowlink_count: u32,
    /// Recording asked for (`record`): the files' base name.
    record_base: Option<String>,
    /// The rules recording the client's audio, video and data.
    audio_recording: Option<u64>,
    video_recording: Option<u64>,
    data_recording: Option<u64>,
}

impl Default for Session {
    fn default() -> Self {
        Session {
            audio_active: true,
            video_active: true,
            bitrate: 0,
            audio_codec: None,
            video_codec: None,
            opusred: false,
            simulcast: false,
            svc_offered: false,
            has_data: false,
            substream_target: None,
            temporal_target: None,
            substream: None,
            temporal: None,
            fallback: None,
            min_delay: -1,
            max_delay: -1,
            rule: None,
            slowlink_count: 0,
            record_base: None,
            audio_recording: None,
            video_recording: None,
            data_recording: None,
        }
    }
}

impl Session {
    /// Whether the client sends VP9 SVC (its JSEP said so): the rule's layers are spatial and
    /// temporal.
    fn svc(&self) -> bool {
        self.svc_offered && self.video_codec.as_deref() == Some("vp9")
    }

    /// SVC aims at the top layers unless the client asked for others, as in Janus: the layers
    /// are told as they come.
    fn aim_svc(&mut self, handle: HandleRef) {
        let targets = (self.substream_target.or(Some(2)), self.temporal_target.or(Some(2)));
        if !self.svc() || targets == (self.substream_target, self.temporal_target) {
            return;
        }
        (self.substream_target, self.temporal_target) = targets;
        if let Some(rule) = self.rule {
            if let Err(err) = host::set_layers(rule, targets.0, targets.1) {
                portunus_sdk::debug!("[{}] set-layers: {err}", handle.handle);
            }
        }
    }

    /// Back to the state of a handle without a PeerConnection (Janus's `hangup_media`).
    fn reset_media(&mut self) {
        *self = Session { slowlink_count: self.slowlink_count, ..Session::default() };
    }

    /// Records every negotiated stream that recording was asked for and is not recorded yet.
    fn record(&mut self, handle: HandleRef) {
        let Some(base) = &self.record_base else { return };
        for (kind, name, negotiated, rule) in [
            (MediaKind::Audio, "audio", self.audio_codec.is_some(), &mut self.audio_recording),
            (MediaKind::Video, "video", self.video_codec.is_some(), &mut self.video_recording),
            (MediaKind::Data, "data", self.has_data, &mut self.data_recording),
        ] {
            if !negotiated || rule.is_some() {
                continue;
            }
            let file = format!("{base}-{name}.mjr");
            let options = ForwardOptions { kinds: vec![kind], substream: None, temporal: None };
            match host::forward_record(Endpoint::Peer(handle), "", &file, &options) {
                Ok(id) => *rule = Some(id),
                Err(err) => portunus_sdk::warn!("[{}] cannot record to {file}: {err}", handle.handle),
            }
        }
    }

    /// What the event handlers hear after a `configure`: the settings, the simulcast layers
    /// and the recordings' files, as Janus's EchoTest tells them.
    fn handler_event(&self) -> Value {
        let mut info = json!({
            "audio_active": self.audio_active,
            "video_active": self.video_active,
            "bitrate": self.bitrate,
        });
        if let Some(substream) = self.substream {
            info["simulcast"] = json!({"substream": substream, "temporal-layer": self.temporal});
        }
        if let Some(base) = &self.record_base {
            let mut recording = json!({});
            for (name, rule) in [
                ("audio", self.audio_recording),
                ("video", self.video_recording),
                ("data", self.data_recording),
            ] {
                if rule.is_some() {
                    recording[name] = json!(format!("{base}-{name}.mjr"));
                }
            }
            info["recording"] = recording;
        }
        info
    }

    /// Ends the recordings (the files complete).
    fn stop_recording(&mut self) {
        let rules = [self.audio_recording.take(), self.video_recording.take(), self.data_recording.take()];
        for rule in rules.into_iter().flatten() {
            host::unforward(rule);
        }
    }

    /// The handle's state for admin `handle_info`, with Janus's keys.
    fn to_query(&self) -> Value {
        let mut info = json!({
            "audio_active": self.audio_active,
            "video_active": self.video_active,
        });
        if let Some(codec) = &self.audio_codec {
            info["audio_codec"] = json!(codec);
            if self.opusred {
                info["audio_red"] = json!(true);
            }
        }
        if let Some(codec) = &self.video_codec {
            info["video_codec"] = json!(codec);
        }
        info["bitrate"] = json!(self.bitrate);
        info["peer-bitrate"] = json!(0);
        if self.svc() {
            info["svc"] = json!(true);
            info["spatial-layer"] = json!(self.substream);
            info["spatial-layer-target"] = json!(self.substream_target.unwrap_or(2));
            info["temporal-layer"] = json!(self.temporal);
            info["temporal-layer-target"] = json!(self.temporal_target.unwrap_or(2));
        } else if self.simulcast {
            info["simulcast"] = json!(true);
            info["substream"] = json!(self.substream);
            info["substream-target"] = json!(self.substream_target.unwrap_or(2));
            info["temporal-layer"] = json!(self.temporal);
            info["temporal-layer-target"] = json!(self.temporal_target.unwrap_or(2));
            if let Some(fallback) = self.fallback {
                info["fallback"] = json!(fallback);
            }
        }
        if let Some(rule) = self.rule {
            info["forwarding-rule"] = json!(rule);
        }
        info["slowlink_count"] = json!(self.slowlink_count);
        info["hangingup"] = json!(0);
        info["destroyed"] = json!(0);
        info
    }
}

/// The plugin: one [`Session`] per handle, keyed by handle id. Saved per handle, so a
/// checkpoint costs the handles a call touched, not all of them.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct EchoTest {
    sessions: Keyed<u64, Session>,
    /// Answers the host is making: negotiation id → the handle and the request's transaction.
    answering: Keyed<u64, (HandleRef, String)>,
}

/// Where the sessions are saved: `session/<handle id>`.
const SAVED_SESSIONS: &str = "session/";
/// Where the answers in progress are saved: `answering/<negotiation id>`.
const SAVED_ANSWERING: &str = "answering/";

/// What a request leads to: an event now, or one when the host has made the answer.
enum Outcome {
    Event(Value),
    Answering,
}

fn ok_event() -> Value {
    event(PACKAGE, json!({"result": "ok"}))
}

fn layer_event(codec: Option<&str>, key: &str, layer: u8) -> Value {
    let mut fields = json!({ "videocodec": codec.unwrap_or("") });
    fields[key] = json!(layer);
    event(PACKAGE, fields)
}

/// A layer (0, 1 or 2) of the request, or 413.
fn layer_of(value: Option<u64>, name: &str) -> Result<Option<u8>, PluginError> {
    match value.map(|v| u8::try_from(v).unwrap_or(u8::MAX)) {
        Some(layer) if layer > 2 => Err(PluginError::new(
            ERROR_INVALID_ELEMENT,
            format!("Invalid value ({name} should be 0, 1 or 2)"),
        )),
        layer => Ok(layer),
    }
}

// Events whose refusal the plugin can do nothing about are logged, not failed.
use portunus_sdk::push_event_logged as push;

impl EchoTest {
    /// The asynchronous part of a request: everything after the `ack`. Returns the event to
    /// send (or the negotiation whose answer it waits for), or the error event's contents.
    fn process(&mut self, msg: &Message) -> Result<Outcome, PluginError> {
        let handle = msg.handle;
        if msg.body.trim().is_empty() {
            return Err(PluginError::new(ERROR_NO_MESSAGE, "No message??"));
        }
        let request: Request = msg.parse_body(FIELDS, &CODES)?;
        let jsep = msg.parsed_jsep().filter(|jsep| !jsep.sdp.is_empty());
        let session = self.sessions.get_mut(&handle.handle).ok_or_else(|| {
            PluginError::new(ERROR_INVALID_ELEMENT, "No session associated with this handle")
        })?;

        // A spatial layer is the rule's substream, as the host forwards SVC.
        let substream = layer_of(request.substream, "substream")?;
        let temporal = layer_of(request.temporal, "temporal")?;
        let spatial_layer = layer_of(request.spatial_layer, "spatial_layer")?;
        let temporal_layer = layer_of(request.temporal_layer, "temporal_layer")?;
        let (svc_spatial, svc_temporal) = (spatial_layer.is_some(), temporal_layer.is_some());
        let substream = spatial_layer.or(substream);
        let temporal = temporal_layer.or(temporal);

        // Enforce the request, as Janus does, before checking that it asked for anything.
        if let Some(audio) = request.audio {
            session.audio_active = audio;
            host::set_media_enabled(handle, MediaKind::Audio, audio);
        }
        if let Some(video) = request.video {
            if video && !session.video_active {
                // Video comes back: ask for a keyframe so the client sees it at once.
                host::request_keyframe(handle, None);
            }
            session.video_active = video;
            host::set_media_enabled(handle, MediaKind::Video, video);
        }
        if let Some(bitrate) = request.bitrate {
            session.bitrate = u32::try_from(bitrate).unwrap_or(u32::MAX);
            host::set_bitrate_cap(handle, session.bitrate);
        }
        if let Some(fallback) = request.fallback {
            session.fallback = Some(fallback);
        }
        if substream.is_some() || temporal.is_some() {
            session.substream_target = substream.or(session.substream_target);
            session.temporal_target = temporal.or(session.temporal_target);
            if let Some(rule) = session.rule {
                if let Err(err) = host::set_layers(rule, session.substream_target, session.temporal_target) {
                    portunus_sdk::debug!("[{}] set-layers: {err}", handle.handle);
                }
            }
        }
        let codec = session.video_codec.as_deref();
        if let Some(target) = substream {
            if session.substream == Some(target) {
                // Already there: tell the client, as Janus does.
                let key = if svc_spatial { "spatial_layer" } else { "substream" };
                push(handle, None, &layer_event(codec, key, target), None);
            } else {
                host::request_keyframe(handle, None);
            }
        }
        if let Some(target) = temporal {
            let layered = matches!(codec, Some("vp8" | "vp9"));
            if session.temporal == Some(target) && layered {
                let key = if svc_temporal { "temporal_layer" } else { "temporal" };
                push(handle, None, &layer_event(codec, key, target), None);
            } else {
                host::request_keyframe(handle, None);
            }
        }
        if let Some(min_delay) = request.min_delay {
            let min_delay = clamp_delay(min_delay);
            if min_delay < 0 {
                session.min_delay = -1;
                session.max_delay = -1;
            } else {
                session.min_delay = min_delay;
                session.max_delay = session.max_delay.max(min_delay);
            }
        }
        if let Some(max_delay) = request.max_delay {
            let max_delay = clamp_delay(max_delay);
            if max_delay < 0 {
                session.min_delay = -1;
                session.max_delay = -1;
            } else {
                session.max_delay = max_delay;
                session.min_delay = session.min_delay.min(max_delay);
            }
        }
        if let Some(opusred) = request.opusred {
            session.opusred = opusred;
        }
        if let Some(record) = request.record {
            // A new `record: true` starts new files, as in Janus.
            session.stop_recording();
            session.record_base = record.then(|| {
                request.filename.clone().filter(|name| !name.is_empty()).unwrap_or_else(|| {
                    format!("echotest-{}-{}", handle.handle, portunus_sdk::files::micros_now())
                })
            });
            session.record(handle);
        }

        let asked_anything = request.audio.is_some()
            || request.video.is_some()
            || request.videocodec.is_some()
            || request.videoprofile.is_some()
            || request.opusred.is_some()
            || request.bitrate.is_some()
            || request.substream.is_some()
            || request.temporal.is_some()
            || request.fallback.is_some()
            || request.spatial_layer.is_some()
            || request.temporal_layer.is_some()
            || request.record.is_some()
            || request.min_delay.is_some()
            || request.max_delay.is_some()
            || jsep.is_some();
        if !asked_anything {
            return Err(PluginError::new(
                ERROR_INVALID_ELEMENT,
                "Message error: no supported attributes found",
            ));
        }
        // The event handlers hear of the settings, as Janus's EchoTest tells them.
        portunus_sdk::notify_event(Some(handle), || session.handler_event());

        let Some(jsep) = jsep else {
            return Ok(Outcome::Event(ok_event()));
        };
        if !jsep.is_offer() {
            return Err(PluginError::new(
                ERROR_INVALID_SDP,
                format!("Error parsing offer: expected an offer, got '{}'", jsep.kind),
            ));
        }
        let policy = AnswerPolicy {
            // Janus answers every stream the client offers; the audio/video switches only
            // decide what comes back.
            audio: true,
            video: true,
            data: true,
            audio_codecs: request.audiocodec.into_iter().collect(),
            video_codecs: request.videocodec.into_iter().collect(),
            simulcast: true,
            direction: Direction::Sendrecv,
        };
        let answer = host::answer(handle, &jsep.sdp, &policy)
            .map_err(|reason| PluginError::new(ERROR_INVALID_SDP, reason))?;
        self.answering.insert(answer, (handle, msg.transaction.clone()));
        session.simulcast = session.simulcast || jsep.has_simulcast();
        session.svc_offered = session.svc_offered || jsep.has_svc();
        if session.rule.is_none() {
            let options = ForwardOptions {
                kinds: Vec::new(),
                substream: session.substream_target,
                temporal: session.temporal_target,
            };
            match host::forward(Endpoint::Peer(handle), None, Endpoint::Peer(handle), None, &options) {
                Ok(rule) => session.rule = Some(rule),
                Err(err) => portunus_sdk::warn!("[{}] could not set up the echo: {err}", handle.handle),
            }
        }
        // A new PeerConnection starts with the switches the client already set.
        host::set_media_enabled(handle, MediaKind::Audio, session.audio_active);
        host::set_media_enabled(handle, MediaKind::Video, session.video_active);
        if session.bitrate > 0 {
            host::set_bitrate_cap(handle, session.bitrate);
        }
        Ok(Outcome::Answering)
    }

    /// The host made (or could not make) an answer: the request's event goes out now. An
    /// answer asked for just before a crash may come with an id the restored state does not
    /// know: it still goes to its handle, without the request's transaction (janus.js takes a
    /// JSEP from any event).
    fn answered(&mut self, handle: HandleRef, result: NegotiationResult) {
        let transaction = self.answering.remove(&result.id).map(|(_, transaction)| transaction);
        let transaction = transaction.as_deref();
        match result.outcome {
            Ok(done) => push(handle, transaction, &ok_event(), done.jsep.as_deref()),
            Err(reason) => {
                let err = PluginError::new(ERROR_INVALID_SDP, reason);
                err.push_logged(handle, transaction, PACKAGE);
            }
        }
    }

    fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(session) = self.sessions.get_mut(&handle.handle) else { return };
        let codec_of = |kind: MediaKind| {
            streams
                .iter()
                .find(|s| s.kind == kind && !s.codec.is_empty())
                .map(|s| s.codec.to_ascii_lowercase())
        };
        session.audio_codec = codec_of(MediaKind::Audio);
        session.video_codec = codec_of(MediaKind::Video);
        session.simulcast = streams.iter().any(|s| s.kind == MediaKind::Video && !s.rids.is_empty());
        session.has_data = streams.iter().any(|s| s.kind == MediaKind::Data);
        session.record(handle);
        session.aim_svc(handle);
    }

    fn slow_link(&mut self, handle: HandleRef, link: &SlowLink) {
        let Some(session) = self.sessions.get_mut(&handle.handle) else { return };
        session.slowlink_count = session.slowlink_count.saturating_add(1);
        let video = link.kind == MediaKind::Video;
        if link.uplink && ((video && !session.video_active) || (!video && !session.audio_active)) {
            // We are not relaying that media, so the client's losses are expected.
            return;
        }
        portunus_sdk::warn!(
            "[{}] getting a lot of NACKs (slow {}) for {}",
            handle.handle,
            if link.uplink { "uplink" } else { "downlink" },
            if video { "video" } else { "audio" }
        );
        if !link.uplink {
            let mut fields = json!({"event": "slow_link", "media": if video { "video" } else { "audio" }});
            if video {
                fields["current-bitrate"] = json!(session.bitrate);
            }
            push(handle, None, &event(PACKAGE, fields), None);
        }
    }

    fn layer_changed(&mut self, handle: HandleRef, change: &LayerChange, key: &str) {
        let Some(session) = self.sessions.get_mut(&handle.handle) else { return };
        if session.rule != Some(change.rule) {
            return;
        }
        if key == "substream" {
            session.substream = Some(change.layer);
        } else {
            session.temporal = Some(change.layer);
        }
        let codec = session.video_codec.as_deref();
        if session.svc() {
            // Janus tells both layers of SVC at once, from when the spatial one is known.
            let Some(spatial) = session.substream else { return };
            let mut ev = layer_event(codec, "spatial_layer", spatial);
            ev["temporal_layer"] = json!(session.temporal.or(session.temporal_target));
            push(handle, None, &ev, None);
        } else {
            push(handle, None, &layer_event(codec, key, change.layer), None);
        }
    }

    fn hangup(&mut self, handle: HandleRef) {
        let Some(session) = self.sessions.get_mut(&handle.handle) else { return };
        push(handle, None, &event(PACKAGE, json!({"result": "done"})), None);
        if let Some(rule) = session.rule {
            host::unforward(rule);
        }
        session.stop_recording();
        session.reset_media();
    }
}

fn clamp_delay(value: i64) -> i16 {
    i16::try_from(value).unwrap_or(if value < 0 { -1 } else { i16::MAX })
}

impl Plugin for EchoTest {
    fn init(&mut self, _config: &Value) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: VERSION,
            version_string: VERSION_STRING.to_owned(),
        })
    }

    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        if !self.sessions.contains_key(&handle.handle) {
            self.sessions.insert(handle.handle, Session::default());
        }
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        if !self.sessions.contains_key(&msg.handle.handle) {
            return Reply::Error("No session associated with this handle".to_owned());
        }
        // Every request is asynchronous: `ack` now, the result as an event with the same
        // transaction (pushed during this call, so delivered right after the `ack`).
        match self.process(&msg) {
            Ok(Outcome::Event(event)) => push(msg.handle, Some(&msg.transaction), &event, None),
            Ok(Outcome::Answering) => {}
            Err(err) => {
                err.push_logged(msg.handle, Some(&msg.transaction), PACKAGE);
            }
        }
        ack(Some(HINT))
    }

    /// Like Janus's EchoTest, which has nothing to configure: the request comes back.
    fn handle_admin_message(&mut self, request: Value) -> Result<Value, String> {
        Ok(request)
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::WebrtcUp => portunus_sdk::debug!("[{}] WebRTC media is now available", handle.handle),
            MediaEvent::Media(_) => {}
            MediaEvent::SlowLink(link) => self.slow_link(handle, &link),
            MediaEvent::Hangup(reason) => {
                portunus_sdk::debug!("[{}] no WebRTC media anymore ({reason})", handle.handle);
                self.hangup(handle);
            }
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::SubstreamChanged(change) => self.layer_changed(handle, &change, "substream"),
            MediaEvent::TemporalChanged(change) => self.layer_changed(handle, &change, "temporal"),
            MediaEvent::Negotiation(result) => self.answered(handle, result),
            MediaEvent::Talking(_) | MediaEvent::Dtmf(_) => {}
        }
    }

    /// Binary messages come back as they are; text ones with Janus's prefix.
    fn incoming_data(&mut self, handle: HandleRef, label: Option<String>, data: Vec<u8>, is_text: bool) {
        if data.is_empty() || !self.sessions.contains_key(&handle.handle) {
            return;
        }
        let reply = if is_text {
            let mut reply = b"Janus EchoTest here! You wrote: ".to_vec();
            reply.extend_from_slice(&data);
            reply
        } else {
            data
        };
        // Best effort, like a data channel.
        host::send_data(handle, label.as_deref(), &reply, is_text);
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        // The host already removed the handle's forwarding rules.
        self.sessions.remove(&handle.handle);
        self.answering.retain(|_, (h, _)| *h != handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        self.sessions.get(&handle.handle).map(Session::to_query).unwrap_or_else(|| json!({}))
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.sessions.save(SAVED_SESSIONS, full, &mut out);
        self.answering.save(SAVED_ANSWERING, full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.sessions.load(SAVED_SESSIONS, &entries)?;
        self.answering.load(SAVED_ANSWERING, &entries)
    }
}

portunus_sdk::export_plugin!(EchoTest);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_defaults_match_janus() {
        let session = Session::default();
        let query = session.to_query();
        assert_eq!(
            query,
            json!({"audio_active": true, "video_active": true, "bitrate": 0, "peer-bitrate": 0,
                   "slowlink_count": 0, "hangingup": 0, "destroyed": 0})
        );
    }

    #[test]
    fn reset_keeps_only_the_slowlink_count() {
        let mut session = Session {
            audio_active: false,
            bitrate: 5,
            rule: Some(3),
            slowlink_count: 2,
            ..Session::default()
        };
        session.reset_media();
        assert_eq!(session, Session { slowlink_count: 2, ..Session::default() });
    }

    #[test]
    fn state_survives_a_checkpoint() {
        let mut plugin = EchoTest::default();
        plugin.sessions.insert(7, Session { video_active: false, rule: Some(1), ..Session::default() });
        plugin.sessions.insert(8, Session::default());
        let saved = plugin.checkpoint(false);
        assert_eq!(saved.len(), 2);
        // Nothing changed since: nothing to save.
        assert!(plugin.checkpoint(false).is_empty());
        let entries: Vec<StateEntry> =
            saved.into_iter().map(|c| StateEntry { key: c.key, value: c.value.unwrap() }).collect();
        let mut restored = EchoTest::default();
        restored.restore(entries).unwrap();
        assert_eq!(restored.sessions.get(&7), plugin.sessions.get(&7));
        assert_eq!(restored.sessions.len(), 2);
    }
}

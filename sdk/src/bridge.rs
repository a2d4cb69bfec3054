//! A WebRTC peer bridged to plain RTP: the browser's PeerConnection on one side, a plain RTP
//! leg of the host per audio and video stream on the other, and the two offer/answer flows
//! between them. NoSIP drives it with `generate`/`process`, the SIP gateway with INVITEs; the
//! media never reaches the plugin.
//!
//! - **Browser offers** (Flow A): [`Bridge::browser_offer`] has the host answer the browser;
//!   when its streams are known ([`Bridge::negotiated`]) a leg opens for each and the plain
//!   offer is ready; the far end's answer ([`Bridge::remote_answer`]) connects the legs and
//!   releases the browser's answer.
//! - **Far end offers** (Flow B): [`Bridge::remote_offer`] opens a leg per stream it offers in
//!   a codec we carry and has the host offer the browser ([`Bridge::negotiation`] brings that
//!   offer); the browser's answer ([`Bridge::browser_answer`]) gives the plain answer.
//!
//! In a call a new browser offer renegotiates: the streams it keeps keep their legs and ports.

use serde::{Deserialize, Serialize};

use crate::plain_sdp::PlainMedia;
use crate::{
    host, AnswerPolicy, Direction, Endpoint, ForwardOptions, ForwardSource, HandleRef, LegCodec, LegOptions,
    MediaKind, NegotiationResult, OfferedStream, SrtpSuite, StreamDirection, StreamInfo,
};

/// The codecs a leg carries (no transcoding: the browser's codec goes through as it is), with
/// the payload type a plain offer gives each.
pub const CODECS: &[(&str, u8, u32)] = &[
    ("opus", 111, 48000),
    ("pcmu", 0, 8000),
    ("pcma", 8, 8000),
    ("g722", 9, 8000),
    ("vp8", 96, 90000),
    ("h264", 97, 90000),
    ("vp9", 98, 90000),
];

/// The payload type our plain offers give RFC 4733 telephone events.
pub const DTMF_PT: u8 = 101;

/// What a leg of `kind` carries: `codec`, and for audio RFC 4733 telephone events at its
/// clock with payload type `dtmf_pt` (DTMF goes through both ways): ours in our offers, the
/// far end's in our answers when it offered them.
fn leg_codecs(kind: MediaKind, codec: LegCodec, dtmf_pt: Option<u8>) -> Vec<LegCodec> {
    let events = dtmf_pt.filter(|pt| kind == MediaKind::Audio && *pt != codec.pt).map(|pt| LegCodec {
        pt,
        name: "telephone-event".to_owned(),
        clock: codec.clock,
    });
    std::iter::once(codec).chain(events).collect()
}

/// The codec names of [`CODECS`].
fn codec_names() -> Vec<&'static str> {
    CODECS.iter().map(|(n, _, _)| *n).collect()
}

/// Where a bridge is in its negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    /// Nothing negotiated.
    Idle,
    /// The browser offered: the host is answering it.
    Answering,
    /// Our plain offer is out: waiting for the far end's answer.
    Offered,
    /// The far end offered: the host is offering the browser.
    Offering,
    /// The browser has our offer: waiting for its answer.
    BrowserOffered,
    /// Media flows.
    Up,
}

/// One stream of the bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    /// The host's leg.
    pub id: u64,
    /// Audio or video.
    pub kind: MediaKind,
    /// The browser's stream.
    pub mid: String,
    /// Our SDP media section for it.
    pub sdp: String,
    /// The rules, both ways.
    pub rules: Vec<u64>,
}

/// What went wrong, for the plugin to answer with its own error code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BridgeError {
    /// The request does not fit the stage.
    WrongState(&'static str),
    /// An SDP the host or the bridge cannot use.
    InvalidSdp(String),
    /// The host could not open a leg.
    Io(String),
    /// Nothing the gateway can bridge (no stream in a codec it carries).
    TooStrict(&'static str),
    /// The host refused the negotiation.
    Host(String),
}

impl std::fmt::Display for BridgeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BridgeError::WrongState(s) | BridgeError::TooStrict(s) => f.write_str(s),
            BridgeError::InvalidSdp(s) | BridgeError::Io(s) | BridgeError::Host(s) => f.write_str(s),
        }
    }
}

/// What a `negotiation` media event meant to the bridge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Negotiation {
    /// Nothing to tell the browser yet (its answer waits for the far end's).
    Pending,
    /// The host's offer to the browser is ready (Flow B): send it.
    BrowserOffer(Option<String>),
    /// The host could not negotiate: the bridge is closed.
    Failed(String),
    /// The host could not renegotiate a call: the call goes on as it was.
    UpdateFailed(String),
}

/// The direction that answers `theirs` (RFC 3264 §6.1): `recvonly` for `sendonly`, and so on.
pub fn mirror(theirs: &str) -> &'static str {
    match theirs {
        "sendonly" => "recvonly",
        "recvonly" => "sendonly",
        "inactive" => "inactive",
        _ => "sendrecv",
    }
}

/// A handle's bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bridge {
    /// The handle whose PeerConnection is bridged.
    pub handle: HandleRef,
    /// Where the negotiation is.
    pub stage: Stage,
    /// The legs, one per bridged stream.
    pub legs: Vec<Leg>,
    /// The browser's answer, held until the far end's answer comes (Flow A).
    pub answer: Option<String>,
    /// SDES-SRTP for the legs.
    pub srtp: Option<SrtpSuite>,
    /// The far end must do SRTP too (`sdes_mandatory`).
    #[serde(default)]
    pub srtp_required: bool,
    /// The far end offered RTP/SAVP (Flow B): the answer says so too.
    #[serde(default)]
    pub remote_secure: bool,
    /// The negotiation under way renegotiates a call.
    #[serde(default)]
    pub update: bool,
    /// Where the legs bind and what their SDP gives (none: the host's media address).
    #[serde(default)]
    pub local_ip: Option<String>,
    /// The far end's direction in its last offer (its hold), which our answer mirrors.
    #[serde(default)]
    pub remote_direction: Option<String>,
    /// Its recordings (Janus's `recording`), by what they record: (the far end's side, kind).
    #[serde(default)]
    pub recordings: Vec<((bool, MediaKind), u64)>,
    /// Its RTP forwarders (`rtp_forward`).
    #[serde(default)]
    pub forwarders: Vec<crate::forwarders::Forwarder>,
}

impl Bridge {
    /// A bridge with nothing negotiated.
    pub fn new(handle: HandleRef) -> Self {
        Bridge {
            handle,
            stage: Stage::Idle,
            legs: Vec::new(),
            answer: None,
            srtp: None,
            srtp_required: false,
            remote_secure: false,
            update: false,
            local_ip: None,
            remote_direction: None,
            recordings: Vec::new(),
            forwarders: Vec::new(),
        }
    }

    /// Starts (or stops) recording what a `recording` request asks: each kind from the stream
    /// of that kind the call has; a stream already recorded, or none of that kind, is left as
    /// it is. Returns what the host refused.
    pub fn record(&mut self, request: &RecordingRequest) -> Vec<String> {
        let mut refused = Vec::new();
        for &(peer, kind) in &request.asked {
            let at = self.recordings.iter().position(|(what, _)| *what == (peer, kind));
            if !request.start {
                if let Some(at) = at {
                    host::unforward(self.recordings.remove(at).1);
                }
                continue;
            }
            let Some(leg) = self.legs.iter().find(|l| l.kind == kind) else { continue };
            if at.is_some() {
                continue;
            }
            let (src, mid) = if peer {
                (Endpoint::Leg(leg.id), "")
            } else {
                (Endpoint::Peer(self.handle), leg.mid.as_str())
            };
            let options = ForwardOptions { kinds: vec![kind], substream: None, temporal: None };
            let name = request.file(peer, kind);
            match host::forward_record(src, mid, &name, &options) {
                Ok(rule) => self.recordings.push(((peer, kind), rule)),
                Err(e) => refused.push(format!("{name}: {e}")),
            }
        }
        refused
    }

    /// The browser offered (`sdp`): the host answers it with the codecs a leg carries; in a
    /// call this renegotiates. `srtp` (none: as before) is the suite for new legs and whether
    /// the far end must do SRTP.
    pub fn browser_offer(&mut self, sdp: &str, srtp: Option<(SrtpSuite, bool)>) -> Result<(), BridgeError> {
        if self.stage != Stage::Idle && self.stage != Stage::Up {
            return Err(BridgeError::WrongState("Wrong state (already negotiating)"));
        }
        let policy = AnswerPolicy {
            audio: true,
            video: true,
            data: false,
            audio_codecs: vec!["opus,pcmu,pcma,g722".to_owned()],
            video_codecs: vec!["vp8,h264,vp9".to_owned()],
            simulcast: false,
            direction: Direction::Sendrecv,
        };
        host::answer(self.handle, sdp, &policy).map_err(BridgeError::InvalidSdp)?;
        self.update = self.stage == Stage::Up;
        if let Some((suite, required)) = srtp {
            (self.srtp, self.srtp_required) = (Some(suite), required);
        } else if !self.update {
            (self.srtp, self.srtp_required) = (None, false);
        }
        self.stage = Stage::Answering;
        Ok(())
    }

    /// The host's `negotiation` outcome.
    pub fn negotiation(&mut self, outcome: NegotiationResult) -> Negotiation {
        match (outcome.outcome, self.stage) {
            (Ok(done), Stage::Answering) => {
                self.answer = done.jsep;
                Negotiation::Pending
            }
            (Ok(done), Stage::Offering) => {
                for (leg, mid) in self.legs.iter_mut().zip(&done.mids) {
                    leg.mid = mid.clone();
                }
                self.stage = Stage::BrowserOffered;
                Negotiation::BrowserOffer(done.jsep)
            }
            // A renegotiation that fails leaves the call as it was (a re-INVITE refused does
            // not end the dialog, RFC 3261 §14.1).
            (Err(reason), Stage::Answering | Stage::Offering) if self.update && !self.legs.is_empty() => {
                (self.stage, self.update, self.answer) = (Stage::Up, false, None);
                Negotiation::UpdateFailed(reason)
            }
            (Err(reason), _) => {
                self.close();
                Negotiation::Failed(reason)
            }
            _ => Negotiation::Pending,
        }
    }

    /// The browser's streams are known: in Flow A a leg for each (kept ones keep theirs) and
    /// our plain offer, with `name` as its session name; otherwise none.
    pub fn negotiated(&mut self, streams: &[StreamInfo], name: &str) -> Option<String> {
        if self.stage != Stage::Answering {
            return None;
        }
        let mut old = std::mem::take(&mut self.legs);
        for st in
            streams.iter().filter(|st| st.kind != MediaKind::Data && (st.client_sends || st.client_receives))
        {
            if let Some(i) = old.iter().position(|l| l.mid == st.mid) {
                self.legs.push(old.swap_remove(i));
                continue;
            }
            let Some((codec, pt, clock)) = CODECS.iter().find(|(n, _, _)| *n == st.codec) else { continue };
            let codec = LegCodec { pt: *pt, name: (*codec).to_owned(), clock: *clock };
            let options = LegOptions {
                kind: st.kind,
                codecs: leg_codecs(st.kind, codec, Some(DTMF_PT)),
                srtp: self.srtp,
                local_ip: self.local_ip.clone(),
            };
            match host::rtp_leg_open(self.handle, &options) {
                Ok(local) => self.legs.push(Leg {
                    id: local.id,
                    kind: st.kind,
                    mid: st.mid.clone(),
                    sdp: local.sdp,
                    rules: Vec::new(),
                }),
                Err(e) => crate::warn!("[{}] no leg for {}: {e}", self.handle.handle, st.mid),
            }
        }
        for leg in old {
            host::rtp_leg_close(leg.id);
        }
        self.stage = Stage::Offered;
        Some(self.sdp(name, self.srtp_required))
    }

    /// The far end answered our offer (Flow A): the legs point at it, media flows, and the
    /// browser's answer comes back for the plugin to send. `latch` is the far end's signaling
    /// address for symmetric RTP, when wanted.
    pub fn remote_answer(
        &mut self,
        media: &[PlainMedia],
        latch: Option<Option<String>>,
    ) -> Result<Option<String>, BridgeError> {
        if self.stage != Stage::Offered {
            return Err(BridgeError::WrongState("Wrong state (no offer to answer)"));
        }
        self.point_legs(media, &latch)?;
        self.stage = Stage::Up;
        self.connect();
        Ok(self.answer.take())
    }

    /// The far end offered (Flow B): a leg per stream it offers in a codec we carry, pointed
    /// at it, and the host offers the browser (the offer comes with [`Bridge::negotiation`]).
    /// `asked` is the SRTP the plugin wants when the far end offers none.
    pub fn remote_offer(
        &mut self,
        media: &[PlainMedia],
        asked: Option<(SrtpSuite, bool)>,
        latch: Option<Option<String>>,
    ) -> Result<(), BridgeError> {
        if self.stage != Stage::Idle {
            return Err(BridgeError::WrongState("Wrong state (already negotiating)"));
        }
        let mut legs: Vec<Leg> = Vec::new();
        let mut offered = Vec::new();
        let mut srtp = None;
        let close = |legs: &[Leg]| legs.iter().for_each(|l| host::rtp_leg_close(l.id));
        for m in media.iter().filter(|m| m.port != 0) {
            let (Some(kind), Some(remote)) = (m.kind, remote_of(m, &latch)) else { continue };
            let suite = m.crypto.as_ref().map(|k| k.suite).or(asked.map(|(s, _)| s));
            srtp = srtp.or(suite);
            let codecs = leg_codecs(kind, remote.codec.clone(), remote.dtmf_pt);
            let options = LegOptions { kind, codecs, srtp: suite, local_ip: self.local_ip.clone() };
            let local = host::rtp_leg_open(self.handle, &options).map_err(|e| {
                close(&legs);
                BridgeError::Io(e)
            })?;
            if let Err(e) = host::rtp_leg_connect(local.id, &remote) {
                host::rtp_leg_close(local.id);
                close(&legs);
                return Err(BridgeError::InvalidSdp(e));
            }
            offered.push(OfferedStream::TwoWay(ForwardSource {
                source: Endpoint::Leg(local.id),
                mid: String::new(),
            }));
            let sdp = answering_crypto(local.sdp, m);
            legs.push(Leg { id: local.id, kind, mid: String::new(), sdp, rules: Vec::new() });
        }
        if legs.is_empty() {
            return Err(BridgeError::TooStrict("No audio or video stream in a codec the gateway can bridge"));
        }
        if let Err(e) = host::offer(self.handle, &offered) {
            close(&legs);
            return Err(BridgeError::Host(e));
        }
        self.legs = legs;
        self.stage = Stage::Offering;
        (self.srtp, self.srtp_required) = (srtp, asked.is_some_and(|(_, required)| required));
        self.remote_secure = media.iter().any(|m| m.secure);
        self.update = false;
        Ok(())
    }

    /// The browser answered our offer (Flow B; the host applied it): media flows, and our
    /// plain answer, with `name` as its session name.
    pub fn browser_answer(&mut self, name: &str) -> Result<String, BridgeError> {
        if self.stage != Stage::BrowserOffered {
            return Err(BridgeError::WrongState("Wrong state (no offer was sent to the browser)"));
        }
        self.stage = Stage::Up;
        self.connect();
        let direction = mirror(self.remote_direction.as_deref().unwrap_or("sendrecv"));
        Ok(self.sdp_with_direction(name, self.remote_secure, direction))
    }

    /// The far end changed its SDP in a call (a re-INVITE or its answer): the legs point at
    /// where it now says; the rules stay.
    pub fn remote_update(
        &mut self,
        media: &[PlainMedia],
        latch: Option<Option<String>>,
    ) -> Result<(), BridgeError> {
        if self.stage != Stage::Up {
            return Err(BridgeError::WrongState("Wrong state (not in a call)"));
        }
        self.point_legs(media, &latch)
    }

    /// The far end offers again in a call (NoSIP's `process` of an offer): the legs point
    /// where it now says, and the browser gets a new offer (the host's, restarting ICE), so
    /// `negotiation` gives [`Negotiation::BrowserOffer`] and `browser_answer` our plain
    /// answer, both marked `update`.
    pub fn remote_reoffer(
        &mut self,
        media: &[PlainMedia],
        latch: Option<Option<String>>,
    ) -> Result<(), BridgeError> {
        if !self.in_call() {
            return Err(BridgeError::WrongState("Wrong state (not in a call)"));
        }
        self.point_legs(media, &latch)?;
        host::redirect(self.handle, &self.browser_directions(media)).map_err(BridgeError::Host)?;
        self.remote_direction = media.iter().find(|m| m.kind.is_some()).map(|m| m.direction.clone());
        self.remote_secure = media.iter().any(|m| m.secure);
        self.stage = Stage::Offering;
        self.update = true;
        Ok(())
    }

    /// The directions the browser's streams take after the far end's offer `media`: ours
    /// towards the browser is what the far end does (it holds with `sendonly`: the browser
    /// then only receives), per leg in order of kind, as `point_legs` pairs them.
    pub fn browser_directions(&self, media: &[PlainMedia]) -> Vec<StreamDirection> {
        let audio_video = media.iter().filter(|m| m.kind.is_some());
        self.legs
            .iter()
            .zip(audio_video)
            .filter(|(leg, m)| !leg.mid.is_empty() && m.port != 0 && m.kind == Some(leg.kind))
            .map(|(leg, m)| StreamDirection {
                mid: leg.mid.clone(),
                direction: match m.direction.as_str() {
                    "sendonly" => Direction::Sendonly,
                    "recvonly" => Direction::Recvonly,
                    "inactive" => Direction::Inactive,
                    _ => Direction::Sendrecv,
                },
            })
            .collect()
    }

    /// In a call: media flowed, and nothing but a re-offer of the far end (which the browser
    /// may not have answered, or answered with what the host refused) is under way.
    pub fn in_call(&self) -> bool {
        self.stage == Stage::Up
            || (self.stage == Stage::BrowserOffered && self.update && !self.legs.is_empty())
    }

    /// Points each leg at the far end's section of its kind, in order (a port 0 section is
    /// left alone); our sections' `a=crypto` then answer its (their tags).
    fn point_legs(
        &mut self,
        media: &[PlainMedia],
        latch: &Option<Option<String>>,
    ) -> Result<(), BridgeError> {
        let audio_video = media.iter().filter(|m| m.kind.is_some());
        for (leg, m) in self.legs.iter_mut().zip(audio_video) {
            if m.port == 0 || m.kind != Some(leg.kind) {
                continue;
            }
            let Some(remote) = remote_of(m, latch) else { continue };
            host::rtp_leg_connect(leg.id, &remote).map_err(BridgeError::InvalidSdp)?;
            leg.sdp = answering_crypto(std::mem::take(&mut leg.sdp), m);
        }
        Ok(())
    }

    /// Our plain SDP with `direction` (`sendrecv`, `sendonly`, `recvonly`, `inactive`) in each
    /// section: hold, and the answer to the far end's hold.
    pub fn sdp_with_direction(&self, name: &str, secure: bool, direction: &str) -> String {
        self.sdp(name, secure).replace("a=sendrecv\r\n", &format!("a={direction}\r\n"))
    }

    /// Our plain SDP: the legs' sections. SDES that is only offered goes as RTP/AVP with
    /// `a=crypto`, as Janus writes it; `secure` keeps RTP/SAVP.
    pub fn sdp(&self, name: &str, secure: bool) -> String {
        let session = crate::rooms::random_u64() >> 12;
        let mut sdp = format!("v=0\r\no=- {session} 1 IN IP4 0.0.0.0\r\ns={name}\r\nt=0 0\r\n");
        for leg in &self.legs {
            let s = if secure { leg.sdp.clone() } else { leg.sdp.replace(" RTP/SAVP ", " RTP/AVP ") };
            sdp.push_str(&s);
            if !s.ends_with("\r\n") {
                sdp.push_str("\r\n");
            }
        }
        sdp
    }

    /// One rule each way between each leg and the browser's stream.
    fn connect(&mut self) {
        let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
        let handle = self.handle;
        for leg in self.legs.iter_mut().filter(|l| l.rules.is_empty() && !l.mid.is_empty()) {
            let (peer, line) = (Endpoint::Peer(handle), Endpoint::Leg(leg.id));
            for (src, src_mid, dst, dst_mid) in
                [(peer, Some(leg.mid.as_str()), line, None), (line, None, peer, Some(leg.mid.as_str()))]
            {
                match host::forward(src, src_mid, dst, dst_mid, &options) {
                    Ok(rule) => leg.rules.push(rule),
                    Err(e) => crate::warn!("[{}] no rule for {}: {e}", handle.handle, leg.mid),
                }
            }
        }
    }

    /// The bridge ends: its legs (and their rules) close; it starts over.
    pub fn close(&mut self) {
        for leg in &self.legs {
            host::rtp_leg_close(leg.id);
        }
        for (_, rule) in &self.recordings {
            host::unforward(*rule);
        }
        self.stop_forwarders();
        *self = Bridge { local_ip: self.local_ip.take(), ..Bridge::new(self.handle) };
    }
}

/// Janus's `recording` request of NoSIP and SIP: `action` (`start`, `stop`), what the browser
/// sends (`audio`, `video`) and what the far end sends (`peer_audio`, `peer_video`), into
/// `<filename>-user-audio.mjr`, `-peer-video.mjr`, … (without `filename`,
/// `<plugin>-<handle>-<µs>-own-audio.mjr`, `-peer-audio.mjr`, …, as Janus names them).
#[derive(Debug, Clone, PartialEq)]
pub struct RecordingRequest {
    /// Start (or stop).
    pub start: bool,
    /// What to record: (the far end's side, kind).
    pub asked: Vec<(bool, MediaKind)>,
    filename: Option<String>,
    default_base: String,
}

impl RecordingRequest {
    /// Parses a request for `plugin` (`nosip`, `sip`) on `handle`, with its error codes (and
    /// its code for recording errors: asking to record nothing is one, as in Janus).
    pub fn parse(
        body: &serde_json::Map<String, crate::Value>,
        codes: &crate::ErrorCodes,
        recording_error: u32,
        plugin: &str,
        handle: HandleRef,
    ) -> Result<Self, crate::PluginError> {
        use crate::{Field, JsonType, PluginError, Value};
        const FIELDS: &[Field] = &[
            Field::new("action", JsonType::String).required(),
            Field::new("audio", JsonType::Bool),
            Field::new("video", JsonType::Bool),
            Field::new("peer_audio", JsonType::Bool),
            Field::new("peer_video", JsonType::Bool),
            Field::new("filename", JsonType::String),
        ];
        crate::validate(body, FIELDS, codes)?;
        let start = match body.get("action").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            Some("start") => true,
            Some("stop") => false,
            _ => {
                return Err(PluginError::new(codes.invalid_element, "Invalid action (should be start|stop)"))
            }
        };
        let asked: Vec<(bool, MediaKind)> = [
            ("audio", false, MediaKind::Audio),
            ("video", false, MediaKind::Video),
            ("peer_audio", true, MediaKind::Audio),
            ("peer_video", true, MediaKind::Video),
        ]
        .into_iter()
        .filter(|(key, _, _)| body.get(*key).and_then(Value::as_bool) == Some(true))
        .map(|(_, peer, kind)| (peer, kind))
        .collect();
        if asked.is_empty() {
            return Err(PluginError::new(
                recording_error,
                "Invalid request (at least one of audio, video, peer_audio and peer_video should be true)",
            ));
        }
        Ok(RecordingRequest {
            start,
            asked,
            filename: body.get("filename").and_then(Value::as_str).map(str::to_owned),
            default_base: format!("{plugin}-{}-{}", handle.handle, crate::files::micros_now()),
        })
    }

    /// The file of one side's kind.
    pub fn file(&self, peer: bool, kind: MediaKind) -> String {
        let kind = if kind == MediaKind::Audio { "audio" } else { "video" };
        match &self.filename {
            Some(base) => format!("{base}-{}-{kind}.mjr", if peer { "peer" } else { "user" }),
            None => format!("{}-{}-{kind}.mjr", self.default_base, if peer { "peer" } else { "own" }),
        }
    }
}

/// The SRTP a request asks for (`srtp`: `sdes_optional`, `sdes_mandatory`; `srtp_profile`),
/// and whether it is mandatory; `invalid` is the error code for a bad value.
pub fn srtp_of(
    body: &serde_json::Map<String, crate::Value>,
    invalid: u32,
) -> Result<Option<(SrtpSuite, bool)>, crate::PluginError> {
    let mandatory =
        match body.get("srtp").and_then(crate::Value::as_str).map(str::to_ascii_lowercase).as_deref() {
            None => return Ok(None),
            Some("sdes_optional") => false,
            Some("sdes_mandatory") => true,
            Some(_) => {
                return Err(crate::PluginError::new(
                    invalid,
                    "Invalid element (srtp can only be sdes_optional or sdes_mandatory)",
                ))
            }
        };
    let suite = match body.get("srtp_profile").and_then(crate::Value::as_str) {
        None | Some("AES_CM_128_HMAC_SHA1_80") => SrtpSuite::AesCm128HmacSha180,
        Some("AES_CM_128_HMAC_SHA1_32") => SrtpSuite::AesCm128HmacSha132,
        Some(_) => {
            return Err(crate::PluginError::new(invalid, "Invalid element (unsupported SRTP profile)"))
        }
    };
    Ok(Some((suite, mandatory)))
}

/// The far end of a stream, in a codec we carry; `latch` as [`crate::LegRemote::latch`].
/// A leg's media section as the answer to `m`: its `a=crypto` answers the one the far end
/// offers, so it repeats that tag (RFC 4568), whatever tag it had.
fn answering_crypto(sdp: String, m: &PlainMedia) -> String {
    if m.crypto.is_none() {
        return sdp;
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp.split_inclusive('\n') {
        match line.strip_prefix("a=crypto:").and_then(|rest| rest.split_once(' ')) {
            Some((_, rest)) => out.push_str(&format!("a=crypto:{} {rest}", m.crypto_tag)),
            None => out.push_str(line),
        }
    }
    out
}

fn remote_of(m: &PlainMedia, latch: &Option<Option<String>>) -> Option<crate::LegRemote> {
    let mut remote = m.remote(&codec_names(), latch.is_some())?;
    if let Some(ip) = latch {
        remote.latch_ip = ip.clone();
    }
    Some(remote)
}

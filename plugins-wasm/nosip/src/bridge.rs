//! A bridge: the browser's PeerConnection on one side, a plain RTP leg per audio and video
//! stream on the other, and the two SDP flows between them.

use portunus_sdk::plain_sdp::{self, PlainMedia};
use portunus_sdk::{
    host, AnswerPolicy, Direction, Endpoint, Field, ForwardOptions, ForwardSource, HandleRef, JsonType,
    LegCodec, LegOptions, MediaKind, Message, NegotiationResult, OfferedStream, PluginError, SrtpSuite,
    StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{code, err, json, push, result, NoSip, CODES};

/// The codecs a leg carries (no transcoding: the browser's codec goes through as it is), with
/// the payload type a barebones offer gives each.
const CODECS: &[(&str, u8, u32)] = &[
    ("opus", 111, 48000),
    ("pcmu", 0, 8000),
    ("pcma", 8, 8000),
    ("g722", 9, 8000),
    ("vp8", 96, 90000),
    ("h264", 97, 90000),
    ("vp9", 98, 90000),
];

/// Where a bridge is in its negotiation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Stage {
    Idle,
    /// The browser offered (`generate`): the host is answering it.
    Answering,
    /// Our barebones offer is out: waiting for `process` with the answer.
    Offered,
    /// The other side offered (`process`): the host is offering the browser.
    Offering,
    /// The browser has our offer: waiting for `generate` with its answer.
    BrowserOffered,
    /// Media flows.
    Up,
}

/// One stream of the bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Leg {
    pub id: u64,
    pub kind: MediaKind,
    /// The browser's stream.
    pub mid: String,
    /// Our SDP section for it.
    pub sdp: String,
    /// The rules, both ways.
    pub rules: Vec<u64>,
}

/// A handle's bridge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub handle: HandleRef,
    pub stage: Stage,
    pub legs: Vec<Leg>,
    /// The request waiting for the host (`generate` or `process`).
    pub transaction: Option<String>,
    /// The browser's answer, held until `process` brings the other side's.
    pub answer: Option<String>,
    /// SDES-SRTP for the legs (`srtp`: `sdes_optional`/`sdes_mandatory`).
    pub srtp: Option<SrtpSuite>,
    /// `sdes_mandatory`: the other side must do SRTP too.
    #[serde(default)]
    pub srtp_required: bool,
    /// The other side offered RTP/SAVP (Flow B): the answer says so too.
    #[serde(default)]
    pub remote_secure: bool,
    /// The negotiation under way renegotiates a call (`update`).
    #[serde(default)]
    pub update: bool,
}

impl Session {
    pub fn new(handle: HandleRef) -> Self {
        Session {
            handle,
            stage: Stage::Idle,
            legs: Vec::new(),
            transaction: None,
            answer: None,
            srtp: None,
            srtp_required: false,
            remote_secure: false,
            update: false,
        }
    }
}

/// The SRTP a request asks for (`srtp`: `sdes_optional`, `sdes_mandatory`; `srtp_profile`),
/// and whether it is mandatory.
fn srtp_of(body: &Map<String, Value>) -> Result<Option<(SrtpSuite, bool)>, PluginError> {
    let mandatory = match body.get("srtp").and_then(Value::as_str).map(str::to_ascii_lowercase).as_deref() {
        None => return Ok(None),
        Some("sdes_optional") => false,
        Some("sdes_mandatory") => true,
        Some(_) => {
            return Err(err(
                code::INVALID_ELEMENT,
                "Invalid element (srtp can only be sdes_optional or sdes_mandatory)",
            ))
        }
    };
    let suite = match body.get("srtp_profile").and_then(Value::as_str) {
        None | Some("AES_CM_128_HMAC_SHA1_80") => SrtpSuite::AesCm128HmacSha180,
        Some("AES_CM_128_HMAC_SHA1_32") => SrtpSuite::AesCm128HmacSha132,
        Some(_) => return Err(err(code::INVALID_ELEMENT, "Invalid element (unsupported SRTP profile)")),
    };
    Ok(Some((suite, mandatory)))
}

/// A barebones SDP around these media sections. SDES that is only offered (`sdes_optional`,
/// or what answers a plain RTP/AVP offer) goes as RTP/AVP with `a=crypto`, as Janus writes it;
/// `secure` keeps RTP/SAVP.
fn barebones(sections: impl Iterator<Item = String>, secure: bool) -> String {
    let session = portunus_sdk::rooms::random_u64() >> 12;
    let mut sdp = format!("v=0\r\no=- {session} 1 IN IP4 0.0.0.0\r\ns=Portunus NoSIP\r\nt=0 0\r\n");
    for s in sections {
        let s = if secure { s } else { s.replace(" RTP/SAVP ", " RTP/AVP ") };
        sdp.push_str(&s);
        if !s.ends_with("\r\n") {
            sdp.push_str("\r\n");
        }
    }
    sdp
}

impl NoSip {
    /// The requests.
    pub(crate) fn process(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const REQUEST: &[Field] = &[
            Field::new("request", JsonType::String).required(),
            Field::new("srtp", JsonType::String),
            Field::new("srtp_profile", JsonType::String),
            Field::new("update", JsonType::Bool),
        ];
        portunus_sdk::validate(body, REQUEST, &CODES)?;
        let handle = msg.handle;
        let request = body.get("request").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
        let stage = self.sessions.get(&handle.handle).map_or(Stage::Idle, |s| s.stage);
        match request.as_str() {
            "generate" => {
                let Some(jsep) = msg.parsed_jsep().filter(|j| !j.sdp.is_empty()) else {
                    return Err(err(code::MISSING_SDP, "Missing SDP"));
                };
                if jsep.is_offer() {
                    // In a call, a new offer renegotiates (`update`): the legs stay.
                    if stage != Stage::Idle && stage != Stage::Up {
                        return Err(err(code::WRONG_STATE, "Wrong state (already negotiating)"));
                    }
                    let srtp = match srtp_of(body)? {
                        None if stage == Stage::Up => {
                            let s = self.session(handle);
                            s.srtp.map(|suite| (suite, s.srtp_required))
                        }
                        asked => asked,
                    };
                    let policy = AnswerPolicy {
                        audio: true,
                        video: true,
                        data: false,
                        audio_codecs: vec!["opus,pcmu,pcma,g722".to_owned()],
                        video_codecs: vec!["vp8,h264,vp9".to_owned()],
                        simulcast: false,
                        direction: Direction::Sendrecv,
                    };
                    host::answer(handle, &jsep.sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
                    let s = self.session(handle);
                    s.update = stage == Stage::Up;
                    (s.stage, s.srtp, s.srtp_required, s.transaction) = (
                        Stage::Answering,
                        srtp.map(|(suite, _)| suite),
                        srtp.is_some_and(|(_, required)| required),
                        Some(msg.transaction.clone()),
                    );
                    return Ok(());
                }
                // The browser's answer to our offer (the host applied it): the barebones answer.
                if stage != Stage::BrowserOffered {
                    return Err(err(code::WRONG_STATE, "Wrong state (no offer was sent to the browser)"));
                }
                self.connect(handle);
                let s = self.session(handle);
                s.stage = Stage::Up;
                let sdp = barebones(s.legs.iter().map(|l| l.sdp.clone()), s.remote_secure);
                let generated = json!({"event": "generated", "type": "answer", "sdp": sdp});
                push(handle, Some(&msg.transaction), &result(generated), None);
                Ok(())
            }
            "process" => {
                const PROCESS: &[Field] = &[
                    Field::new("type", JsonType::String).required(),
                    Field::new("sdp", JsonType::String).required(),
                ];
                portunus_sdk::validate(body, PROCESS, &CODES)?;
                let kind = body.get("type").and_then(Value::as_str).unwrap_or_default();
                let sdp = body.get("sdp").and_then(Value::as_str).unwrap_or_default();
                let kind = kind.to_ascii_lowercase();
                if kind != "offer" && kind != "answer" {
                    return Err(err(code::MISSING_SDP, "Missing or invalid SDP type"));
                }
                // Janus's texts: what does not parse is 446, what has nothing to bridge 447.
                let media = plain_sdp::parse(sdp)
                    .map_err(|e| err(code::MISSING_SDP, format!("Error parsing SDP: {e}")))?;
                if sdp.contains("m=application") {
                    return Err(err(code::MISSING_SDP, "The NoSIP plugin does not support DataChannels"));
                }
                if !media.iter().any(|m| m.kind.is_some() && m.port != 0) {
                    return Err(err(code::INVALID_SDP, "No audio and no video being negotiated"));
                }
                // This request's own `srtp` decides, else what `generate` asked for.
                let required = match srtp_of(body)? {
                    Some((_, required)) => required,
                    None => self.sessions.get(&handle.handle).is_some_and(|s| s.srtp_required),
                };
                if required && !media.iter().any(|m| m.crypto.is_some()) {
                    let text = "Can't process request: SDES-SRTP required, but caller didn't offer it";
                    return Err(err(code::TOO_STRICT, text));
                }
                if kind == "answer" {
                    self.remote_answer(msg, &media)
                } else {
                    self.remote_offer(msg, body, &media)
                }
            }
            "hangup" => {
                self.hang_up(handle, Some(&msg.transaction));
                Ok(())
            }
            "recording" => Err(err(code::RECORDING_ERROR, "Recording is not supported yet")),
            other => Err(err(code::INVALID_REQUEST, format!("Unknown request ({other})"))),
        }
    }

    fn session(&mut self, handle: HandleRef) -> &mut Session {
        if !self.sessions.contains_key(&handle.handle) {
            self.sessions.insert(handle.handle, Session::new(handle));
        }
        self.sessions.get_mut(&handle.handle).expect("just inserted")
    }

    /// The host answered the browser (Flow A: the answer waits for the other side's), or made
    /// the browser's offer (Flow B: `processed` goes out with it).
    pub(crate) fn negotiation_done(&mut self, handle: HandleRef, outcome: NegotiationResult) {
        let Some(s) = self.sessions.get_mut(&handle.handle) else { return };
        let transaction = s.transaction.clone();
        match (outcome.outcome, s.stage) {
            (Ok(done), Stage::Answering) => s.answer = done.jsep,
            (Ok(done), Stage::Offering) => {
                for (leg, mid) in s.legs.iter_mut().zip(&done.mids) {
                    leg.mid = mid.clone();
                }
                s.stage = Stage::BrowserOffered;
                let mut processed = json!({"event": "processed"});
                if s.srtp.is_some() {
                    processed["srtp"] =
                        json!(if s.srtp_required { "sdes_mandatory" } else { "sdes_optional" });
                }
                push(handle, transaction.as_deref(), &result(processed), done.jsep.as_deref());
            }
            (Err(reason), _) => {
                let e = err(code::INVALID_SDP, reason);
                e.push_logged(handle, transaction.as_deref(), crate::PACKAGE);
                self.hang_up(handle, None);
            }
            _ => {}
        }
    }

    /// The browser's streams are known (Flow A): a leg for each, and our barebones offer.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(s) = self.sessions.get(&handle.handle).filter(|s| s.stage == Stage::Answering) else {
            return;
        };
        let srtp = s.srtp;
        // A renegotiation keeps the legs of the streams it keeps (same ports), and closes the others.
        let mut old = s.legs.clone();
        let mut legs = Vec::new();
        for st in
            streams.iter().filter(|st| st.kind != MediaKind::Data && (st.client_sends || st.client_receives))
        {
            if let Some(i) = old.iter().position(|l| l.mid == st.mid) {
                legs.push(old.swap_remove(i));
                continue;
            }
            let Some((name, pt, clock)) = CODECS.iter().find(|(n, _, _)| *n == st.codec) else { continue };
            let codec = LegCodec { pt: *pt, name: (*name).to_owned(), clock: *clock };
            match host::rtp_leg_open(handle, &LegOptions { kind: st.kind, codecs: vec![codec], srtp }) {
                Ok(local) => legs.push(Leg {
                    id: local.id,
                    kind: st.kind,
                    mid: st.mid.clone(),
                    sdp: local.sdp,
                    rules: Vec::new(),
                }),
                Err(e) => portunus_sdk::warn!("[{}] no leg for {}: {e}", handle.handle, st.mid),
            }
        }
        for leg in old {
            host::rtp_leg_close(leg.id);
        }
        let s = self.session(handle);
        let transaction = s.transaction.take();
        s.legs = legs;
        s.stage = Stage::Offered;
        let sdp = barebones(s.legs.iter().map(|l| l.sdp.clone()), s.srtp_required);
        let mut generated = json!({"event": "generated", "type": "offer", "sdp": sdp});
        if s.update {
            generated["update"] = json!(true);
        }
        push(handle, transaction.as_deref(), &result(generated), None);
    }

    /// `process` with the other side's answer (Flow A): the legs point at it, media flows, and
    /// the browser gets its answer.
    fn remote_answer(&mut self, msg: &Message, media: &[PlainMedia]) -> Result<(), PluginError> {
        let handle = msg.handle;
        let s = self.session(handle);
        if s.stage != Stage::Offered {
            return Err(err(code::WRONG_STATE, "Wrong state (no offer to answer)"));
        }
        let audio_video: Vec<&PlainMedia> = media.iter().filter(|m| m.kind.is_some()).collect();
        for (leg, m) in s.legs.iter().zip(&audio_video) {
            if m.port == 0 || m.kind != Some(leg.kind) {
                continue;
            }
            let ours: Vec<&str> = CODECS.iter().map(|(n, _, _)| *n).collect();
            let Some(remote) = m.remote(&ours, false) else { continue };
            host::rtp_leg_connect(leg.id, &remote).map_err(|e| err(code::INVALID_SDP, e))?;
        }
        s.stage = Stage::Up;
        let answer = s.answer.take();
        let (srtp, required) = (s.srtp.is_some(), s.srtp_required);
        self.connect(handle);
        // `srtp` says the other side's SRTP was taken (mandatory, or not).
        let mut processed = json!({"event": "processed"});
        if srtp && media.iter().any(|m| m.crypto.is_some()) {
            processed["srtp"] = json!(if required { "sdes_mandatory" } else { "sdes_optional" });
        }
        if self.sessions.get(&handle.handle).is_some_and(|s| s.update) {
            processed["update"] = json!(true);
        }
        push(handle, Some(&msg.transaction), &result(processed), answer.as_deref());
        Ok(())
    }

    /// `process` with the other side's offer (Flow B): a leg per stream it offers in a codec
    /// we carry, pointed at it, and an offer to the browser (`processed` goes with it).
    fn remote_offer(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        media: &[PlainMedia],
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        if self.sessions.get(&handle.handle).is_some_and(|s| s.stage != Stage::Idle) {
            return Err(err(code::WRONG_STATE, "Wrong state (already negotiating)"));
        }
        let ours: Vec<&str> = CODECS.iter().map(|(n, _, _)| *n).collect();
        let (asked, required) = match srtp_of(body)? {
            Some((suite, required)) => (Some(suite), required),
            None => (None, false),
        };
        let mut legs = Vec::new();
        let mut offered = Vec::new();
        let mut srtp = None;
        for m in media.iter().filter(|m| m.port != 0) {
            let (Some(kind), Some(remote)) = (m.kind, m.remote(&ours, false)) else { continue };
            let suite = m.crypto.as_ref().map(|k| k.suite).or(asked);
            srtp = srtp.or(suite);
            let options = LegOptions { kind, codecs: vec![remote.codec.clone()], srtp: suite };
            // On an error, the legs opened so far close too.
            let close = |legs: &[Leg]| legs.iter().for_each(|l| host::rtp_leg_close(l.id));
            let local = match host::rtp_leg_open(handle, &options) {
                Ok(local) => local,
                Err(e) => {
                    close(&legs);
                    return Err(err(code::IO_ERROR, e));
                }
            };
            if let Err(e) = host::rtp_leg_connect(local.id, &remote) {
                host::rtp_leg_close(local.id);
                close(&legs);
                return Err(err(code::INVALID_SDP, e));
            }
            offered.push(OfferedStream::TwoWay(ForwardSource {
                source: Endpoint::Leg(local.id),
                mid: String::new(),
            }));
            legs.push(Leg { id: local.id, kind, mid: String::new(), sdp: local.sdp, rules: Vec::new() });
        }
        if legs.is_empty() {
            return Err(err(code::TOO_STRICT, "No audio or video stream in a codec the gateway can bridge"));
        }
        match host::offer(handle, &offered) {
            Ok(_) => {
                let s = self.session(handle);
                (s.legs, s.stage, s.srtp, s.srtp_required, s.transaction) =
                    (legs, Stage::Offering, srtp, required, Some(msg.transaction.clone()));
                s.remote_secure = media.iter().any(|m| m.secure);
                Ok(())
            }
            Err(e) => {
                for leg in legs {
                    host::rtp_leg_close(leg.id);
                }
                Err(err(code::UNKNOWN, e))
            }
        }
    }

    /// One rule each way between each leg and the browser's stream.
    fn connect(&mut self, handle: HandleRef) {
        let Some(s) = self.sessions.get_mut(&handle.handle) else { return };
        let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
        for leg in s.legs.iter_mut().filter(|l| l.rules.is_empty() && !l.mid.is_empty()) {
            let (peer, line) = (Endpoint::Peer(handle), Endpoint::Leg(leg.id));
            for (src, src_mid, dst, dst_mid) in
                [(peer, Some(leg.mid.as_str()), line, None), (line, None, peer, Some(leg.mid.as_str()))]
            {
                match host::forward(src, src_mid, dst, dst_mid, &options) {
                    Ok(rule) => leg.rules.push(rule),
                    Err(e) => portunus_sdk::warn!("[{}] no rule for {}: {e}", handle.handle, leg.mid),
                }
            }
        }
    }

    /// The bridge ends: its legs (and their rules) close, the PeerConnection too; the asker
    /// hears `hangingup`.
    pub(crate) fn hang_up(&mut self, handle: HandleRef, transaction: Option<&str>) {
        let Some(s) = self.sessions.get_mut(&handle.handle) else { return };
        let was = std::mem::replace(s, Session::new(handle));
        for leg in &was.legs {
            host::rtp_leg_close(leg.id);
        }
        if let Some(t) = transaction {
            push(handle, Some(t), &result(json!({"event": "hangingup"})), None);
            host::close_pc(handle);
        }
    }
}

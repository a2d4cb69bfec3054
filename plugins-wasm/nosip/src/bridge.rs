//! NoSIP's requests on the SDK's [`Bridge`]: `generate` and `process` carry the two SDP flows,
//! and the events say where each stands.

use portunus_sdk::bridge::{Bridge, BridgeError, Negotiation, RecordingRequest};
use portunus_sdk::forwarders::ForwardCodes;
use portunus_sdk::plain_sdp::{self, PlainMedia};
use portunus_sdk::{
    host, Field, HandleRef, JsonType, Message, NegotiationResult, PluginError, SrtpSuite, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{code, err, json, push, result, NoSip, CODES};

/// The session name of our SDPs.
const SDP_NAME: &str = "Portunus NoSIP";

/// A handle's bridge and the request waiting for the host.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// The bridge (flattened: the saved form is the one of before it moved to the SDK).
    #[serde(flatten)]
    pub bridge: Bridge,
    /// The request waiting for the host (`generate` or `process`).
    pub transaction: Option<String>,
    /// Janus's `unique_id` of the session, which the event handlers hear.
    #[serde(default = "portunus_sdk::rooms::random_uuid")]
    pub unique_id: String,
}

impl Session {
    pub fn new(handle: HandleRef) -> Self {
        Session {
            bridge: Bridge::new(handle),
            transaction: None,
            unique_id: portunus_sdk::rooms::random_uuid(),
        }
    }

    /// Tells the event handlers of an SDP `generated` or `processed` (not of a renegotiation's,
    /// as Janus).
    fn tell(&self, event: &str, kind: &str, sdp: &str) {
        if !self.bridge.update {
            portunus_sdk::notify_event(
                Some(self.bridge.handle),
                || json!({"event": event, "type": kind, "sdp": sdp, "unique_id": self.unique_id}),
            );
        }
    }
}

/// The error codes of the forwarder requests.
const FORWARD: ForwardCodes =
    ForwardCodes { body: CODES, no_such_stream: code::NO_SUCH_STREAM, unknown: code::UNKNOWN };

/// NoSIP's error code for a bridge error.
fn coded(e: BridgeError) -> PluginError {
    let code = match e {
        BridgeError::WrongState(_) => code::WRONG_STATE,
        BridgeError::InvalidSdp(_) => code::INVALID_SDP,
        BridgeError::Io(_) => code::IO_ERROR,
        BridgeError::TooStrict(_) => code::TOO_STRICT,
        BridgeError::Host(_) => code::UNKNOWN,
    };
    err(code, e.to_string())
}

/// `srtp` of `processed`: what the session does.
fn srtp_name(b: &Bridge) -> Value {
    json!(if b.srtp_required { "sdes_mandatory" } else { "sdes_optional" })
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
        match request.as_str() {
            "generate" => {
                let Some(jsep) = msg.parsed_jsep().filter(|j| !j.sdp.is_empty()) else {
                    return Err(err(code::MISSING_SDP, "Missing SDP"));
                };
                let srtp = portunus_sdk::bridge::srtp_of(body, code::INVALID_ELEMENT)?;
                let s = self.session(handle);
                if jsep.is_offer() {
                    s.bridge.browser_offer(&jsep.sdp, srtp).map_err(coded)?;
                    s.transaction = Some(msg.transaction.clone());
                    return Ok(());
                }
                // The browser's answer to our offer (the host applied it): the plain answer.
                let sdp = s.bridge.browser_answer(SDP_NAME).map_err(coded)?;
                s.tell("generated", "answer", &sdp);
                let mut generated = json!({"event": "generated", "type": "answer", "sdp": sdp});
                if s.bridge.update {
                    generated["update"] = json!(true);
                }
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
                if sdp.contains("m=application") {
                    return Err(err(code::MISSING_SDP, "The NoSIP plugin does not support DataChannels"));
                }
                // This request's own `srtp` decides (checked before the SDP is read, as Janus
                // does), else what `generate` asked for.
                let asked = portunus_sdk::bridge::srtp_of(body, code::INVALID_ELEMENT)?;
                // Janus's texts: what does not parse is 446, what has nothing to bridge 447.
                let media = plain_sdp::parse(sdp)
                    .map_err(|e| err(code::MISSING_SDP, format!("Error parsing SDP: {e}")))?;
                if !media.iter().any(|m| m.kind.is_some() && m.port != 0) {
                    return Err(err(code::INVALID_SDP, "No audio and no video being negotiated"));
                }
                let required = match asked {
                    Some((_, required)) => required,
                    None => self.sessions.get(&handle.handle).is_some_and(|s| s.bridge.srtp_required),
                };
                if required && !media.iter().any(|m| m.crypto.is_some()) {
                    let text = "Can't process request: SDES-SRTP required, but caller didn't offer it";
                    return Err(err(code::TOO_STRICT, text));
                }
                if kind == "answer" {
                    self.remote_answer(msg, &media)?;
                } else {
                    self.remote_offer(msg, asked, &media)?;
                }
                self.session(handle).tell("processed", &kind, sdp);
                Ok(())
            }
            "keyframe" => {
                self.session(handle).bridge.keyframe(body, &CODES)?;
                push(handle, Some(&msg.transaction), &result(json!({"event": "keyframesent"})), None);
                Ok(())
            }
            "rtp_forward" => {
                let made = self.session(handle).bridge.forward(body, FORWARD)?;
                let done = json!({"event": "rtp_forward", "forwarders": made});
                push(handle, Some(&msg.transaction), &result(done), None);
                Ok(())
            }
            "stop_rtp_forward" => {
                let stream_id = self.session(handle).bridge.stop_forward(body, FORWARD)?;
                let done = json!({"event": "stop_rtp_forward", "stream_id": stream_id});
                push(handle, Some(&msg.transaction), &result(done), None);
                Ok(())
            }
            "listforwarders" => {
                let list = self.session(handle).bridge.forwarder_list();
                let done = json!({"event": "forwarders", "rtp_forwarders": list});
                push(handle, Some(&msg.transaction), &result(done), None);
                Ok(())
            }
            "hangup" => {
                self.hang_up(handle, Some(&msg.transaction));
                Ok(())
            }
            "recording" => self.recording(msg, body),
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
        match s.bridge.negotiation(outcome) {
            Negotiation::Pending => {}
            Negotiation::BrowserOffer(jsep) => {
                let mut processed = json!({"event": "processed"});
                if s.bridge.srtp.is_some() {
                    processed["srtp"] = srtp_name(&s.bridge);
                }
                if s.bridge.update {
                    processed["update"] = json!(true);
                }
                push(handle, s.transaction.as_deref(), &result(processed), jsep.as_deref());
            }
            Negotiation::Failed(reason) => {
                let e = err(code::INVALID_SDP, reason);
                e.push_logged(handle, s.transaction.as_deref(), crate::PACKAGE);
                self.hang_up(handle, None);
            }
            Negotiation::UpdateFailed(reason) => {
                let e = err(code::INVALID_SDP, format!("The call goes on unchanged: {reason}"));
                e.push_logged(handle, s.transaction.take().as_deref(), crate::PACKAGE);
            }
        }
    }

    /// The browser's streams are known (Flow A): a leg for each, and our plain offer.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(s) = self.sessions.get_mut(&handle.handle) else { return };
        let Some(sdp) = s.bridge.negotiated(streams, SDP_NAME) else { return };
        s.tell("generated", "offer", &sdp);
        let mut generated = json!({"event": "generated", "type": "offer", "sdp": sdp});
        if s.bridge.update {
            generated["update"] = json!(true);
        }
        push(handle, s.transaction.take().as_deref(), &result(generated), None);
    }

    /// `process` with the other side's answer (Flow A): the legs point at it, media flows, and
    /// the browser gets its answer.
    fn remote_answer(&mut self, msg: &Message, media: &[PlainMedia]) -> Result<(), PluginError> {
        let s = self.session(msg.handle);
        let answer = s.bridge.remote_answer(media, None).map_err(coded)?;
        // `srtp` says the other side's SRTP was taken (mandatory, or not).
        let mut processed = json!({"event": "processed"});
        if s.bridge.srtp.is_some() && media.iter().any(|m| m.crypto.is_some()) {
            processed["srtp"] = srtp_name(&s.bridge);
        }
        if s.bridge.update {
            processed["update"] = json!(true);
        }
        push(msg.handle, Some(&msg.transaction), &result(processed), answer.as_deref());
        Ok(())
    }

    /// `process` with the other side's offer (Flow B; in a call, a renegotiation): the browser
    /// gets an offer (`processed` goes with it).
    fn remote_offer(
        &mut self,
        msg: &Message,
        asked: Option<(SrtpSuite, bool)>,
        media: &[PlainMedia],
    ) -> Result<(), PluginError> {
        let s = self.session(msg.handle);
        if s.bridge.in_call() {
            s.bridge.remote_reoffer(media, None).map_err(coded)?;
        } else {
            s.bridge.remote_offer(media, asked, None).map_err(coded)?;
        }
        s.transaction = Some(msg.transaction.clone());
        Ok(())
    }

    /// `recording`: starts or stops recording what the browser sends (`audio`, `video`) and
    /// what the far end sends (`peer_audio`, `peer_video`) to .mjr files, as Janus's NoSIP
    /// names them (`<filename>-user-audio.mjr`, …; without `filename`,
    /// `nosip-<handle>-<µs>-own-audio.mjr`, …); stopping never fails.
    fn recording(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let request = RecordingRequest::parse(body, &CODES, code::RECORDING_ERROR, "nosip", msg.handle)?;
        let refused = self.session(msg.handle).bridge.record(&request);
        if let Some(why) = refused.first() {
            return Err(err(code::RECORDING_ERROR, format!("Error starting recorder: {why}")));
        }
        push(msg.handle, Some(&msg.transaction), &result(json!({"event": "recordingupdated"})), None);
        Ok(())
    }

    /// The bridge ends: its legs (and their rules) close, the PeerConnection too; the asker
    /// hears `hangingup`.
    pub(crate) fn hang_up(&mut self, handle: HandleRef, transaction: Option<&str>) {
        let Some(s) = self.sessions.get_mut(&handle.handle) else { return };
        s.bridge.close();
        s.transaction = None;
        if let Some(t) = transaction {
            push(handle, Some(t), &result(json!({"event": "hangingup"})), None);
            host::close_pc(handle);
        }
    }
}

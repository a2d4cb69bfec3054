//! RTP forwarders of a call (`rtp_forward`, `stop_rtp_forward`, `listforwarders`), its
//! recordings (`recording`) and keyframe requests (`keyframe`), as Janus's SIP plugin has them. A forwarder copies the browser's
//! audio or video (`audio`, `video`) or the far end's (`peer_audio`, `peer_video`) to a plain
//! RTP address, on the host's RTP outputs; it ends with the call.

use portunus_sdk::bridge::RecordingRequest;
use portunus_sdk::{host, Endpoint, Field, ForwardOptions, JsonType, MediaKind, Message, PluginError, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::call::CallState;
use crate::{code, err, event, json, push, Sip, CODES};

/// One forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarder {
    /// Janus's `stream_id`.
    pub stream_id: u32,
    /// `audio`, `video`, `peer_audio` or `peer_video`.
    pub kind: String,
    pub host: String,
    pub port: u16,
    pub ssrc: Option<u32>,
    pub pt: Option<u8>,
    pub srtp: bool,
    /// The host's rule.
    pub rule: u64,
}

impl Forwarder {
    /// Janus's summary of it.
    fn summary(&self) -> Value {
        let media = if self.kind.ends_with("video") { "video" } else { "audio" };
        let mut f = json!({"stream_id": self.stream_id, "type": self.kind, "host": self.host,
                           "port": self.port, "media": media});
        if let Some(pt) = self.pt {
            f["pt"] = json!(pt);
        }
        if let Some(ssrc) = self.ssrc {
            f["ssrc"] = json!(ssrc);
        }
        if self.srtp {
            f["srtp"] = json!(true);
        }
        f
    }
}

impl Sip {
    /// `rtp_forward{streams: [{type, host, port, ssrc?, pt?, srtp_suite?, srtp_crypto?}]}`.
    pub(crate) fn rtp_forward(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("streams", JsonType::Array).required()], &CODES)?;
        const STREAM: &[Field] = &[
            Field::new("type", JsonType::String).required(),
            Field::new("host", JsonType::String).required(),
            Field::new("host_family", JsonType::String),
            Field::new("port", JsonType::Integer).required().positive(),
            Field::new("ssrc", JsonType::Integer).positive(),
            Field::new("pt", JsonType::Integer).positive(),
            Field::new("srtp_suite", JsonType::Integer).positive(),
            Field::new("srtp_crypto", JsonType::String),
        ];
        let handle = req.handle;
        let a = self.account(handle);
        if a.call.as_ref().is_none_or(|c| c.state != CallState::Confirmed) {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call)"));
        }
        let streams = body.get("streams").and_then(Value::as_array).cloned().unwrap_or_default();
        if streams.is_empty() {
            return Err(err(code::MISSING_ELEMENT, "Missing mandatory element streams, or empty array"));
        }
        // Every stream is checked before any forwarder starts.
        let mut wanted = Vec::with_capacity(streams.len());
        for s in &streams {
            let s = s.as_object().ok_or_else(|| err(code::INVALID_ELEMENT, "Invalid element (streams)"))?;
            portunus_sdk::validate(s, STREAM, &CODES)?;
            let kind = s.get("type").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let (peer, media) = match kind.as_str() {
                "audio" => (false, MediaKind::Audio),
                "video" => (false, MediaKind::Video),
                "peer_audio" => (true, MediaKind::Audio),
                "peer_video" => (true, MediaKind::Video),
                _ => return Err(err(code::INVALID_ELEMENT, "Invalid element (type)")),
            };
            let target =
                portunus_sdk::rtp_target::from_janus(s).map_err(|e| err(code::INVALID_ELEMENT, e))?;
            let leg = a.bridge.legs.iter().find(|l| l.kind == media);
            let Some(leg) = leg else {
                return Err(err(code::NO_SUCH_STREAM, format!("No {kind} stream in this call")));
            };
            let src = if peer {
                (Endpoint::Leg(leg.id), String::new())
            } else {
                (Endpoint::Peer(handle), leg.mid.clone())
            };
            wanted.push((kind, src, target));
        }
        let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
        let mut made = Vec::with_capacity(wanted.len());
        for (kind, (src, mid), target) in wanted {
            let rule = host::forward_rtp(src, &mid, &target, &options)
                .map_err(|e| err(code::UNKNOWN, format!("Could not forward: {e}")))?;
            let mut stream_id = 0;
            while stream_id == 0 || stream_id_taken(self, handle.handle, stream_id) {
                stream_id = portunus_sdk::rooms::random_u64() as u32;
            }
            let f = Forwarder {
                stream_id,
                kind,
                host: target.host,
                port: target.port,
                ssrc: target.ssrc,
                pt: target.payload_type,
                srtp: target.srtp.is_some(),
                rule,
            };
            made.push(f.summary());
            self.account(handle).forwarders.push(f);
        }
        let done = json!({"event": "rtp_forward", "forwarders": made});
        push(handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `stop_rtp_forward{stream_id}`.
    pub(crate) fn stop_rtp_forward(
        &mut self,
        req: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let fields = [Field::new("stream_id", JsonType::Integer).required().positive()];
        portunus_sdk::validate(body, &fields, &CODES)?;
        let stream_id = body.get("stream_id").and_then(Value::as_u64).unwrap_or(0);
        let a = self.account(req.handle);
        let Some(i) = a.forwarders.iter().position(|f| u64::from(f.stream_id) == stream_id) else {
            return Err(err(code::NO_SUCH_STREAM, format!("No such stream ({stream_id})")));
        };
        host::unforward(a.forwarders.remove(i).rule);
        let done = json!({"event": "stop_rtp_forward", "stream_id": stream_id});
        push(req.handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `listforwarders`.
    pub(crate) fn list_forwarders(&mut self, req: &Message) -> Result<(), PluginError> {
        let list: Vec<Value> = self.account(req.handle).forwarders.iter().map(Forwarder::summary).collect();
        let done = json!({"event": "forwarders", "rtp_forwarders": list});
        push(req.handle, Some(&req.transaction), &event(None, done), None);
        Ok(())
    }

    /// `keyframe{user?, peer?}`: a PLI to the browser, to the far end (its video legs), or
    /// both (`keyframesent`).
    pub(crate) fn keyframe(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let fields = [Field::new("user", JsonType::Bool), Field::new("peer", JsonType::Bool)];
        portunus_sdk::validate(body, &fields, &CODES)?;
        let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
        let a = self.account(req.handle);
        let Some(c) = a.call.as_ref().filter(|c| c.state == CallState::Confirmed) else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        let call_id = c.call_id.clone();
        if flag("user") {
            host::request_keyframe(req.handle, None);
        }
        if flag("peer") {
            for leg in a.bridge.legs.iter().filter(|l| l.kind == MediaKind::Video) {
                if let Err(e) = host::rtp_leg_keyframe(leg.id) {
                    portunus_sdk::warn!("[{}] no keyframe request to the far end: {e}", req.handle.handle);
                }
            }
        }
        push(
            req.handle,
            Some(&req.transaction),
            &event(Some(&call_id), json!({"event": "keyframesent"})),
            None,
        );
        Ok(())
    }

    /// `recording`: the call's media to .mjr files, as Janus's SIP plugin records it (see
    /// [`RecordingRequest`]); the call's end ends it.
    pub(crate) fn recording(&mut self, req: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let a = self.account(req.handle);
        let Some(c) = a.call.as_ref().filter(|c| c.state == CallState::Confirmed) else {
            return Err(err(code::WRONG_STATE, "Wrong state (not in a call?)"));
        };
        let call_id = c.call_id.clone();
        let request = RecordingRequest::parse(body, &CODES, "sip", req.handle)?;
        if let Some(why) = a.bridge.record(&request).first() {
            return Err(err(code::RECORDING_ERROR, format!("Error starting recorder: {why}")));
        }
        let updated = event(Some(&call_id), json!({"event": "recordingupdated"}));
        push(req.handle, Some(&req.transaction), &updated, None);
        Ok(())
    }

    /// The call ended: its forwarders stop.
    pub(crate) fn stop_forwarders(&mut self, handle: u64) {
        if let Some(a) = self.accounts.get_mut(&handle) {
            for f in a.forwarders.drain(..) {
                host::unforward(f.rule);
            }
        }
    }
}

/// Whether the handle has a forwarder `stream_id`.
fn stream_id_taken(sip: &Sip, handle: u64, stream_id: u32) -> bool {
    sip.accounts.get(&handle).is_some_and(|a| a.forwarders.iter().any(|f| f.stream_id == stream_id))
}

//! RTP forwarders of a bridged call (`rtp_forward`, `stop_rtp_forward`, `listforwarders`) and
//! its keyframe requests (`keyframe`), as Janus's SIP and NoSIP plugins have them. A forwarder
//! copies the browser's audio or video (`audio`, `video`) or the far end's (`peer_audio`,
//! `peer_video`) to a plain RTP address, on the host's RTP outputs; it ends with the call. The
//! event handlers hear of each forwarder made and stopped.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use crate::bridge::Bridge;
use crate::{host, Endpoint, ErrorCodes, Field, ForwardOptions, JsonType, MediaKind, PluginError};

/// One forwarder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Forwarder {
    /// Janus's `stream_id`.
    pub stream_id: u32,
    /// `audio`, `video`, `peer_audio` or `peer_video`.
    pub kind: String,
    /// Where it sends.
    pub host: String,
    /// See `host`.
    pub port: u16,
    /// The SSRC it sends with, when asked.
    pub ssrc: Option<u32>,
    /// The payload type it sends with, when asked.
    pub pt: Option<u8>,
    /// SRTP-protected.
    pub srtp: bool,
    /// The host's rule.
    pub rule: u64,
}

impl Forwarder {
    /// Janus's summary of it.
    pub fn summary(&self) -> Value {
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

/// The plugin's error codes a forwarder request answers with, beyond its body's.
#[derive(Debug, Clone, Copy)]
pub struct ForwardCodes {
    /// The body's.
    pub body: ErrorCodes,
    /// The call has no stream of the kind asked, or no such forwarder.
    pub no_such_stream: u32,
    /// The host refused.
    pub unknown: u32,
}

impl Bridge {
    /// `rtp_forward{streams: [{type, host, port, ssrc?, pt?, srtp_suite?, srtp_crypto?}]}`:
    /// every stream is checked before any forwarder starts; returns their summaries.
    pub fn forward(
        &mut self,
        body: &Map<String, Value>,
        codes: ForwardCodes,
    ) -> Result<Vec<Value>, PluginError> {
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
        let invalid = |text: &str| PluginError::new(codes.body.invalid_element, text);
        crate::validate(body, &[Field::new("streams", JsonType::Array).required()], &codes.body)?;
        let streams = body.get("streams").and_then(Value::as_array).cloned().unwrap_or_default();
        if streams.is_empty() {
            let text = "Missing mandatory element streams, or empty array";
            return Err(PluginError::new(codes.body.missing_element, text));
        }
        let mut wanted = Vec::with_capacity(streams.len());
        for s in &streams {
            let s = s.as_object().ok_or_else(|| invalid("Invalid element (streams)"))?;
            crate::validate(s, STREAM, &codes.body)?;
            let kind = s.get("type").and_then(Value::as_str).unwrap_or_default().to_ascii_lowercase();
            let (peer, media) = match kind.as_str() {
                "audio" => (false, MediaKind::Audio),
                "video" => (false, MediaKind::Video),
                "peer_audio" => (true, MediaKind::Audio),
                "peer_video" => (true, MediaKind::Video),
                _ => return Err(invalid("Invalid element (type)")),
            };
            let target = crate::rtp_target::from_janus(s).map_err(|e| invalid(&e))?;
            let Some(leg) = self.legs.iter().find(|l| l.kind == media) else {
                return Err(PluginError::new(codes.no_such_stream, format!("No {kind} stream in this call")));
            };
            let src = if peer {
                (Endpoint::Leg(leg.id), String::new())
            } else {
                (Endpoint::Peer(self.handle), leg.mid.clone())
            };
            wanted.push((kind, src, target));
        }
        let options = ForwardOptions { kinds: Vec::new(), substream: None, temporal: None };
        let rules = crate::rtp_target::forward_all(
            wanted.iter().map(|(_, (src, mid), target)| (*src, mid.as_str(), target, options.clone(), None)),
        )
        .map_err(|e| PluginError::new(codes.unknown, format!("Could not forward: {e}")))?;
        let mut made = Vec::with_capacity(wanted.len());
        for ((kind, _, target), (rule, _)) in wanted.into_iter().zip(rules) {
            let mut stream_id = 0;
            while stream_id == 0 || self.forwarders.iter().any(|f| f.stream_id == stream_id) {
                stream_id = crate::rooms::random_u64() as u32;
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
            crate::notify_event(None, || {
                let mut told = f.summary();
                told["event"] = json!("rtp_forward");
                told
            });
            made.push(f.summary());
            self.forwarders.push(f);
        }
        Ok(made)
    }

    /// `stop_rtp_forward{stream_id}`: returns the stream id stopped.
    pub fn stop_forward(
        &mut self,
        body: &Map<String, Value>,
        codes: ForwardCodes,
    ) -> Result<u64, PluginError> {
        let fields = [Field::new("stream_id", JsonType::Integer).required().positive()];
        crate::validate(body, &fields, &codes.body)?;
        let stream_id = body.get("stream_id").and_then(Value::as_u64).unwrap_or(0);
        let Some(i) = self.forwarders.iter().position(|f| u64::from(f.stream_id) == stream_id) else {
            return Err(PluginError::new(codes.no_such_stream, format!("No such stream ({stream_id})")));
        };
        host::unforward(self.forwarders.remove(i).rule);
        crate::notify_event(None, || json!({"event": "stop_rtp_forward", "stream_id": stream_id}));
        Ok(stream_id)
    }

    /// `listforwarders`: the summaries.
    pub fn forwarder_list(&self) -> Vec<Value> {
        self.forwarders.iter().map(Forwarder::summary).collect()
    }

    /// `keyframe{user?, peer?}`: a PLI to the browser (`user`), to the far end through its
    /// video legs (`peer`), or both.
    pub fn keyframe(&self, body: &Map<String, Value>, codes: &ErrorCodes) -> Result<(), PluginError> {
        let fields = [Field::new("user", JsonType::Bool), Field::new("peer", JsonType::Bool)];
        crate::validate(body, &fields, codes)?;
        let flag = |k: &str| body.get(k).and_then(Value::as_bool).unwrap_or(false);
        if flag("user") {
            host::request_keyframe(self.handle, None);
        }
        if flag("peer") {
            for leg in self.legs.iter().filter(|l| l.kind == MediaKind::Video) {
                if let Err(e) = host::rtp_leg_keyframe(leg.id) {
                    crate::warn!("[{}] no keyframe request to the far end: {e}", self.handle.handle);
                }
            }
        }
        Ok(())
    }

    /// The call's forwarders stop (when the bridge closes).
    pub(crate) fn stop_forwarders(&mut self) {
        for f in self.forwarders.drain(..) {
            host::unforward(f.rule);
        }
    }
}

//! Between the WIT's types and the gateway's vocabulary: each conversion written once.

use super::bindings::types as wit;
use crate::vocab::{self, LayerChange, MediaEvent};

/// The WIT handle as the gateway names it.
pub fn api_handle(h: wit::HandleRef) -> vocab::HandleRef {
    vocab::HandleRef { session_id: h.session, handle_id: h.handle }
}

/// The gateway's handle as the WIT names it.
pub fn wit_handle(h: vocab::HandleRef) -> wit::HandleRef {
    wit::HandleRef { session: h.session_id, handle: h.handle_id }
}

/// The WIT's header extensions as the gateway's.
pub fn rtp_extensions(e: wit::RtpExtensions) -> vocab::RtpExtensions {
    vocab::RtpExtensions {
        audio_level: e.contains(wit::RtpExtensions::AUDIO_LEVEL),
        video_orientation: e.contains(wit::RtpExtensions::VIDEO_ORIENTATION),
        transport_cc: e.contains(wit::RtpExtensions::TRANSPORT_CC),
        abs_send_time: e.contains(wit::RtpExtensions::ABS_SEND_TIME),
    }
}

/// A WIT media kind as the gateway's.
pub fn kind(k: wit::MediaKind) -> vocab::MediaKind {
    match k {
        wit::MediaKind::Audio => vocab::MediaKind::Audio,
        wit::MediaKind::Video => vocab::MediaKind::Video,
        wit::MediaKind::Data => vocab::MediaKind::Data,
    }
}

/// The gateway's media kind as the WIT's.
pub fn wit_kind(k: vocab::MediaKind) -> wit::MediaKind {
    match k {
        vocab::MediaKind::Audio => wit::MediaKind::Audio,
        vocab::MediaKind::Video => wit::MediaKind::Video,
        vocab::MediaKind::Data => wit::MediaKind::Data,
    }
}

/// A negotiated stream as the WIT describes it.
fn wit_stream(s: vocab::StreamInfo) -> wit::StreamInfo {
    wit::StreamInfo {
        mid: s.mid,
        kind: wit_kind(s.kind),
        codec: s.codec,
        client_sends: s.client_sends,
        client_receives: s.client_receives,
        rids: s.rids,
    }
}

/// A media event as the plugin's `media-event` export takes it; none for what plugins do not
/// hear that way (trickles and ICE failures go to the client only; data has an export of its
/// own).
pub fn wit_media_event(event: MediaEvent) -> Option<wit::MediaEvent> {
    Some(match event {
        MediaEvent::WebrtcUp => wit::MediaEvent::WebrtcUp,
        MediaEvent::Media { mid, kind, receiving } => {
            wit::MediaEvent::Media(wit::MediaState { mid, kind: wit_kind(kind), receiving })
        }
        MediaEvent::SlowLink { mid, kind, uplink, lost } => {
            wit::MediaEvent::SlowLink(wit::SlowLink { mid, kind: wit_kind(kind), uplink, lost })
        }
        MediaEvent::Negotiated(streams) => {
            wit::MediaEvent::Negotiated(streams.into_iter().map(wit_stream).collect())
        }
        MediaEvent::LayerChanged { rule, change: LayerChange::Substream(layer) } => {
            wit::MediaEvent::SubstreamChanged(wit::LayerChange { rule, layer })
        }
        MediaEvent::LayerChanged { rule, change: LayerChange::Temporal(layer) } => {
            wit::MediaEvent::TemporalChanged(wit::LayerChange { rule, layer })
        }
        MediaEvent::Hangup { reason, .. } => wit::MediaEvent::Hangup(reason),
        MediaEvent::Talking { mid, talking, level } => {
            wit::MediaEvent::Talking(wit::Talking { mid, talking, level })
        }
        MediaEvent::Dtmf { leg, digit, duration } => {
            wit::MediaEvent::Dtmf(wit::DtmfEvent { leg, digit: digit.to_string(), duration: duration.into() })
        }
        MediaEvent::Negotiation { id, outcome } => wit::MediaEvent::Negotiation(wit::NegotiationResult {
            id,
            outcome: outcome.map(|done| wit::NegotiationDone {
                jsep: done.sdp.map(|sdp| {
                    let kind = if done.offer { "offer" } else { "answer" };
                    serde_json::json!({"type": kind, "sdp": sdp}).to_string()
                }),
                mids: done.mids,
            }),
        }),
        MediaEvent::Trickle { .. }
        | MediaEvent::IceFailed
        | MediaEvent::ForHandlers { .. }
        | MediaEvent::Data { .. }
        | MediaEvent::InputMedia { .. }
        | MediaEvent::InputSource { .. }
        | MediaEvent::MixerRecordFailed { .. } => return None,
    })
}

/// What an RTSP client tells of its source, as the WIT says it.
pub fn source_state(state: vocab::SourceState) -> wit::SourceState {
    match state {
        vocab::SourceState::Lost(why) => wit::SourceState::Lost(why),
        vocab::SourceState::Playing(streams) => wit::SourceState::Playing(
            streams
                .into_iter()
                .map(|s| wit::InputStream {
                    mid: s.mid,
                    kind: wit_kind(s.kind),
                    codec: wit::LegCodec { pt: s.codec.pt, name: s.codec.name, clock: s.codec.clock },
                    fmtp: s.fmtp,
                    ports: s.ports,
                    ssrcs: s.ssrcs,
                    rtcp_port: s.rtcp_port,
                    mcast: s.mcast.map(|g| g.to_string()),
                })
                .collect(),
        ),
    }
}

/// An SRTP key as the gateway uses it; an error for a key that is not 30 bytes of base64.
pub fn srtp_key(k: &wit::SrtpKey) -> Result<vocab::SrtpKey, String> {
    Ok(vocab::SrtpKey { suite: srtp_suite(k.suite), key: vocab::srtp::MasterKey::from_base64(&k.key)? })
}

/// A WIT endpoint as the gateway's (ownership is checked elsewhere).
pub fn endpoint(e: wit::Endpoint) -> vocab::Endpoint {
    match e {
        wit::Endpoint::Peer(h) => vocab::Endpoint::Peer(api_handle(h)),
        wit::Endpoint::Leg(id) => vocab::Endpoint::Leg(id),
        wit::Endpoint::Input(id) => vocab::Endpoint::Input(id),
        wit::Endpoint::Mix(id) => vocab::Endpoint::Mix(id),
    }
}

/// A mix codec as the gateway's.
pub fn mix_codec(c: wit::MixCodec) -> vocab::MixCodec {
    match c {
        wit::MixCodec::Opus => vocab::MixCodec::Opus,
        wit::MixCodec::Pcmu => vocab::MixCodec::Pcmu,
        wit::MixCodec::Pcma => vocab::MixCodec::Pcma,
    }
}

/// A WIT direction as the gateway's.
pub fn direction(d: wit::Direction) -> crate::sdp::Direction {
    match d {
        wit::Direction::Sendrecv => crate::sdp::Direction::SendRecv,
        wit::Direction::Sendonly => crate::sdp::Direction::SendOnly,
        wit::Direction::Recvonly => crate::sdp::Direction::RecvOnly,
        wit::Direction::Inactive => crate::sdp::Direction::Inactive,
    }
}

/// A participant's mix settings as the gateway's.
pub fn mix_settings(s: &wit::MixSettings) -> vocab::PortSettings {
    vocab::PortSettings {
        muted: s.muted,
        deaf: s.deaf,
        suspended: s.suspended,
        gain_percent: s.gain_percent.min(1000),
        bitrate: s.bitrate,
        complexity: s.complexity,
        expected_loss: s.expected_loss,
        dtx: s.dtx,
        group: s.group,
        hears_group: s.hears_group,
        pan: s.pan.min(100),
        talk_packets: s.talk_packets,
        talk_threshold: s.talk_threshold.min(127),
        prebuffer: s.prebuffer.min(crate::mixer::jitter::MAX_PREBUFFER),
    }
}

/// A WIT SRTP suite as the gateway's.
pub fn srtp_suite(s: wit::SrtpSuite) -> vocab::srtp::Suite {
    match s {
        wit::SrtpSuite::AesCm128HmacSha180 => vocab::srtp::Suite::AesCm128HmacSha1_80,
        wit::SrtpSuite::AesCm128HmacSha132 => vocab::srtp::Suite::AesCm128HmacSha1_32,
    }
}

/// The gateway's SRTP key as the WIT's.
pub fn wit_srtp_key(k: &vocab::SrtpKey) -> wit::SrtpKey {
    let suite = match k.suite {
        vocab::srtp::Suite::AesCm128HmacSha1_80 => wit::SrtpSuite::AesCm128HmacSha180,
        vocab::srtp::Suite::AesCm128HmacSha1_32 => wit::SrtpSuite::AesCm128HmacSha132,
    };
    wit::SrtpKey { suite, key: k.key.to_base64() }
}

/// A WIT leg codec as the gateway's.
pub fn leg_codec(c: &wit::LegCodec) -> vocab::LegCodec {
    vocab::LegCodec { pt: c.pt, name: c.name.to_lowercase(), clock: c.clock }
}

/// A leg's far end as the gateway takes it; an error names what does not parse.
pub fn leg_remote(r: &wit::LegRemote) -> Result<vocab::LegRemote, String> {
    let addr = |a: &str| {
        a.parse::<std::net::SocketAddr>().map_err(|_| format!("'{a}' is not an IP address and port"))
    };
    let latch_ip = match &r.latch_ip {
        Some(ip) => Some(ip.parse().map_err(|_| format!("'{ip}' is not an IP address"))?),
        None => None,
    };
    let codec = leg_codec(&r.codec);
    codec.check(false)?;
    Ok(vocab::LegRemote {
        rtp: addr(&r.address)?,
        rtcp: r.rtcp_address.as_deref().map(addr).transpose()?,
        rtcp_mux: r.rtcp_mux,
        codec,
        dtmf_pt: r.dtmf_pt,
        srtp: r.srtp.as_ref().map(srtp_key).transpose()?,
        latch: if r.latch { vocab::Latch::From(latch_ip) } else { vocab::Latch::Off },
    })
}

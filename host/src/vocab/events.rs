//! What happens to a handle's media. The media engine reports it as [`Notice`]s; the core turns
//! each into the client's Janus event and hands the same [`MediaEvent`] to the handle's plugin.

use super::{HandleRef, LayerChange, MediaKind, NegotiationOutcome, StreamInfo};

/// Something that happened to a handle's media.
#[derive(Debug, Clone, PartialEq)]
pub enum MediaEvent {
    /// ICE and DTLS are up.
    WebrtcUp,
    /// Packets started or stopped arriving on a stream.
    Media {
        /// The stream.
        mid: String,
        /// Audio or video.
        kind: MediaKind,
        /// Whether packets arrive.
        receiving: bool,
    },
    /// Losses on a stream reached `slowlink_threshold` in the last second (Janus `slowlink`).
    SlowLink {
        /// The stream.
        mid: String,
        /// Audio or video.
        kind: MediaKind,
        /// Losses on what the gateway sends (the client asks for retransmissions or reports
        /// losses), as Janus's `uplink: true`; otherwise on what it receives.
        uplink: bool,
        /// Packets lost in the last second.
        lost: u32,
    },
    /// A negotiation finished: the handle's streams now.
    Negotiated(Vec<StreamInfo>),
    /// A negotiation a plugin asked for (`answer`, `offer`, `accept-answer`) finished (before
    /// `Negotiated`, if it changed the streams).
    Negotiation {
        /// The id the plugin was given.
        id: u64,
        /// The SDP and mids, or why not.
        outcome: NegotiationOutcome,
    },
    /// A rule to this handle now forwards another simulcast substream or temporal layer.
    LayerChanged {
        /// The rule.
        rule: u64,
        /// What it forwards now.
        change: LayerChange,
    },
    /// One of the handle's audio streams started or stopped talking (its audio-level
    /// extension's average over a window crossed the threshold the plugin set).
    Talking {
        /// The stream.
        mid: String,
        /// Whether it talks now.
        talking: bool,
        /// The window's average level (dBov magnitude: 0 loudest, 127 silence).
        level: u8,
    },
    /// A plain RTP leg of the handle received an RFC 4733 telephone event (reported once, at
    /// its end).
    Dtmf {
        /// The leg.
        leg: u64,
        /// The digit: `0`-`9`, `*`, `#`, `A`-`D`.
        digit: char,
        /// Its duration in the clock's units, as the packet carries it.
        duration: u16,
    },
    /// Full trickle: one of our candidates (`None`: all were sent), for the client.
    Trickle {
        /// The stream the candidate is given for (the bundle's first).
        mid: String,
        /// `candidate:…`, or `None` for end-of-candidates.
        candidate: Option<String>,
    },
    /// ICE failed (the consent checks stopped being answered); a hangup follows.
    IceFailed,
    /// News only the event handlers hear: ICE and DTLS states, candidates, the selected pair
    /// (Janus's webrtc subtypes 1 to 5) and media statistics (media subtype 3).
    ForHandlers {
        /// Janus's event type: [`Kind::Webrtc`](crate::events::Kind::Webrtc) or
        /// [`Kind::Media`](crate::events::Kind::Media).
        kind: crate::events::Kind,
        /// Janus's subtype.
        subtype: u8,
        /// The event's body.
        body: serde_json::Value,
    },
    /// The PeerConnection is gone, with Janus's reason.
    Hangup {
        /// Janus's reason.
        reason: String,
        /// The hangup was asked for through the media engine's control (the core tells the
        /// plugin itself, with the events of the request that asked).
        requested: bool,
    },
    /// Packets started or stopped arriving on a stream of an RTP input (the notice's handle is
    /// [`HandleRef::NONE`](super::HandleRef::NONE): the input's plugin hears of it).
    InputMedia {
        /// The input.
        input: u64,
        /// The stream.
        mid: String,
        /// Whether packets arrive.
        receiving: bool,
    },
    /// What the RTSP client of an input (`InputSpec::rtsp`) knows of its source (the
    /// notice's handle is [`HandleRef::NONE`](super::HandleRef::NONE)).
    InputSource {
        /// The input.
        input: u64,
        /// Playing, or lost.
        state: super::SourceState,
    },
    /// A mixer's recording stopped because writing failed (the notice's handle is
    /// [`HandleRef::NONE`](super::HandleRef::NONE)).
    MixerRecordFailed {
        /// The mixer.
        mixer: u64,
        /// Why.
        why: String,
    },
    /// A data-channel message from the client.
    Data {
        /// The channel's label.
        label: Option<String>,
        /// The bytes.
        data: Vec<u8>,
        /// Text (or binary).
        text: bool,
    },
}

impl MediaEvent {
    /// Reports that repeat (media flow, losses, layers, data): a plugin's mailbox may shed
    /// these under a flood; what a plugin must hear (its negotiations, the PeerConnection's
    /// life) is never shed.
    pub fn sheddable(&self) -> bool {
        matches!(
            self,
            Self::Media { .. } | Self::SlowLink { .. } | Self::LayerChanged { .. } | Self::Data { .. }
        )
    }
}

/// A media event for a handle, as the media engine reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Notice {
    /// The handle.
    pub handle: HandleRef,
    /// What happened.
    pub event: MediaEvent,
}

impl Notice {
    /// A notice for `handle`.
    pub fn new(handle: HandleRef, event: MediaEvent) -> Self {
        Self { handle, event }
    }
}

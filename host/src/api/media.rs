//! The boundary between the API core (and plugins' intents) and the media engine. The core
//! owns this trait; the media engine implements it; the gateway wires them. Until a media
//! engine is installed every intent answers "not available".

use serde_json::Value;

use super::plugin::HandleRef;

/// What the media engine answers when it is missing.
pub const NO_MEDIA: &str = "not available: media engine";

/// How the plugin wants a client offer answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnswerPolicy {
    /// Accept audio.
    pub audio: bool,
    /// Accept video.
    pub video: bool,
    /// Accept the data channel.
    pub data: bool,
    /// Accept simulcast from the client (otherwise its rids are left out of the answer).
    pub simulcast: bool,
    /// Audio codecs by Janus name (`opus`, `pcmu`, …), best first; an entry may be a
    /// comma-separated list. The first one the offer has is the only one answered; when the
    /// offer has none of them its audio is refused. Empty: every codec the host supports.
    pub audio_codecs: Vec<String>,
    /// Video codecs (`vp8`, `vp9`, `h264`, `av1`, `h265`), as `audio_codecs`.
    pub video_codecs: Vec<String>,
    /// Our direction for accepted audio and video, narrowed by what the client offers.
    pub direction: crate::sdp::Direction,
}

impl AnswerPolicy {
    /// Everything accepted, in both directions, with any codec.
    pub fn everything() -> Self {
        Self {
            audio: true,
            video: true,
            data: true,
            simulcast: true,
            audio_codecs: Vec::new(),
            video_codecs: Vec::new(),
            direction: crate::sdp::Direction::SendRecv,
        }
    }
}

/// A forwarding rule: `src`'s media goes to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    /// The sending handle.
    pub src: HandleRef,
    /// Its stream, or all.
    pub src_mid: Option<String>,
    /// The receiving handle.
    pub dst: HandleRef,
    /// The receiving stream, or the matching one.
    pub dst_mid: Option<String>,
    /// Simulcast substream.
    pub substream: Option<u8>,
    /// Temporal layer.
    pub temporal: Option<u8>,
    /// Kinds to forward (empty: all).
    pub kinds: Vec<Kind>,
}

/// A stream the gateway offers a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferItem {
    /// Media of another handle's stream, to be forwarded to this client.
    Forward {
        /// The handle whose media is offered.
        handle: HandleRef,
        /// Its stream.
        mid: String,
    },
    /// A data channel.
    Data,
}

/// The kind of a negotiated stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StreamKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
    /// Data channels.
    Data,
}

/// A negotiated stream of a handle's PeerConnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The SDP `mid`.
    pub mid: String,
    /// Audio, video or data.
    pub kind: StreamKind,
    /// The negotiated codec, lower case ("opus", "vp8"); empty for data.
    pub codec: String,
    /// Whether the client sends on it.
    pub client_sends: bool,
    /// Whether the client receives on it.
    pub client_receives: bool,
    /// Simulcast rids the client offered, highest quality first.
    pub rids: Vec<String>,
}

/// Why a client's SDP could not be applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DescriptionError {
    /// An answer arrived with no offer of ours pending (Janus 469).
    UnexpectedAnswer,
    /// The SDP could not be used (Janus 465).
    Invalid(String),
}

/// A negotiation the media engine finished for a plugin (`answer`, `offer`, `accept_answer`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiationDone {
    /// The SDP to send the client (the answer or the offer); none for an accepted answer.
    pub sdp: Option<String>,
    /// The SDP is our offer (otherwise our answer).
    pub offer: bool,
    /// For an offer: the mid of each offered item, in order.
    pub mids: Vec<String>,
}

/// What became of a plugin's negotiation, reported by the engine as a notice.
pub type NegotiationOutcome = Result<NegotiationDone, String>;

/// Audio or video, for per-kind switches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Audio.
    Audio,
    /// Video.
    Video,
}

/// The media engine as the core and plugins see it. Every call returns at once: the
/// negotiations plugins ask for (`answer`, `offer`, `accept_answer`) take an id and report
/// their outcome later, as a notice for that handle. Only `remote_description` for a client's
/// answer and `describe` wait for the media thread (microseconds).
pub trait MediaControl: Send + Sync {
    /// A client JSEP arrived on a handle (already checked): an offer is kept for the plugin's
    /// `answer`; an answer completes an offer of ours.
    fn remote_description(&self, handle: HandleRef, offer: bool, sdp: &str) -> Result<(), DescriptionError>;
    /// A trickled candidate (the Janus `candidate` object, or `{completed:true}`).
    fn trickle(&self, handle: HandleRef, candidate: Value);
    /// Hangs up the handle's PeerConnection; `reason` goes into the `hangup` event.
    fn hangup(&self, handle: HandleRef, reason: &str);
    /// The handle is gone: its PeerConnection and rules are dropped without events.
    fn handle_gone(&self, handle: HandleRef);
    /// Answers the handle's pending client offer; negotiation `id` reports the answer SDP.
    /// An error now: no media engine to ask.
    fn answer(&self, handle: HandleRef, policy: AnswerPolicy, id: u64) -> Result<(), String>;
    /// Offers the handle's client these streams (added to what it already has); negotiation
    /// `id` reports the offer SDP and the mid of each item, in order. An item whose source
    /// has not negotiated that stream is an error now.
    fn offer(&self, handle: HandleRef, items: Vec<OfferItem>, id: u64) -> Result<(), String>;
    /// Applies an answer (SDP) a plugin got some other way to the handle's pending offer;
    /// negotiation `id` reports the outcome. An error now: no media engine to ask.
    fn accept_answer(&self, handle: HandleRef, sdp: &str, id: u64) -> Result<(), String>;
    /// Starts forwarding by a rule the caller numbered.
    fn forward(&self, id: u64, rule: ForwardRule);
    /// Stops a rule.
    fn unforward(&self, id: u64);
    /// Changes a rule's simulcast substream (0 lowest; none: highest) and top temporal layer
    /// (none: all).
    fn set_layers(&self, id: u64, substream: Option<u8>, temporal: Option<u8>);
    /// Caps what the handle's client sends (REMB), 0 = no cap.
    fn set_bitrate_cap(&self, handle: HandleRef, bps: u32);
    /// Asks the handle's client for a keyframe, on one stream (`mid`) or on all.
    fn request_keyframe(&self, handle: HandleRef, mid: Option<String>);
    /// Turns relaying of one kind of the handle's media on or off.
    fn set_media_enabled(&self, handle: HandleRef, kind: Kind, enabled: bool);
    /// What admin `handle_info` shows of the handle's PeerConnection (Janus's `flags`, `sdps`,
    /// `ice-mode`, `ice-role` and `webrtc` members), or none when it has none.
    fn describe(&self, handle: HandleRef) -> Option<Value>;
    /// Sends a data-channel message to the handle's client (dropped when it has no open
    /// channel).
    fn send_data(&self, handle: HandleRef, label: Option<String>, data: Vec<u8>, text: bool);
}

/// No media engine: intents fail with [`NO_MEDIA`], notifications are ignored.
#[derive(Debug, Default)]
pub struct NoMedia;

impl MediaControl for NoMedia {
    fn remote_description(&self, _: HandleRef, _: bool, _: &str) -> Result<(), DescriptionError> {
        Ok(())
    }
    fn trickle(&self, _: HandleRef, _: Value) {}
    fn hangup(&self, _: HandleRef, _: &str) {}
    fn handle_gone(&self, _: HandleRef) {}
    fn answer(&self, _: HandleRef, _: AnswerPolicy, _: u64) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn offer(&self, _: HandleRef, _: Vec<OfferItem>, _: u64) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn accept_answer(&self, _: HandleRef, _: &str, _: u64) -> Result<(), String> {
        Err(NO_MEDIA.into())
    }
    fn forward(&self, _: u64, _: ForwardRule) {}
    fn unforward(&self, _: u64) {}
    fn set_layers(&self, _: u64, _: Option<u8>, _: Option<u8>) {}
    fn set_bitrate_cap(&self, _: HandleRef, _: u32) {}
    fn request_keyframe(&self, _: HandleRef, _: Option<String>) {}
    fn describe(&self, _: HandleRef) -> Option<Value> {
        None
    }
    fn set_media_enabled(&self, _: HandleRef, _: Kind, _: bool) {}
    fn send_data(&self, _: HandleRef, _: Option<String>, _: Vec<u8>, _: bool) {}
}

//! Negotiations: how a plugin wants a client's offer answered, what the gateway offers, and
//! what came of it.

use super::MediaKind;

/// RTP header extensions a PeerConnection may negotiate besides `mid` and the simulcast
/// `rid`s (always): Janus's plugins each negotiate their own set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtensions {
    /// RFC 6464 audio levels.
    pub audio_level: bool,
    /// Video orientation (3GPP).
    pub video_orientation: bool,
    /// Transport-wide sequence numbers (the client's congestion feedback).
    pub transport_cc: bool,
    /// `abs-send-time`.
    pub abs_send_time: bool,
}

impl RtpExtensions {
    /// Every extension the host knows.
    pub const ALL: Self =
        Self { audio_level: true, video_orientation: true, transport_cc: true, abs_send_time: true };
    /// None of them.
    pub const NONE: Self =
        Self { audio_level: false, video_orientation: false, transport_cc: false, abs_send_time: false };

    /// Whether an extension, by its `a=extmap` URI, may be negotiated: those of this set that
    /// are allowed, and any other (`mid`, the `rid`s, and what the WebRTC stack ignores).
    pub fn allows(&self, uri: &str) -> bool {
        match uri {
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level" => self.audio_level,
            "urn:3gpp:video-orientation" => self.video_orientation,
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01" => self.transport_cc,
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" => self.abs_send_time,
            _ => true,
        }
    }
}

impl Default for RtpExtensions {
    fn default() -> Self {
        Self::ALL
    }
}

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

/// A stream the gateway offers a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OfferItem {
    /// Media of another endpoint's stream (a handle's or an input's), to be forwarded to this
    /// client.
    Forward {
        /// Whose media is offered.
        source: super::Endpoint,
        /// Its stream.
        mid: String,
        /// The client may send on the same m-line (sendrecv): a call's two ways.
        two_way: bool,
    },
    /// A data channel.
    Data,
    /// An m-line of this kind and codec (with format parameters to match) that nothing is
    /// forwarded to yet.
    Placeholder {
        /// Audio or video.
        kind: super::MediaKind,
        /// Its codec (Janus's name).
        codec: String,
        /// Format parameters its codec must match.
        fmtp: Option<String>,
    },
}

/// A negotiated stream of a handle's PeerConnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamInfo {
    /// The SDP `mid`.
    pub mid: String,
    /// Audio, video or data.
    pub kind: MediaKind,
    /// The negotiated codec, lower case ("opus", "vp8"); empty for data.
    pub codec: String,
    /// Whether the client sends on it.
    pub client_sends: bool,
    /// Whether the client receives on it.
    pub client_receives: bool,
    /// Simulcast rids the client offered, highest quality first.
    pub rids: Vec<String>,
    /// The codec's format parameters when the gateway must match them (an RTP input's, e.g. an
    /// H.264 profile); none otherwise.
    pub fmtp: Option<String>,
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

//! The vocabulary the API core, the plugin runtime and the media engine share: handles, media
//! kinds, negotiations, forwarding rules, media events and the media engine's control surface.
//! It depends on none of them: the media engine knows nothing of Janus sessions or plugins,
//! and plugins reach media only through [`MediaControl`].

mod control;
mod events;
mod inputs;
mod legs;
mod mixing;
mod negotiation;
mod rules;
pub mod srtp;

pub use self::control::{CaptureSpec, Directions, InputStreamReport, MediaControl, NoMedia, NO_MEDIA};
pub use self::events::{MediaEvent, Notice};
pub use self::inputs::{InputFile, InputLocal, InputSpec, InputStreamSpec, RtspSource, SourceState};
pub use self::legs::{dtmf_digit, dtmf_event, Latch, LegCodec, LegLocal, LegRemote, LegSpec, LEG_CODECS};
pub use self::mixing::{MixCodec, MixerSpec, PortSettings, MIX_BIT};
pub use self::negotiation::{
    AnswerPolicy, DescriptionError, NegotiationDone, NegotiationOutcome, OfferItem, RtpExtensions, StreamInfo,
};
pub use self::rules::{
    Endpoint, FeedbackSocket, ForwardRule, LayerChange, RecordFile, RecordRef, RtpTarget, Sink, FEEDBACK_BIT,
    INPUT_BIT, LEG_BIT,
};
pub use self::srtp::SrtpKey;

/// A Janus handle: the unit media is negotiated, forwarded and reported for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HandleRef {
    /// The owning session.
    pub session_id: u64,
    /// The handle.
    pub handle_id: u64,
}

impl HandleRef {
    /// No handle: what an event about an RTP input (which belongs to a plugin, not a handle)
    /// carries.
    pub const NONE: Self = Self { session_id: 0, handle_id: 0 };
}

/// The kind of a stream or of media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MediaKind {
    /// Audio.
    Audio,
    /// Video.
    Video,
    /// Data channels.
    Data,
}

impl MediaKind {
    /// Video (or audio), for code that handles only RTP media.
    pub fn video(video: bool) -> Self {
        if video {
            Self::Video
        } else {
            Self::Audio
        }
    }

    /// The name Janus uses: `audio`, `video` or `data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Audio => "audio",
            Self::Video => "video",
            Self::Data => "data",
        }
    }
}

//! Forwarding rules: which media of which source goes to which sink.

use std::net::SocketAddr;

use super::{HandleRef, MediaKind};

/// A forwarding rule: `src`'s media goes to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    /// Where the media comes from.
    pub src: Endpoint,
    /// Its stream, or all.
    pub src_mid: Option<String>,
    /// Where the media goes.
    pub dst: Sink,
    /// Simulcast substream.
    pub substream: Option<u8>,
    /// Temporal layer.
    pub temporal: Option<u8>,
    /// Kinds to forward (empty: all).
    pub kinds: Vec<MediaKind>,
}

/// A media endpoint: a handle's PeerConnection, a plain RTP leg or an RTP input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// A handle's PeerConnection.
    Peer(HandleRef),
    /// A plain RTP leg, by id (leg ids never collide with handle ids: see [`LEG_BIT`]).
    Leg(u64),
    /// An RTP input (a source only), by id (see [`INPUT_BIT`]).
    Input(u64),
    /// A mixer port (a participant of an audio mixer), by id (see [`super::MIX_BIT`]): it takes
    /// the participant's audio and sends the mix of everyone else.
    Mix(u64),
}

/// Set in every leg id (handle ids are below 2^53): the media engine keys peers, legs and
/// inputs in one space.
pub const LEG_BIT: u64 = 1 << 62;
/// Set in every input id.
pub const INPUT_BIT: u64 = 1 << 61;
/// Set, with a rule's id, in the key of an RTP output's RTCP socket (rule ids count up from 1,
/// far below it; mixer ports use `MIX_BIT`, 1 << 60).
pub const FEEDBACK_BIT: u64 = 1 << 59;

impl Endpoint {
    /// The id the media engine knows the endpoint by.
    pub fn id(self) -> u64 {
        match self {
            Self::Peer(h) => h.handle_id,
            Self::Leg(id) | Self::Input(id) | Self::Mix(id) => id,
        }
    }

    /// The handle, for a peer.
    pub fn handle(self) -> Option<HandleRef> {
        match self {
            Self::Peer(h) => Some(h),
            Self::Leg(_) | Self::Input(_) | Self::Mix(_) => None,
        }
    }
}

/// Where a rule's media goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sink {
    /// A handle's PeerConnection.
    Peer {
        /// The receiving handle.
        handle: HandleRef,
        /// The receiving stream, or the one matching the source's kind.
        mid: Option<String>,
    },
    /// A plain RTP leg.
    Leg(u64),
    /// A mixer port (the participant's voice into its mixer).
    Mix(u64),
    /// Plain RTP to an address (Janus's `rtp_forward`).
    Rtp(RtpTarget),
    /// An .mjr recording (Janus's format).
    Record(RecordRef),
}

/// A recording's file, created (with the .mjr file's first bytes) when the rule was made; it
/// closes when the last rule and write holding it are gone, and is then renamed to
/// `complete_as` when it was written under a temporary name (Janus's `recordings_tmp_ext`).
#[derive(Debug)]
pub struct RecordFile {
    /// Its absolute path while it is written.
    pub path: std::path::PathBuf,
    /// The open file.
    pub file: std::fs::File,
    /// Writing it failed (the recording stopped).
    pub failed: std::sync::atomic::AtomicBool,
    /// Its name once complete, when it is written under another.
    pub complete_as: Option<std::path::PathBuf>,
}

impl Drop for RecordFile {
    fn drop(&mut self) {
        if let Some(to) = &self.complete_as {
            if let Err(e) = std::fs::rename(&self.path, to) {
                tracing::warn!("recording {} not renamed to {}: {e}", self.path.display(), to.display());
            }
        }
    }
}

/// Rules compare recordings by file.
#[derive(Debug, Clone)]
pub struct RecordRef(pub std::sync::Arc<RecordFile>);

impl PartialEq for RecordRef {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RecordRef {}

impl Sink {
    /// The receiving endpoint, if the sink is one.
    pub fn endpoint(&self) -> Option<Endpoint> {
        match self {
            Self::Peer { handle, .. } => Some(Endpoint::Peer(*handle)),
            Self::Leg(id) => Some(Endpoint::Leg(*id)),
            Self::Mix(id) => Some(Endpoint::Mix(*id)),
            Self::Rtp(_) | Self::Record(_) => None,
        }
    }
}

/// Where and how a stream is sent as plain RTP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtpTarget {
    /// The receiver.
    pub addr: SocketAddr,
    /// The SSRC of the packets sent.
    pub ssrc: u32,
    /// The payload type of the packets sent (none: the source's).
    pub payload_type: Option<u8>,
    /// SDES-SRTP (none: plain RTP).
    pub srtp: Option<super::SrtpKey>,
    /// Where the receiver's RTCP feedback comes in (Janus's `rtcp_port`): a PLI or FIR there
    /// asks the source for a keyframe.
    pub feedback: Option<FeedbackSocket>,
}

/// An RTP output's socket for its receiver's RTCP, bound when the output was asked for; one
/// socket however many times the rule is set up on a media thread.
#[derive(Debug, Clone)]
pub struct FeedbackSocket(pub std::sync::Arc<std::net::UdpSocket>);

impl PartialEq for FeedbackSocket {
    fn eq(&self, other: &Self) -> bool {
        std::sync::Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for FeedbackSocket {}

/// A change of what a rule forwards, for the plugin's media events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerChange {
    /// Now forwarding this simulcast substream (0 lowest).
    Substream(u8),
    /// Now forwarding up to this temporal layer.
    Temporal(u8),
}

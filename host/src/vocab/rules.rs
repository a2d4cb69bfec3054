//! Forwarding rules: which media of which source goes to which sink.

use std::net::SocketAddr;

use super::{HandleRef, MediaKind};

/// A forwarding rule: `src`'s media goes to `dst`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardRule {
    /// The sending handle.
    pub src: HandleRef,
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
    /// Plain RTP to an address (Janus's `rtp_forward`).
    Rtp(RtpTarget),
}

impl Sink {
    /// The receiving handle, if the sink is one.
    pub fn handle(&self) -> Option<HandleRef> {
        match self {
            Self::Peer { handle, .. } => Some(*handle),
            Self::Rtp(_) => None,
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
}

/// A change of what a rule forwards, for the plugin's media events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LayerChange {
    /// Now forwarding this simulcast substream (0 lowest).
    Substream(u8),
    /// Now forwarding up to this temporal layer.
    Temporal(u8),
}

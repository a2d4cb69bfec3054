//! Plain RTP legs: one audio or video stream to or from a peer that does not speak WebRTC (a SIP
//! phone, an AudioBridge participant over plain RTP). The host binds the ports and carries the
//! packets; the plugin does the signaling with what the host tells it.

use std::net::{IpAddr, SocketAddr};

use super::srtp::Suite;
use super::{MediaKind, SrtpKey};

/// The codecs a leg or an input can carry, by Janus's names (no transcoding: what one end
/// sends, the other gets).
pub const LEG_CODECS: &[&str] = &["opus", "pcmu", "pcma", "g722", "vp8", "vp9", "h264"];

/// A codec on a leg, as an SDP `a=rtpmap` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegCodec {
    /// The payload type.
    pub pt: u8,
    /// Janus's name: `opus`, `pcmu`, `pcma`, `g722`, `vp8`, `h264`.
    pub name: String,
    /// The clock rate.
    pub clock: u32,
}

impl LegCodec {
    /// An error unless the name is one of [`LEG_CODECS`] (or, where `events` allows it,
    /// `telephone-event`).
    pub fn check(&self, events: bool) -> Result<(), String> {
        let known = LEG_CODECS.contains(&self.name.as_str()) || (events && self.name == "telephone-event");
        if known {
            Ok(())
        } else {
            Err(format!("unknown codec '{}' (known: {})", self.name, LEG_CODECS.join(", ")))
        }
    }
}

/// How a leg is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegSpec {
    /// The handle the leg belongs to (it hears the leg's media events).
    pub owner: super::HandleRef,
    /// Audio or video.
    pub kind: MediaKind,
    /// Codecs to offer, best first (they go into the SDP fragment).
    pub codecs: Vec<LegCodec>,
    /// SDES-SRTP with a fresh key of this suite (none: plain RTP).
    pub srtp: Option<Suite>,
    /// The address to bind and advertise (none: the host's media address).
    pub local_ip: Option<IpAddr>,
}

/// What the host opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegLocal {
    /// The leg's id.
    pub id: u64,
    /// Where it receives RTP (RTCP on the next port).
    pub rtp: SocketAddr,
    /// The key it sends with, when SRTP is on.
    pub srtp: Option<SrtpKey>,
    /// The SDP media section for the plugin's offer or answer (`m=`, `c=`, `a=rtpmap`,
    /// `a=rtcp`, `a=crypto`, `a=sendrecv`), lines ending in CRLF.
    pub sdp: String,
}

/// The far end of a leg, from its SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegRemote {
    /// Where it receives RTP.
    pub rtp: SocketAddr,
    /// Where it receives RTCP (none: the next port, or the RTP port with rtcp-mux).
    pub rtcp: Option<SocketAddr>,
    /// RTP and RTCP share the port.
    pub rtcp_mux: bool,
    /// The codec both ends use.
    pub codec: LegCodec,
    /// The payload type of RFC 4733 telephone events, if negotiated.
    pub dtmf_pt: Option<u8>,
    /// The key it sends with (its `a=crypto`), when SRTP is on.
    pub srtp: Option<SrtpKey>,
    /// Symmetric RTP: how the leg may move to the address the far end's packets come from.
    pub latch: Latch,
}

/// Symmetric RTP (`behind_nat`-style): which source addresses a leg accepts and sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latch {
    /// Only the signaled address.
    Off,
    /// The source of the first packet that authenticates (SRTP), or, for plain RTP, the first
    /// packet from this IP address (the public address the plugin's signaling came from);
    /// the leg moves again only to a source that passes the same test.
    From(Option<IpAddr>),
}

/// The RFC 4733 event code of a DTMF digit.
pub fn dtmf_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The DTMF digit of an RFC 4733 event code (0-15), the inverse of [`dtmf_event`].
pub fn dtmf_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some(char::from(b'0' + event)),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some(char::from(b'A' + event - 12)),
        _ => None,
    }
}

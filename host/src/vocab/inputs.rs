//! RTP inputs: streams a Streaming mountpoint receives as plain RTP (from GStreamer, FFmpeg, a
//! camera), on ports the host binds, for WebRTC viewers to subscribe to.

use std::net::IpAddr;

use super::{LegCodec, MediaKind, SrtpKey};

/// One stream of an input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputStreamSpec {
    /// Its name, as rules and offers name it.
    pub mid: String,
    /// Audio, video or data (datagrams as data-channel messages).
    pub kind: MediaKind,
    /// The codec and payload type the sender uses.
    pub codec: LegCodec,
    /// Its format parameters (e.g. an H.264 profile), which viewers' offers must match.
    pub fmtp: Option<String>,
    /// The ports to bind (0: any free one): one, or three for simulcast (lowest quality first).
    pub ports: Vec<u16>,
    /// Simulcast on one port: the substreams' SSRCs, lowest quality first (empty: none).
    pub ssrcs: Vec<u32>,
}

/// How an input is opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputSpec {
    /// The address to bind (none: the media address).
    pub bind: Option<IpAddr>,
    /// Accept RTP from this address only (none: from anywhere).
    pub source: Option<IpAddr>,
    /// The streams.
    pub streams: Vec<InputStreamSpec>,
    /// Report a stream as not receiving after this long without packets, ms (0: 1000).
    pub no_media_ms: u32,
    /// SDES-SRTP the sender protects with.
    pub srtp: Option<SrtpKey>,
    /// Packets to play instead of listening (one audio stream, no ports).
    pub file: Option<InputFile>,
}

/// A file an input plays: its packets, each with its length in samples, and whether it loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The packets (payloads) and their lengths in samples at 48 kHz.
    pub packets: Vec<(Vec<u8>, u32)>,
    /// Start again at the end.
    pub looped: bool,
}

/// What the host opened: the id and, per stream, its ports in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLocal {
    /// The input's id.
    pub id: u64,
    /// Per stream, the ports bound.
    pub ports: Vec<Vec<u16>>,
}

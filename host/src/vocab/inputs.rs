//! RTP inputs: streams a Streaming mountpoint receives as plain RTP (from GStreamer, FFmpeg, a
//! camera), on ports the host binds, for WebRTC viewers to subscribe to.

use std::net::IpAddr;
use std::time::Duration;

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
    /// A port for RTCP with the sender (0: any free one): keyframe requests go there.
    pub rtcp_port: Option<u16>,
    /// An IPv4 multicast group its ports receive from.
    pub mcast: Option<std::net::Ipv4Addr>,
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
    /// Packets of another SSRC than a stream's current one are dropped until its own stopped
    /// this long (Janus's `collision`; none: every packet is taken).
    pub collision: Option<Duration>,
    /// SDES-SRTP the sender protects with.
    pub srtp: Option<SrtpKey>,
    /// Packets to play instead of listening (one audio stream, no ports).
    pub file: Option<InputFile>,
    /// An RTSP source to pull: the host's RTSP client sets the streams' codecs from its
    /// description (each stream one free port).
    pub rtsp: Option<RtspSource>,
}

/// An RTSP source an input pulls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtspSource {
    /// `rtsp://[user[:password]@]host[:port]/path`.
    pub url: String,
    /// Credentials (over those in the URL).
    pub user: Option<String>,
    /// See `user`.
    pub password: Option<String>,
    /// RTP interleaved on the RTSP connection, rather than over UDP.
    pub interleaved: bool,
    /// How long to wait for each answer.
    pub timeout: Duration,
    /// How long to wait for the connection.
    pub connect_timeout: Duration,
    /// How long without media ends a session, and how long to wait before connecting again.
    pub reconnect: Duration,
    /// The keep-alive period (at most half the server's session timeout); none: half of it.
    pub keepalive: Option<Duration>,
    /// A DESCRIBE answered 404 is tried again with the URL's path alone.
    pub path_only_retry: bool,
}

/// What the RTSP client tells the plugin about an input's source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceState {
    /// Described, set up and playing: the streams it got, with the source's codecs.
    Playing(Vec<InputStreamSpec>),
    /// The connection failed or the session ended (why); the client tries again.
    Lost(String),
}

/// A file an input plays: its packets, each with its length in samples, and whether it loops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputFile {
    /// The packets (payloads) and their lengths in samples at `clock`.
    pub packets: Vec<(Vec<u8>, u32)>,
    /// The RTP clock of the file's codec.
    pub clock: u32,
    /// Start again at the end.
    pub looped: bool,
    /// Start with the input's first rule (a viewer's own input), not when it opens.
    pub on_demand: bool,
}

/// What the host opened: the id and, per stream, its ports in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputLocal {
    /// The input's id.
    pub id: u64,
    /// Per stream, the ports bound.
    pub ports: Vec<Vec<u16>>,
    /// Per stream, its RTCP port, when it has one.
    pub rtcp_ports: Vec<Option<u16>>,
}

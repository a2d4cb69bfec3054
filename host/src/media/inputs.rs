//! RTP inputs on a media thread (Streaming mountpoints): the streams' sockets (three for a
//! simulcast stream, one per substream), the source filter, SRTP, the rollover of each
//! substream's sequence numbers, the last keyframe of each video substream (so a new viewer
//! starts at once), whether packets arrive, and RTCP with the sender (keyframe requests).

/// Keyframe requests to a sender are this far apart at least (as Janus's Streaming plugin
/// sends them): one asked sooner goes when the interval has passed.
const PLI_INTERVAL: Duration = Duration::from_secs(1);

use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::media::Mid;

use super::layers::frame_info;
use super::legs::{extend_seq, rx_codec};
use super::peer::RxCodec;
use super::ready::{Ready, Watched};
use super::srtp::SrtpReceiver;
use crate::vocab::{InputSpec, MediaKind};

/// At most this many packets of one keyframe are kept.
const KEYFRAME_PACKETS: usize = 512;

/// What the media engine hands a media thread to open an input: its sockets, bound.
#[derive(Debug)]
pub struct InputSetup {
    /// The input's id.
    pub id: u64,
    /// How it was asked for.
    pub spec: InputSpec,
    /// Per stream, its sockets (lowest substream first).
    pub sockets: Vec<Vec<std::net::UdpSocket>>,
    /// Per stream, its RTCP socket with the sender, if any.
    pub rtcp: Vec<Option<std::net::UdpSocket>>,
    /// What the plugin can ask of it while it runs.
    pub status: Arc<InputStatus>,
}

/// What an input's media thread tells the rest of the gateway about each of its streams
/// (`rtp-input-status`): when the last packet came and from where. Written per packet with
/// one relaxed store; the source only when it changes.
#[derive(Debug)]
pub struct InputStatus {
    streams: Vec<StreamStatus>,
}

#[derive(Debug, Default)]
struct StreamStatus {
    mid: String,
    /// Milliseconds since [`epoch`] of the last packet, +1 (0: none yet).
    last_ms: std::sync::atomic::AtomicU64,
    source: std::sync::Mutex<Option<std::net::SocketAddr>>,
}

/// The instant status times count from.
fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

impl InputStatus {
    /// A status for these streams (by mid), none received yet.
    pub fn new<'a>(mids: impl Iterator<Item = &'a str>) -> Self {
        Self {
            streams: mids
                .map(|mid| StreamStatus { mid: mid.to_owned(), ..StreamStatus::default() })
                .collect(),
        }
    }

    /// A packet of stream `i` came from `from` at `now` (`known` is the source the thread
    /// last reported for it, updated here).
    pub fn packet(
        &self,
        i: usize,
        now: Instant,
        from: std::net::SocketAddr,
        known: &mut Option<std::net::SocketAddr>,
    ) {
        let Some(s) = self.streams.get(i) else { return };
        let ms = u64::try_from(now.saturating_duration_since(epoch()).as_millis()).unwrap_or(u64::MAX - 1);
        s.last_ms.store(ms + 1, std::sync::atomic::Ordering::Relaxed);
        // (A file's packets come from nowhere.)
        if *known != Some(from) && !from.ip().is_unspecified() {
            *known = Some(from);
            *s.source.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(from);
        }
    }

    /// Per stream: its mid, how long ago its last packet came (ms) and from where.
    pub fn report(&self) -> Vec<crate::vocab::InputStreamReport> {
        let now = u64::try_from(epoch().elapsed().as_millis()).unwrap_or(u64::MAX);
        self.streams
            .iter()
            .map(|s| {
                let last = s.last_ms.load(std::sync::atomic::Ordering::Relaxed);
                let age = (last > 0).then(|| now.saturating_sub(last - 1));
                (s.mid.clone(), age, *s.source.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
            })
            .collect()
    }
}

/// One packet of a buffered keyframe.
#[derive(Debug, Clone)]
pub struct Kept {
    /// Extended sequence number.
    pub seq: u64,
    /// Timestamp.
    pub time: u32,
    /// Marker bit.
    pub marker: bool,
    /// SSRC.
    pub ssrc: u32,
    /// Payload.
    pub payload: Arc<[u8]>,
}

/// The last keyframe of one substream.
#[derive(Debug, Default)]
pub struct KeyframeBuffer {
    /// Its packets, in order.
    pub packets: Vec<Kept>,
    /// Packets of the same timestamp still belong to it.
    collecting: Option<u32>,
}

/// One stream of an input.
pub struct InputStream {
    /// Its name.
    pub mid: Mid,
    /// Audio or video.
    pub kind: MediaKind,
    /// Its codec, as the router maps it.
    pub codec: Option<RxCodec>,
    /// The sender's payload type.
    pub pt: u8,
    /// One socket per substream, lowest first (or one for all, told apart by `ssrcs`).
    pub sockets: Vec<Watched>,
    /// Simulcast on one port: the substreams' SSRCs, lowest first.
    pub ssrcs: Vec<u32>,
    highest: Vec<Option<u64>>,
    /// Per substream, the last keyframe (video).
    pub keyframes: Vec<KeyframeBuffer>,
    /// Per substream, the SSRC it takes and when its last packet came (with `collision`).
    pub taken: Vec<Option<(u32, Instant)>>,
    /// When the last packet came.
    pub last: Option<Instant>,
    /// Whether packets arrive (what the plugin was told last).
    pub receiving: bool,
    /// RTCP with the sender: its socket (key index `stream * 4 + 3`), and how to ask it for
    /// keyframes.
    pub feedback: Option<Feedback>,
}

/// RTCP with an input's sender: where it sends from, and the keyframe requests it gets.
pub struct Feedback {
    /// The socket (bound to the stream's `rtcp_port`).
    pub socket: Watched,
    /// Where the sender's RTCP comes from (latched on its first RTP or RTCP packet there).
    pub to: Option<std::net::SocketAddr>,
    /// The SSRC the requests name: the stream's last.
    pub ssrc: u32,
    /// When the last request went.
    pub last: Option<Instant>,
    /// A request waits for [`PLI_INTERVAL`] to pass.
    pub pending: bool,
    /// The lowest REMB of the viewers since the last one sent to the sender (bits a second).
    pub lowest_bps: Option<u64>,
}

impl Feedback {
    /// Whether a keyframe request should go now, at `now` (else one waits, when `ask`).
    pub fn due(&mut self, now: Instant, ask: bool) -> bool {
        if self.to.is_none() || !(ask || self.pending) {
            return false;
        }
        if self.last.is_some_and(|t| now.duration_since(t) < PLI_INTERVAL) {
            self.pending = true;
            return false;
        }
        self.pending = false;
        self.last = Some(now);
        true
    }
}

/// An input.
pub struct Input {
    /// Its streams, in the order they were asked for.
    pub streams: Vec<InputStream>,
    /// Accept packets from this address only.
    pub source: Option<IpAddr>,
    /// Checks and decrypts, when SRTP.
    pub srtp: Option<SrtpReceiver>,
    /// How long without packets makes a stream not receiving.
    pub no_media: Duration,
    /// Another SSRC is taken only once a stream's own stopped this long (none: every SSRC).
    pub collision: Option<Duration>,
    /// Packets refused (other sources, failing SRTP, malformed, another payload type).
    pub refused: u64,
    /// What the rest of the gateway can see of it.
    pub status: Arc<InputStatus>,
    /// Per stream, the source last written to `status`.
    pub sources: Vec<Option<std::net::SocketAddr>>,
    /// The file it plays, if it plays one (its one stream).
    pub player: Option<super::file::Player>,
    /// Mixed into its packets' SSRCs as destinations' rewriting sees them: a new RTSP session
    /// changes it, so each destination's numbering carries on from where it was even when the
    /// source kept its SSRC.
    pub salt: u32,
}

impl Input {
    /// Opens an input on this thread: socket `s` of stream `i` has key index `i * 4 + s`.
    pub fn open(setup: InputSetup, ready: &Arc<Ready>) -> std::io::Result<Self> {
        let InputSetup { id, spec, sockets, rtcp, status } = setup;
        let mut streams = Vec::new();
        let mut rtcp = rtcp.into_iter();
        for (i, (stream, socks)) in spec.streams.iter().zip(sockets).enumerate() {
            let feedback = match rtcp.next().flatten() {
                Some(sock) => Some(Feedback {
                    socket: Watched::new(sock, (id, (i * 4 + 3) as u8), ready)?,
                    to: None,
                    ssrc: 0,
                    last: None,
                    pending: false,
                    lowest_bps: None,
                }),
                None => None,
            };
            // Substreams: one per port, or one per SSRC on a single port (a file: one).
            let n = socks.len().max(stream.ssrcs.len()).max(1);
            let watched = socks
                .into_iter()
                .enumerate()
                .map(|(s, sock)| Watched::new(sock, (id, (i * 4 + s) as u8), ready))
                .collect::<std::io::Result<Vec<_>>>()?;
            streams.push(InputStream {
                mid: Mid::from(stream.mid.as_str()),
                kind: stream.kind,
                codec: rx_codec(&stream.codec),
                // (An RTSP stream takes nothing until its source is described: no RTP
                // payload type is 255.)
                pt: if spec.rtsp.is_some() { u8::MAX } else { stream.codec.pt },
                sockets: watched,
                ssrcs: stream.ssrcs.clone(),
                highest: vec![None; n],
                keyframes: (0..n).map(|_| KeyframeBuffer::default()).collect(),
                taken: vec![None; n],
                last: None,
                receiving: false,
                feedback,
            });
        }
        let no_media =
            Duration::from_millis(u64::from(if spec.no_media_ms == 0 { 1000 } else { spec.no_media_ms }));
        let pt = spec.streams.first().map_or(0, |s| s.codec.pt);
        let player = spec.file.map(|f| {
            super::file::Player::new(
                super::file::AudioFile { packets: f.packets, clock: f.clock },
                f.looped,
                f.on_demand,
                pt,
                Instant::now(),
            )
        });
        Ok(Self {
            player,
            sources: vec![None; streams.len()],
            status,
            streams,
            source: spec.source,
            srtp: spec.srtp.as_ref().map(|k| SrtpReceiver::new(k.suite, &k.key)),
            no_media,
            collision: spec.collision,
            refused: 0,
            salt: 0,
        })
    }

    /// An RTSP source (re)described its streams: their codecs, where packets come from, and
    /// per stream its RTCP port (where keyframe requests go, until its reports say otherwise).
    /// Each session starts its sequence numbers anew, and its keyframes are its own.
    pub fn described(
        &mut self,
        codecs: &[Option<crate::vocab::LegCodec>],
        from: IpAddr,
        rtcp: &[Option<u16>],
    ) {
        self.source = Some(from);
        self.salt = self.salt.wrapping_add(0x9e37_79b9);
        for (i, stream) in self.streams.iter_mut().enumerate() {
            if let Some(f) = stream.feedback.as_mut() {
                f.to = rtcp.get(i).copied().flatten().map(|port| std::net::SocketAddr::new(from, port));
                f.pending = false;
            }
        }
        for (stream, codec) in self.streams.iter_mut().zip(codecs) {
            if let Some(codec) = codec {
                stream.codec = rx_codec(codec);
                stream.pt = codec.pt;
            }
            stream.highest.iter_mut().for_each(|h| *h = None);
            stream.keyframes.iter_mut().for_each(|k| *k = KeyframeBuffer::default());
        }
    }

    /// A socket by key index (3: the stream's RTCP socket).
    pub fn socket(&self, index: u8) -> Option<&Watched> {
        let stream = self.streams.get(usize::from(index / 4))?;
        match index % 4 {
            3 => stream.feedback.as_ref().map(|f| &f.socket),
            s => stream.sockets.get(usize::from(s)),
        }
    }
}

impl InputStream {
    /// Simulcast substreams (0 without simulcast).
    pub fn layers(&self) -> u8 {
        let n = self.sockets.len().max(self.ssrcs.len());
        if n > 1 {
            n as u8
        } else {
            0
        }
    }

    /// The substream of a packet that came on socket `socket` with `ssrc`; none for an SSRC
    /// that is not one of the stream's (simulcast by SSRC).
    pub fn layer_of(&self, socket: usize, ssrc: u32) -> Option<usize> {
        if self.ssrcs.is_empty() {
            Some(socket)
        } else {
            self.ssrcs.iter().position(|s| *s == ssrc)
        }
    }

    /// Whether substream `layer` takes a packet of `ssrc` at `now`: with `collision`, another
    /// SSRC than its current one only once its own stopped for that long (then it is its own).
    pub fn takes(&mut self, layer: usize, ssrc: u32, now: Instant, collision: Option<Duration>) -> bool {
        let Some(window) = collision else { return true };
        let Some(taken) = self.taken.get_mut(layer) else { return true };
        match taken {
            Some((own, last)) if *own != ssrc && now.saturating_duration_since(*last) < window => false,
            _ => {
                *taken = Some((ssrc, now));
                true
            }
        }
    }

    /// The extended sequence number of a packet of substream `layer`.
    pub fn extend(&mut self, layer: usize, seq: u16) -> u64 {
        let ext = extend_seq(self.highest[layer], seq);
        if self.highest[layer].is_none_or(|h| ext > h) {
            self.highest[layer] = Some(ext);
        }
        ext
    }

    /// Keeps a video packet if it belongs to the substream's latest keyframe.
    pub fn keep(&mut self, layer: usize, packet: &Kept) {
        let codec = self.codec.map(|c| c.codec);
        let Some(buffer) = self.keyframes.get_mut(layer) else { return };
        if frame_info(codec, &packet.payload).keyframe == Some(true) && buffer.collecting != Some(packet.time)
        {
            buffer.packets.clear();
            buffer.collecting = Some(packet.time);
        }
        match buffer.collecting {
            Some(t) if t == packet.time && buffer.packets.len() < KEYFRAME_PACKETS => {
                buffer.packets.push(packet.clone());
            }
            _ => buffer.collecting = None,
        }
    }
}

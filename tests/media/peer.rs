//! An independent WebRTC test peer built on the `webrtc` crate (webrtc-rs 0.21, the async layer
//! over the sans-I/O `rtc` core).
//!
//! It is written to be dropped into an integration-test crate as a helper module. It needs these
//! dependencies: `webrtc = "=0.21.1"`, `rtc = { version = "=0.21.1", default-features = false }`,
//! `tokio` (rt-multi-thread, macros, time, sync), `bytes`, `async-trait`.
//!
//! What it does:
//! * loopback only: one UDP socket bound to 127.0.0.1, UDP4 only, mDNS off, no ICE servers, so
//!   the only candidate it ever offers is a `127.0.0.1` host candidate;
//! * sendrecv audio (opus/48000/2, PT 111, or PCMU/8000, PT 0, see [`AudioCodec`]) and video
//!   (VP8/90000, PT 96) transceivers fed by `TrackLocalStaticRTP`, and optionally one data
//!   channel;
//! * half trickle: [`Peer::create_offer`] waits for ICE gathering to complete so the SDP carries
//!   the candidates;
//! * [`Peer::start_media`] spawns senders that, once the connection is Connected, write RTP with recognizable payloads (a magic, a
//!   per-peer nonce, the kind, a per-kind packet counter) at a realistic rate: audio every 20 ms,
//!   video at 30 fps in 3 packets per frame with the marker bit on the last one; every VP8 frame
//!   begins with a valid payload descriptor and frame tag, and key frames (the first three, one
//!   a second, and one after every PLI/FIR) carry the VP8 start code and dimensions;
//! * every received RTP packet is recorded per kind (count, payload markers, SSRCs, first/last
//!   arrival), and every inbound RTCP packet is recorded by a tap interceptor (REMB, TMMBR, PLI,
//!   FIR and a count per type);
//! * waiting is event-driven: every change bumps a `watch` channel and the `wait_*` helpers
//!   re-check their condition on each bump, with a deadline. No sleeps.

#![allow(dead_code)]
// Nested `if let`s on purpose: the module must also build in edition 2021 (no let chains).
#![allow(clippy::collapsible_if)]

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use rtc::ice::mdns::MulticastDnsMode;
use rtc::ice::network_type::NetworkType;
use rtc::interceptor::{Interceptor, Packet as ChainPacket, Slot, StreamInfo, TaggedPacket};
use rtc::rtcp;
use rtc::rtcp::payload_feedbacks::full_intra_request::FullIntraRequest;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use rtc::rtcp::payload_feedbacks::receiver_estimated_maximum_bitrate::ReceiverEstimatedMaximumBitrate;
use rtc::rtp;
use rtc::rtp_transceiver::rtp_sender::{
    RTCPFeedback, RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use rtc::sansio::Protocol;

use webrtc::data_channel::{DataChannel, DataChannelEvent};
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    register_default_interceptors, MediaEngine, PeerConnection, PeerConnectionBuilder,
    PeerConnectionEventHandler, RTCConfigurationBuilder, RTCIceCandidateInit, RTCIceGatheringState,
    RTCPeerConnectionIceEvent, RTCPeerConnectionState, RTCSessionDescription, Registry, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit};

/// Errors are plain strings with context; tests only need to print them.
pub type PeerResult<T> = Result<T, PeerError>;

#[derive(Debug)]
pub struct PeerError(pub String);

impl fmt::Display for PeerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeerError {}

impl From<webrtc::error::Error> for PeerError {
    fn from(e: webrtc::error::Error) -> Self {
        PeerError(format!("webrtc: {e}"))
    }
}

fn err<T>(msg: impl Into<String>) -> PeerResult<T> {
    Err(PeerError(msg.into()))
}

/// The audio codec a test peer offers and sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AudioCodec {
    /// Opus, 48 kHz (what browsers send).
    Opus,
    /// G.711 µ-law, 8 kHz (what SIP phones send).
    Pcmu,
}

impl AudioCodec {
    fn rtp_codec(self) -> RTCRtpCodec {
        let (mime, clock_rate, channels, fmtp) = match self {
            Self::Opus => ("audio/opus", 48000, 2, "minptime=10;useinbandfec=1"),
            Self::Pcmu => ("audio/PCMU", 8000, 0, ""),
        };
        RTCRtpCodec {
            mime_type: mime.to_owned(),
            clock_rate,
            channels,
            sdp_fmtp_line: fmtp.to_owned(),
            rtcp_feedback: vec![],
        }
    }

    /// The payload type we register it with.
    pub fn pt(self) -> u8 {
        match self {
            Self::Opus => 111,
            Self::Pcmu => 0,
        }
    }

    /// RFC 4733 telephone events at this codec's clock.
    fn telephone_events(self) -> RTCRtpCodec {
        RTCRtpCodec {
            mime_type: "audio/telephone-event".to_owned(),
            clock_rate: self.rtp_codec().clock_rate,
            channels: 0,
            sdp_fmtp_line: "0-16".to_owned(),
            rtcp_feedback: vec![],
        }
    }

    /// The payload type we register its telephone events with (Chromium's numbers).
    pub fn dtmf_pt(self) -> u8 {
        match self {
            Self::Opus => 110,
            Self::Pcmu => 126,
        }
    }

    /// RTP timestamp units in one 20 ms packet.
    fn ts_step(self) -> u32 {
        self.rtp_codec().clock_rate / 50
    }
}

pub const VP8_PT: u8 = 96;
/// Every payload we send carries this, followed by the peer's nonce.
pub const MAGIC: &[u8; 4] = b"PRTN";
const AUDIO_TAG: u8 = b'A';
const VIDEO_TAG: u8 = b'V';
const VIDEO_PACKETS_PER_FRAME: u32 = 3;
/// Packets of each spatial layer of a VP9 SVC picture.
const SVC_PACKETS_PER_LAYER: u32 = 2;
const AUDIO_PAYLOAD_LEN: usize = 80;
const VIDEO_PAYLOAD_LEN: usize = 400;
const VIDEO_WIDTH: u16 = 320;
const VIDEO_HEIGHT: u16 = 240;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Audio,
    Video,
}

impl Kind {
    fn tag(self) -> u8 {
        match self {
            Kind::Audio => AUDIO_TAG,
            Kind::Video => VIDEO_TAG,
        }
    }
}

/// What arrived on one kind of remote track.
#[derive(Clone, Debug, Default)]
pub struct RecvStats {
    pub packets: u64,
    pub bytes: u64,
    pub first_at: Option<Instant>,
    pub last_at: Option<Instant>,
    /// Packets whose payload carried our magic, our nonce, the right kind and a counter we sent.
    pub valid_markers: u64,
    /// Packets that carried another test peer's marker, by that peer's nonce (forwarding).
    pub foreign_markers: BTreeMap<[u8; 4], u64>,
    /// Packets with anything else in the payload.
    pub invalid_markers: u64,
    /// Distinct per-kind counters seen (each one identifies a packet we sent).
    pub counters: BTreeSet<u32>,
    pub ssrcs: BTreeSet<u32>,
    pub payload_types: BTreeSet<u8>,
    pub marker_bits: u64,
    /// VP8 packets whose frame tag said "key frame".
    pub keyframes: u64,
    /// VP8 or VP9 packets by the temporal layer (TID) their payload descriptor names, when it
    /// does.
    pub temporal: [u64; 4],
    /// VP9 packets by their spatial layer (SID).
    pub spatial: [u64; 4],
    /// Video frames whose last packet came without the marker bit (a frame ends where the next
    /// timestamp starts), and the last packet's timestamp and marker.
    pub unended_frames: u64,
    pub last_video_end: Option<(u32, bool)>,
    pub first_keyframe_at: Option<Instant>,
    /// (our counter, RTP sequence number, RTP timestamp) of the first valid packet received, to
    /// compare with what we sent and see what the far end rewrote.
    pub first_valid: Option<(u32, u16, u32)>,
    /// Header extension ids seen on received packets.
    pub extension_ids: BTreeSet<u8>,
    /// RFC 4733 telephone events received: RTP timestamp and the 4-byte event payload.
    pub telephone_events: Vec<(u32, [u8; 4])>,
    /// The last sequence number seen per SSRC, and how often one did not follow its previous
    /// one (a gap or a jump: what a receiver would take for loss).
    pub last_seq: BTreeMap<u32, u16>,
    pub seq_breaks: u64,
}

/// What was sent on one kind of local track.
#[derive(Clone, Debug, Default)]
pub struct SendStats {
    pub ssrc: u32,
    pub payload_type: u8,
    pub packets: u64,
    pub write_errors: u64,
    pub last_error: Option<String>,
    pub frames: u64,
    pub keyframes: u64,
    /// Sequence number and timestamp of the packet with counter 0.
    pub first_seq: u16,
    pub first_ts: u32,
}

#[derive(Clone, Debug)]
pub struct RembSeen {
    pub at: Instant,
    pub bitrate: u64,
    pub ssrcs: Vec<u32>,
}

#[derive(Clone, Debug)]
pub struct TmmbrSeen {
    pub at: Instant,
    pub bitrate: u64,
    pub ssrc: u32,
}

/// Inbound RTCP as seen by the tap interceptor (closest to the wire).
#[derive(Clone, Debug, Default)]
pub struct RtcpLog {
    /// "SR", "RR", "SDES", "BYE", "RTPFB/fmt", "PSFB/fmt", ... -> count
    pub by_type: BTreeMap<String, u64>,
    pub remb: Vec<RembSeen>,
    pub tmmbr: Vec<TmmbrSeen>,
    pub pli: u64,
    pub fir: u64,
}

#[derive(Clone, Debug)]
pub struct RemoteTrackInfo {
    pub kind: Kind,
    pub ssrcs: Vec<u32>,
    pub mime_type: Option<String>,
    /// The stream the track belongs to (the `a=msid` stream id).
    pub stream_id: String,
}

/// A snapshot of everything the peer observed.
#[derive(Clone, Debug, Default)]
pub struct PeerStats {
    pub connection_state: RTCPeerConnectionState,
    pub connection_history: Vec<(Instant, RTCPeerConnectionState)>,
    pub connected_at: Option<Instant>,
    pub gathering_complete: bool,
    pub local_candidates: Vec<String>,
    pub remote_tracks: Vec<RemoteTrackInfo>,
    pub audio: RecvStats,
    pub video: RecvStats,
    pub sent_audio: SendStats,
    pub sent_video: SendStats,
    pub data_open: bool,
    pub data_closed: bool,
    pub data_closed_at: Option<Instant>,
    pub data_messages: Vec<(Instant, DataMessage)>,
    pub rtcp: RtcpLog,
}

impl PeerStats {
    pub fn recv(&self, kind: Kind) -> &RecvStats {
        match kind {
            Kind::Audio => &self.audio,
            Kind::Video => &self.video,
        }
    }

    fn recv_mut(&mut self, kind: Kind) -> &mut RecvStats {
        match kind {
            Kind::Audio => &mut self.audio,
            Kind::Video => &mut self.video,
        }
    }

    pub fn sent(&self, kind: Kind) -> &SendStats {
        match kind {
            Kind::Audio => &self.sent_audio,
            Kind::Video => &self.sent_video,
        }
    }

    fn sent_mut(&mut self, kind: Kind) -> &mut SendStats {
        match kind {
            Kind::Audio => &mut self.sent_audio,
            Kind::Video => &mut self.sent_video,
        }
    }

    /// One line, for timeout messages.
    pub fn summary(&self) -> String {
        format!(
            "state={:?} audio_rx={} video_rx={} audio_tx={} video_tx={} dc_open={} dc_msgs={} rtcp={:?}",
            self.connection_state,
            self.audio.packets,
            self.video.packets,
            self.sent_audio.packets,
            self.sent_video.packets,
            self.data_open,
            self.data_messages.len(),
            self.rtcp.by_type
        )
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataMessage {
    Text(String),
    Binary(Vec<u8>),
}

/// State shared by the handler, the tap, the reader and sender tasks and the `Peer`.
struct Shared {
    stats: StdMutex<PeerStats>,
    bump: watch::Sender<u64>,
    nonce: [u8; 4],
    /// Highest counter handed out per kind (so a received counter can be checked against it).
    sent_audio_counter: AtomicU32,
    sent_video_counter: AtomicU32,
    keyframe_requested: AtomicBool,
    /// The video is sent in three temporal layers (see [`Peer::send_temporal_layers`]).
    temporal: AtomicBool,
    /// What the audio track sends.
    audio_codec: AudioCodec,
    /// What the video track sends.
    video_codec: VideoCodec,
    /// The last remote video track, for keyframe requests.
    remote_video: StdMutex<Option<Arc<dyn TrackRemote>>>,
    /// DTMF digits (RFC 4733 event codes) the audio sender is to send next.
    dtmf: StdMutex<VecDeque<u8>>,
    /// The audio level the audio packets carry (RFC 6464: 0 loudest, 127 silence).
    audio_level: AtomicU8,
    /// The first data channel the far end opened (a gateway's offer brings its own).
    remote_channel: StdMutex<Option<Arc<dyn DataChannel>>>,
    /// Real Opus instead of markers on the audio track (mixing tests).
    tone: StdMutex<Option<Tone>>,
    /// The audio payloads received since [`Peer::keep_audio`], when kept.
    kept_audio: StdMutex<Option<Vec<Bytes>>>,
}

/// A sine (or silence) encoded as Opus, 20 ms at a time.
struct Tone {
    freq: f64,
    amplitude: f64,
    sample: u64,
    encoder: ropus::Encoder,
}

impl Tone {
    fn next_packet(&mut self) -> Bytes {
        let pcm: Vec<i16> = (0..960)
            .map(|i| {
                let t = (self.sample + i) as f64 / 48_000.0;
                (self.amplitude * (2.0 * std::f64::consts::PI * self.freq * t).sin()) as i16
            })
            .collect();
        self.sample += 960;
        let mut out = [0u8; 1500];
        let n = self.encoder.encode(&pcm, &mut out).expect("opus encode");
        Bytes::copy_from_slice(&out[..n])
    }
}

impl Shared {
    fn update<R>(&self, f: impl FnOnce(&mut PeerStats) -> R) -> R {
        let r = {
            let mut st = self.stats.lock().unwrap();
            f(&mut st)
        };
        self.bump.send_modify(|v| *v = v.wrapping_add(1));
        r
    }

    /// Resolves once the connection is Connected (ICE and DTLS up), or returns false if `stop`
    /// fires first. Media written before that would be dropped by the SRTP layer.
    async fn connected(&self, stop: &mut watch::Receiver<bool>) -> bool {
        let mut rx = self.bump.subscribe();
        loop {
            if self.stats.lock().unwrap().connection_state == RTCPeerConnectionState::Connected {
                return true;
            }
            tokio::select! {
                r = rx.changed() => if r.is_err() { return false },
                _ = stop.changed() => return false,
            }
        }
    }

    fn sent_counter(&self, kind: Kind) -> &AtomicU32 {
        match kind {
            Kind::Audio => &self.sent_audio_counter,
            Kind::Video => &self.sent_video_counter,
        }
    }

    fn record_rtp(&self, kind: Kind, pkt: &rtp::Packet) {
        let now = Instant::now();
        let payload = &pkt.payload[..];
        if kind == Kind::Audio && pkt.header.payload_type == self.audio_codec.dtmf_pt() {
            if let Ok(event) = <[u8; 4]>::try_from(&payload[..payload.len().min(4)]) {
                self.update(|st| st.audio.telephone_events.push((pkt.header.timestamp, event)));
            }
            return;
        }
        if kind == Kind::Audio {
            if let Some(kept) = self.kept_audio.lock().unwrap().as_mut() {
                kept.push(pkt.payload.clone());
            }
        }
        let parsed = parse_marker(payload, &self.nonce);
        let sent_so_far = self.sent_counter(kind).load(Ordering::Acquire);
        let vp9 = self.video_codec == VideoCodec::Vp9Svc;
        let layers = if kind == Kind::Video && vp9 { vp9_layers(payload) } else { None };
        let keyframe = kind == Kind::Video
            && if vp9 { layers.is_some_and(|l| l.keyframe && l.sid == 0) } else { vp8_is_keyframe(payload) };
        let tid = match (kind, layers) {
            (Kind::Video, Some(l)) => Some(l.tid),
            (Kind::Video, None) if !vp9 => vp8_tid(payload),
            _ => None,
        };
        self.update(|st| {
            let r = st.recv_mut(kind);
            r.packets += 1;
            r.bytes += payload.len() as u64;
            r.first_at.get_or_insert(now);
            r.last_at = Some(now);
            r.ssrcs.insert(pkt.header.ssrc);
            let seq = pkt.header.sequence_number;
            if let Some(last) = r.last_seq.insert(pkt.header.ssrc, seq) {
                r.seq_breaks += u64::from(seq != last.wrapping_add(1));
            }
            r.payload_types.insert(pkt.header.payload_type);
            r.extension_ids.extend(pkt.header.extensions.iter().map(|e| e.id));
            if pkt.header.marker {
                r.marker_bits += 1;
            }
            if keyframe {
                r.keyframes += 1;
                r.first_keyframe_at.get_or_insert(now);
            }
            if let Some(t) = tid {
                r.temporal[usize::from(t & 3)] += 1;
            }
            if let Some(l) = layers {
                r.spatial[usize::from(l.sid & 3)] += 1;
            }
            if kind == Kind::Video {
                let (ts, marker) = (pkt.header.timestamp, pkt.header.marker);
                if r.last_video_end.is_some_and(|(last, ended)| last != ts && !ended) {
                    r.unended_frames += 1;
                }
                r.last_video_end = Some((ts, marker));
            }
            match parsed {
                Some((tag, counter)) if tag == kind.tag() && counter < sent_so_far => {
                    r.valid_markers += 1;
                    r.counters.insert(counter);
                    r.first_valid.get_or_insert((counter, pkt.header.sequence_number, pkt.header.timestamp));
                }
                _ => match parse_foreign_marker(payload, &self.nonce) {
                    Some(nonce) => *r.foreign_markers.entry(nonce).or_default() += 1,
                    None => r.invalid_markers += 1,
                },
            }
        });
    }

    fn record_rtcp(&self, packets: &[Box<dyn rtcp::Packet>]) {
        let now = Instant::now();
        let mut keyframe_request = false;
        self.update(|st| {
            for p in packets {
                let h = p.header();
                let name = match h.packet_type as u8 {
                    200 => "SR".to_string(),
                    201 => "RR".to_string(),
                    202 => "SDES".to_string(),
                    203 => "BYE".to_string(),
                    205 => format!("RTPFB/{}", h.count),
                    206 => format!("PSFB/{}", h.count),
                    207 => "XR".to_string(),
                    other => format!("type{other}"),
                };
                *st.rtcp.by_type.entry(name).or_default() += 1;
                let any = p.as_any();
                if let Some(remb) = any.downcast_ref::<ReceiverEstimatedMaximumBitrate>() {
                    st.rtcp.remb.push(RembSeen {
                        at: now,
                        bitrate: remb.bitrate as u64,
                        ssrcs: remb.ssrcs.clone(),
                    });
                } else if any.is::<PictureLossIndication>() {
                    st.rtcp.pli += 1;
                    keyframe_request = true;
                } else if any.is::<FullIntraRequest>() {
                    st.rtcp.fir += 1;
                    keyframe_request = true;
                } else if h.packet_type as u8 == 205 && h.count == 3 {
                    // TMMBR (RFC 5104 §4.2.1) is not modelled by the crate: decode the raw bytes.
                    if let Ok(raw) = p.marshal() {
                        for (ssrc, bitrate) in parse_tmmbr(&raw) {
                            st.rtcp.tmmbr.push(TmmbrSeen { at: now, bitrate, ssrc });
                        }
                    }
                }
            }
        });
        if keyframe_request {
            self.keyframe_requested.store(true, Ordering::Release);
        }
    }
}

/// The nonce of another test peer's marker, if the payload carries one.
fn parse_foreign_marker(payload: &[u8], ours: &[u8; 4]) -> Option<[u8; 4]> {
    let window = &payload[..payload.len().min(48)];
    let pos = window.windows(4).position(|w| w == MAGIC)?;
    let nonce: [u8; 4] = payload.get(pos + 4..pos + 8)?.try_into().ok()?;
    (nonce != *ours).then_some(nonce)
}

/// What a test peer wrote into a payload: its nonce, the kind tag (`b'A'`, `b'V'`), the
/// per-kind packet counter and the frame number.
pub fn read_marker(payload: &[u8]) -> Option<([u8; 4], u8, u32, u32)> {
    let window = &payload[..payload.len().min(48)];
    let pos = window.windows(4).position(|w| w == MAGIC)?;
    let rest = payload.get(pos + 4..pos + 4 + 4 + 1 + 4 + 4)?;
    let nonce: [u8; 4] = rest[..4].try_into().ok()?;
    let counter = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
    let frame = u32::from_be_bytes([rest[9], rest[10], rest[11], rest[12]]);
    Some((nonce, rest[4], counter, frame))
}

/// Returns (kind tag, counter) if the payload carries our magic and nonce.
fn parse_marker(payload: &[u8], nonce: &[u8; 4]) -> Option<(u8, u32)> {
    let window = &payload[..payload.len().min(48)];
    let pos = window.windows(4).position(|w| w == MAGIC)?;
    let rest = payload.get(pos + 4..pos + 4 + 4 + 1 + 4)?;
    if &rest[..4] != nonce {
        return None;
    }
    let tag = rest[4];
    let counter = u32::from_be_bytes([rest[5], rest[6], rest[7], rest[8]]);
    Some((tag, counter))
}

/// The layers of a VP9 packet (RFC 9628), from its payload descriptor's layer indices.
#[derive(Clone, Copy, Debug)]
pub struct Vp9Layers {
    pub tid: u8,
    pub sid: u8,
    /// Not inter-picture predicted, and the start of its layer frame.
    pub keyframe: bool,
}

/// VP9 (RFC 9628 §4.2): the layer indices after the picture ID, if the descriptor has them.
pub fn vp9_layers(payload: &[u8]) -> Option<Vp9Layers> {
    let b0 = *payload.first()?;
    if b0 & 0x20 == 0 {
        return None;
    }
    let mut off = 1;
    if b0 & 0x80 != 0 {
        off += if payload.get(1)? & 0x80 != 0 { 2 } else { 1 };
    }
    let l = *payload.get(off)?;
    Some(Vp9Layers { tid: l >> 5, sid: (l >> 1) & 7, keyframe: b0 & 0x40 == 0 && b0 & 0x08 != 0 })
}

/// VP8 (RFC 7741): the temporal layer (TID) the payload descriptor names, if it names one.
pub fn vp8_tid(payload: &[u8]) -> Option<u8> {
    let (&b0, &ext) = (payload.first()?, payload.get(1)?);
    if b0 & 0x80 == 0 || ext & 0x20 == 0 {
        return None;
    }
    let mut off = 2;
    if ext & 0x80 != 0 {
        off += if payload.get(off)? & 0x80 != 0 { 2 } else { 1 };
    }
    if ext & 0x40 != 0 {
        off += 1;
    }
    Some(payload.get(off)? >> 6)
}

/// VP8 (RFC 7741): skip the payload descriptor; on the first packet of a frame (S=1, PID=0) the
/// frame tag's P bit is 0 for a key frame, and a key frame has the 0x9d012a start code.
pub fn vp8_is_keyframe(payload: &[u8]) -> bool {
    if payload.is_empty() {
        return false;
    }
    let b0 = payload[0];
    let x = b0 & 0x80 != 0;
    let s = b0 & 0x10 != 0;
    let pid = b0 & 0x07;
    let mut off = 1;
    if x {
        let Some(&ext) = payload.get(1) else {
            return false;
        };
        off += 1;
        if ext & 0x80 != 0 {
            // I: picture id, 7 or 15 bits
            let Some(&pid0) = payload.get(off) else {
                return false;
            };
            off += if pid0 & 0x80 != 0 { 2 } else { 1 };
        }
        if ext & 0x40 != 0 {
            off += 1; // L: TL0PICIDX
        }
        if ext & 0x30 != 0 {
            off += 1; // T or K
        }
    }
    if !s || pid != 0 {
        return false;
    }
    match payload.get(off..off + 6) {
        Some(h) => h[0] & 0x01 == 0 && h[3] == 0x9d && h[4] == 0x01 && h[5] == 0x2a,
        None => false,
    }
}

/// Decodes the FCI entries of a TMMBR (RTPFB, FMT 3) packet: (media SSRC, bitrate in bps).
fn parse_tmmbr(raw: &[u8]) -> Vec<(u32, u64)> {
    let mut out = vec![];
    // header(4) + sender ssrc(4) + media ssrc(4, unused) + n * 8-byte FCI
    let mut off = 12;
    while off + 8 <= raw.len() {
        let ssrc = u32::from_be_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
        let w = u32::from_be_bytes([raw[off + 4], raw[off + 5], raw[off + 6], raw[off + 7]]);
        let exp = (w >> 26) & 0x3f;
        let mantissa = (w >> 9) & 0x1ffff;
        out.push((ssrc, (mantissa as u64) << exp));
        off += 8;
    }
    out
}

fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
    );
    h.finish()
}

fn random_ssrc() -> u32 {
    loop {
        let v = random_u64() as u32;
        if v != 0 {
            return v;
        }
    }
}

/// Interceptor that records every inbound RTCP packet and passes everything through unchanged.
/// Installed at the wire-most slot so it sees RTCP before any other interceptor consumes it.
struct RtcpTap {
    shared: Arc<Shared>,
    read_queue: VecDeque<TaggedPacket>,
    write_queue: VecDeque<TaggedPacket>,
}

impl Protocol<TaggedPacket, TaggedPacket, ()> for RtcpTap {
    type Rout = TaggedPacket;
    type Wout = TaggedPacket;
    type Eout = ();
    type Error = rtc::shared::error::Error;
    type Time = Instant;

    fn handle_read(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        if let ChainPacket::Rtcp(packets) = &msg.message.packet {
            if !packets.is_empty() {
                self.shared.record_rtcp(packets);
            }
        }
        self.read_queue.push_back(msg);
        Ok(())
    }

    fn poll_read(&mut self) -> Option<Self::Rout> {
        self.read_queue.pop_front()
    }

    fn handle_write(&mut self, msg: TaggedPacket) -> Result<(), Self::Error> {
        self.write_queue.push_back(msg);
        Ok(())
    }

    fn poll_write(&mut self) -> Option<Self::Wout> {
        self.write_queue.pop_front()
    }
}

impl Interceptor for RtcpTap {
    fn bind_local_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_local_stream(&mut self, _info: &StreamInfo) {}
    fn bind_remote_stream(&mut self, _info: &StreamInfo) {}
    fn unbind_remote_stream(&mut self, _info: &StreamInfo) {}
}

struct Handler {
    shared: Arc<Shared>,
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_candidate(&self, event: RTCPeerConnectionIceEvent) {
        let c = &event.candidate;
        let line = format!("{} {} {:?} {:?}", c.address, c.port, c.protocol, c.typ);
        self.shared.update(|st| st.local_candidates.push(line));
    }

    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.update(|st| st.gathering_complete = true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        let now = Instant::now();
        self.shared.update(|st| {
            st.connection_state = state;
            st.connection_history.push((now, state));
            if state == RTCPeerConnectionState::Connected && st.connected_at.is_none() {
                st.connected_at = Some(now);
            }
        });
    }

    async fn on_data_channel(&self, dc: Arc<dyn DataChannel>) {
        self.shared.remote_channel.lock().unwrap().get_or_insert_with(|| dc.clone());
        tokio::spawn(read_data_channel(dc, self.shared.clone()));
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        // Runs on the connection's driver: record what we know and read in a separate task.
        let shared = self.shared.clone();
        tokio::spawn(async move {
            let kind = match track.kind().await {
                RtpCodecKind::Audio => Kind::Audio,
                _ => Kind::Video,
            };
            let ssrcs = track.ssrcs().await;
            let mime_type = match ssrcs.first() {
                Some(ssrc) => track.codec(*ssrc).await.map(|c| c.mime_type),
                None => None,
            };
            if kind == Kind::Video {
                *shared.remote_video.lock().unwrap() = Some(track.clone());
            }
            let stream_id = track.stream_id().await;
            shared.update(|st| st.remote_tracks.push(RemoteTrackInfo { kind, ssrcs, mime_type, stream_id }));
            while let Some(evt) = track.poll().await {
                match evt {
                    TrackRemoteEvent::OnRtpPacket(pkt) => shared.record_rtp(kind, &pkt),
                    TrackRemoteEvent::OnEnded => break,
                    _ => {}
                }
            }
        });
    }
}

/// Records a data channel's events (ours, or one the far end opened).
async fn read_data_channel(dc: Arc<dyn DataChannel>, shared: Arc<Shared>) {
    while let Some(evt) = dc.poll().await {
        let now = Instant::now();
        match evt {
            DataChannelEvent::OnOpen => shared.update(|st| st.data_open = true),
            DataChannelEvent::OnMessage(m) => {
                let msg = if m.is_string {
                    DataMessage::Text(String::from_utf8_lossy(&m.data).into_owned())
                } else {
                    DataMessage::Binary(m.data.to_vec())
                };
                shared.update(|st| st.data_messages.push((now, msg)));
            }
            DataChannelEvent::OnClose => {
                shared.update(|st| {
                    st.data_closed = true;
                    st.data_closed_at = Some(now);
                });
                break;
            }
            _ => {}
        }
    }
}

/// The test peer.
pub struct Peer {
    pub pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    audio_track: Option<Arc<TrackLocalStaticRTP>>,
    video_track: Option<Arc<TrackLocalStaticRTP>>,
    data_channel: Option<Arc<dyn DataChannel>>,
    tasks: StdMutex<Vec<JoinHandle<()>>>,
    stop_tx: watch::Sender<bool>,
}

/// The H.264 payload type the test peer registers.
pub const H264_PT: u8 = 102;
pub const VP9_PT: u8 = 98;

/// The video codec a test peer offers and sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VideoCodec {
    /// VP8 (H.264 is offered after it, to receive).
    Vp8,
    /// H.264 alone (constrained baseline), each packet a single NAL unit: IDR slices for key
    /// frames, others non-IDR.
    H264,
    /// VP9 alone, sent as SVC does (flexible mode): each picture three spatial layers of two
    /// packets each, lowest first, the marker bit on the very last; temporal layers 0, 2, 1, 2.
    Vp9Svc,
}

impl VideoCodec {
    fn rtp_codec(self) -> RTCRtpCodec {
        match self {
            Self::Vp8 => vp8_codec(),
            Self::H264 => h264_codec(),
            Self::Vp9Svc => vp9_codec(),
        }
    }

    fn pt(self) -> u8 {
        match self {
            Self::Vp8 => VP8_PT,
            Self::H264 => H264_PT,
            Self::Vp9Svc => VP9_PT,
        }
    }
}

fn h264_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/H264".to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn vp9_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/VP9".to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: "profile-id=0".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn vp8_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: "video/VP8".to_owned(),
        clock_rate: 90000,
        channels: 0,
        sdp_fmtp_line: String::new(),
        rtcp_feedback: vec![],
    }
}

fn local_track(kind: RtpCodecKind, codec: RTCRtpCodec, ssrc: u32, name: &str) -> TrackLocalStaticRTP {
    TrackLocalStaticRTP::new(MediaStreamTrack::new(
        "portunus-test-stream".to_owned(),
        format!("portunus-test-{name}"),
        format!("portunus-test-{name}"),
        kind,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters { ssrc: Some(ssrc), ..Default::default() },
            active: true,
            codec,
            ..Default::default()
        }],
    ))
}

impl Peer {
    /// The nonce this peer puts in its payloads.
    pub fn nonce(&self) -> [u8; 4] {
        self.shared.nonce
    }

    /// Builds a loopback-only PeerConnection with the requested media sections (Opus audio).
    pub async fn new(audio: bool, video: bool, data: bool) -> PeerResult<Peer> {
        Self::with_audio(audio.then_some(AudioCodec::Opus), video, data).await
    }

    /// As [`Peer::new`], with audio in the given codec (none: no audio section).
    pub async fn with_audio(audio: Option<AudioCodec>, video: bool, data: bool) -> PeerResult<Peer> {
        Self::with_codecs(audio, video.then_some(VideoCodec::Vp8), data).await
    }

    /// As [`Peer::new`], with audio and video in the given codecs (none: no such section).
    pub async fn with_codecs(
        audio: Option<AudioCodec>,
        video: Option<VideoCodec>,
        data: bool,
    ) -> PeerResult<Peer> {
        let audio_codec = audio.unwrap_or(AudioCodec::Opus);
        let video_codec = video.unwrap_or(VideoCodec::Vp8);
        let mut nonce = [0u8; 4];
        nonce.copy_from_slice(&random_u64().to_be_bytes()[..4]);
        let (bump, _) = watch::channel(0u64);
        let shared = Arc::new(Shared {
            stats: StdMutex::new(PeerStats::default()),
            bump,
            nonce,
            sent_audio_counter: AtomicU32::new(0),
            sent_video_counter: AtomicU32::new(0),
            keyframe_requested: AtomicBool::new(false),
            temporal: AtomicBool::new(false),
            audio_codec,
            video_codec,
            remote_video: StdMutex::new(None),
            dtmf: StdMutex::new(VecDeque::new()),
            audio_level: AtomicU8::new(127),
            remote_channel: StdMutex::new(None),
            tone: StdMutex::new(None),
            kept_audio: StdMutex::new(None),
        });

        let mut media_engine = MediaEngine::default();
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: audio_codec.rtp_codec(), payload_type: audio_codec.pt() },
            RtpCodecKind::Audio,
        )?;
        // Telephone events at the audio's clock, as browsers offer them with their audio.
        media_engine.register_codec(
            RTCRtpCodecParameters {
                rtp_codec: audio_codec.telephone_events(),
                payload_type: audio_codec.dtmf_pt(),
            },
            RtpCodecKind::Audio,
        )?;
        if video_codec != VideoCodec::H264 {
            media_engine.register_codec(
                RTCRtpCodecParameters { rtp_codec: video_codec.rtp_codec(), payload_type: video_codec.pt() },
                RtpCodecKind::Video,
            )?;
        }
        // H.264 too (after VP8, which stays preferred): a viewer of an H.264 source must be
        // offered only H.264 to end up with it.
        media_engine.register_codec(
            RTCRtpCodecParameters { rtp_codec: h264_codec(), payload_type: H264_PT },
            RtpCodecKind::Video,
        )?;
        for (typ, parameter) in [("goog-remb", ""), ("ccm", "fir")] {
            media_engine.register_feedback(
                RTCPFeedback { typ: typ.to_owned(), parameter: parameter.to_owned() },
                RtpCodecKind::Video,
            );
        }
        // The audio level of each audio packet (RFC 6464), as browsers send it.
        media_engine.register_header_extension(
            RTCRtpHeaderExtensionCapability { uri: "urn:ietf:params:rtp-hdrext:ssrc-audio-level".to_owned() },
            RtpCodecKind::Audio,
            None,
        )?;
        // NACK generator/responder, RR/SR, TWCC receiver side, mid/rid header extensions.
        let registry = register_default_interceptors(Registry::new(), &mut media_engine)?;
        let registry = registry.with(
            Slot::from(100),
            RtcpTap { shared: shared.clone(), read_queue: VecDeque::new(), write_queue: VecDeque::new() },
        );

        // Loopback only. The candidates come from the bound sockets, so binding exactly
        // 127.0.0.1 is what restricts them; the rest keeps anything else from being tried.
        let setting_engine = SettingEngineBuilder::new()
            .with_network_types(vec![NetworkType::Udp4])
            .with_multicast_dns_mode(MulticastDnsMode::Disabled)
            .with_include_loopback_candidate(true)
            .build();
        let config = RTCConfigurationBuilder::new().with_ice_servers(vec![]).build();

        let handler = Arc::new(Handler { shared: shared.clone() });
        let pc = PeerConnectionBuilder::new()
            .with_configuration(config)
            .with_media_engine(media_engine)
            .with_interceptor_registry(registry)
            .with_setting_engine(setting_engine)
            .with_handler(handler)
            .with_udp_addrs(vec![SocketAddr::from(([127, 0, 0, 1], 0))])
            .build()
            .await?;
        let pc: Arc<dyn PeerConnection> = Arc::new(pc);

        let sendrecv = || {
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendrecv,
                ..Default::default()
            })
        };
        let mut audio_track = None;
        if audio.is_some() {
            let ssrc = random_ssrc();
            let t = Arc::new(local_track(RtpCodecKind::Audio, audio_codec.rtp_codec(), ssrc, "audio"));
            let transceiver = pc.add_transceiver_from_track(t.clone(), sendrecv()).await?;
            // The track's codec and telephone events, as a browser offers its audio.
            transceiver
                .set_codec_preferences(vec![
                    RTCRtpCodecParameters {
                        rtp_codec: audio_codec.rtp_codec(),
                        payload_type: audio_codec.pt(),
                    },
                    RTCRtpCodecParameters {
                        rtp_codec: audio_codec.telephone_events(),
                        payload_type: audio_codec.dtmf_pt(),
                    },
                ])
                .await?;
            shared.update(|st| {
                st.sent_audio.ssrc = ssrc;
                st.sent_audio.payload_type = audio_codec.pt();
            });
            audio_track = Some(t);
        }
        let mut video_track = None;
        if video.is_some() {
            let ssrc = random_ssrc();
            let t = Arc::new(local_track(RtpCodecKind::Video, video_codec.rtp_codec(), ssrc, "video"));
            pc.add_transceiver_from_track(t.clone(), sendrecv()).await?;
            shared.update(|st| {
                st.sent_video.ssrc = ssrc;
                st.sent_video.payload_type = video_codec.pt();
            });
            video_track = Some(t);
        }
        let mut data_channel = None;
        let mut tasks = vec![];
        if data {
            let dc = pc.create_data_channel("portunus-test", None).await?;
            tasks.push(tokio::spawn(read_data_channel(dc.clone(), shared.clone())));
            data_channel = Some(dc);
        }

        let (stop_tx, _) = watch::channel(false);
        Ok(Peer { pc, shared, audio_track, video_track, data_channel, tasks: StdMutex::new(tasks), stop_tx })
    }

    /// A snapshot of everything observed so far.
    pub fn stats(&self) -> PeerStats {
        self.shared.stats.lock().unwrap().clone()
    }

    /// Creates the offer, applies it, waits for ICE gathering to complete and returns the SDP
    /// with the candidates in it (half trickle).
    pub async fn create_offer(&self, timeout: Duration) -> PeerResult<String> {
        let offer = self.pc.create_offer(None).await?;
        self.pc.set_local_description(offer).await?;
        self.wait_until("ICE gathering complete", timeout, |s| s.gathering_complete).await?;
        match self.pc.local_description().await {
            Some(desc) => Ok(desc.sdp),
            None => err("no local description after gathering"),
        }
    }

    /// As [`Peer::create_offer`], with new ICE credentials: an ICE restart (gathering again).
    pub async fn create_restart_offer(&self, timeout: Duration) -> PeerResult<String> {
        let options = rtc::peer_connection::configuration::RTCOfferOptions { ice_restart: true };
        self.shared.update(|st| st.gathering_complete = false);
        let offer = self.pc.create_offer(Some(options)).await?;
        self.pc.set_local_description(offer).await?;
        self.wait_until("ICE gathering complete", timeout, |s| s.gathering_complete).await?;
        match self.pc.local_description().await {
            Some(desc) => Ok(desc.sdp),
            None => err("no local description after gathering"),
        }
    }

    /// Applies a remote offer, answers it, waits for ICE gathering and returns the answer SDP
    /// with the candidates in it.
    pub async fn answer_offer(&self, sdp: &str, timeout: Duration) -> PeerResult<String> {
        let offer = RTCSessionDescription::offer(sdp.to_owned())?;
        self.pc.set_remote_description(offer).await?;
        let answer = self.pc.create_answer(None).await?;
        self.pc.set_local_description(answer).await?;
        self.wait_until("ICE gathering complete", timeout, |s| s.gathering_complete).await?;
        match self.pc.local_description().await {
            Some(desc) => Ok(desc.sdp),
            None => err("no local description after gathering"),
        }
    }

    /// Adds a candidate trickled by the gateway (the Janus `candidate` object).
    pub async fn add_remote_candidate(&self, candidate: &serde_json::Value) -> PeerResult<()> {
        let init: RTCIceCandidateInit = serde_json::from_value(candidate.clone())
            .map_err(|e| PeerError(format!("bad candidate {candidate}: {e}")))?;
        self.pc.add_ice_candidate(init).await?;
        Ok(())
    }

    pub async fn set_answer(&self, sdp: &str) -> PeerResult<()> {
        let answer = RTCSessionDescription::answer(sdp.to_owned())?;
        self.pc.set_remote_description(answer).await?;
        Ok(())
    }

    /// Reads the negotiated payload type of a local track from its sender, falling back to the
    /// one we registered.
    async fn negotiated_pt(&self, kind: Kind, default: u8) -> u8 {
        let mime = match kind {
            Kind::Audio => self.shared.audio_codec.rtp_codec().mime_type,
            Kind::Video => self.shared.video_codec.rtp_codec().mime_type,
        };
        self.negotiated_pt_of(&mime).await.unwrap_or(default)
    }

    /// The payload type our senders negotiated for a MIME type, if any.
    async fn negotiated_pt_of(&self, mime: &str) -> Option<u8> {
        for sender in self.pc.get_senders().await {
            if let Ok(params) = sender.get_parameters().await {
                if let Some(c) = params
                    .rtp_parameters
                    .codecs
                    .iter()
                    .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case(mime))
                {
                    return Some(c.payload_type);
                }
            }
        }
        None
    }

    /// Sends real Opus from now on: a sine at `freq` Hz (amplitude 0 is silence), mono 48 kHz.
    pub fn set_tone(&self, freq: f64, amplitude: f64) {
        let encoder = ropus::Encoder::builder(48_000, ropus::Channels::Mono, ropus::Application::Voip)
            .bitrate(ropus::Bitrate::try_bits(32_000).expect("a bitrate"))
            .build()
            .expect("opus encoder");
        *self.shared.tone.lock().unwrap() = Some(Tone { freq, amplitude, sample: 0, encoder });
    }

    /// Keeps the audio payloads received from now on (see [`Peer::take_audio`]).
    pub fn keep_audio(&self) {
        *self.shared.kept_audio.lock().unwrap() = Some(Vec::new());
    }

    /// The audio payloads kept since [`Peer::keep_audio`] (or the last take), in arrival order.
    pub fn take_audio(&self) -> Vec<Bytes> {
        self.shared.kept_audio.lock().unwrap().as_mut().map(std::mem::take).unwrap_or_default()
    }

    /// The audio level the audio packets carry from now on (0 loudest .. 127 silence).
    pub fn set_audio_level(&self, level: u8) {
        self.shared.audio_level.store(level.min(127), Ordering::Release);
    }

    /// Sends DTMF digits (0-9, *, #, A-D) as RFC 4733 telephone events on the audio stream,
    /// between its packets, as a browser's `RTCDTMFSender` does.
    pub fn send_dtmf(&self, digits: &str) {
        let codes = digits.chars().map(|c| match c {
            '0'..='9' => c as u8 - b'0',
            '*' => 10,
            '#' => 11,
            'A'..='D' => c as u8 - b'A' + 12,
            _ => panic!("not a DTMF digit: {c}"),
        });
        self.shared.dtmf.lock().unwrap().extend(codes);
    }

    /// Starts the sender tasks (call after `set_answer`).
    /// Adds a receive-only transceiver of each kind, as a WHEP viewer offers.
    pub async fn add_recvonly(&self, audio: bool, video: bool) -> PeerResult<()> {
        let recvonly = || RTCRtpTransceiverInit {
            direction: RTCRtpTransceiverDirection::Recvonly,
            ..Default::default()
        };
        for (on, kind) in [(audio, RtpCodecKind::Audio), (video, RtpCodecKind::Video)] {
            if on {
                self.pc.add_transceiver_from_kind(kind, Some(recvonly())).await?;
            }
        }
        Ok(())
    }

    /// Adds a video track (sendrecv) to a peer that has none, as a browser turning its camera
    /// on mid-call; the next offer carries it, and [`Peer::start_video`] sends on it.
    pub async fn add_video(&mut self) -> PeerResult<()> {
        let ssrc = random_ssrc();
        let t = Arc::new(local_track(RtpCodecKind::Video, vp8_codec(), ssrc, "video"));
        let init =
            RTCRtpTransceiverInit { direction: RTCRtpTransceiverDirection::Sendrecv, ..Default::default() };
        self.pc.add_transceiver_from_track(t.clone(), Some(init)).await?;
        self.shared.update(|st| {
            st.sent_video.ssrc = ssrc;
            st.sent_video.payload_type = VP8_PT;
        });
        self.video_track = Some(t);
        Ok(())
    }

    /// Starts sending on a video track added by [`Peer::add_video`] (once negotiated).
    pub async fn start_video(&self) {
        let Some(track) = self.video_track.clone() else { return };
        let pt = self.negotiated_pt(Kind::Video, self.shared.video_codec.pt()).await;
        let h = tokio::spawn(send_media(
            track,
            self.shared.clone(),
            Kind::Video,
            (pt, None),
            self.stop_tx.subscribe(),
        ));
        self.tasks.lock().unwrap().push(h);
    }

    pub async fn start_media(&self) {
        if let Some(track) = self.audio_track.clone() {
            let pt = self.negotiated_pt(Kind::Audio, self.shared.audio_codec.pt()).await;
            let dtmf_pt = self.negotiated_pt_of("audio/telephone-event").await;
            let h = tokio::spawn(send_media(
                track,
                self.shared.clone(),
                Kind::Audio,
                (pt, dtmf_pt),
                self.stop_tx.subscribe(),
            ));
            self.tasks.lock().unwrap().push(h);
        }
        if let Some(track) = self.video_track.clone() {
            let pt = self.negotiated_pt(Kind::Video, self.shared.video_codec.pt()).await;
            let h = tokio::spawn(send_media(
                track,
                self.shared.clone(),
                Kind::Video,
                (pt, None),
                self.stop_tx.subscribe(),
            ));
            self.tasks.lock().unwrap().push(h);
        }
    }

    /// Waits until `cond` holds on the stats, re-checking on every change.
    pub async fn wait_until(
        &self,
        what: &str,
        timeout: Duration,
        cond: impl Fn(&PeerStats) -> bool,
    ) -> PeerResult<PeerStats> {
        let mut rx = self.shared.bump.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            {
                let st = self.shared.stats.lock().unwrap();
                if cond(&st) {
                    return Ok(st.clone());
                }
            }
            match tokio::time::timeout_at(deadline, rx.changed()).await {
                Ok(Ok(())) => {}
                Ok(Err(_)) => return err(format!("peer gone while waiting for {what}")),
                Err(_) => {
                    let summary = self.stats().summary();
                    return err(format!("timed out after {timeout:?} waiting for {what}: {summary}"));
                }
            }
        }
    }

    pub async fn wait_connected(&self, timeout: Duration) -> PeerResult<PeerStats> {
        self.wait_until("connection state Connected", timeout, |s| {
            s.connection_state == RTCPeerConnectionState::Connected
        })
        .await
    }

    /// Waits until at least `n` packets of `kind` with valid markers have been received.
    pub async fn wait_packets(&self, kind: Kind, n: u64, timeout: Duration) -> PeerResult<PeerStats> {
        self.wait_until(&format!("{n} echoed {kind:?} packets"), timeout, |s| s.recv(kind).valid_markers >= n)
            .await
    }

    pub async fn wait_data_open(&self, timeout: Duration) -> PeerResult<PeerStats> {
        self.wait_until("data channel open", timeout, |s| s.data_open).await
    }

    /// Our data channel, or else the first one the far end opened.
    fn channel(&self) -> PeerResult<Arc<dyn DataChannel>> {
        let remote = || self.shared.remote_channel.lock().unwrap().clone();
        match self.data_channel.clone().or_else(remote) {
            Some(dc) => Ok(dc),
            None => err("no data channel"),
        }
    }

    pub async fn send_text(&self, text: &str) -> PeerResult<()> {
        Ok(self.channel()?.send_text(text).await?)
    }

    pub async fn send_binary(&self, data: &[u8]) -> PeerResult<()> {
        Ok(self.channel()?.send(BytesMut::from(data)).await?)
    }

    /// Waits for a data channel message satisfying `pred` and returns it.
    pub async fn wait_data_message(
        &self,
        timeout: Duration,
        pred: impl Fn(&DataMessage) -> bool,
    ) -> PeerResult<DataMessage> {
        let st = self
            .wait_until("data channel message", timeout, |s| s.data_messages.iter().any(|(_, m)| pred(m)))
            .await?;
        Ok(st.data_messages.into_iter().map(|(_, m)| m).find(|m| pred(m)).expect("checked by wait_until"))
    }

    /// Closes the PeerConnection and stops the tasks.
    /// Stops the media senders; the PeerConnection stays up.
    pub fn stop_media(&self) {
        let _ = self.stop_tx.send(true);
    }

    /// From now on the video goes in three temporal layers, as a VP8 encoder with
    /// `L1T3` does: frames of TID 0, 2, 1, 2, … (key frames 0), named in each payload
    /// descriptor.
    pub fn send_temporal_layers(&self) {
        self.shared.temporal.store(true, Ordering::Relaxed);
    }

    /// Asks the sender of the remote video for a keyframe (RTCP PLI), as a browser does when it
    /// cannot decode what it gets.
    pub async fn request_keyframe(&self) -> PeerResult<()> {
        let track = self.shared.remote_video.lock().unwrap().clone();
        let track = track.ok_or_else(|| PeerError("no remote video track".into()))?;
        let media_ssrc = *track.ssrcs().await.first().ok_or_else(|| PeerError("no SSRC".into()))?;
        let pli = PictureLossIndication { sender_ssrc: 0, media_ssrc };
        track.write_rtcp(vec![Box::new(pli)]).await.map_err(|e| PeerError(e.to_string()))
    }

    /// Tells the sender of the remote video how many bits a second it may send (RTCP REMB), as
    /// a browser's bandwidth estimate does.
    pub async fn send_remb(&self, bps: u64) -> PeerResult<()> {
        let track = self.shared.remote_video.lock().unwrap().clone();
        let track = track.ok_or_else(|| PeerError("no remote video track".into()))?;
        let ssrcs = track.ssrcs().await;
        let remb = ReceiverEstimatedMaximumBitrate { sender_ssrc: 0, bitrate: bps as f32, ssrcs };
        track.write_rtcp(vec![Box::new(remb)]).await.map_err(|e| PeerError(e.to_string()))
    }

    pub async fn close(&self) -> PeerResult<()> {
        self.stop_media();
        self.pc.close().await?;
        for h in self.tasks.lock().unwrap().drain(..) {
            h.abort();
        }
        Ok(())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.stop_tx.send(true);
        for h in self.tasks.lock().unwrap().drain(..) {
            h.abort();
        }
    }
}

/// magic | nonce | kind tag | counter (BE) | frame (BE)
fn put_marker(buf: &mut BytesMut, nonce: &[u8; 4], kind: Kind, counter: u32, frame: u32) {
    buf.put_slice(MAGIC);
    buf.put_slice(nonce);
    buf.put_u8(kind.tag());
    buf.put_u32(counter);
    buf.put_u32(frame);
}

fn pad_to(buf: &mut BytesMut, len: usize) {
    let mut i = 0u8;
    while buf.len() < len {
        buf.put_u8(i);
        i = i.wrapping_add(1);
    }
}

async fn write_one(
    track: &TrackLocalStaticRTP,
    shared: &Shared,
    kind: Kind,
    header: rtp::header::Header,
    payload: Bytes,
) {
    let packet = rtp::Packet { header, payload };
    let res = if kind == Kind::Audio {
        // With its level, when the far end negotiated the extension.
        let level = shared.audio_level.load(Ordering::Acquire);
        let ext = rtp::extension::audio_level_extension::AudioLevelExtension { level, voice: level < 127 };
        track.write_rtp_with_extensions(packet, &[rtp::extension::HeaderExtension::AudioLevel(ext)]).await
    } else {
        track.write_rtp(packet).await
    };
    shared.update(|st| {
        let s = st.sent_mut(kind);
        match res {
            Ok(()) => s.packets += 1,
            Err(e) => {
                s.write_errors += 1;
                s.last_error = Some(e.to_string());
            }
        }
    });
}

fn rtp_header(pt: u8, seq: u16, ts: u32, ssrc: u32, marker: bool) -> rtp::header::Header {
    rtp::header::Header {
        version: 2,
        marker,
        payload_type: pt,
        sequence_number: seq,
        timestamp: ts,
        ssrc,
        ..Default::default()
    }
}

/// Sends numbered media on a track until `stop`: 20 ms Opus-sized audio packets, or 30 fps VP8
/// frames of several packets each (key frames marked as such, so a gateway can tell them).
/// Queued DTMF digits take the audio's place as RFC 4733 events (`dtmf_pt`, if negotiated):
/// 100 ms each, the end sent three times, in the audio's numbering.
async fn send_media(
    track: Arc<TrackLocalStaticRTP>,
    shared: Arc<Shared>,
    kind: Kind,
    (pt, dtmf_pt): (u8, Option<u8>),
    mut stop: watch::Receiver<bool>,
) {
    // The event being sent: its code, the timestamp it started at, packets sent so far.
    let mut event: Option<(u8, u32, u16)> = None;
    let video = kind == Kind::Video;
    let svc = shared.video_codec == VideoCodec::Vp9Svc;
    let (period, ts_step, packets, len) = if video {
        let packets = if svc { SVC_PACKETS_PER_LAYER * 3 } else { VIDEO_PACKETS_PER_FRAME };
        (Duration::from_micros(33_333), 3000, packets, VIDEO_PAYLOAD_LEN)
    } else {
        (Duration::from_millis(20), shared.audio_codec.ts_step(), 1, AUDIO_PAYLOAD_LEN)
    };
    let mut seq: u16 = (random_u64() & 0x7fff) as u16;
    let mut ts: u32 = random_u64() as u32;
    let ssrc = shared.update(|st| {
        let sent = st.sent_mut(kind);
        sent.first_seq = seq;
        sent.first_ts = ts;
        sent.ssrc
    });
    if !shared.connected(&mut stop).await {
        return;
    }
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut frame: u32 = 0;
    // With temporal layers: each frame's TID (0, 2, 1, 2, …; key frames 0) and the index of
    // the last layer-0 frame.
    let mut tl0: u8 = 0;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.changed() => return,
        }
        if let Some(dtmf_pt) = dtmf_pt.filter(|_| !video) {
            if event.is_none() {
                event = shared.dtmf.lock().unwrap().pop_front().map(|code| (code, ts, 0));
            }
            if let Some((code, start, n)) = event {
                // Five 20 ms updates, the last three with the end bit: 100 ms.
                let end = n >= 2;
                let duration = (u32::from(n.min(2)) + 1) * ts_step;
                let payload = [code, if end { 0x80 | 10 } else { 10 }, (duration >> 8) as u8, duration as u8];
                let header = rtp_header(dtmf_pt, seq, start, ssrc, n == 0);
                let _ =
                    track.write_rtp(rtp::Packet { header, payload: Bytes::copy_from_slice(&payload) }).await;
                seq = seq.wrapping_add(1);
                ts = ts.wrapping_add(ts_step);
                event = if n < 4 { Some((code, start, n + 1)) } else { None };
                continue;
            }
        }
        // Key frames: the first three (the far end may finish its DTLS handshake a moment after
        // us and drop the very first packets), one a second, and one after every PLI/FIR.
        let keyframe = video
            && (frame < 3
                || frame.is_multiple_of(30)
                || shared.keyframe_requested.swap(false, Ordering::AcqRel));
        let layer = (video && (svc || shared.temporal.load(Ordering::Relaxed))).then(|| {
            let tid = if keyframe { 0 } else { [0, 2, 1, 2][frame as usize % 4] };
            if tid == 0 {
                tl0 = tl0.wrapping_add(1);
            }
            (tl0, tid)
        });
        for i in 0..packets {
            let last = i + 1 == packets;
            let counter = shared.sent_counter(kind).load(Ordering::Acquire);
            let mut buf = BytesMut::with_capacity(len);
            let tone = if video { None } else { shared.tone.lock().unwrap().as_mut().map(Tone::next_packet) };
            if let Some(opus) = tone {
                write_one(&track, &shared, kind, rtp_header(pt, seq, ts, ssrc, frame == 0), opus).await;
                seq = seq.wrapping_add(1);
                continue;
            }
            if !video {
                // Opus TOC: config 31 (CELT FB 20 ms), stereo, 1 frame; for G.711 one sample.
                buf.put_u8(0xfc);
            } else if shared.video_codec == VideoCodec::H264 {
                // A single NAL unit: an IDR slice in a key frame, else a non-IDR one.
                buf.put_u8(if keyframe { 0x65 } else { 0x41 });
            } else if svc {
                let (_, tid) = layer.unwrap_or_default();
                let at = i % SVC_PACKETS_PER_LAYER;
                let sid = (i / SVC_PACKETS_PER_LAYER) as u8;
                let edges = (at == 0, at + 1 == SVC_PACKETS_PER_LAYER);
                put_vp9_descriptor(&mut buf, frame as u16, keyframe, (tid, sid), edges);
            } else if i == 0 {
                put_vp8_frame_start(&mut buf, keyframe, layer);
            } else {
                // Continuation of the same partition: S=0.
                put_vp8_descriptor(&mut buf, false, layer);
            }
            put_marker(&mut buf, &shared.nonce, kind, counter, frame);
            pad_to(&mut buf, len);
            // Publish the counter before the packet can come back.
            shared.sent_counter(kind).store(counter + 1, Ordering::Release);
            // The marker bit: the last packet of a video frame, the first audio packet of a talkspurt.
            let marker = if video { last } else { frame == 0 };
            write_one(&track, &shared, kind, rtp_header(pt, seq, ts, ssrc, marker), buf.freeze()).await;
            seq = seq.wrapping_add(1);
        }
        if video {
            shared.update(|st| {
                st.sent_video.frames += 1;
                if keyframe {
                    st.sent_video.keyframes += 1;
                }
            });
        }
        ts = ts.wrapping_add(ts_step);
        frame += 1;
    }
}

/// A VP9 payload descriptor in flexible mode (RFC 9628 §4.2): a 15-bit picture ID, the layer
/// indices (`layers`: TID, SID; U set, D for the upper layers of a keyframe), one reference
/// to the previous picture when not a keyframe; B and E (`edges`) where the layer frame begins
/// and ends.
fn put_vp9_descriptor(
    buf: &mut BytesMut,
    picture: u16,
    keyframe: bool,
    layers: (u8, u8),
    edges: (bool, bool),
) {
    let (tid, sid) = layers;
    let (begins, ends) = edges;
    let first = 0x80 | 0x20 | 0x10 | u8::from(!keyframe) << 6 | u8::from(begins) << 3 | u8::from(ends) << 2;
    buf.put_u8(first);
    buf.put_u16(0x8000 | (picture & 0x7fff));
    buf.put_u8(tid << 5 | 0x10 | sid << 1 | u8::from(keyframe && sid > 0));
    if !keyframe {
        // P_DIFF 1, no more references.
        buf.put_u8(1 << 1);
    }
}

/// A VP8 payload descriptor (S for a frame's first packet, PID 0), with the temporal layer's
/// fields when there is one (`layer`: TL0PICIDX and TID; Y set: each frame refers to layer 0
/// only).
fn put_vp8_descriptor(buf: &mut BytesMut, start: bool, layer: Option<(u8, u8)>) {
    let s = if start { 0x10 } else { 0x00 };
    match layer {
        None => buf.put_u8(s),
        Some((tl0, tid)) => {
            // X, then L and T present, TL0PICIDX, TID|Y.
            buf.put_slice(&[0x80 | s, 0x60, tl0, (tid << 6) | 0x20]);
        }
    }
}

/// The start of a VP8 frame: payload descriptor and frame tag (plus the key frame header).
fn put_vp8_frame_start(buf: &mut BytesMut, keyframe: bool, layer: Option<(u8, u8)>) {
    put_vp8_descriptor(buf, true, layer);
    // Frame tag: P (0 = key frame), version 0, show_frame 1, first partition size.
    let size: u32 = 200;
    let p = if keyframe { 0 } else { 1 };
    buf.put_u8((p | (1 << 4) | ((size & 0x7) << 5)) as u8);
    buf.put_u8(((size >> 3) & 0xff) as u8);
    buf.put_u8(((size >> 11) & 0xff) as u8);
    if keyframe {
        buf.put_slice(&[0x9d, 0x01, 0x2a]);
        buf.put_u16_le(VIDEO_WIDTH); // 14 bits width, scale 0
        buf.put_u16_le(VIDEO_HEIGHT);
    }
}

/// The IP addresses of every `a=candidate` line (and any `c=` line) in an SDP, for checking
/// that only loopback is offered.
pub fn sdp_candidate_addresses(sdp: &str) -> Vec<String> {
    let mut out = vec![];
    for line in sdp.lines() {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("a=candidate:") {
            // foundation component transport priority address port typ ...
            if let Some(addr) = rest.split_whitespace().nth(4) {
                out.push(addr.to_owned());
            }
        }
    }
    out
}

/// The RTP header extensions an SDP negotiates, by the short names Janus's docs use
/// (`audio-level`, `transport-cc`, `abs-send-time`, `video-orientation`, `mid`, …; others by
/// their URI), each once.
pub fn sdp_extensions(sdp: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for uri in sdp.lines().filter_map(|l| l.trim().strip_prefix("a=extmap:")?.split_whitespace().nth(1)) {
        let name = match uri {
            "urn:ietf:params:rtp-hdrext:ssrc-audio-level" => "audio-level",
            "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01" => "transport-cc",
            "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time" => "abs-send-time",
            "urn:3gpp:video-orientation" => "video-orientation",
            "urn:ietf:params:rtp-hdrext:sdes:mid" => "mid",
            other => other,
        };
        if !out.iter().any(|n| n == name) {
            out.push(name.to_owned());
        }
    }
    out.sort();
    out
}

/// Parse SSRCs announced in `a=ssrc:` lines, per m= section kind.
pub fn sdp_ssrcs(sdp: &str) -> HashMap<String, Vec<u32>> {
    let mut out: HashMap<String, Vec<u32>> = HashMap::new();
    let mut current = String::new();
    for line in sdp.lines() {
        let line = line.trim();
        if let Some(m) = line.strip_prefix("m=") {
            current = m.split_whitespace().next().unwrap_or("").to_owned();
        } else if let Some(rest) = line.strip_prefix("a=ssrc:") {
            if let Some(Ok(ssrc)) = rest.split_whitespace().next().map(|s| s.parse::<u32>()) {
                let v = out.entry(current.clone()).or_default();
                if !v.contains(&ssrc) {
                    v.push(ssrc);
                }
            }
        }
    }
    out
}

//! One handle's PeerConnection: a str0m `Rtc` in RTP mode and what the engine tracks about it.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, KeyframeRequestKind, MediaKind, Mid, Pt};
use str0m::net::Receive;
use str0m::rtp::Ssrc;
use str0m::{Candidate, Event, IceCreds, Input, Output, Rtc, RtcConfig};

use super::demux::is_dtls;
use super::dtls_retries::DtlsRetries;
use crate::vocab::HandleRef;
use crate::vocab::{self, AnswerPolicy, DescriptionError, StreamInfo};

/// What one incoming stream looks like to the router.
#[derive(Debug, Clone, Copy)]
pub struct RxStream {
    /// Its mid.
    pub mid: Mid,
    /// Audio or video.
    pub video: bool,
    /// Its simulcast substream (0 lowest), when the client sends simulcast on this mid.
    pub layer: Option<u8>,
    /// How many substreams the client sends on this mid.
    pub layers: u8,
}

/// Per-mid receiving state for Janus `media` events.
#[derive(Debug, Clone, Copy)]
pub struct Receiving {
    /// Audio or video.
    pub video: bool,
    /// Last packet time.
    pub last: Instant,
    /// Whether `receiving: true` was reported last.
    pub up: bool,
}

/// Our offer waiting for the client's answer: str0m's side of it and the streams it adds,
/// with what it asked and the stream lists as they were before it (to offer it again on a
/// restart).
struct PendingOffer {
    offer: str0m::change::SdpPendingOffer,
    added: Vec<(Mid, bool)>,
    stop: Vec<String>,
    directions: crate::vocab::Directions,
    kinds: Vec<super::OfferedKind>,
    media_before: Vec<(Mid, bool)>,
    inactive_before: Vec<(Mid, bool)>,
    /// How often it was offered again (a data channel it adds is a new one each time, which
    /// str0m keeps).
    replays: u32,
}

/// Times an offer is made again before its answer, at most.
const MAX_REPLAYS: u32 = 4;

/// A PeerConnection.
pub struct Peer {
    /// The handle it belongs to.
    pub handle: HandleRef,
    /// The WebRTC state machine.
    pub rtc: Rtc,
    /// Our ICE ufrag (the demux key for first contact).
    pub ufrag: String,
    /// When `rtc` next wants `Input::Timeout`.
    pub timeout: Instant,
    /// Media was written to `rtc` since its last timeout: str0m queues what is written and
    /// releases it on a timeout, so a drain starts with one (no poll that would only say so).
    pub wrote_media: bool,
    /// The deadline of this peer's live entry in its core's timer heap, if it has one.
    pub filed: Option<Instant>,
    /// ICE and DTLS are up.
    pub connected: bool,
    /// Our DTLS handshake flights sent again, for the event handlers.
    pub dtls_retries: DtlsRetries,
    /// Incoming streams by SSRC (filled on first packet).
    pub rx: HashMap<Ssrc, RxStream>,
    /// Receiving state per mid.
    pub receiving: HashMap<Mid, Receiving>,
    /// Relay this peer's audio / video to rule destinations.
    pub relay_audio: bool,
    /// See `relay_audio`.
    pub relay_video: bool,
    /// REMB cap in bps (0: none).
    pub bitrate_cap: u32,
    /// Streams whose keyframe request waits for the rate limit.
    pli_pending: Vec<Mid>,
    /// How the numbers of each stream we send are made from those of what feeds it (kept
    /// across rules, so a destination stream stays continuous when its source changes).
    pub rewrites: HashMap<Mid, super::router::Rewrite>,
    /// When a keyframe was last asked on each stream (rate limit, see [`PLI_INTERVAL`]).
    pub last_pli: HashMap<Mid, Instant>,
    /// Open data channels (label, id), in the order they opened: `send-data` without a label
    /// uses the first.
    pub channels: super::channels::Channels<str0m::channel::ChannelId>,
    /// The client's pending offer (full SDP), for the plugin's `answer`.
    pub remote_offer: Option<String>,
    /// The header extensions negotiations offer and accept (`set-rtp-extensions`).
    pub extensions: crate::vocab::RtpExtensions,
    /// Candidates that arrived before the remote description.
    pub early_candidates: Vec<String>,
    /// Whether a remote description has been applied.
    pub negotiated: bool,
    /// Accepted audio/video media of the last negotiation: (mid, video).
    pub media: Vec<(Mid, bool)>,
    /// Streams we made inactive (mid, video), to recycle for new ones.
    inactive: Vec<(Mid, bool)>,
    /// Talking detection on the audio streams, when a plugin asked for it.
    pub talk: Option<super::talk::TalkWatch>,
    /// Codec and clock rate of each payload type, read at each negotiation (looked up for
    /// every routed packet: a short flat table instead of str0m's codec parameters).
    codecs: Vec<(str0m::media::Pt, RxCodec)>,
    /// The client's candidates, held back from ICE until its first check reaches us (or
    /// `held_until` passes): a check of ours that arrives before the client has applied our
    /// answer is dropped there and only retried 250 ms later, while one sent in reply to the
    /// client's own check lets it nominate at once.
    held: Vec<Candidate>,
    /// When the held candidates go to ICE anyway.
    held_until: Option<Instant>,
    /// Loss counters between two stats reports.
    pub losses: LossMeter,
    /// Simulcast rids the client sends, per stream.
    rids: HashMap<Mid, Vec<String>>,
    /// The data channels' stream, once negotiated.
    data_mid: Option<Mid>,
    /// Our offer waiting for the client's answer.
    pending_offer: Option<PendingOffer>,
    /// Our host candidates were added.
    candidates_added: bool,
    /// A client offer was applied (Janus's `got-offer`).
    pub remote_offered: bool,
    /// A client answer was applied (`got-answer`).
    pub remote_answered: bool,
    /// The last SDP we gave the client, and the last it gave us (admin `handle_info`).
    pub local_sdp: Option<String>,
    /// See `local_sdp`.
    pub remote_sdp: Option<String>,
    /// The client's candidates (`candidate:…`), from its SDP and its trickles.
    pub remote_candidates: Vec<String>,
    /// The last ICE state str0m reported.
    pub ice_state: Option<str0m::IceConnectionState>,
    /// Since when ICE has been disconnected (none while it is not).
    pub disconnected_at: Option<Instant>,
    /// Whether we are the controlling ICE agent (we made the first offer).
    pub controlling: Option<bool>,
    /// Counters of the last stats report, per stream and rid, received and sent.
    pub counters_in: HashMap<(Mid, Option<str0m::media::Rid>), Counters>,
    /// See `counters_in`.
    pub counters_out: HashMap<(Mid, Option<str0m::media::Rid>), Counters>,
    /// Send streams whose retransmission cache is bounded by time already (by SSRC).
    rtx_bounded: Vec<Ssrc>,
    /// How long the send streams keep video for retransmissions (see
    /// [`Peer::bound_retransmissions`]).
    rtx_age: Duration,
    /// The round trip the client's last receiver report gave.
    pub rtt: Option<Duration>,
    /// What the event handlers hear of this PeerConnection (none: there are no handlers).
    pub news: Option<Box<super::news::PeerNews>>,
    /// Each stream's m-line index in the last SDP we gave the client.
    mindexes: Vec<(Mid, usize)>,
    /// The data channels' m-line in that SDP (its mid and index), if it has one.
    data_line: Option<(Mid, usize)>,
    /// The addresses the core routes to this peer (its `by_addr` entries).
    pub addrs: Vec<SocketAddr>,
    /// Test only: the next datagram makes this peer panic (as a bug in the WebRTC stack would).
    #[cfg(test)]
    pub panic_on_input: bool,
}

/// Packet counters of one stream (str0m's stats).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    /// RTP packets.
    pub packets: u64,
    /// Payload bytes.
    pub bytes: u64,
    /// NACKs (sent for received streams, received for sent ones).
    pub nacks: u64,
    /// Payload bytes since the report before (str0m reports every second: Janus's
    /// `bytes_lastsec`).
    pub bytes_lastsec: u64,
}

impl Counters {
    /// Adds another stream's counters.
    pub fn add(&mut self, other: &Counters) {
        self.packets += other.packets;
        self.bytes += other.bytes;
        self.nacks += other.nacks;
        self.bytes_lastsec += other.bytes_lastsec;
    }

    /// Counters of a stream's new report, the last second's bytes reckoned from its `before`.
    pub fn reported(packets: u64, bytes: u64, nacks: u64, before: Option<&Counters>) -> Self {
        let bytes_lastsec = bytes.saturating_sub(before.map_or(0, |b| b.bytes));
        Counters { packets, bytes, nacks, bytes_lastsec }
    }
}

/// What a payload type carries: codec and RTP clock rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RxCodec {
    /// The codec.
    pub codec: str0m::format::Codec,
    /// RTP timestamp units per second.
    pub clock: u32,
}

/// The label of the data channel we offer.
const DATA_CHANNEL: &str = "JanusDataChannel";

/// Losses per stream and direction between two stats reports (str0m reports every second).
#[derive(Debug, Default)]
pub struct LossMeter {
    /// Last cumulative (NACKs, lost or received packets) per (mid, sending).
    last: HashMap<(Mid, bool), (u64, u64)>,
}

impl LossMeter {
    /// Packets lost since the last report on a stream we send: the client's NACKs, or the
    /// losses its receiver reports count, whichever is more.
    pub fn egress(&mut self, s: &str0m::stats::MediaEgressStats) -> u64 {
        let lost = s.remote.as_ref().map_or(0, |r| r.packets_lost);
        let (nacks, before) = self.last.insert((s.mid, true), (s.nacks, lost)).unwrap_or((0, 0));
        s.nacks.saturating_sub(nacks).max(lost.saturating_sub(before))
    }

    /// Packets lost since the last report on a stream we receive: our NACKs, or the loss
    /// fraction of our receiver report applied to the packets received, whichever is more.
    pub fn ingress(&mut self, s: &str0m::stats::MediaIngressStats) -> u64 {
        let (nacks, packets) = self.last.insert((s.mid, false), (s.nacks, s.packets)).unwrap_or((0, 0));
        let received = s.packets.saturating_sub(packets) as f64;
        let fraction = f64::from(s.loss.unwrap_or(0.0)).clamp(0.0, 1.0);
        let estimated = (received * fraction / (1.0 - fraction).max(0.01)).round() as u64;
        s.nacks.saturating_sub(nacks).max(estimated)
    }
}

/// At most this many remote candidates are kept per negotiation.
const MAX_HELD: usize = 64;

/// Whether a datagram is a STUN Binding request (RFC 5389 header: type 0x0001, magic cookie).
fn is_binding_request(buf: &[u8]) -> bool {
    buf.len() >= 20 && buf[0..2] == [0, 1] && buf[4..8] == [0x21, 0x12, 0xa4, 0x42]
}

/// Keyframe requests to one stream of a client are at least this far apart (from receivers,
/// rules and plugins alike).
const PLI_INTERVAL: Duration = Duration::from_millis(500);

/// The REMB that lifts a bitrate cap (Janus's "no limit": 10 Mbps).
pub const NO_CAP_BPS: u64 = 10_000_000;

/// How long the client's candidates wait for its first connectivity check.
const HOLD_CANDIDATES: Duration = Duration::from_millis(100);

/// Video packets a stream keeps to answer NACKs, at most.
const RETRANSMIT_PACKETS: usize = 200;
/// What the NACK queue adds to the round trip (Janus's margin).
const NACK_QUEUE_MARGIN: Duration = Duration::from_millis(100);
/// The longest NACK queue (Janus's).
const MAX_NACK_QUEUE: Duration = Duration::from_secs(1);
/// The least change of round trip that changes the NACK queue.
const NACK_QUEUE_STEP: Duration = Duration::from_millis(100);

/// Builds the `RtcConfig` every peer starts from.
pub fn template(cert: str0m::config::DtlsCert, ice_lite: bool) -> RtcConfig {
    // str0m's defaults have Opus as the only audio codec; Janus clients (SIP legs above
    // all) also use G.711 and G.722.
    let mut config = RtcConfig::new()
        .enable_pcmu(true, false)
        .enable_pcma(true, false)
        .enable_g722(true, false)
        .set_rtp_mode(true)
        .set_ice_lite(ice_lite)
        .set_dtls_cert(cert)
        .set_crypto_provider(super::dtls::provider())
        .set_stats_interval(Some(Duration::from_secs(1)))
        // What a video stream keeps for retransmissions: str0m's default of 1000 packets is
        // ~1.2 MB per stream once full, the bulk of a subscriber's memory (measured with
        // portunus-bench-room). 200 packets are 1.3 s of 1.5 Mbit/s video and 0.5 s of
        // 4 Mbit/s; a negotiation then bounds them by age too (`bound_retransmissions`).
        .set_send_buffer_video(RETRANSMIT_PACKETS);
    // RFC 4733 telephone events (a browser's DTMF), one payload type per audio clock, with
    // the numbers Chromium uses: Opus's 48 kHz and G.711's and G.722's 8 kHz.
    for (pt, clock) in [(110, Frequency::FORTY_EIGHT_KHZ), (126, Frequency::EIGHT_KHZ)] {
        config.codec_config().add_config(
            Pt::new_with_value(pt),
            None,
            Codec::Tele,
            clock,
            None,
            FormatParams::parse_line("0-16"),
        );
    }
    config
}

fn random_token(len: usize) -> String {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len).map(|_| CHARS[rand::random_range(0..CHARS.len())] as char).collect()
}

impl Peer {
    /// A new peer with its own ICE credentials.
    pub fn new(handle: HandleRef, template: &RtcConfig, now: Instant) -> Self {
        let ufrag = random_token(8);
        let creds = IceCreds { ufrag: ufrag.clone(), pass: random_token(24) };
        let rtc = template.clone().set_local_ice_credentials(creds).build(now);
        Self {
            handle,
            rtc,
            ufrag,
            timeout: now,
            wrote_media: false,
            filed: None,
            connected: false,
            dtls_retries: DtlsRetries::default(),
            rx: HashMap::new(),
            receiving: HashMap::new(),
            relay_audio: true,
            relay_video: true,
            bitrate_cap: 0,
            last_pli: HashMap::new(),
            rewrites: HashMap::new(),
            pli_pending: Vec::new(),
            channels: Default::default(),
            remote_offer: None,
            extensions: crate::vocab::RtpExtensions::ALL,
            early_candidates: Vec::new(),
            negotiated: false,
            media: Vec::new(),
            inactive: Vec::new(),
            talk: None,
            codecs: Vec::new(),
            held: Vec::new(),
            held_until: None,
            losses: LossMeter::default(),
            rids: HashMap::new(),
            data_mid: None,
            pending_offer: None,
            candidates_added: false,
            remote_offered: false,
            remote_answered: false,
            local_sdp: None,
            remote_sdp: None,
            remote_candidates: Vec::new(),
            ice_state: None,
            disconnected_at: None,
            controlling: None,
            counters_in: HashMap::new(),
            counters_out: HashMap::new(),
            rtx_bounded: Vec::new(),
            rtx_age: Duration::ZERO,
            rtt: None,
            news: None,
            mindexes: Vec::new(),
            data_line: None,
            addrs: Vec::new(),
            #[cfg(test)]
            panic_on_input: false,
        }
    }

    /// The data channels' stream, once negotiated.
    pub fn data_mid(&self) -> Option<Mid> {
        self.data_mid
    }

    /// Answers the pending client offer with our host candidates in it (half trickle); also
    /// returns the addresses of the candidates the offer carried.
    pub fn answer(
        &mut self,
        now: Instant,
        policy: &AnswerPolicy,
        candidates: &[SocketAddr],
    ) -> Result<(String, Vec<SocketAddr>), String> {
        let received = self.remote_offer.take().ok_or("no pending offer from the client")?;
        self.remote_offered = true;
        self.controlling.get_or_insert(false);
        let mut remote = Vec::new();
        let offer: String = received
            .lines()
            .filter(|l| match l.trim_end().strip_prefix("a=candidate:") {
                Some(c) => {
                    let text = format!("candidate:{c}");
                    if let Ok(c) = Candidate::from_sdp_string(&text) {
                        remote.push(c.addr());
                        self.note_remote_candidate(text);
                        self.hold(c);
                    }
                    false
                }
                None => true,
            })
            .flat_map(|l| [l, "\r\n"])
            .collect();
        self.held_until = Some(now + HOLD_CANDIDATES);
        let offer =
            super::policy::drop_extensions(&super::policy::apply_policy(&offer, policy), self.extensions);
        let summary = crate::sdp::check(&offer).map_err(|e| e.0)?;
        self.media.clear();
        self.rids.clear();
        self.data_mid = None;
        for m in summary.media.iter().filter(|m| m.port != 0) {
            let Some(mid) = m.mid.as_deref().map(Mid::from) else { continue };
            match m.kind {
                crate::sdp::MediaKind::Audio => self.media.push((mid, false)),
                crate::sdp::MediaKind::Video => self.media.push((mid, true)),
                crate::sdp::MediaKind::Data => self.data_mid = Some(mid),
                crate::sdp::MediaKind::Other => {}
            }
            if !m.send_rids.is_empty() {
                self.rids.insert(mid, m.send_rids.clone());
            }
        }
        self.add_local_candidates(candidates)?;
        let parsed =
            str0m::change::SdpOffer::from_sdp_string(&offer).map_err(|e| format!("invalid offer: {e}"))?;
        // str0m forgets an offer of ours that waited (the client's offer crossed it).
        self.pending_offer = None;
        let answer = self.rtc.sdp_api().accept_offer(parsed).map_err(|e| format!("cannot answer: {e}"))?;
        self.negotiated = true;
        self.refresh_codecs();
        for c in std::mem::take(&mut self.early_candidates) {
            remote.extend(self.add_remote_candidate(&c));
        }
        let answer = super::policy::drop_extensions(&answer.to_sdp_string(), self.extensions);
        let mut answer = self.add_missing_send_streams(answer);
        if super::policy::wants_stereo(policy) {
            answer = super::policy::stereo_opus(&answer, None);
        }
        self.set_local_sdp(answer.clone());
        self.remote_sdp = Some(received);
        Ok((answer, remote))
    }

    /// str0m makes no send stream for a sending m-line whose answer receives simulcast (its
    /// simulcast config then has no send layers); we declare one and announce its SSRC. Without
    /// an RTX stream: with one (and its FID group) Chrome did not take our stream on such an
    /// m-line; retransmissions then use the main SSRC.
    fn add_missing_send_streams(&mut self, mut sdp: String) -> String {
        for (mid, _) in self.media.clone() {
            let sending = self.rtc.media(mid).is_some_and(|m| m.direction().is_sending());
            let mut api = self.rtc.direct_api();
            if !sending || api.stream_tx_by_mid(mid, None).is_some() {
                continue;
            }
            let ssrc = api.new_ssrc();
            api.declare_stream_tx(ssrc, None, mid, None);
            let marker = format!("a=mid:{mid}\r\n");
            if let Some(at) = sdp.find(&marker) {
                sdp.insert_str(at + marker.len(), &format!("a=ssrc:{ssrc} cname:portunus\r\n"));
            }
        }
        sdp
    }

    /// Whether our host candidates were given (ICE has gathered, as Janus says).
    pub fn gathered(&self) -> bool {
        self.candidates_added
    }

    /// Our host candidates, once per peer.
    fn add_local_candidates(&mut self, candidates: &[SocketAddr]) -> Result<(), String> {
        if self.candidates_added {
            return Ok(());
        }
        if let Some(news) = &mut self.news {
            news.ice("gathering");
        }
        for addr in candidates {
            let c = Candidate::host(*addr, "udp").map_err(|e| format!("bad local candidate {addr}: {e}"))?;
            let added = self.rtc.add_local_candidate(c);
            if let (Some(news), Some(c)) = (&mut self.news, added) {
                news.local_candidate(&c.to_sdp_string());
            }
        }
        self.candidates_added = true;
        // A state ICE reached before (str0m checks from its start) is told after gathering.
        if let (Some(news), Some(state)) = (&mut self.news, self.ice_state) {
            if state != str0m::IceConnectionState::New {
                news.ice(super::news::ice_name(state));
            }
        }
        Ok(())
    }

    /// Offers the client new streams that we send (and data channels), with our host
    /// candidates in the SDP, after making the streams `stop` inactive; a new stream takes an
    /// inactive one of its kind when there is one (recycling its m-line); with nothing to add
    /// or stop, an ICE restart. Returns the offer and the mid of each item.
    ///
    /// A restart (nothing asked) while our last offer waits for its answer offers that again,
    /// with an ICE restart once ICE has run, as Janus does (a TextRoom `restart` before `ack`),
    /// up to [`MAX_REPLAYS`] times; unless it added audio or video streams, whose mids a new
    /// offer would change (those the plugin routes to; a data channel's may change).
    pub fn offer(
        &mut self,
        stop: &[String],
        directions: &crate::vocab::Directions,
        kinds: &[super::OfferedKind],
        candidates: &[SocketAddr],
    ) -> Result<(String, Vec<String>), String> {
        let restart = stop.is_empty() && directions.is_empty() && kinds.is_empty();
        let again = self.pending_offer.as_ref().is_some_and(|p| {
            restart && p.added.is_empty() && p.replays < MAX_REPLAYS && self.remote_offer.is_none()
        });
        if let Some(p) = again.then(|| self.pending_offer.take()).flatten() {
            (self.media, self.inactive) = (p.media_before, p.inactive_before);
            let (sdp, _) = self.make_offer(&p.stop, &p.directions, &p.kinds, candidates, self.negotiated)?;
            if let Some(replayed) = &mut self.pending_offer {
                replayed.replays = p.replays + 1;
            }
            return Ok((sdp, Vec::new()));
        }
        if self.pending_offer.is_some() || self.remote_offer.is_some() {
            return Err("a negotiation is already in progress on this handle".into());
        }
        self.make_offer(stop, directions, kinds, candidates, false)
    }

    /// [`Peer::offer`]'s new offer, restarting ICE if `ice_restart` or if it has nothing
    /// else to do once negotiated (Janus's `restart`).
    fn make_offer(
        &mut self,
        stop: &[String],
        directions: &crate::vocab::Directions,
        kinds: &[super::OfferedKind],
        candidates: &[SocketAddr],
        ice_restart: bool,
    ) -> Result<(String, Vec<String>), String> {
        for mid in stop.iter().chain(directions.iter().map(|(mid, _)| mid)) {
            if !self.media.iter().any(|(m, _)| **m == *mid.as_str()) {
                return Err(format!("no active stream {mid:?}"));
            }
        }
        self.add_local_candidates(candidates)?;
        let before = (self.media.clone(), self.inactive.clone());
        // The codecs each inactive m-line was negotiated with: a new stream takes one only if
        // it can carry the new stream's codec (a line narrowed to VP8 cannot carry H.264).
        let mut carries: Vec<Vec<String>> = self
            .inactive
            .iter()
            .map(|(mid, _)| {
                let pts = self.rtc.media(*mid).map(|m| m.remote_pts().to_vec()).unwrap_or_default();
                self.rtc
                    .codec_config()
                    .params()
                    .iter()
                    .filter(|p| pts.contains(&p.pt()))
                    .map(|p| p.spec().codec.to_string().to_ascii_lowercase())
                    .collect()
            })
            .collect();
        // The streams whose direction changes.
        let redirected: Vec<(Mid, Direction)> = directions
            .iter()
            .map(|(mid, direction)| {
                let direction = match direction {
                    crate::sdp::Direction::SendRecv => Direction::SendRecv,
                    crate::sdp::Direction::SendOnly => Direction::SendOnly,
                    crate::sdp::Direction::RecvOnly => Direction::RecvOnly,
                    crate::sdp::Direction::Inactive => Direction::Inactive,
                };
                (Mid::from(mid.as_str()), direction)
            })
            .filter(|(mid, direction)| self.rtc.media(*mid).is_some_and(|m| m.direction() != *direction))
            .collect();
        let mut api = self.rtc.sdp_api();
        if ice_restart || (kinds.is_empty() && stop.is_empty() && redirected.is_empty() && self.negotiated) {
            api.ice_restart(true);
        }
        for (mid, direction) in redirected {
            api.set_direction(mid, direction);
        }
        for mid in stop {
            if let Some(i) = self.media.iter().position(|(m, _)| **m == *mid.as_str()) {
                let (mid, video) = self.media.remove(i);
                api.set_direction(mid, Direction::Inactive);
                self.inactive.push((mid, video));
            }
        }
        let mut mids = Vec::new();
        let mut added = Vec::new();
        let mut codecs = Vec::new();
        for super::OfferedKind { kind, codec, two_way } in kinds {
            let direction = if *two_way { Direction::SendRecv } else { Direction::SendOnly };
            let (media, video) = match kind {
                vocab::MediaKind::Audio => (MediaKind::Audio, false),
                vocab::MediaKind::Video => (MediaKind::Video, true),
                vocab::MediaKind::Data => {
                    api.add_channel(DATA_CHANNEL.into());
                    mids.push(None);
                    continue;
                }
            };
            // An m-line stopped in an earlier negotiation (not this one) is reused.
            let wanted = codec.as_ref().map(|(c, _)| c.to_ascii_lowercase());
            let reuse = self.inactive.iter().zip(&carries).position(|((m, v), can)| {
                *v == video
                    && !stop.iter().any(|s| **s == **m)
                    && wanted.as_ref().is_none_or(|c| can.contains(c))
            });
            let mid = match reuse {
                Some(i) => {
                    carries.remove(i);
                    let (mid, _) = self.inactive.remove(i);
                    api.set_direction(mid, direction);
                    mid
                }
                None => api.add_media(media, direction, None, None, None),
            };
            mids.push(Some(mid));
            added.push((mid, video));
            if let Some((codec, fmtp)) = codec {
                codecs.push((mid.to_string(), codec.clone(), fmtp.clone()));
            }
        }
        let (offer, pending) = api.apply().ok_or("nothing to offer")?;
        // Each stream only in the codec its source sends: nothing else could reach the client.
        let offer = super::policy::drop_extensions(&offer.to_sdp_string(), self.extensions);
        let mut offer = super::policy::narrow_offer(&offer, &codecs);
        let stereo: Vec<String> = codecs
            .iter()
            .filter(|(_, _, fmtp)| fmtp.as_deref() == Some(super::policy::STEREO))
            .map(|(mid, ..)| mid.clone())
            .collect();
        if !stereo.is_empty() {
            offer = super::policy::stereo_opus(&offer, Some(&stereo));
        }
        let data_mid = crate::sdp::check(&offer)
            .ok()
            .and_then(|s| s.media.into_iter().find(|m| m.kind == crate::sdp::MediaKind::Data))
            .and_then(|m| m.mid);
        let (media_before, inactive_before) = before;
        self.pending_offer = Some(PendingOffer {
            offer: pending,
            added,
            stop: stop.to_vec(),
            directions: directions.clone(),
            kinds: kinds.to_vec(),
            media_before,
            inactive_before,
            replays: 0,
        });
        self.set_local_sdp(offer.clone());
        self.controlling.get_or_insert(true);
        let mids = mids
            .into_iter()
            .map(|m| m.map(|m| m.to_string()).or_else(|| data_mid.clone()).unwrap_or_default())
            .collect();
        Ok((offer, mids))
    }

    /// Applies the client's answer to our pending offer; returns the addresses of the
    /// candidates it carried.
    pub fn accept_answer(&mut self, sdp: &str) -> Result<Vec<SocketAddr>, DescriptionError> {
        let PendingOffer { offer: pending, added, .. } =
            self.pending_offer.take().ok_or(DescriptionError::UnexpectedAnswer)?;
        let summary = crate::sdp::check(sdp).map_err(|e| DescriptionError::Invalid(e.0))?;
        // Only what we offered: a client that answers more does not get it.
        let answer =
            str0m::change::SdpAnswer::from_sdp_string(&super::policy::drop_extensions(sdp, self.extensions))
                .map_err(|e| DescriptionError::Invalid(format!("invalid answer: {e}")))?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| DescriptionError::Invalid(format!("cannot apply the answer: {e}")))?;
        self.negotiated = true;
        self.refresh_codecs();
        let accepted =
            |mid: &Mid| summary.media.iter().any(|m| m.mid.as_deref() == Some(&**mid) && m.port != 0);
        self.media.extend(added.into_iter().filter(|(mid, _)| accepted(mid)));
        if let Some(m) = summary.media.iter().find(|m| m.kind == crate::sdp::MediaKind::Data && m.port != 0) {
            self.data_mid = m.mid.as_deref().map(Mid::from);
        }
        self.remote_answered = true;
        self.remote_sdp = Some(sdp.to_owned());
        let mut addrs = Vec::new();
        for line in sdp.lines().filter_map(|l| l.trim_end().strip_prefix("a=")) {
            if let Some(c) =
                line.starts_with("candidate:").then(|| Candidate::from_sdp_string(line).ok()).flatten()
            {
                addrs.push(c.addr());
                self.note_remote_candidate(line.to_owned());
            }
        }
        Ok(addrs)
    }

    /// How long sent video is kept for retransmissions, as Janus's NACK queue: the round trip
    /// and 100 ms, between `min` (`min_nack_queue`) and 1 s; nothing when `min` is zero.
    pub fn nack_queue(&self, min: Duration) -> Duration {
        if min.is_zero() {
            return min;
        }
        let wanted = self.rtt.map_or(min, |rtt| rtt + NACK_QUEUE_MARGIN);
        wanted.min(MAX_NACK_QUEUE).max(min)
    }

    /// Bounds what each video send stream keeps for retransmissions by age
    /// ([`Peer::nack_queue`]; str0m keeps its 200 packets 3 s), after each negotiation and
    /// each new round trip. The memory then follows the bitrate: 200 ms of 1.5 Mbit/s video is
    /// 30 packets, some 16 KB a subscriber's stream against 94 KB for 200.
    pub fn bound_retransmissions(&mut self, min: Duration) {
        let age = self.nack_queue(min);
        // str0m makes a stream's cache anew (empty) for a new bound: only on a real change.
        if self.rtx_age.abs_diff(age) >= NACK_QUEUE_STEP {
            self.rtx_age = age;
            self.rtx_bounded.clear();
        }
        let mut api = self.rtc.direct_api();
        for (mid, _) in self.media.iter().filter(|(_, video)| *video) {
            let Some(tx) = api.stream_tx_by_mid(*mid, None) else { continue };
            if !self.rtx_bounded.contains(&tx.ssrc()) {
                self.rtx_bounded.push(tx.ssrc());
                // 0.15: str0m's default cap on the share of retransmissions.
                tx.set_rtx_cache(RETRANSMIT_PACKETS, self.rtx_age, Some(0.15));
            }
        }
    }

    /// The negotiated streams, as plugins see them.
    pub fn streams(&self) -> Vec<StreamInfo> {
        let mut out: Vec<StreamInfo> = self
            .media
            .iter()
            .map(|(mid, video)| {
                let direction = self.rtc.media(*mid).map_or(Direction::Inactive, |m| m.direction());
                let codec =
                    self.stream_codec(*mid).map(|c| c.codec.to_string().to_lowercase()).unwrap_or_default();
                StreamInfo {
                    mid: mid.to_string(),
                    kind: vocab::MediaKind::video(*video),
                    codec,
                    client_sends: matches!(direction, Direction::RecvOnly | Direction::SendRecv),
                    client_receives: matches!(direction, Direction::SendOnly | Direction::SendRecv),
                    rids: self.rids.get(mid).cloned().unwrap_or_default(),
                    fmtp: None,
                }
            })
            .collect();
        if let Some(mid) = self.data_mid {
            out.push(StreamInfo {
                mid: mid.to_string(),
                kind: vocab::MediaKind::Data,
                codec: String::new(),
                client_sends: true,
                client_receives: true,
                rids: Vec::new(),
                fmtp: None,
            });
        }
        out
    }

    /// Adds a trickled candidate (`candidate:…`), or keeps it until negotiation.
    pub fn add_remote_candidate(&mut self, candidate: &str) -> Option<SocketAddr> {
        if !self.negotiated {
            if self.early_candidates.len() < MAX_HELD {
                self.early_candidates.push(candidate.to_owned());
            }
            return None;
        }
        let text = candidate.strip_prefix("a=").unwrap_or(candidate);
        match Candidate::from_sdp_string(text) {
            Ok(c) => {
                let addr = c.addr();
                self.note_remote_candidate(text.to_owned());
                if self.held_until.is_some() {
                    self.hold(c);
                } else {
                    self.rtc.add_remote_candidate(c);
                }
                Some(addr)
            }
            Err(e) => {
                tracing::debug!(handle = self.handle.handle_id, "ignored remote candidate {text:?}: {e}");
                None
            }
        }
    }

    /// Keeps the SDP we give the client, and where each of its streams is in it.
    fn set_local_sdp(&mut self, sdp: String) {
        self.mindexes.clear();
        self.data_line = None;
        let mut index = None;
        let mut application = false;
        for line in sdp.lines() {
            if line.starts_with("m=") {
                index = Some(index.map_or(0, |i| i + 1));
                application = line.starts_with("m=application ");
            } else if let (Some(mid), Some(i)) = (line.trim_end().strip_prefix("a=mid:"), index) {
                self.mindexes.push((Mid::from(mid), i));
                if application {
                    self.data_line = Some((Mid::from(mid), i));
                }
            }
        }
        self.local_sdp = Some(sdp);
    }

    /// A stream's m-line index in the last SDP we gave the client.
    pub fn mindex(&self, mid: Mid) -> Option<usize> {
        self.mindexes.iter().find(|(m, _)| *m == mid).map(|(_, i)| *i)
    }

    /// The data channels' m-line (its mid and index), for the event handlers' statistics.
    pub fn data_line(&self) -> Option<(Mid, usize)> {
        self.data_line
    }

    /// What the statistics of the event handlers say of each audio and video stream.
    pub fn stream_descs(&self) -> Vec<super::news::StreamDesc> {
        self.media
            .iter()
            .map(|(mid, video)| super::news::StreamDesc {
                mid: *mid,
                mindex: self.mindex(*mid).unwrap_or_default(),
                video: *video,
                codec: self.stream_codec(*mid).map(|c| (c.codec.to_string().to_lowercase(), c.clock)),
                rids: self.rids.get(mid).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// Keeps a client candidate's text for admin `handle_info` (at most [`MAX_HELD`]).
    fn note_remote_candidate(&mut self, text: String) {
        if let Some(news) = &mut self.news {
            news.remote_candidate(&text);
        }
        if self.remote_candidates.len() < MAX_HELD {
            self.remote_candidates.push(text);
        }
    }

    fn hold(&mut self, c: Candidate) {
        if self.held.len() < MAX_HELD {
            self.held.push(c);
        }
    }

    /// Hands the held candidates to ICE.
    fn release_candidates(&mut self) {
        self.held_until = None;
        for c in self.held.drain(..) {
            self.rtc.add_remote_candidate(c);
        }
    }

    /// Feeds a datagram; false if it is not WebRTC traffic.
    pub fn receive(&mut self, now: Instant, source: SocketAddr, local: SocketAddr, buf: &[u8]) -> bool {
        #[cfg(test)]
        assert!(!self.panic_on_input, "test: the peer's stack panics");
        let Ok(recv) = Receive::new(str0m::net::Protocol::Udp, source, local, buf) else {
            return false;
        };
        let stun = buf.first().is_some_and(|b| *b < 2);
        let first_check = self.held_until.is_some() && is_binding_request(buf);
        let input = Input::Receive(now, recv);
        // DTLS, RTP and RTCP only from an address ICE has validated (the nominated one or a
        // pair that succeeded); STUN carries its own proof (message integrity).
        if !stun && !self.rtc.accepts(&input) {
            tracing::trace!(handle = self.handle.handle_id, "dropped a datagram from unvalidated {source}");
            return true;
        }
        // (The statistics count what came from a validated address, as Janus's what ICE passed on.)
        if let (Some(news), true) = (&mut self.news, is_dtls(buf)) {
            news.dtls_in(now, buf.len());
        }
        if let Err(e) = self.rtc.handle_input(input) {
            tracing::debug!(handle = self.handle.handle_id, "datagram refused: {e}");
        }
        if first_check {
            self.release_candidates();
        }
        true
    }

    /// Time has come: runs the `Rtc`'s timers (and releases held candidates when their wait is over).
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), str0m::RtcError> {
        self.wrote_media = false;
        if self.held_until.is_some_and(|t| t <= now) {
            self.release_candidates();
        }
        self.rtc.handle_input(Input::Timeout(now))
    }

    /// Whether a datagram from an unknown address belongs to this peer (checks the STUN
    /// message integrity).
    pub fn accepts(&self, now: Instant, source: SocketAddr, local: SocketAddr, buf: &[u8]) -> bool {
        match Receive::new(str0m::net::Protocol::Udp, source, local, buf) {
            Ok(recv) => self.rtc.accepts(&Input::Receive(now, recv)),
            Err(_) => false,
        }
    }

    /// Drains the peer's output: datagrams go to `send`, events to `events`.
    pub fn drain(
        &mut self,
        send: &mut dyn FnMut(SocketAddr, &[u8]),
        events: &mut Vec<Event>,
    ) -> Result<(), String> {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.timeout = self.held_until.map_or(t, |h| h.min(t));
                    self.dtls_retries.drained();
                    return Ok(());
                }
                Ok(Output::Transmit(t)) => {
                    if !self.connected && is_dtls(&t.contents) {
                        self.dtls_retries.sent(&t.contents);
                    }
                    send(t.destination, &t.contents);
                }
                Ok(Output::Event(e)) => events.push(e),
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The incoming stream of an SSRC, learnt on its first packet.
    pub fn rx_stream(&mut self, ssrc: Ssrc) -> Option<RxStream> {
        if let Some(s) = self.rx.get(&ssrc) {
            return Some(*s);
        }
        let (mid, rid) = {
            let mut api = self.rtc.direct_api();
            let rx = api.stream_rx(&ssrc)?;
            (rx.mid(), rx.rid())
        };
        let video = self.rtc.media(mid).is_some_and(|m| m.kind() == MediaKind::Video);
        // Rids are listed highest quality first: the last one is substream 0.
        let rids = self.rids.get(&mid).map_or(&[][..], Vec::as_slice);
        let layers = u8::try_from(rids.len()).unwrap_or(u8::MAX);
        let layer = rid.and_then(|rid| rids.iter().position(|r| **r == *rid)).map(|i| layers - 1 - i as u8);
        let s = RxStream { mid, video, layer, layers };
        self.rx.insert(ssrc, s);
        Some(s)
    }

    /// Asks the client for a keyframe on every video stream (each simulcast one too), at most
    /// once per [`PLI_INTERVAL`] per stream.
    pub fn request_keyframe(&mut self, now: Instant) {
        self.request_keyframe_of(now, None);
    }

    /// As [`Peer::request_keyframe`], of one stream only (`Some(mid)`) or of all.
    /// A request that comes too soon is not dropped: it waits for the interval to pass (see
    /// [`Peer::pending_keyframes`]), so a simulcast switch never waits for a keyframe nobody asked.
    pub fn request_keyframe_of(&mut self, now: Instant, only: Option<Mid>) {
        let recent = |t: &Instant| now.duration_since(*t) < PLI_INTERVAL;
        let mut due: Vec<Mid> = Vec::new();
        for s in self.rx.values().filter(|s| s.video && only.is_none_or(|m| m == s.mid)) {
            if due.contains(&s.mid) {
                continue;
            }
            if self.last_pli.get(&s.mid).is_some_and(recent) {
                if !self.pli_pending.contains(&s.mid) {
                    self.pli_pending.push(s.mid);
                }
            } else {
                due.push(s.mid);
            }
        }
        self.pli_pending.retain(|m| !due.contains(m));
        for mid in &due {
            self.last_pli.insert(*mid, now);
        }
        if !due.is_empty() {
            self.each_video_rx(None, |rx| {
                if due.contains(&rx.mid()) {
                    rx.request_keyframe(KeyframeRequestKind::Pli);
                }
            });
        }
    }

    /// Sends the keyframe requests that were held back by the rate limit, once it allows them;
    /// true if any went out.
    pub fn pending_keyframes(&mut self, now: Instant) -> bool {
        if self.pli_pending.is_empty() {
            return false;
        }
        let before = self.pli_pending.len();
        for mid in std::mem::take(&mut self.pli_pending) {
            self.request_keyframe_of(now, Some(mid));
        }
        self.pli_pending.len() < before
    }

    /// Sends the REMB cap on every video stream (str0m sends one REMB per request).
    pub fn send_remb(&mut self) {
        if self.bitrate_cap == 0 {
            return;
        }
        let cap = str0m::bwe::Bitrate::bps(u64::from(self.bitrate_cap));
        self.each_video_rx(None, |rx| rx.request_remb(cap));
    }

    /// Sets the REMB cap (0: none). Removing a cap sends one REMB of [`NO_CAP_BPS`], as Janus
    /// does, since the client keeps obeying the last REMB it got.
    pub fn set_bitrate_cap(&mut self, bps: u32) {
        self.bitrate_cap = bps;
        if bps == 0 {
            let lifted = str0m::bwe::Bitrate::bps(NO_CAP_BPS);
            self.each_video_rx(None, |rx| rx.request_remb(lifted));
        } else {
            self.send_remb();
        }
    }

    /// Runs `f` on each incoming video stream (of one mid, or of all).
    fn each_video_rx(&mut self, only: Option<Mid>, mut f: impl FnMut(&mut str0m::rtp::StreamRx)) {
        let ssrcs: Vec<Ssrc> = self
            .rx
            .iter()
            .filter(|(_, s)| s.video && only.is_none_or(|m| m == s.mid))
            .map(|(ssrc, _)| *ssrc)
            .collect();
        let mut api = self.rtc.direct_api();
        for ssrc in ssrcs {
            if let Some(rx) = api.stream_rx(&ssrc) {
                f(rx);
            }
        }
    }

    /// The codec of one of this peer's payload types.
    pub fn codec_of(&self, pt: str0m::media::Pt) -> Option<RxCodec> {
        self.codecs.iter().find(|(p, _)| *p == pt).map(|(_, c)| *c)
    }

    /// The codec a stream negotiated (its first payload type's).
    fn stream_codec(&self, mid: Mid) -> Option<RxCodec> {
        self.rtc.media(mid).and_then(|m| m.remote_pts().first().copied()).and_then(|pt| self.codec_of(pt))
    }

    /// Reads the payload types a negotiation settled on.
    fn refresh_codecs(&mut self) {
        self.codecs.clear();
        for p in self.rtc.codec_config().params() {
            let spec = p.spec();
            self.codecs.push((p.pt(), RxCodec { codec: spec.codec, clock: spec.clock_rate.get() }));
        }
    }

    /// This peer's payload type for a codec on one of its streams (what it negotiated there).
    /// Telephone events match by clock too: they go with the audio they belong to.
    pub fn pt_for(&self, codec: RxCodec, mid: Mid) -> Option<str0m::media::Pt> {
        let media = self.rtc.media(mid)?;
        let pts = media.remote_pts();
        self.rtc
            .codec_config()
            .params()
            .iter()
            .find(|p| {
                let spec = p.spec();
                spec.codec == codec.codec
                    && pts.contains(&p.pt())
                    && (codec.codec != Codec::Tele || spec.clock_rate.get() == codec.clock)
            })
            .map(|p| p.pt())
    }

    /// The stream to send media of a kind on: `prefer` when it has that kind, else the first
    /// negotiated one (a receive-only client has no incoming streams to look at).
    pub fn send_mid(&self, video: bool, prefer: Mid) -> Option<Mid> {
        if self.media.iter().any(|(m, v)| *m == prefer && *v == video) {
            return Some(prefer);
        }
        self.media.iter().find(|(_, v)| *v == video).map(|(m, _)| *m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::media::Pt;

    #[test]
    fn payload_types_give_codec_and_clock_after_negotiation() {
        let offer = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
            m=audio 9 UDP/TLS/RTP/SAVPF 0\r\nc=IN IP4 0.0.0.0\r\na=ice-ufrag:abcd\r\n\
            a=ice-pwd:abcdefghijklmnopqrstuvwx\r\na=fingerprint:sha-256 \
            00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF\r\n\
            a=setup:actpass\r\na=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:0 PCMU/8000\r\n\
            m=video 9 UDP/TLS/RTP/SAVPF 96\r\nc=IN IP4 0.0.0.0\r\na=mid:1\r\na=sendrecv\r\na=rtcp-mux\r\n\
            a=rtpmap:96 VP8/90000\r\n";
        let now = Instant::now();
        let template = crate::media::rtc_template(false, None).expect("certificate");
        let mut peer = Peer::new(HandleRef { session_id: 1, handle_id: 1 }, &template, now);
        assert_eq!(peer.codec_of(Pt::new_with_value(0)), None, "nothing negotiated yet");
        peer.remote_offer = Some(offer.into());
        peer.answer(now, &AnswerPolicy::everything(), &["127.0.0.1:40000".parse().expect("address")])
            .expect("answer");
        let pcmu = peer.codec_of(Pt::new_with_value(0)).expect("PCMU negotiated");
        assert_eq!((pcmu.codec, pcmu.clock), (str0m::format::Codec::PCMU, 8000));
        let vp8 = peer.codec_of(Pt::new_with_value(96)).expect("VP8 negotiated");
        assert_eq!((vp8.codec, vp8.clock), (str0m::format::Codec::Vp8, 90_000));
    }

    #[test]
    fn binding_requests_are_recognised() {
        let mut req = [0u8; 20];
        req[1] = 1;
        req[4..8].copy_from_slice(&[0x21, 0x12, 0xa4, 0x42]);
        assert!(is_binding_request(&req));
        let mut success = req;
        success[0] = 1;
        assert!(!is_binding_request(&success), "a success response is not a request");
        assert!(!is_binding_request(&req[..19]), "truncated");
        let mut no_cookie = req;
        no_cookie[4] = 0;
        assert!(!is_binding_request(&no_cookie));
    }
}

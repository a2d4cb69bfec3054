//! The sans-I/O heart of a media thread: the peers, their demux and the router. Datagrams,
//! commands and the time come in as calls; datagrams go out through a [`Transmitter`]; nothing
//! here reads a clock or touches a socket (the thread loop in `worker.rs` does, and so does the
//! in-process benchmark with a simulated clock).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use foldhash::{HashMap, HashMapExt};
use str0m::bwe::BweKind;
use str0m::media::{Mid, Pt};
use str0m::rtp::{ExtensionValues, RtpPacket, RtpWrite, VideoOrientation};
use str0m::{Event, IceConnectionState, RtcConfig};
use tokio::sync::mpsc::UnboundedSender;

use super::capture::{Capture, RtpFields};
use super::contain::contain;
use super::demux::{is_dtls, stun_local_ufrag};
use super::inputs::{Input, Kept};
use super::layers::{frame_info, FrameInfo, Verdict};
use super::legs::{self, Admit, Leg};
use super::peer::{Counters, Peer, Receiving, RxCodec};
use super::ready::{Ready, Watched};
use super::router::{takes, Dest, Rewrite, Router, OWN};
use super::timers::Timers;
use super::udp::{RecvBatch, SocketBatch, BATCH};
use super::{Command, Streams, Tunables};
use crate::mixer::{MixFrame, MixIn, Pool};
use crate::vocab::{
    DescriptionError, Endpoint, ForwardRule, HandleRef, LayerChange, MediaEvent, MediaKind, MixCodec, Notice,
    RtpTarget, Sink, FEEDBACK_BIT, INPUT_BIT,
};

/// How often a leg sends its RTCP report (RFC 3550's recommended minimum).
const LEG_RTCP_INTERVAL: Duration = Duration::from_secs(5);

/// Packets read from one leg or input socket per wake-up before the others get their turn
/// (a multiple of [`BATCH`]).
const PACKETS_PER_WAKE: usize = 2 * BATCH;

/// Rounds of a peer's timers run at once when they are already due as it is drained.
const DUE_AT_ONCE: usize = 2;

/// Housekeeping period: media timers, REMB refresh.
pub const TICK: Duration = Duration::from_millis(250);
/// How long ICE may stay disconnected before the PeerConnection is given up (`ice-failed`, then
/// hangup "ICE failed"): a network blip, or a candidate trickled late, can still save it. Janus
/// waits 5 s as well.
pub const ICE_FAILED_GRACE: Duration = Duration::from_secs(5);

/// How often a bitrate cap is repeated.
const REMB_PERIOD: Duration = Duration::from_secs(1);

/// Where a core's datagrams go.
pub trait Transmitter {
    /// Sends (or queues for a batched send) one datagram.
    fn transmit(&mut self, to: SocketAddr, data: &[u8]);
}

/// The peer a command is about, if any (a panic while applying it ends that peer).
fn command_peer(c: &Command) -> Option<u64> {
    match c {
        Command::RemoteOffer(h, _)
        | Command::RemoteAnswer(h, ..)
        | Command::Offer(h, ..)
        | Command::WatchTalking(h, ..)
        | Command::RtpExtensions(h, _)
        | Command::Answer(h, ..)
        | Command::Trickle(h, _)
        | Command::Hangup(h, _)
        | Command::Gone(h)
        | Command::Bitrate(h, _)
        | Command::Keyframe(h, _)
        | Command::Describe(h, _)
        | Command::Relay(h, ..)
        | Command::Data(h, ..)
        | Command::Capture(h, _) => Some(h.handle_id),
        Command::Deliver(_)
        | Command::LegOpen(_)
        | Command::LegConnect(..)
        | Command::LegClose(_)
        | Command::LegDtmf(..)
        | Command::InputOpen(_)
        | Command::InputClose(_)
        | Command::InputDescribed(..)
        | Command::ReplayKeyframe(_)
        | Command::InputRemb(..)
        | Command::MixOut(_) => None,
        Command::KeyframeOf(id) => Some(*id),
        Command::Forward(..) | Command::Unforward(_) | Command::Layers(..) | Command::EndRecordings(_) => {
            None
        }
    }
}

/// Which of an input's video streams a keyframe request is for.
#[derive(Clone, Copy)]
enum Asked {
    /// Those whose earlier request waits for the interval.
    Waiting,
    /// Those a rule takes from the input (by its source stream filter).
    Rule(Option<Mid>),
}

/// One RTP packet as the router moves it (its payload is shared by all destinations, not
/// copied).
#[derive(Debug, Clone)]
pub struct Packet {
    video: bool,
    /// The source's stream (a leg's is [`LEG_MID`]).
    mid: Mid,
    codec: Option<RxCodec>,
    /// The source's payload type.
    pt: Pt,
    ssrc: u32,
    /// Extended sequence number.
    seq: u64,
    time: u32,
    wallclock: Instant,
    marker: bool,
    /// Header extensions that describe the media itself and go on to the destination (str0m
    /// writes them with the destination's own extension ids).
    audio_level: Option<i8>,
    voice_activity: Option<bool>,
    video_orientation: Option<VideoOrientation>,
    payload: Arc<[u8]>,
}

impl Packet {
    /// The source's clock: re-basing moves timestamps on by elapsed time in its units.
    fn clock(&self) -> u32 {
        self.codec.map_or(if self.video { 90_000 } else { 48_000 }, |c| c.clock)
    }

    /// Its sequence number and timestamp on a destination stream that `rewrite` numbers (set
    /// by the first packet), coming by rule `rule`.
    fn renumbered(&self, rule: u64, rewrite: &mut Option<Rewrite>) -> (u64, u32) {
        let source = (rule, self.ssrc);
        let r = rewrite.get_or_insert_with(|| Rewrite::start(source, self.seq, self.time, self.wallclock));
        r.map(source, self.seq, self.time, self.wallclock, self.clock())
    }
}

/// A packet from a source (a peer's stream, a leg, an input), as the router takes it.
struct Incoming {
    packet: Packet,
    /// Simulcast: which substream, of how many.
    layer: Option<u8>,
    layers: u8,
}

/// Counts a datagram a leg or an input refused (a source it does not accept, SRTP or RTP that
/// does not check out) and says so in the log the 1st, 2nd, 4th… time, so a misconfigured or
/// hostile sender shows without a line per packet.
fn refuse(counter: &mut u64, what: &str, id: u64, from: SocketAddr) {
    if crate::logging::time_to_report(counter) {
        tracing::warn!("{what} {id}: datagram from {from} refused ({counter} so far)");
    }
}

/// An RTP header with no CSRCs and no extensions.
pub(super) fn rtp_header(pt: u8, marker: bool, seq: u16, time: u32, ssrc: u32) -> [u8; 12] {
    let mut h = [0u8; 12];
    h[0] = 0x80;
    h[1] = pt & 0x7f | u8::from(marker) << 7;
    h[2..4].copy_from_slice(&seq.to_be_bytes());
    h[4..8].copy_from_slice(&time.to_be_bytes());
    h[8..12].copy_from_slice(&ssrc.to_be_bytes());
    h
}

/// Writes an RTP packet (no CSRCs, no extensions) into `buf`.
fn write_rtp(buf: &mut Vec<u8>, pt: u8, marker: bool, seq: u64, time: u32, ssrc: u32, payload: &[u8]) {
    buf.clear();
    buf.extend_from_slice(&rtp_header(pt, marker, seq as u16, time, ssrc));
    buf.extend_from_slice(payload);
}

/// The stream name a leg's packets carry (a leg has one stream).
pub const LEG_MID: &str = "leg";
/// The stream name a mixer port's packets carry.
pub const MIX_MID: &str = "mix";

/// A packet on its way to one destination of a rule, possibly handed to the media thread that
/// owns the destination.
#[derive(Debug, Clone)]
pub struct Delivery {
    rule: u64,
    dst: u64,
    packet: Packet,
}

/// What a media thread's core is made of.
pub struct CoreSetup {
    /// This thread's index among the media threads.
    pub index: usize,
    /// Every media thread's command queue, by index (may be empty with a single thread).
    pub siblings: Vec<UnboundedSender<Command>>,
    /// The address the thread's socket is bound to.
    pub local: SocketAddr,
    /// The candidate addresses it advertises.
    pub advertised: Vec<SocketAddr>,
    /// Every peer's starting configuration.
    pub template: RtcConfig,
    /// Where notices go.
    pub notices: UnboundedSender<Notice>,
    /// `no_media_timer`, `slowlink_threshold` and `min_nack_queue`, which the admin API may
    /// change.
    pub tunables: Arc<Tunables>,
    /// Full trickle: our candidates go out as `trickle` events, not in the SDP.
    pub full_trickle: bool,
    /// Where negotiated streams are published.
    pub streams: Streams,
    /// The mixing threads (none: no mixer ports).
    pub mixer: Option<Pool>,
    /// PeerConnections up on every media thread.
    pub connected: Arc<AtomicUsize>,
}

/// The state of one media thread.
pub struct MediaCore<T: Transmitter> {
    /// This thread's index among the media threads.
    index: usize,
    /// Every media thread's command queue, by index (empty with a single thread).
    siblings: Vec<UnboundedSender<Command>>,
    /// Reused buffer: the (rule, destination, its thread, packets skipped, ends what passes of a
    /// picture) of one packet.
    fanout: Vec<(u64, u64, usize, u64, bool)>,
    /// Deliveries for destinations on other media threads, by thread: they cross over in one
    /// command per thread and round ([`MediaCore::send_deliveries`]), not one per packet.
    outbox: Vec<Vec<Delivery>>,
    /// The mixing threads, and the packets for mixer ports gathered for each (handed over
    /// like the outbox).
    mixer: Option<Pool>,
    mix_out: Vec<Vec<MixIn>>,
    /// Reused buffer: layer changes seen on one packet.
    changes: Vec<(u64, LayerChange)>,
    /// Reused buffer: the rules of one source.
    rule_ids: Vec<u64>,
    /// Reused buffer: one packet of an RTP output or a leg.
    rtp_out: Vec<u8>,
    /// The header extensions a plugin chose for a handle (`set-rtp-extensions`), kept until
    /// the handle goes: its PeerConnections, now or after a hangup, negotiate those.
    extensions: HashMap<u64, crate::vocab::RtpExtensions>,
    /// Packet captures of handles homed on this thread (admin `start_pcap`), by handle.
    captures: HashMap<u64, Capture>,
    /// Plain RTP legs homed on this thread.
    legs: HashMap<u64, Leg>,
    /// RTP inputs homed on this thread.
    inputs: HashMap<u64, Input>,
    /// The leg and input sockets with packets waiting.
    ready: Arc<Ready>,
    /// What legs send, batched per socket.
    leg_out: SocketBatch,
    /// Peer deadlines and exact ones (files, telephone events); an entry is stale when its
    /// owner's deadline moved.
    timers: Timers,
    out: T,
    /// Where str0m is told datagrams arrived: the socket's address when it is advertised,
    /// else the first advertised one (a 1:1 NAT's public address). str0m drops STUN sent to
    /// an address that is none of its host candidates.
    local: SocketAddr,
    now: Instant,
    advertised: Vec<SocketAddr>,
    template: RtcConfig,
    peers: HashMap<u64, Peer>,
    by_addr: HashMap<SocketAddr, u64>,
    by_ufrag: HashMap<String, u64>,
    router: Router,
    notices: UnboundedSender<Notice>,
    tunables: Arc<Tunables>,
    full_trickle: bool,
    streams: Streams,
    events: Vec<Event>,
    dirty: Vec<u64>,
    /// Reused id buffer, so neither a flush nor a timer wake-up allocates.
    scratch: Vec<u64>,
    /// The datagram a playing file's packet is built in (reused: nothing allocated per packet).
    file_buf: Vec<u8>,
    last_remb: Instant,
    /// PeerConnections up on every media thread.
    connected: Arc<AtomicUsize>,
}

impl<T: Transmitter> MediaCore<T> {
    /// A core for one media thread.
    pub fn new(setup: CoreSetup, out: T, now: Instant) -> Self {
        let CoreSetup {
            index,
            siblings,
            local,
            advertised,
            template,
            notices,
            tunables,
            full_trickle,
            streams,
            mixer,
            connected,
        } = setup;
        Self {
            index,
            fanout: Vec::new(),
            outbox: (0..siblings.len()).map(|_| Vec::new()).collect(),
            mix_out: (0..mixer.as_ref().map_or(0, Pool::threads)).map(|_| Vec::new()).collect(),
            mixer,
            siblings,
            changes: Vec::new(),
            rule_ids: Vec::new(),
            rtp_out: Vec::with_capacity(2048),
            extensions: HashMap::new(),
            captures: HashMap::new(),
            legs: HashMap::new(),
            inputs: HashMap::new(),
            ready: Arc::default(),
            leg_out: SocketBatch::default(),
            timers: Timers::default(),
            out,
            local: if advertised.contains(&local) {
                local
            } else {
                advertised.first().copied().unwrap_or(local)
            },
            now,
            advertised,
            template,
            peers: HashMap::new(),
            by_addr: HashMap::new(),
            by_ufrag: HashMap::new(),
            router: Router::default(),
            notices,
            tunables,
            full_trickle,
            streams,
            events: Vec::new(),
            dirty: Vec::new(),
            scratch: Vec::new(),
            file_buf: Vec::with_capacity(2048),
            last_remb: now,
            connected,
        }
    }

    /// Hands the deliveries gathered for other media threads over, one batch per thread; call
    /// after each round of the calls above (the worker does, with the batched UDP send).
    fn send_deliveries(&mut self) {
        for (home, out) in self.outbox.iter_mut().enumerate() {
            if out.is_empty() {
                continue;
            }
            let batch = std::mem::replace(out, Vec::with_capacity(out.len()));
            if let Some(thread) = self.siblings.get(home) {
                let _ = thread.send(Command::Deliver(batch));
            }
        }
        let Some(pool) = &self.mixer else { return };
        for (thread, out) in self.mix_out.iter_mut().enumerate() {
            if !out.is_empty() {
                pool.send_packets(thread, std::mem::replace(out, Vec::with_capacity(out.len())));
            }
        }
    }

    /// Test only: how many client addresses are routed to peers.
    #[cfg(test)]
    pub fn routed_addresses(&self) -> usize {
        self.by_addr.len()
    }

    /// Test only: a handle's peer.
    #[cfg(test)]
    pub fn peer_mut(&mut self, handle_id: u64) -> Option<&mut Peer> {
        self.peers.get_mut(&handle_id)
    }

    /// The transmitter (for a batched send after a round of calls).
    pub fn transmitter(&mut self) -> &mut T {
        &mut self.out
    }

    /// When the thread must wake for [`MediaCore::timeouts`] next, if any timer waits: a peer's
    /// timer may run [`super::timers::PEER_SLACK`] late.
    pub fn next_timeout(&mut self) -> Option<Instant> {
        let (peers, legs, inputs) = (&self.peers, &self.legs, &self.inputs);
        self.timers.wake_at(
            |at, id| peers.get(&id).is_some_and(|p| p.filed == Some(at)),
            |at, id| {
                legs.get(&id).is_some_and(|l| l.dtmf.due == Some(at)) || playing_at(inputs, id) == Some(at)
            },
        )
    }

    /// Files a peer's deadline in the timer heap when it has no entry or an earlier one is
    /// needed. One live entry per peer (`Peer::filed`); an entry whose peer's deadline moved
    /// later fires early once and is filed again then.
    fn schedule(&mut self, id: u64) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        if p.filed.is_none_or(|f| p.timeout < f) {
            p.filed = Some(p.timeout);
            self.timers.peer(p.timeout, id);
        }
    }

    /// One datagram from the network (its consequences are carried out before this returns).
    pub fn datagram(&mut self, now: Instant, source: SocketAddr, buf: &[u8]) {
        self.receive(now, source, buf);
        self.flush();
    }

    /// One datagram of a batch read from the socket: the peer it is for is drained at once
    /// (str0m must be drained after each input: a second packet fed first can replace the
    /// first one's pending event, seen as half the video never forwarded), the peers it
    /// forwards to when the batch is done ([`MediaCore::flush`]), so that what a burst (a
    /// video frame) brings each of them leaves in one segmented message.
    pub fn receive(&mut self, now: Instant, source: SocketAddr, buf: &[u8]) {
        self.now = now;
        let id = match self.by_addr.get(&source) {
            // A STUN request naming (with valid integrity) another peer than the one the address
            // was learnt for moves the address: a candidate cannot claim someone else's.
            Some(id) if buf.first().is_some_and(|b| *b < 2) => {
                let known = *id;
                self.first_contact(now, source, buf).or(Some(known))
            }
            Some(id) => Some(*id),
            None => self.first_contact(now, source, buf),
        };
        let Some(id) = id else { return };
        let local = self.local;
        if let Some(p) = self.peers.get_mut(&id) {
            let fed = contain(|| p.receive(now, source, local, buf));
            match fed {
                Ok(_) => self.drain_peer(id),
                Err(_) => self.peer_panicked(id),
            }
        }
    }

    /// A datagram from an address we do not know: a STUN request names its peer by our ufrag
    /// (checked with the message integrity before the address is learnt).
    fn first_contact(&mut self, now: Instant, source: SocketAddr, buf: &[u8]) -> Option<u64> {
        let ufrag = stun_local_ufrag(buf)?;
        let id = *self.by_ufrag.get(ufrag)?;
        let peer = self.peers.get(&id)?;
        if !peer.accepts(now, source, self.local, buf) {
            return None;
        }
        self.learn_addr(source, id, true);
        Some(id)
    }

    fn peer_panicked(&mut self, id: u64) {
        tracing::error!(handle = id, "a PeerConnection panicked; it is closed, the gateway goes on");
        if let Some(p) = self.peers.get(&id) {
            let h = p.handle;
            self.drop_peer(id);
            let _ = self.notices.send(Notice::new(
                h,
                MediaEvent::Hangup { reason: "DTLS-SRTP stack error".into(), requested: false },
            ));
        }
    }

    /// Runs every timer that is due (call on every wake-up, whatever woke the thread).
    pub fn timeouts(&mut self, now: Instant) {
        self.now = now;
        while let Some((at, id)) = self.timers.due_exact(now) {
            if self.legs.get(&id).is_some_and(|l| l.dtmf.due == Some(at)) {
                self.leg_dtmf(id, now);
            } else if playing_at(&self.inputs, id) == Some(at) {
                self.play(id, now);
            }
        }
        let mut due = std::mem::take(&mut self.scratch);
        due.clear();
        while let Some((at, id)) = self.timers.due_peer(now) {
            let Some(p) = self.peers.get_mut(&id) else { continue };
            if p.filed != Some(at) {
                continue; // superseded
            }
            p.filed = None;
            if p.timeout <= now {
                due.push(id);
            } else {
                self.schedule(id);
            }
        }
        due.sort_unstable();
        due.dedup();
        for &id in &due {
            if let Some(p) = self.peers.get_mut(&id) {
                let r = contain(|| p.handle_timeout(now));
                match r {
                    Ok(Ok(())) => self.dirty.push(id),
                    Ok(Err(e)) => {
                        tracing::debug!(handle = id, "timeout handling: {e}");
                        // Drained all the same: that files its next timer.
                        self.dirty.push(id);
                    }
                    Err(_) => self.peer_panicked(id),
                }
            }
        }
        self.scratch = due;
    }

    /// Periodic work (media timers, REMB refresh); call every [`TICK`].
    pub fn housekeeping(&mut self, now: Instant) {
        self.now = now;
        self.inputs_without_media(now);
        let waiting: Vec<u64> = self
            .inputs
            .iter()
            .filter(|(_, i)| i.streams.iter().any(|s| s.feedback.as_ref().is_some_and(|f| f.pending)))
            .map(|(id, _)| *id)
            .collect();
        for id in waiting {
            self.input_keyframe_requests(id, Asked::Waiting, now);
        }
        self.leg_reports(now);
        self.router.flush_recordings();
        self.captures.values_mut().for_each(Capture::flush);
        let timer = self.tunables.no_media_timer();
        // (None made when no handler takes media events.)
        let stats_period = match self.tunables.stats_wanted() {
            true => Duration::from_secs(self.tunables.stats_period_s()),
            false => Duration::ZERO,
        };
        let combine = self.tunables.combine_media_stats();
        for (id, p) in self.peers.iter_mut() {
            if p.pending_keyframes(now) {
                self.dirty.push(*id);
            }
            if p.news.as_ref().is_some_and(|n| n.stats_due(now, stats_period)) {
                let (streams, data) = (p.stream_descs(), p.data_line());
                if let Some(news) = &mut p.news {
                    news.stats(now, stats_period, combine, &streams, data, u64::from(p.bitrate_cap));
                }
                hand_on_news(&self.notices, p);
            }
            for (mid, r) in p.receiving.iter_mut() {
                if r.up && !timer.is_zero() && now.duration_since(r.last) >= timer {
                    r.up = false;
                    let _ = self.notices.send(Notice::new(
                        p.handle,
                        MediaEvent::Media {
                            mid: mid.to_string(),
                            kind: MediaKind::video(r.video),
                            receiving: false,
                        },
                    ));
                }
            }
        }
        let failed: Vec<u64> = self
            .peers
            .iter()
            .filter(|(_, p)| p.disconnected_at.is_some_and(|t| now.duration_since(t) >= ICE_FAILED_GRACE))
            .map(|(id, _)| *id)
            .collect();
        for id in failed {
            if let Some(p) = self.peers.get_mut(&id) {
                if let Some(news) = &mut p.news {
                    news.ice("failed");
                }
                if p.negotiated {
                    let _ = self.notices.send(Notice::new(p.handle, MediaEvent::IceFailed));
                }
                self.tell_handlers(id);
                self.hangup(id, "ICE failed", true);
            }
        }
        if now.duration_since(self.last_remb) >= REMB_PERIOD {
            self.last_remb = now;
            self.input_rembs();
            let capped: Vec<u64> =
                self.peers.iter().filter(|(_, p)| p.bitrate_cap > 0).map(|(id, _)| *id).collect();
            for id in capped {
                if let Some(p) = self.peers.get_mut(&id) {
                    p.send_remb();
                    self.dirty.push(id);
                }
            }
        }
    }

    /// Drains every peer that changed; handles their events (which may touch other peers).
    /// Call after every round of the calls above.
    pub fn flush(&mut self) {
        let mut rounds = 0;
        while !self.dirty.is_empty() && rounds < 8 {
            rounds += 1;
            // Swap the two buffers: draining may mark more peers dirty.
            let mut ids = std::mem::replace(&mut self.dirty, std::mem::take(&mut self.scratch));
            ids.sort_unstable();
            ids.dedup();
            for &id in &ids {
                self.drain_peer(id);
            }
            ids.clear();
            self.scratch = ids;
        }
    }

    /// Ends a round of the calls above: other media threads get their deliveries first (they
    /// fan out while this one does), then the changed peers are drained, what that routed
    /// elsewhere crosses over, and the legs send.
    pub fn finish_round(&mut self) {
        self.send_deliveries();
        self.flush();
        self.send_deliveries();
        self.flush_legs();
    }

    /// Sends what the legs queued this round ([`MediaCore::flush`] runs after every datagram;
    /// this once per round, so a frame's packets to a leg leave in one system call).
    fn flush_legs(&mut self) {
        self.leg_out.flush();
    }

    fn drain_peer(&mut self, id: u64) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        let news = p.news.is_some();
        let resent_before = p.dtls_retries.count;
        let out = &mut self.out;
        let mut events = std::mem::take(&mut self.events);
        let mut sent_to = None;
        // DTLS datagrams sent (count, bytes), for the data channels' statistics.
        let mut dtls_out = (0, 0);
        let mut send = |to: SocketAddr, data: &[u8]| {
            // DTLS and media go to the selected pair only (STUN, first byte below 20, to any).
            if data.first().is_some_and(|b| *b >= 20) {
                sent_to = Some(to);
                if news && is_dtls(data) {
                    dtls_out = (dtls_out.0 + 1, dtls_out.1 + data.len());
                }
            }
            out.transmit(to, data)
        };
        let now = self.now;
        let r = contain(|| {
            if p.wrote_media {
                p.handle_timeout(now).map_err(|e| e.to_string())?;
            }
            p.drain(&mut send, &mut events)?;
            // A timer already due runs now, not on the loop's next turn: str0m sends the
            // media just written to a stream only after a timeout (its pacer's queue snapshot),
            // so each forwarded packet would otherwise cost every subscriber a second wake.
            for _ in 0..DUE_AT_ONCE {
                if p.timeout > now {
                    break;
                }
                p.handle_timeout(now).map_err(|e| e.to_string())?;
                p.drain(&mut send, &mut events)?;
            }
            Ok::<(), String>(())
        });
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::debug!(handle = id, "peer output: {e}"),
            Err(_) => {
                self.events = events;
                self.events.clear();
                self.peer_panicked(id);
                return;
            }
        }
        self.schedule(id);
        for e in events.drain(..) {
            if contain(|| self.event(id, e)).is_err() {
                self.peer_panicked(id);
            }
        }
        self.events = events;
        if news {
            if let Some(p) = self.peers.get_mut(&id) {
                let (resent, connected) = (p.dtls_retries.count, p.connected);
                if let Some(news) = p.news.as_mut() {
                    news.dtls_out(now, dtls_out.0, dtls_out.1);
                    // As Janus's: each flight sent again is told while the handshake goes on.
                    if resent > resent_before && !connected {
                        news.dtls("trying", resent);
                    }
                }
            }
            if let Some(to) = sent_to {
                self.tell_pair(id, to);
            }
            self.tell_handlers(id);
        }
    }

    /// Datagrams from `addr` go to peer `id` from now on; unless `settled` (its STUN proved
    /// it), only when the address is no one's yet.
    fn learn_addr(&mut self, addr: SocketAddr, id: u64, settled: bool) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        match self.by_addr.entry(addr) {
            std::collections::hash_map::Entry::Occupied(mut e) if settled => {
                e.insert(id);
            }
            std::collections::hash_map::Entry::Occupied(_) => return,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(id);
            }
        }
        if !p.addrs.contains(&addr) {
            p.addrs.push(addr);
        }
    }

    /// Once ICE connected, the pair it chose: our address and where the peer's datagrams go.
    fn tell_pair(&mut self, id: u64, to: SocketAddr) {
        let local = self.local;
        let Some(p) = self.peers.get_mut(&id) else { return };
        let Some(news) = p.news.as_mut().filter(|n| n.pair_wanted) else { return };
        let kind = p
            .remote_candidates
            .iter()
            .filter_map(|c| str0m::Candidate::from_sdp_string(c.strip_prefix("a=").unwrap_or(c)).ok())
            .find(|c| c.addr() == to)
            .map_or_else(|| "prflx".to_owned(), |c| c.kind().to_string());
        news.pair(local, to, &kind);
    }

    /// Hands what a peer told the event handlers on.
    fn tell_handlers(&mut self, id: u64) {
        if let Some(p) = self.peers.get_mut(&id) {
            hand_on_news(&self.notices, p);
        }
    }

    fn event(&mut self, id: u64, e: Event) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        let handle = p.handle;
        match e {
            Event::Connected => {
                if !p.connected {
                    self.connected.fetch_add(1, Ordering::Relaxed);
                }
                p.connected = true;
                if let Some(news) = &mut p.news {
                    news.dtls("connected", p.dtls_retries.count);
                }
                let _ = self.notices.send(Notice::new(handle, MediaEvent::WebrtcUp));
                // A receiver that just came up wants a keyframe from whoever feeds it.
                self.keyframe_for_sources_of(id);
            }
            Event::IceConnectionStateChange(state) => {
                // (Before gathering, the state is told with it.)
                let gathered = p.gathered();
                if let Some(news) = p.news.as_mut().filter(|_| gathered) {
                    let up = |s: Option<IceConnectionState>| {
                        matches!(s, Some(IceConnectionState::Connected | IceConnectionState::Completed))
                    };
                    let coming_up = up(Some(state)) && !up(p.ice_state);
                    // str0m may go from checking to completed at once; Janus says connected first.
                    if coming_up && state == IceConnectionState::Completed {
                        news.ice("connected");
                    }
                    news.ice(super::news::ice_name(state));
                    if coming_up {
                        news.pair_wanted = true;
                        if !p.connected {
                            news.dtls("trying", p.dtls_retries.count);
                        }
                    }
                }
                p.ice_state = Some(state);
                // Given up only if it stays so (see `housekeeping`).
                p.disconnected_at = match state {
                    IceConnectionState::Disconnected => p.disconnected_at.or(Some(self.now)),
                    _ => None,
                };
            }
            Event::MediaEgressStats(s) => {
                if let Some(rtt) = s.rtt {
                    p.rtt = Some(rtt);
                    p.bound_retransmissions(self.tunables.min_nack_queue());
                }
                let lost = p.losses.egress(&s);
                if let Some(news) = &mut p.news {
                    news.egress(self.now, &s);
                }
                let before = p.counters_out.get(&(s.mid, s.rid));
                let counters = Counters::reported(s.packets, s.bytes, s.nacks, before);
                p.counters_out.insert((s.mid, s.rid), counters);
                self.slow_link(id, s.mid, true, lost);
            }
            Event::MediaIngressStats(s) => {
                let lost = p.losses.ingress(&s);
                if let Some(news) = &mut p.news {
                    news.ingress(self.now, &s, lost);
                }
                let before = p.counters_in.get(&(s.mid, s.rid));
                let counters = Counters::reported(s.packets, s.bytes, s.nacks, before);
                p.counters_in.insert((s.mid, s.rid), counters);
                self.slow_link(id, s.mid, false, lost);
            }
            // The client closed its PeerConnection (DTLS close_notify, or its SCTP association
            // went): str0m takes no more input for it. Janus's reason for this is "DTLS alert".
            Event::Closed => self.hangup(id, "DTLS alert", true),
            Event::RtpPacket(pkt) => self.rtp(id, pkt),
            Event::KeyframeRequest(_) => self.keyframe_for_sources_of(id),
            Event::EgressBitrateEstimate(BweKind::Remb { estimate, .. }) => {
                self.remb_for_inputs_into(id, estimate.as_u64());
            }
            Event::ChannelOpen(cid, label) => {
                // Messages that waited for a channel we opened go now.
                for (data, binary) in p.channels.opened(label, cid) {
                    let written = p.rtc.channel(cid).map(|mut ch| ch.write(binary, &data));
                    if !matches!(written, Some(Ok(_))) {
                        tracing::debug!(handle = id, "a waiting data-channel message was not sent");
                    }
                }
            }
            Event::ChannelClose(cid) => {
                p.channels.closed(cid);
            }
            Event::ChannelData(d) => {
                let label = p.channels.label_of(d.id).map(str::to_owned);
                if let Some(mid) = p.data_mid() {
                    self.forward_data(id, mid, &d.data);
                }
                let _ = self
                    .notices
                    .send(Notice::new(handle, MediaEvent::Data { label, data: d.data, text: !d.binary }));
            }
            _ => {}
        }
    }

    /// One RTP packet from peer `src`: reported when its stream starts, then routed unless the
    /// plugin switched that kind off.
    fn rtp(&mut self, src: u64, pkt: RtpPacket) {
        let now = self.now;
        let Some(p) = self.peers.get_mut(&src) else { return };
        let Some(stream) = p.rx_stream(pkt.header.ssrc) else { return };
        // Captures are rare: the media path pays one length check for them.
        if let Some(capture) = (!self.captures.is_empty()).then(|| self.captures.get_mut(&src)).flatten() {
            let h = &pkt.header;
            let fields = RtpFields {
                pt: *h.payload_type,
                marker: h.marker,
                seq: h.sequence_number,
                time: h.timestamp,
                ssrc: *h.ssrc,
            };
            capture.rtp(true, fields, &pkt.payload);
        }
        let r =
            p.receiving.entry(stream.mid).or_insert(Receiving { video: stream.video, last: now, up: false });
        r.last = now;
        if !r.up {
            r.up = true;
            let _ = self.notices.send(Notice::new(
                p.handle,
                MediaEvent::Media {
                    mid: stream.mid.to_string(),
                    kind: MediaKind::video(stream.video),
                    receiving: true,
                },
            ));
            if stream.video && !self.router.rules_from(src).is_empty() {
                p.request_keyframe(now);
                self.dirty.push(src);
            }
        }
        if let (Some(watch), Some(level), false) =
            (&mut p.talk, pkt.header.ext_vals.audio_level, stream.video)
        {
            if let Some((talking, level)) = watch.add(stream.mid, level) {
                let event = MediaEvent::Talking { mid: stream.mid.to_string(), talking, level };
                let _ = self.notices.send(Notice::new(p.handle, event));
            }
        }
        let relay = if stream.video { p.relay_video } else { p.relay_audio };
        if !relay || self.router.rules_from(src).is_empty() {
            return;
        }
        // Payload types differ per peer: the destination maps by codec.
        let codec = p.codec_of(pkt.header.payload_type);
        let packet = Incoming {
            packet: Packet {
                video: stream.video,
                mid: stream.mid,
                codec,
                pt: pkt.header.payload_type,
                ssrc: *pkt.header.ssrc,
                seq: *pkt.seq_no,
                time: pkt.header.timestamp,
                wallclock: pkt.timestamp,
                marker: pkt.header.marker,
                audio_level: pkt.header.ext_vals.audio_level,
                voice_activity: pkt.header.ext_vals.voice_activity,
                video_orientation: pkt.header.ext_vals.video_orientation,
                payload: pkt.payload,
            },
            layer: stream.layer,
            layers: stream.layers,
        };
        self.fan_out(src, packet);
    }

    /// Routes one RTP packet from source `src` (a peer or a leg) by the rules: each
    /// destination gets a [`Delivery`], here or on the media thread that owns it.
    fn fan_out(&mut self, src: u64, pkt: Incoming) {
        self.fan_out_to(src, None, pkt);
    }

    /// [`MediaCore::fan_out`], by one rule only when `only` names it.
    fn fan_out_to(&mut self, src: u64, only: Option<u64>, pkt: Incoming) {
        let now = self.now;
        let mut ids = std::mem::take(&mut self.rule_ids);
        ids.clear();
        ids.extend_from_slice(self.router.rules_from(src));
        let mut fan = std::mem::take(&mut self.fanout);
        fan.clear();
        let frame = if pkt.packet.video {
            frame_info(pkt.packet.codec.map(|c| c.codec), &pkt.packet.payload)
        } else {
            FrameInfo::default()
        };
        let mut changes = std::mem::take(&mut self.changes);
        changes.clear();
        let mut ask_keyframe = false;
        for id in &ids {
            if only.is_some_and(|o| o != *id) {
                continue;
            }
            let Some(route) = self.router.route_mut(*id) else { continue };
            let kind_passes = if pkt.packet.video { route.video } else { route.audio };
            if !kind_passes || !route.takes(pkt.packet.mid) {
                continue;
            }
            let mut changed = None;
            let verdict = if pkt.packet.video {
                route.select.pass(pkt.layer, pkt.layers, frame, pkt.packet.seq, now, &mut changed)
            } else {
                Verdict::Forward
            };
            if let Some(c) = changed {
                changes.push((route.id, c));
            }
            ask_keyframe |= route.select.take_ask();
            if verdict.passes() {
                // An RTP output sends from this thread (`dst` 0: no endpoint).
                let dst = route.dst.endpoint().unwrap_or(0);
                let ends = verdict == Verdict::ForwardEnding;
                fan.push((route.id, dst, route.homes.dst, route.select.skipped, ends));
            }
        }
        for &(rule, dst, home, skipped, ends) in &fan {
            let mut packet = pkt.packet.clone();
            packet.seq = packet.seq.wrapping_sub(skipped);
            packet.marker |= ends;
            let d = Delivery { rule, dst, packet };
            if home == self.index {
                self.deliver(d);
            } else if let Some(out) = self.outbox.get_mut(home) {
                out.push(d);
            }
        }
        self.fanout = fan;
        self.rule_ids = ids;
        if ask_keyframe {
            self.keyframe_of(src, pkt.packet.mid);
        }
        for &(rule, change) in &changes {
            if let Some(handle) = self.router.route(rule).and_then(|r| r.notify) {
                let _ = self.notices.send(Notice::new(handle, MediaEvent::LayerChanged { rule, change }));
            }
        }
        self.changes = changes;
    }

    /// A mixer port's tick (the mix for its participant), routed by the port's rules.
    fn mixed(&mut self, f: MixFrame) {
        if self.router.rules_from(f.port).is_empty() {
            return;
        }
        let (codec, pt) = match f.codec {
            MixCodec::Opus => (str0m::format::Codec::Opus, 111),
            MixCodec::Pcmu => (str0m::format::Codec::PCMU, 0),
            MixCodec::Pcma => (str0m::format::Codec::PCMA, 8),
        };
        let packet = Packet {
            video: false,
            mid: Mid::from(MIX_MID),
            codec: Some(RxCodec { codec, clock: crate::mixer::voice::clock(f.codec).1 }),
            pt: Pt::from(pt),
            ssrc: f.ssrc,
            seq: f.seq,
            time: f.time,
            wallclock: self.now,
            marker: false,
            audio_level: None,
            voice_activity: None,
            video_orientation: None,
            payload: f.payload,
        };
        self.fan_out(f.port, Incoming { packet, layer: None, layers: 0 });
    }

    /// Writes a routed packet on its destination's stream: payload type mapped by codec,
    /// sequence number rewritten as `in + offset`.
    fn deliver(&mut self, d: Delivery) {
        let Some(route) = self.router.route_mut(d.rule) else { return };
        let dst_mid = match &mut route.dst {
            Dest::Peer { mid, .. } => *mid,
            Dest::Leg { id } => {
                let Some(leg) = self.legs.get_mut(id) else { return };
                let (Some(to), Some(codec), Some(remote)) = (leg.send_to, leg.codec, &leg.remote) else {
                    return;
                };
                // While the host sends a telephone event, the forwarded audio waits.
                if leg.dtmf.sending() {
                    return;
                }
                // No transcoding: a source in another codec carries nothing to this leg;
                // telephone events go with the leg's own payload type for them.
                let pt = match d.packet.codec.map(|c| c.codec) {
                    Some(c) if c == codec.codec => remote.codec.pt,
                    Some(str0m::format::Codec::Tele) => match remote.dtmf_pt {
                        Some(pt) => pt,
                        None => return,
                    },
                    _ => return,
                };
                let (seq, time) = d.packet.renumbered(d.rule, &mut leg.rewrite);
                let buf = &mut self.rtp_out;
                write_rtp(buf, pt, d.packet.marker, seq, time, leg.ssrc, &d.packet.payload);
                if let Some(srtp) = &mut leg.srtp_tx {
                    srtp.protect_rtp(buf, seq);
                }
                self.leg_out.push(&leg.rtp.socket, to, buf);
                leg.report.sent(time, d.packet.clock(), d.packet.payload.len(), self.now);
                return;
            }
            Dest::Mix { id } => {
                // The mixer decodes Opus and G.711; other codecs carry nothing.
                let codec = match d.packet.codec.map(|c| c.codec) {
                    Some(str0m::format::Codec::Opus) => MixCodec::Opus,
                    Some(str0m::format::Codec::PCMU) => MixCodec::Pcmu,
                    Some(str0m::format::Codec::PCMA) => MixCodec::Pcma,
                    _ => return,
                };
                let Some(pool) = &self.mixer else { return };
                if let Some(out) = self.mix_out.get_mut(pool.thread_of(*id)) {
                    out.push(MixIn { port: *id, codec, seq: d.packet.seq, payload: d.packet.payload });
                }
                return;
            }
            Dest::Record { mjr } => {
                let Some(codec) = d.packet.codec.and_then(|c| super::mjr::codec_name(c.codec)) else {
                    return;
                };
                let (seq, time) = d.packet.renumbered(d.rule, &mut mjr.rewrite);
                let buf = &mut self.rtp_out;
                write_rtp(buf, *d.packet.pt, d.packet.marker, seq, time, mjr.ssrc, &d.packet.payload);
                mjr.frame(self.now, d.packet.video, codec, buf);
                return;
            }
            Dest::Rtp { target, rewrite, srtp, .. } => {
                let (seq, time) = d.packet.renumbered(d.rule, rewrite);
                let pt = target.payload_type.unwrap_or(*d.packet.pt);
                let buf = &mut self.rtp_out;
                write_rtp(buf, pt, d.packet.marker, seq, time, target.ssrc, &d.packet.payload);
                if let Some(srtp) = srtp {
                    srtp.protect_rtp(buf, seq);
                }
                self.out.transmit(target.addr, buf);
                return;
            }
        };
        let Some(dst) = self.peers.get_mut(&d.dst) else { return };
        if !dst.connected {
            return;
        }
        let Some(dst_mid) = dst_mid.or_else(|| dst.send_mid(d.packet.video, d.packet.mid)) else { return };
        let pt = match route.pt_map.get(&d.packet.pt) {
            Some(pt) => *pt,
            None => {
                let Some(pt) = d.packet.codec.and_then(|c| dst.pt_for(c, dst_mid)) else { return };
                route.pt_map.insert(d.packet.pt, pt);
                pt
            }
        };
        let source = (d.rule, d.packet.ssrc);
        let rewrite = dst
            .rewrites
            .entry(dst_mid)
            .or_insert_with(|| Rewrite::start(source, d.packet.seq, d.packet.time, d.packet.wallclock));
        let (seq, time) =
            rewrite.map(source, d.packet.seq, d.packet.time, d.packet.wallclock, d.packet.clock());
        let ext = ExtensionValues {
            audio_level: d.packet.audio_level,
            voice_activity: d.packet.voice_activity,
            video_orientation: d.packet.video_orientation,
            ..ExtensionValues::default()
        };
        if let Some(capture) = (!self.captures.is_empty()).then(|| self.captures.get_mut(&d.dst)).flatten() {
            let ssrc = dst.rtc.direct_api().stream_tx_by_mid(dst_mid, None).map(|tx| *tx.ssrc());
            if let Some(ssrc) = ssrc {
                let fields = RtpFields { pt: *pt, marker: d.packet.marker, seq: seq as u16, time, ssrc };
                capture.rtp(false, fields, &d.packet.payload);
            }
        }
        let write = RtpWrite::new(pt, seq.into(), time, d.packet.wallclock, d.packet.payload)
            .marker(d.packet.marker)
            .ext_vals(ext)
            .nackable(d.packet.video);
        // A panic while the destination's stack takes the packet ends that peer only.
        let written = contain(move || {
            #[cfg(test)]
            assert!(!dst.panic_on_input, "test: the peer's stack panics");
            let mut api = dst.rtc.direct_api();
            let written = api.stream_tx_by_mid(dst_mid, None).map(|tx| tx.write_rtp(write)).is_some();
            dst.wrote_media |= written;
            written
        });
        match written {
            Ok(true) => self.dirty.push(d.dst),
            Ok(false) => {}
            Err(_) => self.peer_panicked(d.dst),
        }
    }

    /// Full trickle: takes our candidates out of an SDP we made and sends them as trickle
    /// notices (then end-of-candidates). Half trickle: the SDP as it is.
    fn trickle_ours(&mut self, h: HandleRef, sdp: String) -> String {
        if !self.full_trickle {
            return sdp;
        }
        let mid = crate::sdp::check(&sdp).ok().and_then(|s| s.media.into_iter().find_map(|m| m.mid));
        let mid = mid.unwrap_or_else(|| "0".into());
        let mut kept = String::with_capacity(sdp.len());
        for line in sdp.lines() {
            if let Some(c) = line.strip_prefix("a=candidate:") {
                let candidate = Some(format!("candidate:{c}"));
                let _ =
                    self.notices.send(Notice::new(h, MediaEvent::Trickle { mid: mid.clone(), candidate }));
            } else if line != "a=end-of-candidates" {
                kept.push_str(line);
                kept.push_str("\r\n");
            }
        }
        let _ = self.notices.send(Notice::new(h, MediaEvent::Trickle { mid, candidate: None }));
        kept
    }

    /// Publishes a peer's streams after a negotiation and tells the plugin.
    fn negotiated(&mut self, id: u64) {
        let Some(p) = self.peers.get_mut(&id) else { return };
        // An ICE restart gives us new credentials: first contact goes by the new username.
        let ufrag = p.local_sdp.as_deref().and_then(|s| crate::sdp::attribute(s, "ice-ufrag"));
        if let Some(ufrag) = ufrag.filter(|u| *u != p.ufrag) {
            let old = std::mem::replace(&mut p.ufrag, ufrag.to_owned());
            self.by_ufrag.remove(&old);
            self.by_ufrag.insert(p.ufrag.clone(), id);
        }
        p.bound_retransmissions(self.tunables.min_nack_queue());
        let streams = p.streams();
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).insert(id, streams.clone());
        let _ = self.notices.send(Notice::new(p.handle, MediaEvent::Negotiated(streams)));
    }

    /// Reports losses of the last second when they reach `slowlink_threshold`.
    fn slow_link(&mut self, id: u64, mid: Mid, uplink: bool, lost: u64) {
        let threshold = u64::from(self.tunables.slowlink_threshold());
        if threshold == 0 || lost < threshold {
            return;
        }
        let Some(p) = self.peers.get(&id) else { return };
        let video = p.media.iter().any(|(m, v)| *m == mid && *v);
        let lost = u32::try_from(lost).unwrap_or(u32::MAX);
        let _ = self.notices.send(Notice::new(
            p.handle,
            MediaEvent::SlowLink { mid: mid.to_string(), kind: MediaKind::video(video), uplink, lost },
        ));
    }

    /// Asks every source that feeds `dst` for a keyframe (on the threads that own them).
    fn keyframe_for_sources_of(&mut self, dst: u64) {
        for (src, home) in self.router.sources_of(dst) {
            if home == self.index {
                self.keyframe(src);
            } else if let Some(thread) = self.siblings.get(home) {
                let _ = thread.send(Command::KeyframeOf(src));
            }
        }
        // Inputs answer from their keyframe buffer, to this destination's rules only.
        for (rule, home) in self.router.input_rules_into(dst) {
            if home == self.index {
                self.replay_keyframe(rule);
                self.start_file(rule, self.now);
            } else if let Some(thread) = self.siblings.get(home) {
                let _ = thread.send(Command::ReplayKeyframe(rule));
            }
        }
    }

    /// A destination's REMB goes to the inputs that feed it, as Janus's Streaming keeps the
    /// lowest of its viewers' for the sender.
    fn remb_for_inputs_into(&mut self, dst: u64, bps: u64) {
        for (rule, home) in self.router.input_rules_into(dst) {
            if home == self.index {
                self.input_remb(rule, bps);
            } else if let Some(thread) = self.siblings.get(home) {
                let _ = thread.send(Command::InputRemb(rule, bps));
            }
        }
    }

    /// Keeps `bps` for the video streams with RTCP of this rule's input, if it is their lowest
    /// since the last REMB they sent.
    fn input_remb(&mut self, rule: u64, bps: u64) {
        let Some(route) = self.router.route(rule) else { return };
        let (src, src_mid) = (route.src, route.src_mid);
        let Some(input) = self.inputs.get_mut(&src) else { return };
        for stream in &mut input.streams {
            if stream.kind != MediaKind::Video || !takes(src_mid, stream.mid) {
                continue;
            }
            if let Some(f) = stream.feedback.as_mut().filter(|_| bps > 0) {
                f.lowest_bps = Some(f.lowest_bps.map_or(bps, |b| b.min(bps)));
            }
        }
    }

    /// Sends each input's sender the lowest REMB its viewers sent since the last, once a
    /// [`REMB_PERIOD`] (a 24-byte RTCP REMB to its RTCP port, from SSRC 1, as Janus does).
    fn input_rembs(&mut self) {
        for input in self.inputs.values_mut() {
            for f in input.streams.iter_mut().filter_map(|s| s.feedback.as_mut()) {
                let (Some(to), Some(bps)) = (f.to, f.lowest_bps.take()) else { continue };
                legs::remb(&mut self.rtp_out, 1, bps, f.ssrc);
                self.leg_out.push(&f.socket.socket, to, &self.rtp_out);
            }
        }
    }

    /// Asks source `src` for a keyframe of its stream `mid` (a rule waits for one): a peer's
    /// stream, an input's sender (when it has RTCP), a leg's far end.
    fn keyframe_of(&mut self, src: u64, mid: Mid) {
        if let Some(p) = self.peers.get_mut(&src) {
            p.request_keyframe_of(self.now, Some(mid));
            self.dirty.push(src);
        } else if self.inputs.contains_key(&src) {
            self.input_keyframe_requests(src, Asked::Rule(Some(mid)), self.now);
        } else {
            self.keyframe(src);
        }
    }

    fn keyframe(&mut self, src: u64) {
        if let Some(s) = self.peers.get_mut(&src) {
            s.request_keyframe(self.now);
            self.dirty.push(src);
        } else if let Some(leg) = self.legs.get_mut(&src) {
            // A leg's far end is asked with an RTCP PLI.
            let (Some(to), Some(media), MediaKind::Video) = (leg.rtcp_to, leg.remote_ssrc, leg.kind) else {
                return;
            };
            let buf = &mut self.rtp_out;
            legs::pli(buf, leg.ssrc, media);
            if let Some(srtp) = &mut leg.srtp_tx {
                srtp.protect_rtcp(buf);
            }
            let socket = if leg.remote.as_ref().is_some_and(|r| r.rtcp_mux) { &leg.rtp } else { &leg.rtcp };
            self.leg_out.push(&socket.socket, to, buf);
        }
    }

    /// The leg and input sockets with packets waiting (the worker waits on its `wake`).
    pub fn ready(&self) -> Arc<Ready> {
        self.ready.clone()
    }

    /// Reads the leg and input sockets that have packets: at most [`PACKETS_PER_WAKE`] each, a
    /// batch per system call (a socket with more is queued again, behind the others), then lets
    /// their readers wait again. `rx` is the thread's receive buffer.
    pub fn poll_ready(&mut self, now: Instant, rx: &mut RecvBatch) {
        self.now = now;
        for (id, index) in self.ready.take() {
            let mut drained = false;
            for _ in 0..PACKETS_PER_WAKE / BATCH {
                let got = match self.socket_of(id, index) {
                    Some(w) => rx.recv(&w.socket),
                    None => break,
                };
                if !matches!(got, Ok(n) if n > 0) {
                    drained = true;
                    break;
                }
                for (from, datagram) in rx.datagrams() {
                    if id & FEEDBACK_BIT != 0 {
                        self.output_feedback(id & !FEEDBACK_BIT, from, datagram);
                    } else if id & INPUT_BIT != 0 {
                        self.input_datagram(id, index, from, datagram);
                    } else {
                        self.leg_datagram(id, from, datagram, index == 1);
                    }
                }
            }
            match self.socket_of(id, index) {
                Some(w) if drained => w.drained(),
                Some(_) => self.ready.push((id, index)),
                None => {}
            }
        }
        self.flush();
    }

    /// An input plays what of its file is due, as if it came from the network, and files its
    /// next packet's time.
    fn play(&mut self, id: u64, now: Instant) {
        let mut buf = std::mem::take(&mut self.file_buf);
        while let Some(player) = self.inputs.get_mut(&id).and_then(|i| i.player.as_mut()) {
            if !player.next_packet(now, &mut buf) {
                if let Some(due) = player.due {
                    self.timers.exact(due, id);
                }
                break;
            }
            let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
            self.input_datagram(id, 0, nowhere, &mut buf);
        }
        self.file_buf = buf;
    }

    /// One datagram at `now` on an input's socket `index` (stream `index / 4`, substream
    /// `index % 4`); what the thread does with each datagram it reads there (and benchmarks).
    pub fn input_packet(&mut self, now: Instant, id: u64, index: u8, from: SocketAddr, buf: &mut [u8]) {
        self.now = now;
        self.input_datagram(id, index, from, buf);
    }

    /// One datagram on an input's socket `index` (stream `index / 4`, substream `index % 4`).
    fn input_datagram(&mut self, id: u64, index: u8, from: SocketAddr, buf: &mut [u8]) {
        let now = self.now;
        let Some(input) = self.inputs.get_mut(&id) else { return };
        if input.source.is_some_and(|ip| ip != from.ip()) {
            refuse(&mut input.refused, "input", id, from);
            return;
        }
        if index % 4 == 3 {
            // RTCP with the sender: where its RTP or RTCP comes from is where keyframe requests
            // go (as Janus latches); what it reports is not read.
            let stream = input.streams.get_mut(usize::from(index / 4));
            if let Some(f) = stream.and_then(|s| s.feedback.as_mut()) {
                if buf.len() >= 8 && buf[0] >> 6 == 2 {
                    f.to = Some(from);
                }
            }
            return;
        }
        let len = match &mut input.srtp {
            Some(srtp) => match srtp.unprotect_rtp(buf) {
                Ok((len, _)) => len,
                Err(_) => {
                    refuse(&mut input.refused, "input", id, from);
                    return;
                }
            },
            None => buf.len(),
        };
        let (s, layer) = (usize::from(index / 4), usize::from(index % 4));
        if input.streams.get(s).is_some_and(|st| st.kind == MediaKind::Data) {
            return self.input_data(id, s, from, &buf[..len]);
        }
        let h = legs::parse_rtp(&buf[..len]);
        let (salt, collision) = (input.salt, input.collision);
        let Some(stream) = input.streams.get_mut(s) else { return };
        let Some((h, layer)) = h
            .filter(|h| h.pt == stream.pt)
            .and_then(|h| Some((h, stream.layer_of(layer, h.ssrc)?)))
            .filter(|(h, layer)| stream.takes(*layer, h.ssrc, now, collision))
        else {
            refuse(&mut input.refused, "input", id, from);
            return;
        };
        let seq = stream.extend(layer, h.seq);
        stream.last = Some(now);
        if let Some(f) = stream.feedback.as_mut() {
            f.ssrc = h.ssrc;
        }
        if let Some(known) = input.sources.get_mut(s) {
            input.status.packet(s, now, from, known);
        }
        if !stream.receiving {
            stream.receiving = true;
            let event = MediaEvent::InputMedia { input: id, mid: stream.mid.to_string(), receiving: true };
            let _ = self.notices.send(Notice::new(HandleRef::NONE, event));
        }
        let payload: Arc<[u8]> = Arc::from(&buf[h.payload_at..h.payload_end.min(len)]);
        let video = stream.kind == MediaKind::Video;
        if video {
            let kept =
                Kept { seq, time: h.time, marker: h.marker, ssrc: h.ssrc ^ salt, payload: payload.clone() };
            stream.keep(layer, &kept);
        }
        if self.router.rules_from(id).is_empty() {
            return;
        }
        let layers = stream.layers();
        let packet = Incoming {
            packet: Packet {
                video,
                mid: stream.mid,
                codec: stream.codec,
                pt: Pt::from(h.pt),
                ssrc: h.ssrc ^ salt,
                seq,
                time: h.time,
                wallclock: now,
                marker: h.marker,
                audio_level: None,
                voice_activity: None,
                video_orientation: None,
                payload,
            },
            layer: (layers > 0).then_some(layer as u8),
            layers,
        };
        self.fan_out(id, packet);
    }

    /// A data-channel message from peer `src`: each RTP output of its data stream (`mid`) gets
    /// it as one UDP datagram, as Janus's `rtp_forward` with a `data_port` does; each recording
    /// of it, as a frame.
    fn forward_data(&mut self, src: u64, mid: Mid, data: &[u8]) {
        let mut ids = std::mem::take(&mut self.rule_ids);
        ids.clear();
        ids.extend_from_slice(self.router.rules_from(src));
        for rule in &ids {
            let Some(route) = self.router.route_mut(*rule) else { continue };
            if route.record_message(mid, self.now, data) {
                continue;
            }
            if let (Dest::Rtp { target, .. }, Some(m)) = (&route.dst, route.src_mid) {
                if m == mid {
                    self.out.transmit(target.addr, data);
                }
            }
        }
        self.rule_ids = ids;
    }

    /// A datagram on an input's data stream: a data-channel message (text when it is UTF-8) to
    /// each peer its rules reach.
    fn input_data(&mut self, id: u64, stream: usize, from: SocketAddr, data: &[u8]) {
        let now = self.now;
        let Some(input) = self.inputs.get_mut(&id) else { return };
        if let Some(known) = input.sources.get_mut(stream) {
            input.status.packet(stream, now, from, known);
        }
        let Some(st) = input.streams.get_mut(stream) else { return };
        let mid = st.mid;
        st.last = Some(now);
        if !st.receiving {
            st.receiving = true;
            let event = MediaEvent::InputMedia { input: id, mid: mid.to_string(), receiving: true };
            let _ = self.notices.send(Notice::new(HandleRef::NONE, event));
        }
        let text = std::str::from_utf8(data).is_ok();
        let mut ids = std::mem::take(&mut self.rule_ids);
        ids.clear();
        ids.extend_from_slice(self.router.rules_from(id));
        for rule in &ids {
            let Some(route) = self.router.route_mut(*rule) else { continue };
            if route.record_message(mid, now, data) {
                continue;
            }
            let (Dest::Peer { id: dst, .. }, Some(handle)) = (&route.dst, route.notify) else { continue };
            if !route.takes(mid) {
                continue;
            }
            let (dst, home) = (*dst, route.homes.dst);
            if home == self.index {
                if let Err(why) = self.send_data(dst, None, data, text) {
                    tracing::trace!(handle = dst, "input data dropped: {why}");
                }
            } else if let Some(thread) = self.siblings.get(home) {
                let _ = thread.send(Command::Data(handle, None, data.to_vec(), text));
            }
        }
        self.rule_ids = ids;
    }

    /// A rule from an input that needs a picture (it is new, or its destination just came
    /// up or asked for a keyframe) gets the input's last keyframe of the substream it wants: an
    /// input cannot be asked for one, and its viewer sees a picture at once instead of waiting
    /// for the next.
    /// A file that plays for one viewer starts when the viewer's PeerConnection is up (as
    /// Janus's `ondemand` starts with `setup_media`): the first rule from it whose destination is.
    fn start_file(&mut self, rule: u64, now: Instant) {
        let Some(src) = self.router.route(rule).map(|r| r.src) else { return };
        let Some(player) = self.inputs.get_mut(&src).and_then(|i| i.player.as_mut()) else { return };
        if let Some(due) = player.start(now) {
            self.timers.exact(due, src);
        }
    }

    fn replay_keyframe(&mut self, rule: u64) {
        let Some(route) = self.router.route(rule) else { return };
        let (src, src_mid, target) = (route.src, route.src_mid, route.select.target);
        // A sender with RTCP is asked for a fresh keyframe too.
        self.input_keyframe_requests(src, Asked::Rule(src_mid), self.now);
        let Some(input) = self.inputs.get(&src) else { return };
        let mut packets = Vec::new();
        for stream in &input.streams {
            if stream.kind != MediaKind::Video || !takes(src_mid, stream.mid) {
                continue;
            }
            let layers = stream.layers();
            let layer = if layers == 0 { 0 } else { target.unwrap_or(layers - 1).min(layers - 1) };
            let Some(buffer) = stream.keyframes.get(usize::from(layer)) else { continue };
            for k in &buffer.packets {
                packets.push(Incoming {
                    packet: Packet {
                        video: true,
                        mid: stream.mid,
                        codec: stream.codec,
                        pt: Pt::from(stream.pt),
                        // Another source for the destination's numbering: the replayed frame goes out
                        // as the next packets, and the live stream continues after it.
                        ssrc: !k.ssrc,
                        seq: k.seq,
                        time: k.time,
                        wallclock: self.now,
                        marker: k.marker,
                        audio_level: None,
                        voice_activity: None,
                        video_orientation: None,
                        payload: k.payload.clone(),
                    },
                    layer: (layers > 0).then_some(layer),
                    layers,
                });
            }
        }
        for packet in packets {
            self.fan_out_to(src, Some(rule), packet);
        }
    }

    /// Asks an input's senders for keyframes (RTCP PLI, at most one a [`PLI_INTERVAL`] per
    /// stream): of the video streams a rule takes, or those whose request waits.
    ///
    /// [`PLI_INTERVAL`]: super::inputs
    fn input_keyframe_requests(&mut self, src: u64, asked: Asked, now: Instant) {
        let Some(input) = self.inputs.get_mut(&src) else { return };
        for stream in &mut input.streams {
            let asked = matches!(asked, Asked::Rule(src_mid) if takes(src_mid, stream.mid));
            let Some(f) = stream.feedback.as_mut().filter(|_| stream.kind == MediaKind::Video) else {
                continue;
            };
            if let (true, Some(to)) = (f.due(now, asked), f.to) {
                let buf = &mut self.rtp_out;
                legs::pli(buf, 1, f.ssrc);
                self.leg_out.push(&f.socket.socket, to, buf);
            }
        }
    }

    /// Sends the telephone-event packet a leg has due, and files the next.
    fn leg_dtmf(&mut self, id: u64, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let (Some(to), Some(remote)) = (leg.send_to, leg.remote.as_ref()) else {
            leg.dtmf.clear();
            return;
        };
        let Some(pt) = remote.dtmf_pt else {
            tracing::debug!(leg = id, "telephone events asked for, but the far end negotiated none");
            leg.dtmf.clear();
            return;
        };
        let clock = remote.codec.clock;
        let rewrite = leg
            .rewrite
            .get_or_insert_with(|| Rewrite::start(OWN, rand::random::<u16>().into(), rand::random(), now));
        let mut first_seq = None;
        let step = leg.dtmf.step(now, clock, || {
            let (seq, ts) = rewrite.next_own(now, clock);
            first_seq = Some(seq);
            ts
        });
        if let Some((p, ts)) = step {
            let seq = first_seq.unwrap_or_else(|| rewrite.next_seq());
            let payload = [p.event, u8::from(p.end) << 7 | 10, (p.duration >> 8) as u8, p.duration as u8];
            // The end of an event goes three times (RFC 4733 §2.5.1.4).
            for _ in 0..if p.end { 3 } else { 1 } {
                let buf = &mut self.rtp_out;
                write_rtp(buf, pt, p.first, seq, ts, leg.ssrc, &payload);
                if let Some(srtp) = &mut leg.srtp_tx {
                    srtp.protect_rtp(buf, seq);
                }
                self.leg_out.push(&leg.rtp.socket, to, buf);
            }
            leg.report.sent(ts, clock, payload.len(), now);
        }
        if let Some(due) = leg.dtmf.due {
            self.timers.exact(due, id);
        }
    }

    /// Each leg that sends or receives reports on RTCP every [`LEG_RTCP_INTERVAL`]: an SR when
    /// it sends, an RR block about what it receives.
    fn leg_reports(&mut self, now: Instant) {
        for leg in self.legs.values_mut() {
            let Some(to) = leg.rtcp_to else { continue };
            if !leg.report.active()
                || leg.report.sent_at.is_some_and(|t| now.duration_since(t) < LEG_RTCP_INTERVAL)
            {
                continue;
            }
            let remote = leg.remote_ssrc.zip(leg.highest);
            let buf = &mut self.rtp_out;
            leg.report.write(buf, leg.ssrc, remote, now);
            if let Some(srtp) = &mut leg.srtp_tx {
                srtp.protect_rtcp(buf);
            }
            let mux = leg.remote.as_ref().is_some_and(|r| r.rtcp_mux);
            let socket = if mux { &leg.rtp } else { &leg.rtcp };
            self.leg_out.push(&socket.socket, to, buf);
        }
    }

    /// Input streams that stopped receiving are reported.
    fn inputs_without_media(&mut self, now: Instant) {
        for (id, input) in &mut self.inputs {
            for stream in &mut input.streams {
                if stream.receiving && stream.last.is_some_and(|t| now.duration_since(t) >= input.no_media) {
                    stream.receiving = false;
                    let event =
                        MediaEvent::InputMedia { input: *id, mid: stream.mid.to_string(), receiving: false };
                    let _ = self.notices.send(Notice::new(HandleRef::NONE, event));
                }
            }
        }
    }

    /// A leg's or an input's socket by key.
    fn socket_of(&self, id: u64, index: u8) -> Option<&Watched> {
        if id & FEEDBACK_BIT != 0 {
            match &self.router.route(id & !FEEDBACK_BIT)?.dst {
                Dest::Rtp { feedback, .. } => feedback.as_ref(),
                _ => None,
            }
        } else if id & INPUT_BIT != 0 {
            self.inputs.get(&id)?.socket(index)
        } else {
            let leg = self.legs.get(&id)?;
            Some(if index == 1 { &leg.rtcp } else { &leg.rtp })
        }
    }

    /// An RTP output with `rtcp_port` (on its source's thread): its socket is read here.
    fn watch_feedback(&mut self, id: u64, rule: &ForwardRule) {
        let Sink::Rtp(RtpTarget { feedback: Some(socket), .. }) = &rule.dst else { return };
        let watched = socket.0.try_clone().and_then(|s| Watched::new(s, (id | FEEDBACK_BIT, 0), &self.ready));
        match (watched, self.router.route_mut(id).map(|r| &mut r.dst)) {
            (Ok(w), Some(Dest::Rtp { feedback, .. })) => *feedback = Some(w),
            (Err(e), _) => tracing::warn!(rule = id, "RTCP feedback of an RTP output: {e}"),
            _ => {}
        }
    }

    /// A datagram from an RTP output's receiver at its RTCP port: a PLI or FIR (from the
    /// receiver's address only) asks the output's source for a keyframe, as Janus's
    /// forwarders do. Of SRTCP only the first packet's header is in the clear: it is read
    /// without decrypting, as Janus does.
    fn output_feedback(&mut self, rule: u64, from: SocketAddr, buf: &[u8]) {
        let Some(route) = self.router.route(rule) else { return };
        let Dest::Rtp { target, srtp, .. } = &route.dst else { return };
        if from.ip() != target.addr.ip() {
            tracing::debug!(rule, "RTCP feedback from {from}, not the receiver: dropped");
            return;
        }
        let asks = if srtp.is_some() { legs::first_wants_keyframe(buf) } else { legs::wants_keyframe(buf) };
        if !asks {
            return;
        }
        let (src, mid) = (route.src, route.src_mid);
        match mid {
            Some(mid) => self.keyframe_of(src, mid),
            None => self.keyframe(src),
        }
    }

    /// One datagram on a leg's RTP (or RTCP) port.
    fn leg_datagram(&mut self, id: u64, from: SocketAddr, buf: &mut [u8], on_rtcp_port: bool) {
        let Some(leg) = self.legs.get_mut(&id) else { return };
        let Some(remote) = &leg.remote else { return };
        let rtcp = on_rtcp_port || (remote.rtcp_mux && legs::is_rtcp(buf));
        if rtcp {
            // RTCP comes from the far end's RTCP address (or its RTP one with rtcp-mux).
            if leg.rtcp_to != Some(from) && leg.send_to != Some(from) {
                refuse(&mut leg.refused, "leg", id, from);
                return;
            }
            let len = match &mut leg.srtp_rx {
                Some(srtp) => match srtp.unprotect_rtcp(buf) {
                    Ok(len) => len,
                    Err(_) => {
                        refuse(&mut leg.refused, "leg", id, from);
                        return;
                    }
                },
                None => buf.len(),
            };
            leg.report.heard(&buf[..len], self.now);
            if legs::wants_keyframe(&buf[..len]) {
                self.keyframe_for_sources_of(id);
            }
            return;
        }
        // An address the leg does not send to is refused before any work, unless latching
        // may move the leg there (decided after SRTP says whether the packet authenticates).
        if leg.admits(from, true) == Admit::No {
            refuse(&mut leg.refused, "leg", id, from);
            return;
        }
        let (len, ext) = match &mut leg.srtp_rx {
            Some(srtp) => match srtp.unprotect_rtp(buf) {
                Ok((len, ext)) => (len, Some(ext)),
                Err(_) => {
                    refuse(&mut leg.refused, "leg", id, from);
                    return;
                }
            },
            None => (buf.len(), None),
        };
        let Some(h) = legs::parse_rtp(&buf[..len]) else {
            refuse(&mut leg.refused, "leg", id, from);
            return;
        };
        match leg.admits(from, leg.srtp_rx.is_some()) {
            Admit::Yes => {}
            Admit::Move => {
                tracing::debug!(leg = id, "latched to {from}");
                leg.latch(from);
            }
            Admit::No => {
                refuse(&mut leg.refused, "leg", id, from);
                return;
            }
        }
        leg.remote_ssrc = Some(h.ssrc);
        // The codec, or RFC 4733 telephone events (passed through to destinations that
        // negotiated them, with their payload type).
        let codec = match &leg.remote {
            Some(r) if h.pt == r.codec.pt => leg.codec,
            Some(r) if Some(h.pt) == r.dtmf_pt => {
                let clock = r.codec.clock;
                let payload = &buf[h.payload_at..h.payload_end.min(len)];
                if let Some((digit, duration)) = leg.heard.ended(h.time, payload) {
                    let event = MediaEvent::Dtmf { leg: id, digit, duration };
                    let _ = self.notices.send(Notice::new(leg.owner, event));
                }
                Some(RxCodec { codec: str0m::format::Codec::Tele, clock })
            }
            _ => return,
        };
        let seq = ext.unwrap_or_else(|| leg.extend(h.seq));
        leg.highest = leg.highest.max(Some(seq));
        leg.report.received(seq);
        let packet = Incoming {
            packet: Packet {
                video: leg.kind == MediaKind::Video,
                mid: Mid::from(LEG_MID),
                codec,
                pt: Pt::from(h.pt),
                ssrc: h.ssrc,
                seq,
                time: h.time,
                wallclock: self.now,
                marker: h.marker,
                audio_level: None,
                voice_activity: None,
                video_orientation: None,
                payload: Arc::from(&buf[h.payload_at..h.payload_end.min(len)]),
            },
            layer: None,
            layers: 0,
        };
        self.fan_out(id, packet);
    }

    /// One command from the gateway or another media thread.
    pub fn command(&mut self, now: Instant, c: Command) {
        self.now = now;
        // A panic in the WebRTC stack ends the peer the command was for, not the thread.
        let owner = command_peer(&c);
        if contain(|| self.apply(now, c)).is_err() {
            match owner {
                Some(id) => self.peer_panicked(id),
                None => tracing::error!("a media command panicked; the media thread goes on"),
            }
        }
        self.flush();
    }

    fn apply(&mut self, now: Instant, c: Command) {
        match c {
            Command::RemoteOffer(h, sdp) => {
                self.ensure_peer(h, now);
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    p.remote_offer = Some(sdp);
                }
            }
            Command::Answer(h, policy, reply) => {
                let advertised = self.advertised.clone();
                let id = h.handle_id;
                let r = match self.peers.get_mut(&id) {
                    Some(p) => {
                        let r = contain(|| p.answer(now, &policy, &advertised));
                        r.unwrap_or_else(|_| Err("the WebRTC stack failed".into()))
                    }
                    None => Err("no pending offer from the client".into()),
                };
                let r = r.map(|(sdp, remote)| {
                    // Full ICE: the answers to our own checks carry no USERNAME, so the
                    // client's candidates are learnt now.
                    for addr in remote {
                        self.learn_addr(addr, id, false);
                    }
                    self.trickle_ours(h, sdp)
                });
                let done = r.is_ok();
                reply(r);
                if done {
                    self.negotiated(id);
                }
            }
            // Kept for the handle: no PeerConnection is made before a negotiation needs one.
            Command::RtpExtensions(h, extensions) => {
                self.extensions.insert(h.handle_id, extensions);
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    p.extensions = extensions;
                }
            }
            Command::WatchTalking(h, packets, threshold) => {
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    p.talk = (packets > 0).then(|| super::talk::TalkWatch::new(packets, threshold));
                }
            }
            Command::Offer(h, stop, directions, kinds, reply) => {
                self.ensure_peer(h, now);
                let advertised = self.advertised.clone();
                let r = match self.peers.get_mut(&h.handle_id) {
                    Some(p) => contain(|| p.offer(&stop, &directions, &kinds, &advertised))
                        .unwrap_or_else(|_| Err("the WebRTC stack failed".into())),
                    None => Err("no PeerConnection".into()),
                };
                let r = r.map(|(sdp, mids)| (self.trickle_ours(h, sdp), mids));
                self.dirty.push(h.handle_id);
                reply(r);
            }
            Command::RemoteAnswer(h, sdp, reply) => {
                let id = h.handle_id;
                let r = match self.peers.get_mut(&id) {
                    Some(p) => contain(|| p.accept_answer(&sdp))
                        .unwrap_or_else(|_| Err(DescriptionError::Invalid("the WebRTC stack failed".into()))),
                    None => Err(DescriptionError::UnexpectedAnswer),
                };
                let r = r.map(|remote| {
                    for addr in remote {
                        self.learn_addr(addr, id, false);
                    }
                });
                let done = r.is_ok();
                self.dirty.push(id);
                reply(r);
                if done {
                    self.negotiated(id);
                }
            }
            Command::Trickle(h, candidate) => {
                let Some(p) = self.peers.get_mut(&h.handle_id) else { return };
                if let Some(addr) = p.add_remote_candidate(&candidate) {
                    // Full ICE: our checks' responses carry no USERNAME; learn the address now
                    // (unless it is known already: the STUN of its owner settles it).
                    self.learn_addr(addr, h.handle_id, false);
                }
                self.dirty.push(h.handle_id);
            }
            // The core tells the plugin itself about hangups it asked for.
            Command::Hangup(h, reason) => self.hangup(h.handle_id, &reason, false),
            Command::Capture(h, spec) => match spec {
                Some(spec) => {
                    self.captures.insert(h.handle_id, Capture::new(spec, h));
                }
                None => {
                    self.captures.remove(&h.handle_id);
                }
            },
            Command::Gone(h) => {
                self.captures.remove(&h.handle_id);
                self.router.remove_handle(h.handle_id);
                self.drop_peer(h.handle_id);
                self.extensions.remove(&h.handle_id);
            }
            Command::LegOpen(setup) => {
                let id = setup.id;
                match Leg::open(*setup, &self.ready) {
                    Ok(leg) => {
                        self.legs.insert(id, leg);
                    }
                    Err(e) => tracing::warn!(leg = id, "cannot open the leg: {e}"),
                }
            }
            Command::LegConnect(id, remote) => {
                if let Some(leg) = self.legs.get_mut(&id) {
                    leg.connect(*remote);
                }
            }
            Command::LegClose(id) => {
                self.router.remove_handle(id);
                self.legs.remove(&id);
            }
            Command::LegDtmf(id, events, length, gap) => {
                if let Some(leg) = self.legs.get_mut(&id) {
                    leg.dtmf.queue(&events, length, gap, now);
                    if let Some(due) = leg.dtmf.due {
                        self.timers.exact(due, id);
                    }
                }
            }
            Command::InputOpen(setup) => {
                let id = setup.id;
                match Input::open(*setup, &self.ready) {
                    Ok(input) => {
                        if let Some(due) = input.player.as_ref().and_then(|p| p.due) {
                            self.timers.exact(due, id);
                        }
                        self.inputs.insert(id, input);
                    }
                    Err(e) => tracing::warn!(input = id, "cannot open the input: {e}"),
                }
            }
            Command::InputClose(id) => {
                self.router.remove_handle(id);
                self.inputs.remove(&id);
            }
            Command::InputDescribed(id, codecs, from, rtcp) => {
                if let Some(input) = self.inputs.get_mut(&id) {
                    input.described(&codecs, from, &rtcp);
                }
            }
            Command::Forward(id, rule, homes) => {
                self.router.add(id, &rule, homes);
                if homes.src == self.index {
                    self.watch_feedback(id, &rule);
                    self.keyframe(rule.src.id());
                    self.replay_keyframe(id);
                    // A destination already up on this thread (a mixer port always is): a file
                    // played for it starts.
                    let up = |d: Endpoint| {
                        matches!(d, Endpoint::Mix(_)) || self.peers.get(&d.id()).is_some_and(|p| p.connected)
                    };
                    if rule.dst.endpoint().is_some_and(up) {
                        self.start_file(id, now);
                    }
                } else if let (Endpoint::Input(_), Some(dst)) = (rule.src, rule.dst.endpoint()) {
                    // The input's thread replayed its keyframe when the rule reached it, maybe
                    // before the destination was up; once both are, ask again.
                    if self.peers.get(&dst.id()).is_some_and(|p| p.connected) {
                        if let Some(thread) = self.siblings.get(homes.src) {
                            let _ = thread.send(Command::ReplayKeyframe(id));
                        }
                    }
                }
            }
            Command::Deliver(batch) => {
                for d in batch {
                    self.deliver(d);
                }
            }
            Command::MixOut(frames) => {
                for f in frames {
                    self.mixed(f);
                }
            }
            Command::KeyframeOf(src) => self.keyframe(src),
            Command::ReplayKeyframe(rule) => {
                // Sent when a rule's destination is up: a file played for it starts too.
                self.replay_keyframe(rule);
                self.start_file(rule, now);
            }
            Command::InputRemb(rule, bps) => self.input_remb(rule, bps),
            Command::Unforward(id) => self.router.remove(id),
            Command::EndRecordings(done) => {
                self.router.remove_recordings();
                self.captures.clear();
                let _ = done.send(());
            }
            Command::Layers(id, substream, temporal) => {
                let Some(route) = self.router.route_mut(id) else { return };
                route.select.target = substream;
                route.select.temporal_target = temporal;
                let (src, home) = (route.src, route.homes.src);
                if home == self.index {
                    self.keyframe(src);
                }
            }
            Command::Bitrate(h, bps) => {
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    p.set_bitrate_cap(bps);
                    self.dirty.push(h.handle_id);
                }
            }
            Command::Describe(h, reply) => {
                let ice_lite = self.template.ice_lite();
                let summary = self.peers.get_mut(&h.handle_id).map(|p| super::summary::describe(p, ice_lite));
                reply(summary);
            }
            Command::Keyframe(h, mid) => {
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    p.request_keyframe_of(now, mid.as_deref().map(Mid::from));
                    self.dirty.push(h.handle_id);
                }
            }
            Command::Relay(h, kind, on) => {
                if let Some(p) = self.peers.get_mut(&h.handle_id) {
                    match kind {
                        MediaKind::Audio => p.relay_audio = on,
                        MediaKind::Video => p.relay_video = on,
                        // Data channels have no relay switch: plugins send data themselves.
                        MediaKind::Data => {}
                    }
                }
            }
            Command::Data(h, label, data, text) => {
                if let Err(why) = self.send_data(h.handle_id, label.as_deref(), &data, text) {
                    tracing::debug!(handle = h.handle_id, "data-channel message dropped: {why}");
                }
            }
        }
    }

    fn send_data(&mut self, id: u64, label: Option<&str>, data: &[u8], text: bool) -> Result<(), String> {
        let p = self.peers.get_mut(&id).ok_or("no PeerConnection")?;
        let cid = match (p.channels.pick(label), label) {
            (Some(cid), _) => cid,
            // A label no channel has: one is opened for it (once the client has a data
            // channel at all), and the message waits for it.
            (None, Some(label)) if p.data_mid().is_some() && !p.channels.is_empty() => {
                let rtc = &mut p.rtc;
                let config = str0m::channel::ChannelConfig { label: label.to_owned(), ..Default::default() };
                p.channels.wait(label, data, !text, || rtc.direct_api().create_data_channel(config))?;
                self.dirty.push(id);
                return Ok(());
            }
            _ => return Err("no such data channel".into()),
        };
        let mut ch = p.rtc.channel(cid).ok_or("data channel not open")?;
        ch.write(!text, data).map_err(|e| e.to_string())?;
        self.dirty.push(id);
        Ok(())
    }

    /// Creates the handle's peer if it has none.
    fn ensure_peer(&mut self, h: HandleRef, now: Instant) {
        let id = h.handle_id;
        if !self.peers.contains_key(&id) {
            let mut p = Peer::new(h, &self.template, now);
            if self.tunables.handler_news() {
                p.news = Some(Box::default());
            }
            if let Some(extensions) = self.extensions.get(&id) {
                p.extensions = *extensions;
            }
            self.by_ufrag.insert(p.ufrag.clone(), id);
            self.peers.insert(id, p);
            self.schedule(id);
        }
    }

    fn hangup(&mut self, id: u64, reason: &str, tell_plugin: bool) {
        let Some(p) = self.peers.get(&id) else { return };
        let h = p.handle;
        let had_pc = p.negotiated;
        self.drop_peer(id);
        if had_pc {
            let _ = self.notices.send(Notice::new(
                h,
                MediaEvent::Hangup { reason: reason.to_owned(), requested: !tell_plugin },
            ));
        }
    }

    fn drop_peer(&mut self, id: u64) {
        if let Some(mut p) = self.peers.remove(&id) {
            // Tell a connected client at once (RTCP BYE, SCTP shutdown, DTLS close_notify), as
            // Janus's DTLS alert does, instead of leaving it to notice by consent timeout.
            if p.connected {
                self.connected.fetch_sub(1, Ordering::Relaxed);
                let out = &mut self.out;
                let closed = contain(|| {
                    p.rtc.close().map_err(|e| e.to_string())?;
                    p.drain(&mut |to: SocketAddr, data: &[u8]| out.transmit(to, data), &mut Vec::new())
                });
                if let Ok(Err(e)) = closed {
                    tracing::debug!(handle = id, "closing the PeerConnection: {e}");
                }
            }
            p.rtc.disconnect();
            self.by_ufrag.remove(&p.ufrag);
            for a in &p.addrs {
                if self.by_addr.get(a) == Some(&id) {
                    self.by_addr.remove(a);
                }
            }
        }
    }
}

/// Hands what a peer told the event handlers on, as notices.
fn hand_on_news(notices: &UnboundedSender<Notice>, p: &mut Peer) {
    let Some(news) = p.news.as_mut().filter(|n| !n.told.is_empty()) else { return };
    for (kind, subtype, body) in news.told.drain(..) {
        let _ = notices.send(Notice::new(p.handle, MediaEvent::ForHandlers { kind, subtype, body }));
    }
}

/// When input `id` playing a file has its next packet due.
fn playing_at(inputs: &HashMap<u64, Input>, id: u64) -> Option<Instant> {
    inputs.get(&id).and_then(|i| i.player.as_ref()).and_then(|p| p.due)
}

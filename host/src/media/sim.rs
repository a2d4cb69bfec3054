//! An in-memory network for the media core: str0m client peers (real ICE, DTLS and SRTP) talk
//! to a [`MediaCore`] through a simulated wire and clock, with no sockets. Unit tests and the
//! fan-out benchmark (`portunus-bench-media`) drive the core with it.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::{ExtensionValues, RtpWrite, VideoOrientation};
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

use super::core::{CoreSetup, MediaCore, Transmitter};
use super::{rtc_template, Command, Homes, Tunables};
use crate::vocab::{AnswerPolicy, Endpoint, ForwardRule, HandleRef, MediaEvent, Notice, RtpTarget, Sink};

/// The gateway's side of the wire: counts RTP sent, keeps datagrams only when asked.
#[derive(Debug, Default)]
pub struct Wire {
    /// Keep what is sent (to deliver it to the clients); otherwise only count it.
    pub keep: bool,
    /// Datagrams sent and kept: (destination, bytes).
    pub out: Vec<(SocketAddr, Vec<u8>)>,
    /// RTP datagrams sent.
    pub rtp_sent: u64,
}

impl Transmitter for Wire {
    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        if crate::media::is_rtp(data) {
            self.rtp_sent += 1;
        }
        if self.keep {
            self.out.push((to, data.to_vec()));
        }
    }
}

/// A client peer: a str0m `Rtc` that sends and receives one video stream.
pub struct Client {
    /// Its WebRTC state machine.
    pub rtc: Rtc,
    /// Its address on the wire.
    pub addr: SocketAddr,
    /// Its video stream.
    pub mid: Mid,
    /// Its second video stream, when made with [`SimOptions::second_video`].
    pub second_mid: Option<Mid>,
    /// The streams the gateway asked a keyframe of, in order.
    pub keyframe_requests: Vec<Mid>,
    /// ICE and DTLS are up.
    pub connected: bool,
    next: Instant,
    /// The counters (last 8 payload bytes) of the RTP packets it decrypted.
    pub got: Vec<u64>,
    /// Their sequence numbers.
    pub got_seq: Vec<u64>,
    /// How many of them said the video is rotated by 90° (the sources say so on every packet).
    pub rotated: usize,
    /// Bandwidth estimates made from the gateway's transport-wide congestion control feedback.
    pub twcc_estimates: usize,
}

/// The rids of a simulcast source, highest quality first.
pub const SIMULCAST_RIDS: [&str; 3] = ["h", "m", "l"];

/// How a [`Sim`] is set up.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimOptions {
    /// `slowlink_threshold` of the core.
    pub slowlink_threshold: u32,
    /// `min_nack_queue` of the core (none: the default).
    pub nack_queue: Option<Duration>,
    /// Client 0 sends simulcast ([`SIMULCAST_RIDS`]).
    pub simulcast: bool,
    /// Client 0 estimates its bandwidth from the gateway's TWCC feedback (its pacer then
    /// spaces packets: keep bursts short).
    pub source_bwe: bool,
    /// Client 0 sends a second video stream.
    pub second_video: bool,
    /// The gateway is behind a 1:1 NAT: it advertises [`PUBLIC`] only (`nat_1_1_mapping`),
    /// and the clients reach it there.
    pub one_to_one_nat: bool,
    /// Event handlers are on: (`stats_period` in seconds, `combine_media_stats`).
    pub handler_news: Option<(u64, bool)>,
    /// Every other client also receives this many more video streams (as a subscriber of
    /// many publishers does), none of them fed.
    pub more_streams: usize,
}

/// The gateway's address on the wire.
pub const GATEWAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
/// The gateway's public address with [`SimOptions::one_to_one_nat`].
pub const PUBLIC: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(203, 0, 113, 7)), 40000);
/// The VP8 payload type the clients use.
const VP8: Pt = Pt::new_with_value(96);
/// Size of the payloads the source sends.
pub const PAYLOAD: usize = 1100;

fn client_addr(i: usize) -> SocketAddr {
    let ip = Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 1) as u8);
    SocketAddr::new(IpAddr::V4(ip), 5000)
}

/// Whether a datagram to client `i` is the one `plan` (client, n-th next) says to lose; counts
/// it down.
fn lose(plan: &mut Option<(usize, usize)>, i: usize) -> bool {
    match *plan {
        Some((client, n)) if client == i => {
            *plan = n.checked_sub(1).map(|n| (client, n));
            n == 0
        }
        _ => false,
    }
}

/// The handle of client `i`.
pub fn handle(i: usize) -> HandleRef {
    HandleRef { session_id: 1, handle_id: i as u64 + 1 }
}

/// A core, its clients and the simulated clock.
pub struct Sim {
    /// The core under test.
    pub core: MediaCore<Wire>,
    /// What the core reported.
    pub notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    /// What the core reported while [`Sim::connect`] waited.
    pub seen_connecting: Vec<Notice>,
    /// The clients; client 0 is the source in [`Sim::forward_from_first`].
    pub clients: Vec<Client>,
    by_addr: HashMap<SocketAddr, usize>,
    /// The simulated time.
    pub now: Instant,
    /// Loses the n-th next RTP datagram the core sends to this client: (client, n).
    pub lose_rtp_to: Option<(usize, usize)>,
    /// Loses the n-th next DTLS datagram the core sends to this client: (client, n).
    pub lose_dtls_to: Option<(usize, usize)>,
    /// The gateway's address as the clients see it.
    seen_at: SocketAddr,
    /// A client address whose datagrams no longer reach the gateway (a network change).
    pub cut_off: Option<SocketAddr>,
    /// What the core sends this client arrives this much later: (client, delay).
    pub delay_to: Option<(usize, Duration)>,
    /// Datagrams on their way under `delay_to`: (when they arrive, client, bytes).
    delayed: std::collections::VecDeque<(Instant, usize, Vec<u8>)>,
}

impl Sim {
    /// A core with `peers` clients that have offered and got their answers (not connected yet).
    pub fn new(peers: usize) -> anyhow::Result<Self> {
        Self::with(peers, SimOptions::default())
    }

    /// As [`Sim::new`], with options.
    pub fn with(peers: usize, options: SimOptions) -> anyhow::Result<Self> {
        let SimOptions {
            slowlink_threshold,
            nack_queue,
            simulcast,
            source_bwe,
            second_video,
            one_to_one_nat,
            handler_news,
            more_streams,
        } = options;
        let seen_at = if one_to_one_nat { PUBLIC } else { GATEWAY };
        let now = Instant::now();
        let (tx, notices) = tokio::sync::mpsc::unbounded_channel();
        let template = rtc_template(false, None)?;
        let tunables = Arc::new(Tunables::new(&crate::config::Media {
            no_media_timer: 1,
            slowlink_threshold,
            min_nack_queue: nack_queue.map_or(crate::config::DEFAULT_NACK_QUEUE_MS, |q| q.as_millis() as u64),
            ..crate::config::Media::default()
        }));
        if let Some((period, combine)) = handler_news {
            tunables.tell_handlers(period, combine, None);
        }
        let setup = CoreSetup {
            index: 0,
            siblings: Vec::new(),
            local: GATEWAY,
            advertised: vec![seen_at],
            template,
            notices: tx,
            tunables,
            full_trickle: false,
            streams: Default::default(),
            mixer: None,
            connected: Default::default(),
        };
        let mut core = MediaCore::new(setup, Wire::default(), now);
        let mut clients = Vec::new();
        for i in 0..peers {
            let addr = client_addr(i);
            // The source estimates its bandwidth from the gateway's TWCC feedback.
            let bwe = (source_bwe && i == 0).then(|| str0m::bwe::Bitrate::mbps(100));
            let mut rtc = RtcConfig::new().set_rtp_mode(true).enable_bwe(bwe).build(now);
            rtc.add_local_candidate(Candidate::host(addr, "udp")?);
            let mut change = rtc.sdp_api();
            let layers = (simulcast && i == 0).then(|| str0m::media::Simulcast {
                send: SIMULCAST_RIDS.iter().map(|r| str0m::media::SimulcastLayer::new(r)).collect(),
                recv: Vec::new(),
            });
            let mid = change.add_media(MediaKind::Video, Direction::SendRecv, None, None, layers);
            let second_mid = (second_video && i == 0)
                .then(|| change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None));
            for _ in 0..if i == 0 { 0 } else { more_streams } {
                change.add_media(MediaKind::Video, Direction::RecvOnly, None, None, None);
            }
            let (offer, pending) = change.apply().ok_or_else(|| anyhow::anyhow!("no offer"))?;
            core.command(now, Command::RemoteOffer(handle(i), offer.to_sdp_string()));
            let (reply, answer) = std::sync::mpsc::channel();
            let policy = AnswerPolicy { data: false, ..AnswerPolicy::everything() };
            core.command(now, Command::Answer(handle(i), policy, crate::media::reply_to(reply)));
            core.flush();
            let answer = answer.recv()?.map_err(anyhow::Error::msg)?;
            rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&answer)?)?;
            clients.push(Client {
                rtc,
                addr,
                mid,
                second_mid,
                keyframe_requests: Vec::new(),
                connected: false,
                next: now,
                got: Vec::new(),
                got_seq: Vec::new(),
                rotated: 0,
                twcc_estimates: 0,
            });
        }
        let by_addr = clients.iter().enumerate().map(|(i, c)| (c.addr, i)).collect();
        Ok(Self {
            core,
            notices,
            clients,
            by_addr,
            now,
            lose_rtp_to: None,
            lose_dtls_to: None,
            seen_at,
            cut_off: None,
            delay_to: None,
            delayed: Default::default(),
            seen_connecting: Vec::new(),
        })
    }

    /// Moves datagrams both ways once and runs the timers that are due.
    pub fn pump(&mut self) -> anyhow::Result<()> {
        self.core.transmitter().keep = true;
        for i in 0..self.clients.len() {
            if self.clients[i].next <= self.now {
                self.clients[i].rtc.handle_input(Input::Timeout(self.now))?;
            }
            self.drain_client(i)?;
        }
        // As a media thread does on every wake-up.
        self.core.timeouts(self.now);
        self.core.flush();
        // What arrives now: the delayed datagrams that are due, then the new ones not delayed.
        let mut out = Vec::new();
        while self.delayed.front().is_some_and(|(at, ..)| *at <= self.now) {
            out.extend(self.delayed.pop_front().map(|(_, i, data)| (i, data)));
        }
        for (to, data) in std::mem::take(&mut self.core.transmitter().out) {
            let Some(&i) = self.by_addr.get(&to) else { continue };
            match self.delay_to {
                Some((client, delay)) if client == i => self.delayed.push_back((self.now + delay, i, data)),
                _ => out.push((i, data)),
            }
        }
        for (i, data) in out {
            let to = self.clients[i].addr;
            let lost = match (crate::media::is_rtp(&data), super::demux::is_dtls(&data)) {
                (true, _) => lose(&mut self.lose_rtp_to, i),
                (_, true) => lose(&mut self.lose_dtls_to, i),
                _ => false,
            };
            if lost {
                continue;
            }
            let recv = Receive::new(Protocol::Udp, self.seen_at, to, &data)?;
            self.clients[i].rtc.handle_input(Input::Receive(self.now, recv))?;
            // Drained after every input, as str0m requires.
            self.drain_client(i)?;
        }
        Ok(())
    }

    /// Takes a client's output: datagrams go to the core, decrypted RTP is recorded.
    fn drain_client(&mut self, i: usize) -> anyhow::Result<()> {
        let c = &mut self.clients[i];
        loop {
            match c.rtc.poll_output()? {
                Output::Timeout(t) => {
                    c.next = t;
                    return Ok(());
                }
                Output::Transmit(t) if self.cut_off == Some(t.source) => {}
                Output::Transmit(t) => self.core.datagram(self.now, t.source, &t.contents),
                Output::Event(Event::Connected) => c.connected = true,
                Output::Event(Event::RtpPacket(p)) if p.payload.len() >= 8 => {
                    let mut n = [0u8; 8];
                    n.copy_from_slice(&p.payload[p.payload.len() - 8..]);
                    c.got.push(u64::from_be_bytes(n));
                    c.got_seq.push(*p.seq_no);
                    c.rotated +=
                        usize::from(p.header.ext_vals.video_orientation == Some(VideoOrientation::Deg90));
                }
                Output::Event(Event::KeyframeRequest(r)) => c.keyframe_requests.push(r.mid),
                Output::Event(Event::EgressBitrateEstimate(str0m::bwe::BweKind::Twcc { .. })) => {
                    c.twcc_estimates += 1;
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Pumps, one simulated millisecond at a time, until every client is connected and the core
    /// said `webrtcup` for each; returns the simulated time it took.
    pub fn connect(&mut self) -> anyhow::Result<Duration> {
        let start = self.now;
        let mut up = 0;
        for _ in 0..20_000 {
            self.pump()?;
            while let Ok(n) = self.notices.try_recv() {
                up += usize::from(matches!(n.event, MediaEvent::WebrtcUp));
                self.seen_connecting.push(n);
            }
            if up == self.clients.len() && self.clients.iter().all(|c| c.connected) {
                return Ok(self.now - start);
            }
            self.now += Duration::from_millis(1);
        }
        anyhow::bail!("peers did not connect ({up} of {} up)", self.clients.len())
    }

    /// Client `i` moves to a new address and restarts ICE (a phone leaving Wi-Fi): its old
    /// address is cut off both ways, it offers again with new credentials and a new candidate.
    pub fn move_and_restart_ice(&mut self, i: usize) -> anyhow::Result<()> {
        let old = self.clients[i].addr;
        let new = SocketAddr::new(old.ip(), old.port() + 1);
        self.cut_off = Some(old);
        let c = &mut self.clients[i];
        c.addr = new;
        c.rtc.add_local_candidate(Candidate::host(new, "udp")?);
        let mut change = c.rtc.sdp_api();
        change.ice_restart(true);
        let (offer, pending) = change.apply().ok_or_else(|| anyhow::anyhow!("no offer"))?;
        self.by_addr.remove(&old);
        self.by_addr.insert(new, i);
        // Its checks will come from an address its SDP does not name (peer-reflexive, as
        // behind a NAT), so the gateway must find it by the new ICE username.
        let offer: String = offer
            .to_sdp_string()
            .lines()
            .filter(|l| !l.starts_with("a=candidate"))
            .map(|l| format!("{l}\r\n"))
            .collect();
        self.core.command(self.now, Command::RemoteOffer(handle(i), offer));
        let (reply, answer) = std::sync::mpsc::channel();
        let policy = AnswerPolicy { data: false, ..AnswerPolicy::everything() };
        self.core.command(self.now, Command::Answer(handle(i), policy, crate::media::reply_to(reply)));
        let answer = answer.recv()?.map_err(anyhow::Error::msg)?;
        self.clients[i].rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&answer)?)?;
        Ok(())
    }

    /// Pumps `ms` simulated milliseconds, one at a time.
    pub fn run_for(&mut self, ms: u64) -> anyhow::Result<()> {
        for _ in 0..ms {
            self.now += Duration::from_millis(1);
            self.pump()?;
        }
        Ok(())
    }

    /// Client `client` sends `count` packets (counters `first..`) that reach the gateway; then
    /// 5 ms pass, enough for them to be forwarded and received.
    pub fn send_from(&mut self, client: usize, count: usize, first: u64) -> anyhow::Result<()> {
        let from = self.clients[client].addr;
        for p in self.packets_from(client, count, first)? {
            self.core.datagram(self.now, from, &p);
        }
        self.run_for(5)
    }

    /// Adds rules from client 0 to every other client.
    pub fn forward_from_first(&mut self) {
        for i in 1..self.clients.len() {
            let rule = ForwardRule {
                src: Endpoint::Peer(handle(0)),
                src_mid: None,
                dst: Sink::Peer { handle: handle(i), mid: None },
                substream: None,
                temporal: None,
                kinds: Vec::new(),
            };
            self.core.command(self.now, Command::Forward(i as u64, rule, Homes::default()));
        }
    }

    /// Adds `n` RTP outputs (Janus's `rtp_forward`) of client 0's stream, to made-up addresses.
    pub fn rtp_forward_from_first(&mut self, n: usize) {
        for i in 0..n {
            let rule = ForwardRule {
                src: Endpoint::Peer(handle(0)),
                src_mid: Some(self.clients[0].mid.to_string()),
                dst: Sink::Rtp(RtpTarget {
                    addr: SocketAddr::from(([10, 0, (i / 250) as u8, (i % 250) as u8 + 1], 5004)),
                    ssrc: i as u32 + 1,
                    payload_type: Some(96),
                    srtp: None,
                    feedback: None,
                }),
                substream: None,
                temporal: None,
                kinds: Vec::new(),
            };
            self.core.command(self.now, Command::Forward(1_000 + i as u64, rule, Homes::default()));
        }
    }

    /// Opens an RTP input with one VP8 stream (call inside a tokio runtime: its socket joins
    /// it) and forwards it to every client but the first; returns its id.
    pub fn input_to_clients(&mut self) -> anyhow::Result<u64> {
        let id = 1 | crate::vocab::INPUT_BIT;
        let codec = crate::vocab::LegCodec { pt: 96, name: "vp8".into(), clock: 90_000 };
        let stream = crate::vocab::InputStreamSpec {
            mid: "v".into(),
            kind: crate::vocab::MediaKind::Video,
            codec,
            fmtp: None,
            ports: vec![0],
            ssrcs: Vec::new(),
            rtcp_port: None,
            mcast: None,
        };
        let spec = crate::vocab::InputSpec {
            bind: None,
            source: None,
            streams: vec![stream],
            no_media_ms: 0,
            collision: None,
            srtp: None,
            file: None,
            rtsp: None,
        };
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")?;
        socket.set_nonblocking(true)?;
        let status =
            std::sync::Arc::new(super::inputs::InputStatus::new(spec.streams.iter().map(|s| s.mid.as_str())));
        let setup =
            super::inputs::InputSetup { id, spec, sockets: vec![vec![socket]], rtcp: vec![None], status };
        self.core.command(self.now, Command::InputOpen(Box::new(setup)));
        for i in 1..self.clients.len() {
            let rule = ForwardRule {
                src: Endpoint::Input(id),
                src_mid: Some("v".into()),
                dst: Sink::Peer { handle: handle(i), mid: None },
                substream: None,
                temporal: None,
                kinds: Vec::new(),
            };
            self.core.command(self.now, Command::Forward(2_000 + i as u64, rule, Homes::default()));
        }
        Ok(id)
    }

    /// `count` plain RTP VP8 packets as a camera sends them to an input (a keyframe every 30).
    pub fn camera_packets(count: usize, first: u64) -> Vec<Vec<u8>> {
        (first..first + count as u64)
            .map(|n| {
                let mut p = vec![0x80, 0x80 | 96];
                p.extend_from_slice(&(n as u16).to_be_bytes());
                p.extend_from_slice(&((n as u32) * 3000).to_be_bytes());
                p.extend_from_slice(&0xcafe_u32.to_be_bytes());
                let key = n % 30 == 0;
                p.extend_from_slice(&[0x10, if key { 0x10 } else { 0x11 }, 0x19, 0x00]);
                p.resize(12 + PAYLOAD, 0x42);
                p
            })
            .collect()
    }

    /// `count` encrypted RTP datagrams from client 0, 1 ms apart, whose payloads end with the
    /// counters `first..` (VP8 payloads: a keyframe every 30 packets).
    pub fn source_packets(&mut self, count: usize, first: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        self.packets_from(0, count, first)
    }

    /// As [`Sim::source_packets`], from another client.
    pub fn packets_from(&mut self, client: usize, count: usize, first: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        let mid = self.clients[client].mid;
        self.write_packets(client, mid, count, first, &[None])
    }

    /// As [`Sim::source_packets`], on another stream of client 0.
    pub fn source_packets_on(&mut self, mid: Mid, count: usize, first: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        self.write_packets(0, mid, count, first, &[None])
    }

    /// As [`Sim::source_packets`], one packet per simulcast stream of client 0 (which must be
    /// made with `simulcast`) per step; each counter carries its substream (0 lowest) in its top
    /// byte, and each stream has a keyframe every 10 steps.
    pub fn simulcast_packets(&mut self, count: usize, first: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        let rids: Vec<Option<&str>> = SIMULCAST_RIDS.iter().map(|r| Some(*r)).collect();
        let mid = self.clients[0].mid;
        self.write_packets(0, mid, count, first, &rids)
    }

    fn write_packets(
        &mut self,
        client: usize,
        mid: Mid,
        count: usize,
        first: u64,
        rids: &[Option<&str>],
    ) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(count * rids.len());
        let src = &mut self.clients[client];
        let mut payload = vec![0u8; PAYLOAD];
        let gop = if rids.len() > 1 { 10 } else { 30 };
        for k in 0..count as u64 {
            let n = first + k;
            let at = self.now + Duration::from_millis(k);
            for (i, rid) in rids.iter().enumerate() {
                let layer = (rids.len() - 1 - i) as u64;
                // VP8 payload descriptor (start of partition 0), then the P bit: 0 on keyframes.
                payload[0] = 0x10;
                payload[1] = u8::from(!n.is_multiple_of(gop));
                payload[PAYLOAD - 8..].copy_from_slice(&((layer << 56) | n).to_be_bytes());
                let mut api = src.rtc.direct_api();
                let tx = api
                    .stream_tx_by_mid(mid, rid.map(str0m::media::Rid::from))
                    .ok_or_else(|| anyhow::anyhow!("no send stream for {rid:?}"))?;
                let ext = ExtensionValues {
                    video_orientation: Some(VideoOrientation::Deg90),
                    ..Default::default()
                };
                tx.write_rtp(
                    RtpWrite::new(VP8, n.into(), (n * 3000) as u32, at, payload.clone())
                        .marker(true)
                        .ext_vals(ext),
                );
            }
            src.rtc.handle_input(Input::Timeout(at))?;
            loop {
                match src.rtc.poll_output()? {
                    Output::Timeout(_) => break,
                    Output::Transmit(t) if t.contents.len() > PAYLOAD => out.push(t.contents.to_vec()),
                    _ => {}
                }
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{LayerChange, MediaKind};

    #[test]
    fn a_burst_read_in_one_batch_is_forwarded_whole() {
        let mut sim = Sim::with(2, SimOptions { source_bwe: true, ..SimOptions::default() }).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        let burst = sim.source_packets(10, 1000).expect("packets");
        // All ten arrive at the same instant, as from one recvmmsg.
        let src = sim.clients[0].addr;
        sim.core.transmitter().keep = true;
        for p in &burst {
            sim.core.datagram(sim.now, src, p);
        }
        sim.run_for(5).expect("pump");
        let got: Vec<u64> = sim.clients[1].got.iter().copied().filter(|n| *n >= 1000).collect();
        assert_eq!(got, (1000..1010).collect::<Vec<u64>>());
        // The rotation header extension went along.
        assert!(sim.clients[1].rotated >= 10, "{}", sim.clients[1].rotated);
        // The source got transport-wide congestion control feedback for what it sent.
        assert!(sim.clients[0].twcc_estimates > 0, "no TWCC feedback reached the source");
    }

    /// A burst read as one batch is forwarded when the batch is done, each subscriber's packets
    /// together (so that they leave as one segmented message), none missing.
    #[test]
    fn a_batch_leaves_grouped_by_subscriber() {
        let mut sim = Sim::new(4).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        let burst = sim.source_packets(4, 2000).expect("packets");
        let src = sim.clients[0].addr;
        sim.core.transmitter().keep = true;
        sim.core.transmitter().out.clear();
        for p in &burst {
            sim.core.receive(sim.now, src, p);
        }
        // Sent by the flush itself: no turn of the timers is needed (str0m's pacer releases
        // written media on a timeout, which the drain runs at once when it is due).
        sim.core.flush();
        let rtp: Vec<SocketAddr> = sim
            .core
            .transmitter()
            .out
            .iter()
            .filter(|(_, d)| crate::media::is_rtp(d))
            .map(|(to, _)| *to)
            .collect();
        assert_eq!(rtp.len(), 12, "four packets to each of three subscribers: {rtp:?}");
        // Each subscriber's four come one after another.
        let changes = rtp.windows(2).filter(|w| w[0] != w[1]).count();
        assert_eq!(changes, 2, "{rtp:?}");
    }

    /// A media thread sleeps until 10 ms past the earliest PeerConnection timer, and that
    /// wake-up runs every peer timer due by then: timers that fall due close together share it.
    #[test]
    fn peer_timers_due_close_together_share_a_wake_up() {
        let mut sim = Sim::new(4).expect("sim");
        sim.connect().expect("connected");
        // Each peer's (filed deadline, timeout).
        let timers = |sim: &mut Sim| -> Vec<(Option<Instant>, Instant)> {
            let mut v = Vec::new();
            for i in 0..4 {
                let p = sim.core.peer_mut(handle(i).handle_id).expect("peer");
                v.push((p.filed, p.timeout));
            }
            v
        };
        let mut most = 0;
        // Wake-ups as a thread with no traffic has them.
        for _ in 0..50 {
            let peers = timers(&mut sim);
            // The heap holds each peer's filed deadline (at most its timeout: one that moved
            // later is filed again when the earlier entry fires).
            let earliest = peers.iter().filter_map(|p| p.0).min().expect("timers");
            let wake = sim.core.next_timeout().expect("a wake-up");
            assert_eq!(wake, earliest + super::super::timers::PEER_SLACK, "the earliest, 10 ms late");
            let due = peers.iter().filter(|p| p.1 <= wake).count();
            most = most.max(due);
            sim.now = wake;
            sim.core.timeouts(wake);
            sim.core.flush();
            let peers = timers(&mut sim);
            assert!(peers.iter().all(|p| p.1 > wake), "all {due} due by the wake-up ran on it: {peers:?}");
        }
        // (So the check above saw one wake-up serve several peers.)
        assert!(most >= 2, "no wake-up had several peers' timers due: {most} at most");
    }

    /// What the event handlers were told about handle `h`: (kind, subtype, body).
    fn news(ns: &[Notice], h: HandleRef) -> Vec<(crate::events::Kind, u8, serde_json::Value)> {
        ns.iter()
            .filter(|n| n.handle == h)
            .filter_map(|n| match &n.event {
                MediaEvent::ForHandlers { kind, subtype, body } => Some((*kind, *subtype, body.clone())),
                _ => None,
            })
            .collect()
    }

    /// The `retransmissions` of the DTLS state events among what the handlers were told.
    fn dtls_retransmissions(told: &[(crate::events::Kind, u8, serde_json::Value)]) -> Vec<u64> {
        told.iter()
            .filter(|(k, s, _)| *k == crate::events::Kind::Webrtc && *s == 5)
            .map(|(_, _, b)| b["retransmissions"].as_u64().expect("a count"))
            .collect()
    }

    /// A DTLS flight of ours that is lost is sent again when our timer runs out, and the
    /// handlers hear how many were, as Janus's `retransmissions`.
    #[test]
    fn a_lost_dtls_flight_is_sent_again_and_counted() {
        for lost in [1, 2] {
            let options = SimOptions { handler_news: Some((2, false)), ..SimOptions::default() };
            let mut sim = Sim::with(2, options).expect("sim");
            // Client 1 never gets our first `lost` DTLS datagrams.
            sim.lose_dtls_to = Some((1, 0));
            let mut left = lost - 1;
            let started = sim.now;
            for _ in 0..20_000 {
                sim.pump().expect("pump");
                if sim.lose_dtls_to.is_none() && left > 0 {
                    left -= 1;
                    sim.lose_dtls_to = Some((1, 0));
                }
                let ns = notices(&mut sim);
                sim.seen_connecting.extend(ns);
                if sim.clients.iter().all(|c| c.connected)
                    && sim.core.peer_mut(handle(1).handle_id).is_some_and(|p| p.connected)
                {
                    break;
                }
                sim.now += Duration::from_millis(1);
            }
            let told = news(&sim.seen_connecting, handle(1));
            // `trying` when ICE is up (0), again with each flight sent again (1, 2, …: a lost
            // ClientHello is sent again on our timer; what follows may be sent again when the
            // far end repeats its flight), then `connected` with the last count.
            let counts = dtls_retransmissions(&told);
            let n = counts.len();
            let trying: Vec<u64> = (0..n as u64 - 1).collect();
            let took = sim.now - started;
            assert!(n >= lost + 2 && counts[..n - 1] == trying[..], "{lost} lost: {counts:?} after {took:?}");
            assert_eq!(counts[n - 1], counts[n - 2], "connected tells the count: {told:?}");
            // The other client lost nothing.
            assert_eq!(sim.core.peer_mut(handle(0).handle_id).expect("peer").dtls_retries.count, 0);
        }
    }

    fn notices(sim: &mut Sim) -> Vec<Notice> {
        std::iter::from_fn(|| sim.notices.try_recv().ok()).collect()
    }

    #[test]
    fn a_lost_packet_is_retransmitted_on_nack() {
        let got = received_after_a_loss(SimOptions::default());
        assert_eq!(got, (500..540).collect::<Vec<u64>>(), "the receiver's NACK brought it back");
    }

    /// `min_nack_queue = 0`, as in Janus: sent video is not kept, a lost packet stays lost.
    #[test]
    fn nothing_is_retransmitted_without_a_nack_queue() {
        let got =
            received_after_a_loss(SimOptions { nack_queue: Some(Duration::ZERO), ..SimOptions::default() });
        // `lose_rtp_to` lets ten packets through and drops the eleventh.
        let expected: Vec<u64> = (500..540).filter(|n| *n != 510).collect();
        assert_eq!(got, expected, "the packet lost on the way never came back");
    }

    /// A subscriber far away (400 ms on the way to it, so a round trip of 400 ms): its receiver
    /// reports make its NACK queue the round trip and 100 ms, longer than `min_nack_queue`
    /// (200 ms by default), as Janus's; a packet lost on the way to it comes back on its NACK,
    /// which reaches the gateway some 400 ms after the packet left.
    #[test]
    fn a_far_subscriber_keeps_sent_video_for_its_round_trip() {
        let far = Some(Duration::from_millis(400));
        let got = received_after_a_loss_over(SimOptions::default(), far);
        assert_eq!(got, (1000..1200).collect::<Vec<u64>>(), "the receiver's NACK brought it back");
    }

    /// `set-rtp-extensions` makes no PeerConnection (a handle that never negotiates holds
    /// none); the handle's negotiations, also one after a hangup, answer with what was set.
    #[test]
    fn a_handles_extensions_wait_for_its_negotiations() {
        let mut sim = Sim::new(0).expect("sim");
        let h = handle(7);
        sim.core.command(sim.now, Command::RtpExtensions(h, crate::vocab::RtpExtensions::NONE));
        assert!(sim.core.peer_mut(h.handle_id).is_none(), "no PeerConnection before a negotiation");
        let answer = |sim: &mut Sim| {
            let mut rtc = RtcConfig::new().set_rtp_mode(true).build(sim.now);
            let mut change = rtc.sdp_api();
            change.add_media(str0m::media::MediaKind::Audio, Direction::SendRecv, None, None, None);
            let (offer, _) = change.apply().expect("an offer");
            let offer = offer.to_sdp_string();
            assert!(offer.contains("ssrc-audio-level"), "the client offers the audio level: {offer}");
            sim.core.command(sim.now, Command::RemoteOffer(h, offer));
            let (reply, answer) = std::sync::mpsc::channel();
            let policy = AnswerPolicy { data: false, ..AnswerPolicy::everything() };
            sim.core.command(sim.now, Command::Answer(h, policy, crate::media::reply_to(reply)));
            sim.core.flush();
            answer.recv().expect("an answer").expect("answered")
        };
        for round in ["first", "after a hangup"] {
            let sdp = answer(&mut sim);
            assert!(sdp.contains("m=audio") && !sdp.contains("ssrc-audio-level"), "{round}: {sdp}");
            sim.core.command(sim.now, Command::Hangup(h, "test".into()));
        }
    }

    /// The counters client 1 got of 40 packets forwarded from client 0, the eleventh lost on the
    /// way to it, after time enough for its NACK to be answered.
    fn received_after_a_loss(options: SimOptions) -> Vec<u64> {
        received_after_a_loss_over(options, None)
    }

    /// As [`received_after_a_loss`], with a `delay` on the way to client 1: after three seconds
    /// of video (numbered from 0, whose reports tell the gateway the round trip), a second of
    /// video numbered from 1000 (it goes on while the NACK is on its way: the cache is bounded
    /// as packets come).
    fn received_after_a_loss_over(options: SimOptions, delay: Option<Duration>) -> Vec<u64> {
        let mut sim = Sim::with(2, options).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        let src = sim.clients[0].addr;
        let send = |sim: &mut Sim, packets: &[Vec<u8>]| {
            for p in packets {
                sim.now += Duration::from_millis(5);
                sim.core.datagram(sim.now, src, p);
                sim.pump().expect("pump");
            }
        };
        if let Some(delay) = delay {
            sim.delay_to = Some((1, delay));
            let video = sim.source_packets(600, 0).expect("packets");
            send(&mut sim, &video);
            // What is on its way arrives.
            for _ in 0..delay.as_millis() / 5 + 10 {
                sim.now += Duration::from_millis(5);
                sim.pump().expect("pump");
            }
        }
        let (first, count) = if delay.is_some() { (1000, 200) } else { (500, 40) };
        let packets = sim.source_packets(count, first).expect("packets");
        sim.lose_rtp_to = Some((1, 10));
        send(&mut sim, &packets);
        let wait = 100 + delay.map_or(0, |d| 2 * d.as_millis() as usize / 5);
        for _ in 0..wait {
            sim.now += Duration::from_millis(5);
            sim.pump().expect("pump");
        }
        assert!(sim.lose_rtp_to.is_none(), "a packet was lost on the way");
        let mut got: Vec<u64> =
            sim.clients[1].got.iter().copied().filter(|n| (first..first + 1000).contains(n)).collect();
        got.sort_unstable();
        got.dedup();
        got
    }

    /// The event handlers' news of a PeerConnection, as Janus's: ICE states, candidates, the
    /// selected pair, DTLS, then each stream's statistics every `stats_period`.
    #[test]
    fn event_handlers_hear_ice_dtls_and_statistics() {
        let options = SimOptions { handler_news: Some((2, false)), ..SimOptions::default() };
        let mut sim = Sim::with(2, options).expect("sim");
        sim.connect().expect("connected");
        let told = news(&sim.seen_connecting, handle(1));
        let values = |subtype: u8, key: &str| -> Vec<String> {
            told.iter()
                .filter(|(k, s, _)| *k == crate::events::Kind::Webrtc && *s == subtype)
                .map(|(_, _, b)| b[key].as_str().unwrap_or_default().to_owned())
                .collect()
        };
        let ice = values(1, "ice");
        assert_eq!(ice.first().map(String::as_str), Some("gathering"), "{told:?}");
        assert!(ice.iter().any(|s| s == "connected"), "{told:?}");
        let local = values(2, "local-candidate");
        assert_eq!(local.len(), 1, "{told:?}");
        assert!(local[0].ends_with(&format!("{} {} typ host", GATEWAY.ip(), GATEWAY.port())), "{local:?}");
        let remote = values(3, "remote-candidate");
        let client = sim.clients[1].addr;
        assert!(remote.iter().any(|c| c.contains(&format!("{} {}", client.ip(), client.port()))), "{told:?}");
        assert!(
            !remote.iter().any(|c| c.starts_with("candidate:")),
            "without the prefix, as Janus: {remote:?}"
        );
        assert_eq!(values(5, "dtls"), ["trying", "connected"], "{told:?}");
        assert_eq!(dtls_retransmissions(&told), [0, 0], "nothing was lost: {told:?}");
        let pair = format!("{GATEWAY} [host,udp] <-> {client} [host,udp]");
        assert_eq!(values(4, "selected-pair"), [pair], "{told:?}");
        assert!(told.iter().all(|(_, _, b)| b["stream_id"] == 1 && b["component_id"] == 1));

        // Video from client 0 to client 1 for a few seconds; statistics every 2 s.
        sim.forward_from_first();
        let mut stats = Vec::new();
        for second in 0..5u64 {
            sim.send_from(0, 100, second * 100).expect("sent");
            sim.run_for(995).expect("ran");
            sim.core.housekeeping(sim.now);
            let ns = notices(&mut sim);
            stats.extend(
                news(&ns, handle(0))
                    .into_iter()
                    .chain(news(&ns, handle(1)))
                    .filter(|(k, s, _)| *k == crate::events::Kind::Media && *s == 3),
            );
        }
        let of = |key: &str, h: usize| -> Vec<u64> {
            stats
                .iter()
                .filter(|(_, _, b)| b["mid"] == sim.clients[h].mid.to_string())
                .map(|(_, _, b)| b[key].as_u64().unwrap_or(0))
                .collect()
        };
        let body = &stats.first().expect("statistics told").2;
        assert_eq!(
            (body["media"].as_str(), body["codec"].as_str(), body["base"].as_u64()),
            (Some("video"), Some("vp8"), Some(90000)),
            "{body}"
        );
        assert_eq!(body["mindex"], 0, "{body}");
        // Two or three reports each (every 2 s of 5), counters growing.
        let received = of("packets-received", 0);
        assert!((2..=3).contains(&received.len()), "{stats:?}");
        assert!(received.iter().max().copied().unwrap_or(0) >= 300, "the source's packets: {received:?}");
        assert!(of("packets-sent", 1).iter().max().copied().unwrap_or(0) >= 300, "{stats:?}");
        assert!(of("bytes-sent-lastsec", 1).iter().any(|b| *b >= 100 * PAYLOAD as u64), "{stats:?}");
        assert!(of("in-link-quality", 0).contains(&100), "nothing lost: {stats:?}");
    }

    /// A peer that goes takes its addresses with it (and only its own).
    #[test]
    fn a_hangup_forgets_the_peers_addresses() {
        let mut sim = Sim::new(3).expect("sim");
        sim.connect().expect("connected");
        let routed = sim.core.routed_addresses();
        assert!(routed >= 3, "{routed}");
        sim.core.command(sim.now, Command::Hangup(handle(1), "test".into()));
        assert_eq!(sim.core.routed_addresses(), routed - 1);
        for h in [0, 2] {
            sim.core.command(sim.now, Command::Hangup(handle(h), "test".into()));
        }
        assert_eq!(sim.core.routed_addresses(), 0);
    }

    /// `combine_media_stats`: a PeerConnection's statistics in one event, an array.
    #[test]
    fn combined_statistics_come_as_one_array() {
        let options = SimOptions { handler_news: Some((1, true)), ..SimOptions::default() };
        let mut sim = Sim::with(2, options).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        sim.send_from(0, 50, 0).expect("sent");
        sim.run_for(1000).expect("ran");
        sim.core.housekeeping(sim.now);
        let stats: Vec<serde_json::Value> = notices(&mut sim)
            .into_iter()
            .filter_map(|n| match n.event {
                MediaEvent::ForHandlers { kind: crate::events::Kind::Media, subtype: 3, body } => Some(body),
                _ => None,
            })
            .collect();
        assert_eq!(stats.len(), 2, "one per PeerConnection: {stats:?}");
        assert!(stats.iter().all(|s| s.as_array().is_some_and(|a| a.len() == 1)), "{stats:?}");
    }

    #[test]
    fn losses_from_the_client_make_a_slowlink() {
        let mut sim =
            Sim::with(2, SimOptions { slowlink_threshold: 5, ..SimOptions::default() }).expect("sim");
        sim.connect().expect("connected");
        let packets = sim.source_packets(3000, 0).expect("packets");
        let src = sim.clients[0].addr;
        // Three seconds of video, one packet in ten lost on the way to the gateway.
        for (k, p) in packets.iter().enumerate() {
            sim.now += Duration::from_millis(1);
            if k % 10 != 5 {
                sim.core.datagram(sim.now, src, p);
            }
            sim.pump().expect("pump");
        }
        let slow: Vec<Notice> = notices(&mut sim)
            .into_iter()
            .filter(|n| matches!(n.event, MediaEvent::SlowLink { .. }))
            .collect();
        let Some(Notice { handle: h, event: MediaEvent::SlowLink { kind, uplink, lost, .. } }) = slow.first()
        else {
            panic!("no slowlink: {slow:?}");
        };
        assert_eq!((*h, *kind, *uplink), (handle(0), MediaKind::Video, false), "{slow:?}");
        assert!(*lost >= 5, "{slow:?}");
        // The destination lost nothing.
        assert!(slow.iter().all(|n| n.handle == handle(0)));
    }

    #[test]
    fn simulcast_substreams_switch_on_keyframes_with_continuous_numbers() {
        let mut sim = Sim::with(2, SimOptions { simulcast: true, ..SimOptions::default() }).expect("sim");
        sim.connect().expect("connected");
        let rule = ForwardRule {
            src: Endpoint::Peer(handle(0)),
            src_mid: None,
            dst: Sink::Peer { handle: handle(1), mid: None },
            substream: Some(0),
            temporal: None,
            kinds: Vec::new(),
        };
        sim.core.command(sim.now, Command::Forward(7, rule, Homes::default()));
        let feed = |sim: &mut Sim, packets: &[Vec<u8>]| {
            let src = sim.clients[0].addr;
            for p in packets {
                sim.now += Duration::from_millis(1);
                sim.core.datagram(sim.now, src, p);
                sim.pump().expect("pump");
            }
        };
        let low = sim.simulcast_packets(30, 0).expect("packets");
        feed(&mut sim, &low);
        let layer = |n: &u64| n >> 56;
        let got = sim.clients[1].got.clone();
        assert_eq!(got.len(), 30, "one stream of three passes: {got:?}");
        assert!(got.iter().all(|n| layer(n) == 0), "{got:?}");
        let seen = notices(&mut sim);
        let change = MediaEvent::LayerChanged { rule: 7, change: LayerChange::Substream(0) };
        assert!(seen.contains(&Notice::new(handle(1), change)));

        // Up to the highest: the switch waits for its next keyframe (counter 30).
        sim.core.command(sim.now, Command::Layers(7, Some(2), None));
        let more = sim.simulcast_packets(30, 30).expect("packets");
        feed(&mut sim, &more);
        let got = sim.clients[1].got[30..].to_vec();
        let first_high = got.iter().position(|n| layer(n) == 2).expect("the high stream arrives");
        assert!(
            got[..first_high].iter().all(|n| layer(n) == 0)
                && got[first_high..].iter().all(|n| layer(n) == 2)
        );
        assert_eq!(got[first_high] & 0xffff, 30, "switched on the keyframe");
        // The low stream's packet of the same instant may come first (the client's send order
        // varies); after the switch every high packet arrives.
        assert!(got[..first_high].iter().all(|n| n & 0xffff <= 30), "{got:?}");
        assert_eq!(got.len() - first_high, 30, "{got:?}");
        // One continuous stream for the receiver.
        let seqs = &sim.clients[1].got_seq;
        assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
        let seen = notices(&mut sim);
        let change = MediaEvent::LayerChanged { rule: 7, change: LayerChange::Substream(2) };
        assert!(seen.contains(&Notice::new(handle(1), change)));
    }

    /// An offer of ours that the client's own offer crossed is gone once that offer is
    /// answered (str0m forgot it): our next offer is made, not refused as "a negotiation in
    /// progress".
    #[test]
    fn an_offer_crossed_by_the_clients_is_forgotten_once_that_is_answered() {
        let mut sim = Sim::new(1).expect("sim");
        sim.connect().expect("connected");
        let offer = |sim: &mut Sim, kinds: Vec<crate::media::OfferedKind>| {
            let (reply, got) = std::sync::mpsc::channel();
            let reply = crate::media::reply_to(reply);
            sim.core.command(sim.now, Command::Offer(handle(0), Vec::new(), Vec::new(), kinds, reply));
            got.recv().expect("a reply")
        };
        offer(&mut sim, Vec::new()).expect("an ICE restart, waiting for its answer");
        // The client offers a stream of its own meanwhile: answered.
        let mut change = sim.clients[0].rtc.sdp_api();
        change.add_media(str0m::media::MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (client_offer, pending) = change.apply().expect("an offer");
        sim.core.command(sim.now, Command::RemoteOffer(handle(0), client_offer.to_sdp_string()));
        let (reply, answer) = std::sync::mpsc::channel();
        let policy = AnswerPolicy { data: false, ..AnswerPolicy::everything() };
        sim.core.command(sim.now, Command::Answer(handle(0), policy, crate::media::reply_to(reply)));
        let answer = answer.recv().expect("a reply").expect("answered");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("an answer");
        sim.clients[0].rtc.sdp_api().accept_answer(pending, answer).expect("accepted");
        let audio = crate::media::OfferedKind { kind: MediaKind::Audio, codec: None, two_way: false };
        let (sdp, mids) = offer(&mut sim, vec![audio]).expect("our next offer");
        assert_eq!(mids.len(), 1, "{sdp}");
    }

    #[test]
    fn a_keyframe_request_for_one_stream_reaches_that_stream_only() {
        let mut sim = Sim::with(1, SimOptions { second_video: true, ..SimOptions::default() }).expect("sim");
        sim.connect().expect("connected");
        let (first, second) = (sim.clients[0].mid, sim.clients[0].second_mid.expect("second stream"));
        // Packets on both streams, so that the gateway receives both.
        let mut packets = sim.source_packets(5, 1).expect("packets");
        packets.extend(sim.source_packets_on(second, 5, 100).expect("packets"));
        let src = sim.clients[0].addr;
        for p in &packets {
            sim.core.datagram(sim.now, src, p);
        }
        let ask = |sim: &mut Sim, mid: Option<Mid>| {
            sim.clients[0].keyframe_requests.clear();
            sim.core.command(sim.now, Command::Keyframe(handle(0), mid.map(|m| m.to_string())));
            sim.run_for(5).expect("pump");
            std::mem::take(&mut sim.clients[0].keyframe_requests)
        };
        // One stream, then the other: a request for one does not hold the other back.
        assert_eq!(ask(&mut sim, Some(second)), vec![second]);
        assert_eq!(ask(&mut sim, Some(first)), vec![first]);
        // Both were just asked: held back by the rate limit, not dropped.
        assert_eq!(ask(&mut sim, None), vec![]);
        sim.now += Duration::from_millis(500);
        sim.core.housekeeping(sim.now);
        sim.pump().expect("pump");
        let all = std::mem::take(&mut sim.clients[0].keyframe_requests);
        assert!(all.len() == 2 && all.contains(&first) && all.contains(&second), "{all:?}");
        // And once only.
        sim.now += Duration::from_millis(500);
        sim.core.housekeeping(sim.now);
        sim.pump().expect("pump");
        assert_eq!(sim.clients[0].keyframe_requests, vec![]);
    }

    #[test]
    fn behind_a_one_to_one_nat_clients_connect_to_the_public_address() {
        let mut sim =
            Sim::with(2, SimOptions { one_to_one_nat: true, ..SimOptions::default() }).expect("sim");
        sim.connect().expect("connected through the public address");
        sim.forward_from_first();
        sim.send_from(0, 5, 1).expect("packets");
        assert_eq!(sim.clients[1].got, vec![1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_panicking_peer_is_hung_up_and_the_others_go_on() {
        let mut sim = Sim::new(3).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        notices(&mut sim);
        sim.core.peer_mut(handle(2).handle_id).expect("peer").panic_on_input = true;
        let packets = sim.source_packets(5, 1).expect("packets");
        sim.core.datagram(sim.now, sim.clients[2].addr, &packets[0]);
        let hangups: Vec<String> = notices(&mut sim)
            .into_iter()
            .filter_map(|n| match n {
                Notice { handle: h, event: MediaEvent::Hangup { reason, .. } } if h == handle(2) => {
                    Some(reason)
                }
                _ => None,
            })
            .collect();
        assert_eq!(hangups, vec!["DTLS-SRTP stack error".to_owned()]);
        assert!(sim.core.peer_mut(handle(2).handle_id).is_none(), "the peer is gone");
        let src = sim.clients[0].addr;
        for p in &packets {
            sim.core.datagram(sim.now, src, p);
        }
        sim.run_for(5).expect("pump");
        assert_eq!(sim.clients[1].got, vec![1, 2, 3, 4, 5], "the other peers are served");
    }

    #[test]
    fn a_client_back_within_the_grace_period_keeps_its_peerconnection() {
        let mut sim = Sim::new(2).expect("sim");
        sim.connect().expect("connected");
        let _ = notices(&mut sim);
        let disconnected = |sim: &mut Sim| {
            sim.core.peer_mut(handle(0).handle_id).is_some_and(|p| p.disconnected_at.is_some())
        };
        // Client 0 goes silent until the gateway sees ICE disconnected.
        let mut silent = Duration::ZERO;
        while !disconnected(&mut sim) {
            assert!(silent < Duration::from_secs(30), "never disconnected");
            sim.now += Duration::from_millis(100);
            silent += Duration::from_millis(100);
            sim.core.timeouts(sim.now);
            sim.core.housekeeping(sim.now);
            sim.core.flush();
        }
        // It is back before the grace period ends: ICE recovers, nothing is hung up.
        for _ in 0..100 {
            sim.now += Duration::from_millis(100);
            sim.pump().expect("pump");
            sim.core.housekeeping(sim.now);
        }
        let seen = notices(&mut sim);
        assert!(
            !seen.iter().any(|n| matches!(n.event, MediaEvent::Hangup { .. } | MediaEvent::IceFailed)),
            "{seen:?}"
        );
        assert!(!disconnected(&mut sim), "ICE recovered after {silent:?} of silence");
    }

    #[test]
    fn a_destination_panicking_on_a_forwarded_packet_is_the_only_one_hung_up() {
        let mut sim = Sim::new(3).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        notices(&mut sim);
        sim.core.peer_mut(handle(2).handle_id).expect("peer").panic_on_input = true;
        sim.send_from(0, 5, 1).expect("packets");
        let hung_up: Vec<HandleRef> = notices(&mut sim)
            .into_iter()
            .filter_map(|n| match n {
                Notice { handle: h, event: MediaEvent::Hangup { reason, .. } }
                    if reason == "DTLS-SRTP stack error" =>
                {
                    Some(h)
                }
                _ => None,
            })
            .collect();
        assert_eq!(hung_up, vec![handle(2)], "the destination only, not its source");
        assert_eq!(sim.clients[1].got, vec![1, 2, 3, 4, 5], "the other destination is served");
    }

    #[test]
    fn a_destination_stream_stays_continuous_when_another_source_feeds_it() {
        let mut sim = Sim::new(3).expect("sim");
        sim.connect().expect("connected");
        let rule = |src: usize| ForwardRule {
            src: Endpoint::Peer(handle(src)),
            src_mid: None,
            dst: Sink::Peer { handle: handle(2), mid: None },
            substream: None,
            temporal: None,
            kinds: Vec::new(),
        };
        sim.core.command(sim.now, Command::Forward(1, rule(0), Homes::default()));
        sim.send_from(0, 5, 30).expect("packets");
        // The plugin switches client 2 over to client 1, whose numbers are elsewhere.
        sim.core.command(sim.now, Command::Unforward(1));
        sim.core.command(sim.now, Command::Forward(2, rule(1), Homes::default()));
        sim.send_from(1, 5, 60).expect("packets");
        let c = &sim.clients[2];
        assert_eq!(c.got, vec![30, 31, 32, 33, 34, 60, 61, 62, 63, 64], "both sources arrived");
        let steps: Vec<u64> = c.got_seq.windows(2).map(|w| w[1].wrapping_sub(w[0])).collect();
        assert!(steps.iter().all(|s| *s == 1), "sequence numbers go on by one: {:?}", c.got_seq);
    }

    #[test]
    fn an_ice_restart_from_a_new_address_keeps_the_media_flowing() {
        let mut sim = Sim::new(2).expect("sim");
        sim.connect().expect("connected");
        sim.forward_from_first();
        sim.move_and_restart_ice(1).expect("ICE restart");
        for _ in 0..2000 {
            sim.now += Duration::from_millis(1);
            sim.pump().expect("pump");
            sim.core.housekeeping(sim.now);
        }
        sim.send_from(0, 3, 1).expect("packets");
        assert_eq!(sim.clients[1].got, vec![1, 2, 3], "forwarded to the new address");
        let seen = notices(&mut sim);
        assert!(!seen.iter().any(|n| matches!(n.event, MediaEvent::Hangup { .. })), "{seen:?}");
    }

    #[test]
    fn a_trickled_candidate_cannot_claim_another_clients_address() {
        let mut sim = Sim::new(2).expect("sim");
        // Client 0 trickles client 1's address as its own candidate before anyone connects.
        let theirs = sim.clients[1].addr;
        let candidate = format!("candidate:1 1 udp 2130706431 {} {} typ host", theirs.ip(), theirs.port());
        sim.core.command(sim.now, Command::Trickle(handle(0), candidate));
        sim.core.flush();
        sim.connect().expect("both connect, client 1 too");
        sim.forward_from_first();
        sim.send_from(0, 3, 1).expect("packets");
        assert_eq!(sim.clients[1].got, vec![1, 2, 3]);
    }

    #[test]
    fn silent_clients_are_ice_failed_and_hung_up() {
        let mut sim = Sim::new(2).expect("sim");
        sim.connect().expect("connected");
        let _ = notices(&mut sim);
        // The clients vanish: nothing they send reaches the gateway any more.
        for _ in 0..120 {
            sim.now += Duration::from_millis(500);
            sim.core.timeouts(sim.now);
            sim.core.housekeeping(sim.now);
            sim.core.flush();
        }
        let seen = notices(&mut sim);
        for i in 0..2 {
            let h = handle(i);
            let failed = seen.iter().position(|n| *n == Notice::new(h, MediaEvent::IceFailed));
            let hangup = seen.iter().position(|n| {
                *n == Notice::new(h, MediaEvent::Hangup { reason: "ICE failed".into(), requested: false })
            });
            assert!(failed.is_some() && failed < hangup, "client {i}: {seen:?}");
        }
    }
}

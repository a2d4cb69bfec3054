//! `portunus-bench-media`: the forwarding path in-process. One source peer sends video to N
//! destination peers through a real [`MediaCore`] (str0m peers, real ICE, DTLS and SRTP), with a
//! simulated clock and no sockets: the clients are str0m peers too, their datagrams handed over in
//! memory. Prints forwarded packets per second on this one thread (the core's work only: the
//! clients' encryption and decryption are outside the measurement) and what the core allocates
//! per forwarded packet, then checks that destinations decrypt what they got.
//!
//! ```sh
//! cargo run --release --bin portunus-bench-media [-- 1 10 100 300]
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portunus::api::media::{AnswerPolicy, ForwardRule};
use portunus::api::plugin::HandleRef;
use portunus::media::core::{CoreSetup, MediaCore, Transmitter, TICK};
use portunus::media::{rtc_template, Command, Homes, Notice};
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};

/// Counts what is allocated while `COUNTING` is on (the benchmark runs on one thread).
struct Counting;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

fn count(size: usize) {
    if COUNTING.load(Ordering::Relaxed) {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
}

// SAFETY: every method forwards its arguments unchanged to the system allocator, which upholds
// the `GlobalAlloc` contract; the only addition is updating atomic counters, which neither
// allocates nor touches the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: same layout as received; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (every allocation goes through us).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; the caller upholds `realloc`'s contract.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The gateway's side of the wire: counts RTP sent, keeps datagrams only when asked.
#[derive(Default)]
struct Wire {
    keep: bool,
    out: Vec<(SocketAddr, Vec<u8>)>,
    rtp_sent: u64,
}

impl Transmitter for Wire {
    fn transmit(&mut self, to: SocketAddr, data: &[u8]) {
        // RTCP packet types are 192..=223 in the second byte (RFC 5761); everything else with
        // version 2 is RTP.
        if data.len() >= 12 && data[0] >> 6 == 2 && !(192..=223).contains(&data[1]) {
            self.rtp_sent += 1;
        }
        if self.keep {
            self.out.push((to, data.to_vec()));
        }
    }
}

struct Client {
    rtc: Rtc,
    addr: SocketAddr,
    mid: Mid,
    connected: bool,
    next: Instant,
    /// Payload counters seen in decrypted RTP.
    got: Vec<u64>,
}

const GATEWAY: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40000);
const VP8: Pt = Pt::new_with_value(96);
const PAYLOAD: usize = 1100;

fn client_addr(i: usize) -> SocketAddr {
    let ip = Ipv4Addr::new(10, 1, (i / 250) as u8, (i % 250 + 1) as u8);
    SocketAddr::new(IpAddr::V4(ip), 5000)
}

fn handle(i: usize) -> HandleRef {
    HandleRef { session_id: 1, handle_id: i as u64 + 1 }
}

struct Bench {
    core: MediaCore<Wire>,
    notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    clients: Vec<Client>,
    by_addr: HashMap<SocketAddr, usize>,
    now: Instant,
}

impl Bench {
    fn new(peers: usize) -> anyhow::Result<Self> {
        let now = Instant::now();
        let (tx, notices) = tokio::sync::mpsc::unbounded_channel();
        let template = rtc_template(false)?;
        let setup = CoreSetup {
            index: 0,
            siblings: Vec::new(),
            local: GATEWAY,
            advertised: vec![GATEWAY],
            template,
            notices: tx,
            no_media_timer: Duration::from_secs(1),
        };
        let mut core = MediaCore::new(setup, Wire::default(), now);
        let mut clients = Vec::new();
        for i in 0..peers {
            let addr = client_addr(i);
            let mut rtc = RtcConfig::new().set_rtp_mode(true).build(now);
            rtc.add_local_candidate(Candidate::host(addr, "udp")?);
            let mut change = rtc.sdp_api();
            let mid = change.add_media(MediaKind::Video, Direction::SendRecv, None, None, None);
            let (offer, pending) = change.apply().ok_or_else(|| anyhow::anyhow!("no offer"))?;
            core.command(now, Command::RemoteOffer(handle(i), offer.to_sdp_string()));
            let (reply, answer) = std::sync::mpsc::channel();
            let policy = AnswerPolicy { audio: true, video: true, data: false };
            core.command(now, Command::Answer(handle(i), policy, reply));
            core.flush();
            let answer = answer.recv()?.map_err(anyhow::Error::msg)?;
            rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(&answer)?)?;
            clients.push(Client { rtc, addr, mid, connected: false, next: now, got: Vec::new() });
        }
        let by_addr = clients.iter().enumerate().map(|(i, c)| (c.addr, i)).collect();
        Ok(Self { core, notices, clients, by_addr, now })
    }

    /// Moves datagrams both ways and runs timers until nothing is left to do at this instant.
    fn pump(&mut self) -> anyhow::Result<()> {
        self.core.transmitter().keep = true;
        for c in &mut self.clients {
            if c.next <= self.now {
                c.rtc.handle_input(Input::Timeout(self.now))?;
            }
            loop {
                match c.rtc.poll_output()? {
                    Output::Timeout(t) => {
                        c.next = t;
                        break;
                    }
                    Output::Transmit(t) => self.core.datagram(self.now, c.addr, &t.contents),
                    Output::Event(Event::Connected) => c.connected = true,
                    Output::Event(Event::RtpPacket(p)) => {
                        let mut n = [0u8; 8];
                        n.copy_from_slice(&p.payload[..8]);
                        c.got.push(u64::from_be_bytes(n));
                    }
                    Output::Event(_) => {}
                }
            }
        }
        if self.core.next_timeout().is_some_and(|t| t <= self.now) {
            self.core.timeouts(self.now);
        }
        self.core.flush();
        for (to, data) in std::mem::take(&mut self.core.transmitter().out) {
            let Some(&i) = self.by_addr.get(&to) else { continue };
            let recv = Receive::new(Protocol::Udp, GATEWAY, to, &data)?;
            self.clients[i].rtc.handle_input(Input::Receive(self.now, recv))?;
        }
        Ok(())
    }

    fn connect(&mut self) -> anyhow::Result<Duration> {
        let start = self.now;
        let mut up = 0;
        for _ in 0..20_000 {
            self.pump()?;
            while let Ok(n) = self.notices.try_recv() {
                up += usize::from(matches!(n, Notice::WebrtcUp(_)));
            }
            if up == self.clients.len() && self.clients.iter().all(|c| c.connected) {
                return Ok(self.now - start);
            }
            self.now += Duration::from_millis(1);
        }
        anyhow::bail!("peers did not connect ({up} of {} up)", self.clients.len())
    }

    /// Encrypted datagrams from the source (client 0), made before the measurement.
    fn source_packets(&mut self, count: usize, first: u64) -> anyhow::Result<Vec<Vec<u8>>> {
        let mut out = Vec::with_capacity(count);
        let src = &mut self.clients[0];
        let mut payload = vec![0x90u8; PAYLOAD];
        for k in 0..count as u64 {
            let n = first + k;
            payload[..8].copy_from_slice(&n.to_be_bytes());
            let at = self.now + Duration::from_millis(k);
            let mut api = src.rtc.direct_api();
            let tx = api.stream_tx_by_mid(src.mid, None).ok_or_else(|| anyhow::anyhow!("no send stream"))?;
            tx.write_rtp(
                RtpWrite::new(VP8, n.into(), (n * 3000) as u32, at, payload.clone()).marker(k % 4 == 3),
            );
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

struct Figures {
    forwarded: u64,
    elapsed: Duration,
    allocs: u64,
    bytes: u64,
}

/// Feeds the source's packets to the core, one simulated millisecond apart, and measures it.
fn measure(b: &mut Bench, packets: &[Vec<u8>]) -> Figures {
    let src = b.clients[0].addr;
    b.core.transmitter().keep = false;
    let sent_before = b.core.transmitter().rtp_sent;
    let (a0, b0) = (ALLOCS.load(Ordering::Relaxed), BYTES.load(Ordering::Relaxed));
    let mut last_tick = b.now;
    let started = Instant::now();
    COUNTING.store(true, Ordering::Relaxed);
    for p in packets {
        b.now += Duration::from_millis(1);
        b.core.datagram(b.now, src, p);
        if b.core.next_timeout().is_some_and(|t| t <= b.now) {
            b.core.timeouts(b.now);
        }
        if b.now - last_tick >= TICK {
            last_tick = b.now;
            b.core.housekeeping(b.now);
        }
        b.core.flush();
    }
    COUNTING.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed();
    Figures {
        forwarded: b.core.transmitter().rtp_sent - sent_before,
        elapsed,
        allocs: ALLOCS.load(Ordering::Relaxed) - a0,
        bytes: BYTES.load(Ordering::Relaxed) - b0,
    }
}

fn run(destinations: usize, packets: usize) -> anyhow::Result<()> {
    let mut b = Bench::new(destinations + 1)?;
    let setup = b.connect()?;
    for i in 1..=destinations {
        let rule = ForwardRule {
            src: handle(0),
            src_mid: None,
            dst: handle(i),
            dst_mid: None,
            substream: None,
            temporal: None,
        };
        b.core.command(b.now, Command::Forward(i as u64, rule, Homes::default()));
    }
    b.core.flush();
    // Warm-up (maps fill, streams start), then the measured run.
    let warm = b.source_packets(200, 0)?;
    measure(&mut b, &warm);
    let timed = b.source_packets(packets, 200)?;
    let f = measure(&mut b, &timed);
    // Check: the destinations decrypt what the core sends them.
    let check = b.source_packets(20, 200 + packets as u64)?;
    let first_checked = 200 + packets as u64;
    for p in &check {
        b.now += Duration::from_millis(1);
        b.core.datagram(b.now, b.clients[0].addr, p);
        b.core.flush();
        b.pump()?;
    }
    let ok = b.clients[1..].iter().filter(|c| c.got.iter().any(|n| *n >= first_checked)).count();
    let per_packet = |v: u64| v as f64 / f.forwarded.max(1) as f64;
    println!(
        "{destinations:>4} destinations: {:>9} forwarded in {:>8.1} ms = {:>7.0} k packets/s on one thread; \
         {:.2} allocations, {:.0} bytes allocated per forwarded packet; setup {:?} simulated; \
         {ok}/{destinations} destinations decrypted the check packets",
        f.forwarded,
        f.elapsed.as_secs_f64() * 1e3,
        f.forwarded as f64 / f.elapsed.as_secs_f64() / 1e3,
        per_packet(f.allocs),
        per_packet(f.bytes),
        setup,
    );
    anyhow::ensure!(ok == destinations, "only {ok} of {destinations} destinations got the check packets");
    anyhow::ensure!(
        f.forwarded >= (packets * destinations) as u64,
        "forwarded {} < {}",
        f.forwarded,
        packets * destinations
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let args: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if args.is_empty() { vec![1, 10, 100, 300] } else { args };
    println!("one source → N destinations, {PAYLOAD}-byte VP8 payloads, str0m RTP mode, SRTP AES-GCM/CM");
    for n in sizes {
        let packets = (300_000 / n.max(1)).clamp(500, 20_000);
        run(n, packets)?;
    }
    Ok(())
}

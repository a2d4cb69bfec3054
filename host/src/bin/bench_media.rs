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
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use portunus::media::core::TICK;
use portunus::media::sim::{Sim, PAYLOAD};

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

struct Figures {
    forwarded: u64,
    elapsed: Duration,
    allocs: u64,
    bytes: u64,
}

/// Feeds the source's packets to the core, one simulated millisecond apart, and measures it.
fn measure(b: &mut Sim, packets: &[Vec<u8>]) -> Figures {
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
    let mut b = Sim::new(destinations + 1)?;
    let setup = b.connect()?;
    b.forward_from_first();
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

//! `portunus-bench-media`: the forwarding path in-process, through a real [`MediaCore`] (str0m
//! peers, real ICE, DTLS and SRTP) with a simulated clock and no sockets: the clients are str0m
//! peers too, their datagrams handed over in memory. The paths, each to N destinations:
//!
//! - `peers`: one source peer's video to N destination peers;
//! - `wide`: as `peers`, each destination a subscriber of [`WIDE`] video streams (the others
//!   unfed): what a packet costs must not grow with them.
//! - `rtp-forward`: one source peer's video to N RTP outputs (Janus's `rtp_forward`);
//! - `input`: an RTP input's plain VP8 (a Streaming mountpoint) to N destination peers.
//! - `mixer`: an audio mixer (an AudioBridge room) of N participants, three of them talking:
//!   the mixing thread's work per 20 ms tick (jitter buffers, Opus decode, sums, encodes), and
//!   how many participants one core mixes in real time.
//! - `codec`: the mixer's Opus (ropus, pure Rust) beside libopus (through
//!   `tests/media/libopus.py`, in turns): microseconds to encode and decode a 20 ms frame.
//!
//! Prints forwarded packets per second on this one thread (the core's work only: the clients'
//! encryption and decryption are outside the measurement) and what the core allocates per
//! forwarded packet, then checks that destinations decrypt what they got.
//!
//! ```sh
//! cargo run --release --bin portunus-bench-media [-- [peers|rtp-forward|input|mixer] 1 10 100 300]
//! cargo run --release --bin portunus-bench-media -- --instructions peers 10 100 300
//! ```
//!
//! With `--instructions` (forwarding paths; needs valgrind) it prints, instead of the rate, the
//! instructions per forwarded packet, counted by callgrind: a figure that does not drift with the
//! machine's speed, to compare builds by (as rustls guards its performance).

use std::time::{Duration, Instant};

use portunus::alloc_count::{self, counting, counts};
use portunus::media::core::TICK;
use portunus::media::sim::{Sim, SimOptions, PAYLOAD};

/// The video streams each destination of the `wide` path receives.
const WIDE: usize = 32;

#[global_allocator]
static GLOBAL: alloc_count::Counting = alloc_count::Counting;

/// A room of `n` mixed for 10 s of audio (500 ticks): time and allocations per tick.
// The tick number is also the packets' sequence number and indexes every talker's packets.
#[allow(clippy::needless_range_loop)]
fn mixer(n: usize) {
    use portunus::mixer::codec::{EncoderKey, OpusIn, OpusOut};
    use portunus::mixer::room::Room;
    use portunus::vocab::PortSettings;
    const RATE: u32 = 16_000;
    const TICKS: usize = 500;
    let frame = RATE as usize / 50;
    // The talkers' packets, made first (the clients' work, not the mixer's).
    let talk: Vec<Vec<std::sync::Arc<[u8]>>> = [300.0, 700.0, 1100.0, 0.0]
        .iter()
        .map(|freq: &f64| {
            let key = EncoderKey::of(&PortSettings { bitrate: 32_000, ..PortSettings::default() });
            let mut enc =
                OpusOut::new(portunus::vocab::MixerSpec { rate: RATE, stereo: false }, key).expect("encoder");
            let mut buf = [0u8; 1500];
            (0..TICKS)
                .map(|t| {
                    let pcm: Vec<i16> = (t * frame..(t + 1) * frame)
                        .map(|i| {
                            (6000.0 * (std::f64::consts::TAU * freq * i as f64 / f64::from(RATE)).sin())
                                as i16
                        })
                        .collect();
                    let len = enc.encode(&pcm, &mut buf);
                    std::sync::Arc::from(&buf[..len])
                })
                .collect()
        })
        .collect();
    let mut room = Room::new(portunus::vocab::MixerSpec { rate: RATE, stereo: false });
    for id in 0..n as u64 {
        room.join(id, 0, portunus::vocab::MixCodec::Opus, PortSettings::default()).expect("join");
    }
    let mut sent = 0u64;
    let mut listener = OpusIn::new(RATE).expect("decoder");
    let mut heard = vec![0i16; frame];
    let mut loud = 0u64;
    let (mut allocs, mut bytes) = (0, 0);
    let mut elapsed = Duration::ZERO;
    for t in 0..TICKS {
        for id in 0..n {
            room.packet(id as u64, portunus::vocab::MixCodec::Opus, t as u64, talk[id.min(3)][t].clone());
        }
        let mut last = None;
        let before = counts();
        counting(t >= 10);
        let start = Instant::now();
        room.tick(&mut |f| {
            sent += 1;
            if f.port == n as u64 - 1 {
                last = Some(f.payload);
            }
        });
        if t >= 10 {
            elapsed += start.elapsed();
        }
        counting(false);
        allocs += counts().allocs - before.allocs;
        bytes += counts().bytes - before.bytes;
        // The last participant (a listener) hears the talkers.
        if let Some(p) = last {
            listener.frame(portunus::mixer::jitter::Next::Packet(p), &mut heard);
            if heard.iter().map(|&s| i64::from(s).abs()).max() > Some(1000) {
                loud += 1;
            }
        }
    }
    let ticks = (TICKS - 10) as u32;
    let per_tick = elapsed / ticks;
    let per_core = n as f64 * TICK_MS / (per_tick.as_secs_f64() * 1e3);
    println!(
        "  {n:>5} participants: {:>7.3} ms per tick, {:>6.2} us per participant, {:>7.0} participants per core, {:.1} allocations ({:.0} bytes) per tick, {} packets out, the listener heard the talkers in {}% of ticks",
        per_tick.as_secs_f64() * 1e3,
        per_tick.as_secs_f64() * 1e6 / n as f64,
        per_core,
        allocs as f64 / f64::from(ticks),
        bytes as f64 / f64::from(ticks),
        sent,
        loud * 100 / TICKS as u64,
    );
}

/// ropus and libopus on the same 10 s of a voice-like signal (48 kHz mono, 32 kb/s), in turns.
fn codec() {
    use portunus::mixer::codec::{EncoderKey, OpusIn, OpusOut};
    use portunus::mixer::jitter::Next;
    use portunus::vocab::PortSettings;
    let pcm: Vec<i16> = (0..480_000)
        .map(|i| {
            let t = f64::from(i) / 48_000.0;
            (3000.0 * (std::f64::consts::TAU * 220.0 * t).sin()
                + 2000.0 * (std::f64::consts::TAU * 1250.0 * t).sin()) as i16
        })
        .collect();
    let path = std::env::temp_dir().join(format!("portunus-bench-codec-{}.pcm", std::process::id()));
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    if let Err(e) = std::fs::write(&path, bytes) {
        return println!("codec: cannot write {}: {e}", path.display());
    }
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/media/libopus.py");
    println!("codec: Opus, 48 kHz mono, 32 kb/s, 500 frames of 20 ms; ropus and libopus in turns");
    for round in 1..=3 {
        let key =
            EncoderKey::of(&PortSettings { bitrate: 32_000, complexity: 10, ..PortSettings::default() });
        let mut enc =
            OpusOut::new(portunus::vocab::MixerSpec { rate: 48_000, stereo: false }, key).expect("encoder");
        let mut buf = [0u8; 1500];
        let start = Instant::now();
        let packets: Vec<std::sync::Arc<[u8]>> = pcm
            .chunks_exact(960)
            .map(|f| {
                let n = enc.encode(f, &mut buf);
                std::sync::Arc::from(&buf[..n])
            })
            .collect();
        let encode = start.elapsed() / packets.len() as u32;
        let mut dec = OpusIn::new(48_000).expect("decoder");
        let mut out = vec![0i16; 960];
        let start = Instant::now();
        for p in &packets {
            dec.frame(Next::Packet(p.clone()), &mut out);
        }
        let decode = start.elapsed() / packets.len() as u32;
        let libopus = std::process::Command::new("python3")
            .arg(&script)
            .args(["bench", &path.display().to_string(), "48000", "32000"])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| serde_json::from_slice::<serde_json::Value>(&o.stdout).ok());
        let (lib_enc, lib_dec) = libopus
            .map(|v| (v["encode_us"].as_f64().unwrap_or(0.0), v["decode_us"].as_f64().unwrap_or(0.0)))
            .unwrap_or((0.0, 0.0));
        let us = |d: Duration| d.as_secs_f64() * 1e6;
        println!(
            "  round {round}: ropus encode {:>6.1} us, decode {:>5.1} us | libopus encode {lib_enc:>6.1} us, decode {lib_dec:>5.1} us | ratio encode {:.2}, decode {:.2}",
            us(encode),
            us(decode),
            us(encode) / lib_enc.max(f64::MIN_POSITIVE),
            us(decode) / lib_dec.max(f64::MIN_POSITIVE),
        );
    }
    let _ = std::fs::remove_file(&path);
}

/// The mixer's tick, ms.
const TICK_MS: f64 = 20.0;

struct Figures {
    forwarded: u64,
    elapsed: Duration,
    allocs: u64,
    bytes: u64,
}

/// Where the measured packets come from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// A source peer (its SRTP datagrams).
    Peers,
    /// A source peer, to RTP outputs.
    RtpForward,
    /// An RTP input (plain RTP datagrams).
    Input(u64),
}

/// Feeds the source's packets to the core, one simulated millisecond apart, and measures it.
fn measure(b: &mut Sim, path: Path, packets: &[Vec<u8>]) -> Figures {
    let src = b.clients[0].addr;
    let camera = std::net::SocketAddr::from(([127, 0, 0, 1], 5004));
    let mut buf = vec![0u8; 2048];
    b.core.transmitter().keep = false;
    let sent_before = b.core.transmitter().rtp_sent;
    let before = counts();
    let mut last_tick = b.now;
    let started = Instant::now();
    counting(true);
    for p in packets {
        b.now += Duration::from_millis(1);
        match path {
            Path::Input(id) => {
                buf[..p.len()].copy_from_slice(p);
                b.core.input_packet(b.now, id, 0, camera, &mut buf[..p.len()]);
            }
            _ => b.core.datagram(b.now, src, p),
        }
        // As a media thread does on every wake-up.
        b.core.timeouts(b.now);
        if b.now - last_tick >= TICK {
            last_tick = b.now;
            b.core.housekeeping(b.now);
        }
        b.core.flush();
    }
    counting(false);
    let elapsed = started.elapsed();
    Figures {
        forwarded: b.core.transmitter().rtp_sent - sent_before,
        elapsed,
        allocs: counts().allocs - before.allocs,
        bytes: counts().bytes - before.bytes,
    }
}

/// The measured run: the one function `--instructions` has callgrind count (not the warm-up).
#[inline(never)]
fn counted(b: &mut Sim, path: Path, packets: &[Vec<u8>]) -> Figures {
    measure(b, path, packets)
}

/// `--instructions`: each path and size again in a child under `valgrind --tool=callgrind`,
/// counting only [`counted`]; prints the instructions per forwarded packet, which (unlike the
/// rate) do not drift with the machine's speed.
fn instructions(paths: &[&str], sizes: &[usize]) -> anyhow::Result<()> {
    let me = std::env::current_exe()?;
    let out_file =
        std::env::temp_dir().join(format!("portunus-bench-media-{}.callgrind", std::process::id()));
    for path in paths {
        println!("{path}: instructions per forwarded packet (callgrind; the measured run only)");
        let mut first = None;
        for &n in sizes {
            let packets = (30_000 / n.max(1)).clamp(100, 3_000);
            let child = std::process::Command::new("valgrind")
                .arg("--tool=callgrind")
                .arg(format!("--callgrind-out-file={}", out_file.display()))
                .arg("--toggle-collect=portunus_bench_media::counted*")
                .arg(&me)
                .args([path.to_string(), n.to_string(), "--packets".into(), packets.to_string()])
                .output()
                .map_err(|e| anyhow::anyhow!("valgrind (needed for --instructions): {e}"))?;
            let (stdout, stderr) =
                (String::from_utf8_lossy(&child.stdout), String::from_utf8_lossy(&child.stderr));
            anyhow::ensure!(child.status.success(), "{path} {n} under callgrind failed:\n{stdout}{stderr}");
            let collected = stderr
                .lines()
                .find_map(|l| l.split("Collected :").nth(1))
                .and_then(|v| v.trim().parse::<f64>().ok());
            let forwarded = stdout
                .lines()
                .find(|l| l.contains(" forwarded in"))
                .and_then(|l| l.split(" forwarded in").next()?.rsplit(':').next())
                .and_then(|v| v.trim().parse::<f64>().ok());
            let (Some(collected), Some(forwarded)) = (collected, forwarded) else {
                anyhow::bail!("{path} {n}: no count in callgrind's output:\n{stdout}{stderr}");
            };
            let per = collected / forwarded.max(1.0);
            let base = *first.get_or_insert(per);
            println!(
                "{n:>6} destinations: {per:>7.0} instructions per forwarded packet ({:.2}x the first size)",
                per / base
            );
        }
    }
    let _ = std::fs::remove_file(&out_file);
    Ok(())
}

fn run(path: &str, destinations: usize, packets: usize) -> anyhow::Result<()> {
    // Peers: client 0 is the source, the others its destinations. RTP outputs: client 0 alone.
    let clients = if path == "rtp-forward" { 1 } else { destinations + 1 };
    // `wide`: as `peers`, each destination receiving 31 other streams too.
    let more_streams = if path == "wide" { WIDE - 1 } else { 0 };
    let mut b = Sim::with(clients, SimOptions { more_streams, ..SimOptions::default() })?;
    let setup = b.connect()?;
    let path = match path {
        "rtp-forward" => {
            b.rtp_forward_from_first(destinations);
            Path::RtpForward
        }
        "input" => Path::Input(b.input_to_clients()?),
        _ => {
            b.forward_from_first();
            Path::Peers
        }
    };
    let source_packets = |b: &mut Sim, n: usize, first: u64| match path {
        Path::Input(_) => Ok(Sim::camera_packets(n, first)),
        _ => b.source_packets(n, first),
    };
    // Warm-up (maps fill, streams start), then the measured run.
    let warm = source_packets(&mut b, 200, 0)?;
    measure(&mut b, path, &warm);
    let timed = source_packets(&mut b, packets, 200)?;
    let f = counted(&mut b, path, &timed);
    // Check: the destination peers decrypt what the core sends them.
    let first_checked = 200 + packets as u64;
    let check = source_packets(&mut b, 20, first_checked)?;
    let camera = std::net::SocketAddr::from(([127, 0, 0, 1], 5004));
    let before: Vec<usize> = b.clients.iter().map(|c| c.got_seq.len()).collect();
    // Kept from the first check packet on: the flush below sends it, before `pump` would ask.
    b.core.transmitter().keep = true;
    for p in &check {
        b.now += Duration::from_millis(1);
        match path {
            Path::Input(id) => b.core.input_packet(b.now, id, 0, camera, &mut p.clone()),
            _ => b.core.datagram(b.now, b.clients[0].addr, p),
        }
        b.core.flush();
        b.pump()?;
    }
    let checked = match path {
        Path::Input(_) => {
            b.clients.iter().zip(&before).skip(1).filter(|(c, n)| c.got_seq.len() >= *n + 20).count()
        }
        Path::Peers => b.clients[1..].iter().filter(|c| c.got.iter().any(|n| *n >= first_checked)).count(),
        Path::RtpForward => destinations,
    };
    let per_packet = |v: u64| v as f64 / f.forwarded.max(1) as f64;
    println!(
        "{destinations:>4} destinations: {:>9} forwarded in {:>8.1} ms = {:>7.0} k packets/s on one thread; \
         {:.2} allocations, {:.0} bytes allocated per forwarded packet; setup {:?} simulated; \
         {checked}/{destinations} destinations decrypted the check packets",
        f.forwarded,
        f.elapsed.as_secs_f64() * 1e3,
        f.forwarded as f64 / f.elapsed.as_secs_f64() / 1e3,
        per_packet(f.allocs),
        per_packet(f.bytes),
        setup,
    );
    anyhow::ensure!(
        checked == destinations,
        "only {checked} of {destinations} destinations got the check packets"
    );
    anyhow::ensure!(
        f.forwarded >= (packets * destinations) as u64,
        "forwarded {} < {}",
        f.forwarded,
        packets * destinations
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let count_instructions = args.iter().any(|a| a == "--instructions");
    args.retain(|a| a != "--instructions");
    // `--packets K`: the source's packets in the measured run (else a count for ~300,000 copies).
    let packets_given = match args.iter().position(|a| a == "--packets") {
        Some(i) => {
            let k = args.get(i + 1).and_then(|k| k.parse::<usize>().ok());
            args.drain(i..(i + 2).min(args.len()));
            Some(k.ok_or_else(|| anyhow::anyhow!("--packets takes a number"))?)
        }
        None => None,
    };
    let paths: Vec<&str> = match args.iter().find(|a| a.parse::<usize>().is_err()) {
        Some(p) => vec![p.as_str()],
        None => vec!["peers", "rtp-forward", "input"],
    };
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1, 10, 100, 300] } else { sizes };
    if count_instructions {
        return instructions(&paths, &sizes);
    }
    // An input's socket joins a runtime (never driven here: packets are handed in directly).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let _runtime = rt.enter();
    for path in paths {
        if path == "codec" {
            codec();
            continue;
        }
        if path == "mixer" {
            println!("mixer: one room at 16 kHz, N participants, 3 talking (Opus 32 kb/s tones), the rest sending silence (no DTX, as browsers)");
            for &n in &sizes {
                mixer(n.max(3));
            }
            continue;
        }
        println!("{path}: one source → N destinations, {PAYLOAD}-byte VP8 payloads, str0m RTP mode, SRTP AES-GCM/CM");
        for &n in &sizes {
            let packets = packets_given.unwrap_or((300_000 / n.max(1)).clamp(500, 20_000));
            run(path, n, packets)?;
        }
    }
    Ok(())
}

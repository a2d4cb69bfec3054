//! The mixer's Opus (`ropus`, pure Rust) against libopus, the reference, both ways: libopus
//! decodes what ropus encodes into the same audio ropus's own decoder gets, and ropus decodes
//! what libopus encodes into the same audio libopus gets (`libopus.py`, libopus through
//! Python's ctypes, in the tests only).

use std::path::Path;
use std::process::Command;

const RATE: u32 = 48_000;
const N: usize = RATE as usize / 50;

/// Two seconds of a voice-like signal at 48 kHz: three tones and a slow sweep.
fn signal() -> Vec<i16> {
    signal_at(RATE)
}

/// [`signal`] sampled at `rate`.
fn signal_at(rate: u32) -> Vec<i16> {
    (0..rate as usize * 2)
        .map(|i| {
            let t = i as f64 / f64::from(rate);
            let tau = 2.0 * std::f64::consts::PI;
            let x = 3000.0 * (tau * 220.0 * t).sin()
                + 2000.0 * (tau * 1250.0 * t).sin()
                + 1000.0 * (tau * 3100.0 * t).sin()
                + 1500.0 * (tau * (300.0 + 400.0 * t) * t).sin();
            x as i16
        })
        .collect()
}

/// Signal-to-noise ratio of `b` against `a`, dB (the difference is the noise).
fn snr(a: &[i16], b: &[i16]) -> f64 {
    let n = a.len().min(b.len());
    let signal: f64 = a[..n].iter().map(|&x| f64::from(x).powi(2)).sum();
    let noise: f64 = a[..n].iter().zip(&b[..n]).map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2)).sum();
    10.0 * (signal / noise.max(1e-9)).log10()
}

fn write_packets(path: &Path, packets: &[Vec<u8>]) {
    let mut out = Vec::new();
    for p in packets {
        out.extend_from_slice(&(p.len() as u16).to_be_bytes());
        out.extend_from_slice(p);
    }
    std::fs::write(path, out).expect("write packets");
}

fn read_packets(path: &Path) -> Vec<Vec<u8>> {
    let data = std::fs::read(path).expect("read packets");
    let mut packets = Vec::new();
    let mut at = 0;
    while at + 2 <= data.len() {
        let len = usize::from(u16::from_be_bytes([data[at], data[at + 1]]));
        packets.push(data[at + 2..at + 2 + len].to_vec());
        at += 2 + len;
    }
    packets
}

fn pcm_bytes(pcm: &[i16]) -> Vec<u8> {
    pcm.iter().flat_map(|s| s.to_le_bytes()).collect()
}

fn pcm_of(bytes: &[u8]) -> Vec<i16> {
    bytes.chunks_exact(2).map(|b| i16::from_le_bytes([b[0], b[1]])).collect()
}

fn ropus_encode(pcm: &[i16]) -> Vec<Vec<u8>> {
    ropus_encode_at(RATE, ropus::Bitrate::try_bits(32_000).expect("bitrate"), pcm)
}

fn ropus_encode_at(rate: u32, bitrate: ropus::Bitrate, pcm: &[i16]) -> Vec<Vec<u8>> {
    let mut enc = ropus::Encoder::builder(rate, ropus::Channels::Mono, ropus::Application::Voip)
        .bitrate(bitrate)
        .build()
        .expect("encoder");
    let mut buf = [0u8; 1500];
    pcm.chunks_exact(rate as usize / 50)
        .map(|f| {
            let len = enc.encode(f, &mut buf).expect("encode");
            buf[..len].to_vec()
        })
        .collect()
}

fn ropus_decode(packets: &[Vec<u8>]) -> Vec<i16> {
    ropus_decode_at(RATE, packets)
}

/// Decodes at `rate`; an empty packet is a lost one (concealed).
fn ropus_decode_at(rate: u32, packets: &[Vec<u8>]) -> Vec<i16> {
    let mut dec = ropus::Decoder::new(rate, ropus::Channels::Mono).expect("decoder");
    let mut frame = vec![0i16; 5760];
    let mut out = Vec::new();
    for p in packets {
        let lost = rate as usize / 50;
        let frame = if p.is_empty() { &mut frame[..lost] } else { &mut frame[..] };
        let n = dec.decode(p, frame, ropus::DecodeMode::Normal).expect("decode");
        out.extend_from_slice(&frame[..n]);
    }
    out
}

/// Runs `libopus.py`; none (after saying so) when Python or libopus is missing outside CI.
fn libopus(dir: &Path, args: &[&str]) -> Option<()> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/media/libopus.py");
    let out = Command::new("python3").arg(script).args(args).current_dir(dir).output();
    match out {
        Ok(o) if o.status.success() => Some(()),
        other => {
            let why = format!("libopus.py failed: {other:?}");
            assert!(std::env::var_os("CI").is_none(), "libopus is needed under CI: {why}");
            eprintln!("SKIPPED: the Opus interop test needs python3 and libopus ({why})");
            None
        }
    }
}

#[test]
fn ropus_and_libopus_understand_each_other() {
    let dir = crate::harness::TempDir::new("opus");
    let input = signal();
    std::fs::write(dir.join("in.pcm"), pcm_bytes(&input)).expect("write pcm");

    // ropus encodes; libopus and ropus decode it alike.
    let ours = ropus_encode(&input);
    write_packets(&dir.join("ours.packets"), &ours);
    let Some(()) = libopus(&dir, &["decode", "ours.packets", "ours.pcm", "48000"]) else { return };
    let by_libopus = pcm_of(&std::fs::read(dir.join("ours.pcm")).expect("decoded"));
    let by_ropus = ropus_decode(&ours);
    assert_eq!(by_libopus.len(), by_ropus.len());
    let agree = snr(&by_libopus, &by_ropus);
    assert!(agree > 50.0, "libopus decodes ropus's packets as ropus does: {agree:.1} dB");
    // And it is the signal (the codec's delay aside: compare power).
    let power = |x: &[i16]| x.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / x.len() as f64;
    let ratio = power(&by_libopus[N * 10..]) / power(&input[N * 10..]);
    assert!((0.5..2.0).contains(&ratio), "the decoded power is the signal's: {ratio:.2}");

    // libopus encodes; ropus decodes it as libopus does.
    let Some(()) = libopus(&dir, &["encode", "in.pcm", "theirs.packets", "48000", "32000"]) else { return };
    let theirs = read_packets(&dir.join("theirs.packets"));
    assert_eq!(theirs.len(), input.len() / N);
    let Some(()) = libopus(&dir, &["decode", "theirs.packets", "theirs.pcm", "48000"]) else { return };
    let reference = pcm_of(&std::fs::read(dir.join("theirs.pcm")).expect("decoded"));
    let agree = snr(&reference, &ropus_decode(&theirs));
    assert!(agree > 50.0, "ropus decodes libopus's packets as libopus does: {agree:.1} dB");
    eprintln!("decoders agree; libopus vs ropus on libopus's packets: {agree:.1} dB");
}

/// A lost SILK frame is concealed as libopus conceals it, and the next frame is faded in as
/// libopus fades it: narrowband voice at 8 kHz, one packet in seven lost in the first second,
/// and once two in a row. (The vendored ropus built the pitch continuation from an empty
/// history and faded the next frame in at the wrong scale: its lost frames were -0.2 to 8 dB
/// from libopus's. Losses later in the signal follow frames without voice activity, where
/// Debian's libopus 1.3.1 conceals as libopus did before two later changes: vendor/README.md.)
#[test]
fn a_lost_frame_is_concealed_as_libopus_conceals_it() {
    let dir = crate::harness::TempDir::new("opus-loss");
    let rate = 8000;
    let mut packets = ropus_encode_at(rate, ropus::Bitrate::Auto, &signal_at(rate));
    assert!(packets.iter().all(|p| p[0] >> 3 < 4), "narrowband SILK packets");
    for (i, p) in packets.iter_mut().enumerate() {
        if i < 50 && (i % 7 == 3 || i == 39) {
            p.clear();
        }
    }
    write_packets(&dir.join("lossy.packets"), &packets);
    let Some(()) = libopus(&dir, &["decode", "lossy.packets", "lossy.pcm", "8000"]) else { return };
    let reference = pcm_of(&std::fs::read(dir.join("lossy.pcm")).expect("decoded"));
    let ours = ropus_decode_at(rate, &packets);
    assert_eq!(reference.len(), ours.len());
    let n = rate as usize / 50;
    for (i, (a, b)) in reference.chunks(n).zip(ours.chunks(n)).enumerate() {
        let agree = snr(a, b);
        assert!(agree > 60.0, "frame {i} (lost: {}): {agree:.1} dB from libopus", packets[i].is_empty());
    }
}

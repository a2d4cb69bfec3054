//! `--audiobridge`: one AudioBridge room of N participants over the Janus API (str0m clients,
//! Opus both ways). Three talk (tones at 440, 660 and 880 Hz; the first in half-second bursts),
//! the others send silence. Over the window it prints the gateway's CPU per participant, its
//! RSS, whether each of a few listeners heard every talker (power at the talkers' frequencies
//! in what they decoded, beside a frequency nobody sends), the packets each listener got per
//! second, and the mix latency: from the moment a burst starts at the talker to the listener's
//! first packet that holds it (p50, p99; the jitter buffer included).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portunus::mixer::tone::power;
use serde_json::json;
use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::rtp::RtpWrite;
use str0m::{Event, Input};

use super::{cpu_seconds, percentile, Api, Client, Turn, Usage};

/// The talkers' tones, Hz; the first comes in bursts (for the latency).
const TONES: [f64; 3] = [440.0, 660.0, 880.0];
/// A frequency nobody sends: the floor the tones are compared with.
const FLOOR: f64 = 1230.0;
/// Listeners whose audio is decoded and checked.
const CHECKED: usize = 3;
/// Samples per 20 ms at 48 kHz.
const FRAME: usize = 960;
/// A frame this loud at the bursting tone holds it (a steady tone of the talkers' amplitude
/// gives about 1.5e10; the other tones leak about 1e7 into it).
const LOUD: f64 = 1e9;
/// A burst of the first tone: on for this long, then off as long.
const BURST: Duration = Duration::from_millis(500);

/// What the participants share.
#[derive(Default)]
struct Shared {
    /// Packets all listeners received.
    packets: AtomicU64,
    measuring: AtomicBool,
    sending: AtomicBool,
    /// When each burst of the first tone started (sent), while measuring.
    bursts: Mutex<Vec<Instant>>,
}

/// What a checked listener received: when, and the Opus packet.
type Kept = Arc<Mutex<Vec<(Instant, Arc<[u8]>)>>>;

/// A participant's role.
enum Role {
    /// Sends this tone (bursts: on and off).
    Talker(f64, bool),
    /// Sends silence; `Some` keeps what it receives (when, the payload) to check it.
    Listener(Option<Kept>),
}

fn encoder() -> anyhow::Result<ropus::Encoder> {
    ropus::Encoder::builder(48_000, ropus::Channels::Mono, ropus::Application::Voip)
        .build()
        .map_err(|e| anyhow::anyhow!("opus encoder: {e:?}"))
}

/// Drives a participant: its datagrams, timers and packets in, and one Opus frame out every
/// 20 ms (its tone, or a silence encoded once for everyone).
async fn drive(mut c: Client, mid: Mid, role: Role, silence: Arc<[u8]>, shared: Arc<Shared>) {
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut enc = match &role {
        Role::Talker(..) => encoder().ok(),
        Role::Listener(_) => None,
    };
    let mut out = [0u8; 1500];
    let (mut n, mut was_on) = (0u64, false);
    let started = Instant::now();
    loop {
        let turn = c
            .turn(&mut buf, Some(&mut tick), |e, _| {
                let Event::RtpPacket(p) = e else { return };
                shared.packets.fetch_add(1, Ordering::Relaxed);
                if let Role::Listener(Some(kept)) = &role {
                    if shared.measuring.load(Ordering::Relaxed) {
                        kept.lock().unwrap().push((Instant::now(), p.payload.clone()));
                    }
                }
            })
            .await;
        match turn {
            Turn::Done => return,
            Turn::Other => continue,
            Turn::Tick => {
                if !shared.sending.load(Ordering::Relaxed) {
                    continue;
                }
                let now = Instant::now();
                let payload: Vec<u8> = match (&role, enc.as_mut()) {
                    (Role::Talker(freq, bursts), Some(enc)) => {
                        let on =
                            !*bursts || ((now - started).as_millis() / BURST.as_millis()).is_multiple_of(2);
                        if on && !was_on && *bursts && shared.measuring.load(Ordering::Relaxed) {
                            shared.bursts.lock().unwrap().push(now);
                        }
                        was_on = on;
                        let pcm: Vec<i16> = (0..FRAME)
                            .map(|i| {
                                let t = (n as usize * FRAME + i) as f64 / 48_000.0;
                                if on {
                                    (8000.0 * (std::f64::consts::TAU * freq * t).sin()) as i16
                                } else {
                                    0
                                }
                            })
                            .collect();
                        match enc.encode(&pcm, &mut out) {
                            Ok(len) => out[..len].to_vec(),
                            Err(_) => continue,
                        }
                    }
                    _ => silence.to_vec(),
                };
                let mut api = c.rtc.direct_api();
                if let Some(tx) = api.stream_tx_by_mid(mid, None) {
                    let time = (n * FRAME as u64) as u32;
                    tx.write_rtp(RtpWrite::new(Pt::from(111), n.into(), time, now, payload));
                }
                n += 1;
                let _ = c.rtc.handle_input(Input::Timeout(now));
            }
        }
    }
}

/// One run: a room of `n` at the gateway at `url` (pid `pid`), measured for `seconds`.
pub async fn run(url: &str, pid: u32, n: usize, seconds: u64) -> anyhow::Result<()> {
    anyhow::ensure!(n > TONES.len() + CHECKED, "at least {} participants", TONES.len() + CHECKED + 1);
    let shared = Arc::new(Shared::default());
    let mut api = Api::connect(url).await?;
    let admin = api.attach("janus.plugin.audiobridge").await?;
    // A new room each run: another gateway keeps the rooms of earlier runs.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let room = 1 + (nanos % 1_000_000_000) as u64;
    api.message(admin, json!({"request": "create", "room": room, "sampling_rate": 16000}), None).await?;
    let silence: Arc<[u8]> = {
        let mut out = [0u8; 1500];
        let len = encoder()?.encode(&[0i16; FRAME], &mut out).map_err(|e| anyhow::anyhow!("{e:?}"))?;
        Arc::from(&out[..len])
    };

    let setup = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    let mut checked = Vec::new();
    for i in 0..n {
        let handle = api.attach("janus.plugin.audiobridge").await?;
        let mut c = Client::new().await?;
        let mut change = c.rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change.apply().ok_or_else(|| anyhow::anyhow!("no offer"))?;
        let jsep = json!({"type": "offer", "sdp": offer.to_sdp_string()});
        let body = json!({"request": "join", "room": room, "display": format!("p{i}")});
        let ev = api.message(handle, body, Some(jsep)).await?;
        let answer = ev["jsep"]["sdp"].as_str().ok_or_else(|| anyhow::anyhow!("no answer: {ev}"))?;
        c.rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(answer)?)?;
        let role = match i {
            i if i < TONES.len() => Role::Talker(TONES[i], i == 0),
            i if i < TONES.len() + CHECKED => {
                let kept = Arc::new(Mutex::new(Vec::new()));
                checked.push(kept.clone());
                Role::Listener(Some(kept))
            }
            _ => Role::Listener(None),
        };
        tasks.push(tokio::spawn(drive(c, mid, role, silence.clone(), shared.clone())));
        if i % 50 == 49 {
            api.call(json!({"janus": "keepalive"})).await?;
        }
        api.drain().await;
    }
    let setup = setup.elapsed();

    // Everyone sends; once every participant gets the mix, a moment more, then the window.
    shared.sending.store(true, Ordering::Relaxed);
    let deadline = Instant::now() + Duration::from_secs(20);
    while shared.packets.load(Ordering::Relaxed) < 50 * n as u64 && Instant::now() < deadline {
        api.drain().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.call(json!({"janus": "keepalive"})).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;
    shared.measuring.store(true, Ordering::Relaxed);
    let gw0 = Usage::of(pid);
    let me0 = cpu_seconds(std::process::id());
    let got0 = shared.packets.load(Ordering::Relaxed);
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(seconds) {
        api.drain().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    shared.measuring.store(false, Ordering::Relaxed);
    let elapsed = start.elapsed().as_secs_f64();
    let gw1 = Usage::of(pid);
    let me1 = cpu_seconds(std::process::id());
    let got = shared.packets.load(Ordering::Relaxed) - got0;
    for t in &tasks {
        t.abort();
    }

    // What the checked listeners heard, and when each burst reached them.
    let bursts = std::mem::take(&mut *shared.bursts.lock().unwrap());
    let mut heard_all = true;
    let mut latencies: Vec<u32> = Vec::new();
    let mut decoder_error = None;
    for kept in &checked {
        let packets = std::mem::take(&mut *kept.lock().unwrap());
        let mut decoder = ropus::Decoder::new(48_000, ropus::Channels::Mono)
            .map_err(|e| anyhow::anyhow!("opus decoder: {e:?}"))?;
        let mut pcm = Vec::new();
        let mut frame = vec![0i16; 5760];
        let mut loud_at = Vec::new();
        for (at, p) in &packets {
            match decoder.decode(p, &mut frame, ropus::DecodeMode::Normal) {
                Ok(k) => {
                    // A frame loud at the bursting tone, after a quiet one: a burst arrived.
                    loud_at.push((*at, power(&frame[..k], TONES[0], 48_000) > LOUD));
                    pcm.extend_from_slice(&frame[..k]);
                }
                Err(e) => decoder_error = Some(format!("{e:?}")),
            }
        }
        let floor = power(&pcm, FLOOR, 48_000).max(1.0);
        heard_all &= TONES.iter().all(|f| power(&pcm, *f, 48_000) > 100.0 * floor);
        for pair in loud_at.windows(2) {
            if let [(_, false), (at, true)] = pair {
                // The burst it belongs to: the last one sent before it arrived.
                if let Some(sent) = bursts.iter().rev().find(|b| *b <= at) {
                    latencies.push(at.duration_since(*sent).as_micros() as u32);
                }
            }
        }
    }
    latencies.sort_unstable();
    let cpu_share = (gw1.cpu - gw0.cpu) / elapsed;
    println!(
        "{n:>5} participants: gateway {:>5.1} % of a core, {:>6.3} ms CPU per participant per second \
         (generator {:>5.1} %), {}, {:>5.1} packets per listener per second, every talker heard: {}, \
         mix latency p50 {:.1} ms p99 {:.1} ms ({} bursts; setup {:.1} s){}",
        100.0 * cpu_share,
        1000.0 * cpu_share / n as f64,
        100.0 * (me1 - me0) / elapsed,
        gw1.rss,
        got as f64 / elapsed / n as f64,
        if heard_all { "yes" } else { "NO" },
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        latencies.len(),
        setup.as_secs_f64(),
        decoder_error.map(|e| format!(" (a packet did not decode: {e})")).unwrap_or_default(),
    );
    let _ = api.message(admin, json!({"request": "destroy", "room": room}), None).await;
    let _ = api.call(json!({"janus": "destroy"})).await;
    Ok(())
}

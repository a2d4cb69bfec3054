//! `portunus-bench-room`: VideoRoom fan-out over the real Janus API and real sockets. One
//! publisher sends VP8 and Opus at about 1.4 Mbit/s to N subscribers (str0m clients, one UDP
//! socket each, real ICE, DTLS and SRTP, all on this process's one thread). With `--streaming`,
//! the same media comes as plain RTP into a Streaming mountpoint the bench creates, and the N
//! clients are its viewers. For each N it prints
//! the packets forwarded per second, the gateway's CPU seconds per million forwarded packets
//! (from its CPU-time clock, to the nanosecond), this generator's own CPU beside it, how often the gateway's threads woke, the
//! gateway's RSS (and its anonymous part), the loss and the added
//! latency (p50, p99: from the publisher's send to the datagram's arrival in the subscriber's
//! socket, as the kernel stamps it, so the generator's own queueing is left out; the time to
//! the subscriber's event, queueing included, beside it). The subscribers join before the
//! media starts, one after another, and the median join among the first tenth and among the
//! last shows whether a join costs more in a fuller room.
//!
//! With `--light`, nine subscribers in ten, once connected, count the RTP packets they get by
//! their headers (in the clear under SRTP) instead of decrypting them, and so send no RTCP:
//! the generator then costs a fraction of the gateway, which a fan-out to a thousand on two
//! cores needs to be measured at all. Every tenth stays a full client (the latency is theirs).
//!
//! ```sh
//! portunus-bench-room [--media-threads 1] [--seconds 10] 10 100 300      # a Portunus it starts
//! portunus-bench-room --light 1000                                         # a light generator
//! portunus-bench-room --janus ws://127.0.0.1:8188 --pid <janus pid> 10 100  # e.g. janus-ref
//! portunus-bench-room --streaming 100 500                                  # Streaming fan-out
//! portunus-bench-room --audiobridge --seconds 20 10 50 200                 # an AudioBridge room
//! ```
//!
//! With `--audiobridge` it measures an AudioBridge room instead (see [`audio`]).
//!
//! The generator's thread runs as `SCHED_BATCH` while it measures (see [`Batch`]): its wake-ups
//! do not preempt the gateway, whichever gateway it is.
//!
//! Against another gateway (`--janus`), it uses its room 1234 (janus-ref's sample config has
//! it, 6 publishers) and must be told the gateway's process id for the CPU and RSS figures.
//! Run the two in turns: this machine's speed drifts.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use portunus::media::is_rtp;
use portunus::resident::Resident;
use serde_json::{json, Value};
use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::net::UdpSocket;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

mod audio;

type Ws = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const ROOM: u64 = 1234;
/// Video: 150 packets a second of this many bytes; audio: 50 of [`AUDIO_BYTES`].
const VIDEO_BYTES: usize = 1100;
const AUDIO_BYTES: usize = 120;
/// What a source sends every 20 ms (a video frame of three packets and an audio packet): the
/// window counts whole ticks sent, so the loss is known to within one tick's packets.
const PACKETS_PER_TICK: u64 = 4;
/// How much later than the sending the arrivals are counted (longer than a packet's trip, even
/// through a saturated gateway).
const ARRIVAL_LAG: Duration = Duration::from_millis(500);

/// One Janus API connection with one session, used one request at a time.
struct Api {
    ws: Ws,
    session: u64,
    next: u64,
}

impl Api {
    async fn connect(url: &str) -> anyhow::Result<Api> {
        let mut req = url.into_client_request()?;
        req.headers_mut().insert("sec-websocket-protocol", HeaderValue::from_static("janus-protocol"));
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        let mut api = Api { ws, session: 0, next: 0 };
        api.session = api.call(json!({"janus": "create"})).await?["data"]["id"].as_u64().unwrap_or(0);
        Ok(api)
    }

    /// Sends a request; returns its answer (`success`, or the event of an `ack`).
    async fn call(&mut self, mut req: Value) -> anyhow::Result<Value> {
        self.next += 1;
        let tx = format!("r{}", self.next);
        req["transaction"] = json!(tx);
        if self.session != 0 {
            req["session_id"] = json!(self.session);
        }
        self.ws.send(Message::text(req.to_string())).await?;
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(20), self.ws.next())
                .await?
                .ok_or_else(|| anyhow::anyhow!("the API socket closed"))??;
            let Message::Text(text) = msg else { continue };
            let v: Value = serde_json::from_str(&text)?;
            // A keepalive's answer is its ack; a message's is the event after it.
            if v["transaction"] != json!(tx) || (v["janus"] == "ack" && req["janus"] != "keepalive") {
                continue;
            }
            if v["janus"] == "error" || v["plugindata"]["data"]["error"].is_string() {
                anyhow::bail!("{req} failed: {v}");
            }
            return Ok(v);
        }
    }

    async fn attach(&mut self, plugin: &str) -> anyhow::Result<u64> {
        let r = self.call(json!({"janus": "attach", "plugin": plugin})).await?;
        r["data"]["id"].as_u64().ok_or_else(|| anyhow::anyhow!("attach: {r}"))
    }

    async fn message(&mut self, handle: u64, body: Value, jsep: Option<Value>) -> anyhow::Result<Value> {
        let mut req = json!({"janus": "message", "handle_id": handle, "body": body});
        if let Some(jsep) = jsep {
            req["jsep"] = jsep;
        }
        self.call(req).await
    }

    /// Reads what the gateway pushed meanwhile (events it would otherwise queue).
    async fn drain(&mut self) {
        while let Ok(Some(Ok(_))) = tokio::time::timeout(Duration::from_millis(10), self.ws.next()).await {}
    }
}

/// What the subscribers received, all together.
#[derive(Default)]
struct Received {
    packets: AtomicU64,
    /// Latency samples (µs), every tenth packet, while measuring: to the datagram's arrival in
    /// the subscriber's socket, and to its event in the subscriber (this generator's queueing
    /// included).
    latency: Mutex<Vec<(u32, u32)>>,
    measuring: std::sync::atomic::AtomicBool,
    /// The publisher sends (not while the subscribers join: a join is timed in a quiet room).
    sending: std::sync::atomic::AtomicBool,
    /// What each subscriber received, to tell a loss spread over all from one of a few.
    each: Mutex<Vec<Arc<AtomicU64>>>,
}

/// A str0m client on its own socket.
struct Client {
    rtc: Rtc,
    socket: UdpSocket,
    local: SocketAddr,
    /// When the last datagram arrived, as the kernel stamped it (ns since the Unix epoch).
    arrived: Option<u64>,
    /// Counts RTP by its header instead of handing it to `rtc` (see `--light`).
    light: bool,
    /// RTP packets counted so (taken by the caller).
    counted: u64,
}

/// What one turn of a client's loop came to.
enum Turn {
    /// The caller's tick: time to send.
    Tick,
    /// A datagram or a timer, handled.
    Other,
    /// The client or its socket failed.
    Done,
}

impl Client {
    async fn new() -> anyhow::Result<Client> {
        let socket = UdpSocket::bind("127.0.0.1:0").await?;
        stamp_arrivals(&socket)?;
        let local = socket.local_addr()?;
        let mut rtc = RtcConfig::new().set_rtp_mode(true).build(Instant::now());
        rtc.add_local_candidate(Candidate::host(local, "udp")?);
        Ok(Client { rtc, socket, local, arrived: None, light: false, counted: 0 })
    }

    /// One turn: sends what the client has queued and hands `event` each of its events (with
    /// when the datagram behind it arrived), then waits for a datagram (handed to the client),
    /// its timer or `tick` (when given).
    async fn turn(
        &mut self,
        buf: &mut [u8],
        tick: Option<&mut tokio::time::Interval>,
        mut event: impl FnMut(Event, Option<u64>),
    ) -> Turn {
        let deadline = loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => break t,
                Ok(Output::Transmit(t)) => {
                    let _ = self.socket.try_send_to(&t.contents, t.destination);
                }
                Ok(Output::Event(e)) => event(e, self.arrived),
                Err(_) => return Turn::Done,
            }
        };
        let sleep = tokio::time::sleep_until(tokio::time::Instant::from_std(deadline.max(Instant::now())));
        let ticked = async {
            match tick {
                Some(t) => {
                    t.tick().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        let socket = &self.socket;
        let fd = socket.as_raw_fd();
        tokio::select! {
            r = socket.async_io(tokio::io::Interest::READABLE, || recv_stamped(fd, buf)) => {
                let Ok((mut len, mut from, mut arrived)) = r else { return Turn::Done };
                if self.light && is_rtp(&buf[..len]) {
                    // And every other RTP packet waiting, up to the first that is not.
                    self.counted += 1;
                    loop {
                        match recv_stamped(fd, buf) {
                            Ok(got) if is_rtp(&buf[..got.0]) => self.counted += 1,
                            Ok(got) => {
                                (len, from, arrived) = got;
                                break;
                            }
                            Err(_) => return Turn::Other,
                        }
                    }
                }
                self.arrived = arrived;
                if let Ok(recv) = Receive::new(Protocol::Udp, from, self.local, &buf[..len]) {
                    let _ = self.rtc.handle_input(Input::Receive(Instant::now(), recv));
                }
                Turn::Other
            }
            _ = sleep => {
                let _ = self.rtc.handle_input(Input::Timeout(Instant::now()));
                Turn::Other
            }
            _ = ticked => Turn::Tick,
        }
    }
}

/// Nanoseconds since the Unix epoch (the wall clock, as the kernel stamps arrivals), as the
/// packets carry their send time.
fn now_ns() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Asks the kernel to stamp each datagram's arrival on `socket` (`SO_TIMESTAMPNS`).
fn stamp_arrivals(socket: &UdpSocket) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt reads `size_of::<c_int>()` bytes from `&on`, a live `c_int`, for a
    // socket this process holds open; it keeps no pointer after it returns.
    let r = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            std::ptr::from_ref(&on).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Receives one datagram from the non-blocking socket `fd` into `buf`: its length, its sender
/// (IPv4) and when the kernel took it in (ns since the Unix epoch), read from the
/// `SCM_TIMESTAMPNS` control message.
fn recv_stamped(fd: std::os::fd::RawFd, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr, Option<u64>)> {
    let mut name = [0u8; 128];
    let mut control = [0u64; 16];
    let mut iov = libc::iovec { iov_base: buf.as_mut_ptr().cast(), iov_len: buf.len() };
    // SAFETY: an all-zero `msghdr` is valid (null pointers, zero lengths); the fields set next
    // point into `name`, `iov` (over `buf`) and `control`, which outlive the call below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_name = name.as_mut_ptr().cast();
    msg.msg_namelen = name.len() as libc::socklen_t;
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: `msg` describes buffers of the lengths given, all initialized and exclusively
    // borrowed here; the kernel writes at most those lengths and keeps no pointer.
    let n = unsafe { libc::recvmsg(fd, &mut msg, libc::MSG_DONTWAIT) };
    if n < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // sockaddr_in: family, port (big-endian), address.
    let port = u16::from_be_bytes([name[2], name[3]]);
    let from = SocketAddr::from(([name[4], name[5], name[6], name[7]], port));
    // The control messages: cmsghdr (length as usize, level, type) then the data, 8-aligned.
    let bytes: Vec<u8> = control.iter().flat_map(|w| w.to_ne_bytes()).collect();
    let used = (msg.msg_controllen as usize).min(bytes.len());
    let (mut at, mut arrived) = (0, None);
    while at + 16 <= used {
        let len = usize::from_ne_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
        let level = i32::from_ne_bytes(bytes[at + 8..at + 12].try_into().unwrap_or_default());
        let kind = i32::from_ne_bytes(bytes[at + 12..at + 16].try_into().unwrap_or_default());
        if level == libc::SOL_SOCKET && kind == libc::SCM_TIMESTAMPNS && at + 32 <= used {
            let sec = i64::from_ne_bytes(bytes[at + 16..at + 24].try_into().unwrap_or_default());
            let nsec = i64::from_ne_bytes(bytes[at + 24..at + 32].try_into().unwrap_or_default());
            arrived = Some(sec as u64 * 1_000_000_000 + nsec as u64);
        }
        if len < 16 {
            break;
        }
        at += len.div_ceil(8) * 8;
    }
    Ok((n as usize, from, arrived))
}

/// Drives a client until the end of the run: its datagrams, timers and events; a publisher
/// (`send`) writes its video and audio every 20 ms.
async fn drive(mut c: Client, received: Arc<Received>, send: Option<(Mid, Mid, Arc<AtomicU64>)>) {
    let mine = Arc::new(AtomicU64::new(0));
    if send.is_none() {
        received.each.lock().unwrap().push(mine.clone());
    }
    let mut buf = vec![0u8; 2048];
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let (mut n, mut keyframe) = (0u64, true);
    loop {
        let ticking = send.is_some().then_some(&mut tick);
        let turn = c
            .turn(&mut buf, ticking, |e, arrived| match e {
                Event::RtpPacket(p) if p.payload.len() >= 16 => {
                    let count = received.packets.fetch_add(1, Ordering::Relaxed);
                    mine.fetch_add(1, Ordering::Relaxed);
                    if count.is_multiple_of(10) && received.measuring.load(Ordering::Relaxed) {
                        let at = &p.payload[p.payload.len() - 16..p.payload.len() - 8];
                        let sent = u64::from_be_bytes(at.try_into().unwrap_or_default());
                        let now = now_ns();
                        let us = |t: u64| (t.saturating_sub(sent) / 1000) as u32;
                        received.latency.lock().unwrap().push((us(arrived.unwrap_or(now)), us(now)));
                    }
                }
                Event::KeyframeRequest(_) => keyframe = true,
                _ => {}
            })
            .await;
        let counted = std::mem::take(&mut c.counted);
        if counted > 0 {
            received.packets.fetch_add(counted, Ordering::Relaxed);
            mine.fetch_add(counted, Ordering::Relaxed);
        }
        match turn {
            Turn::Done => return,
            Turn::Other => continue,
            Turn::Tick => {
                let Some((audio, video, sent)) = &send else { continue };
                if !received.sending.load(Ordering::Relaxed) {
                    continue;
                }
                let now = Instant::now();
                let mut api = c.rtc.direct_api();
                // A video frame of three packets and an audio packet every 20 ms.
                for (mid, pt, bytes, packets, clock) in
                    [(*video, 96u8, VIDEO_BYTES, 3u64, 90_000u64), (*audio, 111u8, AUDIO_BYTES, 1, 48_000)]
                {
                    let Some(tx) = api.stream_tx_by_mid(mid, None) else { continue };
                    for k in 0..packets {
                        let mut payload = vec![0u8; bytes];
                        if pt == 96 {
                            payload[0] = if k == 0 { 0x10 } else { 0x00 };
                            payload[1] = u8::from(!(keyframe && k == 0));
                        } else {
                            payload[0] = 0xfc;
                        }
                        payload[bytes - 16..bytes - 8].copy_from_slice(&now_ns().to_be_bytes());
                        payload[bytes - 8..].copy_from_slice(&n.to_be_bytes());
                        // Each stream numbers its own packets, without gaps.
                        let seq = if pt == 96 { n * 3 + k } else { n };
                        let time = (n * clock / 50) as u32;
                        tx.write_rtp(
                            RtpWrite::new(Pt::from(pt), seq.into(), time, now, payload)
                                .marker(k + 1 == packets),
                        );
                        sent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                keyframe = n.is_multiple_of(100);
                n += 1;
                let _ = c.rtc.handle_input(Input::Timeout(now));
            }
        }
    }
}

/// A camera and a microphone as a plain RTP source into a mountpoint's ports: the same packets
/// as the publisher's (three VP8 packets and one Opus packet every 20 ms, send time inside).
async fn plain_source(video: SocketAddr, audio: SocketAddr, received: Arc<Received>, sent: Arc<AtomicU64>) {
    let Ok(socket) = UdpSocket::bind("127.0.0.1:0").await else { return };
    let mut tick = tokio::time::interval(Duration::from_millis(20));
    let mut n = 0u64;
    loop {
        tick.tick().await;
        if !received.sending.load(Ordering::Relaxed) {
            continue;
        }
        for (to, pt, bytes, packets, clock, ssrc) in [
            (video, 100u8, VIDEO_BYTES, 3u64, 90_000u64, 0x1111u32),
            (audio, 111u8, AUDIO_BYTES, 1, 48_000, 0x2222),
        ] {
            for k in 0..packets {
                let mut p = vec![0u8; 12 + bytes];
                let seq = if pt == 100 { n * 3 + k } else { n } as u16;
                let marker = if k + 1 == packets { 0x80 } else { 0 };
                p[..12].copy_from_slice(&[0x80, marker | pt, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
                p[2..4].copy_from_slice(&seq.to_be_bytes());
                p[4..8].copy_from_slice(&((n * clock / 50) as u32).to_be_bytes());
                p[8..12].copy_from_slice(&ssrc.to_be_bytes());
                let payload = &mut p[12..];
                if pt == 100 {
                    // VP8: a key frame every 100 frames (2 s), the first packet starting it.
                    payload[0] = if k == 0 { 0x10 } else { 0x00 };
                    payload[1] = u8::from(!(n.is_multiple_of(100) && k == 0));
                } else {
                    payload[0] = 0xfc;
                }
                payload[bytes - 16..bytes - 8].copy_from_slice(&now_ns().to_be_bytes());
                payload[bytes - 8..].copy_from_slice(&n.to_be_bytes());
                let _ = socket.send_to(&p, to).await;
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }
        n += 1;
    }
}

/// Datagrams the kernel dropped so far because a process's UDP sockets were full (the `drops`
/// of `/proc/net/udp` for the sockets among its open files): where a loss happened, in the
/// gateway or in this generator.
fn udp_drops(pid: u32) -> u64 {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else { return 0 };
    let inodes: std::collections::HashSet<String> = fds
        .filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|link| Some(link.to_str()?.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned()))
        .collect();
    ["/proc/net/udp", "/proc/net/udp6"]
        .iter()
        .filter_map(|table| std::fs::read_to_string(table).ok())
        .flat_map(|text| {
            text.lines()
                .skip(1)
                .filter_map(|line| {
                    let fields: Vec<&str> = line.split_whitespace().collect();
                    let (inode, drops) = (fields.get(9)?, fields.last()?);
                    inodes.contains(*inode).then(|| drops.parse::<u64>().ok())?
                })
                .collect::<Vec<_>>()
        })
        .sum()
}

/// What a process has used so far: its CPU, each of its threads' wake-ups, its memory.
struct Usage {
    /// CPU seconds (user + system, to the nanosecond, the exited threads' included: the
    /// process's CPU-time clock, where `/proc/*/stat` counts in hundredths).
    cpu: f64,
    /// The times each thread went to sleep and was woken again (its voluntary context
    /// switches), by thread id.
    woke: HashMap<u64, u64>,
    rss: Resident,
}

impl Usage {
    fn of(pid: u32) -> Usage {
        let mut woke = HashMap::new();
        for task in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
            let Some(tid) = task.file_name().to_str().and_then(|t| t.parse::<u64>().ok()) else { continue };
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            let n = status
                .lines()
                .find_map(|l| l.strip_prefix("voluntary_ctxt_switches:"))
                .and_then(|v| v.trim().parse::<u64>().ok());
            woke.extend(n.map(|n| (tid, n)));
        }
        Usage { cpu: cpu_seconds(pid), woke, rss: Resident::of(pid) }
    }

    /// The wake-ups since `before`: a thread's since then, or all of a thread that started
    /// since (a thread that ended in between is not counted).
    fn woke_since(&self, before: &Usage) -> u64 {
        self.woke.iter().map(|(tid, n)| n.saturating_sub(before.woke.get(tid).copied().unwrap_or(0))).sum()
    }
}

/// A process's CPU seconds so far, from its CPU-time clock (0 when it cannot be read).
fn cpu_seconds(pid: u32) -> f64 {
    let mut clock: libc::clockid_t = 0;
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: both calls only write the live locals they are given a pointer to, and keep no
    // pointer after they return; a process that is gone is an error code, not a fault.
    let ok = unsafe {
        libc::clock_getcpuclockid(pid as libc::pid_t, &mut clock) == 0
            && libc::clock_gettime(clock, &mut ts) == 0
    };
    if !ok {
        return 0.0;
    }
    ts.tv_sec as f64 + ts.tv_nsec as f64 / 1e9
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
}

/// Where the media comes from.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    /// A VideoRoom publisher (a str0m PeerConnection).
    Room,
    /// Plain RTP into a Streaming mountpoint.
    Mountpoint,
}

/// One run: a publisher and `n` subscribers in room 1234 of the gateway at `url` (pid `pid`),
/// or a mountpoint and `n` viewers.
async fn run(url: &str, pid: u32, n: usize, seconds: u64, source: Source, light: bool) -> anyhow::Result<()> {
    let received = Arc::new(Received::default());
    let sent = Arc::new(AtomicU64::new(0));
    let mut api = Api::connect(url).await?;
    let (mut tasks, watch) = match source {
        Source::Room => publish(&mut api, &received, &sent).await?,
        Source::Mountpoint => mountpoint(&mut api, &received, &sent).await?,
    };
    let plugin = if source == Source::Room { "janus.plugin.videoroom" } else { "janus.plugin.streaming" };

    // The subscribers; the time of each join (request to `started`), to see whether a join
    // costs more in a fuller room.
    let setup = Instant::now();
    let mut joins = Vec::with_capacity(n);
    for i in 0..n {
        let join_started = Instant::now();
        let handle = api.attach(plugin).await?;
        let ev = api.message(handle, watch.clone(), None).await?;
        let offer = ev["jsep"]["sdp"].as_str().ok_or_else(|| anyhow::anyhow!("no offer: {ev}"))?;
        let mut c = Client::new().await?;
        // One in ten stays a full client: the 0th, 11th, 22nd, … (a fixed stride could put
        // them all on one media thread, as the gateway spreads a large room over its threads).
        c.light = light && i % 10 != (i / 10) % 10;
        let answer = c.rtc.sdp_api().accept_offer(SdpOffer::from_sdp_string(offer)?)?;
        let jsep = json!({"type": "answer", "sdp": answer.to_sdp_string()});
        api.message(handle, json!({"request": "start", "room": ROOM}), Some(jsep)).await?;
        joins.push(join_started.elapsed());
        tasks.push(tokio::spawn(drive(c, received.clone(), None)));
        if i % 50 == 49 {
            api.call(json!({"janus": "keepalive"})).await?;
        }
    }
    measure(api, pid, n, seconds, Measure { received, sent, tasks, joins, setup: setup.elapsed() }).await
}

/// What a run measures from.
struct Measure {
    received: Arc<Received>,
    sent: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    joins: Vec<Duration>,
    setup: Duration,
}

/// A Streaming mountpoint the bench feeds with plain RTP: its source task, and the `watch`
/// body of its viewers.
async fn mountpoint(
    api: &mut Api,
    received: &Arc<Received>,
    sent: &Arc<AtomicU64>,
) -> anyhow::Result<(Vec<tokio::task::JoinHandle<()>>, Value)> {
    let admin = api.attach("janus.plugin.streaming").await?;
    // A new id each run: another gateway keeps the mountpoints of earlier runs.
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let id = 1 + (nanos % 1_000_000_000) as u64;
    let media = json!([
        {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8"},
        {"type": "audio", "mid": "a", "port": 0, "pt": 111, "codec": "opus"}]);
    let created = api
        .message(admin, json!({"request": "create", "type": "rtp", "id": id, "media": media}), None)
        .await?;
    let port = |i: usize| -> anyhow::Result<SocketAddr> {
        let p = created["plugindata"]["data"]["stream"]["ports"][i]["port"].as_u64();
        let p = p.ok_or_else(|| anyhow::anyhow!("no port in {created}"))?;
        Ok(SocketAddr::from(([127, 0, 0, 1], u16::try_from(p)?)))
    };
    let (video, audio) = (port(0)?, port(1)?);
    let task = tokio::spawn(plain_source(video, audio, received.clone(), sent.clone()));
    Ok((vec![task], json!({"request": "watch", "id": id})))
}

/// A VideoRoom publisher: its PeerConnection's task, and the `join` body of its subscribers.
async fn publish(
    api: &mut Api,
    received: &Arc<Received>,
    sent: &Arc<AtomicU64>,
) -> anyhow::Result<(Vec<tokio::task::JoinHandle<()>>, Value)> {
    let publisher = api.attach("janus.plugin.videoroom").await?;
    let joined = api
        .message(
            publisher,
            json!({"request": "join", "ptype": "publisher", "room": ROOM, "display": "bench"}),
            None,
        )
        .await?;
    let feed = joined["plugindata"]["data"]["id"].clone();
    let mut pc = Client::new().await?;
    let mut change = pc.rtc.sdp_api();
    let audio = change.add_media(MediaKind::Audio, Direction::SendOnly, None, None, None);
    let video = change.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = change.apply().ok_or_else(|| anyhow::anyhow!("no offer"))?;
    let jsep = json!({"type": "offer", "sdp": offer.to_sdp_string()});
    let ev = api
        .message(publisher, json!({"request": "configure", "audio": true, "video": true}), Some(jsep))
        .await?;
    let answer = ev["jsep"]["sdp"].as_str().ok_or_else(|| anyhow::anyhow!("no answer: {ev}"))?;
    pc.rtc.sdp_api().accept_answer(pending, SdpAnswer::from_sdp_string(answer)?)?;
    let tasks = vec![tokio::spawn(drive(pc, received.clone(), Some((audio, video, sent.clone()))))];
    // The room announces a publisher once its PeerConnection is up.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let probe =
            api.message(publisher, json!({"request": "listparticipants", "room": ROOM}), None).await?;
        let up = probe["plugindata"]["data"]["participants"]
            .as_array()
            .is_some_and(|ps| ps.iter().any(|p| p["id"] == feed && p["publisher"] == true));
        if up {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "the publisher never came up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok((tasks, json!({"request": "join", "ptype": "subscriber", "room": ROOM, "streams": [{"feed": feed}]})))
}

/// Starts the media, waits until every client gets it, and measures a window.
async fn measure(mut api: Api, pid: u32, n: usize, seconds: u64, m: Measure) -> anyhow::Result<()> {
    let Measure { received, sent, tasks, joins, setup } = m;

    received.sending.store(true, Ordering::Relaxed);
    // Until every subscriber gets media, then a moment more.
    let deadline = Instant::now() + Duration::from_secs(20);
    let before = received.packets.load(Ordering::Relaxed);
    while received.packets.load(Ordering::Relaxed) < before + 200 * n as u64 && Instant::now() < deadline {
        api.drain().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    api.call(json!({"janus": "keepalive"})).await?;
    tokio::time::sleep(Duration::from_secs(1)).await;

    // The window.
    received.measuring.store(true, Ordering::Relaxed);
    let gw0 = Usage::of(pid);
    let me0 = cpu_seconds(std::process::id());
    let sent0 = sent.load(Ordering::Relaxed);
    let drops0 = (udp_drops(pid), udp_drops(std::process::id()));
    let start = Instant::now();
    // What arrives is counted from a moment later than what is sent, by more than a packet's
    // trip: a burst sent just before the window is not counted as received in it (which
    // showed as a negative loss), one sent at its end is.
    tokio::time::sleep(ARRIVAL_LAG).await;
    let got0 = received.packets.load(Ordering::Relaxed);
    let each = |r: &Received| -> Vec<u64> {
        r.each.lock().unwrap().iter().map(|c| c.load(Ordering::Relaxed)).collect()
    };
    let each0 = each(&received);
    while start.elapsed() < Duration::from_secs(seconds) {
        api.drain().await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let sent_n = sent.load(Ordering::Relaxed) - sent0;
    let gw1 = Usage::of(pid);
    let me1 = cpu_seconds(std::process::id());
    tokio::time::sleep(ARRIVAL_LAG).await;
    let got = received.packets.load(Ordering::Relaxed) - got0;
    // Subscribers that got under half of what was sent in the window.
    let short = each(&received).iter().zip(&each0).filter(|(b, a)| (*b - *a) * 2 < sent_n).count();
    let drops =
        (udp_drops(pid).saturating_sub(drops0.0), udp_drops(std::process::id()).saturating_sub(drops0.1));
    received.measuring.store(false, Ordering::Relaxed);
    let samples = std::mem::take(&mut *received.latency.lock().unwrap());
    let mut lat: Vec<u32> = samples.iter().map(|s| s.0).collect();
    let mut seen: Vec<u32> = samples.iter().map(|s| s.1).collect();
    lat.sort_unstable();
    seen.sort_unstable();
    let expected = sent_n as f64 * n as f64;
    let per_million = |cpu: f64| cpu / (got as f64 / 1e6);
    // The median join among the first tenth of the subscribers and among the last.
    let median = |part: &[Duration]| {
        let mut v = part.to_vec();
        v.sort_unstable();
        v.get(v.len() / 2).map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    let tenth = (n / 10).max(1).min(joins.len());
    let (first_joins, last_joins) = (median(&joins[..tenth]), median(&joins[joins.len() - tenth..]));
    println!(
        "{n:>5} subscribers: {:>8.0} pkt/s forwarded, gateway {:>6.1} CPU s per million packets (generator {:>6.1}; the gateway's threads woke {:>6.0} times a second), \
         {}, loss {:>5.1} % (±{:.1}; {short} subscribers under half; datagrams dropped by full sockets: gateway {}, generator {}), latency p50 {:.2} ms p99 {:.2} ms (to the subscriber's event: \
         p50 {:.2} ms p99 {:.2} ms; setup {:.1} s; a join: \
         {first_joins:.1} ms among the first tenth, {last_joins:.1} ms among the last)",
        got as f64 / elapsed,
        per_million(gw1.cpu - gw0.cpu),
        per_million(me1 - me0),
        gw1.woke_since(&gw0) as f64 / elapsed,
        gw1.rss,
        100.0 * (1.0 - got as f64 / expected.max(1.0)),
        100.0 * PACKETS_PER_TICK as f64 / sent_n.max(1) as f64,
        drops.0,
        drops.1,
        percentile(&lat, 0.5),
        percentile(&lat, 0.99),
        percentile(&seen, 0.5),
        percentile(&seen, 0.99),
        setup.as_secs_f64(),
    );
    for t in tasks {
        t.abort();
    }
    // Leaving: the session goes, with its handles.
    let _ = api.call(json!({"janus": "destroy"})).await;
    Ok(())
}

/// A Portunus this bench started, on a configs folder of its own; both go when it is dropped.
struct Started {
    child: std::process::Child,
    dir: std::path::PathBuf,
}

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a Portunus with room 1234 on free ports; returns it and its WebSocket URL.
fn start_portunus(media_threads: u32) -> anyhow::Result<(Started, String)> {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("portunus-bench-room-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::write(
        dir.join("janus.jcfg"),
        format!(
            "general: {{ debug_level = 3 session_timeout = 0 }}\nmedia: {{ media_threads = {media_threads} }}\n\
             nat: {{ ice_enforce_list = \"lo\" }}\n"
        ),
    )?;
    std::fs::write(
        dir.join("janus.transport.http.jcfg"),
        "general: { http = false }\nadmin: { admin_http = false }\n",
    )?;
    std::fs::write(
        dir.join("janus.transport.websockets.jcfg"),
        "general: { ws = true ws_port = 0 ws_ip = \"127.0.0.1\" }\n",
    )?;
    std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), "room-1234: { publishers = 6 }\n")?;
    let exe = std::env::current_exe()?.with_file_name("portunus");
    let child = std::process::Command::new(&exe)
        .arg("-F")
        .arg(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn();
    let child = match child {
        Ok(child) => child,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&dir);
            anyhow::bail!("cannot start {}: {e} (cargo build --release first)", exe.display());
        }
    };
    let mut started = Started { child, dir };
    let stdout = started.child.stdout.take().ok_or_else(|| anyhow::anyhow!("no stdout"))?;
    let out = std::io::BufReader::new(stdout);
    let mut url = None;
    for line in out.lines() {
        let line = line?;
        if let Some(addr) = line.strip_prefix("listening: ws ") {
            url = Some(format!("ws://{addr}"));
        }
        if line == "ready" {
            break;
        }
    }
    let url = url.ok_or_else(|| anyhow::anyhow!("the gateway did not say where it listens"))?;
    Ok((started, url))
}

/// While it lives, this thread (the generator's) runs as `SCHED_BATCH`: same share of the CPU,
/// but its wake-ups (a datagram the gateway sent it) no longer preempt the gateway's thread on
/// the same core, which would charge the gateway the switches and the cold caches of the
/// generator's work. Gateways started meanwhile would inherit it: none is.
struct Batch;

impl Batch {
    fn enter() -> Self {
        set_policy(libc::SCHED_BATCH);
        Batch
    }
}

impl Drop for Batch {
    fn drop(&mut self) {
        set_policy(libc::SCHED_OTHER);
    }
}

fn set_policy(policy: libc::c_int) {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid `sched_param` that outlives the call, which only reads it;
    // pid 0 is the calling thread. A failure leaves the policy as it was, which is reported.
    if unsafe { libc::sched_setscheduler(0, policy, &param) } != 0 {
        eprintln!("scheduling policy {policy}: {}", std::io::Error::last_os_error());
    }
}

const USAGE: &str = "usage: portunus-bench-room [--media-threads N] [--seconds S] \
[--streaming | --audiobridge] [--light] [--janus ws://HOST:PORT --pid PID] SIZE...";

fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (mut janus, mut pid, mut threads, mut seconds, mut sizes) = (None, None, 1, 10, Vec::new());
    let mut source = Source::Room;
    let (mut audiobridge, mut light) = (false, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--janus" => janus = args.next(),
            "--pid" => pid = args.next().and_then(|p| p.parse().ok()),
            "--media-threads" => threads = args.next().and_then(|p| p.parse().ok()).unwrap_or(1),
            "--seconds" => seconds = args.next().and_then(|p| p.parse().ok()).unwrap_or(10),
            "--streaming" => source = Source::Mountpoint,
            "--audiobridge" => audiobridge = true,
            "--light" => light = true,
            "--help" | "-h" => {
                println!("{USAGE}");
                return Ok(());
            }
            n => match n.parse::<usize>() {
                Ok(n) => sizes.push(n),
                Err(_) => {
                    eprintln!("{USAGE}");
                    std::process::exit(2);
                }
            },
        }
    }
    if sizes.is_empty() {
        sizes = vec![10, 100];
    }
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    for n in sizes {
        match &janus {
            Some(url) => {
                let pid = pid.ok_or_else(|| anyhow::anyhow!("--pid <the gateway's process id> is needed"))?;
                println!("{url} (pid {pid}):");
                let _batch = Batch::enter();
                if audiobridge {
                    rt.block_on(audio::run(url, pid, n, seconds))?;
                } else {
                    rt.block_on(run(url, pid, n, seconds, source, light))?;
                }
            }
            None => {
                let (gateway, url) = start_portunus(threads)?;
                println!("portunus, {threads} media thread(s):");
                let pid = gateway.child.id();
                let batch = Batch::enter();
                let r = if audiobridge {
                    rt.block_on(audio::run(&url, pid, n, seconds))
                } else {
                    rt.block_on(run(&url, pid, n, seconds, source, light))
                };
                drop(batch);
                drop(gateway);
                r?;
            }
        }
    }
    Ok(())
}

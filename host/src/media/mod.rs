//! The media engine: WebRTC peers (str0m in RTP mode) on a media thread that owns their UDP
//! socket, host-owned SDP, and a router that forwards RTP by the plugins' rules.
//!
//! The core and plugins reach it through [`crate::vocab::MediaControl`]; it reports what
//! happens (`webrtcup`, `media`, `hangup`, data) as [`Notice`]s on a channel the gateway wires.

mod addresses;
mod appender;
mod capture;
pub mod certificate;
mod channels;
pub(crate) mod contain;
pub mod core;
mod demux;
mod dtls;
mod dtls_retries;
pub(crate) mod file;
mod homing;
pub(crate) mod inputs;
pub mod layers;
pub(crate) mod legs;
mod mjr;
mod news;
mod peer;
mod policy;
pub mod public_address;
mod ready;
mod router;
pub mod rtsp;
pub mod sim;
pub mod srtp;
mod summary;
pub(crate) mod talk;
mod timers;
mod tunables;
mod udp;
mod worker;

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub use legs::is_rtp;

use serde_json::Value;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};

use crate::config::{Media, Nat};
use crate::mixer;
use crate::vocab::srtp::MasterKey;
use crate::vocab::{
    AnswerPolicy, DescriptionError, ForwardRule, HandleRef, LegLocal, LegRemote, LegSpec, MediaControl,
    MediaEvent, MediaKind, NegotiationDone, NegotiationOutcome, Notice, OfferItem, SrtpKey, StreamInfo,
    LEG_BIT,
};
use crate::vocab::{
    Directions, InputLocal, InputSpec, MixCodec, MixerSpec, PortSettings, INPUT_BIT, MIX_BIT,
};
pub use mjr::MAGIC as MJR_MAGIC;
pub use router::Homes;
pub use tunables::{Tunables, MAX_MIN_NACK_QUEUE_MS};

/// A stream to offer.
#[derive(Debug, Clone)]
pub struct OfferedKind {
    pub kind: MediaKind,
    /// The codec its source sends, when known (with the format parameters to match).
    pub codec: Option<(String, Option<String>)>,
    /// The client may send on it too (sendrecv).
    pub two_way: bool,
}

/// Where a command's result goes: a caller waiting on a channel, or a notice.
pub type Reply<T> = Box<dyn FnOnce(T) + Send>;

/// A reply into a channel someone waits on.
pub fn reply_to<T: Send + 'static>(tx: std::sync::mpsc::Sender<T>) -> Reply<T> {
    Box::new(move |r| {
        let _ = tx.send(r);
    })
}

/// Work for the media thread.
pub enum Command {
    /// A client offer (full SDP) for a later answer.
    RemoteOffer(HandleRef, String),
    /// A client answer to our pending offer.
    RemoteAnswer(HandleRef, String, Reply<Result<(), DescriptionError>>),
    /// Watch the peer's audio levels (packets, threshold; 0 packets: stop).
    WatchTalking(HandleRef, u32, u8),
    /// The header extensions the peer's next negotiations use.
    RtpExtensions(HandleRef, crate::vocab::RtpExtensions),
    /// Offer the client streams of these kinds (sendonly) and data channels, and make the
    /// streams listed first (mids) inactive.
    /// (Each stream's kind and, when known, the codec its source sends.)
    Offer(HandleRef, Vec<String>, Directions, Vec<OfferedKind>, Reply<Result<(String, Vec<String>), String>>),
    /// Answer the pending offer.
    Answer(HandleRef, AnswerPolicy, Reply<Result<String, String>>),
    /// A trickled candidate line.
    Trickle(HandleRef, String),
    /// Hang up with a reason.
    Hangup(HandleRef, String),
    /// The handle is gone.
    Gone(HandleRef),
    /// Add a rule (sent to the threads of its source and of its destination).
    Forward(u64, ForwardRule, Homes),
    /// Remove a rule.
    Unforward(u64),
    /// Remove every recording rule, then say so.
    EndRecordings(std::sync::mpsc::Sender<()>),
    /// Change a rule's simulcast substream and temporal-layer targets.
    Layers(u64, Option<u8>, Option<u8>),
    /// REMB cap.
    Bitrate(HandleRef, u32),
    /// Ask for a keyframe (on one stream, or all).
    Keyframe(HandleRef, Option<String>),
    /// What admin `handle_info` shows of the handle's PeerConnection (none without one).
    Describe(HandleRef, Reply<Option<Value>>),
    /// Relay a kind or not.
    Relay(HandleRef, MediaKind, bool),
    /// Send data-channel bytes (dropped, with a debug log, without an open channel).
    Data(HandleRef, Option<String>, Vec<u8>, bool),
    /// Capture the handle's packets, or stop.
    Capture(HandleRef, Option<crate::vocab::CaptureSpec>),
    /// Routed packets for destinations this thread owns (from another media thread, in batches).
    Deliver(Vec<core::Delivery>),
    /// A destination on another thread wants a keyframe from this source handle.
    KeyframeOf(u64),
    /// Open a plain RTP leg (its sockets are bound).
    LegOpen(Box<legs::LegSetup>),
    /// Point a leg at its far end.
    LegConnect(u64, Box<LegRemote>),
    /// Close a leg.
    LegClose(u64),
    /// Generate telephone events on a leg: codes, length, gap.
    LegDtmf(u64, Vec<u8>, Duration, Duration),
    /// Open an RTP input (its sockets are bound).
    InputOpen(Box<inputs::InputSetup>),
    /// Close an input.
    InputClose(u64),
    /// An RTSP input's source described its streams (per stream, its codec if it got one)
    /// and sends from this address (per stream, its RTCP port when over UDP).
    InputDescribed(u64, Vec<Option<crate::vocab::LegCodec>>, std::net::IpAddr, Vec<Option<u16>>),
    /// A destination of this rule (from an input this thread owns) wants a keyframe.
    ReplayKeyframe(u64),
    /// A destination of this rule (from an input this thread owns) estimates it can take this
    /// many bits a second (its REMB).
    InputRemb(u64, u64),
    /// What the mixer made for ports this thread owns, one tick's batch.
    MixOut(Vec<crate::mixer::MixFrame>),
}

/// The running engine: handles to its media threads. Each handle's PeerConnection lives on one
/// thread (chosen when the handle first needs media: [`homing`]); a rule between handles on two
/// threads is known to both, and packets cross over as [`core::Delivery`]s.
pub struct MediaEngine {
    threads: Vec<UnboundedSender<Command>>,
    /// Where negotiation outcomes are reported.
    notices: UnboundedSender<Notice>,
    /// Each media thread's socket address.
    pub locals: Vec<SocketAddr>,
    /// PeerConnections up (ICE and DTLS done) on every media thread.
    pub connected: Arc<std::sync::atomic::AtomicUsize>,
    homes: Mutex<homing::Homing<Command>>,
    streams: Streams,
    /// Where legs bind, and the address their SDP gives (a 1:1 NAT's public one).
    legs: LegAddresses,
    /// What each input's thread reports of its streams.
    input_status: Mutex<HashMap<u64, Arc<inputs::InputStatus>>>,
    /// The mixing threads.
    mixer: crate::mixer::Pool,
    /// The stereo mixers: offers of their Opus ports say `stereo=1`.
    stereo_mixers: Mutex<std::collections::HashSet<u64>>,
    /// Where RTSP clients run (the runtime that started the engine).
    runtime: Option<tokio::runtime::Handle>,
    /// The RTSP clients, by input: dropping one's sender stops it.
    pulls: Mutex<HashMap<u64, tokio::sync::mpsc::UnboundedSender<rtsp::PullControl>>>,
}

/// Where plain RTP legs bind and what they advertise.
struct LegAddresses {
    bind: std::net::IpAddr,
    advertised: std::net::IpAddr,
    range: Option<(u16, u16)>,
    next: std::sync::atomic::AtomicU64,
}

/// Every handle's negotiated streams, written by the media threads when a negotiation ends
/// (an offer names its sources by handle and mid; their kinds come from here).
pub type Streams = Arc<Mutex<HashMap<u64, Vec<StreamInfo>>>>;

/// What `info` reports of the WebRTC stack, in Janus's terms (str0m 0.25's own settings, which
/// Portunus does not change): how often transport-wide congestion control feedback goes out
/// (`twcc-period`), ms.
pub const TWCC_PERIOD_MS: u64 = 50;
/// The DTLS and SCTP datagram size str0m aims for (`dtls-mtu`), bytes.
pub const DTLS_MTU: usize = 1_150;

/// How long `answer` waits for the media thread.
const ANSWER_WAIT: Duration = Duration::from_secs(5);

/// Binds the media socket on the first candidate address within `rtp_port_range`.
fn bind(ip: std::net::IpAddr, media: &Media) -> std::io::Result<std::net::UdpSocket> {
    let (lo, hi) = media.rtp_port_range.unwrap_or((0, 0));
    if lo == 0 {
        return std::net::UdpSocket::bind((ip, 0));
    }
    let span = u32::from(hi - lo) + 1;
    let start = rand::random_range(0..span);
    let mut last = None;
    for i in 0..span {
        let port = lo + ((start + i) % span) as u16;
        match std::net::UdpSocket::bind((ip, port)) {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("empty rtp_port_range")))
}

/// Asks for `kb` KiB of receive and send buffer (0: leaves the system's) and logs what the kernel
/// granted when `report` is set (Linux reports twice the usable size and caps the request at
/// `net.core.rmem_max`/`wmem_max`).
fn size_buffers(socket: &std::net::UdpSocket, kb: u32, report: bool) {
    let s = socket2::SockRef::from(socket);
    if kb > 0 {
        let bytes = kb as usize * 1024;
        if let Err(e) = s.set_recv_buffer_size(bytes) {
            tracing::warn!("media socket receive buffer of {kb} KiB refused: {e}");
        }
        if let Err(e) = s.set_send_buffer_size(bytes) {
            tracing::warn!("media socket send buffer of {kb} KiB refused: {e}");
        }
    }
    if report {
        let kib = |r: std::io::Result<usize>| r.map_or(0, |b| b / 1024);
        let (rx, tx) = (kib(s.recv_buffer_size()), kib(s.send_buffer_size()));
        tracing::info!("media socket buffers: receive {rx} KiB, send {tx} KiB (asked for {kb} KiB)");
        if kb > 0 && rx < kb as usize {
            tracing::warn!(
                "the kernel granted a smaller receive buffer than socket_buffer_kb = {kb}; raise net.core.rmem_max"
            );
        }
    }
}

/// Binds one port (0: a free one, from `range` when given).
fn bind_one(
    ip: std::net::IpAddr,
    port: u16,
    range: Option<(u16, u16)>,
) -> std::io::Result<std::net::UdpSocket> {
    match range {
        Some((lo, hi)) if port == 0 && lo > 0 => {
            let span = u32::from(hi - lo) + 1;
            let start = rand::random_range(0..span);
            let mut last = None;
            for i in 0..span {
                match std::net::UdpSocket::bind((ip, lo + ((start + i) % span) as u16)) {
                    Ok(s) => return Ok(s),
                    Err(e) => last = Some(e),
                }
            }
            Err(last.unwrap_or_else(|| std::io::Error::other("empty rtp_port_range")))
        }
        _ => std::net::UdpSocket::bind((ip, port)),
    }
}

/// Binds `port` (0: a free one) of multicast `group`, shared with other sockets of the group,
/// and joins the group on `iface` (unspecified: the system's choice). Only the group's
/// datagrams arrive, not those of other groups on the same port.
fn bind_multicast(
    group: std::net::Ipv4Addr,
    port: u16,
    iface: std::net::Ipv4Addr,
) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    #[cfg(target_os = "linux")]
    socket.set_multicast_all_v4(false)?;
    socket.bind(&std::net::SocketAddr::from((group, port)).into())?;
    socket.join_multicast_v4(&group, &iface)?;
    Ok(socket.into())
}

/// Binds a leg's RTP port (even) and its RTCP port (the next one), within `range` when given.
fn bind_pair(
    ip: std::net::IpAddr,
    range: Option<(u16, u16)>,
) -> std::io::Result<(std::net::UdpSocket, std::net::UdpSocket)> {
    let try_pair = |port: u16| -> std::io::Result<(std::net::UdpSocket, std::net::UdpSocket)> {
        let rtp = std::net::UdpSocket::bind((ip, port))?;
        let rtcp = std::net::UdpSocket::bind((ip, rtp.local_addr()?.port().wrapping_add(1)))?;
        Ok((rtp, rtcp))
    };
    let mut last = None;
    match range {
        Some((lo, hi)) if lo > 0 => {
            let evens: Vec<u16> = (lo..hi).filter(|p| p % 2 == 0).collect();
            let start = rand::random_range(0..evens.len().max(1));
            for i in 0..evens.len() {
                match try_pair(evens[(start + i) % evens.len()]) {
                    Ok(pair) => return Ok(pair),
                    Err(e) => last = Some(e),
                }
            }
        }
        _ => {
            for _ in 0..32 {
                match try_pair(0) {
                    Ok(pair) => return Ok(pair),
                    Err(e) => last = Some(e),
                }
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::other("no port pair in rtp_port_range")))
}

/// The `RtcConfig` every peer of an engine starts from (RTP mode, the DTLS certificate of
/// `certificate`'s files, or a fresh one).
pub fn rtc_template(
    ice_lite: bool,
    certificate: Option<&crate::config::CertificateFiles>,
) -> anyhow::Result<str0m::RtcConfig> {
    let cert = match certificate {
        Some(files) => certificate::load(files).map_err(|e| StartRefused(format!("certificates: {e:#}")))?,
        None => str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
            .ok_or_else(|| anyhow::anyhow!("cannot create the DTLS certificate"))?,
    };
    Ok(peer::template(cert, ice_lite))
}

/// What the configuration asks of the media cannot be done, and the gateway does not start, as
/// Janus does not: a DTLS identity it cannot use, a STUN server that does not answer (without
/// `ignore_unreachable_ice_server`).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartRefused(pub String);

/// The hint after a STUN failure that stops the start.
const STUN_HINT: &str = "(set nat.ignore_unreachable_ice_server to start without it)";

/// `nat.stun_server`'s address, of the family of the media sockets' `ip` (a name is resolved
/// once, now).
fn stun_server(nat: &Nat, ip: IpAddr) -> anyhow::Result<Option<SocketAddr>> {
    let Some((host, port)) = &nat.stun_server else { return Ok(None) };
    use std::net::ToSocketAddrs;
    let found =
        (host.as_str(), *port).to_socket_addrs().map(|mut all| all.find(|a| a.is_ipv4() == ip.is_ipv4()));
    let why = match found {
        Ok(Some(addr)) => return Ok(Some(addr)),
        Ok(None) => "no address of the media's family".to_owned(),
        Err(e) => e.to_string(),
    };
    if nat.ignore_unreachable_ice_server {
        tracing::error!("STUN server {host}:{port}: {why}; started without it");
        return Ok(None);
    }
    Err(StartRefused(format!("STUN server {host}:{port}: {why} {STUN_HINT}")).into())
}

/// The local address the media sockets bind to (the first usable one; see
/// `addresses::candidate_addresses`).
pub fn local_ip(media: &Media, nat: &Nat) -> Option<std::net::IpAddr> {
    addresses::candidate_addresses(media, nat, &addresses::system_interfaces()).first().copied()
}

impl MediaEngine {
    /// Starts the media threads; notices arrive on the returned channel. `tunables` are the
    /// settings the admin API may change, shared with the core.
    pub fn start(
        media: &Media,
        nat: &Nat,
        tunables: Arc<Tunables>,
    ) -> anyhow::Result<(Self, UnboundedReceiver<Notice>)> {
        let ip = local_ip(media, nat).ok_or_else(|| {
            anyhow::anyhow!("no usable address for ICE candidates (check interface and ice_enforce_list)")
        })?;
        let template = rtc_template(nat.ice_lite, media.certificate.as_ref())?;
        let (note_tx, note_rx) = unbounded_channel();
        let count = media.threads.max(1);
        let streams = Streams::default();
        let connected = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..count).map(|_| unbounded_channel()).unzip();
        // The mixing threads hand each media thread the ticks of the ports it owns.
        let to_media = senders.clone();
        let outlet: crate::mixer::Outlet = Arc::new(move |home, frames| {
            if let Some(t) = to_media.get(home) {
                let _ = t.send(Command::MixOut(frames));
            }
        });
        let mixers = std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1));
        // And the owners of ports the news of them (talking).
        let to_owners = note_tx.clone();
        let told: crate::mixer::Told = Arc::new(move |owner, event| {
            let _ = to_owners.send(Notice::new(owner, event));
        });
        let mixer = crate::mixer::Pool::start(mixers, outlet, told)?;
        let stun = stun_server(nat, ip)?;
        let mut locals = Vec::new();
        for (index, commands) in receivers.into_iter().enumerate() {
            let std_socket = bind(ip, media)?;
            let local = std_socket.local_addr()?;
            let mut advertised: Vec<SocketAddr> = addresses::advertised(ip, nat)
                .into_iter()
                .map(|a| SocketAddr::new(a, local.port()))
                .collect();
            if let Some(server) = stun {
                match public_address::query(&std_socket, server, public_address::GIVE_UP) {
                    Ok(public) => {
                        tracing::info!("media socket {local}: public address {public} (STUN {server})");
                        if !advertised.contains(&public) {
                            advertised.push(public);
                        }
                    }
                    Err(e) if nat.ignore_unreachable_ice_server => {
                        tracing::error!("media socket {local}: {e}; started without its public address")
                    }
                    Err(e) => {
                        return Err(StartRefused(format!("media socket {local}: {e} {STUN_HINT}")).into())
                    }
                }
            }
            std_socket.set_nonblocking(true)?;
            size_buffers(&std_socket, media.socket_buffer_kb, index == 0);
            locals.push(local);
            let setup = core::CoreSetup {
                index,
                siblings: senders.clone(),
                local,
                advertised,
                template: template.clone(),
                notices: note_tx.clone(),
                tunables: tunables.clone(),
                full_trickle: nat.full_trickle,
                streams: streams.clone(),
                mixer: Some(mixer.clone()),
                connected: connected.clone(),
            };
            std::thread::Builder::new().name(format!("media-{index}")).spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                    Ok(rt) => rt,
                    Err(e) => return tracing::error!("media thread: {e}"),
                };
                rt.block_on(async move {
                    let socket = match tokio::net::UdpSocket::from_std(std_socket) {
                        Ok(s) => s,
                        Err(e) => return tracing::error!("media socket: {e}"),
                    };
                    let core = core::MediaCore::new(setup, udp::SendBatch::new(&socket), Instant::now());
                    worker::run(&socket, core, commands).await;
                });
            })?;
        }
        tracing::info!("media on {locals:?}");
        let legs = LegAddresses {
            bind: ip,
            advertised: addresses::advertised(ip, nat).first().copied().unwrap_or(ip),
            range: media.rtp_port_range,
            next: std::sync::atomic::AtomicU64::new(1),
        };
        Ok((
            Self {
                threads: senders,
                notices: note_tx,
                locals,
                connected,
                homes: Mutex::new(homing::Homing::new(count)),
                streams,
                legs,
                input_status: Mutex::default(),
                mixer,
                runtime: tokio::runtime::Handle::try_current().ok(),
                pulls: Mutex::default(),
                stereo_mixers: Mutex::default(),
            },
            note_rx,
        ))
    }

    /// The thread that owns an endpoint (the least busy one on first use).
    fn home(&self, endpoint: u64) -> usize {
        self.home_near(endpoint, None)
    }

    /// The thread that owns an endpoint; on first use, its source's when given and not too
    /// busy ([`homing`]).
    fn home_near(&self, endpoint: u64, source: Option<u64>) -> usize {
        let mut homes = self.homes.lock().unwrap_or_else(PoisonError::into_inner);
        let (home, waited) = homes.home(endpoint, source);
        // Under the lock: what waited goes before anything sent once it has a thread.
        for c in waited {
            let _ = self.threads[home].send(c);
        }
        home
    }

    /// Sends a command that only configures a handle; one with no thread yet keeps it until
    /// its first real use chooses one ([`homing`]).
    fn configure(&self, handle: HandleRef, c: Command) {
        let mut homes = self.homes.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((home, c)) = homes.configure(handle.handle_id, c) {
            let _ = self.threads[home].send(c);
        }
    }

    /// An endpoint is gone: its thread owns one less.
    fn unhome(&self, endpoint: u64) {
        self.homes.lock().unwrap_or_else(PoisonError::into_inner).forget(endpoint);
    }

    /// Sends a command to the thread that owns `handle`.
    fn send(&self, handle: HandleRef, c: Command) {
        let _ = self.threads[self.home(handle.handle_id)].send(c);
    }

    /// Sends a command to every thread.
    fn broadcast(&self, make: impl Fn() -> Command) {
        for t in &self.threads {
            let _ = t.send(make());
        }
    }

    fn ask<T: Send + 'static>(
        &self,
        handle: HandleRef,
        make: impl FnOnce(Reply<T>) -> Command,
    ) -> Result<T, String> {
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = &self.threads[self.home(handle.handle_id)];
        thread.send(make(reply_to(tx))).map_err(|_| "media engine stopped".to_owned())?;
        let wait = || rx.recv_timeout(ANSWER_WAIT).map_err(|_| "media engine did not answer".to_owned());
        // On an API thread, the runtime hands its other tasks to another thread meanwhile, so a
        // client's JSEP answer or an admin handle_info never holds up other requests.
        match tokio::runtime::Handle::try_current().map(|h| h.runtime_flavor()) {
            Ok(tokio::runtime::RuntimeFlavor::MultiThread) => tokio::task::block_in_place(wait),
            _ => wait(),
        }
    }

    /// A reply that reports negotiation `id` of `handle` as a notice, converted by `done`.
    fn report<T: Send + 'static>(
        &self,
        handle: HandleRef,
        id: u64,
        done: impl FnOnce(T) -> NegotiationOutcome + Send + 'static,
    ) -> Reply<T> {
        let notices = self.notices.clone();
        Box::new(move |r| {
            let _ = notices.send(Notice::new(handle, MediaEvent::Negotiation { id, outcome: done(r) }));
        })
    }

    /// Sends a negotiation command; if the media engine is gone, says so as its outcome.
    fn negotiate(&self, handle: HandleRef, id: u64, command: Command) {
        if self.threads[self.home(handle.handle_id)].send(command).is_err() {
            let outcome = Err("media engine stopped".to_owned());
            let _ = self.notices.send(Notice::new(handle, MediaEvent::Negotiation { id, outcome }));
        }
    }
}

impl MediaControl for MediaEngine {
    fn remote_description(&self, handle: HandleRef, offer: bool, sdp: &str) -> Result<(), DescriptionError> {
        if offer {
            self.send(handle, Command::RemoteOffer(handle, sdp.to_owned()));
            Ok(())
        } else {
            self.ask(handle, |tx| Command::RemoteAnswer(handle, sdp.to_owned(), tx))
                .map_err(DescriptionError::Invalid)?
        }
    }

    fn offer(
        &self,
        handle: HandleRef,
        stop: Vec<String>,
        directions: Directions,
        items: Vec<OfferItem>,
        id: u64,
    ) -> Result<(), String> {
        let kinds = {
            let streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
            items
                .iter()
                .map(|item| match item {
                    OfferItem::Data => Ok(OfferedKind { kind: MediaKind::Data, codec: None, two_way: false }),
                    OfferItem::Placeholder { kind: MediaKind::Data, .. } => {
                        Err("a placeholder is audio or video".to_owned())
                    }
                    OfferItem::Placeholder { kind, codec, fmtp } => Ok(OfferedKind {
                        kind: *kind,
                        codec: Some((codec.clone(), fmtp.clone())),
                        two_way: false,
                    }),
                    OfferItem::Forward { source, mid, two_way } => streams
                        .get(&source.id())
                        .and_then(|s| s.iter().find(|s| s.mid == *mid || s.mid.is_empty()))
                        .map(|s| OfferedKind {
                            kind: s.kind,
                            codec: (!s.codec.is_empty()).then(|| (s.codec.clone(), s.fmtp.clone())),
                            two_way: *two_way,
                        })
                        .ok_or_else(|| format!("{source:?} has no stream {mid:?}")),
                })
                .collect::<Result<Vec<_>, String>>()?
        };
        let reply = self.report(handle, id, |r: Result<(String, Vec<String>), String>| {
            r.map(|(sdp, mids)| NegotiationDone { sdp: Some(sdp), offer: true, mids })
        });
        // A subscriber's PeerConnection goes to its (first) source's thread, when not too busy.
        let source = items.iter().find_map(|i| match i {
            OfferItem::Forward { source, .. } => Some(source.id()),
            _ => None,
        });
        self.home_near(handle.handle_id, source);
        self.negotiate(handle, id, Command::Offer(handle, stop, directions, kinds, reply));
        Ok(())
    }

    fn watch_talking(&self, handle: HandleRef, packets: u32, threshold: u8) {
        self.configure(handle, Command::WatchTalking(handle, packets, threshold));
    }

    fn set_rtp_extensions(&self, handle: HandleRef, extensions: crate::vocab::RtpExtensions) {
        self.configure(handle, Command::RtpExtensions(handle, extensions));
    }

    fn accept_answer(&self, handle: HandleRef, sdp: &str, id: u64) -> Result<(), String> {
        let reply = self.report(handle, id, |r: Result<(), DescriptionError>| match r {
            Ok(()) => Ok(NegotiationDone { sdp: None, offer: false, mids: Vec::new() }),
            Err(DescriptionError::UnexpectedAnswer) => Err("no offer is waiting for an answer".to_owned()),
            Err(DescriptionError::Invalid(why)) => Err(why),
        });
        self.negotiate(handle, id, Command::RemoteAnswer(handle, sdp.to_owned(), reply));
        Ok(())
    }

    fn trickle(&self, handle: HandleRef, candidate: Value) {
        if let Some(c) = candidate.get("candidate").and_then(Value::as_str) {
            self.send(handle, Command::Trickle(handle, c.to_owned()));
        }
    }

    fn hangup(&self, handle: HandleRef, reason: &str) {
        self.send(handle, Command::Hangup(handle, reason.to_owned()));
    }

    fn handle_gone(&self, handle: HandleRef) {
        self.broadcast(|| Command::Gone(handle));
        self.unhome(handle.handle_id);
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&handle.handle_id);
    }

    fn answer(&self, handle: HandleRef, policy: AnswerPolicy, id: u64) -> Result<(), String> {
        let reply = self.report(handle, id, |r: Result<String, String>| {
            r.map(|sdp| NegotiationDone { sdp: Some(sdp), offer: false, mids: Vec::new() })
        });
        self.negotiate(handle, id, Command::Answer(handle, policy, reply));
        Ok(())
    }

    fn forward(&self, id: u64, rule: ForwardRule) {
        let src = self.home(rule.src.id());
        // An RTP output sends from its source's thread.
        let dst = rule.dst.endpoint().map_or(src, |e| self.home_near(e.id(), Some(rule.src.id())));
        let homes = Homes { src, dst };
        if homes.src != homes.dst {
            let _ = self.threads[homes.dst].send(Command::Forward(id, rule.clone(), homes));
        }
        let _ = self.threads[homes.src].send(Command::Forward(id, rule, homes));
    }

    fn unforward(&self, id: u64) {
        self.broadcast(|| Command::Unforward(id));
    }

    fn end_recordings(&self, within: std::time::Duration) {
        let deadline = std::time::Instant::now() + within;
        let (done, ended) = std::sync::mpsc::channel();
        self.broadcast(|| Command::EndRecordings(done.clone()));
        for _ in &self.threads {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            if ended.recv_timeout(left).is_err() {
                tracing::warn!("recordings not all ended within {within:?}");
                return;
            }
        }
        if !appender::written(deadline.saturating_duration_since(std::time::Instant::now())) {
            tracing::warn!("recordings not all written within {within:?}");
        }
    }

    fn set_layers(&self, id: u64, substream: Option<u8>, temporal: Option<u8>) {
        self.broadcast(|| Command::Layers(id, substream, temporal));
    }

    fn set_bitrate_cap(&self, handle: HandleRef, bps: u32) {
        self.send(handle, Command::Bitrate(handle, bps));
    }

    fn request_keyframe(&self, handle: HandleRef, mid: Option<String>) {
        self.send(handle, Command::Keyframe(handle, mid));
    }

    fn describe(&self, handle: HandleRef) -> Option<Value> {
        // A handle no thread has seen has no PeerConnection (and is not given a thread here).
        let known = self.homes.lock().unwrap_or_else(PoisonError::into_inner).get(handle.handle_id).is_some();
        known.then(|| self.ask(handle, |tx| Command::Describe(handle, tx)).ok().flatten()).flatten()
    }

    fn set_media_enabled(&self, handle: HandleRef, kind: MediaKind, enabled: bool) {
        self.send(handle, Command::Relay(handle, kind, enabled));
    }

    fn send_data(&self, handle: HandleRef, label: Option<String>, data: Vec<u8>, text: bool) {
        self.send(handle, Command::Data(handle, label, data, text));
    }

    fn leg_open(&self, spec: LegSpec) -> Result<LegLocal, String> {
        let (bind, advertised) = spec.local_ip.map_or((self.legs.bind, self.legs.advertised), |ip| (ip, ip));
        let (rtp, rtcp) =
            bind_pair(bind, self.legs.range).map_err(|e| format!("cannot bind the leg's ports: {e}"))?;
        for s in [&rtp, &rtcp] {
            s.set_nonblocking(true).map_err(|e| format!("leg socket: {e}"))?;
        }
        let local = rtp.local_addr().map_err(|e| format!("leg socket: {e}"))?;
        let id = self.legs.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) | LEG_BIT;
        let srtp = spec.srtp.map(|suite| SrtpKey { suite, key: MasterKey::random() });
        let sdp = legs::sdp_section(spec.kind, advertised, local.port(), &spec.codecs, srtp.as_ref());
        // What a peer can be offered from it (`offered-stream::two-way`): its one stream, no mid.
        let first = spec.codecs.first().map(|c| c.name.clone()).unwrap_or_default();
        self.streams
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, vec![leg_stream(spec.kind, first)]);
        let setup = legs::LegSetup { id, owner: spec.owner, kind: spec.kind, rtp, rtcp, srtp: srtp.clone() };
        let _ = self.threads[self.home(id)].send(Command::LegOpen(Box::new(setup)));
        Ok(LegLocal { id, rtp: SocketAddr::new(advertised, local.port()), srtp, sdp })
    }

    fn leg_connect(&self, leg: u64, remote: LegRemote) {
        if let Some(s) = self.streams.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&leg) {
            *s = vec![leg_stream(s.first().map_or(MediaKind::Audio, |s| s.kind), remote.codec.name.clone())];
        }
        let _ = self.threads[self.home(leg)].send(Command::LegConnect(leg, Box::new(remote)));
    }

    fn leg_close(&self, leg: u64) {
        let _ = self.threads[self.home(leg)].send(Command::LegClose(leg));
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&leg);
        self.unhome(leg);
    }

    fn leg_dtmf(&self, leg: u64, events: Vec<u8>, length: Duration, gap: Duration) {
        let _ = self.threads[self.home(leg)].send(Command::LegDtmf(leg, events, length, gap));
    }

    fn leg_keyframe(&self, leg: u64) {
        let _ = self.threads[self.home(leg)].send(Command::KeyframeOf(leg));
    }

    fn input_open(&self, spec: InputSpec) -> Result<InputLocal, String> {
        let ip = spec.bind.unwrap_or(self.legs.bind);
        let runtime = match (&spec.rtsp, &self.runtime) {
            (Some(_), None) => return Err("RTSP sources need the gateway's runtime".to_owned()),
            (Some(_), Some(rt)) => Some(rt.clone()),
            (None, _) => None,
        };
        let mut sockets = Vec::new();
        let mut ports = Vec::new();
        // RTCP with the sender, read on the input's thread: an RTSP stream's pair of free
        // ports (the server's reports latch its address, keyframe requests go to it), or a
        // plain sender's `rtcp_port`.
        let (mut feedback, mut rtcp_ports) = (Vec::new(), Vec::new());
        for stream in &spec.streams {
            let mut socks = Vec::new();
            if spec.rtsp.is_some() {
                let (rtp, report) = bind_pair(ip, self.legs.range)
                    .map_err(|e| format!("cannot bind an RTP port pair: {e}"))?;
                rtp.set_nonblocking(true).map_err(|e| format!("input socket: {e}"))?;
                report.set_nonblocking(true).map_err(|e| format!("input socket: {e}"))?;
                socks.push(rtp);
                feedback.push(Some(report));
                rtcp_ports.push(None);
            }
            let wanted = if spec.rtsp.is_some() { &[][..] } else { &stream.ports[..] };
            for port in wanted {
                let sock = match (stream.mcast, ip) {
                    (Some(group), IpAddr::V4(iface)) => bind_multicast(group, *port, iface)
                        .map_err(|e| format!("cannot receive {group}:{port} on {iface}: {e}"))?,
                    (Some(_), IpAddr::V6(_)) => return Err("multicast is IPv4 only".to_owned()),
                    (None, _) => bind_one(ip, *port, self.legs.range)
                        .map_err(|e| format!("cannot bind {ip}:{port}: {e}"))?,
                };
                sock.set_nonblocking(true).map_err(|e| format!("input socket: {e}"))?;
                socks.push(sock);
            }
            ports.push(socks.iter().map(|s| s.local_addr().map_or(0, |a| a.port())).collect());
            sockets.push(socks);
            if spec.rtsp.is_some() {
                continue;
            }
            let sock = match stream.rtcp_port {
                Some(port) => {
                    let sock = bind_one(ip, port, self.legs.range)
                        .map_err(|e| format!("cannot bind {ip}:{port} for RTCP: {e}"))?;
                    sock.set_nonblocking(true).map_err(|e| format!("input socket: {e}"))?;
                    Some(sock)
                }
                None => None,
            };
            rtcp_ports.push(sock.as_ref().map(|s| s.local_addr().map_or(0, |a| a.port())));
            feedback.push(sock);
        }
        let id = self.legs.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed) | INPUT_BIT;
        // What subscribers are offered: one stream per input stream, by kind.
        let infos = spec
            .streams
            .iter()
            .map(|s| StreamInfo {
                mid: s.mid.clone(),
                kind: s.kind,
                codec: s.codec.name.clone(),
                client_sends: true,
                client_receives: false,
                rids: Vec::new(),
                fmtp: s.fmtp.clone(),
            })
            .collect();
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).insert(id, infos);
        let status = Arc::new(inputs::InputStatus::new(spec.streams.iter().map(|s| s.mid.as_str())));
        self.input_status.lock().unwrap_or_else(PoisonError::into_inner).insert(id, status.clone());
        let pull = spec.rtsp.clone().zip(runtime).map(|(source, rt)| {
            let home = self.threads[self.home(id)].clone();
            let streams = self.streams.clone();
            let described = move |specs: Vec<Option<crate::vocab::InputStreamSpec>>, from, rtcp| {
                if let Some(infos) = streams.lock().unwrap_or_else(PoisonError::into_inner).get_mut(&id) {
                    for (info, spec) in infos.iter_mut().zip(&specs) {
                        if let Some(spec) = spec {
                            info.codec = spec.codec.name.clone();
                            info.fmtp = spec.fmtp.clone();
                        }
                    }
                }
                let codecs = specs.into_iter().map(|s| s.map(|s| s.codec)).collect();
                let _ = home.send(Command::InputDescribed(id, codecs, from, rtcp));
            };
            let pull = rtsp::Pull {
                id,
                source,
                wanted: spec.streams.clone(),
                ports: ports
                    .iter()
                    .map(|p: &Vec<u16>| SocketAddr::new(ip, p.first().copied().unwrap_or(0)))
                    .collect(),
                status: status.clone(),
                described: Box::new(described),
                notices: self.notices.clone(),
            };
            (pull, rt)
        });
        let setup = inputs::InputSetup { id, spec, sockets, rtcp: feedback, status };
        let _ = self.threads[self.home(id)].send(Command::InputOpen(Box::new(setup)));
        if let Some((pull, rt)) = pull {
            let (control, controlled) = tokio::sync::mpsc::unbounded_channel();
            self.pulls.lock().unwrap_or_else(PoisonError::into_inner).insert(id, control);
            rt.spawn(rtsp::run(pull, controlled));
        }
        Ok(InputLocal { id, ports, rtcp_ports })
    }

    fn input_status(&self, input: u64) -> Option<Vec<crate::vocab::InputStreamReport>> {
        let status = self.input_status.lock().unwrap_or_else(PoisonError::into_inner).get(&input).cloned();
        status.map(|s| s.report())
    }

    fn input_restart(&self, input: u64, why: String) {
        if let Some(control) = self.pulls.lock().unwrap_or_else(PoisonError::into_inner).get(&input) {
            let _ = control.send(rtsp::PullControl::Restart(why));
        }
    }

    fn input_close(&self, input: u64) {
        // Dropping its control stops the pull.
        self.pulls.lock().unwrap_or_else(PoisonError::into_inner).remove(&input);
        self.input_status.lock().unwrap_or_else(PoisonError::into_inner).remove(&input);
        let _ = self.threads[self.home(input)].send(Command::InputClose(input));
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&input);
        self.unhome(input);
    }

    fn mixer_create(&self, spec: MixerSpec) -> Result<u64, String> {
        if !MixerSpec::RATES.contains(&spec.rate) {
            return Err(format!("a mixer runs at 8000, 12000, 16000, 24000 or 48000 Hz, not {}", spec.rate));
        }
        let n = self.legs.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let id = self.mixer.id(n, None);
        if spec.stereo {
            self.stereo_mixers.lock().unwrap_or_else(PoisonError::into_inner).insert(id);
        }
        self.mixer.send(id, mixer::Job::Create(id, spec));
        Ok(id)
    }

    fn mixer_join(
        &self,
        mixer: u64,
        owner: Option<HandleRef>,
        codec: MixCodec,
        settings: PortSettings,
    ) -> Result<u64, String> {
        let n = self.legs.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = self.mixer.id(n, Some(mixer)) | MIX_BIT;
        // Offers take the port's one stream, in its codec, both ways.
        let name = match codec {
            MixCodec::Opus => "opus",
            MixCodec::Pcmu => "pcmu",
            MixCodec::Pcma => "pcma",
        };
        let mut stream = leg_stream(MediaKind::Audio, name.to_owned());
        if codec == MixCodec::Opus
            && self.stereo_mixers.lock().unwrap_or_else(PoisonError::into_inner).contains(&mixer)
        {
            stream.fmtp = Some(policy::STEREO.to_owned());
        }
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).insert(port, vec![stream]);
        self.mixer.send(port, mixer::Job::Join(port, mixer, self.home(port), owner, codec, settings));
        Ok(port)
    }

    fn mixer_set(&self, port: u64, settings: PortSettings) {
        self.mixer.send(port, mixer::Job::Set(port, settings));
    }

    fn mixer_reset(&self, port: u64) {
        self.mixer.send(port, mixer::Job::ResetDecoder(port));
    }

    fn mixer_leave(&self, port: u64) {
        self.mixer.send(port, mixer::Job::Leave(port));
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&port);
        self.unhome(port);
    }

    fn mixer_destroy(&self, mixer: u64) {
        self.stereo_mixers.lock().unwrap_or_else(PoisonError::into_inner).remove(&mixer);
        self.mixer.send(mixer, mixer::Job::Destroy(mixer));
    }

    fn capture(&self, handle: HandleRef, spec: Option<crate::vocab::CaptureSpec>) {
        self.send(handle, Command::Capture(handle, spec));
    }

    fn mixer_record(&self, mixer: u64, file: Option<std::fs::File>) {
        let notices = self.notices.clone();
        let failed = Box::new(move |why: String| {
            tracing::error!(mixer, "recording stopped: {why}");
            let _ = notices.send(Notice::new(HandleRef::NONE, MediaEvent::MixerRecordFailed { mixer, why }));
        });
        self.mixer.send(mixer, mixer::Job::Record(mixer, file, failed));
    }
}

/// A leg's one stream as offers see it (no mid; its codec once known).
fn leg_stream(kind: MediaKind, codec: String) -> StreamInfo {
    StreamInfo {
        mid: String::new(),
        kind,
        codec,
        client_sends: true,
        client_receives: true,
        rids: Vec::new(),
        fmtp: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vocab::{Endpoint, OfferItem, RtpExtensions, StreamInfo};

    /// A subscriber's PeerConnection is made on its publisher's thread, even when the plugin
    /// configures it (its RTP extensions) before offering: that alone chose a thread in turn,
    /// and a room of ten split over two threads cost a third more CPU per packet.
    #[tokio::test]
    async fn a_subscriber_goes_to_its_publishers_thread() {
        let media = Media { threads: 2, ..Media::default() };
        let nat = Nat { ice_enforce_list: vec!["lo".into()], ..Nat::default() };
        let (engine, _notices) = MediaEngine::start(&media, &nat, Arc::default()).expect("engine");
        let handle = |id| HandleRef { session_id: 1, handle_id: id };
        let (publisher, other, subscriber) = (handle(1), handle(2), handle(3));
        let video = StreamInfo {
            mid: "0".into(),
            kind: MediaKind::Video,
            codec: "vp8".into(),
            client_sends: true,
            client_receives: false,
            rids: Vec::new(),
            fmtp: None,
        };
        engine.streams.lock().unwrap().insert(publisher.handle_id, vec![video]);
        // The publisher comes second, on thread 1: a subscriber placed as anything else would
        // be (the least busy thread, 0 on a tie) would not land there.
        engine.remote_description(other, true, "v=0\r\n").ok();
        engine.remote_description(publisher, true, "v=0\r\n").ok();
        let home = |h: HandleRef| engine.homes.lock().unwrap().get(h.handle_id);
        assert_eq!((home(other), home(publisher)), (Some(0), Some(1)), "unrelated handles spread");
        engine.set_rtp_extensions(subscriber, RtpExtensions::ALL);
        assert_eq!(home(subscriber), None, "configuring chooses no thread");
        let source = Endpoint::Peer(publisher);
        let items = vec![OfferItem::Forward { source, mid: "0".into(), two_way: false }];
        engine.offer(subscriber, Vec::new(), Vec::new(), items, 1).expect("offered");
        assert_eq!(home(subscriber), home(publisher));
    }
}

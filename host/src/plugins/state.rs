//! What a plugin instance's `Store` holds, and the host imports it calls.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::bindings::portunus::plugin::host;
use super::bindings::types::{
    self as wit, AnswerPolicy, ForwardOptions, HandleRef, LogLevel, MediaKind, OfferedStream, RtpTarget,
};
use super::convert::{
    api_handle, direction, endpoint, kind, leg_codec, leg_remote, mix_codec, mix_settings, rtp_extensions,
    srtp_key, srtp_suite, wit_srtp_key,
};
use super::legs::LegTable;
use super::limits::Limits;
use super::mixers::MixerTable;
use super::rules::RuleTable;
use super::sockets::{Binding, SocketTable};
use crate::api::plugin::PluginEvent;
use crate::api::Core;
use crate::vocab::{self as media, HandleRef as ApiHandle};

/// Negotiation ids are unique in the whole gateway.
static NEXT_NEGOTIATION: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

fn next_negotiation() -> u64 {
    NEXT_NEGOTIATION.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
}

/// Facts shared by every instance of one plugin (they survive reloads and crashes).
pub struct PluginShared {
    /// The API core, for events and handle lookups.
    pub core: Core,
    /// Package name, e.g. `janus.plugin.echotest`.
    pub package: String,
    /// Sandbox limits.
    pub limits: Limits,
    /// Forwarding rules.
    pub rules: Mutex<RuleTable>,
    /// UDP sockets.
    pub sockets: Mutex<SocketTable>,
    /// Plain RTP legs.
    pub legs: Mutex<LegTable>,
    /// RTP inputs.
    pub inputs: Mutex<std::collections::BTreeSet<u64>>,
    /// Audio mixers and their ports.
    pub mixers: Mutex<MixerTable>,
    /// The file `save-config` writes (`<configs folder>/<package>.jcfg`); none with the embedded
    /// configuration.
    pub config_file: Option<std::path::PathBuf>,
    /// Keeps the engine's epoch (CPU budgets) advancing while a call runs.
    pub ticker: Arc<super::engine::Ticker>,
    /// Sends `http-post`'s posts.
    pub poster: super::http_post::Poster,
    /// Janus's `recordings_tmp_ext`: recordings are written as `<file>.<ext>` and renamed when
    /// complete.
    pub recordings_tmp_ext: Option<String>,
    /// The plugin file's `general.events` (default true, as Janus's plugins): whether its
    /// `notify-event`s go to the event handlers.
    pub notify_events: bool,
    /// The runtime, for the lookups `resolve` waits for.
    pub rt: tokio::runtime::Handle,
    /// `resolve`'s and `locate-sip`'s remembered answers (shared with the lookups that finish
    /// after their call).
    pub lookups: Arc<Mutex<super::lookups::Lookups>>,
}

/// A host fact a call made; a crash that rolls the plugin back past it undoes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Made {
    /// A forwarding rule.
    Rule(u64),
    /// A UDP socket.
    Socket(u32),
    /// A plain RTP leg.
    Leg(u64),
    /// An RTP input.
    Input(u64),
    /// An audio mixer.
    Mixer(u64),
    /// A mixer port.
    Port(u64),
    /// A negotiation of the handle's media. It is not undone: it completes, and its event
    /// reaches the restored instance, which answers the request that started it.
    Negotiation(ApiHandle),
}

/// Closes a plugin's leg, input or mixer port and removes its rules, here and in the media
/// engine; unknown ones are ignored.
pub fn close_endpoint(shared: &PluginShared, endpoint: media::Endpoint) {
    let known = match endpoint {
        media::Endpoint::Leg(id) => shared.legs.lock().unwrap_or_else(|e| e.into_inner()).remove(id),
        media::Endpoint::Input(id) => shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).remove(&id),
        media::Endpoint::Mix(id) => shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).remove_port(id),
        media::Endpoint::Peer(_) => false,
    };
    if !known {
        return;
    }
    let media = shared.core.media();
    let gone = shared.rules.lock().unwrap_or_else(|e| e.into_inner()).remove_endpoint(endpoint);
    for id in gone {
        media.unforward(id);
    }
    match endpoint {
        media::Endpoint::Leg(id) => media.leg_close(id),
        media::Endpoint::Input(id) => media.input_close(id),
        media::Endpoint::Mix(id) => media.mixer_leave(id),
        media::Endpoint::Peer(_) => {}
    }
}

/// Destroys a plugin's mixer after closing its ports; unknown ones are ignored.
pub fn destroy_mixer(shared: &PluginShared, mixer: u64) {
    let Some(ports) = shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).ports_in(mixer) else {
        return;
    };
    for port in ports {
        close_endpoint(shared, media::Endpoint::Mix(port));
    }
    shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).remove_mixer(mixer);
    shared.core.media().mixer_destroy(mixer);
}

/// What the current call (or the calls since the last checkpoint) did, for the CPU budget and
/// for undoing host facts after a crash.
#[derive(Debug)]
pub struct CallAccount {
    /// The calling thread's CPU time when the current call started.
    pub started: Duration,
    /// CPU time the current call spent inside host imports (not counted against its budget).
    pub in_host: Duration,
    /// Time the current call waited for `resolve` and `locate-sip` (at most [`super::lookups::CALL_WAIT`]).
    pub lookups_waited: Duration,
    /// The guest's own time allowed per call.
    pub budget: Duration,
    /// Events and data messages delivered by the current call (a broadcast counts each handle).
    pub deliveries: usize,
    /// Bytes those deliveries carry (an event to 500 handles counts 500 times).
    pub delivered_bytes: usize,
    /// Rules and sockets made since the last checkpoint: a crash rolls the plugin back to
    /// that checkpoint, so the host removes them too.
    pub made_since_checkpoint: Vec<Made>,
}

impl CallAccount {
    fn new(budget: Duration) -> Self {
        Self {
            started: thread_cpu(),
            in_host: Duration::ZERO,
            lookups_waited: Duration::ZERO,
            budget,
            deliveries: 0,
            delivered_bytes: 0,
            made_since_checkpoint: Vec::new(),
        }
    }

    /// A call starts on this thread.
    pub fn start(&mut self) {
        self.started = thread_cpu();
        self.in_host = Duration::ZERO;
        self.lookups_waited = Duration::ZERO;
    }

    /// The thread's CPU time in this call so far, host imports included.
    fn spent(&self) -> Duration {
        thread_cpu().saturating_sub(self.started)
    }

    /// The guest's own execution time so far in this call.
    pub fn guest_time(&self) -> Duration {
        self.spent().saturating_sub(self.in_host)
    }

    /// Whether the call is over its budget: its own execution beyond `budget`, or in all (with
    /// the work it made the host do) beyond [`TOTAL_FACTOR`] times that, so that a guest cannot
    /// keep the host busy without end by calling imports in a loop.
    pub fn over_budget(&self) -> bool {
        self.guest_time() >= self.budget || self.spent() >= self.budget * TOTAL_FACTOR
    }

    /// Milliseconds left before [`CallAccount::over_budget`] (0 when over).
    pub fn left_ms(&self) -> u64 {
        let own = self.budget.saturating_sub(self.guest_time());
        let all = (self.budget * TOTAL_FACTOR).saturating_sub(self.spent());
        own.min(all).as_millis() as u64
    }
}

/// A call may take this many times its CPU budget in all, host imports included.
pub const TOTAL_FACTOR: u32 = 10;

/// The calling thread's CPU time. Budgets count it, not the time on the wall: a plugin thread
/// that waits for a core (a loaded machine) has not used its budget. (Zero if the clock cannot
/// be read, which Linux does not refuse for the calling thread.)
pub fn thread_cpu() -> Duration {
    nix::time::clock_gettime(nix::time::ClockId::CLOCK_THREAD_CPUTIME_ID)
        .map_or(Duration::ZERO, |t| Duration::new(t.tv_sec() as u64, t.tv_nsec() as u32))
}

/// Caps all of an instance's linear memories and tables together (wasmtime's own limiter
/// caps each memory alone).
#[derive(Debug)]
pub struct TotalLimiter {
    max_bytes: usize,
    used: usize,
}

/// What one table element is counted as, bytes (a pointer-sized reference plus bookkeeping).
const TABLE_ELEMENT_BYTES: usize = 16;

impl TotalLimiter {
    /// A limiter for `max_bytes` in all.
    pub fn new(max_bytes: usize) -> Self {
        Self { max_bytes, used: 0 }
    }

    /// Bytes of memories and tables the instance holds now.
    pub fn used(&self) -> usize {
        self.used
    }

    fn grow(&mut self, from: usize, to: usize) -> wasmtime::Result<bool> {
        let after = self.used.saturating_sub(from).saturating_add(to);
        if after > self.max_bytes {
            wasmtime::bail!(
                "memory limit exceeded: memories and tables would use {after} bytes (limit {})",
                self.max_bytes
            );
        }
        self.used = after;
        Ok(true)
    }
}

impl wasmtime::ResourceLimiter for TotalLimiter {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current, desired)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        _max: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.grow(current.saturating_mul(TABLE_ELEMENT_BYTES), desired.saturating_mul(TABLE_ELEMENT_BYTES))
    }

    fn instances(&self) -> usize {
        16
    }

    fn tables(&self) -> usize {
        64
    }

    fn memories(&self) -> usize {
        16
    }
}

/// Work a call asked for that runs after it returns.
#[derive(Debug)]
pub enum AfterCall {
    /// `end-handle`.
    EndHandle(ApiHandle),
    /// `close-pc`.
    ClosePc(ApiHandle),
    /// `set-timer`.
    SetTimer(u64, u32),
    /// `cancel-timer`.
    CancelTimer(u64),
    /// A socket bound by `udp-bind`: its reader starts.
    ReadSocket(u32),
    /// `http-post`, checked.
    HttpPost(super::http_post::Post),
    /// `udp-send` to a name not resolved yet: its lookup, for the sends waiting for it.
    Resolve { host: String, port: u16 },
    /// `notify-event`, checked: the data for the event handlers, about a handle or none.
    Notify(Option<ApiHandle>, Value),
}

/// The data of one instance's `Store`.
pub struct StoreState {
    wasi: WasiCtx,
    table: ResourceTable,
    /// Memory and instance limits.
    pub limits: TotalLimiter,
    /// The CPU budget and what the current call did.
    pub account: CallAccount,
    /// Shared facts.
    pub shared: Arc<PluginShared>,
    /// Events pushed during the current call.
    pub events: Vec<PluginEvent>,
    /// Work for after the current call.
    pub after: Vec<AfterCall>,
}

impl StoreState {
    /// A fresh state with an empty WASI context (no files, env, sockets).
    pub fn new(shared: Arc<PluginShared>) -> Self {
        let limits = TotalLimiter::new(shared.limits.memory_bytes);
        let budget = Duration::from_millis(shared.limits.cpu_ms_per_call);
        Self {
            wasi: WasiCtx::builder().build(),
            table: ResourceTable::new(),
            limits,
            account: CallAccount::new(budget),
            shared,
            events: Vec::new(),
            after: Vec::new(),
        }
    }
}

impl WasiView for StoreState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn parse_object(text: &str, what: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(format!("{what} must be a JSON object")),
        Err(e) => Err(format!("{what} is not valid JSON: {e}")),
    }
}

impl StoreState {
    /// `udp-bind`, or `tcp-listen` with `tcp`: the socket under the plugin's
    /// `sandbox.udp_bind`, its reader started after the call.
    fn bind(&mut self, address: String, binding: Binding) -> Result<wit::UdpSocket, String> {
        let addr: std::net::SocketAddr =
            address.parse().map_err(|_| format!("'{address}' is not an IP address and port"))?;
        if !self.shared.limits.udp_bind.allows(addr) {
            return Err(format!("the plugin's sandbox.udp_bind does not allow {addr}"));
        }
        let max = self.shared.limits.max_sockets;
        let mut sockets = self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner());
        let (id, new) = sockets.bind(addr, binding, max)?;
        let local = sockets.local(id).map(|a| a.to_string()).unwrap_or_default();
        drop(sockets);
        if new {
            self.account.made_since_checkpoint.push(Made::Socket(id));
            self.after.push(AfterCall::ReadSocket(id));
        }
        Ok(wit::UdpSocket { id, local })
    }

    /// Runs the work of an import (parsing events, routing), keeping its time off the
    /// guest's CPU budget.
    fn timed<R>(&mut self, f: impl FnOnce(&mut Self) -> R) -> R {
        let started = thread_cpu();
        let r = f(self);
        self.account.in_host += thread_cpu().saturating_sub(started);
        r
    }

    fn queue_event(
        &mut self,
        handle: HandleRef,
        transaction: Option<String>,
        event: &str,
        jsep: Option<&str>,
    ) -> Result<(), String> {
        let size = self.event_size(event.len() + jsep.map_or(0, str::len))?;
        self.own(handle)?;
        self.count_deliveries(1, size)?;
        let data = parse_object(event, "event")?;
        let jsep = jsep.map(|j| parse_object(j, "jsep")).transpose()?;
        self.events.push(PluginEvent { handle: api_handle(handle), transaction, data, jsep });
        Ok(())
    }

    fn queue_event_many(&mut self, handles: Vec<HandleRef>, event: &str) -> Result<u32, String> {
        self.event_size(event.len())?;
        let targets = self.own_handles(handles);
        self.count_deliveries(targets.len(), event.len())?;
        let data = parse_object(event, "event")?;
        let reached = u32::try_from(targets.len()).unwrap_or(u32::MAX);
        self.events.extend(targets.into_iter().map(|handle| PluginEvent {
            handle,
            transaction: None,
            data: data.clone(),
            jsep: None,
        }));
        Ok(reached)
    }

    /// An event's size, if it is within `max_event_bytes`.
    fn event_size(&self, size: usize) -> Result<usize, String> {
        let max = self.shared.limits.max_event_bytes;
        if size > max {
            return Err(format!("event too large ({size} bytes, limit {max})"));
        }
        Ok(size)
    }

    /// Counts `n` deliveries of `bytes` each against `max_events_per_call` and the bytes one
    /// call may have the host carry (256 times `max_event_bytes`).
    fn count_deliveries(&mut self, n: usize, bytes: usize) -> Result<(), String> {
        let max = self.shared.limits.max_events_per_call;
        if self.account.deliveries.saturating_add(n) > max {
            return Err(format!("too many events in one call (limit {max})"));
        }
        let max_bytes = self.shared.limits.max_event_bytes.saturating_mul(256);
        let total = self.account.delivered_bytes.saturating_add(n.saturating_mul(bytes));
        if total > max_bytes {
            return Err(format!("too many bytes sent in one call (limit {max_bytes})"));
        }
        self.account.deliveries += n;
        self.account.delivered_bytes = total;
        Ok(())
    }

    /// The plugin's own handles among `handles`, each once.
    fn own_handles(&self, handles: Vec<HandleRef>) -> Vec<ApiHandle> {
        let mut seen = std::collections::HashSet::with_capacity(handles.len());
        handles
            .into_iter()
            .filter(|h| seen.insert((h.session, h.handle)) && self.handle_exists(*h))
            .map(api_handle)
            .collect()
    }

    /// Sends a data message to each of `targets`, within the call's limits (a message larger
    /// than `max_event_bytes`, or one past them, is dropped with a warning).
    fn send_data_to(&mut self, targets: Vec<ApiHandle>, label: Option<String>, data: Vec<u8>, is_text: bool) {
        if data.len() > self.shared.limits.max_event_bytes {
            tracing::warn!(plugin = %self.shared.package, "data message of {} bytes over max_event_bytes dropped", data.len());
            return;
        }
        if let Err(why) = self.count_deliveries(targets.len(), data.len()) {
            tracing::warn!(plugin = %self.shared.package, "data message dropped: {why}");
            return;
        }
        let media = self.shared.core.media();
        for h in targets {
            media.send_data(h, label.clone(), data.clone(), is_text);
        }
    }

    /// Whether a handle exists and is attached to this plugin: a plugin acts on its own
    /// handles only (as in Janus, where a plugin never sees another's).
    fn handle_exists(&self, h: HandleRef) -> bool {
        let handle = self.shared.core.session(h.session).and_then(|s| s.handle(h.handle));
        handle.is_some_and(|h| h.package == self.shared.package)
    }

    /// Files a rule under the plugin's cap and hands it to the media engine.
    fn add_rule(&mut self, rule: media::ForwardRule) -> Result<u64, String> {
        let max = self.shared.limits.max_rules;
        let id = self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).add(rule.clone(), max)?;
        self.account.made_since_checkpoint.push(Made::Rule(id));
        self.shared.core.media().forward(id, rule);
        Ok(id)
    }

    /// `forward-rtp`, with the receiver's RTCP feedback when `rtcp_port` is given: the rule id
    /// and the local port that RTCP comes to (0 without).
    fn rtp_output(
        &mut self,
        src: wit::Endpoint,
        src_mid: String,
        target: RtpTarget,
        options: ForwardOptions,
        rtcp_port: Option<u16>,
    ) -> Result<(u64, u16), String> {
        let src = self.own_endpoint(src)?;
        let ip: std::net::IpAddr =
            target.host.parse().map_err(|_| format!("host '{}' is not an IP address", target.host))?;
        if target.port == 0 {
            return Err("port 0 is not a destination".to_owned());
        }
        if !self.shared.limits.send_to.allows(ip) {
            return Err(format!("the plugin's sandbox.send_to does not allow {ip}"));
        }
        // The receiver's RTCP comes to a port of our own, of any address of its family.
        let feedback = match rtcp_port {
            None => None,
            Some(remote) => {
                let any: std::net::SocketAddr = if ip.is_ipv4() {
                    ([0, 0, 0, 0], 0).into()
                } else {
                    (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
                };
                let socket = std::net::UdpSocket::bind(any)
                    .and_then(|s| s.set_nonblocking(true).map(|()| s))
                    .map_err(|e| format!("cannot bind a port for RTCP feedback: {e}"))?;
                let local = socket.local_addr().map_err(|e| e.to_string())?.port();
                Some((std::sync::Arc::new(socket), local, std::net::SocketAddr::new(ip, remote)))
            }
        };
        let rule = media::ForwardRule {
            src,
            // A leg and a mixer port have one stream.
            src_mid: (!matches!(src, media::Endpoint::Leg(_) | media::Endpoint::Mix(_))).then_some(src_mid),
            dst: media::Sink::Rtp(media::RtpTarget {
                addr: std::net::SocketAddr::new(ip, target.port),
                ssrc: target.ssrc.unwrap_or_else(rand::random),
                payload_type: target.payload_type.filter(|pt| *pt < 128),
                srtp: target.srtp.as_ref().map(srtp_key).transpose()?,
                feedback: feedback.as_ref().map(|(socket, ..)| media::FeedbackSocket(socket.clone())),
            }),
            substream: options.substream,
            temporal: options.temporal,
            kinds: Vec::new(),
        };
        let id = self.add_rule(rule)?;
        let Some((socket, local, remote)) = feedback else { return Ok((id, 0)) };
        // Two empty RTP headers tell the receiver where its RTCP goes (a Janus Streaming
        // mountpoint with `rtcpport` sends its keyframe requests back to where they came from).
        let latch = [0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        for _ in 0..2 {
            let _ = socket.send_to(&latch, remote);
        }
        Ok((id, local))
    }

    /// The packets of a file an input is to play: a path under one of the plugin's
    /// `sandbox.read_dir` folders (compared canonically, so `..` and links do not lead out), an
    /// Opus-in-Ogg file for an Opus stream, or a raw G.711 file for a PCMA or PCMU one.
    fn input_file(
        &self,
        path: &str,
        streams: &[media::InputStreamSpec],
        (looped, on_demand): (bool, bool),
    ) -> Result<media::InputFile, String> {
        let g711 = match streams.iter().map(|s| s.codec.name.to_ascii_lowercase()).collect::<Vec<_>>()[..] {
            [ref codec] if codec == "opus" => false,
            [ref codec] if codec == "pcma" || codec == "pcmu" => true,
            _ => return Err("a file input plays one Opus, PCMA or PCMU stream".to_owned()),
        };
        let file = crate::media::file::AudioFile::read(&self.readable(path)?, g711)?;
        Ok(media::InputFile { packets: file.packets, clock: file.clock, looped, on_demand })
    }

    /// A file the host may read for the plugin: under one of its `sandbox.read_dir` folders
    /// (compared canonically, so `..` and links do not lead out).
    fn readable(&self, path: &str) -> Result<std::path::PathBuf, String> {
        let real = std::fs::canonicalize(path).map_err(|e| format!("{path}: {e}"))?;
        match self.shared.limits.read_dir.iter().any(|dir| real.starts_with(dir)) {
            true => Ok(real),
            false => Err(format!("the plugin's sandbox.read_dir does not allow {path}")),
        }
    }

    /// Where a file the host writes for the plugin goes: `file` in one of its
    /// `sandbox.write_dir` folders (a relative path in the first one; its folder compared
    /// canonically, so `..` and links do not lead out).
    fn writable(&self, file: &str) -> Result<std::path::PathBuf, String> {
        let dirs = &self.shared.limits.write_dir;
        let Some(first) = dirs.first() else {
            return Err("the plugin's sandbox.write_dir allows no folder".to_owned());
        };
        let path = first.join(file);
        let (Some(folder), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(format!("{file} is not a file name"));
        };
        let real = std::fs::canonicalize(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
        if !dirs.iter().any(|dir| real.starts_with(dir)) {
            return Err(format!("the plugin's sandbox.write_dir does not allow {file}"));
        }
        Ok(real.join(name))
    }

    /// An error when the plugin holds `max_legs` legs and inputs already.
    fn below_max_legs(&self) -> Result<(), String> {
        let max = self.shared.limits.max_legs;
        let legs = self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).len();
        let inputs = self.shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).len();
        let mixing = self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).len();
        if legs + inputs + mixing >= max {
            return Err(format!("too many legs and inputs (limit {max})"));
        }
        Ok(())
    }

    /// An endpoint of this plugin's (its handle's PeerConnection or its leg), or an error.
    fn own_endpoint(&self, e: wit::Endpoint) -> Result<media::Endpoint, String> {
        match e {
            wit::Endpoint::Peer(h) => self.own(h).map(|()| media::Endpoint::Peer(api_handle(h))),
            wit::Endpoint::Leg(id)
                if self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).holds(id) =>
            {
                Ok(media::Endpoint::Leg(id))
            }
            wit::Endpoint::Leg(id) => Err(format!("no such leg {id}")),
            wit::Endpoint::Input(id)
                if self.shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).contains(&id) =>
            {
                Ok(media::Endpoint::Input(id))
            }
            wit::Endpoint::Input(id) => Err(format!("no such input {id}")),
            wit::Endpoint::Mix(id)
                if self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).has_port(id) =>
            {
                Ok(media::Endpoint::Mix(id))
            }
            wit::Endpoint::Mix(id) => Err(format!("no such mixer port {id}")),
        }
    }

    /// [`StoreState::handle_exists`] as an import's error.
    fn own(&self, h: HandleRef) -> Result<(), String> {
        if self.handle_exists(h) {
            Ok(())
        } else {
            Err(format!("no such handle {}", h.handle))
        }
    }

    /// Notes a negotiation this call started on a handle; returns its id.
    fn negotiating(&mut self, h: HandleRef, id: u64) -> u64 {
        self.account.made_since_checkpoint.push(Made::Negotiation(api_handle(h)));
        id
    }
}

/// The audio and video kinds a rule's options name (data is not forwarded by rules).
fn media_kinds(options: &ForwardOptions) -> Vec<media::MediaKind> {
    options.kinds.iter().map(|k| kind(*k)).filter(|k| *k != media::MediaKind::Data).collect()
}

/// The stream filter of a recording: `src_mid`, or none for a leg or a mixer port (one stream
/// each) or for a source's stream of the one kind `options` names; a file holds one stream, so
/// an empty mid with no kind or several is refused.
fn recorded_stream(
    src: media::Endpoint,
    src_mid: String,
    options: &ForwardOptions,
) -> Result<Option<String>, String> {
    if matches!(src, media::Endpoint::Leg(_) | media::Endpoint::Mix(_)) {
        return Ok(None);
    }
    if !src_mid.is_empty() {
        return Ok(Some(src_mid));
    }
    if options.kinds.len() == 1 {
        return Ok(None);
    }
    Err("a recording holds one stream: name it (src-mid) or one kind (options.kinds)".to_owned())
}

/// `file.mjr` with `ext` added: `file.mjr.<ext>`.
fn with_extension_added(path: &std::path::Path, ext: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(ext);
    name.into()
}

/// Creates (or empties) a file the host writes for a plugin, at a path `writable` allowed: a
/// link in the folder does not lead out of it either.
fn create_file(path: &std::path::Path) -> Result<std::fs::File, String> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

impl wit::Host for StoreState {}

impl host::Host for StoreState {
    fn push_event(
        &mut self,
        handle: HandleRef,
        transaction: Option<String>,
        event: String,
        jsep: Option<String>,
    ) -> Result<(), String> {
        self.timed(|s| s.queue_event(handle, transaction, &event, jsep.as_deref()))
    }

    fn push_event_many(&mut self, handles: Vec<HandleRef>, event: String) -> Result<u32, String> {
        self.timed(|s| s.queue_event_many(handles, &event))
    }

    fn close_pc(&mut self, handle: HandleRef) {
        if self.handle_exists(handle) {
            self.after.push(AfterCall::ClosePc(api_handle(handle)));
        }
    }

    fn end_handle(&mut self, handle: HandleRef) {
        if self.handle_exists(handle) {
            self.after.push(AfterCall::EndHandle(api_handle(handle)));
        }
    }

    fn log(&mut self, level: LogLevel, text: String) {
        let p = &self.shared.package;
        match level {
            LogLevel::Error => tracing::error!(plugin = %p, "{text}"),
            LogLevel::Warn => tracing::warn!(plugin = %p, "{text}"),
            LogLevel::Info => tracing::info!(plugin = %p, "{text}"),
            LogLevel::Debug => tracing::debug!(plugin = %p, "{text}"),
            LogLevel::Trace => tracing::trace!(plugin = %p, "{text}"),
        }
    }

    fn answer(&mut self, handle: HandleRef, _offer: String, policy: AnswerPolicy) -> Result<u64, String> {
        // The host answers the client's own offer (with its ICE and DTLS lines), which it kept
        // when the JSEP arrived; the plugin's copy has them stripped.
        let policy = media::AnswerPolicy {
            audio: policy.audio,
            video: policy.video,
            data: policy.data,
            simulcast: policy.simulcast,
            audio_codecs: policy.audio_codecs,
            video_codecs: policy.video_codecs,
            direction: direction(policy.direction),
        };
        self.own(handle)?;
        let id = next_negotiation();
        self.shared.core.media().answer(api_handle(handle), policy, id)?;
        Ok(self.negotiating(handle, id))
    }

    fn offer(&mut self, handle: HandleRef, streams: Vec<OfferedStream>) -> Result<u64, String> {
        self.renegotiate(handle, Vec::new(), streams)
    }

    fn renegotiate(
        &mut self,
        handle: HandleRef,
        stop: Vec<String>,
        streams: Vec<OfferedStream>,
    ) -> Result<u64, String> {
        self.own(handle)?;
        for s in &streams {
            if let OfferedStream::Forward(f) | OfferedStream::TwoWay(f) = s {
                self.own_endpoint(f.source)?;
            }
        }
        let items = streams
            .into_iter()
            .map(|s| match s {
                OfferedStream::Forward(f) => {
                    media::OfferItem::Forward { source: endpoint(f.source), mid: f.mid, two_way: false }
                }
                OfferedStream::TwoWay(f) => {
                    media::OfferItem::Forward { source: endpoint(f.source), mid: f.mid, two_way: true }
                }
                OfferedStream::Data => media::OfferItem::Data,
                OfferedStream::Placeholder(p) => {
                    media::OfferItem::Placeholder { kind: kind(p.kind), codec: p.codec, fmtp: p.fmtp }
                }
            })
            .collect();
        let id = next_negotiation();
        self.shared.core.media().offer(api_handle(handle), stop, Vec::new(), items, id)?;
        Ok(self.negotiating(handle, id))
    }

    fn redirect(&mut self, handle: HandleRef, directions: Vec<wit::StreamDirection>) -> Result<u64, String> {
        self.own(handle)?;
        let directions = directions.into_iter().map(|d| (d.mid, direction(d.direction))).collect();
        let id = next_negotiation();
        self.shared.core.media().offer(api_handle(handle), Vec::new(), directions, Vec::new(), id)?;
        Ok(self.negotiating(handle, id))
    }

    fn accept_answer(&mut self, handle: HandleRef, answer: String) -> Result<u64, String> {
        self.own(handle)?;
        let id = next_negotiation();
        self.shared.core.media().accept_answer(api_handle(handle), &answer, id)?;
        Ok(self.negotiating(handle, id))
    }

    fn forward(
        &mut self,
        src: wit::Endpoint,
        src_mid: Option<String>,
        dst: wit::Endpoint,
        dst_mid: Option<String>,
        options: ForwardOptions,
    ) -> Result<u64, String> {
        let src = self.own_endpoint(src)?;
        let dst = self.own_endpoint(dst)?;
        // `data` is not media: a rule for data alone forwards nothing (an empty list would mean
        // "all kinds").
        if !options.kinds.is_empty() && options.kinds.iter().all(|k| matches!(k, MediaKind::Data)) {
            return Err("data channels are not forwarded by rules: use send-data".to_owned());
        }
        let dst = match dst {
            media::Endpoint::Peer(handle) => media::Sink::Peer { handle, mid: dst_mid },
            media::Endpoint::Leg(id) => media::Sink::Leg(id),
            media::Endpoint::Mix(id) => media::Sink::Mix(id),
            media::Endpoint::Input(_) => return Err("an RTP input is a source only".to_owned()),
        };
        let rule = media::ForwardRule {
            src,
            src_mid,
            dst,
            substream: options.substream,
            temporal: options.temporal,
            kinds: media_kinds(&options),
        };
        self.add_rule(rule)
    }

    fn forward_rtp(
        &mut self,
        src: wit::Endpoint,
        src_mid: String,
        target: RtpTarget,
        options: ForwardOptions,
    ) -> Result<u64, String> {
        self.rtp_output(src, src_mid, target, options, None).map(|(rule, _)| rule)
    }

    fn forward_rtp_feedback(
        &mut self,
        src: wit::Endpoint,
        src_mid: String,
        target: RtpTarget,
        options: ForwardOptions,
        rtcp_port: u16,
    ) -> Result<(u64, u16), String> {
        if rtcp_port == 0 {
            return Err("RTCP port 0 is not a destination".to_owned());
        }
        self.rtp_output(src, src_mid, target, options, Some(rtcp_port))
    }

    fn resolve(&mut self, name: String) -> Result<Vec<String>, String> {
        let shared = &self.shared;
        let waited = &mut self.account.lookups_waited;
        super::lookups::resolve(&shared.lookups, &shared.rt, &shared.limits, &name, waited)
    }

    fn locate_sip(&mut self, domain: String) -> Option<wit::SipService> {
        use super::names::SipTransport;
        let shared = &self.shared;
        let waited = &mut self.account.lookups_waited;
        let (transport, name) =
            super::lookups::locate_sip(&shared.lookups, &shared.rt, &shared.limits, &domain, waited)?;
        let transport = match transport {
            SipTransport::Udp => wit::SipTransport::Udp,
            SipTransport::Tcp => wit::SipTransport::Tcp,
            SipTransport::Tls => wit::SipTransport::Tls,
        };
        Some(wit::SipService { transport, name })
    }

    fn forward_record(
        &mut self,
        src: wit::Endpoint,
        src_mid: String,
        file: String,
        options: ForwardOptions,
    ) -> Result<u64, String> {
        let src = self.own_endpoint(src)?;
        let src_mid = recorded_stream(src, src_mid, &options)?;
        let path = self.writable(&file)?;
        // With `recordings_tmp_ext`, written as `<file>.<ext>` and renamed when complete.
        let (path, complete_as) = match &self.shared.recordings_tmp_ext {
            Some(ext) => (with_extension_added(&path, ext), Some(path)),
            None => (path, None),
        };
        // A rule that will be refused makes no file (nor empties one of the same name).
        self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).room(self.shared.limits.max_rules)?;
        let mut created = create_file(&path)?;
        use std::io::Write;
        created.write_all(crate::media::MJR_MAGIC).map_err(|e| format!("{}: {e}", path.display()))?;
        let rule = media::ForwardRule {
            src,
            src_mid,
            dst: media::Sink::Record(media::RecordRef(Arc::new(media::RecordFile {
                path,
                file: created,
                failed: Default::default(),
                complete_as,
            }))),
            substream: options.substream,
            temporal: options.temporal,
            // Data too: a recording of the data stream.
            kinds: options.kinds.iter().map(|k| kind(*k)).collect(),
        };
        self.add_rule(rule)
    }

    fn unforward(&mut self, rule: u64) {
        // Only this plugin's rules.
        if self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).remove(rule) {
            self.shared.core.media().unforward(rule);
        }
    }

    fn set_layers(&mut self, rule: u64, substream: Option<u8>, temporal: Option<u8>) -> Result<(), String> {
        self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).set_layers(rule, substream, temporal)?;
        self.shared.core.media().set_layers(rule, substream, temporal);
        Ok(())
    }

    fn request_keyframe(&mut self, handle: HandleRef, mid: Option<String>) {
        if self.handle_exists(handle) {
            self.shared.core.media().request_keyframe(api_handle(handle), mid);
        }
    }

    fn set_bitrate_cap(&mut self, handle: HandleRef, bps: u32) {
        if self.handle_exists(handle) {
            self.shared.core.media().set_bitrate_cap(api_handle(handle), bps);
        }
    }

    fn set_media_enabled(&mut self, handle: HandleRef, media_kind: MediaKind, enabled: bool) {
        if !self.handle_exists(handle) {
            return;
        }
        self.shared.core.media().set_media_enabled(api_handle(handle), kind(media_kind), enabled);
    }

    fn send_data(&mut self, handle: HandleRef, label: Option<String>, data: Vec<u8>, is_text: bool) {
        let targets = self.own_handles(vec![handle]);
        self.timed(|s| s.send_data_to(targets, label, data, is_text));
    }

    fn send_data_many(
        &mut self,
        handles: Vec<HandleRef>,
        label: Option<String>,
        data: Vec<u8>,
        is_text: bool,
    ) {
        let targets = self.own_handles(handles);
        self.timed(|s| s.send_data_to(targets, label, data, is_text));
    }

    fn mixer_create(&mut self, sample_rate: u32, stereo: bool) -> Result<u64, String> {
        self.below_max_legs()?;
        let id = self.shared.core.media().mixer_create(media::MixerSpec { rate: sample_rate, stereo })?;
        self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).add_mixer(id);
        self.account.made_since_checkpoint.push(Made::Mixer(id));
        Ok(id)
    }

    fn mixer_join(
        &mut self,
        mixer: u64,
        owner: Option<HandleRef>,
        codec: wit::MixCodec,
        settings: wit::MixSettings,
    ) -> Result<u64, String> {
        if let Some(owner) = owner {
            self.own(owner)?;
        }
        if !self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).has_mixer(mixer) {
            return Err(format!("no such mixer {mixer}"));
        }
        self.below_max_legs()?;
        let owner = owner.map(api_handle);
        let port =
            self.shared.core.media().mixer_join(mixer, owner, mix_codec(codec), mix_settings(&settings))?;
        self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).add_port(port, mixer, owner);
        self.account.made_since_checkpoint.push(Made::Port(port));
        Ok(port)
    }

    fn mixer_set(&mut self, port: u64, settings: wit::MixSettings) -> Result<(), String> {
        self.own_endpoint(wit::Endpoint::Mix(port))?;
        self.shared.core.media().mixer_set(port, mix_settings(&settings));
        Ok(())
    }

    fn mixer_reset_decoder(&mut self, port: u64) -> Result<(), String> {
        self.own_endpoint(wit::Endpoint::Mix(port))?;
        self.shared.core.media().mixer_reset(port);
        Ok(())
    }

    fn mixer_leave(&mut self, port: u64) {
        close_endpoint(&self.shared, media::Endpoint::Mix(port));
    }

    fn mixer_destroy(&mut self, mixer: u64) {
        destroy_mixer(&self.shared, mixer);
    }

    fn mixer_record(&mut self, mixer: u64, file: Option<String>) -> Result<String, String> {
        if !self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).has_mixer(mixer) {
            return Err(format!("no such mixer {mixer}"));
        }
        let media = self.shared.core.media();
        let Some(file) = file else {
            media.mixer_record(mixer, None);
            return Ok(String::new());
        };
        let path = self.writable(&file)?;
        media.mixer_record(mixer, Some(create_file(&path)?));
        Ok(path.to_string_lossy().into_owned())
    }

    fn rtp_leg_open(&mut self, owner: HandleRef, options: wit::LegOptions) -> Result<wit::LegLocal, String> {
        self.own(owner)?;
        let kind = kind(options.kind);
        if kind == media::MediaKind::Data {
            return Err("a leg carries audio or video".to_owned());
        }
        let local_ip = match options.local_ip.as_deref() {
            Some(ip) => Some(ip.parse().map_err(|_| format!("local-ip {ip} is not an IP address"))?),
            None => None,
        };
        let codecs: Vec<media::LegCodec> = options.codecs.iter().map(leg_codec).collect();
        for c in &codecs {
            c.check(true)?;
        }
        let spec = media::LegSpec {
            owner: api_handle(owner),
            kind,
            codecs,
            srtp: options.srtp.map(srtp_suite),
            local_ip,
        };
        self.below_max_legs()?;
        let local = self.shared.core.media().leg_open(spec)?;
        self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).add(local.id, api_handle(owner));
        self.account.made_since_checkpoint.push(Made::Leg(local.id));
        Ok(wit::LegLocal {
            id: local.id,
            address: local.rtp.to_string(),
            srtp: local.srtp.as_ref().map(wit_srtp_key),
            sdp: local.sdp,
        })
    }

    fn rtp_leg_connect(&mut self, leg: u64, remote: wit::LegRemote) -> Result<(), String> {
        if !self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).holds(leg) {
            return Err(format!("no such leg {leg}"));
        }
        let remote = leg_remote(&remote)?;
        if !self.shared.limits.send_to.allows(remote.rtp.ip()) {
            return Err(format!("the plugin's sandbox.send_to does not allow {}", remote.rtp.ip()));
        }
        self.shared.core.media().leg_connect(leg, remote);
        Ok(())
    }

    fn rtp_leg_keyframe(&mut self, leg: u64) -> Result<(), String> {
        if !self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).holds(leg) {
            return Err(format!("no such leg {leg}"));
        }
        self.shared.core.media().leg_keyframe(leg);
        Ok(())
    }

    fn rtp_leg_dtmf(
        &mut self,
        leg: u64,
        digits: String,
        duration_ms: u32,
        gap_ms: u32,
    ) -> Result<(), String> {
        if !self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).holds(leg) {
            return Err(format!("no such leg {leg}"));
        }
        let events = digits
            .chars()
            .map(|d| media::dtmf_event(d).ok_or_else(|| format!("'{d}' is not a DTMF digit")))
            .collect::<Result<Vec<u8>, String>>()?;
        if events.is_empty() || events.len() > 64 {
            return Err("between 1 and 64 digits".to_owned());
        }
        let ms = |v: u32, default: u64| {
            Duration::from_millis(if v == 0 { default } else { u64::from(v).min(5000) })
        };
        self.shared.core.media().leg_dtmf(
            leg,
            events,
            ms(duration_ms, 100).max(Duration::from_millis(40)),
            ms(gap_ms, 50),
        );
        Ok(())
    }

    fn rtp_leg_close(&mut self, leg: u64) {
        close_endpoint(&self.shared, media::Endpoint::Leg(leg));
    }

    fn rtp_input_open(&mut self, options: wit::InputOptions) -> Result<wit::InputLocal, String> {
        if options.file.is_some() {
            let one_audio =
                matches!(&options.streams[..], [s] if s.kind == wit::MediaKind::Audio && s.ports.is_empty());
            if !one_audio {
                return Err("a file input has one audio stream and no ports".to_owned());
            }
        }
        let ip = |what: &str, a: &Option<String>| match a {
            Some(a) => a.parse().map(Some).map_err(|_| format!("{what} '{a}' is not an IP address")),
            None => Ok(None),
        };
        let bind: Option<std::net::IpAddr> = ip("bind", &options.bind)?;
        let source = ip("source", &options.source)?;
        let rtsp = options.rtsp.as_ref().map(rtsp_source).transpose()?;
        if rtsp.is_some() && (options.file.is_some() || options.srtp.is_some()) {
            return Err("an RTSP input has no file and no SRTP key".to_owned());
        }
        let mut streams = Vec::new();
        for st in &options.streams {
            let kind = kind(st.kind);
            if rtsp.is_some() && kind == media::MediaKind::Data {
                return Err(format!("stream {}: an RTSP source gives audio and video", st.mid));
            }
            let ports_ok = options.file.is_some()
                || rtsp.is_some()
                || match kind {
                    media::MediaKind::Video => {
                        matches!((st.ports.len(), st.ssrcs.len()), (1, 0 | 3) | (3, 0))
                    }
                    _ => st.ports.len() == 1 && st.ssrcs.is_empty(),
                };
            if !ports_ok {
                return Err(format!(
                    "stream {}: one port (simulcast video: three ports, or one port and three SSRCs)",
                    st.mid
                ));
            }
            for port in st.ports.iter().chain(&st.rtcp_port).filter(|p| **p != 0) {
                let at =
                    std::net::SocketAddr::new(bind.unwrap_or(std::net::Ipv4Addr::UNSPECIFIED.into()), *port);
                if !self.shared.limits.udp_bind.allows(at) {
                    return Err(format!("the plugin's sandbox.udp_bind does not allow port {port}"));
                }
            }
            let mcast = match &st.mcast {
                Some(_) if rtsp.is_some() || options.file.is_some() => {
                    return Err(format!("stream {}: an RTSP or file input takes no mcast", st.mid))
                }
                Some(g) => match g.parse::<std::net::Ipv4Addr>() {
                    Ok(g) if g.is_multicast() => Some(g),
                    _ => {
                        return Err(format!("stream {}: mcast '{g}' is not an IPv4 multicast group", st.mid))
                    }
                },
                None => None,
            };
            let codec = leg_codec(&st.codec);
            if kind != media::MediaKind::Data && rtsp.is_none() {
                codec.check(false).map_err(|e| format!("stream {}: {e}", st.mid))?;
            }
            streams.push(media::InputStreamSpec {
                mid: st.mid.clone(),
                kind,
                codec,
                fmtp: st.fmtp.clone(),
                ports: st.ports.clone(),
                ssrcs: st.ssrcs.clone(),
                rtcp_port: st.rtcp_port.filter(|_| rtsp.is_none() && kind != media::MediaKind::Data),
                mcast,
            });
        }
        if streams.is_empty() {
            return Err("an input needs a stream".to_owned());
        }
        let file = match &options.file {
            Some(path) => {
                Some(self.input_file(path, &streams, (options.loop_file, options.file_on_demand))?)
            }
            None => None,
        };
        let spec = media::InputSpec {
            bind,
            source,
            streams,
            no_media_ms: options.no_media_ms,
            collision: (options.collision_ms > 0)
                .then(|| std::time::Duration::from_millis(u64::from(options.collision_ms))),
            srtp: options.srtp.as_ref().map(srtp_key).transpose()?,
            file,
            rtsp,
        };
        self.below_max_legs()?;
        let local = self.shared.core.media().input_open(spec)?;
        self.shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).insert(local.id);
        self.account.made_since_checkpoint.push(Made::Input(local.id));
        Ok(wit::InputLocal { id: local.id, ports: local.ports, rtcp_ports: local.rtcp_ports })
    }

    fn rtp_input_status(&mut self, input: u64) -> Result<Vec<wit::InputStreamStatus>, String> {
        self.own_endpoint(wit::Endpoint::Input(input))?;
        let status =
            self.shared.core.media().input_status(input).ok_or_else(|| format!("no such input {input}"))?;
        Ok(status
            .into_iter()
            .map(|(mid, age_ms, source)| wit::InputStreamStatus {
                mid,
                age_ms,
                source: source.map(|s| s.to_string()),
            })
            .collect())
    }

    fn rtp_input_close(&mut self, input: u64) {
        close_endpoint(&self.shared, media::Endpoint::Input(input));
    }

    fn set_timer(&mut self, token: u64, ms: u32) {
        self.after.push(AfterCall::SetTimer(token, ms));
    }

    fn cancel_timer(&mut self, token: u64) {
        self.after.push(AfterCall::CancelTimer(token));
    }

    fn udp_bind(&mut self, address: String) -> Result<wit::UdpSocket, String> {
        self.bind(address, Binding::Udp)
    }

    fn tcp_listen(&mut self, address: String) -> Result<wit::UdpSocket, String> {
        self.bind(address, Binding::Tcp(None))
    }

    fn tls_listen(&mut self, address: String, certificate: Option<String>) -> Result<wit::UdpSocket, String> {
        let pem = certificate.map(|path| self.readable(&path)).transpose()?;
        let ip = address.rsplit_once(':').map_or(address.as_str(), |(ip, _)| ip);
        let server = crate::tls::server_config(pem.as_deref(), ip.trim_matches(['[', ']']))?;
        let tls = super::streams::Tls { server, client: crate::tls::unchecked_client() };
        self.bind(address, Binding::Tcp(Some(tls)))
    }

    fn next_server(&mut self, to: String, sent_at_ms: u64) -> bool {
        let Ok((name, port)) = super::sockets::name_and_port(&to) else { return false };
        self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).next_server(&name, port, sent_at_ms)
    }

    fn udp_send(&mut self, socket: u32, to: String, data: Vec<u8>) -> Result<(), String> {
        let limits = &self.shared.limits;
        if data.len() > limits.udp_max_bytes {
            return Err(format!(
                "{} bytes is more than udp_max_bytes ({})",
                data.len(),
                limits.udp_max_bytes
            ));
        }
        let (to, name) = match to.parse::<std::net::SocketAddr>() {
            Ok(addr) => (addr, None),
            Err(_) => {
                let (host, port) = super::sockets::name_and_port(&to)?;
                let sockets = self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner());
                if !sockets.is_open(socket) {
                    return Err(format!("no socket {socket}"));
                }
                match sockets.resolved(&host, port) {
                    Some(addr) => (addr, Some(to)),
                    None => {
                        // Resolved off this call, then sent (or the plugin told it could not).
                        let mut sockets = sockets;
                        if sockets.wait_for_name(&host, port, (socket, to, data))? {
                            drop(sockets);
                            self.after.push(AfterCall::Resolve { host, port });
                        }
                        return Ok(());
                    }
                }
            }
        };
        if !limits.send_to.allows(to.ip()) {
            return Err(format!("the plugin's sandbox.send_to does not allow {}", to.ip()));
        }
        let rate = limits.udp_rate;
        self.timed(|s| {
            let mut sockets = s.shared.sockets.lock().unwrap_or_else(|e| e.into_inner());
            sockets.send(socket, to, &data, rate, name.as_deref(), &[])
        })
    }

    fn auth_is_signed(&mut self) -> bool {
        self.shared.core.tokens_signed()
    }

    fn auth_signature_contains(&mut self, token: String, descriptor: String) -> bool {
        self.shared.core.plugin_token_contains(&self.shared.package, &token, &descriptor)
    }

    fn events_enabled(&mut self) -> bool {
        self.shared.notify_events && self.shared.core.events().wants(crate::events::Kind::Plugin)
    }

    fn notify_event(&mut self, handle: Option<HandleRef>, data: String) -> Result<(), String> {
        // Not counted against the call's events: monitoring never changes what the plugin
        // may tell its clients (the handlers' queue is bounded on its own).
        self.event_size(data.len())?;
        if let Some(h) = handle {
            self.own(h)?;
        }
        let data = parse_object(&data, "data")?;
        if self.shared.notify_events {
            self.after.push(AfterCall::Notify(handle.map(api_handle), data));
        }
        Ok(())
    }

    fn http_post(&mut self, url: String, body: String) -> Result<(), String> {
        let post = self.shared.poster.check(&url, body)?;
        self.after.push(AfterCall::HttpPost(post));
        Ok(())
    }

    fn watch_talking(&mut self, handle: HandleRef, packets: u32, threshold: u8) {
        if self.own(handle).is_ok() {
            self.shared.core.media().watch_talking(api_handle(handle), packets, threshold);
        }
    }

    fn set_rtp_extensions(&mut self, handle: HandleRef, extensions: wit::RtpExtensions) {
        if self.own(handle).is_ok() {
            self.shared.core.media().set_rtp_extensions(api_handle(handle), rtp_extensions(extensions));
        }
    }

    fn save_config(&mut self, config: String) -> Result<(), String> {
        let Some(path) = &self.shared.config_file else {
            return Err(
                "the gateway runs on its embedded configuration: there is no configs folder to save to \
                        (start it with -F <folder>)"
                    .into(),
            );
        };
        let config: Value = serde_json::from_str(&config).map_err(|e| format!("not JSON: {e}"))?;
        let text = crate::config::write::to_jcfg(&config)?;
        if text.len() > self.shared.limits.max_snapshot_bytes {
            return Err(format!("{} bytes is more than max_snapshot_bytes", text.len()));
        }
        // A whole new file or none: written beside, flushed, then renamed over the old one.
        let tmp = path.with_extension("jcfg.saving");
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            std::io::Write::write_all(&mut f, text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("cannot write {}: {e}", path.display())
        })?;
        tracing::info!(plugin = %self.shared.package, "configuration saved to {}", path.display());
        Ok(())
    }

    fn udp_close(&mut self, socket: u32) {
        self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).close(socket);
    }
}

/// An RTSP source as the gateway takes it: an error for a URL that is not `rtsp://`.
fn rtsp_source(r: &wit::RtspSource) -> Result<media::RtspSource, String> {
    crate::media::rtsp::Url::parse(&r.url)?;
    let ms = |v: u32, default: u64| Duration::from_millis(if v == 0 { default } else { u64::from(v) });
    Ok(media::RtspSource {
        url: r.url.clone(),
        user: r.user.clone(),
        password: r.password.clone(),
        interleaved: r.interleaved,
        timeout: ms(r.timeout_ms, 10_000),
        connect_timeout: ms(r.connect_timeout_ms, 5_000),
        reconnect: ms(r.reconnect_ms, 5_000),
        keepalive: (r.keepalive_ms > 0).then(|| Duration::from_millis(u64::from(r.keepalive_ms).max(1000))),
        path_only_retry: r.path_only_retry,
    })
}

#[cfg(test)]
mod account_tests {
    use super::*;

    /// A recording names its stream: by mid, by one kind, or by having one (a leg).
    #[test]
    fn a_recording_names_one_stream() {
        let peer = media::Endpoint::Peer(crate::vocab::HandleRef { session_id: 1, handle_id: 2 });
        let kinds = |kinds: Vec<MediaKind>| ForwardOptions { kinds, substream: None, temporal: None };
        assert_eq!(recorded_stream(peer, "v".into(), &kinds(vec![])), Ok(Some("v".into())));
        assert_eq!(recorded_stream(peer, String::new(), &kinds(vec![MediaKind::Audio])), Ok(None));
        assert_eq!(recorded_stream(media::Endpoint::Leg(3), "x".into(), &kinds(vec![])), Ok(None));
        for unnamed in [vec![], vec![MediaKind::Audio, MediaKind::Video]] {
            let refused = recorded_stream(peer, String::new(), &kinds(unnamed)).expect_err("no stream named");
            assert!(refused.contains("one stream"), "{refused}");
        }
    }

    /// A call whose thread waits (a loaded machine, the core given to others) has not used its
    /// budget; one that computes has.
    #[test]
    fn the_budget_counts_the_threads_cpu_not_the_wall() {
        let mut account = CallAccount::new(Duration::from_millis(50));
        account.start();
        std::thread::sleep(Duration::from_millis(120));
        assert!(!account.over_budget(), "waiting is not running: {:?}", account.guest_time());
        let start = std::time::Instant::now();
        let mut x = 0u64;
        while !account.over_budget() {
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            assert!(start.elapsed() < Duration::from_secs(5), "computing uses the budget ({x})");
        }
        assert!(account.guest_time() >= Duration::from_millis(50));
    }
}

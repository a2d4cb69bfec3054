//! One plugin's actor: a thread that owns the plugin's `Store` and runs its calls in mailbox
//! order, with per-call CPU limits, crash recovery from checkpoints, and hot swaps.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use std::sync::mpsc::{Receiver, TryRecvError};
use tokio::sync::oneshot;
use wasmtime::component::Component;
use wasmtime::{Engine, Store};

use super::bindings::types::{Message, PluginInfo as WitInfo, Reply, StateChange};
use super::bindings::{Plugin as Bindings, PluginPre};
use super::convert::{wit_handle, wit_media_event};
use super::engine::EPOCH_TICK;
use super::saved::SavedState;
use super::sockets::Silence;
use super::state::{close_endpoint, destroy_mixer, AfterCall, Made, PluginShared, StoreState};
use super::streams::Arrival;
use crate::api::error::{ApiError, ErrorCode};
use crate::api::plugin::{Effect, MessageOutcome, PluginEvent, PluginInfo, PluginMessage, PluginReply};
use crate::vocab::Endpoint;
use crate::vocab::{HandleRef, MediaEvent};

/// How long an idle actor keeps polling its mailbox (yielding its core between polls) before it
/// parks its thread. A parked thread takes ~0.1 ms to wake on the VMs we measure on; a client
/// that sends its next request within this window (a round trip over loopback plus the
/// checkpoint) finds the actor awake: with 50 µs, attaches over WebSocket swung between 0.02
/// and 0.15 ms from block to block; with 200 µs they stay at 0.02 ms.
const SPIN: Duration = Duration::from_micros(200);

/// The actor's side of its mailbox.
pub(crate) struct Inbox {
    pub rx: Receiver<Job>,
    /// Jobs queued and not yet taken.
    pub depth: Arc<AtomicUsize>,
    /// Jobs that go before the queued ones.
    pub urgent: Arc<Mutex<Vec<Job>>>,
}

impl Inbox {
    /// The next urgent job, if any.
    fn urgent(&self) -> Option<Job> {
        let mut urgent = self.urgent.lock().unwrap_or_else(|e| e.into_inner());
        (!urgent.is_empty()).then(|| urgent.remove(0))
    }
}

/// The next job: polled for [`SPIN`], then waited for; `None` when every sender is gone.
fn wait_for_job(rx: &Receiver<Job>) -> Option<Job> {
    let start = Instant::now();
    while start.elapsed() < SPIN {
        match rx.try_recv() {
            Ok(job) => return Some(job),
            Err(TryRecvError::Disconnected) => return None,
            Err(TryRecvError::Empty) => std::thread::yield_now(),
        }
    }
    rx.recv().ok()
}

/// Compiled, type-checked plugin code, ready to instantiate.
pub struct Artifact {
    /// The component, pre-linked.
    pub pre: PluginPre<StoreState>,
    /// What its `init` said during the canary run.
    pub info: PluginInfo,
    /// The file it came from.
    pub path: std::path::PathBuf,
}

/// Counters shown by admin `get_status`.
#[derive(Debug, Clone, Default)]
pub struct Stats {
    /// Current info (version changes with reloads).
    pub info: Option<PluginInfo>,
    /// Successful hot swaps.
    pub reloads: u64,
    /// Pause of the last swap, microseconds.
    pub last_swap_pause_us: u64,
    /// Crashes since start.
    pub crashes: u64,
    /// Checkpoints taken.
    pub checkpoints: u64,
    /// The state may have changed since the last checkpoint (a crash now would lose that).
    pub unsaved: bool,
    /// Set when the plugin failed closed.
    pub failed: Option<String>,
    /// Time the plugin's thread spent on jobs and checkpoints, nanoseconds (not waiting).
    pub busy_ns: u64,
    /// Jobs handled.
    pub jobs: u64,
    /// Changes merged by the last checkpoint (what a checkpoint cost).
    pub last_checkpoint_changes: usize,
    /// Bytes of keys and values in the last checkpoint.
    pub last_checkpoint_bytes: usize,
    /// Bytes of saved state the host holds for the plugin (keys and values).
    pub saved_bytes: usize,
    /// Entries of saved state.
    pub saved_entries: usize,
    /// Checkpoints refused because the state would exceed `max_snapshot_bytes`.
    pub checkpoints_refused: u64,
    /// Media events and data-channel messages dropped because the mailbox was full.
    pub shed: u64,
    /// Timers refused because `max_timers` were pending.
    pub timers_refused: u64,
}

/// A request for the actor.
pub enum Job {
    /// `create-handle`.
    CreateHandle(HandleRef, oneshot::Sender<Result<(), String>>),
    /// `handle-message`.
    Message(PluginMessage, oneshot::Sender<MessageOutcome>),
    /// `handle-admin-message`.
    Admin(Value, oneshot::Sender<Result<Value, String>>),
    /// `media-event` hangup (the PeerConnection was hung up), with Janus's reason.
    Hangup(HandleRef, String, oneshot::Sender<Vec<PluginEvent>>),
    /// `destroy-handle`.
    DestroyHandle(HandleRef, oneshot::Sender<()>),
    /// `query-handle`.
    Query(HandleRef, oneshot::Sender<Value>),
    /// A timer fired: its token and the generation it was set with.
    Timer(u64, u64),
    /// A media event (or a data-channel message) for a handle.
    Media(HandleRef, MediaEvent),
    /// Swap in new code.
    Reload(Arc<Artifact>, oneshot::Sender<Result<Value, String>>),
    /// Nothing: wakes the actor to look at its urgent lane.
    Wake,
    /// Something happened to one of the plugin's inputs (`InputMedia`, `InputSource`) or
    /// mixers (`MixerRecordFailed`).
    Input(u64, MediaEvent),
    /// A datagram on one of the plugin's sockets: the socket, the sender, the bytes.
    Datagram(u32, String, Vec<u8>),
    /// Nothing sent on a socket to that address or name will be answered, and why (the
    /// plugin hears it as an empty datagram).
    Unreachable(u32, String, Silence),
}

pub(super) struct Instance {
    store: Store<StoreState>,
    bindings: Bindings,
}

impl Instance {
    /// Bytes of memories and tables the instance holds.
    pub(super) fn memory_bytes(&self) -> usize {
        self.store.data().limits.used()
    }
}

/// Converts the WIT info to the API's.
pub fn api_info(i: WitInfo) -> PluginInfo {
    PluginInfo {
        package: i.package,
        name: i.name,
        author: i.author,
        description: i.description,
        version_string: i.version_string,
        version: u64::from(i.version),
    }
}

/// Instantiates code and runs `init`; the instance and what `init` said.
pub(super) fn instantiate(
    engine: &Engine,
    pre: &PluginPre<StoreState>,
    shared: &Arc<PluginShared>,
    config: &str,
) -> Result<(Instance, PluginInfo), String> {
    let mut store = Store::new(engine, StoreState::new(shared.clone()));
    store.limiter(|s| &mut s.limits);
    // The budget counts the guest's own execution: when the epoch deadline comes, time spent
    // in host imports is given back before the call is stopped.
    store.epoch_deadline_callback(|ctx| {
        let account = &ctx.data().account;
        if account.over_budget() {
            Ok(wasmtime::UpdateDeadline::Interrupt)
        } else {
            Ok(wasmtime::UpdateDeadline::Continue(ticks(account.left_ms())))
        }
    });
    let _busy = begin_call(&mut store);
    let bindings = pre.instantiate(&mut store).map_err(|e| format!("instantiation failed: {e:#}"))?;
    let info = bindings
        .call_init(&mut store, config)
        .map_err(|e| format!("init trapped: {}", describe_trap(&e)))?
        .map_err(|e| format!("init failed: {e}"))?;
    store.data_mut().events.clear();
    store.data_mut().after.clear();
    Ok((Instance { store, bindings }, api_info(info)))
}

/// Type-checks a component against the contract and runs a canary `init` in a throw-away
/// store; returns the artifact ready to swap in.
pub fn prepare(
    engine: &Engine,
    linker: &wasmtime::component::Linker<StoreState>,
    component: &Component,
    shared: &Arc<PluginShared>,
    config: &str,
    path: std::path::PathBuf,
) -> Result<Artifact, super::LoadError> {
    use super::LoadError::{NotAPlugin, Refused};
    let pre = linker
        .instantiate_pre(component)
        .map_err(|e| NotAPlugin(format!("does not match the plugin contract: {e:#}")))?;
    let pre =
        PluginPre::new(pre).map_err(|e| NotAPlugin(format!("does not export the plugin world: {e:#}")))?;
    let (canary, info) = instantiate(engine, &pre, shared, config).map_err(Refused)?;
    // The canary's own sockets close: the instance that runs binds its own in its `init` (an
    // address the running version holds was given back, not made, and stays).
    for made in &canary.store.data().account.made_since_checkpoint {
        if let Made::Socket(id) = *made {
            shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).close(id);
        }
    }
    Ok(Artifact { pre, info, path })
}

fn ticks(cpu_ms: u64) -> u64 {
    cpu_ms.div_ceil(EPOCH_TICK.as_millis() as u64) + 1
}

/// Starts a call's accounting: the clock, the host time, the deliveries, the deadline. The
/// epoch advances while the returned guard lives: hold it for the call.
#[must_use = "the epoch stops advancing when the guard is dropped"]
fn begin_call(store: &mut Store<StoreState>) -> super::engine::Busy {
    let busy = store.data().shared.ticker.busy();
    let budget = store.data().account.budget;
    let account = &mut store.data_mut().account;
    account.start();
    account.deliveries = 0;
    account.delivered_bytes = 0;
    store.set_epoch_deadline(ticks(budget.as_millis() as u64));
    busy
}

/// Turns a wasmtime error into a short reason.
pub fn describe_trap(e: &wasmtime::Error) -> String {
    match e.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::Interrupt) => "exceeded its CPU time per call".into(),
        Some(t) => format!("trap: {t}"),
        None => {
            let text = format!("{e:#}");
            if text.contains("grow") || text.contains("memory") {
                format!("memory limit exceeded ({text})")
            } else {
                text
            }
        }
    }
}

/// Whether an event answers the request `transaction` on `handle`.
fn answers(event: &PluginEvent, handle: HandleRef, transaction: &str) -> bool {
    event.handle == handle && event.transaction.as_deref() == Some(transaction)
}

/// Acknowledged requests remembered between two checkpoints (see `Actor::unanswered`).
const MAX_UNANSWERED: usize = 1024;

/// How long a name's lookup may take (an SRV name's: its records, then an address).
const RESOLVE_WAIT: Duration = Duration::from_secs(10);

/// The actor state, owned by its thread.
pub struct Actor {
    engine: Engine,
    shared: Arc<PluginShared>,
    config: String,
    artifact: Arc<Artifact>,
    inst: Option<Instance>,
    saved: SavedState,
    dirty: bool,
    last_checkpoint: Instant,
    handles: BTreeSet<HandleRef>,
    created_since: BTreeSet<HandleRef>,
    destroyed_since: BTreeSet<HandleRef>,
    /// Requests acknowledged since the last checkpoint whose answering event has not gone out:
    /// a crash now rolls the plugin back to before them, and their clients get an error.
    unanswered: Vec<(HandleRef, String)>,
    crash_times: VecDeque<Instant>,
    /// Pending timers by token, with the generation each was set with.
    timers: HashMap<u64, (u64, tokio::task::AbortHandle)>,
    timer_generation: u64,
    /// While a `message` runs: its close-pc and end-handle wait for its reply (the client sees
    /// the reply first), collected here.
    effects: Option<Vec<Effect>>,
    rt: tokio::runtime::Handle,
    mailbox: super::Mailbox,
    stats: Arc<Mutex<Stats>>,
}

impl Actor {
    /// An actor for `artifact`; the first instance is built when it starts.
    pub fn new(
        engine: Engine,
        shared: Arc<PluginShared>,
        config: String,
        artifact: Arc<Artifact>,
        mailbox: super::Mailbox,
        stats: Arc<Mutex<Stats>>,
        rt: tokio::runtime::Handle,
    ) -> Self {
        Self {
            engine,
            shared,
            config,
            artifact,
            inst: None,
            saved: SavedState::default(),
            dirty: false,
            last_checkpoint: Instant::now(),
            handles: BTreeSet::new(),
            created_since: BTreeSet::new(),
            destroyed_since: BTreeSet::new(),
            unanswered: Vec::new(),
            crash_times: VecDeque::new(),
            timers: HashMap::new(),
            timer_generation: 0,
            effects: None,
            rt,
            mailbox,
            stats,
        }
    }

    fn stats(&self) -> std::sync::MutexGuard<'_, Stats> {
        self.stats.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Runs the mailbox until every sender is gone. Between calls, when the mailbox is empty,
    /// the plugin's state is checkpointed if it changed.
    ///
    /// The actor owns a thread of its own, outside the async runtime: guest calls are
    /// synchronous (WASI's synchronous host functions must not run on a runtime worker) and
    /// may use their whole CPU budget without holding up the transports. After a job it keeps
    /// polling the mailbox for [`SPIN`] before it parks, so a client's next request usually
    /// finds it awake.
    pub fn run(mut self, inbox: Inbox) {
        let Inbox { ref rx, ref depth, .. } = inbox;
        match instantiate(&self.engine, &self.artifact.pre, &self.shared, &self.config) {
            Ok((inst, info)) => {
                self.inst = Some(inst);
                self.stats().info = Some(info);
                self.start_readers();
            }
            Err(e) => self.stats().failed = Some(e),
        }
        loop {
            if let Some(job) = inbox.urgent() {
                self.handle(job);
                continue;
            }
            let job = match rx.try_recv() {
                Ok(job) => job,
                Err(TryRecvError::Empty) => {
                    if self.dirty {
                        let started = Instant::now();
                        self.take_checkpoint();
                        self.stats().busy_ns += started.elapsed().as_nanos() as u64;
                    }
                    match wait_for_job(rx) {
                        Some(job) => job,
                        None => break,
                    }
                }
                Err(TryRecvError::Disconnected) => break,
            };
            depth.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
            let started = Instant::now();
            self.handle(job);
            // A mailbox that never runs dry still gets checkpoints.
            let period = Duration::from_millis(self.shared.limits.busy_checkpoint_ms);
            if self.dirty && self.last_checkpoint.elapsed() >= period {
                self.take_checkpoint();
            }
            let mut stats = self.stats();
            stats.busy_ns += started.elapsed().as_nanos() as u64;
            stats.jobs += 1;
        }
        for (_, (_, t)) in self.timers.drain() {
            t.abort();
        }
    }

    fn handle(&mut self, job: Job) {
        match job {
            Job::CreateHandle(h, reply) => {
                let r = self.call(|b, s| b.call_create_handle(s, wit_handle(h)));
                let r = match r {
                    Ok(Ok(())) => {
                        self.handles.insert(h);
                        self.created_since.insert(h);
                        Ok(())
                    }
                    Ok(Err(e)) | Err(e) => Err(e),
                };
                self.flush_events();
                let _ = reply.send(r);
            }
            Job::Message(msg, reply) => {
                let wit_msg = Message {
                    handle: wit_handle(msg.handle),
                    transaction: msg.transaction.clone(),
                    body: msg.body.to_string(),
                    jsep: msg.jsep.map(|j| j.to_string()),
                };
                self.effects = Some(Vec::new());
                let result = self.call(|b, s| b.call_handle_message(s, &wit_msg));
                let effects = self.effects.take().unwrap_or_default();
                let reply_value = match result {
                    Ok(Reply::Ok(text)) => match serde_json::from_str::<Value>(&text) {
                        Ok(v @ Value::Object(_)) => PluginReply::Ok(v),
                        _ => {
                            PluginReply::Error("Plugin returned an invalid result (not a JSON object)".into())
                        }
                    },
                    Ok(Reply::Ack(hint)) => PluginReply::Ack { hint },
                    Ok(Reply::Error(text)) => PluginReply::Error(text),
                    Err(e) => PluginReply::Error(e),
                };
                let events = self.take_events();
                let answered = events.iter().any(|e| answers(e, msg.handle, &msg.transaction));
                if matches!(reply_value, PluginReply::Ack { .. }) && !answered {
                    // Bounded: a plugin whose checkpoints keep failing forgets the oldest.
                    if self.unanswered.len() == MAX_UNANSWERED {
                        self.unanswered.remove(0);
                    }
                    self.unanswered.push((msg.handle, msg.transaction));
                }
                if let Err(unanswered) = reply.send(MessageOutcome { reply: reply_value, events, effects }) {
                    // The caller gave up waiting (call_timeout_ms): what the call did still
                    // happens.
                    self.shared.core.deliver_events(unanswered.events);
                    for effect in unanswered.effects {
                        self.apply(effect);
                    }
                }
            }
            Job::Admin(request, reply) => {
                let text = request.to_string();
                let r = match self.call(|b, s| b.call_handle_admin_message(s, &text)) {
                    Ok(Ok(t)) => {
                        serde_json::from_str(&t).map_err(|e| format!("invalid JSON from plugin: {e}"))
                    }
                    Ok(Err(e)) | Err(e) => Err(e),
                };
                self.flush_events();
                let _ = reply.send(r);
            }
            Job::Hangup(h, reason, reply) => {
                let event = super::bindings::types::MediaEvent::Hangup(reason);
                let _ = self.call(|b, s| b.call_media_event(s, wit_handle(h), &event));
                if let Err(events) = reply.send(self.take_events()) {
                    self.shared.core.deliver_events(events);
                }
            }
            Job::DestroyHandle(h, reply) => {
                // A rule made while the handle was leaving may have reached the media engine
                // after it dropped the handle: remove it there too.
                let gone = self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).remove_handle(h);
                let media = self.shared.core.media();
                for id in gone {
                    media.unforward(id);
                }
                // Its legs close with it, and their rules go.
                let legs = self.shared.legs.lock().unwrap_or_else(|e| e.into_inner()).of_owner(h);
                for leg in legs {
                    close_endpoint(&self.shared, Endpoint::Leg(leg));
                }
                let ports = self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).ports_of(h);
                for port in ports {
                    close_endpoint(&self.shared, Endpoint::Mix(port));
                }
                if self.handles.remove(&h) {
                    // Noted first: if destroy-handle traps, the rebuilt instance still hears of it.
                    if !self.created_since.remove(&h) {
                        self.destroyed_since.insert(h);
                    }
                    let _ = self.call(|b, s| b.call_destroy_handle(s, wit_handle(h)));
                }
                self.flush_events();
                let _ = reply.send(());
            }
            Job::Query(h, reply) => {
                let r = match self.call(|b, s| b.call_query_handle(s, wit_handle(h))) {
                    Ok(text) => match serde_json::from_str::<Value>(&text) {
                        Ok(v @ Value::Object(_)) => v,
                        Ok(_) => {
                            serde_json::json!({"error": "plugin returned a non-object for query-handle"})
                        }
                        Err(e) => serde_json::json!({"error": format!("plugin returned invalid JSON: {e}")}),
                    },
                    Err(e) => serde_json::json!({"error": e}),
                };
                let _ = reply.send(r);
            }
            Job::Media(h, MediaEvent::Data { label, data, text }) => {
                if self.handles.contains(&h) {
                    let _ = self
                        .call(|b, s| b.call_incoming_data(s, wit_handle(h), label.as_deref(), &data, text));
                    self.flush_events();
                }
            }
            Job::Media(h, event) => {
                if let (true, Some(event)) = (self.handles.contains(&h), wit_media_event(event)) {
                    let _ = self.call(|b, s| b.call_media_event(s, wit_handle(h), &event));
                    self.flush_events();
                }
            }
            Job::Timer(token, generation) => {
                // A timer replaced or cancelled after it fired (its job already queued) is stale.
                if self.timers.get(&token).is_none_or(|(g, _)| *g != generation) {
                    return;
                }
                self.timers.remove(&token);
                let _ = self.call(|b, s| b.call_timer(s, token));
                self.flush_events();
            }
            Job::Reload(artifact, reply) => {
                let _ = reply.send(self.swap(artifact));
            }
            Job::Wake => {}
            Job::Input(input, event) => {
                let owned = self.shared.inputs.lock().unwrap_or_else(|e| e.into_inner()).contains(&input)
                    || self.shared.mixers.lock().unwrap_or_else(|e| e.into_inner()).has_mixer(input);
                if owned {
                    let _ = match event {
                        MediaEvent::InputMedia { mid, receiving, .. } => {
                            self.call(|b, s| b.call_input_media(s, input, &mid, receiving))
                        }
                        MediaEvent::InputSource { state, .. } => {
                            let playing = matches!(state, crate::vocab::SourceState::Playing(_));
                            let state = super::convert::source_state(state);
                            let crashes = self.stats().crashes;
                            let r = self.call(|b, s| b.call_input_source(s, input, &state));
                            // The rebuilt instance went back to before the news that the
                            // source plays (an `rtsp` create still waits for it): the source
                            // is connected again, so that it hears the source lost and then
                            // playing, as the host sees it.
                            if let Err(why) = &r {
                                let rebuilt = self.stats().crashes > crashes && self.inst.is_some();
                                if playing && rebuilt && self.stats().failed.is_none() {
                                    self.shared.core.media().input_restart(input, why.clone());
                                }
                            }
                            r
                        }
                        MediaEvent::MixerRecordFailed { why, .. } => {
                            self.call(|b, s| b.call_mixer_record_failed(s, input, &why))
                        }
                        _ => return,
                    };
                    self.flush_events();
                }
            }
            Job::Datagram(socket, from, data) => self.datagram(socket, &from, &data),
            Job::Unreachable(socket, from, why) => {
                let stale = self
                    .shared
                    .sockets
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .is_stale(socket, &from, &why);
                if stale {
                    tracing::debug!(plugin = %self.shared.package, "{from}: {why:?}, but sent to again since: not told");
                } else {
                    self.datagram(socket, &from, &[]);
                }
            }
        }
    }

    /// Gives the plugin a datagram (an empty one: the host's word that nothing sent to `from`
    /// will be answered), unless the socket was closed since it was queued.
    fn datagram(&mut self, socket: u32, from: &str, data: &[u8]) {
        if self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).is_open(socket) {
            let _ = self.call(|b, s| b.call_datagram(s, socket, from, data));
            self.flush_events();
        }
    }

    /// Runs one export with the CPU budget; a trap rebuilds the instance.
    fn call<R>(
        &mut self,
        f: impl FnOnce(&Bindings, &mut Store<StoreState>) -> wasmtime::Result<R>,
    ) -> Result<R, String> {
        if let Some(reason) = self.stats().failed.clone() {
            return Err(reason);
        }
        let Some(inst) = self.inst.as_mut() else {
            return Err(format!("plugin {} is not running", self.shared.package));
        };
        let _busy = begin_call(&mut inst.store);
        match f(&inst.bindings, &mut inst.store) {
            Ok(r) => {
                self.mark_dirty();
                self.run_after();
                Ok(r)
            }
            Err(e) => {
                let reason = describe_trap(&e);
                self.recover(&reason);
                Err(format!("Plugin {} crashed: {reason}", self.shared.package))
            }
        }
    }

    fn take_events(&mut self) -> Vec<PluginEvent> {
        let events =
            self.inst.as_mut().map(|i| std::mem::take(&mut i.store.data_mut().events)).unwrap_or_default();
        if !self.unanswered.is_empty() {
            self.unanswered.retain(|(h, tx)| !events.iter().any(|e| answers(e, *h, tx)));
        }
        events
    }

    fn flush_events(&mut self) {
        let events = self.take_events();
        if !events.is_empty() {
            self.shared.core.deliver_events(events);
        }
    }

    /// Starts the reader of a socket bound during the last call (a TCP listener's accept
    /// loop): its datagrams (its connections' messages) go to the mailbox in order; beyond
    /// `max_queued` waiting jobs they are dropped and counted, as data-channel messages are.
    fn read_socket(&mut self, id: u32) {
        let Some(unread) = self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).take_unread(id)
        else {
            return;
        };
        let (mailbox, max_queued) = (self.mailbox.clone(), self.shared.limits.max_queued);
        let (stats, package) = (self.stats.clone(), self.shared.package.clone());
        let deliver: super::streams::Deliver = Arc::new(move |arrival| {
            if mailbox.depth() < max_queued {
                mailbox.send(match arrival {
                    Arrival::Message { from, data } => Job::Datagram(id, from, data),
                    Arrival::Ended { from, conn } => Job::Unreachable(id, from, Silence::Connection(conn)),
                    Arrival::Refused { from } => Job::Unreachable(id, from, Silence::Refused),
                });
            } else {
                let mut stats = stats.lock().unwrap_or_else(|e| e.into_inner());
                if crate::logging::time_to_report(&mut stats.shed) {
                    tracing::warn!(plugin = %package, "mailbox full: datagrams dropped ({} so far)", stats.shed);
                }
            }
        });
        let socket = match unread {
            super::sockets::Unread::Udp(socket) => socket,
            super::sockets::Unread::Tcp(listener) => return listener.start(&self.rt, deliver),
        };
        let package = self.shared.package.clone();
        let shared = self.shared.clone();
        let reader = self.rt.spawn(async move {
            let socket = match tokio::net::UdpSocket::from_std(socket) {
                Ok(s) => s,
                Err(e) => return tracing::warn!(plugin = %package, "socket {id}: {e}"),
            };
            let mut buf = vec![0u8; 65_536];
            use tokio::io::Interest;
            // An ICMP error of an earlier send (port unreachable) is no readable datagram: the
            // socket is ready with an error, and the error's queue tells where it went. The
            // names that went there go on to their next address; those without one are told.
            let tell = |to: std::net::SocketAddr| {
                let names = shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).fail_over(to);
                for from in std::iter::once(to.to_string()).chain(names) {
                    deliver(Arrival::Refused { from });
                }
            };
            loop {
                let ready = match socket.ready(Interest::READABLE | Interest::ERROR).await {
                    Ok(ready) => ready,
                    Err(e) => return tracing::warn!(plugin = %package, "socket {id}: {e}"),
                };
                let mut erred = ready.is_error();
                if ready.is_readable() {
                    match socket.try_recv_from(&mut buf) {
                        // An empty datagram is the host's word (nothing there will answer): one
                        // from afar is dropped, so no one can forge it.
                        Ok((0, _)) => {}
                        Ok((n, from)) => {
                            deliver(Arrival::Message { from: from.to_string(), data: buf[..n].to_vec() })
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                        Err(e) => {
                            tracing::debug!(plugin = %package, "socket {id}: {e}");
                            erred = true;
                        }
                    }
                }
                if erred {
                    // Read until empty, then `WouldBlock` clears the error readiness.
                    let _ = socket.try_io(Interest::ERROR, || {
                        use std::os::fd::AsRawFd;
                        super::udp_errors::refused(socket.as_raw_fd()).into_iter().for_each(&tell);
                        Err::<(), _>(std::io::ErrorKind::WouldBlock.into())
                    });
                }
            }
        });
        self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).set_reader(id, reader.abort_handle());
    }

    /// Resolves a name the plugin sends to ([`super::names`], within [`RESOLVE_WAIT`]), then
    /// sends what waited for it: each to the address the name went to last when it is still
    /// among the answers, else to the first of its socket's family that `sandbox.send_to`
    /// allows, which is remembered for [`super::sockets::NAME_TTL`] (the others are the
    /// fallbacks of a TCP connection, and of datagrams the network refuses). When there is
    /// none, the plugin gets an empty message from the name: nothing sent there will be
    /// answered.
    fn resolve(&mut self, host: String, port: u16) {
        let (shared, mailbox) = (self.shared.clone(), self.mailbox.clone());
        self.rt.spawn(async move {
            let servers = &shared.limits.nameservers;
            let lookup = tokio::time::timeout(RESOLVE_WAIT, super::names::resolve(&host, port, servers));
            let found: Vec<std::net::SocketAddr> = match lookup.await {
                Ok(Ok(found)) => found,
                Ok(Err(e)) => {
                    tracing::warn!(plugin = %shared.package, "cannot resolve {host}: {e}");
                    Vec::new()
                }
                Err(_) => {
                    tracing::warn!(plugin = %shared.package, "cannot resolve {host}: no answer in {RESOLVE_WAIT:?}");
                    Vec::new()
                }
            };
            let mut sockets = shared.sockets.lock().unwrap_or_else(|e| e.into_inner());
            let mut unreachable: Vec<(u32, String)> = Vec::new();
            let last = sockets.last(&host, port);
            for (socket, to, data) in sockets.take_waiting(&host, port) {
                let Some(local) = sockets.local(socket) else { continue };
                let mut usable: Vec<std::net::SocketAddr> = found
                    .iter()
                    .copied()
                    .filter(|a| a.is_ipv4() == local.is_ipv4() && shared.limits.send_to.allows(a.ip()))
                    .collect();
                // Where the name went last, if it is still an answer, else the first usable.
                if let Some(at) = usable.iter().position(|a| Some(*a) == last) {
                    usable[..=at].rotate_right(1);
                }
                let Some((&addr, fallbacks)) = usable.split_first() else {
                    if !unreachable.contains(&(socket, to.clone())) {
                        unreachable.push((socket, to));
                    }
                    continue;
                };
                let (addr, fallbacks) = sockets.remember(socket, &host, port, addr, fallbacks);
                if let Err(e) = sockets.send(socket, addr, &data, shared.limits.udp_rate, Some(&to), &fallbacks) {
                    tracing::warn!(plugin = %shared.package, "send to {to} ({addr}): {e}");
                }
            }
            drop(sockets);
            if !found.is_empty() && !unreachable.is_empty() {
                tracing::warn!(
                    plugin = %shared.package,
                    "{host} resolves to {found:?}: none of the socket's family that sandbox.send_to allows"
                );
            }
            for (socket, to) in unreachable {
                mailbox.send(Job::Unreachable(socket, to, Silence::Lookup));
            }
        });
    }

    fn run_after(&mut self) {
        let Some(inst) = self.inst.as_mut() else { return };
        let after = std::mem::take(&mut inst.store.data_mut().after);
        for a in after {
            match a {
                AfterCall::SetTimer(token, ms) => {
                    if self.timers.len() >= self.shared.limits.max_timers && !self.timers.contains_key(&token)
                    {
                        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
                        if crate::logging::time_to_report(&mut stats.timers_refused) {
                            tracing::warn!(
                                plugin = %self.shared.package,
                                "timer refused: {} timers pending (max_timers); {} refused so far",
                                self.timers.len(),
                                stats.timers_refused
                            );
                        }
                        continue;
                    }
                    let tx = self.mailbox.clone();
                    self.timer_generation += 1;
                    let generation = self.timer_generation;
                    let task = self.rt.spawn(async move {
                        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
                        tx.send(Job::Timer(token, generation));
                    });
                    if let Some((_, old)) = self.timers.insert(token, (generation, task.abort_handle())) {
                        old.abort();
                    }
                }
                AfterCall::CancelTimer(token) => {
                    if let Some((_, t)) = self.timers.remove(&token) {
                        t.abort();
                    }
                }
                AfterCall::ReadSocket(id) => self.read_socket(id),
                AfterCall::HttpPost(post) => self.shared.poster.post(post),
                AfterCall::Resolve { host, port } => self.resolve(host, port),
                AfterCall::Notify(handle, data) => {
                    self.shared.core.plugin_event(&self.shared.package, handle, data)
                }
                AfterCall::EndHandle(h) => self.effect(Effect::EndHandle(h)),
                AfterCall::ClosePc(h) => self.effect(Effect::ClosePc(h)),
            }
        }
    }

    /// An effect of the current call: kept for after the reply during a `message`, done now
    /// otherwise.
    fn effect(&mut self, effect: Effect) {
        match &mut self.effects {
            Some(effects) => effects.push(effect),
            None => self.apply(effect),
        }
    }

    /// Does an effect now, inside the runtime (the actor's thread is not one of its workers).
    fn apply(&self, effect: Effect) {
        let _runtime = self.rt.enter();
        self.shared.core.apply_effect(effect);
    }

    /// Notes that the state may have changed (and says so in the stats once).
    fn mark_dirty(&mut self) {
        if !self.dirty {
            self.dirty = true;
            self.stats().unsaved = true;
        }
    }

    /// Asks the instance what changed in its state and merges it into the host's copy.
    fn take_checkpoint(&mut self) {
        self.dirty = false;
        self.last_checkpoint = Instant::now();
        let full = self.saved.stale;
        match self.call(|b, s| b.call_checkpoint(s, full)) {
            Ok(changes) => {
                self.merge(changes, full);
                // The checkpoint call itself is not a state change.
                self.dirty = false;
            }
            // A crash in the checkpoint rebuilt the instance, which is left dirty.
            Err(e) => tracing::warn!(plugin = %self.shared.package, "checkpoint failed: {e}"),
        }
    }

    /// Merges a checkpoint; when it would exceed `max_snapshot_bytes` the previous state is
    /// kept and the next checkpoint asks for everything.
    fn merge(&mut self, changes: Vec<StateChange>, full: bool) -> bool {
        let max = self.shared.limits.max_snapshot_bytes;
        let count = changes.len();
        let bytes = changes.iter().map(|c| c.key.len() + c.value.as_ref().map_or(0, Vec::len)).sum();
        match self.saved.merge(changes, full, max) {
            Ok(()) => {
                self.created_since.clear();
                self.destroyed_since.clear();
                // The plugin's saved state now holds what it owes those clients.
                self.unanswered.clear();
                if let Some(inst) = self.inst.as_mut() {
                    inst.store.data_mut().account.made_since_checkpoint.clear();
                }
                let mut stats = self.stats();
                stats.checkpoints += 1;
                stats.last_checkpoint_changes = count;
                stats.last_checkpoint_bytes = bytes;
                stats.unsaved = false;
                stats.saved_bytes = self.saved.bytes();
                stats.saved_entries = self.saved.len();
                true
            }
            Err(e) => {
                tracing::warn!(plugin = %self.shared.package, "{e}; previous state kept");
                self.stats().checkpoints_refused += 1;
                false
            }
        }
    }

    /// After a trap: count it, and rebuild from the last checkpoint with handles replayed,
    /// or fail closed when crashes repeat.
    fn recover(&mut self, reason: &str) {
        let pkg = self.shared.package.clone();
        tracing::warn!(plugin = %pkg, "plugin instance crashed: {reason}; rebuilding");
        // The plugin goes back to its last checkpoint: rules made since are unknown to it, so
        // they go too (events and timers of the crashed call never left its store).
        let mut negotiating = Vec::new();
        if let Some(inst) = self.inst.take() {
            let media = self.shared.core.media();
            for made in &inst.store.data().account.made_since_checkpoint {
                match *made {
                    Made::Rule(id) => {
                        if self.shared.rules.lock().unwrap_or_else(|e| e.into_inner()).remove(id) {
                            media.unforward(id);
                        }
                    }
                    Made::Socket(id) => {
                        self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).close(id);
                    }
                    Made::Leg(id) => close_endpoint(&self.shared, Endpoint::Leg(id)),
                    Made::Input(id) => close_endpoint(&self.shared, Endpoint::Input(id)),
                    Made::Port(id) => close_endpoint(&self.shared, Endpoint::Mix(id)),
                    Made::Mixer(id) => destroy_mixer(&self.shared, id),
                    Made::Negotiation(h) => negotiating.push(h),
                }
            }
        }
        // Acknowledged requests the rolled-back state no longer knows get the answer a crash
        // during the request itself gets; but where a negotiation is under way, its event
        // reaches the restored instance, which answers.
        for (h, tx) in std::mem::take(&mut self.unanswered) {
            if self.handles.contains(&h) && !negotiating.contains(&h) {
                let why =
                    format!("Plugin {pkg} crashed after accepting the request, which was lost: {reason}");
                self.shared.core.push_error(h, &tx, ApiError::new(ErrorCode::PluginMessage, why));
            }
        }
        let now = Instant::now();
        let window = Duration::from_secs(self.shared.limits.crash_window_s);
        self.crash_times.push_back(now);
        while self.crash_times.front().is_some_and(|t| now.duration_since(*t) > window) {
            self.crash_times.pop_front();
        }
        self.stats().crashes += 1;
        if self.crash_times.len() > self.shared.limits.max_crashes {
            let why = format!(
                "Plugin {pkg} disabled after {} crashes in {} s (last: {reason}); reload it to retry",
                self.crash_times.len(),
                window.as_secs()
            );
            tracing::error!("{why}");
            self.stats().failed = Some(why);
            return;
        }
        match self.rebuild() {
            Ok(()) => tracing::info!(plugin = %pkg, "plugin instance rebuilt"),
            Err(e) => {
                let why = format!("Plugin {pkg} could not be rebuilt after a crash: {e}");
                tracing::error!("{why}");
                self.stats().failed = Some(why);
            }
        }
    }

    fn rebuild(&mut self) -> Result<(), String> {
        let (mut inst, _) = instantiate(&self.engine, &self.artifact.pre, &self.shared, &self.config)?;
        if let Err(refused) = self.bring_up(&mut inst, false)? {
            tracing::warn!(plugin = %self.shared.package, "restore refused ({refused}); starting from init");
        }
        self.inst = Some(inst);
        self.start_readers();
        self.mark_dirty();
        Ok(())
    }

    /// Starts the readers of the sockets the new instance's `init` bound (its effects are not
    /// run as a call's are).
    fn start_readers(&mut self) {
        let unread = self.shared.sockets.lock().unwrap_or_else(|e| e.into_inner()).unread_ids();
        for id in unread {
            self.read_socket(id);
        }
    }

    /// Gives a new instance the saved state and makes its handles the host's: those attached
    /// or detached since the last checkpoint are replayed, or, when there is no saved state or
    /// the instance refuses it, every handle is attached (and the next checkpoint asks for
    /// everything). The bookkeeping is kept until a checkpoint is merged, so a second crash
    /// replays it again.
    ///
    /// The outer error is a trap; the inner one, a refused restore (with `strict`, nothing else
    /// is done then: a reload keeps the old version).
    fn bring_up(&mut self, inst: &mut Instance, strict: bool) -> Result<Result<(), String>, String> {
        let mut restored = false;
        let mut refusal = Ok(());
        if self.saved.taken() {
            let _busy = begin_call(&mut inst.store);
            match inst.bindings.call_restore(&mut inst.store, &self.saved.entries()) {
                Ok(Ok(())) => restored = true,
                Ok(Err(e)) if strict => return Ok(Err(e)),
                Ok(Err(e)) => refusal = Err(e),
                Err(e) => return Err(format!("restore trapped: {}", describe_trap(&e))),
            }
        }
        let (attach, detach): (Vec<HandleRef>, Vec<HandleRef>) = if restored {
            let attach = self.created_since.iter().filter(|h| self.handles.contains(h)).copied().collect();
            (attach, self.destroyed_since.iter().copied().collect())
        } else {
            self.saved.stale = true;
            (self.handles.iter().copied().collect(), Vec::new())
        };
        for h in attach {
            let _busy = begin_call(&mut inst.store);
            let _ = inst.bindings.call_create_handle(&mut inst.store, wit_handle(h));
        }
        for h in detach {
            let _busy = begin_call(&mut inst.store);
            let _ = inst.bindings.call_destroy_handle(&mut inst.store, wit_handle(h));
        }
        inst.store.data_mut().events.clear();
        inst.store.data_mut().after.clear();
        Ok(refusal)
    }

    /// Hot swap: snapshot → new instance → init → restore → swap. On any failure the old
    /// instance keeps serving.
    fn swap(&mut self, artifact: Arc<Artifact>) -> Result<Value, String> {
        let started = Instant::now();
        // A last checkpoint of the running version, so that the new one gets everything.
        if self.inst.is_some() && self.stats().failed.is_none() {
            let inst = self.inst.as_mut().ok_or("no instance")?;
            let _busy = begin_call(&mut inst.store);
            let full = self.saved.stale;
            let changes = inst
                .bindings
                .call_checkpoint(&mut inst.store, full)
                .map_err(|e| format!("checkpoint of the running version failed: {}", describe_trap(&e)))?;
            if !self.merge(changes, full) {
                return Err(format!(
                    "the running version's state exceeds max_snapshot_bytes ({})",
                    self.shared.limits.max_snapshot_bytes
                ));
            }
        }
        let (mut inst, info) = instantiate(&self.engine, &artifact.pre, &self.shared, &self.config)?;
        if info.package != self.shared.package {
            return Err(format!("new version is {}, not {}", info.package, self.shared.package));
        }
        // The new version gets the saved state and the handles the host has (replayed as after
        // a crash when the old version had failed and its last changes were never saved).
        match self.bring_up(&mut inst, true) {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return Err(format!("new version refused the state: {e}")),
            Err(e) => {
                return Err(format!("new version trapped in {}", e.trim_start_matches("restore trapped: ")))
            }
        }
        self.inst = Some(inst);
        self.start_readers();
        self.artifact = artifact;
        self.crash_times.clear();
        self.mark_dirty();
        let pause = started.elapsed();
        let mut stats = self.stats();
        stats.failed = None;
        stats.reloads += 1;
        stats.last_swap_pause_us = pause.as_micros() as u64;
        stats.info = Some(info.clone());
        drop(stats);
        tracing::info!(plugin = %self.shared.package, version = %info.version_string, ?pause, "plugin reloaded");
        Ok(serde_json::json!({
            "plugin": info.package,
            "version": info.version,
            "version_string": info.version_string,
            "pause_us": pause.as_micros() as u64,
        }))
    }
}

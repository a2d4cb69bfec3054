//! Sessions, handles and the way events reach a session's transport.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::Value;
use tokio::sync::Notify;

use super::plugin::Plugin;
use crate::vocab::HandleRef;

/// Locks a mutex, recovering the data if a panicking thread poisoned it: the maps guarded here
/// stay consistent because every critical section is a single insert, remove or read.
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A transport connection that receives events pushed to the sessions it owns (a WebSocket).
pub trait EventSink: Send + Sync {
    /// Queues one event for the connection; `false` if the connection is gone.
    fn deliver(&self, event: &Value) -> bool;
    /// A process-unique id of the connection.
    fn connection_id(&self) -> u64;
}

/// Who a client is, for per-client limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ClientKey {
    /// An HTTP client, by remote address.
    Addr(IpAddr),
    /// A WebSocket connection.
    Connection(u64),
}

/// The transport that receives a session's events.
#[derive(Clone)]
pub enum Owner {
    /// HTTP: events wait in the session's queue for a long poll.
    Http,
    /// A WebSocket connection.
    Socket(Arc<dyn EventSink>),
    /// The owning WebSocket closed; the session waits for a `claim` until the deadline
    /// (microseconds on the core clock). Events wait in the queue.
    Orphan {
        /// When the session is destroyed unless claimed.
        deadline_us: u64,
    },
}

/// A bounded FIFO of events for one session, read by HTTP long polls.
pub struct EventQueue {
    events: Mutex<VecDeque<Value>>,
    notify: Notify,
    capacity: usize,
    dropped: AtomicU64,
}

impl EventQueue {
    /// An empty queue holding at most `capacity` events.
    pub fn new(capacity: usize) -> Self {
        Self {
            events: Mutex::new(VecDeque::new()),
            notify: Notify::new(),
            capacity: capacity.max(1),
            dropped: AtomicU64::new(0),
        }
    }

    /// Appends an event, dropping the oldest one when full.
    pub fn push(&self, event: Value) {
        {
            let mut q = lock(&self.events);
            if q.len() >= self.capacity {
                q.pop_front();
                let n = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    tracing::warn!(dropped = n, "session event queue full, dropping oldest events");
                }
            }
            q.push_back(event);
        }
        self.notify.notify_waiters();
    }

    /// Takes up to `max` queued events.
    pub fn take(&self, max: usize) -> Vec<Value> {
        let mut q = lock(&self.events);
        let n = max.min(q.len());
        q.drain(..n).collect()
    }

    /// Number of queued events.
    pub fn len(&self) -> usize {
        lock(&self.events).len()
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Waits until at least one event is queued, then takes up to `max`; empty after `wait`.
    pub async fn wait_take(&self, max: usize, wait: Duration) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let notified = self.notify.notified();
            let got = self.take(max);
            if !got.is_empty() {
                return got;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.take(max);
            }
        }
    }

    /// Wakes every waiting long poll (the session is gone).
    pub fn wake_all(&self) {
        self.notify.notify_waiters();
    }
}

/// A plugin handle (Janus `attach`).
pub struct Handle {
    /// Handle id.
    pub id: u64,
    /// Owning session id.
    pub session_id: u64,
    /// The plugin's package name.
    pub package: String,
    /// The plugin.
    pub plugin: Arc<dyn Plugin>,
    /// `opaque_id` given on attach.
    pub opaque_id: Option<String>,
    /// The token used on attach (token auth).
    pub token: Option<String>,
    /// When it was created, microseconds on the core clock.
    pub created_us: u64,
    /// Trickle candidates received and not yet consumed, with their arrival time.
    pub pending_candidates: Mutex<Vec<(u64, Value)>>,
    /// Whether the client said it finished trickling.
    pub trickle_completed: AtomicBool,
    /// The packet capture admin `start_pcap` began, if any.
    pub capture: Mutex<Option<Capturing>>,
    /// The event handlers were told it was attached (so they are told once that it went).
    pub attached_told: AtomicBool,
}

/// A handle's packet capture: text (`start_text2pcap`) or pcap, into this file.
#[derive(Debug, Clone)]
pub struct Capturing {
    /// Text for `text2pcap`, not pcap.
    pub text: bool,
    /// The file.
    pub path: std::path::PathBuf,
}

impl Handle {
    /// The handle as plugins address it.
    pub fn handle_ref(&self) -> HandleRef {
        HandleRef { session_id: self.session_id, handle_id: self.id }
    }

    /// What the event handlers are told an event is about: this handle.
    pub fn about(&self) -> crate::events::About<'_> {
        crate::events::About {
            session: Some(self.session_id),
            handle: Some(self.id),
            opaque_id: self.opaque_id.as_deref(),
        }
    }
}

/// A Janus session.
pub struct Session {
    /// Session id.
    pub id: u64,
    /// Who created it, for per-client limits.
    pub client: ClientKey,
    /// When it was created, microseconds on the core clock.
    pub created_us: u64,
    last_activity_us: AtomicU64,
    /// Admin per-session timeout override in seconds; -1 means the global value.
    pub timeout_override: AtomicI64,
    /// Where events go.
    pub owner: Mutex<Owner>,
    /// Events waiting for an HTTP long poll (or a claim).
    pub queue: EventQueue,
    /// Its handles.
    pub handles: Mutex<HandleTable>,
    /// Set once the session is being destroyed.
    pub destroyed: AtomicBool,
}

/// A session's handles by id. Reading goes through the map; adding and removing go through
/// this table, which keeps the gateway's count of live handles (shared by every session), so
/// that counting them never walks the sessions.
pub struct HandleTable {
    map: HashMap<u64, Arc<Handle>>,
    live: Arc<AtomicUsize>,
}

impl HandleTable {
    /// An empty table counting into `live`.
    pub fn new(live: Arc<AtomicUsize>) -> Self {
        Self { map: HashMap::new(), live }
    }

    /// Adds a handle (an id already present is replaced, and counted once).
    pub fn insert(&mut self, id: u64, handle: Arc<Handle>) {
        if self.map.insert(id, handle).is_none() {
            self.live.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Takes a handle out.
    pub fn remove(&mut self, id: u64) -> Option<Arc<Handle>> {
        let gone = self.map.remove(&id);
        if gone.is_some() {
            self.live.fetch_sub(1, Ordering::Relaxed);
        }
        gone
    }

    /// Takes every handle out.
    pub fn take_all(&mut self) -> Vec<Arc<Handle>> {
        self.live.fetch_sub(self.map.len(), Ordering::Relaxed);
        self.map.drain().map(|(_, h)| h).collect()
    }
}

impl std::ops::Deref for HandleTable {
    type Target = HashMap<u64, Arc<Handle>>;

    fn deref(&self) -> &Self::Target {
        &self.map
    }
}

impl Drop for HandleTable {
    fn drop(&mut self) {
        self.live.fetch_sub(self.map.len(), Ordering::Relaxed);
    }
}

impl Session {
    /// A new session.
    pub fn new(
        id: u64,
        client: ClientKey,
        owner: Owner,
        now_us: u64,
        queue_capacity: usize,
        handles_live: Arc<AtomicUsize>,
    ) -> Self {
        Self {
            id,
            client,
            created_us: now_us,
            last_activity_us: AtomicU64::new(now_us),
            timeout_override: AtomicI64::new(-1),
            owner: Mutex::new(owner),
            queue: EventQueue::new(queue_capacity),
            handles: Mutex::new(HandleTable::new(handles_live)),
            destroyed: AtomicBool::new(false),
        }
    }

    /// Marks activity now.
    pub fn touch(&self, now_us: u64) {
        self.last_activity_us.store(now_us, Ordering::Relaxed);
    }

    /// Last activity, microseconds on the core clock.
    pub fn last_activity_us(&self) -> u64 {
        self.last_activity_us.load(Ordering::Relaxed)
    }

    /// Sends an event to the owning transport, or queues it.
    pub fn send(&self, event: Value) {
        let owner = lock(&self.owner).clone();
        match owner {
            Owner::Socket(sink) if sink.deliver(&event) => {}
            _ => self.queue.push(event),
        }
    }

    /// Whether events go to this connection.
    pub fn owned_by(&self, connection_id: u64) -> bool {
        matches!(&*lock(&self.owner), Owner::Socket(s) if s.connection_id() == connection_id)
    }

    /// A handle by id.
    pub fn handle(&self, id: u64) -> Option<Arc<Handle>> {
        lock(&self.handles).get(&id).cloned()
    }
}

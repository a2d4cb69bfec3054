//! The API core: the session table, per-client limits, event delivery and the watchdog.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use super::auth::{Auth, Credentials};
use super::envelope::{error_reply, reply};
use super::error::{ApiError, ApiResult, ErrorCode};
use super::plugin::{BoxFuture, NoPlugins, PluginRegistry};
use super::session::{lock, ClientKey, EventSink, Handle, Owner, Session};
use crate::config::{General, Nat};
use crate::events::{About, Events, Kind};
use crate::logging::LogChange;
use crate::media::Tunables;
use crate::vocab::{HandleRef, MediaControl, NoMedia};

/// How often the watchdog looks for expired sessions and candidates.
const WATCHDOG_PERIOD: Duration = Duration::from_millis(500);

/// A transport as `info` lists it.
#[derive(Debug, Clone)]
pub struct TransportInfo {
    /// Package name, e.g. `janus.transport.http`.
    pub package: &'static str,
    /// Human-readable name.
    pub name: &'static str,
    /// Description.
    pub description: &'static str,
    /// Answers admin `query_transport`.
    pub query: Arc<dyn TransportQuery>,
}

/// A transport's side of admin `query_transport`.
pub trait TransportQuery: Send + Sync + std::fmt::Debug {
    /// The `response` to the query's `request` (absent when the query had none).
    fn query(&self, request: Option<&Value>) -> Value;
}

/// What the core needs to know at start-up.
pub struct CoreOptions {
    /// `janus.jcfg` general settings.
    pub general: General,
    /// NAT settings reported by `info`.
    pub nat: Nat,
    /// The media engine's local address and `ipv6` setting, reported by `info`.
    pub network: Network,
    /// Transports that are running, for `info`.
    pub transports: Vec<TransportInfo>,
    /// Changes what the logger writes (the admin API's level and ICE debugging).
    pub change_log: Box<dyn Fn(LogChange) + Send + Sync>,
    /// The media settings the admin API changes, shared with the media engine.
    pub tunables: Arc<Tunables>,
    /// The event handlers the core tells what happens (none: events are off).
    pub events: Events,
}

/// Where the media engine is, as `info` reports it.
#[derive(Debug, Clone, Default)]
pub struct Network {
    /// The local address of the media sockets (none when no address is usable).
    pub local_ip: Option<std::net::IpAddr>,
    /// IPv6 candidates are gathered.
    pub ipv6: bool,
}

/// The transport-agnostic Janus API core. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    pub(super) inner: Arc<Inner>,
}

pub(super) struct Inner {
    pub(super) general: General,
    pub(super) nat: Nat,
    pub(super) network: Network,
    pub(super) transports: Vec<TransportInfo>,
    pub(super) auth: Auth,
    pub(super) session_timeout: AtomicU64,
    pub(super) accept_new_sessions: AtomicBool,
    pub(super) log_level: AtomicU8,
    /// Whether ICE debugging is on (`nice_debug`, `set_libnice_debug`).
    pub(super) ice_debug: AtomicBool,
    change_log: Box<dyn Fn(LogChange) + Send + Sync>,
    pub(super) tunables: Arc<Tunables>,
    pub(super) events: Events,
    pub(super) sessions: Mutex<HashMap<u64, Arc<Session>>>,
    /// Handles alive in all sessions (each session's [`super::session::HandleTable`] counts).
    pub(super) handles_live: Arc<std::sync::atomic::AtomicUsize>,
    clients: Mutex<HashMap<ClientKey, usize>>,
    pub(super) plugins: RwLock<Arc<dyn PluginRegistry>>,
    media: RwLock<Arc<dyn MediaControl>>,
    clock: Instant,
}

/// Why an HTTP long poll cannot be served.
#[derive(Debug, PartialEq, Eq)]
pub enum PollError {
    /// Bad credentials: HTTP 403.
    Unauthorized,
    /// No such session: HTTP 404.
    NotFound,
}

/// A random id, masked to 53 bits so JavaScript can hold it, never 0.
pub fn random_id() -> u64 {
    loop {
        let id = rand::random::<u64>() & ((1 << 53) - 1);
        if id != 0 {
            return id;
        }
    }
}

impl Core {
    /// A core with no plugins; the watchdog starts with [`Core::spawn_watchdog`].
    pub fn new(options: CoreOptions) -> Self {
        let general = options.general;
        let inner = Inner {
            auth: Auth::new(
                general.api_secret.clone(),
                general.token_auth,
                general.token_auth_secret.as_deref(),
            ),
            session_timeout: AtomicU64::new(general.session_timeout),
            accept_new_sessions: AtomicBool::new(general.accept_new_sessions),
            log_level: AtomicU8::new(general.debug_level),
            ice_debug: AtomicBool::new(options.nat.nice_debug),
            change_log: options.change_log,
            tunables: options.tunables,
            events: options.events,
            general,
            nat: options.nat,
            network: options.network,
            transports: options.transports,
            sessions: Mutex::new(HashMap::new()),
            handles_live: Arc::default(),
            clients: Mutex::new(HashMap::new()),
            plugins: RwLock::new(Arc::new(NoPlugins)),
            media: RwLock::new(Arc::new(NoMedia)),
            clock: Instant::now(),
        };
        Self { inner: Arc::new(inner) }
    }

    /// Installs the plugin registry (the wasm runtime).
    pub fn set_plugins(&self, registry: Arc<dyn PluginRegistry>) {
        *self.inner.plugins.write().unwrap_or_else(|e| e.into_inner()) = registry;
    }

    /// Installs the media engine.
    pub fn set_media(&self, media: Arc<dyn MediaControl>) {
        *self.inner.media.write().unwrap_or_else(|e| e.into_inner()) = media;
    }

    /// Whether tokens are signed ones (`token_auth_secret`).
    pub fn tokens_signed(&self) -> bool {
        self.inner.auth.signed()
    }

    /// Whether `token` is signed with `token_auth_secret` for a plugin (`realm`: its package),
    /// unexpired, and lists `descriptor` (Janus's `auth_signature_contains`); false without
    /// signed tokens.
    pub fn plugin_token_contains(&self, realm: &str, token: &str, descriptor: &str) -> bool {
        self.inner.auth.signature_valid(token, realm, Some(descriptor))
    }

    /// The media engine (intents go here).
    pub fn media(&self) -> Arc<dyn MediaControl> {
        self.inner.media.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A handle leaves: its PeerConnection and rules go, then the plugin is told. Both happen
    /// when this is called (the plugin's job is queued at once); the future only waits for the
    /// plugin to have handled it, so dropping it loses nothing.
    pub(super) fn release_handle(&self, h: &Handle) -> BoxFuture<'static, ()> {
        self.media().handle_gone(h.handle_ref());
        self.handle_event(h, "detached");
        h.plugin.destroy_handle(h.handle_ref())
    }

    /// Tells the plugin that owns an RTP input what happened to it (a stream stopped or
    /// started receiving; its RTSP source plays or was lost).
    pub fn input_event(&self, input: u64, event: crate::vocab::MediaEvent) {
        self.plugins().input_event(input, event);
    }

    pub(super) fn plugins(&self) -> Arc<dyn PluginRegistry> {
        self.inner.plugins.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Microseconds since the core started (monotonic).
    pub fn now_us(&self) -> u64 {
        self.inner.clock.elapsed().as_micros() as u64
    }

    /// The general settings the core was started with.
    pub fn general(&self) -> &General {
        &self.inner.general
    }

    /// The authentication state.
    pub fn auth(&self) -> &Auth {
        &self.inner.auth
    }

    /// Sets the Janus log level.
    pub(super) fn set_log_level(&self, level: u8) {
        self.inner.log_level.store(level, Ordering::Relaxed);
        (self.inner.change_log)(LogChange::Level(level));
    }

    /// Turns ICE debugging on or off.
    pub(super) fn set_ice_debug(&self, on: bool) {
        self.inner.ice_debug.store(on, Ordering::Relaxed);
        (self.inner.change_log)(LogChange::IceDebug(on));
    }

    /// A session by id.
    pub fn session(&self, id: u64) -> Option<Arc<Session>> {
        lock(&self.inner.sessions).get(&id).cloned()
    }

    /// Number of live sessions.
    pub fn session_count(&self) -> usize {
        lock(&self.inner.sessions).len()
    }

    /// Number of live handles (kept as they come and go).
    pub fn handle_count(&self) -> usize {
        self.inner.handles_live.load(Ordering::Relaxed)
    }

    /// Creates a session (after the caller's 472/403 checks): 468 on an id conflict,
    /// 490 when the client holds too many sessions.
    pub(super) fn create_session(
        &self,
        requested: Option<u64>,
        client: ClientKey,
        owner: Owner,
        instance: super::janus::Instance,
    ) -> ApiResult<Arc<Session>> {
        let cap = self.inner.general.max_sessions_per_client;
        let mut sessions = lock(&self.inner.sessions);
        let id = match requested {
            Some(id) if sessions.contains_key(&id) => {
                return Err(ErrorCode::SessionConflict.into());
            }
            Some(id) => id,
            None => loop {
                let id = random_id();
                if !sessions.contains_key(&id) {
                    break id;
                }
            },
        };
        {
            let mut clients = lock(&self.inner.clients);
            let count = clients.entry(client).or_insert(0);
            if *count >= cap {
                return Err(ApiError::new(
                    ErrorCode::Unknown,
                    format!("Too many sessions for this client (limit {cap})"),
                ));
            }
            *count += 1;
        }
        let session = Arc::new(Session::new(
            id,
            client,
            owner,
            self.now_us(),
            self.inner.general.event_queue_size,
            self.inner.handles_live.clone(),
        ));
        sessions.insert(id, session.clone());
        drop(sessions);
        tracing::debug!(session = id, "session created");
        if self.inner.events.wants(Kind::Session) {
            let about = About { session: Some(id), ..About::default() };
            let created = json!({"name": "created", "transport": instance.to_json()});
            self.inner.events.notify(Kind::Session, 0, about, created);
        }
        Ok(session)
    }

    /// Removes a session and detaches its handles. `notice` is sent to its transport first
    /// (the `timeout` event). Returns false if it was already gone.
    pub async fn destroy_session(&self, id: u64, notice: Option<Value>, why: Option<&str>) -> bool {
        match self.end_session(id, notice, why) {
            Some(released) => {
                released.await;
                true
            }
            None => false,
        }
    }

    /// Removes a session and releases its handles now (PeerConnections dropped, plugins' jobs
    /// queued); the future only waits for the plugins to have handled them, so a caller that
    /// stops waiting leaves nothing behind. `None` if the session was already gone.
    pub(super) fn end_session(
        &self,
        id: u64,
        notice: Option<Value>,
        why: Option<&str>,
    ) -> Option<BoxFuture<'static, ()>> {
        let session = lock(&self.inner.sessions).remove(&id)?;
        session.destroyed.store(true, Ordering::SeqCst);
        {
            let mut clients = lock(&self.inner.clients);
            if let Some(n) = clients.get_mut(&session.client) {
                *n -= 1;
                if *n == 0 {
                    clients.remove(&session.client);
                }
            }
        }
        if let Some(event) = notice {
            session.send(event);
        }
        let handles = lock(&session.handles).take_all();
        let released: Vec<_> = handles.iter().map(|h| self.release_handle(h)).collect();
        session.queue.wake_all();
        tracing::debug!(session = id, "session destroyed");
        // The event handlers hear why (`destroyed`, `timeout`), as Janus tells them (not at
        // the gateway's stop).
        if let Some(why) = why {
            let about = About { session: Some(id), ..About::default() };
            self.inner.events.notify(Kind::Session, 0, about, json!({"name": why}));
        }
        Some(Box::pin(async move {
            futures_util::future::join_all(released).await;
        }))
    }

    /// Destroys every session (clean shutdown), all at once.
    pub async fn destroy_all_sessions(&self) {
        let ids: Vec<u64> = lock(&self.inner.sessions).keys().copied().collect();
        futures_util::future::join_all(ids.into_iter().map(|id| self.destroy_session(id, None, None))).await;
    }

    /// A plugin ended a handle (`end-handle`): it is detached and the client gets `detached`.
    pub async fn end_handle(&self, h: HandleRef) {
        let Some(session) = self.session(h.session_id) else { return };
        let Some(handle) = lock(&session.handles).remove(h.handle_id) else { return };
        self.release_handle(&handle).await;
        self.push_handle_event(h, "detached", Value::Null);
    }

    /// Effective timeout of a session in seconds (0 = none).
    pub(super) fn timeout_of(&self, session: &Session) -> u64 {
        match session.timeout_override.load(Ordering::Relaxed) {
            t if t >= 0 => t as u64,
            _ => self.inner.session_timeout.load(Ordering::Relaxed),
        }
    }

    /// One watchdog pass: expires idle sessions and orphans nobody claimed. Each expired
    /// session is destroyed in a task of its own: a slow plugin never holds up the others.
    pub async fn expire_sessions(&self) {
        let now = self.now_us();
        let sessions: Vec<Arc<Session>> = lock(&self.inner.sessions).values().cloned().collect();
        for s in sessions {
            let timeout_us = self.timeout_of(&s).saturating_mul(1_000_000);
            let orphan_deadline = match &*lock(&s.owner) {
                Owner::Orphan { deadline_us } => Some(*deadline_us),
                _ => None,
            };
            if orphan_deadline.is_some_and(|d| now >= d) {
                tracing::info!(session = s.id, "session not reclaimed in time, destroying");
                self.spawn_destroy(s.id, None, "timeout");
            } else if timeout_us > 0 && now.saturating_sub(s.last_activity_us()) >= timeout_us {
                tracing::info!(session = s.id, "session timed out");
                let event = Value::Object(reply("timeout", s.id, None));
                self.spawn_destroy(s.id, Some(event), "timeout");
            } else {
                self.expire_candidates(&s, now);
            }
        }
    }

    /// Destroys a session in a task of its own.
    fn spawn_destroy(&self, id: u64, notice: Option<Value>, why: &'static str) {
        let core = self.clone();
        tokio::spawn(async move {
            core.destroy_session(id, notice, Some(why)).await;
        });
    }

    fn expire_candidates(&self, session: &Session, now: u64) {
        let max_age = self.inner.general.candidates_timeout * 1_000_000;
        for h in lock(&session.handles).values() {
            lock(&h.pending_candidates).retain(|(t, _)| now.saturating_sub(*t) < max_age);
        }
    }

    /// Starts the watchdog task.
    pub fn spawn_watchdog(&self) -> tokio::task::JoinHandle<()> {
        let core = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(WATCHDOG_PERIOD);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                core.expire_sessions().await;
            }
        })
    }

    /// Whether a connection owns a session (its events go there).
    pub fn owns_sessions(&self, connection_id: u64) -> bool {
        lock(&self.inner.sessions).values().any(|s| s.owned_by(connection_id))
    }

    /// A WebSocket closed: its sessions are destroyed, or kept for `reclaim_session_timeout`.
    pub async fn connection_closed(&self, connection_id: u64) {
        let owned: Vec<Arc<Session>> =
            lock(&self.inner.sessions).values().filter(|s| s.owned_by(connection_id)).cloned().collect();
        let reclaim = self.inner.general.reclaim_session_timeout;
        for s in owned {
            if reclaim > 0 {
                let deadline_us = self.now_us() + reclaim * 1_000_000;
                *lock(&s.owner) = Owner::Orphan { deadline_us };
            } else {
                self.destroy_session(s.id, None, Some("destroyed")).await;
            }
        }
    }

    /// An HTTP long poll: checks credentials, then refreshes and returns the session.
    pub fn poll_session(&self, id: u64, creds: Credentials<'_>) -> Result<Arc<Session>, PollError> {
        self.inner.auth.check(creds).map_err(|_| PollError::Unauthorized)?;
        let session = self.session(id).ok_or(PollError::NotFound)?;
        session.touch(self.now_us());
        Ok(session)
    }

    /// Moves a session to a new owner and hands it the events that waited meanwhile.
    pub(super) fn claim(&self, session: &Session, sink: Option<Arc<dyn EventSink>>) {
        let owner = match sink {
            Some(s) => Owner::Socket(s),
            None => Owner::Http,
        };
        let to_socket = matches!(owner, Owner::Socket(_));
        *lock(&session.owner) = owner;
        if to_socket {
            for event in session.queue.take(usize::MAX) {
                session.send(event);
            }
        }
    }

    /// Pushes a plugin event to the client of a handle:
    /// `{janus:"event", session_id, sender, transaction?, plugindata:{plugin, data}, jsep?}`.
    pub fn push_plugin_event(
        &self,
        handle: HandleRef,
        transaction: Option<&str>,
        data: Value,
        jsep: Option<Value>,
    ) -> ApiResult<()> {
        let session = self
            .session(handle.session_id)
            .ok_or_else(|| ApiError::default_for(ErrorCode::SessionNotFound))?;
        let h = session
            .handle(handle.handle_id)
            .ok_or_else(|| ApiError::default_for(ErrorCode::HandleNotFound))?;
        let mut event = self.plugin_reply("event", session.id, transaction, &h, data);
        if let Some(j) = jsep {
            self.jsep_event(&h, "local", &j);
            event.insert("jsep".into(), j);
        }
        session.send(Value::Object(event));
        Ok(())
    }

    /// `{janus: kind, session_id, transaction?, sender, opaque_id?, plugindata:{plugin, data}}`:
    /// the shape of sync plugin replies and plugin events.
    pub(super) fn plugin_reply(
        &self,
        kind: &str,
        session_id: u64,
        transaction: Option<&str>,
        h: &Handle,
        data: Value,
    ) -> serde_json::Map<String, Value> {
        let mut r = reply(kind, session_id, transaction);
        r.insert("sender".into(), json!(h.id));
        if self.inner.general.opaqueid_in_api {
            if let Some(o) = &h.opaque_id {
                r.insert("opaque_id".into(), json!(o));
            }
        }
        r.insert("plugindata".into(), json!({"plugin": h.package, "data": data}));
        r
    }

    /// The event handlers.
    pub fn events(&self) -> &Events {
        &self.inner.events
    }

    /// A handle's event for the event handlers: `attached`, then `detached` once, as Janus
    /// tells them (a handle whose attach failed is told of neither).
    pub(super) fn handle_event(&self, h: &Handle, name: &str) {
        let told = if name == "attached" {
            !h.attached_told.swap(true, Ordering::SeqCst)
        } else {
            h.attached_told.swap(false, Ordering::SeqCst)
        };
        if !told || !self.inner.events.wants(Kind::Handle) {
            return;
        }
        let mut body = json!({"name": name, "plugin": h.package});
        if let Some(o) = &h.opaque_id {
            body["opaque_id"] = json!(o);
        }
        if let Some(t) = &h.token {
            body["token"] = json!(t);
        }
        self.inner.events.notify(Kind::Handle, 0, h.about(), body);
    }

    /// A negotiation's SDP for the event handlers: the client's (`remote`) or ours (`local`).
    pub(super) fn jsep_event(&self, h: &Handle, owner: &str, jsep: &Value) {
        if !self.inner.events.wants(Kind::Jsep) {
            return;
        }
        let jsep = json!({"type": jsep["type"], "sdp": jsep["sdp"]});
        self.inner.events.notify(Kind::Jsep, 0, h.about(), json!({"owner": owner, "jsep": jsep}));
    }

    /// A PeerConnection's or media's news for the event handlers (`kind` Webrtc or Media).
    pub fn media_event(&self, handle: HandleRef, kind: Kind, subtype: u8, body: Value) {
        self.handle_news(Some(handle), kind, subtype, body);
    }

    /// A plugin's own event for the event handlers (`notify-event`), about a handle or none.
    pub fn plugin_event(&self, package: &str, handle: Option<HandleRef>, data: Value) {
        self.handle_news(handle, Kind::Plugin, 0, json!({"plugin": package, "data": data}));
    }

    /// An event about a handle (known by its reference, if it is still there) or about none.
    fn handle_news(&self, handle: Option<HandleRef>, kind: Kind, subtype: u8, body: Value) {
        if !self.inner.events.wants(kind) {
            return;
        }
        let h = handle.and_then(|h| self.session(h.session_id)?.handle(h.handle_id));
        let about = match (&h, handle) {
            (Some(h), _) => h.about(),
            (None, Some(r)) => {
                About { session: Some(r.session_id), handle: Some(r.handle_id), opaque_id: None }
            }
            (None, None) => About::default(),
        };
        self.inner.events.notify(kind, subtype, about, body);
    }

    /// The plugin of a live handle.
    pub fn plugin_of(&self, h: HandleRef) -> Option<Arc<dyn super::plugin::Plugin>> {
        self.session(h.session_id)?.handle(h.handle_id).map(|x| x.plugin.clone())
    }

    /// Sends a late `error` answering `transaction` on a handle's session, as the reply to a
    /// request whose acknowledged work was lost (the plugin crashed before answering it).
    pub fn push_error(&self, handle: HandleRef, transaction: &str, error: ApiError) {
        if let Some(session) = self.session(handle.session_id) {
            session.send(error_reply(&error, session.id, Some(transaction)));
        }
    }

    /// Sends a core event about a handle (`detached`, `hangup`, `webrtcup`, ...) with
    /// `session_id` and `sender` filled in.
    pub fn push_handle_event(&self, handle: HandleRef, kind: &str, extra: Value) {
        let Some(session) = self.session(handle.session_id) else {
            return;
        };
        let mut event = reply(kind, session.id, None);
        event.insert("sender".into(), json!(handle.handle_id));
        if let Value::Object(fields) = extra {
            event.extend(fields);
        }
        session.send(Value::Object(event));
    }
}

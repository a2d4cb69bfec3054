//! The Janus API verbs, in Janus's processing order (janus-api.md §1.1).

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};

use super::auth::Credentials;
use super::core::{random_id, Core};
use super::envelope::{self, error_reply, reply, Envelope, PathIds};
use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields;
use super::jsep;
use super::plugin::{Effect, PluginEvent, PluginMessage, PluginReply};
use super::session::{lock, ClientKey, EventSink, Handle, Owner, Session};
use crate::events::Events;
use crate::vocab::{DescriptionError, HandleRef};

/// Who sent a request and where its events go.
#[derive(Clone)]
pub struct RequestCtx {
    /// The WebSocket connection, or `None` for HTTP.
    pub sink: Option<Arc<dyn EventSink>>,
    /// The client, for per-client limits.
    pub client: ClientKey,
    /// Ids from the HTTP path.
    pub path: PathIds,
    /// The transport instance the request came on.
    pub instance: Instance,
}

/// A transport instance, as the event handlers name it (a session's `transport`, the
/// transport's own events): the transport's package and the instance's id (an HTTP request,
/// a WebSocket connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instance {
    /// `janus.transport.http` or `janus.transport.websockets`.
    pub transport: &'static str,
    /// The request's or connection's id.
    pub id: u64,
}

impl Instance {
    /// Its `transport` object in a session's `created` event.
    pub fn to_json(self) -> Value {
        json!({"transport": self.transport, "id": self.id.to_string()})
    }
}

/// Most trickle candidates kept per handle before the media engine takes them.
const MAX_PENDING_CANDIDATES: usize = 256;

/// An event (or an action whose events) follows a request's reply: transports run these once
/// the reply is on its way, so a client always sees the reply to its request first.
pub enum Deferred {
    /// A plugin event pushed while the plugin handled the request.
    Plugin(PluginEvent),
    /// A core event about a handle (`detached`).
    Handle(HandleRef, &'static str),
    /// Something the plugin asked to happen to a handle while it handled the request
    /// (`close-pc`, `end-handle`): its `hangup` or `detached` follows the reply.
    Effect(Effect),
}

/// The answer to one request: the reply, and events to deliver once the reply is on its way
/// (see [`Core::deliver`]).
pub struct ApiReply {
    /// The reply to send back.
    pub body: Value,
    /// Events that follow the reply.
    pub deferred: Vec<Deferred>,
}

impl ApiReply {
    fn now(body: Value) -> Self {
        Self { body, deferred: Vec::new() }
    }
}

impl Core {
    /// Handles one Janus API request (raw JSON bytes). The transport sends `body`, then calls
    /// [`Core::deliver`] with `deferred`.
    pub async fn handle_api(&self, bytes: &[u8], ctx: &RequestCtx) -> ApiReply {
        let body = match envelope::parse_object(bytes) {
            Ok(b) => b,
            Err(e) => return ApiReply::now(error_reply(&e, 0, None)),
        };
        let env = match envelope::read(body, ctx.path, ("session_id", "handle_id")) {
            Ok(env) => env,
            Err(r) => return ApiReply::now(error_reply(&r.error, r.session_id, r.transaction.as_deref())),
        };
        let mut deferred = Vec::new();
        let body = match self.dispatch(&env, ctx, &mut deferred).await {
            Ok(v) => v,
            Err(e) => error_reply(&e, env.session_id, Some(&env.transaction)),
        };
        ApiReply { body, deferred }
    }

    /// Delivers the events that waited for their request's reply.
    pub fn deliver(&self, events: Vec<Deferred>) {
        for e in events {
            match e {
                Deferred::Plugin(p) => self.deliver_events(vec![p]),
                Deferred::Handle(h, kind) => self.push_handle_event(h, kind, Value::Null),
                Deferred::Effect(effect) => self.apply_effect(effect),
            }
        }
    }

    /// Does what a plugin asked to happen to a handle: `close-pc` hangs the PeerConnection up
    /// (the client and the plugin get `hangup` "Close PC"), `end-handle` detaches the handle
    /// (the client gets `detached`).
    pub fn apply_effect(&self, effect: Effect) {
        match effect {
            Effect::ClosePc(h) => self.media().hangup(h, "Close PC"),
            Effect::EndHandle(h) => {
                let core = self.clone();
                tokio::spawn(async move { core.end_handle(h).await });
            }
        }
    }

    /// Delivers plugin events now.
    pub fn deliver_events(&self, events: Vec<PluginEvent>) {
        for e in events {
            if let Err(err) = self.push_plugin_event(e.handle, e.transaction.as_deref(), e.data, e.jsep) {
                tracing::debug!("plugin event for a vanished handle dropped: {err}");
            }
        }
    }

    fn credentials<'a>(env: &'a Envelope) -> Credentials<'a> {
        Credentials {
            apisecret: env.body.get("apisecret").and_then(Value::as_str),
            token: env.body.get("token").and_then(Value::as_str),
        }
    }

    async fn dispatch(
        &self,
        env: &Envelope,
        ctx: &RequestCtx,
        deferred: &mut Vec<Deferred>,
    ) -> ApiResult<Value> {
        let tx = Some(env.transaction.as_str());
        if env.session_id == 0 && env.handle_id == 0 {
            return match env.verb.as_str() {
                "info" => Ok(self.server_info(tx)),
                "ping" => Ok(Value::Object(reply("pong", 0, tx))),
                "create" => self.create(env, ctx),
                other => Err(ApiError::new(
                    ErrorCode::InvalidRequestPath,
                    format!("Unhandled request '{other}' at this path"),
                )),
            };
        }
        if env.session_id == 0 {
            return Err(ErrorCode::SessionNotFound.into());
        }
        if env.has_handle && env.handle_id == 0 {
            return Err(ErrorCode::HandleNotFound.into());
        }
        self.inner.auth.check(Self::credentials(env))?;
        let session = self.session(env.session_id).ok_or_else(|| {
            ApiError::new(ErrorCode::SessionNotFound, format!("No such session {}", env.session_id))
        })?;
        session.touch(self.now_us());
        let handle = match env.handle_id {
            0 => None,
            hid => Some(session.handle(hid).ok_or_else(|| {
                ApiError::new(
                    ErrorCode::HandleNotFound,
                    format!("No such handle {hid} in session {}", session.id),
                )
            })?),
        };
        let wrong_path = || {
            ApiError::new(
                ErrorCode::InvalidRequestPath,
                format!("Unhandled request '{}' at this path", env.verb),
            )
        };
        let sid = session.id;
        match (env.verb.as_str(), handle) {
            ("keepalive", _) => Ok(Value::Object(reply("ack", sid, tx))),
            ("claim", _) => {
                self.claim(&session, ctx.sink.clone());
                Ok(Value::Object(reply("success", sid, tx)))
            }
            ("attach", None) => self.attach(env, &session).await,
            ("destroy", None) => {
                self.destroy_session(sid, None, Some("destroyed")).await;
                Ok(Value::Object(reply("success", sid, tx)))
            }
            ("detach", Some(h)) => {
                let r = self.detach(&session, &h, tx).await?;
                deferred.push(Deferred::Handle(h.handle_ref(), "detached"));
                Ok(r)
            }
            ("hangup", Some(h)) => {
                // At once, not after the reply: a new offer the client sends right behind its
                // hangup must find the old PeerConnection gone, not be hung up with it. (So the
                // `hangup` event may come before the reply, as from Janus.)
                self.media().hangup(h.handle_ref(), "Janus API");
                let events = h.plugin.hangup_media(h.handle_ref(), "Janus API").await;
                deferred.extend(events.into_iter().map(Deferred::Plugin));
                Ok(Value::Object(reply("success", sid, tx)))
            }
            ("message", Some(h)) => self.message(env, &session, &h, deferred).await,
            ("trickle", Some(h)) => self.trickle(env, &h),
            ("attach" | "destroy", Some(_)) | ("detach" | "hangup" | "message" | "trickle", None) => {
                Err(wrong_path())
            }
            (other, _) => Err(ApiError::new(ErrorCode::UnknownRequest, format!("Unknown request '{other}'"))),
        }
    }

    fn create(&self, env: &Envelope, ctx: &RequestCtx) -> ApiResult<Value> {
        // The envelope checked the type; 0 means "pick one".
        let requested = env.body.get("id").and_then(Value::as_u64).filter(|id| *id != 0);
        if !self.inner.accept_new_sessions.load(Ordering::Relaxed) {
            return Err(ErrorCode::NotAcceptingSessions.into());
        }
        self.inner.auth.check(Self::credentials(env))?;
        let owner = match &ctx.sink {
            Some(s) => Owner::Socket(s.clone()),
            None => Owner::Http,
        };
        let session = match self.create_session(requested, ctx.client, owner, ctx.instance) {
            Ok(s) => s,
            // Janus's conflict reply names the id that was asked for.
            Err(e) if e.code == ErrorCode::SessionConflict => {
                return Ok(error_reply(&e, requested.unwrap_or(0), Some(&env.transaction)))
            }
            Err(e) => return Err(e),
        };
        let mut r = reply("success", 0, Some(&env.transaction));
        r.insert("data".into(), json!({"id": session.id}));
        Ok(Value::Object(r))
    }

    async fn attach(&self, env: &Envelope, session: &Arc<Session>) -> ApiResult<Value> {
        let package = fields::req_str(&env.body, "plugin")?;
        let opaque_id = fields::opt_str(&env.body, "opaque_id")?.map(str::to_owned);
        // (Janus's `loop_index` picks an event loop; there are none to pick here, but a value
        // that is not a positive integer is refused as Janus refuses it.)
        fields::opt_u64(&env.body, "loop_index")?;
        let token = env.body.get("token").and_then(Value::as_str);
        let plugin = self
            .plugins()
            .find(package)
            .ok_or_else(|| ApiError::new(ErrorCode::PluginNotFound, format!("No such plugin '{package}'")))?;
        self.inner.auth.check_plugin(token, package)?;
        let id = {
            let handles = lock(&session.handles);
            let cap = self.inner.general.max_handles_per_session;
            if handles.len() >= cap {
                return Err(ApiError::new(
                    ErrorCode::Unknown,
                    format!("Too many handles in this session (limit {cap})"),
                ));
            }
            loop {
                let id = random_id();
                if !handles.contains_key(&id) {
                    break id;
                }
            }
        };
        let handle = Arc::new(Handle {
            id,
            session_id: session.id,
            package: package.to_owned(),
            plugin: plugin.clone(),
            opaque_id,
            token: token.map(str::to_owned),
            created_us: self.now_us(),
            pending_candidates: Mutex::new(Vec::new()),
            trickle_completed: false.into(),
            capture: Mutex::new(None),
            attached_told: false.into(),
        });
        lock(&session.handles).insert(id, handle.clone());
        if let Err(e) = plugin.create_handle(handle.handle_ref()).await {
            lock(&session.handles).remove(id);
            // A plugin that answered too late may still attach it: it hears of its end.
            self.release_handle(&handle).await;
            return Err(ApiError::new(
                ErrorCode::PluginAttach,
                format!("Couldn't attach to plugin: error '{e}'"),
            ));
        }
        if session.destroyed.load(Ordering::SeqCst) {
            // The session went away while the plugin was attaching.
            lock(&session.handles).remove(id);
            self.release_handle(&handle).await;
            return Err(ErrorCode::SessionNotFound.into());
        }
        self.handle_event(&handle, "attached");
        let mut r = reply("success", session.id, Some(&env.transaction));
        r.insert("data".into(), json!({"id": id}));
        Ok(Value::Object(r))
    }

    async fn detach(&self, session: &Session, h: &Arc<Handle>, tx: Option<&str>) -> ApiResult<Value> {
        if lock(&session.handles).remove(h.id).is_none() {
            return Err(ApiError::new(
                ErrorCode::HandleNotFound,
                format!("No such handle {} in session {}", h.id, session.id),
            ));
        }
        self.release_handle(h).await;
        Ok(Value::Object(reply("success", session.id, tx)))
    }

    async fn message(
        &self,
        env: &Envelope,
        session: &Session,
        h: &Arc<Handle>,
        deferred: &mut Vec<Deferred>,
    ) -> ApiResult<Value> {
        let body = match env.body.get("body") {
            // (A `null` body is there, of the wrong type: Janus's 467, not 456.)
            None => return Err(ApiError::missing("body")),
            Some(Value::Object(_)) => env.body["body"].clone(),
            Some(_) => return Err(ApiError::wrong_type("body", "an object")),
        };
        let jsep = match env.body.get("jsep") {
            None | Some(Value::Null) => None,
            Some(Value::Object(j)) => {
                let plain = jsep::check(j)?;
                self.remote_description(h, j)?;
                self.jsep_event(h, "remote", &env.body["jsep"]);
                Some(plain)
            }
            Some(_) => return Err(ApiError::new(ErrorCode::InvalidJsonObject, "Invalid jsep object")),
        };
        let msg = PluginMessage { handle: h.handle_ref(), transaction: env.transaction.clone(), body, jsep };
        let tx = Some(env.transaction.as_str());
        let outcome = h.plugin.handle_message(msg).await;
        deferred.extend(outcome.events.into_iter().map(Deferred::Plugin));
        deferred.extend(outcome.effects.into_iter().map(Deferred::Effect));
        match outcome.reply {
            PluginReply::Ok(data @ Value::Object(_)) => {
                Ok(Value::Object(self.plugin_reply("success", session.id, tx, h, data)))
            }
            PluginReply::Ok(_) => Err(ApiError::new(
                ErrorCode::PluginMessage,
                "Plugin returned an invalid result (not an object)",
            )),
            PluginReply::Ack { hint } => {
                let mut r = reply("ack", session.id, tx);
                if let Some(hint) = hint {
                    r.insert("hint".into(), json!(hint));
                }
                Ok(Value::Object(r))
            }
            PluginReply::Error(text) => Err(ApiError::new(ErrorCode::PluginMessage, text)),
        }
    }

    /// Hands a checked client JSEP (with its ICE and DTLS lines) to the media engine; the
    /// candidates that arrived before it follow.
    fn remote_description(&self, h: &Handle, j: &fields::Obj) -> ApiResult<()> {
        let offer = jsep::kind(j)? == jsep::JsepType::Offer;
        let sdp = j.get("sdp").and_then(Value::as_str).unwrap_or_default();
        let media = self.media();
        media.remote_description(h.handle_ref(), offer, sdp).map_err(|e| match e {
            DescriptionError::UnexpectedAnswer => {
                ApiError::new(ErrorCode::UnexpectedAnswer, "Unexpected ANSWER (did we offer?)")
            }
            DescriptionError::Invalid(why) => ApiError::new(ErrorCode::JsepInvalidSdp, why),
        })?;
        for (_, c) in lock(&h.pending_candidates).drain(..) {
            media.trickle(h.handle_ref(), c);
        }
        Ok(())
    }

    /// Janus checks "both" and "neither" at once and queues everything else unvalidated until
    /// the PeerConnection exists; the media engine validates candidates when it applies them.
    fn trickle(&self, env: &Envelope, h: &Handle) -> ApiResult<Value> {
        let single = env.body.get("candidate");
        let many = env.body.get("candidates");
        let candidates: Vec<Value> = match (single, many) {
            (Some(_), Some(_)) => {
                return Err(ApiError::new(ErrorCode::InvalidJson, "Can't have both candidate and candidates"))
            }
            (None, None) => return Err(ApiError::missing("candidate|candidates")),
            (Some(c), None) => vec![c.clone()],
            (None, Some(Value::Array(list))) => list.clone(),
            (None, Some(other)) => vec![other.clone()],
        };
        let now = self.now_us();
        let media = self.media();
        let mut pending = lock(&h.pending_candidates);
        for c in candidates {
            if c.get("completed").and_then(Value::as_bool) == Some(true) {
                h.trickle_completed.store(true, Ordering::Relaxed);
            } else if pending.len() < MAX_PENDING_CANDIDATES {
                // Kept until the client's SDP arrives (and handed over again then).
                media.trickle(h.handle_ref(), c.clone());
                pending.push((now, c));
            }
        }
        Ok(Value::Object(reply("ack", h.session_id, Some(&env.transaction))))
    }

    /// The `server_info` reply.
    /// What `info` answers (without a transaction).
    pub fn info(&self) -> Value {
        self.server_info(None)
    }

    pub(super) fn server_info(&self, tx: Option<&str>) -> Value {
        let g = &self.inner.general;
        let mut r: Map<String, Value> = reply("server_info", 0, tx);
        let plugins: Map<String, Value> = self
            .plugins()
            .list()
            .into_iter()
            .map(|p| {
                let v = json!({
                    "name": p.name, "author": p.author, "description": p.description,
                    "version_string": p.version_string, "version": p.version,
                });
                (p.package, v)
            })
            .collect();
        let transports: Map<String, Value> = self
            .inner
            .transports
            .iter()
            .map(|t| {
                let v = json!({
                    "name": t.name, "author": "Portunus", "description": t.description,
                    "version_string": env!("CARGO_PKG_VERSION"), "version": crate_version_number(),
                });
                (t.package.to_owned(), v)
            })
            .collect();
        let events: Map<String, Value> = self
            .inner
            .events
            .packages()
            .into_iter()
            .map(|package| {
                let (name, description) = Events::title(package);
                let v = json!({
                    "name": name, "author": "Portunus", "description": description,
                    "version_string": env!("CARGO_PKG_VERSION"), "version": crate_version_number(),
                });
                (package.to_owned(), v)
            })
            .collect();
        let net = &self.inner.network;
        let fields = json!({
            "name": "Portunus",
            "version": crate_version_number(),
            "version_string": env!("CARGO_PKG_VERSION"),
            "author": "The Portunus developers",
            "commit-hash": env!("PORTUNUS_COMMIT"),
            "compile-time": "",
            "log-to-stdout": true,
            "log-to-file": false,
            "data_channels": true,
            "accepting-new-sessions": self.inner.accept_new_sessions.load(Ordering::Relaxed),
            "session-timeout": self.inner.session_timeout.load(Ordering::Relaxed),
            "reclaim-session-timeout": g.reclaim_session_timeout,
            "candidates-timeout": g.candidates_timeout,
            "server-name": g.server_name,
            "local-ip": net.local_ip.map_or_else(|| "0.0.0.0".to_owned(), |ip| ip.to_string()),
            "ipv6": net.ipv6,
            "ice-lite": self.inner.nat.ice_lite,
            "ice-tcp": false,
            "full-trickle": self.inner.nat.full_trickle,
            "mdns-enabled": false,
            "min-nack-queue": self.inner.tunables.min_nack_queue_ms(),
            "twcc-period": crate::media::TWCC_PERIOD_MS,
            "dtls-mtu": crate::media::DTLS_MTU,
            "static-event-loops": 0,
            "api_secret": self.inner.auth.has_api_secret(),
            "auth_token": self.inner.auth.token_auth(),
            "event_handlers": self.inner.events.enabled(),
            "opaqueid_in_api": g.opaqueid_in_api,
            "dependencies": dependencies(),
            "transports": transports,
            "events": events,
            "loggers": {},
            "plugins": plugins,
        });
        if let Value::Object(f) = fields {
            r.extend(f);
        }
        if g.hide_dependencies {
            r.shift_remove("dependencies");
        }
        // As Janus: the first public address, all of them when there are several, and whether
        // link-local IPv6 is used when IPv6 is on (never, here).
        let public = &self.inner.nat.nat_1_1_mapping;
        if let Some(first) = public.first() {
            r.insert("public-ip".into(), json!(first));
        }
        if public.len() > 1 {
            r.insert("public-ips".into(), json!(public));
        }
        if net.ipv6 {
            r.insert("ipv6-link-local".into(), json!(false));
        }
        Value::Object(r)
    }
}

/// `0.1.0` → 10 (Janus's `version` number style: major*100 + minor*10 + patch).
fn crate_version_number() -> u64 {
    let mut parts = env!("CARGO_PKG_VERSION").split('.').map(|p| p.parse::<u64>().unwrap_or(0));
    let (a, b, c) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    a * 100 + b * 10 + c
}

/// The crates the gateway is built on and their versions, as Janus's `info` names its
/// libraries (from `Cargo.lock`, at build time).
fn dependencies() -> Value {
    let named = env!("PORTUNUS_DEPENDENCIES").split(',').filter_map(|d| d.split_once('='));
    Value::Object(named.map(|(name, version)| (name.to_owned(), json!(version))).collect())
}

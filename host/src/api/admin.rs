//! The Janus admin API (janus-api.md §2.5), over any transport.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Map, Value};

use super::core::Core;
use super::envelope::{self, error_reply, reply, Envelope, PathIds};
use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields;
use super::session::{lock, Handle, Owner, Session};

/// How long admin `handle_info` waits for the plugin's part of the answer.
const QUERY_WAIT: Duration = Duration::from_millis(500);

impl Core {
    /// Handles one admin API request (raw JSON bytes) and returns the reply.
    pub async fn handle_admin(&self, bytes: &[u8], path: PathIds) -> Value {
        let body = match envelope::parse_object(bytes) {
            Ok(b) => b,
            Err(e) => return error_reply(&e, 0, None),
        };
        let env = match envelope::read(body, path, ("session_id", "handle_id")) {
            Ok(env) => env,
            Err(r) => return error_reply(&r.error, r.session_id, r.transaction.as_deref()),
        };
        match self.admin_dispatch(&env).await {
            Ok(v) => v,
            Err(e) => error_reply(&e, env.session_id, Some(&env.transaction)),
        }
    }

    fn check_admin_secret(&self, env: &Envelope) -> ApiResult<()> {
        match &self.inner.general.admin_secret {
            None => Ok(()),
            Some(secret)
                if env
                    .body
                    .get("admin_secret")
                    .and_then(Value::as_str)
                    .is_some_and(|given| super::auth::secret_eq(secret, given)) =>
            {
                Ok(())
            }
            Some(_) => Err(ErrorCode::Unauthorized.into()),
        }
    }

    async fn admin_dispatch(&self, env: &Envelope) -> ApiResult<Value> {
        let tx = Some(env.transaction.as_str());
        if env.session_id == 0 && env.handle_id == 0 {
            match env.verb.as_str() {
                "info" => return Ok(self.server_info(tx)),
                "ping" => return Ok(Value::Object(reply("pong", 0, tx))),
                _ => {}
            }
            self.check_admin_secret(env)?;
            return self.admin_global(env).await;
        }
        if env.session_id == 0 {
            return Err(ErrorCode::SessionNotFound.into());
        }
        self.check_admin_secret(env)?;
        let session = self.session(env.session_id).ok_or_else(|| {
            ApiError::new(ErrorCode::SessionNotFound, format!("No such session {}", env.session_id))
        })?;
        if env.handle_id == 0 {
            return self.admin_session(env, &session).await;
        }
        let handle = session.handle(env.handle_id).ok_or_else(|| {
            ApiError::new(
                ErrorCode::HandleNotFound,
                format!("No such handle {} in session {}", env.handle_id, session.id),
            )
        })?;
        self.admin_handle(env, &session, &handle).await
    }

    pub(super) fn success(&self, env: &Envelope, extra: Value) -> Value {
        let mut r = reply("success", env.session_id, Some(&env.transaction));
        if env.handle_id != 0 {
            r.insert("handle_id".into(), json!(env.handle_id));
        }
        if let Value::Object(fields) = extra {
            r.extend(fields);
        }
        Value::Object(r)
    }

    fn unhandled(env: &Envelope) -> ApiError {
        ApiError::new(ErrorCode::InvalidRequestPath, format!("Unhandled request '{}' at this path", env.verb))
    }

    async fn admin_global(&self, env: &Envelope) -> ApiResult<Value> {
        let b = &env.body;
        let auth = &self.inner.auth;
        if env.verb.contains("token") {
            // Janus refuses token calls before looking at their fields when tokens are off.
            auth.require_stored()?;
        }
        if let Some(answer) = self.admin_setting(env) {
            return answer;
        }
        if let Some(answer) = self.admin_tool(env).await {
            return answer;
        }
        match env.verb.as_str() {
            "accept_new_sessions" => {
                let accept = fields::req_bool(b, "accept")?;
                self.inner.accept_new_sessions.store(accept, Ordering::Relaxed);
                Ok(self.success(env, json!({"accept": accept})))
            }
            "list_sessions" => {
                let ids: Vec<u64> = lock(&self.inner.sessions).keys().copied().collect();
                Ok(self.success(env, json!({"sessions": ids})))
            }
            "add_token" => {
                let token = fields::req_str(b, "token")?;
                // No list or an empty one means every plugin; unknown names are dropped.
                let all: BTreeSet<String> = self.plugins().list().into_iter().map(|p| p.package).collect();
                let plugins = match fields::opt_str_array(b, "plugins")? {
                    Some(list) if !list.is_empty() => list.into_iter().filter(|p| all.contains(p)).collect(),
                    _ => all,
                };
                auth.add_token(token, plugins.clone())?;
                Ok(self.success(env, json!({"data": {"plugins": plugins}})))
            }
            "list_tokens" => {
                let tokens: Vec<Value> = auth
                    .list_tokens()?
                    .into_iter()
                    .map(|(token, plugins)| json!({"token": token, "allowed_plugins": plugins}))
                    .collect();
                Ok(self.success(env, json!({"data": {"tokens": tokens}})))
            }
            verb @ ("allow_token" | "disallow_token") => {
                let token = fields::req_str(b, "token")?;
                let list = fields::opt_str_array(b, "plugins")?.unwrap_or_default();
                if list.is_empty() {
                    return Err(ApiError::wrong_type("plugins", "a non-empty array"));
                }
                let registry = self.plugins();
                if list.iter().any(|p| registry.find(p).is_none()) {
                    return Err(ApiError::new(
                        ErrorCode::InvalidElementType,
                        "Invalid element type (some of the provided plugins are invalid)",
                    ));
                }
                let plugins = list;
                let allowed = auth.set_plugins(token, &plugins, verb == "allow_token")?;
                Ok(self.success(env, json!({"data": {"plugins": allowed}})))
            }
            "remove_token" => {
                auth.remove_token(fields::req_str(b, "token")?)?;
                Ok(self.success(env, Value::Null))
            }
            "reload_plugin" => {
                let package = fields::req_str(b, "plugin")?;
                let path = fields::opt_str(b, "path")?.map(std::path::PathBuf::from);
                if self.plugins().find(package).is_none() {
                    return Err(ApiError::new(
                        ErrorCode::PluginNotFound,
                        format!("No such plugin '{package}'"),
                    ));
                }
                let report = self
                    .plugins()
                    .reload(package, path)
                    .await
                    .map_err(|e| ApiError::new(ErrorCode::Unknown, format!("Reload failed: {e}")))?;
                Ok(self.success(env, json!({"reload": report})))
            }
            "message_plugin" => {
                let package = fields::req_str(b, "plugin")?;
                // (Without a request the plugin gets an empty one and says what it lacks.)
                let request = match b.get("request") {
                    Some(Value::Object(_)) => b["request"].clone(),
                    Some(_) => return Err(ApiError::wrong_type("request", "an object")),
                    None => json!({}),
                };
                let plugin = self
                    .plugins()
                    .find(package)
                    .ok_or_else(|| ApiError::new(ErrorCode::PluginNotFound, "Invalid plugin"))?;
                let response = plugin
                    .handle_admin_message(request)
                    .await
                    // (A plugin without admin messages says so: Janus's 490.)
                    .map_err(|e| ApiError::new(ErrorCode::Unknown, e))?;
                Ok(self.success(env, json!({"response": response})))
            }
            // Janus: a request it does not know of here is "unhandled at this path" (457).
            _ => Err(Self::unhandled(env)),
        }
    }

    async fn admin_session(&self, env: &Envelope, session: &Arc<Session>) -> ApiResult<Value> {
        match env.verb.as_str() {
            "list_handles" => {
                let ids: Vec<u64> = lock(&session.handles).keys().copied().collect();
                Ok(self.success(env, json!({"handles": ids})))
            }
            "destroy_session" => {
                // Gone at once; the plugins hear of it without the admin waiting for them.
                if let Some(released) = self.end_session(session.id, None, Some("destroyed")) {
                    tokio::spawn(released);
                }
                Ok(self.success(env, Value::Null))
            }
            "set_session_timeout" => {
                let timeout =
                    fields::opt_i64(&env.body, "timeout")?.ok_or_else(|| ApiError::missing("timeout"))?;
                if timeout < -1 {
                    return Err(ApiError::wrong_type("timeout", "an integer >= -1"));
                }
                session.timeout_override.store(timeout, Ordering::Relaxed);
                session.touch(self.now_us());
                Ok(self.success(env, json!({"timeout": timeout})))
            }
            _ => Err(Self::unhandled(env)),
        }
    }

    async fn admin_handle(
        &self,
        env: &Envelope,
        session: &Arc<Session>,
        h: &Arc<Handle>,
    ) -> ApiResult<Value> {
        match env.verb.as_str() {
            "handle_info" => {
                let plugin_only = fields::opt_bool(&env.body, "plugin_only")?.unwrap_or(false);
                // A monitoring call: a busy plugin's part is left out rather than waited for.
                let query = h.plugin.query_handle(h.handle_ref());
                let plugin_specific = tokio::time::timeout(QUERY_WAIT, query)
                    .await
                    .unwrap_or_else(|_| json!({"error": "the plugin is busy"}));
                let info = self.handle_info(session, h, plugin_specific, plugin_only);
                Ok(self.success(env, json!({"info": info})))
            }
            "detach_handle" => {
                if lock(&session.handles).remove(h.id).is_some() {
                    // The plugin's job is queued now; the admin does not wait for it.
                    drop(self.release_handle(h));
                    self.push_handle_event(h.handle_ref(), "detached", Value::Null);
                }
                Ok(self.success(env, Value::Null))
            }
            "start_pcap" | "start_text2pcap" => {
                self.start_capture(h, &env.body, env.verb == "start_text2pcap")?;
                Ok(self.success(env, Value::Null))
            }
            "stop_pcap" | "stop_text2pcap" => {
                self.stop_capture(h)?;
                Ok(self.success(env, Value::Null))
            }
            "hangup_webrtc" => {
                // The PeerConnection is closed now; the plugin hears of it when it gets to it.
                self.media().hangup(h.handle_ref(), "Admin API");
                let told = h.plugin.hangup_media(h.handle_ref(), "Admin API");
                let core = self.clone();
                tokio::spawn(async move { core.deliver_events(told.await) });
                Ok(self.success(env, Value::Null))
            }
            _ => Err(Self::unhandled(env)),
        }
    }

    /// Janus's `handle_info`: the session's and handle's facts and the plugin's part, then
    /// (unless `plugin_only`) the PeerConnection's.
    fn handle_info(&self, session: &Session, h: &Handle, plugin_specific: Value, plugin_only: bool) -> Value {
        let transport = match &*lock(&session.owner) {
            Owner::Http => "janus.transport.http",
            Owner::Socket(_) => "janus.transport.websockets",
            Owner::Orphan { .. } => "none",
        };
        let mut info = Map::new();
        info.insert("session_id".into(), json!(session.id));
        info.insert("session_last_activity".into(), json!(session.last_activity_us()));
        info.insert("session_timeout".into(), json!(self.timeout_of(session)));
        info.insert("session_transport".into(), json!(transport));
        info.insert("handle_id".into(), json!(h.id));
        if let Some(o) = &h.opaque_id {
            info.insert("opaque_id".into(), json!(o));
        }
        if let Some(t) = &h.token {
            info.insert("token".into(), json!(t));
        }
        info.insert("loop-running".into(), json!(true));
        info.insert("created".into(), json!(h.created_us));
        info.insert("current_time".into(), json!(self.now_us()));
        info.insert("plugin".into(), json!(h.package));
        info.insert("plugin_specific".into(), plugin_specific);
        if plugin_only {
            return Value::Object(info);
        }
        if let Some(capturing) = &*lock(&h.capture) {
            let (flag, file) = if capturing.text {
                ("dump-to-text2pcap", "text2pcap-file")
            } else {
                ("dump-to-pcap", "pcap-file")
            };
            info.insert(flag.into(), json!(true));
            info.insert(file.into(), json!(capturing.path.display().to_string()));
        }
        // The PeerConnection's side (flags, ICE and DTLS state, SDPs, streams) comes from the
        // media thread that owns it; without one, Janus's flags all say no.
        let pc = self.media().describe(h.handle_ref()).unwrap_or_else(|| {
            json!({
                "flags": {
                    "got-offer": false, "got-answer": false, "negotiated": false,
                    "processing-offer": false, "starting": false, "ice-restart": false,
                    "ready": false, "stopped": false, "alert": false, "trickle": true,
                    "data-channels": false, "has-audio": false, "has-video": false,
                    "new-datachan-sdp": false, "rfc4588-rtx": false, "cleaning": false, "e2ee": false,
                },
                "sdps": {},
            })
        });
        if let Value::Object(pc) = pc {
            info.extend(pc);
        }
        let pending = lock(&h.pending_candidates).len();
        if let Some(Value::Object(flags)) = info.get_mut("flags") {
            flags.insert("all-trickles".into(), json!(h.trickle_completed.load(Ordering::Relaxed)));
            // Candidates are never resent: each goes to the media engine once.
            flags.insert("resend-trickles".into(), json!(false));
            // The candidates that came before the SDP have been handed over with it.
            let got_sdp = ["got-offer", "got-answer"].iter().any(|k| flags.get(*k) == Some(&json!(true)));
            flags.insert("trickle-synced".into(), json!(got_sdp && pending == 0));
        }
        // Packets are never queued per handle: each goes straight into the peer's WebRTC stack.
        info.insert("queued-packets".into(), json!(0));
        info.insert("pending-trickles".into(), json!(pending));
        Value::Object(info)
    }
}

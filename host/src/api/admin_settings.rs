//! The admin API's global settings (janus-api.md §2.5): `get_status` and the `set_*` requests,
//! with Janus's fields, validation and replies.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::core::Core;
use super::envelope::Envelope;
use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields;
use crate::logging;

/// The highest Janus log level.
const LOG_MAX: u64 = 7;

impl Core {
    /// `get_status` and the `set_*` requests; `None` for any other request.
    pub(super) fn admin_setting(&self, env: &Envelope) -> Option<ApiResult<Value>> {
        let b = &env.body;
        let tunables = &self.inner.tunables;
        let reply = |fields: ApiResult<Value>| Some(fields.map(|f| self.success(env, f)));
        match env.verb.as_str() {
            "get_status" => reply(Ok(json!({"status": self.status()}))),
            "set_session_timeout" => reply(fields::req_u64(b, "timeout").map(|timeout| {
                self.inner.session_timeout.store(timeout, Ordering::Relaxed);
                json!({"timeout": timeout})
            })),
            "set_log_level" => reply(fields::req_u64(b, "level").and_then(|level| {
                if level > LOG_MAX {
                    return Err(ApiError::new(
                        ErrorCode::InvalidElementType,
                        format!("Invalid element type (level should be between 0 and {LOG_MAX})"),
                    ));
                }
                self.set_log_level(level as u8);
                Ok(json!({"level": level}))
            })),
            "set_log_timestamps" => reply(fields::req_bool(b, "timestamps").map(|on| {
                logging::set_timestamps(on);
                json!({"log_timestamps": on})
            })),
            "set_log_colors" => reply(fields::req_bool(b, "colors").map(|on| {
                logging::set_colors(on);
                json!({"log_colors": on})
            })),
            // Janus's C debugging aids: Portunus has no hand-made locks or reference counts to
            // trace, so they stay off, and the reply says so.
            verb @ ("set_locking_debug" | "set_refcount_debug") => {
                reply(fields::req_bool(b, "debug").map(|_| {
                    let name = if verb == "set_locking_debug" { "locking_debug" } else { "refcount_debug" };
                    json!({ name: false })
                }))
            }
            "set_libnice_debug" => reply(fields::req_bool(b, "debug").map(|on| {
                self.set_ice_debug(on);
                json!({"libnice_debug": on})
            })),
            "set_min_nack_queue" => reply(
                fields::req_u64(b, "min_nack_queue")
                    .map(|ms| json!({"min_nack_queue": tunables.set_min_nack_queue(ms)})),
            ),
            // str0m answers NACKs from its own cache, which a keyframe does not empty: the
            // optimization stays off, and the reply says so.
            "set_nack_optimizations" => {
                reply(fields::req_bool(b, "nack_optimizations").map(|_| json!({"nack-optimizations": false})))
            }
            "set_no_media_timer" => reply(fields::req_u64(b, "no_media_timer").map(|seconds| {
                tunables.set_no_media_timer(seconds);
                json!({"no_media_timer": seconds})
            })),
            "set_slowlink_threshold" => reply(fields::req_u64(b, "slowlink_threshold").map(|lost| {
                let lost = u32::try_from(lost).unwrap_or(u32::MAX);
                tunables.set_slowlink_threshold(lost);
                json!({"slowlink_threshold": lost})
            })),
            _ => None,
        }
    }

    /// `get_status`'s `status`: Janus's fields, and Portunus's own beside them.
    fn status(&self) -> Value {
        let g = &self.inner.general;
        let tunables = &self.inner.tunables;
        json!({
            "token_auth": self.inner.auth.token_auth(),
            "api_secret": self.inner.auth.has_api_secret(),
            "admin_secret": g.admin_secret.is_some(),
            "session_timeout": self.inner.session_timeout.load(Ordering::Relaxed),
            "reclaim_session_timeout": g.reclaim_session_timeout,
            "candidates_timeout": g.candidates_timeout,
            "log_level": self.inner.log_level.load(Ordering::Relaxed),
            "log_timestamps": logging::timestamps(),
            "log_colors": logging::colors(),
            "locking_debug": false,
            "refcount_debug": false,
            "libnice_debug": self.inner.ice_debug.load(Ordering::Relaxed),
            "min_nack_queue": tunables.min_nack_queue_ms(),
            "nack-optimizations": false,
            "no_media_timer": tunables.no_media_timer_s(),
            "slowlink_threshold": tunables.slowlink_threshold(),
            "accepting_new_sessions": self.inner.accept_new_sessions.load(Ordering::Relaxed),
            "sessions": self.session_count(),
            "plugins": self.plugins().status(),
        })
    }
}

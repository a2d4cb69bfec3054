//! Plugin-level errors, in Janus's shape.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};

use crate::{HandleRef, Reply};

/// A plugin-level failure: a plugin-specific code (EchoTest uses 411–414, VideoRoom 421–439, …)
/// and a text.
///
/// Janus does not report these as Janus API errors. The client gets them inside `plugindata`,
/// shaped `{"<plugin>": "event", "error_code": N, "error": "text"}`, either in the `success`
/// of a synchronous request ([`PluginError::into_reply`]) or in an event that follows an
/// `ack` ([`PluginError::push`]). `<plugin>` is the short name of the plugin: `echotest` for
/// `janus.plugin.echotest`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginError {
    /// The plugin-specific error code.
    pub code: u32,
    /// What went wrong, for the client.
    pub text: String,
}

impl PluginError {
    /// An error with this code and text.
    pub fn new(code: u32, text: impl Into<String>) -> Self {
        PluginError { code, text: text.into() }
    }

    /// Janus's text for a missing field: `Missing mandatory element (<name>)`.
    pub fn missing(code: u32, name: &str) -> Self {
        PluginError::new(code, format!("Missing mandatory element ({name})"))
    }

    /// Janus's text for a field of the wrong type:
    /// `Invalid element type (<name> should be <expected>)`, where `expected` reads like
    /// "a boolean" or "a positive integer".
    pub fn invalid_type(code: u32, name: &str, expected: &str) -> Self {
        PluginError::new(code, format!("Invalid element type ({name} should be {expected})"))
    }

    /// The error as the JSON object Janus plugins send:
    /// `{"<plugin>":"event","error_code":N,"error":"text"}`, keys in that order.
    ///
    /// `plugin` is the short name (`echotest`) or the package (`janus.plugin.echotest`); a
    /// package is shortened to its last part.
    pub fn to_json(&self, plugin: &str) -> String {
        let event = ErrorEvent { plugin: short_name(plugin), error: self };
        // Serialising strings and integers into a String cannot fail.
        serde_json::to_string(&event).unwrap_or_default()
    }

    /// This error as the plugin's error event, as a JSON value (an Admin API answer).
    pub fn to_json_value(&self, plugin: &str) -> crate::Value {
        let event = ErrorEvent { plugin: short_name(plugin), error: self };
        serde_json::to_value(&event).unwrap_or_default()
    }

    /// A synchronous reply carrying this error: the client gets `success` with the error object
    /// as `plugindata.data`, as Janus plugins do for errors found before they `ack`.
    pub fn into_reply(self, plugin: &str) -> Reply {
        Reply::Ok(self.to_json(plugin))
    }

    /// Pushes this error as an event to `handle`, tied to `transaction` (for the asynchronous
    /// answer to a request that was `ack`ed).
    pub fn push(&self, handle: HandleRef, transaction: Option<&str>, plugin: &str) -> Result<(), String> {
        crate::host::push_event(handle, transaction, &self.to_json(plugin), None)
    }

    /// As [`PluginError::push`], logging (not failing) when the host refuses the event.
    pub fn push_logged(&self, handle: HandleRef, transaction: Option<&str>, plugin: &str) {
        if let Err(e) = self.push(handle, transaction, plugin) {
            crate::warn!("[{}] could not push an error: {e}", handle.handle);
        }
    }
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (error {})", self.text, self.code)
    }
}

impl std::error::Error for PluginError {}

/// The short name Janus uses as the key of plugin data: the last dot-separated part of the
/// package (`janus.plugin.echotest` → `echotest`).
pub(crate) fn short_name(plugin: &str) -> &str {
    plugin.rsplit('.').next().unwrap_or(plugin)
}

/// Serialises an error with its keys in Janus's order (serde_json's `Value` would sort them).
struct ErrorEvent<'a> {
    plugin: &'a str,
    error: &'a PluginError,
}

impl Serialize for ErrorEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(3))?;
        map.serialize_entry(self.plugin, "event")?;
        map.serialize_entry("error_code", &self.error.code)?;
        map.serialize_entry("error", &self.error.text)?;
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_json_has_janus_shape_and_order() {
        let err = PluginError::new(413, "Invalid element type (audio should be a boolean)");
        assert_eq!(
            err.to_json("echotest"),
            r#"{"echotest":"event","error_code":413,"error":"Invalid element type (audio should be a boolean)"}"#
        );
        // A package name is shortened.
        assert_eq!(err.to_json("janus.plugin.echotest"), err.to_json("echotest"));
    }

    #[test]
    fn error_text_is_escaped() {
        let err = PluginError::new(412, "JSON error: \"quoted\"\n");
        let value: serde_json::Value = serde_json::from_str(&err.to_json("x")).unwrap();
        assert_eq!(value["error"], "JSON error: \"quoted\"\n");
        assert_eq!(value["error_code"], 412);
        assert_eq!(value["x"], "event");
    }

    #[test]
    fn janus_texts() {
        assert_eq!(PluginError::missing(456, "room").text, "Missing mandatory element (room)");
        assert_eq!(
            PluginError::invalid_type(413, "bitrate", "a positive integer").text,
            "Invalid element type (bitrate should be a positive integer)"
        );
        assert_eq!(PluginError::new(411, "No message??").to_string(), "No message?? (error 411)");
    }

    #[test]
    fn into_reply_is_a_sync_success() {
        let reply = PluginError::new(499, "Unknown request 'x'").into_reply("janus.plugin.t");
        assert_eq!(
            reply,
            Reply::Ok(r#"{"t":"event","error_code":499,"error":"Unknown request 'x'"}"#.into())
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(short_name("janus.plugin.videoroom"), "videoroom");
        assert_eq!(short_name("echotest"), "echotest");
        assert_eq!(short_name(""), "");
    }
}

//! Replies to `message` and events pushed to clients.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::short_name;
use crate::{HandleRef, Message, Reply};

/// A synchronous reply: the client gets `success` with `data` (a JSON object) as
/// `plugindata.data`.
///
/// Should `data` fail to serialise (a map with non-string keys, say), the reply is
/// [`Reply::Error`] with the reason, which the client sees as Janus error 462.
pub fn ok<T: Serialize + ?Sized>(data: &T) -> Reply {
    match serde_json::to_string(data) {
        Ok(json) => Reply::Ok(json),
        Err(err) => Reply::Error(format!("Plugin reply could not be serialised: {err}")),
    }
}

/// An asynchronous reply: the client gets `ack`, with `hint` when there is one
/// (EchoTest's is `"I'm taking my time!"`). Events pushed during the same call are delivered
/// after the `ack`.
pub fn ack(hint: Option<&str>) -> Reply {
    Reply::Ack(hint.map(str::to_owned))
}

/// A plugin event object: `{"<plugin>": "event", …fields}`.
///
/// `plugin` is the short name (`echotest`) or the package (`janus.plugin.echotest`), which is
/// shortened. `fields` is a JSON object (anything else is ignored), usually from [`json!`]:
///
/// ```
/// use portunus_sdk::{event, json};
/// let done = event("janus.plugin.echotest", json!({"result": "done"}));
/// assert_eq!(done, json!({"echotest": "event", "result": "done"}));
/// ```
///
/// [`json!`]: crate::json
pub fn event(plugin: &str, fields: Value) -> Value {
    tagged(plugin, "event", fields)
}

/// `{"<plugin's short name>": kind, …fields}`: an answer or event of any kind (`joined`,
/// `success`, `created`…), as Janus's plugins tag their data.
pub fn tagged(plugin: &str, kind: &str, fields: Value) -> Value {
    let mut object = Map::new();
    object.insert(short_name(plugin).to_owned(), Value::from(kind));
    if let Value::Object(fields) = fields {
        object.extend(fields);
    }
    Value::Object(object)
}

/// Sends an event to the client of `handle`: `event` (any `Serialize` that makes a JSON
/// object) becomes `plugindata.data`; `jsep` (JSON text, for instance what
/// [`host::answer`](crate::host::answer) returned) is attached when given. `transaction` ties the
/// event to the request it answers; `None` makes it unsolicited.
///
/// Errors: the event does not serialise, the handle is gone, or the host refused the event
/// (not an object, larger than `max_event_bytes`).
pub fn push_event<T: Serialize + ?Sized>(
    handle: HandleRef,
    transaction: Option<&str>,
    event: &T,
    jsep: Option<&str>,
) -> Result<(), String> {
    let json = serde_json::to_string(event).map_err(|err| format!("event: {err}"))?;
    crate::host::push_event(handle, transaction, &json, jsep)
}

/// [`push_event`], logging (not failing) when the host refuses the event: for events whose
/// refusal the plugin can do nothing about (the handle left meanwhile).
pub fn push_event_logged<T: Serialize + ?Sized>(
    handle: HandleRef,
    transaction: Option<&str>,
    event: &T,
    jsep: Option<&str>,
) {
    if let Err(err) = push_event(handle, transaction, event, jsep) {
        crate::warn!("[{}] could not push an event: {err}", handle.handle);
    }
}

/// Sends one event to many handles' clients (a room broadcast), serialised once; handles that
/// are gone are skipped. Returns how many handles it reached.
pub fn push_event_many<T: Serialize + ?Sized>(handles: &[HandleRef], event: &T) -> Result<u32, String> {
    let json = serde_json::to_string(event).map_err(|err| format!("event: {err}"))?;
    crate::host::push_event_many(handles, &json)
}

/// Janus's `notify_event`: tells the gateway's event handlers about `handle` (or about
/// nothing in particular), when they take plugin events; `data` is made only then. A refusal
/// (too large, not an object) is logged: event handlers are for monitoring, they never change
/// what the plugin does.
pub fn notify_event<T: Serialize>(handle: Option<HandleRef>, data: impl FnOnce() -> T) {
    if !crate::host::events_enabled() {
        return;
    }
    let refused = serde_json::to_string(&data())
        .map_err(|err| format!("data: {err}"))
        .and_then(|json| crate::host::notify_event(handle, &json));
    if let Err(err) = refused {
        crate::warn!("could not notify the event handlers: {err}");
    }
}

impl Message {
    /// Pushes an event that answers this message: to its handle, with its transaction (see
    /// [`push_event`]).
    pub fn push_event<T: Serialize + ?Sized>(&self, event: &T, jsep: Option<&str>) -> Result<(), String> {
        push_event(self.handle, Some(&self.transaction), event, jsep)
    }
}

impl Reply {
    /// Whether this is an `ack`.
    pub fn is_ack(&self) -> bool {
        matches!(self, Reply::Ack(_))
    }

    /// The JSON object of a synchronous reply, parsed; `None` for `ack` and errors.
    pub fn ok_value(&self) -> Option<Value> {
        match self {
            Reply::Ok(json) => serde_json::from_str(json).ok(),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    #[test]
    fn ok_serialises() {
        let reply = ok(&json!({"testfault": "pong", "count": 3}));
        let Reply::Ok(text) = &reply else { panic!("not ok: {reply:?}") };
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(text).unwrap(),
            json!({"count": 3, "testfault": "pong"})
        );
        assert_eq!(reply.ok_value().unwrap()["count"], 3);
        assert!(!reply.is_ack());
    }

    #[test]
    fn ok_reports_serialisation_failures() {
        let mut bad = HashMap::new();
        bad.insert(vec![1u8], 1);
        assert!(matches!(ok(&bad), Reply::Error(text) if text.contains("serialised")));
    }

    #[test]
    fn ack_carries_the_hint() {
        assert_eq!(ack(Some("I'm taking my time!")), Reply::Ack(Some("I'm taking my time!".into())));
        assert_eq!(ack(None), Reply::Ack(None));
        assert!(ack(None).is_ack());
        assert_eq!(ack(None).ok_value(), None);
    }

    #[test]
    fn event_builds_plugin_objects() {
        assert_eq!(event("echotest", json!({"result": "ok"})), json!({"echotest": "event", "result": "ok"}));
        assert_eq!(event("janus.plugin.testfault", Value::Null), json!({"testfault": "event"}));
    }
}

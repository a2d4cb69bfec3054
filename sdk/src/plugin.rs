//! The [`Plugin`] trait and the [`export_plugin!`](crate::export_plugin!) macro.

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use crate::{HandleRef, MediaEvent, Message, PluginInfo, Reply, StateChange, StateEntry};

/// The key under which the default [`Plugin::checkpoint`] saves the whole plugin value.
pub const WHOLE_STATE_KEY: &str = "state";

/// A plugin, as a Rust value that holds its state.
///
/// [`export_plugin!`](crate::export_plugin!) makes one instance (`Default::default()`) per
/// WebAssembly instance and routes every export to it; calls never overlap, so `&mut self`
/// needs no lock. Only [`init`](Plugin::init) and [`handle_message`](Plugin::handle_message)
/// are required; the rest default to doing nothing.
///
/// The type derives `Serialize` and `Deserialize`: the default [`checkpoint`](Plugin::checkpoint)
/// and [`restore`](Plugin::restore) save and load the whole value, so state survives hot
/// reloads and crashes without further code (see the crate documentation for the rules).
/// A plugin whose state grows with its rooms or handles keeps it in [`Keyed`](crate::Keyed)
/// maps and overrides both, so that saving costs what a call changed.
pub trait Plugin: Default + Serialize + DeserializeOwned + 'static {
    /// Called once, first, with the plugin's configuration (`janus.plugin.<name>.jcfg` as JSON;
    /// `{}` when there is none). Returns what Janus lists in `info`; the package name must be
    /// the same in every version. An error stops the plugin from loading (or a new version
    /// from replacing the running one).
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String>;

    /// Janus `attach`: a new handle. An error refuses the attach (461 with the text).
    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        let _ = handle;
        Ok(())
    }

    /// Janus `message`: answer with [`ok`](crate::ok) (synchronous), [`ack`](crate::ack)
    /// (asynchronous, events follow) or [`Reply::Error`] (Janus error 462). Plugin-level
    /// errors go in the data: [`PluginError::into_reply`](crate::PluginError::into_reply) or
    /// [`PluginError::push`](crate::PluginError::push).
    fn handle_message(&mut self, msg: Message) -> Reply;

    /// Admin API `message_plugin`: a JSON request, a JSON response. By default the plugin
    /// refuses them.
    fn handle_admin_message(&mut self, request: Value) -> Result<Value, String> {
        let _ = request;
        Err("Plugin doesn't support Admin API messages".to_owned())
    }

    /// Something happened to a handle's media (`webrtc-up`, `hangup`, …).
    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        let _ = (handle, event);
    }

    /// A data-channel message from a handle's client (`label` is the channel; `is_text` tells
    /// a text message from a binary one).
    fn incoming_data(&mut self, handle: HandleRef, label: Option<String>, data: Vec<u8>, is_text: bool) {
        let _ = (handle, label, data, is_text);
    }

    /// A timer set with [`host::set_timer`](crate::host::set_timer) fired.
    fn timer(&mut self, token: u64) {
        let _ = token;
    }

    /// Packets stopped or started arriving on a stream of an RTP input
    /// ([`host::rtp_input_open`](crate::host::rtp_input_open)).
    fn input_media(&mut self, input: u64, mid: String, receiving: bool) {
        let _ = (input, mid, receiving);
    }

    /// The RTSP source of an input (`input-options.rtsp`) plays (with the streams it got) or
    /// was lost (why; the host connects again).
    fn input_source(&mut self, input: u64, state: crate::SourceState) {
        let _ = (input, state);
    }

    /// A mixer's recording ([`host::mixer_record`](crate::host::mixer_record)) stopped because
    /// writing failed: why.
    fn mixer_record_failed(&mut self, mixer: u64, why: String) {
        let _ = (mixer, why);
    }

    /// A datagram arrived on a socket opened with [`host::udp_bind`](crate::host::udp_bind).
    fn datagram(&mut self, socket: u32, from: String, data: Vec<u8>) {
        let _ = (socket, from, data);
    }

    /// The handle is gone (detach, session destroyed or timed out); its forwarding rules are
    /// already removed.
    fn destroy_handle(&mut self, handle: HandleRef) {
        let _ = handle;
    }

    /// The handle's plugin-specific state for admin `handle_info`, a JSON object (`{}` by
    /// default).
    fn query_handle(&self, handle: HandleRef) -> Value {
        let _ = handle;
        Value::Object(Default::default())
    }

    /// What changed in the state since the last checkpoint, for hot reload and crash recovery
    /// (all of it with `full`). By default the whole value, as JSON, under
    /// [`WHOLE_STATE_KEY`]: fine for a small state, but it costs the whole state after every
    /// busy moment. A plugin with rooms or many handles keeps them in [`Keyed`](crate::Keyed)
    /// maps and writes only what changed:
    ///
    /// ```
    /// # use portunus_sdk::{Plugin, PluginInfo, Message, Reply, Keyed, Saved, StateChange, StateEntry};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct Rooms {
    ///     rooms: Keyed<u64, String>,
    ///     next_id: Saved<u64>,
    /// }
    /// impl Plugin for Rooms {
    /// #   fn init(&mut self, _: &serde_json::Value) -> Result<PluginInfo, String> { Err(String::new()) }
    /// #   fn handle_message(&mut self, _: Message) -> Reply { Reply::Ack(None) }
    ///     fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
    ///         let mut out = Vec::new();
    ///         self.rooms.save("room/", full, &mut out);
    ///         self.next_id.save("next_id", full, &mut out);
    ///         out
    ///     }
    ///     fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
    ///         self.rooms.load("room/", &entries)?;
    ///         self.next_id.load("next_id", &entries)
    ///     }
    /// }
    /// ```
    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let _ = full;
        vec![StateChange { key: WHOLE_STATE_KEY.to_owned(), value: Some(crate::snapshot_of(self)) }]
    }

    /// Loads the saved state (the entries [`checkpoint`](Plugin::checkpoint) wrote, possibly
    /// by an older version); called after [`init`](Plugin::init). An error keeps the old
    /// version running (reload) or starts from the state `init` left (crash recovery).
    ///
    /// By default the entry [`WHOLE_STATE_KEY`] replaces `self` whole, so fields marked
    /// `#[serde(skip)]` (settings `init` derived from the configuration, say) come back as
    /// their `Default`. To keep them, override:
    ///
    /// ```
    /// # use portunus_sdk::{Plugin, PluginInfo, Message, Reply, StateEntry, restore_into};
    /// # use serde::{Deserialize, Serialize};
    /// #[derive(Default, Serialize, Deserialize)]
    /// struct MyPlugin {
    ///     rooms: Vec<u64>,
    ///     #[serde(skip)]
    ///     config: serde_json::Value,
    /// }
    /// impl Plugin for MyPlugin {
    /// #   fn init(&mut self, _: &serde_json::Value) -> Result<PluginInfo, String> { Err(String::new()) }
    /// #   fn handle_message(&mut self, _: Message) -> Reply { Reply::Ack(None) }
    ///     fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
    ///         let Some(saved) = entries.iter().find(|e| e.key == portunus_sdk::WHOLE_STATE_KEY) else {
    ///             return Ok(());
    ///         };
    ///         let mut restored: Self = restore_into(&saved.value)?;
    ///         restored.config = std::mem::take(&mut self.config);
    ///         *self = restored;
    ///         Ok(())
    ///     }
    /// }
    /// ```
    ///
    /// Without that entry (nothing saved yet, or a version that kept no state) `self` stays as
    /// it is.
    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        match entries.iter().find(|e| e.key == WHOLE_STATE_KEY) {
            Some(e) => {
                *self = crate::restore_into(&e.value)?;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

/// Exports a [`Plugin`] as the component's implementation of the `plugin` world.
///
/// Use it once, in the plugin crate (a `cdylib` built for `wasm32-wasip2`), with the plugin
/// type, which implements [`Plugin`]:
///
/// ```ignore
/// portunus_sdk::export_plugin!(MyPlugin);
/// ```
///
/// It keeps one `MyPlugin` (made with `Default`) per instance and turns the JSON strings of the
/// WIT functions into `serde_json::Value`s. To implement the generated [`Guest`](crate::Guest)
/// trait yourself instead, use [`export_guest!`](crate::export_guest).
#[macro_export]
macro_rules! export_plugin {
    ($plugin:ty) => {
        const _: () = {
            ::std::thread_local! {
                static PORTUNUS_PLUGIN: ::core::cell::RefCell<$plugin> =
                    ::core::cell::RefCell::new(<$plugin as ::core::default::Default>::default());
            }

            fn with_plugin<R>(f: impl ::core::ops::FnOnce(&mut $plugin) -> R) -> R {
                PORTUNUS_PLUGIN.with(|cell| f(&mut cell.borrow_mut()))
            }

            struct PortunusGuest;

            impl $crate::Guest for PortunusGuest {
                fn init(
                    config: ::std::string::String,
                ) -> ::core::result::Result<$crate::PluginInfo, ::std::string::String> {
                    with_plugin(|p| $crate::__rt::init(p, &config))
                }
                fn create_handle(
                    handle: $crate::HandleRef,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    with_plugin(|p| $crate::Plugin::create_handle(p, handle))
                }
                fn handle_message(msg: $crate::Message) -> $crate::Reply {
                    with_plugin(|p| $crate::Plugin::handle_message(p, msg))
                }
                fn handle_admin_message(
                    request: ::std::string::String,
                ) -> ::core::result::Result<::std::string::String, ::std::string::String> {
                    with_plugin(|p| $crate::__rt::handle_admin_message(p, &request))
                }
                fn media_event(handle: $crate::HandleRef, event: $crate::MediaEvent) {
                    with_plugin(|p| $crate::Plugin::media_event(p, handle, event))
                }
                fn incoming_data(
                    handle: $crate::HandleRef,
                    label: ::core::option::Option<::std::string::String>,
                    data: ::std::vec::Vec<u8>,
                    is_text: bool,
                ) {
                    with_plugin(|p| $crate::Plugin::incoming_data(p, handle, label, data, is_text))
                }
                fn timer(token: u64) {
                    with_plugin(|p| $crate::Plugin::timer(p, token))
                }
                fn input_media(input: u64, mid: ::std::string::String, receiving: bool) {
                    with_plugin(|p| $crate::Plugin::input_media(p, input, mid, receiving))
                }
                fn input_source(input: u64, state: $crate::SourceState) {
                    with_plugin(|p| $crate::Plugin::input_source(p, input, state))
                }
                fn mixer_record_failed(mixer: u64, why: ::std::string::String) {
                    with_plugin(|p| $crate::Plugin::mixer_record_failed(p, mixer, why))
                }
                fn datagram(socket: u32, from: ::std::string::String, data: ::std::vec::Vec<u8>) {
                    with_plugin(|p| $crate::Plugin::datagram(p, socket, from, data))
                }
                fn destroy_handle(handle: $crate::HandleRef) {
                    with_plugin(|p| $crate::Plugin::destroy_handle(p, handle))
                }
                fn query_handle(handle: $crate::HandleRef) -> ::std::string::String {
                    with_plugin(|p| $crate::__rt::query_handle(p, handle))
                }
                fn checkpoint(full: bool) -> ::std::vec::Vec<$crate::StateChange> {
                    with_plugin(|p| $crate::Plugin::checkpoint(p, full))
                }
                fn restore(
                    entries: ::std::vec::Vec<$crate::StateEntry>,
                ) -> ::core::result::Result<(), ::std::string::String> {
                    with_plugin(|p| $crate::Plugin::restore(p, entries))
                }
            }

            $crate::export_guest! { PortunusGuest with_types_in $crate::bindings }
        };
    };
}

/// The JSON plumbing behind [`export_plugin!`](crate::export_plugin!); not a stable API.
pub mod rt {
    use super::Plugin;
    use crate::{HandleRef, PluginInfo};
    use serde_json::Value;

    /// `init`: parses the configuration (empty text counts as `{}`).
    pub fn init<P: Plugin>(plugin: &mut P, config: &str) -> Result<PluginInfo, String> {
        let config = if config.trim().is_empty() {
            Value::Object(Default::default())
        } else {
            serde_json::from_str(config).map_err(|err| format!("invalid configuration: {err}"))?
        };
        plugin.init(&config)
    }

    /// `handle-admin-message`: JSON text in and out.
    pub fn handle_admin_message<P: Plugin>(plugin: &mut P, request: &str) -> Result<String, String> {
        let request: Value =
            serde_json::from_str(request).map_err(|err| format!("invalid request: {err}"))?;
        let response = plugin.handle_admin_message(request)?;
        serde_json::to_string(&response).map_err(|err| format!("invalid response: {err}"))
    }

    /// `query-handle`: JSON text out.
    pub fn query_handle<P: Plugin>(plugin: &P, handle: HandleRef) -> String {
        serde_json::to_string(&plugin.query_handle(handle)).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::rt;
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Default, Serialize, Deserialize)]
    struct Counter {
        count: u32,
        #[serde(skip)]
        config: Value,
    }

    impl Plugin for Counter {
        fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
            if config["general"]["fail"] == json!(true) {
                return Err("told to fail".into());
            }
            self.config = config.clone();
            Ok(PluginInfo {
                package: "janus.plugin.counter".into(),
                name: "Counter".into(),
                author: "test".into(),
                description: "counts".into(),
                version: 1,
                version_string: "0.0.1".into(),
            })
        }

        fn handle_message(&mut self, _msg: Message) -> Reply {
            self.count += 1;
            crate::ok(&json!({ "count": self.count }))
        }

        fn query_handle(&self, handle: HandleRef) -> Value {
            json!({ "handle": handle.handle, "count": self.count })
        }
    }

    fn msg() -> Message {
        Message {
            handle: HandleRef { session: 1, handle: 2 },
            transaction: "t".into(),
            body: "{}".into(),
            jsep: None,
        }
    }

    #[test]
    fn init_parses_config() {
        let mut p = Counter::default();
        assert_eq!(rt::init(&mut p, "").unwrap().package, "janus.plugin.counter");
        assert_eq!(p.config, json!({}));
        rt::init(&mut p, r#"{"general":{"x":1}}"#).unwrap();
        assert_eq!(p.config["general"]["x"], 1);
        assert_eq!(rt::init(&mut p, r#"{"general":{"fail":true}}"#).unwrap_err(), "told to fail");
        assert!(rt::init(&mut p, "{").unwrap_err().starts_with("invalid configuration"));
    }

    #[test]
    fn defaults() {
        let mut p = Counter::default();
        let h = msg().handle;
        assert!(p.create_handle(h).is_ok());
        assert!(rt::handle_admin_message(&mut p, "{}").is_err());
        assert!(rt::handle_admin_message(&mut p, "nope").unwrap_err().starts_with("invalid request"));
        p.media_event(h, MediaEvent::WebrtcUp);
        p.incoming_data(h, None, vec![1], false);
        p.timer(1);
        p.datagram(1, "127.0.0.1:1".into(), vec![]);
        p.destroy_handle(h);
        let q: serde_json::Value = serde_json::from_str(&rt::query_handle(&p, h)).unwrap();
        assert_eq!(q, serde_json::json!({"count": 0, "handle": 2}));
    }

    #[test]
    fn snapshot_and_restore_round_trip() {
        let mut old = Counter::default();
        rt::init(&mut old, r#"{"v":1}"#).unwrap();
        old.handle_message(msg());
        old.handle_message(msg());
        let saved: Vec<StateEntry> = old
            .checkpoint(false)
            .into_iter()
            .map(|c| StateEntry { key: c.key, value: c.value.unwrap() })
            .collect();
        assert_eq!(saved.len(), 1);

        let mut new = Counter::default();
        rt::init(&mut new, r#"{"v":2}"#).unwrap();
        new.restore(saved).unwrap();
        assert_eq!(new.count, 2);
        // The default restore replaces the value: skipped fields are reset.
        assert_eq!(new.config, Value::Null);
        assert_eq!(new.handle_message(msg()).ok_value().unwrap()["count"], 3);

        // No saved state is ignored; garbage is an error that leaves the state alone.
        new.restore(Vec::new()).unwrap();
        assert_eq!(new.count, 3);
        let garbage = StateEntry { key: WHOLE_STATE_KEY.into(), value: b"garbage".to_vec() };
        assert!(new.restore(vec![garbage]).is_err());
        assert_eq!(new.count, 3);
    }
}

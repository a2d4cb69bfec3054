//! # portunus-sdk
//!
//! Everything a Rust author needs to write a Portunus plugin: a WebAssembly component (target
//! `wasm32-wasip2`) that implements the `portunus:plugin/plugin` world in `wit/plugin.wit` and
//! speaks the Janus plugin API.
//!
//! The crate has two layers:
//!
//! - **[`bindings`]**: the bindings `wit-bindgen` generates for the world. The records and
//!   variants ([`Message`], [`Reply`], [`MediaEvent`], …) are re-exported at the crate root, the
//!   host functions are in [`host`], and [`export_guest!`] exports a raw [`Guest`]
//!   implementation.
//! - **Typed helpers** on top: the [`Plugin`] trait and [`export_plugin!`] (state kept for you,
//!   saved through serde, [`Keyed`] and [`Saved`] for state whose saving costs what changed), Janus-style body validation ([`Field`], [`ErrorCodes`],
//!   [`Message::parse_body`]), plugin errors ([`PluginError`]), replies ([`ok`], [`ack`]),
//!   events ([`push_event`], [`event`]), JSEP ([`Jsep`]) and logging ([`info!`] and friends).
//!
//! ## A plugin in a few lines
//!
//! ```no_run
//! use portunus_sdk::{ack, event, json, ErrorCodes, Field, HandleRef, JsonType, Message,
//!                    Plugin, PluginInfo, Reply};
//! use serde::{Deserialize, Serialize};
//! use std::collections::HashMap;
//!
//! const PACKAGE: &str = "janus.plugin.hello";
//! const CODES: ErrorCodes = ErrorCodes { invalid_json: 401, missing_element: 402, invalid_element: 403 };
//! const FIELDS: &[Field] = &[Field::new("name", JsonType::String).nonempty()];
//!
//! /// Everything here survives a hot reload: `checkpoint`/`restore` come from serde.
//! #[derive(Default, Serialize, Deserialize)]
//! struct Hello {
//!     greeted: HashMap<u64, u32>,
//! }
//!
//! #[derive(Deserialize)]
//! struct Body {
//!     name: Option<String>,
//! }
//!
//! impl Plugin for Hello {
//!     fn init(&mut self, _config: &serde_json::Value) -> Result<PluginInfo, String> {
//!         Ok(PluginInfo {
//!             package: PACKAGE.into(),
//!             name: "Hello plugin".into(),
//!             author: "me".into(),
//!             description: "Greets".into(),
//!             version: 1,
//!             version_string: "0.0.1".into(),
//!         })
//!     }
//!
//!     fn handle_message(&mut self, msg: Message) -> Reply {
//!         // Janus texts: "Invalid element type (name should be a non-empty string)", …
//!         let body: Body = match msg.parse_body(FIELDS, &CODES) {
//!             Ok(body) => body,
//!             Err(err) => return err.into_reply(PACKAGE),
//!         };
//!         let count = self.greeted.entry(msg.handle.handle).or_default();
//!         *count += 1;
//!         let name = body.name.unwrap_or_else(|| "stranger".into());
//!         // Asynchronous answer: `ack` now, the event (same transaction) right after.
//!         let _ = msg.push_event(&event(PACKAGE, json!({"hello": name, "count": *count})), None);
//!         ack(None)
//!     }
//!
//!     fn destroy_handle(&mut self, handle: HandleRef) {
//!         self.greeted.remove(&handle.handle);
//!     }
//! }
//!
//! portunus_sdk::export_plugin!(Hello);
//! ```
//!
//! Build it as a `cdylib` for `wasm32-wasip2`; the `.wasm` file cargo writes is the component.
//!
//! ## State, crashes and hot reload
//!
//! The host keeps a copy of each plugin's state as entries (a key and a value). Whenever the
//! plugin's mailbox runs dry (and every 100 ms under constant load) it calls `checkpoint`, which
//! returns what changed since the last one, and merges it. After a crash (a trap, a CPU or
//! memory limit) it starts a new instance, calls `init`, then `restore` with every entry, and
//! replays the handles attached or detached since; a hot reload does the same with the new
//! version, after a last `checkpoint` of the old one. So a crash loses at most the calls since
//! the last checkpoint, and a reload loses nothing.
//!
//! By default ([`Plugin::checkpoint`], [`Plugin::restore`]) the whole plugin value is one entry,
//! as JSON through [`snapshot_of`] and [`restore_into`]: no code needed, but every checkpoint
//! costs the whole state. A plugin with rooms or many handles keeps them in [`Keyed`] maps (and
//! single values in [`Saved`]), which remember what changed, and overrides both methods (see
//! [`Plugin::checkpoint`]); then a request costs the same with 10 handles or 10,000. Rules
//! for state that must survive a version change:
//!
//! - add new fields with `#[serde(default)]`, so state saved by older versions still loads;
//! - never reuse a field name or key with a different meaning;
//! - fields marked `#[serde(skip)]` come back as their `Default` after the default `restore`:
//!   override [`Plugin::restore`] to carry them over (see its documentation);
//! - media forwarding rules and timers live in the host and survive reloads and crashes: keep
//!   their ids in the state.

#![deny(missing_docs)]
#![deny(unsafe_code)]

// Lets the generated code (and the export macros) name this crate `portunus_sdk` from inside it.
extern crate self as portunus_sdk;

/// The bindings `wit-bindgen` generates for the `plugin` world of `wit/plugin.wit`.
///
/// The types are re-exported at the crate root and the host functions as [`crate::host`];
/// reach in here only for something the re-exports miss.
#[allow(missing_docs, unsafe_code, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "plugin",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_guest",
        default_bindings_module: "portunus_sdk::bindings",
        runtime_path: "portunus_sdk::__wit_bindgen::rt",
        additional_derives: [PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize],
    });
}

#[doc(hidden)]
pub use wit_bindgen as __wit_bindgen;

pub use bindings::export_guest;
pub use bindings::portunus::plugin::host;
pub use bindings::portunus::plugin::types::{
    AnswerPolicy, Direction, DtmfEvent, Endpoint, ForwardOptions, ForwardSource, HandleRef, InputLocal,
    InputOptions, InputStream, LayerChange, LegCodec, LegLocal, LegOptions, LegRemote, LogLevel, MediaEvent,
    MediaKind, MediaState, Message, MixCodec, MixSettings, NegotiationDone, NegotiationResult, OfferedStream,
    PlaceholderStream, PluginInfo, Reply, RtpExtensions, RtpTarget, RtspSource, SipService, SipTransport,
    SlowLink, SourceState, SrtpKey, SrtpSuite, StateChange, StateEntry, StreamDirection, StreamInfo,
    UdpSocket,
};
pub use bindings::Guest;

impl Default for MixSettings {
    /// A participant heard and hearing, at its own volume, mono-centred, in no group, its mix
    /// encoded as the encoder chooses (complexity 4, Janus's default `quality`).
    fn default() -> Self {
        Self {
            muted: false,
            deaf: false,
            suspended: false,
            gain_percent: 100,
            bitrate: 0,
            complexity: 4,
            expected_loss: 0,
            dtx: false,
            group: 0,
            hears_group: 0,
            pan: 50,
            talk_packets: 0,
            talk_threshold: 25,
            prebuffer: 0,
        }
    }
}

pub use serde_json::{json, Value};

pub mod allowed;
mod body;
pub mod bridge;
mod error;
mod events;
pub mod files;
pub mod forwarders;
mod jsep;
mod logging;
pub mod plain_sdp;
mod plugin;
pub mod rooms;
pub mod rtp_target;
mod state;

pub use body::{
    admin_answer, parse_body, parse_object, request_of, validate, ErrorCodes, Field, JsonType, Request,
};
pub use error::PluginError;
pub use events::{ack, event, notify_event, ok, push_event, push_event_logged, push_event_many, tagged};
pub use jsep::Jsep;
pub use logging::log;
pub use plugin::{Plugin, WHOLE_STATE_KEY};
pub use rooms::{Id, RoomsConfig};
pub use state::{restore_into, snapshot_of, try_snapshot_of, Keyed, Saved};

#[doc(hidden)]
pub mod __rt {
    pub use crate::plugin::rt::*;
}

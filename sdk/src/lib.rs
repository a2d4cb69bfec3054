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
//!   `snapshot`/`restore` from serde), Janus-style body validation ([`Field`], [`ErrorCodes`],
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
//! /// Everything here survives a hot reload: `snapshot`/`restore` come from serde.
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
//! ## State and hot reload
//!
//! The host replaces a plugin without dropping sessions: it calls `snapshot` on the running
//! instance, starts the new version, calls `init` and then `restore` with the bytes. A type that
//! implements [`Plugin`] derives `Serialize` and `Deserialize`, and the default
//! [`Plugin::snapshot`] and [`Plugin::restore`] do the rest (JSON through [`snapshot_of`] and
//! [`restore_into`]). Rules for state that must survive a version change:
//!
//! - add new fields with `#[serde(default)]`, so snapshots of older versions still load;
//! - never reuse a field name with a different meaning;
//! - fields marked `#[serde(skip)]` come back as their `Default` after `restore`: override
//!   [`Plugin::restore`] to carry them over (see its documentation);
//! - media forwarding rules live in the host and survive reloads: keep their ids in the state.
//!
//! The same snapshot is used after a crash (a trap, a CPU or memory limit): the host rebuilds
//! the instance from the last snapshot and replays its handles.

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
    AnswerPolicy, Direction, ForwardOptions, ForwardSource, HandleRef, LayerChange, LogLevel, MediaEvent,
    MediaKind, MediaState, Message, OfferResult, OfferedStream, PluginInfo, Reply, SlowLink, StreamInfo,
};
pub use bindings::Guest;

pub use serde_json::{json, Value};

mod body;
mod error;
mod events;
mod jsep;
mod logging;
mod plugin;
mod state;

pub use body::{parse_body, parse_object, request_of, validate, ErrorCodes, Field, JsonType};
pub use error::PluginError;
pub use events::{ack, event, ok, push_event};
pub use jsep::Jsep;
pub use logging::log;
pub use plugin::Plugin;
pub use state::{restore_into, snapshot_of, try_snapshot_of};

#[doc(hidden)]
pub mod __rt {
    pub use crate::plugin::rt::*;
}

//! A Portunus plugin in Rust: copy this folder to start one (see docs/plugins.md).
//!
//! `janus.plugin.hello` answers `{"request": "hello", "name": "..."}` with a greeting and how
//! many greetings the handle got; the count is saved state, so it survives hot reloads and
//! crashes.

#![deny(missing_docs)]

use portunus_sdk::{
    json, ok, ErrorCodes, Field, HandleRef, JsonType, Keyed, Message, Plugin, PluginError, PluginInfo, Reply,
    StateChange, StateEntry, Value,
};
use serde::{Deserialize, Serialize};

const PACKAGE: &str = "janus.plugin.hello";
const CODES: ErrorCodes = ErrorCodes { invalid_json: 490, missing_element: 491, invalid_element: 492 };
const FIELDS: &[Field] =
    &[Field::new("request", JsonType::String).required(), Field::new("name", JsonType::String).nonempty()];

/// The request, once [`FIELDS`] accepted it.
#[derive(Deserialize)]
struct Request {
    request: String,
    name: Option<String>,
}

/// The plugin: handle id → greetings so far, saved per handle.
#[derive(Default, Serialize, Deserialize)]
pub struct Hello {
    greetings: Keyed<u64, u64>,
}

impl Hello {
    fn greet(&mut self, msg: &Message) -> Result<Value, PluginError> {
        let body: Request = msg.parse_body(FIELDS, &CODES)?;
        if body.request != "hello" {
            return Err(PluginError::new(493, format!("Unknown request '{}'", body.request)));
        }
        let count = self.greetings.get(&msg.handle.handle).copied().unwrap_or(0) + 1;
        self.greetings.insert(msg.handle.handle, count);
        let name = body.name.as_deref().unwrap_or("world");
        portunus_sdk::info!("greeting {name}");
        Ok(json!({"hello": "greeting", "text": format!("Hello, {name}!"), "count": count}))
    }
}

impl Plugin for Hello {
    fn init(&mut self, _config: &Value) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: "Hello".to_owned(),
            author: String::new(),
            description: "Greets whoever asks".to_owned(),
            version: 1,
            version_string: "0.0.1".to_owned(),
        })
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        match self.greet(&msg) {
            Ok(answer) => ok(&answer),
            Err(err) => {
                // As the Python and JavaScript SDKs do: an `ack`, then the error as an event.
                err.push_logged(msg.handle, Some(&msg.transaction), PACKAGE);
                portunus_sdk::ack(None)
            }
        }
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.greetings.remove(&handle.handle);
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.greetings.save("greetings/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.greetings.load("greetings/", &entries)
    }
}

portunus_sdk::export_plugin!(Hello);

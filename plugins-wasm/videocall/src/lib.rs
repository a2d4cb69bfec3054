//! `janus.plugin.videocall`: one-to-one calls, as Janus's VideoCall.
//!
//! Users `register` a name; `call` with an offer rings another user (`incomingcall`, with an
//! offer), who answers with `accept`; then each one's audio, video and data reach the other.
//! `set` changes what a user sends (`audio`, `video`, `bitrate`) and which simulcast layers it
//! gets (`substream`, `temporal`); with an offer it renegotiates, and streams it adds are offered
//! to the peer (`update`), who answers with `set`. `hangup` ends the call for both.
//!
//! Janus relays the caller's SDP to the callee; here the gateway ends each PeerConnection: it
//! answers the caller's offer (held until the callee accepts) and offers the callee the
//! caller's streams both ways, in the caller's codecs (the host's `two-way` offered streams).
//! Media goes through forwarding rules in the host, both ways; the plugin never sees a
//! packet. Data-channel messages are relayed by the plugin.
//!
//! Requests, events and error codes are Janus 1.1's (`janus-api.md` §4.7). Not supported:
//! recording (`record: true` is refused with a clear 499).

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod call;

use portunus_sdk::{
    json, ErrorCodes, Field, HandleRef, JsonType, Keyed, MediaEvent, Message, Plugin, PluginError,
    PluginInfo, Reply, StateChange, StateEntry, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use call::{Call, Pending};

const PACKAGE: &str = "janus.plugin.videocall";
const NAME: &str = "JANUS VideoCall plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str =
    "This is a simple video call plugin for Janus, allowing two WebRTC peers to call each other through a server.";

/// Janus's VideoCall error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 470;
    pub const INVALID_JSON: u32 = 471;
    pub const INVALID_REQUEST: u32 = 472;
    pub const REGISTER_FIRST: u32 = 473;
    pub const INVALID_ELEMENT: u32 = 474;
    pub const MISSING_ELEMENT: u32 = 475;
    pub const USERNAME_TAKEN: u32 = 476;
    pub const ALREADY_REGISTERED: u32 = 477;
    pub const NO_SUCH_USERNAME: u32 = 478;
    pub const USE_ECHO_TEST: u32 = 479;
    pub const ALREADY_IN_CALL: u32 = 480;
    pub const NO_CALL: u32 = 481;
    pub const MISSING_SDP: u32 = 482;
    pub const INVALID_SDP: u32 = 483;
}

const CODES: ErrorCodes = ErrorCodes {
    invalid_json: code::INVALID_JSON,
    missing_element: code::MISSING_ELEMENT,
    invalid_element: code::INVALID_ELEMENT,
};

/// A handle of the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct User {
    handle: HandleRef,
    /// Its registered name.
    username: Option<String>,
    /// What it sends to its peer (`set`).
    audio: bool,
    video: bool,
    /// The simulcast layers it wants of its peer's video (`set`).
    substream: Option<u8>,
    temporal: Option<u8>,
    call: Option<Call>,
}

/// The plugin. Every map is saved per entry, so a checkpoint costs what a request touched.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoCall {
    /// Registered names → handle.
    names: Keyed<String, u64>,
    users: Keyed<u64, User>,
    /// Negotiations the host is doing: (handle, negotiation id).
    pending: Keyed<(u64, u64), Pending>,
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

/// `{"videocall": "event", "result": result}`.
fn result(result: Value) -> Value {
    json!({"videocall": "event", "result": result})
}

/// Pushes an event, logging (not failing) when the host refuses it.
fn push(handle: HandleRef, transaction: Option<&str>, data: &Value, jsep: Option<&str>) {
    if let Err(e) = portunus_sdk::push_event(handle, transaction, data, jsep) {
        portunus_sdk::warn!("[{}] could not push an event: {e}", handle.handle);
    }
}

/// A field of a validated body.
fn str_of<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

impl VideoCall {
    fn user(&self, handle: u64) -> Option<&User> {
        self.users.get(&handle)
    }

    fn user_mut(&mut self, handle: u64) -> Option<&mut User> {
        self.users.get_mut(&handle)
    }

    /// A request; `Ok` once its event went out (or will, with a JSEP).
    fn process(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("request", JsonType::String).required()], &CODES)?;
        let handle = msg.handle;
        let request = str_of(body, "request").unwrap_or_default().to_ascii_lowercase();
        let transaction = Some(msg.transaction.as_str());
        match request.as_str() {
            "list" => {
                let list: Vec<&String> = self.names.keys().collect();
                push(handle, transaction, &result(json!({ "list": list })), None);
                Ok(())
            }
            "register" => {
                // Already registered is checked first, as in Janus.
                if let Some(name) = self.user(handle.handle).and_then(|u| u.username.as_ref()) {
                    return Err(err(code::ALREADY_REGISTERED, format!("Already registered ({name})")));
                }
                portunus_sdk::validate(body, &[Field::new("username", JsonType::String).required()], &CODES)?;
                let username = str_of(body, "username").unwrap_or_default().to_owned();
                if self.names.contains_key(&username) {
                    return Err(err(code::USERNAME_TAKEN, format!("Username '{username}' already taken")));
                }
                self.names.insert(username.clone(), handle.handle);
                if let Some(u) = self.user_mut(handle.handle) {
                    u.username = Some(username.clone());
                }
                push(
                    handle,
                    transaction,
                    &result(json!({"event": "registered", "username": username})),
                    None,
                );
                Ok(())
            }
            "call" => self.call(msg, body),
            "accept" => self.accept(msg),
            "set" => self.set(msg, body),
            "hangup" => {
                let reason = str_of(body, "reason").unwrap_or("We did the hangup");
                self.hang_up(handle, Some("Explicit hangup"), reason, transaction);
                Ok(())
            }
            other => Err(err(code::INVALID_REQUEST, format!("Unknown request ({other})"))),
        }
    }
}

impl Plugin for VideoCall {
    fn init(&mut self, _config: &Value) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: 6,
            version_string: "0.0.6".to_owned(),
        })
    }

    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        if !self.users.contains_key(&handle.handle) {
            let user = User {
                handle,
                username: None,
                audio: true,
                video: true,
                substream: None,
                temporal: None,
                call: None,
            };
            self.users.insert(handle.handle, user);
        }
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        msg.ack_then(PACKAGE, &CODES, code::NO_MESSAGE, |body| self.process(&msg, body))
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::Negotiation(result) => self.negotiation_done(handle, result),
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::Hangup(_) => self.hang_up(handle, None, "Remote WebRTC hangup", None),
            MediaEvent::SubstreamChanged(change) => self.layer_changed(handle, &change, "substream"),
            MediaEvent::TemporalChanged(change) => self.layer_changed(handle, &change, "temporal"),
            _ => {}
        }
    }

    /// A data-channel message goes to the peer of a call that is up.
    fn incoming_data(&mut self, handle: HandleRef, label: Option<String>, data: Vec<u8>, is_text: bool) {
        if let Some(peer) =
            self.user(handle.handle).and_then(|u| u.call.as_ref()).filter(|c| c.up()).map(|c| c.peer)
        {
            portunus_sdk::host::send_data(peer, label.as_deref(), &data, is_text);
        }
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.hang_up(handle, None, "Remote WebRTC hangup", None);
        if let Some(name) = self.users.remove(&handle.handle).and_then(|u| u.username) {
            self.names.remove(&name);
        }
        let ids: Vec<(u64, u64)> =
            self.pending.range((handle.handle, 0)..=(handle.handle, u64::MAX)).map(|(k, _)| *k).collect();
        for id in ids {
            self.pending.remove(&id);
        }
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.user(handle.handle) {
            Some(u) => json!({
                "username": u.username,
                "peer": u.call.as_ref().map(|c| c.peer_name.clone()),
                "audio_active": u.audio, "video_active": u.video,
            }),
            None => json!({}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.names.save("name/", full, &mut out);
        self.users.save("user/", full, &mut out);
        self.pending.save("pending/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.names.load("name/", &entries)?;
        self.users.load("user/", &entries)?;
        self.pending.load("pending/", &entries)
    }
}

portunus_sdk::export_plugin!(VideoCall);

//! `janus.plugin.nosip`: a WebRTC peer bridged to plain RTP, the signaling left to the
//! application, as Janus's NoSIP.
//!
//! Either side may offer. When the browser offers, `generate` with its offer returns a
//! barebones RTP offer (`generated`) for the application to carry to the other side, whose
//! answer comes back with `process` (`processed`, with the browser's answer). When the other
//! side offers, `process` with its offer gives the browser an offer (`processed`), and
//! `generate` with the browser's answer returns the barebones answer (`generated`). Each audio
//! and video stream runs through a plain RTP leg of the host (SDES-SRTP with `srtp`), with one
//! rule each way between the leg and the browser's stream; the plugin never sees a packet. In a
//! call, `generate` with a new browser offer renegotiates (`update`): the streams it keeps keep
//! their legs and ports; so does `process` with a new offer of the other side (the legs point
//! where it says, the browser gets a new offer, and `generate` with its answer gives the
//! barebones answer, each marked `update`). The other side's hold (`sendonly`, `inactive`)
//! reaches the browser in that offer, and the barebones answer mirrors it. A renegotiation the
//! gateway cannot take is refused and the call goes on as it was.
//!
//! Requests, events and error codes are Janus 1.1's (`janus-api.md` §4.9).

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod bridge;

use portunus_sdk::{
    json, ErrorCodes, HandleRef, Keyed, MediaEvent, Message, Plugin, PluginError, PluginInfo, Reply,
    StateChange, StateEntry, Value,
};

use bridge::Session;

const PACKAGE: &str = "janus.plugin.nosip";
const NAME: &str = "JANUS NoSIP plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str =
    "This is a simple RTP bridging plugin that leaves signalling details (e.g., SIP) up to the application.";

/// Janus's NoSIP error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 440;
    pub const INVALID_JSON: u32 = 441;
    pub const INVALID_REQUEST: u32 = 442;
    pub const MISSING_ELEMENT: u32 = 443;
    pub const INVALID_ELEMENT: u32 = 444;
    pub const WRONG_STATE: u32 = 445;
    pub const MISSING_SDP: u32 = 446;
    pub const INVALID_SDP: u32 = 447;
    pub const IO_ERROR: u32 = 448;
    pub const RECORDING_ERROR: u32 = 449;
    pub const TOO_STRICT: u32 = 450;
    pub const NO_SUCH_STREAM: u32 = 451;
}

const CODES: ErrorCodes = ErrorCodes {
    invalid_json: code::INVALID_JSON,
    missing_element: code::MISSING_ELEMENT,
    invalid_element: code::INVALID_ELEMENT,
};

/// The plugin: one bridge per handle.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
#[serde(default)]
pub struct NoSip {
    sessions: Keyed<u64, Session>,
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

/// `{"nosip": "event", "result": result}`.
fn result(result: Value) -> Value {
    json!({"nosip": "event", "result": result})
}

// Events whose refusal the plugin can do nothing about are logged, not failed.
use portunus_sdk::push_event_logged as push;

impl Plugin for NoSip {
    fn init(&mut self, _config: &Value) -> Result<PluginInfo, String> {
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: 1,
            version_string: "0.0.1".to_owned(),
        })
    }

    fn create_handle(&mut self, handle: HandleRef) -> Result<(), String> {
        if !self.sessions.contains_key(&handle.handle) {
            self.sessions.insert(handle.handle, Session::new(handle));
        }
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        msg.ack_then(PACKAGE, &CODES, code::NO_MESSAGE, |body| self.process(&msg, body))
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::Negotiation(outcome) => self.negotiation_done(handle, outcome),
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::Hangup(_) => self.hang_up(handle, None),
            _ => {}
        }
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.hang_up(handle, None);
        self.sessions.remove(&handle.handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.sessions.get(&handle.handle) {
            Some(s) => json!({"legs": s.bridge.legs.len(), "stage": format!("{:?}", s.bridge.stage)}),
            None => json!({}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.sessions.save("session/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.sessions.load("session/", &entries)
    }
}

portunus_sdk::export_plugin!(NoSip);

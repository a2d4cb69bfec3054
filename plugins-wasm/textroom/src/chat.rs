//! Participants: `join`, `leave`, `message` (to everyone, or whispered `to`/`tos`) and
//! `announcement`, and what the room hears of them.

use portunus_sdk::{host, json, Field, HandleRef, Id, JsonType, PluginError, Value};
use serde_json::Map;

use crate::{code, err, str_of, textroom, Member, Origin, Session, TextRoom, CODES};

impl TextRoom {
    /// `join`: in the room under `username`; the others hear `join`, the joiner gets who is
    /// there and (unless `history: false`) the room's kept messages.
    pub(crate) fn join(
        &mut self,
        handle: HandleRef,
        body: &Map<String, Value>,
        origin: Origin,
    ) -> Result<Value, PluginError> {
        const JOIN: &[Field] = &[
            Field::new("username", JsonType::String).required(),
            Field::new("display", JsonType::String),
            Field::new("pin", JsonType::String),
            Field::new("token", JsonType::String),
            Field::new("history", JsonType::Bool),
        ];
        portunus_sdk::validate(body, JOIN, &CODES)?;
        let (id, room) = self.room(body)?;
        if room.pin.is_some() {
            portunus_sdk::validate(body, &[Field::new("pin", JsonType::String).required()], &CODES)?;
        }
        if !room.pin_ok(str_of(body, "pin")) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong pin)"));
        }
        if self.handles.get(&handle.handle).is_some_and(|s| s.rooms.contains_key(&id)) {
            return Err(err(code::ALREADY_IN_ROOM, format!("Already in room {id}")));
        }
        let username = str_of(body, "username").unwrap_or_default().to_owned();
        if self.members.contains_key(&(id.clone(), username.clone())) {
            return Err(err(code::USERNAME_EXISTS, "Username already taken"));
        }
        if let Some(allowed) = &room.allowed {
            if !str_of(body, "token").is_some_and(|t| allowed.contains(t)) {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (not in the allowed list)"));
            }
        }
        let display = str_of(body, "display").map(str::to_owned);
        let participants: Vec<Value> = self.members_of(&id).map(|(name, m)| who(name, m)).collect();
        let history: Vec<String> = match body.get("history").and_then(Value::as_bool) {
            Some(false) => Vec::new(),
            _ => room.messages.iter().cloned().collect(),
        };
        let mut joined = json!({"room": id.to_json(), "username": username});
        if let Some(display) = &display {
            joined["display"] = json!(display);
        }
        // The joiner gets the kept messages first, then its own `join` with everyone's.
        for message in history {
            match origin {
                Origin::Data => host::send_data(handle, None, message.as_bytes(), true),
                Origin::Api => {
                    let event: Value = serde_json::from_str(&message).unwrap_or_default();
                    if let Err(e) = portunus_sdk::push_event(handle, None, &event, None) {
                        portunus_sdk::warn!("[{}] history: {e}", handle.handle);
                    }
                }
            }
        }
        let member = Member { handle, display, api: origin == Origin::Api };
        self.members.insert((id.clone(), username.clone()), member);
        match self.handles.get_mut(&handle.handle) {
            Some(s) => {
                s.rooms.insert(id.clone(), username);
            }
            None => {
                let mut s = Session::default();
                s.rooms.insert(id.clone(), username);
                self.handles.insert(handle.handle, s);
            }
        }
        self.tell(&id, |_| true, &textroom("join", joined));
        portunus_sdk::info!("[{}] joined room {id}", handle.handle);
        Ok(textroom("success", json!({ "participants": participants })))
    }

    /// `leave` a room the handle is in.
    pub(crate) fn leave(
        &mut self,
        handle: HandleRef,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (id, _) = self.room(body)?;
        self.username_in(handle, &id)?;
        self.leave_room(handle, &id);
        Ok(textroom("success", json!({})))
    }

    /// The handle leaves a room: everyone there (the leaver too) hears `leave`.
    pub(crate) fn leave_room(&mut self, handle: HandleRef, room: &Id) {
        let Some(name) = self.handles.get_mut(&handle.handle).and_then(|s| s.rooms.remove(room)) else {
            return;
        };
        self.tell(room, |_| true, &textroom("leave", json!({"room": room.to_json(), "username": name})));
        self.members.remove(&(room.clone(), name));
    }

    /// `message`: to everyone in the room (kept for history), or whispered to `to` or `tos`.
    /// Answered only with `ack` (default true); `tos` answers which names got it.
    pub(crate) fn message(
        &mut self,
        handle: HandleRef,
        body: &Map<String, Value>,
    ) -> Result<Option<Value>, PluginError> {
        const MESSAGE: &[Field] = &[
            Field::new("text", JsonType::String).required(),
            Field::new("to", JsonType::String),
            Field::new("tos", JsonType::Array),
            Field::new("ack", JsonType::Bool),
        ];
        portunus_sdk::validate(body, MESSAGE, &CODES)?;
        if body.contains_key("to") && body.contains_key("tos") {
            return Err(err(code::INVALID_ELEMENT, "Both to and tos array provided"));
        }
        let (id, _) = self.room(body)?;
        let from = self.username_in(handle, &id)?;
        let mut tos: Vec<String> = Vec::new();
        if let Some(to) = str_of(body, "to") {
            tos.push(to.to_owned());
        }
        if let Some(Value::Array(list)) = body.get("tos") {
            for to in list {
                let Some(to) = to.as_str() else {
                    return Err(err(
                        code::INVALID_ELEMENT,
                        "Invalid element type (tos should be an array of strings)",
                    ));
                };
                tos.push(to.to_owned());
            }
        }
        let whisper = body.contains_key("to") || body.contains_key("tos");
        let mut message = json!({
            "room": id.to_json(),
            "from": from,
            "date": crate::date::now(),
            "text": str_of(body, "text").unwrap_or_default(),
        });
        if whisper {
            message["whisper"] = json!(true);
        }
        let message = textroom("message", message);
        let mut answer = textroom("success", json!({}));
        if whisper {
            // Whispers are not kept; the answer says who got one.
            self.tell(&id, |name| tos.iter().any(|t| t == name), &message);
            let sent: Map<String, Value> = tos
                .iter()
                .map(|t| (t.clone(), json!(self.members.contains_key(&(id.clone(), t.clone())))))
                .collect();
            answer["sent"] = Value::Object(sent);
        } else {
            self.tell(&id, |_| true, &message);
            // The kept copy names the sender's display too.
            let mut kept = message;
            if let Some(display) = self.members.get(&(id.clone(), from)).and_then(|m| m.display.clone()) {
                kept["display"] = json!(display);
            }
            if let Some(room) = self.rooms.get_mut(&id) {
                room.remember(kept.to_string());
            }
        }
        let ack = body.get("ack").and_then(Value::as_bool).unwrap_or(true);
        Ok(ack.then_some(answer))
    }

    /// `announcement` (needs the room's secret): everyone hears it, and it is kept for
    /// history.
    pub(crate) fn announcement(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("text", JsonType::String).required()], &CODES)?;
        let event = textroom(
            "announcement",
            json!({"room": id.to_json(), "date": crate::date::now(), "text": str_of(body, "text")}),
        );
        self.tell(&id, |_| true, &event);
        if let Some(room) = self.rooms.get_mut(&id) {
            room.remember(event.to_string());
        }
        Ok(textroom("success", json!({})))
    }
}

/// A participant as lists show it.
pub(crate) fn who(name: &str, m: &Member) -> Value {
    let mut w = json!({ "username": name });
    if let Some(display) = &m.display {
        w["display"] = json!(display);
    }
    w
}

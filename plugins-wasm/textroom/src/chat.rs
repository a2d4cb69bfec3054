//! Participants: `join`, `leave`, `message` (to everyone, or whispered `to`/`tos`) and
//! `announcement`, and what the room hears of them.

use portunus_sdk::{host, json, Field, HandleRef, Id, JsonType, PluginError, Value};
use serde_json::Map;

use crate::{code, err, str_of, textroom, Member, Origin, TextRoom, CODES};

impl TextRoom {
    /// `join`: in the room under `username`. The joiner gets the room's kept messages, then
    /// its own `join` (which everyone hears), then who else is there.
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
        portunus_sdk::rooms::check_key(body, "pin", room.pin.as_deref(), &CODES, code::UNAUTHORIZED)?;
        if self.handles.get(&handle.handle).is_some_and(|s| s.rooms.contains_key(&id)) {
            return Err(err(code::ALREADY_IN_ROOM, format!("Already in room {id}")));
        }
        let username = str_of(body, "username").unwrap_or_default().to_owned();
        if self.members.contains_key(&(id.clone(), username.clone())) {
            return Err(err(code::USERNAME_EXISTS, "Username already taken"));
        }
        if !room.token_ok(str_of(body, "token")) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (not in the allowed list)"));
        }
        let participants: Vec<Value> = self.members_of(&id).map(|(name, m)| who(name, m)).collect();
        if body.get("history").and_then(Value::as_bool) != Some(false) {
            let kept = self.kept.range((id.clone(), 0)..=(id.clone(), u64::MAX)).map(|(_, m)| m.as_str());
            for message in kept {
                match origin {
                    Origin::Data => host::send_data(handle, None, message.as_bytes(), true),
                    Origin::Api => {
                        let event: Value = serde_json::from_str(message).unwrap_or_default();
                        if let Err(e) = portunus_sdk::push_event(handle, None, &event, None) {
                            portunus_sdk::warn!("[{}] history: {e}", handle.handle);
                        }
                    }
                }
            }
        }
        let display = str_of(body, "display").map(str::to_owned);
        let mut joined = json!({"room": id.to_json(), "username": username});
        if let Some(display) = &display {
            joined["display"] = json!(display);
        }
        let member = Member { handle, display, api: origin == Origin::Api };
        self.members.insert((id.clone(), username.clone()), member);
        if let Some(room) = self.rooms.get_mut(&id) {
            room.participants += 1;
        }
        match self.handles.get_mut(&handle.handle) {
            Some(s) => s.rooms.insert(id.clone(), username),
            None => {
                let mut s = crate::Session::default();
                s.rooms.insert(id.clone(), username);
                self.handles.insert(handle.handle, s);
            }
        }
        portunus_sdk::notify_event(Some(handle), || {
            let mut info = joined.clone();
            info["event"] = json!("join");
            info
        });
        self.tell(&id, &textroom("join", joined));
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
        let Some(name) = self.handles.get(&handle.handle).and_then(|s| s.rooms.get(room)).cloned() else {
            return;
        };
        portunus_sdk::notify_event(
            Some(handle),
            || json!({"event": "leave", "room": room.to_json(), "username": name}),
        );
        self.tell(room, &textroom("leave", json!({"room": room.to_json(), "username": name})));
        self.drop_member(room, name);
    }

    /// A member is out of a room (it left, was kicked, or its handle went).
    pub(crate) fn drop_member(&mut self, room: &Id, name: String) {
        let Some(member) = self.members.remove(&(room.clone(), name)) else { return };
        if let Some(s) = self.handles.get_mut(&member.handle.handle) {
            s.rooms.remove(room);
        }
        if let Some(room) = self.rooms.get_mut(room) {
            room.participants = room.participants.saturating_sub(1);
        }
    }

    /// `message`: to everyone in the room (and kept for history), or whispered to `to` or
    /// `tos` (the answer says who got it). Answered only with `ack` (default true).
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
        let (id, _) = self.room(body)?;
        let from = self.username_in(handle, &id)?;
        if body.contains_key("to") && body.contains_key("tos") {
            return Err(err(code::INVALID_ELEMENT, "Both to and tos array provided"));
        }
        let mut tos: Vec<&str> = Vec::new();
        if let Some(to) = str_of(body, "to") {
            tos.push(to);
        }
        for to in body.get("tos").and_then(Value::as_array).into_iter().flatten() {
            let Some(to) = to.as_str() else {
                return Err(err(
                    code::INVALID_ELEMENT,
                    "Invalid element type (tos should be an array of strings)",
                ));
            };
            if !tos.contains(&to) {
                tos.push(to);
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
            // Each name looked up once: the cost is the request's, not the room's.
            let to: Vec<Option<&Member>> =
                tos.iter().map(|t| self.members.get(&(id.clone(), (*t).to_owned()))).collect();
            self.send_to(&id, to.iter().flatten().copied(), &message);
            let sent: Map<String, Value> =
                tos.iter().zip(&to).map(|(t, m)| ((*t).to_owned(), json!(m.is_some()))).collect();
            answer["sent"] = Value::Object(sent);
        } else {
            self.tell(&id, &message);
            self.post(&id, &message);
            // The kept copy names the sender's display too, as in Janus.
            let mut kept = message;
            if let Some(display) = self.members.get(&(id.clone(), from)).and_then(|m| m.display.clone()) {
                kept["display"] = json!(display);
            }
            self.keep(&id, &kept);
        }
        let ack = body.get("ack").and_then(Value::as_bool).unwrap_or(true);
        Ok(ack.then_some(answer))
    }

    /// `announcement` (needs the room's secret): everyone hears it, and it is kept.
    pub(crate) fn announcement(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("text", JsonType::String).required()], &CODES)?;
        let event = textroom(
            "announcement",
            json!({"room": id.to_json(), "date": crate::date::now(), "text": str_of(body, "text")}),
        );
        self.tell(&id, &event);
        self.post(&id, &event);
        self.keep(&id, &event);
        Ok(textroom("success", json!({})))
    }

    /// Posts a public message or an announcement to the room's HTTP backend (`post`), as
    /// Janus does. The host logs what fails later; what it refuses now is logged here, once per
    /// reason and room until it changes.
    fn post(&mut self, id: &Id, event: &Value) {
        let Some(room) = self.rooms.get_mut(id) else { return };
        let Some(url) = room.post.as_deref() else { return };
        match host::http_post(url, &event.to_string()) {
            Ok(()) => room.post_refused = None,
            Err(e) if room.post_refused.as_deref() != Some(e.as_str()) => {
                portunus_sdk::warn!("room {id}: cannot post to {url}: {e}");
                room.post_refused = Some(e);
            }
            Err(_) => {}
        }
    }

    /// Keeps a public message for those who join, if the room keeps any.
    fn keep(&mut self, room: &Id, message: &Value) {
        // (A room that keeps nothing is not touched, so not saved again.)
        if self.rooms.get(room).is_none_or(|r| r.history == 0) {
            return;
        }
        let Some((n, dropped)) = self.rooms.get_mut(room).and_then(|r| r.keep()) else { return };
        self.kept.insert((room.clone(), n), message.to_string());
        if let Some(old) = dropped {
            self.kept.remove(&(room.clone(), old));
        }
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

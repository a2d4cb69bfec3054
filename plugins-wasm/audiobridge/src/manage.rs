//! The synchronous requests: rooms (`create`, `edit`, `destroy`, `exists`, `list`, `allowed`,
//! `listparticipants`) and moderation (`mute`, `unmute`, `mute_room`, `unmute_room`, `kick`,
//! `kick_all`, `resetdecoder`).

use portunus_sdk::allowed;
use portunus_sdk::{host, json, Field, HandleRef, Id, JsonType, PluginError, RoomsConfig, Value};
use serde_json::Map;

use crate::room::{Room, RATES, ROOM_FIELDS};
use crate::{audiobridge, code, err, push, str_of, AudioBridge, CODES};

impl AudioBridge {
    /// The plugin's `admin_key`, when it has one and `locked` (the request's `lock_…` setting),
    /// must come with the request, as in Janus.
    pub(crate) fn check_admin_key(&self, body: &Map<String, Value>, locked: bool) -> Result<(), PluginError> {
        let Some(key) = self.settings.admin_key.as_deref().filter(|_| locked) else { return Ok(()) };
        portunus_sdk::rooms::check_key(body, "admin_key", Some(key), &CODES, code::UNAUTHORIZED)
    }

    /// The rooms of the config file (`permanent`).
    pub(crate) fn load_config_rooms(&mut self, config: &Value) {
        let (file, rooms) = RoomsConfig::parse(config, self.settings.string_ids);
        self.settings.file = file;
        for (id, keys) in rooms {
            let room = Room::from_keys(id.clone(), &keys);
            self.rooms.insert(id, Room { permanent: true, ..room });
        }
    }

    fn save_config<'a>(&self, rooms: impl Iterator<Item = &'a Room>) -> Result<(), PluginError> {
        let rooms = rooms.filter(|r| r.permanent).map(|r| (&r.id, r.to_config()));
        self.settings
            .file
            .save(rooms)
            .map_err(|e| err(code::UNKNOWN, format!("Error saving the room to the configuration: {e}")))
    }

    pub(crate) fn create(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        self.check_admin_key(body, true)?;
        let id_field = portunus_sdk::rooms::id_field("room", self.settings.string_ids);
        // Janus takes room 0 as "pick one".
        if body.get("room").and_then(Value::as_u64) != Some(0) {
            portunus_sdk::validate(body, &[id_field], &CODES)?;
        }
        portunus_sdk::validate(body, ROOM_FIELDS, &CODES)?;
        self.check_lists(body)?;
        if let Some(rate) = body.get("sampling_rate").and_then(Value::as_u64) {
            if !RATES.contains(&rate) {
                return Err(err(code::UNKNOWN, format!("Unsupported sampling rate {rate}")));
            }
        }
        let id = Id::choose(body.get("room"), self.settings.string_ids, |id| self.rooms.contains_key(id))
            .map_err(|id| err(code::ROOM_EXISTS, format!("Room {id} already exists")))?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        let room = Room { permanent, ..Room::from_keys(id.clone(), body) };
        let record = room.record;
        self.rooms.insert(id.clone(), room);
        if record {
            // A recording that cannot start fails the room, as a folder Janus cannot make does.
            if let Err(e) = self.start_recording(&id) {
                if let Some(m) = self.rooms.remove(&id).and_then(|r| r.mixer) {
                    host::mixer_destroy(m);
                }
                return Err(e);
            }
        }
        if permanent {
            if let Err(e) = self.save_config(self.rooms.values()) {
                if let Some(m) = self.rooms.remove(&id).and_then(|r| r.mixer) {
                    host::mixer_destroy(m);
                }
                return Err(e);
            }
        }
        portunus_sdk::info!("created room {id}");
        portunus_sdk::notify_event(requester, || json!({"event": "created", "room": id.to_json()}));
        Ok(audiobridge("created", json!({"room": id.to_json(), "permanent": permanent})))
    }

    /// The `allowed` and `groups` arrays hold strings, and there are at most
    /// [`crate::room::MAX_GROUPS`] groups (Janus's texts).
    fn check_lists(&self, body: &Map<String, Value>) -> Result<(), PluginError> {
        if body.get("groups").and_then(Value::as_array).is_some_and(|g| g.len() > crate::room::MAX_GROUPS) {
            return Err(err(
                code::INVALID_ELEMENT,
                format!("Too many groups specified (max {} allowed)", crate::room::MAX_GROUPS),
            ));
        }
        for name in ["allowed", "groups"] {
            if let Some(Value::Array(list)) = body.get(name) {
                if list.iter().any(|v| !v.is_string()) {
                    return Err(err(
                        code::INVALID_ELEMENT,
                        format!("Invalid element in the {name} array (not a string)"),
                    ));
                }
            }
        }
        Ok(())
    }

    pub(crate) fn edit(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        const EDIT: &[Field] = &[
            Field::new("new_description", JsonType::String),
            Field::new("new_secret", JsonType::String),
            Field::new("new_pin", JsonType::String),
            Field::new("new_is_private", JsonType::Bool),
            Field::new("new_record_dir", JsonType::String),
            Field::new("new_mjrs_dir", JsonType::String),
            Field::new("permanent", JsonType::Bool),
        ];
        portunus_sdk::validate(body, EDIT, &CODES)?;
        let (id, room) = self.room_with_secret(body)?;
        let mut edited = room.clone();
        edited.apply(body, "new_");
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            edited.permanent = true;
            self.save_config(self.rooms.values().map(|r| if r.id == id { &edited } else { r }))?;
        }
        self.rooms.insert(id.clone(), edited);
        portunus_sdk::notify_event(requester, || json!({"event": "edited", "room": id.to_json()}));
        Ok(audiobridge("edited", json!({"room": id.to_json(), "permanent": permanent})))
    }

    pub(crate) fn destroy(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        portunus_sdk::validate(body, &[Field::new("permanent", JsonType::Bool)], &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            self.save_config(self.rooms.values().filter(|r| r.id != id))?;
        }
        // Everyone in it hears `destroyed` and is out.
        self.notify_everyone(&id, &audiobridge("destroyed", json!({"room": id.to_json()})));
        let handles: Vec<HandleRef> = self.members_of(&id).map(|(_, h)| h).collect();
        for h in handles {
            self.remove_participant(h, false);
        }
        self.stop_announcements(&id);
        self.stop_recording(&id);
        if let Some(room) = self.rooms.remove(&id) {
            if let Some(mixer) = room.mixer {
                host::mixer_destroy(mixer);
            }
        }
        self.drop_forwarders(&id);
        portunus_sdk::info!("destroyed room {id}");
        portunus_sdk::notify_event(requester, || json!({"event": "destroyed", "room": id.to_json()}));
        Ok(audiobridge("destroyed", json!({"room": id.to_json(), "permanent": permanent})))
    }

    pub(crate) fn exists(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let id = self.room_id(body)?;
        let exists = self.rooms.contains_key(&id);
        Ok(audiobridge("success", json!({"room": id.to_json(), "exists": exists})))
    }

    pub(crate) fn list(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let admin = self.settings.admin_key.as_deref().is_some_and(|k| str_of(body, "admin_key") == Some(k));
        let list: Vec<Value> = self
            .rooms
            .values()
            .filter(|r| admin || !r.is_private)
            .map(|r| r.describe(self.members_of(&r.id).count()))
            .collect();
        Ok(audiobridge("success", json!({ "list": list })))
    }

    pub(crate) fn allowed(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const ALLOWED: &[Field] =
            &[Field::new("action", JsonType::String).required(), Field::new("allowed", JsonType::Array)];
        portunus_sdk::validate(body, ALLOWED, &CODES)?;
        let action = allowed::Action::of(body, &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let Some(room) = self.rooms.get_mut(&id) else { return Err(err(code::NO_SUCH_ROOM, "No such room")) };
        let mut answer = json!({"room": id.to_json()});
        if let Some(list) = room.allowed.apply(action, body, &CODES)? {
            answer["allowed"] = list;
        }
        Ok(audiobridge("success", answer))
    }

    pub(crate) fn list_participants(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room(body)?;
        let list: Vec<Value> = self
            .members_of(&id)
            .filter_map(|(_, h)| self.participants.get(&h.handle))
            .map(Self::describe)
            .collect();
        Ok(audiobridge("participants", json!({"room": id.to_json(), "participants": list})))
    }

    /// The handle of participant `id` in a room a moderator opened with its secret.
    fn moderated(&self, body: &Map<String, Value>) -> Result<(Id, Id, HandleRef), PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let id = portunus_sdk::rooms::id_of(body, "id", self.settings.string_ids, &CODES)?;
        match self.members.get(&(room.clone(), id.clone())) {
            Some(h) => Ok((room, id, *h)),
            None => Err(err(code::NO_SUCH_USER, format!("No such user {id} in room {room}"))),
        }
    }

    pub(crate) fn mute(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
        mute: bool,
    ) -> Result<Value, PluginError> {
        let (room, id, handle) = self.moderated(body)?;
        let Some(p) = self.participants.get_mut(&handle.handle) else {
            return Err(err(code::NO_SUCH_USER, "No such user"));
        };
        if p.muted == mute {
            return Ok(audiobridge("success", json!({})));
        }
        p.muted = mute;
        let entry = Self::describe(p);
        self.remix(handle.handle);
        // Everyone hears it, the muted one too.
        let event = audiobridge("event", json!({"room": room.to_json(), "participants": [entry]}));
        self.notify(&room, None, &event);
        portunus_sdk::notify_event(
            requester,
            || json!({"event": if mute { "mute" } else { "unmute" }, "room": room.to_json(), "id": id.to_json()}),
        );
        Ok(audiobridge("success", json!({"room": room.to_json()})))
    }

    pub(crate) fn mute_room(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
        mute: bool,
    ) -> Result<Value, PluginError> {
        let (id, room) = self.room_with_secret(body)?;
        if room.muted == mute {
            return Ok(audiobridge("success", json!({})));
        }
        let mut room = room.clone();
        room.muted = mute;
        self.rooms.insert(id.clone(), room);
        let handles: Vec<u64> = self.members_of(&id).map(|(_, h)| h.handle).collect();
        for h in handles {
            self.remix(h);
        }
        self.notify(&id, None, &audiobridge("event", json!({"room": id.to_json(), "muted": mute})));
        let event = if mute { "mute_room" } else { "unmute_room" };
        portunus_sdk::notify_event(requester, || json!({"event": event, "room": id.to_json()}));
        Ok(audiobridge("success", json!({"room": id.to_json()})))
    }

    pub(crate) fn kick(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (room, id, handle) = self.moderated(body)?;
        // Everyone hears it (the kicked one too), then the others hear it leave.
        let event = audiobridge("event", json!({"room": room.to_json(), "kicked": id.to_json()}));
        self.notify_everyone(&room, &event);
        self.kicked(requester, handle, "kicked");
        Ok(audiobridge("success", json!({})))
    }

    /// A participant kicked out (`kick`, `kick_all`): out of the room, its PeerConnection
    /// closed; the event handlers hear `event` about the requester, then `left` about no handle,
    /// as Janus's.
    fn kicked(&mut self, requester: Option<HandleRef>, handle: HandleRef, event: &str) {
        if let Some(p) = self.participants.get(&handle.handle) {
            portunus_sdk::notify_event(
                requester,
                || json!({"event": event, "room": p.room.to_json(), "id": p.id.to_json()}),
            );
        }
        self.tell_of(handle, None, "left", false);
        self.remove_participant(handle, true);
        host::close_pc(handle);
    }

    pub(crate) fn kick_all(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let members: Vec<(Id, HandleRef)> = self.members_of(&room).map(|(id, h)| (id.clone(), h)).collect();
        for (id, handle) in members {
            let event = audiobridge("event", json!({"room": room.to_json(), "kicked_all": id.to_json()}));
            push(handle, None, &event, None);
            self.kicked(requester, handle, "kicked_all");
        }
        Ok(audiobridge("success", json!({})))
    }

    /// `suspend` and `resume`: the participant stays in the room, out of the mix both ways
    /// while suspended. A participant may do it to itself; anyone else needs the room's secret.
    pub(crate) fn suspend(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
        suspend: bool,
    ) -> Result<Value, PluginError> {
        portunus_sdk::validate(body, &[Field::new("secret", JsonType::String)], &CODES)?;
        let (room, _) = self.room(body)?;
        let id = portunus_sdk::rooms::id_of(body, "id", self.settings.string_ids, &CODES)?;
        let Some(handle) = self.members.get(&(room.clone(), id.clone())).copied() else {
            return Err(err(code::NO_SUCH_USER, format!("No such user {id} in room {room}")));
        };
        if requester.is_none_or(|r| r.handle != handle.handle) {
            self.room_with_secret(body)?;
        }
        let fields: &[Field] = if suspend {
            &[Field::new("pause_events", JsonType::Bool), Field::new("stop_record", JsonType::Bool)]
        } else {
            &[Field::new("record", JsonType::Bool), Field::new("filename", JsonType::String)]
        };
        portunus_sdk::validate(body, fields, &CODES)?;
        let Some(p) = self.participants.get_mut(&handle.handle) else {
            return Err(err(code::NO_SUCH_USER, format!("No such user {id} in room {room}")));
        };
        if p.suspended == suspend {
            return Ok(audiobridge("success", json!({})));
        }
        // Its own recording stops with `stop_record`, and starts again with `record`.
        if suspend && body.get("stop_record").and_then(Value::as_bool) == Some(true) {
            p.record = None;
        } else if !suspend {
            crate::participant::record_as_asked(body, p);
        }
        crate::participant::record(handle, p, self.rooms.get(&room));
        p.suspended = suspend;
        let recap = !suspend && p.paused_events;
        p.paused_events = suspend && body.get("pause_events").and_then(Value::as_bool) == Some(true);
        self.remix(handle.handle);
        let kind = if suspend { "suspended" } else { "resumed" };
        portunus_sdk::notify_event(
            requester,
            || json!({"event": kind, "room": room.to_json(), "id": id.to_json()}),
        );
        let event = audiobridge("event", json!({"room": room.to_json(), kind: id.to_json()}));
        if recap {
            // Its events were paused: it gets the room as it is now instead.
            let mut recap = event.clone();
            recap["participants"] = json!(self.others_in(&room, handle));
            push(handle, None, &recap, None);
            self.notify(&room, Some(handle.handle), &event);
        } else {
            self.notify(&room, None, &event);
        }
        Ok(audiobridge("success", json!({})))
    }

    pub(crate) fn reset_decoder(&mut self, handle: HandleRef) -> Result<Value, PluginError> {
        let Some(p) = self.participants.get(&handle.handle) else {
            return Err(err(code::NOT_JOINED, "Can't reset (not in a room)"));
        };
        if let Err(e) = host::mixer_reset_decoder(p.port) {
            portunus_sdk::warn!("[{}] mixer: {e}", handle.handle);
        }
        Ok(audiobridge("success", json!({})))
    }
}

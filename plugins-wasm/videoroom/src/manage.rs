//! The management requests, answered at once: rooms (`create`, `edit`, `destroy`, `exists`,
//! `list`, `allowed`, `kick`, `moderate`, `listparticipants`); RTP forwarders are in `forward`.

use portunus_sdk::allowed;
use portunus_sdk::{host, json, Field, HandleRef, Id, JsonType, PluginError, RoomsConfig, Value};
use serde_json::Map;

use crate::room::{Room, ROOM_FIELDS};
use crate::{code, err, push, str_of, videoroom, Leaving, Role, VideoRoom, CODES};

impl VideoRoom {
    /// The plugin's `admin_key`, when it has one, must come with the request (Janus's 429 and
    /// 433).
    pub(crate) fn check_admin_key(&self, body: &Map<String, Value>) -> Result<(), PluginError> {
        let Some(key) = self.settings.admin_key.as_deref() else { return Ok(()) };
        portunus_sdk::rooms::check_key(body, "admin_key", Some(key), &CODES, code::UNAUTHORIZED)
    }

    pub(crate) fn create(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        self.check_admin_key(body)?;
        portunus_sdk::validate(body, &[self.id_field("room")], &CODES)?;
        portunus_sdk::validate(body, ROOM_FIELDS, &CODES)?;
        crate::room::check_new(body)?;
        let id = Id::choose(body.get("room"), self.settings.string_ids, |id| self.rooms.contains_key(id))
            .map_err(|id| err(code::ROOM_EXISTS, format!("Room {id} already exists")))?;
        let room = Room::from_keys(id.clone(), body);
        let permanent = room.permanent;
        if permanent {
            self.save_config(self.rooms.values().chain([&room]))?;
        }
        self.rooms.insert(id.clone(), room);
        self.ensure_dummy(&id);
        portunus_sdk::info!("created room {id}");
        portunus_sdk::notify_event(requester, || json!({"event": "created", "room": id.to_json()}));
        Ok(videoroom("created", json!({"room": id.to_json(), "permanent": permanent})))
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
            Field::new("new_require_pvtid", JsonType::Bool),
            Field::new("new_bitrate", JsonType::Integer).positive(),
            Field::new("new_fir_freq", JsonType::Integer).positive(),
            Field::new("new_publishers", JsonType::Integer).positive(),
            Field::new("new_lock_record", JsonType::Bool),
            Field::new("new_rec_dir", JsonType::String),
            Field::new("permanent", JsonType::Bool),
        ];
        portunus_sdk::validate(body, EDIT, &CODES)?;
        let (id, room) = self.room_with_secret(body)?;
        let mut edited = room.clone();
        // Only what `edit` takes (Janus ignores any other `new_` key).
        let keys: Map<String, Value> = body
            .iter()
            .filter(|(k, _)| EDIT.iter().any(|f| f.name == *k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        edited.apply(&keys, "new_");
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            edited.permanent = true;
            self.save_config(self.rooms.values().map(|r| if r.id == id { &edited } else { r }))?;
        }
        self.rooms.insert(id.clone(), edited);
        portunus_sdk::notify_event(requester, || json!({"event": "edited", "room": id.to_json()}));
        Ok(videoroom("edited", json!({"room": id.to_json(), "permanent": permanent})))
    }

    pub(crate) fn destroy(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("permanent", JsonType::Bool)], &CODES)?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            self.save_config(self.rooms.values().filter(|r| r.id != id))?;
        }
        let gone = videoroom("destroyed", json!({"room": id.to_json()}));
        self.notify(&id, None, &gone);
        // Everyone in the room is out of it.
        let members: Vec<(Id, HandleRef)> = self.members_of(&id).map(|(i, h)| (i.clone(), h)).collect();
        for (member, handle) in members {
            self.members.remove(&(id.clone(), member));
            self.unpublish_streams(handle.handle);
            if crate::is_dummy(handle) {
                self.handles.remove(&handle.handle);
                continue;
            }
            self.handles.insert(handle.handle, Role::Left);
            host::close_pc(handle);
        }
        // Its subscribers too.
        let subscribers: Vec<HandleRef> =
            self.subscribers.range((id.clone(), 0)..=(id.clone(), u64::MAX)).map(|(_, h)| *h).collect();
        for handle in subscribers {
            self.leave_room(handle, Leaving::Left);
            host::close_pc(handle);
        }
        self.rooms.remove(&id);
        portunus_sdk::info!("destroyed room {id}");
        portunus_sdk::notify_event(requester, || json!({"event": "destroyed", "room": id.to_json()}));
        Ok(videoroom("destroyed", json!({"room": id.to_json(), "permanent": permanent})))
    }

    /// Writes the config file with these rooms' permanent ones (Janus's `permanent`): the
    /// sections `init` got other than rooms, then a `room-<id>` section per room. On failure
    /// nothing changed, and the request says why.
    fn save_config<'a>(&self, rooms: impl Iterator<Item = &'a Room>) -> Result<(), PluginError> {
        let rooms = rooms.filter(|r| r.permanent).map(|r| (&r.id, r.to_config()));
        self.settings
            .file
            .save(rooms)
            .map_err(|e| err(code::UNKNOWN, format!("Error saving the room to the configuration: {e}")))
    }

    /// A remote publisher request ([`crate::REMOTE`]), checked as Janus checks it (its own
    /// fields, the room and its secret, the publisher). This gateway neither sends publishers
    /// to others nor takes theirs yet, so what names a remote copy or a remote publisher finds
    /// none (Janus's 428s), `listremotes` lists none, and `publish_remotely` and
    /// `add_remote_publisher` are not supported yet (499).
    pub(crate) fn remote(&self, request: &str, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const PUBLISH: &[Field] = &[
            Field::new("remote_id", JsonType::String).required(),
            Field::new("host", JsonType::String).required(),
            Field::new("host_family", JsonType::String),
            Field::new("port", JsonType::Integer).positive().required(),
            Field::new("rtcp_port", JsonType::Integer).positive(),
        ];
        const UNPUBLISH: &[Field] = &[Field::new("remote_id", JsonType::String).required()];
        const ADD: &[Field] = &[
            Field::new("display", JsonType::String),
            Field::new("mcast", JsonType::String),
            Field::new("iface", JsonType::String),
            Field::new("port", JsonType::Integer).positive(),
            Field::new("streams", JsonType::Array).required(),
        ];
        const UPDATE: &[Field] =
            &[Field::new("display", JsonType::String), Field::new("streams", JsonType::Array).required()];
        let fields = match request {
            "publish_remotely" => PUBLISH,
            "unpublish_remotely" => UNPUBLISH,
            "add_remote_publisher" => ADD,
            "update_remote_publisher" => UPDATE,
            _ => &[],
        };
        portunus_sdk::validate(body, fields, &CODES)?;
        if request == "add_remote_publisher"
            && body.get("streams").and_then(Value::as_array).is_some_and(Vec::is_empty)
        {
            return Err(err(code::INVALID_ELEMENT, "Invalid element value (streams can't be empty)"));
        }
        let (room, _) = self.room_with_secret(body)?;
        if matches!(request, "update_remote_publisher" | "remove_remote_publisher") {
            let id = self.participant_id(body, "id")?;
            return Err(err(code::NO_SUCH_FEED, format!("No such remote publisher ({id})")));
        }
        if request == "add_remote_publisher" {
            return Err(err(code::UNKNOWN, "Remote publishers are not supported yet"));
        }
        let id = self.participant_id(body, "publisher_id")?;
        if !self.members.contains_key(&(room.clone(), id.clone())) {
            // (Janus's words for the two.)
            let what = if request == "publish_remotely" { "feed" } else { "publisher" };
            return Err(err(code::NO_SUCH_FEED, format!("No such {what} ({id})")));
        }
        match request {
            "listremotes" => {
                Ok(videoroom("success", json!({"room": room.to_json(), "id": id.to_json(), "list": []})))
            }
            "unpublish_remotely" => {
                let remote = str_of(body, "remote_id").unwrap_or_default();
                Err(err(code::NO_SUCH_FEED, format!("No such remotization ({remote})")))
            }
            _ => Err(err(code::UNKNOWN, "Remote publishers are not supported yet")),
        }
    }

    pub(crate) fn exists(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let id = self.room_id(body)?;
        let exists = self.rooms.contains_key(&id);
        Ok(videoroom("success", json!({"room": id.to_json(), "exists": exists})))
    }

    pub(crate) fn list(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let admin = self.settings.admin_key.as_deref().is_some_and(|k| str_of(body, "admin_key") == Some(k));
        let list: Vec<Value> = self
            .rooms
            .values()
            .filter(|r| admin || !r.is_private)
            .map(|r| r.describe(self.members_of(&r.id).count()))
            .collect();
        Ok(videoroom("success", json!({ "list": list })))
    }

    pub(crate) fn allowed(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const ALLOWED: &[Field] =
            &[Field::new("action", JsonType::String).required(), Field::new("allowed", JsonType::Array)];
        portunus_sdk::validate(body, ALLOWED, &CODES)?;
        let action = allowed::Action::of(body, &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let Some(room) = self.rooms.get_mut(&id) else { return Err(err(code::NO_SUCH_ROOM, "No such room")) };
        let mut data = videoroom("success", json!({"room": id.to_json()}));
        if let Some(list) = room.allowed.apply(action, body, &CODES)? {
            data["allowed"] = list;
        }
        Ok(data)
    }

    pub(crate) fn kick(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let id = self.participant_id(body, "id")?;
        let Some(handle) = self.members.get(&(room.clone(), id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such user {id} in room {room}")));
        };
        if crate::is_dummy(handle) {
            return Err(err(code::NO_SUCH_FEED, "Can't kick dummy users"));
        }
        push(
            handle,
            None,
            &videoroom("event", json!({"room": room.to_json(), "leaving": "ok", "reason": "kicked"})),
            None,
        );
        self.leave_room(handle, Leaving::Kicked);
        host::close_pc(handle);
        Ok(videoroom("success", json!({})))
    }

    pub(crate) fn list_participants(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room(body)?;
        let participants: Vec<Value> = self
            .members_of(&id)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .map(|p| {
                let mut d = json!({"id": p.id.to_json()});
                if let Some(display) = &p.display {
                    d["display"] = json!(display);
                }
                if let Some(metadata) = &p.metadata {
                    d["metadata"] = metadata.clone();
                }
                if p.dummy {
                    d["dummy"] = json!(true);
                }
                d["publisher"] = json!(p.active);
                if p.active {
                    d["talking"] = json!(p.talking);
                }
                d
            })
            .collect();
        Ok(videoroom("participants", json!({"room": id.to_json(), "participants": participants})))
    }

    /// Rooms from the config: every `room-<id>` section.
    pub(crate) fn load_config_rooms(&mut self, config: &Value) {
        let (file, rooms) = RoomsConfig::parse(config, self.settings.string_ids);
        self.settings.file = file;
        for (id, keys) in rooms {
            let room = Room::from_keys(id.clone(), &keys);
            self.rooms.insert(id.clone(), Room { permanent: true, ..room });
            self.ensure_dummy(&id);
        }
    }

    /// `moderate`: a publisher's stream muted (not forwarded to its subscribers) or unmuted;
    /// the room hears it.
    pub(crate) fn moderate(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const MODERATE: &[Field] =
            &[Field::new("mid", JsonType::String).required(), Field::new("mute", JsonType::Bool).required()];
        let (room, _) = self.room_with_secret(body)?;
        let id = self.participant_id(body, "id")?;
        portunus_sdk::validate(body, MODERATE, &CODES)?;
        let mid = str_of(body, "mid").unwrap_or_default().to_owned();
        let mute = body.get("mute").and_then(Value::as_bool).unwrap_or(false);
        let Some(handle) = self.members.get(&(room.clone(), id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such user {id} in room {room}")));
        };
        let Some(stream) =
            self.publisher_mut(handle.handle).and_then(|p| p.streams.iter_mut().find(|s| s.mid == mid))
        else {
            return Err(err(code::NO_SUCH_FEED, format!("No such stream {mid}")));
        };
        stream.muted = mute;
        if mute {
            self.stop_feed_stream(handle.handle, &mid);
        } else {
            self.restart_feed_stream(handle.handle);
        }
        let moderation = if mute { "muted" } else { "unmuted" };
        let event = json!({"room": room.to_json(), "id": id.to_json(), "mid": mid, "moderation": moderation});
        portunus_sdk::notify_event(None, || videoroom("moderated", event.clone()));
        self.notify(&room, None, &videoroom("event", event));
        Ok(videoroom("success", json!({})))
    }
}

//! The management requests, answered at once: rooms (`create`, `edit`, `destroy`, `exists`,
//! `list`, `allowed`, `kick`, `moderate`, `listparticipants`) and RTP forwarders (`rtp_forward`,
//! `stop_rtp_forward`, `listforwarders`).

use portunus_sdk::{
    host, json, Endpoint, Field, ForwardOptions, HandleRef, Id, JsonType, PluginError, RoomsConfig,
    RtpTarget, Value,
};
use serde_json::Map;

use crate::room::{Room, ROOM_FIELDS};
use crate::{code, err, kind_name, push, str_of, videoroom, Leaving, Role, VideoRoom, CODES};

impl VideoRoom {
    pub(crate) fn create(
        &mut self,
        requester: Option<HandleRef>,
        body: &Map<String, Value>,
    ) -> Result<Value, PluginError> {
        if let Some(key) = &self.settings.admin_key {
            portunus_sdk::validate(body, &[Field::new("admin_key", JsonType::String).required()], &CODES)?;
            if str_of(body, "admin_key") != Some(key.as_str()) {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong admin_key)"));
            }
        }
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
            return Err(err(code::NO_SUCH_FEED, format!("No such publisher ({id})")));
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
        let sent = str_of(body, "action").unwrap_or_default();
        let action = sent.to_ascii_lowercase();
        let action = action.as_str();
        if !matches!(action, "enable" | "disable" | "add" | "remove") {
            return Err(err(code::INVALID_ELEMENT, format!("Unsupported action '{sent}' (allowed)")));
        }
        let (id, _) = self.room_with_secret(body)?;
        // (Tokens are looked at, as by Janus, only to add or remove them.)
        let tokens = match action {
            "add" | "remove" => crate::room::tokens(body)?,
            _ => None,
        };
        let Some(room) = self.rooms.get_mut(&id) else { return Err(err(code::NO_SUCH_ROOM, "No such room")) };
        // As in Janus, the list outlives the check: `disable` keeps it for the next `enable`,
        // and `add` and `remove` change it whether the check is on or not.
        match action {
            "enable" => {
                if room.allowed.is_none() {
                    room.allowed = Some(std::mem::take(&mut room.allowed_off));
                }
            }
            "disable" => {
                if let Some(list) = room.allowed.take() {
                    room.allowed_off = list;
                }
            }
            _ => {
                let list = room.allowed.as_mut().unwrap_or(&mut room.allowed_off);
                for t in tokens.unwrap_or_default() {
                    if action == "add" {
                        list.insert(t);
                    } else {
                        list.remove(&t);
                    }
                }
            }
        }
        let mut data = videoroom("success", json!({"room": id.to_json()}));
        if action != "disable" {
            data["allowed"] = json!(room.allowed.as_ref().unwrap_or(&room.allowed_off));
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

    /// `rtp_forward`: a publisher's streams to UDP destinations, through the host's RTP outputs.
    pub(crate) fn rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const FORWARD: &[Field] = &[
            Field::new("host", JsonType::String).required(),
            Field::new("streams", JsonType::Array),
            Field::new("srtp_suite", JsonType::Integer).positive(),
            Field::new("srtp_crypto", JsonType::String),
        ];
        let (room, _) =
            if self.settings.lock_rtp_forward { self.room_with_secret(body)? } else { self.room(body)? };
        let publisher_id = self.participant_id(body, "publisher_id")?;
        portunus_sdk::validate(body, FORWARD, &CODES)?;
        let Some(handle) = self.members.get(&(room.clone(), publisher_id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such publisher ({publisher_id})")));
        };
        let host_addr = str_of(body, "host").unwrap_or_default().to_owned();
        let streams = match body.get("streams") {
            Some(Value::Array(s)) => s.clone(),
            _ => Vec::new(),
        };
        let Some(p) = self.publisher(handle.handle) else {
            return Err(err(code::NO_SUCH_FEED, format!("No such publisher ({publisher_id})")));
        };
        let mut made = Vec::new();
        for s in &streams {
            let mid = s.get("mid").and_then(Value::as_str).unwrap_or_default().to_owned();
            let Some(stream) = p.streams.iter().find(|x| x.mid == mid) else {
                return Err(err(code::NO_SUCH_FEED, format!("No such stream ({mid})")));
            };
            let Some(port) = s.get("port").and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()) else {
                return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (port)"));
            };
            let target_host = s.get("host").and_then(Value::as_str).unwrap_or(&host_addr).to_owned();
            let ssrc = s.get("ssrc").and_then(Value::as_u64).and_then(|v| u32::try_from(v).ok());
            let pt = s.get("pt").and_then(Value::as_u64).and_then(|v| u8::try_from(v).ok());
            let substream = s.get("substream").and_then(Value::as_u64).and_then(|v| u8::try_from(v).ok());
            let codec = (!stream.codec.is_empty()).then(|| stream.codec.clone());
            made.push((mid, stream.kind, codec, target_host, port, ssrc, pt, substream));
        }
        let mut forwarders = Vec::new();
        for (mid, kind, codec, target_host, port, ssrc, pt, substream) in made {
            let target = RtpTarget { host: target_host.clone(), port, ssrc, payload_type: pt, srtp: None };
            let options = ForwardOptions { kinds: Vec::new(), substream, temporal: None };
            let rule = host::forward_rtp(Endpoint::Peer(handle), &mid, &target, &options)
                .map_err(|e| err(code::UNKNOWN, format!("Error forwarding: {e}")))?;
            let mut listed =
                json!({"stream_id": rule, "type": kind_name(kind), "host": target_host, "port": port});
            if let Some(ssrc) = ssrc {
                listed["ssrc"] = json!(ssrc);
            }
            if let Some(pt) = pt {
                listed["pt"] = json!(pt);
            }
            if let Some(sub) = substream {
                listed["substream"] = json!(sub);
            }
            forwarders.push(listed.clone());
            portunus_sdk::notify_event(None, || {
                let mut told = listed.clone();
                told["event"] = json!("rtp_forward");
                told["room"] = room.to_json();
                told["publisher_id"] = publisher_id.to_json();
                told["media"] = json!(kind_name(kind));
                if let Some(codec) = &codec {
                    told["codec"] = json!(codec);
                }
                if let Some(sub) = substream {
                    told["video_substream"] = json!(sub);
                }
                told
            });
            if let Some(p) = self.publisher_mut(handle.handle) {
                p.forwarders.insert(rule, (mid, listed));
            }
        }
        Ok(videoroom(
            "rtp_forward",
            json!({"room": room.to_json(), "publisher_id": publisher_id.to_json(), "forwarders": forwarders}),
        ))
    }

    pub(crate) fn stop_rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) =
            if self.settings.lock_rtp_forward { self.room_with_secret(body)? } else { self.room(body)? };
        let publisher_id = self.participant_id(body, "publisher_id")?;
        portunus_sdk::validate(
            body,
            &[Field::new("stream_id", JsonType::Integer).required().positive()],
            &CODES,
        )?;
        let stream_id = body.get("stream_id").and_then(Value::as_u64).unwrap_or_default();
        let Some(handle) = self.members.get(&(room.clone(), publisher_id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such publisher ({publisher_id})")));
        };
        let removed = self.publisher_mut(handle.handle).and_then(|p| p.forwarders.remove(&stream_id));
        if removed.is_none() {
            return Err(err(code::NO_SUCH_FEED, format!("No such stream ({stream_id})")));
        }
        host::unforward(stream_id);
        portunus_sdk::notify_event(None, || {
            json!({"event": "stop_rtp_forward", "room": room.to_json(), "publisher_id": publisher_id.to_json(),
                   "stream_id": stream_id})
        });
        Ok(videoroom(
            "stop_rtp_forward",
            json!({"room": room.to_json(), "publisher_id": publisher_id.to_json(), "stream_id": stream_id}),
        ))
    }

    pub(crate) fn list_forwarders(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let publishers: Vec<Value> = self
            .members_of(&room)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| p.ever_published || !p.forwarders.is_empty())
            .map(|p| {
                let forwarders: Vec<&Value> = p.forwarders.values().map(|(_, v)| v).collect();
                let mut d = json!({"publisher_id": p.id.to_json()});
                if let Some(display) = &p.display {
                    d["display"] = json!(display);
                }
                d["forwarders"] = json!(forwarders);
                d
            })
            .collect();
        Ok(videoroom("forwarders", json!({"room": room.to_json(), "publishers": publishers})))
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

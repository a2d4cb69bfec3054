//! Room management: `create`, `edit`, `destroy`, `exists`, `list`, `listparticipants`,
//! `allowed`, `kick`. `permanent: true` writes the rooms back to the config file first; when
//! that fails, nothing changes and the request says why.

use portunus_sdk::allowed;
use portunus_sdk::{host, json, Field, HandleRef, Id, JsonType, PluginError, Value};
use serde_json::Map;

use crate::chat::who;
use crate::room::{Room, EDIT_FIELDS, ROOM_FIELDS};
use crate::{code, err, str_of, textroom, Origin, TextRoom, CODES};

impl TextRoom {
    /// The answer to `create`, `edit` and `destroy`: `success` on the data channel, the verb's
    /// own name (`created`, …) over the Janus API, as from Janus.
    fn done(origin: Origin, api_name: &str, id: &Id, permanent: bool) -> Value {
        let name = if origin == Origin::Api { api_name } else { "success" };
        textroom(name, json!({"room": id.to_json(), "permanent": permanent}))
    }

    /// With an `admin_key` configured, whether the request has it: none is 413 (when
    /// `required`), a wrong one 419.
    fn admin(&self, body: &Map<String, Value>, required: bool) -> Result<bool, PluginError> {
        let Some(key) = &self.settings.admin_key else { return Ok(false) };
        let field = Field::new("admin_key", JsonType::String);
        portunus_sdk::validate(body, &[if required { field.required() } else { field }], &CODES)?;
        match str_of(body, "admin_key") {
            None => Ok(false),
            Some(given) if given == key => Ok(true),
            Some(_) => Err(err(code::UNAUTHORIZED, "Unauthorized (wrong admin_key)")),
        }
    }

    pub(crate) fn create(&mut self, body: &Map<String, Value>, origin: Origin) -> Result<Value, PluginError> {
        portunus_sdk::validate(body, &[self.id_field("room")], &CODES)?;
        portunus_sdk::validate(body, ROOM_FIELDS, &CODES)?;
        self.admin(body, true)?;
        allowed::strings(body, &CODES)?;
        // Room 0 (or none): a random one.
        let id = Id::choose(body.get("room"), self.settings.string_ids, |id| self.rooms.contains_key(id))
            .map_err(|id| err(code::ROOM_EXISTS, format!("Room {id} already exists")))?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        let room = Room { permanent, ..Room::from_keys(id.clone(), body) };
        if permanent {
            self.save_config(self.rooms.values().chain([&room]))?;
        }
        self.rooms.insert(id.clone(), room);
        portunus_sdk::info!("created room {id}");
        Ok(Self::done(origin, "created", &id, permanent))
    }

    pub(crate) fn edit(&mut self, body: &Map<String, Value>, origin: Origin) -> Result<Value, PluginError> {
        portunus_sdk::validate(body, EDIT_FIELDS, &CODES)?;
        let (id, room) = self.room_with_secret(body)?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        let mut edited = room.clone();
        edited.edit(body);
        if permanent {
            edited.permanent = true;
            self.save_config(self.rooms.values().filter(|r| r.id != id).chain([&edited]))?;
        }
        self.rooms.insert(id.clone(), edited);
        Ok(Self::done(origin, "edited", &id, permanent))
    }

    /// `destroy`: the asker (on its data channel, if it is not in the room) and the room's
    /// members hear `destroyed`, and the members are out of it.
    pub(crate) fn destroy(
        &mut self,
        handle: Option<HandleRef>,
        body: &Map<String, Value>,
        origin: Origin,
    ) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("permanent", JsonType::Bool)], &CODES)?;
        let permanent = body.get("permanent").and_then(Value::as_bool) == Some(true);
        if permanent {
            self.save_config(self.rooms.values().filter(|r| r.id != id))?;
        }
        let destroyed = textroom("destroyed", json!({"room": id.to_json()}));
        // The one who asked hears it on its data channel, member or not.
        if let Some(handle) = handle {
            let session = self.handles.get(&handle.handle);
            if session.is_some_and(|s| s.setup && !s.rooms.contains_key(&id)) {
                host::send_data(handle, None, destroyed.to_string().as_bytes(), true);
            }
        }
        self.tell(&id, &destroyed);
        let names: Vec<String> = self.members_of(&id).map(|(name, _)| name.to_owned()).collect();
        for name in names {
            self.drop_member(&id, name);
        }
        let kept: Vec<(Id, u64)> =
            self.kept.range((id.clone(), 0)..=(id.clone(), u64::MAX)).map(|(k, _)| k.clone()).collect();
        for k in kept {
            self.kept.remove(&k);
        }
        self.rooms.remove(&id);
        portunus_sdk::info!("destroyed room {id}");
        Ok(Self::done(origin, "destroyed", &id, permanent))
    }

    /// Writes the config file with these rooms' permanent ones.
    fn save_config<'a>(&self, rooms: impl Iterator<Item = &'a Room>) -> Result<(), PluginError> {
        let rooms = rooms.filter(|r| r.permanent).map(|r| (&r.id, r.to_config()));
        self.settings
            .file
            .save(rooms)
            .map_err(|e| err(code::UNKNOWN, format!("Error saving the room to the configuration: {e}")))
    }

    pub(crate) fn exists(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let id = self.room_id(body)?;
        let exists = self.rooms.contains_key(&id);
        Ok(textroom("success", json!({"room": id.to_json(), "exists": exists})))
    }

    /// The public rooms (all of them with the right `admin_key`).
    pub(crate) fn list(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let admin = self.admin(body, false)?;
        let list: Vec<Value> =
            self.rooms.values().filter(|r| admin || !r.is_private).map(Room::describe).collect();
        Ok(textroom("success", json!({ "list": list })))
    }

    pub(crate) fn list_participants(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room(body)?;
        let participants: Vec<Value> = self.members_of(&id).map(|(name, m)| who(name, m)).collect();
        Ok(textroom("success", json!({"room": id.to_json(), "participants": participants})))
    }

    /// `allowed`: token checking on (`enable`) or off (`disable`, which keeps the list), or
    /// tokens added to or removed from the list.
    pub(crate) fn allowed(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const ALLOWED: &[Field] =
            &[Field::new("action", JsonType::String).required(), Field::new("allowed", JsonType::Array)];
        portunus_sdk::validate(body, ALLOWED, &CODES)?;
        let action = allowed::Action::of(body, &CODES)?;
        let (id, _) = self.room_with_secret(body)?;
        let Some(room) = self.rooms.get_mut(&id) else {
            return Err(err(code::NO_SUCH_ROOM, format!("No such room ({id})")));
        };
        let mut answer = textroom("success", json!({"room": id.to_json()}));
        if let Some(list) = room.allowed.apply(action, body, &CODES)? {
            answer["allowed"] = list;
        }
        Ok(answer)
    }

    /// `kick` (needs the secret): the user is out of the room, and everyone there (the user
    /// too) hears `kicked`.
    pub(crate) fn kick(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        portunus_sdk::validate(body, &[Field::new("username", JsonType::String).required()], &CODES)?;
        let username = str_of(body, "username").unwrap_or_default().to_owned();
        let Some(member) = self.members.get(&(id.clone(), username.clone())) else {
            return Err(err(code::NO_SUCH_USER, format!("No such user {username} in room {id}")));
        };
        // Janus's TextRoom tells the event handlers `textroom: kicked`, about the kicked one.
        portunus_sdk::notify_event(
            Some(member.handle),
            || json!({"textroom": "kicked", "room": id.to_json(), "username": username}),
        );
        self.tell(&id, &textroom("kicked", json!({"room": id.to_json(), "username": username})));
        self.drop_member(&id, username);
        Ok(textroom("success", json!({})))
    }
}

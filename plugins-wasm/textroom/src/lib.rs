//! `janus.plugin.textroom`: text chat rooms, as Janus's TextRoom.
//!
//! A client attaches, asks for `setup` and gets an offer with one data channel; it answers with
//! `ack`. From then on it talks to the plugin in JSON over that channel,
//! `{"textroom": <verb>, "transaction": …, …}`: `join` a room with a username, `message` it
//! (everyone, or whispers `to`/`tos`), `announcement`, `leave`, and the room management
//! verbs (`create`, `edit`, `destroy`, `exists`, `list`, `listparticipants`, `allowed`,
//! `kick`). Every reply carries the request's transaction; the others in a room hear `join`,
//! `leave`, `message`, `announcement`, `kicked` and `destroyed`, all of them in one host call.
//! Rooms keep their last `history` public messages for those who join.
//!
//! The same verbs work as Janus API requests (`request`), answered at once. Janus 1.1 takes
//! only the management verbs there; here `join`, `message` and `leave` work too, and a
//! participant that joined that way gets the room's events as plugin events rather than on a
//! data channel.
//!
//! Answers, events, their order and error codes are Janus 1.1's (`janus-api.md` §4.6), with the
//! fixes of later Janus versions where 1.1.2 is plainly wrong (`kick` answers
//! `textroom: success`, not `textbridge`; `listparticipants` has its `textroom` key, which
//! janode needs). `permanent: true` writes the rooms back to `janus.plugin.textroom.jcfg`.
//!
//! Replies and events are compact JSON (Janus 1.1's `json = "indented"` setting is not read;
//! newer Janus versions default to compact too).
//!
//! A room with `post` (an `http://` or `https://` URL) has its public messages and
//! announcements posted there too, as Janus does (the host's `http-post`; the backend's address
//! must be allowed by the plugin's `sandbox.send_to`).

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod chat;
mod date;
mod manage;
mod room;

use portunus_sdk::{
    ack, host, json, ok, ErrorCodes, Field, HandleRef, Id, JsonType, Keyed, MediaEvent, Message,
    OfferedStream, Plugin, PluginError, PluginInfo, Reply, Request, RoomsConfig, StateChange, StateEntry,
    Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use room::Room;

const PACKAGE: &str = "janus.plugin.textroom";
const NAME: &str = "JANUS TextRoom plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str = "This is a plugin implementing a text-only room for Janus, using DataChannels.";

/// Janus's TextRoom error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 411;
    pub const INVALID_JSON: u32 = 412;
    pub const MISSING_ELEMENT: u32 = 413;
    pub const INVALID_ELEMENT: u32 = 414;
    pub const INVALID_REQUEST: u32 = 415;
    pub const ALREADY_SETUP: u32 = 416;
    pub const NO_SUCH_ROOM: u32 = 417;
    pub const ROOM_EXISTS: u32 = 418;
    pub const UNAUTHORIZED: u32 = 419;
    pub const USERNAME_EXISTS: u32 = 420;
    pub const ALREADY_IN_ROOM: u32 = 421;
    pub const NOT_IN_ROOM: u32 = 422;
    pub const NO_SUCH_USER: u32 = 423;
}

const CODES: ErrorCodes = ErrorCodes {
    invalid_json: code::INVALID_JSON,
    missing_element: code::MISSING_ELEMENT,
    invalid_element: code::INVALID_ELEMENT,
};

/// Plugin-wide settings from the `general` section of the config.
#[derive(Debug, Clone, Default)]
struct Settings {
    /// Needed to create rooms, when set.
    admin_key: Option<String>,
    /// Room ids are strings.
    string_ids: bool,
    /// The config file, for `permanent` rooms.
    file: RoomsConfig,
}

/// Someone in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Member {
    handle: HandleRef,
    display: Option<String>,
    /// Joined through the Janus API: the room's events go out as plugin events.
    api: bool,
}

/// What the plugin knows of a handle.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Session {
    /// `setup` made its offer. A hangup resets it, so a handle can set up again (Janus 1.1
    /// refuses that with 416 and needs a new handle).
    setup: bool,
    /// The rooms it is in, with its username in each.
    rooms: Joined,
}

/// The rooms a handle is in, with its username in each: a list, not a map, since a JSON
/// object's keys would bring numeric room ids back as strings after a restore.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Joined(Vec<(Id, String)>);

impl Joined {
    fn get(&self, room: &Id) -> Option<&String> {
        self.0.iter().find(|(r, _)| r == room).map(|(_, name)| name)
    }

    fn contains_key(&self, room: &Id) -> bool {
        self.get(room).is_some()
    }

    fn insert(&mut self, room: Id, name: String) {
        self.remove(&room);
        self.0.push((room, name));
    }

    fn remove(&mut self, room: &Id) -> Option<String> {
        let i = self.0.iter().position(|(r, _)| r == room)?;
        Some(self.0.swap_remove(i).1)
    }

    fn keys(&self) -> impl Iterator<Item = &Id> {
        self.0.iter().map(|(room, _)| room)
    }

    fn iter(&self) -> impl Iterator<Item = (&Id, &String)> {
        self.0.iter().map(|(room, name)| (room, name))
    }
}

/// An offer the host is making for `setup` or `restart`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Offer {
    transaction: String,
    restart: bool,
}

/// The plugin. Every map is saved per entry, so a checkpoint costs what a request touched.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct TextRoom {
    #[serde(skip)]
    settings: Settings,
    rooms: Keyed<Id, Room>,
    /// The participants of each room: (room, username).
    members: Keyed<(Id, String), Member>,
    handles: Keyed<u64, Session>,
    /// The messages rooms keep for those who join: (room, number).
    kept: Keyed<(Id, u64), String>,
    /// Offers the host is making: (handle, negotiation).
    pending: Keyed<(u64, u64), Offer>,
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

/// `{"textroom": kind, …fields}`.
fn textroom(kind: &str, fields: Value) -> Value {
    portunus_sdk::tagged(PACKAGE, kind, fields)
}

/// An error as TextRoom answers it.
fn error_json(e: &PluginError) -> Value {
    textroom("error", json!({"error_code": e.code, "error": e.text}))
}

/// A field of a validated body.
fn str_of<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

/// Where a request came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Origin {
    /// The Janus API (`message` with `request`).
    Api,
    /// The handle's data channel (`textroom`).
    Data,
}

/// The verbs admin `message_plugin` takes, as Janus's TextRoom does (no member asks).
const ADMIN: &[&str] =
    &["list", "listparticipants", "exists", "create", "edit", "announcement", "allowed", "kick", "destroy"];

/// The verbs that are also Janus API requests.
const VERBS: &[&str] = &[
    "join",
    "leave",
    "message",
    "announcement",
    "create",
    "edit",
    "destroy",
    "exists",
    "list",
    "listparticipants",
    "allowed",
    "kick",
];

impl TextRoom {
    /// A room's id field, as `string_ids` has it.
    fn id_field(&self, name: &'static str) -> Field {
        portunus_sdk::rooms::id_field(name, self.settings.string_ids)
    }

    /// The room a request names (`room`), with Janus's errors.
    fn room_id(&self, body: &Map<String, Value>) -> Result<Id, PluginError> {
        portunus_sdk::rooms::id_of(body, "room", self.settings.string_ids, &CODES)
    }

    fn room(&self, body: &Map<String, Value>) -> Result<(Id, &Room), PluginError> {
        let id = self.room_id(body)?;
        match self.rooms.get(&id) {
            Some(room) => Ok((id, room)),
            None => Err(err(code::NO_SUCH_ROOM, format!("No such room ({id})"))),
        }
    }

    /// The room, if the handle is in it: its username there.
    fn username_in(&self, handle: HandleRef, room: &Id) -> Result<String, PluginError> {
        let name = self.handles.get(&handle.handle).and_then(|s| s.rooms.get(room));
        name.cloned().ok_or_else(|| err(code::NOT_IN_ROOM, format!("Not in room {room}")))
    }

    /// The room, if `secret` opens it.
    fn room_with_secret(&self, body: &Map<String, Value>) -> Result<(Id, &Room), PluginError> {
        let (id, room) = self.room(body)?;
        portunus_sdk::rooms::check_key(body, "secret", room.secret.as_deref(), &CODES, code::UNAUTHORIZED)?;
        Ok((id, room))
    }

    /// The members of a room: (username, member).
    fn members_of<'a>(&'a self, room: &'a Id) -> impl Iterator<Item = (&'a str, &'a Member)> + 'a {
        self.members
            .range((room.clone(), String::new())..)
            .take_while(move |((r, _), _)| r == room)
            .map(|((_, name), m)| (name.as_str(), m))
    }

    /// Sends an event to everyone in a room, on their data channels or as plugin events: one
    /// host call for each kind.
    fn tell(&self, room: &Id, event: &Value) {
        self.send_to(room, self.members_of(room).map(|(_, m)| m), event);
    }

    /// Sends an event to these members of a room.
    fn send_to<'a>(&self, room: &Id, to: impl Iterator<Item = &'a Member>, event: &Value) {
        let (mut data, mut api) = (Vec::new(), Vec::new());
        for m in to {
            if m.api {
                api.push(m.handle);
            } else {
                data.push(m.handle);
            }
        }
        if !data.is_empty() {
            host::send_data_many(&data, None, event.to_string().as_bytes(), true);
        }
        if !api.is_empty() {
            if let Err(e) = portunus_sdk::push_event_many(&api, event) {
                portunus_sdk::warn!("room {room}: could not send an event: {e}");
            }
        }
    }

    /// A request (`verb`), from either origin: its success answer, or none when the request
    /// asked for no answer (`message` with `ack: false`).
    /// Without a handle (admin `message_plugin`), only [`ADMIN`]'s verbs.
    fn request(
        &mut self,
        handle: Option<HandleRef>,
        verb: &str,
        body: &Map<String, Value>,
        origin: Origin,
    ) -> Result<Option<Value>, PluginError> {
        let answer = match (verb, handle) {
            ("join", Some(handle)) => self.join(handle, body, origin)?,
            ("leave", Some(handle)) => self.leave(handle, body)?,
            ("message", Some(handle)) => return self.message(handle, body),
            _ => self.managing(handle, verb, body, origin)?,
        };
        // The event handlers hear of rooms made, changed and gone, as Janus's TextRoom tells
        // them (about the handle that asked).
        if matches!(verb, "create" | "edit" | "destroy") {
            portunus_sdk::notify_event(
                handle,
                || json!({"event": answer["textroom"], "room": answer["room"]}),
            );
        }
        Ok(Some(answer))
    }

    /// The requests that manage rooms, which need no member ([`ADMIN`]).
    fn managing(
        &mut self,
        handle: Option<HandleRef>,
        verb: &str,
        body: &Map<String, Value>,
        origin: Origin,
    ) -> Result<Value, PluginError> {
        Ok(match verb {
            "announcement" => self.announcement(body)?,
            "create" => self.create(body, origin)?,
            "edit" => self.edit(body, origin)?,
            "destroy" => self.destroy(handle, body, origin)?,
            "exists" => self.exists(body)?,
            "list" => self.list(body)?,
            "listparticipants" => self.list_participants(body)?,
            "allowed" => self.allowed(body)?,
            "kick" => self.kick(body)?,
            other => return Err(err(code::INVALID_REQUEST, format!("Unsupported request {other}"))),
        })
    }

    /// A data-channel message: a request, answered on the channel with its transaction (text
    /// that is not JSON gets no answer, as from Janus).
    fn data_request(&mut self, handle: HandleRef, text: &str) {
        let Ok(parsed) = serde_json::from_str::<Value>(text) else {
            portunus_sdk::debug!("[{}] data that is not JSON ignored", handle.handle);
            return;
        };
        let mut transaction = None;
        let body = parsed.as_object().cloned().unwrap_or_default();
        let answer = (|| {
            const ENVELOPE: &[Field] = &[
                Field::new("textroom", JsonType::String).required(),
                Field::new("transaction", JsonType::String).required(),
            ];
            portunus_sdk::validate(&body, ENVELOPE, &CODES)?;
            transaction = str_of(&body, "transaction").map(str::to_owned);
            let verb = str_of(&body, "textroom").unwrap_or_default().to_ascii_lowercase();
            self.request(Some(handle), &verb, &body, Origin::Data)
        })();
        let mut answer = match answer {
            Ok(Some(answer)) => answer,
            Ok(None) => return,
            Err(e) => error_json(&e),
        };
        if let Some(t) = transaction {
            answer["transaction"] = json!(t);
        }
        host::send_data(handle, None, answer.to_string().as_bytes(), true);
    }

    /// `setup` (and `restart`): the host offers a data channel; the event goes out with it.
    fn setup(&mut self, msg: &Message, restart: bool) -> Result<(), PluginError> {
        let handle = msg.handle;
        let session = self.handles.get(&handle.handle).cloned().unwrap_or_default();
        if session.setup && !restart {
            return Err(err(code::ALREADY_SETUP, "PeerConnection already setup"));
        }
        if !session.setup && restart {
            return Err(err(code::ALREADY_SETUP, "PeerConnection not setup"));
        }
        // A restart offers nothing new: the host restarts ICE.
        let streams: &[OfferedStream] = if restart { &[] } else { &[OfferedStream::Data] };
        let id = host::offer(handle, streams).map_err(|e| err(code::UNKNOWN, e))?;
        self.pending.insert((handle.handle, id), Offer { transaction: msg.transaction.clone(), restart });
        let session = self.handles.get_mut(&handle.handle);
        match session {
            Some(s) => s.setup = true,
            None => {
                self.handles.insert(handle.handle, Session { setup: true, ..Session::default() });
            }
        }
        Ok(())
    }

    /// The asynchronous requests of the Janus API: `setup`, `ack`, `restart`.
    fn process(&mut self, msg: &Message, request: &str) -> Result<(), PluginError> {
        match request {
            "setup" => self.setup(msg, false),
            "restart" => self.setup(msg, true),
            // The host applied the answer before the plugin saw the message.
            _ => {
                let ok = textroom("event", json!({"result": "ok"}));
                portunus_sdk::push_event(msg.handle, Some(&msg.transaction), &ok, None)
                    .map_err(|e| err(code::UNKNOWN, e))
            }
        }
    }

    /// Leaves every room (the handle is going or hung up).
    fn leave_all(&mut self, handle: HandleRef) {
        let rooms: Vec<Id> =
            self.handles.get(&handle.handle).map(|s| s.rooms.keys().cloned().collect()).unwrap_or_default();
        for room in rooms {
            self.leave_room(handle, &room);
        }
    }

    /// Forgets a handle's offers in progress.
    fn drop_pending(&mut self, handle: u64) {
        let ids: Vec<(u64, u64)> =
            self.pending.range((handle, 0)..=(handle, u64::MAX)).map(|(k, _)| *k).collect();
        for id in ids {
            self.pending.remove(&id);
        }
    }
}

impl Plugin for TextRoom {
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
        let general = config.get("general");
        let setting = |name: &str| general.and_then(|g| g.get(name));
        let string_ids = setting("string_ids").and_then(portunus_sdk::rooms::flag).unwrap_or(false);
        let (file, rooms) = RoomsConfig::parse(config, string_ids);
        self.settings = Settings {
            admin_key: setting("admin_key").and_then(Value::as_str).map(str::to_owned),
            string_ids,
            file,
        };
        for (id, keys) in rooms {
            // A config room without a description is named for its section, as in Janus.
            let mut room = Room::from_keys(id.clone(), &keys);
            if !keys.contains_key("description") {
                room.description = format!("room-{id}");
            }
            room.allowed.check = false;
            self.rooms.insert(id, Room { permanent: true, ..room });
        }
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: 2,
            version_string: "0.0.2".to_owned(),
        })
    }

    fn handle_admin_message(&mut self, request: Value) -> Result<Value, String> {
        // Answered as over the Janus API, errors as `textroom: error` (as Janus's are).
        let answer = |verb: &str, body: &Map<String, Value>| {
            ADMIN.contains(&verb).then(|| {
                Ok(match self.request(None, verb, body, Origin::Api) {
                    Ok(answer) => answer.unwrap_or_else(|| textroom("success", json!({}))),
                    Err(e) => error_json(&e),
                })
            })
        };
        Ok(portunus_sdk::admin_answer(request, &CODES, code::INVALID_REQUEST, PACKAGE, answer))
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        // What is wrong with the request itself is a `textroom: event` error, what the verb
        // finds wrong a `textroom: error` one (as from Janus).
        let Request { body, verb: request, sent } = match msg.request(&CODES, code::NO_MESSAGE) {
            Ok(r) => r,
            Err(e) => return e.into_reply(PACKAGE),
        };
        if matches!(request.as_str(), "setup" | "ack" | "restart") {
            if let Err(e) = self.process(&msg, &request) {
                if let Err(push_err) =
                    portunus_sdk::push_event(msg.handle, Some(&msg.transaction), &error_json(&e), None)
                {
                    portunus_sdk::warn!("[{}] could not push an error: {push_err}", msg.handle.handle);
                }
            }
            return ack(None);
        }
        if !VERBS.contains(&request.as_str()) {
            return err(code::INVALID_REQUEST, format!("Unknown request '{sent}'")).into_reply(PACKAGE);
        }
        match self.request(Some(msg.handle), &request, &body, Origin::Api) {
            Ok(Some(answer)) => ok(&answer),
            Ok(None) => ok(&textroom("success", json!({}))),
            Err(e) => ok(&error_json(&e)),
        }
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::Negotiation(result) => {
                let Some(offer) = self.pending.remove(&(handle.handle, result.id)) else { return };
                let transaction = offer.transaction;
                let (data, jsep) = match result.outcome {
                    Ok(done) => (textroom("event", json!({"result": "ok"})), done.jsep),
                    Err(reason) => {
                        // A first setup that failed can be tried again; a failed restart
                        // leaves the PeerConnection as it was.
                        if let Some(s) = self.handles.get_mut(&handle.handle).filter(|_| !offer.restart) {
                            s.setup = false;
                        }
                        (error_json(&err(code::UNKNOWN, reason)), None)
                    }
                };
                if let Err(e) = portunus_sdk::push_event(handle, Some(&transaction), &data, jsep.as_deref()) {
                    portunus_sdk::warn!("[{}] could not push the offer: {e}", handle.handle);
                }
            }
            MediaEvent::Hangup(_) => {
                // Without its data channel, a participant is gone from its rooms (but those it
                // joined through the Janus API).
                let rooms: Vec<Id> = self
                    .handles
                    .get(&handle.handle)
                    .map(|s| s.rooms.keys().cloned().collect())
                    .unwrap_or_default();
                for room in rooms {
                    let name = self.handles.get(&handle.handle).and_then(|s| s.rooms.get(&room).cloned());
                    let api = name.and_then(|n| self.members.get(&(room.clone(), n))).is_some_and(|m| m.api);
                    if !api {
                        self.leave_room(handle, &room);
                    }
                }
                if let Some(s) = self.handles.get_mut(&handle.handle) {
                    s.setup = false;
                }
                self.drop_pending(handle.handle);
            }
            _ => {}
        }
    }

    fn incoming_data(&mut self, handle: HandleRef, _label: Option<String>, data: Vec<u8>, is_text: bool) {
        if !is_text {
            portunus_sdk::debug!("[{}] binary data ignored", handle.handle);
            return;
        }
        match std::str::from_utf8(&data) {
            Ok(text) => self.data_request(handle, text),
            Err(_) => portunus_sdk::debug!("[{}] data that is not UTF-8 ignored", handle.handle),
        }
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.leave_all(handle);
        self.handles.remove(&handle.handle);
        self.drop_pending(handle.handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.handles.get(&handle.handle) {
            Some(s) => {
                let rooms: Vec<Value> = s
                    .rooms
                    .iter()
                    .map(|(id, name)| json!({"room": id.to_json(), "username": name}))
                    .collect();
                json!({"setup": s.setup, "rooms": rooms})
            }
            None => json!({}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.rooms.save("room/", full, &mut out);
        self.members.save("member/", full, &mut out);
        self.handles.save("handle/", full, &mut out);
        self.kept.save("kept/", full, &mut out);
        self.pending.save("pending/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.rooms.load("room/", &entries)?;
        self.members.load("member/", &entries)?;
        self.handles.load("handle/", &entries)?;
        self.kept.load("kept/", &entries)?;
        self.pending.load("pending/", &entries)
    }
}

portunus_sdk::export_plugin!(TextRoom);

//! `janus.plugin.videoroom`: Janus's multistream SFU, as a Portunus plugin.
//!
//! Rooms hold participants. A **publisher** joins a room and sends its streams (`publish`,
//! `joinandconfigure` or `configure` with an offer); the others in the room hear about it
//! (`publishers`). A **subscriber** joins with the streams it wants (`streams: [{feed, mid?}]`,
//! or the legacy `feed`): the gateway offers them on one PeerConnection (`attached` with the
//! offer), the client answers with `start`, and media flows, each stream through a forwarding
//! rule in the host from the publisher's stream to the subscriber's. `pause` and `start`, per
//! stream `configure` (`send`, `substream`, `temporal`) and `subscribe` (more streams, one new
//! offer) change what flows. The plugin never touches a packet.
//!
//! Requests, answers, events and error codes are Janus 1.1's (`janus-api.md` §4.2): management
//! requests (`create`, `edit`, `destroy`, `exists`, `list`, `allowed`, `kick`,
//! `listparticipants`, `rtp_forward`, `stop_rtp_forward`, `listforwarders`) answer at once,
//! the others `ack` and answer with an event.
//!
//! Not done yet (each answers Janus's "unknown request" or is ignored, as listed in the
//! docs): `unsubscribe`, `update` and `switch`, automatic offers when a publisher leaves
//! (`autoupdate`), data channels, `moderate`, recording, talking events, remote publishers,
//! and `permanent` rooms written back to the config file.

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod ids;
mod room;
mod sdp;

use std::collections::BTreeMap;

use portunus_sdk::{
    ack, host, json, ok, AnswerPolicy, Direction, Endpoint, ErrorCodes, Field, ForwardOptions, ForwardSource,
    HandleRef, JsonType, Keyed, LayerChange, MediaEvent, MediaKind, Message, NegotiationResult,
    OfferedStream, Plugin, PluginError, PluginInfo, Reply, RtpTarget, StateChange, StateEntry, StreamInfo,
    Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use ids::Id;
use room::{Room, ROOM_FIELDS};

const PACKAGE: &str = "janus.plugin.videoroom";
const NAME: &str = "JANUS VideoRoom plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str = "This is a plugin implementing a videoconferencing SFU (Selective Forwarding Unit) for Janus, that is an audio/video router.";

/// Janus's VideoRoom error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 421;
    pub const INVALID_JSON: u32 = 422;
    pub const INVALID_REQUEST: u32 = 423;
    pub const JOIN_FIRST: u32 = 424;
    pub const ALREADY_JOINED: u32 = 425;
    pub const NO_SUCH_ROOM: u32 = 426;
    pub const ROOM_EXISTS: u32 = 427;
    pub const NO_SUCH_FEED: u32 = 428;
    pub const MISSING_ELEMENT: u32 = 429;
    pub const INVALID_ELEMENT: u32 = 430;
    pub const INVALID_SDP_TYPE: u32 = 431;
    pub const PUBLISHERS_FULL: u32 = 432;
    pub const UNAUTHORIZED: u32 = 433;
    pub const ALREADY_PUBLISHED: u32 = 434;
    pub const NOT_PUBLISHED: u32 = 435;
    pub const ID_EXISTS: u32 = 436;
    pub const INVALID_SDP: u32 = 437;
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
    /// Room and participant ids are strings.
    string_ids: bool,
    /// `rtp_forward` needs the room's secret (Janus's default: true).
    lock_rtp_forward: bool,
}

/// A stream a publisher sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct PubStream {
    mindex: usize,
    mid: String,
    kind: MediaKind,
    codec: String,
    simulcast: bool,
    description: Option<String>,
}

/// A participant that joined as a publisher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Publisher {
    room: Id,
    id: Id,
    private_id: u32,
    display: Option<String>,
    metadata: Option<Value>,
    /// Its PeerConnection is up: others can subscribe.
    active: bool,
    streams: Vec<PubStream>,
    /// Descriptions given before the streams were negotiated, by mid.
    descriptions: BTreeMap<String, String>,
    bitrate: u64,
    /// Its RTP forwarders: rule → (mid, target as listed).
    forwarders: BTreeMap<u64, (String, Value)>,
}

/// One stream of a subscriber's PeerConnection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SubStream {
    mindex: usize,
    /// Ours, once the offer is made.
    mid: Option<String>,
    kind: MediaKind,
    /// The publisher's handle and id, and its stream.
    feed: HandleRef,
    feed_id: Id,
    feed_mid: String,
    feed_display: Option<String>,
    codec: String,
    simulcast: bool,
    /// Media flows on it (the publisher still sends it).
    active: bool,
    /// The client wants it (`configure` `send`).
    send: bool,
    substream: Option<u8>,
    temporal: Option<u8>,
    /// The forwarding rule, while media flows.
    rule: Option<u64>,
}

/// A participant that joined as a subscriber.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Subscriber {
    room: Id,
    streams: Vec<SubStream>,
    /// The client answered (`start`) and did not `pause`.
    started: bool,
    /// An offer is being made: later changes wait for it (Janus's `updating`).
    offering: bool,
}

/// What a handle is in the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    /// Attached, not joined.
    Idle,
    /// Left its room (or was kicked, or the room is gone): requests find no room.
    Left,
    Publisher(Box<Publisher>),
    Subscriber(Box<Subscriber>),
}

/// How a participant leaves its room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Leaving {
    /// `leave`.
    Left,
    /// `kick`.
    Kicked,
    /// The handle is gone.
    Detached,
}

/// A negotiation the host is doing for a request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    handle: HandleRef,
    transaction: String,
    /// The event to send with the JSEP (`configured`, `joined`, `attached`, `updated`).
    event: Value,
}

/// The plugin. Every map is saved per entry, so a checkpoint costs what a request touched.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct VideoRoom {
    #[serde(skip)]
    settings: Settings,
    rooms: Keyed<Id, Room>,
    /// The participants of each room that joined as publishers: (room, id) → handle.
    members: Keyed<(Id, Id), HandleRef>,
    /// The subscribers of each publisher: (publisher handle, subscriber handle).
    watchers: Keyed<(u64, u64), HandleRef>,
    /// Every handle of the plugin.
    handles: Keyed<u64, Role>,
    /// Negotiations in progress, by id.
    pending: Keyed<u64, Pending>,
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

/// Pushes an event, logging (not failing) when the host refuses it.
fn push(handle: HandleRef, transaction: Option<&str>, data: &Value, jsep: Option<&str>) {
    if let Err(e) = portunus_sdk::push_event(handle, transaction, data, jsep) {
        portunus_sdk::warn!("[{}] could not push an event: {e}", handle.handle);
    }
}

fn videoroom(kind: &str, fields: Value) -> Value {
    let mut data = json!({ "videoroom": kind });
    if let (Some(obj), Value::Object(extra)) = (data.as_object_mut(), fields) {
        obj.extend(extra);
    }
    data
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Data => "data",
    }
}

/// A room's pin, when it has one: missing is 429, wrong is 433.
fn check_pin(room: &Room, body: &Map<String, Value>) -> Result<(), PluginError> {
    if room.pin.is_some() {
        portunus_sdk::validate(body, &[Field::new("pin", JsonType::String).required()], &CODES)?;
    }
    if !room.pin_ok(str_of(body, "pin")) {
        return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong pin)"));
    }
    Ok(())
}

/// A field of a validated body.
fn str_of<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

impl VideoRoom {
    /// The room a request names (`room`), with Janus's errors.
    fn room_id(&self, body: &Map<String, Value>) -> Result<Id, PluginError> {
        let ty = if self.settings.string_ids { JsonType::String } else { JsonType::Integer };
        let field = [Field::new("room", ty).required().positive()];
        portunus_sdk::validate(body, &field, &CODES)?;
        Id::from_json(body.get("room"), self.settings.string_ids)
            .ok_or_else(|| err(code::INVALID_ELEMENT, "Invalid element (room)"))
    }

    fn room(&self, body: &Map<String, Value>) -> Result<(Id, &Room), PluginError> {
        let id = self.room_id(body)?;
        match self.rooms.get(&id) {
            Some(room) => Ok((id, room)),
            None => Err(err(code::NO_SUCH_ROOM, format!("No such room ({id})"))),
        }
    }

    /// The room, if `secret` opens it.
    fn room_with_secret(&self, body: &Map<String, Value>) -> Result<(Id, &Room), PluginError> {
        let (id, room) = self.room(body)?;
        let required = room.secret.is_some();
        let secret = Field::new("secret", JsonType::String);
        portunus_sdk::validate(body, &[if required { secret.required() } else { secret }], &CODES)?;
        if !room.secret_ok(str_of(body, "secret")) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong secret)"));
        }
        Ok((id, room))
    }

    /// The publishers that joined a room: (id, handle).
    fn members_of<'a>(&'a self, room: &'a Id) -> impl Iterator<Item = (&'a Id, HandleRef)> + 'a {
        self.members
            .range((room.clone(), Id::MIN)..)
            .take_while(move |((r, _), _)| r == room)
            .map(|((_, id), h)| (id, *h))
    }

    fn publisher(&self, handle: u64) -> Option<&Publisher> {
        match self.handles.get(&handle) {
            Some(Role::Publisher(p)) => Some(p),
            _ => None,
        }
    }

    fn publisher_mut(&mut self, handle: u64) -> Option<&mut Publisher> {
        match self.handles.get_mut(&handle) {
            Some(Role::Publisher(p)) => Some(p),
            _ => None,
        }
    }

    fn subscriber_mut(&mut self, handle: u64) -> Option<&mut Subscriber> {
        match self.handles.get_mut(&handle) {
            Some(Role::Subscriber(s)) => Some(s),
            _ => None,
        }
    }

    /// Sends an event to the publishers of a room, but `except` (one host call).
    fn notify(&self, room: &Id, except: Option<u64>, data: &Value) {
        let handles: Vec<HandleRef> =
            self.members_of(room).map(|(_, h)| h).filter(|h| Some(h.handle) != except).collect();
        if !handles.is_empty() {
            if let Err(e) = portunus_sdk::push_event_many(&handles, data) {
                portunus_sdk::warn!("room {room}: could not notify: {e}");
            }
        }
    }

    /// A publisher as others see it (Janus's `P`); `talking` adds the talking flags Janus
    /// puts in a `joined` event's list.
    fn describe_publisher(p: &Publisher, talking: bool) -> Value {
        let mut d = json!({ "id": p.id.to_json() });
        if let Some(display) = &p.display {
            d["display"] = json!(display);
        }
        if let Some(metadata) = &p.metadata {
            d["metadata"] = metadata.clone();
        }
        for (key, kind) in [("audio_codec", MediaKind::Audio), ("video_codec", MediaKind::Video)] {
            if let Some(s) = p.streams.iter().find(|s| s.kind == kind) {
                d[key] = json!(s.codec);
            }
        }
        let streams: Vec<Value> = p
            .streams
            .iter()
            .map(|s| {
                let mut st = json!({"type": kind_name(s.kind), "mindex": s.mindex, "mid": s.mid});
                if s.kind != MediaKind::Data {
                    st["codec"] = json!(s.codec);
                }
                if let Some(d) = &s.description {
                    st["description"] = json!(d);
                }
                if s.simulcast {
                    st["simulcast"] = json!(true);
                }
                if talking && s.kind == MediaKind::Audio {
                    st["talking"] = json!(false);
                }
                st
            })
            .collect();
        d["streams"] = json!(streams);
        if talking {
            d["talking"] = json!(false);
        }
        d
    }

    /// The active publishers of a room, but `except`.
    fn active_publishers(&self, room: &Id, except: Option<u64>) -> Vec<Value> {
        self.members_of(room)
            .filter(|(_, h)| Some(h.handle) != except)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| p.active)
            .map(|p| Self::describe_publisher(p, true))
            .collect()
    }

    /// A subscriber's streams (Janus's `S`).
    fn describe_streams(sub: &Subscriber) -> Vec<Value> {
        sub.streams
            .iter()
            .map(|s| {
                let mut d = json!({
                    "mindex": s.mindex,
                    "mid": s.mid.clone().unwrap_or_default(),
                    "type": kind_name(s.kind),
                    "active": s.active,
                    "feed_id": s.feed_id.to_json(),
                    "feed_mid": s.feed_mid,
                });
                if let Some(display) = &s.feed_display {
                    d["feed_display"] = json!(display);
                }
                d["send"] = json!(s.send);
                if s.kind != MediaKind::Data {
                    d["codec"] = json!(s.codec);
                }
                d["ready"] = json!(s.mid.is_some());
                if s.simulcast {
                    d["simulcast"] = json!(true);
                }
                d
            })
            .collect()
    }

    // ---- Management requests (synchronous) ----

    fn create(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        if let Some(key) = &self.settings.admin_key {
            portunus_sdk::validate(body, &[Field::new("admin_key", JsonType::String).required()], &CODES)?;
            if str_of(body, "admin_key") != Some(key.as_str()) {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong admin_key)"));
            }
        }
        let ty = if self.settings.string_ids { JsonType::String } else { JsonType::Integer };
        portunus_sdk::validate(body, &[Field::new("room", ty).positive()], &CODES)?;
        portunus_sdk::validate(body, ROOM_FIELDS, &CODES)?;
        let id = match Id::from_json(body.get("room"), self.settings.string_ids) {
            Some(id) if self.rooms.contains_key(&id) => {
                return Err(err(code::ROOM_EXISTS, format!("Room {id} already exists")))
            }
            Some(id) => id,
            None => loop {
                let id = Id::random(self.settings.string_ids);
                if !self.rooms.contains_key(&id) {
                    break id;
                }
            },
        };
        let room = Room::from_keys(id.clone(), body);
        let permanent = room.permanent;
        if permanent {
            portunus_sdk::warn!("room {id}: 'permanent' is not supported yet; the room lives until restart");
        }
        self.rooms.insert(id.clone(), Room { permanent: false, ..room });
        portunus_sdk::info!("created room {id}");
        Ok(videoroom("created", json!({"room": id.to_json(), "permanent": false})))
    }

    fn edit(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const EDIT: &[Field] = &[
            Field::new("new_description", JsonType::String).nonempty(),
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
        let (id, _) = self.room_with_secret(body)?;
        if let Some(room) = self.rooms.get_mut(&id) {
            room.apply(body, "new_");
        }
        Ok(videoroom("edited", json!({"room": id.to_json(), "permanent": false})))
    }

    fn destroy(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (id, _) = self.room_with_secret(body)?;
        let gone = videoroom("destroyed", json!({"room": id.to_json()}));
        self.notify(&id, None, &gone);
        // Everyone in the room is out of it.
        let members: Vec<(Id, HandleRef)> = self.members_of(&id).map(|(i, h)| (i.clone(), h)).collect();
        for (member, handle) in members {
            self.members.remove(&(id.clone(), member));
            self.unpublish_streams(handle.handle);
            self.handles.insert(handle.handle, Role::Left);
            host::close_pc(handle);
        }
        self.rooms.remove(&id);
        portunus_sdk::info!("destroyed room {id}");
        Ok(videoroom("destroyed", json!({"room": id.to_json(), "permanent": false})))
    }

    fn exists(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let id = self.room_id(body)?;
        let exists = self.rooms.contains_key(&id);
        Ok(videoroom("success", json!({"room": id.to_json(), "exists": exists})))
    }

    fn list(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let admin = self.settings.admin_key.as_deref().is_some_and(|k| str_of(body, "admin_key") == Some(k));
        let list: Vec<Value> = self
            .rooms
            .values()
            .filter(|r| admin || !r.is_private)
            .map(|r| r.describe(self.members_of(&r.id).count()))
            .collect();
        Ok(videoroom("success", json!({ "list": list })))
    }

    fn allowed(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        const ALLOWED: &[Field] =
            &[Field::new("action", JsonType::String).required(), Field::new("allowed", JsonType::Array)];
        portunus_sdk::validate(body, ALLOWED, &CODES)?;
        let action = str_of(body, "action").unwrap_or_default();
        if !matches!(action, "enable" | "disable" | "add" | "remove") {
            return Err(err(code::INVALID_ELEMENT, format!("Unsupported action '{action}' (allowed)")));
        }
        let tokens: Option<Vec<String>> = match body.get("allowed") {
            Some(Value::Array(list)) => {
                let tokens: Option<Vec<String>> =
                    list.iter().map(|t| t.as_str().map(str::to_owned)).collect();
                Some(tokens.ok_or_else(|| {
                    err(code::INVALID_ELEMENT, "Invalid element type (allowed should be an array of strings)")
                })?)
            }
            _ => None,
        };
        if matches!(action, "add" | "remove") && tokens.is_none() {
            return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (allowed)"));
        }
        let (id, _) = self.room_with_secret(body)?;
        let Some(room) = self.rooms.get_mut(&id) else { return Err(err(code::NO_SUCH_ROOM, "No such room")) };
        match action {
            "enable" => {
                room.allowed.get_or_insert_with(Default::default);
            }
            "disable" => room.allowed = None,
            "add" => room.allowed.get_or_insert_with(Default::default).extend(tokens.unwrap_or_default()),
            _ => {
                if let Some(allowed) = &mut room.allowed {
                    for t in tokens.unwrap_or_default() {
                        allowed.remove(&t);
                    }
                }
            }
        }
        let mut data = videoroom("success", json!({"room": id.to_json()}));
        if let Some(allowed) = &room.allowed {
            data["allowed"] = json!(allowed);
        }
        Ok(data)
    }

    fn kick(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let id = self.participant_id(body, "id")?;
        let Some(handle) = self.members.get(&(room.clone(), id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such user {id} in room {room}")));
        };
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

    fn participant_id(&self, body: &Map<String, Value>, name: &'static str) -> Result<Id, PluginError> {
        let ty = if self.settings.string_ids { JsonType::String } else { JsonType::Integer };
        portunus_sdk::validate(body, &[Field::new(name, ty).required().positive()], &CODES)?;
        Id::from_json(body.get(name), self.settings.string_ids)
            .ok_or_else(|| err(code::INVALID_ELEMENT, format!("Invalid element ({name})")))
    }

    fn list_participants(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
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
                d["publisher"] = json!(p.active);
                if p.active {
                    d["talking"] = json!(false);
                }
                d
            })
            .collect();
        Ok(videoroom("participants", json!({"room": id.to_json(), "participants": participants})))
    }

    /// `rtp_forward`: a publisher's streams to UDP destinations, through the host's RTP outputs.
    fn rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
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
            made.push((mid, stream.kind, target_host, port, ssrc, pt, substream));
        }
        let mut forwarders = Vec::new();
        for (mid, kind, target_host, port, ssrc, pt, substream) in made {
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
            if let Some(p) = self.publisher_mut(handle.handle) {
                p.forwarders.insert(rule, (mid, listed));
            }
        }
        Ok(videoroom(
            "rtp_forward",
            json!({"room": room.to_json(), "publisher_id": publisher_id.to_json(), "forwarders": forwarders}),
        ))
    }

    fn stop_rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
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
        Ok(videoroom(
            "stop_rtp_forward",
            json!({"room": room.to_json(), "publisher_id": publisher_id.to_json(), "stream_id": stream_id}),
        ))
    }

    fn list_forwarders(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let publishers: Vec<Value> = self
            .members_of(&room)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| !p.forwarders.is_empty())
            .map(|p| {
                let forwarders: Vec<&Value> = p.forwarders.values().map(|(_, v)| v).collect();
                json!({"publisher_id": p.id.to_json(), "forwarders": forwarders})
            })
            .collect();
        Ok(videoroom("forwarders", json!({"room": room.to_json(), "publishers": publishers})))
    }

    // ---- Participants (asynchronous) ----

    fn join(&mut self, msg: &Message, body: &Map<String, Value>, configure: bool) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("ptype", JsonType::String).required()], &CODES)?;
        match str_of(body, "ptype") {
            Some("publisher") => self.join_publisher(msg, body, configure),
            Some("subscriber") | Some("listener") if !configure => self.join_subscriber(msg, body),
            _ => Err(err(code::INVALID_ELEMENT, "Invalid element (ptype)")),
        }
    }

    fn join_publisher(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        configure: bool,
    ) -> Result<(), PluginError> {
        const JOIN: &[Field] = &[
            Field::new("display", JsonType::String),
            Field::new("token", JsonType::String),
            Field::new("pin", JsonType::String),
            Field::new("metadata", JsonType::Object),
        ];
        let handle = msg.handle;
        portunus_sdk::validate(body, JOIN, &CODES)?;
        let (room_id, room) = self.room(body)?;
        check_pin(room, body)?;
        if let Some(allowed) = &room.allowed {
            if !str_of(body, "token").is_some_and(|t| allowed.contains(t)) {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (not in the allowed list)"));
            }
        }
        let ty = if self.settings.string_ids { JsonType::String } else { JsonType::Integer };
        portunus_sdk::validate(body, &[Field::new("id", ty).positive()], &CODES)?;
        let id = match Id::from_json(body.get("id"), self.settings.string_ids) {
            Some(id) if self.members.contains_key(&(room_id.clone(), id.clone())) => {
                return Err(err(code::ID_EXISTS, format!("User ID {id} already exists")))
            }
            Some(id) => id,
            None => loop {
                let id = Id::random(self.settings.string_ids);
                if !self.members.contains_key(&(room_id.clone(), id.clone())) {
                    break id;
                }
            },
        };
        let description = room.description.clone();
        let notify_joining = room.notify_joining;
        let bitrate = room.bitrate;
        let publisher = Publisher {
            room: room_id.clone(),
            id: id.clone(),
            private_id: (ids::random_u64() as u32).max(1),
            display: str_of(body, "display").map(str::to_owned),
            metadata: body.get("metadata").cloned(),
            active: false,
            streams: Vec::new(),
            descriptions: BTreeMap::new(),
            bitrate,
            forwarders: BTreeMap::new(),
        };
        let mut joined = videoroom(
            "joined",
            json!({
                "room": room_id.to_json(),
                "description": description,
                "id": id.to_json(),
                "private_id": publisher.private_id,
                "publishers": self.active_publishers(&room_id, None),
            }),
        );
        if notify_joining {
            let attendees: Vec<Value> = self
                .members_of(&room_id)
                .filter_map(|(_, h)| self.publisher(h.handle))
                .filter(|p| !p.active)
                .map(|p| {
                    let mut a = json!({"id": p.id.to_json()});
                    if let Some(display) = &p.display {
                        a["display"] = json!(display);
                    }
                    a
                })
                .collect();
            joined["attendees"] = json!(attendees);
            let mut joining = json!({"id": id.to_json()});
            if let Some(display) = &publisher.display {
                joining["display"] = json!(display);
            }
            if let Some(metadata) = &publisher.metadata {
                joining["metadata"] = metadata.clone();
            }
            self.notify(
                &room_id,
                None,
                &videoroom("event", json!({"room": room_id.to_json(), "joining": joining})),
            );
        }
        self.members.insert((room_id.clone(), id.clone()), handle);
        self.handles.insert(handle.handle, Role::Publisher(Box::new(publisher)));
        portunus_sdk::info!("[{}] joined room {room_id} as publisher {id}", handle.handle);
        if configure && msg.parsed_jsep().is_some() {
            // joinandconfigure with an offer: `joined` goes out with the answer.
            return self.configure_publisher(msg, body, Some(joined));
        }
        push(handle, Some(&msg.transaction), &joined, None);
        if configure {
            self.configure_publisher(msg, body, None)?;
        }
        Ok(())
    }

    /// `configure` / `publish` of a publisher (and the configure half of `joinandconfigure`,
    /// which brings its `joined` event along).
    fn configure_publisher(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        joined: Option<Value>,
    ) -> Result<(), PluginError> {
        const CONFIGURE: &[Field] = &[
            Field::new("bitrate", JsonType::Integer).positive(),
            Field::new("keyframe", JsonType::Bool),
            Field::new("display", JsonType::String),
            Field::new("metadata", JsonType::Object),
            Field::new("audiocodec", JsonType::String),
            Field::new("videocodec", JsonType::String),
            Field::new("descriptions", JsonType::Array),
            Field::new("record", JsonType::Bool),
            Field::new("filename", JsonType::String),
        ];
        portunus_sdk::validate(body, CONFIGURE, &CODES)?;
        let handle = msg.handle;
        let jsep = msg.parsed_jsep().filter(|j| !j.sdp.is_empty());
        let Some(p) = self.publisher_mut(handle.handle) else {
            return Err(err(code::JOIN_FIRST, "Join first"));
        };
        let room_id = p.room.clone();
        if let Some(bitrate) = body.get("bitrate").and_then(Value::as_u64) {
            p.bitrate = bitrate;
            host::set_bitrate_cap(handle, u32::try_from(bitrate).unwrap_or(u32::MAX));
        }
        if body.get("keyframe").and_then(Value::as_bool) == Some(true) {
            host::request_keyframe(handle, None);
        }
        if let Some(Value::Array(list)) = body.get("descriptions") {
            for d in list {
                if let (Some(mid), Some(text)) =
                    (d.get("mid").and_then(Value::as_str), d.get("description").and_then(Value::as_str))
                {
                    p.descriptions.insert(mid.to_owned(), text.to_owned());
                    if let Some(s) = p.streams.iter_mut().find(|s| s.mid == mid) {
                        s.description = Some(text.to_owned());
                    }
                }
            }
        }
        // Others hear of a new display or metadata (Janus's event has no `room`).
        let mut changed = json!({"id": p.id.to_json()});
        let mut renamed = false;
        if let Some(display) = str_of(body, "display") {
            p.display = Some(display.to_owned());
            changed["display"] = json!(display);
            renamed = true;
        }
        if let Some(metadata) = body.get("metadata") {
            p.metadata = Some(metadata.clone());
            changed["metadata"] = metadata.clone();
            renamed = true;
        }
        if body.get("record").and_then(Value::as_bool) == Some(true) {
            portunus_sdk::info!("[{}] recording is not supported yet; ignored", handle.handle);
        }
        if renamed {
            self.notify(&room_id, Some(handle.handle), &videoroom("event", changed));
        }
        let Some(jsep) = jsep else {
            let data = joined.unwrap_or_else(|| {
                videoroom("event", json!({"room": room_id.to_json(), "configured": "ok"}))
            });
            push(handle, Some(&msg.transaction), &data, None);
            return Ok(());
        };
        if !jsep.is_offer() {
            return Err(err(code::INVALID_SDP_TYPE, format!("Unsupported SDP type '{}'", jsep.kind)));
        }
        let room = self
            .rooms
            .get(&room_id)
            .ok_or_else(|| err(code::NO_SUCH_ROOM, format!("No such room ({room_id})")))?;
        let preferred = |asked: Option<&str>, room: &[String]| match asked {
            Some(c) => vec![c.to_owned()],
            None => vec![room.join(",")],
        };
        let policy = AnswerPolicy {
            audio: true,
            video: true,
            data: true,
            audio_codecs: preferred(str_of(body, "audiocodec"), &room.audiocodecs),
            video_codecs: preferred(str_of(body, "videocodec"), &room.videocodecs),
            simulcast: true,
            direction: Direction::Recvonly,
        };
        let room_bitrate = room.bitrate;
        let negotiation = host::answer(handle, &jsep.sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
        let event = joined
            .unwrap_or_else(|| videoroom("event", json!({"room": room_id.to_json(), "configured": "ok"})));
        self.pending.insert(negotiation, Pending { handle, transaction: msg.transaction.clone(), event });
        let cap = self.publisher(handle.handle).map_or(room_bitrate, |p| p.bitrate);
        if cap > 0 {
            host::set_bitrate_cap(handle, u32::try_from(cap).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// A publisher's streams stop: its subscribers' rules go, its forwarders too, and the room
    /// hears `unpublished`. Returns whether it was publishing.
    fn unpublish_streams(&mut self, handle: u64) -> bool {
        let Some(p) = self.publisher_mut(handle) else { return false };
        let was_active = std::mem::replace(&mut p.active, false);
        p.streams.clear();
        let forwarders = std::mem::take(&mut p.forwarders);
        let (room, id) = (p.room.clone(), p.id.clone());
        for rule in forwarders.keys() {
            host::unforward(*rule);
        }
        let watchers: Vec<(u64, u64)> =
            self.watchers.range((handle, 0)..=(handle, u64::MAX)).map(|(k, _)| *k).collect();
        for key in watchers {
            self.watchers.remove(&key);
            if let Some(sub) = self.subscriber_mut(key.1) {
                for s in sub.streams.iter_mut().filter(|s| s.feed.handle == handle) {
                    if let Some(rule) = s.rule.take() {
                        host::unforward(rule);
                    }
                    s.active = false;
                }
            }
        }
        if was_active {
            self.notify(
                &room,
                Some(handle),
                &videoroom("event", json!({"room": room.to_json(), "unpublished": id.to_json()})),
            );
        }
        was_active
    }

    /// A participant leaves its room. The others hear `unpublished` (if it was publishing; on
    /// a detach always, as from Janus), then `leaving` (or `kicked`).
    fn leave_room(&mut self, handle: HandleRef, how: Leaving) {
        match self.handles.get(&handle.handle).cloned() {
            Some(Role::Publisher(p)) => {
                let was_active = self.unpublish_streams(handle.handle);
                self.members.remove(&(p.room.clone(), p.id.clone()));
                let room = p.room.to_json();
                if how == Leaving::Detached && !was_active {
                    self.notify(
                        &p.room,
                        None,
                        &videoroom("event", json!({"room": room, "unpublished": p.id.to_json()})),
                    );
                }
                let key = if how == Leaving::Kicked { "kicked" } else { "leaving" };
                self.notify(&p.room, None, &videoroom("event", json!({"room": room, key: p.id.to_json()})));
            }
            Some(Role::Subscriber(s)) => {
                for st in &s.streams {
                    if let Some(rule) = st.rule {
                        host::unforward(rule);
                    }
                    self.watchers.remove(&(st.feed.handle, handle.handle));
                }
            }
            _ => {}
        }
        self.handles.insert(handle.handle, Role::Left);
    }

    fn join_subscriber(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        const JOIN: &[Field] = &[
            Field::new("streams", JsonType::Array),
            Field::new("private_id", JsonType::Integer).positive(),
            Field::new("use_msid", JsonType::Bool),
            Field::new("autoupdate", JsonType::Bool),
            Field::new("offer_audio", JsonType::Bool),
            Field::new("offer_video", JsonType::Bool),
            Field::new("offer_data", JsonType::Bool),
        ];
        portunus_sdk::validate(body, JOIN, &CODES)?;
        let (room_id, room) = self.room(body)?;
        check_pin(room, body)?;
        let wanted = match body.get("streams") {
            Some(Value::Array(list)) => list.clone(),
            _ => {
                // Legacy: one feed, all its streams (or those `offer_*` keeps).
                let feed = self.participant_id(body, "feed")?;
                let mut item = json!({"feed": feed.to_json()});
                item["offer_audio"] = body.get("offer_audio").cloned().unwrap_or(json!(true));
                item["offer_video"] = body.get("offer_video").cloned().unwrap_or(json!(true));
                vec![item]
            }
        };
        let streams = self.resolve_streams(&room_id, &wanted, 0)?;
        if streams.is_empty() {
            return Err(err(code::INVALID_ELEMENT, "Can't offer an SDP with no stream"));
        }
        let sub = Subscriber { room: room_id.clone(), streams: Vec::new(), started: false, offering: false };
        self.handles.insert(msg.handle.handle, Role::Subscriber(Box::new(sub)));
        let attached = videoroom("attached", json!({"room": room_id.to_json()}));
        self.offer_streams(msg, streams, attached)
    }

    /// The publishers' streams a `streams` list names, as new subscriber streams numbered from
    /// `first`, with Janus's errors for unknown or unpublished feeds.
    fn resolve_streams(
        &self,
        room: &Id,
        wanted: &[Value],
        first: usize,
    ) -> Result<Vec<SubStream>, PluginError> {
        let mut out = Vec::new();
        for w in wanted {
            let feed = match Id::from_json(w.get("feed"), self.settings.string_ids) {
                Some(f) => f,
                None if w.get("feed").is_none() => {
                    return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (feed)"))
                }
                None => return Err(err(code::INVALID_ELEMENT, "Invalid element (feed)")),
            };
            let publisher = self
                .members
                .get(&(room.clone(), feed.clone()))
                .and_then(|h| self.publisher(h.handle).map(|p| (*h, p)))
                .filter(|(_, p)| p.active && !p.streams.is_empty());
            let Some((feed_handle, p)) = publisher else {
                return Err(err(code::NO_SUCH_FEED, format!("No such feed ({feed})")));
            };
            let mid = w.get("mid").and_then(Value::as_str);
            let picked: Vec<&PubStream> = p
                .streams
                .iter()
                .filter(|s| mid.is_none_or(|m| m == s.mid))
                .filter(|s| s.kind != MediaKind::Data)
                .filter(|s| match s.kind {
                    MediaKind::Audio => w.get("offer_audio").and_then(Value::as_bool) != Some(false),
                    MediaKind::Video => w.get("offer_video").and_then(Value::as_bool) != Some(false),
                    MediaKind::Data => false,
                })
                .collect();
            if let (Some(mid), true) = (mid, picked.is_empty()) {
                return Err(err(code::NO_SUCH_FEED, format!("No such mid '{mid}' in feed ({feed})")));
            }
            for s in picked {
                out.push(SubStream {
                    mindex: first + out.len(),
                    mid: None,
                    kind: s.kind,
                    feed: feed_handle,
                    feed_id: feed.clone(),
                    feed_mid: s.mid.clone(),
                    feed_display: p.display.clone(),
                    codec: s.codec.clone(),
                    simulcast: s.simulcast,
                    active: true,
                    send: w.get("send").and_then(Value::as_bool).unwrap_or(true),
                    substream: w.get("substream").and_then(Value::as_u64).and_then(|v| u8::try_from(v).ok()),
                    temporal: w.get("temporal").and_then(Value::as_u64).and_then(|v| u8::try_from(v).ok()),
                    rule: None,
                });
            }
        }
        Ok(out)
    }

    /// Offers new streams to a subscriber (its first offer, or more with `subscribe`).
    fn offer_streams(
        &mut self,
        msg: &Message,
        streams: Vec<SubStream>,
        event: Value,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        let offered: Vec<OfferedStream> = streams
            .iter()
            .map(|s| {
                OfferedStream::Forward(ForwardSource {
                    source: Endpoint::Peer(s.feed),
                    mid: s.feed_mid.clone(),
                })
            })
            .collect();
        let negotiation = host::offer(handle, &offered).map_err(|e| err(code::UNKNOWN, e))?;
        for s in &streams {
            self.watchers.insert((s.feed.handle, handle.handle), handle);
        }
        let Some(sub) = self.subscriber_mut(handle.handle) else {
            return Err(err(code::JOIN_FIRST, "Join first"));
        };
        sub.streams.extend(streams);
        sub.offering = true;
        self.pending.insert(negotiation, Pending { handle, transaction: msg.transaction.clone(), event });
        Ok(())
    }

    /// Rules for a subscriber's streams that should flow and have none.
    fn start_flowing(&mut self, handle: HandleRef) {
        let Some(sub) = self.subscriber_mut(handle.handle) else { return };
        if !sub.started {
            return;
        }
        for s in sub.streams.iter_mut() {
            let (Some(mid), None, true, true) = (&s.mid, s.rule, s.active, s.send) else { continue };
            let options = ForwardOptions { kinds: Vec::new(), substream: s.substream, temporal: s.temporal };
            match host::forward(
                Endpoint::Peer(s.feed),
                Some(&s.feed_mid),
                Endpoint::Peer(handle),
                Some(mid),
                &options,
            ) {
                Ok(rule) => s.rule = Some(rule),
                Err(e) => portunus_sdk::warn!("[{}] could not forward {}: {e}", handle.handle, s.feed_mid),
            }
        }
    }

    fn stop_flowing(&mut self, handle: u64) {
        let Some(sub) = self.subscriber_mut(handle) else { return };
        for s in sub.streams.iter_mut() {
            if let Some(rule) = s.rule.take() {
                host::unforward(rule);
            }
        }
    }

    fn configure_subscriber(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("streams", JsonType::Array)], &CODES)?;
        let handle = msg.handle;
        let items = match body.get("streams") {
            Some(Value::Array(list)) => list.clone(),
            // Legacy: the fields apply to every stream.
            _ => vec![Value::Object(body.clone())],
        };
        let Some(sub) = self.subscriber_mut(handle.handle) else {
            return Err(err(code::JOIN_FIRST, "Join first"));
        };
        let room = sub.room.clone();
        for item in &items {
            let mid = item.get("mid").and_then(Value::as_str);
            for s in sub.streams.iter_mut().filter(|s| mid.is_none_or(|m| s.mid.as_deref() == Some(m))) {
                if let Some(send) = item.get("send").and_then(Value::as_bool) {
                    s.send = send;
                    if !send {
                        if let Some(rule) = s.rule.take() {
                            host::unforward(rule);
                        }
                    }
                }
                let substream = item.get("substream").and_then(Value::as_u64).map(|v| v.min(2) as u8);
                let temporal = item.get("temporal").and_then(Value::as_u64).map(|v| v.min(2) as u8);
                if substream.is_some() || temporal.is_some() {
                    s.substream = substream.or(s.substream);
                    s.temporal = temporal.or(s.temporal);
                    if let Some(rule) = s.rule {
                        if let Err(e) = host::set_layers(rule, s.substream, s.temporal) {
                            portunus_sdk::debug!("[{}] set-layers: {e}", handle.handle);
                        }
                    }
                }
            }
        }
        self.start_flowing(handle);
        push(
            handle,
            Some(&msg.transaction),
            &videoroom("event", json!({"room": room.to_json(), "configured": "ok"})),
            None,
        );
        Ok(())
    }

    /// The asynchronous requests: `Ok` when their event went out (or will, with a JSEP).
    fn process(
        &mut self,
        msg: &Message,
        request: &str,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        let role = self.handles.get(&handle.handle).cloned().unwrap_or(Role::Idle);
        match (request, &role) {
            ("join" | "joinandconfigure", Role::Idle | Role::Left) => {
                self.join(msg, body, request == "joinandconfigure")
            }
            ("join" | "joinandconfigure", Role::Publisher(_)) => {
                Err(err(code::ALREADY_JOINED, "Already in as a publisher on this handle"))
            }
            ("join" | "joinandconfigure", Role::Subscriber(_)) => {
                Err(err(code::ALREADY_JOINED, "Already in as a subscriber on this handle"))
            }
            (_, Role::Idle) => Err(err(code::JOIN_FIRST, "Invalid request on unconfigured participant")),
            (_, Role::Left) => Err(err(code::NO_SUCH_ROOM, "No such room")),
            ("configure" | "publish", Role::Publisher(p)) => {
                if request == "publish" && p.active {
                    return Err(err(code::ALREADY_PUBLISHED, "Can't publish, already published"));
                }
                if request == "publish" && self.publishers_full(&p.room) {
                    let max = self.rooms.get(&p.room).map_or(0, |r| r.publishers);
                    return Err(err(
                        code::PUBLISHERS_FULL,
                        format!("Maximum number of publishers ({max}) reached"),
                    ));
                }
                self.configure_publisher(msg, body, None)
            }
            ("unpublish", Role::Publisher(p)) => {
                if !p.active {
                    return Err(err(code::NOT_PUBLISHED, "Can't unpublish, not published"));
                }
                let room = p.room.clone();
                self.unpublish_streams(handle.handle);
                host::close_pc(handle);
                push(
                    handle,
                    Some(&msg.transaction),
                    &videoroom("event", json!({"room": room.to_json(), "unpublished": "ok"})),
                    None,
                );
                Ok(())
            }
            ("leave", Role::Publisher(p)) => {
                let room = p.room.clone();
                self.leave_room(handle, Leaving::Left);
                host::close_pc(handle);
                push(
                    handle,
                    Some(&msg.transaction),
                    &videoroom("event", json!({"room": room.to_json(), "leaving": "ok"})),
                    None,
                );
                Ok(())
            }
            ("start", Role::Subscriber(s)) => {
                let room = s.room.clone();
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = true;
                }
                self.start_flowing(handle);
                push(
                    handle,
                    Some(&msg.transaction),
                    &videoroom("event", json!({"room": room.to_json(), "started": "ok"})),
                    None,
                );
                Ok(())
            }
            ("pause", Role::Subscriber(s)) => {
                let room = s.room.clone();
                self.stop_flowing(handle.handle);
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = false;
                }
                push(
                    handle,
                    Some(&msg.transaction),
                    &videoroom("event", json!({"room": room.to_json(), "paused": "ok"})),
                    None,
                );
                Ok(())
            }
            ("configure", Role::Subscriber(_)) => self.configure_subscriber(msg, body),
            ("subscribe", Role::Subscriber(s)) => {
                portunus_sdk::validate(body, &[Field::new("streams", JsonType::Array).required()], &CODES)?;
                if s.offering {
                    return Err(err(code::UNKNOWN, "A renegotiation is already in progress"));
                }
                let wanted = body.get("streams").and_then(Value::as_array).cloned().unwrap_or_default();
                let streams = self.resolve_streams(&s.room, &wanted, s.streams.len())?;
                let updated = videoroom("updated", json!({"room": s.room.to_json()}));
                self.offer_streams(msg, streams, updated)
            }
            ("leave", Role::Subscriber(s)) => {
                let room = s.room.clone();
                self.leave_room(handle, Leaving::Left);
                host::close_pc(handle);
                push(
                    handle,
                    Some(&msg.transaction),
                    &videoroom("event", json!({"room": room.to_json(), "left": "ok"})),
                    None,
                );
                Ok(())
            }
            (other, _) => Err(err(code::INVALID_REQUEST, format!("Unknown request '{other}'"))),
        }
    }

    fn publishers_full(&self, room: &Id) -> bool {
        let max = self.rooms.get(room).map_or(0, |r| r.publishers);
        let active =
            self.members_of(room).filter_map(|(_, h)| self.publisher(h.handle)).filter(|p| p.active).count();
        active as u64 >= max
    }

    // ---- Media events ----

    /// The host made an answer (publisher) or an offer (subscriber): the request's event goes
    /// out with its JSEP.
    fn negotiation_done(&mut self, handle: HandleRef, result: NegotiationResult) {
        let Some(pending) = self.pending.remove(&result.id) else { return };
        let done = match result.outcome {
            Ok(done) => done,
            Err(reason) => {
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.streams.retain(|s| s.mid.is_some());
                    sub.offering = false;
                }
                let e = err(code::INVALID_SDP, reason);
                if let Err(push_err) = e.push(handle, Some(&pending.transaction), PACKAGE) {
                    portunus_sdk::warn!("[{}] could not push an error: {push_err}", handle.handle);
                }
                return;
            }
        };
        let mut event = pending.event;
        if let Some(p) = self.publisher_mut(handle.handle) {
            // What the answer accepts is what the publisher sends.
            let answer = done.jsep.as_deref().and_then(|j| portunus_sdk::Jsep::parse(j).ok());
            if let Some(answer) = answer {
                p.streams = sdp::published_streams(&answer.sdp);
                for s in &mut p.streams {
                    s.description = p.descriptions.get(&s.mid).cloned();
                }
            }
            let described = Self::describe_publisher(p, false);
            for key in ["audio_codec", "video_codec", "streams"] {
                if let Some(v) = described.get(key) {
                    event[key] = v.clone();
                }
            }
        }
        if let Some(sub) = self.subscriber_mut(handle.handle) {
            // The offer's new streams get their mids, in order.
            let mut mids = done.mids.into_iter();
            for s in sub.streams.iter_mut().filter(|s| s.mid.is_none()) {
                s.mid = mids.next();
            }
            sub.offering = false;
            event["streams"] = json!(Self::describe_streams(sub));
            self.start_flowing(handle);
        }
        push(handle, Some(&pending.transaction), &event, done.jsep.as_deref());
    }

    /// A publisher's streams, as negotiated.
    fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        p.streams = streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.client_sends || s.kind == MediaKind::Data)
            .map(|(mindex, s)| PubStream {
                mindex,
                mid: s.mid.clone(),
                kind: s.kind,
                codec: s.codec.to_ascii_lowercase(),
                simulcast: !s.rids.is_empty(),
                description: p.descriptions.get(&s.mid).cloned(),
            })
            .collect();
        if p.active {
            // A renegotiation: the room hears the new streams.
            let (room, described) = (p.room.clone(), Self::describe_publisher(p, false));
            self.notify(
                &room,
                Some(handle.handle),
                &videoroom("event", json!({"room": room.to_json(), "publishers": [described]})),
            );
        }
    }

    /// A publisher's PeerConnection is up: the room hears about it.
    fn webrtc_up(&mut self, handle: HandleRef) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        if p.active {
            return;
        }
        p.active = true;
        let (room, described) = (p.room.clone(), Self::describe_publisher(p, false));
        portunus_sdk::info!("[{}] publisher {} is up in room {room}", handle.handle, p.id);
        self.notify(
            &room,
            Some(handle.handle),
            &videoroom("event", json!({"room": room.to_json(), "publishers": [described]})),
        );
    }

    fn hangup(&mut self, handle: HandleRef) {
        match self.handles.get(&handle.handle) {
            Some(Role::Publisher(_)) => {
                self.unpublish_streams(handle.handle);
            }
            Some(Role::Subscriber(_)) => {
                self.stop_flowing(handle.handle);
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = false;
                }
            }
            _ => {}
        }
        self.pending.retain(|_, p| p.handle != handle);
    }

    fn layer_changed(&mut self, handle: HandleRef, change: &LayerChange, key: &str) {
        let Some(sub) = self.subscriber_mut(handle.handle) else { return };
        let Some(s) = sub.streams.iter().find(|s| s.rule == Some(change.rule)) else { return };
        let mut fields = json!({"room": sub.room.to_json(), "mid": s.mid});
        fields[key] = json!(change.layer);
        push(handle, None, &videoroom("event", fields), None);
    }

    /// Rooms from the config: every `room-<id>` section.
    fn load_config_rooms(&mut self, config: &Value) {
        let Some(sections) = config.as_object() else { return };
        for (name, keys) in sections {
            let (Some(id), Some(keys)) = (name.strip_prefix("room-"), keys.as_object()) else { continue };
            let id = match id.parse::<u64>() {
                Ok(n) if !self.settings.string_ids => Id::Num(n),
                _ if self.settings.string_ids => Id::Str(id.to_owned()),
                _ => {
                    portunus_sdk::warn!("{name}: not a numeric room id (string_ids is off); skipped");
                    continue;
                }
            };
            let room = Room::from_keys(id.clone(), keys);
            self.rooms.insert(id, Room { permanent: true, ..room });
        }
    }
}

/// The requests answered at once.
const SYNC: &[&str] = &[
    "create",
    "edit",
    "destroy",
    "exists",
    "list",
    "allowed",
    "kick",
    "moderate",
    "enable_recording",
    "listparticipants",
    "listforwarders",
    "rtp_forward",
    "stop_rtp_forward",
];

/// The requests answered with an event.
const ASYNC: &[&str] = &[
    "join",
    "joinandconfigure",
    "configure",
    "publish",
    "unpublish",
    "start",
    "pause",
    "switch",
    "subscribe",
    "unsubscribe",
    "update",
    "leave",
];

impl Plugin for VideoRoom {
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
        let general = config.get("general");
        let setting = |name: &str| general.and_then(|g| g.get(name));
        self.settings = Settings {
            admin_key: setting("admin_key").and_then(Value::as_str).map(str::to_owned),
            string_ids: setting("string_ids").and_then(Value::as_bool).unwrap_or(false),
            lock_rtp_forward: setting("lock_rtp_forward").and_then(Value::as_bool).unwrap_or(true),
        };
        self.load_config_rooms(config);
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
        if !self.handles.contains_key(&handle.handle) {
            self.handles.insert(handle.handle, Role::Idle);
        }
        Ok(())
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        if msg.body.trim().is_empty() {
            return err(code::NO_MESSAGE, "No message??").into_reply(PACKAGE);
        }
        let body = match msg.body_object(&CODES) {
            Ok(body) => body,
            Err(e) => return e.into_reply(PACKAGE),
        };
        let request = match portunus_sdk::request_of(&body, &CODES) {
            Ok(r) => r.to_owned(),
            Err(e) => return e.into_reply(PACKAGE),
        };
        if SYNC.contains(&request.as_str()) {
            let answer = match request.as_str() {
                "create" => self.create(&body),
                "edit" => self.edit(&body),
                "destroy" => self.destroy(&body),
                "exists" => self.exists(&body),
                "list" => self.list(&body),
                "allowed" => self.allowed(&body),
                "kick" => self.kick(&body),
                "listparticipants" => self.list_participants(&body),
                "listforwarders" => self.list_forwarders(&body),
                "rtp_forward" => self.rtp_forward(&body),
                "stop_rtp_forward" => self.stop_rtp_forward(&body),
                other => Err(err(code::INVALID_REQUEST, format!("Unknown request '{other}'"))),
            };
            return match answer {
                Ok(data) => ok(&data),
                Err(e) => e.into_reply(PACKAGE),
            };
        }
        if !ASYNC.contains(&request.as_str()) {
            return err(code::INVALID_REQUEST, format!("Unknown request '{request}'")).into_reply(PACKAGE);
        }
        if let Err(e) = self.process(&msg, &request, &body) {
            if let Err(push_err) = e.push(msg.handle, Some(&msg.transaction), PACKAGE) {
                portunus_sdk::warn!("[{}] could not push an error: {push_err}", msg.handle.handle);
            }
        }
        ack(None)
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::WebrtcUp => self.webrtc_up(handle),
            MediaEvent::Hangup(reason) => {
                portunus_sdk::debug!("[{}] no WebRTC media anymore ({reason})", handle.handle);
                self.hangup(handle);
            }
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::Negotiation(result) => self.negotiation_done(handle, result),
            MediaEvent::SubstreamChanged(change) => self.layer_changed(handle, &change, "substream"),
            MediaEvent::TemporalChanged(change) => self.layer_changed(handle, &change, "temporal"),
            MediaEvent::Media(_) | MediaEvent::SlowLink(_) => {}
        }
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.leave_room(handle, Leaving::Detached);
        self.handles.remove(&handle.handle);
        self.pending.retain(|_, p| p.handle != handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.handles.get(&handle.handle) {
            Some(Role::Publisher(p)) => json!({
                "type": "publisher", "room": p.room.to_json(), "id": p.id.to_json(),
                "display": p.display, "active": p.active, "streams": Self::describe_publisher(p, false)["streams"],
            }),
            Some(Role::Subscriber(s)) => json!({
                "type": "subscriber", "room": s.room.to_json(), "started": s.started,
                "streams": Self::describe_streams(s),
            }),
            _ => json!({"type": "none"}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.rooms.save("room/", full, &mut out);
        self.members.save("member/", full, &mut out);
        self.watchers.save("watcher/", full, &mut out);
        self.handles.save("handle/", full, &mut out);
        self.pending.save("pending/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.rooms.load("room/", &entries)?;
        self.members.load("member/", &entries)?;
        self.watchers.load("watcher/", &entries)?;
        self.handles.load("handle/", &entries)?;
        self.pending.load("pending/", &entries)
    }
}

portunus_sdk::export_plugin!(VideoRoom);

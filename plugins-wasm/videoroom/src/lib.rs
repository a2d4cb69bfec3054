//! `janus.plugin.videoroom`: Janus's multistream SFU, as a Portunus plugin.
//!
//! Rooms hold participants. A **publisher** joins a room and sends its streams (`publish`,
//! `joinandconfigure` or `configure` with an offer); the others in the room hear about it
//! (`publishers`). A **subscriber** joins with the streams it wants (`streams: [{feed, mid?}]`,
//! or the legacy `feed`): the gateway offers them on one PeerConnection (`attached` with the
//! offer), the client answers with `start`, and audio and video flow, each stream through a
//! forwarding rule in the host from the publisher's stream to the subscriber's; data-channel
//! messages are relayed by the plugin. `pause` and `start`, per stream `configure` (`send`,
//! `substream`, `temporal`) and `subscribe` (more streams, one new offer) change what flows.
//! The plugin never touches a packet.
//!
//! Requests, answers, events and error codes are Janus 1.1's (`janus-api.md` §4.2): management
//! requests (`create`, `edit`, `destroy`, `exists`, `list`, `allowed`, `kick`, `moderate`,
//! `listparticipants`, `rtp_forward`, `stop_rtp_forward`, `listforwarders`) answer at once,
//! the others `ack` and answer with an event.
//!
//! `permanent: true` on `create`, `edit` and `destroy` writes the rooms back to
//! `janus.plugin.videoroom.jcfg` (through the host's `save-config`); when that fails, nothing
//! changes and the request says why.
//!
//! A room with `dummy_publisher` has a publisher without a client ("Dummy publisher", listed
//! with `dummy: true`, never kicked): a placeholder stream per codec of the room (or of
//! `dummy_streams`). Subscribers take its streams as empty m-lines and later `switch` them to
//! real publishers' streams without renegotiating, as in Janus.
//!
//! Publishers are recorded to .mjr files (`record`, `filename`, the room's `record`, `rec_dir`,
//! `lock_record`, `enable_recording`), as Janus records them: see `record.rs`.
//!
//! Not supported yet, each with a clear error (499): remote publishers (`publish_remotely` and
//! the others of room cascading).

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod forward;
mod manage;
mod publisher;
mod record;
mod room;
mod sdp;
mod subscriber;

use portunus_sdk::{
    ack, host, json, ok, ErrorCodes, Field, HandleRef, Id, JsonType, Keyed, MediaEvent, MediaKind, Message,
    NegotiationResult, Plugin, PluginError, PluginInfo, Reply, Request, RoomsConfig, StateChange, StateEntry,
    Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use publisher::Publisher;
use room::Room;
use subscriber::Subscriber;

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
    pub const INVALID_FEED: u32 = 438;
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
    /// `rtp_forward` and `stop_rtp_forward` need the `admin_key` too, when there is one.
    lock_rtp_forward: bool,
    /// The config file, for `permanent` rooms.
    file: RoomsConfig,
}

/// What a handle is in the plugin.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
enum Role {
    /// Attached, not joined.
    Idle,
    /// Left its room (or was kicked, or the room is gone): requests find no room.
    Left,
    /// A subscriber that left (or whose room is gone): as `Left`, but Janus names it when it
    /// would join again.
    LeftSubscriber,
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
    /// None for an offer the plugin made on its own (a publisher left).
    transaction: Option<String>,
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
    /// The subscribers of each room: (room, handle).
    subscribers: Keyed<(Id, u64), HandleRef>,
    /// Every handle of the plugin.
    handles: Keyed<u64, Role>,
    /// Negotiations in progress: (handle, negotiation id).
    pending: Keyed<(u64, u64), Pending>,
}

/// Set in a dummy publisher's handle (which no client has: ours are below 2^53).
const DUMMY_BIT: u64 = 1 << 62;

/// Whether a publisher's handle is a room's dummy publisher's.
fn is_dummy(handle: HandleRef) -> bool {
    handle.handle & DUMMY_BIT != 0
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

// Events whose refusal the plugin can do nothing about are logged, not failed.
use portunus_sdk::push_event_logged as push;

fn videoroom(kind: &str, fields: Value) -> Value {
    portunus_sdk::tagged(PACKAGE, kind, fields)
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Data => "data",
    }
}

/// What a room asks of those who join, before anything else: with `signed_tokens` (kept only
/// while the gateway uses signed tokens), a `token` signed for this plugin that names the room
/// (`room=<id>`), else 433; then its pin, when it has one (missing is 429, wrong is 433).
fn check_pin(room: &Room, body: &Map<String, Value>) -> Result<(), PluginError> {
    portunus_sdk::validate(body, &[Field::new("token", JsonType::String)], &CODES)?;
    if room.signed_tokens {
        let token = str_of(body, "token").unwrap_or_default();
        if !host::auth_signature_contains(token, &format!("room={}", room.id)) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong token)"));
        }
    }
    portunus_sdk::rooms::check_key(body, "pin", room.pin.as_deref(), &CODES, code::UNAUTHORIZED)
}

/// A field of a validated body.
fn str_of<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

impl VideoRoom {
    /// A room's or participant's id field, as `string_ids` has it.
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

    /// The room, if `secret` opens it.
    fn room_with_secret(&self, body: &Map<String, Value>) -> Result<(Id, &Room), PluginError> {
        let (id, room) = self.room(body)?;
        portunus_sdk::rooms::check_key(body, "secret", room.secret.as_deref(), &CODES, code::UNAUTHORIZED)?;
        Ok((id, room))
    }

    /// The publishers that joined a room: (id, handle).
    fn members_of<'a>(&'a self, room: &'a Id) -> impl Iterator<Item = (&'a Id, HandleRef)> + 'a {
        portunus_sdk::rooms::members_in(&self.members, room).map(|(id, h)| (id, *h))
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
        let handles: Vec<HandleRef> = self
            .members_of(room)
            .map(|(_, h)| h)
            .filter(|h| Some(h.handle) != except && !is_dummy(*h))
            .collect();
        if !handles.is_empty() {
            if let Err(e) = portunus_sdk::push_event_many(&handles, data) {
                portunus_sdk::warn!("room {room}: could not notify: {e}");
            }
        }
    }

    fn participant_id(&self, body: &Map<String, Value>, name: &'static str) -> Result<Id, PluginError> {
        portunus_sdk::rooms::id_of(body, name, self.settings.string_ids, &CODES)
    }

    /// The synchronous requests (and the remote publisher ones), answered at once; `None` for
    /// any other. `requester` is the handle that asked (none over the Admin API).
    fn synchronous(
        &mut self,
        requester: Option<HandleRef>,
        request: &str,
        body: &Map<String, Value>,
    ) -> Option<Result<Value, PluginError>> {
        Some(match request {
            "create" => self.create(requester, body),
            "edit" => self.edit(requester, body),
            "destroy" => self.destroy(requester, body),
            "exists" => self.exists(body),
            "list" => self.list(body),
            "allowed" => self.allowed(body),
            "kick" => self.kick(body),
            "moderate" => self.moderate(body),
            "listparticipants" => self.list_participants(body),
            "listforwarders" => self.list_forwarders(body),
            "enable_recording" => self.enable_recording(body),
            "rtp_forward" => self.rtp_forward(body),
            "stop_rtp_forward" => self.stop_rtp_forward(body),
            remote if REMOTE.contains(&remote) => self.remote(remote, body),
            _ => return None,
        })
    }

    /// The asynchronous requests: `Ok` when their event went out (or will, with a JSEP).
    fn process(
        &mut self,
        msg: &Message,
        request: &str,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        match (request, self.handles.get(&handle.handle).unwrap_or(&Role::Idle)) {
            ("join" | "joinandconfigure", Role::Idle) => self.join(msg, body, request == "joinandconfigure"),
            // A handle that left (or was kicked, or whose room went) does not join again.
            ("join" | "joinandconfigure", Role::Left) => {
                Err(err(code::ALREADY_JOINED, "Not in a room (create a new handle)"))
            }
            ("join" | "joinandconfigure", Role::LeftSubscriber) => {
                Err(err(code::ALREADY_JOINED, "Already in as a subscriber on this handle"))
            }
            ("join" | "joinandconfigure", Role::Publisher(_)) => {
                Err(err(code::ALREADY_JOINED, "Already in as a publisher on this handle"))
            }
            ("join" | "joinandconfigure", Role::Subscriber(_)) => {
                Err(err(code::ALREADY_JOINED, "Already in as a subscriber on this handle"))
            }
            (_, Role::Idle) => Err(err(code::JOIN_FIRST, "Invalid request on unconfigured participant")),
            (_, Role::Left | Role::LeftSubscriber) => Err(err(code::NO_SUCH_ROOM, "No such room")),
            ("configure" | "publish", Role::Publisher(p)) => {
                // Published once its answer is made (Janus checks for its SDP), not only once
                // its PeerConnection is up: a second publish in between is refused too.
                if request == "publish" && (p.active || !p.streams.is_empty()) {
                    return Err(err(code::ALREADY_PUBLISHED, "Can't publish, already published"));
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
            (_, Role::Subscriber(_)) => self.subscriber_request(msg, request, body),
            (other, _) => Err(err(code::INVALID_REQUEST, format!("Unknown request '{other}'"))),
        }
    }

    /// The host made an answer (publisher) or an offer (subscriber): the request's event goes
    /// out with its JSEP.
    fn negotiation_done(&mut self, handle: HandleRef, result: NegotiationResult) {
        let Some(pending) = self.pending.remove(&(handle.handle, result.id)) else { return };
        let transaction = pending.transaction.as_deref();
        let done = match result.outcome {
            Ok(done) => done,
            Err(reason) => {
                if pending.event["videoroom"] == "attached" {
                    // A subscriber whose first offer failed is not in the room: it may join again.
                    self.leave_room(handle, Leaving::Left);
                    self.handles.insert(handle.handle, Role::Idle);
                }
                self.subscriber_offer_failed(handle);
                let e = err(code::INVALID_SDP, reason);
                e.push_logged(handle, transaction, PACKAGE);
                return;
            }
        };
        let mut event = pending.event.clone();
        self.publisher_answered(handle, &mut event, &done);
        self.subscriber_offered(handle, &mut event, &done);
        self.tell_offer(handle, &event);
        // The room's switches go into the SDP; end-to-end encrypted media is said in the JSEP
        // (janus.js sets up its transforms by it).
        let (room, e2ee, answer, msids) = match self.handles.get(&handle.handle) {
            Some(Role::Publisher(p)) => (self.rooms.get(&p.room), p.e2ee, true, None),
            Some(Role::Subscriber(s)) => {
                // `use_msid`: each stream's publisher, by mid.
                let msids = s.use_msid.then(|| {
                    s.streams
                        .iter()
                        .filter(|st| st.kind != MediaKind::Data)
                        .filter(|st| st.feed.is_some_and(|h| self.publisher(h.handle).is_some()))
                        .filter_map(|st| Some((st.mid.clone()?, st.feed_id.as_ref()?.to_string())))
                        .collect::<Vec<_>>()
                });
                (self.rooms.get(&s.room), s.e2ee, false, msids)
            }
            _ => (None, false, false, None),
        };
        let jsep = match (done.jsep.as_deref().map(portunus_sdk::Jsep::parse), room) {
            (Some(Ok(mut j)), Some(room)) => {
                j.sdp = sdp::with_room_switches(&j.sdp, room, answer);
                if let Some(msids) = &msids {
                    j.sdp = sdp::with_msids(&j.sdp, msids);
                }
                if e2ee {
                    j.extra.insert("e2ee".into(), json!(true));
                }
                Some(j.to_json())
            }
            _ => done.jsep,
        };
        push(handle, transaction, &event, jsep.as_deref());
    }

    fn hangup(&mut self, handle: HandleRef) {
        match self.handles.get(&handle.handle) {
            Some(Role::Publisher(_)) => {
                self.unpublish_streams(handle.handle);
            }
            Some(Role::Subscriber(_)) => {
                self.tell_unsubscribed(handle);
                self.stop_flowing(handle.handle);
                // An offer that was out is gone with the PeerConnection, and so is what waited.
                self.subscriber_offer_failed(handle);
                if let Some(sub) = self.subscriber_mut(handle.handle) {
                    sub.started = false;
                    sub.queued = Default::default();
                }
            }
            _ => {}
        }
        self.drop_pending(handle.handle);
    }

    /// Forgets a handle's negotiations in progress.
    fn drop_pending(&mut self, handle: u64) {
        let ids: Vec<(u64, u64)> =
            self.pending.range((handle, 0)..=(handle, u64::MAX)).map(|(k, _)| *k).collect();
        for id in ids {
            self.pending.remove(&id);
        }
    }
}

/// Janus's remote publisher requests (a publisher sent to, or received from, another
/// gateway), answered by `remote` (manage.rs): sending and taking publishers wait for
/// scale-out; the requests about remote copies or remote publishers answer, finding none.
const REMOTE: &[&str] = &[
    "publish_remotely",
    "unpublish_remotely",
    "listremotes",
    "add_remote_publisher",
    "update_remote_publisher",
    "remove_remote_publisher",
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
            // (Janus's default is false: without the key in the file, anyone may forward.)
            lock_rtp_forward: setting("lock_rtp_forward")
                .and_then(portunus_sdk::rooms::flag)
                .unwrap_or(false),
            file: RoomsConfig::default(),
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

    /// Admin `message_plugin`: the synchronous requests, as Janus takes them there (no handle
    /// asks); anything else is an unknown request. Errors come as the plugin's error event.
    fn handle_admin_message(&mut self, request: Value) -> Result<Value, String> {
        let answer = |request: &str, body: &Map<String, Value>| self.synchronous(None, request, body);
        Ok(portunus_sdk::admin_answer(request, &CODES, code::INVALID_REQUEST, PACKAGE, answer))
    }

    fn handle_message(&mut self, msg: Message) -> Reply {
        let Request { body, verb: request, sent } = match msg.request(&CODES, code::NO_MESSAGE) {
            Ok(r) => r,
            Err(e) => return e.into_reply(PACKAGE),
        };
        if let Some(answer) = self.synchronous(Some(msg.handle), &request, &body) {
            return match answer {
                Ok(data) => ok(&data),
                Err(e) => e.into_reply(PACKAGE),
            };
        }
        if !ASYNC.contains(&request.as_str()) {
            return err(code::INVALID_REQUEST, format!("Unknown request '{sent}'")).into_reply(PACKAGE);
        }
        if let Err(e) = self.process(&msg, &request, &body) {
            e.push_logged(msg.handle, Some(&msg.transaction), PACKAGE);
        }
        ack(None)
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::WebrtcUp => {
                self.webrtc_up(handle);
                self.subscriber_up(handle);
            }
            MediaEvent::Hangup(reason) => {
                portunus_sdk::debug!("[{}] no WebRTC media anymore ({reason})", handle.handle);
                self.hangup(handle);
            }
            MediaEvent::Negotiated(streams) => self.negotiated(handle, &streams),
            MediaEvent::Negotiation(result) => self.negotiation_done(handle, result),
            MediaEvent::SubstreamChanged(change) => self.layer_changed(handle, &change, false),
            MediaEvent::TemporalChanged(change) => self.layer_changed(handle, &change, true),
            MediaEvent::Talking(t) => self.talking(handle, &t.mid, t.talking, t.level),
            MediaEvent::Media(_) | MediaEvent::SlowLink(_) | MediaEvent::Dtmf(_) => {}
        }
    }

    /// A publisher's data-channel messages go to the subscribers of its data.
    fn incoming_data(&mut self, handle: HandleRef, label: Option<String>, data: Vec<u8>, is_text: bool) {
        // (Not what a moderator muted.)
        let relayed =
            |p: &Publisher| p.active && !p.streams.iter().any(|s| s.kind == MediaKind::Data && s.muted);
        if self.publisher(handle.handle).is_some_and(relayed) {
            self.relay_data(handle.handle, label.as_deref(), &data, is_text);
        }
    }

    /// A publisher's `fir_freq` keyframe timer (the token is its handle).
    fn timer(&mut self, token: u64) {
        self.keyframe_timer(token);
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.leave_room(handle, Leaving::Detached);
        self.handles.remove(&handle.handle);
        self.drop_pending(handle.handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.handles.get(&handle.handle) {
            Some(Role::Publisher(p)) => json!({
                "type": "publisher", "room": p.room.to_json(), "id": p.id.to_json(),
                "display": p.display, "active": p.active, "e2ee": p.e2ee,
                "streams": Self::describe_publisher(p, false)["streams"],
            }),
            Some(Role::Subscriber(s)) => json!({
                "type": "subscriber", "room": s.room.to_json(), "started": s.started, "e2ee": s.e2ee,
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
        self.subscribers.save("subscriber/", full, &mut out);
        self.handles.save("handle/", full, &mut out);
        self.pending.save("pending/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.rooms.load("room/", &entries)?;
        self.members.load("member/", &entries)?;
        self.watchers.load("watcher/", &entries)?;
        self.subscribers.load("subscriber/", &entries)?;
        self.handles.load("handle/", &entries)?;
        self.pending.load("pending/", &entries)
    }
}

portunus_sdk::export_plugin!(VideoRoom);

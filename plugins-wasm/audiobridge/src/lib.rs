//! `janus.plugin.audiobridge`: audio conference rooms, as Janus's AudioBridge.
//!
//! Every participant of a room hears everyone else. The plugin keeps the rooms and who is in
//! them; the host mixes: each room is a host mixer, each participant a port of it (its audio
//! forwarded in, the mix of the others forwarded back out), so no audio sample crosses into
//! the plugin.
//!
//! Requests, answers, events and error codes are Janus 1.1.2's (`janus-api.md` §4.3, checked
//! against janus-ref): rooms (`create`, `edit`, `destroy`, `exists`, `list`,
//! `listparticipants`, `allowed`, permanent rooms in `janus.plugin.audiobridge.jcfg`),
//! participants (`join` with or without an offer, `configure`, `changeroom`, `leave`,
//! `hangup`), moderation (`mute`, `unmute`, `mute_room`, `unmute_room`, `kick`, `kick_all`,
//! `suspend` and `resume`: a suspended participant stays in the room, neither heard nor hearing,
//! its room events paused on request with a recap when it comes back),
//! `resetdecoder`, and `talking`/`stopped-talking` (`audiolevel_event`) from the level the host's
//! mixer measures of what each participant says, so plain-RTP participants and clients without
//! the audio-level extension too (Janus reads that extension).
//!
//! Plain-RTP participants (`allow_rtp_participants`, `join` with `rtp`) send and receive Opus on
//! a host leg joined to their port; without `ip` and `port` they only send. Their `rtp` may name
//! `audiolevel_ext` and `fec`, as Janus's: talking comes from the level the mixer measures
//! instead of the extension, and their mix carries in-band FEC when `expected_loss` is above
//! 0 (as libopus's FEC does nothing without an expected loss, `fec` alone changes nothing in
//! Janus either).
//!
//! Participants speak Opus or G.711 (`codec`: `pcmu`, `pcma`), over WebRTC or plain RTP.
//!
//! `rtp_forward` sends a room's mix as plain RTP (Opus or G.711), from a listener port of the
//! plugin's own.
//!
//! `play_file` plays an Opus-in-Ogg file into a room (`is_playing`, `stop_file`, `loop`, and
//! Janus 1.2's `stop_all_files` and `listannouncements`).
//!
//! `spatial_audio` rooms mix in stereo, each participant placed by its `spatial_position` (0
//! left, 50 centre, 100 right); their Opus participants are answered `stereo=1`.
//!
//! `groups` tag participants (and announcements) for forwarding: everyone hears every group,
//! and an `rtp_forward` of a group sends only that group's voices.
//!
//! The room's mix is recorded to a WAV file (`record`, `enable_recording`).
//!
//! A participant's own audio is recorded to an .mjr file with `record` (and `filename`, its
//! name without `.mjr`) on `join`, `configure` and `resume`, every participant's with the
//! room's `mjrs` (`create`, `enable_mjrs`), in the room's `mjrs_dir`: for `janus-pp-rec`, as
//! Janus's.

#![deny(missing_docs)]
#![deny(unsafe_code)]

mod announce;
mod forward;
mod manage;
mod participant;
mod record;
mod room;

use portunus_sdk::{
    ack, host, json, ok, ErrorCodes, HandleRef, Id, Keyed, MediaEvent, Message, Plugin, PluginError,
    PluginInfo, Reply, Request, RoomsConfig, StateChange, StateEntry, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use room::Room;

const PACKAGE: &str = "janus.plugin.audiobridge";
const NAME: &str = "JANUS AudioBridge plugin";
const AUTHOR: &str = "Portunus";
const DESCRIPTION: &str =
    "This is a plugin implementing an audio conference bridge for Janus, mixing Opus streams.";

/// Janus's AudioBridge error codes.
mod code {
    pub const UNKNOWN: u32 = 499;
    pub const NO_MESSAGE: u32 = 480;
    pub const INVALID_JSON: u32 = 481;
    pub const INVALID_REQUEST: u32 = 482;
    pub const MISSING_ELEMENT: u32 = 483;
    pub const INVALID_ELEMENT: u32 = 484;
    pub const NO_SUCH_ROOM: u32 = 485;
    pub const ROOM_EXISTS: u32 = 486;
    pub const NOT_JOINED: u32 = 487;
    pub const UNAUTHORIZED: u32 = 489;
    pub const ID_EXISTS: u32 = 490;
    pub const ALREADY_JOINED: u32 = 491;
    pub const NO_SUCH_USER: u32 = 492;
    pub const INVALID_SDP: u32 = 493;
    pub const NO_SUCH_GROUP: u32 = 494;
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
    /// `rtp_forward` and `stop_rtp_forward` need the `admin_key` too (`lock_rtp_forward`).
    lock_rtp_forward: bool,
    /// `play_file`, `is_playing` and `stop_file` need it too (`lock_play_file`).
    lock_play_file: bool,
    /// Room and participant ids are strings.
    string_ids: bool,
    /// The config file, for `permanent` rooms.
    file: RoomsConfig,
}

/// A participant: a handle in a room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Participant {
    room: Id,
    id: Id,
    display: Option<String>,
    muted: bool,
    /// Its PeerConnection is up.
    setup: bool,
    /// Talking, when the room watches audio levels.
    talking: Option<bool>,
    /// Its SDP carries the audio-level extension (in a room with `audiolevel_ext`): lists show
    /// its `talking`, as Janus's do, even when the room does not watch levels.
    #[serde(default)]
    level_ext: bool,
    /// `opus`, `pcmu` or `pcma`.
    #[serde(default = "opus")]
    codec: String,
    /// `volume` (percent), `quality` (1-10), `bitrate` (0: automatic), `expected_loss`.
    volume: u32,
    quality: u8,
    bitrate: u32,
    expected_loss: u8,
    /// Its port in the room's mixer.
    port: u64,
    /// A plain-RTP participant's leg.
    #[serde(default)]
    leg: Option<u64>,
    /// Its leg gets the mix too (the join's `rtp` had an address), not only sends.
    #[serde(default)]
    leg_hears: bool,
    /// The payload type of its leg's codec (the join's `payload_type`).
    #[serde(default)]
    leg_pt: Option<u8>,
    /// The gateway offers and the client answers (`generate_offer`), renegotiations too; a
    /// plain-RTP participant gives its address in a later `configure`.
    #[serde(default)]
    plugin_offer: bool,
    /// The rules between its PeerConnection and its port.
    rules: Vec<u64>,
    /// Its group, in a room with groups.
    #[serde(default)]
    group: Option<String>,
    /// Its place left to right (0–100), in a `spatial_audio` room.
    #[serde(default)]
    spatial_position: Option<u8>,
    /// Its own `audio_active_packets` and `audio_level_average`, over the room's.
    #[serde(default)]
    audio_active_packets: Option<u32>,
    #[serde(default)]
    audio_level_average: Option<u8>,
    /// The mixer's prebuffer for it (`prebuffer`, else the room's `default_prebuffering` when
    /// it joined, as Janus fixes it then; none: the host's).
    #[serde(default)]
    prebuffer: Option<u8>,
    /// Out of the mix both ways, still in the room (`suspend`).
    #[serde(default)]
    suspended: bool,
    /// Room events are not sent to it while suspended (`pause_events`).
    #[serde(default)]
    paused_events: bool,
    /// Its own audio is recorded (`record`) to this .mjr file, once its media is up.
    #[serde(default)]
    record: Option<String>,
    /// The rule recording it, while it does.
    #[serde(default)]
    recording: Option<u64>,
}

/// A negotiation the host is doing for a request: the event that goes out with its answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Pending {
    transaction: String,
    event: Value,
}

/// The plugin. Every map is saved per entry, so a checkpoint costs what a request touched.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AudioBridge {
    #[serde(skip)]
    settings: Settings,
    rooms: Keyed<Id, Room>,
    /// The participants of each room: (room, id) → handle.
    members: Keyed<(Id, Id), HandleRef>,
    /// The handles in a room.
    participants: Keyed<u64, Participant>,
    /// Negotiations in progress: (handle, negotiation id).
    pending: Keyed<(u64, u64), Pending>,
    /// Handles whose PeerConnection is up.
    connected: Keyed<u64, bool>,
    /// The forwarders of the rooms' mixes: (room, stream id).
    forwarders: Keyed<(Id, u32), forward::Forwarder>,
    /// The files playing into rooms: (room, file id).
    announcements: Keyed<(Id, String), announce::Announcement>,
}

fn opus() -> String {
    "opus".to_owned()
}

/// A participant's codec as the host's.
fn mix_codec(name: &str) -> portunus_sdk::MixCodec {
    match name {
        "pcmu" => portunus_sdk::MixCodec::Pcmu,
        "pcma" => portunus_sdk::MixCodec::Pcma,
        _ => portunus_sdk::MixCodec::Opus,
    }
}

fn err(code: u32, text: impl Into<String>) -> PluginError {
    PluginError::new(code, text)
}

// Events whose refusal the plugin can do nothing about are logged, not failed.
use portunus_sdk::push_event_logged as push;

fn audiobridge(kind: &str, fields: Value) -> Value {
    portunus_sdk::tagged(PACKAGE, kind, fields)
}

/// A field of a validated body.
fn str_of<'a>(body: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    body.get(name).and_then(Value::as_str)
}

impl AudioBridge {
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

    /// The participants of a room: (id, handle).
    fn members_of<'a>(&'a self, room: &'a Id) -> impl Iterator<Item = (&'a Id, HandleRef)> + 'a {
        portunus_sdk::rooms::members_in(&self.members, room).map(|(id, h)| (id, *h))
    }

    /// The group a request names in a room with groups (none in a room without): 494 for
    /// one the room lacks, 483 when `required` and missing.
    fn group_in(
        &self,
        room: &Room,
        body: &Map<String, Value>,
        required: bool,
    ) -> Result<Option<String>, PluginError> {
        if room.groups.is_empty() {
            return Ok(None);
        }
        match str_of(body, "group") {
            None if required => Err(err(code::MISSING_ELEMENT, "Missing mandatory element (group)")),
            None => Ok(None),
            Some(name) if room.groups.iter().any(|g| g == name) => Ok(Some(name.to_owned())),
            Some(name) => Err(err(code::NO_SUCH_GROUP, format!("No such group ({name})"))),
        }
    }

    /// Sends an event to the participants of a room, but `except` and those whose events are
    /// paused (one host call).
    fn notify(&self, room: &Id, except: Option<u64>, data: &Value) {
        let paused = |h: &HandleRef| self.participants.get(&h.handle).is_some_and(|p| p.paused_events);
        self.notify_where(room, data, |h| Some(h.handle) != except && !paused(h));
    }

    /// Sends an event to every participant of a room, events paused or not (`kicked`,
    /// `destroyed`).
    fn notify_everyone(&self, room: &Id, data: &Value) {
        self.notify_where(room, data, |_| true);
    }

    fn notify_where(&self, room: &Id, data: &Value, to: impl Fn(&HandleRef) -> bool) {
        let handles: Vec<HandleRef> = self.members_of(room).map(|(_, h)| h).filter(to).collect();
        if !handles.is_empty() {
            if let Err(e) = portunus_sdk::push_event_many(&handles, data) {
                portunus_sdk::warn!("room {room}: could not notify: {e}");
            }
        }
    }

    /// A participant as the event handlers hear of it: Janus's `joined` (with `setup` unless
    /// after a room change), `configured` and `left`.
    fn told(event: &str, p: &Participant, with_setup: bool) -> Value {
        // As lists show it, without its talking, and `left` with its name only.
        let mut told = Self::describe(p);
        let obj = told.as_object_mut().expect("an object");
        obj.remove("talking");
        match event {
            "joined" if with_setup => {}
            "joined" => {
                obj.remove("setup");
            }
            "configured" => {
                obj.remove("setup");
                if p.bitrate > 0 {
                    obj.insert("bitrate".into(), json!(p.bitrate));
                }
                obj.insert("quality".into(), json!(p.quality));
            }
            _ => obj.retain(|k, _| k == "id" || k == "display"),
        }
        obj.insert("event".into(), json!(event));
        obj.insert("room".into(), p.room.to_json());
        told
    }

    /// Tells the event handlers about the participant of `handle`, if it is one.
    fn tell_of(&self, handle: HandleRef, about: Option<HandleRef>, event: &str, with_setup: bool) {
        if let Some(p) = self.participants.get(&handle.handle) {
            portunus_sdk::notify_event(about, || Self::told(event, p, with_setup));
        }
    }

    /// A participant as lists and events show it.
    fn describe(p: &Participant) -> Value {
        let mut entry = json!({"id": p.id.to_json()});
        let obj = entry.as_object_mut().expect("an object");
        if let Some(d) = &p.display {
            obj.insert("display".into(), json!(d));
        }
        obj.insert("setup".into(), json!(p.setup));
        obj.insert("muted".into(), json!(p.muted));
        if let Some(position) = p.spatial_position {
            obj.insert("spatial_position".into(), json!(position));
        }
        if p.talking.is_some() || p.level_ext {
            obj.insert("talking".into(), json!(p.talking.unwrap_or(false)));
        }
        if p.suspended {
            obj.insert("suspended".into(), json!(true));
        }
        entry
    }

    /// What the host mixes for a participant: its own settings and the room's mute.
    fn mix_settings(&self, p: &Participant) -> portunus_sdk::MixSettings {
        let room = self.rooms.get(&p.room);
        let room_muted = room.is_some_and(|r| r.muted);
        portunus_sdk::MixSettings {
            group: room.map_or(0, |r| r.group_number(p.group.as_deref())),
            hears_group: 0,
            pan: p.spatial_position.unwrap_or(50),
            // Talking, from the level the mixer measures (Janus: from the audio-level
            // extension), averaged over `audio_active_packets` packets.
            talk_packets: match room {
                Some(r) if r.audiolevel_event => {
                    p.audio_active_packets.filter(|n| *n > 0).unwrap_or(r.audio_active_packets)
                }
                _ => 0,
            },
            talk_threshold: p
                .audio_level_average
                .filter(|n| *n > 0)
                .or(room.map(|r| r.audio_level_average.min(127) as u8))
                .unwrap_or(25),
            muted: p.muted || room_muted,
            deaf: false,
            suspended: p.suspended,
            gain_percent: p.volume,
            bitrate: p.bitrate,
            complexity: p.quality,
            expected_loss: p.expected_loss,
            dtx: false,
            prebuffer: p.prebuffer.unwrap_or(0),
        }
    }

    /// Tells the host a participant's settings changed.
    fn remix(&self, handle: u64) {
        if let Some(p) = self.participants.get(&handle) {
            if let Err(e) = host::mixer_set(p.port, self.mix_settings(p)) {
                portunus_sdk::warn!("[{handle}] mixer: {e}");
            }
        }
    }
}

/// The requests answered with an event.
const ASYNC: &[&str] = &["join", "configure", "changeroom", "leave", "hangup"];

impl AudioBridge {
    /// The synchronous requests, answered at once; `None` for any other. `requester` is the
    /// handle that asked (none over the Admin API).
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
            "listparticipants" => self.list_participants(body),
            "mute" | "unmute" => self.mute(requester, body, request == "mute"),
            "mute_room" | "unmute_room" => self.mute_room(requester, body, request == "mute_room"),
            "suspend" | "resume" => self.suspend(requester, body, request == "suspend"),
            "kick" => self.kick(requester, body),
            "kick_all" => self.kick_all(requester, body),
            // (A participant's own request: none over the Admin API.)
            "resetdecoder" => self.reset_decoder(requester?),
            "rtp_forward" => self.rtp_forward(body),
            "stop_rtp_forward" => self.stop_rtp_forward(body),
            "listforwarders" => self.list_forwarders(body),
            "play_file" => self.play_file(body),
            "is_playing" => self.is_playing(body),
            "stop_file" => self.stop_file(body),
            "stop_all_files" => self.stop_all_files(body),
            "listannouncements" => self.list_announcements(body),
            "enable_recording" => self.enable_recording(body),
            "enable_mjrs" => self.enable_mjrs(body),
            _ => return None,
        })
    }
}

impl Plugin for AudioBridge {
    fn init(&mut self, config: &Value) -> Result<PluginInfo, String> {
        let general = config.get("general");
        let setting = |name: &str| general.and_then(|g| g.get(name));
        let flag = |name: &str| setting(name).and_then(portunus_sdk::rooms::flag).unwrap_or(false);
        self.settings = Settings {
            admin_key: setting("admin_key").and_then(Value::as_str).map(str::to_owned),
            lock_rtp_forward: flag("lock_rtp_forward"),
            lock_play_file: flag("lock_play_file"),
            string_ids: flag("string_ids"),
            file: RoomsConfig::default(),
        };
        self.load_config_rooms(config);
        Ok(PluginInfo {
            package: PACKAGE.to_owned(),
            name: NAME.to_owned(),
            author: AUTHOR.to_owned(),
            description: DESCRIPTION.to_owned(),
            version: 13,
            version_string: "0.0.13".to_owned(),
        })
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
        let outcome = match request.as_str() {
            "join" => self.join(&msg, &body),
            "configure" => self.configure(&msg, &body),
            "changeroom" => self.change_room(&msg, &body),
            "leave" => self.leave(&msg),
            _ => {
                self.hangup_request(&msg);
                Ok(())
            }
        };
        if let Err(e) = outcome {
            e.push_logged(msg.handle, Some(&msg.transaction), PACKAGE);
        }
        ack(None)
    }

    fn media_event(&mut self, handle: HandleRef, event: MediaEvent) {
        match event {
            MediaEvent::WebrtcUp => self.webrtc_up(handle),
            MediaEvent::Hangup(reason) => {
                portunus_sdk::debug!("[{}] no WebRTC media anymore ({reason})", handle.handle);
                self.media_gone(handle);
            }
            MediaEvent::Negotiation(result) => self.negotiation_done(handle, result),
            MediaEvent::Talking(t) => self.talking(handle, t.talking),
            _ => {}
        }
    }

    /// A file announcement's input stopped sending: the file ended.
    fn input_media(&mut self, input: u64, _mid: String, receiving: bool) {
        if !receiving {
            self.file_ended(input);
        }
    }

    fn mixer_record_failed(&mut self, mixer: u64, why: String) {
        self.recording_failed(mixer, &why);
    }

    fn destroy_handle(&mut self, handle: HandleRef) {
        self.connected.remove(&handle.handle);
        self.remove_participant(handle, true);
        self.drop_pending(handle.handle);
    }

    fn query_handle(&self, handle: HandleRef) -> Value {
        match self.participants.get(&handle.handle) {
            Some(p) => json!({
                "room": p.room.to_json(), "id": p.id.to_json(), "display": p.display,
                "muted": p.muted, "setup": p.setup, "volume": p.volume, "quality": p.quality,
                "bitrate": p.bitrate, "expected_loss": p.expected_loss,
            }),
            None => json!({}),
        }
    }

    fn checkpoint(&mut self, full: bool) -> Vec<StateChange> {
        let mut out = Vec::new();
        self.rooms.save("room/", full, &mut out);
        self.members.save("member/", full, &mut out);
        self.participants.save("participant/", full, &mut out);
        self.pending.save("pending/", full, &mut out);
        self.connected.save("connected/", full, &mut out);
        self.forwarders.save("forwarder/", full, &mut out);
        self.announcements.save("announcement/", full, &mut out);
        out
    }

    fn restore(&mut self, entries: Vec<StateEntry>) -> Result<(), String> {
        self.rooms.load("room/", &entries)?;
        self.members.load("member/", &entries)?;
        self.participants.load("participant/", &entries)?;
        // State saved before `leg_hears` existed: a leg with two rules hears the mix.
        for p in
            self.participants.values_mut().filter(|p| p.leg.is_some() && !p.leg_hears && p.rules.len() >= 2)
        {
            p.leg_hears = true;
        }
        self.pending.load("pending/", &entries)?;
        self.connected.load("connected/", &entries)?;
        self.forwarders.load("forwarder/", &entries)?;
        self.announcements.load("announcement/", &entries)
    }
}

portunus_sdk::export_plugin!(AudioBridge);

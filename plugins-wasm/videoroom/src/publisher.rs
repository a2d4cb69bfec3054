//! Publishers: `join` as a publisher, `publish`/`configure` with an offer (the host answers),
//! `unpublish`, `leave`, and what the room hears of them.

use std::collections::{BTreeMap, BTreeSet};

use portunus_sdk::{
    host, json, AnswerPolicy, Direction, Field, HandleRef, Id, JsonType, MediaKind, Message, NegotiationDone,
    PluginError, StreamInfo, Value,
};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::sdp;
use crate::{
    check_pin, code, err, kind_name, push, str_of, videoroom, Leaving, Pending, Role, VideoRoom, CODES,
};

/// A stream a publisher sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct PubStream {
    pub(crate) mindex: usize,
    pub(crate) mid: String,
    pub(crate) kind: MediaKind,
    pub(crate) codec: String,
    pub(crate) simulcast: bool,
    /// VP9 SVC (the publisher's JSEP named it in `svc`, or the room has `video_svc`): its
    /// subscribers choose `spatial_layer` and `temporal_layer`.
    #[serde(default)]
    pub(crate) svc: bool,
    pub(crate) description: Option<String>,
    /// Muted by a moderator: not forwarded to subscribers.
    #[serde(default)]
    pub(crate) muted: bool,
    /// Its H.264 or VP9 profile, when known (a dummy publisher's, from `dummy_streams`).
    #[serde(default)]
    pub(crate) profile: Option<String>,
    /// What its Opus carries, as the publisher's offer said.
    #[serde(default)]
    pub(crate) opus: OpusFlags,
}

/// What a publisher's Opus stream carries, by its offer's `fmtp` (Janus reads it only in rooms
/// with `opus_fec`): stereo, in-band FEC, DTX.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OpusFlags {
    pub(crate) stereo: bool,
    pub(crate) fec: bool,
    pub(crate) dtx: bool,
}

/// A participant that joined as a publisher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Publisher {
    pub(crate) room: Id,
    pub(crate) id: Id,
    pub(crate) private_id: u32,
    pub(crate) display: Option<String>,
    pub(crate) metadata: Option<Value>,
    /// Its PeerConnection is up: others can subscribe.
    pub(crate) active: bool,
    pub(crate) streams: Vec<PubStream>,
    /// Descriptions given before the streams were negotiated, by mid.
    pub(crate) descriptions: BTreeMap<String, String>,
    /// What each Opus stream of its last offer carries, by mid.
    #[serde(default)]
    pub(crate) opus: BTreeMap<String, OpusFlags>,
    /// The streams of its last offer that send SVC if they are VP9, by mid.
    #[serde(default)]
    pub(crate) svc: BTreeSet<String>,
    pub(crate) bitrate: u64,
    /// Its RTP forwarders: rule → (mid, target as listed).
    pub(crate) forwarders: BTreeMap<u64, (String, Value)>,
    /// It published at some point (`listforwarders` lists it from then on, as Janus does).
    #[serde(default)]
    pub(crate) ever_published: bool,
    /// Its audio is louder than the room's `audio_level_average` (`audiolevel_event` rooms).
    #[serde(default)]
    pub(crate) talking: bool,
    /// Its media is end-to-end encrypted (its offer's JSEP said `e2ee`): the gateway forwards
    /// it as it is, and its answer and its subscribers' offers say `e2ee` too.
    #[serde(default)]
    pub(crate) e2ee: bool,
    /// A room's dummy publisher (`dummy_publisher`): placeholder streams, no client.
    #[serde(default)]
    pub(crate) dummy: bool,
    /// It asked to be recorded (`record`), to files named from `filename` when given.
    #[serde(default)]
    pub(crate) record: bool,
    #[serde(default)]
    pub(crate) filename: Option<String>,
    /// The rules recording its streams, by mid.
    #[serde(default)]
    pub(crate) recordings: BTreeMap<String, u64>,
}

impl Publisher {
    /// What its offer said of the Opus stream `mid`.
    fn opus_of(&self, mid: &str) -> OpusFlags {
        self.opus.get(mid).copied().unwrap_or_default()
    }

    /// Whether its stream `mid` in `codec` sends SVC (a simulcast one does not, as in Janus).
    fn svc_of(&self, mid: &str, codec: &str, simulcast: bool) -> bool {
        codec == "vp9" && !simulcast && self.svc.contains(mid)
    }

    /// Adds its `display` and `metadata`, when it has them, to what others hear of it.
    fn identify(&self, info: &mut Value) {
        if let Some(display) = &self.display {
            info["display"] = json!(display);
        }
        if let Some(metadata) = &self.metadata {
            info["metadata"] = metadata.clone();
        }
    }
}

impl VideoRoom {
    /// A publisher as others see it (Janus's `P`); `talking` adds the talking flags Janus
    /// puts in a `joined` event's list.
    pub(crate) fn describe_publisher(p: &Publisher, talking: bool) -> Value {
        // A dummy publisher has no audio level to tell (Janus: no audio-level extension).
        let talking = talking && !p.dummy;
        let mut d = json!({ "id": p.id.to_json() });
        p.identify(&mut d);
        if p.dummy {
            d["dummy"] = json!(true);
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
                if s.codec == "opus" {
                    for (key, on) in [("stereo", s.opus.stereo), ("fec", s.opus.fec), ("dtx", s.opus.dtx)] {
                        if on {
                            st[key] = json!(true);
                        }
                    }
                }
                if let Some(d) = &s.description {
                    st["description"] = json!(d);
                }
                match (s.codec.as_str(), &s.profile) {
                    ("h264", Some(profile)) => st["h264_profile"] = json!(profile),
                    ("vp9", Some(profile)) => st["vp9_profile"] = json!(profile),
                    _ => {}
                }
                if s.simulcast {
                    st["simulcast"] = json!(true);
                }
                if s.svc {
                    st["svc"] = json!(true);
                }
                if s.muted {
                    st["moderated"] = json!(true);
                }
                if talking && s.kind == MediaKind::Audio {
                    st["talking"] = json!(p.talking);
                }
                st
            })
            .collect();
        d["streams"] = json!(streams);
        if talking {
            d["talking"] = json!(p.talking);
        }
        d
    }

    /// Gives a room with `dummy_publisher` its dummy publisher, unless it has one: a publisher
    /// without a client ("Dummy publisher"), publishing a placeholder stream per codec of the
    /// room (or of `dummy_streams`) that subscribers can take and later `switch`.
    pub(crate) fn ensure_dummy(&mut self, room_id: &Id) {
        let Some(room) = self.rooms.get(room_id).filter(|r| r.dummy_publisher) else { return };
        if self.members_of(room_id).any(|(_, h)| crate::is_dummy(h)) {
            return;
        }
        let streams = room
            .dummy_streams()
            .into_iter()
            .enumerate()
            .map(|(mindex, (kind, codec, profile))| PubStream {
                mindex,
                mid: mindex.to_string(),
                kind,
                profile,
                codec,
                simulcast: false,
                svc: false,
                description: None,
                muted: false,
                opus: OpusFlags::default(),
            })
            .collect();
        let e2ee = room.require_e2ee || room.dummy_e2ee;
        let id = loop {
            let id = Id::random(self.settings.string_ids);
            if !self.members.contains_key(&(room_id.clone(), id.clone())) {
                break id;
            }
        };
        let handle =
            HandleRef { session: 0, handle: crate::DUMMY_BIT | (portunus_sdk::rooms::random_u64() >> 11) };
        let publisher = Publisher {
            room: room_id.clone(),
            id: id.clone(),
            private_id: 0,
            display: Some("Dummy publisher".to_owned()),
            metadata: None,
            active: true,
            streams,
            descriptions: BTreeMap::new(),
            opus: BTreeMap::new(),
            svc: BTreeSet::new(),
            bitrate: 0,
            forwarders: BTreeMap::new(),
            ever_published: true,
            talking: false,
            e2ee,
            dummy: true,
            record: false,
            filename: None,
            recordings: BTreeMap::new(),
        };
        self.handles.insert(handle.handle, Role::Publisher(Box::new(publisher)));
        self.members.insert((room_id.clone(), id), handle);
    }

    /// The active publishers of a room, but `except`.
    pub(crate) fn active_publishers(&self, room: &Id, except: Option<u64>) -> Vec<Value> {
        self.members_of(room)
            .filter(|(_, h)| Some(h.handle) != except)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| p.active)
            .map(|p| Self::describe_publisher(p, true))
            .collect()
    }

    pub(crate) fn join(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
        configure: bool,
    ) -> Result<(), PluginError> {
        portunus_sdk::validate(body, &[Field::new("ptype", JsonType::String).required()], &CODES)?;
        match str_of(body, "ptype") {
            Some("publisher") => self.join_publisher(msg, body, configure),
            Some("subscriber") if !configure => self.join_subscriber(msg, body),
            _ => Err(err(code::INVALID_ELEMENT, "Invalid element (ptype)")),
        }
    }

    pub(crate) fn join_publisher(
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
        // `joinandconfigure` with an offer: a codec the room lacks stops it before the join.
        if configure && msg.parsed_jsep().is_some_and(|j| !j.sdp.is_empty()) {
            room.check_codecs_asked(body)?;
        }
        if !room.allowed.admits(str_of(body, "token")) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (not in the allowed list)"));
        }
        portunus_sdk::validate(body, &[self.id_field("id")], &CODES)?;
        let taken = |id: &Id| self.members.contains_key(&(room_id.clone(), id.clone()));
        let id = Id::choose(body.get("id"), self.settings.string_ids, taken)
            .map_err(|id| err(code::ID_EXISTS, format!("User ID {id} already exists")))?;
        let description = room.description.clone();
        let notify_joining = room.notify_joining;
        let bitrate = room.bitrate;
        let publisher = Publisher {
            room: room_id.clone(),
            id: id.clone(),
            private_id: (portunus_sdk::rooms::random_u64() as u32).max(1),
            display: str_of(body, "display").map(str::to_owned),
            metadata: body.get("metadata").cloned(),
            active: false,
            streams: Vec::new(),
            descriptions: BTreeMap::new(),
            opus: BTreeMap::new(),
            svc: BTreeSet::new(),
            bitrate,
            forwarders: BTreeMap::new(),
            ever_published: false,
            talking: false,
            e2ee: false,
            dummy: false,
            record: false,
            filename: None,
            recordings: BTreeMap::new(),
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
            publisher.identify(&mut joining);
            self.notify(
                &room_id,
                None,
                &videoroom("event", json!({"room": room_id.to_json(), "joining": joining})),
            );
        }
        portunus_sdk::notify_event(Some(handle), || {
            let mut info = json!({"event": "joined", "room": room_id.to_json(), "id": id.to_json(),
                                  "private_id": publisher.private_id});
            publisher.identify(&mut info);
            info
        });
        self.members.insert((room_id.clone(), id.clone()), handle);
        self.handles.insert(handle.handle, Role::Publisher(Box::new(publisher)));
        portunus_sdk::info!("[{}] joined room {room_id} as publisher {id}", handle.handle);
        if configure {
            // joinandconfigure: one event, `joined` (with the answer when there was an offer).
            return self.configure_publisher(msg, body, Some(joined));
        }
        push(handle, Some(&msg.transaction), &joined, None);
        Ok(())
    }

    /// `configure` / `publish` of a publisher (and the configure half of `joinandconfigure`,
    /// which brings its `joined` event along).
    pub(crate) fn configure_publisher(
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
        if body.contains_key("record") {
            // A room with `lock_record` takes its secret to change what is recorded.
            if let Some(room) = self.publisher(handle.handle).and_then(|p| self.rooms.get(&p.room)) {
                if room.lock_record && room.secret.is_some() {
                    portunus_sdk::rooms::check_key(
                        body,
                        "secret",
                        room.secret.as_deref(),
                        &CODES,
                        code::UNAUTHORIZED,
                    )?;
                }
            }
        }
        let jsep = msg.parsed_jsep().filter(|j| !j.sdp.is_empty());
        // (Before anything changes.)
        if let (Some(room), Some(_)) =
            (self.publisher(handle.handle).and_then(|p| self.rooms.get(&p.room)), &jsep)
        {
            room.check_codecs_asked(body)?;
        }
        // With `bitrate_cap`, the room's bitrate is a ceiling publishers cannot raise.
        let ceiling = self
            .publisher(handle.handle)
            .and_then(|p| self.rooms.get(&p.room))
            .filter(|r| r.bitrate_cap && r.bitrate > 0)
            .map_or(u64::MAX, |r| r.bitrate);
        let Some(p) = self.publisher_mut(handle.handle) else {
            return Err(err(code::JOIN_FIRST, "Join first"));
        };
        let room_id = p.room.clone();
        if let Some(bitrate) = body.get("bitrate").and_then(Value::as_u64).map(|b| b.min(ceiling)) {
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
        if let Some(record) = body.get("record").and_then(Value::as_bool) {
            p.record = record;
        }
        if let Some(name) = str_of(body, "filename") {
            p.filename = Some(name.to_owned());
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
        // (Not for the display a participant joins with.)
        if renamed && joined.is_none() {
            self.notify(&room_id, Some(handle.handle), &videoroom("event", changed));
        }
        if body.contains_key("record") {
            self.record_publisher(handle.handle);
        }
        if let (None, Some(p)) = (&joined, self.publisher(handle.handle)) {
            portunus_sdk::notify_event(
                Some(handle),
                || json!({"event": "configured", "room": p.room.to_json(), "id": p.id.to_json(), "bitrate": p.bitrate}),
            );
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
        // A participant that starts to publish needs room among those publishing.
        if !self.publisher(handle.handle).is_some_and(|p| p.active) && self.publishers_full(&room_id) {
            let max = self.rooms.get(&room_id).map_or(0, |r| r.publishers);
            return Err(err(code::PUBLISHERS_FULL, format!("Maximum number of publishers ({max}) reached")));
        }
        let room = self
            .rooms
            .get(&room_id)
            .ok_or_else(|| err(code::NO_SUCH_ROOM, format!("No such room ({room_id})")))?;
        // End-to-end encryption, as the JSEP says (`require_e2ee` rooms take nothing else).
        let e2ee = jsep.extra.get("e2ee").and_then(Value::as_bool) == Some(true)
            || self.publisher(handle.handle).is_some_and(|p| p.e2ee);
        if room.require_e2ee && !e2ee {
            return Err(err(code::UNAUTHORIZED, "Room requires end-to-end encrypted media"));
        }
        // The codec asked for, or the room's; a room's H.264 or VP9 profile goes with them.
        let preferred = |asked: Option<&str>, codecs: &[String]| {
            let codecs: Vec<String> = match asked {
                Some(c) => vec![c.to_ascii_lowercase()],
                None => codecs.to_vec(),
            };
            vec![codecs.iter().map(|c| room.with_profile(c)).collect::<Vec<_>>().join(",")]
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
        let (room_bitrate, room_opus_fec, room_svc) = (room.bitrate, room.opus_fec, room.video_svc);
        host::set_rtp_extensions(handle, room.rtp_extensions(false));
        let negotiation = host::answer(handle, &jsep.sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
        let opus = if room_opus_fec { sdp::opus_flags(&jsep.sdp) } else { BTreeMap::new() };
        let svc = sdp::published_streams(&jsep.sdp)
            .into_iter()
            .filter(|s| room_svc || jsep.names_svc(s.mindex, &s.mid))
            .map(|s| s.mid)
            .collect();
        if let Some(p) = self.publisher_mut(handle.handle) {
            p.e2ee = e2ee;
            p.opus = opus;
            p.svc = svc;
        }
        let event = joined
            .unwrap_or_else(|| videoroom("event", json!({"room": room_id.to_json(), "configured": "ok"})));
        self.pending.insert(
            (handle.handle, negotiation),
            Pending { transaction: Some(msg.transaction.clone()), event },
        );
        let cap = self.publisher(handle.handle).map_or(room_bitrate, |p| p.bitrate);
        if cap > 0 {
            host::set_bitrate_cap(handle, u32::try_from(cap).unwrap_or(u32::MAX));
        }
        Ok(())
    }

    /// A publisher's streams stop: its subscribers' rules go, its forwarders too, and the room
    /// hears `unpublished`. Returns whether it was publishing.
    pub(crate) fn unpublish_streams(&mut self, handle: u64) -> bool {
        let Some(p) = self.publisher_mut(handle) else { return false };
        let was_active = std::mem::replace(&mut p.active, false);
        p.streams.clear();
        p.e2ee = false;
        let forwarders = std::mem::take(&mut p.forwarders);
        let recordings = std::mem::take(&mut p.recordings);
        let (room, id) = (p.room.clone(), p.id.clone());
        for rule in forwarders.keys().chain(recordings.values()) {
            host::unforward(*rule);
        }
        self.feed_gone(handle);
        if was_active {
            self.notify_gone("unpublished", handle);
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
    pub(crate) fn leave_room(&mut self, handle: HandleRef, how: Leaving) {
        match self.handles.get(&handle.handle) {
            Some(Role::Publisher(p)) => {
                let (room, id) = (p.room.clone(), p.id.clone());
                let was_active = self.unpublish_streams(handle.handle);
                self.members.remove(&(room.clone(), id.clone()));
                if how == Leaving::Detached && !was_active {
                    let unpublished = json!({"room": room.to_json(), "unpublished": id.to_json()});
                    self.notify(&room, None, &videoroom("event", unpublished));
                }
                let key = if how == Leaving::Kicked { "kicked" } else { "leaving" };
                self.notify_gone(key, handle.handle);
                self.notify(
                    &room,
                    None,
                    &videoroom("event", json!({"room": room.to_json(), key: id.to_json()})),
                );
            }
            Some(Role::Subscriber(s)) => {
                let (room, feeds) = (s.room.clone(), self.watched(handle.handle));
                self.tell_unsubscribed(handle);
                self.stop_flowing(handle.handle);
                self.subscribers.remove(&(room, handle.handle));
                self.handles.insert(handle.handle, Role::LeftSubscriber);
                self.sync_watchers(handle, &feeds);
                return;
            }
            _ => {}
        }
        self.handles.insert(handle.handle, Role::Left);
    }

    pub(crate) fn publishers_full(&self, room: &Id) -> bool {
        let max = self.rooms.get(room).map_or(0, |r| r.publishers);
        let active = self
            .members_of(room)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| p.active && !p.dummy)
            .count();
        active as u64 >= max
    }

    /// A publisher's streams, as negotiated.
    pub(crate) fn negotiated(&mut self, handle: HandleRef, streams: &[StreamInfo]) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        let muted = |mid: &str| p.streams.iter().any(|s| s.mid == mid && s.muted);
        let streams: Vec<PubStream> = streams
            .iter()
            .enumerate()
            .filter(|(_, s)| s.client_sends || s.kind == MediaKind::Data)
            .map(|(mindex, s)| PubStream {
                mindex,
                mid: s.mid.clone(),
                kind: s.kind,
                codec: s.codec.to_ascii_lowercase(),
                simulcast: !s.rids.is_empty(),
                svc: p.svc_of(&s.mid, &s.codec.to_ascii_lowercase(), !s.rids.is_empty()),
                description: p.descriptions.get(&s.mid).cloned(),
                muted: muted(&s.mid),
                profile: None,
                opus: p.opus_of(&s.mid),
            })
            .collect();
        p.streams = streams;
        if p.active {
            self.record_publisher(handle.handle);
            let Some(p) = self.publisher_mut(handle.handle) else { return };
            // A renegotiation: the room hears the new streams.
            let (room, described) = (p.room.clone(), Self::describe_publisher(p, false));
            Self::notify_handlers(handle, "updated", &room, &described);
            self.notify(
                &room,
                Some(handle.handle),
                &videoroom("event", json!({"room": room.to_json(), "publishers": [described]})),
            );
        }
    }

    /// Tells the event handlers a publisher `unpublished`, is `leaving` or was `kicked`, as
    /// Janus's VideoRoom tells them: about no handle, with its display and metadata.
    fn notify_gone(&self, event: &str, handle: u64) {
        let Some(p) = self.publisher(handle) else { return };
        portunus_sdk::notify_event(None, || {
            let mut info = json!({"event": event, "room": p.room.to_json(), "id": p.id.to_json()});
            p.identify(&mut info);
            info
        });
    }

    /// Tells the event handlers a publisher's streams (`published`, `updated`), as the room
    /// hears them (`described`), as Janus's VideoRoom tells them.
    fn notify_handlers(handle: HandleRef, event: &str, room: &Id, described: &Value) {
        portunus_sdk::notify_event(Some(handle), || {
            let mut info = described.clone();
            info["event"] = json!(event);
            info["room"] = room.to_json();
            info
        });
    }

    /// A publisher's PeerConnection is up: the room hears about it.
    pub(crate) fn webrtc_up(&mut self, handle: HandleRef) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        if p.active {
            return;
        }
        p.active = true;
        p.ever_published = true;
        let (room, described) = (p.room.clone(), Self::describe_publisher(p, false));
        portunus_sdk::info!("[{}] publisher {} is up in room {room}", handle.handle, p.id);
        Self::notify_handlers(handle, "published", &room, &described);
        let Some(r) = self.rooms.get(&room) else { return };
        // Keyframes every `fir_freq` seconds, as Janus asks its publishers.
        if r.fir_freq > 0 {
            host::set_timer(
                handle.handle,
                u32::try_from(r.fir_freq.saturating_mul(1000)).unwrap_or(u32::MAX),
            );
        }
        // Talking events from the audio level its client sends.
        if r.audiolevel_event {
            let packets = u32::try_from(r.audio_active_packets).unwrap_or(u32::MAX);
            host::watch_talking(handle, packets, u8::try_from(r.audio_level_average.min(127)).unwrap_or(127));
        }
        self.notify(
            &room,
            Some(handle.handle),
            &videoroom("event", json!({"room": room.to_json(), "publishers": [described]})),
        );
        self.record_publisher(handle.handle);
    }

    /// The host made a publisher's answer: what it accepts is what the publisher sends, and
    /// the `configured` event lists it.
    pub(crate) fn publisher_answered(
        &mut self,
        handle: HandleRef,
        event: &mut Value,
        done: &NegotiationDone,
    ) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        let answer = done.jsep.as_deref().and_then(|j| portunus_sdk::Jsep::parse(j).ok());
        if let Some(answer) = answer {
            // A renegotiation keeps what a moderator muted.
            let muted: Vec<String> = p.streams.iter().filter(|s| s.muted).map(|s| s.mid.clone()).collect();
            let mut streams = sdp::published_streams(&answer.sdp);
            for s in &mut streams {
                s.description = p.descriptions.get(&s.mid).cloned();
                s.muted = muted.contains(&s.mid);
                s.opus = p.opus_of(&s.mid);
                s.svc = p.svc_of(&s.mid, &s.codec, s.simulcast);
            }
            p.streams = streams;
        }
        let described = Self::describe_publisher(p, false);
        for key in ["audio_codec", "video_codec", "streams"] {
            if let Some(v) = described.get(key) {
                event[key] = v.clone();
            }
        }
    }

    /// A publisher's `fir_freq` timer: a keyframe request, and the next one.
    pub(crate) fn keyframe_timer(&mut self, handle: u64) {
        let Some(p) = self.publisher(handle) else { return };
        let Some(handle_ref) = self.members.get(&(p.room.clone(), p.id.clone())).copied() else { return };
        let freq = self.rooms.get(&p.room).map_or(0, |r| r.fir_freq);
        if p.active && freq > 0 {
            host::request_keyframe(handle_ref, None);
            host::set_timer(handle, u32::try_from(freq.saturating_mul(1000)).unwrap_or(u32::MAX));
        }
    }

    /// Whether a publisher's stream is muted by a moderator.
    pub(crate) fn muted(&self, feed: u64, mid: &str) -> bool {
        self.publisher(feed).is_some_and(|p| p.streams.iter().any(|s| s.mid == mid && s.muted))
    }

    /// A publisher started or stopped talking: the room hears it (the publisher too).
    pub(crate) fn talking(&mut self, handle: HandleRef, mid: &str, talking: bool, level: u8) {
        let Some(p) = self.publisher_mut(handle.handle) else { return };
        p.talking = talking;
        let (room, id) = (p.room.clone(), p.id.to_json());
        let kind = if talking { "talking" } else { "stopped-talking" };
        let event =
            json!({"room": room.to_json(), "id": id, "mid": mid, "audio-level-dBov-avg": f64::from(level)});
        let mindex = p.streams.iter().find(|s| s.mid == mid).map(|s| s.mindex);
        portunus_sdk::notify_event(Some(handle), || {
            let mut told = videoroom(kind, event.clone());
            told["mindex"] = json!(mindex);
            told
        });
        self.notify(&room, None, &videoroom(kind, event));
    }
}

//! The participants' requests (`join`, `configure`, `changeroom`, `leave`, `hangup`) and their
//! media: an offer is answered audio-only in Opus (or, with `generate_offer`, the gateway
//! offers and the client answers in a `configure`), and once negotiated two rules join the
//! PeerConnection to the participant's mixer port (its voice in, the others' mix out).

use portunus_sdk::{
    host, json, AnswerPolicy, Direction, Endpoint, Field, ForwardOptions, ForwardSource, HandleRef, Id,
    JsonType, LegCodec, LegOptions, LegRemote, MediaKind, Message, NegotiationResult, OfferedStream,
    PluginError, RtpExtensions, Value,
};
use serde_json::Map;

use crate::{audiobridge, code, err, push, str_of, AudioBridge, Participant, Pending, CODES};

/// The audio-level extension (RFC 6464), as an SDP's `extmap` names it.
const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";

/// What `join` and `changeroom` take (and `configure`, but the room and pin).
const JOIN_FIELDS: &[Field] = &[
    Field::new("display", JsonType::String),
    Field::new("token", JsonType::String),
    Field::new("muted", JsonType::Bool),
    Field::new("suspended", JsonType::Bool),
    Field::new("pause_events", JsonType::Bool),
    Field::new("codec", JsonType::String),
    Field::new("bitrate", JsonType::Integer).positive(),
    Field::new("quality", JsonType::Integer).positive(),
    Field::new("expected_loss", JsonType::Integer).positive(),
    Field::new("volume", JsonType::Integer).positive(),
    Field::new("spatial_position", JsonType::Integer).positive(),
    Field::new("secret", JsonType::String),
    Field::new("audio_level_average", JsonType::Integer).positive(),
    Field::new("audio_active_packets", JsonType::Integer).positive(),
    Field::new("record", JsonType::Bool),
    Field::new("filename", JsonType::String),
    Field::new("prebuffer", JsonType::Integer).positive(),
    Field::new("generate_offer", JsonType::Bool),
    Field::new("rtp", JsonType::Object),
    Field::new("group", JsonType::String),
    Field::new("update", JsonType::Bool),
];

/// The encoder settings a body sets, checked as Janus checks them.
fn encoder_settings(body: &Map<String, Value>, p: &mut Participant) -> Result<(), PluginError> {
    if let Some(q) = body.get("quality").and_then(Value::as_u64) {
        if !(1..=10).contains(&q) {
            return Err(err(
                code::INVALID_ELEMENT,
                "Invalid element (quality should be a positive integer between 1 and 10)",
            ));
        }
        p.quality = q as u8;
    }
    if let Some(l) = body.get("expected_loss").and_then(Value::as_u64) {
        if l > 20 {
            return Err(err(
                code::INVALID_ELEMENT,
                "Invalid element (expected_loss should be a positive integer between 0 and 20)",
            ));
        }
        p.expected_loss = l as u8;
    }
    if let Some(b) = body.get("bitrate").and_then(Value::as_u64) {
        p.bitrate = u32::try_from(b).unwrap_or(u32::MAX);
    }
    if let Some(v) = body.get("volume").and_then(Value::as_u64) {
        p.volume = u32::try_from(v).unwrap_or(u32::MAX).min(1000);
    }
    if let Some(n) = body.get("prebuffer").and_then(Value::as_u64) {
        // Past the most, it keeps what it had (as in Janus).
        p.prebuffer = crate::room::prebuffer(n).or(p.prebuffer);
    }
    Ok(())
}

/// `suspended` on `join` and `changeroom`: it starts suspended (and stays so in another room),
/// its room events paused with `pause_events`.
fn suspend_as_asked(body: &Map<String, Value>, p: &mut Participant) {
    if body.get("suspended").and_then(Value::as_bool) == Some(true) {
        p.suspended = true;
        p.paused_events |= body.get("pause_events").and_then(Value::as_bool) == Some(true);
    }
}

/// Where a body places a participant of a `spatial_audio` room (none in another room):
/// `spatial_position`, at most 100, else `current` or the centre.
fn spatial_position(room: &crate::room::Room, body: &Map<String, Value>, current: Option<u8>) -> Option<u8> {
    let asked = body.get("spatial_position").and_then(Value::as_u64).map(|p| p.min(100) as u8);
    room.spatial_audio.then(|| asked.or(current).unwrap_or(50))
}

/// Fields this gateway cannot do yet, refused clearly.
fn refuse_missing_features(body: &Map<String, Value>) -> Result<(), PluginError> {
    match str_of(body, "codec").map(str::to_ascii_lowercase).as_deref() {
        None | Some("opus" | "pcmu" | "pcma") => {}
        Some(_) => return Err(err(code::INVALID_ELEMENT, "Invalid element (codec must opus, pcmu or pcma)")),
    }
    Ok(())
}

impl AudioBridge {
    /// A room's id and the checks to get in: pin, token list, the id asked for.
    fn admit(&self, body: &Map<String, Value>) -> Result<(Id, Id), PluginError> {
        let room_id = self.room_id(body)?;
        portunus_sdk::validate(body, JOIN_FIELDS, &CODES)?;
        portunus_sdk::validate(
            body,
            &[portunus_sdk::rooms::id_field("id", self.settings.string_ids)],
            &CODES,
        )?;
        let Some(room) = self.rooms.get(&room_id) else {
            return Err(err(code::NO_SUCH_ROOM, format!("No such room ({room_id})")));
        };
        portunus_sdk::rooms::check_key(body, "pin", room.pin.as_deref(), &CODES, code::UNAUTHORIZED)?;
        if let Some(secret) = str_of(body, "secret") {
            if room.secret.as_deref().is_some_and(|s| s != secret) {
                return Err(err(code::UNAUTHORIZED, "Unauthorized (wrong secret)"));
            }
        }
        if !room.allowed.admits(str_of(body, "token")) {
            return Err(err(code::UNAUTHORIZED, "Unauthorized (not in the allowed list)"));
        }
        refuse_missing_features(body)?;
        if body.contains_key("rtp") && !room.allow_rtp_participants {
            return Err(err(code::UNAUTHORIZED, "Plain RTP participants not allowed in this room"));
        }
        let taken = |id: &Id| self.members.contains_key(&(room_id.clone(), id.clone()));
        let id = Id::choose(body.get("id"), self.settings.string_ids, taken)
            .map_err(|id| err(code::ID_EXISTS, format!("User ID {id} already exists")))?;
        Ok((room_id, id))
    }

    /// Puts a handle in a room as `id`: its port in the room's mixer (made now if the room has
    /// none yet), its place among the members, and, with a PeerConnection up, its rules.
    fn enter(&mut self, handle: HandleRef, mut p: Participant) -> Result<(), PluginError> {
        let room = self.rooms.get(&p.room).cloned().ok_or_else(|| err(code::NO_SUCH_ROOM, "No such room"))?;
        let mixer = self.mixer_of(&room.id)?;
        // A room of the configuration file that says `record` records from its first join.
        if room.record && room.recording.is_none() {
            if let Err(e) = self.start_recording(&room.id) {
                portunus_sdk::warn!("{}", e.text);
                self.stop_recording(&room.id);
            }
        }
        // With `audiolevel_event`, the mixer tells when the participant talks.
        p.talking = room.audiolevel_event.then_some(false);
        p.port = host::mixer_join(mixer, Some(handle), crate::mix_codec(&p.codec), self.mix_settings(&p))
            .map_err(|e| err(code::UNKNOWN, e))?;
        if self.connected.contains_key(&handle.handle) {
            p.setup = true;
            p.rules = connect(handle, p.port);
            record(handle, &mut p, Some(&room));
        }
        self.members.insert((p.room.clone(), p.id.clone()), handle);
        self.participants.insert(handle.handle, p);
        Ok(())
    }

    pub(crate) fn join(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let handle = msg.handle;
        if self.participants.contains_key(&handle.handle) {
            return Err(err(code::ALREADY_JOINED, "Already in a room (use changeroom to join another one)"));
        }
        let (room_id, id) = self.admit(body)?;
        let room = self.rooms.get(&room_id).ok_or_else(|| err(code::NO_SUCH_ROOM, "No such room"))?;
        let (expected_loss, default_bitrate) = (room.default_expectedloss, room.default_bitrate);
        let group = self.group_in(room, body, true)?;
        let spatial_position = spatial_position(room, body, None);
        let mut p = Participant {
            room: room_id.clone(),
            id: id.clone(),
            display: str_of(body, "display").map(str::to_owned),
            muted: body.get("muted").and_then(Value::as_bool).unwrap_or(false),
            codec: str_of(body, "codec").map_or_else(|| "opus".to_owned(), str::to_ascii_lowercase),
            setup: false,
            talking: None,
            level_ext: false,
            volume: 100,
            quality: 4,
            bitrate: default_bitrate,
            expected_loss,
            port: 0,
            leg: None,
            leg_hears: false,
            leg_pt: None,
            plugin_offer: body.get("generate_offer").and_then(Value::as_bool) == Some(true),
            rules: Vec::new(),
            group,
            spatial_position,
            audio_active_packets: body.get("audio_active_packets").and_then(Value::as_u64).map(|n| n as u32),
            audio_level_average: body
                .get("audio_level_average")
                .and_then(Value::as_u64)
                .map(|n| n.min(127) as u8),
            prebuffer: room.default_prebuffering,
            suspended: false,
            paused_events: false,
            record: None,
            recording: None,
        };
        record_as_asked(body, &mut p);
        suspend_as_asked(body, &mut p);
        encoder_settings(body, &mut p)?;
        // With `generate_offer`, a plain-RTP participant's address comes in a later `configure`.
        let rtp = rtp_of(body)?.map(|r| Rtp { to: r.to.filter(|_| !p.plugin_offer), ..r });
        let jsep = msg.parsed_jsep();
        if rtp.is_some() && jsep.is_some() {
            return Err(err(code::INVALID_ELEMENT, "A plain RTP participant sends no JSEP"));
        }
        check_jsep_role(jsep.as_ref().map(|j| j.is_offer()), p.plugin_offer)?;
        let offer_now = p.plugin_offer && rtp.is_none();
        // Lists show `talking` for a participant whose audio carries the audio-level
        // extension: a plain-RTP one that says so, one the gateway offers it to (as Janus's).
        let room_levels = self.rooms.get(&room_id).is_some_and(|r| r.audiolevel_ext);
        p.level_ext = rtp.as_ref().map_or(offer_now && room_levels, |r| r.level_ext);
        let newcomer = Self::describe(&p);
        let codec = p.codec.clone();
        self.enter(handle, p)?;
        let others = self.others_in(&room_id, handle);
        let mut joined = audiobridge(
            "joined",
            json!({"room": room_id.to_json(), "id": id.to_json(), "participants": others}),
        );
        if let Some(rtp) = rtp {
            match self.plain_rtp(handle, &rtp) {
                Ok(ours) => joined["rtp"] = ours,
                Err(e) => {
                    self.remove_participant(handle, false);
                    return Err(e);
                }
            }
        }
        match jsep {
            Some(offer) => self.answer(msg, &offer.sdp, joined, &codec)?,
            None if offer_now => {
                if let Err(e) = self.offer(msg, joined) {
                    self.remove_participant(handle, false);
                    return Err(e);
                }
            }
            None => push(handle, Some(&msg.transaction), &joined, None),
        }
        self.tell_of(handle, Some(handle), "joined", true);
        let event = audiobridge("joined", json!({"room": room_id.to_json(), "participants": [newcomer]}));
        self.notify(&room_id, Some(handle.handle), &event);
        Ok(())
    }

    /// The participants of a room but `handle`, as lists show them.
    pub(crate) fn others_in(&self, room: &Id, handle: HandleRef) -> Vec<Value> {
        self.members_of(room)
            .filter(|(_, h)| h.handle != handle.handle)
            .filter_map(|(_, h)| self.participants.get(&h.handle))
            .map(Self::describe)
            .collect()
    }

    /// Audio levels only (with the room's `audiolevel_ext`), as Janus's AudioBridge negotiates.
    fn negotiate_extensions(&self, handle: HandleRef) {
        let levels = self
            .participants
            .get(&handle.handle)
            .and_then(|p| self.rooms.get(&p.room))
            .is_none_or(|r| r.audiolevel_ext);
        let extensions = if levels { RtpExtensions::AUDIO_LEVEL } else { RtpExtensions::empty() };
        host::set_rtp_extensions(handle, extensions);
    }

    /// Whether an SDP in `room` negotiates the audio-level extension (the room offers and
    /// answers it with `audiolevel_ext`).
    fn level_ext(&self, room: &Id, sdp: &str) -> bool {
        self.rooms.get(room).is_some_and(|r| r.audiolevel_ext) && sdp.contains(AUDIO_LEVEL_URI)
    }

    /// Answers a client's offer (audio only, in the participant's codec, Opus in stereo in a
    /// `spatial_audio` room); `event` goes out with the answer.
    fn answer(&mut self, msg: &Message, sdp: &str, event: Value, codec: &str) -> Result<(), PluginError> {
        let spatial = self.participants.get(&msg.handle.handle).is_some_and(|p| p.spatial_position.is_some());
        let codec = if spatial && codec == "opus" { "opus stereo=1" } else { codec };
        let policy = AnswerPolicy {
            audio: true,
            video: false,
            data: false,
            audio_codecs: vec![codec.to_owned()],
            video_codecs: Vec::new(),
            simulcast: false,
            direction: Direction::Sendrecv,
        };
        self.negotiate_extensions(msg.handle);
        let level_ext =
            self.participants.get(&msg.handle.handle).is_some_and(|p| self.level_ext(&p.room, sdp));
        if let Some(p) = self.participants.get_mut(&msg.handle.handle) {
            p.level_ext = level_ext;
        }
        let negotiation = host::answer(msg.handle, sdp, &policy).map_err(|e| err(code::INVALID_SDP, e))?;
        self.pending.insert(
            (msg.handle.handle, negotiation),
            Pending { transaction: msg.transaction.clone(), event },
        );
        Ok(())
    }

    /// Offers the participant's client its audio (`generate_offer`), both ways in its codec, or,
    /// on a PeerConnection already up, renegotiates it (an ICE restart); `event` goes out with
    /// the offer, and the client's answer comes in a `configure`.
    fn offer(&mut self, msg: &Message, event: Value) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(p) = self.participants.get(&handle.handle) else {
            return Err(err(code::NOT_JOINED, "Can't offer (not in a room)"));
        };
        let streams = if self.connected.contains_key(&handle.handle) {
            Vec::new()
        } else {
            vec![OfferedStream::TwoWay(ForwardSource { source: Endpoint::Mix(p.port), mid: String::new() })]
        };
        self.negotiate_extensions(handle);
        let negotiation = host::offer(handle, &streams).map_err(|e| err(code::UNKNOWN, e))?;
        self.pending
            .insert((handle.handle, negotiation), Pending { transaction: msg.transaction.clone(), event });
        Ok(())
    }

    pub(crate) fn configure(&mut self, msg: &Message, body: &Map<String, Value>) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(current) = self.participants.get(&handle.handle) else {
            return Err(err(code::NOT_JOINED, "Can't configure (not in a room)"));
        };
        portunus_sdk::validate(body, JOIN_FIELDS, &CODES)?;
        refuse_missing_features(body)?;
        let mut p = current.clone();
        encoder_settings(body, &mut p)?;
        if let Some(room) = self.rooms.get(&p.room) {
            if let Some(group) = self.group_in(room, body, false)? {
                p.group = Some(group);
            }
            p.spatial_position = spatial_position(room, body, p.spatial_position);
        }
        let moved = p.spatial_position != current.spatial_position;
        let jsep = msg.parsed_jsep();
        check_jsep_role(jsep.as_ref().map(|j| j.is_offer()), p.plugin_offer)?;
        if let Some(answer) = jsep.as_ref().filter(|j| !j.is_offer()) {
            p.level_ext = self.level_ext(&p.room, &answer.sdp);
        }
        // A plain-RTP participant that had the gateway's address first gives its own now.
        let rtp = rtp_of(body)?.filter(|_| p.plugin_offer && p.leg.is_some());
        if let (Some(Rtp { to: Some(to), pt, .. }), Some(leg)) = (rtp, p.leg) {
            let codec = leg_codec(&p.codec, pt.or(p.leg_pt));
            host::rtp_leg_connect(leg, &leg_remote(codec, Some(address(&to)?)))
                .map_err(|e| err(code::INVALID_ELEMENT, e))?;
            if !p.leg_hears {
                p.rules.extend(forward(handle, Endpoint::Mix(p.port), Endpoint::Leg(leg)));
                p.leg_hears = true;
            }
        }
        // The gateway offers again (`update` after its first offer), or for the first time.
        let webrtc = p.leg.is_none();
        let offer_now = webrtc
            && jsep.is_none()
            && ((p.plugin_offer && body.get("update").and_then(Value::as_bool) == Some(true))
                || body.get("generate_offer").and_then(Value::as_bool) == Some(true));
        p.plugin_offer |= offer_now;
        if let Some(m) = body.get("muted").and_then(Value::as_bool) {
            p.muted = m;
        }
        if let Some(d) = str_of(body, "display") {
            p.display = Some(d.to_owned());
        }
        record_as_asked(body, &mut p);
        if p.record != current.record {
            // Another file (or none): the recording so far is complete.
            stop_recording(&mut p);
        }
        let room = p.room.clone();
        record(handle, &mut p, self.rooms.get(&room));
        let entry = Self::describe(&p);
        self.participants.insert(handle.handle, p);
        self.remix(handle.handle);
        if body.contains_key("muted") || body.contains_key("display") || moved {
            let event = audiobridge("event", json!({"room": room.to_json(), "participants": [entry]}));
            self.notify(&room, Some(handle.handle), &event);
        }
        self.tell_of(handle, Some(handle), "configured", false);
        let result = audiobridge("event", json!({"result": "ok"}));
        let codec =
            self.participants.get(&handle.handle).map_or_else(|| "opus".to_owned(), |p| p.codec.clone());
        match jsep {
            // (An answer was applied by the host before this request reached the plugin.)
            Some(offer) if offer.is_offer() => self.answer(msg, &offer.sdp, result, &codec),
            None if offer_now => self.offer(msg, result),
            _ => {
                push(handle, Some(&msg.transaction), &result, None);
                Ok(())
            }
        }
    }

    pub(crate) fn change_room(
        &mut self,
        msg: &Message,
        body: &Map<String, Value>,
    ) -> Result<(), PluginError> {
        let handle = msg.handle;
        let Some(current) = self.participants.get(&handle.handle).cloned() else {
            return Err(err(code::NOT_JOINED, "Can't change room (not in a room in the first place)"));
        };
        if self.room_id(body)? == current.room {
            return Err(err(code::ALREADY_JOINED, "Already in this room"));
        }
        let (room_id, id) = self.admit(body)?;
        let room = self.rooms.get(&room_id).ok_or_else(|| err(code::NO_SUCH_ROOM, "No such room"))?;
        let group = self.group_in(room, body, true)?;
        let spatial_position = spatial_position(room, body, None);
        let mut p = Participant {
            room: room_id.clone(),
            id: id.clone(),
            group,
            spatial_position,
            // Named as the request says: without `display`, nameless (as in Janus).
            display: str_of(body, "display").map(str::to_owned),
            // Unmuted in the new room unless asked, as in Janus.
            muted: body.get("muted").and_then(Value::as_bool).unwrap_or(false),
            setup: false,
            talking: None,
            port: 0,
            rules: Vec::new(),
            ..current
        };
        suspend_as_asked(body, &mut p);
        encoder_settings(body, &mut p)?;
        // A plain-RTP participant keeps its leg (and its address): only its port changes.
        if let Some(old) = self.participants.get_mut(&handle.handle) {
            old.leg = None;
        }
        self.tell_of(handle, Some(handle), "left", false);
        self.remove_participant(handle, true);
        let newcomer = Self::describe(&Participant {
            setup: self.connected.contains_key(&handle.handle) || p.leg.is_some(),
            ..p.clone()
        });
        let leg = p.leg.map(|leg| (leg, p.leg_hears));
        if let Err(e) = self.enter(handle, p) {
            // Out of every room: its leg goes too.
            leg.into_iter().for_each(|(leg, _)| host::rtp_leg_close(leg));
            return Err(e);
        }
        if let Some((leg, hears)) = leg {
            self.connect_leg(handle, leg, hears);
        }
        let others = self.others_in(&room_id, handle);
        let changed = audiobridge(
            "roomchanged",
            json!({"room": room_id.to_json(), "id": id.to_json(), "participants": others}),
        );
        push(handle, Some(&msg.transaction), &changed, None);
        self.tell_of(handle, Some(handle), "joined", false);
        let event = audiobridge("joined", json!({"room": room_id.to_json(), "participants": [newcomer]}));
        self.notify(&room_id, Some(handle.handle), &event);
        Ok(())
    }

    pub(crate) fn leave(&mut self, msg: &Message) -> Result<(), PluginError> {
        let Some(p) = self.participants.get(&msg.handle.handle) else {
            return Err(err(code::NOT_JOINED, "Can't leave (not in a room)"));
        };
        let event = audiobridge("left", json!({"room": p.room.to_json(), "id": p.id.to_json()}));
        self.tell_of(msg.handle, Some(msg.handle), "left", false);
        self.remove_participant(msg.handle, true);
        push(msg.handle, Some(&msg.transaction), &event, None);
        Ok(())
    }

    /// `hangup`: the PeerConnection closes (the participant leaves with it, as in Janus).
    pub(crate) fn hangup_request(&mut self, msg: &Message) {
        push(msg.handle, Some(&msg.transaction), &audiobridge("hangingup", json!({})), None);
        // Janus tells this one about no handle.
        self.tell_of(msg.handle, None, "left", false);
        self.remove_participant(msg.handle, true);
        host::close_pc(msg.handle);
    }

    /// A plain-RTP participant's leg, joined to its port: what it sends goes into the mix, and
    /// the mix goes to `ip:port` when given. Returns Janus's `rtp` object (our address).
    fn plain_rtp(&mut self, handle: HandleRef, rtp: &Rtp) -> Result<Value, PluginError> {
        let to = rtp.to.as_ref().map(address).transpose()?;
        let name = self.participants.get(&handle.handle).map_or("opus", |p| p.codec.as_str()).to_owned();
        let codec = leg_codec(&name, rtp.pt);
        let pt = codec.pt;
        let options =
            LegOptions { kind: MediaKind::Audio, codecs: vec![codec.clone()], srtp: None, local_ip: None };
        let local = host::rtp_leg_open(handle, &options).map_err(|e| err(code::UNKNOWN, e))?;
        if let Some(p) = self.participants.get_mut(&handle.handle) {
            p.leg = Some(local.id);
            p.leg_pt = rtp.pt;
            p.setup = true;
        }
        let hears = to.is_some();
        host::rtp_leg_connect(local.id, &leg_remote(codec, to)).map_err(|e| err(code::INVALID_ELEMENT, e))?;
        self.connect_leg(handle, local.id, hears);
        let (ip, port) = local.address.rsplit_once(':').unwrap_or((&local.address, "0"));
        Ok(json!({"ip": ip, "port": port.parse::<u16>().unwrap_or(0), "payload_type": pt}))
    }

    /// The rules between a plain-RTP participant's leg and its port: what it sends goes into
    /// the mix, and, when it `hears`, the mix goes back to it.
    fn connect_leg(&mut self, handle: HandleRef, leg: u64, hears: bool) {
        let Some(p) = self.participants.get_mut(&handle.handle) else { return };
        let mut rules = vec![forward(handle, Endpoint::Leg(leg), Endpoint::Mix(p.port))];
        if hears {
            rules.push(forward(handle, Endpoint::Mix(p.port), Endpoint::Leg(leg)));
        }
        p.leg = Some(leg);
        p.leg_hears = hears;
        p.setup = true;
        p.rules = rules.into_iter().flatten().collect();
        record(handle, p, self.rooms.get(&p.room));
    }

    /// Takes a handle out of its room (its port closes, and its rules with it); the others
    /// hear `leaving` when `tell`.
    pub(crate) fn remove_participant(&mut self, handle: HandleRef, tell: bool) {
        let Some(mut p) = self.participants.remove(&handle.handle) else { return };
        stop_recording(&mut p);
        self.members.remove(&(p.room.clone(), p.id.clone()));
        host::mixer_leave(p.port);
        if let Some(leg) = p.leg {
            host::rtp_leg_close(leg);
        }
        if tell {
            let event = audiobridge("event", json!({"room": p.room.to_json(), "leaving": p.id.to_json()}));
            self.notify(&p.room, Some(handle.handle), &event);
        }
    }

    /// The host answered an offer: the request's event goes out with the JSEP, and the
    /// participant's PeerConnection is joined to its port.
    pub(crate) fn negotiation_done(&mut self, handle: HandleRef, result: NegotiationResult) {
        let Some(pending) = self.pending.remove(&(handle.handle, result.id)) else { return };
        match result.outcome {
            Ok(done) => push(handle, Some(&pending.transaction), &pending.event, done.jsep.as_deref()),
            Err(reason) => {
                err(code::INVALID_SDP, reason).push_logged(handle, Some(&pending.transaction), crate::PACKAGE)
            }
        }
    }

    /// The PeerConnection is up: its audio goes into the mixer and the mix comes back; the
    /// room hears that the participant is set up.
    pub(crate) fn webrtc_up(&mut self, handle: HandleRef) {
        self.connected.insert(handle.handle, true);
        let Some(p) = self.participants.get_mut(&handle.handle) else { return };
        p.setup = true;
        if p.rules.is_empty() {
            p.rules = connect(handle, p.port);
        }
        record(handle, p, self.rooms.get(&p.room));
        let (room, entry) = (p.room.clone(), Self::describe(p));
        let event = audiobridge("event", json!({"room": room.to_json(), "participants": [entry]}));
        self.notify(&room, Some(handle.handle), &event);
    }

    /// The PeerConnection is gone: the participant leaves its room, as in Janus.
    pub(crate) fn media_gone(&mut self, handle: HandleRef) {
        self.connected.remove(&handle.handle);
        self.tell_of(handle, None, "left", false);
        self.remove_participant(handle, true);
        self.drop_pending(handle.handle);
    }

    /// A participant started or stopped talking: the room hears it, the speaker too.
    pub(crate) fn talking(&mut self, handle: HandleRef, talking: bool) {
        let Some(p) = self.participants.get_mut(&handle.handle) else { return };
        if p.talking.is_none() || p.talking == Some(talking) {
            return;
        }
        p.talking = Some(talking);
        let (room, id) = (p.room.clone(), p.id.to_json());
        let kind = if talking { "talking" } else { "stopped-talking" };
        portunus_sdk::notify_event(
            Some(handle),
            || json!({"audiobridge": kind, "room": room.to_json(), "id": id}),
        );
        self.notify(&room, None, &audiobridge(kind, json!({"room": room.to_json(), "id": id})));
    }

    /// Forgets a handle's negotiations in progress.
    pub(crate) fn drop_pending(&mut self, handle: u64) {
        let ids: Vec<(u64, u64)> =
            self.pending.range((handle, 0)..=(handle, u64::MAX)).map(|(k, _)| *k).collect();
        for id in ids {
            self.pending.remove(&id);
        }
    }
}

/// A plain-RTP participant's codec: its name, and the payload type asked for or the usual one.
fn leg_codec(name: &str, pt: Option<u8>) -> LegCodec {
    let (pt, clock) = match name {
        "pcmu" => (pt.unwrap_or(0), 8_000),
        "pcma" => (pt.unwrap_or(8), 8_000),
        _ => (pt.unwrap_or(100), 48_000),
    };
    LegCodec { pt, name: name.to_owned(), clock }
}

/// Where a plain-RTP participant's leg sends the mix; without an address it only sends (the
/// leg takes its first packet's source).
fn leg_remote(codec: LegCodec, to: Option<String>) -> LegRemote {
    LegRemote {
        address: to.clone().unwrap_or_else(|| "0.0.0.0:9".to_owned()),
        rtcp_address: None,
        rtcp_mux: false,
        codec,
        dtmf_pt: None,
        srtp: None,
        latch: to.is_none(),
        latch_ip: None,
    }
}

/// A request's JSEP (an offer, or not) against who offers: the client, or, after
/// `generate_offer`, the gateway (Janus's 493s).
fn check_jsep_role(offer: Option<bool>, plugin_offer: bool) -> Result<(), PluginError> {
    match offer {
        Some(true) if plugin_offer => {
            Err(err(code::INVALID_SDP, "Received an offer on a plugin-offered session"))
        }
        Some(false) if !plugin_offer => {
            Err(err(code::INVALID_SDP, "Received an answer when we didn't send an offer"))
        }
        _ => Ok(()),
    }
}

/// What a body asks of the participant's own recording: `record` on (to `filename`.mjr, or a
/// name of Janus's pattern) or off; nothing without `record`.
pub(crate) fn record_as_asked(body: &Map<String, Value>, p: &mut Participant) {
    match body.get("record").and_then(Value::as_bool) {
        Some(true) => {
            p.record = Some(str_of(body, "filename").map_or_else(|| default_name(p), str::to_owned))
        }
        Some(false) => p.record = None,
        None => {}
    }
}

/// A participant's recording as Janus names it when no `filename` is given.
fn default_name(p: &Participant) -> String {
    format!("audiobridge-{}-user-{}-{}", p.room, p.id, portunus_sdk::files::micros_now())
}

/// Starts or stops the participant's own recording, once its media is up, as its `record`
/// and its room's `mjrs` say: to `<name>.mjr` in the room's `mjrs_dir`.
pub(crate) fn record(handle: HandleRef, p: &mut Participant, room: Option<&crate::room::Room>) {
    let mjrs = room.is_some_and(|r| r.mjrs);
    if (p.record.is_none() && !mjrs) || !p.setup {
        stop_recording(p);
        return;
    }
    if p.recording.is_some() {
        return;
    }
    let name = p.record.clone().unwrap_or_else(|| default_name(p));
    let file =
        portunus_sdk::files::in_folder(room.and_then(|r| r.mjrs_dir.as_deref()), &format!("{name}.mjr"));
    let src = p.leg.map_or(Endpoint::Peer(handle), Endpoint::Leg);
    let options = ForwardOptions { substream: None, temporal: None, kinds: vec![MediaKind::Audio] };
    match host::forward_record(src, "", &file, &options) {
        Ok(rule) => p.recording = Some(rule),
        Err(e) => portunus_sdk::warn!("[{}] cannot record to {file}: {e}", handle.handle),
    }
}

/// Ends the participant's own recording, if it records.
pub(crate) fn stop_recording(p: &mut Participant) {
    if let Some(rule) = p.recording.take() {
        host::unforward(rule);
    }
}

/// The two rules between a PeerConnection and its port: its audio in, the mix out.
fn connect(handle: HandleRef, port: u64) -> Vec<u64> {
    let pairs =
        [(Endpoint::Peer(handle), Endpoint::Mix(port)), (Endpoint::Mix(port), Endpoint::Peer(handle))];
    pairs.into_iter().filter_map(|(src, dst)| forward(handle, src, dst)).collect()
}

/// An audio rule from `src` to `dst` for a participant (logged when the host refuses it).
fn forward(handle: HandleRef, src: Endpoint, dst: Endpoint) -> Option<u64> {
    let options = ForwardOptions { substream: None, temporal: None, kinds: vec![MediaKind::Audio] };
    match host::forward(src, None, dst, None, &options) {
        Ok(rule) => Some(rule),
        Err(e) => {
            portunus_sdk::warn!("[{}] cannot connect to the mixer: {e}", handle.handle);
            None
        }
    }
}

/// A plain-RTP participant's `rtp` object: where to send the mix (none: it only sends) and the
/// payload type of its Opus.
struct Rtp {
    /// Where it receives (`ip`, which may be a name, and `port`).
    to: Option<(String, u16)>,
    pt: Option<u8>,
    /// Its packets carry the audio-level extension (`audiolevel_ext`, the id).
    level_ext: bool,
}

/// A plain-RTP participant's address, `ip:port`, its name looked up (as Janus does) when it is
/// one.
fn address((ip, port): &(String, u16)) -> Result<String, PluginError> {
    let invalid = |e: String| err(code::INVALID_ELEMENT, e);
    let ip: std::net::IpAddr = portunus_sdk::rtp_target::resolve(ip, None)
        .map_err(invalid)?
        .parse()
        .map_err(|_| invalid(format!("Invalid element (ip {ip})")))?;
    Ok(std::net::SocketAddr::new(ip, *port).to_string())
}

/// The `rtp` object of a join, checked (Janus's names and texts).
fn rtp_of(body: &Map<String, Value>) -> Result<Option<Rtp>, PluginError> {
    const RTP: &[Field] = &[
        Field::new("ip", JsonType::String),
        Field::new("port", JsonType::Integer).positive(),
        Field::new("payload_type", JsonType::Integer).positive(),
        Field::new("audiolevel_ext", JsonType::Integer).positive(),
        Field::new("fec", JsonType::Bool),
    ];
    let Some(rtp) = body.get("rtp").and_then(Value::as_object) else { return Ok(None) };
    portunus_sdk::validate(rtp, RTP, &CODES)?;
    let pt = rtp.get("payload_type").and_then(Value::as_u64);
    if pt.is_some_and(|pt| pt > 127) {
        return Err(err(code::INVALID_ELEMENT, "Invalid element (payload_type)"));
    }
    let to = match (str_of(rtp, "ip"), rtp.get("port").and_then(Value::as_u64)) {
        (Some(ip), Some(port)) if port > 0 && port < 65536 => Some((ip.to_owned(), port as u16)),
        _ => None,
    };
    let level_ext = rtp.get("audiolevel_ext").and_then(Value::as_u64).is_some_and(|id| id > 0);
    Ok(Some(Rtp { to, pt: pt.map(|pt| pt as u8), level_ext }))
}

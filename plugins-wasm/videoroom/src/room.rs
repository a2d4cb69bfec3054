//! A room's settings: from `janus.plugin.videoroom.jcfg` (`room-<id>` sections) or a `create`
//! request, changed by `edit`, described by `list`.

use portunus_sdk::allowed::{self, Allowed};
use portunus_sdk::rooms::{flag, number, text};
use portunus_sdk::{json, Field, Id, JsonType, RtpExtensions, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// The keys of a room, in `create` and in a config section (Janus's `room_parameters`).
pub const ROOM_FIELDS: &[Field] = &[
    Field::new("description", JsonType::String),
    Field::new("is_private", JsonType::Bool),
    Field::new("allowed", JsonType::Array),
    Field::new("secret", JsonType::String),
    Field::new("pin", JsonType::String),
    Field::new("require_pvtid", JsonType::Bool),
    Field::new("signed_tokens", JsonType::Bool),
    Field::new("bitrate", JsonType::Integer).positive(),
    Field::new("bitrate_cap", JsonType::Bool),
    Field::new("fir_freq", JsonType::Integer).positive(),
    Field::new("publishers", JsonType::Integer).positive(),
    Field::new("audiocodec", JsonType::String),
    Field::new("videocodec", JsonType::String),
    Field::new("vp9_profile", JsonType::String),
    Field::new("h264_profile", JsonType::String),
    Field::new("video_svc", JsonType::Bool),
    Field::new("opus_fec", JsonType::Bool),
    Field::new("opus_dtx", JsonType::Bool),
    Field::new("audiolevel_ext", JsonType::Bool),
    Field::new("audiolevel_event", JsonType::Bool),
    Field::new("audio_active_packets", JsonType::Integer).positive(),
    Field::new("audio_level_average", JsonType::Integer).positive(),
    Field::new("videoorient_ext", JsonType::Bool),
    Field::new("playoutdelay_ext", JsonType::Bool),
    Field::new("transport_wide_cc_ext", JsonType::Bool),
    Field::new("record", JsonType::Bool),
    Field::new("rec_dir", JsonType::String),
    Field::new("lock_record", JsonType::Bool),
    Field::new("permanent", JsonType::Bool),
    Field::new("notify_joining", JsonType::Bool),
    Field::new("require_e2ee", JsonType::Bool),
    Field::new("dummy_publisher", JsonType::Bool),
    Field::new("dummy_streams", JsonType::Array),
    Field::new("dummy_e2ee", JsonType::Bool),
];

/// A placeholder stream of a room's dummy publisher (`dummy_streams`): a codec of the room's,
/// with format parameters (a profile) to match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DummyStream {
    pub codec: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fmtp: Option<String>,
}

/// The audio and video codecs a room accepts, best first (Janus allows up to 5 of each).
const AUDIO_CODECS: &[&str] =
    &["opus", "multiopus", "pcmu", "pcma", "g722", "isac16", "isac32", "l16-48", "l16"];
const VIDEO_CODECS: &[&str] = &["vp8", "vp9", "h264", "av1", "h265"];

/// A VideoRoom room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Room {
    /// Its id.
    pub id: Id,
    pub description: String,
    pub secret: Option<String>,
    pub pin: Option<String>,
    pub is_private: bool,
    /// The tokens a participant must show to join, when checking is on.
    #[serde(flatten)]
    pub allowed: Allowed,
    pub require_pvtid: bool,
    /// Joining needs a token signed for the room (`token_auth_secret`).
    pub signed_tokens: bool,
    pub require_e2ee: bool,
    /// The room has a dummy publisher, whose placeholder streams subscribers may take before
    /// `switch`ing them to real ones: one per codec of the room, or those of `dummy_streams`.
    pub dummy_publisher: bool,
    pub dummy_streams: Vec<DummyStream>,
    /// The dummy publisher's streams count as end-to-end encrypted.
    pub dummy_e2ee: bool,
    /// Most publishers at once.
    pub publishers: u64,
    /// Cap on publishers' bitrate (REMB), 0 for none.
    pub bitrate: u64,
    pub bitrate_cap: bool,
    /// How often (s) publishers are asked for keyframes, 0 for never.
    pub fir_freq: u64,
    pub audiocodecs: Vec<String>,
    pub videocodecs: Vec<String>,
    pub vp9_profile: Option<String>,
    pub h264_profile: Option<String>,
    /// `video_svc`: publishers' VP9 is taken as SVC whatever their JSEP says (only in a room
    /// whose one video codec is VP9), as Janus 1.1.3 does (1.1.2 keeps the flag without effect;
    /// later versions drop it for the JSEP's `svc`).
    pub video_svc: bool,
    pub opus_fec: bool,
    pub opus_dtx: bool,
    pub audiolevel_ext: bool,
    pub audiolevel_event: bool,
    pub audio_active_packets: u64,
    pub audio_level_average: u64,
    pub videoorient_ext: bool,
    pub playoutdelay_ext: bool,
    pub transport_wide_cc_ext: bool,
    pub record: bool,
    pub rec_dir: Option<String>,
    pub lock_record: bool,
    pub notify_joining: bool,
    /// Saved in the config file.
    pub permanent: bool,
}

impl Default for Room {
    fn default() -> Self {
        Room {
            id: Id::MIN,
            description: String::new(),
            secret: None,
            pin: None,
            is_private: false,
            allowed: Allowed::default(),
            require_pvtid: false,
            signed_tokens: false,
            require_e2ee: false,
            dummy_publisher: false,
            dummy_streams: Vec::new(),
            dummy_e2ee: false,
            publishers: 3,
            bitrate: 0,
            bitrate_cap: false,
            fir_freq: 0,
            audiocodecs: vec!["opus".into()],
            videocodecs: vec!["vp8".into()],
            vp9_profile: None,
            h264_profile: None,
            video_svc: false,
            opus_fec: true,
            opus_dtx: false,
            audiolevel_ext: true,
            audiolevel_event: false,
            audio_active_packets: 100,
            audio_level_average: 25,
            videoorient_ext: true,
            playoutdelay_ext: true,
            transport_wide_cc_ext: true,
            record: false,
            rec_dir: None,
            lock_record: false,
            notify_joining: false,
            permanent: false,
        }
    }
}

/// The profile an fmtp names for a codec: H.264's `profile-level-id`, VP9's `profile-id`.
fn profile_of(codec: &str, fmtp: &str) -> Option<String> {
    let key = match codec {
        "h264" => "profile-level-id",
        "vp9" => "profile-id",
        _ => return None,
    };
    let mut params = fmtp.split(';').filter_map(|kv| kv.trim().split_once('='));
    params.find(|(k, _)| *k == key).map(|(_, v)| v.to_owned())
}

/// The format parameters the host matches for a codec's profile: H.264 in packetization mode
/// 1 (as Janus offers it), VP9's profile id.
pub fn profile_fmtp(codec: &str, profile: &str) -> Option<String> {
    match codec {
        "h264" => Some(format!("profile-level-id={profile};packetization-mode=1")),
        "vp9" => Some(format!("profile-id={profile}")),
        _ => None,
    }
}

/// Checks what `create` gives beyond the keys' types, as Janus does: `allowed` holds strings,
/// and each codec of `audiocodec` and `videocodec` (the first five) is one we know.
pub fn check_new(body: &Map<String, Value>) -> Result<(), portunus_sdk::PluginError> {
    let invalid = |text: &str| portunus_sdk::PluginError::new(crate::code::INVALID_ELEMENT, text);
    allowed::strings(body, &crate::CODES)?;
    let lists = [
        (
            "audiocodec",
            AUDIO_CODECS,
            "audiocodec can only be or contain opus, isac32, isac16, pcmu, pcma or g722",
        ),
        ("videocodec", VIDEO_CODECS, "videocodec can only be or contain vp8, vp9, av1, h264 or h265"),
    ];
    for (key, known, says) in lists {
        // (An empty string names none; a name with spaces is no codec, as in Janus.)
        let Some(list) = body.get(key).and_then(Value::as_str).filter(|l| !l.is_empty()) else { continue };
        let unknown = |c: &str| !known.contains(&c.to_ascii_lowercase().as_str());
        if list.split(',').take(5).any(unknown) {
            return Err(invalid(&format!("Invalid element ({says})")));
        }
    }
    Ok(())
}

/// A codec list (`"vp8,h264"`): known names only, at most 5, in the given order; the
/// default when none is known.
fn codecs(list: &str, known: &[&str], default: &str) -> Vec<String> {
    let picked: Vec<String> = list
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .filter(|c| known.contains(&c.as_str()))
        .take(5)
        .collect();
    if picked.is_empty() {
        vec![default.to_owned()]
    } else {
        picked
    }
}

impl Room {
    /// A room from its keys (a `create` body already validated, or a config section). Keys
    /// not given keep their defaults.
    pub fn from_keys(id: Id, keys: &Map<String, Value>) -> Room {
        let mut room = Room { description: format!("Room {id}"), id, ..Room::default() };
        room.apply(keys, "");
        // Set at creation only (`edit` has no `new_signed_tokens` in Janus), and only when the
        // gateway uses signed tokens, as in Janus.
        if keys.get("signed_tokens").and_then(flag) == Some(true) {
            room.signed_tokens = portunus_sdk::host::auth_is_signed();
            if !room.signed_tokens {
                portunus_sdk::warn!("room {}: can't enforce signed tokens, signed-mode not in use", room.id);
            }
        }
        room
    }

    /// Sets the keys present (with `prefix`: `edit`'s `new_description`, …).
    pub fn apply(&mut self, keys: &Map<String, Value>, prefix: &str) {
        let get = |name: &str| keys.get(&format!("{prefix}{name}"));
        // An empty description keeps the one there (at creation, "Room <id>").
        if let Some(v) = get("description").and_then(text).filter(|d| !d.is_empty()) {
            self.description = v;
        }
        // An empty secret or pin: none at creation; `edit` keeps the one there (as Janus).
        let editing = !prefix.is_empty();
        for (name, slot) in [("secret", &mut self.secret), ("pin", &mut self.pin)] {
            match get(name).and_then(text) {
                Some(v) if !v.is_empty() => *slot = Some(v),
                Some(_) if !editing => *slot = None,
                _ => {}
            }
        }
        if let Some(Value::Array(list)) = get("allowed") {
            self.allowed = Allowed { check: true, tokens: list.iter().filter_map(text).collect() };
        }
        let flags: [(&str, &mut bool); 18] = [
            ("is_private", &mut self.is_private),
            ("require_pvtid", &mut self.require_pvtid),
            ("require_e2ee", &mut self.require_e2ee),
            ("dummy_publisher", &mut self.dummy_publisher),
            ("dummy_e2ee", &mut self.dummy_e2ee),
            ("bitrate_cap", &mut self.bitrate_cap),
            ("opus_fec", &mut self.opus_fec),
            ("opus_dtx", &mut self.opus_dtx),
            ("video_svc", &mut self.video_svc),
            ("audiolevel_ext", &mut self.audiolevel_ext),
            ("audiolevel_event", &mut self.audiolevel_event),
            ("videoorient_ext", &mut self.videoorient_ext),
            ("playoutdelay_ext", &mut self.playoutdelay_ext),
            ("transport_wide_cc_ext", &mut self.transport_wide_cc_ext),
            ("record", &mut self.record),
            ("lock_record", &mut self.lock_record),
            ("notify_joining", &mut self.notify_joining),
            ("permanent", &mut self.permanent),
        ];
        for (name, slot) in flags {
            if let Some(v) = get(name).and_then(flag) {
                *slot = v;
            }
        }
        let numbers: [(&str, &mut u64); 5] = [
            ("publishers", &mut self.publishers),
            ("bitrate", &mut self.bitrate),
            ("fir_freq", &mut self.fir_freq),
            ("audio_active_packets", &mut self.audio_active_packets),
            ("audio_level_average", &mut self.audio_level_average),
        ];
        for (name, slot) in numbers {
            if let Some(v) = get(name).and_then(number) {
                *slot = v;
            }
        }
        if self.bitrate > 0 && self.bitrate < 64000 {
            // Janus's floor for a cap.
            self.bitrate = 64000;
        }
        if let Some(v) = get("audiocodec").and_then(text) {
            self.audiocodecs = codecs(&v, AUDIO_CODECS, "opus");
        }
        if let Some(v) = get("videocodec").and_then(text) {
            self.videocodecs = codecs(&v, VIDEO_CODECS, "vp8");
        }
        if let Some(v) = get("vp9_profile").and_then(text) {
            self.vp9_profile = Some(v);
        }
        if self.video_svc && self.videocodecs != ["vp9"] {
            portunus_sdk::warn!("room {}: SVC is only supported for VP9 only rooms: disabling it", self.id);
            self.video_svc = false;
        }
        if let Some(v) = get("h264_profile").and_then(text) {
            self.h264_profile = Some(v);
        }
        if let Some(v) = get("rec_dir").and_then(text) {
            self.rec_dir = Some(v);
        }
        if let Some(Value::Array(list)) = get("dummy_streams") {
            // Janus skips items without a codec.
            self.dummy_streams = list
                .iter()
                .filter_map(|s| {
                    let codec = s.get("codec").and_then(text)?.to_ascii_lowercase();
                    Some(DummyStream { codec, fmtp: s.get("fmtp").and_then(text) })
                })
                .collect();
        }
    }

    /// A publisher's `audiocodec` and `videocodec` (with an offer) must be codecs of the room's.
    pub fn check_codecs_asked(&self, body: &Map<String, Value>) -> Result<(), portunus_sdk::PluginError> {
        for (key, codecs, kind) in
            [("audiocodec", &self.audiocodecs, "Audio"), ("videocodec", &self.videocodecs, "Video")]
        {
            let asked = body.get(key).and_then(Value::as_str);
            if asked.is_some_and(|c| !codecs.contains(&c.to_ascii_lowercase())) {
                let text = format!("{kind} codec unavailable in this room");
                return Err(portunus_sdk::PluginError::new(crate::code::INVALID_ELEMENT, text));
            }
        }
        Ok(())
    }

    /// The RTP header extensions its PeerConnections negotiate, by the room's `audiolevel_ext`,
    /// `videoorient_ext` and `transport_wide_cc_ext`; subscribers also get abs-send-time,
    /// which publishers are not asked for (as Janus's offers and answers).
    pub fn rtp_extensions(&self, subscriber: bool) -> RtpExtensions {
        [
            (RtpExtensions::AUDIO_LEVEL, self.audiolevel_ext),
            (RtpExtensions::VIDEO_ORIENTATION, self.videoorient_ext),
            (RtpExtensions::TRANSPORT_CC, self.transport_wide_cc_ext),
            (RtpExtensions::ABS_SEND_TIME, subscriber),
        ]
        .into_iter()
        .filter(|(_, on)| *on)
        .fold(RtpExtensions::empty(), |all, (e, _)| all | e)
    }

    /// The dummy publisher's streams: (kind, codec, profile), audio first, each codec of the room
    /// that `dummy_streams` names (all of them without it), as Janus makes them.
    /// (A video codec's profile is the one its `fmtp` names, else the room's.)
    pub fn dummy_streams(&self) -> Vec<(portunus_sdk::MediaKind, String, Option<String>)> {
        let kinds = [
            (portunus_sdk::MediaKind::Audio, &self.audiocodecs),
            (portunus_sdk::MediaKind::Video, &self.videocodecs),
        ];
        let mut out = Vec::new();
        for (kind, codecs) in kinds {
            for codec in codecs {
                let asked = self.dummy_streams.iter().find(|d| d.codec == *codec);
                if !self.dummy_streams.is_empty() && asked.is_none() {
                    continue;
                }
                let profile = asked.and_then(|d| d.fmtp.as_deref()).and_then(|f| profile_of(codec, f));
                out.push((kind, codec.clone(), profile.or_else(|| self.profile(codec).map(str::to_owned))));
            }
        }
        out
    }

    /// The room as a config section (`room-<id>`), with Janus's keys.
    pub fn to_config(&self) -> Value {
        let mut c = json!({
            "description": self.description,
            "is_private": self.is_private,
            "publishers": self.publishers,
            "bitrate": self.bitrate,
            "fir_freq": self.fir_freq,
            "audiocodec": self.audiocodecs.join(","),
            "videocodec": self.videocodecs.join(","),
            "require_pvtid": self.require_pvtid,
            "notify_joining": self.notify_joining,
            "record": self.record,
        });
        if self.signed_tokens {
            c["signed_tokens"] = json!(true);
        }
        for (key, value) in [("secret", &self.secret), ("pin", &self.pin), ("rec_dir", &self.rec_dir)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        if !self.dummy_streams.is_empty() {
            c["dummy_streams"] = json!(self.dummy_streams);
        }
        let defaults = Room::default();
        let flags = [
            ("bitrate_cap", self.bitrate_cap, defaults.bitrate_cap),
            ("require_e2ee", self.require_e2ee, defaults.require_e2ee),
            ("dummy_publisher", self.dummy_publisher, defaults.dummy_publisher),
            ("dummy_e2ee", self.dummy_e2ee, defaults.dummy_e2ee),
            ("opus_fec", self.opus_fec, defaults.opus_fec),
            ("opus_dtx", self.opus_dtx, defaults.opus_dtx),
            ("video_svc", self.video_svc, defaults.video_svc),
            ("audiolevel_ext", self.audiolevel_ext, defaults.audiolevel_ext),
            ("audiolevel_event", self.audiolevel_event, defaults.audiolevel_event),
            ("videoorient_ext", self.videoorient_ext, defaults.videoorient_ext),
            ("playoutdelay_ext", self.playoutdelay_ext, defaults.playoutdelay_ext),
            ("transport_wide_cc_ext", self.transport_wide_cc_ext, defaults.transport_wide_cc_ext),
            ("lock_record", self.lock_record, defaults.lock_record),
        ];
        for (key, value, default) in flags {
            if value != default {
                c[key] = json!(value);
            }
        }
        c
    }

    /// A video codec as the host's answer policy names it: with the room's profile for it
    /// (`h264_profile`, `vp9_profile`), so that a publisher offering several profiles is answered
    /// the room's.
    pub fn with_profile(&self, codec: &str) -> String {
        match self.profile(codec).and_then(|p| profile_fmtp(codec, p)) {
            Some(fmtp) => format!("{codec} {fmtp}"),
            None => codec.to_owned(),
        }
    }

    /// The room's profile for a video codec (`h264_profile`, `vp9_profile`).
    fn profile(&self, codec: &str) -> Option<&str> {
        match codec {
            "h264" => self.h264_profile.as_deref(),
            "vp9" => self.vp9_profile.as_deref(),
            _ => None,
        }
    }

    /// The room in `list`, with `participants` in it.
    pub fn describe(&self, participants: usize) -> Value {
        let mut d = json!({
            "room": self.id.to_json(),
            "description": self.description,
            "pin_required": self.pin.is_some(),
            "is_private": self.is_private,
            "max_publishers": self.publishers,
            "bitrate": self.bitrate,
        });
        if self.bitrate_cap {
            d["bitrate_cap"] = json!(true);
        }
        d["fir_freq"] = json!(self.fir_freq);
        d["require_pvtid"] = json!(self.require_pvtid);
        d["require_e2ee"] = json!(self.require_e2ee);
        d["dummy_publisher"] = json!(self.dummy_publisher);
        d["notify_joining"] = json!(self.notify_joining);
        d["audiocodec"] = json!(self.audiocodecs.join(","));
        d["videocodec"] = json!(self.videocodecs.join(","));
        if self.opus_fec {
            d["opus_fec"] = json!(true);
        }
        if self.opus_dtx {
            d["opus_dtx"] = json!(true);
        }
        if self.video_svc {
            d["video_svc"] = json!(true);
        }
        d["record"] = json!(self.record);
        if let Some(dir) = &self.rec_dir {
            d["rec_dir"] = json!(dir);
        }
        d["lock_record"] = json!(self.lock_record);
        d["num_participants"] = json!(participants);
        d["audiolevel_ext"] = json!(self.audiolevel_ext);
        d["audiolevel_event"] = json!(self.audiolevel_event);
        if self.audiolevel_event {
            d["audio_active_packets"] = json!(self.audio_active_packets);
            d["audio_level_average"] = json!(self.audio_level_average);
        }
        d["videoorient_ext"] = json!(self.videoorient_ext);
        d["playoutdelay_ext"] = json!(self.playoutdelay_ext);
        d["transport_wide_cc_ext"] = json!(self.transport_wide_cc_ext);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rooms_profiles_go_with_its_codecs() {
        let keys = json!({"videocodec": "vp9,h264", "vp9_profile": "2", "h264_profile": "42e01f"});
        let room = Room::from_keys(Id::Num(1), keys.as_object().unwrap());
        assert_eq!(room.videocodecs, ["vp9", "h264"]);
        assert_eq!(room.with_profile("vp9"), "vp9 profile-id=2");
        assert_eq!(room.with_profile("h264"), "h264 profile-level-id=42e01f;packetization-mode=1");
        assert_eq!(room.with_profile("vp8"), "vp8");
        assert_eq!(Room::default().with_profile("h264"), "h264", "no profile, no narrowing");
    }
}

//! A room's settings: from `janus.plugin.audiobridge.jcfg` (`room-<id>` sections) or a `create`
//! request, changed by `edit`, described by `list`.

use portunus_sdk::allowed::Allowed;
use portunus_sdk::rooms::{flag, number, text};
use portunus_sdk::{json, Field, Id, JsonType, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// The keys of a room, in `create` and in a config section (Janus's `room_parameters`).
pub const ROOM_FIELDS: &[Field] = &[
    Field::new("description", JsonType::String),
    Field::new("secret", JsonType::String),
    Field::new("pin", JsonType::String),
    Field::new("is_private", JsonType::Bool),
    Field::new("allowed", JsonType::Array),
    Field::new("sampling_rate", JsonType::Integer).positive(),
    Field::new("spatial_audio", JsonType::Bool),
    Field::new("audiolevel_ext", JsonType::Bool),
    Field::new("audiolevel_event", JsonType::Bool),
    Field::new("audio_active_packets", JsonType::Integer).positive(),
    Field::new("audio_level_average", JsonType::Integer).positive(),
    Field::new("default_expectedloss", JsonType::Integer).positive(),
    Field::new("default_bitrate", JsonType::Integer).positive(),
    Field::new("default_prebuffering", JsonType::Integer).positive(),
    Field::new("record", JsonType::Bool),
    Field::new("record_file", JsonType::String),
    Field::new("record_dir", JsonType::String),
    Field::new("mjrs", JsonType::Bool),
    Field::new("mjrs_dir", JsonType::String),
    Field::new("allow_rtp_participants", JsonType::Bool),
    Field::new("groups", JsonType::Array),
    Field::new("permanent", JsonType::Bool),
];

/// The most packets a participant's audio may wait for before it is mixed (Janus's
/// `MAX_PREBUFFERING`).
const MAX_PREBUFFERING: u64 = 50;

/// A `prebuffer` or `default_prebuffering` (Janus's count: playout starts with the packet
/// after that many) as the mixer's `prebuffer` (the packets it holds before playout); none,
/// with a warning, past the most.
pub fn prebuffer(packets: u64) -> Option<u8> {
    if packets > MAX_PREBUFFERING {
        portunus_sdk::warn!("invalid prebuffering value {packets} (at most {MAX_PREBUFFERING})");
        return None;
    }
    u8::try_from(packets + 1).ok()
}

/// The most groups a room has (Janus's).
pub const MAX_GROUPS: usize = 5;

/// The rates Janus's AudioBridge mixes at.
pub const RATES: &[u64] = &[8_000, 12_000, 16_000, 24_000, 48_000];

/// An AudioBridge room.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Room {
    /// Its id.
    pub id: Id,
    pub description: String,
    pub secret: Option<String>,
    pub pin: Option<String>,
    pub is_private: bool,
    /// Tokens that may join, when the list is on.
    #[serde(flatten)]
    pub allowed: Allowed,
    pub sampling_rate: u32,
    pub spatial_audio: bool,
    pub audiolevel_ext: bool,
    pub audiolevel_event: bool,
    pub audio_active_packets: u32,
    pub audio_level_average: u32,
    pub default_expectedloss: u8,
    pub default_bitrate: u32,
    /// The mixer's prebuffer for its participants (see [`prebuffer`]; none: the host's, two).
    pub default_prebuffering: Option<u8>,
    pub allow_rtp_participants: bool,
    /// The groups participants are tagged with, for forwarders of one group (`groups`; none:
    /// groups are off). A group's number in the mixer is its place here plus one.
    pub groups: Vec<String>,
    /// `mute_room`: nobody is heard.
    pub muted: bool,
    pub permanent: bool,
    /// The host's mixer, made when the first participant joins.
    pub mixer: Option<u64>,
    /// Its mix is recorded (`record`), in `record_file` (a name of Janus's form without it)
    /// in `record_dir` (the plugin's first `sandbox.write_dir` without it).
    pub record: bool,
    pub record_file: Option<String>,
    pub record_dir: Option<String>,
    /// The file being written.
    pub recording: Option<String>,
    /// Every participant's own audio is recorded to an .mjr file (`mjrs`), in `mjrs_dir` (the
    /// plugin's first `sandbox.write_dir` without it) as a participant's own `record` is too.
    pub mjrs: bool,
    pub mjrs_dir: Option<String>,
}

impl Default for Room {
    fn default() -> Self {
        Self {
            id: Id::MIN,
            description: String::new(),
            secret: None,
            pin: None,
            is_private: false,
            allowed: Allowed::default(),
            sampling_rate: 16_000,
            spatial_audio: false,
            audiolevel_ext: true,
            audiolevel_event: false,
            audio_active_packets: 100,
            audio_level_average: 25,
            default_expectedloss: 0,
            default_bitrate: 0,
            default_prebuffering: None,
            allow_rtp_participants: false,
            groups: Vec::new(),
            muted: false,
            permanent: false,
            mixer: None,
            record: false,
            record_file: None,
            record_dir: None,
            recording: None,
            mjrs: false,
            mjrs_dir: None,
        }
    }
}

impl Room {
    /// A room from `create`'s body or a config section (values may be strings there).
    pub fn from_keys(id: Id, keys: &Map<String, Value>) -> Room {
        let mut room = Room { id, ..Room::default() };
        room.apply(keys, "");
        if room.description.is_empty() {
            room.description = format!("Room {}", room.id);
        }
        room
    }

    /// Takes the keys a body or section sets, each named `<prefix><key>` (`new_` for `edit`).
    pub fn apply(&mut self, keys: &Map<String, Value>, prefix: &str) {
        let get = |name: &str| keys.get(&format!("{prefix}{name}"));
        let optional = |v: Option<String>| v.filter(|s| !s.is_empty());
        if let Some(v) = get("description").and_then(text).filter(|s| !s.is_empty()) {
            self.description = v;
        }
        if let Some(v) = get("secret").and_then(text) {
            self.secret = optional(Some(v));
        }
        if let Some(v) = get("pin").and_then(text) {
            self.pin = optional(Some(v));
        }
        if let Some(v) = get("record").and_then(flag) {
            self.record = v;
        }
        if let Some(v) = get("record_file").and_then(text) {
            self.record_file = optional(Some(v));
        }
        if let Some(v) = get("record_dir").and_then(text) {
            self.record_dir = optional(Some(v));
        }
        if let Some(v) = get("mjrs").and_then(flag) {
            self.mjrs = v;
        }
        if let Some(v) = get("mjrs_dir").and_then(text) {
            self.mjrs_dir = optional(Some(v));
        }
        if let Some(v) = get("is_private").and_then(flag) {
            self.is_private = v;
        }
        if let Some(Value::Array(list)) = get("allowed") {
            let tokens = list.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect();
            self.allowed = Allowed { check: true, tokens };
        }
        if let Some(Value::Array(list)) = get("groups") {
            self.groups.clear();
            for name in list.iter().filter_map(Value::as_str) {
                if !self.groups.iter().any(|g| g == name) && self.groups.len() < MAX_GROUPS {
                    self.groups.push(name.to_owned());
                }
            }
        }
        if let Some(v) = get("sampling_rate").and_then(number) {
            self.sampling_rate = u32::try_from(v).unwrap_or(16_000);
        }
        for (name, field) in [
            ("spatial_audio", &mut self.spatial_audio),
            ("audiolevel_ext", &mut self.audiolevel_ext),
            ("audiolevel_event", &mut self.audiolevel_event),
            ("allow_rtp_participants", &mut self.allow_rtp_participants),
        ] {
            if let Some(v) = get(name).and_then(flag) {
                *field = v;
            }
        }
        if let Some(v) = get("audio_active_packets").and_then(number).filter(|v| *v > 0) {
            self.audio_active_packets = u32::try_from(v).unwrap_or(u32::MAX);
        }
        if let Some(v) = get("audio_level_average").and_then(number).filter(|v| (1..=127).contains(v)) {
            self.audio_level_average = v as u32;
        }
        if let Some(v) = get("default_expectedloss").and_then(number) {
            self.default_expectedloss = v.min(20) as u8;
        }
        if let Some(v) = get("default_bitrate").and_then(number) {
            self.default_bitrate = u32::try_from(v).unwrap_or(0);
        }
        if let Some(v) = get("default_prebuffering").and_then(number) {
            self.default_prebuffering = prebuffer(v).or(self.default_prebuffering);
        }
    }

    /// What `list` shows (Janus 1.1's fields, in its order).
    pub fn describe(&self, participants: usize) -> Value {
        json!({
            "room": self.id.to_json(),
            "description": self.description,
            "sampling_rate": self.sampling_rate,
            "spatial_audio": self.spatial_audio,
            "pin_required": self.pin.is_some(),
            "record": self.record,
            "muted": self.muted,
            "num_participants": participants,
        })
    }

    /// The room as a config section (for `permanent`).
    pub fn to_config(&self) -> Value {
        let mut section = json!({
            "description": self.description,
            "sampling_rate": self.sampling_rate,
            "audiolevel_ext": self.audiolevel_ext,
        });
        let obj = section.as_object_mut().expect("an object");
        let mut put = |k: &str, v: Value| {
            obj.insert(k.to_owned(), v);
        };
        if let Some(s) = &self.secret {
            put("secret", json!(s));
        }
        if let Some(p) = &self.pin {
            put("pin", json!(p));
        }
        if self.is_private {
            put("is_private", json!(true));
        }
        if self.spatial_audio {
            put("spatial_audio", json!(true));
        }
        if self.audiolevel_event {
            put("audiolevel_event", json!(true));
            put("audio_active_packets", json!(self.audio_active_packets));
            put("audio_level_average", json!(self.audio_level_average));
        }
        if self.default_expectedloss > 0 {
            put("default_expectedloss", json!(self.default_expectedloss));
        }
        if self.default_bitrate > 0 {
            put("default_bitrate", json!(self.default_bitrate));
        }
        if let Some(n) = self.default_prebuffering {
            put("default_prebuffering", json!(n - 1));
        }
        if self.allow_rtp_participants {
            put("allow_rtp_participants", json!(true));
        }
        if self.record {
            put("record", json!(true));
        }
        if let Some(f) = &self.record_file {
            put("record_file", json!(f));
        }
        if let Some(d) = &self.record_dir {
            put("record_dir", json!(d));
        }
        if self.mjrs {
            put("mjrs", json!(true));
        }
        if let Some(d) = &self.mjrs_dir {
            put("mjrs_dir", json!(d));
        }
        if self.allowed.check {
            put("allowed", json!(self.allowed.tokens));
        }
        if !self.groups.is_empty() {
            put("groups", json!(self.groups));
        }
        section
    }

    /// The mixer's number of a group (0: none, or groups are off).
    pub fn group_number(&self, name: Option<&str>) -> u8 {
        name.and_then(|n| self.groups.iter().position(|g| g == n)).map_or(0, |i| i as u8 + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Janus counts the packets before the one that starts playout; past 50 it is refused.
    #[test]
    fn prebuffering_is_counted_as_janus_does() {
        assert_eq!((prebuffer(0), prebuffer(6), prebuffer(50)), (Some(1), Some(7), Some(51)));
        assert_eq!(prebuffer(51), None);
        let mut room = Room::default();
        let keys =
            |n: u64| serde_json::json!({"default_prebuffering": n}).as_object().cloned().unwrap_or_default();
        room.apply(&keys(4), "");
        assert_eq!(room.default_prebuffering, Some(5));
        room.apply(&keys(500), "");
        assert_eq!(room.default_prebuffering, Some(5), "past the most, it stays");
    }
}

//! A room's settings: from `janus.plugin.textroom.jcfg` (`room-<id>` sections) or `create`,
//! changed by `edit`, described by `list`; and the messages it keeps for those who join.

use std::collections::{BTreeSet, VecDeque};

use portunus_sdk::rooms::{flag, number, text};
use portunus_sdk::{json, Field, Id, JsonType, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

/// The keys of a room in `create` (and a config section).
pub const ROOM_FIELDS: &[Field] = &[
    Field::new("description", JsonType::String),
    Field::new("secret", JsonType::String),
    Field::new("pin", JsonType::String),
    Field::new("post", JsonType::String),
    Field::new("is_private", JsonType::Bool),
    Field::new("allowed", JsonType::Array),
    Field::new("history", JsonType::Integer).positive(),
    Field::new("permanent", JsonType::Bool),
];

/// The keys `edit` changes.
pub const EDIT_FIELDS: &[Field] = &[
    Field::new("new_description", JsonType::String),
    Field::new("new_secret", JsonType::String),
    Field::new("new_pin", JsonType::String),
    Field::new("new_post", JsonType::String),
    Field::new("new_is_private", JsonType::Bool),
    Field::new("permanent", JsonType::Bool),
];

/// A TextRoom room.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Room {
    pub id: Id,
    pub description: String,
    pub secret: Option<String>,
    pub pin: Option<String>,
    pub is_private: bool,
    /// The tokens a participant must show to join, when checking is on.
    pub allowed: Option<BTreeSet<String>>,
    /// How many public messages are kept for those who join.
    pub history: usize,
    /// Kept public messages (as sent), oldest first.
    pub messages: VecDeque<String>,
    /// In the config file.
    pub permanent: bool,
}

impl Room {
    /// A room from its keys (a validated `create` body, or a config section).
    pub fn from_keys(id: Id, keys: &Map<String, Value>) -> Room {
        let mut room = Room { description: format!("Room {id}"), id, ..Room::default() };
        room.apply(keys, "");
        room
    }

    /// Sets the keys present (with `prefix`: `edit`'s `new_description`, …).
    pub fn apply(&mut self, keys: &Map<String, Value>, prefix: &str) {
        let get = |name: &str| keys.get(&format!("{prefix}{name}"));
        if let Some(v) = get("description").and_then(text) {
            self.description = v;
        }
        if let Some(v) = get("secret").and_then(text) {
            self.secret = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("pin").and_then(text) {
            self.pin = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("is_private").and_then(flag) {
            self.is_private = v;
        }
        if let Some(Value::Array(list)) = get("allowed") {
            self.allowed = Some(list.iter().filter_map(text).collect());
        }
        if let Some(v) = get("history").and_then(number) {
            self.history = usize::try_from(v).unwrap_or(usize::MAX);
            self.keep_history();
        }
    }

    /// A public message, kept for those who join (the newest `history`).
    pub fn remember(&mut self, message: String) {
        if self.history > 0 {
            self.messages.push_back(message);
            self.keep_history();
        }
    }

    fn keep_history(&mut self) {
        while self.messages.len() > self.history {
            self.messages.pop_front();
        }
    }

    /// The room as a config section (`room-<id>`), with Janus's keys.
    pub fn to_config(&self) -> Value {
        let mut c = json!({"description": self.description, "is_private": self.is_private});
        for (key, value) in [("secret", &self.secret), ("pin", &self.pin)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        if self.history > 0 {
            c["history"] = json!(self.history);
        }
        c
    }

    /// Whether `secret` opens the room's management requests.
    pub fn secret_ok(&self, secret: Option<&str>) -> bool {
        self.secret.as_deref().is_none_or(|s| Some(s) == secret)
    }

    /// Whether `pin` lets a participant in.
    pub fn pin_ok(&self, pin: Option<&str>) -> bool {
        self.pin.as_deref().is_none_or(|p| Some(p) == pin)
    }

    /// The room in `list`, with `participants` in it.
    pub fn describe(&self, participants: usize) -> Value {
        json!({
            "room": self.id.to_json(),
            "description": self.description,
            "pin_required": self.pin.is_some(),
            "num_participants": participants,
            "history": self.history,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_keeps_the_newest_messages() {
        let keys = json!({"history": "2", "pin": "p"});
        let mut room = Room::from_keys(Id::Num(5), keys.as_object().unwrap());
        assert_eq!((room.description.as_str(), room.pin.as_deref()), ("Room 5", Some("p")));
        for m in ["a", "b", "c"] {
            room.remember(m.to_owned());
        }
        assert_eq!(room.messages, ["b", "c"]);
        room.apply(json!({"history": 1}).as_object().unwrap(), "");
        assert_eq!(room.messages, ["c"]);
    }
}

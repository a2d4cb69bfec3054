//! A room's settings: from `janus.plugin.textroom.jcfg` (`room-<id>` sections) or `create`,
//! changed by `edit`, described by `list`; and the messages it keeps for those who join.

use portunus_sdk::allowed::Allowed;
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

/// Janus keeps `history` in 16 bits.
const MAX_HISTORY: u64 = u16::MAX as u64;

/// A TextRoom room. Its kept messages are the plugin's (`history`), by room and number.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Room {
    pub id: Id,
    pub description: String,
    pub secret: Option<String>,
    pub pin: Option<String>,
    /// The HTTP backend that public messages and announcements are posted to (`post`).
    pub post: Option<String>,
    /// Why the last post was refused, when it was (logged once).
    pub post_refused: Option<String>,
    pub is_private: bool,
    /// The tokens a participant must show to join, when checking is on.
    #[serde(flatten)]
    pub allowed: Allowed,
    /// How many public messages are kept for those who join.
    pub history: u64,
    /// The number the next kept message gets.
    pub next_message: u64,
    /// How many are in it.
    pub participants: usize,
    /// In the config file.
    pub permanent: bool,
}

impl Room {
    /// A room from its keys (a validated `create` body, or a config section).
    pub fn from_keys(id: Id, keys: &Map<String, Value>) -> Room {
        let text_of = |name: &str| keys.get(name).and_then(text).filter(|s| !s.is_empty());
        Room {
            description: text_of("description").unwrap_or_else(|| format!("Room {id}")),
            secret: text_of("secret"),
            pin: text_of("pin"),
            post: text_of("post"),
            is_private: keys.get("is_private").and_then(flag).unwrap_or(false),
            allowed: Allowed::of_room(keys),
            history: keys.get("history").and_then(number).unwrap_or(0).min(MAX_HISTORY),
            id,
            ..Room::default()
        }
    }

    /// `edit`'s `new_*` keys; empty strings change nothing, as in Janus.
    pub fn edit(&mut self, keys: &Map<String, Value>) {
        let text_of = |name: &str| keys.get(name).and_then(text).filter(|s| !s.is_empty());
        if let Some(v) = text_of("new_description") {
            self.description = v;
        }
        if let Some(v) = text_of("new_secret") {
            self.secret = Some(v);
        }
        if let Some(v) = text_of("new_pin") {
            self.pin = Some(v);
        }
        if let Some(v) = text_of("new_post") {
            self.post = Some(v);
        }
        if let Some(v) = keys.get("new_is_private").and_then(flag) {
            self.is_private = v;
        }
    }

    /// Numbers a new kept message; returns its number and the one that falls out of the
    /// history (none while it is not full); none at all for a room that keeps nothing.
    pub fn keep(&mut self) -> Option<(u64, Option<u64>)> {
        if self.history == 0 {
            return None;
        }
        let n = self.next_message;
        self.next_message += 1;
        Some((n, n.checked_sub(self.history)))
    }

    /// The room as a config section (`room-<id>`), with Janus's keys.
    pub fn to_config(&self) -> Value {
        let mut c = json!({"description": self.description, "is_private": self.is_private});
        for (key, value) in [("secret", &self.secret), ("pin", &self.pin), ("post", &self.post)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        if self.history > 0 {
            c["history"] = json!(self.history);
        }
        c
    }

    /// Whether `token` lets a participant in.
    pub fn token_ok(&self, token: Option<&str>) -> bool {
        self.allowed.admits(token)
    }

    /// The room in `list`.
    pub fn describe(&self) -> Value {
        json!({
            "room": self.id.to_json(),
            "description": self.description,
            "pin_required": self.pin.is_some(),
            "num_participants": self.participants,
            "history": self.history,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_numbers_messages_and_drops_the_oldest() {
        let keys = json!({"history": "2", "pin": "p", "description": ""});
        let mut room = Room::from_keys(Id::Num(5), keys.as_object().unwrap());
        assert_eq!((room.description.as_str(), room.pin.as_deref()), ("Room 5", Some("p")));
        assert_eq!(
            [room.keep(), room.keep(), room.keep()],
            [Some((0, None)), Some((1, None)), Some((2, Some(0)))]
        );
        let none = json!({"history": 0});
        assert_eq!(Room::from_keys(Id::Num(6), none.as_object().unwrap()).keep(), None);
        let huge = json!({"history": 1_000_000});
        assert_eq!(Room::from_keys(Id::Num(7), huge.as_object().unwrap()).history, 65535);
    }

    #[test]
    fn edit_ignores_empty_strings() {
        let mut room = Room::from_keys(Id::Num(5), json!({"secret": "s", "pin": "p"}).as_object().unwrap());
        room.edit(
            json!({"new_secret": "", "new_pin": "q", "new_description": "", "new_history": 9})
                .as_object()
                .unwrap(),
        );
        assert_eq!(
            (room.secret.as_deref(), room.pin.as_deref(), room.description.as_str()),
            (Some("s"), Some("q"), "Room 5")
        );
        assert_eq!(room.history, 0);
    }
}

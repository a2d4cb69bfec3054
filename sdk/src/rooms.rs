//! What Janus's room plugins (VideoRoom, AudioBridge, TextRoom, Streaming) share: ids that
//! are numbers, or strings when the plugin runs with `string_ids`; the values of their config
//! files (which may quote anything); and the `room-<id>` sections of that file, read at start
//! and written back (through the host's `save-config`) for `permanent` rooms.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ErrorCodes, Field, JsonType, PluginError};

/// A room's or a participant's id, as the client wrote it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Id {
    /// A numeric id (the default).
    Num(u64),
    /// A string id (`string_ids = true`).
    Str(String),
}

impl Id {
    /// The id in a request's field: a positive integer, or a string with `string_ids`; none
    /// when absent or of the other kind.
    pub fn from_json(value: Option<&Value>, string_ids: bool) -> Option<Id> {
        match value? {
            Value::Number(n) if !string_ids => n.as_u64().map(Id::Num),
            Value::String(s) if string_ids => Some(Id::Str(s.clone())),
            _ => None,
        }
    }

    /// The id a request asks for in `value`, or, when it asks none (or 0, which Janus takes
    /// as none), a random one not `taken`; `Err` with the asked id when that one is taken.
    pub fn choose(value: Option<&Value>, string_ids: bool, taken: impl Fn(&Id) -> bool) -> Result<Id, Id> {
        match Id::from_json(value, string_ids).filter(|id| *id != Id::Num(0)) {
            Some(id) if taken(&id) => Err(id),
            Some(id) => Ok(id),
            None => Ok(loop {
                let id = Id::random(string_ids);
                if !taken(&id) {
                    break id;
                }
            }),
        }
    }

    /// A new random id of the kind in use (Janus keeps numeric ids below 2^53 for JavaScript).
    pub fn random(string_ids: bool) -> Id {
        let n = random_u64() & ((1 << 53) - 1);
        if string_ids {
            Id::Str(format!("{n:x}"))
        } else {
            Id::Num(n.max(1))
        }
    }

    /// The id as JSON, as it goes back to clients.
    pub fn to_json(&self) -> Value {
        match self {
            Id::Num(n) => Value::from(*n),
            Id::Str(s) => Value::from(s.as_str()),
        }
    }

    /// The smallest id, to start a range of ids.
    pub const MIN: Id = Id::Num(0);
}

impl Default for Id {
    /// [`Id::MIN`].
    fn default() -> Self {
        Id::MIN
    }
}

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Num(n) => write!(f, "{n}"),
            Id::Str(s) => f.write_str(s),
        }
    }
}

/// A room's or a participant's id field: a positive integer, or with `string_ids` a non-empty
/// string (Janus's checks and texts).
pub fn id_field(name: &'static str, string_ids: bool) -> Field {
    if string_ids {
        Field::new(name, JsonType::String).nonempty()
    } else {
        Field::new(name, JsonType::Integer).positive()
    }
}

/// The id a request's field `name` holds (required), with Janus's errors.
pub fn id_of(
    body: &Map<String, Value>,
    name: &'static str,
    string_ids: bool,
    codes: &ErrorCodes,
) -> Result<Id, PluginError> {
    crate::validate(body, &[id_field(name, string_ids).required()], codes)?;
    Id::from_json(body.get(name), string_ids)
        .ok_or_else(|| PluginError::new(codes.invalid_element, format!("Invalid element ({name})")))
}

/// A key a room may require (`secret`, `pin`): when it has one, the request must give it
/// (missing: `missing_element`) and give it right (`unauthorized`, "Unauthorized (wrong …)").
pub fn check_key(
    body: &Map<String, Value>,
    name: &'static str,
    expected: Option<&str>,
    codes: &ErrorCodes,
    unauthorized: u32,
) -> Result<(), PluginError> {
    let field = Field::new(name, JsonType::String);
    crate::validate(body, &[if expected.is_some() { field.required() } else { field }], codes)?;
    match expected {
        Some(key) if body.get(name).and_then(Value::as_str) != Some(key) => {
            Err(PluginError::new(unauthorized, format!("Unauthorized (wrong {name})")))
        }
        _ => Ok(()),
    }
}

/// A random number from the host's entropy (std seeds its hash keys from WASI's random).
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

/// A random UUID (version 4), as Janus names a plugin's sessions (`unique_id`).
pub fn random_uuid() -> String {
    let a = (random_u64() & 0xffff_ffff_ffff_0fff) | 0x4000;
    let b = (random_u64() & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xffff,
        b >> 48,
        b & 0xffff_ffff_ffff
    )
}

/// A config or request value as a string (config files may quote anything).
pub fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A config or request value as a flag (`true`, `"yes"`, `1`, …).
pub fn flag(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => Some(matches!(s.to_ascii_lowercase().as_str(), "true" | "yes" | "1")),
        Value::Number(n) => Some(n.as_u64() != Some(0)),
        _ => None,
    }
}

/// A config or request value as a number (`10` or `"10"`).
pub fn number(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The members of `room` in a map keyed by (room, member id), in id order: (id, value). Costs
/// the room's members, not the map's size.
pub fn members_in<'a, V>(
    members: &'a crate::Keyed<(Id, Id), V>,
    room: &'a Id,
) -> impl Iterator<Item = (&'a Id, &'a V)> + 'a {
    members
        .range((room.clone(), Id::MIN)..)
        .take_while(move |((r, _), _)| r == room)
        .map(|((_, id), v)| (id, v))
}

/// A room's section of a config file: its id and keys.
pub type RoomSection = (Id, Map<String, Value>);

/// A room plugin's config file: its `room-<id>` sections, and the others (`general`, …),
/// which are written back as they came when rooms are saved.
#[derive(Debug, Clone, Default)]
pub struct RoomsConfig {
    other_sections: Map<String, Value>,
}

impl RoomsConfig {
    /// Splits the config `init` got into its rooms (id and keys; a section whose id is not of
    /// the kind `string_ids` asks for is skipped with a warning) and the rest.
    pub fn parse(config: &Value, string_ids: bool) -> (RoomsConfig, Vec<RoomSection>) {
        let mut other_sections = Map::new();
        let mut rooms = Vec::new();
        for (name, keys) in config.as_object().into_iter().flatten() {
            let Some(id) = name.strip_prefix("room-") else {
                other_sections.insert(name.clone(), keys.clone());
                continue;
            };
            let id = match id.parse::<u64>() {
                Ok(n) if !string_ids => Id::Num(n),
                _ if string_ids => Id::Str(id.to_owned()),
                _ => {
                    crate::warn!("{name}: not a numeric room id (string_ids is off); skipped");
                    continue;
                }
            };
            match keys.as_object() {
                Some(keys) => rooms.push((id, keys.clone())),
                None => crate::warn!("{name}: not a section; skipped"),
            }
        }
        (RoomsConfig { other_sections }, rooms)
    }

    /// The config file with these rooms (id and section), as JSON for `save-config`.
    pub fn with_rooms<'a>(&self, rooms: impl Iterator<Item = (&'a Id, Value)>) -> Value {
        self.with_sections(rooms.map(|(id, section)| (format!("room-{id}"), section)))
    }

    /// The config file with these sections (name and keys): for plugins whose sections are
    /// named otherwise (Streaming names a mountpoint's section after the mountpoint).
    pub fn with_sections(&self, sections: impl Iterator<Item = (String, Value)>) -> Value {
        let mut config = self.other_sections.clone();
        config.extend(sections);
        Value::Object(config)
    }

    /// Keeps a section as it is, to be written back with the others (a plugin's section it
    /// could not use: saving must not lose it).
    pub fn keep_section(&mut self, name: &str, section: Value) {
        self.other_sections.insert(name.to_owned(), section);
    }

    /// Whether the file has a section of this name besides the plugin's own.
    pub fn has_section(&self, name: &str) -> bool {
        self.other_sections.contains_key(name)
    }

    /// Writes the config file with these rooms (the host writes it atomically).
    pub fn save<'a>(&self, rooms: impl Iterator<Item = (&'a Id, Value)>) -> Result<(), String> {
        crate::host::save_config(&self.with_rooms(rooms).to_string())
    }

    /// Writes the config file with these sections.
    pub fn save_sections(&self, sections: impl Iterator<Item = (String, Value)>) -> Result<(), String> {
        crate::host::save_config(&self.with_sections(sections).to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn an_id_is_chosen_as_janus_does() {
        let taken = |id: &Id| *id == Id::Num(7);
        assert_eq!(Id::choose(Some(&json!(5)), false, taken), Ok(Id::Num(5)));
        assert_eq!(Id::choose(Some(&json!(7)), false, taken), Err(Id::Num(7)));
        // None asked, or 0: a random one, never a taken one.
        for asked in [None, Some(json!(0))] {
            let id = Id::choose(asked.as_ref(), false, |id| {
                *id != Id::Num(0) && matches!(id, Id::Num(n) if n % 2 == 0)
            });
            assert!(matches!(id, Ok(Id::Num(n)) if n % 2 == 1), "{id:?}");
        }
        assert!(matches!(Id::choose(None, true, taken), Ok(Id::Str(_))));
    }

    #[test]
    fn ids_follow_string_ids() {
        assert_eq!(Id::from_json(Some(&json!(5)), false), Some(Id::Num(5)));
        assert_eq!(Id::from_json(Some(&json!("5")), false), None);
        assert_eq!(Id::from_json(Some(&json!("a")), true), Some(Id::Str("a".into())));
        assert_eq!(Id::from_json(Some(&json!(5)), true), None);
        assert!(matches!(Id::random(false), Id::Num(n) if n > 0 && n < 1 << 53));
        assert_eq!(Id::Str("x".into()).to_json(), json!("x"));
    }

    #[test]
    fn config_values_may_be_quoted() {
        assert_eq!(flag(&json!("yes")), Some(true));
        assert_eq!(flag(&json!("false")), Some(false));
        assert_eq!(number(&json!("10")), Some(10));
        assert_eq!(text(&json!(7)), Some("7".into()));
    }

    #[test]
    fn rooms_come_out_of_the_config_and_go_back_with_the_rest() {
        let config = json!({"general": {"admin_key": "k"}, "room-1234": {"description": "Demo"},
                            "room-abc": {"description": "x"}});
        let (file, rooms) = RoomsConfig::parse(&config, false);
        assert_eq!(rooms, vec![(Id::Num(1234), json!({"description": "Demo"}).as_object().unwrap().clone())]);
        let id = Id::Num(7);
        let saved = file.with_rooms([(&id, json!({"description": "Seven"}))].into_iter());
        assert_eq!(saved, json!({"general": {"admin_key": "k"}, "room-7": {"description": "Seven"}}));
    }
}

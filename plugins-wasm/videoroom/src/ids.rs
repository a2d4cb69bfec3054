//! Room and participant ids: numbers, or strings when the plugin runs with `string_ids`.

use std::fmt;
use std::hash::{BuildHasher, Hasher};

use portunus_sdk::Value;
use serde::{Deserialize, Serialize};

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

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Id::Num(n) => write!(f, "{n}"),
            Id::Str(s) => f.write_str(s),
        }
    }
}

/// A random number from the host's entropy (std seeds its hash keys from WASI's random).
pub fn random_u64() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0x5eed);
    h.finish()
}

//! Plugin state for hot reload and crash recovery.
//!
//! Snapshots are JSON: readable in a debugger, and tolerant of change between versions (new
//! fields with `#[serde(default)]`, unknown fields ignored unless the type denies them).

use serde::de::DeserializeOwned;
use serde::Serialize;

/// The state as snapshot bytes, or why it cannot be serialised (a map whose keys are not
/// strings or integers, a `Serialize` impl that fails).
pub fn try_snapshot_of<T: Serialize + ?Sized>(state: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(state).map_err(|err| format!("snapshot: {err}"))
}

/// The state as snapshot bytes, for the `snapshot` export.
///
/// `snapshot` cannot fail, so a state that does not serialise is logged as an error and gives
/// an empty snapshot, which [`restore_into`] refuses (and the default
/// [`Plugin::restore`](crate::Plugin::restore) ignores). Use [`try_snapshot_of`] to handle the
/// error yourself.
///
/// ```
/// use portunus_sdk::{restore_into, snapshot_of};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Debug, PartialEq, Default, Serialize, Deserialize)]
/// struct State { count: u64, #[serde(default)] added_in_v2: Vec<String> }
///
/// let bytes = snapshot_of(&State { count: 3, added_in_v2: vec![] });
/// let back: State = restore_into(&bytes).unwrap();
/// assert_eq!(back.count, 3);
/// // A snapshot of an older version, without the new field:
/// let old: State = restore_into(br#"{"count":7}"#).unwrap();
/// assert_eq!(old, State { count: 7, added_in_v2: vec![] });
/// ```
pub fn snapshot_of<T: Serialize + ?Sized>(state: &T) -> Vec<u8> {
    try_snapshot_of(state).unwrap_or_else(|err| {
        crate::log(crate::LogLevel::Error, &err);
        Vec::new()
    })
}

/// Rebuilds a state from snapshot bytes (made by [`snapshot_of`], possibly by an older version
/// of the plugin).
pub fn restore_into<T: DeserializeOwned>(snapshot: &[u8]) -> Result<T, String> {
    if snapshot.is_empty() {
        return Err("restore: empty snapshot".to_owned());
    }
    serde_json::from_slice(snapshot).map_err(|err| format!("restore: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::HashMap;

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct Handle {
        audio: bool,
        rule: Option<u64>,
    }

    #[derive(Debug, Default, PartialEq, Serialize, Deserialize)]
    struct State {
        handles: HashMap<u64, Handle>,
        count: u32,
    }

    #[test]
    fn round_trip_with_integer_keys() {
        let mut state = State::default();
        state.handles.insert(u64::MAX, Handle { audio: true, rule: Some(9) });
        state.count = 4;
        let bytes = snapshot_of(&state);
        assert_eq!(restore_into::<State>(&bytes).unwrap(), state);
    }

    #[test]
    fn bad_snapshots_are_errors() {
        assert!(restore_into::<State>(b"").unwrap_err().contains("empty"));
        assert!(restore_into::<State>(b"{").unwrap_err().starts_with("restore:"));
        assert!(restore_into::<State>(br#"{"handles":1}"#).is_err());
    }

    #[test]
    fn unserialisable_state_gives_an_empty_snapshot() {
        let mut bad = HashMap::new();
        bad.insert((1, 2), 3);
        assert!(try_snapshot_of(&bad).is_err());
        assert!(snapshot_of(&bad).is_empty());
    }
}

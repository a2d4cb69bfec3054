//! Plugin state for hot reload and crash recovery.
//!
//! The host keeps a copy of each plugin's saved state as entries (a key, a value) and merges
//! what changed after calls (the `checkpoint` export), so saving costs what a call changed, not
//! the whole state. [`Keyed`] (a map) and [`Saved`] (one value) remember what changed and
//! write it out; [`Plugin::checkpoint`](crate::Plugin::checkpoint) and
//! [`Plugin::restore`](crate::Plugin::restore) put them together.
//!
//! Values are JSON: readable in a debugger, and tolerant of change between versions (new
//! fields with `#[serde(default)]`, unknown fields ignored unless the type denies them).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::{Deref, DerefMut};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::{StateChange, StateEntry};

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

/// A map whose changes are remembered, so a checkpoint writes only the entries that changed.
///
/// Every way to change an entry (`insert`, `remove`, `get_mut`, `iter_mut`, `values_mut`)
/// marks it; [`save`](Keyed::save) writes the marked entries under `prefix` + the key as JSON
/// and forgets the marks. It serialises as a plain map, so a plugin that derives `Serialize`
/// still can.
///
/// ```
/// use portunus_sdk::{Keyed, StateChange};
///
/// let mut rooms: Keyed<u64, String> = Keyed::default();
/// rooms.insert(1, "lobby".into());
/// rooms.insert(2, "stage".into());
/// let mut out = Vec::new();
/// rooms.save("room/", false, &mut out);
/// assert_eq!(out.len(), 2);
///
/// // Only what changed next time.
/// rooms.remove(&1);
/// out.clear();
/// rooms.save("room/", false, &mut out);
/// assert_eq!(out, vec![StateChange { key: "room/1".into(), value: None }]);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Keyed<K: Ord, V> {
    map: BTreeMap<K, V>,
    changed: BTreeSet<K>,
}

impl<K: Ord, V> Default for Keyed<K, V> {
    fn default() -> Self {
        Self { map: BTreeMap::new(), changed: BTreeSet::new() }
    }
}

impl<K: Ord + Clone, V> Keyed<K, V> {
    /// The entries whose keys fall in `range`, in key order (with tuple keys, the entries of
    /// one first element: `(room, MIN)..`, taken while the room matches).
    pub fn range<R: std::ops::RangeBounds<K>>(&self, range: R) -> impl Iterator<Item = (&K, &V)> {
        self.map.range(range)
    }

    /// The value of a key.
    pub fn get(&self, key: &K) -> Option<&V> {
        self.map.get(key)
    }

    /// The value of a key, to change (marks it).
    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        let value = self.map.get_mut(key)?;
        self.changed.insert(key.clone());
        Some(value)
    }

    /// Sets a key; returns the value it had.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        self.changed.insert(key.clone());
        self.map.insert(key, value)
    }

    /// Removes a key; returns the value it had.
    pub fn remove(&mut self, key: &K) -> Option<V> {
        let old = self.map.remove(key);
        if old.is_some() {
            self.changed.insert(key.clone());
        }
        old
    }

    /// Marks a key as changed (after changing its value through interior mutability).
    pub fn touch(&mut self, key: &K) {
        if self.map.contains_key(key) {
            self.changed.insert(key.clone());
        }
    }

    /// Whether the key is there.
    pub fn contains_key(&self, key: &K) -> bool {
        self.map.contains_key(key)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &K> {
        self.map.keys()
    }

    /// The values, in key order.
    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    /// The entries, to change: marks every one (a checkpoint then writes them all).
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (&K, &mut V)> {
        self.changed.extend(self.map.keys().cloned());
        self.map.iter_mut()
    }

    /// The values, to change: marks every one.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> {
        self.changed.extend(self.map.keys().cloned());
        self.map.values_mut()
    }

    /// Keeps the entries `keep` says yes to; the others are removed (and marked).
    pub fn retain(&mut self, mut keep: impl FnMut(&K, &V) -> bool) {
        let changed = &mut self.changed;
        self.map.retain(|k, v| {
            let kept = keep(k, v);
            if !kept {
                changed.insert(k.clone());
            }
            kept
        });
    }
}

impl<K: Ord + Clone + Serialize + DeserializeOwned, V: Serialize + DeserializeOwned> Keyed<K, V> {
    /// Writes the changed entries (all of them with `full`) to `out` as state changes keyed
    /// `prefix` + the key as JSON (`room/1234`, `user/"alice"`), and forgets the marks.
    pub fn save(&mut self, prefix: &str, full: bool, out: &mut Vec<StateChange>) {
        let changed = std::mem::take(&mut self.changed);
        let entry = |k: &K, v: Option<&V>| StateChange {
            key: format!("{prefix}{}", serde_json::to_string(k).unwrap_or_default()),
            value: v.map(snapshot_of),
        };
        if full {
            out.extend(self.map.iter().map(|(k, v)| entry(k, Some(v))));
        } else {
            out.extend(changed.iter().map(|k| entry(k, self.map.get(k))));
        }
    }

    /// Replaces the map with the entries under `prefix` (as [`save`](Keyed::save) wrote
    /// them); other entries are ignored, and so are entries whose key after the prefix is not
    /// a key of this map (another map's, under a longer prefix that starts with this one). A
    /// value that does not parse is an error and leaves the map as it was.
    ///
    /// A plugin that keeps `Keyed` maps must save them with `save` in its
    /// [`checkpoint`](crate::Plugin::checkpoint): that is what forgets the changed keys.
    pub fn load(&mut self, prefix: &str, entries: &[StateEntry]) -> Result<(), String> {
        let mut map = BTreeMap::new();
        for e in entries {
            let Some(key) = e.key.strip_prefix(prefix) else { continue };
            let Ok(k) = serde_json::from_str::<K>(key) else { continue };
            map.insert(k, restore_into(&e.value).map_err(|err| format!("{err} (key {:?})", e.key))?);
        }
        self.map = map;
        self.changed.clear();
        Ok(())
    }
}

impl<K: Ord + Serialize, V: Serialize> Serialize for Keyed<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.map.serialize(s)
    }
}

impl<'de, K: Ord + Deserialize<'de>, V: Deserialize<'de>> Deserialize<'de> for Keyed<K, V> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self { map: BTreeMap::deserialize(d)?, changed: BTreeSet::new() })
    }
}

/// One value whose changes are remembered: changing it through `DerefMut` marks it, and
/// [`save`](Saved::save) writes it only when marked.
///
/// ```
/// use portunus_sdk::Saved;
///
/// let mut count: Saved<u64> = Saved::default();
/// *count += 1;
/// let mut out = Vec::new();
/// count.save("count", false, &mut out);
/// assert_eq!(out.len(), 1);
/// out.clear();
/// count.save("count", false, &mut out); // unchanged: nothing written
/// assert!(out.is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Saved<T> {
    value: T,
    changed: bool,
}

impl<T> Saved<T> {
    /// A value, marked as changed (the next checkpoint writes it).
    pub fn new(value: T) -> Self {
        Self { value, changed: true }
    }
}

impl<T> Deref for Saved<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for Saved<T> {
    fn deref_mut(&mut self) -> &mut T {
        self.changed = true;
        &mut self.value
    }
}

impl<T: Serialize + DeserializeOwned> Saved<T> {
    /// Writes the value under `key` if it changed (always with `full`).
    pub fn save(&mut self, key: &str, full: bool, out: &mut Vec<StateChange>) {
        if full || self.changed {
            out.push(StateChange { key: key.to_owned(), value: Some(snapshot_of(&self.value)) });
        }
        self.changed = false;
    }

    /// Loads the value from the entry `key`, if there is one.
    pub fn load(&mut self, key: &str, entries: &[StateEntry]) -> Result<(), String> {
        if let Some(e) = entries.iter().find(|e| e.key == key) {
            self.value = restore_into(&e.value)?;
        }
        self.changed = false;
        Ok(())
    }
}

impl<T: Serialize> Serialize for Saved<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.value.serialize(s)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Saved<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Self { value: T::deserialize(d)?, changed: false })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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

    #[test]
    fn keyed_writes_only_changes_and_loads_back() {
        let mut k: Keyed<u64, Handle> = Keyed::default();
        for i in 0..100 {
            k.insert(i, Handle::default());
        }
        let mut out = Vec::new();
        k.save("h/", false, &mut out);
        assert_eq!(out.len(), 100);
        out.clear();
        k.get_mut(&7).unwrap().audio = true;
        k.remove(&8);
        k.remove(&1000); // absent: no change
        k.save("h/", false, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].key, "h/7");
        assert_eq!(out[1], StateChange { key: "h/8".into(), value: None });
        out.clear();
        k.save("h/", false, &mut out);
        assert!(out.is_empty());

        // Full: every entry, as the host replaces its copy.
        k.save("h/", true, &mut out);
        assert_eq!(out.len(), 99);
        let entries: Vec<StateEntry> = out
            .iter()
            .map(|c| StateEntry { key: c.key.clone(), value: c.value.clone().unwrap() })
            .chain([StateEntry { key: "other".into(), value: b"1".to_vec() }])
            .collect();
        let mut back: Keyed<u64, Handle> = Keyed::default();
        back.load("h/", &entries).unwrap();
        assert_eq!(back.len(), 99);
        assert!(back.get(&7).unwrap().audio);
        // A load leaves nothing to write.
        out.clear();
        back.save("h/", false, &mut out);
        assert!(out.is_empty());
        // A bad value is an error and changes nothing; a key of another map is left alone.
        let bad = [StateEntry { key: "h/5".into(), value: b"nope".to_vec() }];
        assert!(back.load("h/", &bad).is_err());
        assert_eq!(back.len(), 99);
        let other = [StateEntry { key: "h/member/5".into(), value: b"{}".to_vec() }];
        back.load("h/", &other).unwrap();
        assert!(back.is_empty());
    }

    #[test]
    fn keyed_retain_and_iter_mut_mark() {
        let mut k: Keyed<String, u32> = Keyed::default();
        k.insert("a".into(), 1);
        k.insert("b".into(), 2);
        let mut out = Vec::new();
        k.save("", false, &mut out);
        out.clear();
        k.retain(|_, v| *v > 1);
        k.save("", false, &mut out);
        assert_eq!(out, vec![StateChange { key: "\"a\"".into(), value: None }]);
        out.clear();
        for (_, v) in k.iter_mut() {
            *v += 1;
        }
        k.save("", false, &mut out);
        assert_eq!(out, vec![StateChange { key: "\"b\"".into(), value: Some(b"3".to_vec()) }]);
        // It serialises as a plain map.
        assert_eq!(serde_json::to_string(&k).unwrap(), r#"{"b":3}"#);
    }

    #[test]
    fn saved_value() {
        let mut s: Saved<u32> = Saved::new(5);
        let mut out = Vec::new();
        s.save("n", false, &mut out);
        assert_eq!(out.len(), 1);
        let entries = [StateEntry { key: "n".into(), value: out[0].value.clone().unwrap() }];
        let mut back: Saved<u32> = Saved::default();
        back.load("n", &entries).unwrap();
        assert_eq!(*back, 5);
        out.clear();
        back.save("n", false, &mut out);
        assert!(out.is_empty());
    }
}

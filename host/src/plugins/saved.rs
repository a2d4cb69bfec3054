//! The host's copy of a plugin's saved state: entries merged from the plugin's checkpoints,
//! handed back whole to a rebuilt or reloaded instance.

use std::collections::HashMap;

use super::bindings::types::{StateChange, StateEntry};

/// Saved state entries, with their total size kept up to date.
#[derive(Debug, Default)]
pub struct SavedState {
    entries: HashMap<String, Vec<u8>>,
    bytes: usize,
    /// A checkpoint was taken at least once.
    taken: bool,
    /// The last merge was refused: the next checkpoint must be a full one.
    pub stale: bool,
}

fn size(key: &str, value: &[u8]) -> usize {
    key.len() + value.len()
}

impl SavedState {
    /// Merges a checkpoint's changes (with `full`, they replace everything). When the result
    /// would exceed `max` bytes nothing changes, the state is marked stale and the error says
    /// why.
    pub fn merge(&mut self, changes: Vec<StateChange>, full: bool, max: usize) -> Result<(), String> {
        if full {
            let mut entries = HashMap::with_capacity(changes.len());
            let mut bytes = 0usize;
            for c in changes {
                if let Some(v) = c.value {
                    bytes = bytes.saturating_add(size(&c.key, &v));
                    let key_len = c.key.len();
                    if let Some(old) = entries.insert(c.key, v) {
                        bytes -= key_len + old.len();
                    }
                }
            }
            if bytes > max {
                self.stale = true;
                return Err(format!("saved state of {bytes} bytes exceeds max_snapshot_bytes ({max})"));
            }
            self.entries = entries;
            self.bytes = bytes;
        } else {
            // Applied in order, with an undo log in case the total ends over the limit.
            let mut undo: Vec<(String, Option<Vec<u8>>)> = Vec::new();
            for c in changes {
                let old = match c.value {
                    Some(v) => {
                        self.bytes = self.bytes.saturating_add(size(&c.key, &v));
                        self.entries.insert(c.key.clone(), v)
                    }
                    None => self.entries.remove(&c.key),
                };
                if let Some(old) = &old {
                    self.bytes -= size(&c.key, old);
                }
                undo.push((c.key, old));
            }
            if self.bytes > max {
                let over = self.bytes;
                for (key, old) in undo.into_iter().rev() {
                    if let Some(now) = self.entries.remove(&key) {
                        self.bytes -= size(&key, &now);
                    }
                    if let Some(old) = old {
                        self.bytes += size(&key, &old);
                        self.entries.insert(key, old);
                    }
                }
                self.stale = true;
                return Err(format!("saved state of {over} bytes would exceed max_snapshot_bytes ({max})"));
            }
        }
        self.stale = false;
        self.taken = true;
        Ok(())
    }

    /// Whether a checkpoint was ever merged (otherwise a new instance starts from `init`).
    pub fn taken(&self) -> bool {
        self.taken
    }

    /// Every entry, for `restore`.
    pub fn entries(&self) -> Vec<StateEntry> {
        self.entries.iter().map(|(k, v)| StateEntry { key: k.clone(), value: v.clone() }).collect()
    }

    /// Total bytes of keys and values.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(k: &str, v: &str) -> StateChange {
        StateChange { key: k.into(), value: Some(v.as_bytes().to_vec()) }
    }

    fn del(k: &str) -> StateChange {
        StateChange { key: k.into(), value: None }
    }

    fn pairs(entries: &[StateEntry]) -> Vec<(String, Vec<u8>)> {
        entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect()
    }

    #[test]
    fn merges_changes_and_keeps_the_size() {
        let mut s = SavedState::default();
        assert!(!s.taken());
        s.merge(vec![set("a", "123"), set("b", "4")], false, 100).unwrap();
        assert_eq!((s.len(), s.bytes()), (2, 6));
        s.merge(vec![set("a", "1"), del("b"), del("zz")], false, 100).unwrap();
        assert_eq!((s.len(), s.bytes()), (1, 2));
        assert!(s.taken());
        let entries = s.entries();
        assert_eq!(pairs(&entries), vec![("a".to_owned(), b"1".to_vec())]);
    }

    #[test]
    fn over_the_limit_changes_nothing_and_asks_for_everything() {
        let mut s = SavedState::default();
        s.merge(vec![set("a", "12345")], false, 10).unwrap();
        let err = s.merge(vec![del("a"), set("b", "1234567890")], false, 10).unwrap_err();
        assert!(err.contains("max_snapshot_bytes"), "{err}");
        assert!(s.stale);
        assert_eq!(pairs(&s.entries()), vec![("a".to_owned(), b"12345".to_vec())]);
        assert_eq!(s.bytes(), 6);
        // A full checkpoint replaces everything.
        s.merge(vec![set("c", "1"), set("d", "2")], true, 10).unwrap();
        assert!(!s.stale);
        assert_eq!((s.len(), s.bytes()), (2, 4));
        assert!(s.merge(vec![set("e", "1234567890")], true, 10).is_err());
        assert_eq!(s.len(), 2);
    }
}

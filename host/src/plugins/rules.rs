//! The forwarding rules plugins issue. They live in the host, so they survive plugin reloads
//! and crashes; the media engine carries them out.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::api::plugin::HandleRef;

pub use crate::api::media::ForwardRule as Rule;

/// Rule ids are unique in the whole gateway (the media engine's router is shared).
static NEXT_RULE: AtomicU64 = AtomicU64::new(1);

/// The rules of one plugin.
#[derive(Debug, Default)]
pub struct RuleTable {
    rules: BTreeMap<u64, Rule>,
}

impl RuleTable {
    /// Adds a rule unless the plugin already holds `max` rules.
    pub fn add(&mut self, rule: Rule, max: usize) -> Result<u64, String> {
        if self.rules.len() >= max {
            return Err(format!("too many forwarding rules (limit {max})"));
        }
        let id = NEXT_RULE.fetch_add(1, Ordering::Relaxed);
        self.rules.insert(id, rule);
        Ok(id)
    }

    /// Removes a rule; unknown ids are ignored.
    pub fn remove(&mut self, id: u64) -> bool {
        self.rules.remove(&id).is_some()
    }

    /// Changes a rule's layers.
    pub fn set_layers(&mut self, id: u64, substream: Option<u8>, temporal: Option<u8>) -> Result<(), String> {
        let r = self.rules.get_mut(&id).ok_or_else(|| format!("no such rule {id}"))?;
        r.substream = substream;
        r.temporal = temporal;
        Ok(())
    }

    /// Removes every rule that involves a handle.
    pub fn remove_handle(&mut self, h: HandleRef) {
        self.rules.retain(|_, r| r.src != h && r.dst != h);
    }

    /// The rules that involve a handle, by id.
    pub fn of_handle(&self, h: HandleRef) -> Vec<(u64, Rule)> {
        self.rules.iter().filter(|(_, r)| r.src == h || r.dst == h).map(|(id, r)| (*id, r.clone())).collect()
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(n: u64) -> HandleRef {
        HandleRef { session_id: 1, handle_id: n }
    }

    #[test]
    fn limit_and_cleanup() {
        let mut t = RuleTable::default();
        let rule = |a, b| Rule {
            src: h(a),
            src_mid: None,
            dst: h(b),
            dst_mid: None,
            substream: None,
            temporal: None,
            kinds: Vec::new(),
        };
        let id = t.add(rule(1, 2), 2).unwrap();
        t.add(rule(2, 3), 2).unwrap();
        assert!(t.add(rule(3, 4), 2).unwrap_err().contains("limit 2"));
        t.set_layers(id, Some(1), None).unwrap();
        assert_eq!(t.of_handle(h(1))[0].1.substream, Some(1));
        t.remove_handle(h(2));
        assert!(t.is_empty());
    }
}

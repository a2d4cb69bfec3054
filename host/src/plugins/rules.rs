//! The forwarding rules plugins issue. They live in the host, so they survive plugin reloads
//! and crashes; the media engine carries them out.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::vocab::{Endpoint, HandleRef};

pub use crate::vocab::ForwardRule as Rule;

/// Rule ids are unique in the whole gateway (the media engine's router is shared).
static NEXT_RULE: AtomicU64 = AtomicU64::new(1);

/// The rules of one plugin, indexed by endpoint so that a handle's (or a leg's) departure costs
/// its own rules, not all of them.
#[derive(Debug, Default)]
pub struct RuleTable {
    rules: BTreeMap<u64, Rule>,
    by_endpoint: HashMap<Endpoint, BTreeSet<u64>>,
}

impl RuleTable {
    /// Adds a rule unless the plugin already holds `max` rules.
    pub fn add(&mut self, rule: Rule, max: usize) -> Result<u64, String> {
        self.room(max)?;
        let id = NEXT_RULE.fetch_add(1, Ordering::Relaxed);
        self.by_endpoint.entry(rule.src).or_default().insert(id);
        if let Some(dst) = rule.dst.endpoint() {
            self.by_endpoint.entry(dst).or_default().insert(id);
        }
        self.rules.insert(id, rule);
        Ok(id)
    }

    /// Whether one more rule fits under `max`.
    pub fn room(&self, max: usize) -> Result<(), String> {
        if self.rules.len() >= max {
            return Err(format!("too many forwarding rules (limit {max})"));
        }
        Ok(())
    }

    fn unindex(&mut self, e: Endpoint, id: u64) {
        if let Some(ids) = self.by_endpoint.get_mut(&e) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_endpoint.remove(&e);
            }
        }
    }

    /// Removes a rule; unknown ids are ignored.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(rule) = self.rules.remove(&id) else { return false };
        self.unindex(rule.src, id);
        if let Some(dst) = rule.dst.endpoint() {
            self.unindex(dst, id);
        }
        true
    }

    /// Changes a rule's layers.
    pub fn set_layers(&mut self, id: u64, substream: Option<u8>, temporal: Option<u8>) -> Result<(), String> {
        let r = self.rules.get_mut(&id).ok_or_else(|| format!("no such rule {id}"))?;
        r.substream = substream;
        r.temporal = temporal;
        Ok(())
    }

    /// Removes every rule that involves a handle's PeerConnection; returns their ids.
    pub fn remove_handle(&mut self, h: HandleRef) -> Vec<u64> {
        self.remove_endpoint(Endpoint::Peer(h))
    }

    /// Removes every rule that involves an endpoint; returns their ids.
    pub fn remove_endpoint(&mut self, e: Endpoint) -> Vec<u64> {
        let ids: Vec<u64> =
            self.by_endpoint.remove(&e).map(|ids| ids.into_iter().collect()).unwrap_or_default();
        for id in &ids {
            self.remove(*id);
        }
        ids
    }

    /// The rules that involve a handle, by id.
    pub fn of_handle(&self, h: HandleRef) -> Vec<(u64, Rule)> {
        let ids = self.by_endpoint.get(&Endpoint::Peer(h)).into_iter().flatten();
        ids.filter_map(|id| Some((*id, self.rules.get(id)?.clone()))).collect()
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
            src: Endpoint::Peer(h(a)),
            src_mid: None,
            dst: crate::vocab::Sink::Peer { handle: h(b), mid: None },
            substream: None,
            temporal: None,
            kinds: Vec::new(),
        };
        let id = t.add(rule(1, 2), 2).unwrap();
        t.add(rule(2, 3), 2).unwrap();
        assert!(t.add(rule(3, 4), 2).unwrap_err().contains("limit 2"));
        t.set_layers(id, Some(1), None).unwrap();
        assert_eq!(t.of_handle(h(1))[0].1.substream, Some(1));
        assert_eq!(t.remove_handle(h(2)).len(), 2);
        assert!(t.is_empty());
        assert!(t.by_endpoint.is_empty());
        let id = t.add(rule(5, 6), 2).unwrap();
        assert!(t.remove(id));
        assert!(t.by_endpoint.is_empty());
    }
}

//! The plain RTP legs a plugin opened (and, in `mixers.rs`, its mixer ports), by id and by
//! owner handle: host facts like rules (a handle's departure closes its legs; a crash closes
//! those opened since the checkpoint).

use std::collections::{BTreeSet, HashMap};

use crate::vocab::HandleRef;

/// One plugin's legs.
#[derive(Debug, Default)]
pub struct LegTable {
    owners: HashMap<u64, HandleRef>,
    by_owner: HashMap<HandleRef, BTreeSet<u64>>,
}

impl LegTable {
    /// Records a leg opened for `owner`.
    pub fn add(&mut self, id: u64, owner: HandleRef) {
        self.owners.insert(id, owner);
        self.by_owner.entry(owner).or_default().insert(id);
    }

    /// Whether the plugin holds this leg.
    pub fn holds(&self, id: u64) -> bool {
        self.owners.contains_key(&id)
    }

    /// Forgets a leg; false when unknown.
    pub fn remove(&mut self, id: u64) -> bool {
        let Some(owner) = self.owners.remove(&id) else { return false };
        if let Some(ids) = self.by_owner.get_mut(&owner) {
            ids.remove(&id);
            if ids.is_empty() {
                self.by_owner.remove(&owner);
            }
        }
        true
    }

    /// The legs of a handle.
    pub fn of_owner(&self, owner: HandleRef) -> Vec<u64> {
        self.by_owner.get(&owner).map(|s| s.iter().copied().collect()).unwrap_or_default()
    }

    /// Number of legs open.
    pub fn len(&self) -> usize {
        self.owners.len()
    }
}

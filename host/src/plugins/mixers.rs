//! The mixers a plugin made and their ports (participants), by owner handle: host facts like
//! rules and legs (a handle's departure closes its ports, a destroyed mixer closes all of its
//! own, a crash undoes those made since the checkpoint).

use std::collections::{BTreeSet, HashMap};

use super::legs::LegTable;
use crate::vocab::HandleRef;

/// One plugin's mixers and ports.
#[derive(Debug, Default)]
pub struct MixerTable {
    rooms: HashMap<u64, BTreeSet<u64>>,
    room_of: HashMap<u64, u64>,
    owners: LegTable,
}

impl MixerTable {
    /// Records a new mixer.
    pub fn add_mixer(&mut self, id: u64) {
        self.rooms.entry(id).or_default();
    }

    /// Whether the plugin holds this mixer.
    pub fn has_mixer(&self, id: u64) -> bool {
        self.rooms.contains_key(&id)
    }

    /// The ports of a mixer (none when unknown).
    pub fn ports_in(&self, id: u64) -> Option<Vec<u64>> {
        Some(self.rooms.get(&id)?.iter().copied().collect())
    }

    /// Forgets a mixer (its ports closed first); false when unknown.
    pub fn remove_mixer(&mut self, id: u64) -> bool {
        self.rooms.remove(&id).is_some()
    }

    /// Records a port of `mixer` owned by `owner` (none: by the plugin, until its mixer goes).
    pub fn add_port(&mut self, port: u64, mixer: u64, owner: Option<HandleRef>) {
        self.rooms.entry(mixer).or_default().insert(port);
        self.room_of.insert(port, mixer);
        if let Some(owner) = owner {
            self.owners.add(port, owner);
        }
    }

    /// Whether the plugin holds this port.
    pub fn has_port(&self, port: u64) -> bool {
        self.room_of.contains_key(&port)
    }

    /// Forgets a port; false when unknown.
    pub fn remove_port(&mut self, port: u64) -> bool {
        let Some(mixer) = self.room_of.remove(&port) else { return false };
        if let Some(ports) = self.rooms.get_mut(&mixer) {
            ports.remove(&port);
        }
        self.owners.remove(port);
        true
    }

    /// The ports a handle owns.
    pub fn ports_of(&self, owner: HandleRef) -> Vec<u64> {
        self.owners.of_owner(owner)
    }

    /// Mixers and ports, for `max_legs`.
    pub fn len(&self) -> usize {
        self.rooms.len() + self.room_of.len()
    }
}

//! Which media thread owns which endpoint (a PeerConnection's handle, a leg, an input, a mixer
//! port). An endpoint gets its thread on first use and keeps it: the thread's socket is in its
//! candidates. A packet forwarded between endpoints of two threads crosses over (a
//! [`super::core::Delivery`], and a wake-up of the other thread for every burst), so a new
//! endpoint that is offered another's streams (a subscriber, a viewer) goes to its source's
//! thread, as long as that thread owns at most [`NEAR_SOURCE`] more endpoints than the least
//! busy one; anything else goes to the least busy thread. A room of up to about that many
//! then stays on one thread, and a bigger one spreads over all of them. What only configures
//! an endpoint (the RTP extensions its offers carry, its talking events) does not choose its
//! thread: it waits for the endpoint's first real use and goes to that thread first.

use std::collections::{HashMap, HashSet, VecDeque};

/// How many more endpoints than the least busy thread a source's thread may own and still
/// take one more of the source's subscribers. Measured with `portunus-bench-room` on two
/// cores: a 1→10 room split over two threads cost a third more CPU per forwarded packet than
/// on one (the second thread woke for every burst).
pub const NEAR_SOURCE: usize = 16;

/// Commands that wait for one endpoint's thread, at most (beyond, the oldest is dropped).
const MAX_WAITING: usize = 16;

/// Endpoints remembered as gone, the latest this many: a command that comes for one after it
/// went (a trickle or a hangup in flight) neither counts towards a thread nor waits.
const GONE: usize = 1024;

/// The endpoints' threads, how many each thread owns, and the commands `C` that wait for an
/// endpoint's thread.
#[derive(Debug)]
pub struct Homing<C> {
    by_endpoint: HashMap<u64, usize>,
    owned: Vec<usize>,
    waiting: HashMap<u64, Vec<C>>,
    gone: HashSet<u64>,
    gone_order: VecDeque<u64>,
}

impl<C> Homing<C> {
    /// Nothing placed yet on `threads` threads (at least one).
    pub fn new(threads: usize) -> Self {
        Self {
            by_endpoint: HashMap::new(),
            owned: vec![0; threads.max(1)],
            waiting: HashMap::new(),
            gone: HashSet::new(),
            gone_order: VecDeque::new(),
        }
    }

    /// The thread of `endpoint`, if it has one.
    pub fn get(&self, endpoint: u64) -> Option<usize> {
        self.by_endpoint.get(&endpoint).copied()
    }

    /// The thread of `endpoint`; a new endpoint's is `near`'s (its source's)
    /// when that thread is not too busy (see the module's doc), else the least busy one. A new
    /// endpoint's waiting commands come with it: they go to its thread first. An endpoint that
    /// is gone gets the least busy thread, which does not count it.
    pub fn home(&mut self, endpoint: u64, near: Option<u64>) -> (usize, Vec<C>) {
        if let Some(home) = self.get(endpoint) {
            return (home, Vec::new());
        }
        let (least, fewest) =
            self.owned.iter().copied().enumerate().min_by_key(|(_, n)| *n).unwrap_or((0, 0));
        if self.gone.contains(&endpoint) {
            return (least, Vec::new());
        }
        let home = near
            .and_then(|n| self.get(n))
            .filter(|h| self.owned[*h] <= fewest + NEAR_SOURCE)
            .unwrap_or(least);
        self.by_endpoint.insert(endpoint, home);
        self.owned[home] += 1;
        (home, self.waiting.remove(&endpoint).unwrap_or_default())
    }

    /// A command that only configures `endpoint`: its thread and the command when it has one,
    /// else `None`, the command kept until [`Homing::home`] gives it one.
    pub fn configure(&mut self, endpoint: u64, command: C) -> Option<(usize, C)> {
        if let Some(home) = self.get(endpoint) {
            return Some((home, command));
        }
        if self.gone.contains(&endpoint) {
            return None;
        }
        let waiting = self.waiting.entry(endpoint).or_default();
        if waiting.len() >= MAX_WAITING {
            waiting.remove(0);
        }
        waiting.push(command);
        None
    }

    /// An endpoint is gone: its thread owns one less, and what waited for it is dropped.
    pub fn forget(&mut self, endpoint: u64) {
        self.waiting.remove(&endpoint);
        if self.gone.insert(endpoint) {
            self.gone_order.push_back(endpoint);
            if self.gone_order.len() > GONE {
                if let Some(oldest) = self.gone_order.pop_front() {
                    self.gone.remove(&oldest);
                }
            }
        }
        if let Some(home) = self.by_endpoint.remove(&endpoint) {
            self.owned[home] -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where an endpoint goes (its waiting commands dropped).
    fn place(h: &mut Homing<&'static str>, endpoint: u64, near: Option<u64>) -> usize {
        h.home(endpoint, near).0
    }

    #[test]
    fn unrelated_endpoints_spread_in_turn() {
        let mut h = Homing::new(3);
        let homes: Vec<usize> = (1..=6).map(|e| place(&mut h, e, None)).collect();
        assert_eq!(homes, [0, 1, 2, 0, 1, 2]);
        assert_eq!(place(&mut h, 2, None), 1, "an endpoint keeps its thread");
        h.forget(2);
        h.forget(5);
        assert_eq!(place(&mut h, 7, None), 1, "the least busy thread, once two left it");
    }

    #[test]
    fn subscribers_follow_their_source_until_it_is_too_busy() {
        let mut h = Homing::new(2);
        let publisher = 1;
        assert_eq!(place(&mut h, publisher, None), 0);
        // A room of ten stays on the publisher's thread.
        for s in 0..10 {
            assert_eq!(place(&mut h, 100 + s, Some(publisher)), 0, "subscriber {s}");
        }
        // A room of a hundred spreads: the publisher's thread owns at most NEAR_SOURCE more.
        for s in 10..100 {
            place(&mut h, 100 + s, Some(publisher));
        }
        let on = |t| (100..200).filter(|s| h.get(*s) == Some(t)).count() + usize::from(t == 0);
        assert!(on(0) - on(1) <= NEAR_SOURCE + 1, "{} and {}", on(0), on(1));
        assert!(on(1) > 40, "{} and {}", on(0), on(1));
        // A source with no thread (not used yet) places nothing.
        assert_eq!(place(&mut h, 300, Some(999)), 1);
    }

    #[test]
    fn configuring_waits_for_the_first_real_use() {
        let mut h = Homing::new(2);
        place(&mut h, 1, None);
        place(&mut h, 2, None);
        assert_eq!(h.configure(2, "extensions"), Some((1, "extensions")), "a placed endpoint's goes at once");
        // A subscriber configured before its offer: not placed by that, and its commands go
        // to the thread its offer chooses, first.
        assert_eq!(h.configure(3, "extensions"), None);
        assert_eq!(h.configure(3, "talking"), None);
        assert_eq!(h.get(3), None);
        assert_eq!(h.home(3, Some(2)), (1, vec!["extensions", "talking"]));
        assert_eq!(h.home(3, Some(2)), (1, vec![]), "once");
        // At most MAX_WAITING wait (the newest), and a forgotten endpoint's are dropped.
        for _ in 0..MAX_WAITING + 3 {
            h.configure(4, "old");
        }
        h.configure(4, "new");
        let (_, waited) = h.home(4, None);
        assert_eq!((waited.len(), waited.last()), (MAX_WAITING, Some(&"new")));
        h.configure(5, "dropped");
        h.forget(5);
        assert!(h.home(5, None).1.is_empty());
    }

    #[test]
    fn a_gone_endpoint_is_not_placed_again() {
        let mut h = Homing::new(2);
        assert_eq!(place(&mut h, 1, None), 0);
        h.forget(1);
        // A hangup or a trickle in flight when it went: sent somewhere, counted nowhere.
        assert_eq!(h.configure(1, "trickle"), None);
        assert_eq!(h.home(1, None), (0, vec![]));
        assert_eq!(h.get(1), None);
        assert_eq!((place(&mut h, 2, None), place(&mut h, 3, None)), (0, 1), "the counts stayed right");
        // Only the latest GONE are remembered.
        for e in 100..100 + GONE as u64 {
            h.forget(e);
        }
        assert!(!h.gone.contains(&1) && h.gone.contains(&100) && h.gone.len() == GONE);
    }
}

//! A media thread's timers, in two kinds: a PeerConnection's (str0m's RTCP reports, feedback,
//! NACKs, ICE and DTLS retransmissions), which may run a little late, and exact ones (a
//! playing file's next packet, a leg's next telephone event), which may not.
//!
//! The thread wakes for the earliest exact timer, or [`PEER_SLACK`] after the earliest peer
//! timer, whichever comes first, and runs every timer that is due on each wake-up, whatever
//! woke it: peer timers that fall due close together share one wake-up, and those that fall
//! due shortly before media arrives ride on its wake-up. With a publisher's frames every 20 ms,
//! most peer timers then cost no wake-up of their own; a wake-up is what a quiet thread pays
//! most for.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// How late a peer timer may run. str0m's timers pace reports, feedback and retransmissions
/// that are themselves 33 ms (NACKs) to seconds apart, and no peer of ours paces its sending
/// (no bandwidth estimation: str0m's null pacer). On a thread with no other traffic, a NACK
/// for a lost packet may go up to this much later; media written to a peer leaves at once (its
/// drain runs the peer's timer).
pub const PEER_SLACK: Duration = Duration::from_millis(10);

type Heap = BinaryHeap<Reverse<(Instant, u64)>>;

/// Deadlines, earliest first, by owner id. An entry may be stale (its owner's deadline moved or
/// the owner is gone): the caller says which are live when it looks.
#[derive(Default)]
pub struct Timers {
    peers: Heap,
    exact: Heap,
}

impl Timers {
    /// Files a peer's deadline.
    pub fn peer(&mut self, at: Instant, id: u64) {
        self.peers.push(Reverse((at, id)));
    }

    /// Files an exact deadline (a file's packet, a telephone event).
    pub fn exact(&mut self, at: Instant, id: u64) {
        self.exact.push(Reverse((at, id)));
    }

    /// When the thread must wake next, if any timer is live; stale entries met on the way are
    /// dropped.
    pub fn wake_at(
        &mut self,
        live_peer: impl Fn(Instant, u64) -> bool,
        live_exact: impl Fn(Instant, u64) -> bool,
    ) -> Option<Instant> {
        let peer = earliest_live(&mut self.peers, live_peer).map(|at| at + PEER_SLACK);
        let exact = earliest_live(&mut self.exact, live_exact);
        match (peer, exact) {
            (Some(p), Some(e)) => Some(p.min(e)),
            (p, e) => p.or(e),
        }
    }

    /// The next exact entry due by `now` (live or not: the caller checks), taken out.
    pub fn due_exact(&mut self, now: Instant) -> Option<(Instant, u64)> {
        pop_due(&mut self.exact, now)
    }

    /// The next peer entry due by `now` (live or not: the caller checks), taken out.
    pub fn due_peer(&mut self, now: Instant) -> Option<(Instant, u64)> {
        pop_due(&mut self.peers, now)
    }
}

fn earliest_live(heap: &mut Heap, live: impl Fn(Instant, u64) -> bool) -> Option<Instant> {
    while let Some(&Reverse((at, id))) = heap.peek() {
        if live(at, id) {
            return Some(at);
        }
        heap.pop();
    }
    None
}

fn pop_due(heap: &mut Heap, now: Instant) -> Option<(Instant, u64)> {
    let &Reverse((at, id)) = heap.peek()?;
    if at > now {
        return None;
    }
    heap.pop();
    Some((at, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn peer_timers_wait_for_the_slack_and_go_together() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.peer(t0 + 3 * MS, 1);
        timers.peer(t0, 2);
        timers.peer(t0 + 25 * MS, 3);
        let live = |_: Instant, _: u64| true;
        assert_eq!(timers.wake_at(live, live), Some(t0 + PEER_SLACK), "the earliest, 10 ms late");
        // That wake-up runs both that are due by then, not the third.
        let now = t0 + PEER_SLACK;
        let due: Vec<u64> = std::iter::from_fn(|| timers.due_peer(now)).map(|(_, id)| id).collect();
        assert_eq!(due, [2, 1]);
        assert_eq!(timers.wake_at(live, live), Some(t0 + 25 * MS + PEER_SLACK));
    }

    #[test]
    fn an_exact_timer_keeps_its_time() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.peer(t0, 1);
        timers.exact(t0 + 4 * MS, 2);
        let live = |_: Instant, _: u64| true;
        assert_eq!(timers.wake_at(live, live), Some(t0 + 4 * MS));
        assert_eq!(timers.due_exact(t0 + 3 * MS), None, "not yet");
        assert_eq!(timers.due_exact(t0 + 4 * MS), Some((t0 + 4 * MS, 2)));
        assert_eq!(timers.wake_at(live, live), Some(t0 + PEER_SLACK));
    }

    #[test]
    fn stale_entries_are_dropped_on_the_way() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.peer(t0, 1);
        timers.peer(t0 + 5 * MS, 2);
        timers.exact(t0 + MS, 3);
        let wake = timers.wake_at(|_, id| id != 1, |_, _| false);
        assert_eq!(wake, Some(t0 + 5 * MS + PEER_SLACK), "peer 1's entry is stale, the exact one too");
        assert_eq!(timers.due_peer(t0 + 20 * MS), Some((t0 + 5 * MS, 2)));
        assert_eq!(timers.due_peer(t0 + 20 * MS), None);
        assert_eq!(timers.wake_at(|_, _| true, |_, _| true), None);
    }
}

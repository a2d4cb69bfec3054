//! A participant's jitter buffer: packets by sequence number in a fixed ring, played out one per
//! mixing tick. It reorders, drops what comes too late, says when a packet is missing (so the
//! decoder conceals it, from the next packet's FEC when there is one) and catches up when the
//! sender runs ahead. Nothing is allocated per packet: the ring keeps the packets' shared
//! payloads.

use std::sync::Arc;

/// Packets the ring holds: 128 × 20 ms, more than twice the largest prebuffer.
const SLOTS: usize = 128;
/// Packets buffered before playout starts (and after an underrun), unless a participant asks
/// for another number: 40 ms.
pub const PREBUFFER: u64 = 2;
/// The largest prebuffer a participant may ask for: Janus's most (50 packets past the one that
/// starts playout).
pub const MAX_PREBUFFER: u8 = 51;
/// More than this many packets waiting (or twice the prebuffer, when more) means the sender
/// ran ahead: the oldest go.
const MOST: u64 = 8;
/// A packet this far before the first one, before playout starts, is taken as reordered (and
/// playout starts from it).
const REORDERED: u64 = 16;
/// A packet this far ahead of the next to play is a new start (a new source, a long gap):
/// farther than a sender may run ahead before the oldest packets go.
const JUMP: u64 = SLOTS as u64;
const _: () = assert!(2 * MAX_PREBUFFER as u64 <= JUMP && JUMP <= SLOTS as u64);
/// Ticks concealed while nothing newer has come (a loss when the buffer holds a single
/// packet, the next one still on its way) before it counts as an underrun: 40 ms.
const CONCEAL_TICKS: u8 = 2;

/// A packet in the ring: its sequence number and payload.
type Slot = Option<(u64, Arc<[u8]>)>;

/// What the next tick plays.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// This packet.
    Packet(Arc<[u8]>),
    /// A packet is missing; the one after it is here (its FEC may restore the lost one).
    Lost {
        /// The packet after the missing one, for FEC.
        after: Option<Arc<[u8]>>,
    },
    /// Nothing to play: not started, or the sender stopped (or sends DTX).
    Nothing,
}

/// Counters for `listparticipants`-style statistics and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    /// Packets that arrived after their turn (dropped).
    pub late: u64,
    /// Packets that never came (concealed).
    pub lost: u64,
    /// Packets dropped to catch up with a sender running ahead.
    pub skipped: u64,
}

/// One participant's jitter buffer.
#[derive(Debug)]
pub struct Jitter {
    slots: Box<[Slot; SLOTS]>,
    /// Packets buffered before playout starts.
    prebuffer: u64,
    /// The sequence number of the next packet to play; none before the first packet.
    next: Option<u64>,
    /// The highest sequence number received.
    highest: u64,
    /// Playout runs (false until the prebuffer fills, and again after an underrun).
    playing: bool,
    /// Ticks concealed in a row with nothing newer received.
    concealed: u8,
    /// What happened so far.
    pub stats: JitterStats,
}

impl Default for Jitter {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Jitter {
    /// A buffer that holds `prebuffer` packets before it plays (0: [`PREBUFFER`]; at most
    /// [`MAX_PREBUFFER`]).
    pub fn new(prebuffer: u8) -> Self {
        let mut j = Self {
            slots: Box::new(std::array::from_fn(|_| None)),
            prebuffer: PREBUFFER,
            next: None,
            highest: 0,
            playing: false,
            concealed: 0,
            stats: JitterStats::default(),
        };
        j.set_prebuffer(prebuffer);
        j
    }

    /// Changes the prebuffer (0: [`PREBUFFER`]). A larger one fills before playout goes on,
    /// as in Janus; a smaller one takes effect at the next start of playout.
    pub fn set_prebuffer(&mut self, prebuffer: u8) {
        let new = match prebuffer.min(MAX_PREBUFFER) {
            0 => PREBUFFER,
            n => u64::from(n),
        };
        if new > self.prebuffer && self.next.is_some() {
            self.playing = false;
        }
        self.prebuffer = new;
    }

    /// Takes a packet (extended sequence number; arithmetic on it saturates, so a hostile
    /// number cannot overflow).
    pub fn push(&mut self, seq: u64, payload: Arc<[u8]>) {
        let mut next = *self.next.get_or_insert(seq);
        if seq < next && !self.playing && next - seq < REORDERED {
            // Reordered before playout started: start from the earlier one.
            next = seq;
            self.next = Some(seq);
        }
        if seq < next {
            self.stats.late += 1;
            return;
        }
        if seq - next >= JUMP {
            // A jump far ahead (a new source, a long gap): start over from it.
            self.reset();
            self.next = Some(seq);
        }
        self.highest = self.highest.max(seq);
        self.slots[seq as usize % SLOTS] = Some((seq, payload));
        // The sender ran ahead: drop the oldest so the delay stays bounded.
        while let Some(next) = self.next {
            if self.highest.saturating_sub(next) < MOST.max(2 * self.prebuffer) {
                break;
            }
            if self.take(next).is_some() {
                self.stats.skipped += 1;
            }
            self.next = Some(next.saturating_add(1));
        }
        if !self.playing
            && self.highest.saturating_add(1) >= self.next.unwrap_or(0).saturating_add(self.prebuffer)
        {
            self.playing = true;
        }
    }

    /// What this tick plays.
    pub fn pop(&mut self) -> Next {
        let Some(next) = self.next else { return Next::Nothing };
        if !self.playing {
            return Next::Nothing;
        }
        if let Some(p) = self.take(next) {
            self.next = Some(next.saturating_add(1));
            self.concealed = 0;
            return Next::Packet(p);
        }
        if self.highest > next {
            // Missing, and later ones are here: conceal it, from the next one's FEC.
            self.stats.lost += 1;
            self.next = Some(next.saturating_add(1));
            let after = self.peek(next.saturating_add(1));
            return Next::Lost { after };
        }
        if self.concealed < CONCEAL_TICKS {
            // Nothing newer yet, but it may be a moment away (a buffer down to one packet): a
            // tick is concealed and the missing packet keeps its turn, so the buffer grows by a
            // tick. It plays next if it was only late, from the next one's FEC if it was lost.
            // (A gap in the mix otherwise, and the prebuffer to fill again.)
            self.concealed += 1;
            return Next::Lost { after: None };
        }
        // Nothing buffered: an underrun (or DTX); play out again once the prebuffer refills.
        self.playing = false;
        self.concealed = 0;
        Next::Nothing
    }

    /// Forgets everything (a `resetdecoder`, a new source).
    pub fn reset(&mut self) {
        self.slots.fill(None);
        self.next = None;
        self.highest = 0;
        self.playing = false;
    }

    fn take(&mut self, seq: u64) -> Option<Arc<[u8]>> {
        let slot = &mut self.slots[seq as usize % SLOTS];
        match slot {
            Some((s, _)) if *s == seq => slot.take().map(|(_, p)| p),
            _ => None,
        }
    }

    fn peek(&self, seq: u64) -> Option<Arc<[u8]>> {
        match &self.slots[seq as usize % SLOTS] {
            Some((s, p)) if *s == seq => Some(p.clone()),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(n: u8) -> Arc<[u8]> {
        Arc::from(&[n][..])
    }

    #[test]
    fn reorders_and_waits_for_the_prebuffer() {
        let mut j = Jitter::default();
        j.push(11, p(11));
        assert_eq!(j.pop(), Next::Nothing, "one packet is not enough to start");
        j.push(10, p(10));
        j.push(12, p(12));
        assert_eq!(j.pop(), Next::Packet(p(10)));
        assert_eq!(j.pop(), Next::Packet(p(11)));
        assert_eq!(j.pop(), Next::Packet(p(12)));
        // The sender stopped: a few ticks concealed, then an underrun.
        assert_eq!(j.pop(), Next::Lost { after: None });
        assert_eq!(j.pop(), Next::Lost { after: None });
        assert_eq!(j.pop(), Next::Nothing);
    }

    /// A packet missing when the buffer held one (the next one arrives after its tick): a tick
    /// is concealed, then the missing one is played from the next one's FEC, or plays itself
    /// if it was only late; no gap, no new prebuffer.
    #[test]
    fn a_loss_at_a_shallow_buffer_is_concealed_not_an_underrun() {
        let mut j = Jitter::default();
        j.push(1, p(1));
        j.push(2, p(2));
        assert_eq!(j.pop(), Next::Packet(p(1)));
        j.push(3, p(3));
        assert_eq!(j.pop(), Next::Packet(p(2)));
        assert_eq!(j.pop(), Next::Packet(p(3)));
        // 4 is lost; 5 comes after 4's tick, which is concealed while 4 keeps its turn.
        assert_eq!(j.pop(), Next::Lost { after: None });
        j.push(5, p(5));
        assert_eq!(j.pop(), Next::Lost { after: Some(p(5)) }, "4 from 5's FEC");
        assert_eq!(j.pop(), Next::Packet(p(5)));
        assert_eq!(j.stats.lost, 1);
        // 6 is only late: it still plays.
        assert_eq!(j.pop(), Next::Lost { after: None });
        j.push(6, p(6));
        assert_eq!(j.pop(), Next::Packet(p(6)));
        assert_eq!(j.stats, JitterStats { late: 0, lost: 1, skipped: 0 });
    }

    #[test]
    fn a_gap_is_lost_with_the_next_packet_for_fec_and_late_ones_are_dropped() {
        let mut j = Jitter::default();
        for s in [1, 2, 4, 5] {
            j.push(s, p(s as u8));
        }
        assert_eq!(j.pop(), Next::Packet(p(1)));
        assert_eq!(j.pop(), Next::Packet(p(2)));
        assert_eq!(j.pop(), Next::Lost { after: Some(p(4)) });
        j.push(3, p(3));
        assert_eq!(j.stats.late, 1);
        assert_eq!(j.pop(), Next::Packet(p(4)));
        assert_eq!(j.stats.lost, 1);
    }

    #[test]
    fn a_sender_running_ahead_is_caught_up_with() {
        let mut j = Jitter::default();
        for s in 100..130 {
            j.push(s, p(s as u8));
        }
        assert!(j.stats.skipped >= 20, "{:?}", j.stats);
        let Next::Packet(first) = j.pop() else { panic!("plays") };
        assert!(first[0] >= 121, "the delay stays bounded: {}", first[0]);
    }

    /// Found by the fuzz smoke test: sequence numbers near the top of the range overflowed.
    #[test]
    fn sequence_numbers_near_the_top_do_not_overflow() {
        let mut j = Jitter::default();
        for s in [u64::MAX - 1, u64::MAX, 3, u64::MAX] {
            j.push(s, p(1));
            j.pop();
        }
    }

    #[test]
    fn a_jump_far_ahead_starts_over() {
        let mut j = Jitter::default();
        j.push(1, p(1));
        j.push(2, p(2));
        j.push(5000, p(50));
        j.push(5001, p(51));
        assert_eq!(j.pop(), Next::Packet(p(50)));
    }

    /// A participant's `prebuffer`: playout starts once that many packets are in, and the
    /// sender may run twice as far ahead before the oldest go.
    #[test]
    fn a_larger_prebuffer_waits_longer_and_keeps_more() {
        let mut j = Jitter::new(6);
        for s in 1..=5 {
            j.push(s, p(s as u8));
            assert_eq!(j.pop(), Next::Nothing, "{s} packets are not enough");
        }
        j.push(6, p(6));
        assert_eq!(j.pop(), Next::Packet(p(1)));
        // 2 to 13 wait: twelve, twice the prebuffer; one more and the oldest goes.
        for s in 7..=13 {
            j.push(s, p(s as u8));
        }
        assert_eq!(j.stats.skipped, 0);
        j.push(14, p(14));
        assert_eq!(j.stats.skipped, 1);
        // Back to the host's own, and past the largest.
        j.set_prebuffer(0);
        assert_eq!(j.prebuffer, PREBUFFER);
        j.set_prebuffer(200);
        assert_eq!(j.prebuffer, u64::from(MAX_PREBUFFER));
    }

    /// The largest prebuffer: a sender running ahead loses its oldest packets one by one, the
    /// buffer is not started over.
    #[test]
    fn the_largest_prebuffer_is_trimmed_not_reset() {
        let mut j = Jitter::new(MAX_PREBUFFER);
        let most = u64::from(MAX_PREBUFFER);
        for s in 1..=most {
            j.push(s, p(s as u8));
        }
        assert_eq!(j.pop(), Next::Packet(p(1)));
        for s in most + 1..=3 * most {
            j.push(s, p(s as u8));
        }
        assert!(j.stats.skipped > 0, "{:?}", j.stats);
        let Next::Packet(next) = j.pop() else { panic!("plays on") };
        assert!(u64::from(next[0]) > 2, "from where the trimming left it");
    }

    /// A larger prebuffer asked for while playing fills before playout goes on.
    #[test]
    fn a_larger_prebuffer_while_playing_fills_first() {
        let mut j = Jitter::default();
        for s in 1..=3 {
            j.push(s, p(s as u8));
        }
        assert_eq!(j.pop(), Next::Packet(p(1)));
        j.set_prebuffer(4);
        assert_eq!(j.pop(), Next::Nothing, "two waiting of four");
        j.push(4, p(4));
        j.push(5, p(5));
        assert_eq!(j.pop(), Next::Packet(p(2)));
    }
}

//! Forwarding rules, indexed by source and destination, with per-destination rewrite state.
//! Lookups happen per packet; everything that allocates happens when a rule changes. A rule's
//! destination is a peer's stream or a plain RTP output.

use std::time::Instant;

use foldhash::{HashMap, HashMapExt};
use str0m::media::{Mid, Pt};

use super::layers::LayerSelect;
use super::srtp::SrtpSender;

#[cfg(test)]
use crate::vocab::Endpoint;
use crate::vocab::{ForwardRule, HandleRef, MediaKind, RtpTarget, Sink, INPUT_BIT};

/// One rule as the router uses it.
#[derive(Debug)]
pub struct Route {
    /// The rule id.
    pub id: u64,
    /// Source handle id.
    pub src: u64,
    /// Source stream filter.
    pub src_mid: Option<Mid>,
    /// Where the media goes.
    pub dst: Dest,
    /// The handle whose plugin hears about layer changes: the destination peer's, or else the
    /// source peer's.
    pub notify: Option<HandleRef>,
    /// The media threads that own the source and the destination.
    pub homes: Homes,
    /// Whether audio and video pass (the rule's kinds, resolved when it is made).
    pub audio: bool,
    /// See `audio`.
    pub video: bool,
    /// Whether the rule names data (its kinds say so): a recording takes its source's
    /// data-channel messages then, or when its stream filter is the data stream.
    pub data: bool,
    /// Source side: which simulcast stream and temporal layers pass.
    pub select: LayerSelect,
    /// Payload type of the destination for a source payload type.
    pub pt_map: HashMap<Pt, Pt>,
}

impl Route {
    /// Whether the rule takes its source's stream `mid` (all of them without a filter).
    pub fn takes(&self, mid: Mid) -> bool {
        takes(self.src_mid, mid)
    }

    /// When the rule records its source's data stream `mid` (named by its stream filter, or by
    /// its kinds), records `message` that came `now`; returns whether it did.
    pub fn record_message(&mut self, mid: Mid, now: std::time::Instant, message: &[u8]) -> bool {
        let named = self.takes(mid) && (self.src_mid.is_some() || self.data);
        match &mut self.dst {
            Dest::Record { mjr } if named => {
                mjr.message(now, message);
                true
            }
            _ => false,
        }
    }
}

/// Whether a rule whose source stream filter is `src_mid` takes the stream `mid`.
pub fn takes(src_mid: Option<Mid>, mid: Mid) -> bool {
    src_mid.is_none_or(|m| m == mid)
}

/// A rule's destination as the router keeps it.
#[derive(Debug)]
pub enum Dest {
    /// A peer (on the media thread `homes.dst`).
    Peer {
        /// Its handle id.
        id: u64,
        /// Its stream, if fixed.
        mid: Option<Mid>,
    },
    /// A plain RTP leg (on the media thread `homes.dst`).
    Leg {
        /// Its id.
        id: u64,
    },
    /// A mixer port (on the media thread `homes.dst`, which hands its packets to the mixer).
    Mix {
        /// Its id.
        id: u64,
    },
    /// An .mjr recording, written from the source's media thread.
    Record {
        /// The recording.
        mjr: Box<super::mjr::Mjr>,
    },
    /// Plain RTP sent from the source's media thread.
    Rtp {
        /// Where, with which SSRC and payload type.
        target: RtpTarget,
        /// How its numbers are made from the source's (set by the first packet).
        rewrite: Option<Rewrite>,
        /// SDES-SRTP, when the target asks for it.
        srtp: Option<Box<SrtpSender>>,
        /// The receiver's RTCP, read on this thread (set once the rule is added here).
        feedback: Option<super::ready::Watched>,
    },
}

impl Dest {
    /// The destination endpoint's id (a peer's handle id or a leg's id), if an endpoint.
    pub fn endpoint(&self) -> Option<u64> {
        match self {
            Self::Peer { id, .. } | Self::Leg { id } | Self::Mix { id } => Some(*id),
            Self::Rtp { .. } | Self::Record { .. } => None,
        }
    }
}

/// How one destination stream's numbers are made from its source's: `out = in + offset`,
/// re-based when what feeds it changes (a simulcast switch, another rule, another source) so
/// the destination sees one continuous stream. Kept per destination stream, whatever rules
/// feed it.
#[derive(Debug, Clone, Copy)]
pub struct Rewrite {
    /// What feeds it now: (rule, source SSRC).
    source: (u64, u32),
    seq_offset: u64,
    ts_offset: u32,
    last_seq: u64,
    last_ts: u32,
    last_at: Instant,
}

/// The "source" of packets the host makes itself: what is forwarded after them re-bases.
pub const OWN: (u64, u32) = (u64::MAX, 0);

impl Rewrite {
    /// Numbers for a packet the host makes itself (a generated telephone event): the next
    /// sequence number and the timestamp of `at`; what is forwarded next continues after it.
    pub fn next_own(&mut self, at: Instant, clock: u32) -> (u64, u32) {
        let elapsed = at.saturating_duration_since(self.last_at).as_secs_f64();
        self.last_ts = self.last_ts.wrapping_add((elapsed * f64::from(clock)) as u32);
        self.last_at = at;
        (self.next_seq(), self.last_ts)
    }

    /// The next sequence number for a packet the host makes itself with the timestamp of the
    /// last one (the next packet of the same telephone event).
    pub fn next_seq(&mut self) -> u64 {
        self.last_seq = self.last_seq.wrapping_add(1);
        self.source = OWN;
        self.last_seq
    }

    /// The first packet of a destination stream: it starts in the first rollover cycle, as SRTP
    /// requires.
    pub fn start(source: (u64, u32), seq: u64, ts: u32, at: Instant) -> Self {
        let seq_offset = initial_offset(seq);
        Self {
            source,
            seq_offset,
            ts_offset: 0,
            last_seq: seq.wrapping_add(seq_offset),
            last_ts: ts,
            last_at: at,
        }
    }

    /// The outgoing (sequence number, timestamp) of a packet from `source` (rule, SSRC);
    /// `clock` is the codec's rate.
    pub fn map(&mut self, source: (u64, u32), seq: u64, ts: u32, at: Instant, clock: u32) -> (u64, u32) {
        if source != self.source {
            // Continue right after the last packet sent, the timestamp moved on by the time
            // that passed.
            let elapsed = at.saturating_duration_since(self.last_at).as_secs_f64();
            let advance = ((elapsed * f64::from(clock)) as u32).max(1);
            self.source = source;
            self.seq_offset = self.last_seq.wrapping_add(1).wrapping_sub(seq);
            self.ts_offset = self.last_ts.wrapping_add(advance).wrapping_sub(ts);
        }
        let out = (seq.wrapping_add(self.seq_offset), ts.wrapping_add(self.ts_offset));
        if out.0 > self.last_seq || self.last_seq.wrapping_sub(out.0) > 1 << 15 {
            self.last_seq = out.0;
            self.last_ts = out.1;
            self.last_at = at;
        }
        out
    }
}

/// Which media threads own a rule's two handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Homes {
    /// The source's thread.
    pub src: usize,
    /// The destination's thread.
    pub dst: usize,
}

/// The rules a media thread knows: those whose source or destination it owns.
#[derive(Debug, Default)]
pub struct Router {
    routes: HashMap<u64, Route>,
    by_src: HashMap<u64, Vec<u64>>,
    /// The rules into each destination (a keyframe request finds its sources here, without
    /// scanning every rule).
    by_dst: HashMap<u64, Vec<u64>>,
    /// The rules that record (flushed every housekeeping tick).
    recordings: Vec<u64>,
}

/// Adds a rule id to an index entry.
fn index(map: &mut HashMap<u64, Vec<u64>>, key: u64, id: u64) {
    map.entry(key).or_default().push(id);
}

/// Takes a rule id out of an index entry (and the entry when it empties).
fn unindex(map: &mut HashMap<u64, Vec<u64>>, key: u64, id: u64) {
    if let Some(ids) = map.get_mut(&key) {
        ids.retain(|r| *r != id);
        if ids.is_empty() {
            map.remove(&key);
        }
    }
}

impl Router {
    /// Adds (or replaces) a rule.
    pub fn add(&mut self, id: u64, rule: &ForwardRule, homes: Homes) {
        self.remove(id);
        let (dst, notify) = match &rule.dst {
            Sink::Peer { handle, mid } => {
                (Dest::Peer { id: handle.handle_id, mid: mid.as_deref().map(Mid::from) }, Some(*handle))
            }
            Sink::Leg(id) => (Dest::Leg { id: *id }, rule.src.handle()),
            Sink::Mix(id) => (Dest::Mix { id: *id }, rule.src.handle()),
            Sink::Rtp(target) => {
                let srtp = target.srtp.as_ref().map(|k| Box::new(SrtpSender::new(k.suite, &k.key)));
                (Dest::Rtp { target: target.clone(), rewrite: None, srtp, feedback: None }, rule.src.handle())
            }
            Sink::Record(file) => {
                self.recordings.push(id);
                (Dest::Record { mjr: Box::new(super::mjr::Mjr::new(file.0.clone())) }, rule.src.handle())
            }
        };
        let route = Route {
            id,
            src: rule.src.id(),
            src_mid: rule.src_mid.as_deref().map(Mid::from),
            dst,
            notify,
            homes,
            audio: rule.kinds.is_empty() || rule.kinds.contains(&MediaKind::Audio),
            video: rule.kinds.is_empty() || rule.kinds.contains(&MediaKind::Video),
            data: rule.kinds.contains(&MediaKind::Data),
            select: LayerSelect::new(rule.substream, rule.temporal),
            pt_map: HashMap::new(),
        };
        index(&mut self.by_src, route.src, id);
        if let Some(dst) = route.dst.endpoint() {
            index(&mut self.by_dst, dst, id);
        }
        self.routes.insert(id, route);
    }

    /// Removes a rule; unknown ids are ignored.
    pub fn remove(&mut self, id: u64) {
        let Some(route) = self.routes.remove(&id) else { return };
        if matches!(route.dst, Dest::Record { .. }) {
            self.recordings.retain(|r| *r != id);
        }
        unindex(&mut self.by_src, route.src, id);
        if let Some(dst) = route.dst.endpoint() {
            unindex(&mut self.by_dst, dst, id);
        }
    }

    /// Removes every recording rule: each hands what it buffered to the writer, and its file
    /// completes once written.
    pub fn remove_recordings(&mut self) {
        for id in std::mem::take(&mut self.recordings) {
            self.remove(id);
        }
    }

    /// Hands what the recordings buffered to their writer (the rest of a quiet stream's last
    /// second does not wait for more packets).
    pub fn flush_recordings(&mut self) {
        for id in &self.recordings {
            if let Some(Route { dst: Dest::Record { mjr }, .. }) = self.routes.get_mut(id) {
                mjr.flush();
            }
        }
    }

    /// Removes every rule that involves an endpoint (a peer's handle id or a leg's id).
    pub fn remove_handle(&mut self, handle: u64) {
        let from = self.by_src.get(&handle).into_iter().flatten();
        let to = self.by_dst.get(&handle).into_iter().flatten();
        let ids: Vec<u64> = from.chain(to).copied().collect();
        for id in ids {
            self.remove(id);
        }
    }

    /// The ids of the rules from a source handle.
    pub fn rules_from(&self, src: u64) -> &[u64] {
        self.by_src.get(&src).map_or(&[], Vec::as_slice)
    }

    /// A rule.
    pub fn route(&self, id: u64) -> Option<&Route> {
        self.routes.get(&id)
    }

    /// A rule, to update its rewrite state.
    pub fn route_mut(&mut self, id: u64) -> Option<&mut Route> {
        self.routes.get_mut(&id)
    }

    /// Source handles whose media goes to `dst`, with the threads that own them.
    pub fn sources_of(&self, dst: u64) -> Vec<(u64, usize)> {
        let ids = self.by_dst.get(&dst).map_or(&[][..], Vec::as_slice);
        let mut v: Vec<(u64, usize)> =
            ids.iter().filter_map(|id| self.routes.get(id)).map(|r| (r.src, r.homes.src)).collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

impl Router {
    /// The rules from RTP inputs into `dst`, with the threads that own the inputs.
    pub fn input_rules_into(&self, dst: u64) -> Vec<(u64, usize)> {
        let ids = self.by_dst.get(&dst).map_or(&[][..], Vec::as_slice);
        let routes = ids.iter().filter_map(|id| self.routes.get(id));
        routes.filter(|r| r.src & INPUT_BIT != 0).map(|r| (r.id, r.homes.src)).collect()
    }
}

/// The first outgoing sequence number of a new destination stream is the source's number
/// folded into the first 16-bit cycle: SRTP requires a stream to start with rollover 0.
pub fn initial_offset(first_in: u64) -> u64 {
    (first_in & 0xffff).wrapping_sub(first_in)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(src: u64, dst: u64) -> ForwardRule {
        let h = |n| HandleRef { session_id: 1, handle_id: n };
        ForwardRule {
            src: Endpoint::Peer(h(src)),
            src_mid: None,
            dst: Sink::Peer { handle: h(dst), mid: None },
            substream: None,
            temporal: None,
            kinds: Vec::new(),
        }
    }

    #[test]
    fn add_remove_and_handle_cleanup() {
        let mut r = Router::default();
        let homes = Homes { src: 0, dst: 1 };
        r.add(1, &rule(10, 20), homes);
        r.add(2, &rule(10, 30), homes);
        r.add(3, &rule(30, 10), homes);
        assert_eq!(r.rules_from(10), &[1, 2]);
        assert_eq!(r.sources_of(10), vec![(30, 0)]);
        r.remove(1);
        assert_eq!(r.rules_from(10), &[2]);
        assert!(r.route(1).is_none() && r.route_mut(2).is_some());
        r.remove_handle(30);
        assert!(r.rules_from(10).is_empty() && r.route(3).is_none());
    }

    #[test]
    fn a_stream_switch_continues_numbers_and_time() {
        let t0 = Instant::now();
        let ms = |n| t0 + std::time::Duration::from_millis(n);
        let mut r = Rewrite::start((1, 1), 70_000, 1000, t0);
        let (s0, ts0) = r.map((1, 1), 70_000, 1000, t0, 90_000);
        assert_eq!((s0, ts0), (70_000 & 0xffff, 1000));
        assert_eq!(r.map((1, 1), 70_001, 4000, ms(33), 90_000), (s0 + 1, 4000));
        // Another stream (a simulcast switch) with its own numbers, 100 ms later.
        let (s2, ts2) = r.map((1, 2), 5, 777_777, ms(133), 90_000);
        assert_eq!(s2, s0 + 2);
        assert_eq!(ts2, 4000 + 9000);
        assert_eq!(r.map((1, 2), 6, 777_777 + 3000, ms(166), 90_000), (s0 + 3, 4000 + 9000 + 3000));
        // A late packet of the new stream does not move the reference back.
        assert_eq!(r.map((1, 2), 4, 777_777 - 3000, ms(170), 90_000).0, s0 + 1);
        assert_eq!(r.map((1, 2), 7, 777_777 + 6000, ms(200), 90_000).0, s0 + 4);
    }

    #[test]
    fn offsets_start_in_the_first_cycle() {
        for first in [5u64, 70_000, (3 << 16) + 12] {
            let out = first.wrapping_add(initial_offset(first));
            assert!(out < 65_536, "{first} -> {out}");
            assert_eq!(out as u16, first as u16);
        }
    }
}

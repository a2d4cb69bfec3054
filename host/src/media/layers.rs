//! Simulcast and temporal layers for one forwarding rule, decided on the source's thread: which
//! of the source's simulcast streams passes (switching only on a keyframe of the wanted one),
//! which VP9 spatial layers of an SVC stream (up on a keyframe, down at a picture's start; the
//! marker bit goes on the last packet kept of each picture), and which VP8 or VP9 temporal
//! layers. Packets dropped by the layer filters are counted so that the destination's sequence
//! numbers stay gap-free.

use std::time::{Duration, Instant};

use crate::vocab::LayerChange;
use str0m::format::Codec;

/// A substream not seen for this long is taken as paused by the sender (browsers stop their
/// higher layers when bandwidth or resolution is short); rules fall back to the nearest one.
const LAYER_IDLE: Duration = Duration::from_millis(1000);
/// How long a new rule waits for its target substream before falling back.
const WARM_UP: Duration = Duration::from_millis(300);
/// Most simulcast substreams (and VP9 spatial layers) tracked.
const MAX_LAYERS: usize = 4;
/// How often a rule waiting for a keyframe of the substream it wants asks the source again.
const ASK_AGAIN: Duration = Duration::from_millis(500);

/// What a video payload says about itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameInfo {
    /// Starts a keyframe (`None`: the codec is not one we can read).
    pub keyframe: Option<bool>,
    /// The VP8 or VP9 temporal layer, when the payload descriptor carries one.
    pub temporal: Option<u8>,
    /// The VP9 spatial layer, when the payload descriptor carries layer indices (SVC).
    pub spatial: Option<Spatial>,
}

/// Where a VP9 packet sits among the spatial layers of its picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spatial {
    /// Its spatial layer (SID, 0 lowest).
    pub layer: u8,
    /// It begins its layer frame (B).
    pub begins: bool,
    /// It ends its layer frame (E).
    pub ends: bool,
    /// Its picture's ID, when the descriptor has one (I).
    pub picture: Option<u16>,
}

/// Reads keyframe, temporal and spatial layer from a payload of a codec.
pub fn frame_info(codec: Option<Codec>, payload: &[u8]) -> FrameInfo {
    match codec {
        Some(Codec::Vp8) => vp8(payload),
        Some(Codec::Vp9) => vp9(payload),
        Some(Codec::H264) => FrameInfo { keyframe: Some(h264_keyframe(payload)), ..FrameInfo::default() },
        _ => FrameInfo::default(),
    }
}

/// VP8 payload descriptor (RFC 7741 §4.2), then the payload header's P bit.
fn vp8(p: &[u8]) -> FrameInfo {
    let none = FrameInfo { keyframe: Some(false), ..FrameInfo::default() };
    let Some(&first) = p.first() else { return none };
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    let mut at = 1;
    let mut temporal = None;
    if first & 0x80 != 0 {
        let Some(&x) = p.get(at) else { return none };
        at += 1;
        if x & 0x80 != 0 {
            // PictureID: 7 or 15 bits (M flag).
            at += if p.get(at).is_some_and(|b| b & 0x80 != 0) { 2 } else { 1 };
        }
        if x & 0x40 != 0 {
            at += 1; // TL0PICIDX
        }
        if x & 0x30 != 0 {
            if x & 0x20 != 0 {
                temporal = p.get(at).map(|b| b >> 6);
            }
            at += 1;
        }
    }
    let keyframe = start && p.get(at).is_some_and(|h| h & 0x01 == 0);
    FrameInfo { keyframe: Some(keyframe), temporal, spatial: None }
}

/// VP9 payload descriptor (RFC 9628 §4.2): the start of a frame that is not inter-predicted is
/// a keyframe; the layer indices (L), after the picture ID (I, 7 or 15 bits), give the temporal
/// and spatial layers.
fn vp9(p: &[u8]) -> FrameInfo {
    let Some(&first) = p.first() else { return FrameInfo { keyframe: Some(false), ..FrameInfo::default() } };
    let keyframe = first & 0x40 == 0 && first & 0x08 != 0;
    let mut info = FrameInfo { keyframe: Some(keyframe), ..FrameInfo::default() };
    if first & 0x20 == 0 {
        return info;
    }
    let (picture, at) = match (first & 0x80 != 0, p.get(1), p.get(2)) {
        (false, ..) => (None, 1),
        (true, Some(&high), Some(&low)) if high & 0x80 != 0 => {
            (Some(u16::from_be_bytes([high & 0x7f, low])), 3)
        }
        (true, Some(&id), _) => (Some(u16::from(id)), 2),
        (true, None, _) => return info,
    };
    if let Some(&indices) = p.get(at) {
        info.temporal = Some(indices >> 5);
        let (begins, ends) = (first & 0x08 != 0, first & 0x04 != 0);
        info.spatial = Some(Spatial { layer: (indices >> 1) & 0x07, begins, ends, picture });
    }
    info
}

/// H.264 (RFC 6184): an IDR or SPS NAL unit, alone, in a STAP-A, or starting a FU-A.
fn h264_keyframe(p: &[u8]) -> bool {
    let key = |nal: u8| matches!(nal & 0x1f, 5 | 7);
    match p.first().map(|b| b & 0x1f) {
        Some(24) => {
            let mut at = 1;
            while at + 2 < p.len() {
                let size = usize::from(u16::from_be_bytes([p[at], p[at + 1]]));
                if key(p[at + 2]) {
                    return true;
                }
                at += 2 + size;
            }
            false
        }
        Some(28) => p.get(1).is_some_and(|fu| fu & 0x80 != 0 && key(*fu)),
        Some(_) => key(p[0]),
        None => false,
    }
}

/// What a rule does with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Not forwarded.
    Drop,
    /// Forwarded as it is.
    Forward,
    /// Forwarded with the marker bit set: it ends what the rule forwards of its picture (the
    /// spatial layers above it are dropped).
    ForwardEnding,
}

impl Verdict {
    /// Whether the packet is forwarded.
    pub fn passes(self) -> bool {
        self != Self::Drop
    }
}

/// One rule's layer choice.
#[derive(Debug, Clone, Default)]
pub struct LayerSelect {
    /// Wanted substream, or spatial layer of an SVC source (none: the highest there is).
    pub target: Option<u8>,
    /// Wanted top temporal layer (none: all).
    pub temporal_target: Option<u8>,
    current: Option<u8>,
    temporal: Option<u8>,
    /// When each substream (or spatial layer of an SVC source) was last seen.
    seen: [Option<Instant>; MAX_LAYERS],
    /// When the rule saw its first simulcast packet.
    first: Option<Instant>,
    /// The top spatial layer forwarded of an SVC source (none: every layer, as it comes, until
    /// the rule is given a target).
    spatial: Option<u8>,
    /// The SVC picture the last packet was of (its ID), and how many pictures started since
    /// the rule's first packet (the spatial layer is chosen from the second on, once a whole
    /// picture showed which layers come).
    picture: Option<u16>,
    pictures: u8,
    /// Packets of the current stream the layer filters dropped (sequence numbers to skip).
    pub skipped: u64,
    /// The newest sequence number of the current stream that reached the filters: a packet
    /// dropped that comes after a newer one (reordered, or sent again) was not counted in
    /// `skipped` when it should have been, and is not now.
    newest: Option<u64>,
    /// When the rule last asked for a keyframe of the substream it waits for.
    asked: Option<Instant>,
    /// It waits for one now: the caller asks the source (see [`LayerSelect::take_ask`]).
    ask: bool,
}

impl LayerSelect {
    /// Whether the source should be asked for a keyframe, once (the rule waits for one of the
    /// substream it wants).
    pub fn take_ask(&mut self) -> bool {
        std::mem::take(&mut self.ask)
    }

    /// A choice with these targets.
    pub fn new(target: Option<u8>, temporal_target: Option<u8>) -> Self {
        Self { target, temporal_target, ..Self::default() }
    }

    /// The substream to forward: the target if the source sends it (or the rule is new), else
    /// the nearest one below it that it sends, else the nearest above.
    fn wanted(&self, layers: u8, now: Instant) -> u8 {
        let top = layers.saturating_sub(1).min(MAX_LAYERS as u8 - 1);
        let target = self.target.unwrap_or(u8::MAX).min(top);
        if self.first.is_none_or(|t| now.saturating_duration_since(t) < WARM_UP) {
            return target;
        }
        nearest(target, top, |l| live(&self.seen, l, now))
    }

    /// Whether an SVC packet starts a picture: the first packet with a new picture ID, or
    /// without IDs, the start of the lowest layer.
    fn starts_picture(&mut self, at: Spatial) -> bool {
        let new = match at.picture {
            Some(id) => self.picture.replace(id) != Some(id),
            None => at.layer == 0,
        };
        let starts = new && at.begins;
        if starts {
            self.pictures = self.pictures.saturating_add(1);
        }
        starts
    }

    /// An SVC packet: whether it passes, and whether it ends what passes of its picture. The
    /// spatial layer changes at a picture's start: down at any, up at a keyframe's (asked
    /// for); to the target if the source sends it, else the nearest it sends.
    fn pass_spatial(
        &mut self,
        at: Spatial,
        keyframe: bool,
        seq: u64,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> Verdict {
        if let Some(seen) = self.seen.get_mut(usize::from(at.layer)) {
            *seen = Some(now);
        }
        let starts = self.starts_picture(at);
        if self.spatial.is_none() && (self.target.is_none() || self.pictures < 2) {
            return Verdict::Forward;
        }
        let target = self.target.unwrap_or(u8::MAX).min(MAX_LAYERS as u8 - 1);
        let want = nearest(target, MAX_LAYERS as u8 - 1, |l| live(&self.seen, l, now));
        if starts && self.spatial != Some(want) {
            let up = self.spatial.is_some_and(|cur| want > cur);
            if !up || keyframe {
                self.spatial = Some(want);
                self.asked = None;
                *changed = Some(LayerChange::Substream(want));
            } else {
                self.ask_for_keyframe(now);
            }
        }
        match self.spatial {
            Some(top) if at.layer > top => self.skip(seq),
            Some(top) if at.layer == top && at.ends => Verdict::ForwardEnding,
            _ => Verdict::Forward,
        }
    }

    /// Has the caller ask the source for a keyframe, unless the rule asked a moment ago
    /// ([`ASK_AGAIN`]).
    fn ask_for_keyframe(&mut self, now: Instant) {
        if self.asked.is_none_or(|t| now >= t + ASK_AGAIN) {
            self.asked = Some(now);
            self.ask = true;
        }
    }

    /// Drops a packet of the current stream: counted in `skipped` unless it comes after a
    /// newer one (its place was given away then).
    fn skip(&mut self, seq: u64) -> Verdict {
        if self.newest.is_none_or(|n| seq > n) {
            self.skipped += 1;
        }
        Verdict::Drop
    }

    /// What becomes of a packet. `layer` is its substream (0 lowest; `None` without simulcast)
    /// and `layers` how many the source offered, `seq` its sequence number; a change to report
    /// goes to `changed`.
    pub fn pass(
        &mut self,
        layer: Option<u8>,
        layers: u8,
        frame: FrameInfo,
        seq: u64,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> Verdict {
        let verdict = self.filter(layer, layers, frame, seq, now, changed);
        // The current stream's newest packet (another substream's numbers are not its).
        if layer == self.current && self.newest.is_none_or(|n| seq > n) {
            self.newest = Some(seq);
        }
        verdict
    }

    /// [`LayerSelect::pass`]'s decision.
    fn filter(
        &mut self,
        layer: Option<u8>,
        layers: u8,
        frame: FrameInfo,
        seq: u64,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> Verdict {
        let mut verdict = Verdict::Forward;
        if let (None, Some(at)) = (layer, frame.spatial) {
            verdict = self.pass_spatial(at, frame.keyframe == Some(true), seq, now, changed);
            if verdict == Verdict::Drop {
                return verdict;
            }
        }
        if let Some(layer) = layer {
            if let Some(seen) = self.seen.get_mut(usize::from(layer)) {
                *seen = Some(now);
            }
            self.first.get_or_insert(now);
            let want = self.wanted(layers, now);
            // Unknown codecs switch at once; known ones on a keyframe of the new stream.
            let key = frame.keyframe.unwrap_or(true);
            let switch = match self.current {
                None => key && layer <= want,
                Some(cur) => cur != want && layer == want && key,
            };
            if switch {
                self.current = Some(layer);
                self.skipped = 0;
                self.newest = None;
                self.asked = None;
                *changed = Some(LayerChange::Substream(layer));
            } else if layer == want && self.current != Some(want) {
                // The wanted substream comes, but not from a keyframe: nobody else may ask for
                // one (an RTP output has no receiver to), so the rule does.
                self.ask_for_keyframe(now);
            }
            if self.current != Some(layer) {
                return Verdict::Drop;
            }
        }
        if let Some(tid) = frame.temporal {
            let top = self.temporal_target.unwrap_or(u8::MAX);
            // A layer change takes effect on a base-layer packet (a switching point), and is
            // told on one that tells no other change.
            if tid == 0
                && self.temporal != Some(top.min(2))
                && self.temporal_target.is_some()
                && changed.is_none()
            {
                self.temporal = Some(top.min(2));
                *changed = Some(LayerChange::Temporal(top.min(2)));
            }
            if tid > top {
                return self.skip(seq);
            }
        }
        verdict
    }
}

/// Whether a layer was seen within [`LAYER_IDLE`] of `now`.
fn live(seen: &[Option<Instant>; MAX_LAYERS], layer: u8, now: Instant) -> bool {
    seen.get(usize::from(layer))
        .copied()
        .flatten()
        .is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
}

/// The layer to take for `target`: itself if `live`, else the nearest live one below it, else
/// the nearest above (up to `top`); the target when none is live.
fn nearest(target: u8, top: u8, live: impl Fn(u8) -> bool) -> u8 {
    if live(target) {
        return target;
    }
    (0..target).rev().chain(target + 1..=top).find(|l| live(*l)).unwrap_or(target)
}

#[cfg(test)]
mod tests {
    use super::*;

    impl LayerSelect {
        /// `pass` with every layer seen just now.
        fn pass_at(
            &mut self,
            layer: Option<u8>,
            layers: u8,
            frame: FrameInfo,
            c: &mut Option<LayerChange>,
        ) -> bool {
            let now = Instant::now();
            for l in 0..layers.min(MAX_LAYERS as u8) {
                self.seen[usize::from(l)] = Some(now);
            }
            self.at(layer, layers, frame, now, c).passes()
        }

        /// `pass` of the packet after the newest.
        fn at(
            &mut self,
            layer: Option<u8>,
            layers: u8,
            frame: FrameInfo,
            now: Instant,
            c: &mut Option<LayerChange>,
        ) -> Verdict {
            let seq = self.newest.map_or(0, |n| n + 1);
            self.pass(layer, layers, frame, seq, now, c)
        }
    }

    #[test]
    fn a_missing_substream_falls_back_to_the_nearest() {
        let mut s = LayerSelect::new(Some(0), None);
        let mut changed = None;
        let key = FrameInfo { keyframe: Some(true), ..FrameInfo::default() };
        let t0 = Instant::now();
        // The sender sends only substreams 1 and 2 (its lowest is off). At first the rule
        // waits for the one asked for...
        assert!(!s.at(Some(2), 3, key, t0, &mut changed).passes());
        assert!(!s.at(Some(1), 3, key, t0, &mut changed).passes());
        // ...then takes the nearest there is, from a keyframe, which it asks for (again after
        // a while) while only other frames come.
        let t1 = t0 + WARM_UP + Duration::from_millis(100);
        let delta = FrameInfo { keyframe: Some(false), ..FrameInfo::default() };
        assert!(!s.at(Some(1), 3, delta, t1, &mut changed).passes());
        assert!(s.take_ask() && !s.take_ask());
        assert!(!s.at(Some(1), 3, delta, t1 + Duration::from_millis(10), &mut changed).passes());
        assert!(!s.take_ask(), "not again at once");
        assert!(!s.at(Some(1), 3, delta, t1 + ASK_AGAIN, &mut changed).passes());
        assert!(s.take_ask(), "again after a while");
        assert!(!s.at(Some(2), 3, key, t1, &mut changed).passes());
        assert!(s.at(Some(1), 3, key, t1, &mut changed).passes());
        assert_eq!(changed.take(), Some(LayerChange::Substream(1)));
        // The highest asked for but gone quiet: the nearest below it goes on.
        s.target = Some(2);
        let later = t1 + LAYER_IDLE * 2;
        assert!(s.at(Some(1), 3, key, later, &mut changed).passes());
        assert_eq!(changed, None);
    }

    fn vp8_packet(key: bool, tid: Option<u8>) -> Vec<u8> {
        match tid {
            // X, S; then T; then TID in the top bits; then the payload header.
            Some(t) => vec![0x90, 0x20, t << 6, u8::from(!key)],
            None => vec![0x10, u8::from(!key)],
        }
    }

    #[test]
    fn vp8_descriptors_are_read() {
        assert_eq!(vp8(&vp8_packet(true, None)), FrameInfo { keyframe: Some(true), ..FrameInfo::default() });
        assert_eq!(
            vp8(&vp8_packet(false, Some(2))),
            FrameInfo { keyframe: Some(false), temporal: Some(2), spatial: None }
        );
        // PictureID (15 bits) and TL0PICIDX before the T byte.
        let p = [0x90, 0xe0, 0x80, 0x01, 0x05, 0x40, 0x00];
        assert_eq!(vp8(&p), FrameInfo { keyframe: Some(true), temporal: Some(1), spatial: None });
        // Not the start of a partition: never a keyframe. Truncated: no panic.
        assert_eq!(vp8(&[0x00, 0x00]).keyframe, Some(false));
        for n in 0..p.len() {
            let _ = vp8(&p[..n]);
        }
    }

    #[test]
    fn h264_and_vp9_keyframes() {
        assert!(h264_keyframe(&[0x65, 0]));
        assert!(!h264_keyframe(&[0x41, 0]));
        assert!(h264_keyframe(&[0x78, 0, 2, 0x67, 0, 0, 1, 0x68]));
        assert!(h264_keyframe(&[0x7c, 0x85, 0]));
        assert!(!h264_keyframe(&[0x7c, 0x05, 0]));
        assert!(!h264_keyframe(&[0x78, 0xff]));
        assert!(vp9(&[0x08]).keyframe == Some(true) && vp9(&[0x48]).keyframe == Some(false));
    }

    #[test]
    fn substreams_switch_on_keyframes() {
        let mut s = LayerSelect::new(Some(0), None);
        let mut changed = None;
        let delta = FrameInfo { keyframe: Some(false), ..FrameInfo::default() };
        let key = FrameInfo { keyframe: Some(true), ..FrameInfo::default() };
        // Nothing passes before a keyframe of a layer at or below the target.
        assert!(!s.pass_at(Some(0), 3, delta, &mut changed));
        assert!(!s.pass_at(Some(2), 3, key, &mut changed));
        assert!(s.pass_at(Some(0), 3, key, &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Substream(0)));
        assert!(!s.pass_at(Some(1), 3, key, &mut changed) && s.pass_at(Some(0), 3, delta, &mut changed));
        // Up to the highest: the low layer goes on until the high one has a keyframe.
        s.target = Some(2);
        assert!(!s.pass_at(Some(2), 3, delta, &mut changed));
        assert!(s.pass_at(Some(0), 3, delta, &mut changed));
        assert!(s.pass_at(Some(2), 3, key, &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Substream(2)));
        assert!(!s.pass_at(Some(0), 3, key, &mut changed) && changed.is_none());
    }

    #[test]
    fn temporal_layers_are_filtered_and_counted() {
        let mut s = LayerSelect::new(None, Some(0));
        let mut changed = None;
        let f = |t| FrameInfo { keyframe: Some(false), temporal: Some(t), spatial: None };
        assert!(s.pass_at(None, 0, f(0), &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Temporal(0)));
        assert!(!s.pass_at(None, 0, f(1), &mut changed) && !s.pass_at(None, 0, f(2), &mut changed));
        assert_eq!(s.skipped, 2);
        s.temporal_target = Some(2);
        assert!(s.pass_at(None, 0, f(2), &mut changed), "a higher target passes at once");
        assert!(s.pass_at(None, 0, f(0), &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Temporal(2)));
    }

    /// A VP9 payload descriptor with layer indices (flexible mode, 15-bit picture ID): the start
    /// (B) or end (E) of a layer frame, keyframe (P clear) or not, its TID and SID.
    fn vp9_packet(picture: u16, begins: bool, ends: bool, key: bool, tid: u8, sid: u8) -> Vec<u8> {
        let first = 0x80 | 0x20 | 0x10 | u8::from(!key) << 6 | u8::from(begins) << 3 | u8::from(ends) << 2;
        let [high, low] = picture.to_be_bytes();
        vec![first, 0x80 | high, low, tid << 5 | sid << 1]
    }

    /// A VP9 SVC sender: pictures of two packets a spatial layer, lowest layer first, with
    /// picture IDs and sequence numbers in order.
    #[derive(Default)]
    struct Svc {
        picture: u16,
        seq: u64,
    }

    impl Svc {
        /// One picture of `layers`: what the rule does with each packet (the changes it tells
        /// go to `told`).
        fn picture(
            &mut self,
            s: &mut LayerSelect,
            layers: std::ops::Range<u8>,
            (key, tid): (bool, u8),
            now: Instant,
            told: &mut Vec<LayerChange>,
        ) -> Vec<Verdict> {
            self.picture += 1;
            let mut out = Vec::new();
            for sid in layers {
                for (begins, ends) in [(true, false), (false, true)] {
                    self.seq += 1;
                    let f = vp9(&vp9_packet(self.picture, begins, ends, key, tid, sid));
                    let mut changed = None;
                    out.push(s.pass(None, 0, f, self.seq, now, &mut changed));
                    told.extend(changed);
                }
            }
            out
        }
    }

    #[test]
    fn vp9_descriptors_are_read() {
        let f = vp9(&vp9_packet(300, true, false, true, 2, 1));
        assert_eq!(f.keyframe, Some(true));
        assert_eq!(f.temporal, Some(2));
        assert_eq!(f.spatial, Some(Spatial { layer: 1, begins: true, ends: false, picture: Some(300) }));
        // A 7-bit picture ID; none; no layer indices: no layers.
        let spatial = |p: &[u8]| vp9(p).spatial;
        assert_eq!(
            spatial(&[0xa8, 0x05, 0x22]),
            Some(Spatial { layer: 1, begins: true, ends: false, picture: Some(5) })
        );
        assert_eq!(
            spatial(&[0x24, 0x04]),
            Some(Spatial { layer: 2, begins: false, ends: true, picture: None })
        );
        assert_eq!(spatial(&[0x88, 0x05]), None);
        let p = vp9_packet(7, false, true, false, 1, 2);
        for n in 0..p.len() {
            let _ = vp9(&p[..n]);
        }
    }

    #[test]
    fn svc_spatial_layers_switch_at_pictures_and_mark_their_end() {
        use Verdict::{Drop as D, Forward as F, ForwardEnding as E};
        let t0 = Instant::now();
        let (mut s, mut c, mut svc) = (LayerSelect::new(None, None), Vec::new(), Svc::default());
        // No target: every layer, as sent.
        assert_eq!(svc.picture(&mut s, 0..3, (true, 0), t0, &mut c), [F; 6]);
        assert!(c.is_empty());
        // Down to layer 1 at the next picture, the end of layer 1 marked; counted for the
        // sequence numbers.
        s.target = Some(1);
        assert_eq!(svc.picture(&mut s, 0..3, (false, 0), t0, &mut c), [F, F, F, E, D, D]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Substream(1)]);
        assert_eq!(s.skipped, 2);
        // Down to 0 needs no keyframe; up to 2 waits for one, and asks for it once a while.
        s.target = Some(0);
        assert_eq!(svc.picture(&mut s, 0..3, (false, 0), t0, &mut c), [F, E, D, D, D, D]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Substream(0)]);
        s.target = Some(2);
        assert_eq!(svc.picture(&mut s, 0..3, (false, 0), t0, &mut c), [F, E, D, D, D, D]);
        assert!(s.take_ask() && c.is_empty());
        assert_eq!(svc.picture(&mut s, 0..3, (false, 0), t0, &mut c), [F, E, D, D, D, D]);
        assert!(!s.take_ask(), "not again at once");
        assert_eq!(svc.picture(&mut s, 0..3, (true, 0), t0, &mut c), [F, F, F, F, F, E]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Substream(2)]);
        // A layer the source stopped sending: the highest it sends.
        assert_eq!(svc.picture(&mut s, 0..2, (false, 0), t0 + LAYER_IDLE / 2, &mut c), [F; 4]);
        assert!(c.is_empty(), "layer 2 is not idle yet");
        let later = t0 + LAYER_IDLE + LAYER_IDLE / 4;
        assert_eq!(svc.picture(&mut s, 0..2, (false, 0), later, &mut c), [F, F, F, E]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Substream(1)]);
        // VP9's temporal layers go as VP8's.
        s.temporal_target = Some(0);
        assert_eq!(svc.picture(&mut s, 0..2, (false, 0), later, &mut c), [F, F, F, E]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Temporal(0)]);
        assert_eq!(svc.picture(&mut s, 0..2, (false, 1), later, &mut c), [D; 4]);
    }

    #[test]
    fn without_its_lowest_spatial_layer_the_nearest_above_is_taken() {
        use Verdict::{Drop as D, Forward as F, ForwardEnding as E};
        let t0 = Instant::now();
        let (mut s, mut c, mut svc) = (LayerSelect::new(Some(0), None), Vec::new(), Svc::default());
        // The first picture shows what comes; the next starts at layer 1.
        assert_eq!(svc.picture(&mut s, 1..3, (true, 0), t0, &mut c), [F; 4]);
        assert_eq!(svc.picture(&mut s, 1..3, (false, 0), t0, &mut c), [F, E, D, D]);
        assert_eq!(std::mem::take(&mut c), [LayerChange::Substream(1)]);
    }

    #[test]
    fn a_late_packet_dropped_does_not_shift_the_numbers() {
        let t0 = Instant::now();
        let (mut s, mut c, mut svc) = (LayerSelect::new(Some(0), None), Vec::new(), Svc::default());
        svc.picture(&mut s, 0..2, (true, 0), t0, &mut c);
        svc.picture(&mut s, 0..2, (false, 0), t0, &mut c);
        assert_eq!(s.skipped, 2);
        // A layer-1 packet of that picture again (a retransmission): dropped, not counted.
        let f = vp9(&vp9_packet(svc.picture, false, true, false, 0, 1));
        assert_eq!(s.pass(None, 0, f, svc.seq, t0, &mut None), Verdict::Drop);
        assert_eq!(s.skipped, 2);
    }

    #[test]
    fn a_temporal_change_told_with_a_spatial_one_is_told_next() {
        let t0 = Instant::now();
        let (mut s, mut c, mut svc) = (LayerSelect::new(None, None), Vec::new(), Svc::default());
        svc.picture(&mut s, 0..1, (true, 0), t0, &mut c);
        (s.target, s.temporal_target) = (Some(0), Some(1));
        let verdicts = svc.picture(&mut s, 0..1, (false, 0), t0, &mut c);
        assert_eq!(verdicts, [Verdict::Forward, Verdict::ForwardEnding]);
        // The first packet told the spatial change, the second the temporal one.
        assert_eq!(c, [LayerChange::Substream(0), LayerChange::Temporal(1)]);
    }
}

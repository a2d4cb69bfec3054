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
/// Most simulcast substreams tracked.
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
}

impl Spatial {
    /// It begins a picture: the first packet of its lowest layer.
    fn starts_picture(self) -> bool {
        self.begins && self.layer == 0
    }
}

/// Reads keyframe and temporal layer from a payload of a codec.
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
    let mut at = 1;
    if first & 0x80 != 0 {
        at += if p.get(1).is_some_and(|b| b & 0x80 != 0) { 2 } else { 1 };
    }
    if let Some(&indices) = p.get(at) {
        info.temporal = Some(indices >> 5);
        info.spatial = Some(Spatial {
            layer: (indices >> 1) & 0x07,
            begins: first & 0x08 != 0,
            ends: first & 0x04 != 0,
        });
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
    /// When each substream was last seen.
    seen: [Option<Instant>; MAX_LAYERS],
    /// When the rule saw its first simulcast or SVC packet.
    first: Option<Instant>,
    /// The top spatial layer forwarded of an SVC source (none: every layer, as it comes, until
    /// the rule is given a target).
    spatial: Option<u8>,
    /// When each spatial layer was last seen.
    seen_spatial: [Option<Instant>; MAX_LAYERS],
    /// Packets of the current stream the temporal filter dropped (sequence numbers to skip).
    pub skipped: u64,
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

    /// The substream to forward: the target if the source sends it, else the nearest one below
    /// it that it sends, else the nearest above.
    fn wanted(&self, layers: u8, now: Instant) -> u8 {
        let top = layers.saturating_sub(1).min(MAX_LAYERS as u8 - 1);
        let target = self.target.unwrap_or(u8::MAX).min(top);
        let live =
            |l: u8| self.seen[usize::from(l)].is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE);
        let warming = self.first.is_none_or(|t| now.saturating_duration_since(t) < WARM_UP);
        if live(target) || warming {
            return target;
        }
        (0..target).rev().chain(target + 1..=top).find(|l| live(*l)).unwrap_or(target)
    }

    /// The spatial layer to forward: the target if the source sends it (or the rule is new),
    /// else the highest below it that it sends.
    fn wanted_spatial(&self, now: Instant) -> u8 {
        let target = self.target.unwrap_or(u8::MAX).min(MAX_LAYERS as u8 - 1);
        if self.first.is_none_or(|t| now.saturating_duration_since(t) < WARM_UP) {
            return target;
        }
        let live = |l: u8| {
            self.seen_spatial[usize::from(l)].is_some_and(|t| now.saturating_duration_since(t) < LAYER_IDLE)
        };
        (0..=target).rev().find(|l| live(*l)).unwrap_or(0)
    }

    /// An SVC packet: whether it passes, and whether it ends what passes of its picture. The
    /// layer changes at a picture's start: down at any, up at a keyframe's (asked for).
    fn pass_spatial(
        &mut self,
        at: Spatial,
        keyframe: bool,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> Verdict {
        if let Some(seen) = self.seen_spatial.get_mut(usize::from(at.layer)) {
            *seen = Some(now);
        }
        self.first.get_or_insert(now);
        if self.spatial.is_none() && self.target.is_none() {
            return Verdict::Forward;
        }
        let want = self.wanted_spatial(now);
        if at.starts_picture() && self.spatial != Some(want) {
            let up = self.spatial.is_some_and(|cur| want > cur);
            if !up || keyframe {
                self.spatial = Some(want);
                self.asked = None;
                *changed = Some(LayerChange::Substream(want));
            } else if self.asked.is_none_or(|t| now >= t + ASK_AGAIN) {
                self.asked = Some(now);
                self.ask = true;
            }
        }
        match self.spatial {
            Some(top) if at.layer > top => {
                self.skipped += 1;
                Verdict::Drop
            }
            Some(top) if at.layer == top && at.ends => Verdict::ForwardEnding,
            _ => Verdict::Forward,
        }
    }

    /// What becomes of a packet. `layer` is its substream (0 lowest; `None` without simulcast)
    /// and `layers` how many the source offered; a change to report goes to `changed`.
    pub fn pass(
        &mut self,
        layer: Option<u8>,
        layers: u8,
        frame: FrameInfo,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> Verdict {
        let mut verdict = Verdict::Forward;
        if let (None, Some(at)) = (layer, frame.spatial) {
            verdict = self.pass_spatial(at, frame.keyframe == Some(true), now, changed);
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
                self.asked = None;
                *changed = Some(LayerChange::Substream(layer));
            } else if layer == want
                && self.current != Some(want)
                && self.asked.is_none_or(|t| now >= t + ASK_AGAIN)
            {
                // The wanted substream comes, but not from a keyframe: nobody else may ask for
                // one (an RTP output has no receiver to), so the rule does.
                self.asked = Some(now);
                self.ask = true;
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
                self.skipped += 1;
                return Verdict::Drop;
            }
        }
        verdict
    }
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
            self.pass(layer, layers, frame, now, c).passes()
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
        assert!(!s.pass(Some(2), 3, key, t0, &mut changed).passes());
        assert!(!s.pass(Some(1), 3, key, t0, &mut changed).passes());
        // ...then takes the nearest there is, from a keyframe, which it asks for (again after
        // a while) while only other frames come.
        let t1 = t0 + WARM_UP + Duration::from_millis(100);
        let delta = FrameInfo { keyframe: Some(false), ..FrameInfo::default() };
        assert!(!s.pass(Some(1), 3, delta, t1, &mut changed).passes());
        assert!(s.take_ask() && !s.take_ask());
        assert!(!s.pass(Some(1), 3, delta, t1 + Duration::from_millis(10), &mut changed).passes());
        assert!(!s.take_ask(), "not again at once");
        assert!(!s.pass(Some(1), 3, delta, t1 + ASK_AGAIN, &mut changed).passes());
        assert!(s.take_ask(), "again after a while");
        assert!(!s.pass(Some(2), 3, key, t1, &mut changed).passes());
        assert!(s.pass(Some(1), 3, key, t1, &mut changed).passes());
        assert_eq!(changed.take(), Some(LayerChange::Substream(1)));
        // The highest asked for but gone quiet: the nearest below it goes on.
        s.target = Some(2);
        let later = t1 + LAYER_IDLE * 2;
        assert!(s.pass(Some(1), 3, key, later, &mut changed).passes());
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
    fn vp9_packet(begins: bool, ends: bool, key: bool, tid: u8, sid: u8) -> Vec<u8> {
        let first = 0x80 | 0x20 | 0x10 | u8::from(!key) << 6 | u8::from(begins) << 3 | u8::from(ends) << 2;
        vec![first, 0x80, 0x01, tid << 5 | sid << 1]
    }

    /// One picture of three spatial layers, two packets each: what passes and what is marked.
    fn picture(
        s: &mut LayerSelect,
        key: bool,
        tid: u8,
        now: Instant,
        c: &mut Option<LayerChange>,
    ) -> Vec<Verdict> {
        let mut out = Vec::new();
        for sid in 0..3 {
            for (begins, ends) in [(true, false), (false, true)] {
                let f = vp9(&vp9_packet(begins, ends, key, tid, sid));
                out.push(s.pass(None, 0, f, now, c));
            }
        }
        out
    }

    #[test]
    fn vp9_descriptors_are_read() {
        let f = vp9(&vp9_packet(true, false, true, 2, 1));
        assert_eq!(f.keyframe, Some(true));
        assert_eq!(f.temporal, Some(2));
        assert_eq!(f.spatial, Some(Spatial { layer: 1, begins: true, ends: false }));
        assert!(!f.spatial.is_some_and(Spatial::starts_picture));
        // A 7-bit picture ID; no layer indices: no layers.
        assert_eq!(vp9(&[0xa8, 0x05, 0x22]).spatial, Some(Spatial { layer: 1, begins: true, ends: false }));
        assert_eq!(vp9(&[0x88, 0x05]).spatial, None);
        let p = vp9_packet(false, true, false, 1, 2);
        for n in 0..p.len() {
            let _ = vp9(&p[..n]);
        }
    }

    #[test]
    fn svc_spatial_layers_switch_at_pictures_and_mark_their_end() {
        use Verdict::{Drop, Forward as F, ForwardEnding as E};
        let t0 = Instant::now();
        let mut s = LayerSelect::new(None, None);
        let mut c = None;
        // No target: every layer, as sent.
        assert_eq!(picture(&mut s, true, 0, t0, &mut c), [F; 6]);
        assert_eq!(c, None);
        // Down to layer 1 at the next picture, the end of layer 1 marked; counted for the
        // sequence numbers.
        s.target = Some(1);
        assert_eq!(picture(&mut s, false, 0, t0, &mut c), [F, F, F, E, Drop, Drop]);
        assert_eq!(c.take(), Some(LayerChange::Substream(1)));
        assert_eq!(s.skipped, 2);
        // Down to 0 needs no keyframe; up to 2 waits for one, and asks for it once a while.
        s.target = Some(0);
        assert_eq!(picture(&mut s, false, 0, t0, &mut c), [F, E, Drop, Drop, Drop, Drop]);
        assert_eq!(c.take(), Some(LayerChange::Substream(0)));
        s.target = Some(2);
        assert_eq!(picture(&mut s, false, 0, t0, &mut c), [F, E, Drop, Drop, Drop, Drop]);
        assert!(s.take_ask() && c.is_none());
        assert_eq!(picture(&mut s, false, 0, t0, &mut c), [F, E, Drop, Drop, Drop, Drop]);
        assert!(!s.take_ask(), "not again at once");
        assert_eq!(picture(&mut s, true, 0, t0, &mut c), [F, F, F, F, F, E]);
        assert_eq!(c.take(), Some(LayerChange::Substream(2)));
        // A layer the source stopped sending: the highest it sends, once the rule warmed up.
        let two_layers = |s: &mut LayerSelect, key, now, c: &mut Option<LayerChange>| {
            (0..2)
                .map(|sid| s.pass(None, 0, vp9(&vp9_packet(true, true, key, 0, sid)), now, c))
                .collect::<Vec<_>>()
        };
        assert_eq!(two_layers(&mut s, false, t0 + LAYER_IDLE / 2, &mut c), [F, F]);
        assert_eq!(c, None, "layer 2 is not idle yet");
        let later = t0 + LAYER_IDLE + LAYER_IDLE / 4;
        assert_eq!(two_layers(&mut s, false, later, &mut c), [F, E]);
        assert_eq!(c.take(), Some(LayerChange::Substream(1)));
        // VP9's temporal layers go as VP8's.
        s.temporal_target = Some(0);
        assert_eq!(two_layers(&mut s, false, later, &mut c), [F, E]);
        assert_eq!(c.take(), Some(LayerChange::Temporal(0)));
        let f = vp9(&vp9_packet(true, false, false, 1, 0));
        assert_eq!(s.pass(None, 0, f, later, &mut c), Drop);
    }

    #[test]
    fn a_temporal_change_told_with_a_spatial_one_is_told_next() {
        let t0 = Instant::now();
        let mut s = LayerSelect::new(Some(0), Some(1));
        let mut c = None;
        let f = vp9(&vp9_packet(true, true, true, 0, 0));
        assert_eq!(s.pass(None, 0, f, t0, &mut c), Verdict::ForwardEnding);
        assert_eq!(c.take(), Some(LayerChange::Substream(0)));
        assert_eq!(s.pass(None, 0, f, t0, &mut c), Verdict::ForwardEnding);
        assert_eq!(c.take(), Some(LayerChange::Temporal(1)));
    }
}

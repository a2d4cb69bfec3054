//! Simulcast and temporal layers for one forwarding rule, decided on the source's thread: which
//! of the source's simulcast streams passes (switching only on a keyframe of the wanted one), and
//! which VP8 temporal layers. Packets dropped by the temporal filter are counted so that the
//! destination's sequence numbers stay gap-free.

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
    /// The VP8 temporal layer, when the payload descriptor carries one.
    pub temporal: Option<u8>,
}

/// Reads keyframe and temporal layer from a payload of a codec.
pub fn frame_info(codec: Option<Codec>, payload: &[u8]) -> FrameInfo {
    match codec {
        Some(Codec::Vp8) => vp8(payload),
        Some(Codec::Vp9) => FrameInfo { keyframe: Some(vp9_keyframe(payload)), temporal: None },
        Some(Codec::H264) => FrameInfo { keyframe: Some(h264_keyframe(payload)), temporal: None },
        _ => FrameInfo::default(),
    }
}

/// VP8 payload descriptor (RFC 7741 §4.2), then the payload header's P bit.
fn vp8(p: &[u8]) -> FrameInfo {
    let Some(&first) = p.first() else { return FrameInfo { keyframe: Some(false), temporal: None } };
    let start = first & 0x10 != 0 && first & 0x07 == 0;
    let mut at = 1;
    let mut temporal = None;
    if first & 0x80 != 0 {
        let Some(&x) = p.get(at) else { return FrameInfo { keyframe: Some(false), temporal: None } };
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
    FrameInfo { keyframe: Some(keyframe), temporal }
}

/// VP9 payload descriptor (RFC 9628 §4.2): start of a frame that is not inter-predicted.
fn vp9_keyframe(p: &[u8]) -> bool {
    p.first().is_some_and(|b| b & 0x40 == 0 && b & 0x08 != 0)
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

/// One rule's layer choice.
#[derive(Debug, Clone, Default)]
pub struct LayerSelect {
    /// Wanted substream (none: the highest there is).
    pub target: Option<u8>,
    /// Wanted top temporal layer (none: all).
    pub temporal_target: Option<u8>,
    current: Option<u8>,
    temporal: Option<u8>,
    /// When each substream was last seen.
    seen: [Option<Instant>; MAX_LAYERS],
    /// When the rule saw its first simulcast packet.
    first: Option<Instant>,
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

    /// Whether a packet passes. `layer` is its substream (0 lowest; `None` without simulcast)
    /// and `layers` how many the source offered; a change to report goes to `changed`.
    pub fn pass(
        &mut self,
        layer: Option<u8>,
        layers: u8,
        frame: FrameInfo,
        now: Instant,
        changed: &mut Option<LayerChange>,
    ) -> bool {
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
                return false;
            }
        }
        if let Some(tid) = frame.temporal {
            let top = self.temporal_target.unwrap_or(u8::MAX);
            // A layer change takes effect on a base-layer packet (a switching point).
            if tid == 0 && self.temporal != Some(top.min(2)) && self.temporal_target.is_some() {
                self.temporal = Some(top.min(2));
                changed.get_or_insert(LayerChange::Temporal(top.min(2)));
            }
            if tid > top {
                self.skipped += 1;
                return false;
            }
        }
        true
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
            self.pass(layer, layers, frame, now, c)
        }
    }

    #[test]
    fn a_missing_substream_falls_back_to_the_nearest() {
        let mut s = LayerSelect::new(Some(0), None);
        let mut changed = None;
        let key = FrameInfo { keyframe: Some(true), temporal: None };
        let t0 = Instant::now();
        // The sender sends only substreams 1 and 2 (its lowest is off). At first the rule
        // waits for the one asked for...
        assert!(!s.pass(Some(2), 3, key, t0, &mut changed));
        assert!(!s.pass(Some(1), 3, key, t0, &mut changed));
        // ...then takes the nearest there is, from a keyframe, which it asks for (again after
        // a while) while only other frames come.
        let t1 = t0 + WARM_UP + Duration::from_millis(100);
        let delta = FrameInfo { keyframe: Some(false), temporal: None };
        assert!(!s.pass(Some(1), 3, delta, t1, &mut changed));
        assert!(s.take_ask() && !s.take_ask());
        assert!(!s.pass(Some(1), 3, delta, t1 + Duration::from_millis(10), &mut changed));
        assert!(!s.take_ask(), "not again at once");
        assert!(!s.pass(Some(1), 3, delta, t1 + ASK_AGAIN, &mut changed));
        assert!(s.take_ask(), "again after a while");
        assert!(!s.pass(Some(2), 3, key, t1, &mut changed));
        assert!(s.pass(Some(1), 3, key, t1, &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Substream(1)));
        // The highest asked for but gone quiet: the nearest below it goes on.
        s.target = Some(2);
        let later = t1 + LAYER_IDLE * 2;
        assert!(s.pass(Some(1), 3, key, later, &mut changed));
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
        assert_eq!(vp8(&vp8_packet(true, None)), FrameInfo { keyframe: Some(true), temporal: None });
        assert_eq!(vp8(&vp8_packet(false, Some(2))), FrameInfo { keyframe: Some(false), temporal: Some(2) });
        // PictureID (15 bits) and TL0PICIDX before the T byte.
        let p = [0x90, 0xe0, 0x80, 0x01, 0x05, 0x40, 0x00];
        assert_eq!(vp8(&p), FrameInfo { keyframe: Some(true), temporal: Some(1) });
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
        assert!(vp9_keyframe(&[0x08]) && !vp9_keyframe(&[0x48]));
    }

    #[test]
    fn substreams_switch_on_keyframes() {
        let mut s = LayerSelect::new(Some(0), None);
        let mut changed = None;
        let delta = FrameInfo { keyframe: Some(false), temporal: None };
        let key = FrameInfo { keyframe: Some(true), temporal: None };
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
        let f = |t| FrameInfo { keyframe: Some(false), temporal: Some(t) };
        assert!(s.pass_at(None, 0, f(0), &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Temporal(0)));
        assert!(!s.pass_at(None, 0, f(1), &mut changed) && !s.pass_at(None, 0, f(2), &mut changed));
        assert_eq!(s.skipped, 2);
        s.temporal_target = Some(2);
        assert!(s.pass_at(None, 0, f(2), &mut changed), "a higher target passes at once");
        assert!(s.pass_at(None, 0, f(0), &mut changed));
        assert_eq!(changed.take(), Some(LayerChange::Temporal(2)));
    }
}

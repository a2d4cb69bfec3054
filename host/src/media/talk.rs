//! Talking detection from the RFC 6464 audio-level extension, as Janus's VideoRoom and
//! AudioBridge do it: the levels of every `packets` audio packets of a stream are averaged; a
//! stream whose average is louder than `threshold` (a smaller dBov magnitude: 0 is the loudest,
//! 127 silence) talks, one quieter does not. Only the changes are reported.

use str0m::media::Mid;

/// One stream's talking: its levels averaged over windows of `packets` packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    packets: u32,
    threshold: u8,
    count: u32,
    sum: u64,
    talking: bool,
}

impl Level {
    /// Averages over `packets` packets (at least one), talking below `threshold`.
    pub fn new(packets: u32, threshold: u8) -> Self {
        Self { packets: packets.max(1), threshold, count: 0, sum: 0, talking: false }
    }

    /// Whether it was made with these settings.
    pub fn is(&self, packets: u32, threshold: u8) -> bool {
        (self.packets, self.threshold) == (packets.max(1), threshold)
    }

    /// One packet's level (a dBov magnitude, 0 loudest .. 127 silence). At the end of a
    /// window where the stream starts or stops talking: whether it talks now, and the average.
    pub fn add(&mut self, level: u8) -> Option<(bool, u8)> {
        self.count += 1;
        self.sum += u64::from(level.min(127));
        if self.count < self.packets {
            return None;
        }
        let average = (self.sum / u64::from(self.count)) as u8;
        (self.count, self.sum) = (0, 0);
        let now = average < self.threshold;
        (now != self.talking).then(|| {
            self.talking = now;
            (now, average)
        })
    }
}

/// The level of 16-bit samples as RFC 6464 gives it: a dBov magnitude, 0 for a full-scale
/// square wave, 127 for silence.
pub fn level_of(pcm: &[i16]) -> u8 {
    if pcm.is_empty() {
        return 127;
    }
    let energy: f64 = pcm.iter().map(|&s| f64::from(s) * f64::from(s)).sum::<f64>() / pcm.len() as f64;
    if energy < 1.0 {
        return 127;
    }
    let dbov = -10.0 * (energy / (32_768.0 * 32_768.0)).log10();
    dbov.round().clamp(0.0, 127.0) as u8
}

/// A peer's watch on its audio streams' levels.
#[derive(Debug, Clone)]
pub struct TalkWatch {
    packets: u32,
    threshold: u8,
    /// Per audio stream, its talking.
    streams: Vec<(Mid, Level)>,
}

impl TalkWatch {
    /// Averages over `packets` packets (at least one), talking below `threshold`.
    pub fn new(packets: u32, threshold: u8) -> Self {
        Self { packets, threshold, streams: Vec::new() }
    }

    /// One packet's level as str0m reads it (0 loudest .. -127 silence). At the end of a
    /// window where the stream starts or stops talking: whether it talks now, and the average.
    pub fn add(&mut self, mid: Mid, level: i8) -> Option<(bool, u8)> {
        let i = match self.streams.iter().position(|(m, _)| *m == mid) {
            Some(i) => i,
            None => {
                self.streams.push((mid, Level::new(self.packets, self.threshold)));
                self.streams.len() - 1
            }
        };
        self.streams[i].1.add(level.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_window_louder_than_the_threshold_talks_and_a_quieter_one_stops() {
        let mut w = TalkWatch::new(4, 25);
        let mid = Mid::from("0");
        let mut feed = |level: i8| (0..4).filter_map(|_| w.add(mid, level)).collect::<Vec<_>>();
        assert_eq!(feed(-127), [], "silence: no change");
        assert_eq!(feed(-10), [(true, 10)], "loud: talking");
        assert_eq!(feed(-20), [], "still talking: no event");
        assert_eq!(feed(-30), [(false, 30)], "quieter than 25: stopped");
        let other = Mid::from("1");
        assert_eq!((0..3).filter_map(|_| w.add(other, -5)).count(), 0, "streams are counted apart");
        assert_eq!(w.add(other, -5), Some((true, 5)));
    }

    #[test]
    fn levels_are_rfc_6464s() {
        assert_eq!(level_of(&[0; 320]), 127);
        assert_eq!(level_of(&[i16::MIN; 320]), 0);
        let tone: Vec<i16> = (0..320).map(|i| (8000.0 * (i as f64 / 10.0).sin()) as i16).collect();
        assert!((14..=16).contains(&level_of(&tone)), "{}", level_of(&tone));
    }
}

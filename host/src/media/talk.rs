//! Talking detection from the RFC 6464 audio-level extension, as Janus's VideoRoom and
//! AudioBridge do it: the levels of every `packets` audio packets of a stream are averaged; a
//! stream whose average is louder than `threshold` (a smaller dBov magnitude: 0 is the loudest,
//! 127 silence) talks, one quieter does not. Only the changes are reported.

use str0m::media::Mid;

/// A peer's watch on its audio streams' levels.
#[derive(Debug, Clone)]
pub struct TalkWatch {
    packets: u32,
    threshold: u8,
    /// Per audio stream: packets counted, their summed level, whether it talks.
    streams: Vec<(Mid, u32, u64, bool)>,
}

impl TalkWatch {
    /// Averages over `packets` packets (at least one), talking below `threshold`.
    pub fn new(packets: u32, threshold: u8) -> Self {
        Self { packets: packets.max(1), threshold, streams: Vec::new() }
    }

    /// One packet's level as str0m reads it (0 loudest .. -127 silence). At the end of a
    /// window where the stream starts or stops talking: whether it talks now, and the average.
    pub fn add(&mut self, mid: Mid, level: i8) -> Option<(bool, u8)> {
        let i = match self.streams.iter().position(|(m, ..)| *m == mid) {
            Some(i) => i,
            None => {
                self.streams.push((mid, 0, 0, false));
                self.streams.len() - 1
            }
        };
        let (_, count, sum, talking) = &mut self.streams[i];
        *count += 1;
        *sum += u64::from(level.unsigned_abs().min(127));
        if *count < self.packets {
            return None;
        }
        let average = (*sum / u64::from(*count)) as u8;
        (*count, *sum) = (0, 0);
        let now = average < self.threshold;
        (now != *talking).then(|| {
            *talking = now;
            (now, average)
        })
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
}

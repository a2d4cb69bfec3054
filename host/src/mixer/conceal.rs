//! Loss concealment for G.711 (which has none of its own), after ITU-T G.711 Appendix I,
//! simplified: a lost tick repeats the last pitch period of what was heard, a fifth quieter
//! for each further tick lost (silent from the sixth), and the first samples heard after a
//! loss are cross-faded with the repetition, so a lost packet is neither a gap nor a click.
//! Everything works on 8 kHz samples in buffers made once.

/// Samples of history kept: enough for the longest pitch period twice over and the window.
const HISTORY: usize = 2 * MAX_PERIOD + WINDOW;
/// Pitch periods searched, in samples at 8 kHz (2.5 to 15 ms).
const MIN_PERIOD: usize = 20;
const MAX_PERIOD: usize = 120;
/// Samples compared to find the period.
const WINDOW: usize = 160;
/// Samples cross-faded when speech comes back (4 ms).
const FADE: usize = 32;

/// What a participant's G.711 decoder remembers to conceal a loss.
pub struct Conceal {
    /// What was heard last, oldest first (its length stays [`HISTORY`]).
    history: Vec<i16>,
    /// The pitch period found when the loss began.
    period: usize,
    /// Where in the repeated period the next sample is.
    at: usize,
    /// Ticks lost in a row.
    lost: u32,
}

impl Default for Conceal {
    fn default() -> Self {
        Self { history: vec![0; HISTORY], period: MAX_PERIOD, at: 0, lost: 0 }
    }
}

impl Conceal {
    /// Fills a lost tick with the repetition of the last pitch period, fading.
    pub fn fill(&mut self, block: &mut [i16]) {
        if self.lost == 0 {
            self.period = self.pitch();
            self.at = 0;
        }
        self.lost += 1;
        for s in block.iter_mut() {
            *s = self.next();
        }
    }

    /// Takes a tick that was heard: after a loss its start is cross-faded with the repetition;
    /// then it joins the history.
    pub fn heard(&mut self, block: &mut [i16]) {
        if self.lost > 0 {
            for (i, s) in block.iter_mut().take(FADE).enumerate() {
                let w = (i + 1) as i32;
                let concealed = i32::from(self.next());
                *s = ((i32::from(*s) * w + concealed * (FADE as i32 + 1 - w)) / (FADE as i32 + 1)) as i16;
            }
            self.lost = 0;
        }
        let n = block.len().min(HISTORY);
        self.history.copy_within(n.., 0);
        let start = HISTORY - n;
        self.history[start..].copy_from_slice(&block[block.len() - n..]);
    }

    /// Forgets what was heard.
    pub fn reset(&mut self) {
        *self = Self::default();
    }

    /// The next sample of the repetition, at this tick's gain (one tick at full level, then a
    /// fifth less per tick).
    fn next(&mut self) -> i16 {
        let gain = (6 - self.lost.min(6) as i32).min(5);
        let s = self.history[HISTORY - self.period + self.at % self.period];
        self.at += 1;
        (i32::from(s) * gain / 5) as i16
    }

    /// The pitch period of the end of the history: the lag whose window best matches the last
    /// one (normalised cross-correlation).
    fn pitch(&self) -> usize {
        let h = &self.history;
        let last = &h[HISTORY - WINDOW..];
        let mut best = (f64::MIN, MAX_PERIOD);
        for p in MIN_PERIOD..=MAX_PERIOD {
            let earlier = &h[HISTORY - WINDOW - p..HISTORY - p];
            let (mut cross, mut energy) = (0f64, 0f64);
            for (&a, &b) in last.iter().zip(earlier) {
                cross += f64::from(a) * f64::from(b);
                energy += f64::from(b) * f64::from(b);
            }
            let score = if energy > 0.0 { cross / energy.sqrt() } else { 0.0 };
            if score > best.0 {
                best = (score, p);
            }
        }
        best.1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, from: usize, n: usize) -> Vec<i16> {
        (from..from + n)
            .map(|i| (8000.0 * (std::f64::consts::TAU * freq * i as f64 / 8000.0).sin()) as i16)
            .collect()
    }

    /// The largest step between neighbouring samples (a click is a big one).
    fn largest_step(s: &[i16]) -> i32 {
        s.windows(2).map(|w| (i32::from(w[1]) - i32::from(w[0])).abs()).max().unwrap_or(0)
    }

    #[test]
    fn a_lost_tick_of_a_tone_goes_on_as_the_tone_without_a_click() {
        for freq in [220.0, 440.0, 1000.0] {
            let mut c = Conceal::default();
            let mut played = Vec::new();
            for t in 0..10 {
                let mut block = tone(freq, t * 160, 160);
                if t == 6 {
                    c.fill(&mut block);
                } else {
                    c.heard(&mut block);
                }
                played.extend_from_slice(&block);
            }
            // The tone's own largest step, and the concealed stretch's.
            let natural = largest_step(&tone(freq, 0, 1600));
            assert!(largest_step(&played) <= natural * 3 / 2 + 200, "{freq} Hz: no click");
            let concealed = &played[6 * 160..7 * 160];
            let energy = concealed.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / 160.0;
            assert!(
                energy > 8000.0f64.powi(2) / 2.0 * 0.8,
                "{freq} Hz: the lost tick is not a gap ({energy:.0})"
            );
        }
    }

    #[test]
    fn a_long_loss_fades_to_silence() {
        let mut c = Conceal::default();
        let mut block = tone(440.0, 0, 160);
        c.heard(&mut block);
        let mut peaks = Vec::new();
        for _ in 0..7 {
            c.fill(&mut block);
            peaks.push(block.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0));
        }
        assert!(peaks.windows(2).all(|w| w[1] <= w[0]), "fading: {peaks:?}");
        assert_eq!(peaks[6], 0, "silent after six ticks: {peaks:?}");
    }
}

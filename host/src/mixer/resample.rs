//! Sample-rate conversion between a G.711 participant (8 kHz) and its room (8 to 48 kHz): a
//! windowed-sinc filter whose taps are computed once per phase, so a tick costs its outputs
//! times the taps, multiply-adds only. Blocks keep the filter's history, so ticks join without
//! seams; the delay is the filter's half length.

/// Zero crossings of the sinc on each side, at the lower of the two rates.
const ZEROS: usize = 12;

/// A converter from one rate to another, fed a tick at a time.
pub struct Resampler {
    /// Output samples per `up` input positions: the ratio `up / down` in lowest terms.
    up: usize,
    down: usize,
    /// Taps on each side of the centre, in input samples.
    half: usize,
    /// The filter: `taps[phase][t]` weighs input `base - half + 1 + t` for an output at
    /// `base + phase / up`.
    taps: Vec<Vec<f32>>,
    /// The last `2 * half` inputs, then the block being converted.
    buf: Vec<f32>,
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

impl Resampler {
    /// A converter from `from` Hz to `to` Hz.
    pub fn new(from: u32, to: u32) -> Self {
        let (from, to) = (from as usize, to as usize);
        let g = gcd(from, to).max(1);
        let (up, down) = (to / g, from / g);
        // Below the lower of the two Nyquist frequencies.
        let cutoff = (to as f64 / from as f64).min(1.0);
        let half = (ZEROS as f64 / cutoff).ceil() as usize;
        let taps = (0..up)
            .map(|phase| {
                (0..2 * half)
                    .map(|t| {
                        let x = phase as f64 / up as f64 + (half - 1) as f64 - t as f64;
                        let sinc = if x == 0.0 {
                            1.0
                        } else {
                            let a = std::f64::consts::PI * x * cutoff;
                            a.sin() / a
                        };
                        let window = 0.5 + 0.5 * (std::f64::consts::PI * x / half as f64).cos();
                        (sinc * cutoff * window) as f32
                    })
                    .collect()
            })
            .collect();
        Self { up, down, half, taps, buf: vec![0.0; 2 * half] }
    }

    /// Converts one block: `out.len()` must be `input.len() * to / from`.
    pub fn process(&mut self, input: &[i16], out: &mut [i16]) {
        if self.up == self.down {
            out.copy_from_slice(&input[..out.len()]);
            return;
        }
        self.buf.extend(input.iter().map(|&s| f32::from(s)));
        for (k, o) in out.iter_mut().enumerate() {
            let position = k * self.down;
            let (base, phase) = (self.half + position / self.up, position % self.up);
            let window = &self.buf[base + 1 - self.half..=base + self.half];
            let acc: f32 = window.iter().zip(&self.taps[phase]).map(|(x, h)| x * h).sum();
            *o = acc.round().clamp(f32::from(i16::MIN), f32::from(i16::MAX)) as i16;
        }
        // The block is consumed: keep what the next one's filter reaches back to.
        self.buf.drain(..input.len());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f64, rate: u32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (8000.0 * (std::f64::consts::TAU * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    /// Per sample squared: independent of the rate.
    fn power(pcm: &[i16], freq: f64, rate: u32) -> f64 {
        super::super::tone::power(pcm, freq, rate) / pcm.len() as f64
    }

    /// A tone converted tick by tick keeps its power, in every direction the mixer uses, and
    /// what is above the new Nyquist frequency is filtered out.
    #[test]
    fn tones_keep_their_power_across_rates_and_ticks() {
        for (from, to) in
            [(8_000, 16_000), (8_000, 48_000), (8_000, 12_000), (48_000, 8_000), (12_000, 8_000)]
        {
            let mut r = Resampler::new(from, to);
            let input = tone(700.0, from, from as usize);
            let (n_in, n_out) = (from as usize / 50, to as usize / 50);
            let mut output = vec![0i16; to as usize];
            for (i, o) in input.chunks(n_in).zip(output.chunks_mut(n_out)) {
                r.process(i, o);
            }
            let tail = &output[to as usize / 10..];
            let ratio = power(tail, 700.0, to) / power(&input[from as usize / 10..], 700.0, from);
            assert!((0.8..1.25).contains(&ratio), "{from} -> {to}: power ratio {ratio}");
        }
        let mut r = Resampler::new(48_000, 8_000);
        let input = tone(6_000.0, 48_000, 48_000);
        let mut output = vec![0i16; 8_000];
        for (i, o) in input.chunks(960).zip(output.chunks_mut(160)) {
            r.process(i, o);
        }
        let loudest = output[800..].iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
        assert!(loudest < 800, "6 kHz does not fold into 8 kHz audio: {loudest}");
    }
}

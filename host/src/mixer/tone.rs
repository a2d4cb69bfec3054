//! Measuring tones: the power of one frequency in samples, as the mixer's tests, the
//! benchmarks and the integration tests check what a listener heard.

/// The power of `freq` Hz in `pcm` sampled at `rate` Hz (Goertzel), per sample: a steady sine
/// of amplitude A over n samples gives about A² n / 4, other frequencies little.
pub fn power(pcm: &[i16], freq: f64, rate: u32) -> f64 {
    let w = std::f64::consts::TAU * freq / f64::from(rate);
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in pcm {
        let s = f64::from(x) + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2) / pcm.len().max(1) as f64
}

//! G.711 (ITU-T): μ-law (PCMU) and A-law (PCMA), 8 kHz, a byte per sample.

/// μ-law byte to a linear sample.
pub fn ulaw_decode(u: u8) -> i16 {
    let u = !u;
    let exponent = (u >> 4) & 0x07;
    let mantissa = i16::from(u & 0x0f);
    let magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84;
    if u & 0x80 != 0 {
        -magnitude
    } else {
        magnitude
    }
}

/// A linear sample to a μ-law byte.
pub fn ulaw_encode(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32_635;
    let mut s = i32::from(sample);
    let sign = if s < 0 {
        s = -s;
        0x80
    } else {
        0
    };
    s = s.min(CLIP) + BIAS;
    // The segment: the highest set bit from bit 14 down to bit 7.
    let mut exponent = 7;
    while exponent > 0 && s & (0x80 << exponent) == 0 {
        exponent -= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !((sign | (exponent << 4) | mantissa) as u8)
}

/// A-law byte to a linear sample.
pub fn alaw_decode(a: u8) -> i16 {
    let a = a ^ 0x55;
    let exponent = (a >> 4) & 0x07;
    let mantissa = i16::from(a & 0x0f);
    let magnitude = match exponent {
        0 => (mantissa << 4) + 8,
        e => ((mantissa << 4) + 0x108) << (e - 1),
    };
    if a & 0x80 != 0 {
        magnitude
    } else {
        -magnitude
    }
}

/// A linear sample to an A-law byte.
pub fn alaw_encode(sample: i16) -> u8 {
    // 13-bit magnitude; the sign in the mask.
    let mut pcm = i32::from(sample) >> 3;
    let mask = if pcm >= 0 {
        0xd5
    } else {
        pcm = -pcm - 1;
        0x55
    };
    let Some(segment) =
        [0x1f, 0x3f, 0x7f, 0xff, 0x1ff, 0x3ff, 0x7ff, 0xfff].iter().position(|end| pcm <= *end)
    else {
        return 0x7f ^ mask;
    };
    let shift = if segment < 2 { 1 } else { segment };
    (((segment << 4) as i32 | ((pcm >> shift) & 0x0f)) as u8) ^ mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_survives_decode_then_encode() {
        for b in 0..=255u8 {
            let u = ulaw_encode(ulaw_decode(b));
            // μ-law has two zeros (0x7f and 0xff).
            assert!(u == b || ulaw_decode(u) == ulaw_decode(b), "μ-law {b:#04x} -> {u:#04x}");
            assert_eq!(alaw_encode(alaw_decode(b)), b, "A-law {b:#04x}");
        }
    }

    #[test]
    fn samples_come_back_close() {
        for s in (-32_000i16..32_000).step_by(97) {
            let tolerance = (i32::from(s).abs() / 16).max(16);
            let u = i32::from(ulaw_decode(ulaw_encode(s)));
            let a = i32::from(alaw_decode(alaw_encode(s)));
            assert!((u - i32::from(s)).abs() <= tolerance, "μ-law {s} -> {u}");
            assert!((a - i32::from(s)).abs() <= tolerance, "A-law {s} -> {a}");
        }
    }
}

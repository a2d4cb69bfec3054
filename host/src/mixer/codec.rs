//! Opus for the mixer, through `ropus` (a pure-Rust port of libopus, chosen by measurement:
//! see "Mixer ports" in docs/architecture.md): packets from the network are decoded in memory-safe code, and
//! `cargo run` needs nothing but the Rust toolchain.

use ropus::{Application, Bitrate, Channels, DecodeMode, Decoder, Encoder, InbandFec, Signal};

use super::jitter::Next;
use crate::vocab::{MixerSpec, PortSettings};

/// The longest Opus packet decodes to 120 ms.
const MAX_FRAME_MS: usize = 120;

/// A participant's decoder at the room's rate (mono).
pub struct OpusIn {
    decoder: Decoder,
    /// Decoded samples not played yet (a packet longer than a tick), and a scratch buffer.
    pending: Vec<i16>,
    scratch: Vec<i16>,
    /// The decoder failed on a packet (hostile or broken input): counted, concealed.
    pub errors: u64,
}

impl OpusIn {
    /// A decoder at `rate` Hz.
    pub fn new(rate: u32) -> Result<Self, String> {
        let decoder = Decoder::new(rate, Channels::Mono).map_err(|e| format!("opus decoder: {e}"))?;
        let max = rate as usize * MAX_FRAME_MS / 1000;
        Ok(Self { decoder, pending: Vec::with_capacity(max * 2), scratch: vec![0; max], errors: 0 })
    }

    /// Fills `out` (one tick) from what the jitter buffer gives; false when there was nothing
    /// to play (the participant adds nothing this tick).
    pub fn frame(&mut self, next: Next, out: &mut [i16]) -> bool {
        let n = out.len();
        if self.pending.len() < n {
            let decoded = match next {
                Next::Packet(p) => self.decode(&p, DecodeMode::Normal, None),
                // The lost packet from the next one's in-band FEC, else concealment.
                Next::Lost { after: Some(p) } => self.decode(&p, DecodeMode::Fec, Some(n)),
                Next::Lost { after: None } => self.decode(&[], DecodeMode::Normal, Some(n)),
                Next::Nothing if self.pending.is_empty() => return false,
                Next::Nothing => 0,
            };
            let got = decoded.min(self.scratch.len());
            self.pending.extend_from_slice(&self.scratch[..got]);
        }
        let take = n.min(self.pending.len());
        out[..take].copy_from_slice(&self.pending[..take]);
        out[take..].fill(0);
        self.pending.drain(..take);
        true
    }

    /// Decodes into the scratch buffer; `len` fixes the length (concealment, FEC).
    fn decode(&mut self, packet: &[u8], mode: DecodeMode, len: Option<usize>) -> usize {
        let buf = match len {
            Some(n) => &mut self.scratch[..n],
            None => &mut self.scratch[..],
        };
        match self.decoder.decode(packet, buf, mode) {
            Ok(n) => n,
            Err(_) => {
                self.errors += 1;
                // A broken packet: conceal a tick's worth instead.
                let n = len.unwrap_or(self.scratch.len() / (MAX_FRAME_MS / 20));
                self.decoder.decode(&[], &mut self.scratch[..n], DecodeMode::Normal).unwrap_or(0)
            }
        }
    }

    /// Forgets the decoder's state (`resetdecoder`).
    pub fn reset(&mut self, rate: u32) {
        if let Ok(d) = Decoder::new(rate, Channels::Mono) {
            self.decoder = d;
        }
        self.pending.clear();
    }
}

/// An encoder with a participant's settings.
pub struct OpusOut {
    encoder: Encoder,
}

/// What tells two encoders apart: listeners with equal keys share one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncoderKey {
    bitrate: u32,
    complexity: u8,
    expected_loss: u8,
    dtx: bool,
}

impl EncoderKey {
    /// The key of a participant's settings.
    pub fn of(s: &PortSettings) -> Self {
        Self { bitrate: s.bitrate, complexity: s.complexity, expected_loss: s.expected_loss, dtx: s.dtx }
    }
}

impl OpusOut {
    /// An encoder of a mixer's rate and channels (VoIP) with these settings; a stereo
    /// encoder takes interleaved samples.
    pub fn new(spec: MixerSpec, key: EncoderKey) -> Result<Self, String> {
        let bitrate = if key.bitrate == 0 {
            Bitrate::Auto
        } else {
            Bitrate::try_bits(key.bitrate.clamp(500, 512_000)).map_err(|e| format!("opus bitrate: {e}"))?
        };
        let encoder = Encoder::builder(
            spec.rate,
            if spec.stereo { Channels::Stereo } else { Channels::Mono },
            Application::Voip,
        )
        .bitrate(bitrate)
        .complexity(key.complexity.clamp(1, 10))
        .signal(Signal::Voice)
        .packet_loss_perc(key.expected_loss.min(100))
        .inband_fec(if key.expected_loss > 0 { InbandFec::Enabled } else { InbandFec::Disabled })
        .dtx(key.dtx)
        .build()
        .map_err(|e| format!("opus encoder: {e}"))?;
        Ok(Self { encoder })
    }

    /// Encodes one tick into `out`; the packet's length (0 on failure).
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        self.encoder.encode(pcm, out).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn tone(freq: f64, rate: u32, start: usize, n: usize) -> Vec<i16> {
        (start..start + n)
            .map(|i| (8000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(rate)).sin()) as i16)
            .collect()
    }

    #[test]
    fn a_tone_survives_encode_and_decode_and_a_lost_packet_is_concealed() {
        let rate = 16_000;
        let n = rate as usize / 50;
        let key = EncoderKey { bitrate: 32_000, complexity: 5, expected_loss: 10, dtx: false };
        let mut enc = OpusOut::new(MixerSpec { rate, stereo: false }, key).expect("encoder");
        let mut dec = OpusIn::new(rate).expect("decoder");
        let mut buf = [0u8; 1500];
        let mut out = vec![0i16; n];
        let mut energy = 0.0;
        for f in 0..20 {
            let len = enc.encode(&tone(440.0, rate, f * n, n), &mut buf);
            assert!(len > 0);
            let packet: Arc<[u8]> = Arc::from(&buf[..len]);
            let next = if f == 10 { Next::Lost { after: None } } else { Next::Packet(packet) };
            assert!(dec.frame(next, &mut out));
            if f > 2 {
                energy += out.iter().map(|&s| f64::from(s).powi(2)).sum::<f64>() / n as f64;
            }
        }
        let rms = (energy / 17.0).sqrt();
        assert!(rms > 3000.0, "the tone comes out (rms {rms})");
        assert!(!dec.frame(Next::Nothing, &mut out), "nothing to play adds nothing");
        assert_eq!(dec.errors, 0);
    }

    #[test]
    fn garbage_is_concealed_not_a_panic() {
        let mut dec = OpusIn::new(48_000).expect("decoder");
        let mut out = vec![0i16; 960];
        for junk in [&[0xffu8; 3][..], &[0x0b, 0xff, 0xff, 0xff, 0xff][..], &[0xfc; 1400][..]] {
            dec.frame(Next::Packet(Arc::from(junk)), &mut out);
        }
    }
}

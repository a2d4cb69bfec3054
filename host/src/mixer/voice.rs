//! A participant's voice in its codec: Opus (`codec.rs`) at the room's rate, or G.711 at
//! 8 kHz converted to and from the room's rate (`resample.rs`).

use super::codec::{EncoderKey, OpusIn, OpusOut};
use super::conceal::Conceal;
use super::g711;
use super::jitter::Next;
use super::resample::Resampler;
use crate::vocab::{MixCodec, MixerSpec};

/// G.711 runs at 8 kHz: a tick is 160 samples (and 160 bytes).
const G711_TICK: usize = 160;

/// What decodes a participant's packets into the room's samples.
pub enum VoiceIn {
    /// Opus, decoded at the room's rate.
    Opus(Box<OpusIn>),
    /// G.711: bytes to 8 kHz samples, converted to the room's rate.
    G711 {
        /// μ-law (PCMU) or A-law (PCMA).
        codec: MixCodec,
        /// Decoded 8 kHz samples not played yet.
        pending: Vec<i16>,
        /// One tick at 8 kHz.
        block: Vec<i16>,
        /// 8 kHz to the room's rate.
        up: Resampler,
        /// What fills a lost tick.
        conceal: Box<Conceal>,
    },
}

impl VoiceIn {
    /// A decoder for `codec` into a room at `rate` Hz.
    pub fn new(codec: MixCodec, rate: u32) -> Result<Self, String> {
        Ok(match codec {
            MixCodec::Opus => Self::Opus(Box::new(OpusIn::new(rate)?)),
            _ => Self::G711 {
                codec,
                pending: Vec::with_capacity(G711_TICK * 8),
                block: vec![0; G711_TICK],
                up: Resampler::new(8_000, rate),
                conceal: Box::default(),
            },
        })
    }

    /// Fills `out` (one tick at the room's rate); false when there was nothing to play.
    pub fn frame(&mut self, next: Next, out: &mut [i16]) -> bool {
        let (codec, pending, block, up, conceal) = match self {
            Self::Opus(o) => return o.frame(next, out),
            Self::G711 { codec, pending, block, up, conceal } => (*codec, pending, block, up, conceal),
        };
        let decode = if codec == MixCodec::Pcma { g711::alaw_decode } else { g711::ulaw_decode };
        let lost = match next {
            // At most a few ticks' worth: a huge packet is cut, not buffered.
            Next::Packet(p) => {
                pending.extend(p.iter().take(G711_TICK * 6).map(|&b| decode(b)));
                false
            }
            // A lost tick with nothing buffered to play is concealed.
            Next::Lost { .. } => pending.len() < G711_TICK,
            Next::Nothing if pending.is_empty() => return false,
            Next::Nothing => false,
        };
        if lost {
            conceal.fill(block);
        } else {
            let take = G711_TICK.min(pending.len());
            block[..take].copy_from_slice(&pending[..take]);
            block[take..].fill(0);
            pending.drain(..take);
            conceal.heard(block);
        }
        up.process(block, out);
        true
    }

    /// Forgets buffered samples and decoder state (`resetdecoder`).
    pub fn reset(&mut self, rate: u32) {
        match self {
            Self::Opus(o) => o.reset(rate),
            Self::G711 { pending, up, conceal, .. } => {
                pending.clear();
                *up = Resampler::new(8_000, rate);
                conceal.reset();
            }
        }
    }

    /// Packets the decoder refused.
    pub fn errors(&self) -> u64 {
        match self {
            Self::Opus(o) => o.errors,
            Self::G711 { .. } => 0,
        }
    }
}

/// What encodes a participant's mix in its codec.
pub enum VoiceOut {
    /// Opus with the participant's settings.
    Opus(Box<OpusOut>),
    /// G.711: the room's rate down to 8 kHz, a byte per sample.
    G711 {
        /// μ-law (PCMU) or A-law (PCMA).
        codec: MixCodec,
        /// One tick at 8 kHz.
        block: Vec<i16>,
        /// The room's rate to 8 kHz.
        down: Resampler,
        /// A stereo room's tick made mono (empty in a mono room).
        mono: Vec<i16>,
    },
}

impl VoiceOut {
    /// An encoder for `codec` from a room of `spec` (Opus with the settings of `key`, stereo
    /// in a stereo room; G.711 is mono, a stereo room's left and right averaged).
    pub fn new(codec: MixCodec, spec: MixerSpec, key: EncoderKey) -> Result<Self, String> {
        let mono = if spec.stereo { vec![0; spec.rate as usize / 50] } else { Vec::new() };
        Ok(match codec {
            MixCodec::Opus => Self::Opus(Box::new(OpusOut::new(spec, key)?)),
            _ => {
                Self::G711 { codec, block: vec![0; G711_TICK], down: Resampler::new(spec.rate, 8_000), mono }
            }
        })
    }

    /// Encodes one tick into `out`; the packet's length (0 on failure).
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        match self {
            Self::Opus(o) => o.encode(pcm, out),
            Self::G711 { codec, block, down, mono } => {
                if mono.is_empty() {
                    down.process(pcm, block);
                } else {
                    for (m, lr) in mono.iter_mut().zip(pcm.chunks_exact(2)) {
                        *m = ((i32::from(lr[0]) + i32::from(lr[1])) / 2) as i16;
                    }
                    down.process(mono, block);
                }
                let encode = if *codec == MixCodec::Pcma { g711::alaw_encode } else { g711::ulaw_encode };
                for (o, &s) in out.iter_mut().zip(block.iter()) {
                    *o = encode(s);
                }
                block.len().min(out.len())
            }
        }
    }
}

/// RTP timestamp units per tick, and the clock, of a codec.
pub fn clock(codec: MixCodec) -> (u32, u32) {
    match codec {
        MixCodec::Opus => (960, 48_000),
        _ => (160, 8_000),
    }
}

//! The audio mixer as plugins and media see it: rooms (mixers) and their participants (ports).

/// Set in every mixer port id: a port is an endpoint (like a leg), keyed with peers, legs and
/// inputs in one space.
pub const MIX_BIT: u64 = 1 << 60;

/// The codec a participant sends and gets its mix in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MixCodec {
    /// Opus (48 kHz RTP clock).
    Opus,
    /// G.711 μ-law (8 kHz).
    Pcmu,
    /// G.711 A-law (8 kHz).
    Pcma,
}

/// A mixer (an AudioBridge room).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MixerSpec {
    /// Samples per second it mixes at: 8000, 12000, 16000, 24000 or 48000.
    pub rate: u32,
    /// It mixes in stereo, each participant placed left to right by its `pan` (AudioBridge's
    /// `spatial_audio`); else mono.
    pub stereo: bool,
}

impl MixerSpec {
    /// The rates a mixer can run at (Opus's).
    pub const RATES: [u32; 5] = [8_000, 12_000, 16_000, 24_000, 48_000];

    /// Samples per instant: 2 in stereo, else 1.
    pub fn channels(&self) -> usize {
        if self.stereo {
            2
        } else {
            1
        }
    }
}

/// How one participant takes part in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortSettings {
    /// What it says is left out of the mix.
    pub muted: bool,
    /// It gets no mix.
    pub deaf: bool,
    /// Neither: it stays in the room but the mixer skips it (AudioBridge `suspend`).
    pub suspended: bool,
    /// Its gain into the mix, percent (100: as it comes).
    pub gain_percent: u32,
    /// The bitrate of the mix it gets, bits per second (0: the encoder chooses).
    pub bitrate: u32,
    /// The encoder's complexity, 1–10 (AudioBridge `quality`).
    pub complexity: u8,
    /// The loss it expects, percent: the encoder adds in-band FEC when above 0.
    pub expected_loss: u8,
    /// Discontinuous transmission for its mix.
    pub dtx: bool,
    /// The group its voice is in (0: none): listeners of one group hear only its voices
    /// (AudioBridge's `groups`, for forwarders).
    pub group: u8,
    /// The group whose voices it hears (0: everyone's).
    pub hears_group: u8,
    /// Where a stereo mixer places its voice: 0 left, 50 centre, 100 right (`spatial_position`).
    pub pan: u8,
    /// Its owner hears when it starts and stops talking, from the level of what it says,
    /// averaged over this many packets (0: not watched; AudioBridge's `audio_active_packets`).
    pub talk_packets: u32,
    /// The average level it talks above (a dBov magnitude: 0 loudest, 127 silence;
    /// `audio_level_average`).
    pub talk_threshold: u8,
    /// Packets its jitter buffer holds before what it says is mixed, after a join or an
    /// underrun (AudioBridge's `prebuffer`; 0: the host's, two).
    pub prebuffer: u8,
}

impl Default for PortSettings {
    fn default() -> Self {
        Self {
            muted: false,
            deaf: false,
            suspended: false,
            gain_percent: 100,
            bitrate: 0,
            complexity: 4,
            expected_loss: 0,
            dtx: false,
            group: 0,
            hears_group: 0,
            pan: 50,
            talk_packets: 0,
            talk_threshold: 25,
            prebuffer: 0,
        }
    }
}

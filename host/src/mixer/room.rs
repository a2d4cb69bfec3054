//! One mixer: its participants and the mix of each 20 ms tick. Every participant hears the
//! sum of everyone else (its own voice taken out of the sum); listeners who add nothing this
//! tick share one encode of the whole sum per encoder setting, so a room of hundreds costs an
//! encode per talker, not per listener. The buffers are made when a participant joins; a tick
//! allocates nothing but the encoded packets it hands out.

use std::collections::HashMap;
use std::sync::Arc;

use super::codec::EncoderKey;
use super::jitter::{Jitter, JitterStats};
use super::voice::{clock, VoiceIn, VoiceOut};
use crate::vocab::{MixCodec, PortSettings};
/// The largest encoded tick.
const MAX_PACKET: usize = 1275;
/// Samples no louder than this (about -60 dBFS) are silence: a participant whose tick is all
/// silence adds nothing and shares the listeners' encode (browsers send silence, not nothing).
const SILENCE: u16 = 32;

/// One encoded tick for one participant, on its way to the media thread that owns its port.
#[derive(Debug, Clone)]
pub struct MixFrame {
    /// The port (its id as an endpoint).
    pub port: u64,
    /// The port's media thread.
    pub home: usize,
    /// The port's codec.
    pub codec: MixCodec,
    /// The port's own RTP sequence number and timestamp (48 kHz), and its SSRC.
    pub seq: u64,
    /// See `seq`.
    pub time: u32,
    /// See `seq`.
    pub ssrc: u32,
    /// The encoded tick (shared by the listeners of one encode).
    pub payload: Arc<[u8]>,
}

/// One participant.
struct Port {
    id: u64,
    home: usize,
    settings: PortSettings,
    codec: MixCodec,
    jitter: Jitter,
    decoder: VoiceIn,
    /// This tick's decoded samples, and the same with its gain (what it adds to the sum).
    pcm: Vec<i16>,
    added: Vec<i32>,
    /// It adds to this tick's sum.
    active: bool,
    /// Its own encoder, made the first time it talks, and the settings it was made with.
    encoder: Option<VoiceOut>,
    key: Option<EncoderKey>,
    seq: u64,
    time: u32,
    ssrc: u32,
}

/// An encoder listeners share, with this tick's packet.
struct Shared {
    codec: MixCodec,
    key: EncoderKey,
    encoder: VoiceOut,
    packet: Option<Arc<[u8]>>,
    used: bool,
}

/// A mixer.
pub struct Room {
    rate: u32,
    ports: Vec<Port>,
    index: HashMap<u64, usize>,
    sum: Vec<i32>,
    /// Scratch: one participant's mix as 16-bit samples, and an encoded packet.
    mix: Vec<i16>,
    packet: Vec<u8>,
    shared: Vec<Shared>,
    /// Where the whole mix is recorded, if it is.
    recorder: Option<super::record::Recorder>,
}

/// What a participant's counters show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PortStats {
    /// The jitter buffer's counters.
    pub jitter: JitterStats,
    /// Packets the decoder refused.
    pub decode_errors: u64,
}

impl Room {
    /// A mixer at `rate` Hz.
    pub fn new(rate: u32) -> Self {
        let n = rate as usize / 50;
        Self {
            rate,
            ports: Vec::new(),
            index: HashMap::new(),
            sum: vec![0; n],
            mix: vec![0; n],
            packet: vec![0; MAX_PACKET],
            shared: Vec::new(),
            recorder: None,
        }
    }

    /// Records the whole mix to `file` from the next tick on (a recording under way stops and
    /// its file is completed); none stops recording. `failed` hears why, should writing fail.
    pub fn record(&mut self, file: Option<std::fs::File>, failed: super::record::Failed) {
        self.recorder = None;
        if let Some(file) = file {
            match super::record::Recorder::start(file, self.rate, failed) {
                Ok(r) => self.recorder = Some(r),
                Err(e) => tracing::warn!("cannot start recording: {e}"),
            }
        }
    }

    /// Adds a participant speaking `codec`.
    pub fn join(
        &mut self,
        id: u64,
        home: usize,
        codec: MixCodec,
        settings: PortSettings,
    ) -> Result<(), String> {
        if self.index.contains_key(&id) {
            return Err(format!("port {id} is in the room already"));
        }
        let n = self.sum.len();
        let port = Port {
            id,
            home,
            settings,
            codec,
            jitter: Jitter::default(),
            decoder: VoiceIn::new(codec, self.rate)?,
            pcm: vec![0; n],
            added: vec![0; n],
            active: false,
            encoder: None,
            key: None,
            seq: u64::from(rand::random::<u16>()),
            time: rand::random(),
            ssrc: rand::random(),
        };
        self.index.insert(id, self.ports.len());
        self.ports.push(port);
        Ok(())
    }

    /// Removes a participant; false when unknown.
    pub fn leave(&mut self, id: u64) -> bool {
        let Some(i) = self.index.remove(&id) else { return false };
        self.ports.swap_remove(i);
        if let Some(moved) = self.ports.get(i) {
            self.index.insert(moved.id, i);
        }
        true
    }

    /// Changes a participant's settings; false when unknown.
    pub fn set(&mut self, id: u64, settings: PortSettings) -> bool {
        let Some(port) = self.port_mut(id) else { return false };
        port.settings = settings;
        true
    }

    /// Forgets a participant's buffered packets and decoder state (`resetdecoder`).
    pub fn reset_decoder(&mut self, id: u64) {
        let rate = self.rate;
        if let Some(port) = self.port_mut(id) {
            port.jitter.reset();
            port.decoder.reset(rate);
        }
    }

    /// A packet from a participant (extended sequence number) in `codec`: another codec than
    /// the participant's carries nothing.
    pub fn packet(&mut self, id: u64, codec: MixCodec, seq: u64, payload: Arc<[u8]>) {
        if let Some(port) = self.port_mut(id) {
            if !port.settings.suspended && port.codec == codec {
                port.jitter.push(seq, payload);
            }
        }
    }

    /// A participant's counters.
    pub fn stats(&self, id: u64) -> Option<PortStats> {
        let port = &self.ports[*self.index.get(&id)?];
        Some(PortStats { jitter: port.jitter.stats, decode_errors: port.decoder.errors() })
    }

    /// Whether the room has this participant.
    pub fn has(&self, id: u64) -> bool {
        self.index.contains_key(&id)
    }

    /// The participants' ids.
    pub fn ports(&self) -> impl Iterator<Item = u64> + '_ {
        self.ports.iter().map(|p| p.id)
    }

    fn port_mut(&mut self, id: u64) -> Option<&mut Port> {
        let i = *self.index.get(&id)?;
        self.ports.get_mut(i)
    }

    /// Mixes one tick and hands each participant's packet to `out`.
    pub fn tick(&mut self, out: &mut impl FnMut(MixFrame)) {
        self.sum.fill(0);
        for port in &mut self.ports {
            let next = port.jitter.pop();
            let sounding = port.decoder.frame(next, &mut port.pcm)
                && port.pcm.iter().any(|s| s.unsigned_abs() > SILENCE);
            port.active = sounding && !port.settings.muted && !port.settings.suspended;
            if port.active {
                let gain = port.settings.gain_percent as i32;
                for ((added, &s), sum) in port.added.iter_mut().zip(&port.pcm).zip(&mut self.sum) {
                    *added = i32::from(s) * gain / 100;
                    *sum += *added;
                }
            }
        }
        for shared in &mut self.shared {
            shared.packet = None;
            shared.used = false;
        }
        if let Some(recorder) = &mut self.recorder {
            for (m, &s) in self.mix.iter_mut().zip(&self.sum) {
                *m = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
            }
            if !recorder.push(&self.mix) {
                self.recorder = None;
            }
        }
        for port in &mut self.ports {
            let (seq, time) = (port.seq, port.time);
            port.time = port.time.wrapping_add(clock(port.codec).0);
            if port.settings.deaf || port.settings.suspended {
                continue;
            }
            let key = EncoderKey::of(&port.settings);
            let payload = if port.active {
                // Everyone but itself.
                for ((m, &s), &own) in self.mix.iter_mut().zip(&self.sum).zip(&port.added) {
                    *m = (s - own).clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                }
                if port.encoder.is_none() || port.key != Some(key) {
                    port.encoder = VoiceOut::new(port.codec, self.rate, key).ok();
                    port.key = Some(key);
                }
                let Some(encoder) = port.encoder.as_mut() else { continue };
                let len = encoder.encode(&self.mix, &mut self.packet);
                Arc::from(&self.packet[..len])
            } else {
                let codec = port.codec;
                let i = match self.shared.iter().position(|s| s.key == key && s.codec == codec) {
                    Some(i) => i,
                    None => {
                        let Ok(encoder) = VoiceOut::new(codec, self.rate, key) else { continue };
                        self.shared.push(Shared { codec, key, encoder, packet: None, used: false });
                        self.shared.len() - 1
                    }
                };
                let shared = &mut self.shared[i];
                shared.used = true;
                match &shared.packet {
                    Some(p) => p.clone(),
                    None => {
                        for (m, &s) in self.mix.iter_mut().zip(&self.sum) {
                            *m = s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
                        }
                        let len = shared.encoder.encode(&self.mix, &mut self.packet);
                        let p: Arc<[u8]> = Arc::from(&self.packet[..len]);
                        shared.packet = Some(p.clone());
                        p
                    }
                }
            };
            if payload.is_empty() {
                continue;
            }
            port.seq += 1;
            out(MixFrame {
                port: port.id,
                home: port.home,
                codec: port.codec,
                seq,
                time,
                ssrc: port.ssrc,
                payload,
            });
        }
        // Encoders no listener used this tick go.
        self.shared.retain(|s| s.used);
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::{OpusIn, OpusOut};
    use super::*;

    const RATE: u32 = 16_000;
    const N: usize = RATE as usize / 50;

    fn encoded_tone(freq: f64, ticks: usize) -> Vec<Arc<[u8]>> {
        let key = EncoderKey::of(&PortSettings { bitrate: 32_000, ..PortSettings::default() });
        let mut enc = OpusOut::new(RATE, key).expect("encoder");
        let mut buf = [0u8; MAX_PACKET];
        (0..ticks)
            .map(|t| {
                let pcm: Vec<i16> = (t * N..(t + 1) * N)
                    .map(|i| {
                        (6000.0 * (2.0 * std::f64::consts::PI * freq * i as f64 / f64::from(RATE)).sin())
                            as i16
                    })
                    .collect();
                let len = enc.encode(&pcm, &mut buf);
                Arc::from(&buf[..len])
            })
            .collect()
    }

    /// Power of `freq` in `pcm` at the room's rate.
    fn power(pcm: &[i16], freq: f64) -> f64 {
        super::super::tone::power(pcm, freq, RATE)
    }

    /// Runs `ticks` ticks with ports 1 and 2 talking (440 and 1000 Hz) and port 3 listening;
    /// returns what each port received, decoded.
    fn run(room: &mut Room, ticks: usize, base: u64) -> HashMap<u64, Vec<i16>> {
        let a = encoded_tone(440.0, ticks);
        let b = encoded_tone(1000.0, ticks);
        let mut decoders: HashMap<u64, OpusIn> =
            (1..=3).map(|p| (p, OpusIn::new(RATE).expect("dec"))).collect();
        let mut heard: HashMap<u64, Vec<i16>> = HashMap::new();
        let mut frame = vec![0i16; N];
        for t in 0..ticks {
            room.packet(1, MixCodec::Opus, base + t as u64, a[t].clone());
            room.packet(2, MixCodec::Opus, base + t as u64, b[t].clone());
            room.tick(&mut |f: MixFrame| {
                let dec = decoders.get_mut(&f.port).expect("a port");
                dec.frame(super::super::jitter::Next::Packet(f.payload), &mut frame);
                heard.entry(f.port).or_default().extend_from_slice(&frame);
            });
        }
        heard
    }

    #[test]
    fn everyone_hears_the_others_and_not_themselves() {
        let mut room = Room::new(RATE);
        for id in 1..=3 {
            room.join(id, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        }
        let heard = run(&mut room, 50, 0);
        let tail = |id: u64| heard[&id][N * 10..].to_vec();
        let (p440, p1000) = (|id| power(&tail(id), 440.0), |id| power(&tail(id), 1000.0));
        assert!(p1000(1) > 100.0 * p440(1), "1 hears 2, not itself: {} vs {}", p1000(1), p440(1));
        assert!(p440(2) > 100.0 * p1000(2), "2 hears 1, not itself: {} vs {}", p440(2), p1000(2));
        assert!(p440(3) > 1e5 && p1000(3) > 1e5, "3 hears both: {} {}", p440(3), p1000(3));
    }

    #[test]
    fn muted_and_deaf_and_gain_take_effect() {
        let mut room = Room::new(RATE);
        room.join(1, 0, MixCodec::Opus, PortSettings { muted: true, ..PortSettings::default() })
            .expect("join");
        room.join(2, 0, MixCodec::Opus, PortSettings { gain_percent: 50, ..PortSettings::default() })
            .expect("join");
        room.join(3, 0, MixCodec::Opus, PortSettings { deaf: true, ..PortSettings::default() })
            .expect("join");
        let heard = run(&mut room, 50, 0);
        assert!(!heard.contains_key(&3), "a deaf participant gets nothing");
        let tail = |id: u64| heard[&id][N * 10..].to_vec();
        assert!(power(&tail(2), 440.0) < 1e3, "1 is muted: {}", power(&tail(2), 440.0));
        let half = power(&tail(1), 1000.0);
        room.set(2, PortSettings::default());
        let heard = run(&mut room, 50, 50);
        let full = power(&heard[&1][N * 10..], 1000.0);
        let ratio = full / half;
        assert!((3.0..5.5).contains(&ratio), "gain 50% is a quarter of the power: {ratio}");
    }

    #[test]
    fn listeners_share_one_encode() {
        let mut room = Room::new(RATE);
        for id in 1..=5 {
            room.join(id, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        }
        let talk = encoded_tone(440.0, 10);
        let mut payloads: HashMap<u64, Arc<[u8]>> = HashMap::new();
        for (t, p) in talk.iter().enumerate() {
            room.packet(1, MixCodec::Opus, t as u64, p.clone());
            payloads.clear();
            room.tick(&mut |f: MixFrame| {
                payloads.insert(f.port, f.payload);
            });
        }
        assert!(Arc::ptr_eq(&payloads[&2], &payloads[&5]), "the listeners' packets are one");
        assert!(!Arc::ptr_eq(&payloads[&1], &payloads[&2]), "the talker's mix is its own");
        assert!(room.leave(3) && !room.leave(3) && room.has(5));
    }
}

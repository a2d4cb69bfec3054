//! One mixer: its participants and the mix of each 20 ms tick. Every participant hears the
//! sum of everyone else (its own voice taken out of the sum); listeners who add nothing this
//! tick share one encode of the whole sum per encoder setting, so a room of hundreds costs an
//! encode per talker, not per listener. The buffers are made when a participant joins; a tick
//! allocates nothing but the encoded packets it hands out.
//!
//! A stereo mixer places each voice between left and right by its `pan` (Janus's linear law:
//! left gets `100 - pan` percent, right `pan`). A listener of one group (`hears_group`, an
//! AudioBridge forwarder of a group) hears only the voices of that group; everyone else hears
//! every group.

use std::collections::HashMap;
use std::sync::Arc;

use super::codec::EncoderKey;
use super::jitter::{Jitter, JitterStats};
use super::voice::{clock, VoiceIn, VoiceOut};
use crate::media::talk::{level_of, Level};
use crate::vocab::{MixCodec, MixerSpec, PortSettings};
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
    /// This tick's decoded samples (mono), and what it adds to the sum: with its gain, and
    /// in a stereo room placed by its pan (interleaved).
    pcm: Vec<i16>,
    added: Vec<i32>,
    /// It adds to this tick's sum.
    active: bool,
    /// Its talking, when watched (`talk_packets`).
    talk: Option<Level>,
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
    /// The group its listeners hear (0: everyone).
    group: u8,
    encoder: VoiceOut,
    packet: Option<Arc<[u8]>>,
    used: bool,
}

/// A mixer.
pub struct Room {
    spec: MixerSpec,
    ports: Vec<Port>,
    index: HashMap<u64, usize>,
    sum: Vec<i32>,
    /// The sums of the groups someone listens to alone (group, sum); kept once made.
    groups: Vec<(u8, Vec<i32>)>,
    /// Scratch: one participant's mix as 16-bit samples, and an encoded packet.
    mix: Vec<i16>,
    packet: Vec<u8>,
    shared: Vec<Shared>,
    /// Where the whole mix is recorded, if it is.
    recorder: Option<super::record::Recorder>,
    /// This tick's changes of talking: (port, talking, average level).
    talks: Vec<(u64, bool, u8)>,
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
    /// A mixer of `spec`.
    pub fn new(spec: MixerSpec) -> Self {
        let n = spec.rate as usize / 50 * spec.channels();
        Self {
            spec,
            ports: Vec::new(),
            index: HashMap::new(),
            sum: vec![0; n],
            groups: Vec::new(),
            mix: vec![0; n],
            packet: vec![0; MAX_PACKET],
            shared: Vec::new(),
            recorder: None,
            talks: Vec::new(),
        }
    }

    /// Records the whole mix to `file` from the next tick on (a recording under way stops and
    /// its file is completed); none stops recording. `failed` hears why, should writing fail.
    pub fn record(&mut self, file: Option<std::fs::File>, failed: super::record::Failed) {
        self.recorder = None;
        if let Some(file) = file {
            match super::record::Recorder::start(file, self.spec, failed) {
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
            jitter: Jitter::new(settings.prebuffer),
            decoder: VoiceIn::new(codec, self.spec.rate)?,
            pcm: vec![0; n / self.spec.channels()],
            added: vec![0; n],
            active: false,
            talk: watch(&settings, None),
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
        let rate = self.spec.rate;
        let Some(port) = self.port_mut(id) else { return false };
        port.talk = watch(&settings, port.talk.take());
        port.jitter.set_prebuffer(settings.prebuffer);
        if settings.suspended && !port.settings.suspended {
            // What it said before is not played after it comes back.
            port.jitter.reset();
            port.decoder.reset(rate);
        }
        port.settings = settings;
        true
    }

    /// Forgets a participant's buffered packets and decoder state (`resetdecoder`).
    pub fn reset_decoder(&mut self, id: u64) {
        let rate = self.spec.rate;
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
        self.prepare_groups();
        let stereo = self.spec.stereo;
        for port in &mut self.ports {
            // A suspended participant costs no decode, and is silent to the talk watcher.
            let decoded = !port.settings.suspended && {
                let next = port.jitter.pop();
                port.decoder.frame(next, &mut port.pcm)
            };
            if let Some(talk) = port.talk.as_mut() {
                // Nothing to play is silence: a participant who stops sending stops talking.
                let level = if decoded { level_of(&port.pcm) } else { 127 };
                if let Some((talking, level)) = talk.add(level) {
                    self.talks.push((port.id, talking, level));
                }
            }
            let sounding = decoded && port.pcm.iter().any(|s| s.unsigned_abs() > SILENCE);
            port.active = sounding && !port.settings.muted;
            if !port.active {
                continue;
            }
            let gain = port.settings.gain_percent as i32;
            if stereo {
                let pan = i32::from(port.settings.pan.min(100));
                let (left, right) = (gain * (100 - pan), gain * pan);
                for (lr, &s) in port.added.chunks_exact_mut(2).zip(&port.pcm) {
                    lr[0] = i32::from(s) * left / 10_000;
                    lr[1] = i32::from(s) * right / 10_000;
                }
            } else {
                for (added, &s) in port.added.iter_mut().zip(&port.pcm) {
                    *added = i32::from(s) * gain / 100;
                }
            }
            add(&mut self.sum, &port.added);
            let group = port.settings.group;
            if let Some((_, sum)) = self.groups.iter_mut().find(|(g, _)| group != 0 && *g == group) {
                add(sum, &port.added);
            }
        }
        for shared in &mut self.shared {
            shared.packet = None;
            shared.used = false;
        }
        // An empty room records nothing, its file keeps only what was heard: as Janus's, whose
        // mixer idles without anyone (here: without any port, so that a forwarder or an
        // announcement alone is recorded too, where Janus records only with participants in).
        if let Some(recorder) = self.recorder.as_mut().filter(|_| !self.ports.is_empty()) {
            clamp(&mut self.mix, &self.sum, None);
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
            let group = port.settings.hears_group;
            let sum = match group {
                0 => &self.sum,
                g => match self.groups.iter().find(|(h, _)| *h == g) {
                    Some((_, sum)) => sum,
                    None => continue,
                },
            };
            let key = EncoderKey::of(&port.settings);
            let heard_self = port.active && (group == 0 || port.settings.group == group);
            let payload = if heard_self {
                // Everyone but itself.
                clamp(&mut self.mix, sum, Some(&port.added));
                if port.encoder.is_none() || port.key != Some(key) {
                    port.encoder = VoiceOut::new(port.codec, self.spec, key).ok();
                    port.key = Some(key);
                }
                let Some(encoder) = port.encoder.as_mut() else { continue };
                let len = encoder.encode(&self.mix, &mut self.packet);
                Arc::from(&self.packet[..len])
            } else {
                let codec = port.codec;
                let i = match self
                    .shared
                    .iter()
                    .position(|s| s.key == key && s.codec == codec && s.group == group)
                {
                    Some(i) => i,
                    None => {
                        let Ok(encoder) = VoiceOut::new(codec, self.spec, key) else { continue };
                        self.shared.push(Shared { codec, key, group, encoder, packet: None, used: false });
                        self.shared.len() - 1
                    }
                };
                let shared = &mut self.shared[i];
                shared.used = true;
                match &shared.packet {
                    Some(p) => p.clone(),
                    None => {
                        clamp(&mut self.mix, sum, None);
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

    /// The changes of talking of the last tick: (port, talking, average level).
    pub fn talks(&mut self) -> std::vec::Drain<'_, (u64, bool, u8)> {
        self.talks.drain(..)
    }

    /// Makes (once) and zeroes the sums of the groups someone listens to alone this tick.
    fn prepare_groups(&mut self) {
        let ports = &self.ports;
        self.groups.retain(|(g, _)| ports.iter().any(|p| p.settings.hears_group == *g));
        for port in ports {
            let g = port.settings.hears_group;
            if g != 0 && !self.groups.iter().any(|(h, _)| *h == g) {
                self.groups.push((g, vec![0; self.sum.len()]));
            }
        }
        for (_, sum) in &mut self.groups {
            sum.fill(0);
        }
    }
}

/// A port's talking under `settings`: the one it had if they did not change it.
fn watch(settings: &PortSettings, had: Option<Level>) -> Option<Level> {
    let (packets, threshold) = (settings.talk_packets, settings.talk_threshold);
    if packets == 0 {
        return None;
    }
    had.filter(|l| l.is(packets, threshold)).or_else(|| Some(Level::new(packets, threshold)))
}

/// Adds a voice to a sum.
fn add(sum: &mut [i32], voice: &[i32]) {
    for (s, &v) in sum.iter_mut().zip(voice) {
        *s += v;
    }
}

/// A sum, less a voice if given, as 16-bit samples.
fn clamp(out: &mut [i16], sum: &[i32], less: Option<&[i32]>) {
    let limit = |s: i32| s.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    match less {
        Some(own) => {
            for ((m, &s), &o) in out.iter_mut().zip(sum).zip(own) {
                *m = limit(s - o);
            }
        }
        None => {
            for (m, &s) in out.iter_mut().zip(sum) {
                *m = limit(s);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::codec::OpusOut;
    use super::*;

    const RATE: u32 = 16_000;
    const N: usize = RATE as usize / 50;
    const MONO: MixerSpec = MixerSpec { rate: RATE, stereo: false };

    fn encoded_tone(freq: f64, ticks: usize) -> Vec<Arc<[u8]>> {
        let key = EncoderKey::of(&PortSettings { bitrate: 32_000, ..PortSettings::default() });
        let mut enc = OpusOut::new(MONO, key).expect("encoder");
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

    /// Runs `ticks` ticks with ports 1 and 2 talking (440 and 1000 Hz) and the others
    /// listening; returns what each port received, decoded (in a stereo room, interleaved).
    fn run(room: &mut Room, ticks: usize, base: u64) -> HashMap<u64, Vec<i16>> {
        let a = encoded_tone(440.0, ticks);
        let b = encoded_tone(1000.0, ticks);
        let channels = if room.spec.stereo { ropus::Channels::Stereo } else { ropus::Channels::Mono };
        let mut decoders: HashMap<u64, ropus::Decoder> = HashMap::new();
        let mut heard: HashMap<u64, Vec<i16>> = HashMap::new();
        let ch = room.spec.channels();
        let mut frame = vec![0i16; N * ch];
        for t in 0..ticks {
            room.packet(1, MixCodec::Opus, base + t as u64, a[t].clone());
            room.packet(2, MixCodec::Opus, base + t as u64, b[t].clone());
            room.tick(&mut |f: MixFrame| {
                let dec = decoders
                    .entry(f.port)
                    .or_insert_with(|| ropus::Decoder::new(RATE, channels).expect("decoder"));
                let got = match f.codec {
                    MixCodec::Opus => {
                        ch * dec.decode(&f.payload, &mut frame, ropus::DecodeMode::Normal).expect("decode")
                    }
                    _ => {
                        // G.711 at 8 kHz: each sample twice, back to the room's rate.
                        for (pair, &b) in frame.chunks_exact_mut(2).zip(f.payload.iter()) {
                            pair.fill(super::super::g711::ulaw_decode(b));
                        }
                        N
                    }
                };
                heard.entry(f.port).or_default().extend_from_slice(&frame[..got]);
            });
        }
        heard
    }

    #[test]
    fn everyone_hears_the_others_and_not_themselves() {
        let mut room = Room::new(MONO);
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

    /// A tick (jitter buffers, decoding with loss concealment and FEC, mixing, encoding)
    /// allocates nothing but the packets it sends, at every rate (SILK, hybrid and CELT).
    /// Counted once the encoders are made: a participant that starts talking gets its own,
    /// which allocates.
    #[test]
    fn a_tick_allocates_only_its_packets() {
        use crate::alloc_count::{counting, counts};
        let specs = [8_000, 16_000, 24_000, 48_000]
            .into_iter()
            .flat_map(|rate| [false, true].map(|stereo| MixerSpec { rate, stereo }));
        for spec in specs {
            let rate = format!("{} Hz{}", spec.rate, if spec.stereo { " stereo" } else { "" });
            let mut room = Room::new(spec);
            let fec = PortSettings { expected_loss: 10, ..PortSettings::default() };
            for id in 1..=3 {
                room.join(id, 0, MixCodec::Opus, if id == 2 { fec } else { PortSettings::default() })
                    .expect("join");
            }
            let (a, b) = (encoded_tone(440.0, 60), encoded_tone(1000.0, 60));
            let (mut sent, mut allocs) = (0u64, 0u64);
            for t in 0..60 {
                room.packet(1, MixCodec::Opus, t as u64, a[t].clone());
                // Port 2 loses every seventh packet: concealed, or restored from FEC.
                if t % 7 != 3 {
                    room.packet(2, MixCodec::Opus, t as u64, b[t].clone());
                }
                let before = counts().allocs;
                counting(t >= 40);
                room.tick(&mut |_| sent += u64::from(t >= 40));
                counting(false);
                allocs += counts().allocs - before;
            }
            // Each packet is one allocation (its bytes, shared by whoever gets them).
            assert_eq!(sent, 20 * 3, "{rate}");
            assert_eq!(allocs, sent, "allocations in 20 ticks at {rate}, beyond their packets");
        }
    }

    #[test]
    fn muted_and_deaf_and_gain_take_effect() {
        let mut room = Room::new(MONO);
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
    fn a_suspended_participant_is_neither_heard_nor_hearing_until_resumed() {
        let mut room = Room::new(MONO);
        let suspended = PortSettings { suspended: true, ..PortSettings::default() };
        room.join(1, 0, MixCodec::Opus, suspended).expect("join");
        for id in 2..=3 {
            room.join(id, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        }
        let heard = run(&mut room, 50, 0);
        assert!(!heard.contains_key(&1), "a suspended participant gets nothing");
        let tail = |heard: &HashMap<u64, Vec<i16>>, id: u64| heard[&id][N * 10..].to_vec();
        assert!(power(&tail(&heard, 3), 440.0) < 1e3, "1 is not heard: {}", power(&tail(&heard, 3), 440.0));
        assert!(power(&tail(&heard, 3), 1000.0) > 1e5, "2 is heard");
        room.set(1, PortSettings::default());
        let heard = run(&mut room, 50, 50);
        assert!(power(&tail(&heard, 3), 440.0) > 1e5, "1 is heard once resumed");
        assert!(power(&tail(&heard, 1), 1000.0) > 1e5, "1 hears 2 once resumed");
    }

    /// A participant's `prebuffer`: what it says is mixed once that many packets are in.
    #[test]
    fn a_participants_prebuffer_delays_its_voice_in_the_mix() {
        // The tick at which port 2 first gets a mix, with port 1 talking a packet a tick.
        let first_heard = |prebuffer: u8| {
            let mut room = Room::new(MONO);
            room.join(1, 0, MixCodec::Opus, PortSettings { prebuffer, ..PortSettings::default() })
                .expect("join");
            room.join(2, 0, MixCodec::Opus, PortSettings::default()).expect("join");
            let talk = encoded_tone(440.0, 30);
            let mut dec = ropus::Decoder::new(RATE, ropus::Channels::Mono).expect("decoder");
            let mut frame = vec![0i16; N];
            (0..30).find(|&t| {
                room.packet(1, MixCodec::Opus, t as u64, talk[t].clone());
                let mut heard = false;
                room.tick(&mut |f: MixFrame| {
                    if f.port == 2 {
                        let got =
                            dec.decode(&f.payload, &mut frame, ropus::DecodeMode::Normal).expect("decode");
                        heard |= power(&frame[..got], 440.0) > 1e5;
                    }
                });
                heard
            })
        };
        let (host, ten) = (first_heard(0).expect("heard"), first_heard(10).expect("heard"));
        assert_eq!(ten - host, 8, "ten packets wait where two did: {host} then {ten}");
    }

    #[test]
    fn listeners_share_one_encode() {
        let mut room = Room::new(MONO);
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

    /// The left or right channel of interleaved samples.
    fn side(pcm: &[i16], right: bool) -> Vec<i16> {
        pcm.chunks_exact(2).map(|lr| lr[usize::from(right)]).collect()
    }

    #[test]
    fn a_stereo_room_places_each_voice_and_g711_hears_both() {
        let mut room = Room::new(MixerSpec { rate: RATE, stereo: true });
        room.join(1, 0, MixCodec::Opus, PortSettings { pan: 0, ..PortSettings::default() }).expect("join");
        room.join(2, 0, MixCodec::Opus, PortSettings { pan: 100, ..PortSettings::default() }).expect("join");
        room.join(3, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        room.join(4, 0, MixCodec::Pcmu, PortSettings::default()).expect("join");
        let heard = run(&mut room, 50, 0);
        let tail = &heard[&3][N * 2 * 10..];
        let (left, right) = (side(tail, false), side(tail, true));
        assert!(power(&left, 440.0) > 100.0 * power(&left, 1000.0), "1 on the left");
        assert!(power(&right, 1000.0) > 100.0 * power(&right, 440.0), "2 on the right");
        assert!(power(&left, 440.0) > 1e5 && power(&right, 1000.0) > 1e5, "both heard");
        let phone = &heard[&4][N * 10..];
        assert!(power(phone, 440.0) > 1e5 && power(phone, 1000.0) > 1e5, "a G.711 phone hears both, in mono");
        // 1 hears 2 on the right only, and not itself.
        let one = &heard[&1][N * 2 * 10..];
        assert!(power(&side(one, true), 1000.0) > 100.0 * power(&side(one, false), 1000.0));
        assert!(power(&side(one, true), 1000.0) > 100.0 * power(&side(one, true), 440.0));
    }

    #[test]
    fn an_empty_room_records_nothing() {
        let dir = std::env::temp_dir().join(format!("portunus-empty-record-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("mix.wav");
        let mut room = Room::new(MONO);
        room.record(Some(std::fs::File::create(&path).unwrap()), Box::new(|_| {}));
        room.join(1, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        run(&mut room, 5, 0);
        room.leave(1);
        run(&mut room, 20, 5);
        room.record(None, Box::new(|_| {}));
        // The writer finishes once the recorder is gone: five ticks of the one participant.
        let want = 44 + 5 * N * 2;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let complete = || {
            std::fs::read(&path)
                .is_ok_and(|b| b.len() == want && b[40..44] == ((want - 44) as u32).to_le_bytes())
        };
        while !complete() {
            assert!(
                std::time::Instant::now() < deadline,
                "{:?} bytes",
                std::fs::metadata(&path).map(|m| m.len())
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_listener_of_a_group_hears_only_that_group() {
        let mut room = Room::new(MONO);
        room.join(1, 0, MixCodec::Opus, PortSettings { group: 1, ..PortSettings::default() }).expect("join");
        room.join(2, 0, MixCodec::Opus, PortSettings { group: 2, ..PortSettings::default() }).expect("join");
        let forwarder = PortSettings { muted: true, hears_group: 2, ..PortSettings::default() };
        room.join(3, 0, MixCodec::Opus, forwarder).expect("join");
        room.join(4, 0, MixCodec::Opus, PortSettings::default()).expect("join");
        room.join(5, 0, MixCodec::Opus, PortSettings { hears_group: 1, ..PortSettings::default() })
            .expect("join");
        let heard = run(&mut room, 50, 0);
        let tail = |id: u64| heard[&id][N * 10..].to_vec();
        let (p440, p1000) = (|id| power(&tail(id), 440.0), |id| power(&tail(id), 1000.0));
        assert!(p1000(3) > 1e5 && p1000(3) > 100.0 * p440(3), "3 hears group 2 alone");
        assert!(p440(5) > 1e5 && p440(5) > 100.0 * p1000(5), "5 hears group 1 alone");
        assert!(p440(4) > 1e5 && p1000(4) > 1e5, "4 hears every group");
        assert!(p440(2) > 1e5 && p1000(2) < p440(2) / 100.0, "2 hears 1, not itself");
        // Groups nobody listens to alone are not summed.
        room.leave(3);
        room.leave(5);
        run(&mut room, 1, 50);
        assert!(room.groups.is_empty());
    }
}

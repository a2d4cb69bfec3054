//! Audio files played as an RTP input (Streaming's file mountpoints): Opus-in-Ogg, or raw G.711
//! (A-law or μ-law, 8 kHz) in 20 ms packets, as Janus plays `.alaw` and `.mulaw` files. The
//! packets are read once, when the input opens, and sent at their own pace by the media thread,
//! as if they came from the network.

use std::io::Cursor;
use std::time::{Duration, Instant};

/// Largest file read.
pub const MAX_FILE: u64 = 64 << 20;

/// The audio packets of a file, each with its length in samples at `clock`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AudioFile {
    pub packets: Vec<(Vec<u8>, u32)>,
    /// The RTP clock (48 kHz for Opus, 8 kHz for G.711).
    pub clock: u32,
}

/// Samples in a packet of a raw G.711 file: 20 ms at 8 kHz, one byte each.
const G711_PACKET: usize = 160;

/// The samples (at 48 kHz) an Opus packet holds, from its TOC byte (RFC 6716 §3.1); none for
/// a packet that is not one.
pub fn opus_samples(packet: &[u8]) -> Option<u32> {
    let toc = *packet.first()?;
    let config = toc >> 3;
    // Frame sizes in units of 2.5 ms.
    let units = match config {
        0..=11 => [4, 8, 16, 24][usize::from(config % 4)],
        12..=15 => [4, 8][usize::from(config % 2)],
        _ => [1, 2, 4, 8][usize::from(config % 4)],
    };
    let frames = match toc & 3 {
        0 => 1,
        1 | 2 => 2,
        _ => u32::from(*packet.get(1)? & 0x3f),
    };
    let samples = units * 120 * frames;
    // At most 120 ms a packet.
    (frames > 0 && samples <= 5760).then_some(samples)
}

impl AudioFile {
    /// Reads an Opus-in-Ogg file's audio packets (after `OpusHead` and `OpusTags`).
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        let mut reader = ogg::PacketReader::new(Cursor::new(bytes));
        let mut packets = Vec::new();
        let mut index = 0usize;
        loop {
            let packet = match reader.read_packet() {
                Ok(Some(p)) => p,
                Ok(None) => break,
                Err(e) => return Err(format!("not an Ogg file: {e}")),
            };
            match index {
                0 if !packet.data.starts_with(b"OpusHead") => {
                    return Err("not an Opus file (no OpusHead)".into())
                }
                0 | 1 => {}
                _ => {
                    let Some(samples) = opus_samples(&packet.data) else { continue };
                    packets.push((packet.data, samples));
                }
            }
            index += 1;
        }
        if packets.is_empty() {
            return Err("no audio in the file".into());
        }
        Ok(Self { packets, clock: 48000 })
    }

    /// A raw G.711 file's bytes, in 20 ms packets (the last one shorter when the file ends
    /// within one).
    pub fn g711(bytes: &[u8]) -> Result<Self, String> {
        if bytes.is_empty() {
            return Err("no audio in the file".into());
        }
        let packets = bytes.chunks(G711_PACKET).map(|c| (c.to_vec(), c.len() as u32)).collect();
        Ok(Self { packets, clock: 8000 })
    }

    /// Reads a file from disk (at most [`MAX_FILE`] bytes): Opus-in-Ogg, or raw G.711 when
    /// `g711`.
    pub fn read(path: &std::path::Path, g711: bool) -> Result<Self, String> {
        let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if meta.len() > MAX_FILE {
            return Err(format!("{}: larger than {MAX_FILE} bytes", path.display()));
        }
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        if g711 {
            Self::g711(&bytes)
        } else {
            Self::parse(&bytes)
        }
    }
}

/// Plays a file's packets as RTP, each when it is due.
#[derive(Debug)]
pub struct Player {
    file: AudioFile,
    /// Start again at the end (Janus's file mountpoints loop).
    looped: bool,
    next: usize,
    /// When the next packet is due (none before it starts, and after its end).
    pub due: Option<Instant>,
    started: bool,
    seq: u16,
    time: u32,
    ssrc: u32,
    pt: u8,
}

impl Player {
    /// A player that starts now (a file everyone hears together), or `on_demand` with its
    /// first rule ([`Player::start`]: a file played for one viewer from its start).
    pub fn new(file: AudioFile, looped: bool, on_demand: bool, pt: u8, now: Instant) -> Self {
        let ssrc = rand::random();
        let due = (!on_demand).then_some(now);
        let (seq, time) = (rand::random(), rand::random());
        Self { file, looped, next: 0, due, started: !on_demand, seq, time, ssrc, pt }
    }

    /// Starts a player that waits for its first rule; returns when its first packet is due.
    pub fn start(&mut self, now: Instant) -> Option<Instant> {
        if std::mem::replace(&mut self.started, true) {
            return None;
        }
        self.due = Some(now);
        self.due
    }

    /// The next packet, as RTP, if it is due at `now` (its successor is then due one packet
    /// later); `buf` gets the datagram.
    pub fn next_packet(&mut self, now: Instant, buf: &mut Vec<u8>) -> bool {
        let Some(due) = self.due.filter(|d| *d <= now) else { return false };
        if self.next == self.file.packets.len() {
            if !self.looped {
                self.due = None;
                return false;
            }
            self.next = 0;
        }
        let (payload, samples) = &self.file.packets[self.next];
        buf.clear();
        buf.extend_from_slice(&[0x80, self.pt & 0x7f]);
        buf.extend_from_slice(&self.seq.to_be_bytes());
        buf.extend_from_slice(&self.time.to_be_bytes());
        buf.extend_from_slice(&self.ssrc.to_be_bytes());
        buf.extend_from_slice(payload);
        self.seq = self.seq.wrapping_add(1);
        self.time = self.time.wrapping_add(*samples);
        self.next += 1;
        // Paced from the schedule, not from when we woke: no drift.
        let micros = u64::from(*samples) * 1_000_000 / u64::from(self.file.clock.max(1));
        self.due = Some(due + Duration::from_micros(micros));
        true
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn opus_packet_durations_come_from_the_toc() {
        assert_eq!(opus_samples(&[0xfc]), Some(960)); // CELT FB 20 ms
        assert_eq!(opus_samples(&[0x08]), Some(960)); // SILK NB 20 ms (config 1)
        assert_eq!(opus_samples(&[0xf9]), Some(1920)); // two 20 ms frames
        assert_eq!(opus_samples(&[0xfb, 3]), Some(2880)); // three frames (code 3)
        assert_eq!(opus_samples(&[0xfb, 0]), None);
        assert_eq!(opus_samples(&[]), None);
    }

    /// An Opus-in-Ogg file as opusenc writes one: head, tags, audio.
    pub(crate) fn ogg_opus(packets: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = ogg::PacketWriter::new(&mut out);
        let mut head = b"OpusHead".to_vec();
        head.extend_from_slice(&[1, 2, 0x38, 0x01, 0x80, 0xbb, 0, 0, 0, 0, 0]);
        w.write_packet(head, 1, ogg::PacketWriteEndInfo::EndPage, 0).unwrap();
        w.write_packet(b"OpusTags\0\0\0\0\0\0\0\0".to_vec(), 1, ogg::PacketWriteEndInfo::EndPage, 0).unwrap();
        for (i, p) in packets.iter().enumerate() {
            let end = if i + 1 == packets.len() {
                ogg::PacketWriteEndInfo::EndStream
            } else {
                ogg::PacketWriteEndInfo::NormalPacket
            };
            w.write_packet(p.clone(), 1, end, (i as u64 + 1) * 960).unwrap();
        }
        drop(w);
        out
    }

    #[test]
    fn a_file_plays_at_its_own_pace_and_loops() {
        let bytes = ogg_opus(&[vec![0xfc, 1], vec![0xfc, 2]]);
        let file = AudioFile::parse(&bytes).expect("parses");
        assert_eq!(file.packets, [(vec![0xfc, 1], 960), (vec![0xfc, 2], 960)]);
        let t0 = Instant::now();
        let mut p = Player::new(file, true, false, 111, t0);
        let mut buf = Vec::new();
        assert!(p.next_packet(t0, &mut buf));
        assert_eq!((buf[1], &buf[12..]), (111, &[0xfc, 1][..]));
        assert!(!p.next_packet(t0 + Duration::from_millis(19), &mut buf), "the next one is due in 20 ms");
        assert!(p.next_packet(t0 + Duration::from_millis(20), &mut buf));
        assert!(p.next_packet(t0 + Duration::from_millis(40), &mut buf), "it loops");
        assert_eq!(&buf[12..], &[0xfc, 1]);
        assert!(AudioFile::parse(b"OggS garbage").is_err());
        // One that does not loop waits for its start, and ends.
        let file = AudioFile::parse(&bytes).expect("parses");
        let mut once = Player::new(file, false, true, 111, t0);
        assert!(!once.next_packet(t0, &mut buf), "not started");
        assert_eq!(once.start(t0), Some(t0));
        assert_eq!(once.start(t0), None, "started once");
        assert!(once.next_packet(t0, &mut buf) && once.next_packet(t0 + Duration::from_millis(20), &mut buf));
        assert!(!once.next_packet(t0 + Duration::from_millis(40), &mut buf), "the end");
        assert!(AudioFile::parse(&ogg_opus(&[])).is_err(), "no audio");
    }
}

#[cfg(test)]
mod g711_tests {
    use super::*;

    #[test]
    fn a_g711_file_plays_in_20_ms_packets_at_8_khz() {
        let bytes: Vec<u8> = (0..400u32).map(|i| i as u8).collect();
        let file = AudioFile::g711(&bytes).expect("audio");
        assert_eq!(file.packets.iter().map(|p| p.1).collect::<Vec<_>>(), [160, 160, 80]);
        assert!(AudioFile::g711(&[]).is_err());
        let t0 = Instant::now();
        let mut p = Player::new(file, false, true, 8, t0);
        p.start(t0);
        let mut buf = Vec::new();
        assert!(p.next_packet(t0, &mut buf));
        assert_eq!((buf[1], buf.len(), buf[12]), (8, 12 + 160, 0));
        let time = |b: &[u8]| u32::from_be_bytes([b[4], b[5], b[6], b[7]]);
        let first = time(&buf);
        assert!(!p.next_packet(t0 + Duration::from_millis(19), &mut buf), "the next one is due in 20 ms");
        assert!(p.next_packet(t0 + Duration::from_millis(20), &mut buf));
        assert_eq!((time(&buf).wrapping_sub(first), buf[12]), (160, 160));
    }
}

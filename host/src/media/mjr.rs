//! Recording a stream to an .mjr file, Janus's recording format, so that Janus's own tools
//! (`janus-pp-rec`) turn it into a playable file: the magic `MJR00002`, then, with the first
//! packet, a JSON header (`t` the kind, `c` the codec, `s` when the file was made and `u` when
//! the first packet came, in microseconds since the epoch), then each RTP packet as
//! `MEET`, the milliseconds since the first packet and the packet's length (big-endian, 4 and
//! 2 bytes), and the packet. A data stream's recording (`t` `d`, codec `text`) holds each
//! data-channel message the same way, after the time it came (microseconds since the epoch,
//! 8 bytes), as Janus records data channels.
//!
//! The media thread appends to the file through an [`Appender`], so it never waits for the
//! disk and allocates nothing per packet.

use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use str0m::format::Codec;

use super::appender::Appender;
use super::router::Rewrite;
use crate::vocab::RecordFile;

/// The file's first bytes.
pub const MAGIC: &[u8] = b"MJR00002";
/// Each packet's first bytes.
const FRAME: &[u8] = b"MEET";
/// What goes before each packet: `MEET`, the time, the length.
const FRAME_HEADER: usize = FRAME.len() + 4 + 2;
/// Room kept for the file's JSON header before the first frame.
const HEADER_ROOM: usize = 256;
/// The .mjr name of a codec, for the ones Janus records.
pub fn codec_name(codec: Codec) -> Option<&'static str> {
    Some(match codec {
        Codec::Opus => "opus",
        Codec::PCMU => "pcmu",
        Codec::PCMA => "pcma",
        Codec::G722 => "g722",
        Codec::Vp8 => "vp8",
        Codec::Vp9 => "vp9",
        Codec::H264 => "h264",
        Codec::H265 => "h265",
        Codec::Av1 => "av1",
        _ => return None,
    })
}

fn micros_since_epoch(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A recording as a rule's destination: the media thread's end.
#[derive(Debug)]
pub struct Mjr {
    out: Appender,
    created: SystemTime,
    /// When the first packet came (the header is written then).
    first: Option<Instant>,
    /// How the packets' numbers are made from the sources' (set by the first packet).
    pub rewrite: Option<Rewrite>,
    /// The SSRC the packets are recorded with.
    pub ssrc: u32,
}

impl Mjr {
    /// A recording into `file` (whose magic is written already).
    pub fn new(file: Arc<RecordFile>) -> Self {
        Self {
            out: Appender::new(file, "recording"),
            created: SystemTime::now(),
            first: None,
            rewrite: None,
            ssrc: rand::random(),
        }
    }

    /// Appends an RTP packet (`rtp`, header and payload) of a `video` or audio stream in `codec`.
    pub fn frame(&mut self, now: Instant, video: bool, codec: &str, rtp: &[u8]) {
        self.append(now, if video { "v" } else { "a" }, codec, None, rtp);
    }

    /// Appends a data-channel message (a data stream's recording).
    pub fn message(&mut self, now: Instant, data: &[u8]) {
        self.append(now, "d", "text", Some(micros_since_epoch(SystemTime::now())), data);
    }

    /// Appends a frame: the header first in a new file (`kind`, `codec`), then `MEET`, the
    /// time, the length, `stamp` (a message's arrival) if any, and `body`.
    fn append(&mut self, now: Instant, kind: &str, codec: &str, stamp: Option<u64>, body: &[u8]) {
        let extra = if stamp.is_some() { 8 } else { 0 };
        let Ok(len) = u16::try_from(body.len() + extra) else { return };
        // A message larger than a buffer is left out: Janus's frames hold at most 64 KiB too.
        // (The file's header, first, takes well under `HEADER_ROOM`.)
        let need = FRAME_HEADER + usize::from(len) + if self.first.is_none() { HEADER_ROOM } else { 0 };
        let Some(buf) = self.out.room(need) else { return };
        let first = *self.first.get_or_insert_with(|| {
            let header = serde_json::json!({
                "t": kind,
                "c": codec,
                "s": micros_since_epoch(self.created),
                "u": micros_since_epoch(SystemTime::now()),
            })
            .to_string();
            buf.extend_from_slice(&(header.len() as u16).to_be_bytes());
            buf.extend_from_slice(header.as_bytes());
            now
        });
        let ms = u32::try_from(now.duration_since(first).as_millis()).unwrap_or(u32::MAX);
        buf.extend_from_slice(FRAME);
        buf.extend_from_slice(&ms.to_be_bytes());
        buf.extend_from_slice(&len.to_be_bytes());
        if let Some(stamp) = stamp {
            buf.extend_from_slice(&stamp.to_be_bytes());
        }
        buf.extend_from_slice(body);
    }

    /// Hands what is buffered to the writer.
    pub fn flush(&mut self) {
        self.out.flush();
    }
}

#[cfg(test)]
mod tests {
    use super::super::appender::testing;
    use super::*;
    use std::io::Write;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    /// What a recording fed by `feed` wrote, once the writer is done: the JSON header and each
    /// frame's time and bytes (after the magic and the 10-byte frame header).
    fn recorded(name: &str, feed: impl FnOnce(&mut Mjr)) -> (serde_json::Value, Vec<(u32, Vec<u8>)>) {
        let file = testing::file(&format!("mjr-{name}"));
        (&file.file).write_all(MAGIC).unwrap();
        let mut mjr = Mjr::new(file.clone());
        feed(&mut mjr);
        drop(mjr);
        let bytes = testing::written(file);
        assert_eq!(&bytes[..8], MAGIC);
        let hlen = u16::from_be_bytes([bytes[8], bytes[9]]) as usize;
        let header: serde_json::Value = serde_json::from_slice(&bytes[10..10 + hlen]).unwrap();
        let mut at = 10 + hlen;
        let mut frames = Vec::new();
        while at < bytes.len() {
            assert_eq!(&bytes[at..at + 4], FRAME);
            let ms = u32::from_be_bytes(bytes[at + 4..at + 8].try_into().unwrap());
            let len = u16::from_be_bytes([bytes[at + 8], bytes[at + 9]]) as usize;
            frames.push((ms, bytes[at + 10..at + 10 + len].to_vec()));
            at += 10 + len;
        }
        (header, frames)
    }

    /// Packets come out as Janus lays them: magic, header, then `MEET`, time, length, packet.
    #[test]
    fn a_recording_is_laid_out_as_janus_reads_it() {
        let (header, frames) = recorded("rtp", |mjr| {
            let t0 = Instant::now();
            mjr.frame(t0, false, "opus", &[0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xfc]);
            let second = [0x80, 111, 0, 2, 0, 0, 3, 0xc0, 0, 0, 0, 1];
            mjr.frame(t0 + Duration::from_millis(20), false, "opus", &second);
        });
        assert_eq!(header["t"], "a");
        assert_eq!(header["c"], "opus");
        assert!(header["u"].as_u64().unwrap() >= header["s"].as_u64().unwrap());
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].0, 0);
        assert_eq!(frames[1].0, 20);
        assert_eq!(frames[0].1.last(), Some(&0xfc));
        assert_eq!(frames[1].1.len(), 12);
    }

    /// A data stream's messages are laid out as Janus records data channels: header `t` `d`,
    /// codec `text`, each frame's length counting the 8-byte arrival time before the message.
    #[test]
    fn data_messages_are_laid_out_as_janus_reads_them() {
        let before = micros_since_epoch(SystemTime::now());
        let (header, frames) = recorded("data", |mjr| {
            let t0 = Instant::now();
            mjr.message(t0, b"hello");
            mjr.message(t0 + Duration::from_millis(1500), "wörld".as_bytes());
            // Too large for a frame: left out, nothing else lost.
            mjr.message(t0, &vec![b'x'; 70_000]);
        });
        assert_eq!((&header["t"], &header["c"]), (&serde_json::json!("d"), &serde_json::json!("text")));
        let messages: Vec<(u32, &[u8])> = frames
            .iter()
            .map(|(ms, bytes)| {
                let stamp = u64::from_be_bytes(bytes[..8].try_into().unwrap());
                assert!(stamp >= before, "{stamp} {before}");
                (*ms, &bytes[8..])
            })
            .collect();
        assert_eq!(messages, [(0, &b"hello"[..]), (1500, "wörld".as_bytes())]);
    }

    /// The buffer never grows: a packet that would not fit goes in the next buffer (the
    /// media thread allocates nothing per packet).
    #[test]
    fn packets_never_grow_the_buffer() {
        let Ok(file) = std::fs::OpenOptions::new().write(true).open("/dev/null") else { return };
        let file = Arc::new(RecordFile {
            path: "/dev/null".into(),
            file,
            failed: AtomicBool::new(false),
            complete_as: None,
        });
        let mut mjr = Mjr::new(file);
        let packet = vec![0x80u8; 1200];
        for _ in 0..500 {
            mjr.frame(Instant::now(), true, "vp8", &packet);
            assert_eq!(mjr.out.capacity(), super::super::appender::CHUNK, "at {} bytes", mjr.out.len());
        }
    }

    /// A full disk stops the recording (and says so), it does not stall the media thread or
    /// take more packets.
    #[test]
    fn a_full_disk_stops_the_recording() {
        let Ok(file) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
            eprintln!("SKIPPED: no /dev/full here");
            return;
        };
        let file = Arc::new(RecordFile {
            path: "/dev/full".into(),
            file,
            failed: AtomicBool::new(false),
            complete_as: None,
        });
        let mut mjr = Mjr::new(file.clone());
        mjr.frame(Instant::now(), false, "opus", &[0x80, 111, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xfc]);
        mjr.flush();
        let deadline = Instant::now() + Duration::from_secs(5);
        while !file.failed.load(Ordering::Relaxed) {
            assert!(Instant::now() < deadline, "the writer saw the disk full");
            std::thread::sleep(Duration::from_millis(5));
        }
        mjr.frame(Instant::now(), false, "opus", &[0x80, 111, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0xfc]);
        assert_eq!(mjr.out.len(), 0, "a stopped recording takes no more packets");
    }
}

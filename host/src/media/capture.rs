//! Packet captures of one handle's media, as Janus's admin `start_pcap` and `start_text2pcap`
//! make them: every RTP packet the handle's PeerConnection receives and sends, unencrypted,
//! either in a legacy pcap file (each packet in made-up Ethernet, IPv4 and UDP headers:
//! received ones from 10.1.1.1:1000 to 10.2.2.2:2000, sent ones back) or as text for
//! `text2pcap` (`I` or `O`, the time, the bytes in hex, `RTP` and the handle). Packets are
//! written with their RTP header as sent on the wire without its extensions; RTCP and data
//! channel messages, which the WebRTC stack handles itself, are not captured.
//!
//! The media thread appends through an [`Appender`]: it never waits for the disk.

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

use super::appender::Appender;
use crate::vocab::{CaptureSpec, HandleRef};

/// The RTP header fields a captured packet is written with.
#[derive(Debug, Clone, Copy)]
pub struct RtpFields {
    /// Payload type.
    pub pt: u8,
    /// Marker bit.
    pub marker: bool,
    /// Sequence number.
    pub seq: u16,
    /// RTP timestamp.
    pub time: u32,
    /// SSRC.
    pub ssrc: u32,
}

/// A pcap file's header: the magic (this machine's byte order), version 2.4, UTC, 65535 bytes
/// a packet at most, Ethernet.
fn file_header() -> [u8; 24] {
    let mut h = [0u8; 24];
    h[..4].copy_from_slice(&0xa1b2_c3d4u32.to_ne_bytes());
    h[4..6].copy_from_slice(&2u16.to_ne_bytes());
    h[6..8].copy_from_slice(&4u16.to_ne_bytes());
    h[16..20].copy_from_slice(&65535u32.to_ne_bytes());
    h[20..24].copy_from_slice(&1u32.to_ne_bytes());
    h
}

/// The made-up Ethernet, IPv4 and UDP headers around a packet of `len` bytes.
fn encapsulation(incoming: bool, len: usize) -> [u8; 42] {
    let mut h = [0u8; 42];
    h[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    let ip = &mut h[14..34];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((28 + len) as u16).to_be_bytes());
    ip[6..8].copy_from_slice(&0x4000u16.to_be_bytes());
    ip[8] = 64;
    ip[9] = 17;
    let (from, to) = if incoming { (1, 2) } else { (2, 1) };
    ip[12..16].copy_from_slice(&[10, from, from, from]);
    ip[16..20].copy_from_slice(&[10, to, to, to]);
    let udp = &mut h[34..42];
    let (from, to) = if incoming { (1000u16, 2000u16) } else { (2000, 1000) };
    udp[..2].copy_from_slice(&from.to_be_bytes());
    udp[2..4].copy_from_slice(&to.to_be_bytes());
    udp[4..6].copy_from_slice(&((8 + len) as u16).to_be_bytes());
    h
}

/// A capture in progress.
#[derive(Debug)]
pub struct Capture {
    out: Appender,
    text: bool,
    /// Bytes of each packet kept (0: all).
    truncate: usize,
    /// What ends each text line: the session and the handle.
    label: String,
}

impl Capture {
    /// Starts capturing for `handle` into the spec's file (a new pcap file gets its header).
    pub fn new(spec: CaptureSpec, handle: HandleRef) -> Self {
        let mut out = Appender::new(spec.file, "capture");
        if !spec.text && spec.fresh {
            if let Some(buf) = out.room(24) {
                buf.extend_from_slice(&file_header());
            }
        }
        Self {
            out,
            text: spec.text,
            truncate: spec.truncate,
            label: format!("[session={}][handle={}]", handle.session_id, handle.handle_id),
        }
    }

    /// Captures an RTP packet the handle received (`incoming`) or sent.
    pub fn rtp(&mut self, incoming: bool, rtp: RtpFields, payload: &[u8]) {
        let header = super::core::rtp_header(rtp.pt, rtp.marker, rtp.seq, rtp.time, rtp.ssrc);
        let len = header.len() + payload.len();
        let kept = if self.truncate == 0 { len } else { len.min(self.truncate) };
        let bytes = header.iter().chain(payload.iter()).take(kept);
        let since_epoch = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        if self.text {
            let need = 32 + 3 * kept + self.label.len();
            let Some(buf) = self.out.room(need) else { return };
            let secs = since_epoch.as_secs() % 86_400;
            let direction = if incoming { "I" } else { "O" };
            let _ = write!(
                buf,
                "{direction} {:02}:{:02}:{:02}.{:06} 000000 ",
                secs / 3600,
                secs / 60 % 60,
                secs % 60,
                since_epoch.subsec_micros()
            );
            for b in bytes {
                let _ = write!(buf, " {b:02x}");
            }
            let _ = write!(buf, " RTP {}\r\n", self.label);
        } else {
            let Some(buf) = self.out.room(16 + 42 + kept) else { return };
            buf.extend_from_slice(&(since_epoch.as_secs() as u32).to_ne_bytes());
            buf.extend_from_slice(&since_epoch.subsec_micros().to_ne_bytes());
            buf.extend_from_slice(&((42 + kept) as u32).to_ne_bytes());
            buf.extend_from_slice(&((42 + len) as u32).to_ne_bytes());
            buf.extend_from_slice(&encapsulation(incoming, len));
            buf.extend(bytes);
        }
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

    /// What a capture fed by `feed` wrote, once the writer is done.
    fn captured(name: &str, text: bool, truncate: usize, feed: impl FnOnce(&mut Capture)) -> Vec<u8> {
        let file = testing::file(&format!("capture-{name}"));
        let spec = CaptureSpec { file: file.clone(), text, truncate, fresh: true };
        let mut capture = Capture::new(spec, HandleRef { session_id: 7, handle_id: 9 });
        feed(&mut capture);
        drop(capture);
        testing::written(file)
    }

    const RTP: RtpFields =
        RtpFields { pt: 111, marker: true, seq: 0x0102, time: 0x0304_0506, ssrc: 0x0a0b_0c0d };

    /// A pcap file: its header, then each packet in its record with the made-up headers.
    #[test]
    fn packets_are_laid_out_as_pcap_reads_them() {
        let bytes = captured("pcap", false, 0, |c| {
            c.rtp(true, RTP, &[0xaa, 0xbb]);
            c.rtp(false, RTP, &[0xcc]);
        });
        assert_eq!(bytes[..24], file_header());
        let first = &bytes[24..24 + 16 + 42 + 14];
        assert_eq!(u32::from_ne_bytes(first[8..12].try_into().unwrap()), 42 + 14);
        assert_eq!(u32::from_ne_bytes(first[12..16].try_into().unwrap()), 42 + 14);
        let frame = &first[16..];
        assert_eq!(&frame[26..34], &[10, 1, 1, 1, 10, 2, 2, 2], "incoming: 10.1.1.1 to 10.2.2.2");
        assert_eq!(&frame[34..38], &[0x03, 0xe8, 0x07, 0xd0], "ports 1000 to 2000");
        assert_eq!(&frame[42..], &[0x80, 0x80 | 111, 1, 2, 3, 4, 5, 6, 0x0a, 0x0b, 0x0c, 0x0d, 0xaa, 0xbb]);
        let second = &bytes[24 + 16 + 42 + 14..];
        assert_eq!(second.len(), 16 + 42 + 13);
        assert_eq!(&second[16 + 26..16 + 34], &[10, 2, 2, 2, 10, 1, 1, 1], "outgoing: back");
    }

    /// Truncated packets keep their first bytes; the record says how long they were.
    #[test]
    fn truncate_keeps_the_first_bytes() {
        let bytes = captured("truncated", false, 4, |c| c.rtp(true, RTP, &[0xaa; 100]));
        let record = &bytes[24..];
        assert_eq!(u32::from_ne_bytes(record[8..12].try_into().unwrap()), 42 + 4);
        assert_eq!(u32::from_ne_bytes(record[12..16].try_into().unwrap()), 42 + 112);
        assert_eq!(record.len(), 16 + 42 + 4);
    }

    /// Text lines as text2pcap reads them, as Janus writes them.
    #[test]
    fn text_lines_are_as_janus_writes_them() {
        let bytes = captured("text", true, 0, |c| {
            c.rtp(true, RTP, &[0xaa]);
            c.rtp(false, RTP, &[]);
        });
        let text = String::from_utf8(bytes).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines.len(), 3, "{text:?}");
        assert!(lines[0].starts_with("I ") && lines[1].starts_with("O "), "{text}");
        assert!(
            lines[0].ends_with(" 000000  80 ef 01 02 03 04 05 06 0a 0b 0c 0d aa RTP [session=7][handle=9]"),
            "{}",
            lines[0]
        );
        assert_eq!(lines[0].as_bytes()[4], b':');
        assert_eq!(lines[2], "");
    }
}

//! Plain RTP legs on a media thread: their sockets (RTP, and RTCP on the next port), the far
//! end they send to and accept from (with symmetric-RTP latching that a third address cannot
//! take over), SDES-SRTP both ways, and the numbers of the one stream each sends.
//!
//! A leg's sockets are [`Watched`]: read when they have something.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use super::peer::RxCodec;
use super::ready::{Ready, Watched};
use super::router::Rewrite;
use super::srtp::{SrtpReceiver, SrtpSender};
use crate::vocab::{HandleRef, Latch, LegCodec, LegRemote, MediaKind, SrtpKey};

/// What the media engine hands a media thread to open a leg: the sockets bound when the
/// plugin asked.
#[derive(Debug)]
pub struct LegSetup {
    /// The leg's id.
    pub id: u64,
    /// The handle it belongs to.
    pub owner: HandleRef,
    /// Audio or video.
    pub kind: MediaKind,
    /// RTP socket.
    pub rtp: std::net::UdpSocket,
    /// RTCP socket (the next port).
    pub rtcp: std::net::UdpSocket,
    /// The key we send with, if SRTP.
    pub srtp: Option<SrtpKey>,
}

/// The str0m codec of a Janus codec name (one of [`LEG_CODECS`]), with its clock.
pub fn rx_codec(c: &LegCodec) -> Option<RxCodec> {
    use str0m::format::Codec;
    let codec = match c.name.as_str() {
        "opus" => Codec::Opus,
        "pcmu" => Codec::PCMU,
        "pcma" => Codec::PCMA,
        "g722" => Codec::G722,
        "vp8" => Codec::Vp8,
        "vp9" => Codec::Vp9,
        "h264" => Codec::H264,
        _ => return None,
    };
    Some(RxCodec { codec, clock: c.clock })
}

/// One leg.
pub struct Leg {
    /// Audio or video.
    pub kind: MediaKind,
    /// RTP socket (key index 0).
    pub rtp: Watched,
    /// RTCP socket (key index 1).
    pub rtcp: Watched,
    /// Protects what we send.
    pub srtp_tx: Option<SrtpSender>,
    /// Checks and decrypts what we receive.
    pub srtp_rx: Option<SrtpReceiver>,
    /// The far end, once connected.
    pub remote: Option<LegRemote>,
    /// The codec of the far end, as the router maps it.
    pub codec: Option<RxCodec>,
    /// Where RTP goes (the signaled address, or where latching moved it).
    pub send_to: Option<SocketAddr>,
    /// Where RTCP goes.
    pub rtcp_to: Option<SocketAddr>,
    /// The SSRC we send with.
    pub ssrc: u32,
    /// The far end's SSRC, once heard.
    pub remote_ssrc: Option<u32>,
    /// How our numbers are made from the sources'.
    pub rewrite: Option<Rewrite>,
    /// The far end's highest extended sequence number (plain RTP; SRTP tracks its own).
    pub highest: Option<u64>,
    /// Packets refused: from an address the leg does not accept, failing SRTP, or malformed.
    pub refused: u64,
    /// What its RTCP reports say.
    pub report: Report,
    /// Telephone events to generate.
    pub dtmf: Dtmf,
    /// The handle it belongs to (it hears of the telephone events received).
    pub owner: HandleRef,
    /// The telephone events received, to report each once.
    pub heard: HeardDtmf,
}

/// The last telephone event a leg reported (its code and timestamp): an event's end packet
/// goes three times (RFC 4733 §2.5.1.4), the report once.
#[derive(Debug, Default)]
pub struct HeardDtmf(Option<(u8, u32)>);

impl HeardDtmf {
    /// A telephone-event payload (§2.3: event, E bit, volume, duration) with its RTP
    /// timestamp: the digit and duration when it ends a DTMF event not reported yet.
    pub fn ended(&mut self, time: u32, payload: &[u8]) -> Option<(char, u16)> {
        let &[event, flags, d0, d1, ..] = payload else { return None };
        if flags & 0x80 == 0 || self.0 == Some((event, time)) {
            return None;
        }
        self.0 = Some((event, time));
        Some((crate::vocab::dtmf_digit(event)?, u16::from_be_bytes([d0, d1])))
    }
}

/// How often a telephone event being generated is sent again with its duration so far (RFC
/// 4733 §2.5.1.2).
pub const DTMF_STEP: std::time::Duration = std::time::Duration::from_millis(50);

/// RFC 4733 telephone events a leg generates, one after the other.
#[derive(Debug, Default)]
pub struct Dtmf {
    queue: std::collections::VecDeque<u8>,
    length: std::time::Duration,
    gap: std::time::Duration,
    /// The event being sent: its code, when it started, its timestamp.
    tone: Option<(u8, Instant, u32)>,
    /// When the next packet (or the next event) is due.
    pub due: Option<Instant>,
}

/// One telephone-event packet to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// The event (0–9, 10 `*`, 11 `#`, 12–15 A–D).
    pub event: u8,
    /// The first packet of the event (marker bit; it takes a new timestamp).
    pub first: bool,
    /// The end of the event (sent three times).
    pub end: bool,
    /// Its duration so far, in clock units.
    pub duration: u16,
}

impl Dtmf {
    /// Queues events, each `length` long and `gap` apart; due now when idle.
    pub fn queue(
        &mut self,
        events: &[u8],
        length: std::time::Duration,
        gap: std::time::Duration,
        now: Instant,
    ) {
        self.queue.extend(events);
        self.length = length;
        self.gap = gap;
        if self.due.is_none() {
            self.due = Some(now);
        }
    }

    /// Whether an event is being sent (forwarded audio waits meanwhile).
    pub fn sending(&self) -> bool {
        self.tone.is_some()
    }

    /// Forgets what is queued.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// The packet due at `now` (and when the next is due); `start_ts` is the timestamp a new
    /// event takes, asked for only when one starts.
    pub fn step(
        &mut self,
        now: Instant,
        clock: u32,
        start_ts: impl FnOnce() -> u32,
    ) -> Option<(DtmfPacket, u32)> {
        let units =
            |d: std::time::Duration| (d.as_secs_f64() * f64::from(clock)).min(f64::from(u16::MAX)) as u16;
        match self.tone {
            None => {
                let Some(event) = self.queue.pop_front() else {
                    self.due = None;
                    return None;
                };
                let ts = start_ts();
                self.tone = Some((event, now, ts));
                self.due = Some(now + DTMF_STEP);
                Some((DtmfPacket { event, first: true, end: false, duration: units(DTMF_STEP) }, ts))
            }
            Some((event, started, ts)) => {
                let elapsed = now.saturating_duration_since(started);
                if elapsed < self.length {
                    self.due = Some(now + DTMF_STEP);
                    return Some((
                        DtmfPacket { event, first: false, end: false, duration: units(elapsed) },
                        ts,
                    ));
                }
                self.tone = None;
                self.due = Some(now + self.gap);
                Some((DtmfPacket { event, first: false, end: true, duration: units(self.length) }, ts))
            }
        }
    }
}

/// What a leg's RTCP sender and receiver reports (RFC 3550 §6.4) are made of.
#[derive(Debug, Default)]
pub struct Report {
    /// Packets and payload octets sent.
    sent_packets: u32,
    sent_octets: u32,
    /// The timestamp of the last packet sent, when, and its clock.
    last_sent: Option<(u32, Instant, u32)>,
    /// Packets received, and the first extended sequence number.
    received: u32,
    base_seq: Option<u64>,
    /// At the last report: packets expected and received.
    prior: (u64, u32),
    /// The middle 32 bits of the far end's last SR's NTP time, and when it came.
    last_sr: Option<(u32, Instant)>,
    /// When the last report went out.
    pub sent_at: Option<Instant>,
}

impl Report {
    /// A packet sent.
    pub fn sent(&mut self, time: u32, clock: u32, payload: usize, now: Instant) {
        self.sent_packets = self.sent_packets.wrapping_add(1);
        self.sent_octets = self.sent_octets.wrapping_add(payload as u32);
        self.last_sent = Some((time, now, clock));
    }

    /// Whether there is anything to report yet.
    pub fn active(&self) -> bool {
        self.last_sent.is_some() || self.base_seq.is_some()
    }

    /// A packet received (its extended sequence number).
    pub fn received(&mut self, seq: u64) {
        self.received = self.received.wrapping_add(1);
        self.base_seq.get_or_insert(seq);
    }

    /// The far end's RTCP: remembers its sender report for our LSR and DLSR.
    pub fn heard(&mut self, mut p: &[u8], now: Instant) {
        while p.len() >= 8 {
            let len = 4 * (usize::from(u16::from_be_bytes([p[2], p[3]])) + 1);
            if p[1] == 200 && p.len() >= 20 {
                self.last_sr = Some((u32::from_be_bytes([p[10], p[11], p[12], p[13]]), now));
            }
            if len > p.len() {
                return;
            }
            p = &p[len..];
        }
    }

    /// Writes our report into `out`: an SR when we have sent, else an RR, with a report block
    /// about the far end's stream when we have received (`highest`: its highest extended
    /// sequence number).
    pub fn write(&mut self, out: &mut Vec<u8>, ssrc: u32, remote: Option<(u32, u64)>, now: Instant) {
        out.clear();
        let blocks = u8::from(remote.is_some() && self.base_seq.is_some());
        let sender = self.last_sent.is_some();
        let words: u16 = if sender { 6 } else { 1 } + 6 * u16::from(blocks);
        out.extend_from_slice(&[0x80 | blocks, if sender { 200 } else { 201 }]);
        out.extend_from_slice(&words.to_be_bytes());
        out.extend_from_slice(&ssrc.to_be_bytes());
        if let Some((time, at, clock)) = self.last_sent {
            let ntp = ntp_now();
            let elapsed = now.saturating_duration_since(at).as_secs_f64();
            let rtp = time.wrapping_add((elapsed * f64::from(clock)) as u32);
            out.extend_from_slice(&ntp.to_be_bytes());
            out.extend_from_slice(&rtp.to_be_bytes());
            out.extend_from_slice(&self.sent_packets.to_be_bytes());
            out.extend_from_slice(&self.sent_octets.to_be_bytes());
        }
        if let (Some((their_ssrc, highest)), Some(base)) = (remote, self.base_seq) {
            let expected = highest.saturating_sub(base) + 1;
            let lost = expected.saturating_sub(u64::from(self.received)).min(0x7f_ffff) as u32;
            let (expected_prior, received_prior) = self.prior;
            let interval_expected = expected.saturating_sub(expected_prior);
            let interval_lost =
                interval_expected.saturating_sub(u64::from(self.received.wrapping_sub(received_prior)));
            let fraction =
                (interval_lost << 8).checked_div(interval_expected).map_or(0, |f| f.min(255) as u32);
            self.prior = (expected, self.received);
            out.extend_from_slice(&their_ssrc.to_be_bytes());
            out.extend_from_slice(&((fraction << 24) | lost).to_be_bytes());
            out.extend_from_slice(&(highest as u32).to_be_bytes());
            out.extend_from_slice(&0u32.to_be_bytes());
            let (lsr, dlsr) = match self.last_sr {
                Some((lsr, at)) => (lsr, (now.saturating_duration_since(at).as_secs_f64() * 65_536.0) as u32),
                None => (0, 0),
            };
            out.extend_from_slice(&lsr.to_be_bytes());
            out.extend_from_slice(&dlsr.to_be_bytes());
        }
        self.sent_at = Some(now);
    }
}

/// The wall clock as a 64-bit NTP timestamp.
fn ntp_now() -> u64 {
    const NTP_UNIX_OFFSET: u64 = 2_208_988_800;
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs() + NTP_UNIX_OFFSET;
    let frac = (u64::from(since.subsec_nanos()) << 32) / 1_000_000_000;
    (secs << 32) | frac
}

impl Leg {
    /// Opens a leg on this thread: its sockets join the runtime and a reader waits on them.
    pub fn open(setup: LegSetup, ready: &Arc<Ready>) -> std::io::Result<Self> {
        let rtp = Watched::new(setup.rtp, (setup.id, 0), ready)?;
        let rtcp = Watched::new(setup.rtcp, (setup.id, 1), ready)?;
        let srtp_tx = setup.srtp.as_ref().map(|k| SrtpSender::new(k.suite, &k.key));
        Ok(Self {
            kind: setup.kind,
            rtp,
            rtcp,
            srtp_tx,
            srtp_rx: None,
            remote: None,
            codec: None,
            send_to: None,
            rtcp_to: None,
            ssrc: rand::random(),
            remote_ssrc: None,
            rewrite: None,
            highest: None,
            refused: 0,
            report: Report::default(),
            dtmf: Dtmf::default(),
            owner: setup.owner,
            heard: HeardDtmf::default(),
        })
    }

    /// Points the leg at its far end (again, for a re-INVITE: latching starts over).
    pub fn connect(&mut self, remote: LegRemote) {
        self.codec = rx_codec(&remote.codec);
        self.srtp_rx = remote.srtp.as_ref().map(|k| SrtpReceiver::new(k.suite, &k.key));
        self.send_to = Some(remote.rtp);
        self.rtcp_to = Some(rtcp_of(&remote, remote.rtp));
        self.highest = None;
        self.remote = Some(remote);
    }

    /// Whether a packet from `from` may be taken, and whether taking it moves the leg there
    /// (latching). `authenticated` says the packet passed SRTP.
    pub fn admits(&self, from: SocketAddr, authenticated: bool) -> Admit {
        let Some(remote) = &self.remote else { return Admit::No };
        if Some(from) == self.send_to {
            return Admit::Yes;
        }
        let movable = match remote.latch {
            Latch::Off => false,
            // With SRTP only the key holder can send packets that authenticate.
            _ if remote.srtp.is_some() => authenticated,
            Latch::From(Some(ip)) => from.ip() == ip,
            // Plain RTP with no address to check: the first packet, once.
            Latch::From(None) => self.send_to == Some(remote.rtp),
        };
        if movable {
            Admit::Move
        } else {
            Admit::No
        }
    }

    /// Moves the leg to where its far end's packets come from.
    pub fn latch(&mut self, from: SocketAddr) {
        self.send_to = Some(from);
        if let Some(remote) = &self.remote {
            self.rtcp_to = Some(rtcp_of(remote, from));
        }
    }

    /// The extended sequence number of a plain RTP packet.
    pub fn extend(&mut self, seq: u16) -> u64 {
        let ext = extend_seq(self.highest, seq);
        if self.highest.is_none_or(|h| ext > h) {
            self.highest = Some(ext);
        }
        ext
    }
}

/// RFC 3550's rollover estimate: `seq` extended to 64 bits near the highest number seen.
pub(super) fn extend_seq(highest: Option<u64>, seq: u16) -> u64 {
    let Some(h) = highest else { return u64::from(seq) };
    let roc = h >> 16;
    let last = h as u16;
    if seq.wrapping_sub(last) < 0x8000 {
        (roc + u64::from(seq < last)) << 16 | u64::from(seq)
    } else {
        roc.saturating_sub(u64::from(seq > last)) << 16 | u64::from(seq)
    }
}

/// Whether a leg takes a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admit {
    /// From where it sends to.
    Yes,
    /// From elsewhere, and latching moves the leg there.
    Move,
    /// Refused.
    No,
}

/// Where RTCP goes when RTP goes to `rtp`.
fn rtcp_of(remote: &LegRemote, rtp: SocketAddr) -> SocketAddr {
    match remote.rtcp {
        _ if remote.rtcp_mux => rtp,
        // An explicit RTCP address counts only while RTP goes where it was signaled.
        Some(rtcp) if rtp == remote.rtp => rtcp,
        _ => SocketAddr::new(rtp.ip(), rtp.port().wrapping_add(1)),
    }
}

/// Whether a datagram on the RTP port is RTCP (rtcp-mux, RFC 5761: payload types 64–95 are
/// RTCP's 192–223).
pub fn is_rtcp(buf: &[u8]) -> bool {
    buf.len() >= 8 && (192..=223).contains(&buf[1])
}

/// Whether a datagram is RTP: version 2 and not RTCP (STUN's and DTLS's first bytes are not
/// version 2).
pub fn is_rtp(buf: &[u8]) -> bool {
    buf.len() >= 12 && buf[0] >> 6 == 2 && !is_rtcp(buf)
}

/// An RTP header as a leg reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Marker bit.
    pub marker: bool,
    /// Payload type.
    pub pt: u8,
    /// Sequence number.
    pub seq: u16,
    /// Timestamp.
    pub time: u32,
    /// SSRC.
    pub ssrc: u32,
    /// Where the payload starts.
    pub payload_at: usize,
    /// Where it ends (padding cut off).
    pub payload_end: usize,
}

/// The length of an RTP header with its CSRCs and extension; none for what is not RTP version 2
/// or runs past its end.
pub fn header_len(p: &[u8]) -> Option<usize> {
    if p.len() < 12 || p[0] >> 6 != 2 {
        return None;
    }
    let mut len = 12 + 4 * usize::from(p[0] & 0x0f);
    if p[0] & 0x10 != 0 {
        let words = u16::from_be_bytes([*p.get(len + 2)?, *p.get(len + 3)?]);
        len += 4 + 4 * usize::from(words);
    }
    (len <= p.len()).then_some(len)
}

/// Reads an RTP packet's header (padding cut off the payload); none for what is not RTP.
pub fn parse_rtp(p: &[u8]) -> Option<Header> {
    let at = header_len(p)?;
    let mut end = p.len();
    if p[0] & 0x20 != 0 {
        end = end.checked_sub(usize::from(*p.last()?))?;
    }
    (at <= end).then(|| Header {
        marker: p[1] & 0x80 != 0,
        pt: p[1] & 0x7f,
        seq: u16::from_be_bytes([p[2], p[3]]),
        time: u32::from_be_bytes([p[4], p[5], p[6], p[7]]),
        ssrc: u32::from_be_bytes([p[8], p[9], p[10], p[11]]),
        payload_at: at,
        payload_end: end,
    })
}

/// Whether an RTCP compound packet asks for a keyframe (PLI, FIR).
pub fn wants_keyframe(mut p: &[u8]) -> bool {
    while p.len() >= 4 {
        if asks_keyframe(p) {
            return true;
        }
        let len = 4 * (usize::from(u16::from_be_bytes([p[2], p[3]])) + 1);
        if len > p.len() {
            return false;
        }
        p = &p[len..];
    }
    false
}

/// Whether the first packet of an RTCP compound asks for a keyframe: all that can be read of
/// SRTCP, whose later packets are encrypted.
pub fn first_wants_keyframe(p: &[u8]) -> bool {
    p.len() >= 4 && p[0] >> 6 == 2 && asks_keyframe(p)
}

/// Whether the RTCP packet at the start of `p` (4 bytes at least) is a PLI or a FIR.
fn asks_keyframe(p: &[u8]) -> bool {
    let (fmt, pt) = (p[0] & 0x1f, p[1]);
    (pt == 206 && (fmt == 1 || fmt == 4)) || pt == 192
}

/// Writes an RTCP PLI from `sender` about `media` into `out`.
pub fn pli(out: &mut Vec<u8>, sender: u32, media: u32) {
    out.clear();
    out.extend_from_slice(&[0x81, 206, 0, 2]);
    out.extend_from_slice(&sender.to_be_bytes());
    out.extend_from_slice(&media.to_be_bytes());
}

/// Writes an RTCP REMB from `sender` into `out`: `bps` for the stream `media` (the
/// draft-alvestrand-rmcat-remb layout: an 18-bit mantissa and a 6-bit exponent).
pub fn remb(out: &mut Vec<u8>, sender: u32, bps: u64, media: u32) {
    let exp = (64 - bps.leading_zeros()).saturating_sub(18);
    let mantissa = (bps >> exp) as u32;
    out.clear();
    out.extend_from_slice(&[0x8f, 206, 0, 5]);
    out.extend_from_slice(&sender.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out.extend_from_slice(b"REMB");
    out.extend_from_slice(&((1 << 24) | (exp << 18) | mantissa).to_be_bytes());
    out.extend_from_slice(&media.to_be_bytes());
}

/// The SDP media section of a leg: what the plugin puts in its offer or answer.
pub fn sdp_section(
    kind: MediaKind,
    ip: IpAddr,
    port: u16,
    codecs: &[LegCodec],
    srtp: Option<&SrtpKey>,
) -> String {
    let proto = if srtp.is_some() { "RTP/SAVP" } else { "RTP/AVP" };
    let pts: Vec<String> = codecs.iter().map(|c| c.pt.to_string()).collect();
    let family = if ip.is_ipv4() { "IP4" } else { "IP6" };
    let mut s = format!("m={} {port} {proto} {}\r\nc=IN {family} {ip}\r\n", kind.as_str(), pts.join(" "));
    for c in codecs {
        let name = match c.name.as_str() {
            "opus" => "opus".to_owned(),
            "telephone-event" => "telephone-event".to_owned(),
            other => other.to_uppercase(),
        };
        let channels = if c.name == "opus" { "/2" } else { "" };
        s.push_str(&format!("a=rtpmap:{} {name}/{}{channels}\r\n", c.pt, c.clock));
        if c.name == "telephone-event" {
            s.push_str(&format!("a=fmtp:{} 0-16\r\n", c.pt));
        }
    }
    s.push_str(&format!("a=rtcp:{}\r\n", port.wrapping_add(1)));
    if let Some(k) = srtp {
        s.push_str(&format!("a=crypto:1 {} inline:{}\r\n", k.suite.name(), k.key.to_base64()));
    }
    s.push_str("a=sendrecv\r\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_remb_carries_its_bitrate_in_mantissa_and_exponent() {
        let mut out = Vec::new();
        for bps in [0u64, 1, 262_143, 262_144, 300_000, 1_500_000, 10_000_000] {
            remb(&mut out, 1, bps, 0xcafe);
            assert_eq!(out.len(), 24);
            assert_eq!(&out[..4], &[0x8f, 206, 0, 5]);
            assert_eq!(&out[12..16], b"REMB");
            assert_eq!(out[16], 1, "one SSRC");
            let word = u32::from_be_bytes([0, out[17], out[18], out[19]]);
            let (exp, mantissa) = (word >> 18, u64::from(word & 0x3ffff));
            let got = mantissa << exp;
            assert!(got <= bps && bps - got < 1 << exp, "{bps}: {got}");
            assert_eq!(&out[20..], &0xcafeu32.to_be_bytes());
        }
    }

    #[test]
    fn a_telephone_event_is_heard_once_at_its_end() {
        let mut heard = HeardDtmf::default();
        assert_eq!(heard.ended(160, &[11, 0x0a, 0, 80]), None, "not ended yet");
        assert_eq!(heard.ended(160, &[11, 0x8a, 3, 32]), Some(('#', 800)));
        assert_eq!(heard.ended(160, &[11, 0x8a, 3, 32]), None, "its end sent again");
        assert_eq!(heard.ended(960, &[1, 0x80, 0, 160]), Some(('1', 160)));
        assert_eq!(heard.ended(1760, &[16, 0x80, 0, 160]), None, "not a DTMF digit");
        assert_eq!(heard.ended(2560, &[1, 0x80]), None, "too short");
    }

    #[test]
    fn headers_and_rollover() {
        let mut p = vec![0xb1, 0xe0, 0xff, 0xfe, 0, 0, 0, 9, 0, 0, 0, 7, 1, 2, 3, 4];
        p.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 1, 0, 0, 0xaa, 0xbb, 0, 2]);
        let h = parse_rtp(&p).expect("header");
        assert_eq!((h.marker, h.pt, h.seq, h.time, h.ssrc), (true, 0x60, 0xfffe, 9, 7));
        assert_eq!(&p[h.payload_at..h.payload_end], &[0xaa, 0xbb]);
        for bad in
            [&[0x80u8; 11][..], &[0x40; 20], &[0x90, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xbe, 0xde, 0, 9]]
        {
            assert!(parse_rtp(bad).is_none());
        }
        assert!(wants_keyframe(&[0x81, 201, 0, 1, 0, 0, 0, 1, 0x81, 206, 0, 2, 0, 0, 0, 1, 0, 0, 0, 2]));
        assert!(!wants_keyframe(&[0x81, 201, 0, 1, 0, 0, 0, 1, 0x81]));
    }

    #[test]
    fn every_leg_codec_name_maps_to_a_codec() {
        for name in crate::vocab::LEG_CODECS {
            let c = LegCodec { pt: 96, name: (*name).to_owned(), clock: 90_000 };
            assert!(rx_codec(&c).is_some(), "{name}");
        }
    }

    #[test]
    fn sequence_numbers_extend_across_rollovers_and_reordering() {
        let mut highest = None;
        let mut extend = |seq: u16| {
            let ext = extend_seq(highest, seq);
            if highest.is_none_or(|h| ext > h) {
                highest = Some(ext);
            }
            ext
        };
        assert_eq!(extend(65_534), 65_534);
        assert_eq!(extend(65_535), 65_535);
        assert_eq!(extend(1), 65_537, "after the rollover");
        assert_eq!(extend(65_533), 65_533, "a late packet of the last cycle");
        assert_eq!(extend(2), 65_538);
    }
}

//! SDES-SRTP for plain RTP legs and outputs: RFC 3711 with the master keys of RFC 4568's
//! `a=crypto` lines, suites `AES_CM_128_HMAC_SHA1_80` and `AES_CM_128_HMAC_SHA1_32`
//! (SRTCP always takes the 80-bit tag). WebRTC peers use str0m's DTLS-SRTP instead.
//!
//! Keys are derived once per context; protecting or unprotecting a packet works in the
//! caller's buffer and allocates nothing (a receiver keeps a small table per SSRC).

use foldhash::{HashMap, HashMapExt};

pub use crate::vocab::srtp::{MasterKey, Suite};
use crate::vocab::srtp::{KEY_LEN, SALT_LEN};
use aws_lc_rs::cipher::{EncryptingKey, EncryptionContext, UnboundCipherKey, AES_128};
use aws_lc_rs::hmac;
use aws_lc_rs::iv::FixedLength;

/// The tag of every SRTCP packet, and of SRTP with the `_80` suite.
const LONG_TAG: usize = 10;
/// Bits of history kept against replays.
const REPLAY_WINDOW: u64 = 64;

/// Why a packet was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SrtpError {
    /// Too short, or its header runs past its end.
    #[error("malformed packet")]
    Malformed,
    /// The authentication tag does not match.
    #[error("authentication failed")]
    Auth,
    /// Seen before, or older than the replay window.
    #[error("replayed packet")]
    Replay,
}

/// The keys of one direction of RTP or RTCP.
struct SessionKeys {
    cipher: EncryptingKey,
    auth: hmac::Key,
    salt: [u8; SALT_LEN],
}

impl SessionKeys {
    /// RFC 3711 §4.3 with a key derivation rate of 0: the labels of the cipher key, the auth
    /// key and the salt are `base`, `base + 1`, `base + 2`.
    fn derive(master: &MasterKey, base: u8) -> Self {
        let prf = ctr_key(master.key());
        let stream = |label: u8, out: &mut [u8]| {
            let mut iv = [0u8; 16];
            iv[..SALT_LEN].copy_from_slice(master.salt());
            iv[7] ^= label;
            out.fill(0);
            keystream(&prf, iv, out);
        };
        let mut cipher = [0u8; KEY_LEN];
        let mut auth = [0u8; 20];
        let mut salt = [0u8; SALT_LEN];
        stream(base, &mut cipher);
        stream(base + 1, &mut auth);
        stream(base + 2, &mut salt);
        Self {
            cipher: ctr_key(&cipher),
            auth: hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, &auth),
            salt,
        }
    }

    /// The counter block of a packet: salt, SSRC and index (RFC 3711 §4.1.1).
    fn iv(&self, ssrc: u32, index: u64) -> [u8; 16] {
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(&self.salt);
        for (i, b) in ssrc.to_be_bytes().iter().enumerate() {
            iv[4 + i] ^= b;
        }
        for (i, b) in index.to_be_bytes()[2..].iter().enumerate() {
            iv[8 + i] ^= b;
        }
        iv
    }

    fn crypt(&self, ssrc: u32, index: u64, data: &mut [u8]) {
        keystream(&self.cipher, self.iv(ssrc, index), data);
    }

    fn tag(&self, parts: &[&[u8]]) -> hmac::Tag {
        let mut ctx = hmac::Context::with_key(&self.auth);
        for p in parts {
            ctx.update(p);
        }
        ctx.sign()
    }
}

/// The SRTP tag of a suite (SRTCP always takes [`LONG_TAG`]).
fn rtp_tag_len(suite: Suite) -> usize {
    match suite {
        Suite::AesCm128HmacSha1_80 => LONG_TAG,
        Suite::AesCm128HmacSha1_32 => 4,
    }
}

fn ctr_key(key: &[u8; KEY_LEN]) -> EncryptingKey {
    // A 16-byte key is always valid for AES-128 in counter mode.
    let unbound = UnboundCipherKey::new(&AES_128, key).expect("an AES-128 key");
    EncryptingKey::ctr(unbound).expect("AES-128 in counter mode")
}

/// XORs `data` with the AES counter-mode keystream starting at block `iv`.
fn keystream(key: &EncryptingKey, iv: [u8; 16], data: &mut [u8]) {
    if data.is_empty() {
        return;
    }
    let context = EncryptionContext::Iv128(FixedLength::from(iv));
    // Counter mode takes any length and only fails on a context of the wrong kind.
    let _ = key.less_safe_encrypt(data, context);
}

fn ssrc_at(p: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([p[at], p[at + 1], p[at + 2], p[at + 3]])
}

/// The sending side of an SRTP session.
pub struct SrtpSender {
    suite: Suite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    rtcp_index: u32,
}

impl std::fmt::Debug for SrtpSender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SrtpSender").field("suite", &self.suite).finish_non_exhaustive()
    }
}

impl SrtpSender {
    /// A sender with this suite and master key.
    pub fn new(suite: Suite, master: &MasterKey) -> Self {
        Self {
            suite,
            rtp: SessionKeys::derive(master, 0),
            rtcp: SessionKeys::derive(master, 3),
            rtcp_index: 0,
        }
    }

    /// Encrypts an RTP packet in place and appends its tag; `index` is the packet's extended
    /// sequence number (rollover counter and sequence number). A packet without a whole
    /// header is left as it is.
    pub fn protect_rtp(&mut self, packet: &mut Vec<u8>, index: u64) {
        let Some(header) = super::legs::header_len(packet) else { return };
        let ssrc = ssrc_at(packet, 8);
        self.rtp.crypt(ssrc, index & 0xffff_ffff_ffff, &mut packet[header..]);
        let roc = ((index >> 16) as u32).to_be_bytes();
        let tag = self.rtp.tag(&[packet, &roc]);
        packet.extend_from_slice(&tag.as_ref()[..rtp_tag_len(self.suite)]);
    }

    /// Encrypts an RTCP compound packet in place and appends its index and tag.
    pub fn protect_rtcp(&mut self, packet: &mut Vec<u8>) {
        if packet.len() < 8 {
            return;
        }
        let index = self.rtcp_index;
        self.rtcp_index = (self.rtcp_index + 1) & 0x7fff_ffff;
        let ssrc = ssrc_at(packet, 4);
        self.rtcp.crypt(ssrc, u64::from(index), &mut packet[8..]);
        packet.extend_from_slice(&(index | 1 << 31).to_be_bytes());
        let tag = self.rtcp.tag(&[packet]);
        packet.extend_from_slice(&tag.as_ref()[..LONG_TAG]);
    }
}

/// What a receiver knows of one SSRC's packets.
#[derive(Debug, Clone, Copy)]
struct Replay {
    /// The highest index accepted.
    highest: u64,
    /// Bit `n` set: `highest - n` was accepted.
    seen: u64,
}

impl Replay {
    fn new(index: u64) -> Self {
        Self { highest: index, seen: 0 }
    }

    fn check(&self, index: u64) -> Result<(), SrtpError> {
        if index > self.highest {
            return Ok(());
        }
        let back = self.highest - index;
        if back >= REPLAY_WINDOW || self.seen & (1 << back) != 0 {
            return Err(SrtpError::Replay);
        }
        Ok(())
    }

    fn accept(&mut self, index: u64) {
        if index > self.highest {
            let shift = index - self.highest;
            self.seen = if shift >= REPLAY_WINDOW { 0 } else { self.seen << shift };
            self.highest = index;
        }
        self.seen |= 1 << (self.highest - index);
    }

    /// The index of RTP sequence number `seq` (RFC 3711 §3.3.1's estimate of the rollover
    /// counter from the highest accepted one).
    fn estimate(&self, seq: u16) -> u64 {
        let roc = self.highest >> 16;
        let last = (self.highest & 0xffff) as u16;
        let v = if last < 0x8000 {
            if seq > last && seq - last > 0x8000 {
                roc.wrapping_sub(1)
            } else {
                roc
            }
        } else if last - 0x8000 > seq {
            roc + 1
        } else {
            roc
        };
        (v << 16) | u64::from(seq)
    }
}

/// The receiving side of an SRTP session: checks tags and replays, decrypts.
pub struct SrtpReceiver {
    suite: Suite,
    rtp: SessionKeys,
    rtcp: SessionKeys,
    rtp_seen: HashMap<u32, Replay>,
    rtcp_seen: HashMap<u32, Replay>,
    /// At most this many SSRCs are tracked (a sender cannot make the table grow for ever).
    max_ssrcs: usize,
}

impl SrtpReceiver {
    /// A receiver with this suite and master key.
    pub fn new(suite: Suite, master: &MasterKey) -> Self {
        Self {
            suite,
            rtp: SessionKeys::derive(master, 0),
            rtcp: SessionKeys::derive(master, 3),
            rtp_seen: HashMap::new(),
            rtcp_seen: HashMap::new(),
            max_ssrcs: 16,
        }
    }

    /// Checks and decrypts an SRTP packet in place; returns the length of the RTP packet
    /// (the tag cut off) and its extended sequence number.
    pub fn unprotect_rtp(&mut self, packet: &mut [u8]) -> Result<(usize, u64), SrtpError> {
        let tag_len = rtp_tag_len(self.suite);
        let len = packet.len().checked_sub(tag_len).ok_or(SrtpError::Malformed)?;
        let header = super::legs::header_len(&packet[..len]).ok_or(SrtpError::Malformed)?;
        let ssrc = ssrc_at(packet, 8);
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        let known = self.rtp_seen.get(&ssrc).copied();
        let index = known.map_or(u64::from(seq), |r| r.estimate(seq));
        if let Some(r) = known {
            r.check(index)?;
        }
        let roc = ((index >> 16) as u32).to_be_bytes();
        let tag = self.rtp.tag(&[&packet[..len], &roc]);
        verify(&tag.as_ref()[..tag_len], &packet[len..])?;
        if known.is_none() && self.rtp_seen.len() >= self.max_ssrcs {
            return Err(SrtpError::Replay);
        }
        self.rtp_seen.entry(ssrc).or_insert_with(|| Replay::new(index)).accept(index);
        self.rtp.crypt(ssrc, index, &mut packet[header..len]);
        Ok((len, index))
    }

    /// Checks and decrypts an SRTCP packet in place; returns the length of the RTCP packet.
    pub fn unprotect_rtcp(&mut self, packet: &mut [u8]) -> Result<usize, SrtpError> {
        let signed = packet.len().checked_sub(LONG_TAG).filter(|n| *n >= 12).ok_or(SrtpError::Malformed)?;
        let tag = self.rtcp.tag(&[&packet[..signed]]);
        verify(&tag.as_ref()[..LONG_TAG], &packet[signed..])?;
        let len = signed - 4;
        let e_index = ssrc_at(packet, len);
        let index = u64::from(e_index & 0x7fff_ffff);
        let ssrc = ssrc_at(packet, 4);
        let known = self.rtcp_seen.get(&ssrc).copied();
        if let Some(r) = known {
            r.check(index)?;
        } else if self.rtcp_seen.len() >= self.max_ssrcs {
            return Err(SrtpError::Replay);
        }
        self.rtcp_seen.entry(ssrc).or_insert_with(|| Replay::new(index)).accept(index);
        if e_index & 1 << 31 != 0 {
            self.rtcp.crypt(ssrc, index, &mut packet[8..len]);
        }
        Ok(len)
    }
}

fn verify(expected: &[u8], got: &[u8]) -> Result<(), SrtpError> {
    aws_lc_rs::constant_time::verify_slices_are_equal(expected, got).map_err(|_| SrtpError::Auth)
}

/// An `a=crypto` attribute (RFC 4568) with an inline key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CryptoAttr {
    /// Its tag.
    pub tag: u32,
    /// Its suite.
    pub suite: Suite,
    /// The key (the first inline key; lifetimes and MKIs are not used).
    pub key: MasterKey,
}

impl CryptoAttr {
    /// Reads the value of an `a=crypto:` line: `tag suite inline:key[|lifetime][|mki:len]
    /// [session params]`. Suites other than the two above are refused, as are MKIs and
    /// session parameters (Janus does the same).
    pub fn parse(value: &str) -> Result<Self, String> {
        let mut words = value.split_whitespace();
        let tag = words.next().and_then(|t| t.parse().ok()).ok_or("a=crypto: bad tag")?;
        let name = words.next().ok_or("a=crypto: no suite")?;
        let suite = Suite::from_name(name).ok_or_else(|| format!("a=crypto: unsupported suite {name}"))?;
        let params = words.next().ok_or("a=crypto: no key")?;
        if words.next().is_some() {
            return Err("a=crypto: session parameters are not supported".into());
        }
        let inline = params.split(';').next().unwrap_or_default();
        let key = inline.strip_prefix("inline:").ok_or("a=crypto: the key is not inline")?;
        let mut parts = key.split('|');
        let key = MasterKey::from_base64(parts.next().unwrap_or_default())?;
        for part in parts {
            if part.contains(':') {
                return Err("a=crypto: MKIs are not supported".into());
            }
        }
        Ok(Self { tag, suite, key })
    }

    /// The value of an `a=crypto:` line.
    pub fn to_value(&self) -> String {
        format!("{} {} inline:{}", self.tag, self.suite.name(), self.key.to_base64())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
    }

    fn master(key: &str, salt: &str) -> MasterKey {
        MasterKey::from_bytes(&[hex(key), hex(salt)].concat()).expect("30 bytes")
    }

    /// RFC 3711 appendix B.3.
    #[test]
    fn key_derivation_matches_the_rfc() {
        let m = master("E1F97A0D3E018BE0D64FA32C06DE4139", "0EC675AD498AFEEBB6960B3AABE6");
        let keys = SessionKeys::derive(&m, 0);
        assert_eq!(keys.salt.to_vec(), hex("30CBBC08863D8C85D49DB34A9AE1"));
        let mut cipher_key = [0u8; 16];
        let prf = ctr_key(m.key());
        let mut iv = [0u8; 16];
        iv[..SALT_LEN].copy_from_slice(m.salt());
        keystream(&prf, iv, &mut cipher_key);
        assert_eq!(cipher_key.to_vec(), hex("C61E7A93744F39EE10734AFE3FF7A087"));
        let mut auth = [0u8; 20];
        iv[7] ^= 1;
        keystream(&prf, iv, &mut auth);
        assert_eq!(auth.to_vec(), hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
    }

    fn rtp(seq: u16, ssrc: u32, payload: &[u8]) -> Vec<u8> {
        let mut p = vec![0x80, 0x60];
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&1234u32.to_be_bytes());
        p.extend_from_slice(&ssrc.to_be_bytes());
        p.extend_from_slice(payload);
        p
    }

    /// Both ways against webrtc-rs's SRTP, an implementation no one here wrote.
    #[test]
    fn interoperates_with_webrtc_rs_both_suites_across_a_rollover() {
        use rtc::srtp::context::Context;
        use rtc::srtp::protection_profile::ProtectionProfile;
        let crypto = rtc::crypto::default_provider().expect("crypto provider");
        for (suite, profile) in [
            (Suite::AesCm128HmacSha1_80, ProtectionProfile::Aes128CmHmacSha1_80),
            (Suite::AesCm128HmacSha1_32, ProtectionProfile::Aes128CmHmacSha1_32),
        ] {
            let m = MasterKey::random();
            let ctx = || {
                Context::new(m.key(), m.salt(), profile, None, None, crypto.crypto())
                    .expect("webrtc-rs context")
            };
            let (mut theirs_out, mut theirs_in) = (ctx(), ctx());
            let mut ours_out = SrtpSender::new(suite, &m);
            let mut ours_in = SrtpReceiver::new(suite, &m);
            for n in 0..40u64 {
                // Across the 16-bit rollover: 65_520 .. 65_560.
                let index = 65_520 + n;
                let plain = rtp(index as u16, 0xabcd, format!("packet {n}").as_bytes());
                let mut ours = plain.clone();
                ours_out.protect_rtp(&mut ours, index);
                let decrypted = theirs_in.decrypt_rtp(&ours).expect("webrtc-rs decrypts ours");
                assert_eq!(&decrypted[..], &plain[..], "{suite:?} #{n}");
                let mut theirs = theirs_out.encrypt_rtp(&plain).expect("webrtc-rs encrypts").to_vec();
                assert_eq!(theirs, ours, "the same key and index make the same packet");
                let (len, got) = ours_in.unprotect_rtp(&mut theirs).expect("we decrypt theirs");
                assert_eq!((&theirs[..len], got), (&plain[..], index));
            }
            // RTCP: a receiver report, both ways.
            let rr = [
                0x81, 0xc9, 0x00, 0x07, 0, 0, 0xab, 0xcd, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                0, 0, 0, 0, 0, 0, 0,
            ];
            let mut ours = rr.to_vec();
            ours_out.protect_rtcp(&mut ours);
            assert_eq!(&theirs_in.decrypt_rtcp(&ours).expect("webrtc-rs decrypts our RTCP")[..], &rr[..]);
            let mut theirs = theirs_out.encrypt_rtcp(&rr).expect("webrtc-rs encrypts RTCP").to_vec();
            let len = ours_in.unprotect_rtcp(&mut theirs).expect("we decrypt their RTCP");
            assert_eq!(&theirs[..len], &rr[..]);
        }
    }

    #[test]
    fn tampering_replays_and_garbage_are_refused() {
        let m = MasterKey::random();
        let mut tx = SrtpSender::new(Suite::AesCm128HmacSha1_80, &m);
        let mut rx = SrtpReceiver::new(Suite::AesCm128HmacSha1_80, &m);
        let mut p = rtp(7, 1, b"hello");
        tx.protect_rtp(&mut p, 7);
        let mut copy = p.clone();
        assert_eq!(rx.unprotect_rtp(&mut copy).map(|r| r.1), Ok(7));
        let mut again = p.clone();
        assert_eq!(rx.unprotect_rtp(&mut again), Err(SrtpError::Replay));
        let mut tampered = rtp(8, 1, b"hello");
        tx.protect_rtp(&mut tampered, 8);
        tampered[13] ^= 1;
        assert_eq!(rx.unprotect_rtp(&mut tampered), Err(SrtpError::Auth));
        let other = MasterKey::random();
        let mut wrong = SrtpReceiver::new(Suite::AesCm128HmacSha1_80, &other);
        assert_eq!(wrong.unprotect_rtp(&mut p.clone()), Err(SrtpError::Auth));
        for junk in [&[][..], &[0x80; 5], &[0x9f; 40], &[0x81, 0xc9, 0, 1]] {
            let mut j = junk.to_vec();
            assert!(rx.unprotect_rtp(&mut j).is_err());
            assert!(rx.unprotect_rtcp(&mut j).is_err());
        }
    }

    #[test]
    fn crypto_lines() {
        let key = MasterKey::random().to_base64();
        let a = CryptoAttr::parse(&format!("1 AES_CM_128_HMAC_SHA1_80 inline:{key}|2^20|1:32")).unwrap_err();
        assert!(a.contains("MKI"), "{a}");
        let a = CryptoAttr::parse(&format!("2 AES_CM_128_HMAC_SHA1_32 inline:{key}|2^31")).unwrap();
        assert_eq!((a.tag, a.suite), (2, Suite::AesCm128HmacSha1_32));
        assert_eq!(CryptoAttr::parse(&a.to_value()).unwrap(), a);
        for bad in [
            "",
            "x AES_CM_128_HMAC_SHA1_80 inline:AAAA",
            "1 F8_128_HMAC_SHA1_80 inline:AAAA",
            "1 AES_CM_128_HMAC_SHA1_80 inline:AAAA",
        ] {
            assert!(CryptoAttr::parse(bad).is_err(), "{bad}");
        }
    }
}

//! The SDP of a plain RTP endpoint (a SIP phone, a PBX, a NoSIP peer): what a plugin needs to
//! point a host leg at it. Outside input: bounded in size and count, never panics, and what it
//! cannot read is an error with a reason.

use crate::{LegCodec, LegRemote, MediaKind, SrtpKey, SrtpSuite};

/// Longest SDP read.
pub const MAX_SDP: usize = 64 * 1024;
/// Most media sections read.
pub const MAX_MEDIA: usize = 16;

/// A media section of a plain SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlainMedia {
    /// Audio or video (other kinds are kept with `kind` none, so indexes match m-lines).
    pub kind: Option<MediaKind>,
    /// Where it receives RTP (`ip:port`).
    pub address: String,
    /// Its port: 0 is a refused stream.
    pub port: u16,
    /// `RTP/SAVP`: SDES-SRTP.
    pub secure: bool,
    /// The payload types offered, in order, with their codec (lower case) and clock.
    pub codecs: Vec<LegCodec>,
    /// RFC 4733 telephone events, if offered.
    pub dtmf_pt: Option<u8>,
    /// The first usable `a=crypto` (a suite the host supports).
    pub crypto: Option<SrtpKey>,
    /// That `a=crypto`'s tag, which an answer accepting it repeats (RFC 4568 §5.1.2).
    pub crypto_tag: u32,
    /// RTP and RTCP share the port.
    pub rtcp_mux: bool,
    /// `a=rtcp:<port>` (with its address when it gives one).
    pub rtcp: Option<String>,
    /// `sendrecv` (the default), `sendonly`, `recvonly` or `inactive`.
    pub direction: String,
}

impl PlainMedia {
    /// The far end for `rtp-leg-connect`, with the first codec of ours it offers.
    pub fn remote(&self, ours: &[&str], latch: bool) -> Option<LegRemote> {
        let codec = self.codecs.iter().find(|c| ours.contains(&c.name.as_str()))?.clone();
        Some(LegRemote {
            address: self.address.clone(),
            rtcp_address: self.rtcp.clone(),
            rtcp_mux: self.rtcp_mux,
            codec,
            dtmf_pt: self.dtmf_pt,
            srtp: self.crypto.clone(),
            latch,
            latch_ip: None,
        })
    }
}

/// Codecs with a static payload type (RFC 3551), for SDPs that give no `a=rtpmap` for them.
const STATIC: &[(u8, &str, u32)] = &[(0, "pcmu", 8000), (8, "pcma", 8000), (9, "g722", 8000)];

/// Reads the media sections of a plain SDP.
pub fn parse(sdp: &str) -> Result<Vec<PlainMedia>, String> {
    if sdp.len() > MAX_SDP {
        return Err(format!("SDP larger than {MAX_SDP} bytes"));
    }
    if !sdp.starts_with("v=") {
        return Err("not an SDP (no v= line first)".into());
    }
    let mut session_ip: Option<String> = None;
    let mut out: Vec<PlainMedia> = Vec::new();
    for line in sdp.lines().map(str::trim_end) {
        let Some((key, value)) = line.split_once('=') else { continue };
        match (key, out.last_mut()) {
            ("c", None) => session_ip = Some(connection(value)?),
            ("c", Some(m)) => m.address = connection(value)?,
            ("m", _) => {
                if out.len() == MAX_MEDIA {
                    return Err(format!("more than {MAX_MEDIA} media sections"));
                }
                out.push(media_line(value, session_ip.clone().unwrap_or_default())?);
            }
            ("a", Some(m)) => attribute(m, value),
            _ => {}
        }
    }
    if out.is_empty() {
        return Err("no media section".into());
    }
    for m in &mut out {
        if m.address.is_empty() && m.port != 0 {
            return Err("a media section has no connection address".into());
        }
        m.address = format!("{}:{}", m.address, m.port);
        if let Some(rtcp) = &m.rtcp {
            if !rtcp.contains(':') {
                let ip = m.address.rsplit_once(':').map_or("", |(ip, _)| ip).to_owned();
                m.rtcp = Some(format!("{ip}:{rtcp}"));
            }
        }
    }
    Ok(out)
}

/// `c=IN IP4 1.2.3.4` → the address.
fn connection(value: &str) -> Result<String, String> {
    let mut parts = value.split_whitespace();
    match (parts.next(), parts.next(), parts.next()) {
        (Some("IN"), Some("IP4" | "IP6"), Some(addr)) => {
            let addr = addr.split('/').next().unwrap_or(addr);
            addr.parse::<std::net::IpAddr>().map_err(|_| format!("bad connection address '{addr}'"))?;
            Ok(addr.to_owned())
        }
        _ => Err(format!("bad c= line '{value}'")),
    }
}

/// `m=audio 5004 RTP/AVP 0 8 101`.
fn media_line(value: &str, address: String) -> Result<PlainMedia, String> {
    let mut parts = value.split_whitespace();
    let kind = match parts.next() {
        Some("audio") => Some(MediaKind::Audio),
        Some("video") => Some(MediaKind::Video),
        Some(_) => None,
        None => return Err("empty m= line".into()),
    };
    let port = parts.next().and_then(|p| p.split('/').next()?.parse::<u16>().ok()).ok_or("bad m= port")?;
    let proto = parts.next().ok_or("m= line without a protocol")?;
    let mut codecs = Vec::new();
    for pt in parts.take(64) {
        let Ok(pt) = pt.parse::<u8>() else { continue };
        if pt < 128 {
            let known = STATIC.iter().find(|(p, _, _)| *p == pt);
            let (name, clock) = known.map_or((String::new(), 0), |(_, n, c)| ((*n).to_owned(), *c));
            codecs.push(LegCodec { pt, name, clock });
        }
    }
    Ok(PlainMedia {
        kind,
        address,
        port,
        secure: proto.contains("SAVP"),
        codecs,
        dtmf_pt: None,
        crypto: None,
        crypto_tag: 1,
        rtcp_mux: false,
        rtcp: None,
        direction: "sendrecv".into(),
    })
}

fn attribute(m: &mut PlainMedia, value: &str) {
    let (name, rest) = value.split_once(':').unwrap_or((value, ""));
    match name {
        "rtpmap" => {
            let mut parts = rest.split_whitespace();
            let (Some(pt), Some(encoding)) = (parts.next().and_then(|p| p.parse::<u8>().ok()), parts.next())
            else {
                return;
            };
            let mut enc = encoding.split('/');
            let codec = enc.next().unwrap_or_default().to_ascii_lowercase();
            let clock = enc.next().and_then(|c| c.parse().ok()).unwrap_or(0);
            if codec == "telephone-event" {
                m.dtmf_pt.get_or_insert(pt);
            } else if let Some(c) = m.codecs.iter_mut().find(|c| c.pt == pt) {
                c.name = codec;
                c.clock = clock;
            }
        }
        "crypto" if m.crypto.is_none() => {
            // `a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:<key>[|…]`
            let mut parts = rest.split_whitespace();
            let tag = parts.next().and_then(|t| t.parse::<u32>().ok()).unwrap_or(1);
            let suite = match parts.next() {
                Some("AES_CM_128_HMAC_SHA1_80") => SrtpSuite::AesCm128HmacSha180,
                Some("AES_CM_128_HMAC_SHA1_32") => SrtpSuite::AesCm128HmacSha132,
                _ => return,
            };
            let key = parts
                .next()
                .and_then(|k| k.strip_prefix("inline:"))
                .map(|k| k.split('|').next().unwrap_or(k));
            if let Some(key) = key.filter(|k| !k.is_empty()) {
                m.crypto = Some(SrtpKey { suite, key: key.to_owned() });
                m.crypto_tag = tag;
            }
        }
        "rtcp-mux" => m.rtcp_mux = true,
        "rtcp" => {
            // `a=rtcp:5005 IN IP4 1.2.3.4`
            let mut parts = rest.split_whitespace();
            if let Some(port) = parts.next().and_then(|p| p.parse::<u16>().ok()) {
                let ip = parts.nth(2).filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
                m.rtcp = Some(match ip {
                    Some(ip) => format!("{ip}:{port}"),
                    None => port.to_string(),
                });
            }
        }
        "sendrecv" | "sendonly" | "recvonly" | "inactive" => m.direction = name.to_owned(),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PHONE: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.2\r\ns=-\r\nc=IN IP4 10.0.0.2\r\nt=0 0\r\n\
        m=audio 5004 RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:5005\r\na=sendrecv\r\n\
        m=video 0 RTP/AVP 96\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        m=video 6000 RTP/SAVP 96\r\nc=IN IP4 10.0.0.3\r\na=rtpmap:96 VP8/90000\r\n\
        a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz|2^20|1:4\r\na=rtcp-mux\r\n";

    #[test]
    fn a_phones_sdp_is_read() {
        let m = parse(PHONE).expect("parses");
        assert_eq!(m.len(), 4);
        assert_eq!((m[0].kind, m[0].address.as_str()), (Some(MediaKind::Audio), "10.0.0.2:5004"));
        assert_eq!(
            m[0].codecs,
            [
                LegCodec { pt: 0, name: "pcmu".into(), clock: 8000 },
                LegCodec { pt: 101, name: String::new(), clock: 0 }
            ]
        );
        assert_eq!((m[0].dtmf_pt, m[0].rtcp.as_deref()), (Some(101), Some("10.0.0.2:5005")));
        assert_eq!((m[1].port, m[2].kind), (0, None));
        let video = &m[3];
        assert_eq!((video.address.as_str(), video.secure, video.rtcp_mux), ("10.0.0.3:6000", true, true));
        assert_eq!(video.codecs[0].name, "vp8");
        assert_eq!(video.crypto.as_ref().map(|k| k.suite), Some(SrtpSuite::AesCm128HmacSha180));
        let remote = m[0].remote(&["opus", "pcmu"], false).expect("a codec of ours");
        assert_eq!((remote.codec.pt, remote.dtmf_pt), (0, Some(101)));
        assert!(m[3].remote(&["h264"], false).is_none());
    }

    #[test]
    fn bad_sdp_is_an_error() {
        for bad in [
            "",
            "hello",
            "v=0\r\n",
            "v=0\r\nc=IN IP4 nope\r\nm=audio 1 RTP/AVP 0\r\n",
            "v=0\r\nm=audio x RTP/AVP 0\r\n",
            "v=0\r\nm=audio 5 RTP/AVP 0\r\n",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        let many = format!("v=0\r\nc=IN IP4 1.2.3.4\r\n{}", "m=audio 1 RTP/AVP 0\r\n".repeat(MAX_MEDIA + 1));
        assert!(parse(&many).is_err());
    }

    /// Mutated SDPs (bytes flipped, cut, repeated, inserted) never panic: the fuzz target
    /// `plain_sdp` runs the same under libFuzzer.
    #[test]
    fn mutated_sdp_never_panics() {
        let mut x: u64 = 0x5eed_0004;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..3000 {
            let mut v = PHONE.as_bytes().to_vec();
            for _ in 0..1 + next() % 4 {
                let at = (next() as usize) % (v.len() + 1);
                match next() % 4 {
                    0 if at < v.len() => v[at] ^= 1 << (next() % 8),
                    1 => v.truncate(at),
                    2 => {
                        let piece: Vec<u8> = v[at..].iter().take(16).copied().collect();
                        v.splice(at..at, piece);
                    }
                    _ => v.insert(at, next() as u8),
                }
            }
            if let Ok(text) = std::str::from_utf8(&v) {
                let _ = parse(text);
            }
        }
    }
}

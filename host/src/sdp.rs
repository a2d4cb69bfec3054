//! A small SDP reader for what the gateway checks before negotiation: structure, the
//! transport attributes it strips before a plugin sees an SDP, and a summary of the media
//! sections (kind, mid, direction, codecs, simulcast rids).
//!
//! Negotiation itself (answers and offers with our ICE and DTLS) is done by the media engine;
//! this module never writes transport attributes, it only reads and removes them.

use std::fmt;

/// Largest SDP accepted, in bytes.
pub const MAX_SDP_LEN: usize = 128 * 1024;
/// Most media sections accepted in one SDP.
pub const MAX_MEDIA: usize = 64;

/// Why an SDP was refused (Janus error 465).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SdpError(pub String);

impl fmt::Display for SdpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SdpError {}

/// The kind of a media section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaKind {
    /// `m=audio`.
    Audio,
    /// `m=video`.
    Video,
    /// `m=application` (data channels).
    Data,
    /// Anything else.
    Other,
}

/// A media direction as the SDP's author states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// `a=sendrecv` (the default).
    SendRecv,
    /// `a=sendonly`.
    SendOnly,
    /// `a=recvonly`.
    RecvOnly,
    /// `a=inactive`.
    Inactive,
}

impl Direction {
    /// The author sends media.
    pub fn sends(self) -> bool {
        matches!(self, Self::SendRecv | Self::SendOnly)
    }

    /// The author receives media.
    pub fn receives(self) -> bool {
        matches!(self, Self::SendRecv | Self::RecvOnly)
    }

    /// The direction of an author that sends and receives as told.
    pub fn from_flags(sends: bool, receives: bool) -> Self {
        match (sends, receives) {
            (true, true) => Self::SendRecv,
            (true, false) => Self::SendOnly,
            (false, true) => Self::RecvOnly,
            (false, false) => Self::Inactive,
        }
    }

    /// Its SDP attribute (without `a=`).
    pub fn attribute(self) -> &'static str {
        match self {
            Self::SendRecv => "sendrecv",
            Self::SendOnly => "sendonly",
            Self::RecvOnly => "recvonly",
            Self::Inactive => "inactive",
        }
    }

    /// Reads an SDP direction attribute (without `a=`).
    pub fn parse(attribute: &str) -> Option<Self> {
        [Self::SendRecv, Self::SendOnly, Self::RecvOnly, Self::Inactive]
            .into_iter()
            .find(|d| d.attribute() == attribute)
    }
}

/// One `m=` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Its kind.
    pub kind: MediaKind,
    /// `a=mid`, if any.
    pub mid: Option<String>,
    /// The port on the `m=` line (0 means rejected).
    pub port: u16,
    /// Its direction.
    pub direction: Direction,
    /// Codec names from `a=rtpmap`, lower case, in order.
    pub codecs: Vec<String>,
    /// Simulcast rids the author sends (`a=rid:<id> send`).
    pub send_rids: Vec<String>,
}

/// What a checked SDP contains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    /// The media sections, in order.
    pub media: Vec<Media>,
    /// Whether it has a DTLS fingerprint (session or media level).
    pub has_fingerprint: bool,
    /// Whether it has an ICE username fragment.
    pub ice_ufrag: bool,
    /// Whether it has an ICE password.
    pub ice_pwd: bool,
}

impl Summary {
    /// Whether it has both ICE credentials.
    pub fn has_ice_credentials(&self) -> bool {
        self.ice_ufrag && self.ice_pwd
    }
}

/// Lines of an SDP without their line endings, empty lines skipped.
fn lines(sdp: &str) -> impl Iterator<Item = &str> {
    sdp.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty())
}

/// Checks the structure of an SDP and summarises it. Janus's texts: "Invalid SDP (doesn't
/// start with v=)", "Missing mandatory lines (o=, s= or m=)".
pub fn check(sdp: &str) -> Result<Summary, SdpError> {
    if sdp.len() > MAX_SDP_LEN {
        return Err(SdpError(format!("Invalid SDP (larger than {MAX_SDP_LEN} bytes)")));
    }
    let mut it = lines(sdp);
    if !it.next().is_some_and(|l| l.starts_with("v=")) {
        return Err(SdpError("Invalid SDP (doesn't start with v=)".into()));
    }
    let (mut has_o, mut has_s) = (false, false);
    let mut summary = Summary { media: Vec::new(), has_fingerprint: false, ice_ufrag: false, ice_pwd: false };
    for line in lines(sdp) {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(SdpError(format!("Invalid SDP (malformed line '{}')", truncate(line))));
        }
        let value = &line[2..];
        match b[0] {
            b'o' => has_o = true,
            b's' => has_s = true,
            b'm' => {
                if summary.media.len() >= MAX_MEDIA {
                    return Err(SdpError(format!("Invalid SDP (more than {MAX_MEDIA} media sections)")));
                }
                summary.media.push(parse_m_line(value)?);
            }
            b'a' => read_attribute(value, &mut summary),
            _ => {}
        }
    }
    if !(has_o && has_s) || summary.media.is_empty() {
        return Err(SdpError("Missing mandatory lines (o=, s= or m=)".into()));
    }
    Ok(summary)
}

fn truncate(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn parse_m_line(value: &str) -> Result<Media, SdpError> {
    let mut parts = value.split(' ');
    let kind = match parts.next() {
        Some("audio") => MediaKind::Audio,
        Some("video") => MediaKind::Video,
        Some("application") => MediaKind::Data,
        _ => MediaKind::Other,
    };
    let port = parts
        .next()
        .and_then(|p| p.split('/').next())
        .and_then(|p| p.parse::<u16>().ok())
        .ok_or_else(|| SdpError(format!("Invalid SDP (bad m= line '{}')", truncate(value))))?;
    Ok(Media {
        kind,
        mid: None,
        port,
        direction: Direction::SendRecv,
        codecs: Vec::new(),
        send_rids: Vec::new(),
    })
}

fn read_attribute(value: &str, summary: &mut Summary) {
    let (name, rest) = value.split_once(':').unwrap_or((value, ""));
    match name {
        "fingerprint" => summary.has_fingerprint = true,
        "ice-ufrag" => summary.ice_ufrag = true,
        "ice-pwd" => summary.ice_pwd = true,
        _ => {}
    }
    let Some(m) = summary.media.last_mut() else { return };
    if let Some(direction) = Direction::parse(name) {
        m.direction = direction;
    }
    match name {
        "mid" => m.mid = Some(rest.trim().to_owned()),
        "rtpmap" => {
            if let Some(codec) = rest.split_once(' ').and_then(|(_, c)| c.split('/').next()) {
                m.codecs.push(codec.to_ascii_lowercase());
            }
        }
        "rid" => {
            let mut p = rest.split(' ');
            if let (Some(id), Some("send")) = (p.next(), p.next()) {
                m.send_rids.push(id.to_owned());
            }
        }
        _ => {}
    }
}

/// Attributes that describe the transport (ICE and DTLS), which the gateway owns.
const TRANSPORT_ATTRIBUTES: [&str; 8] = [
    "ice-ufrag",
    "ice-pwd",
    "ice-options",
    "ice-lite",
    "fingerprint",
    "setup",
    "candidate",
    "end-of-candidates",
];

/// The value of the first `a=<name>:<value>` line of an SDP, if any.
pub fn attribute<'a>(sdp: &'a str, name: &str) -> Option<&'a str> {
    sdp.lines().find_map(|l| l.trim_end().strip_prefix("a=")?.strip_prefix(name)?.strip_prefix(':'))
}

/// The SDP without its ICE and DTLS attributes, as a plugin sees it (Janus strips them too).
pub fn strip_transport(sdp: &str) -> String {
    let mut out = String::with_capacity(sdp.len());
    for line in lines(sdp) {
        let attribute = line.strip_prefix("a=").map(|a| a.split_once(':').map_or(a, |(n, _)| n));
        if attribute.is_some_and(|a| TRANSPORT_ATTRIBUTES.contains(&a)) {
            continue;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        a=fingerprint:sha-256 AA:BB\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=mid:0\r\na=ice-ufrag:abcd\r\n\
        a=ice-pwd:0123456789012345678901\r\na=setup:actpass\r\na=sendrecv\r\na=rtpmap:111 opus/48000/2\r\n\
        a=candidate:1 1 udp 2122260223 127.0.0.1 50000 typ host\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 97\r\na=mid:1\r\na=recvonly\r\na=rtpmap:96 VP8/90000\r\n\
        a=rtpmap:97 rtx/90000\r\na=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n";

    #[test]
    fn reads_one_attribute() {
        let sdp = "v=0\r\na=ice-ufrag-x:no\r\na=ice-ufrag:abcd\r\na=setup:active\r\na=ice-ufrag:later\r\n";
        assert_eq!(attribute(sdp, "ice-ufrag"), Some("abcd"), "the first, and not a longer name");
        assert_eq!(attribute(sdp, "setup"), Some("active"));
        assert_eq!(attribute(sdp, "fingerprint"), None);
    }

    #[test]
    fn summarises_media() {
        let s = check(OFFER).unwrap();
        assert!(s.has_fingerprint && s.has_ice_credentials());
        assert_eq!(s.media.len(), 2);
        assert_eq!(s.media[0].kind, MediaKind::Audio);
        assert_eq!(s.media[0].mid.as_deref(), Some("0"));
        assert_eq!(s.media[0].codecs, ["opus"]);
        assert_eq!(s.media[1].direction, Direction::RecvOnly);
        assert_eq!(s.media[1].codecs, ["vp8", "rtx"]);
        assert_eq!(s.media[1].send_rids, ["h", "l"]);
    }

    #[test]
    fn refuses_broken_sdps() {
        assert!(check("garbage").unwrap_err().0.contains("doesn't start with v="));
        assert!(check("v=0\r\ns=-\r\n").unwrap_err().0.contains("Missing mandatory lines"));
        assert!(check("v=0\r\no=x\r\ns=-\r\nbad line\r\n").unwrap_err().0.contains("malformed"));
        assert!(check("v=0\r\no=x\r\ns=-\r\nm=audio x RTP 0\r\n").unwrap_err().0.contains("bad m= line"));
        let huge = format!("v=0\r\no=x\r\ns=-\r\n{}", "a=x\r\n".repeat(40_000));
        assert!(check(&huge).unwrap_err().0.contains("larger"));
        let many = format!("v=0\r\no=x\r\ns=-\r\n{}", "m=audio 9 RTP 0\r\n".repeat(MAX_MEDIA + 1));
        assert!(check(&many).unwrap_err().0.contains("media sections"));
        // Multi-byte text is cut on a character boundary.
        assert!(check(&format!("v=0\r\n{}", "é".repeat(50))).is_err());
    }

    #[test]
    fn strips_transport_attributes_only() {
        let plain = strip_transport(OFFER);
        for gone in ["ice-ufrag", "ice-pwd", "fingerprint", "setup:", "candidate:"] {
            assert!(!plain.contains(gone), "{gone} left in {plain}");
        }
        for kept in ["a=mid:0", "a=rtpmap:111 opus/48000/2", "a=rid:h send", "a=group:BUNDLE 0 1"] {
            assert!(plain.contains(kept), "{kept} missing from {plain}");
        }
    }
}

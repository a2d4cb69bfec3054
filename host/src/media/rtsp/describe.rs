//! What a DESCRIBE answer tells: the session's media (kind, control URL, payload type, codec,
//! clock, format parameters), read from its SDP; and how control URLs resolve against the
//! base (RFC 2326 C.1.1). The reader is bounded by [`MAX_MEDIA`] and skips what it does not
//! know.

use crate::vocab::MediaKind;

/// Most media sections read.
pub const MAX_MEDIA: usize = 16;

/// One media section of the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    /// Audio or video (other kinds are skipped).
    pub kind: MediaKind,
    /// Its control URL, resolved.
    pub control: String,
    /// Its first payload type.
    pub pt: u8,
    /// The codec's name, lower case (`opus`, `vp8`, `h264`, …; empty when not given).
    pub codec: String,
    /// The clock rate.
    pub clock: u32,
    /// Its `a=fmtp` for that payload type.
    pub fmtp: Option<String>,
}

/// The source's session: the aggregate control URL (for PLAY) and its media.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// Where PLAY goes.
    pub control: String,
    /// Its audio and video sections, in order.
    pub media: Vec<Described>,
}

/// Reads the SDP of a DESCRIBE answer whose base URL is `base`.
pub fn parse(sdp: &str, base: &str) -> Result<Session, String> {
    let mut control = base.to_owned();
    let mut media: Vec<Described> = Vec::new();
    // The current section: its kind (None: skipped) and its attributes so far.
    let mut current: Option<Option<Described>> = None;
    let finish = |current: Option<Option<Described>>, media: &mut Vec<Described>| {
        if let Some(Some(d)) = current {
            if media.len() < MAX_MEDIA {
                media.push(d);
            }
        }
    };
    for line in sdp.lines().map(str::trim_end) {
        if let Some(m) = line.strip_prefix("m=") {
            finish(current.take(), &mut media);
            let mut parts = m.split_whitespace();
            let kind = match parts.next() {
                Some("audio") => Some(MediaKind::Audio),
                Some("video") => Some(MediaKind::Video),
                _ => None,
            };
            let pt = parts.nth(2).and_then(|p| p.parse::<u8>().ok()).filter(|p| *p < 128);
            current = Some(kind.zip(pt).map(|(kind, pt)| Described {
                kind,
                control: base.to_owned(),
                pt,
                codec: static_codec(pt).0.to_owned(),
                clock: static_codec(pt).1,
                fmtp: None,
            }));
            continue;
        }
        let Some(attr) = line.strip_prefix("a=") else { continue };
        match &mut current {
            None => {
                if let Some(c) = attr.strip_prefix("control:") {
                    control = resolve(base, c.trim());
                }
            }
            Some(None) => {}
            Some(Some(d)) => {
                if let Some(c) = attr.strip_prefix("control:") {
                    d.control = resolve(base, c.trim());
                } else if let Some(rest) = attr.strip_prefix("rtpmap:") {
                    let Some((pt, map)) = rest.split_once(' ') else { continue };
                    if pt.trim().parse::<u8>() != Ok(d.pt) {
                        continue;
                    }
                    let mut map = map.trim().split('/');
                    d.codec = map.next().unwrap_or_default().to_ascii_lowercase();
                    d.clock = map.next().and_then(|c| c.parse().ok()).unwrap_or(d.clock);
                } else if let Some(rest) = attr.strip_prefix("fmtp:") {
                    let Some((pt, params)) = rest.split_once(' ') else { continue };
                    if pt.trim().parse::<u8>() == Ok(d.pt) {
                        d.fmtp = Some(params.trim().to_owned());
                    }
                }
            }
        }
    }
    finish(current, &mut media);
    if media.is_empty() {
        return Err("the source describes no audio or video".to_owned());
    }
    Ok(Session { control, media })
}

/// The static payload types' codecs (RFC 3551) that a viewer could take.
fn static_codec(pt: u8) -> (&'static str, u32) {
    match pt {
        0 => ("pcmu", 8000),
        8 => ("pcma", 8000),
        9 => ("g722", 8000),
        _ => ("", 90_000),
    }
}

/// A control attribute resolved against the base URL: `*` is the base, an absolute URL is
/// itself, anything else is relative to the base.
pub fn resolve(base: &str, control: &str) -> String {
    if control == "*" || control.is_empty() {
        base.to_owned()
    } else if control.contains("://") {
        control.to_owned()
    } else if base.ends_with('/') {
        format!("{base}{control}")
    } else {
        format!("{base}/{control}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GST: &str = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=Session\r\nt=0 0\r\na=control:*\r\n\
        m=video 0 RTP/AVP 96\r\na=rtpmap:96 VP8/90000\r\na=control:stream=0\r\n\
        m=audio 0 RTP/AVP 111\r\na=rtpmap:111 OPUS/48000/2\r\na=fmtp:111 sprop-stereo=0\r\na=control:stream=1\r\n\
        m=application 0 RTP/AVP 107\r\na=control:stream=2\r\n";

    #[test]
    fn a_gstreamer_description() {
        let s = parse(GST, "rtsp://127.0.0.1:8554/test/").unwrap();
        assert_eq!(s.control, "rtsp://127.0.0.1:8554/test/");
        assert_eq!(s.media.len(), 2);
        assert_eq!(s.media[0].control, "rtsp://127.0.0.1:8554/test/stream=0");
        assert_eq!(
            (s.media[0].kind, s.media[0].pt, s.media[0].codec.as_str()),
            (MediaKind::Video, 96, "vp8")
        );
        assert_eq!((s.media[1].codec.as_str(), s.media[1].clock), ("opus", 48000));
        assert_eq!(s.media[1].fmtp.as_deref(), Some("sprop-stereo=0"));
    }

    #[test]
    fn controls_resolve_and_garbage_is_refused() {
        assert_eq!(resolve("rtsp://h/a", "track1"), "rtsp://h/a/track1");
        assert_eq!(resolve("rtsp://h/a", "rtsp://x/y"), "rtsp://x/y");
        assert!(parse("v=0\r\nm=video 0 RTP/AVP 300\r\n", "rtsp://h").is_err());
        assert!(parse("", "rtsp://h").is_err());
        let pcmu = parse("m=audio 0 RTP/AVP 0\r\n", "rtsp://h").unwrap();
        assert_eq!((pcmu.media[0].codec.as_str(), pcmu.media[0].clock), ("pcmu", 8000));
    }
}

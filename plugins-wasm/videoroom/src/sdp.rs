//! What a publisher sends, read from the answer the host made for its offer; and a room's
//! switches written into the SDPs the host makes.

use portunus_sdk::MediaKind;

use std::collections::BTreeMap;

use crate::publisher::{OpusFlags, PubStream};
use crate::room::Room;

/// A room's Opus switches on a publisher's answer (`answer`), as Janus writes them into its
/// own: in-band FEC (`opus_fec`) and DTX (`opus_dtx`) asked for or not. (The RTP extensions
/// the room turns off, the host leaves out: see `Room::rtp_extensions`.)
pub fn with_room_switches(sdp: &str, room: &Room, answer: bool) -> String {
    let opus: Vec<&str> = sdp
        .lines()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|r| r.split_once(' '))
        .filter(|(_, name)| name.to_ascii_lowercase().starts_with("opus/"))
        .map(|(pt, _)| pt)
        .collect();
    let mut out = String::with_capacity(sdp.len() + 32);
    for line in sdp.lines().map(str::trim_end) {
        let opus_fmtp = line
            .strip_prefix("a=fmtp:")
            .and_then(|f| f.split_once(' '))
            .filter(|(pt, _)| answer && opus.contains(pt));
        match opus_fmtp {
            Some((pt, params)) => {
                let mut kept: Vec<&str> = params
                    .split(';')
                    .map(str::trim)
                    .filter(|p| !p.is_empty() && !p.starts_with("useinbandfec=") && !p.starts_with("usedtx="))
                    .collect();
                if room.opus_fec {
                    kept.push("useinbandfec=1");
                }
                if room.opus_dtx {
                    kept.push("usedtx=1");
                }
                if kept.is_empty() {
                    continue;
                }
                out.push_str(&format!("a=fmtp:{pt} {}", kept.join(";")));
            }
            None => out.push_str(line),
        }
        out.push_str("\r\n");
    }
    out
}

/// What each Opus stream of an offer carries (`stereo=1`, `useinbandfec=1`, `usedtx=1` in the
/// `fmtp` of its Opus payload type), by mid.
pub fn opus_flags(offer: &str) -> BTreeMap<String, OpusFlags> {
    let mut out = BTreeMap::new();
    for section in offer.split("\nm=").skip(1) {
        let lines: Vec<&str> = section.lines().map(str::trim_end).collect();
        let Some(mid) = lines.iter().find_map(|l| l.strip_prefix("a=mid:")) else { continue };
        let opus: Vec<&str> = lines
            .iter()
            .filter_map(|l| l.strip_prefix("a=rtpmap:")?.split_once(' '))
            .filter(|(_, name)| name.to_ascii_lowercase().starts_with("opus/"))
            .map(|(pt, _)| pt)
            .collect();
        let fmtp = lines
            .iter()
            .filter_map(|l| l.strip_prefix("a=fmtp:")?.split_once(' '))
            .find(|(pt, _)| opus.contains(pt))
            .map(|(_, params)| params);
        if let Some(params) = fmtp {
            let has = |p: &str| params.split(';').any(|kv| kv.trim() == p);
            let flags =
                OpusFlags { stereo: has("stereo=1"), fec: has("useinbandfec=1"), dtx: has("usedtx=1") };
            out.insert(mid.to_owned(), flags);
        }
    }
    out
}

/// The streams an answer accepts (port not 0), in order: mid, kind, the codec of its first
/// payload type, and whether simulcast was kept.
pub fn published_streams(answer: &str) -> Vec<PubStream> {
    let mut out = Vec::new();
    let lines: Vec<&str> = answer.lines().map(str::trim_end).collect();
    let mut mindex = 0;
    let mut i = 0;
    while i < lines.len() {
        let Some(m) = lines[i].strip_prefix("m=") else {
            i += 1;
            continue;
        };
        let end = lines[i + 1..].iter().position(|l| l.starts_with("m=")).map_or(lines.len(), |p| i + 1 + p);
        let section = &lines[i + 1..end];
        let mut parts = m.split(' ');
        let kind = match parts.next() {
            Some("audio") => Some(MediaKind::Audio),
            Some("video") => Some(MediaKind::Video),
            Some("application") => Some(MediaKind::Data),
            _ => None,
        };
        let port = parts.next().unwrap_or("0");
        let first_pt = parts.nth(1).unwrap_or("");
        let mid = section.iter().find_map(|l| l.strip_prefix("a=mid:")).unwrap_or("").to_owned();
        if let (Some(kind), false) = (kind, port == "0") {
            let codec = section
                .iter()
                .filter_map(|l| l.strip_prefix("a=rtpmap:"))
                .find_map(|r| r.strip_prefix(first_pt).and_then(|r| r.strip_prefix(' ')))
                .map(|name| name.split('/').next().unwrap_or("").to_ascii_lowercase())
                .unwrap_or_default();
            let simulcast = section.iter().any(|l| l.starts_with("a=simulcast:"));
            out.push(PubStream {
                mindex,
                mid,
                kind,
                codec,
                simulcast,
                svc: false,
                description: None,
                muted: false,
                profile: None,
                opus: OpusFlags::default(),
            });
        }
        mindex += 1;
        i = end;
    }
    out
}

/// `use_msid`: each m-line of a subscriber's offer whose mid `feeds` maps names its publisher
/// as the stream and its mid as the track (`a=msid:<publisher> <mid>`), as Janus does, so a
/// client groups the tracks of one publisher.
pub fn with_msids(sdp: &str, feeds: &[(String, String)]) -> String {
    let lines: Vec<&str> = sdp.lines().map(str::trim_end).collect();
    let mut out = String::with_capacity(sdp.len() + 64 * feeds.len());
    let mut start = 0;
    while start < lines.len() {
        let end = lines[start + 1..]
            .iter()
            .position(|l| l.starts_with("m="))
            .map_or(lines.len(), |p| start + 1 + p);
        let section = &lines[start..end];
        let feed = section
            .iter()
            .find_map(|l| l.strip_prefix("a=mid:"))
            .and_then(|mid| feeds.iter().find(|(m, _)| m == mid))
            .filter(|_| section[0].starts_with("m="));
        for line in section {
            let is_msid = line.starts_with("a=msid:")
                || line
                    .strip_prefix("a=ssrc:")
                    .is_some_and(|s| s.split_once(' ').is_some_and(|(_, a)| a.starts_with("msid:")));
            if feed.is_some() && is_msid {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
            if let (Some((mid, publisher)), true) = (feed, line.starts_with("a=mid:")) {
                out.push_str(&format!("a=msid:{publisher} {mid}\r\n"));
            }
        }
        start = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_offers_opus_flags_are_read_per_mid() {
        let offer =
            "v=0\r\nm=audio 9 X 111 0\r\na=mid:a\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:111 opus/48000/2\r\n\
                     a=fmtp:111 minptime=10;useinbandfec=1; stereo=1\r\nm=audio 9 X 111\r\na=mid:b\r\n\
                     a=rtpmap:111 OPUS/48000/2\r\na=fmtp:111 usedtx=1\r\nm=video 9 X 96\r\na=mid:v\r\n\
                     a=rtpmap:96 VP8/90000\r\na=fmtp:96 useinbandfec=1\r\n";
        let flags = opus_flags(offer);
        assert_eq!(flags["a"], OpusFlags { stereo: true, fec: true, dtx: false });
        assert_eq!(flags["b"], OpusFlags { stereo: false, fec: false, dtx: true });
        assert!(!flags.contains_key("v"), "{flags:?}");
    }

    #[test]
    fn msids_name_the_publishers() {
        let sdp = "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\na=msid:abc def\r\na=ssrc:1 cname:x\r\na=ssrc:1 msid:abc def\r\n\
                   m=video 9 X 96\r\na=msid:abc ghi\r\na=mid:1\r\n";
        let out = with_msids(sdp, &[("1".to_owned(), "4242".to_owned())]);
        assert_eq!(
            out,
            "v=0\r\nm=audio 9 X 111\r\na=mid:0\r\na=msid:abc def\r\na=ssrc:1 cname:x\r\na=ssrc:1 msid:abc def\r\n\
             m=video 9 X 96\r\na=mid:1\r\na=msid:4242 1\r\n"
        );
    }

    #[test]
    fn a_rooms_switches_shape_the_sdp() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=rtpmap:111 opus/48000/2\r\n\
                   a=fmtp:111 minptime=10;useinbandfec=1\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=extmap:3 urn:3gpp:video-orientation\r\n";
        let mut room = Room::default();
        assert_eq!(with_room_switches(sdp, &room, true), sdp);
        room.opus_dtx = true;
        let out = with_room_switches(sdp, &room, true);
        assert!(out.contains("a=fmtp:111 minptime=10;useinbandfec=1;usedtx=1\r\n"), "{out}");
        room.opus_fec = false;
        assert!(with_room_switches(sdp, &room, true).contains("a=fmtp:111 minptime=10;usedtx=1\r\n"));
        // A subscriber's offer keeps its Opus parameters.
        assert!(with_room_switches(sdp, &room, false).contains("a=fmtp:111 minptime=10;useinbandfec=1\r\n"));
    }

    #[test]
    fn an_answer_gives_the_streams_it_accepts() {
        let answer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
                      m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n\
                      m=video 9 UDP/TLS/RTP/SAVPF 102 103\r\na=mid:2\r\na=rtpmap:102 H264/90000\r\n\
                      a=rtpmap:103 rtx/90000\r\na=simulcast:recv h;l\r\n\
                      m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:3\r\n";
        let streams = published_streams(answer);
        let got: Vec<(usize, &str, MediaKind, &str, bool)> = streams
            .iter()
            .map(|s| (s.mindex, s.mid.as_str(), s.kind, s.codec.as_str(), s.simulcast))
            .collect();
        assert_eq!(
            got,
            [
                (0, "0", MediaKind::Audio, "opus", false),
                (2, "2", MediaKind::Video, "h264", true),
                (3, "3", MediaKind::Data, "", false)
            ]
        );
    }
}

//! What a publisher sends, read from the answer the host made for its offer.

use portunus_sdk::MediaKind;

use crate::publisher::PubStream;

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
            out.push(PubStream { mindex, mid, kind, codec, simulcast, description: None, muted: false });
        }
        mindex += 1;
        i = end;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! A plugin's answer policy applied to a client's offer before str0m answers it. str0m answers
//! whatever it is given, so the offer is narrowed first: refused kinds, and audio or video
//! whose preferred codecs the offer lacks, get port 0 and leave the BUNDLE group (as Janus
//! rejects them); codecs are narrowed to the first preferred one the offer has (with its RTX);
//! the offered direction is narrowed to what the plugin allows, so that str0m's answer carries
//! our direction; simulcast is left out when refused or when the client will not send.
//!
//! One difference from Janus 1.1.2: an audio stream without the preferred codec gets port 0
//! here, where Janus answers it `inactive` with a placeholder payload type; either way no
//! audio flows (Janus refuses video with port 0 as we do).

use std::collections::HashSet;

use crate::sdp::Direction;
use crate::vocab::{AnswerPolicy, RtpExtensions};

/// The offer as str0m should see it under `policy`. An `actpass` offer is read as `passive`,
/// so we take the DTLS client role as Janus does: our ClientHello goes out as soon as ICE is
/// up, instead of waiting for the client's, which str0m can miss when it races the nomination
/// (measured: 200 ms lost to the client's retransmission timer).
pub fn apply_policy(offer: &str, policy: &AnswerPolicy) -> String {
    let offer = offer.replace("a=setup:actpass", "a=setup:passive");
    let lines = sdp_lines(&offer);
    let first_media = lines.iter().position(|l| l.starts_with("m=")).unwrap_or(lines.len());
    let (session, media) = lines.split_at(first_media);
    let mut refused: Vec<&str> = Vec::new();
    let mut out: Vec<String> = Vec::new();
    for section in sections(media) {
        narrow_section(section, policy, &mut out, &mut refused);
    }
    let mut sdp = String::with_capacity(offer.len());
    for line in session {
        match line.strip_prefix("a=group:BUNDLE ") {
            Some(mids) if !refused.is_empty() => {
                let kept: Vec<&str> = mids.split(' ').filter(|m| !refused.contains(m)).collect();
                sdp.push_str(&format!("a=group:BUNDLE {}", kept.join(" ")));
            }
            _ => sdp.push_str(line),
        }
        sdp.push_str("\r\n");
    }
    for line in out {
        sdp.push_str(&line);
        sdp.push_str("\r\n");
    }
    sdp
}

/// The SDP without the header extensions `allowed` leaves out (their `a=extmap` lines, and
/// `a=rtcp-fb:* transport-cc` with transport-cc): an offer str0m answers, or one we make.
pub fn drop_extensions(sdp: &str, allowed: RtpExtensions) -> String {
    if allowed == RtpExtensions::ALL {
        return sdp.to_owned();
    }
    let mut out = String::with_capacity(sdp.len());
    for line in sdp_lines(sdp) {
        let dropped = match line.strip_prefix("a=extmap:") {
            Some(map) => map.split_whitespace().nth(1).is_some_and(|uri| !allowed.allows(uri)),
            None => {
                !allowed.transport_cc
                    && line.starts_with("a=rtcp-fb:")
                    && line.split_whitespace().nth(1) == Some("transport-cc")
            }
        };
        if !dropped {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// An SDP's lines, without their line ends and without empty ones.
fn sdp_lines(sdp: &str) -> Vec<&str> {
    sdp.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty()).collect()
}

/// Lines cut before each `m=` line: the session part (when there is one), then each media
/// section.
fn sections<'a>(lines: &'a [&'a str]) -> impl Iterator<Item = &'a [&'a str]> {
    let mut rest = lines;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let end = rest.iter().skip(1).position(|l| l.starts_with("m=")).map_or(rest.len(), |i| i + 1);
        let (section, tail) = rest.split_at(end);
        rest = tail;
        Some(section)
    })
}

/// The Opus format parameters of stereo (a stereo mixer's ports).
pub const STEREO: &str = "stereo=1;sprop-stereo=1";

/// Whether a policy asks for stereo Opus (an audio codec `opus stereo=1`).
pub fn wants_stereo(policy: &AnswerPolicy) -> bool {
    policy.audio_codecs.iter().flat_map(|c| c.split(',')).any(|c| {
        let mut words = c.split_whitespace();
        words.next().is_some_and(|w| w.eq_ignore_ascii_case("opus")) && words.any(|w| w == "stereo=1")
    })
}

/// `sdp` with the Opus payload types of its audio sections (of the mids listed, or all when
/// `mids` is none) saying [`STEREO`] in their format parameters.
pub fn stereo_opus(sdp: &str, mids: Option<&[String]>) -> String {
    let lines = sdp_lines(sdp);
    let mut out = String::with_capacity(sdp.len() + 64);
    for section in sections(&lines) {
        let mid = section.iter().find_map(|l| l.strip_prefix("a=mid:")).map(str::trim);
        let chosen = section[0].starts_with("m=audio")
            && mids.is_none_or(|mids| mid.is_some_and(|m| mids.iter().any(|x| x == m)));
        let opus: Vec<&str> = section
            .iter()
            .filter_map(|l| l.strip_prefix("a=rtpmap:"))
            .filter_map(|v| v.split_once(' '))
            .filter(|(_, codec)| chosen && codec.to_ascii_lowercase().starts_with("opus/"))
            .map(|(pt, _)| pt)
            .collect();
        for line in section {
            let fmtp = line.strip_prefix("a=fmtp:").and_then(|v| v.split_once(' '));
            match fmtp {
                Some((pt, params)) if opus.contains(&pt) => {
                    let kept: Vec<&str> = params
                        .split(';')
                        .map(str::trim)
                        .filter(|p| {
                            !p.is_empty() && !p.starts_with("stereo=") && !p.starts_with("sprop-stereo=")
                        })
                        .chain([STEREO])
                        .collect();
                    out.push_str(&format!("a=fmtp:{pt} {}\r\n", kept.join(";")));
                }
                _ => {
                    out.push_str(line);
                    out.push_str("\r\n");
                }
            }
            // An Opus payload type without format parameters gets them.
            let rtpmap = line.strip_prefix("a=rtpmap:").and_then(|v| v.split_once(' '));
            if let Some((pt, _)) = rtpmap.filter(|(pt, _)| opus.contains(pt)) {
                let prefix = format!("a=fmtp:{pt} ");
                if !section.iter().any(|l| l.starts_with(&prefix)) {
                    out.push_str(&format!("{prefix}{STEREO}\r\n"));
                }
            }
        }
    }
    out
}

/// Our offer with each listed stream (by mid) narrowed to one codec (with its RTX): the codec
/// its source sends, so that the client cannot answer one the source does not have (there is
/// no transcoding). A section without that codec is left as it is.
pub fn narrow_offer(offer: &str, codecs: &[(String, String, Option<String>)]) -> String {
    if codecs.is_empty() {
        return offer.to_owned();
    }
    let lines = sdp_lines(offer);
    let mut out = String::with_capacity(offer.len());
    for section in sections(&lines) {
        let mid = section.iter().find_map(|l| l.strip_prefix("a=mid:")).map(str::trim);
        let codec = codecs.iter().find(|(m, ..)| Some(m.as_str()) == mid);
        let kept = match codec {
            Some((_, c, fmtp)) if section[0].starts_with("m=") => {
                kept_payload_types(section, std::slice::from_ref(c))
                    .ok()
                    .flatten()
                    .map(|kept| matching_fmtp(section, kept, fmtp.as_deref()))
            }
            _ => None,
        };
        for line in section {
            let Some(kept) = &kept else {
                out.push_str(line);
                out.push_str("\r\n");
                continue;
            };
            if let Some(m_line) = line.strip_prefix("m=") {
                let mut parts = m_line.split(' ');
                let head: Vec<&str> = parts.by_ref().take(3).collect();
                let formats: Vec<&str> = parts.filter(|pt| kept.contains(*pt)).collect();
                out.push_str(&format!("m={} {}\r\n", head.join(" "), formats.join(" ")));
                continue;
            }
            let attribute = line.strip_prefix("a=").unwrap_or("");
            let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
            let pt = value.split([' ', '\t']).next().unwrap_or("");
            if matches!(name, "rtpmap" | "fmtp" | "rtcp-fb") && pt != "*" && !kept.contains(pt) {
                continue;
            }
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out
}

/// Of the payload types `kept`, those whose profile is the one `fmtp` names (H.264's
/// `profile-level-id` and `packetization-mode`, VP9's `profile-id`, AV1's `profile`), with their
/// RTX; all of them when `fmtp` names no profile or none matches.
fn matching_fmtp(section: &[&str], kept: HashSet<String>, fmtp: Option<&str>) -> HashSet<String> {
    let want = profile(fmtp.unwrap_or(""));
    if want.is_empty() {
        return kept;
    }
    let fmtp_of = |pt: &str| {
        section
            .iter()
            .filter_map(|l| l.strip_prefix("a=fmtp:"))
            .filter_map(|v| v.split_once(' '))
            .find(|(p, _)| *p == pt)
            .map_or("", |(_, f)| f)
    };
    let apt = |f: &str| f.split(';').find_map(|kv| kv.trim().strip_prefix("apt=")).map(str::to_owned);
    let matching: HashSet<String> = kept
        .iter()
        .filter(|pt| {
            let f = fmtp_of(pt);
            let have = profile(f);
            apt(f).is_none()
                && want.iter().all(|(k, v)| {
                    let got = have.iter().find(|(k2, _)| k2 == k).map(|(_, v2)| v2.as_str());
                    // VP9 and AV1 say nothing for their profile 0.
                    got.or((*k == "profile-id" || *k == "profile").then_some("0")) == Some(v.as_str())
                })
        })
        .cloned()
        .collect();
    if matching.is_empty() {
        return kept;
    }
    // Their RTX streams too.
    let rtx: Vec<String> =
        kept.iter().filter(|pt| apt(fmtp_of(pt)).is_some_and(|a| matching.contains(&a))).cloned().collect();
    matching.into_iter().chain(rtx).collect()
}

/// The parameters of an `fmtp` that name a profile, lowercased: empty when it names none. An
/// H.264 profile comes with its packetization mode (0 unless given); a VP9 or AV1 payload type
/// without one is profile 0 (the matching fills that in).
fn profile(fmtp: &str) -> Vec<(&'static str, String)> {
    let get = |key: &str| {
        fmtp.split(';')
            .filter_map(|kv| kv.trim().split_once('='))
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.trim().to_ascii_lowercase())
    };
    let mut out = Vec::new();
    if let Some(p) = get("profile-level-id") {
        out.push(("profile-level-id", p));
        out.push(("packetization-mode", get("packetization-mode").unwrap_or_else(|| "0".into())));
    }
    for key in ["profile-id", "profile"] {
        if let Some(p) = get(key) {
            out.push((key, p));
        }
    }
    out
}

/// Writes one `m=` section as str0m should see it; the mids of refused sections go to `refused`.
fn narrow_section<'a>(
    section: &[&'a str],
    policy: &AnswerPolicy,
    out: &mut Vec<String>,
    refused: &mut Vec<&'a str>,
) {
    let m_line = section[0].strip_prefix("m=").unwrap_or_default();
    let (allowed, preferred, media) = match m_line.split(' ').next().unwrap_or("") {
        "audio" => (policy.audio, policy.audio_codecs.as_slice(), true),
        "video" => (policy.video, policy.video_codecs.as_slice(), true),
        "application" => (policy.data, &[][..], false),
        _ => (false, &[][..], false),
    };
    let kept = if allowed { kept_payload_types(section, preferred) } else { Err(()) };
    let Ok(kept) = kept else {
        let mut parts: Vec<&str> = m_line.split(' ').collect();
        if parts.len() > 1 {
            parts[1] = "0";
        }
        out.push(format!("m={}", parts.join(" ")));
        for line in &section[1..] {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                refused.push(mid.trim());
            }
            out.push((*line).to_owned());
        }
        return;
    };
    let keeps = |pt: &str| kept.as_ref().is_none_or(|k| k.contains(pt));
    let mut parts = m_line.split(' ');
    let head: Vec<&str> = parts.by_ref().take(3).collect();
    let formats: Vec<&str> = parts.filter(|pt| !media || keeps(pt)).collect();
    out.push(format!("m={} {}", head.join(" "), formats.join(" ")).trim_end().to_owned());
    // The client's direction, narrowed: it may send what we receive and receive what we send.
    let offered = section.iter().find_map(|l| l.strip_prefix("a=").and_then(Direction::parse));
    let offered = offered.unwrap_or(Direction::SendRecv);
    let ours = policy.direction;
    let narrowed =
        Direction::from_flags(offered.sends() && ours.receives(), offered.receives() && ours.sends());
    let simulcast = policy.simulcast && narrowed.sends();
    let mut direction_written = false;
    for line in &section[1..] {
        let attribute = line.strip_prefix("a=").unwrap_or("");
        let (name, value) = attribute.split_once(':').unwrap_or((attribute, ""));
        let pt = value.split([' ', '\t']).next().unwrap_or("");
        if media && Direction::parse(name).is_some() {
            // The narrowed direction in place of the first one; any other is dropped.
            if !std::mem::replace(&mut direction_written, true) {
                out.push(format!("a={}", narrowed.attribute()));
            }
            continue;
        }
        let drop = match name {
            _ if !media => false,
            "rtpmap" | "fmtp" | "rtcp-fb" => pt != "*" && !keeps(pt),
            "rid" | "simulcast" => !simulcast,
            _ => false,
        };
        if !drop {
            out.push((*line).to_owned());
        }
    }
    // No attribute means sendrecv.
    if media && !direction_written && narrowed != Direction::SendRecv {
        out.push(format!("a={}", narrowed.attribute()));
    }
}

/// The payload types to keep in a section: all (`None`) without preferences; else those of
/// the first preferred codec the section has, with their RTX; `Err` when it has none of them.
/// A preference may name a profile after the codec (`h264 profile-level-id=42e01f`, `vp9
/// profile-id=2`): then only that profile's payload types are kept, when the section has it.
fn kept_payload_types(section: &[&str], preferred: &[String]) -> Result<Option<HashSet<String>>, ()> {
    if preferred.is_empty() {
        return Ok(None);
    }
    // (payload type, codec name, clock)
    let rtpmaps: Vec<(&str, String, &str)> = section
        .iter()
        .filter_map(|l| l.strip_prefix("a=rtpmap:"))
        .filter_map(|v| v.split_once(' '))
        .map(|(pt, codec)| {
            let mut parts = codec.split('/');
            (pt, parts.next().unwrap_or("").to_ascii_lowercase(), parts.next().unwrap_or(""))
        })
        .collect();
    let wanted = preferred.iter().flat_map(|p| p.split(',')).map(|p| p.trim().to_ascii_lowercase());
    for wanted in wanted {
        let (codec, profile) = match wanted.split_once(char::is_whitespace) {
            Some((codec, profile)) => (codec.to_owned(), Some(profile.trim().to_owned())),
            None => (wanted, None),
        };
        let mut kept: HashSet<String> =
            rtpmaps.iter().filter(|(_, c, _)| *c == codec).map(|(pt, ..)| (*pt).to_owned()).collect();
        if kept.is_empty() {
            continue;
        }
        // Telephone events at the kept codec's clock go with it (a browser's DTMF).
        let clocks: HashSet<&str> =
            rtpmaps.iter().filter(|(pt, ..)| kept.contains(*pt)).map(|(.., clock)| *clock).collect();
        kept.extend(
            rtpmaps
                .iter()
                .filter(|(_, c, clock)| c == "telephone-event" && clocks.contains(clock))
                .map(|(pt, ..)| (*pt).to_owned()),
        );
        // RTX streams that repair a kept payload type (`a=fmtp:<rtx> apt=<pt>`).
        let rtx: Vec<String> = section
            .iter()
            .filter_map(|l| l.strip_prefix("a=fmtp:"))
            .filter_map(|v| v.split_once(' '))
            .filter(|(pt, params)| {
                rtpmaps.iter().any(|(p, c, _)| p == pt && c == "rtx")
                    && params
                        .split(';')
                        .any(|kv| kv.trim().strip_prefix("apt=").is_some_and(|a| kept.contains(a)))
            })
            .map(|(pt, _)| pt.to_owned())
            .collect();
        kept.extend(rtx);
        return Ok(Some(match profile {
            Some(profile) => matching_fmtp(section, kept, Some(&profile)),
            None => kept,
        }));
    }
    Err(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_left_out_go_with_their_feedback() {
        let sdp = "v=0\r\nm=audio 9 X 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
                   a=extmap:3/sendrecv http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01\r\n\
                   a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\na=rtcp-fb:111 transport-cc\r\n\
                   m=video 9 X 96\r\na=extmap:2 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n\
                   a=extmap:13 urn:3gpp:video-orientation\r\na=rtcp-fb:96 nack\r\n";
        assert_eq!(drop_extensions(sdp, RtpExtensions::ALL), sdp);
        let levels = RtpExtensions { audio_level: true, ..RtpExtensions::NONE };
        assert_eq!(
            drop_extensions(sdp, levels),
            "v=0\r\nm=audio 9 X 111\r\na=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level\r\n\
             a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid\r\nm=video 9 X 96\r\na=rtcp-fb:96 nack\r\n"
        );
        let no_twcc = RtpExtensions { transport_cc: false, ..RtpExtensions::ALL };
        let out = drop_extensions(sdp, no_twcc);
        assert!(
            !out.contains("transport-cc")
                && out.contains("abs-send-time")
                && out.contains("video-orientation")
        );
    }

    #[test]
    fn an_offer_narrowed_to_the_sources_codec() {
        let narrowed = narrow_offer(OFFER, &[("1".to_owned(), "h264".to_owned(), None)]);
        assert!(narrowed.contains("m=video 9 UDP/TLS/RTP/SAVPF 98 99\r\n"), "{narrowed}");
        assert!(
            !narrowed.contains("VP8") && !narrowed.contains("apt=96") && !narrowed.contains("rtcp-fb:96")
        );
        assert!(
            narrowed.contains("a=rtcp-fb:* transport-cc") && narrowed.contains("a=rtpmap:111 opus/48000/2")
        );
        // A codec the section lacks leaves it as it is.
        assert_eq!(narrow_offer(OFFER, &[("1".to_owned(), "av1".to_owned(), None)]), OFFER);
        // H.264 profiles: only the one the source sends, with its RTX.
        let offer = "m=video 9 UDP/TLS/RTP/SAVPF 102 103 104 105\r\na=mid:1\r\na=rtpmap:102 H264/90000\r\n\
            a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f\r\n\
            a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rtpmap:104 H264/90000\r\n\
            a=fmtp:104 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n\
            a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=104\r\n";
        let fmtp = Some("profile-level-id=42E01F;packetization-mode=1".to_owned());
        let narrowed = narrow_offer(offer, &[("1".to_owned(), "h264".to_owned(), fmtp)]);
        assert!(narrowed.starts_with("m=video 9 UDP/TLS/RTP/SAVPF 104 105\r\n"), "{narrowed}");
        // VP9 profiles likewise; parameters that name no profile narrow nothing.
        let offer = "m=video 9 UDP/TLS/RTP/SAVPF 98 99 100 101\r\na=mid:1\r\na=rtpmap:98 VP9/90000\r\n\
            a=fmtp:98 profile-id=0\r\na=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\n\
            a=rtpmap:100 VP9/90000\r\na=fmtp:100 profile-id=2\r\na=rtpmap:101 rtx/90000\r\na=fmtp:101 apt=100\r\n";
        let vp9 =
            |fmtp: &str| narrow_offer(offer, &[("1".to_owned(), "vp9".to_owned(), Some(fmtp.to_owned()))]);
        assert!(vp9("profile-id=2").starts_with("m=video 9 UDP/TLS/RTP/SAVPF 100 101\r\n"));
        assert!(vp9("profile-id=0").starts_with("m=video 9 UDP/TLS/RTP/SAVPF 98 99\r\n"));
        assert!(
            vp9("x-google-start-bitrate=800").starts_with("m=video 9 UDP/TLS/RTP/SAVPF 98 99 100 101\r\n")
        );
        // A payload type that says nothing is profile 0, as Firefox offers VP9.
        let firefox = offer.replace("a=fmtp:98 profile-id=0\r\n", "");
        let zero = Some("profile-id=0".to_owned());
        let narrowed = narrow_offer(&firefox, &[("1".to_owned(), "vp9".to_owned(), zero)]);
        assert!(narrowed.starts_with("m=video 9 UDP/TLS/RTP/SAVPF 98 99\r\n"), "{narrowed}");
    }

    const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE 0 1\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
        a=fmtp:111 minptime=10\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 97 98 99\r\na=mid:1\r\na=rtpmap:96 VP8/90000\r\n\
        a=rtcp-fb:96 nack pli\r\na=rtpmap:97 rtx/90000\r\na=fmtp:97 apt=96\r\na=rtpmap:98 H264/90000\r\n\
        a=rtpmap:99 rtx/90000\r\na=fmtp:99 apt=98\r\na=rtcp-fb:* transport-cc\r\n";

    fn media_line<'a>(sdp: &'a str, kind: &str) -> &'a str {
        sdp.lines().find(|l| l.starts_with(&format!("m={kind} "))).unwrap_or_default()
    }

    #[test]
    fn refused_kinds_get_port_zero_and_leave_the_bundle() {
        let all = AnswerPolicy::everything();
        assert_eq!(apply_policy(OFFER, &all), OFFER);
        let actpass = format!("{OFFER}a=setup:actpass\r\n");
        assert!(apply_policy(&actpass, &all).ends_with("a=setup:passive\r\n"));
        let no_video = apply_policy(OFFER, &AnswerPolicy { video: false, ..all.clone() });
        assert_eq!(media_line(&no_video, "video"), "m=video 0 UDP/TLS/RTP/SAVPF 96 97 98 99");
        assert!(no_video.contains("a=group:BUNDLE 0\r\n"), "{no_video}");
        assert_eq!(media_line(&no_video, "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 111 0");
    }

    #[test]
    fn simulcast_is_left_out_when_refused() {
        let all = AnswerPolicy::everything();
        let simulcast = format!("{OFFER}a=rid:h send\r\na=rid:l send\r\na=simulcast:send h;l\r\n");
        assert_eq!(apply_policy(&simulcast, &all), simulcast);
        let plain = apply_policy(&simulcast, &AnswerPolicy { simulcast: false, ..all.clone() });
        assert_eq!(plain, OFFER, "rids left out");
        let recvonly = AnswerPolicy { direction: Direction::SendOnly, ..all };
        assert!(!apply_policy(&simulcast, &recvonly).contains("a=rid:"), "the client will not send");
    }

    #[test]
    fn codecs_narrow_to_the_first_preferred_one_offered() {
        let policy = AnswerPolicy {
            audio_codecs: vec!["pcma".into(), "pcmu".into()],
            video_codecs: vec!["av1,h264".into()],
            ..AnswerPolicy::everything()
        };
        let sdp = apply_policy(OFFER, &policy);
        assert_eq!(media_line(&sdp, "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 0");
        assert!(!sdp.contains("opus") && !sdp.contains("a=fmtp:111"), "{sdp}");
        assert_eq!(media_line(&sdp, "video"), "m=video 9 UDP/TLS/RTP/SAVPF 98 99", "H.264 and its RTX");
        assert!(!sdp.contains("VP8") && !sdp.contains("apt=96") && !sdp.contains("a=rtcp-fb:96"), "{sdp}");
        assert!(sdp.contains("a=rtcp-fb:* transport-cc"), "{sdp}");
        assert!(sdp.contains("a=group:BUNDLE 0 1\r\n"), "{sdp}");
    }

    #[test]
    fn a_preferred_profile_narrows_the_answer_to_it() {
        let offer = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 102 103 104 105\r\na=mid:1\r\n\
            a=rtpmap:102 H264/90000\r\na=fmtp:102 packetization-mode=1;profile-level-id=42001f\r\n\
            a=rtpmap:103 rtx/90000\r\na=fmtp:103 apt=102\r\na=rtpmap:104 H264/90000\r\n\
            a=fmtp:104 packetization-mode=1;profile-level-id=42e01f\r\n\
            a=rtpmap:105 rtx/90000\r\na=fmtp:105 apt=104\r\n";
        let policy =
            |codec: &str| AnswerPolicy { video_codecs: vec![codec.into()], ..AnswerPolicy::everything() };
        let sdp = apply_policy(offer, &policy("h264 profile-level-id=42e01f;packetization-mode=1"));
        assert_eq!(media_line(&sdp, "video"), "m=video 9 UDP/TLS/RTP/SAVPF 104 105");
        // A profile the offer lacks: the codec's other profiles.
        let sdp = apply_policy(offer, &policy("h264 profile-level-id=640c1f"));
        assert_eq!(media_line(&sdp, "video"), "m=video 9 UDP/TLS/RTP/SAVPF 102 103 104 105");
    }

    #[test]
    fn telephone_events_at_the_kept_codecs_clock_stay() {
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0 110 126\r\na=mid:0\r\n\
                     a=rtpmap:111 opus/48000/2\r\na=rtpmap:0 PCMU/8000\r\n\
                     a=rtpmap:110 telephone-event/48000\r\na=rtpmap:126 telephone-event/8000\r\n";
        let pcmu = AnswerPolicy { audio_codecs: vec!["pcmu".into()], ..AnswerPolicy::everything() };
        assert_eq!(media_line(&apply_policy(offer, &pcmu), "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 0 126");
        let opus = AnswerPolicy { audio_codecs: vec!["opus".into()], ..AnswerPolicy::everything() };
        let sdp = apply_policy(offer, &opus);
        assert_eq!(media_line(&sdp, "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 111 110");
        assert!(!sdp.contains("telephone-event/8000"), "{sdp}");
    }

    #[test]
    fn a_stream_without_any_preferred_codec_is_refused() {
        let policy = AnswerPolicy { video_codecs: vec!["vp9".into()], ..AnswerPolicy::everything() };
        let sdp = apply_policy(OFFER, &policy);
        assert!(media_line(&sdp, "video").starts_with("m=video 0 "), "{sdp}");
        assert!(sdp.contains("a=group:BUNDLE 0\r\n"), "{sdp}");
        assert_eq!(media_line(&sdp, "audio"), "m=audio 9 UDP/TLS/RTP/SAVPF 111 0");
    }

    #[test]
    fn directions_narrow_to_what_the_plugin_allows() {
        let only = |direction| AnswerPolicy { direction, ..AnswerPolicy::everything() };
        // We only receive: the client only sends.
        let sdp = apply_policy(OFFER, &only(Direction::RecvOnly));
        assert_eq!(sdp.matches("a=sendonly").count(), 2, "{sdp}");
        assert!(!sdp.contains("a=sendrecv"), "{sdp}");
        // A client that only receives, and a plugin that only receives: nothing flows.
        let recvonly_offer = OFFER.replace("a=sendrecv", "a=recvonly");
        let sdp = apply_policy(&recvonly_offer, &only(Direction::RecvOnly));
        assert!(sdp.contains("m=audio 9") && sdp.contains("a=inactive"), "{sdp}");
        // We send only: the client only receives.
        let sdp = apply_policy(OFFER, &only(Direction::SendOnly));
        assert_eq!(sdp.matches("a=recvonly").count(), 2, "{sdp}");
    }

    #[test]
    fn stereo_opus_is_said_where_asked() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
                   a=fmtp:111 minptime=10;stereo=0;useinbandfec=1\r\na=rtpmap:0 PCMU/8000\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=rtpmap:96 OPUS/48000/2\r\n\
                   m=video 9 UDP/TLS/RTP/SAVPF 97\r\na=mid:2\r\na=rtpmap:97 VP8/90000\r\n";
        let all = stereo_opus(sdp, None);
        assert!(all.contains("a=fmtp:111 minptime=10;useinbandfec=1;stereo=1;sprop-stereo=1\r\n"), "{all}");
        assert!(all.contains("a=rtpmap:96 OPUS/48000/2\r\na=fmtp:96 stereo=1;sprop-stereo=1\r\n"), "{all}");
        assert_eq!(all.matches(";sprop-stereo=1").count(), 2, "{all}");
        let one = stereo_opus(sdp, Some(&["1".to_owned()]));
        assert!(one.contains("a=fmtp:111 minptime=10;stereo=0;useinbandfec=1\r\n"), "{one}");
        assert!(one.contains("a=fmtp:96 stereo=1;sprop-stereo=1"), "{one}");
        let policy = |c: &str| AnswerPolicy { audio_codecs: vec![c.into()], ..AnswerPolicy::everything() };
        assert!(wants_stereo(&policy("opus stereo=1")) && wants_stereo(&policy("pcmu,OPUS stereo=1")));
        assert!(!wants_stereo(&policy("opus")) && !wants_stereo(&policy("pcmu stereo=1")));
        // A policy naming stereo still answers Opus.
        let offer = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111 0\r\na=mid:0\r\na=rtpmap:111 opus/48000/2\r\n\
                     a=rtpmap:0 PCMU/8000\r\n";
        assert_eq!(
            media_line(&apply_policy(offer, &policy("opus stereo=1")), "audio"),
            "m=audio 9 UDP/TLS/RTP/SAVPF 111"
        );
    }
}

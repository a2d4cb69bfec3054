//! What admin `handle_info` shows of a handle's PeerConnection, in Janus's shape: `flags`,
//! `ice-mode`, `ice-role`, `sdps` and `webrtc` (ICE, DTLS, and per stream its type, direction,
//! codec, SSRCs and counters). Counters come from str0m's stats, refreshed every second.

use serde_json::{json, Map, Value};
use str0m::media::Mid;
use str0m::IceConnectionState;

use super::peer::{Counters, Peer};
use crate::vocab::MediaKind;

/// The handle-level members of `handle_info` that describe its PeerConnection.
pub fn describe(p: &mut Peer, ice_lite: bool) -> Value {
    let streams = p.streams();
    let has = |kind: MediaKind| streams.iter().any(|s| s.kind == kind);
    let flags = json!({
        "got-offer": p.remote_offered, "got-answer": p.remote_answered, "negotiated": p.negotiated,
        "processing-offer": p.remote_offer.is_some(), "starting": p.negotiated && !p.connected,
        "ice-restart": false, "ready": p.connected, "stopped": false, "alert": false,
        "trickle": true, "data-channels": has(MediaKind::Data),
        "has-audio": has(MediaKind::Audio), "has-video": has(MediaKind::Video),
        "new-datachan-sdp": false, "rfc4588-rtx": false, "cleaning": false, "e2ee": false,
    });
    let mut sdps = Map::new();
    sdps.insert("profile".into(), json!("UDP/TLS/RTP/SAVPF"));
    if let Some(local) = &p.local_sdp {
        sdps.insert("local".into(), json!(local));
    }
    if let Some(remote) = &p.remote_sdp {
        sdps.insert("remote".into(), json!(remote));
    }
    let ice = json!({
        "stream_id": 1,
        "component_id": 1,
        "state": ice_state(p),
        "local-candidates": candidates(p.local_sdp.as_deref()),
        "remote-candidates": p.remote_candidates,
        "ready": i32::from(p.connected),
    });
    let mut dtls = Map::new();
    let api = p.rtc.direct_api();
    dtls.insert("fingerprint".into(), json!(api.local_dtls_fingerprint().to_string()));
    if let Some(remote) = api.remote_dtls_fingerprint() {
        dtls.insert("remote-fingerprint".into(), json!(remote.to_string()));
    }
    // Our role, as our SDP set it (`active`: we are the DTLS client).
    let role = p.local_sdp.as_deref().and_then(|s| crate::sdp::attribute(s, "setup"));
    dtls.insert("dtls-role".into(), json!(role.unwrap_or("actpass")));
    dtls.insert("dtls-state".into(), json!(if p.connected { "connected" } else { "trying" }));
    dtls.insert("valid".into(), json!(p.connected));
    dtls.insert("ready".into(), json!(p.connected));
    let mut media = Map::new();
    for s in &streams {
        let mid = Mid::from(s.mid.as_str());
        let index = p.mindex(mid);
        let mut m = Map::new();
        let kind = match s.kind {
            MediaKind::Audio => "audio",
            MediaKind::Video => "video",
            MediaKind::Data => "data",
        };
        m.insert("type".into(), json!(kind));
        m.insert("mindex".into(), json!(index));
        m.insert("mid".into(), json!(s.mid));
        if s.kind != MediaKind::Data {
            m.insert("direction".into(), json!({"send": s.client_receives, "recv": s.client_sends}));
            let pt = p.rtc.media(mid).and_then(|m| m.remote_pts().first().copied());
            m.insert("codecs".into(), json!({"pt": pt.map(|pt| *pt), "codec": s.codec}));
            m.insert("ssrc".into(), ssrcs(p, mid));
            if !s.rids.is_empty() {
                m.insert("rid-simulcast".into(), json!({"rid": s.rids}));
            }
            let sum = |side: &foldhash::HashMap<(Mid, Option<str0m::media::Rid>), Counters>| {
                let mut total = Counters::default();
                for ((m, _), c) in side {
                    if *m == mid {
                        total.add(c);
                    }
                }
                json!({
                    "packets": total.packets,
                    "bytes": total.bytes,
                    "bytes_lastsec": total.bytes_lastsec,
                    "nacks": total.nacks,
                })
            };
            m.insert("stats".into(), json!({"in": sum(&p.counters_in), "out": sum(&p.counters_out)}));
        }
        media.insert(s.mid.clone(), Value::Object(m));
    }
    let controlling = p.controlling.unwrap_or(false) && !ice_lite;
    json!({
        "flags": flags,
        "ice-mode": if ice_lite { "lite" } else { "full" },
        "ice-role": if controlling { "controlling" } else { "controlled" },
        "sdps": sdps,
        "webrtc": {"ice": ice, "dtls": dtls, "media": media},
    })
}

/// Janus's name for the ICE state.
fn ice_state(p: &Peer) -> &'static str {
    match p.ice_state {
        _ if !p.negotiated => "disconnected",
        None | Some(IceConnectionState::New) => "gathering",
        Some(IceConnectionState::Checking) => "connecting",
        Some(IceConnectionState::Connected) => "connected",
        Some(IceConnectionState::Completed) => "ready",
        Some(IceConnectionState::Disconnected) => "disconnected",
    }
}

/// The candidate lines of an SDP, without `a=`.
fn candidates(sdp: Option<&str>) -> Vec<String> {
    sdp.into_iter()
        .flat_map(str::lines)
        .filter_map(|l| l.trim_end().strip_prefix("a="))
        .filter(|l| l.starts_with("candidate:"))
        .map(str::to_owned)
        .collect()
}

/// Our SSRC (and its RTX) on a stream, and the client's: `ssrc-peer` for the main (or lowest
/// simulcast) stream, `ssrc-peer-sim-1`/`-sim-2` for the upper substreams.
fn ssrcs(p: &mut Peer, mid: Mid) -> Value {
    let mut out = Map::new();
    let mut api = p.rtc.direct_api();
    if let Some(tx) = api.stream_tx_by_mid(mid, None) {
        out.insert("ssrc".into(), json!(*tx.ssrc()));
        if let Some(rtx) = tx.rtx() {
            out.insert("ssrc-rtx".into(), json!(*rtx));
        }
    }
    for (ssrc, rx) in p.rx.iter().filter(|(_, rx)| rx.mid == mid) {
        let key = match rx.layer {
            None | Some(0) => "ssrc-peer".to_owned(),
            Some(n) => format!("ssrc-peer-sim-{n}"),
        };
        out.insert(key, json!(**ssrc));
    }
    Value::Object(out)
}

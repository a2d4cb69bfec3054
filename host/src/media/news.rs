//! What the event handlers hear of a PeerConnection besides the client's own events, as
//! Janus tells them: ICE states, both sides' candidates, the selected pair and DTLS states
//! (type 16, subtypes 1 to 5), and every `stats_period` seconds each stream's statistics
//! (type 32, subtype 3). A peer keeps this only while event handlers are on; the core hands
//! what was told on as [`MediaEvent::ForHandlers`](crate::vocab::MediaEvent::ForHandlers).

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use foldhash::HashMap;
use serde_json::{json, Map, Value};
use str0m::media::{Mid, Rid};
use str0m::stats::{MediaEgressStats, MediaIngressStats};
use str0m::IceConnectionState;

use crate::events::Kind;

/// Janus's webrtc subtypes.
const ICE: u8 = 1;
const LOCAL_CANDIDATE: u8 = 2;
const REMOTE_CANDIDATE: u8 = 3;
const SELECTED_PAIR: u8 = 4;
const DTLS: u8 = 5;
/// Janus's media subtype of statistics.
const STATS: u8 = 3;

/// Janus's link quality filter: each new sample weighs a third.
const QUALITY_K: f64 = 3.0;

/// Janus's name of an ICE state.
pub fn ice_name(state: IceConnectionState) -> &'static str {
    match state {
        IceConnectionState::New => "gathering",
        IceConnectionState::Checking => "connecting",
        IceConnectionState::Connected => "connected",
        IceConnectionState::Completed => "ready",
        IceConnectionState::Disconnected => "disconnected",
    }
}

/// What a stream is, for its statistics.
#[derive(Debug, Clone)]
pub struct StreamDesc {
    /// The stream.
    pub mid: Mid,
    /// Its m-line's index in the SDP.
    pub mindex: usize,
    /// Video (else audio).
    pub video: bool,
    /// Its codec, lower case, and clock rate.
    pub codec: Option<(String, u32)>,
    /// The simulcast rids the client sends, highest quality first (Janus's substream 0 is
    /// the lowest).
    pub rids: Vec<String>,
}

/// One stream's (or substream's) counters between two statistics events.
#[derive(Debug, Default)]
struct StreamStats {
    ingress: Option<MediaIngressStats>,
    egress: Option<MediaEgressStats>,
    /// Received packets lost, in all.
    lost: u64,
    /// Bytes at the report before the last, each way (for `…-lastsec`).
    bytes_in_before: u64,
    bytes_out_before: u64,
    /// Janus's link qualities, filtered (0: no sample yet).
    in_quality: f64,
    out_quality: f64,
    out_media_quality: f64,
    /// Sent packets, NACKs received and losses reported by the client at the last egress
    /// report.
    out_before: (u64, u64, u64),
}

/// Janus's filter of a link quality sample.
fn filtered(last: f64, sample: f64) -> f64 {
    if last == 0.0 || last == sample || last.is_nan() {
        sample
    } else {
        (1.0 - 1.0 / QUALITY_K) * last + sample / QUALITY_K
    }
}

/// `part` of `whole` as a quality from 0 to 100 (100: none of it).
fn quality(part: u64, whole: u64) -> f64 {
    match (part, whole) {
        (0, _) => 100.0,
        (_, 0) => 0.0,
        (p, w) if p >= w => 0.0,
        (p, w) => 100.0 * (1.0 - p as f64 / w as f64),
    }
}

/// A peer's news for the event handlers.
#[derive(Debug, Default)]
pub struct PeerNews {
    /// Told and not yet handed on: (type, subtype, body).
    pub told: Vec<(Kind, u8, Value)>,
    streams: HashMap<(Mid, Option<Rid>), StreamStats>,
    /// When the next statistics event is due (none: not before the first report).
    next_stats: Option<Instant>,
    /// ICE connected: the selected pair is told with the next datagram sent.
    pub pair_wanted: bool,
    /// The client's side of the pair told last.
    told_pair: Option<SocketAddr>,
    /// DTLS datagrams (the data channels' SCTP, and the handshake) received and sent:
    /// (count, bytes) each way, as Janus counts a data stream's packets.
    dtls_in: (u64, u64),
    dtls_out: (u64, u64),
}

impl PeerNews {
    fn webrtc(&mut self, subtype: u8, mut body: Value) {
        body["stream_id"] = json!(1);
        body["component_id"] = json!(1);
        self.told.push((Kind::Webrtc, subtype, body));
    }

    /// ICE moved to a state (Janus's name).
    pub fn ice(&mut self, state: &str) {
        self.webrtc(ICE, json!({"ice": state}));
    }

    /// One of our candidates (its SDP text, with or without `candidate:`; without the
    /// `ufrag` str0m appends, as Janus writes it).
    pub fn local_candidate(&mut self, text: &str) {
        let text = text.strip_prefix("candidate:").unwrap_or(text);
        let text = text.split_once(" ufrag ").map_or(text, |(c, _)| c);
        self.webrtc(LOCAL_CANDIDATE, json!({"local-candidate": text}));
    }

    /// One of the client's candidates.
    pub fn remote_candidate(&mut self, text: &str) {
        let text = text.strip_prefix("candidate:").unwrap_or(text);
        self.webrtc(REMOTE_CANDIDATE, json!({"remote-candidate": text}));
    }

    /// The pair ICE chose: our `local` host candidate and the client's `remote` one of type
    /// `remote_type`.
    pub fn pair(&mut self, local: SocketAddr, remote: SocketAddr, remote_type: &str) {
        self.pair_wanted = false;
        // Only a new pair, as Janus.
        if self.told_pair.replace(remote) == Some(remote) {
            return;
        }
        let side = |a: SocketAddr, kind: &str| {
            json!({"address": a.ip().to_string(), "port": a.port(), "type": kind, "transport": "udp",
                   "family": if a.is_ipv4() { 4 } else { 6 }})
        };
        let text = format!(
            "{}:{} [host,udp] <-> {}:{} [{remote_type},udp]",
            local.ip(),
            local.port(),
            remote.ip(),
            remote.port()
        );
        self.webrtc(
            SELECTED_PAIR,
            json!({"selected-pair": text,
                   "candidates": {"local": side(local, "host"), "remote": side(remote, remote_type)}}),
        );
    }

    /// DTLS moved to a state (`trying`, `connected`), after `retransmissions` of our handshake
    /// flights were sent again.
    pub fn dtls(&mut self, state: &str, retransmissions: u32) {
        self.webrtc(DTLS, json!({"dtls": state, "retransmissions": retransmissions}));
    }

    /// A receive stream's report (str0m's, each second), with the packets it lost since the
    /// last one.
    pub fn ingress(&mut self, now: Instant, s: &MediaIngressStats, lost: u64) {
        self.next_stats.get_or_insert(now);
        let st = self.streams.entry((s.mid, s.rid)).or_default();
        let (before_packets, before_bytes) = st.ingress.as_ref().map_or((0, 0), |i| (i.packets, i.bytes));
        let received = s.packets.saturating_sub(before_packets);
        st.lost += lost;
        st.in_quality = filtered(st.in_quality, quality(lost, received + lost));
        st.bytes_in_before = before_bytes;
        st.ingress = Some(s.clone());
    }

    /// A send stream's report.
    pub fn egress(&mut self, now: Instant, s: &MediaEgressStats) {
        self.next_stats.get_or_insert(now);
        let st = self.streams.entry((s.mid, s.rid)).or_default();
        let lost_by_remote = s.remote.as_ref().map_or(0, |r| r.packets_lost);
        let (packets, nacks, lost) = st.out_before;
        let sent = s.packets.saturating_sub(packets);
        st.out_quality = filtered(st.out_quality, quality(s.nacks.saturating_sub(nacks), sent));
        st.out_media_quality =
            filtered(st.out_media_quality, quality(lost_by_remote.saturating_sub(lost), sent));
        st.out_before = (s.packets, s.nacks, lost_by_remote);
        st.bytes_out_before = st.egress.as_ref().map_or(0, |e| e.bytes);
        st.egress = Some(s.clone());
    }

    /// A DTLS datagram of `len` bytes came.
    pub fn dtls_in(&mut self, now: Instant, len: usize) {
        self.next_stats.get_or_insert(now);
        self.dtls_in = (self.dtls_in.0 + 1, self.dtls_in.1 + len as u64);
    }

    /// `count` DTLS datagrams of `bytes` in all went.
    pub fn dtls_out(&mut self, now: Instant, count: u64, bytes: usize) {
        if count > 0 {
            self.next_stats.get_or_insert(now);
            self.dtls_out = (self.dtls_out.0 + count, self.dtls_out.1 + bytes as u64);
        }
    }

    /// Whether the statistics event is due (`period` 0: never).
    pub fn stats_due(&self, now: Instant, period: Duration) -> bool {
        !period.is_zero() && self.next_stats.is_some_and(|t| now >= t)
    }

    /// Tells each stream's statistics, in one event (`combine`) or one per stream and
    /// substream, as Janus, with the data channels' m-line (`data`: its mid and index) among
    /// them; the next are due `period` later. `remb` is the bitrate the client was last asked
    /// to keep under (0: none).
    pub fn stats(
        &mut self,
        now: Instant,
        period: Duration,
        combine: bool,
        streams: &[StreamDesc],
        data: Option<(Mid, usize)>,
        remb: u64,
    ) {
        self.next_stats = Some(now + period);
        let mut all = Vec::new();
        for d in streams {
            let layers: Vec<Option<Rid>> = match d.rids.as_slice() {
                [] => vec![None],
                rids => rids.iter().rev().map(|r| Some(Rid::from(r.as_str()))).collect(),
            };
            for (index, rid) in layers.into_iter().enumerate() {
                // A sending stream has one layer (the rid is the client's).
                let st = self.streams.get(&(d.mid, rid));
                let sent = (index == 0).then(|| self.streams.get(&(d.mid, None))).flatten();
                if st.is_none() && sent.is_none() {
                    continue;
                }
                all.push(stream_stats(d, index, st, sent, remb));
            }
        }
        if let Some((mid, mindex)) = data {
            let mut m = json!({"mid": mid.to_string(), "mindex": mindex, "media": "data",
                "packets-received": self.dtls_in.0, "packets-sent": self.dtls_out.0,
                "bytes-received": self.dtls_in.1, "bytes-sent": self.dtls_out.1});
            if mindex == 0 && remb > 0 {
                m["remb-bitrate"] = json!(remb);
            }
            // In m-line order, as Janus lists them.
            let at = all.partition_point(|s| s["mindex"].as_u64().is_some_and(|i| i < mindex as u64));
            all.insert(at, m);
        }
        if all.is_empty() {
            return;
        }
        if combine {
            self.told.push((Kind::Media, STATS, Value::Array(all)));
        } else {
            self.told.extend(all.into_iter().map(|body| (Kind::Media, STATS, body)));
        }
    }
}

/// Janus's statistics of one stream or substream (`index` 0, 1, 2): `received` holds what
/// the client sends on it, `sent` what we send (the same entry without simulcast).
fn stream_stats(
    d: &StreamDesc,
    index: usize,
    received: Option<&StreamStats>,
    sent: Option<&StreamStats>,
    remb: u64,
) -> Value {
    let media = match (d.video, index) {
        (false, _) => "audio".to_owned(),
        (true, 0) => "video".to_owned(),
        (true, n) => format!("video-sim{n}"),
    };
    let mut m = Map::new();
    m.insert("mid".into(), json!(d.mid.to_string()));
    m.insert("mindex".into(), json!(d.mindex));
    m.insert("media".into(), json!(media));
    let clock = d.codec.as_ref().map_or(0, |(_, c)| *c);
    if let Some((codec, clock)) = &d.codec {
        m.insert("codec".into(), json!(codec));
        m.insert("base".into(), json!(clock));
    }
    let ms = |units: u32| if clock >= 1000 { u64::from(units) / u64::from(clock / 1000) } else { 0 };
    let ingress = received.and_then(|s| s.ingress.as_ref());
    let egress = sent.and_then(|s| s.egress.as_ref());
    if index == 0 {
        let rtt = egress.and_then(|e| e.rtt).or_else(|| ingress.and_then(|i| i.rtt));
        m.insert("rtt".into(), json!(rtt.map_or(0, |r| r.as_millis() as u64)));
    }
    m.insert("lost".into(), json!(received.map_or(0, |s| s.lost)));
    let remote = egress.and_then(|e| e.remote.as_ref());
    m.insert("lost-by-remote".into(), json!(remote.map_or(0, |r| r.packets_lost)));
    m.insert("jitter-local".into(), json!(ingress.map_or(0, |i| ms(i.jitter))));
    m.insert("jitter-remote".into(), json!(remote.map_or(0, |r| ms(r.jitter))));
    let q = |v: f64| (v + 0.5) as u64;
    let in_q = received.map_or(0, |s| q(s.in_quality));
    m.insert("in-link-quality".into(), json!(in_q));
    // Retransmissions are not told apart from first sends on receipt: the media link's
    // quality is the link's.
    m.insert("in-media-link-quality".into(), json!(in_q));
    m.insert("out-link-quality".into(), json!(sent.map_or(0, |s| q(s.out_quality))));
    m.insert("out-media-link-quality".into(), json!(sent.map_or(0, |s| q(s.out_media_quality))));
    let in_packets = ingress.map_or(0, |i| i.packets);
    let out_packets = egress.map_or(0, |e| e.packets);
    m.insert("packets-received".into(), json!(in_packets));
    m.insert("packets-sent".into(), json!(out_packets));
    m.insert("bytes-received".into(), json!(ingress.map_or(0, |i| i.bytes)));
    m.insert("bytes-sent".into(), json!(egress.map_or(0, |e| e.bytes)));
    let lastsec =
        |now: Option<u64>, before: Option<u64>| now.unwrap_or(0).saturating_sub(before.unwrap_or(0));
    m.insert(
        "bytes-received-lastsec".into(),
        json!(lastsec(ingress.map(|i| i.bytes), received.map(|s| s.bytes_in_before))),
    );
    m.insert(
        "bytes-sent-lastsec".into(),
        json!(lastsec(egress.map(|e| e.bytes), sent.map(|s| s.bytes_out_before))),
    );
    m.insert("nacks-received".into(), json!(egress.map_or(0, |e| e.nacks)));
    m.insert("nacks-sent".into(), json!(ingress.map_or(0, |i| i.nacks)));
    if d.mindex == 0 && remb > 0 {
        m.insert("remb-bitrate".into(), json!(remb));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_quality_follows_janus_filter() {
        assert_eq!(quality(0, 0), 100.0);
        assert_eq!(quality(5, 0), 0.0);
        assert_eq!(quality(10, 100), 90.0);
        assert_eq!(filtered(0.0, 90.0), 90.0);
        assert!((filtered(90.0, 60.0) - 80.0).abs() < 1e-9);
    }

    #[test]
    fn the_pair_reads_as_janus_writes_it() {
        let mut n = PeerNews::default();
        n.pair("10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap(), "prflx");
        let (kind, subtype, body) = &n.told[0];
        assert_eq!((*kind, *subtype), (Kind::Webrtc, 4));
        assert_eq!(body["selected-pair"], "10.0.0.1:4000 [host,udp] <-> 10.0.0.2:5000 [prflx,udp]");
        assert_eq!(body["candidates"]["remote"]["type"], "prflx");
        assert_eq!(body["candidates"]["local"]["family"], 4);
        assert_eq!(body["stream_id"], 1);
        // The same pair again (ICE back after a moment) is not told twice; a new one is.
        n.pair("10.0.0.1:4000".parse().unwrap(), "10.0.0.2:5000".parse().unwrap(), "prflx");
        assert_eq!(n.told.len(), 1);
        n.pair("10.0.0.1:4000".parse().unwrap(), "10.0.0.3:5000".parse().unwrap(), "host");
        assert_eq!(n.told.len(), 2);
    }
}

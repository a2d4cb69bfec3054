//! RTP forwarders (`rtp_forward`, `stop_rtp_forward`, `listforwarders`): a publisher's streams
//! sent as plain RTP, or SDES-SRTP with `srtp_suite` and `srtp_crypto`, to UDP destinations
//! through the host's RTP outputs, as Janus's. A video stream's `port` carries its lowest
//! simulcast substream (the whole stream without simulcast), `port_2` and `port_3` the others;
//! with `simulcast: true` one port carries the best substream, as a subscriber gets it. The
//! deprecated form (`audio_port`, `video_port`, `video_port_2`, …, `data_port`) reaches the
//! publisher's first stream of each kind and answers with Janus's `rtp_stream` too. `host` may
//! be a name (looked up first, as Janus does); the room's secret is needed, and, with
//! `lock_rtp_forward`, the `admin_key` when the plugin has one.

use portunus_sdk::rtp_target::{family, forward_all, resolve, srtp_of};
use portunus_sdk::{
    host, json, Endpoint, Field, ForwardOptions, JsonType, MediaKind, PluginError, RtpTarget, Value,
};
use serde_json::Map;

use crate::publisher::PubStream;
use crate::{code, err, kind_name, str_of, videoroom, VideoRoom, CODES};

/// What `rtp_forward` takes (Janus's `rtp_forward_parameters`, the deprecated ones too).
const FORWARD: &[Field] = &[
    Field::new("host", JsonType::String).required(),
    Field::new("host_family", JsonType::String),
    Field::new("simulcast", JsonType::Bool),
    Field::new("srtp_suite", JsonType::Integer).positive(),
    Field::new("srtp_crypto", JsonType::String),
    Field::new("streams", JsonType::Array),
    Field::new("audio_port", JsonType::Integer).positive(),
    Field::new("audio_rtcp_port", JsonType::Integer).positive(),
    Field::new("audio_ssrc", JsonType::Integer).positive(),
    Field::new("audio_pt", JsonType::Integer).positive(),
    Field::new("video_port", JsonType::Integer).positive(),
    Field::new("video_rtcp_port", JsonType::Integer).positive(),
    Field::new("video_ssrc", JsonType::Integer).positive(),
    Field::new("video_pt", JsonType::Integer).positive(),
    Field::new("video_port_2", JsonType::Integer).positive(),
    Field::new("video_ssrc_2", JsonType::Integer).positive(),
    Field::new("video_pt_2", JsonType::Integer).positive(),
    Field::new("video_port_3", JsonType::Integer).positive(),
    Field::new("video_ssrc_3", JsonType::Integer).positive(),
    Field::new("video_pt_3", JsonType::Integer).positive(),
    Field::new("data_port", JsonType::Integer).positive(),
];

/// What each of `streams` takes.
const STREAM: &[Field] = &[
    Field::new("mid", JsonType::String).required(),
    Field::new("host", JsonType::String),
    Field::new("host_family", JsonType::String),
    Field::new("port", JsonType::Integer).required().positive(),
    Field::new("rtcp_port", JsonType::Integer).positive(),
    Field::new("ssrc", JsonType::Integer).positive(),
    Field::new("pt", JsonType::Integer).positive(),
    Field::new("simulcast", JsonType::Bool),
    Field::new("port_2", JsonType::Integer).positive(),
    Field::new("ssrc_2", JsonType::Integer).positive(),
    Field::new("pt_2", JsonType::Integer).positive(),
    Field::new("port_3", JsonType::Integer).positive(),
    Field::new("ssrc_3", JsonType::Integer).positive(),
    Field::new("pt_3", JsonType::Integer).positive(),
];

/// The names of a stream's ports (with their SSRC and payload type), lowest substream first.
const PORTS: [[&str; 3]; 3] =
    [["port", "ssrc", "pt"], ["port_2", "ssrc_2", "pt_2"], ["port_3", "ssrc_3", "pt_3"]];

/// A port of the deprecated form: the kind it takes, its names (port, SSRC, payload type), its
/// substream, and the names of its stream id and port in Janus's `rtp_stream` answer.
type LegacyPort = (MediaKind, [&'static str; 3], Option<u8>, [&'static str; 2]);

/// The deprecated form's ports.
const LEGACY: [LegacyPort; 5] = [
    (MediaKind::Audio, ["audio_port", "audio_ssrc", "audio_pt"], None, ["audio_stream_id", "audio"]),
    (MediaKind::Video, ["video_port", "video_ssrc", "video_pt"], Some(0), ["video_stream_id", "video"]),
    (
        MediaKind::Video,
        ["video_port_2", "video_ssrc_2", "video_pt_2"],
        Some(1),
        ["video_stream_id_2", "video_2"],
    ),
    (
        MediaKind::Video,
        ["video_port_3", "video_ssrc_3", "video_pt_3"],
        Some(2),
        ["video_stream_id_3", "video_3"],
    ),
    (MediaKind::Data, ["data_port", "", ""], None, ["data_stream_id", "data"]),
];

/// One forwarder to make: a stream, where to, and its substream (`port_2` is substream 1).
struct Wanted {
    mid: String,
    kind: MediaKind,
    codec: Option<String>,
    target: RtpTarget,
    substream: Option<u8>,
    /// The receiver's RTCP port (`rtcp_port`): its PLIs and FIRs ask the publisher for
    /// keyframes.
    rtcp_port: Option<u16>,
}

/// A port number under `name` (0 is none; above 65535 was refused before).
fn port_of(obj: &Map<String, Value>, name: &str) -> Option<u16> {
    obj.get(name).and_then(Value::as_u64).and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0)
}

/// One target: `port`, `ssrc` and `pt` under the names `names` gives (`port` or `video_port`,
/// …), to `host`, with `srtp` for audio and video.
fn target_of(
    obj: &Map<String, Value>,
    names: [&str; 3],
    host: &str,
    srtp: &Option<portunus_sdk::SrtpKey>,
) -> Option<RtpTarget> {
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    let port = port_of(obj, names[0])?;
    Some(RtpTarget {
        host: host.to_owned(),
        port,
        ssrc: num(names[1]).map(|s| s as u32).filter(|s| *s > 0),
        payload_type: num(names[2]).map(|p| (p & 0x7f) as u8).filter(|p| *p > 0),
        srtp: srtp.clone(),
    })
}

/// The forwarders one stream of `streams` asks for: its port, and a video stream's `port_2`
/// and `port_3` when it is simulcast and not forwarded `simulcast: true`.
fn wanted_of(
    s: &Map<String, Value>,
    stream: &PubStream,
    host: &str,
    srtp: &Option<portunus_sdk::SrtpKey>,
) -> Vec<Wanted> {
    let host = str_of(s, "host").unwrap_or(host);
    let codec = (!stream.codec.is_empty()).then(|| stream.codec.clone());
    // RTCP goes with the first port, of audio and video, as in Janus.
    let rtcp_port = if stream.kind == MediaKind::Data { None } else { port_of(s, "rtcp_port") };
    let wanted = |target, substream: Option<u8>| Wanted {
        mid: stream.mid.clone(),
        kind: stream.kind,
        codec: codec.clone(),
        target,
        substream,
        rtcp_port: rtcp_port.filter(|_| substream.unwrap_or(0) == 0),
    };
    let srtp = if stream.kind == MediaKind::Data { &None } else { srtp };
    if stream.kind != MediaKind::Video || s.get("simulcast").and_then(Value::as_bool) == Some(true) {
        return target_of(s, PORTS[0], host, srtp).map(|t| wanted(t, None)).into_iter().collect();
    }
    // (Without simulcast, `port_2` and `port_3` would get nothing: Janus makes forwarders that
    // never send, none is made here.)
    let layers = if stream.simulcast { 3 } else { 1 };
    (0..layers).filter_map(|l| target_of(s, PORTS[l], host, srtp).map(|t| wanted(t, Some(l as u8)))).collect()
}

impl VideoRoom {
    /// `rtp_forward`, as Janus 1.1.2 checks it: the fields first, then the room and its
    /// secret, then the publisher; every forwarder is made or none.
    pub(crate) fn rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let invalid = |e: String| err(code::INVALID_ELEMENT, e);
        portunus_sdk::validate(body, FORWARD, &CODES)?;
        let ids = [self.id_field("room").required(), self.id_field("publisher_id").required()];
        portunus_sdk::validate(body, &ids, &CODES)?;
        self.check_rtp_forward_key(body)?;
        // Names are looked up first, as Janus does: the answers give addresses.
        let asked_family = family(body).map_err(invalid)?;
        let host_name = resolve(str_of(body, "host").unwrap_or_default(), asked_family).map_err(invalid)?;
        check_ports(
            body,
            LEGACY.iter().map(|(_, names, ..)| names[0]).chain(["audio_rtcp_port", "video_rtcp_port"]),
        )?;
        let streams: Vec<Map<String, Value>> = body
            .get("streams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_object().cloned())
            .collect();
        if body.get("streams").and_then(Value::as_array).is_some_and(|s| s.len() != streams.len()) {
            return Err(err(
                code::INVALID_ELEMENT,
                "Invalid element type (streams should be an array of objects)",
            ));
        }
        let mut streams = streams;
        for s in &mut streams {
            portunus_sdk::validate(s, STREAM, &CODES)?;
            check_ports(s, PORTS.iter().map(|names| names[0]).chain(["rtcp_port"]))?;
            if let Some(host) = str_of(s, "host") {
                let resolved =
                    resolve(host, family(s).map_err(invalid)?.or(asked_family)).map_err(invalid)?;
                s.insert("host".into(), json!(resolved));
            }
        }
        let srtp = srtp_of(body).map_err(invalid)?;
        let (room, _) = self.room_with_secret(body)?;
        let publisher_id = self.participant_id(body, "publisher_id")?;
        let no_feed = || err(code::NO_SUCH_FEED, format!("No such feed ({publisher_id})"));
        let handle = self.members.get(&(room.clone(), publisher_id.clone())).copied().ok_or_else(no_feed)?;
        let p = self.publisher(handle.handle).ok_or_else(no_feed)?;
        let legacy = !body.contains_key("streams");
        let mut wanted = Vec::new();
        if legacy {
            // The first stream of each kind, as Janus's deprecated form finds it; with
            // `simulcast: true`, `video_port` carries the best substream and the others none;
            // without simulcast, only `video_port` (as with `streams`).
            let simulcast = body.get("simulcast").and_then(Value::as_bool) == Some(true);
            for (kind, names, substream, answer) in LEGACY {
                let Some(s) = p.streams.iter().find(|s| s.kind == kind) else { continue };
                if substream.is_some_and(|l| l > 0) && (simulcast || !s.simulcast) {
                    continue;
                }
                let substream = if simulcast { None } else { substream };
                let srtp = if kind == MediaKind::Data { &None } else { &srtp };
                if let Some(target) = target_of(body, names, &host_name, srtp) {
                    let codec = (!s.codec.is_empty()).then(|| s.codec.clone());
                    // `audio_rtcp_port` with `audio_port`, `video_rtcp_port` with `video_port`.
                    let rtcp_port = match names[0] {
                        "audio_port" => port_of(body, "audio_rtcp_port"),
                        "video_port" => port_of(body, "video_rtcp_port"),
                        _ => None,
                    };
                    let w = Wanted { mid: s.mid.clone(), kind, codec, target, substream, rtcp_port };
                    wanted.push((Some(answer), w));
                }
            }
        } else {
            // A mid the publisher lacks is passed over, as Janus does.
            for s in &streams {
                let mid = str_of(s, "mid").unwrap_or_default();
                if let Some(stream) = p.streams.iter().find(|x| x.mid == mid) {
                    wanted.extend(wanted_of(s, stream, &host_name, &srtp).into_iter().map(|w| (None, w)));
                }
            }
        }
        // Every forwarder is made, or none.
        let rules = forward_all(wanted.iter().map(|(_, w)| {
            let options = ForwardOptions { kinds: Vec::new(), substream: w.substream, temporal: None };
            (Endpoint::Peer(handle), w.mid.as_str(), &w.target, options, w.rtcp_port)
        }))
        .map_err(|e| err(code::UNKNOWN, format!("Error forwarding: {e}")))?;
        let mut made: Vec<(Option<[&str; 2]>, u64, Value)> = Vec::with_capacity(wanted.len());
        for ((answer_names, w), (rule, local_rtcp_port)) in wanted.into_iter().zip(rules) {
            let listed = summary(rule, &w, local_rtcp_port);
            portunus_sdk::notify_event(None, || {
                let mut told = listed.clone();
                told["event"] = json!("rtp_forward");
                told["room"] = room.to_json();
                told["publisher_id"] = publisher_id.to_json();
                told["media"] = json!(kind_name(w.kind));
                if let Some(codec) = &w.codec {
                    told["codec"] = json!(codec);
                }
                if let Some(sub) = w.substream.filter(|s| *s > 0) {
                    told["video_substream"] = json!(sub);
                }
                told
            });
            if let Some(p) = self.publisher_mut(handle.handle) {
                p.forwarders.insert(rule, (w.mid.clone(), listed.clone()));
            }
            made.push((answer_names, rule, listed));
        }
        let mut answer = json!({"room": room.to_json(), "publisher_id": publisher_id.to_json()});
        if legacy {
            // Janus's deprecated answer: `audio_stream_id` and `audio` (the port), and so on.
            let mut rtp_stream = json!({"host": host_name, "warning": "deprecated_api"});
            for ([id_key, port_key], rule, listed) in
                made.iter().filter_map(|(n, r, l)| Some((n.as_ref()?, r, l)))
            {
                rtp_stream[*id_key] = json!(rule);
                rtp_stream[*port_key] = listed["port"].clone();
            }
            answer["rtp_stream"] = rtp_stream;
        } else {
            answer["forwarders"] = json!(made.iter().map(|(_, _, listed)| listed).collect::<Vec<_>>());
        }
        Ok(videoroom("rtp_forward", answer))
    }

    /// With `lock_rtp_forward` and an `admin_key`, forwarders need that key, as in Janus.
    fn check_rtp_forward_key(&self, body: &Map<String, Value>) -> Result<(), PluginError> {
        match &self.settings.admin_key {
            Some(_) if self.settings.lock_rtp_forward => self.check_admin_key(body),
            _ => Ok(()),
        }
    }

    pub(crate) fn stop_rtp_forward(&mut self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let ids = [self.id_field("room").required(), self.id_field("publisher_id").required()];
        portunus_sdk::validate(body, &ids, &CODES)?;
        portunus_sdk::validate(
            body,
            &[Field::new("stream_id", JsonType::Integer).required().positive()],
            &CODES,
        )?;
        self.check_rtp_forward_key(body)?;
        let (room, _) = self.room_with_secret(body)?;
        let publisher_id = self.participant_id(body, "publisher_id")?;
        let stream_id = body.get("stream_id").and_then(Value::as_u64).unwrap_or_default();
        let Some(handle) = self.members.get(&(room.clone(), publisher_id.clone())).copied() else {
            return Err(err(code::NO_SUCH_FEED, format!("No such feed ({publisher_id})")));
        };
        let removed = self.publisher_mut(handle.handle).and_then(|p| p.forwarders.remove(&stream_id));
        if removed.is_none() {
            return Err(err(code::NO_SUCH_FEED, format!("No such stream ({stream_id})")));
        }
        host::unforward(stream_id);
        portunus_sdk::notify_event(None, || {
            json!({"event": "stop_rtp_forward", "room": room.to_json(), "publisher_id": publisher_id.to_json(),
                   "stream_id": stream_id})
        });
        Ok(videoroom(
            "stop_rtp_forward",
            json!({"room": room.to_json(), "publisher_id": publisher_id.to_json(), "stream_id": stream_id}),
        ))
    }

    pub(crate) fn list_forwarders(&self, body: &Map<String, Value>) -> Result<Value, PluginError> {
        let (room, _) = self.room_with_secret(body)?;
        let publishers: Vec<Value> = self
            .members_of(&room)
            .filter_map(|(_, h)| self.publisher(h.handle))
            .filter(|p| p.ever_published || !p.forwarders.is_empty())
            .map(|p| {
                let forwarders: Vec<&Value> = p.forwarders.values().map(|(_, v)| v).collect();
                let mut d = json!({"publisher_id": p.id.to_json()});
                if let Some(display) = &p.display {
                    d["display"] = json!(display);
                }
                d["forwarders"] = json!(forwarders);
                d
            })
            .collect();
        Ok(videoroom("forwarders", json!({"room": room.to_json(), "publishers": publishers})))
    }
}

/// The ports these names give are UDP ports (Janus would cut a larger number to 16 bits).
fn check_ports<'a>(
    obj: &Map<String, Value>,
    names: impl Iterator<Item = &'a str>,
) -> Result<(), PluginError> {
    for name in names {
        if obj.get(name).and_then(Value::as_u64).is_some_and(|p| p > u64::from(u16::MAX)) {
            return Err(err(code::INVALID_ELEMENT, format!("Invalid element ({name})")));
        }
    }
    Ok(())
}

/// A forwarder as `rtp_forward` and `listforwarders` show it (Janus's summary): `pt`, `ssrc`
/// and `substream` when set, the RTCP ports with `rtcp_port`, `srtp` when encrypted.
fn summary(rule: u64, w: &Wanted, local_rtcp_port: u16) -> Value {
    let mut listed =
        json!({"stream_id": rule, "type": kind_name(w.kind), "host": w.target.host, "port": w.target.port});
    if w.kind != MediaKind::Data {
        if let Some(pt) = w.target.payload_type {
            listed["pt"] = json!(pt);
        }
        if let Some(ssrc) = w.target.ssrc {
            listed["ssrc"] = json!(ssrc);
        }
    }
    if let Some(sub) = w.substream.filter(|s| *s > 0) {
        listed["substream"] = json!(sub);
    }
    if let Some(remote) = w.rtcp_port.filter(|_| local_rtcp_port > 0) {
        listed["local_rtcp_port"] = json!(local_rtcp_port);
        listed["remote_rtcp_port"] = json!(remote);
    }
    if w.target.srtp.is_some() {
        listed["srtp"] = json!(true);
    }
    listed
}

//! A mountpoint: its settings (from `janus.plugin.streaming.jcfg` or `create`) and its media,
//! the streams of an RTP input the host opened for it.

use portunus_sdk::files::millis_now as now_ms;
use portunus_sdk::rooms::{flag, number, text};
use portunus_sdk::{json, Id, LegCodec, MediaKind, PluginError, SrtpKey, SrtpSuite, Value};
use serde::{Deserialize, Serialize};
use serde_json::Map;

use crate::{code, err};

/// One stream of a mountpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub mid: String,
    pub kind: MediaKind,
    pub label: Option<String>,
    pub msid: Option<String>,
    /// The ports asked for (0: any free one): one, or three for simulcast video.
    pub ports: Vec<u16>,
    /// The ports the input got.
    #[serde(default)]
    pub bound: Vec<u16>,
    /// The port asked for RTCP with the sender (`rtcpport`; 0: any free one), and the one
    /// bound.
    #[serde(default)]
    pub rtcp_port: Option<u16>,
    #[serde(default)]
    pub rtcp_bound: Option<u16>,
    /// The IPv4 multicast group it receives from (`mcast`), and the address of the
    /// interface to bind and join on (`iface`).
    #[serde(default)]
    pub mcast: Option<String>,
    #[serde(default)]
    pub iface: Option<String>,
    pub pt: u8,
    /// Janus's codec name (`opus`, `vp8`, …); empty for data.
    pub codec: String,
    pub fmtp: Option<String>,
    /// The input receives it (the host says when it starts and stops).
    #[serde(default)]
    pub receiving: bool,
}

impl Media {
    /// The codec as the host's input takes it.
    pub fn leg_codec(&self) -> LegCodec {
        LegCodec { pt: self.pt, name: self.codec.clone(), clock: clock_of(&self.codec) }
    }

    fn kind_name(&self) -> &'static str {
        kind_name(self.kind)
    }

    /// The stream in `list`.
    pub fn listed(&self) -> Value {
        let mut d = json!({"mid": self.mid, "type": self.kind_name(), "label": self.label});
        if let Some(msid) = &self.msid {
            d["msid"] = json!(msid);
        }
        d
    }

    /// The stream in `info` (`admin`: with its ports).
    pub fn info(&self, mindex: usize, admin: bool) -> Value {
        let mut d = json!({"mindex": mindex, "type": self.kind_name(), "mid": self.mid, "label": self.label});
        if let Some(msid) = &self.msid {
            d["msid"] = json!(msid);
        }
        if self.kind != MediaKind::Data {
            d["pt"] = json!(self.pt);
            d["codec"] = json!(self.codec);
            d["rtpmap"] = json!(self.rtpmap());
            if let Some(fmtp) = &self.fmtp {
                d["fmtp"] = json!(fmtp);
            }
        }
        if self.bound.len() == 3 {
            d["videosimulcast"] = json!(true);
        }
        if admin {
            if let Some(group) = &self.mcast {
                d["host"] = json!(group);
            }
            self.ports_into(&mut d, ["port", "port2", "port3"]);
            if let Some(port) = self.rtcp_bound {
                d["rtcpport"] = json!(port);
            }
        }
        d
    }

    /// The stream in `create`'s answer.
    pub fn created(&self) -> Value {
        let mut d = json!({"type": self.kind_name(), "mid": self.mid});
        if let Some(msid) = &self.msid {
            d["msid"] = json!(msid);
        }
        if let Some(group) = &self.mcast {
            d["host"] = json!(group);
        }
        self.ports_into(&mut d, ["port", "port_2", "port_3"]);
        if let Some(port) = self.rtcp_bound {
            d["rtcp_port"] = json!(port);
        }
        d
    }

    /// The ports bound, under these names (Janus names them differently in `info` and `create`).
    fn ports_into(&self, d: &mut Value, names: [&str; 3]) {
        if let Some(port) = self.bound.first() {
            d[names[0]] = json!(port);
        }
        if self.bound.len() == 3 {
            d[names[1]] = json!(self.bound[1]);
            d[names[2]] = json!(self.bound[2]);
        }
    }

    /// The codec as an SDP `rtpmap` names it (`opus/48000/2`, `VP8/90000`).
    fn rtpmap(&self) -> String {
        match self.codec.as_str() {
            "opus" => "opus/48000/2".to_owned(),
            c => format!("{}/{}", c.to_ascii_uppercase(), clock_of(c)),
        }
    }

    /// The stream in a config file's `media` list.
    fn to_config(&self) -> Value {
        let mut c = json!({"type": self.kind_name(), "mid": self.mid, "port": self.bound.first().copied().unwrap_or(0)});
        if self.kind != MediaKind::Data {
            c["pt"] = json!(self.pt);
            c["codec"] = json!(self.codec);
        }
        for (key, value) in [("label", &self.label), ("msid", &self.msid), ("fmtp", &self.fmtp)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        if self.bound.len() == 3 {
            c["simulcast"] = json!(true);
            c["port2"] = json!(self.bound[1]);
            c["port3"] = json!(self.bound[2]);
        }
        if let Some(port) = self.rtcp_bound {
            c["rtcpport"] = json!(port);
        }
        for (key, value) in [("mcast", &self.mcast), ("iface", &self.iface)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        c
    }
}

fn kind_name(kind: MediaKind) -> &'static str {
    match kind {
        MediaKind::Audio => "audio",
        MediaKind::Video => "video",
        MediaKind::Data => "data",
    }
}

/// The clock of a codec Janus's Streaming names.
fn clock_of(codec: &str) -> u32 {
    match codec {
        "opus" | "multiopus" => 48000,
        "pcmu" | "pcma" | "g722" => 8000,
        "isac16" => 16000,
        "isac32" => 32000,
        "l16" => 16000,
        "l16-48" => 48000,
        _ => 90000,
    }
}

/// The audio and video codecs a mountpoint can carry.
const CODECS: &[&str] =
    &["opus", "multiopus", "pcmu", "pcma", "g722", "l16", "l16-48", "vp8", "vp9", "h264", "av1", "h265"];

/// The source of an `rtsp` mountpoint, with Janus's settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rtsp {
    pub url: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// RTP interleaved on the RTSP connection (`rtsp_interleaved`, ours), not over UDP.
    pub interleaved: bool,
    /// `create` fails when the first connection does (`rtsp_failcheck`, default true).
    pub failcheck: bool,
    /// Viewers hear `rtsp-disconnected` and `rtsp-reconnected` (`rtsp_notify_changes`).
    pub notify_changes: bool,
    /// Seconds before connecting again (`rtsp_reconnect_delay`, 5).
    pub reconnect_delay: u32,
    /// Seconds to wait for each answer (`rtsp_timeout`, 10).
    pub timeout: u32,
    /// Seconds to wait for the connection (`rtsp_conn_timeout`, 5).
    #[serde(default)]
    pub conn_timeout: u32,
    /// The keep-alive period's cap, seconds (`rtsp_session_timeout`; 0: half the server's).
    #[serde(default)]
    pub session_timeout: u32,
    /// A DESCRIBE answered 404 is tried again with the path alone (`rtsp_quirk`).
    #[serde(default)]
    pub quirk: bool,
    /// The address the streams' ports bind (`rtspiface`).
    #[serde(default)]
    pub iface: Option<String>,
    /// What overrides the description of the audio stream (`audiopt`, `audiofmtp`).
    #[serde(default)]
    pub audio: Override,
    /// What overrides the description of the video stream (`videopt`, `videofmtp`).
    #[serde(default)]
    pub video: Override,
    /// The source plays now.
    pub playing: bool,
}

/// What a mountpoint says of an `rtsp` stream over its source's description: the payload
/// type its packets carry (0: the described one) and the format parameters viewers are
/// offered (none: the described ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Override {
    pub pt: u8,
    pub fmtp: Option<String>,
}

impl Rtsp {
    /// The overrides of a stream of this kind.
    pub fn override_of(&self, kind: MediaKind) -> &Override {
        if kind == MediaKind::Audio {
            &self.audio
        } else {
            &self.video
        }
    }

    /// The source as the host's RTSP client takes it.
    pub fn source(&self) -> portunus_sdk::RtspSource {
        portunus_sdk::RtspSource {
            url: self.url.clone(),
            user: self.user.clone(),
            password: self.password.clone(),
            interleaved: self.interleaved,
            timeout_ms: self.timeout.saturating_mul(1000),
            connect_timeout_ms: self.conn_timeout.saturating_mul(1000),
            reconnect_ms: self.reconnect_delay.saturating_mul(1000),
            keepalive_ms: self.session_timeout.saturating_mul(1000),
            path_only_retry: self.quirk,
        }
    }
}

/// A mountpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mountpoint {
    pub id: Id,
    pub name: String,
    pub description: String,
    pub metadata: Option<String>,
    pub secret: Option<String>,
    pub pin: Option<String>,
    pub is_private: bool,
    pub enabled: bool,
    pub permanent: bool,
    pub media: Vec<Media>,
    /// SDES-SRTP the source protects with.
    pub srtp: Option<SrtpKey>,
    /// Janus's `collision` (ms, 0: off): packets of a second SSRC on a stream are dropped
    /// until the first stopped this long.
    #[serde(default)]
    pub collision: u32,
    /// The Opus-in-Ogg file a `live` or `ondemand` mountpoint plays.
    #[serde(default)]
    pub file: Option<String>,
    /// `ondemand`: each viewer gets the file from its start (an input of its own).
    #[serde(default)]
    pub ondemand: bool,
    /// The source an `rtsp` mountpoint pulls.
    #[serde(default)]
    pub rtsp: Option<Rtsp>,
    /// The host's input.
    pub input: u64,
    /// Viewers now.
    #[serde(default)]
    pub viewers: usize,
    /// Its streams being recorded (`recording`): the rule of each, by mid.
    #[serde(default)]
    pub recordings: std::collections::BTreeMap<String, u64>,
    /// When it was made (ms since the Unix epoch): a stream's age before its first packet.
    #[serde(default)]
    pub created_ms: u64,
}

/// A mountpoint's settings and media from a `create` body or a config section: Janus's
/// `media` list, or its older `audio`/`video`/`data` keys (`audioport`, `videopt`, …).
pub fn parse(id: Id, keys: &Map<String, Value>) -> Result<Mountpoint, PluginError> {
    let kind = keys.get("type").and_then(text).unwrap_or_default().to_ascii_lowercase();
    let text_of = |name: &str| keys.get(name).and_then(text).filter(|s| !s.is_empty());
    let mut file = None;
    let mut rtsp = None;
    let mut media = Vec::new();
    match kind.as_str() {
        "rtp" => {
            if keys.get("srtpsuite").is_some_and(|s| number(s).is_none_or(|n| n != 32 && n != 80)) {
                return Err(err(code::CANT_CREATE, "Can't add 'rtp' stream, invalid SRTP suite..."));
            }
        }
        "live" | "ondemand" => {
            // An audio file: played in a loop for every viewer at once (`live`), or from its
            // start for each viewer (`ondemand`). Opus-in-Ogg (`.opus`, `.ogg`), or raw G.711
            // as Janus plays it (`.alaw`, `.mulaw`: its names, anywhere in the path).
            let Some(filename) = text_of("filename") else {
                return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (filename)"));
            };
            if keys.get("audio").and_then(flag) != Some(true)
                || keys.get("video").and_then(flag) == Some(true)
            {
                let text =
                    format!("Can't add '{kind}' stream, we only support audio file streaming right now...");
                return Err(err(code::CANT_CREATE, text));
            }
            let opus_pt =
                keys.get("audiopt").and_then(number).and_then(|n| u8::try_from(n).ok()).unwrap_or(111);
            let (codec, pt) = if filename.contains(".opus") || filename.ends_with(".ogg") {
                ("opus", opus_pt)
            } else if filename.contains(".alaw") {
                ("pcma", 8)
            } else if filename.contains(".mulaw") {
                ("pcmu", 0)
            } else {
                let text = format!(
                    "Can't add '{kind}' stream, unsupported format (we only support Opus and raw mu-Law/a-Law files right now)"
                );
                return Err(err(code::CANT_CREATE, text));
            };
            media.push(Media {
                mid: "a".into(),
                kind: MediaKind::Audio,
                label: Some("audio".into()),
                msid: None,
                ports: Vec::new(),
                bound: Vec::new(),
                rtcp_port: None,
                rtcp_bound: None,
                mcast: None,
                iface: None,
                pt,
                codec: codec.into(),
                fmtp: None,
                receiving: false,
            });
            file = Some(filename);
        }
        "rtsp" => {
            // The host pulls the URL; the source's description gives each stream's codec.
            // Janus checks the streams asked first, and finds no url only when it makes the
            // source: it cannot create.
            if [keys.get("audio"), keys.get("video")].iter().all(|v| v.and_then(flag) != Some(true)) {
                let text = "Can't add 'rtsp' stream, no audio or video have to be streamed...";
                return Err(err(code::CANT_CREATE, text));
            }
            let Some(url) = text_of("url") else {
                return Err(err(code::CANT_CREATE, "Error creating 'RTSP' stream"));
            };
            let seconds = |name: &str, default: u32| {
                keys.get(name).and_then(number).and_then(|n| u32::try_from(n).ok()).unwrap_or(default)
            };
            // `audiopt`/`videopt` and `audiofmtp`/`videofmtp` override the description.
            let overrides = |prefix: &str| -> Result<Override, PluginError> {
                let key = format!("{prefix}pt");
                let pt = match keys.get(&key) {
                    None => 0,
                    Some(v) => number(v)
                        .and_then(|n| u8::try_from(n).ok())
                        .filter(|pt| *pt < 128)
                        .ok_or_else(|| {
                            err(
                                code::INVALID_ELEMENT,
                                format!("Invalid element type ({key} should be a positive integer)"),
                            )
                        })?,
                };
                Ok(Override { pt, fmtp: text_of(&format!("{prefix}fmtp")) })
            };
            rtsp = Some(Rtsp {
                url,
                user: text_of("rtsp_user"),
                password: text_of("rtsp_pwd"),
                interleaved: keys.get("rtsp_interleaved").and_then(flag).unwrap_or(false),
                failcheck: keys
                    .get("rtsp_failcheck")
                    .or(keys.get("rtsp_check"))
                    .and_then(flag)
                    .unwrap_or(true),
                notify_changes: keys.get("rtsp_notify_changes").and_then(flag).unwrap_or(false),
                reconnect_delay: seconds("rtsp_reconnect_delay", 5),
                timeout: seconds("rtsp_timeout", 10),
                conn_timeout: seconds("rtsp_conn_timeout", 5),
                session_timeout: seconds("rtsp_session_timeout", 0),
                quirk: keys.get("rtsp_quirk").and_then(flag).unwrap_or(false),
                iface: match text_of("rtspiface") {
                    Some(ip) if ip.parse::<std::net::IpAddr>().is_err() => {
                        // (This gateway binds to an address; interface names are not looked up.)
                        let text = "Invalid network interface configuration for stream";
                        return Err(err(code::CANT_CREATE, text));
                    }
                    ip => ip,
                },
                audio: overrides("audio")?,
                video: overrides("video")?,
                playing: false,
            });
            for (prefix, mid, kind) in [("audio", "a", MediaKind::Audio), ("video", "v", MediaKind::Video)] {
                if keys.get(prefix).and_then(flag) == Some(true) {
                    media.push(Media {
                        mid: mid.into(),
                        kind,
                        label: Some(format!("RTSP {prefix}")),
                        msid: None,
                        ports: Vec::new(),
                        bound: Vec::new(),
                        rtcp_port: None,
                        rtcp_bound: None,
                        mcast: None,
                        iface: None,
                        pt: 0,
                        codec: String::new(),
                        fmtp: None,
                        receiving: false,
                    });
                }
            }
        }
        other => return Err(err(code::INVALID_ELEMENT, format!("Unknown stream type '{other}'...\n"))),
    }
    match keys.get("media").filter(|_| file.is_none() && rtsp.is_none()) {
        Some(Value::Array(list)) => {
            for (i, m) in list.iter().enumerate() {
                let Some(m) = m.as_object() else {
                    return Err(err(
                        code::INVALID_ELEMENT,
                        "Invalid element type (media should be an array of objects)",
                    ));
                };
                media.push(media_of(m, "", &i.to_string())?);
            }
        }
        Some(_) => return Err(err(code::INVALID_ELEMENT, "Invalid element type (media should be an array)")),
        None => {
            for (prefix, mid) in [("audio", "a"), ("video", "v"), ("data", "d")]
                .into_iter()
                .filter(|_| file.is_none() && rtsp.is_none())
            {
                if keys.get(prefix).and_then(flag) == Some(true) {
                    let mut m = media_of(keys, prefix, mid)?;
                    m.mid = mid.to_owned();
                    media.push(m);
                }
            }
        }
    }
    if media.is_empty() {
        return Err(err(
            code::CANT_CREATE,
            "Can't add 'rtp' stream, no audio or video have to be streamed...",
        ));
    }
    let mut mids: Vec<&str> = media.iter().map(|m| m.mid.as_str()).collect();
    mids.sort_unstable();
    if mids.windows(2).any(|w| w[0] == w[1]) {
        return Err(err(code::CANT_CREATE, "Can't add 'rtp' stream, two streams have the same mid"));
    }
    // The host binds all of a mountpoint's streams on one address.
    let mut ifaces = media.iter().filter_map(|m| m.iface.as_deref());
    if let Some(first) = ifaces.next() {
        if ifaces.any(|i| i != first) {
            let text =
                "Can't add 'rtp' stream, its streams name different interfaces (one iface per mountpoint)";
            return Err(err(code::CANT_CREATE, text));
        }
    }
    let srtp = match (keys.get("srtpsuite").and_then(number), text_of("srtpcrypto")) {
        (None, None) => None,
        (Some(32), Some(key)) => Some(SrtpKey { suite: SrtpSuite::AesCm128HmacSha132, key }),
        (Some(80), Some(key)) => Some(SrtpKey { suite: SrtpSuite::AesCm128HmacSha180, key }),
        _ => {
            return Err(err(
                code::INVALID_ELEMENT,
                "Invalid SRTP suite or crypto (srtpsuite 32 or 80, srtpcrypto)",
            ))
        }
    };
    let collision = match keys.get("collision") {
        None => 0,
        Some(v) => number(v).and_then(|n| u32::try_from(n).ok()).ok_or_else(|| {
            err(code::INVALID_ELEMENT, "Invalid element type (collision should be a positive integer)")
        })?,
    };
    // Janus's defaults: `mp-<id>`, and a name that starts with a digit gets the prefix too.
    let name = match text_of("name") {
        Some(n) if !n.starts_with(|c: char| c.is_ascii_digit()) => n,
        Some(n) => format!("mp-{n}"),
        None => format!("mp-{id}"),
    };
    Ok(Mountpoint {
        created_ms: now_ms(),
        description: text_of("description").unwrap_or_else(|| name.clone()),
        name,
        metadata: text_of("metadata"),
        secret: text_of("secret"),
        pin: text_of("pin"),
        is_private: keys.get("is_private").and_then(flag).unwrap_or(false),
        enabled: keys.get("enabled").and_then(flag).unwrap_or(true),
        permanent: false,
        collision,
        media,
        srtp,
        ondemand: kind == "ondemand",
        file,
        rtsp,
        input: 0,
        viewers: 0,
        recordings: Default::default(),
        id,
    })
}

/// One stream: keys of a `media` entry (`prefix` empty), or the older `<prefix>port`, … keys.
fn media_of(m: &Map<String, Value>, prefix: &str, default_mid: &str) -> Result<Media, PluginError> {
    let key = |name: &str| format!("{prefix}{name}");
    let get = |name: &str| m.get(&key(name));
    let kind =
        if prefix.is_empty() { get("type").and_then(text).unwrap_or_default() } else { prefix.to_owned() };
    let kind = match kind.as_str() {
        "audio" => MediaKind::Audio,
        "video" => MediaKind::Video,
        "data" => MediaKind::Data,
        "" => return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (type)")),
        _ => return Err(err(code::CANT_CREATE, "Unsupported media type in media stream")),
    };
    if prefix.is_empty() && get("mid").and_then(text).is_none() {
        return Err(err(code::MISSING_ELEMENT, "Missing mandatory element (mid)"));
    }
    let port = |name: &str| -> Result<Option<u16>, PluginError> {
        let Some(v) = get(name) else { return Ok(None) };
        let text = format!("Invalid element type ({} should be a positive integer)", key(name));
        number(v)
            .and_then(|n| u16::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| err(code::INVALID_ELEMENT, text))
    };
    let Some(first) = port("port")? else {
        return Err(err(code::MISSING_ELEMENT, format!("Missing mandatory element ({})", key("port"))));
    };
    // The older form's audio and video need their payload type (Janus's `audiopt`, `videopt`).
    if !prefix.is_empty() && kind != MediaKind::Data && get("pt").is_none() {
        return Err(err(code::MISSING_ELEMENT, format!("Missing mandatory element ({})", key("pt"))));
    }
    let simulcast = get("simulcast").and_then(flag) == Some(true);
    // RTCP with the sender: `rtcpport` in a `media` entry, `<kind>rtcpport` in the older form.
    let rtcp_port = if kind == MediaKind::Data { None } else { port("rtcpport")? };
    // A multicast group to receive from, and the interface's address (`mcast`, `iface`; the
    // older form's `<kind>mcast`, `<kind>iface`).
    let mcast = get("mcast").and_then(text);
    if mcast.as_deref().is_some_and(|g| !g.parse::<std::net::Ipv4Addr>().is_ok_and(|g| g.is_multicast())) {
        return Err(err(code::CANT_CREATE, format!("Invalid multicast address ({})", key("mcast"))));
    }
    let iface = get("iface").and_then(text);
    if iface.as_deref().is_some_and(|a| a.parse::<std::net::IpAddr>().is_err()) {
        return Err(err(code::CANT_CREATE, format!("Invalid network interface ({})", key("iface"))));
    }
    let mut ports = vec![first];
    if simulcast && kind == MediaKind::Video {
        ports.push(port("port2")?.unwrap_or(0));
        ports.push(port("port3")?.unwrap_or(0));
    }
    let (mut pt, mut codec) = (0, String::new());
    if kind != MediaKind::Data {
        // Janus takes a missing `pt` as 0.
        if let Some(v) = get("pt") {
            let text = format!("Invalid element type ({} should be a positive integer)", key("pt"));
            pt = number(v)
                .and_then(|n| u8::try_from(n).ok())
                .filter(|pt| *pt < 128)
                .ok_or_else(|| err(code::INVALID_ELEMENT, text))?;
        }
        // `codec`, or the name of an `rtpmap` (`opus/48000/2`).
        let named = get("codec").or_else(|| get("rtpmap")).and_then(text);
        codec =
            named.map(|c| c.split('/').next().unwrap_or_default().to_ascii_lowercase()).unwrap_or_default();
        if !CODECS.contains(&codec.as_str()) {
            let text = "Can't add 'rtp' stream, error creating data source stream (a known codec is needed)";
            return Err(err(code::CANT_CREATE, text));
        }
    }
    Ok(Media {
        mid: get("mid").and_then(text).unwrap_or_else(|| default_mid.to_owned()),
        kind,
        label: Some(get("label").and_then(text).unwrap_or_else(|| kind_name(kind).to_owned())),
        msid: get("msid").and_then(text),
        ports,
        bound: Vec::new(),
        rtcp_port,
        rtcp_bound: None,
        mcast,
        iface,
        pt,
        codec,
        fmtp: get("fmtp").and_then(text),
        receiving: false,
    })
}

impl Mountpoint {
    /// The mountpoint in `list`.
    pub fn listed(&self) -> Value {
        let mut d = json!({"id": self.id.to_json(), "type": "live", "description": self.description});
        if let Some(metadata) = &self.metadata {
            d["metadata"] = json!(metadata);
        }
        d["enabled"] = json!(self.enabled);
        d["media"] = json!(self.media.iter().map(Media::listed).collect::<Vec<_>>());
        d
    }

    /// The mountpoint in `info`; `admin` (no secret, or the right one) adds its name, keys,
    /// viewers and ports. Each stream says whether its source sends (`receiving`).
    pub fn info(&self, admin: bool) -> Value {
        let mut d = json!({"id": self.id.to_json()});
        if admin {
            d["name"] = json!(self.name);
        }
        d["description"] = json!(self.description);
        if let Some(metadata) = &self.metadata {
            d["metadata"] = json!(metadata);
        }
        if admin {
            for (key, value) in [("secret", &self.secret), ("pin", &self.pin)] {
                if let Some(v) = value {
                    d[key] = json!(v);
                }
            }
            if self.is_private {
                d["is_private"] = json!(true);
            }
        }
        d["enabled"] = json!(self.enabled);
        if admin {
            d["viewers"] = json!(self.viewers);
        }
        d["type"] = json!("live");
        let media: Vec<Value> = self
            .media
            .iter()
            .enumerate()
            .map(|(i, m)| {
                let mut d = m.info(i, admin);
                d["receiving"] = json!(m.receiving);
                d
            })
            .collect();
        d["media"] = json!(media);
        if self.srtp.is_some() {
            d["srtp"] = json!(true);
        }
        if self.collision > 0 {
            d["collision"] = json!(self.collision);
        }
        if let Some(rtsp) = &self.rtsp {
            d["rtsp"] = json!(true);
            if admin {
                d["url"] = json!(rtsp.url);
                for (key, value) in [("rtsp_user", &rtsp.user), ("rtsp_pwd", &rtsp.password)] {
                    if let Some(v) = value {
                        d[key] = json!(v);
                    }
                }
                if rtsp.quirk {
                    d["rtsp_quirk"] = json!(true);
                }
            }
        }
        d
    }

    /// Adds what the host knows of each stream to a `list` or `info` entry: `age_ms` (since its
    /// last packet; before the first, since the mountpoint was made, as Janus counts it; none
    /// for a file, whose packets Janus does not time) and, for `admin`, the address packets
    /// come from.
    pub fn with_status(&self, entry: &mut Value, admin: bool) {
        let Ok(status) = portunus_sdk::host::rtp_input_status(self.input) else { return };
        let Some(media) = entry.get_mut("media").and_then(Value::as_array_mut) else { return };
        let unheard =
            (self.file.is_none() && self.created_ms > 0).then(|| now_ms().saturating_sub(self.created_ms));
        for (m, st) in media.iter_mut().zip(status) {
            if let Some(age) = st.age_ms.or(unheard) {
                m["age_ms"] = json!(age);
            }
            if let (true, Some(source)) = (admin, st.source) {
                m["source"] = json!(source);
            }
        }
    }

    /// The mountpoint as a config section, with Janus's keys.
    pub fn to_config(&self) -> Value {
        let mut c =
            json!({"id": self.id.to_json(), "description": self.description, "is_private": self.is_private});
        match (&self.file, &self.rtsp) {
            (_, Some(rtsp)) => {
                c["type"] = json!("rtsp");
                c["url"] = json!(rtsp.url);
                for (key, value) in [("rtsp_user", &rtsp.user), ("rtsp_pwd", &rtsp.password)] {
                    if let Some(v) = value {
                        c[key] = json!(v);
                    }
                }
                for m in &self.media {
                    c[kind_name(m.kind)] = json!(true);
                }
                c["rtsp_interleaved"] = json!(rtsp.interleaved);
                c["rtsp_failcheck"] = json!(rtsp.failcheck);
                c["rtsp_notify_changes"] = json!(rtsp.notify_changes);
                c["rtsp_reconnect_delay"] = json!(rtsp.reconnect_delay);
                c["rtsp_timeout"] = json!(rtsp.timeout);
                c["rtsp_conn_timeout"] = json!(rtsp.conn_timeout);
                c["rtsp_session_timeout"] = json!(rtsp.session_timeout);
                if rtsp.quirk {
                    c["rtsp_quirk"] = json!(true);
                }
                if let Some(iface) = &rtsp.iface {
                    c["rtspiface"] = json!(iface);
                }
                for (prefix, o) in [("audio", &rtsp.audio), ("video", &rtsp.video)] {
                    if o.pt != 0 {
                        c[format!("{prefix}pt")] = json!(o.pt);
                    }
                    if let Some(fmtp) = &o.fmtp {
                        c[format!("{prefix}fmtp")] = json!(fmtp);
                    }
                }
            }
            (Some(file), None) => {
                c["type"] = json!(if self.ondemand { "ondemand" } else { "live" });
                c["filename"] = json!(file);
                c["audio"] = json!(true);
                c["audiopt"] = json!(self.media.first().map_or(111, |m| m.pt));
            }
            (None, None) => {
                c["type"] = json!("rtp");
                c["media"] = json!(self.media.iter().map(Media::to_config).collect::<Vec<_>>());
            }
        }
        for (key, value) in [("metadata", &self.metadata), ("secret", &self.secret), ("pin", &self.pin)] {
            if let Some(v) = value {
                c[key] = json!(v);
            }
        }
        if let Some(key) = &self.srtp {
            let suite = if key.suite == SrtpSuite::AesCm128HmacSha132 { 32 } else { 80 };
            c["srtpsuite"] = json!(suite);
            c["srtpcrypto"] = json!(key.key);
        }
        if self.collision > 0 {
            c["collision"] = json!(self.collision);
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_lists_and_older_keys_both_work() {
        let body = json!({"type": "rtp", "media": [
            {"type": "audio", "mid": "a", "port": 5002, "pt": 111, "codec": "opus"},
            {"type": "video", "mid": "v", "port": 0, "pt": 100, "codec": "vp8", "simulcast": true}]});
        let m = parse(Id::Num(7), body.as_object().unwrap()).expect("media list");
        assert_eq!(m.media[0].leg_codec(), LegCodec { pt: 111, name: "opus".into(), clock: 48000 });
        assert_eq!(m.media[1].ports, [0, 0, 0]);
        let old = json!({"type": "rtp", "audio": true, "audioport": "5002", "audiopt": 111, "audiortpmap": "opus/48000/2",
                         "video": true, "videoport": 5004, "videopt": 100, "videocodec": "vp8"});
        let m = parse(Id::Num(1), old.as_object().unwrap()).expect("older keys");
        let rtsp = json!({"type": "rtsp", "url": "rtsp://h/x", "audio": true, "video": true, "rtsp_reconnect_delay": 1});
        let r = parse(Id::Num(2), rtsp.as_object().unwrap()).expect("an rtsp mountpoint");
        assert_eq!(r.rtsp.as_ref().map(|r| (r.reconnect_delay, r.timeout, r.failcheck)), Some((1, 10, true)));
        assert_eq!(parse(Id::Num(2), r.to_config().as_object().unwrap()).unwrap().rtsp, r.rtsp);
        let over =
            json!({"type": "rtsp", "url": "rtsp://h/x", "video": true, "videopt": 100, "videofmtp": "x=1"});
        let o = parse(Id::Num(3), over.as_object().unwrap()).expect("overrides");
        let video = o.rtsp.as_ref().map(|r| r.video.clone());
        assert_eq!(video, Some(Override { pt: 100, fmtp: Some("x=1".into()) }));
        assert_eq!(parse(Id::Num(3), o.to_config().as_object().unwrap()).unwrap().rtsp, o.rtsp);
        let mids: Vec<&str> = m.media.iter().map(|m| m.mid.as_str()).collect();
        assert_eq!(mids, ["a", "v"]);
        // RTCP with the sender: `rtcpport`, or `videortcpport` in the older form; a permanent
        // mountpoint keeps the port it got.
        let old = json!({"type": "rtp", "video": true, "videoport": 5004, "videortcpport": 5005, "videopt": 100,
                         "videocodec": "vp8"});
        let mut with_rtcp = parse(Id::Num(4), old.as_object().unwrap()).expect("older keys with RTCP");
        assert_eq!(with_rtcp.media[0].rtcp_port, Some(5005));
        with_rtcp.media[0].rtcp_bound = Some(6000);
        let again = parse(Id::Num(4), with_rtcp.to_config().as_object().unwrap()).expect("its config");
        assert_eq!(again.media[0].rtcp_port, Some(6000));
        // Multicast: `mcast` and `iface`, or `<kind>mcast` and `<kind>iface`; kept in the file.
        let old = json!({"type": "rtp", "audio": true, "audioport": 5002, "audiomcast": "239.1.1.1",
                         "audioiface": "127.0.0.1", "audiopt": 111, "audiocodec": "opus"});
        let group = parse(Id::Num(5), old.as_object().unwrap()).expect("multicast");
        assert_eq!(
            (group.media[0].mcast.as_deref(), group.media[0].iface.as_deref()),
            (Some("239.1.1.1"), Some("127.0.0.1"))
        );
        let again = parse(Id::Num(5), group.to_config().as_object().unwrap()).expect("its config");
        assert_eq!(
            (again.media[0].mcast.clone(), again.media[0].iface.clone()),
            (group.media[0].mcast.clone(), group.media[0].iface.clone())
        );
        let unicast = json!({"type": "rtp", "media": [{"type": "audio", "mid": "a", "port": 1, "mcast": "10.0.0.1",
                             "pt": 111, "codec": "opus"}]});
        assert_eq!(parse(Id::Num(6), unicast.as_object().unwrap()).unwrap_err().code, code::CANT_CREATE);
        let two = json!({"type": "rtp", "media": [
            {"type": "audio", "mid": "a", "port": 1, "iface": "127.0.0.1", "pt": 111, "codec": "opus"},
            {"type": "video", "mid": "v", "port": 2, "iface": "127.0.0.2", "pt": 100, "codec": "vp8"}]});
        assert_eq!(parse(Id::Num(6), two.as_object().unwrap()).unwrap_err().code, code::CANT_CREATE);
        // `collision`, kept in the file; not a number is 484.
        let body = json!({"type": "rtp", "collision": 500, "media": [{"type": "audio", "mid": "a", "port": 1,
                          "pt": 111, "codec": "opus"}]});
        let c = parse(Id::Num(7), body.as_object().unwrap()).expect("collision");
        assert_eq!(parse(Id::Num(7), c.to_config().as_object().unwrap()).unwrap().collision, 500);
        let bad = json!({"type": "rtp", "collision": "x", "media": [{"type": "audio", "mid": "a", "port": 1,
                         "pt": 111, "codec": "opus"}]});
        assert_eq!(parse(Id::Num(7), bad.as_object().unwrap()).unwrap_err().code, code::INVALID_ELEMENT);
        assert_eq!((m.media[0].codec.as_str(), m.media[0].ports[0]), ("opus", 5002));
    }

    #[test]
    fn bad_media_is_refused() {
        let no_mid =
            json!({"type": "rtp", "media": [{"type": "audio", "port": 1, "pt": 111, "codec": "opus"}]});
        assert_eq!(
            parse(Id::Num(1), no_mid.as_object().unwrap()).unwrap_err().text,
            "Missing mandatory element (mid)"
        );
        let rtsp = json!({"type": "rtsp", "url": "rtsp://x"});
        assert_eq!(parse(Id::Num(1), rtsp.as_object().unwrap()).unwrap_err().code, code::CANT_CREATE);
        let rtsp = json!({"type": "rtsp", "url": "rtsp://x", "video": true, "videopt": 300});
        assert_eq!(
            parse(Id::Num(1), rtsp.as_object().unwrap()).unwrap_err().text,
            "Invalid element type (videopt should be a positive integer)"
        );
        // No url: Janus cannot make the source (456, not a missing element).
        let rtsp = json!({"type": "rtsp", "video": true});
        assert_eq!(parse(Id::Num(1), rtsp.as_object().unwrap()).unwrap_err().code, code::CANT_CREATE);
        let dup = json!({"type": "rtp", "media": [{"type": "data", "mid": "x", "port": 1}, {"type": "data", "mid": "x", "port": 2}]});
        assert_eq!(parse(Id::Num(1), dup.as_object().unwrap()).unwrap_err().code, code::CANT_CREATE);
        let foo = json!({"type": "foo"});
        assert_eq!(
            parse(Id::Num(1), foo.as_object().unwrap()).unwrap_err().text,
            "Unknown stream type 'foo'...\n"
        );
    }
}

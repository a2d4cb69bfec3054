//! Event handlers' configuration, as Janus reads it: `janus.jcfg`'s `events` section
//! (`broadcast` turns them on, `disable` names handlers not to load) and each handler's own
//! file. Portunus has Janus's sample event handler (`janus.eventhandler.sampleevh.jcfg`: events
//! posted to an HTTP backend), its WebSockets one (`janus.eventhandler.wsevh.jcfg`: events
//! sent to a WebSocket server), its GELF one (`janus.eventhandler.gelfevh.jcfg`: events sent
//! to a Graylog server), its MQTT one (`janus.eventhandler.mqttevh.jcfg`: events published
//! to an MQTT broker) and its Nanomsg one (`janus.eventhandler.nanomsgevh.jcfg`: events
//! published on a Nanomsg PUB socket) and its RabbitMQ one
//! (`janus.eventhandler.rabbitmqevh.jcfg`: events published to an AMQP exchange).

use std::path::Path;

use super::section::Section;
use super::{jcfg, parse_file, AmqpBroker, ConfigError, JsonStyle};

/// The sample event handler's package, and its file's.
pub const SAMPLEEVH: &str = "janus.eventhandler.sampleevh";

/// The WebSockets event handler's package, and its file's.
pub const WSEVH: &str = "janus.eventhandler.wsevh";

/// The GELF event handler's package, and its file's.
pub const GELFEVH: &str = "janus.eventhandler.gelfevh";

/// The MQTT event handler's package, and its file's.
pub const MQTTEVH: &str = "janus.eventhandler.mqttevh";

/// The Nanomsg event handler's package, and its file's.
pub const NANOMSGEVH: &str = "janus.eventhandler.nanomsgevh";

/// The RabbitMQ event handler's package, and its file's.
pub const RABBITMQEVH: &str = "janus.eventhandler.rabbitmqevh";

/// `events` of `janus.jcfg`, and the handlers' files.
#[derive(Debug, Clone, Default)]
pub struct Events {
    /// `broadcast`: the core tells event handlers what happens (default false, as Janus).
    pub broadcast: bool,
    /// The sample event handler, when its file enables it (and `disable` does not name it).
    pub sampleevh: Option<SampleEvh>,
    /// The WebSockets event handler, likewise.
    pub wsevh: Option<WsEvh>,
    /// The GELF event handler, likewise.
    pub gelfevh: Option<GelfEvh>,
    /// The Nanomsg event handler, likewise.
    pub nanomsgevh: Option<NanomsgEvh>,
    /// The RabbitMQ event handler, likewise.
    pub rabbitmqevh: Option<RabbitMqEvh>,
    /// The MQTT event handler, likewise.
    pub mqttevh: Option<MqttEvh>,
    /// `stats_period`: seconds between two media statistics events of a PeerConnection
    /// (default 1, as Janus's; 0: none).
    pub stats_period: u64,
    /// `combine_media_stats`: a PeerConnection's statistics go in one event (an array), not
    /// one per stream (default false).
    pub combine_media_stats: bool,
}

/// The longest `stats_period` taken, seconds (an hour).
const MAX_STATS_PERIOD: i64 = 3600;

/// `janus.eventhandler.wsevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsEvh {
    /// `backend`: the `ws://` or `wss://` URL of the server events are sent to.
    pub backend: String,
    /// `subprotocol`: the WebSocket subprotocol asked for (default `janus-event-handlers`).
    pub subprotocol: String,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `grouping`: events go in arrays of up to 100 (default true), not one per message.
    pub grouping: bool,
    /// `json`: how messages are formatted (default indented, as Janus 1.1.2's handler sends
    /// them when its file names none; its sample file says compact).
    pub json: JsonStyle,
    /// `events_cap_on_reconnect`: while the server is away, only the newest this many
    /// events are kept (default 0: all of them, up to the handler's queue).
    pub events_cap_on_reconnect: u32,
}

/// `janus.eventhandler.gelfevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GelfEvh {
    /// `backend`: the Graylog server's name or address.
    pub backend: String,
    /// `port`: its GELF input's port.
    pub port: u16,
    /// `protocol`: TCP (messages ended by a zero byte), else UDP (the default; chunked).
    pub tcp: bool,
    /// `max_message_len` (default 500): the most bytes of a message in one UDP datagram;
    /// longer ones go in GELF chunks.
    pub max_message_len: usize,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `compress` with its `compression` level (0 to 9, default 6): UDP messages are
    /// gzipped. None: they are not (the default; never over TCP).
    pub gzip_level: Option<u32>,
}

/// `janus.eventhandler.mqttevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttEvh {
    /// `url`: the broker, `tcp://host:port` (default `tcp://localhost:1883`), or `ssl://` /
    /// `mqtts://` for TLS (verified as [`MqttEvh::tls`] says).
    pub url: String,
    /// `mqtt_version`: `3.1`, `3.1.1` (the default) or `5`.
    pub version: crate::mqtt::Version,
    /// MQTT 5: `add_user_properties`, user properties added to each message.
    pub add_user_properties: Vec<(String, String)>,
    /// `client_id` (default `guest`).
    pub client_id: String,
    /// `username` and `password`, when given.
    pub username: Option<String>,
    pub password: Option<String>,
    /// `keep_alive_interval`, seconds (default 30).
    pub keep_alive_s: u16,
    /// `cleansession` (default off).
    pub clean_session: bool,
    /// `topic`: the base topic (default `/janus/events`).
    pub topic: String,
    /// `addevent` (default on): each event goes to `<topic>/<its type's name>`.
    pub add_event: bool,
    /// `qos` (Janus's default when absent: 1) and `retain` (default off) of the events.
    pub qos: u8,
    pub retain: bool,
    /// `connect_status` and `disconnect_status`: what `<topic>/status` says when the handler
    /// connects and when it stops (or, with `will_enabled`, when the broker loses it).
    pub connect_status: String,
    pub disconnect_status: String,
    /// `will_enabled` (default off), `will_retain` (default on), `will_qos` (default 0).
    pub will: bool,
    pub will_retain: bool,
    pub will_qos: u8,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `json` (default indented, as Janus 1.1.2 publishes when its file names none).
    pub json: JsonStyle,
    /// With `tls_enable`: `tls_cacert`, `tls_client_cert`, `tls_client_key`,
    /// `tls_verify_peer`, `tls_verify_hostname` (relative paths from the configuration folder;
    /// both checks on by default, where Janus's are off). Used with an `ssl://` URL.
    pub tls: Option<crate::tls::TlsFiles>,
}

/// `janus.eventhandler.nanomsgevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NanomsgEvh {
    /// `address`: `ipc:///path` or `tcp://host:port` (`tcp://*:port` to bind every address).
    pub address: String,
    /// `mode`: `bind` (subscribers connect to the handler) or `connect` (the default: the
    /// handler connects to a subscriber's bound socket).
    pub bind: bool,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `grouping`: events go in arrays of up to 100 (default true), not one per message.
    pub grouping: bool,
    /// `json` (default indented, as Janus 1.1.2 publishes when its file names none).
    pub json: JsonStyle,
}

/// `janus.eventhandler.rabbitmqevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitMqEvh {
    /// The broker (its `exchange` is published to).
    pub broker: AmqpBroker,
    /// `route_key`: the routing key (and the queue `declare_outgoing_queue` declares).
    pub route_key: String,
    /// `declare_outgoing_queue` (default true).
    pub declare_queue: bool,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `grouping`: events go in arrays of up to 100 (default true), not one per message.
    pub grouping: bool,
    /// `json` (default indented).
    pub json: JsonStyle,
}

/// `janus.eventhandler.sampleevh.jcfg`'s `general`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleEvh {
    /// `backend`: the URL events are posted to.
    pub backend: String,
    /// `backend_user` and `backend_pwd`: HTTP basic authentication, when both are set.
    pub credentials: Option<(String, String)>,
    /// `events`: the kinds to send ("all", "none" or a list of Janus's names).
    pub events: String,
    /// `grouping`: events go in arrays of up to 100 (default true), not one per post.
    pub grouping: bool,
    /// `json`: how posts are formatted (default indented).
    pub json: JsonStyle,
    /// `max_retransmissions` (default 5): tries after a post that failed to go.
    pub max_retransmissions: u32,
    /// `retransmissions_backoff` (default 100): ms before the first retry, doubled each time.
    pub retransmissions_backoff_ms: u64,
    /// `compress` with its `compression` level (0 to 9, default 6): posts are gzipped
    /// (`Content-Encoding: gzip`). None: they are not (the default).
    pub gzip_level: Option<u32>,
}

/// Reads `events` from `janus.jcfg` (`file`, `root`) and the handlers' files in `folder`.
pub fn read(file: &str, root: &jcfg::Group, folder: Option<&Path>) -> Result<Events, ConfigError> {
    let mut s = Section::new(file, root, "events");
    let broadcast = s.bool("broadcast", false)?;
    let disabled = s.non_empty("disable")?.unwrap_or_default();
    let stats_period = s.int("stats_period", 1, 0, MAX_STATS_PERIOD)? as u64;
    let combine_media_stats = s.bool("combine_media_stats", false)?;
    s.finish();
    let events = |sampleevh, wsevh, gelfevh, mqttevh, nanomsgevh, rabbitmqevh| Events {
        broadcast,
        sampleevh,
        wsevh,
        gelfevh,
        mqttevh,
        nanomsgevh,
        rabbitmqevh,
        stats_period,
        combine_media_stats,
    };
    let Some(folder) = folder else { return Ok(events(None, None, None, None, None, None)) };
    let is_disabled = |package: &str| {
        let short = package.trim_start_matches("janus.eventhandler.");
        disabled.split(',').map(str::trim).any(|d| d.contains(short))
    };
    let sampleevh = match handler_file(folder, SAMPLEEVH)? {
        Some((shown, root)) if !is_disabled(SAMPLEEVH) => read_sampleevh(&shown, &root)?,
        _ => None,
    };
    let wsevh = match handler_file(folder, WSEVH)? {
        Some((shown, root)) if !is_disabled(WSEVH) => read_wsevh(&shown, &root)?,
        _ => None,
    };
    let gelfevh = match handler_file(folder, GELFEVH)? {
        Some((shown, root)) if !is_disabled(GELFEVH) => read_gelfevh(&shown, &root)?,
        _ => None,
    };
    let mqttevh = match handler_file(folder, MQTTEVH)? {
        Some((shown, root)) if !is_disabled(MQTTEVH) => read_mqttevh(&shown, &root, folder)?,
        _ => None,
    };
    let nanomsgevh = match handler_file(folder, NANOMSGEVH)? {
        Some((shown, root)) if !is_disabled(NANOMSGEVH) => read_nanomsgevh(&shown, &root)?,
        _ => None,
    };
    let rabbitmqevh = match handler_file(folder, RABBITMQEVH)? {
        Some((shown, root)) if !is_disabled(RABBITMQEVH) => read_rabbitmqevh(&shown, &root, folder)?,
        _ => None,
    };
    Ok(events(sampleevh, wsevh, gelfevh, mqttevh, nanomsgevh, rabbitmqevh))
}

/// The RabbitMQ handler's settings, when `enabled` (and given a `route_key`: Janus does not
/// load it without one).
fn read_rabbitmqevh(
    file: &str,
    root: &jcfg::Group,
    folder: &Path,
) -> Result<Option<RabbitMqEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    const KEYS: [&str; 13] = [
        "events",
        "grouping",
        "json",
        "host",
        "port",
        "username",
        "password",
        "vhost",
        "exchange",
        "exchange_type",
        "route_key",
        "declare_outgoing_queue",
        "heartbeat",
    ];
    const TLS: [&str; 5] = ["ssl_cacert", "ssl_cert", "ssl_key", "ssl_verify_peer", "ssl_verify_hostname"];
    if !g.bool("enabled", false)? {
        g.accept(&KEYS);
        g.accept(&TLS);
        g.accept(&["ssl_enable"]);
        return Ok(None);
    }
    let Some(route_key) = g.non_empty("route_key")? else {
        tracing::warn!("{file}: no route_key; the RabbitMQ event handler is not loaded (as Janus's)");
        g.accept(&KEYS);
        g.accept(&TLS);
        g.accept(&["ssl_enable"]);
        return Ok(None);
    };
    let evh = RabbitMqEvh {
        broker: AmqpBroker::read(&mut g, Some(folder), ["exchange", "exchange_type"], "ssl_enable")?,
        route_key,
        declare_queue: g.bool("declare_outgoing_queue", true)?,
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        grouping: g.bool("grouping", true)?,
        json: json_style(&mut g, file, JsonStyle::Indented)?,
    };
    g.finish();
    Ok(Some(evh))
}

/// The Nanomsg handler's settings, when `enabled`.
fn read_nanomsgevh(file: &str, root: &jcfg::Group) -> Result<Option<NanomsgEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    if !g.bool("enabled", false)? {
        g.accept(&["events", "grouping", "json", "address", "mode"]);
        return Ok(None);
    }
    let bind = match g.string("mode")?.map(|m| m.to_ascii_lowercase()).as_deref() {
        None | Some("connect") => false,
        Some("bind") => true,
        Some(other) => {
            tracing::warn!("{file}: mode '{other}' is neither bind nor connect; the handler is not loaded");
            g.accept(&["events", "grouping", "json", "address"]);
            return Ok(None);
        }
    };
    let evh = NanomsgEvh {
        address: g.non_empty("address")?.unwrap_or_default(),
        bind,
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        grouping: g.bool("grouping", true)?,
        json: json_style(&mut g, file, JsonStyle::Indented)?,
    };
    g.finish();
    Ok(Some(evh))
}

/// A handler's file in `folder`, parsed, if there is one.
fn handler_file(folder: &Path, package: &str) -> Result<Option<(String, jcfg::Group)>, ConfigError> {
    let path = folder.join(format!("{package}.jcfg"));
    let shown = path.display().to_string();
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some((shown.clone(), parse_file(&shown, &text)?))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(source) => Err(ConfigError::Io { file: shown, source }),
    }
}

/// `json` of a handler's file (`default` when not given; an unknown style is warned about).
fn json_style(g: &mut Section<'_>, file: &str, default: JsonStyle) -> Result<JsonStyle, ConfigError> {
    Ok(g.string("json")?.as_deref().map_or(Some(default), JsonStyle::from_name).unwrap_or_else(|| {
        tracing::warn!("{file}: unsupported json format, using {default:?}");
        default
    }))
}

/// The MQTT handler's settings, when `enabled`.
fn read_mqttevh(file: &str, root: &jcfg::Group, folder: &Path) -> Result<Option<MqttEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    // Read and not acted on: ten messages in flight at a time, the handler's queue buffers;
    // rustls's own ciphers and versions.
    const IGNORED: [&str; 5] =
        ["max_inflight", "max_buffered", "disconnect_timeout", "tls_ciphers", "tls_version"];
    // The CA, the client's certificate and key, and the two checks.
    const TLS: [&str; 5] =
        ["tls_cacert", "tls_client_cert", "tls_client_key", "tls_verify_peer", "tls_verify_hostname"];
    const USED: [&str; 19] = [
        "mqtt_version",
        "add_user_properties",
        "events",
        "json",
        "url",
        "client_id",
        "username",
        "password",
        "keep_alive_interval",
        "cleansession",
        "topic",
        "addevent",
        "qos",
        "retain",
        "connect_status",
        "disconnect_status",
        "will_enabled",
        "will_retain",
        "will_qos",
    ];
    if !g.bool("enabled", false)? {
        g.accept(&USED);
        g.accept(&IGNORED);
        g.accept(&TLS);
        g.accept(&["tls_enable"]);
        return Ok(None);
    }
    let version = match g.non_empty("mqtt_version")? {
        None => crate::mqtt::Version::default(),
        Some(v) => match crate::mqtt::Version::from_name(&v) {
            Some(version) => version,
            None => {
                tracing::warn!(
                    "{file}: mqtt_version {v} is unknown (3.1, 3.1.1 or 5); the handler is not started"
                );
                return Ok(None);
            }
        },
    };
    let add_user_properties = g.pairs("add_user_properties")?;
    for key in ["tls_ciphers", "tls_version"] {
        if g.string(key)?.is_some() {
            // Janus's sample names them, but its handler reads neither.
            tracing::warn!("{file}: {key} is not read (nor by Janus); rustls's own are used");
        }
    }
    g.accept(&IGNORED);
    let tls = match g.bool("tls_enable", false)? {
        true => Some(super::tls_files(&mut g, Some(folder), TLS)?),
        false => {
            g.accept(&TLS);
            None
        }
    };
    let evh = MqttEvh {
        url: g.non_empty("url")?.unwrap_or_else(|| "tcp://localhost:1883".to_owned()),
        version,
        add_user_properties,
        client_id: g.non_empty("client_id")?.unwrap_or_else(|| "guest".to_owned()),
        username: g.non_empty("username")?,
        password: g.string("password")?,
        keep_alive_s: g.int("keep_alive_interval", 30, 0, 65535)? as u16,
        clean_session: g.bool("cleansession", false)?,
        topic: g.non_empty("topic")?.unwrap_or_else(|| "/janus/events".to_owned()),
        add_event: g.bool("addevent", true)?,
        qos: match g.int("qos", 1, 0, 2)? {
            2 => {
                tracing::warn!("{file}: qos 2 is not spoken here; events are published at QoS 1");
                1
            }
            q => q as u8,
        },
        retain: g.bool("retain", false)?,
        connect_status: g
            .string("connect_status")?
            .unwrap_or_else(|| format!("{{\"event\": \"connected\", \"eventhandler\": \"{MQTTEVH}\"}}")),
        disconnect_status: g
            .string("disconnect_status")?
            .unwrap_or_else(|| "{\"event\": \"disconnected\"}".to_owned()),
        will: g.bool("will_enabled", false)?,
        will_retain: g.bool("will_retain", true)?,
        will_qos: g.int("will_qos", 0, 0, 1)? as u8,
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        json: json_style(&mut g, file, JsonStyle::Indented)?,
        tls,
    };
    g.finish();
    Ok(Some(evh))
}

/// The GELF handler's settings, when `enabled`.
fn read_gelfevh(file: &str, root: &jcfg::Group) -> Result<Option<GelfEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    if !g.bool("enabled", false)? {
        g.accept(&["events", "backend", "port", "protocol", "max_message_len", "compress", "compression"]);
        return Ok(None);
    }
    let tcp = match g.string("protocol")?.map(|p| p.to_ascii_lowercase()).as_deref() {
        None | Some("udp") => false,
        Some("tcp") => true,
        Some(other) => {
            tracing::warn!("{file}: protocol '{other}' is neither tcp nor udp; using udp");
            false
        }
    };
    let level = g.int("compression", 6, 0, 9)? as u32;
    let compress = g.bool("compress", false)?;
    if compress && tcp {
        tracing::warn!("{file}: compress is for UDP only (as Janus); messages over TCP go as they are");
    }
    let evh = GelfEvh {
        backend: g.non_empty("backend")?.unwrap_or_default(),
        port: g.int("port", 12201, 1, 65535)? as u16,
        tcp,
        max_message_len: g.int("max_message_len", 500, 1, 65_000)? as usize,
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        gzip_level: (compress && !tcp).then_some(level),
    };
    g.finish();
    Ok(Some(evh))
}

/// The WebSockets handler's settings, when `enabled`.
fn read_wsevh(file: &str, root: &jcfg::Group) -> Result<Option<WsEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let keys =
        ["events", "grouping", "json", "backend", "subprotocol", "events_cap_on_reconnect", "ws_logging"];
    if !g.bool("enabled", false)? {
        g.accept(&keys);
        return Ok(None);
    }
    let evh = WsEvh {
        backend: g.non_empty("backend")?.unwrap_or_default(),
        subprotocol: g.non_empty("subprotocol")?.unwrap_or_else(|| "janus-event-handlers".to_owned()),
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        grouping: g.bool("grouping", true)?,
        json: json_style(&mut g, file, JsonStyle::Indented)?,
        events_cap_on_reconnect: g.int("events_cap_on_reconnect", 0, 0, i64::from(u32::MAX))? as u32,
    };
    // (libwebsockets' own logging: there is none here.)
    g.accept(&["ws_logging"]);
    g.finish();
    Ok(Some(evh))
}

/// The sample handler's settings, when `enabled`.
fn read_sampleevh(file: &str, root: &jcfg::Group) -> Result<Option<SampleEvh>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    if !g.bool("enabled", false)? {
        g.accept(&[
            "events",
            "grouping",
            "json",
            "backend",
            "backend_user",
            "backend_pwd",
            "max_retransmissions",
            "retransmissions_backoff",
            "compress",
            "compression",
        ]);
        return Ok(None);
    }
    let backend = g.non_empty("backend")?.unwrap_or_default();
    let (user, pwd) = (g.non_empty("backend_user")?, g.non_empty("backend_pwd")?);
    let evh = SampleEvh {
        credentials: user.zip(pwd),
        events: g.non_empty("events")?.unwrap_or_else(|| "all".to_owned()),
        grouping: g.bool("grouping", true)?,
        json: json_style(&mut g, file, JsonStyle::Indented)?,
        max_retransmissions: g.int(
            "max_retransmissions",
            5,
            0,
            crate::events::sampleevh::MAX_RETRANSMISSIONS.into(),
        )? as u32,
        retransmissions_backoff_ms: g.int(
            "retransmissions_backoff",
            100,
            1,
            crate::events::sampleevh::MAX_BACKOFF_MS as i64,
        )? as u64,
        backend,
        gzip_level: None,
    };
    let level = g.int("compression", 6, 0, 9)? as u32;
    let evh = SampleEvh { gzip_level: g.bool("compress", false)?.then_some(level), ..evh };
    g.finish();
    Ok(Some(evh))
}

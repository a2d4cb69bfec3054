//! MQTT's control packets as this client writes and reads them: 3.1 and 3.1.1 (the same
//! packets but for CONNECT's protocol name and level) and 5 (properties in most packets,
//! reason codes in the acknowledgements; OASIS MQTT 5.0 §3).

use super::Options;

/// MQTT's control packet types (the fixed header's high nibble).
pub const CONNECT: u8 = 1;
/// The broker's answer to CONNECT.
pub const CONNACK: u8 = 2;
/// A message.
pub const PUBLISH: u8 = 3;
/// A QoS 1 message's acknowledgement.
pub const PUBACK: u8 = 4;
/// Subscriptions asked for.
pub const SUBSCRIBE: u8 = 8;
/// Their acknowledgement.
pub const SUBACK: u8 = 9;
/// A ping.
pub const PINGREQ: u8 = 12;
/// Its answer.
pub const PINGRESP: u8 = 13;
/// The end of a connection (from the broker too, in MQTT 5).
pub const DISCONNECT: u8 = 14;

/// Which MQTT is spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Version {
    /// MQTT 3.1 (protocol `MQIsdp`, level 3).
    V3_1,
    /// MQTT 3.1.1 (Janus's default).
    #[default]
    V3_1_1,
    /// MQTT 5.
    V5,
}

impl Version {
    /// From Janus's `mqtt_version` setting: `3.1`, `3.1.1` or `5`.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim() {
            "3.1" => Some(Self::V3_1),
            "3.1.1" => Some(Self::V3_1_1),
            "5" | "5.0" => Some(Self::V5),
            _ => None,
        }
    }
}

/// The MQTT 5 properties of a message that the gateway reads and writes (a message's other
/// properties are skipped).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// Where the answer to a request goes (Response Topic).
    pub response_topic: Option<String>,
    /// What an answer carries back to name its request (Correlation Data).
    pub correlation_data: Option<Vec<u8>>,
    /// User properties, name and value, in order.
    pub user: Vec<(String, String)>,
}

/// A message published, by the client or to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publication {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// QoS 0 or 1 (2 is sent as 1).
    pub qos: u8,
    /// Whether the broker keeps it for later subscribers.
    pub retain: bool,
    /// Its MQTT 5 properties (none are sent in 3.1.1).
    pub properties: Properties,
}

/// What the broker's CONNACK allows (MQTT 5 says it in properties; 3.1.1 allows all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Granted {
    /// QoS 1 messages that may await their PUBACK at once (Receive Maximum).
    pub receive_maximum: usize,
    /// The highest QoS taken (Maximum QoS).
    pub maximum_qos: u8,
    /// Whether retained messages are taken (Retain Available).
    pub retain: bool,
    /// The keep-alive the broker wants instead of ours, seconds (Server Keep Alive).
    pub keep_alive_s: Option<u16>,
    /// The longest packet the broker takes (Maximum Packet Size).
    pub max_packet: Option<usize>,
}

impl Default for Granted {
    fn default() -> Self {
        Self {
            receive_maximum: usize::from(u16::MAX),
            maximum_qos: 2,
            retain: true,
            keep_alive_s: None,
            max_packet: None,
        }
    }
}

impl Granted {
    /// `p` as this broker takes it: its QoS and retain flag within what was granted.
    pub fn fit(&self, mut p: Publication) -> Publication {
        p.qos = p.qos.min(self.maximum_qos);
        p.retain &= self.retain;
        p
    }

    /// Whether the broker takes a packet this long.
    pub fn takes(&self, packet: &[u8]) -> bool {
        self.max_packet.is_none_or(|max| packet.len() <= max)
    }
}

/// Appends MQTT's variable byte integer (at most 268,435,455).
fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    loop {
        let mut byte = (n % 128) as u8;
        n /= 128;
        if n > 0 {
            byte |= 0x80;
        }
        out.push(byte);
        if n == 0 {
            break;
        }
    }
}

/// A variable byte integer at the start of `data`: its value and its length.
fn varint(data: &[u8]) -> Option<(usize, usize)> {
    let mut n = 0usize;
    for (i, b) in data.iter().take(4).enumerate() {
        n |= usize::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

/// A packet: its fixed header's first byte, the remaining length, then `body`.
pub fn framed(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    put_varint(&mut out, body.len());
    out.extend_from_slice(body);
    out
}

/// An MQTT string (or binary): its length on two bytes, then it.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// A string (or binary) at the start of `data`: it and what follows.
fn take_str(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let len = usize::from(u16::from_be_bytes([*data.first()?, *data.get(1)?]));
    Some((data.get(2..2 + len)?, &data[2 + len..]))
}

/// Property identifiers this client writes or reads.
mod id {
    pub const RESPONSE_TOPIC: u8 = 0x08;
    pub const CORRELATION_DATA: u8 = 0x09;
    pub const SERVER_KEEP_ALIVE: u8 = 0x13;
    pub const RECEIVE_MAXIMUM: u8 = 0x21;
    pub const MAXIMUM_QOS: u8 = 0x24;
    pub const RETAIN_AVAILABLE: u8 = 0x25;
    pub const USER_PROPERTY: u8 = 0x26;
    pub const MAXIMUM_PACKET_SIZE: u8 = 0x27;
}

/// A property's value, as its identifier's type says (MQTT 5 §2.2.2.2).
enum Value<'a> {
    Int(usize),
    Data(&'a [u8]),
    Pair(&'a [u8], &'a [u8]),
}

/// The property `id` at the start of `data`: its value and what follows; `None` for an
/// identifier MQTT 5 does not have, or a value cut short.
fn value(id: u8, data: &[u8]) -> Option<(Value<'_>, &[u8])> {
    let int = |n: usize| {
        Some((Value::Int(data.get(..n)?.iter().fold(0, |a, b| a << 8 | usize::from(*b))), &data[n..]))
    };
    match id {
        0x01 | 0x17 | 0x19 | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => int(1),
        0x13 | 0x21 | 0x22 | 0x23 => int(2),
        0x02 | 0x11 | 0x18 | 0x27 => int(4),
        0x0b => varint(data).map(|(n, len)| (Value::Int(n), &data[len..])),
        0x03 | 0x08 | 0x09 | 0x12 | 0x15 | 0x16 | 0x1a | 0x1c | 0x1f => {
            take_str(data).map(|(v, rest)| (Value::Data(v), rest))
        }
        0x26 => {
            let (name, rest) = take_str(data)?;
            let (value, rest) = take_str(rest)?;
            Some((Value::Pair(name, value), rest))
        }
        _ => None,
    }
}

/// Reads a property list (its length first), giving each property to `each`; returns what
/// follows the list, `None` when it is malformed.
fn properties<'a>(data: &'a [u8], mut each: impl FnMut(u8, Value<'a>)) -> Option<&'a [u8]> {
    let (len, at) = varint(data)?;
    let mut list = data.get(at..at + len)?;
    while let Some((&id, rest)) = list.split_first() {
        let (v, rest) = value(id, rest)?;
        each(id, v);
        list = rest;
    }
    Some(&data[at + len..])
}

/// Appends a message's properties (its list's length first).
fn put_properties(out: &mut Vec<u8>, p: &Properties) {
    let mut list = Vec::new();
    if let Some(topic) = &p.response_topic {
        list.push(id::RESPONSE_TOPIC);
        put_str(&mut list, topic.as_bytes());
    }
    if let Some(data) = &p.correlation_data {
        list.push(id::CORRELATION_DATA);
        put_str(&mut list, data);
    }
    for (name, value) in &p.user {
        list.push(id::USER_PROPERTY);
        put_str(&mut list, name.as_bytes());
        put_str(&mut list, value.as_bytes());
    }
    put_varint(out, list.len());
    out.extend_from_slice(&list);
}

/// CONNECT, with the will when asked for; in MQTT 5 it says the largest packet taken
/// (`max_packet`): the broker sends nothing longer.
pub fn connect_packet(o: &Options, max_packet: usize) -> Vec<u8> {
    let mut flags = 0u8;
    if o.clean_session {
        flags |= 0x02;
    }
    if let Some(will) = &o.will {
        flags |= 0x04 | (will.qos.min(1) << 3);
        if will.retain {
            flags |= 0x20;
        }
    }
    if o.username.is_some() {
        flags |= 0x80;
        if o.password.is_some() {
            flags |= 0x40;
        }
    }
    let mut body = Vec::new();
    match o.version {
        Version::V3_1 => put_str(&mut body, b"MQIsdp"),
        Version::V3_1_1 | Version::V5 => put_str(&mut body, b"MQTT"),
    }
    body.push(match o.version {
        Version::V3_1 => 3,
        Version::V3_1_1 => 4,
        Version::V5 => 5,
    });
    body.push(flags);
    body.extend_from_slice(&o.keep_alive_s.to_be_bytes());
    if o.version == Version::V5 {
        body.extend_from_slice(&[5, id::MAXIMUM_PACKET_SIZE]);
        body.extend_from_slice(&u32::try_from(max_packet).unwrap_or(u32::MAX).to_be_bytes());
    }
    put_str(&mut body, o.client_id.as_bytes());
    if let Some(will) = &o.will {
        if o.version == Version::V5 {
            put_properties(&mut body, &will.properties);
        }
        put_str(&mut body, will.topic.as_bytes());
        put_str(&mut body, &will.payload);
    }
    if let Some(user) = &o.username {
        put_str(&mut body, user.as_bytes());
        if let Some(password) = &o.password {
            put_str(&mut body, password.as_bytes());
        }
    }
    framed(CONNECT << 4, &body)
}

/// What CONNACK says: what the broker allows, or why it refused.
pub fn parse_connack(body: &[u8], version: Version) -> Result<Granted, String> {
    let (Some(&code), Some(rest)) = (body.get(1), body.get(2..)) else {
        return Err("a malformed CONNACK".into());
    };
    if code != 0 {
        // (A broker that speaks no MQTT 5 answers its CONNECT with a 3.1.1 code.)
        let why = match version {
            Version::V5 if code >= 0x80 => reason(code),
            _ => refusal(code).to_owned(),
        };
        return Err(format!("the broker refused: {why}"));
    }
    let mut granted = Granted::default();
    if version == Version::V5 {
        properties(rest, |id, v| match (id, v) {
            (id::RECEIVE_MAXIMUM, Value::Int(n)) if n > 0 => granted.receive_maximum = n,
            (id::MAXIMUM_QOS, Value::Int(q)) => granted.maximum_qos = q.min(2) as u8,
            (id::RETAIN_AVAILABLE, Value::Int(r)) => granted.retain = r != 0,
            (id::SERVER_KEEP_ALIVE, Value::Int(s)) => granted.keep_alive_s = u16::try_from(s).ok(),
            (id::MAXIMUM_PACKET_SIZE, Value::Int(n)) if n > 0 => granted.max_packet = Some(n),
            _ => {}
        })
        .ok_or("a malformed CONNACK")?;
    }
    Ok(granted)
}

/// PUBLISH (packet `id` at QoS 1).
pub fn publish_packet(p: &Publication, id: u16, dup: bool, version: Version) -> Vec<u8> {
    let qos = p.qos.min(1);
    let mut body = Vec::with_capacity(p.topic.len() + p.payload.len() + 8);
    put_str(&mut body, p.topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    if version == Version::V5 {
        put_properties(&mut body, &p.properties);
    }
    body.extend_from_slice(&p.payload);
    // (DUP only at QoS 1: MQTT-3.3.1-2.)
    let first = PUBLISH << 4 | u8::from(dup && qos > 0) << 3 | qos << 1 | u8::from(p.retain);
    framed(first, &body)
}

/// SUBSCRIBE to each filter at its QoS (at most 1).
pub fn subscribe_packet(filters: &[(String, u8)], id: u16, version: Version) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    if version == Version::V5 {
        body.push(0);
    }
    for (filter, qos) in filters {
        put_str(&mut body, filter.as_bytes());
        // (In MQTT 5 the other bits of the options byte stay 0: local messages delivered,
        // retained ones sent at each subscription.)
        body.push((*qos).min(1));
    }
    framed(SUBSCRIBE << 4 | 0x02, &body)
}

/// A PUBLISH from the broker: its packet id (QoS 1 and 2) and the message.
pub fn parse_publish(first: u8, body: &[u8], version: Version) -> Option<(Option<u16>, Publication)> {
    let (topic, mut rest) = take_str(body)?;
    let topic = std::str::from_utf8(topic).ok()?.to_owned();
    let qos = (first >> 1) & 3;
    let mut id = None;
    if qos > 0 {
        id = Some(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        rest = &rest[2..];
    }
    let mut p = Properties::default();
    if version == Version::V5 {
        // (Text that is not UTF-8 is left out: sent back, it would be a malformed packet.)
        let text = |v: &[u8]| std::str::from_utf8(v).ok().map(str::to_owned);
        rest = properties(rest, |id, v| match (id, v) {
            (id::RESPONSE_TOPIC, Value::Data(t)) => p.response_topic = text(t),
            (id::CORRELATION_DATA, Value::Data(d)) => p.correlation_data = Some(d.to_vec()),
            (id::USER_PROPERTY, Value::Pair(name, value)) => {
                if let (Some(name), Some(value)) = (text(name), text(value)) {
                    p.user.push((name, value));
                }
            }
            _ => {}
        })?;
    }
    let publication =
        Publication { topic, payload: rest.to_vec(), qos, retain: first & 1 == 1, properties: p };
    Some((id, publication))
}

/// A PUBACK's packet id and reason code (0, success, when MQTT 5 leaves it out).
pub fn parse_puback(body: &[u8]) -> Option<(u16, u8)> {
    let id = u16::from_be_bytes([*body.first()?, *body.get(1)?]);
    Some((id, body.get(2).copied().unwrap_or(0)))
}

/// Whether a SUBACK refuses a subscription (a return or reason code from 0x80).
pub fn suback_refuses(body: &[u8], version: Version) -> bool {
    let codes = match version {
        Version::V5 => body.get(2..).and_then(|b| properties(b, |_, _| {})),
        Version::V3_1 | Version::V3_1_1 => body.get(2..),
    };
    codes.is_none_or(|codes| codes.iter().any(|c| *c >= 0x80))
}

/// Why an MQTT 5 broker disconnects (its DISCONNECT's reason code; none is 0, normal).
pub fn disconnect_reason(body: &[u8]) -> String {
    format!("the broker disconnected: {}", reason(body.first().copied().unwrap_or(0)))
}

/// What a 3.1.1 CONNACK's return code means.
fn refusal(code: u8) -> &'static str {
    match code {
        1 => "unacceptable protocol version",
        2 => "client identifier rejected",
        3 => "server unavailable",
        4 => "bad user name or password",
        5 => "not authorized",
        _ => "refused",
    }
}

/// What an MQTT 5 reason code means (those a broker sends a client).
pub fn reason(code: u8) -> String {
    let text = match code {
        0x00 => "normal",
        0x10 => "no matching subscribers",
        0x80 => "unspecified error",
        0x81 => "malformed packet",
        0x82 => "protocol error",
        0x83 => "implementation specific error",
        0x84 => "unsupported protocol version",
        0x85 => "client identifier not valid",
        0x86 => "bad user name or password",
        0x87 => "not authorized",
        0x88 => "server unavailable",
        0x89 => "server busy",
        0x8a => "banned",
        0x8b => "server shutting down",
        0x8c => "bad authentication method",
        0x8d => "keep alive timeout",
        0x8e => "session taken over",
        0x90 => "topic name invalid",
        0x93 => "receive maximum exceeded",
        0x95 => "packet too large",
        0x96 => "message rate too high",
        0x97 => "quota exceeded",
        0x98 => "administrative action",
        0x99 => "payload format invalid",
        0x9a => "retain not supported",
        0x9b => "QoS not supported",
        0x9c => "use another server",
        0x9d => "server moved",
        0x9f => "connection rate exceeded",
        _ => "reason",
    };
    format!("{text} (0x{code:02x})")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(version: Version) -> Options {
        Options {
            url: "tcp://127.0.0.1:1883".into(),
            broker: super::super::broker("tcp://127.0.0.1:1883").unwrap(),
            tls: None,
            version,
            client_id: "janus".into(),
            username: Some("u".into()),
            password: Some("p".into()),
            keep_alive_s: 30,
            clean_session: true,
            will: Some(Publication {
                topic: "s".into(),
                payload: b"down".to_vec(),
                retain: true,
                ..Default::default()
            }),
            on_connect: None,
            on_stop: None,
            subscribe: Vec::new(),
            max_in_flight: 10,
            who: "test",
        }
    }

    #[test]
    fn packets_are_mqtt_3_1_1() {
        let c = connect_packet(&options(Version::V3_1_1), 1 << 20);
        assert_eq!(c[0], 0x10);
        assert_eq!(usize::from(c[1]), c.len() - 2);
        assert_eq!(&c[2..9], b"\0\x04MQTT\x04");
        // user, password, will retain, will, clean session.
        assert_eq!(c[9], 0x80 | 0x40 | 0x20 | 0x04 | 0x02);
        assert_eq!(&c[10..12], &30u16.to_be_bytes());
        assert!(c.ends_with(b"\0\x01u\0\x01p"));
        let p = Publication { topic: "t/x".into(), payload: b"{}".to_vec(), qos: 1, ..Default::default() };
        assert_eq!(
            publish_packet(&p, 7, true, Version::V3_1_1),
            [0x3a, 9, 0, 3, b't', b'/', b'x', 0, 7, b'{', b'}']
        );
        // A remaining length past 127 takes two bytes.
        let long = framed(0x30, &[0; 200]);
        assert_eq!(&long[..3], &[0x30, 0xc8, 0x01]);
        assert_eq!(
            subscribe_packet(&[("a/#".into(), 2)], 3, Version::V3_1_1),
            [0x82, 8, 0, 3, 0, 3, b'a', b'/', b'#', 1]
        );
        assert_eq!(parse_connack(&[0, 0], Version::V3_1_1), Ok(Granted::default()));
        assert_eq!(
            parse_connack(&[0, 4], Version::V3_1_1),
            Err("the broker refused: bad user name or password".into())
        );
        assert!(!suback_refuses(&[0, 3, 1], Version::V3_1_1));
        assert!(suback_refuses(&[0, 3, 0x80], Version::V3_1_1));
    }

    #[test]
    fn mqtt_3_1_names_its_protocol_mqisdp() {
        let c = connect_packet(&options(Version::V3_1), 1 << 20);
        assert_eq!(&c[2..11], b"\0\x06MQIsdp\x03");
    }

    /// MQTT 5: CONNECT says the largest packet taken and carries empty will properties; a
    /// message's properties go between its packet id and its payload, and come back the same.
    #[test]
    fn mqtt_5_packets_carry_properties() {
        let c = connect_packet(&options(Version::V5), 1 << 20);
        assert_eq!(&c[2..9], b"\0\x04MQTT\x05");
        // Flags, keep-alive, then 5 bytes of properties: the maximum packet size.
        assert_eq!(&c[12..18], &[5, 0x27, 0, 0x10, 0, 0]);
        // Client id, then the will's (empty) properties before its topic.
        assert_eq!(&c[18..29], b"\0\x05janus\0\0\x01s");
        let properties = Properties {
            response_topic: Some("r/1".into()),
            correlation_data: Some(vec![0, 255]),
            user: vec![("k".into(), "v".into())],
        };
        let p = Publication { topic: "t".into(), payload: b"{}".to_vec(), qos: 1, retain: false, properties };
        let bytes = publish_packet(&p, 9, false, Version::V5);
        assert_eq!(
            &bytes[2..],
            &[
                0, 1, b't', 0, 9, 18, 0x08, 0, 3, b'r', b'/', b'1', 0x09, 0, 2, 0, 255, 0x26, 0, 1, b'k', 0,
                1, b'v', b'{', b'}'
            ]
        );
        assert_eq!(parse_publish(bytes[0], &bytes[2..], Version::V5), Some((Some(9), p)));
        // Properties it does not keep are skipped; one it cannot know makes the packet malformed.
        let other = [0, 1, b't', 7, 0x01, 1, 0x02, 0, 0, 0, 60, b'x'];
        let (id, got) = parse_publish(0x30, &other, Version::V5).unwrap();
        assert_eq!((id, got.payload, got.properties), (None, b"x".to_vec(), Properties::default()));
        assert_eq!(parse_publish(0x30, &[0, 1, b't', 2, 0x7f, 0, b'x'], Version::V5), None);
        assert_eq!(parse_publish(0x30, &[0, 1, b't', 9, 0x08, 0, 3], Version::V5), None);
        assert_eq!(subscribe_packet(&[("a".into(), 1)], 3, Version::V5), [0x82, 7, 0, 3, 0, 0, 1, b'a', 1]);
    }

    #[test]
    fn an_mqtt_5_connack_says_what_the_broker_allows() {
        // Receive Maximum 2, Maximum QoS 0, Retain Available 0, Server Keep Alive 5, Maximum
        // Packet Size 100.
        let body = [0, 0, 15, 0x21, 0, 2, 0x24, 0, 0x25, 0, 0x13, 0, 5, 0x27, 0, 0, 0, 100];
        let granted = parse_connack(&body, Version::V5).unwrap();
        let want = Granted {
            receive_maximum: 2,
            maximum_qos: 0,
            retain: false,
            keep_alive_s: Some(5),
            max_packet: Some(100),
        };
        assert_eq!(granted, want);
        assert!(granted.takes(&[0; 100]) && !granted.takes(&[0; 101]));
        // A broker of 3.1.1 only refuses a CONNECT of MQTT 5 in its own words.
        assert_eq!(
            parse_connack(&[0, 1], Version::V5),
            Err("the broker refused: unacceptable protocol version".into())
        );
        let p = Publication { qos: 1, retain: true, ..Default::default() };
        assert_eq!((granted.fit(p.clone()).qos, granted.fit(p).retain), (0, false));
        assert_eq!(parse_connack(&[0, 0, 0], Version::V5), Ok(Granted::default()));
        assert_eq!(
            parse_connack(&[0, 0x86, 0], Version::V5),
            Err("the broker refused: bad user name or password (0x86)".into())
        );
        assert!(parse_connack(&[0, 0, 3, 0x21, 0], Version::V5).is_err());
        assert_eq!(parse_puback(&[0, 7]), Some((7, 0)));
        assert_eq!(parse_puback(&[0, 7, 0x87, 0]), Some((7, 0x87)));
        assert!(!suback_refuses(&[0, 3, 0, 1], Version::V5));
        assert!(suback_refuses(&[0, 3, 0, 0x87], Version::V5));
        assert_eq!(disconnect_reason(&[0x8b]), "the broker disconnected: server shutting down (0x8b)");
    }

    #[test]
    fn publishes_from_the_broker_are_read_at_each_qos() {
        let at0 = [0, 1, b't', b'h', b'i'];
        let message =
            |qos| Publication { topic: "t".into(), payload: b"hi".to_vec(), qos, ..Default::default() };
        assert_eq!(parse_publish(0x30, &at0, Version::V3_1_1), Some((None, message(0))));
        let at1 = [0, 1, b't', 0, 9, b'h', b'i'];
        assert_eq!(parse_publish(0x32, &at1, Version::V3_1_1), Some((Some(9), message(1))));
        for broken in [&[][..], &[0, 5, b't'], &[0, 1, b't', 0]] {
            assert_eq!(parse_publish(0x32, broken, Version::V3_1_1), None);
        }
    }
}

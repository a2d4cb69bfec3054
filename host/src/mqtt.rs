//! An MQTT 3.1.1 client of our own, shared by Janus's MQTT event handler and MQTT transport:
//! it connects (`tcp://` or `ssl://` URLs, user, password, keep-alive, clean session, will),
//! subscribes, publishes at QoS 0 or 1 (at 1 up to `max_in_flight` await their PUBACK at
//! once), hands on what the broker publishes to it (acknowledging QoS 1), pings when idle, and
//! connects again after 1, 2, 4, 8 s when the broker goes, publishing first what was not
//! acknowledged (DUP), each message at most 5 times.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::events::next_retry;
use crate::http_client::{write_in_time as write, Backend, Client, Stream};
use crate::plugins::policy::AddrPolicy;

/// How many times one message is published before it is given up.
const MAX_TRIES: u32 = 5;
/// How long the broker may take to answer (CONNACK, PUBACK, PINGRESP).
const ANSWER: Duration = Duration::from_secs(10);
/// The longest packet taken from the broker.
const MAX_PACKET: usize = 1 << 20;

/// A message to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Publication {
    /// Its topic.
    pub topic: String,
    /// Its payload.
    pub payload: Vec<u8>,
    /// QoS 0 or 1 (2 is sent as 1).
    pub qos: u8,
    /// Whether the broker keeps it for later subscribers.
    pub retain: bool,
}

/// How to reach the broker and what to do once connected.
#[derive(Debug, Clone)]
pub struct Options {
    /// The broker's URL as configured (for the log).
    pub url: String,
    /// The broker's address (see [`broker`]).
    pub broker: Backend,
    /// TLS with a broker's files (see [`crate::tls`]; none: the system's trust).
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The client identifier.
    pub client_id: String,
    /// User name and password, when given.
    pub username: Option<String>,
    /// The password (sent only with a user name).
    pub password: Option<String>,
    /// Keep-alive, seconds (0: none).
    pub keep_alive_s: u16,
    /// Whether the broker forgets the client's session at each connection.
    pub clean_session: bool,
    /// What the broker publishes when it loses the client.
    pub will: Option<Publication>,
    /// Published on each connection, after the subscriptions (at QoS 0).
    pub on_connect: Option<Publication>,
    /// Published (at QoS 0) when `outgoing` closes, before the DISCONNECT that spares the
    /// broker the will: a client's goodbye.
    pub on_stop: Option<Publication>,
    /// Topic filters subscribed to on each connection, with their QoS (0 or 1).
    pub subscribe: Vec<(String, u8)>,
    /// QoS 1 messages that may await their PUBACK at once.
    pub max_in_flight: usize,
    /// Who this client is, in the log.
    pub who: &'static str,
}

/// The broker's address from a `tcp://` (or `mqtt://`) or `ssl://` (`mqtts://`, `tls://`) URL;
/// without a port, MQTT's (1883, 8883 for TLS).
pub fn broker(url: &str) -> Result<Backend, String> {
    let (scheme, default_port, rest) = match url.split_once("://") {
        Some(("tcp" | "mqtt", rest)) => ("http", 1883, rest),
        Some(("ssl" | "mqtts" | "tls", rest)) => ("https", 8883, rest),
        _ => return Err(format!("url: '{url}' is not a tcp:// or ssl:// URL")),
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let has_port =
        authority.rsplit_once(':').is_some_and(|(host, _)| !host.starts_with('[') || host.ends_with(']'));
    let as_http = match has_port {
        true => format!("{scheme}://{rest}"),
        false => format!("{scheme}://{authority}:{default_port}"),
    };
    Backend::parse(&as_http).map_err(|e| format!("url: {e}"))
}

/// MQTT's control packet types (the fixed header's high nibble).
mod packet {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const SUBSCRIBE: u8 = 8;
    pub const SUBACK: u8 = 9;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
    pub const DISCONNECT: u8 = 14;
}

/// A packet: its fixed header's first byte, the remaining length, then `body`.
fn framed(first: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![first];
    let mut n = body.len();
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
    out.extend_from_slice(body);
    out
}

/// An MQTT string (or binary): its length on two bytes, then it.
fn put_str(out: &mut Vec<u8>, s: &[u8]) {
    let s = &s[..s.len().min(usize::from(u16::MAX))];
    out.extend_from_slice(&(s.len() as u16).to_be_bytes());
    out.extend_from_slice(s);
}

/// CONNECT (MQTT 3.1.1), with the will when asked for.
fn connect_packet(o: &Options) -> Vec<u8> {
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
    put_str(&mut body, b"MQTT");
    body.push(4);
    body.push(flags);
    body.extend_from_slice(&o.keep_alive_s.to_be_bytes());
    put_str(&mut body, o.client_id.as_bytes());
    if let Some(will) = &o.will {
        put_str(&mut body, will.topic.as_bytes());
        put_str(&mut body, &will.payload);
    }
    if let Some(user) = &o.username {
        put_str(&mut body, user.as_bytes());
        if let Some(password) = &o.password {
            put_str(&mut body, password.as_bytes());
        }
    }
    framed(packet::CONNECT << 4, &body)
}

/// PUBLISH (packet `id` at QoS 1).
fn publish_packet(p: &Publication, id: u16, dup: bool) -> Vec<u8> {
    let qos = p.qos.min(1);
    let mut body = Vec::with_capacity(p.topic.len() + p.payload.len() + 4);
    put_str(&mut body, p.topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(&p.payload);
    // (DUP only at QoS 1: MQTT-3.3.1-2.)
    let first = packet::PUBLISH << 4 | u8::from(dup && qos > 0) << 3 | qos << 1 | u8::from(p.retain);
    framed(first, &body)
}

/// SUBSCRIBE to each filter at its QoS (at most 1).
fn subscribe_packet(filters: &[(String, u8)], id: u16) -> Vec<u8> {
    let mut body = id.to_be_bytes().to_vec();
    for (filter, qos) in filters {
        put_str(&mut body, filter.as_bytes());
        body.push((*qos).min(1));
    }
    framed(packet::SUBSCRIBE << 4 | 0x02, &body)
}

/// A PUBLISH from the broker: its topic, its packet id (QoS 1 and 2) and its payload.
fn parse_publish(first: u8, body: &[u8]) -> Option<(String, Option<u16>, Vec<u8>)> {
    let len = usize::from(u16::from_be_bytes([*body.first()?, *body.get(1)?]));
    let topic = std::str::from_utf8(body.get(2..2 + len)?).ok()?.to_owned();
    let rest = &body[2 + len..];
    if (first >> 1) & 3 == 0 {
        return Some((topic, None, rest.to_vec()));
    }
    let id = u16::from_be_bytes([*rest.first()?, *rest.get(1)?]);
    Some((topic, Some(id), rest[2..].to_vec()))
}

/// Whether an MQTT topic filter (with `+` and `#`) takes a topic.
pub fn matches(filter: &str, topic: &str) -> bool {
    let mut levels = topic.split('/');
    for want in filter.split('/') {
        match (want, levels.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (want, Some(got)) if want == got => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

/// What CONNACK's return code means.
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

/// Connects and waits for the broker's CONNACK.
async fn connect(client: &Client, o: &Options) -> Result<Box<dyn Stream>, String> {
    let mut stream = client.stream(&o.broker).await?;
    write(&mut stream, &connect_packet(o)).await?;
    let answer = tokio::time::timeout(ANSWER, read_packet(&mut stream)).await;
    let (kind, body, _) = answer.map_err(|_| format!("no CONNACK within {ANSWER:?}"))??;
    match (kind >> 4, body.as_slice()) {
        (packet::CONNACK, [_, 0]) => Ok(stream),
        (packet::CONNACK, [_, code]) => Err(format!("the broker refused: {}", refusal(*code))),
        _ => Err(format!("the broker answered CONNECT with packet type {}", kind >> 4)),
    }
}

/// The next packet from the broker: its first byte, its body, and whether the body was cut
/// (longer than [`MAX_PACKET`]).
async fn read_packet(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
) -> Result<(u8, Vec<u8>, bool), String> {
    let read = async {
        let first = stream.read_u8().await?;
        let (mut len, mut shift) = (0usize, 0);
        loop {
            let b = stream.read_u8().await?;
            len |= usize::from(b & 0x7f) << shift;
            shift += 7;
            if b & 0x80 == 0 || shift > 21 {
                break;
            }
        }
        // A longer packet keeps its head (a PUBLISH's topic and packet id, to be acknowledged)
        // and loses the rest: it is not taken, and the connection goes on.
        let kept = len.min(MAX_PACKET);
        let mut body = vec![0; kept];
        stream.read_exact(&mut body).await?;
        if kept < len {
            let skipped =
                tokio::io::copy(&mut (&mut *stream).take((len - kept) as u64), &mut tokio::io::sink())
                    .await?;
            if skipped < (len - kept) as u64 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            return Ok((first, body, true));
        }
        Ok::<_, std::io::Error>((first, body, false))
    };
    read.await.map_err(|e| e.to_string())
}

/// A message on its way: what, how many times and when last it was sent.
struct Message {
    publication: Publication,
    tries: u32,
    sent: tokio::time::Instant,
}

/// Runs the client until `outgoing` closes: each item becomes a [`Publication`] and is
/// published (`done` is called once per item when it is through: acknowledged, written at
/// QoS 0, or given up); what the broker publishes on the subscriptions goes to `incoming`.
/// When `outgoing` closes and all its items are through, [`Options::on_stop`] is published
/// and the client disconnects (while no broker is connected, it just ends).
pub async fn run<T>(
    o: Options,
    mut outgoing: mpsc::Receiver<T>,
    publication: impl Fn(T) -> Publication,
    incoming: Option<mpsc::Sender<(String, Vec<u8>)>>,
    done: impl Fn(),
) {
    // The broker is the operator's own: any address.
    let client = Client::new(AddrPolicy::any(), "the address policy").with_tls(o.tls.clone());
    let idle = match o.keep_alive_s {
        0 => Duration::from_secs(3600),
        s => Duration::from_secs(u64::from(s)),
    };
    let max_in_flight = o.max_in_flight.max(1);
    // Sent and not acknowledged (when the connection went: to send again first), oldest first.
    let mut unacked: VecDeque<(u16, Message)> = VecDeque::new();
    let mut next_id = 0u16;
    let mut fresh_id = |unacked: &VecDeque<(u16, Message)>| {
        next_id = next_id.checked_add(1).unwrap_or(1);
        while unacked.iter().any(|(id, _)| *id == next_id) {
            next_id = next_id.checked_add(1).unwrap_or(1);
        }
        next_id
    };
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        if outgoing.is_closed() && outgoing.is_empty() && unacked.is_empty() {
            return;
        }
        // Until the broker takes something, the next attempt waits longer (1, 2, 4, 8 s).
        delay = next_retry(delay);
        let stream = match connect(&client, &o).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!("{}: couldn't connect to {}: {err} (next try in {delay:?})", o.who, o.url);
                continue;
            }
        };
        tracing::info!("{} connected to {}", o.who, o.url);
        let (mut reader, mut writer) = tokio::io::split(stream);
        // The broker's packets, read apart (a read is not cut short by the other branches).
        let (from_tx, mut from_broker) = mpsc::channel(64);
        let reading = tokio::spawn(async move {
            while let Ok(p) = read_packet(&mut reader).await {
                if from_tx.send(p).await.is_err() {
                    break;
                }
            }
        });
        let mut went = None;
        if !o.subscribe.is_empty() {
            let id = fresh_id(&unacked);
            went = write(&mut writer, &subscribe_packet(&o.subscribe, id)).await.err();
        }
        if let (Some(hello), None) = (&o.on_connect, &went) {
            let hello = Publication { qos: 0, ..hello.clone() };
            went = write(&mut writer, &publish_packet(&hello, 0, false)).await.err();
        }
        // What was not acknowledged on the last connection goes first (DUP), with a try more.
        let mut resend: VecDeque<(u16, Message)> = std::mem::take(&mut unacked);
        // When the PINGRESP of the PINGREQ sent is due.
        let mut ping_due: Option<tokio::time::Instant> = None;
        let mut last_sent = tokio::time::Instant::now();
        while went.is_none() {
            if let Some((id, mut m)) = resend.pop_front() {
                m.tries += 1;
                if m.tries > MAX_TRIES {
                    tracing::warn!(
                        "{}: a message on {} was refused {MAX_TRIES} times; dropped",
                        o.who,
                        m.publication.topic
                    );
                    done();
                    continue;
                }
                went = write(&mut writer, &publish_packet(&m.publication, id, true)).await.err();
                (last_sent, m.sent) = (tokio::time::Instant::now(), tokio::time::Instant::now());
                if m.publication.qos == 0 && went.is_none() {
                    done();
                } else {
                    unacked.push_back((id, m));
                }
                continue;
            }
            let oldest_due = unacked.front().map(|(_, m)| m.sent + ANSWER);
            tokio::select! {
                // The broker's packets first: a PUBACK ready with its deadline counts.
                biased;
                packet = from_broker.recv() => match packet {
                    Some((first, body, cut)) if first >> 4 == packet::PUBLISH => {
                        let Some((topic, id, payload)) = parse_publish(first, &body) else {
                            went = Some("a malformed PUBLISH".into());
                            continue;
                        };
                        if let Some(id) = id {
                            went = write(&mut writer, &framed(packet::PUBACK << 4, &id.to_be_bytes())).await.err();
                        }
                        // Never waits: a stalled taker must not stop the pings and PUBACKs.
                        let taken = !cut && incoming.as_ref().is_none_or(|i| i.try_send((topic.clone(), payload)).is_ok());
                        if !taken {
                            tracing::warn!("{}: a message on {topic} not taken (over {MAX_PACKET} bytes, or too many waiting)", o.who);
                        }
                    }
                    Some((first, body, _)) => {
                        let p = (first, body);
                        if acknowledged(p, &mut unacked, &mut ping_due, &done, o.who) {
                            delay = Duration::ZERO;
                        }
                    }
                    None => went = Some("the connection closed".into()),
                },
                () = sleep_until_or_never(oldest_due) => went = Some(format!("no PUBACK within {ANSWER:?}")),
                () = sleep_until_or_never(ping_due) => went = Some(format!("no PINGRESP within {ANSWER:?}")),
                () = tokio::time::sleep_until(last_sent + idle), if ping_due.is_none() => {
                    went = write(&mut writer, &[packet::PINGREQ << 4, 0]).await.err();
                    last_sent = tokio::time::Instant::now();
                    ping_due = Some(last_sent + ANSWER);
                }
                item = outgoing.recv(), if unacked.len() < max_in_flight => {
                    let Some(item) = item else {
                        if let Some(bye) = &o.on_stop {
                            let bye = Publication { qos: 0, ..bye.clone() };
                            let _ = write(&mut writer, &publish_packet(&bye, 0, false)).await;
                        }
                        let _ = write(&mut writer, &[packet::DISCONNECT << 4, 0]).await;
                        reading.abort();
                        return;
                    };
                    let publication = publication(item);
                    let id = fresh_id(&unacked);
                    went = write(&mut writer, &publish_packet(&publication, id, false)).await.err();
                    last_sent = tokio::time::Instant::now();
                    let qos = publication.qos;
                    let m = Message { publication, tries: 1, sent: last_sent };
                    if qos == 0 && went.is_none() {
                        done();
                        delay = Duration::ZERO;
                    } else {
                        unacked.push_back((id, m));
                    }
                }
            }
        }
        // PUBACKs that came before the end still count.
        while let Ok((first, body, _)) = from_broker.try_recv() {
            acknowledged((first, body), &mut unacked, &mut ping_due, &done, o.who);
        }
        reading.abort();
        if let Some(err) = went {
            tracing::warn!("{}: {} went away ({err})", o.who, o.url);
        }
        unacked.extend(resend);
        // The next connection waits a second at least.
        delay = delay.max(Duration::from_secs(1));
    }
}

/// Takes a packet from the broker: a PUBACK acknowledges its message (true), a PINGRESP its
/// ping; a SUBACK's refusals are logged.
fn acknowledged(
    (first, body): (u8, Vec<u8>),
    unacked: &mut VecDeque<(u16, Message)>,
    ping_due: &mut Option<tokio::time::Instant>,
    done: &impl Fn(),
    who: &str,
) -> bool {
    match first >> 4 {
        packet::PUBACK => {
            let id = body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let Some(at) = unacked.iter().position(|(i, _)| Some(*i) == id) else { return false };
            unacked.remove(at);
            done();
            true
        }
        packet::PINGRESP => {
            *ping_due = None;
            false
        }
        packet::SUBACK => {
            if body.get(2..).is_some_and(|codes| codes.contains(&0x80)) {
                tracing::warn!("{who}: the broker refused a subscription");
            }
            true
        }
        _ => false,
    }
}

/// What a broker sends, read packet by packet as the client takes it (the fuzz target's entry:
/// whatever comes, nothing panics).
pub fn take_from_broker(data: &[u8]) {
    use futures_util::FutureExt;
    let mut stream = data;
    let (mut unacked, mut ping_due) = (VecDeque::new(), None);
    // Reading from bytes in memory never waits.
    while let Some(Ok((first, body, _))) = read_packet(&mut stream).now_or_never() {
        match first >> 4 {
            packet::PUBLISH => {
                let _ = parse_publish(first, &body);
            }
            _ => {
                acknowledged((first, body), &mut unacked, &mut ping_due, &|| {}, "fuzz");
            }
        }
    }
}

/// Sleeps until `at`, or for ever.
async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> Options {
        Options {
            url: "tcp://127.0.0.1:1883".into(),
            broker: broker("tcp://127.0.0.1:1883").unwrap(),
            tls: None,
            client_id: "janus".into(),
            username: Some("u".into()),
            password: Some("p".into()),
            keep_alive_s: 30,
            clean_session: true,
            will: Some(Publication { topic: "s".into(), payload: b"down".to_vec(), qos: 0, retain: true }),
            on_connect: None,
            on_stop: None,
            subscribe: Vec::new(),
            max_in_flight: 10,
            who: "test",
        }
    }

    #[test]
    fn packets_are_mqtt_3_1_1() {
        let c = connect_packet(&options());
        assert_eq!(c[0], 0x10);
        assert_eq!(usize::from(c[1]), c.len() - 2);
        assert_eq!(&c[2..9], b"\0\x04MQTT\x04");
        // user, password, will retain, will, clean session.
        assert_eq!(c[9], 0x80 | 0x40 | 0x20 | 0x04 | 0x02);
        assert_eq!(&c[10..12], &30u16.to_be_bytes());
        assert!(c.ends_with(b"\0\x01u\0\x01p"));
        let p = Publication { topic: "t/x".into(), payload: b"{}".to_vec(), qos: 1, retain: false };
        assert_eq!(publish_packet(&p, 7, true), [0x3a, 9, 0, 3, b't', b'/', b'x', 0, 7, b'{', b'}']);
        // A remaining length past 127 takes two bytes.
        let long = framed(0x30, &[0; 200]);
        assert_eq!(&long[..3], &[0x30, 0xc8, 0x01]);
        assert_eq!(subscribe_packet(&[("a/#".into(), 2)], 3), [0x82, 8, 0, 3, 0, 3, b'a', b'/', b'#', 1]);
        assert!(broker("http://x").is_err());
    }

    #[test]
    fn publishes_from_the_broker_are_read_at_each_qos() {
        let at0 = [0, 1, b't', b'h', b'i'];
        assert_eq!(parse_publish(0x30, &at0), Some(("t".into(), None, b"hi".to_vec())));
        let at1 = [0, 1, b't', 0, 9, b'h', b'i'];
        assert_eq!(parse_publish(0x32, &at1), Some(("t".into(), Some(9), b"hi".to_vec())));
        for broken in [&[][..], &[0, 5, b't'], &[0, 1, b't', 0]] {
            assert_eq!(parse_publish(0x32, broken), None);
        }
    }

    /// A packet over the limit keeps its head (to acknowledge a PUBLISH) and is flagged; the
    /// next packet is read whole.
    #[tokio::test]
    async fn a_packet_over_the_limit_is_cut_and_the_next_one_read() {
        let big = Publication { topic: "t".into(), payload: vec![7; MAX_PACKET + 10], qos: 1, retain: false };
        let bytes = [publish_packet(&big, 9, false), vec![0xd0, 0]].concat();
        let mut from = bytes.as_slice();
        let (first, body, cut) = read_packet(&mut from).await.unwrap();
        assert!(cut && body.len() == MAX_PACKET);
        assert_eq!(parse_publish(first, &body).map(|p| (p.0, p.1)), Some(("t".into(), Some(9))));
        assert_eq!(read_packet(&mut from).await.unwrap(), (0xd0, Vec::new(), false));
    }

    #[test]
    fn topic_filters_match_as_mqtt_says() {
        for (filter, topic, yes) in [
            ("to-janus", "to-janus", true),
            ("to-janus", "to-janus/x", false),
            ("to-janus/#", "to-janus/x/y", true),
            ("to-janus/#", "to-janus", true),
            ("a/+/c", "a/b/c", true),
            ("a/+/c", "a/b/d", false),
            ("a/+", "a", false),
        ] {
            assert_eq!(matches(filter, topic), yes, "{filter} {topic}");
        }
    }
}

//! An MQTT client of our own (3.1, 3.1.1 and 5), shared by Janus's MQTT event handler and MQTT
//! transport: it connects (`tcp://` or `ssl://` URLs, user, password, keep-alive, clean session, will),
//! subscribes, publishes at QoS 0 or 1 (at 1 up to `max_in_flight` await their PUBACK at
//! once), hands on what the broker publishes to it (acknowledging QoS 1), pings when idle, and
//! connects again after 1, 2, 4, 8 s when the broker goes, publishing first what was not
//! acknowledged (DUP), each message at most 5 times. In MQTT 5 messages carry the properties
//! Janus's transport uses (response topic, correlation data, user properties), and what the
//! broker's CONNACK allows (receive maximum, maximum QoS, retain, keep-alive) is kept to.

mod packet;

use std::collections::VecDeque;
use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

use crate::events::next_retry;
use crate::http_client::{write_in_time as write, Backend, Client, Stream};
use crate::plugins::policy::AddrPolicy;
use packet::{Granted, CONNACK, DISCONNECT, PINGREQ, PINGRESP, PUBACK, PUBLISH, SUBACK};
pub use packet::{Properties, Publication, Version};

/// How many times one message is published before it is given up.
const MAX_TRIES: u32 = 5;
/// How long the broker may take to answer (CONNACK, PUBACK, PINGRESP).
const ANSWER: Duration = Duration::from_secs(10);
/// The longest packet taken from the broker.
const MAX_PACKET: usize = 1 << 20;

/// How to reach the broker and what to do once connected.
#[derive(Debug, Clone)]
pub struct Options {
    /// The broker's URL as configured (for the log).
    pub url: String,
    /// The broker's address (see [`broker`]).
    pub broker: Backend,
    /// TLS with a broker's files (see [`crate::tls`]; none: the system's trust).
    pub tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    /// The MQTT spoken.
    pub version: Version,
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

/// Whether `name` may be published to: a topic name (not a filter: no wildcards), not empty.
pub fn valid_topic(name: &str) -> bool {
    !name.is_empty() && name.len() <= usize::from(u16::MAX) && !name.contains(['+', '#', '\0'])
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

/// Connects and waits for the broker's CONNACK: the connection and what the broker allows.
async fn connect(client: &Client, o: &Options) -> Result<(Box<dyn Stream>, Granted), String> {
    let mut stream = client.stream(&o.broker).await?;
    write(&mut stream, &packet::connect_packet(o, MAX_PACKET)).await?;
    let answer = tokio::time::timeout(ANSWER, read_packet(&mut stream)).await;
    let (kind, body, _) = answer.map_err(|_| format!("no CONNACK within {ANSWER:?}"))??;
    match kind >> 4 {
        CONNACK => Ok((stream, packet::parse_connack(&body, o.version)?)),
        other => Err(format!("the broker answered CONNECT with packet type {other}")),
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
            if b & 0x80 == 0 {
                break;
            }
            if shift > 21 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "a remaining length of five bytes",
                ));
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
    incoming: Option<mpsc::Sender<Publication>>,
    done: impl Fn(),
) {
    let v = o.version;
    // The broker is the operator's own: any address.
    let client = Client::new(AddrPolicy::any(), "the address policy").with_tls(o.tls.clone());
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
        let (stream, granted) = match connect(&client, &o).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!("{}: couldn't connect to {}: {err} (next try in {delay:?})", o.who, o.url);
                continue;
            }
        };
        tracing::info!("{} connected to {}", o.who, o.url);
        let idle = match granted.keep_alive_s.unwrap_or(o.keep_alive_s) {
            0 => Duration::from_secs(3600),
            s => Duration::from_secs(u64::from(s)),
        };
        let max_in_flight = o.max_in_flight.min(granted.receive_maximum).max(1);
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
            went = write(&mut writer, &packet::subscribe_packet(&o.subscribe, id, v)).await.err();
        }
        if let (Some(hello), None) = (&o.on_connect, &went) {
            let hello = granted.fit(Publication { qos: 0, ..hello.clone() });
            went = write(&mut writer, &packet::publish_packet(&hello, 0, false, v)).await.err();
        }
        // What was not acknowledged on the last connection goes first (DUP), with a try more.
        let mut resend: VecDeque<(u16, Message)> = std::mem::take(&mut unacked);
        // When the PINGRESP of the PINGREQ sent is due.
        let mut ping_due: Option<tokio::time::Instant> = None;
        let mut last_sent = tokio::time::Instant::now();
        while went.is_none() {
            // (As many in flight as the broker takes: it may take fewer than the last one.)
            let room = unacked.len() < max_in_flight;
            if let Some((id, mut m)) = resend.pop_front_if(|_| room) {
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
                m.publication = granted.fit(m.publication);
                let bytes = packet::publish_packet(&m.publication, id, true, v);
                if !granted.takes(&bytes) {
                    too_big(o.who, &m.publication, &done);
                    continue;
                }
                went = write(&mut writer, &bytes).await.err();
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
                from = from_broker.recv() => match from {
                    Some((first, body, cut)) if first >> 4 == PUBLISH => {
                        let Some((id, message)) = packet::parse_publish(first, &body, v) else {
                            went = Some("a malformed PUBLISH".into());
                            continue;
                        };
                        if let Some(id) = id {
                            went = write(&mut writer, &packet::framed(PUBACK << 4, &id.to_be_bytes())).await.err();
                        }
                        // Never waits: a stalled taker must not stop the pings and PUBACKs.
                        let topic = message.topic.clone();
                        let taken = !cut && incoming.as_ref().is_none_or(|i| i.try_send(message).is_ok());
                        if !taken {
                            tracing::warn!("{}: a message on {topic} not taken (over {MAX_PACKET} bytes, or too many waiting)", o.who);
                        }
                    }
                    // An MQTT 5 broker says why it ends the connection.
                    Some((first, body, _)) if first >> 4 == DISCONNECT => went = Some(packet::disconnect_reason(&body)),
                    Some((first, body, _)) => {
                        if acknowledged((first, body), v, &mut unacked, &mut ping_due, &done, o.who) {
                            delay = Duration::ZERO;
                        }
                    }
                    None => went = Some("the connection closed".into()),
                },
                () = sleep_until_or_never(oldest_due) => went = Some(format!("no PUBACK within {ANSWER:?}")),
                () = sleep_until_or_never(ping_due) => went = Some(format!("no PINGRESP within {ANSWER:?}")),
                () = tokio::time::sleep_until(last_sent + idle), if ping_due.is_none() => {
                    went = write(&mut writer, &[PINGREQ << 4, 0]).await.err();
                    last_sent = tokio::time::Instant::now();
                    ping_due = Some(last_sent + ANSWER);
                }
                item = outgoing.recv(), if unacked.len() < max_in_flight && resend.is_empty() => {
                    let Some(item) = item else {
                        if let Some(bye) = &o.on_stop {
                            let bye = granted.fit(Publication { qos: 0, ..bye.clone() });
                            let _ = write(&mut writer, &packet::publish_packet(&bye, 0, false, v)).await;
                        }
                        let _ = write(&mut writer, &[DISCONNECT << 4, 0]).await;
                        reading.abort();
                        return;
                    };
                    let publication = granted.fit(publication(item));
                    let id = fresh_id(&unacked);
                    let bytes = packet::publish_packet(&publication, id, false, v);
                    if !granted.takes(&bytes) {
                        too_big(o.who, &publication, &done);
                        continue;
                    }
                    went = write(&mut writer, &bytes).await.err();
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
            acknowledged((first, body), v, &mut unacked, &mut ping_due, &done, o.who);
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

/// A message longer than the broker takes is dropped (sent, it would end the connection).
fn too_big(who: &str, p: &Publication, done: &impl Fn()) {
    tracing::warn!("{who}: a message on {} is longer than the broker takes; dropped", p.topic);
    done();
}

/// Takes a packet from the broker: a PUBACK acknowledges its message (true; an MQTT 5
/// broker's refusal is logged, and the message is not sent again), a PINGRESP its ping; a
/// SUBACK's refusals are logged.
fn acknowledged(
    (first, body): (u8, Vec<u8>),
    version: Version,
    unacked: &mut VecDeque<(u16, Message)>,
    ping_due: &mut Option<tokio::time::Instant>,
    done: &impl Fn(),
    who: &str,
) -> bool {
    match first >> 4 {
        PUBACK => {
            let Some((id, code)) = packet::parse_puback(&body) else { return false };
            let Some(at) = unacked.iter().position(|(i, _)| *i == id) else { return false };
            if let Some((_, m)) = unacked.remove(at) {
                if code >= 0x80 {
                    let why = packet::reason(code);
                    tracing::warn!("{who}: the broker refused a message on {}: {why}", m.publication.topic);
                }
            }
            done();
            true
        }
        PINGRESP => {
            *ping_due = None;
            false
        }
        SUBACK => {
            if packet::suback_refuses(&body, version) {
                tracing::warn!("{who}: the broker refused a subscription");
            }
            true
        }
        _ => false,
    }
}

/// What a broker sends, read packet by packet as the client takes it, in each version (the
/// fuzz target's entry: whatever comes, nothing panics).
pub fn take_from_broker(data: &[u8]) {
    use futures_util::FutureExt;
    for version in [Version::V3_1_1, Version::V5] {
        let mut stream = data;
        let (mut unacked, mut ping_due) = (VecDeque::new(), None);
        // Reading from bytes in memory never waits.
        while let Some(Ok((first, body, _))) = read_packet(&mut stream).now_or_never() {
            match first >> 4 {
                PUBLISH => {
                    let _ = packet::parse_publish(first, &body, version);
                }
                CONNACK => {
                    let _ = packet::parse_connack(&body, version);
                }
                DISCONNECT => {
                    let _ = packet::disconnect_reason(&body);
                }
                _ => {
                    acknowledged((first, body), version, &mut unacked, &mut ping_due, &|| {}, "fuzz");
                }
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

    /// A packet over the limit keeps its head (to acknowledge a PUBLISH) and is flagged; the
    /// next packet is read whole.
    #[tokio::test]
    async fn a_packet_over_the_limit_is_cut_and_the_next_one_read() {
        let big = Publication {
            topic: "t".into(),
            payload: vec![7; MAX_PACKET + 10],
            qos: 1,
            ..Default::default()
        };
        let bytes = [packet::publish_packet(&big, 9, false, Version::V3_1_1), vec![0xd0, 0]].concat();
        let mut from = bytes.as_slice();
        let (first, body, cut) = read_packet(&mut from).await.unwrap();
        assert!(cut && body.len() == MAX_PACKET);
        let (id, head) = packet::parse_publish(first, &body, Version::V3_1_1).unwrap();
        assert_eq!((id, head.topic.as_str()), (Some(9), "t"));
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

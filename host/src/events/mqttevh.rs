//! `janus.eventhandler.mqttevh`, Janus's MQTT event handler: each event is published to an
//! MQTT broker (`url`, `tcp://` or `ssl://`/`mqtts://`; MQTT 3.1.1) on `<topic>/<its type's
//! name>` (`addevent`, the default) or on `topic`, with Janus's `eventtype` added (topics,
//! payloads and status checked against Janus 1.1.2's through mosquitto), at `qos` 0 or 1 (at
//! 1 the broker's PUBACK is awaited) and `retain`. On connecting, `connect_status` is published
//! (retained as `will_retain`) on `<topic>/status`; with `will_enabled`, the broker publishes
//! `disconnect_status` there when it loses the handler (Janus also publishes it when it stops;
//! this handler does not). When the broker cannot be
//! reached or goes away, the handler connects again after 1, 2, 4, 8 s; the events wait in its
//! queue, and those not acknowledged go again (at most 5 times each). At QoS 1, up to 10
//! messages await their PUBACK at once (Janus's `max_inflight`). Idle, it pings every `keep_alive_interval`.
//! Admin `query_eventhandler` with `{"request": "tweak", "events": …}` changes the events.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::Kind;
use crate::config::events::MqttEvh;
use crate::http_client::{Backend, Client, Stream};
use crate::plugins::policy::AddrPolicy;

/// How many times one event is published before it is given up.
const MAX_TRIES: u32 = 5;
/// How many QoS 1 messages await their PUBACK at most (Janus's `max_inflight` default).
const MAX_IN_FLIGHT: usize = 10;
/// How long the broker may take to answer (CONNACK, PUBACK, PINGRESP).
const ANSWER: Duration = Duration::from_secs(10);

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    evh: MqttEvh,
    backend: Backend,
}

impl Shared {
    /// The handler's settings from its file; an error for a wrong `url`.
    pub fn new(evh: &MqttEvh) -> Result<Self, String> {
        let (scheme, default_port, rest) = match evh.url.split_once("://") {
            Some(("tcp" | "mqtt", rest)) => ("http", 1883, rest),
            Some(("ssl" | "mqtts" | "tls", rest)) => ("https", 8883, rest),
            _ => return Err(format!("url: '{}' is not a tcp:// or ssl:// URL", evh.url)),
        };
        // MQTT's ports when the URL names none.
        let authority = rest.split('/').next().unwrap_or_default();
        let has_port =
            authority.rsplit_once(':').is_some_and(|(host, _)| !host.starts_with('[') || host.ends_with(']'));
        let as_http = match has_port {
            true => format!("{scheme}://{rest}"),
            false => format!("{scheme}://{authority}:{default_port}"),
        };
        let backend = Backend::parse(&as_http).map_err(|e| format!("url: {e}"))?;
        if evh.client_id.len() > usize::from(u16::MAX) || evh.topic.len() > 60_000 {
            return Err("client_id or topic too long".into());
        }
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("mqttevh events: unknown event types {unknown:?} left out");
        }
        Ok(Self { mask: Arc::new(AtomicU32::new(mask)), evh: evh.clone(), backend })
    }

    /// Answers admin `query_eventhandler` (`tweak` with `events`, as Janus).
    pub fn query(&self, request: Option<&Value>) -> Value {
        super::tweak(request, &self.mask, |_| Ok(()))
    }

    /// The topic of `<topic>/status`.
    fn status_topic(&self) -> String {
        format!("{}/status", self.evh.topic)
    }
}

/// MQTT's control packet types (the fixed header's high nibble).
mod packet {
    pub const CONNECT: u8 = 1;
    pub const CONNACK: u8 = 2;
    pub const PUBLISH: u8 = 3;
    pub const PUBACK: u8 = 4;
    pub const PINGREQ: u8 = 12;
    pub const PINGRESP: u8 = 13;
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
fn connect_packet(shared: &Shared) -> Vec<u8> {
    let e = &shared.evh;
    let mut flags = 0u8;
    if e.clean_session {
        flags |= 0x02;
    }
    if e.will {
        flags |= 0x04 | (e.will_qos << 3);
        if e.will_retain {
            flags |= 0x20;
        }
    }
    if e.username.is_some() {
        flags |= 0x80;
        if e.password.is_some() {
            flags |= 0x40;
        }
    }
    let mut body = Vec::new();
    put_str(&mut body, b"MQTT");
    body.push(4);
    body.push(flags);
    body.extend_from_slice(&e.keep_alive_s.to_be_bytes());
    put_str(&mut body, e.client_id.as_bytes());
    if e.will {
        put_str(&mut body, shared.status_topic().as_bytes());
        put_str(&mut body, e.disconnect_status.as_bytes());
    }
    if let Some(user) = &e.username {
        put_str(&mut body, user.as_bytes());
        if let Some(password) = &e.password {
            put_str(&mut body, password.as_bytes());
        }
    }
    framed(packet::CONNECT << 4, &body)
}

/// PUBLISH of `payload` on `topic` (packet `id` at QoS 1).
fn publish_packet(topic: &str, payload: &[u8], qos: u8, retain: bool, id: u16, dup: bool) -> Vec<u8> {
    let mut body = Vec::with_capacity(topic.len() + payload.len() + 4);
    put_str(&mut body, topic.as_bytes());
    if qos > 0 {
        body.extend_from_slice(&id.to_be_bytes());
    }
    body.extend_from_slice(payload);
    // (DUP only at QoS 1: MQTT-3.3.1-2.)
    let first = packet::PUBLISH << 4 | u8::from(dup && qos > 0) << 3 | qos << 1 | u8::from(retain);
    framed(first, &body)
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
async fn connect(client: &Client, shared: &Shared) -> Result<Box<dyn Stream>, String> {
    let mut stream = client.stream(&shared.backend).await?;
    write(&mut stream, &connect_packet(shared)).await?;
    let answer = tokio::time::timeout(ANSWER, read_packet(&mut stream)).await;
    let (kind, body) = answer.map_err(|_| format!("no CONNACK within {ANSWER:?}"))??;
    match (kind >> 4, body.as_slice()) {
        (packet::CONNACK, [_, 0]) => Ok(stream),
        (packet::CONNACK, [_, code]) => Err(format!("the broker refused: {}", refusal(*code))),
        _ => Err(format!("the broker answered CONNECT with packet type {}", kind >> 4)),
    }
}

/// Writes a packet (within [`ANSWER`]: a stalled connection is a lost one).
async fn write(stream: &mut (impl tokio::io::AsyncWrite + Unpin), bytes: &[u8]) -> Result<(), String> {
    let written = async {
        stream.write_all(bytes).await?;
        stream.flush().await
    };
    match tokio::time::timeout(ANSWER, written).await {
        Ok(r) => r.map_err(|e| e.to_string()),
        Err(_) => Err(format!("not written within {ANSWER:?}")),
    }
}

/// The next packet from the broker: its first byte and its body.
async fn read_packet(stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> Result<(u8, Vec<u8>), String> {
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
        if len > 1 << 20 {
            return Err(std::io::Error::other(format!("a packet of {len} bytes from the broker")));
        }
        let mut body = vec![0; len];
        stream.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>((first, body))
    };
    read.await.map_err(|e| e.to_string())
}

/// A message to publish: its topic, its payload, how many times and when last it was sent.
struct Message {
    topic: String,
    payload: Vec<u8>,
    tries: u32,
    sent: tokio::time::Instant,
}

/// The handler's task: connects, publishes the events as they come (at QoS 1, up to
/// [`MAX_IN_FLIGHT`] awaiting their PUBACK), connects again when the broker goes. `pending`
/// counts the events not yet published.
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    // The broker is the operator's own: any address.
    let client = Client::new(AddrPolicy::any(), "the address policy");
    let e = &shared.evh;
    let idle = match e.keep_alive_s {
        0 => Duration::from_secs(3600),
        s => Duration::from_secs(u64::from(s)),
    };
    // Sent and not acknowledged (when the connection went: to send again first), oldest first.
    let mut unacked: VecDeque<(u16, Message)> = VecDeque::new();
    let mut next_id = 0u16;
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        // Until a publish succeeds, the next attempt waits longer (1, 2, 4, 8 s).
        delay = super::next_retry(delay);
        let stream = match connect(&client, &shared).await {
            Ok(s) => s,
            Err(err) => {
                tracing::warn!("event handler: couldn't connect to {}: {err} (next try in {delay:?})", e.url);
                continue;
            }
        };
        tracing::info!("event handler connected to {}", e.url);
        let (mut reader, mut writer) = tokio::io::split(stream);
        // The broker's packets, read apart (a read is not cut short by the other branches).
        let (acks_tx, mut acks) = mpsc::channel(64);
        let reading = tokio::spawn(async move {
            while let Ok(p) = read_packet(&mut reader).await {
                if acks_tx.send(p).await.is_err() {
                    break;
                }
            }
        });
        let status =
            publish_packet(&shared.status_topic(), e.connect_status.as_bytes(), 0, e.will_retain, 0, false);
        let went = write(&mut writer, &status).await.err();
        // What was not acknowledged on the last connection goes first (DUP), with a try more.
        let mut resend: VecDeque<(u16, Message)> = std::mem::take(&mut unacked);
        // When the PINGRESP of the PINGREQ sent is due.
        let mut ping_due: Option<tokio::time::Instant> = None;
        let mut last_sent = tokio::time::Instant::now();
        let mut went = went;
        while went.is_none() {
            if let Some((id, mut m)) = resend.pop_front() {
                m.tries += 1;
                if m.tries > MAX_TRIES {
                    tracing::warn!(
                        "event handler: an event on {} was refused {MAX_TRIES} times; dropped",
                        m.topic
                    );
                    pending.fetch_sub(1, Ordering::Relaxed);
                    continue;
                }
                went = write(&mut writer, &publish_packet(&m.topic, &m.payload, e.qos, e.retain, id, true))
                    .await
                    .err();
                (last_sent, m.sent) = (tokio::time::Instant::now(), tokio::time::Instant::now());
                if e.qos == 0 && went.is_none() {
                    pending.fetch_sub(1, Ordering::Relaxed);
                } else {
                    unacked.push_back((id, m));
                }
                continue;
            }
            let oldest_due = unacked.front().map(|(_, m)| m.sent + ANSWER);
            tokio::select! {
                // The broker's answers first: a PUBACK ready with its deadline counts.
                biased;
                packet = acks.recv() => match packet {
                    Some(p) => {
                        if acknowledged(p, &mut unacked, &mut ping_due, &pending) {
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
                event = queue.recv(), if unacked.len() < MAX_IN_FLIGHT => {
                    let Some(event) = event else {
                        reading.abort();
                        return;
                    };
                    let (topic, payload) = message(&shared, event);
                    // A packet id no message awaiting its PUBACK has.
                    next_id = next_id.checked_add(1).unwrap_or(1);
                    while unacked.iter().any(|(id, _)| *id == next_id) {
                        next_id = next_id.checked_add(1).unwrap_or(1);
                    }
                    went = write(&mut writer, &publish_packet(&topic, &payload, e.qos, e.retain, next_id, false)).await.err();
                    last_sent = tokio::time::Instant::now();
                    let m = Message { topic, payload, tries: 1, sent: last_sent };
                    if e.qos == 0 && went.is_none() {
                        pending.fetch_sub(1, Ordering::Relaxed);
                        delay = Duration::ZERO;
                    } else {
                        unacked.push_back((next_id, m));
                    }
                }
            }
        }
        // PUBACKs that came before the end still count.
        while let Ok(p) = acks.try_recv() {
            acknowledged(p, &mut unacked, &mut ping_due, &pending);
        }
        reading.abort();
        if let Some(err) = went {
            tracing::warn!("event handler: {} went away ({err})", e.url);
        }
        unacked.extend(resend);
        // The next connection waits a second at least.
        delay = delay.max(Duration::from_secs(1));
    }
}

/// Takes a packet from the broker: a PUBACK acknowledges its message (true), a PINGRESP its
/// ping.
fn acknowledged(
    (first, body): (u8, Vec<u8>),
    unacked: &mut VecDeque<(u16, Message)>,
    ping_due: &mut Option<tokio::time::Instant>,
    pending: &AtomicUsize,
) -> bool {
    match first >> 4 {
        packet::PUBACK => {
            let id = body.get(..2).map(|b| u16::from_be_bytes([b[0], b[1]]));
            let Some(at) = unacked.iter().position(|(i, _)| Some(*i) == id) else { return false };
            unacked.remove(at);
            pending.fetch_sub(1, Ordering::Relaxed);
            true
        }
        packet::PINGRESP => {
            *ping_due = None;
            false
        }
        _ => false,
    }
}

/// Sleeps until `at`, or for ever.
async fn sleep_until_or_never(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// An event's topic and payload, as Janus's handler publishes it (with `eventtype`).
fn message(shared: &Shared, mut event: Value) -> (String, Vec<u8>) {
    let kind = event["type"].as_u64().and_then(Kind::of_code);
    if let (Some(kind), Some(fields)) = (kind, event.as_object_mut()) {
        fields.insert("eventtype".into(), json!(kind.title()));
    }
    let topic = match kind {
        Some(kind) if shared.evh.add_event => format!("{}/{}", shared.evh.topic, kind.name()),
        _ => shared.evh.topic.clone(),
    };
    (topic, crate::transport::to_text(&event, shared.evh.json).into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JsonStyle;

    fn evh() -> MqttEvh {
        MqttEvh {
            url: "tcp://127.0.0.1:1883".into(),
            client_id: "janus".into(),
            username: Some("u".into()),
            password: Some("p".into()),
            keep_alive_s: 30,
            clean_session: true,
            topic: "/janus/events".into(),
            add_event: true,
            qos: 1,
            retain: false,
            connect_status: "up".into(),
            disconnect_status: "down".into(),
            will: true,
            will_retain: true,
            will_qos: 0,
            events: "all".into(),
            json: JsonStyle::Compact,
        }
    }

    #[test]
    fn packets_are_mqtt_3_1_1() {
        let shared = Shared::new(&evh()).unwrap();
        let c = connect_packet(&shared);
        assert_eq!(c[0], 0x10);
        assert_eq!(usize::from(c[1]), c.len() - 2);
        assert_eq!(&c[2..9], b"\0\x04MQTT\x04");
        // user, password, will retain, will, clean session.
        assert_eq!(c[9], 0x80 | 0x40 | 0x20 | 0x04 | 0x02);
        assert_eq!(&c[10..12], &30u16.to_be_bytes());
        assert!(c.ends_with(b"\0\x01u\0\x01p"));
        let p = publish_packet("t/x", b"{}", 1, false, 7, true);
        assert_eq!(p, [0x3a, 9, 0, 3, b't', b'/', b'x', 0, 7, b'{', b'}']);
        // A remaining length past 127 takes two bytes.
        let long = framed(0x30, &[0; 200]);
        assert_eq!(&long[..3], &[0x30, 0xc8, 0x01]);
        assert!(Shared::new(&MqttEvh { url: "http://x".into(), ..evh() }).is_err());
    }

    #[test]
    fn events_go_to_their_types_topic() {
        let shared = Shared::new(&evh()).unwrap();
        let (topic, payload) = message(&shared, json!({"type": 16, "event": {}}));
        assert_eq!(topic, "/janus/events/webrtc");
        let sent: Value = serde_json::from_slice(&payload).unwrap();
        assert_eq!(sent["eventtype"], "WebRTC");
        let flat = Shared::new(&MqttEvh { add_event: false, ..evh() }).unwrap();
        assert_eq!(message(&flat, json!({"type": 1})).0, "/janus/events");
    }
}

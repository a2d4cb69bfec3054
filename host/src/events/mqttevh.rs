//! `janus.eventhandler.mqttevh`, Janus's MQTT event handler: each event is published to an
//! MQTT broker (`url`, `tcp://` or `ssl://`/`mqtts://`; MQTT 3.1, 3.1.1 or 5, where each
//! message carries the `add_user_properties`) on `<topic>/<its type's
//! name>` (`addevent`, the default) or on `topic`, with Janus's `eventtype` added (topics,
//! payloads and status checked against Janus 1.1.2's through mosquitto), at `qos` 0 or 1 (at
//! 1 the broker's PUBACK is awaited) and `retain`. On connecting, `connect_status` is published
//! (retained as `will_retain`) on `<topic>/status`; with `will_enabled`, the broker publishes
//! `disconnect_status` there when it loses the handler; when the gateway stops, the handler
//! publishes it there itself (retained, as Janus's) and disconnects. When the broker cannot be
//! reached or goes away, the handler connects again after 1, 2, 4, 8 s; the events wait in its
//! queue, and those not acknowledged go again (at most 5 times each). At QoS 1, up to 10
//! messages await their PUBACK at once (Janus's `max_inflight`). Idle, it pings every `keep_alive_interval`.
//! Admin `query_eventhandler` with `{"request": "tweak", "events": …}` changes the events.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Value};
use tokio::sync::mpsc;

use super::Kind;
use crate::config::events::MqttEvh;
use crate::mqtt::{self, Properties, Publication};

/// How many QoS 1 messages await their PUBACK at most (Janus's `max_inflight` default).
const MAX_IN_FLIGHT: usize = 10;

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    evh: MqttEvh,
    options: mqtt::Options,
    /// Told when the gateway stops (see [`Shared::stop`]).
    stopping: tokio::sync::Notify,
}

impl Shared {
    /// The handler's settings from its file; an error for a wrong `url`.
    pub fn new(evh: &MqttEvh) -> Result<Self, String> {
        let broker = mqtt::broker(&evh.url)?;
        let tls = evh.tls.as_ref().map(crate::tls::client_config).transpose()?;
        if evh.client_id.len() > usize::from(u16::MAX) || evh.topic.len() > 60_000 {
            return Err("client_id or topic too long".into());
        }
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("mqttevh events: unknown event types {unknown:?} left out");
        }
        let status = |payload: &str| Publication {
            topic: format!("{}/status", evh.topic),
            payload: payload.as_bytes().to_vec(),
            qos: evh.will_qos,
            retain: evh.will_retain,
            properties: properties(evh),
        };
        let options = mqtt::Options {
            url: evh.url.clone(),
            broker,
            tls,
            version: evh.version,
            client_id: evh.client_id.clone(),
            username: evh.username.clone(),
            password: evh.password.clone(),
            keep_alive_s: evh.keep_alive_s,
            clean_session: evh.clean_session,
            // (The broker publishes the will as it is: without properties, as Janus's.)
            will: evh
                .will
                .then(|| Publication { properties: Properties::default(), ..status(&evh.disconnect_status) }),
            on_connect: Some(status(&evh.connect_status)),
            // Retained whatever `will_retain` says, as Janus's.
            on_stop: Some(Publication { retain: true, ..status(&evh.disconnect_status) }),
            subscribe: Vec::new(),
            max_in_flight: MAX_IN_FLIGHT,
            who: "event handler",
        };
        let stopping = tokio::sync::Notify::new();
        Ok(Self { mask: Arc::new(AtomicU32::new(mask)), evh: evh.clone(), options, stopping })
    }

    /// Answers admin `query_eventhandler` (`tweak` with `events`, as Janus).
    pub fn query(&self, request: Option<&Value>) -> Value {
        super::tweak(request, &self.mask, |_| Ok(()))
    }

    /// The gateway stops (its events were sent): the handler says `disconnect_status`,
    /// disconnects and its task ends.
    pub fn stop(&self) {
        self.stopping.notify_one();
    }
}

/// The handler's task: publishes the events as they come, through [`mqtt::run`], until
/// [`Shared::stop`]. `pending` counts the events not yet published.
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    let done = || {
        pending.fetch_sub(1, Ordering::Relaxed);
    };
    // The events pass through a queue of the client's own, closed at the stop: the client
    // then says goodbye.
    let (events, outgoing) = mpsc::channel(1);
    let stopping = shared.clone();
    let relay = async move {
        loop {
            tokio::select! {
                biased;
                event = queue.recv() => {
                    let Some(event) = event else { break };
                    if events.send(event).await.is_err() {
                        break;
                    }
                }
                () = stopping.stopping.notified() => break,
            }
        }
        drop(events);
    };
    let client = mqtt::run(shared.options.clone(), outgoing, |event| message(&shared, event), None, done);
    tokio::join!(relay, client);
}

/// An event as Janus's handler publishes it (with `eventtype`, on its type's topic).
fn message(shared: &Shared, mut event: Value) -> Publication {
    let kind = event["type"].as_u64().and_then(Kind::of_code);
    if let (Some(kind), Some(fields)) = (kind, event.as_object_mut()) {
        fields.insert("eventtype".into(), json!(kind.title()));
    }
    let topic = match kind {
        Some(kind) if shared.evh.add_event => format!("{}/{}", shared.evh.topic, kind.name()),
        _ => shared.evh.topic.clone(),
    };
    let payload = crate::transport::to_text(&event, shared.evh.json).into_bytes();
    let properties = properties(&shared.evh);
    Publication { topic, payload, qos: shared.evh.qos, retain: shared.evh.retain, properties }
}

/// What each message carries in MQTT 5: the `add_user_properties`.
fn properties(evh: &MqttEvh) -> Properties {
    Properties { user: evh.add_user_properties.clone(), ..Properties::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::JsonStyle;

    fn evh() -> MqttEvh {
        MqttEvh {
            url: "tcp://127.0.0.1:1883".into(),
            version: mqtt::Version::V3_1_1,
            add_user_properties: Vec::new(),
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
            tls: None,
        }
    }

    #[test]
    fn the_will_and_the_status_are_on_the_status_topic() {
        let shared = Shared::new(&evh()).unwrap();
        let o = &shared.options;
        let status = |payload: &[u8]| Publication {
            topic: "/janus/events/status".into(),
            payload: payload.to_vec(),
            qos: 0,
            retain: true,
            properties: Properties::default(),
        };
        assert_eq!((o.will.clone(), o.on_connect.clone()), (Some(status(b"down")), Some(status(b"up"))));
        // The goodbye at a stop is retained whatever `will_retain` says.
        let unretained = Shared::new(&MqttEvh { will_retain: false, ..evh() }).unwrap();
        assert_eq!(unretained.options.on_stop, Some(status(b"down")));
        assert!(Shared::new(&MqttEvh { url: "http://x".into(), ..evh() }).is_err());
    }

    #[test]
    fn events_go_to_their_types_topic() {
        let shared = Shared::new(&evh()).unwrap();
        let p = message(&shared, json!({"type": 16, "event": {}}));
        assert_eq!((p.topic.as_str(), p.qos), ("/janus/events/webrtc", 1));
        let sent: Value = serde_json::from_slice(&p.payload).unwrap();
        assert_eq!(sent["eventtype"], "WebRTC");
        let flat = Shared::new(&MqttEvh { add_event: false, ..evh() }).unwrap();
        assert_eq!(message(&flat, json!({"type": 1})).topic, "/janus/events");
    }
}

//! The MQTT transport (Janus's `janus.transport.mqtt`, MQTT 3.1, 3.1.1 or 5): the gateway is a
//! client of the operator's broker; requests published on an API's `subscribe_topic` are
//! answered, and the events of the sessions they made are published, on its `publish_topic`
//! (in MQTT 5 the Janus API's answers go where their request asks: [`mqtt_answers`]). As in
//! Janus, each API is one client of the core (one transport session): every session made over
//! MQTT has its events on the one publish topic. With `status` enabled, `connect_message` is
//! published on each connection and `disconnect_message` is the will.

use std::sync::Arc;
use std::time::Instant;

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::mqtt_answers::{self, Answers};
use super::state::TransportState;
use super::Api;
use crate::api::Core;
use crate::config::Mqtt;
use crate::mqtt::{self, Properties, Publication, Version};

/// Replies and events waiting for the broker; beyond this (the broker away long) they are
/// dropped.
const OUTGOING: usize = 4096;
/// Requests of one API waiting for the core.
const INCOMING: usize = 256;

/// One API's traffic as a message connection: requests from its subscription, replies and
/// events to its publish topic (or, in MQTT 5, where their request asked).
struct Topics {
    from: mpsc::Receiver<Publication>,
    to: mpsc::Sender<Publication>,
    topic: String,
    qos: u8,
    answers: Option<Answers>,
}

impl Messages for Topics {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        let request = self.from.recv().await?;
        if let Some(answers) = &mut self.answers {
            answers.request(Instant::now(), &request.payload, request.properties);
        }
        Some(request.payload)
    }

    async fn send(&mut self, text: String) -> bool {
        let routing = self.answers.as_mut().and_then(|a| a.answer(Instant::now(), &text));
        let (topic, properties) = match routing {
            Some(mqtt_answers::Routing { topic, properties }) => (topic, properties),
            None => (None, Properties::default()),
        };
        let p = Publication {
            topic: topic.unwrap_or_else(|| self.topic.clone()),
            payload: text.into_bytes(),
            qos: self.qos,
            retain: false,
            properties,
        };
        let what = format_args!("MQTT transport (the broker, to {})", self.topic);
        messages::hand_on(&self.to, p, what)
    }
}

/// Runs the transport until `stop` is notified: then no request is taken any more, each API
/// ends as a connection that closed (what it had not answered or handed on yet is dropped),
/// the client publishes what it was handed, then the status's `disconnect_message`, and
/// disconnects (the broker drops the will), as Janus's does; the task ends.
pub async fn serve(config: Mqtt, core: Core, state: Arc<TransportState>, stop: Arc<tokio::sync::Notify>) {
    let tls = config.tls.as_ref().map(crate::tls::client_config).transpose();
    let (broker, tls) = match mqtt::broker(&config.url).and_then(|b| Ok((b, tls?))) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("MQTT transport: {e}; not started");
            return;
        }
    };
    let (to_broker, outgoing) = mpsc::channel::<Publication>(OUTGOING);
    let (incoming_tx, mut incoming) = mpsc::channel::<Publication>(INCOMING);
    let (mut routes, mut apis, mut subscribe) = (Vec::new(), Vec::new(), Vec::new());
    for (api, topics) in [(Api::Janus, &config.api), (Api::Admin, &config.admin)] {
        let Some(t) = topics else { continue };
        let (tx, rx) = mpsc::channel(INCOMING);
        routes.push((t.subscribe.clone(), tx));
        subscribe.push((t.subscribe.clone(), t.subscribe_qos));
        // MQTT 5's answers are the Janus API's only, as in Janus.
        let answers = (config.version == Version::V5 && api == Api::Janus).then(|| Answers::new(&config));
        let socket =
            Topics { from: rx, to: to_broker.clone(), topic: t.publish.clone(), qos: t.publish_qos, answers };
        apis.push(messages::serve(
            socket,
            messages::next_connection_id(),
            core.clone(),
            api,
            state.clone(),
            None,
        ));
    }
    drop(to_broker);
    let status = |message: &Option<String>, s: &crate::config::MqttStatus| {
        message.as_ref().map(|m| Publication {
            topic: s.topic.clone(),
            payload: m.clone().into_bytes(),
            qos: s.qos,
            retain: s.retain,
            properties: Properties::default(),
        })
    };
    let options = mqtt::Options {
        url: config.url.clone(),
        broker,
        tls,
        version: config.version,
        client_id: config.client_id.clone(),
        username: Some(config.username.clone()),
        password: Some(config.password.clone()),
        keep_alive_s: config.keep_alive_s,
        clean_session: config.clean_session,
        will: config.status.as_ref().and_then(|s| status(&s.disconnect_message, s)),
        on_connect: config.status.as_ref().and_then(|s| status(&s.connect_message, s)),
        on_stop: config.status.as_ref().and_then(|s| status(&s.disconnect_message, s)),
        subscribe,
        max_in_flight: config.max_inflight,
        who: "MQTT transport",
    };
    let client = mqtt::run(options, outgoing, |p| p, Some(incoming_tx), || {});
    // Each request to the API whose subscription takes its topic, until the stop: the routes
    // go with this, so each API sees its requests end, ends, and drops its sender to the
    // client; once they are all gone the client says goodbye.
    let dispatch = async move {
        loop {
            let message = tokio::select! {
                message = incoming.recv() => message,
                () = stop.notified() => None,
            };
            let Some(message) = message else { break };
            match routes.iter().find(|(filter, _)| mqtt::matches(filter, &message.topic)) {
                Some((_, api)) => {
                    let _ = api.send(message).await;
                }
                None => tracing::debug!("MQTT transport: a message on {}, no API's", message.topic),
            }
        }
    };
    tokio::join!(client, dispatch, join_all(apis));
}

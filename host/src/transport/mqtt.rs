//! The MQTT transport (Janus's `janus.transport.mqtt`, MQTT 3.1.1): the gateway is a client of
//! the operator's broker; requests published on an API's `subscribe_topic` are answered, and
//! the events of the sessions they made are published, on its `publish_topic`. As in Janus,
//! each API is one client of the core (one transport session): every session made over MQTT
//! has its events on the one publish topic. With `status` enabled, `connect_message` is
//! published on each connection and `disconnect_message` is the will.

use std::sync::Arc;

use futures_util::future::join_all;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::state::TransportState;
use super::Api;
use crate::api::Core;
use crate::config::Mqtt;
use crate::mqtt::{self, Publication};

/// Replies and events waiting for the broker; beyond this (the broker away long) they are
/// dropped.
const OUTGOING: usize = 4096;
/// Requests of one API waiting for the core.
const INCOMING: usize = 256;

/// One API's traffic as a message connection: requests from its subscription, replies and
/// events to its publish topic.
struct Topics {
    from: mpsc::Receiver<Vec<u8>>,
    to: mpsc::Sender<Publication>,
    topic: String,
    qos: u8,
}

impl Messages for Topics {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        self.from.recv().await
    }

    async fn send(&mut self, text: String) -> bool {
        let p = Publication {
            topic: self.topic.clone(),
            payload: text.into_bytes(),
            qos: self.qos,
            retain: false,
        };
        messages::hand_on(&self.to, p, format_args!("MQTT transport (the broker, to {})", self.topic))
    }
}

/// Runs the transport until the task is dropped.
pub async fn serve(config: Mqtt, core: Core, state: Arc<TransportState>) {
    let tls = config.tls.as_ref().map(crate::tls::client_config).transpose();
    let (broker, tls) = match mqtt::broker(&config.url).and_then(|b| Ok((b, tls?))) {
        Ok(b) => b,
        Err(e) => {
            tracing::error!("MQTT transport: {e}; not started");
            return;
        }
    };
    let (to_broker, outgoing) = mpsc::channel::<Publication>(OUTGOING);
    let (incoming_tx, mut incoming) = mpsc::channel::<(String, Vec<u8>)>(INCOMING);
    let (mut routes, mut apis, mut subscribe) = (Vec::new(), Vec::new(), Vec::new());
    for (api, topics) in [(Api::Janus, &config.api), (Api::Admin, &config.admin)] {
        let Some(t) = topics else { continue };
        let (tx, rx) = mpsc::channel(INCOMING);
        routes.push((t.subscribe.clone(), tx));
        subscribe.push((t.subscribe.clone(), t.subscribe_qos));
        let socket = Topics { from: rx, to: to_broker.clone(), topic: t.publish.clone(), qos: t.publish_qos };
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
        })
    };
    let options = mqtt::Options {
        url: config.url.clone(),
        broker,
        tls,
        client_id: config.client_id.clone(),
        username: Some(config.username.clone()),
        password: Some(config.password.clone()),
        keep_alive_s: config.keep_alive_s,
        clean_session: config.clean_session,
        will: config.status.as_ref().and_then(|s| status(&s.disconnect_message, s)),
        on_connect: config.status.as_ref().and_then(|s| status(&s.connect_message, s)),
        // Its task ends with the gateway's: the will says it went.
        on_stop: None,
        subscribe,
        max_in_flight: config.max_inflight,
        who: "MQTT transport",
    };
    let client = mqtt::run(options, outgoing, |p| p, Some(incoming_tx), || {});
    // Each request to the API whose subscription takes its topic.
    let dispatch = async {
        while let Some((topic, payload)) = incoming.recv().await {
            match routes.iter().find(|(filter, _)| mqtt::matches(filter, &topic)) {
                Some((_, api)) => {
                    let _ = api.send(payload).await;
                }
                None => tracing::debug!("MQTT transport: a message on {topic}, no API's"),
            }
        }
    };
    tokio::join!(client, dispatch, join_all(apis));
}

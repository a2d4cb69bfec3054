//! The RabbitMQ transport (Janus's `janus.transport.rabbitmq`, AMQP 0-9-1): the gateway
//! consumes an API's incoming queue (`to_janus`, or `queue_name` bound to `janus_exchange` with
//! `to_janus` as its key) and publishes its replies and events with the routing key
//! `from_janus` (to `janus_exchange`, or the default exchange), as `application/json` with
//! `reply-to: Janus`; a reply carries the `correlation-id` of its request, as Janus's. As in
//! Janus each API is one client of the core (one transport session). When the broker goes, the
//! gateway connects again after 1, 2, 4, 8 s; replies and events wait meanwhile (4096 at most).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::state::TransportState;
use super::Api;
use crate::amqp::{self, Connection, Properties, QueueFlags};
use crate::api::Core;
use crate::config::{RabbitMq, RabbitMqQueues};

/// Replies and events waiting for the broker; beyond this they are dropped.
const OUTGOING: usize = 4096;
/// Requests of one API waiting for the core.
const INCOMING: usize = 256;
/// Requests whose correlation id waits for their reply, at most (per API).
const AWAITING: usize = 10_000;

/// A correlation id, as its request carried it (any bytes).
type CorrelationId = Vec<u8>;
/// A request from the broker: its body and correlation id.
type Request = (Vec<u8>, Option<CorrelationId>);
/// What goes to the broker: its routing key (the API's `from_janus`), the text and the
/// correlation id.
type Outgoing = (Arc<str>, String, Option<CorrelationId>);

/// One API's traffic as a message connection. A reply is known by its request's transaction:
/// the first message with that transaction after the request that is not an event carries
/// its correlation id (requests with the same transaction are answered in order).
struct Queues {
    /// Where its replies and events go (`from_janus`).
    reply_key: Arc<str>,
    from: mpsc::Receiver<Request>,
    to: mpsc::Sender<Outgoing>,
    awaiting: HashMap<String, VecDeque<CorrelationId>>,
}

/// A message's `janus` and `transaction`.
fn kind_and_transaction(json: &[u8]) -> (Option<String>, Option<String>) {
    let Ok(v) = serde_json::from_slice::<Value>(json) else { return (None, None) };
    let text = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
    (text("janus"), text("transaction"))
}

impl Queues {
    /// The correlation id of the request a message answers, if it answers one.
    fn correlation_of(&mut self, text: &str) -> Option<CorrelationId> {
        if self.awaiting.is_empty() {
            return None;
        }
        let (kind, transaction) = kind_and_transaction(text.as_bytes());
        // Events answer no request (Janus gives them no correlation id).
        if kind.as_deref() == Some("event") {
            return None;
        }
        let transaction = transaction?;
        let ids = self.awaiting.get_mut(&transaction)?;
        let id = ids.pop_front();
        if ids.is_empty() {
            self.awaiting.remove(&transaction);
        }
        id
    }
}

impl Messages for Queues {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        let (body, correlation) = self.from.recv().await?;
        if let (Some(id), (_, Some(t))) = (correlation, kind_and_transaction(&body)) {
            if self.awaiting.len() >= AWAITING {
                self.awaiting.clear();
            }
            self.awaiting.entry(t).or_default().push_back(id);
        }
        Some(body)
    }

    async fn send(&mut self, text: String) -> bool {
        let correlation = self.correlation_of(&text);
        messages::hand_on(
            &self.to,
            (self.reply_key.clone(), text, correlation),
            "RabbitMQ transport (the broker)",
        )
    }
}

/// Runs the transport until the task is dropped.
pub async fn serve(config: RabbitMq, core: Core, state: Arc<TransportState>) {
    let (to_broker, outgoing) = mpsc::channel::<Outgoing>(OUTGOING);
    let mut apis = Vec::new();
    let mut routes = Vec::new();
    for (api, queues) in [(Api::Janus, &config.api), (Api::Admin, &config.admin)] {
        let Some(q) = queues else { continue };
        let (tx, rx) = mpsc::channel(INCOMING);
        routes.push((api, q.clone(), tx));
        let reply_key = Arc::from(q.from_janus.as_str());
        let socket = Queues { reply_key, from: rx, to: to_broker.clone(), awaiting: HashMap::new() };
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
    let limit = core.general().max_request_size;
    tokio::join!(join_all(apis), broker_loop(&config, routes, outgoing, limit));
}

/// Our consumer tag for an API's incoming queue.
fn api_tag(api: Api) -> &'static str {
    match api {
        Api::Janus => "janus",
        Api::Admin => "admin",
    }
}

/// Connects, declares and consumes what the settings say, then carries requests in and replies
/// out over a connection kept by [`amqp::keep`].
async fn broker_loop(
    config: &RabbitMq,
    routes: Vec<(Api, RabbitMqQueues, mpsc::Sender<Request>)>,
    outgoing: mpsc::Receiver<Outgoing>,
    limit: usize,
) {
    let broker = &config.broker;
    let exchange = broker.exchange.as_deref().unwrap_or("");
    let set_up = |mut c: Connection<amqp::Stream>| {
        let routes = routes.clone();
        async move {
            let mut consumers = Vec::new();
            for (api, q, to_core) in routes {
                let flags =
                    QueueFlags { durable: q.durable, exclusive: q.exclusive, auto_delete: q.auto_delete };
                let incoming = match (&q.queue_name, &broker.exchange) {
                    (Some(name), Some(x)) => {
                        c.declare_queue_as(name, flags).await?;
                        if matches!(broker.exchange_type.as_str(), "topic" | "direct") {
                            c.bind_queue(name, x, &q.to_janus).await?;
                        }
                        name.clone()
                    }
                    _ => {
                        c.declare_queue_as(&q.to_janus, flags).await?;
                        q.to_janus.clone()
                    }
                };
                if q.declare_outgoing_queue {
                    c.declare_queue(&q.from_janus).await?;
                }
                consumers.push((incoming, api_tag(api), to_core));
            }
            // Consumed once everything is declared: deliveries may come at once, and an
            // answer awaited after that would skip them.
            for (queue, tag, _) in &consumers {
                c.consume(queue, tag).await?;
            }
            // Each request to the API whose queue it came from.
            let deliver = move |(consumer_tag, properties, body): amqp::Delivery| {
                let Some((_, _, to_core)) = consumers.iter().find(|(_, tag, _)| *tag == consumer_tag) else {
                    return;
                };
                if to_core.try_send((body, properties.correlation_id)).is_err() {
                    tracing::warn!("RabbitMQ transport: too many requests waiting; one dropped");
                }
            };
            Ok::<_, String>((c, deliver))
        }
    };
    let frames = |publisher: &amqp::Publisher, (key, text, correlation_id): Outgoing, _: &mut _| {
        let properties = Properties {
            content_type: Some("application/json".into()),
            correlation_id,
            reply_to: Some("Janus".into()),
        };
        (publisher.publish_with(exchange, &key, &properties, text.as_bytes()), 1)
    };
    amqp::keep("RabbitMQ transport", broker, set_up, outgoing, frames, |_| {}, limit).await;
}

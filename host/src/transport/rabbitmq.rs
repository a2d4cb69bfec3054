//! The RabbitMQ transport (Janus's `janus.transport.rabbitmq`, AMQP 0-9-1): the gateway
//! consumes an API's incoming queue (`to_janus`, or `queue_name` bound to `janus_exchange` with
//! `to_janus` as its key) and publishes its replies and events with the routing key
//! `from_janus` (to `janus_exchange`, or the default exchange), as `application/json` with
//! `reply-to: Janus`; a reply carries the `correlation-id` of its request, as Janus's. As in
//! Janus each API is one client of the core (one transport session). When the broker goes, the
//! gateway connects again after 1, 2, 4, 8 s; replies and events wait meanwhile (4096 at most).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::join_all;
use serde_json::Value;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::state::TransportState;
use super::Api;
use crate::amqp::{self, Deliveries, Incoming, Properties, QueueFlags};
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
/// What goes to the broker: for which API, the text and the correlation id.
type Outgoing = (Api, String, Option<CorrelationId>);

/// One API's traffic as a message connection. A reply is known by its request's transaction:
/// the first message with that transaction after the request that is not an event carries
/// its correlation id (requests with the same transaction are answered in order).
struct Queues {
    api: Api,
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
        messages::hand_on(&self.to, (self.api, text, correlation), "RabbitMQ transport (the broker)")
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
        let socket = Queues { api, from: rx, to: to_broker.clone(), awaiting: HashMap::new() };
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
/// out until the broker goes; and again.
async fn broker_loop(
    config: &RabbitMq,
    routes: Vec<(Api, RabbitMqQueues, mpsc::Sender<Request>)>,
    mut outgoing: mpsc::Receiver<Outgoing>,
    limit: usize,
) {
    let client = match amqp::client(&config.broker) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("RabbitMQ transport: {e}; not started");
            return;
        }
    };
    let broker = &config.broker;
    let exchange = broker.exchange.as_deref().unwrap_or("");
    let where_ = format!("{}:{}", broker.host, broker.port);
    // A message that could not be written.
    let mut unsent: Option<Vec<u8>> = None;
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay = crate::events::next_retry(delay);
        let opened = async {
            let mut c = amqp::connect(&client, broker).await?;
            let mut consumers = Vec::new();
            for (api, q, to_core) in &routes {
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
                consumers.push((incoming, api_tag(*api), to_core.clone()));
            }
            // Consumed once everything is declared: deliveries may come at once, and an
            // answer awaited after that would skip them.
            for (queue, tag, _) in &consumers {
                c.consume(queue, tag).await?;
            }
            let consumers: Vec<_> = consumers.into_iter().map(|(_, tag, to_core)| (tag, to_core)).collect();
            Ok::<_, String>((c, consumers))
        };
        let (connection, consumers) = match opened.await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!("RabbitMQ transport: couldn't set up {where_}: {e} (next try in {delay:?})");
                continue;
            }
        };
        tracing::info!("RabbitMQ transport connected to {where_}");
        let agreed = connection.heartbeat_s;
        let (stream, publisher) = connection.into_parts();
        let (mut reader, mut writer) = tokio::io::split(stream);
        // The broker's frames, read apart; the requests go to their API from there.
        let (closed_tx, mut closed) = mpsc::channel::<String>(1);
        let reading = tokio::spawn(async move {
            let mut deliveries = Deliveries::default();
            let why = loop {
                let frame = match amqp::read_frame_alive(&mut reader, agreed).await {
                    Ok(f) => f,
                    Err(e) => break e,
                };
                match deliveries.take(frame, limit) {
                    Incoming::Closed(why) => break format!("the broker closed: {why}"),
                    Incoming::Delivered { consumer_tag, properties, body } => {
                        let Some((_, to_core)) = consumers.iter().find(|(tag, _)| *tag == consumer_tag)
                        else {
                            continue;
                        };
                        if to_core.try_send((body, properties.correlation_id)).is_err() {
                            tracing::warn!("RabbitMQ transport: too many requests waiting; one dropped");
                        }
                    }
                    Incoming::Nothing => {}
                }
            };
            let _ = closed_tx.send(why).await;
        });
        let heartbeat = match agreed {
            0 => Duration::from_secs(3600),
            s => Duration::from_secs(u64::from(s)) / 2,
        };
        let mut last_sent = tokio::time::Instant::now();
        let went = loop {
            if let Some(bytes) = unsent.take() {
                if let Err(e) = amqp::write(&mut writer, &bytes).await {
                    unsent = Some(bytes);
                    break e;
                }
                last_sent = tokio::time::Instant::now();
                delay = Duration::ZERO;
                continue;
            }
            tokio::select! {
                why = closed.recv() => break why.unwrap_or_else(|| "the connection closed".into()),
                () = tokio::time::sleep_until(last_sent + heartbeat) => {
                    if let Err(e) = amqp::write(&mut writer, &publisher.heartbeat()).await {
                        break e;
                    }
                    last_sent = tokio::time::Instant::now();
                }
                out = outgoing.recv() => {
                    let Some((api, text, correlation_id)) = out else {
                        reading.abort();
                        return;
                    };
                    let Some((_, q, _)) = routes.iter().find(|(a, _, _)| *a == api) else { continue };
                    let properties = Properties {
                        content_type: Some("application/json".into()),
                        correlation_id,
                        reply_to: Some("Janus".into()),
                    };
                    unsent = Some(publisher.publish_with(exchange, &q.from_janus, &properties, text.as_bytes()));
                }
            }
        };
        reading.abort();
        tracing::warn!("RabbitMQ transport: {where_} went away ({went})");
        delay = delay.max(Duration::from_secs(1));
    }
}

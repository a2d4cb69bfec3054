//! `janus.eventhandler.rabbitmqevh`, Janus's RabbitMQ event handler: events are published to an
//! AMQP 0-9-1 broker (`host`, `port`, `username`, `password`, `vhost`; TLS with `ssl_enable`),
//! to `exchange` (declared of `exchange_type`, default fanout; none: the default exchange) with
//! `route_key`, as `application/json`, one a message or grouped in arrays of up to [`GROUP`]
//! (`grouping`, the default). `declare_outgoing_queue` (the default) declares a queue named as
//! the routing key. With `heartbeat`, the handler sends the broker heartbeats. When the broker
//! cannot be reached or goes away, the handler connects again after 1, 2, 4, 8 s; the events
//! wait in its queue meanwhile. Admin `query_eventhandler` with `{"request": "tweak", …}`
//! changes `events` and `grouping`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::Value;
use tokio::sync::mpsc;

use super::sampleevh::GROUP;
use super::Kind;
use crate::amqp::{self, Connection};
use crate::api::module_query as q;
use crate::config::events::RabbitMqEvh;

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    grouping: AtomicBool,
    evh: RabbitMqEvh,
}

impl Shared {
    /// The handler's settings from its file.
    pub fn new(evh: &RabbitMqEvh) -> Result<Self, String> {
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("rabbitmqevh events: unknown event types {unknown:?} left out");
        }
        Ok(Self {
            mask: Arc::new(AtomicU32::new(mask)),
            grouping: AtomicBool::new(evh.grouping),
            evh: evh.clone(),
        })
    }

    /// Answers admin `query_eventhandler` (`tweak` with `events` and `grouping`, as Janus).
    pub fn query(&self, request: Option<&Value>) -> Value {
        super::tweak(request, &self.mask, |request| {
            if let Some(grouping) = q::opt_bool(request, "grouping")? {
                self.grouping.store(grouping, Ordering::Relaxed);
            }
            Ok(())
        })
    }
}

/// The handler's task: publishes the events as they come over a connection kept by
/// [`amqp::keep`]. `pending` counts the events not yet published.
pub async fn run(shared: Arc<Shared>, queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    let e = &shared.evh;
    let exchange = e.broker.exchange.as_deref().unwrap_or("");
    // Declares the routing key's queue if asked; consumes nothing.
    let set_up = |mut c: Connection<amqp::Stream>| {
        let queue = e.declare_queue.then(|| e.route_key.clone());
        async move {
            if let Some(queue) = queue {
                c.declare_queue(&queue).await?;
            }
            Ok::<_, String>((c, |_: amqp::Delivery| {}))
        }
    };
    // An event, or with `grouping` those waiting too, in one message.
    let frames = |publisher: &amqp::Publisher, first: Value, queue: &mut mpsc::Receiver<Value>| {
        let grouping = shared.grouping.load(Ordering::Relaxed);
        let mut events = vec![first];
        while grouping && events.len() < GROUP {
            match queue.try_recv() {
                Ok(e) => events.push(e),
                Err(_) => break,
            }
        }
        let count = events.len();
        let body = if grouping { Value::Array(events) } else { events.remove(0) };
        let text = crate::transport::to_text(&body, e.json);
        (publisher.publish(exchange, &e.route_key, "application/json", text.as_bytes()), count)
    };
    let done = |count| {
        pending.fetch_sub(count, Ordering::Relaxed);
    };
    amqp::keep("RabbitMQ event handler", &e.broker, set_up, queue, frames, done, 0).await;
}

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
use std::time::Duration;

use serde_json::Value;
use tokio::sync::mpsc;

use super::sampleevh::GROUP;
use super::Kind;
use crate::amqp::{self, Connection, Incoming};
use crate::api::module_query as q;
use crate::config::events::RabbitMqEvh;
use crate::http_client::Client;

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

    /// Connects, logs in and declares what the settings ask.
    async fn connect(
        &self,
        client: &Client,
    ) -> Result<Connection<Box<dyn crate::http_client::Stream>>, String> {
        let mut c = amqp::connect(client, &self.evh.broker).await?;
        if self.evh.declare_queue {
            c.declare_queue(&self.evh.route_key).await?;
        }
        Ok(c)
    }
}

/// The handler's task: connects, publishes the events as they come, connects again when the
/// broker goes. `pending` counts the events not yet published.
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    let e = &shared.evh;
    let client = match amqp::client(&e.broker) {
        Ok(c) => c,
        Err(err) => {
            tracing::error!("RabbitMQ event handler: {err}; it publishes nothing");
            return;
        }
    };
    let where_ = format!("{}:{}", e.broker.host, e.broker.port);
    let exchange = e.broker.exchange.as_deref().unwrap_or("");
    // A message that could not be written, and how many events it holds.
    let mut unsent: Option<(Vec<u8>, usize)> = None;
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay = super::next_retry(delay);
        let connection = match shared.connect(&client).await {
            Ok(c) => c,
            Err(err) => {
                tracing::warn!(
                    "event handler: couldn't connect to RabbitMQ at {where_}: {err} (next try in {delay:?})"
                );
                continue;
            }
        };
        tracing::info!("event handler connected to RabbitMQ at {where_}");
        let agreed = connection.heartbeat_s;
        let heartbeat = match agreed {
            0 => Duration::from_secs(3600),
            s => Duration::from_secs(u64::from(s)) / 2,
        };
        let (stream, publisher) = connection.into_parts();
        let (mut reader, mut writer) = tokio::io::split(stream);
        // The broker's frames, read apart (a read is not cut short by the other branches).
        let (closed_tx, mut closed) = mpsc::channel::<String>(1);
        let reading = tokio::spawn(async move {
            let why = loop {
                match amqp::read_frame_alive(&mut reader, agreed).await {
                    Ok(f) => {
                        if let Incoming::Closed(why) = amqp::take(f) {
                            break format!("the broker closed: {why}");
                        }
                    }
                    Err(e) => break e,
                }
            };
            let _ = closed_tx.send(why).await;
        });
        let mut last_sent = tokio::time::Instant::now();
        let went = loop {
            if let Some((bytes, count)) = unsent.take() {
                if let Err(err) = amqp::write(&mut writer, &bytes).await {
                    unsent = Some((bytes, count));
                    break err;
                }
                last_sent = tokio::time::Instant::now();
                pending.fetch_sub(count, Ordering::Relaxed);
                delay = Duration::ZERO;
                continue;
            }
            tokio::select! {
                why = closed.recv() => break why.unwrap_or_else(|| "the connection closed".into()),
                () = tokio::time::sleep_until(last_sent + heartbeat) => {
                    if let Err(err) = amqp::write(&mut writer, &publisher.heartbeat()).await {
                        break err;
                    }
                    last_sent = tokio::time::Instant::now();
                }
                event = queue.recv() => {
                    let Some(first) = event else {
                        reading.abort();
                        return;
                    };
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
                    unsent = Some((publisher.publish(exchange, &e.route_key, "application/json", text.as_bytes()), count));
                }
            }
        };
        reading.abort();
        tracing::warn!("event handler: RabbitMQ at {where_} went away ({went})");
        delay = delay.max(Duration::from_secs(1));
    }
}

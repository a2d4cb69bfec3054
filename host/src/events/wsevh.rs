//! `janus.eventhandler.wsevh`, Janus's WebSockets event handler: events are sent as JSON text
//! messages to a WebSocket server (`backend`, `ws://` or `wss://`, with the `subprotocol` asked
//! for; checked against Janus 1.1.2's), grouped in arrays of up to [`GROUP`] (`grouping`, the
//! default) or one a message. When the server cannot be reached or goes away, the handler
//! connects again after 1 s, then 2, 4 and 8 (Janus's back-off) and keeps the events meanwhile: all of them (up to the handler's
//! queue), or only the newest `events_cap_on_reconnect`. A message the server did not take is
//! sent again on the next connection. Admin `query_eventhandler` with `{"request": "tweak", …}`
//! changes `events`, `grouping` and `events_cap_on_reconnect` while it runs.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;

use super::sampleevh::GROUP;
use super::Kind;
use crate::api::module_query as q;
use crate::config::events::WsEvh;
use crate::config::JsonStyle;
use crate::http_client::{Backend, Client};
use crate::plugins::policy::AddrPolicy;

/// The settings `tweak` changes.
#[derive(Debug, Clone, Copy)]
struct Settings {
    grouping: bool,
    cap: u32,
}

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    settings: Mutex<Settings>,
    /// The server's URL, its connection's address (as an `http[s]://` one) and the
    /// subprotocol.
    url: String,
    backend: Backend,
    subprotocol: String,
    json: JsonStyle,
}

impl Shared {
    /// The handler's settings from its file; an error for a wrong `backend`.
    pub fn new(evh: &WsEvh) -> Result<Self, String> {
        let url = evh.backend.trim().to_owned();
        let as_http = match url.split_once("://") {
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ws") => format!("http://{rest}"),
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case("wss") => format!("https://{rest}"),
            _ => return Err(format!("backend: '{url}' is not a ws:// or wss:// URL")),
        };
        let backend = Backend::parse(&as_http).map_err(|e| format!("backend: {e}"))?;
        HeaderValue::from_str(&evh.subprotocol).map_err(|_| format!("subprotocol: '{}'", evh.subprotocol))?;
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("wsevh events: unknown event types {unknown:?} left out");
        }
        Ok(Self {
            mask: Arc::new(AtomicU32::new(mask)),
            settings: Mutex::new(Settings { grouping: evh.grouping, cap: evh.events_cap_on_reconnect }),
            url,
            backend,
            subprotocol: evh.subprotocol.clone(),
            json: evh.json,
        })
    }

    fn settings(&self) -> Settings {
        *self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Answers admin `query_eventhandler` (`tweak` is the only request, as in Janus).
    pub fn query(&self, request: Option<&Value>) -> Value {
        super::tweak(request, &self.mask, |request| {
            let grouping = q::opt_bool(request, "grouping")?;
            let cap = q::opt_u64(request, "events_cap_on_reconnect")?;
            let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(grouping) = grouping {
                s.grouping = grouping;
            }
            if let Some(cap) = cap {
                s.cap = u32::try_from(cap).unwrap_or(u32::MAX);
            }
            Ok(())
        })
    }
}

/// The events taken off the queue and not sent yet, oldest first.
struct Held {
    events: VecDeque<Value>,
    /// Events dropped by the cap since the last connection.
    dropped: u64,
}

impl Held {
    /// Takes what the queue has (without waiting; at most the queue's size in all, so that
    /// memory stays bounded: the rest waits in the queue, which drops the newest when full);
    /// while the server is away, only the newest `cap` are kept (0: all).
    fn take_queued(&mut self, queue: &mut mpsc::Receiver<Value>, cap: u32, pending: &AtomicUsize) {
        while self.events.len() < super::QUEUE {
            match queue.try_recv() {
                Ok(event) => self.events.push_back(event),
                Err(_) => break,
            }
        }
        let cap = cap as usize;
        while cap > 0 && self.events.len() > cap {
            self.events.pop_front();
            pending.fetch_sub(1, Ordering::Relaxed);
            self.dropped += 1;
        }
    }

    /// The next message: one event, or up to [`GROUP`] in an array; with how many it holds.
    fn next_message(&mut self, grouping: bool, json: JsonStyle) -> Option<(String, usize)> {
        let first = self.events.pop_front()?;
        let body = if grouping {
            let mut group = vec![first];
            while group.len() < GROUP {
                match self.events.pop_front() {
                    Some(e) => group.push(e),
                    None => break,
                }
            }
            Value::Array(group)
        } else {
            first
        };
        let count = body.as_array().map_or(1, Vec::len);
        Some((crate::transport::to_text(&body, json), count))
    }
}

/// The handler's task: connects, sends the events as they come, connects again when the
/// server goes. `pending` counts the events not yet sent (or dropped).
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    // The server is the operator's own: any address.
    let client = Client::new(AddrPolicy::any(), "the address policy");
    let mut held = Held { events: VecDeque::new(), dropped: 0 };
    let mut unsent: Option<(String, usize)> = None;
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            // Meanwhile the events wait (capped).
            let until = tokio::time::Instant::now() + delay;
            loop {
                held.take_queued(&mut queue, shared.settings().cap, &pending);
                tokio::select! {
                    () = tokio::time::sleep_until(until) => break,
                    more = queue.recv(), if held.events.len() < super::QUEUE => match more {
                        Some(event) => held.events.push_back(event),
                        None if held.events.is_empty() && unsent.is_none() => return,
                        None => {
                            tokio::time::sleep_until(until).await;
                            break;
                        }
                    },
                }
            }
        }
        // Until a message goes, the next attempt waits longer (1, 2, 4, 8 s).
        delay = super::next_retry(delay);
        let ws = match connect(&client, &shared).await {
            Ok(ws) => ws,
            Err(e) => {
                tracing::warn!(
                    "event handler: couldn't connect to {}: {e} (next try in {delay:?})",
                    shared.url
                );
                continue;
            }
        };
        if held.dropped > 0 {
            tracing::info!("event handler: {} events lost while {} was away", held.dropped, shared.url);
            held.dropped = 0;
        }
        tracing::info!("event handler connected to {}", shared.url);
        let (mut sink, mut incoming) = ws.split();
        loop {
            let settings = shared.settings();
            held.take_queued(&mut queue, 0, &pending);
            let message = unsent.take().or_else(|| held.next_message(settings.grouping, shared.json));
            if let Some((text, count)) = message {
                if let Err(e) = sink.send(Message::text(text.clone())).await {
                    tracing::warn!("event handler: {} went away ({e})", shared.url);
                    unsent = Some((text, count));
                    break;
                }
                pending.fetch_sub(count, Ordering::Relaxed);
                delay = Duration::ZERO;
                continue;
            }
            // Nothing to send: wait for an event, or for the server to go.
            tokio::select! {
                more = queue.recv() => match more {
                    Some(event) => held.events.push_back(event),
                    None => return,
                },
                said = incoming.next() => match said {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => {
                        tracing::warn!("event handler: {} went away ({e})", shared.url);
                        break;
                    }
                    None => {
                        tracing::warn!("event handler: {} closed the connection", shared.url);
                        break;
                    }
                },
            }
        }
        // As Janus, a second at least before connecting again.
        delay = delay.max(Duration::from_secs(1));
    }
}

type Ws = tokio_tungstenite::WebSocketStream<Box<dyn crate::http_client::Stream>>;

/// A WebSocket to the server, with the subprotocol asked for.
async fn connect(client: &Client, shared: &Shared) -> Result<Ws, String> {
    use tokio_tungstenite::tungstenite::error::{Error, ProtocolError};
    match handshake(client, shared, true).await {
        // A server that takes the connection without naming the subprotocol (tungstenite
        // refuses that answer; libwebsockets, Janus's, goes on): asked again without it.
        Err(Failed::Ws(Error::Protocol(ProtocolError::SecWebSocketSubProtocolError(_)))) => {
            tracing::warn!("event handler: {} names no subprotocol; connecting without asking", shared.url);
            handshake(client, shared, false).await.map_err(|e| e.to_string())
        }
        other => other.map_err(|e| e.to_string()),
    }
}

/// Why a handshake failed: the connection, or the WebSocket's own.
enum Failed {
    Link(String),
    Ws(tokio_tungstenite::tungstenite::Error),
}

impl std::fmt::Display for Failed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failed::Link(e) => f.write_str(e),
            Failed::Ws(e) => e.fmt(f),
        }
    }
}

/// One WebSocket handshake, asking for the subprotocol when `ask`.
async fn handshake(client: &Client, shared: &Shared, ask: bool) -> Result<Ws, Failed> {
    let mut request = shared.url.as_str().into_client_request().map_err(Failed::Ws)?;
    if ask {
        let protocol = HeaderValue::from_str(&shared.subprotocol).map_err(|e| Failed::Link(e.to_string()))?;
        request.headers_mut().insert("sec-websocket-protocol", protocol);
    }
    let stream = client.stream(&shared.backend).await.map_err(Failed::Link)?;
    let connecting = tokio_tungstenite::client_async(request, stream);
    match tokio::time::timeout(super::sampleevh::POST_TIMEOUT, connecting).await {
        Ok(Ok((ws, _))) => Ok(ws),
        Ok(Err(e)) => Err(Failed::Ws(e)),
        Err(_) => Err(Failed::Link("no handshake within 10 s".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn backends_are_websocket_urls() {
        let evh = |backend: &str| WsEvh {
            backend: backend.into(),
            subprotocol: "janus-event-handlers".into(),
            events: "all".into(),
            grouping: true,
            json: JsonStyle::Compact,
            events_cap_on_reconnect: 0,
        };
        assert!(Shared::new(&evh("ws://127.0.0.1:8000/events")).is_ok());
        assert!(Shared::new(&evh("WSS://backend.example")).is_ok());
        for bad in ["http://127.0.0.1/", "127.0.0.1:80", "ws://", ""] {
            assert!(Shared::new(&evh(bad)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_cap_keeps_the_newest_events() {
        let (tx, mut rx) = mpsc::channel(10);
        let pending = AtomicUsize::new(5);
        for i in 0..5 {
            tx.try_send(json!(i)).unwrap();
        }
        let mut held = Held { events: VecDeque::new(), dropped: 0 };
        held.take_queued(&mut rx, 2, &pending);
        assert_eq!(held.events, [json!(3), json!(4)]);
        assert_eq!((held.dropped, pending.load(Ordering::Relaxed)), (3, 2));
        assert_eq!(held.next_message(true, JsonStyle::Compact), Some(("[3,4]".to_owned(), 2)));
        assert_eq!(held.next_message(true, JsonStyle::Compact), None);
    }
}

//! What a transport shares with the admin API's `query_transport`, answered as Janus's HTTP
//! and WebSockets transports answer it: `configure` changes the JSON style of the replies and
//! whether the transport tells the event handlers of its requests and connections (`events`);
//! `connections` counts the open connections.

use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;

use serde_json::{json, Map, Value};

use crate::api::module_query::{self as q, QueryResult};
use crate::api::TransportQuery;
use crate::config::JsonStyle;
use crate::events::{About, Events};

/// Which transport a [`TransportState`] is: their `connections` answers differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `janus.transport.http`: connections by listener, and the requests being served.
    Http,
    /// `janus.transport.websockets`: one count of connections.
    WebSockets,
    /// `janus.transport.pfunix`: one count of clients.
    UnixSockets,
    /// `janus.transport.mqtt`: no connections to count (Janus's answers `configure` only).
    Mqtt,
    /// `janus.transport.nanomsg`: likewise.
    Nanomsg,
    /// `janus.transport.rabbitmq`: likewise.
    RabbitMq,
}

/// One transport's live state.
#[derive(Debug)]
pub struct TransportState {
    kind: Kind,
    /// Whether the API and the admin listeners run.
    listeners: (bool, bool),
    style: AtomicU8,
    /// Open connections to the Janus API listener and to the admin listener.
    api: AtomicUsize,
    admin: AtomicUsize,
    /// Requests being served (HTTP), long polls included.
    requests: AtomicUsize,
    /// The event handlers, and whether this transport tells them of its requests and
    /// connections (Janus's default: it does).
    events: Events,
    notify: AtomicBool,
}

impl TransportState {
    /// A transport's state, replying in `style`, with its API and admin listeners running
    /// or not (`listeners`), telling `events` of its requests and connections or not (`notify`).
    pub fn new(kind: Kind, style: JsonStyle, listeners: (bool, bool), events: Events, notify: bool) -> Self {
        Self {
            kind,
            listeners,
            style: AtomicU8::new(style as u8),
            api: AtomicUsize::new(0),
            admin: AtomicUsize::new(0),
            requests: AtomicUsize::new(0),
            events,
            notify: AtomicBool::new(notify),
        }
    }

    /// Tells the event handlers what happened on instance `id` (an HTTP request, a WebSocket
    /// connection): Janus's transport event, `data` being `event`, `admin_api`, `ip`, ….
    pub fn notify(&self, id: u64, data: impl FnOnce() -> Value) {
        let kind = crate::events::Kind::Transport;
        if !self.notify.load(Ordering::Relaxed) || !self.events.wants(kind) {
            return;
        }
        let body = json!({"transport": self.package(), "id": id.to_string(), "data": data()});
        self.events.notify(kind, 0, About::default(), body);
    }

    /// The transport's package.
    pub fn package(&self) -> &'static str {
        match self.kind {
            Kind::Http => "janus.transport.http",
            Kind::WebSockets => "janus.transport.websockets",
            Kind::UnixSockets => "janus.transport.pfunix",
            Kind::Mqtt => "janus.transport.mqtt",
            Kind::Nanomsg => "janus.transport.nanomsg",
            Kind::RabbitMq => "janus.transport.rabbitmq",
        }
    }

    /// Its name and description in `info`.
    pub fn title(&self) -> (&'static str, &'static str) {
        match self.kind {
            Kind::Http => (
                "JANUS REST (HTTP/HTTPS) transport plugin",
                "This transport plugin adds REST (HTTP/HTTPS) support to the Janus API via hyper.",
            ),
            Kind::WebSockets => (
                "JANUS WebSockets transport plugin",
                "This transport plugin adds WebSockets support to the Janus API via tokio-tungstenite.",
            ),
            Kind::UnixSockets => (
                "JANUS Unix Sockets transport plugin",
                "This transport plugin adds Unix Sockets support to the Janus API.",
            ),
            Kind::Mqtt => {
                ("JANUS MQTT transport plugin", "This transport plugin adds MQTT support to the Janus API.")
            }
            Kind::Nanomsg => (
                "JANUS Nanomsg transport plugin",
                "This transport plugin adds Nanomsg support to the Janus API.",
            ),
            Kind::RabbitMq => (
                "JANUS RabbitMQ transport plugin",
                "This transport plugin adds RabbitMQ support to the Janus API.",
            ),
        }
    }

    /// Whether its Janus API or admin listener runs.
    pub fn running(&self) -> bool {
        self.listeners.0 || self.listeners.1
    }

    /// How replies are formatted now.
    pub fn style(&self) -> JsonStyle {
        match self.style.load(Ordering::Relaxed) {
            s if s == JsonStyle::Indented as u8 => JsonStyle::Indented,
            s if s == JsonStyle::Plain as u8 => JsonStyle::Plain,
            _ => JsonStyle::Compact,
        }
    }

    fn counter(&self, what: Counted) -> &AtomicUsize {
        match what {
            Counted::Api => &self.api,
            Counted::Admin => &self.admin,
            Counted::Request => &self.requests,
        }
    }

    /// Counts one more open connection or request being served, until the guard drops (even
    /// when its task panics).
    pub fn count(self: &Arc<Self>, what: Counted) -> Counting {
        self.counter(what).fetch_add(1, Ordering::Relaxed);
        Counting(self.clone(), what)
    }

    fn answer(&self, request: Option<&Value>) -> QueryResult<Map<String, Value>> {
        let (request, verb) = q::request_of(request)?;
        let mut response = Map::new();
        match verb.as_str() {
            "configure" => {
                let events = q::opt_bool(request, "events")?.unwrap_or(false);
                let json = q::opt_str(request, "json")?;
                response.insert("result".into(), json!(200));
                let mut notes = Vec::new();
                if events && !self.events.enabled() {
                    notes.push("Event handlers disabled at the core level");
                }
                self.notify.store(events, Ordering::Relaxed);
                if let Some(json) = json {
                    match JsonStyle::from_name(json) {
                        Some(style) => self.style.store(style as u8, Ordering::Relaxed),
                        None => {
                            tracing::warn!("unsupported JSON format option '{json}', ignoring tweak");
                            notes.push("Ignored unsupported indentation format");
                        }
                    }
                }
                if !notes.is_empty() {
                    response.insert("notes".into(), json!(notes));
                }
            }
            "connections" if !matches!(self.kind, Kind::Mqtt | Kind::Nanomsg | Kind::RabbitMq) => {
                response.insert("result".into(), json!(200));
                let (api, admin) = (self.api.load(Ordering::Relaxed), self.admin.load(Ordering::Relaxed));
                match self.kind {
                    Kind::Http => {
                        let mut by_listener = Map::new();
                        if self.listeners.0 {
                            by_listener.insert("http".into(), json!(api));
                        }
                        if self.listeners.1 {
                            by_listener.insert("admin_http".into(), json!(admin));
                        }
                        response.insert("connections".into(), Value::Object(by_listener));
                        response.insert("messages".into(), json!(self.requests.load(Ordering::Relaxed)));
                    }
                    Kind::WebSockets | Kind::UnixSockets | Kind::Mqtt | Kind::Nanomsg | Kind::RabbitMq => {
                        response.insert("connections".into(), json!(api + admin));
                    }
                }
            }
            _ => return Err(q::unknown(request)),
        }
        Ok(response)
    }
}

impl TransportQuery for TransportState {
    /// Answers `query_transport`'s `request` (Janus's `response`: a result or an error).
    fn query(&self, request: Option<&Value>) -> Value {
        q::response(self.answer(request))
    }
}

/// What a transport counts: open connections to its API and its admin listeners, and
/// requests being served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    /// A connection to the Janus API listener.
    Api,
    /// A connection to the admin listener.
    Admin,
    /// A request being served (HTTP), long polls included.
    Request,
}

/// One counted connection or request; the count goes down when it drops.
pub struct Counting(Arc<TransportState>, Counted);

impl Drop for Counting {
    fn drop(&mut self) {
        self.0.counter(self.1).fetch_sub(1, Ordering::Relaxed);
    }
}

//! Event handlers, as Janus's: with `events: { broadcast = true }` in `janus.jcfg` and a
//! handler enabled in its own file, the core tells the handler what happens, as Janus's JSON
//! events (`emitter`, `type`, `subtype`, `timestamp`, `session_id`, `handle_id`, `opaque_id`,
//! `event`): sessions created, destroyed and timed out; handles attached and detached; the
//! SDPs of each negotiation; PeerConnections up and hung up; media starting and stopping and
//! slow links; the admin API's `custom_event`; the gateway's start and stop. The handlers are
//! Janus's sample one ([`sampleevh`]), which posts them to an HTTP backend, its WebSockets
//! one ([`wsevh`]), which sends them to a WebSocket server, its GELF one ([`gelfevh`]), which
//! sends them to a Graylog server, its MQTT one ([`mqttevh`]), which publishes them to a
//! broker, its Nanomsg one ([`nanomsgevh`]), which publishes them on a PUB socket, and its
//! RabbitMQ one ([`rabbitmqevh`]), which publishes them to an AMQP exchange.
//!
//! Without handlers, a notification costs one check.

pub mod gelfevh;
pub mod mqttevh;
pub mod nanomsgevh;
pub mod rabbitmqevh;
pub mod sampleevh;
pub mod wsevh;

use std::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Map, Value};
use tokio::sync::mpsc;

use crate::api::module_query::{self as q, QueryResult};

/// Events waiting for a handler, at most; beyond, they are dropped and counted.
pub const QUEUE: usize = 10_000;

/// The wait before a handler's next connection attempt after `delay`: 1 s, then doubled up
/// to 8 s (Janus's back-off).
pub(crate) fn next_retry(delay: Duration) -> Duration {
    (delay * 2).clamp(Duration::from_secs(1), Duration::from_secs(8))
}

/// Janus's event types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A session was created, destroyed or timed out.
    Session,
    /// A handle was attached or detached.
    Handle,
    /// The admin API's `custom_event`.
    External,
    /// An SDP of a negotiation, the client's (`remote`) or the gateway's (`local`).
    Jsep,
    /// A PeerConnection came up or was hung up.
    Webrtc,
    /// Media started or stopped coming, or a link is slow.
    Media,
    /// A plugin's own event.
    Plugin,
    /// A transport's own event.
    Transport,
    /// The gateway started or is stopping.
    Core,
}

impl Kind {
    const ALL: [Kind; 9] = [
        Kind::Session,
        Kind::Handle,
        Kind::External,
        Kind::Jsep,
        Kind::Webrtc,
        Kind::Media,
        Kind::Plugin,
        Kind::Transport,
        Kind::Core,
    ];

    /// Janus's number for the type.
    pub const fn code(self) -> u32 {
        match self {
            Kind::Session => 1,
            Kind::Handle => 2,
            Kind::External => 4,
            Kind::Jsep => 8,
            Kind::Webrtc => 16,
            Kind::Media => 32,
            Kind::Plugin => 64,
            Kind::Transport => 128,
            Kind::Core => 256,
        }
    }

    /// The type of Janus's number.
    pub fn of_code(code: u64) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| u64::from(k.code()) == code)
    }

    /// Its title, as Janus's GELF handler gives it (`short_message`).
    pub fn title(self) -> &'static str {
        match self {
            Kind::Session => "Sessions",
            Kind::Handle => "Handles",
            Kind::External => "External",
            Kind::Jsep => "Jsep",
            Kind::Webrtc => "WebRTC",
            Kind::Media => "Media",
            Kind::Plugin => "Plugins",
            Kind::Transport => "Transports",
            Kind::Core => "Core",
        }
    }

    /// Its name in a handler's `events` list.
    fn name(self) -> &'static str {
        match self {
            Kind::Session => "sessions",
            Kind::Handle => "handles",
            Kind::External => "external",
            Kind::Jsep => "jsep",
            Kind::Webrtc => "webrtc",
            Kind::Media => "media",
            Kind::Plugin => "plugins",
            Kind::Transport => "transports",
            Kind::Core => "core",
        }
    }

    /// The mask of an `events` setting (`all`, `none`, or names separated by commas), and
    /// the names it does not know.
    pub fn mask_known(list: &str) -> (u32, Vec<String>) {
        match list.trim().to_ascii_lowercase().as_str() {
            "all" => return (Kind::ALL.iter().map(|k| k.code()).sum(), Vec::new()),
            "none" => return (0, Vec::new()),
            _ => {}
        }
        let mut unknown = Vec::new();
        let mut mask = 0;
        for name in list.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let name = name.to_ascii_lowercase();
            match Kind::ALL.iter().find(|k| k.name() == name) {
                Some(k) => mask |= k.code(),
                None => unknown.push(name),
            }
        }
        (mask, unknown)
    }

    /// [`Kind::mask_known`], refusing names it does not know.
    pub fn mask(list: &str) -> Result<u32, String> {
        match Kind::mask_known(list) {
            (mask, unknown) if unknown.is_empty() => Ok(mask),
            (_, unknown) => Err(format!("unknown event type '{}'", unknown[0])),
        }
    }
}

/// What an event is about: its session, handle and the handle's `opaque_id`, as known.
#[derive(Debug, Clone, Copy, Default)]
pub struct About<'a> {
    /// The session.
    pub session: Option<u64>,
    /// The handle.
    pub handle: Option<u64>,
    /// The handle's `opaque_id`.
    pub opaque_id: Option<&'a str>,
}

/// A handler made from its settings (`made`; an error is logged and it is left out), its
/// task (`run`) started on its queue. One with a `stop` is told when the gateway stops, and
/// its task awaited then (it says goodbye).
fn load<S, R, F>(
    package: &'static str,
    made: Result<S, String>,
    mask: fn(&S) -> Arc<AtomicU32>,
    query: fn(&S, Option<&Value>) -> Value,
    stop: Option<fn(&S)>,
    run: R,
) -> Option<Handler>
where
    S: Send + Sync + 'static,
    R: FnOnce(Arc<S>, mpsc::Receiver<Value>, Arc<AtomicUsize>) -> F,
    F: std::future::Future<Output = ()> + Send + 'static,
{
    let shared = match made {
        Ok(shared) => Arc::new(shared),
        Err(e) => {
            tracing::error!("{package}: {e}; not loaded");
            return None;
        }
    };
    let (tx, rx) = mpsc::channel(QUEUE);
    let pending = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(run(shared.clone(), rx, pending.clone()));
    tracing::info!("event handler {package} started");
    let stopping = shared.clone();
    Some(Handler {
        package,
        mask: mask(&shared),
        stop: stop.map(|stop| (Box::new(move || stop(&stopping)) as Stop, task)),
        query: Box::new(move |request| query(&shared, request)),
        queue: tx,
        pending,
        dropped: AtomicU64::new(0),
    })
}

/// Answers admin `query_eventhandler` for a handler.
type Query = Box<dyn Fn(Option<&Value>) -> Value + Send + Sync>;

/// Tells a handler the gateway stops.
type Stop = Box<dyn Fn() + Send + Sync>;

/// One handler as the core sees it: the kinds it takes, its queue and its answers to admin
/// queries.
struct Handler {
    package: &'static str,
    mask: Arc<AtomicU32>,
    query: Query,
    /// For a handler told of the stop: how, and its task (awaited then).
    stop: Option<(Stop, tokio::task::JoinHandle<()>)>,
    queue: mpsc::Sender<Value>,
    /// Events queued or being sent.
    pending: Arc<AtomicUsize>,
    dropped: AtomicU64,
}

/// The handlers the core tells (none: events are off). Cheap to clone.
#[derive(Clone, Default)]
pub struct Events {
    inner: Option<Arc<Inner>>,
}

impl std::fmt::Debug for Events {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Events").field("handlers", &self.packages()).finish()
    }
}

struct Inner {
    /// `server_name`, each event's `emitter`.
    emitter: String,
    handlers: Vec<Handler>,
}

impl Events {
    /// The handlers of `config` that are on (`broadcast` and an enabled handler file), started
    /// on the current runtime; a handler whose settings are wrong is logged and left out.
    pub fn start(config: &crate::config::Config) -> Self {
        use crate::config::events::{GELFEVH, MQTTEVH, NANOMSGEVH, RABBITMQEVH, SAMPLEEVH, WSEVH};
        let events = &config.events;
        if !events.broadcast {
            return Self::default();
        }
        let mut handlers = Vec::new();
        if let Some(evh) = &events.sampleevh {
            let shared = sampleevh::Shared::new(evh);
            handlers.extend(load(
                SAMPLEEVH,
                shared,
                |s| s.mask.clone(),
                sampleevh::Shared::query,
                None,
                sampleevh::run,
            ));
        }
        if let Some(evh) = &events.wsevh {
            let shared = wsevh::Shared::new(evh);
            handlers.extend(load(WSEVH, shared, |s| s.mask.clone(), wsevh::Shared::query, None, wsevh::run));
        }
        if let Some(evh) = &events.gelfevh {
            let shared = gelfevh::Shared::new(evh);
            handlers.extend(load(
                GELFEVH,
                shared,
                |s| s.mask.clone(),
                gelfevh::Shared::query,
                None,
                gelfevh::run,
            ));
        }
        if let Some(evh) = &events.mqttevh {
            let shared = mqttevh::Shared::new(evh);
            handlers.extend(load(
                MQTTEVH,
                shared,
                |s| s.mask.clone(),
                mqttevh::Shared::query,
                Some(mqttevh::Shared::stop),
                mqttevh::run,
            ));
        }
        if let Some(evh) = &events.nanomsgevh {
            let shared = nanomsgevh::Shared::new(evh);
            let query = nanomsgevh::Shared::query;
            handlers.extend(load(NANOMSGEVH, shared, |s| s.mask.clone(), query, None, nanomsgevh::run));
        }
        if let Some(evh) = &events.rabbitmqevh {
            let shared = rabbitmqevh::Shared::new(evh);
            let query = rabbitmqevh::Shared::query;
            handlers.extend(load(RABBITMQEVH, shared, |s| s.mask.clone(), query, None, rabbitmqevh::run));
        }
        if handlers.is_empty() {
            return Self::default();
        }
        Self { inner: Some(Arc::new(Inner { emitter: config.general.server_name.clone(), handlers })) }
    }

    /// Whether any handler runs.
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether a handler takes events of `kind` (so that the caller need not make one).
    pub fn wants(&self, kind: Kind) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|i| i.handlers.iter().any(|h| h.mask.load(Ordering::Relaxed) & kind.code() != 0))
    }

    /// A handler's name and description in `info`, Janus's for its package.
    pub fn title(package: &str) -> (&'static str, &'static str) {
        match package {
            "janus.eventhandler.wsevh" => (
                "JANUS WebSocketsEventHandler plugin",
                "This is a trivial WebSockets event handler plugin for Janus.",
            ),
            "janus.eventhandler.gelfevh" => (
                "JANUS GelfEventHandler plugin",
                "This is event handler plugin for Janus, which forwards events via TCP/UDP to GELF server.",
            ),
            "janus.eventhandler.mqttevh" => ("JANUS MQTTEventHandler plugin", "An MQTT event handler plugin for Janus."),
            "janus.eventhandler.rabbitmqevh" => (
                "JANUS RabbitMQEventHandler plugin",
                "This is a trivial RabbitMQ event handler plugin for Janus.",
            ),
            "janus.eventhandler.nanomsgevh" => (
                "JANUS NanomsgEventHandler plugin",
                "This is a trivial Nanomsg event handler plugin for Janus.",
            ),
            _ => (
                "JANUS SampleEventHandler plugin",
                "This is a trivial sample event handler plugin for Janus, which forwards events via HTTP POST.",
            ),
        }
    }

    /// The running handlers' packages.
    pub fn packages(&self) -> Vec<&'static str> {
        self.inner.as_ref().map_or_else(Vec::new, |i| i.handlers.iter().map(|h| h.package).collect())
    }

    /// Tells the handlers that take `kind`: an event of Janus's shape around `body`.
    pub fn notify(&self, kind: Kind, subtype: u8, about: About<'_>, body: Value) {
        let Some(inner) = &self.inner else { return };
        if !self.wants(kind) {
            return;
        }
        let mut event = Map::new();
        event.insert("emitter".into(), json!(inner.emitter));
        event.insert("type".into(), json!(kind.code()));
        if subtype > 0 {
            event.insert("subtype".into(), json!(subtype));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        event.insert("timestamp".into(), json!(now.as_micros() as u64));
        if let Some(session) = about.session {
            event.insert("session_id".into(), json!(session));
        }
        if let Some(handle) = about.handle {
            event.insert("handle_id".into(), json!(handle));
        }
        if let Some(opaque) = about.opaque_id {
            event.insert("opaque_id".into(), json!(opaque));
        }
        event.insert("event".into(), body);
        let event = Value::Object(event);
        for h in inner.handlers.iter().filter(|h| h.mask.load(Ordering::Relaxed) & kind.code() != 0) {
            h.pending.fetch_add(1, Ordering::Relaxed);
            if h.queue.try_send(event.clone()).is_err() {
                h.pending.fetch_sub(1, Ordering::Relaxed);
                // The count before this one: `time_to_report` adds it.
                let mut dropped = h.dropped.fetch_add(1, Ordering::Relaxed);
                if crate::logging::time_to_report(&mut dropped) {
                    tracing::warn!(
                        "event handler {}: its queue is full ({dropped} events dropped)",
                        h.package
                    );
                }
            }
        }
    }

    /// Answers admin `query_eventhandler` for `package` (none: no such handler).
    pub fn query(&self, package: &str, request: Option<&Value>) -> Option<Value> {
        let handler = self.inner.as_ref()?.handlers.iter().find(|h| h.package == package)?;
        Some((handler.query)(request))
    }

    /// Waits (at most `within`) until the handlers have sent what they were given: the
    /// `shutdown` event goes out before the gateway exits. Then those that say goodbye (the
    /// MQTT handler's `disconnect_status`) are told, and awaited within the same time.
    pub async fn drain(&self, within: Duration) {
        let Some(inner) = &self.inner else { return };
        let deadline = tokio::time::Instant::now() + within;
        let waited = |busy: &dyn Fn(&Handler) -> bool| {
            let busy = inner.handlers.iter().any(busy);
            if busy && tokio::time::Instant::now() >= deadline {
                tracing::warn!("event handlers did not send everything within {within:?}");
            }
            busy && tokio::time::Instant::now() < deadline
        };
        while waited(&|h| h.pending.load(Ordering::Relaxed) > 0) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        for (stop, _) in inner.handlers.iter().filter_map(|h| h.stop.as_ref()) {
            stop();
        }
        while waited(&|h| h.stop.as_ref().is_some_and(|(_, task)| !task.is_finished())) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Answers a handler's admin `query_eventhandler`: `tweak` is the only request (as with
/// Janus's handlers); its `events` change `mask`, and `apply` reads and applies the handler's
/// own settings (when one is wrong, the answer is its error and nothing changes).
fn tweak(
    request: Option<&Value>,
    mask: &AtomicU32,
    apply: impl FnOnce(&Map<String, Value>) -> QueryResult<()>,
) -> Value {
    let answer = || {
        let (request, verb) = q::request_of(request)?;
        if verb != "tweak" {
            return Err(q::unknown(request));
        }
        let events = q::opt_str(request, "events")?;
        let new_mask = events.map(Kind::mask).transpose().map_err(|e| (q::INVALID_ELEMENT, e))?;
        apply(request)?;
        if let Some(new_mask) = new_mask {
            mask.store(new_mask, Ordering::Relaxed);
        }
        let mut response = Map::new();
        response.insert("result".into(), json!(200));
        Ok(response)
    };
    q::response(answer())
}

/// `data` gzipped at `level` (0 to 9), for the handlers that compress.
pub(crate) fn gzip(data: &[u8], level: u32) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
    // Writing to a Vec cannot fail.
    encoder.write_all(data).and_then(|()| encoder.finish()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnections_back_off_as_janus() {
        let waits: Vec<u64> = std::iter::successors(Some(Duration::ZERO), |d| Some(next_retry(*d)))
            .skip(1)
            .take(5)
            .map(|d| d.as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 8]);
    }

    #[test]
    fn gzip_round_trips() {
        use std::io::Read;
        let text = br#"[{"type":1,"event":{"name":"created"}}]"#.repeat(50);
        for level in [0, 6, 9] {
            let packed = gzip(&text, level);
            let mut back = Vec::new();
            flate2::read::GzDecoder::new(&packed[..]).read_to_end(&mut back).expect("gzip");
            assert_eq!(back, text);
            assert!(level == 0 || packed.len() < text.len() / 4, "level {level}: {}", packed.len());
        }
    }

    #[test]
    fn event_lists_read_as_janus_reads_them() {
        assert_eq!(Kind::mask("all").unwrap(), 511);
        assert_eq!(Kind::mask("none").unwrap(), 0);
        assert_eq!(Kind::mask("sessions, handles,jsep").unwrap(), 1 | 2 | 8);
        assert_eq!(
            Kind::mask("Media,webrtc,core,external,plugins,transports").unwrap(),
            32 | 16 | 256 | 4 | 64 | 128
        );
        assert!(Kind::mask("sessions, nonsense").is_err());
        assert_eq!(Kind::mask_known("sessions, nonsense"), (1, vec!["nonsense".to_owned()]));
    }
}

//! Wiring: the API core, its transports and plugins, started from a [`Config`] and stopped
//! cleanly on SIGINT/SIGTERM.

use crate::api::{Core, CoreOptions, Network, TransportInfo};
use crate::config::{Config, JsonStyle};
use crate::events::{About, Events, Kind};
use crate::logging::Logging;
use crate::media::{MediaEngine, Tunables};
use crate::plugins::{self, PluginHost};
use crate::vocab::{MediaEvent, Notice};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

fn default_cache_dir() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("portunus").join("cwasm"))
}
use crate::transport::demo::Demo;
use crate::transport::state::{self, TransportState};
use crate::transport::{self, http, unix, ws};

/// The transports' live states (JSON style, open connections), for their listeners and the
/// admin API's `query_transport`.
struct Transports {
    http: Arc<TransportState>,
    ws: Arc<TransportState>,
    unix: Arc<TransportState>,
    mqtt: Arc<TransportState>,
    nanomsg: Arc<TransportState>,
    rabbitmq: Arc<TransportState>,
}

impl Transports {
    fn new(config: &Config, events: &Events) -> Self {
        let (h, w, u) = (&config.http, &config.ws, &config.unix);
        let make = |kind, json, listeners: (bool, bool), notify| {
            Arc::new(TransportState::new(kind, json, listeners, events.clone(), notify))
        };
        // A broker transport's (json, its APIs on, events), when its file enables it.
        let broker = |kind, on: Option<(JsonStyle, (bool, bool), bool)>| {
            let (json, listeners, notify) = on.unwrap_or_default();
            make(kind, json, listeners, notify)
        };
        let (m, n, r) = (&config.mqtt, &config.nanomsg, &config.rabbitmq);
        Self {
            http: make(state::Kind::Http, h.json, (h.api.enabled, h.admin.enabled), h.events),
            ws: make(state::Kind::WebSockets, w.json, (w.api.enabled, w.admin.enabled), w.events),
            unix: make(state::Kind::UnixSockets, u.json, (u.api.is_some(), u.admin.is_some()), u.events),
            mqtt: broker(
                state::Kind::Mqtt,
                m.as_ref().map(|m| (m.json, (m.api.is_some(), m.admin.is_some()), m.events)),
            ),
            nanomsg: broker(
                state::Kind::Nanomsg,
                n.as_ref().map(|n| (n.json, (n.api.is_some(), n.admin.is_some()), n.events)),
            ),
            rabbitmq: broker(
                state::Kind::RabbitMq,
                r.as_ref().map(|r| (r.json, (r.api.is_some(), r.admin.is_some()), r.events)),
            ),
        }
    }

    /// The running transports, as `info` lists them.
    fn info(&self) -> Vec<TransportInfo> {
        [&self.http, &self.ws, &self.unix, &self.mqtt, &self.nanomsg, &self.rabbitmq]
            .into_iter()
            .filter(|s| s.running())
            .map(|s| {
                let (name, description) = s.title();
                TransportInfo { package: s.package(), name, description, query: s.clone() }
            })
            .collect()
    }
}

/// Runs the gateway until SIGINT or SIGTERM.
pub async fn run(config: Config, logging: Logging) -> anyhow::Result<()> {
    let tunables = Arc::new(Tunables::new(&config.media));
    let events = Events::start(&config);
    if events.enabled() {
        let (period, combine) = (config.events.stats_period, config.events.combine_media_stats);
        tunables.tell_handlers(period, combine, Some(events.clone()));
    }
    let states = Transports::new(&config, &events);
    if config.nat.nice_debug {
        logging.apply(crate::logging::LogChange::IceDebug(true));
    }
    let core = Core::new(CoreOptions {
        general: config.general.clone(),
        nat: config.nat.clone(),
        network: Network {
            local_ip: crate::media::local_ip(&config.media, &config.nat),
            ipv6: config.media.ipv6,
        },
        transports: states.info(),
        change_log: Box::new(move |change| logging.apply(change)),
        tunables: tunables.clone(),
        events: events.clone(),
    });
    let mut tasks = vec![core.spawn_watchdog()];
    let folder = config.general.plugins_folder.clone().unwrap_or_else(plugins::builtin_plugins_dir);
    let cache = config.general.plugin_cache_folder.clone().or_else(default_cache_dir);
    let host = PluginHost::new(core.clone(), config.plugins.clone(), config.folder.clone(), cache)?;
    if let Some(ext) = &config.general.recordings_tmp_ext {
        host.set_recordings_tmp_ext(ext);
    }
    let (loaded, failed) = host.load_folder(&folder, &config.general.disabled_plugins);
    if let Some(why) = failed.first().filter(|_| config.general.exit_on_dl_error) {
        anyhow::bail!("{why} (exit_on_dl_error)");
    }
    tracing::info!("{} plugin(s) loaded from {}", loaded.len(), folder.display());
    core.set_plugins(Arc::new(plugins::Registry(host.clone())));
    // PeerConnections up (none without a media engine).
    let mut connected = Arc::new(AtomicUsize::new(0));
    match MediaEngine::start(&config.media, &config.nat, tunables.clone()) {
        Ok((engine, notices)) => {
            for (i, local) in engine.locals.iter().enumerate() {
                match i {
                    0 => println!("listening: media {local}"),
                    _ => println!("listening: media-{i} {local}"),
                }
            }
            connected = engine.connected.clone();
            core.set_media(Arc::new(engine));
            tasks.push(tokio::spawn(relay_notices(core.clone(), notices, tunables)));
        }
        // What the configuration asks and cannot be done stops the start, as in Janus.
        Err(e) if e.downcast_ref::<crate::media::StartRefused>().is_some() => return Err(e),
        Err(e) => tracing::error!("media engine not started, WebRTC is unavailable: {e:#}"),
    }
    if events.enabled() {
        let status = status_updates(core.clone(), events.clone(), connected, config.events.stats_period);
        tasks.push(tokio::spawn(status));
    }
    if config.general.watch_plugins {
        tasks.push(host.spawn_watcher(Duration::from_millis(500)));
    }
    let w = &config.ws;
    // The WebSocket listener comes first: the demo pages on the HTTP one name its port.
    let mut ws_port = None;
    if w.api.enabled {
        let l = transport::bind("ws", &w.api.ip, w.api.port).await?;
        ws_port = Some(l.local_addr()?.port());
        tasks.push(tokio::spawn(ws::serve(
            l,
            core.clone(),
            transport::Api::Janus,
            states.ws.clone(),
            w.max_connections,
        )));
    }
    if w.admin.enabled {
        let l = transport::bind("admin-ws", &w.admin.ip, w.admin.port).await?;
        warn_open_admin(&l, config.general.admin_secret.as_deref());
        tasks.push(tokio::spawn(ws::serve(
            l,
            core.clone(),
            transport::Api::Admin,
            states.ws.clone(),
            w.max_connections,
        )));
    }
    let h = &config.http;
    if h.api.enabled {
        let l = transport::bind("http", &h.api.ip, h.api.port).await?;
        let demo =
            h.demo.then(|| Demo { ws_port, base_path: h.base_path.clone(), assets: h.demo_assets.clone() });
        if demo.is_some() {
            // Browsers give the camera only to secure contexts: a page on 127.0.0.1 is one, a
            // page on 0.0.0.0 is not.
            let mut at = l.local_addr()?;
            if at.ip().is_unspecified() {
                at.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
            }
            tracing::info!("demo pages at http://{at}/demo/ (and /demo/videoroom.html, /demo/textroom.html, /demo/streaming.html)");
        }
        tasks.push(tokio::spawn(http::serve(
            l,
            core.clone(),
            states.http.clone(),
            h.clone(),
            transport::Api::Janus,
            demo,
        )));
    }
    if h.admin.enabled {
        let l = transport::bind("admin-http", &h.admin.ip, h.admin.port).await?;
        warn_open_admin(&l, config.general.admin_secret.as_deref());
        tasks.push(tokio::spawn(http::serve(
            l,
            core.clone(),
            states.http.clone(),
            h.clone(),
            transport::Api::Admin,
            None,
        )));
    }
    // The Unix sockets' paths are removed when `bound` drops, at the end of this function.
    let mut bound = Vec::new();
    let u = &config.unix;
    for (name, listener, api) in
        [("unix", &u.api, transport::Api::Janus), ("admin-unix", &u.admin, transport::Api::Admin)]
    {
        let Some(listener) = listener else { continue };
        let (l, path) = unix::bind(name, listener)?;
        bound.push(path);
        tasks.push(tokio::spawn(unix::serve(l, core.clone(), api, states.unix.clone(), u.max_connections)));
    }
    // The MQTT transport is stopped, not aborted: it says goodbye to its broker.
    let mqtt_stop = Arc::new(tokio::sync::Notify::new());
    let mqtt = config.mqtt.as_ref().map(|m| {
        let serve = transport::mqtt::serve(m.clone(), core.clone(), states.mqtt.clone(), mqtt_stop.clone());
        tokio::spawn(serve)
    });
    if let Some(n) = &config.nanomsg {
        tasks.push(tokio::spawn(transport::nanomsg::serve(n.clone(), core.clone(), states.nanomsg.clone())));
    }
    if let Some(r) = &config.rabbitmq {
        tasks.push(tokio::spawn(transport::rabbitmq::serve(
            r.clone(),
            core.clone(),
            states.rabbitmq.clone(),
        )));
    }
    let signals = watch_signals();
    println!("ready");
    tracing::info!("Portunus {} ready", env!("CARGO_PKG_VERSION"));
    events.notify(Kind::Core, 1, About::default(), json!({"status": "started", "info": core.info()}));
    let signum = shutdown_signal(signals).await;
    tracing::info!("shutting down");
    events.notify(Kind::Core, 2, About::default(), json!({"status": "shutdown", "signum": signum}));
    for t in &tasks {
        t.abort();
    }
    mqtt_stop.notify_one();
    // Plugins are told, but a slow one does not hold up the exit.
    if tokio::time::timeout(SHUTDOWN_GRACE, core.destroy_all_sessions()).await.is_err() {
        tracing::warn!("sessions not all destroyed within {SHUTDOWN_GRACE:?}; exiting anyway");
    }
    // Recordings not tied to a session (a mountpoint's) end too: their files complete.
    let media = core.media();
    tokio::task::block_in_place(|| media.end_recordings(SHUTDOWN_GRACE));
    // The event handlers send what they hold (the `shutdown` event with it).
    events.drain(SHUTDOWN_GRACE).await;
    if let Some(mqtt) = mqtt {
        if tokio::time::timeout(SHUTDOWN_GRACE, mqtt).await.is_err() {
            tracing::warn!("the MQTT transport did not say goodbye within {SHUTDOWN_GRACE:?}");
        }
    }
    Ok(())
}

/// The secret of Janus's sample configuration (and of our embedded defaults).
const SAMPLE_ADMIN_SECRET: &str = "janusoverlord";

/// Warns when an admin listener can be reached beyond loopback with no secret, or with the
/// sample one that anybody can read.
fn warn_open_admin(listener: &tokio::net::TcpListener, secret: Option<&str>) {
    let Ok(addr) = listener.local_addr() else { return };
    if addr.ip().is_loopback() {
        return;
    }
    match secret {
        None => tracing::warn!("the admin API listens on {addr} with no admin_secret: anyone who reaches it controls the gateway"),
        Some(SAMPLE_ADMIN_SECRET) => tracing::warn!(
            "the admin API listens on {addr} with the sample admin_secret \"{SAMPLE_ADMIN_SECRET}\": set a secret of your own"
        ),
        Some(_) => {}
    }
}

/// How long shutdown waits for plugins to hear about the sessions' end.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(2);

/// Turns media notices into Janus events for the client and media events for the plugin.
/// `no_media_timer` goes into `media` events that report media stopping (Janus adds `seconds`
/// when the timer is above 1 s).
pub async fn relay_notices(
    core: Core,
    mut notices: tokio::sync::mpsc::UnboundedReceiver<Notice>,
    tunables: Arc<Tunables>,
) {
    while let Some(Notice { handle, event }) = notices.recv().await {
        // An input's or a mixer's news goes to the plugin that owns it.
        if let MediaEvent::InputMedia { input: id, .. }
        | MediaEvent::InputSource { input: id, .. }
        | MediaEvent::MixerRecordFailed { mixer: id, .. } = event
        {
            core.input_event(id, event);
            continue;
        }
        // News only the event handlers hear.
        if let MediaEvent::ForHandlers { kind, subtype, body } = event {
            core.media_event(handle, kind, subtype, body);
            continue;
        }
        // The client's Janus event, if it gets one.
        match &event {
            MediaEvent::WebrtcUp => core.push_handle_event(handle, "webrtcup", Value::Null),
            MediaEvent::Media { mid, kind, receiving } => {
                let mut fields = json!({"mid": mid, "type": kind.as_str(), "receiving": receiving});
                if let Some(seconds) = stopped_after(*receiving, &tunables) {
                    fields["seconds"] = json!(seconds);
                }
                core.push_handle_event(handle, "media", fields);
            }
            MediaEvent::SlowLink { mid, kind, uplink, lost } => core.push_handle_event(
                handle,
                "slowlink",
                json!({"mid": mid, "media": kind.as_str(), "uplink": uplink, "lost": lost}),
            ),
            MediaEvent::Trickle { mid, candidate } => {
                let candidate = match candidate {
                    Some(c) => json!({"sdpMid": mid, "sdpMLineIndex": 0, "candidate": c}),
                    None => json!({"completed": true}),
                };
                core.push_handle_event(handle, "trickle", json!({"candidate": candidate}));
            }
            MediaEvent::IceFailed => core.push_handle_event(handle, "ice-failed", Value::Null),
            MediaEvent::Hangup { reason, .. } => {
                core.push_handle_event(handle, "hangup", json!({"reason": reason}))
            }
            MediaEvent::Negotiated(_)
            | MediaEvent::ForHandlers { .. }
            | MediaEvent::Talking { .. }
            | MediaEvent::Dtmf { .. }
            | MediaEvent::Negotiation { .. }
            | MediaEvent::LayerChanged { .. }
            | MediaEvent::InputMedia { .. }
            | MediaEvent::InputSource { .. }
            | MediaEvent::MixerRecordFailed { .. }
            | MediaEvent::Data { .. } => {}
        }
        // The event handlers' (Janus's webrtc subtype 6 and media subtypes 1 and 2), made only
        // when there are handlers.
        let for_handlers = match &event {
            _ if !core.events().enabled() => None,
            MediaEvent::WebrtcUp => Some((Kind::Webrtc, 6, json!({"connection": "webrtcup"}))),
            MediaEvent::Hangup { reason, .. } => {
                Some((Kind::Webrtc, 6, json!({"connection": "hangup", "reason": reason})))
            }
            MediaEvent::Media { mid, kind, receiving } => {
                let mut body = json!({"mid": mid, "media": kind.as_str(), "receiving": receiving});
                if let Some(seconds) = stopped_after(*receiving, &tunables) {
                    body["seconds"] = json!(seconds);
                }
                Some((Kind::Media, 1, body))
            }
            MediaEvent::SlowLink { mid, kind, uplink, lost } => Some((
                Kind::Media,
                2,
                json!({"mid": mid, "media": kind.as_str(), "slow_link": if *uplink { "uplink" } else { "downlink" },
                       "lost_lastsec": lost}),
            )),
            _ => None,
        };
        if let Some((kind, subtype, body)) = for_handlers {
            core.media_event(handle, kind, subtype, body);
        }
        // The plugin's media event, unless it hears of it otherwise.
        let plugin_hears = match &event {
            MediaEvent::Trickle { .. } | MediaEvent::IceFailed => false,
            MediaEvent::Hangup { requested, .. } => !requested,
            _ => true,
        };
        if let (true, Some(p)) = (plugin_hears, core.plugin_of(handle)) {
            p.media_event(handle, event);
        }
    }
}

/// How often the event handlers are told how many sessions, handles and PeerConnections
/// there are (Janus's).
const STATUS_PERIOD: Duration = Duration::from_secs(15);

/// Tells the event handlers every [`STATUS_PERIOD`] how many sessions, handles and
/// PeerConnections there are (Janus's core event `update`).
async fn status_updates(core: Core, events: Events, connected: Arc<AtomicUsize>, stats_period: u64) {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + STATUS_PERIOD, STATUS_PERIOD);
    loop {
        every.tick().await;
        let info = json!({
            "sessions": core.session_count(),
            "handles": core.handle_count(),
            "peerconnections": connected.load(Ordering::Relaxed),
            "stats-period": stats_period,
        });
        events.notify(Kind::Core, 1, About::default(), json!({"status": "update", "info": info}));
    }
}

/// The `seconds` of a media-stopped event: `no_media_timer`, which Janus gives when it is
/// above 1 s.
fn stopped_after(receiving: bool, tunables: &Tunables) -> Option<u64> {
    let timer = tunables.no_media_timer_s();
    (!receiving && timer > 1).then_some(timer)
}

/// Waits for SIGINT or SIGTERM; returns which (its number).
async fn shutdown_signal(watch: Signals) -> i32 {
    let (Ok(mut int), Ok(mut term)) = watch else {
        tracing::warn!("cannot watch SIGINT and SIGTERM: they stop the gateway without its clean shutdown");
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => libc::SIGINT,
        _ = term.recv() => libc::SIGTERM,
    }
}

/// The streams of SIGINT and SIGTERM (or why not).
type Signals = (std::io::Result<tokio::signal::unix::Signal>, std::io::Result<tokio::signal::unix::Signal>);

/// Starts catching SIGINT and SIGTERM: from now on they stop the gateway cleanly (before
/// `ready`, so that one sent right after it is not the default, fatal one).
fn watch_signals() -> Signals {
    use tokio::signal::unix::{signal, SignalKind};
    (signal(SignalKind::interrupt()), signal(SignalKind::terminate()))
}

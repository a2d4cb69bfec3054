//! Configuration: Janus `.jcfg` files read into one typed model, with embedded defaults.
//!
//! `portunus -F <folder>` reads `janus.jcfg`, `janus.transport.http.jcfg`,
//! `janus.transport.websockets.jcfg` and every `janus.plugin.<name>.jcfg` from the folder. A
//! file that is missing leaves Janus's defaults in place. Without a folder the files in the
//! repository's `conf/` (embedded in the binary) are used.

pub mod events;
pub mod jcfg;
mod section;
pub mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use section::Section;

/// A configuration that cannot be used; start-up stops with this message.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The file's path.
        file: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid libconfig syntax.
    #[error("{file}: {source}")]
    Syntax {
        /// The file's path.
        file: String,
        /// Where and what.
        source: jcfg::ParseError,
    },
    /// A setting has a value that cannot be used.
    #[error("{file}:{line}: {key}: {message}")]
    Value {
        /// The file's path.
        file: String,
        /// The setting's line.
        line: u32,
        /// `section.key`.
        key: String,
        /// What was expected and found.
        message: String,
    },
}

/// `janus.jcfg` → `general`, plus Portunus's own limits.
#[derive(Debug, Clone)]
pub struct General {
    /// Janus log level 0 (none) .. 7 (debug).
    pub debug_level: u8,
    /// `server_name` reported by `info`.
    pub server_name: String,
    /// `api_secret`: required on every API request when set.
    pub api_secret: Option<String>,
    /// `token_auth`: token authentication on (stored tokens, or signed ones with
    /// `token_auth_secret`).
    pub token_auth: bool,
    /// `token_auth_secret`: tokens are signed with this secret (HMAC-SHA1), not stored.
    pub token_auth_secret: Option<String>,
    /// `log_to_stdout`: log to the console (stderr; default true).
    pub log_to_stdout: bool,
    /// `log_to_file`: also append the log to this file.
    pub log_to_file: Option<PathBuf>,
    /// `log_prefix`: put before every log line.
    pub log_prefix: String,
    /// `protected_folders`: folders the admin API's packet captures may not be written in
    /// (plugins write only where their sandbox lets them).
    pub protected_folders: Vec<PathBuf>,
    /// `debug_timestamps`: each log line starts with the time (Portunus's default: true).
    pub debug_timestamps: bool,
    /// `debug_colors`: log levels in colour (ANSI escapes; default false).
    pub debug_colors: bool,
    /// `recordings_tmp_ext`: recordings are written as `<file>.<ext>` and renamed to `<file>`
    /// when complete.
    pub recordings_tmp_ext: Option<String>,
    /// `hide_dependencies`: `info` does not list the libraries the gateway is built on.
    pub hide_dependencies: bool,
    /// `exit_on_dl_error`: a file that is no plugin stops the start (one whose `init` fails is
    /// skipped, as in Janus).
    pub exit_on_dl_error: bool,
    /// `pid_file`: the gateway's process id is written there (and the file locked) while it
    /// runs.
    pub pid_file: Option<PathBuf>,
    /// `admin_secret`: required on admin requests (but `info`/`ping`) when set.
    pub admin_secret: Option<String>,
    /// Seconds without activity before a session expires; 0 = never.
    pub session_timeout: u64,
    /// Seconds a session outlives its closed WebSocket, waiting for a `claim`.
    pub reclaim_session_timeout: u64,
    /// Seconds early trickle candidates are kept.
    pub candidates_timeout: u64,
    /// Add `opaque_id` to events and sync replies.
    pub opaqueid_in_api: bool,
    /// Accept new sessions at start-up.
    pub accept_new_sessions: bool,
    /// Largest request body in bytes (HTTP body or WebSocket message).
    pub max_request_size: usize,
    /// Most sessions one client (HTTP: remote address, WS: connection) may hold.
    pub max_sessions_per_client: usize,
    /// Most handles one session may hold.
    pub max_handles_per_session: usize,
    /// Most events queued for one session before the oldest are dropped.
    pub event_queue_size: usize,
    /// Folder of plugin components (`wasm_plugins_folder`; default: the plugins built with
    /// Portunus). Janus's `plugins_folder` names its `.so` plugins and is ignored.
    pub plugins_folder: Option<PathBuf>,
    /// Folder for compiled plugin code (`plugin_cache_folder`; default `~/.cache/portunus`).
    pub plugin_cache_folder: Option<PathBuf>,
    /// Reload a plugin when its file changes (`watch_plugins`, default true).
    pub watch_plugins: bool,
    /// Threads that run the API transports and core (`api_threads`, default 1: signaling is
    /// light, and one thread answers with the fewest cross-core wake-ups; media and plugins have
    /// threads of their own).
    pub api_threads: usize,
    /// Plugins not to load (`plugins: { disable = "…" }`, as Janus's): their packages, from
    /// Janus's library names (`libjanus_videocall.so`), file names (`videocall.wasm`), names
    /// (`videocall`) or packages (`janus.plugin.videocall`).
    pub disabled_plugins: Vec<String>,
    /// Transports not to start (`transports: { disable = "…" }`, as Janus's): `http`,
    /// `websockets` and `pfunix` (from `libjanus_http.so`, `libjanus_websockets.so`,
    /// `libjanus_pfunix.so`) turn off that transport's Janus and admin listeners; Janus's
    /// other transports are not Portunus's.
    pub disabled_transports: Vec<String>,
}

impl Default for General {
    fn default() -> Self {
        Self {
            debug_level: 4,
            server_name: "Portunus".into(),
            api_secret: None,
            token_auth: false,
            token_auth_secret: None,
            log_to_stdout: true,
            log_to_file: None,
            log_prefix: String::new(),
            protected_folders: Vec::new(),
            debug_timestamps: true,
            debug_colors: false,
            pid_file: None,
            hide_dependencies: false,
            exit_on_dl_error: false,
            recordings_tmp_ext: None,
            admin_secret: None,
            session_timeout: 60,
            reclaim_session_timeout: 0,
            candidates_timeout: 45,
            opaqueid_in_api: false,
            accept_new_sessions: true,
            max_request_size: 1 << 20,
            max_sessions_per_client: 1000,
            max_handles_per_session: 10_000,
            event_queue_size: 1000,
            plugins_folder: None,
            plugin_cache_folder: None,
            watch_plugins: true,
            api_threads: 1,
            disabled_plugins: Vec::new(),
            disabled_transports: Vec::new(),
        }
    }
}

/// `janus.jcfg` → `nat` (the parts the API reports).
#[derive(Debug, Clone, Default)]
pub struct Nat {
    /// ICE lite mode.
    pub ice_lite: bool,
    /// `nice_debug`: ICE debugging from the start (see [`crate::logging::LogChange`]).
    pub nice_debug: bool,
    /// Full trickle: our candidates are trickled instead of put in the SDP.
    pub full_trickle: bool,
    /// `nat_1_1_mapping`: public addresses advertised instead of the local ones.
    pub nat_1_1_mapping: Vec<String>,
    /// `keep_private_host`: advertise the local address beside the `nat_1_1_mapping` ones.
    pub keep_private_host: bool,
    /// `ice_enforce_list`: only these interfaces (names or address prefixes) give candidates.
    pub ice_enforce_list: Vec<String>,
    /// `ice_ignore_list`: interfaces (names or address prefixes) never used (default "vmnet").
    pub ice_ignore_list: Vec<String>,
    /// `stun_server` and `stun_port` (default 3478): the STUN server each media socket asks for
    /// its public address at start-up, advertised beside the local one.
    pub stun_server: Option<(String, u16)>,
    /// `ignore_unreachable_ice_server`: start without the public address when the STUN server
    /// does not answer (by default the gateway does not start, as Janus does not).
    pub ignore_unreachable_ice_server: bool,
}

/// `janus.jcfg` → `media` (and `general.interface`).
#[derive(Debug, Clone)]
pub struct Media {
    /// `general.interface`: the one local address to gather candidates on.
    pub interface: Option<String>,
    /// `ipv6`: gather IPv6 candidates too.
    pub ipv6: bool,
    /// `rtp_port_range`: local UDP ports to use (inclusive); any port when unset.
    pub rtp_port_range: Option<(u16, u16)>,
    /// `no_media_timer`: seconds without packets before `media` receiving=false.
    pub no_media_timer: u64,
    /// `media_threads` (Portunus): media threads, each with its own UDP socket.
    pub threads: usize,
    /// `slowlink_threshold`: lost packets per second that make a `slowlink` event (0: off).
    pub slowlink_threshold: u32,
    /// `min_nack_queue`: how long sent video is kept at least to answer NACKs, ms (0: not kept,
    /// no retransmissions). As in Janus, a subscriber's is its RTT and 100 ms, between this and
    /// 1 s.
    pub min_nack_queue: u64,
    /// `socket_buffer_kb` (Portunus): the receive and send buffer asked for each media socket,
    /// KiB (0: the system's default). The kernel may grant less; the gateway logs what it got.
    pub socket_buffer_kb: u32,
    /// `certificates: { cert_pem, cert_key }`: the DTLS identity's files (none: a fresh one
    /// each start, as Janus makes).
    pub certificate: Option<CertificateFiles>,
}

/// A DTLS certificate and its key, PEM files (`certificates.cert_pem`, `certificates.cert_key`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateFiles {
    /// The certificate.
    pub cert_pem: PathBuf,
    /// Its private key (not encrypted).
    pub cert_key: PathBuf,
}

/// `min_nack_queue` when not set, ms: Janus's (its `info` reports 200). Longer round trips
/// keep more (the RTT and 100 ms, up to 1 s).
pub const DEFAULT_NACK_QUEUE_MS: u64 = 200;

/// Media threads when `media_threads` is not set: one per core, at most 4.
fn default_media_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

impl Default for Media {
    fn default() -> Self {
        Self {
            interface: None,
            ipv6: false,
            rtp_port_range: None,
            no_media_timer: 1,
            threads: default_media_threads(),
            slowlink_threshold: 0,
            min_nack_queue: DEFAULT_NACK_QUEUE_MS,
            socket_buffer_kb: DEFAULT_SOCKET_BUFFER_KB,
            certificate: None,
        }
    }
}

/// Media socket buffers when `socket_buffer_kb` is not set: room for a burst of a few thousand
/// packets (Linux's default of ~200 KiB drops a keyframe burst to a room of hundreds).
pub const DEFAULT_SOCKET_BUFFER_KB: u32 = 4096;

/// `videocall` from Janus's `libjanus_videocall.so` or a file's `videocall.wasm`.
fn library_stem(name: &str) -> &str {
    let stem = name.strip_prefix("libjanus_").unwrap_or(name);
    stem.strip_suffix(".so").or_else(|| stem.strip_suffix(".wasm")).unwrap_or(stem)
}

/// The package a name in `plugins.disable` means: Janus's library name, a file name, a name or
/// a package.
pub fn plugin_package(name: &str) -> String {
    let stem = library_stem(name);
    if stem.starts_with("janus.plugin.") {
        stem.to_owned()
    } else {
        format!("janus.plugin.{stem}")
    }
}

fn list(value: Option<String>) -> Vec<String> {
    value
        .map(|v| v.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default()
}

fn port_range(
    s: &mut Section<'_>,
    file: &str,
    root: &jcfg::Group,
) -> Result<Option<(u16, u16)>, ConfigError> {
    let Some(text) = s.non_empty("rtp_port_range")? else { return Ok(None) };
    let parsed = text
        .split_once('-')
        .and_then(|(a, b)| Some((a.trim().parse::<u16>().ok()?, b.trim().parse::<u16>().ok()?)))
        .filter(|(a, b)| *a > 0 && a <= b);
    parsed.map(Some).ok_or_else(|| ConfigError::Value {
        file: file.to_owned(),
        line: root.group("media").and_then(|g| g.get("rtp_port_range")).map_or(0, |n| n.line),
        key: "media.rtp_port_range".into(),
        message: format!("expected \"min-max\" with 1 <= min <= max <= 65535, found \"{text}\""),
    })
}

/// How JSON replies are formatted (`json` in the transport files).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum JsonStyle {
    /// Pretty-printed.
    Indented,
    /// One line, a space after each `:` and `,` (Janus's `plain`).
    Plain,
    /// One line, no spaces.
    #[default]
    Compact,
}

impl JsonStyle {
    /// The style a transport's `json` names (`indented`, `plain`, `compact`).
    pub fn from_name(name: &str) -> Option<Self> {
        match name.to_ascii_lowercase().as_str() {
            "indented" => Some(Self::Indented),
            "plain" => Some(Self::Plain),
            "compact" => Some(Self::Compact),
            _ => None,
        }
    }
}

/// One listener: enabled flag, address and port.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Whether it is started.
    pub enabled: bool,
    /// IP address to bind.
    pub ip: String,
    /// TCP port (0 picks a free one).
    pub port: u16,
}

/// `janus.transport.http.jcfg`.
#[derive(Debug, Clone)]
pub struct Http {
    /// The Janus API listener.
    pub api: Listener,
    /// Base path of the Janus API, `/janus`.
    pub base_path: String,
    /// The admin API listener.
    pub admin: Listener,
    /// Base path of the admin API, `/admin`.
    pub admin_base_path: String,
    /// `allow_origin`: the one origin CORS allows (otherwise `*`).
    pub allow_origin: Option<String>,
    /// `enforce_cors`: refuse other origins with 403.
    pub enforce_cors: bool,
    /// Reply formatting.
    pub json: JsonStyle,
    /// `events`: tell the event handlers of each request (default true, as Janus).
    pub events: bool,
    /// `demo` (Portunus): serve the demo pages at `/demo/` on the Janus API listener.
    pub demo: bool,
    /// `demo_assets` (Portunus): a `node_modules` folder holding `janus-gateway` and
    /// `webrtc-adapter`; without it the demo pages load them from the jsDelivr CDN.
    pub demo_assets: Option<PathBuf>,
    /// `header_timeout` (Portunus): seconds a client may take to send a request's headers.
    pub header_timeout: u64,
    /// `idle_timeout` (Portunus): seconds a keep-alive connection may sit with no request.
    pub idle_timeout: u64,
    /// `max_connections` (Portunus): open connections per listener; more are closed at once.
    pub max_connections: usize,
}

/// `janus.transport.websockets.jcfg`.
#[derive(Debug, Clone)]
pub struct Ws {
    /// The Janus API listener (`janus-protocol`).
    pub api: Listener,
    /// The admin API listener (`janus-admin-protocol`).
    pub admin: Listener,
    /// Reply formatting.
    pub json: JsonStyle,
    /// `events`: tell the event handlers of each connection (default true, as Janus).
    pub events: bool,
    /// `max_connections` (Portunus): open connections per listener; more are closed at once.
    pub max_connections: usize,
}

/// One Unix-sockets listener of `janus.transport.pfunix.jcfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixListener {
    /// The socket's path (replaced when it exists, removed when the gateway stops).
    pub path: PathBuf,
    /// `SOCK_DGRAM` (each client known by the path it sends from) rather than
    /// `SOCK_SEQPACKET` (a connection per client, Janus's default).
    pub datagram: bool,
}

/// `janus.transport.pfunix.jcfg`: the Janus API and the admin API on Unix sockets (off
/// unless enabled with a path, as in Janus).
#[derive(Debug, Clone)]
pub struct Unix {
    /// The Janus API listener (`general`: `enabled`, `path`, `type`).
    pub api: Option<UnixListener>,
    /// The admin API listener (`admin`: `admin_enabled`, `admin_path`, `admin_type`).
    pub admin: Option<UnixListener>,
    /// Reply formatting (default indented, as Janus 1.1.2 answers here).
    pub json: JsonStyle,
    /// `events`: tell the event handlers of each connection (default true, as Janus).
    pub events: bool,
    /// `max_connections` (Portunus): clients served at once per listener.
    pub max_connections: usize,
}

/// One API's topics in `janus.transport.mqtt.jcfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttTopics {
    /// `subscribe_topic`: where requests come (an MQTT topic filter).
    pub subscribe: String,
    /// `subscribe_qos` (default 1; 2 is taken as 1).
    pub subscribe_qos: u8,
    /// `publish_topic`: where replies and events go.
    pub publish: String,
    /// `publish_qos` (default 1; 2 is taken as 1).
    pub publish_qos: u8,
}

/// `janus.transport.mqtt.jcfg`'s `status` section, when enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MqttStatus {
    /// `topic` (default `status`).
    pub topic: String,
    /// `connect_message`: published on each connection.
    pub connect_message: Option<String>,
    /// `disconnect_message`: the will, published by the broker when it loses the gateway.
    pub disconnect_message: Option<String>,
    /// `qos` (default 1) and `retain` (default off).
    pub qos: u8,
    /// Whether the broker keeps the status for later subscribers.
    pub retain: bool,
}

/// `janus.transport.mqtt.jcfg`: the Janus API and the admin API over an MQTT broker (MQTT
/// 3.1.1), off unless enabled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mqtt {
    /// `url` (default `tcp://localhost:1883`; `ssl://` for TLS).
    pub url: String,
    /// `mqtt_version`: `3.1`, `3.1.1` (the default) or `5`.
    pub version: crate::mqtt::Version,
    /// MQTT 5: `vacuum_interval`, seconds (default 60): how long a request's properties are
    /// kept for its answers.
    pub vacuum_s: u64,
    /// MQTT 5: `proxy_transaction_user_properties`, the user properties of a request that its
    /// answers carry back (a request's property whose name starts with one of these).
    pub proxy_user_properties: Vec<String>,
    /// MQTT 5: `add_transaction_user_properties`, user properties added to every answer.
    pub add_user_properties: Vec<(String, String)>,
    /// `client_id`, `username` and `password` (each `guest` by default, as Janus's).
    pub client_id: String,
    /// The user name sent.
    pub username: String,
    /// The password sent.
    pub password: String,
    /// `keep_alive_interval`, seconds (default 20).
    pub keep_alive_s: u16,
    /// `cleansession` (default off).
    pub clean_session: bool,
    /// `max_inflight` (default 10).
    pub max_inflight: usize,
    /// The Janus API's topics (`general`: `enabled`, `subscribe_topic`, `publish_topic`, …).
    pub api: Option<MqttTopics>,
    /// The admin API's topics (`admin`: `admin_enabled`, `subscribe_topic`, …).
    pub admin: Option<MqttTopics>,
    /// The `status` section, when enabled.
    pub status: Option<MqttStatus>,
    /// Reply formatting (default indented, as Janus 1.1.2 answers here).
    pub json: JsonStyle,
    /// `events`: tell the event handlers of the transport's requests (default true).
    pub events: bool,
    /// With `ssl_enabled`: `cacertfile`, `certfile`, `keyfile`, `verify_peer` (default on,
    /// where Janus's is off; relative paths from the configuration folder). Used with an
    /// `ssl://` URL.
    pub tls: Option<crate::tls::TlsFiles>,
}

/// One API's socket in `janus.transport.nanomsg.jcfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NanomsgSocket {
    /// `address` (`admin_address`): `ipc://<path>` or `tcp://<host>:<port>`.
    pub address: String,
    /// `mode` (`admin_mode`): `bind` (the default) or `connect`.
    pub bind: bool,
}

/// `janus.transport.nanomsg.jcfg`: the Janus API and the admin API on Nanomsg PAIR sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nanomsg {
    /// The Janus API's socket (`general`: `enabled`, `address`, `mode`).
    pub api: Option<NanomsgSocket>,
    /// The admin API's socket (`admin`: `admin_enabled`, `admin_address`, `admin_mode`).
    pub admin: Option<NanomsgSocket>,
    /// Reply formatting (default indented, as Janus 1.1.2 answers).
    pub json: JsonStyle,
    /// `events`: tell the event handlers of the transport's requests (default true).
    pub events: bool,
}

/// One API's queues in `janus.transport.rabbitmq.jcfg`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitMqQueues {
    /// `queue_name` (`queue_name_admin`): the incoming queue's name when it is bound to the
    /// exchange with `to_janus` as its key.
    pub queue_name: Option<String>,
    /// `to_janus`: the incoming queue (or the binding key, with `queue_name`).
    pub to_janus: String,
    /// `from_janus`: the routing key of what goes out (and the queue declared for it).
    pub from_janus: String,
    /// `declare_outgoing_queue` (default true).
    pub declare_outgoing_queue: bool,
    /// `queue_durable`, `queue_exclusive`, `queue_autodelete` of the incoming queue.
    pub durable: bool,
    /// Only the gateway's connection uses it.
    pub exclusive: bool,
    /// It goes when the gateway does.
    pub auto_delete: bool,
}

/// A RabbitMQ broker as Janus's RabbitMQ transport and event handler name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmqpBroker {
    /// `host` (default `localhost`) and `port` (5672).
    pub host: String,
    /// The broker's port.
    pub port: u16,
    /// `username`, `password` (`guest` each) and `vhost` (`/`).
    pub username: String,
    /// The password.
    pub password: String,
    /// The virtual host.
    pub vhost: String,
    /// The exchange (the transport's `janus_exchange`, the handler's `exchange`), declared of
    /// its type (default fanout); none: the default exchange.
    pub exchange: Option<String>,
    /// The exchange's type.
    pub exchange_type: String,
    /// `heartbeat`, seconds (default 0: none).
    pub heartbeat_s: u16,
    /// TLS (`ssl_enabled`, the handler's `ssl_enable`) with `ssl_cacert` (else the system's
    /// certificates), `ssl_cert` and `ssl_key` (a client certificate), `ssl_verify_peer` and
    /// `ssl_verify_hostname` (both on by default, as Janus's).
    pub tls: Option<crate::tls::TlsFiles>,
}

impl AmqpBroker {
    /// Reads the broker's keys; `exchange` names the exchange's key (its type's is
    /// `<exchange>_type`) and `ssl` the TLS switch's.
    pub(crate) fn read<'a>(
        g: &mut Section<'a>,
        folder: Option<&Path>,
        [exchange, exchange_type]: [&'a str; 2],
        ssl: &'a str,
    ) -> Result<Self, ConfigError> {
        const TLS: [&str; 5] =
            ["ssl_cacert", "ssl_cert", "ssl_key", "ssl_verify_peer", "ssl_verify_hostname"];
        let tls = match g.bool(ssl, false)? {
            true => Some(tls_files(g, folder, TLS)?),
            false => {
                g.accept(&TLS);
                None
            }
        };
        Ok(Self {
            host: g.non_empty("host")?.unwrap_or_else(|| "localhost".into()),
            port: g.int("port", 5672, 1, 65535)? as u16,
            username: g.string("username")?.unwrap_or_else(|| "guest".into()),
            password: g.string("password")?.unwrap_or_else(|| "guest".into()),
            vhost: g.non_empty("vhost")?.unwrap_or_else(|| "/".into()),
            exchange: g.non_empty(exchange)?,
            exchange_type: g.non_empty(exchange_type)?.unwrap_or_else(|| "fanout".into()),
            heartbeat_s: g.int("heartbeat", 0, 0, 65535)? as u16,
            tls,
        })
    }
}

/// `janus.transport.rabbitmq.jcfg`: the Janus API and the admin API over a RabbitMQ broker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RabbitMq {
    /// The broker.
    pub broker: AmqpBroker,
    /// The Janus API's queues.
    pub api: Option<RabbitMqQueues>,
    /// The admin API's queues.
    pub admin: Option<RabbitMqQueues>,
    /// Reply formatting (default indented).
    pub json: JsonStyle,
    /// `events`: tell the event handlers of the transport's requests (default true).
    pub events: bool,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Core settings.
    pub general: General,
    /// NAT settings.
    pub nat: Nat,
    /// Media settings.
    pub media: Media,
    /// HTTP transport.
    pub http: Http,
    /// WebSocket transport.
    pub ws: Ws,
    /// Unix-sockets transport.
    pub unix: Unix,
    /// MQTT transport, when enabled.
    pub mqtt: Option<Mqtt>,
    /// Nanomsg transport, when enabled.
    pub nanomsg: Option<Nanomsg>,
    /// RabbitMQ transport, when enabled.
    pub rabbitmq: Option<RabbitMq>,
    /// Plugin configuration files, by package name (`janus.plugin.echotest`), as JSON.
    pub plugins: BTreeMap<String, serde_json::Value>,
    /// Event handlers (`events`, and their files).
    pub events: events::Events,
    /// The configs folder, when one was given.
    pub folder: Option<PathBuf>,
}

const CORE_FILE: &str = "janus.jcfg";
const HTTP_FILE: &str = "janus.transport.http.jcfg";
const WS_FILE: &str = "janus.transport.websockets.jcfg";
const UNIX_FILE: &str = "janus.transport.pfunix.jcfg";
const MQTT_FILE: &str = "janus.transport.mqtt.jcfg";
const NANOMSG_FILE: &str = "janus.transport.nanomsg.jcfg";
const RABBITMQ_FILE: &str = "janus.transport.rabbitmq.jcfg";

/// The embedded default files (the repository's `conf/`).
const EMBEDDED: [(&str, &str); 3] = [
    (CORE_FILE, include_str!("../../../conf/janus.jcfg")),
    (HTTP_FILE, include_str!("../../../conf/janus.transport.http.jcfg")),
    (WS_FILE, include_str!("../../../conf/janus.transport.websockets.jcfg")),
];

/// The embedded plugin configurations (package, text).
const EMBEDDED_PLUGINS: [(&str, &str); 5] = [
    ("janus.plugin.videoroom", include_str!("../../../conf/janus.plugin.videoroom.jcfg")),
    ("janus.plugin.audiobridge", include_str!("../../../conf/janus.plugin.audiobridge.jcfg")),
    ("janus.plugin.textroom", include_str!("../../../conf/janus.plugin.textroom.jcfg")),
    ("janus.plugin.streaming", include_str!("../../../conf/janus.plugin.streaming.jcfg")),
    ("janus.plugin.sip", include_str!("../../../conf/janus.plugin.sip.jcfg")),
];

impl Config {
    /// The embedded default configuration.
    pub fn embedded() -> Result<Self, ConfigError> {
        let texts = EMBEDDED
            .iter()
            .map(|(name, text)| (format!("<embedded>/{name}"), Some((*text).to_owned())))
            .collect::<Vec<_>>();
        let mut plugins = BTreeMap::new();
        for (package, text) in EMBEDDED_PLUGINS {
            plugins.insert(package.to_owned(), plugin_json(&format!("<embedded>/{package}.jcfg"), text)?);
        }
        Self::from_texts(&texts, plugins, None)
    }

    /// Reads a Janus configs folder.
    pub fn load_folder(folder: &Path) -> Result<Self, ConfigError> {
        let read = |name: &str| -> Result<(String, Option<String>), ConfigError> {
            let path = folder.join(name);
            let shown = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok((shown, Some(text))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((shown, None)),
                Err(source) => Err(ConfigError::Io { file: shown, source }),
            }
        };
        let texts = [
            read(CORE_FILE)?,
            read(HTTP_FILE)?,
            read(WS_FILE)?,
            read(UNIX_FILE)?,
            read(MQTT_FILE)?,
            read(NANOMSG_FILE)?,
            read(RABBITMQ_FILE)?,
        ];
        let mut plugins = read_plugin_files(folder)?;
        default_sandboxes(&mut plugins)?;
        Self::from_texts(&texts, plugins, Some(folder.to_path_buf()))
    }

    fn from_texts(
        texts: &[(String, Option<String>)],
        plugins: BTreeMap<String, serde_json::Value>,
        folder: Option<PathBuf>,
    ) -> Result<Self, ConfigError> {
        let parsed = texts
            .iter()
            .map(|(file, text)| parse_file(file, text.as_deref().unwrap_or("")))
            .collect::<Result<Vec<_>, _>>()?;
        let (general, nat, media) = read_core(&texts[0].0, &parsed[0], folder.as_deref())?;
        let events = events::read(&texts[0].0, &parsed[0], folder.as_deref())?;
        let (mut http, mut ws) = (read_http(&texts[1].0, &parsed[1])?, read_ws(&texts[2].0, &parsed[2])?);
        // The other transports' files, when given (the embedded configuration has none: an
        // absent file reads as an empty one, which enables nothing).
        let none = jcfg::Group::default();
        let file = |k: usize| {
            texts.get(k).map(|(f, _)| f.as_str()).zip(parsed.get(k)).unwrap_or(("<embedded>", &none))
        };
        let mut unix = read_unix(file(3).0, file(3).1)?;
        let mut mqtt = read_mqtt(file(4).0, file(4).1, folder.as_deref())?;
        let mut nanomsg = read_nanomsg(file(5).0, file(5).1)?;
        let mut rabbitmq = read_rabbitmq(file(6).0, file(6).1, folder.as_deref())?;
        for transport in &general.disabled_transports {
            match transport.as_str() {
                "http" => (http.api.enabled, http.admin.enabled) = (false, false),
                "websockets" => (ws.api.enabled, ws.admin.enabled) = (false, false),
                "pfunix" => (unix.api, unix.admin) = (None, None),
                "mqtt" => mqtt = None,
                "nanomsg" => nanomsg = None,
                "rabbitmq" => rabbitmq = None,
                other => tracing::info!("transports.disable: {other} is not a Portunus transport"),
            }
        }
        Ok(Self { general, nat, media, http, ws, unix, mqtt, nanomsg, rabbitmq, plugins, events, folder })
    }
}

fn parse_file(file: &str, text: &str) -> Result<jcfg::Group, ConfigError> {
    jcfg::parse(text).map_err(|source| ConfigError::Syntax { file: file.to_owned(), source })
}

fn read_plugin_files(folder: &Path) -> Result<BTreeMap<String, serde_json::Value>, ConfigError> {
    let mut plugins = BTreeMap::new();
    let entries = std::fs::read_dir(folder)
        .map_err(|source| ConfigError::Io { file: folder.display().to_string(), source })?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(package) = name.strip_suffix(".jcfg").filter(|p| p.starts_with("janus.plugin.")) else {
            continue;
        };
        let path = entry.path();
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(&path)
            .map_err(|source| ConfigError::Io { file: shown.clone(), source })?;
        plugins.insert(package.to_owned(), plugin_json(&shown, &text)?);
    }
    Ok(plugins)
}

/// Gives a built-in plugin whose file has no `sandbox` section (or no file: a Janus user's
/// configs folder has neither) the one its shipped file has: the SIP plugin's socket, say,
/// which Janus's plugin binds without asking.
fn default_sandboxes(plugins: &mut BTreeMap<String, serde_json::Value>) -> Result<(), ConfigError> {
    for (package, text) in EMBEDDED_PLUGINS {
        let shipped = plugin_json(&format!("<embedded>/{package}.jcfg"), text)?;
        let Some(sandbox) = shipped.get("sandbox") else { continue };
        let config = plugins.entry(package.to_owned()).or_insert_with(|| serde_json::json!({}));
        if let Some(map) = config.as_object_mut().filter(|m| !m.contains_key("sandbox")) {
            tracing::info!("{package}: no sandbox section; the shipped one applies");
            map.insert("sandbox".to_owned(), sandbox.clone());
        }
    }
    Ok(())
}

/// A plugin's configuration file as the JSON its `init` gets.
fn plugin_json(file: &str, text: &str) -> Result<serde_json::Value, ConfigError> {
    let root = parse_file(file, text)?;
    Ok(jcfg::Node { value: jcfg::Value::Group(root), line: 1 }.to_json())
}

/// Sections of `janus.jcfg` that Portunus does not act on yet; their keys are warned about.
const CORE_SECTIONS: [&str; 8] =
    ["general", "certificates", "media", "nat", "plugins", "transports", "loggers", "events"];

fn read_core(
    file: &str,
    root: &jcfg::Group,
    folder: Option<&Path>,
) -> Result<(General, Nat, Media), ConfigError> {
    let d = General::default();
    let mut s = Section::new(file, root, "general");
    let plugins_folder = s.non_empty("wasm_plugins_folder")?.map(|p| resolve(folder, &p));
    let plugin_cache_folder = s.non_empty("plugin_cache_folder")?.map(|p| resolve(folder, &p));
    let general_interface = s.non_empty("interface")?;
    let general = General {
        debug_level: s.int("debug_level", d.debug_level.into(), 0, 7)? as u8,
        server_name: s.non_empty("server_name")?.unwrap_or(d.server_name),
        api_secret: s.non_empty("api_secret")?,
        token_auth: s.bool("token_auth", d.token_auth)?,
        token_auth_secret: s.non_empty("token_auth_secret")?,
        log_to_stdout: s.bool("log_to_stdout", d.log_to_stdout)?,
        log_to_file: s.non_empty("log_to_file")?.map(PathBuf::from),
        log_prefix: s.string("log_prefix")?.unwrap_or_default(),
        protected_folders: s.strings("protected_folders")?.into_iter().map(PathBuf::from).collect(),
        debug_timestamps: s.bool("debug_timestamps", d.debug_timestamps)?,
        debug_colors: s.bool("debug_colors", d.debug_colors)?,
        pid_file: s.non_empty("pid_file")?.map(PathBuf::from),
        hide_dependencies: s.bool("hide_dependencies", false)?,
        exit_on_dl_error: s.bool("exit_on_dl_error", false)?,
        recordings_tmp_ext: s.extension("recordings_tmp_ext")?,
        admin_secret: s.non_empty("admin_secret")?,
        session_timeout: s.int("session_timeout", 60, 0, 86_400 * 365)? as u64,
        reclaim_session_timeout: s.int("reclaim_session_timeout", 0, 0, 86_400 * 365)? as u64,
        candidates_timeout: s.int("candidates_timeout", 45, 0, 86_400)? as u64,
        opaqueid_in_api: s.bool("opaqueid_in_api", d.opaqueid_in_api)?,
        accept_new_sessions: s.bool("accept_new_sessions", d.accept_new_sessions)?,
        max_request_size: s.int("max_request_size", d.max_request_size as i64, 1024, 1 << 30)? as usize,
        max_sessions_per_client: s.int(
            "max_sessions_per_client",
            d.max_sessions_per_client as i64,
            1,
            1 << 24,
        )? as usize,
        max_handles_per_session: s.int(
            "max_handles_per_session",
            d.max_handles_per_session as i64,
            1,
            1 << 24,
        )? as usize,
        event_queue_size: s.int("event_queue_size", d.event_queue_size as i64, 16, 1 << 24)? as usize,
        plugins_folder,
        plugin_cache_folder,
        watch_plugins: s.bool("watch_plugins", d.watch_plugins)?,
        api_threads: s.int("api_threads", d.api_threads as i64, 1, 64)? as usize,
        disabled_plugins: {
            let mut p = Section::new(file, root, "plugins");
            let disabled = list(p.non_empty("disable")?).iter().map(|n| plugin_package(n)).collect();
            p.finish();
            disabled
        },
        disabled_transports: {
            let mut t = Section::new(file, root, "transports");
            let names = list(t.non_empty("disable")?);
            t.finish();
            names.iter().map(|n| library_stem(n).to_owned()).collect()
        },
    };
    // Janus's folders and lock debugging: Portunus has no loadable transports and no locks
    // to trace, so these have no effect and need no warning.
    s.accept(&[
        "configs_folder",
        "plugins_folder",
        "transports_folder",
        "events_folder",
        "loggers_folder",
        "debug_locks",
    ]);
    s.finish();
    let mut n = Section::new(file, root, "nat");
    let nat = Nat {
        ice_lite: n.bool("ice_lite", false)?,
        nice_debug: n.bool("nice_debug", false)?,
        full_trickle: n.bool("full_trickle", false)?,
        nat_1_1_mapping: list(n.non_empty("nat_1_1_mapping")?),
        keep_private_host: n.bool("keep_private_host", false)?,
        ice_enforce_list: list(n.non_empty("ice_enforce_list")?),
        ice_ignore_list: n
            .non_empty("ice_ignore_list")?
            .map_or_else(|| vec!["vmnet".to_owned()], |v| list(Some(v))),
        stun_server: {
            let server = n.non_empty("stun_server")?;
            let port = n.int("stun_port", 3478, 1, 65_535)? as u16;
            server.map(|s| (s, port))
        },
        ignore_unreachable_ice_server: n.bool("ignore_unreachable_ice_server", false)?,
    };
    // mDNS (.local) candidates are never resolved (`info` says `mdns-enabled: false`), as with
    // Janus's `ignore_mdns = true`; `false` asks for what this gateway does not do.
    if !n.bool("ignore_mdns", true)? {
        tracing::warn!(
            "{file}: nat.ignore_mdns = false: mDNS (.local) candidates are not resolved; peers connect through their others"
        );
    }
    n.finish();
    let mut m = Section::new(file, root, "media");
    let media = Media {
        interface: general_interface,
        ipv6: m.bool("ipv6", false)?,
        rtp_port_range: port_range(&mut m, file, root)?,
        no_media_timer: m.int("no_media_timer", 1, 0, 3600)? as u64,
        threads: match m.int("media_threads", 0, 0, 64)? {
            0 => default_media_threads(),
            n => n as usize,
        },
        slowlink_threshold: m.int("slowlink_threshold", 0, 0, 1_000_000)? as u32,
        // Janus takes more than its longest queue, 1 s, as 1 s.
        min_nack_queue: (m.int("min_nack_queue", DEFAULT_NACK_QUEUE_MS as i64, 0, i64::from(u16::MAX))?
            as u64)
            .min(1000),
        socket_buffer_kb: m.int("socket_buffer_kb", i64::from(DEFAULT_SOCKET_BUFFER_KB), 0, 1 << 20)? as u32,
        certificate: certificate_files(file, root, folder)?,
    };
    m.finish();
    for name in CORE_SECTIONS.iter().filter(|n| {
        !matches!(**n, "general" | "nat" | "media" | "plugins" | "transports" | "certificates" | "events")
    }) {
        Section::new(file, root, name).finish();
    }
    warn_unknown_sections(file, root, &CORE_SECTIONS);
    Ok((general, nat, media))
}

/// `certificates`: the DTLS certificate's files, both or neither; an encrypted key
/// (`cert_pwd`) is refused. Janus's other keys there have no effect (the DTLS stack picks its
/// ciphers, and peers' self-signed certificates are accepted as Janus's default does).
fn certificate_files(
    file: &str,
    root: &jcfg::Group,
    folder: Option<&Path>,
) -> Result<Option<CertificateFiles>, ConfigError> {
    let mut c = Section::new(file, root, "certificates");
    let (pem, key, pwd) = (c.non_empty("cert_pem")?, c.non_empty("cert_key")?, c.non_empty("cert_pwd")?);
    c.accept(&["dtls_accept_selfsigned", "dtls_ciphers", "rsa_private_key"]);
    c.finish();
    let line = |key: &str| root.group("certificates").and_then(|g| g.get(key)).map_or(0, |n| n.line);
    let refuse = |key: &str, message: &str| ConfigError::Value {
        file: file.to_owned(),
        line: line(key),
        key: format!("certificates.{key}"),
        message: message.to_owned(),
    };
    if pwd.is_some() {
        return Err(refuse(
            "cert_pwd",
            "encrypted keys are not supported: decrypt it (openssl pkey) and drop cert_pwd",
        ));
    }
    match (pem, key) {
        (Some(pem), Some(key)) => {
            Ok(Some(CertificateFiles { cert_pem: resolve(folder, &pem), cert_key: resolve(folder, &key) }))
        }
        (None, None) => Ok(None),
        (Some(_), None) => Err(refuse("cert_pem", "cert_key is needed with it")),
        (None, Some(_)) => Err(refuse("cert_key", "cert_pem is needed with it")),
    }
}

/// A broker client's TLS files and checks from a section's keys, `names`: the CA file, the
/// client certificate, its key, whether the peer and its name are verified (both by default;
/// a name `""` is not read). Relative paths are from the configuration folder.
fn tls_files<'a>(
    g: &mut Section<'a>,
    folder: Option<&Path>,
    [ca, cert, key, peer, hostname]: [&'a str; 5],
) -> Result<crate::tls::TlsFiles, ConfigError> {
    let mut path = |key: &'a str| g.non_empty(key).map(|p| p.map(|p| resolve(folder, &p)));
    let (ca, cert, key) = (path(ca)?, path(cert)?, path(key)?);
    let verify_peer = g.bool(peer, true)?;
    let verify_hostname = match hostname {
        "" => true,
        name => g.bool(name, true)?,
    };
    Ok(crate::tls::TlsFiles { ca, cert, key, verify_peer, verify_hostname })
}

fn resolve(folder: Option<&Path>, path: &str) -> PathBuf {
    let p = PathBuf::from(path);
    match folder {
        Some(f) if p.is_relative() => f.join(p),
        _ => p,
    }
}

fn json_style(s: &mut Section<'_>) -> Result<JsonStyle, ConfigError> {
    Ok(s.string("json")?.as_deref().and_then(JsonStyle::from_name).unwrap_or_default())
}

/// `json` of the Unix-sockets and MQTT transports: Janus 1.1.2 indents when the file names no
/// style (observed; its code's constant says compact).
fn indented_unless_named(s: &mut Section<'_>) -> Result<JsonStyle, ConfigError> {
    Ok(s.string("json")?.as_deref().and_then(JsonStyle::from_name).unwrap_or(JsonStyle::Indented))
}

fn read_http(file: &str, root: &jcfg::Group) -> Result<Http, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let api = Listener {
        enabled: g.bool("http", true)?,
        ip: g.non_empty("ip")?.unwrap_or_else(|| "0.0.0.0".into()),
        port: g.port("port", 8088)?,
    };
    let base_path = g.non_empty("base_path")?.unwrap_or_else(|| "/janus".into());
    let json = json_style(&mut g)?;
    let events = g.bool("events", true)?;
    let demo = g.bool("demo", true)?;
    let demo_assets = g.non_empty("demo_assets")?.map(PathBuf::from);
    let header_timeout = g.int("header_timeout", 10, 1, 3600)? as u64;
    let idle_timeout = g.int("idle_timeout", 120, 1, 86_400)? as u64;
    let max_connections = g.int("max_connections", 10_000, 1, 1 << 24)? as usize;
    warn_tls(&mut g, file, "https")?;
    g.accept(&["secure_port"]);
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = Listener {
        enabled: a.bool("admin_http", false)?,
        ip: a.non_empty("admin_ip")?.unwrap_or_else(|| "127.0.0.1".into()),
        port: a.port("admin_port", 7088)?,
    };
    let admin_base_path = a.non_empty("admin_base_path")?.unwrap_or_else(|| "/admin".into());
    warn_tls(&mut a, file, "admin_https")?;
    a.accept(&["admin_secure_port"]);
    a.finish();
    let mut c = Section::new(file, root, "cors");
    let allow_origin = c.non_empty("allow_origin")?;
    let enforce_cors = c.bool("enforce_cors", false)?;
    c.finish();
    Section::new(file, root, "certificates").finish();
    warn_unknown_sections(file, root, &["general", "admin", "cors", "certificates"]);
    Ok(Http {
        api,
        base_path: normalise_path(&base_path),
        admin,
        admin_base_path: normalise_path(&admin_base_path),
        allow_origin,
        enforce_cors,
        json,
        events,
        demo,
        demo_assets,
        header_timeout,
        idle_timeout,
        max_connections,
    })
}

fn read_ws(file: &str, root: &jcfg::Group) -> Result<Ws, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let api = Listener {
        enabled: g.bool("ws", true)?,
        ip: g.non_empty("ws_ip")?.unwrap_or_else(|| "0.0.0.0".into()),
        port: g.port("ws_port", 8188)?,
    };
    let json = json_style(&mut g)?;
    let events = g.bool("events", true)?;
    let max_connections = g.int("max_connections", 10_000, 1, 1 << 24)? as usize;
    warn_tls(&mut g, file, "wss")?;
    g.accept(&["wss_port", "ws_logging"]);
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = Listener {
        enabled: a.bool("admin_ws", false)?,
        ip: a.non_empty("admin_ws_ip")?.unwrap_or_else(|| "127.0.0.1".into()),
        port: a.port("admin_ws_port", 7188)?,
    };
    warn_tls(&mut a, file, "admin_wss")?;
    a.accept(&["admin_wss_port"]);
    a.finish();
    Section::new(file, root, "cors").finish();
    Section::new(file, root, "certificates").finish();
    warn_unknown_sections(file, root, &["general", "admin", "cors", "certificates"]);
    Ok(Ws { api, admin, json, events, max_connections })
}

fn read_unix(file: &str, root: &jcfg::Group) -> Result<Unix, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let json = indented_unless_named(&mut g)?;
    let events = g.bool("events", true)?;
    let max_connections = g.int("max_connections", 10_000, 1, 1 << 24)? as usize;
    let api = unix_listener(file, &mut g, ["enabled", "path", "type"], "Janus API")?;
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = unix_listener(file, &mut a, ["admin_enabled", "admin_path", "admin_type"], "admin API")?;
    a.finish();
    warn_unknown_sections(file, root, &["general", "admin"]);
    Ok(Unix { api, admin, json, events, max_connections })
}

fn read_mqtt(file: &str, root: &jcfg::Group, folder: Option<&Path>) -> Result<Option<Mqtt>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let api = match g.bool("enabled", false)? {
        true => mqtt_topics(file, &mut g, "Janus API")?,
        false => None,
    };
    let json = indented_unless_named(&mut g)?;
    let events = g.bool("events", true)?;
    let url = g.non_empty("url")?.unwrap_or_else(|| "tcp://localhost:1883".into());
    let guest = |v: Option<String>| v.unwrap_or_else(|| "guest".into());
    let (client_id, username, password) =
        (guest(g.non_empty("client_id")?), guest(g.string("username")?), guest(g.string("password")?));
    let keep_alive_s = g.int("keep_alive_interval", 20, 0, 65535)? as u16;
    let clean_session = g.int("cleansession", 0, 0, 1)? == 1;
    let max_inflight = g.int("max_inflight", 10, 1, 65535)? as usize;
    let version = match g.non_empty("mqtt_version")? {
        None => crate::mqtt::Version::default(),
        Some(v) => match crate::mqtt::Version::from_name(&v) {
            Some(version) => version,
            None => {
                tracing::warn!("{file}: mqtt_version {v} is unknown (3.1, 3.1.1 or 5); the MQTT transport is not started");
                return Ok(None);
            }
        },
    };
    // MQTT 5's (read only for it, as Janus does): how long a request's properties wait for its
    // answers, which of its user properties they carry back, and which are added.
    const V5: [&str; 3] =
        ["vacuum_interval", "proxy_transaction_user_properties", "add_transaction_user_properties"];
    let (mut vacuum_s, mut proxy_user_properties, mut add_user_properties) = (60, Vec::new(), Vec::new());
    if version == crate::mqtt::Version::V5 {
        vacuum_s = match g.int("vacuum_interval", 60, i64::MIN, 1 << 31)? {
            s if s > 0 => s as u64,
            s => {
                tracing::warn!("{file}: vacuum_interval {s} is not positive; 60 s it is, as Janus's");
                60
            }
        };
        proxy_user_properties = g.strings(V5[1])?;
        add_user_properties = g.pairs(V5[2])?;
    } else {
        g.accept(&V5);
    }
    const TLS: [&str; 5] = ["cacertfile", "certfile", "keyfile", "verify_peer", ""];
    let tls = match g.bool("ssl_enabled", false)? {
        true => Some(tls_files(&mut g, folder, TLS)?),
        false => {
            g.accept(&TLS[..4]);
            None
        }
    };
    g.accept(&["max_buffered", "disconnect_timeout"]);
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = match a.bool("admin_enabled", false)? {
        true => mqtt_topics(file, &mut a, "admin API")?,
        false => None,
    };
    a.finish();
    let mut st = Section::new(file, root, "status");
    let status = match st.bool("enabled", false)? {
        true => Some(MqttStatus {
            topic: st.non_empty("topic")?.unwrap_or_else(|| "status".into()),
            connect_message: st.string("connect_message")?,
            disconnect_message: st.string("disconnect_message")?,
            qos: mqtt_qos(&mut st, "qos")?,
            retain: st.bool("retain", false)?,
        }),
        false => None,
    };
    st.finish();
    warn_unknown_sections(file, root, &["general", "admin", "status"]);
    if api.is_none() && admin.is_none() {
        return Ok(None);
    }
    let mqtt = Mqtt {
        url,
        version,
        vacuum_s,
        proxy_user_properties,
        add_user_properties,
        client_id,
        username,
        password,
        keep_alive_s,
        clean_session,
        max_inflight,
        api,
        admin,
        status,
        json,
        events,
        tls,
    };
    Ok(Some(mqtt))
}

fn read_rabbitmq(
    file: &str,
    root: &jcfg::Group,
    folder: Option<&Path>,
) -> Result<Option<RabbitMq>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let api = match g.bool("enabled", false)? {
        true => rabbitmq_queues(file, &mut g, API_QUEUES, "Janus API")?,
        false => None,
    };
    let config = RabbitMq {
        broker: AmqpBroker::read(&mut g, folder, ["janus_exchange", "janus_exchange_type"], "ssl_enabled")?,
        api,
        admin: None,
        json: indented_unless_named(&mut g)?,
        events: g.bool("events", true)?,
    };
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = match a.bool("admin_enabled", false)? {
        true => rabbitmq_queues(file, &mut a, ADMIN_QUEUES, "admin API")?,
        false => None,
    };
    a.finish();
    warn_unknown_sections(file, root, &["general", "admin"]);
    Ok((config.api.is_some() || admin.is_some()).then_some(RabbitMq { admin, ..config }))
}

/// The keys of the Janus API's queues, and of the admin API's.
const API_QUEUES: [&str; 7] = [
    "queue_name",
    "to_janus",
    "from_janus",
    "declare_outgoing_queue",
    "queue_durable",
    "queue_exclusive",
    "queue_autodelete",
];
const ADMIN_QUEUES: [&str; 7] = [
    "queue_name_admin",
    "to_janus_admin",
    "from_janus_admin",
    "declare_outgoing_queue_admin",
    "queue_durable_admin",
    "queue_exclusive_admin",
    "queue_autodelete_admin",
];

/// An API's queues from its keys: `to_janus` and `from_janus` are needed (Janus does not start
/// the transport without them; here that API is left out, warned).
fn rabbitmq_queues(
    file: &str,
    s: &mut Section<'_>,
    [name, to, from, declare, durable, exclusive, auto_delete]: [&'static str; 7],
    what: &str,
) -> Result<Option<RabbitMqQueues>, ConfigError> {
    let queue_name = s.non_empty(name)?;
    let (to_janus, from_janus) = (s.non_empty(to)?, s.non_empty(from)?);
    let declare_outgoing_queue = s.bool(declare, true)?;
    let durable = s.bool(durable, false)?;
    let exclusive = s.bool(exclusive, false)?;
    let auto_delete = s.bool(auto_delete, false)?;
    match (to_janus, from_janus) {
        (Some(to_janus), Some(from_janus)) => Ok(Some(RabbitMqQueues {
            queue_name,
            to_janus,
            from_janus,
            declare_outgoing_queue,
            durable,
            exclusive,
            auto_delete,
        })),
        _ => {
            tracing::warn!("{file}: the {what} needs {to} and {from}; not started");
            Ok(None)
        }
    }
}

fn read_nanomsg(file: &str, root: &jcfg::Group) -> Result<Option<Nanomsg>, ConfigError> {
    let mut g = Section::new(file, root, "general");
    let api = nanomsg_socket(file, &mut g, ["enabled", "address", "mode"], "Janus API")?;
    let json = indented_unless_named(&mut g)?;
    let events = g.bool("events", true)?;
    g.finish();
    let mut a = Section::new(file, root, "admin");
    let admin = nanomsg_socket(file, &mut a, ["admin_enabled", "admin_address", "admin_mode"], "admin API")?;
    a.finish();
    warn_unknown_sections(file, root, &["general", "admin"]);
    Ok((api.is_some() || admin.is_some()).then_some(Nanomsg { api, admin, json, events }))
}

/// One API's socket from its `enabled`, `address` and `mode` keys: none when it is not enabled,
/// or has no address or an unknown mode (warned: Janus does not start it either).
fn nanomsg_socket<'a>(
    file: &str,
    s: &mut Section<'a>,
    [enabled, address, mode]: [&'a str; 3],
    what: &str,
) -> Result<Option<NanomsgSocket>, ConfigError> {
    let on = s.bool(enabled, false)?;
    let (address, mode) = (s.non_empty(address)?, s.non_empty(mode)?);
    if !on {
        return Ok(None);
    }
    let Some(address) = address else {
        tracing::warn!("{file}: no address for the Nanomsg {what}; not started");
        return Ok(None);
    };
    let bind = match mode.map(|m| m.to_ascii_lowercase()).as_deref() {
        None | Some("bind") => true,
        Some("connect") => false,
        Some(other) => {
            tracing::warn!("{file}: unsupported mode '{other}' for the Nanomsg {what}; not started");
            return Ok(None);
        }
    };
    Ok(Some(NanomsgSocket { address, bind }))
}

/// A QoS (default 1; 2 is taken as 1: the client speaks QoS 0 and 1).
fn mqtt_qos<'a>(s: &mut Section<'a>, key: &'a str) -> Result<u8, ConfigError> {
    Ok(s.int(key, 1, 0, 2)?.min(1) as u8)
}

/// An API's topics: both are needed (Janus does not start the transport without them; here
/// that API is left out, warned).
fn mqtt_topics(file: &str, s: &mut Section<'_>, what: &str) -> Result<Option<MqttTopics>, ConfigError> {
    let (subscribe, publish) = (s.non_empty("subscribe_topic")?, s.non_empty("publish_topic")?);
    let (subscribe_qos, publish_qos) = (mqtt_qos(s, "subscribe_qos")?, mqtt_qos(s, "publish_qos")?);
    match (subscribe, publish) {
        (Some(subscribe), Some(publish)) => {
            Ok(Some(MqttTopics { subscribe, subscribe_qos, publish, publish_qos }))
        }
        _ => {
            tracing::warn!("{file}: the {what} needs subscribe_topic and publish_topic; not started");
            Ok(None)
        }
    }
}

/// One listener of the Unix-sockets file from its `enabled`, `path` and `type` keys: none when
/// it is not enabled, or has no path (warned, as Janus does); an unknown type means
/// `SOCK_SEQPACKET` (warned, as Janus does).
fn unix_listener<'a>(
    file: &str,
    s: &mut Section<'a>,
    [enabled, path, kind]: [&'a str; 3],
    what: &str,
) -> Result<Option<UnixListener>, ConfigError> {
    let on = s.bool(enabled, false)?;
    let (path, kind) = (s.non_empty(path)?, s.non_empty(kind)?);
    if !on {
        return Ok(None);
    }
    let Some(path) = path else {
        tracing::warn!("{file}: no path configured, the Unix-sockets {what} is not started");
        return Ok(None);
    };
    let datagram = match kind.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("SOCK_SEQPACKET") => false,
        Some("SOCK_DGRAM") => true,
        Some(other) => {
            tracing::warn!("{file}: unknown type {other}, assuming SOCK_SEQPACKET");
            false
        }
    };
    Ok(Some(UnixListener { path: PathBuf::from(path), datagram }))
}

/// Portunus has no TLS listeners yet: turning one on is warned about (terminate TLS in front).
fn warn_tls<'a>(s: &mut Section<'a>, file: &str, key: &'a str) -> Result<(), ConfigError> {
    if s.bool(key, false)? {
        tracing::warn!("{file}: {key} = true is not supported by Portunus (terminate TLS in front); ignored");
    }
    Ok(())
}

fn warn_unknown_sections(file: &str, root: &jcfg::Group, known: &[&str]) {
    for (name, node) in &root.entries {
        if !known.contains(&name.as_str()) {
            tracing::warn!(
                "{file}:{}: section '{name}' is not supported by Portunus and is ignored",
                node.line
            );
        }
    }
}

/// `/janus/` and `janus` both become `/janus`.
fn normalise_path(p: &str) -> String {
    let trimmed = p.trim_matches('/');
    format!("/{trimmed}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_defaults_load() {
        let c = Config::embedded().expect("embedded config loads");
        assert_eq!(c.http.api.port, 8088);
        assert_eq!(c.http.base_path, "/janus");
        assert_eq!(c.ws.api.port, 8188);
        assert!(c.http.admin.enabled);
        assert_eq!(c.http.admin.port, 7088);
        assert_eq!(c.http.admin.ip, "127.0.0.1");
        assert_eq!(c.http.admin_base_path, "/admin");
        assert_eq!(c.general.session_timeout, 60);
    }

    /// `plugins: { disable }` names plugins as Janus does (its library names) or as Portunus's
    /// files and packages are named.
    #[test]
    fn disabled_plugins_are_named_as_in_janus() {
        let text =
            "plugins: { disable = \"libjanus_videocall.so, echotest.wasm,nosip, janus.plugin.sip\" }\n";
        let root = jcfg::parse(text).expect("parses");
        let (general, _, _) = read_core("janus.jcfg", &root, None).expect("reads");
        assert_eq!(
            general.disabled_plugins,
            ["janus.plugin.videocall", "janus.plugin.echotest", "janus.plugin.nosip", "janus.plugin.sip"]
        );
        let none = read_core("janus.jcfg", &jcfg::parse("plugins: {}\n").unwrap(), None).unwrap();
        assert!(none.0.disabled_plugins.is_empty());
    }

    /// `transports: { disable }` with Janus's library names turns Portunus's HTTP or WebSocket
    /// listeners off (Janus API and admin); Janus's other transports are not there to disable.
    #[test]
    fn disabled_transports_are_not_started() {
        let core = "transports: { disable = \"libjanus_websockets.so,libjanus_rabbitmq.so\" }\n";
        let texts = [
            ("janus.jcfg".to_owned(), Some(core.to_owned())),
            ("http".to_owned(), Some("general: { http = true }\nadmin: { admin_http = true }\n".to_owned())),
            ("ws".to_owned(), Some("general: { ws = true }\nadmin: { admin_ws = true }\n".to_owned())),
        ];
        let c = Config::from_texts(&texts, BTreeMap::new(), None).expect("loads");
        assert!(c.http.api.enabled && c.http.admin.enabled);
        assert!(!c.ws.api.enabled && !c.ws.admin.enabled);
        assert_eq!(c.general.disabled_transports, ["websockets", "rabbitmq"]);
    }

    /// The Unix-sockets file as Janus reads it: a listener needs `enabled` and a path, an
    /// unknown type means SOCK_SEQPACKET; `libjanus_pfunix.so` in `transports.disable` turns
    /// both off.
    #[test]
    fn unix_sockets_are_read_as_janus_reads_them() {
        let unix = |core: &str, file: &str| {
            let texts = [
                ("janus.jcfg".to_owned(), Some(core.to_owned())),
                ("http".to_owned(), None),
                ("ws".to_owned(), None),
                ("pfunix".to_owned(), Some(file.to_owned())),
            ];
            Config::from_texts(&texts, BTreeMap::new(), None).expect("loads").unix
        };
        let file =
            "general: { enabled = true, path = \"/run/j\", type = \"sock_dgram\", json = \"plain\" }\n\
                    admin: { admin_enabled = true, admin_path = \"/run/a\", admin_type = \"SOCK_STREAM\" }\n";
        let u = unix("", file);
        assert_eq!(u.api, Some(UnixListener { path: "/run/j".into(), datagram: true }));
        assert_eq!(u.admin, Some(UnixListener { path: "/run/a".into(), datagram: false }));
        assert_eq!((u.json, u.events), (JsonStyle::Plain, true));
        let u = unix("", "general: { enabled = true }\nadmin: { admin_path = \"/run/a\" }\n");
        assert_eq!((u.api, u.admin), (None, None), "no path, or not enabled");
        let u = unix("transports: { disable = \"libjanus_pfunix.so\" }\n", file);
        assert_eq!((u.api, u.admin), (None, None));
        assert_eq!(Config::embedded().unwrap().unix.api, None);
    }

    /// The MQTT transport's file as Janus reads it: Janus's defaults, an API needs both its
    /// topics, MQTT 5's settings.
    #[test]
    fn the_mqtt_transport_is_read_as_janus_reads_it() {
        let mqtt = |core: &str, file: &str| {
            let texts = [
                ("janus.jcfg".to_owned(), Some(core.to_owned())),
                ("http".to_owned(), None),
                ("ws".to_owned(), None),
                ("pfunix".to_owned(), None),
                ("mqtt".to_owned(), Some(file.to_owned())),
            ];
            Config::from_texts(&texts, BTreeMap::new(), None).expect("loads").mqtt
        };
        let file = "general: { enabled = true, subscribe_topic = \"in\", publish_topic = \"out\", publish_qos = 2 }\n\
                    admin: { admin_enabled = true, subscribe_topic = \"in-admin\" }\n\
                    status: { enabled = true, connect_message = \"up\" }\n";
        let m = mqtt("", file).expect("enabled");
        let topics =
            MqttTopics { subscribe: "in".into(), subscribe_qos: 1, publish: "out".into(), publish_qos: 1 };
        assert_eq!((m.api, m.admin), (Some(topics), None), "the admin API lacks its publish topic");
        assert_eq!(
            (m.url.as_str(), m.client_id.as_str(), m.username.as_str()),
            ("tcp://localhost:1883", "guest", "guest")
        );
        assert_eq!(
            (m.keep_alive_s, m.clean_session, m.max_inflight, m.json),
            (20, false, 10, JsonStyle::Indented)
        );
        let status = m.status.expect("status");
        assert_eq!(
            (status.topic.as_str(), status.connect_message.as_deref(), status.qos),
            ("status", Some("up"), 1)
        );
        assert_eq!(status.disconnect_message, None);
        assert_eq!((m.version, m.vacuum_s), (crate::mqtt::Version::V3_1_1, 60));
        // MQTT 5 with its settings; an unknown version is not started.
        let version_5 = file.replace(
            "publish_qos = 2",
            "mqtt_version = \"5\", vacuum_interval = 30, proxy_transaction_user_properties = [\"trace\"],\n\
             add_transaction_user_properties = ([\"by\", \"janus\"], [\"n\", \"2\"])",
        );
        let m5 = mqtt("", &version_5).expect("MQTT 5 is spoken");
        assert_eq!(
            (m5.version, m5.vacuum_s, m5.proxy_user_properties),
            (crate::mqtt::Version::V5, 30, vec!["trace".into()])
        );
        assert_eq!(m5.add_user_properties, [("by".into(), "janus".into()), ("n".into(), "2".into())]);
        assert_eq!(mqtt("", &file.replace("publish_qos = 2", "mqtt_version = \"4\"")), None);
        // Janus's fallback for a vacuum interval that is not positive.
        let zero = version_5.replace("vacuum_interval = 30", "vacuum_interval = 0");
        assert_eq!(mqtt("", &zero).expect("started").vacuum_s, 60);
        let bad_pairs = file
            .replace("publish_qos = 2", "mqtt_version = 5, add_transaction_user_properties = ([\"lonely\"])");
        let texts = [
            ("janus.jcfg".to_owned(), None),
            ("http".to_owned(), None),
            ("ws".to_owned(), None),
            ("pfunix".to_owned(), None),
            ("mqtt".to_owned(), Some(bad_pairs)),
        ];
        assert!(Config::from_texts(&texts, BTreeMap::new(), None).is_err(), "a pair of one is refused");
        assert_eq!(mqtt("transports: { disable = \"libjanus_mqtt.so\" }\n", file), None);
        assert_eq!(mqtt("", "general: { enabled = false }\n"), None);
    }

    /// The RabbitMQ transport's file as Janus reads it: its defaults, both queues needed.
    #[test]
    fn the_rabbitmq_transport_is_read_as_janus_reads_it() {
        let rabbitmq = |file: &str| {
            let texts = [
                ("janus.jcfg".to_owned(), None),
                ("http".to_owned(), None),
                ("ws".to_owned(), None),
                ("pfunix".to_owned(), None),
                ("mqtt".to_owned(), None),
                ("nanomsg".to_owned(), None),
                ("rabbitmq".to_owned(), Some(file.to_owned())),
            ];
            Config::from_texts(&texts, BTreeMap::new(), None).expect("loads").rabbitmq
        };
        let r = rabbitmq(
            "general: { enabled = true, to_janus = \"in\", from_janus = \"out\", queue_durable = true }\n\
             admin: { admin_enabled = true, to_janus_admin = \"in-admin\" }\n",
        )
        .expect("enabled");
        let api = r.api.expect("the Janus API");
        assert_eq!(
            (api.to_janus.as_str(), api.from_janus.as_str(), api.durable, api.declare_outgoing_queue),
            ("in", "out", true, true)
        );
        assert_eq!(r.admin, None, "the admin API lacks its outgoing key");
        let b = &r.broker;
        assert_eq!(
            (b.host.as_str(), b.port, b.username.as_str(), b.vhost.as_str()),
            ("localhost", 5672, "guest", "/")
        );
        assert_eq!(
            (b.exchange.as_deref(), b.exchange_type.as_str(), r.json),
            (None, "fanout", JsonStyle::Indented)
        );
        assert_eq!(rabbitmq("general: { enabled = true, to_janus = \"in\" }\n"), None);
    }

    #[test]
    fn a_janus_folder_gets_the_shipped_sandboxes() {
        let dir = std::env::temp_dir().join(format!("portunus-sandbox-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Janus's own SIP file: no sandbox section. VideoRoom: an operator's own section.
        std::fs::write(dir.join("janus.plugin.sip.jcfg"), "general: { local_port = 5060 }\n").unwrap();
        let own = "sandbox: { memory_mb = 32 }\n";
        std::fs::write(dir.join("janus.plugin.videoroom.jcfg"), own).unwrap();
        let c = Config::load_folder(&dir).expect("the folder loads");
        std::fs::remove_dir_all(&dir).unwrap();
        let sip = &c.plugins["janus.plugin.sip"];
        assert_eq!(sip["general"]["local_port"], 5060);
        assert_eq!(sip["sandbox"]["udp_bind"], "*:*", "{sip}");
        assert_eq!(c.plugins["janus.plugin.videoroom"]["sandbox"], serde_json::json!({"memory_mb": 32}));
        // No file at all: the shipped sandbox alone; none where the shipped file has none.
        assert_eq!(
            c.plugins["janus.plugin.streaming"],
            serde_json::json!({"sandbox": {"udp_bind": "*:5002-5004"}})
        );
        assert!(!c.plugins.contains_key("janus.plugin.textroom"));
    }

    #[test]
    fn min_nack_queue_is_read_and_capped_at_a_second() {
        let media = |text: &str| {
            let texts = [
                ("a.jcfg".to_owned(), Some(text.to_owned())),
                ("b".to_owned(), None),
                ("c".to_owned(), None),
            ];
            Config::from_texts(&texts, BTreeMap::new(), None).map(|c| c.media.min_nack_queue)
        };
        assert_eq!(media("").unwrap(), DEFAULT_NACK_QUEUE_MS);
        assert_eq!(media("media: { min_nack_queue = 200 }").unwrap(), 200);
        assert_eq!(media("media: { min_nack_queue = 0 }").unwrap(), 0);
        assert_eq!(media("media: { min_nack_queue = 3000 }").unwrap(), 1000);
        assert!(media("media: { min_nack_queue = -1 }").is_err());
    }

    #[test]
    fn bad_value_names_file_line_and_key() {
        let texts = [
            ("a.jcfg".to_owned(), Some("general: {\n  session_timeout = \"soon\"\n}\n".to_owned())),
            ("b.jcfg".to_owned(), None),
            ("c.jcfg".to_owned(), None),
        ];
        let err = Config::from_texts(&texts, BTreeMap::new(), None).unwrap_err();
        let text = err.to_string();
        assert!(text.starts_with("a.jcfg:2: general.session_timeout:"), "{text}");
    }

    #[test]
    fn string_numbers_and_yes_no_are_accepted() {
        let texts = [
            (
                "a.jcfg".to_owned(),
                Some("general: { session_timeout = \"30\"; token_auth = \"yes\" }".to_owned()),
            ),
            ("b.jcfg".to_owned(), None),
            ("c.jcfg".to_owned(), None),
        ];
        let c = Config::from_texts(&texts, BTreeMap::new(), None).unwrap();
        assert_eq!(c.general.session_timeout, 30);
        assert!(c.general.token_auth);
    }
}

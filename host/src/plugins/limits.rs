//! Per-plugin sandbox limits, from the `sandbox` section of `janus.plugin.<name>.jcfg`.

use serde_json::Value;

use super::policy::AddrPolicy;
use super::sockets::BindPolicy;

/// What one plugin may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// Linear memories and tables together, bytes (`memory_mb`, default 64).
    pub memory_bytes: usize,
    /// CPU time per call, milliseconds (`cpu_ms_per_call`, default 100).
    pub cpu_ms_per_call: u64,
    /// Largest event a plugin may push, bytes (`max_event_bytes`, default 256 KiB).
    pub max_event_bytes: usize,
    /// Most forwarding rules the plugin may hold (`max_rules`, default 10000).
    pub max_rules: usize,
    /// Largest snapshot, bytes (`max_snapshot_bytes`, default 16 MiB).
    pub max_snapshot_bytes: usize,
    /// Crashes within `crash_window_s` after which the plugin fails closed (`max_crashes`, 5).
    pub max_crashes: usize,
    /// The crash-counting window, seconds (`crash_window_s`, default 60).
    pub crash_window_s: u64,
    /// Events one call may deliver, counting each handle of a broadcast
    /// (`max_events_per_call`, default 10000).
    pub max_events_per_call: usize,
    /// Timers pending at once (`max_timers`, default 10000).
    pub max_timers: usize,
    /// Mailbox depth beyond which data-channel messages and media events for the plugin are
    /// dropped with a counted warning (`max_queued`, default 10000).
    pub max_queued: usize,
    /// How long a request waits for the plugin's answer before the client gets an error,
    /// milliseconds (`call_timeout_ms`, default 5000); the request still runs later.
    pub call_timeout_ms: u64,
    /// How often the state is checkpointed while the mailbox never runs dry, milliseconds
    /// (`busy_checkpoint_ms`, default 100): at most this much work is lost to a crash then.
    pub busy_checkpoint_ms: u64,
    /// Where the plugin may send media as plain RTP (`forward-rtp`), datagrams and HTTP posts
    /// (`send_to`): `*` (the default) or a list of addresses and CIDR blocks.
    pub send_to: AddrPolicy,
    /// Where the plugin may bind UDP sockets (`udp_bind`, e.g. `"0.0.0.0:5060, 127.0.0.1:*"`;
    /// default: nowhere). Datagrams it sends go only where `send_to` allows.
    pub udp_bind: BindPolicy,
    /// The folders whose files the plugin may play (`read_dir`, comma-separated; default:
    /// none): Streaming's file mountpoints.
    pub read_dir: Vec<std::path::PathBuf>,
    /// The folders where the host may write files for the plugin (`write_dir`,
    /// comma-separated; default: none): AudioBridge's recordings.
    pub write_dir: Vec<std::path::PathBuf>,
    /// Sockets open at once (`max_sockets`, default 16).
    pub max_sockets: usize,
    /// Plain RTP legs and RTP inputs open at once (`max_legs`, default 1000).
    pub max_legs: usize,
    /// Datagrams a socket may send per second (`udp_rate`, default 1000).
    pub udp_rate: u32,
    /// Largest datagram a plugin may send, bytes (`udp_max_bytes`, default 16384).
    pub udp_max_bytes: usize,
    /// The DNS servers the plugin's names are looked up at, each in turn until one answers
    /// (`nameserver`: `ip` or `ip:port`, several separated by commas or spaces, three at most;
    /// none: the system's resolver, and `/etc/resolv.conf`'s servers for SRV records).
    pub nameservers: Vec<std::net::SocketAddr>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            memory_bytes: 64 << 20,
            cpu_ms_per_call: 100,
            max_event_bytes: 256 << 10,
            max_rules: 10_000,
            max_snapshot_bytes: 16 << 20,
            max_crashes: 5,
            crash_window_s: 60,
            max_events_per_call: 10_000,
            max_timers: 10_000,
            max_queued: 10_000,
            call_timeout_ms: 5_000,
            busy_checkpoint_ms: 100,
            send_to: AddrPolicy::any(),
            udp_bind: BindPolicy::default(),
            read_dir: Vec::new(),
            write_dir: Vec::new(),
            max_sockets: 16,
            max_legs: 1000,
            udp_rate: 1000,
            udp_max_bytes: 16 << 10,
            nameservers: Vec::new(),
        }
    }
}

/// An address policy from the sandbox section; none (and a warning) when it does not parse:
/// the caller then allows nothing rather than everything.
fn policy<P>(package: &str, key: &str, value: &Value, parse: fn(&str) -> Result<P, String>) -> Option<P> {
    let parsed = value.as_str().ok_or_else(|| "must be a string".to_owned()).and_then(parse);
    parsed.map_err(|e| tracing::warn!("{package}: sandbox.{key}: {e}; nothing allowed")).ok()
}

/// `sandbox.nameserver`'s servers: `ip` or `ip:port` (port 53), separated by commas or spaces;
/// none when one does not parse, or past [`crate::dns::MAX_SERVERS`].
fn nameservers(text: &str) -> Option<Vec<std::net::SocketAddr>> {
    let servers = text.split([',', ' ', '\t']).filter(|s| !s.is_empty()).map(|s| {
        s.parse::<std::net::SocketAddr>()
            .or_else(|_| s.parse::<std::net::IpAddr>().map(|ip| (ip, 53).into()))
            .ok()
    });
    let servers: Option<Vec<_>> = servers.collect();
    servers.filter(|s| !s.is_empty() && s.len() <= crate::dns::MAX_SERVERS)
}

impl Limits {
    /// Reads the `sandbox` section of a plugin's configuration (as JSON); a missing or
    /// malformed value keeps the default and is reported.
    pub fn from_config(package: &str, config: &Value) -> Self {
        let mut l = Self::default();
        let Some(sandbox) = config.get("sandbox").and_then(Value::as_object) else {
            return l;
        };
        for (key, value) in sandbox {
            match key.as_str() {
                "send_to" => {
                    l.send_to =
                        policy(package, key, value, AddrPolicy::parse).unwrap_or_else(AddrPolicy::none);
                    continue;
                }
                "udp_bind" => {
                    l.udp_bind = policy(package, key, value, BindPolicy::parse).unwrap_or_default();
                    continue;
                }
                "nameserver" => {
                    let text = value.as_str().unwrap_or_default().trim();
                    match nameservers(text) {
                        Some(servers) => l.nameservers = servers,
                        None => tracing::warn!("{package}: sandbox.nameserver: '{text}' is not a list of up to {} addresses; the system's resolver is used", crate::dns::MAX_SERVERS),
                    }
                    continue;
                }
                "read_dir" | "write_dir" => {
                    let dirs = value
                        .as_str()
                        .unwrap_or_default()
                        .split(',')
                        .map(str::trim)
                        .filter(|d| !d.is_empty());
                    // Compared with canonical paths: what does not exist allows nothing.
                    let dirs = dirs.filter_map(|d| std::fs::canonicalize(d).ok()).collect();
                    if key == "read_dir" {
                        l.read_dir = dirs;
                    } else {
                        l.write_dir = dirs;
                    }
                    continue;
                }
                _ => {}
            }
            let n = value.as_u64().or_else(|| value.as_str().and_then(|s| s.trim().parse().ok()));
            let Some(n) = n.filter(|n| *n > 0) else {
                tracing::warn!("{package}: sandbox.{key} must be a positive integer; default kept");
                continue;
            };
            let n_usize = usize::try_from(n).unwrap_or(usize::MAX);
            match key.as_str() {
                "memory_mb" => l.memory_bytes = n_usize.saturating_mul(1 << 20),
                "cpu_ms_per_call" => l.cpu_ms_per_call = n,
                "max_event_bytes" => l.max_event_bytes = n_usize,
                "max_rules" => l.max_rules = n_usize,
                "max_snapshot_bytes" => l.max_snapshot_bytes = n_usize,
                "max_crashes" => l.max_crashes = n_usize,
                "crash_window_s" => l.crash_window_s = n,
                "max_events_per_call" => l.max_events_per_call = n_usize,
                "max_timers" => l.max_timers = n_usize,
                "max_queued" => l.max_queued = n_usize,
                "call_timeout_ms" => l.call_timeout_ms = n,
                "busy_checkpoint_ms" => l.busy_checkpoint_ms = n,
                "max_sockets" => l.max_sockets = n_usize,
                "max_legs" => l.max_legs = n_usize,
                "udp_rate" => l.udp_rate = u32::try_from(n).unwrap_or(u32::MAX),
                "udp_max_bytes" => l.udp_max_bytes = n_usize,
                other => tracing::warn!("{package}: unknown setting sandbox.{other} ignored"),
            }
        }
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_sandbox_section() {
        let c = json!({"sandbox": {"memory_mb": 8, "cpu_ms_per_call": "20", "max_rules": 0, "busy_checkpoint_ms": 5}});
        let l = Limits::from_config("p", &c);
        assert_eq!(l.memory_bytes, 8 << 20);
        assert_eq!(l.busy_checkpoint_ms, 5);
        assert_eq!(l.cpu_ms_per_call, 20);
        assert_eq!(l.max_rules, Limits::default().max_rules);
        assert!(l.send_to.allows("192.0.2.1".parse().unwrap()), "any by default");
        let c = json!({"sandbox": {"send_to": "127.0.0.1/8"}});
        let l = Limits::from_config("p", &c);
        assert!(l.send_to.allows("127.0.0.9".parse().unwrap()));
        assert!(!l.send_to.allows("192.0.2.1".parse().unwrap()));
        // A policy that does not parse allows nothing (rather than everything).
        let l = Limits::from_config("p", &json!({"sandbox": {"send_to": "example.com"}}));
        assert!(!l.send_to.allows("127.0.0.1".parse().unwrap()));
    }

    #[test]
    fn nameservers_are_a_list() {
        let servers =
            |text: &str| Limits::from_config("p", &json!({"sandbox": {"nameserver": text}})).nameservers;
        let addr = |s: &str| s.parse::<std::net::SocketAddr>().unwrap();
        assert_eq!(servers("10.0.0.1"), [addr("10.0.0.1:53")]);
        assert_eq!(
            servers("10.0.0.1, 127.0.0.1:5353 [::1]:53"),
            [addr("10.0.0.1:53"), addr("127.0.0.1:5353"), addr("[::1]:53")]
        );
        // One that does not parse, or a fourth, leaves the system's resolver.
        assert!(servers("10.0.0.1, dns.example").is_empty());
        assert!(servers("10.0.0.1 10.0.0.2 10.0.0.3 10.0.0.4").is_empty());
        assert!(servers("").is_empty());
    }
}

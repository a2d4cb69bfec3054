//! `janus.eventhandler.gelfevh`, Janus's GELF event handler: each event goes to a Graylog
//! server (`backend`, `port`) as a GELF 1.1 message, as Janus writes it: `version`, `host` (the
//! event's emitter), `timestamp` (seconds), `level` (the event's type), `short_message` (the
//! type's title: `Sessions`, `WebRTC`…) and `full_message` (the event); checked against Janus
//! 1.1.2's datagrams. Over UDP (the default) a message longer than
//! `max_message_len` goes in GELF chunks (at most [`MAX_CHUNKS`]), gzipped first with
//! `compress`; over TCP each message ends with a zero byte, and a connection that failed is made
//! again for the next message. Admin `query_eventhandler` with `{"request": "tweak", …}`
//! changes the settings while it runs (Janus's: `backend` and `port` are required).

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Map, Value};
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;

use super::Kind;
use crate::api::module_query::{self as q, QueryResult};
use crate::config::events::GelfEvh;
use crate::config::JsonStyle;

/// The most chunks of one message (GELF's 128).
pub const MAX_CHUNKS: usize = 128;
/// GELF's chunk magic.
const CHUNK_MAGIC: [u8; 2] = [0x1e, 0x0f];

/// The settings `tweak` changes.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Settings {
    backend: String,
    port: u16,
    tcp: bool,
    max_message_len: usize,
    gzip_level: Option<u32>,
}

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    settings: Mutex<Settings>,
}

impl Shared {
    /// The handler's settings from its file; an error without `backend` (Janus does not load
    /// then either).
    pub fn new(evh: &GelfEvh) -> Result<Self, String> {
        if evh.backend.trim().is_empty() {
            return Err("no backend".into());
        }
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("gelfevh events: unknown event types {unknown:?} left out");
        }
        Ok(Self {
            mask: Arc::new(AtomicU32::new(mask)),
            settings: Mutex::new(Settings {
                backend: evh.backend.clone(),
                port: evh.port,
                tcp: evh.tcp,
                max_message_len: evh.max_message_len,
                gzip_level: evh.gzip_level,
            }),
        })
    }

    fn settings(&self) -> Settings {
        self.settings.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Answers admin `query_eventhandler` (`tweak` is the only request, as in Janus).
    pub fn query(&self, request: Option<&Value>) -> Value {
        super::tweak(request, &self.mask, |request| self.tweak(request))
    }

    fn tweak(&self, request: &Map<String, Value>) -> QueryResult<()> {
        let backend = q::opt_str(request, "backend")?;
        let port = q::opt_str(request, "port")?;
        let protocol = q::opt_str(request, "protocol")?;
        let max_len = q::opt_u64(request, "max_message_len")?;
        let compress = q::opt_bool(request, "compress")?;
        let compression = q::opt_u64(request, "compression")?;
        let (Some(backend), Some(port)) = (backend, port.and_then(|p| p.parse::<u16>().ok())) else {
            let uri = format!("{}:{}", backend.unwrap_or("(null)"), port.unwrap_or("(null)"));
            return Err((q::INVALID_ELEMENT, format!("Invalid backend URI '{uri}'")));
        };
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        (s.backend, s.port) = (backend.to_owned(), port);
        // As Janus, a protocol that is neither is UDP.
        s.tcp = protocol.is_some_and(|p| p.eq_ignore_ascii_case("tcp"));
        if let Some(len) = max_len.filter(|l| *l > 0) {
            s.max_message_len = usize::try_from(len).unwrap_or(usize::MAX).min(65_000);
        }
        let level = compression.filter(|l| *l <= 9).map_or(s.gzip_level.unwrap_or(6), |l| l as u32);
        s.gzip_level = match compress.unwrap_or(s.gzip_level.is_some()) {
            true if !s.tcp => Some(level),
            _ => None,
        };
        Ok(())
    }
}

/// An event as Janus's GELF handler writes it.
fn gelf(event: &Value) -> Value {
    let level = event["type"].as_u64().unwrap_or_default();
    let name = Kind::of_code(level).map(Kind::title);
    let seconds = event["timestamp"].as_u64().map(|us| us as f64 / 1e6);
    let now = || std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    json!({
        "timestamp": seconds.unwrap_or_else(|| now().as_secs_f64()),
        "host": event["emitter"],
        "version": "1.1",
        "level": level,
        "short_message": name,
        "full_message": event,
    })
}

/// A UDP message in GELF chunks of at most `max` bytes of it each (one datagram, as it is,
/// when it fits; none when it needs more than [`MAX_CHUNKS`]), with the message id `id`.
fn chunks(message: &[u8], max: usize, id: [u8; 8]) -> Option<Vec<Vec<u8>>> {
    if message.len() <= max {
        return Some(vec![message.to_vec()]);
    }
    let total = message.len().div_ceil(max);
    if total > MAX_CHUNKS {
        return None;
    }
    let chunk = |(i, part): (usize, &[u8])| {
        let mut c = Vec::with_capacity(12 + part.len());
        c.extend_from_slice(&CHUNK_MAGIC);
        c.extend_from_slice(&id);
        c.extend_from_slice(&[i as u8, total as u8]);
        c.extend_from_slice(part);
        c
    };
    Some(message.chunks(max).enumerate().map(chunk).collect())
}

/// Where the messages go.
enum Link {
    Udp(tokio::net::UdpSocket),
    Tcp(tokio::net::TcpStream),
}

/// A socket to the server.
async fn link(s: &Settings) -> std::io::Result<Link> {
    let to = (s.backend.as_str(), s.port);
    if s.tcp {
        return Ok(Link::Tcp(tokio::net::TcpStream::connect(to).await?));
    }
    let addr = tokio::net::lookup_host(to)
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other(format!("{} has no address", s.backend)))?;
    let local = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
    let socket = tokio::net::UdpSocket::bind(local).await?;
    socket.connect(addr).await?;
    Ok(Link::Udp(socket))
}

/// Sends one message.
async fn send(link: &mut Link, s: &Settings, text: String) -> std::io::Result<()> {
    match link {
        Link::Tcp(stream) => {
            let mut bytes = text.into_bytes();
            bytes.push(0);
            stream.write_all(&bytes).await
        }
        Link::Udp(socket) => {
            let bytes = match s.gzip_level {
                Some(level) => super::gzip(text.as_bytes(), level),
                None => text.into_bytes(),
            };
            let Some(parts) = chunks(&bytes, s.max_message_len, rand::random()) else {
                tracing::warn!(
                    "event handler: an event of {} bytes needs more than {MAX_CHUNKS} GELF chunks of \
                     {} (max_message_len); not sent",
                    bytes.len(),
                    s.max_message_len
                );
                return Ok(());
            };
            for part in parts {
                socket.send(&part).await?;
            }
            Ok(())
        }
    }
}

/// The handler's task: each event, as it comes, sent to the server. `pending` counts the
/// events not yet sent (or dropped).
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    let mut current: Option<(Settings, Link)> = None;
    // Events not sent, for a warning on the 1st, 2nd, 4th… (not one a line).
    let mut lost = 0u64;
    while let Some(event) = queue.recv().await {
        let settings = shared.settings();
        let text = crate::transport::to_text(&gelf(&event), JsonStyle::Compact);
        // A link made for other settings (a tweak), or one that failed, is made again.
        for attempt in 0..2 {
            if current.as_ref().is_none_or(|(s, _)| *s != settings) {
                match link(&settings).await {
                    Ok(l) => current = Some((settings.clone(), l)),
                    Err(e) => {
                        if crate::logging::time_to_report(&mut lost) {
                            tracing::warn!(
                                "event handler: no link to {}:{}: {e} ({lost} events not sent)",
                                settings.backend,
                                settings.port
                            );
                        }
                        current = None;
                        break;
                    }
                }
            }
            let Some((_, l)) = current.as_mut() else { break };
            match send(l, &settings, text.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::debug!(
                        "event handler: sending to {}:{} failed: {e}",
                        settings.backend,
                        settings.port
                    );
                    current = None;
                    if attempt == 1 && crate::logging::time_to_report(&mut lost) {
                        tracing::warn!(
                            "event handler: an event was not sent to {}: {e} ({lost} in all)",
                            settings.backend
                        );
                    }
                }
            }
        }
        pending.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_messages_go_in_chunks() {
        let id = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(chunks(b"short", 10, id), Some(vec![b"short".to_vec()]));
        let parts = chunks(&[7u8; 25], 10, id).expect("three chunks");
        assert_eq!(parts.len(), 3);
        for (i, p) in parts.iter().enumerate() {
            assert_eq!((&p[..2], &p[2..10], p[10], p[11]), (&CHUNK_MAGIC[..], &id[..], i as u8, 3));
        }
        assert_eq!(parts.iter().map(|p| p.len() - 12).collect::<Vec<_>>(), [10, 10, 5]);
        assert!(chunks(&[0u8; 129], 1, id).is_none());
        assert_eq!(chunks(&[0u8; 128], 1, id).map(|c| c.len()), Some(128));
    }

    #[test]
    fn events_read_as_janus_writes_them() {
        let event = json!({"emitter": "gw", "type": 32, "timestamp": 1_700_000_000_500_000u64, "event": {}});
        let g = gelf(&event);
        assert_eq!(
            (&g["version"], &g["host"], &g["level"], &g["short_message"]),
            (&json!("1.1"), &json!("gw"), &json!(32), &json!("Media"))
        );
        assert_eq!(g["timestamp"].as_f64(), Some(1_700_000_000.5));
        assert_eq!(g["full_message"], event);
    }
}

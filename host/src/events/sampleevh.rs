//! `janus.eventhandler.sampleevh`, Janus's sample event handler: events are posted as JSON
//! to an HTTP backend (`backend`, with basic authentication when `backend_user` and
//! `backend_pwd` are set), grouped in arrays of up to [`GROUP`] (`grouping`, the default) or
//! one a post. A post that cannot be sent (no connection, no answer within [`POST_TIMEOUT`])
//! is tried again `max_retransmissions` times, after `retransmissions_backoff` ms, doubled each
//! time, then dropped; the backend's answer itself is not looked at, as in Janus. With
//! `compress`, a post is gzipped at level `compression` (`Content-Encoding: gzip`). Admin
//! `query_eventhandler` with `{"request": "tweak", …}` changes the settings while it runs.

use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::sync::mpsc;

use super::Kind;
use crate::api::module_query::{self as q, QueryResult};
use crate::config::events::SampleEvh;
use crate::config::JsonStyle;
use crate::http_client::{Backend, Client, PostHeaders};
use crate::plugins::policy::AddrPolicy;

/// Most events in one post when grouping (Janus's 100).
pub const GROUP: usize = 100;
/// How long one post may take: Janus's 10 s.
pub const POST_TIMEOUT: Duration = Duration::from_secs(10);
/// The most `max_retransmissions` may be.
pub const MAX_RETRANSMISSIONS: u32 = 1000;
/// The most `retransmissions_backoff` may be, ms.
pub const MAX_BACKOFF_MS: u64 = 3_600_000;
/// `compression` when the file gives none (zlib's default, as Janus).
const DEFAULT_COMPRESSION: u32 = 6;
/// The longest wait before trying a post again.
const MAX_WAIT: Duration = Duration::from_secs(3600);

/// The settings the handler runs with, which `tweak` changes.
#[derive(Debug, Clone)]
struct Settings {
    backend: Backend,
    /// `Basic …`, from `backend_user` and `backend_pwd`.
    authorization: Option<String>,
    grouping: bool,
    json: JsonStyle,
    max_retransmissions: u32,
    backoff: Duration,
    /// `compress`: whether posts are gzipped.
    compress: bool,
    /// `compression`: the gzip level, 0 to 9.
    compression: u32,
}

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    settings: Mutex<Settings>,
    /// `backend_user` and `backend_pwd`, kept apart so a tweak may change one.
    credentials: Mutex<(Option<String>, Option<String>)>,
}

/// `Basic <base64 of user:password>`.
fn basic(user: &str, password: &str) -> String {
    format!("Basic {}", data_encoding::BASE64.encode(format!("{user}:{password}").as_bytes()))
}

impl Shared {
    /// The handler's settings from its file; an error for a wrong `backend` or `events`.
    pub fn new(evh: &SampleEvh) -> Result<Self, String> {
        let backend = Backend::parse(&evh.backend).map_err(|e| format!("backend: {e}"))?;
        // As Janus, names it does not know are left out (and said).
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("sampleevh events: unknown event types {unknown:?} left out");
        }
        let (user, password) = evh.credentials.clone().unzip();
        Ok(Self {
            mask: Arc::new(AtomicU32::new(mask)),
            settings: Mutex::new(Settings {
                backend,
                authorization: evh.credentials.as_ref().map(|(u, p)| basic(u, p)),
                grouping: evh.grouping,
                json: evh.json,
                max_retransmissions: evh.max_retransmissions,
                backoff: Duration::from_millis(evh.retransmissions_backoff_ms),
                compress: evh.gzip_level.is_some(),
                compression: evh.gzip_level.unwrap_or(DEFAULT_COMPRESSION),
            }),
            credentials: Mutex::new((user, password)),
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
        let grouping = q::opt_bool(request, "grouping")?;
        let backend = q::opt_str(request, "backend")?;
        let user = q::opt_str(request, "backend_user")?;
        let password = q::opt_str(request, "backend_pwd")?;
        let retransmissions = q::opt_u64(request, "max_retransmissions")?;
        let backoff = q::opt_u64(request, "retransmissions_backoff")?;
        let compress = q::opt_bool(request, "compress")?;
        let compression = q::opt_u64(request, "compression")?;
        let backend = backend
            .map(|url| {
                Backend::parse(url).map_err(|_| (q::INVALID_ELEMENT, format!("Invalid HTTP URI '{url}'")))
            })
            .transpose()?;
        let mut s = self.settings.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(grouping) = grouping {
            s.grouping = grouping;
        }
        if let Some(backend) = backend {
            s.backend = backend;
        }
        if user.is_some() || password.is_some() {
            let mut credentials = self.credentials.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(user) = user {
                credentials.0 = Some(user.to_owned());
            }
            if let Some(password) = password {
                credentials.1 = Some(password.to_owned());
            }
            s.authorization = match &*credentials {
                (Some(user), Some(password)) => Some(basic(user, password)),
                _ => None,
            };
        }
        // The bounds of the file's settings.
        if let Some(n) = retransmissions {
            s.max_retransmissions = n.min(MAX_RETRANSMISSIONS.into()) as u32;
        }
        if let Some(ms) = backoff {
            s.backoff = Duration::from_millis(ms.clamp(1, MAX_BACKOFF_MS));
        }
        if let Some(compress) = compress {
            s.compress = compress;
        }
        // As Janus, a level outside 0 to 9 is ignored.
        if let Some(level) = compression.filter(|l| *l <= 9) {
            s.compression = level as u32;
        }
        Ok(())
    }
}

/// The handler's task: takes events off the queue, a group at a time, and posts them.
/// `pending` counts the events not yet sent (or dropped).
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    // The backend is the operator's own: any address.
    let mut client = Client::new(AddrPolicy::any(), "the address policy");
    let mut lost = 0u64;
    while let Some(first) = queue.recv().await {
        let settings = shared.settings();
        let mut events = vec![first];
        while settings.grouping && events.len() < GROUP {
            match queue.try_recv() {
                Ok(event) => events.push(event),
                Err(_) => break,
            }
        }
        let count = events.len();
        let body = if settings.grouping { Value::Array(events) } else { events.remove(0) };
        let text = crate::transport::to_text(&body, settings.json);
        // (Gzipped or not as the settings were when the post was made, retries too.)
        let gzipped = settings.compress;
        let text = bytes::Bytes::from(match gzipped {
            true => super::gzip(text.as_bytes(), settings.compression),
            false => text.into_bytes(),
        });
        let mut tries = 0u32;
        loop {
            let settings = shared.settings();
            let with = PostHeaders { authorization: settings.authorization.as_deref(), gzipped };
            let sent = client.post(&settings.backend, text.clone(), with);
            let failed = match tokio::time::timeout(POST_TIMEOUT, sent).await {
                Ok(Ok(_)) => break,
                Ok(Err(e)) => e,
                Err(_) => format!("no answer within {} s", POST_TIMEOUT.as_secs()),
            };
            client.drop_connection();
            if tries >= settings.max_retransmissions {
                lost += count as u64;
                tracing::warn!(
                    "event handler: couldn't post to {}{}: {failed}; {count} event(s) lost ({lost} so far)",
                    settings.backend.origin(),
                    settings.backend.path()
                );
                break;
            }
            let wait = settings.backoff.saturating_mul(2u32.saturating_pow(tries)).min(MAX_WAIT);
            tracing::debug!("event handler: couldn't post ({failed}), trying again in {wait:?}");
            tokio::time::sleep(wait).await;
            tries += 1;
        }
        pending.fetch_sub(count, Ordering::Relaxed);
    }
}

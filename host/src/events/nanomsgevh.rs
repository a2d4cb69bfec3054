//! `janus.eventhandler.nanomsgevh`, Janus's Nanomsg event handler: events are published on a
//! Nanomsg PUB socket (the SP protocol nanomsg and nng speak, over `ipc://` or `tcp://`), one a
//! message or grouped in arrays of up to [`GROUP`] (`grouping`, the default). With
//! `mode = connect` (Janus's default) the handler connects to a subscriber's bound address, and
//! again after 1, 2, 4, 8 s when it cannot or the subscriber goes; with `bind`, subscribers
//! connect to it. As nanomsg's PUB socket does, an event goes to the subscribers connected when
//! it comes: with none, it is dropped. Admin `query_eventhandler` with `{"request": "tweak", …}`
//! changes `events` and `grouping`.

use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;

use super::sampleevh::GROUP;
use super::Kind;
use crate::api::module_query as q;
use crate::config::events::NanomsgEvh;
use crate::config::JsonStyle;
use crate::nanomsg::{self, Address, Link};

/// Messages that may wait for one subscriber; beyond this it misses them (it is too slow).
const PER_SUBSCRIBER: usize = 1024;

/// What the core and the handler's task share.
pub struct Shared {
    /// The event types it takes.
    pub mask: Arc<AtomicU32>,
    grouping: AtomicBool,
    json: JsonStyle,
    address: Address,
    bind: bool,
}

impl Shared {
    /// The handler's settings from its file; an error for a wrong `address`.
    pub fn new(evh: &NanomsgEvh) -> Result<Self, String> {
        let address = Address::parse(&evh.address)?;
        let (mask, unknown) = Kind::mask_known(&evh.events);
        if !unknown.is_empty() {
            tracing::warn!("nanomsgevh events: unknown event types {unknown:?} left out");
        }
        Ok(Self {
            mask: Arc::new(AtomicU32::new(mask)),
            grouping: AtomicBool::new(evh.grouping),
            json: evh.json,
            address,
            bind: evh.bind,
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

/// One subscriber: where its messages go.
type Subscriber = mpsc::Sender<Arc<[u8]>>;

/// The handler's task: each event (or group) goes to every subscriber connected. `pending`
/// counts the events not yet handled.
pub async fn run(shared: Arc<Shared>, mut queue: mpsc::Receiver<Value>, pending: Arc<AtomicUsize>) {
    let (joined, mut joining) = mpsc::channel::<Subscriber>(16);
    let peers = match shared.bind {
        true => tokio::spawn(accept(shared.address.clone(), joined)),
        false => tokio::spawn(connect(shared.address.clone(), joined)),
    };
    let mut subscribers: Vec<Subscriber> = Vec::new();
    loop {
        tokio::select! {
            // (Off once no peer task is left, a bind that failed say: no busy loop.)
            Some(s) = joining.recv() => subscribers.push(s),
            event = queue.recv() => {
                let Some(first) = event else { break };
                let mut events = vec![first];
                let grouping = shared.grouping.load(Ordering::Relaxed);
                if grouping {
                    while events.len() < GROUP {
                        match queue.try_recv() {
                            Ok(e) => events.push(e),
                            Err(_) => break,
                        }
                    }
                }
                let count = events.len();
                let body = match grouping {
                    true => Value::Array(events),
                    false => events.remove(0),
                };
                subscribers.retain(|s| !s.is_closed());
                if !subscribers.is_empty() {
                    let text = crate::transport::to_text(&body, shared.json);
                    let message: Arc<[u8]> = shared.address.frame(text.as_bytes()).into();
                    for s in &subscribers {
                        if s.try_send(message.clone()).is_err() {
                            tracing::debug!("event handler: a Nanomsg subscriber too slow, a message missed");
                        }
                    }
                }
                pending.fetch_sub(count, Ordering::Relaxed);
            }
        }
    }
    peers.abort();
}

/// `mode = connect`: one connection to the subscriber's address, made again when it goes.
async fn connect(address: Address, joined: mpsc::Sender<Subscriber>) {
    let mut delay = Duration::ZERO;
    loop {
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        delay = super::next_retry(delay);
        let served = match address.connect().await {
            Ok(link) => serve(link, &joined).await,
            Err(e) => Err(e),
        };
        match served {
            Ok(()) => delay = Duration::from_secs(1),
            Err(e) => tracing::warn!("event handler: Nanomsg {address:?}: {e} (next try in {delay:?})"),
        }
    }
}

/// `mode = bind`: subscribers connect to the handler's address.
async fn accept(address: Address, joined: mpsc::Sender<Subscriber>) {
    let listener = match address.bind().await {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("event handler: cannot bind the Nanomsg address {address:?}: {e}");
            return;
        }
    };
    loop {
        let link = listener.accept().await;
        let joined = joined.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(link, &joined).await {
                tracing::debug!("event handler: a Nanomsg subscriber: {e}");
            }
        });
    }
}

/// One subscriber's connection: the SP headers exchanged (the peer must be a SUB socket), then
/// the messages it is sent, until it goes.
async fn serve(mut link: Box<dyn Link>, joined: &mpsc::Sender<Subscriber>) -> Result<(), String> {
    nanomsg::handshake(link.as_mut(), nanomsg::PUB, nanomsg::SUB).await?;
    let (tx, mut rx) = mpsc::channel::<Arc<[u8]>>(PER_SUBSCRIBER);
    joined.send(tx).await.map_err(|_| "the handler stopped".to_owned())?;
    let (mut reader, mut writer) = tokio::io::split(link);
    let mut scratch = [0u8; 256];
    loop {
        tokio::select! {
            message = rx.recv() => match message {
                Some(m) => writer.write_all(&m).await.map_err(|e| e.to_string())?,
                None => return Ok(()),
            },
            // A SUB socket sends nothing after its header: a read is its going.
            read = reader.read(&mut scratch) => match read {
                Ok(0) | Err(_) => return Ok(()),
                Ok(_) => {}
            },
        }
    }
}

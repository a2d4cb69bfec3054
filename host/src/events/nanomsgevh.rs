//! `janus.eventhandler.nanomsgevh`, Janus's Nanomsg event handler: events are published on a
//! Nanomsg PUB socket (the SP protocol nanomsg and nng speak, over `ipc://` or `tcp://`), one a
//! message or grouped in arrays of up to [`GROUP`] (`grouping`, the default). With
//! `mode = connect` (Janus's default) the handler connects to a subscriber's bound address, and
//! again after 1, 2, 4, 8 s when it cannot or the subscriber goes; with `bind`, subscribers
//! connect to it. As nanomsg's PUB socket does, an event goes to the subscribers connected when
//! it comes: with none, it is dropped. Admin `query_eventhandler` with `{"request": "tweak", …}`
//! changes `events` and `grouping`.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use super::sampleevh::GROUP;
use super::Kind;
use crate::api::module_query as q;
use crate::config::events::NanomsgEvh;
use crate::config::JsonStyle;

/// The SP header of a PUB socket: `\0SP\0`, protocol 32 (PUB), two reserved bytes.
const HEADER: [u8; 8] = [0, b'S', b'P', 0, 0, 32, 0, 0];
/// The protocol a PUB socket's peer must speak: SUB.
const SUB: u16 = 33;
/// How long a peer may take to connect and send its header.
const HANDSHAKE: Duration = Duration::from_secs(10);
/// Messages that may wait for one subscriber; beyond this it misses them (it is too slow).
const PER_SUBSCRIBER: usize = 1024;

/// Where the socket is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Address {
    /// `ipc://<path>`: a Unix stream socket.
    Ipc(PathBuf),
    /// `tcp://<host>:<port>` (`*` for every address when binding).
    Tcp(String),
}

impl Address {
    fn parse(address: &str) -> Result<Self, String> {
        match address.split_once("://") {
            Some(("ipc", path)) if !path.is_empty() => Ok(Address::Ipc(PathBuf::from(path))),
            Some(("tcp", host_port))
                if host_port
                    .rsplit_once(':')
                    .is_some_and(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok()) =>
            {
                Ok(Address::Tcp(host_port.replacen('*', "0.0.0.0", 1)))
            }
            _ => Err(format!("address: '{address}' is not an ipc:// path or a tcp://host:port")),
        }
    }

    /// A message as this transport frames it: its length on eight bytes (after a message-type
    /// byte, 1, over IPC), then it.
    fn frame(&self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(payload.len() + 9);
        if matches!(self, Address::Ipc(_)) {
            out.push(1);
        }
        out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        out.extend_from_slice(payload);
        out
    }
}

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

/// A connection to a peer, either transport.
trait Link: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Link for T {}

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
            s = joining.recv() => if let Some(s) = s {
                subscribers.push(s);
            },
            event = queue.recv() => {
                let Some(first) = event else { break };
                let mut events = vec![first];
                if shared.grouping.load(Ordering::Relaxed) {
                    while events.len() < GROUP {
                        match queue.try_recv() {
                            Ok(e) => events.push(e),
                            Err(_) => break,
                        }
                    }
                }
                let count = events.len();
                let body = match shared.grouping.load(Ordering::Relaxed) {
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
        let link: Result<Box<dyn Link>, String> = match tokio::time::timeout(HANDSHAKE, open(&address)).await
        {
            Ok(r) => r,
            Err(_) => Err(format!("not connected within {HANDSHAKE:?}")),
        };
        let served = match link {
            Ok(link) => serve(link, &joined).await,
            Err(e) => Err(e),
        };
        match served {
            Ok(()) => delay = Duration::from_secs(1),
            Err(e) => tracing::warn!("event handler: Nanomsg {address:?}: {e} (next try in {delay:?})"),
        }
    }
}

async fn open(address: &Address) -> Result<Box<dyn Link>, String> {
    match address {
        Address::Ipc(path) => {
            Ok(Box::new(tokio::net::UnixStream::connect(path).await.map_err(|e| e.to_string())?))
        }
        Address::Tcp(host_port) => {
            let stream =
                tokio::net::TcpStream::connect(host_port.as_str()).await.map_err(|e| e.to_string())?;
            let _ = stream.set_nodelay(true);
            Ok(Box::new(stream))
        }
    }
}

/// `mode = bind`: subscribers connect to the handler's address.
async fn accept(address: Address, joined: mpsc::Sender<Subscriber>) {
    let next = |e: std::io::Error| e.to_string();
    let listener: Result<Listener, String> = match &address {
        Address::Ipc(path) => {
            let _ = std::fs::remove_file(path);
            tokio::net::UnixListener::bind(path).map(Listener::Ipc).map_err(next)
        }
        Address::Tcp(host_port) => {
            tokio::net::TcpListener::bind(host_port.as_str()).await.map(Listener::Tcp).map_err(next)
        }
    };
    let listener = match listener {
        Ok(l) => l,
        Err(e) => {
            tracing::error!("event handler: cannot bind the Nanomsg address {address:?}: {e}");
            return;
        }
    };
    loop {
        let link: Box<dyn Link> = match &listener {
            Listener::Ipc(l) => match l.accept().await {
                Ok((s, _)) => Box::new(s),
                Err(e) => {
                    tracing::warn!("event handler: Nanomsg accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            Listener::Tcp(l) => match l.accept().await {
                Ok((s, _)) => Box::new(s),
                Err(e) => {
                    tracing::warn!("event handler: Nanomsg accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let joined = joined.clone();
        tokio::spawn(async move {
            if let Err(e) = serve(link, &joined).await {
                tracing::debug!("event handler: a Nanomsg subscriber: {e}");
            }
        });
    }
}

enum Listener {
    Ipc(tokio::net::UnixListener),
    Tcp(tokio::net::TcpListener),
}

/// One subscriber's connection: the SP headers exchanged (the peer must be a SUB socket), then
/// the messages it is sent, until it goes.
async fn serve(mut link: Box<dyn Link>, joined: &mpsc::Sender<Subscriber>) -> Result<(), String> {
    let mut theirs = [0u8; 8];
    let exchanged = async {
        link.write_all(&HEADER).await?;
        link.read_exact(&mut theirs).await
    };
    match tokio::time::timeout(HANDSHAKE, exchanged).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => return Err(e.to_string()),
        Err(_) => return Err(format!("no SP header within {HANDSHAKE:?}")),
    }
    let protocol = u16::from_be_bytes([theirs[4], theirs[5]]);
    if theirs[..4] != HEADER[..4] || protocol != SUB {
        return Err(format!("the peer is not a Nanomsg SUB socket (header {theirs:?})"));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_frames_are_nanomsgs() {
        assert_eq!(Address::parse("ipc:///tmp/janusevh.ipc"), Ok(Address::Ipc("/tmp/janusevh.ipc".into())));
        assert_eq!(Address::parse("tcp://*:5555"), Ok(Address::Tcp("0.0.0.0:5555".into())));
        assert_eq!(Address::parse("tcp://127.0.0.1:5555"), Ok(Address::Tcp("127.0.0.1:5555".into())));
        for bad in ["ws://x:1", "tcp://x", "tcp://:1", "ipc://", "/tmp/x"] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Address::Ipc("/x".into()).frame(b"hi"), [1, 0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(Address::Tcp("h:1".into()).frame(b"hi"), [0, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
    }
}

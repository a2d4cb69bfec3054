//! The Unix-sockets transport (Janus's `janus.transport.pfunix`): the Janus API and the admin
//! API on local socket paths, one JSON message per packet. `SOCK_SEQPACKET` (Janus's default)
//! makes a connection per client; with `SOCK_DGRAM` a client is known by the path it sends
//! from, and replies and events go to that path (janode's `file://` transport works so).

use std::collections::HashMap;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use nix::sys::socket::{self as sock, AddressFamily, Backlog, MsgFlags, SockFlag, SockType, UnixAddr};
use serde_json::json;
use tokio::io::unix::AsyncFd;
use tokio::net::UnixDatagram;
use tokio::sync::mpsc;

use super::messages::{self, Messages};
use super::state::{Counted, TransportState};
use super::Api;
use crate::api::Core;
use crate::config::UnixListener;

/// A bound socket's path, removed when the gateway lets it go.
#[derive(Debug)]
pub struct Bound(PathBuf);

impl Drop for Bound {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A bound listener, ready to serve.
pub enum Listener {
    /// `SOCK_SEQPACKET`: clients connect.
    SeqPacket(AsyncFd<OwnedFd>),
    /// `SOCK_DGRAM`: clients send from paths of their own.
    Datagram(UnixDatagram),
}

/// Binds a listener at its path, replacing a file already there (as Janus does), and announces
/// it on stdout as `listening: <name> <path>`. The path goes when [`Bound`] drops.
pub fn bind(name: &str, config: &UnixListener) -> anyhow::Result<(Listener, Bound)> {
    let path = &config.path;
    let _ = std::fs::remove_file(path);
    let failed =
        |e: &dyn std::fmt::Display| anyhow::anyhow!("cannot listen on {} for {name}: {e}", path.display());
    let listener = if config.datagram {
        Listener::Datagram(UnixDatagram::bind(path).map_err(|e| failed(&e))?)
    } else {
        let fd = seqpacket_listener(path).map_err(|e| failed(&e))?;
        Listener::SeqPacket(register(fd).map_err(|e| failed(&e))?)
    };
    println!("listening: {name} {}", path.display());
    tracing::info!("{name} listening on {}", path.display());
    Ok((listener, Bound(path.clone())))
}

/// Registers a socket with the runtime.
fn register(fd: OwnedFd) -> io::Result<AsyncFd<OwnedFd>> {
    // SAFETY: an OwnedFd holds one open descriptor, closed only when the OwnedFd drops, and
    // its as_raw_fd always returns that descriptor: it stays open and the same for the whole
    // life of the AsyncFd that owns it.
    unsafe { AsyncFd::register(fd) }.map_err(io::Error::from)
}

fn seqpacket_listener(path: &Path) -> nix::Result<OwnedFd> {
    let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
    let fd = sock::socket(AddressFamily::Unix, SockType::SeqPacket, flags, None)?;
    sock::bind(fd.as_raw_fd(), &UnixAddr::new(path)?)?;
    sock::listen(&fd, Backlog::new(128)?)?;
    Ok(fd)
}

/// Serves a listener until the task is dropped; `state` is the transport's.
pub async fn serve(
    listener: Listener,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
    max_connections: usize,
) {
    match listener {
        Listener::SeqPacket(fd) => accept_loop(fd, core, api, state, max_connections).await,
        Listener::Datagram(socket) => datagram_loop(socket, core, api, state, max_connections).await,
    }
}

fn counted(api: Api) -> Counted {
    match api {
        Api::Janus => Counted::Api,
        Api::Admin => Counted::Admin,
    }
}

async fn accept_loop(
    listener: AsyncFd<OwnedFd>,
    core: Core,
    api: Api,
    state: Arc<TransportState>,
    max: usize,
) {
    let slots = Arc::new(tokio::sync::Semaphore::new(max));
    let mut refused = 0u64;
    loop {
        let Ok(mut ready) = listener.readable().await else { return };
        let flags = SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC;
        let raw = match ready.try_io(|l| sock::accept4(l.as_raw_fd(), flags).map_err(io::Error::from)) {
            Ok(Ok(raw)) => raw,
            Ok(Err(e)) => {
                // Out of descriptors, say: try again a little later.
                tracing::warn!("unix socket accept failed: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            Err(_would_block) => continue,
        };
        // SAFETY: accept4 has just returned this descriptor, open and owned by nobody else;
        // the OwnedFd becomes its only owner and closes it once.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if crate::logging::time_to_report(&mut refused) {
                tracing::warn!(
                    "unix socket: {max} connections open (max_connections); refused ({refused} so far)"
                );
            }
            continue;
        };
        let Ok(fd) = register(fd) else { continue };
        let id = messages::next_connection_id();
        let about = json!({"event": "connected", "admin_api": api == Api::Admin, "fd": raw});
        let limit = core.general().max_request_size;
        let connection =
            messages::serve(SeqPacket { fd, limit }, id, core.clone(), api, state.clone(), Some(about));
        let count = state.count(counted(api));
        tokio::spawn(async move {
            connection.await;
            drop((slot, count));
        });
    }
}

/// A `SOCK_SEQPACKET` connection: each packet one message.
struct SeqPacket {
    fd: AsyncFd<OwnedFd>,
    /// The longest request taken (`max_request_size`).
    limit: usize,
}

impl SeqPacket {
    /// The next packet: `Ok(None)` at the end of the connection (or an empty packet, as in
    /// Janus), an empty message for one longer than the limit (dropped; the core then answers
    /// 454, so the client hears of it).
    fn read(fd: &OwnedFd, limit: usize) -> io::Result<Option<Vec<u8>>> {
        let raw = fd.as_raw_fd();
        // With MSG_TRUNC a peek into nothing tells the packet's length.
        let len = sock::recv(raw, &mut [], MsgFlags::MSG_PEEK | MsgFlags::MSG_TRUNC)?;
        if len == 0 {
            return Ok(None);
        }
        if len > limit {
            sock::recv(raw, &mut [0; 1], MsgFlags::MSG_TRUNC)?;
            tracing::warn!(
                "unix socket: a message of {len} bytes is over max_request_size ({limit}); refused"
            );
            return Ok(Some(Vec::new()));
        }
        let mut message = vec![0; len];
        let n = sock::recv(raw, &mut message, MsgFlags::empty())?;
        message.truncate(n);
        Ok(Some(message))
    }
}

impl Messages for SeqPacket {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        let limit = self.limit;
        loop {
            let mut ready = self.fd.readable().await.ok()?;
            match ready.try_io(|fd| Self::read(fd.get_ref(), limit)) {
                Ok(Ok(message)) => return message,
                Ok(Err(e)) => {
                    tracing::debug!("unix socket read: {e}");
                    return None;
                }
                Err(_would_block) => {}
            }
        }
    }

    async fn send(&mut self, text: String) -> bool {
        loop {
            let Ok(mut ready) = self.fd.writable().await else { return false };
            let sent = ready.try_io(|fd| {
                sock::send(fd.as_raw_fd(), text.as_bytes(), MsgFlags::MSG_NOSIGNAL).map_err(io::Error::from)
            });
            match sent {
                Ok(Ok(_)) => return true,
                // Longer than the socket's buffer can ever hold: this message is lost, the
                // connection goes on.
                Ok(Err(e)) if e.raw_os_error() == Some(libc::EMSGSIZE) => {
                    tracing::warn!(
                        "unix socket: a message of {} bytes is too long for the socket, dropped",
                        text.len()
                    );
                    return true;
                }
                Ok(Err(_)) => return false,
                Err(_would_block) => {}
            }
        }
    }
}

/// The clients of a `SOCK_DGRAM` listener, by path: the id of each one's connection and
/// where its messages go.
type Clients = Arc<Mutex<HashMap<PathBuf, (u64, mpsc::Sender<Vec<u8>>)>>>;

/// Messages of one client that may wait for its task; beyond this they are dropped.
const CLIENT_QUEUE: usize = 256;

async fn datagram_loop(socket: UnixDatagram, core: Core, api: Api, state: Arc<TransportState>, max: usize) {
    let socket = Arc::new(socket);
    let clients: Clients = Arc::default();
    // A client silent for twice the session timeout (two minutes without one) is forgotten
    // unless it still owns a session (another transport may keep those alive).
    let idle = Duration::from_secs(
        2 * match core.general().session_timeout {
            0 => 60,
            t => t,
        },
    );
    let mut buf = vec![0u8; core.general().max_request_size];
    let mut refused = 0u64;
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(got) => got,
            Err(e) => {
                tracing::debug!("unix datagram socket: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Some(path) = from.as_pathname().map(Path::to_path_buf) else {
            tracing::warn!(
                "unix datagram from a socket with no path: dropped (the answer would have nowhere to go)"
            );
            continue;
        };
        let message = buf[..n].to_vec();
        let mut known = clients.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some((_, to)) = known.get(&path).filter(|(_, to)| !to.is_closed()) {
            if to.try_send(message).is_err() {
                tracing::warn!("unix datagram client {} too slow: a request dropped", path.display());
            }
            continue;
        }
        if known.len() >= max {
            if crate::logging::time_to_report(&mut refused) {
                tracing::warn!("unix socket: {max} clients (max_connections); {} refused", path.display());
            }
            continue;
        }
        let (tx, rx) = mpsc::channel(CLIENT_QUEUE);
        let _ = tx.try_send(message);
        let id = messages::next_connection_id();
        known.insert(path.clone(), (id, tx));
        drop(known);
        let client =
            Datagram { socket: socket.clone(), to: path.clone(), from: rx, idle, core: core.clone(), id };
        let about =
            json!({"event": "connected", "admin_api": api == Api::Admin, "fd": -1, "type": "SOCK_DGRAM"});
        let connection = messages::serve(client, id, core.clone(), api, state.clone(), Some(about));
        let (count, clients) = (state.count(counted(api)), clients.clone());
        tokio::spawn(async move {
            connection.await;
            let mut known = clients.lock().unwrap_or_else(PoisonError::into_inner);
            if known.get(&path).is_some_and(|(at, _)| *at == id) {
                known.remove(&path);
            }
            drop(count);
        });
    }
}

/// One client of a `SOCK_DGRAM` listener: its requests come from the listener's loop, its
/// replies and events go to its path. It ends when its path is gone (a send finds no one
/// there), or when it stayed silent for `idle` and owns no session.
struct Datagram {
    socket: Arc<UnixDatagram>,
    to: PathBuf,
    from: mpsc::Receiver<Vec<u8>>,
    idle: Duration,
    core: Core,
    id: u64,
}

impl Messages for Datagram {
    async fn recv(&mut self) -> Option<Vec<u8>> {
        loop {
            match tokio::time::timeout(self.idle, self.from.recv()).await {
                Ok(message) => return message,
                Err(_) if self.core.owns_sessions(self.id) => {}
                Err(_) => return None,
            }
        }
    }

    async fn send(&mut self, text: String) -> bool {
        match self.socket.send_to(text.as_bytes(), &self.to).await {
            Ok(_) => true,
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOENT | libc::ECONNREFUSED)) => false,
            Err(e) => {
                tracing::warn!(
                    "unix datagram to {}: {e}; a message of {} bytes dropped",
                    self.to.display(),
                    text.len()
                );
                true
            }
        }
    }
}

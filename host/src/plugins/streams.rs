//! TCP for plugins (SIP over TCP, RFC 3261 §18): a listener the plugin binds, and the
//! connections it accepts or that the host opens on the plugin's behalf. Connections carry
//! messages framed as SIP's (a head, an empty line, `Content-Length` bytes of body): each
//! message read reaches the plugin whole, as a datagram from the connection's far address, and
//! one the plugin sends to an address goes over the connection with that address, opened
//! first (from an ephemeral port) when there is none (for a name, to its next addresses in
//! turn when the first cannot be connected to). Nothing waits: a connection's messages
//! queue behind what it has not written yet, at most [`QUEUE`]. A keep-alive ping (an empty
//! line pair, RFC 5626 §3.5.1) gets its pong; a connection idle for [`IDLE`], or whose bytes
//! do not frame, is closed. A connection that could not be opened, or that ended, is told to
//! the plugin as an empty message from its address (no message is empty), and from each name
//! the plugin sent to over it: what was in flight on it will get no answer.
//!
//! A listener may run TLS on all its connections (SIP over TLS, RFC 3261 §26.2): the ones it
//! accepts show its certificate, the ones it opens check nothing of the server's (as Janus's
//! SIP stack by default) and name the server the plugin sent to (SNI) when it sent to a name.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use crate::framing::{self, FrameError};

/// Messages a connection holds unwritten before a send is refused.
pub const QUEUE: usize = 64;
/// Connections from the far end a listener keeps at once (beyond, more are refused; those
/// the host opens for the plugin's messages do not count, so strangers that hold connections
/// open cannot keep the plugin from reaching its registrar).
pub const MAX_ACCEPTED: usize = 256;
/// A connection nothing arrives on for this long is closed.
pub const IDLE: Duration = Duration::from_secs(30 * 60);
/// How long opening a connection may take.
pub const CONNECT: Duration = Duration::from_secs(10);
/// Largest head (start line and headers) read.
pub const MAX_HEAD: usize = 16 << 10;
/// Largest body read.
pub const MAX_BODY: usize = 64 << 10;

/// What reaches the plugin from its sockets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arrival {
    /// A message (a datagram) from `from`, an address.
    Message {
        /// Where it came from.
        from: String,
        /// The bytes.
        data: Vec<u8>,
    },
    /// A datagram to `from` (an address, or a name that went there) was refused by the
    /// network (ICMP unreachable): nothing there will answer.
    Refused {
        /// The address or name.
        from: String,
    },
    /// Connection `conn` with `from` (its address, or a name the plugin sent to over it) ended
    /// or could not be opened: what was sent on it will get no answer.
    Ended {
        /// The address or name.
        from: String,
        /// The connection's number.
        conn: u64,
    },
}

/// Where what arrives goes.
pub type Deliver = Arc<dyn Fn(Arrival) + Send + Sync>;

/// Names a connection remembers being sent to by (to tell them when it ends).
const MAX_NAMES: usize = 8;

/// What a connection's bytes hold next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// A whole message.
    Message(Vec<u8>),
    /// A keep-alive ping (`\r\n\r\n` between messages), to be answered `\r\n`.
    Ping,
}

/// Takes the next frame off the front of `buf`, or `None` when more bytes are needed. Line
/// ends between messages (a pong, a stray one) are skipped.
pub fn next_frame(buf: &mut Vec<u8>) -> Result<Option<Frame>, FrameError> {
    let mut skip = 0;
    while let Some(&b) = buf.get(skip) {
        let rest = &buf[skip..];
        if rest.starts_with(b"\r\n\r\n") {
            buf.drain(..skip + 4);
            return Ok(Some(Frame::Ping));
        }
        if b != b'\r' && b != b'\n' {
            break;
        }
        if b"\r\n\r\n".starts_with(rest) {
            // Maybe a ping still arriving.
            break;
        }
        skip += 1;
    }
    buf.drain(..skip);
    if buf.first().is_some_and(|b| *b == b'\r' || *b == b'\n') {
        return Ok(None);
    }
    let Some(span) = framing::split(buf, MAX_HEAD, MAX_BODY, &["Content-Length", "l"])? else {
        return Ok(None);
    };
    let rest = buf.split_off(span.total);
    Ok(Some(Frame::Message(std::mem::replace(buf, rest))))
}

/// TLS on a listener's connections: the server those that connect meet, the client of those
/// the host opens.
#[derive(Clone)]
pub struct Tls {
    /// Shows the listener's certificate.
    pub server: Arc<rustls::ServerConfig>,
    /// Opens connections to servers.
    pub client: Arc<rustls::ClientConfig>,
}

/// A connection's byte stream, in the clear or under TLS.
trait Duplex: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Duplex for T {}

/// A plugin's TCP listener and its connections.
pub struct Listener {
    /// TLS on every connection, when it has it (renewed when the plugin binds it again: a
    /// reloaded plugin's certificate serves the connections from then on).
    tls: Option<Mutex<Tls>>,
    /// The socket, until its accept loop starts.
    unread: Mutex<Option<std::net::TcpListener>>,
    /// Where connections run and their messages go, once started.
    running: OnceLock<(tokio::runtime::Handle, Deliver)>,
    conns: Mutex<Conns>,
}

impl std::fmt::Debug for Listener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner()).by_peer.len();
        f.debug_struct("Listener").field("tls", &self.tls.is_some()).field("connections", &conns).finish()
    }
}

#[derive(Default)]
struct Conns {
    next: u64,
    by_peer: HashMap<SocketAddr, Conn>,
    accept: Option<AbortHandle>,
    closed: bool,
}

struct Conn {
    id: u64,
    accepted: bool,
    /// Whether the plugin sent over it (one the host opened was opened for a send).
    carried: bool,
    /// The names (`name:port` as the plugin wrote them) the plugin sent to over it.
    names: Vec<String>,
    queue: mpsc::Sender<Vec<u8>>,
    task: AbortHandle,
}

impl Listener {
    /// Binds a listener (with TLS on its connections when `tls`); its connections are
    /// accepted once [`Listener::start`]ed.
    pub fn bind(addr: SocketAddr, tls: Option<Tls>) -> Result<(Arc<Self>, SocketAddr), String> {
        let socket =
            std::net::TcpListener::bind(addr).map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        socket.set_nonblocking(true).map_err(|e| format!("{addr}: {e}"))?;
        let local = socket.local_addr().map_err(|e| format!("{addr}: {e}"))?;
        let me = Listener {
            tls: tls.map(Mutex::new),
            unread: Mutex::new(Some(socket)),
            running: OnceLock::new(),
            conns: Mutex::default(),
        };
        Ok((Arc::new(me), local))
    }

    /// Whether its connections run TLS.
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The TLS of the connections opened from now on, when it has TLS.
    fn tls(&self) -> Option<Tls> {
        self.tls.as_ref().map(|t| t.lock().unwrap_or_else(|e| e.into_inner()).clone())
    }

    /// Replaces the TLS of the connections opened from now on (a TLS listener only).
    pub fn renew(&self, tls: Tls) {
        if let Some(t) = &self.tls {
            *t.lock().unwrap_or_else(|e| e.into_inner()) = tls;
        }
    }

    /// Whether its accept loop has yet to start.
    pub fn is_unread(&self) -> bool {
        self.unread.lock().unwrap_or_else(|e| e.into_inner()).is_some()
    }

    /// Starts accepting on `rt`; messages read go to `deliver`.
    pub fn start(self: &Arc<Self>, rt: &tokio::runtime::Handle, deliver: Deliver) {
        let Some(socket) = self.unread.lock().unwrap_or_else(|e| e.into_inner()).take() else { return };
        let _ = self.running.set((rt.clone(), deliver));
        let me = Arc::downgrade(self);
        let task = rt.spawn(async move {
            let socket = match tokio::net::TcpListener::from_std(socket) {
                Ok(s) => s,
                Err(e) => return tracing::warn!("plugin TCP listener: {e}"),
            };
            loop {
                match socket.accept().await {
                    Ok((stream, peer)) => {
                        let Some(me) = me.upgrade() else { return };
                        if let Err(e) = me.open(peer, Some(stream), None, Vec::new()) {
                            tracing::debug!("plugin TCP connection from {peer} refused: {e}");
                        }
                    }
                    Err(e) => {
                        // Out of descriptors, say: accepting again at once would spin.
                        tracing::warn!("plugin TCP listener: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.closed {
            task.abort();
        } else {
            conns.accept = Some(task.abort_handle());
        }
    }

    /// Sends a message to `to` over its connection, opening one when there is none; `name`
    /// is what the plugin sent to, when `to` is what a name resolved to, and `fallbacks` the
    /// name's other addresses, tried in turn when `to` cannot be connected to (an SRV name's
    /// next servers, RFC 3263 §4.3); the connection keeps `to` as its name.
    pub fn send(
        self: &Arc<Self>,
        to: SocketAddr,
        data: &[u8],
        name: Option<&str>,
        fallbacks: &[SocketAddr],
    ) -> Result<(), String> {
        let open = {
            let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
            conns.by_peer.get_mut(&to).filter(|c| !c.queue.is_closed()).map(|c| {
                c.carried = true;
                if let Some(name) = name {
                    if c.names.len() < MAX_NAMES && !c.names.iter().any(|n| n == name) {
                        c.names.push(name.to_owned());
                    }
                }
                c.queue.clone()
            })
        };
        let queue = match open {
            Some(q) => q,
            None => self.open(to, None, name, fallbacks.to_vec())?,
        };
        queue.try_send(data.to_vec()).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => {
                format!("the connection to {to} has {QUEUE} messages unwritten")
            }
            mpsc::error::TrySendError::Closed(_) => format!("the connection to {to} closed"),
        })
    }

    /// Runs a connection with `peer`: one accepted, or one to open.
    fn open(
        self: &Arc<Self>,
        peer: SocketAddr,
        accepted: Option<TcpStream>,
        name: Option<&str>,
        fallbacks: Vec<SocketAddr>,
    ) -> Result<mpsc::Sender<Vec<u8>>, String> {
        let (rt, deliver) = self.running.get().ok_or("the listener is not running yet")?;
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.closed {
            return Err("the socket is closed".into());
        }
        let full = |conns: &Conns| conns.by_peer.values().filter(|c| c.accepted).count() >= MAX_ACCEPTED;
        if accepted.is_some() && full(&conns) {
            conns.by_peer.retain(|_, c| !c.queue.is_closed());
            if full(&conns) {
                return Err(format!("{MAX_ACCEPTED} connections from afar are open"));
            }
        }
        let (tx, rx) = mpsc::channel(QUEUE);
        conns.next += 1;
        let id = conns.next;
        let from_afar = accepted.is_some();
        let opened = match accepted {
            Some(stream) => Opened::Accepted(stream),
            None => Opened::Connect(fallbacks, name.map(str::to_owned)),
        };
        let link = Link { owner: Arc::downgrade(self), id, peer, tls: self.tls() };
        let run = connection(link, opened, rx, tx.clone(), deliver.clone());
        let task = rt.spawn(run).abort_handle();
        if let Some(old) = conns.by_peer.insert(
            peer,
            Conn {
                id,
                accepted: from_afar,
                carried: !from_afar,
                names: name.map(str::to_owned).into_iter().collect(),
                queue: tx.clone(),
                task,
            },
        ) {
            old.task.abort();
        }
        Ok(tx)
    }

    /// A connection ended: forgotten, unless another replaced it; the names it was sent to by.
    fn forget(&self, peer: SocketAddr, id: u64) -> Vec<String> {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        if conns.by_peer.get(&peer).is_some_and(|c| c.id == id) {
            return conns.by_peer.remove(&peer).map(|c| c.names).unwrap_or_default();
        }
        Vec::new()
    }

    /// Whether a connection newer than `conn`, not closing, carries what the plugin sends to
    /// `to` (an address, or a name it sent to over it): the plugin sent over it.
    pub fn replaced(&self, to: &str, conn: u64) -> bool {
        let conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        let newer = |c: &&Conn| c.id > conn && c.carried && !c.queue.is_closed();
        match to.parse::<SocketAddr>() {
            Ok(addr) => conns.by_peer.get(&addr).filter(newer).is_some(),
            Err(_) => conns.by_peer.values().filter(newer).any(|c| c.names.iter().any(|n| n == to)),
        }
    }

    /// Stops accepting and closes every connection.
    pub fn close(&self) {
        let mut conns = self.conns.lock().unwrap_or_else(|e| e.into_inner());
        conns.closed = true;
        if let Some(a) = conns.accept.take() {
            a.abort();
        }
        for (_, c) in conns.by_peer.drain() {
            c.task.abort();
        }
    }
}

/// How a connection comes to be.
enum Opened {
    /// The far end opened it.
    Accepted(TcpStream),
    /// We open it: to its address, else to each of these in turn; for the name the plugin sent
    /// to, if it did.
    Connect(Vec<SocketAddr>, Option<String>),
}

/// Opens the connection: accepted, or connected to its address, else to each of its fallbacks
/// in turn; with the TLS handshake (within [`CONNECT`] as well) when the listener has TLS, a
/// server whose handshake fails passed over like one that cannot be connected to.
async fn establish(tls: Option<&Tls>, peer: SocketAddr, opened: Opened) -> std::io::Result<Box<dyn Duplex>> {
    let (fallbacks, name) = match opened {
        Opened::Accepted(stream) => {
            let _ = stream.set_nodelay(true);
            let Some(tls) = tls else { return Ok(Box::new(stream)) };
            let accept = TlsAcceptor::from(tls.server.clone()).accept(stream);
            return Ok(Box::new(within(CONNECT, accept).await?));
        }
        Opened::Connect(fallbacks, name) => (fallbacks, name),
    };
    // The server's name (SNI) when the plugin sent to a name: the domain of an SRV name.
    let server_name = name
        .as_deref()
        .map(|n| n.rsplit_once(':').map_or(n, |(host, _port)| host))
        .map(|n| super::names::srv_domain(n).unwrap_or(n))
        .and_then(|n| rustls::pki_types::ServerName::try_from(n.to_owned()).ok());
    let mut last = None;
    for to in std::iter::once(peer).chain(fallbacks) {
        let opened = async {
            let stream = within(CONNECT, TcpStream::connect(to)).await?;
            let _ = stream.set_nodelay(true);
            let Some(tls) = tls else { return Ok(Box::new(stream) as Box<dyn Duplex>) };
            let server = server_name.clone().unwrap_or_else(|| to.ip().into());
            let connect = TlsConnector::from(tls.client.clone()).connect(server, stream);
            Ok(Box::new(within(CONNECT, connect).await?) as Box<dyn Duplex>)
        };
        match opened.await {
            Ok(stream) => return Ok(stream),
            Err(e) => {
                tracing::debug!("plugin TCP connection to {to}: {e}");
                last = Some(e);
            }
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::NotConnected.into()))
}

/// `io` within `limit`, else a time-out error.
async fn within<T>(
    limit: Duration,
    io: impl std::future::Future<Output = std::io::Result<T>>,
) -> std::io::Result<T> {
    tokio::time::timeout(limit, io).await.unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()))
}

/// What a connection task knows of its connection: its listener, number, far end and TLS
/// (taken when it was made: never in the clear on a TLS listener).
struct Link {
    owner: Weak<Listener>,
    id: u64,
    peer: SocketAddr,
    tls: Option<Tls>,
}

/// One connection: opened first when not accepted; reads frames into `deliver` and writes
/// what `queue` holds, until either side fails, the far end closes or it is idle.
async fn connection(
    link: Link,
    opened: Opened,
    mut queue: mpsc::Receiver<Vec<u8>>,
    pong: mpsc::Sender<Vec<u8>>,
    deliver: Deliver,
) {
    let Link { owner, id, peer, tls } = link;
    match establish(tls.as_ref(), peer, opened).await {
        Ok(stream) => {
            let (mut reader, mut writer) = tokio::io::split(stream);
            let read = async {
                let (mut buf, mut chunk) = (Vec::new(), vec![0u8; 16 << 10]);
                loop {
                    loop {
                        match next_frame(&mut buf) {
                            Ok(Some(Frame::Message(data))) => {
                                deliver(Arrival::Message { from: peer.to_string(), data })
                            }
                            Ok(Some(Frame::Ping)) => {
                                let _ = pong.try_send(b"\r\n".to_vec());
                            }
                            Ok(None) => break,
                            Err(e) => {
                                return tracing::warn!("plugin TCP connection with {peer}: {e}: closed")
                            }
                        }
                    }
                    match tokio::time::timeout(IDLE, reader.read(&mut chunk)).await {
                        Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
                        _ => return,
                    }
                }
            };
            let write = async {
                while let Some(m) = queue.recv().await {
                    // (Flushed: TLS may hold a record back otherwise.)
                    let written = async {
                        writer.write_all(&m).await?;
                        writer.flush().await
                    };
                    if let Err(e) = written.await {
                        return tracing::debug!("plugin TCP connection with {peer}: {e}");
                    }
                }
            };
            tokio::select! {
                () = read => {}
                () = write => {}
            }
        }
        Err(e) => tracing::warn!("plugin TCP connection to {peer}: {e}"),
    }
    if let Some(owner) = owner.upgrade() {
        let names = owner.forget(peer, id);
        deliver(Arrival::Ended { from: peer.to_string(), conn: id });
        for from in names {
            deliver(Arrival::Ended { from, conn: id });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_messages_pings_and_stray_line_ends() {
        let mut buf =
            b"\r\n\r\nOPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nhi\r\nBYE sip:a SIP/2.0\r\n\r\n\r\n".to_vec();
        assert_eq!(next_frame(&mut buf), Ok(Some(Frame::Ping)));
        assert_eq!(
            next_frame(&mut buf),
            Ok(Some(Frame::Message(b"OPTIONS sip:a SIP/2.0\r\nl: 2\r\n\r\nhi".to_vec())))
        );
        assert_eq!(next_frame(&mut buf), Ok(Some(Frame::Message(b"BYE sip:a SIP/2.0\r\n\r\n".to_vec()))));
        assert_eq!(next_frame(&mut buf), Ok(None), "a lone line end may be a ping's start");
        buf.extend_from_slice(b"\r\n");
        assert_eq!(next_frame(&mut buf), Ok(Some(Frame::Ping)));
        assert!(buf.is_empty());
        let mut bad = b"INVITE x SIP/2.0\r\nContent-Length: lots\r\n\r\n".to_vec();
        assert!(next_frame(&mut bad).is_err());
    }

    /// What arrives, into `tx`: a message from its address, an end as an empty one.
    fn inbox(tx: mpsc::UnboundedSender<(String, Vec<u8>)>) -> Deliver {
        Arc::new(move |a| {
            let _ = tx.send(match a {
                Arrival::Message { from, data } => (from, data),
                Arrival::Ended { from, .. } | Arrival::Refused { from } => (from, Vec::new()),
            });
        })
    }

    /// Two listeners on loopback: a message sent to the other's address opens a connection,
    /// arrives whole there, and the answer comes back over the same connection (from the
    /// first one's ephemeral port, not its listening one).
    #[tokio::test]
    async fn messages_go_over_one_connection_each_way() {
        let rt = tokio::runtime::Handle::current();
        let (a_tx, mut a_rx) = mpsc::unbounded_channel();
        let (b_tx, mut b_rx) = mpsc::unbounded_channel();
        let (a, a_addr) = Listener::bind("127.0.0.1:0".parse().unwrap(), None).unwrap();
        let (b, b_addr) = Listener::bind("127.0.0.1:0".parse().unwrap(), None).unwrap();
        a.start(&rt, inbox(a_tx));
        b.start(&rt, inbox(b_tx));
        let body = "x".repeat(20_000);
        let message = format!("MESSAGE sip:b SIP/2.0\r\nContent-Length: {}\r\n\r\n{body}", body.len());
        a.send(b_addr, message.as_bytes(), None, &[]).unwrap();
        let (from, got) = b_rx.recv().await.unwrap();
        assert_eq!(got, message.as_bytes());
        b.send(from.parse().unwrap(), b"SIP/2.0 200 OK\r\n\r\n", None, &[]).unwrap();
        let (back_from, answer) = a_rx.recv().await.unwrap();
        assert_eq!((back_from, answer.as_slice()), (b_addr.to_string(), &b"SIP/2.0 200 OK\r\n\r\n"[..]));
        assert_eq!(b.conns.lock().unwrap().by_peer.len(), 1, "one connection, accepted");
        // Strangers that hold every connection the listener takes from afar: refused beyond,
        // but the listener still reaches out.
        let mut strangers = Vec::new();
        for _ in 0..MAX_ACCEPTED + 8 {
            strangers.push(tokio::net::TcpStream::connect(b_addr).await.unwrap());
        }
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while b.conns.lock().unwrap().by_peer.len() < MAX_ACCEPTED {
            assert!(tokio::time::Instant::now() < deadline, "the strangers were not accepted");
            tokio::task::yield_now().await;
        }
        assert_eq!(b.conns.lock().unwrap().by_peer.len(), MAX_ACCEPTED, "no more from afar");
        b.send(a_addr, b"MESSAGE sip:a SIP/2.0\r\n\r\n", None, &[]).unwrap();
        assert_eq!(a_rx.recv().await.unwrap().1, b"MESSAGE sip:a SIP/2.0\r\n\r\n");
        drop(strangers);
        // A peer that is not there: an empty message from its address says so, and from the
        // name the plugin sent to it by.
        let gone = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        a.send(gone, b"OPTIONS sip:x SIP/2.0\r\n\r\n", Some("gone.test:1"), &[]).unwrap();
        assert_eq!(a_rx.recv().await.unwrap(), (gone.to_string(), Vec::new()));
        assert_eq!(a_rx.recv().await.unwrap(), ("gone.test:1".to_owned(), Vec::new()));
        // A name whose first address refuses: its next one is connected to, and the message
        // arrives there.
        a.send(gone, b"OPTIONS sip:y SIP/2.0\r\n\r\n", Some("two.test:1"), &[b_addr]).unwrap();
        // (Past the strangers' ends, each told as an empty message.)
        let mut got = Vec::new();
        while got.is_empty() {
            got = b_rx.recv().await.unwrap().1;
        }
        assert_eq!(got, b"OPTIONS sip:y SIP/2.0\r\n\r\n");
        a.close();
        b.close();
        assert!(a.send(b_addr, b"x", None, &[]).is_err(), "a closed listener sends nothing");
    }

    /// TLS listeners: one with a self-signed certificate sends to one that shows the
    /// certificate of a PEM file (checked by a client that trusts only it), and is answered;
    /// a connection in the clear to a TLS listener carries nothing.
    #[tokio::test]
    async fn tls_connections_carry_messages_and_show_the_certificate() {
        let rt = tokio::runtime::Handle::current();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert =
            rcgen::CertificateParams::new(vec!["b.test".to_owned()]).unwrap().self_signed(&key).unwrap();
        let pem = std::env::temp_dir().join(format!("portunus-agent-{}.pem", std::process::id()));
        std::fs::write(&pem, format!("{}{}", key.serialize_pem(), cert.pem())).unwrap();
        let tls = |file: Option<&std::path::Path>| Tls {
            server: crate::tls::server_config(file, "127.0.0.1").unwrap(),
            client: crate::tls::unchecked_client(),
        };
        let (a_tx, mut a_rx) = mpsc::unbounded_channel();
        let (b_tx, mut b_rx) = mpsc::unbounded_channel();
        let (a, _) = Listener::bind("127.0.0.1:0".parse().unwrap(), Some(tls(None))).unwrap();
        let (b, b_addr) = Listener::bind("127.0.0.1:0".parse().unwrap(), Some(tls(Some(&pem)))).unwrap();
        let _ = std::fs::remove_file(&pem);
        a.start(&rt, inbox(a_tx));
        b.start(&rt, inbox(b_tx));
        let message = b"OPTIONS sips:b.test SIP/2.0\r\nContent-Length: 0\r\n\r\n";
        a.send(b_addr, message, Some("_sips._tcp.b.test:5061"), &[]).unwrap();
        let (from, got) = b_rx.recv().await.unwrap();
        assert_eq!(got, message);
        b.send(from.parse().unwrap(), b"SIP/2.0 200 OK\r\n\r\n", None, &[]).unwrap();
        assert_eq!(a_rx.recv().await.unwrap(), (b_addr.to_string(), b"SIP/2.0 200 OK\r\n\r\n".to_vec()));

        // A client that trusts only the file's certificate, for its name, gets through.
        let mut roots = rustls::RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let checked = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
        let tcp = TcpStream::connect(b_addr).await.unwrap();
        let name = rustls::pki_types::ServerName::try_from("b.test").unwrap();
        let mut client =
            TlsConnector::from(Arc::new(checked)).connect(name, tcp).await.expect("b's certificate");
        client.write_all(b"MESSAGE sip:b SIP/2.0\r\n\r\n").await.unwrap();
        assert_eq!(b_rx.recv().await.unwrap().1, b"MESSAGE sip:b SIP/2.0\r\n\r\n");

        // In the clear: no message, and the connection ends.
        let mut plain = TcpStream::connect(b_addr).await.unwrap();
        plain.write_all(b"MESSAGE sip:b SIP/2.0\r\n\r\n").await.unwrap();
        let (_, got) = b_rx.recv().await.unwrap();
        assert!(got.is_empty(), "a message came in the clear: {got:?}");
        a.close();
        b.close();
    }
}

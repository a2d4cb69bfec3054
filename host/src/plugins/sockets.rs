//! Sockets for plugins (SIP signaling): UDP sockets and TCP listeners ([`super::streams`]),
//! bound under the plugin's `sandbox` policy, host facts that survive reloads and crashes like
//! forwarding rules, with a size and rate limit on what the plugin sends. Each socket's
//! datagrams (a listener's: its connections' messages) reach the plugin in order, through its
//! mailbox.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Instant;

use tokio::task::AbortHandle;

use super::streams::{Listener, Tls};

/// Where a plugin may bind: entries `ADDRESS:PORTS`, ADDRESS an IP or `*`, PORTS a port, a
/// range `lo-hi` or `*` (port 0, "any free port", must be allowed like any other).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BindPolicy {
    entries: Vec<(Option<IpAddr>, u16, u16)>,
}

impl BindPolicy {
    /// Reads a comma-separated list; an empty one allows nothing.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut entries = Vec::new();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, ports) = item.rsplit_once(':').ok_or_else(|| format!("'{item}' has no :PORTS"))?;
            let addr = addr.trim_start_matches('[').trim_end_matches(']');
            let ip = match addr {
                "*" => None,
                a => Some(a.parse().map_err(|_| format!("'{a}' is not an IP address"))?),
            };
            let port = |p: &str| p.parse::<u16>().map_err(|_| format!("'{p}' is not a port"));
            let (lo, hi) = match ports {
                "*" => (0, u16::MAX),
                p => match p.split_once('-') {
                    Some((lo, hi)) => (port(lo)?, port(hi)?),
                    None => (port(p)?, port(p)?),
                },
            };
            if lo > hi {
                return Err(format!("'{item}': empty port range"));
            }
            entries.push((ip, lo, hi));
        }
        Ok(Self { entries })
    }

    /// Whether a bind to `addr` is allowed.
    pub fn allows(&self, addr: SocketAddr) -> bool {
        self.entries
            .iter()
            .any(|(ip, lo, hi)| ip.is_none_or(|ip| ip == addr.ip()) && (*lo..=*hi).contains(&addr.port()))
    }
}

/// A token bucket: `rate` datagrams a second, bursts of as many.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// One bound socket.
#[derive(Debug)]
struct PluginSocket {
    local: SocketAddr,
    kind: Kind,
    bucket: Bucket,
}

/// A UDP socket or a TCP listener.
#[derive(Debug)]
enum Kind {
    Udp {
        /// What `udp-send` sends with (a handle of the same socket the reader reads).
        socket: Arc<UdpSocket>,
        /// The reader, once started.
        reader: Option<AbortHandle>,
        /// The socket the reader takes, until it starts.
        unread: Option<UdpSocket>,
    },
    Tcp(Arc<Listener>),
}

/// What a plugin binds: a UDP socket, or a TCP listener (with TLS on its connections, or not).
pub enum Binding {
    /// A UDP socket.
    Udp,
    /// A TCP listener.
    Tcp(Option<Tls>),
}

impl Kind {
    fn is_tcp(&self) -> bool {
        matches!(self, Kind::Tcp(_))
    }

    /// Whether a binding asks for this kind of socket.
    fn is(&self, binding: &Binding) -> bool {
        match (self, binding) {
            (Kind::Udp { .. }, Binding::Udp) => true,
            (Kind::Tcp(l), Binding::Tcp(tls)) => l.is_tls() == tls.is_some(),
            _ => false,
        }
    }

    fn is_unread(&self) -> bool {
        match self {
            Kind::Udp { unread, .. } => unread.is_some(),
            Kind::Tcp(l) => l.is_unread(),
        }
    }

    fn close(&self) {
        match self {
            Kind::Udp { reader: Some(r), .. } => r.abort(),
            Kind::Udp { .. } => {}
            Kind::Tcp(l) => l.close(),
        }
    }
}

/// A socket whose reader has yet to start.
pub enum Unread {
    /// A UDP socket, for the reader to read.
    Udp(UdpSocket),
    /// A TCP listener, to start.
    Tcp(Arc<Listener>),
}

/// How long a resolved name is used before it is resolved again.
pub const NAME_TTL: std::time::Duration = std::time::Duration::from_secs(60);

/// Names remembered at most (the oldest is forgotten beyond).
const MAX_NAMES: usize = 256;

/// Names being resolved at once, at most (a send to another is refused meanwhile).
const MAX_RESOLVING: usize = 16;

/// Sends that wait for one name, at most.
const MAX_WAITING: usize = 64;

/// Why nothing sent to an address or a name will be answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Silence {
    /// Its TCP connection (this one, by its number) ended or could not be opened.
    Connection(u64),
    /// The name gave no address.
    Lookup,
    /// The network refused a datagram sent there (ICMP unreachable).
    Refused,
}

/// A send waiting for its name: the socket, `name:port` as the plugin wrote it, the bytes.
pub type Waiting = (u32, String, Vec<u8>);

/// A `name:port` a plugin sends to: the name (letters, digits, `-`, `.`; at most 253; or an
/// SRV name, `_service._proto.` before such a name) and port.
pub fn name_and_port(to: &str) -> Result<(String, u16), String> {
    let bad = || format!("'{to}' is not an address and port");
    let (name, port) = to.rsplit_once(':').ok_or_else(bad)?;
    let port: u16 = port.parse().map_err(|_| bad())?;
    let domain = super::names::srv_domain(name).unwrap_or(name);
    let valid = !domain.is_empty()
        && name.len() <= 253
        && domain.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !domain.starts_with(['-', '.']);
    if !valid || port == 0 {
        return Err(bad());
    }
    Ok((name.to_ascii_lowercase(), port))
}

/// Where a name goes: the address, since when, and the name's other addresses in the order to
/// try them when the network refuses what is sent there over UDP, or the plugin finds the
/// server does not serve (RFC 3263 §4.3: the next SRV server; a TCP listener tries a
/// connection's fallbacks itself).
#[derive(Debug)]
struct Route {
    addr: SocketAddr,
    at: Instant,
    fallbacks: Vec<SocketAddr>,
    /// Looked up for a send over UDP (else over TCP: not moved by a datagram refused).
    udp: bool,
    /// When it last moved on to a next address (ms since the Unix epoch, as the plugin gives
    /// its requests' times).
    moved: Option<u64>,
    /// The addresses it moved on from: passed over still when the name is looked up again
    /// within [`FAILOVER_MEMORY`] of the last move.
    passed: Vec<SocketAddr>,
}

/// How long the servers a name moved on from stay passed over.
const FAILOVER_MEMORY: std::time::Duration = std::time::Duration::from_secs(300);

/// The wall clock, ms since the Unix epoch.
fn now_ms() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    now.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

impl Route {
    /// Moves on to the next address: the one left behind, or none when none is left.
    fn advance(&mut self) -> Option<SocketAddr> {
        let next = (!self.fallbacks.is_empty()).then(|| self.fallbacks.remove(0))?;
        self.moved = Some(now_ms());
        let old = std::mem::replace(&mut self.addr, next);
        self.passed.push(old);
        Some(old)
    }
}

/// A plugin's sockets, by id, and the names they sent to lately.
#[derive(Debug, Default)]
pub struct SocketTable {
    next: u32,
    open: BTreeMap<u32, PluginSocket>,
    names: std::collections::HashMap<(String, u16), Route>,
    /// The sends waiting for a name being resolved, in order.
    resolving: std::collections::HashMap<(String, u16), Vec<Waiting>>,
}

impl SocketTable {
    /// Binds a UDP socket or a TCP listener on `addr` (already checked against the policy).
    /// Binding an address the plugin holds already gives that socket again, so a plugin may
    /// bind in `init` after a reload. Returns the id and whether the socket is new.
    pub fn bind(&mut self, addr: SocketAddr, binding: Binding, max: usize) -> Result<(u32, bool), String> {
        if addr.port() != 0 {
            if let Some((id, s)) = self.open.iter().find(|(_, s)| s.local == addr && s.kind.is(&binding)) {
                if let (Kind::Tcp(listener), Binding::Tcp(Some(tls))) = (&s.kind, binding) {
                    listener.renew(tls);
                }
                return Ok((*id, false));
            }
        }
        if self.open.len() >= max {
            return Err(format!("too many sockets (limit {max})"));
        }
        let (kind, local) = if let Binding::Tcp(tls) = binding {
            let (listener, local) = Listener::bind(addr, tls)?;
            (Kind::Tcp(listener), local)
        } else {
            let socket = UdpSocket::bind(addr).map_err(|e| format!("cannot bind {addr}: {e}"))?;
            socket.set_nonblocking(true).map_err(|e| format!("{addr}: {e}"))?;
            if let Err(e) = super::udp_errors::enable(&socket) {
                tracing::debug!("{addr}: ICMP errors will not be heard: {e}");
            }
            let local = socket.local_addr().map_err(|e| format!("{addr}: {e}"))?;
            let sender = socket.try_clone().map_err(|e| format!("{addr}: {e}"))?;
            (Kind::Udp { socket: Arc::new(sender), reader: None, unread: Some(socket) }, local)
        };
        self.next = self.next.wrapping_add(1).max(1);
        while self.open.contains_key(&self.next) {
            self.next = self.next.wrapping_add(1).max(1);
        }
        let id = self.next;
        // Full at first: the first send (capped at `rate`) finds a whole burst.
        let bucket = Bucket { tokens: f64::MAX, at: Instant::now() };
        self.open.insert(id, PluginSocket { local, kind, bucket });
        Ok((id, true))
    }

    /// The socket a reader should start on, if it has none yet.
    pub fn take_unread(&mut self, id: u32) -> Option<Unread> {
        match &mut self.open.get_mut(&id)?.kind {
            Kind::Udp { unread, .. } => unread.take().map(Unread::Udp),
            Kind::Tcp(l) => l.is_unread().then(|| Unread::Tcp(l.clone())),
        }
    }

    /// Records a started UDP reader (aborted with the socket).
    pub fn set_reader(&mut self, id: u32, started: AbortHandle) {
        match self.open.get_mut(&id).map(|s| &mut s.kind) {
            Some(Kind::Udp { reader, .. }) => *reader = Some(started),
            _ => started.abort(),
        }
    }

    /// Sends a datagram (on a TCP listener: a message over the connection with `to`), within
    /// `rate` per second per socket; never waits. `name` is what the plugin sent to when `to`
    /// is what a name resolved to.
    pub fn send(
        &mut self,
        id: u32,
        to: SocketAddr,
        data: &[u8],
        rate: u32,
        name: Option<&str>,
        fallbacks: &[SocketAddr],
    ) -> Result<(), String> {
        let s = self.open.get_mut(&id).ok_or_else(|| format!("no socket {id}"))?;
        let now = Instant::now();
        let rate = f64::from(rate);
        let b = &mut s.bucket;
        b.tokens = (b.tokens + now.duration_since(b.at).as_secs_f64() * rate).min(rate);
        b.at = now;
        if b.tokens < 1.0 {
            return Err(format!("socket {id} sends more than {rate} datagrams a second (udp_rate)"));
        }
        b.tokens -= 1.0;
        match &s.kind {
            // An ICMP error of an earlier send fails the next call once (`IP_RECVERR`), with
            // this datagram unsent: it goes again (the reader reads the error's queue).
            Kind::Udp { socket, .. } => match socket.send_to(data, to).or_else(|e| match e {
                e if super::udp_errors::is_earlier(&e) => socket.send_to(data, to),
                e => Err(e),
            }) {
                Ok(_) => Ok(()),
                Err(e) => Err(format!("send to {to}: {e}")),
            },
            Kind::Tcp(listener) => listener.send(to, data, name, fallbacks),
        }
    }

    /// Where `name:port` was resolved to, if lately.
    pub fn resolved(&self, name: &str, port: u16) -> Option<SocketAddr> {
        let route = self.names.get(&(name.to_owned(), port))?;
        (route.at.elapsed() < NAME_TTL).then_some(route.addr)
    }

    /// Where `name:port` went last, however long ago (while it is remembered): a name looked
    /// up again keeps its server when it is still among the answers, so a transaction's
    /// retransmissions and its CANCEL go where it went (RFC 3261 §17.1.1.3).
    pub fn last(&self, name: &str, port: u16) -> Option<SocketAddr> {
        self.names.get(&(name.to_owned(), port)).map(|route| route.addr)
    }

    /// The network refused a datagram sent to `addr`: each name that went there over UDP goes
    /// to its next address from now on (a transaction's next retransmission reaches the next
    /// server). Returns the names (`name:port`) that went there and had none left: nothing sent
    /// there will be answered.
    pub fn fail_over(&mut self, addr: SocketAddr) -> Vec<String> {
        let mut exhausted = Vec::new();
        for ((name, port), route) in self.names.iter_mut().filter(|(_, r)| r.addr == addr) {
            match route.udp.then(|| route.advance()).flatten() {
                Some(_) => tracing::debug!("{name}:{port}: {addr} refused; on to {}", route.addr),
                None => exhausted.push(format!("{name}:{port}")),
            }
        }
        exhausted
    }

    /// The plugin found that the server of `name:port` does not serve (a SIP 503, or no answer
    /// in time, to a request last sent at `sent_ms`): the name goes to its next address from
    /// now on, whatever the transport, unless it moved on after `sent_ms` already (the request
    /// went to the server left behind). False when it has none left, or is not remembered.
    pub fn next_server(&mut self, name: &str, port: u16, sent_ms: u64) -> bool {
        let Some(route) = self.names.get_mut(&(name.to_owned(), port)) else { return false };
        if route.moved.is_some_and(|moved| moved > sent_ms) {
            return true;
        }
        match route.advance() {
            Some(old) => {
                tracing::debug!("{name}:{port}: {old} does not serve; on to {}", route.addr);
                true
            }
            None => false,
        }
    }

    /// Remembers where `name:port` resolved to for a send on socket `id`, and its other
    /// addresses in order; returns where it goes, and its other addresses: the servers the name
    /// moved on from lately (within [`FAILOVER_MEMORY`]) are passed over still, but when no
    /// other is left.
    pub fn remember(
        &mut self,
        id: u32,
        name: &str,
        port: u16,
        addr: SocketAddr,
        fallbacks: &[SocketAddr],
    ) -> (SocketAddr, Vec<SocketAddr>) {
        let key = (name.to_owned(), port);
        let memory = u64::try_from(FAILOVER_MEMORY.as_millis()).unwrap_or(u64::MAX);
        let (moved, passed) = match self.names.get(&key) {
            Some(old) if old.moved.is_some_and(|m| now_ms().saturating_sub(m) < memory) => {
                (old.moved, old.passed.clone())
            }
            _ => (None, Vec::new()),
        };
        let all: Vec<SocketAddr> = std::iter::once(addr).chain(fallbacks.iter().copied()).collect();
        let fresh: Vec<SocketAddr> = all.iter().copied().filter(|a| !passed.contains(a)).collect();
        let order = if fresh.is_empty() { all } else { fresh };
        let (addr, fallbacks) = (order[0], order[1..].to_vec());
        let udp = self.open.get(&id).is_some_and(|s| !s.kind.is_tcp());
        if self.names.len() >= MAX_NAMES {
            self.names.retain(|_, route| route.at.elapsed() < NAME_TTL);
            if self.names.len() >= MAX_NAMES {
                if let Some(oldest) = self.names.iter().min_by_key(|(_, r)| r.at).map(|(k, _)| k.clone()) {
                    self.names.remove(&oldest);
                }
            }
        }
        let route = Route { addr, at: Instant::now(), fallbacks: fallbacks.clone(), udp, moved, passed };
        self.names.insert(key, route);
        (addr, fallbacks)
    }

    /// Queues a send behind the lookup of `name:port`; true when the lookup is to start (the
    /// first send to wait for it). One lookup per name, so what waits goes in order.
    pub fn wait_for_name(&mut self, name: &str, port: u16, send: Waiting) -> Result<bool, String> {
        let key = (name.to_owned(), port);
        if let Some(waiting) = self.resolving.get_mut(&key) {
            if waiting.len() >= MAX_WAITING {
                return Err(format!("{MAX_WAITING} sends wait for {name} to resolve"));
            }
            waiting.push(send);
            return Ok(false);
        }
        if self.resolving.len() >= MAX_RESOLVING {
            return Err(format!("{MAX_RESOLVING} names are being resolved"));
        }
        self.resolving.insert(key, vec![send]);
        Ok(true)
    }

    /// The sends that waited for `name:port`, its lookup done.
    pub fn take_waiting(&mut self, name: &str, port: u16) -> Vec<Waiting> {
        self.resolving.remove(&(name.to_owned(), port)).unwrap_or_default()
    }

    /// Whether the host's word that nothing sent to `from` will be answered (why: its TCP
    /// connection `conn` ended or could not be opened, or its name gave no address) is stale
    /// by the time the plugin would hear it: the plugin sent to `from` on this socket again
    /// since, over a newer connection or behind a new lookup of the name, and the word would
    /// fail what that send carries too. Such a word is not told: what went before it gets no
    /// answer (a SIP transaction times out), and what went since is told of by its own end.
    pub fn is_stale(&self, id: u32, from: &str, why: &Silence) -> bool {
        match why {
            Silence::Connection(conn) => {
                matches!(self.open.get(&id).map(|s| &s.kind), Some(Kind::Tcp(l)) if l.replaced(from, *conn))
            }
            Silence::Lookup => name_and_port(from)
                .ok()
                .and_then(|key| self.resolving.get(&key))
                .is_some_and(|waiting| waiting.iter().any(|(socket, ..)| *socket == id)),
            Silence::Refused => false,
        }
    }

    /// Whether a socket is open.
    pub fn is_open(&self, id: u32) -> bool {
        self.open.contains_key(&id)
    }

    /// The local address of a socket.
    pub fn local(&self, id: u32) -> Option<SocketAddr> {
        self.open.get(&id).map(|s| s.local)
    }

    /// The sockets no reader reads yet (bound during `init`, whose effects wait for the
    /// instance to be running).
    pub fn unread_ids(&self) -> Vec<u32> {
        self.open.iter().filter(|(_, s)| s.kind.is_unread()).map(|(id, _)| *id).collect()
    }

    /// Closes a socket (its reader stops); false for an unknown id.
    pub fn close(&mut self, id: u32) -> bool {
        let Some(s) = self.open.remove(&id) else { return false };
        s.kind.close();
        true
    }
}

impl Drop for SocketTable {
    fn drop(&mut self) {
        for s in self.open.values() {
            s.kind.close();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_policy() {
        let p = BindPolicy::parse("127.0.0.1:5060, *:6000-6010, [::1]:*, 0.0.0.0:0").unwrap();
        let ok = |a: &str| p.allows(a.parse().unwrap());
        assert!(ok("127.0.0.1:5060") && ok("10.0.0.1:6005") && ok("[::1]:1234") && ok("0.0.0.0:0"));
        assert!(!ok("127.0.0.1:5061") && !ok("10.0.0.1:6011") && !ok("0.0.0.0:5060") && !ok("127.0.0.1:0"));
        assert!(!BindPolicy::default().allows("127.0.0.1:5060".parse().unwrap()));
        for bad in ["127.0.0.1", "host:5060", "*:70000", "*:10-5"] {
            assert!(BindPolicy::parse(bad).is_err(), "{bad}");
        }
    }

    /// The host's word that nothing sent to a name or an address will be answered is stale
    /// once the plugin has sent there again on the same socket: behind a new lookup of the
    /// name, or over a TCP connection opened since (to the address, or sent to by the name).
    #[tokio::test]
    async fn an_end_is_stale_once_sent_there_again() {
        let mut t = SocketTable::default();
        let (udp, _) = t.bind("127.0.0.1:0".parse().unwrap(), Binding::Udp, 4).unwrap();
        let (tcp, _) = t.bind("127.0.0.1:0".parse().unwrap(), Binding::Tcp(None), 4).unwrap();
        let lookup = Silence::Lookup;
        assert!(!t.is_stale(udp, "sip.test:5060", &lookup));
        assert!(t.wait_for_name("sip.test", 5060, (udp, "sip.test:5060".into(), b"x".to_vec())).unwrap());
        assert!(t.is_stale(udp, "sip.test:5060", &lookup), "a send waits for the name's next lookup");
        assert!(!t.is_stale(tcp, "sip.test:5060", &lookup), "another socket's send");
        assert!(!t.is_stale(udp, "other.test:5060", &lookup));
        t.take_waiting("sip.test", 5060);
        assert!(!t.is_stale(udp, "sip.test:5060", &lookup), "the lookup is done");

        let Some(Unread::Tcp(listener)) = t.take_unread(tcp) else { panic!("a listener to start") };
        let local = t.local(tcp).unwrap();
        let (told_tx, mut told) = tokio::sync::mpsc::unbounded_channel();
        let deliver: super::super::streams::Deliver = Arc::new(move |a| {
            let _ = told_tx.send(a);
        });
        listener.start(&tokio::runtime::Handle::current(), deliver);
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = server.local_addr().unwrap();
        let at = addr.to_string();
        t.send(tcp, addr, b"x", 10, Some("sip.test:5060"), &[]).unwrap();
        // The word that an older connection ended is stale: this one carries the sends there.
        assert!(t.is_stale(tcp, &at, &Silence::Connection(0)));
        assert!(t.is_stale(tcp, "sip.test:5060", &Silence::Connection(0)), "and those to the name");
        assert!(!t.is_stale(udp, &at, &Silence::Connection(0)), "another socket's connection");
        assert!(!t.is_stale(tcp, "sip.test:5060", &lookup), "a failed lookup is told, connection or not");
        // This connection's own end is not: it comes once it has ended.
        let wait = std::time::Duration::from_secs(10);
        drop(tokio::time::timeout(wait, server.accept()).await.expect("the connection").unwrap());
        let ended = tokio::time::timeout(wait, told.recv()).await.expect("the end told").unwrap();
        let super::super::streams::Arrival::Ended { from, conn } = ended else { panic!("{ended:?}") };
        assert_eq!(from, at);
        let by_name = tokio::time::timeout(wait, told.recv()).await.expect("the name's end told").unwrap();
        assert_eq!(by_name, super::super::streams::Arrival::Ended { from: "sip.test:5060".into(), conn });
        assert!(!t.is_stale(tcp, &at, &Silence::Connection(conn)));
        assert!(!t.is_stale(tcp, "sip.test:5060", &Silence::Connection(conn)));
        // A connection from afar (a phone's) carries the plugin's sends once it sent over it.
        let mut phone = tokio::net::TcpStream::connect(local).await.unwrap();
        let phone_at = phone.local_addr().unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut phone, b"OPTIONS sip:a SIP/2.0\r\n\r\n").await.unwrap();
        let got = tokio::time::timeout(wait, told.recv()).await.expect("the phone's message").unwrap();
        assert!(
            matches!(got, super::super::streams::Arrival::Message { ref from, .. } if *from == phone_at.to_string())
        );
        assert!(!t.is_stale(tcp, &phone_at.to_string(), &Silence::Connection(conn)), "not sent over yet");
        t.send(tcp, phone_at, b"SIP/2.0 200 OK\r\n\r\n", 10, None, &[]).unwrap();
        assert!(t.is_stale(tcp, &phone_at.to_string(), &Silence::Connection(conn)));
    }

    #[test]
    fn binds_are_idempotent_and_sends_rate_limited() {
        let mut t = SocketTable::default();
        let (a, new) = t.bind("127.0.0.1:0".parse().unwrap(), Binding::Udp, 4).unwrap();
        assert!(new);
        let local = t.local(a).unwrap();
        assert_eq!(
            t.bind(local, Binding::Udp, 4).unwrap(),
            (a, false),
            "the same address gives the same socket"
        );
        let (tcp, new) = t.bind(local, Binding::Tcp(None), 4).unwrap();
        assert!(new && tcp != a, "a TCP listener on the UDP socket's address is another socket");
        assert_eq!(t.bind(local, Binding::Tcp(None), 4).unwrap(), (tcp, false));
        let peer = UdpSocket::bind("127.0.0.1:0").unwrap();
        let to = peer.local_addr().unwrap();
        // A burst of `rate` passes at once; more is refused.
        let sent = (0..20).filter(|_| t.send(a, to, b"x", 10, None, &[]).is_ok()).count();
        assert_eq!(sent, 10);
        assert!(t.close(a) && !t.is_open(a) && t.send(a, to, b"x", 10, None, &[]).is_err());
    }

    #[test]
    fn names_are_checked_and_remembered() {
        assert_eq!(name_and_port("SIP.Example.com:5060"), Ok(("sip.example.com".to_owned(), 5060)));
        assert_eq!(
            name_and_port("_sip._udp.Example.com:5060"),
            Ok(("_sip._udp.example.com".to_owned(), 5060))
        );
        for bad in [
            "example.com",
            "exa mple.com:5060",
            ":5060",
            "-x:5060",
            "x:0",
            "x:port",
            "a/b:1",
            "_x.y:1",
            "_a._b.:1",
        ] {
            assert!(name_and_port(bad).is_err(), "{bad}");
        }
        let mut t = SocketTable::default();
        let addr: SocketAddr = "127.0.0.1:5060".parse().unwrap();
        assert_eq!(t.resolved("localhost", 5060), None);
        t.remember(0, "localhost", 5060, addr, &[]);
        assert_eq!(t.resolved("localhost", 5060), Some(addr));
        assert_eq!(t.resolved("localhost", 5061), None);
        assert_eq!(t.last("localhost", 5060), Some(addr));
        for i in 0..MAX_NAMES + 10 {
            t.remember(0, &format!("h{i}"), 1, addr, &[]);
        }
        assert!(t.names.len() <= MAX_NAMES);
        // A refused address: its names go on to their next address; those with none are told,
        // and so are those a TCP send looked up (its connection tries the others itself).
        let (first, second): (SocketAddr, SocketAddr) =
            ("127.0.0.1:5071".parse().unwrap(), "127.0.0.1:5072".parse().unwrap());
        let (udp, _) = t.bind("127.0.0.1:0".parse().unwrap(), Binding::Udp, 8).unwrap();
        let (tcp, _) = t.bind("127.0.0.1:0".parse().unwrap(), Binding::Tcp(None), 8).unwrap();
        t.remember(udp, "_sip._udp.pbx.test", 5060, first, &[second]);
        t.remember(udp, "pbx.test", 5070, first, &[]);
        t.remember(tcp, "_sip._tcp.pbx.test", 5060, first, &[second]);
        let mut told = t.fail_over(first);
        told.sort();
        assert_eq!(told, ["_sip._tcp.pbx.test:5060", "pbx.test:5070"]);
        assert_eq!(t.resolved("_sip._udp.pbx.test", 5060), Some(second));
        assert_eq!(t.resolved("_sip._tcp.pbx.test", 5060), Some(first));
        assert_eq!(t.fail_over(second), ["_sip._udp.pbx.test:5060"]);
        // A server that does not serve, by the plugin's word: its name goes on, TCP's too,
        // until none is left; an unknown name has none.
        let sent = now_ms() - 10;
        assert!(t.next_server("_sip._tcp.pbx.test", 5060, sent));
        assert_eq!(t.resolved("_sip._tcp.pbx.test", 5060), Some(second));
        // Another request last sent before that move failed too: the name moved on already.
        assert!(t.next_server("_sip._tcp.pbx.test", 5060, sent), "on the next server already");
        assert_eq!(t.resolved("_sip._tcp.pbx.test", 5060), Some(second));
        // Looked up again, the name keeps passing over the server it moved on from.
        let third: SocketAddr = "127.0.0.1:5073".parse().unwrap();
        let kept = t.remember(tcp, "_sip._tcp.pbx.test", 5060, first, &[second, third]);
        assert_eq!(kept, (second, vec![third]));
        let later = now_ms() + 10;
        assert!(t.next_server("_sip._tcp.pbx.test", 5060, later));
        assert_eq!(t.resolved("_sip._tcp.pbx.test", 5060), Some(third));
        assert!(!t.next_server("_sip._tcp.pbx.test", 5060, later + 10), "none left");
        assert_eq!(t.resolved("_sip._tcp.pbx.test", 5060), Some(third));
        // When every answer was passed over, they are tried again.
        assert_eq!(t.remember(tcp, "_sip._tcp.pbx.test", 5060, first, &[second]), (first, vec![second]));
        assert!(!t.next_server("unknown.test", 5060, later));
        // One lookup per name, what waits for it in order; a bound on both.
        assert_eq!(t.wait_for_name("a.test", 1, (1, "a.test:1".into(), b"1".to_vec())), Ok(true));
        assert_eq!(t.wait_for_name("a.test", 1, (1, "a.test:1".into(), b"2".to_vec())), Ok(false));
        for i in 1..MAX_RESOLVING {
            assert_eq!(t.wait_for_name(&format!("n{i}.test"), 1, (1, String::new(), Vec::new())), Ok(true));
        }
        assert!(t.wait_for_name("more.test", 1, (1, String::new(), Vec::new())).is_err());
        let waited: Vec<Vec<u8>> = t.take_waiting("a.test", 1).into_iter().map(|w| w.2).collect();
        assert_eq!(waited, [b"1".to_vec(), b"2".to_vec()]);
        assert!(t.take_waiting("a.test", 1).is_empty());
    }
}

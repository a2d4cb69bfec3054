//! A DNS client of our own (RFC 1035 over UDP, and TCP for long answers) for what the system's
//! resolver does not look up: NAPTR (RFC 3403) and SRV records (RFC 2782), which SIP finds its
//! transport and servers by (RFC 3263), and a plugin's names when its sandbox names
//! `nameserver`s of its own. A query goes to each server in turn (the system's are
//! `/etc/resolv.conf`'s, three at most, as its resolver takes them), round them twice at most,
//! and waits 2 s for each answer: a server that is silent, refuses or fails is passed over for
//! the next, as the system's resolver does. An answer too long for a datagram (truncated, as a
//! server marks one past 512 bytes) is asked again over TCP (RFC 7766), as a domain with many
//! SRV records needs.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// Record types asked for.
pub mod kind {
    /// An IPv4 address.
    pub const A: u16 = 1;
    /// An alias.
    pub const CNAME: u16 = 5;
    /// An IPv6 address.
    pub const AAAA: u16 = 28;
    /// A service's server and port.
    pub const SRV: u16 = 33;
    /// A service of a domain and the name to look up next (RFC 3403).
    pub const NAPTR: u16 = 35;
}

/// How long one try waits for its answer.
const WAIT: Duration = Duration::from_secs(2);
/// Tries per query.
const TRIES: usize = 2;
/// The longest answer read from a datagram (EDNS is not asked for: 512 bytes are the rule).
const MAX_ANSWER: usize = 4096;

/// An SRV record: where a service is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Srv {
    /// Lower first.
    pub priority: u16,
    /// Among equal priorities, the share of the choices.
    pub weight: u16,
    /// The server's port.
    pub port: u16,
    /// The server's name (lower case).
    pub target: String,
}

/// A NAPTR record (RFC 3403) as SIP reads them (RFC 3263 §4.1): its regular expression is not
/// kept (SIP's records have none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Naptr {
    /// Lower first.
    pub order: u16,
    /// Among equal orders, lower first.
    pub preference: u16,
    /// Lower case: `s` says `replacement` is an SRV name.
    pub flags: String,
    /// Lower case, e.g. `sip+d2t`.
    pub services: String,
    /// The name to look up next (lower case; empty for none).
    pub replacement: String,
}

/// What an answer holds (of the name asked, its aliases followed).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Answer {
    /// SRV records.
    pub srv: Vec<Srv>,
    /// NAPTR records.
    pub naptr: Vec<Naptr>,
    /// Addresses (A and AAAA records), with the name they are of: the one asked, or an SRV
    /// record's target the server added.
    pub addrs: Vec<(String, IpAddr)>,
    /// An SRV record names "." as its target: the service is decidedly not there.
    pub unavailable: bool,
}

/// Why an answer was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// Not the answer to our query (another id or question): wait for ours.
    NotOurs,
    /// Ours, but too long for a datagram: to be asked again over TCP.
    Truncated,
    /// Ours, but the server failed, or the bytes are malformed.
    Bad(String),
}

/// A query for `name`'s records of type `rtype`, recursion desired.
pub fn query(id: u16, name: &str, rtype: u16) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(name.len() + 18);
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0]);
    for label in name.trim_end_matches('.').split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("'{name}' is not a domain name"));
        }
        out.push(label.len() as u8);
        out.extend_from_slice(label.as_bytes());
    }
    if out.len() - 12 > 254 {
        return Err(format!("'{name}' is longer than a domain name may be"));
    }
    out.push(0);
    out.extend_from_slice(&rtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    Ok(out)
}

/// A name at `at` in `msg` (following compression pointers): it in lower case, and where what
/// follows it starts.
fn read_name(msg: &[u8], mut at: usize) -> Option<(String, usize)> {
    let (mut name, mut end, mut jumps) = (String::new(), None, 0);
    loop {
        let len = usize::from(*msg.get(at)?);
        match len & 0xc0 {
            0xc0 => {
                let to = (len & 0x3f) << 8 | usize::from(*msg.get(at + 1)?);
                end.get_or_insert(at + 2);
                jumps += 1;
                if jumps > 64 {
                    return None;
                }
                at = to;
            }
            0 if len == 0 => return Some((name, end.unwrap_or(at + 1))),
            0 => {
                let label = msg.get(at + 1..at + 1 + len)?;
                if !name.is_empty() {
                    name.push('.');
                }
                name.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
                if name.len() > 255 {
                    return None;
                }
                at += 1 + len;
            }
            _ => return None,
        }
    }
}

/// A <character-string> at `at` in `data` (its length, then its bytes; RFC 1035 §3.3): it in
/// lower case, and where what follows it starts.
fn char_string(data: &[u8], at: usize) -> Option<(String, usize)> {
    let len = usize::from(*data.get(at)?);
    let text = data.get(at + 1..at + 1 + len)?;
    Some((String::from_utf8_lossy(text).to_ascii_lowercase(), at + 1 + len))
}

fn u16_at(msg: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]))
}

/// One resource record: its owner, type and data (with where the data starts in `msg`, for
/// names inside it).
struct Record<'a> {
    owner: String,
    rtype: u16,
    data: &'a [u8],
    at: usize,
}

/// Reads the answer to query `id` for `name`'s records of type `rtype`: the records of the answer and additional
/// sections. A name that does not exist has no records.
pub fn parse(id: u16, name: &str, rtype: u16, msg: &[u8]) -> Result<Answer, Refused> {
    let bad = |why: &str| Refused::Bad(why.to_owned());
    let malformed = || bad("a malformed answer");
    if msg.len() < 12 || u16_at(msg, 0) != Some(id) || msg[2] & 0x80 == 0 {
        return Err(Refused::NotOurs);
    }
    let count = |i: usize| u16_at(msg, 4 + 2 * i).map(usize::from).unwrap_or(0);
    let (questions, answers, authority, additional) = (count(0), count(1), count(2), count(3));
    // Our question, once.
    let want = name.trim_end_matches('.').to_ascii_lowercase();
    let ours = match (questions, read_name(msg, 12)) {
        (1, Some((asked, next))) if asked == want && u16_at(msg, next) == Some(rtype) => Some(next + 4),
        _ => None,
    };
    let Some(mut at) = ours else { return Err(Refused::NotOurs) };
    // (What a truncated answer holds may be missing: the whole is asked for over TCP.)
    if msg[2] & 0x02 != 0 {
        return Err(Refused::Truncated);
    }
    match msg[3] & 0x0f {
        0 => {}
        3 => return Ok(Answer::default()),
        2 => return Err(bad("the server failed")),
        5 => return Err(bad("the server refused")),
        code => return Err(Refused::Bad(format!("the server answered code {code}"))),
    }
    let mut records = Vec::new();
    for i in 0..answers + authority + additional {
        let (owner, next) = read_name(msg, at).ok_or_else(malformed)?;
        let rtype = u16_at(msg, next).ok_or_else(malformed)?;
        let len = usize::from(u16_at(msg, next + 8).ok_or_else(malformed)?);
        let data = msg.get(next + 10..next + 10 + len).ok_or_else(malformed)?;
        // (The authority section's records say nothing of the name.)
        if !(answers..answers + authority).contains(&i) {
            records.push(Record { owner, rtype, data, at: next + 10 });
        }
        at = next + 10 + len;
    }
    // The name asked and its aliases, in the order the answer gives them.
    let mut names = vec![want];
    for r in records.iter().filter(|r| r.rtype == kind::CNAME) {
        if names.contains(&r.owner) {
            let (alias, _) = read_name(msg, r.at).ok_or_else(malformed)?;
            names.push(alias);
        }
    }
    let mut answer = Answer::default();
    for r in &records {
        match (r.rtype, r.data.len()) {
            (kind::SRV, 7..) if names.contains(&r.owner) => {
                let (target, _) = read_name(msg, r.at + 6).ok_or_else(malformed)?;
                if target.is_empty() {
                    // "." says the service is not there.
                    answer.unavailable = true;
                } else {
                    let n = |i| u16_at(r.data, i).unwrap_or(0);
                    answer.srv.push(Srv { priority: n(0), weight: n(2), port: n(4), target });
                }
            }
            (kind::NAPTR, 7..) if names.contains(&r.owner) => {
                let n = |i| u16_at(r.data, i).unwrap_or(0);
                let (flags, at) = char_string(r.data, 4).ok_or_else(malformed)?;
                let (services, at) = char_string(r.data, at).ok_or_else(malformed)?;
                let (_regexp, at) = char_string(r.data, at).ok_or_else(malformed)?;
                let (replacement, end) = read_name(msg, r.at + at).ok_or_else(malformed)?;
                if end != r.at + r.data.len() {
                    return Err(malformed());
                }
                answer.naptr.push(Naptr { order: n(0), preference: n(2), flags, services, replacement });
            }
            (kind::A, 4) => {
                let ip = IpAddr::from(<[u8; 4]>::try_from(r.data).map_err(|_| malformed())?);
                answer.addrs.push((r.owner.clone(), ip));
            }
            (kind::AAAA, 16) => {
                let ip = IpAddr::from(<[u8; 16]>::try_from(r.data).map_err(|_| malformed())?);
                answer.addrs.push((r.owner.clone(), ip));
            }
            _ => {}
        }
    }
    // An address of an alias of the name asked is the name's.
    let asked = names[0].clone();
    for (owner, _) in answer.addrs.iter_mut() {
        if names[1..].contains(owner) {
            *owner = asked.clone();
        }
    }
    Ok(answer)
}

/// SRV records in the order to try them (RFC 2782): lower priority first; among equal ones,
/// chosen in turn with chances by weight (`random` gives numbers to draw from).
pub fn order(mut records: Vec<Srv>, mut random: impl FnMut() -> u32) -> Vec<Srv> {
    records.sort_by_key(|r| (r.priority, r.weight));
    let mut out = Vec::with_capacity(records.len());
    while !records.is_empty() {
        let priority = records[0].priority;
        let same = records.iter().take_while(|r| r.priority == priority).count();
        let total: u32 = records[..same].iter().map(|r| u32::from(r.weight)).sum();
        let mut pick = 0;
        if total > 0 {
            let mut draw = random() % (total + 1);
            pick = same - 1;
            for (i, r) in records[..same].iter().enumerate() {
                if draw <= u32::from(r.weight) {
                    pick = i;
                    break;
                }
                draw -= u32::from(r.weight);
            }
        }
        out.push(records.remove(pick));
    }
    out
}

/// The system's name servers: `/etc/resolv.conf`'s (port 53), the first three as its resolver
/// takes them, else this host's.
pub fn system_nameservers() -> Vec<SocketAddr> {
    let conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let mut servers: Vec<SocketAddr> = conf
        .lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .take(MAX_SERVERS)
        .collect();
    if servers.is_empty() {
        servers.push(SocketAddr::from(([127, 0, 0, 1], 53)));
    }
    servers
}

/// Name servers asked at most, as `/etc/resolv.conf`'s resolver takes them (MAXNS).
pub const MAX_SERVERS: usize = 3;

/// Asks `servers` for `name`'s records of type `rtype`: each in turn until one answers (over
/// UDP, and over TCP when the answer is too long for a datagram), round them [`TRIES`] times.
/// A server asked again is asked on the same socket with the same id, so its answer to the
/// first try still counts.
pub async fn lookup(servers: &[SocketAddr], name: &str, rtype: u16) -> Result<Answer, String> {
    let mut asked: Vec<Option<(tokio::net::UdpSocket, u16, Vec<u8>)>> =
        servers.iter().map(|_| None).collect();
    let mut failed = format!("no name server to ask for {name}");
    for _ in 0..TRIES {
        for (&server, asked) in servers.iter().zip(asked.iter_mut()) {
            match lookup_once(server, name, rtype, asked).await {
                Ok(answer) => return Ok(answer),
                Err(why) => failed = why,
            }
        }
    }
    Err(failed)
}

/// One try of [`lookup`] at `server`: the query sent (on the socket of the first try, made
/// then), the answer awaited [`WAIT`].
async fn lookup_once(
    server: SocketAddr,
    name: &str,
    rtype: u16,
    asked: &mut Option<(tokio::net::UdpSocket, u16, Vec<u8>)>,
) -> Result<Answer, String> {
    let (socket, id, ask) = match asked {
        Some(asked) => asked,
        None => {
            let any: SocketAddr =
                if server.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { "[::]:0".parse().unwrap_or(server) };
            let socket = tokio::net::UdpSocket::bind(any).await.map_err(|e| e.to_string())?;
            // Connected: only the server's datagrams are read.
            socket.connect(server).await.map_err(|e| format!("{server}: {e}"))?;
            let id: u16 = rand::random();
            asked.insert((socket, id, query(id, name, rtype)?))
        }
    };
    socket.send(ask).await.map_err(|e| format!("{server}: {e}"))?;
    let mut buf = vec![0u8; MAX_ANSWER];
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, socket.recv(&mut buf)).await {
            Ok(Ok(n)) => match parse(*id, name, rtype, &buf[..n]) {
                Ok(answer) => return Ok(answer),
                Err(Refused::NotOurs) => continue,
                Err(Refused::Truncated) => return lookup_tcp(server, name, rtype).await,
                Err(Refused::Bad(why)) => return Err(format!("{server} on {name}: {why}")),
            },
            Ok(Err(e)) => return Err(format!("{server}: {e}")),
            Err(_) => return Err(format!("{server} did not answer on {name}")),
        }
    }
}

/// [`lookup`] over TCP (RFC 1035 §4.2.2: each message after its length in two bytes), once,
/// waiting [`WAIT`] for the connection and as long again for the answer.
async fn lookup_tcp(server: SocketAddr, name: &str, rtype: u16) -> Result<Answer, String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let failed = |e: std::io::Error| format!("{server} over TCP: {e}");
    let late = |_| format!("{server} did not answer on {name} over TCP");
    let mut tcp = tokio::time::timeout(WAIT, tokio::net::TcpStream::connect(server))
        .await
        .map_err(late)?
        .map_err(failed)?;
    let id: u16 = rand::random();
    let ask = query(id, name, rtype)?;
    let mut framed = (ask.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&ask);
    let exchange = async {
        tcp.write_all(&framed).await?;
        let len = usize::from(tcp.read_u16().await?);
        let mut msg = vec![0u8; len];
        tcp.read_exact(&mut msg).await?;
        Ok::<_, std::io::Error>(msg)
    };
    let msg = tokio::time::timeout(WAIT, exchange).await.map_err(late)?.map_err(failed)?;
    match parse(id, name, rtype, &msg) {
        Ok(answer) => Ok(answer),
        Err(Refused::NotOurs) => Err(format!("{server} over TCP: not the answer to our question on {name}")),
        Err(Refused::Truncated) => Err(format!("{server} over TCP: a truncated answer on {name}")),
        Err(Refused::Bad(why)) => Err(format!("{server} on {name}: {why}")),
    }
}

/// A DNS server's side, for tests.
#[cfg(test)]
pub(crate) mod server {
    use super::*;

    /// `name` as a record's data writes it (uncompressed; "" is the root).
    fn name_data(name: &str) -> Vec<u8> {
        if name.is_empty() {
            return vec![0];
        }
        let q = query(0, name, 0).unwrap();
        q[12..q.len() - 4].to_vec()
    }

    /// An SRV record's data (an empty `target`: ".", no service here).
    pub fn srv(priority: u16, weight: u16, port: u16, target: &str) -> Vec<u8> {
        let mut d = [priority, weight, port].iter().flat_map(|n| n.to_be_bytes()).collect::<Vec<u8>>();
        d.extend_from_slice(&name_data(target));
        d
    }

    /// A NAPTR record's data (no regular expression).
    pub fn naptr(order: u16, preference: u16, flags: &str, services: &str, replacement: &str) -> Vec<u8> {
        let mut d = [order, preference].iter().flat_map(|n| n.to_be_bytes()).collect::<Vec<u8>>();
        for text in [flags, services, ""] {
            d.push(text.len() as u8);
            d.extend_from_slice(text.as_bytes());
        }
        d.extend_from_slice(&name_data(replacement));
        d
    }

    /// A query's question: the name and type asked.
    pub fn question(msg: &[u8]) -> Option<(String, u16)> {
        let (name, end) = read_name(msg, 12)?;
        Some((name, u16_at(msg, end)?))
    }

    /// An answer as a server writes it: the question, then `records` (owner, type, data) in
    /// the answer section and `extra` in the additional one, names compressed to the question's.
    pub fn answer(
        id: u16,
        name: &str,
        kind: u16,
        rcode: u8,
        records: &[(&str, u16, Vec<u8>)],
        extra: &[(&str, u16, Vec<u8>)],
    ) -> Vec<u8> {
        let mut m = query(id, name, kind).unwrap();
        m[2] = 0x81;
        m[3] = 0x80 | rcode;
        m[6..8].copy_from_slice(&(records.len() as u16).to_be_bytes());
        m[10..12].copy_from_slice(&(extra.len() as u16).to_be_bytes());
        for (owner, kind, data) in records.iter().chain(extra) {
            if *owner == name {
                m.extend_from_slice(&[0xc0, 12]);
            } else {
                let q = query(0, owner, 0).unwrap();
                m.extend_from_slice(&q[12..q.len() - 4]);
            }
            m.extend_from_slice(&kind.to_be_bytes());
            m.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            m.extend_from_slice(&(data.len() as u16).to_be_bytes());
            m.extend_from_slice(data);
        }
        m
    }

    /// Answers queries on `socket` for ever: `records` gives, for a name and a type, the
    /// answer's code and records.
    pub async fn serve(
        socket: tokio::net::UdpSocket,
        records: impl Fn(&str, u16) -> (u8, Vec<(String, u16, Vec<u8>)>),
    ) {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = socket.recv_from(&mut buf).await {
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            let Some((name, rtype)) = question(&buf[..n]) else { continue };
            let (rcode, found) = records(&name, rtype);
            let found: Vec<(&str, u16, Vec<u8>)> =
                found.iter().map(|(o, t, d)| (o.as_str(), *t, d.clone())).collect();
            let _ = socket.send_to(&answer(id, &name, rtype, rcode, &found, &[]), from).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::server::{answer, naptr, srv};
    use super::*;

    #[test]
    fn a_query_is_written_as_rfc_1035_says() {
        let q = query(0x1234, "_sip._udp.Example.com", kind::SRV).unwrap();
        assert_eq!(&q[..12], &[0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(&q[12..], b"\x04_sip\x04_udp\x07Example\x03com\x00\x00\x21\x00\x01");
        assert!(query(1, "a..b", kind::A).is_err());
        assert!(query(1, &"a".repeat(64), kind::A).is_err());
        assert!(query(1, &["abc"; 80].join("."), kind::A).is_err());
    }

    #[test]
    fn srv_records_and_their_targets_addresses_are_read() {
        let name = "_sip._udp.pbx.test";
        let records =
            [(name, kind::SRV, srv(10, 5, 5070, "sip1.pbx.test")), (name, kind::SRV, srv(0, 0, 0, ""))];
        let extra = [("sip1.pbx.test", kind::A, vec![127, 0, 0, 1])];
        let a = parse(7, name, kind::SRV, &answer(7, name, kind::SRV, 0, &records, &extra)).unwrap();
        assert_eq!(a.srv, [Srv { priority: 10, weight: 5, port: 5070, target: "sip1.pbx.test".into() }]);
        assert_eq!(a.addrs, [("sip1.pbx.test".to_owned(), IpAddr::from([127, 0, 0, 1]))]);
        assert!(a.unavailable, "a record names \".\"");
        // A truncated answer is to be asked for again (over TCP); one without our question is
        // not ours.
        let mut truncated = answer(7, name, kind::SRV, 0, &records, &extra);
        truncated[2] |= 0x02;
        assert_eq!(parse(7, name, kind::SRV, &truncated), Err(Refused::Truncated));
        let mut questionless = answer(7, name, kind::SRV, 0, &[], &[]);
        questionless[5] = 0;
        assert_eq!(parse(7, name, kind::SRV, &questionless), Err(Refused::NotOurs));
        // Another id or question is not ours; a name that is not there has no records.
        let reply = answer(7, name, kind::SRV, 0, &records, &extra);
        assert_eq!(parse(8, name, kind::SRV, &reply), Err(Refused::NotOurs));
        assert_eq!(parse(7, "_sip._tcp.pbx.test", kind::SRV, &reply), Err(Refused::NotOurs));
        assert_eq!(
            parse(7, name, kind::SRV, &answer(7, name, kind::SRV, 3, &[], &[])),
            Ok(Answer::default())
        );
        assert!(matches!(
            parse(7, name, kind::SRV, &answer(7, name, kind::SRV, 2, &[], &[])),
            Err(Refused::Bad(_))
        ));
    }

    /// An alias is followed: its addresses are the name's.
    #[test]
    fn aliases_are_followed() {
        let cname = |to: &str| {
            let q = query(0, to, 0).unwrap();
            q[12..q.len() - 4].to_vec()
        };
        let records = [("www.test", kind::CNAME, cname("host.test")), ("host.test", kind::AAAA, vec![0; 16])];
        let a =
            parse(1, "www.test", kind::AAAA, &answer(1, "www.test", kind::AAAA, 0, &records, &[])).unwrap();
        assert_eq!(a.addrs, [("www.test".to_owned(), IpAddr::from([0u8; 16]))]);
    }

    #[test]
    fn pointers_that_loop_or_point_nowhere_are_malformed() {
        let mut m = answer(1, "a.test", kind::A, 0, &[("a.test", kind::A, vec![1, 2, 3, 4])], &[]);
        let looped = m.len() - 16;
        m[looped..looped + 2].copy_from_slice(&[0xc0, looped as u8]);
        assert!(matches!(parse(1, "a.test", kind::A, &m), Err(Refused::Bad(_))));
        let mut short = answer(1, "a.test", kind::A, 0, &[("a.test", kind::A, vec![1, 2, 3, 4])], &[]);
        short.truncate(short.len() - 2);
        assert!(matches!(parse(1, "a.test", kind::A, &short), Err(Refused::Bad(_))));
    }

    #[test]
    fn records_are_ordered_by_priority_then_chosen_by_weight() {
        let r = |priority, weight, target: &str| Srv { priority, weight, port: 1, target: target.into() };
        let records = vec![r(20, 0, "last"), r(10, 1, "light"), r(10, 9, "heavy")];
        let names = |o: Vec<Srv>| o.into_iter().map(|r| r.target).collect::<Vec<_>>();
        // A draw of 0 falls on the first of the weights in order (the lightest), a high one on
        // the heaviest.
        assert_eq!(names(order(records.clone(), || 0)), ["light", "heavy", "last"]);
        assert_eq!(names(order(records.clone(), || 9)), ["heavy", "light", "last"]);
        let mut heavy_first = 0;
        let mut n = 0u32;
        for _ in 0..1000 {
            let first = order(records.clone(), || {
                n = n.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                n >> 8
            });
            heavy_first += usize::from(first[0].target == "heavy");
        }
        // (9 in 11 draws: 818 expected.)
        assert!((790..=850).contains(&heavy_first), "{heavy_first} of 1000");
    }

    /// A server on loopback (a socket of this test) is asked and its answer read.
    #[tokio::test]
    async fn a_server_is_asked() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = server.local_addr().unwrap();
        let serve = async {
            let mut buf = [0u8; 512];
            let (n, from) = server.recv_from(&mut buf).await.unwrap();
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            assert_eq!(&buf[12..n - 4], b"\x01a\x04test\x00");
            let reply = answer(id, "a.test", kind::A, 0, &[("a.test", kind::A, vec![10, 0, 0, 1])], &[]);
            server.send_to(&reply, from).await.unwrap();
        };
        let servers = [at];
        let (answer, ()) = tokio::join!(lookup(&servers, "a.test", kind::A), serve);
        assert_eq!(answer.unwrap().addrs, [("a.test".to_owned(), IpAddr::from([10, 0, 0, 1]))]);
    }

    /// NAPTR records (RFC 3403's layout: order, preference, three character-strings, the
    /// replacement), in lower case; a record whose strings run past its data is malformed.
    #[test]
    fn naptr_records_are_read() {
        let name = "pbx.test";
        let records = [
            (name, kind::NAPTR, naptr(10, 50, "S", "SIP+D2T", "_sip._tcp.pbx.test")),
            (name, kind::NAPTR, naptr(20, 10, "s", "sip+d2u", "_sip._udp.pbx.test")),
        ];
        let a = parse(3, name, kind::NAPTR, &answer(3, name, kind::NAPTR, 0, &records, &[])).unwrap();
        let read = |order, preference, services: &str, replacement: &str| Naptr {
            order,
            preference,
            flags: "s".to_owned(),
            services: services.to_owned(),
            replacement: replacement.to_owned(),
        };
        assert_eq!(
            a.naptr,
            [read(10, 50, "sip+d2t", "_sip._tcp.pbx.test"), read(20, 10, "sip+d2u", "_sip._udp.pbx.test")]
        );
        let mut bad = naptr(10, 50, "s", "SIP+D2T", "_sip._tcp.pbx.test");
        bad[4] = 200;
        let bad_records = [(name, kind::NAPTR, bad)];
        let reply = answer(3, name, kind::NAPTR, 0, &bad_records, &[]);
        assert_eq!(parse(3, name, kind::NAPTR, &reply), Err(Refused::Bad("a malformed answer".to_owned())));
    }

    /// A server that answers the first try late (after that try's wait) is still heard: the
    /// second try asks on the same socket, with the same id.
    #[tokio::test]
    async fn a_late_answer_to_the_first_try_counts() {
        let server = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let at = server.local_addr().unwrap();
        tokio::spawn(async move {
            let mut buf = [0u8; 512];
            let (_, from) = server.recv_from(&mut buf).await.unwrap();
            let id = u16::from_be_bytes([buf[0], buf[1]]);
            tokio::time::sleep(WAIT + Duration::from_millis(300)).await;
            let reply = answer(id, "a.test", kind::A, 0, &[("a.test", kind::A, vec![10, 0, 0, 3])], &[]);
            server.send_to(&reply, from).await.unwrap();
        });
        let answer = lookup(&[at], "a.test", kind::A).await;
        assert_eq!(answer.unwrap().addrs, [("a.test".to_owned(), IpAddr::from([10, 0, 0, 3]))]);
    }

    /// A server whose port is closed, then one that fails (SERVFAIL), are passed over for the
    /// next, which answers; when none answers, the last one's failure is told.
    #[tokio::test]
    async fn servers_are_asked_in_turn_until_one_answers() {
        let closed = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let closed_at = closed.local_addr().unwrap();
        drop(closed);
        let serving = |rcode: u8| async move {
            let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            let at = socket.local_addr().unwrap();
            let a = move |_: &str, _: u16| (rcode, vec![("a.test".to_owned(), kind::A, vec![10, 0, 0, 2])]);
            tokio::spawn(super::server::serve(socket, a));
            at
        };
        let (failing, good) = (serving(2).await, serving(0).await);
        let answer = lookup(&[closed_at, failing, good], "a.test", kind::A).await;
        assert_eq!(answer.unwrap().addrs, [("a.test".to_owned(), IpAddr::from([10, 0, 0, 2]))]);
        let failed = lookup(&[closed_at, failing], "a.test", kind::A).await;
        assert_eq!(failed, Err(format!("{failing} on a.test: the server failed")));
    }
}

//! Where a plugin's `name:port` goes. A name's addresses come from the system's resolver
//! (`/etc/hosts`, DNS A and AAAA records), or from the servers of the plugin's
//! `sandbox.nameserver` when it names some. An SRV name, `_service._proto.domain:port` (RFC
//! 2782), goes to the servers its SRV records name, in their order (priority, then weight; the
//! first four), at their records' ports; a domain without such records (or whose servers fail)
//! goes to its own addresses at the port given (RFC 3263 §4.2: SIP's
//! `_sip._udp.example.com:5060`), and one whose record names "." nowhere. Which transport a SIP
//! domain's requests take, when its URI does not say, comes from its NAPTR records, else from
//! which SRV names it has (RFC 3263 §4.1: [`locate_sip`]).

use std::net::SocketAddr;

use crate::dns;

/// The domain of an SRV name (`_sip._udp.example.com` → `example.com`), or `None` for a name
/// that is not one.
pub fn srv_domain(name: &str) -> Option<&str> {
    let mut labels = name.splitn(3, '.');
    let (service, proto, domain) = (labels.next()?, labels.next()?, labels.next()?);
    let service_label = |l: &str| {
        l.len() > 1
            && l.len() <= 63
            && l.starts_with('_')
            && l[1..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    (service_label(service) && service_label(proto)).then_some(domain)
}

/// `nameservers`, or the system's when there are none (for the records its resolver does not
/// look up).
fn or_system(nameservers: &[SocketAddr]) -> std::borrow::Cow<'_, [SocketAddr]> {
    match nameservers {
        [] => std::borrow::Cow::Owned(dns::system_nameservers()),
        given => std::borrow::Cow::Borrowed(given),
    }
}

/// SRV targets whose addresses are looked up at most (at once).
const MAX_TARGETS: usize = 4;

/// A SIP transport, as a domain's NAPTR or SRV records name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SipTransport {
    /// SIP+D2U, `_sip._udp`.
    Udp,
    /// SIP+D2T, `_sip._tcp`.
    Tcp,
    /// SIPS+D2T, `_sips._tcp`.
    Tls,
}

impl SipTransport {
    /// Its SRV service (RFC 3263 §4.2), as SRV names start.
    fn service(self) -> &'static str {
        match self {
            SipTransport::Udp => "_sip._udp.",
            SipTransport::Tcp => "_sip._tcp.",
            SipTransport::Tls => "_sips._tcp.",
        }
    }
}

/// Where a SIP domain's requests go: a transport and the SRV name its servers are found by.
pub type SipService = (SipTransport, String);

/// RFC 3263 §4.1 for a `sip:` URI whose host is `domain`, a name without a port or transport:
/// the transport the domain's NAPTR records prefer among those we speak (by order, then
/// preference; flag `s`: the replacement is an SRV name, which a replacement not of the
/// `_service._proto.` form is taken to be the transport's usual one), else the first of
/// `_sip._udp` and `_sip._tcp` that has SRV records; none when the domain has neither.
pub async fn locate_sip(domain: &str, nameservers: &[SocketAddr]) -> Option<SipService> {
    let servers = &or_system(nameservers)[..];
    let domain = domain.trim_end_matches('.').to_ascii_lowercase();
    // (The three at once: one round trip.)
    let [udp, tcp] = [SipTransport::Udp, SipTransport::Tcp].map(|t| (t, format!("{}{domain}", t.service())));
    let (naptr, on_udp, on_tcp) = tokio::join!(
        dns::lookup(servers, &domain, dns::kind::NAPTR),
        dns::lookup(servers, &udp.1, dns::kind::SRV),
        dns::lookup(servers, &tcp.1, dns::kind::SRV)
    );
    let naptr = naptr.map(|a| a.naptr).unwrap_or_default();
    let mut usable: Vec<(u16, u16, SipService)> = naptr
        .into_iter()
        .filter(|r| r.flags == "s")
        .filter_map(|r| {
            let transport = match r.services.as_str() {
                "sip+d2u" => SipTransport::Udp,
                "sip+d2t" => SipTransport::Tcp,
                "sips+d2t" => SipTransport::Tls,
                _ => return None,
            };
            let name = match srv_domain(&r.replacement) {
                Some(_) => r.replacement,
                None => format!("{}{domain}", transport.service()),
            };
            Some((r.order, r.preference, (transport, name)))
        })
        .collect();
    usable.sort();
    if let Some((_, _, service)) = usable.into_iter().next() {
        return Some(service);
    }
    let has = |found: Result<dns::Answer, String>| found.is_ok_and(|a| !a.srv.is_empty());
    match (has(on_udp), has(on_tcp)) {
        (true, _) => Some(udp),
        (false, true) => Some(tcp),
        (false, false) => None,
    }
}

/// The addresses `name:port` goes to, in the order to try them (none: the name is not there,
/// or its service is decidedly not, an SRV target of ".").
pub async fn resolve(name: &str, port: u16, nameservers: &[SocketAddr]) -> Result<Vec<SocketAddr>, String> {
    let Some(domain) = srv_domain(name) else {
        return addresses(name, port, nameservers).await;
    };
    let servers = &or_system(nameservers)[..];
    // (Servers that fail are taken as having no records: the domain is tried.)
    let answer = dns::lookup(servers, name, dns::kind::SRV).await.unwrap_or_else(|e| {
        tracing::debug!("SRV lookup of {name}: {e}");
        dns::Answer::default()
    });
    if answer.srv.is_empty() {
        if answer.unavailable {
            return Ok(Vec::new());
        }
        return addresses(domain, port, nameservers).await;
    }
    // Each server's addresses as the answer gave them, else looked up (at once), in the
    // records' order.
    let targets: Vec<dns::Srv> = dns::order(answer.srv, rand::random).into_iter().take(MAX_TARGETS).collect();
    let lookups = targets.iter().map(|srv| {
        let given: Vec<SocketAddr> = answer
            .addrs
            .iter()
            .filter(|(owner, _)| *owner == srv.target)
            .map(|(_, ip)| SocketAddr::new(*ip, srv.port))
            .collect();
        async move {
            if !given.is_empty() {
                return given;
            }
            addresses(&srv.target, srv.port, nameservers).await.unwrap_or_else(|e| {
                tracing::debug!("SRV target {}: {e}", srv.target);
                Vec::new()
            })
        }
    });
    Ok(futures_util::future::join_all(lookups).await.into_iter().flatten().collect())
}

/// A name's addresses (IPv4 first), looked up now for a caller outside the runtime (a plugin's
/// `resolve`), waiting `wait` at most.
pub fn addresses_now(
    rt: &tokio::runtime::Handle,
    name: &str,
    nameservers: &[SocketAddr],
    wait: std::time::Duration,
) -> Result<Vec<std::net::IpAddr>, String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (owned, servers) = (name.to_owned(), nameservers.to_vec());
    rt.spawn(async move {
        let _ = tx.send(addresses(&owned, 0, &servers).await);
    });
    let mut found: Vec<std::net::IpAddr> = match rx.recv_timeout(wait) {
        Ok(found) => found?.into_iter().map(|a| a.ip()).collect(),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => return Err(format!("no answer in {wait:?}")),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            return Err("the gateway is stopping".to_owned())
        }
    };
    found.sort_by_key(|ip| ip.is_ipv6());
    found.dedup();
    Ok(found)
}

/// A name's addresses: from the system's resolver, or from `nameservers` (A and AAAA records)
/// when there are some.
async fn addresses(name: &str, port: u16, nameservers: &[SocketAddr]) -> Result<Vec<SocketAddr>, String> {
    if nameservers.is_empty() {
        let found = tokio::net::lookup_host((name, port)).await.map_err(|e| e.to_string())?;
        return Ok(found.collect());
    }
    let (v4, v6) = tokio::join!(
        dns::lookup(nameservers, name, dns::kind::A),
        dns::lookup(nameservers, name, dns::kind::AAAA)
    );
    // (One of the two may fail where the other answers.)
    if let (Err(e), Err(_)) = (&v4, &v6) {
        return Err(e.clone());
    }
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    let owned = [v4, v6].into_iter().flatten().flat_map(|a| a.addrs).filter(|(owner, _)| *owner == name);
    Ok(owned.map(|(_, ip)| SocketAddr::new(ip, port)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Through a server of this test: SRV records give the server and its port (its address
    /// asked of the same server when the answer leaves it out); a domain without them goes to
    /// its own address at the port given.
    #[tokio::test]
    async fn srv_names_go_to_their_servers_or_to_the_domain() {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = socket.local_addr().unwrap();
        let srv = |port: u16, target: &str| {
            let mut d = [0u16, 0, port].iter().flat_map(|n| n.to_be_bytes()).collect::<Vec<u8>>();
            let q = dns::query(0, target, 0).unwrap();
            d.extend_from_slice(&q[12..q.len() - 4]);
            d
        };
        let srv_at = move |priority: u16, port: u16, target: &str| {
            let mut d = srv(port, target);
            d[..2].copy_from_slice(&priority.to_be_bytes());
            d
        };
        let records = move |name: &str, rtype: u16| match (name, rtype) {
            ("_sip._udp.pbx.test", dns::kind::SRV) => {
                (0, vec![(name.to_owned(), rtype, srv(5070, "sip1.pbx.test"))])
            }
            ("_sip._udp.closed.test", dns::kind::SRV) => {
                (0, vec![(name.to_owned(), rtype, vec![0, 0, 0, 0, 0, 0, 0])])
            }
            ("_sip._udp.two.test", dns::kind::SRV) => (
                0,
                vec![
                    (name.to_owned(), rtype, srv_at(3, 5072, "sip1.pbx.test")),
                    (name.to_owned(), rtype, srv_at(1, 5070, "gone.test")),
                    (name.to_owned(), rtype, srv_at(2, 5071, "nosrv.test")),
                ],
            ),
            ("sip1.pbx.test" | "nosrv.test" | "closed.test", dns::kind::A) => {
                (0, vec![(name.to_owned(), rtype, vec![127, 0, 0, 9])])
            }
            ("sip1.pbx.test" | "nosrv.test" | "closed.test", _) => (0, Vec::new()),
            _ => (3, Vec::new()),
        };
        tokio::spawn(dns::server::serve(socket, records));
        let at = |port| vec![SocketAddr::from(([127, 0, 0, 9], port))];
        assert_eq!(resolve("_sip._udp.pbx.test", 5060, &[server]).await, Ok(at(5070)));
        assert_eq!(resolve("_sip._udp.nosrv.test", 5060, &[server]).await, Ok(at(5060)));
        assert_eq!(resolve("nosrv.test", 5080, &[server]).await, Ok(at(5080)));
        assert_eq!(resolve("_sip._udp.nothing.test", 5060, &[server]).await, Ok(Vec::new()));
        // "." says the service is not there: the domain is not tried.
        assert_eq!(resolve("_sip._udp.closed.test", 5060, &[server]).await, Ok(Vec::new()));
        // Every server's addresses, in the records' order (one without an address passed over).
        assert_eq!(resolve("_sip._udp.two.test", 5060, &[server]).await, Ok([at(5071), at(5072)].concat()));
    }

    /// RFC 3263 §4.1 through a server of this test: the usable NAPTR record first by order then
    /// preference (a service we do not speak, or a flag other than `s`, passed over; a
    /// replacement not of the SRV form taken as the transport's usual name); without one, the
    /// first of `_sip._udp` and `_sip._tcp` that has SRV records; else none.
    #[tokio::test]
    async fn a_sip_domains_transport_is_located() {
        let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let server = socket.local_addr().unwrap();
        use dns::server::naptr;
        let srv = dns::server::srv(1, 0, 5060, "sip1.pbx.test");
        let records = move |name: &str, rtype: u16| {
            let one = |data: Vec<u8>| (0, vec![(name.to_owned(), rtype, data)]);
            match (name, rtype) {
                ("pbx.test", dns::kind::NAPTR) => (
                    0,
                    vec![
                        (name.to_owned(), rtype, naptr(5, 10, "s", "SIP+D2X", "_sip._x.pbx.test")),
                        (name.to_owned(), rtype, naptr(5, 20, "a", "SIP+D2U", "sip1.pbx.test")),
                        (name.to_owned(), rtype, naptr(10, 50, "s", "SIP+D2U", "_sip._udp.pbx.test")),
                        (name.to_owned(), rtype, naptr(10, 20, "S", "SIPS+D2T", "_sips._tcp.edge.test")),
                    ],
                ),
                ("odd.test", dns::kind::NAPTR) => one(naptr(1, 1, "s", "SIP+D2T", "tcp-servers.odd.test")),
                ("_sip._tcp.tcp.test" | "_sip._udp.both.test" | "_sip._tcp.both.test", dns::kind::SRV) => {
                    one(srv.clone())
                }
                _ => (3, Vec::new()),
            }
        };
        tokio::spawn(dns::server::serve(socket, records));
        let located = |t: SipTransport, name: &str| Some((t, name.to_owned()));
        let servers = [server];
        assert_eq!(
            locate_sip("pbx.test", &servers).await,
            located(SipTransport::Tls, "_sips._tcp.edge.test")
        );
        assert_eq!(locate_sip("odd.test", &servers).await, located(SipTransport::Tcp, "_sip._tcp.odd.test"));
        assert_eq!(locate_sip("tcp.test", &servers).await, located(SipTransport::Tcp, "_sip._tcp.tcp.test"));
        assert_eq!(
            locate_sip("Both.test.", &servers).await,
            located(SipTransport::Udp, "_sip._udp.both.test")
        );
        assert_eq!(locate_sip("nothing.test", &servers).await, None);
    }

    #[test]
    fn srv_names_are_told_apart() {
        assert_eq!(srv_domain("_sip._udp.example.com"), Some("example.com"));
        assert_eq!(srv_domain("_sips._tcp.pbx.test"), Some("pbx.test"));
        for plain in ["example.com", "sip._udp.example.com", "_sip.example", "_._udp.x", "_sip._u_p.x"] {
            assert_eq!(srv_domain(plain), None, "{plain}");
        }
    }
}

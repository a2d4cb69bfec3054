//! Which local address the media sockets use and advertise, from Janus's `interface`,
//! `ice_enforce_list`, `ice_ignore_list`, `ipv6`, `nat_1_1_mapping` and `keep_private_host`.

use std::net::IpAddr;

use crate::config::{Media, Nat};

/// A local interface: its name and address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interface {
    /// The name (`lo`, `eth0`).
    pub name: String,
    /// Its address.
    pub addr: IpAddr,
}

/// The machine's interfaces.
pub fn system_interfaces() -> Vec<Interface> {
    if_addrs::get_if_addrs()
        .map(|list| list.into_iter().map(|i| Interface { name: i.name.clone(), addr: i.ip() }).collect())
        .unwrap_or_default()
}

/// Whether an entry of an enforce/ignore list names this interface (by name, or by address
/// prefix as Janus allows: "192.168.").
fn listed(list: &[String], i: &Interface) -> bool {
    list.iter().any(|e| i.name.starts_with(e.as_str()) || i.addr.to_string().starts_with(e.as_str()))
}

/// The addresses to gather host candidates on, in order of preference.
pub fn candidate_addresses(media: &Media, nat: &Nat, interfaces: &[Interface]) -> Vec<IpAddr> {
    if let Some(ip) = media.interface.as_deref().and_then(|i| i.parse::<IpAddr>().ok()) {
        return vec![ip];
    }
    let named = media.interface.as_deref();
    interfaces
        .iter()
        .filter(|i| named.is_none_or(|n| i.name == n))
        .filter(|i| media.ipv6 || i.addr.is_ipv4())
        .filter(|i| !matches!(i.addr, IpAddr::V6(a) if a.segments()[0] & 0xffc0 == 0xfe80))
        .filter(|i| {
            if nat.ice_enforce_list.is_empty() {
                !i.addr.is_loopback()
            } else {
                listed(&nat.ice_enforce_list, i)
            }
        })
        .filter(|i| !listed(&nat.ice_ignore_list, i) || listed(&nat.ice_enforce_list, i))
        .map(|i| i.addr)
        .collect()
}

/// The addresses to advertise for a local one: the `nat_1_1_mapping` entries of the same
/// family (and the local address too with `keep_private_host`), or the local address alone.
pub fn advertised(local: IpAddr, nat: &Nat) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = nat
        .nat_1_1_mapping
        .iter()
        .filter_map(|m| m.parse::<IpAddr>().ok())
        .filter(|m| m.is_ipv4() == local.is_ipv4())
        .collect();
    if out.is_empty() || nat.keep_private_host {
        out.push(local);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ifs() -> Vec<Interface> {
        vec![
            Interface { name: "lo".into(), addr: "127.0.0.1".parse().unwrap() },
            Interface { name: "eth0".into(), addr: "10.1.2.3".parse().unwrap() },
            Interface { name: "vmnet1".into(), addr: "172.16.0.1".parse().unwrap() },
            Interface { name: "eth0".into(), addr: "fe80::1".parse().unwrap() },
            Interface { name: "eth0".into(), addr: "2001:db8::1".parse().unwrap() },
        ]
    }

    fn nat(enforce: &[&str]) -> Nat {
        Nat {
            ice_enforce_list: enforce.iter().map(|s| s.to_string()).collect(),
            ice_ignore_list: vec!["vmnet".into()],
            ..Nat::default()
        }
    }

    #[test]
    fn default_skips_loopback_ignored_and_ipv6() {
        let got = candidate_addresses(&Media::default(), &nat(&[]), &ifs());
        assert_eq!(got, vec!["10.1.2.3".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn enforce_list_allows_loopback() {
        let got = candidate_addresses(&Media::default(), &nat(&["lo"]), &ifs());
        assert_eq!(got, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
        let got = candidate_addresses(&Media::default(), &nat(&["127."]), &ifs());
        assert_eq!(got, vec!["127.0.0.1".parse::<IpAddr>().unwrap()]);
    }

    #[test]
    fn interface_address_and_ipv6() {
        let media = Media { interface: Some("127.0.0.1".into()), ..Media::default() };
        assert_eq!(
            candidate_addresses(&media, &nat(&[]), &ifs()),
            vec!["127.0.0.1".parse::<IpAddr>().unwrap()]
        );
        let media = Media { ipv6: true, ..Media::default() };
        let got = candidate_addresses(&media, &nat(&[]), &ifs());
        assert!(got.contains(&"2001:db8::1".parse().unwrap()) && !got.contains(&"fe80::1".parse().unwrap()));
    }

    #[test]
    fn nat_mapping() {
        let n = Nat { nat_1_1_mapping: vec!["203.0.113.7".into()], ..Nat::default() };
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(advertised(ip("10.1.2.3"), &n), vec![ip("203.0.113.7")]);
        assert_eq!(advertised(ip("2001:db8::1"), &n), vec![ip("2001:db8::1")]);
        let both = Nat { keep_private_host: true, ..n };
        assert_eq!(advertised(ip("10.1.2.3"), &both), vec![ip("203.0.113.7"), ip("10.1.2.3")]);
    }
}

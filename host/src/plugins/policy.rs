//! Which addresses a plugin may reach or use, from its `sandbox` section: `*` for any, or a
//! comma-separated list of IP addresses and CIDR blocks (`127.0.0.1, 10.0.0.0/8, ::1`).

use std::net::IpAddr;

/// A set of IP addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddrPolicy {
    any: bool,
    nets: Vec<(IpAddr, u8)>,
}

impl AddrPolicy {
    /// Every address.
    pub fn any() -> Self {
        Self { any: true, nets: Vec::new() }
    }

    /// No address.
    pub fn none() -> Self {
        Self { any: false, nets: Vec::new() }
    }

    /// Reads `*` or a list of addresses and CIDR blocks; an empty list allows nothing.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut policy = Self::none();
        for item in text.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if item == "*" {
                policy.any = true;
                continue;
            }
            let (addr, bits) = item.split_once('/').map_or((item, None), |(a, b)| (a, Some(b)));
            let ip: IpAddr =
                addr.parse().map_err(|_| format!("'{item}' is not an IP address or CIDR block"))?;
            let max = if ip.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                None => max,
                Some(b) => b
                    .parse::<u8>()
                    .ok()
                    .filter(|b| *b <= max)
                    .ok_or_else(|| format!("bad prefix in '{item}'"))?,
            };
            policy.nets.push((ip, bits));
        }
        Ok(policy)
    }

    /// Whether `ip` is in the set.
    pub fn allows(&self, ip: IpAddr) -> bool {
        self.any || self.nets.iter().any(|(net, bits)| in_net(ip, *net, *bits))
    }
}

fn in_net(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    let prefix = |a: u128, width: u8| if bits == 0 { 0 } else { a >> (width - bits) };
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            prefix(u128::from(u32::from(a)), 32) == prefix(u128::from(u32::from(n)), 32)
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => prefix(u128::from(a), 128) == prefix(u128::from(n), 128),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_and_blocks() {
        let p = AddrPolicy::parse("127.0.0.1, 10.0.0.0/8, ::1, 192.168.1.0/24").unwrap();
        for ok in ["127.0.0.1", "10.200.3.4", "::1", "192.168.1.77"] {
            assert!(p.allows(ok.parse().unwrap()), "{ok}");
        }
        for no in ["127.0.0.2", "11.0.0.1", "::2", "192.168.2.1"] {
            assert!(!p.allows(no.parse().unwrap()), "{no}");
        }
        assert!(AddrPolicy::parse("*").unwrap().allows("8.8.8.8".parse().unwrap()));
        assert!(!AddrPolicy::parse("").unwrap().allows("127.0.0.1".parse().unwrap()));
        assert!(AddrPolicy::parse("0.0.0.0/0").unwrap().allows("8.8.8.8".parse().unwrap()));
        for bad in ["localhost", "10.0.0.0/33", "1.2.3.4/x"] {
            assert!(AddrPolicy::parse(bad).is_err(), "{bad}");
        }
    }
}

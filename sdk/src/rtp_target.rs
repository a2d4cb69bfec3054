//! A Janus `rtp_forward` target (`host`, `host_family`, `port`, `ssrc`, `pt`, `srtp_suite`,
//! `srtp_crypto`) as the host's [`RtpTarget`], checked as Janus checks it. `host` may be a name,
//! looked up (the host's `resolve`) as Janus looks it up.

use serde_json::{Map, Value};

use crate::{RtpTarget, SrtpKey, SrtpSuite};

/// Reads a target from a request's (or a stream's) object, its `host` looked up; the error is
/// Janus's text.
pub fn from_janus(obj: &Map<String, Value>) -> Result<RtpTarget, String> {
    let host = obj.get("host").and_then(Value::as_str).unwrap_or_default();
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    let port = num("port").and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0);
    let port = port.ok_or_else(|| "Invalid element (port)".to_owned())?;
    let srtp = srtp_of(obj)?;
    let host = resolve(host, family(obj)?)?;
    Ok(RtpTarget {
        host,
        port,
        ssrc: num("ssrc").and_then(|s| u32::try_from(s).ok()),
        payload_type: num("pt").and_then(|p| u8::try_from(p).ok()),
        srtp,
    })
}

/// One forwarder of a request: its source and the source's mid, the target, the options, and
/// the receiver's RTCP port (Janus's `rtcp_port`), if it sends RTCP feedback.
pub type Wanted<'a> = (crate::Endpoint, &'a str, &'a RtpTarget, crate::ForwardOptions, Option<u16>);

/// Makes the forwarders of one request: all of them, or, when the host refuses one, none
/// (those made go again); in order, each rule with the local port its receiver's RTCP comes to
/// (0 without `rtcp_port`).
pub fn forward_all<'a>(wanted: impl IntoIterator<Item = Wanted<'a>>) -> Result<Vec<(u64, u16)>, String> {
    let mut rules: Vec<(u64, u16)> = Vec::new();
    for (src, mid, target, options, rtcp_port) in wanted {
        let made = match rtcp_port {
            Some(port) => crate::host::forward_rtp_feedback(src, mid, target, &options, port),
            None => crate::host::forward_rtp(src, mid, target, &options).map(|rule| (rule, 0)),
        };
        match made {
            Ok(rule) => rules.push(rule),
            Err(e) => {
                rules.iter().for_each(|(rule, _)| crate::host::unforward(*rule));
                return Err(e);
            }
        }
    }
    Ok(rules)
}

/// An address family, as Janus's `host_family` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    /// `ipv4`.
    V4,
    /// `ipv6`.
    V6,
}

/// Janus's `host_family`, when given: `ipv4` or `ipv6`, in any case.
pub fn family(obj: &Map<String, Value>) -> Result<Option<Family>, String> {
    match obj.get("host_family").and_then(Value::as_str) {
        None => Ok(None),
        Some(f) if f.eq_ignore_ascii_case("ipv4") => Ok(Some(Family::V4)),
        Some(f) if f.eq_ignore_ascii_case("ipv6") => Ok(Some(Family::V6)),
        Some(f) => Err(format!("Unsupported protocol family ({f})")),
    }
}

/// Looks `host` up as Janus does before it answers: an address as it is, a name's first
/// address (of `family`, when given); Janus's "Could not resolve address" when there is none.
pub fn resolve(host: &str, family: Option<Family>) -> Result<String, String> {
    let fits = |ip: &std::net::IpAddr| match family {
        Some(Family::V4) => ip.is_ipv4(),
        Some(Family::V6) => ip.is_ipv6(),
        None => true,
    };
    let found = match host.parse::<std::net::IpAddr>() {
        Ok(ip) => fits(&ip).then(|| host.to_owned()),
        Err(_) if host.is_empty() => None,
        Err(_) => {
            let addresses = crate::host::resolve(host).unwrap_or_default();
            addresses.into_iter().find(|a| a.parse().is_ok_and(|ip| fits(&ip)))
        }
    };
    found.ok_or_else(|| format!("Could not resolve address ({host})..."))
}

/// Janus's `srtp_suite` (32 or 80) and `srtp_crypto` (a base64 master key and salt): SDES-SRTP
/// when both are given.
pub fn srtp_of(obj: &Map<String, Value>) -> Result<Option<SrtpKey>, String> {
    let suite = obj.get("srtp_suite").and_then(Value::as_u64);
    let Some((suite, key)) = suite.zip(obj.get("srtp_crypto").and_then(Value::as_str)) else {
        return Ok(None);
    };
    let suite = match suite {
        32 => SrtpSuite::AesCm128HmacSha132,
        80 => SrtpSuite::AesCm128HmacSha180,
        other => return Err(format!("Invalid SRTP suite ({other})")),
    };
    Ok(Some(SrtpKey { suite, key: key.to_owned() }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn target(v: Value) -> Result<RtpTarget, String> {
        from_janus(v.as_object().unwrap())
    }

    #[test]
    fn targets_are_checked_as_janus_checks_them() {
        // (Addresses only: a name is looked up by the host, which a unit test has not.)
        let t =
            target(json!({"host": "10.0.0.1", "port": 5004, "srtp_suite": 80, "srtp_crypto": "k"})).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("10.0.0.1", 5004));
        assert!(matches!(t.srtp, Some(SrtpKey { suite: SrtpSuite::AesCm128HmacSha180, .. })));
        // SRTP needs both keys; a suite alone is none.
        assert!(target(json!({"host": "::1", "port": 1, "srtp_suite": 32})).unwrap().srtp.is_none());
        let bad_suite = json!({"host": "::1", "port": 1, "srtp_suite": 31, "srtp_crypto": "k"});
        assert_eq!(target(bad_suite).unwrap_err(), "Invalid SRTP suite (31)");
        assert_eq!(target(json!({"host": "::1", "port": 0})).unwrap_err(), "Invalid element (port)");
        let bad_family = json!({"host": "::1", "port": 1, "host_family": "ipx"});
        assert_eq!(target(bad_family).unwrap_err(), "Unsupported protocol family (ipx)");
        assert!(target(json!({"host": "::1", "port": 1, "host_family": "IPv6"})).is_ok());
        let wrong_family = json!({"host": "::1", "port": 1, "host_family": "ipv4"});
        assert_eq!(target(wrong_family).unwrap_err(), "Could not resolve address (::1)...");
        assert_eq!(target(json!({"host": "", "port": 1})).unwrap_err(), "Could not resolve address ()...");
    }
}

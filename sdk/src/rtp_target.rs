//! A Janus `rtp_forward` target (`host`, `host_family`, `port`, `ssrc`, `pt`, `srtp_suite`,
//! `srtp_crypto`) as the host's [`RtpTarget`], checked as Janus checks it. `host` may be a name:
//! the host looks it up when the forwarder is made.

use serde_json::{Map, Value};

use crate::{RtpTarget, SrtpKey, SrtpSuite};

/// Reads a target from a request's (or a stream's) object; the error is Janus's text.
pub fn from_janus(obj: &Map<String, Value>) -> Result<RtpTarget, String> {
    let host = obj.get("host").and_then(Value::as_str).unwrap_or_default();
    if host.is_empty() {
        return Err(format!("Could not resolve address ({host})..."));
    }
    check_family(obj)?;
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    let port = num("port").and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0);
    let port = port.ok_or_else(|| "Invalid element (port)".to_owned())?;
    Ok(RtpTarget {
        host: host.to_owned(),
        port,
        ssrc: num("ssrc").and_then(|s| u32::try_from(s).ok()),
        payload_type: num("pt").and_then(|p| u8::try_from(p).ok()),
        srtp: srtp_of(obj)?,
    })
}

/// Janus's `host_family`, when given: `ipv4` or `ipv6`, in any case.
pub fn check_family(obj: &Map<String, Value>) -> Result<(), String> {
    match obj.get("host_family").and_then(Value::as_str) {
        Some(f) if !f.eq_ignore_ascii_case("ipv4") && !f.eq_ignore_ascii_case("ipv6") => {
            Err(format!("Unsupported protocol family ({f})"))
        }
        _ => Ok(()),
    }
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
        let t =
            target(json!({"host": "localhost", "port": 5004, "srtp_suite": 80, "srtp_crypto": "k"})).unwrap();
        assert_eq!((t.host.as_str(), t.port), ("localhost", 5004));
        assert!(matches!(t.srtp, Some(SrtpKey { suite: SrtpSuite::AesCm128HmacSha180, .. })));
        // SRTP needs both keys; a suite alone is none.
        assert!(target(json!({"host": "::1", "port": 1, "srtp_suite": 32})).unwrap().srtp.is_none());
        assert_eq!(
            target(json!({"host": "h", "port": 1, "srtp_suite": 31, "srtp_crypto": "k"})).unwrap_err(),
            "Invalid SRTP suite (31)"
        );
        assert_eq!(target(json!({"host": "h", "port": 0})).unwrap_err(), "Invalid element (port)");
        assert_eq!(
            target(json!({"host": "h", "port": 1, "host_family": "ipx"})).unwrap_err(),
            "Unsupported protocol family (ipx)"
        );
        assert!(target(json!({"host": "h", "port": 1, "host_family": "IPv6"})).is_ok());
        assert_eq!(target(json!({"host": "", "port": 1})).unwrap_err(), "Could not resolve address ()...");
    }
}

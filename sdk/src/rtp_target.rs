//! A Janus `rtp_forward` target (`host`, `port`, `ssrc`, `pt`, `srtp_suite`, `srtp_crypto`) as
//! the host's [`RtpTarget`], checked as Janus checks it.

use serde_json::{Map, Value};

use crate::{RtpTarget, SrtpKey, SrtpSuite};

/// Reads a target from a request's (or a stream's) object; the error is Janus's text. The
/// host looks no names up: `host` must be an IP address.
pub fn from_janus(obj: &Map<String, Value>) -> Result<RtpTarget, String> {
    let host = obj.get("host").and_then(Value::as_str).unwrap_or_default();
    if host.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("Could not resolve address ({host})..."));
    }
    let num = |k: &str| obj.get(k).and_then(Value::as_u64);
    let port = num("port").and_then(|p| u16::try_from(p).ok()).filter(|p| *p > 0);
    let port = port.ok_or_else(|| "Invalid element (port)".to_owned())?;
    let srtp = match (num("srtp_suite"), obj.get("srtp_crypto").and_then(Value::as_str)) {
        (Some(suite), Some(key)) => {
            let suite = match suite {
                32 => SrtpSuite::AesCm128HmacSha132,
                80 => SrtpSuite::AesCm128HmacSha180,
                other => return Err(format!("Invalid SRTP suite ({other})")),
            };
            Some(SrtpKey { suite, key: key.to_owned() })
        }
        _ => None,
    };
    Ok(RtpTarget {
        host: host.to_owned(),
        port,
        ssrc: num("ssrc").and_then(|s| u32::try_from(s).ok()),
        payload_type: num("pt").and_then(|p| u8::try_from(p).ok()),
        srtp,
    })
}

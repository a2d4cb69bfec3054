//! First checks on a client JSEP before it reaches a plugin (464 / 465 / 456).
//!
//! This is the envelope check only: the JSEP must be an offer or answer whose SDP is
//! structurally SDP (`v=0` first, every line `<letter>=<value>`). The media engine parses
//! the SDP fully when it negotiates.

use serde_json::Value;

use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields::{self, Obj};

/// Largest SDP accepted, in bytes.
pub const MAX_SDP_LEN: usize = 128 * 1024;

/// The kind of a JSEP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsepType {
    /// An offer.
    Offer,
    /// An answer.
    Answer,
}

/// Checks a client JSEP and returns it as the plugin will see it.
pub fn check(jsep: &Obj) -> ApiResult<Value> {
    kind(jsep)?;
    let sdp = fields::req_str(jsep, "sdp").map_err(|e| jsep_error(e.code, &e.reason))?;
    check_sdp(sdp)?;
    Ok(Value::Object(jsep.clone()))
}

/// The JSEP's type: 456 when missing, 464 when not `offer`/`answer`.
pub fn kind(jsep: &Obj) -> ApiResult<JsepType> {
    let t = fields::req_str(jsep, "type").map_err(|e| jsep_error(e.code, &e.reason))?;
    match t.to_ascii_lowercase().as_str() {
        "offer" => Ok(JsepType::Offer),
        "answer" => Ok(JsepType::Answer),
        other => Err(ApiError::new(
            ErrorCode::JsepUnknownType,
            format!("JSEP error: unknown message type '{other}'"),
        )),
    }
}

fn jsep_error(code: ErrorCode, reason: &str) -> ApiError {
    let lower = reason
        .chars()
        .next()
        .map_or(String::new(), |c| c.to_ascii_lowercase().to_string() + &reason[c.len_utf8()..]);
    ApiError::new(code, format!("JSEP error: {lower}"))
}

/// 465 unless the text is structurally an SDP.
pub fn check_sdp(sdp: &str) -> ApiResult<()> {
    let invalid =
        |why: &str| ApiError::new(ErrorCode::JsepInvalidSdp, format!("JSEP error: invalid SDP ({why})"));
    if sdp.len() > MAX_SDP_LEN {
        return Err(invalid("too large"));
    }
    let mut lines = sdp.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).filter(|l| !l.is_empty());
    if lines.next() != Some("v=0") {
        return Err(invalid("it must start with v=0"));
    }
    for line in lines {
        let b = line.as_bytes();
        if b.len() < 2 || !b[0].is_ascii_lowercase() || b[1] != b'=' {
            return Err(invalid("malformed line"));
        }
    }
    Ok(())
}

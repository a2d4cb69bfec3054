//! First checks on a client JSEP before it reaches a plugin (464 / 465 / 456).
//!
//! The JSEP must be an offer or answer whose SDP is structurally SDP; the plugin gets it
//! without ICE and DTLS attributes (the gateway owns the transport), as in Janus.

use serde_json::Value;

use super::error::{ApiError, ApiResult, ErrorCode};
use super::fields::{self, Obj};

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
    let mut plain = jsep.clone();
    plain.insert("sdp".into(), Value::String(crate::sdp::strip_transport(sdp)));
    Ok(Value::Object(plain))
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

/// 465 unless the text is structurally an SDP (see [`crate::sdp::check`]) with ICE credentials
/// and a DTLS fingerprint (Janus: "Error processing SDP" when either is missing).
pub fn check_sdp(sdp: &str) -> ApiResult<crate::sdp::Summary> {
    let summary = crate::sdp::check(sdp).map_err(|e| ApiError::new(ErrorCode::JsepInvalidSdp, e.0))?;
    if !summary.has_fingerprint || !summary.has_ice_credentials() {
        return Err(ApiError::new(ErrorCode::JsepInvalidSdp, "Error processing SDP"));
    }
    Ok(summary)
}

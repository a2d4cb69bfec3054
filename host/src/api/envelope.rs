//! Parsing a request into its envelope (`janus`, `transaction`, ids) and building replies.

use serde_json::{json, Map, Value};

use super::error::{ApiError, ErrorCode};
use super::fields::{self, Obj};

/// Ids taken from an HTTP path (`/janus/<sid>/<hid>`), injected into the body.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathIds {
    /// Session id from the path.
    pub session: Option<u64>,
    /// Handle id from the path.
    pub handle: Option<u64>,
}

/// A parsed request envelope.
#[derive(Debug)]
pub struct Envelope {
    /// The verb, lower-cased.
    pub verb: String,
    /// The transaction.
    pub transaction: String,
    /// `session_id`, 0 when absent.
    pub session_id: u64,
    /// `handle_id`, 0 when absent.
    pub handle_id: u64,
    /// Whether a `handle_id` field was present at all.
    pub has_handle: bool,
    /// The whole request object.
    pub body: Obj,
}

/// A request that failed before it had an envelope, with what can be echoed back.
#[derive(Debug)]
pub struct Rejected {
    /// The error.
    pub error: ApiError,
    /// The transaction, if one could be read.
    pub transaction: Option<String>,
    /// The session id, if one could be read.
    pub session_id: u64,
}

fn id_field(obj: &Obj, name: &str) -> u64 {
    obj.get(name).and_then(Value::as_u64).unwrap_or(0)
}

/// Parses raw bytes into a JSON object: 454 unless the text is a JSON object or array
/// (Janus's decoder accepts only those at the top level), 455 for an array.
pub fn parse_object(bytes: &[u8]) -> Result<Obj, ApiError> {
    let invalid =
        |why: String| ApiError::new(ErrorCode::InvalidJson, format!("JSON error: on line 1: {why}"));
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(Value::Array(_)) => Err(ApiError::new(ErrorCode::InvalidJsonObject, "JSON error: not an object")),
        Ok(_) => Err(invalid("'[' or '{' expected".into())),
        Err(e) => {
            Err(ApiError::new(ErrorCode::InvalidJson, format!("JSON error: on line {}: {e}", e.line())))
        }
    }
}

/// Reads the envelope of a request, after injecting ids from an HTTP path. Envelope errors
/// carry no transaction (as in Janus); they carry the session id when one is known.
pub fn read(mut body: Obj, path: PathIds, id_names: (&str, &str)) -> Result<Envelope, Rejected> {
    let (sid_name, hid_name) = id_names;
    for (name, from_path, what) in [(sid_name, path.session, "session"), (hid_name, path.handle, "handle")] {
        let Some(id) = from_path.filter(|id| *id != 0) else { continue };
        match body.get(name).and_then(Value::as_u64) {
            Some(given) if given != 0 && given != id => {
                let reason = format!("Conflicting {what} ID (payload and path)");
                return Err(Rejected {
                    error: ApiError::new(ErrorCode::InvalidRequestPath, reason),
                    transaction: None,
                    session_id: 0,
                });
            }
            _ => {
                body.insert(name.to_owned(), json!(id));
            }
        }
    }
    let session_id = id_field(&body, sid_name);
    let reject = |error: ApiError| Rejected { error, transaction: None, session_id };
    fields::req_str(&body, "transaction").map_err(reject)?;
    let verb = fields::req_str(&body, "janus").map_err(reject)?.to_ascii_lowercase();
    if body.contains_key("id") && body.get("id").and_then(Value::as_u64).is_none() {
        return Err(reject(ApiError::wrong_type("id", "a positive integer")));
    }
    let transaction = body.get("transaction").and_then(Value::as_str).unwrap_or_default().to_owned();
    Ok(Envelope {
        verb,
        transaction,
        session_id,
        handle_id: id_field(&body, hid_name),
        has_handle: body.contains_key(hid_name),
        body,
    })
}

/// A reply `{janus: kind, session_id?, transaction?}`: `session_id` is omitted when 0.
pub fn reply(kind: &str, session_id: u64, transaction: Option<&str>) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("janus".into(), json!(kind));
    if session_id != 0 {
        m.insert("session_id".into(), json!(session_id));
    }
    if let Some(t) = transaction {
        m.insert("transaction".into(), json!(t));
    }
    m
}

/// A Janus error reply.
pub fn error_reply(error: &ApiError, session_id: u64, transaction: Option<&str>) -> Value {
    let mut m = reply("error", session_id, transaction);
    m.insert("error".into(), json!({"code": error.code.code(), "reason": error.reason}));
    Value::Object(m)
}

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

/// Parses raw bytes into a JSON object (454 / 455 on failure).
pub fn parse_object(bytes: &[u8]) -> Result<Obj, ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(obj)) => Ok(obj),
        Ok(_) => Err(ApiError::new(ErrorCode::InvalidJsonObject, "JSON error: not an object")),
        Err(e) => {
            Err(ApiError::new(ErrorCode::InvalidJson, format!("JSON error: on line {}: {}", e.line(), e)))
        }
    }
}

/// Reads the envelope of a request, after injecting ids from an HTTP path.
pub fn read(mut body: Obj, path: PathIds, id_names: (&str, &str)) -> Result<Envelope, Rejected> {
    let transaction = body.get("transaction").and_then(Value::as_str).map(str::to_owned);
    let reject = |error: ApiError, session_id: u64, transaction: &Option<String>| Rejected {
        error,
        transaction: transaction.clone(),
        session_id,
    };
    let (sid_name, hid_name) = id_names;
    for (name, from_path) in [(sid_name, path.session), (hid_name, path.handle)] {
        let Some(id) = from_path else { continue };
        match body.get(name).map(Value::as_u64) {
            Some(Some(given)) if given != id => {
                let error =
                    ApiError::new(ErrorCode::InvalidRequestPath, format!("Invalid {name} ({given} != {id})"));
                return Err(reject(error, path.session.unwrap_or(0), &transaction));
            }
            _ => {
                body.insert(name.to_owned(), json!(id));
            }
        }
    }
    let session_id = id_field(&body, sid_name);
    let validated = fields::req_str(&body, "transaction")
        .and_then(|_| fields::req_str(&body, "janus"))
        .map(str::to_ascii_lowercase);
    let verb = validated.map_err(|e| reject(e, session_id, &transaction))?;
    Ok(Envelope {
        verb,
        transaction: transaction.unwrap_or_default(),
        session_id,
        handle_id: id_field(&body, hid_name),
        has_handle: body.get(hid_name).is_some_and(|v| !v.is_null()),
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

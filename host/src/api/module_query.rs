//! A module's side of the admin API's `query_transport` and `query_eventhandler`, checked as
//! Janus's modules check them: the `request` object names what to do (`request`), and a
//! problem is answered inside the `response` as `error_code` and `error` (411 an unknown
//! request, 412 a missing element, 413 an element of the wrong type).

use serde_json::{json, Map, Value};

/// An unknown request.
pub const INVALID_REQUEST: u16 = 411;
/// A mandatory element is missing.
pub const MISSING_ELEMENT: u16 = 412;
/// An element has the wrong type.
pub const INVALID_ELEMENT: u16 = 413;

/// A module's answer, or its error (code, text).
pub type QueryResult<T> = Result<T, (u16, String)>;

/// The query's object and its `request`, lower-cased.
pub fn request_of(request: Option<&Value>) -> QueryResult<(&Map<String, Value>, String)> {
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let request = match request {
        None | Some(Value::Null) => EMPTY.get_or_init(Map::new),
        Some(Value::Object(r)) => r,
        Some(_) => return Err(wrong_type("request", "an object")),
    };
    match request.get("request") {
        None => Err((MISSING_ELEMENT, "Missing mandatory element (request)".into())),
        Some(Value::String(v)) => Ok((request, v.to_ascii_lowercase())),
        Some(_) => Err(wrong_type("request", "a string")),
    }
}

/// 413 "Invalid element type (name should be kind)".
pub fn wrong_type(name: &str, kind: &str) -> (u16, String) {
    (INVALID_ELEMENT, format!("Invalid element type ({name} should be {kind})"))
}

/// 411 "Unknown request 'verb'".
pub fn unknown(request: &Map<String, Value>) -> (u16, String) {
    let verb = request.get("request").and_then(Value::as_str).unwrap_or_default();
    (INVALID_REQUEST, format!("Unknown request '{verb}'"))
}

/// An optional boolean element.
pub fn opt_bool(r: &Map<String, Value>, name: &str) -> QueryResult<Option<bool>> {
    match r.get(name) {
        None => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(wrong_type(name, "a boolean")),
    }
}

/// An optional string element.
pub fn opt_str<'a>(r: &'a Map<String, Value>, name: &str) -> QueryResult<Option<&'a str>> {
    match r.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(wrong_type(name, "a string")),
    }
}

/// An optional non-negative integer element.
pub fn opt_u64(r: &Map<String, Value>, name: &str) -> QueryResult<Option<u64>> {
    match r.get(name) {
        None => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| wrong_type(name, "a positive integer")),
    }
}

/// The `response` the admin API returns: the module's fields, or its error.
pub fn response(answer: QueryResult<Map<String, Value>>) -> Value {
    match answer {
        Ok(fields) => Value::Object(fields),
        Err((code, error)) => json!({"error_code": code, "error": error}),
    }
}

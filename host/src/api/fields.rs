//! Typed access to request fields with Janus's validation errors
//! (456 "Missing mandatory element (x)", 467 "Invalid element type (x should be y)").

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

/// A JSON object being validated.
pub type Obj = Map<String, Value>;

/// A mandatory string field.
pub fn req_str<'a>(obj: &'a Obj, name: &str) -> ApiResult<&'a str> {
    opt_str(obj, name)?.ok_or_else(|| ApiError::missing(name))
}

/// An optional string field (absent or null is `None`).
pub fn opt_str<'a>(obj: &'a Obj, name: &str) -> ApiResult<Option<&'a str>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(ApiError::wrong_type(name, "a string")),
    }
}

/// An optional non-negative integer field.
pub fn opt_u64(obj: &Obj, name: &str) -> ApiResult<Option<u64>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_u64().map(Some).ok_or_else(|| ApiError::wrong_type(name, "a positive integer")),
    }
}

/// A mandatory non-negative integer field.
pub fn req_u64(obj: &Obj, name: &str) -> ApiResult<u64> {
    opt_u64(obj, name)?.ok_or_else(|| ApiError::missing(name))
}

/// An optional signed integer field.
pub fn opt_i64(obj: &Obj, name: &str) -> ApiResult<Option<i64>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or_else(|| ApiError::wrong_type(name, "an integer")),
    }
}

/// An optional boolean field.
pub fn opt_bool(obj: &Obj, name: &str) -> ApiResult<Option<bool>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(_) => Err(ApiError::wrong_type(name, "a boolean")),
    }
}

/// A mandatory boolean field.
pub fn req_bool(obj: &Obj, name: &str) -> ApiResult<bool> {
    opt_bool(obj, name)?.ok_or_else(|| ApiError::missing(name))
}

/// An optional array of strings.
pub fn opt_str_array(obj: &Obj, name: &str) -> ApiResult<Option<Vec<String>>> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| ApiError::wrong_type(name, "an array of strings"))
            })
            .collect::<ApiResult<Vec<_>>>()
            .map(Some),
        Some(_) => Err(ApiError::wrong_type(name, "an array")),
    }
}

/// A mandatory array of strings.
pub fn req_str_array(obj: &Obj, name: &str) -> ApiResult<Vec<String>> {
    opt_str_array(obj, name)?.ok_or_else(|| ApiError::missing(name))
}

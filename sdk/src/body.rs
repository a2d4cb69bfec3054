//! Janus-style validation of request bodies.
//!
//! Janus plugins describe the fields of each request (name, JSON type, required or not,
//! positive, non-empty) and answer with fixed texts when a body does not match:
//! `Missing mandatory element (room)`, `Invalid element type (audio should be a boolean)`,
//! `Invalid element type (bitrate should be a positive integer)`. [`Field`] and [`validate`]
//! give the same checks and texts, so clients see what they would see from Janus.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use crate::{Message, PluginError};

/// The JSON type a field must have (Janus's `JSON_TRUE`, `JSON_INTEGER`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JsonType {
    /// `true` or `false`.
    Bool,
    /// A number without fraction or exponent.
    Integer,
    /// A number with a fraction or an exponent (`1.5`, `1e3`, `1.0`).
    Real,
    /// A string.
    String,
    /// An array.
    Array,
    /// An object.
    Object,
}

/// One field of a request body, as Janus plugins declare them.
///
/// ```
/// use portunus_sdk::{Field, JsonType};
/// const CONFIGURE: &[Field] = &[
///     Field::new("room", JsonType::Integer).required().positive(),
///     Field::new("display", JsonType::String),
///     Field::new("audio", JsonType::Bool),
/// ];
/// assert_eq!(CONFIGURE[0].type_name(), "a positive integer");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Field {
    /// The key in the body object.
    pub name: &'static str,
    /// The JSON type it must have.
    pub ty: JsonType,
    /// Whether it must be present.
    pub required: bool,
    /// Numbers must be ≥ 0 (Janus's `JANUS_JSON_PARAM_POSITIVE`).
    pub positive: bool,
    /// Strings and arrays must not be empty (Janus's `JANUS_JSON_PARAM_NONEMPTY`).
    pub nonempty: bool,
}

impl Field {
    /// An optional field of this type.
    pub const fn new(name: &'static str, ty: JsonType) -> Self {
        Field { name, ty, required: false, positive: false, nonempty: false }
    }

    /// The field must be present.
    pub const fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// A number must be ≥ 0.
    pub const fn positive(mut self) -> Self {
        self.positive = true;
        self
    }

    /// A string or array must not be empty.
    pub const fn nonempty(mut self) -> Self {
        self.nonempty = true;
        self
    }

    /// How Janus names the expected type in its error text: "a boolean", "an integer",
    /// "a positive integer", "a non-empty string", "an object", …
    pub fn type_name(&self) -> String {
        let prefix = if self.positive {
            "a positive "
        } else if self.nonempty {
            "a non-empty "
        } else if matches!(self.ty, JsonType::Integer | JsonType::Array | JsonType::Object) {
            "an "
        } else {
            "a "
        };
        let name = match self.ty {
            JsonType::Bool => "boolean",
            JsonType::Integer => "integer",
            JsonType::Real => "real",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        };
        format!("{prefix}{name}")
    }

    /// Whether `value` has the field's type and meets its constraints.
    pub fn accepts(&self, value: &Value) -> bool {
        match (self.ty, value) {
            (JsonType::Bool, Value::Bool(_)) => true,
            (JsonType::Integer, Value::Number(n)) if !n.is_f64() => !self.positive || n.as_u64().is_some(),
            (JsonType::Real, Value::Number(n)) if n.is_f64() => {
                !self.positive || n.as_f64().is_some_and(|f| f >= 0.0)
            }
            (JsonType::String, Value::String(s)) => !self.nonempty || !s.is_empty(),
            (JsonType::Array, Value::Array(a)) => !self.nonempty || !a.is_empty(),
            (JsonType::Object, Value::Object(_)) => true,
            _ => false,
        }
    }
}

/// The codes a plugin uses for body errors (each Janus plugin has its own range).
///
/// EchoTest: `{ invalid_json: 412, missing_element: 413, invalid_element: 413 }` (it has no
/// code of its own for a missing element, and no required field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCodes {
    /// The body is not a JSON object.
    pub invalid_json: u32,
    /// A required field is missing.
    pub missing_element: u32,
    /// A field has the wrong type or breaks a constraint.
    pub invalid_element: u32,
}

/// Parses a body into a JSON object. Anything else gives `invalid_json` with Janus's text:
/// `JSON error: not an object`, or `JSON error: on line L: …` for text that is not JSON.
pub fn parse_object(body: &str, codes: &ErrorCodes) -> Result<Map<String, Value>, PluginError> {
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(PluginError::new(codes.invalid_json, "JSON error: not an object")),
        Err(err) => {
            Err(PluginError::new(codes.invalid_json, format!("JSON error: on line {}: {err}", err.line())))
        }
    }
}

/// Checks `object` against `fields`, in their order, like Janus's `JANUS_VALIDATE_JSON_OBJECT`:
/// the first missing required field or wrongly typed field gives the error. Keys that are not
/// listed are ignored; a `null` value counts as present (and has the wrong type).
pub fn validate(
    object: &Map<String, Value>,
    fields: &[Field],
    codes: &ErrorCodes,
) -> Result<(), PluginError> {
    for field in fields {
        match object.get(field.name) {
            None if field.required => return Err(PluginError::missing(codes.missing_element, field.name)),
            None => {}
            Some(value) if !field.accepts(value) => {
                return Err(PluginError::invalid_type(codes.invalid_element, field.name, &field.type_name()))
            }
            Some(_) => {}
        }
    }
    Ok(())
}

/// The `request` field that names a request in most Janus plugins: a required string.
pub fn request_of<'a>(object: &'a Map<String, Value>, codes: &ErrorCodes) -> Result<&'a str, PluginError> {
    const REQUEST: &[Field] = &[Field::new("request", JsonType::String).required()];
    validate(object, REQUEST, codes)?;
    Ok(object.get("request").and_then(Value::as_str).unwrap_or_default())
}

/// Admin `message_plugin` for a plugin that takes its synchronous requests there, as Janus's
/// do: `answer` gets the request's name (lower case) and its body, and says `None` for one it
/// does not take there (Janus's "Unknown request", `unknown`); errors come back as the
/// plugin's error event.
pub fn admin_answer(
    request: Value,
    codes: &ErrorCodes,
    unknown: u32,
    plugin: &str,
    answer: impl FnOnce(&str, &Map<String, Value>) -> Option<Result<Value, PluginError>>,
) -> Value {
    let body = request.as_object().cloned().unwrap_or_default();
    let result = request_of(&body, codes).map(str::to_owned).and_then(|sent| {
        answer(&sent.to_ascii_lowercase(), &body)
            .unwrap_or_else(|| Err(PluginError::new(unknown, format!("Unknown request '{sent}'"))))
    });
    result.unwrap_or_else(|e| e.to_json_value(plugin))
}

/// Parses, validates and converts a body: [`parse_object`], then [`validate`], then serde.
///
/// Declare in `fields` what Janus would check, so the error texts are Janus's; serde then only
/// meets valid input. Should serde still refuse it (a number out of range for a `u8`, say),
/// the error is `invalid_element` with serde's text, or `missing_element` for a field serde
/// requires but `fields` does not.
pub fn parse_body<T: DeserializeOwned>(
    body: &str,
    fields: &[Field],
    codes: &ErrorCodes,
) -> Result<T, PluginError> {
    let object = parse_object(body, codes)?;
    validate(&object, fields, codes)?;
    serde_json::from_value(Value::Object(object)).map_err(|err| serde_error(&err, codes))
}

fn serde_error(err: &serde_json::Error, codes: &ErrorCodes) -> PluginError {
    let text = err.to_string();
    if let Some(rest) = text.strip_prefix("missing field `") {
        if let Some(name) = rest.split('`').next() {
            return PluginError::missing(codes.missing_element, name);
        }
    }
    PluginError::new(codes.invalid_element, format!("Invalid element ({text})"))
}

/// A message's body and the verb it asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// The body.
    pub body: Map<String, Value>,
    /// `request`, lower case: Janus's plugins compare requests without case.
    pub verb: String,
    /// `request` as sent, for error texts (`Unknown request 'X'`).
    pub sent: String,
}

impl Message {
    /// The body and its `request`: an empty body is `no_message` ("No message??"), one that is
    /// not an object or has no string `request` is the errors of `codes` (see [`request_of`]).
    pub fn request(&self, codes: &ErrorCodes, no_message: u32) -> Result<Request, PluginError> {
        let body = self.message_object(codes, no_message)?;
        let sent = request_of(&body, codes)?.to_owned();
        Ok(Request { verb: sent.to_ascii_lowercase(), sent, body })
    }

    /// The body as a JSON object, where an empty body is `no_message` ("No message??", as
    /// Janus's plugins say).
    fn message_object(&self, codes: &ErrorCodes, no_message: u32) -> Result<Map<String, Value>, PluginError> {
        if self.body.trim().is_empty() {
            return Err(PluginError::new(no_message, "No message??"));
        }
        self.body_object(codes)
    }

    /// The body as a JSON object (see [`parse_object`]).
    pub fn body_object(&self, codes: &ErrorCodes) -> Result<Map<String, Value>, PluginError> {
        parse_object(&self.body, codes)
    }

    /// The body validated against `fields` and converted to `T` (see [`parse_body`]).
    pub fn parse_body<T: DeserializeOwned>(
        &self,
        fields: &[Field],
        codes: &ErrorCodes,
    ) -> Result<T, PluginError> {
        parse_body(&self.body, fields, codes)
    }

    /// A request answered by an event, as Janus's plugins answer most: `ack` now, and `handle`
    /// gets the body (an empty one is `no_message` "No message??"). An error it returns goes to
    /// the client as the plugin's error event, with the request's transaction.
    pub fn ack_then(
        &self,
        plugin: &str,
        codes: &ErrorCodes,
        no_message: u32,
        handle: impl FnOnce(&Map<String, Value>) -> Result<(), PluginError>,
    ) -> crate::Reply {
        let outcome = self.message_object(codes, no_message).and_then(|body| handle(&body));
        if let Err(e) = outcome {
            e.push_logged(self.handle, Some(&self.transaction), plugin);
        }
        crate::ack(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    const CODES: ErrorCodes = ErrorCodes { invalid_json: 412, missing_element: 456, invalid_element: 413 };

    fn object(value: Value) -> Map<String, Value> {
        match value {
            Value::Object(map) => map,
            _ => unreachable!(),
        }
    }

    #[test]
    fn type_names_follow_janus() {
        let cases = [
            (Field::new("a", JsonType::Bool), "a boolean"),
            (Field::new("a", JsonType::Integer), "an integer"),
            (Field::new("a", JsonType::Integer).positive(), "a positive integer"),
            (Field::new("a", JsonType::Real), "a real"),
            (Field::new("a", JsonType::String), "a string"),
            (Field::new("a", JsonType::String).nonempty(), "a non-empty string"),
            (Field::new("a", JsonType::Array), "an array"),
            (Field::new("a", JsonType::Array).nonempty(), "a non-empty array"),
            (Field::new("a", JsonType::Object), "an object"),
        ];
        for (field, name) in cases {
            assert_eq!(field.type_name(), name);
        }
    }

    #[test]
    fn accepts_checks_types_and_constraints() {
        let int = Field::new("x", JsonType::Integer);
        assert!(int.accepts(&json!(-3)));
        assert!(int.accepts(&json!(u64::MAX)));
        assert!(!int.accepts(&json!(1.5)));
        assert!(!int.accepts(&json!(1.0)));
        assert!(!int.accepts(&json!("1")));
        let pos = int.positive();
        assert!(pos.accepts(&json!(0)));
        assert!(!pos.accepts(&json!(-1)));
        let real = Field::new("x", JsonType::Real).positive();
        assert!(real.accepts(&json!(0.5)));
        assert!(!real.accepts(&json!(-0.5)));
        assert!(!real.accepts(&json!(1)));
        let b = Field::new("x", JsonType::Bool);
        assert!(b.accepts(&json!(false)));
        assert!(!b.accepts(&json!(0)));
        assert!(!b.accepts(&Value::Null));
        let s = Field::new("x", JsonType::String).nonempty();
        assert!(s.accepts(&json!("a")));
        assert!(!s.accepts(&json!("")));
        let a = Field::new("x", JsonType::Array).nonempty();
        assert!(a.accepts(&json!([1])));
        assert!(!a.accepts(&json!([])));
        assert!(Field::new("x", JsonType::Object).accepts(&json!({})));
        assert!(!Field::new("x", JsonType::Object).accepts(&json!([])));
    }

    #[test]
    fn validate_reports_the_first_bad_field_in_declaration_order() {
        let fields = [
            Field::new("audio", JsonType::Bool),
            Field::new("bitrate", JsonType::Integer).positive(),
            Field::new("room", JsonType::Integer).required(),
        ];
        let err = validate(&object(json!({"bitrate": -1, "audio": "x"})), &fields, &CODES).unwrap_err();
        assert_eq!(err, PluginError::new(413, "Invalid element type (audio should be a boolean)"));
        let err = validate(&object(json!({"bitrate": -1})), &fields, &CODES).unwrap_err();
        assert_eq!(err.text, "Invalid element type (bitrate should be a positive integer)");
        let err = validate(&object(json!({"audio": null})), &fields, &CODES).unwrap_err();
        assert_eq!(err.text, "Invalid element type (audio should be a boolean)");
        let err = validate(&object(json!({})), &fields, &CODES).unwrap_err();
        assert_eq!(err, PluginError::new(456, "Missing mandatory element (room)"));
        validate(&object(json!({"room": 1, "other": [1]})), &fields, &CODES).unwrap();
    }

    #[test]
    fn parse_object_errors() {
        assert_eq!(
            parse_object("[1]", &CODES).unwrap_err(),
            PluginError::new(412, "JSON error: not an object")
        );
        let err = parse_object("{bad", &CODES).unwrap_err();
        assert_eq!(err.code, 412);
        assert!(err.text.starts_with("JSON error: on line 1: "), "{}", err.text);
        assert_eq!(parse_object(r#"{"a":1}"#, &CODES).unwrap()["a"], 1);
    }

    #[test]
    fn request_of_requires_a_string() {
        assert_eq!(request_of(&object(json!({"request": "list"})), &CODES).unwrap(), "list");
        assert_eq!(
            request_of(&object(json!({})), &CODES).unwrap_err().text,
            "Missing mandatory element (request)"
        );
        assert_eq!(
            request_of(&object(json!({"request": 1})), &CODES).unwrap_err().text,
            "Invalid element type (request should be a string)"
        );
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Configure {
        room: u64,
        audio: Option<bool>,
        layer: Option<u8>,
    }

    const CONFIGURE: &[Field] = &[
        Field::new("room", JsonType::Integer).positive(),
        Field::new("audio", JsonType::Bool),
        Field::new("layer", JsonType::Integer),
    ];

    #[test]
    fn parse_body_converts_with_serde() {
        let body: Configure = parse_body(r#"{"room":5,"audio":false,"x":"y"}"#, CONFIGURE, &CODES).unwrap();
        assert_eq!(body, Configure { room: 5, audio: Some(false), layer: None });
    }

    #[test]
    fn parse_body_maps_serde_errors() {
        // Declared fields give Janus's texts.
        let err = parse_body::<Configure>(r#"{"room":5,"audio":1}"#, CONFIGURE, &CODES).unwrap_err();
        assert_eq!(err.text, "Invalid element type (audio should be a boolean)");
        // A field serde needs but `fields` does not require: missing element.
        let err = parse_body::<Configure>(r#"{}"#, CONFIGURE, &CODES).unwrap_err();
        assert_eq!(err, PluginError::new(456, "Missing mandatory element (room)"));
        // Out of range for the Rust type: invalid element with serde's text.
        let err = parse_body::<Configure>(r#"{"room":5,"layer":300}"#, CONFIGURE, &CODES).unwrap_err();
        assert_eq!(err.code, 413);
        assert!(err.text.starts_with("Invalid element ("), "{}", err.text);
    }

    #[test]
    fn message_helpers() {
        let msg = Message {
            handle: crate::HandleRef { session: 1, handle: 2 },
            transaction: "t".into(),
            body: r#"{"room":7}"#.into(),
            jsep: None,
        };
        assert_eq!(msg.body_object(&CODES).unwrap()["room"], 7);
        let body: Configure = msg.parse_body(CONFIGURE, &CODES).unwrap();
        assert_eq!(body.room, 7);
    }

    #[test]
    fn a_request_is_its_verb_in_any_case() {
        let msg = |body: &str| Message {
            handle: crate::HandleRef { session: 1, handle: 2 },
            transaction: "t".into(),
            body: body.into(),
            jsep: None,
        };
        let r = msg(r#"{"request":"Create","room":7}"#).request(&CODES, 411).unwrap();
        assert_eq!((r.verb.as_str(), r.sent.as_str(), &r.body["room"]), ("create", "Create", &json!(7)));
        let e = msg(" ").request(&CODES, 411).unwrap_err();
        assert_eq!((e.code, e.text.as_str()), (411, "No message??"));
        assert_eq!(msg("[1]").request(&CODES, 411).unwrap_err().code, 412);
        assert_eq!(msg(r#"{"room":7}"#).request(&CODES, 411).unwrap_err().code, 456);
    }
}

//! Janus API error codes and the one error type every API path returns.

use std::fmt;

/// A Janus API error code (`JANUS_ERROR_*` in Janus's `apierror.h`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// 403: bad or missing `apisecret`/`token`, or a bad `admin_secret`.
    Unauthorized,
    /// 405: the token is not allowed to use the plugin.
    UnauthorizedPlugin,
    /// 490: internal failures and most admin failures.
    Unknown,
    /// 450: transport-specific failure (bad HTTP method, ...).
    TransportSpecific,
    /// 452: the request is missing (unused by Janus itself).
    MissingRequest,
    /// 453: unknown verb.
    UnknownRequest,
    /// 454: the request is not valid JSON.
    InvalidJson,
    /// 455: the request (or its `body`/`jsep`) is not a JSON object.
    InvalidJsonObject,
    /// 456: a mandatory element is missing.
    MissingMandatoryElement,
    /// 457: the verb is not valid at this path.
    InvalidRequestPath,
    /// 458: no such session.
    SessionNotFound,
    /// 459: no such handle.
    HandleNotFound,
    /// 460: no such plugin.
    PluginNotFound,
    /// 461: the plugin refused the attach.
    PluginAttach,
    /// 462: the plugin failed to handle a message.
    PluginMessage,
    /// 463: the plugin failed to detach.
    PluginDetach,
    /// 464: unknown JSEP type.
    JsepUnknownType,
    /// 465: invalid SDP.
    JsepInvalidSdp,
    /// 466: trickle for an unknown stream.
    TrickleInvalidStream,
    /// 467: an element has the wrong type.
    InvalidElementType,
    /// 468: a session with the requested id exists already.
    SessionConflict,
    /// 469: an answer arrived when no offer was made.
    UnexpectedAnswer,
    /// 470: no such token.
    TokenNotFound,
    /// 471: the PeerConnection is in the wrong state.
    WebrtcState,
    /// 472: new sessions are not accepted right now.
    NotAcceptingSessions,
}

impl ErrorCode {
    /// The numeric code that goes on the wire.
    pub fn code(self) -> u16 {
        use ErrorCode::*;
        match self {
            Unauthorized => 403,
            UnauthorizedPlugin => 405,
            Unknown => 490,
            TransportSpecific => 450,
            MissingRequest => 452,
            UnknownRequest => 453,
            InvalidJson => 454,
            InvalidJsonObject => 455,
            MissingMandatoryElement => 456,
            InvalidRequestPath => 457,
            SessionNotFound => 458,
            HandleNotFound => 459,
            PluginNotFound => 460,
            PluginAttach => 461,
            PluginMessage => 462,
            PluginDetach => 463,
            JsepUnknownType => 464,
            JsepInvalidSdp => 465,
            TrickleInvalidStream => 466,
            InvalidElementType => 467,
            SessionConflict => 468,
            UnexpectedAnswer => 469,
            TokenNotFound => 470,
            WebrtcState => 471,
            NotAcceptingSessions => 472,
        }
    }

    /// Janus's default reason text for the code (`janus_get_api_error`).
    pub fn default_reason(self) -> &'static str {
        use ErrorCode::*;
        match self {
            Unauthorized => "Unauthorized request (wrong or missing secret/token)",
            UnauthorizedPlugin => "Unauthorized access to plugin (token is not allowed to)",
            Unknown => "Unknown error",
            TransportSpecific => "Transport specific error",
            MissingRequest => "Missing request",
            UnknownRequest => "Unknown request",
            InvalidJson => "Invalid JSON",
            InvalidJsonObject => "Invalid JSON Object",
            MissingMandatoryElement => "Missing mandatory element",
            InvalidRequestPath => "Invalid path for this request",
            SessionNotFound => "Session not found",
            HandleNotFound => "Handle not found",
            PluginNotFound => "Plugin not found",
            PluginAttach => "Error attaching plugin",
            PluginMessage => "Error sending message to plugin",
            PluginDetach => "Error detaching from plugin",
            JsepUnknownType => "Unsupported JSEP type",
            JsepInvalidSdp => "Invalid SDP",
            TrickleInvalidStream => "Invalid stream",
            InvalidElementType => "Invalid element type",
            SessionConflict => "Session ID already in use",
            UnexpectedAnswer => "Unexpected ANSWER (no OFFER)",
            TokenNotFound => "Token not found",
            WebrtcState => "Wrong WebRTC state",
            NotAcceptingSessions => "Currently not accepting new sessions",
        }
    }
}

/// A failed API request: a code and the reason text sent to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The Janus error code.
    pub code: ErrorCode,
    /// The reason text (`error.reason` on the wire).
    pub reason: String,
}

impl ApiError {
    /// An error with a specific reason text.
    pub fn new(code: ErrorCode, reason: impl Into<String>) -> Self {
        Self { code, reason: reason.into() }
    }

    /// An error with Janus's default text for the code.
    pub fn default_for(code: ErrorCode) -> Self {
        Self::new(code, code.default_reason())
    }

    /// 456 "Missing mandatory element (name)".
    pub fn missing(name: &str) -> Self {
        Self::new(ErrorCode::MissingMandatoryElement, format!("Missing mandatory element ({name})"))
    }

    /// 467 "Invalid element type (name should be kind)".
    pub fn wrong_type(name: &str, kind: &str) -> Self {
        Self::new(ErrorCode::InvalidElementType, format!("Invalid element type ({name} should be {kind})"))
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.code.code(), self.reason)
    }
}

impl std::error::Error for ApiError {}

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        Self::default_for(code)
    }
}

/// The result type of API operations.
pub type ApiResult<T> = Result<T, ApiError>;

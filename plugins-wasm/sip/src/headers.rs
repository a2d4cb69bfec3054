//! Headers the application adds (`headers` in a request: each key and string value one header
//! of the SIP message the request makes) and the far end's headers it asked to see
//! (`incoming_header_prefixes` at `register`: the non-standard headers whose names start with
//! one of them come in events as `headers`), as Janus passes them.

use portunus_sdk::Value;
use serde_json::Map;

use crate::msg::SipMessage;

/// The `headers` object of a request, as header lines. As Janus does, a value that is not a
/// string, and a name or value with CR or LF (a header injection), is skipped with a warning.
pub fn custom(body: &Map<String, Value>) -> Vec<(String, String)> {
    let Some(headers) = body.get("headers").and_then(Value::as_object) else { return Vec::new() };
    let mut out = Vec::with_capacity(headers.len());
    for (name, value) in headers {
        let Some(value) = value.as_str() else {
            portunus_sdk::warn!("skipping header '{name}': its value is not a string");
            continue;
        };
        if name.is_empty() || !name.bytes().all(is_token_char) || value.contains(['\r', '\n']) {
            portunus_sdk::warn!("skipping header '{}': not a header name and value", name.escape_debug());
            continue;
        }
        out.push((name.clone(), value.to_owned()));
    }
    out
}

/// `base` headers of a response, then the application's.
pub fn with<'a>(mut base: Vec<(&'a str, String)>, custom: &'a [(String, String)]) -> Vec<(&'a str, String)> {
    base.extend(custom.iter().map(|(n, v)| (n.as_str(), v.clone())));
    base
}

/// RFC 3261's `token` characters (a header name).
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

/// `incoming_header_prefixes`: the strings of the array (others are skipped).
pub fn prefixes(body: &Map<String, Value>) -> Vec<String> {
    body.get("incoming_header_prefixes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).filter(|p| !p.is_empty()).map(str::to_owned).collect())
        .unwrap_or_default()
}

/// The far end's non-standard headers whose names start with one of `prefixes` (in any
/// case), for an event's `headers`; none when the application asked for none.
pub fn incoming(m: &SipMessage, prefixes: &[String]) -> Option<Value> {
    if prefixes.is_empty() {
        return None;
    }
    let mut out = Map::new();
    for (name, value) in m.headers.iter() {
        let text = name.as_print_str();
        let wanted = name.as_parse_strs().is_none()
            && prefixes.iter().any(|p| text.get(..p.len()).is_some_and(|t| t.eq_ignore_ascii_case(p)));
        if wanted {
            out.insert(text.to_owned(), Value::String(value.to_string()));
        }
    }
    Some(Value::Object(out))
}

/// Adds to an event's `result` the far end's headers of `m` that `prefixes` ask for.
pub fn tag(result: &mut Value, m: &SipMessage, prefixes: &[String]) {
    if let Some(h) = incoming(m, prefixes) {
        result["headers"] = h;
    }
}

/// Adds to a `hangup` what the far end's first `Reason` header (RFC 3326: `protocol ;cause=N
/// ;text="..."`) of `m` says, as Janus does: `reason_header` (the text, unquoted),
/// `reason_header_protocol` and `reason_header_cause`, each when present.
pub fn tag_reason(result: &mut Value, m: &SipMessage) {
    let Some(reason) = m.header("Reason") else { return };
    let mut parts = first_reason_parts(&reason).into_iter().map(str::trim);
    if let Some(protocol) = parts.next().filter(|p| !p.is_empty()) {
        result["reason_header_protocol"] = Value::String(protocol.to_owned());
    }
    for param in parts {
        let Some((name, value)) = param.split_once('=') else { continue };
        let value = value.trim();
        match name.trim().to_ascii_lowercase().as_str() {
            "cause" => result["reason_header_cause"] = Value::String(value.to_owned()),
            "text" => {
                let text = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value);
                result["reason_header"] = Value::String(text.to_owned());
            }
            _ => {}
        }
    }
}

/// The `;`-separated parts of the first reason of a `Reason` list (`SIP;cause=200, Q.850;
/// cause=16`); a `;` or `,` inside a quoted text is the text's.
fn first_reason_parts(reason: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let (mut start, mut quoted) = (0, false);
    for (i, c) in reason.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ';' if !quoted => {
                parts.push(&reason[start..i]);
                start = i + 1;
            }
            ',' if !quoted => {
                parts.push(&reason[start..i]);
                return parts;
            }
            _ => {}
        }
    }
    parts.push(&reason[start..]);
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use portunus_sdk::json;

    #[test]
    fn custom_headers_refuse_injection() {
        let body = json!({"headers": {"X-Good": "yes", "X-Bad": "a\r\nVia: evil", "Bad Name": "x",
                                     "X-Number": 3, "X-Also\r\nVia": "x"}});
        let got = custom(body.as_object().unwrap());
        assert_eq!(got, vec![("X-Good".to_owned(), "yes".to_owned())]);
    }

    #[test]
    fn incoming_headers_by_prefix() {
        let text = "MESSAGE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
                    From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>\r\nCall-ID: c\r\nCSeq: 1 MESSAGE\r\n\
                    X-Account: 42\r\nx-trace: t\r\nY-Other: no\r\nContent-Length: 0\r\n\r\n";
        let m = crate::msg::parse(text.as_bytes()).unwrap();
        assert_eq!(incoming(&m, &[]), None);
        let got = incoming(&m, &["X-".to_owned(), "Call".to_owned()]).unwrap();
        assert_eq!(got, json!({"X-Account": "42", "x-trace": "t"}));
    }

    #[test]
    fn reason_header_parts() {
        let bye = |reason: &str| {
            let text = format!(
                "BYE sip:a@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK1\r\n\
                 From: <sip:b@127.0.0.1>;tag=1\r\nTo: <sip:a@127.0.0.1>;tag=2\r\nCall-ID: c\r\n\
                 CSeq: 2 BYE\r\n{reason}Content-Length: 0\r\n\r\n"
            );
            let m = crate::msg::parse(text.as_bytes()).unwrap();
            let mut result = json!({"event": "hangup"});
            tag_reason(&mut result, &m);
            result
        };
        assert_eq!(
            bye("Reason: Q.850 ;cause=16 ;text=\"Normal call clearing\"\r\n"),
            json!({"event": "hangup", "reason_header_protocol": "Q.850", "reason_header_cause": "16",
                   "reason_header": "Normal call clearing"})
        );
        assert_eq!(
            bye("Reason: SIP;cause=600\r\n"),
            json!({"event": "hangup", "reason_header_protocol": "SIP", "reason_header_cause": "600"})
        );
        assert_eq!(bye(""), json!({"event": "hangup"}));
        // The first of a list; separators inside the quoted text are the text's.
        assert_eq!(
            bye("Reason: SIP;cause=200;text=\"Call completed; elsewhere, too\", Q.850;cause=16\r\n"),
            json!({"event": "hangup", "reason_header_protocol": "SIP", "reason_header_cause": "200",
                   "reason_header": "Call completed; elsewhere, too"})
        );
    }
}

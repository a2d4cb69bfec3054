//! JSEP objects (`{type, sdp, …}`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Message;

/// A JSEP object as Janus passes it to plugins: `type` and `sdp`, plus whatever else the
/// host added (`simulcast`, `svc`, `update`, `e2ee`, …) in [`Jsep::extra`].
///
/// The host has already checked the JSEP and stripped ICE and DTLS lines from its SDP. A plugin
/// answers an offer with [`host::answer`](crate::host::answer), giving it [`Jsep::sdp`], and
/// attaches the JSEP it returns to an event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Jsep {
    /// `"offer"` or `"answer"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The session description.
    #[serde(default)]
    pub sdp: String,
    /// Every other key.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Jsep {
    /// Parses JSEP JSON text.
    pub fn parse(json: &str) -> Result<Jsep, String> {
        serde_json::from_str(json).map_err(|err| format!("invalid JSEP: {err}"))
    }

    /// Whether this is an offer (Janus compares the type case-insensitively).
    pub fn is_offer(&self) -> bool {
        self.kind.eq_ignore_ascii_case("offer")
    }

    /// Whether this is an answer.
    pub fn is_answer(&self) -> bool {
        self.kind.eq_ignore_ascii_case("answer")
    }

    /// Whether the client marked it as a renegotiation (`update: true`).
    pub fn is_update(&self) -> bool {
        self.extra.get("update").and_then(Value::as_bool) == Some(true)
    }

    /// Whether the client offered simulcast (the host lists it in `simulcast`).
    pub fn has_simulcast(&self) -> bool {
        self.extra.get("simulcast").and_then(Value::as_array).is_some_and(|list| !list.is_empty())
    }

    /// Whether the client said the stream at `mindex` (or with `mid`) sends SVC: janus.js lists
    /// the video streams whose encoding has a `scalabilityMode` in `svc`, as
    /// `[{mindex, mid, svc}]`.
    pub fn names_svc(&self, mindex: usize, mid: &str) -> bool {
        self.extra.get("svc").and_then(Value::as_array).is_some_and(|list| {
            list.iter().any(|s| {
                s.get("mindex").and_then(Value::as_u64) == Some(mindex as u64)
                    || s.get("mid").and_then(Value::as_str) == Some(mid)
            })
        })
    }

    /// Whether the client said any stream sends SVC (see [`Jsep::names_svc`]).
    pub fn has_svc(&self) -> bool {
        self.extra.get("svc").and_then(Value::as_array).is_some_and(|list| !list.is_empty())
    }

    /// The JSEP as JSON text.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

impl Message {
    /// The message's JSEP, parsed; `None` when it had none (or, which the host prevents, when
    /// it is not a JSEP object).
    pub fn parsed_jsep(&self) -> Option<Jsep> {
        self.jsep.as_deref().and_then(|json| Jsep::parse(json).ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_keeps_extra_keys() {
        let jsep = Jsep::parse(
            r#"{"type":"offer","sdp":"v=0\r\n","simulcast":[{"mindex":1,"mid":"1","rids":["h","m","l"]}],"update":true}"#,
        )
        .unwrap();
        assert!(jsep.is_offer());
        assert!(!jsep.is_answer());
        assert!(jsep.is_update());
        assert!(jsep.has_simulcast());
        assert_eq!(jsep.sdp, "v=0\r\n");
        let again = Jsep::parse(&jsep.to_json()).unwrap();
        assert_eq!(again, jsep);
    }

    #[test]
    fn svc_streams_are_named_by_mindex_or_mid() {
        let jsep =
            Jsep::parse(r#"{"type":"offer","sdp":"","svc":[{"mindex":1,"mid":"v","svc":"L3T3_KEY"}]}"#)
                .unwrap();
        assert!(jsep.has_svc());
        assert!(jsep.names_svc(1, "1") && jsep.names_svc(2, "v"));
        assert!(!jsep.names_svc(0, "0"));
    }

    #[test]
    fn type_is_case_insensitive_and_sdp_optional() {
        let jsep = Jsep::parse(r#"{"type":"ANSWER"}"#).unwrap();
        assert!(jsep.is_answer());
        assert_eq!(jsep.sdp, "");
        assert!(!jsep.is_update());
        assert!(!jsep.has_simulcast());
        assert!(!jsep.has_svc() && !jsep.names_svc(0, "0"));
        assert!(Jsep::parse(r#"{"sdp":"v=0"}"#).is_err());
        assert!(Jsep::parse("[]").is_err());
    }

    #[test]
    fn message_jsep() {
        let mut msg = Message {
            handle: crate::HandleRef { session: 1, handle: 2 },
            transaction: "t".into(),
            body: "{}".into(),
            jsep: None,
        };
        assert_eq!(msg.parsed_jsep(), None);
        msg.jsep = Some(r#"{"type":"offer","sdp":"v=0"}"#.into());
        assert_eq!(msg.parsed_jsep().unwrap().sdp, "v=0");
    }
}

//! A room's `allowed` tokens, as VideoRoom, AudioBridge and TextRoom keep them: a list, and
//! whether joining checks it. As in Janus, the list outlives the check: the `allowed` request's
//! `disable` keeps it for the next `enable`, and `add`/`remove` change it either way.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{ErrorCodes, PluginError};

/// Janus's text for an `allowed` array with something other than strings.
const NOT_A_STRING: &str = "Invalid element in the allowed array (not a string)";

/// A room's tokens and their check.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Saved", into = "Saved")]
pub struct Allowed {
    /// Joining needs one of the tokens.
    pub check: bool,
    /// The tokens.
    pub tokens: BTreeSet<String>,
}

/// What the `allowed` request asks (its `action`, in any case, as Janus reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The check on.
    Enable,
    /// The check off (the tokens kept).
    Disable,
    /// Tokens added.
    Add,
    /// Tokens removed.
    Remove,
}

impl Action {
    /// The request's `action` (a string, already validated): Janus's "Unsupported action" with
    /// `codes.invalid_element` for any other.
    pub fn of(body: &Map<String, Value>, codes: &ErrorCodes) -> Result<Action, PluginError> {
        let sent = body.get("action").and_then(Value::as_str).unwrap_or_default();
        match sent.to_ascii_lowercase().as_str() {
            "enable" => Ok(Action::Enable),
            "disable" => Ok(Action::Disable),
            "add" => Ok(Action::Add),
            "remove" => Ok(Action::Remove),
            _ => {
                Err(PluginError::new(codes.invalid_element, format!("Unsupported action '{sent}' (allowed)")))
            }
        }
    }
}

impl Allowed {
    /// The tokens of `create` (or a config section): checked when it has an `allowed` array.
    pub fn of_room(keys: &Map<String, Value>) -> Allowed {
        match keys.get("allowed") {
            Some(Value::Array(list)) => Allowed {
                check: true,
                tokens: list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            },
            _ => Allowed::default(),
        }
    }

    /// Whether `token` lets a participant in.
    pub fn admits(&self, token: Option<&str>) -> bool {
        !self.check || token.is_some_and(|t| self.tokens.contains(t))
    }

    /// Carries out the `allowed` request (its room found and its secret checked). Its answer's
    /// `allowed` list: the tokens, none after `disable`.
    pub fn apply(
        &mut self,
        action: Action,
        body: &Map<String, Value>,
        codes: &ErrorCodes,
    ) -> Result<Option<Value>, PluginError> {
        match action {
            Action::Enable => self.check = true,
            Action::Disable => self.check = false,
            Action::Add | Action::Remove => {
                // Janus looks at the tokens only here, after the room and its secret.
                for token in strings(body, codes)? {
                    if action == Action::Add {
                        self.tokens.insert(token.to_owned());
                    } else {
                        self.tokens.remove(token);
                    }
                }
            }
        }
        Ok((action != Action::Disable).then(|| serde_json::json!(self.tokens)))
    }
}

/// The strings of a body's `allowed` array (none without one): `codes.invalid_element` with
/// Janus's text when it holds anything else.
pub fn strings<'a>(body: &'a Map<String, Value>, codes: &ErrorCodes) -> Result<Vec<&'a str>, PluginError> {
    let Some(Value::Array(list)) = body.get("allowed") else { return Ok(Vec::new()) };
    list.iter()
        .map(Value::as_str)
        .collect::<Option<_>>()
        .ok_or_else(|| PluginError::new(codes.invalid_element, NOT_A_STRING))
}

/// How rooms saved their tokens before this type (hot reload carries state across versions,
/// both ways): VideoRoom's and AudioBridge's `allowed` when checked and `allowed_off` when not;
/// TextRoom's `check_tokens` beside `allowed`. Both are written, so that an earlier build
/// reads a room's check as it was (`allowed` is left out when off: VideoRoom's and
/// AudioBridge's earlier builds read its presence as the check).
#[derive(Serialize, Deserialize, Default)]
#[serde(default)]
struct Saved {
    #[serde(skip_serializing_if = "Option::is_none")]
    allowed: Option<BTreeSet<String>>,
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    allowed_off: BTreeSet<String>,
    check_tokens: Option<bool>,
}

impl From<Saved> for Allowed {
    fn from(saved: Saved) -> Allowed {
        match saved.allowed {
            Some(tokens) => Allowed { check: saved.check_tokens.unwrap_or(true), tokens },
            None => Allowed { check: false, tokens: saved.allowed_off },
        }
    }
}

impl From<Allowed> for Saved {
    fn from(a: Allowed) -> Saved {
        if a.check {
            Saved { allowed: Some(a.tokens), check_tokens: Some(true), ..Saved::default() }
        } else {
            Saved { allowed_off: a.tokens, check_tokens: Some(false), ..Saved::default() }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CODES: ErrorCodes = ErrorCodes { invalid_json: 1, missing_element: 2, invalid_element: 3 };

    fn body(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn the_list_outlives_its_check() {
        let mut a = Allowed::of_room(&body(json!({"allowed": ["x"]})));
        assert!(a.check && a.admits(Some("x")) && !a.admits(Some("y")) && !a.admits(None));
        assert_eq!(a.apply(Action::Disable, &body(json!({})), &CODES).unwrap(), None);
        assert!(a.admits(None));
        // Added while off, then on again: both tokens.
        let add = body(json!({"allowed": ["y"]}));
        assert_eq!(a.apply(Action::Add, &add, &CODES).unwrap(), Some(json!(["x", "y"])));
        assert!(a.admits(None));
        assert_eq!(a.apply(Action::Enable, &body(json!({})), &CODES).unwrap(), Some(json!(["x", "y"])));
        assert!(a.admits(Some("y")) && !a.admits(None));
        let remove = body(json!({"allowed": ["x"]}));
        assert_eq!(a.apply(Action::Remove, &remove, &CODES).unwrap(), Some(json!(["y"])));
        // Tokens that are not strings: refused, and nothing changed.
        let bad = body(json!({"allowed": ["z", 1]}));
        assert_eq!(a.apply(Action::Add, &bad, &CODES).unwrap_err().code, 3);
        assert_eq!(a.tokens.len(), 1);
    }

    #[test]
    fn actions_are_read_in_any_case() {
        assert_eq!(Action::of(&body(json!({"action": "ENable"})), &CODES).unwrap(), Action::Enable);
        let e = Action::of(&body(json!({"action": "open"})), &CODES).unwrap_err();
        assert_eq!((e.code, e.text.as_str()), (3, "Unsupported action 'open' (allowed)"));
    }

    #[test]
    fn saved_state_of_every_earlier_form_reads() {
        let read = |v: Value| serde_json::from_value::<Allowed>(v).unwrap();
        let on = Allowed { check: true, tokens: ["a".to_owned()].into() };
        let off = Allowed { check: false, tokens: ["a".to_owned()].into() };
        assert_eq!(read(json!({"allowed": ["a"]})), on);
        assert_eq!(read(json!({"allowed": null, "allowed_off": ["a"]})), off);
        assert_eq!(read(json!({"check_tokens": false, "allowed": ["a"]})), off);
        assert_eq!(read(json!({})), Allowed::default());
        for a in [on.clone(), off.clone()] {
            assert_eq!(read(serde_json::to_value(&a).unwrap()), a);
        }
        // What earlier builds read back: the check as it was.
        assert_eq!(serde_json::to_value(&on).unwrap(), json!({"allowed": ["a"], "check_tokens": true}));
        assert_eq!(serde_json::to_value(&off).unwrap(), json!({"allowed_off": ["a"], "check_tokens": false}));
        assert_eq!(serde_json::to_value(Allowed::default()).unwrap(), json!({"check_tokens": false}));
    }
}

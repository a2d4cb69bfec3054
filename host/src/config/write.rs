//! Writes a configuration (JSON, as plugins get theirs) as a Janus `.jcfg` file: what a plugin's
//! `save-config` writes back (Janus's `permanent` rooms). Parsing the text gives the same JSON.

use std::fmt::Write;

use serde_json::Value;

/// The `.jcfg` text of `config`, a JSON object of settings and groups. Errors: not an object, a
/// name a setting cannot have, a `null`, or a number `.jcfg` cannot hold.
pub fn to_jcfg(config: &Value) -> Result<String, String> {
    let Value::Object(root) = config else { return Err("the configuration is not a JSON object".into()) };
    let mut out = String::new();
    for (name, value) in root {
        setting(&mut out, 0, name, value)?;
    }
    Ok(out)
}

/// Whether libconfig accepts `name` as a setting's name.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '*')
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*'))
}

fn setting(out: &mut String, depth: usize, name: &str, value: &Value) -> Result<(), String> {
    if !valid_name(name) {
        return Err(format!("{name:?} cannot be a setting's name"));
    }
    indent(out, depth);
    out.push_str(name);
    out.push_str(if matches!(value, Value::Object(_)) { ": " } else { " = " });
    self::value(out, depth, value)?;
    out.push('\n');
    Ok(())
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push('\t');
    }
}

fn value(out: &mut String, depth: usize, value: &Value) -> Result<(), String> {
    match value {
        Value::Null => return Err("null has no .jcfg form".into()),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => {
                let _ = write!(out, "{i}");
            }
            (None, _) if n.is_u64() => return Err(format!("{n} is too large for a .jcfg integer")),
            (None, Some(f)) if f.is_finite() => {
                let _ = write!(out, "{f:?}");
            }
            _ => return Err(format!("{n} has no .jcfg form")),
        },
        Value::String(s) => string(out, s),
        Value::Object(map) => {
            out.push_str("{\n");
            for (name, v) in map {
                setting(out, depth + 1, name, v)?;
            }
            indent(out, depth);
            out.push('}');
        }
        Value::Array(items) => {
            // An array holds scalars of one kind; anything else is a list.
            let kind = |v: &Value| match v {
                Value::Bool(_) => 1,
                Value::Number(n) if n.is_f64() => 2,
                Value::Number(_) => 3,
                Value::String(_) => 4,
                _ => 0,
            };
            let array = items.iter().all(|v| kind(v) != 0 && kind(v) == kind(&items[0]));
            out.push(if array { '[' } else { '(' });
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                self::value(out, depth + 1, v)?;
            }
            out.push(if array { ']' } else { ')' });
        }
    }
    Ok(())
}

/// A double-quoted string with libconfig's escapes.
fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\u{c}' => out.push_str("\\f"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::jcfg;
    use serde_json::json;

    fn round_trip(config: &Value) -> Value {
        let text = to_jcfg(config).unwrap();
        let root = jcfg::parse(&text).unwrap_or_else(|e| panic!("{e}:\n{text}"));
        jcfg::Node { value: jcfg::Value::Group(root), line: 1 }.to_json()
    }

    #[test]
    fn what_is_written_parses_back_the_same() {
        let config = json!({
            "general": {"admin_key": "k\"ey\\\n\t\u{1}é", "string_ids": false},
            "room-1234": {"description": "Demo Room", "publishers": 6, "bitrate": 128000, "ratio": 0.5,
                          "allowed": ["a", "b"], "mixed": [1, "x", {"nested": true}], "empty": []},
            "top": -3,
        });
        assert_eq!(round_trip(&config), config);
    }

    #[test]
    fn what_cannot_be_written_is_refused() {
        assert!(to_jcfg(&json!([1])).is_err());
        assert!(to_jcfg(&json!({"has space": 1})).is_err());
        assert!(to_jcfg(&json!({"n": null})).is_err());
        assert!(to_jcfg(&json!({"big": u64::MAX})).is_err());
    }
}

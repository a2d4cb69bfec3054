//! Typed reading of one `.jcfg` section with Janus's lenient value rules.
//!
//! Janus keeps every setting as text and converts on use, so `session_timeout = "60"` and
//! `session_timeout = 60` mean the same and booleans may be `true`, `"yes"` or `1`. We accept
//! the same spellings; anything else stops start-up with the file, line and key. Keys that a
//! section does not read are reported once by [`Section::finish`].

use std::collections::BTreeSet;

use super::jcfg::{Group, Node, Value};
use super::ConfigError;

/// One section (group) of a config file being read.
pub struct Section<'a> {
    file: &'a str,
    name: &'a str,
    group: Option<&'a Group>,
    used: BTreeSet<&'a str>,
}

impl<'a> Section<'a> {
    /// Reads `name` from `root`; a missing section reads as empty.
    pub fn new(file: &'a str, root: &'a Group, name: &'a str) -> Self {
        Self { file, name, group: root.group(name), used: BTreeSet::new() }
    }

    fn node(&mut self, key: &'a str) -> Option<&'a Node> {
        self.used.insert(key);
        self.group.and_then(|g| g.get(key))
    }

    fn bad(&self, node: &Node, key: &str, what: &str) -> ConfigError {
        ConfigError::Value {
            file: self.file.to_owned(),
            line: node.line,
            key: format!("{}.{}", self.name, key),
            message: format!("expected {what}, found {}", describe(&node.value)),
        }
    }

    /// A boolean: `true`/`false`, `"yes"`/`"no"`, `"true"`/`"false"`, `1`/`0`.
    pub fn bool(&mut self, key: &'a str, default: bool) -> Result<bool, ConfigError> {
        let Some(node) = self.node(key) else {
            return Ok(default);
        };
        match &node.value {
            Value::Bool(b) => Ok(*b),
            Value::Int(0) => Ok(false),
            Value::Int(1) => Ok(true),
            Value::Str(s) => match s.trim().to_ascii_lowercase().as_str() {
                "yes" | "true" | "1" | "on" => Ok(true),
                "no" | "false" | "0" | "off" => Ok(false),
                _ => Err(self.bad(node, key, "a boolean")),
            },
            _ => Err(self.bad(node, key, "a boolean")),
        }
    }

    /// An integer in `min..=max`, given as a number or as digits in a string.
    pub fn int(&mut self, key: &'a str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
        let Some(node) = self.node(key) else {
            return Ok(default);
        };
        let value = match &node.value {
            Value::Int(i) => Some(*i),
            Value::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        match value {
            Some(v) if (min..=max).contains(&v) => Ok(v),
            _ => Err(self.bad(node, key, &format!("an integer from {min} to {max}"))),
        }
    }

    /// A port number (1..=65535, or 0 for "any free port").
    pub fn port(&mut self, key: &'a str, default: u16) -> Result<u16, ConfigError> {
        // The range check makes the narrowing exact.
        self.int(key, i64::from(default), 0, 65535).map(|v| v as u16)
    }

    /// A string; numbers and booleans are accepted and turned into text like Janus does.
    pub fn string(&mut self, key: &'a str) -> Result<Option<String>, ConfigError> {
        let Some(node) = self.node(key) else {
            return Ok(None);
        };
        match &node.value {
            Value::Str(s) => Ok(Some(s.clone())),
            Value::Int(i) => Ok(Some(i.to_string())),
            Value::Bool(b) => Ok(Some(b.to_string())),
            Value::Float(f) => Ok(Some(f.to_string())),
            _ => Err(self.bad(node, key, "a string")),
        }
    }

    /// A list or array of strings (`[ "a", "b" ]`); a single string is a list of one.
    pub fn strings(&mut self, key: &'a str) -> Result<Vec<String>, ConfigError> {
        let Some(node) = self.node(key) else {
            return Ok(Vec::new());
        };
        match &node.value {
            Value::Str(s) => Ok(vec![s.clone()]),
            Value::List(items) => items
                .iter()
                .map(|item| match &item.value {
                    Value::Str(s) => Ok(s.clone()),
                    _ => Err(self.bad(item, key, "a string in the list")),
                })
                .collect(),
            _ => Err(self.bad(node, key, "a list of strings")),
        }
    }

    /// A list of name and value pairs (`(["name", "value"], …)`, Janus's MQTT user properties).
    pub fn pairs(&mut self, key: &'a str) -> Result<Vec<(String, String)>, ConfigError> {
        let Some(node) = self.node(key) else {
            return Ok(Vec::new());
        };
        let Value::List(items) = &node.value else {
            return Err(self.bad(node, key, "a list of [\"name\", \"value\"] pairs"));
        };
        items
            .iter()
            .map(|item| match &item.value {
                Value::List(pair) => match pair.as_slice() {
                    [name, value] => match (&name.value, &value.value) {
                        (Value::Str(n), Value::Str(v)) => Ok((n.clone(), v.clone())),
                        _ => Err(self.bad(item, key, "two strings in the pair")),
                    },
                    _ => Err(self.bad(item, key, "a pair of two strings")),
                },
                _ => Err(self.bad(item, key, "a [\"name\", \"value\"] pair in the list")),
            })
            .collect()
    }

    /// A non-empty string (an empty one counts as unset).
    pub fn non_empty(&mut self, key: &'a str) -> Result<Option<String>, ConfigError> {
        Ok(self.string(key)?.filter(|s| !s.is_empty()))
    }

    /// A file name extension (`recordings_tmp_ext`): a non-empty string without `/`.
    pub fn extension(&mut self, key: &'a str) -> Result<Option<String>, ConfigError> {
        match (self.non_empty(key)?, self.group.and_then(|g| g.get(key))) {
            (Some(ext), Some(node)) if ext.contains('/') => {
                Err(self.bad(node, key, "an extension without '/'"))
            }
            (ext, _) => Ok(ext),
        }
    }

    /// Marks keys as understood without reading them (they are read elsewhere, or
    /// deliberately have no effect and need no warning).
    pub fn accept(&mut self, keys: &[&'a str]) {
        self.used.extend(keys.iter().copied());
    }

    /// Warns once about every key of the section that nothing read.
    pub fn finish(self) {
        let Some(group) = self.group else { return };
        for (key, node) in &group.entries {
            if !self.used.contains(key.as_str()) {
                tracing::warn!(
                    "{}:{}: setting '{}.{}' is not supported by Portunus and is ignored",
                    self.file,
                    node.line,
                    self.name,
                    key
                );
            }
        }
    }
}

fn describe(value: &Value) -> String {
    match value {
        Value::Str(s) => format!("\"{s}\""),
        Value::Int(i) => i.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Bool(b) => b.to_string(),
        other => format!("a {}", other.type_name()),
    }
}

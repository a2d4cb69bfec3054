//! Parser for Janus configuration files (`.jcfg`), which use the
//! [libconfig](https://hyperrealm.github.io/libconfig/) syntax.
//!
//! The parser follows the libconfig grammar as Janus uses it:
//!
//! * settings are `name = value` or `name : value`, optionally terminated by
//!   `;` or `,`; setting names match `[A-Za-z*][-A-Za-z0-9_*]*`;
//! * groups are `{ ... }`, lists are `( ... )` and arrays are `[ ... ]`
//!   (comma separated, a trailing comma is allowed); arrays may only hold
//!   scalars of one type, as in libconfig;
//! * scalars are booleans (`true`/`false`, case-insensitive), integers
//!   (decimal or `0x` hexadecimal, optional sign, optional `L`/`LL` suffix),
//!   floats (`1.5`, `.5`, `5.`, `1e-3`, ...) and double-quoted strings with the
//!   escapes `\"`, `\\`, `\n`, `\t`, `\r`, `\f` and `\xNN`; adjacent string
//!   literals are concatenated (`"a" "b"` is `"ab"`);
//! * comments are `# ...`, `// ...` and `/* ... */`.
//!
//! Deliberate choices, documented here so callers know what to expect:
//!
//! * `@include "file"` directives are **not supported**: they produce a
//!   [`ParseError`] saying so. Janus' shipped configuration files do not use
//!   them.
//! * A duplicate setting name inside one group is an error (as in libconfig),
//!   reported at the line of the second occurrence.
//! * Nesting of groups, lists and arrays is capped at [`MAX_DEPTH`] levels so
//!   that hostile input cannot exhaust the stack.
//! * As in libconfig, a backslash followed by any other character (or by `x`
//!   without two hex digits) is kept literally, and positive hexadecimal
//!   integers up to `0xFFFFFFFFFFFFFFFF` are accepted and reinterpreted as
//!   two's-complement `i64` values.
//! * `\xNN` escapes produce raw bytes; the resulting string must be valid
//!   UTF-8.
//! * Floats that overflow to infinity are rejected, and so are decimal
//!   integers outside the `i64` range.
//! * Compared with the libconfig 1.5 that Debian ships (checked against it
//!   with a differential fuzzer), this parser also accepts trailing commas in
//!   lists and arrays (as libconfig 1.7 does), a sign on hexadecimal
//!   integers, and a `#`/`//` comment on the last line without a final
//!   newline; it rejects an unterminated string or `/*` comment at the end
//!   of input, which libconfig 1.5 silently ignores. Values that both
//!   accept are identical.
//!
//! Every [`Node`] records the 1-based line on which its value starts, so that
//! callers can report `file:line: key: message`.

use std::collections::HashMap;
use std::fmt;

/// Maximum nesting depth of groups, lists and arrays below the root group.
pub const MAX_DEPTH: usize = 64;

/// A value together with the 1-based line number on which it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The parsed value.
    pub value: Value,
    /// 1-based line number of the first token of the value.
    pub line: u32,
}

/// A libconfig value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A boolean (`true` / `false`, case-insensitive in the source).
    Bool(bool),
    /// An integer (decimal or hexadecimal, with or without `L` suffix).
    Int(i64),
    /// A finite floating-point number.
    Float(f64),
    /// A string (escapes resolved, adjacent literals concatenated).
    Str(String),
    /// A list `( ... )` or an array `[ ... ]`; the distinction is not kept.
    List(Vec<Node>),
    /// A group `{ ... }` of named settings.
    Group(Group),
}

/// A group of named settings, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Group {
    /// The settings of the group as `(name, node)` pairs, in file order.
    /// Names are unique within a group produced by [`parse`].
    pub entries: Vec<(String, Node)>,
}

/// An error found while parsing, with a 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {message}")]
pub struct ParseError {
    /// 1-based line of the error.
    pub line: u32,
    /// 1-based column (in characters) of the error.
    pub column: u32,
    /// Human-readable description of the problem.
    pub message: String,
}

/// Parses the text of a `.jcfg` file; the root of the file is a group.
///
/// # Errors
///
/// Returns a [`ParseError`] carrying the line and column of the first
/// syntax error, duplicate setting, over-deep nesting or `@include`
/// directive.
pub fn parse(text: &str) -> Result<Group, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    Parser::new(text).parse_root()
}

impl Group {
    /// Returns the setting called `key`, if any.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries.iter().find(|(name, _)| name == key).map(|(_, node)| node)
    }

    /// Returns the setting called `key` if it exists and is a group.
    pub fn group(&self, key: &str) -> Option<&Group> {
        self.get(key).and_then(|node| node.value.as_group())
    }

    /// Iterates over the settings of the group in file order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Node)> {
        self.entries.iter().map(|(name, node)| (name.as_str(), node))
    }

    /// Converts the group to a JSON object (see [`Node::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        let map = self.entries.iter().map(|(name, node)| (name.clone(), node.to_json())).collect();
        serde_json::Value::Object(map)
    }
}

impl Node {
    /// Converts the node to JSON: a group becomes an object, a list or array
    /// becomes an array and scalars map to the matching JSON scalar.
    pub fn to_json(&self) -> serde_json::Value {
        self.value.to_json()
    }
}

impl Value {
    /// Returns the libconfig-style name of the value's type: `"boolean"`,
    /// `"integer"`, `"float"`, `"string"`, `"list"` or `"group"`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Bool(_) => "boolean",
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Group(_) => "group",
        }
    }

    /// Returns the boolean if the value is one.
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// Returns the integer if the value is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    /// Returns the float if the value is one (integers are not converted).
    pub fn as_float(&self) -> Option<f64> {
        match self {
            Value::Float(f) => Some(*f),
            _ => None,
        }
    }

    /// Returns the string if the value is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// Returns the elements if the value is a list or array.
    pub fn as_list(&self) -> Option<&[Node]> {
        match self {
            Value::List(items) => Some(items),
            _ => None,
        }
    }

    /// Returns the group if the value is one.
    pub fn as_group(&self) -> Option<&Group> {
        match self {
            Value::Group(g) => Some(g),
            _ => None,
        }
    }

    /// Converts the value to JSON (see [`Node::to_json`]).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::List(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Group(g) => g.to_json(),
        }
    }

    fn is_scalar(&self) -> bool {
        !matches!(self, Value::List(_) | Value::Group(_))
    }
}

// ---------------------------------------------------------------------------
// Writing libconfig text
// ---------------------------------------------------------------------------

/// Writes the group as the root of a libconfig file (`name = value;` lines).
/// For a group produced by [`parse`], parsing the output again yields the
/// same values (line numbers may differ).
impl fmt::Display for Group {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_settings(f, self, 0)
    }
}

/// Writes the value in libconfig syntax; lists and arrays are written as
/// lists `( ... )`, groups as `{ ... }` blocks.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_value(f, self, 0)
    }
}

fn write_indent(f: &mut fmt::Formatter<'_>, indent: usize) -> fmt::Result {
    for _ in 0..indent {
        f.write_str("\t")?;
    }
    Ok(())
}

fn write_settings(f: &mut fmt::Formatter<'_>, group: &Group, indent: usize) -> fmt::Result {
    for (name, node) in &group.entries {
        write_indent(f, indent)?;
        write!(f, "{name} = ")?;
        write_value(f, &node.value, indent)?;
        f.write_str(";\n")?;
    }
    Ok(())
}

fn write_value(f: &mut fmt::Formatter<'_>, value: &Value, indent: usize) -> fmt::Result {
    match value {
        Value::Bool(b) => write!(f, "{b}"),
        Value::Int(i) => write!(f, "{i}"),
        Value::Float(x) => write!(f, "{x:?}"),
        Value::Str(s) => write_string(f, s),
        Value::List(items) => write_list(f, items, indent),
        Value::Group(g) => {
            f.write_str("{\n")?;
            write_settings(f, g, indent + 1)?;
            write_indent(f, indent)?;
            f.write_str("}")
        }
    }
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Node], indent: usize) -> fmt::Result {
    f.write_str("(")?;
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write_value(f, &item.value, indent)?;
    }
    f.write_str(")")
}

fn write_string(f: &mut fmt::Formatter<'_>, s: &str) -> fmt::Result {
    f.write_str("\"")?;
    for c in s.chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            '\x0c' => f.write_str("\\f")?,
            c if u32::from(c) < 0x20 || c == '\x7f' => write!(f, "\\x{:02x}", u32::from(c))?,
            c => write!(f, "{c}")?,
        }
    }
    f.write_str("\"")
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

/// A 1-based source position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Pos {
    line: u32,
    column: u32,
}

impl Pos {
    fn error(self, message: impl Into<String>) -> ParseError {
        ParseError { line: self.line, column: self.column, message: message.into() }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Name(String),
    Str(String),
    Int(i64),
    Float(f64),
    Assign,
    Semicolon,
    Comma,
    LBrace,
    RBrace,
    LParen,
    RParen,
    LBracket,
    RBracket,
    Eof,
}

impl Tok {
    fn describe(&self) -> String {
        match self {
            Tok::Name(n) => format!("name '{n}'"),
            Tok::Str(_) => "a string".to_string(),
            Tok::Int(_) => "an integer".to_string(),
            Tok::Float(_) => "a float".to_string(),
            Tok::Assign => "'=' or ':'".to_string(),
            Tok::Semicolon => "';'".to_string(),
            Tok::Comma => "','".to_string(),
            Tok::LBrace => "'{'".to_string(),
            Tok::RBrace => "'}'".to_string(),
            Tok::LParen => "'('".to_string(),
            Tok::RParen => "')'".to_string(),
            Tok::LBracket => "'['".to_string(),
            Tok::RBracket => "']'".to_string(),
            Tok::Eof => "end of input".to_string(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    tok: Tok,
    pos: Pos,
}

struct Lexer {
    chars: Vec<char>,
    idx: usize,
    line: u32,
    column: u32,
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '*'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '*')
}

fn is_number_tail(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '*' | '.')
}

impl Lexer {
    fn new(text: &str) -> Self {
        Lexer { chars: text.chars().collect(), idx: 0, line: 1, column: 1 }
    }

    fn pos(&self) -> Pos {
        Pos { line: self.line, column: self.column }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.idx).copied()
    }

    fn peek_at(&self, offset: usize) -> Option<char> {
        self.chars.get(self.idx + offset).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek()?;
        self.idx += 1;
        if c == '\n' {
            self.line = self.line.saturating_add(1);
            self.column = 1;
        } else {
            self.column = self.column.saturating_add(1);
        }
        Some(c)
    }

    fn bump_if(&mut self, want: char) -> bool {
        if self.peek() == Some(want) {
            self.bump();
            true
        } else {
            false
        }
    }

    /// Consumes characters while `pred` holds and returns them.
    fn take_while(&mut self, pred: impl Fn(char) -> bool) -> String {
        let mut out = String::new();
        while let Some(c) = self.peek().filter(|&c| pred(c)) {
            out.push(c);
            self.bump();
        }
        out
    }

    fn skip_trivia(&mut self) -> Result<(), ParseError> {
        loop {
            match (self.peek(), self.peek_at(1)) {
                (Some(c), _) if c.is_ascii_whitespace() => {
                    self.bump();
                }
                (Some('#'), _) | (Some('/'), Some('/')) => self.skip_line_comment(),
                (Some('/'), Some('*')) => self.skip_block_comment()?,
                _ => return Ok(()),
            }
        }
    }

    fn skip_line_comment(&mut self) {
        while self.peek().is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    fn skip_block_comment(&mut self) -> Result<(), ParseError> {
        let start = self.pos();
        self.bump();
        self.bump();
        loop {
            match self.bump() {
                None => return Err(start.error("unterminated comment '/*'")),
                Some('*') if self.bump_if('/') => return Ok(()),
                Some(_) => {}
            }
        }
    }

    fn next_token(&mut self) -> Result<Token, ParseError> {
        self.skip_trivia()?;
        let pos = self.pos();
        let tok = match self.peek() {
            None => Tok::Eof,
            Some(c) => self.lex_token(c, pos)?,
        };
        Ok(Token { tok, pos })
    }

    fn lex_token(&mut self, c: char, pos: Pos) -> Result<Tok, ParseError> {
        let punct = match c {
            '=' | ':' => Some(Tok::Assign),
            ';' => Some(Tok::Semicolon),
            ',' => Some(Tok::Comma),
            '{' => Some(Tok::LBrace),
            '}' => Some(Tok::RBrace),
            '(' => Some(Tok::LParen),
            ')' => Some(Tok::RParen),
            '[' => Some(Tok::LBracket),
            ']' => Some(Tok::RBracket),
            _ => None,
        };
        if let Some(tok) = punct {
            self.bump();
            return Ok(tok);
        }
        match c {
            '"' => self.lex_string(pos).map(Tok::Str),
            '@' => Err(self.lex_directive(pos)),
            c if is_name_start(c) => Ok(Tok::Name(self.take_while(is_name_char))),
            c if self.starts_number(c) => self.lex_number(pos),
            c => Err(pos.error(format!("unexpected character {c:?}"))),
        }
    }

    fn starts_number(&self, c: char) -> bool {
        let digit_at = |i: usize| self.peek_at(i).is_some_and(|c| c.is_ascii_digit());
        match c {
            '0'..='9' => true,
            '.' => digit_at(1),
            '-' | '+' => digit_at(1) || (self.peek_at(1) == Some('.') && digit_at(2)),
            _ => false,
        }
    }

    /// Lexes `@word`; always returns an error since no directive is supported.
    fn lex_directive(&mut self, pos: Pos) -> ParseError {
        self.bump();
        let word = self.take_while(|c| c.is_ascii_alphabetic());
        if word == "include" {
            pos.error("@include directives are not supported; inline the included file instead")
        } else {
            pos.error(format!("unexpected directive '@{word}'"))
        }
    }

    fn lex_string(&mut self, start: Pos) -> Result<String, ParseError> {
        self.bump();
        let mut bytes = Vec::new();
        loop {
            match self.bump() {
                None => return Err(start.error("unterminated string")),
                Some('"') => break,
                Some('\\') => self.lex_escape(&mut bytes),
                Some(c) => push_char(&mut bytes, c),
            }
        }
        String::from_utf8(bytes).map_err(|_| start.error("string is not valid UTF-8 (check its \\x escapes)"))
    }

    /// Handles the character(s) after a backslash inside a string.
    fn lex_escape(&mut self, bytes: &mut Vec<u8>) {
        let simple = match self.peek() {
            Some('"') => Some(b'"'),
            Some('\\') => Some(b'\\'),
            Some('n') => Some(b'\n'),
            Some('t') => Some(b'\t'),
            Some('r') => Some(b'\r'),
            Some('f') => Some(b'\x0c'),
            _ => None,
        };
        if let Some(b) = simple {
            self.bump();
            bytes.push(b);
        } else if let Some(b) = self.hex_escape() {
            bytes.push(b);
        } else {
            // libconfig keeps an unknown escape's backslash literally.
            bytes.push(b'\\');
        }
    }

    /// Consumes `xNN` and returns the byte, or consumes nothing.
    fn hex_escape(&mut self) -> Option<u8> {
        if self.peek() != Some('x') {
            return None;
        }
        let hi = self.peek_at(1)?.to_digit(16)?;
        let lo = self.peek_at(2)?.to_digit(16)?;
        for _ in 0..3 {
            self.bump();
        }
        u8::try_from(hi * 16 + lo).ok()
    }

    fn lex_number(&mut self, pos: Pos) -> Result<Tok, ParseError> {
        let mut sign = String::new();
        if let Some(c @ ('-' | '+')) = self.peek() {
            sign.push(c);
            self.bump();
        }
        let is_hex = self.peek() == Some('0') && matches!(self.peek_at(1), Some('x' | 'X'));
        let tok = if is_hex {
            self.bump();
            self.bump();
            self.lex_hex(&sign, pos)?
        } else {
            self.lex_decimal(sign, pos)?
        };
        if self.peek().is_some_and(is_number_tail) {
            return Err(pos.error("malformed number"));
        }
        Ok(tok)
    }

    fn skip_int_suffix(&mut self) {
        if self.bump_if('L') {
            self.bump_if('L');
        }
    }

    fn lex_hex(&mut self, sign: &str, pos: Pos) -> Result<Tok, ParseError> {
        let digits = self.take_while(|c| c.is_ascii_hexdigit());
        if digits.is_empty() {
            return Err(pos.error("malformed hexadecimal number"));
        }
        self.skip_int_suffix();
        let out_of_range = || pos.error("hexadecimal integer out of range");
        let magnitude = u64::from_str_radix(&digits, 16).map_err(|_| out_of_range())?;
        let value = if sign == "-" {
            i64::try_from(-i128::from(magnitude)).map_err(|_| out_of_range())?
        } else {
            // Like libconfig, values above i64::MAX are taken as bit patterns.
            i64::from_ne_bytes(magnitude.to_ne_bytes())
        };
        Ok(Tok::Int(value))
    }

    fn lex_decimal(&mut self, mut text: String, pos: Pos) -> Result<Tok, ParseError> {
        let int_part = self.take_while(|c| c.is_ascii_digit());
        text.push_str(&int_part);
        let mut is_float = false;
        if self.bump_if('.') {
            is_float = true;
            text.push('.');
            text.push_str(&self.take_while(|c| c.is_ascii_digit()));
        }
        if matches!(self.peek(), Some('e' | 'E')) {
            is_float = true;
            text.push_str(&self.lex_exponent(pos)?);
        }
        if is_float {
            return parse_float(&text, pos);
        }
        self.skip_int_suffix();
        text.parse::<i64>().map(Tok::Int).map_err(|_| pos.error("integer out of range"))
    }

    fn lex_exponent(&mut self, pos: Pos) -> Result<String, ParseError> {
        let mut text = String::new();
        text.extend(self.bump());
        if let Some(c @ ('-' | '+')) = self.peek() {
            text.push(c);
            self.bump();
        }
        let digits = self.take_while(|c| c.is_ascii_digit());
        if digits.is_empty() {
            return Err(pos.error("malformed number: missing exponent digits"));
        }
        text.push_str(&digits);
        Ok(text)
    }
}

fn bare_word(pos: Pos, context: &str, word: &str) -> ParseError {
    pos.error(format!("invalid value for {context}: bare word '{word}' (strings must be quoted)"))
}

fn push_char(bytes: &mut Vec<u8>, c: char) {
    let mut buf = [0u8; 4];
    bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

fn parse_float(text: &str, pos: Pos) -> Result<Tok, ParseError> {
    match text.parse::<f64>() {
        Ok(x) if x.is_finite() => Ok(Tok::Float(x)),
        Ok(_) => Err(pos.error("float out of range")),
        Err(_) => Err(pos.error("malformed number")),
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// What closes the sequence being parsed, and where it was opened.
#[derive(Clone, Copy)]
struct Opener {
    close: char,
    pos: Pos,
}

impl Opener {
    /// The error for reaching the end of input (at `eof`) while this opener
    /// is still open; it is reported at the opener's position.
    fn unclosed(self, eof: Pos) -> ParseError {
        let open = match self.close {
            '}' => '{',
            ')' => '(',
            _ => '[',
        };
        self.pos.error(format!(
            "unclosed '{open}': end of input (line {}) reached before the matching '{}'",
            eof.line, self.close
        ))
    }
}

fn closes(tok: &Tok, close: char) -> bool {
    matches!((tok, close), (Tok::RBrace, '}') | (Tok::RParen, ')') | (Tok::RBracket, ']'))
}

struct Parser {
    lexer: Lexer,
    peeked: Option<Token>,
    depth: usize,
}

impl Parser {
    fn new(text: &str) -> Self {
        Parser { lexer: Lexer::new(text), peeked: None, depth: 0 }
    }

    fn peek(&mut self) -> Result<&Token, ParseError> {
        if self.peeked.is_none() {
            self.peeked = Some(self.lexer.next_token()?);
        }
        // The branch above guarantees `peeked` is set.
        self.peeked.as_ref().ok_or_else(|| self.lexer.pos().error("internal lexer error"))
    }

    fn next(&mut self) -> Result<Token, ParseError> {
        match self.peeked.take() {
            Some(token) => Ok(token),
            None => self.lexer.next_token(),
        }
    }

    fn parse_root(mut self) -> Result<Group, ParseError> {
        self.parse_settings(None)
    }

    /// Parses settings up to `opener`'s closing brace, or to the end of
    /// input for the root group (`opener == None`).
    fn parse_settings(&mut self, opener: Option<Opener>) -> Result<Group, ParseError> {
        let mut group = Group::default();
        let mut seen: HashMap<String, u32> = HashMap::new();
        loop {
            let token = self.next()?;
            match (&token.tok, opener) {
                (Tok::Eof, None) => return Ok(group),
                (Tok::Eof, Some(op)) => return Err(op.unclosed(token.pos)),
                (tok, Some(op)) if closes(tok, op.close) => return Ok(group),
                (Tok::Name(_), _) => self.parse_setting(token, &mut group, &mut seen)?,
                (tok, _) => {
                    let what = tok.describe();
                    return Err(token.pos.error(format!("expected a setting name, found {what}")));
                }
            }
        }
    }

    fn parse_setting(
        &mut self,
        name_token: Token,
        group: &mut Group,
        seen: &mut HashMap<String, u32>,
    ) -> Result<(), ParseError> {
        let Tok::Name(name) = name_token.tok else {
            return Err(name_token.pos.error("expected a setting name"));
        };
        if name.eq_ignore_ascii_case("true") || name.eq_ignore_ascii_case("false") {
            return Err(name_token.pos.error(format!("'{name}' is a boolean and cannot be a setting name")));
        }
        let assign = self.next()?;
        if assign.tok != Tok::Assign {
            let what = assign.tok.describe();
            return Err(assign.pos.error(format!("expected '=' or ':' after '{name}', found {what}")));
        }
        let node = self.parse_value(&format!("'{name}'"))?;
        if let Some(first) = seen.get(&name) {
            return Err(name_token
                .pos
                .error(format!("duplicate setting '{name}' (first defined on line {first})")));
        }
        seen.insert(name.clone(), name_token.pos.line);
        group.entries.push((name, node));
        if matches!(self.peek()?.tok, Tok::Semicolon | Tok::Comma) {
            self.next()?;
        }
        Ok(())
    }

    /// Parses one value; `context` names what the value belongs to, for
    /// error messages.
    fn parse_value(&mut self, context: &str) -> Result<Node, ParseError> {
        let token = self.next()?;
        let line = token.pos.line;
        let value = match token.tok {
            Tok::Int(i) => Value::Int(i),
            Tok::Float(x) => Value::Float(x),
            Tok::Str(s) => Value::Str(self.concat_strings(s)?),
            Tok::Name(ref n) if n.eq_ignore_ascii_case("true") => Value::Bool(true),
            Tok::Name(ref n) if n.eq_ignore_ascii_case("false") => Value::Bool(false),
            Tok::LBrace => Value::Group(self.nested(token.pos, '}')?),
            Tok::LParen => Value::List(self.nested_list(token.pos, ')')?),
            Tok::LBracket => Value::List(self.nested_list(token.pos, ']')?),
            Tok::Name(ref n) => return Err(bare_word(token.pos, context, n)),
            ref other => {
                let what = other.describe();
                return Err(token.pos.error(format!("missing value for {context}: found {what}")));
            }
        };
        Ok(Node { value, line })
    }

    fn concat_strings(&mut self, mut s: String) -> Result<String, ParseError> {
        while matches!(self.peek()?.tok, Tok::Str(_)) {
            if let Tok::Str(more) = self.next()?.tok {
                s.push_str(&more);
            }
        }
        Ok(s)
    }

    fn enter(&mut self, pos: Pos) -> Result<(), ParseError> {
        if self.depth >= MAX_DEPTH {
            return Err(pos.error(format!("nesting deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    fn nested(&mut self, pos: Pos, close: char) -> Result<Group, ParseError> {
        self.enter(pos)?;
        let group = self.parse_settings(Some(Opener { close, pos }))?;
        self.depth -= 1;
        Ok(group)
    }

    fn nested_list(&mut self, pos: Pos, close: char) -> Result<Vec<Node>, ParseError> {
        self.enter(pos)?;
        let items = self.parse_list(Opener { close, pos })?;
        self.depth -= 1;
        Ok(items)
    }

    /// Parses list or array elements up to the closing bracket.
    fn parse_list(&mut self, opener: Opener) -> Result<Vec<Node>, ParseError> {
        let is_array = opener.close == ']';
        let context = if is_array { "array element" } else { "list element" };
        let mut items: Vec<Node> = Vec::new();
        loop {
            let token = self.peek()?;
            let pos = token.pos;
            if token.tok == Tok::Eof {
                return Err(opener.unclosed(pos));
            }
            if closes(&token.tok, opener.close) {
                self.next()?;
                return Ok(items);
            }
            let item = self.parse_value(context)?;
            if is_array {
                check_array_item(items.first(), &item, pos)?;
            }
            items.push(item);
            if !self.list_separator(opener)? {
                return Ok(items);
            }
        }
    }

    /// After a list element: consumes `,` (returns `true`, more may follow)
    /// or the closing bracket (returns `false`).
    fn list_separator(&mut self, opener: Opener) -> Result<bool, ParseError> {
        let token = self.next()?;
        match token.tok {
            Tok::Comma => Ok(true),
            ref t if closes(t, opener.close) => Ok(false),
            Tok::Eof => Err(opener.unclosed(token.pos)),
            ref t => {
                let what = t.describe();
                Err(token.pos.error(format!("expected ',' or '{}', found {what}", opener.close)))
            }
        }
    }
}

/// libconfig arrays hold scalars of a single type.
fn check_array_item(first: Option<&Node>, item: &Node, pos: Pos) -> Result<(), ParseError> {
    let found = item.value.type_name();
    if !item.value.is_scalar() {
        return Err(
            pos.error(format!("arrays may only hold scalars, found a {found} (use a list '( )' instead)"))
        );
    }
    match first.map(|f| f.value.type_name()) {
        Some(expected) if expected != found => {
            Err(pos.error(format!("array elements must all have the same type: {found} after {expected}")))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value_of(text: &str, key: &str) -> Value {
        let root = parse(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
        root.get(key).expect("key present").value.clone()
    }

    fn err_of(text: &str) -> ParseError {
        match parse(text) {
            Ok(g) => panic!("expected an error for {text:?}, got {g:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn booleans_any_case() {
        assert_eq!(value_of("a = true;", "a"), Value::Bool(true));
        assert_eq!(value_of("a = FALSE", "a"), Value::Bool(false));
        assert_eq!(value_of("a = True", "a"), Value::Bool(true));
        assert_eq!(value_of("a = fAlSe;", "a"), Value::Bool(false));
    }

    #[test]
    fn integers() {
        let cases: &[(&str, i64)] = &[
            ("42", 42),
            ("-7", -7),
            ("+3", 3),
            ("0", 0),
            ("007", 7),
            ("0x1F", 31),
            ("0XfF", 255),
            ("100L", 100),
            ("5LL", 5),
            ("0x10L", 16),
            ("-0x10", -16),
            ("9223372036854775807", i64::MAX),
            ("-9223372036854775808", i64::MIN),
            ("0xFFFFFFFFFFFFFFFF", -1),
            ("-0x8000000000000000", i64::MIN),
        ];
        for (src, want) in cases {
            assert_eq!(value_of(&format!("a = {src};"), "a"), Value::Int(*want), "{src}");
        }
    }

    #[test]
    fn integer_overflow_is_an_error() {
        let err = err_of("a = 9223372036854775808");
        assert!(err.message.contains("out of range"), "{err}");
        let err = err_of("a = 0x1FFFFFFFFFFFFFFFF");
        assert!(err.message.contains("out of range"), "{err}");
        let err = err_of("a = -0x8000000000000001");
        assert!(err.message.contains("out of range"), "{err}");
    }

    #[test]
    fn floats() {
        let cases: &[(&str, f64)] = &[
            ("1.5", 1.5),
            ("-2.25", -2.25),
            ("+0.5", 0.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("1e3", 1000.0),
            ("1.5E-2", 0.015),
            ("-3e+2", -300.0),
            ("2.5e1", 25.0),
        ];
        for (src, want) in cases {
            assert_eq!(value_of(&format!("a = {src}"), "a"), Value::Float(*want), "{src}");
        }
        let err = err_of("a = 1e999");
        assert!(err.message.contains("out of range"), "{err}");
        let err = err_of("a = 1e");
        assert!(err.message.contains("exponent"), "{err}");
    }

    #[test]
    fn malformed_numbers() {
        for src in ["12abc", "0x", "0xZ", "1.2.3", "1.5L", "0x1G"] {
            let err = err_of(&format!("a = {src}"));
            assert!(err.message.contains("malformed"), "{src}: {err}");
            assert_eq!((err.line, err.column), (1, 5), "{src}");
        }
    }

    #[test]
    fn strings_and_escapes() {
        let text = r#"a = "q\"b\\s\nn\tt\rr\ff\x41\x7a";"#;
        assert_eq!(value_of(text, "a"), Value::Str("q\"b\\s\nn\tt\rr\x0cfAz".into()));
        assert_eq!(value_of(r#"a = "\xC3\xA9t\xc3\xa9""#, "a"), Value::Str("été".into()));
        assert_eq!(value_of(r#"a = "unicode ünïcødé""#, "a"), Value::Str("unicode ünïcødé".into()));
        // Unknown escapes keep their backslash, as libconfig does.
        assert_eq!(value_of(r#"a = "\q\x4""#, "a"), Value::Str("\\q\\x4".into()));
        assert_eq!(value_of(r#"a = """#, "a"), Value::Str(String::new()));
        let err = err_of(r#"a = "\xff""#);
        assert!(err.message.contains("UTF-8"), "{err}");
    }

    #[test]
    fn adjacent_strings_are_concatenated() {
        assert_eq!(value_of(r#"a = "a" "b";"#, "a"), Value::Str("ab".into()));
        let text = "a = \"one \" # comment\n  \"two \" /* c */ \"three\"\nb = 1";
        let root = parse(text).unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Str("one two three".into()));
        assert_eq!(root.get("b").unwrap().line, 3);
        let list = value_of(r#"l = ("x" "y", "z")"#, "l");
        assert_eq!(list.as_list().unwrap().len(), 2);
        assert_eq!(list.as_list().unwrap()[0].value, Value::Str("xy".into()));
    }

    #[test]
    fn multi_line_strings_keep_line_count() {
        let root = parse("a = \"x\ny\"\nb = 2").unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Str("x\ny".into()));
        assert_eq!(root.get("b").unwrap().line, 3);
    }

    #[test]
    fn separators_and_terminators() {
        let root = parse("a = 1; b : 2, c = 3 d=4;e:5").unwrap();
        let names: Vec<&str> = root.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["a", "b", "c", "d", "e"]);
        assert_eq!(root.get("e").unwrap().value, Value::Int(5));
        assert_eq!(parse("").unwrap(), Group::default());
        assert_eq!(parse("  # only a comment\n").unwrap(), Group::default());
    }

    #[test]
    fn setting_names() {
        let root = parse("room-1234 = 1; *star_1 = 2; A_b-c*9 = 3; trueish = 4").unwrap();
        assert_eq!(root.get("room-1234").unwrap().value, Value::Int(1));
        assert_eq!(root.get("*star_1").unwrap().value, Value::Int(2));
        assert_eq!(root.get("A_b-c*9").unwrap().value, Value::Int(3));
        assert_eq!(root.get("trueish").unwrap().value, Value::Int(4));
        let err = err_of("a = 1\nTRUE = 4");
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("cannot be a setting name"), "{err}");
        let err = err_of("1abc = 2");
        assert!(err.message.contains("malformed number"), "{err}");
        let err = err_of("_abc = 2");
        assert!(err.message.contains("unexpected character"), "{err}");
    }

    #[test]
    fn nested_groups() {
        let text = "outer: {\n  inner = {\n    x = 1;\n    deep: { y = \"z\" }\n  };\n  after = 2\n}\n";
        let root = parse(text).unwrap();
        let outer = root.group("outer").unwrap();
        let inner = outer.group("inner").unwrap();
        assert_eq!(inner.get("x").unwrap().value, Value::Int(1));
        assert_eq!(inner.get("x").unwrap().line, 3);
        assert_eq!(inner.group("deep").unwrap().get("y").unwrap().line, 4);
        assert_eq!(outer.get("after").unwrap().line, 6);
        assert_eq!(root.get("outer").unwrap().line, 1);
        assert!(root.group("missing").is_none());
        assert!(outer.group("after").is_none());
        assert_eq!(parse("g = {}").unwrap().group("g"), Some(&Group::default()));
    }

    #[test]
    fn lists_and_arrays() {
        let text = "l = (1, \"two\", 3.0, { g = true; }, (4, 5), [6],)\na = [\n  \"x\",\n  \"y\",\n]\ne = ()\nf = []";
        let root = parse(text).unwrap();
        let l = root.get("l").unwrap().value.as_list().unwrap();
        let types: Vec<&str> = l.iter().map(|n| n.value.type_name()).collect();
        assert_eq!(types, ["integer", "string", "float", "group", "list", "list"]);
        assert_eq!(l[3].value.as_group().unwrap().get("g").unwrap().value, Value::Bool(true));
        let a = root.get("a").unwrap().value.as_list().unwrap();
        assert_eq!(a.iter().map(|n| n.line).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(root.get("e").unwrap().value, Value::List(vec![]));
        assert_eq!(root.get("f").unwrap().value, Value::List(vec![]));
    }

    #[test]
    fn array_rules() {
        let err = err_of("a = [1, \"x\"]");
        assert!(err.message.contains("same type"), "{err}");
        assert_eq!((err.line, err.column), (1, 9));
        let err = err_of("a = [1, 2.0]");
        assert!(err.message.contains("same type"), "{err}");
        let err = err_of("a = [\n{ x = 1 }]");
        assert!(err.message.contains("only hold scalars"), "{err}");
        assert_eq!(err.line, 2);
        let err = err_of("a = [(1)]");
        assert!(err.message.contains("only hold scalars"), "{err}");
    }

    #[test]
    fn list_syntax_errors() {
        let err = err_of("a = (1 2)");
        assert!(err.message.contains("expected ',' or ')'"), "{err}");
        assert_eq!(err.column, 8);
        let err = err_of("a = (,)");
        assert!(err.message.contains("missing value"), "{err}");
        let err = err_of("a = (1, 2]");
        assert!(err.message.contains("expected ',' or ')'"), "{err}");
        let err = err_of("a = [1, 2");
        assert!(err.message.contains("unclosed '['"), "{err}");
    }

    #[test]
    fn comments_of_all_kinds() {
        let text = "# hash comment\na = 1 # trailing\n// slashes\nb = 2 // trailing\n/* block\n spanning\n lines */ c = /* inline */ 3\nd = \"not # a // comment /* here */\"\n/**/e=4 /* a * b / c **/";
        let root = parse(text).unwrap();
        assert_eq!(root.get("a").unwrap().value, Value::Int(1));
        assert_eq!(root.get("b").unwrap().value, Value::Int(2));
        assert_eq!(root.get("c").unwrap().value, Value::Int(3));
        assert_eq!(root.get("c").unwrap().line, 7);
        assert_eq!(root.get("d").unwrap().value, Value::Str("not # a // comment /* here */".into()));
        assert_eq!(root.get("e").unwrap().line, 9);
        let err = err_of("a = 1\n/* never\nclosed");
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("unterminated comment"), "{err}");
        let err = err_of("a = 1 / 2");
        assert!(err.message.contains("unexpected character '/'"), "{err}");
    }

    #[test]
    fn error_unterminated_string() {
        let err = err_of("a = 1\nb = \"abc\n\ndef");
        assert_eq!((err.line, err.column), (2, 5));
        assert!(err.message.contains("unterminated string"), "{err}");
        assert_eq!(err.to_string(), "line 2, column 5: unterminated string");
    }

    #[test]
    fn error_missing_value() {
        let err = err_of("a = 1;\ng: {\n  b = ;\n}");
        assert_eq!((err.line, err.column), (3, 7));
        assert!(err.message.contains("missing value for 'b'"), "{err}");
        let err = err_of("a =");
        assert!(err.message.contains("missing value for 'a': found end of input"), "{err}");
        let err = err_of("a = hello");
        assert!(err.message.contains("bare word 'hello'"), "{err}");
        let err = err_of("a 1");
        assert!(err.message.contains("expected '=' or ':' after 'a'"), "{err}");
    }

    #[test]
    fn error_bad_token() {
        let err = err_of("a = 1\n\n  b = $x");
        assert_eq!((err.line, err.column), (3, 7));
        assert!(err.message.contains("unexpected character '$'"), "{err}");
        let err = err_of("a = 1;;");
        assert!(err.message.contains("expected a setting name, found ';'"), "{err}");
        let err = err_of("}");
        assert!(err.message.contains("found '}'"), "{err}");
        let err = err_of("a = -");
        assert!(err.message.contains("unexpected character '-'"), "{err}");
    }

    #[test]
    fn error_unclosed_group() {
        let err = err_of("a = 1\ngeneral: {\n  x = 1\n  y = 2\n");
        assert_eq!((err.line, err.column), (2, 10));
        assert!(err.message.contains("unclosed '{': end of input (line 5)"), "{err}");
        // A missing '}' on an inner group is blamed on the outer group that
        // swallows the rest of the file.
        let err = err_of("general: {\n  x = 1\nmedia: {\n  y = 2\n}\n");
        assert_eq!((err.line, err.column), (1, 10));
        let err = err_of("g = { x = 1 )");
        assert!(err.message.contains("found ')'"), "{err}");
        let err = err_of("l = (1,\n(2,");
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("unclosed '('"), "{err}");
    }

    #[test]
    fn error_duplicate_setting() {
        let err = err_of("a = 1\ng = { x = 1\n x = 2 }\n");
        assert_eq!((err.line, err.column), (3, 2));
        assert!(err.message.contains("duplicate setting 'x' (first defined on line 2)"), "{err}");
        // The same name in different groups is fine.
        assert!(parse("a = { x = 1 } b = { x = 2 } x = 3").is_ok());
    }

    #[test]
    fn include_is_rejected() {
        let err = err_of("a = 1\n@include \"other.jcfg\"\n");
        assert_eq!((err.line, err.column), (2, 1));
        assert!(err.message.contains("@include directives are not supported"), "{err}");
        let err = err_of("@foo");
        assert!(err.message.contains("unexpected directive '@foo'"), "{err}");
    }

    #[test]
    fn nesting_depth_is_capped() {
        let ok = format!("a = {}1{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let too_deep = format!("a = {}1{}", "(".repeat(MAX_DEPTH + 1), ")".repeat(MAX_DEPTH + 1));
        let err = err_of(&too_deep);
        assert!(err.message.contains("nesting deeper than 64"), "{err}");
        let groups = format!("{}{}", "a = { ".repeat(MAX_DEPTH + 1), "} ".repeat(MAX_DEPTH + 1));
        assert!(err_of(&groups).message.contains("nesting deeper"));
        for opener in ["(", "[", "{ a = ", "([", "{ a = ("] {
            let hostile = "a = ".to_string() + &opener.repeat(100_000);
            let err = err_of(&hostile);
            assert!(err.message.contains("nesting deeper"), "{opener}: {err}");
        }
    }

    #[test]
    fn hostile_input_never_panics() {
        let sample = REALISTIC;
        for (i, _) in sample.char_indices() {
            let _ = parse(&sample[..i]);
            let _ = parse(&sample[i..]);
        }
        // A small deterministic pseudo-random generator over interesting bytes.
        let alphabet: Vec<char> = "ab1x0.-+eEL\"\\{}()[];,:=#/*@ \n\té\u{0}".chars().collect();
        let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
        for _ in 0..3000 {
            let len = usize::try_from(state % 40).unwrap_or(0);
            let mut text = String::new();
            for _ in 0..len {
                state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let idx = usize::try_from((state >> 33) % alphabet.len() as u64).unwrap_or(0);
                text.push(alphabet[idx]);
            }
            let _ = parse(&text);
        }
    }

    #[test]
    fn byte_order_mark_is_skipped() {
        assert_eq!(value_of("\u{feff}a = 1", "a"), Value::Int(1));
    }

    #[test]
    fn type_names() {
        let root = parse("b=true i=1 f=1.0 s=\"\" l=() g={}").unwrap();
        let names: Vec<&str> = root.iter().map(|(_, n)| n.value.type_name()).collect();
        assert_eq!(names, ["boolean", "integer", "float", "string", "list", "group"]);
    }

    #[test]
    fn to_json_maps_every_kind() {
        let root = parse("g = { b = true; i = -3; f = 0.5; s = \"x\"; l = (1, [\"a\"], {k = 2}) }").unwrap();
        let json = root.get("g").unwrap().to_json();
        assert_eq!(
            json,
            serde_json::json!({
                "b": true, "i": -3, "f": 0.5, "s": "x",
                "l": [1, ["a"], {"k": 2}]
            })
        );
        assert_eq!(root.to_json()["g"]["i"], serde_json::json!(-3));
    }

    const REALISTIC: &str = r#"# A test file in the shape of a Janus core configuration: three comment
# lines first, then sections with tabs, trailing comments, lists, arrays,
# long integers, floats, hex numbers and concatenated strings.
general: {
	configs_folder = "/etc/janus"			# where the files live
	plugins_folder = "/usr/lib/x86_64-linux-gnu/janus/plugins"
	debug_level = 4							# a number with a trailing comment
	//debug_timestamps = true
	admin_secret = "janusoverlord"	# a string with a trailing comment
	protected_folders = [
		"/bin",
		"/etc",
		"/usr"
	]
	session_timeout = 60
	min_nack_queue = 500L
}

certificates: {
	#cert_pem = "/path/to/certificate.pem"
	dtls_accept_selfsigned = false
}

media: {
	#ipv6 = true
	rtp_port_range = "20000-40000"
	dtls_mtu = 1200
	no_media_timer = 1
	slowlink_threshold = 4
	twcc_period = 200
	dtls_timeout = 500
	jitter = 0.25e1
}

nat: {
	stun_server = "stun.example.net"
	stun_port = 3478
	nice_debug = false
	ice_ignore_list = "vmnet"
	/* A multi-line
	   comment */
}

plugins: {
	disable = "libjanus_voicemail.so,"
	          "libjanus_recordplay.so"
}

room-1234: {
	description = "Demo Room \"quoted\""
	secret = "adminpwd"
	publishers = 6
	bitrate = 0x1E8480
	fir_freq = 10
	audiocodec = "opus"
	record = FALSE
}

streams: (
	{ type = "rtp"; id = 1; description = "Opus/VP8"; audio = true; },
	{ type = "live", id = 2, media = ( { type = "audio"; mid = "a"; port = 5002 } ) },
)
"#;

    #[test]
    fn realistic_janus_file() {
        let root = parse(REALISTIC).unwrap();
        let names: Vec<&str> = root.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["general", "certificates", "media", "nat", "plugins", "room-1234", "streams"]);
        let general = root.group("general").unwrap();
        assert_eq!(general.get("debug_level").unwrap().value, Value::Int(4));
        assert_eq!(general.get("debug_level").unwrap().line, 7);
        assert_eq!(general.get("min_nack_queue").unwrap().value, Value::Int(500));
        let folders = general.get("protected_folders").unwrap();
        assert_eq!(folders.line, 10);
        assert_eq!(folders.value.as_list().unwrap()[2].line, 13);
        assert!(general.get("debug_timestamps").is_none());
        let media = root.group("media").unwrap();
        assert_eq!(media.get("jitter").unwrap().value, Value::Float(2.5));
        let plugins = root.group("plugins").unwrap();
        assert_eq!(
            plugins.get("disable").unwrap().value.as_str(),
            Some("libjanus_voicemail.so,libjanus_recordplay.so")
        );
        let room = root.group("room-1234").unwrap();
        assert_eq!(room.get("description").unwrap().value.as_str(), Some("Demo Room \"quoted\""));
        assert_eq!(room.get("bitrate").unwrap().value.as_int(), Some(2_000_000));
        assert_eq!(room.get("record").unwrap().value.as_bool(), Some(false));
        let streams = root.get("streams").unwrap().value.as_list().unwrap();
        assert_eq!(streams.len(), 2);
        assert_eq!(streams[1].line, 61);
        let json = root.to_json();
        assert_eq!(json["streams"][1]["media"][0]["port"], serde_json::json!(5002));
    }

    #[test]
    fn round_trip_through_display() {
        let root = parse(REALISTIC).unwrap();
        let written = root.to_string();
        let reparsed = parse(&written).unwrap_or_else(|e| panic!("{e}\n{written}"));
        assert_eq!(reparsed.to_json(), root.to_json());
        // Writing is stable once normalised.
        assert_eq!(reparsed.to_string(), written);
        let tricky =
            parse("s = \"a\\\"b\\\\c\\n\\x01\\x7f\" f = 1e300 g = -0.0 i = -9223372036854775808").unwrap();
        let again = parse(&tricky.to_string()).unwrap();
        assert_eq!(again.to_json(), tricky.to_json());
        assert_eq!(again.get("f").unwrap().value, Value::Float(1e300));
    }

    /// Files shipped by Debian's `janus` 1.1.2-1 package that real libconfig
    /// rejects too, with the line of the error: the MQTT transport config
    /// has unquoted `certfile = /etc/ssl/...` paths (libconfig 1.5 reports
    /// "syntax error" at line 30 as well).
    const KNOWN_INVALID: &[(&str, u32)] = &[("janus.transport.mqtt.jcfg", 30)];

    /// Parses every `/etc/janus/*.jcfg` file when the folder exists (it does
    /// once the Debian `janus` package is installed); skipped otherwise.
    /// Files listed in [`KNOWN_INVALID`] may fail, but only at the known line.
    #[test]
    fn system_janus_configs_parse() {
        let Ok(dir) = std::fs::read_dir("/etc/janus") else {
            // CI installs the Debian package so that this test always runs there.
            assert!(
                std::env::var_os("CI").is_none(),
                "/etc/janus is missing: install the Debian janus package"
            );
            return;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("jcfg") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let Err(err) = parse(&text) else {
                continue;
            };
            let file = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let known = KNOWN_INVALID.iter().find(|(name, _)| *name == file);
            match known {
                Some((_, line)) if *line == err.line => {}
                _ => panic!("{}: {err}", path.display()),
            }
        }
    }
}

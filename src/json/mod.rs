//! A strict RFC 8259 reader that keeps what the decoder needs and nothing else.
//!
//! `serde_json` would accept duplicate keys (the last wins) and would not tell
//! a decoder where an object started and ended. SPEC section 4 wants
//! duplicates rejected at any depth, nesting capped at [`MAX_DEPTH`], lone
//! surrogate escapes rejected, and `meta` kept as the producer wrote it.
//!
//! The reader goes over the payload once and keeps only what a [`Keep`]
//! names: the envelope's known fields, each a scalar borrowed from the
//! payload (strings are copied only when they hold escapes), and marks for
//! containers found where a scalar belongs. Everything else is checked just
//! as strictly and dropped on the spot, so what a decode holds is bounded by
//! the schema, not by the payload's shape.

mod keys;
mod reader;
mod scan;
#[cfg(test)]
mod tests;
pub(crate) mod write;

use std::borrow::Cow;
use std::fmt;

pub(crate) use reader::Reader;
use scan::plain_run;

use crate::error::{DecodeError, DecodeReason};

/// Arrays and objects nested deeper than this are rejected (SPEC section 4).
pub const MAX_DEPTH: usize = 128;

/// Python's limit on the digits of an integer read from text (CPython's
/// `sys.get_int_max_str_digits()`, which Pydantic follows).
pub(crate) const MAX_INT_DIGITS: usize = 4300;

/// What the reader keeps of a value: the decoder's schema as far as reading
/// needs it. Each module that reads a wire type declares its own.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Keep {
    /// Nothing: checked and dropped (unknown members, `meta`'s inside).
    Nothing,
    /// A scalar as it is; an object or array as a mark of its kind.
    Scalar,
    /// An object's members named here, each kept as its `Keep` says; other
    /// members are checked, counted and dropped. Not an object: as `Scalar`.
    Fields(&'static [(&'static str, Keep)]),
    /// An array's first `n` items as `item` says, and its length. Not an
    /// array: as `Scalar`.
    Items(usize, &'static Keep),
    /// An object as its text only (`meta`). Not an object: as `Scalar`.
    Text,
    /// Everything, as a tree: the reader the schema-driven one is checked
    /// against.
    #[cfg(test)]
    All,
}

/// The members a [`Keep::Fields`] schema names, in SPEC order, with what is
/// kept of each: the one list of a wire type's fields, for every reader.
pub(crate) type FieldTable = &'static [(&'static str, Keep)];

impl Keep {
    /// The fields of a `Fields` schema; none for any other.
    pub(crate) const fn fields(self) -> FieldTable {
        match self {
            Keep::Fields(fields) => fields,
            _ => &[],
        }
    }
}

/// A value as far as it was kept, borrowing from the payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's lexeme, exactly as written (RFC 8259 grammar checked).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Array<'a>),
    Object(Object<'a>),
}

/// A JSON array: the items that were kept, and how many there were.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Array<'a> {
    pub items: Vec<Json<'a>>,
    pub len: usize,
}

/// A JSON object: the members that were kept, in order, and its raw text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Object<'a> {
    pub members: Vec<(Cow<'a, str>, Json<'a>)>,
    pub raw: &'a str,
    /// Members that were checked and not kept.
    pub dropped: usize,
    /// Whether `raw` holds insignificant whitespace.
    pub spaced: bool,
}

impl<'a> Object<'a> {
    /// The value of `key`; keys are unique, so the first match is the only one.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
    }

    /// The text without insignificant whitespace.
    pub fn compact_text(&self) -> String {
        if self.spaced {
            minify(self.raw)
        } else {
            self.raw.to_owned()
        }
    }
}

impl Json<'_> {
    /// What the value is, for "expected X, found Y" messages.
    pub fn describe(&self) -> String {
        match self {
            Json::Null => "null".to_owned(),
            Json::Bool(b) => b.to_string(),
            Json::Number(lexeme) => truncate(lexeme, 40),
            Json::String(s) => format!("the string {:?}", truncate(s, 40)),
            Json::Array(_) => "an array".to_owned(),
            Json::Object(_) => "an object".to_owned(),
        }
    }
}

/// Shortens `s` to at most `max` characters for error messages.
pub(crate) fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", s.get(..cut).unwrap_or_default()),
        None => s.to_owned(),
    }
}

/// Why a payload is not acceptable JSON, with the byte offset where it broke.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct JsonError {
    pub offset: usize,
    pub message: String,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} at byte {}", self.message, self.offset)
    }
}

impl JsonError {
    /// The message, placed in `text`: by line and column as well when the
    /// text has more than one line (a file, not a stream payload).
    fn located(&self, text: &str) -> String {
        let before = text
            .as_bytes()
            .get(..self.offset)
            .unwrap_or(text.as_bytes());
        let Some(line_start) = before.iter().rposition(|&b| b == b'\n') else {
            return self.to_string();
        };
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let in_line = before.get(line_start + 1..).unwrap_or_default();
        let column = std::str::from_utf8(in_line).map_or(in_line.len(), |s| s.chars().count()) + 1;
        format!(
            "{} at line {line}, column {column} (byte {})",
            self.message, self.offset
        )
    }
}

/// Reads one JSON text (surrounding whitespace allowed, nothing else),
/// keeping what `keep` names.
pub(crate) fn parse(text: &str, keep: Keep) -> Result<Json<'_>, JsonError> {
    let mut reader = Reader::new(text);
    reader.skip_whitespace();
    let value = reader.value(keep)?;
    reader.skip_whitespace();
    if !reader.at_end() {
        return Err(reader.error("unexpected data after the JSON value"));
    }
    Ok(value)
}

/// Rewrites valid JSON text without insignificant whitespace, byte for byte
/// otherwise (escapes, number lexemes and key order kept).
pub(crate) fn minify(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = String::with_capacity(raw.len());
    let mut run = 0; // start of the bytes not yet copied
    let mut pos = 0;
    while let Some(&b) = bytes.get(pos) {
        match b {
            b'"' => pos = string_end(bytes, pos + 1),
            b' ' | b'\t' | b'\n' | b'\r' => {
                out.push_str(raw.get(run..pos).unwrap_or_default());
                pos += 1;
                run = pos;
            }
            _ => pos += 1,
        }
    }
    out.push_str(raw.get(run..).unwrap_or_default());
    out
}

/// The index just past the closing quote of a string whose contents start
/// at `pos` (the text was already checked, so the quote is there).
fn string_end(bytes: &[u8], mut pos: usize) -> usize {
    loop {
        pos += plain_run(bytes.get(pos..).unwrap_or_default());
        match bytes.get(pos) {
            Some(b'\\') => pos += 2,
            Some(b'"') => return pos + 1,
            Some(_) => pos += 1, // a control character; not in checked text
            None => return pos,
        }
    }
}

/// Reads JSON text strictly, keeping what `keep` names, or rejects it as
/// `invalid_json`.
pub(crate) fn parse_json(text: &str, keep: Keep) -> Result<Json<'_>, DecodeError> {
    parse(text, keep).map_err(|error| {
        let located = error.located(text);
        DecodeError::whole(
            DecodeReason::InvalidJson,
            format!("invalid JSON: {located}"),
        )
    })
}

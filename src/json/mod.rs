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
pub(crate) mod write;

use std::borrow::Cow;
#[cfg(test)]
use std::collections::HashSet;
use std::fmt;

use keys::KeyIndex;

/// Arrays and objects nested deeper than this are rejected (SPEC section 4).
pub const MAX_DEPTH: usize = 128;

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

/// A cursor over JSON text with the grammar's pieces; [`parse`] reads a
/// whole value with it, the decoder's fast path (`crate::fast`) reads an
/// envelope field by field.
pub(crate) struct Reader<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    /// How many arrays and objects are open.
    pub depth: usize,
    /// How many runs of whitespace were skipped so far.
    spaces: usize,
    /// Where the keys of the members being dropped start, with a short hash
    /// of each, for every object open on the way down that has few of
    /// them: one stack, so checking a large `meta` allocates nothing per
    /// object.
    dropped_keys: Vec<(u32, u32)>,
}

impl<'a> Reader<'a> {
    pub fn new(text: &'a str) -> Reader<'a> {
        Reader {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
            spaces: 0,
            dropped_keys: Vec::new(),
        }
    }

    /// The byte offset of the cursor.
    pub fn pos(&self) -> usize {
        self.pos
    }

    pub fn at_end(&self) -> bool {
        self.pos == self.bytes.len()
    }

    /// Steps over the string token `"key"` if it is next, written exactly so
    /// (no escapes): the fast path's one comparison for a key in order.
    pub fn eat_key(&mut self, key: &str) -> bool {
        let len = key.len();
        let matches = self.bytes.get(self.pos) == Some(&b'"')
            && self.bytes.get(self.pos + 1..self.pos + 1 + len) == Some(key.as_bytes())
            && self.bytes.get(self.pos + 1 + len) == Some(&b'"');
        if matches {
            self.pos += len + 2;
        }
        matches
    }

    /// Steps over `literal` (`null`, say) if it is next.
    pub fn eat_literal(&mut self, literal: &str) -> bool {
        let matches = self.rest().starts_with(literal.as_bytes());
        if matches {
            self.pos += literal.len();
        }
        matches
    }

    /// Steps over `byte` if it is next.
    pub fn eat(&mut self, byte: u8) -> bool {
        let next = self.peek() == Some(byte);
        if next {
            self.pos += 1;
        }
        next
    }

    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    pub fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    pub fn skip_whitespace(&mut self) {
        let start = self.pos;
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
        if self.pos != start {
            self.spaces += 1;
        }
    }

    fn expect_literal(&mut self, literal: &str, value: Json<'a>) -> Result<Json<'a>, JsonError> {
        if self.rest().starts_with(literal.as_bytes()) {
            self.pos += literal.len();
            Ok(value)
        } else {
            Err(self.error("invalid literal (expected true, false or null)"))
        }
    }

    /// The next value, as far as `keep` says.
    pub fn value(&mut self, keep: Keep) -> Result<Json<'a>, JsonError> {
        if matches!(keep, Keep::Nothing) {
            return self.skip().map(|()| Json::Null);
        }
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.object(keep),
            Some(b'[') => self.array(keep),
            Some(b'"') => self.string().map(Json::String),
            Some(b't') => self.expect_literal("true", Json::Bool(true)),
            Some(b'f') => self.expect_literal("false", Json::Bool(false)),
            Some(b'n') => self.expect_literal("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    /// Checks one value exactly as [`Self::value`] does (the same errors at
    /// the same offsets), building nothing: the loop that `meta` and
    /// unknown members go through.
    fn skip(&mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Err(self.error("unexpected end of input")),
            Some(b'{') => self.skip_object(),
            Some(b'[') => self.skip_array(),
            Some(b'"') => self.skip_string(),
            Some(b't') => self.expect_literal("true", Json::Null).map(drop),
            Some(b'f') => self.expect_literal("false", Json::Null).map(drop),
            Some(b'n') => self.expect_literal("null", Json::Null).map(drop),
            Some(b'-' | b'0'..=b'9') => self.number().map(drop),
            Some(_) => Err(self.error("expected a JSON value")),
        }
    }

    fn skip_array(&mut self) -> Result<(), JsonError> {
        self.enter()?;
        if self.eat(b']') {
            self.depth -= 1;
            return Ok(());
        }
        loop {
            self.skip()?;
            if !self.next_or_close(b']')? {
                self.depth -= 1;
                return Ok(());
            }
        }
    }

    fn skip_object(&mut self) -> Result<(), JsonError> {
        self.enter()?;
        let base = self.dropped_keys.len();
        let mut index = None;
        if !self.eat(b'}') {
            loop {
                let (key_at, key) = self.member_key()?;
                if !self.remember_dropped(&mut index, base, key_at, &key)? {
                    return Err(duplicate(key_at, &key));
                }
                self.skip()?;
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        self.dropped_keys.truncate(base);
        Ok(())
    }

    /// After an item or member: `,` and true (another follows), or the
    /// closing bracket, stepped over, and false.
    fn next_or_close(&mut self, close: u8) -> Result<bool, JsonError> {
        self.skip_whitespace();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_whitespace();
                Ok(true)
            }
            Some(c) if c == close => {
                self.pos += 1;
                Ok(false)
            }
            _ if close == b']' => Err(self.error("expected ',' or ']'")),
            _ => Err(self.error("expected ',' or '}'")),
        }
    }

    /// A member's key and the `:` after it; where the key starts.
    fn member_key(&mut self) -> Result<(usize, Cow<'a, str>), JsonError> {
        if self.peek() != Some(b'"') {
            return Err(self.error("expected a string key"));
        }
        let key_at = self.pos;
        let key = self.string()?;
        self.skip_whitespace();
        if self.peek() != Some(b':') {
            return Err(self.error("expected ':'"));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok((key_at, key))
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn array(&mut self, keep: Keep) -> Result<Json<'a>, JsonError> {
        let (kept, item) = match keep {
            Keep::Items(n, item) => (n, *item),
            #[cfg(test)]
            Keep::All => (usize::MAX, Keep::All),
            _ => (0, Keep::Nothing),
        };
        self.enter()?;
        let mut array = Array::default();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(mark(keep, Json::Array(array)));
        }
        loop {
            if array.len < kept {
                let value = self.value(item)?;
                array.items.push(value);
            } else {
                self.skip()?;
            }
            array.len += 1;
            if !self.next_or_close(b']')? {
                self.depth -= 1;
                return Ok(mark(keep, Json::Array(array)));
            }
        }
    }

    fn object(&mut self, keep: Keep) -> Result<Json<'a>, JsonError> {
        let start = self.pos;
        let spaces = self.spaces;
        self.enter()?;
        let mut members: Vec<(Cow<'a, str>, Json<'a>)> = match keep {
            Keep::Fields(fields) => Vec::with_capacity(fields.len()),
            _ => Vec::new(),
        };
        // Known fields: a bit each, so their duplicates cost nothing.
        let mut known: u64 = 0;
        let base = self.dropped_keys.len();
        let mut dropped = 0;
        let mut index: Option<KeyIndex> = None;
        #[cfg(test)]
        let mut tree_index: Option<HashSet<Cow<'a, str>>> = None;
        if !self.eat(b'}') {
            loop {
                let (key_at, key) = self.member_key()?;
                match field(keep, &key) {
                    Some(Field::Known(bit, name, field_keep)) => {
                        if known & bit != 0 {
                            return Err(duplicate(key_at, &key));
                        }
                        known |= bit;
                        let value = self.value(field_keep)?;
                        members.push((Cow::Borrowed(name), value));
                    }
                    #[cfg(test)]
                    Some(Field::Any) => {
                        let keys = members.iter().map(|(k, _)| k);
                        if is_duplicate(keys, &mut tree_index, &key) {
                            return Err(duplicate(key_at, &key));
                        }
                        let value = self.value(Keep::All)?;
                        members.push((key, value));
                    }
                    None => {
                        if !self.remember_dropped(&mut index, base, key_at, &key)? {
                            return Err(duplicate(key_at, &key));
                        }
                        dropped += 1;
                        self.skip()?;
                    }
                }
                if !self.next_or_close(b'}')? {
                    break;
                }
            }
        }
        self.depth -= 1;
        self.dropped_keys.truncate(base);
        let object = Object {
            members,
            raw: self.text.get(start..self.pos).unwrap_or_default(),
            dropped,
            spaced: self.spaces != spaces,
        };
        Ok(mark(keep, Json::Object(object)))
    }
    /// A number, which must also mean the same to `JSON.parse`, Python's
    /// `json` and Pydantic (SPEC section 6): an integer of more than 4,300
    /// digits (Python refuses it) or any number whose magnitude overflows a
    /// double (`JSON.parse` reads it as infinity) is rejected.
    pub fn number(&mut self) -> Result<Json<'a>, JsonError> {
        let start = self.pos;
        if self.peek() == Some(b'-') {
            self.pos += 1;
        }
        let int_start = self.pos;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => self.digits(),
            _ => return Err(self.error("expected a digit")),
        }
        let int_digits = self.pos - int_start;
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            self.require_digits()?;
        }
        let mut exponent = false;
        if matches!(self.peek(), Some(b'e' | b'E')) {
            integer = false;
            exponent = true;
            self.pos += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            self.require_digits()?;
        }
        let lexeme = self.text.get(start..self.pos).unwrap_or_default();
        if integer && int_digits > crate::lax::MAX_INT_DIGITS {
            return Err(JsonError {
                offset: start,
                message: format!(
                    "an integer of {int_digits} digits, over Python's limit of {}",
                    crate::lax::MAX_INT_DIGITS
                ),
            });
        }
        // Only an exponent or more than 308 integer digits can overflow.
        if (exponent || int_digits > 308)
            && crate::float::parse(lexeme).is_some_and(f64::is_infinite)
        {
            return Err(JsonError {
                offset: start,
                message: format!(
                    "the number {} is too large for a double",
                    truncate(lexeme, 40)
                ),
            });
        }
        Ok(Json::Number(lexeme))
    }

    fn digits(&mut self) {
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.pos += 1;
        }
    }

    fn require_digits(&mut self) -> Result<(), JsonError> {
        if !matches!(self.peek(), Some(b'0'..=b'9')) {
            return Err(self.error("expected a digit"));
        }
        self.digits();
        Ok(())
    }

    /// Reads a string starting at its opening quote; borrowed unless it
    /// holds escapes.
    pub fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let start = self.pos + 1;
        if self.plain_string()? {
            return Ok(Cow::Borrowed(
                self.text.get(start..self.pos - 1).unwrap_or_default(),
            ));
        }
        let mut out = String::from(self.text.get(start..self.pos).unwrap_or_default());
        self.escaped_string(Some(&mut out))?;
        Ok(Cow::Owned(out))
    }

    /// Checks a string as [`Self::string`] does, keeping nothing.
    fn skip_string(&mut self) -> Result<(), JsonError> {
        if self.plain_string()? {
            return Ok(());
        }
        self.escaped_string(None)
    }

    /// Reads from an opening quote up to the first escape (false) or past
    /// the closing quote (true).
    fn plain_string(&mut self) -> Result<bool, JsonError> {
        self.pos += 1;
        self.pos += plain_run(self.rest());
        match self.peek() {
            None => Err(self.error("unterminated string")),
            Some(b'"') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b'\\') => Ok(false),
            Some(_) => Err(self.error("control character in string")),
        }
    }

    /// The rest of a string from its first escape, decoded into `out`.
    fn escaped_string(&mut self, mut out: Option<&mut String>) -> Result<(), JsonError> {
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(());
                }
                Some(b'\\') => {
                    self.pos += 1;
                    let c = self.escape()?;
                    if let Some(out) = out.as_deref_mut() {
                        out.push(c);
                    }
                }
                Some(0x00..=0x1f) => return Err(self.error("control character in string")),
                Some(_) => {
                    let run = self.pos;
                    self.pos += plain_run(self.rest());
                    if let Some(out) = out.as_deref_mut() {
                        out.push_str(self.text.get(run..self.pos).unwrap_or_default());
                    }
                }
            }
        }
    }

    /// The character an escape stands for, from just after its backslash.
    fn escape(&mut self) -> Result<char, JsonError> {
        let c = match self.peek() {
            Some(b'"') => '"',
            Some(b'\\') => '\\',
            Some(b'/') => '/',
            Some(b'b') => '\u{8}',
            Some(b'f') => '\u{c}',
            Some(b'n') => '\n',
            Some(b'r') => '\r',
            Some(b't') => '\t',
            Some(b'u') => {
                self.pos += 1;
                return self.unicode_escape();
            }
            _ => return Err(self.error("invalid escape")),
        };
        self.pos += 1;
        Ok(c)
    }

    /// Reads the hex digits after `\u`, joining a surrogate pair.
    fn unicode_escape(&mut self) -> Result<char, JsonError> {
        let first = self.hex4()?;
        match first {
            0xD800..=0xDBFF => {
                if !self.rest().starts_with(b"\\u") {
                    return Err(self.error("lone leading surrogate in \\u escape"));
                }
                self.pos += 2;
                let second = self.hex4()?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(self.error("lone leading surrogate in \\u escape"));
                }
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                char::from_u32(code).ok_or_else(|| self.error("invalid \\u escape"))
            }
            0xDC00..=0xDFFF => Err(self.error("lone trailing surrogate in \\u escape")),
            _ => char::from_u32(first).ok_or_else(|| self.error("invalid \\u escape")),
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let hex = self
            .bytes
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| self.error("truncated \\u escape"))?;
        let mut value = 0u32;
        for &b in hex {
            let digit = (b as char)
                .to_digit(16)
                .ok_or_else(|| self.error("invalid hex digit in \\u escape"))?;
            value = value * 16 + digit;
        }
        self.pos += 4;
        Ok(value)
    }
}

impl Reader<'_> {
    /// Remembers a dropped member's key, which starts at `at`, among those
    /// of its object (the stack from `base`, or `index` once there are
    /// many); false if the object already had it.
    fn remember_dropped(
        &mut self,
        index: &mut Option<KeyIndex>,
        base: usize,
        key_at: usize,
        key: &str,
    ) -> Result<bool, JsonError> {
        let at = u32::try_from(key_at).map_err(|_| self.error("a JSON text over 4 GiB"))?;
        if let Some(index) = index {
            return Ok(index.insert(self.text, at, key));
        }
        let seen = self.dropped_keys.get(base..).unwrap_or_default();
        let hash = keys::short_hash(key);
        let same = |&(other, other_hash): &(u32, u32)| {
            other_hash == hash && keys::key_at(self.text, other) == key
        };
        if seen.iter().any(same) {
            return Ok(false);
        }
        if seen.len() + 1 < keys::LINEAR_SCAN {
            self.dropped_keys.push((at, hash));
        } else {
            // Many keys: into an index of their own, off the shared stack.
            let positions: Vec<u32> = seen.iter().map(|&(at, _)| at).collect();
            let mut large = KeyIndex::new(self.text, &positions);
            large.insert(self.text, at, key);
            self.dropped_keys.truncate(base);
            *index = Some(large);
        }
        Ok(true)
    }
}

fn duplicate(key_at: usize, key: &str) -> JsonError {
    JsonError {
        offset: key_at,
        message: format!("duplicate key {:?}", truncate(key, 40)),
    }
}

/// How an object reader treats a member.
enum Field {
    /// A field the schema names: its bit, its name and what to keep of it.
    Known(u64, &'static str, Keep),
    /// Any member, kept whole (the tree reader).
    #[cfg(test)]
    Any,
}

/// How `key` is read in an object read as `keep` says; `None`: dropped.
fn field(keep: Keep, key: &str) -> Option<Field> {
    match keep {
        Keep::Fields(fields) => fields
            .iter()
            .zip(0..)
            .find(|((name, _), _)| *name == key)
            .map(|(&(name, keep), i)| Field::Known(1 << i, name, keep)),
        #[cfg(test)]
        Keep::All => Some(Field::Any),
        _ => None,
    }
}

/// What is kept of a container read as `keep` says: nothing, or the value.
fn mark(keep: Keep, value: Json<'_>) -> Json<'_> {
    match keep {
        Keep::Nothing => Json::Null,
        _ => value,
    }
}

/// Whether `key` is already a member (the tree reader's check, which the
/// schema-driven one is tested against); builds a hash index once the object is
/// large enough that linear scans would make decoding quadratic. The key is
/// a `Cow` so that the index can keep borrowing from the payload.
#[cfg(test)]
#[allow(clippy::ptr_arg)]
fn is_duplicate<'a, 'k>(
    keys: impl ExactSizeIterator<Item = &'k Cow<'a, str>> + Clone,
    index: &mut Option<HashSet<Cow<'a, str>>>,
    key: &Cow<'a, str>,
) -> bool
where
    'a: 'k,
{
    if let Some(set) = index {
        return !set.insert(key.clone());
    }
    if keys.clone().any(|k| k == key) {
        return true;
    }
    if keys.len() + 1 >= keys::LINEAR_SCAN {
        let mut set: HashSet<Cow<'a, str>> = keys.cloned().collect();
        set.insert(key.clone());
        *index = Some(set);
    }
    false
}

/// How many bytes at the start of `bytes` need no attention inside a JSON
/// string: everything but `"`, `\\` and control characters. Natively, the
/// first 16 bytes a word at a time (most keys and values end there), then a
/// SIMD search for the quote or backslash and one pass over the run for
/// control characters (which auto-vectorizes, having no early exit).
#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
fn plain_run(bytes: &[u8]) -> usize {
    const HEAD: usize = 16;
    let (head, rest) = bytes.split_at(HEAD.min(bytes.len()));
    let run = plain_run_words(head);
    if run < HEAD || rest.is_empty() {
        return run;
    }
    let end = memchr::memchr2(b'"', b'\\', rest).unwrap_or(rest.len());
    let plain = rest.get(..end).unwrap_or_default();
    if plain.iter().fold(false, |control, &b| control | (b < 0x20)) {
        return HEAD + plain.iter().position(|&b| b < 0x20).unwrap_or(end);
    }
    HEAD + end
}

/// [`plain_run`] a word at a time: eight bytes at once (strings are most of
/// a payload's bytes), then one at a time; all of it in wasm.
fn plain_run_words(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_le_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_le_bytes([0x80; 8]);
    // Per-byte tests on a whole word: a byte below n sets its high bit in
    // (w - n*ONES) & !w & HIGHS (exact for the lowest such byte); equality
    // is "below 1" after an xor.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let special = |w: u64| {
        below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut chunks = bytes.chunks_exact(8);
    let mut run = 0;
    for chunk in &mut chunks {
        let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
        let found = special(word);
        if found != 0 {
            // Borrows only run upwards, so the lowest flagged byte is the
            // first special one (the word was read little-endian).
            return run + (found.trailing_zeros() / 8) as usize;
        }
        run += 8;
    }
    let tail = chunks.remainder();
    run + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

/// [`plain_run`] in wasm: sixteen bytes at a time with SIMD128 (which the
/// npm package is built with: every engine since 2021 runs it), then a word
/// at a time.
#[cfg(all(
    target_arch = "wasm32",
    target_os = "unknown",
    target_feature = "simd128"
))]
fn plain_run(bytes: &[u8]) -> usize {
    use core::arch::wasm32::{
        u8x16_bitmask, u8x16_eq, u8x16_lt, u8x16_splat, v128, v128_load, v128_or,
    };
    let (quote, backslash, space) = (u8x16_splat(b'"'), u8x16_splat(b'\\'), u8x16_splat(0x20));
    let mut chunks = bytes.chunks_exact(16);
    let mut run = 0;
    for chunk in &mut chunks {
        // SAFETY: `chunk` is 16 bytes long, what `v128_load` reads; it needs
        // no alignment.
        let v = unsafe { v128_load(chunk.as_ptr().cast::<v128>()) };
        let special = v128_or(
            v128_or(u8x16_eq(v, quote), u8x16_eq(v, backslash)),
            u8x16_lt(v, space),
        );
        let found = u8x16_bitmask(special);
        if found != 0 {
            return run + found.trailing_zeros() as usize;
        }
        run += 16;
    }
    run + plain_run_words(chunks.remainder())
}

#[cfg(all(
    target_arch = "wasm32",
    target_os = "unknown",
    not(target_feature = "simd128")
))]
use plain_run_words as plain_run;

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn tree(text: &str) -> Result<Json<'_>, JsonError> {
        parse(text, Keep::All)
    }

    fn rejects(text: &str) -> String {
        tree(text).expect_err(text).message
    }

    #[test]
    fn parses_scalars_and_containers() {
        assert_eq!(tree(" null ").unwrap(), Json::Null);
        assert_eq!(tree("-0.5e+3").unwrap(), Json::Number("-0.5e+3"));
        assert_eq!(
            tree(r#""a\u00e9\ud83d\ude00""#).unwrap(),
            Json::String("aé😀".into())
        );
        let Json::Object(obj) = tree(r#"{"a": [1, {"b": true}]}"#).unwrap() else {
            panic!("object expected");
        };
        assert_eq!(obj.raw, r#"{"a": [1, {"b": true}]}"#);
        assert!(matches!(obj.get("a"), Some(Json::Array(a)) if a.items.len() == 2 && a.len == 2));
    }

    #[test]
    fn rejects_what_rfc_8259_rejects() {
        for bad in [
            "",
            "NaN",
            "Infinity",
            "-Infinity",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "1.",
            ".5",
            "+1",
            "'a'",
            "[1] x",
            "{a:1}",
            "\"\t\"",
            "tru",
            "\u{feff}{}",
            "1e",
            "-",
            "1e400",
            "-1e309",
            "[1.8e308]",
            "{\"m\":1E+999}",
        ] {
            tree(bad).expect_err(bad);
        }
    }

    #[test]
    fn numbers_must_mean_the_same_to_every_json_reader() {
        let max_int = "9".repeat(crate::lax::MAX_INT_DIGITS);
        assert!(
            rejects(&max_int).contains("too large for a double"),
            "4,300 digits are within Python's limit, but overflow a double"
        );
        let ones = "1".repeat(308);
        assert!(tree(&ones).is_ok());
        let ten_to_309 = format!("1{}", "0".repeat(309));
        assert!(rejects(&ten_to_309).contains("too large for a double"));
        let too_long = format!("1{}", "0".repeat(crate::lax::MAX_INT_DIGITS));
        assert!(rejects(&too_long).contains("Python's limit"));
        for ok in [
            "1.7976931348623157e308",
            "-1.7976931348623157e308",
            "1e-400",
            "0e999999",
        ] {
            assert!(tree(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth_even_when_escaped() {
        assert!(rejects(r#"{"a":1,"a":2}"#).contains("duplicate"));
        assert!(rejects(r#"{"x":{"a":1,"\u0061":2}}"#).contains("duplicate"));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(tree(&ok).is_ok());
        let dup = format!("{{{},\"k3\":0}}", many.join(","));
        assert!(rejects(&dup).contains("duplicate"));
    }

    #[test]
    fn nesting_limit_is_inclusive_at_128() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(tree(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(rejects(&deep).contains("nesting"));
        // Far deeper than the stack could take if the limit were not enforced.
        assert!(tree(&"[".repeat(1_000_000)).is_err());
    }

    #[test]
    fn every_escape_reads_as_its_character() {
        assert_eq!(
            tree(r#""q\"b\\s\/B\bF\fN\nR\rT\t\u0041""#).unwrap(),
            Json::String("q\"b\\s/B\u{8}F\u{c}N\nR\rT\tA".into())
        );
    }

    #[test]
    fn empty_containers_leave_the_depth_as_it_was() {
        let siblings = format!("[{}{{}}]", "[],{},".repeat(MAX_DEPTH * 2));
        assert!(tree(&siblings).is_ok());
        let nested = format!(
            "{}[]{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(
            tree(&format!("[{nested},{nested}]")).is_err(),
            "one level too deep"
        );
        assert!(tree(&nested).is_ok());
    }

    #[test]
    fn rejects_lone_surrogates() {
        assert!(rejects(r#""\ud800""#).contains("surrogate"));
        assert!(rejects(r#""\udc00""#).contains("surrogate"));
        assert!(rejects(r#""\ud800\u0041""#).contains("surrogate"));
    }

    #[test]
    fn minify_keeps_strings_and_drops_whitespace() {
        assert_eq!(
            minify("{ \"a b\" : [ 1 , \"x \\\" y\" ] }"),
            "{\"a b\":[1,\"x \\\" y\"]}"
        );
    }

    #[test]
    fn plain_run_agrees_with_a_byte_at_a_time_scan() {
        let naive = |b: &[u8]| {
            b.iter()
                .position(|&c| c == b'"' || c == b'\\' || c < 0x20)
                .unwrap_or(b.len())
        };
        let fillers = [b'a', 0x7f, 0x80, 0xc3, 0xff, b'!', b'#', b'[', b']', 0x21];
        let specials = [b'"', b'\\', 0x00, 0x1f, b'\n'];
        for len in 0..40 {
            for &filler in &fillers {
                let mut bytes = vec![filler; len];
                assert_eq!(plain_run(&bytes), naive(&bytes));
                assert_eq!(plain_run_words(&bytes), naive(&bytes));
                for at in 0..len {
                    for &special in &specials {
                        bytes[at] = special;
                        assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
                        assert_eq!(plain_run_words(&bytes), naive(&bytes), "{bytes:?}");
                        bytes[at] = filler;
                    }
                }
            }
        }
    }

    const META_ONLY: Keep = Keep::Fields(&[("meta", Keep::Text), ("b", Keep::Scalar)]);

    #[test]
    fn a_text_member_is_checked_as_strictly_and_kept_as_text() {
        let parse = |text| parse(text, META_ONLY);
        let wide: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let wide_duplicate = format!(r#"{{"meta":{{{wide}"k7":0}}}}"#);
        for bad in [
            r#"{"meta":{"a":1,"a":2}}"#,
            r#"{"meta":{"x":[{"b":1},{"c":{"d":1,"d":2}}]}}"#,
            &wide_duplicate,
            r#"{"meta":{"s":"\ud800"}}"#,
            r#"{"meta":{"s":"\x"}}"#,
            r#"{"meta":{"n":01}}"#,
            r#"{"meta":{},"\u006deta":{}}"#,
            r#"{"other":{},"other":1}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let ok = format!(
            r#"{{"meta": {{{wide}"x": [ {{"a":1}}, {{"a":1}} ]}}, "b": 1, "c": {{"d": "\n"}}}}"#
        );
        let Ok(Json::Object(o)) = parse(&ok) else {
            panic!("{ok}")
        };
        let Some(Json::Object(meta)) = o.get("meta") else {
            panic!("meta")
        };
        assert!(meta.members.is_empty(), "no tree for meta");
        assert!(meta.raw.starts_with("{\"k0\":0,") && meta.raw.ends_with("]}"));
        assert!(meta.spaced);
        assert_eq!(o.get("b"), Some(&Json::Number("1")));
        assert_eq!(
            (o.members.len(), o.dropped),
            (2, 1),
            "c is checked and dropped"
        );
    }

    #[test]
    fn dropped_members_of_any_count_are_checked_for_duplicates() {
        for n in [1, 2, 15, 16, 17, 40, 2000] {
            let keys: Vec<String> = (0..n).map(|i| format!("\"k{i}\":[{i}]")).collect();
            let object = keys.join(",");
            for keep in [
                Keep::Nothing,
                Keep::Text,
                Keep::Fields(&[("k0", Keep::Scalar)]),
            ] {
                assert!(parse(&format!("{{{object}}}"), keep).is_ok(), "{n}");
                for dup in [0, n / 2, n - 1] {
                    // The duplicate written with an escape, and plainly.
                    let escaped = format!("\"\\u006b{dup}\":0");
                    let plain = format!("\"k{dup}\":0");
                    for again in [escaped, plain] {
                        let text = format!("{{{object},{again}}}");
                        let error = parse(&text, keep).expect_err(&text);
                        assert!(error.message.contains("duplicate"), "{n} {dup}");
                        assert_eq!(Err(error), tree(&text).map(|_| ()));
                    }
                }
            }
        }
    }

    #[test]
    fn containers_where_scalars_belong_are_kept_as_marks() {
        let Ok(Json::Object(o)) = parse(r#"{"b": [{}, {"x": [1]}], "meta": 3}"#, META_ONLY) else {
            panic!()
        };
        assert_eq!(
            o.get("b"),
            Some(&Json::Array(Array {
                items: vec![],
                len: 2
            }))
        );
        assert_eq!(o.get("meta"), Some(&Json::Number("3")));
        let Ok(Json::Object(compact)) = parse(r#"{"a":[1,"x y"]}"#, Keep::Text) else {
            panic!()
        };
        assert!(!compact.spaced, "spaces inside strings are not whitespace");
        assert_eq!(compact.compact_text(), r#"{"a":[1,"x y"]}"#);
    }

    #[test]
    fn arrays_keep_their_first_items_and_count_the_rest() {
        let keep = Keep::Items(2, &Keep::Scalar);
        let Ok(Json::Array(a)) = parse(r#"["a", {"b": 1}, "c", [[]]]"#, keep) else {
            panic!()
        };
        assert_eq!(a.len, 4);
        assert_eq!(a.items.len(), 2);
        assert_eq!(a.items[0], Json::String("a".into()));
        assert!(matches!(&a.items[1], Json::Object(o) if o.members.is_empty() && o.dropped == 1));
    }

    #[test]
    fn skipped_strings_are_checked_like_read_ones() {
        for text in [
            r#"{"x":"\ud800"}"#,
            r#"{"x":"\udc00"}"#,
            r#"{"x":"\ud800\u0041"}"#,
            r#"{"x":"\u12"}"#,
            r#"{"x":"\u12g4"}"#,
            r#"{"x":"a\qb"}"#,
            "{\"x\":\"a\\n\u{1}\"}",
            r#"{"x":"a\n"#,
            r#"{"x":"ok\n\u00e9\ud83d\ude00"}"#,
        ] {
            let skipped = parse(text, Keep::Fields(&[])).map(|_| ());
            let read = tree(text).map(|_| ());
            assert_eq!(skipped, read, "{text}");
        }
    }
}

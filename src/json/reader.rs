//! [`Reader`]: the grammar, value by value, keeping what a [`Keep`] names.

use std::borrow::Cow;
#[cfg(test)]
use std::collections::HashSet;

#[cfg(test)]
use super::keys::is_duplicate;
use super::keys::KeyIndex;
use super::{plain_run, truncate, Array, Json, JsonError, Keep, Object, MAX_DEPTH, MAX_INT_DIGITS};

/// A cursor over JSON text with the grammar's pieces; [`parse`] reads a
/// whole value with it, the decoder's typed pass (`crate::typed`) reads an
/// envelope field by field.
pub(crate) struct Reader<'a> {
    pub(super) text: &'a str,
    bytes: &'a [u8],
    pub(super) pos: usize,
    /// How many arrays and objects are open.
    pub depth: usize,
    /// How many runs of whitespace were skipped so far.
    spaces: usize,
    /// Where the keys of the members being dropped start, with a short hash
    /// of each, for every object open on the way down that has few of
    /// them: one stack, so checking a large `meta` allocates nothing per
    /// object.
    pub(super) dropped_keys: Vec<(u32, u32)>,
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

    /// Moves the cursor back to `pos`, an offset this reader gave before a
    /// value that was read whole and then found to be of the wrong type
    /// (the typed pass then drops it instead).
    pub fn rewind(&mut self, pos: usize) {
        self.pos = pos;
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

    pub(super) fn error(&self, message: impl Into<String>) -> JsonError {
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
        if integer && int_digits > MAX_INT_DIGITS {
            return Err(JsonError {
                offset: start,
                message: format!(
                    "an integer of {int_digits} digits, over Python's limit of {}",
                    MAX_INT_DIGITS
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

fn duplicate(key_at: usize, key: &str) -> JsonError {
    JsonError {
        offset: key_at,
        message: format!("duplicate key {:?}", truncate(key, 40)),
    }
}

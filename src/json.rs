//! A strict RFC 8259 reader that keeps what the decoder needs and nothing else.
//!
//! `serde_json` would accept duplicate keys (the last wins) and would not tell
//! a decoder where an object started and ended. SPEC section 4 wants
//! duplicates rejected at any depth, nesting capped at [`MAX_DEPTH`], lone
//! surrogate escapes rejected, and `meta` kept as the producer wrote it, so
//! the reader builds a small borrowed tree: strings without escapes and
//! number lexemes point into the payload, and every object remembers its raw
//! text.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

/// Arrays and objects nested deeper than this are rejected (SPEC section 4).
pub const MAX_DEPTH: usize = 128;

/// Above this many members an object checks duplicates with a hash set;
/// below it a linear scan is cheaper.
const LINEAR_DUPLICATE_SCAN: usize = 16;

/// A parsed JSON value borrowing from the payload.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json<'a> {
    Null,
    Bool(bool),
    /// The number's lexeme, exactly as written (RFC 8259 grammar checked).
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its members in order, and its raw text.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Object<'a> {
    pub members: Vec<(Cow<'a, str>, Json<'a>)>,
    pub raw: &'a str,
}

impl<'a> Object<'a> {
    /// The value of `key`; keys are unique, so the first match is the only one.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.members
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, value)| value)
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

/// Parses one JSON text (surrounding whitespace allowed, nothing else).
pub(crate) fn parse(text: &str) -> Result<Json<'_>, JsonError> {
    parse_keeping_raw(text, None)
}

/// Like [`parse`], but the value of the top-level member `raw_only` is
/// checked just as strictly and kept only as its raw text (an empty
/// `Object` or `Array` with `raw` set): no tree is built for a large `meta`
/// that the decoder keeps as text anyway.
pub(crate) fn parse_keeping_raw<'a>(
    text: &'a str,
    raw_only: Option<&str>,
) -> Result<Json<'a>, JsonError> {
    let mut reader = Reader {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        raw_only,
        unkept_keys: Vec::new(),
    };
    reader.skip_whitespace();
    let value = reader.value(true)?;
    reader.skip_whitespace();
    if reader.pos != reader.bytes.len() {
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

struct Reader<'a, 'k> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
    raw_only: Option<&'k str>,
    unkept_keys: Vec<Cow<'a, str>>,
}

impl<'a> Reader<'a, '_> {
    fn error(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            offset: self.pos,
            message: message.into(),
        }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes.get(self.pos..).unwrap_or_default()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn skip_whitespace(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
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

    /// The next value; with `keep` false, containers are checked but their
    /// contents dropped.
    fn value(&mut self, keep: bool) -> Result<Json<'a>, JsonError> {
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

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.error(format!("nesting deeper than {MAX_DEPTH}")));
        }
        self.pos += 1;
        self.skip_whitespace();
        Ok(())
    }

    fn array(&mut self, keep: bool) -> Result<Json<'a>, JsonError> {
        self.enter()?;
        let mut items = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Json::Array(items));
        }
        loop {
            let item = self.value(keep)?;
            if keep {
                items.push(item);
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                Some(b']') => {
                    self.pos += 1;
                    self.depth -= 1;
                    return Ok(Json::Array(items));
                }
                _ => return Err(self.error("expected ',' or ']'")),
            }
        }
    }

    fn object(&mut self, keep: bool) -> Result<Json<'a>, JsonError> {
        let start = self.pos;
        self.enter()?;
        // Kept objects hold their keys in `members`; unkept ones on a stack
        // shared by all of them, so checking a large `meta` allocates
        // nothing per object.
        let mut members: Vec<(Cow<'a, str>, Json<'a>)> = if keep {
            Vec::with_capacity(16)
        } else {
            Vec::new()
        };
        let base = self.unkept_keys.len();
        let mut index: Option<HashSet<Cow<'a, str>>> = None;
        if self.peek() == Some(b'}') {
            self.pos += 1;
            self.depth -= 1;
            return Ok(self.finish_object(start, members));
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.error("expected a string key"));
            }
            let key_at = self.pos;
            let key = self.string()?;
            let duplicate = if keep {
                is_duplicate(members.iter().map(|(k, _)| k), &mut index, &key)
            } else {
                let seen = self.unkept_keys.get(base..).unwrap_or_default();
                is_duplicate(seen.iter(), &mut index, &key)
            };
            if duplicate {
                return Err(JsonError {
                    offset: key_at,
                    message: format!("duplicate key {:?}", truncate(&key, 40)),
                });
            }
            self.skip_whitespace();
            if self.peek() != Some(b':') {
                return Err(self.error("expected ':'"));
            }
            self.pos += 1;
            self.skip_whitespace();
            let keep_value = keep && !(self.depth == 1 && self.raw_only == Some(key.as_ref()));
            let value = self.value(keep_value)?;
            if keep {
                members.push((key, value));
            } else {
                self.unkept_keys.push(key);
            }
            self.skip_whitespace();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_whitespace();
                }
                Some(b'}') => {
                    self.pos += 1;
                    self.depth -= 1;
                    self.unkept_keys.truncate(base);
                    return Ok(self.finish_object(start, members));
                }
                _ => return Err(self.error("expected ',' or '}'")),
            }
        }
    }

    fn finish_object(&self, start: usize, members: Vec<(Cow<'a, str>, Json<'a>)>) -> Json<'a> {
        Json::Object(Object {
            members,
            raw: self.text.get(start..self.pos).unwrap_or_default(),
        })
    }

    /// A number, which must also mean the same to `JSON.parse`, Python's
    /// `json` and Pydantic (SPEC section 6): an integer of more than 4,300
    /// digits (Python refuses it) or any number whose magnitude overflows a
    /// double (`JSON.parse` reads it as infinity) is rejected.
    fn number(&mut self) -> Result<Json<'a>, JsonError> {
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
        if (exponent || int_digits > 308) && lexeme.parse::<f64>().is_ok_and(f64::is_infinite) {
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

    /// Reads a string starting at its opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        self.pos += 1;
        let start = self.pos;
        // Fast path: no escapes, borrow the payload.
        self.pos += plain_run(self.text.as_bytes().get(self.pos..).unwrap_or_default());
        match self.peek() {
            None => return Err(self.error("unterminated string")),
            Some(b'"') => {
                let s = self.text.get(start..self.pos).unwrap_or_default();
                self.pos += 1;
                return Ok(Cow::Borrowed(s));
            }
            Some(b'\\') => {}
            Some(_) => return Err(self.error("control character in string")),
        }
        let mut out = String::from(self.text.get(start..self.pos).unwrap_or_default());
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.pos += 1;
                    self.escape(&mut out)?;
                }
                Some(0x00..=0x1f) => return Err(self.error("control character in string")),
                Some(_) => {
                    let run = self.pos;
                    self.pos += plain_run(self.text.as_bytes().get(run..).unwrap_or_default());
                    out.push_str(self.text.get(run..self.pos).unwrap_or_default());
                }
            }
        }
    }

    fn escape(&mut self, out: &mut String) -> Result<(), JsonError> {
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
                let c = self.unicode_escape()?;
                out.push(c);
                return Ok(());
            }
            _ => return Err(self.error("invalid escape")),
        };
        self.pos += 1;
        out.push(c);
        Ok(())
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

/// Whether `key` is already a member; builds a hash index once the object is
/// large enough that linear scans would make decoding quadratic. The key is
/// a `Cow` so that the index can keep borrowing from the payload.
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
    if keys.len() + 1 >= LINEAR_DUPLICATE_SCAN {
        let mut set: HashSet<Cow<'a, str>> = keys.cloned().collect();
        set.insert(key.clone());
        *index = Some(set);
    }
    false
}

/// How many bytes at the start of `bytes` need no attention inside a JSON
/// string: everything but `"`, `\\` and control characters. Eight bytes at a
/// time (strings are most of a payload's bytes), then one at a time.
fn plain_run(bytes: &[u8]) -> usize {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGHS: u64 = u64::from_ne_bytes([0x80; 8]);
    // Exact per-byte tests on a whole word: a byte below n sets its high bit
    // in (w - n*ONES) & !w & HIGHS; equality is "below 1" after an xor.
    let below = |w: u64, n: u8| w.wrapping_sub(ONES * u64::from(n)) & !w & HIGHS;
    let special = |w: u64| {
        below(w, 0x20)
            | below(w ^ (ONES * u64::from(b'"')), 1)
            | below(w ^ (ONES * u64::from(b'\\')), 1)
    };
    let mut run = 0;
    for chunk in bytes.chunks_exact(8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        if special(u64::from_ne_bytes(word)) != 0 {
            break;
        }
        run += 8;
    }
    let tail = bytes.get(run..).unwrap_or_default();
    run + tail
        .iter()
        .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
        .unwrap_or(tail.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn rejects(text: &str) -> String {
        parse(text).expect_err(text).message
    }

    #[test]
    fn parses_scalars_and_containers() {
        assert_eq!(parse(" null ").unwrap(), Json::Null);
        assert_eq!(parse("-0.5e+3").unwrap(), Json::Number("-0.5e+3"));
        assert_eq!(
            parse(r#""a\u00e9\ud83d\ude00""#).unwrap(),
            Json::String("aé😀".into())
        );
        let Json::Object(obj) = parse(r#"{"a": [1, {"b": true}]}"#).unwrap() else {
            panic!("object expected");
        };
        assert_eq!(obj.raw, r#"{"a": [1, {"b": true}]}"#);
        assert!(matches!(obj.get("a"), Some(Json::Array(items)) if items.len() == 2));
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
            parse(bad).expect_err(bad);
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
        assert!(parse(&ones).is_ok());
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
            assert!(parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn rejects_duplicate_keys_at_any_depth_even_when_escaped() {
        assert!(rejects(r#"{"a":1,"a":2}"#).contains("duplicate"));
        assert!(rejects(r#"{"x":{"a":1,"\u0061":2}}"#).contains("duplicate"));
        let many: Vec<String> = (0..40).map(|i| format!("\"k{i}\":{i}")).collect();
        let ok = format!("{{{}}}", many.join(","));
        assert!(parse(&ok).is_ok());
        let dup = format!("{{{},\"k3\":0}}", many.join(","));
        assert!(rejects(&dup).contains("duplicate"));
    }

    #[test]
    fn nesting_limit_is_inclusive_at_128() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert!(rejects(&deep).contains("nesting"));
        // Far deeper than the stack could take if the limit were not enforced.
        assert!(parse(&"[".repeat(1_000_000)).is_err());
    }

    #[test]
    fn every_escape_reads_as_its_character() {
        assert_eq!(
            parse(r#""q\"b\\s\/B\bF\fN\nR\rT\t\u0041""#).unwrap(),
            Json::String("q\"b\\s/B\u{8}F\u{c}N\nR\rT\tA".into())
        );
    }

    #[test]
    fn empty_containers_leave_the_depth_as_it_was() {
        let siblings = format!("[{}{{}}]", "[],{},".repeat(MAX_DEPTH * 2));
        assert!(parse(&siblings).is_ok());
        let nested = format!(
            "{}[]{}",
            "[".repeat(MAX_DEPTH - 1),
            "]".repeat(MAX_DEPTH - 1)
        );
        assert!(
            parse(&format!("[{nested},{nested}]")).is_err(),
            "one level too deep"
        );
        assert!(parse(&nested).is_ok());
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
        for len in 0..24 {
            for &filler in &fillers {
                let mut bytes = vec![filler; len];
                assert_eq!(plain_run(&bytes), naive(&bytes));
                for at in 0..len {
                    for &special in &specials {
                        bytes[at] = special;
                        assert_eq!(plain_run(&bytes), naive(&bytes), "{bytes:?}");
                        bytes[at] = filler;
                    }
                }
            }
        }
    }

    #[test]
    fn a_raw_only_member_is_checked_as_strictly_and_kept_as_text() {
        let parse = |text| parse_keeping_raw(text, Some("meta"));
        let wide: String = (0..40).map(|i| format!("\"k{i}\":{i},")).collect();
        let wide_duplicate = format!(r#"{{"meta":{{{wide}"k7":0}}}}"#);
        for bad in [
            r#"{"meta":{"a":1,"a":2}}"#,
            r#"{"meta":{"x":[{"b":1},{"c":{"d":1,"d":2}}]}}"#,
            &wide_duplicate,
            r#"{"meta":{"s":"\ud800"}}"#,
            r#"{"meta":{"n":01}}"#,
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let ok = format!(r#"{{"meta": {{{wide}"x": [ {{"a":1}}, {{"a":1}} ]}}, "b": 1}}"#);
        let Ok(Json::Object(o)) = parse(&ok) else {
            panic!("{ok}")
        };
        let Some(Json::Object(meta)) = o.get("meta") else {
            panic!("meta")
        };
        assert!(meta.members.is_empty(), "no tree for meta");
        assert!(meta.raw.starts_with("{\"k0\":0,") && meta.raw.ends_with("]}"));
        assert_eq!(o.get("b"), Some(&Json::Number("1")));
    }
}

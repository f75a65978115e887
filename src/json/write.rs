//! Compact JSON output, byte for byte as `serde_json` writes it (the
//! canonical encoding of SPEC section 4), for the crate's own types: one
//! encoder natively and in wasm, without `serde_json`'s float formatting in
//! the npm package.

use std::fmt::Write as _;

use super::scan::plain_run;

/// A JSON object being written into `out`.
pub(crate) struct ObjectWriter<'o> {
    out: &'o mut String,
    first: bool,
}

impl<'o> ObjectWriter<'o> {
    /// Opens an object at the end of `out`.
    pub fn new(out: &'o mut String) -> ObjectWriter<'o> {
        out.push('{');
        ObjectWriter { out, first: true }
    }

    /// Writes a key, and gives the text to write its value into.
    pub fn key(&mut self, key: &str) -> &mut String {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        string(self.out, key);
        self.out.push(':');
        self.out
    }

    pub fn string(&mut self, key: &str, value: &str) {
        string(self.key(key), value);
    }

    pub fn number(&mut self, key: &str, value: f64) {
        number(self.key(key), value);
    }

    pub fn optional_number(&mut self, key: &str, value: Option<f64>) {
        match value {
            Some(x) => number(self.key(key), x),
            None => self.key(key).push_str("null"),
        }
    }

    /// A string value that needs no escapes (a date-time, a wire name).
    pub fn plain(&mut self, key: &str, value: impl std::fmt::Display) {
        // Writing to a String cannot fail.
        let _ = write!(self.key(key), "\"{value}\"");
    }

    pub fn integer(&mut self, key: &str, value: u32) {
        // Writing to a String cannot fail.
        let _ = write!(self.key(key), "{value}");
    }

    /// Closes the object.
    pub fn end(self) {
        self.out.push('}');
    }
}

/// A JSON string: `"` and `\` escaped, control characters as `\n`-style
/// escapes or `\u00XX`, everything else as it is. The plain runs between
/// are found as the reader finds them ([`plain_run`]), not a byte at a time.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    let bytes = s.as_bytes();
    let mut at = 0;
    while let Some(rest) = bytes.get(at..).filter(|rest| !rest.is_empty()) {
        // A run ends before an ASCII byte, so on a char boundary.
        let run = plain_run(rest);
        out.push_str(s.get(at..at + run).unwrap_or_default());
        at += run;
        let Some(&b) = bytes.get(at) else { break };
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x08 => out.push_str("\\b"),
            0x0c => out.push_str("\\f"),
            _ => {
                let _ = write!(out, "\\u{b:04x}");
            }
        }
        at += 1;
    }
    out.push('"');
}

/// A number as `serde_json` writes a double (`null` if it is not finite).
pub(crate) fn number(out: &mut String, x: f64) {
    if x.is_finite() {
        crate::float::json_into(out, x);
    } else {
        out.push_str("null");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn strings_are_escaped_as_serde_json_escapes_them() {
        let all: String = (0u32..0x90).filter_map(char::from_u32).collect();
        for s in ["", "plain", "q\"b\\s/", "é😀\u{2028}", &all] {
            let mut ours = String::new();
            string(&mut ours, s);
            assert_eq!(ours, serde_json::to_string(s).unwrap_or_default());
        }
    }

    #[test]
    fn escapes_anywhere_in_a_long_string_are_found() {
        // Past the first 16 bytes the run is found by another path.
        let base = "a long question, é and 😀, about rain in the valley";
        for special in ["\"", "\\", "\n", "\u{1}", "\u{1f}", "\u{7f}"] {
            for at in base.char_indices().map(|(i, _)| i) {
                let s = format!("{}{special}{}{special}", &base[..at], &base[at..]);
                let mut ours = String::new();
                string(&mut ours, &s);
                assert_eq!(ours, serde_json::to_string(&s).unwrap_or_default(), "{s:?}");
            }
        }
    }
}

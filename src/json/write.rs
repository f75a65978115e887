//! Compact JSON output, byte for byte as `serde_json` writes it (the
//! canonical encoding of SPEC section 4), for the crate's own types: one
//! encoder natively and in wasm, without `serde_json`'s float formatting in
//! the npm package.

use std::fmt::Write as _;

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
/// escapes or `\u00XX`, everything else as it is.
pub(crate) fn string(out: &mut String, s: &str) {
    out.push('"');
    let mut run = 0;
    for (i, b) in s.bytes().enumerate() {
        let escape = match b {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            0x08 => "\\b",
            0x0c => "\\f",
            0x00..=0x1f => "",
            _ => continue,
        };
        out.push_str(s.get(run..i).unwrap_or_default());
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        run = i + 1;
    }
    out.push_str(s.get(run..).unwrap_or_default());
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
}

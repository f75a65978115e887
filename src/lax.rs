//! Pydantic v2 lax-mode coercions, for JSON input (SPEC section 6).
//!
//! Each rule here was taken from what Pydantic 2.x does when it is run, not
//! from its documentation; `tests/reference/` holds the model they were
//! checked against, and the parity corpus pins every case, error codes
//! included.

use std::fmt;

use crate::error::ErrorCode;
use crate::json::{Json, MAX_INT_DIGITS};

/// Why a value did not coerce: the code, and what was expected and found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Failure {
    pub code: ErrorCode,
    pub message: String,
}

impl Failure {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Failure {
        Failure {
            code,
            message: message.into(),
        }
    }
}

/// A coerced value, or why not.
pub(crate) type Coerced<T> = Result<T, Failure>;

pub(crate) fn expected(code: ErrorCode, what: &str, found: &Json<'_>) -> Failure {
    Failure::new(code, format!("expected {what}, found {}", found.describe()))
}

/// A JSON string, and only a string (Pydantic does not turn numbers into
/// strings when validating JSON).
pub(crate) fn string<'v>(value: &'v Json<'_>) -> Coerced<&'v str> {
    match value {
        Json::String(s) => Ok(s),
        other => Err(expected(ErrorCode::StringType, "a string", other)),
    }
}

/// A JSON string, owned.
pub(crate) fn owned_string(value: &Json<'_>) -> Coerced<String> {
    string(value).map(str::to_owned)
}

/// One of `choices`, named exactly, as Pydantic's `Literal` takes it.
pub(crate) fn one_of<T: Copy>(value: &Json<'_>, choices: &[(&str, T)]) -> Coerced<T> {
    let name = string(value).ok();
    choices
        .iter()
        .find(|(choice, _)| Some(*choice) == name)
        .map(|(_, chosen)| *chosen)
        .ok_or_else(|| {
            let names: Vec<&str> = choices.iter().map(|(choice, _)| *choice).collect();
            expected(
                ErrorCode::LiteralError,
                &format!("one of {}", names.join(", ")),
                value,
            )
        })
}

/// A finite float: a JSON number, `true`/`false`, or a string that holds one.
pub(crate) fn finite_float(value: &Json<'_>) -> Coerced<f64> {
    let parsed = match value {
        Json::Number(lexeme) => Ok(number_as_float(lexeme)),
        Json::Bool(b) => Ok(if *b { 1.0 } else { 0.0 }),
        Json::String(s) => {
            float_from_str(s).ok_or_else(|| expected(ErrorCode::FloatParsing, "a number", value))
        }
        other => Err(expected(ErrorCode::FloatType, "a number", other)),
    }?;
    if parsed.is_finite() {
        Ok(parsed)
    } else {
        Err(expected(ErrorCode::FiniteNumber, "a finite number", value))
    }
}

/// A JSON number lexeme as a double. An integer lexeme is Python's `int`
/// first, so `-0` is the integer zero and reads as `+0.0`; `-0.0` and `-0e0`
/// are floats and keep their sign (SPEC section 6).
pub(crate) fn number_as_float(lexeme: &str) -> f64 {
    let x = crate::float::parse(lexeme).unwrap_or(f64::NAN);
    if x == 0.0 && is_integer_lexeme(lexeme) {
        0.0
    } else {
        x
    }
}

/// A float or JSON `null`.
pub(crate) fn optional_finite_float(value: &Json<'_>) -> Coerced<Option<f64>> {
    match value {
        Json::Null => Ok(None),
        other => finite_float(other).map(Some),
    }
}

/// pydantic-core's `str_as_float`: the trimmed text in Rust's float grammar
/// (Python's, bar underscores), else the untrimmed text with underscores
/// removed where Python allows them (so `" 1_0 "` is not a number).
fn float_from_str(s: &str) -> Option<f64> {
    if let Some(x) = crate::float::parse(s.trim()) {
        return Some(x);
    }
    if s.starts_with('_') || s.ends_with('_') || s.contains("__") || !s.contains('_') {
        return None;
    }
    crate::float::parse(&s.replace('_', ""))
}

/// An integer as Python holds it: within `i64`, or larger, kept as its
/// decimal digits so that messages show the number that was written and
/// sums stay exact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LaxInt {
    Small(i64),
    /// `-?[1-9][0-9]*`, outside `i64`.
    Big(String),
}

impl LaxInt {
    /// The value, saturated at the ends of `i64`: every range check of the
    /// contract (bounds far inside `i64`) gives the same verdict on it.
    pub fn saturated(&self) -> i64 {
        match self {
            LaxInt::Small(n) => *n,
            LaxInt::Big(digits) if digits.starts_with('-') => i64::MIN,
            LaxInt::Big(_) => i64::MAX,
        }
    }

    /// Reads `-?digits` (leading zeros allowed); `None` past Python's limit.
    fn from_digits(negative: bool, digits: &str) -> Option<LaxInt> {
        let digits = digits.trim_start_matches('0');
        if digits.len() > MAX_INT_DIGITS {
            return None;
        }
        // Up to 18 digits always fit: no text is built for the usual counts.
        if digits.len() <= 18 {
            let magnitude = digits.parse::<i64>().unwrap_or(0);
            return Some(LaxInt::Small(if negative { -magnitude } else { magnitude }));
        }
        let text = format!("{}{digits}", if negative { "-" } else { "" });
        Some(LaxInt::from_text(text))
    }

    /// `-?[1-9][0-9]*` as the smallest form that holds it.
    fn from_text(text: String) -> LaxInt {
        match text.parse::<i64>() {
            Ok(n) => LaxInt::Small(n),
            Err(_) => LaxInt::Big(text),
        }
    }

    /// The exact sum of non-negative integers: in 128 bits when every one
    /// fits in 64, else added as decimal digits.
    pub fn sum(values: &[LaxInt]) -> LaxInt {
        let small: Option<i128> = values.iter().try_fold(0i128, |total, value| match value {
            LaxInt::Small(n) => Some(total + i128::from(*n)),
            LaxInt::Big(_) => None,
        });
        let text = match small {
            Some(total) => match i64::try_from(total) {
                Ok(n) => return LaxInt::Small(n),
                Err(_) => total.to_string(),
            },
            None => values.iter().fold(String::from("0"), |total, value| {
                add_decimal(&total, &value.to_string())
            }),
        };
        LaxInt::from_text(text)
    }
}

impl fmt::Display for LaxInt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LaxInt::Small(n) => write!(f, "{n}"),
            LaxInt::Big(digits) => f.write_str(digits),
        }
    }
}

/// `a + b` for non-negative decimal integers written as digits.
fn add_decimal(a: &str, b: &str) -> String {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let mut out = Vec::with_capacity(a.len().max(b.len()) + 1);
    let mut carry = 0;
    for i in 0..a.len().max(b.len()) {
        let digit = |s: &[u8]| {
            s.len()
                .checked_sub(i + 1)
                .and_then(|at| s.get(at))
                .map_or(0, |d| d.wrapping_sub(b'0'))
        };
        let total = digit(a) + digit(b) + carry;
        out.push(b'0' + total % 10);
        carry = total / 10;
    }
    if carry > 0 {
        out.push(b'0' + carry);
    }
    out.iter().rev().map(|&d| char::from(d)).collect()
}

/// An integer: a JSON integer, a float with no fractional part, `true`/`false`,
/// or a string holding a decimal integer (optionally `.0…`).
pub(crate) fn integer(value: &Json<'_>) -> Coerced<LaxInt> {
    match value {
        Json::Number(lexeme) if is_integer_lexeme(lexeme) => {
            let digits = lexeme.strip_prefix('-');
            // The JSON reader rejects integer literals over Python's limit.
            LaxInt::from_digits(digits.is_some(), digits.unwrap_or(lexeme))
                .ok_or_else(|| expected(ErrorCode::IntParsingSize, "an integer", value))
        }
        Json::Number(lexeme) => float_as_int(number_as_float(lexeme), value),
        Json::Bool(b) => Ok(LaxInt::Small(i64::from(*b))),
        Json::String(s) => int_from_str(s, value),
        other => Err(expected(ErrorCode::IntType, "an integer", other)),
    }
}

/// Whether a JSON number lexeme is an integer (no fraction, no exponent).
pub(crate) fn is_integer_lexeme(lexeme: &str) -> bool {
    !lexeme.contains(['.', 'e', 'E'])
}

/// pydantic-core's `float_as_int`: whole, and within `i64` (open bounds).
fn float_as_int(x: f64, value: &Json<'_>) -> Coerced<LaxInt> {
    if !x.is_finite() {
        Err(expected(ErrorCode::FiniteNumber, "an integer", value))
    } else if x.fract() != 0.0 {
        Err(expected(ErrorCode::IntFromFloat, "an integer", value))
    } else if (i64::MIN as f64) < x && x < (i64::MAX as f64) {
        Ok(LaxInt::Small(x as i64))
    } else {
        Err(expected(
            ErrorCode::IntParsingSize,
            "an integer within 64 bits",
            value,
        ))
    }
}

/// pydantic-core's `str_as_int`. The text as it is, if it starts like a JSON
/// integer with more digits than Python reads, is `int_parsing_size`; then
/// the cleaned text (trimmed, `[+-]? digit (_? digit)* (.0+)?`) is read, and
/// anything else, too many digits included, is `int_parsing`.
fn int_from_str(s: &str, value: &Json<'_>) -> Coerced<LaxInt> {
    if leading_integer_digits(s) > MAX_INT_DIGITS {
        return Err(expected(
            ErrorCode::IntParsingSize,
            &format!("an integer of at most {MAX_INT_DIGITS} digits"),
            value,
        ));
    }
    clean_int_str(s)
        .and_then(|(negative, digits)| LaxInt::from_digits(negative, &digits))
        .ok_or_else(|| expected(ErrorCode::IntParsing, "an integer", value))
}

/// The length of the digit run at the start of `s` after an optional `-`,
/// when it is a JSON integer's (no leading zero); else 0.
fn leading_integer_digits(s: &str) -> usize {
    let unsigned = s.strip_prefix('-').unwrap_or(s);
    if !unsigned.starts_with(|c: char| matches!(c, '1'..='9')) {
        return 0;
    }
    unsigned.bytes().take_while(u8::is_ascii_digit).count()
}

/// The sign and the digits (underscores removed) of an integer string.
fn clean_int_str(s: &str) -> Option<(bool, String)> {
    let s = s.trim();
    let whole = match s.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => s,
    };
    let negative = whole.starts_with('-');
    let digits = whole.strip_prefix(['+', '-']).unwrap_or(whole);
    python_digit_groups(digits).then(|| (negative, digits.replace('_', "")))
}

/// ASCII digits with single underscores only between digits, as Python's `int()`.
fn python_digit_groups(s: &str) -> bool {
    let mut previous_digit = false;
    let mut previous_underscore = false;
    for b in s.bytes() {
        match b {
            b'0'..=b'9' => {
                previous_digit = true;
                previous_underscore = false;
            }
            b'_' if previous_digit => {
                previous_digit = false;
                previous_underscore = true;
            }
            _ => return false,
        }
    }
    previous_digit && !previous_underscore
}

/// For a closed set of wire names (SPEC's enums): `ALL` in SPEC order,
/// `as_str`, and `from_json`, the lax reader (`literal_error` for anything
/// else, as Pydantic says).
macro_rules! wire_names {
    ($name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        impl $name {
            /// Every value, in SPEC order.
            pub const ALL: [$name; [$($wire),+].len()] = [$($name::$variant),+];

            /// The wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }

            pub(crate) fn from_json(value: &$crate::json::Json<'_>) -> $crate::lax::Coerced<$name> {
                $crate::lax::one_of(value, &Self::ALL.map(|v| (v.as_str(), v)))
            }
        }
    };
}
pub(crate) use wire_names;

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn s(text: &str) -> Json<'_> {
        Json::String(text.into())
    }

    fn code<T: fmt::Debug>(result: Coerced<T>) -> ErrorCode {
        result.expect_err("a failure").code
    }

    #[test]
    fn floats_follow_pydantic() {
        let accepted = [
            ("0.62", 0.62),
            (" 0.62 ", 0.62),
            ("0.5_0", 0.5),
            (".5", 0.5),
            ("5.", 5.0),
            ("+.5", 0.5),
            ("-_1", -1.0),
            ("1_e_1", 10.0),
            ("1e1_0", 1e10),
            ("\u{a0}0.5", 0.5),
            ("00.5", 0.5),
        ];
        for (text, want) in accepted {
            assert_eq!(finite_float(&s(text)), Ok(want), "{text:?}");
        }
        for text in [
            "", " ", "_1", "1_", "1__0", "0x10", "1,5", "١", "1.0j", "e5", ".", " 1_0 ", "1_0 ",
        ] {
            assert_eq!(
                code(finite_float(&s(text))),
                ErrorCode::FloatParsing,
                "{text:?}"
            );
        }
        for text in ["inf", "nan", "Infinity", "-inf", "+nan", "1e400"] {
            assert_eq!(
                code(finite_float(&s(text))),
                ErrorCode::FiniteNumber,
                "{text:?}"
            );
        }
        assert_eq!(finite_float(&Json::Bool(true)), Ok(1.0));
        assert_eq!(finite_float(&Json::Number("1e-400")), Ok(0.0));
        assert_eq!(code(finite_float(&Json::Null)), ErrorCode::FloatType);
    }

    #[test]
    fn the_integer_token_minus_zero_is_positive_zero() {
        let bits = |lexeme| finite_float(&Json::Number(lexeme)).unwrap().to_bits();
        assert_eq!(bits("-0"), 0.0f64.to_bits());
        assert_eq!(bits("-0.0"), (-0.0f64).to_bits());
        assert_eq!(bits("-0e0"), (-0.0f64).to_bits());
        assert_eq!(bits("-0E+3"), (-0.0f64).to_bits());
    }

    #[test]
    fn integers_follow_pydantic() {
        let small = |n| Ok(LaxInt::Small(n));
        let accepted = [
            (Json::Number("120"), small(120)),
            (Json::Number("-0"), small(0)),
            (Json::Number("120.0"), small(120)),
            (Json::Number("1e2"), small(100)),
            (Json::Number("-0.0"), small(0)),
            (Json::Bool(true), small(1)),
            (s("120"), small(120)),
            (s(" 120.00 "), small(120)),
            (s("1_000"), small(1000)),
            (s("+5"), small(5)),
            (s("-1_2"), small(-12)),
            (s("007"), small(7)),
            (s("-0_0"), small(0)),
            (s("1_2.0"), small(12)),
        ];
        for (value, want) in accepted {
            assert_eq!(integer(&value), want, "{value:?}");
        }
        let rejected = [
            (Json::Number("120.5"), ErrorCode::IntFromFloat),
            (Json::Number("1e20"), ErrorCode::IntParsingSize),
            (Json::Number("-1e19"), ErrorCode::IntParsingSize),
            (s("120.5"), ErrorCode::IntParsing),
            (s("1e2"), ErrorCode::IntParsing),
            (s("1."), ErrorCode::IntParsing),
            (s(".0"), ErrorCode::IntParsing),
            (s("+_1"), ErrorCode::IntParsing),
            (s("+-1"), ErrorCode::IntParsing),
            (s("-"), ErrorCode::IntParsing),
            (s("1__0"), ErrorCode::IntParsing),
            (s("1_"), ErrorCode::IntParsing),
            (s("1.0_0"), ErrorCode::IntParsing),
            (s("1_.0"), ErrorCode::IntParsing),
            (s("0x10"), ErrorCode::IntParsing),
            (Json::Null, ErrorCode::IntType),
            (Json::Array(Default::default()), ErrorCode::IntType),
        ];
        for (value, want) in rejected {
            assert_eq!(code(integer(&value)), want, "{value:?}");
        }
    }

    #[test]
    fn big_integers_keep_their_digits() {
        let thirty = "123456789012345678901234567890";
        assert_eq!(integer(&s(thirty)), Ok(LaxInt::Big(thirty.to_owned())));
        let negative = format!("-000{thirty}");
        assert_eq!(
            integer(&s(&negative)).unwrap().to_string(),
            format!("-{thirty}")
        );
        assert_eq!(integer(&s(&negative)).unwrap().saturated(), i64::MIN);
        assert_eq!(
            integer(&Json::Number(thirty)).unwrap().saturated(),
            i64::MAX
        );
        assert_eq!(
            LaxInt::sum(&[
                LaxInt::Big("99999999999999999999".into()),
                LaxInt::Small(1),
                LaxInt::Small(0)
            ]),
            LaxInt::Big("100000000000000000000".into())
        );
        let max = LaxInt::Small(i64::MAX);
        assert_eq!(
            LaxInt::sum(&[max.clone(), max, LaxInt::Small(2)]),
            LaxInt::Big("18446744073709551616".into())
        );
        assert_eq!(
            LaxInt::sum(&[LaxInt::Small(6), LaxInt::Small(3), LaxInt::Small(1)]),
            LaxInt::Small(10)
        );
    }

    #[test]
    fn integer_strings_past_pythons_digit_limit() {
        let at_limit = "7".repeat(MAX_INT_DIGITS);
        let over = "7".repeat(MAX_INT_DIGITS + 1);
        assert!(matches!(integer(&s(&at_limit)), Ok(LaxInt::Big(_))));
        let cases = [
            (over.clone(), ErrorCode::IntParsingSize),
            (format!("-{over}"), ErrorCode::IntParsingSize),
            (format!("{over}.0"), ErrorCode::IntParsingSize),
            (format!("{over}x"), ErrorCode::IntParsingSize),
            (format!(" {over}"), ErrorCode::IntParsing),
            (format!("+{over}"), ErrorCode::IntParsing),
            (format!("0{over}"), ErrorCode::IntParsing),
            (format!("{at_limit}x"), ErrorCode::IntParsing),
        ];
        for (text, want) in cases {
            assert_eq!(code(integer(&s(&text))), want, "{}…", &text[..3]);
        }
        let zeros = "0".repeat(MAX_INT_DIGITS + 1);
        assert_eq!(integer(&s(&zeros)), Ok(LaxInt::Small(0)));
        let padded = format!("-0{at_limit}");
        assert!(matches!(integer(&s(&padded)), Ok(LaxInt::Big(_))));
    }

    #[test]
    fn strings_are_not_coerced() {
        assert_eq!(string(&s("a")), Ok("a"));
        assert_eq!(
            string(&Json::Number("1")),
            Err(Failure::new(
                ErrorCode::StringType,
                "expected a string, found 1"
            ))
        );
    }
}

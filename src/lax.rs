//! Pydantic v2 lax-mode coercions, for JSON input (SPEC section 6).
//!
//! Each rule here was taken from what Pydantic 2.x does when it is run, not
//! from its documentation; `tests/reference/` holds the model they were
//! checked against, and the parity corpus pins every case.

use crate::json::Json;

/// A coercion failure: the message says what was expected and what was found.
pub(crate) type Coerced<T> = Result<T, String>;

fn expected(what: &str, found: &Json<'_>) -> String {
    format!("expected {what}, found {}", found.describe())
}

/// A JSON string, and only a string (Pydantic does not turn numbers into
/// strings when validating JSON).
pub(crate) fn string<'v>(value: &'v Json<'_>) -> Coerced<&'v str> {
    match value {
        Json::String(s) => Ok(s),
        other => Err(expected("a string", other)),
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
            expected(&format!("one of {}", names.join(", ")), value)
        })
}

/// A finite float: a JSON number, `true`/`false`, or a string that holds one.
pub(crate) fn finite_float(value: &Json<'_>) -> Coerced<f64> {
    let parsed = match value {
        Json::Number(lexeme) => lexeme.parse::<f64>().ok(),
        Json::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Json::String(s) => float_from_str(s),
        _ => None,
    };
    match parsed {
        Some(x) if x.is_finite() => Ok(x),
        _ => Err(expected("a finite number", value)),
    }
}

/// A float or JSON `null`.
pub(crate) fn optional_finite_float(value: &Json<'_>) -> Coerced<Option<f64>> {
    match value {
        Json::Null => Ok(None),
        other => finite_float(other).map(Some),
    }
}

/// Pydantic's string-to-float: trimmed, then Rust's float grammar (which is
/// also Python's, bar underscores), with underscores allowed anywhere except
/// at the ends or doubled.
fn float_from_str(s: &str) -> Option<f64> {
    let s = s.trim();
    if let Ok(x) = s.parse::<f64>() {
        return Some(x);
    }
    if s.starts_with('_') || s.ends_with('_') || s.contains("__") || !s.contains('_') {
        return None;
    }
    s.replace('_', "").parse::<f64>().ok()
}

/// An integer: a JSON integer, a float with no fractional part, `true`/`false`,
/// or a string holding a decimal integer (optionally `.0…`).
///
/// Integers written out in full are Python's unbounded ints; outside `i64`
/// they saturate, which keeps every range check's verdict (the contract's
/// bounds are far inside `i64`). Floats outside `i64` are rejected, as
/// Pydantic does.
pub(crate) fn integer(value: &Json<'_>) -> Coerced<i64> {
    let parsed = match value {
        Json::Number(lexeme) if is_integer_lexeme(lexeme) => Some(saturating_parse(lexeme)),
        Json::Number(lexeme) => lexeme.parse::<f64>().ok().and_then(integral_float),
        Json::Bool(b) => Some(i64::from(*b)),
        Json::String(s) => int_from_str(s),
        _ => None,
    };
    parsed.ok_or_else(|| expected("an integer", value))
}

fn is_integer_lexeme(lexeme: &str) -> bool {
    !lexeme.contains(['.', 'e', 'E'])
}

/// A float that is a whole number within `i64` range.
fn integral_float(x: f64) -> Option<i64> {
    // The open bounds mirror Pydantic's own check.
    let in_range = (i64::MIN as f64) < x && x < (i64::MAX as f64);
    if x.is_finite() && x.fract() == 0.0 && in_range {
        Some(x as i64)
    } else {
        None
    }
}

/// Pydantic's string-to-int: trimmed, `[+-]? digit (_? digit)* (.0+)?`.
fn int_from_str(s: &str) -> Option<i64> {
    let s = s.trim();
    let whole = match s.split_once('.') {
        Some((whole, zeros)) if !zeros.is_empty() && zeros.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => s,
    };
    let digits = whole.strip_prefix(['+', '-']).unwrap_or(whole);
    if !python_digit_groups(digits) {
        return None;
    }
    Some(saturating_parse(&whole.replace('_', "")))
}

/// Parses `[+-]?digits`, saturating at the ends of `i64`.
fn saturating_parse(digits: &str) -> i64 {
    digits.parse::<i64>().unwrap_or(if digits.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn s(text: &str) -> Json<'_> {
        Json::String(text.into())
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
            "", " ", "_1", "1_", "1__0", "0x10", "inf", "nan", "Infinity", "1e400", "\u{1c}1",
            "1,5", "١", "1.0j", "e5", ".",
        ] {
            assert!(finite_float(&s(text)).is_err(), "{text:?}");
        }
        assert_eq!(finite_float(&Json::Bool(true)), Ok(1.0));
        assert_eq!(finite_float(&Json::Number("1e-400")), Ok(0.0));
        assert!(finite_float(&Json::Number("1e400")).is_err());
        assert!(finite_float(&Json::Null).is_err());
    }

    #[test]
    fn integers_follow_pydantic() {
        let accepted = [
            (Json::Number("120"), 120),
            (Json::Number("120.0"), 120),
            (Json::Number("1e2"), 100),
            (Json::Number("-0.0"), 0),
            (Json::Bool(true), 1),
            (s("120"), 120),
            (s(" 120.00 "), 120),
            (s("1_000"), 1000),
            (s("+5"), 5),
            (s("-1_2"), -12),
            (s("007"), 7),
            (s("1_2.0"), 12),
            (Json::Number("99999999999999999999999"), i64::MAX),
            (Json::Number("-99999999999999999999999"), i64::MIN),
        ];
        for (value, want) in accepted {
            assert_eq!(integer(&value), Ok(want), "{value:?}");
        }
        let rejected = [
            Json::Number("120.5"),
            Json::Number("1e20"),
            s("120.5"),
            s("1e2"),
            s("1."),
            s(".0"),
            s("+_1"),
            s("1__0"),
            s("1_"),
            s("1.0_0"),
            s("1_.0"),
            s("0x10"),
            Json::Null,
        ];
        for value in rejected {
            assert!(integer(&value).is_err(), "{value:?}");
        }
    }

    #[test]
    fn strings_are_not_coerced() {
        assert_eq!(string(&s("a")), Ok("a"));
        assert_eq!(
            string(&Json::Number("1")),
            Err("expected a string, found 1".to_owned())
        );
    }
}

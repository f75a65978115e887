//! Doubles to and from decimal text, exactly as `str::parse::<f64>`,
//! `{:?}` and `serde_json` do, without their code in the npm package's wasm.
//!
//! Those three bring about 40 KB of tables and algorithms (Eisel-Lemire with
//! a big-number fallback, Grisu with a Dragon fallback, zmij) into a module
//! whose budget is 48 KB gzipped. Here, text that a double can be computed
//! from exactly in one rounding (Clinger's fast path: at most 19 significant
//! digits worth at most 2^53, times or over a power of ten up to 10^22,
//! which is almost every number a payload holds) is read directly; anything
//! else, and the shortest digits of a double, come from the platform: the
//! standard library natively, JavaScript (whose `parseFloat` and
//! `Number.prototype.toString` are correctly rounded and shortest) in wasm.
//! The layouts are this module's own, tested against the standard library's
//! and `serde_json`'s on both targets.

/// The double `s` denotes in Rust's float grammar (what `str::parse::<f64>`
/// accepts: an optional sign, then digits with an optional point and
/// exponent, or `inf`, `infinity`, `nan` in any case), correctly rounded.
pub(crate) fn parse(s: &str) -> Option<f64> {
    let (negative, unsigned) = match s.as_bytes().first() {
        Some(b'-') => (true, s.get(1..)?),
        Some(b'+') => (false, s.get(1..)?),
        _ => (false, s),
    };
    let magnitude = if ["inf", "infinity"]
        .iter()
        .any(|w| unsigned.eq_ignore_ascii_case(w))
    {
        f64::INFINITY
    } else if unsigned.eq_ignore_ascii_case("nan") {
        f64::NAN
    } else {
        let decimal = Decimal::read(unsigned)?;
        match decimal.exact() {
            Some(x) => x,
            None => platform::parse(unsigned)?,
        }
    };
    Some(if negative { -magnitude } else { magnitude })
}

/// A decimal number as written: its first 19 significant digits, and what
/// they are to be multiplied by.
struct Decimal {
    mantissa: u64,
    exponent: i64,
    /// Significant digits past the 19 the mantissa holds.
    more_digits: bool,
}

impl Decimal {
    /// Reads `digits [. digits] [e [sign] digits]` (at least one digit
    /// before the exponent), or nothing.
    fn read(s: &str) -> Option<Decimal> {
        let bytes = s.as_bytes();
        let mut decimal = Decimal {
            mantissa: 0,
            exponent: 0,
            more_digits: false,
        };
        let mut pos = 0;
        let mut digits = 0;
        let mut significant = 0;
        let mut push = |d: u8, fraction: bool, decimal: &mut Decimal| {
            if significant == 0 && d == 0 {
                if fraction {
                    decimal.exponent -= 1;
                }
                return;
            }
            if significant < 19 {
                decimal.mantissa = decimal.mantissa * 10 + u64::from(d);
                significant += 1;
                if fraction {
                    decimal.exponent -= 1;
                }
            } else {
                decimal.more_digits |= d != 0;
                if !fraction {
                    decimal.exponent += 1;
                }
            }
        };
        while let Some(&b) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
            push(b - b'0', false, &mut decimal);
            pos += 1;
            digits += 1;
        }
        if bytes.get(pos) == Some(&b'.') {
            pos += 1;
            while let Some(&b) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
                push(b - b'0', true, &mut decimal);
                pos += 1;
                digits += 1;
            }
        }
        if digits == 0 {
            return None;
        }
        if matches!(bytes.get(pos), Some(b'e' | b'E')) {
            pos += 1;
            let negative = match bytes.get(pos) {
                Some(b'-') => {
                    pos += 1;
                    true
                }
                Some(b'+') => {
                    pos += 1;
                    false
                }
                _ => false,
            };
            let start = pos;
            let mut exponent: i64 = 0;
            while let Some(&b) = bytes.get(pos).filter(|b| b.is_ascii_digit()) {
                exponent = (exponent * 10 + i64::from(b - b'0')).min(1 << 40);
                pos += 1;
            }
            if pos == start {
                return None;
            }
            decimal.exponent += if negative { -exponent } else { exponent };
        }
        (pos == bytes.len()).then_some(decimal)
    }

    /// The value, when one rounding gives it exactly (Clinger).
    fn exact(&self) -> Option<f64> {
        const POWERS: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
            1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
        ];
        if self.mantissa == 0 && !self.more_digits {
            return Some(0.0);
        }
        if self.more_digits || self.mantissa > 1 << 53 {
            return None;
        }
        let m = self.mantissa as f64;
        let power = |e: i64| POWERS.get(usize::try_from(e).ok()?).copied();
        if self.exponent >= 0 {
            Some(m * power(self.exponent)?)
        } else {
            Some(m / power(-self.exponent)?)
        }
    }
}

/// `x` as `{:?}` writes it, in positional notation from 1e-4 up to 1e16
/// (with at least one decimal), else as `1.5e-7`; the shortest digits, the
/// even ones when two are as close (where `{:?}` rounds up), so that
/// messages read the same natively and in wasm.
pub(crate) fn debug(x: f64) -> String {
    layout(x, -4..=15, "e")
}

/// `x` as `serde_json` writes it: shortest digits, in positional notation
/// from 1e-5 up to 1e16 (with at least one decimal), else as `1.5e+33`.
#[cfg(test)]
pub(crate) fn json(x: f64) -> String {
    let mut out = String::new();
    json_into(&mut out, x);
    out
}

/// Appends [`json`]`(x)` for a finite `x`.
pub(crate) fn json_into(out: &mut String, x: f64) {
    platform::json_into(out, x);
}

fn layout(x: f64, positional: std::ops::RangeInclusive<i32>, positive_exponent: &str) -> String {
    if x.is_nan() {
        return "NaN".to_owned();
    }
    let sign = if x.is_sign_negative() { "-" } else { "" };
    if x.is_infinite() {
        return format!("{sign}inf");
    }
    if x == 0.0 {
        return format!("{sign}0.0");
    }
    let (digits, exponent) = platform::shortest(x.abs());
    let mut out = String::from(sign);
    let len = digits.len() as i32;
    if positional.contains(&exponent) {
        if exponent < 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-exponent - 1) as usize));
            out.push_str(&digits);
        } else if len > exponent + 1 {
            let (whole, fraction) = digits.split_at(exponent as usize + 1);
            out.push_str(whole);
            out.push('.');
            out.push_str(fraction);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', (exponent + 1 - len) as usize));
            out.push_str(".0");
        }
    } else {
        let (first, rest) = digits.split_at(1);
        out.push_str(first);
        if !rest.is_empty() {
            out.push('.');
            out.push_str(rest);
        }
        if exponent < 0 {
            out.push_str(&format!("e{exponent}"));
        } else {
            out.push_str(&format!("{positive_exponent}{exponent}"));
        }
    }
    out
}

/// Reads a number written `d.ddde±x`, `ddd.ddd` or `ddd` (the forms
/// `serde_json` and JavaScript write) into its significant digits and the
/// exponent of the first one.
fn shortest_from(text: &str) -> (String, i32) {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.trim_start_matches('+').parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all: String = format!("{whole}{fraction}");
    let leading = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_matches('0').to_owned();
    let point = whole.len() as i32 - leading as i32 - 1;
    (digits, exponent + point)
}

#[cfg(not(all(target_arch = "wasm32", target_os = "unknown")))]
mod platform {
    pub(super) fn parse(s: &str) -> Option<f64> {
        s.parse().ok()
    }

    /// `serde_json`'s own formatter, directly: the fastest.
    pub(super) fn json_into(out: &mut String, x: f64) {
        out.push_str(zmij::Buffer::new().format_finite(x));
    }

    /// The shortest digits that read back as `x` (finite, positive), and
    /// the exponent of the first; of two as short and as close, the even
    /// one, as JavaScript and `serde_json` choose (`{:?}` rounds the tie up).
    pub(super) fn shortest(x: f64) -> (String, i32) {
        super::shortest_from(zmij::Buffer::new().format_finite(x))
    }
}

#[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
mod platform {
    pub(super) fn parse(s: &str) -> Option<f64> {
        Some(js_sys::Number::parse_float(s))
    }

    pub(super) fn json_into(out: &mut String, x: f64) {
        out.push_str(&super::layout(x, -5..=15, "e+"));
    }

    pub(super) fn shortest(x: f64) -> (String, i32) {
        let text: String = js_sys::Number::from(x)
            .to_string_with_radix(10)
            .map(String::from)
            .unwrap_or_default();
        super::shortest_from(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// xorshift64*: many doubles and texts, reproducibly.
    fn numbers() -> impl Iterator<Item = u64> {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        std::iter::repeat_with(move || {
            state ^= state >> 12;
            state ^= state << 25;
            state ^= state >> 27;
            state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        })
    }

    #[test]
    fn parses_as_the_standard_library_does() {
        let fixed = [
            "0",
            "-0",
            "0.0",
            "-0.0",
            "1",
            "0.64",
            "0.1",
            "0.3",
            "1e-7",
            "1.5E+3",
            "+2",
            ".5",
            "5.",
            "1e400",
            "1e-400",
            "-1e-400",
            "9007199254740993",
            "9007199254740992",
            "1e22",
            "1e23",
            "123456789012345678901234567890",
            "0.000000000000000000000000001",
            "2.2250738585072014e-308",
            "4.9e-324",
            "1.7976931348623157e308",
            "1.7976931348623159e308",
            "inf",
            "-Infinity",
            "NaN",
            "infinity",
            "",
            ".",
            "e5",
            "1e",
            "1e+",
            "--1",
            "1.2.3",
            "0x10",
            " 1",
            "1 ",
            "1_0",
            "00012.5000",
            "0.0000000000000000000000001e25",
        ];
        for s in fixed {
            let ours = parse(s);
            let std = s.parse::<f64>().ok();
            assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{s:?}");
        }
        for n in numbers().take(20_000) {
            let digits = (n % 10_000_000_000_000_000_000) as u128;
            let exponent = ((n >> 40) % 60) as i64 - 30;
            for s in [
                format!("{digits}e{exponent}"),
                format!("0.{digits}"),
                format!("{}.{}", digits % 1000, digits / 1000),
            ] {
                assert_eq!(
                    parse(&s).map(f64::to_bits),
                    s.parse::<f64>().ok().map(f64::to_bits),
                    "{s}"
                );
            }
        }
    }

    #[test]
    fn formats_as_debug_and_serde_json_do() {
        let fixed = [
            1e33,
            1.5e-7,
            1e16,
            1e15,
            123456789012345.6,
            1e-5,
            1.2e-6,
            0.00012,
            1e-4,
            9.99e-5,
            1e21,
            5e-324,
            f64::MAX,
            -0.0,
            0.0,
            0.1,
            100.0,
            1e100,
            2.5e-100,
            -7.25,
            0.19999999999999996,
        ];
        let random = numbers()
            .take(20_000)
            .map(f64::from_bits)
            .filter(|x| x.is_finite());
        for x in fixed.into_iter().chain(random) {
            let (ours, std) = (debug(x), format!("{x:?}"));
            // Only a tie between two shortest candidates may differ.
            let tie = ours.len() == std.len() && parse(&ours) == Some(x);
            assert!(ours == std || tie, "{ours} {std}");
            assert_eq!(
                json(x),
                serde_json::to_string(&x).unwrap_or_default(),
                "{x:e}"
            );
        }
    }
}

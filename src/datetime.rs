//! UTC instants to the microsecond, read as Pydantic v2 reads a `datetime`
//! from JSON and written as SPEC section 5 says.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::json::Json;

const MICROS_PER_SECOND: i64 = 1_000_000;
const SECONDS_PER_DAY: i64 = 86_400;
/// Numbers above this (in absolute value) are milliseconds, below seconds:
/// Pydantic's watershed.
const MS_WATERSHED: f64 = 2e10;

/// A UTC instant with microsecond precision, between `0001-01-01T00:00:00Z`
/// and `9999-12-31T23:59:59.999999Z`.
///
/// ```
/// use crowd_envelope::Timestamp;
/// let t: Timestamp = "2026-11-26T22:17:10.5+01:00".parse().unwrap();
/// assert_eq!(t.to_string(), "2026-11-26T21:17:10.500000Z");
/// assert_eq!(Timestamp::from_unix_micros(0).unwrap().to_string(), "1970-01-01T00:00:00Z");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp {
    micros: i64,
}

/// Why a date-time was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DateTimeError(String);

impl Timestamp {
    /// `0001-01-01T00:00:00Z`.
    pub const MIN: Timestamp = Timestamp {
        micros: -62_135_596_800_000_000,
    };
    /// `9999-12-31T23:59:59.999999Z`.
    pub const MAX: Timestamp = Timestamp {
        micros: 253_402_300_799_999_999,
    };

    /// The instant `micros` microseconds after the Unix epoch, if in range.
    pub fn from_unix_micros(micros: i64) -> Option<Timestamp> {
        (Self::MIN.micros..=Self::MAX.micros)
            .contains(&micros)
            .then_some(Timestamp { micros })
    }

    /// Microseconds since the Unix epoch.
    pub fn unix_micros(self) -> i64 {
        self.micros
    }

    /// The current time, truncated to the microsecond.
    pub fn now() -> Timestamp {
        let micros = crate::platform::unix_micros_now();
        Timestamp::from_unix_micros(micros).unwrap_or(Timestamp::MAX)
    }

    /// Reads a date-time given as a JSON value: a string (RFC 3339 / ISO 8601
    /// forms, or a number in a string) or a number of Unix seconds or
    /// milliseconds.
    pub(crate) fn from_json(value: &Json<'_>) -> Result<Timestamp, String> {
        let parsed = match value {
            Json::String(s) => s.parse::<Timestamp>().map_err(|e| e.0),
            Json::Number(lexeme) => from_number_lexeme(lexeme),
            other => Err(format!("found {}", other.describe())),
        };
        parsed.map_err(|why| format!("expected a date-time, {why}"))
    }
}

impl FromStr for Timestamp {
    type Err = DateTimeError;

    /// Pydantic's forms: `YYYY-MM-DD`, optionally followed by `T`, `t`, space
    /// or `_` and `HH:MM[:SS[(.|,)fraction]]` and an offset (`Z`, `z`,
    /// `±HH:MM`, `±HHMM`), or a Unix timestamp written as a number. Values
    /// without an offset are UTC; digits past the microsecond are dropped.
    fn from_str(s: &str) -> Result<Timestamp, DateTimeError> {
        let outcome = if looks_like_date(s.as_bytes()) {
            parse_iso(s.as_bytes())
        } else {
            from_number_string(s)
        };
        outcome.map_err(|why| DateTimeError(format!("{why} in {:?}", crate::json::truncate(s, 60))))
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, the fraction only when non-zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.micros.div_euclid(MICROS_PER_SECOND);
        let micros = self.micros.rem_euclid(MICROS_PER_SECOND);
        let days = seconds.div_euclid(SECONDS_PER_DAY);
        let second_of_day = seconds.rem_euclid(SECONDS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            second_of_day / 3600,
            second_of_day / 60 % 60,
            second_of_day % 60
        )?;
        if micros != 0 {
            write!(f, ".{micros:06}")?;
        }
        f.write_str("Z")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `YYYY-MM-DD` at the start: four digits, a dash, and so on.
fn looks_like_date(b: &[u8]) -> bool {
    b.len() >= 10
        && b.iter().take(4).all(u8::is_ascii_digit)
        && b.get(4) == Some(&b'-')
        && b.get(7) == Some(&b'-')
}

/// A cursor over the bytes of an ISO 8601 string.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.peek() == Some(b);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn number(&mut self, width: usize, what: &str) -> Result<i64, String> {
        let digits = self
            .bytes
            .get(self.pos..self.pos + width)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .ok_or_else(|| format!("{what} must be {width} digits"))?;
        self.pos += width;
        Ok(digits
            .iter()
            .fold(0, |acc, d| acc * 10 + i64::from(d - b'0')))
    }

    fn expect(&mut self, b: u8, what: &str) -> Result<(), String> {
        if self.eat(b) {
            Ok(())
        } else {
            Err(format!("expected '{}' {what}", b as char))
        }
    }
}

fn parse_iso(bytes: &[u8]) -> Result<Timestamp, String> {
    let mut c = Cursor { bytes, pos: 0 };
    let year = c.number(4, "the year")?;
    c.expect(b'-', "after the year")?;
    let month = c.number(2, "the month")?;
    c.expect(b'-', "after the month")?;
    let day = c.number(2, "the day")?;
    if year == 0 || !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err("the date does not exist".to_owned());
    }
    let days = days_from_civil(year, month, day);
    if c.peek().is_none() {
        return Timestamp::from_unix_micros(days * SECONDS_PER_DAY * MICROS_PER_SECOND)
            .ok_or_else(|| "out of range".to_owned());
    }
    if !matches!(c.peek(), Some(b'T' | b't' | b' ' | b'_')) {
        return Err("expected 'T' or a space between date and time".to_owned());
    }
    c.pos += 1;
    let local_micros = parse_time(&mut c)? + days * SECONDS_PER_DAY * MICROS_PER_SECOND;
    let offset_seconds = parse_offset(&mut c)?;
    if c.peek().is_some() {
        return Err("unexpected characters after the date-time".to_owned());
    }
    Timestamp::from_unix_micros(local_micros - offset_seconds * MICROS_PER_SECOND)
        .ok_or_else(|| "out of range (years 1 to 9999 in UTC)".to_owned())
}

/// `HH:MM[:SS[(.|,)fraction]]` as microseconds since midnight.
fn parse_time(c: &mut Cursor<'_>) -> Result<i64, String> {
    let hour = c.number(2, "the hour")?;
    c.expect(b':', "after the hour")?;
    let minute = c.number(2, "the minute")?;
    let mut second = 0;
    let mut micros = 0;
    if c.eat(b':') {
        second = c.number(2, "the second")?;
        if c.eat(b'.') || c.eat(b',') {
            micros = parse_fraction(c)?;
        }
    }
    if hour > 23 || minute > 59 || second > 59 {
        return Err("the time does not exist".to_owned());
    }
    Ok(((hour * 60 + minute) * 60 + second) * MICROS_PER_SECOND + micros)
}

/// Fraction digits after the separator: at least one, any number, of which
/// only the first six count (Pydantic truncates, it does not round).
fn parse_fraction(c: &mut Cursor<'_>) -> Result<i64, String> {
    let start = c.pos;
    let mut micros = 0;
    while let Some(d @ b'0'..=b'9') = c.peek() {
        let place = c.pos - start;
        if place < 6 {
            micros = micros * 10 + i64::from(d - b'0');
        }
        c.pos += 1;
    }
    match c.pos - start {
        0 => Err("expected digits after the decimal separator".to_owned()),
        n if n < 6 => Ok(micros * 10_i64.pow((6 - n) as u32)),
        _ => Ok(micros),
    }
}

/// `Z`, `z`, `±HH:MM` or `±HHMM` (the minus may be U+2212), or nothing.
fn parse_offset(c: &mut Cursor<'_>) -> Result<i64, String> {
    if c.eat(b'Z') || c.eat(b'z') {
        return Ok(0);
    }
    let sign = if c.eat(b'+') {
        1
    } else if c.eat(b'-') {
        -1
    } else if c.bytes.get(c.pos..c.pos + 3) == Some("\u{2212}".as_bytes()) {
        c.pos += 3;
        -1
    } else {
        return Ok(0);
    };
    let hours = c.number(2, "the offset hours")?;
    c.eat(b':');
    let minutes = c.number(2, "the offset minutes")?;
    if hours > 23 || minutes > 59 {
        return Err("the offset is out of range".to_owned());
    }
    Ok(sign * (hours * 3600 + minutes * 60))
}

/// A Unix timestamp in a string: an integer, or a float whose exponent (if
/// any) comes after a decimal point, as Pydantic's date-time parser reads it.
fn from_number_string(s: &str) -> Result<Timestamp, String> {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let integer_part = unsigned.split('.').next().unwrap_or_default();
    let has_dot = unsigned.len() > integer_part.len();
    if !integer_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not a date-time".to_owned());
    }
    if has_dot {
        let seconds = s.parse::<f64>().map_err(|_| "not a date-time".to_owned())?;
        from_float_seconds(seconds)
    } else {
        let seconds = s.parse::<i64>().map_err(|_| "not a date-time".to_owned())?;
        from_integer_seconds(seconds)
    }
}

fn from_number_lexeme(lexeme: &str) -> Result<Timestamp, String> {
    if lexeme.contains(['.', 'e', 'E']) {
        let seconds = lexeme
            .parse::<f64>()
            .map_err(|_| "out of range".to_owned())?;
        from_float_seconds(seconds)
    } else {
        let seconds = lexeme
            .parse::<i64>()
            .map_err(|_| "out of range".to_owned())?;
        from_integer_seconds(seconds)
    }
}

fn out_of_range() -> String {
    "the timestamp is out of range".to_owned()
}

/// Whole seconds, or milliseconds past the watershed.
fn from_integer_seconds(value: i64) -> Result<Timestamp, String> {
    let micros = if value.unsigned_abs() as f64 > MS_WATERSHED {
        value.checked_mul(1_000)
    } else {
        value.checked_mul(MICROS_PER_SECOND)
    };
    micros
        .and_then(Timestamp::from_unix_micros)
        .ok_or_else(out_of_range)
}

/// Fractional seconds (or milliseconds past the watershed), rounded to the
/// microsecond half up, as Pydantic does.
fn from_float_seconds(value: f64) -> Result<Timestamp, String> {
    if !value.is_finite() {
        return Err(out_of_range());
    }
    let whole = value.floor();
    let sub_unit_micros = if value.abs() > MS_WATERSHED {
        1_000.0
    } else {
        MICROS_PER_SECOND as f64
    };
    // Bounds keep the float-to-int casts below exact.
    if whole.abs() > 1e15 {
        return Err(out_of_range());
    }
    let fraction = ((value - whole) * sub_unit_micros + 0.5).floor();
    let micros = (whole as i64)
        .checked_mul(sub_unit_micros as i64)
        .and_then(|m| m.checked_add(fraction as i64));
    micros
        .and_then(Timestamp::from_unix_micros)
        .ok_or_else(out_of_range)
}

fn is_leap(year: i64) -> bool {
    year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn utc(s: &str) -> String {
        s.parse::<Timestamp>()
            .unwrap_or_else(|e| panic!("{s:?}: {e}"))
            .to_string()
    }

    fn number(lexeme: &str) -> Result<String, String> {
        Timestamp::from_json(&Json::Number(lexeme)).map(|t| t.to_string())
    }

    #[test]
    fn iso_forms_pydantic_accepts() {
        let cases = [
            ("2026-11-26T21:17:10Z", "2026-11-26T21:17:10Z"),
            ("2026-11-26T21:17:10", "2026-11-26T21:17:10Z"),
            ("2026-11-26 21:17:10", "2026-11-26T21:17:10Z"),
            ("2026-11-26_21:17:10", "2026-11-26T21:17:10Z"),
            ("2026-11-26t21:17:10z", "2026-11-26T21:17:10Z"),
            ("2026-11-26", "2026-11-26T00:00:00Z"),
            ("2026-11-26T21:17", "2026-11-26T21:17:00Z"),
            ("2026-11-26T21:17+01:00", "2026-11-26T20:17:00Z"),
            ("2026-11-26T21:17:10.5Z", "2026-11-26T21:17:10.500000Z"),
            ("2026-11-26T21:17:10,5Z", "2026-11-26T21:17:10.500000Z"),
            (
                "2026-11-26T21:17:10.1234569999Z",
                "2026-11-26T21:17:10.123456Z",
            ),
            ("2026-11-26T21:17:10.000000Z", "2026-11-26T21:17:10Z"),
            ("2026-11-26T21:17:10+0530", "2026-11-26T15:47:10Z"),
            ("2026-11-26T21:17:10-23:59", "2026-11-27T21:16:10Z"),
            ("2026-11-26T21:17:10\u{2212}01:00", "2026-11-26T22:17:10Z"),
            ("2024-02-29T00:00:00", "2024-02-29T00:00:00Z"),
            ("0001-01-01T00:00:00", "0001-01-01T00:00:00Z"),
            ("9999-12-31T23:59:59.999999", "9999-12-31T23:59:59.999999Z"),
            ("1700000000", "2023-11-14T22:13:20Z"),
            ("1700000000.5", "2023-11-14T22:13:20.500000Z"),
            ("+1700000000", "2023-11-14T22:13:20Z"),
            ("-1", "1969-12-31T23:59:59Z"),
            (".5", "1970-01-01T00:00:00.500000Z"),
            ("2026", "1970-01-01T00:33:46Z"),
            ("20000000001", "1970-08-20T11:33:20.001000Z"),
        ];
        for (input, want) in cases {
            assert_eq!(utc(input), *want, "{input:?}");
        }
        // An exponent counts only after a decimal point.
        assert_eq!(utc("1.5e9"), "2017-07-14T02:40:00Z");
        assert_eq!(utc("1.5E+9"), "2017-07-14T02:40:00Z");
    }

    #[test]
    fn iso_forms_pydantic_rejects() {
        for input in [
            "2026-11-26T21:17:10+01",
            "2026-11-26T21:17:10+24:00",
            "2026-11-26T21",
            "2026-11-26T24:00:00",
            "2026-11-26T23:59:60",
            "2026-02-29T00:00:00",
            "0000-01-01T00:00:00",
            "2026-11-26T21:17:10.Z",
            "20261126T211710Z",
            "2026-11-26T21:17:10 Z",
            " 2026-11-26T21:17:10",
            "2026-11-26T21:17:10 ",
            "2026-1-26T21:17:10",
            "2026-11-26Z",
            "2026-11-26T",
            "1e3",
            "-1e1",
            "1_700_000_000",
            "99999999999999999999",
            "inf",
            "now",
            "",
            "0001-01-01T00:00:00+00:01",
        ] {
            assert!(input.parse::<Timestamp>().is_err(), "{input:?}");
        }
    }

    #[test]
    fn numbers_are_seconds_or_milliseconds() {
        assert_eq!(number("1700000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(number("1700000000000").unwrap(), "2023-11-14T22:13:20Z");
        assert_eq!(number("20000000000").unwrap(), "2603-10-11T11:33:20Z");
        assert_eq!(
            number("-20000000001").unwrap(),
            "1969-05-14T12:26:39.999000Z"
        );
        assert_eq!(
            number("1700000000.1234567").unwrap(),
            "2023-11-14T22:13:20.123457Z"
        );
        assert_eq!(
            number("1700000000000.5").unwrap(),
            "2023-11-14T22:13:20.000500Z"
        );
        assert_eq!(number("-0.0000015").unwrap(), "1969-12-31T23:59:59.999999Z");
        assert_eq!(number("-0.0000005").unwrap(), "1970-01-01T00:00:00Z");
        assert_eq!(
            number("253402300799999").unwrap(),
            "9999-12-31T23:59:59.999000Z"
        );
        assert!(number("253402300800000").is_err());
        assert!(number("-62135596800001").is_err());
        assert!(number("1e20").is_err());
        assert!(Timestamp::from_json(&Json::Bool(true)).is_err());
    }

    #[test]
    fn civil_round_trip() {
        for days in (-719_162..2_932_896).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }
}

//! UTC instants to the microsecond, read as Pydantic v2 reads a `datetime`
//! from JSON and written as SPEC section 5 says.

use std::fmt;
use std::str::FromStr;

use serde::{Serialize, Serializer};

use crate::error::ErrorCode;
use crate::json::Json;
use crate::lax::{self, Failure};

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

    /// Whole Unix seconds and the microseconds within that second (0 to
    /// 999,999; before 1970 the seconds round down).
    pub(crate) fn unix_seconds_and_micros(self) -> (i64, i64) {
        (
            self.micros.div_euclid(MICROS_PER_SECOND),
            self.micros.rem_euclid(MICROS_PER_SECOND),
        )
    }

    /// The current time, truncated to the microsecond.
    pub fn now() -> Timestamp {
        let micros = crate::platform::unix_micros_now();
        Timestamp::from_unix_micros(micros).unwrap_or(Timestamp::MAX)
    }

    /// Reads a date-time given as a JSON value: a string (RFC 3339 / ISO 8601
    /// forms, or a number in a string) or a number of Unix seconds or
    /// milliseconds.
    ///
    /// The codes are Pydantic's: a string it cannot read is
    /// `datetime_from_date_parsing` (Pydantic tries a date after a
    /// date-time), a number out of range `datetime_parsing`, anything else
    /// `datetime_type`; a string whose UTC instant leaves years 1 to 9999 is
    /// `datetime_out_of_range` (SPEC section 5).
    pub(crate) fn from_json(value: &Json<'_>) -> lax::Coerced<Timestamp> {
        let (code, why) = match value {
            Json::String(s) => match parse_text(s) {
                Ok(at) => return Ok(at),
                Err(why @ Unreadable::OutOfRange(_)) => {
                    (ErrorCode::DatetimeOutOfRange, why.into_message())
                }
                Err(why @ Unreadable::Unrepresentable(_)) => {
                    (ErrorCode::DatetimeParsing, why.into_message())
                }
                Err(why @ Unreadable::Malformed(_)) => {
                    (ErrorCode::DatetimeFromDateParsing, why.into_message())
                }
            },
            // An integer outside 64 bits is a Python big int, which Pydantic
            // does not take as a date-time at all.
            Json::Number(lexeme) if is_big_integer(lexeme) => {
                return Err(lax::expected(ErrorCode::DatetimeType, "a date-time", value))
            }
            Json::Number(lexeme) => match from_number_lexeme(lexeme) {
                Ok(at) => return Ok(at),
                Err(why) => (ErrorCode::DatetimeParsing, why),
            },
            other => return Err(lax::expected(ErrorCode::DatetimeType, "a date-time", other)),
        };
        Err(Failure::new(
            code,
            format!("expected a date-time, found {} ({why})", value.describe()),
        ))
    }
}

impl FromStr for Timestamp {
    type Err = DateTimeError;

    /// Pydantic's forms: `YYYY-MM-DD`, optionally followed by `T`, `t`, space
    /// or `_` and `HH:MM[:SS[(.|,)fraction]]` and an offset (`Z`, `z`,
    /// `±HH:MM`, `±HHMM`), or a Unix timestamp written as a number. Values
    /// without an offset are UTC; digits past the microsecond are dropped.
    fn from_str(s: &str) -> Result<Timestamp, DateTimeError> {
        parse_text(s).map_err(|why| {
            let why = why.into_message();
            DateTimeError(format!("{why} in {:?}", crate::json::truncate(s, 60)))
        })
    }
}

impl fmt::Display for Timestamp {
    /// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, the fraction only when non-zero.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (seconds, micros) = self.unix_seconds_and_micros();
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

/// Why a date-time string was not read.
enum Unreadable {
    /// Not a form Pydantic reads.
    Malformed(String),
    /// Well formed, but not a `datetime` Python can hold: year 0, or a Unix
    /// timestamp out of range (`datetime_parsing`).
    Unrepresentable(String),
    /// Read, but its UTC instant is outside years 1 to 9999.
    OutOfRange(String),
}

impl Unreadable {
    fn into_message(self) -> String {
        match self {
            Unreadable::Malformed(why)
            | Unreadable::OutOfRange(why)
            | Unreadable::Unrepresentable(why) => why,
        }
    }
}

/// The date-time `s` is written as, if it is written exactly as
/// [`Timestamp`]'s `Display` writes it (`YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, the
/// fraction only when not zero), as canonical payloads are. Read directly:
/// this is the decoder's fast path.
pub(crate) fn canonical(s: &str) -> Option<Timestamp> {
    let b = s.as_bytes();
    let number = |from: usize, to: usize| -> Option<i64> {
        b.get(from..to)?.iter().try_fold(0i64, |n, &d| {
            d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0'))
        })
    };
    let punctuation = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
    if !punctuation.iter().all(|&(at, c)| b.get(at) == Some(&c)) || b.last() != Some(&b'Z') {
        return None;
    }
    let fraction = match b.len() {
        20 => 0,
        27 if b.get(19) == Some(&b'.') => number(20, 26).filter(|&f| f != 0)?,
        _ => return None,
    };
    let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
    let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
    let valid = year >= 1
        && (1..=12).contains(&month)
        && (1..=days_in_month(year, month)).contains(&day)
        && hour < 24
        && minute < 60
        && second < 60;
    if !valid {
        return None;
    }
    let seconds =
        days_from_civil(year, month, day) * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second;
    Timestamp::from_unix_micros(seconds * MICROS_PER_SECOND + fraction)
}

/// A date-time string in any form [`Timestamp::from_json`] reads, or
/// `None` (for the decoder's typed pass: the exact decoder says why).
pub(crate) fn from_text(s: &str) -> Option<Timestamp> {
    parse_text(s).ok()
}

fn parse_text(s: &str) -> Result<Timestamp, Unreadable> {
    if looks_like_date(s.as_bytes()) {
        parse_iso(s.as_bytes())
    } else {
        from_number_string(s)
    }
}

fn is_big_integer(lexeme: &str) -> bool {
    lax::is_integer_lexeme(lexeme) && lexeme.parse::<i64>().is_err()
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

fn parse_iso(bytes: &[u8]) -> Result<Timestamp, Unreadable> {
    let (year, utc_micros) = parse_utc(bytes).map_err(Unreadable::Malformed)?;
    if year == 0 {
        return Err(Unreadable::Unrepresentable(
            "year 0 does not exist".to_owned(),
        ));
    }
    utc_micros
        .and_then(Timestamp::from_unix_micros)
        .ok_or_else(|| Unreadable::OutOfRange("out of range: years 1 to 9999 in UTC".to_owned()))
}

/// The year an ISO string names, and its UTC instant in microseconds
/// (`None` when the arithmetic overflows, which only an instant far out of
/// range does).
fn parse_utc(bytes: &[u8]) -> Result<(i64, Option<i64>), String> {
    let mut c = Cursor { bytes, pos: 0 };
    let year = c.number(4, "the year")?;
    c.expect(b'-', "after the year")?;
    let month = c.number(2, "the month")?;
    c.expect(b'-', "after the month")?;
    let day = c.number(2, "the day")?;
    if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
        return Err("the date does not exist".to_owned());
    }
    let days = days_from_civil(year, month, day);
    if c.peek().is_none() {
        return Ok((year, Some(days * SECONDS_PER_DAY * MICROS_PER_SECOND)));
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
    Ok((
        year,
        local_micros.checked_sub(offset_seconds * MICROS_PER_SECOND),
    ))
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
/// A number in a string. One whose instant falls in year 0 is
/// `Unrepresentable` (Pydantic's parser takes year 0, Python does not);
/// anything else that is not a number in range is `Malformed`.
fn from_number_string(s: &str) -> Result<Timestamp, Unreadable> {
    let malformed =
        || Unreadable::Malformed("not an ISO 8601 date-time or a Unix timestamp".to_owned());
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let integer_part = unsigned.split('.').next().unwrap_or_default();
    let has_dot = unsigned.len() > integer_part.len();
    if !integer_part.bytes().all(|b| b.is_ascii_digit()) {
        return Err(malformed());
    }
    let micros = if has_dot {
        float_micros(crate::float::parse(s).ok_or_else(malformed)?)
    } else {
        integer_micros(s.parse::<i64>().map_err(|_| malformed())?)
    };
    match micros {
        Some(m) if (YEAR_ZERO_MICROS..Timestamp::MIN.micros).contains(&m) => {
            Err(Unreadable::Unrepresentable(out_of_range()))
        }
        _ => in_range(micros).map_err(Unreadable::Malformed),
    }
}

/// `0000-01-01T00:00:00Z`, in microseconds since the Unix epoch.
const YEAR_ZERO_MICROS: i64 = -62_167_219_200_000_000;

fn from_number_lexeme(lexeme: &str) -> Result<Timestamp, String> {
    let micros = if lexeme.contains(['.', 'e', 'E']) {
        float_micros(crate::float::parse(lexeme).ok_or_else(out_of_range)?)
    } else {
        integer_micros(lexeme.parse::<i64>().map_err(|_| out_of_range())?)
    };
    in_range(micros)
}

fn out_of_range() -> String {
    "the timestamp is out of range".to_owned()
}

fn in_range(micros: Option<i64>) -> Result<Timestamp, String> {
    micros
        .and_then(Timestamp::from_unix_micros)
        .ok_or_else(out_of_range)
}

/// Whole seconds, or milliseconds past the watershed, as microseconds.
fn integer_micros(value: i64) -> Option<i64> {
    if value.unsigned_abs() as f64 > MS_WATERSHED {
        value.checked_mul(1_000)
    } else {
        value.checked_mul(MICROS_PER_SECOND)
    }
}

/// Fractional seconds (or milliseconds past the watershed) as microseconds,
/// rounded half up, as Pydantic does.
fn float_micros(value: f64) -> Option<i64> {
    let whole = value.floor();
    // Bounds keep the float-to-int casts below exact (and exclude NaN).
    if whole.is_nan() || whole.abs() > 1e15 {
        return None;
    }
    let sub_unit_micros = if value.abs() > MS_WATERSHED {
        1_000.0
    } else {
        MICROS_PER_SECOND as f64
    };
    let fraction = ((value - whole) * sub_unit_micros + 0.5).floor();
    (whole as i64)
        .checked_mul(sub_unit_micros as i64)
        .and_then(|m| m.checked_add(fraction as i64))
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

mod convert;
#[cfg(test)]
mod tests;

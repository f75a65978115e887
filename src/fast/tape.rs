//! The [`Tape`]: where each value of a canonical envelope sits, for the npm
//! package to build the decoded object from.

use super::{next_member, open};
use crate::json::{Json, Reader};

/// Where each value of a canonically written envelope sits in the payload,
/// and what each number and choice is: what the npm package builds the
/// decoded object from without parsing the payload again (`src/wasm/mod.rs`,
/// `pkg-template/src/api.ts`). Slots are listed in [`slot`].
///
/// A string takes two slots, the byte offsets of its contents; the end is
/// negated when the string holds escapes (read it as the JSON string token
/// one byte wider on each side). A `null` string has start -1, a `null`
/// number is NaN (no JSON number is). A date-time written otherwise than
/// the encoding writes it is its instant: start `-2 - micros` (the
/// microseconds within its second), end its Unix seconds. A value left out
/// is its default as if written: an empty span (0, 0) for `rationale`, and
/// for `meta` with its member count 0. A choice is its index in the type's
/// `ALL`.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Tape(pub [f64; slot::LEN]);

/// The layout of a [`Tape`].
pub(crate) mod slot {
    /// 1 when `JSON.parse` of the payload gives the decoded envelope: every
    /// member there, in SPEC order, date-times as the encoding writes them;
    /// else 0.
    pub const AS_PARSED: usize = 0;
    pub const SOURCE_TYPE: usize = 1;
    pub const SOURCE_ID: usize = 2;
    pub const QUESTION: usize = 4;
    pub const PROBABILITY: usize = 6;
    pub const CONFIDENCE: usize = 7;
    pub const MARKET_PROBABILITY: usize = 8;
    /// agents, bullish, bearish, neutral.
    pub const CROWD: usize = 9;
    pub const RATIONALE: usize = 13;
    pub const RESOLVES_AT: usize = 15;
    pub const GENERATED_AT: usize = 17;
    pub const DECISION_KIND: usize = 19;
    /// The action or the side.
    pub const CHOICE: usize = 20;
    /// strength, edge, price, stake_fraction or multiplier, as `numbers`.
    pub const NUMBERS: usize = 21;
    pub const REASON: usize = 25;
    pub const PUBLISHED_AT: usize = 27;
    pub const CORRELATION_ID: usize = 29;
    /// The whole object, braces included.
    pub const META: usize = 31;
    pub const DRIVER_COUNT: usize = 33;
    /// Two slots a driver.
    pub const DRIVERS: usize = 34;
    /// 1 when `JSON.stringify(JSON.parse(meta))` gives back the compact
    /// meta, so nothing needs to remember the payload to re-encode it.
    pub const META_STABLE: usize = DRIVERS + 2 * crate::prediction::MAX_DRIVERS;
    /// How many members a flat meta has (see [`super::flat_meta`]), or -1.
    pub const META_COUNT: usize = META_STABLE + 1;
    /// Five slots a member: key start and end, kind (0 string, 1 number,
    /// 2 true, 3 false, 4 null), then the string's start and end or the number.
    pub const META_MEMBERS: usize = META_COUNT + 1;
    /// The most members a flat meta has on the tape.
    pub const META_MAX: usize = 8;
    pub const LEN: usize = META_MEMBERS + 5 * META_MAX;
}

impl Tape {
    /// A tape to be written.
    pub(crate) const fn new() -> Tape {
        Tape([0.0; slot::LEN])
    }

    pub(super) fn set(&mut self, at: usize, value: f64) -> Option<()> {
        *self.0.get_mut(at)? = value;
        Some(())
    }

    /// A date-time's instant at `at` (see [`Tape`]).
    pub(super) fn instant(&mut self, at: usize, when: crate::Timestamp) -> Option<()> {
        let (seconds, micros) = when.unix_seconds_and_micros();
        self.set(at, -2.0 - micros as f64)?;
        self.set(at + 1, seconds as f64)
    }

    pub(super) fn span(
        &mut self,
        at: usize,
        (start, end): (usize, usize),
        escaped: bool,
    ) -> Option<()> {
        self.set(at, start as f64)?;
        self.set(at + 1, if escaped { -(end as f64) } else { end as f64 })
    }
}

/// A null number on the tape.
pub(super) const NULL_NUMBER: f64 = f64::NAN;
/// A null string's start on the tape.
pub(super) const NULL_STRING: f64 = -1.0;

/// Whether `JSON.stringify(JSON.parse(raw))` is `raw` without its
/// whitespace, for a small, checked object: no escapes (JavaScript may write
/// them otherwise), every number an integer JavaScript holds exactly and
/// writes the same way, no string of digits alone (a key such as `"2"`
/// moves to the front of a JavaScript object). Conservative: `false` says
/// only "not known".
pub(super) fn survives_js(raw: &str) -> bool {
    const SMALL: usize = 4096;
    if raw.len() > SMALL || raw.contains('\\') {
        return false;
    }
    let mut rest = raw.as_bytes();
    while let Some((&b, after)) = rest.split_first() {
        rest = match b {
            b'"' => {
                let end = after.iter().position(|&c| c == b'"').unwrap_or(after.len());
                let (text, tail) = after.split_at(end);
                if !text.is_empty() && text.iter().all(u8::is_ascii_digit) {
                    return false;
                }
                tail.get(1..).unwrap_or_default()
            }
            b'-' | b'0'..=b'9' => {
                let end = rest
                    .iter()
                    .position(|c| !matches!(c, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
                    .unwrap_or(rest.len());
                let (number, tail) = rest.split_at(end);
                let digits = number.strip_prefix(b"-").unwrap_or(number);
                let plain = digits.iter().all(u8::is_ascii_digit) && digits.len() <= 15;
                if !plain || number == b"-0" {
                    return false;
                }
                tail
            }
            _ => after,
        };
    }
    true
}

/// A meta that [`survives_js`] and is flat (at most [`slot::META_MAX`]
/// members, each a string, a number, `true`, `false` or `null`, none named
/// `__proto__`, which JavaScript would not set as an own property): its
/// members go on the tape, so the package builds the object without
/// `JSON.parse`. `raw` starts at byte `at` of the payload. Gives how many.
pub(super) fn flat_meta(raw: &str, at: usize, tape: &mut Tape) -> Option<usize> {
    let mut r = Reader::new(raw);
    let mut count = 0;
    open(&mut r, b'{')?;
    if r.eat(b'}') {
        return Some(0);
    }
    loop {
        if count == slot::META_MAX {
            return None;
        }
        let base = slot::META_MEMBERS + 5 * count;
        let key_start = r.pos() + 1;
        let key = r.string().ok()?;
        if key == "__proto__" {
            return None;
        }
        tape.span(base, (at + key_start, at + r.pos() - 1), false)?;
        r.skip_whitespace();
        r.eat(b':').then_some(())?;
        r.skip_whitespace();
        let (kind, a, b) = match r.peek()? {
            b'"' => {
                let start = r.pos() + 1;
                r.string().ok()?;
                (0.0, (at + start) as f64, (at + r.pos() - 1) as f64)
            }
            b't' if r.eat_literal("true") => (2.0, 0.0, 0.0),
            b'f' if r.eat_literal("false") => (3.0, 0.0, 0.0),
            b'n' if r.eat_literal("null") => (4.0, 0.0, 0.0),
            // survives_js let through only integers JavaScript holds exactly.
            _ => match r.number().ok()? {
                Json::Number(lexeme) => (1.0, lexeme.parse::<i64>().ok()? as f64, 0.0),
                _ => return None,
            },
        };
        tape.set(base + 2, kind)?;
        tape.set(base + 3, a)?;
        tape.set(base + 4, b)?;
        count += 1;
        r.skip_whitespace();
        if !next_member(&mut r, b'}')? {
            return Some(count);
        }
    }
}

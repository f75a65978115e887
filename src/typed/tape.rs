//! The [`Tape`]: where each value of a decoded envelope sits in its
//! payload, for the npm package to build the decoded object from.

use super::object::{next_member, open};
use crate::json::{Json, Reader};

/// Where each value of a decoded envelope sits in the payload, and what
/// each number and choice is: what the npm package builds the decoded
/// object from without parsing the payload again (`src/wasm/mod.rs`,
/// `pkg-template/src/tape.ts`). Slots are listed in [`slot`].
///
/// A string takes two slots, the byte offsets of its contents (UTF-16
/// offsets once [`Tape::offsets_in_utf16`] has run); the end is negated when the
/// string holds escapes (read it as the JSON string token one unit wider
/// on each side). A `null` string has start -1, a `null` number is NaN (no
/// JSON number is). A date-time written otherwise than the encoding writes
/// it, or left out, is its instant: start `-2 - micros` (the microseconds
/// within its second), end its Unix seconds. A correlation id left out has
/// start [`GENERATED`]: the wasm boundary hands the fresh one over. Any
/// other value left out is its default as if written: an empty span
/// (0, 0) for `rationale`, and for `meta` with its member count 0. A
/// choice is its index in the type's `ALL`; a number or count is its value
/// after the lax coercions, so it need not be what the payload spells.
#[derive(Clone, PartialEq, Debug)]
pub(crate) struct Tape(pub [f64; slot::LEN]);

/// The layout of a [`Tape`].
pub(crate) mod slot {
    pub const SOURCE_TYPE: usize = 0;
    pub const SOURCE_ID: usize = 1;
    pub const QUESTION: usize = 3;
    pub const PROBABILITY: usize = 5;
    pub const CONFIDENCE: usize = 6;
    pub const MARKET_PROBABILITY: usize = 7;
    /// agents, bullish, bearish, neutral.
    pub const CROWD: usize = 8;
    pub const RATIONALE: usize = 12;
    pub const RESOLVES_AT: usize = 14;
    pub const GENERATED_AT: usize = 16;
    pub const DECISION_KIND: usize = 18;
    /// The action or the side.
    pub const CHOICE: usize = 19;
    /// strength, edge, price, stake_fraction or multiplier.
    pub const NUMBERS: usize = 20;
    pub const REASON: usize = 24;
    pub const PUBLISHED_AT: usize = 26;
    pub const CORRELATION_ID: usize = 28;
    /// The whole object, braces included.
    pub const META: usize = 30;
    pub const DRIVER_COUNT: usize = 32;
    /// Two slots a driver.
    pub const DRIVERS: usize = 33;
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

    /// Every slot the package reads by name, as `pkg-template/src/tape.ts`
    /// spells its `SLOT` table (a test holds the two equal).
    #[cfg(test)]
    pub const NAMED: [(&str, usize); 23] = [
        ("SOURCE_TYPE", SOURCE_TYPE),
        ("SOURCE_ID", SOURCE_ID),
        ("QUESTION", QUESTION),
        ("PROBABILITY", PROBABILITY),
        ("CONFIDENCE", CONFIDENCE),
        ("MARKET_PROBABILITY", MARKET_PROBABILITY),
        ("CROWD", CROWD),
        ("RATIONALE", RATIONALE),
        ("RESOLVES_AT", RESOLVES_AT),
        ("GENERATED_AT", GENERATED_AT),
        ("DECISION_KIND", DECISION_KIND),
        ("CHOICE", CHOICE),
        ("NUMBERS", NUMBERS),
        ("REASON", REASON),
        ("PUBLISHED_AT", PUBLISHED_AT),
        ("CORRELATION_ID", CORRELATION_ID),
        ("META", META),
        ("DRIVER_COUNT", DRIVER_COUNT),
        ("DRIVERS", DRIVERS),
        ("META_STABLE", META_STABLE),
        ("META_COUNT", META_COUNT),
        ("META_MEMBERS", META_MEMBERS),
        ("LEN", LEN),
    ];
}

/// A correlation id's start on the tape when it was left out.
pub(crate) const GENERATED: f64 = -3.0;

impl Tape {
    /// A tape to be written.
    pub(crate) const fn new() -> Tape {
        Tape([0.0; slot::LEN])
    }

    pub(super) fn set(&mut self, at: usize, value: f64) -> Option<()> {
        *self.0.get_mut(at)? = value;
        Some(())
    }

    /// A number at `at`, given back.
    pub(super) fn number(&mut self, at: usize, x: f64) -> Option<f64> {
        self.set(at, x).map(|()| x)
    }

    /// A date-time's instant at `at` (see [`Tape`]).
    pub(super) fn instant(&mut self, at: usize, when: crate::Timestamp) -> Option<()> {
        let (seconds, micros) = when.unix_seconds_and_micros();
        self.set(at, -2.0 - micros as f64)?;
        self.set(at + 1, seconds as f64)
    }

    /// A string at `at` that is not in the payload (see [`GENERATED`]).
    pub(super) fn generated(&mut self, at: usize) -> Option<()> {
        self.set(at, GENERATED)?;
        self.set(at + 1, 0.0)
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

    /// `meta`, the object `raw` from byte `start` to `end`: its place, and
    /// its members when it is flat and JavaScript writes it back the same.
    pub(super) fn meta(&mut self, start: usize, end: usize, raw: &str) -> Option<()> {
        self.span(slot::META, (start, end), false)?;
        let stable = survives_js(raw);
        self.set(slot::META_STABLE, f64::from(u8::from(stable)))?;
        let count = if stable {
            flat_meta(raw, start, self)
        } else {
            None
        };
        self.set(slot::META_COUNT, count.map_or(-1.0, |n| n as f64))
    }

    /// `meta` left out: `{}`, flat and as JavaScript writes it.
    pub(super) fn empty_meta(&mut self) -> Option<()> {
        self.span(slot::META, (0, 0), false)?;
        self.set(slot::META_STABLE, 1.0)?;
        self.set(slot::META_COUNT, 0.0)
    }

    /// Turns the byte offsets into offsets in the payload's UTF-16 units,
    /// which JavaScript strings count in (`payload` is what was decoded).
    #[cfg_attr(not(any(feature = "wasm", test)), allow(dead_code))]
    pub(crate) fn offsets_in_utf16(&mut self, payload: &[u8]) {
        let slots = self.offset_slots();
        let (mut byte, mut units) = (0usize, 0usize);
        for (target, at) in slots {
            let between = payload.get(byte..target).unwrap_or_default();
            // A unit for each character's first byte, two for a four-byte
            // character's (a surrogate pair).
            for &b in between {
                units += usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0);
            }
            byte = byte.max(target);
            if let Some(value) = self.0.get_mut(at) {
                *value = (units as f64).copysign(*value);
            }
        }
    }

    /// The slots that hold byte offsets, each once, with the offset, in
    /// order of offset (an insertion sort: a few dozen slots, mostly in
    /// order already, and far less code in the wasm than `sort`).
    fn offset_slots(&self) -> Vec<(usize, usize)> {
        let get = |at: usize| self.0.get(at).copied().unwrap_or(-1.0);
        let mut slots: Vec<(usize, usize)> = Vec::with_capacity(slot::LEN);
        let mut add = |at: usize| {
            let offset = get(at).abs() as usize;
            let place = slots
                .iter()
                .rposition(|&(o, _)| o <= offset)
                .map_or(0, |i| i + 1);
            slots.insert(place, (offset, at));
        };
        // A start below 0 is no offset: null, an instant, generated.
        let mut span = |at: usize| {
            if get(at) >= 0.0 {
                add(at);
                add(at + 1);
            }
        };
        for at in [
            slot::SOURCE_ID,
            slot::QUESTION,
            slot::RATIONALE,
            slot::RESOLVES_AT,
            slot::GENERATED_AT,
            slot::REASON,
            slot::PUBLISHED_AT,
            slot::CORRELATION_ID,
            slot::META,
        ] {
            span(at);
        }
        for i in 0..get(slot::DRIVER_COUNT).max(0.0) as usize {
            span(slot::DRIVERS + 2 * i);
        }
        for i in 0..get(slot::META_COUNT).max(0.0) as usize {
            let at = slot::META_MEMBERS + 5 * i;
            span(at);
            if get(at + 2) == 0.0 {
                span(at + 3);
            }
        }
        slots
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

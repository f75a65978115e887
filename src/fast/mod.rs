//! The decoder's typed pass: an envelope in any of the forms producers
//! write, read straight into the typed structs in one pass, with no
//! intermediate values at all.
//!
//! "The forms producers write": members in any order (a seen-bitset
//! refuses a duplicate), any whitespace, optional members left out (their
//! defaults filled when the object closes: `schema_version`, `arena`,
//! `meta`, `market_probability`, `rationale`, `drivers`, `resolves_at`),
//! date-times in any string form SPEC section 5 accepts (offsets converted
//! to UTC by the date-time parser), each other value of its JSON type
//! (strings, plain numbers, `null` only where SPEC allows it), crowd counts
//! as plain integers, no unknown member. On such a payload only the rules
//! on values can fail, so this pass reports those itself. What it leaves
//! (lax values such as numbers written as strings, Unix timestamps, unknown
//! members, an envelope without `published_at` or `correlation_id`, whose
//! defaults come from the clock, and every payload that is not well-formed)
//! goes to the exact decoder (`crate::decode`), which reads every lax form
//! and says why a payload is rejected. The differential test
//! (`src/differential.rs`) holds this pass to the exact decoder's answers,
//! rejections included.
//!
//! The [`Tape`] says where each value sits, for the npm package to build
//! the decoded object without parsing the payload; [`slot::AS_PARSED`]
//! says whether `JSON.parse` of the payload would give the same object.

use std::borrow::Cow;

use crate::datetime::{self, Timestamp};
use crate::decision::{
    Decision, DecisionKind, Fomo2Action, Fomo2Signal, OddsoddyMultiplier, PolymarketSide, Side,
};
use crate::envelope::{CrowdPredictionEnvelope, Meta, ARENA, SCHEMA_VERSION};
use crate::error::ValidationError;
use crate::json::{FieldTable, Json, Keep, Reader};
use crate::lax;
use crate::prediction::{Crowd, CrowdPrediction, SourceType, MAX_DRIVERS};

mod tape;

use tape::{flat_meta, survives_js, NULL_NUMBER, NULL_STRING};
pub(crate) use tape::{slot, Tape};

/// What the fast path made of a payload.
// The valid envelope is the common case: boxing it would cost an allocation
// on every decode.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Read {
    /// Written canonically and valid; where its values are is on the tape.
    Valid(CrowdPredictionEnvelope),
    /// Written canonically, and these rules of SPEC sections 2 to 4 fail:
    /// the errors the exact decoder gives for it, in its order (on
    /// canonical input every field reads as it is, so only the rules on
    /// values can fail, and `validate` checks them as decoding does).
    Invalid(ValidationError),
    /// Not written canonically: for the exact decoder.
    Other,
}

/// Reads `text` if it is written canonically; where its values are goes on
/// `tape`.
pub(crate) fn decode(text: &str, tape: &mut Tape) -> Read {
    let mut r = Reader::new(text);
    tape.0[slot::AS_PARSED] = 1.0;
    r.skip_whitespace();
    let Some(envelope) = envelope(&mut r, tape) else {
        return Read::Other;
    };
    r.skip_whitespace();
    if !r.at_end() {
        return Read::Other;
    }
    // No error means no allocation here.
    match envelope.validate() {
        Ok(()) => Read::Valid(envelope),
        Err(errors) => Read::Invalid(errors),
    }
}

/// The members of a canonical envelope (SPEC section 4).
pub(crate) const ENVELOPE: FieldTable = crate::envelope::KEEP.fields();

/// A bit for each of `fields`, by their index in a [`FieldTable`].
const fn bits(mut fields: &[usize]) -> u64 {
    let mut mask = 0;
    while let [field, rest @ ..] = fields {
        mask |= 1 << *field;
        fields = rest;
    }
    mask
}

/// Every member of a table of `n`.
const fn all(n: usize) -> u64 {
    (1 << n) - 1
}

/// The envelope's members with fixed defaults: `schema_version`, `arena`
/// and `meta`. The defaults of `published_at` and `correlation_id` come
/// from the clock and randomness: this pass needs them, and leaves an
/// envelope without them to the exact decoder.
const ENVELOPE_DEFAULTS: u64 = bits(&[0, 1, 7]);

fn envelope(r: &mut Reader<'_>, tape: &mut Tape) -> Option<CrowdPredictionEnvelope> {
    let mut prediction = None;
    let mut decision = DecisionFields::default();
    let mut kind = None;
    let mut published_at = None;
    let mut correlation_id = None;
    let mut meta = None;
    let required = all(ENVELOPE.len()) & !ENVELOPE_DEFAULTS;
    let given = object_with(r, tape, ENVELOPE, required, |r, tape, field| {
        match field {
            0 => (string(r, tape, None)? == SCHEMA_VERSION).then_some(())?,
            1 => (string(r, tape, None)? == ARENA).then_some(())?,
            2 => prediction = Some(self::prediction(r, tape)?),
            3 => decision.read(r, tape)?,
            4 => {
                let at = Some(slot::DECISION_KIND);
                kind = Some(choice(r, tape, at, &DecisionKind::ALL, |k| k.as_str())?);
            }
            5 => published_at = Some(timestamp(r, tape, slot::PUBLISHED_AT)?),
            6 => correlation_id = Some(owned(r, tape, slot::CORRELATION_ID)?),
            _ => meta = Some(self::meta(r, tape)?),
        }
        Some(())
    })?;
    if left_out(tape, given, ENVELOPE_DEFAULTS)? & bits(&[7]) != 0 {
        // `{}`, flat and as JavaScript writes it; not in the payload.
        tape.span(slot::META, (0, 0), false)?;
        tape.set(slot::META_STABLE, 1.0)?;
        tape.set(slot::META_COUNT, 0.0)?;
    }
    Some(CrowdPredictionEnvelope {
        prediction: prediction?,
        decision: decision.into_decision(kind?)?,
        published_at: published_at?,
        correlation_id: correlation_id?,
        meta: meta.unwrap_or_default(),
    })
}

/// The members of a canonical prediction (SPEC section 2).
pub(crate) const PREDICTION: FieldTable = crate::prediction::KEEP.fields();

/// The members of a crowd.
pub(crate) const CROWD: FieldTable = crate::prediction::CROWD_KEEP.fields();

/// The prediction's members with defaults: `market_probability`,
/// `rationale`, `drivers` and `resolves_at`.
const PREDICTION_DEFAULTS: u64 = bits(&[5, 7, 8, 9]);

/// Which of `defaults` were left out (`given` says what was there); any
/// one means `JSON.parse` of the payload lacks it.
fn left_out(tape: &mut Tape, given: u64, defaults: u64) -> Option<u64> {
    let missing = defaults & !given;
    if missing != 0 {
        tape.set(slot::AS_PARSED, 0.0)?;
    }
    Some(missing)
}

fn prediction(r: &mut Reader<'_>, tape: &mut Tape) -> Option<CrowdPrediction> {
    let mut source_type = None;
    let mut source_id = None;
    let mut question = None;
    let mut probability = None;
    let mut confidence = None;
    let mut market_probability = None;
    let mut crowd = None;
    let mut rationale = None;
    let mut drivers = None;
    let mut resolves_at = None;
    let mut generated_at = None;
    let given = object_with(
        r,
        tape,
        PREDICTION,
        all(PREDICTION.len()) & !PREDICTION_DEFAULTS,
        |r, tape, field| {
            match field {
                0 => {
                    let at = Some(slot::SOURCE_TYPE);
                    source_type = Some(choice(r, tape, at, &SourceType::ALL, |s| s.as_str())?);
                }
                1 => source_id = Some(owned(r, tape, slot::SOURCE_ID)?),
                2 => question = Some(owned(r, tape, slot::QUESTION)?),
                3 => probability = Some(number(r, tape, slot::PROBABILITY)?),
                4 => confidence = Some(number(r, tape, slot::CONFIDENCE)?),
                5 => {
                    market_probability = Some(nullable(
                        r,
                        tape,
                        slot::MARKET_PROBABILITY,
                        NULL_NUMBER,
                        number,
                    )?)
                }
                6 => crowd = Some(self::crowd(r, tape)?),
                7 => rationale = Some(owned(r, tape, slot::RATIONALE)?),
                8 => drivers = Some(self::drivers(r, tape)?),
                9 => {
                    resolves_at = Some(nullable(
                        r,
                        tape,
                        slot::RESOLVES_AT,
                        NULL_STRING,
                        timestamp,
                    )?)
                }
                _ => generated_at = Some(timestamp(r, tape, slot::GENERATED_AT)?),
            }
            Some(())
        },
    )?;
    // The defaults of what was left out, on the tape as if written: no
    // market probability, an empty rationale (an empty span), no drivers,
    // no resolution time.
    let missing = left_out(tape, given, PREDICTION_DEFAULTS)?;
    if missing & bits(&[5]) != 0 {
        tape.set(slot::MARKET_PROBABILITY, NULL_NUMBER)?;
    }
    if missing & bits(&[7]) != 0 {
        tape.span(slot::RATIONALE, (0, 0), false)?;
    }
    if missing & bits(&[8]) != 0 {
        tape.set(slot::DRIVER_COUNT, 0.0)?;
    }
    if missing & bits(&[9]) != 0 {
        tape.set(slot::RESOLVES_AT, NULL_STRING)?;
    }
    Some(CrowdPrediction {
        source_type: source_type?,
        source_id: source_id?,
        question: question?,
        probability: probability?,
        confidence: confidence?,
        market_probability: market_probability.flatten(),
        crowd: crowd?,
        rationale: rationale.unwrap_or_default(),
        drivers: drivers.unwrap_or_default(),
        resolves_at: resolves_at.flatten(),
        generated_at: generated_at?,
    })
}

fn crowd(r: &mut Reader<'_>, tape: &mut Tape) -> Option<Crowd> {
    let mut counts = [0u32; 4];
    object_with(r, tape, CROWD, all(CROWD.len()), |r, tape, field| {
        let n = count(r)?;
        *counts.get_mut(field)? = n;
        tape.set(slot::CROWD + field, f64::from(n))
    })?;
    let [agents, bullish, bearish, neutral] = counts;
    Some(Crowd {
        agents,
        bullish,
        bearish,
        neutral,
    })
}

fn drivers(r: &mut Reader<'_>, tape: &mut Tape) -> Option<Vec<String>> {
    let mut drivers = Vec::new();
    open(r, b'[')?;
    if !r.eat(b']') {
        loop {
            if drivers.len() == MAX_DRIVERS {
                return None;
            }
            let at = slot::DRIVERS + 2 * drivers.len();
            drivers.push(owned(r, tape, at)?);
            r.skip_whitespace();
            if !next_member(r, b']')? {
                break;
            }
        }
    }
    r.depth -= 1;
    tape.set(slot::DRIVER_COUNT, drivers.len() as f64)?;
    Some(drivers)
}

/// The fields of all three decisions: `decision_kind` may come after them.
#[derive(Default)]
struct DecisionFields {
    /// Which of [`DECISION`] were given, a bit each.
    given: u64,
    action: Option<Fomo2Action>,
    side: Option<Side>,
    reason: Option<String>,
    /// strength, edge, price, and stake_fraction or multiplier.
    numbers: [Option<f64>; 4],
}

/// Ordered so that each kind's fields in SPEC order come in this order.
const DECISION: FieldTable = crate::decision::KEEP.fields();

impl DecisionFields {
    fn read(&mut self, r: &mut Reader<'_>, tape: &mut Tape) -> Option<()> {
        self.given = object_with(r, tape, DECISION, 0, |r, tape, field| {
            let choice_at = Some(slot::CHOICE);
            match field {
                0 => {
                    self.action = Some(choice(r, tape, choice_at, &Fomo2Action::ALL, |a| {
                        a.as_str()
                    })?)
                }
                2 => self.side = Some(choice(r, tape, choice_at, &Side::ALL, |s| s.as_str())?),
                7 => self.reason = Some(owned(r, tape, slot::REASON)?),
                _ => {
                    let (i, nullable_here) = number_slot(field)?;
                    let at = slot::NUMBERS + i;
                    let value = if nullable_here {
                        nullable(r, tape, at, NULL_NUMBER, number)?
                    } else {
                        Some(number(r, tape, at)?)
                    };
                    *self.numbers.get_mut(i)? = value;
                }
            }
            Some(())
        })?;
        Some(())
    }

    /// The decision `kind` names, if exactly its fields were given.
    fn into_decision(self, kind: DecisionKind) -> Option<Decision> {
        let fields: &[usize] = match kind {
            DecisionKind::Fomo2Signal => &[0, 1, 7],
            DecisionKind::PolymarketSide => &[2, 3, 4, 5, 7],
            DecisionKind::OddsoddyMultiplier => &[6, 7],
        };
        if self.given != fields.iter().map(|f| 1u64 << f).sum::<u64>() {
            return None;
        }
        let [strength, edge, price, stake_or_multiplier] = self.numbers;
        Some(match kind {
            DecisionKind::Fomo2Signal => Decision::Fomo2Signal(Fomo2Signal {
                action: self.action?,
                strength: strength?,
                reason: self.reason?,
            }),
            DecisionKind::PolymarketSide => Decision::PolymarketSide(PolymarketSide {
                side: self.side?,
                edge,
                price,
                stake_fraction: stake_or_multiplier?,
                reason: self.reason?,
            }),
            DecisionKind::OddsoddyMultiplier => Decision::OddsoddyMultiplier(OddsoddyMultiplier {
                multiplier: stake_or_multiplier?,
                reason: self.reason?,
            }),
        })
    }
}

/// Where a number field of [`DECISION`] goes in `numbers`, and whether it
/// may be `null` (`stake_fraction` and `multiplier` share a place: no kind
/// has both).
fn number_slot(field: usize) -> Option<(usize, bool)> {
    match field {
        1 => Some((0, false)),
        3 => Some((1, true)),
        4 => Some((2, true)),
        5 | 6 => Some((3, false)),
        _ => None,
    }
}

/// Reads an object whose members are among `keys`, once each, in any
/// order, with at least those `required` names (a bit each, by index in
/// `keys`), handing each value to `member` with its index in `keys`; gives
/// which were there, a bit each. Members out of `keys`' order clear the
/// tape's [`slot::AS_PARSED`] (members left out: [`left_out`]).
fn object_with<'a>(
    r: &mut Reader<'a>,
    tape: &mut Tape,
    keys: FieldTable,
    required: u64,
    mut member: impl FnMut(&mut Reader<'a>, &mut Tape, usize) -> Option<()>,
) -> Option<u64> {
    open(r, b'{')?;
    let mut given = 0u64;
    let mut next = 0;
    if !r.eat(b'}') {
        loop {
            // In SPEC order the key is the next one, or (members left
            // out) one of the next few: a comparison each, no key read.
            // Four, as at most three optional members stand in a row
            // (`rationale`, `drivers`, `resolves_at`); a key in another
            // order is then compared with the whole table, and only a key
            // not in it is read (to be refused).
            let mut ahead = keys.get(next..).unwrap_or_default().iter().take(4);
            let field = match ahead.position(|(expected, _)| r.eat_key(expected)) {
                Some(skipped) => next + skipped,
                None => keys
                    .iter()
                    .position(|(expected, _)| r.eat_key(expected))
                    .or_else(|| {
                        let key = string(r, tape, None)?;
                        keys.iter().position(|(k, _)| *k == key)
                    })?,
            };
            if field < next {
                tape.set(slot::AS_PARSED, 0.0)?;
            }
            next = field + 1;
            let bit = 1u64 << field;
            if given & bit != 0 {
                return None;
            }
            given |= bit;
            r.skip_whitespace();
            if !r.eat(b':') {
                return None;
            }
            r.skip_whitespace();
            member(r, tape, field)?;
            r.skip_whitespace();
            if !next_member(r, b'}')? {
                break;
            }
        }
    }
    r.depth -= 1;
    (given & required == required).then_some(given)
}

/// Steps into an object or array.
pub(super) fn open(r: &mut Reader<'_>, bracket: u8) -> Option<()> {
    if !r.eat(bracket) {
        return None;
    }
    r.depth += 1;
    r.skip_whitespace();
    Some(())
}

/// After a member: `,` (true, another follows) or the closing bracket (false).
pub(super) fn next_member(r: &mut Reader<'_>, close: u8) -> Option<bool> {
    if r.eat(b',') {
        r.skip_whitespace();
        Some(true)
    } else {
        r.eat(close).then_some(false)
    }
}

/// A string, its place noted at `at` on the tape.
fn string<'a>(r: &mut Reader<'a>, tape: &mut Tape, at: Option<usize>) -> Option<Cow<'a, str>> {
    if r.peek() != Some(b'"') {
        return None;
    }
    let start = r.pos() + 1;
    let s = r.string().ok()?;
    if let Some(at) = at {
        tape.span(at, (start, r.pos() - 1), matches!(s, Cow::Owned(_)))?;
    }
    Some(s)
}

fn owned(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<String> {
    string(r, tape, Some(at)).map(Cow::into_owned)
}

fn choice<T: Copy>(
    r: &mut Reader<'_>,
    tape: &mut Tape,
    at: Option<usize>,
    all: &[T],
    name: impl Fn(T) -> &'static str,
) -> Option<T> {
    let s = string(r, tape, None)?;
    let index = all.iter().position(|&item| name(item) == s)?;
    if let Some(at) = at {
        tape.set(at, index as f64)?;
    }
    all.get(index).copied()
}

/// A JSON number, as the exact decoder reads it; not the integer `-0`,
/// which `JSON.parse` reads as `-0` and the decoder as `+0.0` (SPEC 6).
fn number(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<f64> {
    match r.number().ok()? {
        Json::Number(lexeme) if lexeme != "-0" => {
            let x = lax::number_as_float(lexeme);
            tape.set(at, x)?;
            Some(x)
        }
        _ => None,
    }
}

/// A crowd count: a plain integer that fits in 32 bits.
fn count(r: &mut Reader<'_>) -> Option<u32> {
    match r.number().ok()? {
        Json::Number(lexeme) if lexeme.bytes().all(|b| b.is_ascii_digit()) => lexeme.parse().ok(),
        _ => None,
    }
}

/// A date-time string in any form SPEC section 5 accepts. One written
/// otherwise than the encoding writes it goes on the tape as its instant
/// ([`Tape::instant`]), for the package to write it in the canonical form.
fn timestamp(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<Timestamp> {
    let text = string(r, tape, Some(at))?;
    if let Some(canonical) = datetime::canonical(&text) {
        return Some(canonical);
    }
    let converted = datetime::from_text(&text)?;
    tape.instant(at, converted)?;
    tape.set(slot::AS_PARSED, 0.0)?;
    Some(converted)
}

/// `null`, noted on the tape as `null_mark`, or what `read` reads.
fn nullable<'a, T>(
    r: &mut Reader<'a>,
    tape: &mut Tape,
    at: usize,
    null_mark: f64,
    read: impl FnOnce(&mut Reader<'a>, &mut Tape, usize) -> Option<T>,
) -> Option<Option<T>> {
    if r.eat_literal("null") {
        tape.set(at, null_mark)?;
        return Some(None);
    }
    read(r, tape, at).map(Some)
}

/// `meta`: any object, checked as strictly as everything else, kept as text.
fn meta(r: &mut Reader<'_>, tape: &mut Tape) -> Option<Meta> {
    let start = r.pos();
    match r.value(Keep::Text).ok()? {
        Json::Object(object) => {
            tape.span(slot::META, (start, r.pos()), false)?;
            let stable = survives_js(object.raw);
            tape.set(slot::META_STABLE, f64::from(u8::from(stable)))?;
            let count = if stable {
                flat_meta(object.raw, start, tape)
            } else {
                None
            };
            tape.set(slot::META_COUNT, count.map_or(-1.0, |n| n as f64))?;
            Some(Meta::from_checked(object.compact_text()))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests;

//! The decoder's fast path: an envelope written the way producers write
//! them, read straight into the typed structs in one pass, with no
//! intermediate values at all.
//!
//! "The way producers write them" is narrow on purpose: every field present
//! once, no unknown field, each value of its canonical JSON type (strings,
//! plain numbers, `null` only where SPEC allows it), date-times in SPEC
//! section 5's form, crowd counts as plain integers. Such a payload means
//! the same to `JSON.parse` as to the decoder, which is what lets the npm
//! package build the decoded object itself (from the [`Tape`]) or hand
//! `JSON.parse` of the payload to its caller; and on it, only the rules on
//! values can fail, so the fast path reports those itself. Anything else
//! goes to the exact decoder (`crate::decode`), which reads every lax form
//! and says why a payload is rejected. The differential test
//! (`src/differential.rs`) holds the fast path to the exact decoder's
//! answers, rejections included.

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
    tape.0[slot::ORDERED] = 1.0;
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

fn envelope(r: &mut Reader<'_>, tape: &mut Tape) -> Option<CrowdPredictionEnvelope> {
    let mut prediction = None;
    let mut decision = DecisionFields::default();
    let mut kind = None;
    let mut published_at = None;
    let mut correlation_id = None;
    let mut meta = None;
    object(r, tape, ENVELOPE, |r, tape, field| {
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
    Some(CrowdPredictionEnvelope {
        prediction: prediction?,
        decision: decision.into_decision(kind?)?,
        published_at: published_at?,
        correlation_id: correlation_id?,
        meta: meta?,
    })
}

/// The members of a canonical prediction (SPEC section 2).
pub(crate) const PREDICTION: FieldTable = crate::prediction::KEEP.fields();

/// The members of a crowd.
pub(crate) const CROWD: FieldTable = crate::prediction::CROWD_KEEP.fields();

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
    object(r, tape, PREDICTION, |r, tape, field| {
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
    })?;
    Some(CrowdPrediction {
        source_type: source_type?,
        source_id: source_id?,
        question: question?,
        probability: probability?,
        confidence: confidence?,
        market_probability: market_probability?,
        crowd: crowd?,
        rationale: rationale?,
        drivers: drivers?,
        resolves_at: resolves_at?,
        generated_at: generated_at?,
    })
}

fn crowd(r: &mut Reader<'_>, tape: &mut Tape) -> Option<Crowd> {
    let mut counts = [0u32; 4];
    object(r, tape, CROWD, |r, tape, field| {
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
        self.given = object_with(r, tape, DECISION, false, |r, tape, field| {
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

/// Reads an object whose members are exactly `keys`, once each, in any
/// order, handing each value to `member` with its index in `keys`.
fn object<'a>(
    r: &mut Reader<'a>,
    tape: &mut Tape,
    keys: FieldTable,
    member: impl FnMut(&mut Reader<'a>, &mut Tape, usize) -> Option<()>,
) -> Option<()> {
    object_with(r, tape, keys, true, member).map(|_| ())
}

/// [`object`], where `all` says whether every key must be there; gives
/// which were, a bit each. Members out of `keys`' order clear the tape's
/// [`slot::ORDERED`].
fn object_with<'a>(
    r: &mut Reader<'a>,
    tape: &mut Tape,
    keys: FieldTable,
    all: bool,
    mut member: impl FnMut(&mut Reader<'a>, &mut Tape, usize) -> Option<()>,
) -> Option<u64> {
    open(r, b'{')?;
    let mut given = 0u64;
    let mut next = 0;
    if !r.eat(b'}') {
        loop {
            // In SPEC order the key is the next one: one comparison.
            let field = match keys.get(next) {
                Some((expected, _)) if r.eat_key(expected) => next,
                _ => {
                    let key = string(r, tape, None)?;
                    keys.iter().position(|(k, _)| *k == key)?
                }
            };
            if field < next {
                tape.set(slot::ORDERED, 0.0)?;
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
    let every = (1u64 << keys.len()) - 1;
    (!all || given == every).then_some(given)
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

fn timestamp(r: &mut Reader<'_>, tape: &mut Tape, at: usize) -> Option<Timestamp> {
    datetime::canonical(&string(r, tape, Some(at))?)
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
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The keys of the object at `path` (keys, from the root) of `json`.
    fn keys_at<'a>(json: &'a Json<'a>, path: &[&str]) -> Vec<String> {
        let mut here = json;
        for key in path {
            let Json::Object(o) = here else {
                panic!("{key}")
            };
            here = o.get(key).unwrap();
        }
        let Json::Object(o) = here else {
            panic!("{path:?}")
        };
        o.members.iter().map(|(k, _)| k.to_string()).collect()
    }

    #[test]
    fn the_canonical_encoding_writes_the_field_tables_in_order() {
        let prediction = CrowdPrediction::from_json(
            r#"{"source_type": "polymarket_bet", "source_id": "m", "question": "q?",
                "probability": 0.7, "confidence": 0.8, "market_probability": 0.5,
                "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
                "generated_at": "2026-01-01T00:00:00Z"}"#,
        )
        .unwrap();
        let text = crate::build_envelope(prediction, crate::BuildOptions::default())
            .unwrap()
            .to_json();
        let json = crate::json::parse(&text, Keep::All).unwrap();
        let names = |fields: FieldTable| -> Vec<String> {
            fields.iter().map(|(name, _)| name.to_string()).collect()
        };
        assert_eq!(keys_at(&json, &[]), names(ENVELOPE));
        assert_eq!(keys_at(&json, &["prediction"]), names(PREDICTION));
        assert_eq!(keys_at(&json, &["prediction", "crowd"]), names(CROWD));
        // Each decision's fields come in the table's order.
        let decision = keys_at(&json, &["decision"]);
        let order: Vec<String> = names(DECISION)
            .into_iter()
            .filter(|name| decision.contains(name))
            .collect();
        assert_eq!(decision, order);
    }

    #[test]
    fn flat_meta_goes_on_the_tape() {
        let payload = r#"xx{"s":"a b","n":-12,"t":true,"f":false,"z":null}"#;
        let raw = &payload[2..];
        let mut tape = Tape::new();
        assert_eq!(flat_meta(raw, 2, &mut tape), Some(5));
        let member = |i: usize| &tape.0[slot::META_MEMBERS + 5 * i..slot::META_MEMBERS + 5 * i + 5];
        assert_eq!(&payload[member(0)[0] as usize..member(0)[1] as usize], "s");
        assert_eq!(member(0)[2], 0.0);
        assert_eq!(
            &payload[member(0)[3] as usize..member(0)[4] as usize],
            "a b"
        );
        assert_eq!(member(1)[2..4], [1.0, -12.0]);
        assert_eq!([member(2)[2], member(3)[2], member(4)[2]], [2.0, 3.0, 4.0]);
        assert_eq!(flat_meta("{}", 0, &mut tape), Some(0));
        for nested in [
            r#"{"a":[1]}"#,
            r#"{"a":{}}"#,
            r#"{"__proto__":1}"#,
            r#"{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}"#,
        ] {
            assert_eq!(flat_meta(nested, 0, &mut tape), None, "{nested}");
        }
    }

    #[test]
    fn meta_that_javascript_writes_back_as_it_was() {
        for stable in [
            "{}",
            r#"{"producer":"crowd-sim-7","run":1842,"region":"eu-west-1"}"#,
            r#"{ "a" : [1, -2, true, null, {"b": "x y"}] }"#,
            r#"{"n":999999999999999,"s":"é😀"}"#,
        ] {
            assert!(survives_js(stable), "{stable}");
        }
        for changed in [
            r#"{"n":1.0}"#,
            r#"{"n":1e5}"#,
            r#"{"n":-0}"#,
            r#"{"n":1234567890123456}"#,
            r#"{"s":"\u00e9"}"#,
            r#"{"b":1,"2":0}"#,
            r#"{"n":0.5}"#,
        ] {
            assert!(!survives_js(changed), "{changed}");
        }
    }
}

//! The decoder's fast path: an envelope written the way producers write
//! them, read straight into the typed structs in one pass, with no
//! intermediate values at all.
//!
//! "The way producers write them" is narrow on purpose: every field present
//! once, no unknown field, each value of its canonical JSON type (strings,
//! plain numbers, `null` only where SPEC allows it), date-times in SPEC
//! section 5's form, crowd counts as plain integers. Such a payload means
//! the same to `JSON.parse` as to the decoder, which is what lets the npm
//! package hand `JSON.parse` of the payload itself to its caller. Anything
//! else, including every payload that breaks a rule, gives `None`, and the
//! exact decoder (`crate::decode`) reads it and says why: the fast path
//! never decides a rejection, so it cannot get one wrong. The differential
//! test (`src/differential.rs`) holds it to the exact decoder's answers.

use std::borrow::Cow;

use crate::datetime::{self, Timestamp};
use crate::decision::{
    Decision, DecisionKind, Fomo2Action, Fomo2Signal, OddsoddyMultiplier, PolymarketSide, Side,
};
use crate::envelope::{CrowdPredictionEnvelope, Meta, ARENA, SCHEMA_VERSION};
use crate::json::{Json, Keep, Reader};
use crate::lax;
use crate::prediction::{Crowd, CrowdPrediction, SourceType, MAX_DRIVERS};

/// The envelope in `text`, if it is written canonically and valid.
pub(crate) fn decode(text: &str) -> Option<CrowdPredictionEnvelope> {
    let mut r = Reader::new(text);
    r.skip_whitespace();
    let envelope = envelope(&mut r)?;
    r.skip_whitespace();
    if !r.at_end() {
        return None;
    }
    // The rules SPEC sections 2 to 4 set on values; no error means no
    // allocation here.
    envelope.validate().ok()?;
    Some(envelope)
}

const ENVELOPE: &[&str] = &[
    "schema_version",
    "arena",
    "prediction",
    "decision",
    "decision_kind",
    "published_at",
    "correlation_id",
    "meta",
];

fn envelope(r: &mut Reader<'_>) -> Option<CrowdPredictionEnvelope> {
    let mut prediction = None;
    let mut decision = DecisionFields::default();
    let mut kind = None;
    let mut published_at = None;
    let mut correlation_id = None;
    let mut meta = None;
    object(r, ENVELOPE, |r, field| {
        match field {
            0 => (string(r)? == SCHEMA_VERSION).then_some(())?,
            1 => (string(r)? == ARENA).then_some(())?,
            2 => prediction = Some(self::prediction(r)?),
            3 => decision.read(r)?,
            4 => kind = Some(choice(r, &DecisionKind::ALL, |k| k.as_str())?),
            5 => published_at = Some(timestamp(r)?),
            6 => correlation_id = Some(string(r)?.into_owned()),
            _ => meta = Some(self::meta(r)?),
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

const PREDICTION: &[&str] = &[
    "source_type",
    "source_id",
    "question",
    "probability",
    "confidence",
    "market_probability",
    "crowd",
    "rationale",
    "drivers",
    "resolves_at",
    "generated_at",
];

fn prediction(r: &mut Reader<'_>) -> Option<CrowdPrediction> {
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
    object(r, PREDICTION, |r, field| {
        match field {
            0 => source_type = Some(choice(r, &SourceType::ALL, |s| s.as_str())?),
            1 => source_id = Some(string(r)?.into_owned()),
            2 => question = Some(string(r)?.into_owned()),
            3 => probability = Some(number(r)?),
            4 => confidence = Some(number(r)?),
            5 => market_probability = Some(nullable(r, number)?),
            6 => crowd = Some(self::crowd(r)?),
            7 => rationale = Some(string(r)?.into_owned()),
            8 => drivers = Some(self::drivers(r)?),
            9 => resolves_at = Some(nullable(r, timestamp)?),
            _ => generated_at = Some(timestamp(r)?),
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

fn crowd(r: &mut Reader<'_>) -> Option<Crowd> {
    let mut counts = [0u32; 4];
    object(
        r,
        &["agents", "bullish", "bearish", "neutral"],
        |r, field| {
            *counts.get_mut(field)? = count(r)?;
            Some(())
        },
    )?;
    let [agents, bullish, bearish, neutral] = counts;
    Some(Crowd {
        agents,
        bullish,
        bearish,
        neutral,
    })
}

fn drivers(r: &mut Reader<'_>) -> Option<Vec<String>> {
    let mut drivers = Vec::new();
    open(r, b'[')?;
    if !r.eat(b']') {
        loop {
            if drivers.len() == MAX_DRIVERS {
                return None;
            }
            drivers.push(string(r)?.into_owned());
            r.skip_whitespace();
            if !next_member(r, b']')? {
                break;
            }
        }
    }
    r.depth -= 1;
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
    numbers: [Option<f64>; 4],
}

const DECISION: &[&str] = &[
    "action",
    "strength",
    "reason",
    "side",
    "edge",
    "price",
    "stake_fraction",
    "multiplier",
];

impl DecisionFields {
    fn read(&mut self, r: &mut Reader<'_>) -> Option<()> {
        self.given = object_with(r, DECISION, false, |r, field| {
            match field {
                0 => self.action = Some(choice(r, &Fomo2Action::ALL, |a| a.as_str())?),
                2 => self.reason = Some(string(r)?.into_owned()),
                3 => self.side = Some(choice(r, &Side::ALL, |s| s.as_str())?),
                _ => {
                    let (slot, nullable_here) = number_slot(field)?;
                    let value = if nullable_here {
                        nullable(r, number)?
                    } else {
                        Some(number(r)?)
                    };
                    *self.numbers.get_mut(slot)? = value;
                }
            }
            Some(())
        })?;
        Some(())
    }

    /// The decision `kind` names, if exactly its fields were given.
    fn into_decision(self, kind: DecisionKind) -> Option<Decision> {
        let fields: &[usize] = match kind {
            DecisionKind::Fomo2Signal => &[0, 1, 2],
            DecisionKind::PolymarketSide => &[2, 3, 4, 5, 6],
            DecisionKind::OddsoddyMultiplier => &[2, 7],
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
/// may be `null` (`stake_fraction` and `multiplier` share a slot: no kind
/// has both).
fn number_slot(field: usize) -> Option<(usize, bool)> {
    match field {
        1 => Some((0, false)),
        4 => Some((1, true)),
        5 => Some((2, true)),
        6 | 7 => Some((3, false)),
        _ => None,
    }
}

/// Reads an object whose members are exactly `keys`, once each, in any
/// order, handing each value to `member` with its index in `keys`.
fn object<'a>(
    r: &mut Reader<'a>,
    keys: &[&str],
    member: impl FnMut(&mut Reader<'a>, usize) -> Option<()>,
) -> Option<()> {
    object_with(r, keys, true, member).map(|_| ())
}

/// [`object`], where `all` says whether every key must be there; gives
/// which were, a bit each.
fn object_with<'a>(
    r: &mut Reader<'a>,
    keys: &[&str],
    all: bool,
    mut member: impl FnMut(&mut Reader<'a>, usize) -> Option<()>,
) -> Option<u64> {
    open(r, b'{')?;
    let mut given = 0u64;
    if !r.eat(b'}') {
        loop {
            let key = string(r)?;
            let field = keys.iter().position(|k| *k == key)?;
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
            member(r, field)?;
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
fn open(r: &mut Reader<'_>, bracket: u8) -> Option<()> {
    if !r.eat(bracket) {
        return None;
    }
    r.depth += 1;
    r.skip_whitespace();
    Some(())
}

/// After a member: `,` (true, another follows) or the closing bracket (false).
fn next_member(r: &mut Reader<'_>, close: u8) -> Option<bool> {
    if r.eat(b',') {
        r.skip_whitespace();
        Some(true)
    } else {
        r.eat(close).then_some(false)
    }
}

fn string<'a>(r: &mut Reader<'a>) -> Option<Cow<'a, str>> {
    if r.peek() != Some(b'"') {
        return None;
    }
    r.string().ok()
}

fn choice<T: Copy>(r: &mut Reader<'_>, all: &[T], name: impl Fn(T) -> &'static str) -> Option<T> {
    let s = string(r)?;
    all.iter().copied().find(|&item| name(item) == s)
}

/// A JSON number, as the exact decoder reads it; not the integer `-0`,
/// which `JSON.parse` reads as `-0` and the decoder as `+0.0` (SPEC 6).
fn number(r: &mut Reader<'_>) -> Option<f64> {
    match r.number().ok()? {
        Json::Number(lexeme) if lexeme != "-0" => Some(lax::number_as_float(lexeme)),
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

fn timestamp(r: &mut Reader<'_>) -> Option<Timestamp> {
    datetime::canonical(&string(r)?)
}

fn nullable<'a, T>(
    r: &mut Reader<'a>,
    read: impl FnOnce(&mut Reader<'a>) -> Option<T>,
) -> Option<Option<T>> {
    if r.peek() == Some(b'n') {
        return matches!(r.value(Keep::Scalar).ok()?, Json::Null).then_some(None);
    }
    read(r).map(Some)
}

/// `meta`: any object, checked as strictly as everything else, kept as text.
fn meta(r: &mut Reader<'_>) -> Option<Meta> {
    match r.value(Keep::Text).ok()? {
        Json::Object(object) => Some(Meta::from_checked(object.compact_text())),
        _ => None,
    }
}

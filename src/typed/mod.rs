//! The decoder: an envelope in any form SPEC accepts, read straight into
//! the typed structs in one pass, with no intermediate values.
//!
//! "Any form": members in any order (a seen-bitset refuses a duplicate),
//! any whitespace, members the wire types do not have (checked as JSON and
//! dropped, as Pydantic ignores them), optional members left out (their
//! defaults filled when the object closes: `schema_version`, `arena`,
//! `meta`, `market_probability`, `rationale`, `drivers`, `resolves_at`,
//! and from the clock and randomness `published_at` and `correlation_id`),
//! date-times in every form SPEC section 5 accepts (offsets converted to
//! UTC by the date-time parser, Unix timestamps), and every lax value of
//! SPEC section 6 (a number written as a string, `true` for a number,
//! `120.0` for a count), each coerced inside its field's reader
//! (`values.rs`). The rules on values are then checked on the structs.
//!
//! What this pass refuses is rejected: [`Read::Refused`] sends the payload
//! to `crate::decode`'s second pass only to say why (every failing field,
//! SPEC section 4's codes and paths). The differential test
//! (`src/differential.rs`) holds this pass to the whole-tree reader and to
//! the reference model, and fails on any payload this pass refuses that
//! the second pass accepts.
//!
//! The [`Tape`] says where each value sits, for the npm package to build
//! the decoded object without parsing the payload (`src/wasm/mod.rs`).

use crate::datetime::Timestamp;
use crate::decision::DecisionKind;
use crate::envelope::{new_correlation_id, CrowdPredictionEnvelope, ARENA, SCHEMA_VERSION};
use crate::error::ValidationError;
use crate::json::{FieldTable, Reader};
use crate::prediction::{Crowd, CrowdPrediction, SourceType, MAX_DRIVERS};

mod decision;
mod object;
mod tape;
mod values;

use decision::DecisionFields;
use object::{all, bits, next_member, object_with, open, string};
#[cfg(feature = "wasm")]
pub(crate) use tape::GENERATED;
pub(crate) use tape::{slot, Tape};
use tape::{NULL_NUMBER, NULL_STRING};
use values::{choice, count, meta, nullable, number, owned, timestamp};

/// What the decoder made of a payload.
// The valid envelope is the common case: boxing it would cost an allocation
// on every decode.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Read {
    /// Valid; where its values are is on the tape.
    Valid(CrowdPredictionEnvelope),
    /// Read, and these rules of SPEC sections 2 to 4 fail: the errors the
    /// whole-tree reader gives for it, in its order (every field read as
    /// its type, so only the rules on values can fail, and `validate`
    /// checks them as the reference model does).
    Invalid(ValidationError),
    /// Refused: not JSON, or a value not acceptable for its field. The
    /// second pass says why.
    Refused,
}

/// Reads `text`; where its values are goes on `tape`.
pub(crate) fn decode(text: &str, tape: &mut Tape) -> Read {
    let mut r = Reader::new(text);
    r.skip_whitespace();
    let Some(envelope) = envelope(&mut r, tape) else {
        return Read::Refused;
    };
    r.skip_whitespace();
    if !r.at_end() {
        return Read::Refused;
    }
    // No error means no allocation here.
    match envelope.validate() {
        Ok(()) => Read::Valid(envelope),
        Err(errors) => Read::Invalid(errors),
    }
}

/// The members of an envelope (SPEC section 4), in SPEC order.
pub(crate) const ENVELOPE: FieldTable = crate::envelope::KEEP.fields();

/// The envelope's members with defaults: `schema_version`, `arena`,
/// `published_at` (now), `correlation_id` (a fresh one) and `meta`.
const ENVELOPE_DEFAULTS: u64 = bits(&[0, 1, 5, 6, 7]);

fn envelope(r: &mut Reader<'_>, tape: &mut Tape) -> Option<CrowdPredictionEnvelope> {
    let mut prediction = None;
    let mut decision = DecisionFields::default();
    let mut kind = None;
    let mut published_at = None;
    let mut correlation_id = None;
    let mut meta = None;
    let required = all(ENVELOPE.len()) & !ENVELOPE_DEFAULTS;
    let given = object_with(r, ENVELOPE, required, &mut |r, field| {
        match field {
            0 => (string(r)? == SCHEMA_VERSION).then_some(())?,
            1 => (string(r)? == ARENA).then_some(())?,
            2 => prediction = Some(self::prediction(r, tape)?),
            3 => decision.read(r, tape)?,
            4 => {
                let (index, k) = choice(r, &DecisionKind::ALL, |k| k.as_str())?;
                tape.set(slot::DECISION_KIND, index as f64)?;
                kind = Some(k);
            }
            5 => published_at = Some(timestamp(r, tape, slot::PUBLISHED_AT)?),
            6 => correlation_id = Some(owned(r, tape, slot::CORRELATION_ID)?),
            _ => meta = Some(self::meta(r, tape)?),
        }
        Some(())
    })?;
    let missing = ENVELOPE_DEFAULTS & !given;
    if missing & bits(&[5]) != 0 {
        let now = Timestamp::now();
        tape.instant(slot::PUBLISHED_AT, now)?;
        published_at = Some(now);
    }
    if missing & bits(&[6]) != 0 {
        tape.generated(slot::CORRELATION_ID)?;
        correlation_id = Some(new_correlation_id());
    }
    if missing & bits(&[7]) != 0 {
        tape.empty_meta()?;
    }
    Some(CrowdPredictionEnvelope {
        prediction: prediction?,
        decision: decision.into_decision(kind?, tape)?,
        published_at: published_at?,
        correlation_id: correlation_id?,
        meta: meta.unwrap_or_default(),
    })
}

/// The members of a prediction (SPEC section 2), in SPEC order.
pub(crate) const PREDICTION: FieldTable = crate::prediction::KEEP.fields();

/// The members of a crowd.
pub(crate) const CROWD: FieldTable = crate::prediction::CROWD_KEEP.fields();

/// The prediction's members with defaults: `market_probability`,
/// `rationale`, `drivers` and `resolves_at`.
const PREDICTION_DEFAULTS: u64 = bits(&[5, 7, 8, 9]);

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
    let required = all(PREDICTION.len()) & !PREDICTION_DEFAULTS;
    let given = object_with(r, PREDICTION, required, &mut |r, field| {
        match field {
            0 => {
                let (index, s) = choice(r, &SourceType::ALL, |s| s.as_str())?;
                tape.set(slot::SOURCE_TYPE, index as f64)?;
                source_type = Some(s);
            }
            1 => source_id = Some(owned(r, tape, slot::SOURCE_ID)?),
            2 => question = Some(owned(r, tape, slot::QUESTION)?),
            3 => probability = Some(tape.number(slot::PROBABILITY, number(r)?)?),
            4 => confidence = Some(tape.number(slot::CONFIDENCE, number(r)?)?),
            5 => {
                let x = nullable(r, number)?;
                tape.number(slot::MARKET_PROBABILITY, x.unwrap_or(NULL_NUMBER))?;
                market_probability = Some(x);
            }
            6 => crowd = Some(self::crowd(r, tape)?),
            7 => rationale = Some(owned(r, tape, slot::RATIONALE)?),
            8 => drivers = Some(self::drivers(r, tape)?),
            9 => {
                resolves_at = Some(nullable(r, |r| timestamp(r, tape, slot::RESOLVES_AT))?);
                if resolves_at == Some(None) {
                    tape.set(slot::RESOLVES_AT, NULL_STRING)?;
                }
            }
            _ => generated_at = Some(timestamp(r, tape, slot::GENERATED_AT)?),
        }
        Some(())
    })?;
    // The defaults of what was left out, on the tape as if written: no
    // market probability, an empty rationale (an empty span), no drivers,
    // no resolution time.
    let missing = PREDICTION_DEFAULTS & !given;
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
    object_with(r, CROWD, all(CROWD.len()), &mut |r, field| {
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

#[cfg(test)]
mod tests;

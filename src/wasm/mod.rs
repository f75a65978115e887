//! The WebAssembly boundary behind the npm package `crowd-envelope`: every
//! `#[wasm_bindgen]` export of the crate lives in this file.
//!
//! Decoding does the least at the boundary: the JS wrapper
//! (`pkg-template/src/api.ts`) encodes a payload straight into an input
//! buffer in wasm memory ([`input`]), and [`decode_input`] answers with a
//! number: build the envelope from the decoder's tape (offsets and
//! numbers, [`tape`]), or read a rejection from wasm memory ([`reply`]).
//!
//! The other exports take JS values as JSON text (`JSON.stringify`, which
//! yields plain objects of the wire shape back through `JSON.parse`, never a
//! `Map`) and reply with one string:
//!
//! - empty: accepted, and the input already was the canonical encoding, so
//!   the caller parses its own input and nothing is copied back;
//! - starting with `!`: rejected; the rest is `{"reason": ..., "errors": [...]}`;
//! - anything else: accepted; the canonical JSON of the result.
//!
//! These exports are the wrapper's private interface, not the package's API;
//! their `wire` prefix keeps them clear of the helper names in wasm-bindgen's
//! generated glue (an export named `decodeText` shadows one of them).

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::decision::{
    crowd_to_fomo2_signal, crowd_to_oddsoddy_multiplier, crowd_to_polymarket_side, Decision,
    DecisionKind,
};
use crate::decode::Source;
use crate::entry::{check_entry, EntryData};
use crate::envelope::{meta_from_json, verify_decision, BuildOptions, CrowdPredictionEnvelope};
use crate::error::{DecodeError, ErrorCode, FieldError, ValidationError};
use crate::json::{self, Json, Keep, Object};
use crate::typed::{slot, Tape, GENERATED};
use crate::validate::{self, any, Errors, Fields, Path};
use crate::{build_envelope, lax, CrowdPrediction, Decoder, Timestamp};

/// The TypeScript shapes that tsify cannot derive: the prediction with its
/// defaulted fields required, the envelope as a union discriminated by
/// `decision_kind` (the Rust type derives the kind from the decision instead
/// of storing it), and the decode result.
#[wasm_bindgen(typescript_custom_section)]
const ENVELOPE_TS: &str = r#"
/** A prediction as decoded or validated: every field present, defaults filled in. */
export type CrowdPrediction = Required<CrowdPredictionFields>;
/** Fields every envelope has, whatever its decision. */
export interface EnvelopeBase {
    schema_version: "1";
    arena: "crowd_simulation";
    prediction: CrowdPrediction;
    /** `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`, UTC. */
    published_at: string;
    correlation_id: string;
    meta: Record<string, unknown>;
}
/** An envelope for a `fomo2_report` prediction. */
export interface Fomo2SignalEnvelope extends EnvelopeBase {
    decision_kind: "fomo2_signal";
    decision: Fomo2Signal;
}
/** An envelope for a `polymarket_bet` prediction. */
export interface PolymarketSideEnvelope extends EnvelopeBase {
    decision_kind: "polymarket_side";
    decision: PolymarketSide;
}
/** An envelope for an `oddsoddy_strategy` prediction. */
export interface OddsoddyMultiplierEnvelope extends EnvelopeBase {
    decision_kind: "oddsoddy_multiplier";
    decision: OddsoddyMultiplier;
}
/** A decoded envelope: narrow on `decision_kind` to get the decision's type. */
export type CrowdPredictionEnvelope =
    | Fomo2SignalEnvelope
    | PolymarketSideEnvelope
    | OddsoddyMultiplierEnvelope;
/** Any of the three decisions. */
export type Decision = Fomo2Signal | PolymarketSide | OddsoddyMultiplier;
/** What `tryDecodeEnvelope` gives: never thrown, always one of these. */
export type DecodeResult =
    | { ok: true; envelope: CrowdPredictionEnvelope }
    | { ok: false; reason: DecodeReason; errors: FieldError[] };
/**
 * Why a stream entry was not delivered: a decode reason, `no_data` (no
 * `data` field), `extra_fields` (fields besides `data`: an entry has exactly
 * one); when following, `trimmed` (entries trimmed before they were read)
 * and `stream_reset` (the stream was made anew); in group mode
 * `handler_failed` and `deleted`.
 */
export type SkipReason =
    | DecodeReason
    | "no_data"
    | "extra_fields"
    | "handler_failed"
    | "deleted"
    | "trimmed"
    | "stream_reset";
/** What `decodeStreamEntry` gives: never thrown, always one of these. */
export type EntryResult =
    | { ok: true; envelope: CrowdPredictionEnvelope }
    | { ok: false; reason: SkipReason; errors: FieldError[] };
"#;

const REJECTED: char = '!';

#[cfg(all(target_arch = "wasm32", not(target_feature = "atomics")))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

thread_local! {
    /// Where the wrapper writes each payload: one buffer for the life of the
    /// instance, so a decode copies the payload once (JS encodes straight
    /// into it) and allocates nothing for it.
    static INPUT: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    /// The last decode's reply, read by the wrapper from wasm memory.
    static REPLY: RefCell<String> = const { RefCell::new(String::new()) };
    /// The last decode's tape, read by the wrapper from wasm memory.
    static TAPE: RefCell<Tape> = const { RefCell::new(Tape::new()) };
}

/// The input buffer is given back down to this size after a larger payload
/// (the default size limit: a buffer that size is kept for the next one).
const KEPT_INPUT_BYTES: usize = crate::DEFAULT_MAX_PAYLOAD_BYTES;

/// The wasm instance's memory, for the wrapper to write payloads into and
/// read replies from.
#[wasm_bindgen(js_name = wireMemory)]
pub fn memory() -> JsValue {
    wasm_bindgen::memory()
}

/// The input buffer, grown to hold at least `capacity` bytes: where the
/// wrapper writes the next payload.
#[wasm_bindgen(js_name = wireInput)]
pub fn input(capacity: usize) -> *mut u8 {
    INPUT.with_borrow_mut(|input| {
        if input.len() < capacity {
            input.resize(capacity, 0);
        }
        input.as_mut_ptr()
    })
}

/// [`decode_input`]'s answer: build the envelope from the tape ([`tape`]).
const READ_TAPE: usize = 1;

/// Decodes the first `len` bytes of the input buffer; `well_formed` when the
/// wrapper encoded them from a string it checked (no lone surrogates), so
/// they are UTF-8 and need no second check.
///
/// Answers with a number, never a string:
/// - [`READ_TAPE`] (1): accepted; [`tape`] says where each value is (in
///   the UTF-16 units of the payload as a JavaScript string) and what each
///   number is, so the wrapper builds the envelope itself. A correlation id
///   the payload left out is the reply ([`reply`]), its length on the tape;
/// - anything else: the length of the reply [`reply`] points to, `!` and the
///   rejection, or (for what only the second pass accepted, which the tests
///   prove does not happen) the canonical JSON of the envelope; never
///   shorter than 2 bytes.
#[wasm_bindgen(js_name = wireDecode)]
pub fn decode_input(len: usize, max_payload_bytes: usize, well_formed: bool) -> usize {
    let decoder = Decoder::new().max_payload_bytes(max_payload_bytes);
    let decoded = INPUT.with_borrow(|input| {
        let payload = input.get(..len).unwrap_or_default();
        let then = |source: Source<'_>, envelope: CrowdPredictionEnvelope| match source {
            Source::Typed(tape) => {
                TAPE.with_borrow_mut(|kept| {
                    kept.0 = tape.0;
                    if !payload.is_ascii() {
                        kept.offsets_in_utf16(payload);
                    }
                    if kept.0[slot::CORRELATION_ID] == GENERATED {
                        kept.0[slot::CORRELATION_ID + 1] = envelope.correlation_id.len() as f64;
                        REPLY.with_borrow_mut(|reply| reply.clone_from(&envelope.correlation_id));
                    }
                });
                Ok(READ_TAPE)
            }
            Source::Explained => Err(envelope.to_json()),
        };
        match well_formed {
            // SAFETY: the wrapper passes `well_formed` only for bytes that
            // `TextEncoder.encodeInto` wrote from a string without lone
            // surrogates, which are UTF-8 by the Encoding Standard.
            #[allow(unsafe_code)]
            true => {
                decoder.decode_str_with(unsafe { std::str::from_utf8_unchecked(payload) }, then)
            }
            false => decoder.decode_with(payload, then),
        }
    });
    INPUT.with_borrow_mut(|input| {
        if input.len() > KEPT_INPUT_BYTES {
            *input = vec![0; KEPT_INPUT_BYTES];
        }
    });
    let reply = match decoded {
        Ok(Ok(answer)) => return answer,
        Ok(Err(canonical)) => canonical,
        Err(error) => rejected(&error),
    };
    REPLY.with_borrow_mut(|kept| {
        *kept = reply;
        kept.len()
    })
}

/// Where the last decode's [`Tape`] is: `slot::LEN` doubles.
#[wasm_bindgen(js_name = wireTape)]
pub fn tape() -> *const f64 {
    TAPE.with_borrow(|tape| tape.0.as_ptr())
}

/// Where the last decode's reply is (its length is what [`decode_input`]
/// returned).
#[wasm_bindgen(js_name = wireReply)]
pub fn reply() -> *const u8 {
    REPLY.with_borrow(|reply| reply.as_ptr())
}

/// Traps, as an allocation failure or a bug would: the wrapper's tests use it
/// to check that the package replaces a trapped instance.
#[wasm_bindgen(js_name = wireTrap)]
pub fn trap() {
    #[cfg(target_arch = "wasm32")]
    core::arch::wasm32::unreachable();
}

/// SPEC section 1's rule for a stream entry ([`crate::entry::check_entry`]),
/// for `decodeStreamEntry`, which decodes the payload itself: `fields` the
/// entry's field names as a JSON array (text costs less glue than a
/// `Vec<String>`), `has_data` whether it has a `data` field, `oversized`
/// the size of one left unread. Replies with nothing, or `!REASON` and a
/// space before the rejection's JSON (whose own reason is not the entry's).
#[wasm_bindgen(js_name = wireCheckEntry)]
pub fn check_entry_value(
    fields: &str,
    has_data: bool,
    oversized: Option<f64>,
    max_payload_bytes: f64,
) -> String {
    let data = match (oversized, has_data) {
        // Saturating: a size is a whole number of bytes.
        (Some(size), _) => EntryData::Oversized(size as usize),
        (None, true) => EntryData::Bytes(&[]),
        (None, false) => EntryData::Missing,
    };
    let names = match json::parse_json(fields, Keep::Items(MAX_FIELDS, &Keep::Scalar)) {
        Ok(Json::Array(array)) => array.items,
        _ => Vec::new(),
    };
    let names: Vec<&str> = names
        .iter()
        .filter_map(|name| match name {
            Json::String(name) => Some(name.as_ref()),
            _ => None,
        })
        .collect();
    match check_entry(&names, data, max_payload_bytes as usize) {
        Ok(_) => String::new(),
        // `!REASON {"errors": ...}`: the errors through the serializer every
        // other rejection uses, rather than one more for `EntryError`.
        Err(error) => {
            let rejection = rejected(&DecodeError::from(ValidationError {
                errors: error.errors,
            }));
            let errors = rejection.get(1..).unwrap_or_default();
            format!("{REJECTED}{} {errors}", error.reason.as_str())
        }
    }
}

/// The field names of an entry read: far more than any entry has, and one
/// extra is enough to reject it.
const MAX_FIELDS: usize = 64;

/// A decision in a few words ([`Decision::summary`]), for the dashboard:
/// `kind` a decision kind's wire name, `decision` its JSON text. Empty when
/// they do not make a valid decision.
#[wasm_bindgen(js_name = wireDecisionSummary)]
pub fn decision_summary(kind: &str, decision: &str) -> String {
    let kind = DecisionKind::ALL.into_iter().find(|k| k.as_str() == kind);
    let json = json::parse_json(decision, crate::decision::KEEP);
    let (Some(kind), Ok(json)) = (kind, json) else {
        return String::new();
    };
    let mut errors = Errors::default();
    let decision = Decision::from_json(kind, &json, &Path::ROOT, &mut errors);
    errors
        .finish(decision)
        .map(|decision| decision.summary())
        .unwrap_or_default()
}

/// Validates an envelope given as JSON text (a `JSON.stringify`ed object) and
/// gives its canonical encoding: `encodeEnvelope` and the Standard Schema
/// validator. No size limit: the value is already in the caller's memory.
#[wasm_bindgen(js_name = wireEncode)]
pub fn encode_value(envelope: &str) -> String {
    reply_envelope(
        Decoder::new()
            .max_payload_bytes(usize::MAX)
            .decode_str(envelope),
        envelope.as_bytes(),
    )
}

/// Whether the envelope (JSON text) is valid and its decision is the one SPEC
/// section 3 gives for its prediction.
#[wasm_bindgen(js_name = wireVerify)]
pub fn verify_value(envelope: &str) -> bool {
    Decoder::new()
        .max_payload_bytes(usize::MAX)
        .decode_str(envelope)
        .is_ok_and(|envelope| verify_decision(&envelope))
}

/// Validates a prediction (JSON text); replies with its canonical JSON.
#[wasm_bindgen(js_name = wireValidatePrediction)]
pub fn validate_prediction(prediction: &str) -> String {
    match CrowdPrediction::from_json(prediction) {
        Ok(prediction) => written(|out| prediction.write_json(out)),
        Err(error) => rejected(&error),
    }
}

/// Runs the mapper for `kind` (a decision kind's wire name) on a prediction
/// (JSON text), whatever its source type, as the Rust mappers do.
#[wasm_bindgen(js_name = wireDecide)]
pub fn decide_value(kind: &str, prediction: &str) -> String {
    let prediction = match CrowdPrediction::from_json(prediction) {
        Ok(prediction) => prediction,
        Err(error) => return rejected(&error),
    };
    let decision = match DecisionKind::ALL.into_iter().find(|k| k.as_str() == kind) {
        Some(DecisionKind::Fomo2Signal) => {
            Decision::Fomo2Signal(crowd_to_fomo2_signal(&prediction))
        }
        Some(DecisionKind::PolymarketSide) => {
            Decision::PolymarketSide(crowd_to_polymarket_side(&prediction))
        }
        Some(DecisionKind::OddsoddyMultiplier) => {
            Decision::OddsoddyMultiplier(crowd_to_oddsoddy_multiplier(&prediction))
        }
        None => {
            return rejected(&whole_error(
                "kind",
                ErrorCode::LiteralError,
                format!("unknown decision kind {kind:?}"),
            ))
        }
    };
    written(|out| decision.write_json(out))
}

/// Builds an envelope from a prediction and `{correlationId?, meta?,
/// publishedAt?}` (both JSON text). Prediction errors have paths relative to
/// the prediction, option errors under `options.`.
#[wasm_bindgen(js_name = wireBuild)]
pub fn build_value(prediction: &str, options: &str) -> String {
    let prediction = CrowdPrediction::from_json(prediction);
    let options = build_options(options);
    let (prediction, options) = match (prediction, options) {
        (Ok(prediction), Ok(options)) => (prediction, options),
        (prediction, options) => {
            let mut errors = Vec::new();
            if let Err(error) = prediction {
                errors.extend(error.errors);
            }
            if let Err(error) = options {
                errors.extend(error.errors);
            }
            return rejected(&DecodeError::from(ValidationError { errors }));
        }
    };
    match build_envelope(prediction, options) {
        Ok(envelope) => envelope.to_json(),
        Err(error) => rejected(&error.into()),
    }
}

/// How the JSON-text path brings a JS value in: the text (from the
/// wrapper's `JSON.stringify`) read by the strict reader. Measured against
/// [`measure_from_value`] by `make bench`; not in the npm package.
#[cfg(feature = "measure-swb")]
#[wasm_bindgen(js_name = measureFromText)]
pub fn measure_from_text(text: &str) -> usize {
    match json::parse(text, crate::envelope::KEEP) {
        Ok(Json::Object(o)) => o.members.len(),
        _ => 0,
    }
}

/// How serde-wasm-bindgen would bring the same JS value in: walked through
/// the JS API into a tree, with no JSON text in between.
#[cfg(feature = "measure-swb")]
#[wasm_bindgen(js_name = measureFromValue)]
pub fn measure_from_value(value: JsValue) -> usize {
    match serde_wasm_bindgen::from_value::<serde_json::Value>(value) {
        Ok(serde_json::Value::Object(o)) => o.len(),
        _ => 0,
    }
}

fn reply_envelope(decoded: Result<CrowdPredictionEnvelope, DecodeError>, input: &[u8]) -> String {
    match decoded {
        Ok(envelope) => {
            let json = envelope.to_json();
            if json.as_bytes() == input {
                String::new()
            } else {
                json
            }
        }
        Err(error) => rejected(&error),
    }
}

/// The canonical JSON `write` writes.
fn written(write: impl FnOnce(&mut String)) -> String {
    let mut out = String::new();
    write(&mut out);
    out
}

fn rejected(error: &DecodeError) -> String {
    let mut reply = String::from(REJECTED);
    // Errors hold only strings: they serialize infallibly, and without
    // `serde_json`'s float formatting.
    reply.push_str(&serde_json::to_string(error).unwrap_or_default());
    reply
}

fn whole_error(path: &str, code: ErrorCode, message: String) -> DecodeError {
    ValidationError {
        errors: vec![FieldError::new(path, code, message)],
    }
    .into()
}

/// What `build_options` reads of the options object.
const OPTIONS: Keep = Keep::Fields(&[
    ("correlationId", Keep::Scalar),
    ("meta", Keep::Text),
    ("publishedAt", Keep::Scalar),
]);

fn build_options(text: &str) -> Result<BuildOptions, ValidationError> {
    let root = Path::ROOT;
    let path = root.key("options");
    let mut errors = Errors::default();
    let parsed = json::parse(text, OPTIONS)
        .map_err(|e| lax::Failure::new(ErrorCode::JsonInvalid, e.to_string()));
    let options = match parsed
        .as_ref()
        .map_err(Clone::clone)
        .and_then(validate::dict)
    {
        Ok(o) => Some(BuildOptions {
            correlation_id: option(o, "correlationId", &path, &mut errors, lax::owned_string),
            meta: option(o, "meta", &path, &mut errors, meta_from_json),
            published_at: option(o, "publishedAt", &path, &mut errors, Timestamp::from_json),
        }),
        Err(failure) => {
            errors.push_failure(&path, failure);
            None
        }
    };
    errors.finish(options)
}

/// An option that may be absent or `null`: JS callers pass `undefined` and
/// `null` alike for "not given". A value that does not coerce is reported
/// in `errors`.
fn option<'j, T>(
    o: &'j Object<'_>,
    key: &'static str,
    path: &Path<'_>,
    errors: &mut Errors,
    coerce: impl Fn(&'j Json<'_>) -> lax::Coerced<T>,
) -> Option<T> {
    let nullable = |value: &'j Json<'_>| match value {
        Json::Null => Ok(None),
        other => coerce(other).map(Some),
    };
    let f = Fields::new(o, path);
    f.optional(errors, key, nullable, any, || None).flatten()
}

#[cfg(test)]
mod tests {
    use crate::entry::SkipReason;

    #[test]
    fn the_typescript_skip_reasons_are_the_rust_ones() {
        // The custom section is consumed by its attribute: read this file.
        let union = include_str!("mod.rs")
            .split("export type SkipReason =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap_or_default();
        let typed: Vec<&str> = union
            .split('|')
            .map(|member| member.trim().trim_matches('"'))
            .filter(|member| !member.is_empty() && *member != "DecodeReason")
            .collect();
        let rust: Vec<&str> = SkipReason::TRANSPORT.iter().map(|r| r.as_str()).collect();
        assert_eq!(typed, rust);
    }
}

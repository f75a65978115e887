//! One validated codec for the `crowd_simulation` prediction stream.
//!
//! A crowd simulation publishes [`CrowdPrediction`]s on the Redis stream
//! [`DEFAULT_STREAM_NAME`], each wrapped in a versioned
//! [`CrowdPredictionEnvelope`] with a [`Decision`] for one of three consumers.
//! This crate is the contract of `SPEC.md` as code: the schema and its
//! validation, the three decision mappers, building, encoding, and decoding
//! with a reason for every rejection, bit for bit the same in native code,
//! in wasm and in the Python reference.
//!
//! ```
//! use crowd_envelope::*;
//!
//! // A producer: validate a prediction, wrap it, encode it.
//! let prediction = CrowdPrediction::from_json(r#"{
//!     "source_type": "fomo2_report", "source_id": "report-42",
//!     "question": "Will BTC close above 100k this week?",
//!     "probability": 0.81, "confidence": 0.9,
//!     "crowd": {"agents": 120, "bullish": 80, "bearish": 25, "neutral": 15},
//!     "generated_at": "2026-11-26T21:00:00Z"
//! }"#)?;
//! let envelope = build_envelope(prediction, BuildOptions::default())?;
//! let payload = encode_envelope(&envelope);
//!
//! // A consumer: decode, and branch on the decision.
//! let decoded = try_decode_envelope(&payload)?;
//! assert_eq!(decoded, envelope);
//! assert!(verify_decision(&decoded));
//! match &decoded.decision {
//!     Decision::Fomo2Signal(signal) => assert_eq!(signal.action, Fomo2Action::Buy),
//!     other => panic!("unexpected decision {other:?}"),
//! }
//!
//! // Anything else is rejected with a reason and the failing paths.
//! let err = try_decode_envelope(r#"{"schema_version": "2"}"#).unwrap_err();
//! assert_eq!(err.reason, DecodeReason::UnsupportedVersion);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Features: `schema` adds [`envelope_json_schema`]; `cli` builds the
//! `crowd-envelope` program; `wasm` adds the WebAssembly bindings behind the
//! npm package `crowd-envelope` (built by `make pkg`).
#![cfg_attr(
    not(test),
    deny(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )
)]
#![warn(missing_docs)]
// Two reads need it, each with its SAFETY argument: a SIMD load in wasm
// (json/scan.rs) and text JavaScript has already checked (wasm.rs).
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "schema")]
mod asyncapi;
mod datetime;
mod de;
mod decision;
mod decode;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod differential;
pub mod entry;
mod envelope;
mod error;
mod float;
mod json;
mod lax;
mod platform;
mod prediction;
#[cfg(feature = "redis")]
#[cfg_attr(docsrs, doc(cfg(feature = "redis")))]
pub mod redis;
#[cfg(feature = "schema")]
mod schema;
mod typed;
mod validate;
#[cfg(feature = "wasm")]
mod wasm;

#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub use asyncapi::asyncapi_document;
pub use datetime::{DateTimeError, Timestamp};
pub use decision::{
    crowd_to_fomo2_signal, crowd_to_oddsoddy_multiplier, crowd_to_polymarket_side, decide,
    Decision, DecisionKind, Fomo2Action, Fomo2Signal, OddsoddyMultiplier, PolymarketSide, Side,
    FOMO2_THRESHOLD, MIN_CONFIDENCE, ODDSODDY_MAX_MULTIPLIER, POLYMARKET_MAX_STAKE,
    POLYMARKET_MIN_EDGE,
};
pub use decode::{decode_envelope, try_decode_envelope, Decoder, DEFAULT_MAX_PAYLOAD_BYTES};
pub use envelope::{
    build_envelope, encode_envelope, new_correlation_id, verify_decision, BuildOptions,
    CrowdPredictionEnvelope, Meta, ARENA, SCHEMA_VERSION,
};
pub use error::{DecodeError, DecodeReason, ErrorCode, FieldError, ValidationError};
pub use json::MAX_DEPTH;
pub use prediction::{
    Crowd, CrowdPrediction, SourceType, MAX_AGENTS, MAX_DRIVERS, MAX_DRIVER_CHARS,
    MAX_QUESTION_CHARS, MAX_RATIONALE_CHARS, MAX_SOURCE_ID_CHARS,
};
#[cfg(feature = "schema")]
#[cfg_attr(docsrs, doc(cfg(feature = "schema")))]
pub use schema::{decode_result_json_schema, envelope_json_schema, prediction_json_schema};

/// The names a producer or consumer uses, for `use crowd_envelope::prelude::*`:
/// unlike a glob of the crate root, it brings no module named `redis` to
/// shadow a `redis` crate of your own.
pub mod prelude {
    pub use crate::{
        build_envelope, crowd_to_fomo2_signal, crowd_to_oddsoddy_multiplier,
        crowd_to_polymarket_side, decide, decode_envelope, encode_envelope, try_decode_envelope,
        verify_decision, BuildOptions, Crowd, CrowdPrediction, CrowdPredictionEnvelope, Decision,
        DecisionKind, DecodeError, DecodeReason, Decoder, ErrorCode, FieldError, Fomo2Action,
        Fomo2Signal, Meta, OddsoddyMultiplier, PolymarketSide, Side, SourceType, Timestamp,
        ValidationError, ARENA, DEFAULT_MAX_PAYLOAD_BYTES, DEFAULT_STREAM_NAME, SCHEMA_VERSION,
    };
}

// The README's Rust snippets run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

/// The Redis stream the crowd simulation publishes to.
pub const DEFAULT_STREAM_NAME: &str = "maf:arena:crowd_simulation:output";

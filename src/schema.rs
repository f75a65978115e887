//! The JSON Schema (draft 2020-12) of the envelope, generated from the Rust
//! types with `schemars`, for Ajv users and documentation.
//!
//! It describes the canonical form that [`crate::encode_envelope`] writes.
//! The decoder accepts more (Pydantic's lax coercions, absent defaults) and
//! checks what a schema cannot say (code-point lengths, the crowd sum).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde_json::{json, Value};

use crate::decision::{DecisionKind, Fomo2Signal, OddsoddyMultiplier, PolymarketSide};
use crate::error::{DecodeReason, FieldError};
use crate::prediction::{CrowdPrediction, SourceType};
use crate::Timestamp;

impl JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "format": "date-time",
            "description": "UTC, YYYY-MM-DDTHH:MM:SS[.ffffff]Z"
        })
    }
}

/// The JSON Schema of `CrowdPredictionEnvelope`, as a JSON value.
///
/// ```
/// let schema = crowd_envelope::envelope_json_schema();
/// assert_eq!(schema["properties"]["schema_version"]["const"], "1");
/// assert_eq!(schema["oneOf"].as_array().unwrap().len(), 3);
/// ```
pub fn envelope_json_schema() -> Value {
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let prediction = generator.subschema_for::<CrowdPrediction>();
    let variants = [
        (
            SourceType::Fomo2Report,
            generator.subschema_for::<Fomo2Signal>(),
        ),
        (
            SourceType::PolymarketBet,
            generator.subschema_for::<PolymarketSide>(),
        ),
        (
            SourceType::OddsoddyStrategy,
            generator.subschema_for::<OddsoddyMultiplier>(),
        ),
    ]
    .map(|(source, decision)| variant(source, decision));
    let definitions = generator.take_definitions(true);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "CrowdPredictionEnvelope",
        "description": "A crowd_simulation prediction and its decision, schema version 1 (canonical form).",
        "type": "object",
        "required": ["prediction", "decision", "decision_kind"],
        "properties": {
            "schema_version": {"const": crate::SCHEMA_VERSION, "default": crate::SCHEMA_VERSION},
            "arena": {"const": crate::ARENA, "default": crate::ARENA},
            "prediction": prediction,
            "decision": {"type": "object"},
            "decision_kind": {"enum": DecisionKind::ALL.map(DecisionKind::as_str)},
            "published_at": {"type": "string", "format": "date-time"},
            "correlation_id": {"type": "string"},
            "meta": {"type": "object"}
        },
        "oneOf": variants,
        "$defs": definitions,
    })
}

/// The JSON Schema of one result line of `crowd-envelope decode` (and of the
/// npm package's `tryDecodeEnvelope`): an accepted envelope, or a rejection
/// with its reason and every error's path, stable code and message.
///
/// ```
/// let schema = crowd_envelope::decode_result_json_schema();
/// let codes = schema["$defs"]["ErrorCode"]["oneOf"].as_array().unwrap();
/// assert!(codes.iter().any(|c| c["const"] == "crowd_sum_mismatch"));
/// ```
pub fn decode_result_json_schema() -> Value {
    let line_number = || json!({"type": "integer", "minimum": 1, "description": "with --lines: the payload's input line"});
    let mut generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let reason = generator.subschema_for::<DecodeReason>();
    let error = generator.subschema_for::<FieldError>();
    let mut definitions = generator.take_definitions(true);
    // The envelope's own definitions move up beside it, so that its
    // `#/$defs/...` references resolve from this document's root.
    let mut envelope = envelope_json_schema();
    if let Some(Value::Object(inner)) = envelope.as_object_mut().and_then(|e| e.remove("$defs")) {
        definitions.extend(inner);
    }
    if let Some(e) = envelope.as_object_mut() {
        e.remove("$schema");
    }
    definitions.insert("CrowdPredictionEnvelope".to_owned(), envelope);
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "DecodeResult",
        "description": "One decoded payload: the envelope, or why it was rejected (SPEC section 4).",
        "oneOf": [
            {
                "type": "object",
                "required": ["ok", "envelope"],
                "properties": {
                    "line": line_number(),
                    "ok": {"const": true},
                    "verify": {"type": "boolean", "description": "with decode --verify"},
                    "envelope": {"$ref": "#/$defs/CrowdPredictionEnvelope"}
                }
            },
            {
                "type": "object",
                "required": ["ok", "reason", "errors"],
                "properties": {
                    "line": line_number(),
                    "ok": {"const": false},
                    "reason": reason,
                    "errors": {"type": "array", "minItems": 1, "items": error}
                }
            }
        ],
        "$defs": definitions,
    })
}

/// The JSON Schema of a `CrowdPrediction` on its own (SPEC section 2), as a
/// producer writes one, for checking predictions before they are built
/// into envelopes.
///
/// ```
/// let schema = crowd_envelope::prediction_json_schema();
/// assert_eq!(schema["title"], "CrowdPrediction");
/// assert!(schema["required"].as_array().unwrap().iter().any(|f| f == "probability"));
/// ```
pub fn prediction_json_schema() -> Value {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let mut schema = generator
        .into_root_schema_for::<CrowdPrediction>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        object.insert("title".to_owned(), json!("CrowdPrediction"));
    }
    schema
}

/// One arm of the union: the source type, its decision kind and shape.
fn variant(source: SourceType, decision: Schema) -> Value {
    json!({
        "properties": {
            "prediction": {"properties": {"source_type": {"const": source.as_str()}}},
            "decision_kind": {"const": DecisionKind::for_source(source).as_str()},
            "decision": decision
        }
    })
}

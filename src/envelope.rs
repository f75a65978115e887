//! `CrowdPredictionEnvelope`: the versioned wrapper published on the stream
//! (SPEC section 4), and building, encoding and checking it.

use std::fmt;

use serde::ser::{Serialize, SerializeStruct, Serializer};
use serde_json::value::RawValue;

use crate::datetime::Timestamp;
use crate::decision::{decide, Decision, DecisionKind};
use crate::error::{DecodeError, ErrorCode, FieldError, ValidationError};
use crate::json::write::ObjectWriter;
use crate::json::{Json, Keep, Object};
use crate::lax;
use crate::prediction::{CrowdPrediction, SourceType};
use crate::validate::{self, any, Errors, Fields, Path};

/// The only schema version this crate reads and writes.
pub const SCHEMA_VERSION: &str = "1";
/// The arena every envelope names.
pub const ARENA: &str = "crowd_simulation";

/// What the decoder reads of an envelope: `meta` only as its text.
pub(crate) const KEEP: Keep = Keep::Fields(&[
    ("schema_version", Keep::Scalar),
    ("arena", Keep::Scalar),
    ("prediction", crate::prediction::KEEP),
    ("decision", crate::decision::KEEP),
    ("decision_kind", Keep::Scalar),
    ("published_at", Keep::Scalar),
    ("correlation_id", Keep::Scalar),
    ("meta", Keep::Text),
]);

/// Free-form operator metadata: a JSON object kept as the producer wrote it
/// (key order, number lexemes, escapes), minus insignificant whitespace.
///
/// The text was checked when the meta was made, so it is kept as a plain
/// string: a large `meta` is neither parsed again nor copied into a tree.
#[derive(Clone)]
pub struct Meta(Box<str>);

impl Meta {
    /// `{}`.
    pub fn new() -> Meta {
        Meta("{}".into())
    }

    /// Meta holding `map`, keys in the map's order.
    pub fn from_map(map: &serde_json::Map<String, serde_json::Value>) -> Meta {
        // A map of JSON values always serializes.
        Meta(
            serde_json::to_string(map)
                .unwrap_or_else(|_| "{}".to_owned())
                .into(),
        )
    }

    /// Meta from any value that serializes to a JSON object (a struct of
    /// your own, a map), with no `serde_json` of your own needed.
    ///
    /// ```
    /// #[derive(serde::Serialize)]
    /// struct Run { model: &'static str, seed: u64 }
    ///
    /// let meta = crowd_envelope::Meta::from_serialize(&Run { model: "m-7", seed: 42 })?;
    /// assert_eq!(meta.as_json(), r#"{"model":"m-7","seed":42}"#);
    /// # Ok::<(), crowd_envelope::DecodeError>(())
    /// ```
    pub fn from_serialize<T: serde::Serialize + ?Sized>(value: &T) -> Result<Meta, DecodeError> {
        let text = serde_json::to_string(value).map_err(|error| {
            DecodeError::from(ValidationError {
                errors: vec![FieldError::new("", ErrorCode::DictType, error.to_string())],
            })
        })?;
        Meta::parse(&text)
    }

    /// Meta from JSON text, which must be one object; checked as strictly as
    /// a payload is (duplicate keys, nesting, surrogates).
    pub fn parse(text: &str) -> Result<Meta, DecodeError> {
        let value = crate::json::parse_json(text, Keep::Text)?;
        match value {
            Json::Object(object) => Ok(Meta::from_object(&object)),
            other => Err(ValidationError {
                errors: vec![FieldError::new(
                    "",
                    ErrorCode::DictType,
                    format!("expected an object, found {}", other.describe()),
                )],
            }
            .into()),
        }
    }

    /// Meta from text already checked to be one compact JSON object.
    pub(crate) fn from_checked(text: String) -> Meta {
        Meta(text.into())
    }

    pub(crate) fn from_object(object: &Object<'_>) -> Meta {
        Meta(object.compact_text().into())
    }

    /// The object as compact JSON text.
    pub fn as_json(&self) -> &str {
        &self.0
    }

    /// Whether the object has no members.
    pub fn is_empty(&self) -> bool {
        self.as_json() == "{}"
    }

    /// The object as a `serde_json` map (fails only on numbers `serde_json`
    /// cannot hold, such as `1e400`).
    pub fn to_map(&self) -> Result<serde_json::Map<String, serde_json::Value>, serde_json::Error> {
        serde_json::from_str(self.as_json())
    }
}

impl Default for Meta {
    fn default() -> Meta {
        Meta::new()
    }
}

impl PartialEq for Meta {
    fn eq(&self, other: &Meta) -> bool {
        self.as_json() == other.as_json()
    }
}

impl fmt::Debug for Meta {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_json())
    }
}

impl Serialize for Meta {
    /// As raw JSON. [`encode_envelope`] splices the text in directly; this is
    /// for other serializers, which take it through `RawValue`.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        RawValue::from_string(self.0.to_string())
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

/// A prediction and its decision, as published on the stream.
///
/// `schema_version` and `arena` are constants ([`SCHEMA_VERSION`],
/// [`ARENA`]) and `decision_kind` is the [`Decision`]'s variant, so an
/// envelope cannot disagree with itself about them.
#[derive(Debug, Clone, PartialEq)]
pub struct CrowdPredictionEnvelope {
    /// The validated prediction.
    pub prediction: CrowdPrediction,
    /// The decision for the prediction's consumer.
    pub decision: Decision,
    /// When the envelope was built.
    pub published_at: Timestamp,
    /// An id for tracing; by default a fresh uuid4 as 32 hex digits.
    pub correlation_id: String,
    /// Operator metadata; consumers may ignore it.
    pub meta: Meta,
}

/// What [`build_envelope`] may override; everything defaults as SPEC says.
#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Instead of a fresh uuid4.
    pub correlation_id: Option<String>,
    /// Instead of `{}`.
    pub meta: Option<Meta>,
    /// Instead of now.
    pub published_at: Option<Timestamp>,
}

impl CrowdPredictionEnvelope {
    /// The kind of [`Self::decision`].
    pub fn decision_kind(&self) -> DecisionKind {
        self.decision.kind()
    }

    /// Compact JSON, fields in SPEC order: the same as [`encode_envelope`].
    pub fn to_json(&self) -> String {
        encode_envelope(self)
    }

    /// Checks every rule of SPEC sections 2 to 4, as decoding does, on an
    /// envelope built or changed in Rust; paths as in decoding
    /// (`prediction.crowd.bullish`).
    pub fn validate(&self) -> Result<(), ValidationError> {
        let mut errors = Errors::default();
        let root = Path::ROOT;
        self.prediction.check(&root.key("prediction"), &mut errors);
        self.decision.check(&root.key("decision"), &mut errors);
        pairing_rule(
            self.prediction.source_type,
            self.decision.kind(),
            &root.key("decision_kind"),
            &mut errors,
        );
        errors.finish(Some(()))
    }

    /// Reads an envelope from a parsed payload; the version was checked.
    pub(crate) fn from_json_value(
        value: &Json<'_>,
    ) -> Result<CrowdPredictionEnvelope, ValidationError> {
        let root = Path::ROOT;
        let mut errors = Errors::default();
        let o = match validate::model(value) {
            Ok(object) => object,
            Err(failure) => {
                errors.push_failure(&root, failure);
                return errors.finish(None);
            }
        };
        let envelope = envelope_fields(o, &root, &mut errors);
        errors.finish(envelope)
    }
}

fn envelope_fields(
    o: &Object<'_>,
    root: &Path<'_>,
    errors: &mut Errors,
) -> Option<CrowdPredictionEnvelope> {
    let f = Fields::new(o, root);
    f.optional(
        errors,
        "schema_version",
        constant(SCHEMA_VERSION),
        any,
        || (),
    );
    f.optional(errors, "arena", constant(ARENA), any, || ());
    let prediction_path = root.key("prediction");
    let prediction = match o.get("prediction") {
        Some(value) => CrowdPrediction::from_json_value(value, &prediction_path, errors),
        None => {
            errors.missing(&prediction_path);
            None
        }
    };
    let kind = f.required(errors, "decision_kind", DecisionKind::from_json, any);
    let decision_path = root.key("decision");
    let decision = match (o.get("decision"), kind) {
        (None, _) => {
            errors.missing(&decision_path);
            None
        }
        (Some(value), Some(kind)) => Decision::from_json(kind, value, &decision_path, errors),
        (Some(value), None) => {
            if let Err(failure) = validate::dict(value) {
                errors.push_failure(&decision_path, failure);
            }
            None
        }
    };
    if let (Some(source_type), Some(kind)) = (declared_source_type(o), kind) {
        pairing_rule(source_type, kind, &root.key("decision_kind"), errors);
    }
    let published_at = f.optional(
        errors,
        "published_at",
        Timestamp::from_json,
        any,
        Timestamp::now,
    );
    let correlation_id = f.optional(
        errors,
        "correlation_id",
        lax::owned_string,
        any,
        new_correlation_id,
    );
    let meta = f.optional(errors, "meta", meta_from_json, any, Meta::new);
    Some(CrowdPredictionEnvelope {
        prediction: prediction?,
        decision: decision?,
        published_at: published_at?,
        correlation_id: correlation_id?,
        meta: meta?,
    })
}

/// The prediction's `source_type` when it is readable, even if other
/// prediction fields are not, so a mismatched `decision_kind` is reported.
fn declared_source_type(envelope: &Object<'_>) -> Option<SourceType> {
    let Some(Json::Object(prediction)) = envelope.get("prediction") else {
        return None;
    };
    let source_type = prediction.get("source_type")?;
    SourceType::ALL
        .into_iter()
        .find(|kind| lax::string(source_type) == Ok(kind.as_str()))
}

fn pairing_rule(source_type: SourceType, kind: DecisionKind, path: &Path<'_>, errors: &mut Errors) {
    let wanted = DecisionKind::for_source(source_type);
    if kind != wanted {
        errors.push(
            path,
            ErrorCode::DecisionKindMismatch,
            format!(
                "expected {} for source_type {}, found {}",
                wanted.as_str(),
                source_type.as_str(),
                kind.as_str()
            ),
        );
    }
}

/// A coercion that accepts exactly the string `wanted`.
fn constant(wanted: &'static str) -> impl Fn(&Json<'_>) -> lax::Coerced<()> {
    move |value| match lax::string(value) {
        Ok(s) if s == wanted => Ok(()),
        _ => Err(lax::expected(
            ErrorCode::LiteralError,
            &format!("the string {wanted:?}"),
            value,
        )),
    }
}

pub(crate) fn meta_from_json(value: &Json<'_>) -> lax::Coerced<Meta> {
    validate::dict(value).map(Meta::from_object)
}

impl Serialize for CrowdPredictionEnvelope {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut s = serializer.serialize_struct("CrowdPredictionEnvelope", 8)?;
        serialize_fields_but_meta(self, &mut s)?;
        s.serialize_field("meta", &self.meta)?;
        s.end()
    }
}

fn serialize_fields_but_meta<S: SerializeStruct>(
    envelope: &CrowdPredictionEnvelope,
    s: &mut S,
) -> Result<(), S::Error> {
    s.serialize_field("schema_version", SCHEMA_VERSION)?;
    s.serialize_field("arena", ARENA)?;
    s.serialize_field("prediction", &envelope.prediction)?;
    s.serialize_field("decision", &envelope.decision)?;
    s.serialize_field("decision_kind", &envelope.decision.kind())?;
    s.serialize_field("published_at", &envelope.published_at)?;
    s.serialize_field("correlation_id", &envelope.correlation_id)
}

/// A fresh correlation id: a uuid4 as 32 lowercase hex digits.
pub fn new_correlation_id() -> String {
    uuid::Builder::from_random_bytes(crate::platform::random_bytes())
        .into_uuid()
        .simple()
        .to_string()
}

/// Wraps a prediction in an envelope with the decision SPEC section 3 gives
/// for its source type. The prediction is validated first; error paths are
/// relative to it (`crowd.bullish`).
///
/// ```
/// use crowd_envelope::*;
/// let prediction = CrowdPrediction::from_json(r#"{
///     "source_type": "polymarket_bet", "source_id": "m-1", "question": "Rain?",
///     "probability": 0.7, "confidence": 0.8, "market_probability": 0.5,
///     "crowd": {"agents": 10, "bullish": 6, "bearish": 3, "neutral": 1},
///     "generated_at": "2026-01-01T00:00:00Z"}"#).unwrap();
/// let envelope = build_envelope(prediction, BuildOptions::default()).unwrap();
/// assert_eq!(envelope.decision_kind(), DecisionKind::PolymarketSide);
/// assert_eq!(envelope.correlation_id.len(), 32);
/// ```
pub fn build_envelope(
    prediction: CrowdPrediction,
    options: BuildOptions,
) -> Result<CrowdPredictionEnvelope, ValidationError> {
    prediction.validate()?;
    Ok(CrowdPredictionEnvelope {
        decision: decide(&prediction),
        prediction,
        published_at: options.published_at.unwrap_or_else(Timestamp::now),
        correlation_id: options.correlation_id.unwrap_or_else(new_correlation_id),
        meta: options.meta.unwrap_or_default(),
    })
}

/// Compact JSON, fields in the order of SPEC section 4, date-times as SPEC
/// section 5 writes them.
///
/// The same bytes as `serde_json::to_string` of the envelope, written
/// directly, `meta` spliced in as the text it already is.
pub fn encode_envelope(envelope: &CrowdPredictionEnvelope) -> String {
    let mut out = String::with_capacity(512 + envelope.meta.as_json().len());
    let mut o = ObjectWriter::new(&mut out);
    o.plain("schema_version", SCHEMA_VERSION);
    o.plain("arena", ARENA);
    envelope.prediction.write_json(o.key("prediction"));
    envelope.decision.write_json(o.key("decision"));
    o.plain("decision_kind", envelope.decision.kind().as_str());
    o.plain("published_at", envelope.published_at);
    o.string("correlation_id", &envelope.correlation_id);
    o.key("meta").push_str(envelope.meta.as_json());
    o.end();
    out
}

/// Whether the envelope's decision is the one SPEC section 3 gives for its
/// prediction, bit for bit. Decoding never recomputes decisions (a producer
/// may use other thresholds); this is the separate, explicit check.
pub fn verify_decision(envelope: &CrowdPredictionEnvelope) -> bool {
    decide(&envelope.prediction).bit_identical(&envelope.decision)
}

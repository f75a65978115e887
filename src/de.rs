//! `Deserialize` for the wire types, through the codec: the same lax
//! reading and validation as `from_json` and the decoder, so a value held
//! in a serde struct of your own is as checked as one read off the stream.
//! They read from any self-describing format (JSON, YAML, MessagePack, ...)
//! through serde's data model, where a number keeps its value but not its
//! lexeme: `meta`'s `2.50` comes back as `2.5` (decode the payload itself to
//! keep the producer's bytes).
//!
//! ```
//! use crowd_envelope::prelude::*;
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Serialize, Deserialize)]
//! struct Order {
//!     envelope: CrowdPredictionEnvelope,
//!     note: String,
//! }
//!
//! let prediction = CrowdPrediction::from_json(r#"{"source_type": "fomo2_report",
//!     "source_id": "r", "question": "Up?", "probability": 0.8, "confidence": 0.9,
//!     "crowd": {"agents": 3, "bullish": 2, "bearish": 1, "neutral": 0},
//!     "generated_at": "2026-01-01T00:00:00Z"}"#)?;
//! let order = Order { envelope: build_envelope(prediction, BuildOptions::default())?, note: "x".into() };
//! let text = serde_json::to_string(&order)?;
//! let back: Order = serde_json::from_str(&text)?;
//! assert_eq!(back.envelope, order.envelope);
//!
//! // An invalid envelope is refused, with the decoder's reasons.
//! let broken = text.replace("\"probability\":0.8", "\"probability\":5.0");
//! assert!(serde_json::from_str::<Order>(&broken).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};

use crate::json::{parse_json, Keep};
use crate::{CrowdPrediction, CrowdPredictionEnvelope, Decoder, Meta, Timestamp};

/// The value as JSON text (key order and float digits kept).
fn json_text<'de, D: Deserializer<'de>>(deserializer: D) -> Result<String, D::Error> {
    Ok(serde_json::Value::deserialize(deserializer)?.to_string())
}

impl<'de> Deserialize<'de> for CrowdPredictionEnvelope {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = json_text(deserializer)?;
        // Already in memory: no size limit.
        Decoder::new()
            .max_payload_bytes(usize::MAX)
            .decode_str(&text)
            .map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for CrowdPrediction {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        CrowdPrediction::from_json(&json_text(deserializer)?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Meta {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Meta::parse(&json_text(deserializer)?).map_err(D::Error::custom)
    }
}

/// A date-time as SPEC section 5 reads one: a string in any form Pydantic
/// reads, or a Unix timestamp in seconds or milliseconds.
impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = json_text(deserializer)?;
        let json = parse_json(&text, Keep::Scalar).map_err(D::Error::custom)?;
        Timestamp::from_json(&json).map_err(|failure| D::Error::custom(failure.message))
    }
}

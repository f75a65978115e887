//! Envelopes for the Redis tests, and publishing them (for the test files
//! built with the `redis` feature: `#[path = "common/envelopes.rs"]`).
#![allow(dead_code)]

use crowd_envelope::redis::{publish_envelope, PublishOptions, RedisUrl};
use crowd_envelope::{build_envelope, BuildOptions, CrowdPrediction, CrowdPredictionEnvelope};

pub const STREAM: &str = "maf:arena:crowd_simulation:output";

/// A valid envelope, told apart by its correlation id `c-<n>`.
pub fn envelope(n: usize) -> CrowdPredictionEnvelope {
    let prediction = CrowdPrediction::from_json(
        r#"{"source_type": "oddsoddy_strategy", "source_id": "s-1", "question": "Back the home side?",
            "probability": 0.6, "confidence": 0.7, "market_probability": 0.45,
            "crowd": {"agents": 100, "bullish": 55, "bearish": 30, "neutral": 15},
            "generated_at": "2026-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    let options = BuildOptions {
        correlation_id: Some(format!("c-{n}")),
        ..BuildOptions::default()
    };
    build_envelope(prediction, options).unwrap()
}

/// Publishes `envelope(n)` for each `n` of `range`, one command each; gives the ids.
pub async fn publish_n(url: &RedisUrl, stream: &str, range: std::ops::Range<usize>) -> Vec<String> {
    let mut conn = url.connect().await.unwrap();
    let mut ids = Vec::new();
    for n in range {
        ids.push(
            publish_envelope(&mut conn, stream, &envelope(n), PublishOptions::default())
                .await
                .unwrap(),
        );
    }
    ids
}

//! A producer: builds envelopes and publishes them over a redis-rs
//! `ConnectionManager` (which reconnects by itself), keeping each in an
//! outbox of its own type on the way, as a service with a retry queue would.
//!
//! `cargo run --example publish --features redis -- [REDIS_URL] [COUNT]`
//! prints the id of each entry published.

use crowd_envelope::prelude::*;
use crowd_envelope::redis::{publish_envelope, redis, PublishOptions};
use serde::{Deserialize, Serialize};

/// What the service keeps until Redis has the envelope.
#[derive(Serialize, Deserialize)]
struct Outbox {
    envelope: CrowdPredictionEnvelope,
    attempts: u32,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .unwrap_or_else(|| "redis://127.0.0.1:6379".into());
    let count: usize = args.next().map_or(Ok(3), |n| n.parse())?;

    let mut redis = redis::Client::open(url)?.get_connection_manager().await?;
    for n in 0..count {
        let prediction = CrowdPrediction::from_json(&format!(
            r#"{{"source_type": "polymarket_bet", "source_id": "market-{n}",
                "question": "Will it rain in Lisbon on day {n}?",
                "probability": 0.64, "confidence": 0.77, "market_probability": 0.52,
                "crowd": {{"agents": 200, "bullish": 121, "bearish": 55, "neutral": 24}},
                "generated_at": "2026-11-26T21:16:00Z"}}"#
        ))?;
        let envelope = build_envelope(prediction, BuildOptions::default())?;
        // Through the outbox's own serde form and back: validated again.
        let stored = serde_json::to_string(&Outbox {
            envelope,
            attempts: 0,
        })?;
        let outbox: Outbox = serde_json::from_str(&stored)?;
        let id = publish_envelope(
            &mut redis,
            DEFAULT_STREAM_NAME,
            &outbox.envelope,
            PublishOptions::max_len(100_000),
        )
        .await?;
        println!("{id}");
    }
    Ok(())
}

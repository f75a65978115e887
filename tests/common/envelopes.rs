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

/// Ids a spawned follower or consumer has delivered, in delivery order.
pub type Delivered = std::sync::Arc<std::sync::Mutex<Vec<String>>>;

/// A follower of `stream` from its start, spawned; its envelopes' ids.
pub fn spawn_follower(url: &RedisUrl, stream: &str) -> (Delivered, tokio::task::JoinHandle<()>) {
    use crowd_envelope::redis::{follow_envelopes, FollowOptions, StreamItem};
    use futures_util::StreamExt;
    let delivered = Delivered::default();
    let sink = std::sync::Arc::clone(&delivered);
    let mut options = FollowOptions::after("0");
    options.block = std::time::Duration::from_millis(200);
    let follow = follow_envelopes(url.clone(), stream.to_owned(), options);
    let task = tokio::spawn(async move {
        futures_util::pin_mut!(follow);
        while let Some(item) = follow.next().await {
            if let Ok(StreamItem::Envelope(entry)) = item {
                sink.lock().unwrap().push(entry.id);
            }
        }
    });
    (delivered, task)
}

/// A consumer in `group` from the stream's start, spawned; the ids it handled.
pub fn spawn_consumer(
    url: &RedisUrl,
    stream: &str,
    group: &str,
) -> (
    Delivered,
    tokio::task::JoinHandle<Result<(), crowd_envelope::redis::TransportError>>,
) {
    use crowd_envelope::redis::{GroupConsumer, GroupOptions, StreamEnvelope};
    let delivered = Delivered::default();
    let sink = std::sync::Arc::clone(&delivered);
    let mut options = GroupOptions::new(group, "c1");
    options.start_id = "0".to_owned();
    options.block = std::time::Duration::from_millis(200);
    let mut consumer = GroupConsumer::new(url.clone(), stream.to_owned(), options);
    let task = tokio::spawn(async move {
        let handler = move |entry: StreamEnvelope| {
            sink.lock().unwrap().push(entry.id);
            async { Ok::<(), String>(()) }
        };
        consumer.run(handler, std::future::pending()).await
    });
    (delivered, task)
}

//! Redis throughput and latency for `make bench` (which starts the server
//! and names it in `CROWD_BENCH_REDIS_URL`): pipelined publishing, and the
//! time from `XADD` to delivery by a follower. Prints JSON on stdout.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crowd_envelope::redis::*;
use crowd_envelope::*;
use futures_util::StreamExt;

const PUBLISHED: usize = 50_000;
const PIPELINE: usize = 100;
/// Pipelines in flight at once on the one multiplexed connection, as a
/// producer with work queued would send them.
const IN_FLIGHT: usize = 4;
const LATENCY_SAMPLES: usize = 2_000;

fn envelope(n: usize) -> CrowdPredictionEnvelope {
    let prediction = CrowdPrediction::from_json(
        r#"{"source_type": "polymarket_bet", "source_id": "0x5f3a9c2e41d7",
            "question": "Will the Federal Reserve cut interest rates at its December meeting?",
            "probability": 0.64, "confidence": 0.77, "market_probability": 0.52,
            "crowd": {"agents": 200, "bullish": 121, "bearish": 55, "neutral": 24},
            "rationale": "Agents weighted the softening labour data over hawkish guidance.",
            "drivers": ["labour market", "CPI trend"], "generated_at": "2026-11-26T21:16:00Z"}"#,
    )
    .expect("a valid prediction");
    let options = BuildOptions {
        correlation_id: Some(format!("bench-{n}")),
        ..BuildOptions::default()
    };
    build_envelope(prediction, options).expect("valid")
}

async fn publish_throughput(url: &RedisUrl) -> f64 {
    let mut conn = url.connect().await.expect("redis");
    let batch: Vec<_> = (0..PIPELINE).map(envelope).collect();
    let start = Instant::now();
    for _ in 0..PUBLISHED / PIPELINE {
        publish_envelopes(
            &mut conn,
            "bench:publish",
            &batch,
            PublishOptions::default(),
        )
        .await
        .expect("published");
    }
    PUBLISHED as f64 / start.elapsed().as_secs_f64()
}

async fn follow_latency(url: &RedisUrl) -> Vec<f64> {
    let options = FollowOptions {
        block: Duration::from_secs(1),
        ..FollowOptions::default()
    };
    let follow = follow_envelopes(url.clone(), "bench:follow", options);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let receiver = tokio::spawn(async move {
        futures_util::pin_mut!(follow);
        let mut ready = Some(ready_tx);
        let mut arrivals = HashMap::new();
        // The first read pins `$`; give it a moment before publishing.
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(ready) = ready.take() {
            let _ = ready.send(());
        }
        while arrivals.len() < LATENCY_SAMPLES {
            if let Some(Ok(StreamItem::Envelope(entry))) = follow.next().await {
                arrivals.insert(entry.envelope.correlation_id, Instant::now());
            }
        }
        arrivals
    });
    let _ = ready_rx.await;
    let mut conn = url.connect().await.expect("redis");
    let mut sent = HashMap::new();
    for n in 0..LATENCY_SAMPLES {
        let envelope = envelope(n);
        sent.insert(envelope.correlation_id.clone(), Instant::now());
        publish_envelope(
            &mut conn,
            "bench:follow",
            &envelope,
            PublishOptions::default(),
        )
        .await
        .expect("published");
        tokio::time::sleep(Duration::from_micros(500)).await;
    }
    let arrivals = receiver.await.expect("follower");
    let mut micros: Vec<f64> = sent
        .iter()
        .filter_map(|(id, at)| Some(arrivals.get(id)?.duration_since(*at).as_secs_f64() * 1e6))
        .collect();
    micros.sort_by(f64::total_cmp);
    micros
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let Ok(url) = std::env::var("CROWD_BENCH_REDIS_URL") else {
        eprintln!("bench (redis): CROWD_BENCH_REDIS_URL is not set; run `make bench`");
        return;
    };
    let url = RedisUrl::parse(&url).expect("a Redis URL");
    eprintln!("bench (redis): publishing {PUBLISHED} envelopes, {PIPELINE} per pipeline");
    let per_second = publish_throughput(&url).await;
    eprintln!("bench (redis): follow latency over {LATENCY_SAMPLES} envelopes");
    let latencies = follow_latency(&url).await;
    println!(
        "{}",
        serde_json::json!({
            "publish": {"envelopes": PUBLISHED, "pipeline": PIPELINE, "inFlight": IN_FLIGHT, "perSecond": per_second},
            "follow": {
                "samples": latencies.len(),
                "p50Micros": percentile(&latencies, 0.5),
                "p99Micros": percentile(&latencies, 0.99),
                "maxMicros": latencies.last().copied().unwrap_or(f64::NAN),
            },
            "payloadBytes": envelope(0).to_json().len(),
        })
    );
}

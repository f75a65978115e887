//! Redis throughput and latency for `make bench` (which starts the server
//! and names it in `CROWD_BENCH_REDIS_URL`): pipelined publishing, the
//! time from `XADD` to delivery by a follower, and a group consumer whose
//! handler waits 1 ms (I/O-bound) run one at a time and 8 at once. Prints
//! JSON on stdout.

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
/// Entries a group consumer handles with a handler that waits 1 ms.
const WAITING: usize = 5_000;

/// The typical payload of every other benchmark, the same bytes that the
/// redis-benchmark ceiling run sends (`CROWD_BENCH_PAYLOAD`, set by
/// benches/run.sh), decoded once.
fn typical() -> CrowdPredictionEnvelope {
    let payload =
        std::env::var("CROWD_BENCH_PAYLOAD").expect("CROWD_BENCH_PAYLOAD: run `make bench`");
    try_decode_envelope(&payload).expect("the typical payload decodes")
}

/// The typical envelope with its own correlation id, for the latency run.
fn envelope(template: &CrowdPredictionEnvelope, n: usize) -> CrowdPredictionEnvelope {
    CrowdPredictionEnvelope {
        correlation_id: format!("bench-{n}"),
        ..template.clone()
    }
}

/// `IN_FLIGHT` tasks share the one multiplexed connection, each sending its
/// pipelines as soon as the previous one is answered, so that many
/// pipelines are in flight at once.
async fn publish_throughput(url: &RedisUrl, template: &CrowdPredictionEnvelope) -> f64 {
    let conn = url.connect().await.expect("redis");
    let batch: Vec<_> = std::iter::repeat_n(template.clone(), PIPELINE).collect();
    let start = Instant::now();
    let tasks: Vec<_> = (0..IN_FLIGHT)
        .map(|_| {
            let (mut conn, batch) = (conn.clone(), batch.clone());
            tokio::spawn(async move {
                for _ in 0..PUBLISHED / PIPELINE / IN_FLIGHT {
                    publish_envelopes(
                        &mut conn,
                        "bench:publish",
                        &batch,
                        PublishOptions::default(),
                    )
                    .await
                    .expect("published");
                }
            })
        })
        .collect();
    for task in tasks {
        task.await.expect("publisher");
    }
    PUBLISHED as f64 / start.elapsed().as_secs_f64()
}

async fn follow_latency(url: &RedisUrl, template: &CrowdPredictionEnvelope) -> Vec<f64> {
    // From the start of the (fresh) stream, not `$`: the follower pins `$`
    // only at its first read, and entries published before that would be
    // missed, leaving the run waiting for them forever.
    let mut options = FollowOptions::after("0-0");
    options.block = Duration::from_secs(1);
    let follow = follow_envelopes(url.clone(), "bench:follow", options);
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel();
    let receiver = tokio::spawn(async move {
        futures_util::pin_mut!(follow);
        let mut arrivals = HashMap::new();
        let _ = ready_tx.send(());
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
        let envelope = envelope(template, n);
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

/// Entries per second through a group consumer whose handler sleeps 1 ms,
/// `concurrency` at once, over `WAITING` entries published beforehand; and
/// how long the handler took on average, in milliseconds (Tokio's timer
/// rounds a 1 ms sleep up to its next tick): the ceiling is
/// `concurrency` / that.
async fn waiting_handler(
    url: &RedisUrl,
    template: &CrowdPredictionEnvelope,
    concurrency: usize,
) -> (f64, f64) {
    let stream = format!("bench:group:{concurrency}");
    let mut conn = url.connect().await.expect("redis");
    let batch: Vec<_> = std::iter::repeat_n(template.clone(), PIPELINE).collect();
    for _ in 0..WAITING / PIPELINE {
        publish_envelopes(&mut conn, &stream, &batch, PublishOptions::default())
            .await
            .expect("published");
    }
    let mut options = GroupOptions::new("bench", "waiting");
    options.start_id = "0".to_owned();
    options.limit = Some(WAITING as u64);
    options.concurrency = concurrency;
    let mut consumer = GroupConsumer::new(url.clone(), stream, options);
    let busy = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let handler = |_entry: StreamEnvelope| {
        let busy = busy.clone();
        async move {
            let start = Instant::now();
            tokio::time::sleep(Duration::from_millis(1)).await;
            let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
            busy.fetch_add(nanos, std::sync::atomic::Ordering::Relaxed);
            Ok::<(), String>(())
        }
    };
    let start = Instant::now();
    consumer
        .run(handler, std::future::pending())
        .await
        .expect("consumed");
    let per_second = WAITING as f64 / start.elapsed().as_secs_f64();
    assert_eq!(consumer.stats().handled, WAITING as u64);
    let busy = busy.load(std::sync::atomic::Ordering::Relaxed) as f64;
    (per_second, busy / WAITING as f64 / 1e6)
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
    eprintln!("bench (redis): publishing {PUBLISHED} envelopes, {PIPELINE} per pipeline, {IN_FLIGHT} in flight");
    let template = typical();
    let per_second = publish_throughput(&url, &template).await;
    eprintln!("bench (redis): follow latency over {LATENCY_SAMPLES} envelopes");
    let latencies = follow_latency(&url, &template).await;
    eprintln!("bench (redis): group consumer, {WAITING} entries, a handler that sleeps 1 ms, 1 and 8 at once");
    let (one_at_a_time, _) = waiting_handler(&url, &template, 1).await;
    let (eight_at_once, handler_millis) = waiting_handler(&url, &template, 8).await;
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
            "waitingHandler": {
                "entries": WAITING,
                "sleepMillis": 1,
                "concurrency1PerSecond": one_at_a_time,
                "concurrency8PerSecond": eight_at_once,
                "handlerMillis": handler_millis,
            },
            "payloadBytes": template.to_json().len(),
        })
    );
}

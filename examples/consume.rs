//! A fleet member: a consumer in group `bots` whose handler is an async
//! closure keeping state (a tally it changes in place), stopping after
//! COUNT entries; and what to do with a transport error, retry or give up.
//!
//! `cargo run --example consume --features redis -- [REDIS_URL] [COUNT]`

use std::collections::BTreeMap;

use crowd_envelope::redis::{GroupConsumer, GroupOptions, RedisUrl, TransportError};
use crowd_envelope::DEFAULT_STREAM_NAME;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = RedisUrl::parse(
        &args
            .next()
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
    )?;
    let count: u64 = args.next().map_or(Ok(3), |n| n.parse())?;

    // Nothing listens on port 1: a transient error, worth retrying later.
    let nowhere = RedisUrl::parse("redis://127.0.0.1:1")?;
    match nowhere.connect().await {
        Err(error) if error.is_retryable() => eprintln!("transient, would retry: {error}"),
        Err(error) => return Err(error.into()),
        Ok(_) => eprintln!("something listens on port 1"),
    }

    let mut tally: BTreeMap<String, u64> = BTreeMap::new();
    let mut options = GroupOptions::new("bots", "example");
    options.start_id = "0".into();
    options.limit = Some(count);
    let mut consumer = GroupConsumer::new(url, DEFAULT_STREAM_NAME, options);
    // An async closure may borrow what it captures mutably; its consumer is
    // awaited here rather than spawned (GroupConsumer::run_async says why).
    let handler = async |entry: crowd_envelope::redis::StreamEnvelope| {
        let kind = entry.envelope.decision_kind().as_str();
        *tally.entry(kind.to_owned()).or_default() += 1;
        Ok::<(), std::convert::Infallible>(())
    };
    let ran: Result<(), TransportError> = consumer.run_async(handler, std::future::pending()).await;
    ran?;
    for (kind, n) in &tally {
        println!("{kind} {n}");
    }
    Ok(())
}

//! A reader: follows the stream from its start and prints each decision,
//! and each entry it skips with the reason, until it has seen COUNT
//! envelopes.
//!
//! `cargo run --example follow --features redis -- [REDIS_URL] [COUNT]`

use crowd_envelope::prelude::*;
use crowd_envelope::redis::{follow_envelopes, FollowOptions, RedisUrl, StreamItem};
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let url = RedisUrl::parse(
        &args
            .next()
            .unwrap_or_else(|| "redis://127.0.0.1:6379".into()),
    )?;
    let count: usize = args.next().map_or(Ok(3), |n| n.parse())?;

    let follow = follow_envelopes(url, DEFAULT_STREAM_NAME, FollowOptions::after("0"));
    futures_util::pin_mut!(follow);
    let mut seen = 0;
    while seen < count {
        match follow.next().await {
            Some(Ok(StreamItem::Envelope(entry))) => {
                seen += 1;
                match &entry.envelope.decision {
                    Decision::PolymarketSide(bet) => {
                        println!("{} {} {}", entry.id, bet.side.as_str(), bet.reason)
                    }
                    other => println!("{} {}", entry.id, other.reason()),
                }
            }
            Some(Ok(StreamItem::Skipped(skipped))) => {
                eprintln!("skipped {} ({})", skipped.id, skipped.reason)
            }
            // A lost connection: the follower reconnects by itself.
            Some(Err(error)) => eprintln!("{error}"),
            None => break,
        }
    }
    Ok(())
}

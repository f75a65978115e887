//! The one follower of the stream that feeds every dashboard client, the
//! one shared connection for everything else `serve` asks of Redis, and
//! whether Redis answers: so the Redis connections `serve` holds do not
//! grow with its viewers.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{FutureExt as _, Stream, StreamExt};
use tokio::sync::{broadcast, watch, Mutex};

use super::bodies::{entry_body, gap_body};
use super::Site;
use crowd_envelope::redis::Connection;
use crowd_envelope::redis::{
    follow_entries, stream_id_parts, FollowOptions, Followed, GapReason, RawEntry, RedisUrl,
    StreamItem, TransportError,
};
use crowd_envelope::Decoder;

/// Entries in one event at most, and the payload bytes after which a
/// followed batch is sent. A browser pays for each event more than for its
/// JSON: a burst of 2,000 one-entry events took one 80 ms task in Chromium.
pub(super) const BATCH_ENTRIES: usize = 100;
const BATCH_BYTES: usize = 64 * 1024;
/// Batches the hub keeps for clients that are behind: a client further
/// behind than this is dropped (the page reconnects and resumes). With
/// entries at most the size limit, this bounds what the hub holds.
const BACKLOG: usize = 32;
/// Entries per read of the hub's follower.
const FOLLOW_COUNT: usize = 32;

/// One entry as every client gets it: its id, for ordering against what a
/// client already has, and its JSON body (see [`entry_body`]).
pub(super) struct Relayed {
    pub(super) key: (u64, u64),
    pub(super) id: String,
    pub(super) body: String,
}

/// What the hub hands every client.
pub(super) enum Shared {
    /// Entries, oldest first.
    Entries(Vec<Relayed>),
    /// Entries the stream lost; `reset` when it was made anew: the id of
    /// the old stream after which it was.
    Gap { body: String, reset: Option<String> },
}

/// Whether Redis answers, as the terminal, `/metrics` and every page hear it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Health {
    Unknown,
    Up,
    Down(String),
}

pub(super) struct Hub {
    updates: broadcast::Sender<Arc<Shared>>,
    health: watch::Sender<Health>,
    redis: SharedRedis,
}

impl Hub {
    pub(super) fn new(url: RedisUrl) -> Hub {
        Hub {
            updates: broadcast::channel(BACKLOG).0,
            health: watch::channel(Health::Unknown).0,
            redis: SharedRedis {
                url,
                conn: Mutex::new(None),
            },
        }
    }

    pub(super) fn subscribe(&self) -> broadcast::Receiver<Arc<Shared>> {
        self.updates.subscribe()
    }

    pub(super) fn health(&self) -> watch::Receiver<Health> {
        self.health.subscribe()
    }

    /// The shared connection, connecting first if there is none.
    pub(super) async fn redis(&self) -> Result<Connection, TransportError> {
        self.redis.get().await
    }

    /// Drops the shared connection after a failure, so the next use
    /// connects afresh.
    pub(super) async fn redis_failed(&self, error: &TransportError) {
        if error.is_retryable() {
            *self.redis.conn.lock().await = None;
        }
        self.report(Health::Down(error.to_string()));
    }

    fn report(&self, health: Health) {
        self.health.send_if_modified(|now| {
            let changed = *now != health;
            *now = health;
            changed
        });
    }
}

struct SharedRedis {
    url: RedisUrl,
    conn: Mutex<Option<Connection>>,
}

impl SharedRedis {
    async fn get(&self) -> Result<Connection, TransportError> {
        let mut conn = self.conn.lock().await;
        match &*conn {
            Some(open) => Ok(open.clone()),
            None => Ok(conn.insert(self.url.connect().await?).clone()),
        }
    }
}

/// Follows the stream from now on for every client, and decodes each entry
/// natively for `/metrics` (the page decodes what it shows itself).
pub(super) async fn follow_for_all(site: Arc<Site>) {
    let decoder = Decoder::new().max_payload_bytes(site.max_payload_bytes);
    let mut options = FollowOptions::after("$");
    options.block = site.block;
    options.count = FOLLOW_COUNT;
    options.max_payload_bytes = site.max_payload_bytes;
    let follow = follow_entries(site.url.clone(), site.stream.clone(), options);
    futures_util::pin_mut!(follow);
    while let Some(next) = follow.next().await {
        let mut batch = Vec::new();
        let rest = take_ready(Some(next), &mut follow, &mut batch);
        for entry in &batch {
            match entry.decode(&decoder) {
                StreamItem::Envelope(envelope) => site.counters.ok(&envelope.id),
                StreamItem::Skipped(skipped) => {
                    site.counters.rejected(&skipped.id, skipped.reason.as_str());
                }
            }
        }
        if !batch.is_empty() {
            let relayed = batch.iter().map(|e| relayed(e, site.max_payload_bytes));
            // No receiver (no client now) is no error.
            let _ = site
                .hub
                .updates
                .send(Arc::new(Shared::Entries(relayed.collect())));
        }
        match rest {
            Some(Some(Ok(Followed::Gap(gap)))) => {
                site.counters.missed(gap.missed.unwrap_or(0));
                let reset = (gap.reason == GapReason::Reset).then(|| gap.after.clone());
                let _ = site.hub.updates.send(Arc::new(Shared::Gap {
                    body: gap_body(&gap),
                    reset,
                }));
            }
            // The follower reconnects by itself; `watch_redis` tells.
            Some(Some(Err(error))) => site.hub.report(Health::Down(error.to_string())),
            Some(None) => return,
            Some(Some(Ok(Followed::Entry(_)))) | None => {}
        }
    }
}

/// An entry as every client gets it.
pub(super) fn relayed(entry: &RawEntry, max_payload_bytes: usize) -> Relayed {
    Relayed {
        key: stream_id_parts(&entry.id).unwrap_or((0, 0)),
        id: entry.id.clone(),
        body: entry_body(entry, max_payload_bytes).to_string(),
    }
}

/// One follower item as `Option<Result<..>>`, as `StreamExt::next` gives it.
type Next = Option<Result<Followed, TransportError>>;

/// Moves `next`'s entry, and the entries after it that the follower has
/// ready now (up to [`BATCH_ENTRIES`] or [`BATCH_BYTES`]), into `entries`.
/// Gives the first item that is not an entry, or `None` when nothing more
/// is ready.
fn take_ready(
    mut next: Next,
    follow: &mut std::pin::Pin<&mut impl Stream<Item = Result<Followed, TransportError>>>,
    entries: &mut Vec<RawEntry>,
) -> Option<Next> {
    let mut bytes = 0;
    loop {
        match next {
            Some(Ok(Followed::Entry(entry))) => {
                bytes += entry.data.as_ref().map_or(0, Vec::len);
                entries.push(entry);
                if entries.len() >= BATCH_ENTRIES || bytes >= BATCH_BYTES {
                    return None;
                }
                // Polled once: a stream keeps its state, so nothing is lost
                // when the read it started is not ready yet.
                next = follow.next().now_or_never()?;
            }
            other => return Some(other),
        }
    }
}

/// Asks Redis every second whether it answers (on the shared connection),
/// and says so in the terminal when that changes; pages hear it from the
/// feed.
pub(super) async fn watch_redis(site: Arc<Site>) {
    loop {
        let pong = match site.hub.redis().await {
            Ok(mut conn) => crowd_envelope::redis::redis::cmd("PING")
                .query_async::<String>(&mut conn)
                .await
                .map(drop)
                .map_err(|e| TransportError::Command {
                    command: "PING",
                    message: e.to_string(),
                    source: Some(e),
                }),
            Err(error) => Err(error),
        };
        match pong {
            Ok(()) => {
                site.hub.report(Health::Up);
                if site.counters.redis_up(true) {
                    tracing::info!("Redis at {} answers", site.url);
                }
            }
            Err(error) => {
                site.hub.redis_failed(&error).await;
                if site.counters.redis_up(false) {
                    tracing::error!(
                        "Redis at {} does not answer: {error}; the dashboard shows it as down",
                        site.url
                    );
                }
            }
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

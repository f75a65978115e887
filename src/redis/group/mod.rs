//! Consumer groups: at-least-once delivery to a fleet of consumers.
//!
//! Every step that decides an entry's fate runs in Redis, atomically, and
//! only while the entry is still pending with this consumer (`take.lua`,
//! `settle.lua`): so however consumers race, an entry is acknowledged or
//! dead-lettered once, and a dead letter is written only with its
//! acknowledgement.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

use redis_rs::aio::MultiplexedConnection;

mod commands;

use super::{
    doubling, Backoff, Gap, RawEntry, RedisUrl, SkipReason, Skipped, StreamEnvelope, StreamItem,
    TransportError,
};
use crate::error::{ErrorCode, FieldError};
use crate::{Decoder, DEFAULT_MAX_PAYLOAD_BYTES};

/// Settings of a [`GroupConsumer`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct GroupOptions {
    /// The consumer group; created (with the stream) if missing.
    pub group: String,
    /// This consumer's name, unique within the group.
    pub consumer: String,
    /// Where a newly created group starts: `$` (default: new entries only),
    /// `0`, or an entry id; anything else is refused
    /// ([`TransportError::InvalidId`]).
    pub start_id: String,
    /// How long one `XREADGROUP` blocks.
    pub block: Duration,
    /// Entries per read.
    pub count: usize,
    /// Entries pending this long with another consumer (a dead one, say)
    /// are claimed. A consumer working through a batch keeps its entries
    /// from being claimed by renewing them every `claim_idle / 2`.
    pub claim_idle: Duration,
    /// Handler attempts after which an entry goes to the dead-letter stream.
    pub max_deliveries: u64,
    /// The wait before the first retry of an entry whose handler failed;
    /// it doubles with each attempt, up to `claim_idle`.
    pub retry_delay: Duration,
    /// Size limit per payload.
    pub max_payload_bytes: usize,
    /// Stop after this many entries handled or dead-lettered, having
    /// fetched no more than that (the rest stay in the stream for later).
    pub limit: Option<u64>,
    /// Copy a payload over `max_payload_bytes` into its dead letter, inside
    /// Redis (it never crosses the network). Off by default: the dead
    /// letter names the entry and its `size`, and the payload stays in the
    /// stream until it is trimmed.
    pub copy_oversized: bool,
}

impl GroupOptions {
    /// Defaults for `group` and `consumer`: start at `$`, block 5 s, 100 per
    /// read, claim after 30 s idle, retry after 1 s, 2 s, 4 s, ..., and
    /// dead-letter after 5 attempts.
    pub fn new(group: impl Into<String>, consumer: impl Into<String>) -> GroupOptions {
        GroupOptions {
            group: group.into(),
            consumer: consumer.into(),
            start_id: "$".to_owned(),
            block: Duration::from_secs(5),
            count: 100,
            claim_idle: Duration::from_secs(30),
            max_deliveries: 5,
            retry_delay: Duration::from_secs(1),
            max_payload_bytes: DEFAULT_MAX_PAYLOAD_BYTES,
            limit: None,
            copy_oversized: false,
        }
    }

    /// How long an entry that failed `attempts` times waits before its next
    /// attempt (none for an entry never tried, such as one left pending by
    /// a lost connection).
    pub(super) fn retry_after(&self, attempts: u64) -> Duration {
        match attempts {
            0 => Duration::ZERO,
            n => doubling(self.retry_delay, u32::try_from(n - 1).unwrap_or(u32::MAX))
                .min(self.claim_idle),
        }
    }
}

/// What a [`GroupConsumer`] has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Entries whose handler succeeded (and were acknowledged).
    pub handled: u64,
    /// Handler failures (each left the entry pending for a retry, or
    /// dead-lettered it at the last attempt).
    pub failed: u64,
    /// Entries claimed from idle consumers.
    pub claimed: u64,
    /// Entries written to the dead-letter stream, by reason.
    pub dead_lettered: BTreeMap<SkipReason, u64>,
    /// Entries trimmed from the stream before the group read them (each
    /// gap is logged with its id range, and told to
    /// [`GroupConsumer::on_gap`]).
    pub trimmed: u64,
}

/// What [`GroupConsumer::on_gap`] calls.
type OnGap = Box<dyn Fn(&Gap) + Send + Sync>;

/// One consumer of a group, delivering each entry at least once.
///
/// Entries are acknowledged only after the handler succeeds. A failed entry
/// is retried with doubling delays (its attempt count is kept in Redis, in
/// `<stream>:attempts:<group>`), and after `max_deliveries` attempts written
/// to `<stream>:dead` (raw `data`, reason, errors, delivery and attempt
/// counts) and acknowledged, atomically. An entry that does not decode goes
/// there at once. Its own pending entries come first, after a start or a
/// lost connection, so an interrupted batch is finished before newer
/// entries; entries left idle by a dead consumer are claimed.
pub struct GroupConsumer {
    url: RedisUrl,
    stream: String,
    dead_letter: String,
    attempts: String,
    options: GroupOptions,
    decoder: Decoder,
    conn: Option<MultiplexedConnection>,
    /// Whether entries may be pending with this consumer.
    own_pending: bool,
    /// When the first of its own failed entries is due again.
    next_retry: Option<Instant>,
    last_claim: Option<Instant>,
    stats: GroupStats,
    backoff: Backoff,
    on_gap: Option<OnGap>,
}

impl GroupConsumer {
    /// A consumer of `stream`; nothing connects until the first poll.
    pub fn new(url: RedisUrl, stream: impl Into<String>, options: GroupOptions) -> GroupConsumer {
        let stream = stream.into();
        GroupConsumer {
            url,
            dead_letter: super::dead_letter_key(&stream),
            attempts: format!("{stream}:attempts:{}", options.group),
            stream,
            decoder: Decoder::new().max_payload_bytes(options.max_payload_bytes),
            options,
            conn: None,
            own_pending: true,
            next_retry: None,
            last_claim: None,
            stats: GroupStats::default(),
            backoff: Backoff::default(),
            on_gap: None,
        }
    }

    /// Tells `on_gap` of every run of entries trimmed from the stream before
    /// the group read them, as a follower gives a [`Gap`]: the id range
    /// and how many (a count kept in Redis, so each gap is told once, to one
    /// consumer of the group).
    pub fn on_gap(mut self, on_gap: impl Fn(&Gap) + Send + Sync + 'static) -> GroupConsumer {
        self.on_gap = Some(Box::new(on_gap));
        self
    }

    /// The dead-letter stream, `<stream>:dead`.
    pub fn dead_letter_stream(&self) -> &str {
        &self.dead_letter
    }

    /// Counters since the consumer was made.
    pub fn stats(&self) -> &GroupStats {
        &self.stats
    }

    /// Handles entries until `stop` completes. Lost connections are retried
    /// with backoff; it returns an error only for what retrying cannot fix
    /// (an invalid `start_id`, a key that is not a stream: see
    /// [`TransportError::is_retryable`]).
    ///
    /// The handler is a closure returning a future. State the handler
    /// changes goes in the future by value (an `Arc`, a channel sender), as
    /// in `examples/consume.rs`; then the consumer's future is `Send` and
    /// can run in `tokio::spawn`. For an async closure that borrows its
    /// captured state mutably, see [`Self::run_async`].
    pub async fn run<H, Fut, E>(
        &mut self,
        handler: H,
        stop: impl Future<Output = ()>,
    ) -> Result<(), TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.drive(&mut Closure(handler), stop, |_| false).await
    }

    /// [`Self::run`] with an async closure (`async |entry| { .. }`), which
    /// may change the state it captures without an `Arc` or a lock:
    ///
    /// ```no_run
    /// # async fn demo(mut consumer: crowd_envelope::redis::GroupConsumer) -> Result<(), Box<dyn std::error::Error>> {
    /// let mut seen = Vec::new();
    /// consumer
    ///     .run_async(
    ///         async |entry| {
    ///             seen.push(entry.id);
    ///             Ok::<(), String>(())
    ///         },
    ///         tokio::time::sleep(std::time::Duration::from_secs(60)),
    ///     )
    ///     .await?;
    /// println!("handled {}", seen.len());
    /// # Ok(()) }
    /// ```
    ///
    /// Await it in place (in `main`, or in a task that owns the state):
    /// Rust cannot yet require an async closure's future to be `Send`, so
    /// the future of `run_async` is not accepted by `tokio::spawn`. To
    /// spawn a consumer, use [`Self::run`].
    pub async fn run_async<H, E>(
        &mut self,
        handler: H,
        stop: impl Future<Output = ()>,
    ) -> Result<(), TransportError>
    where
        H: AsyncFnMut(StreamEnvelope) -> Result<(), E>,
        E: fmt::Display,
    {
        self.drive(&mut AsyncClosure(handler), stop, |_| false)
            .await
    }

    /// Like [`Self::run`], and also returns once `done` says so of the
    /// counters (checked after each entry), or the `limit` is reached.
    /// Entries fetched but not handled when `done` says so stay pending with
    /// this consumer, which handles them first when it runs again (or
    /// another claims them after `claim_idle`); for an exact number with
    /// nothing left over, set [`GroupOptions::limit`] instead.
    pub async fn run_until<H, Fut, E>(
        &mut self,
        handler: H,
        stop: impl Future<Output = ()>,
        done: impl Fn(&GroupStats) -> bool,
    ) -> Result<(), TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.drive(&mut Closure(handler), stop, done).await
    }

    async fn drive<H: Handler>(
        &mut self,
        handler: &mut H,
        stop: impl Future<Output = ()>,
        done: impl Fn(&GroupStats) -> bool,
    ) -> Result<(), TransportError> {
        tokio::pin!(stop);
        while !done(&self.stats) && self.remaining() > 0 {
            tokio::select! {
                () = &mut stop => return Ok(()),
                () = self.backoff.wait() => {}
            }
            let polled = tokio::select! {
                () = &mut stop => return Ok(()),
                polled = self.poll_until(handler, &done) => polled,
            };
            match polled {
                Err(error) if !error.is_retryable() => return Err(error),
                Err(error) => {
                    tracing::error!(stream = %self.stream, group = %self.options.group, "consume: {error}; reconnecting");
                    self.backoff.failed();
                }
                Ok(_) => self.backoff.succeeded(),
            }
        }
        Ok(())
    }

    /// One round: its own pending entries that are due (all of them after
    /// a start or an error; failed ones once their retry delay has passed),
    /// then entries idle long enough to claim, then new entries (blocking
    /// up to `block`, or until a retry is due). Gives how many entries it
    /// processed. After an error the connection is dropped, so the next
    /// round connects afresh.
    pub async fn poll<H, Fut, E>(&mut self, handler: &mut H) -> Result<usize, TransportError>
    where
        H: FnMut(StreamEnvelope) -> Fut,
        Fut: Future<Output = Result<(), E>>,
        E: fmt::Display,
    {
        self.poll_until(&mut Closure(handler), &|_: &GroupStats| false)
            .await
    }

    /// [`Self::poll`], stopping before the next entry once `done` says so.
    async fn poll_until<H: Handler, D>(
        &mut self,
        handler: &mut H,
        done: &D,
    ) -> Result<usize, TransportError>
    where
        D: Fn(&GroupStats) -> bool,
    {
        let polled = self.poll_once(handler, done).await;
        if polled.is_err() {
            self.conn = None;
            // What this consumer fetched and did not finish is pending with
            // it: handled first after the reconnect, before newer entries.
            self.own_pending = true;
            self.next_retry = None;
        }
        polled
    }

    async fn poll_once<H: Handler, D>(
        &mut self,
        handler: &mut H,
        done: &D,
    ) -> Result<usize, TransportError>
    where
        D: Fn(&GroupStats) -> bool,
    {
        self.connect().await?;
        let mut processed = 0;
        while self.wants_more(done) && self.own_retry_due() {
            let due = self.due_own_entries().await?;
            if due.is_empty() {
                break;
            }
            let taken = self.take_entries(&due).await?;
            processed += self.process_batch(taken, handler, done).await?;
        }
        if self.wants_more(done)
            && self
                .last_claim
                .is_none_or(|at| at.elapsed() >= self.options.claim_idle / 2)
        {
            let claimed = self.claim_idle().await?;
            self.stats.claimed += claimed.len() as u64;
            processed += self.process_batch(claimed, handler, done).await?;
            self.last_claim = Some(Instant::now());
        }
        if self.wants_more(done) {
            let entries = self.read_new().await?;
            processed += self.process_batch(entries, handler, done).await?;
        }
        Ok(processed)
    }

    /// How many more entries this consumer may fetch: its batch size, or
    /// less when its `limit` is near.
    fn remaining(&self) -> usize {
        let Some(limit) = self.options.limit else {
            return self.options.count;
        };
        let done = self.stats.handled + self.stats.dead_lettered.values().sum::<u64>();
        usize::try_from(limit.saturating_sub(done))
            .unwrap_or(usize::MAX)
            .min(self.options.count)
    }

    fn wants_more(&self, done: &impl Fn(&GroupStats) -> bool) -> bool {
        self.remaining() > 0 && !done(&self.stats)
    }

    fn own_retry_due(&self) -> bool {
        self.own_pending && self.next_retry.is_none_or(|at| at <= Instant::now())
    }

    /// Handles a batch in order. A batch that takes longer than
    /// `claim_idle / 2` renews what is left of it, so no other consumer
    /// claims it meanwhile; entries another consumer claimed anyway are
    /// left to that one.
    async fn process_batch<H: Handler, D>(
        &mut self,
        entries: Vec<RawEntry>,
        handler: &mut H,
        done: &D,
    ) -> Result<usize, TransportError>
    where
        D: Fn(&GroupStats) -> bool,
    {
        let mut queue = VecDeque::from(entries);
        let mut leased = Instant::now();
        let mut processed = 0;
        while !queue.is_empty() && !done(&self.stats) {
            if leased.elapsed() >= self.options.claim_idle / 2 {
                let ids: Vec<String> = queue.iter().map(|e| e.id.clone()).collect();
                let kept = self.renew(&ids).await?;
                queue.retain(|e| kept.contains(&e.id));
                leased = Instant::now();
            }
            if let Some(entry) = queue.pop_front() {
                self.process(entry, handler).await?;
                processed += 1;
            }
        }
        Ok(processed)
    }

    async fn process<H: Handler>(
        &mut self,
        entry: RawEntry,
        handler: &mut H,
    ) -> Result<(), TransportError> {
        let delivered = match entry.decode(&self.decoder) {
            StreamItem::Skipped(skipped) => return self.bury(skipped, entry.oversized).await,
            StreamItem::Envelope(delivered) => delivered,
        };
        match handler.handle(delivered).await {
            Ok(()) => {
                if self
                    .settle_entry(&entry.id, "ack", false, Vec::new())
                    .await?
                    < 0
                {
                    tracing::warn!(id = %entry.id, "handled, but another consumer had claimed it meanwhile (at-least-once)");
                }
                self.stats.handled += 1;
            }
            Err(error) => {
                self.stats.failed += 1;
                let attempts = self
                    .settle_entry(&entry.id, "fail", false, Vec::new())
                    .await?;
                let Ok(attempts) = u64::try_from(attempts) else {
                    return Ok(()); // another consumer has it now
                };
                tracing::warn!(id = %entry.id, attempts, "handler failed: {error}");
                if attempts >= self.options.max_deliveries {
                    return self
                        .bury(
                            Skipped {
                                id: entry.id.clone(),
                                reason: SkipReason::HandlerFailed,
                                errors: vec![FieldError::new(
                                    "",
                                    ErrorCode::HandlerFailed,
                                    format!("handler failed {attempts} times, last: {error}"),
                                )],
                                data: entry.data,
                            },
                            None,
                        )
                        .await;
                }
                let at = Instant::now() + self.options.retry_after(attempts);
                self.own_pending = true;
                self.next_retry = Some(self.next_retry.map_or(at, |next| next.min(at)));
            }
        }
        Ok(())
    }
}

/// What the consumer calls with each entry: one shape for both kinds of
/// handler closure, so the loop is written once.
trait Handler {
    type Error: fmt::Display;
    fn handle(&mut self, entry: StreamEnvelope) -> impl Future<Output = Result<(), Self::Error>>;
}

/// A closure returning a future ([`GroupConsumer::run`]).
struct Closure<H>(H);

impl<H, Fut, E> Handler for Closure<H>
where
    H: FnMut(StreamEnvelope) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    type Error = E;
    fn handle(&mut self, entry: StreamEnvelope) -> impl Future<Output = Result<(), E>> {
        (self.0)(entry)
    }
}

/// An async closure ([`GroupConsumer::run_async`]).
struct AsyncClosure<H>(H);

impl<H, E> Handler for AsyncClosure<H>
where
    H: AsyncFnMut(StreamEnvelope) -> Result<(), E>,
    E: fmt::Display,
{
    type Error = E;
    fn handle(&mut self, entry: StreamEnvelope) -> impl Future<Output = Result<(), E>> {
        (self.0)(entry)
    }
}

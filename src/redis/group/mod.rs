//! Consumer groups: at-least-once delivery to a fleet of consumers.
//!
//! Every step that decides an entry's fate runs in Redis, atomically, and
//! only while the entry is still pending with this consumer (`take.lua`,
//! `settle.lua`): so however consumers race, an entry is acknowledged or
//! dead-lettered once, and a dead letter is written only with its
//! acknowledgement.

use crate::redis::Connection;
use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::time::{Duration, Instant};

mod commands;
mod handle;
mod settle;

use handle::{AsyncClosure, Closure, Handler};

use super::{
    doubling, Backoff, Gap, RawEntry, RedisUrl, SkipReason, StreamEnvelope, TransportError,
};
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
    /// How many handlers run at once (default 1), for handlers that wait on
    /// I/O. Entries start in stream order; with more than one they may
    /// finish, and be acknowledged, in any order. An async closure
    /// ([`GroupConsumer::run_async`]) borrows its state, so it handles one
    /// entry at a time whatever this says.
    pub concurrency: usize,
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
            concurrency: 1,
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
/// [`super::attempts_key`]), and after `max_deliveries` attempts written
/// to [`super::dead_letter_key`] (raw `data`, reason, errors, delivery and attempt
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
    conn: Option<Connection>,
    /// Whether entries may be pending with this consumer.
    own_pending: bool,
    /// When the first of its own failed entries is due again.
    next_retry: Option<Instant>,
    last_claim: Option<Instant>,
    stats: GroupStats,
    backoff: Backoff,
    on_gap: Option<OnGap>,
    /// Settles not yet sent to Redis (`settle.rs`).
    unsettled: Vec<settle::Settle>,
    /// New entries read while the last batch was handled, pending with this
    /// consumer and not yet handled.
    read_ahead: Vec<RawEntry>,
}

impl GroupConsumer {
    /// A consumer of `stream`; nothing connects until the first poll.
    pub fn new(url: RedisUrl, stream: impl Into<String>, options: GroupOptions) -> GroupConsumer {
        let stream = stream.into();
        // A name no key can share a slot with is refused by the first poll
        // (`connect`); its keys stay empty until then.
        GroupConsumer {
            url,
            dead_letter: super::dead_letter_key(&stream).unwrap_or_default(),
            attempts: super::attempts_key(&stream, &options.group).unwrap_or_default(),
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
            unsettled: Vec::new(),
            read_ahead: Vec::new(),
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

    /// The dead-letter stream ([`super::dead_letter_key`]; empty for a
    /// stream name it refuses).
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
        self.drive(&mut AsyncClosure::new(handler), stop, |_| false)
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
                () = &mut stop => break,
                () = self.backoff.wait() => {}
            }
            let polled = tokio::select! {
                () = &mut stop => break,
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
        // Stopped mid-batch: what was handled is acknowledged before it goes.
        self.flush_on_stop().await;
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
            self.read_ahead.clear();
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
        // Settles whose call failed before the reconnect.
        self.flush().await?;
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
            processed += self.handle_new(handler, done).await?;
        }
        Ok(processed)
    }

    /// New entries: the batch read ahead, or a read. A full batch means
    /// more are waiting, so the next batch is read while this one is
    /// handled (Redis and this process then work at the same time); it
    /// waits, pending with this consumer, for the next round.
    async fn handle_new<H: Handler, D>(
        &mut self,
        handler: &mut H,
        done: &D,
    ) -> Result<usize, TransportError>
    where
        D: Fn(&GroupStats) -> bool,
    {
        let wanted = self.remaining();
        let entries = match std::mem::take(&mut self.read_ahead) {
            ahead if !ahead.is_empty() => ahead,
            _ => self.read_new().await?,
        };
        let next = self.remaining_after(entries.len());
        if entries.len() < wanted || next == 0 {
            return self.process_batch(entries, handler, done).await;
        }
        let read = self.read_request(next);
        let conn = self.connect().await?.clone();
        let started = Instant::now();
        let (processed, reply) =
            tokio::join!(self.process_batch(entries, handler, done), read(conn));
        let processed = processed?;
        let (mut ahead, _) = self.took(reply?)?;
        if !ahead.is_empty() && started.elapsed() >= self.options.claim_idle / 2 {
            // Idle all that time: renewed, so no other consumer claims them.
            let ids: Vec<String> = ahead.iter().map(|e| e.id.clone()).collect();
            let kept = self.renew(&ids).await?;
            ahead.retain(|e| kept.contains(&e.id));
        }
        self.read_ahead = ahead;
        Ok(processed)
    }

    /// How many more entries this consumer may fetch: its batch size, or
    /// less when its `limit` is near.
    fn remaining(&self) -> usize {
        self.remaining_after(0)
    }

    /// [`Self::remaining`] once `fetched` more are handled.
    fn remaining_after(&self, fetched: usize) -> usize {
        let Some(limit) = self.options.limit else {
            return self.options.count;
        };
        let done =
            self.stats.handled + self.stats.dead_lettered.values().sum::<u64>() + fetched as u64;
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
}

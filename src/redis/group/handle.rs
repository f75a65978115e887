//! Handling a batch: entries start in stream order, up to
//! [`GroupOptions::concurrency`](super::GroupOptions::concurrency) at once,
//! and are settled as they finish (`settle.rs`).

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{GroupConsumer, GroupStats};
use crate::error::{ErrorCode, FieldError};
use crate::redis::{RawEntry, SkipReason, Skipped, StreamEnvelope, StreamItem, TransportError};

/// What the consumer calls with each entry: one shape for both kinds of
/// handler closure, so the loop is written once. The future it gives does
/// not borrow the handler, so several can run at once.
pub(super) trait Handler {
    type Error: fmt::Display;
    type Future: Future<Output = Result<(), Self::Error>>;
    /// How many entries may be handled at once, of the `wanted`.
    fn width(&self, wanted: usize) -> usize;
    fn start(&mut self, entry: StreamEnvelope) -> Self::Future;
}

/// A closure returning a future ([`GroupConsumer::run`]).
pub(super) struct Closure<H>(pub(super) H);

impl<H, Fut, E> Handler for Closure<H>
where
    H: FnMut(StreamEnvelope) -> Fut,
    Fut: Future<Output = Result<(), E>>,
    E: fmt::Display,
{
    type Error = E;
    type Future = Fut;
    fn width(&self, wanted: usize) -> usize {
        wanted
    }
    fn start(&mut self, entry: StreamEnvelope) -> Fut {
        (self.0)(entry)
    }
}

/// An async closure ([`GroupConsumer::run_async`]). Its future borrows the
/// closure, so it runs one entry at a time, each behind the lock it takes.
pub(super) struct AsyncClosure<'h, H>(Arc<tokio::sync::Mutex<H>>, std::marker::PhantomData<&'h ()>);

impl<'h, H> AsyncClosure<'h, H> {
    pub(super) fn new(handler: H) -> AsyncClosure<'h, H> {
        AsyncClosure(
            Arc::new(tokio::sync::Mutex::new(handler)),
            std::marker::PhantomData,
        )
    }
}

impl<'h, H, E> Handler for AsyncClosure<'h, H>
where
    H: AsyncFnMut(StreamEnvelope) -> Result<(), E> + 'h,
    E: fmt::Display + 'h,
{
    type Error = E;
    type Future = Pin<Box<dyn Future<Output = Result<(), E>> + 'h>>;
    fn width(&self, _: usize) -> usize {
        1
    }
    fn start(&mut self, entry: StreamEnvelope) -> Self::Future {
        let handler = Arc::clone(&self.0);
        Box::pin(async move {
            let mut handler = handler.lock().await;
            (*handler)(entry).await
        })
    }
}

impl GroupConsumer {
    /// Handles a batch: entries start in order, up to `concurrency` at
    /// once, and none starts once `done` says so (those left stay pending
    /// with this consumer). Every `claim_idle / 2` what is left of the
    /// batch is renewed, so no other consumer claims it meanwhile; entries
    /// another consumer claimed anyway are left to that one. Ends with the
    /// batch settled in Redis.
    pub(super) async fn process_batch<H: Handler, D>(
        &mut self,
        entries: Vec<RawEntry>,
        handler: &mut H,
        done: &D,
    ) -> Result<usize, TransportError>
    where
        D: Fn(&GroupStats) -> bool,
    {
        let width = handler.width(self.options.concurrency.max(1));
        let renew_every = (self.options.claim_idle / 2).max(Duration::from_millis(10));
        let mut queue = VecDeque::from(entries);
        let mut running = FuturesUnordered::new();
        let mut in_flight: Vec<String> = Vec::new();
        let mut lease = Instant::now() + renew_every;
        let mut processed = 0;
        loop {
            while running.len() < width && !done(&self.stats) {
                let Some(entry) = queue.pop_front() else {
                    break;
                };
                match entry.decode(&self.decoder) {
                    StreamItem::Skipped(skipped) => {
                        self.defer_bury(skipped, entry.oversized);
                        processed += 1;
                    }
                    StreamItem::Envelope(delivered) => {
                        let handling = handler.start(delivered);
                        in_flight.push(entry.id.clone());
                        running.push(async move { (entry, handling.await) });
                    }
                }
            }
            if running.is_empty() {
                break;
            }
            tokio::select! {
                Some((entry, outcome)) = running.next() => {
                    in_flight.retain(|id| *id != entry.id);
                    self.settle_outcome(entry, outcome).await?;
                    processed += 1;
                }
                () = tokio::time::sleep_until(lease.into()) => {
                    self.flush().await?;
                    let ids: Vec<String> =
                        in_flight.iter().cloned().chain(queue.iter().map(|e| e.id.clone())).collect();
                    let kept = self.renew(&ids).await?;
                    queue.retain(|e| kept.contains(&e.id));
                    lease = Instant::now() + renew_every;
                }
            }
        }
        self.flush().await?;
        Ok(processed)
    }

    /// What follows a handler's outcome: the acknowledgement queued, or the
    /// failure counted in Redis at once (its count decides between a retry
    /// and a dead letter).
    async fn settle_outcome<E: fmt::Display>(
        &mut self,
        entry: RawEntry,
        outcome: Result<(), E>,
    ) -> Result<(), TransportError> {
        let error = match outcome {
            Ok(()) => {
                self.stats.handled += 1;
                self.defer_ack(entry.id);
                return Ok(());
            }
            Err(error) => error,
        };
        self.stats.failed += 1;
        let Some(attempts) = self.flush_with_failure(entry.id.clone()).await? else {
            return Ok(()); // another consumer has it now
        };
        tracing::warn!(id = %entry.id, attempts, "handler failed: {error}");
        if attempts >= self.options.max_deliveries {
            let skipped = Skipped {
                id: entry.id,
                reason: SkipReason::HandlerFailed,
                errors: vec![FieldError::new(
                    "",
                    ErrorCode::HandlerFailed,
                    format!("handler failed {attempts} times, last: {error}"),
                )],
                data: entry.data,
            };
            self.defer_bury(skipped, None);
            return Ok(());
        }
        let at = Instant::now() + self.options.retry_after(attempts);
        self.own_pending = true;
        self.next_retry = Some(self.next_retry.map_or(at, |next| next.min(at)));
        Ok(())
    }
}

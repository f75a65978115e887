//! Settling what a consumer handled: acknowledgements and dead letters wait
//! in a queue and go to Redis together, a batch in one call of
//! `settle.lua`, which applies each only while the entry is still pending
//! with this consumer.
//!
//! The queue is sent when a batch ends, before its entries are renewed,
//! with a failure (whose attempt count decides what comes next), and when
//! the consumer is stopped. An entry whose settle has not reached Redis is
//! still pending with this consumer, so a crash before then means it is
//! handled again (at-least-once), never lost.

use std::time::Duration;

use super::GroupConsumer;
use crate::redis::scripts::SETTLE;
use crate::redis::{command_error, reply_error, SkipReason, Skipped, TransportError, DATA_FIELD};

/// What becomes of one entry.
#[derive(Debug)]
pub(super) enum Action {
    /// Handled: acknowledged.
    Ack,
    /// The handler failed: one more attempt counted.
    Fail,
    /// Dead-lettered (with these field/value pairs) and acknowledged.
    Bury {
        reason: SkipReason,
        copy: bool,
        fields: Vec<Vec<u8>>,
    },
}

/// One entry's settle.
#[derive(Debug)]
pub(super) struct Settle {
    pub(super) id: String,
    pub(super) action: Action,
}

impl GroupConsumer {
    /// Queues the acknowledgement of a handled entry.
    pub(super) fn defer_ack(&mut self, id: String) {
        self.unsettled.push(Settle {
            id,
            action: Action::Ack,
        });
    }

    /// Queues the dead letter of an entry, which is acknowledged with it.
    /// A payload over the size limit is dead-lettered by reference (its id
    /// and `size`), or copied inside Redis with
    /// [`super::GroupOptions::copy_oversized`]: never through this process.
    pub(super) fn defer_bury(&mut self, skipped: Skipped, oversized: Option<usize>) {
        let errors = serde_json::to_string(&skipped.errors).unwrap_or_default();
        let size = oversized.map(|size| size.to_string());
        let mut fields: Vec<Vec<u8>> = Vec::with_capacity(14);
        if let Some(data) = skipped.data {
            fields.extend([DATA_FIELD.into(), data]);
        }
        for (name, value) in [
            ("reason", skipped.reason.as_str()),
            ("errors", &errors),
            ("id", &skipped.id),
            ("group", &self.options.group),
            ("consumer", &self.options.consumer),
        ]
        .into_iter()
        .chain(size.as_deref().map(|size| ("size", size)))
        {
            fields.extend([name.into(), value.into()]);
        }
        self.unsettled.push(Settle {
            id: skipped.id,
            action: Action::Bury {
                reason: skipped.reason,
                copy: oversized.is_some() && self.options.copy_oversized,
                fields,
            },
        });
    }

    /// Sends the queue in one call.
    pub(super) async fn flush(&mut self) -> Result<(), TransportError> {
        self.send().await.map(drop)
    }

    /// Sends the queue and a failure of the entry `id` in one call; gives
    /// its attempts so far, or `None` when it is no longer this consumer's.
    pub(super) async fn flush_with_failure(
        &mut self,
        id: String,
    ) -> Result<Option<u64>, TransportError> {
        self.unsettled.push(Settle {
            id,
            action: Action::Fail,
        });
        Ok(self.send().await?.and_then(|n| u64::try_from(n).ok()))
    }

    /// `settle.lua` on the queue, acknowledgements first; gives the result
    /// of the last of the others. When the call fails the queue is kept,
    /// and sent first after the reconnect.
    async fn send(&mut self) -> Result<Option<i64>, TransportError> {
        if self.unsettled.is_empty() {
            return Ok(None);
        }
        // Each entry is in the queue once, so their order does not matter.
        self.unsettled
            .sort_by_key(|settle| !matches!(settle.action, Action::Ack));
        let acks = self
            .unsettled
            .iter()
            .take_while(|settle| matches!(settle.action, Action::Ack))
            .count();
        let mut invocation = SETTLE.key(&self.stream);
        invocation
            .key(&self.dead_letter)
            .key(&self.attempts)
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(acks);
        for settle in &self.unsettled {
            invocation.arg(&settle.id);
            match &settle.action {
                Action::Ack => {}
                Action::Fail => {
                    invocation.arg("fail").arg("").arg(0);
                }
                Action::Bury { copy, fields, .. } => {
                    invocation
                        .arg("bury")
                        .arg(if *copy { "copy" } else { "" })
                        .arg(fields.len())
                        .arg(fields);
                }
            }
        }
        let conn = self.connect().await?;
        let (lost, results): (Vec<String>, Vec<i64>) = invocation
            .invoke_async(conn)
            .await
            .map_err(command_error("EVALSHA settle.lua"))?;
        if results.len() != self.unsettled.len() - acks {
            return Err(reply_error("EVALSHA settle.lua"));
        }
        let mut settles = std::mem::take(&mut self.unsettled);
        let others = settles.split_off(acks);
        for settle in &settles {
            self.settled(settle, if lost.contains(&settle.id) { -1 } else { 0 });
        }
        let mut last = None;
        for (settle, outcome) in others.iter().zip(results) {
            self.settled(settle, outcome);
            last = Some(outcome);
        }
        Ok(last)
    }

    /// Sends what is queued when the consumer is stopped, within a few
    /// seconds: what does not get through stays pending with this consumer.
    pub(super) async fn flush_on_stop(&mut self) {
        if self.unsettled.is_empty() || self.conn.is_none() {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(5), self.flush()).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::warn!(
                "stopping: {error}; {} entries stay pending with this consumer",
                self.unsettled.len()
            ),
            Err(_) => tracing::warn!(
                "stopping: Redis did not answer in 5 s; {} entries stay pending with this consumer",
                self.unsettled.len()
            ),
        }
    }

    /// Logs and counts what one settle did.
    fn settled(&mut self, settle: &Settle, outcome: i64) {
        let id = &settle.id;
        match &settle.action {
            Action::Ack if outcome < 0 => {
                tracing::warn!(%id, "handled, but another consumer had claimed it meanwhile (at-least-once)");
            }
            Action::Bury { .. } if outcome < 0 => {
                tracing::info!(%id, "not dead-lettered here: another consumer has it");
            }
            Action::Bury { reason, .. } => {
                tracing::error!(%id, %reason, dead_letter = %self.dead_letter,
                    "dead-lettered after {outcome} deliveries");
                *self.stats.dead_lettered.entry(*reason).or_default() += 1;
            }
            Action::Ack | Action::Fail => {}
        }
    }
}

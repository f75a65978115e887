//! What a group consumer asks of Redis: its commands and the scripts that
//! decide an entry's fate atomically. Every read of entries is a script that
//! leaves a payload over the size limit in Redis (`bounded.lua`).

use crate::redis::Connection;
use std::collections::HashSet;
use std::time::{Duration, Instant};

use redis_rs::streams::StreamPendingCountReply;
use redis_rs::Value;

use super::{GroupConsumer, GroupOptions};
use crate::entry::{Gap, GapReason};
use crate::error::{ErrorCode, FieldError};
use crate::redis::scripts::{bounded_entries, text, CLAIM, CREATE_GROUP, READ_GROUP, TAKE};
use crate::redis::{
    command_error, duration_ms, is_stream_id, reply_error, RawEntry, SkipReason, TransportError,
    COMMAND_TIMEOUT,
};

impl GroupConsumer {
    pub(super) async fn connect(&mut self) -> Result<&mut Connection, TransportError> {
        if self.conn.is_none() {
            // A name no key can share a slot with (its keys left empty).
            crate::redis::dead_letter_key(&self.stream)?;
            if !is_stream_id(&self.options.start_id) {
                return Err(TransportError::InvalidId(self.options.start_id.clone()));
            }
            let mut conn = self
                .url
                .connect_with_timeout(self.options.block + COMMAND_TIMEOUT)
                .await?;
            create_group(&mut conn, &self.stream, &self.options).await?;
            let legacy = crate::redis::legacy_dead_letters(&mut conn, &self.stream).await?;
            if legacy > 0 {
                tracing::warn!(
                    stream = %self.stream,
                    legacy,
                    "dead letters under the key before 0.3 ({}:dead): move them with \
                     `crowd-envelope dead migrate` (migrate_legacy_keys)",
                    self.stream
                );
            }
            self.conn = Some(conn);
        }
        self.conn.as_mut().ok_or_else(|| TransportError::Connect {
            url: self.url.shown.clone(),
            message: "no connection".to_owned(),
        })
    }

    /// The ids of its own pending entries whose turn has come: never tried
    /// (left by a lost connection or a restart), or failed and waited
    /// long enough. Notes when the next one falls due.
    pub(super) async fn due_own_entries(&mut self) -> Result<Vec<String>, TransportError> {
        let mut pending = redis_rs::cmd("XPENDING");
        pending
            .arg(&self.stream)
            .arg(&self.options.group)
            .arg("-")
            .arg("+")
            .arg(self.options.count + self.read_ahead.len())
            .arg(&self.options.consumer);
        let conn = self.connect().await?;
        let reply: StreamPendingCountReply = pending
            .query_async(conn)
            .await
            .map_err(command_error("XPENDING"))?;
        self.next_retry = None;
        // Those read ahead are handled as new entries.
        let ahead: HashSet<&str> = self.read_ahead.iter().map(|e| e.id.as_str()).collect();
        let listed: Vec<_> = reply
            .ids
            .into_iter()
            .filter(|p| !ahead.contains(p.id.as_str()))
            .collect();
        if listed.is_empty() {
            self.own_pending = false;
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = listed.iter().map(|p| p.id.as_str()).collect();
        let mut hmget = redis_rs::cmd("HMGET");
        hmget.arg(&self.attempts).arg(&ids);
        let conn = self.connect().await?;
        let attempts: Vec<Option<u64>> = hmget
            .query_async(conn)
            .await
            .map_err(command_error("HMGET"))?;
        let now = Instant::now();
        let mut due = Vec::new();
        for (pending, attempts) in listed.iter().zip(attempts) {
            let idle = Duration::from_millis(pending.last_delivered_ms as u64);
            let wait = self
                .options
                .retry_after(attempts.unwrap_or(0))
                .saturating_sub(idle);
            if wait.is_zero() && due.len() < self.remaining() {
                due.push(pending.id.clone());
            } else {
                let at = now + wait;
                self.next_retry = Some(self.next_retry.map_or(at, |next| next.min(at)));
            }
        }
        Ok(due)
    }

    /// Its own entries `ids`, fetched for a retry; those claimed by another
    /// consumer meanwhile are left out.
    pub(super) async fn take_entries(
        &mut self,
        ids: &[String],
    ) -> Result<Vec<RawEntry>, TransportError> {
        let taken = self.run_take("data", ids).await?;
        bounded_entries(taken).ok_or_else(|| reply_error("EVALSHA take.lua"))
    }

    /// Renews its own entries `ids`; gives those still its own.
    pub(super) async fn renew(
        &mut self,
        ids: &[String],
    ) -> Result<HashSet<String>, TransportError> {
        let taken = self.run_take("lease", ids).await?;
        redis_rs::from_redis_value(taken).map_err(|_| reply_error("EVALSHA take.lua"))
    }

    /// `take.lua`; entries deleted from the stream are dead-lettered there.
    async fn run_take(&mut self, mode: &str, ids: &[String]) -> Result<Value, TransportError> {
        let mut invocation = TAKE.key(&self.stream);
        invocation
            .key(&self.dead_letter)
            .key(&self.attempts)
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(mode)
            .arg(deleted_errors())
            .arg(self.options.max_payload_bytes)
            .arg(ids);
        let conn = self.connect().await?;
        let (taken, deleted): (Value, Vec<String>) = invocation
            .invoke_async(conn)
            .await
            .map_err(command_error("EVALSHA take.lua"))?;
        for id in deleted {
            self.note_deleted(&id);
        }
        Ok(taken)
    }

    fn note_deleted(&mut self, id: &str) {
        tracing::error!(%id, stream = %self.stream, dead_letter = %self.dead_letter,
            "dead-lettered: the pending entry was deleted from the stream before it was handled");
        *self
            .stats
            .dead_lettered
            .entry(SkipReason::Deleted)
            .or_default() += 1;
    }

    /// New entries (`read.lua`); when there are none, one wait for the next
    /// (whose reply is dropped: the next read takes it, sized).
    pub(super) async fn read_new(&mut self) -> Result<Vec<RawEntry>, TransportError> {
        let read = self.read_request(self.remaining());
        let reply = read(self.connect().await?.clone()).await?;
        let (entries, after) = self.took(reply)?;
        if entries.is_empty() {
            self.wait_for_more(&after).await?;
        }
        Ok(entries)
    }

    /// `read.lua` for up to `count` new entries, as a request that borrows
    /// nothing of the consumer: so it can run while a batch is handled
    /// (on a clone of the connection, which pipelines the two).
    pub(super) fn read_request(
        &self,
        count: usize,
    ) -> impl FnOnce(Connection) -> ReadReply + use<> {
        let mut invocation = READ_GROUP.key(&self.stream);
        invocation
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(count)
            .arg(self.options.max_payload_bytes);
        move |mut conn| {
            Box::pin(async move {
                invocation
                    .invoke_async(&mut conn)
                    .await
                    .map_err(command_error("EVALSHA read.lua"))
            })
        }
    }

    /// The entries of a `read.lua` reply, and the group's position before
    /// it; entries trimmed before the group read them are told as a gap.
    pub(super) fn took(&mut self, reply: Value) -> Result<(Vec<RawEntry>, String), TransportError> {
        let (entries, missed, after, before) =
            parse_group_read(reply).ok_or_else(|| reply_error("EVALSHA read.lua"))?;
        if missed > 0 {
            let before = entries.first().map_or(before, |e| e.id.clone());
            self.note_gap(Gap {
                reason: GapReason::Trimmed,
                after: after.clone(),
                before,
                missed: Some(missed),
            });
        }
        Ok((entries, after))
    }

    fn note_gap(&mut self, gap: Gap) {
        self.stats.trimmed += gap.missed.unwrap_or(0);
        let skipped = gap.to_skipped();
        tracing::error!(group = %self.options.group, id = %skipped.id, reason = %skipped.reason,
            "skipped: {}", crate::error::ValidationError { errors: skipped.errors.clone() });
        if let Some(on_gap) = &self.on_gap {
            on_gap(&gap);
        }
    }

    /// Blocks until an entry after `after` arrives (up to `block`, or until
    /// a retry is due). Like a follower's wait, it may fetch that one entry
    /// whole.
    async fn wait_for_more(&mut self, after: &str) -> Result<(), TransportError> {
        // Wake in time for the next retry, and never block forever (0).
        let block = self
            .next_retry
            .filter(|_| self.own_pending)
            .map_or(self.options.block, |at| {
                at.saturating_duration_since(Instant::now())
                    .min(self.options.block)
            })
            .max(Duration::from_millis(1));
        let mut cmd = redis_rs::cmd("XREAD");
        cmd.arg("COUNT")
            .arg(1)
            .arg("BLOCK")
            .arg(duration_ms(block))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(after);
        let conn = self.connect().await?;
        cmd.query_async::<Value>(conn)
            .await
            .map_err(command_error("XREAD"))?;
        Ok(())
    }

    /// Entries idle long enough with another consumer (`claim.lua`).
    pub(super) async fn claim_idle(&mut self) -> Result<Vec<RawEntry>, TransportError> {
        let mut invocation = CLAIM.key(&self.stream);
        invocation
            .key(&self.dead_letter)
            .key(&self.attempts)
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(duration_ms(self.options.claim_idle))
            .arg(self.remaining().max(1))
            .arg(self.options.max_payload_bytes)
            .arg(deleted_errors());
        let conn = self.connect().await?;
        let (claimed, deleted): (Value, Vec<String>) = invocation
            .invoke_async(conn)
            .await
            .map_err(command_error("EVALSHA claim.lua"))?;
        for id in deleted {
            self.note_deleted(&id);
        }
        bounded_entries(claimed).ok_or_else(|| reply_error("EVALSHA claim.lua"))
    }
}

/// What a read request gives: `read.lua`'s reply.
pub(super) type ReadReply =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Value, TransportError>> + Send>>;

/// `read.lua`'s `{entries, missed, after, before}`.
fn parse_group_read(reply: Value) -> Option<(Vec<RawEntry>, u64, String, String)> {
    let Value::Array(parts) = reply else {
        return None;
    };
    let [entries, Value::Int(missed), after, before] = <[Value; 4]>::try_from(parts).ok()? else {
        return None;
    };
    Some((
        bounded_entries(entries)?,
        u64::try_from(missed).unwrap_or(0),
        text(after)?,
        text(before)?,
    ))
}

/// The `errors` of a dead letter for an entry deleted while pending, as
/// JSON: given to `take.lua` and `claim.lua`, which write it.
fn deleted_errors() -> String {
    let error = FieldError::new(
        "",
        ErrorCode::Missing,
        "the entry was deleted from the stream before it was handled",
    );
    serde_json::to_string(&[error]).unwrap_or_default()
}

/// `create.lua`: the group, with its entries-read count, unless it exists.
async fn create_group(
    conn: &mut Connection,
    stream: &str,
    options: &GroupOptions,
) -> Result<(), TransportError> {
    CREATE_GROUP
        .key(stream)
        .arg(&options.group)
        .arg(&options.start_id)
        .invoke_async::<i64>(conn)
        .await
        .map(drop)
        .map_err(command_error("EVALSHA create.lua"))
}

//! What a group consumer asks of Redis: its commands and the two scripts
//! that decide an entry's fate atomically.

use std::collections::HashSet;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use redis_rs::aio::MultiplexedConnection;
use redis_rs::streams::{
    StreamAutoClaimReply, StreamId, StreamPendingCountReply, StreamRangeReply, StreamReadReply,
};
use redis_rs::{RedisError, Script, Value};

use super::{GroupConsumer, GroupOptions};
use crate::error::{ErrorCode, FieldError};
use crate::redis::{
    command_error, duration_ms, is_stream_id, reply_error, SkipReason, Skipped, TransportError,
    COMMAND_TIMEOUT, DATA_FIELD,
};

static TAKE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("take.lua")));
static SETTLE: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("settle.lua")));

impl GroupConsumer {
    pub(super) async fn connect(&mut self) -> Result<&mut MultiplexedConnection, TransportError> {
        if self.conn.is_none() {
            if !is_stream_id(&self.options.start_id) {
                return Err(TransportError::InvalidId(self.options.start_id.clone()));
            }
            let mut conn = self
                .url
                .connect_with_timeout(self.options.block + COMMAND_TIMEOUT)
                .await?;
            create_group(&mut conn, &self.stream, &self.options).await?;
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
            .arg(self.options.count)
            .arg(&self.options.consumer);
        let conn = self.connect().await?;
        let reply: StreamPendingCountReply = pending
            .query_async(conn)
            .await
            .map_err(command_error("XPENDING"))?;
        self.next_retry = None;
        if reply.ids.is_empty() {
            self.own_pending = false;
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = reply.ids.iter().map(|p| p.id.as_str()).collect();
        let mut hmget = redis_rs::cmd("HMGET");
        hmget.arg(&self.attempts).arg(&ids);
        let conn = self.connect().await?;
        let attempts: Vec<Option<u64>> = hmget
            .query_async(conn)
            .await
            .map_err(command_error("HMGET"))?;
        let now = Instant::now();
        let mut due = Vec::new();
        for (pending, attempts) in reply.ids.iter().zip(attempts) {
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
    ) -> Result<Vec<StreamId>, TransportError> {
        let taken = self.run_take("data", ids).await?;
        redis_rs::from_redis_value::<StreamRangeReply>(taken)
            .map(|reply| reply.ids)
            .map_err(|_| reply_error("EVALSHA take.lua"))
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
    pub(super) async fn run_take(
        &mut self,
        mode: &str,
        ids: &[String],
    ) -> Result<Value, TransportError> {
        let mut invocation = TAKE.key(&self.stream);
        invocation
            .key(&self.dead_letter)
            .key(&self.attempts)
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(mode)
            .arg(deleted_errors())
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

    pub(super) fn note_deleted(&mut self, id: &str) {
        tracing::error!(%id, stream = %self.stream, dead_letter = %self.dead_letter,
            "dead-lettered: the pending entry was deleted from the stream before it was handled");
        *self
            .stats
            .dead_lettered
            .entry(SkipReason::Deleted)
            .or_default() += 1;
    }

    pub(super) async fn read_new(&mut self) -> Result<Vec<StreamId>, TransportError> {
        // Wake in time for the next retry, and never block forever (0).
        let block = self
            .next_retry
            .filter(|_| self.own_pending)
            .map_or(self.options.block, |at| {
                at.saturating_duration_since(Instant::now())
                    .min(self.options.block)
            })
            .max(Duration::from_millis(1));
        let mut cmd = redis_rs::cmd("XREADGROUP");
        cmd.arg("GROUP")
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg("COUNT")
            .arg(self.remaining())
            .arg("BLOCK")
            .arg(duration_ms(block))
            .arg("STREAMS")
            .arg(&self.stream)
            .arg(">");
        let conn = self.connect().await?;
        let reply: Option<StreamReadReply> = cmd
            .query_async(conn)
            .await
            .map_err(command_error("XREADGROUP"))?;
        Ok(reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect())
    }

    pub(super) async fn claim_idle(&mut self) -> Result<Vec<StreamId>, TransportError> {
        let budget = self.remaining();
        let mut claimed = Vec::new();
        let mut cursor = "0-0".to_owned();
        loop {
            let mut cmd = redis_rs::cmd("XAUTOCLAIM");
            cmd.arg(&self.stream)
                .arg(&self.options.group)
                .arg(&self.options.consumer)
                .arg(duration_ms(self.options.claim_idle))
                .arg(&cursor)
                .arg("COUNT")
                .arg(self.remaining().max(1));
            let conn = self.connect().await?;
            let reply: StreamAutoClaimReply = cmd
                .query_async(conn)
                .await
                .map_err(command_error("XAUTOCLAIM"))?;
            claimed.extend(reply.claimed);
            // XAUTOCLAIM has dropped entries deleted while pending from the
            // group, and tells only the consumer that claimed: that one
            // writes their dead letters.
            for id in reply.deleted_ids {
                self.bury_deleted(&id).await?;
            }
            if reply.next_stream_id == "0-0" || claimed.len() >= budget {
                return Ok(claimed);
            }
            cursor = reply.next_stream_id;
        }
    }

    pub(super) async fn bury_deleted(&mut self, id: &str) -> Result<(), TransportError> {
        let errors = deleted_errors();
        let mut pipe = redis_rs::pipe();
        pipe.atomic()
            .cmd("XADD")
            .arg(&self.dead_letter)
            .arg("*")
            .arg("reason")
            .arg(SkipReason::Deleted.as_str())
            .arg("errors")
            .arg(errors)
            .arg("id")
            .arg(id)
            .arg("group")
            .arg(&self.options.group)
            .arg("consumer")
            .arg(&self.options.consumer)
            .ignore()
            .cmd("HDEL")
            .arg(&self.attempts)
            .arg(id)
            .ignore();
        let conn = self.connect().await?;
        pipe.query_async::<()>(conn)
            .await
            .map_err(command_error("XADD to the dead-letter stream"))?;
        self.note_deleted(id);
        Ok(())
    }

    /// Writes the entry to the dead-letter stream and acknowledges it, in
    /// one step and only while it is this consumer's: never both lost and
    /// acknowledged, never dead-lettered twice.
    pub(super) async fn bury(&mut self, skipped: Skipped) -> Result<(), TransportError> {
        let errors = serde_json::to_string(&skipped.errors).unwrap_or_default();
        let mut fields: Vec<Vec<u8>> = Vec::with_capacity(12);
        if let Some(data) = skipped.data {
            fields.extend([DATA_FIELD.into(), data]);
        }
        for (name, value) in [
            ("reason", skipped.reason.as_str()),
            ("errors", &errors),
            ("id", &skipped.id),
            ("group", &self.options.group),
            ("consumer", &self.options.consumer),
        ] {
            fields.extend([name.into(), value.into()]);
        }
        let deliveries = self.settle_entry(&skipped.id, "bury", fields).await?;
        if deliveries < 0 {
            tracing::info!(id = %skipped.id, "not dead-lettered here: another consumer has it");
            return Ok(());
        }
        tracing::error!(
            id = %skipped.id, reason = %skipped.reason, dead_letter = %self.dead_letter,
            "dead-lettered after {deliveries} deliveries"
        );
        *self.stats.dead_lettered.entry(skipped.reason).or_default() += 1;
        Ok(())
    }

    /// `settle.lua`: -1 when the entry is no longer this consumer's.
    pub(super) async fn settle_entry(
        &mut self,
        id: &str,
        action: &str,
        fields: Vec<Vec<u8>>,
    ) -> Result<i64, TransportError> {
        let mut invocation = SETTLE.key(&self.stream);
        invocation
            .key(&self.dead_letter)
            .key(&self.attempts)
            .arg(&self.options.group)
            .arg(&self.options.consumer)
            .arg(id)
            .arg(action)
            .arg(fields);
        let conn = self.connect().await?;
        invocation
            .invoke_async(conn)
            .await
            .map_err(command_error("EVALSHA settle.lua"))
    }
}

/// The `errors` of a dead letter for an entry deleted while pending, as
/// JSON: written here and by `take.lua`, which is given this text.
fn deleted_errors() -> String {
    let error = FieldError::new(
        "",
        ErrorCode::Missing,
        "the entry was deleted from the stream before it was handled",
    );
    serde_json::to_string(&[error]).unwrap_or_default()
}

async fn create_group(
    conn: &mut MultiplexedConnection,
    stream: &str,
    options: &GroupOptions,
) -> Result<(), TransportError> {
    let created: Result<(), RedisError> = redis_rs::cmd("XGROUP")
        .arg("CREATE")
        .arg(stream)
        .arg(&options.group)
        .arg(&options.start_id)
        .arg("MKSTREAM")
        .query_async(conn)
        .await;
    match created {
        Err(e) if e.code() != Some("BUSYGROUP") => Err(command_error("XGROUP CREATE")(e)),
        _ => Ok(()),
    }
}

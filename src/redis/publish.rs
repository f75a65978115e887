//! Publishing envelopes, and reading the newest back.

use std::time::Duration;

use redis_rs::aio::ConnectionLike;
use redis_rs::{FromRedisValue, Value};

use super::scripts::{bounded_entries, RANGE};
use super::{command_error, reply_error, RawEntry, StreamItem, TransportError, DATA_FIELD};
use crate::{CrowdPredictionEnvelope, Decoder};

/// Options of [`publish_envelope`].
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Trim the stream to about this many entries (`MAXLEN ~ n`).
    pub max_len: Option<usize>,
    /// Report an entry published only once this many replicas have it
    /// (`WAIT n timeout` after the write); 0, the default, waits for none.
    /// Redis replicates asynchronously: without it, an entry the master
    /// acknowledged and then lost in a failover is gone. An entry that
    /// fewer replicas had by [`Self::wait_timeout`] is
    /// [`TransportError::NotReplicated`]: added, but not safe.
    pub wait_replicas: usize,
    /// How long to wait for [`Self::wait_replicas`]; 1 s by default. Keep
    /// it under the 5 s a connection waits for any reply, or that wait
    /// ends first, as a timed-out command.
    pub wait_timeout: Duration,
}

impl Default for PublishOptions {
    fn default() -> PublishOptions {
        PublishOptions {
            max_len: None,
            wait_replicas: 0,
            wait_timeout: Duration::from_secs(1),
        }
    }
}

impl PublishOptions {
    /// Trim the stream to about `max_len` entries as each is added.
    pub fn max_len(max_len: usize) -> PublishOptions {
        PublishOptions {
            max_len: Some(max_len),
            ..PublishOptions::default()
        }
    }

    /// Wait for `replicas` replicas to have each entry, up to `timeout`.
    pub fn wait_replicas(self, replicas: usize, timeout: Duration) -> PublishOptions {
        PublishOptions {
            wait_replicas: replicas,
            wait_timeout: timeout,
            ..self
        }
    }
}

/// Validates the envelope, then `XADD`s it as one `data` field; gives the
/// entry id.
pub async fn publish_envelope(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelope: &CrowdPredictionEnvelope,
    options: PublishOptions,
) -> Result<String, TransportError> {
    let mut outcomes = publish_each(conn, stream, std::slice::from_ref(envelope), options).await?;
    outcomes.pop().unwrap_or_else(|| Err(reply_error("XADD")))
}

/// Publishes many envelopes in one round trip (a pipeline); gives their ids
/// in order. All are validated before any is sent; the first refusal by
/// Redis is the error (the others may have been added).
pub async fn publish_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelopes: &[CrowdPredictionEnvelope],
    options: PublishOptions,
) -> Result<Vec<String>, TransportError> {
    for envelope in envelopes {
        envelope.validate()?;
    }
    publish_each(conn, stream, envelopes, options)
        .await?
        .into_iter()
        .collect()
}

/// Publishes many envelopes in one round trip (a pipeline) and says what
/// became of each, in order: an envelope that is not valid is not sent, one
/// Redis refuses is told as its own [`TransportError`], and neither stops
/// the others. The outer error is a round trip that failed as a whole (the
/// connection dropped): then which were added is not known.
pub async fn publish_each(
    conn: &mut impl ConnectionLike,
    stream: &str,
    envelopes: &[CrowdPredictionEnvelope],
    options: PublishOptions,
) -> Result<Vec<Result<String, TransportError>>, TransportError> {
    let mut pipe = redis_rs::pipe();
    let mut outcomes: Vec<Option<Result<String, TransportError>>> = Vec::new();
    for envelope in envelopes {
        match envelope.validate() {
            Ok(()) => {
                pipe.add_command(xadd(stream, &envelope.to_json(), options));
                outcomes.push(None);
            }
            Err(error) => outcomes.push(Some(Err(error.into()))),
        }
    }
    let waits = options.wait_replicas > 0 && !pipe.is_empty();
    if waits {
        // After the writes, in the same pipeline: on the same connection
        // (WAIT counts what this connection wrote) and, on a cluster, the
        // same node (a pipeline goes where its first key's slot is).
        pipe.cmd("WAIT")
            .arg(options.wait_replicas)
            .arg(u64::try_from(options.wait_timeout.as_millis()).unwrap_or(u64::MAX));
    }
    let mut replies = if pipe.is_empty() {
        Vec::new()
    } else {
        pipe.ignore_errors()
            .query_async::<Vec<redis_rs::RedisResult<Value>>>(conn)
            .await
            .map_err(command_error("XADD"))?
    };
    let replicas = match waits.then(|| replies.pop()).flatten() {
        Some(Ok(Value::Int(n))) => Some(u64::try_from(n).unwrap_or(0)),
        Some(Ok(_)) | None if waits => return Err(reply_error("WAIT")),
        Some(Err(e)) => return Err(command_error("WAIT")(e)),
        _ => None,
    };
    let mut replies = replies.into_iter();
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Some(rejected) => Ok(rejected),
            None => {
                let added = match replies.next().ok_or_else(|| reply_error("XADD"))? {
                    Ok(reply) => {
                        String::from_redis_value(reply).map_err(|_| reply_error("XADD"))?
                    }
                    Err(e) => return Ok(Err(command_error("XADD")(e))),
                };
                Ok(match replicas {
                    Some(had) if had < options.wait_replicas as u64 => {
                        Err(TransportError::NotReplicated {
                            id: added,
                            replicas: had,
                            wanted: options.wait_replicas,
                        })
                    }
                    _ => Ok(added),
                })
            }
        })
        .collect()
}

fn xadd(stream: &str, payload: &str, options: PublishOptions) -> redis_rs::Cmd {
    let mut cmd = redis_rs::cmd("XADD");
    cmd.arg(stream);
    if let Some(max_len) = options.max_len {
        cmd.arg("MAXLEN").arg("~").arg(max_len);
    }
    cmd.arg("*").arg(DATA_FIELD).arg(payload);
    cmd
}

/// The newest `count` entries, newest first, decoded; the ones that do not
/// decode come as [`StreamItem::Skipped`]. A payload over the decoder's
/// default size limit is left in Redis and skipped as `too_large`.
pub async fn read_envelopes(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
) -> Result<Vec<StreamItem>, TransportError> {
    let decoder = Decoder::new();
    Ok(read_entries(conn, stream, count, decoder.payload_limit())
        .await?
        .iter()
        .map(|entry| entry.decode(&decoder))
        .collect())
}

/// The newest `count` entries, newest first, undecoded. A payload over
/// `max_payload_bytes` is left in Redis: only its size crosses the network
/// ([`RawEntry::oversized`]), so no read holds more than the limit of one.
pub async fn read_entries(
    conn: &mut impl ConnectionLike,
    stream: &str,
    count: usize,
    max_payload_bytes: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    bounded_range(
        conn,
        stream,
        ("XREVRANGE", "+", "-"),
        count,
        max_payload_bytes,
    )
    .await
}

/// Up to `count` entries older than the entry id `before`, newest first,
/// undecoded, sized as [`read_entries`] does: paging back from what it gave.
pub async fn read_entries_before(
    conn: &mut impl ConnectionLike,
    stream: &str,
    before: &str,
    count: usize,
    max_payload_bytes: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    if !super::is_stream_id(before) {
        return Err(TransportError::InvalidId(before.to_owned()));
    }
    let end = format!("({before}");
    bounded_range(
        conn,
        stream,
        ("XREVRANGE", &end, "-"),
        count,
        max_payload_bytes,
    )
    .await
}

/// `range.lua`: `command key first second COUNT count`, each value over
/// `limit` left in Redis.
pub(super) async fn bounded_range(
    conn: &mut impl ConnectionLike,
    key: &str,
    (command, first, second): (&str, &str, &str),
    count: usize,
    limit: usize,
) -> Result<Vec<RawEntry>, TransportError> {
    let reply = range_reply(conn, key, (command, first, second), count, limit).await?;
    bounded_entries(reply).ok_or_else(|| reply_error("EVALSHA range.lua"))
}

/// `range.lua`'s reply as it comes.
pub(super) async fn range_reply(
    conn: &mut impl ConnectionLike,
    key: &str,
    (command, first, second): (&str, &str, &str),
    count: usize,
    limit: usize,
) -> Result<Value, TransportError> {
    RANGE
        .key(key)
        .arg(command)
        .arg(first)
        .arg(second)
        .arg(count)
        .arg(limit)
        .invoke_async(conn)
        .await
        .map_err(command_error("EVALSHA range.lua"))
}

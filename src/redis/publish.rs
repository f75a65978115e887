//! Publishing envelopes, and reading the newest back.

use redis_rs::aio::ConnectionLike;
use redis_rs::Value;

use super::scripts::{bounded_entries, RANGE};
use super::{command_error, reply_error, RawEntry, StreamItem, TransportError, DATA_FIELD};
use crate::{CrowdPredictionEnvelope, Decoder};

/// Options of [`publish_envelope`].
#[derive(Debug, Clone, Copy, Default)]
#[non_exhaustive]
pub struct PublishOptions {
    /// Trim the stream to about this many entries (`MAXLEN ~ n`).
    pub max_len: Option<usize>,
}

impl PublishOptions {
    /// Trim the stream to about `max_len` entries as each is added.
    pub fn max_len(max_len: usize) -> PublishOptions {
        PublishOptions {
            max_len: Some(max_len),
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
    envelope.validate()?;
    xadd(stream, &envelope.to_json(), options)
        .query_async(conn)
        .await
        .map_err(command_error("XADD"))
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
    let mut replies = if pipe.is_empty() {
        Vec::new()
    } else {
        pipe.ignore_errors()
            .query_async::<Vec<redis_rs::RedisResult<String>>>(conn)
            .await
            .map_err(command_error("XADD"))?
    }
    .into_iter();
    outcomes
        .into_iter()
        .map(|outcome| match outcome {
            Some(rejected) => Ok(rejected),
            None => replies
                .next()
                .map(|reply| reply.map_err(command_error("XADD")))
                .ok_or_else(|| reply_error("XADD")),
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
